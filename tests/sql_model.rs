//! Property test: random tables (NULLs included) and random WHERE trees,
//! aggregates and GROUP BYs through SQL give exactly what a reference model
//! computes with SQL's three-valued logic.

use audb::db::{Db, Session, StatementResult};
use audb::sql::types::Datum;
use audb::storage::Options;
use proptest::prelude::*;
use std::collections::BTreeMap;

const CITIES: [&str; 4] = ["bj", "sh", "gz", "sz"];
const TAGS: [&str; 3] = ["a", "b", "c"];

/// Per-group model state: rows, non-null ages, sum, min and max of age.
type GroupAgg = (i64, i64, i64, Option<i64>, Option<i64>);

#[derive(Clone, Debug)]
struct Row {
    vip: Option<bool>,
    city: Option<&'static str>,
    age: Option<i64>,
    tags: Option<Vec<&'static str>>,
}

#[derive(Clone, Debug)]
enum P {
    Vip,
    CityEq(&'static str),
    CityIn(Vec<Option<&'static str>>),
    AgeCmp(&'static str, i64),
    AgeBetween(i64, i64),
    AgeNull,
    CityNull,
    TagAny(&'static str),
    /// `age op ANY|ALL (subquery)` (`true` = ALL) over these values.
    AgeQuant(&'static str, bool, Vec<Option<i64>>),
    /// `city = ANY|<> ALL|= ALL|<> ANY (subquery)` over these values.
    CityQuant(&'static str, bool, Vec<Option<&'static str>>),
    /// `age % m = r`: an expression of one column (evaluated per value).
    AgeMod(i64, i64),
    /// `age + k > v`.
    AgePlus(i64, i64),
    /// `coalesce(age, d) >= v`: TRUE or FALSE on NULL ages.
    AgeCoalesce(i64, i64),
    /// `CASE WHEN age < v THEN 'y' ELSE 'o' END = 'y'`.
    AgeCase(i64),
    /// `upper(city) = c` (c upper-cased).
    CityUpper(&'static str),
    /// `coalesce(city, 'none') <> c`.
    CityCoalesce(&'static str),
    /// `vip IS DISTINCT FROM true`.
    VipDistinct,
    And(Box<P>, Box<P>),
    Or(Box<P>, Box<P>),
    Not(Box<P>),
    IsTrue(Box<P>),
    IsNotFalse(Box<P>),
}

fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn cmp<T: PartialOrd>(op: &str, a: Option<T>, b: Option<T>) -> Option<bool> {
    let (a, b) = (a?, b?);
    Some(match op {
        "=" => a == b,
        "<>" => a != b,
        "<" => a < b,
        "<=" => a <= b,
        ">" => a > b,
        _ => a >= b,
    })
}

/// ANY (`all` false) or ALL of `items` under three-valued logic.
fn quantified(all: bool, items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut acc = Some(all);
    for x in items {
        acc = if all { and(acc, x) } else { or(acc, x) };
    }
    acc
}

/// A one-column subquery of type `ty` over `values` (empty when there are
/// none).
fn values_subquery(ty: &str, values: &[String]) -> String {
    // The first row only types the column; it is filtered out.
    let mut rows = vec![format!("(NULL::{ty}, 0)")];
    rows.extend(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("({v}, {})", i + 1)),
    );
    format!(
        "SELECT x FROM (VALUES {}) v(x, n) WHERE n > 0",
        rows.join(", ")
    )
}

impl P {
    fn eval(&self, r: &Row) -> Option<bool> {
        match self {
            P::Vip => r.vip,
            P::CityEq(c) => r.city.map(|x| x == *c),
            P::CityIn(list) => {
                let mut acc = Some(false);
                for item in list {
                    let eq = match (r.city, item) {
                        (Some(x), Some(y)) => Some(x == *y),
                        _ => None,
                    };
                    acc = or(acc, eq);
                }
                acc
            }
            P::AgeCmp(op, v) => r.age.map(|a| match *op {
                "=" => a == *v,
                "<>" => a != *v,
                "<" => a < *v,
                "<=" => a <= *v,
                ">" => a > *v,
                _ => a >= *v,
            }),
            P::AgeBetween(lo, hi) => r.age.map(|a| *lo <= a && a <= *hi),
            P::AgeNull => Some(r.age.is_none()),
            P::CityNull => Some(r.city.is_none()),
            P::TagAny(t) => r.tags.as_ref().map(|ts| ts.contains(t)),
            P::AgeQuant(op, all, vs) => quantified(*all, vs.iter().map(|v| cmp(op, r.age, *v))),
            P::CityQuant(op, all, vs) => quantified(*all, vs.iter().map(|v| cmp(op, r.city, *v))),
            P::AgeMod(m, v) => r.age.map(|a| a % m == *v),
            P::AgePlus(k, v) => r.age.map(|a| a + k > *v),
            P::AgeCoalesce(d, v) => Some(r.age.unwrap_or(*d) >= *v),
            P::AgeCase(v) => Some(r.age.is_some_and(|a| a < *v)),
            P::CityUpper(c) => r.city.map(|x| x.to_uppercase() == c.to_uppercase()),
            P::CityCoalesce(c) => Some(r.city.unwrap_or("none") != *c),
            P::VipDistinct => Some(r.vip != Some(true)),
            P::And(a, b) => and(a.eval(r), b.eval(r)),
            P::Or(a, b) => or(a.eval(r), b.eval(r)),
            P::Not(a) => a.eval(r).map(|x| !x),
            P::IsTrue(a) => Some(a.eval(r) == Some(true)),
            P::IsNotFalse(a) => Some(a.eval(r) != Some(false)),
        }
    }

    fn sql(&self) -> String {
        match self {
            P::Vip => "vip".into(),
            P::CityEq(c) => format!("city = '{c}'"),
            P::CityIn(list) => format!(
                "city IN ({})",
                list.iter()
                    .map(|c| c.map_or("NULL".to_owned(), |c| format!("'{c}'")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            P::AgeCmp(op, v) => format!("age {op} {v}"),
            P::AgeBetween(lo, hi) => format!("age BETWEEN {lo} AND {hi}"),
            P::AgeNull => "age IS NULL".into(),
            P::CityNull => "city IS NULL".into(),
            P::TagAny(t) => format!("'{t}' = ANY(tags)"),
            P::AgeQuant(op, all, vs) => {
                let vs: Vec<String> = vs.iter().map(|v| lit(*v, false)).collect();
                let q = if *all { "ALL" } else { "ANY" };
                format!("age {op} {q} ({})", values_subquery("int", &vs))
            }
            P::CityQuant(op, all, vs) => {
                let vs: Vec<String> = vs.iter().map(|v| lit(*v, true)).collect();
                let q = if *all { "ALL" } else { "ANY" };
                format!("city {op} {q} ({})", values_subquery("text", &vs))
            }
            P::AgeMod(m, v) => format!("age % {m} = {v}"),
            P::AgePlus(k, v) => format!("age + {k} > {v}"),
            P::AgeCoalesce(d, v) => format!("coalesce(age, {d}) >= {v}"),
            P::AgeCase(v) => format!("CASE WHEN age < {v} THEN 'y' ELSE 'o' END = 'y'"),
            P::CityUpper(c) => format!("upper(city) = '{}'", c.to_uppercase()),
            P::CityCoalesce(c) => format!("coalesce(city, 'none') <> '{c}'"),
            P::VipDistinct => "vip IS DISTINCT FROM true".into(),
            P::And(a, b) => format!("({} AND {})", a.sql(), b.sql()),
            P::Or(a, b) => format!("({} OR {})", a.sql(), b.sql()),
            P::Not(a) => format!("NOT ({})", a.sql()),
            P::IsTrue(a) => format!("({}) IS TRUE", a.sql()),
            P::IsNotFalse(a) => format!("({}) IS NOT FALSE", a.sql()),
        }
    }
}

fn pred() -> impl Strategy<Value = P> {
    let city = prop::sample::select(CITIES.to_vec());
    let leaf = prop_oneof![
        Just(P::Vip),
        city.clone().prop_map(P::CityEq),
        prop::collection::vec(prop::option::weighted(0.8, city.clone()), 1..4).prop_map(P::CityIn),
        (
            prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]),
            -3i64..60
        )
            .prop_map(|(o, v)| P::AgeCmp(o, v)),
        (0i64..50, 0i64..50).prop_map(|(a, b)| P::AgeBetween(a, b)),
        Just(P::AgeNull),
        Just(P::CityNull),
        prop::sample::select(TAGS.to_vec()).prop_map(P::TagAny),
        (
            prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]),
            any::<bool>(),
            prop::collection::vec(prop::option::weighted(0.85, -3i64..60), 0..4)
        )
            .prop_map(|(o, all, vs)| P::AgeQuant(o, all, vs)),
        (
            prop::sample::select(vec!["=", "<>", "<", ">="]),
            any::<bool>(),
            prop::collection::vec(prop::option::weighted(0.85, city.clone()), 0..4)
        )
            .prop_map(|(o, all, vs)| P::CityQuant(o, all, vs)),
        (1i64..6, 0i64..3).prop_map(|(m, v)| P::AgeMod(m, v)),
        (-5i64..5, 0i64..50).prop_map(|(k, v)| P::AgePlus(k, v)),
        (-1i64..50, 0i64..50).prop_map(|(d, v)| P::AgeCoalesce(d, v)),
        (0i64..50).prop_map(P::AgeCase),
        city.clone().prop_map(P::CityUpper),
        prop_oneof![city.clone(), Just("none")].prop_map(P::CityCoalesce),
        Just(P::VipDistinct),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| P::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| P::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| P::Not(Box::new(a))),
            inner.clone().prop_map(|a| P::IsTrue(Box::new(a))),
            inner.prop_map(|a| P::IsNotFalse(Box::new(a))),
        ]
    })
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.8, prop::sample::select(CITIES.to_vec())),
        prop::option::weighted(0.8, 0i64..50),
        prop::option::weighted(0.8, prop::sample::subsequence(TAGS.to_vec(), 0..3)),
    )
        .prop_map(|(vip, city, age, tags)| Row {
            vip,
            city,
            age,
            tags,
        })
}

