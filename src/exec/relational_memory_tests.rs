//! The relational layer charges the statement's memory budget: with a small
//! `query_memory_limit` a big sort, WITH query, hash-join table, join
//! output, window or set operation fails with 53200 (saying which), while
//! the same shapes over few rows, and everything under the default limit,
//! answer as before.

use crate::db::{Db, Session, StatementResult};
use crate::exec::ExecConfig;
use crate::sql::error::SqlState;
use crate::sql::types::Datum;

/// Bytes of the small budget: far below what 20,000 relational rows take
/// (each row is at least a vector header and a `Datum`).
const SMALL: u64 = 256 << 10;

fn open(limit: u64) -> (Db, Session, tempfile::TempDir) {
    let (db, dir) = crate::db::temp_db(Some(ExecConfig {
        worker_threads: 0,
        query_memory_limit: limit,
    }));
    (db, Session::new("test"), dir)
}

fn rows(db: &Db, s: &mut Session, sql: &str) -> Vec<Vec<Datum>> {
    match db.execute(s, sql).expect(sql).into_iter().next() {
        Some(StatementResult::Rows(rel)) => rel.rows.clone(),
        other => panic!("{sql}: {other:?}"),
    }
}

/// Asserts that `sql` fails with 53200 naming `what` in its detail.
fn out_of_memory(db: &Db, s: &mut Session, sql: &str, what: &str) {
    let e = db.execute(s, sql).expect_err(sql);
    assert_eq!(e.state, SqlState::OutOfMemory, "{sql}: {e:?}");
    assert_eq!(e.message, "out of memory");
    let detail = e.detail.unwrap_or_default();
    assert!(detail.contains(what), "{sql}: {detail}");
    assert!(
        detail.contains(&format!("query_memory_limit is {SMALL} bytes")),
        "{detail}"
    );
}

/// Each big query, the memory it runs out of, and the same shape over few
/// rows with its answer.
const CASES: &[(&str, &str, &str, &[i64])] = &[
    (
        "SELECT g FROM generate_series(1, 20000) g ORDER BY g DESC LIMIT 1",
        "a sort",
        "SELECT g FROM generate_series(1, 50) g ORDER BY g DESC LIMIT 1",
        &[50],
    ),
    (
        "WITH c AS (SELECT g, g * 2 AS h FROM generate_series(1, 20000) g) \
         SELECT COUNT(*) FROM c",
        "the rows of a WITH query",
        "WITH c AS (SELECT g, g * 2 AS h FROM generate_series(1, 50) g) \
         SELECT COUNT(*) FROM c",
        &[50],
    ),
    (
        "SELECT COUNT(*) FROM generate_series(1, 5) a(x) \
         JOIN generate_series(1, 20000) b(y) ON x = y",
        "a hash join's table",
        "SELECT COUNT(*) FROM generate_series(1, 5) a(x) \
         JOIN generate_series(1, 50) b(y) ON x = y",
        &[5],
    ),
    (
        "SELECT COUNT(*) FROM generate_series(1, 200) a(x) \
         JOIN generate_series(1, 200) b(y) ON x <= y",
        "a join's output",
        "SELECT COUNT(*) FROM generate_series(1, 10) a(x) \
         JOIN generate_series(1, 10) b(y) ON x <= y",
        &[55],
    ),
    (
        "SELECT MAX(r) FROM (SELECT row_number() OVER (ORDER BY g DESC) AS r \
         FROM generate_series(1, 20000) g) w",
        "a window function",
        "SELECT MAX(r) FROM (SELECT row_number() OVER (ORDER BY g DESC) AS r \
         FROM generate_series(1, 50) g) w",
        &[50],
    ),
    (
        "SELECT COUNT(*) FROM (SELECT g FROM generate_series(1, 20000) g \
         UNION SELECT g FROM generate_series(1, 10) g) u",
        "a set operation",
        "SELECT COUNT(*) FROM (SELECT g FROM generate_series(1, 50) g \
         UNION SELECT g FROM generate_series(1, 10) g) u",
        &[50],
    ),
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 20000) \
         SELECT COUNT(*) FROM r",
        "WITH query",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 50) \
         SELECT COUNT(*) FROM r",
        &[50],
    ),
];

fn ints(rows: &[Vec<Datum>]) -> Vec<i64> {
    rows.iter()
        .map(|r| match r.first() {
            Some(Datum::Int(n)) => *n,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn relational_materializations_fail_with_53200_under_a_small_limit() {
    let (db, mut s, _dir) = open(SMALL);
    for (big, what, small, want) in CASES {
        out_of_memory(&db, &mut s, big, what);
        // The budget is per statement: the same shape over few rows runs.
        assert_eq!(ints(&rows(&db, &mut s, small)), *want, "{small}");
    }
    // The inputs themselves are not what ran out: without the sort, the
    // WITH, the join or the dedupe, 20,000 rows go through.
    assert_eq!(
        ints(&rows(
            &db,
            &mut s,
            "SELECT COUNT(*) FROM (SELECT g, g * 2 AS h FROM generate_series(1, 20000) g) c"
        )),
        [20000]
    );
}

#[test]
fn under_the_default_limit_the_same_queries_answer_exactly() {
    let (db, mut s, _dir) = open(ExecConfig::default().query_memory_limit);
    let want: &[&[i64]] = &[
        &[20000],
        &[20000],
        &[5],
        &[20100],
        &[20000],
        &[20000],
        &[20000],
    ];
    for ((big, _, _, _), want) in CASES.iter().zip(want) {
        assert_eq!(ints(&rows(&db, &mut s, big)), *want, "{big}");
    }
    // Ordering and dedupe are unchanged by the metering.
    let r = rows(
        &db,
        &mut s,
        "SELECT g % 3 AS m, COUNT(*) FROM (SELECT g FROM generate_series(1, 9) g \
         UNION SELECT g FROM generate_series(4, 12) g) u GROUP BY 1 ORDER BY 1 DESC",
    );
    assert_eq!(
        r,
        vec![
            vec![Datum::Int(2), Datum::Int(4)],
            vec![Datum::Int(1), Datum::Int(4)],
            vec![Datum::Int(0), Datum::Int(4)],
        ]
    );
}
