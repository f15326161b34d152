//! A small row-at-a-time relational layer: projection (with window
//! functions), filter, sort, limit, distinct and set operations over
//! in-memory relations.
//!
//! Row-at-a-time is intended here: relations are small (catalog tables,
//! grouped results above the bitmap engine, UNIONs of small results) and
//! bounded by [`RELATION_ROWS_MAX`]. Audience-sized work stays in bitmaps.
//!
//! What an operation materializes (a sort's keyed rows, a set operation's
//! rows and dedupe sets, DISTINCT's seen rows) is charged to the
//! statement's memory budget while the operation runs, each row estimated by
//! [`row_bytes`](crate::exec::memory::row_bytes): a small `query_memory_limit`
//! fails the statement with 53200 instead of letting it grow.

use super::error::{SqlError, SqlResult, SqlState};
use super::scalar::{
    self, BoundExpr, EvalContext, ScalarExpr, Scope, WindowExpr, compare_datums, select_common_type,
};
use super::types::{DataType, Datum};
use crate::exec::memory::{Meter, row_bytes, rows_bytes};
use crate::exec::parallel::Cancel;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One output column: its name and SQL type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The column name (as shown to clients).
    pub name: String,
    /// The column type.
    pub ty: DataType,
}

/// A materialized relation: columns and rows (each row has one value per
/// column, of that column's type).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Relation {
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<Vec<Datum>>,
}

/// The most rows a relation may hold; beyond it operations fail with 54000
/// (program_limit_exceeded) instead of exhausting memory.
pub const RELATION_ROWS_MAX: usize = 1_000_000;

/// 54000 when `rows` exceeds [`RELATION_ROWS_MAX`].
pub fn check_rows(rows: usize) -> SqlResult<()> {
    if rows > RELATION_ROWS_MAX {
        return Err(SqlError::new(
            SqlState::ProgramLimitExceeded,
            format!("result has more than {RELATION_ROWS_MAX} rows"),
        ));
    }
    Ok(())
}

/// Evaluates `exprs` over every row of `rel`: window functions first (over
/// the whole input), then the expressions. Output columns are named by the
/// given names. Cost: O(rows × exprs), plus O(rows log rows) per window.
pub fn project(
    rel: &Relation,
    exprs: &[(String, BoundExpr)],
    ctx: &EvalContext,
    cancel: &Cancel,
) -> SqlResult<Relation> {
    check_rows(rel.rows.len())?;
    let columns: Vec<Column> = exprs
        .iter()
        .map(|(name, e)| Column {
            name: name.clone(),
            ty: e.ty,
        })
        .collect();
    // A plain column list (`SELECT user_id AS id …`) copies values: no
    // evaluation environment per row.
    let picks: Option<Vec<usize>> = exprs
        .iter()
        .map(|(_, e)| match e.expr {
            scalar::ScalarExpr::Column { index, .. } => Some(index),
            _ => None,
        })
        .collect();
    if let Some(picks) = picks
        && rel
            .rows
            .iter()
            .all(|row| picks.iter().all(|&i| i < row.len()))
    {
        cancel.check()?;
        let rows = rel
            .rows
            .iter()
            .map(|row| picks.iter().map(|&i| row[i].clone()).collect())
            .collect();
        return Ok(Relation { columns, rows });
    }
    let mut windows: Vec<&WindowExpr> = Vec::new();
    for (_, e) in exprs {
        collect_windows(&e.expr, &mut windows);
    }
    let values = scalar::eval_windows(&windows, &rel.rows, ctx, cancel)?;
    let mut rows = Vec::with_capacity(rel.rows.len());
    for (i, row) in rel.rows.iter().enumerate() {
        if i % scalar::CANCEL_CHECK_ROWS == 0 {
            cancel.check()?;
        }
        let env = scalar::Env {
            row,
            ctx,
            windows: &values,
            row_index: i,
        };
        rows.push(
            exprs
                .iter()
                .map(|(_, e)| scalar::eval_in(&e.expr, &env))
                .collect::<SqlResult<Vec<_>>>()?,
        );
    }
    Ok(Relation { columns, rows })
}

fn collect_windows<'a>(e: &'a ScalarExpr, out: &mut Vec<&'a WindowExpr>) {
    match e {
        ScalarExpr::Window(w) => out.push(w),
        _ => visit_children(e, &mut |c| collect_windows(c, out)),
    }
}

