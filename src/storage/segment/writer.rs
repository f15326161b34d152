//! Writing a table delta as a segment file.

use super::meta::{ColumnMeta, DirEntry, ForwardEntry, KeysMeta, Meta, Region, kind_code};
use super::{CHUNK_BYTES, DELETED_COLUMN, FORWARD_INDEX_VALUES_MIN, forward, keys, shard_rows};
use crate::index::TagKind;
use crate::storage::error::{Result, StorageError};
use crate::storage::format::{FORMAT_VERSION, SEGMENT_MAGIC};
use crate::storage::limits::DISTINCT_VALUES_MAX;
use crate::storage::{
    Backend, BitmapRole, ColumnBody, ColumnDelta, ColumnId, TableDelta, TableId, WritableFile,
};
use roaring::{MultiOps, RoaringBitmap};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What [`write_segment`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentStats {
    /// Size of the finished file in bytes.
    pub file_bytes: u64,
    /// Number of bitmap blobs (one per non-empty (column, role, shard)).
    pub bitmaps: u64,
}

/// Writes `delta` of table `table` (whose columns have the given kinds) as the
/// segment file `file_name`.
///
/// Writes `{file_name}.tmp`, fsyncs it, renames it to `file_name` and fsyncs
/// the directory; on error the temporary file is removed (best effort) and
/// `file_name` is untouched. Columns of `delta` missing from `kinds` are
/// skipped; empty bitmaps and values without rows are not stored.
///
/// Refuses (with `InvalidValue`, `KeyTypeMismatch`, `KeyTooLong` or
/// `DuplicateKey`) a delta that breaks the invariants [`super::Segment::verify`]
/// checks, so a finished file always verifies. Cost: one pass over every
/// bitmap, plus O(rows) per shard for forward indexes and O(n log n) to sort
/// the keys.
pub fn write_segment(
    backend: &dyn Backend,
    file_name: &str,
    table: TableId,
    kinds: &BTreeMap<ColumnId, TagKind>,
    delta: &TableDelta,
) -> Result<SegmentStats> {
    let plans = plan_columns(table, kinds, delta)?;
    let tmp = format!("{file_name}.tmp");
    let file = backend.create(&tmp)?;
    let writer = SegmentWriter {
        sink: Sink {
            file,
            buf: Vec::with_capacity(SINK_BYTES),
            offset: 0,
            name: tmp.clone(),
        },
        entries: Vec::new(),
        blob: Vec::new(),
    };
    let result = writer
        .write(&plans, delta)
        .and_then(|w| w.finish(table, &plans, delta));
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            let _ = backend.remove(&tmp);
            return Err(e);
        }
    };
    backend.rename(&tmp, file_name)?;
    backend.sync_dir()?;
    Ok(stats)
}

/// Bytes buffered before a write to the file.
const SINK_BYTES: usize = 1 << 20;

/// One column as it will be written.
struct ColumnPlan<'a> {
    id: ColumnId,
    kind: TagKind,
    delta: &'a ColumnDelta,
    /// Non-empty values in ascending order (their index is the ordinal).
    values: Vec<(&'a Arc<str>, &'a RoaringBitmap)>,
    /// Planes up to the last non-empty one.
    planes: &'a [Arc<RoaringBitmap>],
}

