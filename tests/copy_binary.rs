//! Binary `COPY` (`FORMAT binary`) against a server on a real socket:
//! output compared byte for byte with what PostgreSQL 15 writes for the
//! same rows, round trips through tokio-postgres' `BinaryCopyInWriter` /
//! `BinaryCopyOutStream` and raw bytes, every error of PostgreSQL's binary
//! reader with its SQLSTATE and CONTEXT (nothing applied, the connection
//! still usable), and the format codes of CopyInResponse/CopyOutResponse.
// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

mod support;

use futures::{StreamExt, pin_mut};
use support::client::{connect, rows_of};
use support::copy::{copy_in, copy_out};
use support::raw::Raw;
use support::server::server_with_data_subdir as server;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutStream};
use tokio_postgres::types::{ToSql, Type};

/// Every column type audb stores.
const ALL_TYPES: &str = "(k TEXT PRIMARY KEY, b BOOLEAN, si SMALLINT, i INT, bi BIGINT, \
     n NUMERIC(12,2), r REAL, f DOUBLE PRECISION, tx TEXT, arr TEXT[], d DATE, ts TIMESTAMP, \
     tz TIMESTAMPTZ)";

const ALL_ROWS: &str = "INSERT INTO ct VALUES \
    ('a', true, 7, 1, 9000000000, 12.5, 1.25, 1.5, E'tab\\there', ARRAY['x','y z'], \
     '2024-02-29', '2024-05-01 12:00:00', '2024-05-01 12:00:00+08'), \
    ('b', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
    ('c', false, -3, -2, -1, -0.01, -0.5, 0.1, '中文', '{}', '1999-12-31', 'infinity', \
     '-infinity')";

/// PostgreSQL 15's `COPY ct TO STDOUT (FORMAT binary)` for [`ALL_ROWS`].
const PG_CT: &str = "5047434f50590aff0d0a000000000000000000000d0000000161000000010100000002000700000004000000\
01000000080000000218711a000000000c0002000000000002000c1388000000043fa00000000000083ff800\
0000000000000000087461620968657265000000200000000100000000000000190000000200000001000000\
01780000000379207a0000000400002279000000080002ba61fea15000000000080002ba5b4a043000000d00\
00000162ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
ffffffffffffffff000d0000000163000000010000000002fffd00000004fffffffe00000008ffffffffffff\
ffff0000000a0001ffff40000002006400000004bf000000000000083fb999999999999a00000006e4b8ade6\
96870000000c00000000000000000000001900000004ffffffff000000087fffffffffffffff000000088000\
000000000000ffff";

/// A query over many result types (arrays, json, interval, oid, regtype).
const TYPES_QUERY: &str = "SELECT 1::int2 AS a, 3::int8, -123456.789::numeric, NULL::int, \
    ARRAY[1,NULL,3]::int[], '{}'::int[], ARRAY[1.5]::float8[], interval '1 day 2 hours', \
    '{\"a\":1}'::json, 26::oid, 'int4'::regtype, ARRAY['a',NULL]::text[], 0.5::real";

/// PostgreSQL 15's `COPY (TYPES_QUERY) TO STDOUT (FORMAT binary)`.
const PG_TYPES: &str = "5047434f50590aff0d0a000000000000000000000d0000000200010000000800000000000000030000000e00\
03000140000003000c0d801ed2ffffffff000000280000000100000001000000170000000300000001000000\
0400000001ffffffff00000004000000030000000c0000000000000000000000170000002000000001000000\
00000002bd0000000100000001000000083ff80000000000000000001000000001ad27480000000001000000\
00000000077b2261223a317d000000040000001a00000004000000170000001d000000010000000100000019\
00000002000000010000000161ffffffff000000043f000000ffff";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

async fn count(c: &Client, table: &str) -> String {
    rows_of(c, &format!("SELECT COUNT(*) FROM {table}")).await[0][0]
        .clone()
        .expect("count")
}

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// A binary COPY file: the header, the tuples, the trailer.
fn file(tuples: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
    let mut out = header();
    for t in tuples {
        out.extend_from_slice(&tuple(t));
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

fn header() -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&[0; 8]);
    out
}

