//! Values on the wire: result rows in text or binary format, and the
//! PostgreSQL type of each column. Parameters are decoded in `decode.rs`.
//!
//! Binary values come from the one per-type codec, PostgreSQL's `*send`
//! functions in [`crate::copy::binary::send`] (binary COPY uses it too).
// The wire protocol is big-endian by definition; the crate-wide lint exists
// for on-disk formats, which never come here.
#![allow(clippy::big_endian_bytes)]

use super::session::Fail;
use super::sqlstate::{codes, protocol_error};
use crate::copy::binary::send;
use crate::db::{Db, Session};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::relation::Column;
use crate::sql::scalar::{EvalContext, format_text};
use crate::sql::types::{DataType, Datum};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;

/// The context result values print in: the session's time zone, and the
/// catalog of the current snapshot (`regclass` values print names).
pub(crate) fn output_ctx(db: &Db, session: &Session) -> EvalContext {
    crate::catalog::system::output_context(&db.store().snapshot(), session)
}

/// The pgwire type of a SQL type.
pub(crate) fn pg_type(ty: DataType) -> Type {
    Type::from_oid(ty.oid()).unwrap_or(Type::TEXT)
}

/// The SQL type of a parameter type OID a client declared; `Unknown` for
/// 0 and for types audb does not have (their values are taken as text).
pub(crate) fn data_type_of_oid(oid: u32) -> DataType {
    match oid {
        16 => DataType::Bool,
        21 => DataType::Int2,
        23 => DataType::Int4,
        20 => DataType::Int8,
        1700 => DataType::Numeric(None),
        700 => DataType::Float4,
        701 => DataType::Float8,
        // text, varchar, bpchar, name
        25 | 1043 | 1042 | 19 => DataType::Text,
        // text[], varchar[]
        1009 | 1015 => DataType::TextArray,
        114 => DataType::Json,
        1082 => DataType::Date,
        1114 => DataType::Timestamp,
        1184 => DataType::TimestampTz,
        1186 => DataType::Interval,
        _ => DataType::Unknown,
    }
}

/// `pg_type.typlen` of a type (-1 for variable width).
fn type_size(ty: DataType) -> i16 {
    match ty {
        DataType::Bool => 1,
        DataType::Int2 => 2,
        DataType::Int4 | DataType::Float4 | DataType::Date | DataType::Reg(_) => 4,
        DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::TimestampTz => 8,
        DataType::Interval => 16,
        _ => -1,
    }
}

/// The RowDescription entry of a column.
pub(crate) fn field_info(col: &Column, binary: bool) -> FieldInfo {
    let format = if binary {
        FieldFormat::Binary
    } else {
        FieldFormat::Text
    };
    let typmod = match col.ty {
        DataType::Numeric(Some((p, s))) => ((i32::from(p) << 16) | i32::from(s)) + 4,
        _ => -1,
    };
    FieldInfo::new(col.name.clone(), None, None, pg_type(col.ty), format)
        .with_type_size(type_size(col.ty))
        .with_type_modifier(typmod)
}

/// Which result columns are binary, from the Bind message's format codes
/// (none: all text; one: all columns; else one per column).
pub(crate) fn result_formats(format: &Format, columns: usize) -> Result<Vec<bool>, Fail> {
    Ok(match format {
        Format::UnifiedText => vec![false; columns],
        Format::UnifiedBinary => vec![true; columns],
        Format::Individual(codes) if codes.len() == columns => {
            codes.iter().map(|c| *c == 1).collect()
        }
        Format::Individual(codes) => {
            return Err(Box::new(protocol_error(
                codes::PROTOCOL_VIOLATION,
                format!(
                    "bind message has {} result formats but query has {columns} columns",
                    codes.len()
                ),
            )));
        }
    })
}

/// Whether parameter `idx` arrives in binary format.
pub(crate) fn param_is_binary(format: &Format, idx: usize) -> Result<bool, Fail> {
    match format {
        Format::UnifiedText => Ok(false),
        Format::UnifiedBinary => Ok(true),
        Format::Individual(codes) => codes.get(idx).map(|c| *c == 1).ok_or_else(|| {
            Box::new(protocol_error(
                codes::PROTOCOL_VIOLATION,
                format!("bind message has {} parameter formats", codes.len()),
            ))
        }),
    }
}

/// One DataRow: each value in its column's format (`binary[i]`).
pub(crate) fn encode_row(
    row: &[Datum],
    columns: &[Column],
    binary: &[bool],
    ctx: &EvalContext,
) -> SqlResult<DataRow> {
    let mut buf = Vec::with_capacity(16 * row.len());
    for (i, d) in row.iter().enumerate() {
        let ty = columns.get(i).map_or(DataType::Text, |c| c.ty);
        if d.is_null() {
            buf.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        let len_at = buf.len();
        buf.extend_from_slice(&[0; 4]);
        if binary.get(i).copied().unwrap_or(false) {
            send(d, ty, &mut buf)?;
        } else if let Some(text) = format_text(d, ty, ctx) {
            buf.extend_from_slice(text.as_bytes());
        }
        let len = i32::try_from(buf.len() - len_at - 4).map_err(|_| {
            SqlError::new(
                crate::sql::error::SqlState::ProgramLimitExceeded,
                "value too large to send",
            )
        })?;
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
    let mut out = DataRow::default();
    out.field_count = i16::try_from(row.len()).map_err(|_| {
        SqlError::new(
            crate::sql::error::SqlState::ProgramLimitExceeded,
            "too many columns",
        )
    })?;
    out.data.extend_from_slice(&buf);
    Ok(out)
}
