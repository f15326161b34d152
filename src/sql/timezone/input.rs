//! Zone names written inside date/time input: `'2024-03-10 12:00
//! America/New_York'`, `'… EST'`, `'…Z'`, `'… utc+3'`. The words are found
//! as PostgreSQL 15's `ParseDateTime` splits its fields and resolved as its
//! `DecodeDateTime` does:
//! - a word of letters only is an abbreviation of the `Default` set
//!   (`EST`, `CEST`, `Z`), else one of the parser's own keywords (left in
//!   the text, except the filler words `at` and `on`, which are dropped),
//!   else a zone of the database (`Japan`); anything else is 22007;
//! - a word that goes on with `/`, `-`, `.`, or (when it is no keyword) a
//!   digit or `+` (`America/New_York`, `Etc/GMT+8`, `EST5EDT`, `utc+3`) is
//!   a zone name or POSIX spec once a date was written; anything else is
//!   22023 `time zone "…" not recognized`, named in lower case.
//!
//! Numeric offsets (`+05:30`) stay in the text for the ISO parser.

use super::TimeZone;
use std::borrow::Cow;

/// Why the zone words of an input were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneInputError {
    /// Not a zone, or two zones (22007, invalid input syntax for the type).
    BadFormat,
    /// A punctuated name that is no zone (22023 `time zone "…" not
    /// recognized`); the name in lower case.
    NotRecognized(String),
}

/// The keywords of PostgreSQL 15's `datetktbl` (lower case, sorted): a
/// word among them is never a zone, except that the abbreviations take
/// precedence.
const KEYWORDS: &[&str] = &[
    "ad",
    "allballs",
    "am",
    "apr",
    "april",
    "at",
    "aug",
    "august",
    "bc",
    "d",
    "dec",
    "december",
    "dow",
    "doy",
    "dst",
    "epoch",
    "feb",
    "february",
    "fri",
    "friday",
    "h",
    "infinity",
    "isodow",
    "isoyear",
    "j",
    "jan",
    "january",
    "jd",
    "jul",
    "julian",
    "july",
    "jun",
    "june",
    "m",
    "mar",
    "march",
    "may",
    "mm",
    "mon",
    "monday",
    "nov",
    "november",
    "now",
    "oct",
    "october",
    "on",
    "pm",
    "s",
    "sat",
    "saturday",
    "sep",
    "sept",
    "september",
    "sun",
    "sunday",
    "t",
    "thu",
    "thur",
    "thurs",
    "thursday",
    "today",
    "tomorrow",
    "tue",
    "tues",
    "tuesday",
    "wed",
    "wednesday",
    "weds",
    "y",
    "yesterday",
];

fn is_keyword(word: &str) -> bool {
    KEYWORDS.binary_search(&word).is_ok()
}

/// Characters that continue a punctuated zone word (`ParseDateTime`).
fn continues_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'/' | b'_' | b'.' | b':')
}

/// Splits the zone word out of date/time input: the text without it (a
/// space in its place) and the zone it names, `None` if it names none.
/// Text without letters is returned as it is, without scanning further.
pub fn split_zone(text: &str) -> Result<(Cow<'_, str>, Option<TimeZone>), ZoneInputError> {
    let b = text.as_bytes();
    if !b.iter().any(u8::is_ascii_alphabetic) {
        return Ok((Cow::Borrowed(text), None));
    }
    let mut rest = String::new();
    let mut copied = 0;
    let mut zone = None;
    let mut seen_digit = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !c.is_ascii_alphabetic() {
            seen_digit |= c.is_ascii_digit();
            i += 1;
            continue;
        }
        let start = i;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_alphabetic() {
            end += 1;
        }
        let word = text[start..end].to_ascii_lowercase();
        let punctuated = match b.get(end) {
            Some(b'-' | b'/' | b'.') => true,
            Some(&d) if d == b'+' || d.is_ascii_digit() => !is_keyword(&word),
            _ => false,
        };
        let found = if punctuated {
            end += 1;
            while end < b.len() && continues_name(b[end]) {
                end += 1;
            }
            if !seen_digit {
                // Before the date this is no zone: left for the parser.
                None
            } else {
                let name = text[start..end].to_ascii_lowercase();
                match TimeZone::from_name(&name) {
                    Some((tz, _)) => Some(Some(tz)),
                    None => return Err(ZoneInputError::NotRecognized(name)),
                }
            }
        } else if is_keyword(&word) {
            // No keyword is an abbreviation (PostgreSQL tries those first),
            // so the ISO `T` costs no lookup.
            (word == "at" || word == "on").then_some(None)
        } else if let Some(tz) = TimeZone::abbreviation(&word) {
            Some(Some(tz))
        } else {
            match TimeZone::from_name(&word) {
                Some((tz, _)) => Some(Some(tz)),
                None => return Err(ZoneInputError::BadFormat),
            }
        };
        if let Some(found) = found {
            if let Some(tz) = found {
                if zone.is_some() {
                    return Err(ZoneInputError::BadFormat);
                }
                zone = Some(tz);
            }
            rest.push_str(&text[copied..start]);
            rest.push(' ');
            copied = end;
        }
        i = end;
    }
    if copied == 0 {
        return Ok((Cow::Borrowed(text), zone));
    }
    rest.push_str(&text[copied..]);
    Ok((Cow::Owned(rest), zone))
}

