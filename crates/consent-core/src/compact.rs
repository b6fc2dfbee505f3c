//! Small collections sized for the widget's download.
//!
//! Every patron downloads the engine as WebAssembly, and the standard
//! library's general-purpose tools are large there: each `HashMap` brings
//! hashbrown's SIMD-free table code, and each `sort` brings a pattern-defeating
//! quicksort and a merge sort, monomorphised per element type. The engine
//! needs neither: its maps are keyed by ids it borrows, and what it sorts is
//! a handful of channels or ids.

/// Sorts a short slice in place by a key. Stable.
///
/// Insertion sort: O(n²), so use it for short lists (channels, record ids,
/// storage keys), never for basket lines.
pub fn sort_small_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && key(&v[j - 1]) > key(&v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Sorts a short slice. See [`sort_small_by_key`].
pub fn sort_small<T: Ord>(v: &mut [T]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Sorts a short list and removes repeats. See [`sort_small_by_key`].
pub fn sort_dedup_small<T: Ord>(v: &mut Vec<T>) {
    sort_small(v);
    v.dedup();
}

/// A map from borrowed string keys to values, in insertion order.
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
}
