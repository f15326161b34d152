//! The PostgreSQL wire server with real clients through real sockets:
//! tokio-postgres (simple and extended protocol, binary results, cancel),
//! psql as a subprocess, and a raw protocol client for what drivers hide
//! (ReadyForQuery status bytes, ParameterStatus, notices, broken clients).
// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

mod support;

use audb::server::ServerConfig;
use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;
use support::client::{code, connect, connect_as, rows};
use support::raw::{Raw as RawClient, closed_within, cstr};
use support::server::{Server, server, server_with};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

const USERS: &str = "CREATE TABLE users (user_id TEXT PRIMARY KEY, city TEXT, age INT, vip BOOLEAN, ltv NUMERIC(12,2), interests TEXT[], score DOUBLE PRECISION, register_date DATE);
INSERT INTO users VALUES ('u1', 'Shanghai', 30, true, 1200.50, ARRAY['sports','music'], 0.5, '2024-01-15'), ('u2', 'Beijing', 25, false, 300.00, ARRAY['music'], 0.25, '2024-03-01'), ('u3', 'Shanghai', NULL, true, NULL, NULL, NULL, NULL), ('u4', 'Guangzhou', 41, NULL, 99.99, ARRAY['travel'], 0.75, '2023-12-31'), ('u5', NULL, 35, false, 5000.00, '{}', -1.5, '2024-02-29'), ('u6', 'Beijing', 19, true, 0.01, ARRAY['food'], 1e10, '2022-06-30')";

