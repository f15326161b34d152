//! The catalog and session functions clients call while discovering the
//! schema (`format_type`, `pg_table_is_visible`, `obj_description`,
//! `current_schema`, `has_table_privilege`, …) and the regular-expression
//! match functions behind `~`, `~*`, `!~`, `!~*`.
//!
//! Functions whose answer lives in the stored catalog (`obj_description`,
//! `col_description`, `pg_get_viewdef`) or in the session
//! (`current_setting`, `current_user`) ask the [`CatalogAccess`] the
//! [`EvalContext`] carries; without one (constant folding, tests) they
//! answer from PostgreSQL's defaults. `set_config` records its change
//! there too, for the session to apply after the statement.
//!
//! `to_regclass` and friends return object-identifier types
//! ([`DataType::Reg`]); their input and output live in `regclass`.

use super::EvalContext;
use crate::catalog::system::{DATABASE_NAME, functions, oids};
use crate::sql::error::{SqlError, SqlResult, SqlState};
pub use crate::sql::types::RegKind;
use crate::sql::types::{DataType, Datum};
use std::sync::Arc;

/// What catalog functions read from the database and the session: built
/// once per statement from its snapshot and the session's settings.
pub trait CatalogAccess: Send + Sync {
    /// The session's value of setting `name` (any case), if it has one.
    fn setting(&self, name: &str) -> Option<String>;
    /// The session user.
    fn user(&self) -> String;
    /// The oid of relation `name` (unquoted, without schema) in `schema`
    /// (`None`: the search path).
    fn relation_oid(&self, schema: Option<&str>, name: &str) -> Option<i64>;
    /// The name of relation `oid` (quoted where needed).
    fn relation_name(&self, oid: i64) -> Option<String>;
    /// The comment on object `oid` (`subid` 0) or its column `subid`.
    fn description(&self, oid: i64, subid: i64) -> Option<String>;
    /// The defining query of view `oid`.
    fn view_definition(&self, oid: i64) -> Option<String>;
    /// `pg_get_constraintdef`: the definition of constraint `oid`.
    fn constraint_definition(&self, oid: i64) -> Option<String>;
    /// `pg_get_indexdef`: index `oid`'s `CREATE INDEX` (`column` 0) or the
    /// name of its `column`-th key column.
    fn index_definition(&self, oid: i64, column: i64) -> Option<String>;
    /// `set_config(name, value, is_local)`: checks and records the change
    /// (a NULL `value` resets to the default) for the session to apply
    /// when the statement succeeds; later reads of [`Self::setting`] in
    /// the statement see it. Returns the new value as `SHOW` prints it.
    fn set_setting(
        &self,
        name: Option<&str>,
        value: Option<&str>,
        local: bool,
    ) -> SqlResult<Option<String>> {
        let _ = (name, value, local);
        Err(SqlError::unsupported("set_config outside a session"))
    }
}

/// The catalog handle of an [`EvalContext`].
#[derive(Clone)]
pub struct CatalogHandle(pub Arc<dyn CatalogAccess>);

impl std::fmt::Debug for CatalogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogHandle")
    }
}

