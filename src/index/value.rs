//! Column types, tag kinds and stored values.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The SQL type of a tag column, as declared in `CREATE TABLE`.
///
/// The type decides the physical [`TagKind`] and how values are encoded
/// (see [`crate::index::encode`]). It is persisted in the manifest, so variants
/// are only ever appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ColumnType {
    /// `BOOLEAN`: a flag.
    Boolean,
    /// `TEXT`, `VARCHAR`, `CHAR`: one categorical value per row.
    Text,
    /// `TEXT[]`: a set of categorical values per row.
    TextArray,
    /// `SMALLINT` (`i16` range).
    SmallInt,
    /// `INT` (`i32` range).
    Int,
    /// `BIGINT`.
    BigInt,
    /// `NUMERIC(precision, scale)`, stored as an integer scaled by `10^scale`.
    Numeric {
        /// Total significant digits, at most 18.
        precision: u8,
        /// Digits after the decimal point, at most `precision`.
        scale: u8,
    },
    /// `REAL`, stored through the order-preserving float mapping.
    Real,
    /// `DOUBLE PRECISION`, stored through the order-preserving float mapping.
    Double,
    /// `DATE`: days since 1970-01-01.
    Date,
    /// `TIMESTAMP`: microseconds since 1970-01-01 00:00:00.
    Timestamp,
    /// `TIMESTAMPTZ`: microseconds since 1970-01-01 00:00:00 UTC.
    TimestampTz,
}

/// The physical index kind behind a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagKind {
    /// A bitmap of `true` rows (the `false` rows are `not_null − true`).
    Flag,
    /// A value dictionary with one bitmap per value; a row has at most one value.
    Categorical,
    /// A value dictionary with one bitmap per value; a row has a set of values.
    MultiValued,
    /// A bit-sliced index of `i64`: a sign bitmap plus one bitmap per magnitude bit.
    Numeric,
}

impl ColumnType {
    /// The physical index kind that stores this type.
    pub fn kind(self) -> TagKind {
        match self {
            ColumnType::Boolean => TagKind::Flag,
            ColumnType::Text => TagKind::Categorical,
            ColumnType::TextArray => TagKind::MultiValued,
            ColumnType::SmallInt
            | ColumnType::Int
            | ColumnType::BigInt
            | ColumnType::Numeric { .. }
            | ColumnType::Real
            | ColumnType::Double
            | ColumnType::Date
            | ColumnType::Timestamp
            | ColumnType::TimestampTz => TagKind::Numeric,
        }
    }

    /// The inclusive range of stored integers this type admits, for numeric types.
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            ColumnType::SmallInt => Some((i16::MIN.into(), i16::MAX.into())),
            ColumnType::Int => Some((i32::MIN.into(), i32::MAX.into())),
            ColumnType::Numeric { precision, .. } => {
                let max = 10i64
                    .checked_pow(u32::from(precision.min(18)))
                    .map_or(i64::MAX, |p| p - 1);
                Some((-max, max))
            }
            ColumnType::BigInt
            | ColumnType::Real
            | ColumnType::Double
            | ColumnType::Date
            | ColumnType::Timestamp
            | ColumnType::TimestampTz => Some((i64::MIN, i64::MAX)),
            ColumnType::Boolean | ColumnType::Text | ColumnType::TextArray => None,
        }
    }

    /// Whether `value` has the right shape and range for this type.
    pub fn admits(self, value: &Value) -> bool {
        match (self.kind(), value) {
            (TagKind::Flag, Value::Bool(_)) => true,
            (TagKind::Categorical, Value::Text(_)) => true,
            (TagKind::MultiValued, Value::TextSet(_)) => true,
            (TagKind::Numeric, Value::Int(v)) => self
                .int_range()
                .is_some_and(|(lo, hi)| (lo..=hi).contains(v)),
            _ => false,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::Text => f.write_str("text"),
            ColumnType::TextArray => f.write_str("text[]"),
            ColumnType::SmallInt => f.write_str("smallint"),
            ColumnType::Int => f.write_str("integer"),
            ColumnType::BigInt => f.write_str("bigint"),
            ColumnType::Numeric { precision, scale } => write!(f, "numeric({precision},{scale})"),
            ColumnType::Real => f.write_str("real"),
            ColumnType::Double => f.write_str("double precision"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Timestamp => f.write_str("timestamp without time zone"),
            ColumnType::TimestampTz => f.write_str("timestamp with time zone"),
        }
    }
}

/// One stored tag value, in its physical form.
///
/// Numeric types are already encoded to `i64` (see [`crate::index::encode`]);
/// a `TextSet` is kept sorted and without duplicates (a multi-valued tag is a
/// set).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Value {
    /// A flag value.
    Bool(bool),
    /// An encoded numeric value.
    Int(i64),
    /// A categorical value.
    Text(String),
    /// A multi-valued set, sorted and deduplicated.
    TextSet(Vec<String>),
}

impl Value {
    /// A `TextSet` from any list of strings: sorted and deduplicated.
    pub fn text_set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
        let mut v: Vec<String> = items.into_iter().map(Into::into).collect();
        v.sort_unstable();
        v.dedup();
        Value::TextSet(v)
    }
}

/// The type of a table's key column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    /// `BIGINT PRIMARY KEY`.
    BigInt,
    /// `TEXT PRIMARY KEY` (also `VARCHAR`).
    Text,
}

/// The key of one row: what users call the person (`user_id`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    /// A `BIGINT` key.
    Int(i64),
    /// A `TEXT` key.
    Text(String),
}

impl Key {
    /// The key type this key belongs to.
    pub fn key_type(&self) -> KeyType {
        match self {
            Key::Int(_) => KeyType::BigInt,
            Key::Text(_) => KeyType::Text,
        }
    }

    /// The key's length in bytes as stored (8 for integers).
    pub fn stored_len(&self) -> usize {
        match self {
            Key::Int(_) => 8,
            Key::Text(s) => s.len(),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(v) => write!(f, "{v}"),
            Key::Text(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallint_rejects_values_outside_i16() {
        assert!(ColumnType::SmallInt.admits(&Value::Int(32767)));
        assert!(!ColumnType::SmallInt.admits(&Value::Int(32768)));
    }

    #[test]
    fn numeric_precision_bounds_scaled_integer() {
        let t = ColumnType::Numeric {
            precision: 5,
            scale: 2,
        };
        assert!(t.admits(&Value::Int(99_999)));
        assert!(!t.admits(&Value::Int(100_000)));
        assert!(t.admits(&Value::Int(-99_999)));
    }

    #[test]
    fn kind_mismatch_is_not_admitted() {
        assert!(!ColumnType::Boolean.admits(&Value::Int(1)));
        assert!(!ColumnType::Text.admits(&Value::TextSet(vec![])));
    }

    #[test]
    fn text_set_is_sorted_and_deduplicated() {
        assert_eq!(
            Value::text_set(["b", "a", "b"]),
            Value::TextSet(vec!["a".into(), "b".into()])
        );
    }
}
