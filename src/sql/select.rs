//! Planning and running `SELECT`.
//!
//! A query on an audience table splits in two: the **leaf** — scan, filter
//! and aggregate — runs on bitmaps ([`crate::exec`]); what sits above it
//! (expressions over the grouped rows, `HAVING`, window functions, `ORDER BY`,
//! `LIMIT`, set operations) runs on the small relational layer
//! ([`super::relation`]). Aggregate calls are cut out of the select list and
//! replaced by references to the leaf's output columns (`__agg0`, …), group
//! keys by `__grp0`, …, so the relational layer binds ordinary columns.

use super::aggregates::{AggCall, replace_group_refs};
use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::{self, ColRef, PredContext, fold_ident};
use super::relation::{self, Column, Relation, SortKey};
use super::scalar::{self, BoundExpr, EvalContext, Params, Scope};
use super::subquery::OuterFrame;
use super::types::{DataType, Datum};
use crate::catalog::{self, Catalog};
use crate::exec::aggregate::{GroupBy, GroupValue, aggregate};
use crate::exec::convert::decode_int;
use crate::exec::filter::Pred;
use crate::exec::parallel::Cancel;
use crate::exec::rows::{Fetch, fetch_rows};
use crate::index::{ColumnType, TagKind};
use crate::storage::{Snapshot, TableSnapshot};
use sqlparser::ast::{
    Expr, GroupByExpr, LimitClause, ObjectName, ObjectNamePart, OrderBy, OrderByKind, Query,
    Select, SelectItem, SetExpr, SetOperator, SetQuantifier, TableFactor, Value,
};
use std::cell::RefCell;
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

