//! Protocol violations and garbage bytes on the socket, before and after
//! startup. A broken client loses its own connection (or just gets an
//! error where PostgreSQL keeps the connection); the server keeps serving
//! everyone else with the data unchanged. Startup packets of other protocol
//! versions are refused or negotiated down to 3.0 as PostgreSQL 15 does.

use super::common::{Raw, cstr, msg, schema_server, startup_message, still_serves};
use std::net::SocketAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What must become of the connection.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// The server closes it (after an optional ErrorResponse, whose
    /// SQLSTATE is given when PostgreSQL sends one).
    Closed(Option<&'static str>),
    /// The server answers with this error (or none) and the connection
    /// keeps working.
    Survives(Option<&'static str>),
    /// Closed or not: only the server's survival is checked (PostgreSQL
    /// answers some malformed messages with 08P01 but keeps the
    /// connection, where audb closes it).
    Lenient,
}

/// When the bytes are sent.
#[derive(Clone, Copy, Debug)]
enum When {
    /// Instead of a startup packet.
    BeforeStartup,
    /// After a completed startup.
    AfterStartup,
}

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn startup_with(version: i32, pairs: &[&str]) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    for s in pairs {
        body.extend(cstr(s));
    }
    body.push(0);
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend(body);
    m
}

/// The cases: name, when, bytes (the socket is half-closed after them when
/// `eof`), expected outcome.
fn cases() -> Vec<(&'static str, When, Vec<u8>, bool, Expect)> {
    use Expect::*;
    use When::*;
    let closed = Closed(None);
    let violation = Closed(Some("08P01"));
    vec![
        (
            "64 bytes of 0xff",
            BeforeStartup,
            vec![0xff; 64],
            false,
            closed,
        ),
        (
            "4 KiB of random bytes",
            BeforeStartup,
            random_bytes(4096, 7),
            false,
            closed,
        ),
        (
            "an HTTP request",
            BeforeStartup,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
            closed,
        ),
        (
            "a startup length of 3",
            BeforeStartup,
            vec![0, 0, 0, 3, 0, 3, 0, 0],
            false,
            closed,
        ),
        (
            "a startup length of 2^31-1",
            BeforeStartup,
            vec![0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0],
            false,
            closed,
        ),
        (
            "a startup packet cut short, then EOF",
            BeforeStartup,
            startup_message("audb", "audb")[..12].to_vec(),
            true,
            closed,
        ),
        (
            "protocol version 2.0",
            BeforeStartup,
            startup_with(0x0002_0000, &["user", "audb"]),
            false,
            // The refusal is in protocol 2's format, which this client
            // cannot read: see `old_and_future_protocol_versions_are_refused`.
            closed,
        ),
        (
            "protocol version 9.0",
            BeforeStartup,
            startup_with(0x0009_0000, &["user", "audb"]),
            false,
            Closed(Some("0A000")),
        ),
        (
            "no user name",
            BeforeStartup,
            startup_with(196_608, &["database", "audb"]),
            false,
            Closed(Some("28000")),
        ),
        (
            "a parameter without a value",
            BeforeStartup,
            startup_with(196_608, &["user"]),
            false,
            closed,
        ),
        (
            "a cancel request with a wrong key",
            BeforeStartup,
            [16i32, 80_877_102, 1000, 42]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
            false,
            closed,
        ),
        (
            "SSLRequest then garbage",
            BeforeStartup,
            [[0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f].to_vec(), vec![0xee; 32]].concat(),
            false,
            closed,
        ),
        (
            "4 KiB of random bytes",
            AfterStartup,
            random_bytes(4096, 11),
            false,
            closed,
        ),
        (
            "a Query with length 2^32-1",
            AfterStartup,
            vec![b'Q', 0xff, 0xff, 0xff, 0xff],
            false,
            closed,
        ),
        (
            "a Query with length 2",
            AfterStartup,
            vec![b'Q', 0, 0, 0, 2],
            false,
            closed,
        ),
        (
            "a Query of 2 GB announced",
            AfterStartup,
            vec![b'Q', 0x7f, 0xff, 0xff, 0xff, b'S'],
            false,
            closed,
        ),
        (
            "an unknown message type",
            AfterStartup,
            msg(b'z', b"hello"),
            false,
            violation,
        ),
        (
            "a second StartupMessage",
            AfterStartup,
            startup_message("audb", "audb"),
            false,
            violation,
        ),
        (
            "a Query cut short, then EOF",
            AfterStartup,
            msg(b'Q', &cstr("SELECT COUNT(*) FROM users"))[..12].to_vec(),
            true,
            closed,
        ),
        (
            "a Query without its NUL",
            AfterStartup,
            msg(b'Q', b"SELECT 1"),
            false,
            violation,
        ),
        (
            "a Bind cut inside its values",
            AfterStartup,
            msg(b'B', &[0, 0, 0, 0, 0, 1, 0, 0, 0, 9, b'a']),
            false,
            violation,
        ),
        (
            "a Parse with a negative type count",
            AfterStartup,
            msg(
                b'P',
                &[cstr(""), cstr("SELECT 1"), vec![0xff, 0xff]].concat(),
            ),
            false,
            violation,
        ),
        (
            "a Describe of kind 'X'",
            AfterStartup,
            [msg(b'D', &[b'X', 0]), msg(b'S', &[])].concat(),
            false,
            violation,
        ),
        ("Terminate", AfterStartup, msg(b'X', &[]), false, closed),
        (
            "CopyData outside COPY",
            AfterStartup,
            msg(b'd', b"1\tx\n"),
            false,
            Survives(None),
        ),
        (
            "CopyDone outside COPY",
            AfterStartup,
            msg(b'c', &[]),
            false,
            Survives(None),
        ),
        ("Flush", AfterStartup, msg(b'H', &[]), false, Survives(None)),
        (
            "a password message nobody asked for",
            AfterStartup,
            msg(b'p', &cstr("secret")),
            false,
            violation,
        ),
    ]
}

