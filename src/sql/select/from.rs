//! FROM items to sources: audience tables (directly or through views that
//! only filter them), catalog relations, derived tables, table functions
//! and common table expressions.

use super::leaf::AudiencePredCtx;
use super::{QueryCtx, run_query};
use crate::catalog::{self, Catalog};
use crate::exec::filter::Pred;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::{self, fold_ident};
use crate::sql::relation::Relation;
use crate::storage::TableSnapshot;
use sqlparser::ast::{
    Expr, GroupByExpr, ObjectName, ObjectNamePart, Query, Select, SelectItem, SetExpr, TableAlias,
    TableFactor,
};

/// Where a query reads from.
pub(crate) enum Source {
    /// An audience table (possibly through views: their filters are ANDed).
    Audience {
        table: TableSnapshot,
        alias: String,
        filter: Pred,
    },
    /// A small relation (derived table, non-simple view, VALUES, no FROM).
    Rel {
        rel: Relation,
        quals: Vec<Option<String>>,
    },
}

/// The table name of a possibly schema-qualified object name.
pub fn table_name(name: &ObjectName) -> SqlResult<(Option<String>, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(id) => Ok(fold_ident(id)),
            ObjectNamePart::Function(_) => Err(SqlError::unsupported("table functions")),
        })
        .collect::<SqlResult<_>>()?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        [_, s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(SqlError::syntax(format!("improper qualified name: {name}"))),
    }
}

pub(super) fn resolve_source(ctx: &QueryCtx<'_>, select: &Select) -> SqlResult<Source> {
    let Some(first) = select.from.first() else {
        return Ok(Source::Rel {
            rel: Relation {
                columns: Vec::new(),
                rows: vec![Vec::new()],
            },
            quals: Vec::new(),
        });
    };
    if select.from.len() > 1 || !first.joins.is_empty() {
        return crate::sql::from_list::join_sources(ctx, &select.from, select.selection.as_ref());
    }
    factor_source(ctx, &first.relation)
}

/// The source of one FROM item.
pub(crate) fn factor_source(ctx: &QueryCtx<'_>, factor: &TableFactor) -> SqlResult<Source> {
    match factor {
        TableFactor::Table {
            name,
            alias,
            args,
            with_ordinality,
            ..
        } => {
            if let Some(a) = args {
                return crate::sql::table_func::table_function(
                    ctx,
                    name,
                    &a.args,
                    alias.as_ref(),
                    *with_ordinality,
                );
            }
            let source = named_source(ctx, name, alias.as_ref())?;
            column_aliases(ctx, source, alias.as_ref())
        }
        // A LATERAL subquery reads the items before it through the
        // enclosing names `from_list` gives it.
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            if alias.is_none() {
                return Err(unaliased_subquery(subquery));
            }
            let rel = run_query(&ctx.nested()?, subquery)?;
            let q = alias.as_ref().map(|a| fold_ident(&a.name));
            let quals = vec![q; rel.columns.len()];
            column_aliases(ctx, Source::Rel { rel, quals }, alias.as_ref())
        }
        TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            with_ordinality,
            ..
        } => crate::sql::table_func::unnest(ctx, array_exprs, alias.as_ref(), *with_ordinality),
        TableFactor::Function {
            name,
            args,
            with_ordinality,
            alias,
            ..
        } => crate::sql::table_func::table_function(
            ctx,
            name,
            args,
            alias.as_ref(),
            *with_ordinality,
        ),
        other => Err(SqlError::unsupported(format!("FROM {other}"))),
    }
}

/// PostgreSQL 15's 42601 for a subquery (or `VALUES`) in FROM without an
/// alias.
fn unaliased_subquery(q: &Query) -> SqlError {
    let mut body = q.body.as_ref();
    while let SetExpr::Query(inner) = body {
        body = inner.body.as_ref();
    }
    let (what, example) = match body {
        SetExpr::Values(_) => ("VALUES", "VALUES"),
        _ => ("subquery", "SELECT"),
    };
    SqlError::new(
        SqlState::SyntaxError,
        format!("{what} in FROM must have an alias"),
    )
    .with_hint(format!("For example, FROM ({example} ...) [AS] foo."))
}

/// The source of a named FROM item (a CTE, table, view or catalog
/// relation), before its alias's column list.
fn named_source(
    ctx: &QueryCtx<'_>,
    name: &ObjectName,
    alias: Option<&TableAlias>,
) -> SqlResult<Source> {
    let (schema, table) = table_name(name)?;
    let alias_name = alias.map(|a| fold_ident(&a.name));
    if schema.is_none()
        && let Some(cte) = super::cte::find(ctx.ctes.as_ref(), &table)
    {
        return super::cte::cte_source(ctx, &cte, alias_name.unwrap_or(table));
    }
    match schema.as_deref() {
        None | Some("public")
            if ctx.snapshot.table(&table).is_some()
                || Catalog::new(ctx.snapshot).view(&table).is_some() =>
        {
            resolve_named(ctx, &table, alias_name)
        }
        None | Some("pg_catalog") | Some("information_schema") => {
            let sys = catalog::system::SystemContext {
                user: ctx.user.clone(),
            };
            match catalog::system::system_relation(ctx.snapshot, &sys, schema.as_deref(), &table) {
                Some(rel) => {
                    let rel = rel?;
                    let q = alias_name.unwrap_or(table);
                    let quals = vec![Some(q); rel.columns.len()];
                    Ok(Source::Rel { rel, quals })
                }
                None => Err(SqlError::new(
                    SqlState::UndefinedTable,
                    format!("relation \"{}\" does not exist", name),
                )),
            }
        }
        Some("public") => resolve_named(ctx, &table, alias_name),
        Some(s) => Err(SqlError::new(
            SqlState::UndefinedTable,
            format!("relation \"{s}.{table}\" does not exist"),
        )),
    }
}

