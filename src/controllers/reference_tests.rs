//! Ports of the upstream node lifecycle controller and taint eviction controller tests
//! (reference node-lifecycle §7.1–§7.5, §7.8), one test per case ID. Expected values are the
//! reference's; the harness is [`super::testkit`].
//!
//! One systematic difference: upstream's token bucket refills in wall-clock time while a test
//! runs, so at its "effectively unlimited" 100000 QPS one tainting pass taints several nodes of
//! a zone. Passes here take zero simulated time, so the tainting cases (X*) use an infinite
//! rate, which is what "effectively unlimited" means; the zone cases keep 100000 QPS and run
//! one node per zone.

use super::nodelifecycle::{is_node_excluded_from_disruption_checks, ZoneState};
use super::testkit::*;
use crate::model::*;
use crate::sim::SimDuration;
use ConditionStatus::{False, True, Unknown};
use ZoneState::{FullDisruption as Full, Normal, PartialDisruption as Partial};

const HOUR: u64 = 3600;

/// (name, labels, conditions at the first pass).
type TestNode = (
    &'static str,
    Vec<(&'static str, String)>,
    Vec<NodeCondition>,
);

fn z(zone: &str) -> Vec<(&'static str, String)> {
    zone_labels("region1", zone)
}

/// "U": Ready Unknown with a stale heartbeat at t0. "R" at `t`: Ready True, fresh.
fn u() -> Vec<NodeCondition> {
    vec![ready(Unknown, T0)]
}
fn r(t: crate::sim::SimTime) -> Vec<NodeCondition> {
    vec![ready(True, t)]
}

fn unlimited() -> super::nodelifecycle::NodeLifecycleConfig {
    let mut c = upstream_test_config();
    c.node_eviction_rate = f32::INFINITY;
    c.secondary_node_eviction_rate = f32::INFINITY;
    c
}

/// Builds `nodes` (name, zone, conditions at pass 1), runs pass 1 at t0, replaces the
/// conditions, runs pass 2 at t0 + 60 min (the shape of TestMonitorNodeHealth).
fn two_passes(k: &mut Kit, nodes: &[TestNode], second: &[Vec<NodeCondition>]) {
    for (name, labels, conds) in nodes {
        k.add_node(name, Y2012, labels, conds.clone());
    }
    k.pass(T0);
    for ((name, _, _), conds) in nodes.iter().zip(second) {
        k.set_conditions(name, conds.clone());
    }
    k.pass(at(T0, HOUR));
}

// ---------------------------------------------------------------- §7.1 zone states

#[test]
fn z1_no_disruption_node_created_recently_without_failure_domain_labels() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", T0, &[], r(T0));
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Normal));
    k.set_conditions("node0", r(at(T0, HOUR)));
    k.pass(at(T0, HOUR));
    assert_eq!(k.zone_state("node0"), Some(Normal));
}

#[test]
fn z2_no_disruption_initially_both_zones_down_one_comes_back() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &z("zone1"), u());
    k.add_node("node1", Y2012, &z("zone2"), u());
    k.pass(T0);
    // Both Full: master-disruption mode, every limiter paused.
    assert_eq!(k.zone_state("node0"), Some(Full));
    assert_eq!(k.zone_state("node1"), Some(Full));
    assert_eq!(k.zone_qps("node0"), Some(0.0));
    assert_eq!(k.zone_qps("node1"), Some(0.0));
    k.set_conditions("node1", r(at(T0, HOUR)));
    k.pass(at(T0, HOUR));
    assert_eq!(k.zone_state("node0"), Some(Full));
    assert_eq!(k.zone_state("node1"), Some(Normal));
    // Exit: limiters set per state; the Full zone is evicted at the normal rate.
    assert_eq!(k.zone_qps("node0"), Some(100_000.0));
    assert_eq!(k.zone_qps("node1"), Some(100_000.0));
}

#[test]
fn z3_partial_disruption_nodes_created_recently_without_status_conditions() {
    let mut k = Kit::new(upstream_test_config());
    for i in 0..4 {
        k.add_node(&format!("node{i}"), T0, &z("zone1"), vec![]);
    }
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Full));
    for i in 0..3 {
        k.set_conditions(&format!("node{i}"), u());
    }
    k.set_conditions("node3", r(at(T0, HOUR)));
    k.pass(at(T0, HOUR));
    assert_eq!(k.zone_state("node0"), Some(Partial));
}

#[test]
fn z4_partial_disruption_one_node_failed_leading_to_the_zone_crossing_the_threshold() {
    let mut k = Kit::new(upstream_test_config());
    let fresh = r(T0);
    let nodes: Vec<_> = (0..5)
        .map(|i| {
            let c = if i < 2 { u() } else { fresh.clone() };
            (
                ["node0", "node1", "node2", "node3", "node4"][i],
                z("zone1"),
                c,
            )
        })
        .collect();
    let later = r(at(T0, HOUR));
    let second = vec![u(), u(), u(), later.clone(), later];
    for (name, labels, conds) in &nodes {
        k.add_node(name, Y2012, labels, conds.clone());
    }
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Normal));
    for ((name, _, _), c) in nodes.iter().zip(&second) {
        k.set_conditions(name, c.clone());
    }
    k.pass(at(T0, HOUR));
    assert_eq!(k.zone_state("node0"), Some(Partial));
}

