//! Counting the rows where a predicate is TRUE (`COUNT(*)` of a WHERE)
//! without materializing the last set.
//!
//! An AND evaluates its branches (ordered by estimate, smallest first) each
//! within what the previous ones kept, and counts the last one within the
//! result (for a bitmap leaf, one `intersection_len`). When a branch would
//! turn a dense running set sparse, it starts a second running set over the
//! domain instead, and the count ends with the `intersection_len` of the
//! two: roaring ANDs dense (bitmap) containers word by word, but turns a
//! result under 4,096 rows per 65,536 into a sorted array bit by bit, and
//! every later branch (a range walking its planes above all) then merges
//! sorted arrays. `(A AND B) AND (C AND D)` with dense sides and a sparse
//! overlap is counted as the two dense sides and one `intersection_len`.

use super::{Pred, ShardEval};
use crate::sql::error::SqlResult;
use crate::storage::ColumnRead;
use roaring::RoaringBitmap;

/// A running set is dense while it holds at least 1/`DENSE_RATIO` of the
/// shard's live rows (roaring's array/bitmap container threshold).
const DENSE_RATIO: f64 = 16.0;

impl ShardEval<'_> {
    /// The number of rows where `p` is TRUE. An AND counts its last branch
    /// within what the others kept without materializing the result (for a
    /// bitmap leaf, one `intersection_len`).
    pub fn count_true(&self, p: &Pred) -> SqlResult<u64> {
        self.count_within(p, &self.live)
    }

    fn count_within(&self, p: &Pred, domain: &RoaringBitmap) -> SqlResult<u64> {
        if self.stats.is_some() {
            return Ok(self.true_within(p, domain)?.len());
        }
        Ok(match p {
            Pred::Flag { col, value } => {
                let read = if *value {
                    ColumnRead::True
                } else {
                    ColumnRead::False
                };
                self.read(*col, read)?.intersection_len(domain)
            }
            Pred::AnyValue { col, values } if values.len() == 1 => self
                .read(*col, ColumnRead::Value(&values[0]))?
                .intersection_len(domain),
            Pred::Rows(rows) => rows.intersection_len(domain),
            Pred::And(items) if !items.is_empty() => self.count_and(items, domain)?,
            _ => self.true_within(p, domain)?.len(),
        })
    }

    /// The rows of `domain` where every item is TRUE, counted.
    fn count_and(&self, items: &[Pred], domain: &RoaringBitmap) -> SqlResult<u64> {
        let Some((last, rest)) = items.split_last() else {
            return Ok(domain.len());
        };
        let live = self.live.len().max(1) as f64;
        let rows = self.snap.row_id_end().max(1) as f64;
        let dense = 1.0 / DENSE_RATIO;
        // [0]: the running intersection; [1]: the branches set aside so that
        // [0] stays dense. `None` is the domain itself.
        let mut sides: [Option<RoaringBitmap>; 2] = [None, None];
        for item in rest {
            let share = (item.estimate(self.snap) as f64 / rows).min(1.0);
            let d0 = side_len(&sides[0], domain) as f64 / live;
            let d1 = side_len(&sides[1], domain) as f64 / live;
            let side = usize::from(d0 >= dense && d0 * share < dense && d1 * share >= dense);
            let kept = self.true_within(item, sides[side].as_ref().unwrap_or(domain))?;
            if kept.is_empty() {
                return Ok(0);
            }
            sides[side] = Some(kept);
        }
        match sides {
            [Some(a), Some(b)] => {
                // The last branch goes with the denser side: its result is
                // only counted against the other one.
                let (denser, other) = if a.len() >= b.len() { (a, b) } else { (b, a) };
                Ok(self.true_within(last, &denser)?.intersection_len(&other))
            }
            [None, Some(acc)] | [Some(acc), None] => self.count_within(last, &acc),
            [None, None] => self.count_within(last, domain),
        }
    }
}

fn side_len(side: &Option<RoaringBitmap>, domain: &RoaringBitmap) -> u64 {
    side.as_ref().unwrap_or(domain).len()
}
