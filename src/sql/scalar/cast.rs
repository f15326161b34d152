//! Casts between SQL types with PostgreSQL's explicit-cast semantics:
//! rounding rules (numeric rounds half away from zero, floats half to even),
//! range errors, and text input through each type's input function.

use super::datetime::{self, DAY_MICROS};
use super::format::format_text;
use super::regclass::{oid_from_int8, reg_in, wrap_oid};
use super::text::parse_text_array;
use super::{CharLength, EvalContext};
use crate::index::encode::{
    EncodeError, MICROS_NEG_INFINITY, MICROS_POS_INFINITY, parse_date, parse_f32, parse_f64,
    parse_timestamp, parse_timestamptz,
};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::timezone::{TimeZone, ZoneInputError, has_numeric_offset, split_zone};
use crate::sql::types::{DataType, Datum};

/// 22003 `integer out of range` and its smallint/bigint siblings.
pub(crate) fn int_out_of_range(ty: DataType) -> SqlError {
    let name = match ty {
        DataType::Int2 => "smallint",
        DataType::Int8 => "bigint",
        _ => "integer",
    };
    SqlError::new(
        SqlState::NumericValueOutOfRange,
        format!("{name} out of range"),
    )
}

/// Checks that `v` fits integer type `ty`.
pub(crate) fn fit_int(v: i128, ty: DataType) -> SqlResult<i64> {
    let (lo, hi) = match ty {
        DataType::Int2 => (i128::from(i16::MIN), i128::from(i16::MAX)),
        DataType::Int4 => (i128::from(i32::MIN), i128::from(i32::MAX)),
        _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
    };
    if (lo..=hi).contains(&v) {
        Ok(v as i64)
    } else {
        Err(int_out_of_range(ty))
    }
}

/// 22003 for float results out of range.
pub(crate) fn float_overflow() -> SqlError {
    SqlError::new(
        SqlState::NumericValueOutOfRange,
        "value out of range: overflow",
    )
}

/// 22003 for nonzero float results that underflow to zero.
pub(crate) fn float_underflow() -> SqlError {
    SqlError::new(
        SqlState::NumericValueOutOfRange,
        "value out of range: underflow",
    )
}

/// An `f64` narrowed to `real`, with PostgreSQL's range checks.
pub(crate) fn to_f32(v: f64) -> SqlResult<f64> {
    let r = v as f32;
    if r.is_infinite() && !v.is_infinite() {
        return Err(float_overflow());
    }
    if r == 0.0 && v != 0.0 {
        return Err(float_underflow());
    }
    Ok(f64::from(r))
}

fn cannot_cast(from: DataType, to: DataType) -> SqlError {
    SqlError::new(
        SqlState::CannotCoerce,
        format!("cannot cast type {} to {}", from.name(), to.name()),
    )
}

fn bad_value(from: DataType, to: DataType) -> SqlError {
    SqlError::internal(format!(
        "value does not match its type in cast from {} to {}",
        from.name(),
        to.name()
    ))
}

