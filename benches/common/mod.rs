//! A seeded, deterministic audience generator shared by the benchmarks.
//!
//! Every row is a pure function of `(seed, row index)`, so a benchmark can
//! regenerate any slice of the audience (in any order, on any thread) and two
//! runs with the same seed load byte-identical data. No `rand` dependency: a
//! SplitMix64 stream per row is enough for benchmark data ([`SplitMix64`],
//! [`Zipf`] and [`mix64`] come from `audb::demo`, which also builds the demo
//! audience of `audb demo`; this module keeps the benchmarks' own 20-column
//! table so that recorded results stay comparable).
//!
//! The table has a TEXT key and [`COLUMNS`] (20 tag columns of every kind):
//! eight BOOLEAN flags of densities 50 %, 10 %, 1 % and 0.1 % (two each),
//! Zipf-distributed TEXT (city, ~300 values; country, 30), small TEXT
//! categoricals (gender, device, plan), a TEXT[] of 0–4 interests out of 40,
//! INT, NUMERIC(12,2), DOUBLE PRECISION and DATE columns. Some columns have
//! NULLs, as real tag data does.
//!
//! Used from a bench crate that may need only part of it.
#![allow(dead_code)]

use audb::index::encode::{
    days_from_civil, f64_to_ordered, format_date, format_f64, format_numeric, ordered_to_f64,
};
use audb::index::{ColumnType, Key, KeyType, Value};
use audb::storage::{ColumnId, Store, TableId};

/// The seed the benchmarks use unless told otherwise.
pub const DEFAULT_SEED: u64 = 0x00a0_d1e0_cafe_f00d;

/// Name of the generated table.
pub const TABLE: &str = "audience";

/// Name of its key column.
pub const KEY_COLUMN: &str = "user_id";

/// Distinct city values (Zipf, exponent [`ZIPF_EXPONENT`]).
pub const CITIES: usize = 300;

/// Distinct country values (Zipf).
pub const COUNTRIES: usize = 30;

/// Distinct interest values; each row holds 0–4 of them.
pub const INTERESTS: usize = 40;

/// Exponent of the Zipf distributions (1.0: the k-th value is k times rarer
/// than the first).
pub const ZIPF_EXPONENT: f64 = 1.0;

/// One generated tag column.
#[derive(Clone, Copy, Debug)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// Storage type.
    pub ty: ColumnType,
    /// The type as SQL spells it (for `CREATE TABLE`).
    pub sql: &'static str,
}

const fn col(name: &'static str, ty: ColumnType, sql: &'static str) -> ColumnSpec {
    ColumnSpec { name, ty, sql }
}

/// Flags and their densities (fraction of rows that are `true`).
pub const FLAGS: [(&str, f64); 8] = [
    ("f_active", 0.5),
    ("f_push_opt_in", 0.5),
    ("f_paying", 0.1),
    ("f_newsletter", 0.1),
    ("f_vip", 0.01),
    ("f_beta", 0.01),
    ("f_fraud", 0.001),
    ("f_staff", 0.001),
];

/// The 20 tag columns, in row order.
pub const COLUMNS: [ColumnSpec; 20] = [
    col(FLAGS[0].0, ColumnType::Boolean, "BOOLEAN"),
    col(FLAGS[1].0, ColumnType::Boolean, "BOOLEAN"),
    col(FLAGS[2].0, ColumnType::Boolean, "BOOLEAN"),
    col(FLAGS[3].0, ColumnType::Boolean, "BOOLEAN"),
    col(FLAGS[4].0, ColumnType::Boolean, "BOOLEAN"),
    col(FLAGS[5].0, ColumnType::Boolean, "BOOLEAN"),
    col(FLAGS[6].0, ColumnType::Boolean, "BOOLEAN"),
    col(FLAGS[7].0, ColumnType::Boolean, "BOOLEAN"),
    col("city", ColumnType::Text, "TEXT"),
    col("country", ColumnType::Text, "TEXT"),
    col("gender", ColumnType::Text, "TEXT"),
    col("device", ColumnType::Text, "TEXT"),
    col("plan", ColumnType::Text, "TEXT"),
    col("interests", ColumnType::TextArray, "TEXT[]"),
    col("age", ColumnType::Int, "INT"),
    col("sessions_30d", ColumnType::Int, "INT"),
    col(
        "ltv",
        ColumnType::Numeric {
            precision: 12,
            scale: 2,
        },
        "NUMERIC(12,2)",
    ),
    col("churn_prob", ColumnType::Double, "DOUBLE PRECISION"),
    col("register_date", ColumnType::Date, "DATE"),
    col("last_seen", ColumnType::Date, "DATE"),
];

