//! Parameters from the wire: text format through the SQL layer's input
//! casts, binary format following PostgreSQL's `*recv` functions (see
//! `encode.rs` for the formats).
// The wire protocol is big-endian by definition.
#![allow(clippy::big_endian_bytes)]

use super::encode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use super::framing::invalid_sequence;
use super::session::Fail;
use super::sqlstate::{codes, error_info, protocol_error};
use crate::catalog::system::oids::format_type;
use crate::index::encode::{
    DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY, MICROS_POS_INFINITY,
};
use crate::sql::decimal::Decimal;
use crate::sql::error::SqlError;
use crate::sql::scalar::EvalContext;
use crate::sql::types::{DataType, Datum, Interval};

/// A binary value its type's `*recv` function does not accept (or does
/// not read to its end): 22P03, naming the parameter (1-based).
fn bad_binary(index: usize) -> Fail {
    Box::new(protocol_error(
        codes::INVALID_BINARY_REPRESENTATION,
        format!("incorrect binary data format in bind parameter {index}"),
    ))
}

/// A binary value shorter than its type's fields: PostgreSQL's message
/// reader fails with 08P01, as for a message cut short.
fn short_binary(no_data: bool) -> Fail {
    Box::new(protocol_error(
        codes::PROTOCOL_VIOLATION,
        if no_data {
            "no data left in message"
        } else {
            "insufficient data left in message"
        },
    ))
}

/// A reader over a parameter's bytes that fails like PostgreSQL's message
/// reader (`pq_getmsg*`) when they run out.
struct Reader<'a> {
    bytes: &'a [u8],
    /// The parameter's number (1-based), for errors.
    index: usize,
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Fail> {
        if self.bytes.len() < N {
            // pq_getmsgbyte says "no data"; the others "insufficient data".
            return Err(short_binary(N == 1));
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
    /// An array element of `n` bytes (array_recv checks its length
    /// itself: 22P03 "insufficient data left in message").
    fn element(&mut self, n: usize) -> Result<&'a [u8], Fail> {
        if self.bytes.len() < n {
            return Err(Box::new(protocol_error(
                codes::INVALID_BINARY_REPRESENTATION,
                "insufficient data left in message",
            )));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn done(&self) -> Result<(), Fail> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(bad_binary(self.index))
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, Fail> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let bad = &bytes[e.utf8_error().valid_up_to()..];
        Box::new(protocol_error("22021", invalid_sequence(bad)))
    })
}

/// Parameter `index` (1-based) as a [`Datum`] of type `ty` (`Unknown`:
/// kept as text for the SQL layer to type). `raw` is `None` for NULL.
#[cfg(test)]
pub(crate) fn decode_param(
    raw: Option<&[u8]>,
    binary: bool,
    ty: DataType,
    index: usize,
    ctx: &EvalContext,
) -> Result<Datum, Fail> {
    decode_param_oid(raw, binary, ty, ty.oid(), index, ctx)
}

