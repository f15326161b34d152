//! `IN (list)`, `IN (subquery)` and `op ANY|ALL (subquery)` on an audience
//! table: an uncorrelated subquery runs once and its values become constant
//! comparisons, with PostgreSQL's NULL semantics.

use super::compare::{compare, compare_value};
use super::{ColRef, PredContext, column_ref, fold_ident, is_constant, unsupported};
use crate::exec::filter::Pred;
use crate::index::bsi::CompareOp;
use crate::index::{KeyType, TagKind};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::scalar::{CoercionKind, can_coerce, compare_datums};
use crate::sql::types::{DataType, Datum};
use crate::storage::ColumnSchema;
use sqlparser::ast::{BinaryOperator, Expr, InTarget, Query, Value};
use std::cmp::Ordering;
use std::sync::Arc;

pub(super) fn compile_in(
    ctx: &dyn PredContext,
    e: &Expr,
    expr: &Expr,
    target: &InTarget,
) -> SqlResult<Pred> {
    match target {
        InTarget::List(list) => {
            let mut items = Vec::with_capacity(list.len());
            for item in list {
                items.push(compare(ctx, e, expr, &CompareOp::Eq, item)?);
            }
            Ok(Pred::Or(items))
        }
        InTarget::Subquery(q) => match column_ref(ctx, expr)? {
            Some(ColRef::Key) => ctx.key_subquery(q),
            Some(ColRef::Tag(c)) if c.ty.kind() != TagKind::MultiValued => {
                in_subquery_values(ctx, e, c, q)
            }
            _ => Err(SqlError::unsupported(
                "IN (subquery) on this column or expression",
            )),
        },
        _ => Err(unsupported(e)),
    }
}

/// `col IN (SELECT …)` on a tag column: the uncorrelated subquery runs once
/// and its values become a constant list (see [`in_values`]).
fn in_subquery_values(
    ctx: &dyn PredContext,
    e: &Expr,
    c: ColumnSchema,
    q: &Query,
) -> SqlResult<Pred> {
    let (ty, values) = subquery_values(ctx, q)?;
    check_comparable(&ColRef::Tag(c.clone()), ctx, "=", ty)?;
    in_values(ctx, e, c, ty, values)
}

/// `col IN (values)` for constant values of type `ty`: a union of value
/// bitmaps for a categorical column, equality tests otherwise. As in
/// PostgreSQL, an empty list is FALSE for every row (NULLs included), and a
/// NULL in the list makes every non-member UNKNOWN (so `NOT IN` selects
/// nothing).
fn in_values(
    ctx: &dyn PredContext,
    e: &Expr,
    c: ColumnSchema,
    ty: DataType,
    values: Vec<Datum>,
) -> SqlResult<Pred> {
    let saw_null = values.iter().any(Datum::is_null);
    let mut texts: Vec<Arc<str>> = Vec::new();
    let mut items: Vec<Pred> = Vec::new();
    for d in values.into_iter().filter(|d| !d.is_null()) {
        match (c.ty.kind(), d) {
            (TagKind::Categorical, Datum::Text(s)) => texts.push(Arc::from(s.as_str())),
            (_, d) => items.push(compare_value(
                ctx,
                e,
                ColRef::Tag(c.clone()),
                CompareOp::Eq,
                d,
                ty,
            )?),
        }
    }
    texts.sort_unstable();
    texts.dedup();
    items.dedup();
    if !texts.is_empty() {
        items.push(Pred::AnyValue {
            col: c.id,
            values: texts,
        });
    }
    Ok(quantified(items, saw_null, false))
}

/// Runs an uncorrelated subquery once: its column type and values. A
/// subquery that names the audience table as a qualifier (`u.age` inside
/// it) may be correlated with its rows: it is bound as a constant first, so
/// a correlated one is refused (0A000) and reported to the planner, which
/// then filters the rows one by one.
fn subquery_values(ctx: &dyn PredContext, q: &Query) -> SqlResult<(DataType, Vec<Datum>)> {
    if names_table(ctx, q) {
        ctx.eval_const(&Expr::Exists {
            subquery: Box::new(q.clone()),
            negated: false,
        })?;
    }
    ctx.subquery_values(q)
}

/// Whether `q` has a qualified name whose qualifier names the table.
fn names_table(ctx: &dyn PredContext, q: &Query) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    struct Find<'a>(&'a dyn PredContext);
    impl Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::CompoundIdentifier(parts)
                    if parts.len() == 2 && self.0.qualifies(&fold_ident(&parts[0])) =>
                {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    q.visit(&mut Find(ctx)).is_break()
}

/// ANY (`all` false) or ALL of `items`, one per non-NULL value; a NULL
/// among the values makes every row that no item decides UNKNOWN. With no
/// values, ANY is FALSE and ALL is TRUE for every row.
fn quantified(mut items: Vec<Pred>, saw_null: bool, all: bool) -> Pred {
    if saw_null {
        items.push(Pred::Const(None));
    }
    match (items.is_empty(), all) {
        (true, _) => Pred::Const(Some(all)),
        (false, false) => Pred::Or(items),
        (false, true) => Pred::And(items),
    }
}

