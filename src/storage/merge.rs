//! Compaction: which segments to merge (a pure policy) and how two levels
//! fold into one.

use super::delta::{ColumnBody, ColumnDelta, ColumnId, TableDelta};
use crate::index::TagKind;
use roaring::RoaringBitmap;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

/// A tiered merge policy over a table's segments, oldest first.
///
/// Segments fall into tiers by size: tier `t` holds sizes in
/// `[min_bytes·ratio^t, min_bytes·ratio^(t+1))`. When `merge_factor` adjacent
/// segments share a tier they merge (the newest such run first), so each row
/// is rewritten about `log_ratio(total / min_bytes)` times. When there are more
/// than `segments_max` segments anyway, the adjacent window with the fewest
/// bytes merges, which bounds the levels a read has to fold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergePolicy {
    /// How many same-tier adjacent segments trigger a merge (≥ 2).
    pub merge_factor: usize,
    /// Hard cap on segments per table.
    pub segments_max: usize,
    /// Size ratio between tiers (≥ 2).
    pub tier_ratio: u64,
    /// Segments smaller than this all share the lowest tier.
    pub min_bytes: u64,
}

impl Default for MergePolicy {
    fn default() -> MergePolicy {
        MergePolicy {
            merge_factor: 4,
            segments_max: 12,
            tier_ratio: 4,
            min_bytes: 1 << 20,
        }
    }
}

impl MergePolicy {
    fn tier(&self, bytes: u64) -> u32 {
        let ratio = self.tier_ratio.max(2);
        let mut tier = 0;
        let mut bound = self.min_bytes.max(1).saturating_mul(ratio);
        while bytes >= bound && bound < u64::MAX {
            tier += 1;
            bound = bound.saturating_mul(ratio);
        }
        tier
    }

    /// The adjacent run of segments (by index, oldest first) to merge next,
    /// given their sizes in bytes; `None` if nothing should merge.
    pub fn pick(&self, sizes: &[u64]) -> Option<Range<usize>> {
        let factor = self.merge_factor.max(2);
        let tiers: Vec<u32> = sizes.iter().map(|&b| self.tier(b)).collect();
        // Newest run of same-tier segments at least `factor` long.
        let mut end = tiers.len();
        while end > 0 {
            let t = tiers[end - 1];
            let mut start = end - 1;
            while start > 0 && tiers[start - 1] == t {
                start -= 1;
            }
            if end - start >= factor {
                return Some(end - factor..end);
            }
            end = start;
        }
        if sizes.len() > self.segments_max.max(factor) {
            return (0..=sizes.len() - factor)
                .min_by_key(|&i| sizes[i..i + factor].iter().sum::<u64>())
                .map(|i| i..i + factor);
        }
        None
    }
}

fn minus(a: &Arc<RoaringBitmap>, b: &RoaringBitmap) -> Arc<RoaringBitmap> {
    if a.is_disjoint(b) {
        a.clone()
    } else {
        Arc::new(a.as_ref() - b)
    }
}

fn fold(
    older: &Arc<RoaringBitmap>,
    touched: &RoaringBitmap,
    newer: &Arc<RoaringBitmap>,
) -> Arc<RoaringBitmap> {
    let mut out = minus(older, touched);
    if !newer.is_empty() {
        *Arc::make_mut(&mut out) |= newer.as_ref();
    }
    out
}

fn fold_column(older: &ColumnDelta, newer: &ColumnDelta) -> ColumnDelta {
    let t = newer.touched.as_ref();
    let body = match (&older.body, &newer.body) {
        (ColumnBody::Flag { trues: a }, ColumnBody::Flag { trues: b }) => ColumnBody::Flag {
            trues: fold(a, t, b),
        },
        (ColumnBody::Values { multi, values: a }, ColumnBody::Values { values: b, .. }) => {
            let mut values = BTreeMap::new();
            for (v, bm) in a {
                let kept = minus(bm, t);
                if !kept.is_empty() {
                    values.insert(v.clone(), kept);
                }
            }
            for (v, bm) in b {
                let e = values.entry(v.clone()).or_insert_with(Arc::default);
                *Arc::make_mut(e) |= bm.as_ref();
            }
            values.retain(|_, bm| !bm.is_empty());
            ColumnBody::Values {
                multi: *multi,
                values,
            }
        }
        (
            ColumnBody::Numeric {
                sign: sa,
                planes: pa,
            },
            ColumnBody::Numeric {
                sign: sb,
                planes: pb,
            },
        ) => {
            let n = pa.len().max(pb.len());
            let empty = Arc::new(RoaringBitmap::new());
            let planes = (0..n)
                .map(|i| fold(pa.get(i).unwrap_or(&empty), t, pb.get(i).unwrap_or(&empty)))
                .collect();
            ColumnBody::Numeric {
                sign: fold(sa, t, sb),
                planes,
            }
        }
        // Kinds never change for a column id; keep the newer if they differ.
        _ => newer.body.clone(),
    };
    ColumnDelta {
        touched: Arc::new(older.touched.as_ref() | t),
        not_null: fold(&older.not_null, t, &newer.not_null),
        body,
    }
}

