//! Column-to-column and row-wise predicates over a table of several row
//! windows: counts against a model of the rows (three-valued), the plan
//! (row-wise branches last, EXPLAIN ANALYZE's actual rows), cancellation
//! between windows and the memory budget.

use crate::db::{Db, Session, StatementResult};
use crate::exec::ExecConfig;
use crate::exec::filter::Pred;
use crate::exec::parallel::Cancel;
use crate::index::{Key, Value};
use crate::sql::error::SqlState;
use crate::sql::scalar::{EvalContext, Params};
use crate::sql::select::{QueryCtx, run_query};
use crate::sql::types::Datum;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Rows: four windows of 65,536 row ids, the last one partial.
const ROWS: i64 = 200_000;

const CITIES: [&str; 5] = ["x", "y", "z", "beijing", "shanghai"];

fn a(k: i64) -> Option<i64> {
    (k % 11 != 0).then(|| (k * 7919) % 1000 - 500)
}

fn b(k: i64) -> Option<i64> {
    (k % 13 != 0).then(|| (k * 104_729) % 1000 - 500)
}

fn c(k: i64) -> Option<&'static str> {
    (k % 17 != 0).then(|| CITIES[(k % 5) as usize])
}

fn d(k: i64) -> Option<&'static str> {
    (k % 19 != 0).then(|| CITIES[((k / 3) % 5) as usize])
}

fn vip(k: i64) -> Option<bool> {
    (k % 23 != 0).then_some(k % 3 == 0)
}

/// `n NUMERIC(10,2)`, in hundredths.
fn n(k: i64) -> Option<i64> {
    (k % 29 != 0).then(|| (k % 80_000) - 40_000)
}

fn open(limit: Option<u64>) -> (Db, Session, tempfile::TempDir) {
    let exec = limit.map(|l| ExecConfig {
        worker_threads: 0,
        query_memory_limit: l,
    });
    let (db, dir) = crate::db::temp_db(exec);
    let mut s = Session::new("test");
    db.execute(
        &mut s,
        "CREATE TABLE t (k BIGINT PRIMARY KEY, a INT, b BIGINT, c TEXT, d TEXT, vip BOOLEAN, n NUMERIC(10,2))",
    )
    .expect("create");
    let snap = db.store().snapshot();
    let table = snap.table("t").expect("table");
    let schema = table.schema();
    let cols: Vec<_> = ["a", "b", "c", "d", "vip", "n"]
        .iter()
        .map(|c| schema.column(c).expect("column").id)
        .collect();
    let text = |v: Option<&str>| v.map(|s| Value::Text(s.to_owned()));
    let rows = (0..ROWS).map(|k| {
        Ok((
            Key::Int(k),
            vec![
                a(k).map(Value::Int),
                b(k).map(Value::Int),
                text(c(k)),
                text(d(k)),
                vip(k).map(Value::Bool),
                n(k).map(Value::Int),
            ],
        ))
    });
    db.store()
        .bulk_load(schema.id, &cols, rows, &mut |_| {})
        .expect("bulk load");
    (db, s, dir)
}

fn count(db: &Db, s: &mut Session, sql: &str) -> i64 {
    match db.execute(s, sql).expect(sql).into_iter().next() {
        Some(StatementResult::Rows(rel)) => match rel.rows.first().and_then(|r| r.first()) {
            Some(Datum::Int(n)) => *n,
            other => panic!("{sql}: {other:?}"),
        },
        other => panic!("{sql}: {other:?}"),
    }
}