#[test]
fn z5_full_disruption_the_last_healthy_node_has_failed() {
    let mut k = Kit::new(upstream_test_config());
    two_passes(
        &mut k,
        &[
            ("node0", z("zone1"), u()),
            ("node1", z("zone1"), u()),
            ("node2", z("zone1"), r(T0)),
        ],
        &[u(), u(), u()],
    );
    assert_eq!(k.zone_state("node0"), Some(Full));
}

#[test]
fn z5_pass_one_two_down_of_three_is_normal() {
    let mut k = Kit::new(upstream_test_config());
    for (n, c) in [("node0", u()), ("node1", u()), ("node2", r(T0))] {
        k.add_node(n, Y2012, &z("zone1"), c);
    }
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Normal));
}

#[test]
fn z6_full_disruption_all_the_nodes_in_one_zone_are_down() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &z("zone1"), u());
    k.add_node("node1", Y2012, &z("zone2"), r(T0));
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Full));
    assert_eq!(k.zone_state("node1"), Some(Normal));
    k.set_conditions("node1", r(at(T0, HOUR)));
    k.pass(at(T0, HOUR));
    assert_eq!(k.zone_state("node0"), Some(Full));
    assert_eq!(k.zone_state("node1"), Some(Normal));
}

#[test]
fn z7_full_disruption_all_the_nodes_in_both_the_zones_are_down() {
    let mut k = Kit::new(upstream_test_config());
    two_passes(
        &mut k,
        &[
            ("node0", zone_labels("region1", "zone1"), u()),
            ("node1", zone_labels("region2", "zone2"), u()),
        ],
        &[u(), u()],
    );
    assert_eq!(k.zone_state("node0"), Some(Full));
    assert_eq!(k.zone_state("node1"), Some(Full));
    assert_ne!(k.node("node0").zone_key(), k.node("node1").zone_key());
}

#[test]
fn z8_full_disruption_ready_condition_removed_from_the_node() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &z("zone1"), r(T0));
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Normal));
    k.set_conditions("node0", vec![]);
    k.pass(at(T0, HOUR));
    assert_eq!(k.zone_state("node0"), Some(Full));
    let n = k.node("node0");
    assert_eq!(
        n.ready().map(|c| c.reason.as_str()),
        Some("NodeStatusNeverUpdated")
    );
}

#[test]
fn z9_full_disruption_the_only_available_node_has_the_exclude_disruption_label() {
    let mut k = Kit::new(upstream_test_config());
    let mut excluded = z("zone1");
    excluded.push((LABEL_EXCLUDE_DISRUPTION, String::new()));
    k.add_node("node0", Y2012, &z("zone1"), u());
    k.add_node("node-master", Y2012, &excluded, r(T0));
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Full));
    k.set_conditions("node-master", r(at(T0, HOUR)));
    k.pass(at(T0, HOUR));
    assert_eq!(k.zone_state("node0"), Some(Full));
}

// ------------------------------------------------- §7.2 eviction per zone situation
//
// TestMonitorNodeHealthEvictPodsWithDisruption, modern equivalent: "evicted" means node0
// gets a NoExecute taint. Passes at t0 and t0 + 60 min, then tainting passes.

fn eviction_case(nodes: &[TestNode], second: &[Vec<NodeCondition>]) -> Kit {
    let mut c = upstream_test_config();
    c.node_eviction_rate = 10_000.0;
    c.secondary_node_eviction_rate = 10_000.0;
    let mut k = Kit::new(c);
    for (name, labels, conds) in nodes {
        k.add_node(name, Y2012, labels, conds.clone());
    }
    k.add_pod("pod0", Some("node0"), vec![]);
    k.pass(T0);
    for ((name, _, _), conds) in nodes.iter().zip(second) {
        k.set_conditions(name, conds.clone());
    }
    k.pass(at(T0, HOUR));
    // Enough tainting passes for any token to arrive (10000 QPS: every 100 µs).
    for ms in [0, 100, 200] {
        k.taint_pass(at(T0, HOUR) + SimDuration::from_millis(ms));
    }
    k
}

fn tainted(k: &Kit, node: &str) -> bool {
    !k.noexecute(node).is_empty()
}

#[test]
fn e1_network_disruption_only_zone_is_down() {
    let k = eviction_case(
        &[("node0", z("zone1"), u()), ("node1", z("zone1"), u())],
        &[u(), u()],
    );
    assert!(!tainted(&k, "node0"));
}

#[test]
fn e2_network_disruption_both_zones_down() {
    let k = eviction_case(
        &[
            ("node0", zone_labels("region1", "zone1"), u()),
            ("node1", zone_labels("region2", "zone2"), u()),
        ],
        &[u(), u()],
    );
    assert!(!tainted(&k, "node0"));
    assert!(!tainted(&k, "node1"));
}

#[test]
fn e3_network_disruption_one_zone_is_down() {
    let k = eviction_case(
        &[("node0", z("zone1"), u()), ("node1", z("zone2"), r(T0))],
        &[u(), r(at(T0, HOUR))],
    );
    assert_eq!(k.noexecute("node0"), vec![TAINT_UNREACHABLE]);
}

#[test]
fn e4_eviction_stops_when_only_the_excluded_node_is_healthy() {
    // Legacy E4 relied on the "-master" name; the modern rule needs the label (N3, Z9).
    let mut excluded = z("zone1");
    excluded.push((LABEL_EXCLUDE_DISRUPTION, String::new()));
    let k = eviction_case(
        &[("node0", z("zone1"), u()), ("node-master", excluded, r(T0))],
        &[u(), r(at(T0, HOUR))],
    );
    assert!(!tainted(&k, "node0"));
}

