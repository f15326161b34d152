//! Immutable segment files: one table's level, written once, read lazily
//! through a memory map.
//!
//! A segment file holds the bitmaps of one [`TableDelta`] cut into row-id
//! shards (`2^SHARD_BITS` rows each), a forward index for columns with many
//! values, the level's key block, and a meta block that directs readers to all
//! of them. The byte layout is described in `docs/format-segment.md` (to be
//! merged into `storage-format.md`).
//!
//! - [`write_segment`] writes a delta as a new file (temporary name, fsync,
//!   rename, fsync of the directory).
//! - [`Segment::open`] maps a file and parses only its meta block; bitmaps are
//!   deserialized on first use, checksum-verified, and kept in a shared,
//!   byte-bounded [`BitmapCache`].
//!
//! [`TableDelta`]: crate::storage::TableDelta

mod cache;
mod checked;
mod forward;
mod keys;
mod meta;
mod reader;
mod verify;
mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_robustness;

pub use cache::BitmapCache;
pub use reader::Segment;
pub use writer::{SegmentStats, write_segment};

use crate::storage::ColumnId;
use crate::storage::error::StorageError;
use roaring::RoaringBitmap;

/// The pseudo column under which a segment stores its table's deleted rows
/// (role `Touched`, per shard like any other bitmap). Real column ids never
/// take this value: the writer refuses a delta that uses it.
pub const DELETED_COLUMN: ColumnId = u32::MAX;

/// Size of the checksummed chunks of the key section and of forward-index
/// blobs. Point reads verify only the chunks they touch (once per segment), so
/// a key lookup never reads the whole section. Kept in this module rather than
/// `format.rs` because only segment files use it.
pub const CHUNK_BYTES: usize = 64 << 10;

/// A `Values` column gets a forward index (row → value ordinals) when it holds
/// more than this many distinct values; below it, testing each value bitmap is
/// as cheap as reading the index.
pub const FORWARD_INDEX_VALUES_MIN: usize = 64;

/// Rows per shard (`2^SHARD_BITS`).
const SHARD_ROWS: u64 = 1 << crate::storage::format::SHARD_BITS;

/// The inclusive row range of `shard`.
fn shard_rows(shard: u32) -> std::ops::RangeInclusive<u32> {
    let lo = u64::from(shard) << crate::storage::format::SHARD_BITS;
    let hi = (lo + SHARD_ROWS - 1).min(u64::from(u32::MAX));
    // Shards come from `row >> SHARD_BITS`, so `lo` fits a u32; clamp anyway.
    let lo = u32::try_from(lo).unwrap_or(u32::MAX);
    let hi = u32::try_from(hi).unwrap_or(u32::MAX);
    lo..=hi
}

/// The shard of `row`.
fn shard_of(row: u32) -> u32 {
    row >> crate::storage::format::SHARD_BITS
}

/// A `Corruption` error in `file` at `offset`.
fn corrupt(file: &str, offset: u64, what: impl Into<String>) -> StorageError {
    StorageError::corruption(file, offset, what)
}

/// Deserializes one roaring blob (portable format), checking that the whole
/// blob is consumed and that the container count its header declares fits the
/// blob (so a damaged header cannot make us allocate more than the file holds).
/// `deserialize_from` checks container key order, array order, bitmap
/// cardinalities and run validity.
fn decode_roaring(blob: &[u8], file: &str, offset: u64) -> Result<RoaringBitmap, StorageError> {
    const COOKIE_NO_RUN: u32 = 12346;
    const COOKIE_RUN: u32 = 12347;
    let cookie = crate::storage::format::read_u32(blob, 0)
        .ok_or_else(|| corrupt(file, offset, "bitmap blob shorter than its cookie"))?;
    let (containers, header) = if cookie == COOKIE_NO_RUN {
        let n = crate::storage::format::read_u32(blob, 4)
            .ok_or_else(|| corrupt(file, offset, "bitmap blob shorter than its header"))?;
        let n = n as usize;
        (n, 8 + n.saturating_mul(8))
    } else if cookie & 0xffff == COOKIE_RUN {
        let n = (cookie >> 16) as usize + 1;
        (n, 4 + n.div_ceil(8) + n * 4)
    } else {
        return Err(corrupt(
            file,
            offset,
            "bitmap blob has an unknown roaring cookie",
        ));
    };
    if containers > (1 << 16) || header > blob.len() {
        return Err(corrupt(
            file,
            offset,
            "bitmap blob declares more containers than it holds",
        ));
    }
    let mut reader = blob;
    let bitmap = RoaringBitmap::deserialize_from(&mut reader)
        .map_err(|e| corrupt(file, offset, format!("invalid roaring bitmap: {e}")))?;
    if !reader.is_empty() {
        return Err(corrupt(file, offset, "trailing bytes after roaring bitmap"));
    }
    Ok(bitmap)
}
