//! The meta block: the postcard-encoded directory of a segment file.
//!
//! Field order is the on-disk order (postcard writes struct fields in
//! declaration order without names); never reorder, only append in a new
//! format version. See `docs/format-segment.md`.

use crate::index::{KeyType, TagKind};
use crate::storage::{ColumnId, TableId};
use serde::{Deserialize, Serialize};

/// Everything a reader needs to find the data of a segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Meta {
    /// The table the segment belongs to.
    pub table: TableId,
    /// The columns, sorted by id.
    pub columns: Vec<ColumnMeta>,
    /// Bitmap blobs, sorted by (column, tag, arg, shard); their blobs tile the
    /// file from the end of the header in this order.
    pub entries: Vec<DirEntry>,
    /// Forward-index blobs, sorted by (column, shard); they follow the bitmap
    /// blobs in this order.
    pub forward: Vec<ForwardEntry>,
    /// The key block; its section follows the forward blobs.
    pub keys: KeysMeta,
}

/// One column of the segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ColumnMeta {
    /// Column id (never [`super::DELETED_COLUMN`]).
    pub id: ColumnId,
    /// Tag kind, see [`kind_code`].
    pub kind: u8,
    /// Sorted, distinct values (`Values` kinds only); `Value(i)` names `values[i]`.
    pub values: Vec<String>,
    /// Number of magnitude planes (numeric only): planes `0..planes`, the last
    /// one non-empty.
    pub planes: u8,
}

/// One bitmap blob: the rows of (column, role) within one shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct DirEntry {
    /// Column id, or [`super::DELETED_COLUMN`] for the deleted rows.
    pub column: ColumnId,
    /// [`crate::storage::BitmapRole::tag`].
    pub tag: u8,
    /// [`crate::storage::BitmapRole::arg`].
    pub arg: u32,
    /// `row >> SHARD_BITS` of every row in the bitmap.
    pub shard: u32,
    /// Byte offset of the blob in the file.
    pub offset: u64,
    /// Byte length of the blob.
    pub len: u32,
    /// crc32 (IEEE) of the blob.
    pub crc: u32,
    /// Number of rows in the bitmap (at least 1: empty bitmaps are not stored).
    pub cardinality: u64,
}

impl DirEntry {
    /// The sort key of the directory.
    pub fn sort_key(&self) -> (ColumnId, u8, u32, u32) {
        (self.column, self.tag, self.arg, self.shard)
    }
}

/// A byte range checksummed in [`super::CHUNK_BYTES`] chunks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Region {
    /// Byte offset in the file.
    pub offset: u64,
    /// Byte length.
    pub len: u64,
    /// crc32 of each chunk, in order; the last chunk may be short.
    pub chunk_crcs: Vec<u32>,
}

/// The forward index of one shard of a `Values` column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ForwardEntry {
    /// Column id.
    pub column: ColumnId,
    /// Shard.
    pub shard: u32,
    /// The blob.
    pub region: Region,
}

/// The key block of the segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct KeysMeta {
    /// Row id of the first key.
    pub first_row: u32,
    /// Number of keys.
    pub count: u64,
    /// Key type; `None` exactly when `count == 0`.
    pub key_type: Option<KeyType>,
    /// The key section.
    pub region: Region,
}

/// The on-disk code of a tag kind.
pub(super) fn kind_code(kind: TagKind) -> u8 {
    match kind {
        TagKind::Flag => 1,
        TagKind::Categorical => 2,
        TagKind::MultiValued => 3,
        TagKind::Numeric => 4,
    }
}

/// Decodes [`kind_code`].
pub(super) fn kind_from_code(code: u8) -> Option<TagKind> {
    Some(match code {
        1 => TagKind::Flag,
        2 => TagKind::Categorical,
        3 => TagKind::MultiValued,
        4 => TagKind::Numeric,
        _ => return None,
    })
}
