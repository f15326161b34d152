//! Fields of one COPY record, in and out, in PostgreSQL's text and CSV
//! formats.
//!
//! Text: fields separated by the delimiter; `\b \f \n \r \t \v \\`, octal
//! `\NNN` and hex `\xHH` escapes; a field spelled exactly as the NULL marker
//! (`\N`) is NULL. CSV: a quote anywhere in a field starts quoted text, in
//! which the escape byte (the quote by default) makes the next quote or
//! escape literal; an unquoted field equal to the NULL marker (empty by
//! default) is NULL, a quoted one never is.

use super::CopyError;
use super::options::{CopyFormat, CopyOptions};

/// Splits a text or CSV record into fields (`None` = NULL). Binary
/// tuples are read by [`super::binary::file::TupleReader`].
pub fn decode(rec: &[u8], opts: &CopyOptions) -> Result<Vec<Option<String>>, CopyError> {
    match opts.format {
        CopyFormat::Text => decode_text(rec, opts),
        CopyFormat::Csv => decode_csv(rec, opts),
        CopyFormat::Binary => Err(CopyError::new("XX000", "binary COPY data is not text")),
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String, CopyError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        CopyError::new(
            "22021",
            super::binary::recv::invalid_sequence(&e.as_bytes()[at..]),
        )
    })
}

fn decode_text(rec: &[u8], opts: &CopyOptions) -> Result<Vec<Option<String>>, CopyError> {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        while i < rec.len() && rec[i] != opts.delimiter {
            i += if rec[i] == b'\\' { 2 } else { 1 };
        }
        let end = i.min(rec.len());
        let raw = &rec[start..end];
        fields.push(if raw == opts.null.as_bytes() {
            None
        } else {
            Some(utf8(unescape(raw))?)
        });
        if i >= rec.len() {
            return Ok(fields);
        }
        i += 1;
    }
}

fn unescape(raw: &[u8]) -> Vec<u8> {
    if !raw.contains(&b'\\') {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        if b != b'\\' || i >= raw.len() {
            out.push(b);
            continue;
        }
        let c = raw[i];
        i += 1;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u8;
                for _ in 0..2 {
                    match raw.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v.wrapping_mul(16).wrapping_add(d as u8);
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(v);
            }
            other => out.push(other),
        }
    }
    out
}

fn decode_csv(rec: &[u8], opts: &CopyOptions) -> Result<Vec<Option<String>>, CopyError> {
    let (delim, quote, escape) = (opts.delimiter, opts.quote, opts.escape);
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let mut text = Vec::new();
        let mut saw_quote = false;
        let mut in_quote = false;
        while i < rec.len() {
            let b = rec[i];
            if in_quote {
                if b == escape
                    && let Some(&n) = rec.get(i + 1)
                    && (n == quote || n == escape)
                    && (escape != quote || n == quote)
                {
                    text.push(n);
                    i += 2;
                    continue;
                }
                if b == quote {
                    in_quote = false;
                } else {
                    text.push(b);
                }
            } else if b == delim {
                break;
            } else if b == quote {
                in_quote = true;
                saw_quote = true;
            } else {
                text.push(b);
            }
            i += 1;
        }
        if in_quote {
            return Err(CopyError::bad_format("unterminated CSV quoted field"));
        }
        let raw = &rec[start..i];
        fields.push(if !saw_quote && raw == opts.null.as_bytes() {
            None
        } else {
            Some(utf8(text)?)
        });
        if i >= rec.len() {
            return Ok(fields);
        }
        i += 1;
    }
}

/// Appends one field (`None` = NULL) in `opts`' format. `single` says the
/// row has one column (in CSV a lone `\.` must then be quoted).
pub fn encode_field(value: Option<&str>, opts: &CopyOptions, single: bool, out: &mut Vec<u8>) {
    let Some(v) = value else {
        out.extend_from_slice(opts.null.as_bytes());
        return;
    };
    match opts.format {
        CopyFormat::Text | CopyFormat::Binary => encode_text(v, opts.delimiter, out),
        CopyFormat::Csv => encode_csv(v, opts, single, out),
    }
}

fn encode_text(v: &str, delim: u8, out: &mut Vec<u8>) {
    for &b in v.as_bytes() {
        let esc = match b {
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' if delim == b'\t' => b't',
            8 => b'b',
            12 => b'f',
            11 => b'v',
            _ if b == delim => b,
            _ => {
                out.push(b);
                continue;
            }
        };
        out.push(b'\\');
        out.push(esc);
    }
}

fn encode_csv(v: &str, opts: &CopyOptions, single: bool, out: &mut Vec<u8>) {
    let bytes = v.as_bytes();
    let quote = v == opts.null
        || (single && v == "\\.")
        || bytes
            .iter()
            .any(|&b| b == opts.delimiter || b == opts.quote || b == b'\n' || b == b'\r');
    if !quote {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(opts.quote);
    for &b in bytes {
        if b == opts.quote || b == opts.escape {
            out.push(opts.escape);
        }
        out.push(b);
    }
    out.push(opts.quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv() -> CopyOptions {
        CopyOptions {
            format: CopyFormat::Csv,
            delimiter: b',',
            null: String::new(),
            ..CopyOptions::default()
        }
    }

    fn s(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|x| x.map(str::to_owned)).collect()
    }

    #[test]
    fn text_escapes_round_trip() {
        let opts = CopyOptions::default();
        let nasty = "tab\there\nnew\\back\r\u{7}中文";
        let mut out = Vec::new();
        encode_field(Some(nasty), &opts, false, &mut out);
        out.push(b'\t');
        encode_field(None, &opts, false, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "tab\\there\\nnew\\\\back\\r\u{7}中文\t\\N"
        );
        assert_eq!(decode(&out, &opts), Ok(s(&[Some(nasty), None])));
    }

    #[test]
    fn text_octal_and_hex_escapes() {
        let opts = CopyOptions::default();
        assert_eq!(
            decode(b"\\101\\x42\\q\t\\N\t", &opts),
            Ok(s(&[Some("ABq"), None, Some("")]))
        );
    }

    #[test]
    fn csv_null_is_unquoted_empty_and_quotes_nest() {
        let opts = csv();
        assert_eq!(
            decode(b",\"\",\"a,\"\"b\"\"\",x\"y,z\"w", &opts),
            Ok(s(&[None, Some(""), Some("a,\"b\""), Some("xy,zw")]))
        );
        let e = decode(b"a,\"open", &opts).unwrap_err();
        assert_eq!(e.code, "22P04");
    }

    #[test]
    fn csv_output_quotes_only_what_needs_it() {
        let opts = csv();
        let mut out = Vec::new();
        for v in [
            Some("plain"),
            Some(""),
            None,
            Some("a,b"),
            Some("say \"hi\""),
        ] {
            encode_field(v, &opts, false, &mut out);
            out.push(b',');
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            "plain,\"\",,\"a,b\",\"say \"\"hi\"\"\","
        );
    }

    #[test]
    fn csv_custom_escape() {
        let opts = CopyOptions {
            escape: b'\\',
            ..csv()
        };
        assert_eq!(decode(b"\"a\\\"b\"", &opts), Ok(s(&[Some("a\"b")])));
        let mut out = Vec::new();
        encode_field(Some("a\"b"), &opts, false, &mut out);
        assert_eq!(out, b"\"a\\\"b\"");
    }
}