/// 42883 unless a column of `col`'s type can be compared with `ty`.
fn check_comparable(
    col: &ColRef,
    ctx: &dyn PredContext,
    symbol: &str,
    ty: DataType,
) -> SqlResult<()> {
    let col_ty = col_type(ctx, col);
    let implicit = |a, b| can_coerce(a, b, CoercionKind::Implicit);
    if ty == DataType::Unknown || implicit(ty, col_ty) || implicit(col_ty, ty) {
        return Ok(());
    }
    Err(SqlError::new(
        SqlState::UndefinedFunction,
        format!(
            "operator does not exist: {} {symbol} {}",
            col_ty.name(),
            ty.name()
        ),
    )
    .with_hint(
        "No operator matches the given name and argument types. You might need to add explicit type casts.",
    ))
}

fn col_type(ctx: &dyn PredContext, col: &ColRef) -> DataType {
    match col {
        ColRef::Key => match ctx.table().schema().key_type {
            KeyType::BigInt => DataType::Int8,
            KeyType::Text => DataType::Text,
        },
        ColRef::Tag(c) => DataType::of_column(c.ty),
    }
}

/// `col op ANY|ALL (subquery)` and `col op ANY|ALL (constant array)`: the
/// values are computed once and become comparisons on bitmaps, with
/// PostgreSQL's NULL semantics (no values: ANY is FALSE and ALL is TRUE,
/// also for a NULL column; a NULL value makes undecided rows UNKNOWN). A
/// range comparison needs only the extreme value (`col > ANY (s)` is
/// `col > min(s)`), `=`/`<>` the distinct ones.
pub(super) fn any_all(
    ctx: &dyn PredContext,
    e: &Expr,
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    all: bool,
) -> SqlResult<Pred> {
    let (cmp, symbol) = match op {
        BinaryOperator::Eq => (CompareOp::Eq, "="),
        BinaryOperator::NotEq => (CompareOp::Ne, "<>"),
        BinaryOperator::Lt => (CompareOp::Lt, "<"),
        BinaryOperator::LtEq => (CompareOp::Le, "<="),
        BinaryOperator::Gt => (CompareOp::Gt, ">"),
        BinaryOperator::GtEq => (CompareOp::Ge, ">="),
        _ => return Err(unsupported(e)),
    };
    let col = match column_ref(ctx, left)? {
        Some(ColRef::Tag(c)) if c.ty.kind() == TagKind::MultiValued => {
            return Err(unsupported(e));
        }
        Some(c) => c,
        None => return Err(unsupported(e)),
    };
    let (ty, values) = match right {
        Expr::Subquery(q) => match (&col, cmp, all) {
            (ColRef::Key, CompareOp::Eq, false) => return ctx.key_subquery(q),
            (ColRef::Key, CompareOp::Ne, true) => {
                return Ok(Pred::Not(Box::new(ctx.key_subquery(q)?)));
            }
            _ => subquery_values(ctx, q)?,
        },
        r if is_constant(ctx, r) => {
            let hint = col_type(ctx, &col)
                .array_of()
                .unwrap_or(DataType::TextArray);
            let (d, ty) = ctx.eval_const_for(r, hint)?;
            if d.is_null() {
                return Ok(Pred::Const(None));
            }
            // An untyped '{…}' literal takes the column's array type.
            let untyped =
                matches!(r, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)));
            let elem = match ty {
                _ if untyped => DataType::Unknown,
                DataType::Unknown => DataType::Text,
                t => t.element().ok_or_else(|| {
                    SqlError::new(
                        SqlState::WrongObjectType,
                        "op ANY/ALL (array) requires array on right side",
                    )
                })?,
            };
            let items = match d {
                Datum::Text(s) => crate::sql::scalar::parse_text_array(&s)?
                    .into_iter()
                    .map(|v| v.map_or(Datum::Null, Datum::Text))
                    .collect(),
                other => other.array_items().unwrap_or_default(),
            };
            (elem, items)
        }
        _ => return Err(unsupported(e)),
    };
    check_comparable(&col, ctx, symbol, ty)?;
    let saw_null = values.iter().any(Datum::is_null);
    let mut values: Vec<Datum> = values.into_iter().filter(|d| !d.is_null()).collect();
    values.sort_by(compare_datums);
    values.dedup_by(|a, b| compare_datums(a, b) == Ordering::Equal);
    let picked: Vec<Datum> = match (cmp, all) {
        // Only the smallest value can decide `>`-ANY and `<`-ALL …
        (CompareOp::Gt | CompareOp::Ge, false) | (CompareOp::Lt | CompareOp::Le, true) => {
            values.into_iter().take(1).collect()
        }
        // … only the largest `<`-ANY and `>`-ALL.
        (CompareOp::Lt | CompareOp::Le, false) | (CompareOp::Gt | CompareOp::Ge, true) => {
            values.pop().into_iter().collect()
        }
        (CompareOp::Eq, false) | (CompareOp::Ne, true) => {
            let p = match col {
                ColRef::Tag(c) => in_values(ctx, e, c, ty, values)?,
                ColRef::Key => {
                    let items = values
                        .into_iter()
                        .map(|d| compare_value(ctx, e, ColRef::Key, CompareOp::Eq, d, ty))
                        .collect::<SqlResult<Vec<_>>>()?;
                    quantified(items, false, false)
                }
            };
            let p = quantified(vec![p], saw_null, false);
            return Ok(if all { Pred::Not(Box::new(p)) } else { p });
        }
        // `= ALL` and `<> ANY` are decided by any two distinct values.
        _ => values.into_iter().take(2).collect(),
    };
    let items = picked
        .into_iter()
        .map(|d| compare_value(ctx, e, col.clone(), cmp, d, ty))
        .collect::<SqlResult<Vec<_>>>()?;
    Ok(quantified(items, saw_null, all))
}
