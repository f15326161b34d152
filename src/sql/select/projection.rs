//! Select lists (output names, `*` expansion), `ORDER BY` keys, and the
//! relational SELECT over an in-memory relation: filter, projection,
//! DISTINCT, sort and limit (aggregation goes to [`crate::sql::aggregates`]).

use super::QueryCtx;
pub use super::column_name::default_name;
use super::from::table_name;
use super::scope::{RelScope, positional_ref};
use crate::sql::aggregates::groups::constant_position;
use crate::sql::aggregates::replace_group_refs;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use crate::sql::relation::{self, Relation, SortKey};
use crate::sql::scalar::{self, BoundExpr, Scope};
use sqlparser::ast::{Expr, GroupByExpr, OrderBy, OrderByKind, Select, SelectItem};

/// One select-list entry before binding.
pub struct Item {
    /// Output column name.
    pub name: String,
    /// The expression.
    pub expr: Expr,
}

/// Whether the select list of a query without grouping or aggregates
/// calls a set-returning function (those run on the relational layer).
pub(super) fn calls_srf(select: &Select) -> SqlResult<bool> {
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(g, _) if g.is_empty());
    let list: Vec<(String, Expr)> = items(select)?
        .into_iter()
        .flatten()
        .map(|i| (i.name, i.expr))
        .collect();
    let aggregated = grouped
        || select.having.is_some()
        || list
            .iter()
            .any(|(_, e)| crate::sql::aggregates::has_aggregate(e));
    Ok(!aggregated && crate::sql::project_set::has_srf(&list))
}

/// The select list; `None` entries are `*`.
pub fn items(select: &Select) -> SqlResult<Vec<Option<Item>>> {
    select
        .projection
        .iter()
        .map(|p| match p {
            SelectItem::UnnamedExpr(e) => Ok(Some(Item {
                name: default_name(e),
                expr: e.clone(),
            })),
            SelectItem::ExprWithAlias { expr, alias } => Ok(Some(Item {
                name: fold_ident(alias),
                expr: expr.clone(),
            })),
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => Ok(None),
            SelectItem::ExprWithAliases { .. } => Err(SqlError::unsupported("multiple aliases")),
        })
        .collect()
}

