//! Compiling a `WHERE` clause on an audience table into a bitmap [`Pred`].
//!
//! Each comparison must put a column on one side and a constant expression
//! (literals, parameters, `now()`, `CURRENT_DATE`, `± INTERVAL` …) on the
//! other; the constant is evaluated once and converted into the column's
//! stored domain, so the comparison runs on bitmaps. `LIKE` on a categorical
//! column scans its value dictionary and becomes a union of value bitmaps.
//! Anything else is rejected with 0A000 naming the construct — never answered
//! wrongly.

use super::error::{SqlError, SqlResult, SqlState};
use super::scalar::{CoercionKind, can_coerce};
use super::types::{DataType, Datum};
use crate::exec::filter::Pred;
use crate::index::bsi::CompareOp;
use crate::index::{ColumnType, KeyType, TagKind};
use crate::storage::{ColumnSchema, TableSnapshot};
use sqlparser::ast::{BinaryOperator, Expr, InTarget, Query, UnaryOperator};
use std::cmp::Ordering;
use std::sync::Arc;

const DAY_MICROS: i64 = 86_400_000_000;

/// What the compiler needs from the planner.
pub trait PredContext {
    /// The table being filtered.
    fn table(&self) -> &TableSnapshot;
    /// Whether `qualifier` names the table (its name or alias).
    fn qualifies(&self, qualifier: &str) -> bool;
    /// Evaluates an expression without column references.
    fn eval_const(&self, e: &Expr) -> SqlResult<(Datum, DataType)>;
    /// Evaluates a constant compared with a column of type `hint`: untyped
    /// parameters (`age > $1`) take the column's type, as in PostgreSQL.
    fn eval_const_for(&self, e: &Expr, hint: DataType) -> SqlResult<(Datum, DataType)>;
    /// The rows of this table selected by `key IN (subquery)`.
    fn key_subquery(&self, q: &Query) -> SqlResult<Pred>;
    /// Runs an uncorrelated one-column subquery once (for `col IN (SELECT …)`
    /// on a non-key column): its column type and values, NULLs included.
    fn subquery_values(&self, _q: &Query) -> SqlResult<(DataType, Vec<Datum>)> {
        Err(SqlError::unsupported(
            "IN (subquery) on a column other than the key",
        ))
    }
    /// The session's time zone offset, for date/timestamptz comparisons.
    fn timezone_offset_secs(&self) -> i32;
    /// Whether `qualifier.name` is a column of an enclosing query (a
    /// correlated reference: a constant for this query).
    fn is_outer_column(&self, _qualifier: Option<&str>, _name: &str) -> bool {
        false
    }
}

/// A column reference resolved against the table.
#[derive(Clone, Debug)]
pub enum ColRef {
    /// The key column.
    Key,
    /// A tag column.
    Tag(ColumnSchema),
}

/// Folds an identifier as PostgreSQL does: unquoted names are lower-cased.
pub fn fold_ident(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// Resolves `e` as a column of the context's table, if it is a column reference.
pub fn column_ref(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Option<ColRef>> {
    let (qualifier, name) = match e {
        Expr::Identifier(id) => (None, fold_ident(id)),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            (Some(fold_ident(&parts[0])), fold_ident(&parts[1]))
        }
        Expr::Nested(inner) => return column_ref(ctx, inner),
        _ => return Ok(None),
    };
    if let Some(q) = &qualifier
        && !ctx.qualifies(q)
    {
        if ctx.is_outer_column(Some(q), &name) {
            return Ok(None);
        }
        return Err(SqlError::new(
            SqlState::UndefinedTable,
            format!("missing FROM-clause entry for table \"{q}\""),
        ));
    }
    let schema = ctx.table().schema();
    if name == schema.key_name {
        return Ok(Some(ColRef::Key));
    }
    match schema.column(&name) {
        Some(c) if !crate::catalog::is_hidden(&c.name) => Ok(Some(ColRef::Tag(c.clone()))),
        _ if ctx.is_outer_column(qualifier.as_deref(), &name) => Ok(None),
        _ => Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!("column \"{name}\" does not exist"),
        )),
    }
}

