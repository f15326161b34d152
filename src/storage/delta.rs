//! The contents of one LSM level of a table, in memory: what a memtable holds,
//! what a segment file stores, what bulk load and compaction produce.
//!
//! A level does not hold whole rows; it holds, per column, the set of rows
//! whose value it **overrides** (`touched`) and, for those rows, their new
//! values as bitmaps. Reading a column folds the levels from oldest to newest:
//! `result = (result − touched) ∪ level_bitmap`, and finally removes the
//! table's deleted rows. Row ids of deleted rows are never reused, so
//! `deleted` only ever grows.

use crate::index::{Key, RowId};
use roaring::RoaringBitmap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Identifies a table for its whole life (never reused within a data directory).
pub type TableId = u64;
/// Identifies a column within its table (never reused within the table).
pub type ColumnId = u32;

/// Which bitmap of a column a directory entry or read names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BitmapRole {
    /// Rows whose value this level overrides (set, changed or cleared).
    Touched,
    /// Rows with a non-null value in this level (a subset of `Touched`).
    NotNull,
    /// Flag columns: rows whose value is `true` (a subset of `NotNull`).
    FlagTrue,
    /// Numeric columns: rows whose value is negative.
    Sign,
    /// Numeric columns: rows whose magnitude has bit `n` set.
    Plane(u8),
    /// Categorical and multi-valued columns: rows holding the value with this
    /// ordinal in the level's sorted value list for the column.
    Value(u32),
}

impl BitmapRole {
    /// The role's tag byte on disk (see `storage-format.md`).
    pub fn tag(self) -> u8 {
        match self {
            BitmapRole::Touched => 1,
            BitmapRole::NotNull => 2,
            BitmapRole::FlagTrue => 3,
            BitmapRole::Sign => 4,
            BitmapRole::Plane(_) => 5,
            BitmapRole::Value(_) => 6,
        }
    }

    /// The role's argument on disk: plane number or value ordinal, else 0.
    pub fn arg(self) -> u32 {
        match self {
            BitmapRole::Plane(p) => u32::from(p),
            BitmapRole::Value(v) => v,
            _ => 0,
        }
    }

    /// Decodes a (tag, arg) pair written by [`BitmapRole::tag`]/[`BitmapRole::arg`].
    pub fn from_tag(tag: u8, arg: u32) -> Option<BitmapRole> {
        Some(match tag {
            1 => BitmapRole::Touched,
            2 => BitmapRole::NotNull,
            3 => BitmapRole::FlagTrue,
            4 => BitmapRole::Sign,
            5 => BitmapRole::Plane(u8::try_from(arg).ok().filter(|p| *p < 64)?),
            6 => BitmapRole::Value(arg),
            _ => return None,
        })
    }
}

/// The values of one column in one level.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDelta {
    /// Rows whose value this level overrides. Rows in `touched` but not in
    /// `not_null` were set to NULL.
    pub touched: Arc<RoaringBitmap>,
    /// Rows with a non-null value in this level.
    pub not_null: Arc<RoaringBitmap>,
    /// The value bitmaps, by tag kind.
    pub body: ColumnBody,
}

/// The value bitmaps of a column, by tag kind.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnBody {
    /// A flag: the rows that are `true`. `false` rows are `not_null − trues`.
    Flag {
        /// Rows whose value is `true`.
        trues: Arc<RoaringBitmap>,
    },
    /// A categorical (`multi == false`) or multi-valued column: one bitmap per
    /// value, keyed by the value.
    Values {
        /// Whether a row may hold several values (TEXT[]).
        multi: bool,
        /// Rows per value. Empty bitmaps may be present and mean nothing.
        values: BTreeMap<Arc<str>, Arc<RoaringBitmap>>,
    },
    /// A bit-sliced index over `i64` in sign–magnitude form: `sign` holds the
    /// negative rows, `planes[i]` the rows whose `|value|` has bit `i` set.
    /// Trailing planes may be absent (treated as empty).
    Numeric {
        /// Rows whose value is negative.
        sign: Arc<RoaringBitmap>,
        /// Magnitude bit planes, least significant first, at most 64.
        planes: Vec<Arc<RoaringBitmap>>,
    },
}

impl ColumnBody {
    /// An empty body of the given kind.
    pub fn empty(kind: crate::index::TagKind) -> ColumnBody {
        use crate::index::TagKind;
        match kind {
            TagKind::Flag => ColumnBody::Flag {
                trues: Arc::default(),
            },
            TagKind::Categorical => ColumnBody::Values {
                multi: false,
                values: BTreeMap::new(),
            },
            TagKind::MultiValued => ColumnBody::Values {
                multi: true,
                values: BTreeMap::new(),
            },
            TagKind::Numeric => ColumnBody::Numeric {
                sign: Arc::default(),
                planes: Vec::new(),
            },
        }
    }
}

/// The keys a level introduced: row ids `first_row .. first_row + keys.len()`.
///
/// Row ids are handed out densely and in order, so consecutive levels hold
/// adjacent ranges and a merge simply concatenates them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyBlock {
    /// Row id of `keys[0]`.
    pub first_row: RowId,
    /// The new keys, in row id order.
    pub keys: Vec<Key>,
}

impl KeyBlock {
    /// One past the last row id of the block.
    pub fn end_row(&self) -> u64 {
        u64::from(self.first_row) + self.keys.len() as u64
    }
}

/// Everything one level holds for one table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableDelta {
    /// Keys introduced in this level.
    pub keys: KeyBlock,
    /// Rows deleted in this level (final: deleted row ids are never reused).
    pub deleted: Arc<RoaringBitmap>,
    /// Per-column changes, by column id. Columns without changes are absent.
    pub columns: BTreeMap<ColumnId, ColumnDelta>,
}