/// Projection, DISTINCT, ORDER BY and LIMIT over `input`, with `items`
/// (`None` = `*`) bound in `scope`. ORDER BY may name output columns (by
/// name or ordinal) or input expressions.
#[allow(clippy::too_many_arguments)]
pub fn finish_select(
    ctx: &QueryCtx<'_>,
    input: &Relation,
    scope: &dyn Scope,
    items: Vec<(String, Expr)>,
    distinct: bool,
    order_by: &[(Expr, bool, Option<bool>)],
    offset: u64,
    limit: Option<u64>,
) -> SqlResult<Relation> {
    let mut bound = Vec::with_capacity(items.len());
    for (name, e) in &items {
        bound.push((name.clone(), ctx.bind(e, scope)?));
    }
    let visible = bound.len();
    let mut keys = Vec::new();
    for (i, (e, desc, nulls_first)) in order_by.iter().enumerate() {
        // An output column by ordinal or by name, else an input expression.
        let target = match (constant_position(e, "ORDER BY"), e) {
            (Some(k), _) => Some(ordinal(k?, visible)?),
            (None, Expr::Identifier(id)) => output_named(&bound[..visible], &fold_ident(id))?,
            (None, _) => None,
        };
        let col = match target {
            Some(c) => c,
            None => {
                if distinct {
                    return Err(SqlError::new(
                        SqlState::InvalidColumnReference,
                        "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                    ));
                }
                bound.push((format!("__sort{i}"), ctx.bind(e, scope)?));
                bound.len() - 1
            }
        };
        let ty = bound[col].1.ty;
        keys.push(SortKey {
            expr: BoundExpr::new(scalar::ScalarExpr::Column { index: col, ty }),
            descending: *desc,
            nulls_first: *nulls_first,
        });
    }
    let mut rel = relation::project(input, &bound, ctx.eval, ctx.cancel)?;
    if distinct {
        rel = relation::distinct(rel);
    }
    if !keys.is_empty() {
        rel = relation::sort(rel, &keys, ctx.eval, ctx.cancel)?;
    }
    let mut rel = relation::limit(rel, offset, limit);
    rel.columns.truncate(visible);
    for row in &mut rel.rows {
        row.truncate(visible);
    }
    Ok(rel)
}

/// The 0-based output column of `ORDER BY k` over `len` columns (42P10
/// when there is none).
fn ordinal(k: i64, len: usize) -> SqlResult<usize> {
    match usize::try_from(k) {
        Ok(k) if k >= 1 && k <= len => Ok(k - 1),
        _ => Err(SqlError::new(
            SqlState::InvalidColumnReference,
            format!("ORDER BY position {k} is not in select list"),
        )),
    }
}

/// The output column an `ORDER BY name` means: the one so named (42702
/// when several are, unless they compute the same thing, as PostgreSQL).
fn output_named(bound: &[(String, BoundExpr)], name: &str) -> SqlResult<Option<usize>> {
    let mut hits = bound.iter().enumerate().filter(|(_, (n, _))| n == name);
    let Some((first, (_, e))) = hits.next() else {
        return Ok(None);
    };
    if hits.any(|(_, (_, other))| other.expr != e.expr) {
        return Err(SqlError::new(
            SqlState::AmbiguousColumn,
            format!("ORDER BY \"{name}\" is ambiguous"),
        ));
    }
    Ok(Some(first))
}

/// ORDER BY entries as (expression, descending, nulls first).
pub fn order_keys(order_by: Option<&OrderBy>) -> SqlResult<Vec<(Expr, bool, Option<bool>)>> {
    let Some(ob) = order_by else {
        return Ok(Vec::new());
    };
    match &ob.kind {
        OrderByKind::Expressions(list) => Ok(list
            .iter()
            .map(|o| {
                let desc = matches!(o.options.sort, Some(sqlparser::ast::OrderBySort::Desc));
                (o.expr.clone(), desc, o.options.nulls_first)
            })
            .collect()),
        OrderByKind::All(_) => Err(SqlError::unsupported("ORDER BY ALL")),
    }
}

/// Sorts the rows of a query body that is not a SELECT (`VALUES`, a set
/// operation: `set_op`, whose keys may only name output columns, as in
/// PostgreSQL).
pub(super) fn order_relation(
    ctx: &QueryCtx<'_>,
    rel: Relation,
    order_by: Option<&OrderBy>,
    set_op: bool,
) -> SqlResult<Relation> {
    let keys = order_keys(order_by)?;
    if keys.is_empty() {
        return Ok(rel);
    }
    if let Some(direct) = output_column_keys(&rel, &keys) {
        return relation::sort(rel, &direct?, ctx.eval, ctx.cancel);
    }
    if set_op
        && keys
            .iter()
            .any(|(e, _, _)| !matches!(e, Expr::Identifier(_) | Expr::Value(_)))
    {
        return Err(SqlError::new(
            SqlState::FeatureNotSupported,
            "invalid UNION/INTERSECT/EXCEPT ORDER BY clause",
        )
        .with_detail("Only result column names can be used, not expressions or functions.")
        .with_hint(
            "Add the expression/function to every SELECT, or move the UNION into a FROM clause.",
        ));
    }
    let items: Vec<(String, Expr)> = rel
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), positional_ref(i, &c.name)))
        .collect();
    let scope = RelScope {
        columns: &rel.columns,
        quals: &[],
    };
    finish_select(ctx, &rel, &scope, items, false, &keys, 0, None)
}