#[test]
fn e4_modern_a_master_name_alone_does_not_exclude() {
    let k = eviction_case(
        &[
            ("node0", z("zone1"), u()),
            ("node-master", z("zone1"), r(T0)),
        ],
        &[u(), r(at(T0, HOUR))],
    );
    assert!(tainted(&k, "node0"));
}

#[test]
fn e5_initially_both_zones_down_one_comes_back() {
    let k = eviction_case(
        &[("node0", z("zone1"), u()), ("node1", z("zone2"), u())],
        &[u(), r(at(T0, HOUR))],
    );
    assert_eq!(k.noexecute("node0"), vec![TAINT_UNREACHABLE]);
    assert!(!tainted(&k, "node1"));
}

#[test]
fn e6_zone_is_partially_disrupted_small_zone_gets_no_evictions_with_real_rates() {
    // Upstream overrides the partial-disruption QPS; with the real setLimiter a zone of 5
    // nodes (<= largeClusterThreshold 20) gets QPS 0 (reference §7.2 E6 [derived]).
    let fresh = r(T0);
    let later = r(at(T0, HOUR));
    let names = ["node0", "node1", "node2", "node3", "node4"];
    let nodes: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, z("zone1"), if i < 3 { u() } else { fresh.clone() }))
        .collect();
    let k = eviction_case(&nodes, &[u(), u(), u(), later.clone(), later]);
    assert_eq!(k.zone_state("node0"), Some(Partial));
    assert_eq!(k.zone_qps("node0"), Some(0.0));
    assert!(!tainted(&k, "node0"));
}

// ------------------------------------------------------ §7.3 health and conditions

fn conds_by_type(n: &Node) -> Vec<(NodeConditionType, ConditionStatus, String)> {
    n.status
        .conditions
        .iter()
        .map(|c| (c.type_, c.status, c.reason.clone()))
        .collect()
}

const PRESSURES: [NodeConditionType; 3] = [
    NodeConditionType::MemoryPressure,
    NodeConditionType::DiskPressure,
    NodeConditionType::PIDPressure,
];

#[test]
fn u1_monitor_node_health_update_status_node_never_posted() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.reset_counts();
    k.pass(T0);
    let n = k.node("node0");
    assert_eq!(n.status.conditions.len(), 4);
    for c in &n.status.conditions {
        assert_eq!(c.status, Unknown);
        assert_eq!(c.reason, "NodeStatusNeverUpdated");
        assert_eq!(c.last_heartbeat_time, Y2012);
        assert_eq!(c.last_transition_time, T0);
    }
    // The status update, then the unreachable:NoSchedule taint (upstream runs that worker
    // separately, outside this test's request count).
    assert_eq!(k.node_writes, 2);
    assert_eq!(k.noschedule("node0"), vec![TAINT_UNREACHABLE]);
    assert_eq!(k.pod_ready("pod0"), Some(True), "no pod status update");
}

#[test]
fn u2_monitor_node_health_update_status_new_node_no_action() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", T0, &[], vec![]);
    k.reset_counts();
    k.pass(T0);
    assert_eq!(k.node_writes, 0);
    assert!(k.node("node0").status.conditions.is_empty());
}

#[test]
fn u3_monitor_node_health_update_status_stale_heartbeat_becomes_unknown() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.pass(T0);
    k.reset_counts();
    k.pass(at(T0, HOUR));
    let n = k.node("node0");
    let ready = n.ready().expect("ready");
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        (Unknown, "NodeStatusUnknown")
    );
    assert_eq!(ready.last_heartbeat_time, T0);
    assert_eq!(ready.last_transition_time, at(T0, HOUR));
    for t in PRESSURES {
        let c = n.condition(t).expect("added");
        assert_eq!(
            (c.status, c.reason.as_str()),
            (Unknown, "NodeStatusNeverUpdated")
        );
        assert_eq!(c.last_heartbeat_time, Y2012);
        assert_eq!(c.last_transition_time, at(T0, HOUR));
    }
    assert_eq!(k.node_writes, 2, "status, then the NoSchedule taint");
    assert_eq!(k.pod_ready("pod0"), Some(False), "pods marked NotReady");
}

#[test]
fn u4_monitor_node_health_update_status_fresh_heartbeat_no_action() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.reset_counts();
    k.pass(T0);
    assert_eq!(k.node_writes, 0);
    assert_eq!(conds_by_type(&k.node("node0")).len(), 1);
}

#[test]
fn l1_with_lease_created_recently_no_status_no_lease() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", T0, &[], vec![]);
    k.reset_counts();
    k.pass(T0);
    assert_eq!(k.node_writes, 0);
}

#[test]
fn l2_with_lease_created_recently_no_status_lease_renewed() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", T0, &[], vec![]);
    k.renew_lease("node0", T0);
    k.reset_counts();
    k.pass(T0);
    assert_eq!(k.node_writes, 0);
}

#[test]
fn l3_with_lease_old_node_no_status_no_lease() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.reset_counts();
    k.pass(T0);
    let n = k.node("node0");
    assert_eq!(n.status.conditions.len(), 4);
    assert!(n.status.conditions.iter().all(|c| c.status == Unknown
        && c.reason == "NodeStatusNeverUpdated"
        && c.last_transition_time == T0));
    assert_eq!(k.pod_ready("pod0"), Some(True));
}

