//! Where `CREATE TABLE` / `CREATE VIEW` puts a relation, checked in
//! PostgreSQL's order: the schema must exist (3F000; `pg_toast` exists
//! too), a relation of that name in that schema must not (42P07; an
//! `IF NOT EXISTS` statement skips with a NOTICE before anything else is
//! checked), and the system schemas refuse new relations (42501,
//! `permission denied to create "pg_catalog.t"`), which PostgreSQL checks
//! last, after the column definitions and the view's query.

use super::drop::check_existing_schema;
use crate::catalog::Catalog;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::read_only;
use crate::storage::Snapshot;

/// The schemas PostgreSQL refuses relations in even to a superuser
/// (`allow_system_table_mods` is off): `pg_catalog` and `pg_toast`.
const SYSTEM_NAMESPACES: [&str; 2] = ["pg_catalog", "pg_toast"];

/// 3F000 when `schema` does not exist as a place to create in.
pub(super) fn check_schema(schema: Option<&str>) -> SqlResult<()> {
    check_existing_schema(schema)
}

/// Whether a relation `schema.name` exists where CREATE would put it: a
/// table or view for `public` (or unqualified), a system relation in the
/// system schemas (`pg_toast` holds none in audb).
pub(super) fn exists(snapshot: &Snapshot, schema: Option<&str>, name: &str) -> bool {
    if read_only::is_user_schema(schema) {
        snapshot.table(name).is_some() || Catalog::new(snapshot).view(name).is_some()
    } else {
        schema.is_some() && read_only::is_system_relation(schema, name)
    }
}

/// 42P07 when [`exists`].
pub(super) fn check_new(snapshot: &Snapshot, schema: Option<&str>, name: &str) -> SqlResult<()> {
    if exists(snapshot, schema, name) {
        return Err(SqlError::new(
            SqlState::DuplicateTable,
            format!("relation \"{name}\" already exists"),
        ));
    }
    Ok(())
}

/// 42501 when `schema` refuses new relations.
pub(super) fn check_permission(schema: Option<&str>, name: &str) -> SqlResult<()> {
    match schema {
        Some(s) if SYSTEM_NAMESPACES.contains(&s) => Err(SqlError::new(
            SqlState::InsufficientPrivilege,
            format!("permission denied to create \"{s}.{name}\""),
        )
        .with_detail("System catalog modifications are currently disallowed.")),
        _ => read_only::refuse_system_schema(schema, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_schemas_refuse_new_relations_as_postgres_does() {
        for schema in SYSTEM_NAMESPACES {
            let e = check_permission(Some(schema), "t").unwrap_err();
            assert_eq!(e.state, SqlState::InsufficientPrivilege);
            assert_eq!(
                e.message,
                format!("permission denied to create \"{schema}.t\"")
            );
            assert_eq!(
                e.detail.as_deref(),
                Some("System catalog modifications are currently disallowed.")
            );
        }
        assert!(check_permission(None, "t").is_ok());
        assert!(check_permission(Some("public"), "t").is_ok());
        assert!(check_schema(Some("pg_toast")).is_ok());
        assert_eq!(
            check_schema(Some("nosuch")).unwrap_err().state,
            SqlState::InvalidSchemaName
        );
    }
}
