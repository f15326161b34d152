//! Storage benchmarks: bulk load, group-committed single-row writes, open
//! time and memory, bitmap fetch from mapped segments, key lookup.
//!
//! Results and the reasoning behind each number are in
//! `docs/benchmarks-storage.md`. The machine is small and noisy, so every
//! figure that matters is reported as a ratio of two measurements taken in the
//! same run, next to its absolute value.
//!
//! ```text
//! cargo bench --bench storage                          # ~3 min: 1M rows
//! AUDB_BENCH_ROWS=10000000 cargo bench --bench storage # adds the 10M load/open
//! cargo bench --bench storage -- fetch                 # criterion filter (macro part still runs)
//! AUDB_BENCH_MACRO=0 cargo bench --bench storage       # criterion part only
//! ```
//!
//! Under `cargo test --benches` (no `--bench` flag) everything runs once on
//! 10,000 rows, as a smoke test.
//!
//! Two parts:
//! - criterion benchmarks (bulk load of 1M rows, bitmap fetch and set
//!   operations, key lookup); each routine also records its own per-iteration
//!   times so the summary can print ratios;
//! - "macro" measurements that do not fit criterion's model: writers running
//!   for a fixed time, the load of `AUDB_BENCH_ROWS` rows (default 1M), and
//!   `Store::open` in a fresh process (this binary re-executed with
//!   `AUDB_BENCH_CHILD_OPEN=<dir>`), measuring time and resident memory.

mod common;

use audb::index::{Key, RowId};
use audb::storage::{ColumnId, ColumnRead, Options, Store, TableSnapshot, WriteBatch, WriteOp};
use common::{Audience, DEFAULT_SEED, TABLE, column_index, median_ns, record};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::path::Path;

use std::time::{Duration, Instant};

/// The allocator the `audb` binary uses (`src/main.rs`), so allocation-heavy
/// paths (bulk load) cost what they cost in the server.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Set in the re-executed child: the data directory to open.
const CHILD_ENV: &str = "AUDB_BENCH_CHILD_OPEN";
/// Rows of the macro load and of the database opened in a fresh process.
const ROWS_ENV: &str = "AUDB_BENCH_ROWS";
/// `0` skips the macro part.
const MACRO_ENV: &str = "AUDB_BENCH_MACRO";
/// Seconds each writer configuration runs.
const WRITE_SECS_ENV: &str = "AUDB_BENCH_WRITE_SECS";

/// Options for benchmark stores: no background thread unless asked, so only
/// the measured work runs.
fn options(cache_bytes: usize, background: bool) -> Options {
    Options {
        bitmap_cache_bytes: cache_bytes,
        background,
        ..Options::default()
    }
}

/// Total size of the files directly in `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("list data directory")
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// A flushed table of `rows` generated rows.
struct Fixture {
    dir: tempfile::TempDir,
    rows: u64,
    cols: Vec<ColumnId>,
    /// Existing keys to look up, in random order.
    probes: Vec<Key>,
    load_secs: f64,
    file_bytes: u64,
}

impl Fixture {
    fn build(aud: &Audience, rows: u64) -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::open(dir.path(), options(1 << 30, false)).expect("open store");
        let (table, cols) = common::create_table(&store);
        let start = Instant::now();
        let summary = store
            .bulk_load(table, &cols, aud.rows(0..rows).map(Ok), &mut |_| {})
            .expect("bulk load fixture");
        let load_secs = start.elapsed().as_secs_f64();
        assert_eq!(summary.inserted, rows);
        drop(store);
        let mut rng = common::SplitMix64::new(7);
        let probes = (0..4096).map(|_| aud.key(rng.below(rows))).collect();
        let file_bytes = dir_bytes(dir.path());
        Fixture {
            dir,
            rows,
            cols,
            probes,
            load_secs,
            file_bytes,
        }
    }

    fn col(&self, name: &str) -> ColumnId {
        self.cols[column_index(name).expect("known column")]
    }

    /// Opens the fixture with a bitmap cache of `cache_bytes` (0: every fetch
    /// deserializes).
    fn open(&self, cache_bytes: usize) -> (Store, TableSnapshot) {
        let store = Store::open(self.dir.path(), options(cache_bytes, false)).expect("open");
        let table = store.snapshot().table(TABLE).expect("audience table");
        (store, table)
    }
}

fn short_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    samples: usize,
) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(samples)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500));
    g
}

// ---------------------------------------------------------------- 1. bulk load

