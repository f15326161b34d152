//! Binding: sqlparser expressions → typed [`ScalarExpr`]s, as PostgreSQL's
//! parse analysis does it (literal typing, operator resolution, implicit
//! casts, parameter type inference). This module owns the entry points, the
//! [`Binder`] and its dispatch over expression forms; the forms themselves
//! are bound in `bind_literal` (literals, parameters, casts), `bind_ops`
//! (operators, `IN`, `BETWEEN`, `LIKE`, `CASE`), `bind_array` (arrays),
//! `bind_subquery` (subqueries) and `bind_func` (function calls).

use super::bind_func;
use super::coerce::{CoercionKind, coerce_or, resolve_unknown, try_coerce};
pub(crate) use super::sql_type::sql_type;
use super::subquery::{SubqueryHost, SubqueryKind};
use super::{BinaryOp, BoundExpr, Params, ScalarExpr, Scope, UnaryOp};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{self, Expr, Ident, Value};

/// Binds `expr` against `scope`, inferring parameter types into `params`.
/// A top-level untyped literal or parameter resolves to `text`.
pub fn bind(expr: &Expr, scope: &dyn Scope, params: &mut Params) -> SqlResult<BoundExpr> {
    let e = Binder {
        scope,
        params,
        host: None,
    }
    .expr(expr)?;
    Ok(BoundExpr::new(resolve_unknown(e, params)?))
}

/// [`bind`] where subqueries and references to enclosing queries' columns
/// are allowed: `host` runs the subqueries and resolves those references.
pub fn bind_with(
    expr: &Expr,
    scope: &dyn Scope,
    params: &mut Params,
    host: &dyn SubqueryHost,
) -> SqlResult<BoundExpr> {
    let e = Binder {
        scope,
        params,
        host: Some(host),
    }
    .expr(expr)?;
    Ok(BoundExpr::new(resolve_unknown(e, params)?))
}

/// Binds `expr` and coerces it to `target` as an assignment (`INSERT …
/// VALUES`, `UPDATE … SET`): untyped literals parse as `target`, numbers
/// convert with rounding and range checks, anything converts to text; other
/// mismatches are 42804.
pub fn bind_as(
    expr: &Expr,
    scope: &dyn Scope,
    params: &mut Params,
    target: DataType,
) -> SqlResult<BoundExpr> {
    bind_assign(expr, scope, params, target, None)
}

/// [`bind_as`] naming the target column in the 42804 error, as PostgreSQL
/// does (`column "age" is of type integer but expression is of type text`).
pub fn bind_assign(
    expr: &Expr,
    scope: &dyn Scope,
    params: &mut Params,
    target: DataType,
    column: Option<&str>,
) -> SqlResult<BoundExpr> {
    bind_assign_with(expr, scope, params, target, column, None)
}

/// [`bind_assign`] with an optional [`SubqueryHost`] (see [`bind_with`]).
pub fn bind_assign_with(
    expr: &Expr,
    scope: &dyn Scope,
    params: &mut Params,
    target: DataType,
    column: Option<&str>,
    host: Option<&dyn SubqueryHost>,
) -> SqlResult<BoundExpr> {
    let e = Binder {
        scope,
        params: &mut *params,
        host,
    }
    .expr(expr)?;
    match try_coerce(e, target, CoercionKind::Assignment, params)? {
        Ok(e) => Ok(BoundExpr::new(e)),
        Err(e) => {
            let what = match column {
                Some(c) => format!("column \"{c}\""),
                None => "target".to_owned(),
            };
            Err(SqlError::mismatch(format!(
                "{what} is of type {} but expression is of type {}",
                target.name(),
                e.ty().name()
            ))
            .with_hint("You will need to rewrite or cast the expression."))
        }
    }
}

/// The identifier as PostgreSQL sees it: unquoted names fold to lower case.
pub(crate) fn fold_ident(id: &Ident) -> String {
    match id.quote_style {
        Some(_) => id.value.clone(),
        None => id.value.to_lowercase(),
    }
}

pub(crate) fn lit(value: Datum, ty: DataType) -> ScalarExpr {
    ScalarExpr::Literal { value, ty }
}

pub(crate) fn unknown(s: String) -> ScalarExpr {
    lit(Datum::Text(s), DataType::Unknown)
}

