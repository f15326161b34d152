//! Bit-sliced index (BSI) algorithms in sign–magnitude form.
//!
//! A numeric column over row ids is stored as:
//! - `not_null`: the rows that have a value;
//! - `sign`: the rows whose value is negative;
//! - `planes[i]`: the rows whose magnitude `|value|` (a `u64`, so that
//!   `|i64::MIN| = 2^63` fits) has bit `i` set, least significant first.
//!   Trailing planes may be missing (they are empty); at most 64 planes are
//!   read, any further ones are ignored.
//!
//! Only rows in `not_null` have a value: bits of `sign` and `planes` outside
//! `not_null` are ignored by every reader here, so a caller may clear a row by
//! removing it from `not_null` alone. A row in `sign` with magnitude 0, or a
//! non-negative row with bit 63 set, cannot come from an `i64`; such rows read
//! back with wrapping arithmetic (never a panic).
//!
//! Every algorithm works on whole bitmaps: predicates cost `O(planes)` bitmap
//! operations (O'Neil and Quass, *Improved query performance with variant
//! indexes*, as FeatureBase does it), aggregates `O(planes)` intersection
//! counts, never a loop over rows. Writers are in [`BsiBuilder`] (bulk load)
//! and [`assign`] (memtable updates); group-by is
//! [`BsiRef::group_counts`] / [`BsiRef::groups`].

mod build;
mod compare_columns;
mod group;
#[cfg(test)]
mod tests;

pub use build::{BsiBuilder, assign};

use crate::index::RowId;
use roaring::RoaringBitmap;
use std::borrow::Borrow;

/// The most planes a column can have: magnitudes are `u64`.
pub const MAX_PLANES: usize = 64;

/// A comparison of a column value against a constant: `value op x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `value = x`
    Eq,
    /// `value <> x`
    Ne,
    /// `value < x`
    Lt,
    /// `value <= x`
    Le,
    /// `value > x`
    Gt,
    /// `value >= x`
    Ge,
}

impl CompareOp {
    /// Every operator.
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ];

    /// The operator with its operands swapped: `x op v` ⇔ `v op.flip() x`.
    pub fn flip(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            op => op,
        }
    }

    /// The complementary operator among non-null values: `NOT (v op x)` ⇔
    /// `v op.negate() x`.
    pub fn negate(self) -> CompareOp {
        match self {
            CompareOp::Eq => CompareOp::Ne,
            CompareOp::Ne => CompareOp::Eq,
            CompareOp::Lt => CompareOp::Ge,
            CompareOp::Le => CompareOp::Gt,
            CompareOp::Gt => CompareOp::Le,
            CompareOp::Ge => CompareOp::Lt,
        }
    }

    /// Evaluates the comparison on two plain values (the reference semantics).
    pub fn eval(self, value: i64, x: i64) -> bool {
        match self {
            CompareOp::Eq => value == x,
            CompareOp::Ne => value != x,
            CompareOp::Lt => value < x,
            CompareOp::Le => value <= x,
            CompareOp::Gt => value > x,
            CompareOp::Ge => value >= x,
        }
    }
}

/// A borrowed view of one numeric column: the bitmaps described in the
/// [module documentation](self).
///
/// `P` is whatever the planes are held in: `&RoaringBitmap`, `RoaringBitmap`
/// or `Arc<RoaringBitmap>` (as in storage's `ColumnBody::Numeric`), so no
/// vector of references has to be built to read a column.
#[derive(Debug)]
pub struct BsiRef<'a, P: Borrow<RoaringBitmap> = &'a RoaringBitmap> {
    /// Rows that have a value.
    pub not_null: &'a RoaringBitmap,
    /// Rows whose value is negative.
    pub sign: &'a RoaringBitmap,
    /// Magnitude planes, least significant first; missing trailing planes are empty.
    pub planes: &'a [P],
}

impl<P: Borrow<RoaringBitmap>> Clone for BsiRef<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Borrow<RoaringBitmap>> Copy for BsiRef<'_, P> {}

/// Which magnitude comparison [`magnitude_cmp`] computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MagOp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

/// Turns a sign and a magnitude back into a value (wrapping for magnitudes
/// an `i64` cannot have; see the module documentation).
fn decode(negative: bool, magnitude: u64) -> i64 {
    if negative {
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    }
}

impl<'a, P: Borrow<RoaringBitmap>> BsiRef<'a, P> {
    /// A view of a column.
    pub fn new(not_null: &'a RoaringBitmap, sign: &'a RoaringBitmap, planes: &'a [P]) -> Self {
        BsiRef {
            not_null,
            sign,
            planes,
        }
    }

    /// The number of planes that are read (at most [`MAX_PLANES`]).
    fn depth(&self) -> usize {
        self.planes.len().min(MAX_PLANES)
    }

