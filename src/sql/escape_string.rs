//! Escape strings (`E'…'`) whose escapes produce bytes, decoded like
//! PostgreSQL's lexer where sqlparser's tokenizer gives up.
//!
//! sqlparser refuses any `\xhh` or octal escape above 127 (and a NUL) with
//! "Unterminated encoded string literal", even when the bytes form valid
//! UTF-8 (`E'\xc3\xa9'` is `é`). At the literal it stopped at, this module
//! decodes the string with PostgreSQL's rules: invalid UTF-8 or a NUL byte
//! is 22021 (`invalid byte sequence for encoding "UTF8": 0xc3 0x28`), a bad
//! Unicode escape is 42601 or 22025 as in PostgreSQL, and a valid string is
//! rewritten as an ordinary literal so the statement can be parsed again.

use super::error::{SqlError, SqlState};

/// What to do about a tokenizer error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fix {
    /// Parse this text instead (the escape string became a plain literal).
    Reparse(String),
    /// The escape string is invalid, with PostgreSQL's error.
    Invalid(SqlError),
}

/// Looks at the escape string a tokenizer error `message` (ending in `at
/// Line: l, Column: c`) points at in `sql`; `None` if it is not about one.
pub(crate) fn fix(sql: &str, message: &str) -> Option<Fix> {
    if !message.contains("Unterminated encoded string literal") {
        return None;
    }
    let start = offset_of(sql, location(message)?)?;
    let rest = sql.get(start..)?;
    let body = rest
        .strip_prefix("E'")
        .or_else(|| rest.strip_prefix("e'"))?;
    let (bytes, len) = match decode(body)? {
        Ok(decoded) => decoded,
        Err(e) => return Some(Fix::Invalid(e)),
    };
    let text = match valid_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => return Some(Fix::Invalid(e)),
    };
    let end = start + 2 + len;
    let mut out = String::with_capacity(sql.len() + 2);
    out.push_str(&sql[..start]);
    out.push('\'');
    out.push_str(&text.replace('\'', "''"));
    out.push('\'');
    out.push_str(&sql[end..]);
    Some(Fix::Reparse(out))
}

/// `(line, column)` of `… at Line: l, Column: c`.
fn location(message: &str) -> Option<(u64, u64)> {
    let at = message.rfind(" at Line: ")?;
    let (line, column) = message[at + " at Line: ".len()..].split_once(", Column: ")?;
    Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
}

/// The byte offset of a 1-based `(line, column)` counted in characters, as
/// sqlparser's tokenizer counts.
fn offset_of(sql: &str, (line, column): (u64, u64)) -> Option<usize> {
    let (mut l, mut c) = (1, 1);
    for (i, ch) in sql.char_indices() {
        if (l, c) == (line, column) {
            return Some(i);
        }
        if ch == '\n' {
            l += 1;
            c = 1;
        } else {
            c += 1;
        }
    }
    None
}