/// Whether ISO date/time text (its zone words split off) ends its time of
/// day with a numeric offset (`12:00+05:30`, `12:00:00 -05`): a sign after
/// the first `:`.
pub fn has_numeric_offset(text: &str) -> bool {
    text.find(':')
        .is_some_and(|colon| text[colon..].bytes().any(|b| b == b'+' || b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(text: &str) -> Option<i32> {
        let (_, tz) = split_zone(text).unwrap();
        tz.map(|tz| tz.offset_for_local(0))
    }

    #[test]
    fn keywords_are_sorted_for_binary_search() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn no_keyword_is_an_abbreviation() {
        for k in KEYWORDS {
            assert_eq!(TimeZone::abbreviation(k), None, "{k}");
        }
    }

    #[test]
    fn abbreviations_names_and_posix_specs() {
        assert_eq!(offset("2024-01-01 00:00 EST"), Some(-5 * 3600));
        assert_eq!(offset("2024-01-01 00:00est"), Some(-5 * 3600));
        assert_eq!(offset("2024-01-01T00:00:00Z"), Some(0));
        assert_eq!(offset("2024-01-01 00:00 zulu"), Some(0));
        assert_eq!(offset("2024-01-01 00:00 Japan"), Some(9 * 3600));
        assert_eq!(offset("2024-01-01 00:00 asia/shanghai"), Some(8 * 3600));
        assert_eq!(offset("2024-01-01 00:00 UTC+3"), Some(-3 * 3600));
        assert_eq!(offset("2024-01-01 00:00 Etc/GMT-14"), Some(14 * 3600));
        assert_eq!(
            offset("2024-01-01 00:00 EST+05:30"),
            Some(-(5 * 3600 + 1800))
        );
        assert_eq!(offset("2024-01-01 00:00 PST8PDT"), Some(-8 * 3600));
        assert_eq!(offset("2024-01-01T00:00:00+05:30"), None);
        assert_eq!(offset("infinity"), None);
    }

    #[test]
    fn the_rest_keeps_everything_else() {
        let (rest, _) = split_zone("2024-01-01 00:00 Europe/London BC").unwrap();
        assert_eq!(rest, "2024-01-01 00:00   BC");
        let (rest, _) = split_zone("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(rest, "2024-01-01T00:00:00 ");
        let (rest, tz) = split_zone("2024-01-01 at 00:00").unwrap();
        assert_eq!((rest.as_ref(), tz), ("2024-01-01   00:00", None));
        assert!(matches!(
            split_zone("2024-01-01 00:00"),
            Ok((Cow::Borrowed(_), None))
        ));
    }

    #[test]
    fn unknown_words_and_names() {
        assert_eq!(
            split_zone("2024-01-01 00:00 foo"),
            Err(ZoneInputError::BadFormat)
        );
        assert_eq!(
            split_zone("2024-01-01 00:00 EST EST"),
            Err(ZoneInputError::BadFormat)
        );
        assert_eq!(
            split_zone("2024-01-01 00:00 Foo/Bar"),
            Err(ZoneInputError::NotRecognized("foo/bar".into()))
        );
    }

    #[test]
    fn numeric_offsets_follow_the_time() {
        assert!(has_numeric_offset("2024-01-01 00:00+05"));
        assert!(has_numeric_offset("2024-01-01T00:00:00 -05:30"));
        assert!(!has_numeric_offset("2024-01-01 00:00"));
        assert!(!has_numeric_offset("2024-01-01"));
    }
}
