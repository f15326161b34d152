//! `EXPLAIN`: the bitmap plan of a query with estimated cardinalities, and
//! with `ANALYZE` each node's actual rows and time.
//!
//! `EXPLAIN ANALYZE` runs the filter once more with an instrumented
//! evaluator ([`NodeStats`]) over every shard: each node shows the rows where
//! it was TRUE (and FALSE, where a `NOT` asked for that set), summed over the
//! shards that computed it, and the time spent in it including its children.
//! A node skipped by a short-circuit (an AND whose running intersection was
//! already empty) shows `never executed`, as in PostgreSQL.

use super::error::SqlResult;
use super::select::{QueryCtx, table_name, where_pred};
use crate::exec::filter::{NodeStats, Pred, ShardEval};
use crate::exec::pool::map_shards_pooled;
use crate::index::bsi::CompareOp;
use crate::storage::TableSnapshot;
use sqlparser::ast::{Query, SetExpr, TableFactor};
use std::sync::Arc;
use std::time::Instant;

fn op_symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
    }
}

fn col_name(t: &TableSnapshot, id: u32) -> String {
    t.schema()
        .column_by_id(id)
        .map_or_else(|| format!("#{id}"), |c| c.name.clone())
}

fn actual(stats: Option<&NodeStats>, p: &Pred) -> String {
    let Some(stats) = stats else {
        return String::new();
    };
    match stats.get(p) {
        None => "; never executed".into(),
        Some(a) => {
            let mut s = String::new();
            if a.true_evals > 0 {
                s.push_str(&format!("; actual rows={}", a.true_rows));
            }
            if a.false_evals > 0 {
                s.push_str(&format!("; actual false rows={}", a.false_rows));
            }
            let shards = a.true_evals.max(a.false_evals);
            s.push_str(&format!(
                " time={:.3} ms shards={shards}",
                a.time.as_secs_f64() * 1000.0
            ));
            s
        }
    }
}

fn describe(
    t: &TableSnapshot,
    p: &Pred,
    depth: usize,
    stats: Option<&NodeStats>,
    out: &mut Vec<String>,
) {
    let pad = "  ".repeat(depth);
    let est = p.estimate(t);
    let line = match p {
        Pred::Const(c) => format!("Constant {c:?}"),
        Pred::Flag { col, value } => format!("Flag {} = {value}", col_name(t, *col)),
        Pred::IsNull { col } => format!("IsNull {}", col_name(t, *col)),
        Pred::AnyValue { col, values } => format!(
            "AnyValue {} IN ({} values)",
            col_name(t, *col),
            values.len()
        ),
        Pred::AllValues { col, values } => format!(
            "AllValues {} @> ({} values)",
            col_name(t, *col),
            values.len()
        ),
        Pred::Compare { col, op, value } => {
            format!("Bsi {} {} {value}", col_name(t, *col), op_symbol(*op))
        }
        Pred::Between { col, lo, hi } => format!("Bsi {} BETWEEN {lo} AND {hi}", col_name(t, *col)),
        Pred::Rows(r) => format!("Rows ({} keys)", r.len()),
        Pred::CompareColumns { left, op, right } => format!(
            "Bsi {} {} {}",
            col_name(t, *left),
            op_symbol(*op),
            col_name(t, *right)
        ),
        Pred::RowWise(rw) => format!("RowWise ({})", rw.0.text()),
        Pred::And(_) => "And".into(),
        Pred::Or(_) => "Or".into(),
        Pred::Not(_) => "Not (false set of)".into(),
        Pred::IsTrue(_) => "IsTrue".into(),
        Pred::IsFalse(_) => "IsFalse".into(),
    };
    let act = actual(stats, p);
    out.push(format!("{pad}-> {line}  (estimate ≤ {est} rows{act})"));
    match p {
        Pred::And(items) | Pred::Or(items) => items
            .iter()
            .for_each(|i| describe(t, i, depth + 1, stats, out)),
        Pred::Not(i) | Pred::IsTrue(i) | Pred::IsFalse(i) => describe(t, i, depth + 1, stats, out),
        _ => {}
    }
}

/// Plan lines for a query.
pub fn explain_query(ctx: &QueryCtx<'_>, q: &Query) -> SqlResult<Vec<String>> {
    explain(ctx, q, false)
}

/// Plan lines for a query with each bitmap node's actual rows and time
/// (`EXPLAIN ANALYZE`; the caller adds the whole query's run).
pub fn explain_analyze(ctx: &QueryCtx<'_>, q: &Query) -> SqlResult<Vec<String>> {
    explain(ctx, q, true)
}

fn explain(ctx: &QueryCtx<'_>, q: &Query, analyze: bool) -> SqlResult<Vec<String>> {
    let mut out = Vec::new();
    if let SetExpr::Select(s) = q.body.as_ref()
        && let [from] = s.from.as_slice()
        && let TableFactor::Table { name, alias, .. } = &from.relation
    {
        let (_, table) = table_name(name)?;
        if let Some(t) = ctx.snapshot.table(&table) {
            let alias = alias
                .as_ref()
                .map(|a| super::predicate::fold_ident(&a.name))
                .unwrap_or_else(|| table.clone());
            let pred = where_pred(
                ctx,
                &t,
                &alias,
                Pred::Const(Some(true)),
                s.selection.as_ref(),
            )?;
            out.push(format!(
                "Bitmap scan on {table}  ({} shards, {} row ids)",
                t.shard_count(),
                t.row_id_end()
            ));
            if !analyze {
                describe(&t, &pred, 1, None, &mut out);
                return Ok(out);
            }
            // The stats are keyed by node address: `describe` must read the
            // very tree the shards evaluated, the one inside `job`.
            let job = Arc::new((t.clone(), pred, NodeStats::default()));
            let shared = job.clone();
            let started = Instant::now();
            let counts = map_shards_pooled(t.shard_count(), ctx.cancel, move |shard| {
                let (t, pred, stats) = shared.as_ref();
                let eval = ShardEval::new(t, shard)?.with_stats(stats);
                Ok(eval.eval_true(pred)?.len())
            })?;
            let took = started.elapsed();
            let (_, pred, stats) = job.as_ref();
            out[0].push_str(&format!(
                "  (actual rows={} time={:.3} ms)",
                counts.iter().sum::<u64>(),
                took.as_secs_f64() * 1000.0
            ));
            describe(&t, pred, 1, Some(stats), &mut out);
            return Ok(out);
        }
    }
    out.push("Relational plan (small relations, row at a time)".into());
    Ok(out)
}
