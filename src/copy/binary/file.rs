//! PostgreSQL's binary COPY file format: the 11-byte signature
//! `PGCOPY\n\377\r\n\0`, a 32-bit flags field (bit 16 is WITH OIDS, bits
//! 17–31 are critical, 0–15 ignored), a header extension (its length, then
//! that many bytes, skipped); then per tuple a 16-bit field count and per
//! field a 32-bit length (-1 for NULL) and the type's `*send` bytes; the
//! trailer is a field count of -1.
//!
//! [`TupleReader`] takes input in chunks of any size and hands out whole
//! tuples, failing with PostgreSQL's messages and CONTEXT lines
//! (`COPY t, line 2, column v`). As in PostgreSQL, input that ends between
//! tuples (with fewer than two bytes of a field count) simply ends the
//! data, the trailer included or not; data after the trailer is an error.

use super::super::{CopyError, CopyResult};
use super::send;
use crate::sql::types::{DataType, Datum};

/// The signature every binary COPY file starts with.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The trailer: a field count of -1.
pub const TRAILER: [u8; 2] = (-1i16).to_be_bytes();

/// Bytes kept before consumed tuples are dropped from the buffer.
const COMPACT_BYTES_MIN: usize = 64 * 1024;

/// Appends the header PostgreSQL writes: the signature, no flags and no
/// header extension.
pub fn write_header(out: &mut Vec<u8>) {
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
}

