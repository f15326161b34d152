//! Select lists (output names, `*` expansion), `ORDER BY` keys, and the
//! relational SELECT over an in-memory relation: filter, projection,
//! DISTINCT, sort and limit (aggregation goes to [`crate::sql::aggregates`]).

use super::QueryCtx;
use super::from::table_name;
use crate::sql::aggregates::replace_group_refs;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use crate::sql::relation::{self, Column, Relation, SortKey};
use crate::sql::scalar::{self, BoundExpr, Scope};
use crate::sql::types::DataType;
use sqlparser::ast::{
    Expr, GroupByExpr, ObjectNamePart, OrderBy, OrderByKind, Query, Select, SelectItem, SetExpr,
    Value,
};

/// One select-list entry before binding.
pub struct Item {
    /// Output column name.
    pub name: String,
    /// The expression.
    pub expr: Expr,
}

/// PostgreSQL's default output column name for an expression.
pub fn default_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(id) => fold_ident(id),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .map(fold_ident)
            .unwrap_or_else(|| "?column?".into()),
        Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| match p {
                ObjectNamePart::Identifier(id) => Some(fold_ident(id)),
                ObjectNamePart::Function(_) => None,
            })
            .unwrap_or_else(|| "?column?".into()),
        Expr::Nested(inner) => default_name(inner),
        Expr::Cast {
            expr, data_type, ..
        } => match expr.as_ref() {
            Expr::Value(_) => cast_type_name(data_type),
            other => {
                let n = default_name(other);
                if n == "?column?" {
                    cast_type_name(data_type)
                } else {
                    n
                }
            }
        },
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Subquery(q) => subquery_name(q),
        Expr::Array(_) => "array".into(),
        Expr::CompoundFieldAccess { root, access_chain } => match access_chain.last() {
            Some(sqlparser::ast::AccessExpr::Dot(Expr::Identifier(id))) => fold_ident(id),
            // `arr[1]` and `(f(x))[1]` are named after the subscripted expression.
            Some(sqlparser::ast::AccessExpr::Subscript(_)) => default_name(root),
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

/// A scalar subquery's column is named after the subquery's only column.
fn subquery_name(q: &Query) -> String {
    let mut body = q.body.as_ref();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(inner) => body = inner.body.as_ref(),
            SetExpr::Select(s) => {
                return match s.projection.first() {
                    Some(SelectItem::UnnamedExpr(e)) => default_name(e),
                    Some(SelectItem::ExprWithAlias { alias, .. }) => fold_ident(alias),
                    _ => "?column?".into(),
                };
            }
            _ => return "?column?".into(),
        }
    }
}

fn cast_type_name(t: &sqlparser::ast::DataType) -> String {
    use sqlparser::ast::DataType as T;
    match t {
        T::Int(_) | T::Integer(_) | T::Int4(_) => "int4".into(),
        T::BigInt(_) | T::Int8(_) => "int8".into(),
        T::SmallInt(_) | T::Int2(_) => "int2".into(),
        T::Numeric(_) | T::Decimal(_) => "numeric".into(),
        T::Real | T::Float4 => "float4".into(),
        T::DoublePrecision | T::Float8 | T::Double(_) => "float8".into(),
        T::Boolean | T::Bool => "bool".into(),
        T::Text | T::Varchar(_) | T::CharacterVarying(_) => "text".into(),
        T::Date => "date".into(),
        T::Timestamp(_, _) => "timestamp".into(),
        _ => "?column?".into(),
    }
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

/// Column references of a relation; each column may carry a qualifier
/// (its table name or alias).
pub struct RelScope<'a> {
    /// The relation's columns.
    pub columns: &'a [Column],
    /// The qualifier of each column (parallel to `columns`; missing = none).
    pub quals: &'a [Option<String>],
}

impl Scope for RelScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if let Some(q) = qualifier
            && !self.quals.iter().any(|x| x.as_deref() == Some(q))
        {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("missing FROM-clause entry for table \"{q}\""),
            ));
        }
        let mut found = None;
        for (i, c) in self.columns.iter().enumerate() {
            let qual = self.quals.get(i).and_then(|q| q.as_deref());
            if c.name == name && (qualifier.is_none() || qualifier == qual) {
                if found.is_some() {
                    return Err(SqlError::new(
                        SqlState::AmbiguousColumn,
                        format!("column reference \"{name}\" is ambiguous"),
                    ));
                }
                found = Some((i, c.ty));
            }
        }
        found.ok_or_else(|| match qualifier {
            Some(q) => SqlError::new(
                SqlState::UndefinedColumn,
                format!("column {q}.{name} does not exist"),
            ),
            None => SqlError::new(
                SqlState::UndefinedColumn,
                format!("column \"{name}\" does not exist"),
            ),
        })
    }
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
        let target = match e {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => {
                    let k: usize = n
                        .parse()
                        .map_err(|_| SqlError::syntax("non-integer constant in ORDER BY"))?;
                    if k == 0 || k > visible {
                        return Err(SqlError::new(
                            SqlState::InvalidColumnReference,
                            format!("ORDER BY position {k} is not in select list"),
                        ));
                    }
                    Some(k - 1)
                }
                _ => None,
            },
            Expr::Identifier(id) => {
                let n = fold_ident(id);
                items.iter().position(|(name, _)| *name == n)
            }
            _ => None,
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

pub(super) fn order_relation(
    ctx: &QueryCtx<'_>,
    rel: Relation,
    order_by: Option<&OrderBy>,
) -> SqlResult<Relation> {
    let keys = order_keys(order_by)?;
    if keys.is_empty() {
        return Ok(rel);
    }
    if let Some(direct) = output_column_keys(&rel, &keys) {
        return relation::sort(rel, &direct?, ctx.eval, ctx.cancel);
    }
    let items: Vec<(String, Expr)> = rel
        .columns
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                Expr::Identifier(sqlparser::ast::Ident::with_quote('"', c.name.clone())),
            )
        })
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
        let index = match e {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => match n.parse::<usize>() {
                    Ok(k) if k >= 1 && k <= rel.columns.len() => k - 1,
                    _ => {
                        return Some(Err(SqlError::new(
                            SqlState::InvalidColumnReference,
                            format!("ORDER BY position {n} is not in select list"),
                        )));
                    }
                },
                _ => return None,
            },
            Expr::Identifier(id) => {
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
            let pred = ctx.bind(w, &scope)?;
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
                for (i, c) in rel.columns.iter().enumerate() {
                    let q = quals.get(i).cloned().flatten();
                    if only.is_some() && only != q {
                        continue;
                    }
                    let e = match &q {
                        Some(q) => Expr::CompoundIdentifier(vec![
                            sqlparser::ast::Ident::with_quote('"', q.clone()),
                            sqlparser::ast::Ident::with_quote('"', c.name.clone()),
                        ]),
                        None => {
                            Expr::Identifier(sqlparser::ast::Ident::with_quote('"', c.name.clone()))
                        }
                    };
                    list.push((c.name.clone(), e));
                }
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

/// Replaces group-key references in `e` (see [`replace_group_refs`]).
pub fn replace_groups(e: &mut Expr, groups: &[(Option<String>, Expr)]) {
    replace_group_refs(e, groups);
}
