//! Evaluation of built-in scalar functions on evaluated arguments.

use super::cast::{fit_int, local_to_utc, utc_to_local};
use super::datetime::{self, DAY_MICROS};
use super::format::compare_datums;
use super::ops::{as_f64, float_pow, numeric_pow};
use super::{EvalContext, Func, array, format_text};
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};
use std::cmp::Ordering;

fn text(d: &Datum) -> SqlResult<&str> {
    match d {
        Datum::Text(s) => Ok(s),
        _ => Err(SqlError::internal("expected a text argument")),
    }
}

fn int(d: &Datum) -> SqlResult<i64> {
    match d {
        Datum::Int(v) => Ok(*v),
        _ => Err(SqlError::internal("expected an integer argument")),
    }
}

fn t0(types: &[DataType]) -> DataType {
    types.first().copied().unwrap_or(DataType::Unknown)
}

fn numeric(d: &Datum) -> SqlResult<Decimal> {
    match d {
        Datum::Numeric(n) => Ok(*n),
        Datum::Int(v) => Ok(Decimal::from_i64(*v)),
        _ => Err(SqlError::internal("expected a numeric argument")),
    }
}

fn float(d: &Datum) -> SqlResult<f64> {
    as_f64(d).ok_or_else(|| SqlError::internal("expected a float argument"))
}

fn scale_arg(d: Option<&Datum>) -> SqlResult<i32> {
    match d {
        None => Ok(0),
        Some(d) => Ok(int(d)?.clamp(-2000, 2000) as i32),
    }
}

fn invalid(msg: impl Into<String>) -> SqlError {
    SqlError::new(SqlState::InvalidParameterValue, msg)
}

