//! Full verification of a segment file, for `audb check`.

use super::reader::Segment;
use super::{DELETED_COLUMN, FORWARD_INDEX_VALUES_MIN, corrupt, forward};
use crate::index::TagKind;
use crate::storage::BitmapRole;
use crate::storage::error::Result;
use roaring::{MultiOps, RoaringBitmap};

impl Segment {
    /// Checks every checksum and structural invariant of the file: each bitmap
    /// blob (checksum, roaring validity, cardinality, shard range), per shard
    /// `NotNull ⊆ Touched`, `FlagTrue`/`Sign`/planes/values `⊆ NotNull`,
    /// disjoint categorical values, no value or top plane without rows, each
    /// forward index equal to one rebuilt from the bitmaps, and the key
    /// section (checksums, offsets, UTF-8, sorted permutation).
    ///
    /// Reads the whole file, bypassing the bitmap cache. Cost: O(file size)
    /// plus O(rows) per forward-indexed shard.
    pub fn verify(&self) -> Result<()> {
        let name = self.file_name();
        let mut loaded = 0usize;
        let mut load = |col, role, shard| -> Result<Option<RoaringBitmap>> {
            let Some(index) = self.find(col, role, shard) else {
                return Ok(None);
            };
            let bitmap = self.load(index)?;
            let offset = self.entries()[index].offset;
            bitmap
                .internal_validate()
                .map_err(|e| corrupt(name, offset, format!("invalid roaring bitmap: {e}")))?;
            loaded += 1;
            Ok(Some(bitmap))
        };
        let mut scratch = Vec::new();
        for col in self.columns() {
            let kind = self.column_kind(col);
            let values = self.values(col).len();
            let planes = self.plane_count(col);
            let bad = |what: &str| corrupt(name, 0, format!("column {col}: {what}"));
            for ordinal in (0u32..).take(values) {
                if self.cardinality(col, BitmapRole::Value(ordinal)) == 0 {
                    return Err(bad("value without rows"));
                }
            }
            if planes > 0 && self.cardinality(col, BitmapRole::Plane(planes - 1)) == 0 {
                return Err(bad("top plane without rows"));
            }
            let forwards = self.forward_regions(col);
            let mut forwards_seen = 0;
            for shard in self.shards() {
                let empty = RoaringBitmap::new();
                let touched = load(col, BitmapRole::Touched, shard)?.unwrap_or_default();
                let not_null = load(col, BitmapRole::NotNull, shard)?.unwrap_or_default();
                if !not_null.is_subset(&touched) {
                    return Err(bad("not-null rows outside touched rows"));
                }
                let mut body = Vec::new();
                match kind {
                    Some(TagKind::Flag) => body.push((0, load(col, BitmapRole::FlagTrue, shard)?)),
                    Some(TagKind::Numeric) => {
                        body.push((0, load(col, BitmapRole::Sign, shard)?));
                        for p in 0..planes {
                            body.push((0, load(col, BitmapRole::Plane(p), shard)?));
                        }
                    }
                    _ => {
                        for ordinal in (0u32..).take(values) {
                            body.push((ordinal, load(col, BitmapRole::Value(ordinal), shard)?));
                        }
                    }
                }
                if body
                    .iter()
                    .any(|(_, b)| !b.as_ref().unwrap_or(&empty).is_subset(&not_null))
                {
                    return Err(bad("value rows outside not-null rows"));
                }
                let present: Vec<(u32, &RoaringBitmap)> = body
                    .iter()
                    .filter_map(|(o, b)| Some((*o, b.as_ref()?)))
                    .collect();
                if kind == Some(TagKind::Categorical) {
                    let sum: u64 = present.iter().map(|(_, b)| b.len()).sum();
                    if present.iter().map(|(_, b)| *b).union().len() != sum {
                        return Err(bad("a row holds two categorical values"));
                    }
                }
                if values <= FORWARD_INDEX_VALUES_MIN || not_null.is_empty() {
                    continue;
                }
                let multi = kind == Some(TagKind::MultiValued);
                let expected = forward::build(shard, multi, &not_null, &present, &mut scratch);
                let region = forwards.iter().find(|(s, _)| *s == shard).map(|(_, r)| r);
                match (expected, region) {
                    (None, None) => {}
                    (Some(expected), Some(region)) => {
                        region.verify_all(self.bytes(), name)?;
                        if region.read(self.bytes(), 0, region.len(), name)? != &expected[..] {
                            return Err(corrupt(
                                name,
                                region.offset() as u64,
                                "forward index disagrees with bitmaps",
                            ));
                        }
                        forwards_seen += 1;
                    }
                    _ => return Err(bad("forward index missing or unexpected")),
                }
            }
            if forwards_seen != forwards.len() {
                return Err(bad("forward index of a shard without rows"));
            }
        }
        for shard in self.shards() {
            load(DELETED_COLUMN, BitmapRole::Touched, shard)?;
        }
        if loaded != self.entries().len() {
            return Err(corrupt(
                name,
                0,
                "directory entries not reachable from the columns",
            ));
        }
        self.key_section().verify(self.bytes(), name)
    }
}
