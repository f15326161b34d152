//! `x AT TIME ZONE zone` and `timezone(zone, x)`, as PostgreSQL 15 has
//! them: a `timestamptz` becomes the wall-clock `timestamp` in `zone`, a
//! `timestamp` (read as wall-clock time in `zone`) becomes a
//! `timestamptz`. The zone is text (an abbreviation such as `'EST'`, a zone
//! name, or a POSIX spec, whose offsets count west: `'UTC+8'` is eight
//! hours behind) or an `interval` (east: `INTERVAL '+08:00'`).

use super::bind::Binder;
use super::bind_func::not_exist;
use super::cast::{zone_local_to_utc, zone_utc_to_local};
use super::coerce::coerce_or;
use super::datetime::{check_timestamp, format_interval};
use super::{Func, ScalarExpr};
use crate::index::encode::{MICROS_NEG_INFINITY, MICROS_POS_INFINITY};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::timezone::TimeZone;
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{self, Expr};
use std::cell::RefCell;

/// Whether `e` is `x AT TIME ZONE z` or a two-argument call of
/// `timezone` / `pg_catalog.timezone` (bound by [`bind`]).
pub(crate) fn is_at_time_zone(e: &Expr) -> bool {
    match e {
        Expr::AtTimeZone { .. } => true,
        Expr::Function(f) => call_args(f).is_some(),
        _ => false,
    }
}

/// The zone and value arguments of a plain `timezone(zone, x)` call.
fn call_args(f: &ast::Function) -> Option<(&Expr, &Expr)> {
    let name = match f.name.0.as_slice() {
        [n] => n.as_ident()?,
        [schema, n] if schema.as_ident()?.value.eq_ignore_ascii_case("pg_catalog") => {
            n.as_ident()?
        }
        _ => return None,
    };
    let folded = if name.quote_style.is_some() {
        name.value == "timezone"
    } else {
        name.value.eq_ignore_ascii_case("timezone")
    };
    if !folded || f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    match list.args.as_slice() {
        [zone, x] => Some((unnamed(zone)?, unnamed(x)?)),
        _ => None,
    }
}

fn unnamed(a: &ast::FunctionArg) -> Option<&Expr> {
    match a {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
        _ => None,
    }
}

/// Binds `x AT TIME ZONE zone` / `timezone(zone, x)` (`e` passed
/// [`is_at_time_zone`]): `timestamptz` → `timestamp`, `timestamp` →
/// `timestamptz`; an untyped or `date` value is taken as `timestamptz`
/// (PostgreSQL's preferred type), an untyped zone as text.
pub(crate) fn bind(b: &mut Binder<'_>, e: &Expr) -> SqlResult<ScalarExpr> {
    // PostgreSQL names the function it looked for as the operator form
    // resolves it: `pg_catalog.timezone`.
    let (zone, x, name) = match e {
        Expr::AtTimeZone {
            timestamp,
            time_zone,
        } => (
            time_zone.as_ref(),
            timestamp.as_ref(),
            "pg_catalog.timezone",
        ),
        Expr::Function(f) => {
            let (zone, x) = call_args(f).ok_or_else(|| SqlError::internal("not timezone()"))?;
            (zone, x, "timezone")
        }
        _ => return Err(SqlError::internal("not AT TIME ZONE")),
    };
    let (zone, x) = (b.expr(zone)?, b.expr(x)?);
    let (zt, xt) = (zone.ty(), x.ty());
    let missing = || not_exist(name, &[zt, xt]);
    let zone = match zt {
        DataType::Text | DataType::Interval => zone,
        DataType::Unknown => coerce_or(zone, DataType::Text, b.params, |_| missing())?,
        _ => return Err(missing()),
    };
    let (x, ty) = match xt {
        DataType::TimestampTz => (x, DataType::Timestamp),
        DataType::Timestamp => (x, DataType::TimestampTz),
        DataType::Unknown | DataType::Date => (
            coerce_or(x, DataType::TimestampTz, b.params, |_| missing())?,
            DataType::Timestamp,
        ),
        _ => return Err(missing()),
    };
    Ok(ScalarExpr::Function {
        func: Func::Timezone,
        args: vec![zone, x],
        ty,
    })
}

thread_local! {
    /// The last zone name looked up and what it resolved to: a column is
    /// usually converted in one zone.
    static LAST_ZONE: RefCell<Option<(String, TimeZone)>> = const { RefCell::new(None) };
}

/// The zone `name` names for `AT TIME ZONE`, or 22023 `time zone "x" not
/// recognized`.
fn zone_named(name: &str) -> SqlResult<TimeZone> {
    let cached = LAST_ZONE.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(n, _)| n == name)
            .map(|(_, tz)| tz.clone())
    });
    if let Some(tz) = cached {
        return Ok(tz);
    }
    let tz = TimeZone::for_at_time_zone(name).ok_or_else(|| {
        SqlError::new(
            SqlState::InvalidParameterValue,
            format!("time zone \"{name}\" not recognized"),
        )
    })?;
    LAST_ZONE.with(|c| *c.borrow_mut() = Some((name.to_owned(), tz.clone())));
    Ok(tz)
}

/// Evaluates `timezone(zone, x)` on non-NULL arguments.
pub(crate) fn eval(zone: &Datum, x: &Datum) -> SqlResult<Datum> {
    let tz = match zone {
        Datum::Text(name) => zone_named(name)?,
        Datum::Interval(iv) => {
            if iv.months != 0 || iv.days != 0 {
                return Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    format!(
                        "interval time zone \"{}\" must not include months or days",
                        format_interval(iv)
                    ),
                ));
            }
            // Whole seconds, truncated as PostgreSQL does; a week at most.
            let secs = (iv.micros / 1_000_000).clamp(-(1 << 30), 1 << 30);
            TimeZone::fixed(secs as i32)
        }
        _ => return Err(SqlError::internal("timezone() zone of an unexpected type")),
    };
    let finite = |m: i64| m != MICROS_POS_INFINITY && m != MICROS_NEG_INFINITY;
    match x {
        Datum::TimestampTz(m) if !finite(*m) => Ok(Datum::Timestamp(*m)),
        Datum::Timestamp(m) if !finite(*m) => Ok(Datum::TimestampTz(*m)),
        Datum::TimestampTz(m) => Ok(Datum::Timestamp(check_timestamp(i128::from(
            zone_utc_to_local(*m, &tz)?,
        ))?)),
        Datum::Timestamp(m) => Ok(Datum::TimestampTz(check_timestamp(i128::from(
            zone_local_to_utc(*m, &tz)?,
        ))?)),
        _ => Err(SqlError::internal("timezone() of an unexpected type")),
    }
}
