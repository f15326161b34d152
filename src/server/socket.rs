//! One client socket from accept to close: TLS negotiation (via pgwire),
//! then the message loop with audb's per-connection limits — the largest
//! client message ([`Limits::max_message_bytes`], FATAL `54000` beyond it)
//! and the idle-session timeout ([`Limits::idle_session_timeout`], FATAL
//! `57P05`). The loop is pgwire's `process_socket` loop plus those limits;
//! a client that breaks them loses its own connection only.
// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

use super::framing::{Framing, Limited};
use super::handlers::Conn;
use super::sqlstate::{codes, fatal, protocol_error};
use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
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

pub(crate) async fn serve_socket(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    conn: Arc<Conn>,
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

    // Messages of the types whose strings the framing checks, so far.
    let mut text_messages: u64 = 0;
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
            Some(Err(_)) if socket.get_ref().framing.unsupported_version.is_some() => {
                let (major, minor) = socket
                    .get_ref()
                    .framing
                    .unsupported_version
                    .unwrap_or_default();
                let message = unsupported_protocol(major, minor);
                if major < 3 {
                    let io = socket.get_mut();
                    let _ = io.write_all(&old_protocol_error(&message)).await;
                    let _ = io.flush().await;
                } else {
                    let info = fatal_info(codes::FEATURE_NOT_SUPPORTED, message);
                    let _ = socket
                        .send(PgWireBackendMessage::ErrorResponse(info.into()))
                        .await;
                }
                break;
            }
            Some(Err(e)) => {
                // A malformed message: pgwire's FATAL error for it, in
                // PostgreSQL's words where they differ.
                let mut e = match e {
                    PgWireError::InvalidMessageType(ty) => fatal(
                        codes::PROTOCOL_VIOLATION,
                        format!("invalid frontend message type {ty}"),
                    ),
                    e => e,
                };
                conn.on_error(&socket, &mut e);
                let _ = process_error(&mut socket, e, false).await;
                break;
            }
            None => break,
        };
        // Terminate ends the session; some clients wait for the close.
        if matches!(msg, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let state = socket.state();
        let bad_utf8 = if is_text_message(&msg) {
            let n = text_messages;
            text_messages += 1;
            socket.get_mut().framing.take_invalid_utf8(n)
        } else {
            None
        };
        // Where PostgreSQL reads the message's strings (not while it skips
        // to Sync, nor during COPY or startup, where the message is an
        // error of its own).
        let reads_strings = matches!(
            state,
            PgWireConnectionState::ReadyForQuery | PgWireConnectionState::QueryInProgress
        );
        if let (Some(message), true) = (bad_utf8, reads_strings) {
            let mut e = PgWireError::UserError(Box::new(protocol_error(
                codes::CHARACTER_NOT_IN_REPERTOIRE,
                message,
            )));
            conn.on_error(&socket, &mut e);
            process_error(&mut socket, e, msg.is_extended_query()).await?;
            continue;
        }
        if matches!(msg, PgWireFrontendMessage::PasswordMessageFamily(_)) && !in_startup {
            // pgwire ignores it; PostgreSQL ends the connection.
            let info = fatal_info(
                codes::PROTOCOL_VIOLATION,
                "invalid frontend message type 112".to_owned(),
            );
            let _ = socket
                .send(PgWireBackendMessage::ErrorResponse(info.into()))
                .await;
            break;
        }
        if matches!(msg, PgWireFrontendMessage::CopyDone(_))
            && matches!(state, PgWireConnectionState::CopyInProgress(false))
        {
            // The rest of the Query message runs after the copy.
            conn.copy_done_simple(&mut socket).await?;
            continue;
        }
        let is_extended_query = match state {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => msg.is_extended_query(),
        };
        let is_cancel_request = matches!(msg, PgWireFrontendMessage::CancelRequest(_));
        if let Err(mut e) = process_message(
            msg,
            &mut socket,
            conn.clone(),
            conn.clone(),
            conn.clone(),
            conn.clone(),
            conn.clone(),
        )
        .await
        {
            conn.on_error(&socket, &mut e);
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

/// Whether a message is of a type whose strings the framing checks (see
/// [`Framing::take_invalid_utf8`]).
fn is_text_message(msg: &PgWireFrontendMessage) -> bool {
    matches!(
        msg,
        PgWireFrontendMessage::Query(_)
            | PgWireFrontendMessage::Parse(_)
            | PgWireFrontendMessage::Bind(_)
            | PgWireFrontendMessage::Describe(_)
            | PgWireFrontendMessage::Close(_)
            | PgWireFrontendMessage::Execute(_)
    )
}

/// PostgreSQL 15's refusal of a startup packet of protocol `major.minor`
/// (sent as FATAL `0A000`).
fn unsupported_protocol(major: u16, minor: u16) -> String {
    format!("unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0")
}

/// An error in the format of protocol versions before 3 — a type byte and
/// a NUL-terminated text — which is what PostgreSQL sends clients that
/// asked for one.
fn old_protocol_error(message: &str) -> Vec<u8> {
    [b"EFATAL:  ", message.as_bytes(), b"\n\0"].concat()
}

/// Sleeps for `d`, or forever without one.
async fn sleep_or_pending(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
