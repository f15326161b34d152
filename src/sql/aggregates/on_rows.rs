//! The aggregates of an audience table that are not computed on bitmaps:
//! the collecting ones (`string_agg`, `array_agg`, `json_agg`, with
//! `DISTINCT`, `ORDER BY` and `FILTER`) and calls whose argument or filter
//! is an expression rather than a column (`sum(age * 2)`, `min(city)`).
//!
//! The bitmap leaf has already found the groups (and computed the other
//! calls). The rows the WHERE keeps are then fetched once through the row
//! path ([`crate::exec::rows`]), only the columns the group keys and these
//! calls read; each row goes to its group by its key values (an
//! `unnest(col)` key puts it into the group of each of its elements, as the
//! bitmap leaf does) and feeds the calls' [`Accumulator`]s in row order.

use super::RawAgg;
use super::accum::{Accumulator, result_type};
use super::fold::Folder;
use crate::exec::aggregate::GroupBy;
use crate::exec::filter::Pred;
use crate::exec::rows::{Fetch, fetch_rows};
use crate::index::{ColumnType, KeyType};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::predicate::fold_ident;
use crate::sql::relation::{Column, Relation};
use crate::sql::scalar::{self, BoundExpr};
use crate::sql::select::{QueryCtx, RelScope, audience_column};
use crate::sql::types::{DataType, Datum};
use crate::storage::TableSnapshot;
use sqlparser::ast::{Expr, Visit, Visitor};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Where each aggregate call of a query on an audience table is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// On bitmaps: the leaf's aggregate column of this index.
    Bitmap(usize),
    /// On the rows (this module).
    Rows,
}

/// One call computed on rows, bound over the fetched columns.
struct RowCall<'a> {
    raw: &'a RawAgg,
    arg: Option<BoundExpr>,
    extra: Option<BoundExpr>,
    keys: Vec<BoundExpr>,
    filter: Option<BoundExpr>,
    ty: DataType,
}

/// The grouped relation of every call: the leaf's group keys `__grp0…`,
/// then `__agg<i>` for each of `raws`, from the bitmap leaf `leaf` (group
/// keys, then the bitmap calls' results) or computed here on the rows where
/// `pred` is TRUE, as `placement` says. With a `fold`, the leaf's group keys
/// are what it makes of the values of the `group_by` columns
/// ([`super::fold`]).
#[allow(clippy::too_many_arguments)]
pub fn complete_leaf(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    alias: &str,
    pred: &Pred,
    group_by: &[GroupBy],
    fold: Option<&Folder>,
    leaf: Relation,
    raws: &[RawAgg],
    placement: &[Placement],
) -> SqlResult<Relation> {
    let n_groups = group_by.len();
    let n_keys = fold.map_or(n_groups, Folder::key_count);
    let on_rows: Vec<&RawAgg> = raws
        .iter()
        .zip(placement)
        .filter(|(_, p)| **p == Placement::Rows)
        .map(|(r, _)| r)
        .collect();
    // Fetch the group keys and every table column the calls mention.
    let mut fetch: Vec<(String, Fetch)> = Vec::new();
    for (g, gb) in group_by.iter().enumerate() {
        let f = match *gb {
            GroupBy::Column(id, ty) => Fetch::Tag(id, ty),
            GroupBy::Unnest(id) => Fetch::Tag(id, ColumnType::TextArray),
        };
        fetch.push((format!("__grp{g}"), f));
    }
    let mut names = Vec::new();
    for r in &on_rows {
        let keys = r.order_by.iter().map(|(k, _, _)| k);
        for e in r.arg.iter().chain(&r.extra).chain(&r.filter).chain(keys) {
            referenced_names(e, &mut names);
        }
    }
    for n in names {
        if fetch.iter().all(|(f, _)| *f != n)
            && let Some(f) = audience_column(table, &n)
        {
            fetch.push((n, f));
        }
    }
    let columns: Vec<Column> = fetch
        .iter()
        .map(|(name, f)| Column {
            name: name.clone(),
            ty: fetch_type(table, *f),
        })
        .collect();
    let quals: Vec<Option<String>> = (0..columns.len())
        .map(|i| (i >= n_groups).then(|| alias.to_owned()))
        .collect();
    let scope = RelScope {
        columns: &columns,
        quals: &quals,
    };
    let calls = on_rows
        .iter()
        .map(|raw| bind_call(ctx, &scope, raw))
        .collect::<SqlResult<Vec<_>>>()?;
    let mut states: HashMap<String, Vec<Accumulator>> = HashMap::new();
    let fresh = || -> Vec<Accumulator> {
        calls
            .iter()
            .map(|c| Accumulator::new(c.raw, c.ty))
            .collect()
    };
    if !calls.is_empty() && !ctx.dry_run {
        let what: Vec<Fetch> = fetch.iter().map(|(_, f)| *f).collect();
        let rows = fetch_rows(table, pred, &what, 0, None, usize::MAX, ctx.cancel)?;
        for (n, row) in rows.iter().enumerate() {
            if n % 4096 == 0 {
                ctx.cancel.check()?;
            }
            let keys = group_keys(&row[..n_groups], group_by);
            if keys.is_empty() {
                continue;
            }
            for key in keys {
                let Some(fold) = fold else {
                    let accs = states.entry(format!("{key:?}")).or_insert_with(fresh);
                    for (acc, call) in accs.iter_mut().zip(&calls) {
                        feed(ctx, acc, call, row)?;
                    }
                    continue;
                };
                for (id, times) in fold.ids_of(&key)?.iter() {
                    let accs = states.entry(format!("{id}")).or_insert_with(fresh);
                    for _ in 0..*times {
                        for (acc, call) in accs.iter_mut().zip(&calls) {
                            feed(ctx, acc, call, row)?;
                        }
                    }
                }
            }
        }
    }
    // Assemble: group keys, then every call in order.
    let mut out_columns: Vec<Column> = leaf.columns[..n_keys].to_vec();
    let mut k = 0;
    for (i, p) in placement.iter().enumerate() {
        let ty = match p {
            Placement::Bitmap(j) => leaf.columns[n_keys + j].ty,
            Placement::Rows => {
                k += 1;
                calls[k - 1].ty
            }
        };
        out_columns.push(Column {
            name: format!("__agg{i}"),
            ty,
        });
    }
    let mut out_rows = Vec::with_capacity(leaf.rows.len());
    for row in leaf.rows {
        let key = match fold {
            Some(fold) => fold.id_of(&row[..n_keys])?.map(|id| id.to_string()),
            None => Some(format!("{:?}", &row[..n_groups])),
        };
        let mut accs = key.and_then(|key| states.remove(&key)).map(Vec::into_iter);
        let mut out = row[..n_keys].to_vec();
        let mut k = 0;
        for p in placement {
            match p {
                Placement::Bitmap(j) => out.push(row[n_keys + j].clone()),
                Placement::Rows => {
                    let call = &calls[k];
                    k += 1;
                    let acc = accs
                        .as_mut()
                        .and_then(Iterator::next)
                        .unwrap_or_else(|| Accumulator::new(call.raw, call.ty));
                    let arg_ty = call.arg.as_ref().map_or(DataType::Text, |a| a.ty);
                    out.push(acc.finish(call.raw, call.ty, arg_ty, ctx.eval)?);
                }
            }
        }
        out_rows.push(out);
    }
    Ok(Relation {
        columns: out_columns,
        rows: out_rows,
    })
}

