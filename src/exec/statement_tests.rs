//! Statements that scan a whole table outside SELECT — UPDATE, DELETE,
//! CREATE/REFRESH MATERIALIZED VIEW, EXPLAIN ANALYZE — run their shards on
//! the worker pool, give the serial answer over a table of several shards,
//! and apply nothing when cancelled in the middle.

use crate::db::{Db, Session, StatementResult};
use crate::exec::parallel::Cancel;
use crate::exec::pool::stages_started_here;
use crate::index::{Key, Value};
use crate::sql::error::SqlState;
use crate::sql::scalar::{EvalContext, Params};
use crate::sql::select::QueryCtx;
use crate::sql::types::Datum;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Rows of the test table: a little over two shards of row ids.
const ROWS: i64 = (2 << 20) + 5_000;

fn age(k: i64) -> i64 {
    k % 90
}

fn vip(k: i64) -> bool {
    k % 7 == 0
}

/// A database with `t (k, age, vip, flag)` of [`ROWS`] rows, bulk loaded.
fn open() -> (Db, Session, tempfile::TempDir) {
    let (db, dir) = crate::db::temp_db(None);
    let mut s = Session::new("test");
    db.execute(
        &mut s,
        "CREATE TABLE t (k BIGINT PRIMARY KEY, age INT, vip BOOLEAN, flag BOOLEAN)",
    )
    .expect("create");
    let snap = db.store().snapshot();
    let table = snap.table("t").expect("table");
    let schema = table.schema();
    let cols: Vec<_> = ["age", "vip"]
        .iter()
        .map(|c| schema.column(c).expect("column").id)
        .collect();
    let rows = (0..ROWS).map(|k| {
        Ok((
            Key::Int(k),
            vec![Some(Value::Int(age(k))), Some(Value::Bool(vip(k)))],
        ))
    });
    db.store()
        .bulk_load(schema.id, &cols, rows, &mut |_| {})
        .expect("bulk load");
    assert!(
        db.store().snapshot().table("t").expect("t").shard_count() >= 3,
        "the table spans several shards"
    );
    (db, s, dir)
}

fn one(db: &Db, s: &mut Session, sql: &str) -> StatementResult {
    db.execute(s, sql)
        .expect(sql)
        .into_iter()
        .next()
        .expect("a result")
}

fn int(db: &Db, s: &mut Session, sql: &str) -> i64 {
    match one(db, s, sql) {
        StatementResult::Rows(rel) => match rel.rows.first().and_then(|r| r.first()) {
            Some(Datum::Int(n)) => *n,
            other => panic!("{sql}: {other:?}"),
        },
        other => panic!("{sql}: {other:?}"),
    }
}

fn tag(db: &Db, s: &mut Session, sql: &str) -> String {
    match one(db, s, sql) {
        StatementResult::Command(tag) => tag,
        other => panic!("{sql}: {other:?}"),
    }
}

/// Runs `sql` and returns what it answered and whether the calling thread
/// ran a stage on the worker pool meanwhile.
fn on_pool<T>(f: impl FnOnce() -> T) -> (T, bool) {
    let before = stages_started_here();
    let out = f();
    (out, stages_started_here() > before)
}

fn serial_count(pred: impl Fn(i64) -> bool) -> i64 {
    (0..ROWS).filter(|k| pred(*k)).count() as i64
}

