//! The demo audience: a realistic, seeded `users` table for the README, the
//! CLI (`audb demo`, `audb serve --demo`), tests and the macro benchmark.
//!
//! Every row is a pure function of `(seed, row index)`: the same seed gives
//! the same data, on any machine, whatever the number of rows (row `i` does
//! not depend on how many rows are generated), and any slice can be
//! regenerated on its own. No `rand` dependency: one [`SplitMix64`] stream per
//! row is enough for demo data.
//!
//! # Schema
//!
//! `users (user_id TEXT PRIMARY KEY, …)`, keys `u0000001`, `u0000002`, …:
//!
//! | column | type | distribution |
//! | --- | --- | --- |
//! | `gender` | TEXT | `female` 49 %, `male` 48.5 %, `unknown` 2.5 % |
//! | `age` | INT | 16–80, peak at 25–34; 2 % NULL |
//! | `city` | TEXT | 300 cities, Zipf (exponent 1): 40 real ones (`Shanghai`, `Beijing`, …) then generated names; 3 % NULL |
//! | `province` | TEXT | the city's province (NULL with the city) |
//! | `device_os` | TEXT | `android`, `ios` (more in big cities), `harmonyos`, `other` |
//! | `interests` | TEXT[] | 0–5 of 40 interests (Zipf 0.6); 5 % NULL |
//! | `vip` | BOOLEAN | ~8 %, more among iOS users and in the four biggest cities |
//! | `churned` | BOOLEAN | ~15 % of scored users; NULL (not scored) for 5 % and for users registered in the last 30 days |
//! | `ltv` | NUMERIC(12,2) | lifetime value in CNY: 10 % zero, else log-normal (median ≈ 150, VIPs ×4) |
//! | `churn_prob` | DOUBLE PRECISION | 0–1, high for churned users; NULL where `churned` is |
//! | `register_date` | DATE | 2018-01-01 … 2025-12-31, growing over time |
//! | `last_active` | TIMESTAMPTZ | after registration, before 2026-01-01 ([`NOW_MICROS`]); churned users ≥ 60 days ago |
//! | `f_001` … `f_200` | BOOLEAN | sparse tag flags, see below |
//!
//! # Flags: NULL versus false
//!
//! Flag `f_k` is `true` for a fraction [`flag_true_density`] of the rows,
//! falling geometrically from 50 % (`f_001`) to 0.001 % (`f_200`). A tagging
//! job evaluates only some users for each flag: the evaluated users who do not
//! have the tag are `false`, the others are NULL. The evaluated share
//! ([`flag_known_share`]) falls from 95 % to 30 %. So `WHERE f_150` is a tiny
//! audience, `WHERE NOT f_150` the users known not to have it, and
//! `WHERE f_150 IS NULL` the users never evaluated, as with real tag data.
//! (Flags that are only ever set to `true` would make every `NOT f_k` empty.)

mod build;
mod csv;
mod random;

pub use build::{BuildSummary, DemoError, STATEMENTS, build};
pub use csv::{BENCH_COLUMNS, CsvError, select_columns, write_csv};
pub use random::{SplitMix64, Zipf, mix64};

use crate::index::encode::{days_from_civil, f64_to_ordered};
use crate::index::{ColumnType, Key, Value};

/// Name of the demo table.
pub const TABLE: &str = "users";
/// Name of its key column.
pub const KEY_COLUMN: &str = "user_id";
/// Users `audb demo` generates unless told otherwise.
pub const DEFAULT_USERS: u64 = 1_000_000;
/// The seed `audb demo` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 42;
/// Number of sparse flag columns `f_001` … `f_200`.
pub const FLAGS: usize = 200;
/// Distinct cities.
pub const CITIES: usize = 300;
/// "Now" of the demo data: 2026-01-01 00:00:00 UTC, in microseconds. Fixed,
/// so the data does not depend on the day it is generated.
pub const NOW_MICROS: i64 = 1_767_225_600 * 1_000_000;

