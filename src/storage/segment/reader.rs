//! Reading a segment file lazily through a memory map.

use super::cache::BitmapCache;
use super::checked::CheckedRegion;
use super::forward::NO_VALUE;
use super::keys::KeySection;
use super::meta::{ColumnInfo, DirEntry, Meta, check_columns, check_entries};
use super::{DELETED_COLUMN, FORWARD_INDEX_VALUES_MIN, corrupt, decode_roaring, shard_of};
use crate::index::{Key, RowId, TagKind};
use crate::storage::error::{Result, StorageError};
use crate::storage::format::{
    FOOTER_MAGIC, FOOTER_META_CRC, FOOTER_META_LEN, FOOTER_META_OFFSET, FOOTER_VERSION,
    FORMAT_VERSION, OLDEST_SUPPORTED_VERSION, SEGMENT_FOOTER_LEN, SEGMENT_HEADER_LEN,
    SEGMENT_MAGIC, SEGMENT_META_BYTES_MAX, SEGMENT_VERSION_OFFSET, read_u32, read_u64,
};
use crate::storage::{Backend, BitmapRole, ColumnBody, ColumnDelta, ColumnId, FileBytes, KeyBlock};
use crate::storage::{TableDelta, TableId};
use roaring::RoaringBitmap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Source of segment identities for cache keys (unique per process).
static NEXT_SEGMENT_ID: AtomicU64 = AtomicU64::new(1);

/// An open, immutable segment file. `Send + Sync`; share it as `Arc<Segment>`.
///
/// Opening parses only the meta block (O(directory size)); bitmaps are read
/// on demand, checksum-verified on each load from the file, and cached in the
/// shared [`BitmapCache`].
pub struct Segment {
    name: String,
    bytes: FileBytes,
    id: u64,
    cache: Arc<BitmapCache>,
    table: TableId,
    columns: Vec<ColumnInfo>,
    entries: Vec<DirEntry>,
    shards: Vec<u32>,
    keys: KeySection,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name)
            .field("table", &self.table)
            .field("bytes", &self.bytes.len())
            .field("bitmaps", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        self.cache.remove_segment(self.id);
    }
}

impl Segment {
    /// Maps `file_name` and opens it (see [`Segment::from_bytes`]).
    pub fn open(
        backend: &dyn Backend,
        file_name: &str,
        cache: Arc<BitmapCache>,
    ) -> Result<Segment> {
        Segment::from_bytes(file_name, backend.map(file_name)?, cache)
    }

