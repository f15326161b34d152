//! The bitmap leaf of a query on an audience table: compiling `WHERE`
//! into a bitmap predicate, fetching rows and running the aggregate leaf.
//! A subquery in `WHERE` that references the table's rows cannot become a
//! bitmap; it is reported through [`QueryCtx`]'s `correlated_where` flag so
//! the caller filters the rows one by one instead.

use super::from::{Source, is_plain_filter, resolve_source};
use super::{EmptyScope, QueryCtx, run_query};
use crate::catalog;
use crate::exec::aggregate::{GroupBy, GroupValue, aggregate};
use crate::exec::convert::decode_int;
use crate::exec::filter::Pred;
use crate::exec::rows::{Fetch, fetch_rows};
use crate::index::{ColumnType, TagKind};
use crate::sql::aggregates::AggCall;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::predicate::{self, ColRef, PredContext, fold_ident};
use crate::sql::relation::{self, Column, Relation};
use crate::sql::scalar::{self, Scope};
use crate::sql::subquery::OuterFrame;
use crate::sql::types::{DataType, Datum};
use crate::storage::{ColumnSchema, TableSnapshot};
use sqlparser::ast::{Expr, OrderBy, Query, Select, SelectItem, SetExpr, Value};
use std::cell::Cell;
use std::sync::Arc;

/// Predicate compilation against one audience table.
pub(super) struct AudiencePredCtx<'a> {
    /// The query whose WHERE this is.
    pub(super) ctx: &'a QueryCtx<'a>,
    /// The audience table.
    pub(super) table: &'a TableSnapshot,
    /// Its name or alias in this query.
    pub(super) alias: &'a str,
}

impl AudiencePredCtx<'_> {
    /// The names a constant or a subquery of this WHERE sees: the
    /// enclosing queries' columns, and this table's columns as a correlated
    /// reference (which makes the caller filter the rows one by one).
    fn const_scope(&self) -> AudienceConstScope<'_> {
        AudienceConstScope {
            table: self.table,
            alias: self.alias,
            correlated: &self.ctx.correlated_where,
        }
    }
}

impl PredContext for AudiencePredCtx<'_> {
    fn table(&self) -> &TableSnapshot {
        self.table
    }

    fn qualifies(&self, qualifier: &str) -> bool {
        // An alias hides the table's own name, as in PostgreSQL.
        qualifier == self.alias
    }

    fn eval_const(&self, e: &Expr) -> SqlResult<(Datum, DataType)> {
        let b = self.ctx.bind(e, &self.const_scope())?;
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
        let scope = self.const_scope();
        let frame = OuterFrame::enclosing(&scope, self.ctx.outer);
        let nested = self.ctx.nested_in(Some(&frame))?;
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

    fn subquery_values(&self, q: &Query) -> SqlResult<(DataType, Vec<Datum>)> {
        let scope = self.const_scope();
        let frame = OuterFrame::enclosing(&scope, self.ctx.outer);
        let rel = run_query(&self.ctx.nested_in(Some(&frame))?, q)?;
        match rel.columns.as_slice() {
            [c] => Ok((c.ty, rel.rows.into_iter().flatten().collect())),
            [] => Err(SqlError::syntax("subquery must return a column")),
            _ => Err(SqlError::syntax("subquery has too many columns")),
        }
    }

    fn time_zone(&self) -> &crate::sql::timezone::TimeZone {
        &self.ctx.eval.timezone
    }

    fn bind_on_column(
        &self,
        e: &Expr,
        col: &ColumnSchema,
    ) -> SqlResult<Option<(scalar::BoundExpr, &scalar::EvalContext)>> {
        let scope = OneColumnScope {
            table: self.table,
            alias: self.alias,
            col,
        };
        Ok(Some((self.ctx.bind(e, &scope)?, self.ctx.eval)))
    }

    fn bind_rows(&self, e: &Expr, scope: &dyn Scope) -> SqlResult<Option<predicate::RowBinding>> {
        Ok(Some(predicate::RowBinding {
            expr: self.ctx.bind(e, scope)?,
            eval: self.ctx.eval.clone(),
            cancel: self.ctx.cancel.clone(),
        }))
    }
}