/// Whether `e` mentions no column of the table (so it can be evaluated
/// once): references to enclosing queries and whole subqueries are
/// constants here (a subquery that references this table's columns is
/// rejected when it is bound).
fn is_constant(ctx: &dyn PredContext, e: &Expr) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    struct FindColumn<'a> {
        ctx: &'a dyn PredContext,
        /// Subquery levels entered (their names are their own).
        depth: usize,
    }
    impl Visitor for FindColumn<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) if self.depth == 0 => {
                    match column_ref(self.ctx, e) {
                        Ok(None) => ControlFlow::Continue(()),
                        _ => ControlFlow::Break(()),
                    }
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    e.visit(&mut FindColumn { ctx, depth: 0 }).is_continue()
}

fn unsupported(e: &Expr) -> SqlError {
    SqlError::unsupported(format!("the predicate \"{e}\" on an audience table")).with_hint(
        "audience filters compare a column with a constant; combine them with AND, OR and NOT",
    )
}

/// Compiles a WHERE expression.
pub fn compile(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Pred> {
    match e {
        Expr::Nested(inner) => compile(ctx, inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => Ok(Pred::And(vec![compile(ctx, left)?, compile(ctx, right)?])),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => Ok(Pred::Or(vec![compile(ctx, left)?, compile(ctx, right)?])),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => Ok(Pred::Not(Box::new(compile(ctx, expr)?))),
        Expr::IsTrue(inner) => Ok(Pred::IsTrue(Box::new(compile(ctx, inner)?))),
        Expr::IsFalse(inner) => Ok(Pred::IsFalse(Box::new(compile(ctx, inner)?))),
        Expr::IsNotTrue(inner) => Ok(Pred::Not(Box::new(Pred::IsTrue(Box::new(compile(
            ctx, inner,
        )?))))),
        Expr::IsNotFalse(inner) => Ok(Pred::Not(Box::new(Pred::IsFalse(Box::new(compile(
            ctx, inner,
        )?))))),
        Expr::IsUnknown(inner) => {
            let p = compile(ctx, inner)?;
            Ok(Pred::And(vec![
                Pred::Not(Box::new(Pred::IsTrue(Box::new(p.clone())))),
                Pred::Not(Box::new(Pred::IsFalse(Box::new(p)))),
            ]))
        }
        Expr::IsNotUnknown(inner) => {
            let p = compile(ctx, inner)?;
            Ok(Pred::Or(vec![
                Pred::IsTrue(Box::new(p.clone())),
                Pred::IsFalse(Box::new(p)),
            ]))
        }
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            let p = match column_ref(ctx, inner)? {
                Some(ColRef::Key) => Pred::Const(Some(false)),
                Some(ColRef::Tag(c)) => Pred::IsNull { col: c.id },
                None if is_constant(ctx, inner) => {
                    Pred::Const(Some(ctx.eval_const(inner)?.0.is_null()))
                }
                None => {
                    let p = compile(ctx, inner)?;
                    Pred::And(vec![
                        Pred::Not(Box::new(Pred::IsTrue(Box::new(p.clone())))),
                        Pred::Not(Box::new(Pred::IsFalse(Box::new(p)))),
                    ])
                }
            };
            Ok(if matches!(e, Expr::IsNotNull(_)) {
                Pred::Not(Box::new(p))
            } else {
                p
            })
        }
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) if !is_constant(ctx, e) => {
            match column_ref(ctx, e)? {
                Some(ColRef::Tag(c)) if c.ty == ColumnType::Boolean => Ok(Pred::Flag {
                    col: c.id,
                    value: true,
                }),
                Some(ColRef::Tag(c)) => Err(SqlError::mismatch(format!(
                    "argument of WHERE must be type boolean, not type {}",
                    DataType::of_column(c.ty).name()
                ))),
                _ => Err(SqlError::mismatch("argument of WHERE must be type boolean")),
            }
        }
        Expr::BinaryOp { left, op, right } => compile_binary(ctx, e, left, op, right),
        Expr::In {
            target: InTarget::Subquery(_),
            ..
        } if is_constant(ctx, e) => const_pred(ctx, e),
        Expr::In {
            expr,
            target,
            negated,
            ..
        } => {
            let p = compile_in(ctx, e, expr, target)?;
            Ok(if *negated { Pred::Not(Box::new(p)) } else { p })
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let p = Pred::And(vec![
                compare(ctx, e, expr, &CompareOp::Ge, low)?,
                compare(ctx, e, expr, &CompareOp::Le, high)?,
            ]);
            Ok(if *negated { Pred::Not(Box::new(p)) } else { p })
        }
        Expr::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char,
        }
        | Expr::ILike {
            negated,
            any: false,
            expr,
            pattern,
            escape_char,
        } => {
            let fold_case = matches!(e, Expr::ILike { .. });
            let p = like(ctx, e, expr, pattern, escape_char.as_deref(), fold_case)?;
            Ok(if *negated { Pred::Not(Box::new(p)) } else { p })
        }
        Expr::AnyOp {
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } if matches!(right.as_ref(), Expr::Subquery(_)) && is_constant(ctx, e) => {
            const_pred(ctx, e)
        }
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } if matches!(right.as_ref(), Expr::Subquery(_)) => {
            let Expr::Subquery(q) = right.as_ref() else {
                return Err(unsupported(e));
            };
            compile_in(ctx, e, left, &InTarget::Subquery(q.clone()))
        }
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } => {
            // 'x' = ANY(tags)
            match column_ref(ctx, right)? {
                Some(ColRef::Tag(c)) if c.ty == ColumnType::TextArray && is_constant(ctx, left) => {
                    let (d, _) = ctx.eval_const(left)?;
                    Ok(match d {
                        Datum::Null => Pred::Const(None),
                        other => Pred::AnyValue {
                            col: c.id,
                            values: vec![text_of(other)?],
                        },
                    })
                }
                _ => Err(unsupported(e)),
            }
        }
        _ if is_constant(ctx, e) => const_pred(ctx, e),
        _ => Err(unsupported(e)),
    }
}

