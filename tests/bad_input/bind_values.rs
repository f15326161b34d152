//! Bind messages PostgreSQL refuses for their values or formats: binary
//! arrays whose header is wrong (an element type other than the
//! parameter's: 42804; dimensions, flags and sizes: 22P03, 54000; an
//! element of the wrong length: 22P03, 08P01) and result-format counts that
//! are neither 0, 1 nor the number of columns (08P01). Such a Bind fails
//! before BindComplete, as in PostgreSQL.

use super::common::{Raw, schema_server, still_serves};
use super::extended::{
    Case, INT4, INT8, TEXT, TEXT_ARRAY, Val, bind_raw, check, execute, parse, postgres_with_schema,
    run, sync, t,
};
use std::net::SocketAddr;

const VARCHAR_ARRAY: i32 = 1015;
const VARCHAR: i32 = 1043;

/// A binary array value with any header: dimensions, flags, element type
/// OID, (length, lower bound) per dimension, then the element bytes.
fn array(ndim: i32, flags: i32, elem: i32, dims: &[(i32, i32)], elements: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [ndim, flags, elem] {
        v.extend(w.to_be_bytes());
    }
    for (len, lbound) in dims {
        v.extend(len.to_be_bytes());
        v.extend(lbound.to_be_bytes());
    }
    v.extend(elements);
    v
}

/// Bind of the unnamed statement without parameters, asking for
/// `formats` result format codes (all text).
fn bind_result_formats(formats: usize) -> Vec<u8> {
    let mut rest = vec![0, 0, 0, 0];
    rest.extend((formats as i16).to_be_bytes());
    for _ in 0..formats {
        rest.extend([0, 0]);
    }
    bind_raw("", &rest)
}

