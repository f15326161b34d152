//! The key section: row id → key in O(1), key → row id in O(log n), read
//! directly from the mapped bytes.
//!
//! Layout for `n` keys (all integers little-endian):
//! - BIGINT: `keys: [i64; n]`, then `perm: [u32; n]`;
//! - TEXT: `offsets: [u64; n + 1]` (into `bytes`, `offsets[0] == 0`,
//!   `offsets[n] == bytes.len()`), `bytes`, then `perm: [u32; n]`;
//!
//! where `perm` lists key indexes (`row − first_row`) in ascending key order.

use super::checked::CheckedRegion;
use super::corrupt;
use super::meta::KeysMeta;
use crate::index::{Key, KeyType, RowId};
use crate::storage::error::{Result, StorageError};
use crate::storage::limits::KEY_BYTES_MAX;
use std::cmp::Ordering;

/// The largest gap, in keys, between two rows read as one run by
/// [`KeySection::keys_of`]: 1,024 keys are 8 KiB of offsets, so a run never
/// verifies much more than the keys it returns.
const RUN_GAP_MAX: u64 = 1024;

/// Writes the key section of `keys` through `out`; returns the key type.
///
/// Fails on mixed key types, duplicates and over-long keys.
pub(super) fn write_keys(
    keys: &[Key],
    table: &str,
    out: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<Option<KeyType>> {
    let Some(first) = keys.first() else {
        return Ok(None);
    };
    let key_type = first.key_type();
    let mut buf = Vec::with_capacity(1 << 16);
    let mut flush = |buf: &mut Vec<u8>, force: bool| -> Result<()> {
        if force || buf.len() >= 1 << 16 {
            out(buf)?;
            buf.clear();
        }
        Ok(())
    };
    for key in keys {
        match (key_type, key) {
            (KeyType::BigInt, Key::Int(v)) => buf.extend_from_slice(&v.to_le_bytes()),
            (KeyType::Text, Key::Text(s)) => {
                if s.len() > KEY_BYTES_MAX {
                    return Err(StorageError::KeyTooLong {
                        len: s.len(),
                        max: KEY_BYTES_MAX,
                    });
                }
            }
            _ => {
                return Err(StorageError::KeyTypeMismatch {
                    table: table.to_owned(),
                    key: key.to_string(),
                    expected: key_type,
                });
            }
        }
        flush(&mut buf, false)?;
    }
    if key_type == KeyType::Text {
        let mut offset = 0u64;
        buf.extend_from_slice(&offset.to_le_bytes());
        for key in keys {
            offset += key.stored_len() as u64;
            buf.extend_from_slice(&offset.to_le_bytes());
            flush(&mut buf, false)?;
        }
        for key in keys {
            if let Key::Text(s) = key {
                buf.extend_from_slice(s.as_bytes());
            }
            flush(&mut buf, false)?;
        }
    }
    let mut perm: Vec<u32> = (0..keys.len())
        .map(|i| {
            u32::try_from(i).map_err(|_| StorageError::LimitExceeded("keys per segment".into()))
        })
        .collect::<Result<_>>()?;
    // A key may repeat: a deleted row's key can be inserted again and gets a
    // new (higher) row id. Equal keys sort by row, and lookups take the last.
    perm.sort_unstable_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]).then(a.cmp(b)));
    for p in perm {
        buf.extend_from_slice(&p.to_le_bytes());
        flush(&mut buf, false)?;
    }
    flush(&mut buf, true)?;
    Ok(Some(key_type))
}

/// The key section of an open segment.
#[derive(Debug)]
pub(super) struct KeySection {
    first_row: RowId,
    count: u64,
    key_type: Option<KeyType>,
    region: CheckedRegion,
    /// Byte offset of `bytes` (TEXT) within the region.
    bytes_base: usize,
    /// Length of `bytes` (TEXT).
    bytes_len: u64,
    /// Byte offset of `perm` within the region.
    perm_base: usize,
}

