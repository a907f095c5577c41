//! InterPodAffinity (reference scheduler §2.9): required affinity / anti-affinity of the
//! incoming pod, the symmetric required anti-affinity of existing pods, and the preferred
//! terms of both sides (plus existing pods' required affinity at `hardPodAffinityWeight`)
//! summed per topology domain.
//!
//! PreFilter and PreScore have two implementations with identical results: upstream's walk
//! over every existing pod (`pre_filter_walk`, `pre_score_walk`: the reference, used by
//! `kubesim explain` and the bench's plain evaluation), and reads of the scheduler's
//! incremental counts (`index.rs`) when the snapshot carries them. Both produce the same
//! state shape: per term (or per topology key for the walk's sums) the matching pods per
//! topology value, which Filter and Score read without allocating.

pub mod index;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{selector_matches, NodeInfo, Snapshot, MAX_NODE_SCORE};
use crate::model::{namespace_labels, Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use index::IpaIndex;

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

pub fn required_affinity(p: &Pod) -> &[PodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_affinity.as_ref())
        .map_or(&[], |a| a.required.as_slice())
}
pub fn required_anti(p: &Pod) -> &[PodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .map_or(&[], |a| a.required.as_slice())
}
pub fn preferred_affinity(p: &Pod) -> &[WeightedPodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_affinity.as_ref())
        .map_or(&[], |a| a.preferred.as_slice())
}
pub fn preferred_anti(p: &Pod) -> &[WeightedPodAffinityTerm] {
    p.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .map_or(&[], |a| a.preferred.as_slice())
}

/// Topology value → how many times it was counted (matching pods on nodes with that value).
pub type DomainCounts = BTreeMap<String, i64>;

/// No domain: the node lacks the topology key (or the slot is empty).
pub const NO_DOMAIN: u32 = u32::MAX;

/// A topology key's domains as the index numbers them: the values the nodes have, and each
/// node slot's domain. Built from the node labels; the index is rebuilt when labels change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Domains {
    pub key: String,
    /// Domain number → value.
    pub values: Vec<String>,
    pub id_of: BTreeMap<String, u32>,
    /// Slot → domain number, `NO_DOMAIN` when the node lacks the key.
    pub of_slot: Vec<u32>,
}

impl Domains {
    pub fn build(key: &str, slots: &[Option<NodeInfo>]) -> Domains {
        let mut d = Domains {
            key: key.to_string(),
            ..Domains::default()
        };
        for info in slots {
            let id = match info.as_ref().and_then(|n| n.node.meta.labels.get(key)) {
                None => NO_DOMAIN,
                Some(v) => match d.id_of.get(v) {
                    Some(&id) => id,
                    None => {
                        let id = d.values.len() as u32;
                        d.values.push(v.clone());
                        d.id_of.insert(v.clone(), id);
                        id
                    }
                },
            };
            d.of_slot.push(id);
        }
        d
    }
}

/// Matching pods per topology domain of one key: by value (upstream's walk) or by domain
/// number (the index; values whose count fell back to 0 stay as 0).
#[derive(Clone, Debug)]
pub enum Tally {
    ByValue {
        key: String,
        counts: Arc<DomainCounts>,
    },
    ById {
        domains: Arc<Domains>,
        counts: Arc<Vec<i64>>,
    },
}

impl Tally {
    pub fn key(&self) -> &str {
        match self {
            Tally::ByValue { key, .. } => key,
            Tally::ById { domains, .. } => &domains.key,
        }
    }

    /// The count in the node's domain; None when the node lacks the key.
    #[inline]
    pub fn at(&self, node: &NodeInfo) -> Option<i64> {
        let v = node.node.meta.labels.get(self.key())?;
        Some(match self {
            Tally::ByValue { counts, .. } => counts.get(v).copied().unwrap_or(0),
            Tally::ById { domains, counts } => {
                domains.id_of.get(v).map_or(0, |&id| counts[id as usize])
            }
        })
    }

    /// `at` for the node in snapshot slot `slot` (`node` is that slot's info): a domain
    /// number read instead of two map searches when the counts are the index's.
    #[inline]
    pub fn at_slot(&self, slot: usize, node: &NodeInfo) -> Option<i64> {
        match self {
            Tally::ById { domains, counts } => match domains.of_slot.get(slot) {
                Some(&NO_DOMAIN) => None,
                Some(&id) => Some(counts[id as usize]),
                None => self.at(node),
            },
            Tally::ByValue { .. } => self.at(node),
        }
    }

