//! Session settings over the wire as PostgreSQL 15 keeps them: `SET LOCAL`
//! outside a transaction block (WARNING 25P01, no lasting effect),
//! savepoints (`ROLLBACK TO SAVEPOINT` undoes setting changes, `RELEASE`
//! keeps them, 3B001 / 25P01 errors), and `RESET` / `SET … TO DEFAULT` /
//! `set_config(name, NULL, …)` / `RESET ALL` returning to the values of
//! the startup packet, with the ParameterStatus messages a client sees.
//! Every expectation here was checked against a PostgreSQL 15 server.

mod support;

use support::raw::{Raw, fields};
use support::server::server;

/// The single value of a one-row, one-column answer.
async fn value(raw: &mut Raw, sql: &str) -> Option<String> {
    let r = raw.query(sql).await;
    assert_eq!(r.errors, Vec::<String>::new(), "{sql}");
    assert_eq!(r.rows.len(), 1, "{sql}: {r:?}");
    r.rows[0][0].clone()
}

/// Runs `sql`, expecting success without notices.
async fn ok(raw: &mut Raw, sql: &str) {
    let r = raw.query(sql).await;
    assert_eq!(r.errors, Vec::<String>::new(), "{sql}");
    assert_eq!(r.notices, Vec::<String>::new(), "{sql}");
}

/// Runs `sql`, expecting one error; its SQLSTATE and message.
async fn error(raw: &mut Raw, sql: &str) -> (String, String) {
    let r = raw.query(sql).await;
    assert_eq!(r.errors.len(), 1, "{sql}: {r:?}");
    (r.errors[0].clone(), r.messages[0].clone())
}

