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
use index::{SpreadEntry, SpreadIndex, NO_DOMAIN};

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
#[derive(Clone, Debug, Default)]
pub struct SelectorSources {
    /// (namespace, name) → `spec.selector` of each Service whose selector is not nil
    /// ("services with nil selectors match nothing, not everything").
    services: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// (kind, namespace, name) → `spec.selector`; kind is `ReplicationController`,
    /// `ReplicaSet` or `StatefulSet`.
    controllers: BTreeMap<(String, String, String), LabelSelector>,
    /// The last ReplicaSet / ReplicationController pod's default constraints (`DefaultMemo`);
    /// emptied by every change above (the sources are private, so every change goes through
    /// a method that empties it).
    memo: std::cell::RefCell<Option<DefaultMemo>>,
    /// The empty constraint list, shared.
    none: Constraints,
}

/// The memo's sources are the only state: two `SelectorSources` are equal when their Services
/// and controllers are.
impl PartialEq for SelectorSources {
    fn eq(&self, other: &Self) -> bool {
        self.services == other.services && self.controllers == other.controllers
    }
}
impl Eq for SelectorSources {}

/// A pod's constraints as PreFilter / PreScore use them, shared (the default ones are built
/// once per ReplicaSet, not per call).
pub type Constraints = std::sync::Arc<[Constraint]>;

/// `default_selector` and the default constraints of one action for the pods of one
/// ReplicaSet or ReplicationController: what `helper.DefaultSelector` derives depends on the
/// pod's namespace, labels and controller only (and on the sources, whose changes empty the
/// memo), the constraints besides on the profile's defaults. Pods of such a controller share
/// their template's labels, so consecutive cycles hit; other pods are not memoised.
#[derive(Clone, Debug)]
struct DefaultMemo {
    namespace: String,
    labels: BTreeMap<String, String>,
    /// The controller ownerReference's (kind, name).
    owner: (String, String),
    selector: Option<LabelSelector>,
    /// (action, the profile's default constraints, the result).
    built: Option<(
        WhenUnsatisfiable,
        Vec<TopologySpreadConstraint>,
        Constraints,
    )>,
}

impl DefaultMemo {
    fn is_for(&self, pod: &Pod, owner: &crate::model::OwnerRef) -> bool {
        self.owner.1 == owner.name
            && self.owner.0 == owner.kind
            && self.namespace == pod.meta.namespace
            && self.labels == pod.meta.labels
    }
}

/// The pod's controller ownerReference when its pods' default constraints are memoised.
fn memoised_owner(pod: &Pod) -> Option<&crate::model::OwnerRef> {
    pod.meta
        .controller_ref()
        .filter(|o| matches!(o.kind.as_str(), "ReplicaSet" | "ReplicationController"))
}

impl SelectorSources {
    /// Runs `f` on the memo for `pod` (refreshed if it was for other pods); None when the
    /// pod's constraints are not memoised.
    fn with_memo<T>(&self, pod: &Pod, f: impl FnOnce(&mut DefaultMemo) -> T) -> Option<T> {
        let owner = memoised_owner(pod)?;
        let mut memo = self.memo.borrow_mut();
        if !memo.as_ref().is_some_and(|m| m.is_for(pod, owner)) {
            *memo = Some(DefaultMemo {
                namespace: pod.meta.namespace.clone(),
                labels: pod.meta.labels.clone(),
                owner: (owner.kind.clone(), owner.name.clone()),
                selector: build_default_selector(pod, self),
                built: None,
            });
        }
        memo.as_mut().map(f)
    }

    fn forget(&mut self) {
        *self.memo.get_mut() = None;
    }

