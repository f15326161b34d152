//! Operator resolution: which input and result types an operator takes for
//! given operand types, as PostgreSQL's operator catalog and
//! `oper_select_candidate` decide for the built-in types.

use super::BinaryOp;
use super::coerce::{Category, category, same_base};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::DataType;

/// The operator-does-not-exist error.
pub(crate) fn no_operator(op: &str, l: DataType, r: Option<DataType>) -> SqlError {
    let sig = match r {
        Some(r) => format!("{} {op} {}", l.name(), r.name()),
        None => format!("{op} {}", l.name()),
    };
    SqlError::new(
        SqlState::UndefinedFunction,
        format!("operator does not exist: {sig}"),
    )
    .with_hint(
        "No operator matches the given name and argument types. You might need to add explicit type casts.",
    )
}

pub(crate) fn not_unique(op: &str, l: DataType, r: DataType) -> SqlError {
    SqlError::new(
        SqlState::AmbiguousFunction,
        format!("operator is not unique: {} {op} {}", l.name(), r.name()),
    )
    .with_hint(
        "Could not choose a best candidate operator. You might need to add explicit type casts.",
    )
}

/// The type of a prefix operator that only the integer types have (`~`):
/// the operand's own; 42725 for an untyped literal, 42883 otherwise.
pub(crate) fn prefix_integer_operator(op: &str, ty: DataType) -> SqlResult<DataType> {
    match ty {
        t if t.is_integer() => Ok(t),
        DataType::Unknown => Err(SqlError::new(
            SqlState::AmbiguousFunction,
            format!("operator is not unique: {op} unknown"),
        )
        .with_hint(
            "Could not choose a best candidate operator. You might need to add explicit type casts.",
        )),
        t => Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {op} {}", t.name()),
        )
        .with_hint(
            "No operator matches the given name and argument type. You might need to add an explicit type cast.",
        )),
    }
}

/// The common type two operands of a comparison convert to, if any.
pub(crate) fn comparison_type(l: DataType, r: DataType) -> Option<DataType> {
    use DataType as T;
    match (l, r) {
        (T::Unknown, T::Unknown) => Some(T::Text),
        // No `regclass = regclass` operator: `oid = oid` takes the literal.
        (T::Reg(_), T::Unknown) | (T::Unknown, T::Reg(_)) => {
            Some(T::Reg(crate::sql::types::RegKind::Oid))
        }
        (T::Unknown, t) | (t, T::Unknown) => Some(t),
        _ if same_base(l, r) => Some(l),
        // Object identifiers compare as oids (audb's catalog oids are bigint).
        (T::Reg(_), t) | (t, T::Reg(_)) if t.is_integer() || matches!(t, T::Reg(_)) => {
            Some(T::Int8)
        }
        _ if category(l) != category(r) => None,
        _ => match category(l) {
            Category::Numeric => Some(numeric_common(l, r)),
            Category::DateTime => Some(if l == T::TimestampTz || r == T::TimestampTz {
                T::TimestampTz
            } else {
                T::Timestamp
            }),
            _ => None,
        },
    }
}

/// The result type of numeric-category arithmetic on `l` and `r`.
fn numeric_common(l: DataType, r: DataType) -> DataType {
    use DataType as T;
    if l == T::Float4 && r == T::Float4 {
        T::Float4
    } else if matches!(l, T::Float4 | T::Float8) || matches!(r, T::Float4 | T::Float8) {
        T::Float8
    } else if matches!(l, T::Numeric(_)) || matches!(r, T::Numeric(_)) {
        T::Numeric(None)
    } else if l == T::Int8 || r == T::Int8 {
        T::Int8
    } else if l == T::Int4 || r == T::Int4 {
        T::Int4
    } else {
        T::Int2
    }
}