/// Binds one call's argument, delimiter, `ORDER BY` keys and filter.
fn bind_call<'a>(
    ctx: &QueryCtx<'_>,
    scope: &RelScope<'_>,
    raw: &'a RawAgg,
) -> SqlResult<RowCall<'a>> {
    let bind = |e: &Expr| ctx.bind(e, scope);
    let arg = raw.arg.as_ref().map(bind).transpose()?;
    let extra = raw.extra.as_ref().map(bind).transpose()?;
    let keys = raw
        .order_by
        .iter()
        .map(|(k, _, _)| bind(k))
        .collect::<SqlResult<Vec<_>>>()?;
    let filter = raw.filter.as_ref().map(bind).transpose()?;
    if let Some(f) = &filter
        && !matches!(f.ty, DataType::Bool | DataType::Unknown)
    {
        return Err(SqlError::mismatch(format!(
            "argument of FILTER must be type boolean, not type {}",
            f.ty.name()
        )));
    }
    let ty = result_type(
        raw,
        arg.as_ref().map(|a| a.ty),
        extra.as_ref().map(|d| d.ty),
    )?;
    Ok(RowCall {
        raw,
        arg,
        extra,
        keys,
        filter,
        ty,
    })
}

/// Feeds one fetched row to one call's accumulator.
fn feed(
    ctx: &QueryCtx<'_>,
    acc: &mut Accumulator,
    call: &RowCall<'_>,
    row: &[Datum],
) -> SqlResult<()> {
    let eval = |e: &BoundExpr| scalar::eval(e, row, ctx.eval);
    if let Some(f) = &call.filter
        && !matches!(eval(f)?, Datum::Bool(true))
    {
        return Ok(());
    }
    let v = match &call.arg {
        Some(a) => eval(a)?,
        None => Datum::Bool(true),
    };
    let keys = call.keys.iter().map(eval).collect::<SqlResult<Vec<_>>>()?;
    let delim = call.extra.as_ref().map(eval).transpose()?;
    acc.add(call.raw, v, keys, delim)
}

/// The groups a row belongs to: its key values, one group per element of
/// each `unnest` key (none for a NULL or empty set).
fn group_keys(values: &[Datum], group_by: &[GroupBy]) -> Vec<Vec<Datum>> {
    let mut keys: Vec<Vec<Datum>> = vec![Vec::new()];
    for (v, g) in values.iter().zip(group_by) {
        let options: Vec<Datum> = match g {
            GroupBy::Column(..) => vec![v.clone()],
            GroupBy::Unnest(_) => match v {
                Datum::TextArray(items) => items
                    .iter()
                    .map(|s| s.clone().map_or(Datum::Null, Datum::Text))
                    .collect(),
                _ => Vec::new(),
            },
        };
        keys = keys
            .into_iter()
            .flat_map(|k| {
                options.iter().map(move |o| {
                    let mut k = k.clone();
                    k.push(o.clone());
                    k
                })
            })
            .collect();
    }
    keys
}

/// The SQL type of a fetched column.
fn fetch_type(table: &TableSnapshot, f: Fetch) -> DataType {
    match f {
        Fetch::Key => match table.schema().key_type {
            KeyType::BigInt => DataType::Int8,
            KeyType::Text => DataType::Text,
        },
        Fetch::Tag(_, ty) => DataType::of_column(ty),
    }
}

/// Column names an expression mentions (subqueries included: a name that
/// is a column of the table may be an outer reference there).
pub fn referenced_names(e: &Expr, out: &mut Vec<String>) {
    struct Collect<'a>(&'a mut Vec<String>);
    impl Visitor for Collect<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(id) => self.0.push(fold_ident(id)),
                Expr::CompoundIdentifier(parts) => {
                    if let Some(last) = parts.last() {
                        self.0.push(fold_ident(last));
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let _ = e.visit(&mut Collect(out));
}
