//! PostgreSQL's `*recv` functions: one value of a SQL type from its binary
//! form, with PostgreSQL's errors. A value shorter than its type's fields
//! fails as PostgreSQL's message reader does (`08P01 insufficient data left
//! in message`); bytes left over are for the caller to report (a bind
//! parameter and a COPY field word that differently), see [`recv`].

use super::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::catalog::system::oids::format_type;
use crate::index::encode::{DATE_MAX, DATE_MIN, TIMESTAMP_END, TIMESTAMP_MIN};
use crate::index::encode::{
    DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY, MICROS_POS_INFINITY,
};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum, Interval};

/// `varchar[]` and `varchar`: audb keeps both as text, but a binary
/// `varchar[]` value must say its elements are `varchar`.
pub const VARCHAR_ARRAY_OID: u32 = 1015;
const VARCHAR_OID: u32 = 1043;

/// PostgreSQL's `MaxArraySize`: most elements an array may have.
const MAX_ARRAY_SIZE: usize = 134_217_727;
/// PostgreSQL's `MAXDIM`: most dimensions an array may have.
const MAX_DIMENSIONS: i32 = 6;
/// PostgreSQL's `FirstGenbkiObjectId`: OIDs below it are built in, and only
/// a mismatch between two built-in element types is reported.
const FIRST_GENBKI_OBJECT_ID: u32 = 10_000;

fn binary_error(message: impl Into<String>) -> SqlError {
    SqlError::new(SqlState::InvalidBinaryRepresentation, message)
}

/// A value its type's `*recv` does not accept.
fn bad_binary() -> SqlError {
    binary_error("incorrect binary data format")
}

/// A value shorter than its type's fields: PostgreSQL's message reader
/// fails with 08P01, as for a message cut short.
fn short_binary(no_data: bool) -> SqlError {
    SqlError::new(
        SqlState::ProtocolViolation,
        if no_data {
            "no data left in message"
        } else {
            "insufficient data left in message"
        },
    )
}

/// A value of type `ty` read from `bytes` (PostgreSQL's `*recv`), and how
/// many bytes of them were left unread (`0` for a well-formed value).
/// `wire_oid` is the type the value was declared as: it decides which
/// element type a binary array must carry (`varchar[]` carries
/// `varchar`, `text[]` text).
pub fn recv(bytes: &[u8], ty: DataType, wire_oid: u32) -> SqlResult<(Datum, usize)> {
    let mut r = Reader { bytes };
    let d = match ty {
        DataType::TextArray => {
            let elem = if wire_oid == VARCHAR_ARRAY_OID {
                VARCHAR_OID
            } else {
                DataType::Text.oid()
            };
            Datum::TextArray(
                recv_array(&mut r, DataType::Text, elem)?
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
            Datum::Array(recv_array(&mut r, elem, elem.oid())?)
        }
        ty => recv_scalar(&mut r, ty)?,
    };
    Ok((d, r.bytes.len()))
}

/// A reader over a value's bytes that fails like PostgreSQL's message
/// reader (`pq_getmsg*`) when they run out.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> SqlResult<[u8; N]> {
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
    fn i16(&mut self) -> SqlResult<i16> {
        Ok(i16::from_be_bytes(self.take()?))
    }
    fn i32(&mut self) -> SqlResult<i32> {
        Ok(i32::from_be_bytes(self.take()?))
    }
    fn i64(&mut self) -> SqlResult<i64> {
        Ok(i64::from_be_bytes(self.take()?))
    }
    /// An array element of `n` bytes (array_recv checks its length
    /// itself: 22P03 "insufficient data left in message").
    fn element(&mut self, n: usize) -> SqlResult<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(binary_error("insufficient data left in message"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
}

/// The text of a `text`/`json` value: 22021 for bytes that are not UTF-8,
/// naming them as PostgreSQL does.
fn utf8(bytes: &[u8]) -> SqlResult<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let bad = &bytes[e.utf8_error().valid_up_to()..];
        SqlError::new(SqlState::CharacterNotInRepertoire, invalid_sequence(bad))
    })
}

/// `invalid byte sequence for encoding "UTF8": 0x…` as PostgreSQL words it:
/// the bytes of the character the first byte of `bad` announces (as far
/// as the string goes).
pub fn invalid_sequence(bad: &[u8]) -> String {
    let announced = match bad.first() {
        Some(b) if b & 0xe0 == 0xc0 => 2,
        Some(b) if b & 0xf0 == 0xe0 => 3,
        Some(b) if b & 0xf8 == 0xf0 => 4,
        _ => 1,
    };
    let bytes: Vec<String> = bad
        .iter()
        .take(announced)
        .map(|b| format!("0x{b:02x}"))
        .collect();
    format!(
        "invalid byte sequence for encoding \"UTF8\": {}",
        bytes.join(" ")
    )
}