/// A condition without columns of the table, evaluated once.
fn const_pred(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Pred> {
    match ctx.eval_const(e)? {
        (Datum::Bool(b), _) => Ok(Pred::Const(Some(b))),
        (Datum::Null, _) => Ok(Pred::Const(None)),
        (_, ty) => Err(SqlError::mismatch(format!(
            "argument of WHERE must be type boolean, not type {}",
            ty.name()
        ))),
    }
}

fn text_of(d: Datum) -> SqlResult<Arc<str>> {
    match d {
        Datum::Text(s) => Ok(Arc::from(s.as_str())),
        other => Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!("operator does not exist: text = {other:?}"),
        )),
    }
}

fn array_items(d: Datum) -> SqlResult<Vec<Arc<str>>> {
    match d {
        Datum::TextArray(items) => Ok(items
            .into_iter()
            .flatten()
            .map(|s| Arc::from(s.as_str()))
            .collect()),
        Datum::Text(s) => {
            // An untyped '{a,b}' literal.
            let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
            Ok(inner
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| Arc::from(x.trim_matches('"')))
                .collect())
        }
        _ => Err(SqlError::mismatch("expected a text[] array")),
    }
}

fn compile_binary(
    ctx: &dyn PredContext,
    e: &Expr,
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
) -> SqlResult<Pred> {
    let cmp = match op {
        BinaryOperator::Eq => Some(CompareOp::Eq),
        BinaryOperator::NotEq => Some(CompareOp::Ne),
        BinaryOperator::Lt => Some(CompareOp::Lt),
        BinaryOperator::LtEq => Some(CompareOp::Le),
        BinaryOperator::Gt => Some(CompareOp::Gt),
        BinaryOperator::GtEq => Some(CompareOp::Ge),
        _ => None,
    };
    if let Some(op) = cmp {
        return compare(ctx, e, left, &op, right);
    }
    match op {
        BinaryOperator::AtArrow | BinaryOperator::PGOverlap => {
            let Some(ColRef::Tag(c)) = column_ref(ctx, left)? else {
                return Err(unsupported(e));
            };
            if c.ty != ColumnType::TextArray || !is_constant(ctx, right) {
                return Err(unsupported(e));
            }
            let (d, _) = ctx.eval_const(right)?;
            if d.is_null() {
                return Ok(Pred::Const(None));
            }
            let values = array_items(d)?;
            Ok(if matches!(op, BinaryOperator::AtArrow) {
                Pred::AllValues { col: c.id, values }
            } else {
                Pred::AnyValue { col: c.id, values }
            })
        }
        _ if is_constant(ctx, e) => const_pred(ctx, e),
        _ => Err(unsupported(e)),
    }
}

