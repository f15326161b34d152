//! Binding window function calls (`f(…) OVER (PARTITION BY … ORDER BY …
//! frame)`): the ranking and offset functions, and `count`, `sum`, `avg`,
//! `min`, `max` as window aggregates.

use super::super::bind::Binder;
use super::super::coerce::coerce_or;
use super::super::{FrameBound, ScalarExpr, WindowExpr, WindowFrame, WindowFunc, WindowOrder};
use super::{Sig, not_exist, not_unique, select};
use crate::sql::aggregates::aggregate_class;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::DataType;
use sqlparser::ast::{self, Expr};

use DataType::{
    Date as D, Float4 as F4, Float8 as F8, Int2 as I2, Int4 as I4, Int8 as I8, Interval as IV,
    Text as T, TextArray as TA, Timestamp as TS, TimestampTz as TZ,
};
const N: DataType = DataType::Numeric(None);

pub(super) fn window_func(name: &str) -> Option<WindowFunc> {
    Some(match name {
        "row_number" => WindowFunc::RowNumber,
        "rank" => WindowFunc::Rank,
        "dense_rank" => WindowFunc::DenseRank,
        "percent_rank" => WindowFunc::PercentRank,
        "cume_dist" => WindowFunc::CumeDist,
        "ntile" => WindowFunc::Ntile,
        "lag" => WindowFunc::Lag,
        "lead" => WindowFunc::Lead,
        "first_value" => WindowFunc::FirstValue,
        "last_value" => WindowFunc::LastValue,
        _ => return None,
    })
}

const ORDERABLE: &[DataType] = &[I2, I4, I8, N, F4, F8, T, TA, D, TS, TZ, IV];