/// Where a query reads from.
pub(super) enum Source {
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

/// Runs a query to a relation.
pub fn run_query(ctx: &QueryCtx<'_>, q: &Query) -> SqlResult<Relation> {
    if q.with.is_some() {
        return Err(SqlError::unsupported("WITH"));
    }
    if q.fetch.is_some() || !q.locks.is_empty() {
        return Err(SqlError::unsupported("FETCH and FOR UPDATE"));
    }
    let (offset, limit) = limit_offset(ctx, q.limit_clause.as_ref())?;
    match q.body.as_ref() {
        SetExpr::Select(s) => run_select(ctx, s, q.order_by.as_ref(), offset, limit),
        other => {
            let rel = run_set_expr(ctx, other)?;
            let rel = order_relation(ctx, rel, q.order_by.as_ref())?;
            Ok(relation::limit(rel, offset, limit))
        }
    }
}

fn run_set_expr(ctx: &QueryCtx<'_>, e: &SetExpr) -> SqlResult<Relation> {
    match e {
        SetExpr::Select(s) => run_select(ctx, s, None, 0, None),
        SetExpr::Query(q) => run_query(&ctx.nested()?, q),
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            let a = run_set_expr(ctx, left)?;
            let b = run_set_expr(ctx, right)?;
            let op = match op {
                SetOperator::Union => relation::SetOp::Union,
                SetOperator::Intersect => relation::SetOp::Intersect,
                SetOperator::Except => relation::SetOp::Except,
                other => return Err(SqlError::unsupported(format!("{other}"))),
            };
            let all = matches!(set_quantifier, SetQuantifier::All);
            relation::set_op(a, b, op, all)
        }
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

fn limit_offset(ctx: &QueryCtx<'_>, clause: Option<&LimitClause>) -> SqlResult<(u64, Option<u64>)> {
    let (limit, offset) = match clause {
        None => (None, None),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(SqlError::unsupported("LIMIT BY"));
            }
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
    };
    let count = |e: Option<&Expr>, what: &str| -> SqlResult<Option<u64>> {
        let Some(e) = e else { return Ok(None) };
        match ctx.eval_const(e)?.0 {
            Datum::Null => Ok(None),
            Datum::Int(n) if n >= 0 => Ok(Some(n as u64)),
            Datum::Int(_) => Err(SqlError::new(
                SqlState::InvalidRowCountInLimit,
                format!("{what} must not be negative"),
            )),
            _ => Err(SqlError::mismatch(format!(
                "argument of {what} must be type bigint"
            ))),
        }
    };
    Ok((
        count(offset, "OFFSET")?.unwrap_or(0),
        count(limit, "LIMIT")?,
    ))
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

fn resolve_source(ctx: &QueryCtx<'_>, select: &Select) -> SqlResult<Source> {
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
        return super::join::join_sources(ctx, &select.from);
    }
    factor_source(ctx, &first.relation)
}

/// The source of one FROM item.
pub(super) fn factor_source(ctx: &QueryCtx<'_>, factor: &TableFactor) -> SqlResult<Source> {
    match factor {
        TableFactor::Table {
            name, alias, args, ..
        } => {
            if let Some(a) = args {
                return super::table_func::table_function(ctx, name, &a.args, alias.as_ref());
            }
            let (schema, table) = table_name(name)?;
            let alias_name = alias.as_ref().map(|a| fold_ident(&a.name));
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
                    match catalog::system::system_relation(
                        ctx.snapshot,
                        &sys,
                        schema.as_deref(),
                        &table,
                    ) {
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
        TableFactor::Derived {
            subquery,
            alias,
            lateral,
            ..
        } => {
            if *lateral {
                return Err(SqlError::unsupported("LATERAL"));
            }
            let rel = run_query(&ctx.nested()?, subquery)?;
            let rel = match alias {
                Some(a) if !a.columns.is_empty() => rename_columns(
                    rel,
                    &a.columns
                        .iter()
                        .map(|c| fold_ident(&c.name))
                        .collect::<Vec<_>>(),
                )?,
                _ => rel,
            };
            let q = alias.as_ref().map(|a| fold_ident(&a.name));
            let quals = vec![q; rel.columns.len()];
            Ok(Source::Rel { rel, quals })
        }
        TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            with_ordinality: false,
            ..
        } => super::table_func::unnest(ctx, array_exprs, alias.as_ref()),
        other => Err(SqlError::unsupported(format!("FROM {other}"))),
    }
}

fn rename_columns(mut rel: Relation, names: &[String]) -> SqlResult<Relation> {
    if names.len() > rel.columns.len() {
        return Err(SqlError::syntax(format!(
            "table has {} columns available but {} columns specified",
            rel.columns.len(),
            names.len()
        )));
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
    let stmts = super::parse(&view.sql)?;
    let Some(sqlparser::ast::Statement::Query(q)) = stmts.first() else {
        return Err(SqlError::internal(format!(
            "view {name} does not hold a query"
        )));
    };
    let nested = ctx.nested()?;
    // A view that only filters an audience table stays a bitmap filter.
    if let SetExpr::Select(s) = q.body.as_ref()
        && q.order_by.is_none()
        && q.limit_clause.is_none()
        && is_plain_filter(s)
        && let Source::Audience { table, filter, .. } = resolve_source(&nested, s)?
    {
        let view_filter = match &s.selection {
            Some(w) => {
                let pc = AudiencePredCtx {
                    ctx: &nested,
                    table: &table,
                    alias: &alias,
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
    let rel = run_query(&nested, q)?;
    let quals = vec![Some(alias); rel.columns.len()];
    Ok(Source::Rel { rel, quals })
}

/// `SELECT * | cols FROM t [WHERE …]` with nothing else.
fn is_plain_filter(s: &Select) -> bool {
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

/// Predicate compilation against one audience table.
struct AudiencePredCtx<'a> {
    ctx: &'a QueryCtx<'a>,
    table: &'a TableSnapshot,
    alias: &'a str,
}

impl PredContext for AudiencePredCtx<'_> {
    fn table(&self) -> &TableSnapshot {
        self.table
    }

    fn qualifies(&self, qualifier: &str) -> bool {
        qualifier == self.alias || qualifier == self.table.schema().name
    }

    fn eval_const(&self, e: &Expr) -> SqlResult<(Datum, DataType)> {
        let scope = AudienceConstScope {
            table: self.table,
            alias: self.alias,
        };
        let b = self.ctx.bind(e, &scope)?;
        let d = scalar::eval(&b, &[], self.ctx.eval)?;
        Ok((d, b.ty))
    }

    fn is_outer_column(&self, qualifier: Option<&str>, name: &str) -> bool {
        self.ctx.is_outer_column(qualifier, name)
    }

    fn eval_const_for(&self, e: &Expr, hint: DataType) -> SqlResult<(Datum, DataType)> {
        let bare = matches!(e, Expr::Value(v) if matches!(v.value, Value::Placeholder(_)));
        if bare {
            self.ctx.eval_const_for(e, hint)
        } else {
            self.eval_const(e)
        }
    }

    fn key_subquery(&self, q: &Query) -> SqlResult<Pred> {
        let nested = self.ctx.nested()?;
        // Same table, selecting its key: the subquery's filter is a bitmap.
        if let SetExpr::Select(s) = q.body.as_ref()
            && q.order_by.is_none()
            && q.limit_clause.is_none()
            && s.projection.len() == 1
            && is_plain_filter(s)
            && let Source::Audience {
                table,
                filter,
                alias,
            } = resolve_source(&nested, s)?
            && table.schema().id == self.table.schema().id
            && matches!(&s.projection[0], SelectItem::UnnamedExpr(Expr::Identifier(id)) if fold_ident(id) == table.schema().key_name)
        {
            let inner = match &s.selection {
                Some(w) => predicate::compile(
                    &AudiencePredCtx {
                        ctx: &nested,
                        table: &table,
                        alias: &alias,
                    },
                    w,
                )?,
                None => Pred::Const(Some(true)),
            };
            return Ok(Pred::IsTrue(Box::new(Pred::And(vec![filter, inner]))));
        }
        // Otherwise: run it and look the keys up.
        let rel = run_query(&nested, q)?;
        if rel.columns.len() != 1 {
            return Err(SqlError::syntax("subquery has too many columns"));
        }
        let key_type = self.table.schema().key_type;
        let mut rows = roaring::RoaringBitmap::new();
        let mut saw_null = false;
        for row in &rel.rows {
            let key = match (&row[0], key_type) {
                (Datum::Int(i), crate::index::KeyType::BigInt) => crate::index::Key::Int(*i),
                (Datum::Text(s), crate::index::KeyType::Text) => crate::index::Key::Text(s.clone()),
                (Datum::Null, _) => {
                    saw_null = true;
                    continue;
                }
                _ => {
                    return Err(SqlError::mismatch(
                        "subquery returns values of the wrong type for the key",
                    ));
                }
            };
            if let Some(r) = self.table.row_of(&key)? {
                rows.insert(r);
            }
        }
        let found = Pred::Rows(Arc::new(rows));
        // A NULL among the keys makes every non-member UNKNOWN (so `NOT IN`
        // selects nothing), as in PostgreSQL.
        Ok(if saw_null {
            Pred::Or(vec![found, Pred::Const(None)])
        } else {
            found
        })
    }

    fn timezone_offset_secs(&self) -> i32 {
        self.ctx.eval.timezone_offset_secs
    }
}

/// How a correlated subquery in an audience WHERE is reported to
/// [`run_select`], which then filters the table's rows one by one.
const CORRELATED_WHERE: &str = "a subquery that references the audience table's column";

fn is_correlated_where(e: &SqlError) -> bool {
    e.state == SqlState::FeatureNotSupported && e.message.starts_with(CORRELATED_WHERE)
}

/// Every visible column of the rows of `table` under `filter`, as a
/// relation (at most [`relation::RELATION_ROWS_MAX`] rows, 54000 beyond).
fn audience_rows(ctx: &QueryCtx<'_>, table: &TableSnapshot, filter: &Pred) -> SqlResult<Relation> {
    let schema = table.schema();
    let mut columns = vec![(schema.key_name.clone(), Fetch::Key)];
    for c in schema
        .columns
        .iter()
        .filter(|c| !catalog::is_hidden(&c.name))
    {
        columns.push((c.name.clone(), Fetch::Tag(c.id, c.ty)));
    }
    let filter = filter.clone().simplify().order_by_estimate(table);
    fetch_relation(ctx, table, &filter, &columns, 0, None)
}

/// The scope of constants in an audience WHERE: no columns, but a
/// subquery that references the audience table's columns gets 0A000
/// (bitmap filters cannot run a subquery per row).
struct AudienceConstScope<'a> {
    table: &'a TableSnapshot,
    alias: &'a str,
}

impl Scope for AudienceConstScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        let ours = qualifier.is_none_or(|q| q == self.alias || q == self.table.schema().name);
        if ours && audience_column(self.table, name).is_some() {
            return Err(SqlError::unsupported(format!(
                "{CORRELATED_WHERE} {name} in WHERE"
            )));
        }
        EmptyScope.resolve(qualifier, name)
    }
}

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
    match resolve_source(ctx, select)? {
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
            Err(e) if is_correlated_where(&e) => {
                let rel = audience_rows(ctx, &table, &filter)?;
                let quals = vec![Some(alias); rel.columns.len()];
                select_relation(ctx, rel, quals, select, order_by, offset, limit)
            }
            other => other,
        },
        Source::Rel { rel, quals } => {
            select_relation(ctx, rel, quals, select, order_by, offset, limit)
        }
    }
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

fn order_relation(
    ctx: &QueryCtx<'_>,
    rel: Relation,
    order_by: Option<&OrderBy>,
) -> SqlResult<Relation> {
    let keys = order_keys(order_by)?;
    if keys.is_empty() {
        return Ok(rel);
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

#[allow(clippy::too_many_arguments)]
fn select_relation(
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
    if grouped
        || select.having.is_some()
        || list
            .iter()
            .any(|(_, e)| super::aggregates::has_aggregate(e))
    {
        return super::aggregates::aggregate_relation(
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

/// Converts the groups of an aggregate leaf to a relation: the group key
/// columns `__grp0…`, then the aggregates `__agg0…`.
pub fn groups_to_relation(
    groups: crate::exec::aggregate::Groups,
    group_by: &[GroupBy],
    calls: &[AggCall],
) -> SqlResult<Relation> {
    let mut columns = Vec::new();
    for (i, g) in group_by.iter().enumerate() {
        let ty = match g {
            GroupBy::Column(_, ty) => DataType::of_column(*ty),
            GroupBy::Unnest(_) => DataType::Text,
        };
        columns.push(Column {
            name: format!("__grp{i}"),
            ty,
        });
    }
    for (i, c) in calls.iter().enumerate() {
        columns.push(Column {
            name: format!("__agg{i}"),
            ty: c.result_type(),
        });
    }
    let mut rows = Vec::with_capacity(groups.len());
    for (key, states) in groups {
        let mut row = Vec::with_capacity(columns.len());
        for (v, g) in key.into_iter().zip(group_by) {
            row.push(match (v, g) {
                (GroupValue::Null, _) => Datum::Null,
                (GroupValue::Bool(b), _) => Datum::Bool(b),
                (GroupValue::Int(i), GroupBy::Column(_, ty)) => decode_int(i, *ty),
                (GroupValue::Int(i), _) => Datum::Int(i),
                (GroupValue::Text(t), _) => Datum::Text(t.to_string()),
            });
        }
        for (state, call) in states.into_iter().zip(calls) {
            row.push(call.finalize(state)?);
        }
        rows.push(row);
    }
    Ok(Relation { columns, rows })
}

/// Whether a column type can be grouped on bitmaps.
pub fn groupable(ty: ColumnType) -> bool {
    !matches!(ty.kind(), TagKind::MultiValued)
}

/// Runs the bitmap leaf of an aggregate query.
pub fn run_aggregate_leaf(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    filter: &Pred,
    group_by: &[GroupBy],
    calls: &[AggCall],
) -> SqlResult<Relation> {
    let specs: Vec<_> = calls.iter().map(|c| c.spec.clone()).collect();
    let groups = aggregate(table, filter, group_by, &specs, ctx.cancel)?;
    groups_to_relation(groups, group_by, calls)
}

/// Fetches rows of an audience table into a relation whose columns are
/// named after the table's columns.
pub fn fetch_relation(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    filter: &Pred,
    columns: &[(String, Fetch)],
    offset: u64,
    limit: Option<u64>,
) -> SqlResult<Relation> {
    let fetch: Vec<Fetch> = columns.iter().map(|(_, f)| *f).collect();
    let rows = fetch_rows(
        table,
        filter,
        &fetch,
        offset,
        limit,
        relation::RELATION_ROWS_MAX,
        ctx.cancel,
    )?;
    let schema_key = table.schema().key_type;
    let columns = columns
        .iter()
        .map(|(name, f)| Column {
            name: name.clone(),
            ty: match f {
                Fetch::Key => match schema_key {
                    crate::index::KeyType::BigInt => DataType::Int8,
                    crate::index::KeyType::Text => DataType::Text,
                },
                Fetch::Tag(_, ty) => DataType::of_column(*ty),
            },
        })
        .collect();
    Ok(Relation { columns, rows })
}

/// Resolves a column reference against an audience table for row output.
pub fn audience_column(table: &TableSnapshot, name: &str) -> Option<Fetch> {
    let schema = table.schema();
    if name == schema.key_name {
        return Some(Fetch::Key);
    }
    schema
        .column(name)
        .filter(|c| !catalog::is_hidden(&c.name))
        .map(|c| Fetch::Tag(c.id, c.ty))
}

/// Compiles a WHERE clause (and a source filter) into one predicate.
pub fn where_pred(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    alias: &str,
    filter: Pred,
    selection: Option<&Expr>,
) -> SqlResult<Pred> {
    let mut parts = vec![filter];
    if let Some(w) = selection {
        let pc = AudiencePredCtx { ctx, table, alias };
        parts.push(predicate::compile(&pc, w)?);
    }
    Ok(Pred::And(parts).simplify().order_by_estimate(table))
}

/// Column references of a WHERE clause, for error messages.
pub fn col_ref_of(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    alias: &str,
    e: &Expr,
) -> SqlResult<Option<ColRef>> {
    let pc = AudiencePredCtx { ctx, table, alias };
    predicate::column_ref(&pc, e)
}

/// Replaces group-key references in `e` (see [`replace_group_refs`]).
pub fn replace_groups(e: &mut Expr, groups: &[(Option<String>, Expr)]) {
    replace_group_refs(e, groups);
}
