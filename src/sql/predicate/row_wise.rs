//! Predicates that compare columns of the table with each other, or
//! compute anything else over several of its columns: the last resort of
//! the `WHERE` compiler, after bitmap leaves and per-value predicates.
//!
//! Two numeric columns of one stored encoding compared with `=`, `<>`, `<`,
//! `<=`, `>`, `>=` (two integer columns, numerics of one scale, two floats,
//! two dates, …) become [`Pred::CompareColumns`], computed on their planes.
//! Any other boolean expression over the table's columns (key included)
//! is bound by the scalar layer with PostgreSQL's typing — so `city < age`
//! is 42883 as there — and becomes a [`Pred::RowWise`] evaluated row by row
//! over the rows the rest of the filter leaves. Expressions holding a
//! subquery are declined (`None`): a subquery correlated with the table's
//! rows is run by the caller's own row-by-row fallback.

use super::{ColRef, PredContext, column_ref};
use crate::catalog;
use crate::exec::filter::{Pred, RowPredicate, RowWise};
use crate::exec::parallel::Cancel;
use crate::exec::rows::Fetch;
use crate::index::bsi::CompareOp;
use crate::index::{ColumnType, KeyType};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::scalar::{BoundExpr, EvalContext, Scope};
use crate::sql::types::DataType;
use sqlparser::ast::{BinaryOperator, Expr, Query, Visit, Visitor};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::Arc;

/// An expression bound for row-by-row evaluation, with what evaluating it
/// needs from the statement.
pub struct RowBinding {
    /// The bound expression.
    pub expr: BoundExpr,
    /// The statement's clock, time zone and parameters.
    pub eval: EvalContext,
    /// The statement's cancellation, timeout and memory budget.
    pub cancel: Cancel,
}

/// Compiles `e` into a column-to-column comparison or a row-by-row
/// predicate, or `None` (a subquery inside, or a form the scalar layer
/// does not support either); 42804 naming `context` (`WHERE`, `AND` …)
/// when `e` is not boolean.
pub(super) fn compile(ctx: &dyn PredContext, e: &Expr, context: &str) -> SqlResult<Option<Pred>> {
    if let Some(p) = compare_columns(ctx, e)? {
        return Ok(Some(p));
    }
    if has_subquery(e) {
        return Ok(None);
    }
    let scope = TableScope {
        ctx,
        columns: RefCell::new(Vec::new()),
    };
    let binding = match ctx.bind_rows(e, &scope) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(None),
        Err(err) if err.state == SqlState::FeatureNotSupported => return Ok(None),
        Err(err) => return Err(err),
    };
    if binding.expr.ty != DataType::Bool {
        return Err(super::not_boolean(context, binding.expr.ty));
    }
    let predicate = RowPredicate::new(
        binding.expr,
        scope.columns.into_inner(),
        binding.eval,
        binding.cancel,
        e.to_string(),
    );
    Ok(Some(Pred::RowWise(RowWise(Arc::new(predicate)))))
}

/// `a op b` for two numeric columns whose stored integers compare as their
/// values do.
fn compare_columns(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Option<Pred>> {
    let Expr::BinaryOp { left, op, right } = e else {
        return Ok(None);
    };
    let op = match op {
        BinaryOperator::Eq => CompareOp::Eq,
        BinaryOperator::NotEq => CompareOp::Ne,
        BinaryOperator::Lt => CompareOp::Lt,
        BinaryOperator::LtEq => CompareOp::Le,
        BinaryOperator::Gt => CompareOp::Gt,
        BinaryOperator::GtEq => CompareOp::Ge,
        _ => return Ok(None),
    };
    let (Some(ColRef::Tag(a)), Some(ColRef::Tag(b))) =
        (column_ref(ctx, left)?, column_ref(ctx, right)?)
    else {
        return Ok(None);
    };
    match (encoding(a.ty), encoding(b.ty)) {
        (Some(x), Some(y)) if x == y => Ok(Some(Pred::CompareColumns {
            left: a.id,
            op,
            right: b.id,
        })),
        _ => Ok(None),
    }
}

/// How a numeric column's values are stored, as far as comparing the
/// stored integers goes: integers scaled by `10^scale` (integer types are
/// scale 0, as `numeric(p, 0)`), floats through the order-preserving
/// mapping (`real` widened exactly, as PostgreSQL compares `real` with
/// `double precision`), or one of the date/time types (compared only with
/// the same type: the others need a conversion, `timestamptz` one that
/// depends on the time zone).
#[derive(PartialEq, Eq)]
enum Encoding {
    Scaled(u8),
    Float,
    Date,
    Timestamp,
    TimestampTz,
}

fn encoding(ty: ColumnType) -> Option<Encoding> {
    Some(match ty {
        ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt => Encoding::Scaled(0),
        ColumnType::Numeric { scale, .. } => Encoding::Scaled(scale),
        ColumnType::Real | ColumnType::Double => Encoding::Float,
        ColumnType::Date => Encoding::Date,
        ColumnType::Timestamp => Encoding::Timestamp,
        ColumnType::TimestampTz => Encoding::TimestampTz,
        ColumnType::Boolean | ColumnType::Text | ColumnType::TextArray => return None,
    })
}

/// Whether `e` holds a subquery anywhere.
fn has_subquery(e: &Expr) -> bool {
    struct Find;
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            ControlFlow::Break(())
        }
    }
    e.visit(&mut Find).is_break()
}

/// The column `name` of an audience table as a fetch and its SQL type:
/// the key or a visible tag column, else 42703 (`qualifier` only shapes
/// the message).
pub(crate) fn table_column(
    table: &crate::storage::TableSnapshot,
    qualifier: Option<&str>,
    name: &str,
) -> SqlResult<(Fetch, DataType)> {
    let schema = table.schema();
    if name == schema.key_name {
        let ty = match schema.key_type {
            KeyType::BigInt => DataType::Int8,
            KeyType::Text => DataType::Text,
        };
        return Ok((Fetch::Key, ty));
    }
    match schema.column(name) {
        Some(c) if !catalog::is_hidden(&c.name) => {
            Ok((Fetch::Tag(c.id, c.ty), DataType::of_column(c.ty)))
        }
        _ => {
            let shown = match qualifier {
                Some(q) => format!("{q}.{name}"),
                None => format!("\"{name}\""),
            };
            Err(SqlError::new(
                SqlState::UndefinedColumn,
                format!("column {shown} does not exist"),
            ))
        }
    }
}

/// The position of `fetch` in `columns`, appended if new.
pub(crate) fn intern(columns: &mut Vec<Fetch>, fetch: Fetch) -> usize {
    match columns.iter().position(|f| *f == fetch) {
        Some(i) => i,
        None => {
            columns.push(fetch);
            columns.len() - 1
        }
    }
}

/// The table's columns as a row: each column the expression references
/// gets the next position, in order of first reference.
struct TableScope<'a> {
    ctx: &'a dyn PredContext,
    columns: RefCell<Vec<Fetch>>,
}

impl Scope for TableScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if let Some(q) = qualifier
            && !self.ctx.qualifies(q)
        {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("missing FROM-clause entry for table \"{q}\""),
            ));
        }
        let (fetch, ty) = table_column(self.ctx.table(), qualifier, name)?;
        Ok((intern(&mut self.columns.borrow_mut(), fetch), ty))
    }
}

#[cfg(test)]
mod tests;
