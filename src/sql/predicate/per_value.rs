//! Predicates on one column evaluated once per distinct value of it.
//!
//! `upper(city) = 'BEIJING'`, `age + 1 > 30`, `coalesce(age, 0) > 30`,
//! `extract(year FROM register_date) = 2020`, `CASE … END = 'y'`: any
//! boolean expression that reads exactly one column of the audience table
//! (not the key, not a multi-valued column; no subqueries, no volatile
//! functions) is bound with that column as its only input and evaluated once
//! per distinct value the column holds — the value dictionary of a text
//! column, `true`/`false` of a flag, the distinct values of a bit-sliced
//! column — and once for NULL. The outcomes split the values into sets
//! T (TRUE), F (FALSE) and U (NULL), and the predicate becomes bitmap leaves:
//!
//! `Or[sel(T), And[sel(U), Const(NULL)]]` is TRUE on T's rows, FALSE on F's
//! and UNKNOWN on U's and on the column's NULL rows (`sel(S)` is TRUE on the
//! rows holding a value of S, FALSE on the other non-NULL rows, UNKNOWN on
//! NULL rows, like every column leaf). When F is the smaller set,
//! `Not(Or[sel(F), And[sel(U), Const(NULL)]])` selects the same rows. The
//! NULL rows then join the TRUE set (`Or[…, IsNull]`) or the FALSE set
//! (`And[…, Not(IsNull)]`) as the expression on NULL says.
//!
//! On a bit-sliced column `sel(S)` is a union of ranges: consecutive
//! distinct values with the same outcome form one `Between`, so a monotone
//! expression (`age + 1 > 30`) becomes a single range. Beyond
//! [`RANGES_MAX`] ranges the rows are gathered once instead (`Rows`).
//!
//! An evaluation error (22012, 22P02 …) is raised only when a live row holds
//! the value, as PostgreSQL evaluates only existing rows; a dictionary may
//! list values no live row holds any more. Columns with more than
//! [`DISTINCT_MAX`] distinct values are left to the row-by-row strategy.

use super::{ColRef, PredContext, any_outside_subqueries, column_ref};
use crate::exec::filter::Pred;
use crate::index::TagKind;
use crate::index::bsi::{BsiRef, CompareOp};
use crate::sql::error::{SqlResult, SqlState};
use crate::sql::scalar::{self, BoundExpr, EvalContext};
use crate::sql::types::Datum;
use crate::storage::{ColumnId, ColumnRead, ColumnSchema, NumericShard, TableSnapshot};
use roaring::RoaringBitmap;
use sqlparser::ast::{Expr, InTarget};
use std::sync::Arc;

/// The most distinct values evaluated one by one. At about a microsecond
/// per evaluation this is under 0.1 s of work, and the value sets stay
/// small next to the column's bitmaps; a column with more distinct values
/// (timestamps, amounts, ids) is nearly one value per row, where evaluating
/// row by row costs the same and needs no grouping pass.
pub(super) const DISTINCT_MAX: usize = 65_536;

/// The most ranges a bit-sliced set becomes; each costs a walk of the
/// column's planes per shard, so beyond this the rows of the set are
/// gathered once while compiling.
pub(super) const RANGES_MAX: usize = 64;

/// Rows sampled to tell a high-cardinality bit-sliced column before
/// grouping it (when neither its row count nor its span of values bounds
/// its distinct values).
const SAMPLE_ROWS: usize = 4096;

/// Function names whose result may change between calls: evaluating them
/// once per value instead of once per row would change the answer (also
/// used by `UPDATE … SET col = <expression>`).
pub(crate) const VOLATILE: &[&str] = &[
    "random",
    "setseed",
    "nextval",
    "setval",
    "currval",
    "set_config",
    "timeofday",
    "gen_random_uuid",
    "clock_timestamp",
];

/// Compiles `e` when it reads exactly one column of the table, or `None`.
pub(super) fn compile(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Option<Pred>> {
    let Some(col) = single_column(ctx, e) else {
        return Ok(None);
    };
    if col.ty.kind() == TagKind::MultiValued || has_subquery_or_volatile(e) {
        return Ok(None);
    }
    let (bound, eval) = match ctx.bind_on_column(e, &col) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(None),
        Err(err) if err.state == SqlState::FeatureNotSupported => return Ok(None),
        Err(err) => return Err(err),
    };
    // Not a condition (`x IS NULL` asks for its operand as a condition
    // first; the caller then tries the whole expression).
    if bound.ty != crate::sql::types::DataType::Bool || has_subquery_node(&bound) {
        return Ok(None);
    }
    let p = Outcomes { bound, eval };
    let snap = ctx.table();
    let body = match col.ty.kind() {
        TagKind::Flag => flag(snap, &col, &p)?,
        TagKind::Categorical => dictionary(snap, &col, &p)?,
        TagKind::Numeric => numeric(snap, &col, &p)?,
        TagKind::MultiValued => None,
    };
    let Some(body) = body else {
        return Ok(None);
    };
    let on_null = if has_nulls(snap, col.id)? {
        p.outcome(Datum::Null)?
    } else {
        None
    };
    Ok(Some(with_nulls(body, col.id, on_null).simplify()))
}

