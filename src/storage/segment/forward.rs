//! The forward index of a `Values` column: per shard, each non-null row's
//! value ordinals, so a single-row lookup reads a few bytes instead of testing
//! every value bitmap.
//!
//! Rows are addressed by their rank within the column's `NotNull` bitmap of the
//! shard (`n` rows). Layout (little-endian):
//! - categorical: `ordinals: [u32; n]`, [`NO_VALUE`] for a row without value;
//! - multi-valued: `offsets: [u32; n + 1]` (`offsets[0] == 0`, ascending,
//!   `offsets[n] == m`), then `ordinals: [u32; m]`, each row's run ascending.

use super::shard_rows;
use roaring::RoaringBitmap;

/// Categorical forward entry of a non-null row that holds no value.
pub(super) const NO_VALUE: u32 = u32::MAX;

/// Builds the forward blob of one shard in O(rows of the shard + values).
///
/// `not_null` and `values` (ordinal, bitmap) may be whole-table or per-shard
/// bitmaps; only rows of `shard` are read. Every value row must be in
/// `not_null` (rows outside it are ignored). `scratch` is reused between calls
/// to avoid reallocating a dense per-shard array. `None` if the shard holds
/// more than `u32::MAX` (row, value) pairs: readers then test the bitmaps.
pub(super) fn build(
    shard: u32,
    multi: bool,
    not_null: &RoaringBitmap,
    values: &[(u32, &RoaringBitmap)],
    scratch: &mut Vec<u32>,
) -> Option<Vec<u8>> {
    let rows = shard_rows(shard);
    let lo = *rows.start();
    let width = (*rows.end() - lo) as usize + 1;
    scratch.clear();
    scratch.resize(width, if multi { 0 } else { NO_VALUE });
    let slot = |row: u32| (row - lo) as usize;
    let n = not_null.range(rows.clone()).len();
    if !multi {
        for (ordinal, bitmap) in values {
            for row in bitmap.range(rows.clone()) {
                scratch[slot(row)] = *ordinal;
            }
        }
        let mut out = Vec::with_capacity(n * 4);
        for row in not_null.range(rows) {
            out.extend_from_slice(&scratch[slot(row)].to_le_bytes());
        }
        return Some(out);
    }
    // Pass 1: values per row.
    for (_, bitmap) in values {
        for row in bitmap.range(rows.clone()) {
            scratch[slot(row)] += 1;
        }
    }
    // Offsets by rank; turn each counter into the row's write cursor.
    let mut out = Vec::with_capacity((n + 1) * 4);
    let mut total = 0u32;
    out.extend_from_slice(&total.to_le_bytes());
    for row in not_null.range(rows.clone()) {
        let count = scratch[slot(row)];
        scratch[slot(row)] = total;
        total = total.checked_add(count)?;
        out.extend_from_slice(&total.to_le_bytes());
    }
    let base = out.len();
    out.resize(base + total as usize * 4, 0);
    // Pass 2: ordinals in ascending order per row (values come in ordinal order).
    for (ordinal, bitmap) in values {
        for row in bitmap.range(rows.clone()) {
            if !not_null.contains(row) {
                continue;
            }
            let at = base + scratch[slot(row)] as usize * 4;
            out[at..at + 4].copy_from_slice(&ordinal.to_le_bytes());
            scratch[slot(row)] += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(bytes: &[u8]) -> Vec<u32> {
        bytes
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn categorical_forward_maps_ranks_to_ordinals() {
        let not_null: RoaringBitmap = [1, 5, 9, (1 << 20) + 3].into_iter().collect();
        let a: RoaringBitmap = [5].into_iter().collect();
        let b: RoaringBitmap = [1, (1 << 20) + 3].into_iter().collect();
        let mut scratch = Vec::new();
        let blob = build(0, false, &not_null, &[(0, &a), (1, &b)], &mut scratch).expect("fits");
        assert_eq!(words(&blob), vec![1, 0, NO_VALUE]);
        let blob = build(1, false, &not_null, &[(0, &a), (1, &b)], &mut scratch).expect("fits");
        assert_eq!(words(&blob), vec![1]);
    }

    #[test]
    fn multi_forward_lists_sorted_ordinals_per_row() {
        let not_null: RoaringBitmap = [2, 4, 6].into_iter().collect();
        let a: RoaringBitmap = [2, 6].into_iter().collect();
        let b: RoaringBitmap = [6].into_iter().collect();
        let mut scratch = Vec::new();
        let blob = build(0, true, &not_null, &[(0, &a), (3, &b)], &mut scratch).expect("fits");
        assert_eq!(words(&blob), vec![0, 1, 1, 3, 0, 0, 3]);
    }
}
