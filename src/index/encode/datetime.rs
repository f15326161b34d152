//! `DATE` as days and `TIMESTAMP[TZ]` as microseconds since 1970-01-01, in
//! the proleptic Gregorian calendar, with PostgreSQL's ISO text forms.
//!
//! Years are astronomical inside (`0` is 1 BC, `-1` is 2 BC); text uses
//! `AD`/`BC` like PostgreSQL. `infinity` and `-infinity` are stored as
//! `i64::MAX` and `i64::MIN`, so they sort after and before every date.

mod parse;

pub use parse::{parse_date, parse_timestamp, parse_timestamptz};

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// The stored `DATE` / `TIMESTAMP` value of `infinity`.
pub const DAYS_POS_INFINITY: i64 = i64::MAX;
/// The stored `DATE` value of `-infinity`.
pub const DAYS_NEG_INFINITY: i64 = i64::MIN;
/// The stored `TIMESTAMP[TZ]` value of `infinity`.
pub const MICROS_POS_INFINITY: i64 = i64::MAX;
/// The stored `TIMESTAMP[TZ]` value of `-infinity`.
pub const MICROS_NEG_INFINITY: i64 = i64::MIN;

/// The first valid date, 4714-11-24 BC (Julian day 0), as PostgreSQL's.
pub const DATE_MIN: i64 = -2_440_588;
/// The last valid date, 5874897-12-31 AD, as PostgreSQL's.
pub const DATE_MAX: i64 = 2_145_042_905;
/// The first valid timestamp, 4714-11-24 00:00:00 BC, as PostgreSQL's.
pub const TIMESTAMP_MIN: i64 = DATE_MIN * DAY_MICROS;
/// The first timestamp past the valid range: 294247-01-01 00:00:00. (PostgreSQL
/// counts from 2000 and reaches 294276 AD; counting from 1970 in an `i64`
/// ends 30 years earlier.)
pub const TIMESTAMP_END: i64 = 9_223_371_244_800_000_000;

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`
/// (astronomical `year`; `month` 1–12, `day` 1–31, not validated).
///
/// Howard Hinnant's `days_from_civil`, exact over the whole `i64` day range
/// (saturating beyond it).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = i128::from(year) - i128::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i128::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i128::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    i64::try_from(days).unwrap_or(if days < 0 { i64::MIN } else { i64::MAX })
}

/// The proleptic Gregorian date `(year, month, day)` of a day number
/// (astronomical year). Howard Hinnant's `civil_from_days`; total over `i64`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i128::from(month <= 2);
    // |year| <= |days| / 365 + 1, so it always fits.
    (year as i64, month, day)
}

/// Whether `year` (astronomical) is a Gregorian leap year.
pub(crate) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days of `month` (1–12) in `year`.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD` with the era suffix handled by the caller.
fn push_ymd(out: &mut String, days: i64) -> bool {
    let (y, m, d) = civil_from_days(days);
    let bc = y <= 0;
    let year = if bc { 1 - y } else { y };
    out.push_str(&format!("{year:04}-{m:02}-{d:02}"));
    bc
}

/// `HH:MM:SS[.ffffff]`, the fraction without trailing zeros, as PostgreSQL.
fn push_time(out: &mut String, micros_of_day: i64) {
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    out.push_str(&format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ));
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

/// Formats a `DATE` like PostgreSQL (ISO): `2024-01-02`, `0044-03-15 BC`,
/// `infinity`, `-infinity`.
pub fn format_date(days: i64) -> String {
    match days {
        DAYS_POS_INFINITY => "infinity".to_owned(),
        DAYS_NEG_INFINITY => "-infinity".to_owned(),
        _ => {
            let mut out = String::with_capacity(13);
            if push_ymd(&mut out, days) {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// Formats a `TIMESTAMP` like PostgreSQL (ISO): `2024-01-02 03:04:05`,
/// `2024-01-02 03:04:05.12` (fraction trimmed of trailing zeros),
/// `0044-03-15 00:00:00 BC`, `infinity`, `-infinity`.
pub fn format_timestamp(micros: i64) -> String {
    format_local(micros, None)
}

/// Formats a `TIMESTAMPTZ` shown at the UTC offset `offset_secs` (east
/// positive) like PostgreSQL: `2024-01-02 03:04:05+08`, `…+05:30`.
pub fn format_timestamptz(micros: i64, offset_secs: i32) -> String {
    format_local(micros, Some(offset_secs))
}

fn format_local(micros: i64, offset_secs: Option<i32>) -> String {
    match micros {
        MICROS_POS_INFINITY => return "infinity".to_owned(),
        MICROS_NEG_INFINITY => return "-infinity".to_owned(),
        _ => {}
    }
    let offset = offset_secs.unwrap_or(0);
    let local = i128::from(micros) + i128::from(offset) * 1_000_000;
    let day_micros = i128::from(DAY_MICROS);
    // |local / DAY_MICROS| is far inside i64; the remainder is below a day.
    let days = local.div_euclid(day_micros) as i64;
    let time = local.rem_euclid(day_micros) as i64;
    let mut out = String::with_capacity(32);
    let bc = push_ymd(&mut out, days);
    out.push(' ');
    push_time(&mut out, time);
    if offset_secs.is_some() {
        out.push_str(&format_offset(offset));
    }
    if bc {
        out.push_str(" BC");
    }
    out
}

/// A UTC offset as PostgreSQL prints it: `+08`, `-05:30`, `+00:00:30`.
pub fn format_offset(offset_secs: i32) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let a = offset_secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    match (m, s) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

#[cfg(test)]
mod tests;