/// Sends one case; returns (errors seen, closed).
async fn send_case(
    addr: SocketAddr,
    user: &str,
    db: &str,
    when: When,
    bytes: &[u8],
    eof: bool,
) -> (Vec<String>, bool, Option<Raw>) {
    let mut raw = match when {
        When::BeforeStartup => Raw {
            stream: TcpStream::connect(addr).await.expect("tcp"),
        },
        When::AfterStartup => Raw::connect_as(addr, user, db).await,
    };
    // The server may close before reading everything: write errors are fine.
    let _ = raw.stream.write_all(bytes).await;
    if eof {
        let _ = raw.stream.shutdown().await;
    }
    // Give the server a Query to answer, so a surviving connection shows
    // itself with ReadyForQuery; a closing one fails to read.
    let _ = raw.stream.write_all(&msg(b'Q', &cstr("SELECT 1"))).await;
    let mut errors = Vec::new();
    loop {
        let r =
            tokio::time::timeout(std::time::Duration::from_secs(10), raw.read_until_ready()).await;
        let Ok(r) = r else {
            // Neither answered nor closed: report as open without answer.
            return (errors, false, None);
        };
        errors.extend(r.errors.clone());
        if r.closed {
            return (errors, true, None);
        }
        if r.rows == [vec![Some("1".to_owned())]] {
            return (errors, false, Some(raw));
        }
    }
}

