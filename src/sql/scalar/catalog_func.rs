//! The catalog and session functions clients call while discovering the
//! schema (`format_type`, `pg_table_is_visible`, `obj_description`,
//! `current_schema`, `has_table_privilege`, …) and the regular-expression
//! match functions behind `~`, `~*`, `!~`, `!~*`.
//!
//! Evaluation sees only the [`EvalContext`] (clock, time zone, parameters):
//! functions whose answer lives in the stored catalog (`obj_description`,
//! `col_description`) or in the session (`current_setting`, `current_user`)
//! answer from PostgreSQL's defaults until the context carries the catalog
//! and the session (see the module's report to the SQL layer).

use super::EvalContext;
use crate::catalog::system::{DATABASE_NAME, oids};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};

use DataType::{Bool as B, Int4 as I4, Int8 as I8, Text as T, TextArray as TA, TimestampTz as TZ};

/// One signature: parameter types and result type.
type Sig = (&'static [DataType], DataType);

/// The longest regular expression accepted (bytes), and the compiled size
/// limit: patterns come from clients and must not exhaust memory.
const REGEX_PATTERN_BYTES_MAX: usize = 4096;
const REGEX_COMPILED_BYTES_MAX: usize = 1 << 20;

/// A catalog or session function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogFunc {
    /// `format_type(oid, typmod)` (not strict: a NULL typmod means none).
    FormatType,
    /// `pg_table_is_visible`, `pg_type_is_visible`, … (always true: one
    /// schema, always on the search path).
    IsVisible,
    /// `pg_get_expr(text, oid[, pretty])`: the expression text itself.
    GetExpr,
    /// `obj_description(oid[, catalog])`, `shobj_description`.
    ObjDescription,
    /// `col_description(oid, attnum)`.
    ColDescription,
    /// `pg_get_userbyid(oid)`.
    GetUserById,
    /// `has_*_privilege(…)`: every user may do everything.
    HasPrivilege,
    /// `current_schema()`.
    CurrentSchema,
    /// `current_schemas(include_implicit)`.
    CurrentSchemas,
    /// `current_database()`, `current_catalog`.
    CurrentDatabase,
    /// `current_user`, `session_user`, `user`, `current_role`.
    CurrentUser,
    /// `current_setting(name[, missing_ok])`.
    CurrentSetting,
    /// `quote_ident(text)`.
    QuoteIdent,
    /// `pg_get_constraintdef(oid[, pretty])`.
    GetConstraintDef,
    /// `pg_get_indexdef(oid[, column, pretty])`.
    GetIndexDef,
    /// `pg_get_viewdef(oid[, pretty])`.
    GetViewDef,
    /// `pg_encoding_to_char(int)`.
    EncodingToChar,
    /// `pg_backend_pid()`.
    BackendPid,
    /// `pg_postmaster_start_time()`.
    PostmasterStartTime,
    /// `pg_relation_is_publishable(oid)` (false: no publications).
    IsPublishable,
    /// `pg_relation_size`, `pg_total_relation_size`, `pg_table_size`,
    /// `pg_indexes_size` (0: audb does not account per relation yet).
    RelationSize,
    /// `pg_size_pretty(bigint)`.
    SizePretty,
    /// `textregexeq` and friends: `text ~ pattern`.
    RegexMatch {
        /// `~*` / `!~*`.
        case_insensitive: bool,
        /// `!~` / `!~*`.
        negated: bool,
    },
}

/// The function a regular-expression operator stands for
/// (`~` is `textregexeq`, `!~*` is `texticregexne`, …).
pub fn regex_function_name(case_insensitive: bool, negated: bool) -> &'static str {
    match (case_insensitive, negated) {
        (false, false) => "textregexeq",
        (false, true) => "textregexne",
        (true, false) => "texticregexeq",
        (true, true) => "texticregexne",
    }
}

