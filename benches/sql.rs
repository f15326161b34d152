//! SQL benchmarks (issue 3): audience queries through `Db::execute`, each
//! beside the same operation done directly with owned `roaring` bitmaps (the
//! library floor), reported as audb/floor ratios measured in the same run.
//!
//! Results and analysis are in `docs/benchmarks-sql.md`.
//!
//! ```text
//! cargo bench --bench sql                          # 1M rows (one shard), ≈ 2 min
//! AUDB_BENCH_ROWS=10000000 cargo bench --bench sql # 10M rows (10 shards, both cores)
//! cargo bench --bench sql -- overlap               # criterion filter
//! cargo test --release --bench sql                 # smoke test: 10k rows, once each
//! ```
//!
//! The data is the seeded 20-column audience of `benches/common` (table
//! `audience`, key `user_id`) plus 200 sparse flags (`s_000`…`s_199`, ≈ 0.5 %
//! of rows each, as the issue's audience has), loaded with `Store::bulk_load` and wrapped in
//! `Db::with_store`. The load gives generated row `i` row id `i`, so the
//! floor's bitmaps, built from the same generated rows while they stream
//! into the load, use the same row ids.
//!
//! The result cache of `Db` is keyed by the statement text: every uncached
//! iteration gives the result column a fresh alias (`AS q<n>`), which changes
//! the text but not the work. The cached repeat runs one fixed text.

mod common;