fn bench_bulk_load(c: &mut Criterion, aud: &Audience, rows: u64) {
    let mut g = c.benchmark_group("bulk_load");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(rows));
    let name = format!("bulk_load/{rows}x20");
    g.bench_function(format!("{rows}x20"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("temporary directory");
                let store = Store::open(dir.path(), options(1 << 30, false)).expect("open");
                let (table, cols) = common::create_table(&store);
                // Generated up front: the figure is the load, not the generator.
                let input: Vec<_> = aud.rows(0..rows).map(Ok).collect();
                let start = Instant::now();
                let summary = store
                    .bulk_load(table, &cols, input, &mut |_| {})
                    .expect("bulk load");
                total += start.elapsed();
                black_box(summary);
            }
            record(&name, iters, total)
        });
    });
    g.finish();
}

// ---------------------------------------------------------- 4. bitmap fetches

fn bench_fetch(c: &mut Criterion, fx: &Fixture) {
    let paying = fx.col("f_paying"); // 10 % dense
    let active = fx.col("f_active"); // 50 % dense
    let (cold_store, cold) = fx.open(0);
    let owned = cold
        .bitmap_all(paying, ColumnRead::True)
        .expect("paying bitmap");
    let mut blob = Vec::new();
    owned.serialize_into(&mut blob).expect("serialize");
    let mut g = short_group(c, "fetch", 30);
    g.bench_function("cold_snapshot_bitmap", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(cold.bitmap(paying, ColumnRead::True, 0).expect("fetch"));
            }
            record("fetch/cold", iters, start.elapsed())
        });
    });
    g.bench_function("roaring_deserialize_only", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let bm = RoaringBitmap::deserialize_from(&blob[..]).expect("deserialize");
                black_box(bm);
            }
            record("fetch/deserialize", iters, start.elapsed())
        });
    });
    g.bench_function("crc32_only", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(crc32fast::hash(black_box(&blob)));
            }
            record("fetch/crc", iters, start.elapsed())
        });
    });
    drop(cold);
    drop(cold_store);
    let (warm_store, warm) = fx.open(1 << 30);
    warm.bitmap(paying, ColumnRead::True, 0).expect("prime");
    g.bench_function("warm_snapshot_bitmap", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(warm.bitmap(paying, ColumnRead::True, 0).expect("fetch"));
            }
            record("fetch/warm", iters, start.elapsed())
        });
    });
    g.bench_function("owned_clone", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(owned.clone());
            }
            record("fetch/clone", iters, start.elapsed())
        });
    });
    g.finish();

    // Set operations: the same two bitmaps, owned vs fetched through the
    // (warm) snapshot for every operation.
    let a_owned = owned;
    let b_owned = warm.bitmap_all(active, ColumnRead::True).expect("active");
    warm.bitmap(active, ColumnRead::True, 0).expect("prime");
    let fetch = |col| warm.bitmap(col, ColumnRead::True, 0).expect("fetch");
    let mut g = short_group(c, "ops", 20);
    type Op = fn(&RoaringBitmap, &RoaringBitmap) -> u64;
    let ops: [(&str, Op); 4] = [
        ("and", |a, b| (a & b).len()),
        ("or", |a, b| (a | b).len()),
        ("andnot", |a, b| (a - b).len()),
        ("intersection_len", |a, b| a.intersection_len(b)),
    ];
    for (op_name, op) in ops {
        let owned_name = format!("ops/{op_name}/owned");
        g.bench_function(format!("{op_name}/owned"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(op(black_box(&a_owned), black_box(&b_owned)));
                }
                record(&owned_name, iters, start.elapsed())
            });
        });
        let snap_name = format!("ops/{op_name}/snapshot");
        g.bench_function(format!("{op_name}/snapshot"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let (x, y) = (fetch(paying), fetch(active));
                    black_box(op(&x, &y));
                }
                record(&snap_name, iters, start.elapsed())
            });
        });
    }
    g.finish();
    drop(warm);
    drop(warm_store);
    // intersection_len straight from the file: both bitmaps deserialized.
    let (cold_store, cold) = fx.open(0);
    let mut g = short_group(c, "ops", 20);
    g.bench_function("intersection_len/snapshot_cold", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let x = cold.bitmap(paying, ColumnRead::True, 0).expect("fetch");
                let y = cold.bitmap(active, ColumnRead::True, 0).expect("fetch");
                black_box(x.intersection_len(&y));
            }
            record("ops/intersection_len/snapshot_cold", iters, start.elapsed())
        });
    });
    g.finish();
    drop(cold);
    drop(cold_store);
}

// ------------------------------------------------------------- 5. key lookup

