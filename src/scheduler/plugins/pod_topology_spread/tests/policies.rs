//! PodTopologySpread's ported upstream tests for the node inclusion policies
//! (`nodeAffinityPolicy` / `nodeTaintsPolicy`), `matchLabelKeys`, default constraints through
//! `helper.DefaultSelector`, and `preFilterState.updateWithPod` (filtering_test.go
//! TestPreFilterState / TestPreFilterStateAddPod, scoring_test.go, helper/spread_test.go).

use super::*;

// ---- Builders for the node-inclusion / matchLabelKeys / default-selector ports ----

/// `SpreadConstraint(skew, key, when, selector, minDomains=nil, nodeAffinityPolicy=nil,
/// nodeTaintsPolicy=nil, matchLabelKeys=nil)` as upstream's `st` wrapper builds it.
fn tsc(
    skew: i32,
    key: &str,
    when: WhenUnsatisfiable,
    sel: Option<LabelSelector>,
) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.to_string(),
        when_unsatisfiable: when,
        label_selector: sel,
        min_domains: None,
        node_affinity_honor: true,
        node_taints_honor: false,
        match_label_keys: vec![],
    }
}
fn ignore_affinity(mut c: TopologySpreadConstraint) -> TopologySpreadConstraint {
    c.node_affinity_honor = false;
    c
}
fn honor_taints(mut c: TopologySpreadConstraint) -> TopologySpreadConstraint {
    c.node_taints_honor = true;
    c
}
fn match_keys(mut c: TopologySpreadConstraint, keys: &[&str]) -> TopologySpreadConstraint {
    c.match_label_keys = keys.iter().map(|k| k.to_string()).collect();
    c
}
fn with(mut p: Pod, cs: Vec<TopologySpreadConstraint>) -> Pod {
    p.spec.topology_spread_constraints = cs;
    p
}
fn node_selector(mut p: Pod, k: &str, v: &str) -> Pod {
    p.spec.node_selector.insert(k.into(), v.into());
    p
}
/// `NodeAffinityIn(key, values, NodeSelectorTypeMatchExpressions)`.
fn node_affinity_in(mut p: Pod, key: &str, values: &[&str]) -> Pod {
    use crate::model::{
        Affinity, NodeAffinity, NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm,
    };
    p.spec.affinity = Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required: Some(vec![NodeSelectorTerm {
                match_expressions: vec![NodeSelectorRequirement {
                    key: key.into(),
                    operator: NodeSelectorOperator::In,
                    values: values.iter().map(|v| v.to_string()).collect(),
                }],
                match_fields: vec![],
            }]),
            preferred: vec![],
        }),
        ..Affinity::default()
    });
    p
}
/// filtering_test.go's `taints`: `node.kubernetes.io/unschedulable:NoSchedule`.
fn unschedulable_taint(mut n: Node) -> Node {
    n.spec.taints.push(crate::model::Taint {
        key: "node.kubernetes.io/unschedulable".into(),
        value: String::new(),
        effect: TaintEffect::NoSchedule,
        time_added: None,
    });
    n
}
/// `Toleration(v1.TaintNodeUnschedulable)`: Exists, effect NoSchedule.
fn tolerate_unschedulable(mut p: Pod) -> Pod {
    p.spec.tolerations.push(crate::model::Toleration {
        key: "node.kubernetes.io/unschedulable".into(),
        operator: crate::model::TolerationOperator::Exists,
        value: String::new(),
        effect: Some(TaintEffect::NoSchedule),
        toleration_seconds: None,
    });
    p
}
fn named(name: &str, node_: &str, kv: &[(&str, &str)]) -> Pod {
    on(labels(pod(name, &[]), kv), node_)
}
fn counts(kv: &[(&str, i64)]) -> BTreeMap<String, i64> {
    kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}
