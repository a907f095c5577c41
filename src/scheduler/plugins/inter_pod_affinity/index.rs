//! InterPodAffinity's counts, kept up to date instead of recounted: upstream's PreFilter and
//! PreScore walk every existing pod each cycle (reference scheduler §2.9); kubesim keeps
//!
//! * per term owned by existing pods (required anti-affinity, required affinity, weighted
//!   preferred terms), keyed by (kind, owner namespace, term): the owners per topology value
//!   of their nodes — what the incoming pod needs when it matches the term (existing pods'
//!   anti-affinity in PreFilter, the symmetric scores in PreScore);
//! * per term set of incoming pods (namespace, terms), built the first time a pod with those
//!   terms is scheduled: the pods matching every term, per term by topology value — the
//!   incoming pod's own required affinity (all terms), anti-affinity and preferred terms (one
//!   term each).
//!
//! The scheduler updates both whenever a pod is assumed, bound or removed from a node info
//! (`Scheduler::assign` / `unassign`), and clears them when a node's labels change or a node
//! joins or leaves (rebuilt on demand). Domains are numbered per topology key and each slot's
//! domain is kept, so Filter and Score read a count by slot without searching label maps.
//! Counts are sums, so the order of updates does not matter.
//!
//! Architecture invariant: a count here equals what upstream's walk over the node infos would
//! count at this moment (tested against `pre_filter_walk` / `pre_score_walk` on randomised
//! clusters in the plugin's tests); values whose count fell back to 0 may stay as 0.

use std::sync::Arc;

use super::{
    preferred_affinity, preferred_anti, required_affinity, required_anti, term_matches, Domains,
    Tally, NO_DOMAIN,
};
use crate::model::{Pod, PodAffinityTerm};
use crate::scheduler::plugins::NodeInfo;

/// At most this many incoming-pod term sets are kept; past it they start over.
const MAX_MATCHERS: usize = 64;

/// What an existing pod's term is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    RequiredAnti,
    RequiredAffinity,
    /// A preferred affinity (positive) or anti-affinity (negative) term's signed weight.
    Preferred(i64),
}

#[derive(Clone, Debug)]
struct Group {
    kind: Kind,
    owner_ns: String,
    term: PodAffinityTerm,
    /// Index in `IpaIndex::domains` of the term's topology key.
    dom: usize,
    /// Owners per domain number.
    counts: Arc<Vec<i64>>,
    /// Σ counts; a group at 0 is dropped.
    total: i64,
}

#[derive(Clone, Debug)]
struct Matcher {
    namespace: String,
    terms: Vec<PodAffinityTerm>,
    doms: Vec<usize>,
    counts: Vec<Arc<Vec<i64>>>,
}

#[derive(Clone, Debug, Default)]
pub struct IpaIndex {
    /// The groups cover every pod on every node (false after `clear`; nothing else is kept
    /// then).
    built: bool,
    /// The numbered domains of each topology key the groups and matchers use.
    domains: Vec<Arc<Domains>>,
    groups: Vec<Group>,
    matchers: Vec<Matcher>,
}

/// The terms a pod owns, with their kinds.
fn owned_terms(pod: &Pod) -> impl Iterator<Item = (Kind, &PodAffinityTerm)> {
    required_anti(pod)
        .iter()
        .map(|t| (Kind::RequiredAnti, t))
        .chain(
            required_affinity(pod)
                .iter()
                .map(|t| (Kind::RequiredAffinity, t)),
        )
        .chain(
            preferred_affinity(pod)
                .iter()
                .map(|wt| (Kind::Preferred(wt.weight as i64), &wt.term)),
        )
        .chain(
            preferred_anti(pod)
                .iter()
                .map(|wt| (Kind::Preferred(-(wt.weight as i64)), &wt.term)),
        )
}

/// The term sets the incoming pod's PreFilter and PreScore read: its required affinity terms
/// together, and each anti-affinity and preferred term alone.
fn wanted(pod: &Pod) -> Vec<&[PodAffinityTerm]> {
    let mut out: Vec<&[PodAffinityTerm]> = Vec::new();
    let req = required_affinity(pod);
    if !req.is_empty() {
        out.push(req);
    }
    out.extend(required_anti(pod).iter().map(std::slice::from_ref));
    out.extend(
        preferred_affinity(pod)
            .iter()
            .chain(preferred_anti(pod))
            .map(|wt| std::slice::from_ref(&wt.term)),
    );
    out
}

fn bump(counts: &mut Arc<Vec<i64>>, id: u32, sign: i64) {
    Arc::make_mut(counts)[id as usize] += sign;
}

impl IpaIndex {
    /// Makes sure the counts `pod`'s cycle reads are here, walking `slots` (the snapshot's
    /// node infos, by slot) for what is missing.
    pub fn ensure(&mut self, pod: &Pod, slots: &[Option<NodeInfo>]) {
        if !self.built {
            self.clear();
            self.built = true;
            for (slot, info) in slots.iter().enumerate() {
                for p in info.iter().flat_map(|n| &n.pods) {
                    self.add_owned(slots, slot, p, 1);
                }
            }
        }
        let ns = &pod.meta.namespace;
        let want = wanted(pod);
        let missing = want
            .iter()
            .filter(|terms| self.position(ns, terms).is_none())
            .count();
        if missing == 0 {
            return;
        }
        if self.matchers.len() + missing > MAX_MATCHERS {
            // Start over, keeping room for every set this pod reads.
            self.matchers.clear();
        }
        for terms in want {
            if self.position(ns, terms).is_some() {
                continue;
            }
            let doms: Vec<usize> = terms
                .iter()
                .map(|t| self.domain(&t.topology_key, slots))
                .collect();
            let mut m = Matcher {
                namespace: ns.clone(),
                terms: terms.to_vec(),
                counts: doms
                    .iter()
                    .map(|&d| Arc::new(vec![0; self.domains[d].values.len()]))
                    .collect(),
                doms,
            };
            for (slot, info) in slots.iter().enumerate() {
                for p in info.iter().flat_map(|n| &n.pods) {
                    m.on_pod(&self.domains, slot, p, 1);
                }
            }
            self.matchers.push(m);
        }
    }

