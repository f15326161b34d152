//! Executor benchmarks (issue 3), each pair measured in the same run:
//!
//! - `stage/*`: one query stage over a 3-shard table whose per-shard work
//!   is tiny (a selective count), on scoped threads spawned per stage
//!   (`parallel::map_shards`, the old path) and on the persistent pool
//!   (`pool::map_shards_pooled`): the per-stage overhead the pool removes.
//! - `group/*`: splitting a filtered shard by a categorical column of many
//!   values with per-value bitmap intersections and with the forward pass,
//!   for growing filters: where the two cross (the cost model's constants in
//!   `src/exec/groups.rs`).
//!
//! ```text
//! cargo bench --bench exec -- stage        # pool vs spawn
//! cargo bench --bench exec -- group        # group-by crossover
//! ```

use audb::db::{Db, Session};
use audb::exec::filter::{Pred, ShardEval};
use audb::exec::groups::{Strategy, categorical_parts};
use audb::exec::parallel::{Cancel, map_shards};
use audb::exec::pool::map_shards_pooled;
use audb::index::{Key, Value};
use audb::storage::{Options, Store, TableSnapshot};
use criterion::Criterion;
use roaring::RoaringBitmap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A table `t (k, street TEXT, vip BOOLEAN)` of `rows` rows, `streets`
/// distinct streets, bulk loaded (one segment).
fn table(rows: u32, streets: u32) -> (tempfile::TempDir, TableSnapshot) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path(),
        Options {
            background: false,
            ..Options::default()
        },
    )
    .expect("open");
    let db = Db::with_store(store);
    let mut s = Session::new("bench");
    db.execute(
        &mut s,
        "CREATE TABLE t (k BIGINT PRIMARY KEY, street TEXT, vip BOOLEAN)",
    )
    .expect("create");
    let snap = db.store().snapshot();
    let schema = snap.table("t").expect("table").schema().clone();
    let cols: Vec<_> = schema.columns.iter().map(|c| c.id).collect();
    db.store()
        .bulk_load(
            schema.id,
            &cols,
            (0..rows).map(|i| {
                let street = i.wrapping_mul(2_654_435_761) % streets;
                Ok((
                    Key::Int(i64::from(i)),
                    vec![
                        Some(Value::Text(format!("s{street:06}"))),
                        Some(Value::Bool(i % 1000 == 0)),
                    ],
                ))
            }),
            &mut |_| {},
        )
        .expect("load");
    let snap = db.store().snapshot().table("t").expect("table");
    (dir, snap)
}

fn bench_stage(c: &mut Criterion) {
    let (_dir, snap) = table(3 << 20, 16);
    let vip = snap.schema().columns[1].id;
    let pred = Pred::Flag {
        col: vip,
        value: true,
    };
    let cancel = Cancel::none();
    let shards = snap.shard_count();
    assert_eq!(shards, 3);
    let mut g = c.benchmark_group("stage");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("spawn_per_stage", |b| {
        b.iter(|| {
            let n = map_shards(shards, &cancel, |s| {
                ShardEval::new(&snap, s)?.count_true(&pred)
            })
            .expect("count");
            black_box(n)
        })
    });
    g.bench_function("pool", |b| {
        b.iter(|| {
            let job = Arc::new((snap.clone(), pred.clone()));
            let n = map_shards_pooled(shards, &cancel, move |s| {
                ShardEval::new(&job.0, s)?.count_true(&job.1)
            })
            .expect("count");
            black_box(n)
        })
    });
    g.finish();
}

fn bench_group(c: &mut Criterion) {
    let streets = 20_000;
    let (_dir, snap) = table(1 << 20, streets);
    let street = snap.schema().columns[0].id;
    let mut g = c.benchmark_group("group");
    g.measurement_time(Duration::from_secs(2));
    g.warm_up_time(Duration::from_millis(500));
    g.sample_size(10);
    for filter in [100u32, 1_000, 10_000, 100_000] {
        let step = (1 << 20) / filter;
        let rows: RoaringBitmap = (0..filter).map(|i| i * step).collect();
        for (name, strategy) in [
            ("bitmaps", Strategy::Bitmaps),
            ("forward", Strategy::Forward),
        ] {
            g.bench_function(format!("{streets}_values/{filter}_rows/{name}"), |b| {
                b.iter(|| {
                    let parts =
                        categorical_parts(&snap, street, 0, &rows, strategy).expect("parts");
                    black_box(parts.len())
                })
            });
        }
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_stage(&mut c);
    bench_group(&mut c);
    c.final_summary();
}