    /// Plane `i`, or `None` when it is missing (empty).
    fn plane(&self, i: usize) -> Option<&RoaringBitmap> {
        self.planes
            .get(i)
            .filter(|_| i < MAX_PLANES)
            .map(Borrow::borrow)
    }

    /// Splits `base ∩ not_null` into (non-negative rows, negative rows).
    fn split_sign(&self, base: Option<&RoaringBitmap>) -> (RoaringBitmap, RoaringBitmap) {
        let set = match base {
            Some(b) => self.not_null & b,
            None => self.not_null.clone(),
        };
        let negative = &set & self.sign;
        let positive = set - &negative;
        (positive, negative)
    }

    /// The rows of `set` whose magnitude relates to `c` as `op` says.
    ///
    /// Walks the planes from the most significant bit of `max(c, planes)`
    /// down, narrowing the set of rows still equal to `c`'s prefix; stops as
    /// soon as that set is empty. At most three bitmap operations per plane.
    fn magnitude_cmp(&self, set: RoaringBitmap, c: u64, op: MagOp) -> RoaringBitmap {
        let track_lt = matches!(op, MagOp::Lt | MagOp::Le);
        let track_gt = matches!(op, MagOp::Gt | MagOp::Ge);
        let mut eq = set;
        let mut side = RoaringBitmap::new();
        let c_bits = (u64::BITS - c.leading_zeros()) as usize;
        let top = self.depth().max(c_bits);
        for i in (0..top).rev() {
            if eq.is_empty() {
                break;
            }
            let bit = (c >> i) & 1 == 1;
            match (self.plane(i), bit) {
                (Some(plane), true) => {
                    if track_lt {
                        side |= &eq - plane;
                    }
                    eq &= plane;
                }
                (Some(plane), false) => {
                    if track_gt {
                        side |= &eq & plane;
                    }
                    eq -= plane;
                }
                // A missing plane is empty: every row still equal so far is smaller.
                (None, true) => {
                    if track_lt {
                        side |= &eq;
                    }
                    eq.clear();
                }
                (None, false) => {}
            }
        }
        match op {
            MagOp::Eq => eq,
            MagOp::Lt | MagOp::Gt => side,
            MagOp::Le | MagOp::Ge => side | eq,
        }
    }

    /// The rows (within `not_null`) whose value satisfies `value op x`.
    ///
    /// Cost: `O(planes)` bitmap operations, fewer when the rows matching a
    /// prefix of `x` run out early.
    pub fn compare(&self, op: CompareOp, x: i64) -> RoaringBitmap {
        self.compare_within(op, x, None)
    }

    /// Like [`BsiRef::compare`], but only over the rows of `candidates` (when
    /// given): the result is `compare(op, x) ∩ candidates`, computed on the
    /// smaller set.
    pub fn compare_within(
        &self,
        op: CompareOp,
        x: i64,
        candidates: Option<&RoaringBitmap>,
    ) -> RoaringBitmap {
        let (positive, negative) = self.split_sign(candidates);
        let c = x.unsigned_abs();
        if x >= 0 {
            match op {
                CompareOp::Eq => self.magnitude_cmp(positive, c, MagOp::Eq),
                CompareOp::Ne => {
                    let eq = self.magnitude_cmp(positive.clone(), c, MagOp::Eq);
                    (positive - eq) | negative
                }
                CompareOp::Lt => self.magnitude_cmp(positive, c, MagOp::Lt) | negative,
                CompareOp::Le => self.magnitude_cmp(positive, c, MagOp::Le) | negative,
                CompareOp::Gt => self.magnitude_cmp(positive, c, MagOp::Gt),
                CompareOp::Ge => self.magnitude_cmp(positive, c, MagOp::Ge),
            }
        } else {
            // Among negatives, a larger magnitude is a smaller value.
            match op {
                CompareOp::Eq => self.magnitude_cmp(negative, c, MagOp::Eq),
                CompareOp::Ne => {
                    let eq = self.magnitude_cmp(negative.clone(), c, MagOp::Eq);
                    (negative - eq) | positive
                }
                CompareOp::Lt => self.magnitude_cmp(negative, c, MagOp::Gt),
                CompareOp::Le => self.magnitude_cmp(negative, c, MagOp::Ge),
                CompareOp::Gt => self.magnitude_cmp(negative, c, MagOp::Lt) | positive,
                CompareOp::Ge => self.magnitude_cmp(negative, c, MagOp::Le) | positive,
            }
        }
    }

    /// The rows whose value lies in `lo ..= hi`; empty when `lo > hi`.
    ///
    /// Cost: two comparisons, the second one only over the rows the first kept.
    pub fn between(&self, lo: i64, hi: i64) -> RoaringBitmap {
        if lo > hi {
            return RoaringBitmap::new();
        }
        if lo == hi {
            return self.compare(CompareOp::Eq, lo);
        }
        let ge = self.compare(CompareOp::Ge, lo);
        self.compare_within(CompareOp::Le, hi, Some(&ge))
    }