/// A binary value of scalar type `ty`, read from `r` without checking that
/// all of it was read.
fn recv_scalar(r: &mut Reader<'_>, ty: DataType) -> SqlResult<Datum> {
    Ok(match ty {
        DataType::Unknown => {
            return Err(SqlError::new(
                SqlState::IndeterminateDatatype,
                "could not determine data type of a binary parameter",
            ));
        }
        DataType::Bool => Datum::Bool(r.take::<1>()?[0] != 0),
        DataType::Int2 => Datum::Int(i64::from(r.i16()?)),
        DataType::Int4 => Datum::Int(i64::from(r.i32()?)),
        DataType::Int8 => Datum::Int(r.i64()?),
        DataType::Float4 => Datum::Float(f64::from(f32::from_be_bytes(r.take()?))),
        DataType::Float8 => Datum::Float(f64::from_be_bytes(r.take()?)),
        DataType::Numeric(typmod) => {
            let n = recv_numeric(r)?;
            Datum::Numeric(match typmod {
                Some((p, s)) => n.with_typmod(p, s)?,
                None => n,
            })
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
        | DataType::Record(_) => return Err(bad_binary()),
        DataType::Date => Datum::Date(match r.i32()? {
            i32::MAX => DAYS_POS_INFINITY,
            i32::MIN => DAYS_NEG_INFINITY,
            d => {
                let days = i64::from(d) + PG_EPOCH_DAYS;
                if !(DATE_MIN..=DATE_MAX).contains(&days) {
                    return Err(SqlError::new(
                        SqlState::DatetimeFieldOverflow,
                        "date out of range",
                    ));
                }
                days
            }
        }),
        DataType::Timestamp | DataType::TimestampTz => {
            let m = match r.i64()? {
                i64::MAX => MICROS_POS_INFINITY,
                i64::MIN => MICROS_NEG_INFINITY,
                m => m
                    .checked_add(PG_EPOCH_MICROS)
                    .filter(|m| (TIMESTAMP_MIN..TIMESTAMP_END).contains(m))
                    .ok_or_else(|| {
                        SqlError::new(SqlState::DatetimeFieldOverflow, "timestamp out of range")
                    })?,
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
fn recv_numeric(r: &mut Reader<'_>) -> SqlResult<Decimal> {
    let ndigits = r.i16()?;
    let weight = i32::from(r.i16()?);
    let sign = r.i16()? as u16;
    let dscale = r.i16()? as u16;
    if ndigits < 0 {
        return Err(binary_error("invalid length in external \"numeric\" value"));
    }
    let mut digits = Vec::with_capacity(ndigits as usize);
    for _ in 0..ndigits {
        let d = r.i16()?;
        if !(0..10_000).contains(&d) {
            return Err(binary_error("invalid digit in external \"numeric\" value"));
        }
        digits.push(d);
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 | 0xD000 | 0xF000 => {
            return Err(SqlError::unsupported("NaN and infinite numeric values"));
        }
        _ => return Err(binary_error("invalid sign in external \"numeric\" value")),
    };
    // Too many digits for a Decimal fail in Decimal::parse with 22003.
    if weight.abs() > 1_000 || dscale > 1_000 {
        return Err(SqlError::new(
            SqlState::NumericValueOutOfRange,
            "value overflows numeric format",
        ));
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
    Decimal::parse(&s)
}

/// PostgreSQL's `array_recv` for a one-dimensional array whose elements
/// are of type `elem` (wire OID `elem_oid`), in its order of checks: the
/// number of dimensions (22P03 below 0, 54000 above 6), the flags (22P03),
/// the element type (42804 when both OIDs are built in), the size (54000),
/// then each element (22P03 when its length overruns the value or its
/// bytes are not all read).
fn recv_array(r: &mut Reader<'_>, elem: DataType, elem_oid: u32) -> SqlResult<Vec<Datum>> {
    let ndim = r.i32()?;
    if ndim < 0 {
        return Err(binary_error(format!(
            "invalid number of dimensions: {ndim}"
        )));
    }
    if ndim > MAX_DIMENSIONS {
        return Err(SqlError::new(
            SqlState::ProgramLimitExceeded,
            format!(
                "number of array dimensions ({ndim}) exceeds the maximum allowed ({MAX_DIMENSIONS})"
            ),
        ));
    }
    let flags = r.i32()?;
    if flags != 0 && flags != 1 {
        return Err(binary_error("invalid array flags"));
    }
    let got = r.i32()? as u32;
    if got != elem_oid && got < FIRST_GENBKI_OBJECT_ID && elem_oid < FIRST_GENBKI_OBJECT_ID {
        let name = |oid: u32| format_type(i64::from(oid), None);
        return Err(SqlError::new(
            SqlState::DatatypeMismatch,
            format!(
                "binary data has array element type {got} ({}) instead of expected {elem_oid} ({})",
                name(got),
                name(elem_oid)
            ),
        ));
    }
    match ndim {
        0 => return Ok(Vec::new()),
        1 => {}
        _ => return Err(SqlError::unsupported("multidimensional arrays")),
    }
    let len = r.i32()?;
    let _lbound = r.i32()?;
    let len = usize::try_from(len)
        .ok()
        .filter(|n| *n <= MAX_ARRAY_SIZE)
        .ok_or_else(|| {
            SqlError::new(
                SqlState::ProgramLimitExceeded,
                format!("array size exceeds the maximum allowed ({MAX_ARRAY_SIZE})"),
            )
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
        };
        items.push(recv_scalar(&mut er, elem)?);
        if !er.bytes.is_empty() {
            return Err(binary_error(format!(
                "improper binary format in array element {}",
                i + 1
            )));
        }
    }
    Ok(items)
}
