//! Splitting one shard's filtered rows by the values of a categorical
//! column, for `GROUP BY`: per-value bitmap intersections, or a forward pass
//! over the filtered rows, whichever the cost model says is cheaper.
//!
//! - **Bitmaps**: one intersection `rows ∩ value` per distinct value of the
//!   column — cost grows with the dictionary, whatever the filter.
//! - **Forward**: each filtered row's value is looked up (the segment's
//!   forward index, or the memtable) and the row appended to its group —
//!   cost grows with the filter, whatever the dictionary.
//!
//! A small audience grouped by a column of thousands of values (`WHERE vip
//! AND city = 'x' GROUP BY street`) takes the forward pass; a large one takes
//! the bitmaps. Both give identical groups (property-tested); NULLs are the
//! rows outside the column's not-null bitmap in both.

use super::aggregate::GroupValue;
use crate::index::Value;
use crate::sql::error::SqlResult;
use crate::storage::segment::FORWARD_INDEX_VALUES_MIN;
use crate::storage::{ColumnId, ColumnRead, TableSnapshot};
use roaring::RoaringBitmap;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// How to split rows by a categorical column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Choose by [`forward_is_cheaper`].
    Auto,
    /// One intersection per distinct value.
    Bitmaps,
    /// A value lookup per filtered row.
    Forward,
}

/// Relative cost of one value-bitmap fetch and intersection with a filter,
/// against [`ROW_COST`] for one forward lookup of a row. Measured with
/// `cargo bench --bench exec -- group` (1M rows, 20,000 values, one run):
/// bitmaps 18–32 ms whatever the filter (≈ 1–1.5 µs a value), forward
/// 0.07 / 0.68 / 6.5 / 84 ms for 100 / 1k / 10k / 100k rows (≈ 0.7–0.85 µs
/// a row): they cross at 1.2–1.9 rows per value; forward is taken below
/// 1.25.
const VALUE_COST: u64 = 5;
/// Relative cost of one forward lookup of a row.
const ROW_COST: u64 = 4;

static FORCED: AtomicU8 = AtomicU8::new(0);

/// Overrides the cost model for every later group-by in the process (for
/// tests and benchmarks; results do not change, only speed). `Auto` restores
/// the cost model.
pub fn force(strategy: Strategy) {
    let v = match strategy {
        Strategy::Auto => 0,
        Strategy::Bitmaps => 1,
        Strategy::Forward => 2,
    };
    FORCED.store(v, Ordering::Relaxed);
}

fn forced() -> Strategy {
    match FORCED.load(Ordering::Relaxed) {
        1 => Strategy::Bitmaps,
        2 => Strategy::Forward,
        _ => Strategy::Auto,
    }
}

/// Whether looking up `rows` filtered rows costs less than intersecting
/// them with each of `values` value bitmaps.
/// Columns with fewer values have no forward index in segments (a lookup
/// then tests every value bitmap), so they always take the bitmaps.
pub fn forward_is_cheaper(rows: u64, values: u64) -> bool {
    values >= FORWARD_INDEX_VALUES_MIN as u64
        && rows.saturating_mul(ROW_COST) < values.saturating_mul(VALUE_COST)
}

/// The non-empty groups of `rows` (all in `shard`) by categorical column
/// `col`, NULL last, using `strategy`.
pub fn categorical_parts(
    snap: &TableSnapshot,
    col: ColumnId,
    shard: u32,
    rows: &RoaringBitmap,
    strategy: Strategy,
) -> SqlResult<Vec<(GroupValue, RoaringBitmap)>> {
    let dict = snap.values(col)?;
    let strategy = match (forced(), strategy) {
        (Strategy::Auto, Strategy::Auto) => {
            if forward_is_cheaper(rows.len(), dict.len() as u64) {
                Strategy::Forward
            } else {
                Strategy::Bitmaps
            }
        }
        (Strategy::Auto, s) | (s, _) => s,
    };
    let nn = snap.bitmap(col, ColumnRead::NotNull, shard)?;
    let present = rows & nn.as_ref();
    let nulls = rows - &present;
    let mut parts = Vec::new();
    match strategy {
        Strategy::Forward => {
            let mut by_value: BTreeMap<usize, RoaringBitmap> = BTreeMap::new();
            for r in &present {
                if let Some(Value::Text(s)) = snap.row_value(col, r)?
                    && let Ok(i) = dict.binary_search_by(|v| v.as_ref().cmp(s.as_str()))
                {
                    // Rows come in increasing order: appending is enough.
                    let bm = by_value.entry(i).or_default();
                    if bm.try_push(r).is_err() {
                        bm.insert(r);
                    }
                }
            }
            for (i, bm) in by_value {
                if let Some(v) = dict.get(i) {
                    parts.push((GroupValue::Text(Arc::clone(v)), bm));
                }
            }
        }
        Strategy::Bitmaps | Strategy::Auto => {
            for v in dict.iter() {
                let bm = snap.bitmap(col, ColumnRead::Value(v), shard)?;
                let part = &present & bm.as_ref();
                if !part.is_empty() {
                    parts.push((GroupValue::Text(v.clone()), part));
                }
            }
        }
    }
    if !nulls.is_empty() {
        parts.push((GroupValue::Null, nulls));
    }
    Ok(parts)
}