    /// The sum and the count of the values of the rows in `filter` (all rows
    /// when `None`); NULLs are skipped. `(0, 0)` when no row has a value.
    ///
    /// Cost: two bitmap operations, then two intersection counts per plane.
    /// The `i128` sum cannot overflow (at most `2^32` rows of `|v| ≤ 2^63`).
    pub fn sum(&self, filter: Option<&RoaringBitmap>) -> (i128, u64) {
        let (positive, negative) = self.split_sign(filter);
        let count = positive.len() + negative.len();
        let mut sum: i128 = 0;
        for i in 0..self.depth() {
            let Some(plane) = self.plane(i) else { continue };
            let mut n = i128::from(positive.intersection_len(plane));
            if !negative.is_empty() {
                n -= i128::from(negative.intersection_len(plane));
            }
            sum += n << i;
        }
        (sum, count)
    }

    /// The largest magnitude among `set` (non-empty), by descent from the
    /// top plane: keep the rows with the bit set whenever there are any.
    fn max_magnitude(&self, mut set: RoaringBitmap) -> u64 {
        let mut mag = 0u64;
        for i in (0..self.depth()).rev() {
            let Some(plane) = self.plane(i) else { continue };
            if set.is_disjoint(plane) {
                continue;
            }
            set &= plane;
            mag |= 1 << i;
        }
        mag
    }

    /// The smallest magnitude among `set` (non-empty): keep the rows with the
    /// bit clear whenever there are any.
    fn min_magnitude(&self, mut set: RoaringBitmap) -> u64 {
        let mut mag = 0u64;
        for i in (0..self.depth()).rev() {
            let Some(plane) = self.plane(i) else { continue };
            if set.is_subset(plane) {
                mag |= 1 << i;
            } else {
                set -= plane;
            }
        }
        mag
    }

    /// The smallest value among the rows of `filter` (all rows when `None`),
    /// or `None` when none has a value. Cost: `O(planes)` bitmap operations.
    pub fn min(&self, filter: Option<&RoaringBitmap>) -> Option<i64> {
        let (positive, negative) = self.split_sign(filter);
        if !negative.is_empty() {
            Some(decode(true, self.max_magnitude(negative)))
        } else if !positive.is_empty() {
            Some(decode(false, self.min_magnitude(positive)))
        } else {
            None
        }
    }

    /// The largest value among the rows of `filter` (all rows when `None`),
    /// or `None` when none has a value. Cost: `O(planes)` bitmap operations.
    pub fn max(&self, filter: Option<&RoaringBitmap>) -> Option<i64> {
        let (positive, negative) = self.split_sign(filter);
        if !positive.is_empty() {
            Some(decode(false, self.max_magnitude(positive)))
        } else if !negative.is_empty() {
            Some(decode(true, self.min_magnitude(negative)))
        } else {
            None
        }
    }

    /// The value of one row, or `None` when it is NULL. Cost: one `contains`
    /// per plane.
    pub fn value(&self, row: RowId) -> Option<i64> {
        if !self.not_null.contains(row) {
            return None;
        }
        let mut mag = 0u64;
        for i in 0..self.depth() {
            if self.plane(i).is_some_and(|p| p.contains(row)) {
                mag |= 1 << i;
            }
        }
        Some(decode(self.sign.contains(row), mag))
    }

    /// The values of the non-null rows of `rows`, in row order (NULL rows are
    /// left out).
    ///
    /// Cost: per plane one intersection with `rows` and one merge walk over
    /// the result, so `O(planes × |rows|)` word operations and no per-row
    /// bitmap lookups.
    pub fn values(&self, rows: &RoaringBitmap) -> Vec<(RowId, i64)> {
        let present = self.not_null & rows;
        let ids: Vec<RowId> = present.iter().collect();
        let mut mags = vec![0u64; ids.len()];
        for i in 0..self.depth() {
            let Some(plane) = self.plane(i) else { continue };
            scatter_bit(&ids, &mut mags, &(&present & plane), 1 << i);
        }
        let mut negative = vec![0u64; ids.len()];
        scatter_bit(&ids, &mut negative, &(&present & self.sign), 1);
        ids.into_iter()
            .zip(mags.into_iter().zip(negative))
            .map(|(row, (mag, neg))| (row, decode(neg == 1, mag)))
            .collect()
    }
}

/// ORs `bit` into `out[k]` for every `ids[k]` in `set`; `set ⊆ ids` and
/// `ids` is sorted, so one forward merge walk finds them all.
fn scatter_bit(ids: &[RowId], out: &mut [u64], set: &RoaringBitmap, bit: u64) {
    let mut k = 0;
    for row in set {
        while k < ids.len() && ids[k] < row {
            k += 1;
        }
        if let Some(slot) = out.get_mut(k) {
            *slot |= bit;
        }
    }
}
