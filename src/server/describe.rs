//! Describing a prepared statement: its parameter types and result
//! columns, for ParameterDescription and RowDescription, through
//! [`Db::describe`] (which binds and plans without applying writes).

use crate::db::{Db, Session};
use crate::sql::error::SqlResult;
use crate::sql::relation::Column;
use crate::sql::types::DataType;
use sqlparser::ast::Statement;

/// What Describe reports about a statement.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Described {
    /// One type per parameter (never `Unknown`).
    pub(crate) params: Vec<DataType>,
    /// The result columns; `None` when the statement returns no rows.
    pub(crate) columns: Option<Vec<Column>>,
}

/// Describes `stmt` with `declared` parameter types (`Unknown` = infer)
/// and `count` parameters. Runs on a blocking thread.
pub(crate) fn describe(
    db: &Db,
    session: &mut Session,
    stmt: &Statement,
    declared: &[DataType],
    count: usize,
) -> SqlResult<Described> {
    let mut types = declared.to_vec();
    if types.len() < count {
        types.resize(count, DataType::Unknown);
    }
    let (mut types, columns) = db.describe(session, stmt, &types)?;
    for t in &mut types {
        if *t == DataType::Unknown {
            *t = DataType::Text;
        }
    }
    Ok(Described {
        params: types,
        columns,
    })
}
