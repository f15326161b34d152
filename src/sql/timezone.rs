//! Time zones as PostgreSQL 15 has them: the session's `TimeZone` setting
//! (a zone of the IANA database such as `America/New_York`, DST included,
//! a POSIX spec such as `UTC+8` — which counts hours WEST of Greenwich — or
//! a number of hours east, shown as `<+08>-08`) and the zones `AT TIME
//! ZONE` / `timezone(zone, x)` name (the abbreviations of PostgreSQL's
//! `Default` set first: `'EST'`, `'CEST'`).
//!
//! The IANA database is the system's (`/usr/share/zoneinfo`, which is
//! what Debian's PostgreSQL reads too), with a copy bundled into the
//! binary for machines without the `tzdata` package. Zones without
//! transitions (`UTC`, `Etc/GMT+8`, `<+08>-08`) are kept as a fixed offset,
//! so converting in them never consults the database.

mod abbrevs;
mod input;
#[cfg(test)]
mod tests;

pub use input::{ZoneInputError, has_numeric_offset, split_zone};

use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, Offset};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A time zone: a fixed offset or a zone's rules.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeZone {
    rules: Rules,
}

#[derive(Clone, Debug, PartialEq)]
enum Rules {
    /// Seconds east of UTC.
    Fixed(i32),
    /// A zone with transitions (DST, historical changes).
    Zone(jiff::tz::TimeZone),
}

impl Default for TimeZone {
    fn default() -> TimeZone {
        TimeZone::UTC
    }
}

/// Why a `TimeZone` setting was refused (all 22023 `invalid value for
/// parameter "TimeZone"`, with PostgreSQL's detail where it gives one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingError {
    /// Not a number, interval, zone name or POSIX spec.
    Unknown,
    /// A number of hours or an interval beyond ±167:59:59.
    OutOfRange,
    /// An interval with months (`true`) or days (`false`).
    IntervalUnits(bool),
    /// A zone whose offset in 2000 has seconds (PostgreSQL's "appears to
    /// use leap seconds").
    LeapSeconds,
}

impl SettingError {
    /// PostgreSQL's DETAIL line for this refusal, if it gives one.
    pub fn detail(self) -> Option<&'static str> {
        match self {
            SettingError::OutOfRange => Some("UTC timezone offset is out of range."),
            SettingError::IntervalUnits(true) => {
                Some("Cannot specify months in time zone interval.")
            }
            SettingError::IntervalUnits(false) => {
                Some("Cannot specify days in time zone interval.")
            }
            SettingError::LeapSeconds => Some("PostgreSQL does not support leap seconds."),
            SettingError::Unknown => None,
        }
    }
}