/// Sort keys of a set operation's `ORDER BY` when every key names an output
/// column by ordinal or by name: bound by position, so output columns with
/// the same name (`?column?` twice) do not make `ORDER BY 1` ambiguous.
/// `None` when some key is an expression (bound by name instead).
fn output_column_keys(
    rel: &Relation,
    keys: &[(Expr, bool, Option<bool>)],
) -> Option<SqlResult<Vec<SortKey>>> {
    let mut out = Vec::with_capacity(keys.len());
    for (e, descending, nulls_first) in keys {
        let index = match (constant_position(e, "ORDER BY"), e) {
            (Some(k), _) => match k.and_then(|k| ordinal(k, rel.columns.len())) {
                Ok(i) => i,
                Err(err) => return Some(Err(err)),
            },
            (None, Expr::Identifier(id)) => {
                let name = fold_ident(id);
                let mut hits = rel
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.name == name);
                match (hits.next(), hits.next()) {
                    (Some((i, _)), None) => i,
                    _ => return None,
                }
            }
            _ => return None,
        };
        out.push(SortKey {
            expr: BoundExpr::new(scalar::ScalarExpr::Column {
                index,
                ty: rel.columns[index].ty,
            }),
            descending: *descending,
            nulls_first: *nulls_first,
        });
    }
    Some(Ok(out))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn select_relation(
    ctx: &QueryCtx<'_>,
    rel: Relation,
    quals: Vec<Option<String>>,
    select: &Select,
    order_by: Option<&OrderBy>,
    offset: u64,
    limit: Option<u64>,
) -> SqlResult<Relation> {
    let rel = match &select.selection {
        Some(w) => {
            let scope = RelScope {
                columns: &rel.columns,
                quals: &quals,
            };
            let pred = crate::sql::predicate::bind_condition(ctx, w, &scope, "WHERE")?;
            relation::filter(rel, &pred, ctx.eval, ctx.cancel)?
        }
        None => rel,
    };
    ctx.cancel.check()?;
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(g, _) if g.is_empty());
    let mut list = Vec::new();
    for (item, p) in items(select)?.into_iter().zip(&select.projection) {
        match item {
            Some(Item { name, expr }) => list.push((name, expr)),
            None => {
                let only = match p {
                    SelectItem::QualifiedWildcard(
                        sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                        _,
                    ) => Some(table_name(n)?.1),
                    _ => None,
                };
                let scope = RelScope {
                    columns: &rel.columns,
                    quals: &quals,
                };
                if let Some(o) = &only
                    && !scope.has_qualifier(o)
                {
                    return Err(SqlError::new(
                        SqlState::UndefinedTable,
                        format!("missing FROM-clause entry for table \"{o}\""),
                    ));
                }
                list.extend(expand_star(&rel, &quals, only.as_deref()));
            }
        }
    }
    let distinct = select.distinct.is_some();
    let aggregated = grouped
        || select.having.is_some()
        || list
            .iter()
            .any(|(_, e)| crate::sql::aggregates::has_aggregate(e));
    let (rel, quals, list) = if !aggregated && crate::sql::project_set::has_srf(&list) {
        let e = crate::sql::project_set::expand(ctx, rel, quals, list)?;
        (e.rel, e.quals, e.list)
    } else {
        (rel, quals, list)
    };
    if aggregated {
        return crate::sql::aggregates::aggregate_relation(
            ctx, &rel, &quals, select, list, order_by, offset, limit,
        );
    }
    let scope = RelScope {
        columns: &rel.columns,
        quals: &quals,
    };
    finish_select(
        ctx,
        &rel,
        &scope,
        list,
        distinct,
        &order_keys(order_by)?,
        offset,
        limit,
    )
}

/// The select-list entries of `*` (or of `only.*`) over `rel`: each column
/// by its (qualified) name, or by position when that name would reach
/// another column too. `*` leaves out hidden columns (see [`super::scope`]).
fn expand_star(
    rel: &Relation,
    quals: &[Option<String>],
    only: Option<&str>,
) -> Vec<(String, Expr)> {
    let scope = RelScope {
        columns: &rel.columns,
        quals,
    };
    let mut out = Vec::new();
    for (i, c) in rel.columns.iter().enumerate() {
        let (q, hidden) = scope.qual(i);
        let wanted = match only {
            Some(o) => q == Some(o),
            None => !hidden,
        };
        if !wanted {
            continue;
        }
        let by_name = matches!(scope.resolve(q, &c.name), Ok((j, _)) if j == i);
        let e = match q {
            _ if !by_name => positional_ref(i, &c.name),
            Some(q) => Expr::CompoundIdentifier(vec![
                sqlparser::ast::Ident::with_quote('"', q.to_owned()),
                sqlparser::ast::Ident::with_quote('"', c.name.clone()),
            ]),
            None => Expr::Identifier(sqlparser::ast::Ident::with_quote('"', c.name.clone())),
        };
        out.push((c.name.clone(), e));
    }
    out
}

/// Replaces group-key references in `e` (see [`replace_group_refs`]).
pub fn replace_groups(e: &mut Expr, groups: &[(Option<String>, Expr)]) {
    replace_group_refs(e, groups);
}
