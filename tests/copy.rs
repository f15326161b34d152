//! `COPY` through real clients: tokio-postgres `copy_in` / `copy_out`
//! (extended protocol) and psql's `\copy` and `COPY … TO STDOUT` (simple
//! protocol), against a server on a real socket. Output is compared byte
//! for byte with what PostgreSQL 15 prints for the same rows.
// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

mod support;

use futures::{SinkExt, StreamExt, pin_mut};
use std::io::Cursor;
use std::net::SocketAddr;
use std::process::Command;
use support::client::{connect, rows_of};
use support::copy::{copy_in, copy_out};
use support::server::server_with_data_subdir as server;
use tokio_postgres::{Client, NoTls};

/// Every column type audb stores.
const ALL_TYPES: &str = "(k TEXT PRIMARY KEY, b BOOLEAN, i INT, bi BIGINT, n NUMERIC(12,2), \
     f DOUBLE PRECISION, tx TEXT, arr TEXT[], d DATE, ts TIMESTAMPTZ)";

const ALL_ROWS: &str = "INSERT INTO t VALUES \
    ('a', true, 1, 9000000000, 12.5, 1.5, E'tab\\there', ARRAY['x','y z'], '2024-02-29', '2024-05-01 12:00:00+08'), \
    ('b', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
    ('c', false, -2, -1, -0.01, 0.1, E'line\\nbreak\\\\back \"q\" 中文', '{}', '1999-12-31', '2000-01-01 00:00:00+00')";

async fn create_all_types(c: &Client) {
    c.batch_execute(&format!("CREATE TABLE t {ALL_TYPES}; {ALL_ROWS}"))
        .await
        .expect("create t");
}

