//! A byte-bounded cache of deserialized bitmaps, shared by all open segments.

use parking_lot::Mutex;
use roaring::RoaringBitmap;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Number of independently locked shards; a power of two.
const CACHE_SHARDS: usize = 16;

/// (segment identity, directory index).
pub(super) type CacheKey = (u64, u32);

/// Deserialized bitmaps of all open segments, bounded by bytes.
///
/// Thread-safe: the key space is split over [`CACHE_SHARDS`] mutex-protected
/// shards, each holding `bytes_max / CACHE_SHARDS` bytes and evicting with the
/// CLOCK algorithm (a FIFO that gives recently hit entries a second chance).
/// A bitmap is charged its serialized size, which tracks its heap size
/// closely. Bitmaps larger than a shard's budget are returned uncached.
#[derive(Debug)]
pub struct BitmapCache {
    shards: Box<[Mutex<CacheShard>]>,
    shard_bytes_max: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    bytes: AtomicU64,
}

#[derive(Debug, Default)]
struct CacheShard {
    slots: HashMap<CacheKey, Slot>,
    clock: VecDeque<CacheKey>,
    bytes: u64,
}

#[derive(Debug)]
struct Slot {
    bitmap: Arc<RoaringBitmap>,
    bytes: u64,
    referenced: bool,
}

impl BitmapCache {
    /// A cache holding at most about `bytes_max` bytes of bitmaps (0 disables caching).
    pub fn new(bytes_max: usize) -> BitmapCache {
        BitmapCache {
            shards: (0..CACHE_SHARDS)
                .map(|_| Mutex::new(CacheShard::default()))
                .collect(),
            shard_bytes_max: bytes_max as u64 / CACHE_SHARDS as u64,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// `(hits, misses, bytes held)` since creation.
    pub fn stats(&self) -> (u64, u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    fn shard(&self, key: CacheKey) -> &Mutex<CacheShard> {
        let h = key.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ u64::from(key.1).wrapping_mul(0xff51_afd7_ed55_8ccd);
        &self.shards[(h >> 59) as usize % CACHE_SHARDS]
    }

    /// The cached bitmap of `key`, counting a hit or a miss.
    pub(super) fn get(&self, key: CacheKey) -> Option<Arc<RoaringBitmap>> {
        let mut shard = self.shard(key).lock();
        match shard.slots.get_mut(&key) {
            Some(slot) => {
                slot.referenced = true;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(slot.bitmap.clone())
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Caches `bitmap` under `key`, charged `bytes`, evicting as needed.
    pub(super) fn insert(&self, key: CacheKey, bitmap: Arc<RoaringBitmap>, bytes: u64) {
        if bytes > self.shard_bytes_max {
            return;
        }
        let mut guard = self.shard(key).lock();
        let shard = &mut *guard;
        if shard.slots.contains_key(&key) {
            return;
        }
        while shard.bytes + bytes > self.shard_bytes_max {
            let Some(victim) = shard.clock.pop_front() else {
                break;
            };
            let Some(slot) = shard.slots.get_mut(&victim) else {
                continue; // removed with its segment
            };
            if std::mem::replace(&mut slot.referenced, false) {
                shard.clock.push_back(victim);
            } else if let Some(slot) = shard.slots.remove(&victim) {
                shard.bytes -= slot.bytes;
                self.bytes.fetch_sub(slot.bytes, Ordering::Relaxed);
            }
        }
        shard.slots.insert(
            key,
            Slot {
                bitmap,
                bytes,
                referenced: false,
            },
        );
        shard.clock.push_back(key);
        shard.bytes += bytes;
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Drops every bitmap of `segment` (called when the segment is dropped).
    pub(super) fn remove_segment(&self, segment: u64) {
        for shard in self.shards.iter() {
            let mut guard = shard.lock();
            let shard = &mut *guard;
            let mut freed = 0;
            shard.slots.retain(|key, slot| {
                let keep = key.0 != segment;
                if !keep {
                    freed += slot.bytes;
                }
                keep
            });
            shard.clock.retain(|key| key.0 != segment);
            shard.bytes -= freed;
            self.bytes.fetch_sub(freed, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(n: u32) -> Arc<RoaringBitmap> {
        Arc::new((0..n).collect())
    }

    #[test]
    fn cache_counts_hits_and_misses() {
        let cache = BitmapCache::new(1 << 20);
        assert!(cache.get((1, 0)).is_none());
        cache.insert((1, 0), bitmap(3), 100);
        assert_eq!(cache.get((1, 0)).as_deref(), Some(&*bitmap(3)));
        assert_eq!(cache.stats(), (1, 1, 100));
    }

    #[test]
    fn cache_stays_within_its_byte_budget() {
        let cache = BitmapCache::new(16 * 1000);
        for i in 0..10_000 {
            cache.insert((7, i), bitmap(1), 300);
            assert!(cache.stats().2 <= 16 * 1000);
        }
    }

    #[test]
    fn removing_a_segment_frees_its_bytes() {
        let cache = BitmapCache::new(1 << 20);
        cache.insert((1, 0), bitmap(1), 10);
        cache.insert((2, 0), bitmap(1), 20);
        cache.remove_segment(1);
        assert_eq!(cache.stats().2, 20);
        assert!(cache.get((1, 0)).is_none());
    }

    #[test]
    fn oversized_bitmaps_are_not_cached() {
        let cache = BitmapCache::new(16);
        cache.insert((1, 0), bitmap(1), 100);
        assert_eq!(cache.stats().2, 0);
    }
}
