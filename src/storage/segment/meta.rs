//! The meta block: the postcard-encoded directory of a segment file.
//!
//! Field order is the on-disk order (postcard writes struct fields in
//! declaration order without names); never reorder, only append in a new
//! format version. See `docs/format-segment.md`. [`check_columns`] and
//! [`check_entries`] validate a decoded meta block at open.

use super::checked::CheckedRegion;
use super::{DELETED_COLUMN, SHARD_ROWS, corrupt};
use crate::index::{KeyType, TagKind};
use crate::storage::error::Result;
use crate::storage::limits::DISTINCT_VALUES_MAX;
use crate::storage::{BitmapRole, ColumnId, TableId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

/// A validated column of an open segment.
pub(super) struct ColumnInfo {
    /// Column id.
    pub id: ColumnId,
    /// Tag kind.
    pub kind: TagKind,
    /// Sorted values (`Values` kinds).
    pub values: Vec<Arc<str>>,
    /// Number of magnitude planes (numeric).
    pub planes: u8,
    /// Forward-index blobs by shard, ascending.
    pub forward: Vec<(u32, CheckedRegion)>,
}

/// Validates the column list of `meta`.
pub(super) fn check_columns(meta: &Meta, name: &str, at: u64) -> Result<Vec<ColumnInfo>> {
    let mut columns: Vec<ColumnInfo> = Vec::with_capacity(meta.columns.len());
    for c in &meta.columns {
        let bad = |what: &str| corrupt(name, at, format!("column {}: {what}", c.id));
        let kind = kind_from_code(c.kind).ok_or_else(|| bad("unknown tag kind"))?;
        if c.id == DELETED_COLUMN || columns.last().is_some_and(|p| p.id >= c.id) {
            return Err(bad("column ids not strictly ascending"));
        }
        let is_values = matches!(kind, TagKind::Categorical | TagKind::MultiValued);
        if (!is_values && !c.values.is_empty()) || c.values.len() > DISTINCT_VALUES_MAX {
            return Err(bad("bad value list"));
        }
        if c.values.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("values not strictly ascending"));
        }
        if c.planes > 64 || (kind != TagKind::Numeric && c.planes != 0) {
            return Err(bad("bad plane count"));
        }
        columns.push(ColumnInfo {
            id: c.id,
            kind,
            values: c.values.iter().map(|v| Arc::from(v.as_str())).collect(),
            planes: c.planes,
            forward: Vec::new(),
        });
    }
    Ok(columns)
}

/// Validates the directory: order, roles per column kind, and that the blobs
/// tile the file from `expected` on (advanced past the last blob).
pub(super) fn check_entries(
    entries: &[DirEntry],
    columns: &[ColumnInfo],
    name: &str,
    expected: &mut u64,
) -> Result<()> {
    let mut previous = None;
    for e in entries {
        let bad = |what: &str| corrupt(name, e.offset, format!("directory entry: {what}"));
        if previous.is_some_and(|p| p >= e.sort_key()) {
            return Err(bad("entries not strictly ascending"));
        }
        previous = Some(e.sort_key());
        let role = BitmapRole::from_tag(e.tag, e.arg).ok_or_else(|| bad("unknown role"))?;
        let fits = if e.column == DELETED_COLUMN {
            role == BitmapRole::Touched
        } else {
            let i = columns
                .binary_search_by_key(&e.column, |c| c.id)
                .map_err(|_| bad("unknown column"))?;
            let c = &columns[i];
            match role {
                BitmapRole::Touched | BitmapRole::NotNull => true,
                BitmapRole::FlagTrue => c.kind == TagKind::Flag,
                BitmapRole::Sign => c.kind == TagKind::Numeric,
                BitmapRole::Plane(p) => c.kind == TagKind::Numeric && p < c.planes,
                BitmapRole::Value(v) => (v as usize) < c.values.len(),
            }
        };
        if !fits {
            return Err(bad("role does not fit the column"));
        }
        if e.cardinality == 0
            || e.cardinality > SHARD_ROWS
            || e.len < 8
            || u64::from(e.shard) >= (1 << 32) / SHARD_ROWS
        {
            return Err(bad("absurd size, cardinality or shard"));
        }
        if e.offset != *expected {
            return Err(bad("blob out of place"));
        }
        *expected += u64::from(e.len);
    }
    Ok(())
}
