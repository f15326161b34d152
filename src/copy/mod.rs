//! PostgreSQL's `COPY`: the text, CSV and binary formats, their options,
//! bulk input (`COPY … FROM STDIN`) through [`Store::bulk_load`], and
//! streaming output (`COPY … TO STDOUT`). The wire protocol (CopyIn/CopyOut
//! messages) is the server's business; this module sees bytes in and bytes
//! out.
//!
//! - [`options`]: `WITH (FORMAT csv, HEADER, …)` and the legacy `WITH CSV
//!   HEADER` / `BINARY` words.
//! - [`binary`]: PostgreSQL's binary formats: the per-type `*send`/`*recv`
//!   codec (shared with the server's binary results and parameters) and
//!   the binary COPY file format.
//! - [`records`] and [`codec`]: records out of arbitrary chunks, fields out
//!   of records, and fields back into bytes.
//! - [`convert`]: field text → stored values, PostgreSQL's input rules; the
//!   one conversion path of `COPY` and `audb load`.
//! - [`ingest`]: one `COPY … FROM STDIN`: rows are checked as they arrive
//!   (an error names its line at once), kept as raw bytes (spilled to a
//!   temporary file beyond a few MiB), and loaded in one atomic bulk load
//!   when the client ends the data.
//! - [`export`]: one `COPY … TO STDOUT`, producing rows in batches.
//!
//! [`Store::bulk_load`]: crate::storage::Store::bulk_load

pub mod binary;
pub mod codec;
pub mod convert;
pub mod export;
pub mod ingest;
pub mod options;
pub mod records;
pub mod target;

use crate::sql::error::SqlError;
use sqlparser::ast::{CopySource, CopyTarget, Statement};
use std::fmt;

pub use options::{CopyFormat, CopyOptions};

/// SQLSTATE 22P04 bad_copy_file_format: wrong field counts, bad quoting.
pub const BAD_COPY_FILE_FORMAT: &str = "22P04";

/// A COPY error: SQLSTATE, message and PostgreSQL's CONTEXT line
/// (`COPY users, line 3, column age: "abc"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyError {
    /// The SQLSTATE.
    pub code: &'static str,
    /// The primary message.
    pub message: String,
    /// DETAIL, if any.
    pub detail: Option<String>,
    /// HINT, if any.
    pub hint: Option<String>,
    /// CONTEXT: where in the input the error is.
    pub context: Option<String>,
}

impl CopyError {
    /// An error with this SQLSTATE and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> CopyError {
        CopyError {
            code,
            message: message.into(),
            detail: None,
            hint: None,
            context: None,
        }
    }

    /// A 22P04 bad_copy_file_format error.
    pub fn bad_format(message: impl Into<String>) -> CopyError {
        CopyError::new(BAD_COPY_FILE_FORMAT, message)
    }

    /// Adds the CONTEXT line.
    pub fn with_context(mut self, context: impl Into<String>) -> CopyError {
        self.context = Some(context.into());
        self
    }
}

impl From<SqlError> for CopyError {
    fn from(e: SqlError) -> CopyError {
        CopyError {
            code: e.state.code(),
            message: e.message,
            detail: e.detail,
            hint: e.hint,
            context: None,
        }
    }
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(c) = &self.context {
            write!(f, " (CONTEXT: {c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CopyError {}

/// Result of COPY operations.
pub type CopyResult<T> = Result<T, CopyError>;

/// Which way a COPY statement goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `COPY … FROM STDIN`.
    In,
    /// `COPY … TO STDOUT`.
    Out,
}

/// The direction of a COPY statement, or why it cannot run: server-side
/// files and programs are refused with 42501, as PostgreSQL refuses them to
/// roles without `pg_read_server_files` / `pg_write_server_files`.
pub fn direction(stmt: &Statement) -> Option<CopyResult<Direction>> {
    let Statement::Copy {
        source, to, target, ..
    } = stmt
    else {
        return None;
    };
    Some(match (target, to) {
        (CopyTarget::Stdin, false) if matches!(source, CopySource::Table { .. }) => {
            Ok(Direction::In)
        }
        (CopyTarget::Stdout, true) => Ok(Direction::Out),
        (CopyTarget::File { .. } | CopyTarget::Program { .. }, _) => Err(server_files(*to)),
        _ => Err(CopyError::new(
            "42601",
            "COPY reads FROM STDIN into a table and writes TO STDOUT from a table or a query",
        )),
    })
}

fn server_files(to: bool) -> CopyError {
    let (verb, role) = if to {
        ("to", "pg_write_server_files")
    } else {
        ("from", "pg_read_server_files")
    };
    let mut e = CopyError::new(
        "42501",
        format!(
            "COPY {verb} a file or program on the server is not allowed in audb (it would need {role})"
        ),
    );
    e.hint = Some(
        "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone."
            .into(),
    );
    e
}

/// `limit_printout_length`: long input in CONTEXT lines is cut to 100
/// bytes and `...`, as PostgreSQL does.
pub(crate) fn printout(s: &str) -> String {
    const MAX: usize = 100;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}
