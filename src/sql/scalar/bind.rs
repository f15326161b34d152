//! Binding: sqlparser expressions → typed [`ScalarExpr`]s, as PostgreSQL's
//! parse analysis does it (literal typing, operator resolution, implicit
//! casts, parameter type inference).

use super::bind_func;
use super::cast::is_time_relative;
use super::coerce::{CoercionKind, cast_node, coerce_all, coerce_or, resolve_unknown, try_coerce};
use super::operators::{comparison_type, no_operator, resolve_arith};
pub(crate) use super::sql_type::sql_type;
use super::subquery::{SubqueryExpr, SubqueryHost, SubqueryKind};
use super::{BinaryOp, BoundExpr, CharLength, PARAMS_MAX, Params, ScalarExpr, Scope, UnaryOp};
use crate::sql::decimal::Decimal;
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

/// A numeric literal: int4 if it fits, else int8, else numeric.
pub(crate) fn number_literal(text: &str) -> SqlResult<ScalarExpr> {
    let is_int = text.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if is_int {
        if let Ok(v) = text.parse::<i32>() {
            return Ok(lit(Datum::Int(i64::from(v)), DataType::Int4));
        }
        if let Ok(v) = text.parse::<i64>() {
            return Ok(lit(Datum::Int(v), DataType::Int8));
        }
    }
    Ok(lit(
        Datum::Numeric(Decimal::parse(text)?),
        DataType::Numeric(None),
    ))
}

fn lit(value: Datum, ty: DataType) -> ScalarExpr {
    ScalarExpr::Literal { value, ty }
}

