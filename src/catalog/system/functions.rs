//! Text and name helpers behind catalog functions: `format()`,
//! `parse_ident()`, and the oids of the virtual `pg_catalog` /
//! `information_schema` relations (for `'pg_class'::regclass`).

use super::{DATABASE_NAME, oids, pg_proc};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::scalar::{CatalogAccess, RegKind, format_text};
use crate::sql::types::{DataType, Datum};

/// PostgreSQL's oids of the system catalogs clients name in `::regclass`.
const KNOWN: &[(&str, i64)] = &[
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_authid", 1260),
    ("pg_database", 1262),
    ("pg_tablespace", 1213),
    ("pg_am", 2601),
    ("pg_attrdef", 2604),
    ("pg_constraint", 2606),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_inherits", 2611),
    ("pg_namespace", 2615),
    ("pg_operator", 2617),
    ("pg_rewrite", 2618),
    ("pg_trigger", 2620),
    ("pg_extension", 3079),
    ("pg_collation", 3456),
    ("pg_enum", 3501),
];

/// Oids of other virtual relations: `12000 + position` (PostgreSQL's system
/// views sit in the same range; below the first user oid).
const OTHER_BASE: i64 = 12_000;

fn all_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    super::pg::NAMES
        .iter()
        .chain(super::pg_extra::NAMES)
        .map(|n| ("pg_catalog", *n))
        .chain(
            super::info_schema::NAMES
                .iter()
                .map(|n| ("information_schema", *n)),
        )
}

/// The oid of virtual relation `schema.name` (`None` schema: `pg_catalog`).
pub fn system_relation_oid(schema: Option<&str>, name: &str) -> Option<i64> {
    let schema = schema.unwrap_or("pg_catalog");
    if schema == "pg_catalog"
        && let Some((_, oid)) = KNOWN.iter().find(|(n, _)| *n == name)
    {
        return Some(*oid);
    }
    all_names()
        .position(|(s, n)| s == schema && n == name)
        .and_then(|p| i64::try_from(p).ok())
        .map(|p| OTHER_BASE + p)
}

/// The name of virtual relation `oid` as `regclass` prints it (qualified
/// outside `pg_catalog`, which is always on the search path).
pub fn system_relation_name(oid: i64) -> Option<String> {
    if let Some((n, _)) = KNOWN.iter().find(|(_, o)| *o == oid) {
        return Some((*n).to_owned());
    }
    let pos = usize::try_from(oid.checked_sub(OTHER_BASE)?).ok()?;
    let (schema, name) = all_names().nth(pos)?;
    Some(if schema == "pg_catalog" {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    })
}

/// The oid `name` stands for as a `kind` value (`Ok(None)`: no such
/// object). Names follow SQL's rules: unquoted parts fold to lower case,
/// an optional schema qualifies them.
pub fn reg_lookup(
    kind: RegKind,
    name: &str,
    cat: Option<&dyn CatalogAccess>,
) -> SqlResult<Option<i64>> {
    let name = name.trim();
    // An oid written as a number is taken as it is.
    if let Ok(oid) = name.parse::<i64>() {
        return Ok(Some(oid));
    }
    match kind {
        RegKind::Type => return super::type_name::type_lookup(name),
        RegKind::Proc => return pg_proc::regproc_in(name).map(Some),
        RegKind::Procedure => return pg_proc::regprocedure_in(name).map(Some),
        RegKind::Oper => return pg_proc::regoper_in(name).map(Some),
        RegKind::Operator => return pg_proc::regoperator_in(name).map(Some),
        _ => {}
    }
    let parts = parse_ident(name, true)?;
    let (schema, object) = match parts.as_slice() {
        [o] => (None, o.as_str()),
        [s, o] => (Some(s.as_str()), o.as_str()),
        _ => return Ok(None),
    };
    Ok(match kind {
        RegKind::Class => match cat {
            Some(c) => c.relation_oid(schema, object),
            None => system_relation_oid(schema, object),
        },
        RegKind::Namespace => oids::namespace_oid(object),
        RegKind::Role => {
            let user = cat.map_or_else(|| DATABASE_NAME.to_owned(), |c| c.user());
            (object == user || object == DATABASE_NAME).then_some(oids::SUPERUSER_OID)
        }
        RegKind::Oid
        | RegKind::Proc
        | RegKind::Procedure
        | RegKind::Oper
        | RegKind::Operator
        | RegKind::Type => None,
    })
}