async fn check(addr: SocketAddr, user: &str, db: &str, postgres: bool) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, when, bytes, eof, want) in cases() {
        let name = format!("{name} ({when:?})");
        let (errors, closed, raw) = send_case(addr, user, db, when, &bytes, eof).await;
        let got_code = errors.first().map(String::as_str);
        // PostgreSQL answers some malformed messages with 08P01 but keeps
        // the connection: only audb is held to closing it.
        let want = if postgres && want == Expect::Closed(Some("08P01")) {
            Expect::Lenient
        } else {
            want
        };
        let ok = match want {
            Expect::Closed(code) => closed && (code.is_none() || got_code == code),
            Expect::Survives(code) => !closed && raw.is_some() && got_code == code,
            Expect::Lenient => true,
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {want:?}, got errors {errors:?}, closed: {closed}"
            ));
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_cost_only_the_connection() {
    let (s, c, fp) = schema_server().await;
    let mut failures = check(s.addr, "audb", "audb", false).await;
    if let Ok(pg) = std::env::var("AUDB_BAD_INPUT_PG") {
        for f in check(super::common::pg_addr(&pg), "postgres", "postgres", true).await {
            failures.push(format!("PostgreSQL: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    c.simple_query("SELECT 1")
        .await
        .expect("the first connection still works");
    still_serves(s.addr, &fp, "protocol violations").await;
}

/// Invalid UTF-8 in a Query message is refused with 22021 and PostgreSQL's
/// message, never stored, and the connection stays usable (inside a
/// transaction block, the block fails as with any error). pgwire would
/// decode the text lossily (U+FFFD): the server checks the bytes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_query_is_22021() {
    let (s, _c, fp) = schema_server().await;
    let mut failures = check_invalid_utf8(s.addr, "audb", "audb").await;
    if let Ok(pg) = std::env::var("AUDB_BAD_INPUT_PG") {
        let addr = super::common::pg_addr(&pg);
        for f in check_invalid_utf8(addr, "postgres", "postgres").await {
            failures.push(format!("PostgreSQL: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    still_serves(s.addr, &fp, "invalid UTF-8").await;
}

/// The invalid-UTF-8 cases on one connection; returns the mismatches.
async fn check_invalid_utf8(addr: SocketAddr, user: &str, db: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let mut raw = Raw::connect_as(addr, user, db).await;
    let cases: [(&[u8], &str); 5] = [
        (b"SELECT '\xff'", "0xff"),
        (b"SELECT 'Sh\xc3\x28'", "0xc3 0x28"),
        (
            b"INSERT INTO users (user_id, city) VALUES ('bad', '\xed\xa0\x80')",
            "0xed 0xa0 0x80",
        ),
        (b"SELECT 1 -- \xe2\x82", "0xe2 0x82"),
        (b"SELEC\xff 1", "0xff"),
    ];
    for (sql, bytes) in cases {
        let r = raw.query_bytes(sql).await;
        let message = format!("invalid byte sequence for encoding \"UTF8\": {bytes}");
        if r.errors != ["22021"] || r.messages != [message.clone()] || r.status != b'I' {
            failures.push(format!(
                "{}: expected 22021 {message:?} and status I, got {r:?}",
                String::from_utf8_lossy(sql)
            ));
        }
    }
    // Inside a block: the block fails, ROLLBACK ends it.
    raw.query("BEGIN").await;
    let r = raw.query_bytes(b"SELECT '\xff'").await;
    if r.errors != ["22021"] || r.status != b'E' {
        failures.push(format!(
            "in a block: expected 22021 and status E, got {r:?}"
        ));
    }
    let r = raw.query("ROLLBACK").await;
    if r.status != b'I' {
        failures.push(format!("ROLLBACK after it: {r:?}"));
    }
    if user == "audb" {
        let r = raw
            .query("SELECT COUNT(*) FROM users WHERE user_id = 'bad'")
            .await;
        if r.rows != [vec![Some("0".to_owned())]] {
            failures.push(format!("the bad INSERT stored something: {r:?}"));
        }
    }
    failures
}

/// Startup packets of protocol versions other than 3.x are refused as
/// PostgreSQL 15 refuses them: FATAL 0A000 "unsupported frontend protocol",
/// in protocol 2's error format (type byte, text, NUL) for versions before
/// 3, which is what such clients read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_and_future_protocol_versions_are_refused() {
    let (s, _c, fp) = schema_server().await;
    let targets = startup_targets(s.addr);
    let mut failures = Vec::new();
    for (who, addr, user) in targets {
        for (major, minor) in [(1u16, 0u16), (2, 0), (4, 0), (9, 0)] {
            let mut stream = TcpStream::connect(addr).await.expect("tcp");
            let version = (i32::from(major) << 16) | i32::from(minor);
            stream
                .write_all(&startup_with(version, &["user", user]))
                .await
                .expect("startup");
            let mut reply = Vec::new();
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut reply),
            )
            .await;
            let message = format!(
                "unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0"
            );
            let ok = if major < 3 {
                reply == [b"EFATAL:  ", message.as_bytes(), b"\n\0"].concat()
            } else {
                let text = String::from_utf8_lossy(&reply);
                reply.first() == Some(&b'E')
                    && text.contains("SFATAL\0")
                    && text.contains("C0A000\0")
                    && text.contains(&format!("M{message}\0"))
            };
            if !ok {
                failures.push(format!(
                    "{who}: protocol {major}.{minor}: got {:?}",
                    String::from_utf8_lossy(&reply)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    still_serves(s.addr, &fp, "unsupported protocol versions").await;
}

/// Invalid UTF-8 in a Query, wherever it is: no crash, the connection
/// survives, the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_query_does_not_break_the_server() {
    let (s, _c, fp) = schema_server().await;
    let mut raw = Raw::connect(s.addr).await;
    for sql in [
        b"SELECT '\xff'".to_vec(),
        b"SELECT COUNT(*) FROM users WHERE city = 'Sh\xc3\x28'".to_vec(),
        b"SELEC\xff 1".to_vec(),
    ] {
        let r = raw.query_bytes(&sql).await;
        assert!(!r.closed, "{}", String::from_utf8_lossy(&sql));
        assert_eq!(r.status, b'I');
    }
    let r = raw.query("SELECT 1").await;
    assert_eq!(r.rows, [vec![Some("1".to_owned())]]);
    still_serves(s.addr, &fp, "invalid UTF-8").await;
}

/// A 3.x startup packet newer than 3.0, or one with protocol options
/// (`_pq_.` parameters), is answered as PostgreSQL 15 answers it: first a
/// NegotiateProtocolVersion naming 3.0 (the full number, 196608) and the
/// options it did not recognise, then the usual startup, and the session
/// speaks 3.0. A plain 3.0 packet gets no such message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_minor_versions_and_protocol_options_are_negotiated() {
    let (s, _c, fp) = schema_server().await;
    let targets = startup_targets(s.addr);
    // (minor version, protocol options, the options reported back)
    type Negotiation = (
        u16,
        &'static [&'static str],
        Option<&'static [&'static str]>,
    );
    let cases: [Negotiation; 5] = [
        (0, &[], None),
        (2, &[], Some(&[])),
        (9999, &[], Some(&[])),
        (0, &["_pq_.compression"], Some(&["_pq_.compression"])),
        (1, &["_pq_.a", "_pq_.b"], Some(&["_pq_.a", "_pq_.b"])),
    ];
    let mut failures = Vec::new();
    for (who, addr, user) in targets {
        for (minor, options, want) in cases {
            let mut pairs = vec!["user", user, "database", user];
            for o in options {
                pairs.extend([*o, "on"]);
            }
            let mut raw = Raw {
                stream: TcpStream::connect(addr).await.expect("tcp"),
            };
            raw.write(&startup_with((3 << 16) | i32::from(minor), &pairs))
                .await;
            let r = raw.read_until_ready().await;
            let want = want.map(|o| (196_608, o.iter().map(|s| (*s).to_owned()).collect()));
            let first = r.kinds.first().copied();
            let ok = r.status == b'I'
                && r.negotiate == want
                && first == Some(if want.is_some() { b'v' } else { b'R' });
            if !ok {
                failures.push(format!(
                    "{who}: 3.{minor} with {options:?}: expected {want:?} first, got {r:?}"
                ));
                continue;
            }
            let after = raw.query("SELECT 1").await;
            if after.rows != [vec![Some("1".to_owned())]] {
                failures.push(format!("{who}: 3.{minor}: no answer after it: {after:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    still_serves(s.addr, &fp, "protocol negotiation").await;
}

/// The servers a startup-packet test talks to: audb at `addr` (user
/// `audb`), and the reference PostgreSQL when `AUDB_BAD_INPUT_PG` names one.
fn startup_targets(addr: SocketAddr) -> Vec<(&'static str, SocketAddr, &'static str)> {
    let mut targets = vec![("audb", addr, "audb")];
    if let Ok(pg) = std::env::var("AUDB_BAD_INPUT_PG") {
        targets.push(("PostgreSQL", super::common::pg_addr(&pg), "postgres"));
    }
    targets
}
