//! Bad input and damaged files: each gives a typed error with a clear message,
//! nothing acknowledged is lost, and the database stays usable.

mod support;

use audb::index::{ColumnType, Key, KeyType, Value};
use audb::storage::{
    Backend, ColumnRead, FaultyBackend, FsBackend, StorageError, Store, UpsertMode, WriteBatch,
    WriteOp, limits,
};
use std::sync::Arc;
use support::db::options;

fn upsert(table: u64, key: Key, values: Vec<(u32, Option<Value>)>) -> WriteBatch {
    WriteBatch {
        table,
        ops: vec![WriteOp::Upsert {
            key,
            values,
            mode: UpsertMode::Upsert,
        }],
    }
}

struct Db {
    dir: tempfile::TempDir,
    store: Store,
    table: u64,
    vip: u32,
    city: u32,
    age: u32,
}

fn db() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), options()).expect("open");
    let table = store
        .create_table("users", "user_id", KeyType::Text)
        .expect("table");
    let vip = store
        .add_column(table, "vip", ColumnType::Boolean)
        .expect("vip");
    let city = store
        .add_column(table, "city", ColumnType::Text)
        .expect("city");
    let age = store
        .add_column(table, "age", ColumnType::SmallInt)
        .expect("age");
    store
        .write(upsert(
            table,
            Key::Text("u1".into()),
            vec![(vip, Some(Value::Bool(true)))],
        ))
        .expect("first write");
    Db {
        dir,
        store,
        table,
        vip,
        city,
        age,
    }
}

fn assert_still_usable(db: &Db) {
    let t = db.store.snapshot().table("users").expect("table");
    assert!(
        t.row_of(&Key::Text("u1".into())).expect("lookup").is_some(),
        "acknowledged row lost"
    );
    db.store
        .write(upsert(
            db.table,
            Key::Text("u2".into()),
            vec![(db.vip, Some(Value::Bool(false)))],
        ))
        .expect("later write works");
}

#[test]
fn wrong_kind_of_value_is_invalid_value() {
    let db = db();
    let err = db
        .store
        .write(upsert(
            db.table,
            Key::Text("x".into()),
            vec![(db.vip, Some(Value::Int(1)))],
        ))
        .expect_err("int into boolean");
    assert!(matches!(err, StorageError::InvalidValue { .. }), "{err}");
    assert_still_usable(&db);
}

#[test]
fn out_of_range_smallint_is_invalid_value() {
    let db = db();
    let err = db
        .store
        .write(upsert(
            db.table,
            Key::Text("x".into()),
            vec![(db.age, Some(Value::Int(40_000)))],
        ))
        .expect_err("smallint overflow");
    assert!(matches!(err, StorageError::InvalidValue { .. }), "{err}");
    assert_still_usable(&db);
}

#[test]
fn key_of_wrong_type_is_rejected() {
    let db = db();
    let err = db
        .store
        .write(upsert(db.table, Key::Int(5), vec![]))
        .expect_err("int key");
    assert!(matches!(err, StorageError::KeyTypeMismatch { .. }), "{err}");
}

#[test]
fn key_over_limit_is_key_too_long() {
    let db = db();
    let long = "k".repeat(limits::KEY_BYTES_MAX + 1);
    let err = db
        .store
        .write(upsert(db.table, Key::Text(long), vec![]))
        .expect_err("long key");
    assert!(matches!(err, StorageError::KeyTooLong { .. }), "{err}");
    assert_still_usable(&db);
}

#[test]
fn value_over_limit_is_value_too_long() {
    let db = db();
    let long = "v".repeat(limits::VALUE_BYTES_MAX + 1);
    let err = db
        .store
        .write(upsert(
            db.table,
            Key::Text("x".into()),
            vec![(db.city, Some(Value::Text(long)))],
        ))
        .expect_err("long value");
    assert!(matches!(err, StorageError::ValueTooLong { .. }), "{err}");
}

