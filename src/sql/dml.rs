//! Data manipulation: INSERT (upsert by key), UPDATE and DELETE as bitmap
//! operations, TRUNCATE.
//!
//! `INSERT` on an existing key updates the listed columns of that row and
//! keeps the others (audb tables are tag stores: loading a tag for a known
//! person adds it). `ON CONFLICT (key) DO NOTHING` and `DO UPDATE SET col =
//! EXCLUDED.col` behave as in PostgreSQL. `UPDATE … SET col = constant
//! WHERE …` is one bitmap operation per column, never a row loop.

use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::fold_ident;
use super::read_only;
use super::scalar;
use super::select::{EmptyScope, QueryCtx, run_query, table_name, where_pred};
use super::types::{DataType, Datum};
use crate::exec::convert::{encode_key, encode_value};
use crate::exec::filter::Pred;
use crate::exec::rows::select_shards;
use crate::storage::{ColumnId, Store, TableSnapshot, UpsertMode, WriteBatch, WriteOp};
use sqlparser::ast::{
    Assignment, AssignmentTarget, Delete, Expr, FromTable, Insert, ObjectName, OnConflictAction,
    OnInsert, SetExpr, TableFactor, TableObject, Update,
};
use std::collections::HashSet;

mod update_expr;

/// Rows per write batch of a multi-row INSERT: one WAL record each, so a
/// huge VALUES list does not become one huge record.
const INSERT_BATCH_ROWS: usize = 10_000;

/// The audience table a write goes to: 42809 for a view, 42501 for a
/// system relation, 42P01 for anything else that is not a table.
fn table_of(ctx: &QueryCtx<'_>, name: &ObjectName) -> SqlResult<TableSnapshot> {
    let (schema, t) = table_name(name)?;
    let schema = schema.as_deref();
    if read_only::is_user_schema(schema) {
        if let Some(table) = ctx.snapshot.table(&t) {
            return Ok(table);
        }
        if crate::catalog::Catalog::new(ctx.snapshot)
            .view(&t)
            .is_some()
        {
            return Err(SqlError::new(
                SqlState::WrongObjectType,
                format!("cannot change view \"{t}\""),
            ));
        }
    }
    read_only::refuse_system_relation(schema, &t)?;
    Err(SqlError::new(
        SqlState::UndefinedTable,
        format!(
            "relation \"{}\" does not exist",
            read_only::qualified(schema, &t)
        ),
    ))
}

/// A target column of a write: the key or a tag.
enum Target {
    Key,
    Tag(ColumnId, crate::index::ColumnType, String),
}

fn target(table: &TableSnapshot, name: &str) -> SqlResult<Target> {
    let schema = table.schema();
    if name == schema.key_name {
        return Ok(Target::Key);
    }
    match schema
        .column(name)
        .filter(|c| !crate::catalog::is_hidden(&c.name))
    {
        Some(c) => Ok(Target::Tag(c.id, c.ty, c.name.clone())),
        None => Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!(
                "column \"{name}\" of relation \"{}\" does not exist",
                schema.name
            ),
        )),
    }
}

fn key_data_type(table: &TableSnapshot) -> DataType {
    match table.schema().key_type {
        crate::index::KeyType::BigInt => DataType::Int8,
        crate::index::KeyType::Text => DataType::Text,
    }
}

