//! PodTopologySpread (reference scheduler §2.8): the filter for `DoNotSchedule` constraints
//! (skew against the emptiest domain, `minDomains`) and the score for `ScheduleAnyway`
//! constraints or the system default constraints (hostname maxSkew 3, zone maxSkew 5) that
//! apply to pods without constraints of their own, with the selector `helper.DefaultSelector`
//! derives from the Services selecting the pod and its controller (RC, ReplicaSet,
//! StatefulSet). Eligible domains follow each constraint's `nodeAffinityPolicy` /
//! `nodeTaintsPolicy` (`matchNodeInclusionPolicies`, common.go) in both filter and score.

pub mod index;

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{node_affinity, round_half_away, NodeInfo, Snapshot, MAX_NODE_SCORE};
use crate::model::{
    LabelSelector, Pod, SelectorOperator, SelectorRequirement, TaintEffect,
    TopologySpreadConstraint, WhenUnsatisfiable, LABEL_HOSTNAME, LABEL_ZONE,
};
use index::SpreadEntry;

pub const NAME: &str = "PodTopologySpread";
pub const REASON: &str = "node(s) didn't match pod topology spread constraints";
pub const REASON_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// `PodTopologySpreadArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpreadArgs {
    pub default_constraints: Vec<TopologySpreadConstraint>,
    /// `defaultingType: System` (true) or `List`.
    pub system_defaulted: bool,
}

pub fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    let c = |key: &str, skew| TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.into(),
        when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
        label_selector: None,
        min_domains: None,
        node_affinity_honor: true,
        node_taints_honor: false,
        match_label_keys: vec![],
    };
    vec![c(LABEL_HOSTNAME, 3), c(LABEL_ZONE, 5)]
}

impl Default for SpreadArgs {
    fn default() -> Self {
        SpreadArgs {
            default_constraints: system_default_constraints(),
            system_defaulted: true,
        }
    }
}

/// A constraint as the plugin uses it: selector resolved (`None` matches no pod).
#[derive(Clone, Debug)]
pub struct Constraint {
    pub max_skew: i64,
    pub key: String,
    pub selector: Option<LabelSelector>,
    pub min_domains: i64,
    pub affinity_honor: bool,
    pub taints_honor: bool,
}

fn from_pod(pod: &Pod, action: WhenUnsatisfiable) -> Vec<Constraint> {
    pod.spec
        .topology_spread_constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == action)
        .map(|c| {
            let mut selector = c.label_selector.clone();
            // matchLabelKeys: the pod's own values are ANDed into the selector.
            if let Some(sel) = selector.as_mut() {
                for k in &c.match_label_keys {
                    if let Some(v) = pod.meta.labels.get(k) {
                        sel.match_expressions.push(SelectorRequirement {
                            key: k.clone(),
                            operator: SelectorOperator::In,
                            values: vec![v.clone()],
                        });
                    }
                }
            }
            Constraint {
                max_skew: c.max_skew as i64,
                key: c.topology_key.clone(),
                selector,
                min_domains: c.min_domains.unwrap_or(1) as i64,
                affinity_honor: c.node_affinity_honor,
                taints_honor: c.node_taints_honor,
            }
        })
        .collect()
}

/// What `helper.DefaultSelector` reads (upstream `pkg/scheduler/framework/plugins/helper/spread.go`):
/// the Services of each namespace (`GetPodServices`) and the controllers a pod's controller
/// ownerReference can name — ReplicationControllers, ReplicaSets and StatefulSets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectorSources {
    /// (namespace, name) → `spec.selector` of each Service whose selector is not nil
    /// ("services with nil selectors match nothing, not everything").
    pub services: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// (kind, namespace, name) → `spec.selector`; kind is `ReplicationController`,
    /// `ReplicaSet` or `StatefulSet`.
    pub controllers: BTreeMap<(String, String, String), LabelSelector>,
}

impl SelectorSources {
    pub fn set_service(
        &mut self,
        namespace: &str,
        name: &str,
        sel: Option<&BTreeMap<String, String>>,
    ) {
        let key = (namespace.to_string(), name.to_string());
        match sel {
            Some(s) => {
                self.services.insert(key, s.clone());
            }
            None => {
                self.services.remove(&key);
            }
        }
    }
    pub fn remove_service(&mut self, namespace: &str, name: &str) {
        self.services
            .remove(&(namespace.to_string(), name.to_string()));
    }
    pub fn set_controller(&mut self, kind: &str, namespace: &str, name: &str, sel: &LabelSelector) {
        self.controllers.insert(
            (kind.to_string(), namespace.to_string(), name.to_string()),
            sel.clone(),
        );
    }
    pub fn remove_controller(&mut self, kind: &str, namespace: &str, name: &str) {
        self.controllers
            .remove(&(kind.to_string(), namespace.to_string(), name.to_string()));
    }
}