/// The error for a name that names no `kind` object (PostgreSQL's codes).
pub fn reg_not_found(kind: RegKind, name: &str) -> SqlError {
    match kind {
        RegKind::Class => SqlError::new(
            SqlState::UndefinedTable,
            format!("relation \"{name}\" does not exist"),
        ),
        RegKind::Type => SqlError::new(
            SqlState::UndefinedObject,
            format!("type \"{name}\" does not exist"),
        ),
        RegKind::Namespace => SqlError::new(
            SqlState::InvalidSchemaName,
            format!("schema \"{name}\" does not exist"),
        ),
        RegKind::Proc | RegKind::Procedure => SqlError::new(
            SqlState::UndefinedFunction,
            format!("function \"{name}\" does not exist"),
        ),
        RegKind::Oper | RegKind::Operator => SqlError::new(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {name}"),
        ),
        RegKind::Oid => SqlError::new(
            SqlState::InvalidTextRepresentation,
            format!("invalid input syntax for type oid: \"{name}\""),
        ),
        RegKind::Role => SqlError::new(
            SqlState::UndefinedObject,
            format!("role \"{name}\" does not exist"),
        ),
    }
}

/// The text form of a `kind` value: the object's name, or the oid itself
/// when no such object exists (as PostgreSQL prints it).
pub fn reg_name(kind: RegKind, oid: i64, cat: Option<&dyn CatalogAccess>) -> String {
    let name = match kind {
        RegKind::Class => cat
            .and_then(|c| c.relation_name(oid))
            .or_else(|| system_relation_name(oid)),
        RegKind::Type => oids::builtin_type(oid).map(|_| oids::format_type(oid, None)),
        RegKind::Namespace => oids::namespace_name(oid).map(str::to_owned),
        RegKind::Role => (oid == oids::SUPERUSER_OID).then(|| {
            crate::sql::scalar::quote_ident(
                &cat.map_or_else(|| DATABASE_NAME.to_owned(), |c| c.user()),
            )
        }),
        RegKind::Oid => Some(oid.to_string()),
        RegKind::Proc => pg_proc::regproc_name(oid),
        RegKind::Procedure => pg_proc::regprocedure_name(oid),
        RegKind::Oper => pg_proc::regoper_name(oid),
        RegKind::Operator => pg_proc::regoperator_name(oid),
    };
    match name {
        Some(n) => n,
        // `regoperout` and `regoperatorout` print 0 as a number.
        None if oid == 0 && !matches!(kind, RegKind::Oper | RegKind::Operator) => "-".to_owned(),
        None => oid.to_string(),
    }
}

/// `parse_ident(text[, strict])`: splits a possibly quoted, dotted
/// identifier into its parts (unquoted parts fold to lower case). With
/// `strict`, trailing text after the identifier is an error (22023).
pub fn parse_ident(s: &str, strict: bool) -> SqlResult<Vec<String>> {
    let bad = || {
        SqlError::new(
            SqlState::InvalidParameterValue,
            format!("string is not a valid identifier: \"{s}\""),
        )
    };
    let mut parts = Vec::new();
    let mut chars = s.trim_start().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(bad()),
                }
            }
            if part.is_empty() {
                return Err(bad());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '$' {
                    part.extend(c.to_lowercase());
                    chars.next();
                } else {
                    break;
                }
            }
            if part.is_empty() {
                return Err(bad());
            }
        }
        parts.push(part);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            Some('.') => {
                chars.next();
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            None => break,
            Some(_) if strict => return Err(bad()),
            Some(_) => break,
        }
    }
    Ok(parts)
}

