//! One client socket from accept to close: TLS negotiation (via pgwire),
//! then the message loop with audb's per-connection limits — the largest
//! client message ([`Limits::max_message_bytes`], FATAL `54000` beyond it)
//! and the idle-session timeout ([`Limits::idle_session_timeout`], FATAL
//! `57P05`). The loop is pgwire's `process_socket` loop plus those limits;
//! a client that breaks them loses its own connection only.
// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers};
use pgwire::error::ErrorInfo;
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, FramedParts};

/// How long a client may take from connect to the end of authentication.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Per-connection limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Largest client message, length word included.
    pub(crate) max_message_bytes: usize,
    /// End sessions idle (outside a transaction block) this long.
    pub(crate) idle_session_timeout: Option<Duration>,
}

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
/// fields: pgwire's decoders would panic reading past its end.
#[derive(Debug)]
struct Framing {
    max: usize,
    frame: Frame,
    header: [u8; 5],
    /// The length of the first message over the limit.
    too_large: Option<usize>,
    /// The body so far of the current message, if its type is checked.
    body: Option<Vec<u8>>,
    /// The type byte of the first malformed message.
    malformed: Option<u8>,
    /// Where, in the bytes of the last `feed`, the malformed message began
    /// (0 if it began in an earlier read).
    malformed_at: usize,
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
    fn new(max: usize) -> Framing {
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
        }
    }

    /// A checked message's body is complete: flag it if malformed.
    fn finish_body(&mut self, start: usize) {
        if let Some(body) = self.body.take()
            && !body_well_formed(self.header[0], &body)
        {
            self.malformed = Some(self.header[0]);
            self.malformed_at = start;
        }
    }

    /// Follows `bytes`; `Err(length)` once a message exceeds the limit.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), usize> {
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
struct Limited<T> {
    inner: T,
    framing: Framing,
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

fn fatal_info(code: &str, message: String) -> ErrorInfo {
    ErrorInfo::new("FATAL".to_owned(), code.to_owned(), message)
}

/// Serves one accepted socket until the client leaves, breaks a limit or
/// fails fatally.
/// How long [`linger`] keeps reading a client's unread input.
const LINGER: Duration = Duration::from_secs(2);

/// After a FATAL error sent while the client is still sending (the rest of
/// an oversized message): ends our side of the stream and reads and
/// discards the client's input until it closes, for at most [`LINGER`].
/// Closing a socket with unread input makes the kernel reset the
/// connection, and a reset can discard the error before the client reads it.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S) {
    let _ = io.shutdown().await;
    let mut buf = vec![0u8; 64 << 10];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

pub(crate) async fn serve_socket<H: PgWireServerHandlers>(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    handlers: H,
    limits: Limits,
) -> io::Result<()> {
    let startup_deadline = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_deadline);
    let negotiated = tokio::select! {
        () = &mut startup_deadline => return Ok(()),
        s = negotiate_tls(tcp, tls) => s?,
    };
    // A direct TLS connection without a configured certificate.
    let Some(plain) = negotiated else {
        return Ok(());
    };
    let old = plain.into_parts();
    let mut framing = Framing::new(limits.max_message_bytes);
    // Bytes pgwire already read (the start of the startup packet).
    let mut read_buf = old.read_buf;
    let _ = framing.feed(&read_buf);
    if framing.malformed.is_some() {
        // Only the messages before the malformed one reach the decoder; the
        // first read reports it.
        read_buf.truncate(framing.malformed_at);
    }
    let mut parts = FramedParts::new(
        Limited {
            inner: old.io,
            framing,
        },
        old.codec,
    );
    parts.read_buf = read_buf;
    parts.write_buf = old.write_buf;
    let mut socket = Framed::from_parts(parts);

    let startup_handler = handlers.startup_handler();
    let simple_query_handler = handlers.simple_query_handler();
    let extended_query_handler = handlers.extended_query_handler();
    let copy_handler = handlers.copy_handler();
    let cancel_handler = handlers.cancel_handler();
    let error_handler = handlers.error_handler();
    loop {
        let state = socket.state();
        let in_startup = matches!(
            state,
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let idle = match limits.idle_session_timeout {
            Some(t)
                if matches!(state, PgWireConnectionState::ReadyForQuery)
                    && socket.transaction_status() == TransactionStatus::Idle =>
            {
                Some(t)
            }
            _ => None,
        };
        let msg = tokio::select! {
            () = &mut startup_deadline, if in_startup => None,
            () = sleep_or_pending(idle) => {
                let info = fatal_info(
                    "57P05",
                    "terminating connection due to idle-session timeout".to_owned(),
                );
                let _ = socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await;
                break;
            }
            msg = socket.next() => msg,
        };
        let msg = match msg {
            Some(Ok(m)) => m,
            Some(Err(_)) if socket.get_ref().framing.too_large.is_some() => {
                let len = socket.get_ref().framing.too_large.unwrap_or_default();
                let info = fatal_info(
                    "54000",
                    format!(
                        "client message of {len} bytes exceeds the limit of {} bytes (max_message_bytes)",
                        limits.max_message_bytes
                    ),
                );
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                linger(&mut socket.get_mut().inner).await;
                break;
            }
            Some(Err(_)) if socket.get_ref().framing.malformed.is_some() => {
                let ty = socket.get_ref().framing.malformed.unwrap_or_default();
                let info = fatal_info(
                    "08P01",
                    format!(
                        "invalid frontend message format (message type {:?})",
                        char::from(ty)
                    ),
                );
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                break;
            }
            Some(Err(e)) => {
                // A malformed message: pgwire's FATAL error for it.
                let mut e = e;
                error_handler.on_error(&socket, &mut e);
                let _ = process_error(&mut socket, e, false).await;
                break;
            }
            None => break,
        };
        // Terminate ends the session; some clients wait for the close.
        if matches!(msg, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let is_extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => msg.is_extended_query(),
        };
        let is_cancel_request = matches!(msg, PgWireFrontendMessage::CancelRequest(_));
        if let Err(mut e) = process_message(
            msg,
            &mut socket,
            startup_handler.clone(),
            simple_query_handler.clone(),
            extended_query_handler.clone(),
            copy_handler.clone(),
            cancel_handler.clone(),
        )
        .await
        {
            error_handler.on_error(&socket, &mut e);
            let is_fatal = e.is_fatal();
            process_error(&mut socket, e, is_extended_query).await?;
            if is_fatal {
                break;
            }
        }
        if is_cancel_request {
            break;
        }
    }
    Ok(())
}

/// Sleeps for `d`, or forever without one.
async fn sleep_or_pending(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
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
