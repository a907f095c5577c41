//! PodTopologySpread's ported upstream tests: scoring_test.go's TestPodTopologySpreadScore
//! table and filtering_test.go's TestSingleConstraint cases, with the builders they share; the
//! node-inclusion-policy, matchLabelKeys, default-constraint and AddPod ports are in
//! `tests/policies.rs`.

use super::super::testutil::*;
use super::*;
use crate::model::{Node, Pod};

fn spread(mut p: Pod, cs: &[(i32, &str, Option<LabelSelector>, WhenUnsatisfiable)]) -> Pod {
    p.spec.topology_spread_constraints = cs
        .iter()
        .map(|(skew, key, sel, w)| TopologySpreadConstraint {
            max_skew: *skew,
            topology_key: key.to_string(),
            when_unsatisfiable: *w,
            label_selector: sel.clone(),
            min_domains: None,
            node_affinity_honor: true,
            node_taints_honor: false,
            match_label_keys: vec![],
        })
        .collect();
    p
}
fn foo() -> Option<LabelSelector> {
    Some(exists_selector("foo"))
}
fn bar() -> Option<LabelSelector> {
    Some(exists_selector("bar"))
}
const ANY: WhenUnsatisfiable = WhenUnsatisfiable::ScheduleAnyway;
const HARD: WhenUnsatisfiable = WhenUnsatisfiable::DoNotSchedule;

/// A node named `name` with the given labels only (no hostname label unless listed).
fn n(name: &str, kv: &[(&str, &str)]) -> Node {
    let mut node = node(name, 0, 0, &[]);
    node.meta.labels.clear();
    for (k, v) in kv {
        node.meta.labels.insert(k.to_string(), v.to_string());
    }
    node
}
fn h(name: &str) -> Node {
    n(name, &[(LABEL_HOSTNAME, name)])
}
fn hz(name: &str, zone: &str) -> Node {
    n(name, &[(LABEL_HOSTNAME, name), ("zone", zone)])
}
/// `count` pods labelled `kv` on `node`.
fn pods_on(node: &str, count: usize, kv: &[(&str, &str)]) -> Vec<Pod> {
    (0..count)
        .map(|i| on(labels(pod(&format!("p-{node}-{i}"), &[]), kv), node))
        .collect()
}
fn foo_pods(spread_: &[(&str, usize)]) -> Vec<Pod> {
    spread_
        .iter()
        .flat_map(|(node, c)| pods_on(node, *c, &[("foo", "")]))
        .collect()
}
fn the_pod() -> Pod {
    labels(pod("p", &[]), &[("foo", "")])
}

/// Scores of `nodes` (the candidates) with `failed` also in the snapshot.
fn scores(
    p: &Pod,
    nodes: Vec<Node>,
    failed: Vec<Node>,
    existing: Vec<Pod>,
    snap_sel: SelectorSources,
) -> Vec<i64> {
    let k = nodes.len();
    let mut all = nodes;
    all.extend(failed);
    let mut snap = OwnedSnapshot::new(all, existing);
    snap.spread_selectors = snap_sel;
    let v = snap.view();
    let scored: Vec<&NodeInfo> = (0..k).map(|i| v.get(i)).collect();
    let Some(st) = pre_score(p, &v, &scored, None, &SpreadArgs::default()) else {
        return vec![];
    };
    let mut s: Vec<i64> = scored.iter().map(|nd| score(&st, nd, &v)).collect();
    let ignored: Vec<bool> = scored.iter().map(|nd| is_ignored(&st, nd)).collect();
    normalize(&mut s, &ignored);
    s
}