/// PreFilter state (TpValueToMatchNum per constraint, and each constraint's global
/// minimum, CriticalPaths[0].MatchNum) with `args`, over `nodes` and `existing`.
fn prefilter(
    p: &Pod,
    nodes: Vec<Node>,
    existing: Vec<Pod>,
    sources: SelectorSources,
    args: &SpreadArgs,
) -> Option<FilterState> {
    let mut snap = OwnedSnapshot::new(nodes, existing);
    snap.spread_selectors = sources;
    let v = snap.view();
    pre_filter(p, &v, args)
}
fn list_args(defaults: Vec<TopologySpreadConstraint>) -> SpreadArgs {
    SpreadArgs {
        default_constraints: defaults,
        system_defaulted: false,
    }
}
fn nz(name: &str, zone: &str) -> Node {
    n(name, &[("zone", zone), ("node", name)])
}
fn abxy() -> Vec<Node> {
    vec![
        nz("node-a", "zone1"),
        nz("node-b", "zone1"),
        nz("node-x", "zone2"),
        nz("node-y", "zone2"),
    ]
}
/// The node / existing-pod layout the NodeAffinityPolicy and NodeTaintsPolicy cases share.
fn abc_bar_pods(p_a: &str, extra_b: &str, p_c: &str) -> Vec<Pod> {
    vec![
        named(p_a, "node-a", &[("bar", "")]),
        named("p-b", "node-b", &[("bar", "")]),
        named(extra_b, "node-b", &[("bar", "")]),
        named(p_c, "node-c", &[]),
    ]
}

