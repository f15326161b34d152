//! Opening the data directory with errors a user can act on.

use super::{CliError, CliResult};
use audb::config::Settings;
use audb::storage::format::{LOCK_FILE, MANIFEST_FILE, MANIFEST_TMP_FILE};
use audb::storage::{Options, StorageError, Store};
use std::path::Path;

/// Whether a missing data directory may be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// `serve`, `demo`: create it (and an empty database in it).
    IfMissing,
    /// `load`, `sql`, `check`: it must already hold a database.
    Never,
}

/// Refuses, before touching anything, a path that is not a directory, a
/// directory with files but no manifest (someone else's directory: opening
/// it would leave a lock file behind), and — with [`Create::Never`] — a
/// missing or empty directory.
pub fn precheck(dir: &Path, create: Create) -> CliResult {
    let shown = dir.display();
    if !dir.exists() {
        return match create {
            Create::IfMissing => Ok(()),
            Create::Never => Err(CliError::Usage(format!(
                "data directory {shown} does not exist (create one with `audb demo` or `audb serve`)"
            ))),
        };
    }
    if !dir.is_dir() {
        return Err(CliError::Usage(format!("{shown} is not a directory")));
    }
    if dir.join(MANIFEST_FILE).is_file() {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::Usage(format!("cannot read data directory {shown}: {e}")))?;
    let mut foreign = false;
    for entry in entries {
        let entry = entry
            .map_err(|e| CliError::Usage(format!("cannot read data directory {shown}: {e}")))?;
        let name = entry.file_name();
        if name != LOCK_FILE && name != MANIFEST_TMP_FILE {
            foreign = true;
            break;
        }
    }
    if foreign {
        return Err(CliError::Usage(format!(
            "{shown} is not an audb data directory (it has files but no {MANIFEST_FILE})"
        )));
    }
    match create {
        Create::IfMissing => Ok(()),
        Create::Never => Err(CliError::Usage(format!(
            "data directory {shown} holds no database (create one with `audb demo` or `audb serve`)"
        ))),
    }
}

/// Opens the store of `settings.data_dir` with `options`.
pub fn open(settings: &Settings, create: Create, options: Options) -> CliResult<Store> {
    let dir = &settings.data_dir;
    precheck(dir, create)?;
    Store::open(dir, options).map_err(|e| open_error(dir, e))
}

/// Maps an error of [`Store::open`]: a directory that is not (or not yet)
/// readable by this build is a usage error; anything else a failure.
pub fn open_error(dir: &Path, e: StorageError) -> CliError {
    match e {
        StorageError::NotADataDirectory(_) | StorageError::UnsupportedVersion { .. } => {
            CliError::Usage(e.to_string())
        }
        StorageError::Locked(_) => CliError::Failed(format!(
            "{e} (stop the server, or use `psql` against it instead)"
        )),
        other => CliError::Failed(format!("cannot open {}: {other}", dir.display())),
    }
}