/// `helper.DefaultSelector`: the label sets of the Services in the pod's namespace whose
/// selector matches the pod, merged; then, if the pod's controller ownerReference names a
/// ReplicationController (its selector map merged in) or a ReplicaSet or StatefulSet (its
/// selector's requirements added) that exists in the pod's namespace, that selector too.
/// None when the result has no requirements (`selector.Empty()`: no default constraints).
pub fn default_selector(pod: &Pod, snap: &Snapshot) -> Option<LabelSelector> {
    let ns = &pod.meta.namespace;
    let mut merged = LabelSelector::default();
    for ((_, _), sel) in snap
        .spread_selectors
        .services
        .range((ns.clone(), String::new())..)
        .take_while(|((n, _), _)| n == ns)
    {
        if sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v)) {
            for (k, v) in sel {
                merged.match_labels.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(owner) = pod.meta.controller_ref() {
        if matches!(
            owner.kind.as_str(),
            "ReplicationController" | "ReplicaSet" | "StatefulSet"
        ) {
            let key = (owner.kind.clone(), ns.clone(), owner.name.clone());
            if let Some(sel) = snap.spread_selectors.controllers.get(&key) {
                for (k, v) in &sel.match_labels {
                    merged.match_labels.insert(k.clone(), v.clone());
                }
                merged
                    .match_expressions
                    .extend(sel.match_expressions.iter().cloned());
            }
        }
    }
    (!merged.match_labels.is_empty() || !merged.match_expressions.is_empty()).then_some(merged)
}

/// The pod's constraints of one kind, or the profile's defaults when it has none of its own.
pub fn constraints(
    pod: &Pod,
    snap: &Snapshot,
    args: &SpreadArgs,
    action: WhenUnsatisfiable,
) -> Vec<Constraint> {
    if !pod.spec.topology_spread_constraints.is_empty() {
        return from_pod(pod, action);
    }
    let defaults: Vec<&TopologySpreadConstraint> = args
        .default_constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == action)
        .collect();
    if defaults.is_empty() {
        return vec![];
    }
    let Some(sel) = default_selector(pod, snap) else {
        return vec![];
    };
    defaults
        .into_iter()
        .map(|c| Constraint {
            max_skew: c.max_skew as i64,
            key: c.topology_key.clone(),
            selector: Some(sel.clone()),
            min_domains: c.min_domains.unwrap_or(1) as i64,
            affinity_honor: c.node_affinity_honor,
            taints_honor: c.node_taints_honor,
        })
        .collect()
}

/// Whether the cached cluster-wide counts give exactly upstream's all-node count for this
/// constraint: every node is eligible (no required node affinity honoured, taints ignored).
fn indexable(c: &Constraint, pod: &Pod) -> bool {
    let has_required = !pod.spec.node_selector.is_empty()
        || pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .is_some_and(|na| na.required.is_some());
    c.selector.is_some() && !(c.affinity_honor && has_required) && !c.taints_honor
}

fn index_entry<'a>(snap: &Snapshot<'a>, pod: &Pod, c: &Constraint) -> Option<&'a SpreadEntry> {
    let sel = c.selector.as_ref()?;
    snap.spread_index?.get(&pod.meta.namespace, sel, &c.key)
}

/// The (namespace, selector, key) counts this pod's cycle can use from the spread index; the
/// scheduler makes sure they are cached before the cycle.
pub fn index_requests(
    pod: &Pod,
    snap: &Snapshot,
    args: &SpreadArgs,
) -> Vec<(LabelSelector, String)> {
    let mut out = Vec::new();
    let hard = constraints(pod, snap, args, WhenUnsatisfiable::DoNotSchedule);
    if hard.len() == 1 && indexable(&hard[0], pod) {
        if let Some(s) = &hard[0].selector {
            out.push((s.clone(), hard[0].key.clone()));
        }
    }
    for c in constraints(pod, snap, args, WhenUnsatisfiable::ScheduleAnyway) {
        if let Some(s) = &c.selector {
            if c.key == LABEL_HOSTNAME || indexable(&c, pod) {
                out.push((s.clone(), c.key.clone()));
            }
        }
    }
    out
}

