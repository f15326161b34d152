//! Input text → stored [`Value`]s and [`Key`]s, with PostgreSQL's input rules,
//! SQLSTATEs and messages, and the storage limits checked up front so that a
//! bad row is caught (and named by its line) before it reaches the bulk load.
//!
//! This is the one conversion path of every bulk input: `COPY … FROM STDIN`
//! (text and csv) and `audb load` (CSV and JSON lines) call it; binary
//! `COPY` fields go through [`binary_key`] and [`binary_value`] (the
//! type's `*recv`, then the same limits).

use super::binary::recv;
use crate::index::encode::{
    f32_to_ordered, f64_to_ordered, parse_date, parse_f32, parse_f64, parse_numeric,
};
use crate::index::{ColumnType, Key, KeyType, Value};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::scalar::cast::{text_to_timestamp, text_to_timestamptz};
use crate::sql::scalar::parse_text_array;
use crate::sql::timezone::TimeZone;
use crate::sql::types::{DataType, Datum};
use crate::storage::limits::{KEY_BYTES_MAX, SET_VALUES_MAX, VALUE_BYTES_MAX};

/// One input cell before conversion.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL (the NULL marker, an unquoted empty CSV field, JSON `null`).
    Null,
    /// Text to parse with the column type's input rules.
    Text(&'a str),
    /// A JSON boolean.
    Bool(bool),
    /// A JSON array of strings (for `TEXT[]`).
    List(Vec<String>),
}

/// Converts the key cell of `table`'s key column `column`.
pub fn key(cell: &Cell<'_>, ty: KeyType, table: &str, column: &str) -> SqlResult<Key> {
    let text = match cell {
        Cell::Null => {
            return Err(SqlError::new(
                SqlState::NotNullViolation,
                format!(
                    "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
                ),
            ));
        }
        Cell::Text(t) => *t,
        Cell::Bool(_) | Cell::List(_) => {
            return Err(SqlError::mismatch(format!(
                "the key column {column} must be a string or a number"
            )));
        }
    };
    match ty {
        KeyType::Text => {
            if text.len() > KEY_BYTES_MAX {
                return Err(SqlError::new(
                    SqlState::StringDataRightTruncation,
                    format!(
                        "key of {} bytes exceeds the limit of {KEY_BYTES_MAX} bytes",
                        text.len()
                    ),
                ));
            }
            Ok(Key::Text(text.to_owned()))
        }
        KeyType::BigInt => int(text, "bigint", i64::MIN, i64::MAX).map(Key::Int),
    }
}

/// Converts one tag cell of a column of type `ty`. `tz` is the zone of
/// `TIMESTAMPTZ` input that names none (the session's `TimeZone`, each
/// value taking the offset in force at its instant; UTC for `audb load`).
pub fn value(cell: &Cell<'_>, ty: ColumnType, tz: &TimeZone) -> SqlResult<Option<Value>> {
    let v = match (cell, ty) {
        (Cell::Null, _) => return Ok(None),
        (Cell::Bool(b), ColumnType::Boolean) => Value::Bool(*b),
        (Cell::Bool(b), _) => {
            return value(&Cell::Text(if *b { "true" } else { "false" }), ty, tz);
        }
        (Cell::List(items), ColumnType::TextArray) => set(items.clone())?,
        (Cell::List(_), _) => {
            return Err(SqlError::mismatch(format!(
                "an array is not a value of type {ty}"
            )));
        }
        (Cell::Text(t), ty) => parse(t, ty, tz)?,
    };
    if let Value::Text(s) = &v
        && s.len() > VALUE_BYTES_MAX
    {
        return Err(SqlError::new(
            SqlState::StringDataRightTruncation,
            format!(
                "value of {} bytes exceeds the limit of {VALUE_BYTES_MAX} bytes",
                s.len()
            ),
        ));
    }
    Ok(Some(v))
}

fn set(items: Vec<String>) -> SqlResult<Value> {
    if items.len() > SET_VALUES_MAX {
        return Err(SqlError::new(
            SqlState::ProgramLimitExceeded,
            format!("more than {SET_VALUES_MAX} values in one array"),
        ));
    }
    if let Some(long) = items.iter().find(|s| s.len() > VALUE_BYTES_MAX) {
        return Err(SqlError::new(
            SqlState::StringDataRightTruncation,
            format!(
                "array element of {} bytes exceeds the limit of {VALUE_BYTES_MAX} bytes",
                long.len()
            ),
        ));
    }
    Ok(Value::text_set(items))
}

