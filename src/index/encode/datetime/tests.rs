use super::*;
use crate::index::encode::EncodeError;
use proptest::prelude::*;

fn err_text(r: Result<i64, EncodeError>) -> String {
    r.map_or_else(|e| e.to_string(), |v| format!("ok {v}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn civil_round_trips_over_the_date_range(days in DATE_MIN..=DATE_MAX) {
        let (y, m, d) = civil_from_days(days);
        prop_assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        prop_assert_eq!(days_from_civil(y, m, d), days);
    }

    #[test]
    fn next_day_is_the_next_calendar_date(days in DATE_MIN..DATE_MAX) {
        let (y, m, d) = civil_from_days(days);
        let next = civil_from_days(days + 1);
        let expected = if d < days_in_month(y, m) {
            (y, m, d + 1)
        } else if m < 12 {
            (y, m + 1, 1)
        } else {
            (y + 1, 1, 1)
        };
        prop_assert_eq!(next, expected);
    }

    #[test]
    fn dates_format_then_parse(days in prop_oneof![DATE_MIN..=DATE_MAX, -800_000i64..3_000_000]) {
        prop_assert_eq!(parse_date(&format_date(days)), Ok(days), "{}", format_date(days));
    }

    #[test]
    fn timestamps_format_then_parse(
        micros in prop_oneof![TIMESTAMP_MIN..TIMESTAMP_END, -10_000_000_000_000_000i64..10_000_000_000_000_000],
    ) {
        let text = format_timestamp(micros);
        prop_assert_eq!(parse_timestamp(&text), Ok(micros), "{}", text);
    }

    #[test]
    fn timestamptz_format_then_parse_at_any_offset(
        micros in -10_000_000_000_000_000i64..10_000_000_000_000_000,
        offset in -15 * 3600..=15 * 3600i32,
        session in -12 * 3600..=12 * 3600i32,
    ) {
        let text = format_timestamptz(micros, offset);
        prop_assert_eq!(parse_timestamptz(&text, session), Ok(micros), "{}", text);
    }

    #[test]
    fn date_text_order_is_day_order(a in -800_000i64..3_000_000, b in -800_000i64..3_000_000) {
        // Within AD years of four digits, ISO text sorts like the days.
        let (fa, fb) = (format_date(a), format_date(b));
        if !fa.ends_with("BC") && !fb.ends_with("BC") && fa.len() == 10 && fb.len() == 10 {
            prop_assert_eq!(fa.cmp(&fb), a.cmp(&b));
        }
    }
}

#[test]
fn known_day_numbers() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 1, 1), 10_957);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    assert_eq!(days_from_civil(1, 1, 1), -719_162);
    assert_eq!(days_from_civil(-4713, 11, 24), DATE_MIN);
    assert_eq!(days_from_civil(5_874_897, 12, 31), DATE_MAX);
    assert_eq!(days_from_civil(294_247, 1, 1) * DAY_MICROS, TIMESTAMP_END);
    assert!(civil_from_days(i64::MAX).1 <= 12);
    assert!(civil_from_days(i64::MIN).1 <= 12);
}

#[test]
fn leap_days_are_validated() {
    assert_eq!(parse_date("2000-02-29"), Ok(days_from_civil(2000, 2, 29)));
    assert_eq!(parse_date("2024-02-29"), Ok(days_from_civil(2024, 2, 29)));
    assert_eq!(
        err_text(parse_date("1900-02-29")),
        "date/time field value out of range: \"1900-02-29\""
    );
    assert!(parse_date("2023-02-29").is_err());
    assert!(parse_date("2023-04-31").is_err());
}

#[test]
fn date_errors_follow_postgres() {
    assert_eq!(
        err_text(parse_date("2024-13-01")),
        "date/time field value out of range: \"2024-13-01\""
    );
    assert_eq!(
        err_text(parse_date("abc")),
        "invalid input syntax for type date: \"abc\""
    );
    // invalid_datetime_format, as PostgreSQL's date_in.
    assert_eq!(parse_date("abc").unwrap_err().sqlstate(), "22007");
    assert_eq!(parse_date("").unwrap_err().sqlstate(), "22007");
    assert_eq!(
        parse_timestamp("yesterdayish").unwrap_err().sqlstate(),
        "22007"
    );
    assert_eq!(
        parse_timestamptz("soon", 0).unwrap_err().sqlstate(),
        "22007"
    );
    assert_eq!(parse_date("2024-00-10").unwrap_err().sqlstate(), "22008");
    assert!(parse_date("0000-01-01").is_err());
    assert_eq!(
        err_text(parse_date("5874898-01-01")),
        "date out of range: \"5874898-01-01\""
    );
    assert!(parse_date("4714-11-23 BC").is_err());
    assert_eq!(parse_date("4714-11-24 BC"), Ok(DATE_MIN));
    assert!(parse_date("2024-01-01 12:00").is_err());
    assert!(parse_date("2024/01/01").is_err());
}

#[test]
fn date_input_forms() {
    assert_eq!(parse_date(" 2024-1-5 "), Ok(days_from_civil(2024, 1, 5)));
    assert_eq!(parse_date("24-01-05"), Ok(days_from_civil(2024, 1, 5)));
    assert_eq!(parse_date("99-01-05"), Ok(days_from_civil(1999, 1, 5)));
    assert_eq!(parse_date("0099-01-05"), Ok(days_from_civil(99, 1, 5)));
    assert_eq!(parse_date("0044-03-15 BC"), Ok(days_from_civil(-43, 3, 15)));
    assert_eq!(parse_date("2024-01-05 ad"), Ok(days_from_civil(2024, 1, 5)));
    assert_eq!(parse_date("Infinity"), Ok(DAYS_POS_INFINITY));
    assert_eq!(parse_date("-infinity"), Ok(DAYS_NEG_INFINITY));
    assert_eq!(parse_date("epoch"), Ok(0));
}