    fn any_positive(&self) -> bool {
        match self {
            Tally::ByValue { counts, .. } => counts.values().any(|v| *v > 0),
            Tally::ById { counts, .. } => counts.iter().any(|v| *v > 0),
        }
    }

    /// (value, count) for every value with a count other than 0.
    pub fn nonzero(&self) -> Vec<(String, i64)> {
        match self {
            Tally::ByValue { counts, .. } => counts
                .iter()
                .filter(|(_, n)| **n != 0)
                .map(|(v, n)| (v.clone(), *n))
                .collect(),
            Tally::ById { domains, counts } => counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n != 0)
                .map(|(id, n)| (domains.values[id].clone(), *n))
                .collect(),
        }
    }
}

/// Upstream's (topology key, value) → count map.
pub type Counts = BTreeMap<(String, String), i64>;

/// PreFilter state. Upstream keeps three (key, value) → count maps; here `existing_anti` is a
/// list of per-key counts whose sum is upstream's map (counts are never negative, so a sum is
/// positive exactly when one part is), and `affinity` / `anti` hold one entry per required
/// term, in order. For the affinity terms (one set of matching pods, counted under each term's
/// key) and the anti-affinity terms (a failure is a failure whichever term finds it) the
/// verdicts read from the per-term counts equal upstream's.
#[derive(Clone, Debug, Default)]
pub struct FilterState {
    existing_anti: Vec<Tally>,
    affinity: Vec<Tally>,
    anti: Vec<Tally>,
    /// Upstream's `len(affinityCounts) > 0`.
    any_affinity: bool,
    req_affinity: Vec<PodAffinityTerm>,
    req_anti: Vec<PodAffinityTerm>,
    self_matches_all: bool,
}

impl FilterState {
    /// `preFilterState.updateWithPod` (filtering.go), the RemovePod (`delta` −1) and AddPod
    /// (+1) extensions that preemption's dry run calls for each victim it removes or
    /// reprieves on `node`: the existing pod's required anti-affinity terms that match the
    /// incoming pod, the incoming pod's required affinity terms (only if `existing` matches
    /// all of them) and each of its required anti-affinity terms that `existing` matches,
    /// counted in the node's domain. The dry run works on its own copy of the state; the
    /// counts are first turned into plain per-value maps (existing anti-affinity summed per
    /// topology key, as upstream keeps it), so the index's shared counts are never touched.
    pub fn update_with_pod(&mut self, existing: &Pod, incoming: &Pod, node: &NodeInfo, delta: i64) {
        self.make_counts_plain();
        let labels = &node.node.meta.labels;
        let bump = |t: &mut Tally, v: &str| {
            if let Tally::ByValue { counts, .. } = t {
                *Arc::make_mut(counts).entry(v.to_string()).or_insert(0) += delta;
            }
        };
        for term in required_anti(existing) {
            if !term_matches(term, &existing.meta.namespace, incoming) {
                continue;
            }
            let Some(v) = labels.get(&term.topology_key) else {
                continue;
            };
            match self
                .existing_anti
                .iter_mut()
                .find(|t| t.key() == term.topology_key)
            {
                Some(t) => bump(t, v),
                None => {
                    let mut t = Tally::ByValue {
                        key: term.topology_key.clone(),
                        counts: Arc::new(DomainCounts::new()),
                    };
                    bump(&mut t, v);
                    self.existing_anti.push(t);
                }
            }
        }
        let own_ns = &incoming.meta.namespace;
        if !self.req_affinity.is_empty()
            && self
                .req_affinity
                .iter()
                .all(|t| term_matches(t, own_ns, existing))
        {
            for (term, t) in self.req_affinity.iter().zip(self.affinity.iter_mut()) {
                if let Some(v) = labels.get(&term.topology_key) {
                    bump(t, v);
                }
            }
        }
        for (term, t) in self.req_anti.iter().zip(self.anti.iter_mut()) {
            if term_matches(term, own_ns, existing) {
                if let Some(v) = labels.get(&term.topology_key) {
                    bump(t, v);
                }
            }
        }
        self.any_affinity = self.affinity.iter().any(Tally::any_positive);
    }