/// The cases (see [`Case`]).
fn cases() -> Vec<Case> {
    vec![
        (
            "text[] whose header says its elements are int4",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(1, 0, INT4, &[(1, 1)], &[0, 0, 0, 1, b'a']))],
            ),
            "42804",
            None,
        ),
        (
            "empty text[] whose header says its elements are int4",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(0, 0, INT4, &[], &[]))],
            ),
            "42804",
            None,
        ),
        (
            "varchar[] whose header says its elements are text",
            run(
                "SELECT $1",
                &[VARCHAR_ARRAY],
                &[Val::Bin(array(1, 0, TEXT, &[(1, 1)], &[0, 0, 0, 1, b'a']))],
            ),
            "42804",
            None,
        ),
        (
            "varchar[] of varchar elements",
            run(
                "SELECT $1",
                &[VARCHAR_ARRAY],
                &[Val::Bin(array(
                    1,
                    0,
                    VARCHAR,
                    &[(1, 1)],
                    &[0, 0, 0, 1, b'a'],
                ))],
            ),
            "",
            None,
        ),
        (
            "text[] whose element type is not a built-in one (not checked)",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(
                    1,
                    0,
                    99_999,
                    &[(1, 1)],
                    &[0, 0, 0, 1, b'a'],
                ))],
            ),
            "",
            None,
        ),
        (
            "inferred int4[] whose header says its elements are int8",
            run(
                "SELECT $1::int4[]",
                &[],
                &[Val::Bin(array(
                    1,
                    0,
                    INT8,
                    &[(1, 1)],
                    &[0, 0, 0, 4, 0, 0, 0, 1],
                ))],
            ),
            "42804",
            None,
        ),
        (
            "int4[] with a NULL element",
            run(
                "SELECT $1::int4[]",
                &[],
                &[Val::Bin(array(
                    1,
                    1,
                    INT4,
                    &[(2, 1)],
                    &[0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff],
                ))],
            ),
            "",
            None,
        ),
        (
            "int4[] element of 5 bytes",
            run(
                "SELECT $1::int4[]",
                &[],
                &[Val::Bin(array(
                    1,
                    0,
                    INT4,
                    &[(1, 1)],
                    &[0, 0, 0, 5, 0, 0, 0, 0, 1],
                ))],
            ),
            "22P03",
            None,
        ),
        (
            "int4[] element of 3 bytes",
            run(
                "SELECT $1::int4[]",
                &[],
                &[Val::Bin(array(
                    1,
                    0,
                    INT4,
                    &[(1, 1)],
                    &[0, 0, 0, 3, 0, 0, 1],
                ))],
            ),
            "08P01",
            None,
        ),
        (
            "text[] of -1 dimensions",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(-1, 0, TEXT, &[], &[]))],
            ),
            "22P03",
            None,
        ),
        (
            "text[] of 7 dimensions",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(7, 0, TEXT, &[], &[]))],
            ),
            "54000",
            None,
        ),
        (
            "text[] with array flags 2",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(1, 2, TEXT, &[(1, 1)], &[0, 0, 0, 1, b'a']))],
            ),
            "22P03",
            None,
        ),
        (
            "text[] of -1 elements",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(1, 0, TEXT, &[(-1, 1)], &[]))],
            ),
            "54000",
            None,
        ),
        (
            "two result formats for one column",
            [
                parse("SELECT 1", &[]),
                bind_result_formats(2),
                execute(""),
                sync(),
            ]
            .concat(),
            "08P01",
            None,
        ),
        (
            "three result formats for two columns",
            [
                parse("SELECT 1, 2", &[]),
                bind_result_formats(3),
                execute(""),
                sync(),
            ]
            .concat(),
            "08P01",
            None,
        ),
        (
            "two result formats for two columns",
            [
                parse("SELECT 1, 2", &[]),
                bind_result_formats(2),
                execute(""),
                sync(),
            ]
            .concat(),
            "",
            None,
        ),
        (
            "three result formats for a statement without rows (not checked)",
            [
                parse("SET application_name = 'formats'", &[]),
                bind_result_formats(3),
                execute(""),
                sync(),
            ]
            .concat(),
            "",
            None,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arrays_and_result_formats_in_bind() {
    let (s, _c, fp) = schema_server().await;
    let mut failures = check(s.addr, "audb", "audb", false, cases()).await;
    if let Some(addr) = postgres_with_schema("bad_bind_values").await {
        for f in check(addr, "postgres", "bad_bind_values", true, cases()).await {
            failures.push(format!("PostgreSQL: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    still_serves(s.addr, &fp, "bad arrays and result formats").await;
}

/// A Bind whose values or result formats PostgreSQL refuses fails before
/// BindComplete: the client sees ParseComplete, the error, then
/// ReadyForQuery (and a good Bind gets BindComplete before the rows).
async fn check_bind_order(addr: SocketAddr, user: &str, db: &str) -> Vec<String> {
    let mut raw = Raw::connect_as(addr, user, db).await;
    let refused = vec![b'1', b'E', b'Z'];
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "binary int4 of 3 bytes",
            run("SELECT $1", &[INT4], &[Val::Bin(vec![0, 0, 1])]),
            refused.clone(),
        ),
        (
            "text int4 that is not a number",
            run("SELECT $1", &[INT4], &[t("abc")]),
            refused.clone(),
        ),
        (
            "text[] whose elements say int4",
            run(
                "SELECT $1",
                &[TEXT_ARRAY],
                &[Val::Bin(array(1, 0, INT4, &[(1, 1)], &[0, 0, 0, 1, b'a']))],
            ),
            refused.clone(),
        ),
        (
            "two result formats for one column",
            [
                parse("SELECT 1", &[]),
                bind_result_formats(2),
                execute(""),
                sync(),
            ]
            .concat(),
            refused.clone(),
        ),
        (
            "a good Bind",
            run("SELECT $1", &[INT4], &[t("7")]),
            vec![b'1', b'2', b'D', b'C', b'Z'],
        ),
    ];
    let mut failures = Vec::new();
    for (name, messages, want) in cases {
        raw.write(&messages).await;
        let r = raw.read_until_ready().await;
        if r.kinds != want {
            failures.push(format!(
                "{name}: expected messages {:?}, got {:?} ({:?})",
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&r.kinds),
                r.errors
            ));
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_errors_come_before_bind_complete() {
    let (s, _c, fp) = schema_server().await;
    let mut failures = check_bind_order(s.addr, "audb", "audb").await;
    if let Ok(pg) = std::env::var("AUDB_BAD_INPUT_PG") {
        let addr = super::common::pg_addr(&pg);
        for f in check_bind_order(addr, "postgres", "postgres").await {
            failures.push(format!("PostgreSQL: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    still_serves(s.addr, &fp, "refused Bind messages").await;
}
