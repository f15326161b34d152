//! Binding operators: unary and binary operators (arithmetic, comparison,
//! `AND`/`OR`, `||`, `OPERATOR(pg_catalog.…)`), `IS [NOT] TRUE|FALSE|UNKNOWN`,
//! `IN (list)`, `BETWEEN`, `LIKE`/`ILIKE` and `CASE`, with PostgreSQL's
//! operand coercions.

use super::bind::Binder;
use super::bind_func;
use super::bind_literal::number_literal;
use super::coerce::{cast_node, coerce_all, coerce_or};
use super::operators::{comparison_type, no_operator, resolve_arith};
use super::{BinaryOp, ScalarExpr, UnaryOp};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::types::DataType;
use sqlparser::ast::{self, Expr, Value};

impl Binder<'_> {
    pub(crate) fn unary(&mut self, op: &ast::UnaryOperator, expr: &Expr) -> SqlResult<ScalarExpr> {
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

    pub(crate) fn binary_ast(
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

    pub(crate) fn comparison_operands(
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

    pub(crate) fn is_bool(
        &mut self,
        a: &Expr,
        value: Option<bool>,
        negated: bool,
    ) -> SqlResult<ScalarExpr> {
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

    pub(crate) fn in_list(
        &mut self,
        expr: &Expr,
        list: &[Expr],
        negated: bool,
    ) -> SqlResult<ScalarExpr> {
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

    pub(crate) fn between(
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

    pub(crate) fn like(
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

    pub(crate) fn case(
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