/// Evaluates `func` on `args` (with their bound `types`) to a value of `ty`.
/// Functions are strict (NULL in, NULL out) except the variadic ones.
pub(crate) fn call(
    func: Func,
    args: &[Datum],
    types: &[DataType],
    ty: DataType,
    ctx: &EvalContext,
) -> SqlResult<Datum> {
    use Func as F;
    match func {
        F::Greatest | F::Least => {
            let want = if func == F::Greatest {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            let mut best: Option<&Datum> = None;
            for a in args.iter().filter(|a| !a.is_null()) {
                if best.is_none_or(|b| compare_datums(a, b) == want) {
                    best = Some(a);
                }
            }
            return Ok(best.cloned().unwrap_or(Datum::Null));
        }
        F::Concat | F::ConcatWs => {
            let (sep, rest) = if func == F::ConcatWs {
                match args.first() {
                    Some(Datum::Null) | None => return Ok(Datum::Null),
                    Some(s) => (text(s)?.to_owned(), &args[1..]),
                }
            } else {
                (String::new(), args)
            };
            let rest_types = &types[types.len() - rest.len()..];
            let parts: Vec<String> = rest
                .iter()
                .zip(rest_types)
                .filter_map(|(a, t)| format_text(a, *t, ctx))
                .collect();
            return Ok(Datum::Text(parts.join(&sep)));
        }
        F::NullIf => {
            let (a, b) = (&args[0], &args[1]);
            let equal = !a.is_null() && !b.is_null() && compare_datums(a, b) == Ordering::Equal;
            return Ok(if equal { Datum::Null } else { a.clone() });
        }
        F::Now => return Ok(Datum::TimestampTz(ctx.now_micros)),
        F::CurrentDate => {
            let local = utc_to_local(ctx.now_micros, ctx)?;
            return Ok(Datum::Date(local.div_euclid(DAY_MICROS)));
        }
        F::LocalTimestamp => return Ok(Datum::Timestamp(utc_to_local(ctx.now_micros, ctx)?)),
        F::Catalog(c) => return super::catalog_func::call(c, args, ctx),
        F::JsonBuildObject => return super::json::build_object(args, types, ctx),
        F::JsonBuildArray => return Ok(super::json::build_array(args, types, ctx)),
        F::StringToArray => {
            let opt = |i: usize| args.get(i).and_then(|d| text(d).ok());
            return Ok(match &args[0] {
                Datum::Null => Datum::Null,
                s => array::string_to_array(text(s)?, opt(1), opt(2)),
            });
        }
        F::ArrayToString if args.len() == 3 && args[2].is_null() => {
            if args[0].is_null() || args[1].is_null() {
                return Ok(Datum::Null);
            }
            return array::to_string(&args[0], t0(types), text(&args[1])?, None, ctx);
        }
        F::ArrayAppend | F::ArrayCat | F::ArrayPosition => {
            return match (func, &args[0], &args[1]) {
                (F::ArrayCat, Datum::Null, b) => Ok(b.clone()),
                (F::ArrayCat, a, Datum::Null) => Ok(a.clone()),
                (F::ArrayAppend, Datum::Null, b) => Ok(Datum::from_items(ty, vec![b.clone()])),
                (F::ArrayPosition, Datum::Null, _) => Ok(Datum::Null),
                (_, a, b) => array::combine(func, a, b, ty),
            };
        }
        _ => {}
    }
    if args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let a0 = args.first().unwrap_or(&Datum::Null);
    let t0 = types.first().copied().unwrap_or(DataType::Unknown);
    Ok(match func {
        F::Abs => match a0 {
            Datum::Int(v) => Datum::Int(fit_int(i128::from(*v).abs(), t0)?),
            Datum::Numeric(n) => Datum::Numeric(n.abs()),
            Datum::Float(f) => Datum::Float(f.abs()),
            _ => return Err(SqlError::internal("abs of a non-number")),
        },
        F::Round | F::Trunc | F::Ceil | F::Floor => match ty {
            DataType::Float8 => {
                let f = float(a0)?;
                Datum::Float(match func {
                    F::Round => f.round_ties_even(),
                    F::Trunc => f.trunc(),
                    F::Ceil => f.ceil(),
                    _ => f.floor(),
                })
            }
            _ => {
                let n = numeric(a0)?;
                let s = scale_arg(args.get(1))?;
                Datum::Numeric(match func {
                    F::Round => n.round(s)?,
                    F::Trunc => n.trunc(s)?,
                    F::Ceil => n.ceil()?,
                    _ => n.floor()?,
                })
            }
        },
        F::Sign => match ty {
            DataType::Float8 => Datum::Float(match float(a0)? {
                f if f > 0.0 => 1.0,
                f if f < 0.0 => -1.0,
                _ => 0.0,
            }),
            _ => Datum::Numeric(Decimal::from_i64(numeric(a0)?.mantissa.signum() as i64)),
        },
        F::Sqrt => match ty {
            DataType::Float8 => {
                let f = float(a0)?;
                if f < 0.0 {
                    return Err(invalid("cannot take square root of a negative number"));
                }
                Datum::Float(f.sqrt())
            }
            _ => Datum::Numeric(numeric_sqrt(&numeric(a0)?)?),
        },
        F::Power => match ty {
            DataType::Float8 => Datum::Float(float_pow(float(a0)?, float(&args[1])?)?),
            _ => Datum::Numeric(numeric_pow(&numeric(a0)?, &numeric(&args[1])?)?),
        },
        F::Mod => match (a0, &args[1]) {
            (Datum::Int(a), Datum::Int(b)) => {
                if *b == 0 {
                    return Err(SqlError::new(SqlState::DivisionByZero, "division by zero"));
                }
                Datum::Int(fit_int(i128::from(*a) % i128::from(*b), ty)?)
            }
            (a, b) => Datum::Numeric(numeric(a)?.rem(&numeric(b)?)?),
        },
        F::Lower => Datum::Text(text(a0)?.to_lowercase()),
        F::Upper => Datum::Text(text(a0)?.to_uppercase()),
        F::Reverse => Datum::Text(text(a0)?.chars().rev().collect()),
        F::Length => Datum::Int(text(a0)?.chars().count() as i64),
        F::OctetLength => Datum::Int(text(a0)?.len() as i64),
        F::Substr => substr(text(a0)?, int(&args[1])?, args.get(2).map(int).transpose()?)?,
        F::Btrim | F::Ltrim | F::Rtrim => {
            let set: Vec<char> = match args.get(1) {
                Some(s) => text(s)?.chars().collect(),
                None => vec![' '],
            };
            let s = text(a0)?;
            let m = |c: char| set.contains(&c);
            Datum::Text(
                match func {
                    F::Ltrim => s.trim_start_matches(m),
                    F::Rtrim => s.trim_end_matches(m),
                    _ => s.trim_matches(m),
                }
                .to_owned(),
            )
        }
        F::Replace => {
            let (s, from, to) = (text(a0)?, text(&args[1])?, text(&args[2])?);
            Datum::Text(if from.is_empty() {
                s.to_owned()
            } else {
                s.replace(from, to)
            })
        }
        F::Left | F::Right => {
            let s: Vec<char> = text(a0)?.chars().collect();
            let n = int(&args[1])?;
            let len = s.len() as i64;
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            let part: String = if func == F::Left {
                s[..keep].iter().collect()
            } else {
                s[s.len() - keep..].iter().collect()
            };
            Datum::Text(part)
        }
        F::Strpos => {
            let (s, sub) = (text(a0)?, text(&args[1])?);
            Datum::Int(match s.find(sub) {
                Some(byte) => s[..byte].chars().count() as i64 + 1,
                None => 0,
            })
        }
        F::SplitPart => {
            let (s, delim, n) = (text(a0)?, text(&args[1])?, int(&args[2])?);
            if n == 0 {
                return Err(invalid("field position must not be zero"));
            }
            let parts: Vec<&str> = if delim.is_empty() {
                if s.is_empty() { vec![] } else { vec![s] }
            } else {
                s.split(delim).collect()
            };
            let idx = if n > 0 { n - 1 } else { parts.len() as i64 + n };
            Datum::Text(
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| parts.get(i))
                    .map_or(String::new(), |p| (*p).to_owned()),
            )
        }
        F::StartsWith => Datum::Bool(text(a0)?.starts_with(text(&args[1])?)),
        F::Repeat => {
            let n = usize::try_from(int(&args[1])?).unwrap_or(0);
            let s = text(a0)?;
            if s.len().saturating_mul(n) > 1 << 30 {
                return Err(SqlError::new(
                    SqlState::ProgramLimitExceeded,
                    "requested length too large",
                ));
            }
            Datum::Text(s.repeat(n))
        }
        F::Timezone => super::at_time_zone::eval(a0, &args[1])?,
        F::DateTrunc => match &args[1] {
            Datum::Timestamp(m) => Datum::Timestamp(datetime::date_trunc(
                text(a0)?,
                *m,
                "timestamp without time zone",
            )?),
            Datum::TimestampTz(m) => {
                let local = utc_to_local(*m, ctx)?;
                let t = datetime::date_trunc(text(a0)?, local, "timestamp with time zone")?;
                Datum::TimestampTz(local_to_utc(t, ctx)?)
            }
            _ => return Err(SqlError::unsupported("date_trunc on an interval")),
        },
        F::Extract | F::DatePart => {
            let field = text(a0)?;
            let v = match &args[1] {
                Datum::Timestamp(m) => datetime::extract_timestamp(
                    field,
                    *m,
                    *m,
                    false,
                    None,
                    "timestamp without time zone",
                )?,
                Datum::TimestampTz(m) => datetime::extract_timestamp(
                    field,
                    utc_to_local(*m, ctx)?,
                    *m,
                    false,
                    Some(ctx.timezone.offset_at_utc(*m)),
                    "timestamp with time zone",
                )?,
                Datum::Date(d) => {
                    let m = super::cast::date_to_micros(*d)?;
                    // date_part(text, date) goes through timestamp in PostgreSQL.
                    let is_date = func == F::Extract;
                    datetime::extract_timestamp(field, m, m, is_date, None, "date")?
                }
                Datum::Interval(iv) => datetime::extract_interval(field, iv)?,
                _ => return Err(SqlError::internal("extract from a non-datetime")),
            };
            if func == F::Extract {
                Datum::Numeric(v)
            } else {
                Datum::Float(v.to_f64())
            }
        }
        F::Age => {
            let (a, b) = match (args.len(), a0) {
                (1, Datum::Timestamp(m)) => {
                    let today = utc_to_local(ctx.now_micros, ctx)?.div_euclid(DAY_MICROS);
                    (today * DAY_MICROS, *m)
                }
                (1, Datum::TimestampTz(m)) => {
                    let today = utc_to_local(ctx.now_micros, ctx)?.div_euclid(DAY_MICROS);
                    (today * DAY_MICROS, utc_to_local(*m, ctx)?)
                }
                (_, Datum::Timestamp(a)) => (*a, timestamp_of(&args[1], ctx)?),
                (_, Datum::TimestampTz(a)) => {
                    (utc_to_local(*a, ctx)?, timestamp_of(&args[1], ctx)?)
                }
                _ => return Err(SqlError::internal("age of a non-timestamp")),
            };
            Datum::Interval(datetime::age(a, b)?)
        }
        F::ArrayLength | F::ArrayUpper | F::ArrayLower => array::dimension(func, a0, t0, &args[1])?,
        F::Cardinality => Datum::Int(a0.array_items().map_or(0, |v| v.len()) as i64),
        F::ArrayToString => {
            let null_as = args.get(2).map(text).transpose()?;
            array::to_string(a0, t0, text(&args[1])?, null_as, ctx)?
        }
        F::Subscript => array::subscript(a0, t0, &args[1])?,
        F::Slice { lower, upper } => {
            let lo = if lower { args.get(1) } else { None };
            let hi = if upper {
                args.get(1 + usize::from(lower))
            } else {
                None
            };
            array::slice(a0, t0, lo, hi, ty)?
        }
        F::ToJson => {
            let mut out = String::new();
            super::json::to_json(a0, t0, ctx, &mut out);
            Datum::Text(out)
        }
        F::ParseIdent => {
            let strict = !matches!(args.get(1), Some(Datum::Bool(false)));
            Datum::TextArray(
                parse_ident(text(a0)?, strict)?
                    .into_iter()
                    .map(Some)
                    .collect(),
            )
        }
        F::Greatest
        | F::Least
        | F::Concat
        | F::ConcatWs
        | F::NullIf
        | F::Now
        | F::CurrentDate
        | F::LocalTimestamp
        | F::Catalog(_)
        | F::JsonBuildObject
        | F::JsonBuildArray
        | F::StringToArray
        | F::ArrayAppend
        | F::ArrayCat
        | F::ArrayPosition => return Err(SqlError::internal("unreachable")),
    })
}