/// The error of a call that must fail.
fn err<T>(r: Result<T, tokio_postgres::Error>) -> tokio_postgres::Error {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn db_error(e: &tokio_postgres::Error) -> &tokio_postgres::error::DbError {
    e.as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {e:?}"))
}

/// What PostgreSQL 15 prints for `COPY t TO STDOUT` with TimeZone UTC.
const PG_TEXT: &str = "a\tt\t1\t9000000000\t12.50\t1.5\ttab\\there\t{x,\"y z\"}\t2024-02-29\t2024-05-01 04:00:00+00\n\
b\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n\
c\tf\t-2\t-1\t-0.01\t0.1\tline\\nbreak\\\\back \"q\" 中文\t{}\t1999-12-31\t2000-01-01 00:00:00+00\n";

/// What PostgreSQL 15 prints for `COPY t TO STDOUT WITH (FORMAT csv, HEADER true)`.
const PG_CSV: &str = "k,b,i,bi,n,f,tx,arr,d,ts\n\
a,t,1,9000000000,12.50,1.5,tab\there,\"{x,\"\"y z\"\"}\",2024-02-29,2024-05-01 04:00:00+00\n\
b,,,,,,,,,\n\
c,f,-2,-1,-0.01,0.1,\"line\nbreak\\back \"\"q\"\" 中文\",{},1999-12-31,2000-01-01 00:00:00+00\n";

#[tokio::test]
async fn text_output_equals_postgres() {
    let s = server().await;
    let c = connect(s.addr).await;
    create_all_types(&c).await;
    let out = copy_out(&c, "COPY t TO STDOUT").await;
    assert_eq!(String::from_utf8(out).expect("utf8"), PG_TEXT);
    c.batch_execute("SET TimeZone = 'Asia/Shanghai'")
        .await
        .expect("set");
    let out = copy_out(&c, "COPY t (k, ts) TO STDOUT").await;
    assert_eq!(
        String::from_utf8(out).expect("utf8"),
        "a\t2024-05-01 12:00:00+08\nb\t\\N\nc\t2000-01-01 08:00:00+08\n"
    );
}

#[tokio::test]
async fn csv_output_equals_postgres() {
    let s = server().await;
    let c = connect(s.addr).await;
    create_all_types(&c).await;
    let out = copy_out(&c, "COPY t TO STDOUT WITH (FORMAT csv, HEADER true)").await;
    assert_eq!(String::from_utf8(out).expect("utf8"), PG_CSV);
    let out = copy_out(
        &c,
        "COPY t (k, tx) TO STDOUT WITH CSV DELIMITER ';' NULL 'NA'",
    )
    .await;
    assert_eq!(
        String::from_utf8(out).expect("utf8"),
        "a;tab\there\nb;NA\nc;\"line\nbreak\\back \"\"q\"\" 中文\"\n"
    );
}

async fn assert_same_rows(c: &Client, a: &str, b: &str) {
    let x = rows_of(c, &format!("SELECT * FROM {a} ORDER BY k")).await;
    let y = rows_of(c, &format!("SELECT * FROM {b} ORDER BY k")).await;
    assert_eq!(x.len(), 3);
    assert_eq!(x.len(), y.len());
    for (rx, ry) in x.iter().zip(&y) {
        for (i, (vx, vy)) in rx.iter().zip(ry).enumerate() {
            assert_eq!(vx, vy, "column {i} of row {rx:?}");
        }
    }
}

#[tokio::test]
async fn every_type_round_trips_in_text_and_csv() {
    let s = server().await;
    let c = connect(s.addr).await;
    create_all_types(&c).await;
    c.batch_execute(&format!(
        "CREATE TABLE t2 {ALL_TYPES}; CREATE TABLE t3 {ALL_TYPES}"
    ))
    .await
    .expect("create");
    let text = copy_out(&c, "COPY t TO STDOUT").await;
    assert_eq!(
        copy_in(&c, "COPY t2 FROM STDIN", &text).await.expect("in"),
        3
    );
    assert_same_rows(&c, "t", "t2").await;
    let csv = copy_out(&c, "COPY t TO STDOUT (FORMAT csv, HEADER)").await;
    let n = copy_in(
        &c,
        "COPY t3 FROM STDIN WITH (FORMAT csv, HEADER true)",
        &csv,
    )
    .await
    .expect("in");
    assert_eq!(n, 3);
    assert_same_rows(&c, "t", "t3").await;
    // TIMESTAMPTZ input without a zone is read in the session's zone.
    c.batch_execute("SET TimeZone = 'Asia/Shanghai'")
        .await
        .expect("set");
    copy_in(
        &c,
        "COPY t2 (k, ts) FROM STDIN",
        b"z\t2024-01-01 08:00:00\n",
    )
    .await
    .expect("in");
    c.batch_execute("SET TimeZone = 'UTC'").await.expect("set");
    assert_eq!(
        rows_of(&c, "SELECT ts FROM t2 WHERE k = 'z'").await,
        [[Some("2024-01-01 00:00:00+00".to_owned())]]
    );
}

#[tokio::test]
async fn csv_input_with_header_delimiter_null_and_quotes() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE u (id TEXT PRIMARY KEY, city TEXT, age INT, tags TEXT[])")
        .await
        .expect("create");
    let data = "id;city;age;tags\n\
        u1;NA;30;\"{a,b}\"\n\
        u2;\"NA\";NA;{}\n\
        u3;\"multi\nline; \"\"quoted\"\"\";7;NA\n";
    let n = copy_in(
        &c,
        "COPY u (id, city, age, tags) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NA')",
        data.as_bytes(),
    )
    .await
    .expect("copy");
    assert_eq!(n, 3);
    let got = rows_of(&c, "SELECT id, city, age, tags FROM u ORDER BY id").await;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        [
            vec![s("u1"), None, s("30"), s("{a,b}")],
            vec![s("u2"), s("NA"), None, s("{}")],
            vec![s("u3"), s("multi\nline; \"quoted\""), s("7"), None],
        ]
    );
    // The legacy syntax psql and old drivers send.
    let n = copy_in(
        &c,
        "COPY u FROM STDIN WITH CSV HEADER",
        b"id,city,age,tags\nu4,Rome,,\n",
    )
    .await
    .expect("legacy");
    assert_eq!(n, 1);
    assert_eq!(
        rows_of(&c, "SELECT city, age FROM u WHERE id = 'u4'").await,
        [[s("Rome"), None]]
    );
}