/// The one column of the table `e` reads, if exactly one.
fn single_column(ctx: &dyn PredContext, e: &Expr) -> Option<ColumnSchema> {
    let mut found: Option<ColumnSchema> = None;
    let mut other = false;
    any_outside_subqueries(e, |x| {
        if matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            match column_ref(ctx, x) {
                Ok(Some(ColRef::Tag(c))) => match &found {
                    Some(f) if f.id == c.id => {}
                    Some(_) => other = true,
                    None => found = Some(c),
                },
                Ok(Some(ColRef::Key)) => other = true,
                Ok(None) | Err(_) => {}
            }
        }
        other
    });
    if other { None } else { found }
}

/// Whether `e` holds a subquery or calls a volatile function.
fn has_subquery_or_volatile(e: &Expr) -> bool {
    any_outside_subqueries(e, |x| match x {
        Expr::Subquery(_)
        | Expr::Exists { .. }
        | Expr::In {
            target: InTarget::Subquery(_),
            ..
        } => true,
        Expr::Function(f) => f.name.0.last().is_some_and(|part| {
            let name = part.to_string().to_lowercase();
            VOLATILE.contains(&name.trim_matches('"'))
        }),
        _ => false,
    })
}

/// Whether the bound expression runs a subquery or a window function.
fn has_subquery_node(b: &BoundExpr) -> bool {
    let mut found = false;
    b.expr.walk(&mut |x| {
        found |= matches!(
            x,
            scalar::ScalarExpr::Subquery(_) | scalar::ScalarExpr::Window(_)
        );
    });
    found
}

/// The bound expression and what it is evaluated with.
struct Outcomes<'a> {
    bound: BoundExpr,
    eval: &'a EvalContext,
}

impl Outcomes<'_> {
    /// The expression's value when the column holds `d`.
    fn outcome(&self, d: Datum) -> SqlResult<Option<bool>> {
        match scalar::eval(&self.bound, &[d], self.eval)? {
            Datum::Bool(b) => Ok(Some(b)),
            Datum::Null => Ok(None),
            // The bound expression is boolean (checked in `compile`).
            _ => Err(super::not_boolean("WHERE", self.bound.ty)),
        }
    }

    /// [`Outcomes::outcome`], where an error counts only if `live` says a
    /// live row holds the value (`Ok(None)` when none does).
    fn outcome_if_live(
        &self,
        d: Datum,
        live: impl FnOnce() -> SqlResult<bool>,
    ) -> SqlResult<Option<Option<bool>>> {
        match self.outcome(d) {
            Ok(o) => Ok(Some(o)),
            Err(err) if live()? => Err(err),
            Err(_) => Ok(None),
        }
    }
}

/// The predicate from the TRUE and FALSE value sets (and whether the UNKNOWN
/// one is empty), choosing the smaller of the TRUE and FALSE sets:
/// `sel(set)` must be TRUE on rows holding a value of the set, FALSE on
/// other non-NULL rows, UNKNOWN on NULL rows.
fn assemble(
    t_len: usize,
    f_len: usize,
    sel_t: impl FnOnce() -> SqlResult<Pred>,
    sel_f: impl FnOnce() -> SqlResult<Pred>,
    sel_u: Option<Pred>,
) -> SqlResult<Pred> {
    let (negate, first) = if f_len < t_len {
        (true, sel_f()?)
    } else {
        (false, sel_t()?)
    };
    let mut parts = vec![first];
    if let Some(u) = sel_u {
        parts.push(Pred::And(vec![u, Pred::Const(None)]));
    }
    let p = Pred::Or(parts);
    Ok(if negate { Pred::Not(Box::new(p)) } else { p })
}

/// `sel(∅)`: FALSE on every non-NULL row, UNKNOWN on NULL rows.
fn sel_none(col: ColumnId) -> Pred {
    Pred::And(vec![Pred::IsNull { col }, Pred::Const(None)])
}

