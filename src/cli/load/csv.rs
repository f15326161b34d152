//! A streaming RFC 4180 CSV reader that keeps line numbers.
//!
//! Fields are separated by `,`; a field in double quotes may hold commas,
//! newlines and `""` (one quote). Whether a field was quoted is kept, because
//! an unquoted empty field is NULL and a quoted one the empty string (as in
//! PostgreSQL's `COPY … CSV`). Empty lines are skipped; a UTF-8 byte order
//! mark at the start is ignored.

use std::io::BufRead;

/// One field of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's text, quotes removed.
    pub text: String,
    /// Whether it was quoted.
    pub quoted: bool,
}

/// One record and the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Line of the record's first character.
    pub line: u64,
    /// Its fields.
    pub fields: Vec<Field>,
}

/// A record that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// Line where the record starts.
    pub line: u64,
    /// What was wrong.
    pub message: String,
    /// Whether reading can go on with the next record (false for IO errors
    /// and an unterminated quote, which swallows the rest of the file).
    pub recoverable: bool,
}

/// Reads records from `input`.
pub struct CsvReader<R> {
    input: R,
    lines_read: u64,
    bytes_read: u64,
    buf: String,
    done: bool,
}

impl<R: BufRead> CsvReader<R> {
    /// A reader at the start of `input`.
    pub fn new(input: R) -> CsvReader<R> {
        CsvReader {
            input,
            lines_read: 0,
            bytes_read: 0,
            buf: String::new(),
            done: false,
        }
    }

    /// A reader of a chunk of a larger input that starts after line
    /// `lines_before` (so that records keep their line numbers).
    pub fn starting_at(input: R, lines_before: u64) -> CsvReader<R> {
        CsvReader {
            lines_read: lines_before,
            ..CsvReader::new(input)
        }
    }

    /// Physical lines consumed so far.
    pub fn lines_read(&self) -> u64 {
        self.lines_read
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads one physical line into `self.buf` (appending); false at the end.
    fn read_line(&mut self) -> Result<bool, String> {
        let n = self
            .input
            .read_line(&mut self.buf)
            .map_err(|e| format!("cannot read input: {e}"))?;
        if n == 0 {
            return Ok(false);
        }
        self.bytes_read += n as u64;
        self.lines_read += 1;
        if self.lines_read == 1 && self.buf.starts_with('\u{feff}') {
            self.buf.drain(..'\u{feff}'.len_utf8());
        }
        Ok(true)
    }

    /// The next record, `None` at the end of the input.
    pub fn next_record(&mut self) -> Option<Result<Record, ReadError>> {
        let mut rec = Record {
            line: 0,
            fields: Vec::new(),
        };
        self.next_into(&mut rec).map(|r| r.map(|()| rec))
    }

    /// Reads the next record into `rec`, reusing its field buffers;
    /// `None` at the end of the input.
    pub fn next_into(&mut self, rec: &mut Record) -> Option<Result<(), ReadError>> {
        if self.done {
            return None;
        }
        loop {
            self.buf.clear();
            let line = self.lines_read + 1;
            let fail = |message: String, recoverable: bool| ReadError {
                line,
                message,
                recoverable,
            };
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(m) => {
                    self.done = true;
                    return Some(Err(fail(m, false)));
                }
            }
            if self.buf.trim_end_matches(['\n', '\r']).is_empty() {
                continue;
            }
            // A quoted field may span lines: read on while a quote is open.
            while open_quote(&self.buf) {
                match self.read_line() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.done = true;
                        return Some(Err(fail("unterminated quoted field".into(), false)));
                    }
                    Err(m) => {
                        self.done = true;
                        return Some(Err(fail(m, false)));
                    }
                }
            }
            rec.line = line;
            let text = strip_newline(&self.buf);
            return Some(split_into(text, &mut rec.fields).map_err(|m| fail(m, true)));
        }
    }
}

fn strip_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

/// Whether `s` ends inside a quoted field. Only a quote at the start of a
/// field opens one; a stray quote inside an unquoted field does not (it is
/// reported by [`split`]).
fn open_quote(s: &str) -> bool {
    let mut in_quotes = false;
    let mut field_start = true;
    let mut bytes = s.bytes().peekable();
    while let Some(b) = bytes.next() {
        if in_quotes {
            if b == b'"' {
                if bytes.peek() == Some(&b'"') {
                    bytes.next();
                } else {
                    in_quotes = false;
                }
            }
        } else if b == b',' {
            field_start = true;
            continue;
        } else if b == b'"' && field_start {
            in_quotes = true;
        }
        field_start = false;
    }
    in_quotes
}

