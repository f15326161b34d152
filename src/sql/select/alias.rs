//! An alias hides its table's own name: after `FROM users u`, `users.city`
//! and `users.*` name nothing (42P01), unless an enclosing query has a
//! `users` of its own. PostgreSQL words this error apart from a qualifier
//! that names no FROM item at all, with a hint pointing at the alias.

use super::QueryCtx;
use super::from::table_name;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::{any_outside_subqueries, fold_ident};
use sqlparser::ast::{Expr, OrderBy, Select, SelectItem, SelectItemQualifiedWildcardKind};

/// 42P01 if `select` (or its `ORDER BY`) qualifies a column or `*` with
/// `table`, which its FROM item calls `alias` (a different name), and no
/// enclosing query has a `table` to which the reference could belong.
/// Subqueries are not searched: their names are their own.
pub(super) fn check_hidden_name(
    ctx: &QueryCtx<'_>,
    select: &Select,
    order_by: Option<&OrderBy>,
    table: &str,
    alias: &str,
) -> SqlResult<()> {
    if table == alias {
        return Ok(());
    }
    for item in &select.projection {
        if let SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(n), _) =
            item
            && table_name(n)?.1 == table
        {
            return Err(invalid_reference(table, alias));
        }
    }
    let hidden = |e: &Expr| {
        if let Expr::CompoundIdentifier(parts) = e
            && let [.., q, name] = parts.as_slice()
            && parts.len() <= 3
        {
            let (q, name) = (fold_ident(q), fold_ident(name));
            q == table && !ctx.is_outer_column(Some(&q), &name)
        } else {
            false
        }
    };
    let found = any_outside_subqueries(select, hidden)
        || order_by.is_some_and(|o| any_outside_subqueries(o, hidden));
    if found {
        return Err(invalid_reference(table, alias));
    }
    Ok(())
}

/// PostgreSQL's error for a table name its alias hides.
pub(super) fn invalid_reference(table: &str, alias: &str) -> SqlError {
    SqlError::new(
        SqlState::UndefinedTable,
        format!("invalid reference to FROM-clause entry for table \"{table}\""),
    )
    .with_hint(format!(
        "Perhaps you meant to reference the table alias \"{alias}\"."
    ))
}