    pub fn set_service(
        &mut self,
        namespace: &str,
        name: &str,
        sel: Option<&BTreeMap<String, String>>,
    ) {
        self.forget();
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
        self.forget();
        self.services
            .remove(&(namespace.to_string(), name.to_string()));
    }
    pub fn set_controller(&mut self, kind: &str, namespace: &str, name: &str, sel: &LabelSelector) {
        self.forget();
        self.controllers.insert(
            (kind.to_string(), namespace.to_string(), name.to_string()),
            sel.clone(),
        );
    }
    pub fn remove_controller(&mut self, kind: &str, namespace: &str, name: &str) {
        self.forget();
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
    let sources = snap.spread_selectors;
    match sources.with_memo(pod, |m| m.selector.clone()) {
        Some(sel) => sel,
        None => build_default_selector(pod, sources),
    }
}

/// Whether `default_selector` finds requirements for the pod.
pub fn has_default_selector(pod: &Pod, snap: &Snapshot) -> bool {
    let sources = snap.spread_selectors;
    match sources.with_memo(pod, |m| m.selector.is_some()) {
        Some(has) => has,
        None => build_default_selector(pod, sources).is_some(),
    }
}

fn build_default_selector(pod: &Pod, sources: &SelectorSources) -> Option<LabelSelector> {
    let ns = &pod.meta.namespace;
    let mut merged = LabelSelector::default();
    for ((_, _), sel) in sources
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
            if let Some(sel) = sources.controllers.get(&key) {
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
) -> Constraints {
    let sources = snap.spread_selectors;
    if !pod.spec.topology_spread_constraints.is_empty() {
        return from_pod(pod, action).into();
    }
    if !args
        .default_constraints
        .iter()
        .any(|c| c.when_unsatisfiable == action)
    {
        return sources.none.clone();
    }
    let memoised = sources.with_memo(pod, |m| {
        if let Some((a, d, out)) = &m.built {
            if *a == action && *d == args.default_constraints {
                return out.clone();
            }
        }
        let out = match &m.selector {
            Some(sel) => defaults_with(sel, args, action).into(),
            None => sources.none.clone(),
        };
        m.built = Some((action, args.default_constraints.clone(), out.clone()));
        out
    });
    if let Some(out) = memoised {
        return out;
    }
    match build_default_selector(pod, sources) {
        Some(sel) => defaults_with(&sel, args, action).into(),
        None => sources.none.clone(),
    }
}

/// The profile's default constraints of one action with the pod's default selector.
fn defaults_with(
    sel: &LabelSelector,
    args: &SpreadArgs,
    action: WhenUnsatisfiable,
) -> Vec<Constraint> {
    args.default_constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == action)
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

fn index_entry<'a>(
    snap: &Snapshot<'a>,
    pod: &Pod,
    c: &Constraint,
) -> Option<(&'a SpreadIndex, &'a SpreadEntry)> {
    let sel = c.selector.as_ref()?;
    let index = snap.spread_index?;
    Some((index, index.get(&pod.meta.namespace, sel, &c.key)?))
}

/// The (selector, key) counts (in the pod's namespace) this pod's cycle can use from the
/// spread index, each handed to `want`; the scheduler makes sure they are cached before the
/// cycle.
pub fn index_requests(
    pod: &Pod,
    snap: &Snapshot,
    args: &SpreadArgs,
    mut want: impl FnMut(&LabelSelector, &str),
) {
    let hard = constraints(pod, snap, args, WhenUnsatisfiable::DoNotSchedule);
    if hard.len() == 1 && indexable(&hard[0], pod) {
        if let Some(s) = &hard[0].selector {
            want(s, &hard[0].key);
        }
    }
    for c in constraints(pod, snap, args, WhenUnsatisfiable::ScheduleAnyway).iter() {
        if let Some(s) = &c.selector {
            if c.key == LABEL_HOSTNAME || indexable(c, pod) {
                want(s, &c.key);
            }
        }
    }
}

/// The topology keys of this pod's hard constraints: the scheduler interns their values per
/// slot (`SpreadIndex::ensure_domains`) so the filter reads verdicts by slot.
pub fn filter_keys(pod: &Pod, snap: &Snapshot, args: &SpreadArgs) -> Vec<String> {
    constraints(pod, snap, args, WhenUnsatisfiable::DoNotSchedule)
        .iter()
        .map(|c| c.key.clone())
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
    pub constraints: Constraints,
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
    if let Some((index, e)) = cached {
        // Nodes without the key are not eligible: no "" domain.
        counts[0] = index.counts(e);
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
    pub constraints: Constraints,
    pub require_all: bool,
    pub counts: Vec<BTreeMap<String, i64>>,
    pub weights: Vec<f64>,
    pub namespace: String,
    /// Per constraint: the spread-index entry to read hostname counts from.
    pub host_entry: Vec<Option<usize>>,
    /// Set when every constraint's counts come from the spread index by interned domain:
    /// Score then reads two arrays per constraint and node (`score_at`), no label map.
    pub by_slot: Option<SlotScore>,
}

/// Per constraint: the domain id of each snapshot slot, the spread-index entry whose
/// `count_of` gives the domain's matching pods, and at most how many distinct domain ids the
/// slots can have (`Domains::max_distinct`; `usize::MAX` when unknown).
#[derive(Clone, Debug)]
pub struct SlotScore {
    per_constraint: Vec<(std::sync::Arc<[u32]>, usize)>,
    max_distinct: Vec<usize>,
}

impl SlotScore {
    /// The fast form when the index holds every constraint's all-node counts exactly as the
    /// string-keyed PreScore below would read them: hostname constraints always (their count
    /// is the node's own pods), others when `indexable` and not narrowed to nodes with every
    /// key (`require_all` with several constraints); never when a node has a key with the
    /// empty value (upstream's map merges it with "no label").
    fn new(pod: &Pod, snap: &Snapshot, cs: &[Constraint], require_all: bool) -> Option<SlotScore> {
        let index = snap.spread_index?;
        let mut per_constraint = Vec::with_capacity(cs.len());
        let mut max_distinct = Vec::with_capacity(cs.len());
        for c in cs {
            let hostname = c.key == LABEL_HOSTNAME;
            if !hostname && (!indexable(c, pod) || (require_all && cs.len() > 1)) {
                return None;
            }
            let e = index.position(&pod.meta.namespace, c.selector.as_ref()?, &c.key)?;
            let d = index.domains(&c.key)?;
            if d.has_empty_value {
                return None;
            }
            per_constraint.push((d.of_slot.clone(), e));
            max_distinct.push(d.max_distinct(snap.slots.len()).unwrap_or(usize::MAX));
        }
        Some(SlotScore {
            per_constraint,
            max_distinct,
        })
    }

    fn ignored(&self, slot: usize) -> bool {
        self.per_constraint
            .iter()
            .any(|(of_slot, _)| of_slot.get(slot).is_none_or(|&d| d == NO_DOMAIN))
    }
}

/// None = Skip. `scored` are the nodes being scored (the feasible ones), `slots` their
/// snapshot slots when the caller walks slots.
pub fn pre_score(
    pod: &Pod,
    snap: &Snapshot,
    scored: &[&NodeInfo],
    slots: Option<&[usize]>,
    args: &SpreadArgs,
) -> Option<ScoreState> {
    pre_score_lazy(pod, snap, scored.len(), || scored, slots, args)
}

/// `pre_score` with the scored nodes' infos asked for only when the slot form cannot be used
/// (`n_scored`: how many there are).
pub fn pre_score_lazy<'i, 'n: 'i>(
    pod: &Pod,
    snap: &Snapshot,
    n_scored: usize,
    scored: impl FnOnce() -> &'i [&'n NodeInfo],
    slots: Option<&[usize]>,
    args: &SpreadArgs,
) -> Option<ScoreState> {
    if n_scored == 0 {
        return None;
    }
    if let Some(st) = slots.and_then(|slots| pre_score_slots(pod, snap, slots, args)) {
        return Some(st);
    }
    let cs = constraints(pod, snap, args, WhenUnsatisfiable::ScheduleAnyway);
    if cs.is_empty() {
        return None;
    }
    let require_all = !pod.spec.topology_spread_constraints.is_empty() || !args.system_defaulted;
    let scored = scored();
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
            // libm (a port of the FreeBSD/musl log, as Go's math.Log), not the platform's: the
            // digest must not depend on the machine.
            libm::log((sz + 2) as f64)
        })
        .collect();
    // Constraints whose all-node counts come from the spread index; the rest are counted.
    let mut from_index = vec![false; cs.len()];
    for (i, c) in cs.iter().enumerate() {
        if c.key == LABEL_HOSTNAME || !indexable(c, pod) || (require_all && cs.len() > 1) {
            continue;
        }
        if let Some((index, e)) = index_entry(snap, pod, c) {
            for (v, n) in counts[i].iter_mut() {
                *n = index.count(e, v);
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
        by_slot: None,
    })
}

