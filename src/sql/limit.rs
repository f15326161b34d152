//! `LIMIT` and `OFFSET` counts, evaluated like PostgreSQL's
//! `transformLimitClause`: the expression is coerced to `bigint` as an
//! assignment (`'x'` is 22P02, `2.5` rounds to 3, `true` is 42804), `NULL`
//! means no limit (no offset), and a negative count is 2201W for `LIMIT`
//! and 2201X for `OFFSET`.

use super::error::{SqlError, SqlResult, SqlState};
use super::scalar;
use super::select::{EmptyScope, QueryCtx};
use super::types::{DataType, Datum};
use sqlparser::ast::{Expr, LimitClause};

/// The `(offset, limit)` of a query's limit clause: offset 0 and no limit
/// when absent or `NULL`.
pub(crate) fn limit_offset(
    ctx: &QueryCtx<'_>,
    clause: Option<&LimitClause>,
) -> SqlResult<(u64, Option<u64>)> {
    let (limit, offset) = match clause {
        None => (None, None),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(SqlError::unsupported("LIMIT BY"));
            }
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
    };
    let offset = match offset {
        Some(e) => row_count(ctx, e, Clause::Offset)?.unwrap_or(0),
        None => 0,
    };
    let limit = match limit {
        Some(e) => row_count(ctx, e, Clause::Limit)?,
        None => None,
    };
    Ok((offset, limit))
}

/// Which clause a count belongs to.
#[derive(Clone, Copy)]
enum Clause {
    Limit,
    Offset,
}

impl Clause {
    fn name(self) -> &'static str {
        match self {
            Clause::Limit => "LIMIT",
            Clause::Offset => "OFFSET",
        }
    }

    /// PostgreSQL's SQLSTATE for a negative count.
    fn negative_state(self) -> SqlState {
        match self {
            Clause::Limit => SqlState::InvalidRowCountInLimit,
            Clause::Offset => SqlState::InvalidRowCountInResultOffset,
        }
    }
}

/// One count: `None` for `NULL`.
fn row_count(ctx: &QueryCtx<'_>, e: &Expr, clause: Clause) -> SqlResult<Option<u64>> {
    let what = clause.name();
    let mut params = ctx.params.borrow().clone();
    let bound =
        scalar::bind_assign_with(e, &EmptyScope, &mut params, DataType::Int8, None, Some(ctx));
    *ctx.params.borrow_mut() = params;
    let bound = bound.map_err(|err| {
        if err.state == SqlState::DatatypeMismatch {
            SqlError::mismatch(format!("argument of {what} must be type bigint"))
        } else {
            err
        }
    })?;
    match scalar::eval(&bound, &[], ctx.eval)? {
        Datum::Null => Ok(None),
        Datum::Int(n) => u64::try_from(n).map(Some).map_err(|_| {
            SqlError::new(
                clause.negative_state(),
                format!("{what} must not be negative"),
            )
        }),
        _ => Err(SqlError::mismatch(format!(
            "argument of {what} must be type bigint"
        ))),
    }
}