fn compile_in(ctx: &dyn PredContext, e: &Expr, expr: &Expr, target: &InTarget) -> SqlResult<Pred> {
    match target {
        InTarget::List(list) => {
            let mut items = Vec::with_capacity(list.len());
            for item in list {
                items.push(compare(ctx, e, expr, &CompareOp::Eq, item)?);
            }
            Ok(Pred::Or(items))
        }
        InTarget::Subquery(q) => match column_ref(ctx, expr)? {
            Some(ColRef::Key) => ctx.key_subquery(q),
            Some(ColRef::Tag(c)) if c.ty.kind() != TagKind::MultiValued => {
                in_subquery_values(ctx, e, c, q)
            }
            _ => Err(SqlError::unsupported(
                "IN (subquery) on this column or expression",
            )),
        },
        _ => Err(unsupported(e)),
    }
}

/// `col IN (SELECT …)` on a tag column: the uncorrelated subquery runs once
/// and its values become a constant list — a union of value bitmaps for a
/// categorical column, equality tests otherwise. As in PostgreSQL, an empty
/// list is FALSE for every row (NULLs included), and a NULL in the list
/// makes every non-member UNKNOWN (so `NOT IN` selects nothing).
fn in_subquery_values(
    ctx: &dyn PredContext,
    e: &Expr,
    c: ColumnSchema,
    q: &Query,
) -> SqlResult<Pred> {
    let (ty, values) = ctx.subquery_values(q)?;
    let col_ty = DataType::of_column(c.ty);
    let implicit = |a, b| can_coerce(a, b, CoercionKind::Implicit);
    if ty != DataType::Unknown && !implicit(ty, col_ty) && !implicit(col_ty, ty) {
        return Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!(
                "operator does not exist: {} = {}",
                col_ty.name(),
                ty.name()
            ),
        )
        .with_hint(
            "No operator matches the given name and argument types. You might need to add explicit type casts.",
        ));
    }
    let saw_null = values.iter().any(Datum::is_null);
    let mut texts: Vec<Arc<str>> = Vec::new();
    let mut items: Vec<Pred> = Vec::new();
    for d in values.into_iter().filter(|d| !d.is_null()) {
        match (c.ty.kind(), d) {
            (TagKind::Categorical, Datum::Text(s)) => texts.push(Arc::from(s.as_str())),
            (_, d) => items.push(compare_value(
                ctx,
                e,
                ColRef::Tag(c.clone()),
                CompareOp::Eq,
                d,
                ty,
            )?),
        }
    }
    texts.sort_unstable();
    texts.dedup();
    items.dedup();
    if !texts.is_empty() {
        items.push(Pred::AnyValue {
            col: c.id,
            values: texts,
        });
    }
    Ok(match (items.is_empty(), saw_null) {
        (true, false) => Pred::Const(Some(false)),
        (true, true) => Pred::Const(None),
        (false, false) => Pred::Or(items),
        (false, true) => {
            items.push(Pred::Const(None));
            Pred::Or(items)
        }
    })
}

