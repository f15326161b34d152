//! Comparing two bit-sliced columns with each other, row by row, on bitmaps
//! (`a < b` where both are columns of one stored encoding).
//!
//! Both columns are in sign–magnitude form (see the [parent module](super)).
//! The magnitudes are compared by one walk over the planes from the most
//! significant bit down, keeping three running sets over the candidate
//! rows: magnitudes still equal so far, already smaller, already greater. A
//! row leaves the "equal" set at the first plane where its two bits differ;
//! the walk stops once that set is empty. The signs then decide: a negative
//! value is below every non-negative one, and among two negatives the larger
//! magnitude is the smaller value. Cost: at most six bitmap operations per
//! plane, never a loop over rows.

use super::{BsiRef, CompareOp};
use roaring::RoaringBitmap;
use std::borrow::Borrow;

/// How the magnitudes of the candidate rows compare.
struct MagnitudeOrder {
    less: RoaringBitmap,
    equal: RoaringBitmap,
    greater: RoaringBitmap,
}

/// Compares `|a|` with `|b|` for every row of `set`.
fn magnitudes<P, Q>(a: &BsiRef<'_, P>, b: &BsiRef<'_, Q>, set: RoaringBitmap) -> MagnitudeOrder
where
    P: Borrow<RoaringBitmap>,
    Q: Borrow<RoaringBitmap>,
{
    let mut equal = set;
    let mut less = RoaringBitmap::new();
    let mut greater = RoaringBitmap::new();
    for i in (0..a.depth().max(b.depth())).rev() {
        if equal.is_empty() {
            break;
        }
        match (a.plane(i), b.plane(i)) {
            (None, None) => {}
            (Some(pa), None) => {
                let set_a = &equal & pa;
                equal -= &set_a;
                greater |= set_a;
            }
            (None, Some(pb)) => {
                let set_b = &equal & pb;
                equal -= &set_b;
                less |= set_b;
            }
            (Some(pa), Some(pb)) => {
                let set_a = &equal & pa;
                let set_b = &equal & pb;
                let only_a = &set_a - &set_b;
                let only_b = set_b - set_a;
                equal -= &only_a;
                equal -= &only_b;
                greater |= only_a;
                less |= only_b;
            }
        }
    }
    MagnitudeOrder {
        less,
        equal,
        greater,
    }
}

