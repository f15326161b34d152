//! A small, strict JSON parser for JSON-lines input: one object per line.
//!
//! Hand-written (about 200 lines) rather than a new dependency: `load` needs
//! only objects of scalars and arrays, and numbers are kept as their text so
//! that `NUMERIC` values are parsed exactly, never through an `f64`.

/// A JSON value; numbers keep their text.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, fields in input order.
    Object(Vec<(String, Json)>),
}

/// Deepest nesting accepted (a bound on recursion).
const DEPTH_MAX: usize = 64;

/// Parses a line holding one JSON object (surrounding blanks allowed).
pub fn parse_object(line: &str) -> Result<Vec<(String, Json)>, String> {
    let mut p = Parser {
        s: line.as_bytes(),
        at: 0,
    };
    p.blank();
    if p.peek() != Some(b'{') {
        return Err("expected a JSON object ('{') at the start of the line".into());
    }
    let Json::Object(fields) = p.value(0)? else {
        return Err("expected a JSON object".into());
    };
    p.blank();
    if p.at != p.s.len() {
        return Err(format!(
            "unexpected text after the object at column {}",
            p.at + 1
        ));
    }
    Ok(fields)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at column {}", self.at + 1))
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.at += 1;
            Ok(())
        } else {
            self.err(&format!("expected '{}'", b as char))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > DEPTH_MAX {
            return self.err("nesting too deep");
        }
        self.blank();
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                self.blank();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.blank();
                    let key = self.string()?;
                    self.blank();
                    self.expect(b':')?;
                    let v = self.value(depth + 1)?;
                    fields.push((key, v));
                    self.blank();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(fields));
                        }
                        _ => return self.err("expected ',' or '}'"),
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.blank();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.blank();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return self.err("expected ',' or ']'"),
                    }
                }
            }
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err("expected a JSON value"),
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.at..].starts_with(w.as_bytes()) {
            self.at += w.len();
            Ok(v)
        } else {
            self.err("invalid literal")
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.at += 1;
            }
            p.at > from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        if !digits(self) {
            return self.err("invalid number");
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !digits(self) {
                return self.err("invalid number");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return self.err("invalid number");
            }
        }
        // The bytes are ASCII digits and signs, so this cannot fail.
        let text = String::from_utf8_lossy(&self.s[start..self.at]).into_owned();
        Ok(Json::Number(text))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let Some(h) = self.s.get(self.at..self.at + 4) else {
            return self.err("truncated \\u escape");
        };
        let h = std::str::from_utf8(h).map_err(|_| "invalid \\u escape".to_owned())?;
        let v = u32::from_str_radix(h, 16).map_err(|_| format!("invalid \\u escape {h:?}"))?;
        self.at += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return self.err("unterminated string");
            };
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.err("unterminated string");
                    };
                    self.at += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if !self.s[self.at..].starts_with(b"\\u") {
                                    return self.err("unpaired surrogate");
                                }
                                self.at += 2;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return self.err("unpaired surrogate");
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            match char::from_u32(code) {
                                Some(c) => c,
                                None => return self.err("invalid \\u escape"),
                            }
                        }
                        _ => return self.err("invalid escape"),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return self.err("control character in string"),
                _ => out.push(b),
            }
        }
        // The input is a &str and escapes add valid UTF-8.
        String::from_utf8(out).map_err(|_| "invalid UTF-8 in string".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_of_scalars_and_arrays_parse() {
        let f = parse_object(r#" {"id": "u1", "age": 30, "ltv": 12.50, "vip": true, "x": null, "tags": ["a", "b"]} "#)
            .expect("parse");
        assert_eq!(f[0], ("id".into(), Json::String("u1".into())));
        assert_eq!(f[2], ("ltv".into(), Json::Number("12.50".into())));
        assert_eq!(f[3], ("vip".into(), Json::Bool(true)));
        assert_eq!(f[4], ("x".into(), Json::Null));
        assert_eq!(
            f[5].1,
            Json::Array(vec![Json::String("a".into()), Json::String("b".into())])
        );
    }

    #[test]
    fn escapes_and_surrogates_decode() {
        let f = parse_object(r#"{"s": "a\"b\\n\u00e9\ud83d\ude00"}"#).expect("parse");
        assert_eq!(f[0].1, Json::String("a\"b\\n\u{e9}\u{1f600}".into()));
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for bad in [
            "",
            "[1]",
            "{",
            "{\"a\" 1}",
            "{\"a\": tru}",
            "{\"a\": 1} x",
            "{\"a\": \"\\ud800\"}",
            "{\"a\": -}",
        ] {
            assert!(parse_object(bad).is_err(), "{bad}");
        }
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(parse_object(&deep).is_err());
    }
}
