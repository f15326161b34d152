//! Segment robustness tests: every damaged byte and truncation is detected,
//! random deltas round trip, and a timing probe for large segments.

use super::tests::{S1, S2, bm, column, normalized, values_body, write_and_open};
use super::*;
use crate::index::{Key, TagKind};
use crate::storage::format::{FORMAT_VERSION, SEGMENT_FOOTER_LEN, SEGMENT_VERSION_OFFSET};
use crate::storage::{
    Backend, ColumnBody, ColumnDelta, FsBackend, KeyBlock, StorageError, TableDelta,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A small segment exercising every section: bitmaps in two shards, a
/// forward index, TEXT keys and deleted rows.
fn small_segment_bytes() -> Vec<u8> {
    let rows: Vec<u32> = (0..80).chain([S1 + 1, S1 + 2]).collect();
    let values: Vec<(String, Vec<u32>)> = (0..70).map(|v| (format!("{v}"), vec![v])).collect();
    let values: Vec<(&str, Vec<u32>)> = values
        .iter()
        .map(|(v, r)| (v.as_str(), r.clone()))
        .collect();
    let mut columns = BTreeMap::new();
    columns.insert(1, column(&rows, &rows[..70], values_body(false, &values)));
    columns.insert(
        2,
        column(
            &rows,
            &rows,
            ColumnBody::Numeric {
                sign: bm([3]),
                planes: vec![bm([1, S1 + 1])],
            },
        ),
    );
    let keys = vec![
        Key::Text("b".into()),
        Key::Text("a".into()),
        Key::Text("ccc".into()),
    ];
    let delta = TableDelta {
        keys: KeyBlock { first_row: 0, keys },
        deleted: bm([4, S1 + 2]),
        columns,
    };
    let kinds = [(1, TagKind::Categorical), (2, TagKind::Numeric)]
        .into_iter()
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = FsBackend::new(dir.path()).expect("backend");
    write_segment(&backend, "s.seg", 1, &kinds, &delta).expect("write");
    backend.read("s.seg").expect("read")
}

fn open_bytes(bytes: Vec<u8>) -> Result<Segment, StorageError> {
    Segment::from_bytes(
        "s.seg",
        Arc::new(bytes),
        Arc::new(BitmapCache::new(1 << 20)),
    )
}

#[test]
fn flipping_any_byte_is_detected() {
    let bytes = small_segment_bytes();
    open_bytes(bytes.clone())
        .expect("pristine opens")
        .verify()
        .expect("pristine verifies");
    for offset in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0x20;
        let result = open_bytes(damaged).and_then(|seg| seg.verify());
        match result {
            Err(StorageError::Corruption { .. } | StorageError::UnsupportedVersion { .. }) => {}
            other => panic!(
                "flip at {offset} of {} not detected: {other:?}",
                bytes.len()
            ),
        }
    }
}

#[test]
fn truncation_at_every_length_fails_at_open() {
    let bytes = small_segment_bytes();
    for len in 0..bytes.len() {
        match open_bytes(bytes[..len].to_vec()) {
            Err(StorageError::Corruption { .. }) => {}
            other => panic!("truncation to {len} not detected: {other:?}"),
        }
    }
}

#[test]
fn newer_and_older_versions_are_unsupported() {
    let bytes = small_segment_bytes();
    for version in [FORMAT_VERSION + 1, 0] {
        let mut patched = bytes.clone();
        let footer_version =
            bytes.len() - SEGMENT_FOOTER_LEN + crate::storage::format::FOOTER_VERSION;
        for at in [SEGMENT_VERSION_OFFSET, footer_version] {
            patched[at..at + 4].copy_from_slice(&version.to_le_bytes());
        }
        assert!(
            matches!(open_bytes(patched), Err(StorageError::UnsupportedVersion { found, .. }) if found == version)
        );
    }
}

fn arb_row() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..300, S1 - 3..S1 + 300, S2..S2 + 50, Just(u32::MAX)]
}