/// `pre_score` in its slot form only; None where it does not apply or nothing is scored.
pub fn pre_score_slots(
    pod: &Pod,
    snap: &Snapshot,
    slots: &[usize],
    args: &SpreadArgs,
) -> Option<ScoreState> {
    let cs = constraints(pod, snap, args, WhenUnsatisfiable::ScheduleAnyway);
    (!slots.is_empty() && !cs.is_empty()).then_some(())?;
    let require_all = !pod.spec.topology_spread_constraints.is_empty() || !args.system_defaulted;
    let fast = SlotScore::new(pod, snap, &cs, require_all)?;
    Some(pre_score_by_slot(pod, cs, require_all, slots, fast))
}

/// `pre_score` by interned domain: a constraint's weight is log(domains among the scored,
/// not ignored nodes + 2) as above (hostname: one domain per such node; a missing key is one
/// domain, as "" is), the counts are the index's.
fn pre_score_by_slot(
    pod: &Pod,
    cs: Constraints,
    require_all: bool,
    slots: &[usize],
    fast: SlotScore,
) -> ScoreState {
    let filtered: Vec<usize>;
    let kept: &[usize] = if require_all {
        filtered = slots
            .iter()
            .copied()
            .filter(|&s| !fast.ignored(s))
            .collect();
        &filtered
    } else {
        slots
    };
    let weights = cs
        .iter()
        .zip(fast.per_constraint.iter().zip(&fast.max_distinct))
        .map(|(c, ((of_slot, _), &most))| {
            let sz = if c.key == LABEL_HOSTNAME {
                kept.len()
            } else {
                distinct_domains(
                    kept.iter()
                        .map(|&s| of_slot.get(s).copied().unwrap_or(NO_DOMAIN)),
                    most,
                )
            };
            libm::log((sz + 2) as f64)
        })
        .collect();
    ScoreState {
        host_entry: vec![None; cs.len()],
        counts: vec![BTreeMap::new(); cs.len()],
        constraints: cs,
        require_all,
        weights,
        namespace: pod.meta.namespace.clone(),
        by_slot: Some(fast),
    }
}

