//! Evaluation of arithmetic, concatenation and date/time operators on
//! non-NULL operands, with PostgreSQL's result types and errors.

use super::BinaryOp;
use super::cast::{date_to_micros, fit_int, float_overflow, float_underflow};
use super::datetime::{self, add_interval, check_date, interval_add, interval_mul, timestamp_diff};
use super::{EvalContext, cast::local_to_utc, cast::utc_to_local};
use crate::index::encode::{DAYS_NEG_INFINITY, DAYS_POS_INFINITY};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum, Interval};

fn division_by_zero() -> SqlError {
    SqlError::new(SqlState::DivisionByZero, "division by zero")
}

fn mismatch(op: BinaryOp, l: DataType, r: DataType) -> SqlError {
    SqlError::internal(format!(
        "operator {} on {} and {} was not resolved",
        op.symbol(),
        l.name(),
        r.name()
    ))
}

/// A numeric-category value as a decimal.
fn as_decimal(d: &Datum) -> Option<Decimal> {
    match d {
        Datum::Int(v) => Some(Decimal::from_i64(*v)),
        Datum::Numeric(n) => Some(*n),
        _ => None,
    }
}

/// A numeric-category value as a float.
pub(crate) fn as_f64(d: &Datum) -> Option<f64> {
    match d {
        Datum::Int(v) => Some(*v as f64),
        Datum::Numeric(n) => Some(n.to_f64()),
        Datum::Float(f) => Some(*f),
        _ => None,
    }
}

/// Evaluates `l op r` (both non-NULL) whose bound result type is `ty`.
pub(crate) fn binary(
    op: BinaryOp,
    l: &Datum,
    lt: DataType,
    r: &Datum,
    rt: DataType,
    ty: DataType,
    ctx: &EvalContext,
) -> SqlResult<Datum> {
    use DataType as T;
    match (ty, l, r) {
        (t, Datum::Int(a), Datum::Int(b)) if t.is_integer() => int_op(op, *a, *b, t),
        (T::Numeric(_), _, _) => {
            let (a, b) = as_decimal(l)
                .zip(as_decimal(r))
                .ok_or_else(|| mismatch(op, lt, rt))?;
            numeric_op(op, &a, &b).map(Datum::Numeric)
        }
        (T::Float4 | T::Float8, _, _) if op != BinaryOp::Mul || lt != T::Interval => {
            match (as_f64(l), as_f64(r)) {
                (Some(a), Some(b)) => float_op(op, a, b, ty == T::Float4).map(Datum::Float),
                _ => Err(mismatch(op, lt, rt)),
            }
        }
        (T::Text, _, _) | (T::TextArray, _, _) if op == BinaryOp::Concat => concat(l, r),
        _ => datetime_op(op, l, r, ty, ctx).ok_or_else(|| mismatch(op, lt, rt))?,
    }
}

fn int_op(op: BinaryOp, a: i64, b: i64, ty: DataType) -> SqlResult<Datum> {
    if let Some(v) = bit_op(op, a, b, ty) {
        return Ok(Datum::Int(v));
    }
    let (a, b) = (i128::from(a), i128::from(b));
    let v = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div if b == 0 => return Err(division_by_zero()),
        BinaryOp::Div => a / b,
        BinaryOp::Mod if b == 0 => return Err(division_by_zero()),
        BinaryOp::Mod => a % b,
        _ => return Err(mismatch(op, ty, ty)),
    };
    Ok(Datum::Int(fit_int(v, ty)?))
}

fn numeric_op(op: BinaryOp, a: &Decimal, b: &Decimal) -> SqlResult<Decimal> {
    match op {
        BinaryOp::Add => a.add(b),
        BinaryOp::Sub => a.sub(b),
        BinaryOp::Mul => a.mul(b),
        BinaryOp::Div => a.div(b),
        BinaryOp::Mod => a.rem(b),
        BinaryOp::Pow => numeric_pow(a, b),
        _ => Err(SqlError::internal("bad numeric operator")),
    }
}

