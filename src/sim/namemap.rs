//! A map by name that is walked in name order and found by hash: a `BTreeMap` of the names
//! (for order and ranges) next to a [`LookupMap`] from name to a slot that holds the value.
//!
//! Architecture invariant: every walk ([`NameMap::iter`], `keys`, `values`, `range`) goes
//! through the name-ordered index, exactly as a `BTreeMap<String, V>` walks; the hash index
//! is only searched, never walked, so the hash cannot reach a decision or an output. The one
//! walk in slot order, [`NameMap::slots`], is for folds whose result cannot depend on the
//! order (the samplers' sums and counts) and for memos kept by slot number; a slot keeps its
//! name until that name is removed ([`NameMap::removals`] counts removals, so a memo can tell).
//! Replacing the value of an existing name (`get_mut`, `insert` over it) touches only the hash
//! index; only adding or removing a name touches the ordered one.
//!
//! Why: the API server's stores and the informer caches are ordered by name because
//! controllers list in that order, but nearly every access is a lookup or an in-place update
//! of one object by name (a status write, a bind, a watch notification). A `BTreeMap` of
//! `namespace/name` strings pays ~17 string comparisons for each, over a long shared prefix
//! (docs/performance.md, round 7). The ordered index is keyed by [`NameKey`], which sorts
//! exactly as the string but compares the first 16 bytes as two integers before it reads the
//! rest, so a name search no longer calls `memcmp` at every level of the tree.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Bound, Deref, Index, RangeBounds};
use std::sync::Arc;

use super::lookup::LookupMap;

/// A name (`S` holds the string: `String`, or `Arc<str>` to share it between indexes) that
/// sorts exactly as the string does, byte by byte, but compares faster: its first 16 bytes,
/// zero-padded, are kept as two big-endian integers and compared first; only names whose
/// first 16 bytes agree are compared as strings.
///
/// Why this is exact: if the padded heads differ, their first difference is at some byte
/// i < 16; where both names have a byte i, it is the first difference of the names too; where
/// one (say a) ends before i, a is a proper prefix of b and b's byte i is a real byte > 0 =
/// a's padding, so a < b both ways. Equal heads fall back to the full string comparison.
#[derive(Clone)]
pub struct NameKey<S = String> {
    head: [u64; 2],
    name: S,
}

/// A pod key shared by several indexes: one allocation, cloned by reference count.
pub type SharedKey = NameKey<Arc<str>>;

impl<S: Borrow<str>> NameKey<S> {
    #[inline]
    pub fn new(name: S) -> Self {
        let b = name.borrow().as_bytes();
        let mut pad = [0u8; 16];
        let n = b.len().min(16);
        pad[..n].copy_from_slice(&b[..n]);
        let hi = u64::from_be_bytes([
            pad[0], pad[1], pad[2], pad[3], pad[4], pad[5], pad[6], pad[7],
        ]);
        let lo = u64::from_be_bytes([
            pad[8], pad[9], pad[10], pad[11], pad[12], pad[13], pad[14], pad[15],
        ]);
        NameKey {
            head: [hi, lo],
            name,
        }
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        self.name.borrow()
    }
}

impl SharedKey {
    /// A shared key for `name` (one allocation).
    pub fn shared(name: &str) -> Self {
        NameKey::new(Arc::from(name))
    }
}

impl<S: Borrow<str>> PartialEq for NameKey<S> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head && self.as_str() == other.as_str()
    }
}

impl<S: Borrow<str>> Eq for NameKey<S> {}

impl<S: Borrow<str>> PartialOrd for NameKey<S> {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<S: Borrow<str>> Ord for NameKey<S> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        match self.head.cmp(&other.head) {
            Ordering::Equal => self.as_str().cmp(other.as_str()),
            o => o,
        }
    }
}

impl<S: Borrow<str>> Deref for NameKey<S> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

