//! Segment file tests: round trips, lookups, corruption, and a timing probe.

use super::*;
use crate::index::{Key, TagKind};
use crate::storage::{
    Backend, BitmapRole, ColumnBody, ColumnDelta, FsBackend, KeyBlock, StorageError, TableDelta,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const S1: u32 = 1 << 20;
pub(super) const S2: u32 = 1 << 21;

pub(super) fn bm(rows: impl IntoIterator<Item = u32>) -> Arc<RoaringBitmap> {
    Arc::new(rows.into_iter().collect())
}

pub(super) fn values_body(multi: bool, values: &[(&str, Vec<u32>)]) -> ColumnBody {
    ColumnBody::Values {
        multi,
        values: values
            .iter()
            .map(|(v, rows)| (Arc::from(*v), bm(rows.iter().copied())))
            .collect(),
    }
}

pub(super) fn column(touched: &[u32], not_null: &[u32], body: ColumnBody) -> ColumnDelta {
    ColumnDelta {
        touched: bm(touched.iter().copied()),
        not_null: bm(not_null.iter().copied()),
        body,
    }
}

/// A delta with one column of each kind, rows in three shards, a NULL-only
/// touched row, deletions and BIGINT keys.
fn sample_delta() -> (BTreeMap<u32, TagKind>, TableDelta) {
    let rows = [1, 7, S1 + 3, S2 + 5];
    let mut columns = BTreeMap::new();
    columns.insert(
        1,
        column(
            &rows,
            &[1, 7, S1 + 3],
            ColumnBody::Flag {
                trues: bm([7, S1 + 3]),
            },
        ),
    );
    columns.insert(
        2,
        column(
            &rows,
            &[1, 7, S2 + 5],
            values_body(
                false,
                &[("de", vec![1, S2 + 5]), ("fr", vec![7]), ("zz", vec![])],
            ),
        ),
    );
    columns.insert(
        3,
        column(
            &rows,
            &rows,
            values_body(true, &[("a", vec![1, 7]), ("b", vec![7, S2 + 5])]),
        ),
    );
    columns.insert(
        4,
        column(
            &rows,
            &[1, 7, S1 + 3],
            ColumnBody::Numeric {
                sign: bm([7]),
                planes: vec![bm([1]), bm([]), bm([7, S1 + 3]), bm([])],
            },
        ),
    );
    columns.insert(
        5,
        column(&[9, S1 + 9], &[], ColumnBody::empty(TagKind::Flag)),
    );
    let kinds = [
        (1, TagKind::Flag),
        (2, TagKind::Categorical),
        (3, TagKind::MultiValued),
        (4, TagKind::Numeric),
        (5, TagKind::Flag),
    ]
    .into_iter()
    .collect();
    let keys = KeyBlock {
        first_row: 1,
        keys: vec![Key::Int(50), Key::Int(-3), Key::Int(7)],
    };
    (
        kinds,
        TableDelta {
            keys,
            deleted: bm([2, S2 + 1]),
            columns,
        },
    )
}

/// What `to_delta` returns for `delta`: empty values and trailing empty
/// planes dropped, columns without a kind dropped.
pub(super) fn normalized(kinds: &BTreeMap<u32, TagKind>, delta: &TableDelta) -> TableDelta {
    let mut out = delta.clone();
    out.columns.retain(|id, _| kinds.contains_key(id));
    for c in out.columns.values_mut() {
        match &mut c.body {
            ColumnBody::Values { values, .. } => values.retain(|_, b| !b.is_empty()),
            ColumnBody::Numeric { planes, .. } => {
                while planes.last().is_some_and(|p| p.is_empty()) {
                    planes.pop();
                }
            }
            ColumnBody::Flag { .. } => {}
        }
    }
    out
}

pub(super) fn write_and_open(
    kinds: &BTreeMap<u32, TagKind>,
    delta: &TableDelta,
) -> (tempfile::TempDir, FsBackend, Segment) {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = FsBackend::new(dir.path()).expect("backend");
    write_segment(&backend, "s.seg", 9, kinds, delta).expect("write");
    let seg = Segment::open(&backend, "s.seg", Arc::new(BitmapCache::new(1 << 20))).expect("open");
    (dir, backend, seg)
}

#[test]
fn round_trip_of_every_kind_across_shards() {
    let (kinds, delta) = sample_delta();
    let (_dir, backend, seg) = write_and_open(&kinds, &delta);
    assert!(
        !backend.exists("s.seg.tmp").expect("exists"),
        "temporary file renamed away"
    );
    assert_eq!(seg.table_id(), 9);
    assert_eq!(seg.columns(), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        seg.to_delta().expect("to_delta"),
        normalized(&kinds, &delta)
    );
    assert_eq!(seg.shards(), vec![0, 1, 2]);
    seg.verify().expect("verify");
}

#[test]
fn per_shard_bitmaps_hold_only_their_shard() {
    let (kinds, delta) = sample_delta();
    let (_dir, _b, seg) = write_and_open(&kinds, &delta);
    let s1 = seg
        .bitmap(2, BitmapRole::Value(0), 0)
        .expect("read")
        .expect("present");
    assert_eq!(s1.iter().collect::<Vec<_>>(), vec![1]);
    let s2 = seg
        .bitmap(2, BitmapRole::Value(0), 2)
        .expect("read")
        .expect("present");
    assert_eq!(s2.iter().collect::<Vec<_>>(), vec![S2 + 5]);
    assert!(
        seg.bitmap(2, BitmapRole::Value(0), 1)
            .expect("read")
            .is_none()
    );
    assert_eq!(
        seg.bitmap_all(1, BitmapRole::FlagTrue).expect("all"),
        *bm([7, S1 + 3])
    );
    assert_eq!(seg.cardinality(2, BitmapRole::Value(0)), 2);
    assert_eq!(seg.cardinality(1, BitmapRole::Touched), 4);
}

#[test]
fn values_drop_empty_ones_and_planes_trim() {
    let (kinds, delta) = sample_delta();
    let (_dir, _b, seg) = write_and_open(&kinds, &delta);
    let values: Vec<&str> = seg.values(2).iter().map(|v| &**v).collect();
    assert_eq!(values, vec!["de", "fr"]);
    assert_eq!(seg.value_ordinal(2, "fr"), Some(1));
    assert_eq!(seg.value_ordinal(2, "zz"), None);
    assert_eq!(seg.plane_count(4), 3);
    assert_eq!(seg.column_kind(4), Some(TagKind::Numeric));
    assert!(seg.values(4).is_empty());
}

#[test]
fn null_only_touched_rows_survive() {
    let (kinds, delta) = sample_delta();
    let (_dir, _b, seg) = write_and_open(&kinds, &delta);
    assert_eq!(
        seg.bitmap_all(5, BitmapRole::Touched).expect("touched"),
        *bm([9, S1 + 9])
    );
    assert_eq!(seg.cardinality(5, BitmapRole::NotNull), 0);
    assert!(
        seg.bitmap(1, BitmapRole::NotNull, 2)
            .expect("read")
            .is_none(),
        "row S2+5 is NULL in column 1"
    );
}

#[test]
fn deleted_rows_are_stored_per_shard() {
    let (kinds, delta) = sample_delta();
    let (_dir, _b, seg) = write_and_open(&kinds, &delta);
    assert_eq!(seg.deleted(0).expect("read").as_deref(), Some(&*bm([2])));
    assert_eq!(
        seg.deleted(2).expect("read").as_deref(),
        Some(&*bm([S2 + 1]))
    );
    assert!(seg.deleted(1).expect("read").is_none());
}

#[test]
fn bigint_keys_resolve_both_ways() {
    let (kinds, delta) = sample_delta();
    let (_dir, _b, seg) = write_and_open(&kinds, &delta);
    assert_eq!(seg.key_rows(), (1, 4));
    assert_eq!(seg.key(2).expect("key"), Some(Key::Int(-3)));
    assert_eq!(seg.key(0).expect("key"), None);
    assert_eq!(seg.key(4).expect("key"), None);
    assert_eq!(seg.row_of(&Key::Int(7)).expect("row"), Some(3));
    assert_eq!(seg.row_of(&Key::Int(8)).expect("row"), None);
    assert_eq!(seg.row_of(&Key::Text("7".into())).expect("row"), None);
}

#[test]
fn text_keys_resolve_both_ways() {
    let keys: Vec<Key> = ["carol", "", "alice", "bob", "ünï"]
        .iter()
        .map(|k| Key::Text((*k).into()))
        .collect();
    let delta = TableDelta {
        keys: KeyBlock {
            first_row: S1 - 2,
            keys: keys.clone(),
        },
        ..Default::default()
    };
    let (_dir, _b, seg) = write_and_open(&BTreeMap::new(), &delta);
    for (row, key) in (S1 - 2..).zip(&keys) {
        assert_eq!(seg.key(row).expect("key").as_ref(), Some(key));
        assert_eq!(seg.row_of(key).expect("row"), Some(row));
    }
    assert_eq!(seg.row_of(&Key::Text("dave".into())).expect("row"), None);
    assert_eq!(seg.row_of(&Key::Text("a".into())).expect("row"), None);
    assert_eq!(seg.row_of(&Key::Int(1)).expect("row"), None);
    seg.verify().expect("verify");
}

#[test]
fn repeated_key_resolves_to_its_newest_row() {
    // A deleted row's key inserted again gets a new row id; both stay in the
    // key block, and lookups must find the newest.
    let delta = TableDelta {
        keys: KeyBlock {
            first_row: 10,
            keys: vec![Key::Int(1), Key::Int(2), Key::Int(1), Key::Int(1)],
        },
        ..Default::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = FsBackend::new(dir.path()).expect("backend");
    write_segment(&backend, "s.seg", 1, &BTreeMap::new(), &delta).expect("write");
    let seg = Segment::open(&backend, "s.seg", Arc::new(BitmapCache::new(1 << 20))).expect("open");
    assert_eq!(seg.row_of(&Key::Int(1)).expect("row"), Some(13));
    assert_eq!(seg.row_of(&Key::Int(2)).expect("row"), Some(11));
    assert_eq!(seg.row_of(&Key::Int(3)).expect("row"), None);
    assert_eq!(seg.key(10).expect("key"), Some(Key::Int(1)));
    seg.verify().expect("verify");
}

#[test]
fn writer_rejects_values_outside_not_null() {
    let mut columns = BTreeMap::new();
    columns.insert(
        1,
        column(&[1, 2], &[1], ColumnBody::Flag { trues: bm([2]) }),
    );
    let delta = TableDelta {
        columns,
        ..Default::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = FsBackend::new(dir.path()).expect("backend");
    let kinds = [(1, TagKind::Flag)].into_iter().collect();
    let err = write_segment(&backend, "s.seg", 1, &kinds, &delta).expect_err("invalid");
    assert!(matches!(err, StorageError::InvalidValue { .. }));
}

#[test]
fn columns_without_kind_are_skipped() {
    let (mut kinds, delta) = sample_delta();
    kinds.remove(&3);
    let (_dir, _b, seg) = write_and_open(&kinds, &delta);
    assert_eq!(seg.columns(), vec![1, 2, 4, 5]);
    assert_eq!(
        seg.to_delta().expect("to_delta"),
        normalized(&kinds, &delta)
    );
}

/// A column with 100 values over rows in two shards: row r holds value
/// `r % 100` (categorical) or `{r % 100, (r / 7) % 100}` (multi); every 5th row is NULL.
fn many_values_delta(multi: bool) -> (BTreeMap<u32, TagKind>, TableDelta, Vec<u32>) {
    let rows: Vec<u32> = (0..3000).chain(S1..S1 + 3000).collect();
    let not_null: Vec<u32> = rows
        .iter()
        .copied()
        .filter(|r| !r.is_multiple_of(5))
        .collect();
    let mut values: BTreeMap<Arc<str>, RoaringBitmap> = BTreeMap::new();
    let name = |v: u32| Arc::<str>::from(format!("v{v:03}"));
    for &r in &not_null {
        values.entry(name(r % 100)).or_default().insert(r);
        if multi {
            values.entry(name((r / 7) % 100)).or_default().insert(r);
        }
    }
    let body = ColumnBody::Values {
        multi,
        values: values.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
    };
    let kind = if multi {
        TagKind::MultiValued
    } else {
        TagKind::Categorical
    };
    let mut columns = BTreeMap::new();
    columns.insert(3, column(&rows, &not_null, body));
    (
        std::iter::once((3, kind)).collect(),
        TableDelta {
            columns,
            ..Default::default()
        },
        rows,
    )
}

fn expected_values(multi: bool, r: u32) -> Vec<String> {
    if r.is_multiple_of(5) {
        return vec![];
    }
    let mut v = vec![r % 100];
    if multi {
        v.push((r / 7) % 100);
    }
    v.sort_unstable();
    v.dedup();
    v.into_iter().map(|v| format!("v{v:03}")).collect()
}

#[test]
fn forward_index_answers_single_row_lookups() {
    for multi in [false, true] {
        let (kinds, delta, rows) = many_values_delta(multi);
        let (_dir, _b, seg) = write_and_open(&kinds, &delta);
        assert_eq!(
            seg.forward_regions(3).len(),
            2,
            "one forward blob per shard"
        );
        for &r in rows.iter().chain(&[5000, S2]) {
            let ordinals = seg.row_value_ordinals(3, r).expect("lookup");
            let names: Vec<String> = ordinals
                .iter()
                .map(|o| seg.values(3)[*o as usize].to_string())
                .collect();
            let expected = if rows.contains(&r) {
                expected_values(multi, r)
            } else {
                vec![]
            };
            assert_eq!(names, expected, "row {r}");
        }
        seg.verify().expect("verify");
        assert_eq!(
            seg.to_delta().expect("to_delta"),
            normalized(&kinds, &delta)
        );
    }
}

#[test]
fn row_value_ordinals_without_forward_index_tests_bitmaps() {
    let (kinds, delta) = sample_delta();
    let (_dir, _b, seg) = write_and_open(&kinds, &delta);
    assert!(seg.forward_regions(3).is_empty());
    assert_eq!(seg.row_value_ordinals(3, 7).expect("lookup"), vec![0, 1]);
    assert_eq!(seg.row_value_ordinals(2, S2 + 5).expect("lookup"), vec![0]);
    assert!(
        seg.row_value_ordinals(2, S1 + 3)
            .expect("lookup")
            .is_empty()
    );
    assert!(
        seg.row_value_ordinals(1, 7).expect("lookup").is_empty(),
        "flag column"
    );
}

#[test]
fn second_read_of_a_bitmap_is_a_cache_hit() {
    let (kinds, delta) = sample_delta();
    let (_dir, backend, _) = write_and_open(&kinds, &delta);
    let cache = Arc::new(BitmapCache::new(1 << 20));
    let seg = Segment::open(&backend, "s.seg", cache.clone()).expect("open");
    let a = seg
        .bitmap(1, BitmapRole::Touched, 0)
        .expect("read")
        .expect("present");
    let b = seg
        .bitmap(1, BitmapRole::Touched, 0)
        .expect("read")
        .expect("present");
    assert!(Arc::ptr_eq(&a, &b));
    let (hits, misses, bytes) = cache.stats();
    assert_eq!((hits, misses), (1, 1));
    assert!(bytes > 0);
    drop(seg);
    assert_eq!(
        cache.stats().2,
        0,
        "dropping the segment frees its cached bitmaps"
    );
}

#[test]
fn segment_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Segment>();
    check::<BitmapCache>();
}

#[test]
fn keys_of_many_rows_equal_one_by_one_reads() {
    // 5,000 keys from row 100; the rows asked skip around, with gaps both
    // inside and beyond one run, plus rows before and after the block.
    let first = 100u32;
    for text in [false, true] {
        let keys: Vec<Key> = (0..5_000i64)
            .map(|i| {
                if text {
                    Key::Text(format!("k{}", i * 7 % 5_000).repeat((i % 3) as usize + 1))
                } else {
                    Key::Int(i * 7 - 100)
                }
            })
            .collect();
        let delta = TableDelta {
            keys: KeyBlock {
                first_row: first,
                keys: keys.clone(),
            },
            ..Default::default()
        };
        let (_dir, _b, seg) = write_and_open(&BTreeMap::new(), &delta);
        let rows: Vec<u32> = [
            0u32, 99, 100, 101, 102, 150, 1_100, 1_125, 3_000, 5_099, 5_100, 9_000,
        ]
        .into_iter()
        .chain((2_000..2_050).step_by(3))
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
        let mut pending: Vec<usize> = (0..rows.len()).collect();
        let mut got = vec![None; rows.len()];
        seg.keys_of(&rows, &mut pending, &mut |p, k| got[p] = Some(k))
            .expect("keys");
        for (p, row) in rows.iter().enumerate() {
            assert_eq!(
                got[p],
                seg.key(*row).expect("key"),
                "row {row} (text {text})"
            );
            assert_eq!(pending.contains(&p), got[p].is_none(), "row {row} pending");
        }
        assert_eq!(pending.len(), 4, "rows 0, 99, 5100 and 9000 are outside");
    }
}