#[tokio::test]
async fn bad_value_rejects_the_whole_copy_and_names_the_line() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, age INT); INSERT INTO users VALUES ('u0', 1)")
        .await
        .expect("create");
    let data = b"u1\t10\nu2\t20\nu3\tabc\nu4\t40\n";
    let e = copy_in(&c, "COPY users FROM STDIN", data)
        .await
        .expect_err("bad row");
    let db = db_error(&e);
    assert_eq!(db.code().code(), "22P02");
    assert_eq!(
        db.message(),
        "invalid input syntax for type integer: \"abc\""
    );
    assert_eq!(db.where_(), Some("COPY users, line 3, column age: \"abc\""));
    assert_eq!(
        rows_of(&c, "SELECT user_id FROM users ORDER BY user_id").await,
        [[Some("u0".to_owned())]],
        "nothing applied"
    );
    // Out of range and bad dates carry their own SQLSTATEs.
    let e = copy_in(&c, "COPY users FROM STDIN", b"u1\t99999999999\n")
        .await
        .expect_err("range");
    assert_eq!(db_error(&e).code().code(), "22003");
    c.batch_execute("ALTER TABLE users ADD COLUMN d DATE")
        .await
        .expect("alter");
    let e = copy_in(
        &c,
        "COPY users (user_id, d) FROM STDIN WITH CSV",
        b"u1,2024-01-01\nu2,2020-13-45\n",
    )
    .await
    .expect_err("date");
    assert_eq!(db_error(&e).code().code(), "22008");
    assert_eq!(
        db_error(&e).where_(),
        Some("COPY users, line 2, column d: \"2020-13-45\"")
    );
    assert_eq!(
        rows_of(&c, "SELECT COUNT(*) FROM users").await,
        [[Some("1".to_owned())]]
    );
}

#[tokio::test]
async fn wrong_column_counts_and_bad_quoting_are_22p04() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, age INT, city TEXT)")
        .await
        .expect("create");
    let e = copy_in(&c, "COPY users FROM STDIN", b"u1\t3\tx\nu2\t30\n")
        .await
        .expect_err("short");
    let db = db_error(&e);
    assert_eq!(db.code().code(), "22P04");
    assert_eq!(db.message(), "missing data for column \"city\"");
    assert_eq!(db.where_(), Some("COPY users, line 2: \"u2\t30\""));
    let e = copy_in(&c, "COPY users FROM STDIN", b"u1\t30\tx\ty\n")
        .await
        .expect_err("long");
    assert_eq!(db_error(&e).code().code(), "22P04");
    assert_eq!(
        db_error(&e).message(),
        "extra data after last expected column"
    );
    let e = copy_in(&c, "COPY users FROM STDIN CSV", b"u1,3,\"abc\n")
        .await
        .expect_err("quote");
    assert_eq!(db_error(&e).code().code(), "22P04");
    assert_eq!(db_error(&e).message(), "unterminated CSV quoted field");
    assert_eq!(
        rows_of(&c, "SELECT COUNT(*) FROM users").await,
        [[Some("0".to_owned())]]
    );
}

#[tokio::test]
async fn unknown_tables_columns_and_server_files_are_refused() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, age INT); CREATE VIEW adults AS SELECT * FROM users WHERE age >= 18")
        .await
        .expect("create");
    let code = |e: tokio_postgres::Error| db_error(&e).code().code().to_owned();
    // A copy_in that fails before CopyInResponse leaves tokio-postgres
    // with an extra ReadyForQuery (its CopyFail + Sync, which PostgreSQL
    // answers the same way), so each one gets its own connection.
    let fresh = || connect(s.addr);
    let e = err(fresh()
        .await
        .copy_in::<_, Cursor<Vec<u8>>>("COPY nope FROM STDIN")
        .await);
    assert_eq!(code(e), "42P01");
    let e = err(fresh()
        .await
        .copy_in::<_, Cursor<Vec<u8>>>("COPY users (user_id, nope) FROM STDIN")
        .await);
    assert_eq!(code(e), "42703");
    let e = err(c.copy_out("COPY users TO '/tmp/x'").await);
    assert_eq!(code(e), "42501");
    let e = err(fresh()
        .await
        .copy_in::<_, Cursor<Vec<u8>>>("COPY users FROM '/etc/passwd'")
        .await);
    assert_eq!(code(e), "42501");
    let e = err(c.copy_out("COPY adults TO STDOUT").await);
    assert_eq!(code(e), "42809");
    let e = err(c
        .copy_out("COPY users TO STDOUT (FORMAT binary, HEADER)")
        .await);
    assert_eq!(code(e), "0A000");
    // The connection is still fine.
    assert_eq!(rows_of(&c, "SELECT 1").await, [[Some("1".to_owned())]]);
}

