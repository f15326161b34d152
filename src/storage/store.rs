//! [`Store`]: one open data directory.
//!
//! Opening recovers: manifest → segments → WAL replay (a torn tail is cut and
//! logged). Writes go through group commit: the leader validates each batch,
//! appends all records with one write, fsyncs once, applies them to the
//! memtables and publishes a new version; only then are the writers
//! acknowledged. A background thread flushes full memtables into segment
//! files and merges segments by the [`MergePolicy`].

use super::backend::{Backend, FsBackend};
use super::delta::{ColumnId, TableId};
use super::error::{Result, StorageError};
use super::format::{self, LOCK_FILE};
use super::limits;
use super::manifest::{Manifest, ManifestTable};
use super::memtable::MemTable;
use super::merge::MergePolicy;
use super::record::WalRecord;
use super::schema::{ColumnSchema, TableSchema};
use super::segment::{BitmapCache, Segment};
use super::snapshot::Snapshot;
use super::version::{SegmentSet, TableState, Version};
use super::wal::group_commit::GroupCommit;
use super::wal::{self, WalWriter};
use super::write::{self, GroupPending, WriteBatch, WriteSummary};
use crate::index::{ColumnType, KeyType};
use crossbeam::channel::{self, Receiver, Sender};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Tunables of an open store.
#[derive(Clone, Debug)]
pub struct Options {
    /// A table's memtable is flushed once it holds this many operations.
    pub memtable_ops_max: u64,
    /// Bytes of deserialized segment bitmaps kept in memory.
    pub bitmap_cache_bytes: usize,
    /// Most write batches committed by one fsync.
    pub group_commit_max: usize,
    /// Which segments compaction merges.
    pub merge_policy: MergePolicy,
    /// Run flushes and compactions on a background thread. Without it they
    /// run only when [`Store::flush`] / [`Store::compact`] are called.
    pub background: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            memtable_ops_max: 262_144,
            bitmap_cache_bytes: 1 << 30,
            group_commit_max: 4096,
            merge_policy: MergePolicy::default(),
            background: true,
        }
    }
}

/// What [`Store::check`] verified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Tables in the manifest.
    pub tables: u64,
    /// Segment files verified.
    pub segments: u64,
    /// Bytes of segment files verified.
    pub bytes: u64,
    /// WAL files read.
    pub wal_files: u64,
    /// WAL records decoded.
    pub wal_records: u64,
}

/// What the write lock guards.
pub(crate) struct WriteState {
    /// The manifest in force on disk (schema changes write it at once).
    pub(crate) manifest: Manifest,
    pub(crate) wal: WalWriter,
    /// Sequence number of the last logged record.
    pub(crate) seq: u64,
    /// Set when the WAL's state is unknown (a failed append or fsync); writes
    /// are refused until the store is reopened, which replays what is durable.
    pub(crate) poisoned: Option<String>,
    /// Sequence number and WAL file a pending flush covers.
    pub(crate) flush_point: Option<(u64, u64)>,
}

pub(crate) enum Job {
    Maintain,
    Stop,
}

pub(crate) struct Inner {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) options: Options,
    pub(crate) current: RwLock<Arc<Version>>,
    pub(crate) state: Mutex<WriteState>,
    pub(crate) group: GroupCommit<WriteBatch, Result<WriteSummary>>,
    /// Serializes flushes, compactions and bulk loads.
    pub(crate) maintenance: Mutex<()>,
    pub(crate) cache: Arc<BitmapCache>,
    jobs: Sender<Job>,
}

