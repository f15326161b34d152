//! Parameters from the wire: text format through the SQL layer's input
//! casts, binary format following PostgreSQL's `*recv` functions (see
//! `encode.rs` for the formats).
// The wire protocol is big-endian by definition.
#![allow(clippy::big_endian_bytes)]

use super::encode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use super::session::Fail;
use super::sqlstate::{codes, error_info, protocol_error};
use crate::index::encode::{
    DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY, MICROS_POS_INFINITY,
};
use crate::sql::decimal::Decimal;
use crate::sql::error::SqlError;
use crate::sql::scalar::EvalContext;
use crate::sql::types::{DataType, Datum, Interval};

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
