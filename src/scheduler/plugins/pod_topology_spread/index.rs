//! A cache of PodTopologySpread's cluster-wide counts: for a (namespace, selector, topology key),
//! the number of matching, non-terminating pods in each domain (value of the key; nodes without
//! the key count under ""), over all nodes. Upstream recounts every pod on every node in each
//! PreFilter/PreScore (reference scheduler §2.8); kubesim keeps the counts and updates them as
//! pods are assumed, bound and deleted, so a cycle costs O(feasible nodes), not O(pods).
//!
//! The plugin uses an entry only where the upstream count would cover every node: the pod has
//! no nodeSelector / required node affinity (or the constraint ignores it) and the constraint
//! ignores taints. Node changes drop every entry (they are rebuilt on demand).
//!
//! It also interns each requested topology key's values per snapshot slot ([`Domains`]), so
//! PodTopologySpread's filter can decide a node by two array reads instead of two string-keyed
//! map lookups (the node's label, then the domain's count).
//!
//! Invariant: an entry's counts equal what counting every node's pods now would give (the
//! scheduler updates them on every assume, bind and removal through `on_pod`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{LabelSelector, Pod};
use crate::scheduler::plugins::NodeInfo;

/// At most this many entries are kept; past it the cache starts over.
const MAX_ENTRIES: usize = 64;

#[derive(Clone, Debug)]
pub struct SpreadEntry {
    pub namespace: String,
    pub selector: LabelSelector,
    pub key: String,
    /// Matching pods by interned domain id of the key ([`Domains`] at `domains_at`); the last
    /// element counts the nodes without the key ([`NO_DOMAIN`]). By value: `SpreadIndex::count`.
    pub by_domain: Vec<i64>,
    /// Where the key's [`Domains`] are in the index.
    pub domains_at: usize,
}

impl SpreadEntry {
    /// Matching pods in the domain with this id ([`NO_DOMAIN`]: nodes without the key).
    #[inline]
    pub fn count_of(&self, domain: u32) -> i64 {
        let i = if domain == NO_DOMAIN {
            self.by_domain.len() - 1
        } else {
            domain as usize
        };
        self.by_domain[i]
    }
}

/// Slot has no value for the key (no such label, or no node in the slot).
pub const NO_DOMAIN: u32 = u32::MAX;

/// A topology key's values interned: `of_slot[slot]` is the domain id of the node in that
/// snapshot slot ([`NO_DOMAIN`] without the label), `values[id]` its value. Ids are given in
/// slot order of first appearance (deterministic).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Domains {
    pub key: String,
    pub of_slot: Arc<[u32]>,
    pub values: Vec<String>,
    /// Value → id (the inverse of `values`).
    pub ids: BTreeMap<String, u32>,
    /// Some node has the key with the empty value, which upstream's string-keyed counts merge
    /// with "no label"; id-keyed readers fall back to the strings then.
    pub has_empty_value: bool,
    /// Some slot of `of_slot` is [`NO_DOMAIN`] (a node without the key, or no node).
    pub missing: bool,
}

impl Domains {
    /// At most how many distinct ids (with [`NO_DOMAIN`]) slots below `slots` can have; None
    /// when `of_slot` does not cover them all.
    pub fn max_distinct(&self, slots: usize) -> Option<usize> {
        (self.of_slot.len() >= slots).then_some(self.values.len() + usize::from(self.missing))
    }
}

#[derive(Clone, Debug, Default)]
pub struct SpreadIndex {
    entries: Vec<SpreadEntry>,
    domains: Vec<Domains>,
}

fn counts_pod(e: &SpreadEntry, pod: &Pod) -> bool {
    pod.meta.namespace == e.namespace
        && !pod.is_terminating()
        && e.selector.matches(&pod.meta.labels)
}

