//! The GROUP BY list of a query: ordinals (`GROUP BY 1`) and output column
//! names (`GROUP BY interest` for `unnest(interests) AS interest`) resolved
//! to the select list's expressions, as PostgreSQL does. Shared by the
//! audience path and the relational path.

use super::has_aggregate;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use sqlparser::ast::{Expr, GroupByExpr, Ident, Select, Value};

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
        let e = match g {
            Expr::Value(v) if matches!(v.value, Value::Number(..)) => {
                let Value::Number(n, _) = &v.value else {
                    continue;
                };
                let k: usize = n.parse().unwrap_or(0);
                list.get(k.wrapping_sub(1))
                    .map(|(_, e)| e.clone())
                    .ok_or_else(|| {
                        SqlError::new(
                            SqlState::InvalidColumnReference,
                            format!("GROUP BY position {n} is not in select list"),
                        )
                    })?
            }
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
