//! Planning and running `SELECT`.
//!
//! A query on an audience table splits in two: the **leaf** — scan, filter
//! and aggregate — runs on bitmaps ([`crate::exec`]); what sits above it
//! (expressions over the grouped rows, `HAVING`, window functions, `ORDER BY`,
//! `LIMIT`, set operations) runs on the small relational layer
//! ([`super::relation`]). Aggregate calls are cut out of the select list and
//! replaced by references to the leaf's output columns (`__agg0`, …), group
//! keys by `__grp0`, …, so the relational layer binds ordinary columns.
//!
//! This module owns the query context and the top of a query (`WITH`, the
//! body, `LIMIT`); its submodules own one concept each: `alias` (a
//! table's name hidden by its alias), `column_name` (names of unaliased
//! columns), [`from`] (FROM
//! items to sources), [`leaf`] (the bitmap leaf of an audience table),
//! [`projection`] (select lists, `ORDER BY`, the relational SELECT),
//! [`scope`] (names over a relation),
//! `set_ops` (set operations and `VALUES`), `cte` (common table
//! expressions) and `parens` (clauses outside a parenthesised query).

mod alias;
mod column_name;
mod cte;
mod from;
mod leaf;
mod parens;
mod projection;
mod scope;
mod set_ops;

pub(crate) use cte::CteEnv;
pub use from::table_name;
pub(crate) use from::{Source, factor_source};
pub(crate) use leaf::row_columns;
pub use leaf::{
    audience_column, col_ref_of, fetch_relation, groupable, groups_to_relation, run_aggregate_leaf,
    where_pred,
};
pub use projection::{Item, default_name, finish_select, items, order_keys, replace_groups};
pub use scope::RelScope;
pub(crate) use scope::{hidden_qual, positional_ref, qual_of};

use super::error::{SqlError, SqlResult, SqlState};
use super::relation::{self, Relation};
use super::scalar::{self, BoundExpr, EvalContext, Params, Scope};
use super::subquery::OuterFrame;
use super::types::{DataType, Datum};
use crate::exec::parallel::Cancel;
use crate::storage::Snapshot;
use sqlparser::ast::{Expr, LimitClause, OrderBy, Query, Select, SetExpr, Value};
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// Deepest nesting of subqueries and views (54001 beyond it).
pub const QUERY_DEPTH_MAX: usize = 32;

/// Everything a query needs while it runs.
pub struct QueryCtx<'a> {
    /// The snapshot every table is read from.
    pub snapshot: &'a Snapshot,
    /// Clock, time zone and parameter values.
    pub eval: &'a EvalContext,
    /// Parameter types, inferred while binding.
    pub params: &'a RefCell<Params>,
    /// Cancellation and timeout.
    pub cancel: &'a Cancel,
    /// Nesting depth of subqueries and views.
    pub depth: usize,
    /// Plan and bind, but write nothing (for describing statements).
    pub dry_run: bool,
    /// The session user (catalog relations show it).
    pub user: String,
    /// The enclosing query when this one runs as a subquery of an
    /// expression (its columns are visible here as outer references).
    pub(crate) outer: Option<&'a OuterFrame<'a>>,
    /// Set when binding an audience WHERE met a subquery correlated with
    /// the audience table's rows (see [`leaf::CorrelatedWhere`]).
    pub(super) correlated_where: Cell<bool>,
    /// The common table expressions in scope (innermost first).
    pub(crate) ctes: Option<Arc<cte::CteEnv>>,
}

impl<'a> QueryCtx<'a> {
    /// The context of a top-level statement (depth 0).
    pub fn top(
        snapshot: &'a Snapshot,
        eval: &'a EvalContext,
        params: &'a RefCell<Params>,
        cancel: &'a Cancel,
        user: &str,
        dry_run: bool,
    ) -> QueryCtx<'a> {
        QueryCtx {
            snapshot,
            eval,
            params,
            cancel,
            depth: 0,
            dry_run,
            user: user.to_owned(),
            outer: None,
            correlated_where: Cell::new(false),
            ctes: None,
        }
    }

    pub(super) fn nested(&self) -> SqlResult<QueryCtx<'_>> {
        self.nested_in(self.outer)
    }

    /// A context one level deeper whose enclosing query is `outer`.
    pub(crate) fn nested_in<'b>(
        &'b self,
        outer: Option<&'b OuterFrame<'b>>,
    ) -> SqlResult<QueryCtx<'b>> {
        if self.depth >= QUERY_DEPTH_MAX {
            return Err(SqlError::new(
                SqlState::StatementTooComplex,
                "subqueries and views are nested too deeply",
            ));
        }
        Ok(QueryCtx {
            snapshot: self.snapshot,
            eval: self.eval,
            params: self.params,
            cancel: self.cancel,
            depth: self.depth + 1,
            dry_run: self.dry_run,
            user: self.user.clone(),
            outer,
            correlated_where: Cell::new(false),
            ctes: self.ctes.clone(),
        })
    }

    /// Binds `e` in `scope`; subqueries run through this context and names
    /// of enclosing queries resolve as outer references.
    pub(crate) fn bind(&self, e: &Expr, scope: &dyn Scope) -> SqlResult<BoundExpr> {
        // The binder keeps the parameter types while subqueries (which bind
        // through this context again) run, so it works on a copy.
        let mut params = self.params.borrow().clone();
        let bound = scalar::bind_with(e, scope, &mut params, self);
        *self.params.borrow_mut() = params;
        bound
    }

    /// Whether `qualifier.name` is a column of an enclosing query.
    pub(crate) fn is_outer_column(&self, qualifier: Option<&str>, name: &str) -> bool {
        self.outer.is_some_and(|f| f.has(qualifier, name))
    }

    /// Evaluates an expression without column references; an untyped
    /// parameter or literal standing alone takes the type `hint`.
    pub fn eval_const_for(&self, e: &Expr, hint: DataType) -> SqlResult<(Datum, DataType)> {
        let bare = matches!(e, Expr::Value(v) if matches!(v.value, Value::Placeholder(_)));
        if !bare {
            return self.eval_const(e);
        }
        let mut params = self.params.borrow().clone();
        let b = scalar::bind_assign_with(e, &EmptyScope, &mut params, hint, None, Some(self));
        *self.params.borrow_mut() = params;
        let b = b?;
        let d = scalar::eval(&b, &[], self.eval)?;
        Ok((d, b.ty))
    }

    /// Evaluates an expression without column references.
    pub fn eval_const(&self, e: &Expr) -> SqlResult<(Datum, DataType)> {
        let b = self.bind(e, &EmptyScope)?;
        let d = scalar::eval(&b, &[], self.eval)?;
        Ok((d, b.ty))
    }
}

