//! Predicates evaluated row by row: a bound scalar expression over several
//! columns of the table (`age < ltv`, `city = province`,
//! `coalesce(city, province) = 'x'`), for the predicates no bitmap form
//! exists for.
//!
//! A [`RowPredicate`] is evaluated only over the rows of its domain (what
//! the AND branches before it left; AND orders it last), one window of at
//! most [`WINDOW_ROWS`] rows at a time: the columns it reads are taken from
//! the bitmaps for the window's rows ([`row_columns`](super::row_columns)),
//! then the expression runs for each row with PostgreSQL's semantics (the
//! scalar layer's evaluator), giving the TRUE rows, the FALSE rows, and
//! neither for NULL. Between windows the statement's cancellation and
//! timeout are checked; each window's buffers are charged to its memory
//! budget.
//!
//! When every column the expression reads comes as a code (flags, numbers,
//! categorical values), results are memoized per combination of codes, so
//! `city = province` evaluates each (city, province) pair once per shard
//! instead of once per row. Expressions calling catalog or session
//! functions are evaluated for every row.

use super::ShardEval;
use super::row_columns::{Batch, Reader};
use crate::exec::parallel::Cancel;
use crate::exec::rows::Fetch;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::scalar::{self, BoundExpr, EvalContext, Func, ScalarExpr};
use crate::sql::types::Datum;
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Rows evaluated per window: one roaring container's worth.
pub const WINDOW_ROWS: usize = 1 << 16;

/// Distinct value combinations remembered per shard before memoizing stops.
const MEMO_MAX: usize = 1 << 16;

/// A boolean expression over columns of the table, evaluated per row.
pub struct RowPredicate {
    expr: BoundExpr,
    columns: Vec<Fetch>,
    eval: EvalContext,
    cancel: Cancel,
    text: String,
    memo: bool,
}

impl RowPredicate {
    /// A predicate computing `expr` (boolean) over rows whose values are
    /// those of `columns`, in that order (column `i` of the expression is
    /// `columns[i]`), with the statement's evaluation context and
    /// cancellation token. `text` is the expression as written (EXPLAIN).
    pub fn new(
        expr: BoundExpr,
        columns: Vec<Fetch>,
        eval: EvalContext,
        cancel: Cancel,
        text: String,
    ) -> RowPredicate {
        let mut memo = true;
        expr.expr.walk(&mut |e| {
            if matches!(
                e,
                ScalarExpr::Function {
                    func: Func::Catalog(_),
                    ..
                } | ScalarExpr::Subquery(_)
            ) {
                memo = false;
            }
        });
        RowPredicate {
            expr,
            columns,
            eval,
            cancel,
            text,
            memo,
        }
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The columns the expression reads.
    pub fn columns(&self) -> &[Fetch] {
        &self.columns
    }
}

impl fmt::Debug for RowPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowPredicate")
            .field("text", &self.text)
            .field("columns", &self.columns)
            .finish()
    }
}

/// A shared [`RowPredicate`] in a predicate tree; two are equal when they
/// are the same predicate (the same `Arc`).
#[derive(Clone, Debug)]
pub struct RowWise(pub Arc<RowPredicate>);

impl PartialEq for RowWise {
    fn eq(&self, other: &RowWise) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The result of one row: TRUE, FALSE or NULL.
type Truth = Option<bool>;

impl ShardEval<'_> {
    /// The rows of `domain` where `p` is TRUE (`want`) or FALSE (`!want`).
    pub(super) fn row_wise(
        &self,
        p: &RowPredicate,
        domain: &RoaringBitmap,
        want: bool,
    ) -> SqlResult<RoaringBitmap> {
        let mut out = RoaringBitmap::new();
        if domain.is_empty() {
            return Ok(out);
        }
        p.cancel.check()?;
        let mut readers = p
            .columns
            .iter()
            .map(|f| Reader::new(self.snap, self.shard, *f))
            .collect::<SqlResult<Vec<_>>>()?;
        let ncols = readers.len().max(1) as u64;
        let mut memo: Option<HashMap<Vec<Option<i64>>, Truth>> =
            (p.memo && readers.iter().all(Reader::coded)).then(HashMap::new);
        // The memo's entries, at most one per row of the domain.
        let _memo_bytes = match memo {
            Some(_) => Some(p.cancel.reserve(
                domain.len().min(MEMO_MAX as u64) * (64 + 16 * ncols),
                "row-wise filter values",
            )?),
            None => None,
        };
        let mut key: Vec<Option<i64>> = Vec::with_capacity(readers.len());
        let mut row: Vec<Datum> = Vec::with_capacity(readers.len());
        let mut ids: Vec<u32> = Vec::with_capacity(WINDOW_ROWS.min(domain.len() as usize));
        let mut iter = domain.iter().peekable();
        while let Some(first) = iter.next() {
            ids.clear();
            ids.push(first);
            while ids.len() < WINDOW_ROWS
                && let Some(&r) = iter.peek()
                && r >> 16 == first >> 16
            {
                ids.push(r);
                iter.next();
            }
            let _window = p.cancel.reserve(
                ids.len() as u64 * ncols * (std::mem::size_of::<Datum>() as u64 + 16),
                "row-wise filter values",
            )?;
            let rows = RoaringBitmap::from_sorted_iter(ids.iter().copied())
                .map_err(|_| SqlError::internal("row-wise window rows out of order"))?;
            let batches = readers
                .iter_mut()
                .map(|r| r.read(self.snap, &ids, &rows))
                .collect::<SqlResult<Vec<_>>>()?;
            for (i, r) in ids.iter().enumerate() {
                let truth = match memo.as_mut() {
                    Some(m) => {
                        key.clear();
                        key.extend(batches.iter().map(|b| match b {
                            Batch::Codes(c) => c[i],
                            Batch::Datums(_) => None,
                        }));
                        match m.get(key.as_slice()) {
                            Some(t) => *t,
                            None => {
                                let t = eval_row(p, &readers, &batches, i, &mut row)?;
                                if m.len() < MEMO_MAX {
                                    m.insert(key.clone(), t);
                                }
                                t
                            }
                        }
                    }
                    None => eval_row(p, &readers, &batches, i, &mut row)?,
                };
                if truth == Some(want) && out.try_push(*r).is_err() {
                    out.insert(*r);
                }
            }
            p.cancel.check()?;
        }
        Ok(out)
    }
}

/// Evaluates the expression for row `i` of the window.
fn eval_row(
    p: &RowPredicate,
    readers: &[Reader],
    batches: &[Batch],
    i: usize,
    row: &mut Vec<Datum>,
) -> SqlResult<Truth> {
    row.clear();
    for (reader, batch) in readers.iter().zip(batches) {
        row.push(match batch {
            Batch::Codes(c) => reader.decode(c[i]),
            Batch::Datums(d) => d[i].clone(),
        });
    }
    match scalar::eval(&p.expr, row, &p.eval)? {
        Datum::Bool(b) => Ok(Some(b)),
        Datum::Null => Ok(None),
        other => Err(SqlError::internal(format!(
            "a row-wise predicate gave {other:?}, not a boolean"
        ))),
    }
}
