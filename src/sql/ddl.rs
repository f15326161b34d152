//! Data definition: tables, columns, views, materialized views, comments.

mod drop;
mod target;

pub use drop::drop;

use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::fold_ident;
use super::read_only;
use super::select::{QueryCtx, table_name};
use crate::catalog::{self, Catalog, ViewDef};
use crate::exec::filter::{Pred, ShardEval};
use crate::exec::pool::map_shards_pooled;
use crate::index::{ColumnType, KeyType};
use crate::storage::{Store, WriteBatch, WriteOp};
use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, CommentObject, CreateTable, CreateView,
    DataType as AstType, ExactNumberInfo, ObjectName, Query, SetExpr, TableConstraint,
    TimezoneInfo,
};
use std::sync::Arc;

/// The stored column type of a declared SQL type.
pub fn column_type(t: &AstType) -> SqlResult<ColumnType> {
    use AstType as T;
    Ok(match t {
        T::Boolean | T::Bool => ColumnType::Boolean,
        T::Text
        | T::String(_)
        | T::Varchar(_)
        | T::CharacterVarying(_)
        | T::Char(_)
        | T::Character(_) => ColumnType::Text,
        T::SmallInt(_) | T::Int2(_) => ColumnType::SmallInt,
        T::Int(_) | T::Integer(_) | T::Int4(_) => ColumnType::Int,
        T::BigInt(_) | T::Int8(_) => ColumnType::BigInt,
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => match info {
            ExactNumberInfo::PrecisionAndScale(p, s)
                if *p >= 1 && *p <= 18 && *s >= 0 && (*s as u64) <= *p =>
            {
                ColumnType::Numeric {
                    precision: *p as u8,
                    scale: *s as u8,
                }
            }
            ExactNumberInfo::Precision(p) if *p >= 1 && *p <= 18 => ColumnType::Numeric {
                precision: *p as u8,
                scale: 0,
            },
            _ => {
                return Err(SqlError::unsupported(format!(
                    "{t}: declare NUMERIC(p,s) with p ≤ 18"
                ))
                .with_hint(
                    "audb stores NUMERIC as a scaled 64-bit integer in a bit-sliced index",
                ));
            }
        },
        T::Real | T::Float4 => ColumnType::Real,
        T::DoublePrecision | T::Float8 | T::Double(_) | T::Float(_) => ColumnType::Double,
        T::Date => ColumnType::Date,
        T::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => ColumnType::TimestampTz,
        T::Timestamp(_, _) => ColumnType::Timestamp,
        T::Array(inner) => {
            let elem = match inner {
                sqlparser::ast::ArrayElemTypeDef::SquareBracket(e, _) => Some(e.as_ref()),
                sqlparser::ast::ArrayElemTypeDef::AngleBracket(e) => Some(e.as_ref()),
                sqlparser::ast::ArrayElemTypeDef::Parenthesis(e) => Some(e.as_ref()),
                _ => None,
            };
            match elem.map(column_type) {
                Some(Ok(ColumnType::Text)) => ColumnType::TextArray,
                Some(Err(e)) if e.state == SqlState::UndefinedObject => return Err(e),
                _ => {
                    return Err(SqlError::unsupported(format!(
                        "the array type {t} (only TEXT[] is)"
                    )));
                }
            }
        }
        T::Custom(name, _) if name.to_string().eq_ignore_ascii_case("event") => {
            return Err(SqlError::unsupported(
                "the EVENT type (behaviour tags are not built yet)",
            ));
        }
        other => {
            return Err(super::pg_types::unsupported_type(
                other,
                format!("the type {other}"),
            ));
        }
    })
}

fn key_type(t: &AstType) -> SqlResult<KeyType> {
    match column_type(t) {
        Ok(ColumnType::Text) => Ok(KeyType::Text),
        Ok(ColumnType::BigInt | ColumnType::Int | ColumnType::SmallInt) => Ok(KeyType::BigInt),
        _ => Err(SqlError::unsupported(format!(
            "a PRIMARY KEY of type {t} (use TEXT or BIGINT)"
        ))),
    }
}