fn lines(db: &Db, s: &mut Session, sql: &str) -> Vec<String> {
    match db.execute(s, sql).expect(sql).pop() {
        Some(StatementResult::Rows(rel)) => rel
            .rows
            .iter()
            .map(|r| match &r[0] {
                Datum::Text(t) => t.clone(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{sql}: {other:?}"),
    }
}

/// Rows where the three-valued `f` is TRUE.
fn model(f: impl Fn(i64) -> Option<bool>) -> i64 {
    (0..ROWS).filter(|k| f(*k) == Some(true)).count() as i64
}

fn cmp<T: PartialOrd>(x: Option<T>, y: Option<T>, f: impl Fn(&T, &T) -> bool) -> Option<bool> {
    Some(f(&x?, &y?))
}

fn not(x: Option<bool>) -> Option<bool> {
    x.map(|b| !b)
}

fn and(x: Option<bool>, y: Option<bool>) -> Option<bool> {
    match (x, y) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(x: Option<bool>, y: Option<bool>) -> Option<bool> {
    not(and(not(x), not(y)))
}

#[test]
fn counts_equal_a_model_of_the_rows() {
    let (db, mut s, _dir) = open(None);
    let city_eq = |k| cmp(c(k), d(k), |x, y| x == y);
    let cases: Vec<(&str, i64)> = vec![
        ("a < b", model(|k| cmp(a(k), b(k), |x, y| x < y))),
        ("a = b", model(|k| cmp(a(k), b(k), |x, y| x == y))),
        ("a >= b", model(|k| cmp(a(k), b(k), |x, y| x >= y))),
        ("NOT (a < b)", model(|k| not(cmp(a(k), b(k), |x, y| x < y)))),
        ("c = d", model(city_eq)),
        ("NOT (c = d)", model(|k| not(city_eq(k)))),
        ("vip AND c = d", model(|k| and(vip(k), city_eq(k)))),
        ("vip OR c = d", model(|k| or(vip(k), city_eq(k)))),
        ("NOT (vip OR c = d)", model(|k| not(or(vip(k), city_eq(k))))),
        (
            "a < n",
            model(|k| cmp(a(k).map(|v| v * 100), n(k), |x, y| x < y)),
        ),
        (
            "coalesce(c, d) = 'x'",
            model(|k| Some(c(k).or(d(k))? == "x")),
        ),
        (
            "k % 2 = 0 AND c < d",
            model(|k| and(Some(k % 2 == 0), cmp(c(k), d(k), |x, y| x < y))),
        ),
        (
            "(c = d) IS UNKNOWN AND a > b",
            model(|k| and(Some(city_eq(k).is_none()), cmp(a(k), b(k), |x, y| x > y))),
        ),
    ];
    for (cond, want) in cases {
        let sql = format!("SELECT COUNT(*) FROM t WHERE {cond}");
        assert_eq!(count(&db, &mut s, &sql), want, "{cond}");
    }
    // Row output and LIMIT windows see the same rows.
    let sql = "SELECT k FROM t WHERE vip AND c = d ORDER BY k LIMIT 3";
    let first: Vec<i64> = (0..ROWS)
        .filter(|k| and(vip(*k), city_eq(*k)) == Some(true))
        .take(3)
        .collect();
    match db.execute(&mut s, sql).expect(sql).pop() {
        Some(StatementResult::Rows(rel)) => {
            let got: Vec<Datum> = rel.rows.iter().map(|r| r[0].clone()).collect();
            assert_eq!(got, first.into_iter().map(Datum::Int).collect::<Vec<_>>());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn row_wise_branches_run_last_and_explain_shows_them() {
    let (db, mut s, _dir) = open(None);
    let plan = lines(
        &db,
        &mut s,
        "EXPLAIN SELECT COUNT(*) FROM t WHERE c = d AND vip AND a < b",
    );
    let at = |what: &str| {
        plan.iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} in {plan:#?}"))
    };
    assert!(at("RowWise (c = d)") > at("Flag vip"), "{plan:#?}");
    assert!(at("RowWise (c = d)") > at("Bsi a < b"), "{plan:#?}");
    let plan = lines(
        &db,
        &mut s,
        "EXPLAIN ANALYZE SELECT COUNT(*) FROM t WHERE c = d AND vip",
    );
    let want = model(|k| and(vip(k), cmp(c(k), d(k), |x, y| x == y)));
    let node = plan
        .iter()
        .find(|l| l.contains("RowWise (c = d)"))
        .unwrap_or_else(|| panic!("{plan:#?}"));
    assert!(node.contains(&format!("actual rows={want} ")), "{node}");
}

#[test]
fn predicates_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pred>();
}

/// Runs `sql` with a token that cancels itself at its `checks + 1`-th check.
fn run_cancelled_after(db: &Db, sql: &str, checks: u32) -> Result<(), SqlState> {
    let snapshot = db.store().snapshot();
    let eval = EvalContext::default();
    let params = std::cell::RefCell::new(Params::default());
    let cancel = Cancel::new(Arc::new(AtomicBool::new(false)), None).cancel_after_checks(checks);
    let ctx = QueryCtx::top(&snapshot, &eval, &params, &cancel, "test", false);
    let stmts = crate::sql::parse(sql).expect("parse");
    let Some(sqlparser::ast::Statement::Query(q)) = stmts.first() else {
        panic!("not a query");
    };
    run_query(&ctx, q).map(|_| ()).map_err(|e| e.state)
}

/// The number of points where `sql` checks for cancellation.
fn cancel_points(db: &Db, sql: &str) -> u32 {
    let mut checks = 0;
    loop {
        match run_cancelled_after(db, sql, checks) {
            Err(state) => assert_eq!(state, SqlState::QueryCanceled, "{sql}"),
            Ok(()) => return checks,
        }
        checks += 1;
        assert!(checks < 1000, "{sql} never finished");
    }
}

#[test]
fn a_row_wise_filter_checks_for_cancellation_between_windows() {
    let (db, _s, _dir) = open(None);
    let bitmaps = cancel_points(&db, "SELECT COUNT(*) FROM t WHERE c = 'x'");
    let rows = cancel_points(&db, "SELECT COUNT(*) FROM t WHERE c = d");
    // Once before the first window and after each of the four.
    assert!(rows >= bitmaps + 5, "{rows} vs {bitmaps}");
}

#[test]
fn a_row_wise_filter_is_charged_to_the_memory_budget() {
    let (db, mut s, _dir) = open(Some(1 << 20));
    assert_eq!(
        count(&db, &mut s, "SELECT COUNT(*) FROM t WHERE c = 'x'"),
        model(|k| Some(c(k)? == "x"))
    );
    let err = db
        .execute(&mut s, "SELECT COUNT(*) FROM t WHERE c = d")
        .expect_err("over the budget");
    assert_eq!(err.state, SqlState::OutOfMemory);
    let detail = err.detail.unwrap_or_default();
    assert!(detail.contains("row-wise filter values"), "{detail}");
}