    /// Every count as a per-value map: one per incoming term (affinity, anti-affinity) and
    /// one per topology key for the existing pods' anti-affinity.
    fn make_counts_plain(&mut self) {
        let plain = |t: &Tally| Tally::ByValue {
            key: t.key().to_string(),
            counts: Arc::new(t.nonzero().into_iter().collect()),
        };
        if self
            .existing_anti
            .iter()
            .chain(&self.affinity)
            .chain(&self.anti)
            .all(|t| matches!(t, Tally::ByValue { .. }))
            && self
                .existing_anti
                .windows(2)
                .all(|w| w[0].key() < w[1].key())
        {
            return;
        }
        self.affinity = self.affinity.iter().map(plain).collect();
        self.anti = self.anti.iter().map(plain).collect();
        let mut by_key: BTreeMap<String, DomainCounts> = BTreeMap::new();
        for t in &self.existing_anti {
            let m = by_key.entry(t.key().to_string()).or_default();
            for (v, n) in t.nonzero() {
                *m.entry(v).or_insert(0) += n;
            }
        }
        self.existing_anti = by_key
            .into_iter()
            .map(|(key, counts)| Tally::ByValue {
                key,
                counts: Arc::new(counts),
            })
            .collect();
    }
}

impl FilterState {
    /// Upstream's three maps (existing anti-affinity, affinity, anti-affinity counts), with
    /// the zero counts an index may keep left out: for comparing the two implementations.
    pub fn upstream_counts(&self) -> (Counts, Counts, Counts) {
        fn sum(out: &mut Counts, t: &Tally, times: i64) {
            for (v, n) in t.nonzero() {
                *out.entry((t.key().to_string(), v)).or_insert(0) += n * times;
            }
        }
        let mut existing = Counts::new();
        for t in &self.existing_anti {
            sum(&mut existing, t, 1);
        }
        // Upstream adds a pod matching every affinity term once per term: under a key shared
        // by several terms it counts once per term (the per-term counts are equal).
        let mut affinity = Counts::new();
        let mut seen: Vec<&str> = Vec::new();
        for t in &self.affinity {
            if seen.contains(&t.key()) {
                continue;
            }
            seen.push(t.key());
            let times = self.affinity.iter().filter(|u| u.key() == t.key()).count() as i64;
            sum(&mut affinity, t, times);
        }
        let mut anti = Counts::new();
        for t in &self.anti {
            sum(&mut anti, t, 1);
        }
        (existing, affinity, anti)
    }
}

/// The state upstream's PreFilter starts from; None = Skip (no required terms on either side).
fn filter_state_base(pod: &Pod, snap: &Snapshot) -> Option<FilterState> {
    let req_affinity = required_affinity(pod).to_vec();
    let req_anti = required_anti(pod).to_vec();
    let any_existing_anti = snap.totals.with_required_anti_affinity > 0;
    if req_affinity.is_empty() && req_anti.is_empty() && !any_existing_anti {
        return None;
    }
    Some(FilterState {
        self_matches_all: !req_affinity.is_empty()
            && req_affinity
                .iter()
                .all(|t| term_matches(t, &pod.meta.namespace, pod)),
        req_affinity,
        req_anti,
        ..FilterState::default()
    })
}

/// None = Skip (no required terms on either side). Reads the snapshot's affinity index when
/// it has one with this pod's counts, else walks every pod (`pre_filter_walk`).
pub fn pre_filter(pod: &Pod, snap: &Snapshot) -> Option<FilterState> {
    let mut st = filter_state_base(pod, snap)?;
    if let Some(idx) = snap.ipa_index {
        if fill_from_index(&mut st, pod, idx) {
            return Some(st);
        }
    }
    walk_filter(&mut st, pod, snap);
    Some(st)
}

/// Upstream's PreFilter: every existing pod is examined.
pub fn pre_filter_walk(pod: &Pod, snap: &Snapshot) -> Option<FilterState> {
    let mut st = filter_state_base(pod, snap)?;
    walk_filter(&mut st, pod, snap);
    Some(st)
}