/// Casts `d` from type `from` to type `to` with explicit-cast semantics
/// (`CAST(d AS to)`): `1.5::int` = 2, `2.5::float8::int` = 2,
/// `'1.5'::int` is 22P02, `300::int2::int`… NULL stays NULL. Timestamps with
/// time zone use `ctx.timezone`; `'now'`/`'today'` use
/// `ctx.now_micros`.
pub fn cast(d: Datum, from: DataType, to: DataType, ctx: &EvalContext) -> SqlResult<Datum> {
    use DataType as T;
    if d.is_null() {
        return Ok(Datum::Null);
    }
    let from = if from == T::Unknown { T::Text } else { from };
    if to == T::Text || to == T::Unknown {
        return Ok(match d {
            Datum::Text(s) => Datum::Text(s),
            d => format_text(&d, from, ctx).map_or(Datum::Null, Datum::Text),
        });
    }
    match (d, from, to) {
        (Datum::Text(s), _, _) => parse_text(&s, to, ctx),
        (Datum::Int(v), f, t) if f.is_integer() && t.is_integer() => {
            Ok(Datum::Int(fit_int(i128::from(v), t)?))
        }
        (Datum::Int(v), T::Reg(_), T::Reg(_) | T::Int8) => Ok(Datum::Int(v)),
        // oid → integer reinterprets the 32 bits (4294967295 is -1).
        (Datum::Int(v), T::Reg(_), T::Int4) => Ok(Datum::Int(i64::from(v as u32 as i32))),
        (Datum::Int(v), T::Int8, T::Reg(_)) => Ok(Datum::Int(oid_from_int8(v)?)),
        (Datum::Int(v), f, T::Reg(_)) if f.is_integer() => Ok(Datum::Int(wrap_oid(v))),
        (Datum::Int(v), _, T::Numeric(tm)) => numeric_typmod(Decimal::from_i64(v), tm),
        (Datum::Int(v), _, T::Float8) => Ok(Datum::Float(v as f64)),
        (Datum::Int(v), _, T::Float4) => Ok(Datum::Float(f64::from(v as f32))),
        (Datum::Int(v), T::Int4, T::Bool) => Ok(Datum::Bool(v != 0)),
        (Datum::Bool(b), _, T::Int4) => Ok(Datum::Int(i64::from(b))),
        (Datum::Numeric(n), _, t) if t.is_integer() => {
            let v = n.to_i64_rounded().ok_or_else(|| int_out_of_range(t))?;
            Ok(Datum::Int(fit_int(i128::from(v), t)?))
        }
        (Datum::Numeric(n), _, T::Numeric(tm)) => numeric_typmod(n, tm),
        (Datum::Numeric(n), _, T::Float8) => Ok(Datum::Float(n.to_f64())),
        (Datum::Numeric(n), _, T::Float4) => Ok(Datum::Float(to_f32(n.to_f64())?)),
        (Datum::Float(v), _, t) if t.is_integer() => {
            let r = v.round_ties_even();
            if !r.is_finite() || !(-9.3e18..=9.3e18).contains(&r) {
                return Err(int_out_of_range(t));
            }
            Ok(Datum::Int(fit_int(r as i128, t)?))
        }
        (Datum::Float(v), f, T::Numeric(tm)) => {
            let digits = if f == T::Float4 { 6 } else { 15 };
            numeric_typmod(Decimal::from_f64(v, digits)?, tm)
        }
        (Datum::Float(v), _, T::Float8) => Ok(Datum::Float(v)),
        (Datum::Float(v), _, T::Float4) => Ok(Datum::Float(to_f32(v)?)),
        (Datum::Date(days), _, T::Date) => Ok(Datum::Date(days)),
        (Datum::Date(days), _, T::Timestamp) => Ok(Datum::Timestamp(date_to_micros(days)?)),
        (Datum::Date(days), _, T::TimestampTz) => {
            let local = date_to_micros(days)?;
            Ok(Datum::TimestampTz(local_to_utc(local, ctx)?))
        }
        (Datum::Timestamp(m), _, T::Timestamp) => Ok(Datum::Timestamp(m)),
        (Datum::Timestamp(m), _, T::Date) => Ok(Datum::Date(micros_to_date(m))),
        (Datum::Timestamp(m), _, T::TimestampTz) => Ok(Datum::TimestampTz(local_to_utc(m, ctx)?)),
        (Datum::TimestampTz(m), _, T::TimestampTz) => Ok(Datum::TimestampTz(m)),
        (Datum::TimestampTz(m), _, T::Timestamp) => Ok(Datum::Timestamp(utc_to_local(m, ctx)?)),
        (Datum::TimestampTz(m), _, T::Date) => {
            Ok(Datum::Date(micros_to_date(utc_to_local(m, ctx)?)))
        }
        (d @ Datum::Interval(_), _, T::Interval) | (d @ Datum::TextArray(_), _, T::TextArray) => {
            Ok(d)
        }
        (Datum::Bool(b), _, T::Bool) => Ok(Datum::Bool(b)),
        (d @ (Datum::Array(_) | Datum::TextArray(_)), f, t) if f.is_array() && t.is_array() => {
            super::array::cast_array(&d, f, t, ctx)
        }
        (d, f, t) if can_represent(&d, f) => {
            let _ = d;
            Err(cannot_cast(f, t))
        }
        (_, f, t) => Err(bad_value(f, t)),
    }
}