    /// The numbered domains of `key` (built from the node labels the first time).
    fn domain(&mut self, key: &str, slots: &[Option<NodeInfo>]) -> usize {
        if let Some(i) = self.domains.iter().position(|d| d.key == key) {
            return i;
        }
        self.domains.push(Arc::new(Domains::build(key, slots)));
        self.domains.len() - 1
    }

    /// A pod was added to (`sign` = 1) or removed from (−1) the node info in `slot`.
    pub fn on_pod(&mut self, slots: &[Option<NodeInfo>], slot: usize, pod: &Pod, sign: i64) {
        if !self.built {
            return;
        }
        self.add_owned(slots, slot, pod, sign);
        for m in &mut self.matchers {
            m.on_pod(&self.domains, slot, pod, sign);
        }
    }

    fn add_owned(&mut self, slots: &[Option<NodeInfo>], slot: usize, pod: &Pod, sign: i64) {
        let ns = &pod.meta.namespace;
        for (kind, term) in owned_terms(pod) {
            let dom = self.domain(&term.topology_key, slots);
            let id = self.domains[dom]
                .of_slot
                .get(slot)
                .copied()
                .unwrap_or(NO_DOMAIN);
            if id == NO_DOMAIN {
                continue;
            }
            let at = self.groups.iter().position(|g| {
                g.kind == kind && g.dom == dom && g.owner_ns == *ns && g.term == *term
            });
            let i = match at {
                Some(i) => i,
                None => {
                    self.groups.push(Group {
                        kind,
                        owner_ns: ns.clone(),
                        term: term.clone(),
                        dom,
                        counts: Arc::new(vec![0; self.domains[dom].values.len()]),
                        total: 0,
                    });
                    self.groups.len() - 1
                }
            };
            let g = &mut self.groups[i];
            bump(&mut g.counts, id, sign);
            g.total += sign;
            if g.total == 0 {
                self.groups.remove(i);
            }
        }
    }

    /// Node labels changed or the node set changed: start over.
    pub fn clear(&mut self) {
        self.built = false;
        self.domains.clear();
        self.groups.clear();
        self.matchers.clear();
    }

    fn position(&self, namespace: &str, terms: &[PodAffinityTerm]) -> Option<usize> {
        self.matchers
            .iter()
            .position(|m| m.namespace == namespace && m.terms == terms)
    }

    fn tally(&self, dom: usize, counts: &Arc<Vec<i64>>) -> Tally {
        Tally::ById {
            domains: self.domains[dom].clone(),
            counts: counts.clone(),
        }
    }

    /// Per term, the pods in `namespace`'s view matching every one of `terms`, by the term's
    /// topology domain; None if this term set is not kept.
    pub fn matching(&self, namespace: &str, terms: &[PodAffinityTerm]) -> Option<Vec<Tally>> {
        let m = &self.matchers[self.position(namespace, terms)?];
        Some(
            m.doms
                .iter()
                .zip(&m.counts)
                .map(|(&d, c)| self.tally(d, c))
                .collect(),
        )
    }

    /// The required anti-affinity terms of existing pods that `pod` matches, with their
    /// owners per topology domain (upstream's existingAntiAffinityCounts, by term).
    pub fn existing_anti(&self, pod: &Pod) -> Option<Vec<Tally>> {
        self.built.then(|| {
            self.groups
                .iter()
                .filter(|g| g.kind == Kind::RequiredAnti && term_matches(&g.term, &g.owner_ns, pod))
                .map(|g| self.tally(g.dom, &g.counts))
                .collect()
        })
    }

    /// PreScore's symmetric part: existing pods' required affinity (at `hard_weight`, if
    /// positive) and preferred terms that `pod` matches, as (weight, owners per domain).
    pub fn symmetric_score_parts(
        &self,
        pod: &Pod,
        hard_weight: i64,
        parts: &mut Vec<(i64, Tally)>,
    ) -> Option<()> {
        if !self.built {
            return None;
        }
        for g in &self.groups {
            let w = match g.kind {
                Kind::RequiredAnti => continue,
                Kind::RequiredAffinity if hard_weight <= 0 => continue,
                Kind::RequiredAffinity => hard_weight,
                Kind::Preferred(w) => w,
            };
            if term_matches(&g.term, &g.owner_ns, pod) {
                parts.push((w, self.tally(g.dom, &g.counts)));
            }
        }
        Some(())
    }
}

impl Matcher {
    fn on_pod(&mut self, domains: &[Arc<Domains>], slot: usize, pod: &Pod, sign: i64) {
        if !self
            .terms
            .iter()
            .all(|t| term_matches(t, &self.namespace, pod))
        {
            return;
        }
        for (&d, c) in self.doms.iter().zip(self.counts.iter_mut()) {
            let id = domains[d].of_slot.get(slot).copied().unwrap_or(NO_DOMAIN);
            if id != NO_DOMAIN {
                bump(c, id, sign);
            }
        }
    }
}