/// filtering_test.go TestPreFilterState: the NodeInclusionPolicy cases (gate on, the
/// default since v1.26) — which nodes' domains are counted.
#[test]
fn pre_filter_state_node_inclusion_policy_upstream_cases() {
    let st = |p: &Pod, nodes: Vec<Node>, existing: Vec<Pod>| {
        let s = prefilter(
            p,
            nodes,
            existing,
            SelectorSources::default(),
            &SpreadArgs::default(),
        )
        .expect("hard constraints");
        (s.counts, s.min_match)
    };
    let foo_node_sel = node_selector(the_pod(), "foo", "");
    let abc_foo = || {
        vec![
            n("node-a", &[("node", "node-a"), ("foo", "")]),
            n("node-b", &[("node", "node-b"), ("foo", "")]),
            n("node-c", &[("node", "node-c"), ("bar", "")]),
        ]
    };
    let pods = || abc_bar_pods("p-a", "p-c", "p-d");
    assert_eq!(
        st(
            &with(foo_node_sel.clone(), vec![tsc(1, "node", HARD, bar())]),
            abc_foo(),
            pods()
        ),
        (vec![counts(&[("node-a", 1), ("node-b", 2)])], vec![1]),
        "NodeAffinityPolicy honored with labelSelectors"
    );
    assert_eq!(
        st(
            &with(
                foo_node_sel,
                vec![ignore_affinity(tsc(1, "node", HARD, bar()))]
            ),
            abc_foo(),
            pods()
        ),
        (
            vec![counts(&[("node-a", 1), ("node-b", 2), ("node-c", 0)])],
            vec![0]
        ),
        "NodeAffinityPolicy ignored with labelSelectors"
    );
    let foo_aff = node_affinity_in(the_pod(), "foo", &[""]);
    assert_eq!(
        st(
            &with(foo_aff.clone(), vec![tsc(1, "node", HARD, bar())]),
            abc_foo(),
            abc_bar_pods("p-a", "p-d", "p-e")
        ),
        (vec![counts(&[("node-a", 1), ("node-b", 2)])], vec![1]),
        "NodeAffinityPolicy honored with nodeAffinity"
    );
    assert_eq!(
        st(
            &with(foo_aff, vec![ignore_affinity(tsc(1, "node", HARD, bar()))]),
            abc_foo(),
            pods()
        ),
        (
            vec![counts(&[("node-a", 1), ("node-b", 2), ("node-c", 0)])],
            vec![0]
        ),
        "NodeAffinityPolicy ignored with nodeAffinity"
    );
    let abc_tainted = || {
        vec![
            n("node-a", &[("node", "node-a")]),
            n("node-b", &[("node", "node-b")]),
            unschedulable_taint(n("node-c", &[("node", "node-c"), ("bar", "")])),
        ]
    };
    assert_eq!(
        st(
            &with(the_pod(), vec![tsc(1, "node", HARD, bar())]),
            abc_tainted(),
            pods()
        ),
        (
            vec![counts(&[("node-a", 1), ("node-b", 2), ("node-c", 0)])],
            vec![0]
        ),
        "NodeTaintsPolicy ignored"
    );
    assert_eq!(
        st(
            &with(the_pod(), vec![honor_taints(tsc(1, "node", HARD, bar()))]),
            abc_tainted(),
            pods()
        ),
        (vec![counts(&[("node-a", 1), ("node-b", 2)])], vec![1]),
        "NodeTaintsPolicy honored"
    );
    assert_eq!(
        st(
            &with(
                tolerate_unschedulable(the_pod()),
                vec![honor_taints(tsc(1, "node", HARD, bar()))]
            ),
            abc_tainted(),
            pods()
        ),
        (
            vec![counts(&[("node-a", 1), ("node-b", 2), ("node-c", 0)])],
            vec![0]
        ),
        "NodeTaintsPolicy honored with tolerated taints"
    );
    let foo_pods_on = |spec: &[(&str, &str)]| -> Vec<Pod> {
        spec.iter()
            .map(|(name, nd)| named(name, nd, &[("foo", "")]))
            .collect()
    };
    assert_eq!(
        st(
            &with(
                node_selector(the_pod(), "foo", ""),
                vec![
                    tsc(1, "zone", HARD, foo()),
                    ignore_affinity(tsc(1, "node", HARD, foo()))
                ]
            ),
            vec![
                n(
                    "node-a",
                    &[("zone", "zone1"), ("node", "node-a"), ("foo", "")]
                ),
                n("node-b", &[("zone", "zone1"), ("node", "node-b")]),
                n(
                    "node-x",
                    &[("zone", "zone2"), ("node", "node-x"), ("foo", "")]
                ),
            ],
            foo_pods_on(&[("p-b1", "node-b"), ("p-b2", "node-b"), ("p-x1", "node-x")])
        ),
        (
            vec![
                counts(&[("zone1", 0), ("zone2", 1)]),
                counts(&[("node-a", 0), ("node-b", 2), ("node-x", 1)])
            ],
            vec![0, 0]
        ),
        "two node inclusion Constraints, zone: honor/ignore, node: ignore/ignore"
    );
    assert_eq!(
        st(
            &with(
                the_pod(),
                vec![
                    honor_taints(tsc(1, "zone", HARD, foo())),
                    tsc(1, "node", HARD, foo())
                ]
            ),
            vec![
                n(
                    "node-a",
                    &[("zone", "zone1"), ("node", "node-a"), ("foo", "")]
                ),
                unschedulable_taint(n("node-b", &[("zone", "zone1"), ("node", "node-b")])),
                n(
                    "node-x",
                    &[("zone", "zone2"), ("node", "node-x"), ("foo", "")]
                ),
            ],
            foo_pods_on(&[("p-b1", "node-b"), ("p-b2", "node-b"), ("p-x1", "node-x")])
        ),
        (
            vec![
                counts(&[("zone1", 0), ("zone2", 1)]),
                counts(&[("node-a", 0), ("node-b", 2), ("node-x", 1)])
            ],
            vec![0, 0]
        ),
        "two node inclusion Constraints, zone: honor/honor, node: honor/ignore"
    );
    let four = || {
        vec![
            n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
            unschedulable_taint(n(
                "node-b",
                &[("zone", "zone1"), ("node", "node-b"), ("foo", "")],
            )),
            n(
                "node-x",
                &[("zone", "zone2"), ("node", "node-x"), ("foo", "")],
            ),
            n("node-y", &[("zone", "zone2"), ("node", "node-y")]),
        ]
    };
    assert_eq!(
        st(
            &with(
                node_selector(the_pod(), "foo", ""),
                vec![tsc(1, "zone", HARD, foo()), tsc(1, "node", HARD, foo())]
            ),
            four(),
            foo_pods_on(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-x1", "node-x"),
                ("p-y1", "node-y")
            ])
        ),
        (
            vec![
                counts(&[("zone1", 0), ("zone2", 1)]),
                counts(&[("node-b", 0), ("node-x", 1)])
            ],
            vec![0, 0]
        ),
        "two node inclusion Constraints, zone: honor/ignore, node: honor/ignore"
    );
    let mut four_foo_y = four();
    four_foo_y[3]
        .meta
        .labels
        .insert("foo".into(), String::new());
    assert_eq!(
        st(
            &with(
                node_selector(the_pod(), "foo", ""),
                vec![
                    ignore_affinity(tsc(1, "zone", HARD, foo())),
                    honor_taints(tsc(1, "node", HARD, foo()))
                ]
            ),
            four_foo_y,
            foo_pods_on(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-x1", "node-x"),
                ("p-x2", "node-x"),
                ("p-y1", "node-y")
            ])
        ),
        (
            vec![
                counts(&[("zone1", 2), ("zone2", 3)]),
                counts(&[("node-x", 2), ("node-y", 1)])
            ],
            vec![2, 1]
        ),
        "two node inclusion Constraints, zone: ignore/ignore, node: honor/honor"
    );
}