use audb::db::{Db, Session, StatementResult};
use audb::index::{ColumnType, Value};
use audb::sql::relation::Relation;
use audb::sql::types::Datum;
use audb::storage::{Options, Store};
use common::{Audience, COLUMNS, DEFAULT_SEED, TABLE, column_index, median_ns, record};
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use roaring::RoaringBitmap;
use std::cell::Cell;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `audb` binary uses (`src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows to generate (default 1M under `--bench`, 10k otherwise).
const ROWS_ENV: &str = "AUDB_BENCH_ROWS";

// ------------------------------------------------------------------- floor

/// A bitmap built from increasing row ids, appended in batches.
#[derive(Default)]
struct Appender {
    bitmap: RoaringBitmap,
    rows: Vec<u32>,
}

impl Appender {
    fn push(&mut self, row: u32) {
        self.rows.push(row);
        if self.rows.len() >= 4096 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.bitmap
            .append(self.rows.drain(..))
            .expect("rows increase");
    }

    fn finish(mut self) -> RoaringBitmap {
        self.flush();
        self.bitmap
    }
}

/// A non-negative integer column as a bit-sliced index of owned bitmaps.
#[derive(Default)]
struct Bsi {
    not_null: RoaringBitmap,
    planes: Vec<RoaringBitmap>,
}

impl Bsi {
    /// Rows with `value >= x` (O'Neil–Quass, unsigned).
    fn ge(&self, x: u64) -> RoaringBitmap {
        if x >= 1 << self.planes.len() {
            return RoaringBitmap::new();
        }
        let mut gt = RoaringBitmap::new();
        let mut eq = self.not_null.clone();
        for (i, p) in self.planes.iter().enumerate().rev() {
            if x >> i & 1 == 1 {
                eq &= p;
            } else {
                gt |= &eq & p;
                eq -= p;
            }
        }
        gt | eq
    }

    /// Rows with `value <= x`.
    fn le(&self, x: u64) -> RoaringBitmap {
        if x >= 1 << self.planes.len() {
            return self.not_null.clone();
        }
        let mut lt = RoaringBitmap::new();
        let mut eq = self.not_null.clone();
        for (i, p) in self.planes.iter().enumerate().rev() {
            if x >> i & 1 == 1 {
                lt |= &eq - p;
                eq &= p;
            } else {
                eq -= p;
            }
        }
        lt | eq
    }

    fn between(&self, lo: u64, hi: u64) -> RoaringBitmap {
        self.ge(lo) & self.le(hi)
    }

    /// (sum, count) of the values of the rows in `filter`.
    fn sum(&self, filter: &RoaringBitmap) -> (u128, u64) {
        let count = self.not_null.intersection_len(filter);
        let sum = self
            .planes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.intersection_len(filter) as u128) << i)
            .sum();
        (sum, count)
    }
}

#[derive(Default)]
struct BsiBuild {
    not_null: Appender,
    planes: Vec<Appender>,
}

impl BsiBuild {
    fn push(&mut self, row: u32, v: u64) {
        self.not_null.push(row);
        let bits = 64 - v.leading_zeros() as usize;
        while self.planes.len() < bits {
            self.planes.push(Appender::default());
        }
        for (i, p) in self.planes.iter_mut().enumerate().take(bits) {
            if v >> i & 1 == 1 {
                p.push(row);
            }
        }
    }

    fn finish(self) -> Bsi {
        Bsi {
            not_null: self.not_null.finish(),
            planes: self.planes.into_iter().map(Appender::finish).collect(),
        }
    }
}

/// The owned-bitmap copy of the columns the queries touch.
struct Floor {
    keys: Vec<Box<str>>,
    /// `true` rows of each flag, by column name.
    flags: HashMap<&'static str, RoaringBitmap>,
    /// Rows of each value of the TEXT / TEXT[] columns, by column then value.
    values: HashMap<&'static str, HashMap<String, RoaringBitmap>>,
    /// Non-NULL rows of the TEXT columns.
    not_null: HashMap<&'static str, RoaringBitmap>,
    ints: HashMap<&'static str, Bsi>,
}

const FLOOR_FLAGS: [&str; 6] = [
    "f_active",
    "f_push_opt_in",
    "f_paying",
    "f_newsletter",
    "f_vip",
    "f_fraud",
];
const FLOOR_TEXT: [&str; 5] = ["city", "country", "device", "plan", "interests"];
const FLOOR_INTS: [&str; 3] = ["age", "sessions_30d", "ltv"];

#[derive(Default)]
struct FloorBuild {
    keys: Vec<Box<str>>,
    flags: Vec<Appender>,
    values: Vec<HashMap<String, Appender>>,
    not_null: Vec<Appender>,
    ints: Vec<BsiBuild>,
}

impl FloorBuild {
    fn new() -> FloorBuild {
        FloorBuild {
            keys: Vec::new(),
            flags: FLOOR_FLAGS.iter().map(|_| Appender::default()).collect(),
            values: FLOOR_TEXT.iter().map(|_| HashMap::new()).collect(),
            not_null: FLOOR_TEXT.iter().map(|_| Appender::default()).collect(),
            ints: FLOOR_INTS.iter().map(|_| BsiBuild::default()).collect(),
        }
    }

    fn push(&mut self, row: u32, (key, values): &common::Row) {
        self.keys.push(key.to_string().into_boxed_str());
        let col = |name| &values[column_index(name).expect("column")];
        for (i, name) in FLOOR_FLAGS.iter().enumerate() {
            if let Some(Value::Bool(true)) = col(name) {
                self.flags[i].push(row);
            }
        }
        for (i, name) in FLOOR_TEXT.iter().enumerate() {
            let map = &mut self.values[i];
            let mut add = |s: &str| match map.get_mut(s) {
                Some(a) => a.push(row),
                None => {
                    let mut a = Appender::default();
                    a.push(row);
                    map.insert(s.to_owned(), a);
                }
            };
            match col(name) {
                None => continue,
                Some(Value::Text(s)) => add(s),
                Some(Value::TextSet(set)) => set.iter().for_each(|s| add(s)),
                Some(v) => panic!("unexpected {v:?} in {name}"),
            }
            self.not_null[i].push(row);
        }
        for (i, name) in FLOOR_INTS.iter().enumerate() {
            match col(name) {
                None => {}
                Some(Value::Int(v)) => {
                    self.ints[i].push(row, u64::try_from(*v).expect("non-negative"))
                }
                Some(v) => panic!("unexpected {v:?} in {name}"),
            }
        }
    }

    fn finish(self) -> Floor {
        let fin = |m: HashMap<String, Appender>| {
            m.into_iter()
                .map(|(k, a)| (k, a.finish()))
                .collect::<HashMap<_, _>>()
        };
        Floor {
            keys: self.keys,
            flags: FLOOR_FLAGS
                .into_iter()
                .zip(self.flags.into_iter().map(Appender::finish))
                .collect(),
            values: FLOOR_TEXT
                .into_iter()
                .zip(self.values.into_iter().map(fin))
                .collect(),
            not_null: FLOOR_TEXT
                .into_iter()
                .zip(self.not_null.into_iter().map(Appender::finish))
                .collect(),
            ints: FLOOR_INTS
                .into_iter()
                .zip(self.ints.into_iter().map(BsiBuild::finish))
                .collect(),
        }
    }
}

impl Floor {
    fn flag(&self, name: &str) -> &RoaringBitmap {
        &self.flags[name]
    }

    fn eq(&self, col: &str, v: &str) -> &RoaringBitmap {
        &self.values[col][v]
    }

    fn any(&self, col: &str, vs: &[&str]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for v in vs {
            out |= self.eq(col, v);
        }
        out
    }

    fn int(&self, col: &str) -> &Bsi {
        &self.ints[col]
    }
}

// ----------------------------------------------------------------- queries

/// The queries. `{a}` is replaced by the alias of the result column (a fresh
/// one per uncached iteration).
const Q_COUNT3: &str = "SELECT COUNT(*) AS {a} FROM audience \
     WHERE f_vip AND city = 'city-000' AND age BETWEEN 25 AND 35";
const Q_COUNT10: &str = "SELECT COUNT(*) AS {a} FROM audience \
     WHERE (f_active OR f_push_opt_in) AND NOT f_fraud \
     AND (city IN ('city-000', 'city-001', 'city-002', 'city-003') OR country = 'country-00') \
     AND device IN ('ios', 'web') \
     AND NOT (plan = 'free' AND f_newsletter) \
     AND age BETWEEN 21 AND 45 AND sessions_30d > 10";
const Q_GROUP: &str = "SELECT city, COUNT(*) AS {a} FROM audience \
     WHERE f_paying AND age BETWEEN 25 AND 35 GROUP BY city";
const Q_SUM: &str = "SELECT SUM(ltv) AS {a}, AVG(ltv) FROM audience \
     WHERE f_paying AND device = 'ios'";
const Q_OVERLAP: &str = "SELECT COUNT(*) AS {a} FROM audience \
     WHERE (f_active AND 'interest-00' = ANY(interests)) \
     AND (city IN ('city-000', 'city-001') AND age >= 30)";
const Q_KEYS: &str = "SELECT user_id AS {a} FROM audience \
     WHERE f_paying AND city = 'city-000' LIMIT 1000";

/// What a query returns, in a form both sides can produce.
#[derive(Debug, PartialEq)]
enum Answer {
    Count(u64),
    /// Non-empty groups: (city or None for NULL, count), sorted.
    Groups(Vec<(Option<String>, u64)>),
    /// SUM in cents and the row count behind AVG.
    Sum(u128, u64),
    Keys(Vec<String>),
}

fn floor_count3(f: &Floor) -> Answer {
    let mut s = f.flag("f_vip") & f.eq("city", "city-000");
    s &= f.int("age").between(25, 35);
    Answer::Count(s.len())
}

fn floor_count10(f: &Floor) -> Answer {
    let mut s = f.flag("f_active") | f.flag("f_push_opt_in");
    s -= f.flag("f_fraud");
    let mut place = f.any("city", &["city-000", "city-001", "city-002", "city-003"]);
    place |= f.eq("country", "country-00");
    s &= &place;
    s &= f.any("device", &["ios", "web"]);
    s -= f.eq("plan", "free") & f.flag("f_newsletter");
    s &= f.int("age").between(21, 45);
    s &= f.int("sessions_30d").ge(11);
    Answer::Count(s.len())
}

fn floor_group(f: &Floor) -> Answer {
    let seg = f.flag("f_paying") & f.int("age").between(25, 35);
    let mut groups: Vec<(Option<String>, u64)> = f.values["city"]
        .iter()
        .map(|(v, b)| (Some(v.clone()), b.intersection_len(&seg)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let nulls = seg.len() - seg.intersection_len(&f.not_null["city"]);
    if nulls > 0 {
        groups.push((None, nulls));
    }
    groups.sort();
    Answer::Groups(groups)
}

fn floor_sum(f: &Floor) -> Answer {
    let seg = f.flag("f_paying") & f.eq("device", "ios");
    let (sum, count) = f.int("ltv").sum(&seg);
    Answer::Sum(sum, count)
}

fn floor_overlap(f: &Floor) -> Answer {
    let a = f.flag("f_active") & f.eq("interests", "interest-00");
    let mut b = f.any("city", &["city-000", "city-001"]);
    b &= f.int("age").ge(30);
    Answer::Count(a.intersection_len(&b))
}

fn floor_keys(f: &Floor) -> Answer {
    let seg = f.flag("f_paying") & f.eq("city", "city-000");
    Answer::Keys(
        seg.iter()
            .take(1000)
            .map(|r| f.keys[r as usize].to_string())
            .collect(),
    )
}

fn datum_u64(d: &Datum) -> u64 {
    match d {
        Datum::Int(n) => u64::try_from(*n).expect("non-negative"),
        d => panic!("expected an integer, got {d:?}"),
    }
}

/// Reads `rel` as the answer of the query `like` is the floor's answer of.
fn answer_of(rel: &Relation, like: &Answer) -> Answer {
    match like {
        Answer::Count(_) => Answer::Count(datum_u64(&rel.rows[0][0])),
        Answer::Groups(_) => {
            let mut g: Vec<(Option<String>, u64)> = rel
                .rows
                .iter()
                .map(|r| {
                    let city = match &r[0] {
                        Datum::Null => None,
                        Datum::Text(s) => Some(s.clone()),
                        d => panic!("city {d:?}"),
                    };
                    (city, datum_u64(&r[1]))
                })
                .collect();
            g.sort();
            Answer::Groups(g)
        }
        Answer::Sum(_, count) => {
            let sum = match &rel.rows[0][0] {
                Datum::Numeric(d) => {
                    let s = d.to_string();
                    let (i, frac) = s.split_once('.').unwrap_or((&s, "00"));
                    (i.parse::<u128>().expect("sum") * 100) + frac.parse::<u128>().expect("cents")
                }
                Datum::Null => 0,
                d => panic!("sum {d:?}"),
            };
            // AVG is checked for presence only (rounding is the engine's).
            assert!(
                *count == 0 || !matches!(rel.rows[0][1], Datum::Null),
                "AVG is NULL over {count} rows"
            );
            Answer::Sum(sum, *count)
        }
        Answer::Keys(_) => Answer::Keys(
            rel.rows
                .iter()
                .map(|r| match &r[0] {
                    Datum::Text(s) => s.clone(),
                    d => panic!("key {d:?}"),
                })
                .collect(),
        ),
    }
}

struct Query {
    name: &'static str,
    label: &'static str,
    sql: &'static str,
    floor: fn(&Floor) -> Answer,
}

const QUERIES: [Query; 6] = [
    Query {
        name: "count3",
        label: "(a) 3-condition count",
        sql: Q_COUNT3,
        floor: floor_count3,
    },
    Query {
        name: "count10",
        label: "(b) 10-condition nested count",
        sql: Q_COUNT10,
        floor: floor_count10,
    },
    Query {
        name: "group_city",
        label: "(c) GROUP BY city within a segment",
        sql: Q_GROUP,
        floor: floor_group,
    },
    Query {
        name: "sum_avg",
        label: "(d) SUM/AVG(ltv) within a segment",
        sql: Q_SUM,
        floor: floor_sum,
    },
    Query {
        name: "overlap",
        label: "(e) overlap of two segments",
        sql: Q_OVERLAP,
        floor: floor_overlap,
    },
    Query {
        name: "keys1000",
        label: "(f) first 1000 keys of a segment",
        sql: Q_KEYS,
        floor: floor_keys,
    },
];

fn rows_of(r: Vec<StatementResult>) -> Arc<Relation> {
    match r.into_iter().next() {
        Some(StatementResult::Rows(rel)) => rel,
        other => panic!("expected rows, got {other:?}"),
    }
}

// ------------------------------------------------------------------ set-up

/// Loads `rows` generated rows into a fresh store and builds the floor from
/// the same rows as they stream into the load.
fn setup(aud: &Audience, rows: u64) -> (tempfile::TempDir, Db, Floor, f64) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(
        dir.path(),
        Options {
            background: false,
            ..Options::default()
        },
    )
    .expect("open");
    let (table, mut cols) = common::create_table(&store);
    assert_eq!(COLUMNS.len(), cols.len());
    for i in 0..SPARSE_FLAGS {
        let name = format!("s_{i:03}");
        let id = store
            .add_column(table, &name, ColumnType::Boolean)
            .expect("add a sparse flag");
        cols.push(id);
    }
    let mut build = FloorBuild::new();
    let start = Instant::now();
    let mut row = 0u32;
    let summary = store
        .bulk_load(
            table,
            &cols,
            aud.rows(0..rows).map(|r| {
                build.push(row, &r);
                let (key, mut values) = r;
                values.extend(sparse_flags(u64::from(row)));
                row += 1;
                Ok((key, values))
            }),
            &mut |_| {},
        )
        .expect("bulk load");
    let load_secs = start.elapsed().as_secs_f64();
    assert_eq!(summary.inserted, rows);
    (dir, Db::with_store(store), build.finish(), load_secs)
}

/// Sparse tag flags beside the 20 columns of `benches/common`, as the
/// issue's audience has (~200): no query reads them, but the table, its
/// catalog and its segments carry them as a real tag table would.
const SPARSE_FLAGS: usize = 200;

/// The sparse flags of row `i`: on average one of them `true` (each flag
/// ≈ 0.5 % of rows), the others NULL (tag not set), deterministic in `i`.
fn sparse_flags(i: u64) -> Vec<Option<Value>> {
    let mut out = vec![None; SPARSE_FLAGS];
    let mut r = common::SplitMix64::new(common::mix64(i ^ 0x5eed_f1a9));
    for _ in 0..r.below(3) {
        out[r.below(SPARSE_FLAGS as u64) as usize] = Some(Value::Bool(true));
    }
    out
}

// ------------------------------------------------------------------ benches

fn bench_queries(g: &mut BenchmarkGroup<'_, WallTime>, db: &Db, floor: &Floor) {
    let seq = Cell::new(0u64);
    for q in &QUERIES {
        let want = (q.floor)(floor);
        let mut session = Session::new("bench");
        let got = rows_of(
            db.execute(&mut session, &q.sql.replace("{a}", "q"))
                .expect("query"),
        );
        assert_eq!(answer_of(&got, &want), want, "{}: audb vs floor", q.name);
        let name = format!("{}/audb", q.name);
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let mut session = Session::new("bench");
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let n = seq.get();
                    seq.set(n + 1);
                    let sql = q.sql.replace("{a}", &format!("q{n}"));
                    let t = Instant::now();
                    black_box(db.execute(&mut session, &sql).expect("query"));
                    total += t.elapsed();
                }
                record(&name, iters, total)
            })
        });
        let name = format!("{}/floor", q.name);
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box((q.floor)(black_box(floor)));
                }
                record(&name, iters, t.elapsed())
            })
        });
    }
    // The cached repeat: the same text again and again, same snapshot.
    let sql = Q_COUNT3.replace("{a}", "cached");
    let mut session = Session::new("bench");
    db.execute(&mut session, &sql).expect("warm the cache");
    g.bench_function("count3/cached", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(db.execute(&mut session, &sql).expect("query"));
            }
            record("count3/cached", iters, t.elapsed())
        })
    });
    // The previous cache path, still taken by prepared statements
    // (`Db::run`): parse, then format the statement into its key.
    g.bench_function("count3/cached_parsed", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                let stmts = audb::sql::parse(black_box(&sql)).expect("parse");
                black_box(db.run(&mut session, &stmts[0], &[], &[]).expect("query"));
            }
            record("count3/cached_parsed", iters, t.elapsed())
        })
    });
    // Parsing the statement alone (what a text-keyed hit skips).
    g.bench_function("parse_only", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(audb::sql::parse(black_box(&sql)).expect("parse"));
            }
            record("parse_only", iters, t.elapsed())
        })
    });
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let rows: u64 = std::env::var(ROWS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench_mode { 1_000_000 } else { 10_000 });
    let aud = Audience::new(DEFAULT_SEED);
    eprintln!("loading {rows} rows and building the floor…");
    let (_dir, db, floor, load_secs) = setup(&aud, rows);
    let shards = db
        .store()
        .snapshot()
        .table(TABLE)
        .expect("table")
        .shard_count();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(if rows > 2_000_000 { 4 } else { 2 }))
        .configure_from_args();
    {
        let mut g = c.benchmark_group(format!("sql_{rows}"));
        bench_queries(&mut g, &db, &floor);
        g.finish();
    }
    c.final_summary();

    println!(
        "\n## sql bench: {rows} rows, {shards} shard(s), {threads} core(s); load + floor build {load_secs:.1} s\n"
    );
    println!(
        "| query | audb (Db::execute, uncached) | floor (owned roaring, 1 thread) | audb/floor | target |"
    );
    println!("|---|---|---|---|---|");
    for q in &QUERIES {
        let a = median_ns(&format!("{}/audb", q.name));
        let f = median_ns(&format!("{}/floor", q.name));
        println!(
            "| {} | {} | {} | {:.2}× | {} |",
            q.label,
            fmt_ns(a),
            fmt_ns(f),
            a / f,
            if a / f <= 1.5 {
                "≤ 1.5× ✔"
            } else {
                "≤ 1.5× ✘"
            }
        );
    }
    let cached = median_ns("count3/cached");
    println!(
        "| cached repeat of (a) | {} | parse alone {} | {:.2}× parse | ≤ 20 µs {} |",
        fmt_ns(cached),
        fmt_ns(median_ns("parse_only")),
        cached / median_ns("parse_only"),
        if cached <= 20_000.0 { "✔" } else { "✘" }
    );
    let parsed = median_ns("count3/cached_parsed");
    println!(
        "| cached repeat, parse + statement key (`Db::run`) | {} | | {:.2}× the text-keyed hit | |",
        fmt_ns(parsed),
        parsed / cached
    );
}