#[test]
fn l4_with_lease_old_node_no_status_lease_keeps_it_healthy() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![]);
    k.renew_lease("node0", T0);
    k.reset_counts();
    k.pass(T0);
    k.renew_lease("node0", at(T0, HOUR));
    k.pass(at(T0, HOUR));
    assert_eq!(k.node_writes, 0);
    assert!(k.node("node0").status.conditions.is_empty());
}

#[test]
fn l5_with_lease_old_node_no_status_lease_not_renewed() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.renew_lease("node0", T0);
    k.pass(T0);
    assert!(k.node("node0").status.conditions.is_empty());
    k.pass(at(T0, HOUR));
    let n = k.node("node0");
    assert_eq!(n.status.conditions.len(), 4);
    assert!(n.status.conditions.iter().all(|c| c.status == Unknown
        && c.reason == "NodeStatusNeverUpdated"
        && c.last_transition_time == at(T0, HOUR)));
    // The observed condition was the synthetic Unknown: no pod update.
    assert_eq!(k.pod_ready("pod0"), Some(True));
}

#[test]
fn l6_with_lease_stale_status_but_renewed_lease_no_change() {
    let mut k = Kit::new(upstream_test_config());
    let conds = vec![
        ready(True, T0),
        cond(NodeConditionType::DiskPressure, False, T0, T0),
    ];
    k.add_node("node0", Y2012, &[], conds.clone());
    k.renew_lease("node0", T0);
    k.pass(T0);
    k.renew_lease("node0", at(T0, HOUR));
    k.reset_counts();
    k.pass(at(T0, HOUR));
    assert_eq!(k.node_writes, 0);
    assert_eq!(k.node("node0").status.conditions, conds);
}

#[test]
fn l7_with_lease_fresh_status_stale_lease_no_change() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.renew_lease("node0", T0);
    k.pass(T0);
    let fresh = vec![cond(NodeConditionType::Ready, True, at(T0, HOUR), T0)];
    k.set_conditions("node0", fresh.clone());
    k.reset_counts();
    k.pass(at(T0, HOUR));
    assert_eq!(k.node_writes, 0);
    assert_eq!(k.node("node0").status.conditions, fresh);
}

#[test]
fn l8_with_lease_neither_renewed_becomes_unknown() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.renew_lease("node0", T0);
    k.pass(T0);
    k.pass(at(T0, HOUR));
    let n = k.node("node0");
    let ready = n.ready().expect("ready");
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        (Unknown, "NodeStatusUnknown")
    );
    for t in PRESSURES {
        assert_eq!(
            n.condition(t).map(|c| c.reason.as_str()),
            Some("NodeStatusNeverUpdated")
        );
    }
    assert_eq!(k.pod_ready("pod0"), Some(False));
}

#[test]
fn p1_mark_pods_not_ready_only_after_grace_on_a_ready_node() {
    // (a) a new node without status: no pod update.
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", T0, &[], vec![]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.pass(T0);
    assert_eq!(k.pod_ready("pod0"), Some(True));
    // (b) a fresh status: no pod update.
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.pass(T0);
    assert_eq!(k.pod_ready("pod0"), Some(True));
    // (c) Ready hb t0, second pass at t0 + 1 min: 60 s > 50 s grace, pods marked.
    k.pass(at(T0, 60));
    assert_eq!(k.pod_ready("pod0"), Some(False));
}

#[test]
fn p2_mark_pods_not_ready_with_worker_size_updates_exactly_5000_pods() {
    let mut k = Kit::new(upstream_test_config());
    for n in 0..50 {
        let node = format!("node{n}");
        k.add_node(&node, Y2012, &z("zone1"), vec![ready(True, T0)]);
        for p in 0..100 {
            k.add_pod(&format!("pod-{n}-{p}"), Some(&node), vec![]);
        }
    }
    k.pass(T0);
    k.reset_counts();
    k.pass(at(T0, 60));
    assert_eq!(k.pod_writes, 5000);
}

#[test]
fn p3_mark_pods_not_ready_retry_after_a_failed_update() {
    // Successful update: one pod update.
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.pass(T0);
    k.reset_counts();
    k.pass(at(T0, 60));
    assert_eq!(k.pod_writes, 1);
    // Failed update: the node is retried on the next pass, although its observed Ready is
    // no longer True.
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.pass(T0);
    k.api.inject_pod_write_failures = 1;
    k.pass(at(T0, 60));
    assert_eq!(k.pod_ready("pod0"), Some(True), "the first update failed");
    k.set_conditions(
        "node0",
        vec![cond(
            NodeConditionType::Ready,
            False,
            at(T0, 62),
            at(T0, 62),
        )],
    );
    k.pass(at(T0, 120));
    assert_eq!(k.pod_ready("pod0"), Some(False), "retried on the next pass");
}

#[test]
fn n1_try_update_node_health_cached_status_equals_returned_status() {
    for status in [Some(True), Some(False), Some(Unknown), None] {
        for stale in [false, true] {
            let mut k = Kit::new(upstream_test_config());
            let hb = T0;
            let conds: Vec<NodeCondition> = status.map(|s| ready(s, hb)).into_iter().collect();
            k.add_node("node0", Y2012, &[], conds);
            k.pass(T0);
            let now = if stale {
                at(T0, 365 * 86_400)
            } else {
                at(T0, 1)
            };
            k.pass(now);
            let n = k.node("node0");
            assert_eq!(
                k.kcm.nlc.saved_ready_status(&n),
                n.ready_status(),
                "{status:?} stale={stale}"
            );
            if stale && status == Some(True) {
                assert_eq!(
                    n.ready_status(),
                    Some(Unknown),
                    "stale True becomes Unknown"
                );
            }
        }
    }
}

