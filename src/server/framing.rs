//! The client's message framing, followed byte by byte as pgwire reads the
//! socket, before pgwire decodes anything: the message-size limit, bodies
//! too short (or long) for their own fields (pgwire's decoders would panic
//! or misparse), invalid UTF-8 in a message's strings (pgwire decodes them
//! lossily; PostgreSQL refuses them with `22021`) and the protocol version
//! of the startup packet (PostgreSQL refuses all but 3.x with `0A000`).
// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

use crate::copy::binary::recv::invalid_sequence;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where the reader is in the client's message framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// Reading a header: `typed` headers have a type byte before the
    /// 4-byte length (every message after the startup packet).
    Header { typed: bool, have: usize },
    /// Skipping the rest of a message body.
    Body { remaining: usize },
}

/// Follows the client's message framing as bytes arrive and reports the
/// first message longer than the limit, before it is buffered.
///
/// It also keeps the bodies of the extended-protocol messages (see
/// [`body_well_formed`]) and flags the first one too short for its own
/// fields: pgwire's decoders would panic reading past its end. It notes
/// which messages of the types in [`TEXT_TYPES`] carry invalid UTF-8 (see
/// [`Framing::take_invalid_utf8`]) and the protocol version of a startup
/// packet audb does not speak.
#[derive(Debug)]
pub(crate) struct Framing {
    max: usize,
    frame: Frame,
    header: [u8; 5],
    /// The length of the first message over the limit.
    pub(crate) too_large: Option<usize>,
    /// The body so far of the current message, if its type is checked.
    body: Option<Vec<u8>>,
    /// The type byte of the first malformed message.
    pub(crate) malformed: Option<u8>,
    /// Where, in the bytes of the last `feed`, the malformed message began
    /// (0 if it began in an earlier read).
    pub(crate) malformed_at: usize,
    /// Whether the body being read is the startup packet's.
    in_startup: bool,
    /// The protocol version (major, minor) of a startup packet that asks
    /// for anything but 3.x (or the special codes of SSL, GSS and cancel
    /// requests).
    pub(crate) unsupported_version: Option<(u16, u16)>,
    /// Messages of [`TEXT_TYPES`] seen so far.
    text_messages: u64,
    /// Those of them with invalid UTF-8: (their number, the error message).
    invalid_utf8: VecDeque<(u64, String)>,
}

/// The message types whose strings (SQL text, statement and portal names)
/// must be valid UTF-8: Query, Parse, Bind, Describe, Close, Execute.
const TEXT_TYPES: &[u8] = b"QPBDCE";

/// The major protocol version of SSL, GSSAPI and cancel requests (1234).
const SPECIAL_REQUEST_MAJOR: u16 = 1234;

/// PostgreSQL's error message for the first invalid UTF-8 in the strings
/// (the NUL-terminated fields) of a message of type `ty`, if any.
fn invalid_utf8(ty: u8, body: &[u8]) -> Option<String> {
    let mut rest = match ty {
        b'D' | b'C' => body.get(1..)?,
        _ => body,
    };
    let strings = match ty {
        b'P' | b'B' => 2,
        _ => 1,
    };
    for _ in 0..strings {
        let nul = rest.iter().position(|&b| b == 0)?;
        let s = &rest[..nul];
        if let Err(e) = std::str::from_utf8(s) {
            return Some(invalid_sequence(&s[e.valid_up_to()..]));
        }
        rest = &rest[nul + 1..];
    }
    None
}

/// Largest `max_rows` an Execute message may ask for: pgwire reserves room
/// for that many rows up front when it resumes a suspended portal, so a
/// larger (or negative, read as huge) count would abort the whole server on
/// a failed allocation. PostgreSQL has no such limit.
const EXECUTE_MAX_ROWS: i32 = 1 << 20;

/// The message types whose bodies [`body_well_formed`] checks.
const CHECKED_TYPES: &[u8] = b"PBDCEQfSHXc";

/// Whether `body` is exactly the fields a client message of type `ty`
/// declares, as PostgreSQL requires. pgwire's decoders read fields from the
/// connection's buffer without this check: a short body makes them panic,
/// and a long one makes the rest of it parse as further messages.
fn body_well_formed(ty: u8, body: &[u8]) -> bool {
    fn cstring(b: &[u8]) -> Option<&[u8]> {
        let nul = b.iter().position(|&c| c == 0)?;
        Some(&b[nul + 1..])
    }
    fn take(b: &[u8], n: usize) -> Option<&[u8]> {
        b.get(n..)
    }
    fn count(b: &[u8]) -> Option<(usize, &[u8])> {
        Some((
            usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?])),
            &b[2..],
        ))
    }
    let rest = || -> Option<&[u8]> {
        match ty {
            b'P' => {
                let (n, rest) = count(cstring(cstring(body)?)?)?;
                take(rest, n * 4)
            }
            b'B' => {
                let (n, rest) = count(cstring(cstring(body)?)?)?;
                let (params, mut rest) = count(take(rest, n * 2)?)?;
                for _ in 0..params {
                    let len = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
                    rest = take(&rest[4..], usize::try_from(len).unwrap_or(0))?;
                }
                let (n, rest) = count(rest)?;
                take(rest, n * 2)
            }
            b'D' | b'C' => cstring(take(body, 1)?),
            b'E' => {
                let rest = cstring(body)?;
                let max_rows = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
                (0..=EXECUTE_MAX_ROWS)
                    .contains(&max_rows)
                    .then_some(&rest[4..])
            }
            b'Q' | b'f' => cstring(body),
            _ => Some(body),
        }
    };
    rest().is_some_and(<[u8]>::is_empty) || !CHECKED_TYPES.contains(&ty)
}

