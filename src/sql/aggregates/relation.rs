//! GROUP BY, aggregates and HAVING over small relations (catalog tables,
//! derived tables, joins), row at a time, with PostgreSQL's result types.

use super::accum::{Accumulator, result_type};
use super::cut_aggregates_and_groups;
use super::groups::resolve_group_by;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use crate::sql::project_set::{calls_srf, expand, has_srf};
use crate::sql::relation::{Relation, RowKey};
use crate::sql::scalar::Scope as _;
use crate::sql::select::QueryCtx;
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{Expr, OrderBy, Select};

/// GROUP BY, aggregates and HAVING over a small relation, row at a time.
#[allow(clippy::too_many_arguments)]
pub fn aggregate_relation(
    ctx: &QueryCtx<'_>,
    rel: &Relation,
    quals: &[Option<String>],
    select: &Select,
    mut list: Vec<(String, Expr)>,
    order_by: Option<&OrderBy>,
    offset: u64,
    limit: Option<u64>,
) -> SqlResult<Relation> {
    use crate::sql::relation::Column;
    use crate::sql::select::{RelScope, finish_select, order_keys};
    let scope = RelScope {
        columns: &rel.columns,
        quals,
    };
    let group_exprs = resolve_group_by(select, &list, &|id| {
        scope.resolve(None, &fold_ident(id)).is_ok()
    })?;
    // Set-returning functions in GROUP BY run before grouping (PostgreSQL's
    // ProjectSet below the Agg): each input row becomes the rows of the
    // calls, which the group keys then read.
    let expanded;
    let (rel, quals, bind_exprs) = if group_exprs.iter().any(calls_srf) {
        let keyed: Vec<(String, Expr)> = group_exprs
            .iter()
            .map(|e| (String::new(), e.clone()))
            .collect();
        expanded = expand(ctx, rel.clone(), quals.to_vec(), keyed)?;
        let exprs: Vec<Expr> = expanded.list.iter().map(|(_, e)| e.clone()).collect();
        (&expanded.rel, expanded.quals.as_slice(), exprs)
    } else {
        (rel, quals, group_exprs.clone())
    };
    let scope = RelScope {
        columns: &rel.columns,
        quals,
    };
    let groups: Vec<(Option<String>, Expr)> = group_exprs
        .iter()
        .map(|e| {
            let name = match e {
                Expr::Identifier(id) => Some(fold_ident(id)),
                Expr::CompoundIdentifier(p) if p.len() == 2 => Some(fold_ident(&p[1])),
                _ => None,
            };
            (name, e.clone())
        })
        .collect();
    let bound_groups = bind_exprs
        .iter()
        .map(|e| ctx.bind(e, &scope))
        .collect::<SqlResult<Vec<_>>>()?;
    let mut having = select.having.clone();
    let mut order = order_keys(order_by)?;
    let raws = cut_aggregates_and_groups(&mut list, &mut having, &mut order, &groups)?;
    // Bind aggregate arguments and filters; decide result types.
    let mut args = Vec::with_capacity(raws.len());
    let mut types = Vec::with_capacity(raws.len());
    let mut collect_args = Vec::with_capacity(raws.len());
    for r in &raws {
        let arg = r.arg.as_ref().map(|a| ctx.bind(a, &scope)).transpose()?;
        let filter = r.filter.as_ref().map(|f| ctx.bind(f, &scope)).transpose()?;
        let extra = r.extra.as_ref().map(|d| ctx.bind(d, &scope)).transpose()?;
        let keys = r
            .order_by
            .iter()
            .map(|(k, _, _)| ctx.bind(k, &scope))
            .collect::<SqlResult<Vec<_>>>()?;
        types.push(result_type(
            r,
            arg.as_ref().map(|a| a.ty),
            extra.as_ref().map(|d| d.ty),
        )?);
        collect_args.push((extra, keys));
        args.push((arg, filter));
    }
    // Group rows.
    // Groups are told apart by value as PostgreSQL's equality does (`0 =
    // -0`, NaN = NaN, numeric `1.0 = 1.00`); each shows its first row's key.
    let mut index: std::collections::BTreeMap<RowKey, usize> = std::collections::BTreeMap::new();
    let mut keys: Vec<Vec<Datum>> = Vec::new();
    let mut states: Vec<Vec<Accumulator>> = Vec::new();
    let fresh = || -> Vec<Accumulator> {
        raws.iter()
            .zip(&types)
            .map(|(r, t)| Accumulator::new(r, *t))
            .collect()
    };
    let eval = |e: &crate::sql::scalar::BoundExpr, row: &[Datum]| {
        crate::sql::scalar::eval(e, row, ctx.eval)
    };
    for (n, row) in rel.rows.iter().enumerate() {
        if n % 4096 == 0 {
            ctx.cancel.check()?;
        }
        let key = bound_groups
            .iter()
            .map(|g| eval(g, row))
            .collect::<SqlResult<Vec<_>>>()?;
        let gi = match index.entry(RowKey(key)) {
            std::collections::btree_map::Entry::Occupied(o) => *o.get(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let key = v.key().0.clone();
                v.insert(keys.len());
                keys.push(key);
                states.push(fresh());
                keys.len() - 1
            }
        };
        for (((state, (arg, filter)), raw), (extra, order_keys)) in states[gi]
            .iter_mut()
            .zip(&args)
            .zip(&raws)
            .zip(&collect_args)
        {
            if let Some(f) = filter
                && !matches!(eval(f, row)?, Datum::Bool(true))
            {
                continue;
            }
            let v = match arg {
                Some(a) => eval(a, row)?,
                None => Datum::Bool(true),
            };
            let k = order_keys
                .iter()
                .map(|k| eval(k, row))
                .collect::<SqlResult<Vec<_>>>()?;
            let d = extra.as_ref().map(|d| eval(d, row)).transpose()?;
            state.add(raw, v, k, d)?;
        }
    }
    if keys.is_empty() && group_exprs.is_empty() {
        keys.push(Vec::new());
        states.push(fresh());
    }
    // The grouped relation: __grp0…, __agg0….
    let mut columns: Vec<Column> = bound_groups
        .iter()
        .enumerate()
        .map(|(i, g)| Column {
            name: format!("__grp{i}"),
            ty: g.ty,
        })
        .collect();
    columns.extend(types.iter().enumerate().map(|(i, t)| Column {
        name: format!("__agg{i}"),
        ty: *t,
    }));
    let mut rows = Vec::with_capacity(keys.len());
    for (key, st) in keys.into_iter().zip(states) {
        let mut row = key;
        for (((state, raw), ty), (arg, _)) in st.into_iter().zip(&raws).zip(&types).zip(&args) {
            let at = arg.as_ref().map_or(DataType::Text, |a| a.ty);
            row.push(state.finish(raw, *ty, at, ctx.eval)?);
        }
        rows.push(row);
    }
    let leaf = Relation { columns, rows };
    let leaf_quals: Vec<Option<String>> = Vec::new();
    // Input columns that are group keys by themselves: any spelling of
    // them (`c.relkind` for `GROUP BY relkind`, or from a subquery) reads
    // the group's value, as in PostgreSQL.
    let key_columns: Vec<(usize, usize)> = bound_groups
        .iter()
        .enumerate()
        .filter_map(|(g, b)| match b.expr {
            crate::sql::scalar::ScalarExpr::Column { index, .. } => Some((index, g)),
            _ => None,
        })
        .collect();
    let gscope = RelGroupScope {
        inner: RelScope {
            columns: &leaf.columns,
            quals: &leaf_quals,
        },
        input: &scope,
        key_columns: &key_columns,
    };
    let leaf = match &having {
        Some(h) => {
            let b = crate::sql::predicate::bind_condition(ctx, h, &gscope, "HAVING")?;
            crate::sql::relation::filter(leaf.clone(), &b, ctx.eval, ctx.cancel)?
        }
        None => leaf.clone(),
    };
    let distinct = select.distinct.is_some();
    if !has_srf(&list) {
        return finish_select(ctx, &leaf, &gscope, list, distinct, &order, offset, limit);
    }
    // Set-returning functions over the groups run after grouping.
    let e = expand(ctx, leaf, vec![None; gscope.inner.columns.len()], list)?;
    let gscope = RelGroupScope {
        inner: RelScope {
            columns: &e.rel.columns,
            quals: &e.quals,
        },
        input: gscope.input,
        key_columns: gscope.key_columns,
    };
    finish_select(
        ctx, &e.rel, &gscope, e.list, distinct, &order, offset, limit,
    )
}

/// Names over a grouped relation: its `__grp`/`__agg` columns; input columns
/// that are not grouped are a grouping error.
struct RelGroupScope<'a> {
    inner: crate::sql::select::RelScope<'a>,
    input: &'a crate::sql::select::RelScope<'a>,
    /// (input column, group column) for group keys that are plain columns.
    key_columns: &'a [(usize, usize)],
}

impl crate::sql::scalar::Scope for RelGroupScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if qualifier.is_none()
            && let Ok(hit) = self.inner.resolve(None, name)
        {
            return Ok(hit);
        }
        if let Ok((index, _)) = self.input.resolve(qualifier, name) {
            if let Some(&(_, g)) = self.key_columns.iter().find(|(i, _)| *i == index) {
                return self.inner.resolve(None, &format!("__grp{g}"));
            }
            return Err(SqlError::new(
                SqlState::GroupingError,
                format!(
                    "column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
                ),
            ));
        }
        Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!("column \"{name}\" does not exist"),
        ))
    }
}