/// A scope with no columns.
pub struct EmptyScope;

impl Scope for EmptyScope {
    fn resolve(&self, _q: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!("column \"{name}\" does not exist"),
        ))
    }
}

/// Runs a query to a relation.
pub fn run_query(ctx: &QueryCtx<'_>, q: &Query) -> SqlResult<Relation> {
    if let Some(merged) = parens::merge(q)? {
        return run_query(ctx, &merged);
    }
    if let Some(with) = &q.with {
        let mut inner = ctx.nested_in(ctx.outer)?;
        inner.depth = ctx.depth;
        inner.ctes = cte::define(ctx.ctes.clone(), with)?;
        let mut body = q.clone();
        body.with = None;
        return run_query(&inner, &body);
    }
    if q.fetch.is_some() || !q.locks.is_empty() {
        return Err(SqlError::unsupported("FETCH and FOR UPDATE"));
    }
    let (offset, limit) = limit_offset(ctx, q.limit_clause.as_ref())?;
    match q.body.as_ref() {
        SetExpr::Select(s) => run_select(ctx, s, q.order_by.as_ref(), offset, limit),
        other => {
            let rel = set_ops::run_set_expr(ctx, other)?;
            let set_op = matches!(other, SetExpr::SetOperation { .. });
            let rel = projection::order_relation(ctx, rel, q.order_by.as_ref(), set_op)?;
            Ok(relation::limit(rel, offset, limit))
        }
    }
}

fn limit_offset(ctx: &QueryCtx<'_>, clause: Option<&LimitClause>) -> SqlResult<(u64, Option<u64>)> {
    // Coerced to bigint like PostgreSQL; 2201W/2201X when negative.
    crate::sql::limit::limit_offset(ctx, clause)
}

fn run_select(
    ctx: &QueryCtx<'_>,
    select: &Select,
    order_by: Option<&OrderBy>,
    offset: u64,
    limit: Option<u64>,
) -> SqlResult<Relation> {
    if select.into.is_some() {
        return Err(SqlError::unsupported("SELECT INTO"));
    }
    if select.top.is_some() || !select.lateral_views.is_empty() || select.qualify.is_some() {
        return Err(SqlError::unsupported("this SELECT clause"));
    }
    let source = from::resolve_source(ctx, select)?;
    if let Source::Audience { table, alias, .. } = &source {
        alias::check_hidden_name(ctx, select, order_by, &table.schema().name, alias)?;
    }
    match source {
        // Set-returning functions in the select list run on the
        // relational layer, over the rows the WHERE keeps.
        Source::Audience {
            table,
            alias,
            filter,
        } if projection::calls_srf(select)? => {
            let filter = where_pred(
                ctx,
                &table,
                &alias,
                filter.clone(),
                select.selection.as_ref(),
            )
            .unwrap_or(filter);
            let rel = leaf::audience_rows(ctx, &table, &filter, select, order_by)?;
            let quals = vec![Some(alias); rel.columns.len()];
            projection::select_relation(ctx, rel, quals, select, order_by, offset, limit)
        }
        Source::Audience {
            table,
            alias,
            filter,
        } => match super::audience::select_audience(
            ctx,
            &table,
            &alias,
            filter.clone(),
            select,
            order_by,
            offset,
            limit,
        ) {
            // A subquery correlated with the audience table's rows: filter
            // them one by one on the relational layer.
            Err(_) if ctx.correlated_where.take() => {
                let rel = leaf::audience_rows(ctx, &table, &filter, select, order_by)?;
                let quals = vec![Some(alias); rel.columns.len()];
                projection::select_relation(ctx, rel, quals, select, order_by, offset, limit)
            }
            other => other,
        },
        Source::Rel { rel, quals } => {
            projection::select_relation(ctx, rel, quals, select, order_by, offset, limit)
        }
    }
}
