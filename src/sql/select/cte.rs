//! Common table expressions (`WITH [RECURSIVE] name [(columns)] AS
//! (query)`).
//!
//! A `WITH` clause makes a chain of [`CteEnv`]s, one per CTE, each linked to
//! the ones defined before it (in the same `WITH`, then in enclosing
//! queries), so a CTE sees the CTEs before it and the query sees them all.
//! A reference to a CTE resolves like a view: a body that only filters an
//! audience table (`SELECT * FROM users WHERE …`) stays a bitmap filter;
//! any other body runs once, on first use, and its rows are kept for the
//! other references of the same statement run (PostgreSQL materializes a
//! CTE used twice, so both references see the same rows).

use super::QueryCtx;
use super::from::{Source, query_source, rename_columns};
use crate::exec::memory::{Meter, row_bytes, rows_bytes};
use crate::exec::parallel::Cancel;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use crate::sql::relation::{self, Relation, RowKey};
use crate::sql::scalar::CANCEL_CHECK_ROWS;
use crate::sql::types::Datum;
use sqlparser::ast::{Query, SelectItem, SetExpr, SetOperator, SetQuantifier, With};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

/// One CTE in scope, linked to the CTEs visible where it was defined.
#[derive(Debug)]
pub(crate) struct CteEnv {
    /// The CTE's name.
    name: String,
    /// The column alias list (`WITH t(a, b) AS …`), possibly empty.
    columns: Vec<String>,
    /// Its body.
    query: Query,
    /// The CTEs visible to the body (defined before this one).
    parent: Option<Arc<CteEnv>>,
    /// The body's rows, once run.
    rows: OnceLock<Relation>,
    /// Defined by `WITH RECURSIVE`: a body `base UNION [ALL] step` may
    /// read its own name in `step`.
    recursive: bool,
}

/// The CTE chain of a `WITH [RECURSIVE]` clause on top of `outer`.
pub(super) fn define(outer: Option<Arc<CteEnv>>, with: &With) -> SqlResult<Option<Arc<CteEnv>>> {
    let mut env = outer;
    for (i, cte) in with.cte_tables.iter().enumerate() {
        if cte.from.is_some() {
            return Err(SqlError::unsupported("WITH … FROM"));
        }
        let name = fold_ident(&cte.alias.name);
        if with.cte_tables[..i]
            .iter()
            .any(|c| fold_ident(&c.alias.name) == name)
        {
            return Err(SqlError::new(
                SqlState::DuplicateAlias,
                format!("WITH query name \"{name}\" specified more than once"),
            ));
        }
        env = Some(Arc::new(CteEnv {
            name,
            columns: cte
                .alias
                .columns
                .iter()
                .map(|c| fold_ident(&c.name))
                .collect(),
            query: (*cte.query).clone(),
            parent: env,
            rows: OnceLock::new(),
            recursive: with.recursive,
        }));
    }
    Ok(env)
}

/// The innermost CTE named `name` visible from `env`.
pub(super) fn find(env: Option<&Arc<CteEnv>>, name: &str) -> Option<Arc<CteEnv>> {
    let mut cur = env;
    while let Some(e) = cur {
        if e.name == name {
            return Some(Arc::clone(e));
        }
        cur = e.parent.as_ref();
    }
    None
}

/// Whether a body selects `*` only (so the audience table's columns are
/// exactly the CTE's).
fn selects_star(q: &Query) -> bool {
    matches!(q.body.as_ref(), SetExpr::Select(s)
        if s.projection.len() == 1 && matches!(s.projection[0], SelectItem::Wildcard(_)))
}

/// The source of a reference to `cte` under `alias`.
pub(super) fn cte_source(ctx: &QueryCtx<'_>, cte: &CteEnv, alias: String) -> SqlResult<Source> {
    if let Some(rel) = cte.rows.get() {
        let quals = vec![Some(alias); rel.columns.len()];
        return Ok(Source::Rel {
            rel: rel.clone(),
            quals,
        });
    }
    let mut nested = ctx.nested()?;
    nested.ctes = cte.parent.clone();
    let rel = if cte.columns.is_empty() && selects_star(&cte.query) && !cte.recursive {
        match query_source(&nested, &cte.query, alias.clone())? {
            source @ Source::Audience { .. } => return Ok(source),
            Source::Rel { rel, .. } => rel,
        }
    } else {
        let rel = match recursive_parts(cte) {
            Some((base, step, all)) => iterate(&nested, cte, base, step, all)?,
            None => super::run_query(&nested, &cte.query)?,
        };
        if cte.columns.len() > rel.columns.len() {
            return Err(too_many(cte, rel.columns.len()));
        }
        rename_columns(rel, &cte.columns, &cte.name)?
    };
    // Kept for the rest of the statement: charged until it ends (53200).
    let bytes = rows_bytes(&rel.rows);
    ctx.cancel.charge(bytes, "the rows of a WITH query")?;
    let _ = cte.rows.set(rel.clone());
    let quals = vec![Some(alias); rel.columns.len()];
    Ok(Source::Rel { rel, quals })
}