async fn users_server() -> (Server, Client) {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(USERS).await.expect("create users");
    (s, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_query_runs_every_statement_and_stops_at_the_first_error() {
    let (_s, c) = users_server().await;
    let msgs = c
        .simple_query("SELECT COUNT(*) FROM users; SELECT 2 AS two, 'x' AS x")
        .await
        .expect("two statements");
    assert_eq!(
        rows(&msgs),
        vec![
            vec![Some("6".into())],
            vec![Some("2".into()), Some("x".into())]
        ]
    );
    let done: Vec<u64> = msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(done, vec![1, 1]);

    // The error stops the message: the INSERT after it never runs.
    let e = c
        .batch_execute("INSERT INTO users (user_id, age) VALUES ('u7', 50); SELECT * FROM nope; INSERT INTO users (user_id) VALUES ('u8')")
        .await
        .expect_err("missing table");
    assert_eq!(code(&e), "42P01");
    let msgs = c
        .simple_query("SELECT COUNT(*) FROM users")
        .await
        .expect("same connection keeps working");
    assert_eq!(
        rows(&msgs),
        vec![vec![Some("7".into())]],
        "u7 applied, u8 not"
    );

    let e = c.simple_query("SELEC 1").await.expect_err("syntax");
    assert_eq!(code(&e), "42601");
    let e = c.simple_query("SELECT 1/0").await.expect_err("division");
    assert_eq!(code(&e), "22012");
    assert_eq!(
        rows(&c.simple_query("SELECT 1").await.expect("after errors")),
        vec![vec![Some("1".into())]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_comment_only_queries() {
    let s = server().await;
    let c = connect(s.addr).await;
    assert!(rows(&c.simple_query("").await.expect("empty")).is_empty());
    assert!(rows(&c.simple_query("-- ping").await.expect("comment")).is_empty());
    c.batch_execute("  ;  ").await.expect("semicolon only");
    // Extended protocol: an empty prepared statement.
    let st = c.prepare("-- nothing").await.expect("prepare empty");
    assert!(st.columns().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_version_looks_like_postgres() {
    let s = server().await;
    let c = connect(s.addr).await;
    let row = c.query_one("SELECT version()", &[]).await.expect("version");
    let v: String = row.get("version");
    assert!(v.starts_with("PostgreSQL 15.0 (audb "), "{v}");
    assert!(v.ends_with("on x86_64-pc-linux-gnu, 64-bit"), "{v}");
    let msgs = c.simple_query("SELECT version()").await.expect("simple");
    assert_eq!(rows(&msgs), vec![vec![Some(v)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_protocol_with_parameters() {
    let (_s, c) = users_server().await;
    // Declared parameter types.
    let row = c
        .query_typed_raw(
            "SELECT COUNT(*) FROM users WHERE age > $1",
            vec![(
                &30i32 as &(dyn tokio_postgres::types::ToSql + Sync),
                Type::INT4,
            )],
        )
        .await
        .expect("typed");
    futures::pin_mut!(row);
    let mut n = None;
    while let Some(r) = futures::StreamExt::next(&mut row).await {
        n = Some(r.expect("row").get::<_, i64>(0));
    }
    assert_eq!(n, Some(2));

    // Inferred parameter types (Describe), statement reused.
    let st = c
        .prepare("SELECT COUNT(*) FROM users WHERE city = $1")
        .await
        .expect("prepare");
    assert_eq!(st.params(), &[Type::TEXT]);
    for (city, want) in [("Shanghai", 2i64), ("Beijing", 2), ("Nowhere", 0)] {
        let got: i64 = c.query_one(&st, &[&city]).await.expect("count").get(0);
        assert_eq!(got, want, "{city}");
    }

    // Binary parameters of declared types through INSERT (without declared
    // types, Describe reports `text` for INSERT parameters until the SQL
    // layer can describe statements).
    c.query_typed(
        "INSERT INTO users (user_id, city, age, vip, score) VALUES ($1, $2, $3, $4, $5)",
        &[
            (&"u9", Type::TEXT),
            (&"Hangzhou", Type::VARCHAR),
            (&22i32, Type::INT4),
            (&true, Type::BOOL),
            (&2.5f64, Type::FLOAT8),
        ],
    )
    .await
    .expect("insert with params");
    let r = c
        .query_one(
            "SELECT city, age, vip, score FROM users WHERE user_id = $1",
            &[&"u9"],
        )
        .await
        .expect("read back");
    assert_eq!(r.get::<_, String>(0), "Hangzhou");
    assert_eq!(r.get::<_, i32>(1), 22);
    assert!(r.get::<_, bool>(2));
    assert_eq!(r.get::<_, f64>(3), 2.5);

    // Errors in the extended protocol keep the connection usable.
    let e = c
        .query("SELECT * FROM nope WHERE a = $1", &[&1i32])
        .await
        .expect_err("missing table");
    assert_eq!(code(&e), "42P01");
    assert_eq!(
        c.query_one("SELECT 1 + $1::int", &[&1i32])
            .await
            .expect("after")
            .get::<_, i32>(0),
        2
    );
}

/// The example: the parameter type comes from Describe, which
/// must infer `integer` from `age > $1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inferred_integer_parameter() {
    let (_s, c) = users_server().await;
    let got: i64 = c
        .query_one("SELECT COUNT(*) FROM users WHERE age > $1", &[&30i32])
        .await
        .expect("int param")
        .get(0);
    assert_eq!(got, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_suspend_at_max_rows() {
    let (_s, mut c) = users_server().await;
    let t = c.transaction().await.expect("begin");
    let st = t
        .prepare("SELECT user_id FROM users ORDER BY user_id")
        .await
        .expect("prepare");
    let portal = t.bind(&st, &[]).await.expect("bind");
    let mut got = Vec::new();
    loop {
        let batch = t.query_portal(&portal, 4).await.expect("fetch");
        let n = batch.len();
        got.extend(batch.into_iter().map(|r| r.get::<_, String>(0)));
        if n < 4 {
            break;
        }
    }
    assert_eq!(got, ["u1", "u2", "u3", "u4", "u5", "u6"]);
    t.commit().await.expect("commit");
}

/// Keeps the raw bytes of a value in binary format.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_results_of_each_type() {
    let (_s, c) = users_server().await;
    let r = c
        .query_one("SELECT user_id, age, vip, ltv, interests, score, register_date FROM users WHERE user_id = 'u1'", &[])
        .await
        .expect("row");
    let types: Vec<Type> = r.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        [
            Type::TEXT,
            Type::INT4,
            Type::BOOL,
            Type::NUMERIC,
            Type::TEXT_ARRAY,
            Type::FLOAT8,
            Type::DATE
        ]
    );
    assert_eq!(r.get::<_, String>(0), "u1");
    assert_eq!(r.get::<_, i32>(1), 30);
    assert!(r.get::<_, bool>(2));
    // numeric_send(1200.50): 2 digits, weight 0, positive, scale 2, 1200 5000.
    assert_eq!(
        r.get::<_, Raw>(3),
        Raw(vec![0, 2, 0, 0, 0, 0, 0, 2, 0x04, 0xb0, 0x13, 0x88])
    );
    // text[] columns keep their elements as a sorted set.
    assert_eq!(
        r.get::<_, Vec<Option<String>>>(4),
        [Some("music".to_owned()), Some("sports".to_owned())]
    );
    assert_eq!(r.get::<_, f64>(5), 0.5);
    // 2024-01-15 is day 8780 after 2000-01-01.
    assert_eq!(r.get::<_, Raw>(6), Raw(8780i32.to_be_bytes().to_vec()));

    let r = c
        .query_one(
            "SELECT 1::smallint, 2::bigint, 0.5::real, CAST('2024-01-15 10:00:00' AS timestamp), CAST('2024-01-15 10:00:00+00' AS timestamptz), NULL::text, ARRAY['a', NULL]::text[]",
            &[],
        )
        .await
        .expect("casts");
    let types: Vec<Type> = r.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        [
            Type::INT2,
            Type::INT8,
            Type::FLOAT4,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::TEXT,
            Type::TEXT_ARRAY
        ]
    );
    assert_eq!(r.get::<_, i16>(0), 1);
    assert_eq!(r.get::<_, i64>(1), 2);
    assert_eq!(r.get::<_, f32>(2), 0.5);
    let micros = (8780i64 * 86_400 + 10 * 3600) * 1_000_000;
    assert_eq!(r.get::<_, Raw>(3), Raw(micros.to_be_bytes().to_vec()));
    assert_eq!(r.get::<_, Raw>(4), Raw(micros.to_be_bytes().to_vec()));
    assert_eq!(r.get::<_, Option<String>>(5), None);
    assert_eq!(
        r.get::<_, Vec<Option<String>>>(6),
        [Some("a".to_owned()), None]
    );

    // Binary parameters of the same types come back equal.
    let r = c
        .query_one(
            "SELECT $1::bigint, $2::text[], $3::boolean, $4::double precision",
            &[&-5i64, &vec!["x".to_owned()], &false, &1.25f64],
        )
        .await
        .expect("binary params");
    assert_eq!(r.get::<_, i64>(0), -5);
    assert_eq!(r.get::<_, Vec<String>>(1), ["x"]);
    assert!(!r.get::<_, bool>(2));
    assert_eq!(r.get::<_, f64>(3), 1.25);
}

/// Object-identifier and array columns: the types in RowDescription, the
/// names in text format and the bytes in binary format are PostgreSQL 15's
/// (captured from it for the same query).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_identifiers_and_arrays_as_postgres_sends_them() {
    let (_s, c) = users_server().await;
    let sql = "SELECT 'pg_class'::regclass, 'int4'::regtype, 'pg_catalog'::regnamespace, '1 2'::oidvector, ARRAY['pg_class'::regclass, 'pg_type'], 1259::oid, ARRAY[1, NULL, 3], ARRAY['a', NULL]::text[], '{}'::int[], 0::regclass, '1 2'::int2vector";
    let r = c.query_one(sql, &[]).await.expect("binary row");
    let described: Vec<(String, u32)> = r
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_().oid()))
        .collect();
    let names = [
        "regclass",
        "regtype",
        "regnamespace",
        "oidvector",
        "array",
        "oid",
        "array",
        "array",
        "int4",
        "regclass",
        "int2vector",
    ];
    let oids = [2205, 2206, 4089, 30, 2210, 26, 1007, 1009, 1007, 2205, 22];
    let expected: Vec<(String, u32)> = names
        .iter()
        .zip(oids)
        .map(|(n, o)| ((*n).to_owned(), o))
        .collect();
    assert_eq!(described, expected);
    let hex = |i: usize| -> String {
        r.get::<_, Raw>(i)
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let postgres = [
        "000004eb",
        "00000017",
        "0000000b",
        "00000001000000000000001a000000020000000000000004000000010000000400000002",
        "00000001000000000000089d000000020000000100000004000004eb00000004000004df",
        "000004eb",
        "00000001000000010000001700000003000000010000000400000001ffffffff0000000400000003",
        "00000001000000010000001900000002000000010000000161ffffffff",
        "000000000000000000000017",
        "00000000",
        "0000000100000000000000150000000200000000000000020001000000020002",
    ];
    for (i, want) in postgres.iter().enumerate() {
        assert_eq!(hex(i), *want, "column {i} ({})", names[i]);
    }
    let text = rows(&c.simple_query(sql).await.expect("text row"));
    let text: Vec<&str> = text[0]
        .iter()
        .map(|v| v.as_deref().unwrap_or("NULL"))
        .collect();
    assert_eq!(
        text,
        [
            "pg_class",
            "integer",
            "pg_catalog",
            "1 2",
            "{pg_class,pg_type}",
            "1259",
            "{1,NULL,3}",
            "{a,NULL}",
            "{}",
            "-",
            "1 2"
        ]
    );
    // A user table's name comes from the catalog when the row is sent.
    let named = rows(
        &c.simple_query("SELECT 'users'::regclass, c.oid::regclass FROM pg_class c WHERE c.oid = 'users'::regclass")
            .await
            .expect("users"),
    );
    assert_eq!(
        named,
        [[Some("users".to_owned()), Some("users".to_owned())]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_block_fails_until_rollback() {
    let (s, c) = users_server().await;
    c.batch_execute("BEGIN").await.expect("begin");
    c.batch_execute("INSERT INTO users (user_id) VALUES ('t1')")
        .await
        .expect("insert in block");
    let e = c
        .batch_execute("SELECT * FROM nope")
        .await
        .expect_err("error in block");
    assert_eq!(code(&e), "42P01");
    let e = c.batch_execute("SELECT 1").await.expect_err("block failed");
    assert_eq!(code(&e), "25P02");
    let e = c
        .query("SELECT $1::int", &[&1i32])
        .await
        .expect_err("failed in extended too");
    assert_eq!(code(&e), "25P02");
    c.batch_execute("ROLLBACK").await.expect("rollback");
    // Writes apply at once: ROLLBACK did not undo t1 (documented).
    let n: i64 = c
        .query_one("SELECT COUNT(*) FROM users", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 7);

    // Status bytes and notices, as a driver sees them.
    let (mut raw, _) = raw_client(s.addr).await;
    assert_eq!(raw.query("SELECT 1").await.status, b'I');
    assert_eq!(raw.query("BEGIN").await.status, b'T');
    assert_eq!(raw.query("SAVEPOINT a; RELEASE a").await.status, b'T');
    assert_eq!(raw.query("SELECT nope()").await.status, b'E');
    let r = raw.query("SELECT 1").await;
    assert_eq!(
        (r.status, r.errors.as_slice()),
        (b'E', &["25P02".to_owned()][..])
    );
    assert_eq!(raw.query("ROLLBACK").await.status, b'I');
    assert_eq!(
        raw.query("BEGIN; INSERT INTO users (user_id) VALUES ('t2')")
            .await
            .status,
        b'T'
    );
    let r = raw.query("ROLLBACK").await;
    assert_eq!(r.status, b'I');
    assert_eq!(r.notices, ["01000"], "ROLLBACK warns that writes stay");
    assert_eq!(raw.query("BEGIN; COMMIT").await.status, b'I');
    let r = raw.query("SAVEPOINT x").await;
    assert_eq!(
        (r.status, r.errors.as_slice()),
        (b'I', &["25P01".to_owned()][..])
    );
    // A failed block ends with COMMIT too (reported as ROLLBACK).
    raw.query("BEGIN; SELECT 1/0").await;
    let r = raw.query("COMMIT").await;
    assert_eq!(
        (r.status, r.tags.as_slice()),
        (b'I', &["ROLLBACK".to_owned()][..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_commands_and_parameter_status() {
    let s = server().await;
    let (mut raw, startup_params) = raw_client(s.addr).await;
    assert_eq!(
        startup_params.get("server_version").map(String::as_str),
        Some(&*format!("15.0 (audb {})", env!("CARGO_PKG_VERSION")))
    );
    for (k, v) in [
        ("server_version_num", "150000"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("TimeZone", "UTC"),
        ("integer_datetimes", "on"),
        ("standard_conforming_strings", "on"),
        ("session_authorization", "audb"),
        ("application_name", "raw-test"),
    ] {
        assert_eq!(startup_params.get(k).map(String::as_str), Some(v), "{k}");
    }
    let r = raw.query("SET TIME ZONE '+08'").await;
    // PostgreSQL 15 shows a number of hours as a POSIX zone.
    assert_eq!(r.params, [("TimeZone".to_owned(), "<+08>-08".to_owned())]);
    let r = raw.query("SET application_name = 'dash'").await;
    assert_eq!(
        r.params,
        [("application_name".to_owned(), "dash".to_owned())]
    );
    let r = raw.query("RESET ALL").await;
    assert!(
        r.params
            .contains(&("TimeZone".to_owned(), "UTC".to_owned())),
        "{:?}",
        r.params
    );
    assert!(
        r.params
            .contains(&("application_name".to_owned(), "raw-test".to_owned())),
        "{:?}",
        r.params
    );
    let r = raw
        .query("DISCARD ALL; UNLISTEN *; DEALLOCATE ALL; DEALLOCATE foo; RESET TimeZone")
        .await;
    assert_eq!(
        r.tags,
        [
            "DISCARD ALL",
            "UNLISTEN",
            "DEALLOCATE ALL",
            "DEALLOCATE",
            "RESET"
        ]
    );
    assert!(r.errors.is_empty());
    let r = raw.query("SHOW timezone").await;
    assert_eq!(r.rows, [vec![Some("UTC".to_owned())]]);
    let r = raw.query("").await;
    assert_eq!(r.tags, ["<empty>"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_names() {
    let s = server().await;
    connect_as(s.addr, "postgres")
        .await
        .expect("postgres is an alias");
    let e = connect_as(s.addr, "other")
        .await
        .expect_err("unknown database");
    assert_eq!(code(&e), "3D000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_connections() {
    let (s, _c) = users_server().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            let c = connect(addr).await;
            for _ in 0..5 {
                let n: i64 = c
                    .query_one("SELECT COUNT(*) FROM users WHERE vip", &[])
                    .await
                    .expect("count")
                    .get(0);
                assert_eq!(n, 3, "connection {i}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_connections_is_53300() {
    let s = server_with(ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    })
    .await;
    let a = connect(s.addr).await;
    let b = connect(s.addr).await;
    let e = connect_as(s.addr, "audb").await.expect_err("third");
    assert_eq!(code(&e), "53300");
    let msg = e
        .as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_default();
    assert_eq!(msg, "sorry, too many clients already");
    drop(b);
    // The slot comes back once the server sees the connection end.
    let mut again = None;
    for _ in 0..100 {
        if let Ok(c) = connect_as(s.addr, "audb").await {
            again = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = again.expect("a slot frees up");
    assert_eq!(
        again
            .query_one("SELECT 1", &[])
            .await
            .expect("works")
            .get::<_, i32>(0),
        1
    );
    assert_eq!(
        a.query_one("SELECT 2", &[])
            .await
            .expect("works")
            .get::<_, i32>(0),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_keeps_the_connection_usable() {
    let (_s, c) = users_server().await;
    // Make some work: more rows, then a query sorting all of them.
    let values: Vec<String> = (0..2000)
        .map(|i| format!("('g{i}', 'c{}', {})", i % 50, i % 90))
        .collect();
    c.batch_execute(&format!(
        "INSERT INTO users (user_id, city, age) VALUES {}",
        values.join(",")
    ))
    .await
    .expect("bulk");
    let token = c.cancel_token();
    let query = "SELECT city, age, COUNT(*) FROM users GROUP BY city, age ORDER BY 3 DESC, 1, 2";
    let run = c.simple_query(query);
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(2)).await;
        token.cancel_query(NoTls).await.expect("cancel request");
    };
    let (result, ()) = tokio::join!(run, cancel);
    // The query either finished first or was canceled with 57014.
    if let Err(e) = result {
        assert_eq!(code(&e), "57014");
    }
    let n: i64 = c
        .query_one("SELECT COUNT(*) FROM users", &[])
        .await
        .expect("usable")
        .get(0);
    assert_eq!(n, 2006);
    // A cancel with nothing running is harmless.
    c.cancel_token()
        .cancel_query(NoTls)
        .await
        .expect("idle cancel");
    assert_eq!(
        c.query_one("SELECT 1", &[])
            .await
            .expect("usable")
            .get::<_, i32>(0),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_is_57014() {
    let (_s, c) = users_server().await;
    let values: Vec<String> = (0..3000)
        .map(|i| format!("('h{i}', 'c{}', {})", i % 97, i % 89))
        .collect();
    c.batch_execute(&format!(
        "INSERT INTO users (user_id, city, age) VALUES {}",
        values.join(",")
    ))
    .await
    .expect("bulk");
    c.batch_execute("SET statement_timeout = 1")
        .await
        .expect("set");
    let mut canceled = false;
    for _ in 0..5 {
        match c
            .simple_query("SELECT city, age, user_id FROM users ORDER BY user_id DESC, city, age")
            .await
        {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(code(&e), "57014");
                canceled = true;
                break;
            }
        }
    }
    c.batch_execute("SET statement_timeout = 0")
        .await
        .expect("reset");
    assert_eq!(
        c.query_one("SELECT 1", &[])
            .await
            .expect("usable")
            .get::<_, i32>(0),
        1
    );
    // On this machine a sort of 3000 rows may finish within 1 ms; only a
    // timeout that fires must be 57014.
    let _ = canceled;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_runs_a_query() {
    let s = server().await;
    let port = s.addr.port().to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "audb",
                "-X",
                "-A",
                "-t",
                "-c",
                "SELECT 1",
            ])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
    })
    .await
    .expect("join");
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("psql is not installed; skipping");
            return;
        }
        Err(e) => panic!("psql: {e}"),
    };
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_client_only_loses_its_own_connection() {
    let s = server().await;
    let c = connect(s.addr).await;
    // Garbage instead of a startup packet.
    let mut bad = TcpStream::connect(s.addr).await.expect("tcp");
    bad.write_all(&[0xff; 64]).await.expect("write");
    // A started session that then sends an impossible message length.
    let (mut raw, _) = raw_client(s.addr).await;
    raw.stream
        .write_all(&[b'Q', 0xff, 0xff, 0xff, 0xff])
        .await
        .expect("write");
    assert!(
        closed_within(&mut raw.stream, 5).await,
        "the broken connection is closed"
    );
    // Bind formats that do not match the columns: an error, not a crash.
    let (mut raw2, _) = raw_client(s.addr).await;
    let errors = bind_with_bad_formats(&mut raw2).await;
    assert_eq!(errors, ["08P01"]);
    assert_eq!(
        raw2.query("SELECT 1").await.rows,
        [vec![Some("1".to_owned())]]
    );
    // Everyone else is still served.
    assert_eq!(
        c.query_one("SELECT 1", &[])
            .await
            .expect("still served")
            .get::<_, i32>(0),
        1
    );
    connect(s.addr).await;
}

/// A raw protocol client started with `application_name=raw-test`, and
/// the ParameterStatus values of its startup.
async fn raw_client(addr: SocketAddr) -> (RawClient, HashMap<String, String>) {
    let (raw, startup) = RawClient::start(
        addr,
        &[
            ("user", "audb"),
            ("database", "audb"),
            ("application_name", "raw-test"),
        ],
    )
    .await;
    (raw, startup.params.into_iter().collect())
}

/// Parse/Bind with 2 result formats for a 1-column query, then Sync: the
/// SQLSTATEs of the answer.
async fn bind_with_bad_formats(raw: &mut RawClient) -> Vec<String> {
    raw.send(b'P', &[cstr(""), cstr("SELECT 1"), vec![0, 0]].concat())
        .await;
    // portal "", statement "", 0 param formats, 0 params, 2 result formats
    raw.send(
        b'B',
        &[cstr(""), cstr(""), vec![0, 0, 0, 0, 0, 2, 0, 1, 0, 1]].concat(),
    )
    .await;
    raw.send(b'E', &[cstr(""), vec![0, 0, 0, 0]].concat()).await;
    raw.send(b'S', &[]).await;
    raw.read_until_ready().await.errors
}