/// Index of a column in [`COLUMNS`] (and in a generated row).
pub fn column_index(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|c| c.name == name)
}

// The random primitives are the library's (`audb::demo`), shared with the
// demo audience and the CLI.
pub use audb::demo::{SplitMix64, Zipf, mix64};

/// One generated row: key and one value per entry of [`COLUMNS`].
pub type Row = (Key, Vec<Option<Value>>);

/// The audience generator.
#[derive(Clone, Debug)]
pub struct Audience {
    seed: u64,
    cities: Vec<String>,
    countries: Vec<String>,
    interests: Vec<String>,
    city_zipf: Zipf,
    country_zipf: Zipf,
    interest_zipf: Zipf,
    date_base: i64,
}

/// Days of registration dates: 2015-01-01 plus up to this many days.
const REGISTER_SPAN_DAYS: u64 = 4000;

impl Audience {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Audience {
        Audience {
            seed,
            cities: (0..CITIES).map(|i| format!("city-{i:03}")).collect(),
            countries: (0..COUNTRIES).map(|i| format!("country-{i:02}")).collect(),
            interests: (0..INTERESTS).map(|i| format!("interest-{i:02}")).collect(),
            city_zipf: Zipf::new(CITIES, ZIPF_EXPONENT),
            country_zipf: Zipf::new(COUNTRIES, ZIPF_EXPONENT),
            interest_zipf: Zipf::new(INTERESTS, 0.5),
            date_base: days_from_civil(2015, 1, 1),
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The i-th city value (rank 0 is the most frequent).
    pub fn city(&self, rank: usize) -> &str {
        &self.cities[rank]
    }

    /// Expected fraction of rows in city `rank` (among all rows, NULLs included).
    pub fn city_share(&self, rank: usize) -> f64 {
        (1.0 - CITY_NULL) * self.city_zipf.probability(rank)
    }

    /// The key of row `i`: 17 bytes, unique for every `i` (the scramble is a
    /// bijection), and not in row order, like real user ids.
    pub fn key(&self, i: u64) -> Key {
        Key::Text(format!("u{:016x}", mix64(i ^ self.seed)))
    }

    /// The tag values of row `i`, in [`COLUMNS`] order.
    pub fn values(&self, i: u64) -> Vec<Option<Value>> {
        let mut r = SplitMix64::new(mix64(self.seed.wrapping_add(i.wrapping_mul(0x2545_f491))));
        let mut v = Vec::with_capacity(COLUMNS.len());
        for (_, density) in FLAGS {
            v.push(Some(Value::Bool(r.chance(density))));
        }
        let city = (!r.chance(CITY_NULL))
            .then(|| Value::Text(self.cities[self.city_zipf.sample(&mut r)].clone()));
        v.push(city);
        v.push(Some(Value::Text(
            self.countries[self.country_zipf.sample(&mut r)].clone(),
        )));
        let gender = match r.below(100) {
            0..48 => Some("female"),
            48..96 => Some("male"),
            96..98 => Some("other"),
            _ => None,
        };
        v.push(gender.map(|g| Value::Text(g.into())));
        let device = match r.below(100) {
            0..55 => "android",
            55..85 => "ios",
            85..97 => "web",
            _ => "other",
        };
        v.push(Some(Value::Text(device.into())));
        let plan = match r.below(100) {
            0..80 => "free",
            80..95 => "basic",
            _ => "pro",
        };
        v.push(Some(Value::Text(plan.into())));
        let interests = if r.chance(0.15) {
            None
        } else {
            let n = r.below(5);
            Some(Value::text_set((0..n).map(|_| {
                self.interests[self.interest_zipf.sample(&mut r)].as_str()
            })))
        };
        v.push(interests);
        v.push(Some(Value::Int(18 + r.below(53) as i64)));
        let u = r.unit();
        v.push(Some(Value::Int((u * u * 200.0) as i64)));
        // Lifetime value in cents: most users small, a long tail.
        let ltv = if r.chance(0.4) {
            None
        } else {
            let u = r.unit();
            Some(Value::Int((u * u * u * 500_000.0) as i64))
        };
        v.push(ltv);
        let churn = (!r.chance(0.1)).then(|| Value::Int(f64_to_ordered(r.unit())));
        v.push(churn);
        let registered = self.date_base + r.below(REGISTER_SPAN_DAYS) as i64;
        v.push(Some(Value::Int(registered)));
        let span = (self.date_base + REGISTER_SPAN_DAYS as i64 + 30 - registered) as u64;
        v.push(Some(Value::Int(registered + r.below(span) as i64)));
        v
    }

    /// Row `i`: key and values.
    pub fn row(&self, i: u64) -> Row {
        (self.key(i), self.values(i))
    }

    /// Rows `range`, in order.
    pub fn rows(&self, range: std::ops::Range<u64>) -> impl Iterator<Item = Row> + '_ {
        range.map(move |i| self.row(i))
    }