/// PostgreSQL's integer input: blanks around the digits allowed.
fn int(text: &str, name: &str, lo: i64, hi: i64) -> SqlResult<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SqlError::new(
            SqlState::InvalidTextRepresentation,
            format!("invalid input syntax for type {name}: \"{text}\""),
        ));
    }
    match t.parse::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(SqlError::new(
            SqlState::NumericValueOutOfRange,
            format!("value \"{text}\" is out of range for type {name}"),
        )),
    }
}

/// PostgreSQL's input function of `ty` applied to `text`.
fn parse(text: &str, ty: ColumnType, tz: &TimeZone) -> SqlResult<Value> {
    Ok(match ty {
        ColumnType::Boolean => Value::Bool(parse_bool(text)?),
        ColumnType::Text => Value::Text(text.to_owned()),
        ColumnType::TextArray => {
            let items = parse_text_array(text)?;
            let items: Option<Vec<String>> = items.into_iter().collect();
            set(items.ok_or_else(null_element)?)?
        }
        ColumnType::SmallInt => {
            Value::Int(int(text, "smallint", i16::MIN.into(), i16::MAX.into())?)
        }
        ColumnType::Int => Value::Int(int(text, "integer", i32::MIN.into(), i32::MAX.into())?),
        ColumnType::BigInt => Value::Int(int(text, "bigint", i64::MIN, i64::MAX)?),
        ColumnType::Numeric { precision, scale } => {
            Value::Int(parse_numeric(text, precision, scale)?)
        }
        ColumnType::Real => Value::Int(f32_to_ordered(parse_f32(text)?)),
        ColumnType::Double => Value::Int(f64_to_ordered(parse_f64(text)?)),
        ColumnType::Date => Value::Int(parse_date(text)?),
        ColumnType::Timestamp => Value::Int(text_to_timestamp(text)?),
        ColumnType::TimestampTz => Value::Int(text_to_timestamptz(text, tz)?),
    })
}

/// PostgreSQL's `boolin`: `t`, `true`, `y`, `yes`, `on`, `1` and their
/// negations, any case, unique prefixes allowed, surrounding blanks ignored.
fn parse_bool(text: &str) -> SqlResult<bool> {
    let t = text.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !t.is_empty() && word.starts_with(t.as_str());
    match t.as_str() {
        "1" | "on" => return Ok(true),
        "0" | "off" => return Ok(false),
        _ => {}
    }
    if prefix_of("true") || prefix_of("yes") {
        Ok(true)
    } else if prefix_of("false") || prefix_of("no") {
        Ok(false)
    } else {
        Err(SqlError::new(
            SqlState::InvalidTextRepresentation,
            format!("invalid input syntax for type boolean: \"{text}\""),
        ))
    }
}

/// A binary field the type's `*recv` did not read to its end.
fn incorrect_binary() -> SqlError {
    SqlError::new(
        SqlState::InvalidBinaryRepresentation,
        "incorrect binary data format",
    )
}

/// The value of a binary COPY field of SQL type `ty`: PostgreSQL's `*recv`,
/// which must read every byte.
fn recv_all(bytes: &[u8], ty: DataType) -> SqlResult<Datum> {
    match recv(bytes, ty, ty.oid())? {
        (d, 0) => Ok(d),
        _ => Err(incorrect_binary()),
    }
}

/// Converts the binary key field of `table`'s key column `column`
/// (`None` = NULL).
pub fn binary_key(bytes: Option<&[u8]>, ty: KeyType, table: &str, column: &str) -> SqlResult<Key> {
    let Some(bytes) = bytes else {
        return key(&Cell::Null, ty, table, column);
    };
    match ty {
        KeyType::BigInt => match recv_all(bytes, DataType::Int8)? {
            Datum::Int(v) => Ok(Key::Int(v)),
            _ => Err(incorrect_binary()),
        },
        KeyType::Text => match recv_all(bytes, DataType::Text)? {
            Datum::Text(t) => key(&Cell::Text(&t), ty, table, column),
            _ => Err(incorrect_binary()),
        },
    }
}

