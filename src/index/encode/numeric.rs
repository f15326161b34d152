//! `NUMERIC(p,s)` as an `i64` scaled by `10^s`.
//!
//! The stored integer of `12.34` in `NUMERIC(5,2)` is `1234`. Input rounds
//! half away from zero to `s` fractional digits and rejects values needing
//! more than `p − s` integer digits, as PostgreSQL's `numeric_in` with a type
//! modifier does. At most 18 digits of precision fit an `i64`; a larger
//! precision is bounded by the `i64` range instead.

use super::EncodeError;

const TY: &str = "numeric";

/// PostgreSQL's bound on the exponent of numeric input (`NUMERIC_MAX_PRECISION`).
const MAX_EXPONENT: i64 = 1000;

/// `10^p` as an `i128` bound on the scaled value; `None` when no `i64` can
/// reach it (the `i64` range is then the only bound).
fn limit(precision: u8) -> Option<i128> {
    10i128
        .checked_pow(u32::from(precision))
        .filter(|l| *l <= i128::from(i64::MAX))
}

/// Checks a scaled magnitude against `NUMERIC(precision, scale)` and applies the sign.
fn fit(negative: bool, magnitude: i128, precision: u8, scale: u8) -> Result<i64, EncodeError> {
    let overflow = EncodeError::NumericOverflow { precision, scale };
    if limit(precision).is_some_and(|l| magnitude >= l) {
        return Err(overflow);
    }
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| overflow)
}

/// Parses `text` as a `NUMERIC(precision, scale)` and returns it scaled by
/// `10^scale`.
///
/// Accepts surrounding whitespace, a sign, digits with an optional decimal
/// point (`.5`, `5.`), and an optional exponent (`1.5e3`, `1E-2`). Rounds half
/// away from zero to `scale` digits (`0.005` → `0.01`). Errors: malformed text
/// is [`EncodeError::InvalidSyntax`]; a value that needs more than
/// `precision − scale` integer digits after rounding, or `NaN`/`Infinity`
/// (which a scaled integer cannot hold), is [`EncodeError::NumericOverflow`].
pub fn parse_numeric(text: &str, precision: u8, scale: u8) -> Result<i64, EncodeError> {
    let syntax = || EncodeError::syntax(TY, text);
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let unsigned = t.trim_start_matches(['+', '-']);
    let sign_len = t.len() - unsigned.len();
    let is_nan = sign_len == 0 && unsigned.eq_ignore_ascii_case("nan");
    let is_infinity = sign_len <= 1
        && (unsigned.eq_ignore_ascii_case("infinity") || unsigned.eq_ignore_ascii_case("inf"));
    if is_nan || is_infinity {
        return Err(EncodeError::NumericOverflow { precision, scale });
    }
    let bytes = t.as_bytes();
    let mut pos = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    // All mantissa digits, without leading zeros; the value is
    // `digits × 10^(exponent − fraction digits)`.
    let mut digits: Vec<u8> = Vec::new();
    let mut seen_digit = false;
    let mut frac_len: i64 = 0;
    let mut in_fraction = false;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if !(digits.is_empty() && b == b'0') {
                    digits.push(b - b'0');
                }
                if in_fraction {
                    frac_len += 1;
                }
            }
            b'.' if !in_fraction => in_fraction = true,
            _ => break,
        }
        pos += 1;
    }
    if !seen_digit {
        return Err(syntax());
    }
    let mut exponent: i64 = 0;
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        let exp_negative = match bytes.get(pos) {
            Some(b'-') => {
                pos += 1;
                true
            }
            Some(b'+') => {
                pos += 1;
                false
            }
            _ => false,
        };
        let start = pos;
        while let Some(b) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
            exponent = (exponent * 10 + i64::from(b - b'0')).min(MAX_EXPONENT + 1);
            pos += 1;
        }
        if pos == start || exponent > MAX_EXPONENT {
            return Err(syntax());
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    if pos != bytes.len() {
        return Err(syntax());
    }
    // Scaled value = digits × 10^shift.
    let shift = exponent - frac_len + i64::from(scale);
    let (kept, round_up) = if shift >= 0 {
        (digits.as_slice(), false)
    } else {
        let drop = usize::try_from(-shift).unwrap_or(usize::MAX);
        if drop > digits.len() {
            (&digits[..0], false)
        } else {
            let keep = digits.len() - drop;
            (&digits[..keep], digits.get(keep).is_some_and(|d| *d >= 5))
        }
    };
    let overflow = EncodeError::NumericOverflow { precision, scale };
    // More than 19 digits can never fit an i64.
    let zeros = usize::try_from(shift.max(0)).unwrap_or(usize::MAX);
    if !kept.is_empty() && kept.len().saturating_add(zeros) > 19 {
        return Err(overflow);
    }
    let mut magnitude: i128 = 0;
    for d in kept {
        magnitude = magnitude * 10 + i128::from(*d);
    }
    if !kept.is_empty() {
        let factor = u32::try_from(zeros)
            .ok()
            .and_then(|z| 10i128.checked_pow(z))
            .ok_or_else(|| overflow.clone())?;
        magnitude *= factor;
    }
    magnitude += i128::from(round_up);
    fit(negative, magnitude, precision, scale)
}

/// Formats a scaled `NUMERIC` with exactly `scale` fractional digits, as
/// PostgreSQL prints it (`-0.05`, `100.00`, `7`).
pub fn format_numeric(v: i64, scale: u8) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// An integer as a `NUMERIC(precision, scale)`: `v × 10^scale`, or
/// [`EncodeError::NumericOverflow`] when it does not fit.
pub fn numeric_from_i64(v: i64, precision: u8, scale: u8) -> Result<i64, EncodeError> {
    let overflow = EncodeError::NumericOverflow { precision, scale };
    let scaled = 10i128
        .checked_pow(u32::from(scale))
        .and_then(|p| p.checked_mul(i128::from(v)))
        .ok_or(overflow)?;
    fit(scaled < 0, scaled.abs(), precision, scale)
}

/// A float as a `NUMERIC(precision, scale)`, as PostgreSQL's `float8_numeric`
/// does it: through its text with 15 significant digits, then
/// [`parse_numeric`] (so `0.1` becomes exactly `0.10` in `NUMERIC(5,2)`).
/// `NaN` and infinities are [`EncodeError::NumericOverflow`].
pub fn numeric_from_f64(v: f64, precision: u8, scale: u8) -> Result<i64, EncodeError> {
    if !v.is_finite() {
        return Err(EncodeError::NumericOverflow { precision, scale });
    }
    parse_numeric(&format!("{v:.14e}"), precision, scale)
}

/// A scaled `NUMERIC` as the nearest `f64` (through its exact decimal text).
pub fn numeric_to_f64(v: i64, scale: u8) -> f64 {
    format_numeric(v, scale).parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests;
