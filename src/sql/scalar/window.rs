//! Window functions over a whole (small) relation: partitions, peer groups,
//! ROWS/RANGE frames, running aggregates, ranking and offsets.
//!
//! Frames starting at `UNBOUNDED PRECEDING` (the default) are computed
//! incrementally, O(n) per partition; other frames recompute over the frame,
//! O(n × frame). Each window's per-row keys, order and values are charged
//! to the statement's memory budget (53200) while it is computed.

use super::cast::{fit_int, float_overflow};
use super::datetime::{interval_add, interval_mul};
use super::eval::{Env, eval_in};
use super::format::compare_datums;
use super::{EvalContext, FrameBound, WindowExpr, WindowFunc};
use crate::exec::memory::{Meter, row_bytes};
use crate::exec::parallel::Cancel;
use crate::sql::decimal::Decimal;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum, Interval};
use std::cmp::Ordering;

/// Computes every window call in `windows` over `rows`: one value per row,
/// in row order.
/// Checks `cancel` (57014) between windows, partitions and every
/// [`CANCEL_CHECK_ROWS`] rows.
pub(crate) fn eval_windows<'a>(
    windows: &[&'a WindowExpr],
    rows: &[Vec<Datum>],
    ctx: &EvalContext,
    cancel: &Cancel,
) -> SqlResult<Vec<(&'a WindowExpr, Vec<Datum>)>> {
    windows
        .iter()
        .map(|w| {
            cancel.check()?;
            Ok((*w, eval_window(w, rows, ctx, cancel)?))
        })
        .collect()
}

/// Rows (or frame steps) between two cancellation checks.
pub(crate) const CANCEL_CHECK_ROWS: usize = 4096;