fn tuple(fields: &[Option<Vec<u8>>]) -> Vec<u8> {
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

fn i8f(v: i64) -> Option<Vec<u8>> {
    Some(v.to_be_bytes().to_vec())
}

fn i4f(v: i32) -> Option<Vec<u8>> {
    Some(v.to_be_bytes().to_vec())
}

fn tf(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

#[tokio::test]
async fn binary_output_equals_postgres() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(&format!("CREATE TABLE ct {ALL_TYPES}; {ALL_ROWS}"))
        .await
        .expect("create");
    assert_eq!(
        copy_out(&c, "COPY ct TO STDOUT (FORMAT binary)").await,
        unhex(PG_CT)
    );
    // Through the windowed query path and the legacy spelling too.
    assert_eq!(
        copy_out(&c, "COPY (SELECT * FROM ct) TO STDOUT WITH BINARY").await,
        unhex(PG_CT)
    );
    assert_eq!(
        copy_out(
            &c,
            &format!("COPY ({TYPES_QUERY}) TO STDOUT (FORMAT binary)")
        )
        .await,
        unhex(PG_TYPES)
    );
    // No rows: the header and the trailer.
    let mut empty = header();
    empty.extend_from_slice(&[0xff, 0xff]);
    assert_eq!(
        copy_out(
            &c,
            "COPY (SELECT k FROM ct WHERE false) TO STDOUT (FORMAT binary)"
        )
        .await,
        empty
    );
}

#[tokio::test]
async fn every_type_round_trips_in_binary() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(&format!(
        "CREATE TABLE ct {ALL_TYPES}; {ALL_ROWS}; CREATE TABLE ct2 {ALL_TYPES}"
    ))
    .await
    .expect("create");
    let data = copy_out(&c, "COPY ct TO STDOUT (FORMAT binary)").await;
    let n = copy_in(&c, "COPY ct2 FROM STDIN (FORMAT binary)", &data)
        .await
        .expect("copy in");
    assert_eq!(n, 3);
    let a = rows_of(&c, "SELECT * FROM ct ORDER BY k").await;
    let b = rows_of(&c, "SELECT * FROM ct2 ORDER BY k").await;
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
    assert_eq!(b[1][1..], vec![None; 12][..], "row b is all NULL");
    // A column list, and the legacy spelling.
    c.batch_execute("TRUNCATE ct2").await.expect("truncate");
    let data = copy_out(&c, "COPY ct (k, arr, n) TO STDOUT (FORMAT binary)").await;
    let n = copy_in(&c, "COPY ct2 (k, arr, n) FROM STDIN WITH BINARY", &data)
        .await
        .expect("copy in");
    assert_eq!(n, 3);
    assert_eq!(
        rows_of(&c, "SELECT k, arr, n, i FROM ct2 ORDER BY k").await,
        [
            [Some("a"), Some("{x,\"y z\"}"), Some("12.50"), None],
            [Some("b"), None, None, None],
            [Some("c"), Some("{}"), Some("-0.01"), None],
        ]
        .map(|r| r.map(|v| v.map(str::to_owned)))
    );
}

#[tokio::test]
async fn tokio_postgres_binary_copy_writer_and_reader() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(
        "CREATE TABLE u (id BIGINT PRIMARY KEY, ok BOOLEAN, age INT, small SMALLINT, \
         score DOUBLE PRECISION, ratio REAL, name TEXT, tags TEXT[])",
    )
    .await
    .expect("create");
    let types = [
        Type::INT8,
        Type::BOOL,
        Type::INT4,
        Type::INT2,
        Type::FLOAT8,
        Type::FLOAT4,
        Type::TEXT,
        Type::TEXT_ARRAY,
    ];
    let sink = c
        .copy_in("COPY u FROM STDIN (FORMAT binary)")
        .await
        .expect("copy in");
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for i in 0..1000i64 {
        let tags = vec![format!("t{}", i % 3), "all".to_owned()];
        let name: Option<String> = (i % 10 != 0).then(|| format!("user {i} ü"));
        let row: [&(dyn ToSql + Sync); 8] = [
            &i,
            &(i % 2 == 0),
            &(i as i32 - 500),
            &(i as i16),
            &(i as f64 / 4.0),
            &(i as f32 / 8.0),
            &name,
            &tags,
        ];
        writer.as_mut().write(&row).await.expect("write");
    }
    assert_eq!(writer.finish().await.expect("finish"), 1000);
    assert_eq!(
        rows_of(
            &c,
            "SELECT id, ok, age, small, score, ratio, name, tags FROM u WHERE id IN (0, 7) ORDER BY id"
        )
        .await,
        [
            [
                "0",
                "t",
                "-500",
                "0",
                "0",
                "0",
                "",
                "{all,t0}"
            ],
            [
                "7",
                "f",
                "-493",
                "7",
                "1.75",
                "0.875",
                "user 7 ü",
                "{all,t1}"
            ],
        ]
        .map(|r| r.map(|v| (!v.is_empty()).then(|| v.to_owned())))
    );

    let stream = c
        .copy_out("COPY (SELECT * FROM u WHERE age < -480 ORDER BY id) TO STDOUT (FORMAT binary)")
        .await
        .expect("copy out");
    let reader = BinaryCopyOutStream::new(stream, &types);
    pin_mut!(reader);
    let mut seen = 0i64;
    while let Some(row) = reader.next().await {
        let row = row.expect("row");
        assert_eq!(row.get::<i64>(0), seen);
        assert_eq!(row.get::<bool>(1), seen % 2 == 0);
        assert_eq!(row.get::<i32>(2), seen as i32 - 500);
        assert_eq!(row.get::<i16>(3), seen as i16);
        assert_eq!(row.get::<f64>(4), seen as f64 / 4.0);
        assert_eq!(row.get::<f32>(5), seen as f32 / 8.0);
        assert_eq!(
            row.get::<Option<String>>(6),
            (seen % 10 != 0).then(|| format!("user {seen} ü"))
        );
        let mut tags = vec!["all".to_owned(), format!("t{}", seen % 3)];
        tags.sort();
        assert_eq!(row.get::<Vec<String>>(7), tags);
        seen += 1;
    }
    assert_eq!(seen, 20);
}

