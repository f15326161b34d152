//! The data directory: write-ahead log, memtables, immutable mmapped segment
//! files, manifest, key dictionaries, flush, compaction and recovery.
//!
//! The byte formats are described in `storage-format.md`; the constants live
//! in [`format`]. Nothing here knows about SQL.

pub mod backend;
mod bulk;
pub mod delta;
pub mod error;
mod flush;
pub mod format;
mod manifest;
mod memtable;
pub mod merge;
mod mmap;
mod record;
mod schema;
pub mod segment;
mod snapshot;
mod store;
mod version;
pub mod wal;
mod write;

pub use backend::{Backend, FaultyBackend, FileBytes, FsBackend, WritableFile};
pub use bulk::LoadSummary;
pub use delta::{BitmapRole, ColumnBody, ColumnDelta, ColumnId, KeyBlock, TableDelta, TableId};
pub use error::{Result, StorageError};
pub use merge::MergePolicy;
pub use schema::{ColumnSchema, TableSchema};
pub use snapshot::{ColumnRead, NumericShard, Snapshot, TableSnapshot};
pub use store::{CheckReport, Options, Store};
pub use write::{UpsertMode, WriteBatch, WriteOp, WriteSummary};

/// Limits on what the storage layer accepts, each with its reason.
pub mod limits {
    /// Longest key in bytes. Keys are identifiers (user ids, device ids); a
    /// longer one is almost surely a mistake, and the bound keeps the key
    /// dictionary's pages dense.
    pub const KEY_BYTES_MAX: usize = 1024;
    /// Longest categorical value in bytes: tag values are labels, not documents.
    pub const VALUE_BYTES_MAX: usize = 4096;
    /// Most values in one multi-valued (TEXT[]) cell.
    pub const SET_VALUES_MAX: usize = 4096;
    /// Most distinct values a categorical or multi-valued column may hold.
    /// Each value is a bitmap; beyond a million, a numeric or key column is
    /// the right model.
    pub const DISTINCT_VALUES_MAX: usize = 1_000_000;
    /// Most columns per table (including dropped ones, whose ids are not reused).
    pub const COLUMNS_MAX: usize = 16_384;
    /// Most tables per data directory.
    pub const TABLES_MAX: usize = 10_000;
}