/// An open audb data directory.
pub struct Store {
    pub(crate) inner: Arc<Inner>,
    worker: Option<JoinHandle<()>>,
    _lock: Option<File>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.inner.backend.root())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the data directory at `path`, taking its lock.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        let backend = FsBackend::new(path.as_ref())?;
        let lock_path = path.as_ref().join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(|e| StorageError::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(StorageError::Locked(path.as_ref().to_owned()));
        }
        let mut store = Store::open_backend(Arc::new(backend), options)?;
        store._lock = Some(lock);
        Ok(store)
    }

    /// Opens a data directory through any backend (tests inject faults here).
    pub fn open_backend(backend: Arc<dyn Backend>, options: Options) -> Result<Store> {
        let cache = Arc::new(BitmapCache::new(options.bitmap_cache_bytes));
        let (manifest, wal_files) = load_or_create(&*backend)?;
        let mut tables = BTreeMap::new();
        for (id, mt) in &manifest.tables {
            let mut segments = Vec::with_capacity(mt.segments.len());
            for no in &mt.segments {
                let name = format::segment_file_name(*no);
                let seg = Segment::open(&*backend, &name, cache.clone())?;
                if seg.table_id() != *id {
                    return Err(StorageError::corruption(
                        name,
                        0,
                        format!(
                            "segment belongs to table {} but is listed for {id}",
                            seg.table_id()
                        ),
                    ));
                }
                segments.push(Arc::new(seg));
            }
            tables.insert(
                *id,
                TableState {
                    schema: Arc::new(mt.schema.clone()),
                    segments: Arc::new(SegmentSet::new(segments)),
                    frozen: None,
                    active: Arc::new(MemTable::new(row_u32(mt.flushed_rows))),
                    next_row_id: mt.flushed_rows,
                    cache: Default::default(),
                },
            );
        }
        let (seq, wal) = replay(&*backend, &manifest, &wal_files, &mut tables)?;
        let version = Version {
            number: 1,
            seq,
            tables: tables.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            meta: Arc::new(manifest.meta.clone()),
        };
        let (tx, rx) = channel::unbounded();
        let inner = Arc::new(Inner {
            backend,
            current: RwLock::new(Arc::new(version)),
            state: Mutex::new(WriteState {
                manifest,
                wal,
                seq,
                poisoned: None,
                flush_point: None,
            }),
            group: GroupCommit::new(options.group_commit_max),
            maintenance: Mutex::new(()),
            cache,
            jobs: tx,
            options,
        });
        let worker = if inner.options.background {
            let bg = inner.clone();
            Some(
                std::thread::Builder::new()
                    .name("audb-maintenance".into())
                    .spawn(move || maintenance_loop(&bg, &rx))
                    .map_err(|e| StorageError::io("maintenance thread", e))?,
            )
        } else {
            None
        };
        Ok(Store {
            inner,
            worker,
            _lock: None,
        })
    }

    /// A consistent view of everything acknowledged so far.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: self.inner.current(),
        }
    }

    /// Applies `batch` atomically and durably: when this returns `Ok`, the
    /// write is on disk and visible to new snapshots.
    pub fn write(&self, batch: WriteBatch) -> Result<WriteSummary> {
        let inner = &self.inner;
        match inner
            .group
            .submit(batch, |batches| inner.commit_group(batches))
        {
            Ok(result) => result,
            Err(e) => Err(StorageError::Unavailable(e.to_string())),
        }
    }

    /// Creates a table; returns its id.
    pub fn create_table(&self, name: &str, key_name: &str, key_type: KeyType) -> Result<TableId> {
        self.create_table_with_columns(name, key_name, key_type, &[])
    }

    /// Creates a table with its tag columns in one durable step; returns its id.
    pub fn create_table_with_columns(
        &self,
        name: &str,
        key_name: &str,
        key_type: KeyType,
        columns: &[(String, ColumnType)],
    ) -> Result<TableId> {
        self.inner.change_schema(|m, _| {
            if m.tables.values().any(|t| t.schema.name == name) {
                return Err(StorageError::TableExists(name.into()));
            }
            if m.tables.len() >= limits::TABLES_MAX {
                return Err(StorageError::LimitExceeded(format!(
                    "at most {} tables",
                    limits::TABLES_MAX
                )));
            }
            let id = m.next_table_id.max(1);
            m.next_table_id = id + 1;
            if columns.len() > limits::COLUMNS_MAX {
                return Err(StorageError::LimitExceeded(format!(
                    "at most {} columns per table",
                    limits::COLUMNS_MAX
                )));
            }
            let mut schema = TableSchema {
                id,
                name: name.into(),
                key_name: key_name.into(),
                key_type,
                columns: Vec::with_capacity(columns.len()),
                next_column_id: 0,
            };
            for (col, ty) in columns {
                if schema.column(col).is_some() || col == key_name {
                    return Err(StorageError::ColumnExists {
                        table: name.into(),
                        column: col.clone(),
                    });
                }
                schema.columns.push(ColumnSchema {
                    id: schema.next_column_id,
                    name: col.clone(),
                    ty: *ty,
                });
                schema.next_column_id += 1;
            }
            m.tables.insert(
                id,
                ManifestTable {
                    schema,
                    flushed_rows: 0,
                    segments: Vec::new(),
                },
            );
            Ok(id)
        })
    }

    /// Drops a table and, once no snapshot uses them, its files.
    pub fn drop_table(&self, table: TableId) -> Result<()> {
        let removed = self.inner.change_schema(|m, _| {
            m.tables
                .remove(&table)
                .map(|t| t.segments)
                .ok_or_else(|| StorageError::NoSuchTable(table.to_string()))
        })?;
        for no in removed {
            self.inner.backend.remove(&format::segment_file_name(no))?;
        }
        Ok(())
    }

    /// Renames a table.
    pub fn rename_table(&self, table: TableId, new_name: &str) -> Result<()> {
        self.inner.change_schema(|m, _| {
            if m.tables.values().any(|t| t.schema.name == new_name) {
                return Err(StorageError::TableExists(new_name.into()));
            }
            let t = table_mut(m, table)?;
            t.schema.name = new_name.into();
            Ok(())
        })
    }

    /// Adds a tag column (NULL for every existing row); returns its id.
    pub fn add_column(&self, table: TableId, name: &str, ty: ColumnType) -> Result<ColumnId> {
        self.inner.change_schema(|m, _| {
            let t = table_mut(m, table)?;
            let s = &mut t.schema;
            if s.column(name).is_some() || s.key_name == name {
                return Err(StorageError::ColumnExists {
                    table: s.name.clone(),
                    column: name.into(),
                });
            }
            if s.next_column_id as usize >= limits::COLUMNS_MAX {
                return Err(StorageError::LimitExceeded(format!(
                    "at most {} columns per table",
                    limits::COLUMNS_MAX
                )));
            }
            let id = s.next_column_id;
            s.next_column_id += 1;
            s.columns.push(ColumnSchema {
                id,
                name: name.into(),
                ty,
            });
            Ok(id)
        })
    }

    /// Drops a tag column; its data disappears at the next compaction.
    pub fn drop_column(&self, table: TableId, column: ColumnId) -> Result<()> {
        self.inner.change_schema(|m, _| {
            let t = table_mut(m, table)?;
            let before = t.schema.columns.len();
            t.schema.columns.retain(|c| c.id != column);
            if t.schema.columns.len() == before {
                return Err(StorageError::NoSuchColumn {
                    table: t.schema.name.clone(),
                    column: column.to_string(),
                });
            }
            Ok(())
        })
    }

    /// Renames a tag column.
    pub fn rename_column(&self, table: TableId, column: ColumnId, new_name: &str) -> Result<()> {
        self.inner.change_schema(|m, _| {
            let t = table_mut(m, table)?;
            let s = &mut t.schema;
            if s.column(new_name).is_some() || s.key_name == new_name {
                return Err(StorageError::ColumnExists {
                    table: s.name.clone(),
                    column: new_name.into(),
                });
            }
            let table_name = s.name.clone();
            let c = s
                .columns
                .iter_mut()
                .find(|c| c.id == column)
                .ok_or_else(|| StorageError::NoSuchColumn {
                    table: table_name,
                    column: column.to_string(),
                })?;
            c.name = new_name.into();
            Ok(())
        })
    }

    /// Stores (or with `None` removes) metadata of upper layers, durably.
    pub fn set_meta(&self, key: &str, value: Option<Vec<u8>>) -> Result<()> {
        self.inner.change_schema(|m, _| {
            match value {
                Some(v) => m.meta.insert(key.into(), v),
                None => m.meta.remove(key),
            };
            Ok(())
        })
    }

    /// Flushes every memtable into segment files, then lets compaction run.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    /// Runs the merge policy until it has nothing to merge.
    pub fn compact(&self) -> Result<()> {
        self.inner.compact()
    }

    /// Verifies every checksum and structural invariant of the live files:
    /// every segment of every table (all bitmaps, keys, forward indexes) and
    /// every WAL file still needed for recovery. Returns what was checked.
    /// Costs a full read of the data directory.
    pub fn check(&self) -> Result<CheckReport> {
        let version = self.inner.current();
        let mut report = CheckReport::default();
        for t in version.tables.values() {
            report.tables += 1;
            for seg in &t.segments.segments {
                seg.verify()?;
                report.segments += 1;
                report.bytes += seg.file_bytes();
            }
        }
        let wal_from = self.inner.state.lock().manifest.wal_file_no;
        for name in self.inner.backend.list()? {
            if let Some(no) = format::parse_wal_file_name(&name)
                && no >= wal_from
            {
                let contents = wal::read_wal(&*self.inner.backend, no)?;
                for (payload, offset) in contents.records.iter().zip(&contents.offsets) {
                    WalRecord::decode(payload, &name, *offset)?;
                }
                report.wal_files += 1;
                report.wal_records += contents.records.len() as u64;
            }
        }
        Ok(report)
    }

    /// The backend (for tools that inspect files).
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// Hit, miss and byte counters of the segment bitmap cache.
    pub fn cache_stats(&self) -> (u64, u64, u64) {
        self.inner.cache.stats()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.inner.jobs.send(Job::Stop);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn table_mut(m: &mut Manifest, table: TableId) -> Result<&mut ManifestTable> {
    m.tables
        .get_mut(&table)
        .ok_or_else(|| StorageError::NoSuchTable(table.to_string()))
}

pub(crate) fn row_u32(rows: u64) -> u32 {
    u32::try_from(rows).unwrap_or(u32::MAX)
}

impl Inner {
    pub(crate) fn current(&self) -> Arc<Version> {
        self.current.read().clone()
    }

    pub(crate) fn publish(&self, version: Version) {
        *self.current.write() = Arc::new(version);
    }

    pub(crate) fn request_maintenance(&self) {
        let _ = self.jobs.send(Job::Maintain);
    }

    /// Applies a schema or metadata change: to the manifest (durably) first,
    /// then to a new published version.
    fn change_schema<T>(
        &self,
        change: impl FnOnce(&mut Manifest, &Version) -> Result<T>,
    ) -> Result<T> {
        let mut st = self.state.lock();
        let version = self.current();
        let mut manifest = st.manifest.clone();
        let out = change(&mut manifest, &version)?;
        manifest.store(&*self.backend)?;
        let mut tables = BTreeMap::new();
        for (id, mt) in &manifest.tables {
            let state = match version.tables.get(id) {
                Some(old) if *old.schema == mt.schema => old.clone(),
                Some(old) => {
                    let mut s = old.successor();
                    s.schema = Arc::new(mt.schema.clone());
                    Arc::new(s)
                }
                None => Arc::new(TableState {
                    schema: Arc::new(mt.schema.clone()),
                    segments: Arc::default(),
                    frozen: None,
                    active: Arc::new(MemTable::new(row_u32(mt.flushed_rows))),
                    next_row_id: mt.flushed_rows,
                    cache: Default::default(),
                }),
            };
            tables.insert(*id, state);
        }
        self.publish(Version {
            number: version.number + 1,
            seq: version.seq,
            tables,
            meta: Arc::new(manifest.meta.clone()),
        });
        st.manifest = manifest;
        Ok(out)
    }

    /// The group-commit leader's work for one batch of batches.
    fn commit_group(&self, batches: Vec<WriteBatch>) -> Vec<Result<WriteSummary>> {
        let mut st = self.state.lock();
        if let Some(why) = &st.poisoned {
            return batches
                .iter()
                .map(|_| Err(StorageError::Unavailable(why.clone())))
                .collect();
        }
        let version = self.current();
        let mut pending = GroupPending::default();
        let mut seq = st.seq;
        let mut prepared = Vec::with_capacity(batches.len());
        for batch in &batches {
            let r = write::prepare(&version, &mut pending, batch, seq + 1);
            if r.is_ok() {
                seq += 1;
            }
            prepared.push(r);
        }
        let records: Vec<&WalRecord> = prepared
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|(rec, _)| rec)
            .collect();
        if records.is_empty() {
            return prepared.into_iter().map(|r| r.map(|(_, s)| s)).collect();
        }
        let payloads: Vec<Vec<u8>> = records.iter().map(|r| r.encode()).collect();
        let slices: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        if let Err(e) = st.wal.append(&slices).and_then(|()| st.wal.sync()) {
            let why = format!("write-ahead log failed: {e}; reopen the database to recover");
            tracing::error!("{why}");
            st.poisoned = Some(why.clone());
            return batches
                .iter()
                .map(|_| Err(StorageError::Unavailable(why.clone())))
                .collect();
        }
        // One successor state per table for the whole group, so each shared
        // memtable bitmap is copied at most once per commit.
        let mut tables = version.tables.clone();
        let mut changed: BTreeMap<TableId, TableState> = BTreeMap::new();
        for rec in &records {
            let Some(state) = version.tables.get(&rec.table) else {
                continue;
            };
            let next = changed
                .entry(rec.table)
                .or_insert_with(|| state.successor());
            apply_record(next, rec);
        }
        let mut flush_needed = false;
        for (id, next) in changed {
            flush_needed |= next.active.ops >= self.options.memtable_ops_max;
            tables.insert(id, Arc::new(next));
        }
        st.seq = seq;
        self.publish(Version {
            number: version.number + 1,
            seq,
            tables,
            meta: version.meta.clone(),
        });
        drop(st);
        if flush_needed {
            self.request_maintenance();
        }
        prepared.into_iter().map(|r| r.map(|(_, s)| s)).collect()
    }
}