/// The 40 biggest cities (in demo order, rank 0 most frequent) and their provinces.
const REAL_CITIES: [(&str, &str); 40] = [
    ("Shanghai", "Shanghai"),
    ("Beijing", "Beijing"),
    ("Guangzhou", "Guangdong"),
    ("Shenzhen", "Guangdong"),
    ("Chengdu", "Sichuan"),
    ("Chongqing", "Chongqing"),
    ("Hangzhou", "Zhejiang"),
    ("Wuhan", "Hubei"),
    ("Xian", "Shaanxi"),
    ("Suzhou", "Jiangsu"),
    ("Nanjing", "Jiangsu"),
    ("Tianjin", "Tianjin"),
    ("Changsha", "Hunan"),
    ("Zhengzhou", "Henan"),
    ("Dongguan", "Guangdong"),
    ("Qingdao", "Shandong"),
    ("Shenyang", "Liaoning"),
    ("Ningbo", "Zhejiang"),
    ("Kunming", "Yunnan"),
    ("Hefei", "Anhui"),
    ("Foshan", "Guangdong"),
    ("Fuzhou", "Fujian"),
    ("Xiamen", "Fujian"),
    ("Jinan", "Shandong"),
    ("Harbin", "Heilongjiang"),
    ("Dalian", "Liaoning"),
    ("Wuxi", "Jiangsu"),
    ("Changchun", "Jilin"),
    ("Nanning", "Guangxi"),
    ("Shijiazhuang", "Hebei"),
    ("Guiyang", "Guizhou"),
    ("Nanchang", "Jiangxi"),
    ("Taiyuan", "Shanxi"),
    ("Wenzhou", "Zhejiang"),
    ("Quanzhou", "Fujian"),
    ("Lanzhou", "Gansu"),
    ("Urumqi", "Xinjiang"),
    ("Hohhot", "Inner Mongolia"),
    ("Haikou", "Hainan"),
    ("Yinchuan", "Ningxia"),
];

/// Provinces that get the generated (smaller) cities: all but the four
/// municipalities.
const PROVINCES: [&str; 27] = [
    "Hebei",
    "Shanxi",
    "Inner Mongolia",
    "Liaoning",
    "Jilin",
    "Heilongjiang",
    "Jiangsu",
    "Zhejiang",
    "Anhui",
    "Fujian",
    "Jiangxi",
    "Shandong",
    "Henan",
    "Hubei",
    "Hunan",
    "Guangdong",
    "Guangxi",
    "Hainan",
    "Sichuan",
    "Guizhou",
    "Yunnan",
    "Tibet",
    "Shaanxi",
    "Gansu",
    "Qinghai",
    "Ningxia",
    "Xinjiang",
];

/// Syllables the generated city names are made of.
const SYLLABLES_HEAD: [&str; 20] = [
    "An", "Bai", "Chang", "Da", "Feng", "Gu", "He", "Jin", "Kai", "Lin", "Long", "Ming", "Ning",
    "Ping", "Qing", "Shan", "Tai", "Xin", "Yong", "Zhao",
];
const SYLLABLES_TAIL: [&str; 20] = [
    "an", "bei", "cheng", "de", "du", "feng", "gang", "he", "hu", "jiang", "kou", "ling", "nan",
    "ping", "shan", "tan", "xi", "yang", "yuan", "zhou",
];

/// The 40 interests (rank 0 most frequent).
const INTERESTS: [&str; 40] = [
    "short_video",
    "food",
    "travel",
    "music",
    "movies",
    "gaming",
    "fashion",
    "fitness",
    "e_commerce",
    "beauty",
    "tech",
    "sports",
    "reading",
    "parenting",
    "finance",
    "cars",
    "photography",
    "pets",
    "anime",
    "basketball",
    "football",
    "outdoors",
    "cooking",
    "education",
    "health",
    "home_decor",
    "skincare",
    "coffee",
    "tea",
    "esports",
    "live_streaming",
    "investing",
    "real_estate",
    "camping",
    "cycling",
    "luxury",
    "wine",
    "kpop",
    "travel_abroad",
    "crafts",
];

/// Age bands (first age, last age, weight in ‰).
const AGE_BANDS: [(u64, u64, u64); 11] = [
    (16, 19, 70),
    (20, 24, 140),
    (25, 29, 170),
    (30, 34, 160),
    (35, 39, 130),
    (40, 44, 100),
    (45, 49, 80),
    (50, 54, 60),
    (55, 59, 40),
    (60, 64, 25),
    (65, 80, 25),
];

/// Fraction of rows where flag `k` (1-based, `1..=FLAGS`) is `true`:
/// geometric from 0.5 (`f_001`) to 0.00001 (`f_200`).
pub fn flag_true_density(k: usize) -> f64 {
    let t = (k.clamp(1, FLAGS) - 1) as f64 / (FLAGS - 1) as f64;
    0.5 * (0.00002f64).powf(t)
}

/// Fraction of rows where flag `k` is not NULL (evaluated by the tagging
/// job): from 0.95 (`f_001`) down to 0.30 (`f_200`).
pub fn flag_known_share(k: usize) -> f64 {
    let t = (k.clamp(1, FLAGS) - 1) as f64 / (FLAGS - 1) as f64;
    0.95 - 0.65 * t
}

/// Name of flag `k` (1-based): `f_001` … `f_200`.
pub fn flag_name(k: usize) -> String {
    format!("f_{k:03}")
}

/// One column of the demo table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoColumn {
    /// Column name.
    pub name: String,
    /// Storage type.
    pub ty: ColumnType,
}