/// Renames the first columns of a FROM item by its alias's column list
/// (`AS t(a, b)`). An audience table so renamed is read into a relation
/// (bounded like any relation), since its bitmaps know the old names.
fn column_aliases(
    ctx: &QueryCtx<'_>,
    source: Source,
    alias: Option<&TableAlias>,
) -> SqlResult<Source> {
    let Some(a) = alias.filter(|a| !a.columns.is_empty()) else {
        return Ok(source);
    };
    let names: Vec<String> = a.columns.iter().map(|c| fold_ident(&c.name)).collect();
    let crate::sql::join::Qualified { rel, quals } = crate::sql::join::to_qualified(ctx, source)?;
    Ok(Source::Rel {
        rel: rename_columns(rel, &names, &fold_ident(&a.name))?,
        quals,
    })
}

/// Renames the first columns of `rel` (42P10 when there are more names
/// than columns; `table` names the item in that error).
pub(super) fn rename_columns(
    mut rel: Relation,
    names: &[String],
    table: &str,
) -> SqlResult<Relation> {
    if names.len() > rel.columns.len() {
        return Err(SqlError::new(
            SqlState::InvalidColumnReference,
            format!(
                "table \"{table}\" has {} columns available but {} columns specified",
                rel.columns.len(),
                names.len()
            ),
        ));
    }
    for (c, n) in rel.columns.iter_mut().zip(names) {
        c.name = n.clone();
    }
    Ok(rel)
}

fn resolve_named(ctx: &QueryCtx<'_>, name: &str, alias: Option<String>) -> SqlResult<Source> {
    if let Some(table) = ctx.snapshot.table(name) {
        return Ok(Source::Audience {
            table,
            alias: alias.unwrap_or_else(|| name.to_owned()),
            filter: Pred::Const(Some(true)),
        });
    }
    let Some(view) = Catalog::new(ctx.snapshot).view(name) else {
        return Err(SqlError::new(
            SqlState::UndefinedTable,
            format!("relation \"{name}\" does not exist"),
        ));
    };
    let alias = alias.unwrap_or_else(|| name.to_owned());
    if view.materialized
        && let Some(base) = &view.base_table
        && let Some(table) = ctx.snapshot.table(base)
    {
        let col = table
            .schema()
            .column(&catalog::mv_column(&view.name))
            .map(|c| c.id)
            .ok_or_else(|| {
                SqlError::internal(format!("materialized view {name} lost its column"))
            })?;
        return Ok(Source::Audience {
            table,
            alias,
            filter: Pred::Flag { col, value: true },
        });
    }
    let stmts = crate::sql::parse(&view.sql)?;
    let Some(sqlparser::ast::Statement::Query(q)) = stmts.first() else {
        return Err(SqlError::internal(format!(
            "view {name} does not hold a query"
        )));
    };
    let mut nested = ctx.nested()?;
    // A view sees no CTE of the query that reads it.
    nested.ctes = None;
    query_source(&nested, q, alias)
}

/// The source of a view's or CTE's body `q` (run in `nested`, one level
/// below the referencing query) under `alias`: a body that only filters an
/// audience table stays a bitmap filter; any other runs to a relation.
pub(super) fn query_source(nested: &QueryCtx<'_>, q: &Query, alias: String) -> SqlResult<Source> {
    if let SetExpr::Select(s) = q.body.as_ref()
        && q.with.is_none()
        && q.order_by.is_none()
        && q.limit_clause.is_none()
        && is_plain_filter(s)
        && let Source::Audience {
            table,
            filter,
            alias: inner,
        } = resolve_source(nested, s)?
    {
        // The body's WHERE names the table as the body's FROM does.
        let view_filter = match &s.selection {
            Some(w) => {
                let pc = AudiencePredCtx {
                    ctx: nested,
                    table: &table,
                    alias: &inner,
                };
                predicate::compile(&pc, w)?
            }
            None => Pred::Const(Some(true)),
        };
        return Ok(Source::Audience {
            table,
            alias,
            filter: Pred::And(vec![filter, view_filter]),
        });
    }
    let rel = run_query(nested, q)?;
    let quals = vec![Some(alias); rel.columns.len()];
    Ok(Source::Rel { rel, quals })
}

/// `SELECT * | cols FROM t [WHERE …]` with nothing else.
pub(super) fn is_plain_filter(s: &Select) -> bool {
    s.distinct.is_none()
        && s.having.is_none()
        && matches!(&s.group_by, GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
        && s.projection.iter().all(|p| {
            matches!(
                p,
                SelectItem::Wildcard(_) | SelectItem::UnnamedExpr(Expr::Identifier(_))
            )
        })
}