#[test]
fn n2_process_pod_mark_pod_not_ready() {
    // (a) node health not gathered yet (no pass has run), Ready False: not marked.
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(False, T0)]);
    k.advance(T0);
    k.add_pod("pod0", None, vec![]);
    k.bind("pod0", "node0");
    assert_eq!(k.pod_ready("pod0"), Some(True));
    // (b) Ready True: not marked.
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.pass(T0);
    k.add_pod("pod0", None, vec![]);
    k.bind("pod0", "node0");
    assert_eq!(k.pod_ready("pod0"), Some(True));
    // (c) Ready False: marked NotReady at once.
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(False, T0)]);
    k.pass(T0);
    k.add_pod("pod0", None, vec![]);
    k.bind("pod0", "node0");
    assert_eq!(k.pod_ready("pod0"), Some(False));
}

#[test]
fn n3_is_node_excluded_from_disruption_checks() {
    let mut n = Node::default();
    assert!(!is_node_excluded_from_disruption_checks(&n));
    n.meta.name = "master-abc".into();
    assert!(!is_node_excluded_from_disruption_checks(&n));
    n.meta
        .labels
        .insert(LABEL_EXCLUDE_DISRUPTION.into(), String::new());
    assert!(is_node_excluded_from_disruption_checks(&n));
}

#[test]
fn n4_node_event_generation_registered_node_once() {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node0", Y2012, &[], vec![ready(True, T0)]);
    k.pass(T0);
    k.pass(at(T0, 5));
    assert_eq!(k.records("RegisteredNode"), 1);
}

// ------------------------------------------------------------------ §7.4 tainting

#[test]
fn x1_apply_no_execute_taints() {
    let mut k = Kit::new(unlimited());
    let now = at(T0, 2 * 365 * 86_400); // 2017
    k.add_node("node0", Y2012, &z("zone1"), vec![ready(Unknown, T0)]);
    k.add_node("node1", Y2012, &z("zone1"), vec![ready(True, now)]);
    k.add_node("node2", Y2012, &z("zone1"), vec![ready(False, T0)]);
    k.add_node("node3", Y2012, &z("zone1"), vec![ready(True, now)]);
    k.add_pod("pod0", Some("node0"), vec![]);
    k.pass(now);
    k.taint_pass(now);
    assert_eq!(k.noexecute("node0"), vec![TAINT_UNREACHABLE]);
    assert_eq!(k.noexecute("node2"), vec![TAINT_NOT_READY]);
    assert!(k.noexecute("node1").is_empty() && k.noexecute("node3").is_empty());
    // node2 becomes healthy: after one pass it carries no taint at all.
    let later = now + SimDuration::from_mins(10);
    k.set_conditions(
        "node2",
        vec![cond(NodeConditionType::Ready, True, later, now)],
    );
    k.pass(now + SimDuration::from_secs(1));
    k.taint_pass(now + SimDuration::from_secs(1));
    assert!(k.node("node2").spec.taints.is_empty());
    // node3 goes Ready False; before the tainting pass its Ready condition disappears (only
    // MemoryPressure left): no taint, the queue retries later.
    let t2 = now + SimDuration::from_secs(2);
    k.set_conditions("node3", vec![ready(False, t2)]);
    k.pass(t2);
    k.set_conditions(
        "node3",
        vec![cond(NodeConditionType::MemoryPressure, False, t2, t2)],
    );
    k.taint_pass(t2);
    assert!(k.noexecute("node3").is_empty());
}

#[test]
fn x2_apply_no_execute_taints_to_unreachable_node_in_the_same_pass() {
    // >= 1.34: the taint is decided from the current condition, in the same pass.
    let mut k = Kit::new(unlimited());
    let time1 = T0;
    k.add_node("node0", Y2012, &z("zone1"), vec![ready(True, time1)]);
    k.add_node("node1", Y2012, &z("zone1"), vec![ready(True, time1)]);
    k.pass(time1);
    let time2 = at(time1, 51);
    k.set_conditions("node1", vec![ready(True, time2)]);
    k.pass(time2);
    k.taint_pass(time2);
    assert_eq!(k.noexecute("node0"), vec![TAINT_UNREACHABLE]);
    assert!(k.noexecute("node1").is_empty());
    let time3 = at(time2, 5);
    k.set_conditions("node0", vec![ready(True, time3)]);
    k.pass(time3);
    assert!(k.noexecute("node0").is_empty());
}

#[test]
fn x2_before_1_34_the_taint_comes_one_pass_later() {
    let mut c = unlimited();
    c.taint_from_current_condition = false;
    let mut k = Kit::new(c);
    k.add_node("node0", Y2012, &z("zone1"), vec![ready(True, T0)]);
    k.add_node("node1", Y2012, &z("zone1"), vec![ready(True, T0)]);
    k.pass(T0);
    let time2 = at(T0, 51);
    k.set_conditions("node1", vec![ready(True, time2)]);
    k.pass(time2);
    k.taint_pass(time2);
    assert!(
        k.noexecute("node0").is_empty(),
        "decided from the observed True"
    );
    let time3 = at(time2, 5);
    k.set_conditions("node1", vec![ready(True, time3)]);
    k.pass(time3);
    k.taint_pass(time3);
    assert_eq!(k.noexecute("node0"), vec![TAINT_UNREACHABLE]);
}

