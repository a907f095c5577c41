//! `kubesim plan` on the capacity scenario: the answer the resource arithmetic gives, and
//! per-candidate outcomes that agree with `kubesim check` runs of the same node count.

use std::process::Command;

use crate::support::*;

fn kubesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .output()
        .expect("runs")
}

/// The capacity scenario with `count` nodes per zone and, instead of its own `expect:`, the
/// default goal written as `kubesim check` expectations: web's 60 replicas available at every
/// whole minute from 12m (the zone crash at 2m + 10m) to the end (30m).
fn check_text(count: u32) -> String {
    let text = std::fs::read_to_string(root().join("scenarios/capacity-zone-loss.yaml"))
        .expect("bundled scenario");
    let (head, _) = text
        .split_once("\nexpect:")
        .expect("the scenario has expectations");
    assert!(head.contains("\n    count: 5\n"), "the pool's count line");
    let mut t = head.replace("\n    count: 5\n", &format!("\n    count: {count}\n"));
    t.push_str("\nexpect:\n");
    for m in 12..=30 {
        t.push_str(&format!(
            "- deployment: {{at: {m}m, name: web, availableReplicas: 60}}\n"
        ));
    }
    t
}

/// The reference arithmetic (scenarios/capacity-zone-loss.yaml and its header): 60 pods of
/// 1 CPU (and 256Mi) in 3 zones of N nodes of 4 CPU and 16Gi each; the pool declares no
/// `allocatable`, so allocatable = capacity, and there is no DaemonSet or static pod. CPU
/// binds first: floor(4 / 1) = 4 pods per node (memory would allow 64, the pod limit 110).
/// Zone a crashes at 2m for good, so its pods are evicted (by ~515 s, the header's bound) and
/// replaced in zones b and c only. The zone spread is `ScheduleAnyway`: a score, never a
/// filter (reference scheduler: only `DoNotSchedule` constraints filter), so skew never keeps
/// a replacement Pending. The replacements need 2 × N × 4 ≥ 60, N ≥ 7.5: N = 8 holds all 60
/// (available within a few seconds of the last eviction, before 12m = 2m + 10m), N = 7 holds
/// 56 (93.3 %) for good. So the fewest nodes per zone is 8, and 7 must fail.
#[test]
fn plan_finds_eight_per_zone_and_agrees_with_check() {
    let dir = scratch("plan-capacity");
    let out = dir.join("plan");
    let scenario = root().join("scenarios/capacity-zone-loss.yaml");
    let r = kubesim(&[
        "plan",
        scenario.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--output",
        "json",
        "--jobs",
        "2",
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).expect("one JSON document");
    assert_eq!(doc["answer"]["worker"], 8, "{doc:#}");
    assert_eq!(doc["monotone"], true);
    let outcome = |n: u32| -> bool {
        let t = doc["trials"]
            .as_array()
            .expect("trials")
            .iter()
            .find(|t| t["counts"]["worker"] == n)
            .unwrap_or_else(|| panic!("candidate {n} was tried"));
        t["passed"].as_bool().expect("bool")
    };
    assert!(outcome(8));
    assert!(!outcome(7));
    for f in ["plan.csv", "plan.json", "plan.png", "plan.svg"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(out.join("plan.csv")).expect("plan.csv");
    assert!(
        csv.starts_with("trial,round,worker,nodes,case,passed,"),
        "{csv}"
    );
    assert_eq!(
        doc["paths"]["dir"].as_str(),
        Some(out.to_str().expect("utf-8"))
    );
    // The same candidates as single `kubesim check` runs.
    for n in [7, 8] {
        let p = dir.join(format!("capacity-{n}.yaml"));
        std::fs::write(&p, check_text(n)).expect("write");
        let c = kubesim(&["check", "-q", p.to_str().expect("utf-8")]);
        assert_eq!(
            c.status.code() == Some(0),
            outcome(n),
            "count {n}: check says {}, plan says {}\n{}",
            String::from_utf8_lossy(&c.stdout),
            outcome(n),
            String::from_utf8_lossy(&c.stderr)
        );
    }
}

#[test]
fn plan_refuses_bad_input_with_exit_2() {
    let scenario = root().join("scenarios/capacity-zone-loss.yaml");
    let s = scenario.to_str().expect("utf-8");
    for (args, msg) in [
        (vec!["--case", "zone-down:q"], "unknown zone"),
        (vec!["--grow", "workr"], "did you mean `worker`"),
        (vec!["--goal", "api:never-below=50%"], "no Deployment"),
        (vec!["--goal", "web:available>=150%"], "between 0% and 100%"),
    ] {
        let mut a = vec!["plan", s, "--out", "/nonexistent-kubesim/x"];
        a.extend(args.iter().copied());
        let r = kubesim(&a);
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

/// Zone a of a 2-zone cluster of 2-CPU nodes crashes for good at 2m, as a failure model
/// (`fixed` time to failure 2m, no repair: the same fault at every seed, docs/failure-models.md).
/// 4 replicas of 1 CPU must all be available from 10m (2m + 8m) to the end at 12m. The pods
/// of zone a are evicted about 6 minutes after the crash (50 s grace period, then the 300 s
/// default toleration) and must fit in zone b: 4 CPU, 2 nodes of 2 CPU. So the answer is 2
/// per zone, and 1 (2 of 4 pods) fails, at every seed.
const MODEL_TEXT: &str = "name: plan-models
seed: 1
duration: 12m
cluster:
  nodePools:
  - name: worker
    count: 1
    zones: [a, b]
    capacity: {cpu: \"2\", memory: 8Gi}
workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    replicas: 4
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - name: app
          image: nginx
          resources:
            requests: {cpu: \"1\"}
failureModels:
- target: zone
  select: {zones: [a]}
  fault: nodeCrash
  failures: {distribution: fixed, mtbf: 2m}
";

/// `--case failure-models --seeds 1..3`: the scenario's failure models drawn at each seed,
/// every seed must pass; the answer the arithmetic above gives, each candidate run at the
/// three seeds (the worst point names its seed), and `plan.json` lists the seeds.
#[test]
fn plan_with_failure_models_runs_every_seed() {
    let dir = scratch("plan-models");
    let file = dir.join("models.yaml");
    std::fs::write(&file, MODEL_TEXT).expect("write");
    let out = dir.join("plan");
    let r = kubesim(&[
        "plan",
        file.to_str().expect("utf-8"),
        "--case",
        "failure-models",
        "--goal",
        "web:available>=100%:within=8m",
        "--seeds",
        "1..3",
        "--max-count",
        "4",
        "--jobs",
        "2",
        "--no-plots",
        "--output",
        "json",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).expect("one JSON document");
    assert_eq!(doc["answer"]["worker"], 2, "{doc:#}");
    assert_eq!(doc["seeds"], serde_json::json!([1, 2, 3]));
    assert_eq!(doc["cases"], serde_json::json!(["failure-models"]));
    let trials = doc["trials"].as_array().expect("trials");
    assert_eq!(doc["runs"].as_u64(), Some(3 * trials.len() as u64));
    for t in trials {
        let c = &t["cases"][0];
        assert!(
            c["worst"].as_str().expect("text").starts_with("seed "),
            "{c}"
        );
        assert_eq!(
            t["passed"],
            t["counts"]["worker"].as_u64() >= Some(2),
            "{t}"
        );
    }
    // The report names the case and the seeds.
    let page = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(page.contains("failureModels, drawn at every seed"));
    assert!(page.contains("1, 2, 3 (a case passes only if every seed passes)"));
}
