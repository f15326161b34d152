//! Aggregate calls: recognizing them in the AST, cutting them out into
//! bitmap aggregate specs, typing and finalizing their results like
//! PostgreSQL (`COUNT` is `bigint`, `SUM(int)` is `bigint`, `SUM(bigint)` and
//! `AVG(int)` are `numeric`, …).

use super::decimal::Decimal;
use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::fold_ident;
use super::relation::Relation;
use super::scalar::Scope as _;
use super::select::QueryCtx;
use super::types::{DataType, Datum};
use crate::exec::aggregate::{AggKind, AggSpec, AggState};
use crate::exec::filter::Pred;
use crate::index::ColumnType;
use sqlparser::ast::{
    DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArguments, Ident, ObjectNamePart, OrderBy, Select, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// Names of the aggregate functions audb computes on bitmaps.
const AGGREGATES: &[&str] = &[
    "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every",
];

/// One aggregate call of a query, resolved against the audience table.
#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    /// What the bitmap executor computes.
    pub spec: AggSpec,
}

impl AggCall {
    /// PostgreSQL's result type of the call.
    pub fn result_type(&self) -> DataType {
        let ty = self.spec.col.map(|(_, t)| t);
        match (self.spec.kind, ty) {
            (AggKind::CountRows | AggKind::Count | AggKind::CountDistinct, _) => DataType::Int8,
            (AggKind::Sum, Some(ColumnType::SmallInt | ColumnType::Int)) => DataType::Int8,
            (AggKind::Sum, Some(ColumnType::Real)) => DataType::Float4,
            (AggKind::Sum | AggKind::Avg, Some(ColumnType::Double | ColumnType::Real)) => {
                DataType::Float8
            }
            (AggKind::Sum | AggKind::Avg, _) => DataType::Numeric(None),
            (AggKind::Min | AggKind::Max, Some(t)) => DataType::of_column(t),
            (AggKind::BoolAnd | AggKind::BoolOr, _) => DataType::Bool,
            (AggKind::Min | AggKind::Max, None) => DataType::Int8,
        }
    }

    /// The SQL value of a final aggregate state.
    pub fn finalize(&self, state: AggState) -> SqlResult<Datum> {
        let ty = self.spec.col.map(|(_, t)| t);
        let scale = match ty {
            Some(ColumnType::Numeric { scale, .. }) => u32::from(scale),
            _ => 0,
        };
        Ok(match (self.spec.kind, state) {
            (_, AggState::Count(n)) => Datum::Int(i64::try_from(n).unwrap_or(i64::MAX)),
            (_, AggState::Distinct(set)) => Datum::Int(set.len() as i64),
            (_, AggState::Sum(_, 0) | AggState::FloatSum(_, 0)) => Datum::Null,
            (AggKind::Sum, AggState::Sum(sum, _)) => match self.result_type() {
                DataType::Int8 => Datum::Int(i64::try_from(sum).map_err(|_| {
                    SqlError::new(SqlState::NumericValueOutOfRange, "bigint out of range")
                })?),
                _ => Datum::Numeric(Decimal::new(sum, scale)),
            },
            (AggKind::Avg, AggState::Sum(sum, n)) => {
                let count = Decimal::new(i128::from(n), 0);
                Datum::Numeric(Decimal::new(sum, scale).div(&count)?)
            }
            (AggKind::Sum, AggState::FloatSum(sum, _)) => Datum::Float(sum),
            (AggKind::Avg, AggState::FloatSum(sum, n)) => Datum::Float(sum / n as f64),
            (_, AggState::Extreme(None)) => Datum::Null,
            (_, AggState::Extreme(Some(v))) => match ty {
                Some(t) => crate::exec::convert::decode_int(v, t),
                None => Datum::Int(v),
            },
            (AggKind::BoolAnd, AggState::Bools(t, f)) => match (t, f) {
                (false, false) => Datum::Null,
                (_, f) => Datum::Bool(!f),
            },
            (_, AggState::Bools(t, f)) => match (t, f) {
                (false, false) => Datum::Null,
                (t, _) => Datum::Bool(t),
            },
            (_, other) => return Err(SqlError::internal(format!("aggregate state {other:?}"))),
        })
    }
}