    /// Opens a segment held in `bytes`: checks header, footer, format version
    /// and the meta block's checksum, parses the meta block and checks that
    /// every blob it names lies in the file, in order, without gaps.
    pub fn from_bytes(
        file_name: &str,
        bytes: FileBytes,
        cache: Arc<BitmapCache>,
    ) -> Result<Segment> {
        let name = file_name;
        let b: &[u8] = &bytes;
        let min_len = SEGMENT_HEADER_LEN + SEGMENT_FOOTER_LEN;
        if b.len() < min_len {
            return Err(corrupt(
                name,
                0,
                format!("file of {} bytes is shorter than {min_len}", b.len()),
            ));
        }
        let footer_at = b.len() - SEGMENT_FOOTER_LEN;
        let footer = &b[footer_at..];
        if b[..8] != SEGMENT_MAGIC {
            return Err(corrupt(name, 0, "bad header magic"));
        }
        if footer[FOOTER_MAGIC..] != SEGMENT_MAGIC {
            return Err(corrupt(
                name,
                (footer_at + FOOTER_MAGIC) as u64,
                "bad footer magic",
            ));
        }
        let field_u32 = |buf: &[u8], at: usize, base: usize| {
            read_u32(buf, at).ok_or_else(|| corrupt(name, (base + at) as u64, "truncated field"))
        };
        let field_u64 = |at: usize| {
            read_u64(footer, at)
                .ok_or_else(|| corrupt(name, (footer_at + at) as u64, "truncated field"))
        };
        let version = field_u32(footer, FOOTER_VERSION, footer_at)?;
        if !(OLDEST_SUPPORTED_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(StorageError::UnsupportedVersion {
                file: name.into(),
                found: version,
                oldest: OLDEST_SUPPORTED_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        if field_u32(b, SEGMENT_VERSION_OFFSET, 0)? != version {
            return Err(corrupt(
                name,
                SEGMENT_VERSION_OFFSET as u64,
                "header and footer versions differ",
            ));
        }
        if field_u32(b, SEGMENT_VERSION_OFFSET + 4, 0)? != 0 {
            return Err(corrupt(
                name,
                (SEGMENT_VERSION_OFFSET + 4) as u64,
                "reserved header field not zero",
            ));
        }
        let meta_offset = field_u64(FOOTER_META_OFFSET)?;
        let meta_len = field_u64(FOOTER_META_LEN)?;
        if meta_len > SEGMENT_META_BYTES_MAX
            || meta_offset < SEGMENT_HEADER_LEN as u64
            || meta_offset.checked_add(meta_len) != Some(footer_at as u64)
        {
            return Err(corrupt(
                name,
                footer_at as u64,
                "meta block offset/length do not fit the file",
            ));
        }
        // meta_offset + meta_len == footer_at, so both fit in usize.
        let meta_bytes = &b[meta_offset as usize..footer_at];
        if crc32fast::hash(meta_bytes) != field_u32(footer, FOOTER_META_CRC, footer_at)? {
            return Err(corrupt(name, meta_offset, "meta block checksum mismatch"));
        }
        let meta = match postcard::take_from_bytes::<Meta>(meta_bytes) {
            Ok((meta, [])) => meta,
            Ok(_) => {
                return Err(corrupt(
                    name,
                    meta_offset,
                    "trailing bytes after meta block",
                ));
            }
            Err(e) => {
                return Err(corrupt(
                    name,
                    meta_offset,
                    format!("undecodable meta block: {e}"),
                ));
            }
        };
        let (segment_meta, keys_meta) = (meta_offset, &meta.keys);
        let columns = check_columns(&meta, name, segment_meta)?;
        let mut expected = SEGMENT_HEADER_LEN as u64;
        check_entries(&meta.entries, &columns, name, &mut expected)?;
        let mut segment = Segment {
            name: name.to_owned(),
            id: NEXT_SEGMENT_ID.fetch_add(1, Ordering::Relaxed),
            cache,
            table: meta.table,
            columns,
            shards: Vec::new(),
            keys: KeySection::new(keys_meta, b.len(), name)?,
            entries: meta.entries,
            bytes: bytes.clone(),
        };
        for f in &meta.forward {
            let what = "forward index";
            if f.region.offset != expected {
                return Err(corrupt(
                    name,
                    f.region.offset,
                    "forward index blob out of place",
                ));
            }
            expected += f.region.len;
            let region = CheckedRegion::new(&f.region, b.len(), name, what)?;
            let n = segment
                .find(f.column, BitmapRole::NotNull, f.shard)
                .map(|i| segment.entries[i].cardinality)
                .ok_or_else(|| {
                    corrupt(
                        name,
                        f.region.offset,
                        "forward index of a shard without rows",
                    )
                })?;
            let column = segment
                .columns
                .iter_mut()
                .find(|c| c.id == f.column)
                .filter(|c| c.values.len() > FORWARD_INDEX_VALUES_MIN)
                .ok_or_else(|| {
                    corrupt(
                        name,
                        f.region.offset,
                        "forward index of a column without one",
                    )
                })?;
            let len = f.region.len;
            let fits = match column.kind {
                TagKind::Categorical => len == n * 4,
                _ => len >= (n + 1) * 4 && len % 4 == 0,
            };
            if !fits || column.forward.last().is_some_and(|(s, _)| *s >= f.shard) {
                return Err(corrupt(
                    name,
                    f.region.offset,
                    "forward index blob malformed or out of order",
                ));
            }
            column.forward.push((f.shard, region));
        }
        if keys_meta.region.offset != expected || expected + keys_meta.region.len != meta_offset {
            return Err(corrupt(
                name,
                keys_meta.region.offset,
                "key section out of place",
            ));
        }
        let mut shards: Vec<u32> = segment.entries.iter().map(|e| e.shard).collect();
        shards.sort_unstable();
        shards.dedup();
        segment.shards = shards;
        Ok(segment)
    }

    /// The file name the segment was opened under.
    pub fn file_name(&self) -> &str {
        &self.name
    }

    /// Size of the file in bytes.
    pub fn file_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The table this segment belongs to.
    pub fn table_id(&self) -> TableId {
        self.table
    }

    /// The key block's rows: first row id and one past the last.
    pub fn key_rows(&self) -> (RowId, u64) {
        self.keys.rows()
    }

    /// The key of `row`; `None` if `row` is outside this segment's key block. O(1).
    pub fn key(&self, row: RowId) -> Result<Option<Key>> {
        self.keys.key(&self.bytes, row, &self.name)
    }

    /// The keys of the rows of `rows` (ascending) listed in `pending` that
    /// lie in this segment's key block, passed to `found` with their
    /// position; those positions leave `pending`.
    pub fn keys_of(
        &self,
        rows: &[RowId],
        pending: &mut Vec<usize>,
        found: &mut dyn FnMut(usize, Key),
    ) -> Result<()> {
        self.keys
            .keys_of(&self.bytes, rows, pending, &self.name, found)
    }

    /// The row of `key` in this segment's key block. O(log n) reads of the
    /// mapped key section.
    pub fn row_of(&self, key: &Key) -> Result<Option<RowId>> {
        self.keys.row_of(&self.bytes, key, &self.name)
    }

    /// Column ids, ascending.
    pub fn columns(&self) -> Vec<ColumnId> {
        self.columns.iter().map(|c| c.id).collect()
    }

    /// The tag kind of `col`, `None` if the segment does not hold it.
    pub fn column_kind(&self, col: ColumnId) -> Option<TagKind> {
        self.column(col).map(|c| c.kind)
    }

    /// The bitmap of (`col`, `role`) in `shard`; `None` if empty. Verified
    /// (checksum, roaring validity, cardinality, shard range) when loaded from
    /// the file, then served from the cache.
    pub fn bitmap(
        &self,
        col: ColumnId,
        role: BitmapRole,
        shard: u32,
    ) -> Result<Option<Arc<RoaringBitmap>>> {
        let Some(index) = self.find(col, role, shard) else {
            return Ok(None);
        };
        // Directory indexes fit u32: the directory is smaller than the file.
        let key = (self.id, index as u32);
        if let Some(bitmap) = self.cache.get(key) {
            return Ok(Some(bitmap));
        }
        let bitmap = Arc::new(self.load(index)?);
        self.cache
            .insert(key, bitmap.clone(), u64::from(self.entries[index].len));
        Ok(Some(bitmap))
    }

    /// The union over all shards of (`col`, `role`).
    pub fn bitmap_all(&self, col: ColumnId, role: BitmapRole) -> Result<RoaringBitmap> {
        let mut all = RoaringBitmap::new();
        for index in self.entry_range(col, role) {
            let shard = self.entries[index].shard;
            if let Some(bitmap) = self.bitmap(col, role, shard)? {
                all |= &*bitmap;
            }
        }
        Ok(all)
    }

    /// Rows of `shard` deleted in this level.
    pub fn deleted(&self, shard: u32) -> Result<Option<Arc<RoaringBitmap>>> {
        self.bitmap(DELETED_COLUMN, BitmapRole::Touched, shard)
    }

    /// Shards holding any bitmap, ascending.
    pub fn shards(&self) -> Vec<u32> {
        self.shards.clone()
    }

    /// The sorted values of a `Values` column (`BitmapRole::Value(i)` names
    /// `values(col)[i]`); empty for other columns.
    pub fn values(&self, col: ColumnId) -> &[Arc<str>] {
        self.column(col).map_or(&[], |c| &c.values)
    }

    /// The ordinal of `value` in `col`'s value list. O(log values).
    pub fn value_ordinal(&self, col: ColumnId, value: &str) -> Option<u32> {
        let values = self.values(col);
        let i = values.binary_search_by(|v| (**v).cmp(value)).ok()?;
        u32::try_from(i).ok()
    }

    /// Number of magnitude planes of a numeric column (0 otherwise).
    pub fn plane_count(&self, col: ColumnId) -> u8 {
        self.column(col).map_or(0, |c| c.planes)
    }

    /// Rows in (`col`, `role`) over all shards, from the directory (no IO).
    pub fn cardinality(&self, col: ColumnId, role: BitmapRole) -> u64 {
        self.entry_range(col, role)
            .map(|i| self.entries[i].cardinality)
            .sum()
    }

    /// The value ordinals `row` holds in `col` in this level (sorted; empty
    /// for NULL, untouched rows and non-`Values` columns). Reads the forward
    /// index when the column has one, else tests each value bitmap of the
    /// row's shard.
    pub fn row_value_ordinals(&self, col: ColumnId, row: RowId) -> Result<Vec<u32>> {
        let Some(column) = self.column(col) else {
            return Ok(Vec::new());
        };
        if !matches!(column.kind, TagKind::Categorical | TagKind::MultiValued) {
            return Ok(Vec::new());
        }
        let shard = shard_of(row);
        let Some(not_null) = self.bitmap(col, BitmapRole::NotNull, shard)? else {
            return Ok(Vec::new());
        };
        if !not_null.contains(row) {
            return Ok(Vec::new());
        }
        let Ok(at) = column.forward.binary_search_by_key(&shard, |(s, _)| *s) else {
            let mut found = Vec::new();
            for ordinal in (0u32..).take(column.values.len()) {
                if self
                    .bitmap(col, BitmapRole::Value(ordinal), shard)?
                    .is_some_and(|b| b.contains(row))
                {
                    found.push(ordinal);
                }
            }
            return Ok(found);
        };
        let region = &column.forward[at].1;
        let (b, name, values) = (&self.bytes[..], &self.name[..], column.values.len() as u64);
        let bad = |what: &str| corrupt(name, region.offset() as u64, what.to_owned());
        let rank = not_null.rank(row) - 1;
        let ordinals = if column.kind == TagKind::Categorical {
            match region.u32_at(b, 0, rank, name)? {
                NO_VALUE => Vec::new(),
                ordinal => vec![ordinal],
            }
        } else {
            let n = not_null.len();
            let (start, end) = (
                region.u32_at(b, 0, rank, name)?,
                region.u32_at(b, 0, rank + 1, name)?,
            );
            let total = (region.len() as u64 - (n + 1) * 4) / 4;
            if start > end || u64::from(end) > total || u64::from(end - start) > values {
                return Err(bad("forward index offsets out of order"));
            }
            let base = ((n + 1) * 4) as usize;
            (start..end)
                .map(|i| region.u32_at(b, base, u64::from(i), name))
                .collect::<Result<Vec<u32>>>()?
        };
        if ordinals.iter().any(|o| u64::from(*o) >= values) {
            return Err(bad("forward index names an unknown value"));
        }
        Ok(ordinals)
    }

    /// Loads the whole segment back as a delta (for compaction), bypassing
    /// the cache. Equals the written delta minus empty values and trailing
    /// empty planes (and with columns absent from `kinds` dropped).
    pub fn to_delta(&self) -> Result<TableDelta> {
        let (first_row, end) = self.key_rows();
        let mut keys = Vec::with_capacity(usize::try_from(end - u64::from(first_row)).unwrap_or(0));
        for row in u64::from(first_row)..end {
            let row = u32::try_from(row).map_err(|_| corrupt(&self.name, 0, "row id overflow"))?;
            let key = self
                .key(row)?
                .ok_or_else(|| corrupt(&self.name, 0, "key block shrank"))?;
            keys.push(key);
        }
        let mut delta = TableDelta {
            keys: KeyBlock { first_row, keys },
            deleted: Arc::new(self.load_all(DELETED_COLUMN, BitmapRole::Touched)?),
            columns: Default::default(),
        };
        for column in &self.columns {
            let all = |role| self.load_all(column.id, role).map(Arc::new);
            let body = match column.kind {
                TagKind::Flag => ColumnBody::Flag {
                    trues: all(BitmapRole::FlagTrue)?,
                },
                TagKind::Numeric => ColumnBody::Numeric {
                    sign: all(BitmapRole::Sign)?,
                    planes: (0..column.planes)
                        .map(|p| all(BitmapRole::Plane(p)))
                        .collect::<Result<_>>()?,
                },
                TagKind::Categorical | TagKind::MultiValued => ColumnBody::Values {
                    multi: column.kind == TagKind::MultiValued,
                    values: (0u32..)
                        .zip(&column.values)
                        .map(|(i, v)| Ok((v.clone(), all(BitmapRole::Value(i))?)))
                        .collect::<Result<_>>()?,
                },
            };
            let touched = all(BitmapRole::Touched)?;
            let not_null = all(BitmapRole::NotNull)?;
            delta.columns.insert(
                column.id,
                ColumnDelta {
                    touched,
                    not_null,
                    body,
                },
            );
        }
        Ok(delta)
    }

    fn column(&self, col: ColumnId) -> Option<&ColumnInfo> {
        let i = self.columns.binary_search_by_key(&col, |c| c.id).ok()?;
        self.columns.get(i)
    }

    /// Directory index of (`col`, `role`, `shard`).
    pub(super) fn find(&self, col: ColumnId, role: BitmapRole, shard: u32) -> Option<usize> {
        let key = (col, role.tag(), role.arg(), shard);
        self.entries
            .binary_search_by_key(&key, DirEntry::sort_key)
            .ok()
    }

    /// Directory indexes of (`col`, `role`) over all shards.
    fn entry_range(&self, col: ColumnId, role: BitmapRole) -> std::ops::Range<usize> {
        let key = (col, role.tag(), role.arg());
        let start = self
            .entries
            .partition_point(|e| (e.column, e.tag, e.arg) < key);
        let end = self
            .entries
            .partition_point(|e| (e.column, e.tag, e.arg) <= key);
        start..end
    }

    /// Reads and verifies directory entry `index` from the file (no cache).
    pub(super) fn load(&self, index: usize) -> Result<RoaringBitmap> {
        let name = &self.name[..];
        let e = self
            .entries
            .get(index)
            .ok_or_else(|| corrupt(name, 0, "directory index out of range"))?;
        let blob = usize::try_from(e.offset)
            .ok()
            .and_then(|start| self.bytes.get(start..start.checked_add(e.len as usize)?))
            .ok_or_else(|| corrupt(name, e.offset, "bitmap blob beyond end of file"))?;
        if crc32fast::hash(blob) != e.crc {
            return Err(corrupt(name, e.offset, "bitmap blob checksum mismatch"));
        }
        let bitmap = decode_roaring(blob, name, e.offset)?;
        let in_shard = |r: Option<u32>| r.map(shard_of) == Some(e.shard);
        if bitmap.len() != e.cardinality || !in_shard(bitmap.min()) || !in_shard(bitmap.max()) {
            return Err(corrupt(
                name,
                e.offset,
                "bitmap does not match its directory entry",
            ));
        }
        Ok(bitmap)
    }

    /// The union over shards of (`col`, `role`), bypassing the cache.
    fn load_all(&self, col: ColumnId, role: BitmapRole) -> Result<RoaringBitmap> {
        let mut all = RoaringBitmap::new();
        for index in self.entry_range(col, role) {
            all |= self.load(index)?;
        }
        Ok(all)
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(super) fn forward_regions(&self, col: ColumnId) -> &[(u32, CheckedRegion)] {
        self.column(col).map_or(&[], |c| &c.forward)
    }

    pub(super) fn key_section(&self) -> &KeySection {
        &self.keys
    }

    pub(super) fn entries(&self) -> &[DirEntry] {
        &self.entries
    }
}
