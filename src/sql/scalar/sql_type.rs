//! sqlparser type names → SQL types.

use super::CharLength;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::pg_types::unsupported_type;
use crate::sql::types::{DataType, RegKind};
use sqlparser::ast;

/// Maps a sqlparser type name to a SQL type and optional char length.
pub(crate) fn sql_type(t: &ast::DataType) -> SqlResult<(DataType, Option<CharLength>)> {
    use ast::DataType as A;
    let len = |l: &Option<ast::CharacterLength>| match l {
        Some(ast::CharacterLength::IntegerLength { length, .. }) => {
            Some(u32::try_from(*length).unwrap_or(u32::MAX))
        }
        _ => None,
    };
    Ok(match t {
        A::Bool | A::Boolean => (DataType::Bool, None),
        A::SmallInt(_) | A::Int2(_) => (DataType::Int2, None),
        A::Int(_) | A::Integer(_) | A::Int4(_) => (DataType::Int4, None),
        A::BigInt(_) | A::Int8(_) => (DataType::Int8, None),
        A::Numeric(info) | A::Decimal(info) => {
            let tm = match info {
                ast::ExactNumberInfo::None => None,
                ast::ExactNumberInfo::Precision(p) => Some((*p, 0)),
                ast::ExactNumberInfo::PrecisionAndScale(p, s) => {
                    Some((*p, u64::try_from(*s).map_err(|_| typmod_error())?))
                }
            };
            match tm {
                None => (DataType::Numeric(None), None),
                Some((p, s)) if (1..=38).contains(&p) && s <= p => {
                    (DataType::Numeric(Some((p as u8, s as u8))), None)
                }
                Some((p, _)) if !(1..=1000).contains(&p) => return Err(typmod_error()),
                Some(_) => return Err(SqlError::unsupported("numeric precision above 38")),
            }
        }
        A::Real | A::Float4 => (DataType::Float4, None),
        A::Float(ast::ExactNumberInfo::Precision(p)) if *p <= 24 => (DataType::Float4, None),
        A::Float(_) | A::Float8 | A::DoublePrecision | A::Double(ast::ExactNumberInfo::None) => {
            (DataType::Float8, None)
        }
        A::Text | A::String(None) => (DataType::Text, None),
        A::Varchar(l) | A::CharacterVarying(l) => (DataType::Text, len(l).map(CharLength::Varchar)),
        A::Char(l) | A::Character(l) => {
            (DataType::Text, Some(CharLength::Char(len(l).unwrap_or(1))))
        }
        A::Regclass => (DataType::Reg(RegKind::Class), None),
        A::JSON => (DataType::Json, None),
        A::Date => (DataType::Date, None),
        A::Timestamp(_, tz) => match tz {
            ast::TimezoneInfo::Tz | ast::TimezoneInfo::WithTimeZone => {
                (DataType::TimestampTz, None)
            }
            _ => (DataType::Timestamp, None),
        },
        A::Interval { .. } => (DataType::Interval, None),
        A::Array(def) => match def {
            ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | ast::ArrayElemTypeDef::AngleBracket(inner) => match sql_type(inner)? {
                (DataType::Text, _) => (DataType::TextArray, None),
                (other, _) if other.array_of().is_some() => {
                    (other.array_of().unwrap_or(other), None)
                }
                (other, _) => {
                    return Err(SqlError::unsupported(format!(
                        "arrays of type {}",
                        other.name()
                    )));
                }
            },
            _ => return Err(SqlError::unsupported(format!("type {t}"))),
        },
        A::Custom(name, mods) if mods.is_empty() => {
            let n = name.to_string().to_lowercase();
            match n.trim_start_matches("pg_catalog.") {
                "timestamptz" => (DataType::TimestampTz, None),
                "name" | "bpchar" | "citext" | "text" | "varchar" | "char" => {
                    (DataType::Text, None)
                }
                "int2" => (DataType::Int2, None),
                "int2vector" => (DataType::Int2Vector, None),
                "oidvector" => (DataType::OidVector, None),
                "json" => (DataType::Json, None),
                "int4" => (DataType::Int4, None),
                "int8" => (DataType::Int8, None),
                "float4" => (DataType::Float4, None),
                "float8" => (DataType::Float8, None),
                "bool" => (DataType::Bool, None),
                "xid" => (DataType::Int8, None),
                other => match RegKind::from_name(other) {
                    Some(kind) => (DataType::Reg(kind), None),
                    None => return Err(unsupported_type(t, format!("type {n}"))),
                },
            }
        }
        other => return Err(unsupported_type(other, format!("type {other}"))),
    })
}

fn typmod_error() -> SqlError {
    SqlError::new(
        SqlState::InvalidParameterValue,
        "NUMERIC precision must be between 1 and 1000",
    )
}
