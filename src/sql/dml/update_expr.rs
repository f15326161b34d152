//! `UPDATE t SET col = <expression of columns> [, …] WHERE …`: assignments
//! whose values are computed from the old row (`SET vip = NOT vip`, `SET
//! age = age + 1`, `SET tier = CASE WHEN ltv > 1000 THEN 'gold' … END`).
//!
//! Every expression is bound over the table's columns (key included) with
//! PostgreSQL's assignment coercion to the target column's type, so the
//! rounding, range checks (22003), bad text (22P02) and missing casts
//! (42804) are PostgreSQL's. All assignments read the row's *old* values
//! (`SET a = b, b = a` swaps).
//!
//! Nothing is written row by row: the rows the `WHERE` selects are split by
//! the value each assignment computes for them, and each (column, value)
//! group becomes one bitmap write ([`WriteOp::SetRows`]). How the values
//! are computed:
//!
//! - an expression of no column is evaluated once;
//! - an expression of one flag or categorical column is evaluated once per
//!   distinct value the selected rows hold (and once for NULL), the rows of
//!   each value taken from its bitmap;
//! - anything else is evaluated row by row over windows of at most
//!   [`WINDOW_ROWS`] rows of one shard, reading the columns it needs from
//!   the bitmaps; results are memoized per combination of stored codes when
//!   every input is coded (flags, numbers, categorical values) and the
//!   expression is deterministic, so `SET age = age + 1` evaluates once per
//!   distinct age.
//!
//! An evaluation error is raised only for values a selected row holds.
//! Every write goes into one [`WriteBatch`], so an error (or a cancel)
//! leaves the table unchanged and an acknowledged statement is durable as
//! a whole. Between windows the statement's cancellation and timeout are
//! checked; windows and value groups are charged to its memory budget.

use super::{Target, assignment_column, target};
use crate::exec::filter::Pred;
use crate::exec::filter::row_columns::{Batch, Reader};
use crate::exec::rows::{Fetch, select_shards};
use crate::index::{ColumnType, TagKind, Value};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::per_value::VOLATILE;
use crate::sql::predicate::row_wise::{intern, table_column};
use crate::sql::scalar::{self, BoundExpr, Func, ScalarExpr, Scope};
use crate::sql::select::{QueryCtx, where_pred};
use crate::sql::types::{DataType, Datum};
use crate::storage::{ColumnId, ColumnRead, Store, TableSnapshot, WriteBatch, WriteOp};
use roaring::RoaringBitmap;
use sqlparser::ast::{Expr, Update, Visit, Visitor};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Rows evaluated per window: one roaring container's worth.
pub const WINDOW_ROWS: usize = 1 << 16;

/// Distinct input combinations remembered per assignment before memoizing
/// stops.
const MEMO_MAX: usize = 1 << 16;

/// The most distinct values of a categorical column evaluated one by one
/// from their bitmaps; beyond that the rows are read window by window.
const DISTINCT_MAX: usize = 1 << 16;

/// Memory charged per value group besides its value: the map entries and
/// the bitmap's header.
const GROUP_BYTES: u64 = 160;

/// One `SET col = expression`.
struct Assign {
    /// The target column.
    column: ColumnId,
    /// Its type.
    ty: ColumnType,
    /// Its name (for errors).
    name: String,
    /// The expression, coerced to the column's type; column `i` of its row
    /// is the statement's `i`-th fetched column.
    expr: BoundExpr,
    /// The fetched columns the expression reads (positions, ascending).
    inputs: Vec<usize>,
    /// Whether equal inputs give equal results (nothing volatile, no
    /// subquery or catalog function).
    deterministic: bool,
}

/// The rows of the statement split by the value one assignment gives them.
#[derive(Default)]
struct Groups {
    values: Vec<Option<Value>>,
    rows: Vec<RoaringBitmap>,
    index: HashMap<Option<Value>, usize>,
    /// Input codes already evaluated → their group.
    memo: HashMap<Vec<Option<i64>>, usize>,
}

