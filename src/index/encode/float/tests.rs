use super::*;
use proptest::prelude::*;

fn pg_order(a: f64, b: f64) -> std::cmp::Ordering {
    // PostgreSQL: NaN equals NaN and is above everything; -0 = 0.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::num::f64::ANY,
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(-f64::MIN_POSITIVE),
        Just(5e-324),
        Just(-5e-324),
        -1e6..1e6f64,
    ]
}

proptest! {
    #[test]
    fn ordered_mapping_preserves_postgres_order(a in any_f64(), b in any_f64()) {
        prop_assert_eq!(f64_to_ordered(a).cmp(&f64_to_ordered(b)), pg_order(a, b));
    }

    #[test]
    fn ordered_mapping_round_trips_exactly(a in any_f64()) {
        let back = ordered_to_f64(f64_to_ordered(a));
        if a.is_nan() {
            prop_assert!(back.is_nan());
        } else if a == 0.0 {
            prop_assert_eq!(back.to_bits(), 0);
        } else {
            prop_assert_eq!(back.to_bits(), a.to_bits());
        }
    }

    #[test]
    fn every_i64_decodes_without_panic_and_finite_values_reencode(v in any::<i64>()) {
        let f = ordered_to_f64(v);
        if !f.is_nan() && f != 0.0 {
            prop_assert_eq!(f64_to_ordered(f), v);
        }
    }

    #[test]
    fn real_round_trips_through_ordered(bits in any::<u32>()) {
        let a = f32::from_bits(bits);
        let back = ordered_to_f32(f32_to_ordered(a));
        prop_assert!(a.is_nan() && back.is_nan() || a == back && (a != 0.0 || back.to_bits() == 0));
    }

    #[test]
    fn formatted_doubles_read_back_exactly(bits in any::<u64>()) {
        let a = f64::from_bits(bits);
        let back = parse_f64(&format_f64(a));
        if a.is_nan() {
            prop_assert!(back.is_ok_and(f64::is_nan));
        } else {
            prop_assert_eq!(back.map(f64::to_bits), Ok(a.to_bits()));
        }
    }

    #[test]
    fn formatted_reals_read_back_exactly(bits in any::<u32>()) {
        let a = f32::from_bits(bits);
        let back = parse_f32(&format_f32(a));
        if a.is_nan() {
            prop_assert!(back.is_ok_and(f32::is_nan));
        } else {
            prop_assert_eq!(back.map(f32::to_bits), Ok(a.to_bits()));
        }
    }
}

#[test]
fn nan_is_greatest_and_canonical() {
    assert_eq!(f64_to_ordered(f64::NAN), i64::MAX);
    assert_eq!(f64_to_ordered(-f64::NAN), i64::MAX);
    assert!(f64_to_ordered(f64::INFINITY) < f64_to_ordered(f64::NAN));
    assert!(ordered_to_f64(i64::MAX).is_nan());
}

#[test]
fn negative_zero_is_zero() {
    assert_eq!(f64_to_ordered(-0.0), f64_to_ordered(0.0));
    assert_eq!(f64_to_ordered(0.0), 0);
}

#[test]
fn doubles_format_like_postgres() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (1e-4, "0.0001"),
        (1e-5, "1e-05"),
        (1.5e-5, "1.5e-05"),
        (123456789012345.0, "123456789012345"),
        (1e15, "1e+15"),
        (1.2345678901234568e17, "1.2345678901234568e+17"),
        (1e300, "1e+300"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
        (100.0, "100"),
        (0.30000000000000004, "0.30000000000000004"),
    ];
    for (v, s) in cases {
        assert_eq!(format_f64(*v), *s, "{v:e}");
    }
}

#[test]
fn reals_format_like_postgres() {
    assert_eq!(format_f32(100000.0), "100000");
    assert_eq!(format_f32(1000000.0), "1e+06");
    assert_eq!(format_f32(1234567.0), "1.234567e+06");
    assert_eq!(format_f32(0.1), "0.1");
    assert_eq!(format_f32(3.4028235e38), "3.4028235e+38");
}

#[test]
fn parse_accepts_postgres_spellings() {
    assert_eq!(parse_f64("  1.5  "), Ok(1.5));
    assert_eq!(parse_f64("Infinity"), Ok(f64::INFINITY));
    assert_eq!(parse_f64("-inf"), Ok(f64::NEG_INFINITY));
    assert!(parse_f64("NaN").is_ok_and(f64::is_nan));
    assert_eq!(parse_f64(".5"), Ok(0.5));
    assert_eq!(parse_f64("1e-310"), Ok(1e-310));
}

#[test]
fn parse_rejects_out_of_range_and_garbage() {
    let err = parse_f64("1e400").unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"1e400\" is out of range for type double precision"
    );
    assert_eq!(err.sqlstate(), "22003");
    assert!(parse_f64("1e-400").is_err());
    assert!(parse_f32("1e39").is_err());
    let err = parse_f64("abc").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input syntax for type double precision: \"abc\""
    );
    assert_eq!(parse_f64("0e-999"), Ok(0.0));
}
