//! GROUP BY, aggregates and HAVING over small relations (catalog tables,
//! derived tables, joins), row at a time, with PostgreSQL's result types.

use super::collect;
use super::{RawAgg, cut_aggregates_and_groups};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::predicate::fold_ident;
use crate::sql::relation::Relation;
use crate::sql::scalar::Scope as _;
use crate::sql::select::QueryCtx;
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{Expr, OrderBy, Select};

/// One aggregate's running state over a small relation.
enum RelAgg {
    Count(u64),
    CountDistinct(std::collections::HashSet<String>),
    SumInt(i128, u64),
    SumNumeric(Decimal, u64),
    SumFloat(f64, u64),
    Extreme(Option<Datum>),
    Bools(bool, bool),
    Collect(collect::Collected),
}

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
    use crate::sql::scalar::compare_datums;
    use crate::sql::select::{RelScope, finish_select, order_keys};
    let scope = RelScope {
        columns: &rel.columns,
        quals,
    };
    let group_exprs = match &select.group_by {
        sqlparser::ast::GroupByExpr::Expressions(g, m) if m.is_empty() => g.clone(),
        _ => {
            return Err(SqlError::unsupported(
                "GROUP BY ALL, ROLLUP, CUBE and GROUPING SETS",
            ));
        }
    };
    // Resolve ordinals and output aliases.
    let mut groups: Vec<(Option<String>, Expr)> = Vec::new();
    for g in &group_exprs {
        let e = match g {
            Expr::Value(v) => match &v.value {
                sqlparser::ast::Value::Number(n, _) => {
                    let k: usize = n.parse().unwrap_or(0);
                    list.get(k.wrapping_sub(1))
                        .map(|(_, e)| e.clone())
                        .ok_or_else(|| {
                            SqlError::new(
                                SqlState::InvalidColumnReference,
                                format!("GROUP BY position {n} is not in select list"),
                            )
                        })?
                }
                _ => g.clone(),
            },
            Expr::Identifier(id) if scope.resolve(None, &fold_ident(id)).is_err() => {
                let n = fold_ident(id);
                list.iter()
                    .find(|(name, _)| *name == n)
                    .map(|(_, e)| e.clone())
                    .unwrap_or_else(|| g.clone())
            }
            other => other.clone(),
        };
        let name = match &e {
            Expr::Identifier(id) => Some(fold_ident(id)),
            Expr::CompoundIdentifier(p) if p.len() == 2 => Some(fold_ident(&p[1])),
            _ => None,
        };
        groups.push((name, e));
    }
    let bound_groups = groups
        .iter()
        .map(|(_, e)| ctx.bind(e, &scope))
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
        let at = arg.as_ref().map(|a| a.ty);
        let extra = r.extra.as_ref().map(|d| ctx.bind(d, &scope)).transpose()?;
        let keys = r
            .order_by
            .iter()
            .map(|(k, _, _)| ctx.bind(k, &scope))
            .collect::<SqlResult<Vec<_>>>()?;
        let is_collect = collect::COLLECTING.contains(&r.name.as_str());
        let collect_ty = match (is_collect, at) {
            (true, Some(t)) => Some(collect::result_type(
                &r.name,
                t,
                extra.as_ref().map(|d| d.ty),
            )?),
            _ => None,
        };
        collect_args.push((extra, keys));
        let ty = match (r.name.as_str(), at) {
            (_, _) if let Some(t) = collect_ty => t,
            ("count", _) => DataType::Int8,
            ("sum", Some(DataType::Int2 | DataType::Int4)) => DataType::Int8,
            ("sum" | "avg", Some(DataType::Int8 | DataType::Numeric(_)))
            | ("avg", Some(DataType::Int2 | DataType::Int4)) => DataType::Numeric(None),
            ("sum", Some(DataType::Float4)) => DataType::Float4,
            ("sum" | "avg", Some(DataType::Float8 | DataType::Float4)) => DataType::Float8,
            ("min" | "max", Some(t)) if t != DataType::TextArray => t,
            ("bool_and" | "bool_or" | "every", Some(DataType::Bool)) => DataType::Bool,
            (name, t) => {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!(
                        "function {name}({}) does not exist",
                        t.map(|t| t.name()).unwrap_or_else(|| "*".into())
                    ),
                ));
            }
        };
        args.push((arg, filter));
        types.push(ty);
    }
    // Group rows.
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut keys: Vec<Vec<Datum>> = Vec::new();
    let mut states: Vec<Vec<RelAgg>> = Vec::new();
    let fresh = |r: &RawAgg, ty: DataType| -> RelAgg {
        match (r.name.as_str(), ty) {
            (name, _) if collect::COLLECTING.contains(&name) => {
                RelAgg::Collect(collect::Collected::default())
            }
            ("count", _) if r.distinct => RelAgg::CountDistinct(Default::default()),
            ("count", _) => RelAgg::Count(0),
            ("sum" | "avg", DataType::Float4 | DataType::Float8) => RelAgg::SumFloat(0.0, 0),
            ("sum", DataType::Int8) => RelAgg::SumInt(0, 0),
            ("sum" | "avg", _) => RelAgg::SumNumeric(Decimal::new(0, 0), 0),
            ("min" | "max", _) => RelAgg::Extreme(None),
            _ => RelAgg::Bools(false, false),
        }
    };
    for (n, row) in rel.rows.iter().enumerate() {
        if n % 4096 == 0 {
            ctx.cancel.check()?;
        }
        let key = bound_groups
            .iter()
            .map(|g| crate::sql::scalar::eval(g, row, ctx.eval))
            .collect::<SqlResult<Vec<_>>>()?;
        let k = format!("{key:?}");
        let gi = match index.get(&k) {
            Some(i) => *i,
            None => {
                index.insert(k, keys.len());
                keys.push(key);
                states.push(raws.iter().zip(&types).map(|(r, t)| fresh(r, *t)).collect());
                keys.len() - 1
            }
        };
        for (((state, (arg, filter)), raw), (extra, keys)) in states[gi]
            .iter_mut()
            .zip(&args)
            .zip(&raws)
            .zip(&collect_args)
        {
            if let Some(f) = filter
                && !matches!(
                    crate::sql::scalar::eval(f, row, ctx.eval)?,
                    Datum::Bool(true)
                )
            {
                continue;
            }
            let v = match arg {
                Some(a) => crate::sql::scalar::eval(a, row, ctx.eval)?,
                None => Datum::Bool(true),
            };
            if let RelAgg::Collect(c) = state {
                let k = keys
                    .iter()
                    .map(|k| crate::sql::scalar::eval(k, row, ctx.eval))
                    .collect::<SqlResult<Vec<_>>>()?;
                let d = extra
                    .as_ref()
                    .map(|d| crate::sql::scalar::eval(d, row, ctx.eval))
                    .transpose()?;
                c.push(k, v, d);
                continue;
            }
            if v.is_null() {
                continue;
            }
            match state {
                RelAgg::Count(c) => *c += 1,
                RelAgg::CountDistinct(set) => {
                    set.insert(format!("{v:?}"));
                }
                RelAgg::SumInt(s, c) => {
                    if let Datum::Int(i) = v {
                        *s += i128::from(i);
                        *c += 1;
                    }
                }
                RelAgg::SumNumeric(s, c) => {
                    let d = match v {
                        Datum::Int(i) => Decimal::from_i64(i),
                        Datum::Numeric(d) => d,
                        _ => continue,
                    };
                    *s = s.add(&d)?;
                    *c += 1;
                }
                RelAgg::SumFloat(s, c) => {
                    if let Datum::Float(f) = v {
                        *s += f;
                        *c += 1;
                    }
                }
                RelAgg::Extreme(cur) => {
                    let replace = match cur {
                        None => true,
                        Some(c) => {
                            let ord = compare_datums(&v, c);
                            if raw.name == "min" {
                                ord.is_lt()
                            } else {
                                ord.is_gt()
                            }
                        }
                    };
                    if replace {
                        *cur = Some(v);
                    }
                }
                RelAgg::Collect(_) => {}
                RelAgg::Bools(t, f) => {
                    if v == Datum::Bool(true) {
                        *t = true;
                    } else {
                        *f = true;
                    }
                }
            }
        }
    }
    if keys.is_empty() && group_exprs.is_empty() {
        keys.push(Vec::new());
        states.push(raws.iter().zip(&types).map(|(r, t)| fresh(r, *t)).collect());
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
            row.push(match state {
                RelAgg::Collect(c) => {
                    let order: Vec<collect::SortKey> =
                        raw.order_by.iter().map(|(_, d, n)| (*d, *n)).collect();
                    let at = arg.as_ref().map_or(DataType::Text, |a| a.ty);
                    c.finish(&raw.name, raw.distinct, &order, at, ctx.eval)?
                }
                RelAgg::Count(c) => Datum::Int(c as i64),
                RelAgg::CountDistinct(set) => Datum::Int(set.len() as i64),
                RelAgg::SumInt(_, 0) | RelAgg::SumNumeric(_, 0) | RelAgg::SumFloat(_, 0) => {
                    Datum::Null
                }
                RelAgg::SumInt(s, _) if *ty == DataType::Int8 => {
                    Datum::Int(i64::try_from(s).map_err(|_| {
                        SqlError::new(SqlState::NumericValueOutOfRange, "bigint out of range")
                    })?)
                }
                RelAgg::SumInt(s, _) => Datum::Numeric(Decimal::new(s, 0)),
                RelAgg::SumNumeric(s, c) if raw.name == "avg" => {
                    Datum::Numeric(s.div(&Decimal::from_i64(c as i64))?)
                }
                RelAgg::SumNumeric(s, _) => Datum::Numeric(s),
                RelAgg::SumFloat(s, c) if raw.name == "avg" => Datum::Float(s / c as f64),
                RelAgg::SumFloat(s, _) => Datum::Float(s),
                RelAgg::Extreme(v) => v.unwrap_or(Datum::Null),
                RelAgg::Bools(false, false) => Datum::Null,
                RelAgg::Bools(t, f) => Datum::Bool(if raw.name == "bool_or" { t } else { !f }),
            });
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
            let b = ctx.bind(h, &gscope)?;
            crate::sql::relation::filter(leaf.clone(), &b, ctx.eval, ctx.cancel)?
        }
        None => leaf.clone(),
    };
    let distinct = select.distinct.is_some();
    finish_select(ctx, &leaf, &gscope, list, distinct, &order, offset, limit)
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