/// Whether `d` is a value of type `ty` (to tell user errors from bugs).
fn can_represent(d: &Datum, ty: DataType) -> bool {
    matches!(
        (d, ty),
        (Datum::Bool(_), DataType::Bool)
            | (
                Datum::Int(_),
                DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Reg(_)
            )
            | (Datum::Numeric(_), DataType::Numeric(_))
            | (Datum::Float(_), DataType::Float4 | DataType::Float8)
            | (Datum::TextArray(_), DataType::TextArray)
            | (
                Datum::Array(_),
                DataType::Array(_) | DataType::Int2Vector | DataType::OidVector
            )
            | (Datum::Date(_), DataType::Date)
            | (Datum::Timestamp(_), DataType::Timestamp)
            | (Datum::TimestampTz(_), DataType::TimestampTz)
            | (Datum::Interval(_), DataType::Interval)
    )
}

fn numeric_typmod(n: Decimal, tm: Option<(u8, u8)>) -> SqlResult<Datum> {
    Ok(Datum::Numeric(match tm {
        Some((p, s)) => n.with_typmod(p, s)?,
        None => n,
    }))
}

/// Midnight of a day, in microseconds (infinities preserved).
pub(crate) fn date_to_micros(days: i64) -> SqlResult<i64> {
    match days {
        i64::MAX => Ok(MICROS_POS_INFINITY),
        i64::MIN => Ok(MICROS_NEG_INFINITY),
        d => d
            .checked_mul(DAY_MICROS)
            .ok_or_else(datetime::timestamp_out_of_range),
    }
}

/// The day of a timestamp (infinities preserved).
pub(crate) fn micros_to_date(m: i64) -> i64 {
    match m {
        MICROS_POS_INFINITY => i64::MAX,
        MICROS_NEG_INFINITY => i64::MIN,
        m => m.div_euclid(DAY_MICROS),
    }
}

/// Local (session zone) microseconds to UTC (a wall-clock time skipped or
/// repeated by a DST change resolves as PostgreSQL does, see
/// [`TimeZone::offset_for_local`]).
pub(crate) fn local_to_utc(m: i64, ctx: &EvalContext) -> SqlResult<i64> {
    zone_local_to_utc(m, &ctx.timezone)
}

/// UTC microseconds to local (session zone).
pub(crate) fn utc_to_local(m: i64, ctx: &EvalContext) -> SqlResult<i64> {
    zone_utc_to_local(m, &ctx.timezone)
}

/// Local microseconds in `tz` to UTC (infinities preserved).
pub(crate) fn zone_local_to_utc(m: i64, tz: &TimeZone) -> SqlResult<i64> {
    match tz.fixed_offset() {
        Some(off) => shift(m, -i64::from(off)),
        None if is_infinite(m) => Ok(m),
        None => shift(m, -i64::from(tz.offset_for_local(m))),
    }
}

/// UTC microseconds to local time in `tz` (infinities preserved).
pub(crate) fn zone_utc_to_local(m: i64, tz: &TimeZone) -> SqlResult<i64> {
    match tz.fixed_offset() {
        Some(off) => shift(m, i64::from(off)),
        None if is_infinite(m) => Ok(m),
        None => shift(m, i64::from(tz.offset_at_utc(m))),
    }
}

fn is_infinite(m: i64) -> bool {
    m == MICROS_POS_INFINITY || m == MICROS_NEG_INFINITY
}