/// Decodes the body of an escape string (after `E'`) up to its closing
/// quote: the bytes and the length of the body including the quote.
/// `None` if it is unterminated.
fn decode(body: &str) -> Option<Result<(Vec<u8>, usize), SqlError>> {
    let b = body.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\'' => return Some(Ok((out, i + 1))),
            b'\\' => {
                let &c = b.get(i + 1)?;
                i += 2;
                match c {
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'x' if b.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                        let n = digits(&b[i..], 2, 16);
                        out.push(number(&b[i..i + n], 16) as u8);
                        i += n;
                    }
                    b'0'..=b'7' => {
                        let n = 1 + digits(&b[i..], 2, 8);
                        // Octal above \377 wraps to a byte, as PostgreSQL.
                        out.push(number(&b[i - 1..i - 1 + n], 8) as u8);
                        i += n - 1;
                    }
                    b'u' | b'U' => {
                        let want = if c == b'u' { 4 } else { 8 };
                        match unicode(b, &mut i, want) {
                            Ok(ch) => out.extend(ch.encode_utf8(&mut [0; 4]).as_bytes()),
                            Err(e) => return Some(Err(e)),
                        }
                    }
                    _ => {
                        // Any other escaped character stands for itself
                        // (a multi-byte character keeps its later bytes).
                        out.push(c);
                    }
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    None
}

/// How many of the first `max` bytes of `b` are digits of `radix`.
fn digits(b: &[u8], max: usize, radix: u32) -> usize {
    b.iter()
        .take(max)
        .take_while(|c| char::from(**c).is_digit(radix))
        .count()
}

/// The value of ASCII digits (at most 8, so it fits).
fn number(b: &[u8], radix: u32) -> u32 {
    b.iter().fold(0, |n, c| {
        n * radix + char::from(*c).to_digit(radix).unwrap_or(0)
    })
}

/// A `\u` / `\U` escape whose `want` hex digits start at `b[*i]`,
/// combining a UTF-16 surrogate pair like PostgreSQL.
fn unicode(b: &[u8], i: &mut usize, want: usize) -> Result<char, SqlError> {
    let code = hex_exactly(b, i, want)?;
    let code = if (0xD800..0xDC00).contains(&code) {
        // A high surrogate must be followed by `\uXXXX` with the low one.
        let low = match b.get(*i..*i + 2) {
            Some(br"\u") => {
                *i += 2;
                hex_exactly(b, i, 4)?
            }
            Some(br"\U") => {
                *i += 2;
                hex_exactly(b, i, 8)?
            }
            _ => return Err(surrogate_error()),
        };
        if !(0xDC00..0xE000).contains(&low) {
            return Err(surrogate_error());
        }
        0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
    } else if (0xDC00..0xE000).contains(&code) {
        return Err(surrogate_error());
    } else {
        code
    };
    match char::from_u32(code) {
        Some(c) if code != 0 => Ok(c),
        _ => Err(SqlError::syntax("invalid Unicode escape value")),
    }
}

/// Exactly `want` hex digits at `b[*i]` (22025 otherwise, as PostgreSQL).
fn hex_exactly(b: &[u8], i: &mut usize, want: usize) -> Result<u32, SqlError> {
    if digits(&b[(*i).min(b.len())..], want, 16) < want {
        return Err(
            SqlError::new(SqlState::InvalidEscapeSequence, "invalid Unicode escape")
                .with_hint("Unicode escapes must be \\uXXXX or \\UXXXXXXXX."),
        );
    }
    let v = number(&b[*i..*i + want], 16);
    *i += want;
    Ok(v)
}

fn surrogate_error() -> SqlError {
    SqlError::syntax("invalid Unicode surrogate pair")
}

/// The bytes as text, or PostgreSQL's 22021 naming the first invalid
/// character's bytes (a NUL byte is invalid in text).
fn valid_utf8(bytes: &[u8]) -> Result<String, SqlError> {
    let bad = match std::str::from_utf8(bytes) {
        Ok(s) => s.find('\0'),
        Err(e) => Some(
            bytes[..e.valid_up_to()]
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(e.valid_up_to()),
        ),
    };
    let Some(at) = bad else {
        return Ok(String::from_utf8_lossy(bytes).into_owned());
    };
    // As PostgreSQL's report_invalid_encoding: as many bytes as the first
    // one announces, at most what is left.
    let want = match bytes[at] {
        b if b & 0xE0 == 0xC0 => 2,
        b if b & 0xF0 == 0xE0 => 3,
        b if b & 0xF8 == 0xF0 => 4,
        _ => 1,
    };
    let shown: Vec<String> = bytes[at..]
        .iter()
        .take(want)
        .map(|b| format!("0x{b:02x}"))
        .collect();
    Err(SqlError::new(
        SqlState::CharacterNotInRepertoire,
        format!(
            "invalid byte sequence for encoding \"UTF8\": {}",
            shown.join(" ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What PostgreSQL 15 answers for `SELECT <literal>` (verified).
    fn answer(literal: &str) -> Result<String, (&'static str, String)> {
        let sql = format!("SELECT {literal}");
        match crate::sql::parse(&sql) {
            Ok(stmts) => Ok(stmts[0].to_string()),
            Err(e) => Err((e.state.code(), e.message)),
        }
    }

    #[test]
    fn invalid_bytes_are_22021_with_postgres_message() {
        for (lit, bytes) in [
            (r"E'\xff'", "0xff"),
            (r"E'\xc3\x28'", "0xc3 0x28"),
            (r"E'a\xe2\x82'", "0xe2 0x82"),
            (r"E'\0'", "0x00"),
            (r"E'\777'", "0xff"),
            (r"e'ok\xf0\x9f\x98'", "0xf0 0x9f 0x98"),
        ] {
            assert_eq!(
                answer(lit),
                Err((
                    "22021",
                    format!("invalid byte sequence for encoding \"UTF8\": {bytes}")
                )),
                "{lit}"
            );
        }
    }

    #[test]
    fn valid_byte_escapes_become_text() {
        assert_eq!(answer(r"E'\xc3\xa9'"), Ok("SELECT 'é'".into()));
        assert_eq!(
            answer(r"E'\xc3\xa9 it''s \n' || E'\303\251'"),
            Ok("SELECT 'é it''s \n' || 'é'".into())
        );
        assert_eq!(answer(r"E'\x'"), Ok("SELECT E'x'".into()));
    }

    #[test]
    fn bad_unicode_escapes_follow_postgres() {
        assert_eq!(answer(r"E'\xff\u0000'").map_err(|e| e.0), Err("42601"));
        assert_eq!(answer(r"E'\xff\uD800'").map_err(|e| e.0), Err("42601"));
        assert_eq!(answer(r"E'\xff\u12'").map_err(|e| e.0), Err("22025"));
        assert_eq!(
            answer(r"E'\xc3\xa9\uD83D\uDE00'"),
            Ok("SELECT 'é😀'".into())
        );
    }

    #[test]
    fn unrelated_tokenizer_errors_are_left_alone() {
        assert_eq!(
            fix(
                "SELECT 'x",
                "Unterminated string literal at Line: 1, Column: 8"
            ),
            None
        );
        assert_eq!(
            fix(
                "SELECT E'\\xff",
                "Unterminated encoded string literal at Line: 1, Column: 8"
            ),
            None
        );
    }
}
