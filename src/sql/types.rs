//! SQL data types and values as the SQL layer and the relational layer see
//! them, with their PostgreSQL type OIDs.

use super::decimal::Decimal;
use crate::index::ColumnType;

mod record;
pub use record::{RecordField, RecordType};

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
    /// A one-dimensional array of a non-text element type (`integer[]`,
    /// `smallint[]`, …); values are [`Datum::Array`]. Text arrays are
    /// [`DataType::TextArray`].
    Array(ArrayElem),
    /// `int2vector` (oid 22): a zero-based `smallint` array printed as
    /// space-separated numbers (`pg_index.indkey`); values are
    /// [`Datum::Array`].
    Int2Vector,
    /// `json` (oid 114); values are [`Datum::Text`] holding the JSON text.
    Json,
    /// `oid` and its aliases `regclass`, `regtype`, … ([`RegKind`]): an
    /// unsigned 32-bit object identifier in [`Datum::Int`], printed as the
    /// object's name by the aliases.
    Reg(RegKind),
    /// `oidvector` (oid 30): a zero-based `oid` array printed as
    /// space-separated numbers (`pg_index.indclass`); values are
    /// [`Datum::Array`].
    OidVector,
    /// An anonymous composite (`record`, oid 2249) with the fields its
    /// [`RecordType`] names; values are [`Datum::Record`].
    Record(RecordType),
}

/// An object-identifier type: PostgreSQL's `oid` or one of its aliases,
/// which print the object an oid names and read a name as input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegKind {
    /// `oid` itself (printed as a number).
    Oid,
    /// `regclass`: relations.
    Class,
    /// `regtype`: types.
    Type,
    /// `regnamespace`: schemas.
    Namespace,
    /// `regproc`: functions by name.
    Proc,
    /// `regprocedure`: functions with argument types.
    Procedure,
    /// `regoper`: operators by name.
    Oper,
    /// `regoperator`: operators with argument types.
    Operator,
    /// `regrole`: roles.
    Role,
}

impl RegKind {
    /// PostgreSQL's type OID and array type OID.
    fn oids(self) -> (u32, u32) {
        match self {
            RegKind::Oid => (26, 1028),
            RegKind::Class => (2205, 2210),
            RegKind::Type => (2206, 2211),
            RegKind::Namespace => (4089, 4090),
            RegKind::Proc => (24, 1008),
            RegKind::Procedure => (2202, 2207),
            RegKind::Oper => (2203, 2208),
            RegKind::Operator => (2204, 2209),
            RegKind::Role => (4096, 4097),
        }
    }

    /// The type's name (`regclass`, …).
    pub fn name(self) -> &'static str {
        match self {
            RegKind::Oid => "oid",
            RegKind::Class => "regclass",
            RegKind::Type => "regtype",
            RegKind::Namespace => "regnamespace",
            RegKind::Proc => "regproc",
            RegKind::Procedure => "regprocedure",
            RegKind::Oper => "regoper",
            RegKind::Operator => "regoperator",
            RegKind::Role => "regrole",
        }
    }

    /// The kind a type name (lower case, without schema) stands for.
    pub fn from_name(name: &str) -> Option<RegKind> {
        Some(match name {
            "oid" => RegKind::Oid,
            "regclass" => RegKind::Class,
            "regtype" => RegKind::Type,
            "regnamespace" => RegKind::Namespace,
            "regproc" => RegKind::Proc,
            "regprocedure" => RegKind::Procedure,
            "regoper" => RegKind::Oper,
            "regoperator" => RegKind::Operator,
            "regrole" => RegKind::Role,
            _ => return None,
        })
    }
}

/// The element type of a [`DataType::Array`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ArrayElem {
    Bool,
    Int2,
    Int4,
    Int8,
    Numeric,
    Float4,
    Float8,
    Date,
    Timestamp,
    TimestampTz,
    Interval,
    Json,
    Reg(RegKind),
}

impl ArrayElem {
    /// The element's SQL type.
    pub fn data_type(self) -> DataType {
        match self {
            ArrayElem::Bool => DataType::Bool,
            ArrayElem::Int2 => DataType::Int2,
            ArrayElem::Int4 => DataType::Int4,
            ArrayElem::Int8 => DataType::Int8,
            ArrayElem::Numeric => DataType::Numeric(None),
            ArrayElem::Float4 => DataType::Float4,
            ArrayElem::Float8 => DataType::Float8,
            ArrayElem::Date => DataType::Date,
            ArrayElem::Timestamp => DataType::Timestamp,
            ArrayElem::TimestampTz => DataType::TimestampTz,
            ArrayElem::Interval => DataType::Interval,
            ArrayElem::Json => DataType::Json,
            ArrayElem::Reg(k) => DataType::Reg(k),
        }
    }