/// Offsets must stay below a week, as PostgreSQL's POSIX parser requires.
const OFFSET_SECS_END: i64 = 168 * 3600;

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone {
        rules: Rules::Fixed(0),
    };

    /// A fixed offset, in seconds east of UTC.
    pub fn fixed(offset_secs: i32) -> TimeZone {
        TimeZone {
            rules: Rules::Fixed(offset_secs),
        }
    }

    /// The offset east of UTC if this zone never changes it.
    pub fn fixed_offset(&self) -> Option<i32> {
        match self.rules {
            Rules::Fixed(o) => Some(o),
            Rules::Zone(_) => None,
        }
    }

    /// The offset (seconds east of UTC) in force at the UTC instant
    /// `utc_micros` (microseconds since 1970).
    pub fn offset_at_utc(&self, utc_micros: i64) -> i32 {
        match &self.rules {
            Rules::Fixed(o) => *o,
            Rules::Zone(tz) => tz.to_offset(jiff_timestamp(utc_micros)).seconds(),
        }
    }

    /// The offset (seconds east of UTC) that the wall-clock time
    /// `local_micros` (microseconds since 1970-01-01 00:00 local) has in
    /// this zone, by PostgreSQL's rule for transitions: a time skipped by
    /// a spring-forward gap takes the offset before the gap (02:30 becomes
    /// 03:30 DST), a time repeated by a fall-back takes the offset after it
    /// (standard time).
    pub fn offset_for_local(&self, local_micros: i64) -> i32 {
        match &self.rules {
            Rules::Fixed(o) => *o,
            Rules::Zone(tz) => {
                let civil = Offset::UTC.to_datetime(jiff_timestamp(local_micros));
                let offset = match tz.to_ambiguous_timestamp(civil).offset() {
                    AmbiguousOffset::Unambiguous { offset } => offset,
                    AmbiguousOffset::Gap { before, .. } => before,
                    AmbiguousOffset::Fold { after, .. } => after,
                };
                offset.seconds()
            }
        }
    }

    /// UTC microseconds to local wall-clock microseconds (`None` on
    /// overflow).
    pub fn utc_to_local(&self, utc_micros: i64) -> Option<i64> {
        utc_micros.checked_add(i64::from(self.offset_at_utc(utc_micros)) * 1_000_000)
    }

    /// Local wall-clock microseconds to UTC microseconds (`None` on
    /// overflow).
    pub fn local_to_utc(&self, local_micros: i64) -> Option<i64> {
        local_micros.checked_sub(i64::from(self.offset_for_local(local_micros)) * 1_000_000)
    }

    /// PostgreSQL's `check_timezone`: a `TimeZone` setting's zone and the
    /// name `SHOW TimeZone` prints. A number is hours EAST (`8`, `-3.5`,
    /// shown `<+08>-08`); `INTERVAL '…'` likewise; anything else is a zone
    /// name ([`TimeZone::from_name`]).
    pub fn from_setting(value: &str) -> Result<(TimeZone, String), SettingError> {
        if value == "UTC" {
            return Ok((TimeZone::UTC, "UTC".to_owned()));
        }
        if value.len() >= 8
            && value.is_char_boundary(8)
            && value[..8].eq_ignore_ascii_case("interval")
        {
            return interval_setting(&value[8..]);
        }
        if let Some(hours) = numeric_hours(value) {
            // PostgreSQL truncates the seconds toward zero.
            let east = (hours * 3600.0) as i64;
            return fixed_named(east);
        }
        let (tz, name) = TimeZone::from_name(value).ok_or(SettingError::Unknown)?;
        // PostgreSQL refuses zones whose local time in 2000 has seconds.
        if tz.offset_at_utc(946_684_800_000_000) % 60 != 0 {
            return Err(SettingError::LeapSeconds);
        }
        Ok((tz, name))
    }

    /// PostgreSQL's `pg_tzset`: a zone of the database, its name matched
    /// without regard to case and returned as the database spells it
    /// (`asia/shanghai` is `Asia/Shanghai`), else a POSIX spec (`UTC+8`,
    /// `-05:30`, `<+08>-08`, `EST5EDT,M3.2.0,M11.1.0`), named in upper case.
    /// POSIX offsets count WEST of Greenwich: `UTC+8` is eight hours behind.
    pub fn from_name(name: &str) -> Option<(TimeZone, String)> {
        if name.is_empty() || name.len() > 255 {
            return None;
        }
        let upper = name.to_ascii_uppercase();
        if upper == "GMT" {
            return Some((TimeZone::UTC, upper));
        }
        if let Ok(tz) = jiff::tz::db().get(name) {
            let canonical = tz.iana_name().unwrap_or(name).to_owned();
            return Some((TimeZone::from_jiff(tz), canonical));
        }
        if upper.starts_with(':') {
            return None;
        }
        let tz = posix(&upper)?;
        Some((tz, upper))
    }

    /// The zone `x AT TIME ZONE name` converts in: an abbreviation of
    /// PostgreSQL's `Default` set (`EST` is always -05, `CEST` +02), else
    /// [`TimeZone::from_name`]. Numbers are POSIX specs here, so `'+8'` is
    /// eight hours west, as in PostgreSQL.
    pub fn for_at_time_zone(name: &str) -> Option<TimeZone> {
        TimeZone::abbreviation(name).or_else(|| TimeZone::from_name(name).map(|(tz, _)| tz))
    }

    /// An abbreviation of PostgreSQL's `Default` set, any case: a fixed
    /// offset (`EST` is -05), or for a "dynamic" one (`MSK`) the zone whose
    /// offset it takes.
    pub fn abbreviation(name: &str) -> Option<TimeZone> {
        static TABLE: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
            abbrevs::DEFAULT
                .lines()
                .filter_map(|line| line.split_once(' '))
                .collect()
        });
        if name.len() > 6 {
            return None;
        }
        let value = TABLE.get(name.to_ascii_uppercase().as_str())?;
        match value.parse::<i32>() {
            Ok(offset) => Some(TimeZone::fixed(offset)),
            Err(_) => TimeZone::from_name(value).map(|(tz, _)| tz),
        }
    }

    fn from_jiff(tz: jiff::tz::TimeZone) -> TimeZone {
        if tz.following(Timestamp::MIN).next().is_none() {
            TimeZone::fixed(tz.to_offset(Timestamp::UNIX_EPOCH).seconds())
        } else {
            TimeZone {
                rules: Rules::Zone(tz),
            }
        }
    }
}

