//! Running subqueries of expressions for the binder, and resolving their
//! references to the columns of enclosing queries.
//!
//! A subquery runs once while the enclosing expression is bound, with an
//! [`OuterFrame`] that resolves the names its own FROM does not have against
//! the enclosing query's scope. During that first run the enclosing row is
//! not known yet: a reference resolves to a typed NULL and marks the
//! subquery *correlated*. An uncorrelated subquery's first run is its answer
//! for the whole statement. A correlated one keeps its query text and the
//! references it made, and runs again for each outer row with those
//! references bound to the row's values ([`Correlated`]); a reference that
//! reaches past the enclosing query to one whose row is known is bound to
//! that value directly.

use super::error::{SqlError, SqlResult, SqlState};
use super::scalar::{
    CorrelatedRows, EvalContext, Params, ScalarExpr, Scope, SubqueryHost, SubqueryRows,
};
use super::select::{CteEnv, QueryCtx, RelScope, run_query};
use super::types::{DataType, Datum};
use crate::exec::parallel::Cancel;
use crate::storage::Snapshot;
use sqlparser::ast::Query;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// How a reference to an enclosing query's column was resolved.
#[derive(Clone, Debug)]
enum Resolved {
    /// Column `index` of the enclosing query's current row.
    Index(usize, DataType),
    /// A value fixed for the whole run (from a query further out).
    Value(Datum, DataType),
}

/// One recorded outer reference.
#[derive(Clone, Debug)]
struct OuterRef {
    qualifier: Option<String>,
    name: String,
    resolved: Resolved,
}

/// Where a frame's names come from.
enum FrameNames<'a> {
    /// The enclosing query's scope, and the frames further out.
    Live {
        scope: &'a dyn Scope,
        parent: Option<&'a OuterFrame<'a>>,
    },
    /// References recorded by the first run (re-runs of a correlated
    /// subquery).
    Recorded(&'a [OuterRef]),
    /// FROM items that a FROM item which is not `LATERAL` cannot see:
    /// names resolve further out, and a name only these items have is
    /// PostgreSQL's "cannot be referenced from this part of the query".
    Hidden {
        scope: &'a RelScope<'a>,
        parent: Option<&'a OuterFrame<'a>>,
    },
}

/// The enclosing query of a running subquery: its scope and, once known,
/// its current row.
pub(crate) struct OuterFrame<'a> {
    names: FrameNames<'a>,
    row: Option<&'a [Datum]>,
    correlated: Cell<bool>,
    refs: RefCell<Vec<OuterRef>>,
}

fn not_found(e: &SqlError) -> bool {
    matches!(
        e.state,
        SqlState::UndefinedColumn | SqlState::UndefinedTable
    )
}

impl<'a> OuterFrame<'a> {
    /// The frame of the FROM items to the left of a function in FROM
    /// (implicitly `LATERAL`): their names, and once known, their row.
    pub(crate) fn lateral(
        scope: &'a dyn Scope,
        parent: Option<&'a OuterFrame<'a>>,
        row: Option<&'a [Datum]>,
    ) -> OuterFrame<'a> {
        OuterFrame {
            names: FrameNames::Live { scope, parent },
            row,
            correlated: Cell::new(false),
            refs: RefCell::new(Vec::new()),
        }
    }

    /// The frame of an enclosing query whose row is not known while the
    /// subquery runs: its names resolve through `scope` (which may refuse
    /// them, as an audience WHERE does for its table's columns).
    pub(crate) fn enclosing(
        scope: &'a dyn Scope,
        parent: Option<&'a OuterFrame<'a>>,
    ) -> OuterFrame<'a> {
        OuterFrame::lateral(scope, parent, None)
    }

    /// The frame of the FROM items to the left of an item that is not
    /// `LATERAL`: it sees only the frames further out (see
    /// [`FrameNames::Hidden`]).
    pub(crate) fn hidden(
        scope: &'a RelScope<'a>,
        parent: Option<&'a OuterFrame<'a>>,
    ) -> OuterFrame<'a> {
        OuterFrame {
            names: FrameNames::Hidden { scope, parent },
            row: None,
            correlated: Cell::new(false),
            refs: RefCell::new(Vec::new()),
        }
    }

    /// The first column of this frame's own scope that was used.
    pub(crate) fn first_column(&self) -> Option<usize> {
        self.refs.borrow().iter().find_map(|r| match r.resolved {
            Resolved::Index(i, _) => Some(i),
            Resolved::Value(..) => None,
        })
    }

    /// Whether a name of this frame's own scope was used.
    pub(crate) fn is_correlated(&self) -> bool {
        self.correlated.get()
    }

    /// Whether `qualifier.name` resolves here or further out (no side
    /// effects).
    pub(crate) fn has(&self, qualifier: Option<&str>, name: &str) -> bool {
        match &self.names {
            FrameNames::Live { scope, parent } => match scope.resolve(qualifier, name) {
                Ok(_) => true,
                // Found, but not usable here: resolving reports why.
                Err(e) if !not_found(&e) => true,
                Err(_) => parent.is_some_and(|p| p.has(qualifier, name)),
            },
            FrameNames::Recorded(refs) => refs
                .iter()
                .any(|r| r.qualifier.as_deref() == qualifier && r.name == name),
            FrameNames::Hidden { scope, parent } => {
                parent.is_some_and(|p| p.has(qualifier, name))
                    || hidden_error(scope, qualifier, name).is_some()
            }
        }
    }

    /// Resolves a name of the enclosing queries to a typed literal of its
    /// current value (NULL while the row is not known yet).
    pub(crate) fn resolve(
        &self,
        qualifier: Option<&str>,
        name: &str,
    ) -> Option<SqlResult<ScalarExpr>> {
        let resolved = match &self.names {
            FrameNames::Recorded(refs) => refs
                .iter()
                .find(|r| r.qualifier.as_deref() == qualifier && r.name == name)?
                .resolved
                .clone(),
            FrameNames::Live { scope, parent } => match scope.resolve(qualifier, name) {
                Ok((i, ty)) => Resolved::Index(i, ty),
                Err(e) if not_found(&e) => match (*parent)?.resolve(qualifier, name)? {
                    Ok(ScalarExpr::Literal { value, ty }) => Resolved::Value(value, ty),
                    other => return Some(other),
                },
                Err(e) => return Some(Err(e)),
            },
            FrameNames::Hidden { scope, parent } => {
                return match parent.and_then(|p| p.resolve(qualifier, name)) {
                    Some(found) => Some(found),
                    None => hidden_error(scope, qualifier, name).map(Err),
                };
            }
        };
        let (value, ty) = match &resolved {
            Resolved::Index(i, ty) => {
                self.correlated.set(true);
                let v = self
                    .row
                    .and_then(|r| r.get(*i).cloned())
                    .unwrap_or(Datum::Null);
                (v, *ty)
            }
            Resolved::Value(v, ty) => (v.clone(), *ty),
        };
        self.refs.borrow_mut().push(OuterRef {
            qualifier: qualifier.map(str::to_owned),
            name: name.to_owned(),
            resolved,
        });
        Some(Ok(ScalarExpr::Literal { value, ty }))
    }
}