#[test]
fn dates_format_like_postgres() {
    assert_eq!(format_date(0), "1970-01-01");
    assert_eq!(format_date(days_from_civil(-43, 3, 15)), "0044-03-15 BC");
    assert_eq!(format_date(days_from_civil(12_345, 6, 7)), "12345-06-07");
    assert_eq!(format_date(DATE_MIN), "4714-11-24 BC");
    assert_eq!(format_date(DAYS_POS_INFINITY), "infinity");
    assert_eq!(format_date(DAYS_NEG_INFINITY), "-infinity");
}

#[test]
fn timestamps_format_like_postgres() {
    let t = parse_timestamp("2024-01-02 03:04:05.120000").unwrap();
    assert_eq!(format_timestamp(t), "2024-01-02 03:04:05.12");
    assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
    assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
    assert_eq!(format_timestamp(1), "1970-01-01 00:00:00.000001");
    assert_eq!(format_timestamp(TIMESTAMP_MIN), "4714-11-24 00:00:00 BC");
    assert_eq!(
        format_timestamp(TIMESTAMP_END - 1),
        "294246-12-31 23:59:59.999999"
    );
    assert_eq!(format_timestamp(MICROS_POS_INFINITY), "infinity");
}

#[test]
fn timestamp_input_forms() {
    let base = days_from_civil(2024, 1, 2) * DAY_MICROS;
    let hms = base + (3 * 3600 + 4 * 60 + 5) * 1_000_000;
    assert_eq!(parse_timestamp("2024-01-02"), Ok(base));
    assert_eq!(parse_timestamp("2024-01-02 03:04"), Ok(hms - 5_000_000));
    assert_eq!(parse_timestamp("2024-01-02T03:04:05"), Ok(hms));
    assert_eq!(
        parse_timestamp("2024-01-02   03:04:05.5"),
        Ok(hms + 500_000)
    );
    assert_eq!(
        parse_timestamp("2024-01-02 03:04:05.1234565"),
        Ok(hms + 123_457)
    );
    assert_eq!(
        parse_timestamp("2024-01-02 03:04:05.9999999"),
        Ok(hms + 1_000_000)
    );
    assert_eq!(parse_timestamp("2024-01-02 03:04:05+08"), Ok(hms));
    assert_eq!(parse_timestamp("2024-01-01 24:00:00"), Ok(base));
    assert_eq!(parse_timestamp("2024-01-01 23:59:60"), Ok(base));
    assert_eq!(
        parse_timestamp("0044-03-15 12:00:00 BC"),
        Ok(days_from_civil(-43, 3, 15) * DAY_MICROS + 43_200_000_000)
    );
}

#[test]
fn timestamp_errors_follow_postgres() {
    assert_eq!(
        err_text(parse_timestamp("2024-01-01 25:00")),
        "date/time field value out of range: \"2024-01-01 25:00\""
    );
    assert!(parse_timestamp("2024-01-01 24:00:01").is_err());
    assert!(parse_timestamp("2024-01-01 12:60").is_err());
    assert_eq!(
        err_text(parse_timestamp("2024-01-01 12")),
        "invalid input syntax for type timestamp: \"2024-01-01 12\""
    );
    assert_eq!(
        err_text(parse_timestamp("294247-01-01")),
        "timestamp out of range: \"294247-01-01\""
    );
    assert_eq!(
        err_text(parse_timestamptz("x", 0)),
        "invalid input syntax for type timestamp with time zone: \"x\""
    );
    assert!(parse_timestamptz("2024-01-01 00:00+16", 0).is_err());
    assert!(parse_timestamptz("2024-01-01 00:00+0", 0).is_ok());
    assert!(parse_timestamptz("2024-01-01 00:00+123", 0).is_err());
}

#[test]
fn timestamptz_offsets() {
    let utc = days_from_civil(2024, 1, 2) * DAY_MICROS + 3_600_000_000;
    for text in [
        "2024-01-02 09:00:00+08",
        "2024-01-02 09:00+08:00",
        "2024-01-02T01:00:00Z",
        "2024-01-02 01:00:00 UTC",
        "2024-01-01 19:30:00-0530",
        "2024-01-01 19:30:00 -05:30",
        "2024-01-02 01:00:30+00:00:30",
    ] {
        assert_eq!(parse_timestamptz(text, 7200), Ok(utc), "{text}");
    }
    assert_eq!(parse_timestamptz("2024-01-02 03:00:00", 7200), Ok(utc));
    assert_eq!(format_timestamptz(utc, 8 * 3600), "2024-01-02 09:00:00+08");
    assert_eq!(
        format_timestamptz(utc, -(5 * 3600 + 1800)),
        "2024-01-01 19:30:00-05:30"
    );
    assert_eq!(format_timestamptz(utc, 30), "2024-01-02 01:00:30+00:00:30");
    assert_eq!(format_timestamptz(utc, 0), "2024-01-02 01:00:00+00");
    assert_eq!(
        format_timestamptz(TIMESTAMP_MIN, 0),
        "4714-11-24 00:00:00+00 BC"
    );
}
