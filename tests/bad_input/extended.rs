//! The extended query protocol with bad messages a driver would never
//! send: wrong parameter counts (08P01), binary values too short (08P01)
//! or too long (22P03), bad text values (22P02, 22021), invalid UTF-8 in
//! names and SQL (22021), unknown statements (26000) and portals (34000),
//! binary arrays with a wrong header (42804 for the element type, 22P03,
//! 54000), result-format counts that do not match the columns (08P01).
//! Sent through a raw socket; each error ends at Sync and the connection
//! keeps working. A refused Bind sends no BindComplete.

use super::common::{FINGERPRINT, Raw, cstr, msg, rows, schema_server, still_serves};
use std::net::SocketAddr;

pub(super) const INT4: i32 = 23;
pub(super) const INT8: i32 = 20;
const BOOL: i32 = 16;
const FLOAT8: i32 = 701;
const DATE: i32 = 1082;
pub(super) const TEXT: i32 = 25;
const NUMERIC: i32 = 1700;
pub(super) const TEXT_ARRAY: i32 = 1009;
const TIMESTAMPTZ: i32 = 1184;

/// A parameter value of a Bind message.
#[derive(Clone)]
pub(super) enum Val {
    /// In text format.
    Text(Vec<u8>),
    /// In binary format.
    Bin(Vec<u8>),
    /// NULL.
    Null,
}

pub(super) fn parse(sql: &str, types: &[i32]) -> Vec<u8> {
    let mut body = [cstr(""), cstr(sql)].concat();
    body.extend((types.len() as i16).to_be_bytes());
    for t in types {
        body.extend(t.to_be_bytes());
    }
    msg(b'P', &body)
}

fn bind(vals: &[Val]) -> Vec<u8> {
    let mut body = [cstr(""), cstr("")].concat();
    body.extend((vals.len() as i16).to_be_bytes());
    for v in vals {
        body.extend(i16::from(matches!(v, Val::Bin(_))).to_be_bytes());
    }
    body.extend((vals.len() as i16).to_be_bytes());
    for v in vals {
        match v {
            Val::Text(b) | Val::Bin(b) => {
                body.extend((b.len() as i32).to_be_bytes());
                body.extend(b);
            }
            Val::Null => body.extend((-1i32).to_be_bytes()),
        }
    }
    body.extend(0i16.to_be_bytes());
    msg(b'B', &body)
}

/// Bind with a hand-made body (after the portal and statement names).
pub(super) fn bind_raw(statement: &str, rest: &[u8]) -> Vec<u8> {
    msg(b'B', &[cstr(""), cstr(statement), rest.to_vec()].concat())
}

fn close(kind: u8, name: &str) -> Vec<u8> {
    msg(b'C', &[vec![kind], cstr(name)].concat())
}

/// A text array's binary header: one dimension of `len` elements of
/// type text, lower bound 1.
fn text_array(len: i32, elements: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [1, 0, TEXT, len, 1] {
        v.extend(w.to_be_bytes());
    }
    v.extend(elements);
    v
}

pub(super) fn execute(portal: &str) -> Vec<u8> {
    msg(b'E', &[cstr(portal), vec![0, 0, 0, 0]].concat())
}

fn describe(kind: u8, name: &str) -> Vec<u8> {
    msg(b'D', &[vec![kind], cstr(name)].concat())
}

pub(super) fn sync() -> Vec<u8> {
    msg(b'S', &[])
}

/// Parse, Bind, Execute, Sync of one statement.
pub(super) fn run(sql: &str, types: &[i32], vals: &[Val]) -> Vec<u8> {
    [parse(sql, types), bind(vals), execute(""), sync()].concat()
}

pub(super) fn t(s: &str) -> Val {
    Val::Text(s.as_bytes().to_vec())
}