impl KeySection {
    /// Validates the key block's shape against its region.
    pub fn new(meta: &KeysMeta, file_len: usize, file: &str) -> Result<KeySection> {
        let region = CheckedRegion::new(&meta.region, file_len, file, "key section")?;
        let bad = |what: &str| corrupt(file, meta.region.offset, what.to_owned());
        if u64::from(meta.first_row) + meta.count > 1 << 32 {
            return Err(bad("key block exceeds the row id space"));
        }
        let len = region.len() as u64;
        let n = meta.count;
        let (bytes_base, bytes_len, perm_base) = match meta.key_type {
            None if n == 0 && len == 0 => (0, 0, 0),
            None => return Err(bad("key block without key type")),
            Some(_) if n == 0 => return Err(bad("empty key block with a key type")),
            Some(KeyType::BigInt) => {
                if n.checked_mul(12) != Some(len) {
                    return Err(bad("BIGINT key section length does not match key count"));
                }
                (0, 0, n * 8)
            }
            Some(KeyType::Text) => {
                let fixed = n
                    .checked_add(1)
                    .and_then(|m| m.checked_mul(8))
                    .and_then(|o| o.checked_add(n.checked_mul(4)?))
                    .filter(|f| *f <= len)
                    .ok_or_else(|| bad("TEXT key section shorter than its arrays"))?;
                let bytes_len = len - fixed;
                ((n + 1) * 8, bytes_len, (n + 1) * 8 + bytes_len)
            }
        };
        let to_usize = |v: u64| usize::try_from(v).map_err(|_| bad("key section too large"));
        Ok(KeySection {
            first_row: meta.first_row,
            count: n,
            key_type: meta.key_type,
            region,
            bytes_base: to_usize(bytes_base)?,
            bytes_len,
            perm_base: to_usize(perm_base)?,
        })
    }

    /// First row id and one past the last.
    pub fn rows(&self) -> (RowId, u64) {
        (self.first_row, u64::from(self.first_row) + self.count)
    }

    /// The keys of `rows` (ascending) that lie in this block, each passed
    /// to `found` with its position in `rows`; the positions of rows
    /// outside the block stay in `pending` (ascending positions into
    /// `rows`). Rows close together are read as one run: the offsets and
    /// bytes of a run are verified once instead of once per key.
    pub fn keys_of(
        &self,
        bytes: &[u8],
        rows: &[RowId],
        pending: &mut Vec<usize>,
        file: &str,
        found: &mut dyn FnMut(usize, Key),
    ) -> Result<()> {
        let (first, end) = self.rows();
        let inside = |pos: &usize| {
            let r = rows[*pos];
            r >= first && u64::from(r) < end
        };
        let hits: Vec<(usize, u64)> = pending
            .iter()
            .filter(|p| inside(p))
            .map(|&p| (p, u64::from(rows[p] - first)))
            .collect();
        if hits.is_empty() || self.key_type.is_none() {
            return Ok(());
        }
        pending.retain(|p| !inside(p));
        let mut start = 0;
        while start < hits.len() {
            let mut stop = start + 1;
            while stop < hits.len() && hits[stop].1 - hits[stop - 1].1 <= RUN_GAP_MAX {
                stop += 1;
            }
            self.read_run(bytes, &hits[start..stop], file, found)?;
            start = stop;
        }
        Ok(())
    }

