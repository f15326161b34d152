//! Query bodies that are not a single SELECT: `UNION` / `INTERSECT` /
//! `EXCEPT` and `VALUES`.

use super::{QueryCtx, run_query, run_select};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::relation::{self, Column, Relation};
use crate::sql::types::DataType;
use sqlparser::ast::{SetExpr, SetOperator, SetQuantifier};

pub(super) fn run_set_expr(ctx: &QueryCtx<'_>, e: &SetExpr) -> SqlResult<Relation> {
    match e {
        SetExpr::Select(s) => run_select(ctx, s, None, 0, None),
        SetExpr::Query(q) => run_query(&ctx.nested()?, q),
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            let a = run_set_expr(ctx, left)?;
            let b = run_set_expr(ctx, right)?;
            let op = match op {
                SetOperator::Union => relation::SetOp::Union,
                SetOperator::Intersect => relation::SetOp::Intersect,
                SetOperator::Except => relation::SetOp::Except,
                other => return Err(SqlError::unsupported(format!("{other}"))),
            };
            let all = matches!(set_quantifier, SetQuantifier::All);
            relation::set_op(a, b, op, all)
        }
        SetExpr::Values(values) => {
            let mut rows = Vec::with_capacity(values.rows.len());
            let mut types: Vec<DataType> = Vec::new();
            for row in &values.rows {
                let mut out = Vec::with_capacity(row.content.len());
                for (i, e) in row.content.iter().enumerate() {
                    let (d, ty) = ctx.eval_const(e)?;
                    if types.len() <= i {
                        types.push(ty);
                    } else if types[i] == DataType::Unknown {
                        types[i] = ty;
                    }
                    out.push(d);
                }
                rows.push(out);
            }
            let columns = types
                .into_iter()
                .enumerate()
                .map(|(i, ty)| Column {
                    name: format!("column{}", i + 1),
                    ty: if ty == DataType::Unknown {
                        DataType::Text
                    } else {
                        ty
                    },
                })
                .collect();
            Ok(Relation { columns, rows })
        }
        other => Err(SqlError::unsupported(format!("the query form {other}"))),
    }
}