fn lit<T: ToString>(v: Option<T>, quote: bool) -> String {
    match v {
        None => "NULL".into(),
        Some(x) if quote => format!("'{}'", x.to_string()),
        Some(x) => x.to_string(),
    }
}

fn rows_of(r: StatementResult) -> Vec<Vec<Datum>> {
    match r {
        StatementResult::Rows(rel) => rel.rows.clone(),
        StatementResult::Command(c) => panic!("expected rows, got {c}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn where_and_group_by_match_the_reference_model(
        rows in prop::collection::vec(row(), 0..60),
        preds in prop::collection::vec(pred(), 1..6),
        flush_at in 0usize..60,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), Options { background: false, ..Options::default() }).expect("open");
        let mut s = Session::new("test");
        db.execute(&mut s, "CREATE TABLE t (k BIGINT PRIMARY KEY, vip BOOLEAN, city TEXT, age INT, tags TEXT[])").expect("create");
        for (i, r) in rows.iter().enumerate() {
            if i == flush_at {
                db.store().flush().expect("flush");
            }
            let tags = r.tags.as_ref().map(|t| format!("ARRAY[{}]::text[]", t.iter().map(|x| format!("'{x}'")).collect::<Vec<_>>().join(",")));
            let sql = format!(
                "INSERT INTO t VALUES ({i}, {}, {}, {}, {})",
                lit(r.vip, false), lit(r.city, true), lit(r.age, false), tags.unwrap_or_else(|| "NULL".into())
            );
            db.execute(&mut s, &sql).expect("insert");
        }
        for p in &preds {
            let want: Vec<usize> = rows.iter().enumerate().filter(|(_, r)| p.eval(r) == Some(true)).map(|(i, _)| i).collect();
            let got = rows_of(db.execute(&mut s, &format!("SELECT COUNT(*) FROM t WHERE {}", p.sql())).expect("count").remove(0));
            prop_assert_eq!(&got[0][0], &Datum::Int(want.len() as i64), "COUNT WHERE {}", p.sql());
            let got = rows_of(db.execute(&mut s, &format!("SELECT k FROM t WHERE {} ORDER BY k", p.sql())).expect("rows").remove(0));
            let got: Vec<Datum> = got.into_iter().map(|mut r| r.remove(0)).collect();
            let want_keys: Vec<Datum> = want.iter().map(|i| Datum::Int(*i as i64)).collect();
            prop_assert_eq!(got, want_keys, "rows WHERE {}", p.sql());
            // GROUP BY city with aggregates over age.
            let mut groups: BTreeMap<Option<&str>, GroupAgg> = BTreeMap::new();
            for i in &want {
                let r = &rows[*i];
                let g = groups.entry(r.city).or_insert((0, 0, 0, None, None));
                g.0 += 1;
                if let Some(a) = r.age {
                    g.1 += 1;
                    g.2 += a;
                    g.3 = Some(g.3.map_or(a, |m: i64| m.min(a)));
                    g.4 = Some(g.4.map_or(a, |m: i64| m.max(a)));
                }
            }
            let got = rows_of(db.execute(&mut s, &format!(
                "SELECT city, COUNT(*), COUNT(age), SUM(age), MIN(age), MAX(age) FROM t WHERE {} GROUP BY city ORDER BY city NULLS FIRST",
                p.sql()
            )).expect("group").remove(0));
            let want_groups: Vec<Vec<Datum>> = groups.into_iter().map(|(c, (n, na, sum, mn, mx))| vec![
                c.map_or(Datum::Null, |c| Datum::Text(c.into())),
                Datum::Int(n),
                Datum::Int(na),
                if na == 0 { Datum::Null } else { Datum::Int(sum) },
                mn.map_or(Datum::Null, Datum::Int),
                mx.map_or(Datum::Null, Datum::Int),
            ]).collect();
            prop_assert_eq!(got, want_groups, "GROUP BY city WHERE {}", p.sql());
        }
    }
}

