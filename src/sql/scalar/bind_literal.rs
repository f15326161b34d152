//! Binding literals, parameters and casts: numeric literal typing
//! (int4, int8, numeric), untyped string literals, `$n` parameters,
//! `INTERVAL '…'`, and explicit casts (`CAST(x AS t)`, `x::t`).

use super::bind::{Binder, lit, unknown};
use super::cast::is_time_relative;
use super::coerce::{CoercionKind, cast_node, try_coerce};
use super::sql_type::sql_type;
use super::{CharLength, PARAMS_MAX, ScalarExpr};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{self, Expr, Value};

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

impl Binder<'_> {
    pub(crate) fn value(&mut self, v: &Value) -> SqlResult<ScalarExpr> {
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

    pub(crate) fn param(&mut self, p: &str) -> SqlResult<ScalarExpr> {
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

    pub(crate) fn interval(&mut self, iv: &ast::Interval) -> SqlResult<ScalarExpr> {
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

    /// `CAST(expr AS data_type)` / `expr::data_type` as written.
    pub(crate) fn cast_expr(
        &mut self,
        e: &Expr,
        kind: &ast::CastKind,
        expr: &Expr,
        data_type: &ast::DataType,
        format: Option<&ast::CastFormat>,
    ) -> SqlResult<ScalarExpr> {
        if format.is_some() || !matches!(kind, ast::CastKind::Cast | ast::CastKind::DoubleColon) {
            return Err(SqlError::unsupported(format!("cast form {e}")));
        }
        let (ty, length) = sql_type(data_type)?;
        // `ARRAY[]::int[]`: the cast gives the empty array its type.
        if let Some(empty) = super::bind_array::empty_array_cast(expr, ty) {
            return Ok(empty);
        }
        let inner = self.expr(expr)?;
        self.cast(inner, ty, length)
    }
}
