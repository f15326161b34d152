//! A minimal protocol-3 client over a raw socket, for what drivers hide or
//! never send: ReadyForQuery status bytes, ParameterStatus, notices, the
//! exact messages of a COPY, malformed frontend messages.

// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the client waits for the next message before failing the test.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// What one round trip of the raw client saw.
#[derive(Debug, Default)]
pub struct Reply {
    /// ReadyForQuery status byte (0 if the connection closed first).
    pub status: u8,
    /// SQLSTATEs of ErrorResponses.
    pub errors: Vec<String>,
    /// Severities of ErrorResponses (`ERROR`, `FATAL`).
    pub severities: Vec<String>,
    /// Messages of ErrorResponses.
    pub messages: Vec<String>,
    /// SQLSTATEs of NoticeResponses.
    pub notices: Vec<String>,
    /// CommandComplete tags, and `<empty>` for an EmptyQueryResponse.
    pub tags: Vec<String>,
    /// ParameterStatus messages: (name, value).
    pub params: Vec<(String, String)>,
    /// DataRow values as text.
    pub rows: Vec<Vec<Option<String>>>,
    /// Whether the server closed the connection.
    pub closed: bool,
    /// The type byte of every message, in order (ReadyForQuery included).
    pub kinds: Vec<u8>,
    /// NegotiateProtocolVersion: the newest version the server speaks and
    /// the protocol options it did not recognise.
    pub negotiate: Option<(i32, Vec<String>)>,
}

/// A minimal protocol-3 client over a raw socket.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
}

/// A NUL-terminated string.
pub fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// A frontend message: type byte, length, body.
pub fn msg(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend(((body.len() + 4) as i32).to_be_bytes());
    m.extend(body);
    m
}

/// A StartupMessage (protocol 3.0) with these parameters.
pub fn startup_with(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for (name, value) in params {
        body.extend(cstr(name));
        body.extend(cstr(value));
    }
    body.push(0);
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend(body);
    m
}

/// A StartupMessage for a user and database.
pub fn startup_message(user: &str, database: &str) -> Vec<u8> {
    startup_with(&[("user", user), ("database", database)])
}

/// The (type, value) fields of an ErrorResponse or NoticeResponse body.
pub fn fields(body: &[u8]) -> Vec<(u8, String)> {
    body.split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| (f[0], String::from_utf8_lossy(&f[1..]).into_owned()))
        .collect()
}

/// The values of a DataRow body, as text.
pub fn data_row(body: &[u8]) -> Vec<Option<String>> {
    let n = i16::from_be_bytes([body[0], body[1]]) as usize;
    let mut at = 2;
    let mut row = Vec::new();
    for _ in 0..n {
        let l = i32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        at += 4;
        if l < 0 {
            row.push(None);
        } else {
            let end = at + l as usize;
            row.push(Some(String::from_utf8_lossy(&body[at..end]).into_owned()));
            at = end;
        }
    }
    row
}

/// Waits until the server closes `stream` (EOF or reset), discarding what
/// it sends; `false` if it is still open after `secs` seconds.
pub async fn closed_within(stream: &mut TcpStream, secs: u64) -> bool {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

impl Raw {
    /// Connects, sends a StartupMessage with `params` and reads the answer
    /// up to the first ReadyForQuery (whatever its status).
    pub async fn start(addr: SocketAddr, params: &[(&str, &str)]) -> (Raw, Reply) {
        let stream = TcpStream::connect(addr).await.expect("tcp");
        let mut r = Raw { stream };
        r.write(&startup_with(params)).await;
        let reply = r.read_until_ready().await;
        (r, reply)
    }

    /// Connects as `audb` and completes startup.
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw::connect_as(addr, "audb", "audb").await
    }

    /// Connects as `user` to `database` and completes startup.
    pub async fn connect_as(addr: SocketAddr, user: &str, database: &str) -> Raw {
        let (r, reply) = Raw::start(addr, &[("user", user), ("database", database)]).await;
        assert_eq!(reply.status, b'I', "startup: {reply:?}");
        r
    }

    /// Sends raw bytes.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Sends one message.
    pub async fn send(&mut self, ty: u8, body: &[u8]) {
        self.write(&msg(ty, body)).await;
    }

    /// Sends a simple Query without reading the answer.
    pub async fn send_query(&mut self, sql: &str) {
        self.send(b'Q', &cstr(sql)).await;
    }

    /// A simple Query with arbitrary bytes as its text.
    pub async fn query_bytes(&mut self, sql: &[u8]) -> Reply {
        let mut body = sql.to_vec();
        body.push(0);
        self.send(b'Q', &body).await;
        self.read_until_ready().await
    }

    /// A simple Query.
    pub async fn query(&mut self, sql: &str) -> Reply {
        self.query_bytes(sql.as_bytes()).await
    }

    /// The next backend message as (type, body); `None` once the server
    /// has closed the connection.
    pub async fn message(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut head = [0u8; 5];
        tokio::time::timeout(REPLY_TIMEOUT, self.stream.read_exact(&mut head))
            .await
            .expect("reply in time")
            .ok()?;
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        let mut body = vec![0u8; usize::try_from(len).unwrap_or(0).saturating_sub(4)];
        self.stream.read_exact(&mut body).await.ok()?;
        Some((head[0], body))
    }

    /// Messages up to and including the first of type `ty`.
    pub async fn until(&mut self, ty: u8) -> Vec<(u8, Vec<u8>)> {
        let mut seen = Vec::new();
        loop {
            let m = self.message().await.unwrap_or_else(|| {
                panic!(
                    "closed before a '{}' message; seen {seen:?}",
                    char::from(ty)
                )
            });
            let done = m.0 == ty;
            seen.push(m);
            if done {
                return seen;
            }
        }
    }

    /// Reads messages until ReadyForQuery or until the server closes.
    pub async fn read_until_ready(&mut self) -> Reply {
        let mut reply = Reply::default();
        loop {
            let Some((ty, body)) = self.message().await else {
                reply.closed = true;
                return reply;
            };
            reply.kinds.push(ty);
            match ty {
                b'Z' => {
                    reply.status = body[0];
                    return reply;
                }
                b'v' if body.len() >= 8 => {
                    let version = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let options = body[8..]
                        .split(|b| *b == 0)
                        .filter(|o| !o.is_empty())
                        .map(|o| String::from_utf8_lossy(o).into_owned())
                        .collect();
                    reply.negotiate = Some((version, options));
                }
                b'C' => reply
                    .tags
                    .push(String::from_utf8_lossy(&body[..body.len() - 1]).into_owned()),
                b'I' => reply.tags.push("<empty>".into()),
                b'E' => {
                    for (f, v) in fields(&body) {
                        match f {
                            b'C' => reply.errors.push(v),
                            b'S' => reply.severities.push(v),
                            b'M' => reply.messages.push(v),
                            _ => {}
                        }
                    }
                }
                b'N' => reply.notices.push(
                    fields(&body)
                        .into_iter()
                        .find(|(t, _)| *t == b'C')
                        .map(|(_, v)| v)
                        .unwrap_or_default(),
                ),
                b'S' => {
                    let parts: Vec<String> = body
                        .split(|b| *b == 0)
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .collect();
                    reply.params.push((parts[0].clone(), parts[1].clone()));
                }
                b'D' => reply.rows.push(data_row(&body)),
                _ => {}
            }
        }
    }
}
