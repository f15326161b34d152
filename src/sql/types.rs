//! SQL data types and values as the SQL layer and the relational layer see
//! them, with their PostgreSQL type OIDs.

use super::decimal::Decimal;
use crate::index::ColumnType;

/// A SQL data type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `boolean` (oid 16)
    Bool,
    /// `smallint` (oid 21)
    Int2,
    /// `integer` (oid 23)
    Int4,
    /// `bigint` (oid 20)
    Int8,
    /// `numeric[(p,s)]` (oid 1700)
    Numeric(Option<(u8, u8)>),
    /// `real` (oid 700)
    Float4,
    /// `double precision` (oid 701)
    Float8,
    /// `text` (oid 25)
    Text,
    /// `text[]` (oid 1009)
    TextArray,
    /// `date` (oid 1082)
    Date,
    /// `timestamp without time zone` (oid 1114)
    Timestamp,
    /// `timestamp with time zone` (oid 1184)
    TimestampTz,
    /// `interval` (oid 1186)
    Interval,
    /// An untyped literal or NULL whose type is decided by context
    /// (PostgreSQL's `unknown`, oid 705); sent to clients as text.
    Unknown,
}

impl DataType {
    /// The PostgreSQL type OID.
    pub fn oid(self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Int8 => 20,
            DataType::Numeric(_) => 1700,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Text | DataType::Unknown => 25,
            DataType::TextArray => 1009,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::TimestampTz => 1184,
            DataType::Interval => 1186,
        }
    }

    /// The name `format_type` would print.
    pub fn name(self) -> String {
        match self {
            DataType::Bool => "boolean".into(),
            DataType::Int2 => "smallint".into(),
            DataType::Int4 => "integer".into(),
            DataType::Int8 => "bigint".into(),
            DataType::Numeric(None) => "numeric".into(),
            DataType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            DataType::Float4 => "real".into(),
            DataType::Float8 => "double precision".into(),
            DataType::Text => "text".into(),
            DataType::TextArray => "text[]".into(),
            DataType::Date => "date".into(),
            DataType::Timestamp => "timestamp without time zone".into(),
            DataType::TimestampTz => "timestamp with time zone".into(),
            DataType::Interval => "interval".into(),
            DataType::Unknown => "unknown".into(),
        }
    }

    /// Whether the type is one of the integer types.
    pub fn is_integer(self) -> bool {
        matches!(self, DataType::Int2 | DataType::Int4 | DataType::Int8)
    }

    /// Whether the type is numeric (integer, numeric or float).
    pub fn is_numeric(self) -> bool {
        self.is_integer()
            || matches!(
                self,
                DataType::Numeric(_) | DataType::Float4 | DataType::Float8
            )
    }

    /// The SQL type of a stored column type.
    pub fn of_column(ty: ColumnType) -> DataType {
        match ty {
            ColumnType::Boolean => DataType::Bool,
            ColumnType::Text => DataType::Text,
            ColumnType::TextArray => DataType::TextArray,
            ColumnType::SmallInt => DataType::Int2,
            ColumnType::Int => DataType::Int4,
            ColumnType::BigInt => DataType::Int8,
            ColumnType::Numeric { precision, scale } => DataType::Numeric(Some((precision, scale))),
            ColumnType::Real => DataType::Float4,
            ColumnType::Double => DataType::Float8,
            ColumnType::Date => DataType::Date,
            ColumnType::Timestamp => DataType::Timestamp,
            ColumnType::TimestampTz => DataType::TimestampTz,
        }
    }
}

/// A PostgreSQL `interval`: months, days and microseconds kept apart, as
/// PostgreSQL does (a month is not a fixed number of days).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Months.
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

/// One SQL value. The value's SQL type travels separately (in the column's
/// [`DataType`]); integers of every width are `Int`.
#[derive(Clone, Debug, PartialEq)]
pub enum Datum {
    /// NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// `smallint`, `integer` or `bigint`.
    Int(i64),
    /// `numeric`.
    Numeric(Decimal),
    /// `real` or `double precision`.
    Float(f64),
    /// `text` (and untyped literals).
    Text(String),
    /// `text[]`; elements may be NULL.
    TextArray(Vec<Option<String>>),
    /// `date`: days since 1970-01-01.
    Date(i64),
    /// `timestamp`: microseconds since 1970-01-01 00:00:00.
    Timestamp(i64),
    /// `timestamptz`: microseconds since 1970-01-01 00:00:00 UTC.
    TimestampTz(i64),
    /// `interval`.
    Interval(Interval),
}

impl Datum {
    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }
}