/// The topology keys of this pod's hard constraints: the scheduler interns their values per
/// slot (`SpreadIndex::ensure_domains`) so the filter reads verdicts by slot.
pub fn filter_keys(pod: &Pod, snap: &Snapshot, args: &SpreadArgs) -> Vec<String> {
    constraints(pod, snap, args, WhenUnsatisfiable::DoNotSchedule)
        .into_iter()
        .map(|c| c.key)
        .collect()
}

fn has_all_keys(node: &NodeInfo, cs: &[Constraint]) -> bool {
    cs.iter()
        .all(|c| node.node.meta.labels.contains_key(&c.key))
}

/// `matchNodeInclusionPolicies`: nodeAffinityPolicy Honor (default) and nodeTaintsPolicy Honor.
fn included(c: &Constraint, pod: &Pod, node: &NodeInfo) -> bool {
    if c.affinity_honor && !node_affinity::required_matches(pod, &node.node) {
        return false;
    }
    if c.taints_honor {
        let untolerated = node.node.spec.taints.iter().any(|t| {
            t.effect != TaintEffect::PreferNoSchedule
                && !pod.spec.tolerations.iter().any(|tol| tol.tolerates(t))
        });
        if untolerated {
            return false;
        }
    }
    true
}

/// `countPodsMatchSelector`: same namespace, not terminating, labels match.
pub fn count_matching(node: &NodeInfo, sel: Option<&LabelSelector>, namespace: &str) -> i64 {
    let Some(sel) = sel else {
        return 0;
    };
    node.pods
        .iter()
        .filter(|p| {
            p.meta.namespace == namespace && !p.is_terminating() && sel.matches(&p.meta.labels)
        })
        .count() as i64
}

/// PreFilter state.
#[derive(Clone, Debug)]
pub struct FilterState {
    pub constraints: Vec<Constraint>,
    /// Per constraint: domain value → matching pods.
    pub counts: Vec<BTreeMap<String, i64>>,
    /// Per constraint: the global minimum (0 when fewer domains than minDomains).
    pub min_match: Vec<i64>,
    pub self_match: Vec<i64>,
    /// The same verdicts by interned domain, for the scheduler's slot-indexed walk (None when
    /// the spread index has not interned every constraint's key; the plugin path decides).
    pub by_slot: Option<SlotVerdicts>,
}

/// Per constraint: the domain id of each snapshot slot and whether the filter passes in each
/// domain; a node passes if it passes in its domain for every constraint.
#[derive(Clone, Debug)]
pub struct SlotVerdicts {
    per_constraint: Vec<(std::sync::Arc<[u32]>, Vec<bool>)>,
}

impl SlotVerdicts {
    /// True: the filter passes on the node in `slot`; false: it fails or cannot be told here
    /// (the node lacks a key), so the caller runs the plugin on the node info.
    #[inline]
    pub fn passes(&self, slot: usize) -> bool {
        self.per_constraint.iter().all(|(of_slot, ok)| {
            of_slot
                .get(slot)
                .and_then(|&d| ok.get(d as usize))
                .copied()
                .unwrap_or(false)
        })
    }
}

/// None = Skip (no DoNotSchedule constraints).
pub fn pre_filter(pod: &Pod, snap: &Snapshot, args: &SpreadArgs) -> Option<FilterState> {
    let cs = constraints(pod, snap, args, WhenUnsatisfiable::DoNotSchedule);
    if cs.is_empty() {
        return None;
    }
    let mut counts: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); cs.len()];
    let cached = if cs.len() == 1 && indexable(&cs[0], pod) {
        index_entry(snap, pod, &cs[0])
    } else {
        None
    };
    if let Some(e) = cached {
        // Nodes without the key are not eligible: drop the "" domain.
        counts[0] = e
            .counts
            .iter()
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, c)| (v.clone(), *c))
            .collect();
    } else {
        for node in snap.iter() {
            if !has_all_keys(node, &cs) {
                continue;
            }
            for (i, c) in cs.iter().enumerate() {
                if !included(c, pod, node) {
                    continue;
                }
                let v = &node.node.meta.labels[&c.key];
                let n = count_matching(node, c.selector.as_ref(), &pod.meta.namespace);
                *counts[i].entry(v.clone()).or_insert(0) += n;
            }
        }
    }
    let min_match = cs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if (counts[i].len() as i64) < c.min_domains {
                0
            } else {
                counts[i].values().copied().min().unwrap_or(0)
            }
        })
        .collect();
    let self_match = cs
        .iter()
        .map(|c| {
            i64::from(
                c.selector
                    .as_ref()
                    .is_some_and(|s| s.matches(&pod.meta.labels)),
            )
        })
        .collect();
    let mut st = FilterState {
        constraints: cs,
        counts,
        min_match,
        self_match,
        by_slot: None,
    };
    st.by_slot = slot_verdicts(&st, snap);
    Some(st)
}

