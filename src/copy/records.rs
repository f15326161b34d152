//! Splitting COPY input into records as bytes arrive, in chunks that need
//! not align with rows (psql sends 8 KiB pieces).
//!
//! A text-format record ends at a newline that is not escaped by a
//! backslash; a CSV record at a newline outside quotes (a quoted field may
//! span lines). A trailing carriage return is dropped, so `\r\n` files work.
//! A line holding only `\.` ends the data, as in PostgreSQL. Line numbers
//! count physical lines, so an error in the record after a quoted field
//! with a newline names the line an editor shows.

use super::options::{CopyFormat, CopyOptions};

/// Bytes kept before consumed records are dropped from the buffer.
const COMPACT_BYTES_MIN: usize = 64 * 1024;

/// An incremental record splitter.
#[derive(Debug)]
pub struct RecordReader {
    csv: bool,
    quote: u8,
    escape: u8,
    buf: Vec<u8>,
    /// Start of the current record in `buf`.
    start: usize,
    /// Where scanning resumes.
    scan: usize,
    /// CSV: inside quotes at `scan`.
    in_quote: bool,
    /// Newlines inside the current (CSV) record so far.
    inner_lines: u64,
    /// Lines of the records returned so far.
    line: u64,
    /// The `\.` end marker was seen.
    ended: bool,
}

impl RecordReader {
    /// A splitter for `opts`' format.
    pub fn new(opts: &CopyOptions) -> RecordReader {
        RecordReader {
            csv: opts.format == CopyFormat::Csv,
            quote: opts.quote,
            escape: opts.escape,
            buf: Vec::new(),
            start: 0,
            scan: 0,
            in_quote: false,
            inner_lines: 0,
            line: 0,
            ended: false,
        }
    }

    /// Appends input bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.ended {
            return;
        }
        if self.start >= COMPACT_BYTES_MIN && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Whether the `\.` end marker ended the data.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Lines consumed so far (the line of the record last returned).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next complete record (without its line end) and its line number
    /// (1-based, its last line), or `None` when more
    /// input is needed. With `eof`, the unterminated rest is the last record.
    pub fn next_record(&mut self, eof: bool) -> Option<(u64, &[u8])> {
        if self.ended {
            return None;
        }
        let end = self.find_end(eof)?;
        let start = self.start;
        self.start = (end + 1).min(self.buf.len());
        self.scan = self.start;
        self.line += 1 + std::mem::take(&mut self.inner_lines);
        self.in_quote = false;
        let mut rec = &self.buf[start..end];
        if let [head @ .., b'\r'] = rec {
            rec = head;
        }
        if rec == b"\\." {
            self.ended = true;
            return None;
        }
        Some((self.line, rec))
    }

    /// The end (exclusive, the newline's index) of the current record.
    fn find_end(&mut self, eof: bool) -> Option<usize> {
        let len = self.buf.len();
        while self.scan < len {
            let b = self.buf[self.scan];
            if self.csv {
                if self.in_quote {
                    if b == self.escape && self.escape != self.quote {
                        match self.buf.get(self.scan + 1) {
                            None if !eof => return None,
                            Some(&n) if n == self.quote || n == self.escape => {
                                self.scan += 2;
                                continue;
                            }
                            _ => {}
                        }
                    }
                    if b == self.quote {
                        self.in_quote = false;
                    } else if b == b'\n' {
                        self.inner_lines += 1;
                    }
                } else if b == self.quote {
                    self.in_quote = true;
                } else if b == b'\n' {
                    return Some(self.scan);
                }
            } else if b == b'\\' {
                if self.scan + 1 >= len && !eof {
                    return None;
                }
                self.scan += 2;
                continue;
            } else if b == b'\n' {
                return Some(self.scan);
            }
            self.scan += 1;
        }
        self.scan = self.scan.min(len);
        (eof && self.start < len).then_some(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(opts: &CopyOptions, chunks: &[&[u8]]) -> Vec<(u64, String)> {
        let mut r = RecordReader::new(opts);
        let mut out = Vec::new();
        for c in chunks {
            r.push(c);
            while let Some((line, rec)) = r.next_record(false) {
                out.push((line, String::from_utf8_lossy(rec).into_owned()));
            }
        }
        while let Some((line, rec)) = r.next_record(true) {
            out.push((line, String::from_utf8_lossy(rec).into_owned()));
        }
        out
    }

    #[test]
    fn text_records_survive_any_chunking() {
        let input = b"a\tb\\\nc\r\nd\\\\\te\nlast";
        let whole = all(&CopyOptions::default(), &[input]);
        assert_eq!(
            whole,
            [
                (1, "a\tb\\\nc".to_owned()),
                (2, "d\\\\\te".to_owned()),
                (3, "last".to_owned())
            ]
        );
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(all(&CopyOptions::default(), &bytes), whole);
    }

    #[test]
    fn csv_quotes_span_lines_and_count_them() {
        let opts = CopyOptions {
            format: CopyFormat::Csv,
            delimiter: b',',
            null: String::new(),
            ..CopyOptions::default()
        };
        let recs = all(&opts, &[b"h\n\"x\ny\",1\n", b"z,\"\"\"\"\n"]);
        assert_eq!(
            recs,
            [
                (1, "h".to_owned()),
                (3, "\"x\ny\",1".to_owned()),
                (4, "z,\"\"\"\"".to_owned())
            ]
        );
    }

    #[test]
    fn end_marker_stops_the_data() {
        let recs = all(&CopyOptions::default(), &[b"1\n\\.\n2\n"]);
        assert_eq!(recs, [(1, "1".to_owned())]);
    }
}
