//! Set-returning functions in `FROM`: `unnest(text[])` and
//! `generate_series(start, stop [, step])` over integers.
//!
//! Arguments are constant for the query (literals, parameters, or columns
//! of an enclosing query when the function sits in a correlated subquery,
//! as psql's `\d+` uses `unnest(tc.reloptions)`). The result is a small
//! one-column relation, bounded by [`RELATION_ROWS_MAX`].

use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::fold_ident;
use super::relation::{Column, RELATION_ROWS_MAX, Relation, check_rows};
use super::select::{QueryCtx, Source};
use super::types::{DataType, Datum};
use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, Ident, ObjectName, ObjectNamePart, TableAlias,
};

/// The relation of a function call in FROM.
pub(super) fn table_function(
    ctx: &QueryCtx<'_>,
    name: &ObjectName,
    args: &[FunctionArg],
    alias: Option<&TableAlias>,
) -> SqlResult<Source> {
    let (schema, func) = super::select::table_name(name)?;
    if schema.as_deref().is_some_and(|s| s != "pg_catalog") {
        return Err(unknown(name, &[]));
    }
    let mut exprs = Vec::with_capacity(args.len());
    for a in args {
        match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => exprs.push(e),
            other => {
                return Err(SqlError::unsupported(format!(
                    "the argument {other} of a function in FROM"
                )));
            }
        }
    }
    call(ctx, &func, name, &exprs, alias)
}

/// `UNNEST(array)` as sqlparser spells it in FROM.
pub(super) fn unnest(
    ctx: &QueryCtx<'_>,
    arrays: &[Expr],
    alias: Option<&TableAlias>,
) -> SqlResult<Source> {
    let name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("unnest"))]);
    let exprs: Vec<&Expr> = arrays.iter().collect();
    call(ctx, "unnest", &name, &exprs, alias)
}

fn call(
    ctx: &QueryCtx<'_>,
    func: &str,
    name: &ObjectName,
    exprs: &[&Expr],
    alias: Option<&TableAlias>,
) -> SqlResult<Source> {
    let func = func.to_owned();
    let values = exprs
        .iter()
        .map(|e| ctx.eval_const(e))
        .collect::<SqlResult<Vec<_>>>()?;
    let types: Vec<DataType> = values.iter().map(|(_, t)| *t).collect();
    let (ty, rows) = match (func.as_str(), values.as_slice()) {
        ("unnest", [(d, DataType::TextArray | DataType::Unknown)]) => {
            let items = match d {
                Datum::Null => Vec::new(),
                Datum::TextArray(items) => items.clone(),
                Datum::Text(s) => super::scalar::parse_text_array(s)?,
                _ => return Err(unknown(name, &types)),
            };
            let rows = items
                .into_iter()
                .map(|v| vec![v.map_or(Datum::Null, Datum::Text)])
                .collect();
            (DataType::Text, rows)
        }
        ("generate_series", [start, stop, step @ ..]) if step.len() <= 1 => {
            let all_int = types
                .iter()
                .all(|t| matches!(t, DataType::Int2 | DataType::Int4 | DataType::Int8));
            if !all_int {
                return Err(SqlError::unsupported(format!(
                    "generate_series({})",
                    names(&types)
                )));
            }
            let ty = if types.contains(&DataType::Int8) {
                DataType::Int8
            } else {
                DataType::Int4
            };
            let int = |d: &Datum| match d {
                Datum::Int(i) => Some(*i),
                _ => None,
            };
            let step = match step.first() {
                Some((d, _)) => int(d),
                None => Some(1),
            };
            match (int(&start.0), int(&stop.0), step) {
                (_, _, Some(0)) => {
                    return Err(SqlError::new(
                        SqlState::InvalidParameterValue,
                        "step size cannot equal zero",
                    ));
                }
                (Some(a), Some(b), Some(s)) => (ty, series(a, b, s)?),
                _ => (ty, Vec::new()),
            }
        }
        _ => return Err(unknown(name, &types)),
    };
    let (qualifier, col_name) = match alias {
        Some(a) => {
            let q = fold_ident(&a.name);
            let c = a
                .columns
                .first()
                .map(|c| fold_ident(&c.name))
                .unwrap_or_else(|| q.clone());
            if a.columns.len() > 1 {
                return Err(SqlError::syntax(format!(
                    "too many column aliases specified for function {func}"
                )));
            }
            (q, c)
        }
        None => (func.clone(), func.clone()),
    };
    Ok(Source::Rel {
        rel: Relation {
            columns: vec![Column { name: col_name, ty }],
            rows,
        },
        quals: vec![Some(qualifier)],
    })
}

fn series(start: i64, stop: i64, step: i64) -> SqlResult<Vec<Vec<Datum>>> {
    let count = if (step > 0 && start > stop) || (step < 0 && start < stop) {
        0
    } else {
        (i128::from(stop) - i128::from(start)) / i128::from(step) + 1
    };
    check_rows(usize::try_from(count).unwrap_or(RELATION_ROWS_MAX + 1))?;
    let mut rows = Vec::new();
    let mut v = i128::from(start);
    for _ in 0..count {
        rows.push(vec![Datum::Int(v as i64)]);
        v += i128::from(step);
    }
    Ok(rows)
}

fn names(types: &[DataType]) -> String {
    types
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown(name: &ObjectName, types: &[DataType]) -> SqlError {
    SqlError::new(
        SqlState::UndefinedFunction,
        format!("function {name}({}) does not exist", names(types)),
    )
    .with_hint(
        "No function matches the given name and argument types. You might need to add explicit type casts.",
    )
}
