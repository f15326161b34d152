//! Limits: deeply nested and very long expressions (54001), huge IN lists,
//! oversized strings, keys and tag sets. Each must end in a typed error or
//! a correct answer, never a crash, and the server keeps serving.

use super::common::{
    Case, FINGERPRINT, audb_only, code, differs, rows, run_cases, schema_server, still_serves,
};
use std::time::Duration;

/// Nesting that is just inside and just past audb's limit (README, SQL
/// reference, "Limits of a statement").
const DEPTH_OK: usize = 190;
const DEPTH_TOO_DEEP: usize = 260;
/// Values in the IN lists that must be answered.
const IN_LIST: usize = 10_000;
/// Terms in the OR chain that must be answered.
const OR_CHAIN: usize = 150;

fn nested(depth: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

fn too_deep() -> Vec<Case> {
    const PG_DEEPER: &str =
        "audb's parser stops at 200 levels; PostgreSQL's bison stack allows about 1000 levels";
    let d = DEPTH_TOO_DEEP;
    vec![
        differs(
            format!("SELECT {}", nested(d, "(", "1", ")")),
            "54001",
            "ok",
            PG_DEEPER,
        ),
        differs(
            format!(
                "SELECT COUNT(*) FROM users WHERE {}",
                nested(d, "(", "age > 1", ")")
            ),
            "54001",
            "ok",
            PG_DEEPER,
        ),
        differs(
            format!("SELECT {}", nested(d, "abs(", "1", ")")),
            "54001",
            "ok",
            PG_DEEPER,
        ),
        differs(
            format!("SELECT {}true", "NOT ".repeat(d)),
            "54001",
            "ok",
            PG_DEEPER,
        ),
        differs(
            format!("SELECT {}", nested(d, "-(", "1", ")")),
            "54001",
            "ok",
            PG_DEEPER,
        ),
        differs(
            format!("SELECT {}", nested(d, "CASE WHEN true THEN ", "1", " END")),
            "54001",
            "ok",
            PG_DEEPER,
        ),
        differs(
            format!(
                "SELECT * FROM {}",
                nested(d, "(SELECT * FROM ", "users", ") AS s")
            ),
            "54001",
            "ok",
            PG_DEEPER,
        ),
        differs(
            format!("SELECT ARRAY{}", nested(d, "[", "1", "]")),
            "54001",
            "54000",
            "PostgreSQL refuses arrays of more than 6 dimensions",
        ),
        // Past bison's own stack PostgreSQL says 42601 "memory exhausted".
        differs(
            format!("SELECT {}", nested(20_000, "(", "1", ")")),
            "54001",
            "42601",
            "PostgreSQL's parser runs out of stack with a syntax error",
        ),
    ]
}

fn oversized() -> Vec<Case> {
    const LABELS: &str = "tag values are labels: at most 4096 bytes (README Limits)";
    vec![
        audb_only(
            format!(
                "INSERT INTO users (user_id) VALUES ('{}')",
                "k".repeat(1025)
            ),
            "22001",
            "keys are identifiers: at most 1024 bytes (README Limits)",
        ),
        audb_only(
            format!(
                "INSERT INTO users (user_id, city) VALUES ('big', '{}')",
                "c".repeat(4097)
            ),
            "22001",
            LABELS,
        ),
        audb_only(
            format!(
                "INSERT INTO users (user_id, interests) VALUES ('big', ARRAY['{}'])",
                "i".repeat(4097)
            ),
            "22001",
            LABELS,
        ),
        audb_only(
            format!(
                "INSERT INTO users (user_id, interests) VALUES ('big', '{{{}}}')",
                (0..4097)
                    .map(|i| format!("t{i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            "54000",
            "at most 4096 values in one TEXT[] cell (README Limits)",
        ),
        audb_only(
            format!("UPDATE users SET city = '{}' WHERE vip", "c".repeat(10_000)),
            "22001",
            LABELS,
        ),
        // A too-long key in a multi-row INSERT: nothing is written, not even
        // the good rows before it.
        audb_only(
            format!(
                "INSERT INTO users (user_id, age) VALUES ('ok1', 1), ('{}', 2)",
                "k".repeat(2000)
            ),
            "22001",
            "keys are identifiers: at most 1024 bytes (README Limits)",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_deeply_nested_statements_are_54001() {
    run_cases("deep", &too_deep()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_keys_and_values_are_rejected_whole() {
    run_cases("oversized", &oversized()).await;
}

/// Nesting inside the limit works, so the limit is where the README says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_inside_the_limit_is_answered() {
    let (_s, c, _fp) = schema_server().await;
    let d = DEPTH_OK;
    for (sql, want) in [
        (format!("SELECT {}", nested(d, "(", "1", ")")), "1"),
        (format!("SELECT {}", nested(d, "abs(", "-1", ")")), "1"),
        (
            format!(
                "SELECT COUNT(*) FROM users WHERE {}",
                nested(d, "(", "age > 26", ")")
            ),
            "2",
        ),
        (format!("SELECT {}", vec!["1"; 150].join("+")), "150"),
    ] {
        let got = c.simple_query(&sql).await.map(|m| rows(&m));
        match got {
            Ok(r) => assert_eq!(r, [vec![Some(want.to_owned())]], "{}", &sql[..60]),
            Err(e) => panic!("{}: {}", &sql[..60], code(&e)),
        }
    }
}

/// Huge IN lists and OR chains are answered exactly (PostgreSQL answers
/// them too), in bounded time, and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_in_lists_and_or_chains_are_answered() {
    let (_s, c, fp) = schema_server().await;
    let ints: Vec<String> = (0..IN_LIST).map(|i| i.to_string()).collect();
    let texts: Vec<String> = (0..IN_LIST).map(|i| format!("'c{i}'")).collect();
    let ors: Vec<String> = (0..OR_CHAIN).map(|i| format!("age = {i}")).collect();
    for (sql, want) in [
        (
            format!(
                "SELECT COUNT(*) FROM users WHERE age IN ({})",
                ints.join(",")
            ),
            "3",
        ),
        (
            format!(
                "SELECT COUNT(*) FROM users WHERE age NOT IN ({})",
                ints.join(",")
            ),
            "0",
        ),
        (
            format!(
                "SELECT COUNT(*) FROM users WHERE city IN ({}, 'Beijing')",
                texts.join(",")
            ),
            "1",
        ),
        (
            format!("SELECT COUNT(*) FROM users WHERE {}", ors.join(" OR ")),
            "3",
        ),
    ] {
        let got = tokio::time::timeout(Duration::from_secs(120), c.simple_query(&sql))
            .await
            .expect("answered in time")
            .map(|m| rows(&m));
        match got {
            Ok(r) => assert_eq!(r, [vec![Some(want.to_owned())]], "{}", &sql[..60]),
            Err(e) => panic!("{}: {}", &sql[..60], code(&e)),
        }
    }
    let m = c.simple_query(FINGERPRINT).await.expect("still answers");
    assert_eq!(rows(&m), fp);
}

/// A 32 MB string literal is read and answered; only storing it is
/// refused, by the value limit. A client message over 64 MiB (the server's
/// `max_message_bytes`) is refused with FATAL 54000 and costs the
/// connection (PostgreSQL's limit is 1 GB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_32_mb_string_is_read_but_not_stored_and_64_mb_is_refused() {
    let (s, c, fp) = schema_server().await;
    let big = "x".repeat(32 << 20);
    let got = c
        .simple_query(&format!("SELECT length('{big}')"))
        .await
        .map(|m| rows(&m));
    match got {
        Ok(r) => assert_eq!(r, [vec![Some((32 << 20).to_string())]]),
        Err(e) => panic!("32 MB literal: {}", code(&e)),
    }
    let e = c
        .simple_query(&format!(
            "INSERT INTO users (user_id, city) VALUES ('big', '{big}')"
        ))
        .await
        .expect_err("too long for a tag value");
    assert_eq!(code(&e), "22001");
    let m = c.simple_query(FINGERPRINT).await.expect("still answers");
    assert_eq!(rows(&m), fp);
    let huge = "y".repeat((64 << 20) + 1);
    let e = c
        .simple_query(&format!("SELECT length('{huge}')"))
        .await
        .expect_err("over max_message_bytes");
    assert_eq!(code(&e), "54000");
    still_serves(s.addr, &fp, "a 64 MiB message").await;
}

/// Runs one statement on a fresh server and checks its answer (a
/// SQLSTATE or the single value it returns).
async fn probe(sql: String, want: &str) {
    let (s, c, fp) = schema_server().await;
    let got = match tokio::time::timeout(Duration::from_secs(120), c.simple_query(&sql)).await {
        Err(_) => "timeout".to_owned(),
        Ok(Ok(m)) => rows(&m)
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .unwrap_or_default(),
        Ok(Err(e)) => code(&e),
    };
    assert_eq!(got, want, "{}", super::common::short(&sql));
    still_serves(s.addr, &fp, "a probe").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_flat_plus_chain_of_20000() {
    // PostgreSQL: 54001 stack depth limit exceeded.
    probe(format!("SELECT {}", vec!["1"; 20_000].join("+")), "54001").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_column_chain_of_20000() {
    // PostgreSQL: 54001 stack depth limit exceeded; audb refuses the
    // tree right after parsing (sql::EXPR_TREE_DEPTH_MAX).
    probe(
        format!(
            "SELECT COUNT(*) FROM users WHERE {} > 1",
            vec!["age"; 20_000].join(" + ")
        ),
        "54001",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_or_chain_of_5000() {
    // Deliberate difference: PostgreSQL flattens OR chains and answers;
    // audb refuses expression trees deeper than sql::EXPR_TREE_DEPTH_MAX
    // (500) with 54001 rather than risk its stack (IN lists have no limit).
    let ors: Vec<String> = (0..5_000).map(|i| format!("age = {i}")).collect();
    probe(
        format!("SELECT COUNT(*) FROM users WHERE {}", ors.join(" OR ")),
        "54001",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_or_chain_of_490() {
    // Just under the limit: bound, planned and answered like PostgreSQL.
    let ors: Vec<String> = (0..490).map(|i| format!("age = {i}")).collect();
    probe(
        format!("SELECT COUNT(*) FROM users WHERE {}", ors.join(" OR ")),
        "3",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_plus_chain_of_490() {
    // Just under the limit: the relational evaluator recurses ~490 levels.
    probe(format!("SELECT {}", vec!["1"; 490].join("+")), "490").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_in_list_of_200000() {
    // PostgreSQL answers.
    let ints: Vec<String> = (0..200_000).map(|i| i.to_string()).collect();
    probe(
        format!(
            "SELECT COUNT(*) FROM users WHERE age IN ({})",
            ints.join(",")
        ),
        "3",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_union_chain_of_3000() {
    // PostgreSQL answers.
    probe(
        format!(
            "SELECT COUNT(*) FROM ({}) AS u",
            vec!["SELECT 1 AS x"; 3_000].join(" UNION ALL ")
        ),
        "3000",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_cast_chain_of_20000() {
    // PostgreSQL: 54001 stack depth limit exceeded.
    probe(format!("SELECT 1{}", "::int".repeat(20_000)), "54001").await;
}
