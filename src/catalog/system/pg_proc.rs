//! `pg_proc` and `pg_operator`, and the name lookups of `regproc`,
//! `regprocedure`, `regoper` and `regoperator` over them.
//!
//! The rows are PostgreSQL 15's (real oids), for the functions and
//! operators audb has (see [`pg_proc_data`](super::pg_proc_data)). Every
//! function lives in `pg_catalog`, which is always on the search path, so
//! names print unqualified unless they are ambiguous, as PostgreSQL's
//! `regprocout` does.

use super::oids::{self, PG_CATALOG_NAMESPACE, SUPERUSER_OID};
use super::pg_proc_data::{OPERATORS, PROCS, TYPE_IO};
use super::{OID, REGPROC, b, functions, i, rel, t, type_name};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::relation::Relation;
use crate::sql::types::{DataType, Datum};

/// One `pg_proc` row.
#[derive(Clone, Copy, Debug)]
pub(super) struct ProcRow {
    /// `oid`.
    pub oid: i64,
    /// `proname`.
    pub name: &'static str,
    /// `prokind` (`f`, `a`, `w`).
    pub kind: u8,
    /// `proargtypes`.
    pub args: &'static [i64],
    /// `prorettype`.
    pub ret: i64,
    /// `proretset`.
    pub retset: bool,
    /// `proisstrict`.
    pub strict: bool,
    /// `provolatile`.
    pub volatile: u8,
    /// `proparallel`.
    pub parallel: u8,
    /// `provariadic`.
    pub variadic: i64,
    /// `pronargdefaults`.
    pub nargdefaults: i16,
    /// `prolang`.
    pub lang: i64,
    /// `procost`.
    pub cost: f64,
    /// `prorows`.
    pub rows: f64,
    /// `prosrc`.
    pub src: &'static str,
}

/// A [`ProcRow`] (positional, for the generated table).
#[allow(clippy::too_many_arguments)]
pub(super) const fn proc(
    oid: i64,
    name: &'static str,
    kind: u8,
    args: &'static [i64],
    ret: i64,
    retset: bool,
    strict: bool,
    volatile: u8,
    parallel: u8,
    variadic: i64,
    nargdefaults: i16,
    lang: i64,
    cost: f64,
    rows: f64,
    src: &'static str,
) -> ProcRow {
    ProcRow {
        oid,
        name,
        kind,
        args,
        ret,
        retset,
        strict,
        volatile,
        parallel,
        variadic,
        nargdefaults,
        lang,
        cost,
        rows,
        src,
    }
}

/// One `pg_operator` row.
#[derive(Clone, Copy, Debug)]
pub(super) struct OprRow {
    /// `oid`.
    pub oid: i64,
    /// `oprname`.
    pub name: &'static str,
    /// `oprkind` (`b` infix, `l` prefix).
    pub kind: u8,
    /// `oprleft` (0 for a prefix operator).
    pub left: i64,
    /// `oprright`.
    pub right: i64,
    /// `oprresult`.
    pub result: i64,
    /// `oprcom`.
    pub com: i64,
    /// `oprnegate`.
    pub negate: i64,
    /// `oprcode`, `oprrest`, `oprjoin`.
    pub funcs: [i64; 3],
    /// `oprcanmerge`.
    pub merge: bool,
    /// `oprcanhash`.
    pub hash: bool,
}

/// An [`OprRow`] (positional, for the generated table).
#[allow(clippy::too_many_arguments)]
pub(super) const fn opr(
    oid: i64,
    name: &'static str,
    kind: u8,
    left: i64,
    right: i64,
    result: i64,
    com: i64,
    negate: i64,
    funcs: [i64; 3],
    merge: bool,
    hash: bool,
) -> OprRow {
    OprRow {
        oid,
        name,
        kind,
        left,
        right,
        result,
        com,
        negate,
        funcs,
        merge,
        hash,
    }
}

