//! The result cache: answers of read-only queries, valid for one snapshot
//! version, so a dashboard polling the same count costs a lookup.
//!
//! The cache is bounded by bytes, not entries: it holds at most
//! [`RESULT_CACHE_BYTES_MAX`] of results, and a single result larger than
//! [`RESULT_BYTES_MAX`] is never kept (exports and long row lists are
//! rarely repeated, and keeping them would turn every new query's
//! allocations into cold-memory page faults). When a result does not fit,
//! the oldest entries are evicted first. Evicted results are handed back to
//! the caller so they are dropped after the cache's lock is released — a
//! result of a million rows can take milliseconds to free, and other
//! sessions must not wait for it.

use crate::exec::memory::rows_bytes;
use crate::sql::relation::Relation;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

/// The most bytes of results the cache holds.
pub const RESULT_CACHE_BYTES_MAX: u64 = 64 << 20;

/// The largest result the cache keeps.
pub const RESULT_BYTES_MAX: u64 = 64 << 10;

/// Cached results keyed by `K`, for one snapshot version.
#[derive(Debug)]
pub struct ResultCache<K> {
    version: u64,
    entries: HashMap<K, Entry>,
    /// Keys in insertion order (oldest first); evicted from the front.
    order: VecDeque<K>,
    /// Bytes of the results held.
    bytes: u64,
}

#[derive(Debug)]
struct Entry {
    result: Arc<Relation>,
    bytes: u64,
}

impl<K: Eq + Hash + Clone> ResultCache<K> {
    /// An empty cache.
    pub fn new() -> ResultCache<K> {
        ResultCache {
            version: 0,
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
        }
    }

    /// The result cached under `key`, if it was computed at `version`.
    pub fn get(&self, key: &K, version: u64) -> Option<Arc<Relation>> {
        if self.version != version {
            return None;
        }
        self.entries.get(key).map(|e| e.result.clone())
    }

    /// Keeps `result` (computed at snapshot `version`) under `key` when it
    /// is small enough; returns the results that left the cache, for the
    /// caller to drop outside its lock.
    #[must_use = "drop the evicted results after releasing the cache's lock"]
    pub fn insert(&mut self, key: K, result: &Arc<Relation>, version: u64) -> Vec<Arc<Relation>> {
        let mut evicted = Vec::new();
        if self.version != version {
            self.version = version;
            self.order.clear();
            self.bytes = 0;
            evicted.extend(self.entries.drain().map(|(_, e)| e.result));
        }
        let Some(bytes) = cached_bytes(result) else {
            return evicted;
        };
        if let Some(old) = self.entries.remove(&key) {
            // The same statement computed again (a concurrent miss): keep
            // the newer answer, re-counted.
            self.bytes -= old.bytes;
            self.order.retain(|k| k != &key);
            evicted.push(old.result);
        }
        while self.bytes + bytes > RESULT_CACHE_BYTES_MAX {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes -= e.bytes;
                evicted.push(e.result);
            }
        }
        self.bytes += bytes;
        self.order.push_back(key.clone());
        self.entries.insert(
            key,
            Entry {
                result: result.clone(),
                bytes,
            },
        );
        evicted
    }

    /// Bytes of the results held.
    #[cfg(test)]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Number of results held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no result is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Eq + Hash + Clone> Default for ResultCache<K> {
    fn default() -> Self {
        ResultCache::new()
    }
}

/// The bytes `result` would hold in the cache, or `None` when it is larger
/// than [`RESULT_BYTES_MAX`] (decided from the row count alone first, so a
/// large result is not walked).
fn cached_bytes(result: &Relation) -> Option<u64> {
    let header = std::mem::size_of::<Relation>() as u64;
    let lower_bound = result.rows.len() as u64 * std::mem::size_of::<Vec<u8>>() as u64;
    if lower_bound > RESULT_BYTES_MAX {
        return None;
    }
    let bytes = header + rows_bytes(&result.rows);
    (bytes <= RESULT_BYTES_MAX).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::relation::Column;
    use crate::sql::types::{DataType, Datum};

    fn rel(rows: usize, text: usize) -> Arc<Relation> {
        Arc::new(Relation {
            columns: vec![Column {
                name: "x".into(),
                ty: DataType::Text,
            }],
            rows: (0..rows)
                .map(|_| vec![Datum::Text("x".repeat(text))])
                .collect(),
        })
    }

    #[test]
    fn hit_only_at_the_same_version() {
        let mut c = ResultCache::new();
        let r = rel(1, 1);
        assert!(c.insert("a", &r, 3).is_empty());
        assert!(Arc::ptr_eq(&c.get(&"a", 3).unwrap(), &r));
        assert!(c.get(&"a", 4).is_none());
        assert!(c.get(&"b", 3).is_none());
        // A newer version empties the cache and hands the old entries back.
        let evicted = c.insert("b", &r, 4);
        assert_eq!(evicted.len(), 1);
        assert!(c.get(&"a", 4).is_none());
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn large_results_are_not_kept() {
        let mut c = ResultCache::new();
        let big = rel(10, (RESULT_BYTES_MAX / 10) as usize);
        assert!(c.insert("big", &big, 1).is_empty());
        assert!(c.get(&"big", 1).is_none());
        let many_rows = rel(RESULT_BYTES_MAX as usize / 8, 0);
        assert!(c.insert("rows", &many_rows, 1).is_empty());
        assert!(c.is_empty());
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn oldest_entries_leave_first_within_the_byte_budget() {
        let mut c = ResultCache::new();
        let r = rel(100, 400);
        let each = cached_bytes(&r).unwrap();
        let fits = (RESULT_CACHE_BYTES_MAX / each) as usize;
        let mut evicted = 0;
        for i in 0..fits + 5 {
            evicted += c.insert(i, &r, 1).len();
        }
        assert_eq!(evicted, 5);
        assert_eq!(c.len(), fits);
        assert!(c.bytes() <= RESULT_CACHE_BYTES_MAX);
        assert!(c.get(&0, 1).is_none() && c.get(&4, 1).is_none());
        assert!(c.get(&5, 1).is_some() && c.get(&(fits + 4), 1).is_some());
    }

    #[test]
    fn reinserting_a_key_replaces_it() {
        let mut c = ResultCache::new();
        let a = rel(1, 1);
        let b = rel(2, 1);
        assert!(c.insert("k", &a, 1).is_empty());
        let evicted = c.insert("k", &b, 1);
        assert_eq!(evicted.len(), 1);
        assert!(Arc::ptr_eq(&c.get(&"k", 1).unwrap(), &b));
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), cached_bytes(&b).unwrap());
    }
}
