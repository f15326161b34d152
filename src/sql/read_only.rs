//! The system catalogs are read-only: writing to a `pg_catalog` or
//! `information_schema` relation, or creating one in those schemas, is
//! 42501 insufficient_privilege, PostgreSQL's answer to everyone but a
//! superuser (audb has no superuser bypass).

use super::error::{SqlError, SqlResult, SqlState};
use crate::catalog::system;

/// The schemas of the virtual system relations.
const SYSTEM_SCHEMAS: [&str; 2] = ["pg_catalog", "information_schema"];

/// Whether `schema.name` (schema `None`: unqualified, which finds
/// `pg_catalog` relations) is a virtual system relation.
pub(crate) fn is_system_relation(schema: Option<&str>, name: &str) -> bool {
    // Unqualified names search pg_catalog only, as PostgreSQL's search path.
    let schema = schema.unwrap_or("pg_catalog");
    system::relation_names()
        .iter()
        .any(|(s, n)| *s == schema && *n == name)
}

/// 42501 if `schema.name` is a system relation: call it before reporting
/// that a relation to write to does not exist.
pub(crate) fn refuse_system_relation(schema: Option<&str>, name: &str) -> SqlResult<()> {
    if is_system_relation(schema, name) {
        return Err(system_catalog(name));
    }
    Ok(())
}

/// The 42501 error for changing the system relation `name`.
pub(crate) fn system_catalog(name: &str) -> SqlError {
    SqlError::new(
        SqlState::InsufficientPrivilege,
        format!("permission denied: \"{name}\" is a system catalog"),
    )
    .with_detail("System catalog modifications are not allowed.")
}

/// 42501 for creating `schema.name` in a system schema.
pub(crate) fn refuse_system_schema(schema: Option<&str>, name: &str) -> SqlResult<()> {
    match schema {
        Some(s) if SYSTEM_SCHEMAS.contains(&s) => Err(SqlError::new(
            SqlState::InsufficientPrivilege,
            format!("permission denied to create \"{s}.{name}\""),
        )
        .with_detail("System catalog modifications are not allowed.")),
        _ => Ok(()),
    }
}

/// Whether `schema` is where user relations live (unqualified or `public`).
pub(crate) fn is_user_schema(schema: Option<&str>) -> bool {
    matches!(schema, None | Some("public"))
}

/// A relation name as PostgreSQL quotes it in messages: `t` or `s.t`.
pub(crate) fn qualified(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(s) => format!("{s}.{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_relations_are_found_where_postgres_finds_them() {
        assert!(is_system_relation(None, "pg_class"));
        assert!(is_system_relation(Some("pg_catalog"), "pg_type"));
        assert!(is_system_relation(Some("information_schema"), "tables"));
        // information_schema is not on the search path.
        assert!(!is_system_relation(None, "tables"));
        assert!(!is_system_relation(Some("public"), "pg_class"));
        assert!(!is_system_relation(Some("pg_catalog"), "users"));
        assert!(!is_system_relation(None, "users"));
    }

    #[test]
    fn writes_and_creates_in_system_schemas_are_42501() {
        let e = refuse_system_relation(None, "pg_class").unwrap_err();
        assert_eq!(e.state, SqlState::InsufficientPrivilege);
        assert_eq!(
            e.message,
            "permission denied: \"pg_class\" is a system catalog"
        );
        assert!(refuse_system_relation(None, "users").is_ok());
        for schema in ["pg_catalog", "information_schema"] {
            let e = refuse_system_schema(Some(schema), "t").unwrap_err();
            assert_eq!(e.state, SqlState::InsufficientPrivilege);
            assert_eq!(
                e.message,
                format!("permission denied to create \"{schema}.t\"")
            );
        }
        assert!(refuse_system_schema(Some("public"), "t").is_ok());
        assert!(refuse_system_schema(None, "t").is_ok());
    }
}
