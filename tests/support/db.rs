//! A database for the integration tests: the storage options they use and
//! a fresh temporary directory to keep it in.

use audb::db::Db;
use audb::storage::Options;
use std::path::Path;
use tempfile::TempDir;

/// Storage options for tests: no background maintenance, so nothing runs
/// behind a test's back.
pub fn options() -> Options {
    Options {
        background: false,
        ..Options::default()
    }
}

/// Opens (or creates) the database at `path` with [`options`].
pub fn open_at(path: impl AsRef<Path>) -> Db {
    Db::open(path, options()).expect("open")
}

/// A database on a fresh temporary directory, deleted when the returned
/// directory is dropped.
pub fn open_db() -> (Db, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_at(dir.path());
    (db, dir)
}
