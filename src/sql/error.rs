//! SQL errors, each with the SQLSTATE PostgreSQL would report.

use crate::index::encode::EncodeError;
use crate::storage::StorageError;
use std::fmt;

/// A SQLSTATE error class code, as PostgreSQL reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlState {
    /// 42601 syntax_error
    SyntaxError,
    /// 42P01 undefined_table
    UndefinedTable,
    /// 42703 undefined_column
    UndefinedColumn,
    /// 42883 undefined_function
    UndefinedFunction,
    /// 42804 datatype_mismatch
    DatatypeMismatch,
    /// 42846 cannot_coerce
    CannotCoerce,
    /// 42P07 duplicate_table
    DuplicateTable,
    /// 42701 duplicate_column
    DuplicateColumn,
    /// 42702 ambiguous_column
    AmbiguousColumn,
    /// 42712 duplicate_alias
    DuplicateAlias,
    /// 42803 grouping_error
    GroupingError,
    /// 42P10 invalid_column_reference
    InvalidColumnReference,
    /// 42P02 undefined_parameter
    UndefinedParameter,
    /// 42809 wrong_object_type
    WrongObjectType,
    /// 42710 duplicate_object
    DuplicateObject,
    /// 42704 undefined_object
    UndefinedObject,
    /// 42P16 invalid_table_definition
    InvalidTableDefinition,
    /// 22P02 invalid_text_representation
    InvalidTextRepresentation,
    /// 22003 numeric_value_out_of_range
    NumericValueOutOfRange,
    /// 22008 datetime_field_overflow
    DatetimeFieldOverflow,
    /// 22012 division_by_zero
    DivisionByZero,
    /// 22001 string_data_right_truncation
    StringDataRightTruncation,
    /// 22023 invalid_parameter_value
    InvalidParameterValue,
    /// 22004 null_value_not_allowed
    NullValueNotAllowed,
    /// 2201W invalid_row_count_in_limit_clause
    InvalidRowCountInLimit,
    /// 2201X invalid_row_count_in_result_offset_clause
    InvalidRowCountInResultOffset,
    /// 23505 unique_violation
    UniqueViolation,
    /// 23502 not_null_violation
    NotNullViolation,
    /// 21000 cardinality_violation
    CardinalityViolation,
    /// 0A000 feature_not_supported
    FeatureNotSupported,
    /// 54000 program_limit_exceeded
    ProgramLimitExceeded,
    /// 54001 statement_too_complex
    StatementTooComplex,
    /// 54023 too_many_arguments
    TooManyArguments,
    /// 53200 out_of_memory
    OutOfMemory,
    /// 53100 disk_full
    DiskFull,
    /// 57014 query_canceled
    QueryCanceled,
    /// 25P02 in_failed_sql_transaction
    InFailedSqlTransaction,
    /// 25001 active_sql_transaction
    ActiveSqlTransaction,
    /// 42501 insufficient_privilege
    InsufficientPrivilege,
    /// 55000 object_not_in_prerequisite_state
    ObjectNotInPrerequisiteState,
    /// 55P02 cant_change_runtime_param
    CantChangeRuntimeParam,
    /// XX001 data_corrupted
    DataCorrupted,
    /// 58030 io_error
    IoError,
    /// 25P01 no_active_sql_transaction
    NoActiveSqlTransaction,
    /// 3D000 invalid_catalog_name
    InvalidCatalogName,
    /// 3F000 invalid_schema_name
    InvalidSchemaName,
    /// 42602 invalid_name
    InvalidName,
    /// 53300 too_many_connections
    TooManyConnections,
    /// 08P01 protocol_violation
    ProtocolViolation,
    /// 22P03 invalid_binary_representation
    InvalidBinaryRepresentation,
    /// 42P18 indeterminate_datatype
    IndeterminateDatatype,
    /// 22021 character_not_in_repertoire
    CharacterNotInRepertoire,
    /// 22007 invalid_datetime_format
    InvalidDatetimeFormat,
    /// 22025 invalid_escape_sequence
    InvalidEscapeSequence,
    /// 42725 ambiguous_function
    AmbiguousFunction,
    /// 28000 invalid_authorization_specification
    InvalidAuthorizationSpecification,
    /// 28P01 invalid_password
    InvalidPassword,
    /// XX000 internal_error
    InternalError,
}

