//! Helpers of `tests/clients.rs`: replaying the BI-tool fixtures over the
//! wire, and the 200-connection soak.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Statements of `.sql` fixtures that `tests/catalog.rs` also replays and
/// lists as not runnable yet (its `SKIP`): pending here too.
///
/// A pending statement that passes is reported as a NOTE in the output but
/// does not fail the test: the SQL engine gains features while these lists
/// wait for their next edit, and that must not break CI.
const PENDING_IN_SQL: &[(&str, usize, &str)] = &[];

/// What a fixture replay found.
#[derive(Debug, Default)]
pub struct Report {
    /// Statements that ran and met their expectations.
    pub passed: usize,
    /// One line per failed statement (or pending statement that passes).
    pub failures: Vec<String>,
    /// One line per statement, for the test output.
    pub lines: Vec<String>,
}

/// One fixture statement.
struct Stmt {
    sql: String,
    expects: Vec<String>,
    pending: Option<String>,
}

/// Statements of a fixture (blank-line separated; `-- expect:` and
/// `-- pending:` comment lines annotate the statement they precede).
fn parse(text: &str) -> Vec<Stmt> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut expects = Vec::new();
            let mut pending = None;
            let mut sql = Vec::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("-- expect: ") {
                    expects.push(e.to_owned());
                } else if let Some(p) = line.strip_prefix("-- pending: ") {
                    pending = Some(p.to_owned());
                } else if !line.starts_with("--") {
                    sql.push(line);
                }
            }
            let sql = sql.join("\n");
            (!sql.trim().is_empty()).then_some(Stmt {
                sql,
                expects,
                pending,
            })
        })
        .collect()
}

fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() && name != "node_modules" {
            out.extend(fixture_files(&p));
        } else if name.ends_with(".sql") || name.ends_with(".sql.pending") {
            out.push(p);
        }
    }
    out.sort();
    out
}

async fn connect(port: u16) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=audb dbname=audb connect_timeout=20"),
        NoTls,
    )
    .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Every cell of a simple-query result, as text (NULL as `None`).
async fn cells(c: &Client, sql: &str) -> Result<Vec<Option<String>>, tokio_postgres::Error> {
    let mut out = Vec::new();
    for m in c.simple_query(sql).await? {
        if let SimpleQueryMessage::Row(r) = m {
            for i in 0..r.len() {
                out.push(r.get(i).map(str::to_owned));
            }
        }
    }
    Ok(out)
}

fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// Runs every fixture under `dir` against the server on `port`.
pub fn replay_fixtures(port: u16, dir: &Path) -> Report {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = connect(port).await.expect("connect");
        // psql's `\d` fixtures carry the oid PostgreSQL gave the table.
        let oid = cells(
            &c,
            "SELECT oid FROM pg_catalog.pg_class WHERE relname = 'users'",
        )
        .await
        .expect("users oid")
        .into_iter()
        .flatten()
        .next()
        .expect("users has an oid");
        let mut report = Report::default();
        for file in fixture_files(dir) {
            let name = file
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&file).expect("fixture");
            for (n, mut stmt) in parse(&text).into_iter().enumerate() {
                if let Some((_, _, why)) = PENDING_IN_SQL
                    .iter()
                    .find(|(f, i, _)| *f == name && *i == n)
                {
                    stmt.pending = Some((*why).to_owned());
                }
                let must_fail = name.ends_with(".pending") || stmt.pending.is_some();
                let sql = stmt.sql.replace("'16384'", &format!("'{oid}'"));
                let result = cells(&c, &sql).await;
                let missing: Vec<&String> = match &result {
                    Ok(got) => stmt
                        .expects
                        .iter()
                        .filter(|e| !got.iter().any(|g| g.as_deref() == Some(e.as_str())))
                        .collect(),
                    Err(_) => Vec::new(),
                };
                let at = format!("{name}#{n}");
                match (result, must_fail) {
                    (Ok(got), false) if missing.is_empty() => {
                        report.passed += 1;
                        report.lines.push(format!("ok {at} ({} cells)", got.len()));
                    }
                    (Ok(_), false) => report
                        .failures
                        .push(format!("{at}: result lacks {missing:?}")),
                    (Err(e), false) => report.failures.push(format!("{at}: {}", error_text(&e))),
                    (Ok(_), true) if missing.is_empty() => {
                        let note = format!(
                            "NOTE: pending {at} passes now: move it out of the .pending file \
                             (or PENDING_IN_SQL)"
                        );
                        eprintln!("{note}");
                        report.lines.push(note);
                    }
                    (Ok(_), true) => report.lines.push(format!(
                        "pending {at} ({}): runs, result lacks {missing:?}",
                        stmt.pending.as_deref().unwrap_or("?")
                    )),
                    (Err(e), true) => report.lines.push(format!(
                        "pending {at} ({}): {}",
                        stmt.pending.as_deref().unwrap_or("?"),
                        error_text(&e)
                    )),
                }
            }
        }
        report
    })
}

