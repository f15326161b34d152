//! GROUP BY an expression of columns (`date_trunc('month', ts)`,
//! `age / 10`, `upper(city)`) on bitmaps.
//!
//! Each shard's filtered rows are split by the columns the expressions
//! read, as a GROUP BY of those columns does ([`super::aggregate`]): one
//! intersection per value or a forward pass for a categorical column
//! ([`super::groups`]), a split over the planes for a numeric one — or,
//! when a numeric column turns out to hold many distinct values (a
//! timestamp) and the columns after it are numeric too, a row pass that
//! reads their values row by row ([`row_pass`]). Each distinct value tuple
//! of a split is handed once to a [`KeyFold`], which the SQL layer
//! supplies: it evaluates the expressions and names the output groups the
//! tuple's rows belong to; the row pass asks it per row, without a lock,
//! while a per-window cache of tuples does not pay off. The rows of every tuple that folds into the same group are
//! unioned, and the aggregates run once per output group — so every
//! aggregate, `COUNT(DISTINCT …)` included, sees exactly its group's rows.
//!
//! A tuple may fold into several groups, and count more than once in one
//! (a set-returning function in GROUP BY yields several rows per input
//! row): the rows are then aggregated per (group, multiplicity) and the
//! states scaled by the multiplicity before they merge.

use super::aggregate::{AggSpec, AggState, GroupBy, GroupValue, agg_states};
use super::filter::ShardEval;
use super::groups::{Strategy, categorical_parts};
use super::memory::bitmap_bytes;
use super::parallel::Cancel;
use crate::index::TagKind;
use crate::index::bsi::BsiRef;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::types::Datum;
use crate::storage::{ColumnRead, NumericShard, TableSnapshot};
use roaring::RoaringBitmap;
use std::collections::BTreeMap;
use std::sync::Arc;

mod row_pass;

/// The output groups of rows whose grouping columns hold one value tuple:
/// (group id, how many times each such row counts in that group).
pub type Folded = Arc<[(u32, u64)]>;

/// Maps the values of the grouping columns (in the order of the
/// [`GroupBy`] list given to [`aggregate_folded`]) to output groups. Called
/// once per distinct tuple and shard (from the worker pool, so it must be
/// `Sync`); equal tuples must fold alike.
pub trait KeyFold: Send + Sync {
    /// The output groups of rows holding `key`.
    fn fold(&self, key: &[GroupValue]) -> SqlResult<Folded>;

    /// The output group keys of rows holding `key`, each with how many
    /// times such a row counts in it: what [`KeyFold::fold`] numbers, but
    /// neither cached nor numbered, so that many threads can call it at
    /// once without waiting for each other.
    fn keys(&self, key: &[GroupValue]) -> SqlResult<Vec<(Vec<Datum>, u64)>>;

    /// The group ids of `keys` (as [`KeyFold::keys`] returns them), in order.
    fn number(&self, keys: Vec<Vec<Datum>>) -> SqlResult<Vec<u32>>;
}

/// Output groups (ids from the [`KeyFold`]) with their aggregate states.
pub type FoldedGroups = BTreeMap<u32, Vec<AggState>>;

/// A numeric column's values are split over the planes while it holds at
/// most one distinct value per this many rows of the shard (or
/// [`SPLIT_GROUPS_MIN`]); beyond that they are read row by row. A split
/// costs about `planes` bitmap operations per distinct value, the forward
/// pass about `planes` word operations and one hash lookup per row.
const ROWS_PER_SPLIT_GROUP: u64 = 64;
/// Distinct values a numeric split may always produce.
const SPLIT_GROUPS_MIN: usize = 256;
/// Rows of a row pass between cancellation checks.
const CANCEL_CHECK_ROWS: usize = 1 << 14;
/// Rows whose values are sampled to tell a numeric column with about a
/// value per row before splitting it ([`mostly_distinct`]).
const DISTINCT_SAMPLE: u32 = 4096;