fn check_options(c: &ColumnDef) -> SqlResult<bool> {
    let mut primary = false;
    for o in &c.options {
        match &o.option {
            ColumnOption::Null => {}
            ColumnOption::NotNull => {}
            ColumnOption::PrimaryKey(_) => primary = true,
            other => {
                return Err(SqlError::unsupported(format!(
                    "the column constraint {other}"
                )));
            }
        }
    }
    Ok(primary)
}

/// Whether a name is reserved for hidden columns.
fn check_name(name: &str) -> SqlResult<()> {
    if catalog::is_hidden(name) {
        return Err(SqlError::new(
            SqlState::InvalidTableDefinition,
            format!(
                "names starting with \"{}\" are reserved",
                catalog::HIDDEN_PREFIX
            ),
        ));
    }
    Ok(())
}

/// `CREATE TABLE`.
pub fn create_table(store: &Store, ct: &CreateTable) -> SqlResult<String> {
    if ct.query.is_some() {
        return Err(SqlError::unsupported("CREATE TABLE AS"));
    }
    if ct.temporary || ct.external || ct.or_replace {
        return Err(SqlError::unsupported(
            "TEMPORARY, EXTERNAL and OR REPLACE tables",
        ));
    }
    let (schema, name) = table_name(&ct.name)?;
    let schema = schema.as_deref();
    target::check_schema(schema)?;
    let snapshot = store.snapshot();
    if ct.if_not_exists && target::exists(&snapshot, schema, &name) {
        return Ok("CREATE TABLE".into());
    }
    check_name(&name)?;
    let mut key: Option<(String, KeyType)> = None;
    let mut table_pk: Option<String> = None;
    for c in &ct.constraints {
        match c {
            TableConstraint::PrimaryKey(pk) => {
                let [col] = pk.columns.as_slice() else {
                    return Err(SqlError::unsupported("a multi-column PRIMARY KEY"));
                };
                match &col.column.expr {
                    sqlparser::ast::Expr::Identifier(id) => table_pk = Some(fold_ident(id)),
                    other => {
                        return Err(SqlError::syntax(format!("bad PRIMARY KEY column {other}")));
                    }
                }
            }
            other => {
                return Err(SqlError::unsupported(format!(
                    "the table constraint {other}"
                )));
            }
        }
    }
    let mut columns: Vec<(String, ColumnType)> = Vec::new();
    for c in &ct.columns {
        let col_name = fold_ident(&c.name);
        check_name(&col_name)?;
        let primary = check_options(c)? || table_pk.as_deref() == Some(col_name.as_str());
        if primary {
            if key.is_some() {
                return Err(SqlError::new(
                    SqlState::InvalidTableDefinition,
                    format!("multiple primary keys for table \"{name}\" are not allowed"),
                ));
            }
            key = Some((col_name, key_type(&c.data_type)?));
        } else {
            if columns.iter().any(|(n, _)| *n == col_name) {
                return Err(SqlError::new(
                    SqlState::DuplicateColumn,
                    format!("column \"{col_name}\" specified more than once"),
                ));
            }
            columns.push((col_name, column_type(&c.data_type)?));
        }
    }
    // PostgreSQL checks the name and the schema's permission after the
    // column definitions.
    target::check_new(&snapshot, schema, &name)?;
    target::check_permission(schema, &name)?;
    let Some((key_name, key_type)) = key else {
        return Err(SqlError::new(
            SqlState::InvalidTableDefinition,
            format!(
                "table \"{name}\" needs a PRIMARY KEY column (TEXT or BIGINT): the person's id"
            ),
        ));
    };
    if columns.iter().any(|(n, _)| *n == key_name) {
        return Err(SqlError::new(
            SqlState::DuplicateColumn,
            format!("column \"{key_name}\" specified more than once"),
        ));
    }
    store.create_table_with_columns(&name, &key_name, key_type, &columns)?;
    Ok("CREATE TABLE".into())
}