/// Applies a logged record to a table state (writes and replay alike).
/// Returns `false` if a `NewRow` does not continue the row ids in order.
pub(crate) fn apply_record(state: &mut TableState, rec: &WalRecord) -> bool {
    let schema = state.schema.clone();
    let kind_of = |c: ColumnId| schema.column_by_id(c).map(|c| c.ty.kind());
    let active = Arc::make_mut(&mut state.active);
    let mut ok = true;
    for op in &rec.ops {
        if let super::record::LoggedOp::NewRow { row, .. } = op {
            if u64::from(*row) != state.next_row_id {
                ok = false;
                continue;
            }
            state.next_row_id += 1;
        }
        ok &= active.apply(op, kind_of);
    }
    ok
}

/// Loads the manifest, or creates a fresh data directory. Returns the manifest
/// and the WAL file numbers to replay, in order. Removes files the manifest
/// does not name (orphans of an interrupted flush or compaction).
fn load_or_create(backend: &dyn Backend) -> Result<(Manifest, Vec<u64>)> {
    let mut manifest = match Manifest::load(backend)? {
        Some(m) => m,
        None => {
            let foreign: Vec<String> = backend
                .list()?
                .into_iter()
                .filter(|n| n != LOCK_FILE && n != format::MANIFEST_TMP_FILE)
                .collect();
            if !foreign.is_empty() {
                return Err(StorageError::NotADataDirectory(backend.root().to_owned()));
            }
            // The manifest comes first: a crash before it leaves an empty
            // directory; after it, replay finds no WAL and creates WAL 1.
            let m = Manifest {
                next_file_no: 2,
                next_table_id: 1,
                wal_file_no: 1,
                ..Manifest::default()
            };
            m.store(backend)?;
            m
        }
    };
    let live_segments: BTreeSet<u64> = manifest
        .tables
        .values()
        .flat_map(|t| t.segments.iter().copied())
        .collect();
    let mut wal_files = Vec::new();
    for name in backend.list()? {
        if let Some(no) = format::parse_wal_file_name(&name) {
            if no >= manifest.wal_file_no {
                wal_files.push(no);
            } else {
                backend.remove(&name)?;
            }
        } else if let Some(no) = format::parse_segment_file_name(&name) {
            if !live_segments.contains(&no) {
                tracing::info!(file = %name, "removing segment not named by the manifest");
                backend.remove(&name)?;
            }
        } else if name.ends_with(".tmp") {
            backend.remove(&name)?;
        }
    }
    wal_files.sort_unstable();
    // Files created after the manifest was last written (a WAL rotated by a
    // flush that did not commit) must never have their numbers handed out again.
    let newest = wal_files
        .iter()
        .chain(&live_segments)
        .max()
        .copied()
        .unwrap_or(0);
    manifest.next_file_no = manifest.next_file_no.max(newest + 1);
    Ok((manifest, wal_files))
}