#[tokio::test]
async fn copy_fail_from_the_client_applies_nothing() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, age INT)")
        .await
        .expect("create");
    {
        let sink = c.copy_in("COPY users FROM STDIN").await.expect("copy");
        pin_mut!(sink);
        sink.send(Cursor::new(b"u1\t1\nu2\t2\n".to_vec()))
            .await
            .expect("send");
        // Dropped without finish(): tokio-postgres sends CopyFail.
    }
    assert_eq!(
        rows_of(&c, "SELECT COUNT(*) FROM users").await,
        [[Some("0".to_owned())]]
    );
    let n = copy_in(&c, "COPY users FROM STDIN", b"u3\t3\n")
        .await
        .expect("next copy");
    assert_eq!(n, 1);
}

/// A cancel request while the server waits for COPY data acts as in
/// PostgreSQL 15: not at once (the server is waiting for the client), but
/// at the client's next CopyData or CopyDone — `57014 canceling statement
/// due to user request`, nothing applied, the connection still usable. A
/// cancel sent while the connection was idle does not cancel a later COPY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_copy_in_applies_nothing() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, age INT)")
        .await
        .expect("create");
    c.cancel_token()
        .cancel_query(NoTls)
        .await
        .expect("cancel while idle");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let n = copy_in(&c, "COPY users FROM STDIN", b"u0\t0\n")
        .await
        .expect("a stale cancel does not cancel the next COPY");
    assert_eq!(n, 1);

    let e = {
        let sink = c.copy_in("COPY users FROM STDIN").await.expect("copy");
        pin_mut!(sink);
        sink.send(Cursor::new(b"u1\t1\nu2\t2\n".to_vec()))
            .await
            .expect("send");
        c.cancel_token()
            .cancel_query(NoTls)
            .await
            .expect("cancel mid-COPY");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        match sink.send(Cursor::new(b"u3\t3\n".to_vec())).await {
            Ok(()) => sink.finish().await.expect_err("canceled"),
            Err(e) => e,
        }
    };
    let db = db_error(&e);
    assert_eq!(db.code().code(), "57014");
    assert_eq!(db.message(), "canceling statement due to user request");
    assert_eq!(
        rows_of(&c, "SELECT COUNT(*) FROM users").await,
        [[Some("1".to_owned())]],
        "nothing of the canceled COPY applied"
    );
    let n = copy_in(&c, "COPY users FROM STDIN", b"u4\t4\n")
        .await
        .expect("the next COPY works");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn disconnect_mid_copy_in_leaves_the_server_healthy() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, age INT)")
        .await
        .expect("create");
    // A raw client that starts COPY, sends half a row and hangs up.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut sock = tokio::net::TcpStream::connect(s.addr).await.expect("tcp");
        let mut startup = Vec::new();
        let params = b"user\0audb\0database\0audb\0\0";
        startup.extend_from_slice(&((8 + params.len()) as u32).to_be_bytes());
        startup.extend_from_slice(&196608u32.to_be_bytes());
        startup.extend_from_slice(params);
        sock.write_all(&startup).await.expect("startup");
        let mut buf = vec![0u8; 4096];
        // Wait for ReadyForQuery ('Z').
        let mut seen = Vec::new();
        while !seen
            .windows(6)
            .any(|w| w[0] == b'Z' && w[1..5] == [0, 0, 0, 5])
        {
            let n = sock.read(&mut buf).await.expect("read");
            assert!(n > 0, "server closed during startup");
            seen.extend_from_slice(&buf[..n]);
        }
        let q = b"COPY users FROM STDIN\0";
        let mut msg = vec![b'Q'];
        msg.extend_from_slice(&((4 + q.len()) as u32).to_be_bytes());
        msg.extend_from_slice(q);
        sock.write_all(&msg).await.expect("query");
        let n = sock.read(&mut buf).await.expect("read");
        assert_eq!(
            buf.first(),
            Some(&b'G'),
            "CopyInResponse, got {:?}",
            &buf[..n]
        );
        let data = b"u1\t1\nu2\t";
        let mut msg = vec![b'd'];
        msg.extend_from_slice(&((4 + data.len()) as u32).to_be_bytes());
        msg.extend_from_slice(data);
        sock.write_all(&msg).await.expect("data");
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let c2 = connect(s.addr).await;
    assert_eq!(
        rows_of(&c2, "SELECT COUNT(*) FROM users").await,
        [[Some("0".to_owned())]]
    );
    let n = copy_in(&c2, "COPY users FROM STDIN", b"u1\t1\n")
        .await
        .expect("copy");
    assert_eq!(n, 1);
    assert_eq!(
        rows_of(&c, "SELECT COUNT(*) FROM users").await,
        [[Some("1".to_owned())]]
    );
}