/// `ALTER TABLE`.
pub fn alter_table(
    store: &Store,
    name: &ObjectName,
    if_exists: bool,
    ops: &[AlterTableOperation],
) -> SqlResult<String> {
    let (schema, table) = table_name(name)?;
    for op in ops {
        let snapshot = store.snapshot();
        let t = match drop::existing(&snapshot, schema.as_deref(), &table) {
            Ok(drop::Kind::Table) => snapshot.table(&table),
            Ok(_) => None,
            Err(e)
                if if_exists
                    && matches!(
                        e.state,
                        SqlState::UndefinedTable | SqlState::InvalidSchemaName
                    ) =>
            {
                return Ok("ALTER TABLE".into());
            }
            Err(e) => return Err(e),
        };
        let Some(t) = t else {
            return Err(SqlError::new(
                SqlState::WrongObjectType,
                format!("\"{table}\" is not a table"),
            ));
        };
        let schema = t.schema();
        match op {
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                ..
            } => {
                let col = fold_ident(&column_def.name);
                check_name(&col)?;
                if check_options(column_def)? {
                    return Err(SqlError::unsupported("adding a PRIMARY KEY column"));
                }
                if schema.column(&col).is_some() || col == schema.key_name {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(SqlError::new(
                        SqlState::DuplicateColumn,
                        format!("column \"{col}\" of relation \"{table}\" already exists"),
                    ));
                }
                store.add_column(schema.id, &col, column_type(&column_def.data_type)?)?;
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for c in column_names {
                    let col = fold_ident(c);
                    if col == schema.key_name {
                        return Err(SqlError::unsupported("dropping the key column"));
                    }
                    match schema.column(&col).filter(|c| !catalog::is_hidden(&c.name)) {
                        Some(c) => {
                            store.drop_column(schema.id, c.id)?;
                            catalog::put_comment(store, &table, Some(&col), None)?;
                        }
                        None if *if_exists => {}
                        None => {
                            return Err(SqlError::new(
                                SqlState::UndefinedColumn,
                                format!("column \"{col}\" of relation \"{table}\" does not exist"),
                            ));
                        }
                    }
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let old = fold_ident(old_column_name);
                let new = fold_ident(new_column_name);
                check_name(&new)?;
                if old == schema.key_name {
                    return Err(SqlError::unsupported("renaming the key column"));
                }
                let Some(c) = schema.column(&old).filter(|c| !catalog::is_hidden(&c.name)) else {
                    return Err(SqlError::new(
                        SqlState::UndefinedColumn,
                        format!("column \"{old}\" does not exist"),
                    ));
                };
                store.rename_column(schema.id, c.id, &new)?;
            }
            AlterTableOperation::RenameTable { table_name: target } => {
                let target = match target {
                    sqlparser::ast::RenameTableNameKind::As(n)
                    | sqlparser::ast::RenameTableNameKind::To(n) => n,
                };
                let (_, new_name) = table_name(target)?;
                check_name(&new_name)?;
                if Catalog::new(&snapshot).view(&new_name).is_some() {
                    return Err(SqlError::new(
                        SqlState::DuplicateTable,
                        format!("relation \"{new_name}\" already exists"),
                    ));
                }
                store.rename_table(schema.id, &new_name)?;
            }
            other => return Err(SqlError::unsupported(format!("ALTER TABLE … {other}"))),
        }
    }
    Ok("ALTER TABLE".into())
}

