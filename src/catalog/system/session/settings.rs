//! Checking and normalising a configuration parameter's new value, as
//! PostgreSQL's `SET` and `set_config` do: unknown names (42704), names a
//! session may not change (55P02), values of the wrong type or out of
//! range (22023), and the form `SHOW` prints (`on` for `yes`, `10s` for
//! `10000` milliseconds, `ISO, DMY` for `DMY`, `<+08>-08` for `+8`).

use super::known::{self, Context, Kind};
use crate::sql::error::{SqlError, SqlResult, SqlState};

/// A checked assignment: the session's key (lower-case name) and the value
/// as `SHOW` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assigned {
    /// The lower-case parameter name the session stores it under.
    pub key: String,
    /// The normalised value.
    pub value: String,
}

/// Checks `value` for parameter `name` and normalises it; `current` reads
/// the session's present values (`DateStyle` keeps the part not given).
pub fn assign(
    name: &str,
    value: &str,
    current: &dyn Fn(&str) -> Option<String>,
) -> SqlResult<Assigned> {
    let key = name.to_ascii_lowercase();
    let Some(k) = known::lookup(name) else {
        if key.contains('.') && !key.starts_with('.') && !key.ends_with('.') {
            // A custom (extension) parameter: any text.
            return Ok(Assigned {
                key,
                value: value.to_owned(),
            });
        }
        return Err(unrecognized(name));
    };
    let cannot = |why: &str| {
        Err(SqlError::new(
            SqlState::CantChangeRuntimeParam,
            format!("parameter \"{name}\" cannot be {why}"),
        ))
    };
    match k.context {
        Context::Internal => return cannot("changed"),
        Context::Postmaster => return cannot("changed without restarting the server"),
        Context::Sighup => return cannot("changed now"),
        Context::Backend => return cannot("set after connection start"),
        Context::Session => {}
    }
    let invalid = || {
        SqlError::new(
            SqlState::InvalidParameterValue,
            format!("invalid value for parameter \"{name}\": \"{value}\""),
        )
    };
    let value = match k.kind {
        Kind::Bool => match parse_bool(value) {
            Some(b) => on_off(b),
            None => {
                return Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    format!("parameter \"{name}\" requires a Boolean value"),
                ));
            }
        },
        Kind::Enum => {
            let found = k
                .values
                .split(',')
                .find(|v| v.eq_ignore_ascii_case(value.trim()));
            match (found, parse_bool(value)) {
                (Some(v), _) => v.to_owned(),
                // Boolean spellings PostgreSQL accepts but does not list.
                (None, Some(b)) if k.values.split(',').any(|v| v == "on") => on_off(b),
                _ => {
                    let mut e = invalid();
                    e.hint = Some(format!(
                        "Available values: {}.",
                        k.values.replace(',', ", ")
                    ));
                    return Err(e);
                }
            }
        }
        Kind::Integer | Kind::Real => number(name, value, k)?,
        Kind::String => match key.as_str() {
            "timezone" => timezone(value)?,
            "datestyle" => datestyle(value, current("datestyle").as_deref())?,
            "client_encoding" => {
                let v = value.to_ascii_lowercase().replace(['-', '_'], "");
                if !matches!(v.as_str(), "utf8" | "unicode") {
                    return Err(invalid());
                }
                "UTF8".to_owned()
            }
            _ => value.to_owned(),
        },
    };
    Ok(Assigned { key, value })
}