/// Adds the column's NULL rows to the TRUE or FALSE set as the expression
/// on NULL says.
fn with_nulls(body: Pred, col: ColumnId, on_null: Option<bool>) -> Pred {
    match on_null {
        Some(true) => Pred::Or(vec![body, Pred::IsNull { col }]),
        Some(false) => Pred::And(vec![body, Pred::Not(Box::new(Pred::IsNull { col }))]),
        None => body,
    }
}

/// Whether a live row of the table has NULL in `col`.
fn has_nulls(snap: &TableSnapshot, col: ColumnId) -> SqlResult<bool> {
    for shard in 0..snap.shard_count() {
        let nn = snap.bitmap(col, ColumnRead::NotNull, shard)?;
        if snap.live(shard)?.len() > nn.len() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a live row holds `read` of `col`.
fn any_row(snap: &TableSnapshot, col: ColumnId, read: ColumnRead<'_>) -> SqlResult<bool> {
    for shard in 0..snap.shard_count() {
        if !snap.bitmap(col, read, shard)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A boolean column: the expression on `true` and on `false`.
fn flag(snap: &TableSnapshot, col: &ColumnSchema, p: &Outcomes<'_>) -> SqlResult<Option<Pred>> {
    let (mut t, mut f, mut u) = (Vec::new(), Vec::new(), Vec::new());
    for value in [true, false] {
        let read = if value {
            ColumnRead::True
        } else {
            ColumnRead::False
        };
        match p.outcome_if_live(Datum::Bool(value), || any_row(snap, col.id, read))? {
            Some(Some(true)) => t.push(value),
            Some(Some(false)) => f.push(value),
            Some(None) => u.push(value),
            None => {}
        }
    }
    let sel = |set: &[bool]| match set {
        [] => sel_none(col.id),
        [v] => Pred::Flag {
            col: col.id,
            value: *v,
        },
        _ => Pred::Or(
            set.iter()
                .map(|v| Pred::Flag {
                    col: col.id,
                    value: *v,
                })
                .collect(),
        ),
    };
    let sel_u = (!u.is_empty()).then(|| sel(&u));
    assemble(t.len(), f.len(), || Ok(sel(&t)), || Ok(sel(&f)), sel_u).map(Some)
}

/// A text column: the expression on every value of its dictionary.
fn dictionary(
    snap: &TableSnapshot,
    col: &ColumnSchema,
    p: &Outcomes<'_>,
) -> SqlResult<Option<Pred>> {
    let values = snap.values(col.id)?;
    if values.len() > DISTINCT_MAX {
        return Ok(None);
    }
    let (mut t, mut f, mut u) = (Vec::new(), Vec::new(), Vec::new());
    for v in values.iter() {
        let d = Datum::Text(v.to_string());
        match p.outcome_if_live(d, || any_row(snap, col.id, ColumnRead::Value(v)))? {
            Some(Some(true)) => t.push(v.clone()),
            Some(Some(false)) => f.push(v.clone()),
            Some(None) => u.push(v.clone()),
            None => {}
        }
    }
    let sel = |values: Vec<Arc<str>>| {
        if values.is_empty() {
            sel_none(col.id)
        } else {
            Pred::AnyValue {
                col: col.id,
                values,
            }
        }
    };
    let sel_u = (!u.is_empty()).then(|| sel(u));
    let (tn, fnum) = (t.len(), f.len());
    assemble(tn, fnum, || Ok(sel(t)), || Ok(sel(f)), sel_u).map(Some)
}

/// A bit-sliced column: the expression on each distinct value present, in
/// order; `None` when the column has too many distinct values.
fn numeric(snap: &TableSnapshot, col: &ColumnSchema, p: &Outcomes<'_>) -> SqlResult<Option<Pred>> {
    let shards = (0..snap.shard_count())
        .map(|s| snap.numeric(col.id, s))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(values) = distinct_values(&shards) else {
        return Ok(None);
    };
    let mut outcomes = Vec::with_capacity(values.len());
    for &v in &values {
        outcomes.push(p.outcome(crate::exec::convert::decode_int(v, col.ty))?);
    }
    let runs = runs(&values, &outcomes);
    let count = |o: Option<bool>| runs.iter().filter(|r| r.2 == o).count();
    let sel = |o: Option<bool>| sel_ranges(col, &shards, &values, &outcomes, &runs, o);
    let sel_u = if count(None) == 0 {
        None
    } else {
        Some(sel(None)?)
    };
    let (t, f) = (count(Some(true)), count(Some(false)));
    assemble(t, f, || sel(Some(true)), || sel(Some(false)), sel_u).map(Some)
}

/// The sorted distinct values of a bit-sliced column over all shards, or
/// `None` beyond [`DISTINCT_MAX`].
fn distinct_values(shards: &[NumericShard]) -> Option<Vec<i64>> {
    let (mut rows, mut lo, mut hi) = (0u64, i64::MAX, i64::MIN);
    for n in shards {
        let b = BsiRef::new(&n.not_null, &n.sign, &n.planes);
        rows += n.not_null.len();
        if let (Some(a), Some(z)) = (b.min(None), b.max(None)) {
            lo = lo.min(a);
            hi = hi.max(z);
        }
    }
    let span = i128::from(hi) - i128::from(lo) + 1;
    let cap = DISTINCT_MAX as u64;
    if rows > cap && span > i128::from(cap) && sampled_many(shards, rows) {
        return None;
    }
    let mut out: Vec<i64> = Vec::new();
    for n in shards {
        let b = BsiRef::new(&n.not_null, &n.sign, &n.planes);
        out.extend(b.group_counts(None).into_iter().map(|(v, _)| v));
        if shards.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
        if out.len() > DISTINCT_MAX {
            return None;
        }
    }
    Some(out)
}

/// Whether an even sample of [`SAMPLE_ROWS`] rows has so many distinct
/// values (over a quarter) that the column likely has more than
/// [`DISTINCT_MAX`].
fn sampled_many(shards: &[NumericShard], rows: u64) -> bool {
    let step = usize::try_from(rows / SAMPLE_ROWS as u64)
        .unwrap_or(usize::MAX)
        .max(1);
    let mut seen = Vec::with_capacity(SAMPLE_ROWS + shards.len());
    for n in shards {
        let sample: RoaringBitmap = n.not_null.iter().step_by(step).collect();
        let b = BsiRef::new(&n.not_null, &n.sign, &n.planes);
        seen.extend(b.values(&sample).into_iter().map(|(_, v)| v));
    }
    let total = seen.len();
    seen.sort_unstable();
    seen.dedup();
    seen.len() * 4 > total
}

/// Runs of consecutive values with one outcome: (first index, last index,
/// outcome).
fn runs(values: &[i64], outcomes: &[Option<bool>]) -> Vec<(usize, usize, Option<bool>)> {
    let mut out: Vec<(usize, usize, Option<bool>)> = Vec::new();
    for (i, o) in outcomes.iter().enumerate().take(values.len()) {
        match out.last_mut() {
            Some(last) if last.2 == *o => last.1 = i,
            _ => out.push((i, i, *o)),
        }
    }
    out
}

/// `sel` of the values with outcome `o`: ranges, or the rows themselves
/// beyond [`RANGES_MAX`] ranges.
fn sel_ranges(
    col: &ColumnSchema,
    shards: &[NumericShard],
    values: &[i64],
    outcomes: &[Option<bool>],
    runs: &[(usize, usize, Option<bool>)],
    o: Option<bool>,
) -> SqlResult<Pred> {
    let mine: Vec<_> = runs.iter().filter(|r| r.2 == o).collect();
    let last = values.len().saturating_sub(1);
    if mine.is_empty() {
        return Ok(sel_none(col.id));
    }
    if mine.len() <= RANGES_MAX {
        let ranges = mine.iter().map(|&&(a, z, _)| match (a == 0, z == last) {
            // Every value: TRUE on every non-NULL row, FALSE on none.
            (true, true) => Pred::Compare {
                col: col.id,
                op: CompareOp::Ge,
                value: values[a],
            },
            (true, false) => Pred::Compare {
                col: col.id,
                op: CompareOp::Le,
                value: values[z],
            },
            (false, true) => Pred::Compare {
                col: col.id,
                op: CompareOp::Ge,
                value: values[a],
            },
            (false, false) if a == z => Pred::Compare {
                col: col.id,
                op: CompareOp::Eq,
                value: values[a],
            },
            (false, false) => Pred::Between {
                col: col.id,
                lo: values[a],
                hi: values[z],
            },
        });
        return Ok(Pred::Or(ranges.collect()));
    }
    let mut rows = RoaringBitmap::new();
    for n in shards {
        let b = BsiRef::new(&n.not_null, &n.sign, &n.planes);
        for (v, r) in b.groups(None) {
            if let Ok(i) = values.binary_search(&v)
                && outcomes.get(i) == Some(&o)
            {
                rows |= r;
            }
        }
    }
    // Rows are never UNKNOWN: NULL rows join through sel(∅).
    Ok(Pred::Or(vec![Pred::Rows(Arc::new(rows)), sel_none(col.id)]))
}

#[cfg(test)]
#[path = "per_value_tests.rs"]
mod tests;
