//! `numeric` values: a signed 128-bit mantissa and a decimal scale.
//!
//! Arithmetic follows PostgreSQL's `numeric` rules for result scales
//! (addition: the larger scale; multiplication: the sum of scales; division:
//! `select_div_scale`) and rounds half away from zero. PostgreSQL's numeric is
//! arbitrary precision; here a value holds at most 38 significant digits and
//! anything larger is 22003 `value overflows numeric format`.

use super::error::{SqlError, SqlResult, SqlState};
use std::cmp::Ordering;

/// A decimal number `mantissa × 10^-scale`. Covers 38 significant digits;
/// results beyond that are a `numeric field overflow` (22003).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    /// The digits, scaled.
    pub mantissa: i128,
    /// Digits after the decimal point.
    pub scale: u32,
}

/// Exclusive bound of a mantissa: 10^38.
const MANTISSA_END: i128 = 100_000_000_000_000_000_000_000_000_000_000_000_000;

/// PostgreSQL's `NUMERIC_MIN_SIG_DIGITS`: divisions keep at least this many
/// significant digits.
const MIN_SIG_DIGITS: i64 = 16;

/// PostgreSQL's `NUMERIC_MAX_DISPLAY_SCALE`.
const MAX_DISPLAY_SCALE: i64 = 1000;

/// 22003 for results beyond 38 digits.
pub fn overflow() -> SqlError {
    SqlError::new(
        SqlState::NumericValueOutOfRange,
        "value overflows numeric format",
    )
}

fn division_by_zero() -> SqlError {
    SqlError::new(SqlState::DivisionByZero, "division by zero")
}

/// `10^n`, if it fits an `i128`.
fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `m × 10^n`, checked; zero stays zero whatever `n`.
fn scale_up(m: i128, n: u32) -> Option<i128> {
    if m == 0 {
        return Some(0);
    }
    pow10(n).and_then(|p| m.checked_mul(p))
}

/// `m / 10^n` rounded half away from zero.
fn round_div_pow10(m: i128, n: u32) -> i128 {
    let Some(p) = pow10(n) else {
        return 0;
    };
    let q = m / p;
    let r = (m % p).unsigned_abs();
    if r * 2 >= p.unsigned_abs() {
        q + m.signum()
    } else {
        q
    }
}

impl Decimal {
    /// `mantissa × 10^-scale`.
    pub fn new(mantissa: i128, scale: u32) -> Decimal {
        Decimal { mantissa, scale }
    }

    /// An integer, scale 0.
    pub fn from_i64(v: i64) -> Decimal {
        Decimal::new(i128::from(v), 0)
    }

