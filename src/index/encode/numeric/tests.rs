use super::*;
use proptest::prelude::*;

/// The reference: `m / 10^k` scaled to `s` digits, rounded half away from
/// zero, checked against precision `p`.
fn reference(m: i64, k: u32, p: u8, s: u8) -> Option<i64> {
    let m = i128::from(m);
    let s = u32::from(s);
    let scaled = if s >= k {
        m * 10i128.pow(s - k)
    } else {
        let d = 10i128.pow(k - s);
        let (q, r) = (m.abs() / d, m.abs() % d);
        let q = q + i128::from(2 * r >= d);
        if m < 0 { -q } else { q }
    };
    (scaled.abs() < 10i128.pow(u32::from(p))).then_some(scaled as i64)
}

fn decimal_text(m: i64, k: u32) -> String {
    let digits = format!("{:0>width$}", m.unsigned_abs(), width = k as usize + 1);
    let (int, frac) = digits.split_at(digits.len() - k as usize);
    let sign = if m < 0 { "-" } else { "" };
    if k == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

fn ps() -> impl Strategy<Value = (u8, u8)> {
    (1u8..=18).prop_flat_map(|p| (Just(p), 0..=p))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn format_then_parse_round_trips((p, s) in ps(), seed in any::<i64>()) {
        let max = 10i64.pow(u32::from(p)) - 1;
        let v = seed % (max + 1);
        let text = format_numeric(v, s);
        prop_assert_eq!(parse_numeric(&text, p, s), Ok(v), "{}", text);
    }

    #[test]
    fn parse_rounds_half_away_from_zero_like_the_reference(
        (p, s) in ps(),
        m in prop_oneof![any::<i64>(), -100_000i64..100_000, -10i64..10],
        k in 0u32..12,
    ) {
        let text = decimal_text(m, k);
        let got = parse_numeric(&text, p, s).ok();
        prop_assert_eq!(got, reference(m, k, p, s), "{} as numeric({},{})", text, p, s);
    }

    #[test]
    fn exponent_form_equals_plain_form((p, s) in ps(), m in -1_000_000i64..1_000_000, e in -12i32..12) {
        let plain = if e >= 0 {
            format!("{m}{}", "0".repeat(e as usize))
        } else {
            decimal_text(m, e.unsigned_abs())
        };
        prop_assert_eq!(parse_numeric(&format!("{m}e{e}"), p, s), parse_numeric(&plain, p, s));
    }

    #[test]
    fn from_i64_matches_parsing_its_text((p, s) in ps(), v in any::<i64>()) {
        let parsed = parse_numeric(&v.to_string(), p, s);
        prop_assert_eq!(numeric_from_i64(v, p, s), parsed);
    }

    #[test]
    fn to_f64_is_the_nearest_double((p, s) in ps(), seed in any::<i64>()) {
        let v = seed % 10i64.pow(u32::from(p));
        let f = numeric_to_f64(v, s);
        prop_assert_eq!(f, format_numeric(v, s).parse::<f64>().unwrap());
    }
}

#[test]
fn postgres_rounding_examples() {
    assert_eq!(parse_numeric("0.005", 5, 2), Ok(1));
    assert_eq!(parse_numeric("-0.005", 5, 2), Ok(-1));
    assert_eq!(parse_numeric("0.004999", 5, 2), Ok(0));
    assert_eq!(parse_numeric("1e2", 5, 2), Ok(10_000));
    assert_eq!(format_numeric(10_000, 2), "100.00");
    assert_eq!(parse_numeric("  +12.345  ", 5, 2), Ok(1235));
    assert_eq!(
        parse_numeric("999.995", 5, 2).unwrap_err(),
        EncodeError::NumericOverflow {
            precision: 5,
            scale: 2
        }
    );
    assert_eq!(parse_numeric("999.994", 5, 2), Ok(99_999));
    assert_eq!(parse_numeric("1.5E-1", 3, 1), Ok(2));
    assert_eq!(parse_numeric("-0", 3, 1), Ok(0));
    assert_eq!(parse_numeric(".5", 3, 0), Ok(1));
    assert_eq!(parse_numeric("5.", 3, 0), Ok(5));
    assert_eq!(
        parse_numeric("0.0000000000000000000000000001", 18, 2),
        Ok(0)
    );
    assert_eq!(
        parse_numeric("00000000000000000000000000012.5", 3, 0),
        Ok(13)
    );
}

#[test]
fn overflow_when_integer_digits_exceed_precision_minus_scale() {
    let err = parse_numeric("10", 3, 2).unwrap_err();
    assert_eq!(err.to_string(), "numeric field overflow");
    assert_eq!(err.sqlstate(), "22003");
    assert_eq!(
        err.detail().as_deref(),
        Some("A field with precision 3, scale 2 must round to an absolute value less than 10^1.")
    );
    assert!(parse_numeric("9.99", 3, 2).is_ok());
    assert!(parse_numeric("1e30", 18, 0).is_err());
    assert!(parse_numeric("99999999999999999999999", 18, 0).is_err());
    assert!(parse_numeric("NaN", 5, 2).is_err());
    assert!(parse_numeric("-Infinity", 5, 2).is_err());
}

#[test]
fn invalid_syntax_is_reported_with_the_input() {
    for bad in [
        "", " ", "abc", "1.2.3", "1e", "e5", "--1", "1 2", "+", ".", "1e+", "0x10", "1e1001",
    ] {
        let err = parse_numeric(bad, 10, 2).unwrap_err();
        assert_eq!(err.sqlstate(), "22P02", "{bad:?}");
        assert_eq!(
            err.to_string(),
            format!("invalid input syntax for type numeric: \"{bad}\"")
        );
    }
}

#[test]
fn format_pads_and_signs() {
    assert_eq!(format_numeric(-5, 2), "-0.05");
    assert_eq!(format_numeric(0, 3), "0.000");
    assert_eq!(format_numeric(7, 0), "7");
    assert_eq!(format_numeric(i64::MIN, 2), "-92233720368547758.08");
    assert_eq!(format_numeric(123, 18), "0.000000000000000123");
}

#[test]
fn floats_convert_through_fifteen_digits() {
    assert_eq!(numeric_from_f64(0.1, 5, 2), Ok(10));
    assert_eq!(numeric_from_f64(2.675, 5, 2), Ok(268));
    assert_eq!(numeric_from_f64(-1.005, 5, 2), Ok(-101));
    assert!(numeric_from_f64(f64::NAN, 5, 2).is_err());
    assert!(numeric_from_f64(1e10, 5, 2).is_err());
}

#[test]
fn from_i64_checks_overflow() {
    assert_eq!(numeric_from_i64(123, 5, 2), Ok(12_300));
    assert!(numeric_from_i64(1000, 5, 2).is_err());
    assert!(numeric_from_i64(i64::MAX, 18, 2).is_err());
}
