//! InterPodAffinity's ported upstream tests (filtering_test.go, scoring_test.go) and the check
//! that the kept index (`index.rs`) counts what upstream's walk counts on random clusters.

use super::super::testutil::*;
use super::*;
use crate::model::{
    Affinity, LabelSelector, Node, PodAffinity, SelectorOperator, SelectorRequirement,
};

fn sel(reqs: &[(&str, SelectorOperator, &[&str])]) -> Option<LabelSelector> {
    Some(LabelSelector {
        match_labels: Default::default(),
        match_expressions: reqs
            .iter()
            .map(|(k, op, vs)| SelectorRequirement {
                key: k.to_string(),
                operator: *op,
                values: vs.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
    })
}
fn term(s: Option<LabelSelector>, key: &str) -> PodAffinityTerm {
    PodAffinityTerm {
        label_selector: s,
        namespaces: vec![],
        namespace_selector: None,
        topology_key: key.into(),
    }
}
fn w(weight: i32, t: PodAffinityTerm) -> WeightedPodAffinityTerm {
    WeightedPodAffinityTerm { weight, term: t }
}
use SelectorOperator::*;
fn s1_in(key: &str) -> PodAffinityTerm {
    term(sel(&[("security", In, &["S1"])]), key)
}
fn s2_in(key: &str) -> PodAffinityTerm {
    term(sel(&[("security", In, &["S2"])]), key)
}
fn aff(pref: Vec<WeightedPodAffinityTerm>, req: Vec<PodAffinityTerm>) -> PodAffinity {
    PodAffinity {
        required: req,
        preferred: pref,
    }
}
fn stay_with_s1_in_region() -> Affinity {
    Affinity {
        pod_affinity: Some(aff(vec![w(5, s1_in("region"))], vec![])),
        ..Affinity::default()
    }
}
fn stay_with_s2_in_region() -> Affinity {
    Affinity {
        pod_affinity: Some(aff(vec![w(6, s2_in("region"))], vec![])),
        ..Affinity::default()
    }
}
fn affinity3() -> Affinity {
    Affinity {
        pod_affinity: Some(aff(
            vec![
                w(
                    8,
                    term(
                        sel(&[("security", NotIn, &["S1"]), ("security", In, &["S2"])]),
                        "region",
                    ),
                ),
                w(
                    2,
                    term(
                        sel(&[("security", Exists, &[]), ("wrongkey", DoesNotExist, &[])]),
                        "region",
                    ),
                ),
            ],
            vec![],
        )),
        ..Affinity::default()
    }
}
fn hard_affinity() -> Affinity {
    Affinity {
        pod_affinity: Some(aff(
            vec![],
            vec![
                term(sel(&[("security", In, &["S1", "value2"])]), "region"),
                term(
                    sel(&[("security", Exists, &[]), ("wrongkey", DoesNotExist, &[])]),
                    "region",
                ),
            ],
        )),
        ..Affinity::default()
    }
}
fn away_from(t: PodAffinityTerm) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(aff(vec![w(5, t)], vec![])),
        ..Affinity::default()
    }
}
fn stay_s1_region_away_s2_az() -> Affinity {
    Affinity {
        pod_affinity: Some(aff(vec![w(8, s1_in("region"))], vec![])),
        pod_anti_affinity: Some(aff(vec![w(5, s2_in("az"))], vec![])),
        ..Affinity::default()
    }
}
fn p(sec: Option<&str>, a: Option<Affinity>, node: Option<&str>) -> crate::model::Pod {
    let mut x = pod("p", &[]);
    if let Some(s) = sec {
        x = labels(x, &[("security", s)]);
    }
    x.spec.affinity = a;
    x.spec.node_name = node.map(|n| n.to_string());
    x
}
fn n(name: &str, kv: &[(&str, &str)]) -> Node {
    let mut nd = node(name, 0, 0, &[]);
    nd.meta.labels.clear();
    for (k, v) in kv {
        nd.meta.labels.insert(k.to_string(), v.to_string());
    }
    nd
}
const CHINA: &[(&str, &str)] = &[("region", "China")];
const INDIA: &[(&str, &str)] = &[("region", "India")];
const AZ1: &[(&str, &str)] = &[("az", "az1")];
const AZ2: &[(&str, &str)] = &[("az", "az2")];

