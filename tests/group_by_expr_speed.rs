//! GROUP BY expressions over numeric columns with (almost) a value per row
//! — read row by row in windows on the worker pool — give exactly what a
//! row-by-row reference computes: enough rows for several windows, NULLs,
//! two such columns in one expression, a column whose values repeat (the
//! per-window cache), a categorical column split first, a WHERE clause,
//! a set-returning function counting rows twice, and an error raised
//! exactly when a row holds a failing value. Correctness only, no timing.

use audb::db::{Db, Session, StatementResult};
use audb::sql::types::Datum;
use audb::storage::Options;
use std::collections::{BTreeMap, BTreeSet};

/// Rows: several windows of the row pass.
const ROWS: usize = 150_000;
const CITIES: [&str; 4] = ["bj", "sh", "gz", "sz"];
const DAY_MICROS: i64 = 86_400_000_000;
/// 2024-01-01 00:00:00 in microseconds since 1970.
const EPOCH_2024: i64 = 1_704_067_200_000_000;

#[derive(Clone, Debug)]
struct Row {
    a: Option<i64>,
    b: Option<i64>,
    c: i64,
    ts: Option<i64>,
    city: &'static str,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rows() -> Vec<Row> {
    let mut s = 7u64;
    (0..ROWS)
        .map(|_| {
            let r = splitmix(&mut s);
            let a = (!r.is_multiple_of(10))
                .then(|| (splitmix(&mut s) % 2_000_000_000_000) as i64 - 1_000_000_000_000);
            let b = (r % 20 != 1).then(|| (splitmix(&mut s) % 1_000_000_000) as i64);
            let c = (splitmix(&mut s) % 5000) as i64;
            let ts = (r % 17 != 3)
                .then(|| EPOCH_2024 + (splitmix(&mut s) % (3 * 365 * DAY_MICROS as u64)) as i64);
            let city = CITIES[(splitmix(&mut s) % 4) as usize];
            Row { a, b, c, ts, city }
        })
        .collect()
}

fn lit(v: Option<i64>) -> String {
    v.map_or("NULL".into(), |x| x.to_string())
}

fn ts_lit(v: Option<i64>) -> String {
    v.map_or("NULL".into(), |x| {
        // Civil date from days since 1970 (proleptic Gregorian).
        let (days, rem) = (x.div_euclid(DAY_MICROS), x.rem_euclid(DAY_MICROS));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        let secs = rem / 1_000_000;
        format!(
            "TIMESTAMP '{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}'",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            rem % 1_000_000
        )
    })
}

fn open(rows: &[Row]) -> (Db, Session, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        Options {
            background: false,
            ..Options::default()
        },
    )
    .expect("open");
    let mut s = Session::new("test");
    db.execute(&mut s, "SET TIME ZONE 'UTC'").expect("tz");
    db.execute(
        &mut s,
        "CREATE TABLE t (k BIGINT PRIMARY KEY, a BIGINT, b BIGINT, c INT, ts TIMESTAMP, city TEXT)",
    )
    .expect("create");
    for (chunk_no, chunk) in rows.chunks(10_000).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let k = chunk_no * 10_000 + i;
                format!(
                    "({k}, {}, {}, {}, {}, '{}')",
                    lit(r.a),
                    lit(r.b),
                    r.c,
                    ts_lit(r.ts),
                    r.city
                )
            })
            .collect();
        db.execute(
            &mut s,
            &format!("INSERT INTO t VALUES {}", values.join(", ")),
        )
        .expect("insert");
        if chunk_no == 7 {
            db.store().flush().expect("flush");
        }
    }
    (db, s, dir)
}