#[test]
fn update_delete_materialized_views_and_explain_analyze_run_on_the_pool() {
    let (db, mut s, _dir) = open();
    let young = serial_count(|k| age(k) < 30);
    let (t, pooled) = on_pool(|| tag(&db, &mut s, "UPDATE t SET flag = true WHERE age < 30"));
    assert_eq!(t, format!("UPDATE {young}"));
    assert!(pooled, "UPDATE selected its rows on the pool");
    assert_eq!(int(&db, &mut s, "SELECT COUNT(*) FROM t WHERE flag"), young);

    let vips = serial_count(vip);
    let (t, pooled) = on_pool(|| {
        tag(
            &db,
            &mut s,
            "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE vip",
        )
    });
    assert!(t.starts_with("SELECT") || t.starts_with("CREATE"), "{t}");
    assert!(pooled, "the materialized view was built on the pool");
    assert_eq!(int(&db, &mut s, "SELECT COUNT(*) FROM mv"), vips);

    let old = serial_count(|k| age(k) >= 80);
    let (t, pooled) = on_pool(|| tag(&db, &mut s, "DELETE FROM t WHERE age >= 80"));
    assert_eq!(t, format!("DELETE {old}"));
    assert!(pooled, "DELETE selected its rows on the pool");
    assert_eq!(int(&db, &mut s, "SELECT COUNT(*) FROM t"), ROWS - old);

    let (_, pooled) = on_pool(|| tag(&db, &mut s, "REFRESH MATERIALIZED VIEW mv"));
    assert!(pooled, "REFRESH ran on the pool");
    let vips_left = serial_count(|k| vip(k) && age(k) < 80);
    assert_eq!(int(&db, &mut s, "SELECT COUNT(*) FROM mv"), vips_left);

    let sql = "EXPLAIN ANALYZE SELECT * FROM t WHERE vip AND age < 30";
    let (plan, pooled) = on_pool(|| match one(&db, &mut s, sql) {
        StatementResult::Rows(rel) => rel
            .rows
            .iter()
            .map(|r| match &r[0] {
                Datum::Text(t) => t.clone(),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    });
    assert!(pooled, "EXPLAIN ANALYZE evaluated on the pool");
    let want = serial_count(|k| vip(k) && age(k) < 30);
    assert!(
        plan[0].contains(&format!("(actual rows={want} ")),
        "{plan:?}"
    );
    // Per-node stats were gathered by the pool's shards into the tree
    // that was described.
    assert!(
        plan[1..]
            .iter()
            .any(|l| l.contains("; actual rows=") && l.contains("shards=3")),
        "{plan:?}"
    );
}

/// UPDATE with a token that cancels itself at its `checks + 1`-th check.
fn update_cancelled_after(db: &Db, checks: u32) -> Result<String, SqlState> {
    let snapshot = db.store().snapshot();
    let eval = EvalContext::default();
    let params = std::cell::RefCell::new(Params::default());
    let cancel = Cancel::new(Arc::new(AtomicBool::new(false)), None).cancel_after_checks(checks);
    let ctx = QueryCtx::top(&snapshot, &eval, &params, &cancel, "test", false);
    let stmts = crate::sql::parse("UPDATE t SET flag = false WHERE age < 45").expect("parse");
    let Some(sqlparser::ast::Statement::Update(up)) = stmts.first() else {
        panic!("not an UPDATE");
    };
    crate::sql::dml::update(db.store(), &ctx, up).map_err(|e| e.state)
}

#[test]
fn a_cancel_in_the_middle_of_an_update_applies_nothing() {
    let (db, mut s, _dir) = open();
    let matching = serial_count(|k| age(k) < 45);
    // Every cancellation point in turn, up to one past the last: the token
    // trips before the first shard, between shards, or never.
    let mut cancelled = 0;
    let mut checks = 0;
    loop {
        match update_cancelled_after(&db, checks) {
            Err(state) => {
                assert_eq!(state, SqlState::QueryCanceled);
                cancelled += 1;
                assert_eq!(
                    int(&db, &mut s, "SELECT COUNT(*) FROM t WHERE flag IS NOT NULL"),
                    0,
                    "a cancelled UPDATE (after {checks} checks) wrote nothing"
                );
            }
            Ok(tag) => {
                assert_eq!(tag, format!("UPDATE {matching}"));
                break;
            }
        }
        checks += 1;
        assert!(checks < 1000, "the UPDATE never finished");
    }
    assert!(
        cancelled >= 3,
        "the UPDATE checked for cancellation before each of its shards ({cancelled} points)"
    );
    assert_eq!(
        int(&db, &mut s, "SELECT COUNT(*) FROM t WHERE NOT flag"),
        matching
    );
}
