//! Row-at-a-time evaluation of bound expressions with SQL's three-valued
//! logic.

use super::cast::{apply_length, cast, parse_text};
use super::format::compare_datums;
use super::text::{like, like_escape};
use super::{BinaryOp, BoundExpr, EvalContext, ScalarExpr, UnaryOp, WindowExpr, func, ops, record};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};
use std::cmp::Ordering;

/// Window results of the current relation: each window call with its
/// value for every row.
pub(crate) type WindowValues<'a> = [(&'a WindowExpr, Vec<Datum>)];

/// What one evaluation sees.
pub(crate) struct Env<'a> {
    pub(crate) row: &'a [Datum],
    pub(crate) ctx: &'a EvalContext,
    pub(crate) windows: &'a WindowValues<'a>,
    pub(crate) row_index: usize,
}

/// Evaluates `e` over `row`. Window function calls are only valid inside
/// `relation::project` (elsewhere they are an error).
pub fn eval(e: &BoundExpr, row: &[Datum], ctx: &EvalContext) -> SqlResult<Datum> {
    let env = Env {
        row,
        ctx,
        windows: &[],
        row_index: 0,
    };
    eval_in(&e.expr, &env)
}

fn truth(d: &Datum) -> Option<bool> {
    match d {
        Datum::Bool(b) => Some(*b),
        _ => None,
    }
}

fn from_truth(t: Option<bool>) -> Datum {
    t.map_or(Datum::Null, Datum::Bool)
}

/// Applies a comparison operator to an ordering.
pub(crate) fn compare_op(op: BinaryOp, o: Ordering) -> bool {
    match op {
        BinaryOp::Eq => o == Ordering::Equal,
        BinaryOp::NotEq => o != Ordering::Equal,
        BinaryOp::Lt => o == Ordering::Less,
        BinaryOp::LtEq => o != Ordering::Greater,
        BinaryOp::Gt => o == Ordering::Greater,
        _ => o != Ordering::Less,
    }
}

/// Three-valued comparison of two values.
fn cmp3(op: BinaryOp, a: &Datum, b: &Datum) -> Option<bool> {
    if a.is_null() || b.is_null() {
        None
    } else {
        Some(compare_op(op, compare_datums(a, b)))
    }
}