/// `INSERT INTO t [(cols)] VALUES … [ON CONFLICT …]`.
pub fn insert(store: &Store, ctx: &QueryCtx<'_>, ins: &Insert) -> SqlResult<String> {
    if ins.returning.is_some() {
        return Err(SqlError::unsupported("RETURNING"));
    }
    let TableObject::TableName(name) = &ins.table else {
        return Err(SqlError::unsupported("INSERT INTO a table function"));
    };
    let table = table_of(ctx, name)?;
    let schema = table.schema();
    let columns: Vec<String> = if ins.columns.is_empty() {
        std::iter::once(schema.key_name.clone())
            .chain(
                schema
                    .columns
                    .iter()
                    .filter(|c| !crate::catalog::is_hidden(&c.name))
                    .map(|c| c.name.clone()),
            )
            .collect()
    } else {
        ins.columns
            .iter()
            .map(|c| match c.0.last() {
                Some(sqlparser::ast::ObjectNamePart::Identifier(id)) => Ok(fold_ident(id)),
                _ => Err(SqlError::syntax(format!("bad column name {c}"))),
            })
            .collect::<SqlResult<_>>()?
    };
    let targets = columns
        .iter()
        .map(|c| target(&table, c))
        .collect::<SqlResult<Vec<_>>>()?;
    let key_pos = targets
        .iter()
        .position(|t| matches!(t, Target::Key))
        .ok_or_else(|| {
            SqlError::new(
                SqlState::NotNullViolation,
                format!(
                    "null value in column \"{}\" violates not-null constraint",
                    schema.key_name
                ),
            )
        })?;
    let mut seen = HashSet::new();
    for c in &columns {
        if !seen.insert(c) {
            return Err(SqlError::new(
                SqlState::DuplicateColumn,
                format!("column \"{c}\" specified more than once"),
            ));
        }
    }
    // ON CONFLICT: DO NOTHING, or DO UPDATE SET col = EXCLUDED.col.
    let (mode, update_cols): (UpsertMode, Option<Vec<String>>) = match &ins.on {
        None => (UpsertMode::Upsert, None),
        Some(OnInsert::OnConflict(oc)) => match &oc.action {
            OnConflictAction::DoNothing => (UpsertMode::InsertOrIgnore, None),
            OnConflictAction::DoUpdate(du) => {
                if du.selection.is_some() {
                    return Err(SqlError::unsupported("ON CONFLICT DO UPDATE … WHERE"));
                }
                let mut cols = Vec::new();
                for a in &du.assignments {
                    let col = assignment_column(a)?;
                    let excluded = match &a.value {
                        Expr::CompoundIdentifier(p)
                            if p.len() == 2 && fold_ident(&p[0]) == "excluded" =>
                        {
                            fold_ident(&p[1])
                        }
                        _ => {
                            return Err(SqlError::unsupported(
                                "ON CONFLICT DO UPDATE SET col = <anything but EXCLUDED.col>",
                            ));
                        }
                    };
                    if excluded != col {
                        return Err(SqlError::unsupported(
                            "ON CONFLICT DO UPDATE SET a = EXCLUDED.b",
                        ));
                    }
                    if !columns.contains(&col) {
                        return Err(SqlError::new(
                            SqlState::UndefinedColumn,
                            format!("column excluded.{col} is not inserted"),
                        ));
                    }
                    cols.push(col);
                }
                (UpsertMode::Upsert, Some(cols))
            }
        },
        Some(_) => return Err(SqlError::unsupported("ON DUPLICATE KEY UPDATE")),
    };
    let Some(source) = &ins.source else {
        return Err(SqlError::unsupported("INSERT without VALUES"));
    };
    let types: Vec<DataType> = targets
        .iter()
        .map(|t| match t {
            Target::Key => key_data_type(&table),
            Target::Tag(_, ty, _) => DataType::of_column(*ty),
        })
        .collect();
    let rows = match source.body.as_ref() {
        SetExpr::Values(values) if source.order_by.is_none() && source.limit_clause.is_none() => {
            values_rows(ctx, values, &columns, &types)?
        }
        _ => select_rows(ctx, source, &columns, &types)?,
    };
    let mut ops = Vec::with_capacity(rows.len());
    let mut keys_seen = HashSet::new();
    let mut total = 0u64;
    for row in rows {
        let mut key = None;
        let mut vals = Vec::with_capacity(targets.len());
        for (d, t) in row.into_iter().zip(&targets) {
            match t {
                Target::Key => key = Some(encode_key(&d, schema.key_type, &schema.key_name)?),
                Target::Tag(id, ty, name) => {
                    vals.push((*id, encode_value(&d, *ty, name)?, name.clone()))
                }
            }
        }
        let Some(key) = key else {
            return Err(SqlError::internal(format!("no key at position {key_pos}")));
        };
        if update_cols.is_some() && !keys_seen.insert(key.clone()) {
            return Err(SqlError::new(
                SqlState::CardinalityViolation,
                "ON CONFLICT DO UPDATE command cannot affect row a second time",
            )
            .with_hint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values."));
        }
        match &update_cols {
            Some(cols) if cols.len() + 1 != targets.len() => {
                // New rows get every listed column, existing rows only the SET ones.
                ops.push(WriteOp::Upsert {
                    key: key.clone(),
                    values: vals.iter().map(|(id, v, _)| (*id, v.clone())).collect(),
                    mode: UpsertMode::InsertOrIgnore,
                });
                ops.push(WriteOp::Upsert {
                    key,
                    values: vals
                        .into_iter()
                        .filter(|(_, _, n)| cols.contains(n))
                        .map(|(id, v, _)| (id, v))
                        .collect(),
                    mode: UpsertMode::Update,
                });
            }
            _ => ops.push(WriteOp::Upsert {
                key,
                values: vals.into_iter().map(|(id, v, _)| (id, v)).collect(),
                mode,
            }),
        }
    }
    // One atomic batch per statement unless it is very large.
    let per_row = if matches!(&update_cols, Some(c) if c.len() + 1 != targets.len()) {
        2
    } else {
        1
    };
    if ctx.dry_run {
        return Ok("INSERT 0 0".into());
    }
    for chunk in ops.chunks(INSERT_BATCH_ROWS * per_row) {
        let s = store.write(WriteBatch {
            table: schema.id,
            ops: chunk.to_vec(),
        })?;
        // With the insert/update pairs every affected row counts one update.
        total += if per_row == 2 {
            s.updated
        } else {
            s.inserted + s.updated
        };
    }
    Ok(format!("INSERT 0 {total}"))
}

/// 42601 when a row has more or fewer values than target columns.
fn check_width(values: usize, targets: usize) -> SqlResult<()> {
    if values == targets {
        return Ok(());
    }
    Err(SqlError::syntax(if values > targets {
        "INSERT has more expressions than target columns"
    } else {
        "INSERT has more target columns than expressions"
    }))
}

/// The rows of `VALUES`, each expression bound as an assignment to its
/// column (untyped literals parse as the column's type). Nothing is
/// evaluated in a dry run.
fn values_rows(
    ctx: &QueryCtx<'_>,
    values: &sqlparser::ast::Values,
    columns: &[String],
    types: &[DataType],
) -> SqlResult<Vec<Vec<Datum>>> {
    let mut rows = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        check_width(row.content.len(), types.len())?;
        let mut out = Vec::with_capacity(types.len());
        for ((e, ty), name) in row.content.iter().zip(types).zip(columns) {
            let mut params = ctx.params.borrow().clone();
            let b =
                scalar::bind_assign_with(e, &EmptyScope, &mut params, *ty, Some(name), Some(ctx));
            *ctx.params.borrow_mut() = params;
            let b = b?;
            if !ctx.dry_run {
                out.push(scalar::eval(&b, &[], ctx.eval)?);
            }
        }
        if !ctx.dry_run {
            rows.push(out);
        }
    }
    Ok(rows)
}