impl Groups {
    /// The group of `value`, created (and charged) if new.
    fn group(&mut self, value: Option<Value>, ctx: &QueryCtx<'_>) -> SqlResult<usize> {
        if let Some(g) = self.index.get(&value) {
            return Ok(*g);
        }
        let size = match &value {
            Some(Value::Text(s)) => s.len() as u64 * 2,
            Some(Value::TextSet(items)) => items.iter().map(|s| s.len() as u64 * 2 + 48).sum(),
            _ => 0,
        };
        ctx.cancel.charge(GROUP_BYTES + size, "UPDATE values")?;
        let g = self.values.len();
        self.values.push(value.clone());
        self.rows.push(RoaringBitmap::new());
        self.index.insert(value, g);
        Ok(g)
    }
}

/// Runs `UPDATE` when some assignment reads columns of the table (`table`,
/// visible as `alias`, or its name without one).
pub(super) fn update(
    store: &Store,
    ctx: &QueryCtx<'_>,
    up: &Update,
    table: &TableSnapshot,
    alias: Option<&str>,
) -> SqlResult<String> {
    let schema = table.schema();
    let alias = alias.unwrap_or(&schema.name);
    let filter = where_pred(
        ctx,
        table,
        alias,
        Pred::Const(Some(true)),
        up.selection.as_ref(),
    )?;
    let scope = TableScope {
        table,
        alias,
        columns: RefCell::new(Vec::new()),
        used: RefCell::new(Vec::new()),
    };
    let mut assigns: Vec<Assign> = Vec::with_capacity(up.assignments.len());
    for a in &up.assignments {
        let col = assignment_column(a)?;
        let (column, ty, name) = match target(table, &col)? {
            Target::Key => return Err(SqlError::unsupported("updating the key column")),
            Target::Tag(id, ty, name) => (id, ty, name),
        };
        if assigns.iter().any(|x| x.column == column) {
            return Err(SqlError::syntax(format!(
                "multiple assignments to same column \"{name}\""
            )));
        }
        let value = if is_default(&a.value) {
            Expr::value(sqlparser::ast::Value::Null)
        } else {
            a.value.clone()
        };
        scope.used.borrow_mut().clear();
        let mut params = ctx.params.borrow().clone();
        let bound = scalar::bind_assign_with(
            &value,
            &scope,
            &mut params,
            DataType::of_column(ty),
            Some(&name),
            Some(ctx),
        );
        *ctx.params.borrow_mut() = params;
        let expr = bound?;
        let mut inputs = scope.used.borrow().clone();
        inputs.sort_unstable();
        inputs.dedup();
        let deterministic = !has_volatile(&value) && !has_opaque_node(&expr);
        assigns.push(Assign {
            column,
            ty,
            name,
            expr,
            inputs,
            deterministic,
        });
    }
    if ctx.dry_run {
        return Ok("UPDATE 0".into());
    }
    let fetch = scope.columns.into_inner();
    // Constants are evaluated once, as PostgreSQL folds them while planning.
    let mut groups: Vec<Groups> = assigns.iter().map(|_| Groups::default()).collect();
    let mut constant: Vec<Option<usize>> = vec![None; assigns.len()];
    for (i, a) in assigns.iter().enumerate() {
        if a.inputs.is_empty() && a.deterministic {
            let d = scalar::eval(&a.expr, &vec![Datum::Null; fetch.len()], ctx.eval)?;
            let v = crate::exec::convert::encode_value(&d, a.ty, &a.name)?;
            constant[i] = Some(groups[i].group(v, ctx)?);
        }
    }
    let shards = select_shards(table, &filter, ctx.cancel)?;
    let n: u64 = shards.iter().map(RoaringBitmap::len).sum();
    if n == 0 {
        return Ok("UPDATE 0".into());
    }
    ctx.cancel
        .charge(n / 4 * assigns.len() as u64, "UPDATE rows")?;
    for (shard, rows) in shards.iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        ctx.cancel.check()?;
        let shard = u32::try_from(shard).map_err(|_| SqlError::internal("shard number"))?;
        let mut by_rows = Vec::new();
        for (i, a) in assigns.iter().enumerate() {
            if let Some(g) = constant[i] {
                groups[i].rows[g] |= rows;
            } else if !per_value(ctx, table, shard, rows, a, &fetch, &mut groups[i])? {
                by_rows.push(i);
            }
        }
        if !by_rows.is_empty() {
            row_by_row(
                ctx,
                table,
                shard,
                rows,
                &assigns,
                &by_rows,
                &fetch,
                &mut groups,
            )?;
        }
    }
    ctx.cancel.check()?;
    let mut ops = Vec::new();
    for (a, g) in assigns.iter().zip(groups) {
        for (value, rows) in g.values.into_iter().zip(g.rows) {
            if !rows.is_empty() {
                ops.push(WriteOp::SetRows {
                    rows,
                    column: a.column,
                    value,
                });
            }
        }
    }
    store.write(WriteBatch {
        table: schema.id,
        ops,
    })?;
    Ok(format!("UPDATE {n}"))
}