/// The scope of an expression evaluated once per distinct value of one
/// column (`per_value`): that column is input position 0; another column
/// of the table cannot be read (0A000).
struct OneColumnScope<'a> {
    table: &'a TableSnapshot,
    alias: &'a str,
    col: &'a ColumnSchema,
}

impl Scope for OneColumnScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        let ours = qualifier.is_none_or(|q| q == self.alias);
        if ours && name == self.col.name {
            return Ok((0, DataType::of_column(self.col.ty)));
        }
        if ours && audience_column(self.table, name).is_some() {
            return Err(SqlError::unsupported(format!(
                "a second column {name} in a per-value predicate"
            )));
        }
        EmptyScope.resolve(qualifier, name)
    }
}

/// Every visible column of the rows of `table` under `filter`, as a
/// relation (at most [`relation::RELATION_ROWS_MAX`] rows, 54000 beyond).
pub(super) fn audience_rows(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    filter: &Pred,
    select: &Select,
    order_by: Option<&OrderBy>,
) -> SqlResult<Relation> {
    let columns = row_columns(table, select, order_by);
    let filter = filter.clone().simplify().order_by_estimate(table);
    fetch_relation(ctx, table, &filter, &columns, 0, None)
}

/// The columns of `table` to read as rows for a query that runs on the
/// relational layer: the key and every visible column the query's clauses
/// name (anywhere, subqueries included: a superset is harmless), or all of
/// them when the select list has a wildcard. A wide audience table has
/// hundreds of tag columns; reading only the named ones keeps such a query
/// from fetching (and holding) every column of every row.
pub(crate) fn row_columns(
    table: &TableSnapshot,
    select: &Select,
    order_by: Option<&OrderBy>,
) -> Vec<(String, Fetch)> {
    use sqlparser::ast::Visit;
    use std::collections::HashSet;
    struct Names(HashSet<String>);
    impl sqlparser::ast::Visitor for Names {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            match e {
                Expr::Identifier(id) => {
                    self.0.insert(fold_ident(id));
                }
                Expr::CompoundIdentifier(parts) => {
                    self.0.extend(parts.iter().map(fold_ident));
                }
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let wildcard = select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    let mut names = Names(HashSet::new());
    let _ = select.visit(&mut names);
    if let Some(o) = order_by {
        let _ = o.visit(&mut names);
    }
    let schema = table.schema();
    let mut columns = vec![(schema.key_name.clone(), Fetch::Key)];
    for c in schema
        .columns
        .iter()
        .filter(|c| !catalog::is_hidden(&c.name))
        .filter(|c| wildcard || names.0.contains(&c.name))
    {
        columns.push((c.name.clone(), Fetch::Tag(c.id, c.ty)));
    }
    columns
}

/// The scope of constants in an audience WHERE: no columns, but a
/// subquery that references the audience table's columns gets 0A000
/// (bitmap filters cannot run a subquery per row) and sets `correlated`,
/// the `correlated_where` flag of the query whose WHERE this is, which
/// tells `run_select` to filter the table's rows one by one instead.
struct AudienceConstScope<'a> {
    table: &'a TableSnapshot,
    alias: &'a str,
    correlated: &'a Cell<bool>,
}

impl Scope for AudienceConstScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        let ours = qualifier.is_none_or(|q| q == self.alias);
        if ours && audience_column(self.table, name).is_some() {
            self.correlated.set(true);
            return Err(SqlError::unsupported(format!(
                "a subquery that references the audience table's column {name} in WHERE"
            )));
        }
        EmptyScope.resolve(qualifier, name)
    }
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