/// 42704 for a parameter PostgreSQL does not have.
pub fn unrecognized(name: &str) -> SqlError {
    SqlError::new(
        SqlState::UndefinedObject,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

fn on_off(b: bool) -> String {
    if b { "on" } else { "off" }.to_owned()
}

/// PostgreSQL's `parse_bool`: `true`/`false`, `yes`/`no` and their
/// prefixes, `on`/`off` (at least `of`), `1`/`0`, any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    let v = s.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || v == "on" || v == "1" {
        Some(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || v == "0" {
        Some(false)
    } else {
        None
    }
}

/// Memory units (bytes) and time units (milliseconds), largest first.
const MEMORY_UNITS: &[(&str, f64)] = &[
    ("TB", 1_099_511_627_776.0),
    ("GB", 1_073_741_824.0),
    ("MB", 1_048_576.0),
    ("kB", 1024.0),
    ("B", 1.0),
];
const TIME_UNITS: &[(&str, f64)] = &[
    ("d", 86_400_000.0),
    ("h", 3_600_000.0),
    ("min", 60_000.0),
    ("s", 1000.0),
    ("ms", 1.0),
    ("us", 0.001),
];

/// The unit table of base unit `unit` and the base unit's size in it.
fn unit_table(unit: &str) -> Option<(&'static [(&'static str, f64)], f64)> {
    match unit {
        "B" => Some((MEMORY_UNITS, 1.0)),
        "kB" => Some((MEMORY_UNITS, 1024.0)),
        "8kB" => Some((MEMORY_UNITS, 8192.0)),
        "MB" => Some((MEMORY_UNITS, 1_048_576.0)),
        "ms" => Some((TIME_UNITS, 1.0)),
        "s" => Some((TIME_UNITS, 1000.0)),
        "min" => Some((TIME_UNITS, 60_000.0)),
        _ => None,
    }
}

/// An integer or real parameter: parses the number and its unit, checks
/// the range, and prints it in the largest unit that keeps it whole.
fn number(name: &str, value: &str, k: &known::Known) -> SqlResult<String> {
    let invalid = || {
        SqlError::new(
            SqlState::InvalidParameterValue,
            format!("invalid value for parameter \"{name}\": \"{value}\""),
        )
    };
    let v = value.trim();
    let split = v
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+') && (i == 0 || v[..i].ends_with(['e', 'E'])))
                || ((c == 'e' || c == 'E') && i > 0))
        })
        .map_or(v.len(), |(i, _)| i);
    let (num, unit) = (&v[..split], v[split..].trim());
    let mut n: f64 = if let Some(hex) = num.strip_prefix("0x").filter(|_| unit.is_empty()) {
        i64::from_str_radix(hex, 16).map_err(|_| invalid())? as f64
    } else {
        num.parse().map_err(|_| invalid())?
    };
    if !n.is_finite() {
        return Err(invalid());
    }
    let table = unit_table(k.unit);
    if !unit.is_empty() {
        let Some((units, base)) = table else {
            return Err(invalid());
        };
        let Some((_, size)) = units.iter().find(|(u, _)| *u == unit) else {
            let mut e = invalid();
            e.hint = Some(format!(
                "Valid units for this parameter are {}.",
                units
                    .iter()
                    .filter(|(_, s)| *s >= base.min(1.0))
                    .map(|(u, _)| format!("\"{u}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return Err(e);
        };
        n = n * size / base;
    }
    if k.kind == Kind::Integer {
        n = n.round();
    }
    let min: f64 = k.min.parse().unwrap_or(f64::MIN);
    let max: f64 = k.max.parse().unwrap_or(f64::MAX);
    if n < min || n > max {
        return Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!(
                "{} is outside the valid range for parameter \"{name}\" ({} .. {})",
                show_number(n),
                k.min,
                k.max
            ),
        ));
    }
    Ok(match table {
        Some((units, base)) if n > 0.0 => {
            let total = n * base;
            units
                .iter()
                .filter(|(_, s)| *s >= base.min(1.0))
                .find(|(_, s)| (total / s).fract() == 0.0)
                .map_or_else(
                    || show_number(n),
                    |(u, s)| format!("{}{u}", show_number(total / s)),
                )
        }
        _ => show_number(n),
    })
}

/// A number as PostgreSQL's `%g` prints the common cases.
fn show_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `DateStyle`: an output style and a field order, each taken from the
/// current value when not given. Styles other than ISO are refused (0A000):
/// audb prints dates in ISO only.
fn datestyle(value: &str, current: Option<&str>) -> SqlResult<String> {
    let conflict = || {
        let mut e = SqlError::new(
            SqlState::InvalidParameterValue,
            format!("invalid value for parameter \"DateStyle\": \"{value}\""),
        );
        e.detail = Some("Conflicting \"datestyle\" specifications.".into());
        e
    };
    let (mut style, mut order): (Option<&str>, Option<&str>) = (None, None);
    for word in value
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let (is_style, v) = match word.to_ascii_lowercase().as_str() {
            "iso" => (true, "ISO"),
            "sql" => (true, "SQL"),
            "postgres" => (true, "Postgres"),
            "german" => (true, "German"),
            "ymd" => (false, "YMD"),
            "dmy" | "euro" | "european" => (false, "DMY"),
            "mdy" | "us" | "noneuro" | "noneuropean" => (false, "MDY"),
            "default" => {
                style = style.or(Some("ISO"));
                order = order.or(Some("MDY"));
                continue;
            }
            _ => {
                let mut e = SqlError::new(
                    SqlState::InvalidParameterValue,
                    format!("invalid value for parameter \"DateStyle\": \"{value}\""),
                );
                e.detail = Some(format!("Unrecognized key word: \"{word}\"."));
                return Err(e);
            }
        };
        let slot = if is_style { &mut style } else { &mut order };
        if slot.is_some_and(|s| s != v) {
            return Err(conflict());
        }
        *slot = Some(v);
    }
    let (cur_style, cur_order) = current
        .and_then(|c| c.split_once(','))
        .map_or(("ISO", "MDY"), |(s, o)| (s.trim(), o.trim()));
    let order = match (style, order) {
        (_, Some(o)) => o,
        (Some("German"), None) => "DMY",
        (_, None) => cur_order,
    };
    let style = style.unwrap_or(cur_style);
    if style != "ISO" {
        return Err(SqlError::unsupported(format!(
            "DateStyle \"{style}, {order}\" (audb prints dates in ISO only)"
        )));
    }
    Ok(format!("{style}, {order}"))
}

