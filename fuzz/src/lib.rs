//! Shared fixtures of audb's fuzz targets: scratch directories, the small SQL
//! database, a template data directory, and "read everything" walks over an
//! opened segment and a snapshot.
//!
//! Every helper returns the storage error it met instead of panicking, so the
//! targets decide which errors are acceptable (`Corruption` and friends) and
//! which are findings.

use audb::db::{Db, Session};
use audb::index::{Key, TagKind};
use audb::storage::segment::Segment;
use audb::storage::{BitmapRole, ColumnRead, Options, Snapshot, StorageError, Store};
use std::path::Path;

/// Most rows any walk visits per segment or table: keeps one input's cost
/// bounded whatever row ids a damaged file claims.
pub const ROWS_VISITED_MAX: u64 = 4096;

/// A fresh scratch directory, in memory (`/dev/shm`) when the machine has it
/// so fsyncs cost nothing.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new().prefix("audb-fuzz").tempdir_in(shm)
    } else {
        tempfile::Builder::new().prefix("audb-fuzz").tempdir()
    };
    dir.expect("scratch directory")
}

/// Store options for fuzzing: no background thread (deterministic), small
/// caches.
pub fn options() -> Options {
    Options {
        background: false,
        bitmap_cache_bytes: 16 << 20,
        ..Options::default()
    }
}

/// Statements that build the SQL target's database: two tables covering
/// every column type, rows in a segment and in the memtable, a view and a
/// materialized view.
pub const SQL_FIXTURE: &[&str] = &[
    "CREATE TABLE users (user_id TEXT PRIMARY KEY, city TEXT, age INT, small SMALLINT, \
     big BIGINT, vip BOOLEAN, ltv NUMERIC(12,2), interests TEXT[], score DOUBLE PRECISION, \
     r REAL, register_date DATE, seen TIMESTAMP, last_active TIMESTAMPTZ, gender VARCHAR(8))",
    "INSERT INTO users VALUES \
     ('u1', 'Shanghai', 30, 1, 9000000000, true, 1200.50, ARRAY['music','sports'], 0.5, 1.5, '2024-01-15', '2024-01-15 10:00:00', '2024-01-15 10:00:00+08', 'f'), \
     ('u2', 'Beijing', 25, -2, -1, false, 300.00, ARRAY['music'], 0.25, -2.5, '2024-03-01', '2024-03-01 00:00:00', '2024-03-01 00:00:00+00', 'm'), \
     ('u3', 'Shanghai', NULL, NULL, NULL, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'f')",
    "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, user_id TEXT, amount NUMERIC(10,2), placed DATE, paid BOOLEAN)",
    "INSERT INTO orders VALUES (1, 'u1', 10.00, '2024-01-02', true), (2, 'u2', 5.50, '2024-02-03', false), (3, 'u9', NULL, NULL, NULL)",
    "FLUSH",
    "INSERT INTO users VALUES \
     ('u4', 'Guangzhou', 41, 7, 0, NULL, 99.99, ARRAY['food','sports','travel'], 0.75, 0, '2023-12-31', '2023-12-31 23:59:59', NULL, NULL), \
     ('u5', NULL, 35, 0, 42, false, 5000.00, ARRAY[]::text[], -1.5, 3.25, '2024-02-29', NULL, '2024-02-29 12:00:00+00', 'm')",
    "DELETE FROM users WHERE user_id = 'u2'",
    "CREATE VIEW vips AS SELECT * FROM users WHERE vip",
    "CREATE MATERIALIZED VIEW shanghai AS SELECT * FROM users WHERE city = 'Shanghai'",
];

/// Opens a fresh SQL fixture database in a new scratch directory.
pub fn sql_fixture() -> (tempfile::TempDir, Db) {
    let dir = scratch_dir();
    let db = Db::open(dir.path(), options()).expect("open fixture database");
    let mut session = Session::new("fuzz");
    for sql in SQL_FIXTURE {
        if *sql == "FLUSH" {
            db.store().flush().expect("flush fixture");
            continue;
        }
        db.execute(&mut session, sql)
            .unwrap_or_else(|e| panic!("fixture statement {sql}: {e:?}"));
    }
    (dir, db)
}

/// Whether `e` is what damaged bytes on disk may legitimately produce.
pub fn is_damage_error(e: &StorageError) -> bool {
    matches!(
        e,
        StorageError::Corruption { .. } | StorageError::UnsupportedVersion { .. }
    )
}

/// Every bitmap role a column of `kind` may hold in a segment.
fn roles(seg: &Segment, col: u32, kind: TagKind) -> Vec<BitmapRole> {
    let mut roles = vec![BitmapRole::Touched, BitmapRole::NotNull];
    match kind {
        TagKind::Flag => roles.push(BitmapRole::FlagTrue),
        TagKind::Numeric => {
            roles.push(BitmapRole::Sign);
            roles.extend((0..seg.plane_count(col)).map(BitmapRole::Plane));
        }
        TagKind::Categorical | TagKind::MultiValued => {
            let n = u32::try_from(seg.values(col).len()).unwrap_or(u32::MAX);
            roles.extend((0..n).map(BitmapRole::Value));
        }
    }
    roles
}