impl<P: Borrow<RoaringBitmap>> BsiRef<'_, P> {
    /// The rows where both columns have a value and `self op other` holds,
    /// among `candidates` (all rows when `None`). Both columns must store
    /// values in one encoding (the same integer scale, or both floats
    /// through the order-preserving mapping), so that stored integers
    /// compare as the values do.
    ///
    /// The FALSE rows of the comparison are the rows where both have a
    /// value minus this set; a row where either is NULL is in neither.
    pub fn compare_column<Q: Borrow<RoaringBitmap>>(
        &self,
        op: CompareOp,
        other: &BsiRef<'_, Q>,
        candidates: Option<&RoaringBitmap>,
    ) -> RoaringBitmap {
        let mut both = self.not_null & other.not_null;
        if let Some(c) = candidates {
            both &= c;
        }
        if both.is_empty() {
            return both;
        }
        let neg_a = &both & self.sign;
        let neg_b = &both & other.sign;
        // Exactly one negative: the sign alone decides.
        let a_below = &neg_a - &neg_b;
        let a_above = &neg_b - &neg_a;
        let both_neg = &neg_a & &neg_b;
        let same_sign = &both - &(&a_below | &a_above);
        if same_sign.is_empty() {
            return match op {
                CompareOp::Lt | CompareOp::Le => a_below,
                CompareOp::Gt | CompareOp::Ge => a_above,
                CompareOp::Ne => both,
                CompareOp::Eq => RoaringBitmap::new(),
            };
        }
        let m = magnitudes(self, other, same_sign);
        // Among negatives a larger magnitude is a smaller value.
        let below = || (&m.less - &both_neg) | (&m.greater & &both_neg) | &a_below;
        let above = || (&m.greater - &both_neg) | (&m.less & &both_neg) | &a_above;
        match op {
            CompareOp::Eq => m.equal,
            CompareOp::Ne => both - &m.equal,
            CompareOp::Lt => below(),
            CompareOp::Le => below() | &m.equal,
            CompareOp::Gt => above(),
            CompareOp::Ge => above() | &m.equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::BsiBuilder;
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    type Bitmaps = (RoaringBitmap, RoaringBitmap, Vec<RoaringBitmap>);

    fn build(model: &BTreeMap<u32, i64>) -> Bitmaps {
        let mut b = BsiBuilder::new();
        for (&row, &v) in model {
            b.push(row, v);
        }
        b.finish()
    }

    const OPS: [CompareOp; 6] = CompareOp::ALL;

    fn naive(
        a: &BTreeMap<u32, i64>,
        b: &BTreeMap<u32, i64>,
        op: CompareOp,
        within: Option<&RoaringBitmap>,
    ) -> RoaringBitmap {
        a.iter()
            .filter(|(r, _)| within.is_none_or(|w| w.contains(**r)))
            .filter_map(|(r, va)| b.get(r).map(|vb| (*r, *va, *vb)))
            .filter(|(_, va, vb)| op.eval(*va, *vb))
            .map(|(r, _, _)| r)
            .collect()
    }

    fn check(a: &BTreeMap<u32, i64>, b: &BTreeMap<u32, i64>, within: Option<&RoaringBitmap>) {
        let (ba, bb) = (build(a), build(b));
        let ra = BsiRef::new(&ba.0, &ba.1, &ba.2);
        let rb = BsiRef::new(&bb.0, &bb.1, &bb.2);
        for op in OPS {
            assert_eq!(
                ra.compare_column(op, &rb, within),
                naive(a, b, op, within),
                "{op:?}"
            );
        }
    }

    #[test]
    fn signs_zero_and_extremes() {
        let a: BTreeMap<u32, i64> = [
            (0, 0),
            (1, -1),
            (2, 5),
            (3, -5),
            (4, i64::MIN),
            (5, i64::MAX),
            (6, 7),
            (7, -3),
            (9, 4),
        ]
        .into_iter()
        .collect();
        let b: BTreeMap<u32, i64> = [
            (0, 0),
            (1, 1),
            (2, 5),
            (3, -6),
            (4, i64::MAX),
            (5, i64::MIN),
            (6, -7),
            (7, -3),
            (8, 1),
        ]
        .into_iter()
        .collect();
        check(&a, &b, None);
        let lt = {
            let (ba, bb) = (build(&a), build(&b));
            BsiRef::new(&ba.0, &ba.1, &ba.2).compare_column(
                CompareOp::Lt,
                &BsiRef::new(&bb.0, &bb.1, &bb.2),
                None,
            )
        };
        // -1 < 1, i64::MIN < i64::MAX; -5 < -6 is false; 7 < -7 false.
        assert_eq!(lt.iter().collect::<Vec<_>>(), vec![1, 4]);
        check(&a, &b, Some(&[1u32, 3, 5, 8, 9].into_iter().collect()));
    }

    #[test]
    fn columns_with_different_plane_counts() {
        let a: BTreeMap<u32, i64> = (0..300).map(|r| (r, i64::from(r % 7))).collect();
        let b: BTreeMap<u32, i64> = (0..300)
            .map(|r| (r, i64::from(r) * 1_000_003 - 150_000_000))
            .collect();
        check(&a, &b, None);
        check(&b, &a, None);
        let empty = BTreeMap::new();
        check(&a, &empty, None);
    }

    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => -4i64..4,
            3 => -300i64..300,
            2 => any::<i64>(),
            1 => Just(i64::MIN),
            1 => Just(i64::MAX),
        ]
    }

    fn column() -> impl Strategy<Value = BTreeMap<u32, i64>> {
        prop::collection::btree_map(
            prop_oneof![0u32..400, 65_500u32..65_600, 0u32..2_000_000],
            value(),
            0..300,
        )
    }

    proptest! {
        #[test]
        fn equals_the_naive_comparison(
            a in column(),
            b in column(),
            shared in prop::collection::vec((0u32..400, value(), value()), 0..200),
            within in prop::option::of(prop::collection::vec(0u32..2_000_000, 0..300)),
        ) {
            // Rows where both have a value, so the comparisons have work.
            let (mut a, mut b) = (a, b);
            for (r, va, vb) in shared {
                a.insert(r, va);
                b.insert(r, vb);
            }
            let within: Option<RoaringBitmap> =
                within.map(|w| w.into_iter().chain(0..200).collect());
            check(&a, &b, within.as_ref());
        }
    }
}
