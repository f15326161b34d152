//! Query bodies that are not a single SELECT: `UNION` / `INTERSECT` /
//! `EXCEPT` and `VALUES`.

use super::{QueryCtx, run_query, run_select};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::relation::{self, Column, Relation};
use crate::sql::types::DataType;
use sqlparser::ast::{Expr, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Value};

pub(super) fn run_set_expr(ctx: &QueryCtx<'_>, e: &SetExpr) -> SqlResult<Relation> {
    match e {
        SetExpr::Select(s) => run_select(ctx, s, None, 0, None),
        SetExpr::Query(q) => run_query(&ctx.nested()?, q),
        SetExpr::SetOperation { .. } => run_set_operation(ctx, e),
        SetExpr::Values(values) => {
            let mut rows = Vec::with_capacity(values.rows.len());
            let mut types: Vec<DataType> = Vec::new();
            for row in &values.rows {
                let mut out = Vec::with_capacity(row.content.len());
                for (i, e) in row.content.iter().enumerate() {
                    let (d, ty) = ctx.eval_const(e)?;
                    if types.len() <= i {
                        types.push(ty);
                    } else if types[i] == DataType::Unknown {
                        types[i] = ty;
                    }
                    out.push(d);
                }
                rows.push(out);
            }
            let columns = types
                .into_iter()
                .enumerate()
                .map(|(i, ty)| Column {
                    name: format!("column{}", i + 1),
                    ty: if ty == DataType::Unknown {
                        DataType::Text
                    } else {
                        ty
                    },
                })
                .collect();
            Ok(Relation { columns, rows })
        }
        other => Err(SqlError::unsupported(format!("the query form {other}"))),
    }
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
    fn untyped(e: &Expr) -> bool {
        match e {
            Expr::Nested(inner) => untyped(inner),
            Expr::Value(v) => matches!(v.value, Value::Null | Value::SingleQuotedString(_)),
            _ => false,
        }
    }
    s.projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                Some(untyped(e))
            }
            _ => None,
        })
        .collect()
}