/// The rows of `INSERT … SELECT`: the query's columns converted to the
/// target columns' types with assignment casts (42804 where PostgreSQL has
/// none, e.g. text into integer).
fn select_rows(
    ctx: &QueryCtx<'_>,
    source: &sqlparser::ast::Query,
    columns: &[String],
    types: &[DataType],
) -> SqlResult<Vec<Vec<Datum>>> {
    let rel = run_query(&ctx.nested()?, source)?;
    check_width(rel.columns.len(), types.len())?;
    for ((c, ty), name) in rel.columns.iter().zip(types).zip(columns) {
        if c.ty != *ty && !scalar::can_coerce(c.ty, *ty, scalar::CoercionKind::Assignment) {
            return Err(SqlError::mismatch(format!(
                "column \"{name}\" is of type {} but expression is of type {}",
                ty.name(),
                c.ty.name()
            ))
            .with_hint("You will need to rewrite or cast the expression."));
        }
    }
    let mut rows = Vec::with_capacity(rel.rows.len());
    for (i, row) in rel.rows.into_iter().enumerate() {
        if i % 1024 == 0 {
            ctx.cancel.check()?;
        }
        let mut out = Vec::with_capacity(types.len());
        for ((d, c), ty) in row.into_iter().zip(&rel.columns).zip(types) {
            out.push(if c.ty == *ty {
                d
            } else {
                scalar::cast(d, c.ty, *ty, ctx.eval)?
            });
        }
        rows.push(out);
    }
    Ok(rows)
}

fn assignment_column(a: &Assignment) -> SqlResult<String> {
    match &a.target {
        AssignmentTarget::ColumnName(n) => match n.0.last() {
            Some(sqlparser::ast::ObjectNamePart::Identifier(id)) => Ok(fold_ident(id)),
            _ => Err(SqlError::syntax(format!("bad column {n}"))),
        },
        AssignmentTarget::Tuple(_) => Err(SqlError::unsupported("SET (a, b) = …")),
    }
}

/// The live rows where `filter` is TRUE, selected shard by shard on the
/// worker pool; a cancel or timeout stops it before anything is written.
fn matching_rows(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    filter: &Pred,
) -> SqlResult<roaring::RoaringBitmap> {
    let mut rows = roaring::RoaringBitmap::new();
    for p in select_shards(table, filter, ctx.cancel)? {
        rows |= p;
    }
    Ok(rows)
}