/// Splits one record (quotes balanced) into fields. Works on bytes: the
/// delimiters are ASCII, so every cut is a character boundary.
fn split_into(text: &str, fields: &mut Vec<Field>) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut n = 0;
    let mut i = 0;
    loop {
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            let field = slot(fields, n, true);
            n += 1;
            loop {
                let Some(p) = bytes[i..].iter().position(|b| *b == b'"') else {
                    return Err("unterminated quoted field".into());
                };
                field.push_str(&text[i..i + p]);
                i += p + 1;
                if bytes.get(i) == Some(&b'"') {
                    field.push('"');
                    i += 1;
                } else {
                    break;
                }
            }
            match text[i..].chars().next() {
                None => {
                    fields.truncate(n);
                    return Ok(());
                }
                Some(',') => i += 1,
                Some(c) => {
                    return Err(format!(
                        "unexpected character {c:?} after a closing quote in field {n}"
                    ));
                }
            }
        } else {
            let rest = &bytes[i..];
            match rest.iter().position(|b| *b == b',' || *b == b'"') {
                None => {
                    slot(fields, n, false).push_str(&text[i..]);
                    fields.truncate(n + 1);
                    return Ok(());
                }
                Some(p) if rest[p] == b',' => {
                    slot(fields, n, false).push_str(&text[i..i + p]);
                    n += 1;
                    i += p + 1;
                }
                Some(_) => {
                    return Err(format!("unexpected quote inside unquoted field {}", n + 1));
                }
            }
        }
    }
}

/// Field `n` of `fields`, emptied for reuse (or added).
fn slot(fields: &mut Vec<Field>, n: usize, quoted: bool) -> &mut String {
    if n == fields.len() {
        fields.push(Field {
            text: String::new(),
            quoted,
        });
    }
    let f = &mut fields[n];
    f.text.clear();
    f.quoted = quoted;
    &mut f.text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<Result<Record, ReadError>> {
        let mut r = CsvReader::new(input.as_bytes());
        std::iter::from_fn(|| r.next_record()).collect()
    }

    fn texts(r: &Record) -> Vec<(&str, bool)> {
        r.fields
            .iter()
            .map(|f| (f.text.as_str(), f.quoted))
            .collect()
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_newlines() {
        let rs = records("a,b\r\n\"x,1\",\"say \"\"hi\"\"\nthere\"\n,\"\"\n");
        let rs: Vec<Record> = rs.into_iter().map(|r| r.expect("record")).collect();
        assert_eq!(texts(&rs[0]), [("a", false), ("b", false)]);
        assert_eq!(texts(&rs[1]), [("x,1", true), ("say \"hi\"\nthere", true)]);
        assert_eq!(rs[1].line, 2);
        assert_eq!(texts(&rs[2]), [("", false), ("", true)]);
        assert_eq!(rs[2].line, 4);
    }

    #[test]
    fn empty_lines_are_skipped_and_line_numbers_kept() {
        let rs = records("h\n\n1\n\n2");
        let lines: Vec<u64> = rs.into_iter().map(|r| r.expect("record").line).collect();
        assert_eq!(lines, [1, 3, 5]);
    }

    #[test]
    fn stray_quote_is_a_recoverable_error_with_its_line() {
        let rs = records("h\nab\"c\nok\n");
        let e = rs[1].clone().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.recoverable);
        assert!(rs[2].is_ok());
    }

    fn split(text: &str) -> Result<Vec<Field>, String> {
        let mut fields = vec![Field {
            text: "stale".into(),
            quoted: true,
        }];
        split_into(text, &mut fields).map(|()| fields)
    }

    #[test]
    fn split_errors_name_the_field() {
        assert_eq!(
            split("x,\"a\"b,c"),
            Err("unexpected character 'b' after a closing quote in field 2".into())
        );
        assert_eq!(
            split("x,y,a\"b"),
            Err("unexpected quote inside unquoted field 3".into())
        );
        let f = split("\"\",,\"\"\"é\"\"\",é").unwrap();
        let t: Vec<(&str, bool)> = f.iter().map(|f| (f.text.as_str(), f.quoted)).collect();
        assert_eq!(t, [("", true), ("", false), ("\"é\"", true), ("é", false)]);
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let rs = records("\u{feff}id\n1\n");
        assert_eq!(texts(rs[0].as_ref().expect("header")), [("id", false)]);
    }
}