/// How many distinct ids `ids` has: a short list searched while there are few (zones), a
/// sort past that; the walk stops once `most` (a bound on the count) are seen.
fn distinct_domains(ids: impl Iterator<Item = u32> + Clone, most: usize) -> usize {
    const FEW: usize = 16;
    let mut seen: Vec<u32> = Vec::with_capacity(FEW);
    for d in ids.clone() {
        if seen.len() >= most {
            break;
        }
        if !seen.contains(&d) {
            if seen.len() == FEW {
                let mut all: Vec<u32> = ids.collect();
                all.sort_unstable();
                all.dedup();
                return all.len();
            }
            seen.push(d);
        }
    }
    seen.len()
}

pub fn is_ignored(st: &ScoreState, node: &NodeInfo) -> bool {
    st.require_all && !has_all_keys(node, &st.constraints)
}

/// `is_ignored` for the node in snapshot slot `slot`, when PreScore took the slot form.
pub fn is_ignored_at(st: &ScoreState, slot: usize) -> Option<bool> {
    let fast = st.by_slot.as_ref()?;
    Some(st.require_all && fast.ignored(slot))
}

/// `score` for the node in snapshot slot `slot`, when PreScore took the slot form: the same
/// sum in the same order, each count read by the node's domain id.
#[inline]
pub fn score_at(st: &ScoreState, slot: usize, snap: &Snapshot) -> Option<i64> {
    let fast = st.by_slot.as_ref()?;
    let index = snap.spread_index?;
    if st.require_all && fast.ignored(slot) {
        return Some(0);
    }
    let mut s = 0.0f64;
    for (i, (c, (of_slot, e))) in st.constraints.iter().zip(&fast.per_constraint).enumerate() {
        let d = of_slot.get(slot).copied().unwrap_or(NO_DOMAIN);
        if d == NO_DOMAIN {
            continue;
        }
        let cnt = index.entry(*e)?.count_of(d);
        s += cnt as f64 * st.weights[i] + (c.max_skew - 1) as f64;
    }
    Some(round_half_away(s))
}

/// `score_at` of every slot in `slots` into `raw` (with `ignored` per slot, when PreScore
/// requires every key), each count read through the index entries resolved once; the same
/// sum in the same order per node. Returns the (min, max) over the non-ignored nodes as
/// `normalize` computes them, or None (nothing written) unless PreScore took the slot form
/// and the index holds every entry.
pub fn score_slots(
    st: &ScoreState,
    slots: &[usize],
    snap: &Snapshot,
    raw: &mut Vec<i64>,
    ignored: &mut Vec<bool>,
) -> Option<(i64, i64)> {
    let fast = st.by_slot.as_ref()?;
    let index = snap.spread_index?;
    let mut cs = Vec::with_capacity(fast.per_constraint.len());
    for (i, (c, (of_slot, e))) in st.constraints.iter().zip(&fast.per_constraint).enumerate() {
        let by_domain = &index.entry(*e)?.by_domain[..];
        cs.push((
            &of_slot[..],
            by_domain,
            st.weights[i],
            (c.max_skew - 1) as f64,
        ));
    }
    raw.splice(.., std::iter::repeat_n(0, slots.len()));
    ignored.splice(.., std::iter::repeat_n(false, slots.len()));
    let (mut min, mut max) = (i64::MAX, 0i64);
    for ((r, ig), &slot) in raw.iter_mut().zip(ignored.iter_mut()).zip(slots) {
        if st.require_all && fast.ignored(slot) {
            *ig = true;
            continue;
        }
        let mut s = 0.0f64;
        for &(of_slot, by_domain, weight, skew) in &cs {
            let d = of_slot.get(slot).copied().unwrap_or(NO_DOMAIN);
            if d == NO_DOMAIN {
                continue;
            }
            s += by_domain[d as usize] as f64 * weight + skew;
        }
        let v = round_half_away(s);
        min = min.min(v);
        max = max.max(v);
        *r = v;
    }
    Some((min, max))
}

/// `normalize`'s score of a non-ignored node with raw score `s`.
#[inline]
pub fn normalized(s: i64, min: i64, max: i64) -> i64 {
    if max == 0 {
        MAX_NODE_SCORE
    } else {
        MAX_NODE_SCORE * (max + min - s) / max
    }
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
                let index = snap.spread_index?;
                index.entry(e).map(|e| index.count(e, v))
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
        *s = if *ig { 0 } else { normalized(*s, min, max) };
    }
}

#[cfg(test)]
mod tests;
