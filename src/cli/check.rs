//! `audb check`: verify a data directory offline.
//!
//! 1. Every WAL file is read and its frames checked, before anything is
//!    opened (opening cuts a torn tail; the report should still show it).
//! 2. The store is opened without background work: the manifest's checksum,
//!    every live segment's header, footer and meta block, and WAL replay.
//! 3. Every live segment is verified bitmap by bitmap ([`Segment::verify`]),
//!    each reported on its own line, every problem listed. Opening removed
//!    files the manifest does not name, so the segment files left in the
//!    directory are exactly the live ones.
//! 4. If all is well so far, [`Store::check`] repeats the verification from
//!    the manifest's own list and decodes every WAL record.
//!
//! [`Store::check`]: audb::storage::Store::check

use super::data_dir::{self, Create};
use super::{CliError, CliResult, group_digits};
use audb::config::Settings;
use audb::storage::format::{parse_segment_file_name, parse_wal_file_name};
use audb::storage::segment::{BitmapCache, Segment};
use audb::storage::{Backend, FsBackend, Options, wal};
use std::sync::Arc;

/// Bitmap cache for opening segments during the check (verification itself
/// bypasses the cache).
const CHECK_CACHE_BYTES: usize = 64 << 20;

/// Checks `settings.data_dir`; any problem is reported and makes the exit code 1.
pub fn run(settings: &Settings) -> CliResult {
    let dir = &settings.data_dir;
    data_dir::precheck(dir, Create::Never)?;
    let mut problems: Vec<String> = Vec::new();

    let fs = FsBackend::new(dir).map_err(|e| data_dir::open_error(dir, e))?;
    let mut wal_files: Vec<u64> = fs
        .list()
        .map_err(|e| CliError::Failed(e.to_string()))?
        .iter()
        .filter_map(|n| parse_wal_file_name(n))
        .collect();
    wal_files.sort_unstable();
    let mut wal_records = 0usize;
    for (i, &no) in wal_files.iter().enumerate() {
        match wal::read_wal(&fs, no) {
            Ok(contents) => {
                wal_records += contents.records.len();
                if let Some(torn) = &contents.torn_tail {
                    let newest = i + 1 == wal_files.len();
                    let line = format!(
                        "WAL file {}: {} bytes after offset {} are damaged ({})",
                        audb::storage::format::wal_file_name(no),
                        torn.bytes_dropped,
                        torn.offset,
                        torn.reason
                    );
                    if newest {
                        // A torn tail of the newest file is a crash during a
                        // write that was never acknowledged: normal.
                        println!("note: {line}; never acknowledged, cut at the next open");
                    } else {
                        problems.push(line);
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }

    let options = Options {
        background: false,
        bitmap_cache_bytes: CHECK_CACHE_BYTES,
        ..settings.store_options()
    };
    let store = match data_dir::open(settings, Create::Never, options) {
        Ok(store) => store,
        Err(CliError::Failed(m)) => {
            problems.push(m);
            return report(&problems, 0, wal_files.len(), wal_records);
        }
        Err(usage) => return Err(usage),
    };
    let snapshot = store.snapshot();
    let backend: &Arc<dyn Backend> = store.backend();
    let mut names: Vec<String> = backend
        .list()
        .map_err(|e| CliError::Failed(e.to_string()))?
        .into_iter()
        .filter(|n| parse_segment_file_name(n).is_some())
        .collect();
    names.sort();
    let cache = Arc::new(BitmapCache::new(CHECK_CACHE_BYTES));
    for name in &names {
        let verified = Segment::open(&**backend, name, cache.clone()).and_then(|seg| {
            seg.verify()?;
            Ok(seg)
        });
        match verified {
            Ok(seg) => {
                let table = snapshot.table_by_id(seg.table_id()).map_or_else(
                    || format!("table id {}", seg.table_id()),
                    |t| t.schema().name.clone(),
                );
                let (first, end) = seg.key_rows();
                println!(
                    "ok  {name}  {:.1} MB  {table}  new rows {first}..{end}",
                    seg.file_bytes() as f64 / 1e6,
                );
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    for schema in snapshot.tables() {
        match snapshot.table(&schema.name).map(|t| t.row_count()) {
            Some(Ok(rows)) => println!("table {}: {} rows", schema.name, group_digits(rows)),
            Some(Err(e)) => problems.push(format!("table {}: {e}", schema.name)),
            None => {}
        }
    }
    if problems.is_empty() {
        // The storage layer's own pass over the manifest's live files (and
        // every WAL record decoded), in case a file list and the manifest
        // ever disagree.
        if let Err(e) = store.check() {
            problems.push(e.to_string());
        }
    }
    report(&problems, names.len(), wal_files.len(), wal_records)
}

fn report(problems: &[String], segments: usize, wal_files: usize, records: usize) -> CliResult {
    for p in problems {
        println!("CORRUPT  {p}");
    }
    let summary =
        format!("{segments} segment file(s), {wal_files} WAL file(s) with {records} record(s)");
    if problems.is_empty() {
        println!("check passed: {summary}");
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "check failed: {} problem(s) found ({summary})",
            problems.len()
        )))
    }
}