    /// Checks the 38-digit bound.
    fn checked(mantissa: i128, scale: u32) -> SqlResult<Decimal> {
        if mantissa.unsigned_abs() >= MANTISSA_END.unsigned_abs() {
            return Err(overflow());
        }
        Ok(Decimal::new(mantissa, scale))
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// The same value at a larger or equal scale (22003 if it overflows).
    pub fn rescale_up(&self, scale: u32) -> SqlResult<Decimal> {
        if scale <= self.scale {
            return Ok(*self);
        }
        let m = scale_up(self.mantissa, scale - self.scale).ok_or_else(overflow)?;
        Decimal::checked(m, scale)
    }

    /// Both mantissas at the larger scale.
    fn align(&self, other: &Decimal) -> SqlResult<(i128, i128, u32)> {
        let s = self.scale.max(other.scale);
        Ok((
            self.rescale_up(s)?.mantissa,
            other.rescale_up(s)?.mantissa,
            s,
        ))
    }

    /// `self + other`, scale = the larger scale.
    pub fn add(&self, other: &Decimal) -> SqlResult<Decimal> {
        let (a, b, s) = self.align(other)?;
        Decimal::checked(a.checked_add(b).ok_or_else(overflow)?, s)
    }

    /// `self - other`, scale = the larger scale.
    pub fn sub(&self, other: &Decimal) -> SqlResult<Decimal> {
        self.add(&other.neg())
    }

    /// `-self`.
    pub fn neg(&self) -> Decimal {
        Decimal::new(-self.mantissa, self.scale)
    }

    /// `|self|`.
    pub fn abs(&self) -> Decimal {
        Decimal::new(self.mantissa.abs(), self.scale)
    }

    /// `self × other`, scale = the sum of scales (exact).
    pub fn mul(&self, other: &Decimal) -> SqlResult<Decimal> {
        let m = self
            .mantissa
            .checked_mul(other.mantissa)
            .ok_or_else(overflow)?;
        Decimal::checked(m, self.scale + other.scale)
    }

    /// PostgreSQL's base-10000 weight and first base-10000 digit.
    pub(crate) fn weight_and_first_digit(&self) -> (i64, i128) {
        if self.mantissa == 0 {
            return (0, 0);
        }
        let m = self.mantissa.unsigned_abs();
        let digits = i64::from(m.ilog10()) + 1;
        let exp = digits - 1 - i64::from(self.scale);
        let weight = exp.div_euclid(4);
        let shift = i64::from(self.scale) + 4 * weight;
        let first = if shift >= 0 {
            pow10(shift as u32).map_or(0, |p| (m / p.unsigned_abs()) as i128)
        } else {
            (m as i128) * pow10((-shift) as u32).unwrap_or(1)
        };
        (weight, first)
    }

    /// The result scale PostgreSQL chooses for `self / other`
    /// (`select_div_scale`): at least 16 significant digits, and not less
    /// than either input's scale.
    pub fn div_scale(&self, other: &Decimal) -> u32 {
        let (w1, f1) = self.weight_and_first_digit();
        let (w2, f2) = other.weight_and_first_digit();
        let mut qweight = w1 - w2;
        if f1 <= f2 {
            qweight -= 1;
        }
        let rscale = (MIN_SIG_DIGITS - qweight * 4)
            .max(i64::from(self.scale))
            .max(i64::from(other.scale))
            .clamp(0, MAX_DISPLAY_SCALE);
        rscale as u32
    }

    /// `self / other` at PostgreSQL's division scale, rounded half away
    /// from zero; 22012 on a zero divisor.
    pub fn div(&self, other: &Decimal) -> SqlResult<Decimal> {
        if other.is_zero() {
            return Err(division_by_zero());
        }
        self.div_to_scale(other, self.div_scale(other))
    }

    /// `self / other` rounded half away from zero to `rscale` digits.
    pub fn div_to_scale(&self, other: &Decimal, rscale: u32) -> SqlResult<Decimal> {
        if other.is_zero() {
            return Err(division_by_zero());
        }
        let negative = (self.mantissa < 0) != (other.mantissa < 0);
        let a = self.mantissa.unsigned_abs();
        let mut b = other.mantissa.unsigned_abs();
        // q = round(a × 10^k / b)
        let k = i64::from(rscale) + i64::from(other.scale) - i64::from(self.scale);
        let mut extra = k;
        if k < 0 {
            match pow10((-k) as u32).and_then(|p| b.checked_mul(p.unsigned_abs())) {
                Some(v) => b = v,
                None => return Ok(Decimal::new(0, rscale)),
            }
            extra = 0;
        }
        let mut q = a / b;
        let mut r = a % b;
        let bound = MANTISSA_END.unsigned_abs();
        for _ in 0..=extra {
            if q >= bound {
                return Err(overflow());
            }
            let r10 = r.checked_mul(10).ok_or_else(overflow)?;
            q = q * 10 + r10 / b;
            r = r10 % b;
        }
        // q holds one digit beyond the result: round on it.
        let q = (q / 10 + u128::from(q % 10 >= 5)) as i128;
        Decimal::checked(if negative { -q } else { q }, rscale)
    }

    /// `self % other` (sign of the dividend), scale = the larger scale;
    /// 22012 on a zero divisor.
    pub fn rem(&self, other: &Decimal) -> SqlResult<Decimal> {
        if other.is_zero() {
            return Err(division_by_zero());
        }
        let (a, b, s) = self.align(other)?;
        Ok(Decimal::new(a % b, s))
    }

    /// Rounds half away from zero to `scale` fractional digits (negative:
    /// to tens, hundreds…); the result's scale is `max(scale, 0)`, as
    /// PostgreSQL's `round(numeric, int)`.
    pub fn round(&self, scale: i32) -> SqlResult<Decimal> {
        self.round_with(scale, round_div_pow10)
    }

    /// Truncates toward zero to `scale` fractional digits (see [`Decimal::round`]).
    pub fn trunc(&self, scale: i32) -> SqlResult<Decimal> {
        self.round_with(scale, |m, n| pow10(n).map_or(0, |p| m / p))
    }

    fn round_with(&self, scale: i32, f: impl Fn(i128, u32) -> i128) -> SqlResult<Decimal> {
        let target = i64::from(scale);
        let cur = i64::from(self.scale);
        if target >= cur {
            return self.rescale_up(target as u32);
        }
        let drop = (cur - target) as u32;
        let m = f(self.mantissa, drop);
        if target >= 0 {
            Decimal::checked(m, target as u32)
        } else {
            let back = scale_up(m, (-target) as u32).ok_or_else(overflow)?;
            Decimal::checked(back, 0)
        }
    }

    /// The smallest integer not below the value (scale 0).
    pub fn ceil(&self) -> SqlResult<Decimal> {
        let t = self.trunc(0)?;
        if self.mantissa > 0 && t.rescale_up(self.scale)? != *self {
            t.add(&Decimal::from_i64(1))
        } else {
            Ok(t)
        }
    }

    /// The greatest integer not above the value (scale 0).
    pub fn floor(&self) -> SqlResult<Decimal> {
        let t = self.trunc(0)?;
        if self.mantissa < 0 && t.rescale_up(self.scale)? != *self {
            t.sub(&Decimal::from_i64(1))
        } else {
            Ok(t)
        }
    }

    /// Rounded half away from zero to an integer, if it fits an `i64`.
    pub fn to_i64_rounded(&self) -> Option<i64> {
        let m = if self.scale == 0 {
            self.mantissa
        } else {
            round_div_pow10(self.mantissa, self.scale)
        };
        i64::try_from(m).ok()
    }

    /// The nearest `f64` (through the exact decimal text).
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// A float as PostgreSQL's `float8_numeric` converts it: through its
    /// text with `digits` significant digits (15 for `float8`, 6 for
    /// `float4`). Non-finite values are 22003 errors.
    pub fn from_f64(v: f64, digits: usize) -> SqlResult<Decimal> {
        if !v.is_finite() {
            let what = if v.is_nan() { "NaN" } else { "Infinity" };
            return Err(SqlError::new(
                SqlState::NumericValueOutOfRange,
                format!("cannot convert {what} to numeric"),
            ));
        }
        let sci = format!("{v:.prec$e}", prec = digits.saturating_sub(1));
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        Decimal::parse(&format!("{mantissa}e{exp}"))
    }

    /// Parses `numeric` input as PostgreSQL's `numeric_in`: surrounding
    /// whitespace, sign, digits with an optional point, optional exponent;
    /// the scale is the number of fractional digits written, less the
    /// exponent (never negative). 22P02 on malformed text.
    pub fn parse(text: &str) -> SqlResult<Decimal> {
        let syntax = || {
            SqlError::new(
                SqlState::InvalidTextRepresentation,
                format!("invalid input syntax for type numeric: \"{text}\""),
            )
        };
        let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let (negative, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let lower = body.to_ascii_lowercase();
        if matches!(lower.as_str(), "nan" | "infinity" | "inf") {
            return Err(SqlError::unsupported(format!(
                "numeric value \"{}\"",
                t.trim()
            )));
        }
        let (mant, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !digits_ok(int) || !digits_ok(frac) {
            return Err(syntax());
        }
        let exp: i64 = match exp {
            None => 0,
            Some(e) => {
                let unsigned = e.trim_start_matches(['+', '-']);
                if unsigned.is_empty() || e.len() - unsigned.len() > 1 || !digits_ok(unsigned) {
                    return Err(syntax());
                }
                let v: i64 = unsigned.parse().map_err(|_| syntax())?;
                if v > 1000 {
                    return Err(syntax());
                }
                if e.starts_with('-') { -v } else { v }
            }
        };
        let all = format!("{int}{frac}");
        let all = all.trim_start_matches('0');
        let frac_len = frac.len() as i64;
        let scale = (frac_len - exp).max(0);
        // value = all × 10^(exp - frac_len); mantissa = value × 10^scale.
        let shift = exp - frac_len + scale;
        let mut m: i128 = 0;
        for b in all.bytes() {
            m = m
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        let m = scale_up(m, shift as u32).ok_or_else(overflow)?;
        let d = Decimal::checked(if negative { -m } else { m }, scale as u32)?;
        Ok(d)
    }

    /// Applies a `numeric(precision, scale)` type modifier: rounds to
    /// `scale` digits, then 22003 `numeric field overflow` if more than
    /// `precision − scale` integer digits remain.
    pub fn with_typmod(&self, precision: u8, scale: u8) -> SqlResult<Decimal> {
        let r = self.round(i32::from(scale))?;
        let int_digits = i32::from(precision) - i32::from(scale);
        let limit = if int_digits <= 0 {
            pow10(u32::from(scale))
        } else {
            pow10(precision.into())
        };
        if limit.is_none_or(|l| r.mantissa.abs() < l) {
            return Ok(r);
        }
        let detail = if int_digits <= 0 {
            format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than 1."
            )
        } else {
            format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{int_digits}."
            )
        };
        Err(
            SqlError::new(SqlState::NumericValueOutOfRange, "numeric field overflow")
                .with_detail(detail),
        )
    }
}

impl Ord for Decimal {
    /// Numeric order, whatever the scales (`1.0 = 1`).
    fn cmp(&self, other: &Decimal) -> Ordering {
        match self.align(other) {
            Ok((a, b, _)) => a.cmp(&b),
            // One side cannot be rescaled: it has far more digits, so the
            // signs and magnitudes decide; compare through floats.
            Err(_) => self
                .to_f64()
                .partial_cmp(&other.to_f64())
                .unwrap_or(Ordering::Equal),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Decimal {
    /// PostgreSQL's output: exactly `scale` fractional digits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let neg = self.mantissa < 0;
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let (int, frac) = if digits.len() > scale {
            digits.split_at(digits.len() - scale)
        } else {
            ("0", digits.as_str())
        };
        if neg {
            f.write_str("-")?;
        }
        f.write_str(int)?;
        if scale > 0 {
            write!(f, ".{}{frac}", "0".repeat(scale - frac.len()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    /// (a, op, b, PostgreSQL 15 output of `SELECT a::numeric op b::numeric`)
    const ARITH: &[(&str, char, &str, &str)] = &[
        ("1", '/', "3", "0.33333333333333333333"),
        ("10", '/', "4.0", "2.5000000000000000"),
        ("2", '/', "3", "0.66666666666666666667"),
        ("-2", '/', "3", "-0.66666666666666666667"),
        ("1", '/', "8", "0.12500000000000000000"),
        ("100000", '/', "3", "33333.333333333333"),
        ("1.5", '+', "2.25", "3.75"),
        ("1.5", '-', "2.25", "-0.75"),
        ("1.5", '*', "2.25", "3.375"),
        ("1.50", '*', "2", "3.00"),
        ("7.5", '%', "2", "1.5"),
        ("-7.5", '%', "2", "-1.5"),
        ("3", '/', "1", "3.0000000000000000"),
        ("0.001", '/', "7", "0.00014285714285714286"),
    ];

    #[test]
    fn arithmetic_matches_postgres() {
        for (a, op, b, want) in ARITH {
            let (a, b) = (d(a), d(b));
            let got = match op {
                '+' => a.add(&b),
                '-' => a.sub(&b),
                '*' => a.mul(&b),
                '/' => a.div(&b),
                _ => a.rem(&b),
            }
            .unwrap();
            assert_eq!(got.to_string(), *want, "{a} {op} {b}");
        }
    }

    #[test]
    fn parse_keeps_written_scale() {
        for (text, want) in [
            ("1.50", "1.50"),
            ("1e3", "1000"),
            ("1.5e-3", "0.0015"),
            (" -0.0 ", "0.0"),
            (".5", "0.5"),
            ("5.", "5"),
        ] {
            assert_eq!(d(text).to_string(), want);
        }
        assert!(Decimal::parse("1.2.3").is_err());
        assert!(Decimal::parse("").is_err());
        assert!(Decimal::parse("e5").is_err());
    }

    #[test]
    fn round_is_half_away_from_zero() {
        assert_eq!(d("2.5").round(0).unwrap().to_string(), "3");
        assert_eq!(d("-2.5").round(0).unwrap().to_string(), "-3");
        assert_eq!(d("1234.5678").round(2).unwrap().to_string(), "1234.57");
        assert_eq!(d("1234.5678").round(-2).unwrap().to_string(), "1200");
        assert_eq!(d("1.5").round(3).unwrap().to_string(), "1.500");
        assert_eq!(d("-1.7").trunc(0).unwrap().to_string(), "-1");
        assert_eq!(d("-1.2").floor().unwrap().to_string(), "-2");
        assert_eq!(d("1.2").ceil().unwrap().to_string(), "2");
    }

    #[test]
    fn from_f64_uses_fifteen_digits() {
        assert_eq!(Decimal::from_f64(0.1, 15).unwrap().to_string(), "0.1");
        assert_eq!(
            Decimal::from_f64(1e15, 15).unwrap().to_string(),
            "1000000000000000"
        );
        assert_eq!(
            Decimal::from_f64(1.5e-5, 15).unwrap().to_string(),
            "0.000015"
        );
        assert_eq!(
            Decimal::from_f64(0.30000000000000004, 15)
                .unwrap()
                .to_string(),
            "0.3"
        );
    }

    #[test]
    fn typmod_overflow_is_22003() {
        assert_eq!(
            d("123.456").with_typmod(5, 2).unwrap().to_string(),
            "123.46"
        );
        let e = d("1234.5").with_typmod(5, 2).unwrap_err();
        assert_eq!(e.state, SqlState::NumericValueOutOfRange);
        assert!(d("0.5").with_typmod(2, 2).is_ok());
        assert!(d("1.5").with_typmod(2, 2).is_err());
    }

    #[test]
    fn thirty_nine_digits_overflow() {
        let big = d("99999999999999999999999999999999999999");
        assert_eq!(
            big.add(&d("1")).unwrap_err().state,
            SqlState::NumericValueOutOfRange
        );
        assert_eq!(
            d("1").div(&d("0")).unwrap_err().state,
            SqlState::DivisionByZero
        );
    }

    #[test]
    fn compares_across_scales() {
        assert_eq!(d("1.0").cmp(&d("1")), Ordering::Equal);
        assert_eq!(d("-1.5").cmp(&d("1")), Ordering::Less);
    }
}
