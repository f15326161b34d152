//! Time zones in timestamp input, through a real client: `COPY … FROM
//! STDIN` (text and csv) resolves text without a zone in the session's
//! `TimeZone` at each value's own instant (DST included, skipped and
//! repeated local times as PostgreSQL resolves them), zones written in the
//! text (names, abbreviations, offsets, `Z`) win, and `COPY … TO STDOUT`
//! prints each value with the offset in force at its instant. Expected
//! bytes and errors are PostgreSQL 15's for the same input.

mod support;

use support::client::{code, connect, rows_of};
use support::copy::{copy_in, copy_out};
use support::server::server;
use tokio_postgres::Client;

const TABLE: &str = "CREATE TABLE t (k TEXT PRIMARY KEY, ts TIMESTAMPTZ, lt TIMESTAMP)";

/// Text-format rows: summer and winter, a skipped (02:30) and a repeated
/// (01:30) local time, and zones of every kind written in the text.
const TEXT_ROWS: &str = "\
w\t2024-01-15 12:00\t2024-01-15 12:00 America/New_York
s\t2024-07-15 12:00\t2024-07-15 12:00 EST
g\t2024-03-10 02:30\t\\N
f\t2024-11-03 01:30\t\\N
n\t2024-03-10 12:00 America/New_York\t\\N
z\t2024-07-01 00:00:00 Asia/Shanghai\t\\N
e\t2024-01-01 00:00 EST\t\\N
o\t2024-01-01T00:00:00+05:30\t\\N
u\t2024-07-01 00:00 UTC\t\\N
Z\t2024-07-01T00:00:00Z\t2024-07-01T00:00:00Z
";

const CSV_ROWS: &str = "c1,2024-12-25 08:00,\nc2,2024-06-25 08:00 europe/paris,\n";

async fn new_york(c: &Client) {
    c.batch_execute("SET TimeZone = 'America/New_York'")
        .await
        .expect("set");
}

async fn loaded() -> (support::server::Server, Client) {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(TABLE).await.expect("create");
    new_york(&c).await;
    assert_eq!(
        copy_in(&c, "COPY t FROM STDIN", TEXT_ROWS.as_bytes())
            .await
            .expect("copy text"),
        10
    );
    assert_eq!(
        copy_in(&c, "COPY t FROM STDIN (FORMAT csv)", CSV_ROWS.as_bytes())
            .await
            .expect("copy csv"),
        2
    );
    (s, c)
}

#[tokio::test]
async fn copy_from_resolves_each_value_at_its_own_instant() {
    let (_s, c) = loaded().await;
    c.batch_execute("SET TimeZone = 'UTC'").await.expect("set");
    let got: Vec<String> = rows_of(&c, "SELECT k, ts FROM t ORDER BY k")
        .await
        .into_iter()
        .map(|r| format!("{}|{}", r[0].as_deref().unwrap(), r[1].as_deref().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "Z|2024-07-01 00:00:00+00",
            "c1|2024-12-25 13:00:00+00",
            "c2|2024-06-25 06:00:00+00",
            "e|2024-01-01 05:00:00+00",
            "f|2024-11-03 06:30:00+00",
            "g|2024-03-10 07:30:00+00",
            "n|2024-03-10 16:00:00+00",
            "o|2023-12-31 18:30:00+00",
            "s|2024-07-15 16:00:00+00",
            "u|2024-07-01 00:00:00+00",
            "w|2024-01-15 17:00:00+00",
            "z|2024-06-30 16:00:00+00",
        ]
    );
}

#[tokio::test]
async fn copy_to_prints_each_value_with_its_own_offset() {
    let (_s, c) = loaded().await;
    let mut lines: Vec<String> = String::from_utf8(copy_out(&c, "COPY t TO STDOUT").await)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    let mut expected = vec![
        "w\t2024-01-15 12:00:00-05\t2024-01-15 12:00:00",
        "s\t2024-07-15 12:00:00-04\t2024-07-15 12:00:00",
        "g\t2024-03-10 03:30:00-04\t\\N",
        "f\t2024-11-03 01:30:00-05\t\\N",
        "n\t2024-03-10 12:00:00-04\t\\N",
        "z\t2024-06-30 12:00:00-04\t\\N",
        "e\t2024-01-01 00:00:00-05\t\\N",
        "o\t2023-12-31 13:30:00-05\t\\N",
        "u\t2024-06-30 20:00:00-04\t\\N",
        "Z\t2024-06-30 20:00:00-04\t2024-07-01 00:00:00",
        "c1\t2024-12-25 08:00:00-05\t\\N",
        "c2\t2024-06-25 02:00:00-04\t\\N",
    ];
    expected.sort_unstable();
    assert_eq!(lines, expected);
    let csv =
        String::from_utf8(copy_out(&c, "COPY t (k, ts) TO STDOUT (FORMAT csv)").await).unwrap();
    let mut csv: Vec<&str> = csv.lines().collect();
    csv.sort_unstable();
    assert!(csv.contains(&"g,2024-03-10 03:30:00-04"), "{csv:?}");
    assert!(csv.contains(&"c1,2024-12-25 08:00:00-05"), "{csv:?}");
}

