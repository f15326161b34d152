//! Runs the SQL corpus under `tests/sql/*.slt` against audb.
//!
//! Format (a subset of sqllogictest): records separated by blank lines.
//! - `statement ok` / `statement error <SQLSTATE>` followed by one statement;
//! - `query` or `query rowsort` followed by a query, a `----` line and the
//!   expected rows, one per line, values separated by `|`, NULL as `NULL`,
//!   PostgreSQL's text output for every value.
//!
//! `scripts/slt_postgres.py` runs the same files against a real PostgreSQL
//! to prove the expected results are PostgreSQL's.

mod support;

use audb::catalog::system::output_context;
use audb::db::{Session, StatementResult};
use audb::sql::scalar::{EvalContext, format_text};
use std::path::Path;
use support::db::open_db;

fn render(result: &StatementResult, ctx: &EvalContext) -> Vec<String> {
    match result {
        StatementResult::Rows(rel) => rel
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&rel.columns)
                    .map(|(d, c)| format_text(d, c.ty, ctx).unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect(),
        StatementResult::Command(_) => Vec::new(),
    }
}

fn run_file(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    let (db, _dir) = open_db();
    let mut session = Session::new("audb");
    let mut failures = Vec::new();
    for (n, record) in text.split("\n\n").enumerate() {
        let lines: Vec<&str> = record.lines().filter(|l| !l.starts_with('#')).collect();
        let Some((head, rest)) = lines.split_first() else {
            continue;
        };
        let words: Vec<&str> = head.split_whitespace().collect();
        let where_ = format!("{}: record {}", path.display(), n + 1);
        match words.as_slice() {
            ["statement", "ok"] => {
                let sql = rest.join("\n");
                if let Err(e) = db.execute(&mut session, &sql) {
                    failures.push(format!(
                        "{where_}: `{sql}` failed: {} {}",
                        e.state.code(),
                        e.message
                    ));
                }
            }
            ["statement", "error", code] => {
                let sql = rest.join("\n");
                match db.execute(&mut session, &sql) {
                    Ok(_) => failures.push(format!("{where_}: `{sql}` succeeded, expected {code}")),
                    Err(e) if e.state.code() != *code => failures.push(format!(
                        "{where_}: `{sql}` gave {} ({}), expected {code}",
                        e.state.code(),
                        e.message
                    )),
                    Err(_) => {}
                }
            }
            ["query", mode @ ..] => {
                let sep = rest.iter().position(|l| *l == "----").unwrap_or(rest.len());
                let sql = rest[..sep].join("\n");
                let mut expected: Vec<String> = rest
                    .get(sep + 1..)
                    .unwrap_or(&[])
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                match db.execute(&mut session, &sql) {
                    Ok(results) => {
                        let ctx = output_context(&db.store().snapshot(), &session);
                        let mut got = results.last().map(|r| render(r, &ctx)).unwrap_or_default();
                        if mode.contains(&"rowsort") {
                            got.sort();
                            expected.sort();
                        }
                        if got != expected {
                            failures.push(format!(
                                "{where_}: `{sql}`\n  expected: {expected:?}\n  got:      {got:?}"
                            ));
                        }
                    }
                    Err(e) => failures.push(format!(
                        "{where_}: `{sql}` failed: {} {}",
                        e.state.code(),
                        e.message
                    )),
                }
            }
            _ => failures.push(format!("{where_}: unknown record header `{head}`")),
        }
    }
    failures
}

#[test]
fn sql_corpus_matches_expected_results() {
    let mut files: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql"))
            .expect("tests/sql")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "slt"))
            .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files");
    let failures: Vec<String> = files.iter().flat_map(|f| run_file(f)).collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `EXPLAIN ANALYZE` shows every bitmap node's estimate beside its actual
/// rows (not comparable with PostgreSQL's plan text, so checked here).
#[test]
fn explain_analyze_shows_actual_rows_per_node() {
    let (db, _dir) = open_db();
    let mut s = Session::new("audb");
    db.execute(
        &mut s,
        "CREATE TABLE u (k TEXT PRIMARY KEY, vip BOOLEAN, city TEXT, age INT);
         INSERT INTO u VALUES ('a', true, 'x', 30), ('b', true, 'y', 40), ('c', false, 'x', 50), ('d', NULL, 'x', NULL)",
    )
    .expect("setup");
    let plan = |sql: &str, s: &mut Session| -> Vec<String> {
        match db.execute(s, sql).expect("explain").pop() {
            Some(StatementResult::Rows(r)) => r
                .rows
                .iter()
                .map(|row| match &row[0] {
                    audb::sql::types::Datum::Text(t) => t.clone(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let lines = plan(
        "EXPLAIN ANALYZE SELECT COUNT(*) FROM u WHERE city = 'x' AND NOT (vip AND age > 35)",
        &mut s,
    );
    let find = |what: &str| -> &String {
        lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} in {lines:#?}"))
    };
    // city = 'x': a, c, d; NOT (vip AND age > 35): a, c (d is unknown).
    let scan = find("Bitmap scan on u");
    assert!(scan.contains("actual rows=2 "), "{scan}");
    let and = find("  -> And");
    assert!(and.contains("actual rows=2 "), "{and}");
    let city = find("AnyValue city");
    assert!(city.contains("actual rows=3 "), "{city}");
    // The NOT asks its child for the FALSE set: vip false (c) or age <= 35 (a).
    let not = find("Not (false set of)");
    assert!(not.contains("actual rows=2 "), "{not}");
    let inner = find("      -> And");
    assert!(inner.contains("actual false rows=2 "), "{inner}");
    let vip = find("Flag vip");
    assert!(
        vip.contains("actual false rows=1 ") && !vip.contains("actual rows="),
        "{vip}"
    );
    let age = find("Bsi age >");
    assert!(
        age.contains("actual false rows=1 ") && !age.contains("actual rows="),
        "{age}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Execution: 1 rows")),
        "{lines:#?}"
    );
    // Without ANALYZE there are no actuals.
    let lines = plan("EXPLAIN SELECT COUNT(*) FROM u WHERE vip", &mut s);
    assert!(lines.iter().all(|l| !l.contains("actual")), "{lines:#?}");
    // A branch after an empty intersection never runs.
    let lines = plan(
        "EXPLAIN ANALYZE SELECT COUNT(*) FROM u WHERE city = 'none' AND vip",
        &mut s,
    );
    assert!(
        lines.iter().any(|l| l.contains("never executed")),
        "{lines:#?}"
    );
}