/// Computes `aggs` over the rows where `filter` is TRUE, grouped by what
/// `fold` makes of the values of `columns`, over every shard of `snap` in
/// parallel on the worker pool. Groups with no rows are absent.
pub fn aggregate_folded(
    snap: &TableSnapshot,
    filter: &crate::exec::filter::Pred,
    columns: &[GroupBy],
    fold: Arc<dyn KeyFold>,
    aggs: &[AggSpec],
    cancel: &Cancel,
) -> SqlResult<FoldedGroups> {
    let job = Arc::new((
        snap.clone(),
        filter.clone(),
        columns.to_vec(),
        aggs.to_vec(),
        cancel.clone(),
        fold,
    ));
    let per_shard = super::pool::map_shards_pooled(snap.shard_count(), cancel, move |shard| {
        let (snap, filter, columns, aggs, cancel, fold) = job.as_ref();
        let eval = ShardEval::new(snap, shard)?;
        let rows = eval.eval_true(filter)?;
        let mut out = FoldedGroups::new();
        if rows.is_empty() {
            return Ok(out);
        }
        let _held = cancel.reserve(bitmap_bytes(&rows), "the rows of a group-by")?;
        let mut split = FoldSplit {
            snap,
            shard,
            fold,
            cancel,
            key: Vec::with_capacity(columns.len()),
            parts: BTreeMap::new(),
        };
        split.split(columns, rows)?;
        let bytes: u64 = split.parts.values().map(bitmap_bytes).sum();
        let _parts = cancel.reserve(bytes, "group-by bitmaps")?;
        for ((id, times), part) in split.parts {
            let mut states = agg_states(snap, &eval, shard, &part, aggs)?;
            if times != 1 {
                for s in &mut states {
                    s.scale(times);
                }
            }
            merge_into(&mut out, id, states, aggs);
        }
        Ok(out)
    })?;
    let mut merged = FoldedGroups::new();
    for shard_groups in per_shard {
        for (id, states) in shard_groups {
            if !merged.contains_key(&id) {
                cancel.charge(group_bytes(aggs.len()), "group-by results")?;
            }
            merge_into(&mut merged, id, states, aggs);
        }
    }
    Ok(merged)
}

/// Approximate bytes of one output group.
fn group_bytes(aggs: usize) -> u64 {
    (64 + aggs * std::mem::size_of::<AggState>()) as u64
}

fn merge_into(out: &mut FoldedGroups, id: u32, states: Vec<AggState>, aggs: &[AggSpec]) {
    match out.get_mut(&id) {
        Some(existing) => {
            for ((e, s), a) in existing.iter_mut().zip(states).zip(aggs) {
                e.merge(s, a.kind);
            }
        }
        None => {
            out.insert(id, states);
        }
    }
}

/// One shard's split: the value tuple being built and the rows of each
/// (output group, multiplicity).
struct FoldSplit<'a> {
    snap: &'a TableSnapshot,
    shard: u32,
    fold: &'a Arc<dyn KeyFold>,
    cancel: &'a Cancel,
    key: Vec<GroupValue>,
    parts: BTreeMap<(u32, u64), RoaringBitmap>,
}

