//! The row pass of a folded GROUP BY: numeric grouping columns that hold
//! (almost) a value per row — timestamps, amounts — are read row by row
//! instead of being split into one bitmap per distinct value.
//!
//! The rows are cut into windows of [`WINDOW_ROWS`] consecutive row ids,
//! run on the worker pool. A window reads each column's values in one
//! pass over each plane into arrays indexed by row id (the decoding of
//! [`crate::index::bsi::BsiRef::values`]), then, row by row,
//! asks the [`KeyFold`] for the output keys of the row's value tuple
//! ([`KeyFold::keys`], no lock) and appends the row to a bitmap per
//! (output key, multiplicity) — rows come in increasing order, so each
//! append is a push at the end. A window remembers the outputs of the tuples
//! it has seen while that pays off: after [`CACHE_PROBE`] lookups with fewer
//! than one hit in [`CACHE_MIN_HIT_EVERY`], it drops the cache and evaluates
//! every row (a value per row never repeats; hashing it would only cost).
//! The output keys are numbered per window without a lock, and once per
//! window ([`KeyFold::number`]) when the windows merge.

use super::{CANCEL_CHECK_ROWS, KeyFold};
use crate::exec::aggregate::GroupValue;
use crate::exec::parallel::Cancel;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::relation::RowKey;
use crate::sql::types::Datum;
use crate::storage::NumericShard;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most rows of one window.
const WINDOW_ROWS: u64 = 1 << 16;
/// Most row ids one window spans (its values are read into arrays indexed
/// by row id).
const WINDOW_SPAN: u64 = 1 << 18;
/// Lookups after which a window judges whether its cache pays off.
const CACHE_PROBE: u64 = 4096;
/// The cache stays while at least one lookup in this many hits.
const CACHE_MIN_HIT_EVERY: u64 = 4;
/// Approximate bytes of one cached tuple beyond its values.
const CACHE_ENTRY_BYTES: u64 = 48;

/// Rows to group by the values of numeric columns read row by row.
pub(super) struct RowPass {
    /// The values of the grouping columns split before these.
    pub prefix: Vec<GroupValue>,
    /// The columns read row by row, in grouping order.
    pub columns: Vec<NumericShard>,
    /// The rows (NULLs included: a row without a value has NULL there).
    pub rows: RoaringBitmap,
    /// Names the output groups.
    pub fold: Arc<dyn KeyFold>,
    /// The statement's cancellation and memory budget.
    pub cancel: Cancel,
}

/// One window's output: keys numbered locally, and the rows of each
/// (local key, multiplicity).
struct WindowGroups {
    keys: Vec<Vec<Datum>>,
    parts: Vec<((u32, u64), RoaringBitmap)>,
}

impl RowPass {
    /// Groups the rows, adding them to `out` by (output group, multiplicity).
    pub(super) fn run(self, out: &mut BTreeMap<(u32, u64), RoaringBitmap>) -> SqlResult<()> {
        let bounds = windows(&self.rows);
        let pass = Arc::new(self);
        let results = if bounds.len() <= 1 {
            bounds
                .iter()
                .map(|&(lo, hi)| pass.window(lo, hi))
                .collect::<SqlResult<Vec<_>>>()?
        } else {
            let count = u32::try_from(bounds.len())
                .map_err(|_| SqlError::internal("too many group-by windows"))?;
            let job = Arc::clone(&pass);
            crate::exec::pool::map_shards_pooled(count, &pass.cancel, move |i| {
                let (lo, hi) = bounds
                    .get(i as usize)
                    .copied()
                    .ok_or_else(|| SqlError::internal("group-by window out of range"))?;
                job.window(lo, hi)
            })?
        };
        for w in results {
            let ids = pass.fold.number(w.keys)?;
            for ((local, times), rows) in w.parts {
                let id = ids
                    .get(local as usize)
                    .copied()
                    .ok_or_else(|| SqlError::internal("group-by key was never numbered"))?;
                let part = out.entry((id, times)).or_default();
                if part.is_empty() {
                    *part = rows;
                } else {
                    *part |= rows;
                }
            }
        }
        Ok(())
    }