/// The `pg_type` columns of a built-in type that [`oids::BuiltinType`]
/// does not carry.
#[derive(Clone, Copy, Debug)]
pub(super) struct IoRow {
    /// The type's oid.
    pub oid: i64,
    /// `typinput`, `typoutput`, `typreceive`, `typsend`, `typmodin`,
    /// `typmodout`, `typanalyze`, `typsubscript` (function oids, 0: none).
    pub funcs: [i64; 8],
    /// `typbyval`.
    pub byval: bool,
    /// `typalign`.
    pub align: u8,
    /// `typstorage`.
    pub storage: u8,
    /// `typispreferred`.
    pub preferred: bool,
    /// `typdelim`.
    pub delim: u8,
    /// `typcollation`.
    pub collation: i64,
}

/// An [`IoRow`] (positional, for the generated table).
#[allow(clippy::too_many_arguments)]
pub(super) const fn io(
    oid: i64,
    funcs: [i64; 8],
    byval: bool,
    align: u8,
    storage: u8,
    preferred: bool,
    delim: u8,
    collation: i64,
) -> IoRow {
    IoRow {
        oid,
        funcs,
        byval,
        align,
        storage,
        preferred,
        delim,
        collation,
    }
}

/// The I/O columns of built-in type `oid`.
pub(super) fn type_io(oid: i64) -> Option<&'static IoRow> {
    TYPE_IO
        .binary_search_by_key(&oid, |r| r.oid)
        .ok()
        .and_then(|p| TYPE_IO.get(p))
}

fn proc_by_oid(oid: i64) -> Option<&'static ProcRow> {
    PROCS
        .binary_search_by_key(&oid, |r| r.oid)
        .ok()
        .and_then(|p| PROCS.get(p))
}

fn opr_by_oid(oid: i64) -> Option<&'static OprRow> {
    OPERATORS
        .binary_search_by_key(&oid, |r| r.oid)
        .ok()
        .and_then(|p| OPERATORS.get(p))
}

const CHAR: fn(u8) -> Datum = |c| Datum::Text(char::from(c).to_string());

const PG_PROC: &[(&str, DataType)] = &[
    ("oid", OID),
    ("proname", DataType::Text),
    ("pronamespace", OID),
    ("proowner", OID),
    ("prolang", OID),
    ("procost", DataType::Float4),
    ("prorows", DataType::Float4),
    ("provariadic", OID),
    ("prosupport", REGPROC),
    ("prokind", DataType::Text),
    ("prosecdef", DataType::Bool),
    ("proleakproof", DataType::Bool),
    ("proisstrict", DataType::Bool),
    ("proretset", DataType::Bool),
    ("provolatile", DataType::Text),
    ("proparallel", DataType::Text),
    ("pronargs", DataType::Int2),
    ("pronargdefaults", DataType::Int2),
    ("prorettype", OID),
    ("proargtypes", DataType::OidVector),
    ("proallargtypes", super::OID_ARRAY),
    ("proargmodes", DataType::TextArray),
    ("proargnames", DataType::TextArray),
    ("proargdefaults", DataType::Text),
    ("protrftypes", super::OID_ARRAY),
    ("prosrc", DataType::Text),
    ("probin", DataType::Text),
    ("prosqlbody", DataType::Text),
    ("proconfig", DataType::TextArray),
    ("proacl", DataType::TextArray),
];

const PG_OPERATOR: &[(&str, DataType)] = &[
    ("oid", OID),
    ("oprname", DataType::Text),
    ("oprnamespace", OID),
    ("oprowner", OID),
    ("oprkind", DataType::Text),
    ("oprcanmerge", DataType::Bool),
    ("oprcanhash", DataType::Bool),
    ("oprleft", OID),
    ("oprright", OID),
    ("oprresult", OID),
    ("oprcom", OID),
    ("oprnegate", OID),
    ("oprcode", REGPROC),
    ("oprrest", REGPROC),
    ("oprjoin", REGPROC),
];