#[test]
fn x3_apply_no_execute_taints_to_nodes_enqueue_twice() {
    let mut k = Kit::new(unlimited());
    let now = at(T0, 2 * 365 * 86_400);
    k.add_node("node0", Y2012, &z("zone1"), vec![ready(Unknown, T0)]);
    k.add_node("node1", Y2012, &z("zone1"), vec![ready(True, now)]);
    k.add_node("node2", Y2012, &z("zone1"), vec![ready(False, T0)]);
    k.pass(now);
    k.pass(now + SimDuration::from_secs(1));
    // node0 becomes healthy; its queued entry is now stale.
    let t = now + SimDuration::from_secs(2);
    k.set_conditions("node0", vec![ready(True, t)]);
    k.add_node("node3", Y2012, &z("zone1"), vec![ready(Unknown, T0)]);
    k.add_node("node4", Y2012, &z("zone1"), vec![ready(True, t)]);
    k.add_node("node5", Y2012, &z("zone1"), vec![ready(False, T0)]);
    k.pass(t);
    k.taint_pass(t);
    assert!(k.noexecute("node0").is_empty(), "ready now: skipped");
    assert_eq!(k.noexecute("node3"), vec![TAINT_UNREACHABLE]);
    assert_eq!(k.noexecute("node5"), vec![TAINT_NOT_READY]);
    assert!(k.noexecute("node4").is_empty());
}

#[test]
fn x4_swap_unreachable_not_ready_taints() {
    let mut k = Kit::new(unlimited());
    let now = at(T0, 2 * 365 * 86_400);
    k.add_node("node0", Y2012, &z("zone1"), vec![ready(Unknown, T0)]);
    k.add_node("node1", Y2012, &z("zone1"), vec![ready(True, now)]);
    k.pass(now);
    k.taint_pass(now);
    assert_eq!(k.noexecute("node0"), vec![TAINT_UNREACHABLE]);
    let later = now + SimDuration::from_mins(10);
    k.set_conditions(
        "node0",
        vec![cond(
            NodeConditionType::Ready,
            False,
            now + SimDuration::from_mins(9),
            now,
        )],
    );
    k.set_conditions(
        "node1",
        vec![cond(NodeConditionType::Ready, True, later, now)],
    );
    k.pass(later);
    // The swap is immediate, in the pass itself (no tainting pass needed).
    assert_eq!(k.noexecute("node0"), vec![TAINT_NOT_READY]);
}

#[test]
fn x5_taints_node_by_condition() {
    let cases = [
        (
            "NetworkUnavailable is true",
            vec![
                ready(True, T0),
                cond(NodeConditionType::NetworkUnavailable, True, T0, T0),
            ],
            TAINT_NETWORK_UNAVAILABLE,
        ),
        ("Ready is false", vec![ready(False, T0)], TAINT_NOT_READY),
        (
            "Ready is unknown",
            vec![ready(Unknown, T0)],
            TAINT_UNREACHABLE,
        ),
    ];
    for (name, conds, want) in cases {
        let mut k = Kit::new(upstream_test_config());
        k.add_node("node0", Y2012, &z("zone1"), vec![ready(True, T0)]);
        k.set_conditions("node0", conds);
        assert_eq!(k.noschedule("node0"), vec![want], "{name}");
    }
}

// -------------------------------------------------------- §7.5 taint eviction (S7)
//
// Upstream uses custom taints ("testTaint1", "testTaint2"), so admission's default
// not-ready/unreachable tolerations do not interfere.

fn taint(n: u32) -> Taint {
    let mut t = Taint::new(&format!("testTaint{n}"), TaintEffect::NoExecute);
    t.value = format!("test{n}");
    t
}

fn tolerate(n: u32, secs: Option<i64>) -> Toleration {
    Toleration {
        key: format!("testTaint{n}"),
        operator: TolerationOperator::Equal,
        value: format!("test{n}"),
        effect: Some(TaintEffect::NoExecute),
        toleration_seconds: secs,
    }
}

/// A controller manager with one healthy node "node1" (the monitor pass never runs here).
fn eviction_kit() -> Kit {
    let mut k = Kit::new(upstream_test_config());
    k.add_node("node1", Y2012, &[], vec![ready(True, T0)]);
    k.advance(T0);
    k
}

fn after(k: &mut Kit, secs_millis: u64) {
    let t = k.eng.now() + SimDuration::from_millis(secs_millis);
    k.advance(t);
}

#[test]
fn k1_create_pod() {
    // not scheduled
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", None, vec![]);
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
    // untainted node
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![]);
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
    // tainted node without toleration: deleted at once
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", Some("node1"), vec![]);
    assert!(k.deleted("pod1"));
    // tainted node with a finite 100 s toleration: not within the test window
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(100))]);
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
    // infinite toleration
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, None)]);
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
    // toleration for a different taint
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", Some("node1"), vec![tolerate(2, None)]);
    assert!(k.deleted("pod1"));
}

#[test]
fn k2_update_pod() {
    // scheduled onto a tainted node
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", None, vec![]);
    k.bind("pod1", "node1");
    assert!(k.deleted("pod1"));
    // same with an infinite toleration
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", None, vec![tolerate(1, None)]);
    k.bind("pod1", "node1");
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
    // toleration removed while a 100 s timer is pending: deleted at once
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(100))]);
    after(&mut k, 1000);
    assert!(!k.deleted("pod1"));
    k.set_tolerations("pod1", vec![]);
    assert!(k.deleted("pod1"));
    // toleration lengthened 1 s -> 100 s: still deleted after 1 s
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(1))]);
    // Upstream's update comes some wall-clock time after the creation; at the very same
    // instant the timer would be replaced (its start is not earlier than now).
    after(&mut k, 1);
    k.set_tolerations("pod1", vec![tolerate(1, Some(100))]);
    after(&mut k, 998);
    assert!(!k.deleted("pod1"));
    after(&mut k, 1);
    assert!(k.deleted("pod1"));
}