/// One bad input: its SQLSTATE, message and CONTEXT, as PostgreSQL 15
/// reports them (checked against it).
struct Bad {
    data: Vec<u8>,
    code: &'static str,
    message: &'static str,
    context: Option<&'static str>,
}

fn bad(data: Vec<u8>, code: &'static str, message: &'static str, context: &'static str) -> Bad {
    Bad {
        data,
        code,
        message,
        context: (!context.is_empty()).then_some(context),
    }
}

fn with_tail(mut data: Vec<u8>, tail: &[u8]) -> Vec<u8> {
    data.extend_from_slice(tail);
    data
}

#[tokio::test]
async fn binary_errors_match_postgres() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT, n INT)")
        .await
        .expect("create");
    let good = tuple(&[i8f(1), tf("a"), i4f(1)]);
    let head_good = with_tail(header(), &good);
    let sig_flags = |flags: i32, ext: i32| {
        let mut d = SIGNATURE.to_vec();
        d.extend_from_slice(&flags.to_be_bytes());
        d.extend_from_slice(&ext.to_be_bytes());
        d
    };
    // Field v's length (after the count and k's length and 8 bytes) is -2.
    let mut bad_size = tuple(&[i8f(2), Some(Vec::new()), i4f(1)]);
    bad_size[14..18].copy_from_slice(&(-2i32).to_be_bytes());
    let bad_utf8 = tuple(&[i8f(2), Some(b"\xc3\x28".to_vec()), i4f(1)]);
    let cases = [
        bad(
            b"PGCOPY\nXX\r\n\0\0\0\0\0\0\0\0\0".to_vec(),
            "22P04",
            "COPY file signature not recognized",
            "",
        ),
        bad(
            Vec::new(),
            "22P04",
            "COPY file signature not recognized",
            "",
        ),
        bad(
            with_tail(SIGNATURE.to_vec(), &[0, 0]),
            "22P04",
            "invalid COPY file header (missing flags)",
            "",
        ),
        bad(
            sig_flags(1 << 16, 0),
            "22P04",
            "invalid COPY file header (WITH OIDS)",
            "",
        ),
        bad(
            sig_flags(1 << 17, 0),
            "22P04",
            "unrecognized critical flags in COPY file header",
            "",
        ),
        bad(
            sig_flags(0, -1),
            "22P04",
            "invalid COPY file header (missing length)",
            "",
        ),
        bad(
            with_tail(sig_flags(0, 5), b"ab"),
            "22P04",
            "invalid COPY file header (wrong length)",
            "",
        ),
        bad(
            with_tail(head_good.clone(), &tuple(&[i8f(2), tf("a")])),
            "22P04",
            "row field count is 2, expected 3",
            "COPY t, line 2",
        ),
        bad(
            with_tail(
                head_good.clone(),
                &tuple(&[i8f(2), tf("a"), tf("\0\0\0\0\0")]),
            ),
            "22P03",
            "incorrect binary data format",
            "COPY t, line 2, column n",
        ),
        bad(
            with_tail(head_good.clone(), &tuple(&[i8f(2), tf("a"), tf("\0\0")])),
            "08P01",
            "insufficient data left in message",
            "COPY t, line 2, column n",
        ),
        bad(
            with_tail(head_good.clone(), &tuple(&[tf("\0\0"), tf("a"), i4f(1)])),
            "08P01",
            "insufficient data left in message",
            "COPY t, line 2, column k",
        ),
        bad(
            with_tail(head_good.clone(), &tuple(&[i8f(2), tf("a"), i4f(1)])[..18]),
            "22P04",
            "unexpected EOF in COPY data",
            "COPY t, line 2, column v",
        ),
        bad(
            with_tail(head_good.clone(), &3i16.to_be_bytes()),
            "22P04",
            "unexpected EOF in COPY data",
            "COPY t, line 2, column k",
        ),
        bad(
            with_tail(head_good.clone(), &[0xff, 0xff, b'x']),
            "22P04",
            "received copy data after EOF marker",
            "COPY t, line 2",
        ),
        bad(
            with_tail(head_good.clone(), &bad_size),
            "22P04",
            "invalid field size",
            "COPY t, line 2, column v",
        ),
        bad(
            with_tail(head_good.clone(), &tuple(&[None, tf("a"), i4f(1)])),
            "23502",
            "null value in column \"k\" of relation \"t\" violates not-null constraint",
            "COPY t, line 2",
        ),
        bad(
            with_tail(head_good.clone(), &bad_utf8),
            "22021",
            "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28",
            "COPY t, line 2, column v",
        ),
    ];
    for (i, case) in cases.iter().enumerate() {
        let e = copy_in(&c, "COPY t FROM STDIN (FORMAT binary)", &case.data)
            .await
            .expect_err("must fail");
        let db = e
            .as_db_error()
            .unwrap_or_else(|| panic!("case {i}: not a server error: {e:?}"));
        assert_eq!(
            (db.code().code(), db.message(), db.where_()),
            (case.code, case.message, case.context),
            "case {i}"
        );
        // Nothing applied; the connection goes on.
        assert_eq!(count(&c, "t").await, "0", "case {i}");
    }
    // The same good row loads, with or without the trailer.
    assert_eq!(
        copy_in(&c, "COPY t FROM STDIN (FORMAT binary)", &head_good)
            .await
            .expect("no trailer"),
        1
    );
    let ext = with_tail(
        with_tail(sig_flags(0xffff, 3), b"abc"),
        &tuple(&[i8f(2), None, None]),
    );
    assert_eq!(
        copy_in(
            &c,
            "COPY t FROM STDIN (FORMAT binary)",
            &with_tail(ext, &[0xff, 0xff])
        )
        .await
        .expect("header extension and low flags are skipped"),
        1
    );
    assert_eq!(count(&c, "t").await, "2");
}

