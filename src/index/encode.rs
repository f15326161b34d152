//! Typed values ↔ the `i64` a bit-sliced index stores, and ↔ PostgreSQL text.
//!
//! Every encoding preserves order, so comparisons, `MIN`/`MAX` and range
//! predicates run on the stored integers directly:
//! - floats (`REAL`, `DOUBLE PRECISION`): [`f64_to_ordered`], an order-preserving
//!   bit mapping (PostgreSQL order: NaN above `+Infinity`, `-0 = 0`);
//! - `NUMERIC(p,s)`: the value scaled by `10^s` ([`parse_numeric`]);
//! - `DATE`: days since 1970-01-01 ([`parse_date`]);
//! - `TIMESTAMP`, `TIMESTAMPTZ`: microseconds since 1970-01-01 00:00:00 (UTC
//!   for `TIMESTAMPTZ`) ([`parse_timestamp`], [`parse_timestamptz`]).
//!
//! Text parsing and formatting follow PostgreSQL's input and output functions
//! (ISO date style), including their error messages.

mod datetime;
mod float;
mod numeric;

pub use datetime::{
    DATE_MAX, DATE_MIN, DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY,
    MICROS_POS_INFINITY, TIMESTAMP_END, TIMESTAMP_MIN, civil_from_days, days_from_civil,
    format_date, format_offset, format_timestamp, format_timestamptz, parse_date, parse_timestamp,
    parse_timestamptz,
};
pub use float::{
    f32_to_ordered, f64_to_ordered, format_f32, format_f64, ordered_to_f32, ordered_to_f64,
    parse_f32, parse_f64,
};
pub use numeric::{
    format_numeric, numeric_from_f64, numeric_from_i64, numeric_to_f64, parse_numeric,
};

/// Why a text or a value could not be encoded. Messages follow PostgreSQL's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The text is not a value of the type (SQLSTATE `22P02`; `22007`,
    /// invalid_datetime_format, for dates and timestamps, as PostgreSQL).
    #[error("invalid input syntax for type {ty}: \"{input}\"")]
    InvalidSyntax {
        /// The SQL type name, e.g. `date`.
        ty: &'static str,
        /// The text as given.
        input: String,
    },
    /// A date/time field (month, day, hour…) is outside its range, e.g.
    /// `2023-02-29` (SQLSTATE `22008`).
    #[error("date/time field value out of range: \"{input}\"")]
    FieldOutOfRange {
        /// The SQL type name.
        ty: &'static str,
        /// The text as given.
        input: String,
    },
    /// The value is well formed but outside the type's range (SQLSTATE
    /// `22008` for dates and timestamps, `22003` for numbers).
    #[error("{}", out_of_range_message(ty, input))]
    OutOfRange {
        /// The SQL type name.
        ty: &'static str,
        /// The text (or the value) as given.
        input: String,
    },
    /// A `NUMERIC(p,s)` value needs more than `p − s` integer digits, or is
    /// not finite (SQLSTATE `22003`).
    #[error("numeric field overflow")]
    NumericOverflow {
        /// The declared precision.
        precision: u8,
        /// The declared scale.
        scale: u8,
    },
}

fn out_of_range_message(ty: &str, input: &str) -> String {
    match ty {
        "date" => format!("date out of range: \"{input}\""),
        t if t.starts_with("timestamp") => format!("timestamp out of range: \"{input}\""),
        "real" | "double precision" => format!("\"{input}\" is out of range for type {ty}"),
        _ => format!("value \"{input}\" is out of range for type {ty}"),
    }
}

/// Whether `ty` names a date/time type (PostgreSQL reports their malformed
/// text as `22007` and their overflows as `22008`).
fn is_datetime(ty: &str) -> bool {
    // `time…` covers `time`, `timetz` and both timestamps.
    ty == "date" || ty == "interval" || ty.starts_with("time")
}

impl EncodeError {
    /// The PostgreSQL SQLSTATE for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            EncodeError::InvalidSyntax { ty, .. } if is_datetime(ty) => "22007",
            EncodeError::InvalidSyntax { .. } => "22P02",
            EncodeError::FieldOutOfRange { .. } => "22008",
            EncodeError::OutOfRange { ty, .. } if is_datetime(ty) => "22008",
            EncodeError::OutOfRange { .. } | EncodeError::NumericOverflow { .. } => "22003",
        }
    }

    /// PostgreSQL's `DETAIL` line, where it has one.
    pub fn detail(&self) -> Option<String> {
        match self {
            EncodeError::NumericOverflow { precision, scale } => {
                let int_digits = i32::from(*precision) - i32::from(*scale);
                Some(if int_digits <= 0 {
                    format!(
                        "A field with precision {precision}, scale {scale} must round to an absolute value less than 1."
                    )
                } else {
                    format!(
                        "A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{int_digits}."
                    )
                })
            }
            _ => None,
        }
    }

    pub(crate) fn syntax(ty: &'static str, input: &str) -> EncodeError {
        EncodeError::InvalidSyntax {
            ty,
            input: input.to_owned(),
        }
    }

    pub(crate) fn field(ty: &'static str, input: &str) -> EncodeError {
        EncodeError::FieldOutOfRange {
            ty,
            input: input.to_owned(),
        }
    }

    pub(crate) fn range(ty: &'static str, input: &str) -> EncodeError {
        EncodeError::OutOfRange {
            ty,
            input: input.to_owned(),
        }
    }
}