/// Calls `f` on each direct child of `e` (window calls are leaves here).
pub(crate) fn visit_children<'a>(e: &'a ScalarExpr, f: &mut dyn FnMut(&'a ScalarExpr)) {
    match e {
        ScalarExpr::Column { .. }
        | ScalarExpr::Literal { .. }
        | ScalarExpr::Param { .. }
        | ScalarExpr::Window(_) => {}
        ScalarExpr::Unary { arg, .. }
        | ScalarExpr::IsNull { arg, .. }
        | ScalarExpr::IsBool { arg, .. }
        | ScalarExpr::Cast { arg, .. }
        | ScalarExpr::FieldSelect { arg, .. } => f(arg),
        ScalarExpr::Binary { left, right, .. }
        | ScalarExpr::IsDistinctFrom { left, right, .. }
        | ScalarExpr::ArrayContains { left, right }
        | ScalarExpr::ArrayOverlap { left, right } => {
            f(left);
            f(right);
        }
        ScalarExpr::InList { arg, list, .. } => {
            f(arg);
            list.iter().for_each(f);
        }
        ScalarExpr::Between { arg, low, high, .. } => {
            f(arg);
            f(low);
            f(high);
        }
        ScalarExpr::Like {
            arg,
            pattern,
            escape,
            ..
        } => {
            f(arg);
            f(pattern);
            if let Some(e) = escape {
                f(e);
            }
        }
        ScalarExpr::Case {
            whens, else_result, ..
        } => {
            for (c, r) in whens {
                f(c);
                f(r);
            }
            if let Some(e) = else_result {
                f(e);
            }
        }
        ScalarExpr::Function { args, .. }
        | ScalarExpr::Coalesce { args, .. }
        | ScalarExpr::ArrayLiteral { elems: args }
        | ScalarExpr::Row { fields: args, .. } => args.iter().for_each(f),
        ScalarExpr::AnyArray { arg, array, .. } => {
            f(arg);
            f(array);
        }
        ScalarExpr::Subquery(s) => {
            if let scalar::SubqueryKind::In { arg, .. } = &s.kind {
                f(arg);
            }
        }
    }
}

/// Keeps the rows where `pred` is TRUE (not FALSE, not NULL).
pub fn filter(
    rel: Relation,
    pred: &BoundExpr,
    ctx: &EvalContext,
    cancel: &Cancel,
) -> SqlResult<Relation> {
    let mut rows = Vec::new();
    for (i, row) in rel.rows.into_iter().enumerate() {
        if i % scalar::CANCEL_CHECK_ROWS == 0 {
            cancel.check()?;
        }
        if scalar::eval(pred, &row, ctx)? == Datum::Bool(true) {
            rows.push(row);
        }
    }
    Ok(Relation {
        columns: rel.columns,
        rows,
    })
}