/// `pg_proc`.
pub(super) fn pg_proc() -> Relation {
    let n = Datum::Null;
    let rows = PROCS
        .iter()
        .map(|p| {
            vec![
                i(p.oid),
                t(p.name),
                i(PG_CATALOG_NAMESPACE),
                i(SUPERUSER_OID),
                i(p.lang),
                Datum::Float(p.cost),
                Datum::Float(p.rows),
                i(p.variadic),
                i(0),
                CHAR(p.kind),
                b(false),
                b(false),
                b(p.strict),
                b(p.retset),
                CHAR(p.volatile),
                CHAR(p.parallel),
                i(i16::try_from(p.args.len()).unwrap_or(i16::MAX)),
                i(p.nargdefaults),
                i(p.ret),
                Datum::Array(p.args.iter().map(|a| i(*a)).collect()),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                t(p.src),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
            ]
        })
        .collect();
    rel(PG_PROC, rows)
}

/// `pg_operator`.
pub(super) fn pg_operator() -> Relation {
    let rows = OPERATORS
        .iter()
        .map(|o| {
            vec![
                i(o.oid),
                t(o.name),
                i(PG_CATALOG_NAMESPACE),
                i(SUPERUSER_OID),
                CHAR(o.kind),
                b(o.merge),
                b(o.hash),
                i(o.left),
                i(o.right),
                i(o.result),
                i(o.com),
                i(o.negate),
                i(o.funcs[0]),
                i(o.funcs[1]),
                i(o.funcs[2]),
            ]
        })
        .collect();
    rel(PG_OPERATOR, rows)
}

/// The name of function `oid` as `regproc` prints it (qualified when the
/// name alone is ambiguous), or `None` for an unknown oid.
pub(super) fn regproc_name(oid: i64) -> Option<String> {
    let p = proc_by_oid(oid)?;
    let unique = PROCS.iter().filter(|q| q.name == p.name).count() == 1;
    let name = crate::sql::scalar::quote_ident(p.name);
    Some(if unique {
        name
    } else {
        format!("pg_catalog.{name}")
    })
}

/// `regprocedure` output: `name(argtype,…)`.
pub(super) fn regprocedure_name(oid: i64) -> Option<String> {
    let p = proc_by_oid(oid)?;
    let args: Vec<String> = p.args.iter().map(|a| oids::format_type(*a, None)).collect();
    Some(format!(
        "{}({})",
        crate::sql::scalar::quote_ident(p.name),
        args.join(",")
    ))
}

/// The name of operator `oid` as `regoper` prints it.
pub(super) fn regoper_name(oid: i64) -> Option<String> {
    let o = opr_by_oid(oid)?;
    let unique = OPERATORS.iter().filter(|q| q.name == o.name).count() == 1;
    Some(if unique {
        o.name.to_owned()
    } else {
        format!("pg_catalog.{}", o.name)
    })
}

/// `regoperator` output: `name(lefttype,righttype)`, `NONE` for a prefix
/// operator's left side.
pub(super) fn regoperator_name(oid: i64) -> Option<String> {
    let o = opr_by_oid(oid)?;
    let side = |t: i64| {
        if t == 0 {
            "NONE".to_owned()
        } else {
            oids::format_type(t, None)
        }
    };
    Some(format!("{}({},{})", o.name, side(o.left), side(o.right)))
}

/// Splits `[schema.]name` of a function; `None` when the schema is one
/// where no function lives (the name then matches nothing).
fn function_name(s: &str) -> SqlResult<Option<String>> {
    let parts = functions::parse_ident(s, true)
        .map_err(|_| SqlError::new(SqlState::InvalidName, "invalid name syntax"))?;
    match parts.as_slice() {
        [name] => Ok(Some(name.clone())),
        [schema, name] => schema_holds_functions(schema).map(|ok| ok.then(|| name.clone())),
        _ => Err(SqlError::new(
            SqlState::SyntaxError,
            format!(
                "improper qualified name (too many dotted names): {}",
                parts.join(".")
            ),
        )),
    }
}

/// Whether `schema` is `pg_catalog`; 3F000 when no such schema exists.
fn schema_holds_functions(schema: &str) -> SqlResult<bool> {
    if oids::namespace_oid(schema).is_none() {
        return Err(SqlError::new(
            SqlState::InvalidSchemaName,
            format!("schema \"{schema}\" does not exist"),
        ));
    }
    Ok(schema == "pg_catalog")
}