fn scores(
    incoming: &crate::model::Pod,
    nodes: Vec<Node>,
    existing: Vec<crate::model::Pod>,
) -> Option<Vec<i64>> {
    let snap = OwnedSnapshot::new(nodes, existing);
    let v = snap.view();
    let st = pre_score(incoming, &v, &IpaArgs::default())?;
    let mut s: Vec<i64> = v.iter().map(|nd| score(&st, nd)).collect();
    normalize(&mut s);
    Some(s)
}

// scoring_test.go TestPreferredAffinity.
#[test]
fn preferred_affinity_upstream_table() {
    let three = || vec![n("node1", CHINA), n("node2", INDIA), n("node3", AZ1)];
    assert_eq!(
        scores(&p(Some("S1"), None, None), three(), vec![]),
        None,
        "all nodes are same priority as Affinity is nil"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(stay_with_s1_in_region()), None),
            three(),
            vec![p(Some("S1"), None, Some("node1")), p(Some("S2"), None, Some("node2")), p(Some("S1"), None, Some("node3"))]
        ),
        Some(vec![100, 0, 0]),
        "Affinity: pod that matches topology key & pods in nodes will get high score comparing to others"
    );
    assert_eq!(
        scores(
            &p(None, Some(stay_with_s1_in_region()), None),
            vec![n("node1", CHINA), n("node2", &[("region", "China"), ("az", "az1")]), n("node3", INDIA)],
            vec![p(Some("S1"), None, Some("node1"))]
        ),
        Some(vec![100, 100, 0]),
        "All the nodes that have the same topology key & label value with one of them has an existing pod that match the affinity rules, have the same score"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(stay_with_s2_in_region()), None),
            vec![n("node1", CHINA), n("node2", INDIA), n("node3", CHINA), n("node4", CHINA), n("node5", INDIA)],
            ["node1", "node1", "node2", "node3", "node4", "node5"].iter().map(|x| p(Some("S2"), None, Some(x))).collect()
        ),
        Some(vec![100, 0, 100, 100, 0]),
        "Affinity: nodes in one region has more matching pods comparing to other region, so the region which has more matches will get high score"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(affinity3()), None),
            three(),
            vec![p(Some("S1"), None, Some("node1")), p(Some("S2"), None, Some("node2")), p(Some("S1"), None, Some("node3"))]
        ),
        Some(vec![20, 100, 0]),
        "Affinity: different Label operators and values for pod affinity scheduling preference, including some match failures"
    );
    assert_eq!(
        scores(
            &p(Some("S2"), None, None),
            three(),
            vec![p(Some("S1"), Some(stay_with_s1_in_region()), Some("node1")), p(Some("S2"), Some(stay_with_s2_in_region()), Some("node2"))]
        ),
        Some(vec![0, 100, 0]),
        "Affinity symmetry: considered only the preferredDuringSchedulingIgnoredDuringExecution in pod affinity symmetry"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), None, None),
            three(),
            vec![p(Some("S1"), Some(hard_affinity()), Some("node1")), p(Some("S2"), Some(hard_affinity()), Some("node2"))]
        ),
        Some(vec![100, 100, 0]),
        "Affinity symmetry: considered RequiredDuringSchedulingIgnoredDuringExecution in pod affinity symmetry"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(away_from(s1_in("az"))), None),
            vec![n("node1", AZ1), n("node2", CHINA)],
            vec![
                p(Some("S1"), None, Some("node1")),
                p(Some("S2"), None, Some("node2"))
            ]
        ),
        Some(vec![0, 100]),
        "Anti Affinity: pod that does not match existing pods in node will get high score"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(away_from(s1_in("az"))), None),
            vec![n("node1", AZ1), n("node2", CHINA)],
            vec![p(Some("S1"), None, Some("node1")), p(Some("S1"), None, Some("node2"))]
        ),
        Some(vec![0, 100]),
        "Anti Affinity: pod that does not match topology key & match the pods in nodes will get higher score comparing to others"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(away_from(s1_in("az"))), None),
            vec![n("node1", AZ1), n("node2", INDIA)],
            vec![p(Some("S1"), None, Some("node1")), p(Some("S1"), None, Some("node1")), p(Some("S2"), None, Some("node2"))]
        ),
        Some(vec![0, 100]),
        "Anti Affinity: one node has more matching pods comparing to other node, so the node which has more unmatches will get high score"
    );
    assert_eq!(
        scores(
            &p(Some("S2"), None, None),
            vec![n("node1", AZ1), n("node2", AZ2)],
            vec![p(Some("S1"), Some(away_from(s2_in("az"))), Some("node1")), p(Some("S2"), Some(away_from(s1_in("az"))), Some("node2"))]
        ),
        Some(vec![0, 100]),
        "Anti Affinity symmetry: the existing pods in node which has anti affinity match will get high score"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(stay_s1_region_away_s2_az()), None),
            vec![n("node1", CHINA), n("node2", AZ1)],
            vec![p(Some("S1"), None, Some("node1")), p(Some("S1"), None, Some("node2"))]
        ),
        Some(vec![100, 0]),
        "Affinity and Anti Affinity: considered only preferredDuringSchedulingIgnoredDuringExecution in both pod affinity & anti affinity"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(stay_s1_region_away_s2_az()), None),
            vec![n("node1", &[("region", "China"), ("az", "az1")]), n("node2", INDIA), n("node3", CHINA), n("node4", CHINA), n("node5", INDIA)],
            ["node1", "node1", "node2", "node3", "node3", "node4", "node5"].iter().map(|x| p(Some("S1"), None, Some(x))).collect()
        ),
        Some(vec![100, 0, 100, 100, 0]),
        "Affinity and Anti Affinity: considering both affinity and anti-affinity, the pod to schedule and existing pods have the same labels"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), Some(stay_s1_region_away_s2_az()), None),
            vec![n("node1", CHINA), n("node2", AZ1), n("node3", INDIA), n("node4", AZ2)],
            vec![
                p(Some("S1"), None, Some("node1")),
                p(Some("S2"), None, Some("node2")),
                p(None, Some(stay_s1_region_away_s2_az()), Some("node3")),
                p(None, Some(away_from(s1_in("az"))), Some("node4")),
            ]
        ),
        Some(vec![100, 0, 100, 0]),
        "Affinity and Anti Affinity and symmetry: considered only preferredDuringSchedulingIgnoredDuringExecution in both pod affinity & anti affinity & symmetry"
    );
    assert_eq!(
        scores(
            &p(Some("S1"), None, None),
            vec![n("node1", CHINA), n("node2", CHINA)],
            vec![
                p(Some("S1"), None, Some("node1")),
                p(None, Some(stay_s1_region_away_s2_az()), Some("node2"))
            ]
        ),
        Some(vec![0, 0]),
        "Avoid panic when partial nodes in a topology don't have pods with affinity"
    );
}