fn bench_row_of(c: &mut Criterion, aud: &Audience, fx: &Fixture) {
    let (store, table) = fx.open(1 << 30);
    let map: HashMap<String, RowId> = (0..fx.rows)
        .map(|i| match aud.key(i) {
            Key::Text(s) => (s, i as RowId),
            Key::Int(_) => unreachable!("the generator makes TEXT keys"),
        })
        .collect();
    let probe_strs: Vec<&str> = fx
        .probes
        .iter()
        .map(|k| match k {
            Key::Text(s) => s.as_str(),
            Key::Int(_) => unreachable!("the generator makes TEXT keys"),
        })
        .collect();
    let missing = Key::Text("no-such-user".into());
    let mut g = short_group(c, "row_of", 30);
    g.bench_function("segment_hit", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                let k = &fx.probes[i as usize % fx.probes.len()];
                black_box(table.row_of(k).expect("lookup"));
            }
            record("row_of/segment", iters, start.elapsed())
        });
    });
    g.bench_function("segment_miss", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(table.row_of(black_box(&missing)).expect("lookup"));
            }
            record("row_of/segment_miss", iters, start.elapsed())
        });
    });
    g.bench_function("hashmap_hit", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                let k = probe_strs[i as usize % probe_strs.len()];
                black_box(map.get(k));
            }
            record("row_of/hashmap", iters, start.elapsed())
        });
    });
    g.finish();
    drop(table);
    drop(store);
}

// -------------------------------------------------- 2. group-committed writes

struct WriteRun {
    writers: usize,
    acked: u64,
    secs: f64,
    p50_us: u32,
    p99_us: u32,
}

/// `writers` threads each upsert one new row per `Store::write` until
/// `secs` have passed, on a fresh store with background flushes on.
fn run_writers(aud: &Audience, writers: usize, secs: f64) -> WriteRun {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(dir.path(), options(1 << 30, true)).expect("open");
    let (table, cols) = common::create_table(&store);
    let deadline = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let per_thread: Vec<(u64, Vec<u32>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|t| {
                let (store, cols) = (&store, &cols);
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut i = (t as u64) << 40;
                    while start.elapsed() < deadline {
                        let (key, values) = aud.row(i);
                        i += 1;
                        let batch = WriteBatch {
                            table,
                            ops: vec![WriteOp::Upsert {
                                key,
                                values: cols.iter().copied().zip(values).collect(),
                                mode: Default::default(),
                            }],
                        };
                        let t0 = Instant::now();
                        store.write(batch).expect("acknowledged write");
                        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    (lat.len() as u64, lat)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer thread"))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let acked = per_thread.iter().map(|(n, _)| n).sum();
    let mut lat: Vec<u32> = per_thread.into_iter().flat_map(|(_, l)| l).collect();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    let row_count = store
        .snapshot()
        .table(TABLE)
        .expect("table")
        .row_count()
        .expect("row count");
    assert_eq!(row_count, acked, "every acknowledged row is visible");
    WriteRun {
        writers,
        acked,
        secs,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
    }
}

/// Median latency of a 4 KiB append + `fdatasync` on the benchmark disk: the
/// floor of one writer's commit latency.
fn fsync_probe_us(samples: usize) -> f64 {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut f = std::fs::File::create(dir.path().join("probe")).expect("probe file");
    let buf = [0u8; 4096];
    let mut lat: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            f.write_all(&buf).expect("write");
            f.sync_data().expect("fdatasync");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    lat[lat.len() / 2]
}

// ------------------------------------------ 1b/3. macro load, open in a child

/// Loads `rows` rows with generation pipelined on a second thread (as a
/// parser feeding `COPY` would be); returns (seconds, file bytes, directory).
fn macro_load(aud: &Audience, rows: u64) -> (f64, u64, tempfile::TempDir) {
    const CHUNK: u64 = 16_384;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(dir.path(), options(1 << 30, false)).expect("open");
    let (table, cols) = common::create_table(&store);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<common::Row>>(8);
    let secs = std::thread::scope(|s| {
        s.spawn(move || {
            let mut lo = 0;
            while lo < rows {
                let hi = (lo + CHUNK).min(rows);
                if tx.send(aud.rows(lo..hi).collect()).is_err() {
                    return;
                }
                lo = hi;
            }
        });
        let start = Instant::now();
        let summary = store
            .bulk_load(table, &cols, rx.into_iter().flatten().map(Ok), &mut |_| {})
            .expect("bulk load");
        assert_eq!(summary.inserted, rows);
        start.elapsed().as_secs_f64()
    });
    drop(store);
    let bytes = dir_bytes(dir.path());
    (secs, bytes, dir)
}

/// Seconds to generate (and drop) `rows` rows on one thread.
fn generator_secs(aud: &Audience, rows: u64) -> f64 {
    let start = Instant::now();
    for r in aud.rows(0..rows) {
        black_box(r);
    }
    start.elapsed().as_secs_f64()
}

/// Fields of `/proc/self/status` in KiB.
fn proc_status_kb() -> BTreeMap<String, u64> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let kb = v.trim().strip_suffix(" kB")?.trim().parse().ok()?;
            Some((k.to_owned(), kb))
        })
        .collect()
}