fn query(db: &Db, s: &mut Session, sql: &str) -> Vec<Vec<Datum>> {
    match db
        .execute(s, sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", e.message))
        .remove(0)
    {
        StatementResult::Rows(rel) => {
            let mut rows = rel.rows.clone();
            rows.sort_by_key(|r| format!("{r:?}"));
            rows
        }
        StatementResult::Command(c) => panic!("{sql}: expected rows, got {c}"),
    }
}

/// Per group key (its debug text): the key, row count, sum of c, cities.
type Model = BTreeMap<String, (Vec<Datum>, i64, i64, BTreeSet<&'static str>)>;

/// Groups `rows` by `key` (each key with how many times the row counts)
/// and returns `key…, count(*), sum(c), count(DISTINCT city)` per group.
fn model<'a>(
    rows: impl Iterator<Item = &'a Row>,
    key: impl Fn(&Row) -> Vec<(Vec<Datum>, i64)>,
) -> Vec<Vec<Datum>> {
    let mut m: Model = BTreeMap::new();
    for r in rows {
        for (k, times) in key(r) {
            let e = m
                .entry(format!("{k:?}"))
                .or_insert_with(|| (k.clone(), 0, 0, BTreeSet::new()));
            e.1 += times;
            e.2 += r.c * times;
            e.3.insert(r.city);
        }
    }
    let mut out: Vec<Vec<Datum>> = m
        .into_values()
        .map(|(mut k, n, sum, cities)| {
            k.extend([
                Datum::Int(n),
                Datum::Int(sum),
                Datum::Int(cities.len() as i64),
            ]);
            k
        })
        .collect();
    out.sort_by_key(|r| format!("{r:?}"));
    out
}

fn int(v: Option<i64>) -> Datum {
    v.map_or(Datum::Null, Datum::Int)
}

const AGGS: &str = "count(*), sum(c), count(DISTINCT city)";

#[test]
fn group_by_expressions_of_near_unique_columns_match_a_row_by_row_model() {
    let data = rows();
    let (db, mut s, _dir) = open(&data);
    let all = || data.iter();

    let sql = format!("SELECT a / 1000000000, {AGGS} FROM t GROUP BY 1");
    let want = model(all(), |r| {
        vec![(vec![int(r.a.map(|a| a / 1_000_000_000))], 1)]
    });
    assert!(want.len() > 1000, "many groups: {}", want.len());
    assert_eq!(query(&db, &mut s, &sql), want, "{sql}");

    let sql = format!("SELECT date_trunc('day', ts), {AGGS} FROM t GROUP BY 1");
    let day = |ts: Option<i64>| {
        ts.map_or(Datum::Null, |t| {
            Datum::Timestamp(t.div_euclid(DAY_MICROS) * DAY_MICROS)
        })
    };
    let want = model(all(), |r| vec![(vec![day(r.ts)], 1)]);
    assert_eq!(query(&db, &mut s, &sql), want, "{sql}");

    // Two near-unique columns in one expression.
    let sql = format!("SELECT (a + b) % 10, {AGGS} FROM t GROUP BY 1");
    let want = model(all(), |r| {
        vec![(vec![int(r.a.zip(r.b).map(|(a, b)| (a + b) % 10))], 1)]
    });
    assert_eq!(query(&db, &mut s, &sql), want, "{sql}");

    // Two near-unique columns in two keys, the second with a filter.
    let sql = format!(
        "SELECT b / 100000000, date_trunc('day', ts) IS NULL, a > 0, {AGGS} FROM t WHERE c < 2500 GROUP BY 1, 2, 3"
    );
    let want = model(all().filter(|r| r.c < 2500), |r| {
        let ts_null = Datum::Bool(r.ts.is_none());
        vec![(
            vec![
                int(r.b.map(|b| b / 100_000_000)),
                ts_null,
                r.a.map_or(Datum::Null, |a| Datum::Bool(a > 0)),
            ],
            1,
        )]
    });
    assert_eq!(query(&db, &mut s, &sql), want, "{sql}");

    // Values repeat (5000 of them): the per-window cache hits.
    let sql = format!("SELECT c % 100, {AGGS} FROM t GROUP BY 1");
    let want = model(all(), |r| vec![(vec![Datum::Int(r.c % 100)], 1)]);
    assert_eq!(query(&db, &mut s, &sql), want, "{sql}");

    // A categorical column is split first, then each city's rows pass.
    let sql = format!("SELECT city, a / 100000000000, {AGGS} FROM t GROUP BY 1, 2");
    let want = model(all(), |r| {
        vec![(
            vec![
                Datum::Text(r.city.into()),
                int(r.a.map(|a| a / 100_000_000_000)),
            ],
            1,
        )]
    });
    assert_eq!(query(&db, &mut s, &sql), want, "{sql}");

    // A set-returning function: a row counts twice in one group.
    let sql = format!("SELECT unnest(ARRAY[1, 1, 2]), a % 3, {AGGS} FROM t GROUP BY 1, 2");
    let want = model(all(), |r| {
        let m = int(r.a.map(|a| a % 3));
        vec![
            (vec![Datum::Int(1), m.clone()], 2),
            (vec![Datum::Int(2), m], 1),
        ]
    });
    assert_eq!(query(&db, &mut s, &sql), want, "{sql}");
}

#[test]
fn an_expression_failing_on_a_near_unique_value_fails_the_query() {
    let data = rows();
    let (db, mut s, _dir) = open(&data);
    let e = db
        .execute(&mut s, "SELECT 1 / (a - a), count(*) FROM t GROUP BY 1")
        .expect_err("division by zero");
    assert_eq!(e.state.code(), "22012", "{}", e.message);
    // Rows whose value makes no error: none fail.
    let got = query(
        &db,
        &mut s,
        "SELECT 1 / (a - a), count(*) FROM t WHERE a IS NULL GROUP BY 1",
    );
    let nulls = data.iter().filter(|r| r.a.is_none()).count() as i64;
    assert_eq!(got, vec![vec![Datum::Null, Datum::Int(nulls)]]);
}