/// The cases: name, the messages (ending in Sync), the SQLSTATE
/// PostgreSQL answers ("" for no error at all; 08P01 "insufficient data
/// left in message" for a binary value shorter than its type, 22P03 for a
/// longer one), and what audb answers where it differs today (a known bug;
/// none at the moment).
fn cases() -> Vec<Case> {
    let ins = "INSERT INTO users (user_id, age) VALUES ($1, $2)";
    vec![
        (
            "one parameter expected, none bound",
            run("SELECT $1::int", &[], &[]),
            "08P01",
            None,
        ),
        (
            "two parameters expected, one bound",
            run("SELECT $1::int + $2::int", &[], &[t("1")]),
            "08P01",
            None,
        ),
        (
            "no parameter expected, one bound",
            run("SELECT 1", &[], &[t("1")]),
            "08P01",
            None,
        ),
        (
            "insert with a missing parameter",
            run(ins, &[TEXT, INT4], &[t("p1")]),
            "08P01",
            None,
        ),
        (
            "two parameter formats for one parameter",
            [
                parse("SELECT $1::int", &[INT4]),
                bind_raw("", &[0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, b'1', 0, 0]),
                execute(""),
                sync(),
            ]
            .concat(),
            "08P01",
            None,
        ),
        (
            "int4 in 3 binary bytes",
            run("SELECT $1", &[INT4], &[Val::Bin(vec![0, 0, 1])]),
            "08P01",
            None,
        ),
        (
            "int4 in 5 binary bytes",
            run("SELECT $1", &[INT4], &[Val::Bin(vec![0, 0, 0, 0, 1])]),
            "22P03",
            None,
        ),
        (
            "int8 in 4 binary bytes",
            run("SELECT $1", &[INT8], &[Val::Bin(vec![0, 0, 0, 1])]),
            "08P01",
            None,
        ),
        (
            "bool in 2 binary bytes",
            run("SELECT $1", &[BOOL], &[Val::Bin(vec![0, 1])]),
            "22P03",
            None,
        ),
        (
            "float8 in 5 binary bytes",
            run("SELECT $1", &[FLOAT8], &[Val::Bin(vec![0; 5])]),
            "08P01",
            None,
        ),
        (
            "date in 2 binary bytes",
            run("SELECT $1", &[DATE], &[Val::Bin(vec![0, 1])]),
            "08P01",
            None,
        ),
        (
            "timestamptz in 7 binary bytes",
            run("SELECT $1", &[TIMESTAMPTZ], &[Val::Bin(vec![0; 7])]),
            "08P01",
            None,
        ),
        (
            "numeric claiming 1000 digits",
            run(
                "SELECT $1",
                &[NUMERIC],
                &[Val::Bin(vec![0x03, 0xe8, 0, 0, 0, 0, 0, 0])],
            ),
            "08P01",
            None,
        ),
        (
            "text[] header cut short",
            run("SELECT $1", &[TEXT_ARRAY], &[Val::Bin(vec![0, 0, 0, 1, 0])]),
            "08P01",
            None,
        ),
        (
            "binary int4 into a key column of type text",
            run(
                "INSERT INTO users (user_id) VALUES ($1)",
                &[TEXT],
                &[Val::Bin(vec![0xff, 0xfe, 0xfd])],
            ),
            "22021",
            None,
        ),
        (
            "text parameter with invalid UTF-8",
            run(
                "SELECT COUNT(*) FROM users WHERE city = $1",
                &[TEXT],
                &[Val::Text(vec![b'a', 0xc3, 0x28])],
            ),
            "22021",
            None,
        ),
        (
            "text-format int that is not a number",
            run("SELECT $1", &[INT4], &[t("abc")]),
            "22P02",
            None,
        ),
        (
            "text-format int out of range",
            run("SELECT $1", &[INT4], &[t("99999999999")]),
            "22003",
            None,
        ),
        (
            "text-format date out of range",
            run("SELECT $1", &[DATE], &[t("2024-02-30")]),
            "22008",
            None,
        ),
        (
            "NULL key through a parameter",
            run(ins, &[TEXT, INT4], &[Val::Null, t("1")]),
            "23502",
            None,
        ),
        (
            "smallint column overflow through an int4 parameter",
            run(
                "INSERT INTO users (user_id, small) VALUES ($1, $2)",
                &[TEXT, INT4],
                &[t("p2"), Val::Bin(100_000i32.to_be_bytes().to_vec())],
            ),
            "22003",
            None,
        ),
        (
            "multi-statement Parse",
            [parse("SELECT 1; SELECT 2", &[]), sync()].concat(),
            "42601",
            None,
        ),
        (
            "bind to an unknown statement",
            [bind_raw("nope", &[0, 0, 0, 0, 0, 0]), execute(""), sync()].concat(),
            "26000",
            None,
        ),
        (
            "describe an unknown statement",
            [describe(b'S', "nope"), sync()].concat(),
            "26000",
            None,
        ),
        (
            "execute an unknown portal",
            [execute("nope"), sync()].concat(),
            "34000",
            None,
        ),
        (
            "describe an unknown portal",
            [describe(b'P', "nope"), sync()].concat(),
            "34000",
            None,
        ),
        (
            "execute the unnamed portal before any Bind",
            [execute(""), sync()].concat(),
            "34000",
            None,
        ),
        (
            "close an unknown portal (not an error)",
            [close(b'P', "nope"), sync()].concat(),
            "",
            None,
        ),
        (
            "close an unknown statement (not an error)",
            [close(b'S', "nope"), sync()].concat(),
            "",
            None,
        ),
        (
            "bind to the unnamed statement before any Parse",
            [bind_raw("", &[0, 0, 0, 0, 0, 0]), sync()].concat(),
            "26000",
            None,
        ),
        (
            "three parameter formats for two parameters",
            [
                parse("SELECT $1::int + $2::int", &[]),
                bind_raw(
                    "",
                    &[
                        0, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, b'1', 0, 0, 0, 1, b'2', 0, 0,
                    ],
                ),
                execute(""),
                sync(),
            ]
            .concat(),
            "08P01",
            None,
        ),
        (
            "two parameter formats for no parameter",
            [
                parse("SELECT 1", &[]),
                bind_raw("", &[0, 2, 0, 0, 0, 0, 0, 0, 0, 0]),
                execute(""),
                sync(),
            ]
            .concat(),
            "08P01",
            None,
        ),
        (
            "parameter format code 2",
            [
                parse("SELECT $1::int", &[INT4]),
                bind_raw("", &[0, 1, 0, 2, 0, 1, 0, 0, 0, 1, b'1', 0, 0]),
                execute(""),
                sync(),
            ]
            .concat(),
            "22023",
            None,
        ),
        (
            "bool in no binary byte",
            run("SELECT $1", &[BOOL], &[Val::Bin(vec![])]),
            "08P01",
            None,
        ),
        (
            "int8 in 9 binary bytes",
            run("SELECT $1", &[INT8], &[Val::Bin(vec![0; 9])]),
            "22P03",
            None,
        ),
        (
            "text[] of 2^31-1 elements",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(text_array(i32::MAX, &[0, 0, 0, 1, b'a']))],
            ),
            "54000",
            None,
        ),
        (
            "text[] element longer than the value",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(text_array(1, &[0, 0, 0, 9, b'a']))],
            ),
            "22P03",
            None,
        ),
        (
            "text[] with fewer elements than announced",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(text_array(2, &[0, 0, 0, 1, b'a']))],
            ),
            "08P01",
            None,
        ),
        (
            "invalid UTF-8 in Parse's SQL",
            [
                msg(b'P', &[cstr(""), b"SELECT '\xff'\0\0\0".to_vec()].concat()),
                sync(),
            ]
            .concat(),
            "22021",
            None,
        ),
        (
            "invalid UTF-8 in a statement name",
            [
                msg(
                    b'P',
                    &[b"s\xc3\x28\0".to_vec(), cstr("SELECT 1"), vec![0, 0]].concat(),
                ),
                sync(),
            ]
            .concat(),
            "22021",
            None,
        ),
        (
            "invalid UTF-8 in a portal name",
            [
                parse("SELECT 1", &[]),
                msg(
                    b'B',
                    &[b"p\xff\0\0".to_vec(), vec![0, 0, 0, 0, 0, 0]].concat(),
                ),
                sync(),
            ]
            .concat(),
            "22021",
            None,
        ),
        (
            "invalid UTF-8 in Execute, Describe and Close",
            [
                msg(b'E', b"p\xff\0\0\0\0\0"),
                msg(b'D', b"Sp\xff\0"),
                msg(b'C', b"Pp\xff\0"),
                sync(),
            ]
            .concat(),
            // One error: the rest is skipped up to Sync.
            "22021",
            None,
        ),
        (
            "parse a statement name in use",
            [
                msg(b'P', &[cstr("dup"), cstr("SELECT 1"), vec![0, 0]].concat()),
                msg(b'P', &[cstr("dup"), cstr("SELECT 2"), vec![0, 0]].concat()),
                sync(),
            ]
            .concat(),
            "42P05",
            None,
        ),
        (
            "invalid UTF-8 in a message skipped after an error",
            [execute("nope"), msg(b'E', b"p\xff\0\0\0\0\0"), sync()].concat(),
            "34000",
            None,
        ),
    ]
}

