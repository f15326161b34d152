//! Golden data directories: one per released on-disk format version, checked
//! in under `tests/golden/v<N>` and opened by every build, so a format change
//! that breaks old data directories cannot land unnoticed.
//!
//! To write the directory for a new format version (after bumping
//! `FORMAT_VERSION` and documenting it in storage-format.md):
//! `cargo test --test golden -- --ignored write_golden`.

mod support;

use audb::db::{Db, Session, StatementResult};
use audb::sql::scalar::{EvalContext, format_text};
use audb::storage::Store;
use std::path::{Path, PathBuf};
use support::db::options;

const SCRIPT: &[&str] = &[
    "CREATE TABLE users (user_id TEXT PRIMARY KEY, city TEXT, age SMALLINT, visits INT, score BIGINT, vip BOOLEAN, ltv NUMERIC(12,2), churn REAL, prob DOUBLE PRECISION, tags TEXT[], born DATE, seen TIMESTAMP, seen_tz TIMESTAMPTZ)",
    "INSERT INTO users VALUES ('u1', 'Shanghai', 30, 5, -9000000000, true, 1200.50, 0.5, 0.125, ARRAY['music','sports'], '1994-05-06', '2024-01-02 03:04:05', '2024-01-02 03:04:05+08'), ('u2', 'Beijing', NULL, 0, 7, false, NULL, NULL, -2.5, ARRAY['food'], NULL, NULL, NULL), ('u3', NULL, 44, NULL, NULL, NULL, 0.01, 1.5, NULL, NULL, '2000-02-29', '1999-12-31 23:59:59.5', NULL)",
    "FLUSH",
    "INSERT INTO users (user_id, city, vip) VALUES ('u4', 'Shanghai', true), ('u2', 'Guangzhou', true)",
    "FLUSH",
    "COMPACT",
    "DELETE FROM users WHERE user_id = 'u3'",
    "INSERT INTO users (user_id, age, tags) VALUES ('u5', 19, ARRAY['travel'])",
    "CREATE VIEW sh AS SELECT * FROM users WHERE city = 'Shanghai'",
    "COMMENT ON COLUMN users.ltv IS 'lifetime value, CNY'",
];

const EXPECTED: &[&str] = &[
    "u1|Shanghai|30|5|-9000000000|t|1200.50|0.5|0.125|{music,sports}|1994-05-06|2024-01-02 03:04:05|2024-01-01 19:04:05+00",
    "u2|Guangzhou|NULL|0|7|t|NULL|NULL|-2.5|{food}|NULL|NULL|NULL",
    "u4|Shanghai|NULL|NULL|NULL|t|NULL|NULL|NULL|NULL|NULL|NULL|NULL",
    "u5|NULL|19|NULL|NULL|NULL|NULL|NULL|NULL|{travel}|NULL|NULL|NULL",
];

fn golden_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/v{version}"))
}

fn rows(db: &Db, sql: &str) -> Vec<String> {
    let mut s = Session::new("golden");
    let ctx = EvalContext::default();
    match db.execute(&mut s, sql).expect("query").pop() {
        Some(StatementResult::Rows(rel)) => rel
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&rel.columns)
                    .map(|(d, c)| format_text(d, c.ty, &ctx).unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("golden dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "LOCK" {
            continue;
        }
        std::fs::copy(entry.path(), to.join(name)).expect("copy");
    }
}

#[test]
#[ignore = "writes the golden directory of the current format version"]
fn write_golden() {
    let dir = golden_dir(audb::storage::format::FORMAT_VERSION);
    let _ = std::fs::remove_dir_all(&dir);
    let db = Db::open(&dir, options()).expect("open");
    let mut s = Session::new("golden");
    for sql in SCRIPT {
        match *sql {
            "FLUSH" => db.store().flush().expect("flush"),
            "COMPACT" => db.store().compact().expect("compact"),
            sql => {
                db.execute(&mut s, sql).expect(sql);
            }
        }
    }
    assert_eq!(rows(&db, "SELECT * FROM users ORDER BY user_id"), EXPECTED);
    drop(db);
    let _ = std::fs::remove_file(dir.join("LOCK"));
}

#[test]
fn golden_v1_opens_and_reads_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&golden_dir(1), tmp.path());
    let store = Store::open(tmp.path(), options()).expect("open golden v1");
    let report = store.check().expect("golden v1 verifies");
    assert!(
        report.segments >= 1 && report.wal_records >= 1,
        "{report:?}"
    );
    let db = Db::with_store(store);
    assert_eq!(rows(&db, "SELECT * FROM users ORDER BY user_id"), EXPECTED);
    assert_eq!(rows(&db, "SELECT COUNT(*) FROM sh"), vec!["2".to_owned()]);
    assert_eq!(
        rows(
            &db,
            "SELECT city, COUNT(*) FROM users GROUP BY city ORDER BY city"
        ),
        vec!["Guangzhou|1", "Shanghai|2", "NULL|1"]
    );
}