/// `a ^ b` on numerics: exact for integer exponents, at PostgreSQL's
/// result scale (`power_var_int`); through floats otherwise.
pub(crate) fn numeric_pow(a: &Decimal, b: &Decimal) -> SqlResult<Decimal> {
    let invalid = |m: &str| SqlError::new(SqlState::InvalidParameterValue, m.to_owned());
    if a.is_zero() && b.mantissa < 0 {
        return Err(invalid("zero raised to a negative power is undefined"));
    }
    let int_exp = b.trunc(0)? == *b;
    if a.mantissa < 0 && !int_exp {
        return Err(invalid(
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let base_scale = i64::from(a.scale);
    if int_exp && b.to_f64().abs() <= 1000.0 {
        // PostgreSQL 15 power_var: integer exponents get scale max(16, base scale).
        let rscale = base_scale.clamp(16, 1000) as u32;
        let guard = rscale + 8;
        let n = b.to_i64_rounded().unwrap_or(0);
        let mut acc = Decimal::from_i64(1);
        for _ in 0..n.unsigned_abs() {
            acc = acc.mul(a)?;
            if acc.scale > guard {
                acc = acc.round(guard as i32)?;
            }
        }
        return if n < 0 {
            Decimal::from_i64(1).div_to_scale(&acc, rscale)
        } else {
            acc.round(rscale as i32)
        };
    }
    let af = a.to_f64().abs();
    let weight = if af == 0.0 {
        0.0
    } else {
        b.to_f64() * af.log10()
    };
    let rscale = (16 - weight.clamp(-2000.0, 2000.0).trunc() as i64)
        .max(base_scale)
        .max(i64::from(b.scale))
        .clamp(0, 1000) as u32;
    let v = a.to_f64().powf(b.to_f64());
    if !v.is_finite() {
        return Err(super::super::decimal::overflow());
    }
    Decimal::from_f64(v, 17)?.round(rscale as i32)
}

fn float_op(op: BinaryOp, a: f64, b: f64, single: bool) -> SqlResult<f64> {
    let r = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => {
            if b == 0.0 {
                return Err(division_by_zero());
            }
            a / b
        }
        BinaryOp::Pow => return float_pow(a, b),
        _ => return Err(SqlError::internal("bad float operator")),
    };
    let r = if single {
        let r32 = match op {
            BinaryOp::Add => a as f32 + b as f32,
            BinaryOp::Sub => a as f32 - b as f32,
            BinaryOp::Mul => a as f32 * b as f32,
            _ => a as f32 / b as f32,
        };
        f64::from(r32)
    } else {
        r
    };
    if r.is_infinite() && !a.is_infinite() && !b.is_infinite() {
        return Err(float_overflow());
    }
    if r == 0.0 && op == BinaryOp::Mul && a != 0.0 && b != 0.0 {
        return Err(float_underflow());
    }
    if r == 0.0 && op == BinaryOp::Div && a != 0.0 && !b.is_infinite() {
        return Err(float_underflow());
    }
    Ok(r)
}

/// PostgreSQL's `dpow`.
pub(crate) fn float_pow(a: f64, b: f64) -> SqlResult<f64> {
    let invalid = |m: &str| SqlError::new(SqlState::InvalidParameterValue, m.to_owned());
    if a == 0.0 && b < 0.0 {
        return Err(invalid("zero raised to a negative power is undefined"));
    }
    if a < 0.0 && b.is_finite() && b.fract() != 0.0 {
        return Err(invalid(
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let r = a.powf(b);
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(float_overflow());
    }
    if r == 0.0 && a != 0.0 && b.is_finite() {
        return Err(float_underflow());
    }
    Ok(r)
}

fn concat(l: &Datum, r: &Datum) -> SqlResult<Datum> {
    Ok(match (l, r) {
        (Datum::Text(a), Datum::Text(b)) => Datum::Text(format!("{a}{b}")),
        (Datum::TextArray(a), Datum::TextArray(b)) => {
            Datum::TextArray(a.iter().chain(b.iter()).cloned().collect())
        }
        (Datum::TextArray(a), Datum::Text(b)) => {
            let mut v = a.clone();
            v.push(Some(b.clone()));
            Datum::TextArray(v)
        }
        (Datum::Text(a), Datum::TextArray(b)) => {
            let mut v = vec![Some(a.clone())];
            v.extend(b.iter().cloned());
            Datum::TextArray(v)
        }
        _ => return Err(SqlError::internal("bad operands of ||")),
    })
}

fn date_plus_days(days: i64, n: i64) -> SqlResult<Datum> {
    if days == DAYS_POS_INFINITY || days == DAYS_NEG_INFINITY {
        return Ok(Datum::Date(days));
    }
    let r = days
        .checked_add(n)
        .ok_or_else(datetime::date_out_of_range)?;
    Ok(Datum::Date(check_date(r)?))
}

/// Date/time and interval operators; `None` if the operands do not fit.
fn datetime_op(
    op: BinaryOp,
    l: &Datum,
    r: &Datum,
    ty: DataType,
    ctx: &EvalContext,
) -> Option<SqlResult<Datum>> {
    use BinaryOp::{Add, Div, Mul, Sub};
    use Datum as D;
    // As PostgreSQL's timestamptz_pl_interval: months, then days, move the
    // wall clock of the session zone (so `+ 1 day` across a DST change
    // keeps the local time); the time part moves the instant.
    let tz_shift = |m: i64, iv: &Interval, sign: i64| -> SqlResult<Datum> {
        let mut t = m;
        for part in [
            Interval {
                months: iv.months,
                days: 0,
                micros: 0,
            },
            Interval {
                months: 0,
                days: iv.days,
                micros: 0,
            },
        ] {
            if part.months != 0 || part.days != 0 {
                let moved = add_interval(utc_to_local(t, ctx)?, &part, sign)?;
                t = local_to_utc(moved, ctx)?;
            }
        }
        let time = Interval {
            months: 0,
            days: 0,
            micros: iv.micros,
        };
        Ok(D::TimestampTz(add_interval(t, &time, sign)?))
    };
    Some(match (op, l, r) {
        (Add, D::Date(d), D::Int(n)) | (Add, D::Int(n), D::Date(d)) => date_plus_days(*d, *n),
        (Sub, D::Date(d), D::Int(n)) => date_plus_days(*d, -*n),
        (Sub, D::Date(a), D::Date(b)) => {
            if [*a, *b]
                .iter()
                .any(|d| *d == DAYS_POS_INFINITY || *d == DAYS_NEG_INFINITY)
            {
                return Some(Err(SqlError::new(
                    SqlState::DatetimeFieldOverflow,
                    "cannot subtract infinite dates",
                )));
            }
            fit_int(i128::from(*a) - i128::from(*b), DataType::Int4).map(D::Int)
        }
        (Add, D::Date(d), D::Interval(iv)) | (Add, D::Interval(iv), D::Date(d)) => {
            date_to_micros(*d).and_then(|m| add_interval(m, iv, 1).map(D::Timestamp))
        }
        (Sub, D::Date(d), D::Interval(iv)) => {
            date_to_micros(*d).and_then(|m| add_interval(m, iv, -1).map(D::Timestamp))
        }
        (Add, D::Timestamp(m), D::Interval(iv)) | (Add, D::Interval(iv), D::Timestamp(m)) => {
            add_interval(*m, iv, 1).map(D::Timestamp)
        }
        (Sub, D::Timestamp(m), D::Interval(iv)) => add_interval(*m, iv, -1).map(D::Timestamp),
        (Add, D::TimestampTz(m), D::Interval(iv)) | (Add, D::Interval(iv), D::TimestampTz(m)) => {
            tz_shift(*m, iv, 1)
        }
        (Sub, D::TimestampTz(m), D::Interval(iv)) => tz_shift(*m, iv, -1),
        (Sub, D::Timestamp(a), D::Timestamp(b)) | (Sub, D::TimestampTz(a), D::TimestampTz(b)) => {
            timestamp_diff(*a, *b).map(D::Interval)
        }
        (Add, D::Interval(a), D::Interval(b)) => interval_add(a, b, 1).map(D::Interval),
        (Sub, D::Interval(a), D::Interval(b)) => interval_add(a, b, -1).map(D::Interval),
        (Mul, D::Interval(iv), n) | (Mul, n, D::Interval(iv)) if ty == DataType::Interval => {
            let f = as_f64(n)?;
            interval_mul(iv, f).map(D::Interval)
        }
        (Div, D::Interval(iv), n) if ty == DataType::Interval => {
            let f = as_f64(n)?;
            if f == 0.0 {
                Err(division_by_zero())
            } else {
                interval_mul(iv, 1.0 / f).map(D::Interval)
            }
        }
        _ => return None,
    })
}

/// The bitwise operators on integers of type `ty` (`None` for other
/// operators). Shifts behave as PostgreSQL's C code does on x86-64: a
/// `smallint` or `integer` shifts as 32 bits with the count taken modulo
/// 32 (the `smallint` result then truncated), a `bigint` modulo 64.
fn bit_op(op: BinaryOp, a: i64, b: i64, ty: DataType) -> Option<i64> {
    let count = b as u32;
    let shifted = |left: bool| -> i64 {
        match ty {
            DataType::Int8 if left => a.wrapping_shl(count),
            DataType::Int8 => a.wrapping_shr(count),
            _ => {
                let a32 = a as i32;
                let v = if left {
                    a32.wrapping_shl(count)
                } else {
                    a32.wrapping_shr(count)
                };
                if ty == DataType::Int2 {
                    i64::from(v as i16)
                } else {
                    i64::from(v)
                }
            }
        }
    };
    Some(match op {
        BinaryOp::BitAnd => a & b,
        BinaryOp::BitOr => a | b,
        BinaryOp::BitXor => a ^ b,
        BinaryOp::ShiftLeft => shifted(true),
        BinaryOp::ShiftRight => shifted(false),
        _ => return None,
    })
}

/// `~x` on an integer (NULL stays NULL).
pub(crate) fn bit_not(d: &Datum, _ty: DataType) -> Datum {
    match d {
        Datum::Int(v) => Datum::Int(!v),
        _ => Datum::Null,
    }
}

/// `-x` for numbers and intervals.
pub(crate) fn negate(d: &Datum, ty: DataType) -> SqlResult<Datum> {
    Ok(match d {
        Datum::Int(v) => Datum::Int(fit_int(-i128::from(*v), ty)?),
        Datum::Numeric(n) => Datum::Numeric(n.neg()),
        Datum::Float(f) => Datum::Float(-f),
        Datum::Interval(iv) => Datum::Interval(interval_add(&Interval::default(), iv, -1)?),
        _ => return Err(SqlError::internal("bad operand of unary minus")),
    })
}