/// `DEFAULT` as an assignment's value (audb columns default to NULL).
fn is_default(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// Whether `e` calls a volatile function.
fn has_volatile(e: &Expr) -> bool {
    struct Find;
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e
                && let Some(last) = f.name.0.last()
                && let Some(id) = last.as_ident()
                && VOLATILE.contains(&id.value.to_ascii_lowercase().as_str())
            {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    e.visit(&mut Find).is_break()
}

/// Whether the bound expression runs a subquery or a catalog function
/// (whose results are not a function of the row alone).
fn has_opaque_node(e: &BoundExpr) -> bool {
    let mut found = false;
    e.expr.walk(&mut |x| {
        found |= matches!(
            x,
            ScalarExpr::Function {
                func: Func::Catalog(_),
                ..
            } | ScalarExpr::Subquery(_)
        );
    });
    found
}

/// Splits `rows` (of `shard`) by the value of `a` when it reads exactly one
/// flag or categorical column, evaluating it once per distinct value held
/// by those rows; `false` when `a` is not such an assignment.
fn per_value(
    ctx: &QueryCtx<'_>,
    snap: &TableSnapshot,
    shard: u32,
    rows: &RoaringBitmap,
    a: &Assign,
    fetch: &[Fetch],
    groups: &mut Groups,
) -> SqlResult<bool> {
    let [input] = a.inputs.as_slice() else {
        return Ok(false);
    };
    let Some(Fetch::Tag(col, ty)) = fetch.get(*input).copied() else {
        return Ok(false);
    };
    if !a.deterministic {
        return Ok(false);
    }
    let mut sets: Vec<(Datum, RoaringBitmap)> = Vec::new();
    match ty.kind() {
        TagKind::Flag => {
            let t = snap.bitmap(col, ColumnRead::True, shard)?;
            let f = snap.bitmap(col, ColumnRead::False, shard)?;
            sets.push((Datum::Bool(true), rows & t.as_ref()));
            sets.push((Datum::Bool(false), rows & f.as_ref()));
        }
        TagKind::Categorical => {
            let dict = snap.values(col)?;
            if dict.len() > DISTINCT_MAX {
                return Ok(false);
            }
            for v in dict.iter() {
                let bm = snap.bitmap(col, ColumnRead::Value(v), shard)?;
                let r = rows & bm.as_ref();
                if !r.is_empty() {
                    sets.push((Datum::Text(v.to_string()), r));
                }
            }
        }
        TagKind::Numeric | TagKind::MultiValued => return Ok(false),
    }
    let nn = snap.bitmap(col, ColumnRead::NotNull, shard)?;
    sets.push((Datum::Null, rows - nn.as_ref()));
    let mut row = vec![Datum::Null; fetch.len()];
    for (d, r) in sets {
        if r.is_empty() {
            continue;
        }
        row[*input] = d;
        let out = scalar::eval(&a.expr, &row, ctx.eval)?;
        let v = crate::exec::convert::encode_value(&out, a.ty, &a.name)?;
        let g = groups.group(v, ctx)?;
        groups.rows[g] |= r;
    }
    Ok(true)
}

/// Splits `rows` (of `shard`) by the values of the assignments `which`,
/// evaluated row by row over windows of the shard.
#[allow(clippy::too_many_arguments)]
fn row_by_row(
    ctx: &QueryCtx<'_>,
    snap: &TableSnapshot,
    shard: u32,
    rows: &RoaringBitmap,
    assigns: &[Assign],
    which: &[usize],
    fetch: &[Fetch],
    groups: &mut [Groups],
) -> SqlResult<()> {
    // Only the columns these assignments read are read.
    let mut needed = vec![false; fetch.len()];
    for &i in which {
        for &c in &assigns[i].inputs {
            needed[c] = true;
        }
    }
    let mut readers: Vec<Option<Reader>> = Vec::with_capacity(fetch.len());
    for (f, need) in fetch.iter().zip(&needed) {
        readers.push(if *need {
            Some(Reader::new(snap, shard, *f)?)
        } else {
            None
        });
    }
    let memo: Vec<bool> = which
        .iter()
        .map(|&i| {
            let a = &assigns[i];
            a.deterministic
                && a.inputs
                    .iter()
                    .all(|&c| readers[c].as_ref().is_some_and(Reader::coded))
        })
        .collect();
    let ncols = needed.iter().filter(|n| **n).count().max(1) as u64;
    let mut key: Vec<Option<i64>> = Vec::new();
    let mut row = vec![Datum::Null; fetch.len()];
    let mut ids: Vec<u32> = Vec::with_capacity(WINDOW_ROWS.min(rows.len() as usize));
    let mut iter = rows.iter().peekable();
    while let Some(first) = iter.next() {
        ids.clear();
        ids.push(first);
        while ids.len() < WINDOW_ROWS
            && let Some(&r) = iter.peek()
            && r >> 16 == first >> 16
        {
            ids.push(r);
            iter.next();
        }
        let _window = ctx.cancel.reserve(
            ids.len() as u64 * ncols * (std::mem::size_of::<Datum>() as u64 + 16),
            "UPDATE values",
        )?;
        let window = RoaringBitmap::from_sorted_iter(ids.iter().copied())
            .map_err(|_| SqlError::internal("UPDATE window rows out of order"))?;
        let mut batches: Vec<Option<Batch>> = Vec::with_capacity(readers.len());
        for r in readers.iter_mut() {
            batches.push(match r {
                Some(r) => Some(r.read(snap, &ids, &window)?),
                None => None,
            });
        }
        for (&i, &memo) in which.iter().zip(&memo) {
            let a = &assigns[i];
            let g = &mut groups[i];
            for (k, r) in ids.iter().enumerate() {
                let group = if memo {
                    key.clear();
                    key.extend(
                        a.inputs
                            .iter()
                            .map(|&c| batches[c].as_ref().and_then(|b| b.code(k))),
                    );
                    match g.memo.get(key.as_slice()) {
                        Some(x) => *x,
                        None => {
                            let x = eval_row(ctx, a, &readers, &batches, k, &mut row, g)?;
                            if g.memo.len() < MEMO_MAX {
                                g.memo.insert(key.clone(), x);
                            }
                            x
                        }
                    }
                } else {
                    eval_row(ctx, a, &readers, &batches, k, &mut row, g)?
                };
                let bm = &mut g.rows[group];
                if bm.try_push(*r).is_err() {
                    bm.insert(*r);
                }
            }
        }
        ctx.cancel.check()?;
    }
    Ok(())
}

/// Evaluates `a` for row `k` of the window; its group.
fn eval_row(
    ctx: &QueryCtx<'_>,
    a: &Assign,
    readers: &[Option<Reader>],
    batches: &[Option<Batch>],
    k: usize,
    row: &mut [Datum],
    groups: &mut Groups,
) -> SqlResult<usize> {
    for &c in &a.inputs {
        if let (Some(reader), Some(batch), Some(slot)) = (
            readers.get(c).and_then(Option::as_ref),
            batches.get(c).and_then(Option::as_ref),
            row.get_mut(c),
        ) {
            *slot = reader.datum(batch, k);
        }
    }
    let d = scalar::eval(&a.expr, row, ctx.eval)?;
    let v = crate::exec::convert::encode_value(&d, a.ty, &a.name)?;
    groups.group(v, ctx)
}

/// The table's columns as the row an assignment reads: each column
/// referenced gets the next position, in order of first reference; `used`
/// collects the positions the expression being bound reads.
struct TableScope<'a> {
    table: &'a TableSnapshot,
    alias: &'a str,
    columns: RefCell<Vec<Fetch>>,
    used: RefCell<Vec<usize>>,
}

impl Scope for TableScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if let Some(q) = qualifier
            && q != self.alias
        {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("missing FROM-clause entry for table \"{q}\""),
            ));
        }
        let (fetch, ty) = table_column(self.table, qualifier, name)?;
        let index = intern(&mut self.columns.borrow_mut(), fetch);
        self.used.borrow_mut().push(index);
        Ok((index, ty))
    }
}
