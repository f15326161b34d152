//! `REAL` and `DOUBLE PRECISION`: the order-preserving mapping to `i64`, and
//! PostgreSQL's text forms.

use super::EncodeError;

/// The stored form of every NaN: the greatest `i64`, as PostgreSQL sorts NaN
/// above every other value (including `+Infinity`). Its bits are a NaN.
const CANONICAL_NAN: i64 = i64::MAX;

/// Maps a float to an `i64` whose integer order is PostgreSQL's float order:
/// `-Infinity < negatives < 0 < positives < +Infinity < NaN`.
///
/// `-0.0` is stored as `0.0` (they compare equal) and every NaN as one
/// canonical NaN; otherwise [`ordered_to_f64`] gives back the exact float.
pub fn f64_to_ordered(v: f64) -> i64 {
    if v.is_nan() {
        return CANONICAL_NAN;
    }
    let v = if v == 0.0 { 0.0 } else { v };
    let bits = v.to_bits() as i64;
    // Negative floats order backwards by their bits: flip all but the sign.
    if bits < 0 { bits ^ i64::MAX } else { bits }
}

/// The inverse of [`f64_to_ordered`]. Every `i64` maps to some float (those
/// no float maps to come back as NaN or as the float with the same bits).
pub fn ordered_to_f64(v: i64) -> f64 {
    let bits = if v < 0 { v ^ i64::MAX } else { v };
    f64::from_bits(bits as u64)
}

/// [`f64_to_ordered`] of a `REAL`: the `f32` widened exactly to `f64`, so
/// `REAL` and `DOUBLE PRECISION` columns compare with each other directly.
pub fn f32_to_ordered(v: f32) -> i64 {
    f64_to_ordered(f64::from(v))
}

/// The inverse of [`f32_to_ordered`] (exact for values that came from it).
pub fn ordered_to_f32(v: i64) -> f32 {
    ordered_to_f64(v) as f32
}

/// Parses a `DOUBLE PRECISION` like PostgreSQL's `float8in`: surrounding
/// whitespace, `NaN`, `Infinity`/`inf` with optional sign, any case.
/// Values beyond the range (`1e400`, or `1e-400` which would underflow to 0)
/// are errors.
pub fn parse_f64(text: &str) -> Result<f64, EncodeError> {
    const TY: &str = "double precision";
    let t = text.trim_matches(is_space);
    let v: f64 = t.parse().map_err(|_| EncodeError::syntax(TY, text))?;
    check_range(t, v.is_infinite(), v == 0.0).map_err(|()| EncodeError::range(TY, text))?;
    Ok(v)
}

/// Parses a `REAL` like PostgreSQL's `float4in` (see [`parse_f64`]).
pub fn parse_f32(text: &str) -> Result<f32, EncodeError> {
    const TY: &str = "real";
    let t = text.trim_matches(is_space);
    let v: f32 = t.parse().map_err(|_| EncodeError::syntax(TY, text))?;
    check_range(t, v.is_infinite(), v == 0.0).map_err(|()| EncodeError::range(TY, text))?;
    Ok(v)
}

fn is_space(c: char) -> bool {
    c.is_ascii_whitespace()
}

/// An infinite result must come from an infinity word, a zero one from zero digits.
fn check_range(t: &str, infinite: bool, zero: bool) -> Result<(), ()> {
    let unsigned = t.trim_start_matches(['+', '-']);
    if infinite
        && !unsigned
            .get(..3)
            .is_some_and(|w| w.eq_ignore_ascii_case("inf"))
    {
        return Err(());
    }
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or("");
    if zero && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return Err(());
    }
    Ok(())
}

/// Formats a `DOUBLE PRECISION` like PostgreSQL's `float8out` (12+, default
/// `extra_float_digits`): the shortest text that reads back exactly, in
/// exponent form (`1e+300`, `1.5e-05`) when the decimal exponent is below −4
/// or at least 15; `NaN`, `Infinity`, `-Infinity`.
pub fn format_f64(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    shortest(&format!("{v:e}"), 15)
}

/// Formats a `REAL` like PostgreSQL's `float4out`: as [`format_f64`], with
/// exponent form from a decimal exponent of 6 (`1e+06`).
pub fn format_f32(v: f32) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    shortest(&format!("{v:e}"), 6)
}

/// Rewrites Rust's shortest `{:e}` form (`-1.25e-7`) the way PostgreSQL
/// prints it: plain digits when `-4 <= exponent < max_exp`, else `d.ddde±XX`.
fn shortest(sci: &str, max_exp: i32) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if (-4..max_exp).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            } else {
                let (int, frac) = digits.split_at(int_len);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            }
        }
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let exp_sign = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{exp_sign}{:02}", exp.unsigned_abs()));
    }
    out
}

#[cfg(test)]
mod tests;