// scoring_test.go TestPodTopologySpreadScore.
#[test]
fn pod_topology_spread_score_upstream_table() {
    let host1 = |sel| spread(the_pod(), &[(1, LABEL_HOSTNAME, sel, ANY)]);
    assert_eq!(
        scores(
            &host1(foo()),
            vec![h("node-a"), h("node-b")],
            vec![],
            vec![],
            SelectorSources::default()
        ),
        vec![100, 100],
        "one constraint on node, no existing pods"
    );
    assert_eq!(
        scores(
            &host1(foo()),
            vec![h("node-a")],
            vec![h("node-b")],
            foo_pods(&[("node-a", 2), ("node-b", 1)]),
            SelectorSources::default()
        ),
        vec![100],
        "one constraint on node, only one node is candidate"
    );
    assert_eq!(
        scores(
            &host1(foo()),
            vec![h("node-a"), h("node-b")],
            vec![],
            foo_pods(&[("node-a", 1), ("node-b", 1)]),
            SelectorSources::default()
        ),
        vec![100, 100],
        "one constraint on node, all nodes have the same number of matching pods"
    );
    let abcd = || vec![h("node-a"), h("node-b"), h("node-c"), h("node-d")];
    let p2103 = || foo_pods(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]);
    assert_eq!(
        scores(
            &host1(foo()),
            abcd(),
            vec![],
            p2103(),
            SelectorSources::default()
        ),
        vec![20, 60, 100, 0],
        "one constraint on node, all 4 nodes are candidates"
    );
    assert_eq!(
        scores(
            &host1(None),
            abcd(),
            vec![],
            p2103(),
            SelectorSources::default()
        ),
        vec![100, 100, 100, 100],
        "one constraint on node, null selector"
    );
    assert_eq!(
        scores(
            &spread(the_pod(), &[(2, LABEL_HOSTNAME, foo(), ANY)]),
            abcd(),
            vec![],
            p2103(),
            SelectorSources::default()
        ),
        vec![33, 66, 100, 16],
        "one constraint on node, all 4 nodes are candidates, maxSkew=2"
    );
    let p4321 = || foo_pods(&[("node-a", 4), ("node-b", 3), ("node-c", 2), ("node-d", 1)]);
    assert_eq!(
        scores(
            &spread(the_pod(), &[(3, LABEL_HOSTNAME, foo(), ANY)]),
            abcd(),
            vec![],
            p4321(),
            SelectorSources::default()
        ),
        vec![44, 66, 77, 100],
        "one constraint on node, all 4 nodes are candidates, maxSkew=3"
    );
    assert_eq!(
        scores(
            &the_pod(),
            abcd(),
            vec![],
            p4321(),
            service_selecting("default", &[("foo", "")])
        ),
        vec![44, 66, 77, 100],
        "system defaulting, nodes don't have zone, pods match service"
    );
    let p421_3 = || foo_pods(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]);
    assert_eq!(
        scores(
            &host1(foo()),
            vec![h("node-a"), h("node-b"), h("node-x")],
            vec![h("node-y")],
            p421_3(),
            SelectorSources::default()
        ),
        vec![33, 83, 100],
        "one constraint on node, 3 out of 4 nodes are candidates"
    );
    assert_eq!(
        scores(&host1(foo()), vec![h("node-a"), n("node-b", &[("n", "node-b")]), h("node-x")], vec![h("node-y")], p421_3(), SelectorSources::default()),
        vec![16, 0, 100],
        "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key"
    );
    assert_eq!(
        scores(
            &spread(the_pod(), &[(1, "zone", foo(), ANY)]),
            vec![
                hz("node-a", "zone1"),
                hz("node-b", "zone1"),
                hz("node-x", "zone2")
            ],
            vec![hz("node-y", "zone2")],
            p421_3(),
            SelectorSources::default()
        ),
        vec![75, 75, 100],
        "one constraint on zone, 3 out of 4 nodes are candidates"
    );
    assert_eq!(
        scores(
            &spread(
                the_pod(),
                &[(1, "zone", foo(), ANY), (1, LABEL_HOSTNAME, foo(), ANY)]
            ),
            vec![hz("node-a", "zone1"), hz("node-x", "zone2")],
            vec![hz("node-b", "zone1"), hz("node-y", "zone2")],
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-x", 2), ("node-y", 4)]),
            SelectorSources::default()
        ),
        vec![100, 63],
        "two Constraints on zone and node, 2 out of 4 nodes are candidates"
    );
    let mut two_zone_pods = pods_on("node-a", 1, &[("foo", ""), ("bar", "")]);
    two_zone_pods.extend(pods_on("node-a", 1, &[("foo", "")]));
    two_zone_pods.extend(pods_on("node-b", 1, &[("foo", ""), ("bar", "")]));
    two_zone_pods.extend(pods_on("node-y", 1, &[("foo", "")]));
    two_zone_pods.extend(pods_on("node-y", 1, &[("foo", ""), ("bar", "")]));
    two_zone_pods.extend(pods_on("node-y", 1, &[("foo", "")]));
    let foobar = labels(the_pod(), &[("bar", "")]);
    assert_eq!(
        scores(
            &spread(
                foobar.clone(),
                &[(1, "zone", foo(), ANY), (1, "zone", bar(), ANY)]
            ),
            vec![
                n("node-a", &[("zone", "zone1")]),
                n("node-x", &[("zone", "zone2")])
            ],
            vec![
                n("node-b", &[("zone", "zone1")]),
                n("node-y", &[("zone", "zone2")])
            ],
            two_zone_pods,
            SelectorSources::default()
        ),
        vec![85, 100],
        "two Constraints on zone, 2 out of 4 nodes are candidates"
    );
    let zone_node = spread(
        foobar,
        &[(1, "zone", foo(), ANY), (1, LABEL_HOSTNAME, bar(), ANY)],
    );
    let mixed = || {
        let mut v = pods_on("node-a", 1, &[("foo", "")]);
        v.extend(pods_on("node-b", 1, &[("foo", ""), ("bar", "")]));
        v.extend(pods_on("node-y", 1, &[("foo", "")]));
        v.extend(pods_on("node-y", 1, &[("bar", "")]));
        v
    };
    let four = || {
        vec![
            hz("node-a", "zone1"),
            hz("node-b", "zone1"),
            hz("node-x", "zone2"),
            hz("node-y", "zone2"),
        ]
    };
    assert_eq!(
        scores(
            &zone_node,
            four(),
            vec![],
            mixed(),
            SelectorSources::default()
        ),
        vec![60, 20, 100, 60],
        "two Constraints on zone and node, with different labelSelectors"
    );
    let mut zero = pods_on("node-b", 1, &[("bar", "")]);
    zero.extend(pods_on("node-x", 1, &[("foo", "")]));
    zero.extend(pods_on("node-y", 1, &[("foo", ""), ("bar", "")]));
    assert_eq!(
        scores(&zone_node, four(), vec![], zero, SelectorSources::default()),
        vec![100, 60, 40, 0],
        "two Constraints on zone and node, with different labelSelectors, some nodes have 0 pods"
    );
    assert_eq!(
        scores(&zone_node, vec![hz("node-a", "zone1"), hz("node-b", "zone1"), hz("node-x", "zone2")], vec![hz("node-y", "zone2")], mixed(), SelectorSources::default()),
        vec![50, 25, 100],
        "two Constraints on zone and node, with different labelSelectors, 3 out of 4 nodes are candidates"
    );
    let mut other_ns = foo_pods(&[("node-a", 1)]);
    other_ns[0].meta.namespace = "ns1".into();
    other_ns.extend(foo_pods(&[("node-a", 1), ("node-b", 2)]));
    other_ns[1].meta.name = "p-a2".into();
    assert_eq!(
        scores(
            &host1(foo()),
            vec![h("node-a"), h("node-b")],
            vec![],
            other_ns,
            SelectorSources::default()
        ),
        vec![100, 33],
        "existing pods in a different namespace do not count"
    );
    let mut term = foo_pods(&[("node-a", 1), ("node-b", 1)]);
    term[0].meta.deletion_timestamp = Some(crate::sim::SimTime::ZERO);
    assert_eq!(
        scores(
            &host1(foo()),
            vec![h("node-a"), h("node-b")],
            vec![],
            term,
            SelectorSources::default()
        ),
        vec![100, 0],
        "terminating Pods should be excluded"
    );
}

