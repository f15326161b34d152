//! `SELECT` on an audience table: the bitmap leaf plus the relational rest.

use super::aggregates::aggregate_relation;
use super::aggregates::fold::{plan_fold, run_folded_leaf};
use super::aggregates::groups::resolve_group_by;
use super::aggregates::on_rows::{Placement, complete_leaf, referenced_names};
use super::aggregates::{
    AggClass, ArgRef, agg_spec, aggregate_class, cut_aggregates_and_groups, has_aggregate,
};
use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::{ColRef, fold_ident};
use super::project_set::{expand, has_srf};
use super::relation::{Column, Relation};
use super::scalar::{ScalarExpr, Scope};
use super::select::{
    QueryCtx, RelScope, audience_column, col_ref_of, fetch_relation, finish_select, items,
    order_keys, run_aggregate_leaf, where_pred,
};
use super::types::{DataType, Datum};
use crate::catalog;
use crate::exec::aggregate::GroupBy;
use crate::exec::filter::Pred;
use crate::exec::rows::Fetch;
use crate::index::TagKind;
use crate::storage::TableSnapshot;
use sqlparser::ast::{Expr, Function, Ident, ObjectNamePart, OrderBy, Select, Visit, Visitor};
use std::ops::ControlFlow;

fn quoted(name: &str) -> Expr {
    Expr::Identifier(Ident::with_quote('"', name))
}

