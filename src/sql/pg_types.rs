//! PostgreSQL 15's built-in type names, to tell a type audb does not
//! support (0A000 feature_not_supported) from one that does not exist at
//! all (42704 undefined_object, `type "…" does not exist`, as PostgreSQL).

use super::error::{SqlError, SqlState};
use super::predicate::fold_ident;
use sqlparser::ast::{DataType, ObjectNamePart};

/// The types of PostgreSQL 15's `pg_catalog` (`pg_type` rows that are not
/// array or composite types), sorted.
const PG_CATALOG_TYPES: &[&str] = &[
    "aclitem",
    "any",
    "anyarray",
    "anycompatible",
    "anycompatiblearray",
    "anycompatiblemultirange",
    "anycompatiblenonarray",
    "anycompatiblerange",
    "anyelement",
    "anyenum",
    "anymultirange",
    "anynonarray",
    "anyrange",
    "bit",
    "bool",
    "box",
    "bpchar",
    "bytea",
    "char",
    "cid",
    "cidr",
    "circle",
    "cstring",
    "date",
    "datemultirange",
    "daterange",
    "event_trigger",
    "fdw_handler",
    "float4",
    "float8",
    "gtsvector",
    "index_am_handler",
    "inet",
    "int2",
    "int2vector",
    "int4",
    "int4multirange",
    "int4range",
    "int8",
    "int8multirange",
    "int8range",
    "internal",
    "interval",
    "json",
    "jsonb",
    "jsonpath",
    "language_handler",
    "line",
    "lseg",
    "macaddr",
    "macaddr8",
    "money",
    "name",
    "numeric",
    "nummultirange",
    "numrange",
    "oid",
    "oidvector",
    "path",
    "pg_brin_bloom_summary",
    "pg_brin_minmax_multi_summary",
    "pg_ddl_command",
    "pg_dependencies",
    "pg_lsn",
    "pg_mcv_list",
    "pg_ndistinct",
    "pg_node_tree",
    "pg_snapshot",
    "point",
    "polygon",
    "record",
    "refcursor",
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regrole",
    "regtype",
    "table_am_handler",
    "text",
    "tid",
    "time",
    "timestamp",
    "timestamptz",
    "timetz",
    "trigger",
    "tsm_handler",
    "tsmultirange",
    "tsquery",
    "tsrange",
    "tstzmultirange",
    "tstzrange",
    "tsvector",
    "txid_snapshot",
    "unknown",
    "uuid",
    "varbit",
    "varchar",
    "void",
    "xid",
    "xid8",
    "xml",
];

/// The SQL-standard spellings PostgreSQL's grammar maps to the types above.
const SQL_STANDARD_TYPES: &[&str] = &[
    "bigint",
    "bit varying",
    "boolean",
    "char varying",
    "character",
    "character varying",
    "dec",
    "decimal",
    "double precision",
    "float",
    "int",
    "integer",
    "national char",
    "national char varying",
    "national character",
    "national character varying",
    "nchar",
    "nchar varying",
    "real",
    "smallint",
    "time with time zone",
    "time without time zone",
    "timestamp with time zone",
    "timestamp without time zone",
];

/// Whether PostgreSQL 15 knows the type `name` (lower case, without type
/// modifiers or array brackets, optionally `pg_catalog.`-qualified).
pub(crate) fn is_postgres_type(name: &str) -> bool {
    let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
    PG_CATALOG_TYPES.binary_search(&name).is_ok() || SQL_STANDARD_TYPES.contains(&name)
}

/// The name of a declared type as PostgreSQL spells it in messages:
/// identifiers folded (unquoted to lower case), keywords in lower case,
/// without type modifiers or array brackets.
pub(crate) fn type_name(t: &DataType) -> String {
    match t {
        DataType::Custom(name, _) => name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(id) => fold_ident(id),
                ObjectNamePart::Function(f) => f.name.value.to_lowercase(),
            })
            .collect::<Vec<_>>()
            .join("."),
        other => {
            let text = other.to_string().to_lowercase();
            let base = text.split(['(', '[']).next().unwrap_or_default();
            base.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }
}

/// The error for a declared type audb cannot store or cast to: 0A000
/// naming `what` if PostgreSQL knows the type, otherwise 42704 `type "…"
/// does not exist` like PostgreSQL.
pub(crate) fn unsupported_type(t: &DataType, what: impl std::fmt::Display) -> SqlError {
    let name = type_name(t);
    if is_postgres_type(&name) {
        SqlError::unsupported(what)
    } else {
        SqlError::new(
            SqlState::UndefinedObject,
            format!("type \"{name}\" does not exist"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};

    /// The type of `SELECT NULL::<ty>`, as sqlparser parses it.
    fn parsed(ty: &str) -> DataType {
        let stmts = crate::sql::parse(&format!("SELECT NULL::{ty}")).unwrap();
        let Statement::Query(q) = &stmts[0] else {
            panic!("not a query")
        };
        let SetExpr::Select(s) = q.body.as_ref() else {
            panic!("not a select")
        };
        match &s.projection[0] {
            SelectItem::UnnamedExpr(Expr::Cast { data_type, .. }) => data_type.clone(),
            other => panic!("not a cast: {other:?}"),
        }
    }

    #[test]
    fn the_list_is_sorted_for_binary_search() {
        assert!(PG_CATALOG_TYPES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn unknown_names_are_42704_known_ones_0a000() {
        for (ty, state, name) in [
            ("nosuchtype", "42704", "nosuchtype"),
            ("NoSuchType", "42704", "nosuchtype"),
            ("\"NoSuch\"", "42704", "NoSuch"),
            ("public.nosuchtype", "42704", "public.nosuchtype"),
            ("nosuchtype(3)", "42704", "nosuchtype"),
            ("tinyint", "42704", "tinyint"),
            ("datetime", "42704", "datetime"),
            ("blob", "42704", "blob"),
            ("inet", "0A000", "inet"),
            ("pg_catalog.inet", "0A000", "pg_catalog.inet"),
            ("uuid", "0A000", "uuid"),
            ("json", "0A000", "json"),
            ("jsonb", "0A000", "jsonb"),
            ("bytea", "0A000", "bytea"),
            ("time with time zone", "0A000", "time with time zone"),
            ("bit varying(3)", "0A000", "bit varying"),
            ("money", "0A000", "money"),
            ("int4range", "0A000", "int4range"),
        ] {
            let t = parsed(ty);
            assert_eq!(type_name(&t), name, "{ty}: {t:?}");
            let e = unsupported_type(&t, format!("the type {t}"));
            assert_eq!(e.state.code(), state, "{ty}: {t:?}");
            if state == "42704" {
                assert_eq!(e.message, format!("type \"{name}\" does not exist"));
            }
        }
    }
}
