//! InterPodAffinity (reference scheduler §2.9): required affinity / anti-affinity of the
//! incoming pod, the symmetric required anti-affinity of existing pods, and the preferred
//! terms of both sides (plus existing pods' required affinity at `hardPodAffinityWeight`)
//! summed per topology domain.
//!
//! PreFilter and PreScore have two implementations with identical results: upstream's walk
//! over every existing pod (`pre_filter_walk`, `pre_score_walk`: the reference, used by
//! `kubesim explain` and the bench's plain evaluation), and reads of the scheduler's
//! incremental counts (`ipa_index.rs`) when the snapshot carries them. Both produce the same
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
        if !(req_aff.is_empty()
            && pref_aff.is_empty()
            && req_anti.is_empty()
            && pref_anti.is_empty())
        {
            x.spec.affinity = Some(Affinity {
                pod_affinity: (!(req_aff.is_empty() && pref_aff.is_empty()) || below(r, 2) == 0)
                    .then(|| aff(pref_aff, req_aff)),
                pod_anti_affinity: (!(req_anti.is_empty() && pref_anti.is_empty())
                    || below(r, 2) == 0)
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
                // Change the cluster: mostly adds, some removals, now and then a relabel.
                match below(&mut r, 10) {
                    0 | 1 => {
                        let live: Vec<(usize, String)> = snap
                            .slots
                            .iter()
                            .enumerate()
                            .filter_map(|(s, n)| n.as_ref().map(|n| (s, n)))
                            .flat_map(|(s, n)| n.pods.iter().map(move |p| (s, p.key())))
                            .collect();
                        if !live.is_empty() {
                            let (s, key) = live[below(&mut r, live.len() as u64) as usize].clone();
                            let ni = snap.slots[s].as_mut().unwrap();
                            let old = ni.remove_pod(&key).unwrap();
                            idx.on_pod(&snap.slots, s, &old, -1);
                        }
                    }
                    2 if step % 7 == 0 => {
                        let s = below(&mut r, snap.slots.len() as u64) as usize;
                        let ni = snap.slots[s].as_mut().unwrap();
                        let mut nd = (*ni.node).clone();
                        nd.meta
                            .labels
                            .insert("zone".into(), format!("z{}", step % 3));
                        ni.set_node(std::sync::Arc::new(nd));
                        idx.clear();
                    }
                    _ => {
                        let s = below(&mut r, snap.slots.len() as u64) as usize;
                        let ni = snap.slots[s].as_mut().unwrap();
                        let mut p = random_pod(&mut r, next);
                        next += 1;
                        p.spec.node_name = Some(ni.node.meta.name.clone());
                        let p = std::sync::Arc::new(p);
                        ni.add_pod(p.clone());
                        idx.on_pod(&snap.slots, s, &p, 1);
                    }
                }
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
}
