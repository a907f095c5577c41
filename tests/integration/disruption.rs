//! PodDisruptionBudgets end to end: the disruption controller's status, the Eviction API's
//! allow/deny answers (the e2e table of `test/e2e/apps/disruption.go`, restated in
//! ../shared/data/k8s-upstream-behaviour/node_failure_scenarios.yaml `pdb-eviction-api`), and
//! `kubectl drain` through budgets.

use kubesim::api::EVICTION_DENIED_MESSAGE;
use kubesim::run::{run, RunOptions, RunOutput};
use kubesim::scenario;

use crate::support::*;

/// 3 nodes, like the e2e suite's small clusters (fewer nodes than the ReplicaSet's 10 pods,
/// so "exclusive" pods — one host port each — cannot all run).
const CLUSTER: &str = "name: pdb
seed: 9
duration: 40s
cluster:
  nodePools:
  - name: n
    count: 3
    capacity: {cpu: \"16\", memory: 64Gi, pods: \"110\"}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
workloads:
";

/// `createPodsOrDie`: bare pods labelled foo=bar.
fn bare_pods(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "- {{apiVersion: v1, kind: Pod, metadata: {{name: pod-{i}, labels: {{foo: bar}}}}, spec: {{containers: [{{name: c, image: busybox}}]}}}}\n"
            )
        })
        .collect()
}

/// `createReplicaSetOrDie`: a ReplicaSet of `size` pods labelled foo=bar; `exclusive` pods
/// claim host port 5555, so at most one runs per node.
fn replica_set(size: u32, exclusive: bool) -> String {
    let ports = if exclusive {
        ", ports: [{containerPort: 5555, hostPort: 5555}]"
    } else {
        ""
    };
    format!(
        "- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {{name: rs}}
  spec:
    replicas: {size}
    selector: {{matchLabels: {{foo: bar}}}}
    template:
      metadata: {{labels: {{foo: bar}}}}
      spec: {{containers: [{{name: c, image: busybox{ports}}}]}}
"
    )
}

fn pdb(field: &str, value: &str) -> String {
    format!(
        "- apiVersion: policy/v1
  kind: PodDisruptionBudget
  metadata: {{name: foo}}
  spec:
    {field}: {value}
    selector: {{matchLabels: {{foo: bar}}}}
"
    )
}

/// Runs a case: at 30 s (pods Running, budget processed) evict the first Running pod
/// labelled foo=bar, as the e2e test does after `waitForPdbToBeProcessed`.
fn eviction_case(name: &str, workloads: &str) -> RunOutput {
    let text =
        format!("{CLUSTER}{workloads}timeline:\n- at: 30s\n  evictPod: {{labels: {{foo: bar}}}}\n");
    let dir = scratch(name);
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    run(
        &s,
        &RunOptions {
            check_invariants: true,
            ..Default::default()
        },
    )
}

/// The eviction's answer: Ok(()) when allowed, Err(message) when refused.
fn answer(out: &RunOutput) -> Result<(), String> {
    let r = out
        .records
        .iter()
        .find(|r| r.message.starts_with("POST pods/"))
        .expect("the eviction was sent");
    match r.reason {
        "ActionApplied" => Ok(()),
        _ => Err(r.message.clone()),
    }
}