// The orders agree (above), as `Borrow` requires: a map keyed by `NameKey` can be searched
// by `&str` (or `&String`).
impl<S: Borrow<str>> Borrow<str> for NameKey<S> {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<String> for NameKey<String> {
    fn borrow(&self) -> &String {
        &self.name
    }
}

impl<S: Borrow<str>> fmt::Debug for NameKey<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<S: Borrow<str>> fmt::Display for NameKey<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

/// `namespace/name` (or any string key) → `V`, in name order for walks, by hash for lookups.
#[derive(Clone)]
pub struct NameMap<V> {
    order: BTreeMap<NameKey, u32>,
    index: LookupMap<String, u32>,
    slots: Vec<Option<V>>,
    free: Vec<u32>,
    /// Names removed so far (each frees a slot that a later name may take).
    removals: u64,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap {
            order: BTreeMap::new(),
            index: LookupMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            removals: 0,
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for NameMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: PartialEq> PartialEq for NameMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<V> NameMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    #[inline]
    fn slot(&self, i: u32) -> &V {
        self.slots[i as usize]
            .as_ref()
            .expect("NameMap: an indexed slot holds a value")
    }

    #[inline]
    pub fn get(&self, key: &str) -> Option<&V> {
        self.index.get(key).map(|&i| self.slot(i))
    }

    #[inline]
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let i = *self.index.get(key)?;
        self.slots[i as usize].as_mut()
    }

    #[inline]
    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Inserts or replaces; returns the value replaced. A replacement allocates nothing and
    /// leaves the name order untouched; a new name is hashed once and searched once in the
    /// order.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        let (slots, free, order) = (&mut self.slots, &mut self.free, &mut self.order);
        let mut value = Some(value);
        let found = self.index.get_or_insert_with(key, |key| {
            let value = value.take();
            let i = match free.pop() {
                Some(i) => {
                    slots[i as usize] = value;
                    i
                }
                None => {
                    let i = u32::try_from(slots.len()).expect("NameMap: fewer than 2^32 names");
                    slots.push(value);
                    i
                }
            };
            order.insert(NameKey::new(key.clone()), i);
            i
        });
        match found {
            Ok(&mut i) => {
                let value = value
                    .take()
                    .expect("NameMap: a replacement keeps its value");
                slots[i as usize].replace(value)
            }
            Err(_) => None,
        }
    }

    /// Removes a name: the hash index gives back its own copy of the name, so the ordered
    /// index is searched by a [`NameKey`] without an allocation.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let (name, i) = self.index.remove_entry(key)?;
        self.order.remove(&NameKey::new(name));
        self.free.push(i);
        self.removals += 1;
        self.slots[i as usize].take()
    }

    /// Every value with its slot number, in slot order — *not* name order: only for folds
    /// whose result does not depend on the order (sums, counts) and for memos kept by slot.
    /// A name keeps its slot while it stays in the map.
    pub fn slots(&self) -> impl Iterator<Item = (usize, &V)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
    }

    /// One more than the highest slot number in use (a length for memos kept by slot).
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The slot that holds `key`'s value.
    pub fn slot_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).map(|&i| i as usize)
    }

    /// The value in slot `slot`, if that slot is in use.
    pub fn at_slot(&self, slot: usize) -> Option<&V> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    /// How many names have been removed so far: while it is unchanged, every slot a memo found
    /// for a name still holds that name's value.
    pub fn removals(&self) -> u64 {
        self.removals
    }

    /// Entries in name order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            order: self.order.iter(),
            slots: &self.slots,
        }
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + '_ {
        self.order.keys().map(|k| &k.name)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.order.values().map(|&i| self.slot(i))
    }

    /// Entries whose names are in `range`, in name order (as `BTreeMap::range`).
    pub fn range<Q, R>(&self, range: R) -> impl DoubleEndedIterator<Item = (&String, &V)> + '_
    where
        Q: Ord + ?Sized,
        NameKey: Borrow<Q>,
        R: RangeBounds<Q>,
    {
        self.order
            .range(range)
            .map(|(k, &i)| (&k.name, self.slot(i)))
    }

    /// Entries whose name starts with `prefix`, in name order.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a V)> + 'a {
        self.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
    }
}

impl<V> Index<&str> for NameMap<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        self.get(key)
            .unwrap_or_else(|| panic!("NameMap: no entry {key:?}"))
    }
}

impl<V> FromIterator<(String, V)> for NameMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut m = NameMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// The entries of a [`NameMap`] in name order.
pub struct Iter<'a, V> {
    order: std::collections::btree_map::Iter<'a, NameKey, u32>,
    slots: &'a [Option<V>],
}