/// SQLSTATE, message and CONTEXT of a COPY that must fail.
async fn copy_error(c: &Client, data: &str) -> (String, String, String) {
    let e = match copy_in(c, "COPY t FROM STDIN", data.as_bytes()).await {
        Ok(n) => panic!("copied {n} rows of {data:?}"),
        Err(e) => e,
    };
    let db = e.as_db_error().expect("a server error");
    (
        code(&e),
        db.message().to_owned(),
        db.where_().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn copy_refuses_unknown_zones_as_postgres_does() {
    let s = server().await;
    let c = connect(s.addr).await;
    c.batch_execute(TABLE).await.expect("create");
    new_york(&c).await;
    assert_eq!(
        copy_error(&c, "x\t2024-01-01 00:00 Foo/Bar\t\\N\n").await,
        (
            "22023".into(),
            "time zone \"foo/bar\" not recognized".into(),
            "COPY t, line 1, column ts: \"2024-01-01 00:00 Foo/Bar\"".into()
        )
    );
    assert_eq!(
        copy_error(&c, "x\t2024-01-01 00:00 foo\t\\N\n").await,
        (
            "22007".into(),
            "invalid input syntax for type timestamp with time zone: \"2024-01-01 00:00 foo\""
                .into(),
            "COPY t, line 1, column ts: \"2024-01-01 00:00 foo\"".into()
        )
    );
    assert_eq!(
        copy_error(&c, "x\t\\N\t2024-01-01 00:00 Mars/Base\n").await,
        (
            "22023".into(),
            "time zone \"mars/base\" not recognized".into(),
            "COPY t, line 1, column lt: \"2024-01-01 00:00 Mars/Base\"".into()
        )
    );
    assert_eq!(
        rows_of(&c, "SELECT count(*) FROM t").await,
        [[Some("0".to_owned())]]
    );
}

/// Casts and comparisons take the same path: the session zone at each
/// value's instant, a written zone first.
#[tokio::test]
async fn literals_follow_the_session_zone_and_written_zones() {
    let s = server().await;
    let c = connect(s.addr).await;
    new_york(&c).await;
    assert_eq!(
        rows_of(
            &c,
            "SELECT '2024-01-15 12:00'::timestamptz, '2024-07-15 12:00'::timestamptz, \
             '2024-07-15 12:00 UTC'::timestamptz, '2024-01-15 12:00 Europe/Paris'::timestamptz, \
             '2024-03-10 02:30'::timestamptz, '2024-11-03 01:30'::timestamptz, \
             'epoch'::timestamptz, 'epoch EST'::timestamptz, 'EST 2024-01-01 00:00'::timestamptz"
        )
        .await,
        [[
            Some("2024-01-15 12:00:00-05".to_owned()),
            Some("2024-07-15 12:00:00-04".to_owned()),
            Some("2024-07-15 08:00:00-04".to_owned()),
            Some("2024-01-15 06:00:00-05".to_owned()),
            Some("2024-03-10 03:30:00-04".to_owned()),
            Some("2024-11-03 01:30:00-05".to_owned()),
            Some("1969-12-31 19:00:00-05".to_owned()),
            Some("1969-12-31 19:00:00-05".to_owned()),
            Some("2024-01-01 00:00:00-05".to_owned()),
        ]]
    );
    let e = c
        .simple_query("SELECT '2024-01-01 00:00 Foo/Bar'::timestamptz")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "22023");
    assert_eq!(
        e.as_db_error().unwrap().message(),
        "time zone \"foo/bar\" not recognized"
    );
}
