//! Parameters from the wire: text format through the SQL layer's input
//! casts, binary format through the one per-type codec, PostgreSQL's
//! `*recv` functions in [`crate::copy::binary::recv`].
// The wire protocol is big-endian by definition.
#![allow(clippy::big_endian_bytes)]

use super::session::Fail;
use super::sqlstate::{codes, error_info, protocol_error};
use crate::copy::binary::recv;
use crate::copy::binary::recv::invalid_sequence;
use crate::sql::scalar::EvalContext;
use crate::sql::types::{DataType, Datum};

/// A binary value its type's `*recv` function does not read to its end:
/// 22P03, naming the parameter (1-based).
fn bad_binary(index: usize) -> Fail {
    Box::new(protocol_error(
        codes::INVALID_BINARY_REPRESENTATION,
        format!("incorrect binary data format in bind parameter {index}"),
    ))
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
    if ty == DataType::Unknown {
        return Err(Box::new(protocol_error(
            codes::INDETERMINATE_DATATYPE,
            "could not determine data type of a binary parameter",
        )));
    }
    match recv(bytes, ty, oid) {
        Ok((d, 0)) => Ok(d),
        Ok(_) => Err(bad_binary(index)),
        Err(e) => Err(Box::new(error_info(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::binary::{send, send_numeric};
    use crate::index::encode::DAYS_POS_INFINITY;
    use crate::sql::decimal::Decimal;
    use crate::sql::types::Interval;

    fn ctx() -> EvalContext {
        EvalContext {
            now_micros: 0,
            timezone: Default::default(),
            params: Vec::new(),
            catalog: None,
        }
    }

    fn round_trip(d: Datum, ty: DataType) {
        let mut buf = Vec::new();
        send(&d, ty, &mut buf).expect("encode");
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
        send_numeric(&Decimal::new(120_050, 2), &mut buf);
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