/// The bitwise operator `op` is, if it is one (`^` is `pow` in
/// PostgreSQL, `#` its XOR).
fn bitwise_op(op: &ast::BinaryOperator) -> Option<BinaryOp> {
    use ast::BinaryOperator as B;
    Some(match op {
        B::BitwiseAnd => BinaryOp::BitAnd,
        B::BitwiseOr => BinaryOp::BitOr,
        B::PGBitwiseXor => BinaryOp::BitXor,
        B::PGBitwiseShiftLeft => BinaryOp::ShiftLeft,
        B::PGBitwiseShiftRight => BinaryOp::ShiftRight,
        _ => return None,
    })
}

/// The binder: one per bound expression tree.
pub(crate) struct Binder<'a> {
    pub(crate) scope: &'a dyn Scope,
    pub(crate) params: &'a mut Params,
    /// Runs subqueries and resolves outer references; `None` where the
    /// context allows neither.
    pub(crate) host: Option<&'a dyn SubqueryHost>,
}

impl Binder<'_> {
    /// Coerces to boolean for `context` (`argument of WHERE must be type
    /// boolean, not type integer`).
    pub(crate) fn coerce_bool(&mut self, e: ScalarExpr, context: &str) -> SqlResult<ScalarExpr> {
        coerce_or(e, DataType::Bool, self.params, |t| {
            SqlError::mismatch(format!(
                "argument of {context} must be type boolean, not type {}",
                t.name()
            ))
        })
    }

    /// Binds one expression.
    pub(crate) fn expr(&mut self, e: &Expr) -> SqlResult<ScalarExpr> {
        match e {
            Expr::Identifier(id) => self.column(None, &fold_ident(id)),
            Expr::CompoundIdentifier(ids) => match ids.as_slice() {
                [name] => self.column(None, &fold_ident(name)),
                [.., table, name] if ids.len() <= 3 => {
                    self.column(Some(&fold_ident(table)), &fold_ident(name))
                }
                _ => Err(SqlError::syntax(format!(
                    "improper qualified name (too many dotted names): {e}"
                ))),
            },
            Expr::Value(v) => self.value(&v.value),
            Expr::TypedString(ts) => {
                let text = match &ts.value.value {
                    Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => s.clone(),
                    other => other.to_string(),
                };
                let (ty, length) = sql_type(&ts.data_type)?;
                self.cast(unknown(text), ty, length)
            }
            Expr::Interval(iv) => self.interval(iv),
            Expr::Nested(inner) => self.expr(inner),
            Expr::UnaryOp {
                op: ast::UnaryOperator::BitwiseNot,
                expr,
            } => self.bit_not(expr),
            Expr::UnaryOp { op, expr } => self.unary(op, expr),
            Expr::BinaryOp { left, op, right } => match bitwise_op(op) {
                Some(op) => {
                    let (a, b) = (self.expr(left)?, self.expr(right)?);
                    self.binary(op, a, b)
                }
                None => match super::record::row_comparison_operands(left, op, right) {
                    Some((op, a, b)) => self.row_comparison(op, &a, &b),
                    None => self.binary_ast(left, op, right),
                },
            },
            Expr::IsNull(a) | Expr::IsNotNull(a) => Ok(ScalarExpr::IsNull {
                arg: Box::new(self.expr(a)?),
                negated: matches!(e, Expr::IsNotNull(_)),
            }),
            Expr::IsTrue(a) => self.is_bool(a, Some(true), false),
            Expr::IsNotTrue(a) => self.is_bool(a, Some(true), true),
            Expr::IsFalse(a) => self.is_bool(a, Some(false), false),
            Expr::IsNotFalse(a) => self.is_bool(a, Some(false), true),
            Expr::IsUnknown(a) => self.is_bool(a, None, false),
            Expr::IsNotUnknown(a) => self.is_bool(a, None, true),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (l, r) = self.comparison_operands(BinaryOp::Eq, a, b)?;
                Ok(ScalarExpr::IsDistinctFrom {
                    left: Box::new(l),
                    right: Box::new(r),
                    negated: matches!(e, Expr::IsNotDistinctFrom(..)),
                })
            }
            Expr::In {
                expr,
                target,
                negated,
                ..
            } => match target {
                ast::InTarget::List(list) => self.in_list(expr, list, *negated),
                ast::InTarget::Subquery(q) => {
                    let arg = self.expr(expr)?;
                    self.in_subquery(arg, q, *negated)
                }
                _ => Err(SqlError::unsupported(format!("IN form {target}"))),
            },
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => self.between(expr, low, high, *negated),
            Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | Expr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(SqlError::unsupported("LIKE ANY"));
                }
                let ci = matches!(e, Expr::ILike { .. });
                let escape = match escape_char {
                    Some(x) => Some(self.expr(x)?),
                    None => None,
                };
                let (arg, pat) = (self.expr(expr)?, self.expr(pattern)?);
                self.like(arg, pat, escape, ci, *negated)
            }
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.any_all(left, compare_op, right, false),
            Expr::AllOp {
                left,
                compare_op,
                right,
            } => self.any_all(left, compare_op, right, true),
            Expr::Cast {
                kind,
                expr,
                data_type,
                format,
            } => self.cast_expr(e, kind, expr, data_type, format.as_ref()),
            Expr::Extract { field, expr, .. } => {
                let field = unknown(field.to_string().to_lowercase());
                let arg = self.expr(expr)?;
                bind_func::call(self, "extract", vec![field, arg])
            }
            Expr::Ceil { expr, field } | Expr::Floor { expr, field } => {
                let name = if matches!(e, Expr::Ceil { .. }) {
                    "ceil"
                } else {
                    "floor"
                };
                match field {
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                        let arg = self.expr(expr)?;
                        bind_func::call(self, name, vec![arg])
                    }
                    _ => Err(SqlError::unsupported(format!("{name} with a scale"))),
                }
            }
            Expr::Position { expr, r#in } => {
                let (needle, hay) = (self.expr(expr)?, self.expr(r#in)?);
                bind_func::call(self, "strpos", vec![hay, needle])
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr)?];
                args.push(match substring_from {
                    Some(f) => self.expr(f)?,
                    None => lit(Datum::Int(1), DataType::Int4),
                });
                if let Some(f) = substring_for {
                    args.push(self.expr(f)?);
                }
                bind_func::call(self, "substr", args)
            }
            Expr::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args = vec![self.expr(expr)?];
                if let Some(w) = trim_what {
                    args.push(self.expr(w)?);
                }
                for c in trim_characters.iter().flatten() {
                    args.push(self.expr(c)?);
                }
                bind_func::call(self, name, args)
            }
            e @ (Expr::AtTimeZone { .. } | Expr::Function(_))
                if super::at_time_zone::is_at_time_zone(e) =>
            {
                super::at_time_zone::bind(self, e)
            }
            Expr::Function(f) => match super::record::row_call(f) {
                Some(items) => self.row_constructor(&items),
                None => bind_func::function(self, f),
            },
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref()),
            Expr::Array(arr) => {
                let elems = arr
                    .elem
                    .iter()
                    .map(|x| self.expr(x))
                    .collect::<SqlResult<Vec<_>>>()?;
                self.array_literal(elems)
            }
            Expr::Collate { expr, collation } => {
                let c = collation.to_string().to_lowercase();
                if matches!(
                    c.trim_start_matches("pg_catalog.").trim_matches('"'),
                    "c" | "posix" | "default" | "ucs_basic"
                ) {
                    self.expr(expr)
                } else {
                    Err(SqlError::unsupported(format!("collation {collation}")))
                }
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.access_chain(root, access_chain)
            }
            Expr::Tuple(items) => self.row_constructor(items),
            Expr::Subquery(q) => self.subquery(q, SubqueryKind::Scalar),
            Expr::Exists { subquery, negated } => {
                let e = self.subquery(subquery, SubqueryKind::Exists)?;
                Ok(if *negated {
                    ScalarExpr::Unary {
                        op: UnaryOp::Not,
                        arg: Box::new(e),
                        ty: DataType::Bool,
                    }
                } else {
                    e
                })
            }
            other => Err(SqlError::unsupported(format!("expression {other}"))),
        }
    }

    /// `~x` on `smallint`, `integer` or `bigint`.
    fn bit_not(&mut self, expr: &Expr) -> SqlResult<ScalarExpr> {
        let arg = self.expr(expr)?;
        let ty = super::operators::prefix_integer_operator("~", arg.ty())?;
        Ok(ScalarExpr::Unary {
            op: UnaryOp::BitNot,
            arg: Box::new(arg),
            ty,
        })
    }

    fn column(&mut self, qualifier: Option<&str>, name: &str) -> SqlResult<ScalarExpr> {
        match self.scope.resolve(qualifier, name) {
            Ok((index, ty)) => Ok(ScalarExpr::Column { index, ty }),
            Err(e)
                if matches!(
                    e.state,
                    SqlState::UndefinedColumn | SqlState::UndefinedTable
                ) =>
            {
                match self.host.and_then(|h| h.outer_column(qualifier, name)) {
                    Some(outer) => outer,
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