/// [`decode_param`] for a parameter whose wire type is `oid` (the type the
/// client declared, or the one inferred): it decides which element type a
/// binary array must carry (`varchar[]` carries `varchar`, `text[]` text).
pub(crate) fn decode_param_oid(
    raw: Option<&[u8]>,
    binary: bool,
    ty: DataType,
    oid: u32,
    index: usize,
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
    let mut r = Reader { bytes, index };
    let d = match ty {
        DataType::TextArray => {
            let elem = if oid == VARCHAR_ARRAY_OID {
                VARCHAR_OID
            } else {
                DataType::Text.oid()
            };
            Datum::TextArray(
                decode_array(&mut r, DataType::Text, elem)?
                    .into_iter()
                    .map(|d| match d {
                        Datum::Text(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
            )
        }
        DataType::Array(e) => {
            let elem = e.data_type();
            Datum::Array(decode_array(&mut r, elem, elem.oid())?)
        }
        ty => decode_binary(&mut r, ty)?,
    };
    r.done()?;
    Ok(d)
}

/// `varchar[]` and `varchar`: audb keeps both as text, but a binary
/// `varchar[]` value must say its elements are `varchar`.
const VARCHAR_ARRAY_OID: u32 = 1015;
const VARCHAR_OID: u32 = 1043;

/// A binary value of scalar type `ty` (PostgreSQL's `*recv`), read from
/// `r` without checking that all of it was read.
fn decode_binary(r: &mut Reader<'_>, ty: DataType) -> Result<Datum, Fail> {
    let index = r.index;
    Ok(match ty {
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
            let n = decode_numeric(r)?;
            let n = match typmod {
                Some((p, s)) => n.with_typmod(p, s).map_err(|e| Box::new(error_info(&e)))?,
                None => n,
            };
            Datum::Numeric(n)
        }
        DataType::Text | DataType::Json => {
            let all = std::mem::take(&mut r.bytes);
            Datum::Text(utf8(all)?)
        }
        // oid and the reg* types: an unsigned 32-bit OID.
        DataType::Reg(_) => Datum::Int(i64::from(r.i32()? as u32)),
        DataType::Array(_)
        | DataType::TextArray
        | DataType::Int2Vector
        | DataType::OidVector
        | DataType::Record(_) => {
            return Err(bad_binary(index));
        }
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
                    .ok_or_else(|| bad_binary(index))?,
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
    })
}

/// PostgreSQL's `numeric_recv`.
fn decode_numeric(r: &mut Reader<'_>) -> Result<Decimal, Fail> {
    let ndigits = r.i16()?;
    let weight = i32::from(r.i16()?);
    let sign = r.i16()? as u16;
    let dscale = r.i16()? as u16;
    let index = r.index;
    if ndigits < 0 {
        return Err(bad_binary(index));
    }
    let mut digits = Vec::with_capacity(ndigits as usize);
    for _ in 0..ndigits {
        let d = r.i16()?;
        if !(0..10_000).contains(&d) {
            return Err(bad_binary(index));
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
        return Err(bad_binary(index));
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

/// PostgreSQL's `MaxArraySize`: most elements an array may have.
const MAX_ARRAY_SIZE: usize = 134_217_727;
/// PostgreSQL's `MAXDIM`: most dimensions an array may have.
const MAX_DIMENSIONS: i32 = 6;
/// PostgreSQL's `FirstGenbkiObjectId`: OIDs below it are built in, and only
/// a mismatch between two built-in element types is reported.
const FIRST_GENBKI_OBJECT_ID: u32 = 10_000;

/// PostgreSQL's `array_recv` for a one-dimensional array whose elements
/// are of type `elem` (wire OID `elem_oid`), in its order of checks: the
/// number of dimensions (22P03 below 0, 54000 above 6), the flags (22P03),
/// the element type (42804 when both OIDs are built in), the size (54000),
/// then each element (22P03 when its length overruns the value or its
/// bytes are not all read).
fn decode_array(r: &mut Reader<'_>, elem: DataType, elem_oid: u32) -> Result<Vec<Datum>, Fail> {
    let ndim = r.i32()?;
    if ndim < 0 {
        return Err(Box::new(protocol_error(
            codes::INVALID_BINARY_REPRESENTATION,
            format!("invalid number of dimensions: {ndim}"),
        )));
    }
    if ndim > MAX_DIMENSIONS {
        return Err(Box::new(protocol_error(
            "54000",
            format!(
                "number of array dimensions ({ndim}) exceeds the maximum allowed ({MAX_DIMENSIONS})"
            ),
        )));
    }
    let flags = r.i32()?;
    if flags != 0 && flags != 1 {
        return Err(Box::new(protocol_error(
            codes::INVALID_BINARY_REPRESENTATION,
            "invalid array flags",
        )));
    }
    let got = r.i32()? as u32;
    if got != elem_oid && got < FIRST_GENBKI_OBJECT_ID && elem_oid < FIRST_GENBKI_OBJECT_ID {
        let name = |oid: u32| format_type(i64::from(oid), None);
        return Err(Box::new(protocol_error(
            "42804",
            format!(
                "binary data has array element type {got} ({}) instead of expected {elem_oid} ({})",
                name(got),
                name(elem_oid)
            ),
        )));
    }
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
    let len = usize::try_from(len)
        .ok()
        .filter(|n| *n <= MAX_ARRAY_SIZE)
        .ok_or_else(|| {
            Box::new(protocol_error(
                "54000",
                format!("array size exceeds the maximum allowed ({MAX_ARRAY_SIZE})"),
            ))
        })?;
    // Every element takes at least 4 bytes: bound the allocation by input.
    let mut items = Vec::with_capacity(len.min(r.bytes.len() / 4));
    for i in 0..len {
        let n = r.i32()?;
        if n < 0 {
            items.push(Datum::Null);
            continue;
        }
        let mut er = Reader {
            bytes: r.element(n as usize)?,
            index: r.index,
        };
        items.push(decode_binary(&mut er, elem)?);
        if !er.bytes.is_empty() {
            return Err(Box::new(protocol_error(
                codes::INVALID_BINARY_REPRESENTATION,
                format!("improper binary format in array element {}", i + 1),
            )));
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::encode::{encode_binary, encode_numeric};

    fn ctx() -> EvalContext {
        EvalContext {
            now_micros: 0,
            timezone_offset_secs: 0,
            params: Vec::new(),
            catalog: None,
        }
    }

    fn round_trip(d: Datum, ty: DataType) {
        let mut buf = Vec::new();
        encode_binary(&d, ty, &mut buf).expect("encode");
        let back = decode_param(Some(&buf), true, ty, 1, &ctx()).expect("decode");
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

    /// As PostgreSQL 15 answers (checked against it): a value shorter than
    /// its type is 08P01 (the message reader runs out), a longer one 22P03.
    #[test]
    fn short_binary_is_08p01_and_long_is_22p03() {
        let err = |bytes: &[u8], ty: DataType| {
            let e = decode_param(Some(bytes), true, ty, 2, &ctx()).expect_err("bad");
            (e.code.clone(), e.message.clone())
        };
        let short = (
            "08P01".to_owned(),
            "insufficient data left in message".to_owned(),
        );
        assert_eq!(err(&[0, 1], DataType::Int4), short);
        assert_eq!(err(&[], DataType::Int4), short);
        assert_eq!(err(&[0; 4], DataType::Int8), short);
        assert_eq!(err(&[0; 5], DataType::Float8), short);
        assert_eq!(err(&[0; 7], DataType::TimestampTz), short);
        assert_eq!(
            err(&[3, 0xe8, 0, 0, 0, 0, 0, 0], DataType::Numeric(None)),
            short
        );
        assert_eq!(
            err(&[], DataType::Bool),
            ("08P01".to_owned(), "no data left in message".to_owned())
        );
        let long = (
            "22P03".to_owned(),
            "incorrect binary data format in bind parameter 2".to_owned(),
        );
        assert_eq!(err(&[0, 0, 0, 1, 0], DataType::Int4), long);
        assert_eq!(err(&[0, 1], DataType::Bool), long);
        let array = |len: u32, rest: &[u8]| {
            let mut v = Vec::new();
            for w in [1u32, 0, 25, len, 1] {
                v.extend_from_slice(&w.to_be_bytes());
            }
            v.extend_from_slice(rest);
            v
        };
        assert_eq!(
            err(&array(0x7fff_ffff, &[0, 0, 0, 1]), DataType::TextArray),
            (
                "54000".to_owned(),
                "array size exceeds the maximum allowed (134217727)".to_owned()
            )
        );
        assert_eq!(
            err(&array(1, &[0, 0, 0, 9, b'a']), DataType::TextArray),
            (
                "22P03".to_owned(),
                "insufficient data left in message".to_owned()
            )
        );
        assert_eq!(
            err(&array(2, &[0, 0, 0, 1, b'a']), DataType::TextArray),
            short
        );
        assert_eq!(
            err(&[b'a', 0xc3, 0x28], DataType::Text),
            (
                "22021".to_owned(),
                "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28".to_owned()
            )
        );
    }

    #[test]
    fn text_params_take_their_type() {
        assert_eq!(
            decode_param(Some(b"42"), false, DataType::Int4, 1, &ctx()).expect("int"),
            Datum::Int(42)
        );
        assert_eq!(
            decode_param(Some(b"x"), false, DataType::Unknown, 1, &ctx()).expect("text"),
            Datum::Text("x".into())
        );
        assert_eq!(
            decode_param(Some(b"abc"), false, DataType::Int4, 1, &ctx())
                .expect_err("bad")
                .code,
            "22P02"
        );
    }
}