impl<'a, V> Iter<'a, V> {
    #[inline]
    fn entry(&self, (k, &i): (&'a NameKey, &'a u32)) -> (&'a String, &'a V) {
        let v = self.slots[i as usize]
            .as_ref()
            .expect("NameMap: an indexed slot holds a value");
        (&k.name, v)
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a String, &'a V);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let e = self.order.next()?;
        Some(self.entry(e))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let e = self.order.next_back()?;
        Some(self.entry(e))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

impl<'a, V> IntoIterator for &'a NameMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = Iter<'a, V>;
    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The map behaves as a `BTreeMap<String, V>` under any sequence of inserts, replacements
    /// and removals (slots are reused), and walks in the same order.
    #[test]
    fn agrees_with_a_btreemap_under_churn() {
        let mut m: NameMap<u64> = NameMap::new();
        let mut b: BTreeMap<String, u64> = BTreeMap::new();
        let mut r = crate::sim::rng::stream(12345, "test/namemap");
        for step in 0..20_000u64 {
            let x = rand::RngCore::next_u64(&mut r);
            let k = format!("ns-{}/pod-{}", (x >> 40) % 3, (x >> 20) % 500);
            match (x >> 60) % 4 {
                0 | 1 => assert_eq!(m.insert(k.clone(), step), b.insert(k, step)),
                2 => assert_eq!(m.remove(&k), b.remove(&k)),
                _ => {
                    if let Some(v) = m.get_mut(&k) {
                        *v += 1;
                    }
                    if let Some(v) = b.get_mut(&k) {
                        *v += 1;
                    }
                }
            }
            assert_eq!(m.len(), b.len());
        }
        assert!(m.iter().eq(b.iter()));
        assert!(m.iter().rev().eq(b.iter().rev()));
        let b1 = b.iter().filter(|(k, _)| k.starts_with("ns-1/"));
        assert!(m.with_prefix("ns-1/").eq(b1));
        assert!(m
            .range::<str, _>((Bound::Included("ns-1/"), Bound::Excluded("ns-2/")))
            .eq(b.range::<str, _>((Bound::Included("ns-1/"), Bound::Excluded("ns-2/")))));
        for (k, v) in &b {
            assert_eq!(m.get(k), Some(v));
            assert_eq!(m[k.as_str()], *v);
        }
        assert_eq!(m.get("ns-9/none"), None);
        // The slot walk holds the same entries (in another order), each at its name's slot.
        let mut by_slot: Vec<(usize, u64)> = m.slots().map(|(i, v)| (i, *v)).collect();
        assert_eq!(by_slot.len(), b.len());
        for (k, v) in &b {
            let i = m.slot_of(k).expect("every name has a slot");
            assert!(i < m.slot_count());
            assert_eq!(m.at_slot(i), Some(v));
        }
        by_slot.sort_unstable();
        by_slot.dedup_by_key(|e| e.0);
        assert_eq!(by_slot.len(), b.len());
        assert!(m.removals() > 0);
    }

    /// `NameKey` sorts exactly as the strings, for names shorter than, as long as and longer
    /// than its 16-byte head, with shared prefixes, NUL bytes and non-ASCII text.
    #[test]
    fn name_keys_sort_as_their_strings() {
        let mut names: Vec<String> = vec![
            String::new(),
            "\0".into(),
            "a".into(),
            "a\0".into(),
            "a\0\0".into(),
            "\u{10FFFF}".into(),
            "é".into(),
            "default/web-".into(),
            "default/web-\0".into(),
            "default/web-bcdf".into(),
            "default/web-bcdfg".into(),
            "default/web-bcdfg\0".into(),
            "default/web-bcdfgh".into(),
            "default/web-bcdf\u{7f}".into(),
        ];
        let mut r = crate::sim::rng::stream(99, "test/namemap");
        for _ in 0..3000 {
            let x = rand::RngCore::next_u64(&mut r);
            let len = (x >> 58) as usize % 24;
            let s: String = (0..len)
                .map(|j| {
                    let c = (x >> ((j * 3) % 50)) & 7;
                    ['\0', 'a', 'b', '/', '-', 'z', '\u{ff}', '\u{10FFFF}'][c as usize]
                })
                .collect();
            names.push(["default/web-", &s].concat());
            names.push(s);
        }
        for a in &names {
            for b in names.iter().step_by(7) {
                let (ka, kb) = (NameKey::new(a.clone()), SharedKey::shared(b));
                let kb2 = NameKey::new(b.clone());
                assert_eq!(ka.cmp(&kb2), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(ka == kb2, a == b);
                assert_eq!(SharedKey::shared(a).cmp(&kb), a.cmp(b));
            }
        }
    }
}
