//! `set_config(name, value, is_local)` as PostgreSQL 15 answers it: the
//! value it returns, what `SHOW` and `current_setting` see afterwards,
//! local changes inside and outside transaction blocks, NULL arguments,
//! the SQLSTATEs of bad names and values, and the ParameterStatus a
//! client receives when a reported setting changes.

mod support;

use audb::db::{Db, Session, StatementResult};
use support::client::connect;
use support::db::open_db;
use support::raw::Raw;
use support::server::server;

/// The single text value `sql` returns (its last statement's first cell).
fn one(db: &Db, s: &mut Session, sql: &str) -> Option<String> {
    let out = db
        .execute(s, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    match out.last() {
        Some(StatementResult::Rows(r)) => match r.rows.first()?.first()? {
            audb::sql::types::Datum::Text(t) => Some(t.clone()),
            audb::sql::types::Datum::Null => None,
            other => Some(format!("{other:?}")),
        },
        other => panic!("{sql}: no rows: {other:?}"),
    }
}

fn row(db: &Db, s: &mut Session, sql: &str) -> Vec<String> {
    match db.execute(s, sql).expect(sql).last() {
        Some(StatementResult::Rows(r)) => r.rows[0]
            .iter()
            .map(|d| match d {
                audb::sql::types::Datum::Text(t) => t.clone(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("{sql}: {other:?}"),
    }
}

fn err(db: &Db, s: &mut Session, sql: &str) -> String {
    match db.execute(s, sql) {
        Ok(r) => panic!("{sql} succeeded: {r:?}"),
        Err(e) => e.state.code().to_owned(),
    }
}

#[test]
fn set_config_changes_the_session() {
    let (db, _dir) = open_db();
    let mut s = Session::new("t");
    assert_eq!(
        one(&db, &mut s, "SELECT current_setting('jit')").as_deref(),
        Some("on")
    );
    assert_eq!(
        row(
            &db,
            &mut s,
            "SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new"
        ),
        ["on", "off"]
    );
    assert_eq!(one(&db, &mut s, "SHOW jit").as_deref(), Some("off"));
    assert_eq!(
        one(&db, &mut s, "SELECT current_setting('jit')").as_deref(),
        Some("off")
    );
    // Later calls in the same statement see earlier ones.
    assert_eq!(
        row(
            &db,
            &mut s,
            "SELECT set_config('application_name', 'a', false), current_setting('application_name'), \
             set_config('application_name', 'b', false), current_setting('application_name')"
        ),
        ["a", "a", "b", "b"]
    );
    assert_eq!(
        one(&db, &mut s, "SHOW application_name").as_deref(),
        Some("b")
    );
    // Values print as SHOW prints them.
    for (name, value, shown) in [
        ("statement_timeout", "10000", "10s"),
        ("statement_timeout", "0", "0"),
        ("DateStyle", "DMY", "ISO, DMY"),
        ("TimeZone", "+8", "<+08>-08"),
        ("enable_seqscan", "no", "off"),
        ("client_min_messages", "WARNING", "warning"),
        ("work_mem", "4096", "4MB"),
        ("my.custom", "x y", "x y"),
    ] {
        let sql = format!("SELECT set_config('{name}', '{value}', false)");
        assert_eq!(one(&db, &mut s, &sql).as_deref(), Some(shown), "{sql}");
        let show = format!("SELECT current_setting('{name}')");
        assert_eq!(one(&db, &mut s, &show).as_deref(), Some(shown), "{show}");
    }
    // The session time zone follows: 2024-01-01 00:00 UTC at +08.
    assert_eq!(
        one(
            &db,
            &mut s,
            "SELECT CAST(TIMESTAMPTZ '2024-01-01 00:00:00+00' AS TEXT)"
        )
        .as_deref(),
        Some("2024-01-01 08:00:00+08")
    );
    // A cached result is not served after set_config changed a setting.
    db.execute(&mut s, "SELECT set_config('application_name', 'c1', false)")
        .expect("set");
    let q = "SELECT current_setting('application_name')";
    assert_eq!(one(&db, &mut s, q).as_deref(), Some("c1"));
    db.execute(&mut s, "SELECT set_config('application_name', 'c2', false)")
        .expect("set");
    assert_eq!(one(&db, &mut s, q).as_deref(), Some("c2"));
}

#[test]
fn local_changes_end_with_the_transaction() {
    let (db, _dir) = open_db();
    let mut s = Session::new("t");
    let app = "SHOW application_name";
    // Outside a block a local change lasts for its statement only.
    assert_eq!(
        row(
            &db,
            &mut s,
            "SELECT set_config('application_name', 'loc', true), current_setting('application_name')"
        ),
        ["loc", "loc"]
    );
    assert_eq!(one(&db, &mut s, app).as_deref(), Some(""));
    db.execute(&mut s, "BEGIN").expect("begin");
    db.execute(
        &mut s,
        "SELECT set_config('application_name', 'inblock', true)",
    )
    .expect("set");
    assert_eq!(one(&db, &mut s, app).as_deref(), Some("inblock"));
    db.execute(&mut s, "COMMIT").expect("commit");
    assert_eq!(one(&db, &mut s, app).as_deref(), Some(""));
    // A session-level change is undone by ROLLBACK, kept by COMMIT.
    db.execute(&mut s, "BEGIN").expect("begin");
    db.execute(
        &mut s,
        "SELECT set_config('application_name', 'sess', false)",
    )
    .expect("set");
    db.execute(&mut s, "ROLLBACK").expect("rollback");
    assert_eq!(one(&db, &mut s, app).as_deref(), Some(""));
    db.execute(&mut s, "BEGIN").expect("begin");
    db.execute(
        &mut s,
        "SELECT set_config('application_name', 'sess2', false)",
    )
    .expect("set");
    db.execute(
        &mut s,
        "SELECT set_config('application_name', 'loc2', true)",
    )
    .expect("set");
    assert_eq!(one(&db, &mut s, app).as_deref(), Some("loc2"));
    db.execute(&mut s, "COMMIT").expect("commit");
    assert_eq!(one(&db, &mut s, app).as_deref(), Some("sess2"));
    // SET LOCAL behaves alike.
    db.execute(&mut s, "BEGIN; SET LOCAL application_name = 'sl'")
        .expect("set local");
    assert_eq!(one(&db, &mut s, app).as_deref(), Some("sl"));
    db.execute(&mut s, "COMMIT").expect("commit");
    assert_eq!(one(&db, &mut s, app).as_deref(), Some("sess2"));
    // A failing statement's changes are dropped.
    assert_eq!(
        err(
            &db,
            &mut s,
            "SELECT set_config('application_name', 'lost', false), 1 / 0"
        ),
        "22012"
    );
    assert_eq!(one(&db, &mut s, app).as_deref(), Some("sess2"));
}

#[test]
fn null_arguments_and_errors() {
    let (db, _dir) = open_db();
    let mut s = Session::new("t");
    db.execute(&mut s, "SET application_name = 'x'")
        .expect("set");
    // A NULL value resets to the default; a NULL is_local means false.
    assert_eq!(
        one(
            &db,
            &mut s,
            "SELECT set_config('application_name', NULL, false)"
        )
        .as_deref(),
        Some("")
    );
    assert_eq!(
        one(
            &db,
            &mut s,
            "SELECT set_config('application_name', 'y', NULL)"
        )
        .as_deref(),
        Some("y")
    );
    assert_eq!(
        one(&db, &mut s, "SHOW application_name").as_deref(),
        Some("y")
    );
    for (sql, code) in [
        ("SELECT set_config(NULL, '1', false)", "22004"),
        ("SELECT set_config('foo', '1', false)", "42704"),
        ("SELECT set_config('server_version', '1', false)", "55P02"),
        ("SELECT set_config('is_superuser', 'off', false)", "55P02"),
        ("SELECT set_config('max_connections', '5', false)", "55P02"),
        ("SELECT set_config('DateStyle', 'xyz', false)", "22023"),
        ("SELECT set_config('TimeZone', 'bogus', false)", "22023"),
        (
            "SELECT set_config('statement_timeout', 'abc', false)",
            "22023",
        ),
        (
            "SELECT set_config('extra_float_digits', '30', false)",
            "22023",
        ),
        ("SELECT set_config('jit', 'maybe', false)", "22023"),
        ("SELECT current_setting('nosuch')", "42704"),
        ("SET nosuch = 1", "42704"),
        ("SET extra_float_digits = 30", "22023"),
    ] {
        assert_eq!(err(&db, &mut s, sql), code, "{sql}");
    }
    assert_eq!(
        one(&db, &mut s, "SHOW application_name").as_deref(),
        Some("y")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_wire_with_parameter_status() {
    let s = server().await;
    let client = connect(s.addr).await;
    // The extended protocol, with parameters (Describe must not apply it).
    let r = client
        .query_one(
            "SELECT set_config($1, $2, $3)",
            &[&"application_name", &"ext", &false],
        )
        .await
        .expect("set_config");
    assert_eq!(r.get::<_, String>(0), "ext");
    let r = client
        .query_one("SELECT current_setting('application_name')", &[])
        .await
        .expect("read");
    assert_eq!(r.get::<_, String>(0), "ext");
    let e = client
        .query_one("SELECT set_config('nosuch', 'x', false)", &[])
        .await
        .expect_err("unknown");
    assert_eq!(e.code().map(|c| c.code()), Some("42704"));

    let (mut raw, _) = Raw::start(s.addr, &[("user", "audb"), ("database", "audb")]).await;
    let r = raw
        .query("SELECT set_config('application_name', 'viaconfig', false)")
        .await;
    assert_eq!(r.errors, Vec::<String>::new());
    assert_eq!(
        r.params,
        [("application_name".to_owned(), "viaconfig".to_owned())]
    );
    // A local change outside a block is gone by ReadyForQuery: nothing to report.
    let r = raw
        .query("SELECT set_config('application_name', 'brief', true)")
        .await;
    assert_eq!(r.params, []);
    let r = raw.query("BEGIN").await;
    assert_eq!(r.status, b'T');
    let r = raw
        .query("SELECT set_config('TimeZone', 'Asia/Shanghai', true)")
        .await;
    assert_eq!(
        r.params,
        [("TimeZone".to_owned(), "Asia/Shanghai".to_owned())]
    );
    let r = raw.query("COMMIT").await;
    assert_eq!(r.params, [("TimeZone".to_owned(), "UTC".to_owned())]);
    let r = raw.query("SHOW TimeZone").await;
    assert_eq!(r.rows, [vec![Some("UTC".to_owned())]]);
}
