//! PostgreSQL text output of values and PostgreSQL sort order.

use super::EvalContext;
use super::datetime::{format_interval, interval_span};
use super::text::format_text_array;
use crate::index::encode::{
    format_date, format_f32, format_f64, format_timestamp, format_timestamptz,
};
use crate::sql::decimal::Decimal;
use crate::sql::types::{DataType, Datum};
use std::cmp::Ordering;

/// The value as PostgreSQL's output function prints it (`None` for NULL):
/// `t`/`f`; numeric with its scale; floats shortest-exact (`0.1`,
/// `1e+15`, `NaN`, `Infinity`); `{a,b,"x y",NULL}`; ISO dates and
/// timestamps; timestamptz at the session offset (`2024-01-02
/// 03:04:05+08`); intervals like `1 day 02:00:00`. `ty` decides between
/// `real` and `double precision` output.
pub fn format_text(d: &Datum, ty: DataType, ctx: &EvalContext) -> Option<String> {
    Some(match d {
        Datum::Null => return None,
        Datum::Bool(b) => if *b { "t" } else { "f" }.to_owned(),
        Datum::Int(v) => match ty {
            DataType::Reg(kind) => super::regclass::reg_out(kind, *v, ctx),
            _ => v.to_string(),
        },
        Datum::Numeric(n) => n.to_string(),
        Datum::Float(v) if ty == DataType::Float4 => format_f32(*v as f32),
        Datum::Float(v) => format_f64(*v),
        Datum::Text(s) => s.clone(),
        Datum::TextArray(items) => format_text_array(items),
        Datum::Array(items) => super::array::format_array(items, ty, ctx),
        Datum::Date(days) => format_date(*days),
        Datum::Timestamp(m) => format_timestamp(*m),
        Datum::TimestampTz(m) => format_timestamptz(*m, ctx.timezone.offset_at_utc(*m)),
        Datum::Interval(iv) => format_interval(iv),
        Datum::Record(fields) => super::record::format_record(fields, ty, ctx),
    })
}

/// PostgreSQL float order: NaN above everything and equal to itself,
/// `-0 = 0`.
pub(crate) fn compare_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn numeric_vs_float(n: &Decimal, f: f64) -> Ordering {
    compare_f64(n.to_f64(), f)
}

/// PostgreSQL's order of two values of one type (NULLs are the callers'
/// business; here a NULL sorts after any value, as with `NULLS LAST`).
/// Text compares bytewise (C collation); floats put NaN last; arrays
/// compare element by element (a NULL element after any value), then by
/// length; intervals by their 30-day-month span. Integers, numerics and
/// floats also compare with each other by value.
pub fn compare_datums(a: &Datum, b: &Datum) -> Ordering {
    use Datum as D;
    match (a, b) {
        (D::Null, D::Null) => Ordering::Equal,
        (D::Null, _) => Ordering::Greater,
        (_, D::Null) => Ordering::Less,
        (D::Bool(x), D::Bool(y)) => x.cmp(y),
        (D::Int(x), D::Int(y)) => x.cmp(y),
        (D::Numeric(x), D::Numeric(y)) => x.cmp(y),
        (D::Int(x), D::Numeric(y)) => Decimal::from_i64(*x).cmp(y),
        (D::Numeric(x), D::Int(y)) => x.cmp(&Decimal::from_i64(*y)),
        (D::Float(x), D::Float(y)) => compare_f64(*x, *y),
        (D::Int(x), D::Float(y)) => compare_f64(*x as f64, *y),
        (D::Float(x), D::Int(y)) => compare_f64(*x, *y as f64),
        (D::Numeric(x), D::Float(y)) => numeric_vs_float(x, *y),
        (D::Float(x), D::Numeric(y)) => numeric_vs_float(y, *x).reverse(),
        (D::Text(x), D::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (D::TextArray(x), D::TextArray(y)) => {
            for (ex, ey) in x.iter().zip(y.iter()) {
                let o = match (ex, ey) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(sx), Some(sy)) => sx.as_bytes().cmp(sy.as_bytes()),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (D::Array(x), D::Array(y)) => super::array::compare_arrays(x, y),
        (D::Record(x), D::Record(y)) => super::record::compare_records(x, y),
        (D::Date(x), D::Date(y))
        | (D::Timestamp(x), D::Timestamp(y))
        | (D::TimestampTz(x), D::TimestampTz(y)) => x.cmp(y),
        (D::Interval(x), D::Interval(y)) => interval_span(x).cmp(&interval_span(y)),
        // Values of different kinds never meet after binding; keep the
        // order total anyway.
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(d: &Datum) -> u8 {
    match d {
        Datum::Null => 9,
        Datum::Bool(_) => 0,
        Datum::Int(_) | Datum::Numeric(_) | Datum::Float(_) => 1,
        Datum::Text(_) => 2,
        Datum::TextArray(_) => 3,
        Datum::Date(_) => 4,
        Datum::Timestamp(_) => 5,
        Datum::TimestampTz(_) => 6,
        Datum::Interval(_) => 7,
        Datum::Array(_) => 8,
        Datum::Record(_) => 10,
    }
}