/// `filter`'s verdict per interned domain of each constraint's key (the same arithmetic: the
/// domain's count, or 0, plus selfMatch minus the minimum, against maxSkew).
fn slot_verdicts(st: &FilterState, snap: &Snapshot) -> Option<SlotVerdicts> {
    let index = snap.spread_index?;
    let mut per_constraint = Vec::with_capacity(st.constraints.len());
    for (i, c) in st.constraints.iter().enumerate() {
        let d = index.domains(&c.key)?;
        let ok = d
            .values
            .iter()
            .map(|v| {
                let matched = st.counts[i].get(v).copied().unwrap_or(0);
                matched + st.self_match[i] - st.min_match[i] <= c.max_skew
            })
            .collect();
        per_constraint.push((d.of_slot.clone(), ok));
    }
    Some(SlotVerdicts { per_constraint })
}

impl FilterState {
    /// `preFilterState.updateWithPod` (filtering.go; PreFilterExtensions AddPod with `delta`
    /// 1, RemovePod with −1): a pod of the preemptor's namespace added to or removed from
    /// `node` changes the count of its domain for every constraint whose selector matches it,
    /// when the node has every constraint's key and passes the constraint's inclusion
    /// policies for the preemptor. The global minimum is recomputed exactly (upstream keeps
    /// the two smallest domains as `criticalPaths`, which agrees whenever those are current).
    pub fn update_with_pod(&mut self, updated: &Pod, preemptor: &Pod, node: &NodeInfo, delta: i64) {
        if updated.meta.namespace != preemptor.meta.namespace
            || !has_all_keys(node, &self.constraints)
        {
            return;
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if !c
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(&updated.meta.labels))
            {
                continue;
            }
            if !included(c, preemptor, node) {
                continue;
            }
            let v = &node.node.meta.labels[&c.key];
            *self.counts[i].entry(v.clone()).or_insert(0) += delta;
            self.by_slot = None;
            self.min_match[i] = if (self.counts[i].len() as i64) < c.min_domains {
                0
            } else {
                self.counts[i].values().copied().min().unwrap_or(0)
            };
        }
    }
}

/// Err((reason, unresolvable)).
pub fn filter(st: &FilterState, node: &NodeInfo) -> Result<(), (Cow<'static, str>, bool)> {
    for (i, c) in st.constraints.iter().enumerate() {
        let Some(v) = node.node.meta.labels.get(&c.key) else {
            return Err((REASON_MISSING_LABEL.into(), true));
        };
        let matched = st.counts[i].get(v).copied().unwrap_or(0);
        let skew = matched + st.self_match[i] - st.min_match[i];
        if skew > c.max_skew {
            return Err((REASON.into(), false));
        }
    }
    Ok(())
}

/// PreScore state.
#[derive(Clone, Debug)]
pub struct ScoreState {
    pub constraints: Vec<Constraint>,
    pub require_all: bool,
    pub counts: Vec<BTreeMap<String, i64>>,
    pub weights: Vec<f64>,
    pub namespace: String,
    /// Per constraint: the spread-index entry to read hostname counts from.
    pub host_entry: Vec<Option<usize>>,
}