/// filtering_test.go TestPreFilterState: the matchLabelKeys cases (gate on, the default
/// since v1.27).
#[test]
fn pre_filter_state_match_label_keys_upstream_cases() {
    let st = |p: &Pod, existing: Vec<Pod>| {
        let s = prefilter(
            p,
            abxy(),
            existing,
            SelectorSources::default(),
            &SpreadArgs::default(),
        )
        .expect("hard constraints");
        (s.counts, s.min_match)
    };
    let foo_a = |spec: &[(&str, &str)]| -> Vec<Pod> {
        spec.iter()
            .map(|(name, nd)| named(name, nd, &[("foo", "a")]))
            .collect()
    };
    let five = || {
        foo_a(&[
            ("p-a1", "node-a"),
            ("p-a2", "node-a"),
            ("p-b1", "node-b"),
            ("p-y1", "node-y"),
            ("p-y2", "node-y"),
        ])
    };
    assert_eq!(
        st(
            &with(
                labels(pod("p", &[]), &[("foo", ""), ("bar", "a")]),
                vec![match_keys(tsc(1, "zone", HARD, foo()), &["bar"])]
            ),
            vec![
                named("p-a1", "node-a", &[("foo", "")]),
                named("p-a2", "node-a", &[("foo", ""), ("bar", "a")]),
                named("p-b1", "node-b", &[("foo", "")]),
                named("p-y1", "node-y", &[("foo", ""), ("bar", "a")]),
                named("p-y2", "node-y", &[("bar", "")]),
            ]
        ),
        (vec![counts(&[("zone1", 1), ("zone2", 1)])], vec![1]),
        "matchLabelKeys ANDed with LabelSelector when LabelSelector isn't empty"
    );
    assert_eq!(
        st(
            &with(
                labels(pod("p", &[]), &[("foo", "a")]),
                vec![match_keys(
                    tsc(1, "zone", HARD, Some(LabelSelector::default())),
                    &["foo"]
                )]
            ),
            five()
        ),
        (vec![counts(&[("zone1", 3), ("zone2", 2)])], vec![2]),
        "matchLabelKeys ANDed with LabelSelector when LabelSelector is empty"
    );
    assert_eq!(
        st(
            &with(
                the_pod(),
                vec![match_keys(tsc(1, "zone", HARD, None), &["bar"])]
            ),
            five()
        ),
        (vec![counts(&[("zone1", 0), ("zone2", 0)])], vec![0]),
        "key in matchLabelKeys is ignored when LabelSelector is nil when feature gate enabled"
    );
    assert_eq!(
        st(
            &with(
                the_pod(),
                vec![match_keys(tsc(1, "zone", HARD, foo()), &["bar"])]
            ),
            five()
        ),
        (vec![counts(&[("zone1", 3), ("zone2", 2)])], vec![2]),
        "key in matchLabelKeys is ignored when it isn't exist in pod.labels"
    );
}

