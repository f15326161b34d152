//! `LIMIT` over windows of row ids and `COUNT(*)` over two running sets
//! give the same rows and counts as evaluating the whole shard.

use crate::db::{Db, Session, StatementResult};
use crate::index::{ColumnType, Key, KeyType, Value};
use crate::sql::types::Datum;

/// Rows of the test table (about 9 roaring containers, one shard).
const ROWS: u64 = 600_000;

/// A well-mixed hash of `i` in `0..m`.
fn h(i: u64, salt: u64, m: u64) -> u64 {
    let mut z = i.wrapping_add(salt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % m
}

/// Columns of row `i`: (rare flag 2 %, interest 14 %, active 50 %, city, v).
fn row(i: u64) -> (bool, bool, bool, &'static str, i64) {
    let city = match h(i, 4, 100) {
        0..15 => "c0",
        15..23 => "c1",
        _ => "c2",
    };
    (
        h(i, 1, 100) < 2,
        h(i, 2, 100) < 14,
        h(i, 3, 100) < 50,
        city,
        h(i, 5, 100) as i64,
    )
}

fn open() -> (Db, tempfile::TempDir) {
    let (db, dir) = crate::db::temp_db(None);
    let store = db.store();
    let t = store
        .create_table("t", "k", KeyType::BigInt)
        .expect("table");
    let cols: Vec<_> = [
        ("rare", ColumnType::Boolean),
        ("interest", ColumnType::Boolean),
        ("active", ColumnType::Boolean),
        ("city", ColumnType::Text),
        ("v", ColumnType::Int),
    ]
    .into_iter()
    .map(|(n, ty)| store.add_column(t, n, ty).expect("column"))
    .collect();
    let rows = (0..ROWS).map(|i| {
        let (rare, interest, active, city, v) = row(i);
        Ok((
            Key::Int(i as i64),
            vec![
                Some(Value::Bool(rare)),
                Some(Value::Bool(interest)),
                Some(Value::Bool(active)),
                Some(Value::Text(city.into())),
                Some(Value::Int(v)),
            ],
        ))
    });
    store.bulk_load(t, &cols, rows, &mut |_| {}).expect("load");
    (db, dir)
}

fn keys(db: &Db, s: &mut Session, sql: &str) -> Vec<i64> {
    match db.execute(s, sql).expect(sql).into_iter().next() {
        Some(StatementResult::Rows(rel)) => rel
            .rows
            .iter()
            .map(|r| match r[0] {
                Datum::Int(k) => k,
                ref d => panic!("{sql}: {d:?}"),
            })
            .collect(),
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn limit_windows_return_the_rows_of_the_whole_evaluation() {
    let (db, _dir) = open();
    let mut s = Session::new("test");
    // Deleted rows in every window.
    db.execute(&mut s, "DELETE FROM t WHERE v = 7")
        .expect("delete");
    let filters = [
        "rare",
        "rare AND city = 'c0'",
        "interest AND v > 80",
        "v BETWEEN 10 AND 12 AND active",
        // About 17 rows: every window is tried.
        "v = 99 AND rare AND interest",
        "v > 1000",
        "TRUE",
    ];
    for f in filters {
        let all = keys(&db, &mut s, &format!("SELECT k FROM t WHERE {f}"));
        for (offset, limit) in [(0, 1), (0, 1000), (0, 5000), (70_000, 300), (0, 200_000)] {
            let got = keys(
                &db,
                &mut s,
                &format!("SELECT k FROM t WHERE {f} LIMIT {limit} OFFSET {offset}"),
            );
            let want: Vec<i64> = all.iter().copied().skip(offset).take(limit).collect();
            assert_eq!(got, want, "{f} LIMIT {limit} OFFSET {offset}");
        }
    }
}

/// A WHERE clause and the same test on a generated row.
type Case = (&'static str, fn(u64) -> bool);

#[test]
fn counts_over_two_running_sets_match_a_scan() {
    let (db, _dir) = open();
    let mut s = Session::new("test");
    let cases: [Case; 3] = [
        // Dense sides with a sparse overlap: set aside, then intersected.
        (
            "interest AND city IN ('c0', 'c1') AND active AND v >= 30",
            |i| {
                let (_, interest, active, city, v) = row(i);
                interest && city != "c2" && active && v >= 30
            },
        ),
        // A sparse first branch keeps one running set.
        ("rare AND city = 'c0' AND v BETWEEN 25 AND 35", |i| {
            let (rare, _, _, city, v) = row(i);
            rare && city == "c0" && (25..=35).contains(&v)
        }),
        ("(interest AND active) AND (city = 'c1' AND v < 50)", |i| {
            let (_, interest, active, city, v) = row(i);
            interest && active && city == "c1" && v < 50
        }),
    ];
    for (f, pred) in cases {
        let want = (0..ROWS).filter(|&i| pred(i)).count() as i64;
        let got = match db
            .execute(&mut s, &format!("SELECT COUNT(*) FROM t WHERE {f}"))
            .expect(f)
            .into_iter()
            .next()
        {
            Some(StatementResult::Rows(rel)) => rel.rows[0][0].clone(),
            other => panic!("{f}: {other:?}"),
        };
        assert_eq!(got, Datum::Int(want), "{f}");
    }
}