/// Where a constant falls in a column's stored integer domain.
enum Bound {
    /// Exactly this stored value.
    Exact(i64),
    /// Strictly between `floor` and `floor + 1`.
    Between(i64),
    /// Below every storable value.
    Below,
    /// Above every storable value.
    Above,
}

fn numeric_pred(col: u32, op: CompareOp, bound: Bound) -> Pred {
    let none = Pred::Between { col, lo: 1, hi: 0 };
    let all = Pred::Between {
        col,
        lo: i64::MIN,
        hi: i64::MAX,
    };
    match (bound, op) {
        (Bound::Exact(v), op) => Pred::Compare { col, op, value: v },
        (Bound::Between(_), CompareOp::Eq) => none,
        (Bound::Between(_), CompareOp::Ne) => all,
        (Bound::Between(f), CompareOp::Lt | CompareOp::Le) => Pred::Compare {
            col,
            op: CompareOp::Le,
            value: f,
        },
        (Bound::Between(f), CompareOp::Gt | CompareOp::Ge) => Pred::Compare {
            col,
            op: CompareOp::Gt,
            value: f,
        },
        (Bound::Below, CompareOp::Gt | CompareOp::Ge | CompareOp::Ne) => all,
        (Bound::Below, _) => none,
        (Bound::Above, CompareOp::Lt | CompareOp::Le | CompareOp::Ne) => all,
        (Bound::Above, _) => none,
    }
}

/// `value / divisor` as a bound (floor division).
fn ratio(value: i128, divisor: i128) -> Bound {
    let q = value.div_euclid(divisor);
    let exact = value.rem_euclid(divisor) == 0;
    match i64::try_from(q) {
        Ok(q) if exact => Bound::Exact(q),
        Ok(q) => Bound::Between(q),
        Err(_) if q < 0 => Bound::Below,
        Err(_) => Bound::Above,
    }
}

/// `mantissa × 10^-scale × 10^target_scale` as a bound.
fn scaled(mantissa: i128, scale: u32, target_scale: u32) -> Bound {
    if target_scale >= scale {
        let Some(m) = 10i128
            .checked_pow(target_scale - scale)
            .and_then(|p| mantissa.checked_mul(p))
        else {
            return if mantissa < 0 {
                Bound::Below
            } else {
                Bound::Above
            };
        };
        ratio(m, 1)
    } else {
        match 10i128.checked_pow(scale - target_scale) {
            Some(p) => ratio(mantissa, p),
            None => ratio(0, 1),
        }
    }
}