/// Every `GROUP BY` over the categorical `city` under `filter`, once per
/// group-by strategy.
fn group_by_both_ways(db: &Db, s: &mut Session, filter: &str) -> Vec<Vec<Vec<Datum>>> {
    use audb::exec::groups::{Strategy, force};
    let queries = [
        format!("SELECT city, COUNT(*), SUM(age), MAX(age) FROM t WHERE {filter} GROUP BY city"),
        format!("SELECT city, vip, COUNT(*) FROM t WHERE {filter} GROUP BY city, vip"),
        format!("SELECT vip, city, COUNT(*) FROM t WHERE {filter} GROUP BY vip, city"),
        format!("SELECT age, city, COUNT(*) FROM t WHERE {filter} GROUP BY age, city"),
    ];
    let mut out = Vec::new();
    for strategy in [Strategy::Bitmaps, Strategy::Forward, Strategy::Auto] {
        force(strategy);
        for (i, q) in queries.iter().enumerate() {
            // A fresh text per strategy: the result cache must not answer.
            let q = format!("{q} /* {strategy:?} {i} */");
            out.push(rows_of(db.execute(s, &q).expect("group").remove(0)));
        }
    }
    force(Strategy::Auto);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The forward pass over the filtered rows and the per-value bitmap
    /// intersections give identical groups, over segments, memtables,
    /// updates and deletes.
    #[test]
    fn group_by_forward_pass_equals_bitmaps(
        rows in prop::collection::vec((prop::option::weighted(0.8, 0usize..40), prop::option::of(any::<bool>()), prop::option::of(0i64..5)), 1..80),
        updates in prop::collection::vec((0usize..80, prop::option::weighted(0.8, 0usize..40)), 0..10),
        deletes in prop::collection::vec(0usize..80, 0..5),
        filters in prop::collection::vec(pred(), 1..4),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), Options { background: false, ..Options::default() }).expect("open");
        let mut s = Session::new("test");
        db.execute(&mut s, "CREATE TABLE t (k BIGINT PRIMARY KEY, vip BOOLEAN, city TEXT, age INT, tags TEXT[])").expect("create");
        let values: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, (c, v, a))| format!("({i}, {}, {}, {}, NULL)", lit(*v, false), lit(c.map(|c| format!("c{c:02}")), true), lit(*a, false)))
            .collect();
        db.execute(&mut s, &format!("INSERT INTO t VALUES {}", values.join(", "))).expect("insert");
        db.store().flush().expect("flush");
        for (k, c) in &updates {
            db.execute(&mut s, &format!("UPDATE t SET city = {} WHERE k = {k}", lit(c.map(|c| format!("c{c:02}")), true))).expect("update");
        }
        for k in &deletes {
            db.execute(&mut s, &format!("DELETE FROM t WHERE k = {k}")).expect("delete");
        }
        for f in &filters {
            let all = group_by_both_ways(&db, &mut s, &f.sql());
            let n = all.len() / 3;
            prop_assert_eq!(&all[..n], &all[n..2 * n], "forward = bitmaps WHERE {}", f.sql());
            prop_assert_eq!(&all[..n], &all[2 * n..], "auto = bitmaps WHERE {}", f.sql());
        }
    }
}
