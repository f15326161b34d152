//! The storage layer's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the storage layer.
///
/// `Corruption` is reserved for bytes on disk that fail a checksum or an
/// invariant; it always names the file and the byte offset, so an operator can
/// find the damage. Input errors (`InvalidValue`, `KeyTooLong`, …) never
/// change the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An operating-system IO error, with the file it happened on.
    #[error("io error on {file}: {source}")]
    Io {
        /// The file (or directory) being accessed.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes on disk failed a checksum or a structural check.
    #[error("corruption in {file} at byte {offset}: {what}")]
    Corruption {
        /// The damaged file, relative to the data directory.
        file: PathBuf,
        /// Byte offset of the damaged structure within the file.
        offset: u64,
        /// What was wrong.
        what: String,
    },
    /// The data directory was written by a newer (or unknown) format version.
    #[error("{file} has format version {found}; this build reads versions {oldest}..={newest}")]
    UnsupportedVersion {
        /// The file carrying the version.
        file: PathBuf,
        /// The version found.
        found: u32,
        /// Oldest readable version.
        oldest: u32,
        /// Newest readable version.
        newest: u32,
    },
    /// The directory exists but is not an audb data directory.
    #[error("{0} is not an audb data directory (no MANIFEST, but other files present)")]
    NotADataDirectory(PathBuf),
    /// Another process holds the data directory's lock.
    #[error("data directory {0} is in use by another audb process")]
    Locked(PathBuf),
    /// No table with this name or id.
    #[error("table {0} does not exist")]
    NoSuchTable(String),
    /// A table with this name already exists.
    #[error("table {0} already exists")]
    TableExists(String),
    /// No column with this name or id.
    #[error("column {column} of table {table} does not exist")]
    NoSuchColumn {
        /// Table name.
        table: String,
        /// Column name or id.
        column: String,
    },
    /// A column with this name already exists.
    #[error("column {column} of table {table} already exists")]
    ColumnExists {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
    },
    /// A value does not fit its column's type.
    #[error("invalid value for column {column} ({expected}): {detail}")]
    InvalidValue {
        /// Column name.
        column: String,
        /// The column's type.
        expected: String,
        /// What was wrong with the value.
        detail: String,
    },
    /// A key of the wrong type for the table's key column.
    #[error("key {key} does not match key type {expected:?} of table {table}")]
    KeyTypeMismatch {
        /// Table name.
        table: String,
        /// The key given.
        key: String,
        /// The key type of the table.
        expected: crate::index::KeyType,
    },
    /// A key longer than [`crate::storage::limits::KEY_BYTES_MAX`].
    #[error("key of {len} bytes exceeds the limit of {max} bytes")]
    KeyTooLong {
        /// Length of the key given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A categorical value longer than [`crate::storage::limits::VALUE_BYTES_MAX`].
    #[error("value of {len} bytes for column {column} exceeds the limit of {max} bytes")]
    ValueTooLong {
        /// Column name.
        column: String,
        /// Length of the value.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A categorical column would exceed its distinct-value limit.
    #[error("column {column} would have more than {max} distinct values")]
    TooManyValues {
        /// Column name.
        column: String,
        /// The limit.
        max: usize,
    },
    /// A table ran out of row ids (2^32 − 1 rows ever inserted).
    #[error("table {0} has exhausted its row id space")]
    RowIdsExhausted(String),
    /// An insert found the key already present (insert-only mode).
    #[error("duplicate key {key} in table {table}")]
    DuplicateKey {
        /// Table name.
        table: String,
        /// The key.
        key: String,
    },
    /// A row of a bulk load was rejected; nothing of the load was applied.
    #[error("row {row}: {source}")]
    BadRow {
        /// 1-based row number in the load's input.
        row: u64,
        /// Why the row was rejected.
        #[source]
        source: Box<StorageError>,
    },
    /// A limit on schema size was reached.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// The store was closed, or a background task failed and the store
    /// refuses further writes to protect acknowledged data.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
}

/// Storage results.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

impl StorageError {
    /// An IO error on `file`.
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> StorageError {
        StorageError::Io {
            file: file.into(),
            source,
        }
    }

    /// A corruption error.
    pub fn corruption(
        file: impl Into<PathBuf>,
        offset: u64,
        what: impl Into<String>,
    ) -> StorageError {
        StorageError::Corruption {
            file: file.into(),
            offset,
            what: what.into(),
        }
    }
}
