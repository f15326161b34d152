//! Aggregates and GROUP BY computed on bitmaps and bit-sliced indexes.
//!
//! `COUNT` is a bitmap cardinality, `SUM` a weighted sum of plane
//! intersection counts, `MIN`/`MAX` a descent over the planes; grouping by a
//! categorical column is one intersection per value or a forward pass over
//! the filtered rows, whichever costs less ([`super::groups`]), by a numeric
//! column a recursive split over the planes. Per-shard partial states merge
//! exactly.

use super::filter::{Pred, ShardEval};
use super::groups::{Strategy, categorical_parts};
use super::memory::bitmap_bytes;
use super::parallel::Cancel;
use crate::index::bsi::BsiRef;
use crate::index::encode::ordered_to_f64;
use crate::index::{ColumnType, TagKind};
use crate::sql::error::SqlResult;
use crate::storage::{ColumnId, ColumnRead, TableSnapshot};
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggKind {
    /// `COUNT(*)` (also `COUNT(key)` and `COUNT(DISTINCT key)`).
    CountRows,
    /// `COUNT(col)`: non-null values.
    Count,
    /// `COUNT(DISTINCT col)`.
    CountDistinct,
    /// `SUM(col)`.
    Sum,
    /// `AVG(col)`.
    Avg,
    /// `MIN(col)`.
    Min,
    /// `MAX(col)`.
    Max,
    /// `BOOL_AND(col)` / `EVERY(col)`.
    BoolAnd,
    /// `BOOL_OR(col)`.
    BoolOr,
}

/// One aggregate to compute.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    /// The function.
    pub kind: AggKind,
    /// Its argument column (`None` for row counts).
    pub col: Option<(ColumnId, ColumnType)>,
    /// `FILTER (WHERE …)`, ANDed with the query's filter.
    pub filter: Option<Pred>,
}

/// What a query groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// A column's value (NULL is a group).
    Column(ColumnId, ColumnType),
    /// `unnest(col)` of a multi-valued column: one group per element.
    Unnest(ColumnId),
}

/// The value of one grouping column in one group (encoded, like storage).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupValue {
    /// NULL.
    Null,
    /// A flag.
    Bool(bool),
    /// An encoded numeric value.
    Int(i64),
    /// A categorical value.
    Text(Arc<str>),
}

/// A mergeable partial aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum AggState {
    /// A count.
    Count(u64),
    /// An exact integer sum (of encoded values) and the count of values.
    Sum(i128, u64),
    /// A float sum and count (floats cannot be summed on planes).
    FloatSum(f64, u64),
    /// A minimum or maximum (encoded, order-preserving).
    Extreme(Option<i64>),
    /// Distinct values seen.
    Distinct(BTreeSet<GroupValue>),
    /// `BOOL_AND`/`BOOL_OR`: (any true, any false).
    Bools(bool, bool),
}

impl AggState {
    /// Folds another partial state of the same aggregate into this one.
    pub(super) fn merge(&mut self, other: AggState, kind: AggKind) {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::Sum(a, n), AggState::Sum(b, m)) => {
                *a += b;
                *n += m;
            }
            (AggState::FloatSum(a, n), AggState::FloatSum(b, m)) => {
                *a += b;
                *n += m;
            }
            (AggState::Extreme(a), AggState::Extreme(b)) => {
                *a = match (*a, b) {
                    (Some(x), Some(y)) => Some(if kind == AggKind::Min {
                        x.min(y)
                    } else {
                        x.max(y)
                    }),
                    (x, y) => x.or(y),
                };
            }
            (AggState::Distinct(a), AggState::Distinct(b)) => a.extend(b),
            (AggState::Bools(t, f), AggState::Bools(t2, f2)) => {
                *t |= t2;
                *f |= f2;
            }
            _ => {}
        }
    }
}

/// Groups with their aggregate states, sorted by group key.
pub type Groups = BTreeMap<Vec<GroupValue>, Vec<AggState>>;

