//! Values on the wire: result rows in text or binary format, and the
//! PostgreSQL type of each column. Parameters are decoded in `decode.rs`.
//!
//! Binary formats follow PostgreSQL's `*send`/`*recv` functions: integers
//! and floats big-endian, `numeric` as base-10000 digits with weight, sign
//! and display scale, dates as days and timestamps as microseconds since
//! 2000-01-01 (infinities as the extreme values), `interval` as
//! microseconds, days, months, object identifiers as their 4 bytes, and
//! one-dimensional arrays (all element types, one path) with a header.
// The wire protocol is big-endian by definition; the crate-wide lint exists
// for on-disk formats, which never come here.
#![allow(clippy::big_endian_bytes)]

use super::session::Fail;
use super::sqlstate::{codes, protocol_error};
use crate::db::{Db, Session};
use crate::index::encode::{
    DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY, MICROS_POS_INFINITY,
};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::relation::Column;
use crate::sql::scalar::{EvalContext, format_text};
use crate::sql::types::{DataType, Datum};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub(super) const PG_EPOCH_DAYS: i64 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub(super) const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400 * 1_000_000;

/// The context result values print in: the session's time zone, and the
/// catalog of the current snapshot (`regclass` values print names).
pub(crate) fn output_ctx(db: &Db, session: &Session) -> EvalContext {
    crate::catalog::system::output_context(&db.store().snapshot(), session)
}

/// The pgwire type of a SQL type.
pub(crate) fn pg_type(ty: DataType) -> Type {
    Type::from_oid(ty.oid()).unwrap_or(Type::TEXT)
}

/// The SQL type of a parameter type OID a client declared; `Unknown` for
/// 0 and for types audb does not have (their values are taken as text).
pub(crate) fn data_type_of_oid(oid: u32) -> DataType {
    match oid {
        16 => DataType::Bool,
        21 => DataType::Int2,
        23 => DataType::Int4,
        20 => DataType::Int8,
        1700 => DataType::Numeric(None),
        700 => DataType::Float4,
        701 => DataType::Float8,
        // text, varchar, bpchar, name
        25 | 1043 | 1042 | 19 => DataType::Text,
        // text[], varchar[]
        1009 | 1015 => DataType::TextArray,
        114 => DataType::Json,
        1082 => DataType::Date,
        1114 => DataType::Timestamp,
        1184 => DataType::TimestampTz,
        1186 => DataType::Interval,
        _ => DataType::Unknown,
    }
}

/// `pg_type.typlen` of a type (-1 for variable width).
fn type_size(ty: DataType) -> i16 {
    match ty {
        DataType::Bool => 1,
        DataType::Int2 => 2,
        DataType::Int4 | DataType::Float4 | DataType::Date | DataType::Reg(_) => 4,
        DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::TimestampTz => 8,
        DataType::Interval => 16,
        _ => -1,
    }
}

/// The RowDescription entry of a column.
pub(crate) fn field_info(col: &Column, binary: bool) -> FieldInfo {
    let format = if binary {
        FieldFormat::Binary
    } else {
        FieldFormat::Text
    };
    let typmod = match col.ty {
        DataType::Numeric(Some((p, s))) => ((i32::from(p) << 16) | i32::from(s)) + 4,
        _ => -1,
    };
    FieldInfo::new(col.name.clone(), None, None, pg_type(col.ty), format)
        .with_type_size(type_size(col.ty))
        .with_type_modifier(typmod)
}

/// Which result columns are binary, from the Bind message's format codes
/// (none: all text; one: all columns; else one per column).
pub(crate) fn result_formats(format: &Format, columns: usize) -> Result<Vec<bool>, Fail> {
    Ok(match format {
        Format::UnifiedText => vec![false; columns],
        Format::UnifiedBinary => vec![true; columns],
        Format::Individual(codes) if codes.len() == columns => {
            codes.iter().map(|c| *c == 1).collect()
        }
        Format::Individual(codes) => {
            return Err(Box::new(protocol_error(
                codes::PROTOCOL_VIOLATION,
                format!(
                    "bind message has {} result formats but query has {columns} columns",
                    codes.len()
                ),
            )));
        }
    })
}

/// Whether parameter `idx` arrives in binary format.
pub(crate) fn param_is_binary(format: &Format, idx: usize) -> Result<bool, Fail> {
    match format {
        Format::UnifiedText => Ok(false),
        Format::UnifiedBinary => Ok(true),
        Format::Individual(codes) => codes.get(idx).map(|c| *c == 1).ok_or_else(|| {
            Box::new(protocol_error(
                codes::PROTOCOL_VIOLATION,
                format!("bind message has {} parameter formats", codes.len()),
            ))
        }),
    }
}