/// Most rounds of a recursive CTE (54000 beyond it); each round adds rows,
/// which are bounded by `RELATION_ROWS_MAX` too.
pub const RECURSION_ROUNDS_MAX: usize = 100_000;

/// The parts of a recursive body `base UNION [ALL] step`.
fn recursive_parts(cte: &CteEnv) -> Option<(&SetExpr, &SetExpr, bool)> {
    if !cte.recursive {
        return None;
    }
    match cte.query.body.as_ref() {
        SetExpr::SetOperation {
            op: SetOperator::Union,
            left,
            right,
            set_quantifier,
        } => Some((left, right, matches!(set_quantifier, SetQuantifier::All))),
        _ => None,
    }
}

/// A query whose body is `body` (no WITH, ORDER BY or LIMIT).
fn query_of(cte: &CteEnv, body: &SetExpr) -> Query {
    let mut q = cte.query.clone();
    q.body = Box::new(body.clone());
    q.with = None;
    q.order_by = None;
    q.limit_clause = None;
    q
}

/// The rows of `rows` not in `seen` (each once), added to `seen`; the
/// copies `seen` keeps are charged to `meter`.
fn unseen(
    rows: Vec<Vec<Datum>>,
    seen: &mut BTreeSet<RowKey>,
    meter: &mut Meter,
    cancel: &Cancel,
) -> SqlResult<Vec<Vec<Datum>>> {
    let mut fresh = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        if i % CANCEL_CHECK_ROWS == 0 {
            cancel.check()?;
        }
        let key = RowKey(row);
        if !seen.contains(&key) {
            meter.add(row_bytes(&key.0))?;
            fresh.push(key.0.clone());
            seen.insert(key);
        }
    }
    Ok(fresh)
}

/// Runs a recursive CTE: the base, then the step over the rows the last
/// round added, until a round adds none. `UNION` drops rows seen before:
/// each round's rows are looked up in the set of all rows so far, so a
/// round costs its own rows, not the whole result.
fn iterate(
    nested: &QueryCtx<'_>,
    cte: &CteEnv,
    base: &SetExpr,
    step: &SetExpr,
    all: bool,
) -> SqlResult<Relation> {
    let mut result = super::run_query(nested, &query_of(cte, base))?;
    if !cte.columns.is_empty() {
        if cte.columns.len() > result.columns.len() {
            return Err(too_many(cte, result.columns.len()));
        }
        result = rename_columns(result, &cte.columns, &cte.name)?;
    }
    let mut grown = Meter::new(nested.cancel, "a recursive WITH query");
    let mut seen = BTreeSet::new();
    if !all {
        result.rows = unseen(result.rows, &mut seen, &mut grown, nested.cancel)?;
    }
    grown.add(rows_bytes(&result.rows))?;
    let step_query = query_of(cte, step);
    let mut working = result.clone();
    let mut rounds = 0;
    while !working.rows.is_empty() {
        rounds += 1;
        if rounds > RECURSION_ROUNDS_MAX {
            return Err(SqlError::new(
                SqlState::ProgramLimitExceeded,
                format!(
                    "recursive query \"{}\" ran more than {RECURSION_ROUNDS_MAX} rounds",
                    cte.name
                ),
            ));
        }
        nested.cancel.check()?;
        let this = Arc::new(CteEnv {
            name: cte.name.clone(),
            columns: Vec::new(),
            query: cte.query.clone(),
            parent: cte.parent.clone(),
            rows: OnceLock::from(working),
            recursive: false,
        });
        let mut round = nested.nested()?;
        round.ctes = Some(this);
        let added = super::run_query(&round, &step_query)?;
        // Cast to the base's column types (42804 when they do not match).
        let typed = relation::set_op(
            Relation {
                columns: result.columns.clone(),
                rows: Vec::new(),
            },
            added,
            relation::SetOp::Union,
            true,
            nested.cancel,
        )?;
        let fresh = if all {
            typed.rows
        } else {
            unseen(typed.rows, &mut seen, &mut grown, nested.cancel)?
        };
        grown.add(rows_bytes(&fresh))?;
        result.rows.extend(fresh.iter().cloned());
        relation::check_rows(result.rows.len())?;
        working = Relation {
            columns: result.columns.clone(),
            rows: fresh,
        };
    }
    Ok(result)
}

fn too_many(cte: &CteEnv, available: usize) -> SqlError {
    SqlError::new(
        SqlState::InvalidColumnReference,
        format!(
            "WITH query \"{}\" has {available} columns available but {} columns specified",
            cte.name,
            cte.columns.len()
        ),
    )
}