/// Runs a SELECT whose FROM is an audience table.
#[allow(clippy::too_many_arguments)]
pub fn select_audience(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    alias: &str,
    filter: Pred,
    select: &Select,
    order_by: Option<&OrderBy>,
    offset: u64,
    limit: Option<u64>,
) -> SqlResult<Relation> {
    let pred = where_pred(ctx, table, alias, filter, select.selection.as_ref())?;
    let schema = table.schema();
    let mut list: Vec<(String, Expr)> = Vec::new();
    for item in items(select)? {
        match item {
            Some(i) => list.push((i.name, i.expr)),
            None => {
                list.push((schema.key_name.clone(), quoted(&schema.key_name)));
                for c in schema
                    .columns
                    .iter()
                    .filter(|c| !catalog::is_hidden(&c.name))
                {
                    list.push((c.name.clone(), quoted(&c.name)));
                }
            }
        }
    }
    // The design card's bare `SELECT COUNT FROM users`.
    for (_, e) in &mut list {
        if let Expr::Identifier(id) = e
            && fold_ident(id) == "count"
            && audience_column(table, "count").is_none()
        {
            *e = super::parse_expr("count(*)")?;
        }
    }
    let mut order = order_keys(order_by)?;
    let group_exprs = resolve_group_by(select, &list, &|id| {
        audience_column(table, &fold_ident(id)).is_some()
    })?;
    let aggregated = !group_exprs.is_empty()
        || select.having.is_some()
        || list.iter().any(|(_, e)| has_aggregate(e))
        || order.iter().any(|(e, _, _)| has_aggregate(e));
    let distinct = match &select.distinct {
        None => false,
        Some(sqlparser::ast::Distinct::Distinct) => true,
        Some(_) => return Err(SqlError::unsupported("DISTINCT ON")),
    };
    if !aggregated {
        return select_rows(
            ctx, table, alias, &pred, list, distinct, &order, offset, limit,
        );
    }

    // Group keys other than columns and one unnest(set column) — set-
    // returning functions, expressions, the key, a whole set column — are
    // computed on the relational layer over the WHERE's rows (several SRFs
    // run in lockstep there, as in PostgreSQL; bitmap groups would cross
    // them).
    let on_bitmaps = |g: &Expr| -> bool {
        let (e, set) = match unnest_arg(g) {
            Some(col) => (col, true),
            None => (g, false),
        };
        matches!(
            col_ref_of(ctx, table, alias, e),
            Ok(Some(ColRef::Tag(c))) if (c.ty.kind() == TagKind::MultiValued) == set
        )
    };
    let unnests = group_exprs
        .iter()
        .filter(|g| unnest_arg(g).is_some())
        .count();
    // Expressions of columns (`date_trunc('month', ts)`, `age / 10`): on
    // bitmaps, evaluated once per distinct value (see aggregates::fold).
    let fold = if unnests <= 1 && !group_exprs.iter().all(on_bitmaps) {
        plan_fold(ctx, table, alias, &group_exprs, &unnest_arg)?
    } else {
        None
    };
    if fold.is_none() && (unnests > 1 || !group_exprs.iter().all(on_bitmaps)) {
        let fetch = super::select::row_columns(table, select, order_by);
        let rel = fetch_relation(ctx, table, &pred, &fetch, 0, None)?;
        let quals = vec![Some(alias.to_owned()); rel.columns.len()];
        return aggregate_relation(ctx, &rel, &quals, select, list, order_by, offset, limit);
    }

    // Group keys: columns (by name, alias or ordinal) or unnest(col).
    let mut groups: Vec<(Option<String>, Expr)> = Vec::new();
    let mut group_by: Vec<GroupBy> = Vec::new();
    if let Some(plan) = &fold {
        groups.clone_from(&plan.groups);
        group_by.clone_from(&plan.group_by);
    }
    for g in group_exprs.into_iter().filter(|_| fold.is_none()) {
        if matches!(g, Expr::Value(_)) {
            return Err(SqlError::unsupported("GROUP BY a constant"));
        }
        if let Some(col) = unnest_arg(&g) {
            match col_ref_of(ctx, table, alias, col)? {
                Some(ColRef::Tag(c)) if c.ty.kind() == TagKind::MultiValued => {
                    group_by.push(GroupBy::Unnest(c.id));
                    groups.push((None, g.clone()));
                    continue;
                }
                _ => {
                    return Err(SqlError::unsupported(
                        "unnest() of anything but a text[] column",
                    ));
                }
            }
        }
        match col_ref_of(ctx, table, alias, &g)? {
            Some(ColRef::Tag(c)) => {
                if c.ty.kind() == TagKind::MultiValued {
                    return Err(SqlError::unsupported(format!(
                        "GROUP BY the whole set column {}; use unnest({})",
                        c.name, c.name
                    )));
                }
                group_by.push(GroupBy::Column(c.id, c.ty));
                groups.push((Some(c.name.clone()), g.clone()));
            }
            Some(ColRef::Key) => return Err(SqlError::unsupported("GROUP BY the key column")),
            None => {
                return Err(SqlError::unsupported(format!(
                    "GROUP BY the expression {g}"
                )));
            }
        }
    }

    // Cut aggregates out, then point group references at the leaf columns.
    let mut having = select.having.clone();
    let raws = cut_aggregates_and_groups(&mut list, &mut having, &mut order, &groups)?;
    let resolve = |e: &Expr| -> SqlResult<Option<ArgRef>> {
        Ok(match col_ref_of(ctx, table, alias, e)? {
            Some(ColRef::Key) => Some(ArgRef::Key),
            Some(ColRef::Tag(c)) => Some(ArgRef::Column(c.id, c.ty)),
            None => None,
        })
    };
    let compile_filter = |e: &Expr| where_pred(ctx, table, alias, Pred::Const(Some(true)), Some(e));
    // Calls on bitmaps where they can be, the others on the rows.
    let mut calls = Vec::new();
    let mut placement = Vec::with_capacity(raws.len());
    for r in &raws {
        let spec = match aggregate_class(&r.name) {
            Some(AggClass::Bitmap) => agg_spec(r, &resolve, &compile_filter),
            _ => Err(SqlError::unsupported("a collecting aggregate on bitmaps")),
        };
        match spec {
            Ok(call) => {
                placement.push(Placement::Bitmap(calls.len()));
                calls.push(call);
            }
            Err(e) if e.state == SqlState::FeatureNotSupported => {
                placement.push(Placement::Rows);
            }
            Err(e) => return Err(e),
        }
    }
    let leaf = match &fold {
        Some(plan) => run_folded_leaf(ctx, table, &pred, plan, &calls)?,
        None => run_aggregate_leaf(ctx, table, &pred, &group_by, &calls)?,
    };
    let leaf = if placement.iter().all(|p| matches!(p, Placement::Bitmap(_))) {
        leaf
    } else {
        let folder = fold.as_ref().map(|p| p.folder.as_ref());
        complete_leaf(
            ctx, table, alias, &pred, &group_by, folder, leaf, &raws, &placement,
        )?
    };
    let columns = leaf.columns.clone();
    let group_columns: Vec<Option<String>> = groups.iter().map(|(n, _)| n.clone()).collect();
    let scope = GroupScope {
        columns: &columns,
        table,
        alias,
        group_columns: &group_columns,
    };
    let leaf = match &having {
        Some(h) => {
            let b = super::predicate::bind_condition(ctx, h, &scope, "HAVING")?;
            super::relation::filter(leaf, &b, ctx.eval, ctx.cancel)?
        }
        None => leaf,
    };
    if !has_srf(&list) {
        return finish_select(ctx, &leaf, &scope, list, distinct, &order, offset, limit);
    }
    // Set-returning functions over the groups run after grouping.
    let quals = vec![None; leaf.columns.len()];
    let e = expand(ctx, leaf, quals, list)?;
    let scope = GroupScope {
        columns: &e.rel.columns,
        ..scope
    };
    finish_select(ctx, &e.rel, &scope, e.list, distinct, &order, offset, limit)
}

fn unnest_arg(e: &Expr) -> Option<&Expr> {
    let Expr::Function(f) = e else { return None };
    let is_unnest = matches!(f.name.0.as_slice(), [ObjectNamePart::Identifier(id)] if fold_ident(id) == "unnest");
    if !is_unnest || f.over.is_some() {
        return None;
    }
    single_arg(f)
}