fn arb_column(kind: TagKind) -> impl Strategy<Value = ColumnDelta> {
    let cell = (
        arb_row(),
        proptest::option::of((any::<i64>(), prop::collection::btree_set(0u8..5, 0..3))),
    );
    prop::collection::btree_map(arb_row(), cell.prop_map(|(_, v)| v), 0..40).prop_map(
        move |cells| {
            let touched = bm(cells.keys().copied());
            let not_null = bm(cells.iter().filter(|(_, v)| v.is_some()).map(|(r, _)| *r));
            let present = || cells.iter().filter_map(|(r, v)| Some((*r, v.as_ref()?)));
            let body = match kind {
                TagKind::Flag => ColumnBody::Flag {
                    trues: bm(present().filter(|(_, (n, _))| n % 2 == 0).map(|(r, _)| r)),
                },
                TagKind::Numeric => ColumnBody::Numeric {
                    sign: bm(present().filter(|(_, (n, _))| *n < 0).map(|(r, _)| r)),
                    planes: (0..64)
                        .map(|p| {
                            bm(present()
                                .filter(|(_, (n, _))| n.unsigned_abs() >> p & 1 == 1)
                                .map(|(r, _)| r))
                        })
                        .collect(),
                },
                TagKind::Categorical | TagKind::MultiValued => {
                    let multi = kind == TagKind::MultiValued;
                    let mut values: BTreeMap<Arc<str>, Arc<RoaringBitmap>> = (0u8..6)
                        .map(|v| (Arc::from(format!("v{v}")), Arc::default()))
                        .collect();
                    for (r, (n, set)) in present() {
                        let chosen: Vec<u8> = if multi {
                            set.iter().copied().collect()
                        } else {
                            vec![(n.unsigned_abs() % 5) as u8]
                        };
                        for v in chosen {
                            if let Some(b) = values.get_mut(&*format!("v{v}")) {
                                Arc::make_mut(b).insert(r);
                            }
                        }
                    }
                    ColumnBody::Values { multi, values }
                }
            };
            ColumnDelta {
                touched,
                not_null,
                body,
            }
        },
    )
}