    /// Reads the keys of `run` (positions and ascending key indexes that
    /// lie close together).
    fn read_run(
        &self,
        bytes: &[u8],
        run: &[(usize, u64)],
        file: &str,
        found: &mut dyn FnMut(usize, Key),
    ) -> Result<()> {
        let (Some(&(_, lo)), Some(&(_, hi))) = (run.first(), run.last()) else {
            return Ok(());
        };
        let bad = |what: &str| corrupt(file, self.region.offset() as u64, what.to_owned());
        let at = |index: u64| {
            usize::try_from(index)
                .ok()
                .and_then(|i| i.checked_mul(8))
                .ok_or_else(|| bad("index overflow"))
        };
        let word = |slice: &[u8], i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&slice[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        match self.key_type {
            Some(KeyType::BigInt) => {
                let ints = self.region.read(bytes, at(lo)?, at(hi - lo + 1)?, file)?;
                for &(pos, index) in run {
                    found(
                        pos,
                        Key::Int(word(ints, (index - lo) as usize).cast_signed()),
                    );
                }
            }
            Some(KeyType::Text) => {
                // offsets[lo..=hi + 1], then the bytes they span.
                let offsets = self.region.read(bytes, at(lo)?, at(hi - lo + 2)?, file)?;
                let (base, top) = (word(offsets, 0), word(offsets, (hi - lo + 1) as usize));
                if base > top || top > self.bytes_len {
                    return Err(bad("TEXT key offsets out of order"));
                }
                // Both fit in usize: bounded by the region length.
                let text = self.region.read(
                    bytes,
                    self.bytes_base + base as usize,
                    (top - base) as usize,
                    file,
                )?;
                // In passes, so that the memory reads of one pass do not
                // wait on each other (the rows of a run are usually far
                // apart: each key is a cache miss): the byte range of
                // every key, then every key checked, then copied out.
                let mut spans = Vec::with_capacity(run.len());
                for &(pos, index) in run {
                    let i = (index - lo) as usize;
                    let (a, b) = (word(offsets, i), word(offsets, i + 1));
                    if a < base || a > b || b > top || b - a > KEY_BYTES_MAX as u64 {
                        return Err(bad("TEXT key offsets out of order"));
                    }
                    spans.push((pos, (a - base) as usize, (b - base) as usize));
                }
                let keys = spans
                    .iter()
                    .map(|&(pos, a, b)| {
                        std::str::from_utf8(&text[a..b])
                            .map(|key| (pos, key))
                            .map_err(|_| bad("key is not valid UTF-8"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                for (pos, key) in keys {
                    found(pos, Key::Text(key.to_owned()));
                }
            }
            None => {}
        }
        Ok(())
    }

    /// The key of `row`, `None` outside the block. O(1).
    pub fn key(&self, bytes: &[u8], row: RowId, file: &str) -> Result<Option<Key>> {
        let (first, end) = self.rows();
        if row < first || u64::from(row) >= end {
            return Ok(None);
        }
        let index = u64::from(row - first);
        Ok(Some(match self.key_type {
            Some(KeyType::BigInt) => Key::Int(self.int_at(bytes, index, file)?),
            Some(KeyType::Text) => {
                let raw = self.text_at(bytes, index, file)?;
                let s = std::str::from_utf8(raw).map_err(|_| {
                    corrupt(file, self.region.offset() as u64, "key is not valid UTF-8")
                })?;
                Key::Text(s.to_owned())
            }
            None => return Ok(None),
        }))
    }

    /// The row of `key`, by binary search over `perm`. O(log n) reads.
    pub fn row_of(&self, bytes: &[u8], key: &Key, file: &str) -> Result<Option<RowId>> {
        if self.key_type != Some(key.key_type()) {
            return Ok(None);
        }
        // Upper bound: the first rank whose key is greater than `key`; the
        // rank before it holds the newest row of `key`, if any.
        let (mut lo, mut hi) = (0u64, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let index = self.perm_at(bytes, mid, file)?;
            match self.compare(bytes, index, key, file)? {
                Ordering::Less | Ordering::Equal => lo = mid + 1,
                Ordering::Greater => hi = mid,
            }
        }
        if lo == 0 {
            return Ok(None);
        }
        let index = self.perm_at(bytes, lo - 1, file)?;
        if self.compare(bytes, index, key, file)? != Ordering::Equal {
            return Ok(None);
        }
        // `index < count <= 2^32 - first_row`, checked at open.
        Ok(u32::try_from(index)
            .ok()
            .and_then(|i| self.first_row.checked_add(i)))
    }

    /// Checks every chunk, the TEXT offsets, UTF-8, and that `perm` is a
    /// permutation in strictly ascending key order.
    pub fn verify(&self, bytes: &[u8], file: &str) -> Result<()> {
        self.region.verify_all(bytes, file)?;
        let bad = |what: &str| corrupt(file, self.region.offset() as u64, what.to_owned());
        if self.key_type == Some(KeyType::Text) {
            if self.region.u64_at(bytes, 0, 0, file)? != 0
                || self.region.u64_at(bytes, 0, self.count, file)? != self.bytes_len
            {
                return Err(bad("TEXT key offsets do not span the key bytes"));
            }
            for i in 0..self.count {
                std::str::from_utf8(self.text_at(bytes, i, file)?)
                    .map_err(|_| bad("key is not valid UTF-8"))?;
            }
        }
        let count = usize::try_from(self.count).map_err(|_| bad("too many keys"))?;
        let mut seen = vec![false; count];
        let mut previous: Option<u64> = None;
        for rank in 0..self.count {
            let index = self.perm_at(bytes, rank, file)?;
            let slot = seen
                .get_mut(index as usize)
                .ok_or_else(|| bad("perm index out of range"))?;
            if std::mem::replace(slot, true) {
                return Err(bad("perm repeats an index"));
            }
            if let Some(p) = previous {
                let key = self.key_at(bytes, p, file)?;
                match self.compare(bytes, index, &key, file)? {
                    Ordering::Greater => {}
                    Ordering::Equal if index > p => {}
                    _ => {
                        return Err(bad(
                            "keys are not ascending (by key, then row) in perm order",
                        ));
                    }
                }
            }
            previous = Some(index);
        }
        Ok(())
    }

    fn key_at(&self, bytes: &[u8], index: u64, file: &str) -> Result<Key> {
        self.key(bytes, self.first_row.saturating_add(index as u32), file)?
            .ok_or_else(|| corrupt(file, self.region.offset() as u64, "key index out of range"))
    }

    fn perm_at(&self, bytes: &[u8], rank: u64, file: &str) -> Result<u64> {
        let index = u64::from(self.region.u32_at(bytes, self.perm_base, rank, file)?);
        if index >= self.count {
            return Err(corrupt(
                file,
                self.region.offset() as u64,
                "perm index out of range",
            ));
        }
        Ok(index)
    }

    fn int_at(&self, bytes: &[u8], index: u64, file: &str) -> Result<i64> {
        Ok(self.region.u64_at(bytes, 0, index, file)?.cast_signed())
    }

    fn text_at<'a>(&self, bytes: &'a [u8], index: u64, file: &str) -> Result<&'a [u8]> {
        // offsets[index] and offsets[index + 1], in one read.
        let at = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(8))
            .ok_or_else(|| corrupt(file, self.region.offset() as u64, "index overflow"))?;
        let pair = self.region.read(bytes, at, 16, file)?;
        let offset = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&pair[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let (a, b) = (offset(0), offset(8));
        if a > b || b > self.bytes_len || b - a > KEY_BYTES_MAX as u64 {
            return Err(corrupt(
                file,
                self.region.offset() as u64,
                "TEXT key offsets out of order",
            ));
        }
        // Both fit in usize: bounded by the region length.
        self.region
            .read(bytes, self.bytes_base + a as usize, (b - a) as usize, file)
    }

    /// Compares the key at `index` with `key` (of this block's type).
    fn compare(&self, bytes: &[u8], index: u64, key: &Key, file: &str) -> Result<Ordering> {
        Ok(match key {
            Key::Int(v) => self.int_at(bytes, index, file)?.cmp(v),
            Key::Text(s) => self.text_at(bytes, index, file)?.cmp(s.as_bytes()),
        })
    }
}