/// A case: name, the messages (ending in Sync), the SQLSTATE PostgreSQL
/// answers ("" for none), and what audb answers today where it differs (a
/// known bug).
pub(super) type Case = (&'static str, Vec<u8>, &'static str, Option<&'static str>);

/// Runs every case on one connection to `addr` as `user`; returns the
/// mismatches.
pub(super) async fn check(
    addr: SocketAddr,
    user: &str,
    db: &str,
    postgres: bool,
    cases: Vec<Case>,
) -> Vec<String> {
    let mut raw = Raw::connect_as(addr, user, db).await;
    let mut failures = Vec::new();
    for (name, messages, pg_want, audb_today) in cases {
        let want = match audb_today {
            Some(today) if !postgres => today,
            _ => pg_want,
        };
        raw.write(&messages).await;
        let r = raw.read_until_ready().await;
        if r.closed {
            failures.push(format!("{name}: connection closed"));
            raw = Raw::connect_as(addr, user, db).await;
            continue;
        }
        let expected: Vec<&str> = if want.is_empty() { vec![] } else { vec![want] };
        if r.errors != expected {
            failures.push(format!("{name}: expected [{want}], got {:?}", r.errors));
        }
        let after = raw.query("SELECT 1").await;
        if after.rows != [vec![Some("1".to_owned())]] || after.status != b'I' {
            failures.push(format!(
                "{name}: the connection does not recover: {after:?}"
            ));
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_and_unknown_names_in_the_extended_protocol() {
    let (s, c, fp) = schema_server().await;
    let mut failures = check(s.addr, "audb", "audb", false, cases()).await;
    if let Some(addr) = postgres_with_schema("bad_extended").await {
        for f in check(addr, "postgres", "bad_extended", true, cases()).await {
            failures.push(format!("PostgreSQL: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        rows(&c.simple_query(FINGERPRINT).await.expect("answers")),
        fp
    );
    still_serves(s.addr, &fp, "bad extended-protocol messages").await;
}

/// With `AUDB_BAD_INPUT_PG` set: a fresh database `db` with the schema on
/// that PostgreSQL, and where to reach it.
pub(super) async fn postgres_with_schema(db: &str) -> Option<SocketAddr> {
    let pg = std::env::var("AUDB_BAD_INPUT_PG").ok()?;
    super::common::postgres_database(&pg, db).await;
    Some(super::common::pg_addr(&pg))
}