/// The child: open `dir`, run a first query, print one line of figures.
fn child_open(dir: &str) {
    let before = proc_status_kb();
    let start = Instant::now();
    let store = Store::open(dir, Options::default()).expect("open in child");
    let open = start.elapsed();
    let after_open = proc_status_kb();
    let start = Instant::now();
    let table = store.snapshot().table(TABLE).expect("audience table");
    let schema = table.schema();
    let paying = schema.column("f_paying").expect("f_paying").id;
    let city = schema.column("city").expect("city").id;
    let mut count = 0;
    for shard in 0..table.shard_count() {
        let a = table.bitmap(paying, ColumnRead::True, shard).expect("read");
        let b = table
            .bitmap(city, ColumnRead::Value("city-000"), shard)
            .expect("read");
        count += a.intersection_len(&b);
    }
    let query = start.elapsed();
    let after_query = proc_status_kb();
    let f = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    println!(
        "AUDB_OPEN open_us={} query_us={} count={count} \
         rss_before_kb={} rss_open_kb={} rss_query_kb={} \
         anon_open_kb={} file_open_kb={} anon_query_kb={} file_query_kb={}",
        open.as_micros(),
        query.as_micros(),
        f(&before, "VmRSS"),
        f(&after_open, "VmRSS"),
        f(&after_query, "VmRSS"),
        f(&after_open, "RssAnon"),
        f(&after_open, "RssFile"),
        f(&after_query, "RssAnon"),
        f(&after_query, "RssFile"),
    );
}

/// Runs the child on `dir`; returns its figures by name.
fn open_in_child(dir: &Path) -> BTreeMap<String, u64> {
    let exe = std::env::current_exe().expect("own executable");
    let out = std::process::Command::new(exe)
        .env(CHILD_ENV, dir)
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("AUDB_OPEN "))
        .expect("child figures");
    line.split_whitespace()
        .skip(1)
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

