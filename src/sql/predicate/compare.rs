//! Comparisons of a column with a constant: the constant is converted into
//! the column's stored domain (integer bounds for numeric, date and time
//! columns, value sets for categorical ones), so the comparison runs on
//! bitmaps.

use super::{ColRef, PredContext, column_ref, const_pred, is_constant, unsupported};
use crate::exec::filter::Pred;
use crate::index::bsi::CompareOp;
use crate::index::{ColumnType, KeyType, TagKind};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::Expr;
use std::cmp::Ordering;
use std::sync::Arc;

const DAY_MICROS: i64 = 86_400_000_000;

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
    use crate::sql::scalar::cast::{
        text_to_timestamp, text_to_timestamptz, zone_local_to_utc, zone_utc_to_local,
    };
    let tz = ctx.time_zone();
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
        (Datum::TimestampTz(t), ColumnType::Date) => ratio(
            i128::from(zone_utc_to_local(*t, tz)?),
            i128::from(DAY_MICROS),
        ),
        (Datum::Text(s), ColumnType::Date) => Bound::Exact(encode::parse_date(s)?),
        (Datum::Timestamp(t), ColumnType::Timestamp)
        | (Datum::TimestampTz(t), ColumnType::TimestampTz) => Bound::Exact(*t),
        (Datum::Date(d), ColumnType::Timestamp) => Bound::Exact(d.saturating_mul(DAY_MICROS)),
        (Datum::Date(d), ColumnType::TimestampTz) => {
            Bound::Exact(zone_local_to_utc(d.saturating_mul(DAY_MICROS), tz)?)
        }
        (Datum::TimestampTz(t), ColumnType::Timestamp) => Bound::Exact(zone_utc_to_local(*t, tz)?),
        (Datum::Timestamp(t), ColumnType::TimestampTz) => Bound::Exact(zone_local_to_utc(*t, tz)?),
        (Datum::Text(s), ColumnType::Timestamp) => Bound::Exact(text_to_timestamp(s)?),
        (Datum::Text(s), ColumnType::TimestampTz) => Bound::Exact(text_to_timestamptz(s, tz)?),
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
pub(super) fn compare(
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
pub(super) fn compare_value(
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
