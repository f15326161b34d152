//! Places where audb's answers differed from PostgreSQL 15 and that need an
//! audience table (not creatable identically in PostgreSQL), column names
//! (the SQL corpus compares values only) or the wire protocol.

mod support;

use audb::db::{Db, Session, StatementResult};
use audb::server::ServerConfig;
use audb::sql::error::SqlState;
use support::client::conn_string;
use support::db::open_db;
use support::server::serve;

fn open() -> (Db, tempfile::TempDir, Session) {
    let (db, dir) = open_db();
    let mut s = Session::new("audb");
    db.execute(
        &mut s,
        "CREATE TABLE users (id TEXT PRIMARY KEY, city TEXT, age INT);
         INSERT INTO users VALUES ('a', 'x', 3), ('b', 'y', 4), ('c', 'x', 5)",
    )
    .expect("setup");
    (db, dir, s)
}

fn error_of(db: &Db, s: &mut Session, sql: &str) -> audb::sql::error::SqlError {
    match db.execute(s, sql) {
        Ok(_) => panic!("`{sql}` succeeded"),
        Err(e) => e,
    }
}

#[test]
fn table_name_is_hidden_by_its_alias() {
    let (db, _dir, mut s) = open();
    for sql in [
        "SELECT users.* FROM users u",
        "SELECT users.city FROM users u",
        "SELECT u.city FROM users u WHERE users.age > 1",
    ] {
        let e = error_of(&db, &mut s, sql);
        assert_eq!(e.state, SqlState::UndefinedTable, "{sql}: {}", e.message);
        assert_eq!(
            e.message, "invalid reference to FROM-clause entry for table \"users\"",
            "{sql}"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("Perhaps you meant to reference the table alias \"u\"."),
            "{sql}"
        );
    }
}

/// The output column names of `sql`'s last result.
fn column_names(db: &Db, s: &mut Session, sql: &str) -> Vec<String> {
    match db.execute(s, sql).expect(sql).pop() {
        Some(StatementResult::Rows(rel)) => rel.columns.iter().map(|c| c.name.clone()).collect(),
        other => panic!("`{sql}` gave {other:?}"),
    }
}

#[test]
fn unaliased_columns_are_named_as_postgres_names_them() {
    let (db, _dir, mut s) = open();
    assert_eq!(
        column_names(
            &db,
            &mut s,
            "SELECT (1, 'a'), ROW(1, 2), 'x'::varchar, 1::int4, 1::double precision, \
             now()::timestamptz, '{x}'::text[], 1::int::text, city::text, \
             CASE WHEN true THEN 1 END, date '2020-01-01', ARRAY[]::int[] FROM users LIMIT 1"
        ),
        [
            "row", "row", "varchar", "int4", "float8", "now", "text", "text", "city", "case",
            "date", "array"
        ]
    );
}

#[test]
fn a_correlated_in_subquery_on_an_audience_table_filters_row_by_row() {
    let (db, _dir, mut s) = open();
    let ids = |db: &Db, s: &mut Session, sql: &str| -> Vec<String> {
        match db.execute(s, sql).expect(sql).pop() {
            Some(StatementResult::Rows(rel)) => {
                rel.rows.iter().map(|r| format!("{:?}", r[0])).collect()
            }
            other => panic!("{other:?}"),
        }
    };
    db.execute(
        &mut s,
        "CREATE TABLE t2 (k TEXT PRIMARY KEY, c TEXT); \
         INSERT INTO t2 VALUES ('a', 'x'), ('b', 'z'), ('c', 'x')",
    )
    .unwrap();
    // `id` is only the outer table's: a correlated reference.
    assert_eq!(
        ids(
            &db,
            &mut s,
            "SELECT id FROM users WHERE city IN (SELECT c FROM t2 WHERE k = id) ORDER BY 1"
        ),
        ["Text(\"a\")", "Text(\"c\")"]
    );
    assert_eq!(
        ids(
            &db,
            &mut s,
            "SELECT id FROM users u WHERE id IN (SELECT v.id FROM users v WHERE v.age <= u.age - 1) \
             OR age = 3 ORDER BY 1"
        ),
        ["Text(\"a\")"]
    );
}