/// filtering_test.go TestPreFilterState (List defaulting with Services, through
/// `helper.DefaultSelector`).
#[test]
fn pre_filter_state_default_constraints_upstream_cases() {
    let defaults = list_args(vec![
        tsc(3, "node", HARD, None),
        tsc(2, "node", ANY, None),
        tsc(5, "rack", HARD, None),
    ]);
    let p = labels(pod("p", &[]), &[("foo", "bar"), ("baz", "kar")]);
    let st = prefilter(
        &p,
        vec![],
        vec![],
        service_selecting("default", &[("foo", "bar")]),
        &defaults,
    )
    .expect("default hard constraints apply");
    let got: Vec<(i64, &str, Option<LabelSelector>)> = st
        .constraints
        .iter()
        .map(|c| (c.max_skew, c.key.as_str(), c.selector.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "node", Some(selector(&[("foo", "bar")]))),
            (5, "rack", Some(selector(&[("foo", "bar")])))
        ],
        "default constraints and a service"
    );
    let p = labels(pod("p", &[]), &[("foo", "bar")]);
    assert!(
        prefilter(
            &p,
            vec![],
            vec![],
            service_selecting("default", &[("baz", "kep")]),
            &list_args(vec![tsc(3, "node", HARD, None)])
        )
        .is_none(),
        "default constraints and a service that doesn't match"
    );
    let own = with(
        labels(pod("p", &[]), &[("foo", "bar"), ("baz", "tar")]),
        vec![
            tsc(1, "zone", HARD, Some(selector(&[("baz", "tar")]))),
            tsc(2, "planet", ANY, Some(selector(&[("fot", "rok")]))),
        ],
    );
    let st = prefilter(
        &own,
        vec![],
        vec![],
        service_selecting("default", &[("foo", "bar")]),
        &list_args(vec![tsc(2, "node", HARD, None)]),
    )
    .expect("the pod's own hard constraint");
    assert_eq!(
        st.constraints
            .iter()
            .map(|c| (c.max_skew, c.key.clone(), c.selector.clone()))
            .collect::<Vec<_>>(),
        vec![(1, "zone".to_string(), Some(selector(&[("baz", "tar")])))],
        "default constraints and a service, but pod has constraints"
    );
    assert!(
        prefilter(
            &p,
            vec![],
            vec![],
            service_selecting("default", &[("foo", "bar")]),
            &list_args(vec![tsc(2, "node", ANY, None)])
        )
        .is_none(),
        "default soft constraints and a service"
    );
}

fn owned_by(mut p: Pod, kind: &str, name: &str) -> Pod {
    p.meta.owner_references.push(crate::model::OwnerRef {
        kind: kind.into(),
        name: name.into(),
        controller: true,
    });
    p
}
fn pre_score_state(
    p: &Pod,
    nodes: Vec<Node>,
    sources: SelectorSources,
    args: &SpreadArgs,
) -> Option<ScoreState> {
    let k = nodes.len();
    let mut snap = OwnedSnapshot::new(nodes, vec![]);
    snap.spread_selectors = sources;
    let v = snap.view();
    let scored: Vec<&NodeInfo> = (0..k).map(|i| v.get(i)).collect();
    pre_score(p, &v, &scored, None, args)
}