    /// `CREATE TABLE` for the generated table.
    pub fn sql_create_table(&self) -> String {
        let cols: Vec<String> = COLUMNS
            .iter()
            .map(|c| format!("{} {}", c.name, c.sql))
            .collect();
        format!(
            "CREATE TABLE {TABLE} ({KEY_COLUMN} TEXT PRIMARY KEY, {})",
            cols.join(", ")
        )
    }

    /// Row `i` as an SQL `VALUES` tuple, e.g. `('u…', true, …)`.
    pub fn sql_tuple(&self, i: u64) -> String {
        let (key, values) = self.row(i);
        let mut out = format!("('{key}'");
        for (spec, v) in COLUMNS.iter().zip(&values) {
            out.push_str(", ");
            out.push_str(&sql_literal(spec.ty, v.as_ref()));
        }
        out.push(')');
        out
    }
}

/// Fraction of rows without a city.
const CITY_NULL: f64 = 0.05;

/// An SQL literal for a stored value of type `ty`.
pub fn sql_literal(ty: ColumnType, v: Option<&Value>) -> String {
    match (ty, v) {
        (_, None) => "NULL".into(),
        (_, Some(Value::Bool(b))) => b.to_string(),
        (_, Some(Value::Text(s))) => format!("'{}'", s.replace('\'', "''")),
        (_, Some(Value::TextSet(set))) => {
            let items: Vec<String> = set
                .iter()
                .map(|s| format!("'{}'", s.replace('\'', "''")))
                .collect();
            format!("ARRAY[{}]::TEXT[]", items.join(", "))
        }
        (ColumnType::Numeric { scale, .. }, Some(Value::Int(x))) => format_numeric(*x, scale),
        (ColumnType::Double, Some(Value::Int(x))) => format_f64(ordered_to_f64(*x)),
        (ColumnType::Date, Some(Value::Int(x))) => format!("DATE '{}'", format_date(*x)),
        (_, Some(Value::Int(x))) => x.to_string(),
    }
}

/// Creates the generated table in `store`; returns its id and the column ids
/// in [`COLUMNS`] order.
pub fn create_table(store: &Store) -> (TableId, Vec<ColumnId>) {
    let table = store
        .create_table(TABLE, KEY_COLUMN, KeyType::Text)
        .expect("create the audience table");
    let cols = COLUMNS
        .iter()
        .map(|c| {
            store
                .add_column(table, c.name, c.ty)
                .expect("add an audience column")
        })
        .collect();
    (table, cols)
}

/// Per-iteration times (ns) recorded by the bench routines, by benchmark name.
static SAMPLES: std::sync::Mutex<std::collections::BTreeMap<String, Vec<f64>>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Records `total` over `iters` iterations under `name`; returns `total`.
pub fn record(name: &str, iters: u64, total: std::time::Duration) -> std::time::Duration {
    let per = total.as_nanos() as f64 / iters.max(1) as f64;
    SAMPLES
        .lock()
        .expect("samples lock")
        .entry(name.to_owned())
        .or_default()
        .push(per);
    total
}

/// Median recorded ns per iteration of `name` (NaN if it did not run, e.g.
/// filtered out).
pub fn median_ns(name: &str) -> f64 {
    let samples = SAMPLES.lock().expect("samples lock");
    let Some(v) = samples.get(name) else {
        return f64::NAN;
    };
    let mut v = v.clone();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}
