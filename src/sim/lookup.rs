//! A map for lookups only: O(1) `get`/`insert`/`remove` by a fixed hash, and no way to iterate.
//!
//! Architecture invariant: a [`LookupMap`] exposes no iteration, so the order its entries are
//! stored in (hash and removal order) can never reach a decision or an output, and a run stays a
//! pure function of its inputs and seed. Use it where a component only finds things by name (a
//! node's slot, a pod's graph node); keep a `BTreeMap` wherever anything walks the map in name
//! order. The hasher is fixed (no per-process random key), so even the memory layout is the
//! same from run to run.
//!
//! Why: ordered maps of `namespace/name` strings cost ~17 string comparisons per lookup at
//! 150,000 pods, and pods of one ReplicaSet share a long common prefix, so every comparison
//! reads it all (docs/performance.md, round 6).

use std::borrow::Borrow;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use indexmap::IndexMap;

/// A small multiply-rotate hasher (the Fx hash of rustc and Firefox): fast on short keys and
/// fixed, so lookups cost the same in every run. Not resistant to chosen collisions; the keys
/// are the scenario's own object names.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;

/// Key → value, found by hash; see the module header for why it cannot be iterated.
#[derive(Clone, Debug)]
pub struct LookupMap<K, V> {
    map: IndexMap<K, V, FxBuild>,
}

impl<K, V> Default for LookupMap<K, V> {
    fn default() -> Self {
        LookupMap {
            map: IndexMap::default(),
        }
    }
}

impl<K: Hash + Eq, V> LookupMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        LookupMap {
            map: IndexMap::with_capacity_and_hasher(n, FxBuild::default()),
        }
    }

    #[inline]
    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(k)
    }

    #[inline]
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(k)
    }

    #[inline]
    pub fn contains_key<Q>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(k)
    }

    /// Inserts or replaces; returns the value replaced.
    #[inline]
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.map.insert(k, v)
    }

    /// The value of `k` if present (`Ok`, `k` dropped); otherwise inserts `make(&k)` under
    /// `k` (`Err`, the new value). One hash and one probe either way.
    #[inline]
    pub fn get_or_insert_with(
        &mut self,
        k: K,
        make: impl FnOnce(&K) -> V,
    ) -> Result<&mut V, &mut V> {
        match self.map.entry(k) {
            indexmap::map::Entry::Occupied(o) => Ok(o.into_mut()),
            indexmap::map::Entry::Vacant(v) => {
                let value = make(v.key());
                Err(v.insert(value))
            }
        }
    }

    #[inline]
    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.swap_remove(k)
    }

    /// Removes `k`; returns the stored key with its value.
    #[inline]
    pub fn remove_entry<Q>(&mut self, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.swap_remove_entry(k)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted_and_forgets_what_was_removed() {
        let mut m: LookupMap<String, u32> = LookupMap::new();
        for i in 0..1000u32 {
            assert_eq!(m.insert(format!("default/app-{i}"), i), None);
        }
        assert_eq!(m.insert("default/app-7".into(), 70), Some(7));
        for i in (0..1000u32).step_by(2) {
            assert!(m.remove(&format!("default/app-{i}")).is_some());
        }
        assert_eq!(m.len(), 500);
        assert_eq!(m.get("default/app-7"), Some(&70));
        assert_eq!(m.get("default/app-8"), None);
        assert!(m.contains_key("default/app-999"));
        *m.get_mut("default/app-999").unwrap() += 1;
        assert_eq!(m.get("default/app-999"), Some(&1000));
        assert_eq!(
            m.get_or_insert_with("default/app-7".into(), |_| 0),
            Ok(&mut 70)
        );
        assert_eq!(
            m.get_or_insert_with("default/app-8".into(), |k| k.len() as u32),
            Err(&mut 13)
        );
        assert_eq!(m.get("default/app-8"), Some(&13));
    }

    #[test]
    fn the_hash_is_fixed() {
        // No random key: two hashers of the same bytes agree, different bytes differ.
        let mut h = FxHasher::default();
        h.write(b"default/app-1");
        let a = h.finish();
        let mut h2 = FxHasher::default();
        h2.write(b"default/app-1");
        assert_eq!(a, h2.finish());
        let mut h3 = FxHasher::default();
        h3.write(b"default/app-2");
        assert_ne!(a, h3.finish());
    }
}
