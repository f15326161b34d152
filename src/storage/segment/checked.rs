//! Byte regions checksummed per chunk, so that point reads verify only the
//! chunks they touch, each at most once per open segment.

use super::meta::Region;
use super::{CHUNK_BYTES, corrupt};
use crate::storage::error::Result;
use std::sync::atomic::{AtomicU64, Ordering};

/// A validated [`Region`] of a mapped file plus which chunks were verified.
#[derive(Debug)]
pub(super) struct CheckedRegion {
    offset: usize,
    len: usize,
    chunk_crcs: Vec<u32>,
    verified: Vec<AtomicU64>,
}

impl CheckedRegion {
    /// Checks that `region` lies within `file_len` bytes and that it carries one
    /// crc per chunk.
    pub fn new(region: &Region, file_len: usize, file: &str, what: &str) -> Result<CheckedRegion> {
        let end = region.offset.checked_add(region.len);
        let (Ok(offset), Ok(len)) = (usize::try_from(region.offset), usize::try_from(region.len))
        else {
            return Err(corrupt(
                file,
                region.offset,
                format!("{what} out of bounds"),
            ));
        };
        if end.is_none_or(|e| e > file_len as u64) {
            return Err(corrupt(
                file,
                region.offset,
                format!("{what} out of bounds"),
            ));
        }
        let chunks = len.div_ceil(CHUNK_BYTES);
        if region.chunk_crcs.len() != chunks {
            return Err(corrupt(
                file,
                region.offset,
                format!(
                    "{what} has {} chunk checksums, needs {chunks}",
                    region.chunk_crcs.len()
                ),
            ));
        }
        Ok(CheckedRegion {
            offset,
            len,
            chunk_crcs: region.chunk_crcs.clone(),
            verified: (0..chunks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
        })
    }

    /// Byte length of the region.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Byte offset of the region in the file.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// `len` bytes at `at` (relative to the region), after verifying the
    /// chunks they lie in.
    pub fn read<'a>(&self, bytes: &'a [u8], at: usize, len: usize, file: &str) -> Result<&'a [u8]> {
        let end = at.checked_add(len).filter(|e| *e <= self.len);
        let Some(end) = end else {
            return Err(corrupt(
                file,
                self.offset as u64,
                format!(
                    "read of {len} bytes at {at} beyond region of {} bytes",
                    self.len
                ),
            ));
        };
        if len > 0 {
            for chunk in at / CHUNK_BYTES..=(end - 1) / CHUNK_BYTES {
                self.verify_chunk(bytes, chunk, file)?;
            }
        }
        let start = self.offset + at;
        bytes
            .get(start..start + len)
            .ok_or_else(|| corrupt(file, start as u64, "region beyond end of file"))
    }

    /// Verifies every chunk.
    pub fn verify_all(&self, bytes: &[u8], file: &str) -> Result<()> {
        for chunk in 0..self.chunk_crcs.len() {
            self.verify_chunk(bytes, chunk, file)?;
        }
        Ok(())
    }

    fn verify_chunk(&self, bytes: &[u8], chunk: usize, file: &str) -> Result<()> {
        let (word, bit) = (chunk / 64, 1u64 << (chunk % 64));
        let Some(flags) = self.verified.get(word) else {
            return Err(corrupt(
                file,
                self.offset as u64,
                "chunk index out of range",
            ));
        };
        if flags.load(Ordering::Acquire) & bit != 0 {
            return Ok(());
        }
        let start = self.offset + chunk * CHUNK_BYTES;
        let end = self.offset + ((chunk + 1) * CHUNK_BYTES).min(self.len);
        let data = bytes
            .get(start..end)
            .ok_or_else(|| corrupt(file, start as u64, "region beyond end of file"))?;
        let expected = self.chunk_crcs.get(chunk).copied();
        if expected != Some(crc32fast::hash(data)) {
            return Err(corrupt(file, start as u64, "chunk checksum mismatch"));
        }
        flags.fetch_or(bit, Ordering::AcqRel);
        Ok(())
    }

    /// Reads the little-endian `u32` at element `index` of a `u32` array that
    /// starts at byte `base` of the region.
    pub fn u32_at(&self, bytes: &[u8], base: usize, index: u64, file: &str) -> Result<u32> {
        let at = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(4))
            .and_then(|o| o.checked_add(base))
            .ok_or_else(|| corrupt(file, self.offset as u64, "index overflow"))?;
        let b = self.read(bytes, at, 4, file)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads the little-endian `u64` at element `index` of a `u64` array that
    /// starts at byte `base` of the region.
    pub fn u64_at(&self, bytes: &[u8], base: usize, index: u64, file: &str) -> Result<u64> {
        let at = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(8))
            .and_then(|o| o.checked_add(base))
            .ok_or_else(|| corrupt(file, self.offset as u64, "index overflow"))?;
        let b = self.read(bytes, at, 8, file)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}