fn assert_denied(out: &RunOutput) {
    let msg = answer(out).expect_err("the eviction should be denied");
    assert!(
        msg.ends_with(&format!(": {EVICTION_DENIED_MESSAGE}")),
        "unexpected denial text: {msg}"
    );
    assert_eq!(
        EVICTION_DENIED_MESSAGE,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
}

#[test]
fn evictions_no_pdb_should_allow_an_eviction() {
    let out = eviction_case("no-pdb", &bare_pods(1));
    assert_eq!(answer(&out), Ok(()));
}

#[test]
fn evictions_too_few_pods_absolute_should_not_allow_an_eviction() {
    let w = format!("{}{}", bare_pods(2), pdb("minAvailable", "2"));
    assert_denied(&eviction_case("too-few-absolute", &w));
}

#[test]
fn evictions_enough_pods_absolute_should_allow_an_eviction() {
    let w = format!("{}{}", bare_pods(3), pdb("minAvailable", "2"));
    assert_eq!(answer(&eviction_case("enough-absolute", &w)), Ok(()));
}

#[test]
fn evictions_enough_pods_replicaset_percentage_should_allow_an_eviction() {
    let w = format!(
        "{}{}",
        replica_set(10, false),
        pdb("minAvailable", "\"90%\"")
    );
    assert_eq!(answer(&eviction_case("enough-rs-pct", &w)), Ok(()));
}

#[test]
fn evictions_too_few_pods_replicaset_percentage_should_not_allow_an_eviction() {
    let w = format!(
        "{}{}",
        replica_set(10, true),
        pdb("minAvailable", "\"90%\"")
    );
    assert_denied(&eviction_case("too-few-rs-pct", &w));
}

#[test]
fn evictions_maxunavailable_allow_single_eviction_percentage_should_allow_an_eviction() {
    let w = format!(
        "{}{}",
        replica_set(10, false),
        pdb("maxUnavailable", "\"10%\"")
    );
    assert_eq!(answer(&eviction_case("maxunavail-pct", &w)), Ok(()));
}

#[test]
fn evictions_maxunavailable_deny_evictions_integer_should_not_allow_an_eviction() {
    let w = format!("{}{}", replica_set(10, true), pdb("maxUnavailable", "1"));
    assert_denied(&eviction_case("maxunavail-int", &w));
}

/// Drives a cluster step by step (to read API objects at chosen instants).
struct Stepper {
    engine: kubesim::sim::Engine<kubesim::cluster::Event>,
    c: kubesim::cluster::Cluster,
}

impl Stepper {
    fn new(s: &scenario::Scenario) -> Stepper {
        let mut engine = kubesim::sim::Engine::new(
            kubesim::sim::Limits {
                end: kubesim::sim::SimTime::ZERO + s.duration,
                max_events: 10_000_000,
            },
            None,
        );
        let c = kubesim::cluster::Cluster::build(s, &mut engine);
        Stepper { engine, c }
    }
    fn to(&mut self, secs: u64) -> &kubesim::cluster::Cluster {
        let c = &mut self.c;
        self.engine
            .run_until(kubesim::sim::SimTime::from_secs(secs), |ctx, ev| {
                c.handle(ctx, ev)
            });
        &self.c
    }
}

/// After an allowed eviction the budget's status shows it (checkAndDecrement, then the
/// controller recounting without the terminating pod): 10 Ready of scale 10 with
/// maxUnavailable 10% → desiredHealthy 9, disruptionsAllowed 1 → 0 once one pod is evicted,
/// and a second eviction at the same instant is refused.
#[test]
fn eviction_takes_the_budgets_one_disruption() {
    let w = format!(
        "{}{}",
        replica_set(10, false),
        pdb("maxUnavailable", "\"10%\"")
    );
    let text = format!(
        "{CLUSTER}{w}timeline:\n- at: 30s\n  evictPod: {{labels: {{foo: bar}}}}\n- at: 30s\n  evictPod: {{labels: {{foo: bar}}}}\n"
    );
    let dir = scratch("pdb-status");
    let p = dir.join("s.yaml");
    std::fs::write(&p, &text).unwrap();
    let s = scenario::load(&p, &[]).unwrap();
    let mut st = Stepper::new(&s);
    let b = st.to(29).api.pdbs()["default/foo"].clone();
    let counts = |b: &kubesim::model::PodDisruptionBudget| {
        (
            b.status.expected_pods,
            b.status.desired_healthy,
            b.status.current_healthy,
            b.status.disruptions_allowed,
        )
    };
    assert_eq!(counts(&b), (10, 9, 10, 1));
    assert_eq!(b.status.observed_generation, b.meta.generation);
    let b = st.to(30).api.pdbs()["default/foo"].clone();
    assert_eq!(counts(&b), (10, 9, 9, 0));
    // The evicted pod is already deleted (its kubelet stops it at once), so the controller's
    // buildDisruptedPodMap has dropped it from disruptedPods again.
    assert!(b.status.disrupted_pods.is_empty());
    let c = b.status.condition.as_ref().unwrap();
    assert_eq!((c.status, c.reason.as_str()), (false, "InsufficientPods"));
    // The replacement is Ready at 32 s: one disruption allowed again.
    let b = st.to(33).api.pdbs()["default/foo"].clone();
    assert_eq!(counts(&b), (10, 9, 10, 1));
    let out = run(&s, &RunOptions::default());
    let answers: Vec<&str> = out
        .records
        .iter()
        .filter(|r| r.message.starts_with("POST pods/"))
        .map(|r| r.reason)
        .collect();
    assert_eq!(answers, vec!["ActionApplied", "ActionFailed"]);
}

/// The bundled drain scenario passes its own timed expectations (evictions at 60, 70, 80 s).
#[test]
fn drain_with_pdb_proceeds_one_pod_at_a_time() {
    let out = run_with(&root().join("scenarios/drain-with-pdb.yaml"), &[], None);
    assert!(out.expectations_passed());
    let evictions = event_times(&out, "Killing", "Pod/default/web-", "");
    assert_eq!(evictions, vec![60 * S, 70 * S, 80 * S]);
    let gone = event_times(&out, "PodEvicted", "Pod/default/web-", "");
    assert_eq!(gone, vec![61 * S, 71 * S, 81 * S]);
}

fn drain_text(flags: &str) -> String {
    format!(
        "name: drain-filters
seed: 1
duration: 30s
cluster:
  nodePools:
  - name: n
    count: 2
    capacity: {{cpu: \"4\", memory: 16Gi}}
simulation:
  containerStartDelay: {{min: 1s, max: 1s}}
workloads:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {{name: ds}}
  spec:
    selector: {{matchLabels: {{app: ds}}}}
    template:
      metadata: {{labels: {{app: ds}}}}
      spec: {{containers: [{{name: c, image: agent}}]}}
- {{apiVersion: v1, kind: Pod, metadata: {{name: bare}}, spec: {{nodeName: n-0, containers: [{{name: c, image: app}}]}}}}
- {{apiVersion: v1, kind: Pod, metadata: {{name: mirror, annotations: {{kubernetes.io/config.mirror: x}}}}, spec: {{nodeName: n-0, containers: [{{name: c, image: app}}]}}}}
timeline:
- at: 10s
  drain: {{node: n-0{flags}}}
"
    )
}

fn messages(out: &RunOutput, reason: &str) -> Vec<String> {
    out.records
        .iter()
        .filter(|r| r.reason == reason)
        .map(|r| r.message.clone())
        .collect()
}

/// kubectl drain's filters (GetPodsForDeletion): DaemonSet pods and pods without a controller
/// fail the drain unless --ignore-daemonsets / --force; mirror pods are skipped silently.
#[test]
fn drain_filters_daemonset_unreplicated_and_mirror_pods() {
    let run_it = |name: &str, flags: &str| {
        let dir = scratch(name);
        let p = dir.join("s.yaml");
        std::fs::write(&p, drain_text(flags)).unwrap();
        let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        run(&s, &RunOptions::default())
    };
    let out = run_it("drain-plain", "");
    let failed = messages(&out, "DrainFailed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let f = &failed[0];
    assert!(
        f.starts_with("error: unable to drain node \"n-0\" due to error: ["),
        "{f}"
    );
    assert!(
        f.contains(
            "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/ds-"
        ),
        "{f}"
    );
    assert!(
        f.contains(
            "cannot delete Pods that declare no controller (use --force to override): default/bare"
        ),
        "{f}"
    );
    assert!(!f.contains("mirror"), "{f}");
    // The node stays cordoned, nothing is evicted.
    assert_eq!(
        messages(&out, "Cordoned"),
        vec!["node/n-0 cordoned".to_string()]
    );
    assert!(messages(&out, "Evicting").is_empty());

    let out = run_it("drain-flags", ", ignoreDaemonsets: true, force: true");
    let warnings = messages(&out, "DrainWarning");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("Warning: ignoring DaemonSet-managed Pods: default/ds-"));
    assert!(
        warnings[1].starts_with("Warning: deleting Pods that declare no controller: default/bare")
    );
    assert_eq!(
        messages(&out, "Evicting"),
        vec!["evicting pod default/bare".to_string()]
    );
    assert_eq!(
        messages(&out, "Drained"),
        vec!["node/n-0 drained".to_string()]
    );
    // The bare pod (grace 30 s, stop delay 0) is gone at 10 s; the poll sees it at 11 s.
    assert_eq!(
        event_times(&out, "PodEvicted", "Pod/default/bare", ""),
        vec![11 * S]
    );
}

/// `kubectl drain --timeout=12s` against a budget that never allows a disruption
/// (minAvailable 2 of 2): the evictions are denied at 10, 15 and 20 s; each goroutine sees its
/// context done at its next attempt (25 s) and the drain fails with kubectl's text.
#[test]
fn drain_timeout_is_noticed_at_the_next_retry() {
    let text = format!(
        "name: drain-timeout
seed: 1
duration: 40s
cluster:
  nodePools:
  - name: n
    count: 1
    capacity: {{cpu: \"4\", memory: 16Gi}}
simulation:
  containerStartDelay: {{min: 1s, max: 1s}}
workloads:
{}{}timeline:
- at: 10s
  drain: {{node: n-0, timeout: 12s}}
",
        replica_set(2, false),
        pdb("minAvailable", "2")
    );
    let dir = scratch("drain-timeout");
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&s, &RunOptions::default());
    let retries = event_times(&out, "EvictionRetry", "Pod/default/rs-", "");
    assert_eq!(
        retries,
        vec![10 * S, 10 * S, 15 * S, 15 * S, 20 * S, 20 * S]
    );
    let failed: Vec<_> = out
        .records
        .iter()
        .filter(|r| r.reason == "DrainFailed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].t.as_nanos(), 25 * S);
    let m = &failed[0].message;
    assert!(
        m.starts_with(
            "error: unable to drain node \"n-0\" due to error: [error when evicting pods/\"rs-"
        ),
        "{m}"
    );
    assert_eq!(m.matches("global timeout reached: 12s").count(), 2, "{m}");
    // "evicting pod" is printed before every attempt: 10, 15, 20 and 25 s, two pods each.
    assert_eq!(messages(&out, "Evicting").len(), 8);
}

/// DefaultPreemption with a budget (filterPodsWithPDBViolation, pickOneNodeForPreemption: fewest
/// PDB violations first): two full nodes, each with one low-priority pod; the one on n-0 is
/// guarded by a budget that allows no disruption, so a high-priority pod needing a whole node
/// preempts the unguarded pod on n-1, whatever the seed's tie-breaks.
#[test]
fn preemption_prefers_the_node_whose_victims_violate_no_budget() {
    for seed in [1, 2, 3, 4, 5, 6] {
        let text = format!(
            "name: preempt-pdb
seed: {seed}
duration: 30s
cluster:
  nodePools:
  - name: n
    count: 2
    capacity: {{cpu: \"2\", memory: 4Gi}}
simulation:
  containerStartDelay: {{min: 1s, max: 1s}}
workloads:
- {{apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {{name: high}}, value: 1000}}
- {{apiVersion: v1, kind: Pod, metadata: {{name: guarded, labels: {{app: guarded}}}}, spec: {{nodeName: n-0, containers: [{{name: c, image: i, resources: {{requests: {{cpu: 1500m}}}}}}]}}}}
- {{apiVersion: v1, kind: Pod, metadata: {{name: free, labels: {{app: free}}}}, spec: {{nodeName: n-1, containers: [{{name: c, image: i, resources: {{requests: {{cpu: 1500m}}}}}}]}}}}
- apiVersion: policy/v1
  kind: PodDisruptionBudget
  metadata: {{name: guard}}
  spec: {{minAvailable: 1, selector: {{matchLabels: {{app: guarded}}}}}}
"
        );
        let dir = scratch(&format!("preempt-pdb-{seed}"));
        let p = dir.join("s.yaml");
        // The high-priority pod comes last; the budget's status is still the initial
        // disruptionsAllowed 0 or already computed as 0 (1 healthy, 1 desired): either way
        // evicting `guarded` would violate it.
        let text = format!(
            "{text}- {{apiVersion: v1, kind: Pod, metadata: {{name: vip}}, spec: {{priorityClassName: high, containers: [{{name: c, image: i, resources: {{requests: {{cpu: 1500m}}}}}}]}}}}\n"
        );
        std::fs::write(&p, text).unwrap();
        let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        let out = run(&s, &RunOptions::default());
        let preempted: Vec<&str> = out
            .records
            .iter()
            .filter(|r| r.reason == "Preempted")
            .map(|r| r.object.as_str())
            .collect();
        assert_eq!(preempted, vec!["Pod/default/free"], "seed {seed}");
    }
}
