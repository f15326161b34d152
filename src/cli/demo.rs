//! `audb demo`: the seeded demo audience in the data directory.

use super::data_dir::{self, Create};
use super::progress::Progress;
use super::{CliError, CliResult, group_digits};
use audb::config::Settings;
use audb::db::Db;
use audb::demo::{self, DemoError};
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

/// Builds the demo audience into `settings.data_dir`, or, with `csv`, writes
/// it to that CSV file (the `columns` after the key, comma-separated; the
/// benchmark columns by default) without touching the data directory.
pub fn run(settings: &Settings, csv: Option<&Path>, columns: Option<&str>) -> CliResult {
    if let Some(path) = csv {
        return write_csv(settings, path, columns);
    }
    let store = data_dir::open(settings, Create::IfMissing, settings.store_options())?;
    let db = Db::with_store(store).with_exec(settings.exec_config());
    build(&db, settings)
}

/// Builds the demo audience into an open database, with progress and a
/// summary line (shared with `serve --demo`).
pub fn build(db: &Db, settings: &Settings) -> CliResult {
    let users = settings.demo_users;
    tracing::info!(
        users,
        seed = settings.demo_seed,
        dir = %settings.data_dir.display(),
        "generating the demo audience"
    );
    let mut progress = Progress::new("generated");
    let mut report = |rows: u64| {
        let fraction = (users > 0).then(|| rows as f64 / users as f64);
        progress.update(rows, fraction);
    };
    let summary = demo::build(db, users, settings.demo_seed, &mut report).map_err(|e| match e {
        DemoError::AlreadyExists => CliError::Failed(e.to_string()),
        other => CliError::Failed(format!("demo failed: {other}")),
    })?;
    progress.finish();
    let secs = summary.load_time.as_secs_f64();
    tracing::info!(
        "demo audience ready: {} users in table {} ({:.1} MB) in {:.2} s ({} rows/s), views and comments in {:.2} s",
        group_digits(summary.load.inserted),
        demo::TABLE,
        summary.load.file_bytes as f64 / 1e6,
        secs,
        group_digits((summary.load.rows as f64 / secs.max(1e-6)) as u64),
        summary.catalog_time.as_secs_f64(),
    );
    Ok(())
}

/// `audb demo --csv FILE`: the audience as CSV, generated on every core.
fn write_csv(settings: &Settings, path: &Path, columns: Option<&str>) -> CliResult {
    let names: Vec<&str> = match columns {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        None => demo::BENCH_COLUMNS.to_vec(),
    };
    let selected = demo::select_columns(&names).map_err(|e| CliError::Usage(e.to_string()))?;
    let users = settings.demo_users;
    let file = std::fs::File::create(path)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", path.display())))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let mut progress = Progress::new("written");
    let mut report = |rows: u64| {
        let fraction = (users > 0).then(|| rows as f64 / users as f64);
        progress.update(rows, fraction);
    };
    let audience = demo::Audience::new(settings.demo_seed);
    demo::write_csv(&audience, users, &selected, threads, &mut out, &mut report)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    progress.finish();
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        "wrote {} users ({} columns) to {} in {:.2} s ({} rows/s)",
        group_digits(users),
        selected.len() + 1,
        path.display(),
        secs,
        group_digits((users as f64 / secs.max(1e-6)) as u64),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use audb::config::PartialSettings;

    fn settings(users: u64) -> Settings {
        Settings::resolve(PartialSettings {
            demo_users: Some(users),
            demo_seed: Some(42),
            ..PartialSettings::default()
        })
    }

    #[test]
    fn csv_has_the_chosen_columns_and_one_line_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        run(&settings(1_000), Some(&path), Some("city, vip")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1_001);
        assert_eq!(lines[0], "user_id,city,vip");
        assert!(lines[1_000].starts_with("u0001000,"));
        // No data directory was created.
        assert!(!dir.path().join("audb-data").exists());
    }

    #[test]
    fn csv_defaults_to_the_benchmark_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        run(&settings(3), Some(&path), None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header.split(',').count(), demo::BENCH_COLUMNS.len() + 1);
    }

    #[test]
    fn unknown_csv_column_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        let err = run(&settings(3), Some(&path), Some("city,nope")).unwrap_err();
        assert!(matches!(&err, CliError::Usage(m) if m == "no demo column named \"nope\""));
        assert!(!path.exists(), "nothing is written for a bad column list");
    }
}
