//! Order-sensitive aggregates over small relations: `string_agg`,
//! `array_agg` and `json_agg`, with `DISTINCT` and `ORDER BY` inside the
//! call, as PostgreSQL computes them (rows collected, sorted, then folded).

use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::scalar::{EvalContext, compare_datums};
use crate::sql::types::{DataType, Datum};
use std::cmp::Ordering;

/// One `ORDER BY` key inside an aggregate call: descending, NULLs first.
pub type SortKey = (bool, bool);

/// The rows one collecting aggregate saw in one group.
#[derive(Debug, Default)]
pub struct Collected {
    /// (sort keys, value, delimiter) per row, in input order.
    rows: Vec<(Vec<Datum>, Datum, Option<Datum>)>,
}

impl Collected {
    /// Adds one row.
    pub fn push(&mut self, keys: Vec<Datum>, value: Datum, delim: Option<Datum>) {
        self.rows.push((keys, value, delim));
    }

    /// The aggregate's value: `name` over the rows sorted by `order`
    /// (`DISTINCT` keeps the first of equal values, in value order when no
    /// `ORDER BY` is given); `arg_ty` is the argument's type.
    pub fn finish(
        mut self,
        name: &str,
        distinct: bool,
        order: &[SortKey],
        arg_ty: DataType,
        ctx: &EvalContext,
    ) -> SqlResult<Datum> {
        if name == "string_agg" {
            self.rows.retain(|(_, v, _)| !v.is_null());
        }
        let by_keys = |a: &(Vec<Datum>, Datum, Option<Datum>),
                       b: &(Vec<Datum>, Datum, Option<Datum>)| {
            for ((ka, kb), (desc, nulls_first)) in a.0.iter().zip(&b.0).zip(order) {
                let o = match (ka.is_null(), kb.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => nulls_first_order(*nulls_first),
                    (false, true) => nulls_first_order(*nulls_first).reverse(),
                    _ if *desc => compare_datums(ka, kb).reverse(),
                    _ => compare_datums(ka, kb),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        };
        if distinct {
            if order.is_empty() {
                self.rows.sort_by(|a, b| compare_datums(&a.1, &b.1));
            } else {
                self.rows.sort_by(by_keys);
            }
            self.rows
                .dedup_by(|b, a| compare_datums(&a.1, &b.1) == Ordering::Equal);
        } else if !order.is_empty() {
            self.rows.sort_by(by_keys);
        }
        if self.rows.is_empty() {
            return Ok(Datum::Null);
        }
        Ok(match name {
            "string_agg" => {
                let mut out = String::new();
                for (i, (_, v, d)) in self.rows.iter().enumerate() {
                    if i > 0
                        && let Some(Datum::Text(d)) = d
                    {
                        out.push_str(d);
                    }
                    if let Datum::Text(s) = v {
                        out.push_str(s);
                    }
                }
                Datum::Text(out)
            }
            "array_agg" => {
                let ty = arg_ty.array_of().ok_or_else(|| {
                    SqlError::unsupported(format!("array_agg of type {}", arg_ty.name()))
                })?;
                Datum::from_items(ty, self.rows.into_iter().map(|(_, v, _)| v).collect())
            }
            _ => {
                let mut out = String::from("[");
                // PostgreSQL breaks the line before each structured value
                // but the first.
                let structured = arg_ty.is_array();
                for (i, (_, v, _)) in self.rows.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                        if structured && !v.is_null() {
                            out.push_str("\n ");
                        }
                    }
                    crate::sql::scalar::value_to_json(v, arg_ty, ctx, &mut out);
                }
                out.push(']');
                Datum::Text(out)
            }
        })
    }
}

fn nulls_first_order(nulls_first: bool) -> Ordering {
    if nulls_first {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// The result type of collecting aggregate `name` over an argument of type
/// `arg` (with `delim`, the delimiter's type, for `string_agg`).
pub fn result_type(name: &str, arg: DataType, delim: Option<DataType>) -> SqlResult<DataType> {
    let no_function = || {
        let mut types = vec![arg.name()];
        types.extend(delim.map(DataType::name));
        SqlError::new(
            SqlState::UndefinedFunction,
            format!("function {name}({}) does not exist", types.join(", ")),
        )
        .with_hint(
            "No function matches the given name and argument types. You might need to add explicit type casts.",
        )
    };
    match name {
        "string_agg" => match (arg, delim) {
            (DataType::Text | DataType::Unknown, Some(DataType::Text | DataType::Unknown)) => {
                Ok(DataType::Text)
            }
            _ => Err(no_function()),
        },
        "array_agg" if delim.is_none() => match arg {
            DataType::Unknown => Ok(DataType::TextArray),
            t if t.is_array() => Err(SqlError::unsupported("array_agg of arrays")),
            t => t.array_of().ok_or_else(no_function),
        },
        "json_agg" if delim.is_none() => Ok(DataType::Json),
        _ => Err(no_function()),
    }
}