/// Appends one tuple: the field count, then each value's length (-1 for
/// NULL) and its `*send` bytes; `types[i]` is the type of field `i`.
pub fn write_tuple(row: &[Datum], types: &[DataType], out: &mut Vec<u8>) -> CopyResult<()> {
    let too_big = || CopyError::new("54000", "row too large for binary COPY");
    let n = i16::try_from(row.len()).map_err(|_| too_big())?;
    out.extend_from_slice(&n.to_be_bytes());
    for (i, d) in row.iter().enumerate() {
        if d.is_null() {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        let ty = types.get(i).copied().unwrap_or(DataType::Text);
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        send(d, ty, out)?;
        let len = i32::try_from(out.len() - at - 4).map_err(|_| too_big())?;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// Where the reader is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the end of the fixed header (signature, flags, length).
    Header,
    /// Skipping this many bytes of header extension.
    Extension(u64),
    /// Reading tuples.
    Tuples,
    /// The trailer was read: nothing may follow.
    Ended,
    /// An error was reported: nothing more is read.
    Failed,
}

/// One tuple of a binary COPY stream: its line (1-based tuple number) and
/// its fields, `None` for NULL.
pub type Tuple<'a> = (u64, Vec<Option<&'a [u8]>>);

/// An incremental reader of binary COPY tuples.
#[derive(Debug)]
pub struct TupleReader {
    table: String,
    /// Column names, in field order (for CONTEXT lines).
    columns: Vec<String>,
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    pos: usize,
    state: State,
    /// Tuples read so far (the trailer counts as a line too).
    line: u64,
}

fn read_i16(b: &[u8], at: usize) -> Option<i16> {
    let a: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(i16::from_be_bytes(a))
}

fn read_i32(b: &[u8], at: usize) -> Option<i32> {
    let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(i32::from_be_bytes(a))
}

impl TupleReader {
    /// A reader for COPY into `table` with these columns.
    pub fn new(table: &str, columns: Vec<String>) -> TupleReader {
        TupleReader {
            table: table.to_owned(),
            columns,
            buf: Vec::new(),
            pos: 0,
            state: State::Header,
            line: 0,
        }
    }

    /// The line (tuple number, 1-based) of the tuple last returned.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Appends input bytes. Bytes after the trailer are an error.
    pub fn push(&mut self, data: &[u8]) -> CopyResult<()> {
        match self.state {
            State::Failed => return Ok(()),
            State::Ended if !data.is_empty() => return Err(self.after_trailer()),
            _ => {}
        }
        if let State::Extension(left) = self.state {
            let skip = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
            self.state = match left - skip as u64 {
                0 => State::Tuples,
                n => State::Extension(n),
            };
            self.buf.extend_from_slice(&data[skip..]);
            return Ok(());
        }
        if self.pos >= COMPACT_BYTES_MIN && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn fail(&mut self, e: CopyError) -> CopyError {
        self.state = State::Failed;
        e
    }

    fn after_trailer(&mut self) -> CopyError {
        let ctx = format!("COPY {}, line {}", self.table, self.line);
        self.fail(CopyError::bad_format("received copy data after EOF marker").with_context(ctx))
    }

    /// Reads the fixed header; `false` when more input is needed.
    fn header(&mut self, eof: bool) -> CopyResult<bool> {
        let b = &self.buf[self.pos..];
        let bad = |m: &str| CopyError::bad_format(m);
        let head = b.len().min(SIGNATURE.len());
        if b[..head] != SIGNATURE[..head] || (eof && head < SIGNATURE.len()) {
            return Err(self.fail(bad("COPY file signature not recognized")));
        }
        let Some(flags) = read_i32(b, 11) else {
            return if eof {
                Err(self.fail(bad("invalid COPY file header (missing flags)")))
            } else {
                Ok(false)
            };
        };
        if flags & (1 << 16) != 0 {
            return Err(self.fail(bad("invalid COPY file header (WITH OIDS)")));
        }
        if (flags & !(1 << 16)) >> 16 != 0 {
            return Err(self.fail(bad("unrecognized critical flags in COPY file header")));
        }
        let ext = match read_i32(b, 15) {
            Some(n) if n >= 0 => n,
            None if !eof => return Ok(false),
            _ => return Err(self.fail(bad("invalid COPY file header (missing length)"))),
        };
        let ext = ext as usize;
        let have = b.len() - 19;
        if have >= ext {
            self.pos += 19 + ext;
            self.state = State::Tuples;
        } else if eof {
            return Err(self.fail(bad("invalid COPY file header (wrong length)")));
        } else {
            // Drop what there is of the extension; skip the rest as it comes.
            self.buf.truncate(self.pos);
            self.state = State::Extension((ext - have) as u64);
        }
        Ok(true)
    }

    /// The next whole tuple: its line and its fields (`None` = NULL), or
    /// `None` when more input is needed (or, with `eof`, at the end).
    pub fn next_tuple(&mut self, eof: bool) -> CopyResult<Option<Tuple<'_>>> {
        loop {
            match self.state {
                State::Header => {
                    if !self.header(eof)? {
                        return Ok(None);
                    }
                }
                State::Extension(_) if eof => {
                    let e = CopyError::bad_format("invalid COPY file header (wrong length)");
                    return Err(self.fail(e));
                }
                State::Extension(_) | State::Failed => return Ok(None),
                State::Ended => {
                    if self.pos < self.buf.len() {
                        return Err(self.after_trailer());
                    }
                    return Ok(None);
                }
                State::Tuples => break,
            }
        }
        let b = &self.buf[self.pos..];
        let line = self.line + 1;
        let Some(count) = read_i16(b, 0) else {
            return Ok(None);
        };
        if count == -1 {
            self.line = line;
            self.pos += 2;
            self.state = State::Ended;
            if self.pos < self.buf.len() {
                return Err(self.after_trailer());
            }
            return Ok(None);
        }
        if usize::try_from(count).ok() != Some(self.columns.len()) {
            let e = CopyError::bad_format(format!(
                "row field count is {count}, expected {}",
                self.columns.len()
            ))
            .with_context(format!("COPY {}, line {line}", self.table));
            return Err(self.fail(e));
        }
        let mut spans = Vec::with_capacity(self.columns.len());
        let mut at = 2;
        for i in 0..self.columns.len() {
            let column_error = |m: &str| {
                CopyError::bad_format(m).with_context(format!(
                    "COPY {}, line {line}, column {}",
                    self.table, self.columns[i]
                ))
            };
            let eof_error = || column_error("unexpected EOF in COPY data");
            let Some(len) = read_i32(b, at) else {
                return if eof {
                    let e = eof_error();
                    Err(self.fail(e))
                } else {
                    Ok(None)
                };
            };
            at += 4;
            if len == -1 {
                spans.push(None);
                continue;
            }
            if len < 0 {
                let e = column_error("invalid field size");
                return Err(self.fail(e));
            }
            let len = len as usize;
            if b.len() - at < len {
                return if eof {
                    let e = eof_error();
                    Err(self.fail(e))
                } else {
                    Ok(None)
                };
            }
            spans.push(Some((at, at + len)));
            at += len;
        }
        let start = self.pos;
        self.pos += at;
        self.line = line;
        let b = &self.buf[start..start + at];
        let fields = spans
            .into_iter()
            .map(|s| s.map(|(from, to)| &b[from..to]))
            .collect();
        Ok(Some((line, fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    out.extend_from_slice(b);
                }
            }
        }
        out
    }

    /// Every tuple of `chunks`, owned, with its line.
    /// A tuple's line and its owned fields (`None` = NULL).
    type OwnedTuple = (u64, Vec<Option<Vec<u8>>>);

    fn read(chunks: &[&[u8]]) -> CopyResult<Vec<OwnedTuple>> {
        let mut r = TupleReader::new("t", vec!["a".into(), "b".into()]);
        let mut out = Vec::new();
        let mut take = |r: &mut TupleReader, eof: bool| -> CopyResult<()> {
            while let Some((line, fields)) = r.next_tuple(eof)? {
                out.push((line, fields.iter().map(|f| f.map(<[u8]>::to_vec)).collect()));
            }
            Ok(())
        };
        for c in chunks {
            r.push(c)?;
            take(&mut r, false)?;
        }
        take(&mut r, true)?;
        Ok(out)
    }

    fn sample() -> Vec<u8> {
        let mut data = SIGNATURE.to_vec();
        data.extend_from_slice(&0i32.to_be_bytes());
        data.extend_from_slice(&4i32.to_be_bytes());
        data.extend_from_slice(b"skip");
        data.extend_from_slice(&tuple(&[Some(b"x"), None]));
        data.extend_from_slice(&tuple(&[Some(b""), Some(b"yz")]));
        data.extend_from_slice(&TRAILER);
        data
    }

    #[test]
    fn tuples_survive_any_chunking() {
        let data = sample();
        let whole = read(&[&data]).expect("whole");
        assert_eq!(
            whole,
            [
                (1, vec![Some(b"x".to_vec()), None]),
                (2, vec![Some(Vec::new()), Some(b"yz".to_vec())]),
            ]
        );
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(read(&bytes).expect("bytewise"), whole);
        let threes: Vec<&[u8]> = data.chunks(3).collect();
        assert_eq!(read(&threes).expect("threes"), whole);
    }

    #[test]
    fn data_after_the_trailer_is_an_error_even_in_a_later_chunk() {
        let data = sample();
        let e = read(&[&data, b"x"]).expect_err("after trailer");
        assert_eq!(e.message, "received copy data after EOF marker");
        assert_eq!(e.context.as_deref(), Some("COPY t, line 3"));
    }

    #[test]
    fn a_wrong_signature_fails_before_eleven_bytes_arrive() {
        let mut r = TupleReader::new("t", vec!["a".into()]);
        r.push(b"PGX").expect("push");
        let e = r.next_tuple(false).expect_err("bad signature");
        assert_eq!(e.code, "22P04");
        assert_eq!(e.message, "COPY file signature not recognized");
        // After an error, nothing more is read.
        assert!(matches!(r.next_tuple(true), Ok(None)));
    }

    #[test]
    fn written_tuples_read_back() {
        let mut data = Vec::new();
        write_header(&mut data);
        let types = [DataType::Int8, DataType::Text];
        write_tuple(&[Datum::Int(7), Datum::Null], &types, &mut data).expect("write");
        data.extend_from_slice(&TRAILER);
        assert_eq!(
            read(&[&data]).expect("read"),
            [(1, vec![Some(7i64.to_be_bytes().to_vec()), None])]
        );
    }
}