fn unknown(s: String) -> ScalarExpr {
    lit(Datum::Text(s), DataType::Unknown)
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
            Expr::UnaryOp { op, expr } => self.unary(op, expr),
            Expr::BinaryOp { left, op, right } => self.binary_ast(left, op, right),
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
            } => {
                if format.is_some()
                    || !matches!(kind, ast::CastKind::Cast | ast::CastKind::DoubleColon)
                {
                    return Err(SqlError::unsupported(format!("cast form {e}")));
                }
                if let Some(kind) = super::catalog_func::reg_kind(data_type) {
                    let inner = self.expr(expr)?;
                    let to = if inner.ty().is_integer() {
                        DataType::Int8
                    } else {
                        DataType::Text
                    };
                    let inner = self.cast(inner, to, None)?;
                    return Ok(super::catalog_func::reg_cast(inner, kind));
                }
                let (ty, length) = sql_type(data_type)?;
                // `ARRAY[]::text[]`: the cast gives the empty array its type.
                if let Expr::Array(a) = expr.as_ref()
                    && a.elem.is_empty()
                    && ty == DataType::TextArray
                {
                    return Ok(ScalarExpr::Literal {
                        value: Datum::TextArray(Vec::new()),
                        ty: DataType::TextArray,
                    });
                }
                let inner = self.expr(expr)?;
                let inner = if ty == DataType::Text && length.is_none() {
                    match super::catalog_func::reg_to_text(inner) {
                        Ok(name) => return Ok(name),
                        Err(inner) => inner,
                    }
                } else {
                    inner
                };
                self.cast(inner, ty, length)
            }
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
            Expr::Function(f) => bind_func::function(self, f),
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

    /// Runs `q` through the host as a subquery expression of `kind`.
    pub(crate) fn subquery(&mut self, q: &ast::Query, kind: SubqueryKind) -> SqlResult<ScalarExpr> {
        let Some(host) = self.host else {
            return Err(SqlError::unsupported("a subquery in this context"));
        };
        let (columns, rows) = host.subquery(q, self.scope, self.params)?;
        if kind != SubqueryKind::Exists && columns.len() != 1 {
            return Err(SqlError::syntax(if columns.len() > 1 {
                "subquery must return only one column"
            } else {
                "subquery must return a column"
            }));
        }
        if kind == SubqueryKind::Array && columns[0] != DataType::Text {
            return Err(SqlError::unsupported(format!(
                "arrays of type {}",
                columns[0].name()
            )));
        }
        Ok(ScalarExpr::Subquery(Box::new(SubqueryExpr::new(
            kind,
            &columns,
            rows,
            host.eval_context(),
        ))))
    }

    /// `arg [NOT] IN (SELECT …)`.
    fn in_subquery(
        &mut self,
        arg: ScalarExpr,
        q: &ast::Query,
        negated: bool,
    ) -> SqlResult<ScalarExpr> {
        let Some(host) = self.host else {
            return Err(SqlError::unsupported("a subquery in this context"));
        };
        let (columns, rows) = host.subquery(q, self.scope, self.params)?;
        let col = match columns.as_slice() {
            [c] => *c,
            [] => return Err(SqlError::syntax("subquery must return a column")),
            _ => return Err(SqlError::syntax("subquery has too many columns")),
        };
        let lt = arg.ty();
        let cmp = comparison_type(lt, col).ok_or_else(|| no_operator("=", lt, Some(col)))?;
        let arg = coerce_or(arg, cmp, self.params, |_| no_operator("=", lt, Some(col)))?;
        let kind = SubqueryKind::In {
            arg: Box::new(arg),
            negated,
            cmp,
        };
        Ok(ScalarExpr::Subquery(Box::new(SubqueryExpr::new(
            kind,
            &columns,
            rows,
            host.eval_context(),
        ))))
    }

    fn value(&mut self, v: &Value) -> SqlResult<ScalarExpr> {
        match v {
            Value::Number(n, _) => number_literal(n),
            Value::SingleQuotedString(s)
            | Value::EscapedStringLiteral(s)
            | Value::NationalStringLiteral(s)
            | Value::UnicodeStringLiteral(s) => Ok(unknown(s.clone())),
            Value::DollarQuotedString(d) => Ok(unknown(d.value.clone())),
            Value::Boolean(b) => Ok(lit(Datum::Bool(*b), DataType::Bool)),
            Value::Null => Ok(lit(Datum::Null, DataType::Unknown)),
            Value::Placeholder(p) => self.param(p),
            other => Err(SqlError::unsupported(format!("literal {other}"))),
        }
    }

    fn param(&mut self, p: &str) -> SqlResult<ScalarExpr> {
        let n: usize = p
            .strip_prefix('$')
            .and_then(|d| d.parse().ok())
            .filter(|n| (1..=PARAMS_MAX).contains(n))
            .ok_or_else(|| {
                SqlError::new(
                    SqlState::UndefinedParameter,
                    format!("there is no parameter {p}"),
                )
            })?;
        if self.params.types.len() < n {
            self.params.types.resize(n, DataType::Unknown);
        }
        Ok(ScalarExpr::Param {
            index: n - 1,
            ty: self.params.types[n - 1],
        })
    }

    fn interval(&mut self, iv: &ast::Interval) -> SqlResult<ScalarExpr> {
        let inner = self.expr(&iv.value)?;
        let text = match (&inner, &iv.leading_field) {
            (
                ScalarExpr::Literal {
                    value: Datum::Text(s),
                    ty: DataType::Unknown,
                },
                field,
            ) => {
                let bare_number = s.trim().parse::<f64>().is_ok();
                match field {
                    Some(f) if bare_number && iv.last_field.is_none() => {
                        format!("{} {}", s.trim(), f.to_string().to_lowercase())
                    }
                    _ => s.clone(),
                }
            }
            _ => return self.cast(inner, DataType::Interval, None),
        };
        self.cast(unknown(text), DataType::Interval, None)
    }

    /// An explicit cast. Untyped literals fold now (`'2024-01-01'::date`).
    pub(crate) fn cast(
        &mut self,
        e: ScalarExpr,
        ty: DataType,
        length: Option<CharLength>,
    ) -> SqlResult<ScalarExpr> {
        let from = e.ty();
        let relative = matches!(&e, ScalarExpr::Literal { value: Datum::Text(s), ty: DataType::Unknown } if is_time_relative(s));
        let e = if relative {
            ScalarExpr::Literal {
                value: match e {
                    ScalarExpr::Literal { value, .. } => value,
                    _ => Datum::Null,
                },
                ty: DataType::Text,
            }
        } else {
            e
        };
        match try_coerce(e, ty, CoercionKind::Explicit, self.params)? {
            Ok(e) if length.is_some() => Ok(cast_node(e, ty, length)),
            Ok(e) => Ok(e),
            Err(_) => Err(SqlError::new(
                SqlState::CannotCoerce,
                format!("cannot cast type {} to {}", from.name(), ty.name()),
            )),
        }
    }

    fn unary(&mut self, op: &ast::UnaryOperator, expr: &Expr) -> SqlResult<ScalarExpr> {
        match op {
            ast::UnaryOperator::Minus => {
                if let Expr::Value(v) = expr
                    && let Value::Number(n, _) = &v.value
                {
                    return number_literal(&format!("-{n}"));
                }
                let arg = self.expr(expr)?;
                let ty = arg.ty();
                if !(ty.is_numeric() || ty == DataType::Interval) {
                    return Err(no_operator("-", ty, None));
                }
                Ok(ScalarExpr::Unary {
                    op: UnaryOp::Neg,
                    arg: Box::new(arg),
                    ty,
                })
            }
            ast::UnaryOperator::Plus => {
                let arg = self.expr(expr)?;
                if !(arg.ty().is_numeric() || arg.ty() == DataType::Interval) {
                    return Err(no_operator("+", arg.ty(), None));
                }
                Ok(arg)
            }
            ast::UnaryOperator::Not => {
                let arg = self.expr(expr)?;
                let arg = self.coerce_bool(arg, "NOT")?;
                Ok(ScalarExpr::Unary {
                    op: UnaryOp::Not,
                    arg: Box::new(arg),
                    ty: DataType::Bool,
                })
            }
            other => Err(SqlError::unsupported(format!("operator {other}"))),
        }
    }

    fn binary_ast(
        &mut self,
        l: &Expr,
        op: &ast::BinaryOperator,
        r: &Expr,
    ) -> SqlResult<ScalarExpr> {
        use ast::BinaryOperator as B;
        let op = match op {
            B::Plus => BinaryOp::Add,
            B::Minus => BinaryOp::Sub,
            B::Multiply => BinaryOp::Mul,
            B::Divide => BinaryOp::Div,
            B::Modulo => BinaryOp::Mod,
            B::PGExp => BinaryOp::Pow,
            B::StringConcat => BinaryOp::Concat,
            B::Eq => BinaryOp::Eq,
            B::NotEq => BinaryOp::NotEq,
            B::Lt => BinaryOp::Lt,
            B::LtEq => BinaryOp::LtEq,
            B::Gt => BinaryOp::Gt,
            B::GtEq => BinaryOp::GtEq,
            B::And => BinaryOp::And,
            B::Or => BinaryOp::Or,
            B::AtArrow | B::ArrowAt | B::PGOverlap => {
                let (a, b) = (self.expr(l)?, self.expr(r)?);
                return self.array_op(op, a, b);
            }
            B::PGLikeMatch | B::PGILikeMatch | B::PGNotLikeMatch | B::PGNotILikeMatch => {
                let ci = matches!(op, B::PGILikeMatch | B::PGNotILikeMatch);
                let neg = matches!(op, B::PGNotLikeMatch | B::PGNotILikeMatch);
                let (a, b) = (self.expr(l)?, self.expr(r)?);
                return self.like(a, b, None, ci, neg);
            }
            B::PGRegexMatch | B::PGRegexIMatch | B::PGRegexNotMatch | B::PGRegexNotIMatch => {
                let ci = matches!(op, B::PGRegexIMatch | B::PGRegexNotIMatch);
                let neg = matches!(op, B::PGRegexNotMatch | B::PGRegexNotIMatch);
                let (a, b) = (self.expr(l)?, self.expr(r)?);
                let name = super::catalog_func::regex_function_name(ci, neg);
                return bind_func::call(self, name, vec![a, b]);
            }
            // `OPERATOR(pg_catalog.~)`: the operator named by its last part.
            B::PGCustomBinaryOperator(parts)
                if parts.len() == 1 || (parts.len() == 2 && parts[0] == "pg_catalog") =>
            {
                let symbol = parts.last().map(String::as_str).unwrap_or("");
                let Some(inner) = custom_operator(symbol) else {
                    return Err(SqlError::unsupported(format!("operator {op}")));
                };
                return self.binary_ast(l, &inner, r);
            }
            other => return Err(SqlError::unsupported(format!("operator {other}"))),
        };
        let (a, b) = (self.expr(l)?, self.expr(r)?);
        self.binary(op, a, b)
    }

    /// Resolves and binds `a op b`.
    pub(crate) fn binary(
        &mut self,
        op: BinaryOp,
        a: ScalarExpr,
        b: ScalarExpr,
    ) -> SqlResult<ScalarExpr> {
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            let name = op.symbol();
            let left = self.coerce_bool(a, name)?;
            let right = self.coerce_bool(b, name)?;
            return Ok(ScalarExpr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
                ty: DataType::Bool,
            });
        }
        if op.is_comparison() {
            let (l, r) = self.coerce_comparison(op, a, b)?;
            return Ok(ScalarExpr::Binary {
                op,
                left: Box::new(l),
                right: Box::new(r),
                ty: DataType::Bool,
            });
        }
        let (lt, rt) = (a.ty(), b.ty());
        let (ltarget, rtarget, ty) = resolve_arith(op, lt, rt)?;
        let err = |_| no_operator(op.symbol(), lt, Some(rt));
        // textanycat / anytextcat: a non-text side goes through its output function.
        let to_text = |e: ScalarExpr, target: DataType| {
            if target == DataType::Text && !matches!(e.ty(), DataType::Text | DataType::Unknown) {
                cast_node(e, DataType::Text, None)
            } else {
                e
            }
        };
        let (a, b) = if op == BinaryOp::Concat {
            (to_text(a, ltarget), to_text(b, rtarget))
        } else {
            (a, b)
        };
        let left = coerce_or(a, ltarget, self.params, err)?;
        let right = coerce_or(b, rtarget, self.params, err)?;
        Ok(ScalarExpr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
            ty,
        })
    }

    fn comparison_operands(
        &mut self,
        op: BinaryOp,
        a: &Expr,
        b: &Expr,
    ) -> SqlResult<(ScalarExpr, ScalarExpr)> {
        let (a, b) = (self.expr(a)?, self.expr(b)?);
        self.coerce_comparison(op, a, b)
    }

    /// Coerces two operands of a comparison to one type.
    pub(crate) fn coerce_comparison(
        &mut self,
        op: BinaryOp,
        a: ScalarExpr,
        b: ScalarExpr,
    ) -> SqlResult<(ScalarExpr, ScalarExpr)> {
        let (lt, rt) = (a.ty(), b.ty());
        let target =
            comparison_type(lt, rt).ok_or_else(|| no_operator(op.symbol(), lt, Some(rt)))?;
        let err = |_| no_operator(op.symbol(), lt, Some(rt));
        Ok((
            coerce_or(a, target, self.params, err)?,
            coerce_or(b, target, self.params, err)?,
        ))
    }

    fn is_bool(&mut self, a: &Expr, value: Option<bool>, negated: bool) -> SqlResult<ScalarExpr> {
        let context = match value {
            Some(true) => "IS TRUE",
            Some(false) => "IS FALSE",
            None => "IS UNKNOWN",
        };
        let arg = self.expr(a)?;
        let arg = self.coerce_bool(arg, context)?;
        Ok(ScalarExpr::IsBool {
            arg: Box::new(arg),
            value,
            negated,
        })
    }

    fn in_list(&mut self, expr: &Expr, list: &[Expr], negated: bool) -> SqlResult<ScalarExpr> {
        let mut all = vec![self.expr(expr)?];
        for x in list {
            all.push(self.expr(x)?);
        }
        let types: Vec<DataType> = all.iter().map(ScalarExpr::ty).collect();
        if let Some(t) = types[1..]
            .iter()
            .find(|t| comparison_type(types[0], **t).is_none())
        {
            return Err(no_operator("=", types[0], Some(*t)));
        }
        let (mut all, _) = coerce_all(all, "IN", self.params)?;
        let arg = all.remove(0);
        Ok(ScalarExpr::InList {
            arg: Box::new(arg),
            list: all,
            negated,
        })
    }

    fn between(
        &mut self,
        expr: &Expr,
        low: &Expr,
        high: &Expr,
        negated: bool,
    ) -> SqlResult<ScalarExpr> {
        let all = vec![self.expr(expr)?, self.expr(low)?, self.expr(high)?];
        let t0 = all[0].ty();
        for (t, op) in [(all[1].ty(), ">="), (all[2].ty(), "<=")] {
            if comparison_type(t0, t).is_none() {
                return Err(no_operator(op, t0, Some(t)));
            }
        }
        let (mut all, _) = coerce_all(all, "BETWEEN", self.params)?;
        let high = all.pop();
        let low = all.pop();
        let arg = all.pop();
        match (arg, low, high) {
            (Some(arg), Some(low), Some(high)) => Ok(ScalarExpr::Between {
                arg: Box::new(arg),
                low: Box::new(low),
                high: Box::new(high),
                negated,
                symmetric: false,
            }),
            _ => Err(SqlError::internal("BETWEEN lost an operand")),
        }
    }

    fn like(
        &mut self,
        arg: ScalarExpr,
        pattern: ScalarExpr,
        escape: Option<ScalarExpr>,
        case_insensitive: bool,
        negated: bool,
    ) -> SqlResult<ScalarExpr> {
        let sym = match (case_insensitive, negated) {
            (false, false) => "~~",
            (false, true) => "!~~",
            (true, false) => "~~*",
            (true, true) => "!~~*",
        };
        let (lt, rt) = (arg.ty(), pattern.ty());
        let err = |_| no_operator(sym, lt, Some(rt));
        let arg = coerce_or(arg, DataType::Text, self.params, err)?;
        let pattern = coerce_or(pattern, DataType::Text, self.params, err)?;
        let escape = match escape {
            Some(e) => {
                let et = e.ty();
                Some(Box::new(coerce_or(e, DataType::Text, self.params, |_| {
                    no_operator("ESCAPE", et, None)
                })?))
            }
            None => None,
        };
        Ok(ScalarExpr::Like {
            arg: Box::new(arg),
            pattern: Box::new(pattern),
            escape,
            case_insensitive,
            negated,
        })
    }

    fn any_all(
        &mut self,
        left: &Expr,
        op: &ast::BinaryOperator,
        right: &Expr,
        all: bool,
    ) -> SqlResult<ScalarExpr> {
        use ast::BinaryOperator as B;
        let op = match op {
            B::Eq => BinaryOp::Eq,
            B::NotEq => BinaryOp::NotEq,
            B::Lt => BinaryOp::Lt,
            B::LtEq => BinaryOp::LtEq,
            B::Gt => BinaryOp::Gt,
            B::GtEq => BinaryOp::GtEq,
            other => return Err(SqlError::unsupported(format!("{other} ANY/ALL"))),
        };
        if let Expr::Subquery(q) = right {
            let arg = self.expr(left)?;
            return match (op, all) {
                (BinaryOp::Eq, false) => self.in_subquery(arg, q, false),
                (BinaryOp::NotEq, true) => self.in_subquery(arg, q, true),
                _ => Err(SqlError::unsupported(format!(
                    "{} {} (subquery)",
                    op.symbol(),
                    if all { "ALL" } else { "ANY" }
                ))),
            };
        }
        let arg = self.expr(left)?;
        let array = self.expr(right)?;
        // audb has no oid[]: catalog columns that are oid[] in PostgreSQL
        // (`pg_policy.polroles`) are text[] here, and psql compares them with
        // `oid = any(polroles)`; an integer against such a column compares
        // its text form.
        let arg = if arg.ty().is_integer()
            && array.ty() == DataType::TextArray
            && !matches!(array, ScalarExpr::ArrayLiteral { .. })
        {
            cast_node(arg, DataType::Text, None)
        } else {
            arg
        };
        let (lt, rt) = (arg.ty(), array.ty());
        let err = |_| no_operator(op.symbol(), lt, Some(rt));
        let array = coerce_or(array, DataType::TextArray, self.params, |_| {
            SqlError::mismatch(format!(
                "op ANY/ALL (array) requires array on right side, not {}",
                rt.name()
            ))
        })?;
        let arg = coerce_or(arg, DataType::Text, self.params, err)?;
        Ok(ScalarExpr::AnyArray {
            arg: Box::new(arg),
            op,
            array: Box::new(array),
            all,
        })
    }

    fn array_op(
        &mut self,
        op: &ast::BinaryOperator,
        a: ScalarExpr,
        b: ScalarExpr,
    ) -> SqlResult<ScalarExpr> {
        let sym = op.to_string();
        let (lt, rt) = (a.ty(), b.ty());
        let err = |_| no_operator(&sym, lt, Some(rt));
        if lt != DataType::TextArray && rt != DataType::TextArray {
            return Err(err(lt));
        }
        let a = coerce_or(a, DataType::TextArray, self.params, err)?;
        let b = coerce_or(b, DataType::TextArray, self.params, err)?;
        let (left, right) = (Box::new(a), Box::new(b));
        Ok(match op {
            ast::BinaryOperator::AtArrow => ScalarExpr::ArrayContains { left, right },
            ast::BinaryOperator::ArrowAt => ScalarExpr::ArrayContains {
                left: right,
                right: left,
            },
            _ => ScalarExpr::ArrayOverlap { left, right },
        })
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&Expr>,
    ) -> SqlResult<ScalarExpr> {
        let operand = operand.map(|o| self.expr(o)).transpose()?;
        let mut conds = Vec::with_capacity(conditions.len());
        let mut results = Vec::with_capacity(conditions.len() + 1);
        for w in conditions {
            let c = self.expr(&w.condition)?;
            let c = match &operand {
                Some(o) => self.binary(BinaryOp::Eq, o.clone(), c)?,
                None => self.coerce_bool(c, "CASE/WHEN")?,
            };
            conds.push(c);
            results.push(self.expr(&w.result)?);
        }
        let has_else = else_result.is_some();
        if let Some(e) = else_result {
            results.push(self.expr(e)?);
        }
        let (mut results, ty) = coerce_all(results, "CASE", self.params)?;
        let else_result = if has_else {
            results.pop().map(Box::new)
        } else {
            None
        };
        Ok(ScalarExpr::Case {
            whens: conds.into_iter().zip(results).collect(),
            else_result,
            ty,
        })
    }

    fn array_literal(&mut self, elems: Vec<ScalarExpr>) -> SqlResult<ScalarExpr> {
        if elems.is_empty() {
            return Err(SqlError::new(
                SqlState::DatatypeMismatch,
                "cannot determine type of empty array",
            )
            .with_hint("Explicitly cast to the desired type, for example ARRAY[]::integer[]."));
        }
        let (elems, ty) = coerce_all(elems, "ARRAY", self.params)?;
        if ty != DataType::Text {
            return Err(SqlError::unsupported(format!(
                "arrays of type {}",
                ty.name()
            )));
        }
        Ok(ScalarExpr::ArrayLiteral { elems })
    }
}

/// The built-in operator spelled `symbol` inside `OPERATOR(pg_catalog.…)`.
fn custom_operator(symbol: &str) -> Option<ast::BinaryOperator> {
    use ast::BinaryOperator as B;
    Some(match symbol {
        "~" => B::PGRegexMatch,
        "~*" => B::PGRegexIMatch,
        "!~" => B::PGRegexNotMatch,
        "!~*" => B::PGRegexNotIMatch,
        "~~" => B::PGLikeMatch,
        "~~*" => B::PGILikeMatch,
        "!~~" => B::PGNotLikeMatch,
        "!~~*" => B::PGNotILikeMatch,
        "=" => B::Eq,
        "<>" => B::NotEq,
        "<" => B::Lt,
        "<=" => B::LtEq,
        ">" => B::Gt,
        ">=" => B::GtEq,
        "||" => B::StringConcat,
        "+" => B::Plus,
        "-" => B::Minus,
        _ => return None,
    })
}
