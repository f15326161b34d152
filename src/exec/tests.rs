//! Executor tests through `Db` and the server: the statement memory budget
//! (53200) fails only the statement.

use crate::db::{Db, Session, StatementResult};
use crate::exec::ExecConfig;
use crate::sql::error::SqlState;
use std::sync::Arc;

fn open(limit: u64) -> (Db, tempfile::TempDir) {
    crate::db::temp_db(Some(ExecConfig {
        worker_threads: 0,
        query_memory_limit: limit,
    }))
}

fn load(db: &Db, s: &mut Session, rows: usize) {
    db.execute(
        s,
        "CREATE TABLE t (k BIGINT PRIMARY KEY, city TEXT, age INT, vip BOOLEAN)",
    )
    .expect("create");
    let values: Vec<String> = (0..rows)
        .map(|i| format!("({i}, 'city{:03}', {}, {})", i % 300, i % 90, i % 3 == 0))
        .collect();
    db.execute(s, &format!("INSERT INTO t VALUES {}", values.join(", ")))
        .expect("insert");
}

fn count(r: Vec<StatementResult>) -> usize {
    match r.into_iter().next() {
        Some(StatementResult::Rows(rel)) => rel.rows.len(),
        _ => panic!("expected rows"),
    }
}

#[test]
fn a_tiny_memory_limit_fails_big_statements_with_53200_only() {
    let (db, _dir) = open(4096);
    let mut s = Session::new("test");
    load(&db, &mut s, 3000);
    let e = db
        .execute(&mut s, "SELECT city, COUNT(*) FROM t GROUP BY city")
        .expect_err("300 groups do not fit in 4 KiB");
    assert_eq!(e.state, SqlState::OutOfMemory);
    assert_eq!(e.message, "out of memory");
    let detail = e.detail.expect("detail");
    assert!(
        detail.contains("query_memory_limit is 4096 bytes"),
        "{detail}"
    );
    let e = db
        .execute(&mut s, "SELECT k, city FROM t")
        .expect_err("3000 rows do not fit");
    assert_eq!(e.state, SqlState::OutOfMemory);
    assert!(
        e.detail
            .as_deref()
            .is_some_and(|d| d.contains("row output")),
        "{:?}",
        e.detail
    );
    // Small statements still run: the budget is per statement.
    let r = db
        .execute(&mut s, "SELECT COUNT(*) FROM t WHERE vip")
        .expect("count");
    assert_eq!(count(r), 1);
    let r = db
        .execute(&mut s, "SELECT k FROM t WHERE age = 7 AND city < 'city020'")
        .expect("few rows");
    assert_eq!(count(r), 4, "k = 7, 907, 1807, 2707");
    let r = db
        .execute(
            &mut s,
            "SELECT vip, COUNT(*) FROM t WHERE age < 2 GROUP BY vip",
        )
        .expect("two groups");
    assert_eq!(count(r), 2);
}

#[test]
fn the_default_limit_runs_the_same_statements() {
    let (db, _dir) = open(crate::exec::memory::DEFAULT_QUERY_MEMORY_LIMIT);
    let mut s = Session::new("test");
    load(&db, &mut s, 3000);
    let r = db
        .execute(&mut s, "SELECT city, COUNT(*) FROM t GROUP BY city")
        .expect("group");
    assert_eq!(count(r), 300);
    let r = db.execute(&mut s, "SELECT k, city FROM t").expect("rows");
    assert_eq!(count(r), 3000);
}

#[test]
fn the_server_reports_53200_and_keeps_serving() {
    let (db, _dir) = open(4096);
    let mut s = Session::new("audb");
    load(&db, &mut s, 3000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (addr, _handle) = crate::server::spawn_for_tests(Arc::new(db))
            .await
            .expect("spawn");
        let (client, conn) = tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user=audb dbname=audb connect_timeout=10",
                addr.port()
            ),
            tokio_postgres::NoTls,
        )
        .await
        .expect("connect");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        for _ in 0..2 {
            let e = client
                .simple_query("SELECT city, COUNT(*) FROM t GROUP BY city")
                .await
                .expect_err("over the limit");
            let db_err = e.as_db_error().expect("server error");
            assert_eq!(db_err.code().code(), "53200");
            assert_eq!(db_err.message(), "out of memory");
            assert!(
                db_err
                    .detail()
                    .is_some_and(|d| d.contains("query_memory_limit"))
            );
        }
        let rows = client
            .query("SELECT COUNT(*) FROM t WHERE age > $1", &[&80i32])
            .await
            .expect("the connection still works");
        assert_eq!(rows[0].get::<_, i64>(0), 297);
    });
}