    /// Groups the rows with ids in `lo..hi`.
    fn window(&self, lo: u64, hi: u64) -> SqlResult<WindowGroups> {
        self.cancel.check()?;
        let rows = match (u32::try_from(lo), u32::try_from(hi.saturating_sub(1))) {
            (Ok(first), Ok(last)) if lo < hi => {
                let mut range = RoaringBitmap::new();
                range.insert_range(first..=last);
                range &= &self.rows;
                range
            }
            _ => RoaringBitmap::new(),
        };
        let (Some(first), Some(last)) = (rows.min(), rows.max()) else {
            return Ok(WindowGroups {
                keys: Vec::new(),
                parts: Vec::new(),
            });
        };
        let span = u64::from(last - first) + 1;
        let m = self.columns.len() as u64;
        let _held = self.cancel.reserve(
            span.saturating_mul(9 * m)
                .saturating_add(rows.len().saturating_mul(CACHE_ENTRY_BYTES + 8 * m)),
            "group-by row values",
        )?;
        let values: Vec<Dense> = self
            .columns
            .iter()
            .map(|c| Dense::read(c, &rows, first, span))
            .collect();
        let mut tuple: Vec<Option<i64>> = vec![None; values.len()];
        let mut key = self.prefix.clone();
        let mut state = Window {
            fold: self.fold.as_ref(),
            prefix: self.prefix.len(),
            caching: true,
            lookups: 0,
            hits: 0,
            cache: FxHashMap::default(),
            targets: Vec::new(),
            ids: BTreeMap::new(),
            keys: Vec::new(),
            part_of: FxHashMap::default(),
            parts: Vec::new(),
        };
        for (i, row) in rows.iter().enumerate() {
            if i % CANCEL_CHECK_ROWS == CANCEL_CHECK_ROWS - 1 {
                self.cancel.check()?;
            }
            let at = (row - first) as usize;
            for (slot, vals) in tuple.iter_mut().zip(&values) {
                *slot = vals.get(at);
            }
            let (start, len) = state.targets(&tuple, &mut key)?;
            for &p in state.targets.get(start..start + len).unwrap_or(&[]) {
                if let Some((_, bm)) = state.parts.get_mut(p as usize) {
                    // Rows come in increasing order.
                    if bm.try_push(row).is_err() {
                        bm.insert(row);
                    }
                }
            }
        }
        Ok(WindowGroups {
            keys: state.keys,
            parts: state.parts,
        })
    }
}

/// Cuts `rows` into windows of at most [`WINDOW_ROWS`] rows spanning at
/// most [`WINDOW_SPAN`] row ids: row id bounds `lo..hi`, in increasing
/// order, each starting at a row, together covering every row.
fn windows(rows: &RoaringBitmap) -> Vec<(u64, u64)> {
    let (Some(min), Some(max)) = (rows.min(), rows.max()) else {
        return Vec::new();
    };
    let end = u64::from(max) + 1;
    let mut bounds = Vec::new();
    let mut lo = u64::from(min);
    loop {
        // Rows before `lo`, then the first row past the count bound.
        let before = u32::try_from(lo)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .map_or(0, |l| rows.rank(l));
        let by_count = u32::try_from(before + WINDOW_ROWS)
            .ok()
            .and_then(|r| rows.select(r))
            .map_or(end, u64::from);
        let hi = by_count.min(lo + WINDOW_SPAN).min(end);
        bounds.push((lo, hi));
        if hi >= end {
            break;
        }
        // The next window starts at the first row at or past `hi`.
        let next = u32::try_from(hi - 1)
            .ok()
            .map(|h| rows.rank(h))
            .and_then(|r| u32::try_from(r).ok())
            .and_then(|r| rows.select(r));
        match next {
            Some(n) => lo = u64::from(n),
            None => break,
        }
    }
    bounds
}

/// One column's values in a window, by offset from the window's first row.
struct Dense {
    magnitudes: Vec<u64>,
    /// Bit 0: the row has a value; bit 1: it is negative.
    flags: Vec<u8>,
}