#[tokio::test]
async fn binary_value_errors_name_the_column() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(
        "CREATE TABLE t2 (k BIGINT PRIMARY KEY, a TEXT[], nm NUMERIC(5,2), b BOOLEAN, \
         f4 REAL, d DATE)",
    )
    .await
    .expect("create");
    let arr = |ndim: i32, flags: i32, oid: u32, items: &[&[u8]]| {
        let mut b = ndim.to_be_bytes().to_vec();
        b.extend_from_slice(&flags.to_be_bytes());
        b.extend_from_slice(&oid.to_be_bytes());
        if ndim > 0 {
            b.extend_from_slice(&(items.len() as i32).to_be_bytes());
            b.extend_from_slice(&1i32.to_be_bytes());
        }
        for it in items {
            b.extend_from_slice(&(it.len() as i32).to_be_bytes());
            b.extend_from_slice(it);
        }
        Some(b)
    };
    let row = |col: usize, v: Option<Vec<u8>>| {
        let mut fields = vec![i8f(1), None, None, None, None, None];
        fields[col] = v;
        file(&[fields])
    };
    let numeric = |words: &[i16]| Some(words.iter().flat_map(|w| w.to_be_bytes()).collect());
    let cases = [
        (
            row(1, arr(1, 0, 23, &[b"\0\0\0\x01"])),
            "42804",
            "binary data has array element type 23 (integer) instead of expected 25 (text)",
            "COPY t2, line 1, column a",
        ),
        (
            row(1, arr(-1, 0, 25, &[])),
            "22P03",
            "invalid number of dimensions: -1",
            "COPY t2, line 1, column a",
        ),
        (
            row(1, arr(1, 2, 25, &[])),
            "22P03",
            "invalid array flags",
            "COPY t2, line 1, column a",
        ),
        (
            row(2, numeric(&[1, 1, 0, 0, 1])),
            "22003",
            "numeric field overflow",
            "COPY t2, line 1, column nm",
        ),
        (
            row(3, Some(Vec::new())),
            "08P01",
            "no data left in message",
            "COPY t2, line 1, column b",
        ),
        (
            row(4, Some(1.5f64.to_be_bytes().to_vec())),
            "22P03",
            "incorrect binary data format",
            "COPY t2, line 1, column f4",
        ),
        (
            row(5, i4f(i32::MAX - 1)),
            "22008",
            "date out of range",
            "COPY t2, line 1, column d",
        ),
    ];
    for (i, (data, code, message, context)) in cases.iter().enumerate() {
        let e = copy_in(&c, "COPY t2 FROM STDIN (FORMAT binary)", data)
            .await
            .expect_err("must fail");
        let db = e.as_db_error().expect("server error");
        assert_eq!(
            (db.code().code(), db.message(), db.where_()),
            (*code, *message, Some(*context)),
            "case {i}"
        );
    }
    // Accepted: an empty array, a numeric rounded to the column's scale.
    let ok = file(&[
        vec![
            i8f(1),
            arr(0, 0, 25, &[]),
            numeric(&[1, 0, 0, 3, 12]),
            None,
            None,
            None,
        ],
        vec![
            i8f(2),
            arr(1, 0, 25, &[b"y", b"x"]),
            None,
            Some(vec![2]),
            None,
            None,
        ],
    ]);
    assert_eq!(
        copy_in(&c, "COPY t2 FROM STDIN (FORMAT binary)", &ok)
            .await
            .expect("ok"),
        2
    );
    assert_eq!(
        rows_of(&c, "SELECT k, a, nm, b FROM t2 ORDER BY k").await,
        [
            [Some("1"), Some("{}"), Some("12.00"), None],
            [Some("2"), Some("{x,y}"), None, Some("t")],
        ]
        .map(|r| r.map(|v| v.map(str::to_owned)))
    );
}