/// `micros` since 1970 as a jiff timestamp, clamped into jiff's range
/// (years -9999..=9999; PostgreSQL's reaches 294276 AD, where the zone's
/// last rule applies anyway).
fn jiff_timestamp(micros: i64) -> Timestamp {
    let m = micros.clamp(
        Timestamp::MIN.as_microsecond(),
        Timestamp::MAX.as_microsecond(),
    );
    Timestamp::from_microsecond(m).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A setting that is a number: hours east (PostgreSQL reads it with
/// `strtod`, so leading spaces and exponents are fine).
fn numeric_hours(value: &str) -> Option<f64> {
    let v = value.trim_start();
    if v.is_empty()
        || v.bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return None;
    }
    v.parse::<f64>().ok()
}

/// `INTERVAL '…' [qualifier]` as a setting (what `SET TIME ZONE INTERVAL
/// '+02:00' HOUR TO MINUTE` arrives as): hours east.
fn interval_setting(rest: &str) -> Result<(TimeZone, String), SettingError> {
    let rest = rest.trim_start();
    let body = rest.strip_prefix('\'').ok_or(SettingError::Unknown)?;
    let (text, _qualifier) = body.split_once('\'').ok_or(SettingError::Unknown)?;
    let iv = crate::sql::scalar::parse_interval(text).map_err(|_| SettingError::Unknown)?;
    if iv.months != 0 {
        return Err(SettingError::IntervalUnits(true));
    }
    if iv.days != 0 {
        return Err(SettingError::IntervalUnits(false));
    }
    fixed_named(iv.micros / 1_000_000)
}

/// PostgreSQL's `pg_tzset_offset`: a fixed zone `east` seconds ahead of
/// UTC, named `<+08>-08` / `<-03:30>+03:30`.
fn fixed_named(east: i64) -> Result<(TimeZone, String), SettingError> {
    if east.abs() >= OFFSET_SECS_END {
        return Err(SettingError::OutOfRange);
    }
    let a = east.abs();
    let mut hms = format!("{:02}", a / 3600);
    if a % 3600 != 0 {
        hms.push_str(&format!(":{:02}", a % 3600 / 60));
        if a % 60 != 0 {
            hms.push_str(&format!(":{:02}", a % 60));
        }
    }
    let name = if east < 0 {
        format!("<-{hms}>+{hms}")
    } else {
        format!("<+{hms}>-{hms}")
    };
    // |east| < 168 h fits an i32.
    Ok((TimeZone::fixed(east as i32), name))
}

/// A POSIX `TZ` spec (upper case), read as PostgreSQL's `tzparse` does:
/// the standard-time abbreviation may be empty (`-05:30`) or any text in
/// angle brackets (`<-03:30>+03:30`), and a DST abbreviation without rules
/// takes the US rules (`FOO+3BAR`).
fn posix(spec: &str) -> Option<TimeZone> {
    // jiff wants abbreviations of three letters or more: the names are
    // never shown, so each one (before the rules) becomes `ABC`.
    let (names, rules) = match spec.find(',') {
        Some(i) => spec.split_at(i),
        None => (spec, ""),
    };
    let mut s = String::with_capacity(spec.len() + 16);
    if !names.starts_with(|c: char| c.is_ascii_alphabetic() || c == '<') {
        s.push_str("ABC");
    }
    let mut rest = names;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let close = rest.find('>')?;
            s.push_str("ABC");
            rest = &rest[close + 1..];
        } else if c.is_ascii_alphabetic() {
            let end = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            s.push_str("ABC");
            rest = &rest[end..];
        } else {
            s.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    s.push_str(rules);
    let tz = jiff::tz::TimeZone::posix(&s)
        .or_else(|_| jiff::tz::TimeZone::posix(&format!("{s},M3.2.0,M11.1.0")))
        .ok()?;
    let zone = TimeZone::from_jiff(tz);
    // PostgreSQL's parser takes offsets up to 167:59:59.
    let probe = zone.offset_at_utc(0);
    (i64::from(probe).abs() < OFFSET_SECS_END).then_some(zone)
}

/// The wall clock as microseconds since 1970 UTC.
pub fn now_micros() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}
