//! Set-returning functions, shared by FROM ([`super::table_func`]) and the
//! select list ([`super::project_set`]): `unnest(anyarray)`,
//! `generate_series(int, int [, int])`, `generate_subscripts(anyarray, int
//! [, bool])` and `information_schema._pg_expandarray(anyarray)` (columns
//! `x`, the element, and `n`, its 1-based position; pgjdbc reads primary
//! keys through it).
//!
//! Each call gets its argument values and types and returns its rows,
//! bounded by [`RELATION_ROWS_MAX`].

use super::error::{SqlError, SqlResult, SqlState};
use super::relation::{RELATION_ROWS_MAX, check_rows};
use super::types::{DataType, Datum};

/// The rows of one call.
#[derive(Debug)]
pub(crate) struct SrfRows {
    /// Output columns: one for a scalar result (named by the caller), or
    /// the fields of a composite result.
    pub(crate) columns: Vec<(Option<&'static str>, DataType)>,
    /// The rows.
    pub(crate) rows: Vec<Vec<Datum>>,
}

/// Whether `name` (unqualified, folded) is a set-returning function.
pub(crate) fn is_srf(schema: Option<&str>, name: &str) -> bool {
    match schema {
        None | Some("pg_catalog") => {
            matches!(
                name,
                "unnest" | "generate_series" | "generate_subscripts" | "_pg_expandarray"
            ) && (name != "_pg_expandarray" || schema.is_none())
        }
        Some("information_schema") => name == "_pg_expandarray",
        _ => false,
    }
}

/// The field names and types of a composite-returning function, given its
/// argument types (None for scalar results).
pub(crate) fn composite_fields(
    name: &str,
    args: &[DataType],
) -> Option<Vec<(&'static str, DataType)>> {
    match (name, args) {
        ("_pg_expandarray", [ty]) => Some(vec![
            ("x", ty.element().unwrap_or(DataType::Text)),
            ("n", DataType::Int4),
        ]),
        _ => None,
    }
}

/// Calls a set-returning function; `None` when no SRF of that name takes
/// these argument types.
pub(crate) fn call(name: &str, args: &[(Datum, DataType)]) -> SqlResult<Option<SrfRows>> {
    let types: Vec<DataType> = args.iter().map(|(_, t)| *t).collect();
    let one = |ty: DataType, rows: Vec<Vec<Datum>>| {
        Ok(Some(SrfRows {
            columns: vec![(None, ty)],
            rows,
        }))
    };
    match (name, args) {
        ("unnest", [(d, ty)]) => {
            let elem = match ty {
                DataType::Unknown => DataType::Text,
                t => match t.element() {
                    Some(e) => e,
                    None => return Ok(None),
                },
            };
            let items = match d {
                Datum::Null => Vec::new(),
                Datum::Text(s) if *ty == DataType::Unknown => super::scalar::parse_text_array(s)?
                    .into_iter()
                    .map(|v| v.map_or(Datum::Null, Datum::Text))
                    .collect(),
                other => other.array_items().unwrap_or_default(),
            };
            check_rows(items.len())?;
            one(elem, items.into_iter().map(|v| vec![v]).collect())
        }
        ("generate_series", [start, stop, step @ ..]) if step.len() <= 1 => {
            if !types.iter().all(|t| t.is_integer()) {
                return Ok(None);
            }
            let ty = if types.contains(&DataType::Int8) {
                DataType::Int8
            } else {
                DataType::Int4
            };
            let step = match step.first() {
                Some((d, _)) => int(d),
                None => Some(1),
            };
            match (int(&start.0), int(&stop.0), step) {
                (_, _, Some(0)) => Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    "step size cannot equal zero",
                )),
                (Some(a), Some(b), Some(s)) => one(ty, series(a, b, s)?),
                _ => one(ty, Vec::new()),
            }
        }
        ("generate_subscripts", [(arr, ty), (dim, dt), rest @ ..])
            if ty.is_array() && dt.is_integer() && rest.len() <= 1 =>
        {
            let reverse = matches!(rest.first(), Some((Datum::Bool(true), _)));
            let len = arr.array_items().map_or(0, |v| v.len()) as i64;
            if int(dim) != Some(1) || len == 0 {
                return one(DataType::Int4, Vec::new());
            }
            let lo = ty.array_lower_bound();
            let mut rows = series(lo, lo + len - 1, 1)?;
            if reverse {
                rows.reverse();
            }
            one(DataType::Int4, rows)
        }
        ("_pg_expandarray", [(arr, ty)]) if ty.is_array() => {
            let Some(fields) = composite_fields(name, &types) else {
                return Ok(None);
            };
            let items = arr.array_items().unwrap_or_default();
            check_rows(items.len())?;
            let rows = items
                .into_iter()
                .enumerate()
                .map(|(i, x)| vec![x, Datum::Int(i as i64 + 1)])
                .collect();
            Ok(Some(SrfRows {
                columns: fields.into_iter().map(|(n, t)| (Some(n), t)).collect(),
                rows,
            }))
        }
        _ => Ok(None),
    }
}

fn int(d: &Datum) -> Option<i64> {
    match d {
        Datum::Int(i) => Some(*i),
        _ => None,
    }
}

/// `start, start + step, …` up to `stop` (one column).
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
