//! The harness of the bad-input battery: an in-process server with a small
//! schema, a table-driven case runner that checks each case's SQLSTATE and
//! that the server still answers (same connection and a new one, with the
//! data unchanged), optional re-checking of every case against a real
//! PostgreSQL 15, and a raw protocol-3 client for what drivers never send.

use audb::db::Db;
use audb::server::{ServerHandle, spawn_for_tests};
use audb::storage::Options;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// The schema every case runs against (valid PostgreSQL 15 as well, so the
/// same cases can be replayed there). Audience tables need a key column.
pub const SCHEMA: &str = "CREATE TABLE users (user_id TEXT PRIMARY KEY, city TEXT, age INT, vip BOOLEAN, ltv NUMERIC(12,2), interests TEXT[], score DOUBLE PRECISION, register_date DATE, last_active TIMESTAMPTZ, small SMALLINT, big BIGINT, r REAL, seen TIMESTAMP);
CREATE TABLE accounts (id BIGINT PRIMARY KEY, name TEXT);
INSERT INTO users VALUES
 ('u1', 'Shanghai', 30, true, 1200.50, ARRAY['sports','music'], 0.5, '2024-01-15', '2024-01-15 10:00:00+00', 1, 10, 1.5, '2024-01-15 10:00:00'),
 ('u2', 'Beijing', 25, false, 300.00, ARRAY['music'], 0.25, '2024-03-01', '2024-03-01 08:30:00+00', 2, 20, 2.5, '2024-03-01 08:30:00'),
 ('u3', 'Shanghai', NULL, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 ('u4', 'Guangzhou', 41, NULL, 99.99, ARRAY['travel'], 0.75, '2023-12-31', '2023-12-31 23:59:59+00', 4, 40, 4.5, '2023-12-31 23:59:59');
INSERT INTO accounts VALUES (1, 'a'), (2, 'b');
CREATE VIEW shanghai AS SELECT * FROM users WHERE city = 'Shanghai';
CREATE MATERIALIZED VIEW vips AS SELECT * FROM users WHERE vip";

/// A query whose answer changes if any case wrote anything (partially or
/// not) to the data the schema loaded.
pub const FINGERPRINT: &str = "SELECT COUNT(*), COUNT(city), SUM(age), COUNT(vip), SUM(ltv), COUNT(interests), SUM(big), MAX(register_date), MAX(last_active) FROM users";

/// A running in-process server and its data directory.
pub struct Server {
    /// Where to connect.
    pub addr: SocketAddr,
    _handle: ServerHandle,
    _dir: tempfile::TempDir,
}

/// Starts a server on a fresh data directory.
pub async fn server() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        Options {
            background: false,
            ..Options::default()
        },
    )
    .expect("open");
    let (addr, handle) = spawn_for_tests(Arc::new(db)).await.expect("spawn");
    Server {
        addr,
        _handle: handle,
        _dir: dir,
    }
}

/// Connects with a connection string.
pub async fn connect_str(conn: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(conn, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Connects to the audb server as `audb`.
pub async fn connect(addr: SocketAddr) -> Client {
    connect_str(&format!(
        "host=127.0.0.1 port={} user=audb dbname=audb connect_timeout=10",
        addr.port()
    ))
    .await
    .expect("connect")
}

/// A server with [`SCHEMA`] loaded, a connection to it and the
/// [`FINGERPRINT`] of its data.
pub async fn schema_server() -> (Server, Client, Vec<Vec<Option<String>>>) {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(SCHEMA).await.expect("schema");
    let fp = rows(&c.simple_query(FINGERPRINT).await.expect("fingerprint"));
    (s, c, fp)
}

/// The rows of a simple-query answer, as text.
pub fn rows(msgs: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The SQLSTATE of a client error (or a description of an error without
/// one, such as a closed connection).
pub fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE ({e})"))
}

/// How a case relates to PostgreSQL 15.
#[derive(Clone, Copy, Debug)]
pub enum Pg {
    /// PostgreSQL answers with the same SQLSTATE.
    Same,
    /// PostgreSQL answers differently on purpose: its SQLSTATE (or `"ok"`)
    /// and why audb differs.
    Differs(&'static str, &'static str),
    /// PostgreSQL has nothing equivalent (an audb-only rule): why.
    NoEquivalent(&'static str),
}

/// One bad input and the SQLSTATE it must produce.
#[derive(Clone, Debug)]
pub struct Case {
    /// The SQL text (sent as one simple Query, and as one extended-protocol
    /// statement when it is a single statement without parameters).
    pub sql: String,
    /// The expected SQLSTATE.
    pub state: &'static str,
    /// PostgreSQL's answer.
    pub pg: Pg,
    /// A known audb bug: what audb answers today instead of `state`, and
    /// where it is reported. The case passes while audb gives exactly
    /// that, and fails (asking to drop the marker) once it is fixed.
    pub bug: Option<(&'static str, &'static str)>,
}

impl Case {
    /// Marks a known bug: audb answers `today` instead of the right state.
    #[allow(
        dead_code,
        reason = "kept for the next known bug: every marked one is fixed"
    )]
    pub fn bug(mut self, today: &'static str, note: &'static str) -> Case {
        self.bug = Some((today, note));
        self
    }
}

/// A case where PostgreSQL 15 gives the same SQLSTATE.
pub fn c(sql: impl Into<String>, state: &'static str) -> Case {
    Case {
        sql: sql.into(),
        state,
        pg: Pg::Same,
        bug: None,
    }
}

/// A case where audb deliberately differs from PostgreSQL 15.
pub fn differs(
    sql: impl Into<String>,
    state: &'static str,
    pg_state: &'static str,
    why: &'static str,
) -> Case {
    Case {
        sql: sql.into(),
        state,
        pg: Pg::Differs(pg_state, why),
        bug: None,
    }
}

/// A case PostgreSQL has no equivalent of.
pub fn audb_only(sql: impl Into<String>, state: &'static str, why: &'static str) -> Case {
    Case {
        sql: sql.into(),
        state,
        pg: Pg::NoEquivalent(why),
        bug: None,
    }
}

/// Shortens long SQL for messages.
pub fn short(sql: &str) -> String {
    if sql.len() <= 120 {
        sql.to_owned()
    } else {
        let mut end = 100;
        while !sql.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} bytes)", &sql[..end], sql.len())
    }
}