/// `COMMENT ON TABLE | COLUMN | VIEW | MATERIALIZED VIEW`.
pub fn comment(
    store: &Store,
    object: &CommentObject,
    name: &ObjectName,
    text: Option<&str>,
) -> SqlResult<String> {
    let snapshot = store.snapshot();
    let parts: Vec<String> = name.0.iter().map(fold_ident_part).collect();
    match object {
        CommentObject::Table | CommentObject::View | CommentObject::MaterializedView => {
            let (schema, t) = table_name(name)?;
            drop::existing(&snapshot, schema.as_deref(), &t)?;
            catalog::put_comment(store, &t, None, text)?;
        }
        CommentObject::Column => {
            let (t, c) = match parts.as_slice() {
                [.., t, c] => (t.clone(), c.clone()),
                _ => return Err(SqlError::syntax("column name must be qualified")),
            };
            let Some(table) = snapshot.table(&t) else {
                return Err(SqlError::new(
                    SqlState::UndefinedTable,
                    format!("relation \"{t}\" does not exist"),
                ));
            };
            if table.schema().key_name != c && table.schema().column(&c).is_none() {
                return Err(SqlError::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{c}\" of relation \"{t}\" does not exist"),
                ));
            }
            catalog::put_comment(store, &t, Some(&c), text)?;
        }
        other => return Err(SqlError::unsupported(format!("COMMENT ON {other}"))),
    }
    Ok("COMMENT".into())
}

fn fold_ident_part(p: &sqlparser::ast::ObjectNamePart) -> String {
    match p {
        sqlparser::ast::ObjectNamePart::Identifier(id) => fold_ident(id),
        sqlparser::ast::ObjectNamePart::Function(f) => f.name.value.clone(),
    }
}

/// `CREATE [MATERIALIZED] VIEW`. The query runs once to validate it.
pub fn create_view(store: &Store, ctx: &QueryCtx<'_>, cv: &CreateView) -> SqlResult<String> {
    let (schema_name, name) = table_name(&cv.name)?;
    let schema = schema_name.as_deref();
    target::check_schema(schema)?;
    let tag = if cv.materialized {
        "CREATE MATERIALIZED VIEW"
    } else {
        "CREATE VIEW"
    };
    let snapshot = store.snapshot();
    let exists = target::exists(&snapshot, schema, &name);
    if exists && !cv.or_replace && cv.if_not_exists {
        return Ok(tag.into());
    }
    check_name(&name)?;
    if !cv.columns.is_empty() {
        return Err(SqlError::unsupported("column lists in CREATE VIEW"));
    }
    // PostgreSQL analyses the query before it looks at the name.
    super::select::run_query(ctx, &cv.query)?;
    if exists && (!cv.or_replace || !read_only::is_user_schema(schema)) {
        target::check_new(&snapshot, schema, &name)?;
    }
    target::check_permission(schema, &name)?;
    let sql = cv.query.to_string();
    if cv.materialized {
        let (base, filter) = materializable(ctx, &cv.query)?;
        let Some(table) = snapshot.table(&base) else {
            return Err(SqlError::internal("base table vanished"));
        };
        let col_name = catalog::mv_column(&name);
        let col = match table.schema().column(&col_name) {
            Some(c) => c.id,
            None => store.add_column(table.schema().id, &col_name, ColumnType::Boolean)?,
        };
        let def = ViewDef {
            name: name.clone(),
            sql,
            materialized: true,
            base_table: Some(base.clone()),
        };
        refresh_members(store, ctx, &base, col, &filter)?;
        catalog::put_view(store, &name, Some(&def))?;
    } else {
        let def = ViewDef {
            name: name.clone(),
            sql,
            materialized: false,
            base_table: None,
        };
        catalog::put_view(store, &name, Some(&def))?;
    }
    Ok(tag.into())
}

/// The base table and filter of a materializable view query: a plain
/// filter on an audience table.
fn materializable(ctx: &QueryCtx<'_>, q: &Query) -> SqlResult<(String, Pred)> {
    let unsupported = || {
        SqlError::unsupported(
            "materialized views other than SELECT … FROM <audience table> WHERE …",
        )
        .with_hint("a materialized view is a stored audience: a bitmap of the table's rows")
    };
    let SetExpr::Select(s) = q.body.as_ref() else {
        return Err(unsupported());
    };
    if q.order_by.is_some()
        || q.limit_clause.is_some()
        || s.from.len() != 1
        || !s.from[0].joins.is_empty()
    {
        return Err(unsupported());
    }
    let sqlparser::ast::TableFactor::Table { name, alias, .. } = &s.from[0].relation else {
        return Err(unsupported());
    };
    let (_, base) = table_name(name)?;
    let Some(table) = ctx.snapshot.table(&base) else {
        return Err(unsupported());
    };
    if super::aggregates::has_aggregate(&sqlparser::ast::Expr::Tuple(
        s.projection
            .iter()
            .filter_map(|p| match p {
                sqlparser::ast::SelectItem::UnnamedExpr(e)
                | sqlparser::ast::SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
                _ => None,
            })
            .collect(),
    )) || !matches!(&s.group_by, sqlparser::ast::GroupByExpr::Expressions(g, _) if g.is_empty())
    {
        return Err(unsupported());
    }
    let alias = alias
        .as_ref()
        .map(|a| fold_ident(&a.name))
        .unwrap_or_else(|| base.clone());
    let pred = super::select::where_pred(
        ctx,
        &table,
        &alias,
        Pred::Const(Some(true)),
        s.selection.as_ref(),
    )?;
    Ok((base, pred))
}