fn fits(p: &Pod, nodes: Vec<Node>, existing: Vec<Pod>) -> Vec<bool> {
    let snap = OwnedSnapshot::new(nodes, existing);
    let v = snap.view();
    let st = pre_filter(p, &v, &SpreadArgs::default());
    v.iter()
        .map(|nd| st.as_ref().is_none_or(|s| filter(s, nd).is_ok()))
        .collect()
}

// filtering_test.go TestSingleConstraint (names of the upstream cases).
#[test]
fn pod_topology_spread_filter_upstream_cases() {
    let zone_nodes = || {
        vec![
            hz("node-a", "zone1"),
            hz("node-b", "zone1"),
            hz("node-x", "zone2"),
            hz("node-y", "zone2"),
        ]
    };
    let zone1 = spread(the_pod(), &[(1, "zone", foo(), HARD)]);
    assert_eq!(
        fits(&zone1, zone_nodes(), vec![]),
        vec![true; 4],
        "no existing pods"
    );
    assert_eq!(
        fits(
            &zone1,
            zone_nodes(),
            foo_pods(&[("node-a", 1), ("node-b", 1)])
        ),
        vec![false, false, true, true],
        "kubesim case: pods spread across zones as 2/0, only zone2 fits"
    );
    // "pods spread across zones as 3/3, all nodes fit"
    assert_eq!(
        fits(
            &zone1,
            zone_nodes(),
            foo_pods(&[("node-a", 1), ("node-b", 2), ("node-x", 1), ("node-y", 2)])
        ),
        vec![true; 4],
        "pods spread across zones as 3/3, all nodes fit"
    );
    // "pods spread across nodes as 2/1/0/3, only node-x fits"
    let host = spread(the_pod(), &[(1, LABEL_HOSTNAME, foo(), HARD)]);
    assert_eq!(
        fits(
            &host,
            zone_nodes(),
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)])
        ),
        vec![false, false, true, false],
        "pods spread across nodes as 2/1/0/3, only node-x fits"
    );
    // "pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit"
    let host2 = spread(the_pod(), &[(2, LABEL_HOSTNAME, foo(), HARD)]);
    assert_eq!(
        fits(
            &host2,
            zone_nodes(),
            foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)])
        ),
        vec![false, true, true, false],
        "pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit"
    );
    // "incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits":
    // node-b and node-x are excluded by the pod's own node affinity.
    let mut missing = zone_nodes();
    missing[1].meta.labels.remove("zone");
    let r = fits(&zone1, missing, vec![]);
    assert!(
        !r[1],
        "a node without the topology key is unschedulable (missing required label)"
    );
    // test/integration/scheduler/filters TestPodTopologySpreadFilter: minDomains 4 over 3
    // domains makes the global minimum 0.
    let mut md = spread(the_pod(), &[(2, LABEL_HOSTNAME, foo(), HARD)]);
    md.spec.topology_spread_constraints[0].min_domains = Some(4);
    assert_eq!(
        fits(&md, vec![h("node-1"), h("node-2"), h("node-3")], foo_pods(&[("node-1", 2), ("node-2", 2), ("node-3", 1)])),
        vec![false, false, true],
        "pods spread across nodes as 2/2/1, maxSkew is 2, and the number of domains < minDomains, then the third node fits"
    );
}

mod policies;