/// `regprocin` for a name: the one function so named (42883 if none,
/// 42725 if several).
pub(super) fn regproc_in(s: &str) -> SqlResult<i64> {
    let name = function_name(s)?;
    let mut hits = PROCS.iter().filter(|p| Some(p.name) == name.as_deref());
    match (hits.next(), hits.next()) {
        (Some(p), None) => Ok(p.oid),
        (None, _) => Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!("function \"{s}\" does not exist"),
        )),
        (Some(_), Some(_)) => Err(SqlError::new(
            SqlState::AmbiguousFunction,
            format!("more than one function named \"{s}\""),
        )),
    }
}

/// Splits `name(arg, …)` into the name and the argument type names, as
/// PostgreSQL's `parseNameAndArgTypes`.
fn name_and_args(s: &str) -> SqlResult<(&str, Vec<&str>)> {
    let syntax = |m: &str| SqlError::new(SqlState::InvalidTextRepresentation, m.to_owned());
    let mut in_quote = false;
    let mut open = None;
    for (n, c) in s.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '(' if !in_quote => {
                open = Some(n);
                break;
            }
            _ => {}
        }
    }
    let open = open.ok_or_else(|| syntax("expected a left parenthesis"))?;
    let rest = s[open + 1..].trim_end();
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| syntax("expected a right parenthesis"))?;
    let mut args = Vec::new();
    if !inner.trim().is_empty() {
        let (mut depth, mut start, mut quoted) = (0_i32, 0, false);
        for (n, c) in inner.char_indices() {
            match c {
                '"' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => depth -= 1,
                ',' if !quoted && depth == 0 => {
                    args.push(inner[start..n].trim());
                    start = n + 1;
                }
                _ => {}
            }
        }
        args.push(inner[start..].trim());
        if args.iter().any(|a| a.is_empty()) {
            return Err(syntax("expected a type name"));
        }
    }
    Ok((s[..open].trim(), args))
}

/// The most arguments a function takes (PostgreSQL's `FUNC_MAX_ARGS`).
const FUNC_MAX_ARGS: usize = 100;

/// The type of each argument in order, by `type_oid`; 54023 at the
/// argument past [`FUNC_MAX_ARGS`], as PostgreSQL's
/// `parseNameAndArgTypes`.
fn arg_types(args: &[&str], type_oid: impl Fn(&str) -> SqlResult<i64>) -> SqlResult<Vec<i64>> {
    let mut out = Vec::with_capacity(args.len().min(FUNC_MAX_ARGS));
    for a in args {
        if out.len() >= FUNC_MAX_ARGS {
            return Err(SqlError::new(
                SqlState::TooManyArguments,
                "too many arguments",
            ));
        }
        out.push(type_oid(a)?);
    }
    Ok(out)
}

/// `regprocedurein`: `name(type, …)`.
pub(super) fn regprocedure_in(s: &str) -> SqlResult<i64> {
    let (name, args) = name_and_args(s)?;
    let name = function_name(name)?;
    let types = arg_types(&args, type_name::type_oid)?;
    PROCS
        .iter()
        .find(|p| Some(p.name) == name.as_deref() && p.args == types.as_slice())
        .map(|p| p.oid)
        .ok_or_else(|| {
            SqlError::new(
                SqlState::UndefinedFunction,
                format!("function \"{s}\" does not exist"),
            )
        })
}

/// An operator name, optionally `pg_catalog.`-qualified.
fn operator_name(s: &str) -> SqlResult<Option<&str>> {
    let s = s.trim();
    match s.rsplit_once('.') {
        Some((schema, name)) if !name.is_empty() && !schema.is_empty() => {
            let schema = functions::parse_ident(schema, true)
                .map_err(|_| SqlError::new(SqlState::InvalidName, "invalid name syntax"))?;
            match schema.as_slice() {
                [schema] => schema_holds_functions(schema).map(|ok| ok.then_some(name)),
                _ => Err(SqlError::new(SqlState::InvalidName, "invalid name syntax")),
            }
        }
        _ => Ok(Some(s)),
    }
}