/// Whether a case can also run as one extended-protocol statement: a
/// single statement (no `;` before the end) without `$n` parameters
/// (tokio-postgres refuses those client-side without parameters).
fn extended_ok(sql: &str) -> bool {
    !sql.trim_end().trim_end_matches(';').contains(';') && !sql.contains('$')
}

/// The SQLSTATE of one statement through the simple protocol ("ok" if it
/// succeeded).
async fn simple_state(c: &Client, sql: &str) -> String {
    match tokio::time::timeout(Duration::from_secs(60), c.simple_query(sql)).await {
        Err(_) => "timeout".into(),
        Ok(Ok(_)) => "ok".into(),
        Ok(Err(e)) => code(&e),
    }
}

/// The SQLSTATE of one statement through the extended protocol.
async fn extended_state(c: &Client, sql: &str) -> String {
    match tokio::time::timeout(Duration::from_secs(60), c.query(sql, &[])).await {
        Err(_) => "timeout".into(),
        Ok(Ok(_)) => "ok".into(),
        Ok(Err(e)) => code(&e),
    }
}

/// Runs every case against a fresh server with [`SCHEMA`]: each must fail
/// with its SQLSTATE through the simple protocol (and the extended one when
/// possible), after which the same connection and a new one still answer
/// [`FINGERPRINT`] unchanged. Every mismatch is collected and reported by
/// case, so one run shows all failing cases.
///
/// With `AUDB_BAD_INPUT_PG` set to a libpq connection string of a
/// PostgreSQL 15 server (superuser, e.g. `host=127.0.0.1 port=54331
/// user=postgres`), each case is also replayed there on a fresh database
/// named `bad_<group>` with the same schema, and PostgreSQL's SQLSTATE must
/// be the one the case declares.
pub async fn run_cases(group: &str, cases: &[Case]) {
    let (s, c, fp) = schema_server().await;
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = match case.pg {
            Pg::Same => format!("{group}[{i}] `{}`", short(&case.sql)),
            Pg::Differs(pg, why) => format!(
                "{group}[{i}] `{}` (PostgreSQL: {pg}; audb differs: {why})",
                short(&case.sql)
            ),
            Pg::NoEquivalent(why) => {
                format!("{group}[{i}] `{}` (audb only: {why})", short(&case.sql))
            }
        };
        let mut answers = vec![("simple", simple_state(&c, &case.sql).await)];
        if extended_ok(&case.sql) {
            answers.push(("extended", extended_state(&c, &case.sql).await));
        }
        for (protocol, got) in answers {
            match case.bug {
                None if got != case.state => failures.push(format!(
                    "{name}: {protocol} protocol: expected {}, got {got}",
                    case.state
                )),
                Some((today, note)) if got != today => failures.push(if got == case.state {
                    format!("{name}: {protocol} protocol: known bug fixed ({note}): drop the marker")
                } else {
                    format!(
                        "{name}: {protocol} protocol: expected {} (known bug: {today}, {note}), got {got}",
                        case.state
                    )
                }),
                _ => {}
            }
        }
        match c.simple_query(FINGERPRINT).await {
            Ok(m) if rows(&m) == fp => {}
            Ok(m) => failures.push(format!(
                "{name}: data changed: {:?} instead of {fp:?}",
                rows(&m)
            )),
            Err(e) => failures.push(format!("{name}: same connection no longer answers: {e}")),
        }
        let fresh = connect(s.addr).await;
        match fresh.simple_query(FINGERPRINT).await {
            Ok(m) if rows(&m) == fp => {}
            other => failures.push(format!(
                "{name}: a new connection does not answer: {:?}",
                other.map(|m| rows(&m))
            )),
        }
    }
    if let Ok(pg) = std::env::var("AUDB_BAD_INPUT_PG") {
        failures.extend(check_postgres(&pg, group, cases).await);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Replays the cases on PostgreSQL (see [`run_cases`]); returns mismatches.
async fn check_postgres(conn: &str, group: &str, cases: &[Case]) -> Vec<String> {
    let admin = connect_str(&format!("{conn} dbname=postgres"))
        .await
        .expect("connect to PostgreSQL");
    let db = format!("bad_{group}");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .expect("drop database");
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create database");
    let pg = connect_str(&format!("{conn} dbname={db}"))
        .await
        .expect("connect to PostgreSQL database");
    pg.batch_execute(SCHEMA)
        .await
        .expect("schema on PostgreSQL");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let want = match case.pg {
            Pg::Same => case.state,
            Pg::Differs(s, _) => s,
            Pg::NoEquivalent(_) => continue,
        };
        // In a transaction rolled back after each case: a superuser's
        // writes to the catalogs must not damage the next cases.
        pg.batch_execute("BEGIN").await.expect("BEGIN");
        let got = simple_state(&pg, &case.sql).await;
        pg.batch_execute("ROLLBACK").await.expect("ROLLBACK");
        if got != want {
            failures.push(format!(
                "{group}[{i}] `{}`: PostgreSQL says {got}, the case says {want}",
                short(&case.sql)
            ));
        }
    }
    failures
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

/// Asserts the server answers a new connection with the expected data.
pub async fn still_serves(addr: SocketAddr, fp: &[Vec<Option<String>>], after: &str) {
    let c = connect(addr).await;
    let m = c
        .simple_query(FINGERPRINT)
        .await
        .unwrap_or_else(|e| panic!("after {after}: a new connection fails: {e}"));
    assert_eq!(rows(&m), fp, "after {after}: data changed");
}

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
    /// CommandComplete tags.
    pub tags: Vec<String>,
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

/// A StartupMessage for a user and database.
pub fn startup_message(user: &str, database: &str) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for s in ["user", user, "database", database, ""] {
        body.extend(cstr(s));
    }
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend(body);
    m
}