/// Removes `rows` from every bitmap of a column.
fn remove_rows(col: &mut ColumnDelta, rows: &RoaringBitmap) {
    let strip = |bm: &mut Arc<RoaringBitmap>| *bm = minus(bm, rows);
    strip(&mut col.touched);
    strip(&mut col.not_null);
    match &mut col.body {
        ColumnBody::Flag { trues } => strip(trues),
        ColumnBody::Values { values, .. } => {
            values.values_mut().for_each(strip);
            values.retain(|_, bm| !bm.is_empty());
        }
        ColumnBody::Numeric { sign, planes } => {
            strip(sign);
            planes.iter_mut().for_each(strip);
        }
    }
}

/// Folds `newer` on top of `older` into one level equivalent to both.
///
/// Only columns in `kinds` are kept (dropped columns disappear). With `base`
/// the result is the oldest level of its table: nothing lies beneath it, so
/// deleted rows are physically removed from its bitmaps and `touched` shrinks
/// to `not_null` (a row never set reads as NULL either way).
pub fn fold_levels(
    older: &TableDelta,
    newer: &TableDelta,
    kinds: &BTreeMap<ColumnId, TagKind>,
    base: bool,
) -> TableDelta {
    let mut keys = older.keys.clone();
    if keys.keys.is_empty() {
        keys.first_row = newer.keys.first_row;
    }
    keys.keys.extend(newer.keys.keys.iter().cloned());
    let deleted = Arc::new(older.deleted.as_ref() | newer.deleted.as_ref());
    let mut columns = BTreeMap::new();
    for (&id, &kind) in kinds {
        let col = match (older.columns.get(&id), newer.columns.get(&id)) {
            (Some(a), Some(b)) => fold_column(a, b),
            (Some(a), None) => a.clone(),
            (None, Some(b)) => b.clone(),
            (None, None) => continue,
        };
        let mut col = col;
        if std::mem::discriminant(&col.body) != std::mem::discriminant(&ColumnBody::empty(kind)) {
            continue;
        }
        if base {
            remove_rows(&mut col, &deleted);
            col.touched = col.not_null.clone();
        }
        if !col.touched.is_empty() {
            columns.insert(id, col);
        }
    }
    TableDelta {
        keys,
        deleted,
        columns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Key;
    use crate::storage::delta::KeyBlock;

    const MB: u64 = 1 << 20;

    #[test]
    fn policy_cases() {
        let p = MergePolicy::default();
        let cases: &[(&[u64], Option<Range<usize>>)] = &[
            (&[], None),
            (&[MB; 3], None),
            (&[MB; 4], Some(0..4)),
            // a big base segment is left alone while small ones accumulate
            (&[500 * MB, MB, MB, MB], None),
            (&[500 * MB, MB, MB, MB, MB], Some(1..5)),
            // the newest run merges first
            (
                &[5 * MB, 5 * MB, 5 * MB, 5 * MB, MB, MB, MB, MB],
                Some(4..8),
            ),
            // tiers: 4MB..16MB is tier 1; a run of 4 in tier 1 merges
            (&[100 * MB, 5 * MB, 6 * MB, 7 * MB, 8 * MB], Some(1..5)),
        ];
        for (sizes, want) in cases {
            assert_eq!(&p.pick(sizes), want, "sizes {sizes:?}");
        }
    }

    #[test]
    fn too_many_segments_merge_the_lightest_window() {
        let p = MergePolicy {
            segments_max: 5,
            ..MergePolicy::default()
        };
        // alternating tiers never form a run; the cap forces a merge
        let sizes = [MB, 100 * MB, MB, 100 * MB, MB, 100 * MB, MB];
        let r = p.pick(&sizes).expect("cap forces a merge");
        assert_eq!(r.len(), 4);
    }

    fn flag_delta(touched: &[u32], trues: &[u32]) -> ColumnDelta {
        ColumnDelta {
            touched: Arc::new(touched.iter().copied().collect()),
            not_null: Arc::new(touched.iter().copied().collect()),
            body: ColumnBody::Flag {
                trues: Arc::new(trues.iter().copied().collect()),
            },
        }
    }

    #[test]
    fn newer_level_overrides_touched_rows() {
        let kinds = BTreeMap::from([(0, TagKind::Flag)]);
        let mut a = TableDelta {
            keys: KeyBlock {
                first_row: 0,
                keys: vec![Key::Int(0), Key::Int(1), Key::Int(2)],
            },
            ..TableDelta::default()
        };
        a.columns.insert(0, flag_delta(&[0, 1, 2], &[0, 1]));
        let mut b = TableDelta {
            keys: KeyBlock {
                first_row: 3,
                keys: Vec::new(),
            },
            deleted: Arc::new(RoaringBitmap::from_iter([2])),
            ..TableDelta::default()
        };
        b.columns.insert(0, flag_delta(&[1], &[]));
        let m = fold_levels(&a, &b, &kinds, true);
        let ColumnBody::Flag { trues } = &m.columns[&0].body else {
            panic!("flag")
        };
        assert_eq!(trues.iter().collect::<Vec<_>>(), vec![0]);
        assert_eq!(
            m.columns[&0].not_null.iter().collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(m.keys.keys.len(), 3);
        assert!(m.deleted.contains(2));
    }

    #[test]
    fn dropped_columns_disappear_in_merge() {
        let mut a = TableDelta::default();
        a.columns.insert(7, flag_delta(&[0], &[0]));
        let m = fold_levels(&a, &TableDelta::default(), &BTreeMap::new(), false);
        assert!(m.columns.is_empty());
    }
}