impl FoldSplit<'_> {
    /// Splits `rows` (non-empty or not) by `columns`, the tuple so far in
    /// `self.key`.
    fn split(&mut self, columns: &[GroupBy], rows: RoaringBitmap) -> SqlResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let Some(first) = columns.first() else {
            for &(id, times) in self.fold.fold(&self.key)?.iter() {
                *self.parts.entry((id, times)).or_default() |= &rows;
            }
            return Ok(());
        };
        self.cancel.check()?;
        let rest = &columns[1..];
        let (snap, shard) = (self.snap, self.shard);
        let parts: Vec<(GroupValue, RoaringBitmap)> = match *first {
            GroupBy::Column(col, ty) => match ty.kind() {
                TagKind::Categorical => categorical_parts(snap, col, shard, &rows, Strategy::Auto)?,
                TagKind::Flag => {
                    let nn = snap.bitmap(col, ColumnRead::NotNull, shard)?;
                    let t = snap.bitmap(col, ColumnRead::True, shard)?;
                    let trues = &rows & t.as_ref();
                    let falses = (&rows & nn.as_ref()) - &trues;
                    let nulls = &rows - nn.as_ref();
                    vec![
                        (GroupValue::Bool(false), falses),
                        (GroupValue::Bool(true), trues),
                        (GroupValue::Null, nulls),
                    ]
                }
                TagKind::MultiValued => {
                    return Err(SqlError::internal("GROUP BY a whole set column on bitmaps"));
                }
                TagKind::Numeric => {
                    let n = snap.numeric(col, shard)?;
                    let bsi = BsiRef::new(&n.not_null, &n.sign, &n.planes);
                    let by_rows = rest.iter().all(is_numeric);
                    if by_rows && mostly_distinct(&bsi, &rows) {
                        return self.row_pass(n, rest, rows);
                    }
                    let nulls = &rows - n.not_null.as_ref();
                    let max = usize::try_from(rows.len() / ROWS_PER_SPLIT_GROUP)
                        .unwrap_or(usize::MAX)
                        .max(SPLIT_GROUPS_MIN);
                    let groups = match bsi.groups_bounded(Some(&rows), max) {
                        Some(groups) => groups,
                        None if by_rows => return self.row_pass(n, rest, rows),
                        None => bsi.groups(Some(&rows)),
                    };
                    let mut parts: Vec<(GroupValue, RoaringBitmap)> = groups
                        .into_iter()
                        .map(|(v, bm)| (GroupValue::Int(v), bm))
                        .collect();
                    parts.push((GroupValue::Null, nulls));
                    parts
                }
            },
            GroupBy::Unnest(col) => {
                let mut parts = Vec::new();
                for v in snap.values(col)?.iter() {
                    let bm = snap.bitmap(col, ColumnRead::Value(v), shard)?;
                    parts.push((GroupValue::Text(v.clone()), &rows & bm.as_ref()));
                }
                parts
            }
        };
        for (value, part) in parts {
            if part.is_empty() {
                continue;
            }
            self.key.push(value);
            let done = self.split(rest, part);
            self.key.pop();
            done?;
        }
        Ok(())
    }

    /// Groups `rows` by numeric column `first` and the numeric columns
    /// `rest` read row by row ([`row_pass`]).
    fn row_pass(
        &mut self,
        first: NumericShard,
        rest: &[GroupBy],
        rows: RoaringBitmap,
    ) -> SqlResult<()> {
        let mut columns = Vec::with_capacity(rest.len() + 1);
        columns.push(first);
        for c in rest {
            if let GroupBy::Column(col, _) = *c {
                columns.push(self.snap.numeric(col, self.shard)?);
            }
        }
        let pass = row_pass::RowPass {
            prefix: self.key.clone(),
            columns,
            rows,
            fold: Arc::clone(self.fold),
            cancel: self.cancel.clone(),
        };
        pass.run(&mut self.parts)
    }
}

/// Whether a sample of `rows` (the first [`DISTINCT_SAMPLE`]) holds mostly
/// distinct values of `bsi`: then splitting over the planes would only
/// find out, at a cost, that there are too many values, and the rows are
/// read row by row at once. Small row sets are not sampled.
fn mostly_distinct<P: std::borrow::Borrow<RoaringBitmap>>(
    bsi: &BsiRef<'_, P>,
    rows: &RoaringBitmap,
) -> bool {
    if rows.len() < 4 * u64::from(DISTINCT_SAMPLE) {
        return false;
    }
    let Some(end) = rows.select(DISTINCT_SAMPLE) else {
        return false;
    };
    let mut sample = RoaringBitmap::new();
    sample.insert_range(0..end);
    sample &= rows;
    let mut values: Vec<i64> = bsi.values(&sample).into_iter().map(|(_, v)| v).collect();
    values.sort_unstable();
    values.dedup();
    values.len() as u64 * 2 > u64::from(DISTINCT_SAMPLE)
}

/// Whether `c` is a numeric column (one the row pass can read).
fn is_numeric(c: &GroupBy) -> bool {
    matches!(c, GroupBy::Column(_, ty) if ty.kind() == TagKind::Numeric)
}

impl AggState {
    /// The state of `times` copies of each row this state saw: counts and
    /// sums grow, extremes, distinct sets and booleans stay.
    pub(super) fn scale(&mut self, times: u64) {
        match self {
            AggState::Count(n) => *n = n.saturating_mul(times),
            AggState::Sum(s, n) => {
                *s = s.saturating_mul(i128::from(times));
                *n = n.saturating_mul(times);
            }
            AggState::FloatSum(s, n) => {
                *s *= times as f64;
                *n = n.saturating_mul(times);
            }
            AggState::Extreme(_) | AggState::Distinct(_) | AggState::Bools(..) => {}
        }
    }
}