fn single_arg(f: &Function) -> Option<&Expr> {
    match &f.args {
        sqlparser::ast::FunctionArguments::List(l) => match l.args.as_slice() {
            [sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e))] => {
                Some(e)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Names over the grouped leaf: `__grpN`, `__aggN`; table columns that are
/// not grouped are a grouping error.
struct GroupScope<'a> {
    columns: &'a [Column],
    table: &'a TableSnapshot,
    alias: &'a str,
    /// The table column each group key reads, if it is a plain column
    /// (`__grpN` is group N).
    group_columns: &'a [Option<String>],
}

impl Scope for GroupScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if let Some(i) = self.columns.iter().position(|c| c.name == name) {
            return Ok((i, self.columns[i].ty));
        }
        if audience_column(self.table, name).is_some() {
            // A group key by any spelling (`u.city`, or from a subquery)
            // reads the group's value, as in PostgreSQL.
            if qualifier.is_none_or(|q| q == self.alias)
                && let Some(g) = self
                    .group_columns
                    .iter()
                    .position(|c| c.as_deref() == Some(name))
                && let Some(i) = self
                    .columns
                    .iter()
                    .position(|c| c.name == format!("__grp{g}"))
            {
                return Ok((i, self.columns[i].ty));
            }
            let q = qualifier.unwrap_or(self.alias);
            return Err(SqlError::new(
                SqlState::GroupingError,
                format!(
                    "column \"{q}.{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
                ),
            ));
        }
        Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!("column \"{name}\" does not exist"),
        ))
    }
}

/// Whether an expression uses a window function.
fn has_window(e: &Expr) -> bool {
    /// Counts subquery levels: their windows are their own.
    struct Find(usize);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.0 += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.0 -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Function(f) if self.0 == 0 && f.over.is_some() => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }
    }
    e.visit(&mut Find(0)).is_break()
}

#[allow(clippy::too_many_arguments)]
fn select_rows(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    alias: &str,
    pred: &Pred,
    list: Vec<(String, Expr)>,
    distinct: bool,
    order: &[(Expr, bool, Option<bool>)],
    offset: u64,
    limit: Option<u64>,
) -> SqlResult<Relation> {
    let mut names = Vec::new();
    for (_, e) in &list {
        referenced_names(e, &mut names);
    }
    for (e, _, _) in order {
        referenced_names(e, &mut names);
    }
    let mut fetch: Vec<(String, Fetch)> = Vec::new();
    for n in names {
        if fetch.iter().any(|(f, _)| *f == n) {
            continue;
        }
        if let Some(f) = audience_column(table, &n) {
            fetch.push((n, f));
        }
    }
    let windowed = list.iter().any(|(_, e)| has_window(e));
    let push_down = order.is_empty() && !distinct && !windowed;
    let (fo, fl, ro, rl) = if push_down {
        (offset, limit, 0, None)
    } else {
        (0, None, offset, limit)
    };
    let rel = fetch_relation(ctx, table, pred, &fetch, fo, fl)?;
    // At least one entry, so the alias qualifies even when no column was
    // fetched (`SELECT t.nope FROM t` is 42703, not 42P01).
    let quals = vec![Some(alias.to_owned()); rel.columns.len().max(1)];
    let scope = RelScope {
        columns: &rel.columns,
        quals: &quals,
    };
    if push_down && let Some(picks) = plain_columns(ctx, &scope, &list)? {
        return Ok(pick_columns(rel, picks));
    }
    finish_select(ctx, &rel, &scope, list, distinct, order, ro, rl)
}

/// The output columns of a select list that only names fetched columns,
/// each at most once (`SELECT user_id AS id, city …`): (name, type, index
/// in the fetched relation). `None` for anything else, which goes through
/// `finish_select`.
fn plain_columns(
    ctx: &QueryCtx<'_>,
    scope: &RelScope<'_>,
    list: &[(String, Expr)],
) -> SqlResult<Option<Vec<(Column, usize)>>> {
    let named = |e: &Expr| matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
    if list.is_empty() || !list.iter().all(|(_, e)| named(e)) {
        return Ok(None);
    }
    let mut picks: Vec<(Column, usize)> = Vec::with_capacity(list.len());
    for (name, e) in list {
        let b = ctx.bind(e, scope)?;
        let ScalarExpr::Column { index, .. } = b.expr else {
            return Ok(None);
        };
        if index >= scope.columns.len() || picks.iter().any(|(_, i)| *i == index) {
            return Ok(None);
        }
        picks.push((
            Column {
                name: name.clone(),
                ty: b.ty,
            },
            index,
        ));
    }
    Ok(Some(picks))
}

/// `rel` with only the picked columns, renamed and retyped, in pick order:
/// the values move, nothing is evaluated or copied per row.
fn pick_columns(rel: Relation, picks: Vec<(Column, usize)>) -> Relation {
    let identity =
        picks.len() == rel.columns.len() && picks.iter().enumerate().all(|(n, (_, i))| n == *i);
    let (columns, index): (Vec<Column>, Vec<usize>) = picks.into_iter().unzip();
    let rows = if identity {
        rel.rows
    } else {
        rel.rows
            .into_iter()
            .map(|mut row| {
                index
                    .iter()
                    .map(|&i| {
                        row.get_mut(i)
                            .map_or(Datum::Null, |d| std::mem::replace(d, Datum::Null))
                    })
                    .collect()
            })
            .collect()
    };
    Relation { columns, rows }
}