impl Framing {
    /// Framing from the start of a connection (its startup packet), with
    /// messages of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Framing {
        Framing {
            max,
            frame: Frame::Header {
                typed: false,
                have: 0,
            },
            header: [0; 5],
            too_large: None,
            body: None,
            malformed: None,
            malformed_at: 0,
            in_startup: false,
            unsupported_version: None,
            text_messages: 0,
            invalid_utf8: VecDeque::new(),
        }
    }

    /// A checked message's body is complete: flag it if malformed, note
    /// invalid UTF-8 in its strings and an unsupported protocol version.
    fn finish_body(&mut self, start: usize) {
        let Some(body) = self.body.take() else {
            return;
        };
        if std::mem::take(&mut self.in_startup) {
            if let [a, b, c, d, ..] = body[..] {
                let major = u16::from_be_bytes([a, b]);
                if major != 3 && major != SPECIAL_REQUEST_MAJOR {
                    self.unsupported_version = Some((major, u16::from_be_bytes([c, d])));
                }
            }
            return;
        }
        let ty = self.header[0];
        if !body_well_formed(ty, &body) {
            self.malformed = Some(ty);
            self.malformed_at = start;
            return;
        }
        if TEXT_TYPES.contains(&ty) {
            let n = self.text_messages;
            self.text_messages += 1;
            if let Some(message) = invalid_utf8(ty, &body) {
                self.invalid_utf8.push_back((n, message));
            }
        }
    }

    /// Whether the `n`th message of [`TEXT_TYPES`] (counted from 0, in the
    /// order they arrived) had invalid UTF-8: PostgreSQL's error message.
    /// Called once per such message, in order.
    pub(crate) fn take_invalid_utf8(&mut self, n: u64) -> Option<String> {
        while self.invalid_utf8.front().is_some_and(|(m, _)| *m < n) {
            self.invalid_utf8.pop_front();
        }
        match self.invalid_utf8.front() {
            Some((m, _)) if *m == n => self.invalid_utf8.pop_front().map(|(_, e)| e),
            _ => None,
        }
    }

    /// Follows `bytes`; `Err(length)` once a message exceeds the limit.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<(), usize> {
        if let Some(len) = self.too_large {
            return Err(len);
        }
        let total = bytes.len();
        // Where the current message began in `bytes` (0: in an earlier read).
        let mut start = 0;
        while !bytes.is_empty() && self.malformed.is_none() {
            match self.frame {
                Frame::Header { typed, have } => {
                    if have == 0 {
                        start = total - bytes.len();
                    }
                    let need = if typed { 5 } else { 4 };
                    let take = (need - have).min(bytes.len());
                    self.header[have..have + take].copy_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    let have = have + take;
                    if have < need {
                        self.frame = Frame::Header { typed, have };
                        continue;
                    }
                    let len_bytes = [
                        self.header[need - 4],
                        self.header[need - 3],
                        self.header[need - 2],
                        self.header[need - 1],
                    ];
                    let len = u32::from_be_bytes(len_bytes) as usize;
                    if len > self.max {
                        self.too_large = Some(len);
                        return Err(len);
                    }
                    // A typed length below 4 would underflow in pgwire's
                    // decoders (a panic): flag it like a malformed body.
                    if typed && len < 4 {
                        self.malformed = Some(self.header[0]);
                        self.malformed_at = start;
                        break;
                    }
                    if typed && CHECKED_TYPES.contains(&self.header[0]) {
                        self.body = Some(Vec::new());
                    }
                    if !typed {
                        self.in_startup = true;
                        self.body = Some(Vec::new());
                    }
                    self.frame = match len.saturating_sub(4) {
                        0 => {
                            self.finish_body(start);
                            Frame::Header {
                                typed: true,
                                have: 0,
                            }
                        }
                        remaining => Frame::Body { remaining },
                    };
                }
                Frame::Body { remaining } => {
                    let take = remaining.min(bytes.len());
                    if let Some(body) = &mut self.body {
                        body.extend_from_slice(&bytes[..take]);
                    }
                    bytes = &bytes[take..];
                    self.frame = if take == remaining {
                        self.finish_body(start);
                        Frame::Header {
                            typed: true,
                            have: 0,
                        }
                    } else {
                        Frame::Body {
                            remaining: remaining - take,
                        }
                    };
                }
            }
        }
        Ok(())
    }
}

