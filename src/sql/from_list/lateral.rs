//! `LATERAL`: FROM items that read the columns of the items before them.
//!
//! A function in FROM is implicitly `LATERAL` (as in PostgreSQL); a
//! subquery needs the keyword (`FROM a, LATERAL (SELECT … a.x …) s`,
//! `a CROSS JOIN LATERAL (…) s`, `a LEFT JOIN LATERAL (…) s ON true`). Such
//! an item first runs once with the earlier items' names unknown (NULL):
//! that gives its columns and tells whether it read them at all. When it
//! did, it runs again for each row of the earlier items with that row's
//! values, and its rows are joined to that row. Only an inner or left join
//! can do this (PostgreSQL's 42P10 for `RIGHT`/`FULL JOIN LATERAL`).
//!
//! Also here: the check that no two FROM items share a name (42712).

use super::{Conjunct, Earlier, filter_item, joined_item, with_outer};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::join::{self, Kind, Qualified, bind_on, join_two, to_qualified};
use crate::sql::predicate::fold_ident;
use crate::sql::relation::{self, Relation};
use crate::sql::scalar;
use crate::sql::select::{QueryCtx, factor_source, qual_of, table_name};
use crate::sql::subquery::OuterFrame;
use crate::sql::types::Datum;
use sqlparser::ast::{Expr, TableFactor, TableWithJoins};

/// Whether a FROM item may read the items before it.
pub(super) fn capable(f: &TableFactor) -> bool {
    match f {
        TableFactor::Table { args, .. } => args.is_some(),
        TableFactor::Function { .. } | TableFactor::UNNEST { .. } => true,
        TableFactor::Derived { lateral, .. } => *lateral,
        _ => false,
    }
}

/// Whether an item of a FROM list (with its joins) has a part that may
/// read the items before it.
pub(super) fn reads_left(twj: &TableWithJoins) -> bool {
    capable(&twj.relation) || twj.joins.iter().any(|j| capable(&j.relation))
}

/// The name a FROM item is referenced by (its alias, else the table's or
/// function's name), if it has one.
fn item_name(f: &TableFactor) -> SqlResult<Option<String>> {
    Ok(match f {
        TableFactor::Table { alias: Some(a), .. }
        | TableFactor::Derived { alias: Some(a), .. }
        | TableFactor::Function { alias: Some(a), .. }
        | TableFactor::UNNEST { alias: Some(a), .. } => Some(fold_ident(&a.name)),
        TableFactor::Table { name, .. } | TableFactor::Function { name, .. } => {
            Some(table_name(name)?.1)
        }
        TableFactor::UNNEST { .. } => Some("unnest".into()),
        _ => None,
    })
}

/// 42712 when two items of one FROM list (joins included) have the same
/// name, as PostgreSQL checks.
pub(super) fn check_names(from: &[TableWithJoins]) -> SqlResult<()> {
    let mut seen: Vec<String> = Vec::new();
    let factors = from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    for f in factors {
        if let Some(name) = item_name(f)? {
            if seen.contains(&name) {
                return Err(SqlError::new(
                    SqlState::DuplicateAlias,
                    format!("table name \"{name}\" specified more than once"),
                ));
            }
            seen.push(name);
        }
    }
    Ok(())
}

/// Runs `factor` with the enclosing names of `frame`.
fn run_factor(
    ctx: &QueryCtx<'_>,
    frame: &OuterFrame<'_>,
    factor: &TableFactor,
) -> SqlResult<Qualified> {
    let nested = with_outer(ctx, frame)?;
    to_qualified(&nested, factor_source(&nested, factor)?)
}

/// `cur [INNER | LEFT] JOIN factor [ON on]` where `factor` may read the
/// columns of `cur` (and, through `earlier`, of the FROM items before).
pub(super) fn join(
    ctx: &QueryCtx<'_>,
    cur: Qualified,
    factor: &TableFactor,
    kind: Kind,
    on: Option<&Expr>,
    earlier: Option<&OuterFrame<'_>>,
) -> SqlResult<Qualified> {
    let parent = earlier.or(ctx.outer);
    let (shape, read) = {
        let scope = cur.scope();
        let frame = OuterFrame::lateral(&scope, parent, None);
        let shape = run_factor(ctx, &frame, factor)?;
        (shape, frame.is_correlated().then(|| frame.first_column()))
    };
    let cond = on.map(|e| bind_on(ctx, &cur, &shape, e)).transpose()?;
    let Some(first) = read else {
        return join_two(ctx, cur, shape, kind, cond.as_ref());
    };
    if matches!(kind, Kind::Right | Kind::Full) {
        let table = first
            .and_then(|i| qual_of(cur.quals.get(i).and_then(|q| q.as_deref())).0)
            .unwrap_or_default();
        return Err(SqlError::new(
            SqlState::InvalidColumnReference,
            format!("invalid reference to FROM-clause entry for table \"{table}\""),
        )
        .with_detail("The combining JOIN type must be INNER or LEFT for a LATERAL reference."));
    }
    let width = shape.rel.columns.len();
    let mut rows = Vec::new();
    {
        let scope = cur.scope();
        for row in &cur.rel.rows {
            ctx.cancel.check()?;
            let frame = OuterFrame::lateral(&scope, parent, Some(row));
            let mut matched = false;
            for r in run_factor(ctx, &frame, factor)?.rel.rows {
                let mut out = row.clone();
                out.extend(r);
                let keep = match &cond {
                    Some(c) => matches!(scalar::eval(c, &out, ctx.eval)?, Datum::Bool(true)),
                    None => true,
                };
                if keep {
                    matched = true;
                    rows.push(out);
                }
            }
            if !matched && kind == Kind::Left {
                let mut out = row.clone();
                out.extend(std::iter::repeat_n(Datum::Null, width));
                rows.push(out);
            }
            relation::check_rows(rows.len())?;
        }
    }
    let (columns, quals) = join::combined(&cur, &shape);
    Ok(Qualified {
        rel: Relation { columns, rows },
        quals,
    })
}

/// Joins a deferred FROM item (`shape`: its columns) to `acc`, the items
/// before it: it runs once per row of `acc`, with that row's values for
/// their names.
pub(super) fn join_each(
    ctx: &QueryCtx<'_>,
    acc: Qualified,
    shape: Qualified,
    twj: &TableWithJoins,
    conj: &mut [Conjunct<'_>],
) -> SqlResult<Qualified> {
    let mut rows = Vec::new();
    {
        let scope = acc.scope();
        for row in &acc.rel.rows {
            ctx.cancel.check()?;
            let frame = OuterFrame::lateral(&scope, ctx.outer, Some(row));
            let earlier = Earlier {
                hidden: None,
                live: Some(&frame),
            };
            for r in joined_item(ctx, twj, &mut [], earlier)?.rel.rows {
                let mut out: Vec<Datum> = row.clone();
                out.extend(r);
                rows.push(out);
            }
            relation::check_rows(rows.len())?;
        }
    }
    let (columns, quals) = join::combined(&acc, &shape);
    let joined = Qualified {
        rel: Relation { columns, rows },
        quals,
    };
    filter_item(ctx, joined, conj)
}
