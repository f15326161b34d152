//! Group-by over a numeric column by recursive partitioning of the planes.

use super::{BsiRef, decode};
use roaring::RoaringBitmap;
use std::borrow::Borrow;

/// What the partitioning hands out for one distinct value.
enum Leaf {
    /// Only the number of rows (the last plane was counted, not split).
    Count(u64),
    /// The rows themselves.
    Rows(RoaringBitmap),
}

/// One partitioning pass: the sign of the rows, whether to emit bitmaps, and
/// where the distinct values go.
struct Walk<'s, F: FnMut(i64, Leaf)> {
    negative: bool,
    want_rows: bool,
    /// Distinct values still allowed before the walk gives up (`None`: no
    /// limit).
    budget: Option<usize>,
    /// Set when the budget ran out: the walk stops and its output is void.
    over: bool,
    sink: &'s mut F,
}

impl<'a, P: Borrow<RoaringBitmap>> BsiRef<'a, P> {
    /// The distinct values among the rows of `filter` (all rows when `None`)
    /// with how many rows hold each, sorted by value; NULLs are left out.
    ///
    /// The rows are split by each plane from the most significant down,
    /// separately for negative and non-negative rows, and empty parts are
    /// dropped: `O(distinct × planes)` bitmap operations, so a column with
    /// few distinct values (age, a rating) is cheap and one with a value per
    /// row (a timestamp) is not. The last plane is only counted.
    pub fn group_counts(&self, filter: Option<&RoaringBitmap>) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        self.partition(filter, false, &mut |value, leaf| {
            let n = match leaf {
                Leaf::Count(n) => n,
                Leaf::Rows(rows) => rows.len(),
            };
            out.push((value, n));
        });
        out
    }

    /// Like [`BsiRef::group_counts`], but with the rows of each distinct value
    /// (for group-by over several columns, or a group's further aggregates).
    pub fn groups(&self, filter: Option<&RoaringBitmap>) -> Vec<(i64, RoaringBitmap)> {
        let mut out = Vec::new();
        self.partition(filter, true, &mut |value, leaf| {
            if let Leaf::Rows(rows) = leaf {
                out.push((value, rows));
            }
        });
        out
    }

    /// Like [`BsiRef::groups`], but gives up (`None`) as soon as the rows
    /// turn out to hold more than `max_groups` distinct values, so a caller
    /// can switch to reading the values row by row ([`BsiRef::values`]) for
    /// a column with a value per row: the wasted work is at most
    /// `max_groups × planes` bitmap operations.
    pub fn groups_bounded(
        &self,
        filter: Option<&RoaringBitmap>,
        max_groups: usize,
    ) -> Option<Vec<(i64, RoaringBitmap)>> {
        let mut out = Vec::new();
        let complete = self.partition_within(filter, true, Some(max_groups), &mut |value, leaf| {
            if let Leaf::Rows(rows) = leaf {
                out.push((value, rows));
            }
        });
        complete.then_some(out)
    }

    /// Emits every distinct value of `filter ∩ not_null` in increasing order.
    fn partition<F: FnMut(i64, Leaf)>(
        &self,
        filter: Option<&RoaringBitmap>,
        want_rows: bool,
        sink: &mut F,
    ) {
        self.partition_within(filter, want_rows, None, sink);
    }

    /// [`Self::partition`] with at most `budget` distinct values; false when
    /// there were more (the sink then saw only some of them).
    fn partition_within<F: FnMut(i64, Leaf)>(
        &self,
        filter: Option<&RoaringBitmap>,
        want_rows: bool,
        budget: Option<usize>,
        sink: &mut F,
    ) -> bool {
        let (positive, negative) = self.split_sign(filter);
        let depth = self.depth();
        let mut walk = Walk {
            negative: true,
            want_rows,
            budget,
            over: false,
            sink,
        };
        self.split(&mut walk, negative, depth, 0);
        walk.negative = false;
        self.split(&mut walk, positive, depth, 0);
        !walk.over
    }

    /// Splits `set` (rows sharing the magnitude bits above plane `level`,
    /// which are `prefix`) by planes `level - 1 ..= 0`.
    fn split<F: FnMut(i64, Leaf)>(
        &self,
        walk: &mut Walk<'_, F>,
        set: RoaringBitmap,
        mut level: usize,
        mut prefix: u64,
    ) {
        if set.is_empty() || walk.over {
            return;
        }
        // Planes where every row agrees do not branch: walk them in a loop.
        while level > 0 {
            let i = level - 1;
            let bit = 1u64 << i;
            let Some(plane) = self.plane(i) else {
                level -= 1;
                continue;
            };
            if i == 0 && !walk.want_rows {
                let ones = set.intersection_len(plane);
                let zeros = set.len() - ones;
                let mut emit = |mag: u64, n: u64| {
                    if n > 0 {
                        (walk.sink)(decode(walk.negative, mag), Leaf::Count(n));
                    }
                };
                if walk.negative {
                    emit(prefix | bit, ones);
                    emit(prefix, zeros);
                } else {
                    emit(prefix, zeros);
                    emit(prefix | bit, ones);
                }
                return;
            }
            let ones = &set & plane;
            if ones.is_empty() {
                level -= 1;
                continue;
            }
            if ones.len() == set.len() {
                prefix |= bit;
                level -= 1;
                continue;
            }
            let zeros = set - &ones;
            // Ascending values: small magnitudes first for non-negative rows,
            // large magnitudes first for negative ones.
            if walk.negative {
                self.split(walk, ones, i, prefix | bit);
                self.split(walk, zeros, i, prefix);
            } else {
                self.split(walk, zeros, i, prefix);
                self.split(walk, ones, i, prefix | bit);
            }
            return;
        }
        if let Some(left) = walk.budget.as_mut() {
            if *left == 0 {
                walk.over = true;
                return;
            }
            *left -= 1;
        }
        let leaf = if walk.want_rows {
            Leaf::Rows(set)
        } else {
            Leaf::Count(set.len())
        };
        (walk.sink)(decode(walk.negative, prefix), leaf);
    }
}
