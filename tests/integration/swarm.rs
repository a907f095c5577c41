//! The swarm (src/study/swarm.rs): a CI-sized slice of seeds, the generator's validity and
//! determinism, the liveness check's teeth, and `kubesim swarm`'s output for any `--jobs`.

use std::process::Command;

use kubesim::study::generate::generate;
use kubesim::study::swarm::{self, check_text, finalize, FailureKind};

use crate::support::scratch;

/// The CI slice (debug builds run it too; about 1 s of CPU per seed there, 0.05 s in release).
const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

/// Seeds of the slice that fail through component bugs the swarm found (reported, not fixed
/// here), with the kind they fail with. When a bug is fixed its seeds pass and this test asks
/// for the list to be updated. Empty: seeds 1, 6 and 11 (a pod the node lifecycle controller
/// marked not Ready while its kubelet was stopped or cut off stayed not Ready) pass since the
/// kubelet status manager reconciles (`needsReconcile`, tests/integration/faults.rs).
const KNOWN: &[(u64, FailureKind)] = &[];

#[test]
fn swarm_ci_slice() {
    let seeds: Vec<u64> = SEEDS.collect();
    let results = swarm::swarm(&seeds, 0, false);
    let mut bad = Vec::new();
    for r in &results {
        let known = KNOWN.iter().find(|(s, _)| *s == r.seed).map(|(_, k)| *k);
        if r.verdict.kind() != known {
            bad.push(format!(
                "seed {} fails {:?} (expected {known:?}): {:?}\n{}",
                r.seed,
                r.verdict.kind(),
                r.verdict.failures.first(),
                r.scenario
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
}

#[test]
fn generated_scenarios_are_valid_and_a_function_of_the_seed() {
    for seed in 1..=200 {
        let a = generate(seed);
        let text = finalize(&a).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(
            text,
            finalize(&generate(seed)).expect("valid"),
            "seed {seed}"
        );
        let n = text.matches("w-z").count();
        assert!(
            !a.faults.is_empty() && !a.workloads.is_empty(),
            "seed {seed}"
        );
        assert!(n == 0 || text.contains("nodePools"), "seed {seed}");
    }
}

/// A node that never comes back inside the run (its crash outlasts the scenario, so it is not
/// a permanent loss the liveness phase exempts) fails liveness.
#[test]
fn liveness_catches_a_node_that_has_not_recovered() {
    let text = "name: stuck\nduration: 10m\ncluster:\n  nodePools:\n  - {name: w, count: 3, capacity: {cpu: \"4\", memory: 8Gi}}\nworkloads:\n- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata: {name: r}\n  spec:\n    replicas: 3\n    selector: {matchLabels: {app: r}}\n    template:\n      metadata: {labels: {app: r}}\n      spec: {containers: [{name: c, image: \"app:1\"}]}\ntimeline:\n- {at: 30s, duration: 1h, nodeCrash: {nodes: [w-0]}}\n";
    let v = check_text(text, 1);
    assert_eq!(v.kind(), Some(FailureKind::Liveness), "{:?}", v.failures);
    assert!(
        v.failures
            .iter()
            .any(|(_, m)| m.contains("Node/w-0 is not Ready")),
        "{:?}",
        v.failures
    );
    // The same crash healed well before the end: recovered.
    let healed = text.replace("duration: 1h", "duration: 60s");
    let v = check_text(&healed, 1);
    assert!(v.failures.is_empty(), "{:?}", v.failures);
}

/// Standard output is the same for any `--jobs`; wall time goes to standard error.
#[test]
fn swarm_output_does_not_depend_on_jobs() {
    let exe = env!("CARGO_BIN_EXE_kubesim");
    let run = |jobs: &str| {
        let dir = scratch("swarm-jobs");
        let out = Command::new(exe)
            .args(["swarm", "--seeds", "3..6", "--no-shrink", "--jobs", jobs])
            .arg("--out")
            .arg(dir.join("f"))
            .current_dir(&dir)
            .output()
            .expect("run kubesim");
        let text = String::from_utf8_lossy(&out.stdout).replace(&dir.display().to_string(), "D");
        (out.status.code(), text)
    };
    let one = run("1");
    assert!(one.1.contains("swarm: 4 seeds"), "{}", one.1);
    assert_eq!(one, run("2"));
}

#[test]
fn seeds_argument_is_checked() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["swarm", "--seeds", "9..3"])
        .output()
        .expect("run kubesim");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seeds"));
}

/// A Job whose success criteria are met while one of its pods is Terminating on a machine that
/// never comes back keeps only its interim SuccessCriteriaMet condition (`enactJobFinished`
/// waits for terminating pods, JobManagedBy / JobPodReplacementPolicy in 1.34; the pod's
/// deletion is never confirmed, reference §6.1): not a liveness failure (swarm seed 472).
#[test]
fn a_job_waiting_for_a_pod_on_a_lost_machine_is_not_a_liveness_failure() {
    let text = r#"name: swarm-472
seed: 472
kubernetesVersion: "1.28"
cluster:
  nodePools:
  - name: w
    count: 3
    zones: [z0, z1]
    capacity: {cpu: "4", memory: 8Gi, pods: "110"}
components:
  kube-apiserver: {default-not-ready-toleration-seconds: 110, default-unreachable-toleration-seconds: 233}
  kube-controller-manager: {node-monitor-period: 4s, node-monitor-grace-period: 30s}
  kubelet: {nodeStatusUpdateFrequency: 5s}
simulation:
  containerStartDelay: {min: 1728ms, max: 2435ms}
  containerStopDelay: 2745ms
  watchDelay: 0ms
runtime:
  defaultImageSize: 196Mi
  nodeBandwidth: 100Mi
  defaultRegistryLatency: 367ms
  behaviors:
  - {name: batch, image: "batch:*", run: {uniform: [2s, 20s]}, exitCode: 0}
duration: 653s
workloads:
- apiVersion: batch/v1
  kind: Job
  metadata: {name: j0}
  spec:
    completions: 4
    parallelism: 1
    backoffLimit: 6
    template:
      metadata: {labels: {app: j0}}
      spec: {restartPolicy: OnFailure, containers: [{name: c, image: "batch:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
timeline:
- {at: 16s, nodeCrash: {nodes: [w-z1-2]}}
"#;
    let v = check_text(text, 472);
    assert!(v.failures.is_empty(), "{:?}", v.failures);
}