/// `format(fmt, args…)`: `%s` (the value, NULL as empty), `%I` (quoted
/// identifier; NULL is an error), `%L` (quoted literal, NULL as `NULL`),
/// `%%`. Width, position and other flags are rejected (0A000).
pub fn format(args: &[Datum]) -> SqlResult<String> {
    let fmt = match args.first() {
        Some(Datum::Text(f)) => f.as_str(),
        _ => return Ok(String::new()),
    };
    let text_of = |d: &Datum| -> Option<String> {
        match d {
            Datum::Null => None,
            Datum::Text(t) => Some(t.clone()),
            other => format_text(other, DataType::Text, &Default::default()),
        }
    };
    let mut out = String::with_capacity(fmt.len());
    let mut next = 1;
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = chars.next().ok_or_else(|| {
            SqlError::new(
                SqlState::InvalidParameterValue,
                "unterminated format() type specifier",
            )
        })?;
        if spec == '%' {
            out.push('%');
            continue;
        }
        let arg = args.get(next).ok_or_else(|| {
            SqlError::new(
                SqlState::InvalidParameterValue,
                "too few arguments for format()",
            )
        })?;
        next += 1;
        match spec {
            's' => out.push_str(&text_of(arg).unwrap_or_default()),
            'I' => match text_of(arg) {
                Some(t) => out.push_str(&crate::sql::scalar::quote_ident(&t)),
                None => {
                    return Err(SqlError::new(
                        SqlState::NullValueNotAllowed,
                        "null values cannot be formatted as an SQL identifier",
                    ));
                }
            },
            'L' => match text_of(arg) {
                Some(t) => {
                    out.push('\'');
                    out.push_str(&t.replace('\'', "''"));
                    out.push('\'');
                }
                None => out.push_str("NULL"),
            },
            other => {
                return Err(SqlError::unsupported(format!(
                    "format() specifier \"%{other}\""
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ident_splits_and_folds() {
        assert_eq!(parse_ident("users", true).ok(), Some(vec!["users".into()]));
        assert_eq!(
            parse_ident("Public.\"My Table\"", true).ok(),
            Some(vec!["public".into(), "My Table".into()])
        );
        assert!(parse_ident("a.", true).is_err());
        assert!(parse_ident("a b", true).is_err());
        assert_eq!(parse_ident("a b", false).ok(), Some(vec!["a".into()]));
    }

    #[test]
    fn format_specifiers() {
        let t = |s: &str| Datum::Text(s.into());
        assert_eq!(
            format(&[t("%I.%I"), t("public"), t("Users")]).ok(),
            Some("public.\"Users\"".into())
        );
        assert_eq!(
            format(&[t("%s|%L|%L|%%"), Datum::Null, t("it's"), Datum::Null]).ok(),
            Some("|'it''s'|NULL|%".into())
        );
        assert!(format(&[t("%s %s"), t("x")]).is_err());
        assert!(format(&[t("%I"), Datum::Null]).is_err());
    }

    #[test]
    fn reg_names_resolve_without_a_catalog() {
        let class = |n: &str| reg_lookup(RegKind::Class, n, None).ok().flatten();
        assert_eq!(class("pg_class"), Some(1259));
        assert_eq!(class("pg_catalog.pg_class"), Some(1259));
        assert_eq!(class("\"pg_type\""), Some(1247));
        assert_eq!(class("16385"), Some(16385));
        assert_eq!(class("nope"), None);
        let ty = |n: &str| reg_lookup(RegKind::Type, n, None).ok().flatten();
        assert_eq!(ty("integer"), Some(23));
        assert_eq!(ty("pg_catalog.int4"), Some(23));
        assert_eq!(ty("text[]"), Some(1009));
        assert_eq!(reg_name(RegKind::Type, 1700, None), "numeric");
        assert_eq!(reg_name(RegKind::Class, 1259, None), "pg_class");
        assert_eq!(reg_name(RegKind::Class, 999_999, None), "999999");
        assert_eq!(reg_name(RegKind::Namespace, 2200, None), "public");
        assert_eq!(reg_name(RegKind::Role, 10, None), "audb");
        assert_eq!(reg_name(RegKind::Class, 0, None), "-");
        assert_eq!(reg_not_found(RegKind::Class, "nope").state.code(), "42P01");
    }

    #[test]
    fn system_relation_oids_round_trip() {
        assert_eq!(system_relation_oid(None, "pg_class"), Some(1259));
        assert_eq!(system_relation_name(1259).as_deref(), Some("pg_class"));
        let o = system_relation_oid(Some("information_schema"), "columns").expect("columns");
        assert_eq!(
            system_relation_name(o).as_deref(),
            Some("information_schema.columns")
        );
        assert_eq!(system_relation_oid(None, "nope"), None);
    }
}
