//! BSI algorithms against a naive model: a map from row to value.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A column both as bitmaps and as the model.
struct Column {
    not_null: RoaringBitmap,
    sign: RoaringBitmap,
    planes: Vec<RoaringBitmap>,
    model: BTreeMap<u32, i64>,
}

impl Column {
    fn build(model: BTreeMap<u32, i64>) -> Column {
        let mut b = BsiBuilder::new();
        for (&row, &v) in &model {
            b.push(row, v);
        }
        let (not_null, sign, planes) = b.finish();
        Column {
            not_null,
            sign,
            planes,
            model,
        }
    }

    fn bsi(&self) -> BsiRef<'_, RoaringBitmap> {
        BsiRef::new(&self.not_null, &self.sign, &self.planes)
    }

    fn rows_where(&self, f: impl Fn(i64) -> bool) -> RoaringBitmap {
        self.model
            .iter()
            .filter(|(_, v)| f(**v))
            .map(|(r, _)| *r)
            .collect()
    }
}

fn value_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => -5i64..5,
        3 => 0i64..200,
        2 => -100_000i64..100_000,
        2 => any::<i64>(),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN + 1),
        1 => (-(1i64 << 40))..(1i64 << 40),
    ]
}

fn row_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..5_000, 0u32..3_000_000, 65_530u32..65_600]
}

fn model_strategy() -> impl Strategy<Value = BTreeMap<u32, i64>> {
    // Some columns have few distinct values (many rows per value, as an age
    // column), others draw from every kind of value.
    let few = prop::collection::vec((row_strategy(), -3i64..40), 0..3000);
    let mixed = prop::collection::vec((row_strategy(), value_strategy()), 0..3000);
    prop_oneof![few, mixed].prop_map(|pairs| pairs.into_iter().collect())
}

/// Constants to compare with: extremes, values present, and their neighbours.
fn probes(model: &BTreeMap<u32, i64>, extra: i64) -> Vec<i64> {
    let mut xs = vec![
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        i64::MAX - 1,
        i64::MAX,
        extra,
    ];
    for v in model.values().take(7) {
        xs.extend([*v, v.saturating_add(1), v.saturating_sub(1)]);
    }
    xs
}

fn filter_of(model: &BTreeMap<u32, i64>, keep_mod: u32) -> RoaringBitmap {
    // Some rows with values, some without (nulls), so filters mix both.
    model
        .keys()
        .copied()
        .filter(|r| r % keep_mod == 0)
        .chain([7, 3_000_001])
        .collect()
}