fn param(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

#[tokio::test]
async fn set_local_outside_a_block_warns_and_has_no_effect() {
    let s = server().await;
    let mut raw = Raw::connect(s.addr).await;
    raw.send_query("SET LOCAL statement_timeout = '3s'").await;
    let msgs = raw.until(b'Z').await;
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(kinds, b"NCZ", "the WARNING comes before CommandComplete");
    let f = fields(&msgs[0].1);
    let get = |t: u8| f.iter().find(|(k, _)| *k == t).map(|(_, v)| v.as_str());
    assert_eq!(get(b'S'), Some("WARNING"));
    assert_eq!(get(b'C'), Some("25P01"));
    assert_eq!(
        get(b'M'),
        Some("SET LOCAL can only be used in transaction blocks")
    );
    assert_eq!(
        value(&mut raw, "SHOW statement_timeout").await.as_deref(),
        Some("0")
    );
    // A custom parameter SET LOCAL outside a block: not created either.
    let r = raw.query("SET LOCAL my.x = 'a'").await;
    assert_eq!(r.notices, ["25P01"]);
    assert_eq!(
        value(&mut raw, "SELECT current_setting('my.x', true)").await,
        None
    );
    // A bad value fails before any warning.
    let r = raw.query("SET LOCAL statement_timeout = 'abc'").await;
    assert_eq!(
        (r.errors, r.notices),
        (vec!["22023".to_owned()], vec!["25P01".to_owned()])
    );
    // set_config(…, true) outside a block: no warning; the statement sees it.
    let r = raw
        .query("SELECT set_config('statement_timeout', '4s', true), current_setting('statement_timeout')")
        .await;
    assert_eq!(r.notices, Vec::<String>::new());
    assert_eq!(r.rows, [vec![Some("4s".to_owned()), Some("4s".to_owned())]]);
    assert_eq!(
        value(&mut raw, "SHOW statement_timeout").await.as_deref(),
        Some("0")
    );
    // Inside a block: no warning, lasts until the block ends.
    ok(&mut raw, "BEGIN").await;
    ok(&mut raw, "SET LOCAL statement_timeout = '3s'").await;
    assert_eq!(
        value(&mut raw, "SHOW statement_timeout").await.as_deref(),
        Some("3s")
    );
    ok(&mut raw, "COMMIT").await;
    assert_eq!(
        value(&mut raw, "SHOW statement_timeout").await.as_deref(),
        Some("0")
    );
    // SET LOCAL of a reported parameter outside a block: nothing to report.
    let r = raw.query("SET LOCAL application_name = 'brief'").await;
    assert_eq!((r.notices, r.params), (vec!["25P01".to_owned()], vec![]));
}

#[tokio::test]
async fn rollback_to_savepoint_undoes_setting_changes() {
    let s = server().await;
    let mut raw = Raw::connect(s.addr).await;
    let show = "SHOW statement_timeout";
    ok(&mut raw, "BEGIN").await;
    ok(&mut raw, "SET statement_timeout = '1s'").await;
    ok(&mut raw, "SAVEPOINT a").await;
    ok(&mut raw, "SET statement_timeout = '2s'").await;
    let r = raw.query("SET LOCAL application_name = 'loc'").await;
    assert_eq!(r.params, [param("application_name", "loc")]);
    ok(&mut raw, "SELECT set_config('my.y', 'yy', false)").await;
    assert_eq!(value(&mut raw, show).await.as_deref(), Some("2s"));
    let r = raw.query("ROLLBACK TO SAVEPOINT a").await;
    assert_eq!((r.tags, r.status), (vec!["ROLLBACK".to_owned()], b'T'));
    assert_eq!(r.params, [param("application_name", "")]);
    assert_eq!(value(&mut raw, show).await.as_deref(), Some("1s"));
    assert_eq!(
        value(&mut raw, "SHOW application_name").await.as_deref(),
        Some("")
    );
    assert_eq!(
        value(&mut raw, "SELECT current_setting('my.y', true)").await,
        None
    );
    // RELEASE keeps the changes; a released savepoint is gone.
    ok(&mut raw, "SET statement_timeout = '5s'").await;
    ok(&mut raw, "SAVEPOINT b").await;
    ok(&mut raw, "SET statement_timeout = '6s'").await;
    let r = raw.query("RELEASE SAVEPOINT b").await;
    assert_eq!(r.tags, ["RELEASE"]);
    assert_eq!(value(&mut raw, show).await.as_deref(), Some("6s"));
    ok(&mut raw, "ROLLBACK TO a").await;
    assert_eq!(value(&mut raw, show).await.as_deref(), Some("1s"));
    assert_eq!(
        error(&mut raw, "ROLLBACK TO b").await,
        (
            "3B001".to_owned(),
            "savepoint \"b\" does not exist".to_owned()
        )
    );
    // The failed lookup aborted the block.
    let r = raw.query("RELEASE a").await;
    assert_eq!((r.errors, r.status), (vec!["25P02".to_owned()], b'E'));
    // ROLLBACK TO a savepoint leaves the failed state.
    let r = raw.query("ROLLBACK TO a").await;
    assert_eq!((r.errors, r.status), (vec![], b'T'));
    ok(&mut raw, "COMMIT").await;
    assert_eq!(value(&mut raw, show).await.as_deref(), Some("1s"));
}

#[tokio::test]
async fn nested_and_repeated_savepoints() {
    let s = server().await;
    let mut raw = Raw::connect(s.addr).await;
    let show = "SELECT current_setting('my.e', true)";
    ok(&mut raw, "BEGIN").await;
    ok(&mut raw, "SAVEPOINT a").await;
    ok(&mut raw, "SET my.e = '1'").await;
    ok(&mut raw, "SAVEPOINT a").await;
    ok(&mut raw, "SET my.e = '2'").await;
    ok(&mut raw, "ROLLBACK TO a").await;
    assert_eq!(value(&mut raw, show).await.as_deref(), Some("1"));
    ok(&mut raw, "RELEASE a").await;
    ok(&mut raw, "ROLLBACK TO a").await;
    assert_eq!(value(&mut raw, show).await, None);
    ok(&mut raw, "RELEASE a").await;
    assert_eq!(
        error(&mut raw, "RELEASE a").await,
        (
            "3B001".to_owned(),
            "savepoint \"a\" does not exist".to_owned()
        )
    );
    ok(&mut raw, "ROLLBACK").await;
    // Quoted names keep their case.
    ok(&mut raw, "BEGIN").await;
    ok(&mut raw, "SAVEPOINT \"A\"").await;
    assert_eq!(error(&mut raw, "ROLLBACK TO a").await.0, "3B001");
    ok(&mut raw, "ROLLBACK").await;
    ok(&mut raw, "BEGIN").await;
    ok(&mut raw, "SAVEPOINT Mixed").await;
    ok(&mut raw, "RELEASE mixed").await;
    ok(&mut raw, "COMMIT").await;
    // A failed statement after a savepoint; an unknown name keeps the block
    // failed, the right one recovers it.
    ok(&mut raw, "BEGIN").await;
    ok(&mut raw, "SAVEPOINT z").await;
    assert_eq!(error(&mut raw, "SELECT 1/0").await.0, "22012");
    let r = raw.query("ROLLBACK TO nope").await;
    assert_eq!((r.errors, r.status), (vec!["3B001".to_owned()], b'E'));
    ok(&mut raw, "ROLLBACK TO z").await;
    assert_eq!(value(&mut raw, "SELECT 2").await.as_deref(), Some("2"));
    ok(&mut raw, "COMMIT").await;
    // Outside a block.
    for (sql, what) in [
        ("SAVEPOINT q", "SAVEPOINT"),
        ("RELEASE q", "RELEASE SAVEPOINT"),
        ("ROLLBACK TO q", "ROLLBACK TO SAVEPOINT"),
    ] {
        assert_eq!(
            error(&mut raw, sql).await,
            (
                "25P01".to_owned(),
                format!("{what} can only be used in transaction blocks")
            ),
            "{sql}"
        );
    }
}

#[tokio::test]
async fn local_and_session_changes_across_savepoints() {
    let s = server().await;
    let mut raw = Raw::connect(s.addr).await;
    let show = "SELECT current_setting(\'my.a\')";
    // (statements in the block, my.a after COMMIT), as PostgreSQL 15 answers.
    let cases = [
        (
            "SET LOCAL my.a = '1'; SAVEPOINT a; SET my.a = '2'; RELEASE a",
            "2",
        ),
        (
            "SAVEPOINT a; SET my.a = '2'; SET LOCAL my.a = '3'; RELEASE a",
            "2",
        ),
        (
            "SET my.a = '1'; SAVEPOINT a; SET LOCAL my.a = '2'; RELEASE a",
            "1",
        ),
        ("SET LOCAL my.a = '1'; RESET my.a", ""),
        ("SAVEPOINT a; SET LOCAL my.a = '1'; ROLLBACK TO a", "orig"),
    ];
    for (block, after) in cases {
        ok(&mut raw, "SET my.a = 'orig'").await;
        ok(&mut raw, "BEGIN").await;
        for stmt in block.split("; ") {
            ok(&mut raw, stmt).await;
        }
        ok(&mut raw, "COMMIT").await;
        assert_eq!(
            value(&mut raw, show).await.as_deref(),
            Some(after),
            "{block}"
        );
    }
}

/// A raw connection whose startup packet sets these parameters.
async fn started_with(addr: std::net::SocketAddr) -> Raw {
    let (raw, reply) = Raw::start(
        addr,
        &[
            ("user", "audb"),
            ("database", "audb"),
            ("application_name", "myapp"),
            ("TimeZone", "Asia/Tokyo"),
            ("statement_timeout", "5s"),
        ],
    )
    .await;
    assert_eq!(reply.status, b'I', "{reply:?}");
    assert!(reply.params.contains(&param("application_name", "myapp")));
    assert!(reply.params.contains(&param("TimeZone", "Asia/Tokyo")));
    raw
}

#[tokio::test]
async fn reset_returns_to_the_startup_values() {
    let s = server().await;
    let mut raw = started_with(s.addr).await;
    let r = raw.query("SET application_name = 'other'").await;
    assert_eq!(r.params, [param("application_name", "other")]);
    let r = raw.query("RESET application_name").await;
    assert_eq!(r.tags, ["RESET"]);
    assert_eq!(r.params, [param("application_name", "myapp")]);
    assert_eq!(
        value(&mut raw, "SHOW application_name").await.as_deref(),
        Some("myapp")
    );
    // SET … TO DEFAULT, SET TIME ZONE DEFAULT / LOCAL.
    let r = raw.query("SET TimeZone = 'UTC'").await;
    assert_eq!(r.params, [param("TimeZone", "UTC")]);
    let r = raw.query("SET TimeZone TO DEFAULT").await;
    assert_eq!(r.params, [param("TimeZone", "Asia/Tokyo")]);
    assert_eq!(
        value(&mut raw, "SELECT current_setting('TimeZone')")
            .await
            .as_deref(),
        Some("Asia/Tokyo")
    );
    // set_config(name, NULL, …) resets too, and returns the reset value.
    ok(&mut raw, "SET statement_timeout = '9s'").await;
    assert_eq!(
        value(
            &mut raw,
            "SELECT set_config('statement_timeout', NULL, false)"
        )
        .await
        .as_deref(),
        Some("5s")
    );
    assert_eq!(
        value(&mut raw, "SHOW statement_timeout").await.as_deref(),
        Some("5s")
    );
    ok(
        &mut raw,
        "SELECT set_config('application_name', 'q', false)",
    )
    .await;
    let r = raw
        .query("SELECT set_config('application_name', NULL, false)")
        .await;
    assert_eq!(r.rows, [vec![Some("myapp".to_owned())]]);
    assert_eq!(r.params, [param("application_name", "myapp")]);
    // Resetting to the value it has: nothing to report.
    let r = raw.query("RESET application_name").await;
    assert_eq!(r.params, []);
    // Custom parameters reset to the empty string.
    ok(&mut raw, "SET my.b = 'x'").await;
    ok(&mut raw, "RESET my.b").await;
    assert_eq!(
        value(&mut raw, "SELECT current_setting(\'my.b\')")
            .await
            .as_deref(),
        Some("")
    );
    ok(&mut raw, "SET my.c = 'x'").await;
    ok(&mut raw, "SET my.c TO DEFAULT").await;
    assert_eq!(
        value(&mut raw, "SELECT current_setting(\'my.c\')")
            .await
            .as_deref(),
        Some("")
    );
    ok(&mut raw, "RESET my.never").await;
    assert_eq!(
        value(&mut raw, "SELECT current_setting(\'my.never\')")
            .await
            .as_deref(),
        Some("")
    );
    // Errors.
    assert_eq!(error(&mut raw, "RESET foo").await.0, "42704");
    assert_eq!(error(&mut raw, "SET foo TO DEFAULT").await.0, "42704");
    assert_eq!(
        error(&mut raw, "SELECT set_config('foo', NULL, false)")
            .await
            .0,
        "42704"
    );
    assert_eq!(
        error(&mut raw, "RESET server_version").await,
        (
            "55P02".to_owned(),
            "parameter \"server_version\" cannot be changed".to_owned()
        )
    );
}

#[tokio::test]
async fn reset_all_returns_to_the_startup_values() {
    let s = server().await;
    let mut raw = started_with(s.addr).await;
    ok(&mut raw, "SET my.x = 'v'").await;
    ok(&mut raw, "SET TimeZone = 'Europe/Paris'").await;
    ok(&mut raw, "SET DateStyle = 'ISO, DMY'").await;
    ok(&mut raw, "SET application_name = 'other'").await;
    ok(&mut raw, "SET statement_timeout = '7s'").await;
    // Inside a block, ROLLBACK undoes RESET ALL.
    ok(&mut raw, "BEGIN").await;
    ok(&mut raw, "RESET ALL").await;
    assert_eq!(
        value(&mut raw, "SELECT current_setting(\'my.x\')")
            .await
            .as_deref(),
        Some("")
    );
    let r = raw.query("ROLLBACK").await;
    assert!(
        r.params.contains(&param("TimeZone", "Europe/Paris")),
        "{r:?}"
    );
    assert_eq!(
        value(&mut raw, "SELECT current_setting(\'my.x\')")
            .await
            .as_deref(),
        Some("v")
    );
    let r = raw.query("RESET ALL").await;
    assert_eq!(r.tags, ["RESET"]);
    let mut params = r.params;
    params.sort();
    assert_eq!(
        params,
        [
            param("DateStyle", "ISO, MDY"),
            param("TimeZone", "Asia/Tokyo"),
            param("application_name", "myapp"),
        ]
    );
    for (sql, want) in [
        ("SELECT current_setting(\'my.x\')", ""),
        ("SHOW TimeZone", "Asia/Tokyo"),
        ("SHOW DateStyle", "ISO, MDY"),
        ("SHOW statement_timeout", "5s"),
        ("SHOW application_name", "myapp"),
        ("SHOW is_superuser", "on"),
        ("SHOW server_encoding", "UTF8"),
    ] {
        assert_eq!(value(&mut raw, sql).await.as_deref(), Some(want), "{sql}");
    }
}