/// One `ORDER BY` key.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    /// The key expression, over the relation's columns.
    pub expr: BoundExpr,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST` / `NULLS LAST`; `None` is PostgreSQL's default (last
    /// for ASC, first for DESC).
    pub nulls_first: Option<bool>,
}

/// Sorts rows by `keys` (stable: equal rows keep their order), in
/// PostgreSQL's order for each type (text bytewise, as collation C).
/// Checks `cancel` (57014) while computing keys and while sorting; the
/// keyed rows are charged to the statement's memory budget (53200) while
/// the sort runs.
pub fn sort(
    rel: Relation,
    keys: &[SortKey],
    ctx: &EvalContext,
    cancel: &Cancel,
) -> SqlResult<Relation> {
    let mut meter = Meter::new(cancel, "a sort");
    let mut keyed = Vec::with_capacity(rel.rows.len());
    for (i, row) in rel.rows.into_iter().enumerate() {
        if i % scalar::CANCEL_CHECK_ROWS == 0 {
            cancel.check()?;
        }
        let k = keys
            .iter()
            .map(|k| scalar::eval(&k.expr, &row, ctx))
            .collect::<SqlResult<Vec<_>>>()?;
        meter.add(row_bytes(&row) + row_bytes(&k))?;
        keyed.push((k, row));
    }
    meter.flush()?;
    scalar::sort_cancellable(&mut keyed, cancel, |(a, _), (b, _)| {
        for (i, key) in keys.iter().enumerate() {
            let nulls_first = key.nulls_first.unwrap_or(key.descending);
            let (x, y) = (&a[i], &b[i]);
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                _ if key.descending => compare_datums(y, x),
                _ => compare_datums(x, y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    })?;
    Ok(Relation {
        columns: rel.columns,
        rows: keyed.into_iter().map(|(_, r)| r).collect(),
    })
}

/// `OFFSET offset LIMIT limit`.
pub fn limit(rel: Relation, offset: u64, limit: Option<u64>) -> Relation {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    Relation {
        columns: rel.columns,
        rows: rel.rows.into_iter().skip(skip).take(take).collect(),
    }
}

/// A row as an ordered key (NULLs equal each other, as DISTINCT and set
/// operations treat them).
#[derive(Clone, Debug)]
pub(crate) struct RowKey(pub(crate) Vec<Datum>);

impl Ord for RowKey {
    fn cmp(&self, other: &RowKey) -> Ordering {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| compare_datums(a, b))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or_else(|| self.0.len().cmp(&other.0.len()))
    }
}

impl PartialOrd for RowKey {
    fn partial_cmp(&self, other: &RowKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RowKey {
    fn eq(&self, other: &RowKey) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RowKey {}

/// Removes duplicate rows (NULLs count as equal), keeping the first of each.
/// Charges nothing: prefer [`distinct_in`], which charges the rows it keeps
/// to the statement's memory budget.
pub fn distinct(rel: Relation) -> Relation {
    let mut seen = BTreeMap::new();
    let mut rows = Vec::new();
    for row in rel.rows {
        if let std::collections::btree_map::Entry::Vacant(v) = seen.entry(RowKey(row)) {
            rows.push(v.key().0.clone());
            v.insert(());
        }
    }
    Relation {
        columns: rel.columns,
        rows,
    }
}

/// [`distinct`], checking `cancel` (57014) and charging each kept row twice
/// (the seen set and the output) to the statement's memory budget (53200)
/// while it runs.
pub fn distinct_in(rel: Relation, cancel: &Cancel) -> SqlResult<Relation> {
    let mut meter = Meter::new(cancel, "DISTINCT");
    let rows = dedupe(rel.rows, cancel, &mut meter)?;
    meter.flush()?;
    Ok(Relation {
        columns: rel.columns,
        rows,
    })
}

/// The first of each group of equal rows, in order, charging `meter` for
/// the seen set and the copies kept.
fn dedupe(
    input: Vec<Vec<Datum>>,
    cancel: &Cancel,
    meter: &mut Meter,
) -> SqlResult<Vec<Vec<Datum>>> {
    let mut seen = BTreeMap::new();
    let mut rows = Vec::new();
    for (i, row) in input.into_iter().enumerate() {
        if i % scalar::CANCEL_CHECK_ROWS == 0 {
            cancel.check()?;
        }
        if let std::collections::btree_map::Entry::Vacant(v) = seen.entry(RowKey(row)) {
            meter.add(2 * row_bytes(&v.key().0))?;
            rows.push(v.key().0.clone());
            v.insert(());
        }
    }
    Ok(rows)
}

/// A set operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// `UNION`
    Union,
    /// `INTERSECT`
    Intersect,
    /// `EXCEPT`
    Except,
}

impl SetOp {
    fn name(self) -> &'static str {
        match self {
            SetOp::Union => "UNION",
            SetOp::Intersect => "INTERSECT",
            SetOp::Except => "EXCEPT",
        }
    }
}

/// `a UNION|INTERSECT|EXCEPT [ALL] b`. Column counts must agree (42601);
/// each column resolves to the common type of both sides (42804 `UNION
/// types integer and text cannot be matched`), values are converted to it.
/// Without ALL the result has no duplicates. Column names come from `a`.
/// Both sides' rows and the dedupe sets are charged to the statement's
/// memory budget (53200) while the operation runs; `cancel` is checked
/// (57014) every few thousand rows.
pub fn set_op(
    a: Relation,
    b: Relation,
    op: SetOp,
    all: bool,
    cancel: &Cancel,
) -> SqlResult<Relation> {
    if a.columns.len() != b.columns.len() {
        return Err(SqlError::syntax(format!(
            "each {} query must have the same number of columns",
            op.name()
        )));
    }
    let mut columns = Vec::with_capacity(a.columns.len());
    for (ca, cb) in a.columns.iter().zip(&b.columns) {
        let ty = select_common_type(&[ca.ty, cb.ty], op.name())?;
        columns.push(Column {
            name: ca.name.clone(),
            ty,
        });
    }
    let conv = |rel: Relation| -> SqlResult<Vec<Vec<Datum>>> {
        let ctx = EvalContext::default();
        let from: Vec<DataType> = rel.columns.iter().map(|c| c.ty).collect();
        rel.rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let (f, t) = (from[i], columns[i].ty);
                        // An untyped literal's value is its text.
                        let f = if f == DataType::Unknown {
                            DataType::Text
                        } else {
                            f
                        };
                        if f == t || t == DataType::Unknown {
                            Ok(d)
                        } else {
                            scalar::cast(d, f, t, &ctx)
                        }
                    })
                    .collect()
            })
            .collect()
    };
    check_rows(a.rows.len().saturating_add(b.rows.len()))?;
    let mut meter = Meter::new(cancel, "a set operation");
    meter.add(rows_bytes(&a.rows).saturating_add(rows_bytes(&b.rows)))?;
    cancel.check()?;
    let (ra, rb) = (conv(a)?, conv(b)?);
    let rows = match op {
        SetOp::Union => {
            let mut rows = ra;
            rows.extend(rb);
            if all {
                rows
            } else {
                dedupe(rows, cancel, &mut meter)?
            }
        }
        SetOp::Intersect | SetOp::Except => {
            let mut counts: BTreeMap<RowKey, usize> = BTreeMap::new();
            for row in rb {
                *counts.entry(RowKey(row)).or_default() += 1;
            }
            cancel.check()?;
            let mut emitted: BTreeMap<RowKey, ()> = BTreeMap::new();
            let mut rows = Vec::new();
            for (i, row) in ra.into_iter().enumerate() {
                if i % scalar::CANCEL_CHECK_ROWS == 0 {
                    cancel.check()?;
                }
                let key = RowKey(row);
                let in_b = counts.get_mut(&key);
                let keep = match (op, in_b) {
                    (SetOp::Intersect, Some(n)) if *n > 0 => {
                        if all {
                            *n -= 1;
                        }
                        true
                    }
                    (SetOp::Intersect, _) => false,
                    (_, Some(n)) if *n > 0 => {
                        if all {
                            *n -= 1;
                        }
                        false
                    }
                    _ => true,
                };
                if keep && (all || !emitted.contains_key(&key)) {
                    meter.add(row_bytes(&key.0))?;
                    rows.push(key.0.clone());
                    if !all {
                        emitted.insert(key, ());
                    }
                }
            }
            rows
        }
    };
    meter.flush()?;
    Ok(Relation { columns, rows })
}

