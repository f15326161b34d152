//! Row output: the values of selected rows, extracted column by column from
//! the bitmaps of each shard rather than looked up row by row.

use super::convert::{decode_int, decode_key};
use super::filter::{Pred, ShardEval};
use super::memory::bitmap_bytes;
use super::parallel::Cancel;
use super::pool::map_shards_pooled;
use crate::index::bsi::BsiRef;
use crate::index::{ColumnType, TagKind};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::Datum;
use crate::storage::{ColumnId, ColumnRead, TableSnapshot};
use roaring::RoaringBitmap;
use std::sync::Arc;

/// A column to fetch: the key, or a tag column with its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// The key column.
    Key,
    /// A tag column.
    Tag(ColumnId, ColumnType),
}

/// Fetches `columns` of the rows where `filter` is TRUE, in row-id order,
/// skipping `offset` rows and stopping after `limit` rows (if given). Fails
/// with 54000 if more than `rows_max` rows would be produced.
pub fn fetch_rows(
    snap: &TableSnapshot,
    filter: &Pred,
    columns: &[Fetch],
    offset: u64,
    limit: Option<u64>,
    rows_max: usize,
    cancel: &Cancel,
) -> SqlResult<Vec<Vec<Datum>>> {
    // Select rows per shard (in parallel; with a LIMIT, shard by shard and
    // window by window until the window is full), then cut the window in
    // row order.
    let selected = match limit {
        Some(l) => {
            let want = offset.saturating_add(l);
            let mut got = 0u64;
            let mut out = Vec::new();
            for shard in 0..snap.shard_count() {
                if got >= want {
                    break;
                }
                cancel.check()?;
                let rows = first_rows(snap, shard, filter, want - got, cancel)?;
                got += rows.len();
                out.push(rows);
            }
            out
        }
        None => select_shards(snap, filter, cancel)?,
    };
    let mut skip = offset;
    let mut windows = Vec::new();
    let mut total = 0u64;
    for (shard, rows) in selected.into_iter().enumerate() {
        if limit.is_some_and(|l| total >= l) {
            break;
        }
        let mut rows = rows;
        if skip > 0 {
            let n = rows.len().min(skip);
            rows.remove_smallest(n);
            skip -= n;
        }
        if let Some(l) = limit {
            let room = l.saturating_sub(total);
            if rows.len() > room {
                rows.remove_biggest(rows.len() - room);
            }
        }
        total += rows.len();
        if total > rows_max as u64 {
            return Err(SqlError::new(
                SqlState::ProgramLimitExceeded,
                format!(
                    "query would return more than {rows_max} rows; add LIMIT or use COPY … TO STDOUT"
                ),
            ));
        }
        if !rows.is_empty() {
            windows.push((shard as u32, rows));
        }
    }
    // Row output: one `Datum` per value plus each row's vector.
    let per_row = (columns.len() * std::mem::size_of::<Datum>() + 24) as u64;
    cancel.charge(total.saturating_mul(per_row), "row output")?;
    let job = Arc::new((snap.clone(), windows, columns.to_vec(), cancel.clone()));
    let parts = map_shards_pooled(job.1.len() as u32, cancel, move |i| {
        let (snap, windows, columns, cancel) = job.as_ref();
        let (shard, rows) = &windows[i as usize];
        extract(snap, *shard, rows, columns, cancel)
    })?;
    let mut parts = parts;
    if parts.len() == 1 {
        return Ok(parts.pop().unwrap_or_default());
    }
    Ok(parts.into_iter().flatten().collect())
}

/// Rows of a first window of row ids; one roaring container.
const WINDOW_ROWS: u64 = 1 << 16;

/// The rows of `shard` where `filter` is TRUE, at least the first `need` of
/// them in row-id order (all of them when there are fewer): the filter is
/// evaluated over windows of row ids from the start of the shard, each
/// sized from the density the previous ones found, so that `LIMIT n`
/// touches about the rows it returns instead of the whole shard.
fn first_rows(
    snap: &TableSnapshot,
    shard: u32,
    filter: &Pred,
    need: u64,
    cancel: &Cancel,
) -> SqlResult<RoaringBitmap> {
    let eval = ShardEval::new(snap, shard)?;
    let live = eval.live();
    let (Some(lo), Some(hi)) = (live.min(), live.max()) else {
        return Ok(RoaringBitmap::new());
    };
    let (lo, end) = (u64::from(lo) & !(WINDOW_ROWS - 1), u64::from(hi) + 1);
    let mut out = RoaringBitmap::new();
    let mut start = lo;
    let mut width = WINDOW_ROWS;
    while start < end {
        // A window reaching past a quarter of the shard takes the rest.
        let stop = if (start - lo + width).saturating_mul(4) >= end - lo {
            end
        } else {
            start + width
        };
        if start == lo && stop == end {
            return eval.eval_true(filter);
        }
        let mut window = RoaringBitmap::new();
        window.insert_range(to_row(start)..=to_row(stop - 1));
        window &= live;
        out |= eval.eval_true_within(filter, &window)?;
        if out.len() >= need {
            break;
        }
        cancel.check()?;
        // Enough rows for the missing ones at the density seen so far, plus
        // a quarter, in whole containers; at most 8 times the rows seen.
        let seen = stop - lo;
        let missing = need - out.len();
        let guess = if out.is_empty() {
            u64::MAX
        } else {
            (missing as f64 * seen as f64 / out.len() as f64 * 1.25) as u64
        };
        width = guess
            .min(seen.saturating_mul(8))
            .max(WINDOW_ROWS)
            .div_ceil(WINDOW_ROWS)
            .saturating_mul(WINDOW_ROWS);
        start = stop;
    }
    Ok(out)
}