    /// PostgreSQL's OID of the array type (`_int4` is 1007, …).
    fn array_oid(self) -> u32 {
        match self {
            ArrayElem::Bool => 1000,
            ArrayElem::Int2 => 1005,
            ArrayElem::Int4 => 1007,
            ArrayElem::Int8 => 1016,
            ArrayElem::Numeric => 1231,
            ArrayElem::Float4 => 1021,
            ArrayElem::Float8 => 1022,
            ArrayElem::Date => 1182,
            ArrayElem::Timestamp => 1115,
            ArrayElem::TimestampTz => 1185,
            ArrayElem::Interval => 1187,
            ArrayElem::Json => 199,
            ArrayElem::Reg(k) => k.oids().1,
        }
    }
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
            DataType::Array(e) => e.array_oid(),
            DataType::Int2Vector => 22,
            DataType::Json => 114,
            DataType::Reg(k) => k.oids().0,
            DataType::OidVector => 30,
            DataType::Record(_) => 2249,
        }
    }

    /// The element type of an array type (`text[]` → `text`; `int2vector`
    /// → `smallint`); `None` for scalar types.
    pub fn element(self) -> Option<DataType> {
        match self {
            DataType::TextArray => Some(DataType::Text),
            DataType::Array(e) => Some(e.data_type()),
            DataType::Int2Vector => Some(DataType::Int2),
            DataType::OidVector => Some(DataType::Reg(RegKind::Oid)),
            _ => None,
        }
    }

    /// The array type whose elements are `self` (`integer` → `integer[]`);
    /// `None` for array types (audb's arrays are one-dimensional).
    pub fn array_of(self) -> Option<DataType> {
        Some(match self {
            DataType::Text | DataType::Unknown => DataType::TextArray,
            DataType::Bool => DataType::Array(ArrayElem::Bool),
            DataType::Int2 => DataType::Array(ArrayElem::Int2),
            DataType::Int4 => DataType::Array(ArrayElem::Int4),
            DataType::Int8 => DataType::Array(ArrayElem::Int8),
            DataType::Numeric(_) => DataType::Array(ArrayElem::Numeric),
            DataType::Float4 => DataType::Array(ArrayElem::Float4),
            DataType::Float8 => DataType::Array(ArrayElem::Float8),
            DataType::Date => DataType::Array(ArrayElem::Date),
            DataType::Timestamp => DataType::Array(ArrayElem::Timestamp),
            DataType::TimestampTz => DataType::Array(ArrayElem::TimestampTz),
            DataType::Interval => DataType::Array(ArrayElem::Interval),
            DataType::Json => DataType::Array(ArrayElem::Json),
            DataType::Reg(k) => DataType::Array(ArrayElem::Reg(k)),
            DataType::TextArray
            | DataType::OidVector
            | DataType::Array(_)
            | DataType::Int2Vector
            | DataType::Record(_) => return None,
        })
    }

    /// Whether the type is an array type (`int2vector` included).
    pub fn is_array(self) -> bool {
        self.element().is_some()
    }

    /// The lower bound of the type's arrays: 0 for `int2vector` and
    /// `oidvector`, else 1.
    pub fn array_lower_bound(self) -> i64 {
        if self.is_vector() { 0 } else { 1 }
    }

    /// Whether the type is `int2vector` or `oidvector` (zero-based arrays
    /// printed as space-separated elements).
    pub fn is_vector(self) -> bool {
        matches!(self, DataType::Int2Vector | DataType::OidVector)
    }

    /// The ordinary array type with the same elements (`int2vector` →
    /// `smallint[]`, `oidvector` → `oid[]`); other types as they are.
    pub fn plain_array(self) -> DataType {
        match self {
            DataType::Int2Vector => DataType::Array(ArrayElem::Int2),
            DataType::OidVector => DataType::Array(ArrayElem::Reg(RegKind::Oid)),
            other => other,
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
            DataType::Array(e) => format!("{}[]", e.data_type().name()),
            DataType::Int2Vector => "int2vector".into(),
            DataType::Json => "json".into(),
            DataType::Reg(k) => k.name().into(),
            DataType::OidVector => "oidvector".into(),
            DataType::Record(_) => "record".into(),
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
    /// An array of a non-text type ([`DataType::Array`],
    /// [`DataType::Int2Vector`]); elements may be NULL.
    Array(Vec<Datum>),
    /// A row value ([`DataType::Record`]): one value per field.
    Record(Vec<Datum>),
}

impl Datum {
    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// The elements of an array value (`text[]` elements as
    /// [`Datum::Text`]/[`Datum::Null`]); `None` for other values.
    pub fn array_items(&self) -> Option<Vec<Datum>> {
        match self {
            Datum::TextArray(v) => Some(
                v.iter()
                    .map(|e| e.clone().map_or(Datum::Null, Datum::Text))
                    .collect(),
            ),
            Datum::Array(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// An array value of type `ty` (an array type) from its elements:
    /// [`Datum::TextArray`] for `text[]`, else [`Datum::Array`].
    pub fn from_items(ty: DataType, items: Vec<Datum>) -> Datum {
        if ty == DataType::TextArray {
            Datum::TextArray(
                items
                    .into_iter()
                    .map(|d| match d {
                        Datum::Text(s) => Some(s),
                        _ => None,
                    })
                    .collect(),
            )
        } else {
            Datum::Array(items)
        }
    }
}
