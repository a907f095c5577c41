//! The study metrics of summary.json (`metrics`, docs/outputs.md) move with the flags a user
//! tunes (`node-eviction-rate`, `node-monitor-grace-period`, the default toleration seconds) by
//! the amounts the reference (shared/reference/node-lifecycle.md) predicts.

use kubesim::output::summary_json;
use kubesim::run::{run, RunOptions};
use serde_json::Value;

use crate::support::{load, quick_start, root, scratch};

/// The overall `metrics` object of summary.json for `path` with `set`.
fn metrics(path: &std::path::Path, set: &[&str]) -> Value {
    let s = load(path, set);
    let out = run(&s, &RunOptions::default());
    let v: Value = serde_json::from_slice(&summary_json(&s, &out)).expect("summary is JSON");
    v["metrics"].clone()
}

fn num(m: &Value, k: &str) -> f64 {
    m[k].as_f64()
        .unwrap_or_else(|| panic!("{k} is not a number: {m}"))
}

/// scenarios/zone-full-one-of-two.yaml with a longer run (500 s), so the slowest rate's last
/// eviction (below) still happens: zone-a's four nodes are partitioned at 58 s.
fn zone_full() -> std::path::PathBuf {
    let manifests = root().join("scenarios/manifests/zone-full-pods.yaml");
    let text = format!(
        "name: zone-full-metrics
seed: 7
duration: 500s
kubernetesVersion: \"1.34\"
cluster:
  nodePools:
  - name: worker
    count: 4
    zones: [zone-a, zone-b]
    capacity: {{cpu: \"4\", memory: 16Gi}}
workloads:
- file: {}
timeline:
- at: 58s
  networkPartition:
    zones: [zone-a]
",
        manifests.display()
    );
    let p = scratch("zone-full-metrics").join("s.yaml");
    std::fs::write(&p, text).expect("write scenario");
    p
}

/// Derivation (reference §1.3, §2.3, §2.5, §3.3, §4.1, §5, §8.2; the header of
/// scenarios/zone-full-one-of-two.yaml): every zone-a node was last seen at the 55 s pass and
/// goes NotReady at the first pass strictly after 55 + 50 s = 110 s, so `time_to_detect_s` =
/// 110 − 58 = 52. ≥1.34 queues the four nodes in that pass; zone-a is FullDisruption while
/// zone-b is Normal, so zone-a keeps `node-eviction-rate` r with a full bucket: the first
/// NoExecute taint at 110 s (within the 100 ms tainting pass), then one every 1/r s (a token
/// per float32(r) refill, taken at the next 100 ms pass; float32 rounds 0.05, 0.1 and 0.2 up,
/// so each token is ready a fraction of a µs before the pass at exactly +1/r), so the last of
/// the four at first + 3/r. Each pod is evicted 300 s (DefaultTolerationSeconds) after its node's taint,
/// so the last eviction is at last taint + 300 s, and all four are evicted by 500 s
/// (r = 0.05: last taint 170 s, eviction 470 s). Nothing heals: no false evictions; the
/// four tainted nodes stay tainted (not every zone is Full, so no taint is lifted).
#[test]
fn last_taint_and_evictions_follow_the_eviction_rate() {
    let p = zone_full();
    let mut last = Vec::new();
    for r in [0.05, 0.1, 0.2] {
        let m = metrics(
            &p,
            &[&format!("kube-controller-manager.node-eviction-rate={r}")],
        );
        assert_eq!(num(&m, "time_to_detect_s"), 52.0, "rate {r}: {m}");
        let first = num(&m, "time_to_first_taint_s");
        assert!((52.0..=52.1).contains(&first), "rate {r}: {m}");
        let spread = num(&m, "time_to_last_taint_s") - first;
        assert!(
            (spread - 3.0 / r).abs() <= 0.1,
            "rate {r}: {spread} vs {}",
            3.0 / r
        );
        let delay = num(&m, "time_to_last_eviction_s") - num(&m, "time_to_last_taint_s");
        assert!((delay - 300.0).abs() <= 0.1, "rate {r}: {m}");
        assert_eq!(m["pods_evicted"], 4, "rate {r}: {m}");
        assert_eq!(m["pods_evicted_by_zone"]["zone-a"], 4, "rate {r}: {m}");
        assert_eq!(m["false_evictions"], 0, "rate {r}: {m}");
        assert_eq!(m["peak_noexecute_tainted_nodes"], 4, "rate {r}: {m}");
        last.push(num(&m, "time_to_last_taint_s"));
    }
    // Between rates: 3/0.05 − 3/0.1 = 30 s, 3/0.1 − 3/0.2 = 15 s.
    assert!((last[0] - last[1] - 30.0).abs() < 0.05, "{last:?}");
    assert!((last[1] - last[2] - 15.0).abs() < 0.05, "{last:?}");
}

/// The quick start (a node crash at 58 s, last lease seen at the 55 s pass): detection at the
/// first 5 s pass strictly after 55 s + grace (§2.3, §9 item 1): grace 50 s → 110 s (105 is
/// not strictly after), 52 s after the crash; grace 40 s → 100 s, 42 s; grace 42 s → 97 s is
/// between passes, so 100 s too.
#[test]
fn time_to_detect_follows_the_grace_period() {
    for (grace, expect) in [("50s", 52.0), ("40s", 42.0), ("42s", 42.0)] {
        let m = metrics(
            &quick_start(),
            &[&format!(
                "kube-controller-manager.node-monitor-grace-period={grace}"
            )],
        );
        assert_eq!(num(&m, "time_to_detect_s"), expect, "grace {grace}: {m}");
    }
}

/// The quick start with the default unreachable toleration (300 s) and 100 s. The crashed
/// node is tainted at 110 s (52 s after the crash) and its two pods are evicted a toleration
/// later (§5): 352 s or 152 s after the crash. The machine reboots at 600 s and posts
/// NodeReady at 600.1 s (§1.4): within 300 s of the 410 s evictions, so both are false
/// evictions; not within 100 s of the 210 s evictions, so none is. The two pods are
/// unavailable from the moment they are marked not ready (110 s) until their replacements,
/// created at the eviction, are available: the shorter toleration saves 2 × 200 s of pod
/// unavailability (up to the replacements' own start-up, a few seconds, drawn per run).
#[test]
fn evictions_and_unavailability_follow_the_toleration() {
    let long = metrics(&quick_start(), &[]);
    let short = metrics(
        &quick_start(),
        &["kube-apiserver.default-unreachable-toleration-seconds=100"],
    );
    for (m, tol, false_ev) in [(&long, 300.0, 2), (&short, 100.0, 0)] {
        let d = num(m, "time_to_first_eviction_s") - num(m, "time_to_first_taint_s");
        assert!((d - tol).abs() <= 0.1, "{m}");
        assert_eq!(m["pods_evicted"], 2, "{m}");
        assert_eq!(m["false_evictions"], false_ev, "{m}");
        // Both pods short from 110 s to at least the eviction.
        assert!(
            num(m, "unavailable_pod_seconds") >= 2.0 * (52.0 + tol - 52.0),
            "{m}"
        );
        // Back at 12 available after the replacements start: after the eviction, and well
        // before the next 10 s.
        let back = num(m, "time_to_full_availability_s");
        assert!(back >= 52.0 + tol && back < 52.0 + tol + 10.0, "{m}");
        assert_eq!(m["peak_noexecute_tainted_nodes"], 1, "{m}");
        assert_eq!(
            m["peak_pending_pods"].as_u64().map(|p| p <= 2),
            Some(true),
            "{m}"
        );
    }
    let saved = num(&long, "unavailable_pod_seconds") - num(&short, "unavailable_pod_seconds");
    assert!((saved - 400.0).abs() < 10.0, "{saved}");
    assert_eq!(
        long["unavailable_pod_seconds_by_workload"]["rs_web"],
        long["unavailable_pod_seconds"]
    );
}

/// The bundled scenarios/zone-full-one-of-two.yaml as shipped (450 s): with rate r the k-th
/// zone-a node (k = 0..3) is tainted at 110 + k/r s and its pod evicted 300 s later, so only the
/// evictions at 410 + k/r ≤ 450 s happen within the run: r = 0.1 → 410, 420, 430, 440 (4);
/// r = 0.04 (25 s apart) → 410, 435 (2; the next would be 460); r = 0.02 (50 s) → 410 (1).
/// The margins to 450 s are 10 s or more, far beyond the 100 ms tainting pass.
/// The rate is a float32 (§4.1): float32(0.1) = 0.100000001 refills a token 0.15 µs before
/// each 10 s, so the pass at exactly +10 s takes it; float32(0.04) = 0.0399999991 refills 0.6 µs
/// *after* each 25 s, so the token is taken at the next 100 ms pass, 25.1 s apart: the second
/// taint at 135.1 s and its eviction at 435.1 s, 377.1 s after the partition.
#[test]
fn evicted_pods_within_the_run_follow_the_eviction_rate() {
    let p = root().join("scenarios/zone-full-one-of-two.yaml");
    for (r, evicted, last_eviction) in [(0.1, 4, 382.0), (0.04, 2, 377.1), (0.02, 1, 352.0)] {
        let m = metrics(
            &p,
            &[&format!("kube-controller-manager.node-eviction-rate={r}")],
        );
        assert_eq!(m["pods_evicted"], evicted, "rate {r}: {m}");
        assert_eq!(
            m["pods_evicted_by_zone"]["zone-a"], evicted,
            "rate {r}: {m}"
        );
        // Seconds after the partition at 58 s.
        let last = num(&m, "time_to_last_eviction_s");
        assert!((last - last_eviction).abs() < 0.05, "rate {r}: {m}");
    }
}

/// `longest_below_half_available_s_by_workload` and `below_half_over_5m_by_workload`
/// (docs/outputs.md), from the quick start's reference timing (its header: the node crashes at
/// 58 s, NodeNotReady and the pods marked not ready at 110 s, the machine back at 600 s and its
/// unreachable taint removed at 605 s).
/// - The quick start loses the 2 pods of one node of six: 10 of 12 stay available, never
///   below half: 0 s, indicator 0.
/// - The same crash on a one-node cluster with 2 replicas: its only zone is fully disrupted,
///   so every zone is (shared/reference/node-lifecycle.md §3.2, "master disruption mode": no
///   NoExecute taint, no eviction). Both pods stay bound and are unavailable from when they are
///   marked not ready (the NodeNotReady pass at 110 s; allow 5 s for the ReplicaSet's status)
///   until the machine is back (600 s) and they run again, at the latest the end (900 s): the
///   stretch is in [600 − 115, 900 − 110] s, over 5 minutes.
#[test]
fn longest_below_half_follows_the_reference_timing() {
    let m = metrics(&quick_start(), &[]);
    assert_eq!(
        m["longest_below_half_available_s_by_workload"]["rs_web"].as_f64(),
        Some(0.0),
        "{m}"
    );
    assert_eq!(m["below_half_over_5m_by_workload"]["rs_web"], 0);

    let dir = scratch("below-half");
    let p = dir.join("one-node.yaml");
    std::fs::write(
        &p,
        "name: one-node
seed: 42
duration: 15m
kubernetesVersion: \"1.34\"
cluster:
  nodePools:
  - name: worker
    count: 1
    zones: [zone-a]
    capacity: {cpu: \"4\", memory: 16Gi, pods: \"110\"}
workloads:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: web}
  spec:
    replicas: 2
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - name: nginx
          image: nginx:1.27
          resources:
            requests: {cpu: \"1\", memory: 1Gi}
timeline:
- at: 58s
  duration: 542s
  nodeCrash:
    nodes: [worker-zone-a-0]
",
    )
    .expect("write");
    let m = metrics(&p, &[]);
    let longest = num(&m["longest_below_half_available_s_by_workload"], "rs_web");
    assert!(
        (600.0 - 115.0..=900.0 - 110.0).contains(&longest),
        "{longest}: {m}"
    );
    assert_eq!(m["below_half_over_5m_by_workload"]["rs_web"], 1);
    assert_eq!(
        m["pods_evicted"], 0,
        "no eviction when every zone is down: {m}"
    );
}

// The kubelets' kept fleet totals (`kubelet_running_pods` summed, the kubelets' client row) are
// what a walk of every kubelet gives, every 5 s through the quick start (a node crash takes a
// kubelet's pods to 0, then it reboots) and kubelet-stop (a kubelet process stops and restarts).
#[test]
fn kept_kubelet_totals_match_a_walk_through_crash_and_restart() {
    use kubesim::cluster::{Cluster, Event};
    use kubesim::sim::{Engine, Limits, SimDuration, SimTime};
    for name in ["quick-start.yaml", "kubelet-stop.yaml"] {
        let s = load(&root().join("scenarios").join(name), &[]);
        let end = SimTime::ZERO + s.duration;
        let limits = Limits {
            end,
            max_events: 10_000_000,
        };
        let mut engine: Engine<Event> = Engine::new(limits, None);
        let mut cluster = Cluster::build(&s, &mut engine);
        let mut seen = std::collections::BTreeSet::new();
        let mut t = SimTime::ZERO;
        while t < end {
            t += SimDuration::from_secs(5);
            engine.run_until(t, |ctx, ev| cluster.handle(ctx, ev));
            cluster.kubelets.settle();
            assert!(cluster.kubelets.totals_match_walk(), "{name} at {t}");
            seen.insert(cluster.kubelets.running_pods());
        }
        assert!(seen.len() >= 2, "{name}: the total never moved: {seen:?}");
        assert!(cluster.kubelets.client_stats().requests > 0, "{name}");
    }
}
