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
//! leaves (rebuilt on demand). Counts are sums, so the order of updates does not matter.
//!
//! Architecture invariant: a count here equals what upstream's walk over the node infos would
//! count at this moment (tested against `pre_filter_walk` / `pre_score_walk` on randomised
//! clusters in `inter_pod_affinity.rs`); values whose count fell back to 0 may stay as 0.

use std::sync::Arc;

use super::plugins::inter_pod_affinity::{
    preferred_affinity, preferred_anti, required_affinity, required_anti, term_matches,
    DomainCounts, KeyedCounts,
};
use super::plugins::NodeInfo;
use crate::model::{Node, Pod, PodAffinityTerm};

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
    counts: Arc<DomainCounts>,
    /// Σ counts; a group at 0 is dropped.
    total: i64,
}

#[derive(Clone, Debug)]
struct Matcher {
    namespace: String,
    terms: Vec<PodAffinityTerm>,
    counts: Vec<Arc<DomainCounts>>,
}

#[derive(Clone, Debug, Default)]
pub struct IpaIndex {
    /// The groups cover every pod on every node (false after `clear`; no matchers then).
    built: bool,
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

fn bump(counts: &mut Arc<DomainCounts>, value: &str, sign: i64) {
    let c = Arc::make_mut(counts);
    match c.get_mut(value) {
        Some(n) => *n += sign,
        None => {
            c.insert(value.to_string(), sign);
        }
    }
}

impl IpaIndex {
    /// Makes sure the counts `pod`'s cycle reads are here, walking `nodes` (every node info)
    /// for what is missing.
    pub fn ensure<'a>(&mut self, pod: &Pod, nodes: impl Iterator<Item = &'a NodeInfo> + Clone) {
        if !self.built {
            self.groups.clear();
            self.matchers.clear();
            for n in nodes.clone() {
                for p in &n.pods {
                    self.add_owned(&n.node, p, 1);
                }
            }
            self.built = true;
        }
        let ns = &pod.meta.namespace;
        let want = wanted(pod);
        let missing = want
            .iter()
            .filter(|terms| self.matching(ns, terms).is_none())
            .count();
        if missing == 0 {
            return;
        }
        if self.matchers.len() + missing > MAX_MATCHERS {
            // Start over, keeping room for every set this pod reads.
            self.matchers.clear();
        }
        for terms in want {
            if self.matching(ns, terms).is_some() {
                continue;
            }
            let mut m = Matcher {
                namespace: ns.clone(),
                terms: terms.to_vec(),
                counts: terms.iter().map(|_| Arc::default()).collect(),
            };
            for n in nodes.clone() {
                for p in &n.pods {
                    m.on_pod(&n.node, p, 1);
                }
            }
            self.matchers.push(m);
        }
    }

    /// A pod was added to (`sign` = 1) or removed from (−1) `node`'s info.
    pub fn on_pod(&mut self, node: &Node, pod: &Pod, sign: i64) {
        if !self.built {
            return;
        }
        self.add_owned(node, pod, sign);
        for m in &mut self.matchers {
            m.on_pod(node, pod, sign);
        }
    }

    fn add_owned(&mut self, node: &Node, pod: &Pod, sign: i64) {
        let labels = &node.meta.labels;
        let ns = &pod.meta.namespace;
        for (kind, term) in owned_terms(pod) {
            let Some(v) = labels.get(&term.topology_key) else {
                continue;
            };
            let at = self.groups.iter().position(|g| {
                g.kind == kind
                    && g.term.topology_key == term.topology_key
                    && g.owner_ns == *ns
                    && g.term == *term
            });
            let i = match at {
                Some(i) => i,
                None => {
                    self.groups.push(Group {
                        kind,
                        owner_ns: ns.clone(),
                        term: term.clone(),
                        counts: Arc::new(DomainCounts::new()),
                        total: 0,
                    });
                    self.groups.len() - 1
                }
            };
            let g = &mut self.groups[i];
            bump(&mut g.counts, v, sign);
            g.total += sign;
            if g.total == 0 {
                self.groups.remove(i);
            }
        }
    }

    /// Node labels changed or a node left: start over.
    pub fn clear(&mut self) {
        self.built = false;
        self.groups.clear();
        self.matchers.clear();
    }

    /// Per term, the pods in `namespace`'s view matching every one of `terms`, by the term's
    /// topology value; None if this term set is not kept.
    pub fn matching(
        &self,
        namespace: &str,
        terms: &[PodAffinityTerm],
    ) -> Option<&[Arc<DomainCounts>]> {
        self.matchers
            .iter()
            .find(|m| m.namespace == namespace && m.terms == terms)
            .map(|m| m.counts.as_slice())
    }

    /// The required anti-affinity terms of existing pods that `pod` matches, with their
    /// owners per topology value (upstream's existingAntiAffinityCounts, by term).
    pub fn existing_anti(&self, pod: &Pod) -> Option<Vec<KeyedCounts>> {
        self.built.then(|| {
            self.groups
                .iter()
                .filter(|g| g.kind == Kind::RequiredAnti && term_matches(&g.term, &g.owner_ns, pod))
                .map(|g| KeyedCounts {
                    key: g.term.topology_key.clone(),
                    counts: g.counts.clone(),
                })
                .collect()
        })
    }

    /// PreScore's symmetric part: existing pods' required affinity (at `hard_weight`, if
    /// positive) and preferred terms that `pod` matches, as (key, weight, owners per value).
    pub fn symmetric_score_parts(
        &self,
        pod: &Pod,
        hard_weight: i64,
        parts: &mut Vec<(String, i64, Arc<DomainCounts>)>,
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
                parts.push((g.term.topology_key.clone(), w, g.counts.clone()));
            }
        }
        Some(())
    }
}

impl Matcher {
    fn on_pod(&mut self, node: &Node, pod: &Pod, sign: i64) {
        if !self
            .terms
            .iter()
            .all(|t| term_matches(t, &self.namespace, pod))
        {
            return;
        }
        for (t, c) in self.terms.iter().zip(self.counts.iter_mut()) {
            if let Some(v) = node.meta.labels.get(&t.topology_key) {
                bump(c, v, sign);
            }
        }
    }
}