#[test]
fn k3_create_node() {
    // untainted node
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node2"), vec![]);
    k.add_node("node2", T0, &[], vec![ready(True, T0)]);
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
    // tainted node + plain pod
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node2"), vec![]);
    k.add_node("node2", T0, &[], vec![ready(True, T0)]);
    k.set_taints("node2", vec![taint(1)]);
    assert!(k.deleted("pod1"));
    // tainted node + infinitely tolerating pod
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node2"), vec![tolerate(1, None)]);
    k.add_node("node2", T0, &[], vec![ready(True, T0)]);
    k.set_taints("node2", vec![taint(1)]);
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
}

#[test]
fn k4_update_node() {
    // taint added
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![]);
    k.set_taints("node1", vec![taint(1)]);
    assert!(k.deleted("pod1"));
    // tolerated for 100 s
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(100))]);
    k.set_taints("node1", vec![taint(1)]);
    after(&mut k, 2000);
    assert!(!k.deleted("pod1"));
    // only 1 of 2 taints tolerated: at once
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(100))]);
    k.set_taints("node1", vec![taint(1), taint(2)]);
    assert!(k.deleted("pod1"));
    // taint removed before a 1 s toleration expires (checked at 1.5 s): cancelled
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(1))]);
    k.set_taints("node1", vec![taint(1)]);
    after(&mut k, 500);
    k.set_taints("node1", vec![]);
    after(&mut k, 1000);
    assert!(!k.deleted("pod1"));
    // tolerations 1 s and 100 s for two taints: the minimum, 1 s
    let mut k = eviction_kit();
    k.add_pod(
        "pod1",
        Some("node1"),
        vec![tolerate(1, Some(1)), tolerate(2, Some(100))],
    );
    k.set_taints("node1", vec![taint(1), taint(2)]);
    after(&mut k, 999);
    assert!(!k.deleted("pod1"));
    after(&mut k, 1);
    assert!(k.deleted("pod1"));
}

#[test]
fn k5_update_node_with_multiple_taints() {
    let mut k = eviction_kit();
    k.add_pod(
        "pod1",
        Some("node1"),
        vec![tolerate(1, None), tolerate(2, Some(60))],
    );
    after(&mut k, 1000);
    assert_eq!(k.kcm.taint.pending_timers(), 0);
    k.set_taints("node1", vec![taint(1)]);
    assert_eq!(k.kcm.taint.pending_timers(), 0, "taint1 tolerated forever");
    k.set_taints("node1", vec![taint(1), taint(2)]);
    assert_eq!(k.kcm.taint.pending_timers(), 1, "queued for 60 s");
    k.set_taints("node1", vec![taint(1)]);
    assert_eq!(k.kcm.taint.pending_timers(), 0, "de-queued");
    after(&mut k, 120_000);
    assert!(!k.deleted("pod1"));
}

#[test]
fn k6_update_node_with_multiple_pods() {
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![]);
    k.add_pod("pod2", Some("node1"), vec![tolerate(1, Some(1))]);
    k.add_pod("pod3", Some("node1"), vec![tolerate(1, None)]);
    k.set_taints("node1", vec![taint(1)]);
    assert!(k.deleted("pod1"));
    assert!(!k.deleted("pod2"));
    after(&mut k, 1000);
    assert!(k.deleted("pod2"));
    after(&mut k, 100_000);
    assert!(!k.deleted("pod3"));
    // With two taints (pods tolerate only taint1) all three go at 0 s.
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![]);
    k.add_pod("pod2", Some("node1"), vec![tolerate(1, Some(1))]);
    k.add_pod("pod3", Some("node1"), vec![tolerate(1, None)]);
    k.set_taints("node1", vec![taint(1), taint(2)]);
    assert!(k.deleted("pod1") && k.deleted("pod2") && k.deleted("pod3"));
}

#[test]
fn k8_eventual_consistency_late_pods_on_tainted_nodes() {
    // A pod that appears on an already tainted node.
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    after(&mut k, 1000);
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(1))]);
    after(&mut k, 999);
    assert!(!k.deleted("pod1"));
    after(&mut k, 1);
    assert!(k.deleted("pod1"));
    // A pod that binds late onto an already tainted node.
    let mut k = eviction_kit();
    k.set_taints("node1", vec![taint(1)]);
    k.add_pod("pod2", None, vec![]);
    after(&mut k, 1000);
    k.bind("pod2", "node1");
    assert!(k.deleted("pod2"));
}

