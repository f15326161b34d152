//! The manifest: the one file that says which other files are live.
//!
//! It is replaced atomically (write `MANIFEST.tmp`, fsync, rename over
//! `MANIFEST`, fsync the directory), so after a crash either the old or the new
//! manifest is in force, never a mix. Layout: a 24-byte header (magic,
//! version, body length, body crc32) followed by the postcard-encoded
//! [`Manifest`] body; see `storage-format.md`.

use super::backend::Backend;
use super::delta::TableId;
use super::error::{Result, StorageError};
use super::format::{self, FORMAT_VERSION, OLDEST_SUPPORTED_VERSION};
use super::schema::TableSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One table's entry in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestTable {
    /// The table's schema.
    pub schema: TableSchema,
    /// Row ids below this are allocated by flushed levels (segments). Rows
    /// allocated by unflushed WAL records are above it and come back on replay.
    pub flushed_rows: u64,
    /// Segment file numbers, oldest level first.
    pub segments: Vec<u64>,
}

/// The manifest body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Next number for a new WAL or segment file (shared counter).
    pub next_file_no: u64,
    /// Next id for a new table.
    pub next_table_id: TableId,
    /// The WAL file replay starts at; later numbers follow in order.
    pub wal_file_no: u64,
    /// Records with a sequence number at or below this are already in
    /// segments and are skipped on replay.
    pub flushed_seq: u64,
    /// Tables by id.
    pub tables: BTreeMap<TableId, ManifestTable>,
    /// Opaque metadata of upper layers (views, comments, roles), by key.
    pub meta: BTreeMap<String, Vec<u8>>,
}

impl Manifest {
    /// Encodes the manifest with its header.
    pub fn encode(&self) -> Vec<u8> {
        let body = postcard::to_stdvec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(format::MANIFEST_HEADER_LEN + body.len());
        out.extend_from_slice(&format::MANIFEST_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let body_len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&body_len.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes manifest bytes, checking magic, version, length and checksum.
    pub fn decode(bytes: &[u8]) -> Result<Manifest> {
        let file = format::MANIFEST_FILE;
        if bytes.len() < format::MANIFEST_HEADER_LEN || bytes[..8] != format::MANIFEST_MAGIC {
            return Err(StorageError::corruption(file, 0, "bad manifest header"));
        }
        let version = format::read_u32(bytes, format::MANIFEST_VERSION_OFFSET).unwrap_or(0);
        if !(OLDEST_SUPPORTED_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(StorageError::UnsupportedVersion {
                file: file.into(),
                found: version,
                oldest: OLDEST_SUPPORTED_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        let len = format::read_u32(bytes, format::MANIFEST_BODY_LEN_OFFSET).unwrap_or(0) as usize;
        let crc = format::read_u32(bytes, format::MANIFEST_BODY_CRC_OFFSET).unwrap_or(0);
        if format::read_u32(bytes, format::MANIFEST_BODY_CRC_OFFSET + 4) != Some(0) {
            return Err(StorageError::corruption(
                file,
                (format::MANIFEST_BODY_CRC_OFFSET + 4) as u64,
                "reserved header bytes are not zero",
            ));
        }
        let body = &bytes[format::MANIFEST_HEADER_LEN..];
        if body.len() != len {
            return Err(StorageError::corruption(
                file,
                format::MANIFEST_BODY_LEN_OFFSET as u64,
                format!("body length {} but header says {len}", body.len()),
            ));
        }
        if crc32fast::hash(body) != crc {
            return Err(StorageError::corruption(
                file,
                format::MANIFEST_HEADER_LEN as u64,
                "manifest checksum mismatch",
            ));
        }
        postcard::from_bytes(body).map_err(|e| {
            StorageError::corruption(
                file,
                format::MANIFEST_HEADER_LEN as u64,
                format!("undecodable manifest: {e}"),
            )
        })
    }

    /// Reads the manifest of a data directory; `None` if there is none.
    pub fn load(backend: &dyn Backend) -> Result<Option<Manifest>> {
        if !backend.exists(format::MANIFEST_FILE)? {
            return Ok(None);
        }
        Manifest::decode(&backend.read(format::MANIFEST_FILE)?).map(Some)
    }

    /// Makes this manifest the one in force: write, fsync, rename, fsync dir.
    pub fn store(&self, backend: &dyn Backend) -> Result<()> {
        let mut file = backend.create(format::MANIFEST_TMP_FILE)?;
        file.write_all(&self.encode())?;
        file.sync()?;
        drop(file);
        backend.rename(format::MANIFEST_TMP_FILE, format::MANIFEST_FILE)?;
        backend.sync_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::backend::FsBackend;

    #[test]
    fn manifest_round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = FsBackend::new(dir.path()).expect("backend");
        assert_eq!(Manifest::load(&b).expect("load"), None);
        let mut m = Manifest {
            next_file_no: 3,
            ..Manifest::default()
        };
        m.meta.insert("view:v".into(), b"select".to_vec());
        m.store(&b).expect("store");
        m.next_file_no = 4;
        m.store(&b).expect("store again");
        assert_eq!(Manifest::load(&b).expect("load"), Some(m));
        assert!(!b.exists(format::MANIFEST_TMP_FILE).expect("exists"));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let mut m = Manifest::default();
        m.meta.insert("k".into(), vec![1, 2, 3]);
        let bytes = m.encode();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(Manifest::decode(&bad).is_err(), "flip at {i} undetected");
        }
    }

    #[test]
    fn newer_version_is_refused() {
        let mut bytes = Manifest::default().encode();
        bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(
            Manifest::decode(&bytes),
            Err(StorageError::UnsupportedVersion { .. })
        ));
    }
}