#[tokio::test]
async fn text_options_are_refused_in_binary_mode() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)")
        .await
        .expect("create");
    for (opt, code, message) in [
        (
            "DELIMITER ','",
            "42601",
            "cannot specify DELIMITER in BINARY mode",
        ),
        ("NULL 'x'", "42601", "cannot specify NULL in BINARY mode"),
        ("HEADER", "0A000", "cannot specify HEADER in BINARY mode"),
        (
            "QUOTE '\"'",
            "0A000",
            "COPY quote available only in CSV mode",
        ),
    ] {
        let e = match c
            .copy_out(&format!("COPY t TO STDOUT (FORMAT binary, {opt})"))
            .await
        {
            Ok(_) => panic!("{opt} must be refused"),
            Err(e) => e,
        };
        let db = e.as_db_error().expect("server error");
        assert_eq!((db.code().code(), db.message()), (code, message), "{opt}");
    }
    assert_eq!(count(&c, "t").await, "0");
}

#[tokio::test]
async fn copy_responses_announce_the_binary_format() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT, n INT)")
        .await
        .expect("create");
    let mut raw = Raw::connect(s.addr).await;
    // Overall format 1, three columns, each format 1.
    let binary_response = vec![1, 0, 3, 0, 1, 0, 1, 0, 1];
    raw.send_query("COPY t FROM STDIN (FORMAT binary); SELECT COUNT(*) FROM t")
        .await;
    assert_eq!(
        raw.until(b'G').await.pop(),
        Some((b'G', binary_response.clone()))
    );
    let data = file(&[vec![i8f(5), tf("x"), i4f(6)]]);
    raw.send(b'd', &data).await;
    raw.send(b'c', &[]).await;
    let after = raw.until(b'Z').await;
    let tags: Vec<u8> = after.iter().map(|m| m.0).collect();
    assert_eq!(tags, b"CTDCZ", "{after:?}");
    assert_eq!(after[0].1, b"COPY 1\0");

    raw.send_query("COPY t TO STDOUT (FORMAT binary)").await;
    let out = raw.until(b'Z').await;
    assert_eq!(out[0], (b'H', binary_response));
    let data_out: Vec<u8> = out
        .iter()
        .filter(|m| m.0 == b'd')
        .flat_map(|m| m.1.clone())
        .collect();
    assert_eq!(data_out, data);
    // The header travels with the first row, the trailer alone.
    assert_eq!(out.iter().filter(|m| m.0 == b'd').count(), 2);
    // Text COPY still announces format 0.
    raw.send_query("COPY t (k) TO STDOUT").await;
    assert_eq!(raw.until(b'Z').await[0], (b'H', vec![0, 0, 1, 0, 0]));
}
