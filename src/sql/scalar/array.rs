//! Arrays of any element type: PostgreSQL's text input and output
//! (`array_in`/`array_out`, `int2vector`'s space-separated form), element-wise
//! casts between array types, subscripts and slices (`a[i]`, `a[i:j]`), and
//! the array functions (`array_length`, `array_to_string`,
//! `string_to_array`, …).

use super::EvalContext;
use super::cast::{cast, parse_text};
use super::format::{compare_datums, format_text};
use super::text::{format_text_array, parse_text_array};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::types::{DataType, Datum};
use std::cmp::Ordering;

/// The text output of an array value of type `ty`: `{1,2,NULL}`, or
/// `1 2` for `int2vector`.
pub(crate) fn format_array(items: &[Datum], ty: DataType, ctx: &EvalContext) -> String {
    let elem = ty.element().unwrap_or(DataType::Text);
    let texts: Vec<Option<String>> = items.iter().map(|d| format_text(d, elem, ctx)).collect();
    if ty.is_vector() {
        return texts
            .into_iter()
            .map(|t| t.unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ");
    }
    format_text_array(&texts)
}

/// Parses the text form of an array of type `ty` (each element through the
/// element type's input function).
pub(crate) fn parse_array(s: &str, ty: DataType, ctx: &EvalContext) -> SqlResult<Datum> {
    let elem = ty.element().unwrap_or(DataType::Text);
    if ty.is_vector() {
        let items = s
            .split_ascii_whitespace()
            .map(|p| parse_text(p, elem, ctx))
            .collect::<SqlResult<Vec<_>>>()?;
        return Ok(Datum::Array(items));
    }
    let items = parse_text_array(s)?
        .into_iter()
        .map(|e| match e {
            None => Ok(Datum::Null),
            Some(t) => parse_text(&t, elem, ctx),
        })
        .collect::<SqlResult<Vec<_>>>()?;
    Ok(Datum::from_items(ty, items))
}

/// Casts array `d` of type `from` to array type `to`, element by element.
pub(crate) fn cast_array(
    d: &Datum,
    from: DataType,
    to: DataType,
    ctx: &EvalContext,
) -> SqlResult<Datum> {
    let (Some(fe), Some(te)) = (from.element(), to.element()) else {
        return Err(SqlError::internal("array cast between non-array types"));
    };
    let items = d
        .array_items()
        .ok_or_else(|| SqlError::internal("array cast of a non-array value"))?;
    let out = items
        .into_iter()
        .map(|x| cast(x, fe, te, ctx))
        .collect::<SqlResult<Vec<_>>>()?;
    Ok(Datum::from_items(to, out))
}

/// PostgreSQL's array order: element by element (NULL elements after any
/// value), then the shorter array first.
pub(crate) fn compare_arrays(x: &[Datum], y: &[Datum]) -> Ordering {
    for (a, b) in x.iter().zip(y) {
        let o = compare_datums(a, b);
        if o != Ordering::Equal {
            return o;
        }
    }
    x.len().cmp(&y.len())
}

/// `a[i]` of an array of type `ty`: NULL outside the bounds.
pub(crate) fn subscript(a: &Datum, ty: DataType, i: &Datum) -> SqlResult<Datum> {
    let (Some(items), Datum::Int(i)) = (a.array_items(), i) else {
        return Ok(Datum::Null);
    };
    let pos = i - ty.array_lower_bound();
    Ok(usize::try_from(pos)
        .ok()
        .and_then(|p| items.get(p).cloned())
        .unwrap_or(Datum::Null))
}

/// `a[lo:hi]` (bounds optional) of an array of type `ty`; the result is a
/// 1-based array of the same element type (empty when nothing overlaps).
pub(crate) fn slice(
    a: &Datum,
    ty: DataType,
    lo: Option<&Datum>,
    hi: Option<&Datum>,
    result: DataType,
) -> SqlResult<Datum> {
    let Some(items) = a.array_items() else {
        return Ok(Datum::Null);
    };
    let bound = |d: Option<&Datum>, dflt: i64| -> Option<i64> {
        match d {
            None => Some(dflt),
            Some(Datum::Int(v)) => Some(*v),
            Some(_) => None,
        }
    };
    let lower = ty.array_lower_bound();
    let upper = lower + items.len() as i64 - 1;
    let (Some(l), Some(h)) = (bound(lo, lower), bound(hi, upper)) else {
        return Ok(Datum::Null);
    };
    let (l, h) = (l.max(lower), h.min(upper));
    let out = if l > h || items.is_empty() {
        Vec::new()
    } else {
        items[(l - lower) as usize..=(h - lower) as usize].to_vec()
    };
    Ok(Datum::from_items(result, out))
}

fn items_of(d: &Datum) -> SqlResult<Vec<Datum>> {
    d.array_items()
        .ok_or_else(|| SqlError::internal("expected an array argument"))
}

fn int_arg(d: &Datum) -> SqlResult<i64> {
    match d {
        Datum::Int(v) => Ok(*v),
        _ => Err(SqlError::internal("expected an integer argument")),
    }
}

/// `array_length`, `array_lower`, `array_upper` (`which` is the function)
/// of dimension `dim`: NULL for an empty array or another dimension.
pub(crate) fn dimension(
    which: super::Func,
    a: &Datum,
    ty: DataType,
    dim: &Datum,
) -> SqlResult<Datum> {
    let (items, dim) = (items_of(a)?, int_arg(dim)?);
    if dim != 1 || items.is_empty() {
        return Ok(Datum::Null);
    }
    let lower = ty.array_lower_bound();
    let n = items.len() as i64;
    Ok(Datum::Int(match which {
        super::Func::ArrayLower => lower,
        super::Func::ArrayUpper => lower + n - 1,
        _ => n,
    }))
}

/// `array_to_string(a, sep [, null_string])`: elements in their text form;
/// NULL elements are skipped unless `null_as` is given.
pub(crate) fn to_string(
    a: &Datum,
    ty: DataType,
    sep: &str,
    null_as: Option<&str>,
    ctx: &EvalContext,
) -> SqlResult<Datum> {
    let elem = ty.element().unwrap_or(DataType::Text);
    let parts: Vec<String> = items_of(a)?
        .iter()
        .filter_map(|e| format_text(e, elem, ctx).or_else(|| null_as.map(str::to_owned)))
        .collect();
    Ok(Datum::Text(parts.join(sep)))
}

/// `string_to_array(s, delim [, null_string])`: a NULL delimiter splits
/// into characters, an empty one gives the whole string; fields equal to
/// `null_string` become NULL. An empty input is an empty array.
pub(crate) fn string_to_array(s: &str, delim: Option<&str>, null_as: Option<&str>) -> Datum {
    let fields: Vec<String> = if s.is_empty() {
        Vec::new()
    } else {
        match delim {
            None => s.chars().map(String::from).collect(),
            Some("") => vec![s.to_owned()],
            Some(d) => s.split(d).map(str::to_owned).collect(),
        }
    };
    Datum::TextArray(
        fields
            .into_iter()
            .map(|f| {
                if Some(f.as_str()) == null_as {
                    None
                } else {
                    Some(f)
                }
            })
            .collect(),
    )
}

/// `array_append`, `array_cat`, `array_position` over any element type.
pub(crate) fn combine(which: super::Func, a: &Datum, b: &Datum, ty: DataType) -> SqlResult<Datum> {
    match which {
        super::Func::ArrayAppend => {
            let mut v = items_of(a)?;
            v.push(b.clone());
            Ok(Datum::from_items(ty, v))
        }
        super::Func::ArrayCat => {
            let mut v = items_of(a)?;
            v.extend(items_of(b)?);
            Ok(Datum::from_items(ty, v))
        }
        _ => {
            let pos = items_of(a)?.iter().position(|e| {
                !e.is_null() && !b.is_null() && compare_datums(e, b) == Ordering::Equal
            });
            Ok(pos.map_or(Datum::Null, |i| Datum::Int(i as i64 + 1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::types::ArrayElem;

    #[test]
    fn int_arrays_round_trip_through_text() {
        let ctx = EvalContext::default();
        let ty = DataType::Array(ArrayElem::Int4);
        let d = parse_array("{1, 2,NULL}", ty, &ctx).unwrap();
        assert_eq!(
            d,
            Datum::Array(vec![Datum::Int(1), Datum::Int(2), Datum::Null])
        );
        assert_eq!(
            format_array(&d.array_items().unwrap(), ty, &ctx),
            "{1,2,NULL}"
        );
        let v = parse_array("1 2", DataType::Int2Vector, &ctx).unwrap();
        assert_eq!(
            format_array(&v.array_items().unwrap(), DataType::Int2Vector, &ctx),
            "1 2"
        );
        assert!(parse_array("{1,x}", ty, &ctx).is_err());
    }

    #[test]
    fn subscripts_and_slices_follow_the_lower_bound() {
        let a = Datum::Array(vec![Datum::Int(10), Datum::Int(20), Datum::Int(30)]);
        let ty = DataType::Array(ArrayElem::Int4);
        assert_eq!(subscript(&a, ty, &Datum::Int(1)).unwrap(), Datum::Int(10));
        assert_eq!(subscript(&a, ty, &Datum::Int(0)).unwrap(), Datum::Null);
        assert_eq!(
            subscript(&a, DataType::Int2Vector, &Datum::Int(0)).unwrap(),
            Datum::Int(10)
        );
        assert_eq!(
            slice(&a, ty, Some(&Datum::Int(2)), None, ty).unwrap(),
            Datum::Array(vec![Datum::Int(20), Datum::Int(30)])
        );
        assert_eq!(
            slice(&a, ty, Some(&Datum::Int(3)), Some(&Datum::Int(2)), ty).unwrap(),
            Datum::Array(vec![])
        );
    }

    #[test]
    fn string_to_array_matches_postgres() {
        let s = |d: &Datum| match d {
            Datum::TextArray(v) => v.clone(),
            _ => panic!("not text[]"),
        };
        assert_eq!(
            s(&string_to_array("a,,b", Some(","), Some(""))),
            vec![Some("a".into()), None, Some("b".into())]
        );
        assert_eq!(s(&string_to_array("ab", None, None)).len(), 2);
        assert!(s(&string_to_array("", Some(","), None)).is_empty());
    }
}