/// Computes `aggs` over the rows where `filter` is TRUE, grouped by `groups`,
/// over every shard of `snap` in parallel on the worker pool. The groups'
/// bitmaps and states are charged to the statement's memory budget.
pub fn aggregate(
    snap: &TableSnapshot,
    filter: &Pred,
    groups: &[GroupBy],
    aggs: &[AggSpec],
    cancel: &Cancel,
) -> SqlResult<Groups> {
    // `COUNT(*)` alone: count the last intersection without materializing it.
    let count_only = groups.is_empty()
        && !aggs.is_empty()
        && aggs
            .iter()
            .all(|a| a.kind == AggKind::CountRows && a.filter.is_none());
    let job = Arc::new((
        snap.clone(),
        filter.clone(),
        groups.to_vec(),
        aggs.to_vec(),
        cancel.clone(),
    ));
    let per_shard = super::pool::map_shards_pooled(snap.shard_count(), cancel, move |shard| {
        let (snap, filter, groups, aggs, cancel) = job.as_ref();
        let eval = ShardEval::new(snap, shard)?;
        if count_only {
            let n = eval.count_true(filter)?;
            let mut out = Groups::new();
            out.insert(
                Vec::new(),
                aggs.iter().map(|_| AggState::Count(n)).collect(),
            );
            return Ok(out);
        }
        let rows = eval.eval_true(filter)?;
        let _held = cancel.reserve(bitmap_bytes(&rows), "the rows of a group-by")?;
        let mut out = Groups::new();
        let mut split = Split {
            snap,
            eval: &eval,
            shard,
            aggs,
            cancel,
            out: &mut out,
        };
        split.groups(groups, Vec::new(), rows)?;
        Ok(out)
    })?;
    let mut merged = Groups::new();
    for shard_groups in per_shard {
        for (key, states) in shard_groups {
            match merged.get_mut(&key) {
                Some(existing) => {
                    for ((e, s), a) in existing.iter_mut().zip(states).zip(aggs) {
                        e.merge(s, a.kind);
                    }
                }
                None => {
                    cancel.charge(group_bytes(&key, aggs.len()), "group-by results")?;
                    merged.insert(key, states);
                }
            }
        }
    }
    if groups.is_empty() && merged.is_empty() {
        // An ungrouped aggregate always yields one row.
        merged.insert(Vec::new(), aggs.iter().map(empty_state).collect());
    }
    Ok(merged)
}

/// Approximate bytes of one group of the result.
fn group_bytes(key: &[GroupValue], aggs: usize) -> u64 {
    let text: usize = key
        .iter()
        .map(|v| match v {
            GroupValue::Text(s) => s.len(),
            _ => 0,
        })
        .sum();
    (64 + text + std::mem::size_of_val(key) + aggs * std::mem::size_of::<AggState>()) as u64
}

/// One shard's group-by: where the groups go and what they are charged to.
struct Split<'a> {
    snap: &'a TableSnapshot,
    eval: &'a ShardEval<'a>,
    shard: u32,
    aggs: &'a [AggSpec],
    cancel: &'a Cancel,
    out: &'a mut Groups,
}

impl Split<'_> {
    fn groups(
        &mut self,
        groups: &[GroupBy],
        key: Vec<GroupValue>,
        rows: RoaringBitmap,
    ) -> SqlResult<()> {
        let parts = split_groups(self, groups, &key, &rows)?;
        let Some(parts) = parts else {
            return Ok(());
        };
        let bytes: u64 = parts.iter().map(|(_, b)| bitmap_bytes(b)).sum();
        let _held = self.cancel.reserve(bytes, "group-by bitmaps")?;
        for (value, part) in parts {
            if part.is_empty() {
                continue;
            }
            let mut k = key.clone();
            k.push(value);
            self.groups(&groups[1..], k, part)?;
        }
        Ok(())
    }
}

/// Splits `rows` by the first of `groups` (`None`: no grouping column is
/// left, and the states of group `key` went into `split.out`).
fn split_groups(
    split: &mut Split<'_>,
    groups: &[GroupBy],
    key: &[GroupValue],
    rows: &RoaringBitmap,
) -> SqlResult<Option<Vec<(GroupValue, RoaringBitmap)>>> {
    let (snap, shard) = (split.snap, split.shard);
    let Some(first) = groups.first() else {
        if key.is_empty() || !rows.is_empty() {
            let states = agg_states(snap, split.eval, shard, rows, split.aggs)?;
            split.out.insert(key.to_vec(), states);
        }
        return Ok(None);
    };
    if rows.is_empty() {
        return Ok(None);
    }
    let mut parts: Vec<(GroupValue, RoaringBitmap)> = Vec::new();
    match *first {
        GroupBy::Column(col, ty) if ty.kind() == TagKind::Categorical => {
            return categorical_parts(snap, col, shard, rows, Strategy::Auto).map(Some);
        }
        GroupBy::Column(col, ty) => {
            let nn = snap.bitmap(col, ColumnRead::NotNull, shard)?;
            let nulls = rows - nn.as_ref();
            match ty.kind() {
                TagKind::Flag => {
                    let t = snap.bitmap(col, ColumnRead::True, shard)?;
                    let trues = rows & t.as_ref();
                    let falses = (rows & nn.as_ref()) - &trues;
                    parts.push((GroupValue::Bool(false), falses));
                    parts.push((GroupValue::Bool(true), trues));
                }
                TagKind::Categorical | TagKind::MultiValued => {
                    for v in snap.values(col)?.iter() {
                        let bm = snap.bitmap(col, ColumnRead::Value(v), shard)?;
                        parts.push((GroupValue::Text(v.clone()), rows & bm.as_ref()));
                    }
                }
                TagKind::Numeric => {
                    let n = snap.numeric(col, shard)?;
                    let bsi = BsiRef::new(&n.not_null, &n.sign, &n.planes);
                    for (v, bm) in bsi.groups(Some(rows)) {
                        parts.push((GroupValue::Int(v), bm));
                    }
                }
            }
            parts.push((GroupValue::Null, nulls));
        }
        GroupBy::Unnest(col) => {
            for v in snap.values(col)?.iter() {
                let bm = snap.bitmap(col, ColumnRead::Value(v), shard)?;
                parts.push((GroupValue::Text(v.clone()), rows & bm.as_ref()));
            }
        }
    }
    Ok(Some(parts))
}