/// `TimeZone` (PostgreSQL's `check_timezone`, see
/// [`TimeZone::from_setting`]): the name `SHOW` prints, `<+08>-08` for `8`,
/// `Asia/Shanghai` for `asia/shanghai`, `UTC+8` for `utc+8`; 22023 for
/// anything that names no zone.
fn timezone(value: &str) -> SqlResult<String> {
    use crate::sql::timezone::{SettingError, TimeZone};
    match TimeZone::from_setting(value) {
        Ok((_, name)) => Ok(name),
        Err(SettingError::LeapSeconds) => Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!("time zone \"{value}\" appears to use leap seconds"),
        )
        .with_detail("PostgreSQL does not support leap seconds.")),
        Err(e) => {
            let err = SqlError::new(
                SqlState::InvalidParameterValue,
                format!("invalid value for parameter \"TimeZone\": \"{value}\""),
            );
            Err(match e.detail() {
                Some(d) => err.with_detail(d),
                None => err,
            })
        }
    }
}

/// A time setting as `SHOW` prints it (`1500ms`, `10s`, `2min`, `1h`,
/// `-1`; a bare number is milliseconds) in milliseconds.
pub fn setting_millis(value: &str) -> Option<i64> {
    let v = value.trim();
    let split = v
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(v.len(), |(i, _)| i);
    let n: i64 = v[..split].parse().ok()?;
    let unit = TIME_UNITS
        .iter()
        .find(|(u, _)| *u == v[split..].trim())
        .map_or(1.0, |(_, size)| *size);
    if !v[split..].trim().is_empty() && unit == 1.0 && v[split..].trim() != "ms" {
        return None;
    }
    Some((n as f64 * unit) as i64)
}