fn fits(
    incoming: &crate::model::Pod,
    nodes: Vec<Node>,
    existing: Vec<crate::model::Pod>,
) -> Vec<bool> {
    let snap = OwnedSnapshot::new(nodes, existing);
    let v = snap.view();
    let st = pre_filter(incoming, &v);
    v.iter()
        .map(|nd| st.as_ref().is_none_or(|s| filter(s, nd).is_ok()))
        .collect()
}

// Reference scheduler §2.9 filter rules (required affinity, the first-pod exception,
// required anti-affinity and its symmetry).
#[test]
fn required_affinity_and_anti_affinity_filter() {
    let hard_s1_region = Affinity {
        pod_affinity: Some(aff(vec![], vec![s1_in("region")])),
        ..Affinity::default()
    };
    let nodes = || vec![n("node1", CHINA), n("node2", INDIA), n("node3", AZ1)];
    // Affinity: only the region holding an S1 pod; a node without the key never.
    assert_eq!(
        fits(
            &p(Some("S2"), Some(hard_s1_region.clone()), None),
            nodes(),
            vec![p(Some("S1"), None, Some("node1"))]
        ),
        vec![true, false, false]
    );
    // No S1 pod anywhere and the pod is not S1 itself: nowhere.
    assert_eq!(
        fits(
            &p(Some("S2"), Some(hard_s1_region.clone()), None),
            nodes(),
            vec![]
        ),
        vec![false, false, false]
    );
    // The first S1 pod with affinity to S1 may go anywhere that has the key.
    assert_eq!(
        fits(&p(Some("S1"), Some(hard_s1_region), None), nodes(), vec![]),
        vec![true, true, false]
    );
    // Anti-affinity: not into the region with an S1 pod.
    let anti = Affinity {
        pod_anti_affinity: Some(aff(vec![], vec![s1_in("region")])),
        ..Affinity::default()
    };
    assert_eq!(
        fits(
            &p(Some("S2"), Some(anti.clone()), None),
            nodes(),
            vec![p(Some("S1"), None, Some("node1"))]
        ),
        vec![false, true, true]
    );
    // Symmetry: an existing pod's anti-affinity keeps an S1 pod out of its region.
    assert_eq!(
        fits(
            &p(Some("S1"), None, None),
            nodes(),
            vec![p(Some("S2"), Some(anti), Some("node2"))]
        ),
        vec![true, false, true]
    );
}