/// Converts one binary tag field (`None` = NULL) of a column of type `ty`.
pub fn binary_value(bytes: Option<&[u8]>, ty: ColumnType) -> SqlResult<Option<Value>> {
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let v = match (ty, recv_all(bytes, DataType::of_column(ty))?) {
        (ColumnType::Boolean, Datum::Bool(b)) => Value::Bool(b),
        (ColumnType::Text, Datum::Text(t)) => return value(&Cell::Text(&t), ty, &TimeZone::UTC),
        (ColumnType::TextArray, Datum::TextArray(items)) => {
            let items: Option<Vec<String>> = items.into_iter().collect();
            set(items.ok_or_else(null_element)?)?
        }
        (ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt, Datum::Int(v)) => {
            Value::Int(v)
        }
        (ColumnType::Numeric { precision, scale }, Datum::Numeric(n)) => {
            // `recv` applied the column's typmod: `n` has the column's scale.
            let m = i64::try_from(n.mantissa)
                .ok()
                .filter(|_| n.scale == u32::from(scale))
                .ok_or_else(|| {
                    SqlError::from(crate::index::encode::EncodeError::NumericOverflow {
                        precision,
                        scale,
                    })
                })?;
            Value::Int(m)
        }
        (ColumnType::Real, Datum::Float(f)) => Value::Int(f32_to_ordered(f as f32)),
        (ColumnType::Double, Datum::Float(f)) => Value::Int(f64_to_ordered(f)),
        (ColumnType::Date, Datum::Date(d)) => Value::Int(d),
        (ColumnType::Timestamp, Datum::Timestamp(m))
        | (ColumnType::TimestampTz, Datum::TimestampTz(m)) => Value::Int(m),
        _ => return Err(incorrect_binary()),
    };
    Ok(Some(v))
}

fn null_element() -> SqlError {
    SqlError::new(
        SqlState::NullValueNotAllowed,
        "NULL elements are not allowed in a TEXT[] tag",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_postgres_input_rules() {
        for t in ["t", "TRUE", " yes ", "on", "1", "y"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for t in ["f", "False", "no", "off", "0", "n"] {
            assert_eq!(parse_bool(t), Ok(false), "{t}");
        }
        assert!(parse_bool("o").is_err());
        assert!(parse_bool("").is_err());
    }

    #[test]
    fn integers_are_range_checked_with_postgres_messages() {
        let err = value(&Cell::Text("99999999999"), ColumnType::Int, &TimeZone::UTC).unwrap_err();
        assert_eq!(err.state, SqlState::NumericValueOutOfRange);
        assert_eq!(
            err.message,
            "value \"99999999999\" is out of range for type integer"
        );
        let err = value(&Cell::Text("abc"), ColumnType::Int, &TimeZone::UTC).unwrap_err();
        assert_eq!(err.state, SqlState::InvalidTextRepresentation);
        assert_eq!(
            err.message,
            "invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(
            value(&Cell::Text(" 42 "), ColumnType::Int, &TimeZone::UTC),
            Ok(Some(Value::Int(42)))
        );
    }

    #[test]
    fn bad_dates_carry_the_datetime_sqlstate() {
        let err = value(&Cell::Text("2020-13-45"), ColumnType::Date, &TimeZone::UTC).unwrap_err();
        assert_eq!(err.state.code(), "22008", "{err:?}");
    }

    #[test]
    fn text_arrays_accept_literals_and_lists() {
        let v = value(
            &Cell::Text("{b,a,\"c d\"}"),
            ColumnType::TextArray,
            &TimeZone::UTC,
        );
        assert_eq!(v, Ok(Some(Value::text_set(["a", "b", "c d"]))));
        let v = value(
            &Cell::List(vec!["x".into()]),
            ColumnType::TextArray,
            &TimeZone::UTC,
        );
        assert_eq!(v, Ok(Some(Value::text_set(["x"]))));
        assert!(
            value(
                &Cell::Text("{a,NULL}"),
                ColumnType::TextArray,
                &TimeZone::UTC
            )
            .is_err()
        );
    }

    #[test]
    fn null_key_is_a_not_null_violation() {
        let e = key(&Cell::Null, KeyType::Text, "users", "user_id").unwrap_err();
        assert_eq!(e.state, SqlState::NotNullViolation);
        assert_eq!(
            key(&Cell::Text("7"), KeyType::BigInt, "t", "id"),
            Ok(Key::Int(7))
        );
    }
}