/// What the soak saw.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// Connections that were open at once.
    pub connections: usize,
    /// Statements completed.
    pub queries: u64,
    /// Every error (none expected).
    pub errors: Vec<String>,
    /// SQLSTATE of the connection attempt beyond the limit.
    pub over_limit_state: Option<String>,
    /// Whether a connection succeeded again after one client left.
    pub reconnected: bool,
    /// Rows the clients inserted.
    pub rows_written: i64,
    /// Rows in the written table afterwards.
    pub soak_rows: i64,
}

/// Opens `n` connections, runs a mix of count queries, grouped counts and
/// inserts on all of them for `run_for`, then checks the limit (`53300`).
pub async fn soak(port: u16, n: usize, run_for: Duration) -> SoakReport {
    let mut report = SoakReport::default();
    {
        let setup = connect(port).await.expect("connect");
        setup
            .batch_execute("CREATE TABLE soak (k BIGINT PRIMARY KEY, v INT)")
            .await
            .expect("create soak");
    }
    // The setup connection's slot is released when the server sees it close.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        match connect(port).await {
            Ok(c) => clients.push(Arc::new(c)),
            Err(e) => report
                .errors
                .push(format!("connect {i}: {}", error_text(&e))),
        }
    }
    report.connections = clients.len();
    let queries = Arc::new(AtomicU64::new(0));
    let written = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + run_for;
    let mut tasks = Vec::new();
    for (id, c) in clients.iter().enumerate() {
        let c = c.clone();
        let queries = queries.clone();
        let written = written.clone();
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            let count = match c
                .prepare("SELECT COUNT(*) FROM users WHERE age > $1 AND vip = $2")
                .await
            {
                Ok(s) => s,
                Err(e) => return vec![format!("prepare: {}", error_text(&e))],
            };
            let mut iter: i64 = 0;
            while Instant::now() < deadline && errors.len() < 3 {
                let age = (iter % 60) as i32 + 10;
                let r = match iter % 10 {
                    0 => {
                        let k = id as i64 * 1_000_000 + iter;
                        let r = c
                            .execute(
                                "INSERT INTO soak (k, v) VALUES ($1, $2)",
                                &[&k, &(iter as i32)],
                            )
                            .await;
                        if r.is_ok() {
                            written.fetch_add(1, Ordering::Relaxed);
                        }
                        r.map(|_| ())
                    }
                    1 | 5 => c
                        .simple_query(
                            "SELECT device_os, COUNT(*) FROM users WHERE city = 'Shanghai' GROUP BY device_os",
                        )
                        .await
                        .map(|_| ()),
                    3 | 7 => c
                        .query_one(
                            "SELECT COUNT(*) FROM users WHERE age BETWEEN $1 AND $2 AND city = $3",
                            &[&age, &(age + 10), &"Beijing"],
                        )
                        .await
                        .map(|_| ()),
                    _ => c
                        .query_one(&count, &[&age, &(iter % 2 == 0)])
                        .await
                        .map(|_| ()),
                };
                match r {
                    Ok(()) => {
                        queries.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(format!("client {id}: {}", error_text(&e))),
                }
                iter += 1;
            }
            errors
        }));
    }
    for t in tasks {
        match t.await {
            Ok(errs) => report.errors.extend(errs),
            Err(e) => report.errors.push(format!("task: {e}")),
        }
    }
    report.queries = queries.load(Ordering::Relaxed);
    report.rows_written = written.load(Ordering::Relaxed) as i64;
    // Everyone is still connected: one more is over the limit.
    report.over_limit_state = match connect(port).await {
        Ok(_) => Some("connected".into()),
        Err(e) => e.code().map(|s| s.code().to_owned()),
    };
    clients.pop();
    let mut reconnected = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(c) = connect(port).await {
            reconnected = Some(c);
            break;
        }
    }
    report.reconnected = reconnected.is_some();
    if let Some(c) = reconnected {
        report.soak_rows = match c.query_one("SELECT COUNT(*) FROM soak", &[]).await {
            Ok(row) => row.get(0),
            Err(e) => {
                report
                    .errors
                    .push(format!("final count: {}", error_text(&e)));
                -1
            }
        };
    }
    report
}