/// The plugin as first ported (upstream's (key, value) count maps, rebuilt by walking every
/// pod), kept verbatim as the reference both implementations above are compared with.
mod original {
    use super::super::*;
    use crate::model::Pod;

    #[derive(Clone, Debug, Default)]
    pub struct FilterState {
        pub existing_anti: Counts,
        pub affinity: Counts,
        pub anti: Counts,
        req_affinity: Vec<PodAffinityTerm>,
        req_anti: Vec<PodAffinityTerm>,
        self_matches_all: bool,
    }

    pub fn pre_filter(pod: &Pod, snap: &Snapshot) -> Option<FilterState> {
        let req_affinity = required_affinity(pod).to_vec();
        let req_anti = required_anti(pod).to_vec();
        let any_existing_anti = snap.totals.with_required_anti_affinity > 0;
        if req_affinity.is_empty() && req_anti.is_empty() && !any_existing_anti {
            return None;
        }
        let mut st = FilterState {
            self_matches_all: !req_affinity.is_empty()
                && req_affinity
                    .iter()
                    .all(|t| term_matches(t, &pod.meta.namespace, pod)),
            req_affinity,
            req_anti,
            ..FilterState::default()
        };
        let own_ns = &pod.meta.namespace;
        for node in snap.iter() {
            let labels = &node.node.meta.labels;
            if node.pods_with_required_anti_affinity > 0 {
                for e in &node.pods {
                    for t in required_anti(e) {
                        if term_matches(t, &e.meta.namespace, pod) {
                            if let Some(v) = labels.get(&t.topology_key) {
                                *st.existing_anti
                                    .entry((t.topology_key.clone(), v.clone()))
                                    .or_insert(0) += 1;
                            }
                        }
                    }
                }
            }
            if st.req_affinity.is_empty() && st.req_anti.is_empty() {
                continue;
            }
            for e in &node.pods {
                if !st.req_affinity.is_empty()
                    && st.req_affinity.iter().all(|t| term_matches(t, own_ns, e))
                {
                    for t in &st.req_affinity {
                        if let Some(v) = labels.get(&t.topology_key) {
                            *st.affinity
                                .entry((t.topology_key.clone(), v.clone()))
                                .or_insert(0) += 1;
                        }
                    }
                }
                for t in &st.req_anti {
                    if term_matches(t, own_ns, e) {
                        if let Some(v) = labels.get(&t.topology_key) {
                            *st.anti
                                .entry((t.topology_key.clone(), v.clone()))
                                .or_insert(0) += 1;
                        }
                    }
                }
            }
        }
        Some(st)
    }

