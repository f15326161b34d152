//! Immutable versions of the database: what a [`super::Snapshot`] holds.
//!
//! A version lists, per table, its schema and its levels, oldest first:
//! segment files, then at most one frozen memtable (being flushed), then the
//! active memtable. Writers build a new version and publish it atomically;
//! readers keep the version they started with, so they never block writers and
//! never see half a write.

use super::delta::{ColumnId, TableId};
use super::memtable::MemTable;
use super::schema::TableSchema;
use super::segment::Segment;
use parking_lot::Mutex;
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a cached fold result is keyed by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ReadKey {
    NotNull,
    True,
    Value(Arc<str>),
    Sign,
    Plane(u8),
    Deleted,
}

/// Upper bound on cached fold results per table version; past it the cache
/// is cleared (a crude but safe bound on memory).
const FOLD_CACHE_ENTRIES_MAX: usize = 4096;

/// Results of folding levels, shared by every reader of one table version.
#[derive(Debug, Default)]
pub(crate) struct FoldCache {
    entries: Mutex<HashMap<(ColumnId, ReadKey, u32), Arc<RoaringBitmap>>>,
}

impl FoldCache {
    pub(crate) fn get(&self, key: &(ColumnId, ReadKey, u32)) -> Option<Arc<RoaringBitmap>> {
        self.entries.lock().get(key).cloned()
    }

    pub(crate) fn put(&self, key: (ColumnId, ReadKey, u32), value: Arc<RoaringBitmap>) {
        let mut entries = self.entries.lock();
        if entries.len() >= FOLD_CACHE_ENTRIES_MAX {
            entries.clear();
        }
        entries.insert(key, value);
    }
}

/// The segment files of one table, with caches valid as long as the list is.
#[derive(Debug, Default)]
pub(crate) struct SegmentSet {
    pub(crate) segments: Vec<Arc<Segment>>,
    /// Sorted union of the value dictionaries of the segments, per column.
    pub(crate) values: Mutex<HashMap<ColumnId, Arc<Vec<Arc<str>>>>>,
}

impl SegmentSet {
    pub(crate) fn new(segments: Vec<Arc<Segment>>) -> SegmentSet {
        SegmentSet {
            segments,
            values: Mutex::default(),
        }
    }

    /// Sorted, distinct values of `col` over all segments.
    pub(crate) fn values(&self, col: ColumnId) -> Arc<Vec<Arc<str>>> {
        if let Some(v) = self.values.lock().get(&col) {
            return v.clone();
        }
        let mut all: Vec<Arc<str>> = self
            .segments
            .iter()
            .flat_map(|s| s.values(col).iter().cloned())
            .collect();
        all.sort_unstable();
        all.dedup();
        let all = Arc::new(all);
        self.values.lock().insert(col, all.clone());
        all
    }
}

/// One table in one version.
#[derive(Debug)]
pub(crate) struct TableState {
    pub(crate) schema: Arc<TableSchema>,
    pub(crate) segments: Arc<SegmentSet>,
    pub(crate) frozen: Option<Arc<MemTable>>,
    pub(crate) active: Arc<MemTable>,
    /// Row ids below this are allocated.
    pub(crate) next_row_id: u64,
    pub(crate) cache: FoldCache,
}

impl TableState {
    /// A copy of this state with an empty fold cache, for the next version.
    pub(crate) fn successor(&self) -> TableState {
        TableState {
            schema: self.schema.clone(),
            segments: self.segments.clone(),
            frozen: self.frozen.clone(),
            active: self.active.clone(),
            next_row_id: self.next_row_id,
            cache: FoldCache::default(),
        }
    }
}

/// One published state of the whole database.
#[derive(Debug, Default)]
pub(crate) struct Version {
    /// Increases with every publish; part of result-cache keys above.
    pub(crate) number: u64,
    /// Sequence number of the last applied WAL record.
    pub(crate) seq: u64,
    pub(crate) tables: BTreeMap<TableId, Arc<TableState>>,
    pub(crate) meta: Arc<BTreeMap<String, Vec<u8>>>,
}

impl Version {
    pub(crate) fn table_by_name(&self, name: &str) -> Option<&Arc<TableState>> {
        self.tables.values().find(|t| t.schema.name == name)
    }
}
