//! Values on the wire: result rows in text or binary format, parameters
//! from text or binary format, and the PostgreSQL type of each column.
//!
//! Binary formats follow PostgreSQL's `*send`/`*recv` functions: integers
//! and floats big-endian, `numeric` as base-10000 digits with weight, sign
//! and display scale, dates as days and timestamps as microseconds since
//! 2000-01-01 (infinities as the extreme values), `interval` as
//! microseconds, days, months, and one-dimensional `text[]` with a header.
// The wire protocol is big-endian by definition; the crate-wide lint exists
// for on-disk formats, which never come here.
#![allow(clippy::big_endian_bytes)]

use super::session::Fail;
use super::sqlstate::{codes, error_info, protocol_error};
use crate::index::encode::{
    DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY, MICROS_POS_INFINITY,
};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::relation::Column;
use crate::sql::scalar::{EvalContext, format_text};
use crate::sql::types::{DataType, Datum, Interval};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400 * 1_000_000;

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
        DataType::Int4 | DataType::Float4 | DataType::Date => 4,
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
fn encode_binary(d: &Datum, ty: DataType, out: &mut Vec<u8>) -> SqlResult<()> {
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
        (DataType::TextArray, Datum::TextArray(items)) => encode_text_array(items, out)?,
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
fn encode_numeric(n: &Decimal, out: &mut Vec<u8>) {
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

/// PostgreSQL's `array_send` for a one-dimensional `text[]`.
fn encode_text_array(items: &[Option<String>], out: &mut Vec<u8>) -> SqlResult<()> {
    let too_big = || {
        SqlError::new(
            crate::sql::error::SqlState::ProgramLimitExceeded,
            "array too large to send",
        )
    };
    let has_null = items.iter().any(Option::is_none);
    out.extend_from_slice(&i32::from(!items.is_empty()).to_be_bytes());
    out.extend_from_slice(&i32::from(has_null).to_be_bytes());
    out.extend_from_slice(&Type::TEXT.oid().to_be_bytes());
    if items.is_empty() {
        return Ok(());
    }
    out.extend_from_slice(
        &i32::try_from(items.len())
            .map_err(|_| too_big())?
            .to_be_bytes(),
    );
    out.extend_from_slice(&1i32.to_be_bytes());
    for item in items {
        match item {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(s) => {
                out.extend_from_slice(
                    &i32::try_from(s.len()).map_err(|_| too_big())?.to_be_bytes(),
                );
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
    Ok(())
}

fn bad_binary(ty: DataType) -> Fail {
    Box::new(protocol_error(
        codes::INVALID_BINARY_REPRESENTATION,
        format!(
            "incorrect binary data format in bind parameter of type {}",
            ty.name()
        ),
    ))
}

/// A reader over a parameter's bytes that fails with 22P03 when short.
struct Reader<'a> {
    bytes: &'a [u8],
    ty: DataType,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Fail> {
        if self.bytes.len() < N {
            return Err(bad_binary(self.ty));
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        let mut a = [0u8; N];
        a.copy_from_slice(head);
        Ok(a)
    }
    fn i16(&mut self) -> Result<i16, Fail> {
        Ok(i16::from_be_bytes(self.take()?))
    }
    fn i32(&mut self) -> Result<i32, Fail> {
        Ok(i32::from_be_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, Fail> {
        Ok(i64::from_be_bytes(self.take()?))
    }
    fn rest(&mut self, n: usize) -> Result<&[u8], Fail> {
        if self.bytes.len() < n {
            return Err(bad_binary(self.ty));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn done(&self) -> Result<(), Fail> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(bad_binary(self.ty))
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, Fail> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        Box::new(protocol_error(
            "22021",
            "invalid byte sequence for encoding \"UTF8\"",
        ))
    })
}

/// A parameter value as a [`Datum`] of type `ty` (`Unknown`: kept as text
/// for the SQL layer to type). `raw` is `None` for NULL.
pub(crate) fn decode_param(
    raw: Option<&[u8]>,
    binary: bool,
    ty: DataType,
    ctx: &EvalContext,
) -> Result<Datum, Fail> {
    let Some(bytes) = raw else {
        return Ok(Datum::Null);
    };
    if !binary {
        let text = utf8(bytes)?;
        return match ty {
            DataType::Text | DataType::Unknown => Ok(Datum::Text(text)),
            ty => crate::sql::scalar::cast(Datum::Text(text), DataType::Text, ty, ctx)
                .map_err(|e| Box::new(error_info(&e))),
        };
    }
    let mut r = Reader { bytes, ty };
    let d = match ty {
        DataType::Unknown => {
            return Err(Box::new(protocol_error(
                codes::INDETERMINATE_DATATYPE,
                "could not determine data type of a binary parameter",
            )));
        }
        DataType::Bool => Datum::Bool(r.take::<1>()?[0] != 0),
        DataType::Int2 => Datum::Int(i64::from(r.i16()?)),
        DataType::Int4 => Datum::Int(i64::from(r.i32()?)),
        DataType::Int8 => Datum::Int(r.i64()?),
        DataType::Float4 => Datum::Float(f64::from(f32::from_be_bytes(r.take()?))),
        DataType::Float8 => Datum::Float(f64::from_be_bytes(r.take()?)),
        DataType::Numeric(typmod) => {
            let n = decode_numeric(&mut r)?;
            let n = match typmod {
                Some((p, s)) => n.with_typmod(p, s).map_err(|e| Box::new(error_info(&e)))?,
                None => n,
            };
            Datum::Numeric(n)
        }
        DataType::Text => return Ok(Datum::Text(utf8(bytes)?)),
        DataType::TextArray => Datum::TextArray(decode_text_array(&mut r)?),
        DataType::Date => Datum::Date(match r.i32()? {
            i32::MAX => DAYS_POS_INFINITY,
            i32::MIN => DAYS_NEG_INFINITY,
            d => i64::from(d) + PG_EPOCH_DAYS,
        }),
        DataType::Timestamp | DataType::TimestampTz => {
            let m = match r.i64()? {
                i64::MAX => MICROS_POS_INFINITY,
                i64::MIN => MICROS_NEG_INFINITY,
                m => m
                    .checked_add(PG_EPOCH_MICROS)
                    .ok_or_else(|| bad_binary(ty))?,
            };
            if ty == DataType::Timestamp {
                Datum::Timestamp(m)
            } else {
                Datum::TimestampTz(m)
            }
        }
        DataType::Interval => {
            let micros = r.i64()?;
            let days = r.i32()?;
            let months = r.i32()?;
            Datum::Interval(Interval {
                months,
                days,
                micros,
            })
        }
    };
    r.done()?;
    Ok(d)
}

/// PostgreSQL's `numeric_recv`.
fn decode_numeric(r: &mut Reader<'_>) -> Result<Decimal, Fail> {
    let ndigits = r.i16()?;
    let weight = i32::from(r.i16()?);
    let sign = r.i16()? as u16;
    let dscale = r.i16()? as u16;
    let ty = r.ty;
    if ndigits < 0 {
        return Err(bad_binary(ty));
    }
    let mut digits = Vec::with_capacity(ndigits as usize);
    for _ in 0..ndigits {
        let d = r.i16()?;
        if !(0..10_000).contains(&d) {
            return Err(bad_binary(ty));
        }
        digits.push(d);
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        _ => {
            return Err(Box::new(error_info(&SqlError::unsupported(
                "NaN and infinite numeric values",
            ))));
        }
    };
    // Too many digits for a Decimal fail in Decimal::parse with 22003.
    if weight.abs() > 1_000 || dscale > 1_000 {
        return Err(bad_binary(ty));
    }
    let digit_at = |exp: i32| -> i16 {
        let idx = weight - exp;
        if idx < 0 {
            0
        } else {
            digits.get(idx as usize).copied().unwrap_or(0)
        }
    };
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for exp in (0..=weight).rev() {
            if exp == weight {
                s.push_str(&digit_at(exp).to_string());
            } else {
                s.push_str(&format!("{:04}", digit_at(exp)));
            }
        }
    }
    if dscale > 0 {
        let mut frac = String::new();
        let mut exp = -1;
        while frac.len() < usize::from(dscale) {
            frac.push_str(&format!("{:04}", digit_at(exp)));
            exp -= 1;
        }
        frac.truncate(usize::from(dscale));
        s.push('.');
        s.push_str(&frac);
    }
    Decimal::parse(&s).map_err(|e| Box::new(error_info(&e)))
}

/// PostgreSQL's `array_recv` for a one-dimensional text-like array.
fn decode_text_array(r: &mut Reader<'_>) -> Result<Vec<Option<String>>, Fail> {
    let ty = r.ty;
    let ndim = r.i32()?;
    let _has_null = r.i32()?;
    let _elem = r.i32()?;
    match ndim {
        0 => return Ok(Vec::new()),
        1 => {}
        _ => {
            return Err(Box::new(error_info(&SqlError::unsupported(
                "multidimensional arrays",
            ))));
        }
    }
    let len = r.i32()?;
    let _lbound = r.i32()?;
    let len = usize::try_from(len).map_err(|_| bad_binary(ty))?;
    // Every element takes at least 4 bytes: bound the allocation by input.
    let mut items = Vec::with_capacity(len.min(r.bytes.len() / 4));
    for _ in 0..len {
        let n = r.i32()?;
        if n < 0 {
            items.push(None);
        } else {
            items.push(Some(utf8(r.rest(n as usize)?)?));
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> EvalContext {
        EvalContext {
            now_micros: 0,
            timezone_offset_secs: 0,
            params: Vec::new(),
        }
    }

    fn round_trip(d: Datum, ty: DataType) {
        let mut buf = Vec::new();
        encode_binary(&d, ty, &mut buf).expect("encode");
        let back = decode_param(Some(&buf), true, ty, &ctx()).expect("decode");
        assert_eq!(back, d, "{ty:?}");
    }

    #[test]
    fn binary_round_trips() {
        round_trip(Datum::Bool(true), DataType::Bool);
        round_trip(Datum::Int(-7), DataType::Int2);
        round_trip(Datum::Int(1 << 30), DataType::Int4);
        round_trip(Datum::Int(i64::MIN), DataType::Int8);
        round_trip(Datum::Float(0.5), DataType::Float4);
        round_trip(Datum::Float(-1e300), DataType::Float8);
        round_trip(Datum::Text("héllo".into()), DataType::Text);
        round_trip(
            Datum::TextArray(vec![Some("a".into()), None, Some("".into())]),
            DataType::TextArray,
        );
        round_trip(Datum::TextArray(vec![]), DataType::TextArray);
        round_trip(Datum::Date(19_000), DataType::Date);
        round_trip(Datum::Date(DAYS_POS_INFINITY), DataType::Date);
        round_trip(Datum::Timestamp(1_700_000_000_123_456), DataType::Timestamp);
        round_trip(Datum::TimestampTz(-5), DataType::TimestampTz);
        round_trip(
            Datum::Interval(Interval {
                months: 1,
                days: 2,
                micros: 3,
            }),
            DataType::Interval,
        );
        for (m, s) in [
            (0i128, 0u32),
            (0, 2),
            (120_050, 2),
            (-120_050, 2),
            (1, 9),
            (123_456_789_012_345, 0),
            (-5, 1),
            (10_000, 0),
        ] {
            round_trip(Datum::Numeric(Decimal::new(m, s)), DataType::Numeric(None));
        }
    }

    #[test]
    fn numeric_send_matches_postgres() {
        // SELECT numeric_send(1200.50) = 0003 0000 0000 0002 0001 04b0 1388
        let mut buf = Vec::new();
        encode_numeric(&Decimal::new(120_050, 2), &mut buf);
        assert_eq!(buf, [0, 2, 0, 0, 0, 0, 0, 2, 0x04, 0xb0, 0x13, 0x88]);
    }

    #[test]
    fn short_or_bad_binary_is_22p03() {
        let e = decode_param(Some(&[0, 1]), true, DataType::Int4, &ctx()).expect_err("short");
        assert_eq!(e.code, "22P03");
        let e =
            decode_param(Some(&[0, 0, 0, 1, 0]), true, DataType::Int4, &ctx()).expect_err("long");
        assert_eq!(e.code, "22P03");
        let e = decode_param(
            Some(&[
                0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1,
            ]),
            true,
            DataType::TextArray,
            &ctx(),
        )
        .expect_err("huge array");
        assert_eq!(e.code, "22P03");
    }

    #[test]
    fn text_params_take_their_type() {
        assert_eq!(
            decode_param(Some(b"42"), false, DataType::Int4, &ctx()).expect("int"),
            Datum::Int(42)
        );
        assert_eq!(
            decode_param(Some(b"x"), false, DataType::Unknown, &ctx()).expect("text"),
            Datum::Text("x".into())
        );
        assert_eq!(
            decode_param(Some(b"abc"), false, DataType::Int4, &ctx())
                .expect_err("bad")
                .code,
            "22P02"
        );
    }
}