    fn count(c: &Counts, key: &str, value: &str) -> i64 {
        c.get(&(key.to_string(), value.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn filter(st: &FilterState, node: &NodeInfo) -> Result<(), (Cow<'static, str>, bool)> {
        let labels = &node.node.meta.labels;
        let mut pods_exist = true;
        for t in &st.req_affinity {
            match labels.get(&t.topology_key) {
                Some(v) => {
                    if count(&st.affinity, &t.topology_key, v) <= 0 {
                        pods_exist = false;
                    }
                }
                None => return Err((REASON_AFFINITY.into(), true)),
            }
        }
        let first_of_group = st.affinity.is_empty() && st.self_matches_all;
        if !(pods_exist || first_of_group) {
            return Err((REASON_AFFINITY.into(), true));
        }
        for t in &st.req_anti {
            if let Some(v) = labels.get(&t.topology_key) {
                if count(&st.anti, &t.topology_key, v) > 0 {
                    return Err((REASON_ANTI_AFFINITY.into(), false));
                }
            }
        }
        if !st.existing_anti.is_empty() {
            for (k, v) in labels {
                if count(&st.existing_anti, k, v) > 0 {
                    return Err((REASON_EXISTING_ANTI_AFFINITY.into(), false));
                }
            }
        }
        Ok(())
    }

    pub type TopologyScore = BTreeMap<String, BTreeMap<String, i64>>;

    fn add(st: &mut TopologyScore, node: &NodeInfo, key: &str, w: i64) {
        if let Some(v) = node.node.meta.labels.get(key) {
            *st.entry(key.to_string())
                .or_default()
                .entry(v.clone())
                .or_insert(0) += w;
        }
    }

    pub fn pre_score(pod: &Pod, snap: &Snapshot, args: &IpaArgs) -> Option<TopologyScore> {
        let has_constraints =
            !preferred_affinity(pod).is_empty() || !preferred_anti(pod).is_empty();
        if args.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return None;
        }
        if !has_constraints && snap.totals.with_affinity == 0 {
            return None;
        }
        let mut st = TopologyScore::new();
        let own_ns = &pod.meta.namespace;
        for node in snap.iter() {
            if !has_constraints && node.pods_with_affinity == 0 {
                continue;
            }
            if node.node.meta.labels.is_empty() {
                continue;
            }
            for e in &node.pods {
                if !has_constraints && !super::super::super::has_pod_affinity(e) {
                    continue;
                }
                for wt in preferred_affinity(pod) {
                    if term_matches(&wt.term, own_ns, e) {
                        add(&mut st, node, &wt.term.topology_key, wt.weight as i64);
                    }
                }
                for wt in preferred_anti(pod) {
                    if term_matches(&wt.term, own_ns, e) {
                        add(&mut st, node, &wt.term.topology_key, -(wt.weight as i64));
                    }
                }
                if args.hard_pod_affinity_weight > 0 {
                    for t in required_affinity(e) {
                        if term_matches(t, &e.meta.namespace, pod) {
                            add(
                                &mut st,
                                node,
                                &t.topology_key,
                                args.hard_pod_affinity_weight,
                            );
                        }
                    }
                }
                for wt in preferred_affinity(e) {
                    if term_matches(&wt.term, &e.meta.namespace, pod) {
                        add(&mut st, node, &wt.term.topology_key, wt.weight as i64);
                    }
                }
                for wt in preferred_anti(e) {
                    if term_matches(&wt.term, &e.meta.namespace, pod) {
                        add(&mut st, node, &wt.term.topology_key, -(wt.weight as i64));
                    }
                }
            }
        }
        if st.is_empty() {
            None
        } else {
            Some(st)
        }
    }

    pub fn score(st: &TopologyScore, node: &NodeInfo) -> i64 {
        let labels = &node.node.meta.labels;
        st.iter()
            .filter_map(|(k, vals)| labels.get(k).and_then(|v| vals.get(v)))
            .sum()
    }
}

/// Random pods for the comparison: labels from a small alphabet, two namespaces, and
/// random required / preferred (anti-)affinity terms over hostname, zone, region and a key
/// no node has, with namespace lists and selectors.
fn random_pod(r: &mut rand_chacha::ChaCha8Rng, k: usize) -> crate::model::Pod {
    use crate::sim::rng::below;
    let pick = |r: &mut rand_chacha::ChaCha8Rng, xs: &[&str]| -> String {
        xs[below(r, xs.len() as u64) as usize].to_string()
    };
    let mut x = pod(&format!("p{k}"), &[]);
    if below(r, 4) == 0 {
        x.meta.namespace = "other".into();
    }
    for key in ["app", "tier"] {
        if below(r, 3) != 0 {
            let v = pick(r, &["a", "b", "c"]);
            x.meta.labels.insert(key.into(), v);
        }
    }
    let random_term = |r: &mut rand_chacha::ChaCha8Rng| -> PodAffinityTerm {
        let label_selector = match below(r, 5) {
            0 => None,
            1 => sel(&[("app", Exists, &[])]),
            2 => sel(&[("tier", NotIn, &["a"])]),
            _ => Some(LabelSelector {
                match_labels: [("app".to_string(), pick(r, &["a", "b", "c"]))]
                    .into_iter()
                    .collect(),
                match_expressions: vec![],
            }),
        };
        let (namespaces, namespace_selector) = match below(r, 6) {
            0 => (vec!["other".to_string()], None),
            1 => (vec![], Some(LabelSelector::default())),
            2 => (
                vec![],
                Some(LabelSelector {
                    match_labels: [(
                        "kubernetes.io/metadata.name".to_string(),
                        "default".to_string(),
                    )]
                    .into_iter()
                    .collect(),
                    match_expressions: vec![],
                }),
            ),
            _ => (vec![], None),
        };
        PodAffinityTerm {
            label_selector,
            namespaces,
            namespace_selector,
            topology_key: pick(r, &["host", "zone", "zone", "region", "nowhere"]),
        }
    };
    let terms = |r: &mut rand_chacha::ChaCha8Rng, max: u64| -> Vec<PodAffinityTerm> {
        let n = if below(r, 3) == 0 {
            below(r, max + 1)
        } else {
            0
        };
        (0..n).map(|_| random_term(r)).collect()
    };
    let req_aff = terms(r, 2);
    let req_anti = terms(r, 2);
    let weighted = |r: &mut rand_chacha::ChaCha8Rng| -> Vec<WeightedPodAffinityTerm> {
        terms(r, 2)
            .into_iter()
            .map(|t| w(1 + below(r, 100) as i32, t))
            .collect()
    };
    let pref_aff = weighted(r);
    let pref_anti = weighted(r);
    if !(req_aff.is_empty() && pref_aff.is_empty() && req_anti.is_empty() && pref_anti.is_empty()) {
        x.spec.affinity = Some(Affinity {
            pod_affinity: (!(req_aff.is_empty() && pref_aff.is_empty()) || below(r, 2) == 0)
                .then(|| aff(pref_aff, req_aff)),
            pod_anti_affinity: (!(req_anti.is_empty() && pref_anti.is_empty()) || below(r, 2) == 0)
                .then(|| aff(pref_anti, req_anti)),
            ..Affinity::default()
        });
    }
    x
}

fn random_node(r: &mut rand_chacha::ChaCha8Rng, i: usize) -> Node {
    use crate::sim::rng::below;
    let mut kv = vec![("host".to_string(), format!("h{i}"))];
    if below(r, 5) != 0 {
        kv.push(("zone".into(), format!("z{}", below(r, 3))));
    }
    if below(r, 3) != 0 {
        kv.push(("region".into(), format!("r{}", below(r, 2))));
    }
    if below(r, 10) == 0 {
        kv.clear();
    }
    let mut nd = n(&format!("node{i}"), &[]);
    nd.meta.labels = kv.into_iter().collect();
    nd
}

/// One random change to the test cluster, with the index updated as the scheduler updates
/// it: mostly adds, some removals, now and then a relabel (the index cleared).
fn change_cluster(
    r: &mut rand_chacha::ChaCha8Rng,
    snap: &mut OwnedSnapshot,
    idx: &mut super::index::IpaIndex,
    step: usize,
    next: &mut usize,
) {
    use crate::sim::rng::below;
    match below(r, 10) {
        0 | 1 => {
            let live: Vec<(usize, String)> = snap
                .slots
                .iter()
                .enumerate()
                .filter_map(|(s, n)| n.as_ref().map(|n| (s, n)))
                .flat_map(|(s, n)| n.pods.iter().map(move |p| (s, p.key())))
                .collect();
            if !live.is_empty() {
                let (s, key) = live[below(r, live.len() as u64) as usize].clone();
                let ni = snap.slots[s].as_mut().unwrap();
                let old = ni.remove_pod(&key).unwrap();
                idx.on_pod(&snap.slots, s, &old, -1);
            }
        }
        2 if step % 7 == 0 => {
            let s = below(r, snap.slots.len() as u64) as usize;
            let ni = snap.slots[s].as_mut().unwrap();
            let mut nd = (*ni.node).clone();
            nd.meta
                .labels
                .insert("zone".into(), format!("z{}", step % 3));
            ni.set_node(std::sync::Arc::new(nd));
            idx.clear();
        }
        _ => {
            let s = below(r, snap.slots.len() as u64) as usize;
            let ni = snap.slots[s].as_mut().unwrap();
            let mut p = random_pod(r, *next);
            *next += 1;
            p.spec.node_name = Some(ni.node.meta.name.clone());
            let p = std::sync::Arc::new(p);
            ni.add_pod(p.clone());
            idx.on_pod(&snap.slots, s, &p, 1);
        }
    }
}

// The index route equals upstream's walk, and both equal the plugin as first ported, on
// randomised clusters (fixed seeds): PreFilter's counts and whether it skips, every node's
// filter verdict and reason, PreScore's topology scores and whether it skips, and every
// node's raw and normalised score, under four InterPodAffinityArgs — while pods are added
// and removed (the index updated as the scheduler updates it) and node labels change (the
// index cleared and rebuilt).
#[test]
fn index_equals_walk_on_random_clusters() {
    use super::index::IpaIndex;
    use crate::sim::rng::{below, stream};
    let argss = [
        IpaArgs::default(),
        IpaArgs {
            hard_pod_affinity_weight: 0,
            ignore_preferred_terms_of_existing_pods: false,
        },
        IpaArgs {
            hard_pod_affinity_weight: 7,
            ignore_preferred_terms_of_existing_pods: true,
        },
        IpaArgs {
            hard_pod_affinity_weight: 3,
            ignore_preferred_terms_of_existing_pods: false,
        },
    ];
    let mut compared = [0usize; 4];
    for seed in 0..12u64 {
        let mut r = stream(seed, "ipa-index-test");
        let nodes: Vec<Node> = (0..3 + below(&mut r, 10) as usize)
            .map(|i| random_node(&mut r, i))
            .collect();
        let mut snap = OwnedSnapshot::new(nodes, vec![]);
        let mut idx = IpaIndex::default();
        let mut next = 0;
        for step in 0..120 {
            change_cluster(&mut r, &mut snap, &mut idx, step, &mut next);
            // Schedule-side view: a few incoming pods against the current cluster.
            for _ in 0..3 {
                let incoming = random_pod(&mut r, 10_000 + next);
                next += 1;
                idx.ensure(&incoming, &snap.slots);
                let plain = snap.view();
                let mut fast = snap.view();
                fast.ipa_index = Some(&idx);
                let ctx = format!("seed {seed} step {step} pod {incoming:?}");
                let (o, a, b) = (
                    original::pre_filter(&incoming, &plain),
                    pre_filter_walk(&incoming, &plain),
                    // The index route alone (no fallback to the walk).
                    filter_state_base(&incoming, &fast).map(|mut st| {
                        assert!(fill_from_index(&mut st, &incoming, &idx), "{ctx}");
                        st
                    }),
                );
                assert_eq!(
                    pre_filter(&incoming, &fast).map(|s| s.upstream_counts()),
                    pre_filter_walk(&incoming, &plain).map(|s| s.upstream_counts())
                );
                assert_eq!(o.is_some(), a.is_some(), "{ctx}");
                assert_eq!(o.is_some(), b.is_some(), "{ctx}");
                if let (Some(o), Some(a), Some(b)) = (o, a, b) {
                    let want = (o.existing_anti.clone(), o.affinity.clone(), o.anti.clone());
                    assert_eq!(a.upstream_counts(), want, "walk counts, {ctx}");
                    assert_eq!(b.upstream_counts(), want, "index counts, {ctx}");
                    for (slot, nd) in plain.iter().enumerate() {
                        let v = original::filter(&o, nd);
                        assert_eq!(filter(&a, nd), v, "walk verdict, {ctx}");
                        assert_eq!(filter(&b, nd), v, "index verdict, {ctx}");
                        assert_eq!(filter_at(&a, slot, nd), v, "walk by slot, {ctx}");
                        assert_eq!(filter_at(&b, slot, nd), v, "index by slot, {ctx}");
                        compared[usize::from(v.is_err())] += 1;
                    }
                }
                for args in &argss {
                    let (o, a, b) = (
                        original::pre_score(&incoming, &plain, args),
                        pre_score_walk(&incoming, &plain, args),
                        score_skipped(&incoming, &fast, args).and_then(|_| {
                            let parts = score_from_index(&incoming, &idx, args)
                                .expect("the index has the pod's terms");
                            (!parts.is_empty()).then_some(ScoreState { parts })
                        }),
                    );
                    assert_eq!(
                        pre_score(&incoming, &fast, args).is_some(),
                        o.is_some(),
                        "{ctx}"
                    );
                    assert_eq!(o.is_some(), a.is_some(), "{args:?} {ctx}");
                    assert_eq!(o.is_some(), b.is_some(), "{args:?} {ctx}");
                    let (Some(o), Some(a), Some(b)) = (o, a, b) else {
                        continue;
                    };
                    let mut nonzero = o.clone();
                    for vals in nonzero.values_mut() {
                        vals.retain(|_, s| *s != 0);
                    }
                    nonzero.retain(|_, vals| !vals.is_empty());
                    assert_eq!(a.topology_score(), nonzero, "walk scores, {ctx}");
                    assert_eq!(b.topology_score(), nonzero, "index scores, {ctx}");
                    let raw = |f: &dyn Fn(&NodeInfo) -> i64| -> Vec<i64> {
                        plain.iter().map(f).collect()
                    };
                    let want = raw(&|nd| original::score(&o, nd));
                    assert_eq!(raw(&|nd| score(&a, nd)), want, "walk raw, {ctx}");
                    assert_eq!(raw(&|nd| score(&b, nd)), want, "index raw, {ctx}");
                    let by_slot: Vec<i64> = (plain.iter().enumerate())
                        .map(|(slot, nd)| score_at(&b, slot, nd))
                        .collect();
                    assert_eq!(by_slot, want, "index raw by slot, {ctx}");
                    let (mut x, mut y) = (want.clone(), raw(&|nd| score(&b, nd)));
                    normalize(&mut x);
                    normalize(&mut y);
                    assert_eq!(x, y, "normalised, {ctx}");
                    compared[2 + usize::from(want.iter().any(|s| *s != 0))] += 1;
                }
            }
        }
    }
    // The random clusters exercise passes and failures, and skipped and real scores.
    assert!([0, 1, 3].iter().all(|&i| compared[i] > 50), "{compared:?}");
}