#[test]
fn k9_timed_workers_duplicate_add_is_ignored_and_cancel_then_readd_fires() {
    // Re-observing the pod does not add a second timer or restart the first.
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(10))]);
    k.set_taints("node1", vec![taint(1)]);
    after(&mut k, 5000);
    k.set_tolerations("pod1", vec![tolerate(1, Some(10))]); // duplicate AddWork
    assert_eq!(k.kcm.taint.pending_timers(), 1);
    after(&mut k, 4999);
    assert!(!k.deleted("pod1"));
    after(&mut k, 1);
    assert!(k.deleted("pod1"), "fires once, at the original time");
    // CancelWork prevents firing; cancel then re-add fires again (from the re-add).
    let mut k = eviction_kit();
    k.add_pod("pod1", Some("node1"), vec![tolerate(1, Some(10))]);
    k.set_taints("node1", vec![taint(1)]);
    after(&mut k, 5000);
    k.set_taints("node1", vec![]);
    assert_eq!(k.kcm.taint.pending_timers(), 0);
    after(&mut k, 10_000);
    assert!(!k.deleted("pod1"));
    k.set_taints("node1", vec![taint(1)]);
    after(&mut k, 9999);
    assert!(!k.deleted("pod1"));
    after(&mut k, 1);
    assert!(k.deleted("pod1"));
}

// ------------------------------------------------------- §7.8 derived zone cases

/// One zone of `size` nodes with `down` of them Unknown; returns the zone's state and rate
/// under the real defaults (rates 0.1 / 0.01, large-cluster threshold 50).
fn derived(size: usize, down: usize) -> (ZoneState, f32) {
    let mut c = upstream_test_config();
    c.node_eviction_rate = 0.1;
    c.secondary_node_eviction_rate = 0.01;
    c.large_cluster_size_threshold = 50;
    let mut k = Kit::new(c);
    for i in 0..size {
        let conds = if i < down { u() } else { r(T0) };
        k.add_node(&format!("node{i:03}"), Y2012, &z("zone1"), conds);
    }
    // The zone leaves Initial on the first pass, which sets its limiter for the new state.
    k.pass(T0);
    (
        k.zone_state("node000").expect("zone"),
        k.zone_qps("node000").expect("queue"),
    )
}

#[test]
fn d1_ten_nodes_five_not_ready_normal() {
    assert_eq!(derived(10, 5), (Normal, 0.1));
}

#[test]
fn d2_ten_nodes_six_not_ready_partial_with_rate_zero() {
    assert_eq!(derived(10, 6), (Partial, 0.0));
}

#[test]
fn d3_hundred_nodes_sixty_not_ready_partial_at_secondary_rate() {
    assert_eq!(derived(100, 60), (Partial, 0.01));
}

#[test]
fn d4_three_nodes_two_not_ready_normal() {
    assert_eq!(derived(3, 2), (Normal, 0.1));
}

#[test]
fn d5_two_nodes_both_not_ready_all_full_mode_untaints_and_pauses() {
    let mut c = upstream_test_config();
    c.node_eviction_rate = 0.1;
    let mut k = Kit::new(c);
    k.add_node("node0", Y2012, &z("zone1"), u());
    k.add_node("node1", Y2012, &z("zone1"), u());
    k.set_taints(
        "node0",
        vec![Taint::new(TAINT_UNREACHABLE, TaintEffect::NoExecute)],
    );
    k.pass(T0);
    assert_eq!(k.zone_state("node0"), Some(Full));
    assert_eq!(k.zone_qps("node0"), Some(0.0));
    assert!(k.noexecute("node0").is_empty(), "all-Full mode untaints");
}

#[test]
fn d6_one_dead_zone_next_to_a_healthy_one_tainted_ten_seconds_apart() {
    let mut c = upstream_test_config();
    c.node_eviction_rate = 0.1;
    c.large_cluster_size_threshold = 50;
    let mut k = Kit::new(c);
    for i in 0..20 {
        k.add_node(
            &format!("a{i:02}"),
            Y2012,
            &z("zoneA"),
            vec![ready(True, T0)],
        );
        k.add_node(
            &format!("b{i:02}"),
            Y2012,
            &z("zoneB"),
            vec![ready(True, T0)],
        );
    }
    k.pass(T0);
    // Zone A stops heartbeating; zone B keeps posting fresh status.
    let mut tainted_at = Vec::new();
    let mut t = T0;
    for step in 0..(100 * 10) {
        t += SimDuration::from_millis(100);
        if step % 50 == 0 {
            for i in 0..20 {
                k.set_conditions(&format!("b{i:02}"), vec![ready(True, t)]);
            }
            k.pass(t);
        }
        let before: usize = (0..20)
            .filter(|i| !k.noexecute(&format!("a{i:02}")).is_empty())
            .count();
        k.taint_pass(t);
        let after: usize = (0..20)
            .filter(|i| !k.noexecute(&format!("a{i:02}")).is_empty())
            .count();
        for _ in before..after {
            tainted_at.push(t);
        }
    }
    assert_eq!(k.zone_state("a00"), Some(Full));
    assert_eq!(k.zone_state("b00"), Some(Normal));
    assert_eq!(k.zone_qps("a00"), Some(0.1));
    assert!(tainted_at.len() >= 5, "tainted: {tainted_at:?}");
    for w in tainted_at.windows(2) {
        let gap = w[1].since(w[0]).as_secs_f64();
        // float32 0.1/s: 9.99999985 s of token, seen at the next 100 ms tainting pass.
        assert!((gap - 10.0).abs() <= 0.1 + 1e-9, "gap {gap}");
    }
}

#[test]
fn d7_twenty_nodes_eleven_not_ready_partial_by_float32_ratio() {
    assert_eq!(derived(20, 11), (Partial, 0.0));
}

#[test]
fn d8_fifty_one_nodes_thirty_not_ready_secondary_rate_fifty_nodes_zero() {
    assert_eq!(derived(51, 30), (Partial, 0.01));
    assert_eq!(derived(50, 30), (Partial, 0.0));
}