/// Reads everything an opened segment offers: every bitmap of every column
/// and shard, deleted rows, keys and their reverse lookups, the forward index
/// (through `row_value_ordinals`), the full verification and `to_delta`.
pub fn exercise_segment(seg: &Segment) -> Result<(), StorageError> {
    let _ = (seg.file_name(), seg.file_bytes(), seg.table_id());
    for shard in seg.shards() {
        seg.deleted(shard)?;
    }
    for col in seg.columns() {
        let Some(kind) = seg.column_kind(col) else {
            continue;
        };
        for role in roles(seg, col, kind) {
            let _ = seg.cardinality(col, role);
            for shard in seg.shards() {
                seg.bitmap(col, role, shard)?;
            }
            seg.bitmap_all(col, role)?;
        }
        for v in seg.values(col) {
            let _ = seg.value_ordinal(col, v);
        }
        let not_null = seg.bitmap_all(col, BitmapRole::NotNull)?;
        for row in not_null.iter().take(ROWS_VISITED_MAX as usize) {
            seg.row_value_ordinals(col, row)?;
        }
    }
    let (first, end) = seg.key_rows();
    let last = end.min(u64::from(first) + ROWS_VISITED_MAX);
    for row in u64::from(first)..last {
        let Ok(row) = u32::try_from(row) else { break };
        if let Some(key) = seg.key(row)? {
            seg.row_of(&key)?;
        }
    }
    seg.row_of(&Key::Int(0))?;
    seg.row_of(&Key::Text("".into()))?;
    seg.verify()?;
    seg.to_delta()?;
    Ok(())
}

/// Reads everything a snapshot offers for every table: live rows, keys,
/// every column's value per row and its bitmaps.
pub fn exercise_snapshot(snap: &Snapshot) -> Result<(), StorageError> {
    let _ = snap.version();
    for schema in snap.tables() {
        let Some(t) = snap.table_by_id(schema.id) else {
            continue;
        };
        let _ = (t.row_id_end(), t.shard_count());
        t.row_count()?;
        let live = t.live_all()?;
        for row in live.iter().take(ROWS_VISITED_MAX as usize) {
            if let Some(key) = t.key_of(row)? {
                t.row_of(&key)?;
            }
            for c in &t.schema().columns {
                t.row_value(c.id, row)?;
            }
        }
        for c in &t.schema().columns {
            t.bitmap_all(c.id, ColumnRead::NotNull)?;
            let _ = t.estimate(c.id, ColumnRead::NotNull);
            match c.ty.kind() {
                TagKind::Flag => {
                    t.bitmap_all(c.id, ColumnRead::True)?;
                    t.bitmap_all(c.id, ColumnRead::False)?;
                }
                TagKind::Numeric => {
                    t.bitmap_all(c.id, ColumnRead::Sign)?;
                    for p in 0..t.plane_count(c.id) {
                        t.bitmap_all(c.id, ColumnRead::Plane(p))?;
                    }
                    for shard in 0..t.shard_count() {
                        t.numeric(c.id, shard)?;
                    }
                }
                TagKind::Categorical | TagKind::MultiValued => {
                    for v in t.values(c.id)?.iter().take(256) {
                        t.bitmap_all(c.id, ColumnRead::Value(v))?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Builds a small data directory with every kind of file (manifest, a
/// segment per table holding every column kind, a live WAL with records) and
/// returns it with its file names.
pub fn template_data_dir() -> (tempfile::TempDir, Vec<String>) {
    let (dir, db) = sql_fixture();
    let mut session = Session::new("fuzz");
    db.execute(
        &mut session,
        "INSERT INTO orders VALUES (4, 'u4', 1.25, '2024-05-06', true); \
         UPDATE users SET age = 31 WHERE user_id = 'u1'",
    )
    .expect("template writes");
    drop(db);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list template")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "LOCK")
        .collect();
    names.sort();
    // Seeds for the corpora: `AUDB_FUZZ_DUMP_TEMPLATE=dir` copies the files out.
    if let Some(out) = std::env::var_os("AUDB_FUZZ_DUMP_TEMPLATE") {
        for name in &names {
            let _ = std::fs::copy(dir.path().join(name), Path::new(&out).join(name));
        }
    }
    (dir, names)
}

/// Copies the template directory `from` into a fresh scratch directory,
/// replacing file `replace` with `bytes`, and opens it as a store. On
/// success, reads everything the store holds; returns the first error met.
pub fn open_damaged_dir(
    from: &Path,
    names: &[String],
    replace: &str,
    bytes: &[u8],
) -> Result<(), StorageError> {
    let dir = scratch_dir();
    for name in names {
        let to = dir.path().join(name);
        if name == replace {
            std::fs::write(&to, bytes).expect("write damaged file");
        } else {
            // libFuzzer's timer signal can interrupt the copy (EINTR): retry.
            let copied = loop {
                match std::fs::copy(from.join(name), &to) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            copied.expect("copy template file");
        }
    }
    let store = Store::open(dir.path(), options())?;
    exercise_snapshot(&store.snapshot())?;
    store.check()?;
    Ok(())
}