/// PostgreSQL's error for a name of a FROM item that the current item
/// cannot see (`None` when no such item has the name).
fn hidden_error(scope: &RelScope<'_>, qualifier: Option<&str>, name: &str) -> Option<SqlError> {
    match qualifier {
        Some(q) => scope.has_qualifier(q).then(|| {
            SqlError::new(
                SqlState::UndefinedTable,
                format!("invalid reference to FROM-clause entry for table \"{q}\""),
            )
            .with_hint(format!(
                "There is an entry for table \"{q}\", but it cannot be referenced from this part of the query."
            ))
        }),
        None => {
            let i = (0..scope.columns.len())
                .find(|&i| scope.columns[i].name == name && !scope.qual(i).1)?;
            let table = scope.qual(i).0.unwrap_or_default();
            Some(
                SqlError::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{name}\" does not exist"),
                )
                .with_hint(format!(
                    "There is a column named \"{name}\" in table \"{table}\", but it cannot be referenced from this part of the query."
                )),
            )
        }
    }
}

impl SubqueryHost for QueryCtx<'_> {
    fn subquery(
        &self,
        q: &Query,
        scope: &dyn Scope,
        params: &mut Params,
    ) -> SqlResult<(Vec<DataType>, SubqueryRows)> {
        let frame = OuterFrame {
            names: FrameNames::Live {
                scope,
                parent: self.outer,
            },
            row: None,
            correlated: Cell::new(false),
            refs: RefCell::new(Vec::new()),
        };
        *self.params.borrow_mut() = params.clone();
        let nested = self.nested_in(Some(&frame))?;
        let depth = nested.depth;
        let result = run_query(&nested, q);
        drop(nested);
        *params = self.params.borrow().clone();
        let rel = result?;
        let types = rel.columns.iter().map(|c| c.ty).collect();
        if !frame.correlated.get() {
            return Ok((types, SubqueryRows::Once(rel.rows)));
        }
        let mut refs = frame.refs.take();
        refs.dedup_by(|a, b| a.qualifier == b.qualifier && a.name == b.name);
        Ok((
            types,
            SubqueryRows::Correlated(Arc::new(Correlated {
                query: q.clone(),
                refs,
                snapshot: self.snapshot.clone(),
                eval: self.eval.clone(),
                params: params.clone(),
                cancel: self.cancel.clone(),
                user: self.user.clone(),
                depth,
                dry_run: self.dry_run,
                ctes: self.ctes.clone(),
            })),
        ))
    }

    fn outer_column(&self, qualifier: Option<&str>, name: &str) -> Option<SqlResult<ScalarExpr>> {
        self.outer?.resolve(qualifier, name)
    }

    fn eval_context(&self) -> &EvalContext {
        self.eval
    }
}

/// A correlated subquery, run again for each outer row.
struct Correlated {
    query: Query,
    refs: Vec<OuterRef>,
    snapshot: Snapshot,
    eval: EvalContext,
    params: Params,
    cancel: Cancel,
    user: String,
    depth: usize,
    dry_run: bool,
    ctes: Option<Arc<CteEnv>>,
}

impl CorrelatedRows for Correlated {
    fn rows(&self, outer: &[Datum]) -> SqlResult<Vec<Vec<Datum>>> {
        self.cancel.check()?;
        let frame = OuterFrame {
            names: FrameNames::Recorded(&self.refs),
            row: Some(outer),
            correlated: Cell::new(false),
            refs: RefCell::new(Vec::new()),
        };
        let params = RefCell::new(self.params.clone());
        let mut ctx = QueryCtx::top(
            &self.snapshot,
            &self.eval,
            &params,
            &self.cancel,
            &self.user,
            self.dry_run,
        );
        ctx.depth = self.depth;
        ctx.outer = Some(&frame);
        ctx.ctes = self.ctes.clone();
        Ok(run_query(&ctx, &self.query)?.rows)
    }
}