/// `regoperin`: the one operator so named (42883 if none, 42725 if
/// several).
pub(super) fn regoper_in(s: &str) -> SqlResult<i64> {
    let name = operator_name(s)?;
    let mut hits = OPERATORS.iter().filter(|o| Some(o.name) == name);
    match (hits.next(), hits.next()) {
        (Some(o), None) => Ok(o.oid),
        (None, _) => Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {s}"),
        )),
        (Some(_), Some(_)) => Err(SqlError::new(
            SqlState::AmbiguousFunction,
            format!("more than one operator named {s}"),
        )),
    }
}

/// `regoperatorin`: `name(lefttype, righttype)`, `NONE` for a missing side.
pub(super) fn regoperator_in(s: &str) -> SqlResult<i64> {
    let (name, args) = name_and_args(s)?;
    // PostgreSQL resolves every type before it counts them (`+(a,b,c)` is
    // 42704 for `a`), and only one type is a missing argument.
    let types = arg_types(&args, |a| {
        if a.eq_ignore_ascii_case("none") {
            Ok(0)
        } else {
            type_name::type_oid(a)
        }
    })?;
    let [l, r] = types.as_slice() else {
        return Err(if types.len() == 1 {
            SqlError::new(SqlState::UndefinedParameter, "missing argument")
                .with_hint("Use NONE to denote the missing argument of a unary operator.")
        } else {
            SqlError::new(SqlState::TooManyArguments, "too many arguments")
                .with_hint("Provide two argument types for operator.")
        });
    };
    let (l, r) = (*l, *r);
    let name = operator_name(name)?;
    OPERATORS
        .iter()
        .find(|o| Some(o.name) == name && o.left == l && o.right == r)
        .map(|o| o.oid)
        .ok_or_else(|| {
            SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {s}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_by_oid() {
        assert!(PROCS.windows(2).all(|w| w[0].oid < w[1].oid));
        assert!(OPERATORS.windows(2).all(|w| w[0].oid < w[1].oid));
        assert!(TYPE_IO.windows(2).all(|w| w[0].oid < w[1].oid));
        for ty in oids::BUILTIN_TYPES {
            assert!(type_io(ty.oid).is_some(), "{}", ty.name);
        }
    }

    #[test]
    fn names_resolve_like_postgres() {
        let code = |r: SqlResult<i64>| r.map_err(|e| e.state.code());
        assert_eq!(code(regproc_in("now")), Ok(1299));
        assert_eq!(code(regproc_in("pg_catalog.NOW")), Ok(1299));
        assert_eq!(code(regproc_in("lower")), Err("42725"));
        assert_eq!(code(regproc_in("nosuch")), Err("42883"));
        assert_eq!(code(regproc_in("public.now")), Err("42883"));
        assert_eq!(code(regproc_in("nosuch.now")), Err("3F000"));
        assert_eq!(code(regprocedure_in("lower(text)")), Ok(870));
        assert_eq!(code(regprocedure_in("now( )")), Ok(1299));
        assert_eq!(code(regprocedure_in("lower(int4)")), Err("42883"));
        assert_eq!(code(regprocedure_in("lower")), Err("22P02"));
        assert_eq!(code(regoper_in("+")), Err("42725"));
        assert_eq!(code(regoperator_in("+(int4,int4)")), Ok(551));
        assert_eq!(code(regoperator_in("+(integer, integer)")), Ok(551));
        assert_eq!(code(regoperator_in("+(int4)")), Err("42P02"));
        assert_eq!(code(regoperator_in("+(int4,int4,int4)")), Err("54023"));
        assert_eq!(code(regoperator_in("+()")), Err("54023"));
        assert_eq!(code(regoperator_in("+(a,b,c)")), Err("42704"));
        let many = vec!["int4"; 101].join(",");
        assert_eq!(code(regprocedure_in(&format!("abs({many})"))), Err("54023"));
        assert_eq!(regproc_name(1299).as_deref(), Some("now"));
        assert_eq!(regproc_name(870).as_deref(), Some("pg_catalog.lower"));
        assert_eq!(regprocedure_name(870).as_deref(), Some("lower(text)"));
        assert_eq!(regoper_name(551).as_deref(), Some("pg_catalog.+"));
        assert_eq!(regoperator_name(551).as_deref(), Some("+(integer,integer)"));
    }
}
