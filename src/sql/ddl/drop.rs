//! `DROP TABLE | VIEW | MATERIALIZED VIEW` and what a relation name refers
//! to, with PostgreSQL's errors in PostgreSQL's order: a schema that does
//! not exist (3F000), the wrong kind of object (42809, system relations
//! included: `pg_class` is a table, `pg_tables` a view), a system relation
//! (42501) and a missing one (42P01).

use crate::catalog::{self, Catalog};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::read_only;
use crate::sql::select::table_name;
use crate::storage::{Snapshot, Store};
use sqlparser::ast::{ObjectName, ObjectType};

/// What a relation name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// An audience table.
    Table,
    /// A view (a saved filter or query).
    View,
    /// A materialized view.
    MaterializedView,
    /// A virtual `pg_catalog` / `information_schema` relation.
    System,
    /// Nothing.
    Missing,
}

impl Kind {
    /// The object as PostgreSQL names it in messages.
    fn noun(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::MaterializedView => "materialized view",
            _ => "table",
        }
    }

    /// The DROP statement for this kind of object.
    fn drop_hint(self) -> String {
        format!(
            "Use DROP {} to remove a {}.",
            self.noun().to_uppercase(),
            self.noun()
        )
    }
}

/// 3F000 when `schema` names no schema: audb has `public`, `pg_catalog`
/// and `information_schema`. PostgreSQL reports it before anything else
/// about the name, `IF [NOT] EXISTS` or not (DROP … IF EXISTS skips it).
pub(crate) fn check_schema(schema: Option<&str>) -> SqlResult<()> {
    match schema {
        Some(s) if crate::catalog::system::oids::namespace_oid(s).is_none() => Err(SqlError::new(
            SqlState::InvalidSchemaName,
            format!("schema \"{s}\" does not exist"),
        )),
        _ => Ok(()),
    }
}

/// [`check_schema`] for a name that must already exist: PostgreSQL's
/// `pg_toast` schema exists too (audb has no relation in it), so a name
/// there is missing (42P01), not in a missing schema.
pub(super) fn check_existing_schema(schema: Option<&str>) -> SqlResult<()> {
    match schema {
        Some(TOAST_SCHEMA) => Ok(()),
        _ => check_schema(schema),
    }
}

/// The schema of PostgreSQL's TOAST tables.
const TOAST_SCHEMA: &str = "pg_toast";

/// System relations that are views in PostgreSQL (the others are tables):
/// what `DROP TABLE` / `DROP VIEW` of one is checked against first.
const SYSTEM_VIEWS: &[(&str, &str)] = &[
    ("pg_catalog", "pg_matviews"),
    ("pg_catalog", "pg_roles"),
    ("pg_catalog", "pg_settings"),
    ("pg_catalog", "pg_stat_all_tables"),
    ("pg_catalog", "pg_stat_user_tables"),
    ("pg_catalog", "pg_tables"),
    ("pg_catalog", "pg_user"),
    ("pg_catalog", "pg_views"),
    ("information_schema", "columns"),
    ("information_schema", "key_column_usage"),
    ("information_schema", "referential_constraints"),
    ("information_schema", "schemata"),
    ("information_schema", "table_constraints"),
    ("information_schema", "tables"),
    ("information_schema", "views"),
];

/// The kind PostgreSQL gives the system relation `schema.name`
/// (unqualified: in `pg_catalog`).
fn system_kind(schema: Option<&str>, name: &str) -> Kind {
    let schema = schema.unwrap_or("pg_catalog");
    if SYSTEM_VIEWS.contains(&(schema, name)) {
        Kind::View
    } else {
        Kind::Table
    }
}