/// A row id from a `u64` known to be one (shard bounds).
fn to_row(r: u64) -> u32 {
    u32::try_from(r).unwrap_or(u32::MAX)
}

/// The rows of each shard of `snap` where `filter` is TRUE (index = shard),
/// computed on the worker pool with cancellation checked before every
/// shard; each shard's bitmap is charged to the statement's memory budget.
pub fn select_shards(
    snap: &TableSnapshot,
    filter: &Pred,
    cancel: &Cancel,
) -> SqlResult<Vec<roaring::RoaringBitmap>> {
    let job = Arc::new((snap.clone(), filter.clone(), cancel.clone()));
    map_shards_pooled(snap.shard_count(), cancel, move |shard| {
        let (snap, filter, cancel) = job.as_ref();
        let rows = ShardEval::new(snap, shard)?.eval_true(filter)?;
        cancel.charge(bitmap_bytes(&rows), "selected rows")?;
        Ok(rows)
    })
}

/// The values of `columns` for `rows` (all in `shard`), row-major.
fn extract(
    snap: &TableSnapshot,
    shard: u32,
    rows: &roaring::RoaringBitmap,
    columns: &[Fetch],
    cancel: &Cancel,
) -> SqlResult<Vec<Vec<Datum>>> {
    let ids: Vec<u32> = rows.iter().collect();
    let pos = |r: u32| ids.binary_search(&r).ok();
    // Column by column, then turned into rows (each row allocated once, at
    // its final size).
    let mut fetched: Vec<std::vec::IntoIter<Datum>> = Vec::with_capacity(columns.len());
    for col in columns {
        let mut values = vec![Datum::Null; ids.len()];
        match *col {
            Fetch::Key => {
                snap.keys_of_live(&ids, &mut |i, k| values[i] = decode_key(k))?;
            }
            Fetch::Tag(id, ty) => match ty.kind() {
                TagKind::Flag => {
                    let nn = snap.bitmap(id, ColumnRead::NotNull, shard)?;
                    let t = snap.bitmap(id, ColumnRead::True, shard)?;
                    for (i, r) in ids.iter().enumerate() {
                        if nn.contains(*r) {
                            values[i] = Datum::Bool(t.contains(*r));
                        }
                    }
                }
                TagKind::Numeric => {
                    let n = snap.numeric(id, shard)?;
                    let bsi = BsiRef::new(&n.not_null, &n.sign, &n.planes);
                    for (r, v) in bsi.values(rows) {
                        if let Some(i) = pos(r) {
                            values[i] = decode_int(v, ty);
                        }
                    }
                }
                TagKind::Categorical | TagKind::MultiValued => {
                    let dict = snap.values(id)?;
                    let multi = ty.kind() == TagKind::MultiValued;
                    if (ids.len() as u64) * 4 < dict.len() as u64 {
                        // Few rows, many values: look each row up.
                        for (i, r) in ids.iter().enumerate() {
                            values[i] = super::convert::decode_value(snap.row_value(id, *r)?, ty);
                        }
                    } else {
                        let nn = snap.bitmap(id, ColumnRead::NotNull, shard)?;
                        let mut sets: Vec<Vec<Option<String>>> =
                            vec![Vec::new(); if multi { ids.len() } else { 0 }];
                        for v in dict.iter() {
                            let bm = snap.bitmap(id, ColumnRead::Value(v), shard)?;
                            for r in bm.as_ref() & rows {
                                if let Some(i) = pos(r) {
                                    if multi {
                                        sets[i].push(Some(v.to_string()));
                                    } else {
                                        values[i] = Datum::Text(v.to_string());
                                    }
                                }
                            }
                        }
                        if multi {
                            for (i, r) in ids.iter().enumerate() {
                                if nn.contains(*r) {
                                    values[i] = Datum::TextArray(std::mem::take(&mut sets[i]));
                                }
                            }
                        }
                    }
                }
            },
        }
        let text: usize = values
            .iter()
            .map(|v| match v {
                Datum::Text(s) => s.len(),
                Datum::TextArray(items) => items.iter().flatten().map(|s| s.len() + 24).sum(),
                _ => 0,
            })
            .sum();
        cancel.charge(text as u64, "row output")?;
        fetched.push(values.into_iter());
    }
    if let [column] = fetched.as_mut_slice() {
        return Ok(column.map(|v| vec![v]).collect());
    }
    Ok((0..ids.len())
        .map(|_| {
            fetched
                .iter_mut()
                .map(|c| c.next().unwrap_or(Datum::Null))
                .collect()
        })
        .collect())
}