fn arb_delta() -> impl Strategy<Value = (BTreeMap<u32, TagKind>, TableDelta)> {
    let kind = prop_oneof![
        Just(TagKind::Flag),
        Just(TagKind::Categorical),
        Just(TagKind::MultiValued),
        Just(TagKind::Numeric)
    ];
    let columns = prop::collection::btree_map(
        0u32..6,
        kind.prop_flat_map(|k| (Just(k), arb_column(k))),
        0..4,
    );
    let keys = prop_oneof![
        prop::collection::hash_set(any::<i64>(), 0..40)
            .prop_map(|s| s.into_iter().map(Key::Int).collect::<Vec<_>>()),
        prop::collection::hash_set("[a-c]{0,4}", 0..40)
            .prop_map(|s| s.into_iter().map(Key::Text).collect()),
    ];
    (
        columns,
        keys,
        0u32..S1 + 10,
        prop::collection::btree_set(arb_row(), 0..10),
    )
        .prop_map(|(columns, keys, first_row, deleted)| {
            let kinds = columns.iter().map(|(id, (k, _))| (*id, *k)).collect();
            let columns = columns.into_iter().map(|(id, (_, c))| (id, c)).collect();
            (
                kinds,
                TableDelta {
                    keys: KeyBlock { first_row, keys },
                    deleted: bm(deleted),
                    columns,
                },
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn write_open_to_delta_round_trips((kinds, delta) in arb_delta()) {
        let (_dir, _b, seg) = write_and_open(&kinds, &delta);
        prop_assert_eq!(seg.to_delta().expect("to_delta"), normalized(&kinds, &delta));
        seg.verify().expect("verify");
        for (row, key) in (delta.keys.first_row..).zip(&delta.keys.keys) {
            prop_assert_eq!(seg.row_of(key).expect("row_of"), Some(row));
        }
    }
}

/// Timing probe, run with
/// `cargo test --release --lib storage::segment::tests::open_time -- --ignored --nocapture`:
/// opens a segment of 10M rows × 20 columns and times bitmap decoding.
#[test]
#[ignore = "timing probe; builds a large segment"]
fn open_time_of_a_ten_million_row_segment() {
    use std::time::Instant;
    const ROWS: u32 = 10_000_000;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut random_bits = |density_percent: u64| -> RoaringBitmap {
        let bytes: Vec<u8> = (0..ROWS / 8)
            .map(|_| {
                (0..8).fold(0u8, |b, i| {
                    b | (u8::from(next() % 100 < density_percent) << i)
                })
            })
            .collect();
        RoaringBitmap::from_lsb0_bytes(0, &bytes)
    };
    let all = {
        let mut b = RoaringBitmap::new();
        b.insert_range(0..ROWS);
        Arc::new(b)
    };
    let mut kinds = BTreeMap::new();
    let mut columns = BTreeMap::new();
    let started = Instant::now();
    for id in 0..20u32 {
        let (kind, body) = match id % 4 {
            0 => (
                TagKind::Flag,
                ColumnBody::Flag {
                    trues: Arc::new(random_bits(50)),
                },
            ),
            1 => (
                TagKind::Numeric,
                ColumnBody::Numeric {
                    sign: Arc::new(random_bits(10)),
                    planes: (0..16).map(|_| Arc::new(random_bits(50))).collect(),
                },
            ),
            _ => {
                let distinct = if id == 2 { 1000 } else { 12 };
                let mut values = vec![RoaringBitmap::new(); distinct];
                for row in 0..ROWS {
                    values[(u64::from(row).wrapping_mul(0x9e37_79b9) >> 7) as usize % distinct]
                        .try_push(row)
                        .expect("ascending");
                }
                let values = values
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| (Arc::from(format!("value-{i:04}")), Arc::new(b)))
                    .collect();
                (
                    TagKind::Categorical,
                    ColumnBody::Values {
                        multi: false,
                        values,
                    },
                )
            }
        };
        kinds.insert(id, kind);
        columns.insert(
            id,
            ColumnDelta {
                touched: all.clone(),
                not_null: all.clone(),
                body,
            },
        );
    }
    let keys = KeyBlock {
        first_row: 0,
        keys: (0..i64::from(ROWS))
            .map(|k| Key::Int(k * 7919 % 1_000_000_007))
            .collect(),
    };
    let delta = TableDelta {
        keys,
        deleted: Arc::new(random_bits(1)),
        columns,
    };
    println!("built delta in {:?}", started.elapsed());

    let dir = tempfile::tempdir().expect("tempdir");
    let backend = FsBackend::new(dir.path()).expect("backend");
    let started = Instant::now();
    let stats = write_segment(&backend, "big.seg", 1, &kinds, &delta).expect("write");
    println!(
        "wrote {} bytes, {} bitmaps in {:?}",
        stats.file_bytes,
        stats.bitmaps,
        started.elapsed()
    );
    let cache = Arc::new(BitmapCache::new(256 << 20));
    let mut best = std::time::Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let seg = Segment::open(&backend, "big.seg", cache.clone()).expect("open");
        best = best.min(started.elapsed());
        drop(seg);
    }
    println!("Segment::open: {best:?} (best of 5)");
    let seg = Segment::open(&backend, "big.seg", cache.clone()).expect("open");
    let started = Instant::now();
    assert_eq!(
        seg.row_of(&Key::Int(5_000_000 * 7919 % 1_000_000_007))
            .expect("row_of"),
        Some(5_000_000)
    );
    println!("first row_of: {:?}", started.elapsed());
    let started = Instant::now();
    assert_eq!(
        seg.row_value_ordinals(2, 7_654_321).expect("lookup").len(),
        1
    );
    println!("first forward lookup: {:?}", started.elapsed());

    // A 10%-dense shard bitmap: decoding from the map vs cloning an owned one.
    let mut shard = random_bits(10);
    shard.remove_range(S1..);
    let mut blob = Vec::new();
    shard.serialize_into(&mut blob).expect("serialize");
    let rounds = 200;
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..rounds {
            f();
        }
        started.elapsed() / rounds
    };
    let checked = time(&mut || {
        assert_eq!(
            decode_roaring(&blob, "x", 0).expect("decode").len(),
            shard.len()
        )
    });
    let unchecked = time(&mut || {
        assert_eq!(
            RoaringBitmap::deserialize_unchecked_from(&blob[..])
                .expect("decode")
                .len(),
            shard.len()
        )
    });
    let cloned = time(&mut || assert_eq!(shard.clone().len(), shard.len()));
    let crc = time(&mut || assert_ne!(crc32fast::hash(&blob), 0));
    println!(
        "10%-dense shard ({} rows, {} bytes): checked decode {checked:?}, unchecked {unchecked:?}, clone {cloned:?}, crc32 {crc:?}",
        shard.len(),
        blob.len()
    );
    seg.verify().expect("verify");
}
