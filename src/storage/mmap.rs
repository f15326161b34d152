//! The one place audb maps files into memory.
//!
//! # Safety contract
//!
//! Memory-mapping a file is `unsafe` because another process (or this one)
//! could truncate or rewrite the file while it is mapped, which would change or
//! invalidate memory that Rust believes immutable. audb only maps **finished,
//! immutable segment files**:
//!
//! - a segment file is written under a temporary name, fsynced and renamed into
//!   place; after the rename no code path in audb opens it for writing again;
//! - a segment is only deleted (unlinked) after the manifest stops naming it;
//!   unlinking keeps the inode and the mapping alive until the last mapping is
//!   dropped, so readers holding an old snapshot stay valid;
//! - the data directory is protected by an exclusive lock file, so no second
//!   audb process writes into it.
//!
//! Outside processes editing files in a live data directory are outside the
//! contract (as for every database); checksums then turn such damage into a
//! `Corruption` error where it is detected. The WAL is never mapped.

use std::fs::File;
use std::ops::Deref;

/// A read-only mapping of a finished, immutable file.
#[derive(Debug)]
pub struct MappedFile {
    map: Option<memmap2::Mmap>,
}

impl MappedFile {
    /// Maps `file` read-only. Empty files are represented without a mapping
    /// (mapping zero bytes is an error on Linux).
    ///
    /// The caller promises the file is immutable per the module's contract.
    pub fn map(file: &File) -> std::io::Result<MappedFile> {
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(MappedFile { map: None });
        }
        // SAFETY: only finished segment files reach here (see the module
        // contract): they are never written, truncated or reopened for writing
        // after their atomic rename, and deletion only unlinks them, which
        // keeps the mapped pages valid until this mapping is dropped.
        let map = unsafe { memmap2::Mmap::map(file)? };
        // Bitmaps are read where they lie; random access is the norm.
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        Ok(MappedFile { map: Some(map) })
    }
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_file_contents() {
        let mut f = tempfile::tempfile().expect("tempfile");
        f.write_all(b"hello segment").expect("write");
        let m = MappedFile::map(&f).expect("map");
        assert_eq!(&m[..], b"hello segment");
    }

    #[test]
    fn empty_file_maps_to_empty_slice() {
        let f = tempfile::tempfile().expect("tempfile");
        let m = MappedFile::map(&f).expect("map");
        assert!(m.is_empty());
    }
}
