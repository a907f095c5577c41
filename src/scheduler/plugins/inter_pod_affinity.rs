//! InterPodAffinity (reference scheduler §2.9): required affinity / anti-affinity of the
//! incoming pod, the symmetric required anti-affinity of existing pods, and the preferred
//! terms of both sides (plus existing pods' required affinity at `hardPodAffinityWeight`)
//! summed per topology domain.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{selector_matches, NodeInfo, Snapshot, MAX_NODE_SCORE};
use crate::model::{namespace_labels, Pod, PodAffinityTerm, WeightedPodAffinityTerm};

pub const NAME: &str = "InterPodAffinity";
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// `InterPodAffinityArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpaArgs {
    pub hard_pod_affinity_weight: i64,
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for IpaArgs {
    fn default() -> Self {
        IpaArgs {
            hard_pod_affinity_weight: 1,
            ignore_preferred_terms_of_existing_pods: false,
        }
    }
}

/// Whether `pod` matches a term owned by a pod in `owner_ns`: namespaces (the owner's own when
/// neither list nor selector is given) and the label selector.
pub fn term_matches(term: &PodAffinityTerm, owner_ns: &str, pod: &Pod) -> bool {
    let ns = &pod.meta.namespace;
    let ns_ok = if term.namespaces.is_empty() && term.namespace_selector.is_none() {
        ns == owner_ns
    } else {
        term.namespaces.contains(ns)
            || term
                .namespace_selector
                .as_ref()
                .is_some_and(|s| s.matches(&namespace_labels(ns)))
    };
    ns_ok && selector_matches(term.label_selector.as_ref(), &pod.meta.labels)
}

fn required_affinity(p: &Pod) -> &[PodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_affinity.as_ref())
        .map_or(&[], |a| a.required.as_slice())
}
fn required_anti(p: &Pod) -> &[PodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .map_or(&[], |a| a.required.as_slice())
}
fn preferred_affinity(p: &Pod) -> &[WeightedPodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_affinity.as_ref())
        .map_or(&[], |a| a.preferred.as_slice())
}
fn preferred_anti(p: &Pod) -> &[WeightedPodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .map_or(&[], |a| a.preferred.as_slice())
}

type Counts = BTreeMap<(String, String), i64>;

/// PreFilter state.
#[derive(Clone, Debug, Default)]
pub struct FilterState {
    existing_anti: Counts,
    affinity: Counts,
    anti: Counts,
    req_affinity: Vec<PodAffinityTerm>,
    req_anti: Vec<PodAffinityTerm>,
    self_matches_all: bool,
}

/// None = Skip (no required terms on either side).
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

/// Err((reason, unresolvable)).
pub fn filter(st: &FilterState, node: &NodeInfo) -> Result<(), (Cow<'static, str>, bool)> {
    let labels = &node.node.meta.labels;
    // satisfyPodAffinity
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
    // The first pod of a group with affinity to itself may go anywhere with the keys.
    let first_of_group = st.affinity.is_empty() && st.self_matches_all;
    if !(pods_exist || first_of_group) {
        return Err((REASON_AFFINITY.into(), true));
    }
    // satisfyPodAntiAffinity
    for t in &st.req_anti {
        if let Some(v) = labels.get(&t.topology_key) {
            if count(&st.anti, &t.topology_key, v) > 0 {
                return Err((REASON_ANTI_AFFINITY.into(), false));
            }
        }
    }
    // satisfyExistingPodsAntiAffinity
    if !st.existing_anti.is_empty() {
        for (k, v) in labels {
            if count(&st.existing_anti, k, v) > 0 {
                return Err((REASON_EXISTING_ANTI_AFFINITY.into(), false));
            }
        }
    }
    Ok(())
}

/// PreScore state: topology key → value → score.
#[derive(Clone, Debug, Default)]
pub struct ScoreState {
    pub topology_score: BTreeMap<String, BTreeMap<String, i64>>,
}

fn add(st: &mut ScoreState, node: &NodeInfo, key: &str, w: i64) {
    if let Some(v) = node.node.meta.labels.get(key) {
        *st.topology_score
            .entry(key.to_string())
            .or_default()
            .entry(v.clone())
            .or_insert(0) += w;
    }
}

/// None = Skip.
pub fn pre_score(pod: &Pod, snap: &Snapshot, args: &IpaArgs) -> Option<ScoreState> {
    let has_constraints = !preferred_affinity(pod).is_empty() || !preferred_anti(pod).is_empty();
    if args.ignore_preferred_terms_of_existing_pods && !has_constraints {
        return None;
    }
    if !has_constraints && snap.totals.with_affinity == 0 {
        return None;
    }
    let mut st = ScoreState::default();
    let own_ns = &pod.meta.namespace;
    for node in snap.iter() {
        if !has_constraints && node.pods_with_affinity == 0 {
            continue;
        }
        if node.node.meta.labels.is_empty() {
            continue;
        }
        for e in &node.pods {
            if !has_constraints && !super::has_pod_affinity(e) {
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
    if st.topology_score.is_empty() {
        None
    } else {
        Some(st)
    }
}

pub fn score(st: &ScoreState, node: &NodeInfo) -> i64 {
    let labels = &node.node.meta.labels;
    st.topology_score
        .iter()
        .filter_map(|(k, vals)| labels.get(k).and_then(|v| vals.get(v)))
        .sum()
}

/// `100 × (s − min) / (max − min)` in float, truncated; all 0 when max = min.
pub fn normalize(scores: &mut [i64]) {
    let (Some(min), Some(max)) = (scores.iter().copied().min(), scores.iter().copied().max())
    else {
        return;
    };
    let diff = max - min;
    for s in scores.iter_mut() {
        *s = if diff > 0 {
            (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
        } else {
            0
        };
    }
}

#[cfg(test)]
mod tests {
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
}
