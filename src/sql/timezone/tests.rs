use super::*;

const HOUR: i32 = 3600;

/// Microseconds since 1970 of a UTC (or local) date and time.
fn micros(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
    let days = crate::index::encode::days_from_civil(y, mo, d);
    (days * 86_400 + h * 3600 + mi * 60) * 1_000_000
}

fn setting(v: &str) -> Result<(TimeZone, String), SettingError> {
    TimeZone::from_setting(v)
}

fn shown(v: &str) -> Option<String> {
    setting(v).ok().map(|(_, name)| name)
}

#[test]
fn names_print_as_the_database_spells_them() {
    assert_eq!(shown("asia/shanghai").as_deref(), Some("Asia/Shanghai"));
    assert_eq!(
        shown("america/new_york").as_deref(),
        Some("America/New_York")
    );
    assert_eq!(shown("est5edt").as_deref(), Some("EST5EDT"));
    assert_eq!(shown("zulu").as_deref(), Some("Zulu"));
    assert_eq!(shown("utc").as_deref(), Some("UTC"));
    assert_eq!(shown("gmt").as_deref(), Some("GMT"));
    assert_eq!(shown("Etc/UTC").as_deref(), Some("Etc/UTC"));
    assert_eq!(shown("utc+8").as_deref(), Some("UTC+8"));
    assert_eq!(shown("xy+8").as_deref(), Some("XY+8"));
    assert_eq!(shown("-05:30").as_deref(), Some("-05:30"));
}

#[test]
fn numbers_and_intervals_count_east() {
    let (tz, name) = setting("+8").unwrap();
    assert_eq!(
        (tz.fixed_offset(), name.as_str()),
        (Some(8 * HOUR), "<+08>-08")
    );
    let (tz, name) = setting("-3.5").unwrap();
    assert_eq!(
        (tz.fixed_offset(), name.as_str()),
        (Some(-3 * HOUR - 1800), "<-03:30>+03:30")
    );
    assert_eq!(shown("0").as_deref(), Some("<+00>-00"));
    assert_eq!(shown("167").as_deref(), Some("<+167>-167"));
    assert_eq!(setting("200"), Err(SettingError::OutOfRange));
    assert_eq!(setting("inf"), Err(SettingError::Unknown));
    let (tz, name) = setting("INTERVAL '+02:00' HOUR TO MINUTE").unwrap();
    assert_eq!(
        (tz.fixed_offset(), name.as_str()),
        (Some(2 * HOUR), "<+02>-02")
    );
    assert_eq!(
        setting("interval '1 day'"),
        Err(SettingError::IntervalUnits(false))
    );
}

#[test]
fn posix_specs_count_west() {
    let off = |v: &str| setting(v).unwrap().0.fixed_offset();
    assert_eq!(off("UTC+8"), Some(-8 * HOUR));
    assert_eq!(off("GMT-3"), Some(3 * HOUR));
    assert_eq!(off("-05:30"), Some(5 * HOUR + 1800));
    assert_eq!(off("<+08>-08"), Some(8 * HOUR));
    assert_eq!(off("<-03:30>+03:30"), Some(-3 * HOUR - 1800));
    assert_eq!(off("JST-9"), Some(9 * HOUR));
    assert_eq!(off("UTC+08:30"), Some(-8 * HOUR - 1800));
    assert_eq!(off("UTC"), Some(0));
    assert_eq!(off("Etc/GMT+8"), Some(-8 * HOUR));
    // A DST name without rules takes the US rules.
    let (tz, _) = setting("FOO+3BAR").unwrap();
    assert_eq!(tz.offset_at_utc(micros(2024, 7, 1, 0, 0)), -2 * HOUR);
    assert_eq!(tz.offset_at_utc(micros(2024, 1, 1, 0, 0)), -3 * HOUR);
}

#[test]
fn unknown_zones_are_refused() {
    for v in ["x", "z", "abc", "PST", " UTC", "local", "", ":UTC"] {
        assert_eq!(setting(v), Err(SettingError::Unknown), "{v:?}");
    }
    assert_eq!(setting("UTC+8:30:15"), Err(SettingError::LeapSeconds));
}

#[test]
fn dst_follows_the_instant() {
    let (ny, _) = setting("America/New_York").unwrap();
    assert_eq!(ny.fixed_offset(), None);
    assert_eq!(ny.offset_at_utc(micros(2024, 1, 15, 12, 0)), -5 * HOUR);
    assert_eq!(ny.offset_at_utc(micros(2024, 7, 15, 12, 0)), -4 * HOUR);
    // Spring forward 2024-03-10 07:00 UTC; fall back 2024-11-03 06:00 UTC.
    assert_eq!(ny.offset_at_utc(micros(2024, 3, 10, 6, 59)), -5 * HOUR);
    assert_eq!(ny.offset_at_utc(micros(2024, 3, 10, 7, 0)), -4 * HOUR);
    assert_eq!(ny.offset_at_utc(micros(2024, 11, 3, 5, 59)), -4 * HOUR);
    assert_eq!(ny.offset_at_utc(micros(2024, 11, 3, 6, 0)), -5 * HOUR);
    let (berlin, _) = setting("europe/berlin").unwrap();
    assert_eq!(berlin.offset_at_utc(micros(2024, 3, 31, 1, 0)), 2 * HOUR);
    assert_eq!(berlin.offset_at_utc(micros(2024, 3, 31, 0, 59)), HOUR);
}

#[test]
fn local_times_in_gaps_and_overlaps() {
    let (ny, _) = setting("America/New_York").unwrap();
    // 02:30 does not exist on 2024-03-10: the offset before the gap
    // (PostgreSQL prints 03:30:00-04).
    let gap = micros(2024, 3, 10, 2, 30);
    assert_eq!(ny.offset_for_local(gap), -5 * HOUR);
    assert_eq!(ny.local_to_utc(gap), Some(micros(2024, 3, 10, 7, 30)));
    // 01:30 happens twice on 2024-11-03: the offset after (standard time).
    let fold = micros(2024, 11, 3, 1, 30);
    assert_eq!(ny.offset_for_local(fold), -5 * HOUR);
    assert_eq!(ny.local_to_utc(fold), Some(micros(2024, 11, 3, 6, 30)));
    assert_eq!(ny.offset_for_local(micros(2024, 11, 3, 0, 30)), -4 * HOUR);
    let utc = micros(2024, 7, 1, 12, 0);
    assert_eq!(ny.utc_to_local(utc), Some(micros(2024, 7, 1, 8, 0)));
    // Far outside the database's years the last rule applies.
    assert_eq!(ny.offset_at_utc(i64::MAX / 2), -5 * HOUR);
}

#[test]
fn at_time_zone_reads_abbreviations_first() {
    let off = |v: &str| TimeZone::for_at_time_zone(v).and_then(|tz| tz.fixed_offset());
    assert_eq!(off("EST"), Some(-5 * HOUR));
    assert_eq!(off("pst"), Some(-8 * HOUR));
    assert_eq!(off("CEST"), Some(2 * HOUR));
    assert_eq!(off("z"), Some(0));
    // Numbers are POSIX specs here: west.
    assert_eq!(off("+8"), Some(-8 * HOUR));
    assert_eq!(off("UTC+8"), Some(-8 * HOUR));
    assert!(TimeZone::for_at_time_zone("America/Denver").is_some());
    assert!(TimeZone::for_at_time_zone("MSK").is_some());
    assert_eq!(TimeZone::for_at_time_zone("nowhere"), None);
}
