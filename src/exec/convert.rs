//! Conversions between stored tag values and SQL datums.

use crate::index::encode::ordered_to_f64;
use crate::index::{ColumnType, Key, KeyType, Value};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::types::Datum;

/// The SQL datum of an encoded numeric value of a column of type `ty`.
pub fn decode_int(v: i64, ty: ColumnType) -> Datum {
    match ty {
        ColumnType::Numeric { scale, .. } => {
            Datum::Numeric(Decimal::new(i128::from(v), u32::from(scale)))
        }
        ColumnType::Real | ColumnType::Double => Datum::Float(ordered_to_f64(v)),
        ColumnType::Date => Datum::Date(v),
        ColumnType::Timestamp => Datum::Timestamp(v),
        ColumnType::TimestampTz => Datum::TimestampTz(v),
        _ => Datum::Int(v),
    }
}

/// The SQL datum of a stored value of a column of type `ty`.
pub fn decode_value(v: Option<Value>, ty: ColumnType) -> Datum {
    match v {
        None => Datum::Null,
        Some(Value::Bool(b)) => Datum::Bool(b),
        Some(Value::Int(i)) => decode_int(i, ty),
        Some(Value::Text(s)) => Datum::Text(s),
        Some(Value::TextSet(set)) => Datum::TextArray(set.into_iter().map(Some).collect()),
    }
}

/// The SQL datum of a key.
pub fn decode_key(k: Key) -> Datum {
    match k {
        Key::Int(i) => Datum::Int(i),
        Key::Text(s) => Datum::Text(s),
    }
}

/// The key for a datum already cast to the key column's type.
pub fn encode_key(d: &Datum, ty: KeyType, column: &str) -> SqlResult<Key> {
    match (d, ty) {
        (Datum::Int(i), KeyType::BigInt) => Ok(Key::Int(*i)),
        (Datum::Text(s), KeyType::Text) => Ok(Key::Text(s.clone())),
        (Datum::Null, _) => Err(SqlError::new(
            crate::sql::error::SqlState::NotNullViolation,
            format!("null value in column \"{column}\" violates not-null constraint"),
        )),
        _ => Err(SqlError::mismatch(format!(
            "invalid key value for column \"{column}\""
        ))),
    }
}

/// The stored value for a datum already cast to the column's SQL type.
pub fn encode_value(d: &Datum, ty: ColumnType, column: &str) -> SqlResult<Option<Value>> {
    use crate::index::encode::f64_to_ordered;
    let bad = || {
        SqlError::mismatch(format!(
            "column \"{column}\" is of type {ty} but the value is not"
        ))
    };
    Ok(Some(match (d, ty) {
        (Datum::Null, _) => return Ok(None),
        (Datum::Bool(b), ColumnType::Boolean) => Value::Bool(*b),
        (Datum::Text(s), ColumnType::Text) => Value::Text(s.clone()),
        (Datum::TextArray(items), ColumnType::TextArray) => {
            if items.iter().any(Option::is_none) {
                return Err(SqlError::new(
                    crate::sql::error::SqlState::NullValueNotAllowed,
                    format!("column \"{column}\" is a set of tags and cannot hold NULL elements"),
                ));
            }
            Value::text_set(items.iter().flatten().cloned())
        }
        (Datum::Int(i), ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt) => {
            Value::Int(*i)
        }
        (Datum::Numeric(dec), ColumnType::Numeric { scale, .. }) => {
            let m = if dec.scale == u32::from(scale) {
                dec.mantissa
            } else {
                return Err(bad());
            };
            Value::Int(i64::try_from(m).map_err(|_| bad())?)
        }
        (Datum::Float(f), ColumnType::Real | ColumnType::Double) => Value::Int(f64_to_ordered(*f)),
        (Datum::Date(v), ColumnType::Date)
        | (Datum::Timestamp(v), ColumnType::Timestamp)
        | (Datum::TimestampTz(v), ColumnType::TimestampTz) => Value::Int(*v),
        _ => return Err(bad()),
    }))
}