/// The catalog functions' signatures (called by the built-in function table
/// for names it does not know).
pub(super) fn signatures(name: &str) -> Option<(CatalogFunc, &'static [Sig])> {
    use CatalogFunc as C;
    const PRIVILEGE: &[Sig] = &[
        (&[T, T], B),
        (&[T, T, T], B),
        (&[I8, T], B),
        (&[T, I8, T], B),
    ];
    const VISIBLE: &[Sig] = &[(&[I8], B)];
    const REGEX: &[Sig] = &[(&[T, T], B)];
    Some(match name {
        "format_type" => (C::FormatType, &[(&[I8, I4], T)]),
        "pg_table_is_visible" | "pg_type_is_visible" | "pg_function_is_visible" => {
            (C::IsVisible, VISIBLE)
        }
        "pg_get_expr" => (C::GetExpr, &[(&[T, I8], T), (&[T, I8, B], T)]),
        "obj_description" => (C::ObjDescription, &[(&[I8], T), (&[I8, T], T)]),
        "shobj_description" => (C::ObjDescription, &[(&[I8, T], T)]),
        "col_description" => (C::ColDescription, &[(&[I8, I4], T)]),
        "pg_get_userbyid" => (C::GetUserById, &[(&[I8], T)]),
        "has_table_privilege"
        | "has_schema_privilege"
        | "has_database_privilege"
        | "has_any_column_privilege"
        | "has_sequence_privilege"
        | "has_function_privilege" => (C::HasPrivilege, PRIVILEGE),
        "has_column_privilege" => (
            C::HasPrivilege,
            &[
                (&[T, T, T], B),
                (&[I8, T, T], B),
                (&[I8, DataType::Int2, T], B),
            ],
        ),
        "current_schema" => (C::CurrentSchema, &[(&[], T)]),
        "current_schemas" => (C::CurrentSchemas, &[(&[B], TA)]),
        "current_database" | "current_catalog" => (C::CurrentDatabase, &[(&[], T)]),
        "current_user" | "session_user" | "user" | "current_role" => (C::CurrentUser, &[(&[], T)]),
        "current_setting" => (C::CurrentSetting, &[(&[T], T), (&[T, B], T)]),
        "quote_ident" => (C::QuoteIdent, &[(&[T], T)]),
        "pg_get_constraintdef" => (C::GetConstraintDef, &[(&[I8], T), (&[I8, B], T)]),
        "pg_get_indexdef" => (C::GetIndexDef, &[(&[I8], T), (&[I8, I4, B], T)]),
        "pg_get_statisticsobjdef_columns" => (C::GetConstraintDef, &[(&[I8], T)]),
        "pg_get_viewdef" => (C::GetViewDef, &[(&[I8], T), (&[I8, B], T)]),
        "pg_encoding_to_char" => (C::EncodingToChar, &[(&[I4], T)]),
        "pg_backend_pid" => (C::BackendPid, &[(&[], I4)]),
        "pg_postmaster_start_time" | "pg_conf_load_time" => (C::PostmasterStartTime, &[(&[], TZ)]),
        "pg_relation_is_publishable" => (C::IsPublishable, VISIBLE),
        "pg_relation_size" | "pg_total_relation_size" | "pg_table_size" | "pg_indexes_size" => {
            (C::RelationSize, &[(&[I8], I8)])
        }
        "pg_size_pretty" => (C::SizePretty, &[(&[I8], T)]),
        "textregexeq" | "textregexne" | "texticregexeq" | "texticregexne" => (
            C::RegexMatch {
                case_insensitive: name.starts_with("textic"),
                negated: name.ends_with("ne"),
            },
            REGEX,
        ),
        _ => return None,
    })
}

fn int_arg(args: &[Datum], n: usize) -> Option<i64> {
    match args.get(n) {
        Some(Datum::Int(v)) => Some(*v),
        _ => None,
    }
}

fn text_arg(args: &[Datum], n: usize) -> Option<&str> {
    match args.get(n) {
        Some(Datum::Text(s)) => Some(s),
        _ => None,
    }
}