fn empty_state(a: &AggSpec) -> AggState {
    match a.kind {
        AggKind::CountRows | AggKind::Count => AggState::Count(0),
        AggKind::CountDistinct => AggState::Distinct(BTreeSet::new()),
        AggKind::Sum | AggKind::Avg => match a.col {
            Some((_, ColumnType::Real | ColumnType::Double)) => AggState::FloatSum(0.0, 0),
            _ => AggState::Sum(0, 0),
        },
        AggKind::Min | AggKind::Max => AggState::Extreme(None),
        AggKind::BoolAnd | AggKind::BoolOr => AggState::Bools(false, false),
    }
}

/// The states of `aggs` over `rows`. `SUM(x)` and `AVG(x)` of the same
/// column and filter share one state (one pass over the planes).
pub(super) fn agg_states(
    snap: &TableSnapshot,
    eval: &ShardEval<'_>,
    shard: u32,
    rows: &RoaringBitmap,
    aggs: &[AggSpec],
) -> SqlResult<Vec<AggState>> {
    let sum_like = |a: &AggSpec| matches!(a.kind, AggKind::Sum | AggKind::Avg);
    let mut states: Vec<AggState> = Vec::with_capacity(aggs.len());
    for (i, a) in aggs.iter().enumerate() {
        let shared = sum_like(a)
            .then(|| {
                aggs[..i]
                    .iter()
                    .position(|b| sum_like(b) && b.col == a.col && b.filter == a.filter)
            })
            .flatten();
        let state = match shared {
            Some(j) => states[j].clone(),
            None => agg_state(snap, eval, shard, rows, a)?,
        };
        states.push(state);
    }
    Ok(states)
}

fn agg_state(
    snap: &TableSnapshot,
    eval: &ShardEval<'_>,
    shard: u32,
    rows: &RoaringBitmap,
    a: &AggSpec,
) -> SqlResult<AggState> {
    let filtered;
    let rows = match &a.filter {
        Some(f) => {
            filtered = eval.eval_true_within(f, rows)?;
            &filtered
        }
        None => rows,
    };
    let Some((col, ty)) = a.col else {
        return Ok(AggState::Count(rows.len()));
    };
    let nn = snap.bitmap(col, ColumnRead::NotNull, shard)?;
    Ok(match a.kind {
        AggKind::CountRows => AggState::Count(rows.len()),
        AggKind::Count => AggState::Count(rows.intersection_len(&nn)),
        AggKind::CountDistinct => {
            let mut set = BTreeSet::new();
            match ty.kind() {
                TagKind::Flag => {
                    let t = snap.bitmap(col, ColumnRead::True, shard)?;
                    let present = rows & nn.as_ref();
                    if !present.is_disjoint(&t) {
                        set.insert(GroupValue::Bool(true));
                    }
                    if !present.is_subset(&t) {
                        set.insert(GroupValue::Bool(false));
                    }
                }
                TagKind::Categorical | TagKind::MultiValued => {
                    for v in snap.values(col)?.iter() {
                        if !snap
                            .bitmap(col, ColumnRead::Value(v), shard)?
                            .is_disjoint(rows)
                        {
                            set.insert(GroupValue::Text(v.clone()));
                        }
                    }
                }
                TagKind::Numeric => {
                    let n = snap.numeric(col, shard)?;
                    let bsi = BsiRef::new(&n.not_null, &n.sign, &n.planes);
                    set.extend(
                        bsi.group_counts(Some(rows))
                            .into_iter()
                            .map(|(v, _)| GroupValue::Int(v)),
                    );
                }
            }
            AggState::Distinct(set)
        }
        AggKind::Sum | AggKind::Avg => {
            let n = snap.numeric(col, shard)?;
            let bsi = BsiRef::new(&n.not_null, &n.sign, &n.planes);
            if matches!(ty, ColumnType::Real | ColumnType::Double) {
                let (mut sum, mut count) = (0.0, 0);
                for (_, v) in bsi.values(rows) {
                    sum += ordered_to_f64(v);
                    count += 1;
                }
                AggState::FloatSum(sum, count)
            } else {
                let (sum, count) = bsi.sum(Some(rows));
                AggState::Sum(sum, count)
            }
        }
        AggKind::Min | AggKind::Max => {
            let n = snap.numeric(col, shard)?;
            let bsi = BsiRef::new(&n.not_null, &n.sign, &n.planes);
            AggState::Extreme(if a.kind == AggKind::Min {
                bsi.min(Some(rows))
            } else {
                bsi.max(Some(rows))
            })
        }
        AggKind::BoolAnd | AggKind::BoolOr => {
            let t = snap.bitmap(col, ColumnRead::True, shard)?;
            let present = rows & nn.as_ref();
            let any_true = !present.is_disjoint(&t);
            let any_false = !present.is_subset(&t);
            AggState::Bools(any_true, any_false)
        }
    })
}