/// None = Skip. `scored` are the nodes being scored (the feasible ones).
pub fn pre_score(
    pod: &Pod,
    snap: &Snapshot,
    scored: &[&NodeInfo],
    args: &SpreadArgs,
) -> Option<ScoreState> {
    if scored.is_empty() {
        return None;
    }
    let cs = constraints(pod, snap, args, WhenUnsatisfiable::ScheduleAnyway);
    if cs.is_empty() {
        return None;
    }
    let require_all = !pod.spec.topology_spread_constraints.is_empty() || !args.system_defaulted;
    let mut counts: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); cs.len()];
    let mut ignored = 0usize;
    for node in scored {
        if require_all && !has_all_keys(node, &cs) {
            ignored += 1;
            continue;
        }
        for (i, c) in cs.iter().enumerate() {
            if c.key == LABEL_HOSTNAME {
                continue;
            }
            // A missing label reads as "" (Go map semantics).
            let v = node
                .node
                .meta
                .labels
                .get(&c.key)
                .cloned()
                .unwrap_or_default();
            counts[i].entry(v).or_insert(0);
        }
    }
    let weights = cs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let sz = if c.key == LABEL_HOSTNAME {
                scored.len() - ignored
            } else {
                counts[i].len()
            };
            ((sz + 2) as f64).ln()
        })
        .collect();
    // Constraints whose all-node counts come from the spread index; the rest are counted.
    let mut from_index = vec![false; cs.len()];
    for (i, c) in cs.iter().enumerate() {
        if c.key == LABEL_HOSTNAME || !indexable(c, pod) || (require_all && cs.len() > 1) {
            continue;
        }
        if let Some(e) = index_entry(snap, pod, c) {
            for (v, n) in counts[i].iter_mut() {
                *n = e.counts.get(v).copied().unwrap_or(0);
            }
            from_index[i] = true;
        }
    }
    let need_scan = cs
        .iter()
        .enumerate()
        .any(|(i, c)| c.key != LABEL_HOSTNAME && !from_index[i]);
    if need_scan {
        for node in snap.iter() {
            if require_all && !has_all_keys(node, &cs) {
                continue;
            }
            for (i, c) in cs.iter().enumerate() {
                if c.key == LABEL_HOSTNAME || from_index[i] || !included(c, pod, node) {
                    continue;
                }
                let v = node.node.meta.labels.get(&c.key).map_or("", |s| s.as_str());
                if let Some(slot) = counts[i].get_mut(v) {
                    *slot += count_matching(node, c.selector.as_ref(), &pod.meta.namespace);
                }
            }
        }
    }
    let host_entry = cs
        .iter()
        .map(|c| {
            if c.key != LABEL_HOSTNAME {
                return None;
            }
            let sel = c.selector.as_ref()?;
            snap.spread_index?
                .position(&pod.meta.namespace, sel, &c.key)
        })
        .collect();
    Some(ScoreState {
        constraints: cs,
        require_all,
        counts,
        weights,
        namespace: pod.meta.namespace.clone(),
        host_entry,
    })
}

pub fn is_ignored(st: &ScoreState, node: &NodeInfo) -> bool {
    st.require_all && !has_all_keys(node, &st.constraints)
}

pub fn score(st: &ScoreState, node: &NodeInfo, snap: &Snapshot) -> i64 {
    if is_ignored(st, node) {
        return 0;
    }
    let mut s = 0.0f64;
    for (i, c) in st.constraints.iter().enumerate() {
        let Some(v) = node.node.meta.labels.get(&c.key) else {
            continue;
        };
        let cnt = if c.key == LABEL_HOSTNAME {
            // The hostname domain is the node itself (hostname labels are unique).
            let cached = st.host_entry[i].and_then(|e| {
                snap.spread_index?
                    .entry(e)
                    .map(|e| e.counts.get(v).copied().unwrap_or(0))
            });
            cached.unwrap_or_else(|| count_matching(node, c.selector.as_ref(), &st.namespace))
        } else {
            st.counts[i].get(v).copied().unwrap_or(0)
        };
        s += cnt as f64 * st.weights[i] + (c.max_skew - 1) as f64;
    }
    round_half_away(s)
}

/// Lower raw scores are better: `100 × (max + min − s) / max` over non-ignored nodes.
pub fn normalize(scores: &mut [i64], ignored: &[bool]) {
    let mut min = i64::MAX;
    let mut max = 0i64;
    for (s, ig) in scores.iter().zip(ignored) {
        if *ig {
            continue;
        }
        min = min.min(*s);
        max = max.max(*s);
    }
    for (s, ig) in scores.iter_mut().zip(ignored) {
        if *ig {
            *s = 0;
        } else if max == 0 {
            *s = MAX_NODE_SCORE;
        } else {
            *s = MAX_NODE_SCORE * (max + min - *s) / max;
        }
    }
}

#[cfg(test)]
mod tests {
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
        let Some(st) = pre_score(p, &v, &scored, &SpreadArgs::default()) else {
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
        pre_score(p, &v, &scored, args)
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
        assert_eq!(st.weights, vec![(6f64).ln(), (4f64).ln()]);
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
        assert_eq!(st.weights, vec![(3f64).ln(), (3f64).ln()]);
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
}