const OPS: [CompareOp; 6] = CompareOp::ALL;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn compare_matches_model(model in model_strategy(), x in value_strategy()) {
        let col = Column::build(model);
        let bsi = col.bsi();
        for x in probes(&col.model, x) {
            for op in OPS {
                prop_assert_eq!(bsi.compare(op, x), col.rows_where(|v| op.eval(v, x)), "{:?} {}", op, x);
            }
        }
    }

    #[test]
    fn compare_within_is_compare_intersected(model in model_strategy(), x in value_strategy(), m in 1u32..5) {
        let col = Column::build(model);
        let filter = filter_of(&col.model, m);
        for op in OPS {
            prop_assert_eq!(col.bsi().compare_within(op, x, Some(&filter)), col.bsi().compare(op, x) & &filter);
        }
    }

    #[test]
    fn between_matches_model(model in model_strategy(), a in value_strategy(), b in value_strategy()) {
        let col = Column::build(model);
        let bsi = col.bsi();
        for (lo, hi) in [(a, b), (b, a), (a, a), (a.min(b), a.max(b))] {
            prop_assert_eq!(bsi.between(lo, hi), col.rows_where(|v| lo <= v && v <= hi), "{} {}", lo, hi);
        }
    }

    #[test]
    fn sum_and_count_match_model(model in model_strategy(), m in 1u32..5) {
        let col = Column::build(model);
        let filter = filter_of(&col.model, m);
        let all: i128 = col.model.values().map(|v| i128::from(*v)).sum();
        prop_assert_eq!(col.bsi().sum(None), (all, col.model.len() as u64));
        let kept: Vec<i64> = col.model.iter().filter(|(r, _)| filter.contains(**r)).map(|(_, v)| *v).collect();
        prop_assert_eq!(col.bsi().sum(Some(&filter)), (kept.iter().map(|v| i128::from(*v)).sum(), kept.len() as u64));
    }

    #[test]
    fn min_max_match_model(model in model_strategy(), m in 1u32..5) {
        let col = Column::build(model);
        let filter = filter_of(&col.model, m);
        prop_assert_eq!(col.bsi().min(None), col.model.values().min().copied());
        prop_assert_eq!(col.bsi().max(None), col.model.values().max().copied());
        let kept = || col.model.iter().filter(|(r, _)| filter.contains(**r)).map(|(_, v)| *v);
        prop_assert_eq!(col.bsi().min(Some(&filter)), kept().min());
        prop_assert_eq!(col.bsi().max(Some(&filter)), kept().max());
    }

    #[test]
    fn value_and_values_match_model(model in model_strategy(), m in 1u32..5) {
        let col = Column::build(model);
        let bsi = col.bsi();
        for (&row, &v) in col.model.iter().take(200) {
            prop_assert_eq!(bsi.value(row), Some(v));
        }
        prop_assert_eq!(bsi.value(3_000_001), None);
        let filter = filter_of(&col.model, m);
        let expected: Vec<(u32, i64)> = col.model.iter().filter(|(r, _)| filter.contains(**r)).map(|(r, v)| (*r, *v)).collect();
        prop_assert_eq!(bsi.values(&filter), expected);
    }

    #[test]
    fn group_counts_and_groups_match_model(model in model_strategy(), m in 1u32..5) {
        let col = Column::build(model);
        let filter = filter_of(&col.model, m);
        for f in [None, Some(&filter)] {
            let mut expected: BTreeMap<i64, RoaringBitmap> = BTreeMap::new();
            for (&r, &v) in &col.model {
                if f.is_none_or(|f| f.contains(r)) {
                    expected.entry(v).or_default().insert(r);
                }
            }
            let counts: Vec<(i64, u64)> = expected.iter().map(|(v, rows)| (*v, rows.len())).collect();
            prop_assert_eq!(col.bsi().group_counts(f), counts);
            prop_assert_eq!(col.bsi().groups(f), expected.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn assign_then_compare_matches_model(
        model in model_strategy(),
        writes in prop::collection::vec((prop::collection::vec(row_strategy(), 0..200), prop::option::weighted(0.8, value_strategy())), 1..6),
        x in value_strategy(),
    ) {
        let Column { mut not_null, mut sign, mut planes, mut model } = Column::build(model);
        for (rows, value) in writes {
            let rows: RoaringBitmap = rows.into_iter().collect();
            assign(&mut not_null, &mut sign, &mut planes, &rows, value);
            for r in &rows {
                match value {
                    Some(v) => model.insert(r, v),
                    None => model.remove(&r),
                };
            }
        }
        prop_assert!(planes.last().is_none_or(|p| !p.is_empty()));
        let col = Column { not_null, sign, planes, model };
        for x in probes(&col.model, x) {
            for op in OPS {
                prop_assert_eq!(col.bsi().compare(op, x), col.rows_where(|v| op.eval(v, x)));
            }
        }
        prop_assert_eq!(col.bsi().sum(None).0, col.model.values().map(|v| i128::from(*v)).sum::<i128>());
    }

    #[test]
    fn builder_equals_repeated_assign(model in model_strategy()) {
        let col = Column::build(model);
        let (mut nn, mut sign, mut planes) = (RoaringBitmap::new(), RoaringBitmap::new(), Vec::new());
        for (&row, &v) in &col.model {
            assign(&mut nn, &mut sign, &mut planes, &RoaringBitmap::from_iter([row]), Some(v));
        }
        prop_assert_eq!((nn, sign, planes), (col.not_null, col.sign, col.planes));
    }

    #[test]
    fn builder_accepts_rows_out_of_order(pairs in prop::collection::vec((row_strategy(), value_strategy()), 0..500)) {
        let mut b = BsiBuilder::new();
        let mut model = BTreeMap::new();
        for (r, v) in pairs {
            b.push(r, v);
            model.insert(r, v);
        }
        let (nn, sign, planes) = b.finish();
        prop_assert_eq!((nn, sign, planes), {
            let c = Column::build(model);
            (c.not_null, c.sign, c.planes)
        });
    }
}

#[test]
fn extremes_round_trip_through_every_reader() {
    let col = Column::build(BTreeMap::from([
        (1, i64::MIN),
        (2, i64::MAX),
        (3, 0),
        (4, -1),
    ]));
    let bsi = col.bsi();
    assert_eq!(bsi.value(1), Some(i64::MIN));
    assert_eq!(bsi.min(None), Some(i64::MIN));
    assert_eq!(bsi.max(None), Some(i64::MAX));
    assert_eq!(bsi.sum(None), (-2, 4));
    assert_eq!(
        bsi.compare(CompareOp::Lt, i64::MIN + 1),
        RoaringBitmap::from_iter([1])
    );
    assert_eq!(
        bsi.group_counts(None),
        vec![(i64::MIN, 1), (-1, 1), (0, 1), (i64::MAX, 1)]
    );
}

#[test]
fn bits_outside_not_null_are_ignored() {
    let mut col = Column::build(BTreeMap::from([(1, -5), (2, 5), (3, 7)]));
    col.not_null.remove(1);
    col.not_null.remove(3);
    let bsi = col.bsi();
    assert_eq!(bsi.compare(CompareOp::Ne, 0), RoaringBitmap::from_iter([2]));
    assert_eq!(bsi.sum(None), (5, 1));
    assert_eq!(bsi.min(None), Some(5));
    assert_eq!(bsi.group_counts(None), vec![(5, 1)]);
    assert_eq!(
        bsi.values(&RoaringBitmap::from_iter([1, 2, 3])),
        vec![(2, 5)]
    );
}

#[test]
fn missing_and_empty_columns_read_as_empty() {
    let empty = RoaringBitmap::new();
    let planes: Vec<Arc<RoaringBitmap>> = Vec::new();
    let bsi = BsiRef::new(&empty, &empty, &planes);
    assert!(bsi.compare(CompareOp::Ne, 3).is_empty());
    assert_eq!(bsi.sum(None), (0, 0));
    assert_eq!(bsi.min(None), None);
    assert!(bsi.group_counts(None).is_empty());
    // All-zero values have no planes at all.
    let col = Column::build(BTreeMap::from([(1, 0), (2, 0)]));
    assert!(col.planes.is_empty());
    assert_eq!(col.bsi().compare(CompareOp::Eq, 0).len(), 2);
    assert_eq!(col.bsi().compare(CompareOp::Gt, i64::MAX).len(), 0);
}

#[test]
fn assign_null_drops_trailing_planes() {
    let mut col = Column::build(BTreeMap::from([(1, 1 << 40), (2, 3)]));
    let rows = RoaringBitmap::from_iter([1]);
    assign(
        &mut col.not_null,
        &mut col.sign,
        &mut col.planes,
        &rows,
        None,
    );
    assert_eq!(col.planes.len(), 2);
}

#[test]
fn compare_op_flip_and_negate_agree_with_eval() {
    for op in OPS {
        for (a, b) in [(1, 2), (2, 2), (3, 2)] {
            assert_eq!(op.eval(a, b), op.flip().eval(b, a));
            assert_eq!(op.eval(a, b), !op.negate().eval(a, b));
        }
    }
}

/// `cargo test --release --lib bsi_vs_scan -- --ignored --nocapture`
#[test]
#[ignore = "measurement, run in release"]
fn bsi_vs_scan() {
    use std::time::Instant;
    const N: u32 = 1_000_000;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let data: Vec<i64> = (0..N).map(|_| (next() % 65_536) as i64).collect();
    let mut b = BsiBuilder::new();
    let t = Instant::now();
    for (row, v) in data.iter().enumerate() {
        b.push(row as u32, *v);
    }
    let (nn, sign, planes) = b.finish();
    let build = t.elapsed();
    let bsi = BsiRef::new(&nn, &sign, &planes);
    let reps = 20;
    let time = |f: &mut dyn FnMut() -> u64| {
        let t = Instant::now();
        let mut acc = 0;
        for _ in 0..reps {
            acc += f();
        }
        (t.elapsed() / reps, acc / u64::from(reps))
    };
    let x = 40_000;
    let (gt_bsi, a) = time(&mut || bsi.compare(CompareOp::Gt, x).len());
    let (gt_scan, b2) = time(&mut || {
        let r: RoaringBitmap = RoaringBitmap::from_sorted_iter(
            data.iter()
                .enumerate()
                .filter(|(_, v)| **v > x)
                .map(|(i, _)| i as u32),
        )
        .unwrap_or_default();
        r.len()
    });
    let (gt_count_scan, c) = time(&mut || {
        std::hint::black_box(&data)
            .iter()
            .filter(|v| **v > x)
            .count() as u64
    });
    let (sum_bsi, d) = time(&mut || bsi.sum(None).0 as u64);
    let (sum_scan, e) = time(&mut || std::hint::black_box(&data).iter().sum::<i64>() as u64);
    assert_eq!((a, d), (b2, e));
    assert_eq!(a, c);
    println!(
        "1M rows, {} planes, build {build:?}\n compare(Gt) bsi {gt_bsi:?} | scan→bitmap {gt_scan:?} | scan count only {gt_count_scan:?}\n sum bsi {sum_bsi:?} | scan {sum_scan:?}",
        planes.len()
    );
}
