//! PostgreSQL's `*send` functions: the binary form of one non-NULL value of
//! each SQL type audb returns. Integers and floats big-endian, `numeric` as
//! base-10000 digits with weight, sign and display scale, dates as days and
//! timestamps as microseconds since 2000-01-01 (infinities as the extreme
//! values), `interval` as microseconds, days, months, object identifiers as
//! their 4 bytes, one-dimensional arrays with `array_send`'s header, and
//! records with `record_send`'s field list.

use super::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::index::encode::{
    DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY, MICROS_POS_INFINITY,
};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum, RecordType};

/// `text`'s type OID (the element type of `text[]`).
const TEXT_OID: u32 = 25;

fn out_of_range(ty: DataType) -> SqlError {
    SqlError::new(
        SqlState::NumericValueOutOfRange,
        format!("value out of range for type {}", ty.name()),
    )
}

fn too_big(what: &str) -> SqlError {
    SqlError::new(
        SqlState::ProgramLimitExceeded,
        format!("{what} too large to send"),
    )
}

/// Appends the binary form of `d`, a non-NULL value of type `ty`.
pub fn send(d: &Datum, ty: DataType, out: &mut Vec<u8>) -> SqlResult<()> {
    match (ty, d) {
        (DataType::Bool, Datum::Bool(b)) => out.push(u8::from(*b)),
        (DataType::Int2, Datum::Int(v)) => {
            let v = i16::try_from(*v).map_err(|_| out_of_range(ty))?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        (DataType::Int4, Datum::Int(v)) => {
            let v = i32::try_from(*v).map_err(|_| out_of_range(ty))?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        (DataType::Int8, Datum::Int(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (DataType::Reg(_), Datum::Int(v)) => {
            let v = u32::try_from(*v).map_err(|_| out_of_range(ty))?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        (DataType::Float4, Datum::Float(v)) => out.extend_from_slice(&(*v as f32).to_be_bytes()),
        (DataType::Float8, Datum::Float(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (DataType::Float4, Datum::Int(v)) => out.extend_from_slice(&(*v as f32).to_be_bytes()),
        (DataType::Float8, Datum::Int(v)) => out.extend_from_slice(&(*v as f64).to_be_bytes()),
        (DataType::Numeric(_), Datum::Numeric(n)) => send_numeric(n, out),
        (DataType::Numeric(_), Datum::Int(v)) => send_numeric(&Decimal::from_i64(*v), out),
        (DataType::Date, Datum::Date(days)) => {
            let v = match *days {
                DAYS_POS_INFINITY => i32::MAX,
                DAYS_NEG_INFINITY => i32::MIN,
                d => i32::try_from(d - PG_EPOCH_DAYS).map_err(|_| out_of_range(ty))?,
            };
            out.extend_from_slice(&v.to_be_bytes());
        }
        (DataType::Timestamp, Datum::Timestamp(m))
        | (DataType::TimestampTz, Datum::TimestampTz(m)) => {
            let v = match *m {
                MICROS_POS_INFINITY => i64::MAX,
                MICROS_NEG_INFINITY => i64::MIN,
                m => m
                    .checked_sub(PG_EPOCH_MICROS)
                    .ok_or_else(|| out_of_range(ty))?,
            };
            out.extend_from_slice(&v.to_be_bytes());
        }
        (DataType::Interval, Datum::Interval(iv)) => {
            out.extend_from_slice(&iv.micros.to_be_bytes());
            out.extend_from_slice(&iv.days.to_be_bytes());
            out.extend_from_slice(&iv.months.to_be_bytes());
        }
        (DataType::TextArray, Datum::TextArray(items)) => {
            let text = |s: &Option<String>, out: &mut Vec<u8>| {
                out.extend_from_slice(s.as_deref().unwrap_or_default().as_bytes());
                Ok(())
            };
            send_array(items, TEXT_OID, 1, Option::is_none, text, out)?;
        }
        (DataType::Array(_) | DataType::Int2Vector | DataType::OidVector, Datum::Array(items)) => {
            let elem = ty.element().unwrap_or(DataType::Text);
            let value = |d: &Datum, out: &mut Vec<u8>| send(d, elem, out);
            let lower = ty.array_lower_bound();
            send_array(items, elem.oid(), lower, Datum::is_null, value, out)?;
        }
        (DataType::Record(rt), Datum::Record(items)) => send_record(items, rt, out)?,
        (_, Datum::Text(s)) => out.extend_from_slice(s.as_bytes()),
        (ty, d) => {
            return Err(SqlError::internal(format!(
                "cannot send {d:?} as {} in binary format",
                ty.name()
            )));
        }
    }
    Ok(())
}

/// PostgreSQL's `numeric_send`.
pub fn send_numeric(n: &Decimal, out: &mut Vec<u8>) {
    let scale = n.scale as usize;
    let mut digits = n.mantissa.unsigned_abs().to_string();
    if digits.len() <= scale {
        digits = "0".repeat(scale + 1 - digits.len()) + &digits;
    }
    let (int_part, frac_part) = digits.split_at(digits.len() - scale);
    let int_str = "0".repeat((4 - int_part.len() % 4) % 4) + int_part;
    let frac_str = frac_part.to_owned() + &"0".repeat((4 - frac_part.len() % 4) % 4);
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, b| acc * 10 + i16::from(b - b'0')))
            .collect()
    };
    let mut groups = group(&int_str);
    let mut weight = groups.len() as i32 - 1;
    groups.extend(group(&frac_str));
    let lead = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..lead);
    weight -= lead as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let negative = n.mantissa < 0 && !groups.is_empty();
    if groups.is_empty() {
        weight = 0;
    }
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(n.scale.min(u32::from(u16::MAX)) as u16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

/// Appends a length-prefixed field: `write`'s bytes after their length.
fn with_length(
    out: &mut Vec<u8>,
    what: &str,
    write: impl FnOnce(&mut Vec<u8>) -> SqlResult<()>,
) -> SqlResult<()> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out)?;
    let len = i32::try_from(out.len() - at - 4).map_err(|_| too_big(what))?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// PostgreSQL's `array_send` for a one-dimensional array of element type
/// `elem_oid` and lower bound `lower`: the header, then each element as a
/// length and the bytes `write` appends (-1 for a NULL element).
fn send_array<T>(
    items: &[T],
    elem_oid: u32,
    lower: i64,
    is_null: impl Fn(&T) -> bool,
    mut write: impl FnMut(&T, &mut Vec<u8>) -> SqlResult<()>,
    out: &mut Vec<u8>,
) -> SqlResult<()> {
    out.extend_from_slice(&i32::from(!items.is_empty()).to_be_bytes());
    out.extend_from_slice(&i32::from(items.iter().any(&is_null)).to_be_bytes());
    out.extend_from_slice(&elem_oid.to_be_bytes());
    if items.is_empty() {
        return Ok(());
    }
    let len = i32::try_from(items.len()).map_err(|_| too_big("array"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&i32::try_from(lower).unwrap_or(1).to_be_bytes());
    for item in items {
        if is_null(item) {
            out.extend_from_slice(&(-1i32).to_be_bytes());
        } else {
            with_length(out, "array", |out| write(item, out))?;
        }
    }
    Ok(())
}

/// PostgreSQL's `record_send`: the field count, then each field's type
/// OID and length-prefixed binary value (-1 for NULL).
fn send_record(items: &[Datum], rt: RecordType, out: &mut Vec<u8>) -> SqlResult<()> {
    let fields = rt.fields();
    let n = i32::try_from(items.len()).map_err(|_| too_big("record"))?;
    out.extend_from_slice(&n.to_be_bytes());
    for (i, item) in items.iter().enumerate() {
        let ty = fields.get(i).map_or(DataType::Text, |f| f.ty);
        out.extend_from_slice(&ty.oid().to_be_bytes());
        if item.is_null() {
            out.extend_from_slice(&(-1i32).to_be_bytes());
        } else {
            with_length(out, "record", |out| send(item, ty, out))?;
        }
    }
    Ok(())
}