/// The client stream, reading through [`Framing`]: a read that brings the
/// header of an oversized message fails instead of buffering it.
pub(crate) struct Limited<T> {
    /// The client stream.
    pub(crate) inner: T,
    /// Where the client is in its messages.
    pub(crate) framing: Framing,
}

impl<T: AsyncRead + Unpin> AsyncRead for Limited<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(len) = this.framing.too_large {
            return Poll::Ready(Err(too_large_io(len)));
        }
        if let Some(ty) = this.framing.malformed {
            return Poll::Ready(Err(malformed_io(ty)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => match this.framing.feed(&buf.filled()[before..]) {
                Ok(()) => match this.framing.malformed {
                    // Deliver the messages before the malformed one; the
                    // next read reports it.
                    Some(_) if this.framing.malformed_at > 0 => {
                        buf.set_filled(before + this.framing.malformed_at);
                        Poll::Ready(Ok(()))
                    }
                    Some(ty) => Poll::Ready(Err(malformed_io(ty))),
                    None => Poll::Ready(Ok(())),
                },
                Err(len) => Poll::Ready(Err(too_large_io(len))),
            },
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Limited<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn too_large_io(len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("client message of {len} bytes is too large"),
    )
}

fn malformed_io(ty: u8) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "invalid frontend message format (type {:?})",
            char::from(ty)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ty];
        v.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn framing_follows_messages_split_anywhere() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&12u32.to_be_bytes());
        stream.extend_from_slice(&[0, 3, 0, 0, b'x', 0, 0, 0]);
        stream.extend(typed(b'Q', b"SELECT 1\0"));
        stream.extend(typed(b'S', b""));
        stream.extend(typed(b'Q', &[&[b'a'; 89][..], b"\0"].concat()));
        for chunk in 1..8 {
            let mut f = Framing::new(100);
            for piece in stream.chunks(chunk) {
                assert_eq!(f.feed(piece), Ok(()), "chunk {chunk}");
            }
            assert_eq!(
                f.frame,
                Frame::Header {
                    typed: true,
                    have: 0
                }
            );
        }
        let mut f = Framing::new(100);
        let big = typed(b'Q', &[b'a'; 97]);
        f.feed(&stream[..12]).unwrap();
        assert_eq!(f.feed(&big[..3]), Ok(()));
        assert_eq!(f.feed(&big[3..]), Err(101));
        assert_eq!(f.feed(b"more"), Err(101), "stays failed");
    }

    /// Found by the `pgwire_messages` fuzz target: a Parse message whose
    /// declared parameter types run past its end made pgwire's decoder panic.
    #[test]
    fn truncated_extended_messages_are_flagged_before_decoding() {
        let mut ok = Vec::new();
        ok.extend_from_slice(&8u32.to_be_bytes());
        ok.extend_from_slice(&[0, 3, 0, 0]);
        ok.extend(typed(b'P', b"s\0SELECT 1\0\0\x01\0\0\0\x17"));
        ok.extend(typed(b'B', b"\0s\0\0\x01\0\x01\0\x01\0\0\0\x011\0\0"));
        ok.extend(typed(b'D', b"P\0"));
        ok.extend(typed(b'E', b"\0\0\0\0\0"));
        ok.extend(typed(b'C', b"S\0"));
        ok.extend(typed(b'Q', b"SELECT 1\0"));
        ok.extend(typed(b'S', b""));
        let mut f = Framing::new(1 << 20);
        assert_eq!(f.feed(&ok), Ok(()));
        assert_eq!(f.malformed, None);
        let bad: [(u8, &[u8]); 13] = [
            (b'P', b"s\0SELECT 1\0\0\x01\0\0"),
            (b'P', b"s\0SELECT 1"),
            (b'B', b"\0s\0\0\0\0\x01\0\0\0\x05ab"),
            (b'B', b"\0s\0\0\0\0\0\0\x01"),
            (b'D', b""),
            (b'C', b""),
            (b'E', b"\0\0"),
            (b'E', b"\0ers\0"),
            (b'E', b"\0\xff\xff\xff\xff"),
            (b'Q', b"SELECT 1\0B\0\0\0\x0c\0\0\0\0\x01\0\0\0"),
            (b'Q', b"SELECT 1"),
            (b'S', b"\0"),
            (b'P', b"s\0SELECT 1\0\0\0\0"),
        ];
        for (ty, body) in bad {
            let mut f = Framing::new(1 << 20);
            let mut stream = ok.clone();
            stream.extend(typed(ty, body));
            assert_eq!(f.feed(&stream), Ok(()));
            assert_eq!(f.malformed, Some(ty), "{body:?}");
            assert_eq!(
                f.malformed_at,
                ok.len(),
                "valid messages before it are kept"
            );
        }
        // A typed message whose length word is below 4 (CopyData of length 1).
        let mut f = Framing::new(1 << 20);
        let mut stream = ok.clone();
        stream.extend_from_slice(&[b'd', 0, 0, 0, 1]);
        assert_eq!(f.feed(&stream), Ok(()));
        assert_eq!((f.malformed, f.malformed_at), (Some(b'd'), ok.len()));
    }
}