impl Dense {
    /// Reads `column`'s values of `rows`, which lie in `first..first + span`.
    fn read(column: &NumericShard, rows: &RoaringBitmap, first: u32, span: u64) -> Dense {
        let len = usize::try_from(span).unwrap_or(0);
        let mut d = Dense {
            magnitudes: vec![0; len],
            flags: vec![0; len],
        };
        let present = column.not_null.as_ref() & rows;
        let at = |r: u32| (r - first) as usize;
        for r in &present {
            if let Some(f) = d.flags.get_mut(at(r)) {
                *f |= 1;
            }
        }
        for r in &(&present & column.sign.as_ref()) {
            if let Some(f) = d.flags.get_mut(at(r)) {
                *f |= 2;
            }
        }
        for (i, plane) in column.planes.iter().enumerate().take(64) {
            let bit = 1u64 << i;
            for r in &(&present & plane.as_ref()) {
                if let Some(v) = d.magnitudes.get_mut(at(r)) {
                    *v |= bit;
                }
            }
        }
        d
    }

    /// The value at offset `at` (NULL: `None`).
    fn get(&self, at: usize) -> Option<i64> {
        let flags = *self.flags.get(at)?;
        if flags & 1 == 0 {
            return None;
        }
        let magnitude = self.magnitudes.get(at).copied().unwrap_or(0) as i64;
        Some(if flags & 2 != 0 {
            magnitude.wrapping_neg()
        } else {
            magnitude
        })
    }
}

/// One window's grouping state.
struct Window<'a> {
    fold: &'a dyn KeyFold,
    /// Length of the prefix in the key buffer.
    prefix: usize,
    /// Whether tuples' outputs are remembered.
    caching: bool,
    lookups: u64,
    hits: u64,
    /// Tuple → range of `targets`.
    cache: FxHashMap<Box<[Option<i64>]>, (u32, u32)>,
    /// Part indexes of evaluated tuples (only the last one's without cache).
    targets: Vec<u32>,
    /// Local number of each output key.
    ids: BTreeMap<RowKey, u32>,
    keys: Vec<Vec<Datum>>,
    /// Part index of each (local key, multiplicity).
    part_of: FxHashMap<(u32, u64), u32>,
    parts: Vec<((u32, u64), RoaringBitmap)>,
}

impl Window<'_> {
    /// The range of `self.targets` naming the parts a row with `tuple`
    /// belongs to; `key` is the key buffer (prefix, then anything).
    fn targets(
        &mut self,
        tuple: &[Option<i64>],
        key: &mut Vec<GroupValue>,
    ) -> SqlResult<(usize, usize)> {
        if self.caching {
            self.lookups += 1;
            if let Some(&(start, len)) = self.cache.get(tuple) {
                self.hits += 1;
                return Ok((start as usize, len as usize));
            }
            if self.lookups == CACHE_PROBE && self.hits * CACHE_MIN_HIT_EVERY < self.lookups {
                self.caching = false;
                self.cache = FxHashMap::default();
            }
        }
        key.truncate(self.prefix);
        key.extend(
            tuple
                .iter()
                .map(|v| v.map_or(GroupValue::Null, GroupValue::Int)),
        );
        let folded = self.fold.keys(key)?;
        if !self.caching {
            self.targets.clear();
        }
        let start = self.targets.len();
        for (k, times) in folded {
            let local = self.local_id(k);
            let next = u32::try_from(self.parts.len()).unwrap_or(u32::MAX);
            let part = *self.part_of.entry((local, times)).or_insert(next);
            if part == next {
                self.parts.push(((local, times), RoaringBitmap::new()));
            }
            self.targets.push(part);
        }
        let len = self.targets.len() - start;
        if self.caching {
            let range = (
                u32::try_from(start).unwrap_or(u32::MAX),
                u32::try_from(len).unwrap_or(0),
            );
            self.cache.insert(tuple.into(), range);
        }
        Ok((start, len))
    }

    /// The window's number of output key `k`.
    fn local_id(&mut self, k: Vec<Datum>) -> u32 {
        let k = RowKey(k);
        if let Some(&id) = self.ids.get(&k) {
            return id;
        }
        let id = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(k.0.clone());
        self.ids.insert(k, id);
        id
    }
}
