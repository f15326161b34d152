//! Property test: GROUP BY an expression of an audience table's columns
//! (computed on bitmaps, each expression evaluated once per distinct value
//! and equal results merged) gives exactly what a row-by-row reference
//! model computes, on random data with NULLs, before and after a flush, for
//! a column with few values (split over the planes) and one with a value
//! per row (read row by row); evaluation errors surface exactly when a row
//! holds a failing value.

use audb::db::{Db, Session, StatementResult};
use audb::sql::types::{DataType, Datum};
use audb::storage::Options;
use proptest::prelude::*;
use std::collections::BTreeMap;

const CITIES: [&str; 5] = ["bj", "BJ", "sh", "?", "Sz"];

#[derive(Clone, Debug)]
struct Row {
    vip: Option<bool>,
    city: Option<&'static str>,
    age: Option<i64>,
    big: Option<i64>,
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.8, prop::sample::select(CITIES.to_vec())),
        prop::option::weighted(0.8, -30i64..130),
        prop::option::weighted(0.9, -1_000_000_000i64..1_000_000_000),
    )
        .prop_map(|(vip, city, age, big)| Row {
            vip,
            city,
            age,
            big,
        })
}

fn lit<T: ToString>(v: Option<T>, quote: bool) -> String {
    match v {
        None => "NULL".into(),
        Some(x) if quote => format!("'{}'", x.to_string()),
        Some(x) => x.to_string(),
    }
}

/// One result row of a grouped query, as the model computes it: the key,
/// then the aggregates.
type ModelRow = Vec<Datum>;

/// The aggregates `count(*), count(age), sum(age), min(age), max(age),
/// count(DISTINCT city)` of some rows.
fn aggregates(rows: &[&Row], times: i64) -> Vec<Datum> {
    let ages: Vec<i64> = rows.iter().filter_map(|r| r.age).collect();
    let cities: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r.city).collect();
    let opt = |v: Option<i64>| v.map_or(Datum::Null, Datum::Int);
    vec![
        Datum::Int(rows.len() as i64 * times),
        Datum::Int(ages.len() as i64 * times),
        if ages.is_empty() {
            Datum::Null
        } else {
            Datum::Int(ages.iter().sum::<i64>() * times)
        },
        opt(ages.iter().min().copied()),
        opt(ages.iter().max().copied()),
        Datum::Int(cities.len() as i64),
    ]
}

const AGGS: &str = "count(*), count(age), sum(age), min(age), max(age), count(DISTINCT city)";

/// A group's rows, each with how many times it counts.
type Members<'a> = Vec<(&'a Row, i64)>;

