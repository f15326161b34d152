//! The GROUP BY list of a query: ordinals (`GROUP BY 1`) and output column
//! names (`GROUP BY interest` for `unnest(interests) AS interest`) resolved
//! to the select list's expressions, as PostgreSQL does. Shared by the
//! audience path and the relational path.

use super::has_aggregate;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use sqlparser::ast::{Expr, GroupByExpr, Ident, Select, UnaryOperator, Value};

/// The GROUP BY expressions of `select` over the select list `list`. An
/// ordinal names a select-list entry (42P10 when out of range); a bare name
/// that `is_input_column` does not know names an output column if one has
/// that name (an input column wins, as in PostgreSQL); anything else is
/// returned as written. 0A000 for ROLLUP, CUBE, GROUPING SETS and
/// GROUP BY ALL; 42803 for an aggregate.
pub fn resolve_group_by(
    select: &Select,
    list: &[(String, Expr)],
    is_input_column: &dyn Fn(&Ident) -> bool,
) -> SqlResult<Vec<Expr>> {
    let exprs = match &select.group_by {
        GroupByExpr::Expressions(g, mods) if mods.is_empty() => g,
        _ => {
            return Err(SqlError::unsupported(
                "GROUP BY ALL, ROLLUP, CUBE and GROUPING SETS",
            ));
        }
    };
    let mut out = Vec::with_capacity(exprs.len());
    for g in exprs {
        if let Some(k) = constant_position(g, "GROUP BY") {
            let e = position(list, k?, "GROUP BY")?.clone();
            if has_aggregate(&e) {
                return Err(SqlError::new(
                    SqlState::GroupingError,
                    "aggregate functions are not allowed in GROUP BY",
                ));
            }
            out.push(e);
            continue;
        }
        let e = match g {
            Expr::Identifier(id) if !is_input_column(id) => {
                let n = fold_ident(id);
                list.iter()
                    .find(|(name, _)| *name == n)
                    .map(|(_, e)| e.clone())
                    .unwrap_or_else(|| g.clone())
            }
            other => other.clone(),
        };
        if has_aggregate(&e) {
            return Err(SqlError::new(
                SqlState::GroupingError,
                "aggregate functions are not allowed in GROUP BY",
            ));
        }
        out.push(e);
    }
    Ok(out)
}

/// What PostgreSQL reads as a position in `clause` (`GROUP BY` or
/// `ORDER BY`): a bare constant, parentheses and a leading minus sign
/// included (`GROUP BY (1)`, `ORDER BY -1`). `Some(Ok(k))` for an integer
/// constant (one that fits in `integer`), `Some(Err(42601))` for any other
/// constant (`'a'`, `1.5`, `NULL`, `true`, `99999999999`: `non-integer
/// constant in GROUP BY`), `None` for an expression (`+1`, `'a'::text`).
pub(crate) fn constant_position(e: &Expr, clause: &str) -> Option<SqlResult<i64>> {
    let non_integer = || {
        Some(Err(SqlError::syntax(format!(
            "non-integer constant in {clause}"
        ))))
    };
    let mut e = e;
    let mut negative = false;
    loop {
        match e {
            Expr::Nested(inner) => e = inner,
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } if is_constant(expr) => {
                negative = !negative;
                e = expr;
            }
            _ => break,
        }
    }
    let Expr::Value(v) = e else {
        return None;
    };
    match &v.value {
        Value::Number(n, _) if n.bytes().all(|b| b.is_ascii_digit()) => match n.parse::<i32>() {
            Ok(k) => Some(Ok(if negative {
                -i64::from(k)
            } else {
                i64::from(k)
            })),
            Err(_) => non_integer(),
        },
        Value::Placeholder(_) => None,
        _ => non_integer(),
    }
}

/// Whether PostgreSQL's grammar folds a minus sign before `e` into it: a
/// number, possibly parenthesised or negated again (`-'a'` stays an
/// operator call).
fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => is_constant(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => is_constant(expr),
        Expr::Value(v) => matches!(v.value, Value::Number(..)),
        _ => false,
    }
}

/// The select-list entry at 1-based position `k` of `clause` (42P10 when
/// there is none).
pub(crate) fn position<'a>(
    list: &'a [(String, Expr)],
    k: i64,
    clause: &str,
) -> SqlResult<&'a Expr> {
    usize::try_from(k)
        .ok()
        .and_then(|k| k.checked_sub(1))
        .and_then(|i| list.get(i))
        .map(|(_, e)| e)
        .ok_or_else(|| {
            SqlError::new(
                SqlState::InvalidColumnReference,
                format!("{clause} position {k} is not in select list"),
            )
        })
}