/// Runs `f` against a server on a fresh database with `users`, and returns
/// the notices (SQLSTATE, message) the connection received.
async fn with_client<F, Fut>(f: F) -> Vec<(String, String)>
where
    F: FnOnce(tokio_postgres::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::StreamExt;
    let (db, dir, _s) = open();
    let server = serve(std::sync::Arc::new(db), dir, ServerConfig::default()).await;
    let (client, mut conn) =
        tokio_postgres::connect(&conn_string(server.addr, "audb"), tokio_postgres::NoTls)
            .await
            .expect("connect");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let conn = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notice(n) = m {
                let _ = tx.send((n.code().code().to_owned(), n.message().to_owned()));
            }
        }
    });
    f(client).await;
    let _ = conn.await;
    drop(server);
    let mut out = Vec::new();
    while let Ok(n) = rx.try_recv() {
        out.push(n);
    }
    out
}

#[tokio::test]
async fn drop_if_exists_of_a_missing_relation_sends_a_notice() {
    let notices = with_client(|client| async move {
        client
            .batch_execute(
                "DROP TABLE IF EXISTS nosuch; DROP VIEW IF EXISTS nosuch_v, nosuch_w; \
                 DROP MATERIALIZED VIEW IF EXISTS nosuch_m; DROP TABLE IF EXISTS nosch.t; \
                 DROP TABLE IF EXISTS users; DROP ROLE IF EXISTS nosuch_r1, nosuch_r2",
            )
            .await
            .unwrap();
        // The extended protocol too.
        client
            .execute("DROP TABLE IF EXISTS users", &[])
            .await
            .unwrap();
    })
    .await;
    let expected: Vec<(String, String)> = [
        "table \"nosuch\" does not exist, skipping",
        "view \"nosuch_v\" does not exist, skipping",
        "view \"nosuch_w\" does not exist, skipping",
        "materialized view \"nosuch_m\" does not exist, skipping",
        "schema \"nosch\" does not exist, skipping",
        "role \"nosuch_r1\" does not exist, skipping",
        "role \"nosuch_r2\" does not exist, skipping",
        "table \"users\" does not exist, skipping",
    ]
    .iter()
    .map(|m| ("00000".to_owned(), (*m).to_owned()))
    .collect();
    assert_eq!(notices, expected);
}

#[tokio::test]
async fn parameter_casts_are_named_after_their_type() {
    with_client(|client| async move {
        let st = client
            .prepare(
                "SELECT $1::timestamptz, $2::text[], $3::varchar, $4::int, $5::double precision",
            )
            .await
            .unwrap();
        let names: Vec<&str> = st.columns().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["timestamptz", "text", "varchar", "int4", "float8"]);
    })
    .await;
}

/// Asserts `sql` fails with `state` and exactly `message`.
fn assert_error(db: &Db, s: &mut Session, sql: &str, state: SqlState, message: &str) {
    let e = error_of(db, s, sql);
    assert_eq!((e.state, e.message.as_str()), (state, message), "{sql}");
}

