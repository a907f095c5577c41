//! Per-node state of the node lifecycle controller by node uid, in dense slots: a record lives
//! in a `Vec` slot given at first sight and is found through a hash index of uids (never
//! walked). A monitor pass looks up several of these per node it visits; an ordered map of
//! 100,000 uids costs a walk down a B-tree (a cache miss at each level) for each.
//!
//! Invariant: the entries are exactly those of a `BTreeMap<u64, V>` given the same inserts and
//! removals; walks go over the slots, so they are only for updates and folds whose outcome
//! cannot depend on the order ([`UidMap::values_mut`], [`UidMap::retain`]) or that pick by uid
//! ([`UidMap::first_by_uid`], what a walk in uid order finds first).

use crate::sim::lookup::LookupMap;

#[derive(Clone, Debug)]
pub(super) struct UidMap<V> {
    index: LookupMap<u64, u32>,
    slots: Vec<Option<(u64, V)>>,
    /// Free slots, taken last-freed first.
    free: Vec<u32>,
}

impl<V> Default for UidMap<V> {
    fn default() -> Self {
        UidMap {
            index: LookupMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<V> UidMap<V> {
    #[inline]
    pub fn get(&self, uid: &u64) -> Option<&V> {
        let &i = self.index.get(uid)?;
        self.slots[i as usize].as_ref().map(|(_, v)| v)
    }

    #[inline]
    pub fn get_mut(&mut self, uid: &u64) -> Option<&mut V> {
        let &i = self.index.get(uid)?;
        self.slots[i as usize].as_mut().map(|(_, v)| v)
    }

    /// The entry of `uid`, made with `make` if it has none; and whether it was made.
    pub fn get_or_insert_with(&mut self, uid: u64, make: impl FnOnce() -> V) -> (&mut V, bool) {
        let (i, made) = match self.index.get(&uid) {
            Some(&i) => (i, false),
            None => {
                let i = match self.free.pop() {
                    Some(i) => {
                        self.slots[i as usize] = Some((uid, make()));
                        i
                    }
                    None => {
                        self.slots.push(Some((uid, make())));
                        (self.slots.len() - 1) as u32
                    }
                };
                self.index.insert(uid, i);
                (i, true)
            }
        };
        let v = self.slots[i as usize]
            .as_mut()
            .map(|(_, v)| v)
            .expect("indexed");
        (v, made)
    }

    /// Sets the entry of `uid`.
    pub fn insert(&mut self, uid: u64, value: V) {
        let mut value = Some(value);
        let (v, made) = self.get_or_insert_with(uid, || value.take().expect("once"));
        if !made {
            *v = value.take().expect("unused");
        }
    }

    /// Keeps the entries whose uid `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some((uid, _)) = slot {
                if !keep(*uid) {
                    self.index.remove(uid);
                    *slot = None;
                    self.free.push(i as u32);
                }
            }
        }
    }

    /// Every value, in slot order (no meaning: for updates that do not depend on it).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.slots.iter_mut().flatten().map(|(_, v)| v)
    }

    /// The value of least uid among those `pred` accepts (the first a walk in uid order finds).
    pub fn first_by_uid(&self, pred: impl Fn(&V) -> bool) -> Option<&V> {
        self.slots
            .iter()
            .flatten()
            .filter(|(_, v)| pred(v))
            .min_by_key(|(uid, _)| *uid)
            .map(|(_, v)| v)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The map equals a `BTreeMap` given the same inserts, updates and retains (the plain
    /// computation), whatever the order of slot reuse.
    #[test]
    fn uid_map_matches_a_btree_map() {
        let mut m: UidMap<u64> = UidMap::default();
        let mut plain: BTreeMap<u64, u64> = BTreeMap::new();
        let mut r = crate::sim::rng::stream(7, "test/uidmap");
        for step in 0..3_000u64 {
            let x = rand::RngCore::next_u64(&mut r);
            let uid = (x >> 33) % 97;
            match step % 7 {
                0..=2 => {
                    let (v, made) = m.get_or_insert_with(uid, || step);
                    assert_eq!(made, !plain.contains_key(&uid));
                    let p = plain.entry(uid).or_insert(step);
                    *v += 1;
                    *p += 1;
                }
                3 => {
                    m.insert(uid, step);
                    plain.insert(uid, step);
                }
                4 => {
                    if let (Some(v), Some(p)) = (m.get_mut(&uid), plain.get_mut(&uid)) {
                        *v *= 3;
                        *p *= 3;
                    }
                }
                5 => {
                    let cut = (x >> 20) % 5;
                    m.retain(|u| u % 5 != cut);
                    plain.retain(|u, _| u % 5 != cut);
                }
                _ => {
                    for v in m.values_mut() {
                        *v += 2;
                    }
                    for v in plain.values_mut() {
                        *v += 2;
                    }
                }
            }
            assert_eq!(m.len(), plain.len());
            for u in 0..97 {
                assert_eq!(m.get(&u), plain.get(&u), "step {step} uid {u}");
            }
            let odd = |v: &u64| v % 2 == 1;
            let first = plain.iter().find(|(_, v)| odd(v)).map(|(_, v)| v);
            assert_eq!(m.first_by_uid(odd), first);
        }
    }
}
