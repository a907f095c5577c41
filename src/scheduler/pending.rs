//! The pods waiting for a node (the scheduler's view of unassigned pods), by key: found by
//! hash, stored in slots, and walked in key order only where the scheduler needs a walk (a new
//! term's queue, the GPU plugins' typical pods — both rare).
//!
//! Invariant: `walk` yields every pending pod once, in key order — exactly what a
//! `BTreeMap<String, Arc<Pod>>` of the same entries walks; the hash index is never walked and
//! the slots are walked only to be sorted, so neither order reaches a decision. Every key is
//! its pod's own key (`Pod::key`).
//!
//! Why: each pod enters and leaves this set once (150,000 and 1,000,000 times in the
//! benches); an ordered index paid a B-tree insert, a remove and a key copy for each, for
//! walks that happen a few times a run.

use std::sync::Arc;

use crate::model::Pod;
use crate::sim::lookup::LookupMap;

#[derive(Default)]
pub(super) struct Pending {
    index: LookupMap<String, u32>,
    slots: Vec<Option<Arc<Pod>>>,
    free: Vec<u32>,
}

impl Pending {
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    #[inline]
    pub(super) fn get(&self, key: &str) -> Option<&Arc<Pod>> {
        self.index
            .get(key)
            .and_then(|&i| self.slots[i as usize].as_ref())
    }

    /// Inserts or replaces `key`'s pod; returns the pod replaced. `pod.key()` must be `key`.
    pub(super) fn insert(&mut self, key: String, pod: Arc<Pod>) -> Option<Arc<Pod>> {
        debug_assert!(pod.has_key(&key), "Pending: {key} holds another pod");
        let (slots, free) = (&mut self.slots, &mut self.free);
        let mut pod = Some(pod);
        match self.index.get_or_insert_with(key, |_| {
            let value = pod.take();
            match free.pop() {
                Some(i) => {
                    slots[i as usize] = value;
                    i
                }
                None => {
                    let i = u32::try_from(slots.len()).expect("Pending: fewer than 2^32 pods");
                    slots.push(value);
                    i
                }
            }
        }) {
            Ok(&mut i) => slots[i as usize].replace(pod.take().expect("a replacement")),
            Err(_) => None,
        }
    }

    #[inline]
    pub(super) fn remove(&mut self, key: &str) -> Option<Arc<Pod>> {
        let i = self.index.remove(key)?;
        self.free.push(i);
        self.slots[i as usize].take()
    }

    /// Every pending pod with its key, in key order.
    pub(super) fn walk(&self) -> Vec<(String, Arc<Pod>)> {
        let mut all: Vec<(String, Arc<Pod>)> = self
            .slots
            .iter()
            .flatten()
            .map(|p| (p.key(), p.clone()))
            .collect();
        // Keys are unique: the sorted order does not depend on the slots' order.
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pod(ns: &str, name: &str, v: u64) -> Arc<Pod> {
        let mut p = Pod::default();
        p.meta.namespace = ns.into();
        p.meta.name = name.into();
        p.meta.resource_version = v;
        Arc::new(p)
    }

    // The store answers and walks as a plain BTreeMap of the same inserts and removes.
    #[test]
    fn pending_matches_a_btreemap() {
        let mut fast = Pending::default();
        let mut plain: BTreeMap<String, Arc<Pod>> = BTreeMap::new();
        let mut r = crate::sim::rng::stream(7, "test/pending");
        for step in 0..4000u64 {
            let x = rand::RngCore::next_u64(&mut r);
            let n = (x >> 33) % 300;
            let (ns, name) = (format!("ns{}", n % 3), format!("p-{n}"));
            let p = pod(&ns, &name, step);
            let key = p.key();
            if (x >> 20) % 3 == 0 {
                assert_eq!(
                    fast.remove(&key).map(|p| p.meta.resource_version),
                    plain.remove(&key).map(|p| p.meta.resource_version)
                );
            } else {
                assert_eq!(
                    fast.insert(key.clone(), p.clone())
                        .map(|p| p.meta.resource_version),
                    plain.insert(key, p).map(|p| p.meta.resource_version)
                );
            }
            assert_eq!(fast.len(), plain.len());
            if step % 97 == 0 {
                let walked: Vec<(String, u64)> = fast
                    .walk()
                    .into_iter()
                    .map(|(k, p)| (k, p.meta.resource_version))
                    .collect();
                let want: Vec<(String, u64)> = plain
                    .iter()
                    .map(|(k, p)| (k.clone(), p.meta.resource_version))
                    .collect();
                assert_eq!(walked, want);
                for k in plain.keys() {
                    assert!(Arc::ptr_eq(fast.get(k).unwrap(), &plain[k]));
                }
            }
        }
    }
}