impl Raw {
    /// Connects as `audb` and completes startup.
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw::connect_as(addr, "audb", "audb").await
    }

    /// Connects as `user` to `database` and completes startup.
    pub async fn connect_as(addr: SocketAddr, user: &str, database: &str) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("tcp");
        let mut r = Raw { stream };
        r.stream
            .write_all(&startup_message(user, database))
            .await
            .expect("startup");
        let reply = r.read_until_ready().await;
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

    /// Reads messages until ReadyForQuery or until the server closes.
    pub async fn read_until_ready(&mut self) -> Reply {
        let mut reply = Reply::default();
        loop {
            let mut head = [0u8; 5];
            let read =
                tokio::time::timeout(Duration::from_secs(30), self.stream.read_exact(&mut head))
                    .await
                    .expect("reply in time");
            if read.is_err() {
                reply.closed = true;
                return reply;
            }
            let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
            let mut body = vec![0u8; (len as usize).saturating_sub(4)];
            if self.stream.read_exact(&mut body).await.is_err() {
                reply.closed = true;
                return reply;
            }
            reply.kinds.push(head[0]);
            match head[0] {
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
                b'E' => {
                    for f in body.split(|b| *b == 0).filter(|f| !f.is_empty()) {
                        let v = String::from_utf8_lossy(&f[1..]).into_owned();
                        match f[0] {
                            b'C' => reply.errors.push(v),
                            b'S' => reply.severities.push(v),
                            b'M' => reply.messages.push(v),
                            _ => {}
                        }
                    }
                }
                b'D' => reply.rows.push(data_row(&body)),
                _ => {}
            }
        }
    }
}

/// The values of a DataRow body, as text.
fn data_row(body: &[u8]) -> Vec<Option<String>> {
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

/// The port of a libpq-style connection string (`host=… port=…`), 5432 when
/// absent: where the raw-socket checks reach the reference PostgreSQL.
pub fn pg_port(conn: &str) -> u16 {
    conn.split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432)
}
