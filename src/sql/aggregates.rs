//! Aggregate calls: recognizing them in the AST, cutting them out into
//! bitmap aggregate specs, typing and finalizing their results like
//! PostgreSQL (`COUNT` is `bigint`, `SUM(int)` is `bigint`, `SUM(bigint)` and
//! `AVG(int)` are `numeric`, …). The order-sensitive aggregates
//! (`string_agg`, `array_agg`, `json_agg`) are in [`collect`], the row by
//! row state of any aggregate in [`accum`], the aggregates of an audience
//! table that are not computed on bitmaps in [`on_rows`], GROUP BY over
//! small relations in `relation`, the GROUP BY list in [`groups`], and
//! GROUP BY expressions folded on bitmaps in [`fold`].

pub mod accum;
pub mod collect;
pub mod fold;
pub mod groups;
pub mod on_rows;
mod relation;

pub use relation::aggregate_relation;

use super::decimal::Decimal;
use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::fold_ident;
use super::types::{DataType, Datum};
use crate::exec::aggregate::{AggKind, AggSpec, AggState};
use crate::exec::filter::Pred;
use crate::index::ColumnType;
use sqlparser::ast::{
    DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArguments, Ident, ObjectNamePart, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// How audb computes an aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggClass {
    /// Computed on bitmaps for a column of an audience table (on rows for
    /// other arguments and over small relations).
    Bitmap,
    /// Collects the group's rows, then sorts and folds them
    /// ([`collect`]): on rows.
    Collecting,
    /// A PostgreSQL aggregate audb does not compute (0A000); known so that
    /// it is an aggregate wherever one is not allowed (42803).
    Unsupported,
}

/// The aggregate functions PostgreSQL has that audb knows, with how audb
/// computes them.
pub const AGGREGATES: &[(&str, AggClass)] = &[
    ("count", AggClass::Bitmap),
    ("sum", AggClass::Bitmap),
    ("avg", AggClass::Bitmap),
    ("min", AggClass::Bitmap),
    ("max", AggClass::Bitmap),
    ("bool_and", AggClass::Bitmap),
    ("bool_or", AggClass::Bitmap),
    ("every", AggClass::Bitmap),
    ("string_agg", AggClass::Collecting),
    ("array_agg", AggClass::Collecting),
    ("json_agg", AggClass::Collecting),
    ("stddev", AggClass::Unsupported),
    ("stddev_samp", AggClass::Unsupported),
    ("stddev_pop", AggClass::Unsupported),
    ("variance", AggClass::Unsupported),
    ("var_samp", AggClass::Unsupported),
    ("var_pop", AggClass::Unsupported),
    ("percentile_cont", AggClass::Unsupported),
    ("percentile_disc", AggClass::Unsupported),
    ("mode", AggClass::Unsupported),
    ("jsonb_agg", AggClass::Unsupported),
];

/// How audb computes aggregate `name` (lower case); `None` if it is not
/// an aggregate.
pub fn aggregate_class(name: &str) -> Option<AggClass> {
    AGGREGATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, class)| *class)
}

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
    f.over.is_none() && function_name(f).is_some_and(|n| aggregate_class(&n).is_some())
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
    /// The second argument (`string_agg`'s delimiter).
    pub extra: Option<Expr>,
    /// `ORDER BY` inside the call: key, descending, NULLs first.
    pub order_by: Vec<(Expr, bool, bool)>,
}

fn raw_agg(f: &Function) -> SqlResult<RawAgg> {
    let name = function_name(f).unwrap_or_default();
    if aggregate_class(&name) == Some(AggClass::Unsupported) {
        return Err(SqlError::unsupported(format!(
            "the aggregate function {name}"
        )));
    }
    let mut filter = f.filter.as_deref().cloned();
    let mut extra = None;
    let mut order_by = Vec::new();
    let (distinct, arg) = match &f.args {
        FunctionArguments::None => (false, None),
        FunctionArguments::List(list) => {
            for clause in &list.clauses {
                match clause {
                    FunctionArgumentClause::OrderBy(keys) => {
                        for k in keys {
                            let desc =
                                matches!(k.options.sort, Some(sqlparser::ast::OrderBySort::Desc));
                            let nulls_first = k.options.nulls_first.unwrap_or(desc);
                            order_by.push((k.expr.clone(), desc, nulls_first));
                        }
                    }
                    FunctionArgumentClause::Where(w) => filter = Some(w.clone()),
                    other => return Err(SqlError::unsupported(format!("{other} in an aggregate"))),
                }
            }
            let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
            match list.args.as_slice() {
                [] => (distinct, None),
                [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] => (distinct, None),
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => (distinct, Some(e.clone())),
                [
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)),
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(d)),
                ] if name == "string_agg" => {
                    extra = Some(d.clone());
                    (distinct, Some(e.clone()))
                }
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
    if distinct
        && order_by
            .iter()
            .any(|(k, _, _)| Some(k) != arg.as_ref() && Some(k) != extra.as_ref())
    {
        return Err(SqlError::new(
            SqlState::InvalidColumnReference,
            "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list",
        ));
    }
    Ok(RawAgg {
        name,
        distinct,
        arg,
        filter,
        extra,
        order_by,
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
                        if raw
                            .arg
                            .as_ref()
                            .is_some_and(crate::sql::project_set::calls_srf)
                        {
                            self.err = Some(SqlError::new(
                                SqlState::FeatureNotSupported,
                                "aggregate function calls cannot contain set-returning function calls",
                            ).with_hint("You might be able to move the set-returning function into a LATERAL FROM item."));
                            return ControlFlow::Break(());
                        }
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
            // The group key written the same way, else the only group key
            // of that column name (`b.x` must not become group `a.x`).
            let exact = self.groups.iter().position(|(_, ge)| *ge == *e);
            let hit = exact.or_else(|| {
                let name = col_name.as_ref()?;
                let mut same = self
                    .groups
                    .iter()
                    .enumerate()
                    .filter(|(_, (n, _))| n.as_ref() == Some(name));
                let (i, _) = same.next()?;
                same.next().is_none().then_some(i)
            });
            if let Some(i) = hit {
                *e = Expr::Identifier(Ident::with_quote('"', format!("__grp{i}")));
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
    if aggregate_class(&raw.name) == Some(AggClass::Collecting) {
        return Err(SqlError::unsupported(format!("{}() on bitmaps", raw.name)));
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