/// Sorts `v` with `cmp`, checking `cancel` every [`CANCEL_CHECK_ROWS`]
/// comparisons; once cancelled the remaining comparisons are trivial and
/// the 57014 error is returned.
pub(crate) fn sort_cancellable<T>(
    v: &mut [T],
    cancel: &Cancel,
    mut cmp: impl FnMut(&T, &T) -> Ordering,
) -> SqlResult<()> {
    let mut count = 0usize;
    let mut err = None;
    v.sort_by(|a, b| {
        if err.is_some() {
            return Ordering::Equal;
        }
        count += 1;
        if count.is_multiple_of(CANCEL_CHECK_ROWS)
            && let Err(e) = cancel.check()
        {
            err = Some(e);
            return Ordering::Equal;
        }
        cmp(a, b)
    });
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Evaluated keys and arguments of one row.
struct RowKeys {
    partition: Vec<Datum>,
    order: Vec<Datum>,
    args: Vec<Datum>,
}

fn eval_window(
    w: &WindowExpr,
    rows: &[Vec<Datum>],
    ctx: &EvalContext,
    cancel: &Cancel,
) -> SqlResult<Vec<Datum>> {
    // The keys, the sort order and the output, charged while the window
    // is computed: per row its three key vectors, an index and a value.
    let mut meter = Meter::new(cancel, "a window function");
    let mut keys = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if i % CANCEL_CHECK_ROWS == 0 {
            cancel.check()?;
        }
        let env = Env {
            row,
            ctx,
            windows: &[],
            row_index: i,
        };
        let eval_all = |es: &mut dyn Iterator<Item = &super::ScalarExpr>| {
            es.map(|e| eval_in(e, &env)).collect::<SqlResult<Vec<_>>>()
        };
        let k = RowKeys {
            partition: eval_all(&mut w.partition_by.iter())?,
            order: eval_all(&mut w.order_by.iter().map(|o| &o.expr))?,
            args: eval_all(&mut w.args.iter())?,
        };
        meter.add(
            row_bytes(&k.partition)
                + row_bytes(&k.order)
                + row_bytes(&k.args)
                + (std::mem::size_of::<usize>() + std::mem::size_of::<Datum>()) as u64,
        )?;
        keys.push(k);
    }
    meter.flush()?;
    let order_cmp = |a: &RowKeys, b: &RowKeys| -> Ordering {
        for (k, o) in w.order_by.iter().enumerate() {
            let (x, y) = (&a.order[k], &b.order[k]);
            let c = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) if o.nulls_first => Ordering::Less,
                (true, false) => Ordering::Greater,
                (false, true) if o.nulls_first => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ if o.descending => compare_datums(y, x),
                _ => compare_datums(x, y),
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    };
    let part_cmp = |a: &RowKeys, b: &RowKeys| -> Ordering {
        a.partition
            .iter()
            .zip(&b.partition)
            .map(|(x, y)| compare_datums(x, y))
            .find(|c| *c != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    };
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    sort_cancellable(&mut idx, cancel, |&a, &b| {
        part_cmp(&keys[a], &keys[b]).then_with(|| order_cmp(&keys[a], &keys[b]))
    })?;
    let mut out = vec![Datum::Null; rows.len()];
    let mut start = 0;
    while start < idx.len() {
        cancel.check()?;
        let mut end = start + 1;
        while end < idx.len() && part_cmp(&keys[idx[start]], &keys[idx[end]]) == Ordering::Equal {
            end += 1;
        }
        let part = &idx[start..end];
        // Peer group bounds of each position.
        let mut peer_start = vec![0; part.len()];
        let mut peer_end = vec![0; part.len()];
        let mut groups = vec![0u64; part.len()];
        let mut g = 0;
        let mut i = 0;
        while i < part.len() {
            let mut j = i + 1;
            while j < part.len() && order_cmp(&keys[part[i]], &keys[part[j]]) == Ordering::Equal {
                j += 1;
            }
            g += 1;
            for p in i..j {
                peer_start[p] = i;
                peer_end[p] = j;
                groups[p] = g;
            }
            i = j;
        }
        let frame = |p: usize| -> (usize, usize) {
            let n = part.len();
            let lo = match w.frame.start {
                FrameBound::UnboundedPreceding => 0,
                FrameBound::Preceding(k) => {
                    p.saturating_sub(usize::try_from(k).unwrap_or(usize::MAX))
                }
                FrameBound::CurrentRow if w.frame.rows => p,
                FrameBound::CurrentRow => peer_start[p],
                FrameBound::Following(k) => {
                    p.saturating_add(usize::try_from(k).unwrap_or(usize::MAX))
                }
                FrameBound::UnboundedFollowing => n,
            };
            let hi = match w.frame.end {
                FrameBound::UnboundedPreceding => 0,
                FrameBound::Preceding(k) => {
                    (p + 1).saturating_sub(usize::try_from(k).unwrap_or(usize::MAX))
                }
                FrameBound::CurrentRow if w.frame.rows => p + 1,
                FrameBound::CurrentRow => peer_end[p],
                FrameBound::Following(k) => p
                    .saturating_add(usize::try_from(k).unwrap_or(usize::MAX))
                    .saturating_add(1),
                FrameBound::UnboundedFollowing => n,
            };
            (lo.min(n), hi.min(n).max(lo.min(n)))
        };
        let n = part.len();
        let arg = |p: usize, k: usize| keys[part[p]].args.get(k).cloned().unwrap_or(Datum::Null);
        match w.func {
            WindowFunc::RowNumber => {
                for p in 0..n {
                    out[part[p]] = Datum::Int(p as i64 + 1);
                }
            }
            WindowFunc::Rank => {
                for p in 0..n {
                    out[part[p]] = Datum::Int(peer_start[p] as i64 + 1);
                }
            }
            WindowFunc::DenseRank => {
                for p in 0..n {
                    out[part[p]] = Datum::Int(groups[p] as i64);
                }
            }
            WindowFunc::PercentRank => {
                for p in 0..n {
                    let v = if n > 1 {
                        peer_start[p] as f64 / (n - 1) as f64
                    } else {
                        0.0
                    };
                    out[part[p]] = Datum::Float(v);
                }
            }
            WindowFunc::CumeDist => {
                for p in 0..n {
                    out[part[p]] = Datum::Float(peer_end[p] as f64 / n as f64);
                }
            }
            WindowFunc::Ntile => {
                for p in 0..n {
                    out[part[p]] = match arg(p, 0) {
                        Datum::Int(k) if k > 0 => {
                            let k = k as usize;
                            let per = n / k;
                            let extra = n % k;
                            // The first `extra` buckets hold per + 1 rows.
                            let big = extra * (per + 1);
                            let bucket = if p < big {
                                p / (per + 1)
                            } else {
                                extra + (p - big) / per.max(1)
                            };
                            Datum::Int(bucket as i64 + 1)
                        }
                        Datum::Int(_) => {
                            return Err(SqlError::new(
                                SqlState::InvalidParameterValue,
                                "argument of ntile must be greater than zero",
                            ));
                        }
                        _ => Datum::Null,
                    };
                }
            }
            WindowFunc::Lag | WindowFunc::Lead => {
                for p in 0..n {
                    let offset = match keys[part[p]].args.get(1) {
                        None => 1,
                        Some(Datum::Int(o)) => *o,
                        Some(_) => {
                            out[part[p]] = Datum::Null;
                            continue;
                        }
                    };
                    let target = if w.func == WindowFunc::Lag {
                        p as i64 - offset
                    } else {
                        p as i64 + offset
                    };
                    out[part[p]] = match usize::try_from(target).ok().filter(|t| *t < n) {
                        Some(t) => arg(t, 0),
                        None => arg(p, 2),
                    };
                }
            }
            WindowFunc::FirstValue | WindowFunc::LastValue => {
                for p in 0..n {
                    let (lo, hi) = frame(p);
                    out[part[p]] = if lo >= hi {
                        Datum::Null
                    } else if w.func == WindowFunc::FirstValue {
                        arg(lo, 0)
                    } else {
                        arg(hi - 1, 0)
                    };
                }
            }
            _ => {
                let input_ty = w.args.first().map_or(DataType::Int8, |a| a.ty());
                if w.frame.start == FrameBound::UnboundedPreceding {
                    let mut acc = Acc::new(w.func, input_ty);
                    let mut added = 0;
                    for p in 0..n {
                        let (_, hi) = frame(p);
                        while added < hi {
                            acc.add(&arg(added, 0))?;
                            added += 1;
                        }
                        out[part[p]] = acc.result(w.ty)?;
                    }
                } else {
                    for p in 0..n {
                        if p % CANCEL_CHECK_ROWS == 0 {
                            cancel.check()?;
                        }
                        let (lo, hi) = frame(p);
                        let mut acc = Acc::new(w.func, input_ty);
                        for q in lo..hi {
                            acc.add(&arg(q, 0))?;
                        }
                        out[part[p]] = acc.result(w.ty)?;
                    }
                }
            }
        }
        start = end;
    }
    Ok(out)
}

/// A running aggregate.
struct Acc {
    func: WindowFunc,
    input: DataType,
    count: i64,
    int: i128,
    num: Decimal,
    float: f64,
    interval: Interval,
    best: Option<Datum>,
}

impl Acc {
    fn new(func: WindowFunc, input: DataType) -> Acc {
        Acc {
            func,
            input,
            count: 0,
            int: 0,
            num: Decimal::default(),
            float: 0.0,
            interval: Interval::default(),
            best: None,
        }
    }

    fn add(&mut self, v: &Datum) -> SqlResult<()> {
        if self.func == WindowFunc::CountStar {
            self.count += 1;
            return Ok(());
        }
        if v.is_null() {
            return Ok(());
        }
        self.count += 1;
        match self.func {
            WindowFunc::Min | WindowFunc::Max => {
                let want = if self.func == WindowFunc::Min {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                if self
                    .best
                    .as_ref()
                    .is_none_or(|b| compare_datums(v, b) == want)
                {
                    self.best = Some(v.clone());
                }
            }
            WindowFunc::Sum | WindowFunc::Avg => match v {
                Datum::Int(x) => self.int += i128::from(*x),
                Datum::Numeric(x) => self.num = self.num.add(x)?,
                Datum::Float(x) => {
                    let s = if self.input == DataType::Float4 && self.func == WindowFunc::Sum {
                        f64::from(self.float as f32 + *x as f32)
                    } else {
                        self.float + x
                    };
                    if s.is_infinite() && !x.is_infinite() && !self.float.is_infinite() {
                        return Err(float_overflow());
                    }
                    self.float = s;
                }
                Datum::Interval(iv) => self.interval = interval_add(&self.interval, iv, 1)?,
                _ => return Err(SqlError::internal("sum of a non-number")),
            },
            _ => {}
        }
        Ok(())
    }

    fn result(&self, ty: DataType) -> SqlResult<Datum> {
        let empty = self.count == 0;
        Ok(match self.func {
            WindowFunc::Count | WindowFunc::CountStar => Datum::Int(self.count),
            WindowFunc::Min | WindowFunc::Max => self.best.clone().unwrap_or(Datum::Null),
            _ if empty => Datum::Null,
            WindowFunc::Sum => match (ty, self.input) {
                (DataType::Int8, _) => Datum::Int(fit_int(self.int, DataType::Int8)?),
                (DataType::Numeric(_), DataType::Numeric(_)) => Datum::Numeric(self.num),
                (DataType::Numeric(_), _) => Datum::Numeric(int_decimal(self.int)?),
                (DataType::Interval, _) => Datum::Interval(self.interval),
                _ => Datum::Float(self.float),
            },
            WindowFunc::Avg => match ty {
                DataType::Numeric(_) => {
                    let sum = if matches!(self.input, DataType::Numeric(_)) {
                        self.num
                    } else {
                        int_decimal(self.int)?
                    };
                    Datum::Numeric(sum.div(&Decimal::from_i64(self.count))?)
                }
                DataType::Interval => {
                    Datum::Interval(interval_mul(&self.interval, 1.0 / self.count as f64)?)
                }
                _ => Datum::Float(self.float / self.count as f64),
            },
            _ => Datum::Null,
        })
    }
}

fn int_decimal(v: i128) -> SqlResult<Decimal> {
    if v.unsigned_abs() >= 10u128.pow(38) {
        return Err(crate::sql::decimal::overflow());
    }
    Ok(Decimal::new(v, 0))
}
