//! Consistent, immutable reads of the database.
//!
//! A [`Snapshot`] pins one version. Every read of a column folds the table's
//! levels oldest to newest, `result = (result − touched) ∪ level_bitmap`, then
//! removes deleted rows; folds that combine several levels are cached per
//! table version, and a fold over a single level returns that level's bitmap
//! without copying it. Reads are per shard (`2^SHARD_BITS` row ids) so the
//! executor can run shards in parallel; `*_all` helpers union the shards.

use super::delta::{BitmapRole, ColumnBody, ColumnDelta, ColumnId, TableId};
use super::error::{Result, StorageError};
use super::format::SHARD_BITS;
use super::memtable::MemTable;
use super::schema::TableSchema;
use super::segment::Segment;
use super::version::{ReadKey, TableState, Version};
use crate::index::{ColumnType, Key, RowId, TagKind, Value};
use roaring::RoaringBitmap;
use std::sync::Arc;

/// A consistent view of the whole database at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub(crate) version: Arc<Version>,
}

impl Snapshot {
    /// The version number: it changes whenever anything visible changes.
    pub fn version(&self) -> u64 {
        self.version.number
    }

    /// Schemas of all tables, by id.
    pub fn tables(&self) -> Vec<Arc<TableSchema>> {
        self.version
            .tables
            .values()
            .map(|t| t.schema.clone())
            .collect()
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<TableSnapshot> {
        self.version.table_by_name(name).map(|state| TableSnapshot {
            state: state.clone(),
        })
    }

    /// The table with id `id`.
    pub fn table_by_id(&self, id: TableId) -> Option<TableSnapshot> {
        self.version.tables.get(&id).map(|state| TableSnapshot {
            state: state.clone(),
        })
    }

    /// Metadata stored by upper layers under `key`.
    pub fn meta(&self, key: &str) -> Option<&[u8]> {
        self.version.meta.get(key).map(Vec::as_slice)
    }

    /// All metadata entries whose key starts with `prefix`.
    pub fn meta_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        self.version
            .meta
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// Which bitmap of a column to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnRead<'a> {
    /// Rows with a non-null value.
    NotNull,
    /// Flag columns: rows that are `true`.
    True,
    /// Flag columns: rows that are `false` (`not_null − true`).
    False,
    /// Categorical and multi-valued columns: rows holding this value.
    Value(&'a str),
    /// Numeric columns: rows with a negative value.
    Sign,
    /// Numeric columns: rows whose magnitude has this bit set.
    Plane(u8),
}

/// The bitmaps of a numeric column in one shard.
#[derive(Clone, Debug)]
pub struct NumericShard {
    /// Rows with a value.
    pub not_null: Arc<RoaringBitmap>,
    /// Rows with a negative value.
    pub sign: Arc<RoaringBitmap>,
    /// Magnitude planes, least significant first.
    pub planes: Vec<Arc<RoaringBitmap>>,
}

/// One level, as the fold sees it.
enum Level<'a> {
    Segment(&'a Segment),
    Mem(&'a MemTable),
}

/// The row-id range of a shard.
fn shard_range(shard: u32) -> std::ops::Range<u32> {
    let lo = shard << SHARD_BITS;
    let hi = lo.saturating_add(1 << SHARD_BITS);
    lo..hi
}

/// The part of `bm` that lies in `shard`; `None` if empty.
fn shard_part(bm: &RoaringBitmap, shard: u32) -> Option<Arc<RoaringBitmap>> {
    let range = shard_range(shard);
    if bm.range_cardinality(range.clone()) == 0 {
        return None;
    }
    if bm.min().is_some_and(|m| m >= range.start) && bm.max().is_some_and(|m| m < range.end) {
        return Some(Arc::new(bm.clone()));
    }
    let mut mask = RoaringBitmap::new();
    mask.insert_range(range);
    Some(Arc::new(mask & bm))
}

impl Level<'_> {
    fn mem_column(&self, col: ColumnId) -> Option<&ColumnDelta> {
        match self {
            Level::Mem(m) => m.delta.columns.get(&col),
            Level::Segment(_) => None,
        }
    }

    fn touched(&self, col: ColumnId, shard: u32) -> Result<Option<Arc<RoaringBitmap>>> {
        match self {
            Level::Segment(s) => s.bitmap(col, BitmapRole::Touched, shard),
            Level::Mem(_) => Ok(self
                .mem_column(col)
                .and_then(|c| shard_part(&c.touched, shard))),
        }
    }

    fn deleted(&self, shard: u32) -> Result<Option<Arc<RoaringBitmap>>> {
        match self {
            Level::Segment(s) => s.deleted(shard),
            Level::Mem(m) => Ok(shard_part(&m.delta.deleted, shard)),
        }
    }

    fn bitmap(
        &self,
        col: ColumnId,
        key: &ReadKey,
        shard: u32,
    ) -> Result<Option<Arc<RoaringBitmap>>> {
        match self {
            Level::Segment(s) => {
                let role = match key {
                    ReadKey::NotNull => BitmapRole::NotNull,
                    ReadKey::True => BitmapRole::FlagTrue,
                    ReadKey::Sign => BitmapRole::Sign,
                    ReadKey::Plane(p) => BitmapRole::Plane(*p),
                    ReadKey::Value(v) => match s.value_ordinal(col, v) {
                        Some(ord) => BitmapRole::Value(ord),
                        None => return Ok(None),
                    },
                    ReadKey::Deleted => return s.deleted(shard),
                };
                s.bitmap(col, role, shard)
            }
            Level::Mem(m) => {
                if matches!(key, ReadKey::Deleted) {
                    return Ok(shard_part(&m.delta.deleted, shard));
                }
                let Some(c) = m.delta.columns.get(&col) else {
                    return Ok(None);
                };
                let bm = match (key, &c.body) {
                    (ReadKey::NotNull, _) => Some(&c.not_null),
                    (ReadKey::True, ColumnBody::Flag { trues }) => Some(trues),
                    (ReadKey::Sign, ColumnBody::Numeric { sign, .. }) => Some(sign),
                    (ReadKey::Plane(p), ColumnBody::Numeric { planes, .. }) => {
                        planes.get(usize::from(*p))
                    }
                    (ReadKey::Value(v), ColumnBody::Values { values, .. }) => values.get(v),
                    _ => None,
                };
                Ok(bm.and_then(|b| shard_part(b, shard)))
            }
        }
    }
}

/// One table in a snapshot.
#[derive(Clone, Debug)]
pub struct TableSnapshot {
    state: Arc<TableState>,
}

impl TableSnapshot {
    pub(crate) fn new(state: Arc<TableState>) -> TableSnapshot {
        TableSnapshot { state }
    }

    /// An upper bound on the distinct values of `col`, cheap to compute.
    pub(crate) fn distinct_upper_bound(&self, col: ColumnId) -> usize {
        let mem: usize = [self.state.frozen.as_deref(), Some(&*self.state.active)]
            .into_iter()
            .flatten()
            .filter_map(|m| m.delta.columns.get(&col))
            .map(|c| super::write::body_value_count(&c.body))
            .sum();
        self.state.segments.values(col).len() + mem
    }

    /// The table's schema.
    pub fn schema(&self) -> &TableSchema {
        &self.state.schema
    }

    /// One past the highest row id ever allocated (live or deleted).
    pub fn row_id_end(&self) -> u64 {
        self.state.next_row_id
    }

    /// Number of shards that may hold rows.
    pub fn shard_count(&self) -> u32 {
        let end = self.state.next_row_id;
        u32::try_from(end.div_ceil(1 << SHARD_BITS)).unwrap_or(u32::MAX)
    }

    fn levels(&self) -> impl Iterator<Item = Level<'_>> {
        let s = &self.state;
        s.segments
            .segments
            .iter()
            .map(|seg| Level::Segment(seg))
            .chain(s.frozen.iter().map(|m| Level::Mem(m)))
            .chain(std::iter::once(Level::Mem(&s.active)))
    }

    fn column_kind(&self, col: ColumnId) -> Result<TagKind> {
        self.state
            .schema
            .column_by_id(col)
            .map(|c| c.ty.kind())
            .ok_or_else(|| StorageError::NoSuchColumn {
                table: self.state.schema.name.clone(),
                column: col.to_string(),
            })
    }

    /// Rows deleted in `shard`.
    pub fn deleted(&self, shard: u32) -> Result<Arc<RoaringBitmap>> {
        let key = (u32::MAX, ReadKey::Deleted, shard);
        if let Some(hit) = self.state.cache.get(&key) {
            return Ok(hit);
        }
        let mut parts = Vec::new();
        for level in self.levels() {
            if let Some(d) = level.deleted(shard)? {
                parts.push(d);
            }
        }
        let result = match parts.len() {
            0 => Arc::new(RoaringBitmap::new()),
            1 => parts.swap_remove(0),
            _ => {
                let mut acc = RoaringBitmap::new();
                for p in &parts {
                    acc |= p.as_ref();
                }
                Arc::new(acc)
            }
        };
        self.state.cache.put(key, result.clone());
        Ok(result)
    }

    /// Live rows of `shard`: allocated and not deleted.
    pub fn live(&self, shard: u32) -> Result<RoaringBitmap> {
        let range = shard_range(shard);
        let end =
            u32::try_from(self.state.next_row_id.min(u64::from(range.end))).unwrap_or(u32::MAX);
        let mut live = RoaringBitmap::new();
        if end > range.start {
            live.insert_range(range.start..end);
        }
        live -= self.deleted(shard)?.as_ref();
        Ok(live)
    }

    /// All live rows of the table.
    pub fn live_all(&self) -> Result<RoaringBitmap> {
        let mut all = RoaringBitmap::new();
        for shard in 0..self.shard_count() {
            all |= self.live(shard)?;
        }
        Ok(all)
    }

    /// Number of live rows.
    pub fn row_count(&self) -> Result<u64> {
        let mut n = 0;
        for shard in 0..self.shard_count() {
            n += self.live(shard)?.len();
        }
        Ok(n)
    }

    fn fold(&self, col: ColumnId, key: ReadKey, shard: u32) -> Result<Arc<RoaringBitmap>> {
        let cache_key = (col, key, shard);
        if let Some(hit) = self.state.cache.get(&cache_key) {
            return Ok(hit);
        }
        let key = &cache_key.1;
        let mut acc: Option<Arc<RoaringBitmap>> = None;
        let mut combined = false;
        for level in self.levels() {
            let Some(touched) = level.touched(col, shard)? else {
                continue;
            };
            if let Some(prev) = acc.as_mut()
                && !prev.is_disjoint(&touched)
            {
                *Arc::make_mut(prev) -= touched.as_ref();
                combined = true;
            }
            if let Some(bm) = level.bitmap(col, key, shard)? {
                match acc.as_mut() {
                    Some(prev) if !prev.is_empty() => {
                        *Arc::make_mut(prev) |= bm.as_ref();
                        combined = true;
                    }
                    _ => acc = Some(bm),
                }
            }
        }
        let mut result = acc.unwrap_or_default();
        let deleted = self.deleted(shard)?;
        if !deleted.is_empty() && !result.is_disjoint(&deleted) {
            *Arc::make_mut(&mut result) -= deleted.as_ref();
            combined = true;
        }
        if combined {
            self.state.cache.put(cache_key, result.clone());
        }
        Ok(result)
    }

    /// One bitmap of column `col` in `shard`.
    pub fn bitmap(
        &self,
        col: ColumnId,
        read: ColumnRead<'_>,
        shard: u32,
    ) -> Result<Arc<RoaringBitmap>> {
        let kind = self.column_kind(col)?;
        let key = match (read, kind) {
            (ColumnRead::NotNull, _) => ReadKey::NotNull,
            (ColumnRead::True, TagKind::Flag) => ReadKey::True,
            (ColumnRead::False, TagKind::Flag) => {
                let nn = self.fold(col, ReadKey::NotNull, shard)?;
                let t = self.fold(col, ReadKey::True, shard)?;
                return Ok(Arc::new(nn.as_ref() - t.as_ref()));
            }
            (ColumnRead::Value(v), TagKind::Categorical | TagKind::MultiValued) => {
                ReadKey::Value(Arc::from(v))
            }
            (ColumnRead::Sign, TagKind::Numeric) => ReadKey::Sign,
            (ColumnRead::Plane(p), TagKind::Numeric) if p < 64 => ReadKey::Plane(p),
            _ => return Ok(Arc::new(RoaringBitmap::new())),
        };
        self.fold(col, key, shard)
    }

    /// One bitmap of column `col` over all shards.
    pub fn bitmap_all(&self, col: ColumnId, read: ColumnRead<'_>) -> Result<RoaringBitmap> {
        let mut all = RoaringBitmap::new();
        for shard in 0..self.shard_count() {
            all |= self.bitmap(col, read, shard)?.as_ref();
        }
        Ok(all)
    }

    /// Number of magnitude planes any level stores for numeric column `col`.
    pub fn plane_count(&self, col: ColumnId) -> u8 {
        self.levels()
            .map(|l| match l {
                Level::Segment(s) => s.plane_count(col),
                Level::Mem(m) => match m.delta.columns.get(&col).map(|c| &c.body) {
                    Some(ColumnBody::Numeric { planes, .. }) => {
                        u8::try_from(planes.len()).unwrap_or(64)
                    }
                    _ => 0,
                },
            })
            .max()
            .unwrap_or(0)
    }

    /// The bit-sliced index of numeric column `col` in `shard`.
    pub fn numeric(&self, col: ColumnId, shard: u32) -> Result<NumericShard> {
        let planes = (0..self.plane_count(col))
            .map(|p| self.bitmap(col, ColumnRead::Plane(p), shard))
            .collect::<Result<Vec<_>>>()?;
        Ok(NumericShard {
            not_null: self.bitmap(col, ColumnRead::NotNull, shard)?,
            sign: self.bitmap(col, ColumnRead::Sign, shard)?,
            planes,
        })
    }

    /// Candidate values of categorical or multi-valued column `col`, sorted.
    ///
    /// A superset: a value whose rows all changed or were deleted may still be
    /// listed (its bitmap is then empty).
    pub fn values(&self, col: ColumnId) -> Result<Arc<Vec<Arc<str>>>> {
        self.column_kind(col)?;
        let base = self.state.segments.values(col);
        let mem: Vec<Arc<str>> = [self.state.frozen.as_deref(), Some(&*self.state.active)]
            .into_iter()
            .flatten()
            .filter_map(|m| match m.delta.columns.get(&col).map(|c| &c.body) {
                Some(ColumnBody::Values { values, .. }) => Some(values.keys().cloned()),
                _ => None,
            })
            .flatten()
            .filter(|v| base.binary_search(v).is_err())
            .collect();
        if mem.is_empty() {
            return Ok(base);
        }
        let mut all: Vec<Arc<str>> = base.iter().cloned().chain(mem).collect();
        all.sort_unstable();
        all.dedup();
        Ok(Arc::new(all))
    }

    /// An upper bound on the rows `read` selects, without reading bitmaps.
    pub fn estimate(&self, col: ColumnId, read: ColumnRead<'_>) -> u64 {
        let mut total = 0u64;
        for level in self.levels() {
            total += match level {
                Level::Segment(s) => match read {
                    ColumnRead::NotNull | ColumnRead::False => {
                        s.cardinality(col, BitmapRole::NotNull)
                    }
                    ColumnRead::True => s.cardinality(col, BitmapRole::FlagTrue),
                    ColumnRead::Sign => s.cardinality(col, BitmapRole::Sign),
                    ColumnRead::Plane(p) => s.cardinality(col, BitmapRole::Plane(p)),
                    ColumnRead::Value(v) => s
                        .value_ordinal(col, v)
                        .map_or(0, |o| s.cardinality(col, BitmapRole::Value(o))),
                },
                Level::Mem(m) => m
                    .delta
                    .columns
                    .get(&col)
                    .map_or(0, |c| match (read, &c.body) {
                        (ColumnRead::NotNull | ColumnRead::False, _) => c.not_null.len(),
                        (ColumnRead::True, ColumnBody::Flag { trues }) => trues.len(),
                        (ColumnRead::Value(v), ColumnBody::Values { values, .. }) => {
                            values.get(v).map_or(0, |b| b.len())
                        }
                        _ => c.touched.len(),
                    }),
            };
        }
        total.min(self.state.next_row_id)
    }

    /// Whether `row` is allocated and not deleted.
    pub fn is_live(&self, row: RowId) -> Result<bool> {
        if u64::from(row) >= self.state.next_row_id {
            return Ok(false);
        }
        Ok(!self.deleted(row >> SHARD_BITS)?.contains(row))
    }

    /// The live row holding `key`.
    pub fn row_of(&self, key: &Key) -> Result<Option<RowId>> {
        let mut found = None;
        let s = &self.state;
        for mem in [Some(&s.active), s.frozen.as_ref()].into_iter().flatten() {
            if let Some(r) = mem.keys.row_of(key) {
                found = Some(r);
                break;
            }
        }
        if found.is_none() {
            for seg in s.segments.segments.iter().rev() {
                if let Some(r) = seg.row_of(key)? {
                    found = Some(r);
                    break;
                }
            }
        }
        match found {
            Some(r) if self.is_live(r)? => Ok(Some(r)),
            _ => Ok(None),
        }
    }

    /// The key of live row `row`.
    pub fn key_of(&self, row: RowId) -> Result<Option<Key>> {
        if !self.is_live(row)? {
            return Ok(None);
        }
        self.key_of_live(row)
    }

    /// The key of `row`, which the caller knows is live (it was selected
    /// through [`TableSnapshot::live`], e.g. by a filter): [`key_of`]
    /// without the per-row deletion lookup, for row output. For a dead row
    /// the answer is its former key or `None`.
    ///
    /// [`key_of`]: TableSnapshot::key_of
    pub fn key_of_live(&self, row: RowId) -> Result<Option<Key>> {
        let s = &self.state;
        for mem in [Some(&s.active), s.frozen.as_ref()].into_iter().flatten() {
            if let Some(k) = mem.keys.key_of(row) {
                return Ok(Some(k));
            }
        }
        for seg in s.segments.segments.iter().rev() {
            if let Some(k) = seg.key(row)? {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// [`key_of_live`](TableSnapshot::key_of_live) for many rows at once:
    /// the key of each row of `rows` (ascending, live), passed to `found`
    /// with the row's position in `rows`; rows without a key are skipped.
    /// Rows close together in a segment are read as one run.
    pub fn keys_of_live(&self, rows: &[RowId], found: &mut dyn FnMut(usize, Key)) -> Result<()> {
        let s = &self.state;
        let mut pending: Vec<usize> = (0..rows.len()).collect();
        for mem in [Some(&s.active), s.frozen.as_ref()].into_iter().flatten() {
            pending.retain(|&p| match mem.keys.key_of(rows[p]) {
                Some(k) => {
                    found(p, k);
                    false
                }
                None => true,
            });
        }
        for seg in s.segments.segments.iter().rev() {
            if pending.is_empty() {
                break;
            }
            seg.keys_of(rows, &mut pending, found)?;
        }
        Ok(())
    }

    /// The value of one row's column (`None` for NULL or a dead row): a
    /// lookup in the newest level that touched the row, not a scan.
    pub fn row_value(&self, col: ColumnId, row: RowId) -> Result<Option<Value>> {
        let kind = self.column_kind(col)?;
        if !self.is_live(row)? {
            return Ok(None);
        }
        let levels: Vec<Level<'_>> = self.levels().collect();
        for level in levels.iter().rev() {
            match level {
                Level::Mem(m) => {
                    let Some(c) = m.delta.columns.get(&col) else {
                        continue;
                    };
                    if !c.touched.contains(row) {
                        continue;
                    }
                    if !c.not_null.contains(row) {
                        return Ok(None);
                    }
                    return Ok(Some(match &c.body {
                        ColumnBody::Flag { trues } => Value::Bool(trues.contains(row)),
                        ColumnBody::Numeric { sign, planes } => {
                            let bits = planes.iter().map(|p| p.contains(row));
                            Value::Int(compose(sign.contains(row), bits))
                        }
                        ColumnBody::Values { values, multi } => {
                            let hits = values
                                .iter()
                                .filter(|(_, b)| b.contains(row))
                                .map(|(v, _)| v.to_string());
                            text_value(*multi, hits)
                        }
                    }));
                }
                Level::Segment(s) => {
                    let shard = row >> SHARD_BITS;
                    let Some(t) = s.bitmap(col, BitmapRole::Touched, shard)? else {
                        continue;
                    };
                    if !t.contains(row) {
                        continue;
                    }
                    let nn = s.bitmap(col, BitmapRole::NotNull, shard)?;
                    if !nn.is_some_and(|b| b.contains(row)) {
                        return Ok(None);
                    }
                    let has = |role| -> Result<bool> {
                        Ok(s.bitmap(col, role, shard)?.is_some_and(|b| b.contains(row)))
                    };
                    return Ok(Some(match kind {
                        TagKind::Flag => Value::Bool(has(BitmapRole::FlagTrue)?),
                        TagKind::Numeric => {
                            let bits = (0..s.plane_count(col))
                                .map(|p| has(BitmapRole::Plane(p)))
                                .collect::<Result<Vec<_>>>()?;
                            Value::Int(compose(has(BitmapRole::Sign)?, bits))
                        }
                        TagKind::Categorical | TagKind::MultiValued => {
                            let values = s.values(col);
                            let hits = s
                                .row_value_ordinals(col, row)?
                                .into_iter()
                                .filter_map(|o| values.get(o as usize).map(|v| v.to_string()));
                            text_value(kind == TagKind::MultiValued, hits)
                        }
                    }));
                }
            }
        }
        Ok(None)
    }

    /// The SQL type of column `col`.
    pub fn column_type(&self, col: ColumnId) -> Option<ColumnType> {
        self.state.schema.column_by_id(col).map(|c| c.ty)
    }
}

/// An `i64` from a sign and magnitude bits (least significant first).
fn compose(negative: bool, bits: impl IntoIterator<Item = bool>) -> i64 {
    let magnitude = bits
        .into_iter()
        .enumerate()
        .fold(0u64, |m, (i, b)| if b && i < 64 { m | 1 << i } else { m });
    if negative {
        0i64.wrapping_sub_unsigned(magnitude)
    } else {
        magnitude as i64
    }
}

fn text_value(multi: bool, hits: impl Iterator<Item = String>) -> Value {
    if multi {
        Value::text_set(hits)
    } else {
        Value::Text(hits.into_iter().next().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_handles_extremes() {
        assert_eq!(compose(false, [true, false, true]), 5);
        assert_eq!(compose(true, [true, false, true]), -5);
        let min_bits = (0..64).map(|i| i == 63);
        assert_eq!(compose(true, min_bits), i64::MIN);
    }

    #[test]
    fn shard_part_cuts_at_shard_bounds() {
        let bm = RoaringBitmap::from_iter([1, (1 << 20) + 3, (2 << 20) + 5]);
        let part = shard_part(&bm, 1).expect("non-empty");
        assert_eq!(part.iter().collect::<Vec<_>>(), vec![(1 << 20) + 3]);
        assert!(shard_part(&bm, 5).is_none());
    }
}