/// Replays WAL files into the tables' memtables; returns the last sequence
/// number and the writer to continue appending with.
fn replay(
    backend: &dyn Backend,
    manifest: &Manifest,
    wal_files: &[u64],
    tables: &mut BTreeMap<TableId, TableState>,
) -> Result<(u64, WalWriter)> {
    let mut seq = manifest.flushed_seq;
    let mut last: Option<(u64, u64)> = None;
    for (i, &no) in wal_files.iter().enumerate() {
        let name = format::wal_file_name(no);
        let contents = wal::read_wal(backend, no)?;
        if let Some(torn) = &contents.torn_tail {
            if i + 1 != wal_files.len() {
                return Err(StorageError::corruption(
                    name,
                    torn.offset,
                    format!(
                        "damaged record in a WAL file that is not the newest: {}",
                        torn.reason
                    ),
                ));
            }
            tracing::warn!(
                file = %name,
                offset = torn.offset,
                bytes = torn.bytes_dropped,
                reason = %torn.reason,
                "cutting torn WAL tail (writes never acknowledged)"
            );
        }
        for (payload, offset) in contents.records.iter().zip(&contents.offsets) {
            let rec = WalRecord::decode(payload, &name, *offset)?;
            if rec.seq <= manifest.flushed_seq {
                continue;
            }
            if rec.seq <= seq {
                return Err(StorageError::corruption(
                    name,
                    *offset,
                    format!("sequence number {} after {seq}", rec.seq),
                ));
            }
            seq = rec.seq;
            if let Some(state) = tables.get_mut(&rec.table)
                && !apply_record(state, &rec)
            {
                return Err(StorageError::corruption(
                    name,
                    *offset,
                    "record allocates row ids out of order",
                ));
            }
        }
        last = Some((no, contents.valid_len));
    }
    let wal = match last {
        Some((no, valid_len)) => WalWriter::reopen(backend, no, valid_len)?,
        None => WalWriter::create(backend, manifest.wal_file_no)?,
    };
    Ok((seq, wal))
}

fn maintenance_loop(inner: &Arc<Inner>, jobs: &Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        if matches!(job, Job::Stop) {
            return;
        }
        // Coalesce queued requests.
        while let Ok(next) = jobs.try_recv() {
            if matches!(next, Job::Stop) {
                return;
            }
        }
        if let Err(e) = inner.flush().and_then(|()| inner.compact()) {
            tracing::error!("background flush/compaction failed (will retry): {e}");
        }
    }
}
