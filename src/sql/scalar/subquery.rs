//! Subqueries inside expressions: `(SELECT …)`, `EXISTS (SELECT …)`,
//! `x [NOT] IN (SELECT …)`, `x = ANY (SELECT …)`, `ARRAY(SELECT …)`.
//!
//! The binder hands each subquery to a [`SubqueryHost`] (the query layer),
//! which runs it once while binding. A subquery that references no column
//! of an enclosing query is *uncorrelated*: that first run is its answer for
//! the whole statement (PostgreSQL's InitPlan), and an error it implies
//! (21000, more than one row) is raised only if the expression is actually
//! evaluated. A *correlated* subquery runs again for every outer row, with
//! the outer columns it references bound to that row's values (SubPlan).

use super::cast::cast;
use super::format::compare_datums;
use super::{EvalContext, Params, ScalarExpr, Scope};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::Query;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// Runs a correlated subquery for one outer row.
pub trait CorrelatedRows: Send + Sync {
    /// The subquery's rows when the enclosing query's current row is `outer`.
    fn rows(&self, outer: &[Datum]) -> SqlResult<Vec<Vec<Datum>>>;
}

/// What running a subquery while binding gave.
pub enum SubqueryRows {
    /// Uncorrelated: these are its rows for the whole statement.
    Once(Vec<Vec<Datum>>),
    /// Correlated: run again for each outer row.
    Correlated(Arc<dyn CorrelatedRows>),
}

/// The query layer's side of binding subqueries and outer references.
pub trait SubqueryHost {
    /// Runs `q` (a subquery of an expression bound in `scope`) once and
    /// says whether it is correlated. Returns its column types and rows.
    fn subquery(
        &self,
        q: &Query,
        scope: &dyn Scope,
        params: &mut Params,
    ) -> SqlResult<(Vec<DataType>, SubqueryRows)>;

    /// A column of an enclosing query that the current scope does not have
    /// (a correlated reference), as a typed literal of its current value;
    /// `None` when no enclosing query has it either.
    fn outer_column(&self, qualifier: Option<&str>, name: &str) -> Option<SqlResult<ScalarExpr>>;

    /// The statement's evaluation context (for casting subquery values).
    fn eval_context(&self) -> &EvalContext;
}

/// What a subquery expression computes from the subquery's rows.
#[derive(Clone, Debug, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT …)`: the single value (NULL without rows, 21000 with more
    /// than one).
    Scalar,
    /// `EXISTS (SELECT …)`.
    Exists,
    /// `ARRAY(SELECT …)` of text.
    Array,
    /// `arg [NOT] IN (SELECT …)` (also `= ANY`, `<> ALL`), compared in `cmp`.
    In {
        /// The tested value, coerced to `cmp`.
        arg: Box<ScalarExpr>,
        /// `NOT IN`.
        negated: bool,
        /// The comparison type.
        cmp: DataType,
    },
}

/// The subquery's answer, prepared once when uncorrelated.
enum Prepared {
    /// The value of a scalar, EXISTS or ARRAY subquery (or the error that
    /// evaluating it raises).
    Value(SqlResult<Datum>),
    /// An IN subquery's distinct non-NULL values, sorted, and whether a NULL
    /// was among them (or the error casting them raised).
    Set(SqlResult<(Vec<Datum>, bool)>),
    /// Run per outer row.
    Correlated(Arc<dyn CorrelatedRows>),
}

/// A bound subquery expression.
#[derive(Clone)]
pub struct SubqueryExpr {
    /// What it computes.
    pub kind: SubqueryKind,
    /// The type of the subquery's (first) column.
    pub column_ty: DataType,
    /// The expression's result type.
    pub ty: DataType,
    prepared: Arc<Prepared>,
}

impl fmt::Debug for SubqueryExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.prepared.as_ref() {
            Prepared::Correlated(_) => "correlated",
            _ => "once",
        };
        f.debug_struct("SubqueryExpr")
            .field("kind", &self.kind)
            .field("ty", &self.ty)
            .field("run", &how)
            .finish()
    }
}

impl PartialEq for SubqueryExpr {
    fn eq(&self, other: &SubqueryExpr) -> bool {
        Arc::ptr_eq(&self.prepared, &other.prepared) && self.kind == other.kind
    }
}

fn too_many_rows() -> SqlError {
    SqlError::new(
        SqlState::CardinalityViolation,
        "more than one row returned by a subquery used as an expression",
    )
}