fn plan_columns<'a>(
    table: TableId,
    kinds: &BTreeMap<ColumnId, TagKind>,
    delta: &'a TableDelta,
) -> Result<Vec<ColumnPlan<'a>>> {
    let mut plans = Vec::new();
    for (&id, column) in &delta.columns {
        let Some(&kind) = kinds.get(&id) else {
            continue;
        };
        let invalid = |detail: String| StorageError::InvalidValue {
            column: format!("{id} of table {table}"),
            expected: format!("{kind:?}"),
            detail,
        };
        if id == DELETED_COLUMN {
            return Err(invalid(
                "column id u32::MAX is reserved for deleted rows".into(),
            ));
        }
        let not_null = &*column.not_null;
        if !not_null.is_subset(&column.touched) {
            return Err(invalid("not-null rows outside touched rows".into()));
        }
        let subset = |b: &RoaringBitmap, what: &str| {
            if b.is_subset(not_null) {
                Ok(())
            } else {
                Err(invalid(format!("{what} rows outside not-null rows")))
            }
        };
        let mut plan = ColumnPlan {
            id,
            kind,
            delta: column,
            values: Vec::new(),
            planes: &[],
        };
        match (&column.body, kind) {
            (ColumnBody::Flag { trues }, TagKind::Flag) => subset(trues, "true")?,
            (ColumnBody::Numeric { sign, planes }, TagKind::Numeric) => {
                if planes.len() > 64 {
                    return Err(invalid(format!("{} bit planes (at most 64)", planes.len())));
                }
                subset(sign, "sign")?;
                for plane in planes {
                    subset(plane, "plane")?;
                }
                let used = planes
                    .iter()
                    .rposition(|p| !p.is_empty())
                    .map_or(0, |i| i + 1);
                plan.planes = &planes[..used];
            }
            (ColumnBody::Values { multi, values }, TagKind::Categorical | TagKind::MultiValued)
                if *multi == (kind == TagKind::MultiValued) =>
            {
                plan.values = values
                    .iter()
                    .filter(|(_, b)| !b.is_empty())
                    .map(|(v, b)| (v, &**b))
                    .collect();
                if plan.values.len() > DISTINCT_VALUES_MAX {
                    return Err(invalid(format!("{} distinct values", plan.values.len())));
                }
                for (_, bitmap) in &plan.values {
                    subset(bitmap, "value")?;
                }
                if !multi {
                    let sum: u64 = plan.values.iter().map(|(_, b)| b.len()).sum();
                    if plan.values.iter().map(|(_, b)| *b).union().len() != sum {
                        return Err(invalid("a row holds two categorical values".into()));
                    }
                }
            }
            _ => return Err(invalid("column body does not match the column kind".into())),
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// Buffered, offset-tracking output.
struct Sink {
    file: Box<dyn WritableFile>,
    buf: Vec<u8>,
    offset: u64,
    name: String,
}

impl Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.offset += bytes.len() as u64;
        if self.buf.len() + bytes.len() > SINK_BYTES {
            self.flush()?;
            if bytes.len() > SINK_BYTES {
                return self.file.write_all(bytes);
            }
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Writes a [`Region`], checksumming it chunk by chunk.
struct RegionWriter {
    offset: u64,
    len: u64,
    hasher: crc32fast::Hasher,
    in_chunk: usize,
    chunk_crcs: Vec<u32>,
}

impl RegionWriter {
    fn new(offset: u64) -> RegionWriter {
        RegionWriter {
            offset,
            len: 0,
            hasher: crc32fast::Hasher::new(),
            in_chunk: 0,
            chunk_crcs: Vec::new(),
        }
    }

    fn write(&mut self, sink: &mut Sink, bytes: &[u8]) -> Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let take = (CHUNK_BYTES - self.in_chunk).min(rest.len());
            self.hasher.update(&rest[..take]);
            self.in_chunk += take;
            rest = &rest[take..];
            if self.in_chunk == CHUNK_BYTES {
                self.chunk_crcs
                    .push(std::mem::take(&mut self.hasher).finalize());
                self.in_chunk = 0;
            }
        }
        self.len += bytes.len() as u64;
        sink.write(bytes)
    }

    fn finish(mut self) -> Region {
        if self.in_chunk > 0 {
            self.chunk_crcs.push(self.hasher.finalize());
        }
        Region {
            offset: self.offset,
            len: self.len,
            chunk_crcs: self.chunk_crcs,
        }
    }
}

/// A segment file being written; [`SegmentWriter::finish`] completes it.
struct SegmentWriter {
    sink: Sink,
    entries: Vec<DirEntry>,
    /// Scratch buffer for one serialized bitmap.
    blob: Vec<u8>,
}

impl SegmentWriter {
    /// Writes the header and all bitmap blobs, in directory order.
    fn write(mut self, plans: &[ColumnPlan<'_>], delta: &TableDelta) -> Result<SegmentWriter> {
        let mut header = Vec::with_capacity(16);
        header.extend_from_slice(&SEGMENT_MAGIC);
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        self.sink.write(&header)?;
        for plan in plans {
            let c = plan.delta;
            self.write_sharded(plan.id, BitmapRole::Touched, &c.touched)?;
            self.write_sharded(plan.id, BitmapRole::NotNull, &c.not_null)?;
            match &c.body {
                ColumnBody::Flag { trues } => {
                    self.write_sharded(plan.id, BitmapRole::FlagTrue, trues)?
                }
                ColumnBody::Numeric { sign, .. } => {
                    self.write_sharded(plan.id, BitmapRole::Sign, sign)?;
                    for (p, plane) in (0u8..).zip(plan.planes) {
                        self.write_sharded(plan.id, BitmapRole::Plane(p), plane)?;
                    }
                }
                ColumnBody::Values { .. } => {
                    for (ordinal, (_, bitmap)) in (0u32..).zip(&plan.values) {
                        self.write_sharded(plan.id, BitmapRole::Value(ordinal), bitmap)?;
                    }
                }
            }
        }
        self.write_sharded(DELETED_COLUMN, BitmapRole::Touched, &delta.deleted)?;
        Ok(self)
    }

    /// Writes `bitmap` as one blob per non-empty shard, in shard order.
    fn write_sharded(
        &mut self,
        column: ColumnId,
        role: BitmapRole,
        bitmap: &RoaringBitmap,
    ) -> Result<()> {
        let (Some(min), Some(max)) = (bitmap.min(), bitmap.max()) else {
            return Ok(());
        };
        let (first, last) = (super::shard_of(min), super::shard_of(max));
        if first == last {
            return self.write_blob(column, role, first, bitmap);
        }
        for shard in first..=last {
            let mut range = RoaringBitmap::new();
            range.insert_range(shard_rows(shard));
            let part = bitmap & &range;
            if !part.is_empty() {
                self.write_blob(column, role, shard, &part)?;
            }
        }
        Ok(())
    }

    fn write_blob(
        &mut self,
        column: ColumnId,
        role: BitmapRole,
        shard: u32,
        bitmap: &RoaringBitmap,
    ) -> Result<()> {
        self.blob.clear();
        bitmap
            .serialize_into(&mut self.blob)
            .map_err(|e| StorageError::io(&self.sink.name, e))?;
        let len = u32::try_from(self.blob.len())
            .map_err(|_| StorageError::LimitExceeded("bitmap blob over 4 GiB".into()))?;
        self.entries.push(DirEntry {
            column,
            tag: role.tag(),
            arg: role.arg(),
            shard,
            offset: self.sink.offset,
            len,
            crc: crc32fast::hash(&self.blob),
            cardinality: bitmap.len(),
        });
        let blob = std::mem::take(&mut self.blob);
        let result = self.sink.write(&blob);
        self.blob = blob;
        result
    }

    /// Writes forward indexes, keys, meta block and footer; fsyncs.
    fn finish(
        mut self,
        table: TableId,
        plans: &[ColumnPlan<'_>],
        delta: &TableDelta,
    ) -> Result<SegmentStats> {
        let mut forwards = Vec::new();
        let mut scratch = Vec::new();
        for plan in plans {
            if plan.values.len() <= FORWARD_INDEX_VALUES_MIN {
                continue;
            }
            let multi = plan.kind == TagKind::MultiValued;
            let values: Vec<(u32, &RoaringBitmap)> =
                (0u32..).zip(plan.values.iter().map(|(_, b)| *b)).collect();
            let shards: Vec<u32> = self
                .entries
                .iter()
                .filter(|e| e.column == plan.id && e.tag == BitmapRole::NotNull.tag())
                .map(|e| e.shard)
                .collect();
            for shard in shards {
                let Some(blob) =
                    forward::build(shard, multi, &plan.delta.not_null, &values, &mut scratch)
                else {
                    continue;
                };
                let mut region = RegionWriter::new(self.sink.offset);
                region.write(&mut self.sink, &blob)?;
                forwards.push(ForwardEntry {
                    column: plan.id,
                    shard,
                    region: region.finish(),
                });
            }
        }
        drop(scratch);

        let mut region = RegionWriter::new(self.sink.offset);
        let sink = &mut self.sink;
        let key_type = keys::write_keys(&delta.keys.keys, &table.to_string(), &mut |bytes| {
            region.write(sink, bytes)
        })?;
        let keys = KeysMeta {
            first_row: delta.keys.first_row,
            count: delta.keys.keys.len() as u64,
            key_type,
            region: region.finish(),
        };
        if u64::from(keys.first_row) + keys.count > 1 << 32 {
            return Err(StorageError::RowIdsExhausted(table.to_string()));
        }

        let columns = plans
            .iter()
            .map(|plan| ColumnMeta {
                id: plan.id,
                kind: kind_code(plan.kind),
                values: plan.values.iter().map(|(v, _)| v.to_string()).collect(),
                // At most 64 planes, checked in `plan_columns`.
                planes: u8::try_from(plan.planes.len()).unwrap_or(u8::MAX),
            })
            .collect();
        let bitmaps = self.entries.len() as u64;
        let meta = Meta {
            table,
            columns,
            entries: self.entries,
            forward: forwards,
            keys,
        };
        let meta_bytes = postcard::to_allocvec(&meta)
            .map_err(|e| StorageError::io(&self.sink.name, std::io::Error::other(e)))?;
        let meta_offset = self.sink.offset;
        self.sink.write(&meta_bytes)?;
        let mut footer = Vec::with_capacity(crate::storage::format::SEGMENT_FOOTER_LEN);
        footer.extend_from_slice(&meta_offset.to_le_bytes());
        footer.extend_from_slice(&(meta_bytes.len() as u64).to_le_bytes());
        footer.extend_from_slice(&crc32fast::hash(&meta_bytes).to_le_bytes());
        footer.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        footer.extend_from_slice(&SEGMENT_MAGIC);
        self.sink.write(&footer)?;
        self.sink.flush()?;
        self.sink.file.sync()?;
        Ok(SegmentStats {
            file_bytes: self.sink.offset,
            bitmaps,
        })
    }
}