impl SpreadIndex {
    /// Where the entry is, so a cycle can look it up once (entries move only between cycles).
    pub fn position(&self, namespace: &str, selector: &LabelSelector, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.key == key && e.namespace == namespace && e.selector == *selector)
    }

    pub fn entry(&self, i: usize) -> Option<&SpreadEntry> {
        self.entries.get(i)
    }

    pub fn get(
        &self,
        namespace: &str,
        selector: &LabelSelector,
        key: &str,
    ) -> Option<&SpreadEntry> {
        self.entries
            .iter()
            .find(|e| e.key == key && e.namespace == namespace && e.selector == *selector)
    }

    /// Builds the entry from the node infos in the snapshot slots if it is not cached yet
    /// (interning the key's values first).
    pub fn ensure(
        &mut self,
        namespace: &str,
        selector: &LabelSelector,
        key: &str,
        slots: &[Option<NodeInfo>],
    ) {
        if self.get(namespace, selector, key).is_some() {
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.ensure_domains(key, slots);
        let domains_at = self
            .domains
            .iter()
            .position(|d| d.key == key)
            .expect("interned just above");
        let dm = &self.domains[domains_at];
        let mut e = SpreadEntry {
            namespace: namespace.to_string(),
            selector: selector.clone(),
            key: key.to_string(),
            by_domain: vec![0; dm.values.len() + 1],
            domains_at,
        };
        for (slot, n) in slots.iter().enumerate() {
            let Some(n) = n else { continue };
            let c = n.pods.iter().filter(|p| counts_pod(&e, p)).count() as i64;
            let i = match dm.of_slot[slot] {
                NO_DOMAIN => dm.values.len(),
                d => d as usize,
            };
            e.by_domain[i] += c;
        }
        self.entries.push(e);
    }

    /// Interns `key`'s values over the snapshot slots if not done since the last node change.
    pub fn ensure_domains(&mut self, key: &str, slots: &[Option<NodeInfo>]) {
        if self.domains.iter().any(|d| d.key == key) {
            return;
        }
        let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
        let mut values = Vec::new();
        let mut has_empty_value = false;
        let of_slot: Vec<u32> = slots
            .iter()
            .map(|s| {
                let Some(v) = s.as_ref().and_then(|n| n.node.meta.labels.get(key)) else {
                    return NO_DOMAIN;
                };
                has_empty_value |= v.is_empty();
                *ids.entry(v.as_str()).or_insert_with(|| {
                    values.push(v.clone());
                    (values.len() - 1) as u32
                })
            })
            .collect();
        let ids = ids.into_iter().map(|(v, d)| (v.to_string(), d)).collect();
        self.domains.push(Domains {
            missing: of_slot.contains(&NO_DOMAIN),
            ids,
            key: key.to_string(),
            of_slot: of_slot.into(),
            values,
            has_empty_value,
        });
    }

    pub fn domains(&self, key: &str) -> Option<&Domains> {
        self.domains.iter().find(|d| d.key == key)
    }

    /// The entry's matching pods in the domain `value` (`""`: the nodes without the key, with
    /// those whose value is empty, as upstream's string-keyed counts merge them); 0 for a value
    /// no node has.
    pub fn count(&self, e: &SpreadEntry, value: &str) -> i64 {
        let dm = &self.domains[e.domains_at];
        let named = dm.ids.get(value).map_or(0, |&d| e.by_domain[d as usize]);
        if value.is_empty() {
            named + e.count_of(NO_DOMAIN)
        } else {
            named
        }
    }

    /// The entry's counts by value over the non-empty values of the key on the nodes.
    pub fn counts(&self, e: &SpreadEntry) -> BTreeMap<String, i64> {
        let dm = &self.domains[e.domains_at];
        dm.ids
            .iter()
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, &d)| (v.clone(), e.by_domain[d as usize]))
            .collect()
    }

    /// A pod was added to (`sign` = 1) or removed from (−1) the node in snapshot slot `slot`
    /// (whose labels the interned domains hold: a label change clears the index).
    pub fn on_pod(&mut self, slot: usize, pod: &Pod, sign: i64) {
        for e in &mut self.entries {
            if counts_pod(e, pod) {
                let dm = &self.domains[e.domains_at];
                let i = match dm.of_slot.get(slot).copied().unwrap_or(NO_DOMAIN) {
                    NO_DOMAIN => dm.values.len(),
                    d => d as usize,
                };
                e.by_domain[i] += sign;
            }
        }
    }

    /// Node set or labels changed: start over.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.domains.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::plugins::testutil::*;

    #[test]
    fn counts_follow_pod_changes() {
        let n1 = label(node("a", 0, 0, &[]), "zone", "z1");
        let n2 = node("b", 0, 0, &[]);
        let p = labels(on(pod("p1", &[]), "a"), &[("app", "web")]);
        let snap = OwnedSnapshot::new(vec![n1, n2], vec![p.clone()]);
        let mut idx = SpreadIndex::default();
        let sel = selector(&[("app", "web")]);
        idx.ensure("default", &sel, "zone", &snap.slots);
        let e = idx.get("default", &sel, "zone").unwrap();
        assert_eq!(idx.count(e, "z1"), 1);
        assert_eq!(idx.count(e, ""), 0);
        assert_eq!(idx.counts(e), BTreeMap::from([("z1".to_string(), 1)]));
        idx.on_pod(0, &p, 1);
        idx.on_pod(0, &p, 1);
        idx.on_pod(0, &p, -1);
        idx.on_pod(1, &p, 1);
        let e = idx.get("default", &sel, "zone").unwrap();
        assert_eq!(idx.count(e, "z1"), 2);
        assert_eq!(idx.count(e, ""), 1);
        assert_eq!(idx.count(e, "z9"), 0);
        assert_eq!(e.count_of(idx.domains("zone").unwrap().of_slot[0]), 2);
        assert_eq!(e.count_of(NO_DOMAIN), 1);
        let mut other = p.clone();
        other.meta.namespace = "x".into();
        idx.on_pod(0, &other, 1);
        let e = idx.get("default", &sel, "zone").unwrap();
        assert_eq!(idx.count(e, "z1"), 2);
    }

    #[test]
    fn domains_intern_values_per_slot() {
        let a = label(node("a", 0, 0, &[]), "zone", "z2");
        let b = node("b", 0, 0, &[]);
        let c = label(node("c", 0, 0, &[]), "zone", "z1");
        let d = label(node("d", 0, 0, &[]), "zone", "z2");
        let mut snap = OwnedSnapshot::new(vec![a, b, c, d], vec![]);
        snap.slots.insert(1, None);
        let mut idx = SpreadIndex::default();
        idx.ensure_domains("zone", &snap.slots);
        let dm = idx.domains("zone").unwrap();
        assert_eq!(&*dm.of_slot, &[0, NO_DOMAIN, NO_DOMAIN, 1, 0]);
        assert_eq!(dm.values, vec!["z2".to_string(), "z1".to_string()]);
        idx.clear();
        assert!(idx.domains("zone").is_none());
    }
}