/// scoring_test.go TestPreScoreStateEmptyNodes: default constraints whose selector comes
/// from the pod's ReplicaSet (controller ownerReference), not from its own labels.
#[test]
fn pre_score_state_default_selector_upstream_cases() {
    let mut rs = SelectorSources::default();
    rs.set_controller("ReplicaSet", "default", "rs1", &exists_selector("foo"));
    let p = owned_by(
        labels(pod("p", &[]), &[("foo", "tar"), ("baz", "sup")]),
        "ReplicaSet",
        "rs1",
    );
    let st = pre_score_state(
        &p,
        vec![
            n(
                "node-a",
                &[(LABEL_HOSTNAME, "node-a"), (LABEL_ZONE, "mars")],
            ),
            n(
                "node-b",
                &[(LABEL_HOSTNAME, "node-b"), (LABEL_ZONE, "mars")],
            ),
            n("node-c", &[(LABEL_HOSTNAME, "node-c")]),
            n("node-d", &[(LABEL_HOSTNAME, "node-d")]),
        ],
        rs.clone(),
        &SpreadArgs::default(),
    )
    .expect("system defaults apply");
    assert_eq!(
        st.constraints
            .iter()
            .map(|c| (c.max_skew, c.key.as_str(), c.selector.clone()))
            .collect::<Vec<_>>(),
        vec![(3, LABEL_HOSTNAME, foo()), (5, LABEL_ZONE, foo())],
        "system default constraints and a replicaset"
    );
    assert_eq!(
        st.counts,
        vec![counts(&[]), counts(&[("", 0), ("mars", 0)])]
    );
    assert_eq!(st.weights, vec![libm::log(6.0), libm::log(4.0)]);
    let list = list_args(vec![
        tsc(1, LABEL_HOSTNAME, ANY, None),
        tsc(2, "rack", HARD, None),
        tsc(2, "planet", ANY, None),
    ]);
    let st = pre_score_state(
        &p,
        vec![n(
            "node-a",
            &[
                ("rack", "rack1"),
                (LABEL_HOSTNAME, "node-a"),
                ("planet", "mars"),
            ],
        )],
        rs.clone(),
        &list,
    )
    .expect("listed defaults apply");
    assert_eq!(
        st.constraints
            .iter()
            .map(|c| (c.max_skew, c.key.as_str(), c.selector.clone()))
            .collect::<Vec<_>>(),
        vec![(1, LABEL_HOSTNAME, foo()), (2, "planet", foo())],
        "default constraints and a replicaset"
    );
    assert_eq!(st.counts, vec![counts(&[]), counts(&[("mars", 0)])]);
    assert_eq!(st.weights, vec![libm::log(3.0), libm::log(3.0)]);
    // kubesim case: the same pod without the ownerReference gets no default
    // constraints, although the ReplicaSet's selector matches its labels —
    // DefaultSelector follows the controller reference, not label matches.
    let orphan = labels(pod("p", &[]), &[("foo", "tar"), ("baz", "sup")]);
    assert!(pre_score_state(&orphan, vec![h("node-a")], rs, &SpreadArgs::default()).is_none());
}

/// helper/spread_test.go TestGetPodServices, through `default_selector`: a pod is selected
/// by the Services of its namespace whose selector matches it.
#[test]
fn get_pod_services_upstream_cases() {
    let mut src = SelectorSources::default();
    for i in 0..3 {
        let sel: BTreeMap<String, String> = [("app".to_string(), format!("test-{i}"))]
            .into_iter()
            .collect();
        src.set_service("test", &format!("service-{i}"), Some(&sel));
    }
    let snap_nodes: Vec<Node> = vec![];
    let mut snap = OwnedSnapshot::new(snap_nodes, vec![]);
    snap.spread_selectors = src;
    let v = snap.view();
    for i in 0..5 {
        let mut p = pod(&format!("test-pod-{i}"), &[]);
        p.meta.namespace = "test".into();
        p = labels(
            p,
            &[
                ("app", &format!("test-{i}")),
                ("label", &format!("label-{i}")),
            ],
        );
        let want = (i < 3).then(|| selector(&[("app", &format!("test-{i}"))]));
        assert_eq!(default_selector(&p, &v), want, "GetPodServices for pod-{i}");
    }
}

