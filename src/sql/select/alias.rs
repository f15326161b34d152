//! An alias hides its table's own name: after `FROM users u`, `users.city`
//! and `users.*` name nothing (42P01), unless an enclosing query has a
//! `users` of its own. PostgreSQL words this error apart from a qualifier
//! that names no FROM item at all, with a hint pointing at the alias.

use super::QueryCtx;
use super::from::table_name;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use sqlparser::ast::{
    Expr, OrderBy, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, Visit, Visitor,
};
use std::ops::ControlFlow;

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
    let mut find = Find {
        ctx,
        table,
        depth: 0,
    };
    let found = select.visit(&mut find).is_break()
        || order_by.is_some_and(|o| o.visit(&mut find).is_break());
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

/// Finds `table.column` outside subqueries that no enclosing query
/// resolves.
struct Find<'a, 'q> {
    ctx: &'a QueryCtx<'q>,
    table: &'a str,
    /// Subquery levels entered.
    depth: usize,
}

impl Visitor for Find<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        if let Expr::CompoundIdentifier(parts) = e
            && let [.., q, name] = parts.as_slice()
            && parts.len() <= 3
        {
            let (q, name) = (fold_ident(q), fold_ident(name));
            if q == self.table && !self.ctx.is_outer_column(Some(&q), &name) {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}
