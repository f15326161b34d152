//! Flush (memtables → segment files) and compaction (segments → one segment).
//!
//! Both run under the maintenance lock, do their file writing without the
//! write lock, and commit by writing a new manifest and publishing a new
//! version. A crash before the manifest switch leaves an orphan file that the
//! next open removes; the data is still in the WAL (flush) or in the input
//! segments (compaction).

use super::delta::TableId;
use super::error::Result;
use super::format;
use super::memtable::MemTable;
use super::merge::fold_levels;
use super::segment::{Segment, write_segment};
use super::store::{Inner, row_u32};
use super::version::{SegmentSet, Version};
use super::wal::WalWriter;
use std::sync::Arc;

impl Inner {
    /// Freezes every non-empty memtable, rotates the WAL, writes the frozen
    /// memtables as segments and commits them. Retries a flush that failed
    /// half-way (its frozen memtables are still in the version).
    pub(crate) fn flush(&self) -> Result<()> {
        let _m = self.maintenance.lock();
        self.flush_locked()
    }

    pub(crate) fn flush_locked(&self) -> Result<()> {
        // Phase 1: freeze and rotate the WAL (write lock, no file writing but
        // the new WAL's header).
        {
            let mut st = self.state.lock();
            let version = self.current();
            let has_frozen = version.tables.values().any(|t| t.frozen.is_some());
            if !has_frozen {
                if version.tables.values().all(|t| t.active.is_empty()) {
                    return Ok(());
                }
                let wal_no = st.manifest.next_file_no;
                st.manifest.next_file_no += 1;
                let wal = WalWriter::create(&*self.backend, wal_no)?;
                st.wal = wal;
                st.flush_point = Some((st.seq, wal_no));
                let mut tables = version.tables.clone();
                for (id, t) in &version.tables {
                    if t.active.is_empty() {
                        continue;
                    }
                    let mut next = t.successor();
                    next.frozen = Some(t.active.clone());
                    next.active = Arc::new(MemTable::new(row_u32(t.next_row_id)));
                    tables.insert(*id, Arc::new(next));
                }
                self.publish(Version {
                    number: version.number + 1,
                    seq: version.seq,
                    tables,
                    meta: version.meta.clone(),
                });
            }
        }
        // Phase 2: write one segment per frozen memtable (no lock held).
        let version = self.current();
        let mut written: Vec<(TableId, u64, Arc<Segment>, u64)> = Vec::new();
        for (id, t) in &version.tables {
            let Some(frozen) = &t.frozen else { continue };
            let no = {
                let mut st = self.state.lock();
                let no = st.manifest.next_file_no;
                st.manifest.next_file_no += 1;
                no
            };
            let name = format::segment_file_name(no);
            let delta = frozen.to_delta();
            write_segment(&*self.backend, &name, *id, &t.schema.kinds(), &delta)?;
            let seg = Segment::open(&*self.backend, &name, self.cache.clone())?;
            written.push((*id, no, Arc::new(seg), delta.keys.end_row()));
        }
        // Phase 3: commit (write lock).
        let mut st = self.state.lock();
        let version = self.current();
        let (flushed_seq, wal_no) = st.flush_point.unwrap_or((st.seq, st.wal.file_no()));
        let mut manifest = st.manifest.clone();
        let mut tables = version.tables.clone();
        let mut orphans = Vec::new();
        for (id, no, seg, end_row) in written {
            match (manifest.tables.get_mut(&id), version.tables.get(&id)) {
                (Some(mt), Some(t)) => {
                    mt.segments.push(no);
                    mt.flushed_rows = mt.flushed_rows.max(end_row);
                    let mut next = t.successor();
                    let mut segs = t.segments.segments.clone();
                    segs.push(seg);
                    next.segments = Arc::new(SegmentSet::new(segs));
                    next.frozen = None;
                    tables.insert(id, Arc::new(next));
                }
                _ => orphans.push(no),
            }
        }
        for t in tables.values_mut() {
            if t.frozen.is_some() {
                // Frozen memtable of a table dropped and recreated meanwhile.
                let mut next = t.successor();
                next.frozen = None;
                *t = Arc::new(next);
            }
        }
        manifest.flushed_seq = flushed_seq;
        manifest.wal_file_no = wal_no;
        manifest.store(&*self.backend)?;
        st.manifest = manifest;
        st.flush_point = None;
        self.publish(Version {
            number: version.number + 1,
            seq: version.seq,
            tables,
            meta: version.meta.clone(),
        });
        drop(st);
        for name in self.backend.list()? {
            if format::parse_wal_file_name(&name).is_some_and(|n| n < wal_no) {
                self.backend.remove(&name)?;
            }
        }
        for no in orphans {
            self.backend.remove(&format::segment_file_name(no))?;
        }
        Ok(())
    }

    /// Merges segments while the merge policy asks for it.
    pub(crate) fn compact(&self) -> Result<()> {
        let _m = self.maintenance.lock();
        // Each merge reduces the segment count, so this terminates; the bound
        // is a guard against a policy bug.
        for _ in 0..1000 {
            if !self.compact_once()? {
                break;
            }
        }
        Ok(())
    }

    fn compact_once(&self) -> Result<bool> {
        let version = self.current();
        let mut pick = None;
        for (id, t) in &version.tables {
            let sizes: Vec<u64> = t.segments.segments.iter().map(|s| s.file_bytes()).collect();
            if let Some(run) = self.options.merge_policy.pick(&sizes) {
                pick = Some((*id, t.clone(), run));
                break;
            }
        }
        let Some((id, t, run)) = pick else {
            return Ok(false);
        };
        let kinds = t.schema.kinds();
        let inputs = &t.segments.segments[run.clone()];
        let base = run.start == 0;
        let mut merged = inputs[0].to_delta()?;
        for seg in &inputs[1..] {
            merged = fold_levels(&merged, &seg.to_delta()?, &kinds, false);
        }
        if base {
            merged = fold_levels(&merged, &Default::default(), &kinds, true);
        }
        let no = {
            let mut st = self.state.lock();
            let no = st.manifest.next_file_no;
            st.manifest.next_file_no += 1;
            no
        };
        let name = format::segment_file_name(no);
        write_segment(&*self.backend, &name, id, &kinds, &merged)?;
        let seg = Arc::new(Segment::open(&*self.backend, &name, self.cache.clone())?);
        let input_nos: Vec<u64> = inputs
            .iter()
            .filter_map(|s| format::parse_segment_file_name(s.file_name()))
            .collect();
        let mut st = self.state.lock();
        let version = self.current();
        let mut manifest = st.manifest.clone();
        let (Some(mt), Some(cur)) = (manifest.tables.get_mut(&id), version.tables.get(&id)) else {
            drop(st);
            self.backend.remove(&name)?;
            return Ok(true);
        };
        if mt.segments.get(run.clone()) != Some(&input_nos[..]) {
            drop(st);
            self.backend.remove(&name)?;
            return Ok(false);
        }
        mt.segments.splice(run.clone(), [no]);
        manifest.store(&*self.backend)?;
        st.manifest = manifest;
        let mut segs = cur.segments.segments.clone();
        segs.splice(run, [seg]);
        let mut next = cur.successor();
        next.segments = Arc::new(SegmentSet::new(segs));
        let mut tables = version.tables.clone();
        tables.insert(id, Arc::new(next));
        self.publish(Version {
            number: version.number + 1,
            seq: version.seq,
            tables,
            meta: version.meta.clone(),
        });
        drop(st);
        for no in input_nos {
            self.backend.remove(&format::segment_file_name(no))?;
        }
        Ok(true)
    }
}
