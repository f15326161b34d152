//! Parsing PostgreSQL's ISO date and timestamp input.
//!
//! Accepted (surrounding whitespace allowed, words in any case):
//! - dates `Y-M-D` (year of 1+ digits; one- or two-digit years mean
//!   1970–2069 as in PostgreSQL; month and day of 1–2 digits), optionally
//!   followed by `AD` or `BC`;
//! - timestamps: a date, then `T` or spaces and `H:M[:S[.fraction]]` (hour 24
//!   only as `24:00:00`, second 60 rolls over), then an optional zone (`Z`,
//!   `UTC`, `GMT`, `±H`, `±HH`, `±HHMM`, `±HH:MM`, `±HH:MM:SS`), then an
//!   optional `AD`/`BC`; a date alone means midnight;
//! - `infinity`, `+infinity`, `-infinity`, `epoch`.
//!
//! Named time zones (`Europe/Paris`) and other date orders are not accepted.

use super::{
    DATE_MAX, DATE_MIN, DAY_MICROS, DAYS_NEG_INFINITY, DAYS_POS_INFINITY, MICROS_NEG_INFINITY,
    MICROS_POS_INFINITY, TIMESTAMP_END, TIMESTAMP_MIN, days_from_civil, days_in_month,
};
use crate::index::encode::EncodeError;

const DATE: &str = "date";
const TIMESTAMP: &str = "timestamp";
const TIMESTAMPTZ: &str = "timestamp with time zone";

/// The largest UTC offset PostgreSQL accepts, in hours.
const MAX_OFFSET_HOURS: u64 = 15;

/// A byte cursor over the trimmed input.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    /// Consumes `word` (ASCII, any case) if it is next.
    fn eat_word(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        let hit = self
            .bytes
            .get(self.pos..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()));
        if hit {
            self.pos = end;
        }
        hit
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// A run of digits: its value (saturating) and its length.
    fn digits(&mut self) -> Option<(u64, usize)> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            value = value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
            self.pos += 1;
        }
        let len = self.pos - start;
        (len > 0).then_some((value, len))
    }

    fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// The errors of one input, for one type.
struct Input<'a> {
    ty: &'static str,
    text: &'a str,
}

impl Input<'_> {
    fn syntax(&self) -> EncodeError {
        EncodeError::syntax(self.ty, self.text)
    }
    fn field(&self) -> EncodeError {
        EncodeError::field(self.ty, self.text)
    }
    fn range(&self) -> EncodeError {
        EncodeError::range(self.ty, self.text)
    }
}

/// `infinity`, `-infinity`, `epoch`, for the stored values of infinity.
fn special(t: &str, pos_inf: i64, neg_inf: i64) -> Option<i64> {
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        "infinity" | "+infinity" => Some(pos_inf),
        "-infinity" => Some(neg_inf),
        "epoch" => Some(0),
        _ => None,
    }
}

/// A date as written: year digits (value and count), month, day.
struct Ymd {
    year: u64,
    year_len: usize,
    month: u64,
    day: u64,
}

fn parse_ymd(c: &mut Cursor<'_>, input: &Input<'_>) -> Result<Ymd, EncodeError> {
    let (year, year_len) = c.digits().ok_or_else(|| input.syntax())?;
    if !c.eat(b'-') {
        return Err(input.syntax());
    }
    let (month, month_len) = c.digits().ok_or_else(|| input.syntax())?;
    if !c.eat(b'-') {
        return Err(input.syntax());
    }
    let (day, day_len) = c.digits().ok_or_else(|| input.syntax())?;
    if month_len > 2 || day_len > 2 {
        return Err(input.field());
    }
    Ok(Ymd {
        year,
        year_len,
        month,
        day,
    })
}

/// An optional `AD`/`BC`; `true` for BC.
fn parse_era(c: &mut Cursor<'_>) -> bool {
    c.skip_spaces();
    if c.eat_word("BC") {
        true
    } else {
        c.eat_word("AD");
        false
    }
}

/// Validates the fields and returns the day number (not range checked).
fn ymd_days(ymd: &Ymd, bc: bool, input: &Input<'_>) -> Result<i64, EncodeError> {
    if ymd.year == 0 || ymd.year_len > 9 {
        return Err(input.field());
    }
    let written = ymd.year as i64;
    let year = if bc {
        1 - written
    } else if ymd.year_len <= 2 {
        if written < 70 {
            written + 2000
        } else {
            written + 1900
        }
    } else {
        written
    };
    let month = u32::try_from(ymd.month).map_err(|_| input.field())?;
    if !(1..=12).contains(&month) {
        return Err(input.field());
    }
    let day = u32::try_from(ymd.day).map_err(|_| input.field())?;
    if day == 0 || day > days_in_month(year, month) {
        return Err(input.field());
    }
    Ok(days_from_civil(year, month, day))
}

/// Parses a `DATE` into days since 1970-01-01 (see the module documentation
/// for the accepted forms). Errors as PostgreSQL: malformed text is
/// `InvalidSyntax`, an impossible field (`2023-02-29`, month 13) is
/// `FieldOutOfRange`, a date outside 4714-11-24 BC ..= 5874897-12-31 is
/// `OutOfRange`.
pub fn parse_date(text: &str) -> Result<i64, EncodeError> {
    let input = Input { ty: DATE, text };
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if let Some(v) = special(t, DAYS_POS_INFINITY, DAYS_NEG_INFINITY) {
        return Ok(v);
    }
    let mut c = Cursor {
        bytes: t.as_bytes(),
        pos: 0,
    };
    let ymd = parse_ymd(&mut c, &input)?;
    let bc = parse_era(&mut c);
    if !c.at_end() {
        return Err(input.syntax());
    }
    let days = ymd_days(&ymd, bc, &input)?;
    if !(DATE_MIN..=DATE_MAX).contains(&days) {
        return Err(input.range());
    }
    Ok(days)
}

