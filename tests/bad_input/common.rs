//! The harness of the bad-input battery: an in-process server with a small
//! schema, a table-driven case runner that checks each case's SQLSTATE and
//! that the server still answers (same connection and a new one, with the
//! data unchanged), optional re-checking of every case against a real
//! PostgreSQL 15. The server, the tokio-postgres helpers and the raw
//! protocol-3 client for what drivers never send come from `tests/support/`.

use crate::support::server::{Server, server};
use std::net::SocketAddr;
use std::time::Duration;
use tokio_postgres::Client;

// The generic pieces live in `tests/support/`; the battery's modules
// import them from here.
pub use crate::support::client::{code, connect, connect_str, rows};
pub use crate::support::raw::{Raw, closed_within, cstr, msg, startup_message};

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

/// A server with [`SCHEMA`] loaded, a connection to it and the
/// [`FINGERPRINT`] of its data.
pub async fn schema_server() -> (Server, Client, Vec<Vec<Option<String>>>) {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(SCHEMA).await.expect("schema");
    let fp = rows(&c.simple_query(FINGERPRINT).await.expect("fingerprint"));
    (s, c, fp)
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
    let pg = postgres_database(conn, &format!("bad_{group}")).await;
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

/// Asserts the server answers a new connection with the expected data.
pub async fn still_serves(addr: SocketAddr, fp: &[Vec<Option<String>>], after: &str) {
    let c = connect(addr).await;
    let m = c
        .simple_query(FINGERPRINT)
        .await
        .unwrap_or_else(|e| panic!("after {after}: a new connection fails: {e}"));
    assert_eq!(rows(&m), fp, "after {after}: data changed");
}

/// A fresh database `db` with [`SCHEMA`] on the PostgreSQL that `conn`
/// (a libpq-style connection string of a superuser) reaches, and a
/// connection to it.
pub async fn postgres_database(conn: &str, db: &str) -> Client {
    let admin = connect_str(&format!("{conn} dbname=postgres"))
        .await
        .expect("connect to PostgreSQL");
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
    pg
}

/// Where the raw-socket checks reach the reference PostgreSQL: the loopback
/// address at the port of a libpq-style connection string (`host=…
/// port=…`), 5432 when absent.
pub fn pg_addr(conn: &str) -> SocketAddr {
    let port = conn
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432);
    SocketAddr::from(([127, 0, 0, 1], port))
}
