//! One aggregate call's running state over rows, fed one value at a time,
//! with PostgreSQL's result types and NULL rules: the aggregates of small
//! relations ([`super::aggregate_relation`]) and the aggregates of an
//! audience table that are computed on its rows ([`super::on_rows`]).

use super::collect::{self, Collected, SortKey};
use super::{AggClass, RawAgg, aggregate_class};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::scalar::{EvalContext, compare_datums};
use crate::sql::types::{DataType, Datum};
use std::cmp::Ordering;

/// PostgreSQL's result type of `raw` over an argument of type `arg`
/// (`None` for `*`) with second argument `extra` (`string_agg`'s
/// delimiter); 42883 when no such aggregate exists.
pub fn result_type(
    raw: &RawAgg,
    arg: Option<DataType>,
    extra: Option<DataType>,
) -> SqlResult<DataType> {
    if aggregate_class(&raw.name) == Some(AggClass::Collecting) {
        return collect::result_type(&raw.name, arg.unwrap_or(DataType::Unknown), extra);
    }
    Ok(match (raw.name.as_str(), arg) {
        ("count", _) => DataType::Int8,
        ("sum", Some(DataType::Int2 | DataType::Int4)) => DataType::Int8,
        ("sum" | "avg", Some(DataType::Int8 | DataType::Numeric(_)))
        | ("avg", Some(DataType::Int2 | DataType::Int4)) => DataType::Numeric(None),
        ("sum", Some(DataType::Float4)) => DataType::Float4,
        ("sum" | "avg", Some(DataType::Float8 | DataType::Float4)) => DataType::Float8,
        ("min" | "max", Some(t)) if t != DataType::TextArray && t != DataType::Json => t,
        ("bool_and" | "bool_or" | "every", Some(DataType::Bool)) => DataType::Bool,
        (name, t) => {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!(
                    "function {name}({}) does not exist",
                    t.map(|t| t.name()).unwrap_or_else(|| "*".into())
                ),
            ));
        }
    })
}

/// The folded value of a non-collecting aggregate.
#[derive(Debug)]
enum State {
    Count(u64),
    SumInt(i128, u64),
    SumNumeric(Decimal, u64),
    SumFloat(f64, u64),
    Extreme(Option<Datum>),
    Bools(bool, bool),
    Collect(Collected),
}

/// The running state of one aggregate call in one group.
#[derive(Debug)]
pub struct Accumulator {
    state: State,
    /// With `DISTINCT` (other than the collecting aggregates, which sort
    /// themselves): the non-NULL values, folded when the group ends.
    distinct: Option<Vec<Datum>>,
}

impl Accumulator {
    /// A fresh state for `raw` whose result type is `ty`.
    pub fn new(raw: &RawAgg, ty: DataType) -> Accumulator {
        let state = match (raw.name.as_str(), ty) {
            (name, _) if aggregate_class(name) == Some(AggClass::Collecting) => {
                State::Collect(Collected::default())
            }
            ("count", _) => State::Count(0),
            ("sum" | "avg", DataType::Float4 | DataType::Float8) => State::SumFloat(0.0, 0),
            ("sum", DataType::Int8) => State::SumInt(0, 0),
            ("sum" | "avg", _) => State::SumNumeric(Decimal::new(0, 0), 0),
            ("min" | "max", _) => State::Extreme(None),
            _ => State::Bools(false, false),
        };
        let distinct = (raw.distinct && !matches!(state, State::Collect(_))).then(Vec::new);
        Accumulator { state, distinct }
    }

    /// Adds one row: the argument's value (`TRUE` for `*`), the call's
    /// `ORDER BY` keys and its delimiter.
    pub fn add(
        &mut self,
        raw: &RawAgg,
        v: Datum,
        keys: Vec<Datum>,
        delim: Option<Datum>,
    ) -> SqlResult<()> {
        if let State::Collect(c) = &mut self.state {
            c.push(keys, v, delim);
            return Ok(());
        }
        match &mut self.distinct {
            Some(seen) if !v.is_null() => {
                seen.push(v);
                Ok(())
            }
            Some(_) => Ok(()),
            None => fold(&mut self.state, raw, v),
        }
    }

    /// The aggregate's value; `ty` is its result type and `arg_ty` its
    /// argument's type.
    pub fn finish(
        mut self,
        raw: &RawAgg,
        ty: DataType,
        arg_ty: DataType,
        ctx: &EvalContext,
    ) -> SqlResult<Datum> {
        if let Some(mut seen) = self.distinct.take() {
            seen.sort_by(compare_datums);
            seen.dedup_by(|a, b| compare_datums(a, b) == Ordering::Equal);
            for v in seen {
                fold(&mut self.state, raw, v)?;
            }
        }
        Ok(match self.state {
            State::Collect(c) => {
                let order: Vec<SortKey> = raw.order_by.iter().map(|(_, d, n)| (*d, *n)).collect();
                c.finish(&raw.name, raw.distinct, &order, arg_ty, ctx)?
            }
            State::Count(c) => Datum::Int(c as i64),
            State::SumInt(_, 0) | State::SumNumeric(_, 0) | State::SumFloat(_, 0) => Datum::Null,
            State::SumInt(s, _) if ty == DataType::Int8 => {
                Datum::Int(i64::try_from(s).map_err(|_| {
                    SqlError::new(SqlState::NumericValueOutOfRange, "bigint out of range")
                })?)
            }
            State::SumInt(s, _) => Datum::Numeric(Decimal::new(s, 0)),
            State::SumNumeric(s, c) if raw.name == "avg" => {
                Datum::Numeric(s.div(&Decimal::from_i64(c as i64))?)
            }
            State::SumNumeric(s, _) => Datum::Numeric(s),
            State::SumFloat(s, c) if raw.name == "avg" => Datum::Float(s / c as f64),
            State::SumFloat(s, _) => Datum::Float(s),
            State::Extreme(v) => v.unwrap_or(Datum::Null),
            State::Bools(false, false) => Datum::Null,
            State::Bools(t, f) => Datum::Bool(if raw.name == "bool_or" { t } else { !f }),
        })
    }
}

/// Folds one value into a non-collecting state (NULLs are skipped).
fn fold(state: &mut State, raw: &RawAgg, v: Datum) -> SqlResult<()> {
    if v.is_null() {
        return Ok(());
    }
    match state {
        State::Count(c) => *c += 1,
        State::SumInt(s, c) => {
            if let Datum::Int(i) = v {
                *s += i128::from(i);
                *c += 1;
            }
        }
        State::SumNumeric(s, c) => {
            let d = match v {
                Datum::Int(i) => Decimal::from_i64(i),
                Datum::Numeric(d) => d,
                _ => return Ok(()),
            };
            *s = s.add(&d)?;
            *c += 1;
        }
        State::SumFloat(s, c) => {
            if let Datum::Float(f) = v {
                *s += f;
                *c += 1;
            }
        }
        State::Extreme(cur) => {
            let replace = match cur {
                None => true,
                Some(c) => {
                    let ord = compare_datums(&v, c);
                    if raw.name == "min" {
                        ord.is_lt()
                    } else {
                        ord.is_gt()
                    }
                }
            };
            if replace {
                *cur = Some(v);
            }
        }
        State::Bools(t, f) => {
            if v == Datum::Bool(true) {
                *t = true;
            } else {
                *f = true;
            }
        }
        State::Collect(_) => {}
    }
    Ok(())
}
