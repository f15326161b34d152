//! Functions in `FROM`: the set-returning functions of [`super::srf`]
//! (`unnest`, `generate_series`, `generate_subscripts`,
//! `information_schema._pg_expandarray`), and any other function, which
//! gives one row holding its value (`FROM string_to_array(…) s`).
//!
//! Arguments are constant for one run of the function: literals,
//! parameters, columns of an enclosing query (psql's `\d+` uses
//! `unnest(tc.reloptions)` in a correlated subquery), or columns of the
//! FROM items before it, which [`super::from_list`] supplies row by row.
//! A function's single column is named by the alias (`AS t` or
//! `AS t(col)`) or else after the function; a composite result's columns
//! are its fields, renamed by the alias's column list.

use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::fold_ident;
use super::relation::{Column, Relation};
use super::select::{QueryCtx, Source};
use super::types::{DataType, Datum};
use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    ObjectName, ObjectNamePart, TableAlias,
};

/// The relation of a function call in FROM.
pub(super) fn table_function(
    ctx: &QueryCtx<'_>,
    name: &ObjectName,
    args: &[FunctionArg],
    alias: Option<&TableAlias>,
    with_ordinality: bool,
) -> SqlResult<Source> {
    let (schema, func) = super::select::table_name(name)?;
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
    if !super::srf::is_srf(schema.as_deref(), &func) {
        return scalar_function(ctx, name, args, &func, alias, with_ordinality);
    }
    call(ctx, &func, name, &exprs, alias, with_ordinality)
}

/// `UNNEST(array)` as sqlparser spells it in FROM.
pub(super) fn unnest(
    ctx: &QueryCtx<'_>,
    arrays: &[Expr],
    alias: Option<&TableAlias>,
    with_ordinality: bool,
) -> SqlResult<Source> {
    let name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("unnest"))]);
    let exprs: Vec<&Expr> = arrays.iter().collect();
    call(ctx, "unnest", &name, &exprs, alias, with_ordinality)
}

/// A function that is not set-returning: one row with its value.
fn scalar_function(
    ctx: &QueryCtx<'_>,
    name: &ObjectName,
    args: &[FunctionArg],
    func: &str,
    alias: Option<&TableAlias>,
    with_ordinality: bool,
) -> SqlResult<Source> {
    let call = Expr::Function(Function {
        name: name.clone(),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args.to_vec(),
            clauses: Vec::new(),
        }),
        within_group: Vec::new(),
        filter: None,
        null_treatment: None,
        over: None,
    });
    let (value, ty) = ctx.eval_const(&call)?;
    let ty = if ty == DataType::Unknown {
        DataType::Text
    } else {
        ty
    };
    let rows = vec![vec![value]];
    shape(func, vec![(None, ty)], rows, alias, with_ordinality)
}

fn call(
    ctx: &QueryCtx<'_>,
    func: &str,
    name: &ObjectName,
    exprs: &[&Expr],
    alias: Option<&TableAlias>,
    with_ordinality: bool,
) -> SqlResult<Source> {
    let values = exprs
        .iter()
        .map(|e| ctx.eval_const(e))
        .collect::<SqlResult<Vec<_>>>()?;
    let types: Vec<DataType> = values.iter().map(|(_, t)| *t).collect();
    match super::srf::call(func, &values)? {
        Some(out) => shape(func, out.columns, out.rows, alias, with_ordinality),
        None => Err(unknown(name, &types)),
    }
}

/// Names the columns of a function's rows (and adds `ordinality`).
fn shape(
    func: &str,
    fields: Vec<(Option<&'static str>, DataType)>,
    mut rows: Vec<Vec<Datum>>,
    alias: Option<&TableAlias>,
    with_ordinality: bool,
) -> SqlResult<Source> {
    let qualifier = alias.map_or_else(|| func.to_owned(), |a| fold_ident(&a.name));
    let mut columns: Vec<Column> = fields
        .into_iter()
        .map(|(field, ty)| Column {
            name: field.map_or_else(|| qualifier.clone(), str::to_owned),
            ty,
        })
        .collect();
    if with_ordinality {
        columns.push(Column {
            name: "ordinality".into(),
            ty: DataType::Int8,
        });
        for (i, row) in rows.iter_mut().enumerate() {
            row.push(Datum::Int(i as i64 + 1));
        }
    }
    if let Some(a) = alias {
        if a.columns.len() > columns.len() {
            return Err(SqlError::new(
                SqlState::InvalidColumnReference,
                format!(
                    "table \"{qualifier}\" has {} columns available but {} columns specified",
                    columns.len(),
                    a.columns.len()
                ),
            ));
        }
        for (c, n) in columns.iter_mut().zip(&a.columns) {
            c.name = fold_ident(&n.name);
        }
    }
    let quals = vec![Some(qualifier); columns.len()];
    Ok(Source::Rel {
        rel: Relation { columns, rows },
        quals,
    })
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