fn timestamp_of(d: &Datum, ctx: &EvalContext) -> SqlResult<i64> {
    match d {
        Datum::Timestamp(m) => Ok(*m),
        Datum::TimestampTz(m) => utc_to_local(*m, ctx),
        _ => Err(SqlError::internal("expected a timestamp")),
    }
}

/// PostgreSQL's `substr(s, from, count)` (1-based, characters).
fn substr(s: &str, from: i64, count: Option<i64>) -> SqlResult<Datum> {
    let start = from - 1;
    let end = match count {
        Some(c) if c < 0 => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "negative substring length not allowed",
            ));
        }
        Some(c) => start.saturating_add(c),
        None => i64::MAX,
    };
    let (lo, hi) = (start.max(0) as usize, end.max(0) as usize);
    Ok(Datum::Text(
        s.chars().skip(lo).take(hi.saturating_sub(lo)).collect(),
    ))
}

/// `sqrt(numeric)` at PostgreSQL's scale: at least 16 significant digits
/// and not less than the input's scale.
fn numeric_sqrt(n: &Decimal) -> SqlResult<Decimal> {
    if n.mantissa < 0 {
        return Err(invalid("cannot take square root of a negative number"));
    }
    let f = n.to_f64();
    let (weight, _) = n.weight_and_first_digit();
    let sweight = (weight + 1) * 4 / 2 - 1;
    let rscale = (16 - sweight).max(i64::from(n.scale)).clamp(0, 1000) as u32;
    // Newton iteration on integers: isqrt(m × 10^(2·rscale − scale)).
    let shift = 2 * i64::from(rscale) - i64::from(n.scale);
    let m = u128::try_from(n.mantissa).unwrap_or(0);
    let scaled = u32::try_from(shift)
        .ok()
        .and_then(|s| 10u128.checked_pow(s))
        .and_then(|p| m.checked_mul(p));
    match scaled {
        Some(v) => {
            let mut x = (v as f64).sqrt() as u128;
            while x.checked_mul(x).is_none_or(|sq| sq > v) {
                x -= 1;
            }
            while (x + 1).checked_mul(x + 1).is_some_and(|sq| sq <= v) {
                x += 1;
            }
            // Round half up on the remainder: compare v with (x + 0.5)^2.
            let round_up = x
                .checked_mul(x)
                .and_then(|sq| sq.checked_add(x))
                .is_some_and(|half| v > half);
            Ok(Decimal::new((x + u128::from(round_up)) as i128, rscale))
        }
        None => Decimal::from_f64(f.sqrt(), 17)?.round(rscale as i32),
    }
}

