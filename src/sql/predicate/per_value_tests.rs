//! Tests of predicates evaluated once per distinct value: the bitmap leaves
//! they compile to (through `EXPLAIN`), their answers, and the distinct
//! value bounds.

use super::{DISTINCT_MAX, RANGES_MAX, runs, sampled_many};
use crate::db::{Db, Session, StatementResult, temp_db};
use crate::sql::types::Datum;
use crate::storage::NumericShard;
use roaring::RoaringBitmap;
use std::sync::Arc;

fn rows(db: &Db, s: &mut Session, sql: &str) -> Vec<Vec<Datum>> {
    match db.execute(s, sql).expect(sql).pop() {
        Some(StatementResult::Rows(r)) => r.rows.clone(),
        other => panic!("{sql}: {other:?}"),
    }
}

fn count(db: &Db, s: &mut Session, sql: &str) -> i64 {
    match rows(db, s, sql).as_slice() {
        [row] => match row.as_slice() {
            [Datum::Int(n)] => *n,
            other => panic!("{sql}: {other:?}"),
        },
        other => panic!("{sql}: {other:?}"),
    }
}

fn plan(db: &Db, s: &mut Session, sql: &str) -> String {
    rows(db, s, &format!("EXPLAIN {sql}"))
        .into_iter()
        .map(|r| match r.as_slice() {
            [Datum::Text(t)] => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn setup() -> (Db, tempfile::TempDir, Session) {
    let (db, dir) = temp_db(None);
    let mut s = Session::new("t");
    db.execute(
        &mut s,
        "CREATE TABLE u (k TEXT PRIMARY KEY, city TEXT, age INT, vip BOOLEAN, d DATE);
         INSERT INTO u VALUES ('a', 'Beijing', 30, true, '2020-01-15'), ('b', 'beijing', 25, false, '2021-02-01'),
           ('c', 'Shanghai', NULL, NULL, NULL), ('d', NULL, 41, true, '2020-12-31'), ('e', 'Xi''an', 29, false, '2019-01-01')",
    )
    .expect("setup");
    (db, dir, s)
}

#[test]
fn monotone_expression_is_one_range() {
    let (db, _dir, mut s) = setup();
    let sql = "SELECT COUNT(*) FROM u WHERE age + 1 > 30";
    assert_eq!(count(&db, &mut s, sql), 2);
    let p = plan(&db, &mut s, sql);
    assert!(p.contains("Bsi age >= 30"), "{p}");
    assert!(!p.contains("RowWise") && !p.contains("Or"), "{p}");
    // The negation: the NULL age stays unknown.
    assert_eq!(
        count(
            &db,
            &mut s,
            "SELECT COUNT(*) FROM u WHERE NOT (age + 1 > 30)"
        ),
        2
    );
}

#[test]
fn dictionary_values_become_a_value_set() {
    let (db, _dir, mut s) = setup();
    let sql = "SELECT COUNT(*) FROM u WHERE upper(city) = 'BEIJING'";
    assert_eq!(count(&db, &mut s, sql), 2);
    let p = plan(&db, &mut s, sql);
    assert!(p.contains("AnyValue city IN (2 values)"), "{p}");
    // NULL city: coalesce makes it TRUE, NOT keeps it out.
    assert_eq!(
        count(
            &db,
            &mut s,
            "SELECT COUNT(*) FROM u WHERE coalesce(upper(city), 'X') <> 'BEIJING'"
        ),
        3
    );
    assert_eq!(
        count(
            &db,
            &mut s,
            "SELECT COUNT(*) FROM u WHERE NOT (upper(city) = 'BEIJING')"
        ),
        2
    );
    // The larger TRUE set is written as the negation of the FALSE one.
    let p = plan(&db, &mut s, "SELECT COUNT(*) FROM u WHERE length(city) > 2");
    assert!(
        p.contains("Not (false set of)") && p.contains("IsNull city"),
        "{p}"
    );
    assert_eq!(
        count(&db, &mut s, "SELECT COUNT(*) FROM u WHERE length(city) > 2"),
        4
    );
}

#[test]
fn flags_and_dates() {
    let (db, _dir, mut s) = setup();
    assert_eq!(
        count(
            &db,
            &mut s,
            "SELECT COUNT(*) FROM u WHERE vip IS DISTINCT FROM true"
        ),
        3
    );
    assert_eq!(
        count(
            &db,
            &mut s,
            "SELECT COUNT(*) FROM u WHERE extract(year FROM d) = 2020"
        ),
        2
    );
    let p = plan(
        &db,
        &mut s,
        "SELECT COUNT(*) FROM u WHERE extract(year FROM d) = 2020",
    );
    assert!(p.contains("Bsi d BETWEEN"), "{p}");
}

#[test]
fn errors_only_for_values_live_rows_hold() {
    let (db, _dir, mut s) = setup();
    db.execute(&mut s, "INSERT INTO u VALUES ('z', 'oops', 0, true, NULL)")
        .expect("insert");
    let err = db
        .execute(&mut s, "SELECT COUNT(*) FROM u WHERE 10 / age > 1")
        .expect_err("division by zero");
    assert_eq!(err.state.code(), "22012");
    let err = db
        .execute(&mut s, "SELECT COUNT(*) FROM u WHERE city::int > 1")
        .expect_err("bad integer");
    assert_eq!(err.state.code(), "22P02");
    db.execute(&mut s, "DELETE FROM u WHERE k = 'z'")
        .expect("delete");
    assert_eq!(
        count(&db, &mut s, "SELECT COUNT(*) FROM u WHERE 100 / age > 0"),
        4
    );
    // 'oops' may stay in the dictionary, but no live row holds it.
    db.execute(&mut s, "UPDATE u SET city = '7' WHERE city IS NOT NULL")
        .expect("update");
    assert_eq!(
        count(&db, &mut s, "SELECT COUNT(*) FROM u WHERE city::int > 1"),
        4
    );
}

#[test]
fn many_ranges_gather_rows() {
    let (db, _dir) = temp_db(None);
    let mut s = Session::new("t");
    db.execute(&mut s, "CREATE TABLE n (k BIGINT PRIMARY KEY, v INT)")
        .expect("create");
    let values: Vec<String> = (0..300).map(|i| format!("({i}, {i})")).collect();
    db.execute(
        &mut s,
        &format!("INSERT INTO n VALUES {}, (300, NULL)", values.join(", ")),
    )
    .expect("insert");
    let sql = "SELECT COUNT(*) FROM n WHERE v % 2 = 0";
    assert_eq!(count(&db, &mut s, sql), 150);
    let p = plan(&db, &mut s, sql);
    assert!(p.contains("Rows (150 keys)"), "{p}");
    assert_eq!(
        count(&db, &mut s, "SELECT COUNT(*) FROM n WHERE NOT (v % 2 = 0)"),
        150
    );
    assert_eq!(
        count(
            &db,
            &mut s,
            "SELECT COUNT(*) FROM n WHERE (v % 2 = 0) IS NOT TRUE"
        ),
        151
    );
    // A few ranges stay ranges.
    let p = plan(&db, &mut s, "SELECT COUNT(*) FROM n WHERE v / 100 = 1");
    assert!(p.contains("Bsi v BETWEEN 100 AND 199"), "{p}");
}

#[test]
fn runs_merge_consecutive_outcomes() {
    let values = [1, 2, 3, 5, 8];
    let outcomes = [Some(true), Some(true), None, None, Some(false)];
    assert_eq!(
        runs(&values, &outcomes),
        vec![(0, 1, Some(true)), (2, 3, None), (4, 4, Some(false))]
    );
    assert!(runs(&[], &[]).is_empty());
    const { assert!(RANGES_MAX < DISTINCT_MAX) };
}

/// A bit-sliced shard of non-negative `values` at rows 0….
fn shard(values: &[u64]) -> NumericShard {
    let mut planes = vec![RoaringBitmap::new(); 64];
    let mut not_null = RoaringBitmap::new();
    for (row, v) in values.iter().enumerate() {
        let row = u32::try_from(row).unwrap();
        not_null.insert(row);
        for (bit, plane) in planes.iter_mut().enumerate() {
            if v >> bit & 1 == 1 {
                plane.insert(row);
            }
        }
    }
    NumericShard {
        not_null: Arc::new(not_null),
        sign: Arc::new(RoaringBitmap::new()),
        planes: planes.into_iter().map(Arc::new).collect(),
    }
}

#[test]
fn sampling_tells_high_cardinality_columns() {
    let distinct: Vec<u64> = (0..100_000).map(|i| i * 1_000_003).collect();
    assert!(sampled_many(&[shard(&distinct)], 100_000));
    let few: Vec<u64> = (0..100_000).map(|i| (i % 50) * 86_400_000_000).collect();
    assert!(!sampled_many(&[shard(&few)], 100_000));
    assert_eq!(
        super::distinct_values(&[shard(&few)]).map(|v| v.len()),
        Some(50)
    );
    assert_eq!(super::distinct_values(&[shard(&distinct)]), None);
}