/// kubesim: the memoised default constraints of a ReplicaSet's pods follow every input —
/// the ReplicaSet's selector, the Services, the pod's labels, the action and the profile's
/// defaults — and equal what building them afresh gives.
#[test]
fn default_constraints_memo_follows_its_inputs() {
    let mut snap = OwnedSnapshot::new(vec![h("node-a")], vec![]);
    let rs = |s: &mut SelectorSources, key: &str| {
        s.set_controller("ReplicaSet", "default", "rs1", &exists_selector(key))
    };
    rs(&mut snap.spread_selectors, "foo");
    let p = owned_by(
        labels(pod("p", &[]), &[("foo", "tar")]),
        "ReplicaSet",
        "rs1",
    );
    let q = owned_by(labels(pod("q", &[]), &[("foo", "x")]), "ReplicaSet", "rs1");
    let args = SpreadArgs::default();
    let sels = |snap: &OwnedSnapshot, p: &Pod, args: &SpreadArgs, action| {
        let cs = constraints(p, &snap.view(), args, action);
        cs.iter().map(|c| c.selector.clone()).collect::<Vec<_>>()
    };
    assert_eq!(sels(&snap, &p, &args, ANY), vec![foo(), foo()]);
    assert_eq!(sels(&snap, &p, &args, ANY), vec![foo(), foo()], "memoised");
    assert!(sels(&snap, &p, &args, HARD).is_empty());
    rs(&mut snap.spread_selectors, "bar");
    assert_eq!(
        sels(&snap, &p, &args, ANY),
        vec![bar(), bar()],
        "selector changed"
    );
    let tar: BTreeMap<String, String> = [("foo".to_string(), "tar".to_string())].into();
    snap.spread_selectors
        .set_service("default", "svc", Some(&tar));
    let mut both = exists_selector("bar");
    both.match_labels = tar.clone();
    assert_eq!(sels(&snap, &p, &args, ANY), vec![Some(both.clone()); 2]);
    assert_eq!(
        sels(&snap, &q, &args, ANY),
        vec![bar(), bar()],
        "other labels"
    );
    assert_eq!(default_selector(&p, &snap.view()), Some(both.clone()));
    assert!(has_default_selector(&q, &snap.view()));
    let list = list_args(vec![tsc(1, LABEL_HOSTNAME, ANY, None)]);
    assert_eq!(
        sels(&snap, &p, &list, ANY),
        vec![Some(both)],
        "other defaults"
    );
    snap.spread_selectors.remove_service("default", "svc");
    assert_eq!(
        sels(&snap, &p, &args, ANY),
        vec![bar(), bar()],
        "service gone"
    );
    snap.spread_selectors
        .remove_controller("ReplicaSet", "default", "rs1");
    assert!(sels(&snap, &p, &args, ANY).is_empty(), "replicaset gone");
    assert!(!has_default_selector(&p, &snap.view()));
}

/// scoring_test.go TestPodTopologySpreadScore: NodeInclusionPolicy and matchLabelKeys
/// cases.
#[test]
fn pod_topology_spread_score_node_inclusion_and_match_label_keys_upstream_cases() {
    let abc = |taint_c: bool| {
        let c = n("node-c", &[("node", "node-c")]);
        vec![
            n("node-a", &[("node", "node-a"), ("foo", "")]),
            n("node-b", &[("node", "node-b"), ("foo", "")]),
            if taint_c { unschedulable_taint(c) } else { c },
        ]
    };
    let pods = || foo_pods(&[("node-a", 2), ("node-b", 1), ("node-c", 1)]);
    let sel = node_selector(the_pod(), "foo", "");
    let aff = node_affinity_in(the_pod(), "foo", &[""]);
    let none = SelectorSources::default;
    assert_eq!(
        scores(
            &with(sel.clone(), vec![tsc(1, "node", ANY, foo())]),
            abc(false),
            vec![],
            pods(),
            none()
        ),
        vec![0, 33, 100],
        "NodeAffinityPolicy honoed with labelSelectors"
    );
    assert_eq!(
        scores(
            &with(sel, vec![ignore_affinity(tsc(1, "node", ANY, foo()))]),
            abc(false),
            vec![],
            pods(),
            none()
        ),
        vec![66, 100, 100],
        "NodeAffinityPolicy ignored with labelSelectors"
    );
    assert_eq!(
        scores(
            &with(aff.clone(), vec![tsc(1, "node", ANY, foo())]),
            abc(false),
            vec![],
            pods(),
            none()
        ),
        vec![0, 33, 100],
        "NodeAffinityPolicy honoed with nodeAffinity"
    );
    assert_eq!(
        scores(
            &with(aff, vec![ignore_affinity(tsc(1, "node", ANY, foo()))]),
            abc(false),
            vec![],
            pods(),
            none()
        ),
        vec![66, 100, 100],
        "NodeAffinityPolicy ignored with nodeAffinity"
    );
    assert_eq!(
        scores(
            &with(the_pod(), vec![honor_taints(tsc(1, "node", ANY, foo()))]),
            abc(true),
            vec![],
            pods(),
            none()
        ),
        vec![0, 33, 100],
        "NodeTaintsPolicy honored"
    );
    assert_eq!(
        scores(
            &with(the_pod(), vec![tsc(1, "node", ANY, foo())]),
            abc(true),
            vec![],
            pods(),
            none()
        ),
        vec![66, 100, 100],
        "NodeTaintsPolicy ignored"
    );
    let abcd = || {
        vec![
            hz("node-a", "zone1"),
            hz("node-b", "zone1"),
            hz("node-c", "zone2"),
            hz("node-d", "zone2"),
        ]
    };
    let existing = || {
        vec![
            named("p-a1", "node-a", &[("foo", "")]),
            named("p-b1", "node-b", &[("foo", ""), ("bar", "")]),
            named("p-y1", "node-c", &[("foo", "")]),
            named("p-y2", "node-c", &[("bar", "")]),
        ]
    };
    let empty = || Some(LabelSelector::default());
    assert_eq!(
        scores(
            &with(
                labels(pod("p", &[]), &[("foo", ""), ("bar", "")]),
                vec![
                    match_keys(tsc(1, "zone", ANY, empty()), &["foo"]),
                    match_keys(tsc(1, LABEL_HOSTNAME, ANY, empty()), &["bar"])
                ]
            ),
            abcd(),
            vec![],
            existing(),
            none()
        ),
        vec![60, 20, 60, 100],
        "matchLabelKeys ANDed with LabelSelector when LabelSelector is empty"
    );
    let mut existing2 = existing();
    existing2[1].meta.labels.insert("baz".into(), String::new());
    existing2[2].meta.name = "p-c1".into();
    existing2[3].meta.name = "p-c2".into();
    existing2.push(named("p-d3", "node-c", &[("bar", ""), ("baz", "")]));
    assert_eq!(
        scores(
            &with(
                labels(pod("p", &[]), &[("foo", ""), ("bar", ""), ("baz", "")]),
                vec![
                    tsc(1, "zone", ANY, foo()),
                    match_keys(tsc(1, LABEL_HOSTNAME, ANY, bar()), &["baz"])
                ]
            ),
            abcd(),
            vec![],
            existing2,
            none()
        ),
        vec![60, 20, 60, 100],
        "matchLabelKeys ANDed with LabelSelector when LabelSelector isn't empty"
    );
}