impl PartialEq for CatalogHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

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
    /// `set_config(name, value, is_local)` (not strict: a NULL value
    /// resets, a NULL `is_local` is false).
    SetConfig,
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
    /// `to_regclass(text)` and friends: the oid, or NULL for unknown names.
    ToReg(RegKind),
    /// `format(fmt, args…)` with `%s`, `%I`, `%L` and `%%`.
    Format,
    /// `parse_ident(text)`: the parts of a qualified identifier.
    ParseIdent,
    /// Functions of objects audb never has (`pg_get_function_result`,
    /// `pg_get_partkeydef`, …): NULL.
    NoObject,
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
        "pg_table_is_visible"
        | "pg_type_is_visible"
        | "pg_function_is_visible"
        | "pg_collation_is_visible" => (C::IsVisible, VISIBLE),
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
        "set_config" => (C::SetConfig, &[(&[T, T, B], T)]),
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
        "to_regclass" => (
            C::ToReg(RegKind::Class),
            &[(&[T], DataType::Reg(RegKind::Class))],
        ),
        "to_regtype" => (
            C::ToReg(RegKind::Type),
            &[(&[T], DataType::Reg(RegKind::Type))],
        ),
        "to_regnamespace" => (
            C::ToReg(RegKind::Namespace),
            &[(&[T], DataType::Reg(RegKind::Namespace))],
        ),
        "to_regproc" => (
            C::ToReg(RegKind::Proc),
            &[(&[T], DataType::Reg(RegKind::Proc))],
        ),
        "to_regprocedure" => (
            C::ToReg(RegKind::Procedure),
            &[(&[T], DataType::Reg(RegKind::Procedure))],
        ),
        "to_regoper" => (
            C::ToReg(RegKind::Oper),
            &[(&[T], DataType::Reg(RegKind::Oper))],
        ),
        "to_regoperator" => (
            C::ToReg(RegKind::Operator),
            &[(&[T], DataType::Reg(RegKind::Operator))],
        ),
        "to_regrole" => (
            C::ToReg(RegKind::Role),
            &[(&[T], DataType::Reg(RegKind::Role))],
        ),
        "format" => (
            C::Format,
            &[
                (&[T], T),
                (&[T, T], T),
                (&[T, T, T], T),
                (&[T, T, T, T], T),
                (&[T, T, T, T, T], T),
                (&[T, T, T, T, T, T], T),
            ],
        ),
        "parse_ident" => (C::ParseIdent, &[(&[T], TA), (&[T, B], TA)]),
        "pg_get_function_result"
        | "pg_get_function_arguments"
        | "pg_get_function_identity_arguments"
        | "pg_get_partkeydef"
        | "pg_get_triggerdef"
        | "pg_get_ruledef" => (C::NoObject, &[(&[I8], T), (&[I8, B], T)]),
        "pg_get_serial_sequence" => (C::NoObject, &[(&[T, T], T)]),
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
    let cat = ctx.catalog.as_ref().map(|h| h.0.as_ref());
    match func {
        C::FormatType => {
            return Ok(match int_arg(args, 0) {
                None => Datum::Null,
                Some(oid) => Datum::Text(oids::format_type(oid, int_arg(args, 1))),
            });
        }
        C::Format => return functions::format(args).map(Datum::Text),
        C::SetConfig => {
            let Some(cat) = cat else {
                return Err(SqlError::unsupported("set_config outside a session"));
            };
            let local = args.get(2) == Some(&Datum::Bool(true));
            return Ok(cat
                .set_setting(text_arg(args, 0), text_arg(args, 1), local)?
                .map_or(Datum::Null, Datum::Text));
        }
        _ => {}
    }
    if args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let catalog_answer = |f: &dyn Fn(&dyn CatalogAccess) -> Option<String>| {
        cat.and_then(f).map_or(Datum::Null, Datum::Text)
    };
    let oid = int_arg(args, 0).unwrap_or(0);
    Ok(match func {
        C::FormatType | C::SetConfig => Datum::Null,
        C::IsVisible | C::HasPrivilege => Datum::Bool(true),
        C::IsPublishable => Datum::Bool(false),
        C::GetExpr => args.first().cloned().unwrap_or(Datum::Null),
        C::ObjDescription => {
            // `obj_description(oid, 'pg_class')`: only relations and the
            // public schema have comments.
            let catalog = text_arg(args, 1);
            match catalog {
                None | Some("pg_class") => catalog_answer(&|c| c.description(oid, 0)),
                Some("pg_namespace") if oid == oids::PUBLIC_NAMESPACE => {
                    Datum::Text("standard public schema".into())
                }
                Some(_) => Datum::Null,
            }
        }
        C::ColDescription => {
            let sub = int_arg(args, 1).unwrap_or(0);
            if sub <= 0 {
                Datum::Null
            } else {
                catalog_answer(&|c| c.description(oid, sub))
            }
        }
        C::GetViewDef => catalog_answer(&|c| c.view_definition(oid)),
        C::GetConstraintDef => catalog_answer(&|c| c.constraint_definition(oid)),
        C::GetIndexDef => {
            let column = int_arg(args, 1).unwrap_or(0);
            catalog_answer(&|c| c.index_definition(oid, column))
        }
        C::NoObject => Datum::Null,
        C::GetUserById => match int_arg(args, 0) {
            Some(oids::SUPERUSER_OID) => {
                Datum::Text(cat.map_or_else(|| DATABASE_NAME.into(), |c| c.user()))
            }
            _ => Datum::Null,
        },
        C::ToReg(kind) => match functions::reg_lookup(kind, text_arg(args, 0).unwrap_or(""), cat) {
            Ok(Some(oid)) => Datum::Int(oid),
            Err(e) if to_reg_raises(kind, &e) => return Err(e),
            _ => Datum::Null,
        },
        C::Format => Datum::Null,
        C::ParseIdent => {
            let strict = args.get(1) != Some(&Datum::Bool(false));
            let parts = functions::parse_ident(text_arg(args, 0).unwrap_or(""), strict)?;
            Datum::TextArray(parts.into_iter().map(Some).collect())
        }
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
        C::CurrentUser => Datum::Text(cat.map_or_else(|| DATABASE_NAME.into(), |c| c.user())),
        C::CurrentSetting => {
            let name = text_arg(args, 0).unwrap_or("");
            let missing_ok = args.get(1) == Some(&Datum::Bool(true));
            let value = cat
                .and_then(|c| c.setting(name))
                .or_else(|| crate::catalog::system::default_value(name));
            match value {
                Some(v) => Datum::Text(v),
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

/// Whether `to_regoperator` and its kin raise `e` rather than return NULL:
/// PostgreSQL 15 returns NULL only for an object (or schema) that is not
/// there, and raises malformed input (22P02, 42601), a wrong argument
/// count (54023, 42P02) and, in a signature, an unknown argument type
/// (42704: `to_regprocedure('abs(nosuch)')`).
fn to_reg_raises(kind: RegKind, e: &SqlError) -> bool {
    match e.state {
        SqlState::InvalidTextRepresentation
        | SqlState::SyntaxError
        | SqlState::TooManyArguments
        | SqlState::UndefinedParameter => true,
        SqlState::UndefinedObject => matches!(kind, RegKind::Procedure | RegKind::Operator),
        _ => false,
    }
}

/// `quote_ident` (PostgreSQL's `quote_identifier`): double-quotes an
/// identifier unless it is a plain lower-case name that is not a reserved
/// (or otherwise not unreserved) keyword.
pub fn quote_ident(s: &str) -> String {
    if super::regclass::needs_quotes(s) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
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
        assert_eq!(quote_ident("user"), "\"user\"");
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
