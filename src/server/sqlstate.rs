//! Errors at the server edge: the one place a [`SqlError`] becomes a
//! PostgreSQL ErrorResponse, plus the few errors the protocol layer raises
//! itself (connection and transaction-block states the SQL layer has no
//! SQLSTATE for).

use crate::sql::error::SqlError;
use pgwire::error::{ErrorInfo, PgWireError};

/// `ERROR` severity.
const ERROR: &str = "ERROR";
/// `FATAL` severity: the connection ends.
const FATAL: &str = "FATAL";
/// `WARNING` severity (notices).
const WARNING: &str = "WARNING";

/// The ErrorResponse fields of a SQL error: SQLSTATE, message, detail and
/// hint. Every SQL error reaches clients through this function.
pub(crate) fn error_info(e: &SqlError) -> ErrorInfo {
    let mut info = ErrorInfo::new(
        ERROR.to_owned(),
        e.state.code().to_owned(),
        e.message.clone(),
    );
    info.detail = e.detail.clone();
    info.hint = e.hint.clone();
    info
}

/// A SQL error as the `PgWireError` pgwire sends (and then skips to Sync in
/// the extended protocol).
pub(crate) fn wire_error(e: &SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

/// An ERROR raised by the protocol layer itself, with its SQLSTATE.
pub(crate) fn protocol_error(code: &str, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(ERROR.to_owned(), code.to_owned(), message.into())
}

/// A FATAL error: sent, then the connection closes.
pub(crate) fn fatal(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        FATAL.to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

/// A WARNING notice.
pub(crate) fn warning(code: &str, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(WARNING.to_owned(), code.to_owned(), message.into())
}

/// SQLSTATEs the protocol layer uses that [`crate::sql::error::SqlState`]
/// does not (yet) have.
pub(crate) mod codes {
    /// 01000 warning
    pub(crate) const WARNING: &str = "01000";
    /// 25001 active_sql_transaction
    pub(crate) const ACTIVE_SQL_TRANSACTION: &str = "25001";
    /// 25P01 no_active_sql_transaction
    pub(crate) const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
    /// 25P02 in_failed_sql_transaction
    pub(crate) const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    /// 3D000 invalid_catalog_name
    pub(crate) const INVALID_CATALOG_NAME: &str = "3D000";
    /// 53300 too_many_connections
    pub(crate) const TOO_MANY_CONNECTIONS: &str = "53300";
    /// 28000 invalid_authorization_specification
    pub(crate) const INVALID_AUTHORIZATION: &str = "28000";
    /// 08P01 protocol_violation
    pub(crate) const PROTOCOL_VIOLATION: &str = "08P01";
    /// 42P18 indeterminate_datatype
    pub(crate) const INDETERMINATE_DATATYPE: &str = "42P18";
    /// 22P03 invalid_binary_representation
    pub(crate) const INVALID_BINARY_REPRESENTATION: &str = "22P03";
    /// 22021 character_not_in_repertoire
    pub(crate) const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
    /// 0A000 feature_not_supported
    pub(crate) const FEATURE_NOT_SUPPORTED: &str = "0A000";
    /// 26000 invalid_sql_statement_name
    pub(crate) const INVALID_SQL_STATEMENT_NAME: &str = "26000";
    /// 34000 invalid_cursor_name
    pub(crate) const INVALID_CURSOR_NAME: &str = "34000";
    /// 22023 invalid_parameter_value
    pub(crate) const INVALID_PARAMETER_VALUE: &str = "22023";
    /// 57014 query_canceled
    pub(crate) const QUERY_CANCELED: &str = "57014";
}
