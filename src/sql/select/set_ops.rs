//! Query bodies that are not a single SELECT: `UNION` / `INTERSECT` /
//! `EXCEPT` and `VALUES`.

use super::{QueryCtx, run_query, run_select};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::relation::{self, Column, Relation};
use crate::sql::scalar::{self, EvalContext, select_common_type};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{
    Expr, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Value, Values,
};

pub(super) fn run_set_expr(ctx: &QueryCtx<'_>, e: &SetExpr) -> SqlResult<Relation> {
    match e {
        SetExpr::Select(s) => run_select(ctx, s, None, 0, None),
        SetExpr::Query(q) => run_query(&ctx.nested()?, q),
        SetExpr::SetOperation { .. } => run_set_operation(ctx, e),
        SetExpr::Values(values) => values_relation(ctx, values),
        other => Err(SqlError::unsupported(format!("the query form {other}"))),
    }
}

/// A `VALUES` list as a relation: every row must have the same length
/// (42601, as PostgreSQL), and each column takes the common type of its
/// rows (`VALUES (1), (2.5)` is numeric; `VALUES (1), ('x')` is 22P02).
fn values_relation(ctx: &QueryCtx<'_>, values: &Values) -> SqlResult<Relation> {
    let width = values.rows.first().map_or(0, |r| r.content.len());
    let mut rows = Vec::with_capacity(values.rows.len());
    let mut row_types: Vec<Vec<DataType>> = vec![Vec::with_capacity(values.rows.len()); width];
    for row in &values.rows {
        if row.content.len() != width {
            return Err(SqlError::syntax(
                "VALUES lists must all be the same length".to_owned(),
            ));
        }
        let mut out = Vec::with_capacity(width);
        for (i, e) in row.content.iter().enumerate() {
            let (d, ty) = ctx.eval_const(e)?;
            row_types[i].push(if untyped_literal(e) {
                DataType::Unknown
            } else {
                ty
            });
            out.push(d);
        }
        rows.push(out);
    }
    let types = row_types
        .iter()
        .map(|tys| select_common_type(tys, "VALUES"))
        .collect::<SqlResult<Vec<_>>>()?;
    let cast_ctx = EvalContext::default();
    for (r, row) in rows.iter_mut().enumerate() {
        for (i, d) in row.iter_mut().enumerate() {
            // An untyped literal's value is its text.
            let from = match row_types[i][r] {
                DataType::Unknown => DataType::Text,
                t => t,
            };
            if from != types[i] {
                let value = std::mem::replace(d, Datum::Null);
                *d = scalar::cast(value, from, types[i], &cast_ctx)?;
            }
        }
    }
    let columns = types
        .into_iter()
        .enumerate()
        .map(|(i, ty)| Column {
            name: format!("column{}", i + 1),
            ty,
        })
        .collect();
    Ok(Relation { columns, rows })
}

/// A chain of set operations, evaluated left to right without recursing
/// down the left spine: `a UNION ALL b UNION ALL …` parses as a left-deep
/// tree thousands of levels deep, which recursion would overflow.
fn run_set_operation(ctx: &QueryCtx<'_>, e: &SetExpr) -> SqlResult<Relation> {
    let mut spine = Vec::new();
    let mut leftmost = e;
    while let SetExpr::SetOperation {
        left,
        op,
        set_quantifier,
        right,
    } = leftmost
    {
        spine.push((op, set_quantifier, right));
        leftmost = left;
    }
    let mut acc = run_branch(ctx, leftmost)?;
    for (op, set_quantifier, right) in spine.into_iter().rev() {
        ctx.cancel.check()?;
        let b = run_branch(ctx, right)?;
        let op = match op {
            SetOperator::Union => relation::SetOp::Union,
            SetOperator::Intersect => relation::SetOp::Intersect,
            SetOperator::Except => relation::SetOp::Except,
            other => return Err(SqlError::unsupported(format!("{other}"))),
        };
        let all = matches!(set_quantifier, SetQuantifier::All);
        acc = relation::set_op(acc, b, op, all, ctx.cancel)?;
        // A set operation's own result is typed: columns still unknown on
        // both sides become text, as in PostgreSQL (`SELECT NULL UNION
        // SELECT NULL UNION SELECT 1` is 42804).
        for c in &mut acc.columns {
            if c.ty == DataType::Unknown {
                c.ty = DataType::Text;
            }
        }
    }
    Ok(acc)
}

/// One operand of a set operation. A plain SELECT's columns that are bare
/// untyped literals (`NULL`, `'x'`) stay `unknown`, so the set operation
/// resolves them against the other side's type the way PostgreSQL does
/// (`SELECT NULL UNION SELECT 1` is an integer column).
fn run_branch(ctx: &QueryCtx<'_>, e: &SetExpr) -> SqlResult<Relation> {
    let mut rel = run_set_expr(ctx, e)?;
    if let SetExpr::Select(s) = e
        && let Some(untyped) = untyped_literal_columns(s)
        && untyped.len() == rel.columns.len()
    {
        for (c, untyped) in rel.columns.iter_mut().zip(untyped) {
            if untyped && c.ty == DataType::Text {
                c.ty = DataType::Unknown;
            }
        }
    }
    Ok(rel)
}

/// For each select-list item of `s`, whether it is a bare string literal or
/// `NULL`; `None` when a wildcard makes positions unknowable.
fn untyped_literal_columns(s: &Select) -> Option<Vec<bool>> {
    s.projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                Some(untyped_literal(e))
            }
            _ => None,
        })
        .collect()
}

/// Whether `e` is a bare string literal or `NULL` (PostgreSQL's `unknown`).
fn untyped_literal(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => untyped_literal(inner),
        Expr::Value(v) => matches!(v.value, Value::Null | Value::SingleQuotedString(_)),
        _ => false,
    }
}