/// What `schema.name` refers to: user relations live in `public` (or
/// unqualified), then `pg_catalog` is searched.
pub(super) fn kind_of(snapshot: &Snapshot, schema: Option<&str>, name: &str) -> Kind {
    if read_only::is_user_schema(schema) {
        if snapshot.table(name).is_some() {
            return Kind::Table;
        }
        if let Some(v) = Catalog::new(snapshot).view(name) {
            return if v.materialized {
                Kind::MaterializedView
            } else {
                Kind::View
            };
        }
    }
    if read_only::is_system_relation(schema, name) {
        Kind::System
    } else {
        Kind::Missing
    }
}

/// 3F000 if the schema does not exist, 42501 if `schema.name` is a system
/// relation, 42P01 if it is nothing, else its kind: the checks before
/// altering, refreshing or commenting on a relation.
pub(super) fn existing(snapshot: &Snapshot, schema: Option<&str>, name: &str) -> SqlResult<Kind> {
    check_existing_schema(schema)?;
    match kind_of(snapshot, schema, name) {
        Kind::System => Err(read_only::system_catalog(name)),
        Kind::Missing => Err(SqlError::new(
            SqlState::UndefinedTable,
            format!(
                "relation \"{}\" does not exist",
                read_only::qualified(schema, name)
            ),
        )),
        kind => Ok(kind),
    }
}

/// `DROP TABLE` / `DROP VIEW` / `DROP MATERIALIZED VIEW`. Every name is
/// checked before anything is dropped. With `IF EXISTS`, each missing name
/// adds PostgreSQL's NOTICE to `notices` (`table "t" does not exist,
/// skipping`).
pub fn drop(
    store: &Store,
    object_type: &ObjectType,
    if_exists: bool,
    names: &[ObjectName],
    notices: &mut Vec<String>,
) -> SqlResult<String> {
    let (want, tag) = match object_type {
        ObjectType::Table => (Kind::Table, "DROP TABLE"),
        ObjectType::View => (Kind::View, "DROP VIEW"),
        ObjectType::MaterializedView => (Kind::MaterializedView, "DROP MATERIALIZED VIEW"),
        other => return Err(SqlError::unsupported(format!("DROP {other}"))),
    };
    let snapshot = store.snapshot();
    let mut targets = Vec::new();
    for n in names {
        let (schema, name) = table_name(n)?;
        match check_existing_schema(schema.as_deref()) {
            Err(e) if if_exists => {
                notices.push(format!("{}, skipping", e.message));
                continue;
            }
            r => r?,
        }
        let kind = match kind_of(&snapshot, schema.as_deref(), &name) {
            // PostgreSQL checks the kind before the privilege.
            Kind::System if system_kind(schema.as_deref(), &name) != want => {
                system_kind(schema.as_deref(), &name)
            }
            kind => kind,
        };
        match kind {
            Kind::Missing if if_exists => {
                notices.push(format!(
                    "{} \"{name}\" does not exist, skipping",
                    want.noun()
                ));
            }
            // PostgreSQL names the relation without its schema here.
            Kind::Missing => {
                return Err(SqlError::new(
                    SqlState::UndefinedTable,
                    format!("{} \"{name}\" does not exist", want.noun()),
                ));
            }
            Kind::System => return Err(read_only::system_catalog(&name)),
            kind if kind == want => {
                if !targets.contains(&name) {
                    targets.push(name);
                }
            }
            kind => {
                return Err(SqlError::new(
                    SqlState::WrongObjectType,
                    format!("\"{name}\" is not a {}", want.noun()),
                )
                .with_hint(kind.drop_hint()));
            }
        }
    }
    for name in &targets {
        // A table dropped earlier in the list may have taken this view.
        let snapshot = store.snapshot();
        if want == Kind::Table {
            drop_table(store, &snapshot, name)?;
        } else {
            drop_view(store, &snapshot, name)?;
        }
    }
    Ok(tag.into())
}

fn drop_table(store: &Store, snapshot: &Snapshot, name: &str) -> SqlResult<()> {
    let Some(t) = snapshot.table(name) else {
        return Ok(());
    };
    // Views over the table go with it (PostgreSQL would ask for CASCADE).
    for v in Catalog::new(snapshot).views() {
        if v.base_table.as_deref() == Some(name) {
            catalog::put_view(store, &v.name, None)?;
        }
    }
    catalog::drop_comments(store, snapshot, name)?;
    store.drop_table(t.schema().id)?;
    Ok(())
}

