//! `audb demo`: the seeded demo audience in the data directory.

use super::data_dir::{self, Create};
use super::progress::Progress;
use super::{CliError, CliResult, group_digits};
use audb::config::Settings;
use audb::db::Db;
use audb::demo::{self, DemoError};

/// Builds the demo audience into `settings.data_dir`.
pub fn run(settings: &Settings) -> CliResult {
    let store = data_dir::open(settings, Create::IfMissing, settings.store_options())?;
    let db = Db::with_store(store);
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