impl SqlState {
    /// The five-character code.
    pub fn code(self) -> &'static str {
        use SqlState::*;
        match self {
            SyntaxError => "42601",
            UndefinedTable => "42P01",
            UndefinedColumn => "42703",
            UndefinedFunction => "42883",
            DatatypeMismatch => "42804",
            CannotCoerce => "42846",
            DuplicateTable => "42P07",
            DuplicateColumn => "42701",
            AmbiguousColumn => "42702",
            DuplicateAlias => "42712",
            GroupingError => "42803",
            InvalidColumnReference => "42P10",
            UndefinedParameter => "42P02",
            WrongObjectType => "42809",
            DuplicateObject => "42710",
            UndefinedObject => "42704",
            InvalidTableDefinition => "42P16",
            InvalidTextRepresentation => "22P02",
            NumericValueOutOfRange => "22003",
            DatetimeFieldOverflow => "22008",
            DivisionByZero => "22012",
            StringDataRightTruncation => "22001",
            InvalidParameterValue => "22023",
            NullValueNotAllowed => "22004",
            InvalidRowCountInLimit => "2201W",
            InvalidRowCountInResultOffset => "2201X",
            UniqueViolation => "23505",
            NotNullViolation => "23502",
            CardinalityViolation => "21000",
            FeatureNotSupported => "0A000",
            ProgramLimitExceeded => "54000",
            StatementTooComplex => "54001",
            TooManyArguments => "54023",
            OutOfMemory => "53200",
            DiskFull => "53100",
            QueryCanceled => "57014",
            InFailedSqlTransaction => "25P02",
            ActiveSqlTransaction => "25001",
            InsufficientPrivilege => "42501",
            ObjectNotInPrerequisiteState => "55000",
            CantChangeRuntimeParam => "55P02",
            DataCorrupted => "XX001",
            IoError => "58030",
            NoActiveSqlTransaction => "25P01",
            InvalidCatalogName => "3D000",
            InvalidSchemaName => "3F000",
            InvalidName => "42602",
            TooManyConnections => "53300",
            ProtocolViolation => "08P01",
            InvalidBinaryRepresentation => "22P03",
            IndeterminateDatatype => "42P18",
            CharacterNotInRepertoire => "22021",
            InvalidDatetimeFormat => "22007",
            InvalidEscapeSequence => "22025",
            AmbiguousFunction => "42725",
            InvalidAuthorizationSpecification => "28000",
            InvalidPassword => "28P01",
            InternalError => "XX000",
        }
    }
}

/// An error of the SQL layer: a SQLSTATE, a message, and optional detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// The SQLSTATE class.
    pub state: SqlState,
    /// The primary message, PostgreSQL style (lower case, no final period).
    pub message: String,
    /// Optional DETAIL line.
    pub detail: Option<String>,
    /// Optional HINT line.
    pub hint: Option<String>,
}

/// Results of the SQL layer.
pub type SqlResult<T> = Result<T, SqlError>;

impl SqlError {
    /// An error with a state and message.
    pub fn new(state: SqlState, message: impl Into<String>) -> SqlError {
        SqlError {
            state,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    /// Adds a DETAIL line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> SqlError {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a HINT line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> SqlError {
        self.hint = Some(hint.into());
        self
    }

    /// 0A000: a construct audb does not support, named.
    pub fn unsupported(what: impl fmt::Display) -> SqlError {
        SqlError::new(
            SqlState::FeatureNotSupported,
            format!("{what} is not supported"),
        )
    }

    /// 42601: a syntax error.
    pub fn syntax(message: impl Into<String>) -> SqlError {
        SqlError::new(SqlState::SyntaxError, message)
    }

    /// 42804: a type mismatch.
    pub fn mismatch(message: impl Into<String>) -> SqlError {
        SqlError::new(SqlState::DatatypeMismatch, message)
    }

    /// XX000: a bug; should never reach users.
    pub fn internal(message: impl Into<String>) -> SqlError {
        SqlError::new(SqlState::InternalError, message)
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqlError {}

impl From<EncodeError> for SqlError {
    fn from(e: EncodeError) -> SqlError {
        let state = match e.sqlstate() {
            "22P02" => SqlState::InvalidTextRepresentation,
            "22007" => SqlState::InvalidDatetimeFormat,
            "22008" => SqlState::DatetimeFieldOverflow,
            "22003" => SqlState::NumericValueOutOfRange,
            _ => SqlState::InvalidParameterValue,
        };
        let mut err = SqlError::new(state, e.to_string());
        err.detail = e.detail();
        err
    }
}

/// The SQLSTATE of a storage error: the one place this mapping lives.
pub fn storage_sqlstate(e: &StorageError) -> SqlState {
    use StorageError as S;
    match e {
        S::Corruption { .. } | S::UnsupportedVersion { .. } | S::NotADataDirectory(_) => {
            SqlState::DataCorrupted
        }
        S::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
            SqlState::DiskFull
        }
        S::Io { .. } => SqlState::IoError,
        S::NoSuchTable(_) => SqlState::UndefinedTable,
        S::TableExists(_) => SqlState::DuplicateTable,
        S::NoSuchColumn { .. } => SqlState::UndefinedColumn,
        S::ColumnExists { .. } => SqlState::DuplicateColumn,
        S::InvalidValue { .. } | S::KeyTypeMismatch { .. } => SqlState::DatatypeMismatch,
        S::KeyTooLong { .. } | S::ValueTooLong { .. } => SqlState::StringDataRightTruncation,
        S::TooManyValues { .. } | S::LimitExceeded(_) | S::RowIdsExhausted(_) => {
            SqlState::ProgramLimitExceeded
        }
        S::DuplicateKey { .. } => SqlState::UniqueViolation,
        S::BadRow { source, .. } => storage_sqlstate(source),
        S::Locked(_) | S::Unavailable(_) => SqlState::ObjectNotInPrerequisiteState,
    }
}

impl From<StorageError> for SqlError {
    fn from(e: StorageError) -> SqlError {
        SqlError::new(storage_sqlstate(&e), e.to_string())
    }
}
