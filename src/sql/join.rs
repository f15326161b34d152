//! Joins of small relations (catalog tables, grouped results, derived
//! tables): nested loops, row at a time. An audience table in a join is
//! first read into a relation, which is bounded by `RELATION_ROWS_MAX`.

use super::error::{SqlError, SqlResult, SqlState};
use super::relation::{self, Column, Relation};
use super::select::{QueryCtx, RelScope, Source, audience_column, factor_source, fetch_relation};
use super::types::Datum;
use crate::exec::rows::Fetch;
use sqlparser::ast::{JoinConstraint, JoinOperator, TableWithJoins};

/// Most row pairs a nested-loop join examines (54000 beyond it).
pub const JOIN_PAIRS_MAX: u64 = 50_000_000;

/// A relation with the qualifier of each column.
struct Qualified {
    rel: Relation,
    quals: Vec<Option<String>>,
}

fn to_qualified(ctx: &QueryCtx<'_>, source: Source) -> SqlResult<Qualified> {
    match source {
        Source::Rel { rel, quals } => Ok(Qualified { rel, quals }),
        Source::Audience {
            table,
            alias,
            filter,
        } => {
            let schema = table.schema();
            let mut cols: Vec<(String, Fetch)> = Vec::new();
            for name in
                std::iter::once(&schema.key_name).chain(schema.columns.iter().map(|c| &c.name))
            {
                if let Some(f) = audience_column(&table, name) {
                    cols.push((name.clone(), f));
                }
            }
            let filter = filter.simplify();
            let rel = fetch_relation(ctx, &table, &filter, &cols, 0, None)?;
            let quals = vec![Some(alias); rel.columns.len()];
            Ok(Qualified { rel, quals })
        }
    }
}

enum Kind {
    Inner,
    Left,
    Right,
    Full,
}

fn join_two(
    ctx: &QueryCtx<'_>,
    left: Qualified,
    right: Qualified,
    kind: Kind,
    on: Option<&sqlparser::ast::Expr>,
) -> SqlResult<Qualified> {
    let columns: Vec<Column> = left
        .rel
        .columns
        .iter()
        .chain(&right.rel.columns)
        .cloned()
        .collect();
    let quals: Vec<Option<String>> = left.quals.iter().chain(&right.quals).cloned().collect();
    let pairs = left.rel.rows.len() as u64 * right.rel.rows.len() as u64;
    if pairs > JOIN_PAIRS_MAX {
        return Err(SqlError::new(
            SqlState::ProgramLimitExceeded,
            format!("join would examine {pairs} row pairs (limit {JOIN_PAIRS_MAX})"),
        ));
    }
    let cond = match on {
        Some(e) => {
            let scope = RelScope {
                columns: &columns,
                quals: &quals,
            };
            Some(ctx.bind(e, &scope)?)
        }
        None => None,
    };
    let lw = left.rel.columns.len();
    let rw = right.rel.columns.len();
    let mut rows = Vec::new();
    let mut right_matched = vec![false; right.rel.rows.len()];
    for (li, l) in left.rel.rows.iter().enumerate() {
        if li % 1024 == 0 {
            ctx.cancel.check()?;
        }
        let mut matched = false;
        for (ri, r) in right.rel.rows.iter().enumerate() {
            let mut row = Vec::with_capacity(lw + rw);
            row.extend(l.iter().cloned());
            row.extend(r.iter().cloned());
            let keep = match &cond {
                Some(c) => matches!(super::scalar::eval(c, &row, ctx.eval)?, Datum::Bool(true)),
                None => true,
            };
            if keep {
                matched = true;
                right_matched[ri] = true;
                rows.push(row);
            }
        }
        if !matched && matches!(kind, Kind::Left | Kind::Full) {
            let mut row = l.clone();
            row.extend(std::iter::repeat_n(Datum::Null, rw));
            rows.push(row);
        }
        relation::check_rows(rows.len())?;
    }
    if matches!(kind, Kind::Right | Kind::Full) {
        for (ri, r) in right.rel.rows.iter().enumerate() {
            if !right_matched[ri] {
                let mut row: Vec<Datum> = std::iter::repeat_n(Datum::Null, lw).collect();
                row.extend(r.iter().cloned());
                rows.push(row);
            }
        }
    }
    Ok(Qualified {
        rel: Relation { columns, rows },
        quals,
    })
}

/// Evaluates a FROM list with joins into one relation.
pub(super) fn join_sources(ctx: &QueryCtx<'_>, from: &[TableWithJoins]) -> SqlResult<Source> {
    let mut acc: Option<Qualified> = None;
    for item in from {
        let mut cur = to_qualified(ctx, factor_source(ctx, &item.relation)?)?;
        for j in &item.joins {
            let right = to_qualified(ctx, factor_source(ctx, &j.relation)?)?;
            let (kind, constraint) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (Kind::Inner, Some(c)),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (Kind::Left, Some(c)),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (Kind::Right, Some(c)),
                JoinOperator::FullOuter(c) => (Kind::Full, Some(c)),
                JoinOperator::CrossJoin(_) => (Kind::Inner, None),
                other => return Err(SqlError::unsupported(format!("the join {other:?}"))),
            };
            let on = match constraint {
                Some(JoinConstraint::On(e)) => Some(e),
                Some(JoinConstraint::None) | None => None,
                Some(other) => return Err(SqlError::unsupported(format!("JOIN … {other:?}"))),
            };
            cur = join_two(ctx, cur, right, kind, on)?;
        }
        acc = Some(match acc {
            None => cur,
            Some(prev) => join_two(ctx, prev, cur, Kind::Inner, None)?,
        });
    }
    let q = acc.ok_or_else(|| SqlError::internal("empty FROM"))?;
    Ok(Source::Rel {
        rel: q.rel,
        quals: q.quals,
    })
}