/// `H:M[:S[.fraction]]` as microseconds since midnight (up to 24:00:00, or
/// one second more for a leap second); the fraction rounds half up to
/// microseconds.
fn parse_time(c: &mut Cursor<'_>, input: &Input<'_>) -> Result<i64, EncodeError> {
    let field = |c: &mut Cursor<'_>| match c.digits() {
        Some((v, len)) if len <= 2 => Ok(v),
        Some(_) => Err(input.field()),
        None => Err(input.syntax()),
    };
    let hour = field(c)?;
    if !c.eat(b':') {
        return Err(input.syntax());
    }
    let minute = field(c)?;
    let mut second = 0;
    let mut micros = 0;
    if c.eat(b':') {
        second = field(c)?;
        if c.eat(b'.') {
            let mut scale = 100_000;
            let mut round = false;
            let mut any = false;
            while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                let d = u64::from(b - b'0');
                if scale > 0 {
                    micros += d * scale;
                    scale /= 10;
                } else if !any {
                    round = d >= 5;
                    any = true;
                }
                c.pos += 1;
            }
            micros += u64::from(round);
        }
    }
    let valid = hour < 24 && minute < 60 && second <= 60
        || hour == 24 && minute == 0 && second == 0 && micros == 0;
    if !valid {
        return Err(input.field());
    }
    let total = ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros;
    i64::try_from(total).map_err(|_| input.field())
}

/// An optional zone suffix: its offset east of UTC in seconds.
fn parse_zone(c: &mut Cursor<'_>, input: &Input<'_>) -> Result<Option<i64>, EncodeError> {
    c.skip_spaces();
    if c.eat(b'Z') || c.eat(b'z') || c.eat_word("UTC") || c.eat_word("GMT") {
        return Ok(Some(0));
    }
    let negative = match c.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        _ => return Ok(None),
    };
    c.pos += 1;
    let (first, len) = c.digits().ok_or_else(|| input.syntax())?;
    let (h, m, s) = if c.eat(b':') {
        let (m, m_len) = c.digits().ok_or_else(|| input.syntax())?;
        let s = if c.eat(b':') {
            c.digits().ok_or_else(|| input.syntax())?
        } else {
            (0, 2)
        };
        if len > 2 || m_len != 2 || s.1 != 2 {
            return Err(input.syntax());
        }
        (first, m, s.0)
    } else {
        match len {
            1 | 2 => (first, 0, 0),
            4 => (first / 100, first % 100, 0),
            6 => (first / 10_000, first / 100 % 100, first % 100),
            _ => return Err(input.syntax()),
        }
    };
    if h > MAX_OFFSET_HOURS || m >= 60 || s >= 60 {
        return Err(input.field());
    }
    let secs = (h * 3600 + m * 60 + s) as i64;
    Ok(Some(if negative { -secs } else { secs }))
}

/// A timestamp as local microseconds (i128, not range checked) and its zone.
fn parse_local(
    text: &str,
    input: &Input<'_>,
) -> Result<Result<(i128, Option<i64>), i64>, EncodeError> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if let Some(v) = special(t, MICROS_POS_INFINITY, MICROS_NEG_INFINITY) {
        return Ok(Err(v));
    }
    let mut c = Cursor {
        bytes: t.as_bytes(),
        pos: 0,
    };
    let ymd = parse_ymd(&mut c, input)?;
    let save = c.pos;
    let has_time = c.eat(b'T')
        || c.eat(b't')
        || (c.skip_spaces() && c.peek().is_some_and(|b| b.is_ascii_digit()));
    if !has_time {
        c.pos = save;
    }
    let (time, zone) = if has_time {
        let time = parse_time(&mut c, input)?;
        (time, parse_zone(&mut c, input)?)
    } else {
        (0, None)
    };
    let bc = parse_era(&mut c);
    if !c.at_end() {
        return Err(input.syntax());
    }
    let days = ymd_days(&ymd, bc, input)?;
    let local = i128::from(days) * i128::from(DAY_MICROS) + i128::from(time);
    Ok(Ok((local, zone)))
}

fn in_range(micros: i128, input: &Input<'_>) -> Result<i64, EncodeError> {
    i64::try_from(micros)
        .ok()
        .filter(|m| (TIMESTAMP_MIN..TIMESTAMP_END).contains(m))
        .ok_or_else(|| input.range())
}

/// Parses a `TIMESTAMP` into microseconds since 1970-01-01 00:00:00 (see the
/// module documentation for the accepted forms). A zone suffix is accepted
/// and ignored, as PostgreSQL does for `timestamp without time zone`.
pub fn parse_timestamp(text: &str) -> Result<i64, EncodeError> {
    let input = Input {
        ty: TIMESTAMP,
        text,
    };
    match parse_local(text, &input)? {
        Err(special) => Ok(special),
        Ok((local, _)) => in_range(local, &input),
    }
}

/// Parses a `TIMESTAMPTZ` into microseconds since 1970-01-01 00:00:00 UTC.
/// Text without a zone is local time at `default_offset_secs` (the session's
/// UTC offset, east positive).
pub fn parse_timestamptz(text: &str, default_offset_secs: i32) -> Result<i64, EncodeError> {
    let input = Input {
        ty: TIMESTAMPTZ,
        text,
    };
    match parse_local(text, &input)? {
        Err(special) => Ok(special),
        Ok((local, zone)) => {
            let offset = zone.unwrap_or(i64::from(default_offset_secs));
            in_range(local - i128::from(offset) * 1_000_000, &input)
        }
    }
}
