//! Small collections sized for the widget's download.
//!
//! Every patron downloads the engine as WebAssembly, and the standard
//! library's general-purpose tools are large there: each `HashMap` brings
//! hashbrown's SIMD-free table code, and each `sort` brings a pattern-defeating
//! quicksort and a merge sort, monomorphised per element type. The engine
//! needs neither: its maps are keyed by ids it borrows, and what it sorts is
//! a handful of channels or ids.

use std::borrow::Borrow;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sorts a short slice in place by a key. Stable.
///
/// Why it exists: `slice::sort_by_key` is a driftsort monomorphised per
/// element type, several KB of wasm each; the engine sorts only a few
/// channels, ids and storage keys at a time.
///
/// Insertion sort: O(n²), so use it for short lists (channels, record ids,
/// storage keys), never for basket lines.
pub fn sort_small_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_small_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Sorts a short slice in place with a comparison. Stable; see [`sort_small_by_key`].
pub fn sort_small_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && cmp(&v[j - 1], &v[j]) == std::cmp::Ordering::Greater {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Sorts a short slice. See [`sort_small_by_key`].
pub fn sort_small<T: Ord>(v: &mut [T]) {
    sort_small_by(v, T::cmp);
}

/// Sorts a short list and removes repeats. See [`sort_small_by_key`].
pub fn sort_dedup_small<T: Ord>(v: &mut Vec<T>) {
    sort_small(v);
    v.dedup();
}

/// A map from borrowed string keys to values, in insertion order.
///
/// Why it exists: the planner looks up partners, events and groups by the ids
/// it borrows from the config (first insert wins, so the first of a repeated
/// id is the one kept), over a basket that may be long, so it wants hashing
/// rather than a sorted list. `HashMap` brings hashbrown's table code and a
/// random hasher into the wasm, and `indexmap` brings hashbrown too; this is
/// the few dozen lines that job needs.
///
/// Open addressing with linear probing over FNV-1a hashes; the table holds
/// indices into `entries`, so iteration is in insertion order and removal is
/// not supported (the engine never removes).
#[derive(Clone, Debug)]
pub struct StrMap<'a, V> {
    /// 0 = empty; otherwise 1 + the index into `entries`. Length is a power of two.
    slots: Vec<u32>,
    entries: Vec<(&'a str, V)>,
}

impl<V> Default for StrMap<'_, V> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<'a, V> StrMap<'a, V> {
    pub fn with_capacity(n: usize) -> Self {
        let slots = (n * 2).next_power_of_two().max(8);
        StrMap {
            slots: vec![0; slots],
            entries: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The slot that holds `key`, or the empty slot where it would go.
    fn slot(&self, key: &str) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (fnv1a(key) as usize) & mask;
        loop {
            match self.slots[i] {
                0 => return i,
                n if self.entries[n as usize - 1].0 == key => return i,
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn index(&self, key: &str) -> Option<usize> {
        match self.slots[self.slot(key)] {
            0 => None,
            n => Some(n as usize - 1),
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.index(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.index(key).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.index(key).is_some()
    }

    /// Inserts `value` unless `key` is present. Returns the index of the
    /// entry and whether it was inserted now.
    fn insert_new(&mut self, key: &'a str, value: impl FnOnce() -> V) -> (usize, bool) {
        let slot = self.slot(key);
        if let n @ 1.. = self.slots[slot] {
            return (n as usize - 1, false);
        }
        self.entries.push((key, value()));
        let index = self.entries.len() - 1;
        self.slots[slot] = self.entries.len() as u32;
        if self.entries.len() * 2 > self.slots.len() {
            self.grow();
        }
        (index, true)
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let mask = size - 1;
        self.slots = vec![0; size];
        for (n, (key, _)) in self.entries.iter().enumerate() {
            let mut i = (fnv1a(key) as usize) & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = n as u32 + 1;
        }
    }

    /// Inserts `key → value` if `key` is new; else leaves the map as it is
    /// and returns the value already there.
    pub fn try_insert(&mut self, key: &'a str, value: V) -> Option<&V> {
        let (i, inserted) = self.insert_new(key, move || value);
        (!inserted).then(|| &self.entries[i].1)
    }

    /// The value for `key`, inserting `make()` first if `key` is new.
    pub fn get_or_insert_with(&mut self, key: &'a str, make: impl FnOnce() -> V) -> &mut V {
        let (i, _) = self.insert_new(key, make);
        &mut self.entries[i].1
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &V)> {
        self.entries.iter().map(|(k, v)| (*k, v))
    }
}

fn fnv1a(key: &str) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for b in key.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// A map kept as a list of pairs sorted by key.
///
/// The engine's maps are small (texts per locale, answers per question), and
/// `BTreeMap` costs about 50 KB of wasm before optimisation. Lookups are a
/// binary search; inserts shift the tail, which is cheap at these sizes.
/// Iteration is in key order, as with `BTreeMap`.
///
/// Why not `litemap::LiteMap`, which is the same structure: its serde format
/// is not a map's. In a human-readable format it writes an empty map as `[]`
/// (and any map whose keys are not strings or numbers as a list of pairs),
/// and it reads with `deserialize_any`, so a config or stored entry holding a
/// list where a map belongs would be accepted instead of refused with its
/// path. The config, the records and the stored outbox entries are JSON with
/// `{}` maps, read and written by serde_json and serde-wasm-bindgen; this type
/// keeps them exactly as `BTreeMap` would (the property test below checks it).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap(Vec::new())
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    pub fn get_key_value<Q: Ord + ?Sized>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| (&self.0[i].0, &self.0[i].1))
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// The value for `key`, inserting the default first if absent.
    pub fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key, V::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }
}

impl<K, V> VecMap<K, V> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
}

/// The iterator of [`VecMap::iter`].
pub type Iter<'a, K, V> =
    std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// Later duplicates replace earlier ones, as with `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = VecMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for VecMap<K, V> {
    type Output = V;
    /// Panics when the key is absent, like `BTreeMap`'s index; for tests.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("key present in VecMap")
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Visit<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut map = VecMap::new();
                while let Some((k, v)) = a.next_entry()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sort_small_is_stable() {
        let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (0, 'd'), (1, 'e')];
        sort_small_by_key(&mut v, |p| p.0);
        assert_eq!(v, [(0, 'd'), (1, 'b'), (1, 'e'), (2, 'a'), (2, 'c')]);
    }

    #[test]
    fn first_insert_wins() {
        let mut m = StrMap::default();
        assert_eq!(m.try_insert("a", 1), None);
        assert_eq!(m.try_insert("a", 2), Some(&1));
        assert_eq!(m.get("a"), Some(&1));
        *m.get_or_insert_with("b", || 5) += 1;
        *m.get_or_insert_with("b", || 50) += 1;
        assert_eq!(m.get("b"), Some(&7));
        assert_eq!(m.len(), 2);
        assert!(!m.contains_key("c"));
    }

    proptest! {
        /// Behaves like a std map that keeps the first value and the
        /// first-insertion order, across table growth.
        #[test]
        fn agrees_with_std(keys in proptest::collection::vec("[a-e]{0,3}", 0..200)) {
            let mut ours = StrMap::with_capacity(0);
            let mut reference = std::collections::HashMap::new();
            let mut order = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                ours.try_insert(k.as_str(), i);
                if !reference.contains_key(k.as_str()) {
                    reference.insert(k.as_str(), i);
                    order.push(k.as_str());
                }
            }
            prop_assert_eq!(ours.len(), reference.len());
            for (k, v) in &reference {
                prop_assert_eq!(ours.get(k), Some(v));
            }
            prop_assert_eq!(ours.iter().map(|(k, _)| k).collect::<Vec<_>>(), order);
            prop_assert_eq!(ours.get("zz"), None);
        }

        #[test]
        fn sort_dedup_agrees_with_std(mut v in proptest::collection::vec(0u8..20, 0..40)) {
            let mut expected = v.clone();
            expected.sort_unstable();
            expected.dedup();
            sort_dedup_small(&mut v);
            prop_assert_eq!(v, expected);
        }
    }

    proptest! {
        /// Behaves like BTreeMap under any mix of inserts and removals.
        #[test]
        fn vec_map_agrees_with_btree_map(ops in proptest::collection::vec((any::<bool>(), "[a-f]{0,2}", 0u8..9), 0..120)) {
            let mut ours = VecMap::new();
            let mut reference = std::collections::BTreeMap::new();
            for (insert, k, v) in ops {
                if insert {
                    prop_assert_eq!(ours.insert(k.clone(), v), reference.insert(k, v));
                } else {
                    prop_assert_eq!(ours.remove(k.as_str()), reference.remove(k.as_str()));
                }
            }
            prop_assert_eq!(ours.len(), reference.len());
            prop_assert!(ours.iter().eq(reference.iter()));
            for k in reference.keys() {
                prop_assert_eq!(ours.get(k.as_str()), reference.get(k));
            }
            let json = serde_json::to_string(&ours).expect("serialises");
            prop_assert_eq!(&json, &serde_json::to_string(&reference).expect("serialises"));
            let back: VecMap<String, u8> = serde_json::from_str(&json).expect("deserialises");
            prop_assert_eq!(back, ours);
        }
    }
}
