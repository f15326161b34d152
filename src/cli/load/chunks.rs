//! Cuts the input into chunks of whole records, so that worker threads can
//! parse them independently.
//!
//! A CSV record may span lines inside a quoted field, so the cut points are
//! found by one sequential scan with the same quoting rules as
//! [`super::csv::CsvReader`]: only a quote at the start of a field opens a
//! quoted field, `""` inside one is a quote, and a newline outside quotes ends
//! the record. JSON lines are cut at any newline.

use std::io::{self, Read};

/// A run of whole records (the last chunk may end in an unfinished one,
/// which its parser reports).
pub struct Chunk {
    /// Line number (1-based) of the chunk's first byte.
    pub first_line: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Input offset just past the chunk (for progress).
    pub end_offset: u64,
}

/// Where the CSV scan stands after the bytes seen so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// Outside quotes; whether the next byte starts a field.
    Unquoted { field_start: bool },
    /// Inside a quoted field.
    Quoted,
    /// Inside a quoted field, just after a quote: `""` or the closing one.
    QuoteInQuoted,
}

/// Reads `input` and hands out chunks of about `target` bytes.
pub struct Chunker<R> {
    input: R,
    csv: bool,
    scan: Scan,
    target: usize,
    buf: Vec<u8>,
    /// Bytes of `buf` scanned for cut points.
    scanned: usize,
    /// The last cut point in `buf` (0: none yet).
    cut: usize,
    next_line: u64,
    offset: u64,
    eof: bool,
    /// Buffers of parsed chunks, for reuse.
    spare: Vec<Vec<u8>>,
}

/// Most spare buffers kept.
const SPARE_MAX: usize = 8;

impl<R: Read> Chunker<R> {
    /// Chunks of `input`, whose first byte is on line `first_line` at input
    /// offset `offset`; `csv` selects the quoting rules.
    pub fn new(input: R, csv: bool, target: usize, first_line: u64, offset: u64) -> Chunker<R> {
        let target = target.max(1);
        Chunker {
            input,
            csv,
            scan: Scan::Unquoted { field_start: true },
            target,
            buf: Vec::with_capacity(target * 2),
            scanned: 0,
            cut: 0,
            next_line: first_line,
            offset,
            eof: false,
            spare: Vec::new(),
        }
    }

    /// The line the next chunk starts on.
    pub fn next_line(&self) -> u64 {
        self.next_line
    }

    /// Input offset of the next chunk.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Takes back the buffer of a chunk that is done with, so that the next
    /// chunks reuse its memory instead of fresh pages.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < SPARE_MAX {
            self.spare.push(buf);
        }
    }

    /// The next chunk, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Option<io::Result<Chunk>> {
        loop {
            if self.eof {
                if self.buf.is_empty() {
                    return None;
                }
                let len = self.buf.len();
                return Some(Ok(self.take(len)));
            }
            if self.cut > 0 && self.buf.len() >= self.target {
                return Some(Ok(self.take(self.cut)));
            }
            let old = self.buf.len();
            self.buf.resize(old + self.target, 0);
            match self.input.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    if n == 0 {
                        self.eof = true;
                    } else {
                        self.scan_new();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.buf.truncate(old),
                Err(e) => {
                    self.buf.truncate(old);
                    self.eof = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// Hands out `buf[..len]`, keeping the rest for the next chunk.
    fn take(&mut self, len: usize) -> Chunk {
        let mut rest = self.spare.pop().unwrap_or_default();
        rest.clear();
        rest.reserve((self.buf.len() - len) + self.target * 2);
        rest.extend_from_slice(&self.buf[len..]);
        let mut bytes = std::mem::replace(&mut self.buf, rest);
        bytes.truncate(len);
        self.scanned -= len;
        self.cut = 0;
        let first_line = self.next_line;
        self.next_line += bytes.iter().filter(|b| **b == b'\n').count() as u64;
        self.offset += len as u64;
        Chunk {
            first_line,
            bytes,
            end_offset: self.offset,
        }
    }

    /// Scans the bytes read since the last scan for cut points.
    fn scan_new(&mut self) {
        let new = &self.buf[self.scanned..];
        if !self.csv {
            if let Some(i) = new.iter().rposition(|b| *b == b'\n') {
                self.cut = self.scanned + i + 1;
            }
            self.scanned = self.buf.len();
            return;
        }
        let mut scan = self.scan;
        for (i, &b) in new.iter().enumerate() {
            scan = match scan {
                Scan::Quoted => {
                    if b == b'"' {
                        Scan::QuoteInQuoted
                    } else {
                        Scan::Quoted
                    }
                }
                Scan::QuoteInQuoted if b == b'"' => Scan::Quoted,
                Scan::QuoteInQuoted | Scan::Unquoted { .. } => {
                    let field_start = matches!(scan, Scan::Unquoted { field_start: true });
                    match b {
                        b',' => Scan::Unquoted { field_start: true },
                        b'\n' => {
                            self.cut = self.scanned + i + 1;
                            Scan::Unquoted { field_start: true }
                        }
                        b'"' if field_start => Scan::Quoted,
                        _ => Scan::Unquoted { field_start: false },
                    }
                }
            };
        }
        self.scan = scan;
        self.scanned = self.buf.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(input: &str, csv: bool, target: usize) -> Vec<(u64, String, u64)> {
        let mut c = Chunker::new(input.as_bytes(), csv, target, 1, 0);
        std::iter::from_fn(|| c.next_chunk())
            .map(|c| {
                let c = c.unwrap();
                (
                    c.first_line,
                    String::from_utf8(c.bytes).unwrap(),
                    c.end_offset,
                )
            })
            .collect()
    }

    #[test]
    fn cuts_only_outside_quotes_and_counts_lines() {
        let input = "a,\"x\ny\",b\nc,\"\"\"\n\",d\ne,f\"g\nh\n";
        let got = chunks(input, true, 3);
        let texts: Vec<&str> = got.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(
            texts,
            ["a,\"x\ny\",b\n", "c,\"\"\"\n\",d\n", "e,f\"g\n", "h\n"]
        );
        let lines: Vec<u64> = got.iter().map(|c| c.0).collect();
        assert_eq!(lines, [1, 3, 5, 6]);
        assert_eq!(got.last().unwrap().2, input.len() as u64);
        assert_eq!(texts.concat(), input);
    }

    #[test]
    fn an_unterminated_quote_keeps_the_rest_in_one_chunk() {
        let got = chunks("a\n\"b\nc\nd", true, 2);
        let texts: Vec<&str> = got.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(texts, ["a\n", "\"b\nc\nd"]);
    }

    #[test]
    fn json_lines_cut_at_any_newline() {
        let got = chunks("{\"a\":\"\\\"\"}\n{}\n{}", false, 4);
        let texts: Vec<&str> = got.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(texts, ["{\"a\":\"\\\"\"}\n", "{}\n", "{}"]);
    }
}
