//! `EXPLAIN`: the bitmap plan of a query with estimated cardinalities.

use super::error::SqlResult;
use super::select::{QueryCtx, table_name, where_pred};
use crate::exec::filter::Pred;
use crate::index::bsi::CompareOp;
use crate::storage::TableSnapshot;
use sqlparser::ast::{Query, SetExpr, TableFactor};

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

fn describe(t: &TableSnapshot, p: &Pred, depth: usize, out: &mut Vec<String>) {
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
        Pred::And(_) => "And".into(),
        Pred::Or(_) => "Or".into(),
        Pred::Not(_) => "Not (false set of)".into(),
        Pred::IsTrue(_) => "IsTrue".into(),
        Pred::IsFalse(_) => "IsFalse".into(),
    };
    out.push(format!("{pad}-> {line}  (estimate ≤ {est} rows)"));
    match p {
        Pred::And(items) | Pred::Or(items) => {
            items.iter().for_each(|i| describe(t, i, depth + 1, out))
        }
        Pred::Not(i) | Pred::IsTrue(i) | Pred::IsFalse(i) => describe(t, i, depth + 1, out),
        _ => {}
    }
}

/// Plan lines for a query.
pub fn explain_query(ctx: &QueryCtx<'_>, q: &Query) -> SqlResult<Vec<String>> {
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
            describe(&t, &pred, 1, &mut out);
            return Ok(out);
        }
    }
    out.push("Relational plan (small relations, row at a time)".into());
    Ok(out)
}