/// Groups `rows` by `key` (a row may fall into no group) as the model says.
fn model(rows: &[&Row], key: &dyn Fn(&Row) -> Vec<(Datum, i64)>) -> Vec<ModelRow> {
    let mut groups: BTreeMap<String, (Datum, Members<'_>)> = BTreeMap::new();
    for r in rows {
        for (k, times) in key(r) {
            groups
                .entry(format!("{k:?}"))
                .or_insert_with(|| (k.clone(), Vec::new()))
                .1
                .push((r, times));
        }
    }
    let mut out: Vec<ModelRow> = groups
        .into_values()
        .map(|(k, members)| {
            // Every member of a group counts the same number of times here.
            let times = members.first().map_or(1, |m| m.1);
            let rs: Vec<&Row> = members.iter().map(|m| m.0).collect();
            let mut row = vec![k];
            row.extend(aggregates(&rs, times));
            row
        })
        .collect();
    out.sort_by_key(|r| format!("{r:?}"));
    out
}

fn rows_and_types(r: StatementResult) -> (Vec<Vec<Datum>>, Vec<DataType>) {
    match r {
        StatementResult::Rows(rel) => {
            let mut rows = rel.rows.clone();
            rows.sort_by_key(|r| format!("{r:?}"));
            (rows, rel.columns.iter().map(|c| c.ty).collect())
        }
        StatementResult::Command(c) => panic!("expected rows, got {c}"),
    }
}

fn text(s: &str) -> Datum {
    Datum::Text(s.to_owned())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn group_by_expressions_match_the_row_by_row_model(
        rows in prop::collection::vec(row(), 0..700),
        flush_at in 0usize..700,
        only_vip in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), Options { background: false, ..Options::default() }).expect("open");
        let mut s = Session::new("test");
        db.execute(&mut s, "CREATE TABLE t (k BIGINT PRIMARY KEY, vip BOOLEAN, city TEXT, age INT, big BIGINT)").expect("create");
        let value = |i: usize, r: &Row| format!(
            "({i}, {}, {}, {}, {})",
            lit(r.vip, false), lit(r.city, true), lit(r.age, false), lit(r.big, false)
        );
        let split = flush_at.min(rows.len());
        for (part, range) in [(0, 0..split), (1, split..rows.len())] {
            let values: Vec<String> = range.map(|i| value(i, &rows[i])).collect();
            if !values.is_empty() {
                db.execute(&mut s, &format!("INSERT INTO t VALUES {}", values.join(", "))).expect("insert");
            }
            if part == 0 {
                db.store().flush().expect("flush");
            }
        }
        let kept: Vec<&Row> = rows.iter().filter(|r| !only_vip || r.vip == Some(true)).collect();
        let filter = if only_vip { "WHERE vip" } else { "" };
        let int = |v: Option<i64>| v.map_or(Datum::Null, Datum::Int);
        type Key = Box<dyn Fn(&Row) -> Vec<(Datum, i64)>>;
        let cases: Vec<(&str, DataType, Key)> = vec![
            ("age / 10", DataType::Int4, Box::new(move |r: &Row| vec![(int(r.age.map(|a| a / 10)), 1)])),
            ("age % 3 = 0", DataType::Bool, Box::new(|r: &Row| vec![(r.age.map_or(Datum::Null, |a| Datum::Bool(a % 3 == 0)), 1)])),
            ("upper(city)", DataType::Text, Box::new(|r: &Row| vec![(r.city.map_or(Datum::Null, |c| text(&c.to_uppercase())), 1)])),
            ("coalesce(city, '?')", DataType::Text, Box::new(|r: &Row| vec![(text(r.city.unwrap_or("?")), 1)])),
            ("CASE WHEN age < 30 THEN 'young' ELSE 'old' END", DataType::Text,
                Box::new(|r: &Row| vec![(text(if r.age.is_some_and(|a| a < 30) { "young" } else { "old" }), 1)])),
            ("big / 100000000", DataType::Int8, Box::new(move |r: &Row| vec![(int(r.big.map(|b| b / 100_000_000)), 1)])),
            ("big % 2 = 0", DataType::Bool, Box::new(|r: &Row| vec![(r.big.map_or(Datum::Null, |b| Datum::Bool(b % 2 == 0)), 1)])),
            ("NOT vip", DataType::Bool, Box::new(|r: &Row| vec![(r.vip.map_or(Datum::Null, |v| Datum::Bool(!v)), 1)])),
            ("unnest(ARRAY[1, 1, 2])", DataType::Int4, Box::new(|_r: &Row| vec![(Datum::Int(1), 2), (Datum::Int(2), 1)])),
        ];
        for (expr, ty, key) in &cases {
            let sql = format!("SELECT {expr}, {AGGS} FROM t {filter} GROUP BY 1");
            let (got, types) = rows_and_types(db.execute(&mut s, &sql).expect("group").remove(0));
            prop_assert_eq!(&got, &model(&kept, key.as_ref()), "{}", sql);
            prop_assert_eq!(types[0], *ty, "{}", sql);
            prop_assert_eq!(&types[1..], &[DataType::Int8, DataType::Int8, DataType::Int8, DataType::Int4, DataType::Int4, DataType::Int8][..], "{}", sql);
        }
        // Two keys, one a plain column; an aggregate computed on the rows.
        let sql = format!("SELECT city, age / 50, count(*), string_agg(k::text, ',' ORDER BY k) FROM t {filter} GROUP BY 1, 2");
        let (got, _) = rows_and_types(db.execute(&mut s, &sql).expect("two keys").remove(0));
        let mut want: BTreeMap<String, (Datum, Datum, Vec<usize>)> = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            if only_vip && r.vip != Some(true) {
                continue;
            }
            let c = r.city.map_or(Datum::Null, text);
            let a = int(r.age.map(|a| a / 50));
            want.entry(format!("{c:?}{a:?}")).or_insert_with(|| (c, a, Vec::new())).2.push(i);
        }
        let mut want: Vec<Vec<Datum>> = want.into_values().map(|(c, a, ks)| {
            let list: Vec<String> = ks.iter().map(|k| k.to_string()).collect();
            vec![c, a, Datum::Int(ks.len() as i64), text(&list.join(","))]
        }).collect();
        want.sort_by_key(|r| format!("{r:?}"));
        prop_assert_eq!(got, want, "{}", sql);
        // An expression that fails fails exactly when a kept row holds a
        // value it fails on.
        let sql = format!("SELECT 1 / (age - age), count(*) FROM t {filter} GROUP BY 1");
        let fails = kept.iter().any(|r| r.age.is_some());
        match db.execute(&mut s, &sql) {
            Ok(_) => prop_assert!(!fails, "{} succeeded", sql),
            Err(e) => {
                prop_assert!(fails, "{} failed: {}", sql, e.message);
                prop_assert_eq!(e.state.code(), "22012");
            }
        }
    }
}