fn bound_for(ctx: &dyn PredContext, d: &Datum, dt: DataType, ty: ColumnType) -> SqlResult<Bound> {
    use crate::index::encode;
    let off = i64::from(ctx.timezone_offset_secs()) * 1_000_000;
    let int_target = match ty {
        ColumnType::Numeric { scale, .. } => Some(u32::from(scale)),
        ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt => Some(0),
        _ => None,
    };
    let mismatch = || {
        SqlError::new(
            SqlState::UndefinedFunction,
            format!(
                "operator does not exist: {} = {}",
                DataType::of_column(ty).name(),
                dt.name()
            ),
        )
    };
    Ok(match (d, ty) {
        (Datum::Int(i), _) if int_target.is_some() => {
            scaled(i128::from(*i), 0, int_target.unwrap_or(0))
        }
        (Datum::Numeric(n), _) if int_target.is_some() => {
            scaled(n.mantissa, n.scale, int_target.unwrap_or(0))
        }
        (Datum::Float(f), _) if int_target.is_some() => {
            if f.is_nan() || *f == f64::INFINITY {
                Bound::Above
            } else if *f == f64::NEG_INFINITY {
                Bound::Below
            } else {
                let s = int_target.unwrap_or(0);
                let v = f * 10f64.powi(s as i32);
                if v >= 9.2e18 {
                    Bound::Above
                } else if v <= -9.2e18 {
                    Bound::Below
                } else if v.fract() == 0.0 {
                    Bound::Exact(v as i64)
                } else {
                    Bound::Between(v.floor() as i64)
                }
            }
        }
        (Datum::Text(s), ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt) => {
            let ty_name = DataType::of_column(ty).name();
            let v: i64 = s.trim().parse().map_err(|_| {
                SqlError::new(
                    SqlState::InvalidTextRepresentation,
                    format!("invalid input syntax for type {ty_name}: \"{s}\""),
                )
            })?;
            Bound::Exact(v)
        }
        (Datum::Text(s), ColumnType::Numeric { scale, .. }) => {
            Bound::Exact(encode::parse_numeric(s, 18, scale)?)
        }
        (Datum::Int(i), ColumnType::Real | ColumnType::Double) => {
            Bound::Exact(encode::f64_to_ordered(*i as f64))
        }
        (Datum::Numeric(n), ColumnType::Real | ColumnType::Double) => {
            let f: f64 = n.to_string().parse().unwrap_or(f64::NAN);
            Bound::Exact(encode::f64_to_ordered(f))
        }
        (Datum::Float(f), ColumnType::Real | ColumnType::Double) => {
            Bound::Exact(encode::f64_to_ordered(*f))
        }
        (Datum::Text(s), ColumnType::Real | ColumnType::Double) => {
            Bound::Exact(encode::f64_to_ordered(encode::parse_f64(s)?))
        }
        (Datum::Date(v), ColumnType::Date) => Bound::Exact(*v),
        (Datum::Timestamp(t), ColumnType::Date) => ratio(i128::from(*t), i128::from(DAY_MICROS)),
        (Datum::TimestampTz(t), ColumnType::Date) => {
            ratio(i128::from(*t) + i128::from(off), i128::from(DAY_MICROS))
        }
        (Datum::Text(s), ColumnType::Date) => Bound::Exact(encode::parse_date(s)?),
        (Datum::Timestamp(t), ColumnType::Timestamp)
        | (Datum::TimestampTz(t), ColumnType::TimestampTz) => Bound::Exact(*t),
        (Datum::Date(d), ColumnType::Timestamp) => Bound::Exact(d.saturating_mul(DAY_MICROS)),
        (Datum::Date(d), ColumnType::TimestampTz) => {
            Bound::Exact(d.saturating_mul(DAY_MICROS).saturating_sub(off))
        }
        (Datum::TimestampTz(t), ColumnType::Timestamp) => Bound::Exact(t.saturating_add(off)),
        (Datum::Timestamp(t), ColumnType::TimestampTz) => Bound::Exact(t.saturating_sub(off)),
        (Datum::Text(s), ColumnType::Timestamp) => Bound::Exact(encode::parse_timestamp(s)?),
        (Datum::Text(s), ColumnType::TimestampTz) => {
            Bound::Exact(encode::parse_timestamptz(s, ctx.timezone_offset_secs())?)
        }
        _ => return Err(mismatch()),
    })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// `left op right` where one side is a column and the other a constant.
fn compare(
    ctx: &dyn PredContext,
    e: &Expr,
    left: &Expr,
    op: &CompareOp,
    right: &Expr,
) -> SqlResult<Pred> {
    let (col, constant, op) = match (column_ref(ctx, left)?, column_ref(ctx, right)?) {
        (Some(c), None) if is_constant(ctx, right) => (c, right, *op),
        (None, Some(c)) if is_constant(ctx, left) => (c, left, op.flip()),
        (None, None) if is_constant(ctx, e) => return const_pred(ctx, e),
        _ => return Err(unsupported(e)),
    };
    let hint = match &col {
        ColRef::Key => match ctx.table().schema().key_type {
            KeyType::BigInt => DataType::Int8,
            KeyType::Text => DataType::Text,
        },
        ColRef::Tag(c) => DataType::of_column(c.ty),
    };
    let (d, dt) = ctx.eval_const_for(constant, hint)?;
    compare_value(ctx, e, col, op, d, dt)
}

/// `col op d` for a constant `d` of type `dt`.
fn compare_value(
    ctx: &dyn PredContext,
    e: &Expr,
    col: ColRef,
    op: CompareOp,
    d: Datum,
    dt: DataType,
) -> SqlResult<Pred> {
    if d.is_null() {
        return Ok(Pred::Const(None));
    }
    match col {
        ColRef::Key => {
            let key = match (d, ctx.table().schema().key_type) {
                (Datum::Int(i), KeyType::BigInt) => crate::index::Key::Int(i),
                (Datum::Text(s), KeyType::BigInt) => {
                    crate::index::Key::Int(s.trim().parse().map_err(|_| {
                        SqlError::new(
                            SqlState::InvalidTextRepresentation,
                            format!("invalid input syntax for type bigint: \"{s}\""),
                        )
                    })?)
                }
                (Datum::Text(s), KeyType::Text) => crate::index::Key::Text(s),
                (other, _) => {
                    return Err(SqlError::new(
                        SqlState::UndefinedFunction,
                        format!("operator does not exist: key = {other:?}"),
                    ));
                }
            };
            let rows = match ctx.table().row_of(&key)? {
                Some(r) => roaring::RoaringBitmap::from_iter([r]),
                None => roaring::RoaringBitmap::new(),
            };
            match op {
                CompareOp::Eq => Ok(Pred::Rows(Arc::new(rows))),
                CompareOp::Ne => Ok(Pred::Not(Box::new(Pred::Rows(Arc::new(rows))))),
                _ => Err(SqlError::unsupported("range comparisons on the key column")),
            }
        }
        ColRef::Tag(c) => match c.ty.kind() {
            TagKind::Flag => {
                let v = match &d {
                    Datum::Bool(b) => *b,
                    Datum::Text(s) => parse_bool(s).ok_or_else(|| {
                        SqlError::new(
                            SqlState::InvalidTextRepresentation,
                            format!("invalid input syntax for type boolean: \"{s}\""),
                        )
                    })?,
                    _ => {
                        return Err(SqlError::new(
                            SqlState::UndefinedFunction,
                            format!("operator does not exist: boolean = {}", dt.name()),
                        ));
                    }
                };
                let matching: Vec<bool> = [false, true]
                    .into_iter()
                    .filter(|x| op.eval(i64::from(*x), i64::from(v)))
                    .collect();
                Ok(match matching.as_slice() {
                    [x] => Pred::Flag {
                        col: c.id,
                        value: *x,
                    },
                    [] => Pred::And(vec![
                        Pred::Flag {
                            col: c.id,
                            value: true,
                        },
                        Pred::Flag {
                            col: c.id,
                            value: false,
                        },
                    ]),
                    _ => Pred::Or(vec![
                        Pred::Flag {
                            col: c.id,
                            value: true,
                        },
                        Pred::Flag {
                            col: c.id,
                            value: false,
                        },
                    ]),
                })
            }
            TagKind::Categorical => {
                let Datum::Text(s) = d else {
                    return Err(SqlError::new(
                        SqlState::UndefinedFunction,
                        format!("operator does not exist: text = {}", dt.name()),
                    ));
                };
                Ok(match op {
                    CompareOp::Eq => Pred::AnyValue {
                        col: c.id,
                        values: vec![Arc::from(s.as_str())],
                    },
                    CompareOp::Ne => Pred::Not(Box::new(Pred::AnyValue {
                        col: c.id,
                        values: vec![Arc::from(s.as_str())],
                    })),
                    _ => {
                        let values = ctx.table().values(c.id)?;
                        let keep = values
                            .iter()
                            .filter(|v| {
                                let ord = v.as_bytes().cmp(s.as_bytes());
                                match op {
                                    CompareOp::Lt => ord == Ordering::Less,
                                    CompareOp::Le => ord != Ordering::Greater,
                                    CompareOp::Gt => ord == Ordering::Greater,
                                    _ => ord != Ordering::Less,
                                }
                            })
                            .cloned()
                            .collect();
                        Pred::AnyValue {
                            col: c.id,
                            values: keep,
                        }
                    }
                })
            }
            TagKind::MultiValued => Err(unsupported(e)),
            TagKind::Numeric => Ok(numeric_pred(c.id, op, bound_for(ctx, &d, dt, c.ty)?)),
        },
    }
}

/// Matches `text` against a SQL LIKE pattern (`%`, `_`, escape character).
pub fn like_match(text: &str, pattern: &str, escape: Option<char>, fold_case: bool) -> bool {
    let t: Vec<char> = if fold_case {
        text.to_lowercase().chars().collect()
    } else {
        text.chars().collect()
    };
    let p: Vec<char> = if fold_case {
        pattern.to_lowercase().chars().collect()
    } else {
        pattern.chars().collect()
    };
    // Iterative matcher with backtracking on the last `%`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            let c = p[pi];
            if Some(c) == escape && pi + 1 < p.len() {
                if p[pi + 1] == t[ti] {
                    ti += 1;
                    pi += 2;
                    continue;
                }
            } else if c == '%' {
                star = Some((pi, ti));
                pi += 1;
                continue;
            } else if c == '_' || c == t[ti] {
                ti += 1;
                pi += 1;
                continue;
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

fn like(
    ctx: &dyn PredContext,
    e: &Expr,
    expr: &Expr,
    pattern: &Expr,
    escape: Option<&Expr>,
    fold_case: bool,
) -> SqlResult<Pred> {
    let Some(ColRef::Tag(c)) = column_ref(ctx, expr)? else {
        return Err(unsupported(e));
    };
    if c.ty != ColumnType::Text || !is_constant(ctx, pattern) {
        return Err(unsupported(e));
    }
    let pattern = match ctx.eval_const(pattern)?.0 {
        Datum::Null => return Ok(Pred::Const(None)),
        Datum::Text(s) => s,
        _ => return Err(SqlError::mismatch("LIKE pattern must be text")),
    };
    let escape = match escape {
        None => Some('\\'),
        Some(x) => match ctx.eval_const(x)?.0 {
            Datum::Text(s) if s.is_empty() => None,
            Datum::Text(s) if s.chars().count() == 1 => s.chars().next(),
            _ => {
                return Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    "invalid escape string",
                ));
            }
        },
    };
    let values = ctx.table().values(c.id)?;
    let keep = values
        .iter()
        .filter(|v| like_match(v, &pattern, escape, fold_case))
        .cloned()
        .collect();
    Ok(Pred::AnyValue {
        col: c.id,
        values: keep,
    })
}

#[cfg(test)]
mod tests {
    use super::like_match;

    #[test]
    fn like_patterns() {
        assert!(like_match("Shanghai", "Shang%", Some('\\'), false));
        assert!(like_match("Shanghai", "%hai", Some('\\'), false));
        assert!(like_match("Shanghai", "S_anghai", Some('\\'), false));
        assert!(!like_match("Shanghai", "shang%", Some('\\'), false));
        assert!(like_match("Shanghai", "shang%", Some('\\'), true));
        assert!(like_match("50%", "50\\%", Some('\\'), false));
        assert!(!like_match("500", "50\\%", Some('\\'), false));
        assert!(like_match("", "%", Some('\\'), false));
        assert!(like_match("abcbd", "%b%d", None, false));
        assert!(!like_match("abc", "", None, false));
    }
}