/// Evaluates `func` on `args`. Strict (NULL in, NULL out) except
/// `format_type`, which treats a NULL typmod as none.
pub(super) fn call(func: CatalogFunc, args: &[Datum], ctx: &EvalContext) -> SqlResult<Datum> {
    use CatalogFunc as C;
    let _ = ctx;
    if func == C::FormatType {
        return Ok(match int_arg(args, 0) {
            None => Datum::Null,
            Some(oid) => Datum::Text(oids::format_type(oid, int_arg(args, 1))),
        });
    }
    if args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    Ok(match func {
        C::FormatType => Datum::Null,
        C::IsVisible | C::HasPrivilege => Datum::Bool(true),
        C::IsPublishable => Datum::Bool(false),
        C::GetExpr => args.first().cloned().unwrap_or(Datum::Null),
        // The comments live in the catalog, which evaluation cannot reach
        // yet; `pg_description` serves them to joins meanwhile.
        C::ObjDescription | C::ColDescription | C::GetViewDef => Datum::Null,
        C::GetConstraintDef | C::GetIndexDef => Datum::Null,
        C::GetUserById => match int_arg(args, 0) {
            Some(oids::SUPERUSER_OID) => Datum::Text(DATABASE_NAME.into()),
            _ => Datum::Null,
        },
        C::CurrentSchema => Datum::Text("public".into()),
        C::CurrentSchemas => {
            let implicit = args.first() == Some(&Datum::Bool(true));
            let mut v = Vec::new();
            if implicit {
                v.push(Some("pg_catalog".to_owned()));
            }
            v.push(Some("public".to_owned()));
            Datum::TextArray(v)
        }
        C::CurrentDatabase => Datum::Text(DATABASE_NAME.into()),
        C::CurrentUser => Datum::Text(DATABASE_NAME.into()),
        C::CurrentSetting => {
            let name = text_arg(args, 0).unwrap_or("");
            let missing_ok = args.get(1) == Some(&Datum::Bool(true));
            match crate::catalog::system::default_setting(name) {
                Some(v) => Datum::Text(v.into()),
                None if missing_ok => Datum::Null,
                None => {
                    return Err(SqlError::new(
                        SqlState::UndefinedObject,
                        format!("unrecognized configuration parameter \"{name}\""),
                    ));
                }
            }
        }
        C::QuoteIdent => Datum::Text(quote_ident(text_arg(args, 0).unwrap_or(""))),
        C::EncodingToChar => Datum::Text(
            match int_arg(args, 0) {
                Some(0) => "SQL_ASCII",
                Some(6) => "UTF8",
                Some(8) => "LATIN1",
                _ => "",
            }
            .into(),
        ),
        C::BackendPid => Datum::Int(i64::from(std::process::id())),
        C::PostmasterStartTime => Datum::TimestampTz(ctx.now_micros),
        C::RelationSize => Datum::Int(0),
        C::SizePretty => Datum::Text(size_pretty(int_arg(args, 0).unwrap_or(0))),
        C::RegexMatch {
            case_insensitive,
            negated,
        } => {
            let s = text_arg(args, 0).unwrap_or("");
            let p = text_arg(args, 1).unwrap_or("");
            Datum::Bool(regex_match(s, p, case_insensitive)? != negated)
        }
    })
}

/// `quote_ident`: double-quotes an identifier unless it is a plain
/// lower-case name (keywords are not checked).
pub fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `pg_size_pretty(bigint)`.
fn size_pretty(bytes: i64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes;
    let mut unit = 0;
    // PostgreSQL switches unit when the value reaches 10 * 1024 (rounding).
    while v.unsigned_abs() >= 10 * 1024 - 1 && unit + 1 < units.len() {
        v = (v + v.signum() * 512) / 1024;
        unit += 1;
    }
    format!("{v} {}", units[unit])
}

/// `s ~ pattern` (POSIX regular expressions as far as the `regex-lite`
/// syntax agrees with them: anchors, classes, groups, alternation and
/// repetition; back-references are rejected with 22023 (PostgreSQL: 2201B)).
pub fn regex_match(s: &str, pattern: &str, case_insensitive: bool) -> SqlResult<bool> {
    if pattern.len() > REGEX_PATTERN_BYTES_MAX {
        return Err(SqlError::new(
            SqlState::ProgramLimitExceeded,
            format!("regular expression is longer than {REGEX_PATTERN_BYTES_MAX} bytes"),
        ));
    }
    let re = regex_lite::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_COMPILED_BYTES_MAX)
        .build()
        .map_err(|e| {
            SqlError::new(
                SqlState::InvalidParameterValue,
                format!("invalid regular expression: {e}"),
            )
        })?;
    Ok(re.is_match(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_operators() {
        assert_eq!(
            regex_match("pg_toast_1", "^pg_toast", false).ok(),
            Some(true)
        );
        assert_eq!(regex_match("users", "^(users)$", false).ok(), Some(true));
        assert_eq!(regex_match("users2", "^(users)$", false).ok(), Some(false));
        assert_eq!(regex_match("USERS", "^(users)$", true).ok(), Some(true));
        assert!(regex_match("x", "(", false).is_err());
    }

    #[test]
    fn quoting_and_sizes() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("Users"), "\"Users\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(size_pretty(0), "0 bytes");
        assert_eq!(size_pretty(20_000), "20 kB");
    }

    #[test]
    fn signatures_exist() {
        for n in [
            "format_type",
            "current_schemas",
            "textregexeq",
            "has_table_privilege",
        ] {
            assert!(signatures(n).is_some(), "{n}");
        }
    }
}