fn function_name(f: &Function) -> Option<String> {
    match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Some(fold_ident(id)),
        [
            ObjectNamePart::Identifier(s),
            ObjectNamePart::Identifier(id),
        ] if fold_ident(s) == "pg_catalog" => Some(fold_ident(id)),
        _ => None,
    }
}

/// Whether `f` is a plain (not window) aggregate call.
fn is_aggregate_call(f: &Function) -> bool {
    f.over.is_none() && function_name(f).is_some_and(|n| AGGREGATES.contains(&n.as_str()))
}

/// Whether `e` contains a plain aggregate call.
pub fn has_aggregate(e: &Expr) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    /// Counts subquery levels: their aggregates are their own.
    struct Find(usize);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.0 += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.0 -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Function(f) if self.0 == 0 && is_aggregate_call(f) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }
    }
    e.visit(&mut Find(0)).is_break()
}

/// An aggregate call as written: name, distinct, argument, filter.
#[derive(Clone, Debug, PartialEq)]
pub struct RawAgg {
    /// Lower-case function name.
    pub name: String,
    /// `DISTINCT` given.
    pub distinct: bool,
    /// The argument; `None` for `*`.
    pub arg: Option<Expr>,
    /// `FILTER (WHERE …)`.
    pub filter: Option<Expr>,
}

fn raw_agg(f: &Function) -> SqlResult<RawAgg> {
    let name = function_name(f).unwrap_or_default();
    let mut filter = f.filter.as_deref().cloned();
    let (distinct, arg) = match &f.args {
        FunctionArguments::None => (false, None),
        FunctionArguments::List(list) => {
            for clause in &list.clauses {
                match clause {
                    FunctionArgumentClause::OrderBy(_) => {}
                    FunctionArgumentClause::Where(w) => filter = Some(w.clone()),
                    other => return Err(SqlError::unsupported(format!("{other} in an aggregate"))),
                }
            }
            let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
            match list.args.as_slice() {
                [] => (distinct, None),
                [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] => (distinct, None),
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => (distinct, Some(e.clone())),
                _ => {
                    return Err(SqlError::new(
                        SqlState::UndefinedFunction,
                        format!("function {name} with these arguments does not exist"),
                    ));
                }
            }
        }
        FunctionArguments::Subquery(_) => {
            return Err(SqlError::unsupported("a subquery as an aggregate argument"));
        }
    };
    if !f.within_group.is_empty() {
        return Err(SqlError::unsupported("WITHIN GROUP"));
    }
    if name != "count" && arg.is_none() {
        return Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!("function {name}(*) does not exist"),
        ));
    }
    Ok(RawAgg {
        name,
        distinct,
        arg,
        filter,
    })
}