/// Sets the hidden membership column `col` of `base` to the rows of `filter`.
fn refresh_members(
    store: &Store,
    ctx: &QueryCtx<'_>,
    base: &str,
    col: u32,
    filter: &Pred,
) -> SqlResult<u64> {
    let snapshot = store.snapshot();
    let Some(table) = snapshot.table(base) else {
        return Err(SqlError::new(
            SqlState::UndefinedTable,
            format!("relation \"{base}\" does not exist"),
        ));
    };
    let job = Arc::new((table.clone(), filter.clone()));
    let parts = map_shards_pooled(table.shard_count(), ctx.cancel, move |shard| {
        let (table, filter) = job.as_ref();
        let members = ShardEval::new(table, shard)?.eval_true(filter)?;
        let old = table.bitmap(col, crate::storage::ColumnRead::True, shard)?;
        let left = old.as_ref() - &members;
        Ok((members, left))
    })?;
    let mut members = roaring::RoaringBitmap::new();
    let mut left = roaring::RoaringBitmap::new();
    for (m, l) in parts {
        members |= m;
        left |= l;
    }
    let n = members.len();
    store.write(WriteBatch {
        table: table.schema().id,
        ops: vec![
            WriteOp::SetRows {
                rows: left,
                column: col,
                value: None,
            },
            WriteOp::SetRows {
                rows: members,
                column: col,
                value: Some(crate::index::Value::Bool(true)),
            },
        ],
    })?;
    Ok(n)
}

/// `REFRESH MATERIALIZED VIEW`.
pub fn refresh(store: &Store, ctx: &QueryCtx<'_>, name: &ObjectName) -> SqlResult<String> {
    let (schema, name) = table_name(name)?;
    let snapshot = store.snapshot();
    // PostgreSQL's answers: a table is 0A000, a view 42809.
    match drop::existing(&snapshot, schema.as_deref(), &name)? {
        drop::Kind::Table => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("\"{name}\" is not a materialized view"),
            ));
        }
        drop::Kind::View => {
            return Err(SqlError::new(
                SqlState::WrongObjectType,
                format!("\"{name}\" is not a table or materialized view"),
            ));
        }
        _ => {}
    }
    let Some(view) = Catalog::new(&snapshot)
        .view(&name)
        .filter(|v| v.materialized)
    else {
        return Err(SqlError::internal(format!(
            "materialized view \"{name}\" vanished"
        )));
    };
    let stmts = super::parse(&view.sql)?;
    let Some(sqlparser::ast::Statement::Query(q)) = stmts.first() else {
        return Err(SqlError::internal("materialized view without a query"));
    };
    let (base, filter) = materializable(ctx, q)?;
    let table = snapshot.table(&base).ok_or_else(|| {
        SqlError::new(
            SqlState::UndefinedTable,
            format!("relation \"{base}\" does not exist"),
        )
    })?;
    let col = table
        .schema()
        .column(&catalog::mv_column(&name))
        .map(|c| c.id)
        .ok_or_else(|| SqlError::internal("materialized view column missing"))?;
    refresh_members(store, ctx, &base, col, &filter)?;
    Ok("REFRESH MATERIALIZED VIEW".into())
}