/// Operand and result types of an arithmetic, `^` or `||` operator.
pub(crate) fn resolve_arith(
    op: BinaryOp,
    lt: DataType,
    rt: DataType,
) -> SqlResult<(DataType, DataType, DataType)> {
    use BinaryOp::*;
    use DataType as T;
    let none = || no_operator(op.symbol(), lt, Some(rt));
    let is_int = |t: DataType| t.is_integer();
    if op == Concat {
        return match (lt, rt) {
            (T::TextArray, T::TextArray | T::Unknown) | (T::Unknown, T::TextArray) => {
                Ok((T::TextArray, T::TextArray, T::TextArray))
            }
            (T::TextArray, T::Text) => Ok((T::TextArray, T::Text, T::TextArray)),
            (T::Text, T::TextArray) => Ok((T::Text, T::TextArray, T::TextArray)),
            (T::Text | T::Unknown, T::Text | T::Unknown) => Ok((T::Text, T::Text, T::Text)),
            (T::Text | T::Unknown, t) | (t, T::Text | T::Unknown) if t != T::TextArray => {
                // textanycat / anytextcat: the other side goes through its output function.
                let _ = t;
                Ok((T::Text, T::Text, T::Text))
            }
            _ => Err(none()),
        };
    }
    if matches!(op, BitAnd | BitOr | BitXor) {
        // int2, int4 and int8 each have their own operator: the operands
        // meet at the wider type; an untyped literal takes the other's.
        return match (lt, rt) {
            (T::Unknown, T::Unknown) => Err(not_unique(op.symbol(), lt, rt)),
            (T::Unknown, t) | (t, T::Unknown) if is_int(t) => Ok((t, t, t)),
            (a, b) if is_int(a) && is_int(b) => {
                let t = numeric_common(a, b);
                Ok((t, t, t))
            }
            _ => Err(none()),
        };
    }
    if matches!(op, ShiftLeft | ShiftRight) {
        // int2 << int4, int4 << int4, int8 << int4: the count is an
        // integer; an untyped left operand is taken as the count's type.
        return match (lt, rt) {
            (T::Unknown, T::Int4) => Ok((T::Int4, T::Int4, T::Int4)),
            (T::Unknown, _) => Err(not_unique(op.symbol(), lt, rt)),
            (t, T::Int2 | T::Int4 | T::Unknown) if is_int(t) => Ok((t, T::Int4, t)),
            _ => Err(none()),
        };
    }
    if op == Pow {
        return match (lt, rt) {
            (T::Unknown, T::Unknown) => Err(not_unique("^", lt, rt)),
            (T::Numeric(_), t) | (t, T::Numeric(_))
                if is_int(t) || matches!(t, T::Numeric(_) | T::Unknown) =>
            {
                Ok((T::Numeric(None), T::Numeric(None), T::Numeric(None)))
            }
            (a, b)
                if (a.is_numeric() || a == T::Unknown) && (b.is_numeric() || b == T::Unknown) =>
            {
                Ok((T::Float8, T::Float8, T::Float8))
            }
            _ => Err(none()),
        };
    }
    let lt2 = if lt == T::Unknown { rt } else { lt };
    let rt2 = if rt == T::Unknown { lt } else { rt };
    if lt == T::Unknown && rt == T::Unknown {
        return Err(not_unique(op.symbol(), lt, rt));
    }
    if lt2.is_numeric() && rt2.is_numeric() {
        let t = numeric_common(lt2, rt2);
        if op == Mod && matches!(t, T::Float4 | T::Float8) {
            return Err(none());
        }
        return Ok((t, t, t));
    }
    let interval = T::Interval;
    Ok(match (op, lt, rt) {
        (Add, T::Date, t) if is_int(t) => (T::Date, T::Int4, T::Date),
        (Add, t, T::Date) if is_int(t) => (T::Int4, T::Date, T::Date),
        (Sub, T::Date, t) if is_int(t) => (T::Date, T::Int4, T::Date),
        (Sub, T::Date, T::Date | T::Unknown) => (T::Date, T::Date, T::Int4),
        (Add | Sub, T::Date, T::Interval) => (T::Date, interval, T::Timestamp),
        (Add, T::Interval, T::Date) => (interval, T::Date, T::Timestamp),
        (Add | Sub, T::Timestamp, T::Interval) | (Add, T::Timestamp, T::Unknown) => {
            (T::Timestamp, interval, T::Timestamp)
        }
        (Add | Sub, T::TimestampTz, T::Interval) | (Add, T::TimestampTz, T::Unknown) => {
            (T::TimestampTz, interval, T::TimestampTz)
        }
        (Add, T::Interval, t @ (T::Timestamp | T::TimestampTz)) => (interval, t, t),
        (Sub, T::Timestamp, T::Timestamp | T::Unknown) => (T::Timestamp, T::Timestamp, interval),
        (Sub, T::TimestampTz, T::TimestampTz | T::Unknown)
        | (Sub, T::TimestampTz, T::Timestamp | T::Date)
        | (Sub, T::Timestamp | T::Date, T::TimestampTz) => {
            (T::TimestampTz, T::TimestampTz, interval)
        }
        (Sub, T::Timestamp, T::Date) | (Sub, T::Date, T::Timestamp) => {
            (T::Timestamp, T::Timestamp, interval)
        }
        (Add | Sub, T::Interval, T::Interval | T::Unknown) => (interval, interval, interval),
        (Mul, T::Interval, t) if t.is_numeric() => (interval, T::Float8, interval),
        (Mul, t, T::Interval) if t.is_numeric() => (T::Float8, interval, interval),
        (Div, T::Interval, t) if t.is_numeric() => (interval, T::Float8, interval),
        (Add, T::Date, T::Unknown) => return Err(not_unique(op.symbol(), lt, rt)),
        _ => return Err(none()),
    })
}
