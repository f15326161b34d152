//! Describing a prepared statement: its parameter types and result
//! columns, for ParameterDescription and RowDescription.
//!
//! Stopgap until the SQL layer offers `Db::describe` (bind and plan without
//! running): a query is described by running it with every parameter NULL
//! on a snapshot, reading the parameter types the binder inferred and the
//! columns of the result. Only queries (reads) run this way; other
//! statements report the client's declared parameter types (`text` for
//! undeclared ones, as PostgreSQL resolves unknowns) and no columns, or
//! for `SHOW`/`EXPLAIN` the columns of running them (they write nothing).

use crate::db::{Db, Session, StatementResult};
use crate::exec::parallel::Cancel;
use crate::sql::error::SqlResult;
use crate::sql::relation::Column;
use crate::sql::scalar::{EvalContext, Params};
use crate::sql::select::{QueryCtx, run_query};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::Statement;
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::time::Instant;

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
    let nulls = vec![Datum::Null; types.len()];
    let columns = match stmt {
        Statement::Query(q) => {
            session.cancel.store(false, Ordering::Relaxed);
            let snapshot = db.store().snapshot();
            let eval = EvalContext {
                now_micros: 0,
                timezone_offset_secs: session.timezone_offset_secs(),
                params: nulls,
            };
            let params = RefCell::new(Params::with_types(types.clone()));
            let deadline = session.statement_timeout().map(|d| Instant::now() + d);
            let cancel = Cancel::new(session.cancel.clone(), deadline);
            let ctx = QueryCtx {
                snapshot: &snapshot,
                eval: &eval,
                params: &params,
                cancel: &cancel,
                depth: 0,
            };
            let rel = run_query(&ctx, q)?;
            types = params.into_inner().types;
            Some(rel.columns)
        }
        Statement::ShowVariable { .. } | Statement::Explain { .. } => {
            match db.run(session, stmt, &types, &nulls)? {
                StatementResult::Rows(rel) => Some(rel.columns.clone()),
                StatementResult::Command(_) => None,
            }
        }
        _ => None,
    };
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