impl SubqueryExpr {
    /// Builds the expression. `columns` must already be checked against
    /// the kind (one column except for EXISTS).
    pub(crate) fn new(
        kind: SubqueryKind,
        columns: &[DataType],
        rows: SubqueryRows,
        ctx: &EvalContext,
    ) -> SubqueryExpr {
        let column_ty = columns.first().copied().unwrap_or(DataType::Bool);
        let ty = match &kind {
            SubqueryKind::Scalar => column_ty,
            SubqueryKind::Exists | SubqueryKind::In { .. } => DataType::Bool,
            SubqueryKind::Array => column_ty.array_of().unwrap_or(DataType::TextArray),
        };
        let prepared = match rows {
            SubqueryRows::Correlated(c) => Prepared::Correlated(c),
            SubqueryRows::Once(rows) => match &kind {
                SubqueryKind::In { cmp, .. } => Prepared::Set(in_set(rows, column_ty, *cmp, ctx)),
                _ => Prepared::Value(value_of(&kind, ty, rows)),
            },
        };
        SubqueryExpr {
            kind,
            column_ty,
            ty,
            prepared: Arc::new(prepared),
        }
    }

    /// Evaluates the expression for the current outer row; `arg` is the
    /// evaluated IN operand (NULL otherwise).
    pub(crate) fn eval(&self, outer: &[Datum], arg: Datum, ctx: &EvalContext) -> SqlResult<Datum> {
        match (self.prepared.as_ref(), &self.kind) {
            (Prepared::Value(v), _) => v.clone(),
            (Prepared::Set(set), SubqueryKind::In { negated, .. }) => {
                let (values, has_null) = set.as_ref().map_err(Clone::clone)?;
                Ok(in_result(&arg, values, *has_null, *negated))
            }
            (Prepared::Correlated(c), SubqueryKind::In { negated, cmp, .. }) => {
                let (values, has_null) = in_set(c.rows(outer)?, self.column_ty, *cmp, ctx)?;
                Ok(in_result(&arg, &values, has_null, *negated))
            }
            (Prepared::Correlated(c), kind) => value_of(kind, self.ty, c.rows(outer)?),
            (Prepared::Set(_), _) => Err(SqlError::internal("IN set of a non-IN subquery")),
        }
    }
}

/// The value of a scalar, EXISTS or ARRAY subquery over its rows.
fn value_of(kind: &SubqueryKind, ty: DataType, mut rows: Vec<Vec<Datum>>) -> SqlResult<Datum> {
    match kind {
        SubqueryKind::Exists => Ok(Datum::Bool(!rows.is_empty())),
        SubqueryKind::Scalar => match rows.len() {
            0 => Ok(Datum::Null),
            1 => Ok(rows
                .pop()
                .and_then(|r| r.into_iter().next())
                .unwrap_or(Datum::Null)),
            _ => Err(too_many_rows()),
        },
        SubqueryKind::Array => Ok(Datum::from_items(
            ty,
            rows.into_iter()
                .map(|r| r.into_iter().next().unwrap_or(Datum::Null))
                .collect(),
        )),
        SubqueryKind::In { .. } => Err(SqlError::internal("IN subquery without its operand")),
    }
}

/// The distinct values of the first column, cast to `cmp` and sorted.
fn in_set(
    rows: Vec<Vec<Datum>>,
    from: DataType,
    cmp: DataType,
    ctx: &EvalContext,
) -> SqlResult<(Vec<Datum>, bool)> {
    let mut has_null = false;
    let mut values = Vec::with_capacity(rows.len());
    for row in rows {
        let v = row.into_iter().next().unwrap_or(Datum::Null);
        if v.is_null() {
            has_null = true;
            continue;
        }
        values.push(if from == cmp {
            v
        } else {
            cast(v, from, cmp, ctx)?
        });
    }
    values.sort_by(compare_datums);
    values.dedup_by(|a, b| compare_datums(a, b) == Ordering::Equal);
    Ok((values, has_null))
}

/// `arg IN set` with SQL's NULL rules: an empty set is FALSE even for a NULL
/// operand; otherwise a NULL operand, or no match with a NULL in the set, is
/// NULL.
fn in_result(arg: &Datum, values: &[Datum], has_null: bool, negated: bool) -> Datum {
    if values.is_empty() && !has_null {
        return Datum::Bool(negated);
    }
    if arg.is_null() {
        return Datum::Null;
    }
    if values.binary_search_by(|v| compare_datums(v, arg)).is_ok() {
        return Datum::Bool(!negated);
    }
    if has_null {
        Datum::Null
    } else {
        Datum::Bool(negated)
    }
}