// ------------------------------------------------------------------- summary

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn print_micro_summary(rows: u64) {
    println!("\n## criterion part (median ns/iter of the recorded samples)\n");
    println!("| measurement | time | ratio |");
    println!("|---|---|---|");
    let load = median_ns(&format!("bulk_load/{rows}x20"));
    println!(
        "| bulk_load {rows} rows × 20 cols | {} | {:.2} M rows/s (target ≥ 1.0) |",
        fmt_ns(load),
        rows as f64 / load * 1e3
    );
    let clone = median_ns("fetch/clone");
    for (name, label) in [
        (
            "fetch/cold",
            "cold fetch (crc + deserialize + checks) via TableSnapshot::bitmap",
        ),
        ("fetch/deserialize", "  roaring deserialize_from alone"),
        ("fetch/crc", "  crc32 of the blob alone"),
        (
            "fetch/warm",
            "warm (cached) fetch via TableSnapshot::bitmap",
        ),
        ("fetch/clone", "clone() of the owned bitmap"),
    ] {
        let t = median_ns(name);
        println!("| {label} | {} | {:.2}× clone |", fmt_ns(t), t / clone);
    }
    for op in ["and", "or", "andnot", "intersection_len"] {
        let owned = median_ns(&format!("ops/{op}/owned"));
        let snap = median_ns(&format!("ops/{op}/snapshot"));
        println!(
            "| {op}: owned / warm snapshot | {} / {} | {:.2}× |",
            fmt_ns(owned),
            fmt_ns(snap),
            snap / owned
        );
    }
    let owned = median_ns("ops/intersection_len/owned");
    let cold = median_ns("ops/intersection_len/snapshot_cold");
    println!(
        "| intersection_len: cold snapshot (2 deserializations) | {} | {:.2}× owned |",
        fmt_ns(cold),
        cold / owned
    );
    let map = median_ns("row_of/hashmap");
    for (name, label) in [
        ("row_of/segment", "row_of hit (mmapped key section)"),
        ("row_of/segment_miss", "row_of miss"),
        ("row_of/hashmap", "HashMap<String, u32>::get"),
    ] {
        let t = median_ns(name);
        println!("| {label} | {} | {:.2}× HashMap |", fmt_ns(t), t / map);
    }
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child_open(&dir);
        return;
    }
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let rows: u64 = if bench_mode { 1_000_000 } else { 10_000 };
    let aud = Audience::new(DEFAULT_SEED);

    eprintln!("building the {rows}-row fixture…");
    let fx = Fixture::build(&aud, rows);
    let mut c = Criterion::default().configure_from_args();
    bench_bulk_load(&mut c, &aud, rows);
    bench_fetch(&mut c, &fx);
    bench_row_of(&mut c, &aud, &fx);
    c.final_summary();
    print_micro_summary(rows);
    println!(
        "| fixture: {rows} rows on disk | {} ({:.1} B/row) | one-shot load {:.2} s |",
        mib(fx.file_bytes),
        fx.file_bytes as f64 / rows as f64,
        fx.load_secs
    );

    if std::env::var(MACRO_ENV).is_ok_and(|v| v == "0") {
        return;
    }
    let macro_rows: u64 = std::env::var(ROWS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(rows);
    let write_secs: f64 = std::env::var(WRITE_SECS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench_mode { 4.0 } else { 0.2 });

    println!("\n## macro part\n");
    println!("| measurement | value | ratio / target |");
    println!("|---|---|---|");
    let fsync = fsync_probe_us(if bench_mode { 200 } else { 5 });
    println!("| 4 KiB write + fdatasync (disk floor) | {fsync:.0} µs | |");
    let runs: Vec<WriteRun> = [1, 4, 32]
        .into_iter()
        .map(|w| run_writers(&aud, w, write_secs))
        .collect();
    let rate = |r: &WriteRun| r.acked as f64 / r.secs;
    for r in &runs {
        println!(
            "| {} writer(s), single-row upserts, {:.0} s | {:.0} acked rows/s (p50 {} µs, p99 {} µs) | {:.1}× 1 writer{} |",
            r.writers,
            r.secs,
            rate(r),
            r.p50_us,
            r.p99_us,
            rate(r) / rate(&runs[0]),
            if r.writers == 32 {
                "; target ≥ 50,000/s"
            } else {
                ""
            }
        );
    }

    let gen_secs = generator_secs(&aud, macro_rows.min(1_000_000));
    let gen_rate = macro_rows.min(1_000_000) as f64 / gen_secs;
    let fixture_dir;
    let (dir, load_line): (&Path, Option<(f64, u64)>) = if macro_rows == rows {
        (fx.dir.path(), None)
    } else {
        eprintln!("loading {macro_rows} rows…");
        let (secs, bytes, dir) = macro_load(&aud, macro_rows);
        fixture_dir = dir;
        (fixture_dir.path(), Some((secs, bytes)))
    };
    println!(
        "| generator alone (1 thread) | {:.2} M rows/s | |",
        gen_rate / 1e6
    );
    if let Some((secs, bytes)) = load_line {
        println!(
            "| bulk_load {macro_rows} × 20, generator pipelined | {secs:.2} s = {:.2} M rows/s | target ≥ 1.0 M rows/s |",
            macro_rows as f64 / secs / 1e6
        );
        println!(
            "| bytes on disk, {macro_rows} rows | {} ({:.1} B/row) | |",
            mib(bytes),
            bytes as f64 / macro_rows as f64
        );
    }
    let opens: Vec<BTreeMap<String, u64>> = (0..3).map(|_| open_in_child(dir)).collect();
    let mut open_us: Vec<u64> = opens.iter().map(|m| m["open_us"]).collect();
    open_us.sort_unstable();
    let last = &opens[opens.len() - 1];
    let kb = |k: &str| last.get(k).copied().unwrap_or(0);
    println!(
        "| Store::open of {macro_rows} rows, fresh process (3 runs, page cache warm) | {:.2} ms median (min {:.2}, max {:.2}) | target < 100 ms |",
        open_us[1] as f64 / 1e3,
        open_us[0] as f64 / 1e3,
        open_us[2] as f64 / 1e3,
    );
    println!(
        "| VmRSS before open → after open → after first query | {} → {} → {} KiB (open adds {} KiB: anon {} KiB, file {} KiB) | target < 100 MB before first query |",
        kb("rss_before_kb"),
        kb("rss_open_kb"),
        kb("rss_query_kb"),
        kb("rss_open_kb").saturating_sub(kb("rss_before_kb")),
        kb("anon_open_kb"),
        kb("file_open_kb"),
    );
    println!(
        "| first query (f_paying AND city-000, count) | {:.2} ms, {} rows | |",
        kb("query_us") as f64 / 1e3,
        kb("count"),
    );
}
