//! The quick start's node-failure timeline against reference node-lifecycle.md, under each
//! version profile and with flags moved by one unit. Expected times are derived in the
//! scenario's header comment: the last lease renewal the controller observes is at the 55 s
//! pass (probe O = 55 s) for every seed.

use crate::support::*;

const NODE: &str = "Node/worker-zone-a-0";

struct Timeline {
    not_ready: u64,
    taint: u64,
    evictions: Vec<u64>,
}

fn timeline(set: &[&str], seed: Option<u64>) -> Timeline {
    timeline_of(&quick_start(), set, seed)
}

fn timeline_of(path: &std::path::Path, set: &[&str], seed: Option<u64>) -> Timeline {
    let out = run_with(path, set, seed);
    let not_ready = event_times(&out, "NodeNotReady", NODE, "")[0];
    let taint = event_times(
        &out,
        "TaintAdded",
        NODE,
        "Taint node.kubernetes.io/unreachable:NoExecute",
    )[0];
    let evictions = event_times(&out, "TaintManagerEviction", "Pod/", "Marking");
    Timeline {
        not_ready,
        taint,
        evictions,
    }
}

/// The quick start under another `kubernetesVersion` (a copy beside its manifest).
fn quick_start_at_version(v: &str) -> std::path::PathBuf {
    let dir = scratch(&format!("v{v}"));
    let text = std::fs::read_to_string(quick_start()).unwrap().replace(
        "kubernetesVersion: \"1.34\"",
        &format!("kubernetesVersion: \"{v}\""),
    );
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::copy(
        root().join("scenarios/manifests/web-replicaset.yaml"),
        dir.join("manifests/web-replicaset.yaml"),
    )
    .unwrap();
    let p = dir.join("qs.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

// §2.3 (now > probe + grace, strictly) and §2.5 (≥ 1.34: taint queued in the same pass;
// zone bucket full, §4.1), §5.4 (eviction at observation + 300 s).
#[test]
fn k8s_1_34_unreachable_at_first_pass_after_grace_taint_same_pass() {
    let t = timeline(&[], None);
    assert_eq!(t.not_ready, 110 * S);
    assert_eq!(t.taint, 110 * S);
    assert_eq!(t.evictions, vec![410 * S, 410 * S]);
}

// §2.5: up to 1.33 the NoExecute taint is decided from the observed condition, one pass later.
#[test]
fn k8s_1_33_taint_one_pass_later() {
    let t = timeline_of(&quick_start_at_version("1.33"), &[], None);
    assert_eq!(t.not_ready, 110 * S);
    assert_eq!(t.taint, 115 * S);
    assert_eq!(t.evictions, vec![415 * S, 415 * S]);
}

// §2.1: grace 40 s up to 1.31 (PR #126287): 55 + 40 = 95 → pass at 100 s, taint at 105 s.
#[test]
fn k8s_1_31_grace_40s() {
    let p = quick_start_at_version("1.31");
    let t = timeline_of(&p, &[], None);
    assert_eq!(t.not_ready, 100 * S);
    assert_eq!(t.taint, 105 * S);
    assert_eq!(t.evictions, vec![405 * S, 405 * S]);
    // An explicit flag overrides the profile's default.
    let t = timeline_of(
        &p,
        &["kube-controller-manager.node-monitor-grace-period=50s"],
        None,
    );
    assert_eq!(t.not_ready, 110 * S);
}

// §2.3: strictly after probe + grace. Grace 49 s: 55 + 49 = 104 → the 105 s pass. Grace 55 s:
// 110 is not strictly after 110 → 115 s. (Grace 50–54 s all give 110 s with 5 s passes.)
#[test]
fn grace_boundaries_on_the_5s_pass_grid() {
    assert_eq!(
        timeline(
            &["kube-controller-manager.node-monitor-grace-period=49s"],
            None
        )
        .not_ready,
        105 * S
    );
    assert_eq!(
        timeline(
            &["kube-controller-manager.node-monitor-grace-period=54s"],
            None
        )
        .not_ready,
        110 * S
    );
    assert_eq!(
        timeline(
            &["kube-controller-manager.node-monitor-grace-period=55s"],
            None
        )
        .not_ready,
        115 * S
    );
}

// With 1 s passes every second of grace shows: NotReady moves by exactly 1 s per 1 s of grace.
#[test]
fn grace_plus_one_second_moves_detection_by_one_second() {
    for seed in [1, 2, 3, 42] {
        let base = ["kube-controller-manager.node-monitor-period=1s"];
        let a = timeline(
            &[
                base[0],
                "kube-controller-manager.node-monitor-grace-period=50s",
            ],
            Some(seed),
        );
        let b = timeline(
            &[
                base[0],
                "kube-controller-manager.node-monitor-grace-period=51s",
            ],
            Some(seed),
        );
        assert_eq!(b.not_ready, a.not_ready + S, "seed {seed}");
        // The 5th renewal is in [50 s, 52 s) and observed at the next whole second (51 or 52 s);
        // detection is at the first pass strictly after probe + 50 s.
        assert!(
            a.not_ready == 102 * S || a.not_ready == 103 * S,
            "seed {seed}: {}",
            a.not_ready
        );
    }
}

// §5.2/§5.4: the eviction delay is the apiserver's default toleration, to the second.
#[test]
fn toleration_seconds_plus_one_moves_eviction_by_one_second() {
    let t = timeline(
        &["kube-apiserver.default-unreachable-toleration-seconds=301"],
        None,
    );
    assert_eq!(t.taint, 110 * S);
    assert_eq!(t.evictions, vec![411 * S, 411 * S]);
    let t = timeline(
        &["kube-apiserver.default-unreachable-toleration-seconds=0"],
        None,
    );
    assert_eq!(
        t.evictions,
        vec![110 * S, 110 * S],
        "tolerationSeconds 0 evicts at once"
    );
}

// §6.1: evicted pods stay Terminating while the node is down, are replaced at once, and are
// removed by their kubelet when the machine returns (600 s + the 100 ms registration sleep).
#[test]
fn terminating_pods_wait_for_the_kubelet() {
    let out = run_with(&quick_start(), &[], None);
    let creates = event_times(&out, "SuccessfulCreate", "ReplicaSet/", "");
    assert_eq!(
        creates.iter().filter(|t| **t == 410 * S).count(),
        2,
        "replacements at the eviction instant"
    );
    let ts = &out.timeseries;
    let term = ts.column("pods_terminating").unwrap();
    assert!(term
        .iter()
        .filter(|(t, _)| *t > 410.0 && *t < 600.0)
        .all(|(_, v)| *v == 2.0));
    assert!(term
        .iter()
        .filter(|(t, _)| *t >= 610.0)
        .all(|(_, v)| *v == 0.0));
}