#[test]
fn a_failing_batch_applies_nothing() {
    let db = db();
    let batch = WriteBatch {
        table: db.table,
        ops: vec![
            WriteOp::Upsert {
                key: Key::Text("ok".into()),
                values: vec![(db.vip, Some(Value::Bool(true)))],
                mode: UpsertMode::Upsert,
            },
            WriteOp::Upsert {
                key: Key::Text("u1".into()),
                values: vec![],
                mode: UpsertMode::Insert,
            },
        ],
    };
    let err = db.store.write(batch).expect_err("duplicate insert");
    assert!(matches!(err, StorageError::DuplicateKey { .. }), "{err}");
    let t = db.store.snapshot().table("users").expect("table");
    assert_eq!(t.row_of(&Key::Text("ok".into())).expect("lookup"), None);
    assert_eq!(t.row_count().expect("count"), 1);
}

#[test]
fn too_many_distinct_values_in_bulk_load_is_rejected_atomically() {
    let db = db();
    let rows = (0..=limits::DISTINCT_VALUES_MAX).map(|i| {
        Ok((
            Key::Text(format!("k{i}")),
            vec![Some(Value::Text(format!("city-{i}")))],
        ))
    });
    let err = db
        .store
        .bulk_load(db.table, &[db.city], rows, &mut |_| {})
        .expect_err("over the distinct-value limit");
    assert!(matches!(err, StorageError::TooManyValues { .. }), "{err}");
    assert_eq!(
        db.store
            .snapshot()
            .table("users")
            .expect("t")
            .row_count()
            .expect("n"),
        1
    );
    assert_still_usable(&db);
}

#[test]
fn bad_row_in_bulk_load_names_its_number_and_loads_nothing() {
    let db = db();
    let rows = vec![
        Ok((Key::Text("a".into()), vec![Some(Value::Bool(true))])),
        Ok((Key::Text("b".into()), vec![Some(Value::Text("no".into()))])),
    ];
    let err = db
        .store
        .bulk_load(db.table, &[db.vip], rows, &mut |_| {})
        .expect_err("bad row");
    assert!(matches!(err, StorageError::BadRow { row: 2, .. }), "{err}");
    let t = db.store.snapshot().table("users").expect("table");
    assert_eq!(t.row_of(&Key::Text("a".into())).expect("lookup"), None);
}

#[test]
fn newer_format_version_is_refused() {
    let db = db();
    let path = db.dir.path().to_owned();
    drop(db.store);
    let manifest = path.join("MANIFEST");
    let mut bytes = std::fs::read(&manifest).expect("read");
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&manifest, bytes).expect("write");
    let err = Store::open(&path, options()).expect_err("newer version");
    assert!(
        matches!(err, StorageError::UnsupportedVersion { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn directory_of_other_files_is_not_a_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), b"hello").expect("write");
    let err = Store::open(dir.path(), options()).expect_err("foreign directory");
    assert!(matches!(err, StorageError::NotADataDirectory(_)), "{err}");
}

#[test]
fn second_process_on_same_directory_is_locked_out() {
    let db = db();
    let err = Store::open(db.dir.path(), options()).expect_err("locked");
    assert!(matches!(err, StorageError::Locked(_)), "{err}");
}

#[test]
fn corrupted_segment_is_reported_with_its_file_name() {
    let db = db();
    db.store.flush().expect("flush");
    let path = db.dir.path().to_owned();
    drop(db.store);
    let seg = std::fs::read_dir(&path)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .expect("a segment file");
    let mut bytes = std::fs::read(&seg).expect("read");
    let n = bytes.len();
    bytes[n - 40] ^= 0xff;
    std::fs::write(&seg, bytes).expect("write");
    let err = Store::open(&path, options()).expect_err("corrupt segment");
    let name = seg.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        err.to_string().contains(name),
        "error names the file: {err}"
    );
}

#[test]
fn flipped_byte_inside_the_wal_is_corruption_not_silent_loss() {
    let db = db();
    for i in 0..3 {
        db.store
            .write(upsert(
                db.table,
                Key::Text(format!("w{i}")),
                vec![(db.vip, Some(Value::Bool(true)))],
            ))
            .expect("write");
    }
    let path = db.dir.path().to_owned();
    drop(db.store);
    let wal = std::fs::read_dir(&path)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("a wal file");
    let mut bytes = std::fs::read(&wal).expect("read");
    bytes[16 + 8 + 2] ^= 0x01; // inside the first record's payload
    std::fs::write(&wal, bytes).expect("write");
    let err = Store::open(&path, options()).expect_err("corrupt wal");
    assert!(matches!(err, StorageError::Corruption { .. }), "{err}");
}

