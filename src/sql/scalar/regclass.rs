//! Input and output of object-identifier values ([`DataType::Reg`]):
//! PostgreSQL's `oidin`/`oidout` and the `regclassin`/`regclassout`
//! family. A value is an oid; `oid` prints it as a number, the aliases
//! print the object's name (`users`, `"user"`, `s2.t2`, `integer`), `-`
//! for oid 0 and the number for an oid that names nothing. Input takes a
//! name (looked up in the statement's catalog) or a number.
//!
//! Also here: the identifier quoting those names use
//! ([`needs_quotes`]: PostgreSQL's `quote_identifier`, which quotes every
//! keyword that is not unreserved).
//!
//! [`DataType::Reg`]: crate::sql::types::DataType::Reg

use super::{CatalogAccess, EvalContext};
use crate::catalog::system::{DATABASE_NAME, functions, oids};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::RegKind;

/// The largest oid.
const OID_MAX: i64 = u32::MAX as i64;

/// PostgreSQL 15's keywords that `quote_identifier` quotes (every keyword
/// whose category is not "unreserved"), sorted.
const QUOTED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// Whether `quote_identifier` double-quotes `s`: anything but a lower-case
/// name of letters, digits, `_` and `$` starting with a letter or `_`, and
/// the keywords that are not unreserved.
pub(crate) fn needs_quotes(s: &str) -> bool {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    !plain || QUOTED_KEYWORDS.binary_search(&s).is_ok()
}

/// `oidin`: a decimal number from -2147483648 to 4294967295 (negative
/// values wrap around, as in PostgreSQL), surrounding spaces allowed.
pub(crate) fn parse_oid(s: &str) -> SqlResult<i64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SqlError::new(
            SqlState::InvalidTextRepresentation,
            format!("invalid input syntax for type oid: \"{s}\""),
        ));
    }
    match t.parse::<i128>() {
        Ok(v) if (i128::from(i32::MIN)..=i128::from(OID_MAX)).contains(&v) => {
            Ok(wrap_oid(v as i64))
        }
        _ => Err(SqlError::new(
            SqlState::NumericValueOutOfRange,
            format!("value \"{s}\" is out of range for type oid"),
        )),
    }
}

/// A 32-bit integer as the oid with the same bits (`-1` is 4294967295).
pub(crate) fn wrap_oid(v: i64) -> i64 {
    i64::from(v as u32)
}

/// `bigint` to `oid`: 22003 outside 0..=4294967295.
pub(crate) fn oid_from_int8(v: i64) -> SqlResult<i64> {
    if (0..=OID_MAX).contains(&v) {
        Ok(v)
    } else {
        Err(SqlError::new(
            SqlState::NumericValueOutOfRange,
            "OID out of range",
        ))
    }
}

/// The input function of `kind`: `-` is oid 0, a number is taken as the
/// oid, anything else is a name looked up in the statement's catalog (an
/// unknown name is PostgreSQL's error for the kind).
pub(crate) fn reg_in(kind: RegKind, s: &str, ctx: &EvalContext) -> SqlResult<i64> {
    if kind == RegKind::Oid || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())) {
        return parse_oid(s);
    }
    if s == "-" {
        return Ok(0);
    }
    let cat = ctx.catalog.as_ref().map(|h| h.0.as_ref());
    if kind == RegKind::Class {
        return class_in(s, cat);
    }
    match functions::reg_lookup(kind, s, cat)? {
        Some(oid) => Ok(oid),
        None => Err(functions::reg_not_found(kind, s.trim())),
    }
}

/// `regclassin` for a name: `[[database.]schema.]relation`, each part
/// quoted or folded to lower case.
fn class_in(s: &str, cat: Option<&dyn CatalogAccess>) -> SqlResult<i64> {
    let parts = functions::parse_ident(s, true)
        .map_err(|_| SqlError::new(SqlState::InvalidName, "invalid name syntax"))?;
    let (schema, name) = match parts.as_slice() {
        [name] => (None, name),
        [schema, name] => (Some(schema.as_str()), name),
        [db, schema, name] if db == DATABASE_NAME => (Some(schema.as_str()), name),
        [_, _, _] => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("cross-database references are not implemented: \"{s}\""),
            ));
        }
        _ => {
            return Err(SqlError::new(
                SqlState::SyntaxError,
                format!("improper relation name (too many dotted names): {s}"),
            ));
        }
    };
    if let Some(schema) = schema
        && oids::namespace_oid(schema).is_none()
    {
        return Err(SqlError::new(
            SqlState::InvalidSchemaName,
            format!("schema \"{schema}\" does not exist"),
        ));
    }
    let found = match cat {
        Some(c) => c.relation_oid(schema, name),
        None => functions::system_relation_oid(schema, name),
    };
    found.ok_or_else(|| {
        let full = schema.map_or_else(|| name.clone(), |sc| format!("{sc}.{name}"));
        functions::reg_not_found(RegKind::Class, &full)
    })
}

/// The output function of `kind`: the number for `oid`, else the name of
/// the object (`-` for 0, the number when no object has the oid).
pub(crate) fn reg_out(kind: RegKind, oid: i64, ctx: &EvalContext) -> String {
    if kind == RegKind::Oid {
        return oid.to_string();
    }
    let cat = ctx.catalog.as_ref().map(|h| h.0.as_ref());
    functions::reg_name(kind, oid, cat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_and_quoted() {
        assert!(QUOTED_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(needs_quotes("user"));
        assert!(needs_quotes("Users"));
        assert!(needs_quotes("weird name"));
        assert!(!needs_quotes("users"));
        assert!(!needs_quotes("name"));
        assert!(!needs_quotes("_x$1"));
    }

    #[test]
    fn oid_input() {
        assert_eq!(parse_oid(" 42 ").ok(), Some(42));
        assert_eq!(parse_oid("-1").ok(), Some(4_294_967_295));
        assert_eq!(parse_oid("4294967295").ok(), Some(4_294_967_295));
        assert_eq!(
            parse_oid("4294967296").map_err(|e| e.state.code()),
            Err("22003")
        );
        assert_eq!(parse_oid("x").map_err(|e| e.state.code()), Err("22P02"));
        assert_eq!(oid_from_int8(-1).map_err(|e| e.state.code()), Err("22003"));
        assert_eq!(wrap_oid(-2), 4_294_967_294);
    }

    #[test]
    fn names_without_a_catalog() {
        let ctx = EvalContext::default();
        assert_eq!(reg_in(RegKind::Class, "pg_class", &ctx).ok(), Some(1259));
        assert_eq!(reg_in(RegKind::Class, "-", &ctx).ok(), Some(0));
        assert_eq!(reg_in(RegKind::Class, "99999", &ctx).ok(), Some(99999));
        assert_eq!(
            reg_in(RegKind::Class, "nosuch", &ctx).map_err(|e| e.state.code()),
            Err("42P01")
        );
        assert_eq!(reg_out(RegKind::Class, 1259, &ctx), "pg_class");
        assert_eq!(reg_out(RegKind::Type, 23, &ctx), "integer");
        assert_eq!(reg_out(RegKind::Class, 0, &ctx), "-");
        assert_eq!(reg_out(RegKind::Oid, 0, &ctx), "0");
        assert_eq!(reg_out(RegKind::Class, 99999, &ctx), "99999");
    }
}