/// Evaluates one node.
pub(crate) fn eval_in(e: &ScalarExpr, env: &Env<'_>) -> SqlResult<Datum> {
    match e {
        ScalarExpr::Column { index, .. } => env
            .row
            .get(*index)
            .cloned()
            .ok_or_else(|| SqlError::internal(format!("column {index} is outside the row"))),
        ScalarExpr::Literal { value, .. } => Ok(value.clone()),
        ScalarExpr::Param { index, ty } => {
            let v = env.ctx.params.get(*index).ok_or_else(|| {
                SqlError::new(
                    SqlState::UndefinedParameter,
                    format!("there is no parameter ${}", index + 1),
                )
            })?;
            match v {
                Datum::Text(s) if !matches!(ty, DataType::Text | DataType::Unknown) => {
                    parse_text(s, *ty, env.ctx)
                }
                v => Ok(v.clone()),
            }
        }
        ScalarExpr::Unary { op, arg, ty } => {
            let v = eval_in(arg, env)?;
            match op {
                UnaryOp::Not => Ok(from_truth(truth(&v).map(|b| !b))),
                UnaryOp::Neg if v.is_null() => Ok(Datum::Null),
                UnaryOp::Neg => ops::negate(&v, *ty),
                UnaryOp::BitNot => Ok(ops::bit_not(&v, *ty)),
            }
        }
        ScalarExpr::Binary {
            op,
            left,
            right,
            ty,
        } => binary(*op, left, right, *ty, env),
        ScalarExpr::IsNull { arg, negated } => {
            Ok(Datum::Bool(record::is_null(&eval_in(arg, env)?, *negated)))
        }
        ScalarExpr::Row { fields, .. } => Ok(Datum::Record(
            fields
                .iter()
                .map(|f| eval_in(f, env))
                .collect::<SqlResult<Vec<_>>>()?,
        )),
        ScalarExpr::FieldSelect { arg, index, .. } => Ok(record::field(eval_in(arg, env)?, *index)),
        ScalarExpr::IsBool {
            arg,
            value,
            negated,
        } => {
            let t = truth(&eval_in(arg, env)?);
            Ok(Datum::Bool((t == *value) != *negated))
        }
        ScalarExpr::IsDistinctFrom {
            left,
            right,
            negated,
        } => {
            let (a, b) = (eval_in(left, env)?, eval_in(right, env)?);
            let distinct = match (a.is_null(), b.is_null()) {
                (true, true) => false,
                (true, false) | (false, true) => true,
                _ => compare_datums(&a, &b) != Ordering::Equal,
            };
            Ok(Datum::Bool(distinct != *negated))
        }
        ScalarExpr::InList { arg, list, negated } => {
            let v = eval_in(arg, env)?;
            if v.is_null() {
                return Ok(Datum::Null);
            }
            let mut saw_null = false;
            for item in list {
                match cmp3(BinaryOp::Eq, &v, &eval_in(item, env)?) {
                    Some(true) => return Ok(Datum::Bool(!negated)),
                    None => saw_null = true,
                    Some(false) => {}
                }
            }
            Ok(if saw_null {
                Datum::Null
            } else {
                Datum::Bool(*negated)
            })
        }
        ScalarExpr::Between {
            arg,
            low,
            high,
            negated,
            symmetric,
        } => {
            let (v, lo, hi) = (eval_in(arg, env)?, eval_in(low, env)?, eval_in(high, env)?);
            let within = |lo: &Datum, hi: &Datum| {
                and3(cmp3(BinaryOp::GtEq, &v, lo), cmp3(BinaryOp::LtEq, &v, hi))
            };
            let mut r = within(&lo, &hi);
            if *symmetric {
                r = or3(r, within(&hi, &lo));
            }
            Ok(from_truth(r.map(|b| b != *negated)))
        }
        ScalarExpr::Like {
            arg,
            pattern,
            escape,
            case_insensitive,
            negated,
        } => {
            let (s, p) = (eval_in(arg, env)?, eval_in(pattern, env)?);
            let esc = match escape {
                Some(e) => match eval_in(e, env)? {
                    Datum::Text(t) => like_escape(Some(&t))?,
                    _ => return Ok(Datum::Null),
                },
                None => like_escape(None)?,
            };
            match (s, p) {
                (Datum::Text(s), Datum::Text(p)) => Ok(Datum::Bool(
                    like(&s, &p, esc, *case_insensitive)? != *negated,
                )),
                _ => Ok(Datum::Null),
            }
        }
        ScalarExpr::Case {
            whens, else_result, ..
        } => {
            for (c, r) in whens {
                if truth(&eval_in(c, env)?) == Some(true) {
                    return eval_in(r, env);
                }
            }
            match else_result {
                Some(e) => eval_in(e, env),
                None => Ok(Datum::Null),
            }
        }
        ScalarExpr::Cast { arg, ty, length } => {
            let v = eval_in(arg, env)?;
            Ok(apply_length(cast(v, arg.ty(), *ty, env.ctx)?, *length))
        }
        ScalarExpr::Function { func, args, ty } => {
            let vals = args
                .iter()
                .map(|a| eval_in(a, env))
                .collect::<SqlResult<Vec<_>>>()?;
            let types: Vec<DataType> = args.iter().map(ScalarExpr::ty).collect();
            func::call(*func, &vals, &types, *ty, env.ctx)
        }
        ScalarExpr::Window(w) => env
            .windows
            .iter()
            .find(|(x, _)| std::ptr::eq(*x, &**w))
            .and_then(|(_, vals)| vals.get(env.row_index).cloned())
            .ok_or_else(|| {
                SqlError::new(
                    SqlState::GroupingError,
                    "window functions are not allowed in this context",
                )
            }),
        ScalarExpr::Coalesce { args, .. } => {
            for a in args {
                let v = eval_in(a, env)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Datum::Null)
        }
        ScalarExpr::AnyArray {
            arg,
            op,
            array,
            all,
        } => {
            let (v, arr) = (eval_in(arg, env)?, eval_in(array, env)?);
            let Some(items) = arr.array_items() else {
                return Ok(Datum::Null);
            };
            if items.is_empty() {
                return Ok(Datum::Bool(*all));
            }
            if v.is_null() {
                return Ok(Datum::Null);
            }
            let mut acc = Some(*all);
            for item in &items {
                let r = cmp3(*op, &v, item);
                acc = if *all { and3(acc, r) } else { or3(acc, r) };
            }
            Ok(from_truth(acc))
        }
        ScalarExpr::ArrayContains { left, right } => {
            match (
                eval_in(left, env)?.array_items(),
                eval_in(right, env)?.array_items(),
            ) {
                (Some(a), Some(b)) => {
                    Ok(Datum::Bool(b.iter().all(|x| {
                        a.iter().any(|y| cmp3(BinaryOp::Eq, x, y) == Some(true))
                    })))
                }
                _ => Ok(Datum::Null),
            }
        }
        ScalarExpr::ArrayOverlap { left, right } => {
            match (
                eval_in(left, env)?.array_items(),
                eval_in(right, env)?.array_items(),
            ) {
                (Some(a), Some(b)) => {
                    Ok(Datum::Bool(a.iter().any(|x| {
                        b.iter().any(|y| cmp3(BinaryOp::Eq, x, y) == Some(true))
                    })))
                }
                _ => Ok(Datum::Null),
            }
        }
        ScalarExpr::Subquery(s) => {
            let arg = match &s.kind {
                super::SubqueryKind::In { arg, .. } => eval_in(arg, env)?,
                _ => Datum::Null,
            };
            s.eval(env.row, arg, env.ctx)
        }
        ScalarExpr::ArrayLiteral { elems } => {
            let mut out = Vec::with_capacity(elems.len());
            for e in elems {
                out.push(eval_in(e, env)?);
            }
            Ok(Datum::from_items(e.ty(), out))
        }
    }
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn binary(
    op: BinaryOp,
    left: &ScalarExpr,
    right: &ScalarExpr,
    ty: DataType,
    env: &Env<'_>,
) -> SqlResult<Datum> {
    match op {
        BinaryOp::And => {
            let a = truth(&eval_in(left, env)?);
            if a == Some(false) {
                return Ok(Datum::Bool(false));
            }
            Ok(from_truth(and3(a, truth(&eval_in(right, env)?))))
        }
        BinaryOp::Or => {
            let a = truth(&eval_in(left, env)?);
            if a == Some(true) {
                return Ok(Datum::Bool(true));
            }
            Ok(from_truth(or3(a, truth(&eval_in(right, env)?))))
        }
        op if op.is_comparison() => {
            let (a, b) = (eval_in(left, env)?, eval_in(right, env)?);
            Ok(from_truth(cmp3(op, &a, &b)))
        }
        op => {
            let (a, b) = (eval_in(left, env)?, eval_in(right, env)?);
            if a.is_null() || b.is_null() {
                return Ok(Datum::Null);
            }
            ops::binary(op, &a, left.ty(), &b, right.ty(), ty, env.ctx)
        }
    }
}