fn fill_from_index(st: &mut FilterState, pod: &Pod, idx: &IpaIndex) -> bool {
    let own_ns = &pod.meta.namespace;
    let affinity = if st.req_affinity.is_empty() {
        Vec::new()
    } else {
        match idx.matching(own_ns, &st.req_affinity) {
            Some(c) => c,
            None => return false,
        }
    };
    let mut anti = Vec::with_capacity(st.req_anti.len());
    for t in &st.req_anti {
        match idx.matching(own_ns, std::slice::from_ref(t)) {
            Some(mut c) => anti.append(&mut c),
            None => return false,
        }
    }
    let Some(existing) = idx.existing_anti(pod) else {
        return false;
    };
    st.any_affinity = affinity.iter().any(Tally::any_positive);
    st.affinity = affinity;
    st.anti = anti;
    st.existing_anti = existing;
    true
}

fn walk_filter(st: &mut FilterState, pod: &Pod, snap: &Snapshot) {
    let own_ns = &pod.meta.namespace;
    let mut existing: BTreeMap<String, DomainCounts> = BTreeMap::new();
    let mut affinity = vec![DomainCounts::new(); st.req_affinity.len()];
    let mut anti = vec![DomainCounts::new(); st.req_anti.len()];
    for node in snap.iter() {
        let labels = &node.node.meta.labels;
        if node.pods_with_required_anti_affinity > 0 {
            for e in &node.pods {
                for t in required_anti(e) {
                    if term_matches(t, &e.meta.namespace, pod) {
                        if let Some(v) = labels.get(&t.topology_key) {
                            *existing
                                .entry(t.topology_key.clone())
                                .or_default()
                                .entry(v.clone())
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
                for (t, c) in st.req_affinity.iter().zip(affinity.iter_mut()) {
                    if let Some(v) = labels.get(&t.topology_key) {
                        *c.entry(v.clone()).or_insert(0) += 1;
                    }
                }
            }
            for (t, c) in st.req_anti.iter().zip(anti.iter_mut()) {
                if term_matches(t, own_ns, e) {
                    if let Some(v) = labels.get(&t.topology_key) {
                        *c.entry(v.clone()).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    let tally = |key: &str, counts: DomainCounts| Tally::ByValue {
        key: key.to_string(),
        counts: Arc::new(counts),
    };
    st.any_affinity = affinity.iter().any(|c| !c.is_empty());
    st.affinity = (st.req_affinity.iter().zip(affinity))
        .map(|(t, c)| tally(&t.topology_key, c))
        .collect();
    st.anti = (st.req_anti.iter().zip(anti))
        .map(|(t, c)| tally(&t.topology_key, c))
        .collect();
    st.existing_anti = existing
        .into_iter()
        .map(|(key, counts)| tally(&key, counts))
        .collect();
}

/// Err((reason, unresolvable)).
pub fn filter(st: &FilterState, node: &NodeInfo) -> Result<(), (Cow<'static, str>, bool)> {
    filter_with(st, |t| t.at(node))
}

/// `filter` for the node in snapshot slot `slot` (`node` is that slot's info).
pub fn filter_at(
    st: &FilterState,
    slot: usize,
    node: &NodeInfo,
) -> Result<(), (Cow<'static, str>, bool)> {
    filter_with(st, |t| t.at_slot(slot, node))
}

#[inline]
fn filter_with(
    st: &FilterState,
    at: impl Fn(&Tally) -> Option<i64>,
) -> Result<(), (Cow<'static, str>, bool)> {
    // satisfyPodAffinity
    let mut pods_exist = true;
    for t in &st.affinity {
        match at(t) {
            Some(c) => {
                if c <= 0 {
                    pods_exist = false;
                }
            }
            None => return Err((REASON_AFFINITY.into(), true)),
        }
    }
    // The first pod of a group with affinity to itself may go anywhere with the keys.
    let first_of_group = !st.any_affinity && st.self_matches_all;
    if !(pods_exist || first_of_group) {
        return Err((REASON_AFFINITY.into(), true));
    }
    // satisfyPodAntiAffinity
    for t in &st.anti {
        if at(t).is_some_and(|c| c > 0) {
            return Err((REASON_ANTI_AFFINITY.into(), false));
        }
    }
    // satisfyExistingPodsAntiAffinity
    for t in &st.existing_anti {
        if at(t).is_some_and(|c| c > 0) {
            return Err((REASON_EXISTING_ANTI_AFFINITY.into(), false));
        }
    }
    Ok(())
}

/// PreScore state: weighted counts per topology key, a node's score being Σ weight × count
/// of its value. The walk yields one part per key with weight 1 (upstream's topologyScore);
/// the index one part per term.
#[derive(Clone, Debug, Default)]
pub struct ScoreState {
    pub parts: Vec<(i64, Tally)>,
}

impl ScoreState {
    /// Upstream's topologyScore (key → value → score) without the zero scores: for comparing
    /// the two implementations (whether the state exists at all is compared separately).
    pub fn topology_score(&self) -> BTreeMap<String, BTreeMap<String, i64>> {
        let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (w, t) in &self.parts {
            for (v, n) in t.nonzero() {
                *out.entry(t.key().to_string())
                    .or_default()
                    .entry(v)
                    .or_insert(0) += w * n;
            }
        }
        for vals in out.values_mut() {
            vals.retain(|_, s| *s != 0);
        }
        out.retain(|_, vals| !vals.is_empty());
        out
    }
}

fn add(st: &mut BTreeMap<String, BTreeMap<String, i64>>, node: &NodeInfo, key: &str, w: i64) {
    if let Some(v) = node.node.meta.labels.get(key) {
        *st.entry(key.to_string())
            .or_default()
            .entry(v.clone())
            .or_insert(0) += w;
    }
}

/// Whether upstream's PreScore skips before looking at any pod.
fn score_skipped(pod: &Pod, snap: &Snapshot, args: &IpaArgs) -> Option<bool> {
    let has_constraints = !preferred_affinity(pod).is_empty() || !preferred_anti(pod).is_empty();
    if args.ignore_preferred_terms_of_existing_pods && !has_constraints {
        return None;
    }
    if !has_constraints && snap.totals.with_affinity == 0 {
        return None;
    }
    Some(has_constraints)
}

/// None = Skip. Reads the snapshot's affinity index when it has this pod's counts, else walks
/// every pod (`pre_score_walk`).
pub fn pre_score(pod: &Pod, snap: &Snapshot, args: &IpaArgs) -> Option<ScoreState> {
    score_skipped(pod, snap, args)?;
    if let Some(idx) = snap.ipa_index {
        if let Some(parts) = score_from_index(pod, idx, args) {
            return (!parts.is_empty()).then_some(ScoreState { parts });
        }
    }
    pre_score_walk(pod, snap, args)
}

/// The index's parts with a count (upstream's topologyScore has an entry exactly when some
/// pod was counted); None when the index lacks one of the pod's terms.
fn score_from_index(pod: &Pod, idx: &IpaIndex, args: &IpaArgs) -> Option<Vec<(i64, Tally)>> {
    let own_ns = &pod.meta.namespace;
    let mut parts = Vec::new();
    for (wt, sign) in preferred_affinity(pod)
        .iter()
        .map(|wt| (wt, 1))
        .chain(preferred_anti(pod).iter().map(|wt| (wt, -1)))
    {
        let t = idx
            .matching(own_ns, std::slice::from_ref(&wt.term))?
            .pop()?;
        if t.any_positive() {
            parts.push((sign * wt.weight as i64, t));
        }
    }
    idx.symmetric_score_parts(pod, args.hard_pod_affinity_weight, &mut parts)?;
    Some(parts)
}

/// Upstream's PreScore: every existing pod (with affinity terms, when the incoming pod has no
/// preferred terms) is examined.
pub fn pre_score_walk(pod: &Pod, snap: &Snapshot, args: &IpaArgs) -> Option<ScoreState> {
    let has_constraints = score_skipped(pod, snap, args)?;
    let mut st: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
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
    if st.is_empty() {
        None
    } else {
        Some(ScoreState {
            parts: st
                .into_iter()
                .map(|(key, vals)| {
                    let counts = Arc::new(vals);
                    (1, Tally::ByValue { key, counts })
                })
                .collect(),
        })
    }
}

pub fn score(st: &ScoreState, node: &NodeInfo) -> i64 {
    st.parts
        .iter()
        .map(|(w, t)| t.at(node).map_or(0, |c| w * c))
        .sum()
}

/// `score` for the node in snapshot slot `slot` (`node` is that slot's info).
pub fn score_at(st: &ScoreState, slot: usize, node: &NodeInfo) -> i64 {
    st.parts
        .iter()
        .map(|(w, t)| t.at_slot(slot, node).map_or(0, |c| w * c))
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
mod tests;