/// filtering_test.go TestPreFilterStateAddPod: PreFilter, then AddPod of `added` on node
/// `node_idx`; the counts and global minimum after.
fn after_add(
    preemptor: &Pod,
    added: Pod,
    existing: Vec<Pod>,
    node_idx: usize,
    nodes: Vec<Node>,
) -> (Vec<BTreeMap<String, i64>>, Vec<i64>) {
    let snap = OwnedSnapshot::new(nodes, existing);
    let v = snap.view();
    let mut st = pre_filter(preemptor, &v, &SpreadArgs::default()).expect("hard constraints");
    let mut ni = v.get(node_idx).clone();
    let added = std::sync::Arc::new(added);
    ni.add_pod(added.clone());
    st.update_with_pod(&added, preemptor, &ni, 1);
    (st.counts, st.min_match)
}

#[test]
fn pre_filter_state_add_pod_upstream_cases() {
    let preemptor = with(the_pod(), vec![tsc(1, "node", HARD, foo())]);
    let ab = || vec![nz("node-a", "zone1"), nz("node-b", "zone1")];
    assert_eq!(
        after_add(
            &preemptor,
            named("p-a1", "node-a", &[("foo", "")]),
            vec![],
            0,
            ab()
        ),
        (vec![counts(&[("node-a", 1), ("node-b", 0)])], vec![0]),
        "node a and b both impact current min match"
    );
    assert_eq!(
        after_add(
            &preemptor,
            named("p-a1", "node-a", &[("foo", "")]),
            vec![named("p-b1", "node-b", &[("foo", "")])],
            0,
            ab()
        ),
        (vec![counts(&[("node-a", 1), ("node-b", 1)])], vec![1]),
        "only node a impacts current min match"
    );
    let mut other_ns = named("p-a1", "node-a", &[("foo", "")]);
    other_ns.meta.namespace = "ns1".into();
    assert_eq!(
        after_add(
            &preemptor,
            other_ns,
            vec![named("p-b1", "node-b", &[("foo", "")])],
            0,
            ab()
        ),
        (vec![counts(&[("node-a", 0), ("node-b", 1)])], vec![0]),
        "add a pod in a different namespace doesn't change topologyKeyToMinPodsMap"
    );
}
