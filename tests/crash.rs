//! Crash test: a child process writes acknowledged batches while flushes and
//! compactions run, and is killed with SIGKILL at random moments, many times
//! over the same data directory. After each kill the directory must reopen,
//! hold every acknowledged batch, and show every batch either whole or not at
//! all.
//!
//! The child is this test binary re-run with `AUDB_CRASH_CHILD` set: it enters
//! [`crash_child_writer`], which does nothing in a normal run.

use audb::index::{ColumnType, Key, KeyType, Value};
use audb::storage::{MergePolicy, Options, Store, WriteBatch, WriteOp};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROWS_PER_BATCH: i64 = 7;
/// Batch `i` deletes the rows of batch `i - DELETE_LAG`.
const DELETE_LAG: i64 = 5;

fn options() -> Options {
    Options {
        memtable_ops_max: 300,
        merge_policy: MergePolicy {
            merge_factor: 3,
            segments_max: 6,
            tier_ratio: 4,
            min_bytes: 1 << 20,
        },
        ..Options::default()
    }
}

fn key(batch: i64, i: i64) -> Key {
    Key::Text(format!("b{batch:08}-{i}"))
}

fn open_or_init(dir: &str) -> (Store, u64, u32) {
    let store = Store::open(dir, options()).expect("open");
    let snap = store.snapshot();
    if let Some(t) = snap.table("events") {
        let col = t.schema().column("batch").expect("column").id;
        return (store, t.schema().id, col);
    }
    let table = store
        .create_table("events", "id", KeyType::Text)
        .expect("create");
    let col = store
        .add_column(table, "batch", ColumnType::BigInt)
        .expect("column");
    (store, table, col)
}

/// The batch after the last one committed: every batch also sets the
/// `progress` row to its number, in the same atomic write.
fn next_batch(store: &Store, table: u64, col: u32) -> i64 {
    let t = store.snapshot().table_by_id(table).expect("table");
    let progress = Key::Text("progress".into());
    match t.row_of(&progress).expect("lookup") {
        Some(row) => match t.row_value(col, row).expect("value") {
            Some(Value::Int(b)) => b + 1,
            other => panic!("progress row holds {other:?}"),
        },
        None => 0,
    }
}

#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var("AUDB_CRASH_CHILD") else {
        return; // only runs as the child of `acknowledged_writes_survive_kill_9`
    };
    let (store, table, col) = open_or_init(&dir);
    let mut batch = next_batch(&store, table, col);
    loop {
        let mut ops: Vec<WriteOp> = (0..ROWS_PER_BATCH)
            .map(|i| WriteOp::Upsert {
                key: key(batch, i),
                values: vec![(col, Some(Value::Int(batch)))],
                mode: Default::default(),
            })
            .collect();
        ops.push(WriteOp::Upsert {
            key: Key::Text("progress".into()),
            values: vec![(col, Some(Value::Int(batch)))],
            mode: Default::default(),
        });
        if batch >= DELETE_LAG {
            ops.extend((0..ROWS_PER_BATCH).map(|i| WriteOp::Delete {
                key: key(batch - DELETE_LAG, i),
            }));
        }
        store.write(WriteBatch { table, ops }).expect("write");
        println!("ack {batch}");
        batch += 1;
    }
}

/// Checks the invariants after a crash; returns the number of batches present.
fn verify(dir: &std::path::Path, acked: i64) -> i64 {
    let store = Store::open(
        dir,
        Options {
            background: false,
            ..options()
        },
    )
    .expect("reopen after kill");
    let Some(t) = store.snapshot().table("events") else {
        assert_eq!(acked, -1, "table lost although batches were acknowledged");
        return 0;
    };
    let col = t.schema().column("batch").expect("column").id;
    let end = next_batch(&store, t.schema().id, col);
    assert!(
        end > acked,
        "acknowledged batch {acked} missing (found up to {})",
        end - 1
    );
    for b in 0..end + DELETE_LAG + 2 {
        let deleted_by_later = b + DELETE_LAG < end;
        let present: Vec<bool> = (0..ROWS_PER_BATCH)
            .map(|i| t.row_of(&key(b, i)).expect("lookup").is_some())
            .collect();
        let want = b < end && !deleted_by_later;
        assert!(
            present.iter().all(|p| *p == want),
            "batch {b}: rows present {present:?}, expected all {want} (end {end})"
        );
        if want {
            let row = t.row_of(&key(b, 0)).expect("lookup").expect("row");
            assert_eq!(t.row_value(col, row).expect("value"), Some(Value::Int(b)));
        }
    }
    end
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut total = 0;
    for cycle in 0..12 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(150 + seed % 900);
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child_writer", "--nocapture"])
            .env("AUDB_CRASH_CHILD", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(n) = line
                    .strip_prefix("ack ")
                    .and_then(|n| n.parse::<i64>().ok())
                {
                    let _ = tx.send(n);
                }
            }
        });
        let start = Instant::now();
        let mut acked = -1;
        while start.elapsed() < run_for {
            if let Ok(n) = rx.recv_timeout(Duration::from_millis(10)) {
                acked = acked.max(n);
            }
        }
        child.kill().expect("kill -9");
        let _ = child.wait();
        let _ = reader.join();
        while let Ok(n) = rx.try_recv() {
            acked = acked.max(n);
        }
        let end = verify(dir.path(), acked);
        total = end;
        eprintln!(
            "cycle {cycle}: killed after {run_for:?}, acked up to {acked}, recovered {end} batches"
        );
    }
    assert!(total > 0, "the child never got to write");
}