#[test]
fn a_condition_that_is_not_boolean_names_its_clause_and_type() {
    let (db, _dir, mut s) = open();
    for (sql, message) in [
        (
            "SELECT count(*) FROM users WHERE age + 1",
            "argument of WHERE must be type boolean, not type integer",
        ),
        (
            "SELECT count(*) FROM users WHERE id",
            "argument of WHERE must be type boolean, not type text",
        ),
        (
            "SELECT count(*) FROM users WHERE city = 'x' AND age",
            "argument of AND must be type boolean, not type integer",
        ),
        (
            "SELECT count(*) FROM users WHERE age > 3 OR city || 'a'",
            "argument of OR must be type boolean, not type text",
        ),
        (
            "SELECT count(*) FROM users WHERE NOT age",
            "argument of NOT must be type boolean, not type integer",
        ),
        (
            "SELECT count(*) FROM users WHERE age IS NOT FALSE",
            "argument of IS NOT FALSE must be type boolean, not type integer",
        ),
        (
            "SELECT count(*) FROM users WHERE 1 + 1",
            "argument of WHERE must be type boolean, not type integer",
        ),
        (
            "SELECT count(*) FROM users u WHERE (SELECT u.age + 1)",
            "argument of WHERE must be type boolean, not type integer",
        ),
        (
            "SELECT x FROM (VALUES (1)) v(x) WHERE x + 1",
            "argument of WHERE must be type boolean, not type integer",
        ),
        (
            "SELECT x FROM (VALUES (1)) v(x) GROUP BY x HAVING count(*)",
            "argument of HAVING must be type boolean, not type bigint",
        ),
    ] {
        assert_error(&db, &mut s, sql, SqlState::DatatypeMismatch, message);
    }
    assert_error(
        &db,
        &mut s,
        "SELECT count(*) FROM users WHERE 'maybe'",
        SqlState::InvalidTextRepresentation,
        "invalid input syntax for type boolean: \"maybe\"",
    );
}

#[test]
fn group_by_and_order_by_constants_are_positions_or_errors() {
    let (db, _dir, mut s) = open();
    for from in ["users", "(VALUES (1)) v(age)"] {
        for (clause, what) in [
            ("GROUP BY", "'a'"),
            ("GROUP BY", "1.5"),
            ("ORDER BY", "NULL"),
        ] {
            assert_error(
                &db,
                &mut s,
                &format!("SELECT age FROM {from} {clause} {what}"),
                SqlState::SyntaxError,
                &format!("non-integer constant in {clause}"),
            );
        }
        for (clause, k) in [("GROUP BY", "5"), ("GROUP BY", "-1"), ("ORDER BY", "0")] {
            assert_error(
                &db,
                &mut s,
                &format!("SELECT age FROM {from} {clause} {k}"),
                SqlState::InvalidColumnReference,
                &format!("{clause} position {k} is not in select list"),
            );
        }
    }
}

#[test]
fn create_in_a_system_schema_is_refused_as_postgres_refuses_it() {
    let (db, _dir, mut s) = open();
    for schema in ["pg_toast", "pg_catalog"] {
        let e = error_of(
            &db,
            &mut s,
            &format!("CREATE TABLE {schema}.t (a INT PRIMARY KEY)"),
        );
        assert_eq!(e.state, SqlState::InsufficientPrivilege);
        assert_eq!(
            e.message,
            format!("permission denied to create \"{schema}.t\"")
        );
        assert_eq!(
            e.detail.as_deref(),
            Some("System catalog modifications are currently disallowed.")
        );
    }
    assert_error(
        &db,
        &mut s,
        "CREATE TABLE pg_catalog.pg_class (a INT PRIMARY KEY)",
        SqlState::DuplicateTable,
        "relation \"pg_class\" already exists",
    );
}

#[test]
fn operator_signatures_and_oid_arithmetic_fail_as_in_postgres() {
    let (db, _dir, mut s) = open();
    let e = error_of(&db, &mut s, "SELECT '+(int,int,int)'::regoperator");
    assert_eq!(e.state.code(), "54023");
    assert_eq!(e.message, "too many arguments");
    assert_eq!(
        e.hint.as_deref(),
        Some("Provide two argument types for operator.")
    );
    assert_error(
        &db,
        &mut s,
        "SELECT oid + 1 FROM pg_class LIMIT 1",
        SqlState::UndefinedFunction,
        "operator does not exist: oid + integer",
    );
}