fn not_identifier(s: &str, detail: &str) -> SqlError {
    SqlError::new(
        SqlState::InvalidParameterValue,
        format!("string is not a valid identifier: \"{s}\""),
    )
    .with_detail(detail)
}

/// PostgreSQL's `parse_ident`: splits a qualified identifier into its
/// parts; unquoted parts fold to lower case, `""` inside quotes is `"`.
/// Without `strict`, text after the last identifier is ignored.
fn parse_ident(s: &str, strict: bool) -> SqlResult<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_ws = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
    };
    let mut after_dot = false;
    loop {
        skip_ws(&mut i);
        if chars.get(i) == Some(&'"') {
            let mut part = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(not_identifier(s, "String has unclosed double quotes.")),
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        part.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        part.push(c);
                        i += 1;
                    }
                }
            }
            if part.is_empty() {
                return Err(not_identifier(s, "Quoted identifier must not be empty."));
            }
            out.push(part);
        } else {
            let start = i;
            let is_start = |c: char| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii();
            if chars.get(i).is_some_and(|c| is_start(*c)) {
                while chars
                    .get(i)
                    .is_some_and(|c| is_start(*c) || c.is_ascii_digit() || *c == '$')
                {
                    i += 1;
                }
            }
            if i == start {
                let detail = match (after_dot, chars.get(i)) {
                    (true, _) => "No valid identifier after \".\".",
                    (false, Some('.')) => "No valid identifier before \".\".",
                    _ => "",
                };
                return Err(not_identifier(s, detail));
            }
            out.push(
                chars[start..i]
                    .iter()
                    .collect::<String>()
                    .to_ascii_lowercase(),
            );
        }
        skip_ws(&mut i);
        match chars.get(i) {
            Some('.') => {
                i += 1;
                after_dot = true;
            }
            None => return Ok(out),
            Some(_) if !strict => return Ok(out),
            Some(_) => return Err(not_identifier(s, "")),
        }
    }
}
