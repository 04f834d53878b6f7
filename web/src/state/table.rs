//! A sorted map in shared chunks ([`Chunks`]), for the state's collections of connections: a
//! clone costs one pointer per chunk, a write copies the chunk it lands in, and the n-th entry
//! is found by walking the chunk lengths.

use std::ops::Index;

use super::chunks::Chunks;

/// Entries a chunk holds at most; a fuller one splits.
const MAX: usize = 128;

/// Chunks are never empty, and in key order. Equality is identity of the chunks.
pub struct Table<K, V> {
    chunks: Chunks<(K, V)>,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        Table {
            chunks: self.chunks.clone(),
        }
    }
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            chunks: Chunks::default(),
        }
    }
}

impl<K, V> PartialEq for Table<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.chunks == other.chunks
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V> Table<K, V> {
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
        self.chunks.iter().map(|(k, v)| (k, v))
    }

    /// Entries in key order from the `start`-th on: the cost is the number of chunks skipped,
    /// not the entries.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.chunks.iter_from(start).map(|(k, v)| (k, v))
    }

    #[cfg(test)]
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Clone, V: Clone> Table<K, V> {
    /// The chunk that holds `key`, or would: the first whose last key is not below it.
    fn chunk_of(&self, key: &K) -> usize {
        self.chunks
            .chunks()
            .partition_point(|c| c.last().expect("chunks are never empty").0 < *key)
    }

    /// Where `key` is: its chunk, and its place in it.
    fn find(&self, key: &K) -> Option<(usize, usize)> {
        let c = self.chunk_of(key);
        let i = self
            .chunks
            .chunks()
            .get(c)?
            .binary_search_by(|(k, _)| k.cmp(key));
        Some((c, i.ok()?))
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.find(key).map(|(c, i)| &self.chunks.chunks()[c][i].1)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_some()
    }

    /// The value of `key`, to change: copies its chunk first if another table shares it.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let (c, i) = self.find(key)?;
        Some(&mut self.chunks.get_mut(c, i).1)
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let Some(last) = self.chunks.chunks().len().checked_sub(1) else {
            self.chunks.insert_chunk(0, vec![(key, value)]);
            return None;
        };
        let c = self.chunk_of(&key).min(last);
        let (replaced, tail) = self.chunks.edit(c, |chunk| {
            let i = match chunk.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => return (Some(std::mem::replace(&mut chunk[i].1, value)), None),
                Err(i) => i,
            };
            chunk.insert(i, (key, value));
            // Keys that keep growing (connection ids) fill chunks to the brim; others split.
            let at = if c == last && i == MAX { MAX } else { MAX / 2 };
            (None, (chunk.len() > MAX).then(|| chunk.split_off(at)))
        });
        if let Some(tail) = tail {
            self.chunks.insert_chunk(c + 1, tail);
        }
        replaced
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (c, i) = self.find(key)?;
        // A chunk left empty is gone.
        let (value, left) = self
            .chunks
            .edit(c, |chunk| (chunk.remove(i).1, chunk.len()));
        let chunks = self.chunks.chunks();
        if left > 0 && left < MAX / 4 {
            // Keep chunks from thinning out after many removals: join a small one to a
            // neighbour when both fit in one.
            let next = c + 1;
            if next < chunks.len() && left + chunks[next].len() <= MAX {
                let tail = self.chunks.remove_chunk(next);
                self.chunks
                    .edit(c, |chunk| chunk.extend(tail.iter().cloned()));
            } else if c > 0 && left + chunks[c - 1].len() <= MAX {
                let tail = self.chunks.remove_chunk(c);
                self.chunks
                    .edit(c - 1, |chunk| chunk.extend(tail.iter().cloned()));
            }
        }
        Some(value)
    }

    /// Entries from the first whose key is not below `key`, in key order.
    pub fn range_from<'a>(&'a self, key: &K) -> impl Iterator<Item = (&'a K, &'a V)> + 'a {
        let chunks = self.chunks.chunks();
        let c = self.chunk_of(key);
        let i = chunks
            .get(c)
            .map_or(0, |chunk| chunk.partition_point(|(k, _)| k < key));
        chunks[c.min(chunks.len())..]
            .iter()
            .flat_map(|c| c.iter().map(|(k, v)| (k, v)))
            .skip(i)
    }
}

impl<K: Ord + Clone, V: Clone> Index<&K> for Table<K, V> {
    type Output = V;

    fn index(&self, key: &K) -> &V {
        self.get(key).expect("no such key in the table")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    #[test]
    fn growing_keys_fill_whole_chunks_and_clones_share_them() {
        let mut t = Table::default();
        for id in 0..1000u64 {
            t.insert(id, id * 2);
        }
        assert_eq!(t.len(), 1000);
        assert_eq!(t.chunks.chunks().len(), 1000usize.div_ceil(MAX));
        assert_eq!(t.iter_from(500).next(), Some((&500, &1000)));
        assert_eq!(t[&999], 1998);

        // A write to a clone copies one chunk; the others stay shared.
        let before = t.clone();
        *t.get_mut(&3).unwrap() = 0;
        let shared = before
            .chunks
            .chunks()
            .iter()
            .zip(t.chunks.chunks())
            .filter(|(a, b)| Rc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, t.chunks.chunks().len() - 1);
        assert_eq!(before[&3], 6);
        assert_ne!(before, t);
        assert_eq!(before, before.clone());
    }

    #[test]
    fn removals_do_not_leave_a_trail_of_tiny_chunks() {
        let mut t = Table::default();
        for k in 0..2000u64 {
            t.insert(k, ());
        }
        for k in (0..2000u64).filter(|k| k % 10 != 0) {
            t.remove(&k);
        }
        assert_eq!(t.len(), 200);
        assert!(
            t.chunks.chunks().len() <= 8,
            "{} chunks",
            t.chunks.chunks().len()
        );
        assert!(t.chunks.chunks().iter().all(|c| !c.is_empty()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the order of inserts and removals, the table reads like a `BTreeMap`.
        #[test]
        fn a_table_is_a_sorted_map(ops in prop::collection::vec((any::<bool>(), 0u16..600), 0..1500)) {
            let mut table = Table::default();
            let mut model = BTreeMap::new();
            for (i, (insert, key)) in ops.into_iter().enumerate() {
                if insert {
                    prop_assert_eq!(table.insert(key, i), model.insert(key, i));
                } else {
                    prop_assert_eq!(table.remove(&key), model.remove(&key));
                }
            }
            prop_assert_eq!(table.len(), model.len());
            prop_assert!(table.chunks.chunks().iter().all(|c| !c.is_empty() && c.len() <= MAX));
            let all: Vec<_> = table.iter().map(|(k, v)| (*k, *v)).collect();
            let expected: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(&all, &expected);
            for start in [0, 1, 127, 128, 129, 300, model.len()] {
                let from: Vec<_> = table.iter_from(start).map(|(k, _)| *k).collect();
                let want: Vec<_> = model.keys().skip(start).copied().collect();
                prop_assert_eq!(from, want);
            }
            for key in [0u16, 1, 299, 300, 599, 600] {
                prop_assert_eq!(table.get(&key), model.get(&key));
                let from: Vec<_> = table.range_from(&key).map(|(k, _)| *k).collect();
                let want: Vec<_> = model.range(key..).map(|(k, _)| *k).collect();
                prop_assert_eq!(from, want);
            }
        }
    }
}