pub(super) fn window(
    b: &mut Binder<'_>,
    name: &str,
    star: bool,
    args: Vec<ScalarExpr>,
    over: &ast::WindowType,
) -> SqlResult<ScalarExpr> {
    let spec = match over {
        ast::WindowType::WindowSpec(s) if s.window_name.is_none() => s,
        _ => return Err(SqlError::unsupported("named windows")),
    };
    let types: Vec<DataType> = args.iter().map(ScalarExpr::ty).collect();
    let one = |sigs: &[Sig]| -> SqlResult<(usize, DataType)> {
        match select(&types, sigs) {
            Ok(i) => Ok((i, sigs[i].1)),
            Err(true) => Err(not_unique(name, &types)),
            Err(false) => Err(not_exist(name, &types)),
        }
    };
    let any_same = |t: DataType| if t == DataType::Unknown { T } else { t };
    let (func, params, ty): (WindowFunc, Vec<DataType>, DataType) = match name {
        "count" if star => (WindowFunc::CountStar, vec![], I8),
        "count" if args.len() == 1 => (WindowFunc::Count, vec![any_same(types[0])], I8),
        "sum" | "avg" => {
            let sigs: &[Sig] = if name == "sum" {
                &[
                    (&[I2], I8),
                    (&[I4], I8),
                    (&[I8], N),
                    (&[N], N),
                    (&[F4], F4),
                    (&[F8], F8),
                    (&[IV], IV),
                ]
            } else {
                &[
                    (&[I2], N),
                    (&[I4], N),
                    (&[I8], N),
                    (&[N], N),
                    (&[F4], F8),
                    (&[F8], F8),
                    (&[IV], IV),
                ]
            };
            let (i, ty) = one(sigs)?;
            let f = if name == "sum" {
                WindowFunc::Sum
            } else {
                WindowFunc::Avg
            };
            (f, sigs[i].0.to_vec(), ty)
        }
        "min" | "max" => {
            let sigs: Vec<Sig> = ORDERABLE
                .iter()
                .map(|t| (std::slice::from_ref(t), *t))
                .collect();
            let (i, ty) = one(&sigs)?;
            let f = if name == "min" {
                WindowFunc::Min
            } else {
                WindowFunc::Max
            };
            let ty =
                if matches!(ty, DataType::Numeric(_)) && matches!(types[0], DataType::Numeric(_)) {
                    types[0]
                } else {
                    ty
                };
            (f, vec![sigs[i].0[0]], ty)
        }
        _ => match (window_func(name), args.len()) {
            (Some(f @ (WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank)), 0) => {
                (f, vec![], I8)
            }
            (Some(f @ (WindowFunc::PercentRank | WindowFunc::CumeDist)), 0) => (f, vec![], F8),
            (Some(WindowFunc::Ntile), 1) => (WindowFunc::Ntile, vec![I4], I4),
            (Some(f @ (WindowFunc::FirstValue | WindowFunc::LastValue)), 1) => {
                let t = any_same(types[0]);
                (f, vec![t], t)
            }
            (Some(f @ (WindowFunc::Lag | WindowFunc::Lead)), 1..=3) => {
                let t = if args.len() == 3 {
                    super::super::select_common_type(&[types[0], types[2]], &name.to_uppercase())?
                } else {
                    any_same(types[0])
                };
                let mut p = vec![t];
                if args.len() >= 2 {
                    p.push(I4);
                }
                if args.len() == 3 {
                    p.push(t);
                }
                (f, p, t)
            }
            _ if aggregate_class(name).is_some() => {
                return Err(SqlError::unsupported(format!("window aggregate {name}")));
            }
            _ => return Err(not_exist(name, &types)),
        },
    };
    let mut bound_args = Vec::with_capacity(args.len());
    for (a, p) in args.into_iter().zip(&params) {
        bound_args.push(coerce_or(a, *p, b.params, |_| not_exist(name, &types))?);
    }
    let partition_by = spec
        .partition_by
        .iter()
        .map(|e| b.expr(e))
        .collect::<SqlResult<Vec<_>>>()?;
    let mut order_by = Vec::with_capacity(spec.order_by.len());
    for o in &spec.order_by {
        let descending = match &o.options.sort {
            Some(ast::OrderBySort::Desc) => true,
            Some(ast::OrderBySort::Asc) | None => false,
            Some(ast::OrderBySort::Using(_)) => {
                return Err(SqlError::unsupported("ORDER BY USING in a window"));
            }
        };
        let nulls_first = o.options.nulls_first.unwrap_or(descending);
        order_by.push(WindowOrder {
            expr: b.expr(&o.expr)?,
            descending,
            nulls_first,
        });
    }
    let frame = match &spec.window_frame {
        None => WindowFrame {
            rows: false,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
        },
        Some(fr) => frame(fr)?,
    };
    Ok(ScalarExpr::Window(Box::new(WindowExpr {
        func,
        args: bound_args,
        partition_by,
        order_by,
        frame,
        ty,
    })))
}

fn frame(fr: &ast::WindowFrame) -> SqlResult<WindowFrame> {
    let rows = match fr.units {
        ast::WindowFrameUnits::Rows => true,
        ast::WindowFrameUnits::Range => false,
        ast::WindowFrameUnits::Groups => return Err(SqlError::unsupported("GROUPS frames")),
    };
    let bound = |b: &ast::WindowFrameBound| -> SqlResult<FrameBound> {
        let offset = |e: &Expr| -> SqlResult<u64> {
            if !rows {
                return Err(SqlError::unsupported("RANGE frames with an offset"));
            }
            match e {
                Expr::Value(v) => match &v.value {
                    ast::Value::Number(n, _) => n.parse().map_err(|_| {
                        SqlError::new(
                            SqlState::InvalidParameterValue,
                            "frame starting offset must not be negative",
                        )
                    }),
                    _ => Err(SqlError::unsupported("a non-integer frame offset")),
                },
                _ => Err(SqlError::unsupported("a non-constant frame offset")),
            }
        };
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(e)?),
        })
    };
    let start = bound(&fr.start_bound)?;
    let end = match &fr.end_bound {
        Some(e) => bound(e)?,
        None => FrameBound::CurrentRow,
    };
    if start == FrameBound::UnboundedFollowing {
        return Err(SqlError::syntax(
            "frame start cannot be UNBOUNDED FOLLOWING",
        ));
    }
    if end == FrameBound::UnboundedPreceding {
        return Err(SqlError::syntax("frame end cannot be UNBOUNDED PRECEDING"));
    }
    Ok(WindowFrame { rows, start, end })
}