#[test]
fn torn_wal_tail_is_cut_and_earlier_writes_survive() {
    let db = db();
    db.store
        .write(upsert(
            db.table,
            Key::Text("last".into()),
            vec![(db.vip, Some(Value::Bool(true)))],
        ))
        .expect("write");
    let path = db.dir.path().to_owned();
    drop(db.store);
    let wal = std::fs::read_dir(&path)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("a wal file");
    let len = std::fs::metadata(&wal).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .and_then(|f| f.set_len(len - 3))
        .expect("truncate");
    let store = Store::open(&path, options()).expect("torn tail recovers");
    let t = store.snapshot().table("users").expect("table");
    assert!(t.row_of(&Key::Text("u1".into())).expect("lookup").is_some());
    assert_eq!(t.row_of(&Key::Text("last".into())).expect("lookup"), None);
}

#[test]
fn failing_disk_fails_the_write_and_reopen_keeps_acknowledged_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs: Arc<dyn Backend> = Arc::new(FsBackend::new(dir.path()).expect("fs"));
    let faulty = Arc::new(FaultyBackend::new(fs.clone(), None));
    let store = Store::open_backend(faulty.clone(), options()).expect("open");
    let table = store
        .create_table("t", "k", KeyType::BigInt)
        .expect("table");
    let flag = store
        .add_column(table, "f", ColumnType::Boolean)
        .expect("col");
    store
        .write(upsert(
            table,
            Key::Int(1),
            vec![(flag, Some(Value::Bool(true)))],
        ))
        .expect("acknowledged");
    faulty.set_budget(Some(0));
    let err = store
        .write(upsert(
            table,
            Key::Int(2),
            vec![(flag, Some(Value::Bool(true)))],
        ))
        .expect_err("disk full");
    assert!(matches!(err, StorageError::Unavailable(_)), "{err}");
    assert!(store.flush().is_err(), "flush fails too");
    // Reads keep working.
    let t = store.snapshot().table("t").expect("table");
    assert_eq!(t.bitmap_all(flag, ColumnRead::True).expect("read").len(), 1);
    drop(store);
    faulty.set_budget(None);
    let store = Store::open_backend(faulty, options()).expect("reopen");
    let t = store.snapshot().table("t").expect("table");
    assert!(
        t.row_of(&Key::Int(1)).expect("lookup").is_some(),
        "acknowledged write kept"
    );
    store
        .write(upsert(
            table,
            Key::Int(3),
            vec![(flag, Some(Value::Bool(true)))],
        ))
        .expect("usable after reopen");
}

/// Regression: a crash after a flush rotated the WAL but before it stored the
/// manifest left a WAL file numbered at the manifest's `next_file_no`; the
/// next flush tried to create that number again.
#[test]
fn wal_rotated_before_a_crash_does_not_collide_with_the_next_flush() {
    let db = db();
    let path = db.dir.path().to_owned();
    drop(db.store);
    let mut wals: Vec<_> = std::fs::read_dir(&path)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    wals.sort();
    let header = std::fs::read(&wals[0]).expect("read")[..16].to_vec();
    // Numbers 2.. are what the manifest would hand out next.
    for no in 2..4u64 {
        std::fs::write(path.join(format!("wal-{no:016}.log")), &header).expect("fake rotation");
    }
    let store = Store::open(&path, options()).expect("reopen");
    let table = store.snapshot().table("users").expect("t").schema().id;
    store
        .write(upsert(table, Key::Text("after".into()), vec![]))
        .expect("write");
    store.flush().expect("flush after the crash");
    drop(store);
    let store = Store::open(&path, options()).expect("reopen again");
    let t = store.snapshot().table("users").expect("table");
    assert!(t.row_of(&Key::Text("u1".into())).expect("lookup").is_some());
    assert!(
        t.row_of(&Key::Text("after".into()))
            .expect("lookup")
            .is_some()
    );
}