/// The tag columns of `users`, in the order [`Audience::values`] returns them.
pub fn columns() -> Vec<DemoColumn> {
    let numeric = ColumnType::Numeric {
        precision: 12,
        scale: 2,
    };
    let fixed = [
        ("gender", ColumnType::Text),
        ("age", ColumnType::Int),
        ("city", ColumnType::Text),
        ("province", ColumnType::Text),
        ("device_os", ColumnType::Text),
        ("interests", ColumnType::TextArray),
        ("vip", ColumnType::Boolean),
        ("churned", ColumnType::Boolean),
        ("ltv", numeric),
        ("churn_prob", ColumnType::Double),
        ("register_date", ColumnType::Date),
        ("last_active", ColumnType::TimestampTz),
    ];
    let mut out: Vec<DemoColumn> = fixed
        .into_iter()
        .map(|(name, ty)| DemoColumn {
            name: name.into(),
            ty,
        })
        .collect();
    out.extend((1..=FLAGS).map(|k| DemoColumn {
        name: flag_name(k),
        ty: ColumnType::Boolean,
    }));
    out
}

/// One generated row: key and one value per entry of [`columns`].
pub type Row = (Key, Vec<Option<Value>>);

/// The demo audience generator for one seed.
#[derive(Clone, Debug)]
pub struct Audience {
    seed: u64,
    /// City names with their province, rank 0 most frequent.
    cities: Vec<(String, &'static str)>,
    city_zipf: Zipf,
    interest_zipf: Zipf,
    /// Per flag: `true` below the first threshold, `false` below the second,
    /// NULL above (thresholds on a uniform `u64`).
    flag_thresholds: Vec<(u64, u64)>,
    first_day: i64,
    day_span: u64,
}

impl Audience {
    /// A generator for `seed`. Cost: builds the city list and the Zipf tables
    /// (microseconds).
    pub fn new(seed: u64) -> Audience {
        let mut cities: Vec<(String, &'static str)> = REAL_CITIES
            .iter()
            .map(|(c, p)| ((*c).to_owned(), *p))
            .collect();
        // Generated names: every head × tail pair, in a fixed scrambled order
        // (independent of the seed, so city names are stable).
        let mut generated: Vec<(u64, String)> = SYLLABLES_HEAD
            .iter()
            .flat_map(|h| SYLLABLES_TAIL.iter().map(move |t| format!("{h}{t}")))
            .filter(|n| !REAL_CITIES.iter().any(|(c, _)| c == n))
            .enumerate()
            .map(|(i, n)| (mix64(i as u64 + 1), n))
            .collect();
        generated.sort_unstable();
        for (h, name) in generated.into_iter().take(CITIES - REAL_CITIES.len()) {
            cities.push((name, PROVINCES[(h % PROVINCES.len() as u64) as usize]));
        }
        let scale = |p: f64| (p * u64::MAX as f64) as u64;
        let flag_thresholds = (1..=FLAGS)
            .map(|k| {
                let t = flag_true_density(k);
                let known = flag_known_share(k).max(t);
                (scale(t), scale(known))
            })
            .collect();
        let first_day = days_from_civil(2018, 1, 1);
        let day_span = (days_from_civil(2026, 1, 1) - first_day) as u64;
        Audience {
            seed,
            cities,
            city_zipf: Zipf::new(CITIES, 1.0),
            interest_zipf: Zipf::new(INTERESTS.len(), 0.6),
            flag_thresholds,
            first_day,
            day_span,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The city of rank `rank` (0 = most frequent) and its province.
    pub fn city(&self, rank: usize) -> Option<(&str, &str)> {
        self.cities.get(rank).map(|(c, p)| (c.as_str(), *p))
    }

    /// The key of row `i` (0-based): `u0000001` for row 0.
    pub fn key(&self, i: u64) -> Key {
        Key::Text(format!("u{:07}", i + 1))
    }

    /// The tag values of row `i`, in [`columns`] order.
    pub fn values(&self, i: u64) -> Vec<Option<Value>> {
        let mut r = SplitMix64::new(mix64(self.seed ^ mix64(i.wrapping_add(0x5eed))));
        let mut v: Vec<Option<Value>> = Vec::with_capacity(12 + FLAGS);
        let text = |s: &str| Some(Value::Text(s.to_owned()));

        let gender = match r.below(1000) {
            0..25 => "unknown",
            25..515 => "female",
            _ => "male",
        };
        v.push(text(gender));
        v.push((!r.chance(0.02)).then(|| Value::Int(self.age(&mut r))));

        let city_rank = (!r.chance(0.03)).then(|| self.city_zipf.sample(&mut r));
        let big_city = city_rank.is_some_and(|c| c < 4);
        match city_rank.and_then(|c| self.cities.get(c)) {
            Some((city, province)) => {
                v.push(text(city));
                v.push(text(province));
            }
            None => {
                v.push(None);
                v.push(None);
            }
        }
        let p_ios = if big_city { 0.42 } else { 0.28 };
        let u = r.unit();
        let os = if u < p_ios {
            "ios"
        } else if u < p_ios + 0.13 {
            "harmonyos"
        } else if u < p_ios + 0.15 {
            "other"
        } else {
            "android"
        };
        v.push(text(os));
        v.push(self.interests(&mut r));

        let vip = r.chance(
            0.055 + if os == "ios" { 0.04 } else { 0.0 } + if big_city { 0.03 } else { 0.0 },
        );
        v.push(Some(Value::Bool(vip)));

        let day = self.first_day + (self.day_span as f64 * r.unit().sqrt()) as i64;
        let day = day.min(self.first_day + self.day_span as i64 - 1);
        let now_day = NOW_MICROS / 86_400_000_000;
        let churned = if now_day - day <= 30 || r.chance(0.05) {
            None
        } else {
            Some(r.chance(if vip { 0.06 } else { 0.165 }))
        };
        v.push(churned.map(Value::Bool));

        let ltv_yuan = if r.chance(0.10) {
            0.0
        } else {
            let boost = if vip { 4.0 } else { 1.0 };
            (5.0 + 1.3 * r.normal()).exp() * boost
        };
        let ltv_cents = (ltv_yuan * 100.0).round().clamp(0.0, 9_999_999_999.0) as i64;
        v.push(Some(Value::Int(ltv_cents)));

        let churn_prob = churned.map(|c| {
            let u = r.unit();
            let p = if c {
                0.5 + 0.5 * u.sqrt()
            } else {
                0.55 * u * u
            };
            // Four decimals, like a model score.
            (p * 10_000.0).round() / 10_000.0
        });
        v.push(churn_prob.map(|p| Value::Int(f64_to_ordered(p))));
        v.push(Some(Value::Int(day)));

        let registered_micros = day * 86_400_000_000;
        let last = if churned == Some(true) {
            let end = (NOW_MICROS - 60 * 86_400_000_000).max(registered_micros);
            registered_micros + (r.unit() * (end - registered_micros) as f64) as i64
        } else {
            // Mostly within the last days: exponential, mean 5 days.
            let ago = (-(1.0 - r.unit()).ln() * 5.0 * 86_400.0) as i64 * 1_000_000;
            (NOW_MICROS - 1_000_000 - ago).max(registered_micros)
        };
        // Whole seconds, like most event pipelines.
        v.push(Some(Value::Int(last - last.rem_euclid(1_000_000))));

        for &(t, known) in &self.flag_thresholds {
            let x = r.next_u64();
            v.push(if x < t {
                Some(Value::Bool(true))
            } else if x < known {
                Some(Value::Bool(false))
            } else {
                None
            });
        }
        v
    }

    fn age(&self, r: &mut SplitMix64) -> i64 {
        let mut w = r.below(1000);
        for (lo, hi, weight) in AGE_BANDS {
            if w < weight {
                return (lo + r.below(hi - lo + 1)) as i64;
            }
            w -= weight;
        }
        30
    }

    fn interests(&self, r: &mut SplitMix64) -> Option<Value> {
        if r.chance(0.05) {
            return None;
        }
        let n = match r.below(100) {
            0..8 => 0,
            8..30 => 1,
            30..55 => 2,
            55..75 => 3,
            75..90 => 4,
            _ => 5,
        };
        let mut picked: Vec<&str> = Vec::with_capacity(n);
        // Draw until n distinct interests (bounded: the tail is never empty).
        for _ in 0..n * 8 {
            if picked.len() == n {
                break;
            }
            let s = INTERESTS[self.interest_zipf.sample(r)];
            if !picked.contains(&s) {
                picked.push(s);
            }
        }
        Some(Value::text_set(picked))
    }

    /// Row `i`: key and values.
    pub fn row(&self, i: u64) -> Row {
        (self.key(i), self.values(i))
    }

    /// Rows `range`, in order.
    pub fn rows(&self, range: std::ops::Range<u64>) -> impl Iterator<Item = Row> + '_ {
        range.map(move |i| self.row(i))
    }

    /// `CREATE TABLE` for the demo table (for other databases in the macro
    /// benchmark; `audb demo` creates it through the storage API).
    pub fn sql_create_table(&self) -> String {
        let cols: Vec<String> = columns()
            .iter()
            .map(|c| format!("{} {}", c.name, c.ty.to_string().to_uppercase()))
            .collect();
        format!(
            "CREATE TABLE {TABLE} ({KEY_COLUMN} TEXT PRIMARY KEY, {})",
            cols.join(", ")
        )
    }
}