fn shift(m: i64, secs: i64) -> SqlResult<i64> {
    if is_infinite(m) {
        return Ok(m);
    }
    m.checked_add(secs * 1_000_000)
        .ok_or_else(datetime::timestamp_out_of_range)
}

/// Text as `timestamptz` in the session zone `tz`: a zone written in the
/// text wins (an offset, an abbreviation, a zone name: see
/// [`split_zone`]); otherwise the wall-clock time is resolved in `tz`
/// (DST included, so each value gets the offset in force at its instant).
pub(crate) fn text_to_timestamptz(s: &str, tz: &TimeZone) -> SqlResult<i64> {
    const TY: &str = "timestamp with time zone";
    let (rest, named) = split_zone(s).map_err(|e| zone_input_error(e, TY, s))?;
    let parse = |off: i32| -> SqlResult<i64> {
        Ok(parse_timestamptz(&rest, off).map_err(|e| for_input(e, s))?)
    };
    if named.is_some() && has_numeric_offset(&rest) {
        return Err(datetime_syntax(TY, s));
    }
    if is_special_instant(&rest) {
        // `epoch` and the infinities are instants, whatever the zone.
        return parse(0);
    }
    if let Some(zone) = named {
        return zone_local_to_utc(parse(0)?, &zone);
    }
    if let Some(off) = tz.fixed_offset() {
        return parse(off);
    }
    let at_utc = parse(0)?;
    if has_numeric_offset(&rest) {
        return Ok(at_utc);
    }
    zone_local_to_utc(at_utc, tz)
}