/// One DataRow: each value in its column's format (`binary[i]`).
pub(crate) fn encode_row(
    row: &[Datum],
    columns: &[Column],
    binary: &[bool],
    ctx: &EvalContext,
) -> SqlResult<DataRow> {
    let mut buf = Vec::with_capacity(16 * row.len());
    for (i, d) in row.iter().enumerate() {
        let ty = columns.get(i).map_or(DataType::Text, |c| c.ty);
        if d.is_null() {
            buf.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        let len_at = buf.len();
        buf.extend_from_slice(&[0; 4]);
        if binary.get(i).copied().unwrap_or(false) {
            encode_binary(d, ty, &mut buf)?;
        } else if let Some(text) = format_text(d, ty, ctx) {
            buf.extend_from_slice(text.as_bytes());
        }
        let len = i32::try_from(buf.len() - len_at - 4).map_err(|_| {
            SqlError::new(
                crate::sql::error::SqlState::ProgramLimitExceeded,
                "value too large to send",
            )
        })?;
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
    let mut out = DataRow::default();
    out.field_count = i16::try_from(row.len()).map_err(|_| {
        SqlError::new(
            crate::sql::error::SqlState::ProgramLimitExceeded,
            "too many columns",
        )
    })?;
    out.data.extend_from_slice(&buf);
    Ok(out)
}

fn out_of_range(ty: DataType) -> SqlError {
    SqlError::new(
        crate::sql::error::SqlState::NumericValueOutOfRange,
        format!("value out of range for type {}", ty.name()),
    )
}

/// Appends the binary form of a non-NULL value of type `ty`.
pub(super) fn encode_binary(d: &Datum, ty: DataType, out: &mut Vec<u8>) -> SqlResult<()> {
    match (ty, d) {
        (DataType::Bool, Datum::Bool(b)) => out.push(u8::from(*b)),
        (DataType::Int2, Datum::Int(v)) => {
            out.extend_from_slice(
                &i16::try_from(*v)
                    .map_err(|_| out_of_range(ty))?
                    .to_be_bytes(),
            );
        }
        (DataType::Int4, Datum::Int(v)) => {
            out.extend_from_slice(
                &i32::try_from(*v)
                    .map_err(|_| out_of_range(ty))?
                    .to_be_bytes(),
            );
        }
        (DataType::Int8, Datum::Int(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (DataType::Reg(_), Datum::Int(v)) => {
            out.extend_from_slice(
                &u32::try_from(*v)
                    .map_err(|_| out_of_range(ty))?
                    .to_be_bytes(),
            );
        }
        (DataType::Float4, Datum::Float(v)) => out.extend_from_slice(&(*v as f32).to_be_bytes()),
        (DataType::Float8, Datum::Float(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (DataType::Float4, Datum::Int(v)) => out.extend_from_slice(&(*v as f32).to_be_bytes()),
        (DataType::Float8, Datum::Int(v)) => out.extend_from_slice(&(*v as f64).to_be_bytes()),
        (DataType::Numeric(_), Datum::Numeric(n)) => encode_numeric(n, out),
        (DataType::Numeric(_), Datum::Int(v)) => encode_numeric(&Decimal::from_i64(*v), out),
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
            encode_array(items, Type::TEXT.oid(), 1, Option::is_none, text, out)?;
        }
        (DataType::Array(_) | DataType::Int2Vector | DataType::OidVector, Datum::Array(items)) => {
            let elem = ty.element().unwrap_or(DataType::Text);
            let value = |d: &Datum, out: &mut Vec<u8>| encode_binary(d, elem, out);
            let lower = ty.array_lower_bound();
            encode_array(items, elem.oid(), lower, Datum::is_null, value, out)?;
        }
        (DataType::Record(rt), Datum::Record(items)) => encode_record(items, rt, out)?,
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
pub(super) fn encode_numeric(n: &Decimal, out: &mut Vec<u8>) {
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

/// PostgreSQL's `array_send` for a one-dimensional array of element type
/// `elem_oid` and lower bound `lower`: the header, then each element as a
/// length and the bytes `write` appends (-1 for a NULL element).
fn encode_array<T>(
    items: &[T],
    elem_oid: u32,
    lower: i64,
    is_null: impl Fn(&T) -> bool,
    mut write: impl FnMut(&T, &mut Vec<u8>) -> SqlResult<()>,
    out: &mut Vec<u8>,
) -> SqlResult<()> {
    let too_big = || {
        SqlError::new(
            crate::sql::error::SqlState::ProgramLimitExceeded,
            "array too large to send",
        )
    };
    out.extend_from_slice(&i32::from(!items.is_empty()).to_be_bytes());
    out.extend_from_slice(&i32::from(items.iter().any(&is_null)).to_be_bytes());
    out.extend_from_slice(&elem_oid.to_be_bytes());
    if items.is_empty() {
        return Ok(());
    }
    let len = i32::try_from(items.len()).map_err(|_| too_big())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&i32::try_from(lower).unwrap_or(1).to_be_bytes());
    for item in items {
        if is_null(item) {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        write(item, out)?;
        let len = i32::try_from(out.len() - at - 4).map_err(|_| too_big())?;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// PostgreSQL's `record_send`: the field count, then each field's type
/// OID and length-prefixed binary value (-1 for NULL).
fn encode_record(
    items: &[Datum],
    rt: crate::sql::types::RecordType,
    out: &mut Vec<u8>,
) -> SqlResult<()> {
    let too_big = || {
        SqlError::new(
            crate::sql::error::SqlState::ProgramLimitExceeded,
            "record too large to send",
        )
    };
    let fields = rt.fields();
    out.extend_from_slice(
        &i32::try_from(items.len())
            .map_err(|_| too_big())?
            .to_be_bytes(),
    );
    for (i, item) in items.iter().enumerate() {
        let ty = fields.get(i).map_or(DataType::Text, |f| f.ty);
        out.extend_from_slice(&ty.oid().to_be_bytes());
        if item.is_null() {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        encode_binary(item, ty, out)?;
        let len = i32::try_from(out.len() - at - 4).map_err(|_| too_big())?;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}