/// Replaces every plain aggregate call in `e` by `"__agg<n>"`, appending the
/// calls to `out` (identical calls share one column).
pub fn extract_aggregates(e: &mut Expr, out: &mut Vec<RawAgg>) -> SqlResult<()> {
    struct Cut<'a> {
        out: &'a mut Vec<RawAgg>,
        err: Option<SqlError>,
        /// Subquery levels entered (their aggregates are their own).
        depth: usize,
    }
    impl VisitorMut for Cut<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e
                && self.depth == 0
                && is_aggregate_call(f)
            {
                match raw_agg(f) {
                    Ok(raw) => {
                        if raw.arg.as_ref().is_some_and(has_aggregate) {
                            self.err = Some(SqlError::new(
                                SqlState::GroupingError,
                                "aggregate function calls cannot be nested",
                            ));
                            return ControlFlow::Break(());
                        }
                        let idx = match self.out.iter().position(|r| *r == raw) {
                            Some(i) => i,
                            None => {
                                self.out.push(raw);
                                self.out.len() - 1
                            }
                        };
                        *e = Expr::Identifier(Ident::with_quote('"', format!("__agg{idx}")));
                    }
                    Err(err) => {
                        self.err = Some(err);
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut cut = Cut {
        out,
        err: None,
        depth: 0,
    };
    let _ = e.visit(&mut cut);
    match cut.err {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Replaces references to group keys by `"__grp<n>"`. A group key matches
/// an expression equal to it, or a column reference with the same column
/// name (qualified or not); `groups[i].0` is that column name, if any.
pub fn replace_group_refs(e: &mut Expr, groups: &[(Option<String>, Expr)]) {
    struct Swap<'a> {
        groups: &'a [(Option<String>, Expr)],
        /// Subquery levels entered (their names are their own).
        depth: usize,
    }
    impl VisitorMut for Swap<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if self.depth > 0 {
                return ControlFlow::Continue(());
            }
            let col_name = match e {
                Expr::Identifier(id) => Some(fold_ident(id)),
                Expr::CompoundIdentifier(parts) if parts.len() == 2 => Some(fold_ident(&parts[1])),
                _ => None,
            };
            for (i, (name, ge)) in self.groups.iter().enumerate() {
                let hit = *ge == *e || (col_name.is_some() && *name == col_name);
                if hit {
                    *e = Expr::Identifier(Ident::with_quote('"', format!("__grp{i}")));
                    break;
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = e.visit(&mut Swap { groups, depth: 0 });
}

/// Cuts the aggregate calls out of the select list, HAVING and ORDER BY
/// (see [`extract_aggregates`]), then points group-key references at the
/// grouped relation (see [`replace_group_refs`]). Returns the calls.
pub fn cut_aggregates_and_groups(
    list: &mut [(String, Expr)],
    having: &mut Option<Expr>,
    order: &mut [(Expr, bool, Option<bool>)],
    groups: &[(Option<String>, Expr)],
) -> SqlResult<Vec<RawAgg>> {
    let mut raws = Vec::new();
    let exprs = list
        .iter_mut()
        .map(|(_, e)| e)
        .chain(having.iter_mut())
        .chain(order.iter_mut().map(|(e, _, _)| e));
    let exprs: Vec<&mut Expr> = exprs.collect();
    for e in exprs {
        extract_aggregates(e, &mut raws)?;
        replace_group_refs(e, groups);
    }
    Ok(raws)
}

/// Recognizes `SUM(CASE WHEN p THEN 1 ELSE 0 END)` and
/// `COUNT(CASE WHEN p THEN 1 END)` as filtered row counts: returns `p`.
pub fn counted_condition(raw: &RawAgg) -> Option<Expr> {
    let Some(Expr::Case {
        operand: None,
        conditions,
        else_result,
        ..
    }) = &raw.arg
    else {
        return None;
    };
    let [when] = conditions.as_slice() else {
        return None;
    };
    let is_num = |e: &Expr, n: &str| matches!(e, Expr::Value(v) if matches!(&v.value, sqlparser::ast::Value::Number(x, _) if x == n));
    let is_null =
        |e: &Expr| matches!(e, Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Null));
    match raw.name.as_str() {
        "sum"
            if !raw.distinct
                && is_num(&when.result, "1")
                && else_result.as_deref().is_some_and(|e| is_num(e, "0")) =>
        {
            Some(when.condition.clone())
        }
        "count"
            if !raw.distinct
                && !is_null(&when.result)
                && else_result.as_deref().is_none_or(is_null) =>
        {
            Some(when.condition.clone())
        }
        _ => None,
    }
}

/// One aggregate's running state over a small relation.
enum RelAgg {
    Count(u64),
    CountDistinct(std::collections::HashSet<String>),
    SumInt(i128, u64),
    SumNumeric(Decimal, u64),
    SumFloat(f64, u64),
    Extreme(Option<Datum>),
    Bools(bool, bool),
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
    use super::relation::Column;
    use super::scalar::compare_datums;
    use super::select::{RelScope, finish_select, order_keys};
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
    for r in &raws {
        let arg = r.arg.as_ref().map(|a| ctx.bind(a, &scope)).transpose()?;
        let filter = r.filter.as_ref().map(|f| ctx.bind(f, &scope)).transpose()?;
        let at = arg.as_ref().map(|a| a.ty);
        let ty = match (r.name.as_str(), at) {
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
            .map(|g| super::scalar::eval(g, row, ctx.eval))
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
        for ((state, (arg, filter)), raw) in states[gi].iter_mut().zip(&args).zip(&raws) {
            if let Some(f) = filter
                && !matches!(super::scalar::eval(f, row, ctx.eval)?, Datum::Bool(true))
            {
                continue;
            }
            let v = match arg {
                Some(a) => super::scalar::eval(a, row, ctx.eval)?,
                None => Datum::Bool(true),
            };
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
        for ((state, raw), ty) in st.into_iter().zip(&raws).zip(&types) {
            row.push(match state {
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
    let gscope = RelGroupScope {
        inner: RelScope {
            columns: &leaf.columns,
            quals: &leaf_quals,
        },
        input: &scope,
    };
    let leaf = match &having {
        Some(h) => {
            let b = ctx.bind(h, &gscope)?;
            super::relation::filter(leaf.clone(), &b, ctx.eval, ctx.cancel)?
        }
        None => leaf.clone(),
    };
    let distinct = select.distinct.is_some();
    finish_select(ctx, &leaf, &gscope, list, distinct, &order, offset, limit)
}

/// Names over a grouped relation: its `__grp`/`__agg` columns; input columns
/// that are not grouped are a grouping error.
struct RelGroupScope<'a> {
    inner: super::select::RelScope<'a>,
    input: &'a super::select::RelScope<'a>,
}

impl super::scalar::Scope for RelGroupScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if qualifier.is_none()
            && let Ok(hit) = self.inner.resolve(None, name)
        {
            return Ok(hit);
        }
        if self.input.resolve(qualifier, name).is_ok() {
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

/// Builds the bitmap spec of a raw aggregate over an audience table.
pub fn agg_spec(
    raw: &RawAgg,
    resolve: &dyn Fn(&Expr) -> SqlResult<Option<ArgRef>>,
    compile_filter: &dyn Fn(&Expr) -> SqlResult<Pred>,
) -> SqlResult<AggCall> {
    let filter = match (&raw.filter, counted_condition(raw)) {
        (Some(f), Some(c)) => Some(Pred::And(vec![compile_filter(f)?, compile_filter(&c)?])),
        (Some(f), None) => Some(compile_filter(f)?),
        (None, Some(c)) => Some(compile_filter(&c)?),
        (None, None) => None,
    };
    if counted_condition(raw).is_some() {
        return Ok(AggCall {
            spec: AggSpec {
                kind: AggKind::CountRows,
                col: None,
                filter,
            },
        });
    }
    let arg = match &raw.arg {
        None => None,
        Some(e) => Some(resolve(e)?.ok_or_else(|| {
            SqlError::unsupported(format!(
                "{}({e}) on an audience table: aggregate arguments must be columns",
                raw.name
            ))
        })?),
    };
    let (kind, col) = match (raw.name.as_str(), arg) {
        ("count", None) | ("count", Some(ArgRef::Key)) => (AggKind::CountRows, None),
        ("count", Some(ArgRef::Column(id, ty))) if raw.distinct => {
            (AggKind::CountDistinct, Some((id, ty)))
        }
        ("count", Some(ArgRef::Column(id, ty))) => (AggKind::Count, Some((id, ty))),
        (name @ ("sum" | "avg" | "min" | "max"), Some(ArgRef::Column(id, ty))) => {
            if ty.kind() != crate::index::TagKind::Numeric {
                return Err(match name {
                    "min" | "max" => SqlError::unsupported(format!("{name}() of a {ty} column")),
                    _ => SqlError::new(
                        SqlState::UndefinedFunction,
                        format!(
                            "function {name}({}) does not exist",
                            DataType::of_column(ty).name()
                        ),
                    ),
                });
            }
            if raw.distinct && name != "min" && name != "max" {
                return Err(SqlError::unsupported(format!("{name}(DISTINCT …)")));
            }
            let kind = match name {
                "sum" => AggKind::Sum,
                "avg" => AggKind::Avg,
                "min" => AggKind::Min,
                _ => AggKind::Max,
            };
            if matches!(kind, AggKind::Sum | AggKind::Avg)
                && matches!(
                    ty,
                    ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz
                )
            {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!(
                        "function {name}({}) does not exist",
                        DataType::of_column(ty).name()
                    ),
                ));
            }
            (kind, Some((id, ty)))
        }
        (
            name @ ("bool_and" | "bool_or" | "every"),
            Some(ArgRef::Column(id, ColumnType::Boolean)),
        ) => (
            if name == "bool_or" {
                AggKind::BoolOr
            } else {
                AggKind::BoolAnd
            },
            Some((id, ColumnType::Boolean)),
        ),
        (name, _) => {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("function {name} with these arguments does not exist"),
            ));
        }
    };
    Ok(AggCall {
        spec: AggSpec { kind, col, filter },
    })
}

/// What an aggregate argument refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgRef {
    /// The key column.
    Key,
    /// A tag column.
    Column(u32, ColumnType),
}