/// `epoch`, `infinity`, `+infinity`, `-infinity` (any case, blanks around).
fn is_special_instant(s: &str) -> bool {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    ["epoch", "infinity", "+infinity", "-infinity"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
}

/// Text as `timestamp` (without time zone): a zone written in the text
/// must be one, and is then ignored, as in PostgreSQL.
pub(crate) fn text_to_timestamp(s: &str) -> SqlResult<i64> {
    const TY: &str = "timestamp";
    let (rest, named) = split_zone(s).map_err(|e| zone_input_error(e, TY, s))?;
    if named.is_some() && has_numeric_offset(&rest) {
        return Err(datetime_syntax(TY, s));
    }
    Ok(parse_timestamp(&rest).map_err(|e| for_input(e, s))?)
}

/// 22007 `invalid input syntax for type …` for date/time input.
fn datetime_syntax(ty: &'static str, s: &str) -> SqlError {
    EncodeError::syntax(ty, s).into()
}

/// The error of refused zone words in date/time input `s` of type `ty`.
fn zone_input_error(e: ZoneInputError, ty: &'static str, s: &str) -> SqlError {
    match e {
        ZoneInputError::BadFormat => datetime_syntax(ty, s),
        ZoneInputError::NotRecognized(name) => SqlError::new(
            SqlState::InvalidParameterValue,
            format!("time zone \"{name}\" not recognized"),
        ),
    }
}

/// A parse error of the text with its zone words split off, naming the
/// text as written.
fn for_input(mut e: EncodeError, s: &str) -> EncodeError {
    if let EncodeError::InvalidSyntax { input, .. }
    | EncodeError::FieldOutOfRange { input, .. }
    | EncodeError::OutOfRange { input, .. } = &mut e
    {
        s.clone_into(input);
    }
    e
}

fn syntax(ty: &str, s: &str) -> SqlError {
    SqlError::new(
        SqlState::InvalidTextRepresentation,
        format!("invalid input syntax for type {ty}: \"{s}\""),
    )
}

/// PostgreSQL's `boolin`: `t`, `true`, `yes`, `on`, `1` and their false
/// counterparts, any unique prefix, any case, surrounding whitespace.
pub(crate) fn parse_bool(s: &str) -> SqlResult<bool> {
    let t = s.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| t.len() >= min && word.starts_with(t.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || t == "1" {
        Ok(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || t == "0" {
        Ok(false)
    } else {
        Err(syntax("boolean", s))
    }
}

/// PostgreSQL's `int2in`/`int4in`/`int8in`.
pub(crate) fn parse_int(s: &str, ty: DataType) -> SqlResult<i64> {
    let name = match ty {
        DataType::Int2 => "smallint",
        DataType::Int8 => "bigint",
        _ => "integer",
    };
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(name, s));
    }
    let out_of_range = || {
        SqlError::new(
            SqlState::NumericValueOutOfRange,
            format!("value \"{s}\" is out of range for type {name}"),
        )
    };
    let v: i128 = t.parse().map_err(|_| out_of_range())?;
    fit_int(v, ty).map_err(|_| out_of_range())
}

/// `now`, `today`, `tomorrow`, `yesterday` as local microseconds.
fn special_datetime(s: &str, ctx: &EvalContext) -> Option<SqlResult<i64>> {
    let t = s.trim().to_ascii_lowercase();
    let local_now = || utc_to_local(ctx.now_micros, ctx);
    let midnight =
        |days: i64| local_now().map(|m| (micros_to_date(m) + days).saturating_mul(DAY_MICROS));
    match t.as_str() {
        "now" => Some(local_now()),
        "today" => Some(midnight(0)),
        "tomorrow" => Some(midnight(1)),
        "yesterday" => Some(midnight(-1)),
        _ => None,
    }
}

/// Whether a text literal means something relative to the statement time
/// (so it must not be folded at bind time).
pub(crate) fn is_time_relative(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "now" | "today" | "tomorrow" | "yesterday"
    )
}

/// Parses text as a value of `to` (the type's input function).
pub(crate) fn parse_text(s: &str, to: DataType, ctx: &EvalContext) -> SqlResult<Datum> {
    use DataType as T;
    Ok(match to {
        T::Text | T::Unknown => Datum::Text(s.to_owned()),
        T::Bool => Datum::Bool(parse_bool(s)?),
        T::Int2 | T::Int4 | T::Int8 => Datum::Int(parse_int(s, to)?),
        T::Numeric(tm) => return numeric_typmod(Decimal::parse(s)?, tm),
        T::Float8 => Datum::Float(parse_f64(s)?),
        T::Float4 => Datum::Float(f64::from(parse_f32(s)?)),
        T::Date => match special_datetime(s, ctx) {
            Some(m) => Datum::Date(micros_to_date(m?)),
            None => Datum::Date(parse_date(s)?),
        },
        T::Timestamp => match special_datetime(s, ctx) {
            Some(m) => Datum::Timestamp(m?),
            None => Datum::Timestamp(text_to_timestamp(s)?),
        },
        T::TimestampTz => match special_datetime(s, ctx) {
            Some(m) => Datum::TimestampTz(local_to_utc(m?, ctx)?),
            None => Datum::TimestampTz(text_to_timestamptz(s, &ctx.timezone)?),
        },
        T::Interval => Datum::Interval(datetime::parse_interval(s)?),
        T::TextArray => Datum::TextArray(parse_text_array(s)?),
        T::Array(_) | T::Int2Vector | T::OidVector => {
            return super::array::parse_array(s, to, ctx);
        }
        T::Reg(kind) => Datum::Int(reg_in(kind, s, ctx)?),
        T::Json => Datum::Text(super::json::parse_json(s)?),
        T::Record(_) => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                "input of anonymous composite types is not implemented",
            ));
        }
    })
}

/// Applies a `varchar(n)` / `char(n)` length to a text value.
pub(crate) fn apply_length(d: Datum, length: Option<CharLength>) -> Datum {
    match (d, length) {
        (Datum::Text(s), Some(CharLength::Varchar(n))) => {
            Datum::Text(s.chars().take(n as usize).collect())
        }
        (Datum::Text(s), Some(CharLength::Char(n))) => {
            // Trailing spaces of char(n) are insignificant (comparisons,
            // conversion to text), so they are not kept.
            let t: String = s.chars().take(n as usize).collect();
            Datum::Text(t.trim_end_matches(' ').to_owned())
        }
        (d, _) => d,
    }
}
