//! End-to-end tests of `audb load` over small chunks, so that records,
//! quoted newlines and bad rows fall across chunk boundaries.

use super::*;
use audb::db::{Db, Session, StatementResult};
use audb::sql::types::Datum;

/// A data directory holding `CREATE TABLE t (id TEXT PRIMARY KEY, n INT, note TEXT)`.
fn setup() -> (tempfile::TempDir, Settings) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().join("data"),
        ..Settings::default()
    };
    let db = Db::open(&settings.data_dir, settings.store_options()).unwrap();
    db.execute(
        &mut Session::new("audb"),
        "CREATE TABLE t (id TEXT PRIMARY KEY, n INT, note TEXT)",
    )
    .unwrap();
    (dir, settings)
}

fn load(settings: &Settings, dir: &tempfile::TempDir, text: &str) -> CliResult {
    let file = dir.path().join("t.csv");
    std::fs::write(&file, text).unwrap();
    let req = LoadRequest {
        table: "t".into(),
        file,
        format: Format::Csv,
        max_bad_rows: 0,
        chunk_bytes: 16,
    };
    run(settings, &req)
}

fn query(settings: &Settings, sql: &str) -> Vec<Vec<Datum>> {
    let db = Db::open(&settings.data_dir, settings.store_options()).unwrap();
    let out = db.execute(&mut Session::new("audb"), sql).unwrap();
    match out.into_iter().next().unwrap() {
        StatementResult::Rows(r) => r.rows.clone(),
        StatementResult::Command(c) => panic!("no rows: {c}"),
    }
}

#[test]
fn a_bad_row_deep_in_a_multi_chunk_file_names_its_line_and_loads_nothing() {
    let (dir, settings) = setup();
    let mut csv = String::from("id,n,note\n");
    for i in 2..=300 {
        let n = if i == 237 {
            "x".to_owned()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("k{i},{n},\"a\nb\"\n"));
    }
    let err = load(&settings, &dir, &csv).unwrap_err();
    let CliError::Failed(message) = err else {
        panic!("{err:?}")
    };
    // Each record spans two lines: record i starts on line 2i - 2.
    assert!(message.starts_with("line 472: "), "{message}");
    assert!(message.ends_with("; nothing was loaded"), "{message}");
    let rows = query(&settings, "SELECT COUNT(*) FROM t");
    assert_eq!(rows, [[Datum::Int(0)]]);
}

#[test]
fn quoted_newlines_across_chunk_boundaries_load_in_order() {
    let (dir, settings) = setup();
    let mut csv = String::from("id,n,note\n");
    for i in 0..100 {
        csv.push_str(&format!(
            "k{},{i},\"line one, \"\"{i}\"\"\n\nline three\"\n",
            i % 40
        ));
    }
    load(&settings, &dir, &csv).unwrap();
    let rows = query(&settings, "SELECT COUNT(*), SUM(n) FROM t");
    // Keys repeat: the last occurrence (i = 60..99) wins.
    assert_eq!(rows, [[Datum::Int(40), Datum::Int((60..100).sum())]]);
    let rows = query(&settings, "SELECT n, note FROM t WHERE id = 'k7'");
    assert_eq!(
        rows,
        [[
            Datum::Int(87),
            Datum::Text("line one, \"87\"\n\nline three".into())
        ]]
    );
}