fn single_table(
    from: &[sqlparser::ast::TableWithJoins],
) -> SqlResult<(ObjectName, Option<String>)> {
    match from {
        [t] if t.joins.is_empty() => match &t.relation {
            TableFactor::Table { name, alias, .. } => {
                Ok((name.clone(), alias.as_ref().map(|a| fold_ident(&a.name))))
            }
            _ => Err(SqlError::unsupported("this target table")),
        },
        _ => Err(SqlError::unsupported("joins in UPDATE and DELETE")),
    }
}

/// `UPDATE t SET col = constant [, …] WHERE …`.
pub fn update(store: &Store, ctx: &QueryCtx<'_>, up: &Update) -> SqlResult<String> {
    if up.returning.is_some() || up.from.is_some() || up.limit.is_some() {
        return Err(SqlError::unsupported(
            "UPDATE with RETURNING, FROM or LIMIT",
        ));
    }
    let (name, alias) = single_table(std::slice::from_ref(&up.table))?;
    let table = table_of(ctx, &name)?;
    let schema = table.schema();
    let mut sets = Vec::new();
    for a in &up.assignments {
        let col = assignment_column(a)?;
        match target(&table, &col)? {
            Target::Key => return Err(SqlError::unsupported("updating the key column")),
            Target::Tag(id, ty, n) => {
                let b = scalar::bind_as(
                    &a.value,
                    &EmptyScope,
                    &mut ctx.params.borrow_mut(),
                    DataType::of_column(ty),
                );
                let b = match b {
                    // An expression of columns or with a subquery: see `update_expr`.
                    Err(e)
                        if matches!(
                            e.state,
                            SqlState::UndefinedColumn | SqlState::FeatureNotSupported
                        ) =>
                    {
                        return update_expr::update(store, ctx, up, &table, alias.as_deref());
                    }
                    b => b?,
                };
                if ctx.dry_run {
                    continue;
                }
                let d = scalar::eval(&b, &[], ctx.eval)?;
                sets.push((id, encode_value(&d, ty, &n)?));
            }
        }
    }
    let alias = alias.unwrap_or_else(|| schema.name.clone());
    let filter = where_pred(
        ctx,
        &table,
        &alias,
        Pred::Const(Some(true)),
        up.selection.as_ref(),
    )?;
    if ctx.dry_run {
        return Ok("UPDATE 0".into());
    }
    let rows = matching_rows(ctx, &table, &filter)?;
    let n = rows.len();
    if n > 0 {
        let ops = sets
            .into_iter()
            .map(|(column, value)| WriteOp::SetRows {
                rows: rows.clone(),
                column,
                value,
            })
            .collect();
        store.write(WriteBatch {
            table: schema.id,
            ops,
        })?;
    }
    Ok(format!("UPDATE {n}"))
}

/// `DELETE FROM t WHERE …`.
pub fn delete(store: &Store, ctx: &QueryCtx<'_>, del: &Delete) -> SqlResult<String> {
    if del.returning.is_some()
        || del.using.is_some()
        || del.limit.is_some()
        || !del.tables.is_empty()
    {
        return Err(SqlError::unsupported(
            "DELETE with RETURNING, USING or LIMIT",
        ));
    }
    let from = match &del.from {
        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
    };
    let (name, alias) = single_table(from)?;
    let table = table_of(ctx, &name)?;
    let alias = alias.unwrap_or_else(|| table.schema().name.clone());
    let filter = where_pred(
        ctx,
        &table,
        &alias,
        Pred::Const(Some(true)),
        del.selection.as_ref(),
    )?;
    let rows = matching_rows(ctx, &table, &filter)?;
    let n = rows.len();
    if n > 0 {
        store.write(WriteBatch {
            table: table.schema().id,
            ops: vec![WriteOp::DeleteRows { rows }],
        })?;
    }
    Ok(format!("DELETE {n}"))
}

/// `TRUNCATE t [, …]`.
pub fn truncate(store: &Store, ctx: &QueryCtx<'_>, names: &[ObjectName]) -> SqlResult<String> {
    for n in names {
        let table = table_of(ctx, n)?;
        let rows = table.live_all()?;
        if !rows.is_empty() {
            store.write(WriteBatch {
                table: table.schema().id,
                ops: vec![WriteOp::DeleteRows { rows }],
            })?;
        }
    }
    Ok("TRUNCATE TABLE".into())
}