/// Resolves column names against a relation's columns, optionally under a
/// table name or alias (`t.col`).
#[derive(Clone, Copy, Debug)]
pub struct RelationScope<'a> {
    /// The columns, by position.
    pub columns: &'a [Column],
    /// The table name or alias qualifying them, if any.
    pub alias: Option<&'a str>,
}

impl<'a> RelationScope<'a> {
    /// A scope over `rel`'s columns under `alias`.
    pub fn new(rel: &'a Relation, alias: Option<&'a str>) -> RelationScope<'a> {
        RelationScope {
            columns: &rel.columns,
            alias,
        }
    }
}

impl Scope for RelationScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if let Some(q) = qualifier
            && self.alias != Some(q)
        {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("missing FROM-clause entry for table \"{q}\""),
            ));
        }
        let mut hits = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name == name);
        match (hits.next(), hits.next()) {
            (Some((i, c)), None) => Ok((i, c.ty)),
            (Some(_), Some(_)) => Err(SqlError::new(
                SqlState::AmbiguousColumn,
                format!("column reference \"{name}\" is ambiguous"),
            )),
            (None, _) => {
                let shown = match qualifier {
                    Some(q) => format!("{q}.{name}"),
                    None => format!("\"{name}\""),
                };
                Err(SqlError::new(
                    SqlState::UndefinedColumn,
                    format!("column {shown} does not exist"),
                ))
            }
        }
    }
}

#[cfg(test)]
#[path = "relation_tests.rs"]
mod tests;
