//! Binding function calls: PostgreSQL's candidate selection
//! (`func_select_candidate`) over each built-in's signatures, the variadic
//! and polymorphic specials (`coalesce`, `greatest`, `concat`…); window
//! function calls with their `OVER` clause are bound in [`window`].

mod window;

use super::bind::{Binder, fold_ident};
use super::coerce::{Category, category, coerce_all, coerce_or, same_base};
use super::{Func, ScalarExpr};
use crate::sql::aggregates::aggregate_class;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::DataType;
use sqlparser::ast::{self, Expr};

use DataType::{
    Bool as B, Date as D, Float4 as F4, Float8 as F8, Int2 as I2, Int4 as I4, Int8 as I8,
    Interval as IV, Text as T, TextArray as TA, Timestamp as TS, TimestampTz as TZ,
};
const N: DataType = DataType::Numeric(None);

/// One signature: parameter types and result type.
type Sig = (&'static [DataType], DataType);

/// 42883 `function f(types) does not exist`.
pub(crate) fn not_exist(name: &str, types: &[DataType]) -> SqlError {
    let list: Vec<String> = types.iter().map(|t| t.name()).collect();
    SqlError::new(
        SqlState::UndefinedFunction,
        format!("function {name}({}) does not exist", list.join(", ")),
    )
    .with_hint(
        "No function matches the given name and argument types. You might need to add explicit type casts.",
    )
}

fn not_unique(name: &str, types: &[DataType]) -> SqlError {
    let list: Vec<String> = types.iter().map(|t| t.name()).collect();
    SqlError::new(
        SqlState::UndefinedFunction,
        format!("function {name}({}) is not unique", list.join(", ")),
    )
    .with_hint(
        "Could not choose a best candidate function. You might need to add explicit type casts.",
    )
}

fn implicit_ok(from: DataType, to: DataType) -> bool {
    super::coerce::can_coerce(from, to, super::CoercionKind::Implicit)
}

fn is_preferred(t: DataType) -> bool {
    matches!(t, F8 | T | TZ | IV | B)
}

/// PostgreSQL's `func_select_candidate` over `sigs` for `inputs`.
fn select(inputs: &[DataType], sigs: &[Sig]) -> Result<usize, bool> {
    let eq = |a: DataType, b: DataType| same_base(a, b);
    let mut cands: Vec<usize> = (0..sigs.len())
        .filter(|&i| {
            let p = sigs[i].0;
            p.len() == inputs.len() && p.iter().zip(inputs).all(|(p, a)| implicit_ok(*a, *p))
        })
        .collect();
    if let Some(&exact) = cands
        .iter()
        .find(|&&i| sigs[i].0.iter().zip(inputs).all(|(p, a)| eq(*p, *a)))
    {
        return Ok(exact);
    }
    let keep_max = |cands: &mut Vec<usize>, score: &dyn Fn(usize) -> usize| {
        let best = cands.iter().map(|&i| score(i)).max().unwrap_or(0);
        cands.retain(|&i| score(i) == best);
    };
    if cands.len() > 1 {
        keep_max(&mut cands, &|i| {
            sigs[i]
                .0
                .iter()
                .zip(inputs)
                .filter(|(p, a)| **a != DataType::Unknown && eq(**p, **a))
                .count()
        });
    }
    if cands.len() > 1 {
        keep_max(&mut cands, &|i| {
            sigs[i]
                .0
                .iter()
                .zip(inputs)
                .filter(|(p, a)| {
                    **a != DataType::Unknown
                        && (eq(**p, **a) || category(**p) == category(**a) && is_preferred(**p))
                })
                .count()
        });
    }
    if cands.len() > 1 && inputs.contains(&DataType::Unknown) {
        let mut resolved = true;
        let mut slots: Vec<(usize, Category, bool)> = Vec::new();
        for (pos, _) in inputs
            .iter()
            .enumerate()
            .filter(|(_, a)| **a == DataType::Unknown)
        {
            let mut slot: Option<(Category, bool)> = None;
            let mut conflict = false;
            for &i in &cands {
                let t = sigs[i].0[pos];
                let (c, pref) = (category(t), is_preferred(t));
                slot = match slot {
                    None => Some((c, pref)),
                    Some((sc, sp)) if sc == c => Some((sc, sp || pref)),
                    Some(_) if c == Category::String => Some((c, pref)),
                    Some(s) => {
                        conflict = true;
                        Some(s)
                    }
                };
            }
            match slot {
                Some((c, p)) if !(conflict && c != Category::String) => slots.push((pos, c, p)),
                _ => {
                    resolved = false;
                    break;
                }
            }
        }
        if resolved {
            cands.retain(|&i| {
                slots.iter().all(|(pos, c, pref)| {
                    let t = sigs[i].0[*pos];
                    category(t) == *c && (!pref || is_preferred(t))
                })
            });
        }
    }
    if cands.len() > 1 {
        let known: Vec<DataType> = inputs
            .iter()
            .copied()
            .filter(|t| *t != DataType::Unknown)
            .collect();
        if let Some(&k) = known.first()
            && known.iter().all(|t| *t == k)
        {
            let hits: Vec<usize> = cands
                .iter()
                .copied()
                .filter(|&i| sigs[i].0.iter().all(|p| eq(*p, k)))
                .collect();
            if hits.len() == 1 {
                return Ok(hits[0]);
            }
        }
    }
    match cands.as_slice() {
        [one] => Ok(*one),
        [] => Err(false),
        _ => Err(true),
    }
}

/// The built-in scalar functions: name → (function, signatures).
fn signatures(name: &str) -> Option<(Func, &'static [Sig])> {
    use Func as F;
    const ROUND: &[Sig] = &[(&[F8], F8), (&[N], N), (&[N, I4], N)];
    const FLOAT_OR_NUMERIC: &[Sig] = &[(&[F8], F8), (&[N], N)];
    const TEXT1: &[Sig] = &[(&[T], T)];
    const TRIM: &[Sig] = &[(&[T], T), (&[T, T], T)];
    const NOW: &[Sig] = &[(&[], TZ)];
    const EXTRACT: &[Sig] = &[(&[T, TS], N), (&[T, TZ], N), (&[T, IV], N), (&[T, D], N)];
    const DATE_PART: &[Sig] = &[
        (&[T, TS], F8),
        (&[T, TZ], F8),
        (&[T, IV], F8),
        (&[T, D], F8),
    ];
    Some(match name {
        "abs" => (
            F::Abs,
            &[
                (&[I2], I2),
                (&[I4], I4),
                (&[I8], I8),
                (&[N], N),
                (&[F4], F4),
                (&[F8], F8),
            ],
        ),
        "round" => (F::Round, ROUND),
        "trunc" => (F::Trunc, ROUND),
        "ceil" | "ceiling" => (F::Ceil, FLOAT_OR_NUMERIC),
        "floor" => (F::Floor, FLOAT_OR_NUMERIC),
        "sqrt" => (F::Sqrt, FLOAT_OR_NUMERIC),
        "sign" => (F::Sign, FLOAT_OR_NUMERIC),
        "power" | "pow" => (F::Power, &[(&[F8, F8], F8), (&[N, N], N)]),
        "mod" => (
            F::Mod,
            &[
                (&[I2, I2], I2),
                (&[I4, I4], I4),
                (&[I8, I8], I8),
                (&[N, N], N),
            ],
        ),
        "lower" => (F::Lower, TEXT1),
        "upper" => (F::Upper, TEXT1),
        "reverse" => (F::Reverse, TEXT1),
        "length" | "char_length" | "character_length" => (F::Length, &[(&[T], I4)]),
        "octet_length" => (F::OctetLength, &[(&[T], I4)]),
        "substr" | "substring" => (F::Substr, &[(&[T, I4], T), (&[T, I4, I4], T)]),
        "btrim" => (F::Btrim, TRIM),
        "ltrim" => (F::Ltrim, TRIM),
        "rtrim" => (F::Rtrim, TRIM),
        "replace" => (F::Replace, &[(&[T, T, T], T)]),
        "left" => (F::Left, &[(&[T, I4], T)]),
        "right" => (F::Right, &[(&[T, I4], T)]),
        "strpos" => (F::Strpos, &[(&[T, T], I4)]),
        "split_part" => (F::SplitPart, &[(&[T, T, I4], T)]),
        "starts_with" => (F::StartsWith, &[(&[T, T], B)]),
        "repeat" => (F::Repeat, &[(&[T, I4], T)]),
        "now"
        | "current_timestamp"
        | "statement_timestamp"
        | "transaction_timestamp"
        | "clock_timestamp" => (F::Now, NOW),
        "current_date" => (F::CurrentDate, &[(&[], D)]),
        "localtimestamp" => (F::LocalTimestamp, &[(&[], TS)]),
        "date_trunc" => (
            F::DateTrunc,
            &[(&[T, TS], TS), (&[T, TZ], TZ), (&[T, IV], IV)],
        ),
        "extract" => (F::Extract, EXTRACT),
        "date_part" => (F::DatePart, DATE_PART),
        "age" => (
            F::Age,
            &[(&[TS, TS], IV), (&[TZ, TZ], IV), (&[TS], IV), (&[TZ], IV)],
        ),
        "parse_ident" => (F::ParseIdent, &[(&[T], TA), (&[T, B], TA)]),
        _ => {
            let (c, sigs) = super::catalog_func::signatures(name)?;
            (F::Catalog(c), sigs)
        }
    })
}

/// Binds a call of built-in `name` on already bound arguments.
pub(crate) fn call(b: &mut Binder<'_>, name: &str, args: Vec<ScalarExpr>) -> SqlResult<ScalarExpr> {
    let types: Vec<DataType> = args.iter().map(ScalarExpr::ty).collect();
    if super::bind_array::ARRAY_FUNCTIONS.contains(&name) {
        return b.array_function(name, args);
    }
    match name {
        "pg_typeof" if args.len() == 1 => {
            // regtype output of the argument's type (no type modifier).
            let ty = match types[0] {
                DataType::Numeric(_) => DataType::Numeric(None),
                t => t,
            };
            return Ok(ScalarExpr::Literal {
                value: crate::sql::types::Datum::Text(ty.name()),
                ty: T,
            });
        }
        "json_build_object" | "json_build_array" | "to_json" => {
            let func = match name {
                "json_build_object" => Func::JsonBuildObject,
                "json_build_array" => Func::JsonBuildArray,
                _ if args.len() == 1 => Func::ToJson,
                _ => return Err(not_exist(name, &types)),
            };
            let mut out = Vec::with_capacity(args.len());
            for a in args {
                out.push(super::coerce::resolve_unknown(a, b.params)?);
            }
            return Ok(ScalarExpr::Function {
                func,
                args: out,
                ty: DataType::Json,
            });
        }
        "coalesce" | "greatest" | "least" => {
            if args.is_empty() {
                return Err(not_exist(name, &types));
            }
            let ctx = name.to_uppercase();
            let (args, ty) = coerce_all(args, &ctx, b.params)?;
            return Ok(match name {
                "coalesce" => ScalarExpr::Coalesce { args, ty },
                "greatest" => ScalarExpr::Function {
                    func: Func::Greatest,
                    args,
                    ty,
                },
                _ => ScalarExpr::Function {
                    func: Func::Least,
                    args,
                    ty,
                },
            });
        }
        "nullif" => {
            let [x, y]: [ScalarExpr; 2] = args.try_into().map_err(|_| not_exist(name, &types))?;
            let (x, y) = b.coerce_comparison(super::BinaryOp::Eq, x, y)?;
            let ty = x.ty();
            return Ok(ScalarExpr::Function {
                func: Func::NullIf,
                args: vec![x, y],
                ty,
            });
        }
        "concat" | "concat_ws" => {
            if name == "concat_ws" && args.is_empty() {
                return Err(not_exist(name, &types));
            }
            let mut out = Vec::with_capacity(args.len());
            for (i, a) in args.into_iter().enumerate() {
                let t = a.ty();
                out.push(
                    if t == DataType::Unknown || (name == "concat_ws" && i == 0) {
                        coerce_or(a, T, b.params, |_| not_exist(name, &types))?
                    } else {
                        a
                    },
                );
            }
            let func = if name == "concat" {
                Func::Concat
            } else {
                Func::ConcatWs
            };
            return Ok(ScalarExpr::Function {
                func,
                args: out,
                ty: T,
            });
        }
        _ => {}
    }
    let Some((func, sigs)) = signatures(name) else {
        return Err(not_exist(name, &types));
    };
    let chosen = match select(&types, sigs) {
        Ok(i) => i,
        Err(true) => return Err(not_unique(name, &types)),
        Err(false) => return Err(not_exist(name, &types)),
    };
    let (params, ty) = sigs[chosen];
    let mut out = Vec::with_capacity(args.len());
    for (a, p) in args.into_iter().zip(params) {
        out.push(coerce_or(a, *p, b.params, |_| not_exist(name, &types))?);
    }
    Ok(ScalarExpr::Function {
        func,
        args: out,
        ty,
    })
}

/// Binds a function call expression (scalar or window).
pub(crate) fn function(b: &mut Binder<'_>, f: &ast::Function) -> SqlResult<ScalarExpr> {
    let parts = &f.name.0;
    let name = match parts.as_slice() {
        [n] => n.as_ident().map(fold_ident),
        [schema, n]
            if schema
                .as_ident()
                .is_some_and(|s| fold_ident(s) == "pg_catalog") =>
        {
            n.as_ident().map(fold_ident)
        }
        _ => None,
    }
    .ok_or_else(|| not_exist(&f.name.to_string(), &[]))?;
    if !f.within_group.is_empty() {
        return Err(SqlError::unsupported("WITHIN GROUP"));
    }
    let mut star = false;
    let mut distinct = false;
    let mut arg_exprs: Vec<&Expr> = Vec::new();
    match &f.args {
        ast::FunctionArguments::None => {}
        ast::FunctionArguments::Subquery(q) if name == "array" && f.over.is_none() => {
            return b.subquery(q, super::SubqueryKind::Array);
        }
        ast::FunctionArguments::Subquery(_) => {
            return Err(SqlError::unsupported("a subquery as a function argument"));
        }
        ast::FunctionArguments::List(list) => {
            distinct = matches!(
                list.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            );
            if !list.clauses.is_empty() {
                return Err(SqlError::unsupported(format!(
                    "function argument clauses in {f}"
                )));
            }
            for a in &list.args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => arg_exprs.push(e),
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)
                        if name == "count" && list.args.len() == 1 =>
                    {
                        star = true
                    }
                    _ => return Err(SqlError::unsupported(format!("argument form in {f}"))),
                }
            }
        }
    }
    if let Some(over) = &f.over {
        if distinct {
            return Err(
                SqlError::unsupported("DISTINCT is not implemented for window functions")
                    .with_detail(""),
            );
        }
        if f.filter.is_some() {
            return Err(SqlError::unsupported("FILTER in window functions"));
        }
        let args = arg_exprs
            .iter()
            .map(|e| b.expr(e))
            .collect::<SqlResult<Vec<_>>>()?;
        return window::window(b, &name, star, args, over);
    }
    // Aggregates need a GROUP BY context (42803 here).
    if aggregate_class(&name).is_some() {
        return Err(SqlError::new(
            SqlState::GroupingError,
            "aggregate functions are not allowed in this context",
        ));
    }
    if window::window_func(&name).is_some() {
        return Err(SqlError::new(
            SqlState::WrongObjectType,
            format!("window function {name} requires an OVER clause"),
        ));
    }
    if f.filter.is_some() || distinct {
        return Err(SqlError::syntax(format!(
            "DISTINCT or FILTER specified, but {name} is not an aggregate function"
        )));
    }
    let args = arg_exprs
        .iter()
        .map(|e| b.expr(e))
        .collect::<SqlResult<Vec<_>>>()?;
    call(b, &name, args)
}