/// The offset east of UTC of PostgreSQL's fixed-offset zone form
/// `<+08>-08` (the abbreviation in angle brackets, then the POSIX offset,
/// which counts west), or `None` for anything else.
pub fn bracketed_offset(tz: &str) -> Option<i32> {
    let rest = tz.strip_prefix('<')?;
    let (_, posix) = rest.split_once('>')?;
    let (sign, digits) = match posix.as_bytes().first()? {
        b'+' => (-1, &posix[1..]),
        b'-' => (1, &posix[1..]),
        _ => (-1, posix),
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None => (digits.parse::<i32>().ok()?, 0),
    };
    (h < 168 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, value: &str) -> Result<String, String> {
        assign(name, value, &|_| None)
            .map(|a| a.value)
            .map_err(|e| format!("{}: {}", e.state.code(), e.message))
    }

    #[test]
    fn values_print_as_show_does() {
        assert_eq!(set("jit", "no"), Ok("off".into()));
        assert_eq!(set("enable_seqscan", "TRUE"), Ok("on".into()));
        assert_eq!(set("statement_timeout", "10000"), Ok("10s".into()));
        assert_eq!(set("statement_timeout", "1500"), Ok("1500ms".into()));
        assert_eq!(set("statement_timeout", "1.5s"), Ok("1500ms".into()));
        assert_eq!(set("statement_timeout", "2min"), Ok("2min".into()));
        assert_eq!(set("statement_timeout", "0"), Ok("0".into()));
        assert_eq!(set("work_mem", "4096"), Ok("4MB".into()));
        assert_eq!(set("log_min_duration_statement", "-1"), Ok("-1".into()));
        assert_eq!(set("client_min_messages", "WARNING"), Ok("warning".into()));
        assert_eq!(set("DateStyle", "DMY"), Ok("ISO, DMY".into()));
        assert_eq!(set("TimeZone", "+8"), Ok("<+08>-08".into()));
        assert_eq!(set("TimeZone", "5.5"), Ok("<+05:30>-05:30".into()));
        assert_eq!(set("timezone", "asia/shanghai"), Ok("Asia/Shanghai".into()));
        assert_eq!(set("client_encoding", "utf8"), Ok("UTF8".into()));
        assert_eq!(set("my.custom", "anything"), Ok("anything".into()));
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        let code = |r: Result<String, String>| r.err().map(|e| e[..5].to_owned());
        assert_eq!(code(set("foo", "1")), Some("42704".into()));
        assert_eq!(code(set("server_version", "1")), Some("55P02".into()));
        assert_eq!(code(set("max_connections", "1")), Some("55P02".into()));
        assert_eq!(code(set("extra_float_digits", "30")), Some("22023".into()));
        assert_eq!(code(set("statement_timeout", "abc")), Some("22023".into()));
        assert_eq!(
            code(set("statement_timeout", "5 parsecs")),
            Some("22023".into())
        );
        assert_eq!(code(set("jit", "maybe")), Some("22023".into()));
        assert_eq!(code(set("DateStyle", "xyz")), Some("22023".into()));
        assert_eq!(code(set("DateStyle", "iso, sql")), Some("22023".into()));
        assert_eq!(code(set("TimeZone", "z")), Some("22023".into()));
        assert_eq!(
            code(set("client_min_messages", "loud")),
            Some("22023".into())
        );
    }

    #[test]
    fn bracketed_offsets() {
        assert_eq!(bracketed_offset("<+08>-08"), Some(8 * 3600));
        assert_eq!(bracketed_offset("<-07>+07"), Some(-7 * 3600));
        assert_eq!(bracketed_offset("<+05:30>-05:30"), Some(5 * 3600 + 1800));
        assert_eq!(bracketed_offset("UTC"), None);
        assert_eq!(setting_millis("1500ms"), Some(1500));
        assert_eq!(setting_millis("1h"), Some(3_600_000));
        assert_eq!(setting_millis("-1"), Some(-1));
        assert_eq!(setting_millis("5 parsecs"), None);
    }
}