fn drop_view(store: &Store, snapshot: &Snapshot, name: &str) -> SqlResult<()> {
    let Some(v) = Catalog::new(snapshot).view(name) else {
        return Ok(());
    };
    if v.materialized
        && let Some(base) = v.base_table.as_deref().and_then(|b| snapshot.table(b))
        && let Some(col) = base.schema().column(&catalog::mv_column(name))
    {
        store.drop_column(base.schema().id, col.id)?;
    }
    catalog::put_view(store, name, None)?;
    catalog::drop_comments(store, snapshot, name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::db::Session;

    /// The SQLSTATE of each statement, as the reference PostgreSQL 15
    /// reports it (checked with psql against it).
    #[test]
    fn schema_kind_and_privilege_are_checked_in_postgres_order() {
        let (db, _dir) = crate::db::temp_db(None);
        let mut s = Session::new("test");
        let state = |s: &mut Session, sql: &str| match db.execute(s, sql) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.state.code().to_owned(),
        };
        for (sql, want) in [
            (
                "CREATE TABLE nosuchschema.t (k BIGINT PRIMARY KEY)",
                "3F000",
            ),
            (
                "CREATE TABLE IF NOT EXISTS nosuchschema.t (k BIGINT PRIMARY KEY)",
                "3F000",
            ),
            ("CREATE VIEW nosuchschema.v AS SELECT 1", "3F000"),
            (
                "CREATE MATERIALIZED VIEW nosuchschema.m AS SELECT 1",
                "3F000",
            ),
            ("DROP TABLE nosuchschema.t", "3F000"),
            ("DROP VIEW nosuchschema.t", "3F000"),
            ("DROP TABLE IF EXISTS nosuchschema.t", "ok"),
            ("ALTER TABLE nosuchschema.t ADD COLUMN x INT", "3F000"),
            (
                "ALTER TABLE IF EXISTS nosuchschema.t ADD COLUMN x INT",
                "ok",
            ),
            ("COMMENT ON TABLE nosuchschema.t IS 'x'", "3F000"),
            ("REFRESH MATERIALIZED VIEW nosuchschema.t", "3F000"),
            ("DROP VIEW pg_class", "42809"),
            ("DROP VIEW IF EXISTS pg_catalog.pg_class", "42809"),
            ("DROP MATERIALIZED VIEW pg_class", "42809"),
            ("DROP TABLE pg_tables", "42809"),
            ("DROP TABLE information_schema.tables", "42809"),
            ("DROP TABLE pg_class", "42501"),
            ("DROP TABLE IF EXISTS pg_catalog.pg_type", "42501"),
            ("CREATE TABLE pg_catalog.t (k BIGINT PRIMARY KEY)", "42501"),
            ("CREATE TABLE public.t (k BIGINT PRIMARY KEY)", "ok"),
            ("DROP TABLE public.t", "ok"),
        ] {
            assert_eq!(state(&mut s, sql), want, "{sql}");
        }
        let e = db
            .execute(&mut s, "DROP VIEW pg_class")
            .expect_err("a table");
        assert_eq!(e.message, "\"pg_class\" is not a view");
        assert_eq!(e.hint.as_deref(), Some("Use DROP TABLE to remove a table."));
        let e = db
            .execute(&mut s, "CREATE TABLE nosuchschema.t (k BIGINT PRIMARY KEY)")
            .expect_err("no schema");
        assert_eq!(e.message, "schema \"nosuchschema\" does not exist");
        let e = db
            .execute(&mut s, "DROP TABLE pg_tables")
            .expect_err("a view");
        assert_eq!(e.hint.as_deref(), Some("Use DROP VIEW to remove a view."));
    }
}