#[tokio::test]
async fn large_exports_stream_row_by_row() {
    const N: usize = 200_000;
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute("CREATE TABLE big (id BIGINT PRIMARY KEY, v INT, city TEXT, vip BOOLEAN)")
        .await
        .expect("create");
    let mut data = Vec::new();
    for i in 0..N {
        data.extend_from_slice(
            format!(
                "{i}\t{}\tc{}\t{}\n",
                i % 1000,
                i % 7,
                if i % 3 == 0 { 't' } else { 'f' }
            )
            .as_bytes(),
        );
    }
    let sink = c.copy_in("COPY big FROM STDIN").await.expect("copy in");
    pin_mut!(sink);
    for piece in data.chunks(64 * 1024) {
        sink.send(Cursor::new(piece.to_vec())).await.expect("send");
    }
    assert_eq!(sink.finish().await.expect("finish"), N as u64);

    // One CopyData per row, in row order.
    let stream = c.copy_out("COPY big TO STDOUT").await.expect("copy out");
    pin_mut!(stream);
    let mut messages = 0usize;
    let mut bytes = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        if messages == 0 {
            assert_eq!(&chunk[..], b"0\t0\tc0\tt\n");
        }
        assert_eq!(chunk.last(), Some(&b'\n'));
        messages += 1;
        bytes += chunk.len();
    }
    assert_eq!(messages, N);
    assert_eq!(bytes, data.len());

    // A segment (a filtered query) streams through the windowed path.
    let out = copy_out(
        &c,
        "COPY (SELECT id, city FROM big WHERE vip AND v < 500) TO STDOUT",
    )
    .await;
    let expected = (0..N).filter(|i| i % 3 == 0 && i % 1000 < 500).count();
    let lines: Vec<&[u8]> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), expected);
    assert_eq!(lines[0], b"0\tc0");
    assert_eq!(lines[1], b"3\tc3");
    // Aggregates go through a relation.
    let out = copy_out(
        &c,
        "COPY (SELECT vip, COUNT(*) FROM big GROUP BY vip ORDER BY vip) TO STDOUT CSV HEADER",
    )
    .await;
    assert_eq!(
        String::from_utf8(out).expect("utf8"),
        format!("vip,count\nf,{}\nt,{}\n", N - N.div_ceil(3), N.div_ceil(3))
    );
}

fn psql(addr: SocketAddr, dir: &std::path::Path, command: &str) -> std::process::Output {
    Command::new("/usr/bin/psql")
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &addr.port().to_string(),
            "-U",
            "audb",
            "-d",
            "audb",
            "-c",
            command,
        ])
        .current_dir(dir)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_backslash_copy_works_both_ways() {
    let s = server().await;
    let c = connect(s.addr).await;
    create_all_types(&c).await;
    c.batch_execute(&format!("CREATE TABLE t2 {ALL_TYPES}"))
        .await
        .expect("create");
    let dir = s.dir.path().to_owned();
    let addr = s.addr;
    let outputs = tokio::task::spawn_blocking(move || {
        let out = psql(addr, &dir, "\\copy t to 't.csv' with csv header");
        let back = psql(addr, &dir, "\\copy t2 from 't.csv' with csv header");
        let text = psql(addr, &dir, "SET TimeZone = 'UTC'; COPY t TO STDOUT");
        let bad = psql(
            addr,
            &dir,
            "\\copy t2 (k, i) from program 'printf \"x\\tzz\\n\"'",
        );
        (
            out,
            back,
            text,
            bad,
            std::fs::read_to_string(dir.join("t.csv")),
        )
    })
    .await
    .expect("psql");
    let (out, back, text, bad, file) = outputs;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "COPY 3\n");
    assert_eq!(file.expect("t.csv"), PG_CSV);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&back.stdout), "COPY 3\n");
    assert_same_rows(&c, "t", "t2").await;
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        format!("SET\n{PG_TEXT}")
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("invalid input syntax for type integer: \"zz\"")
            && stderr.contains("COPY t2, line 1, column i: \"zz\""),
        "{stderr}"
    );
    assert_eq!(
        rows_of(&c, "SELECT COUNT(*) FROM t2").await,
        [[Some("3".to_owned())]]
    );
}
