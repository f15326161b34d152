//! Every magic number, version and fixed offset of audb's files, defined once.
//!
//! The byte layouts are described in `storage-format.md` at the repository
//! root; this module is their single source in code. All integers on disk are
//! little-endian (the `big_endian_bytes` / `host_endian_bytes` lints enforce it).

/// Version of the on-disk format written by this build. Bump on any change,
/// add a golden directory under `tests/golden/`, and extend the version history
/// in `storage-format.md`.
pub const FORMAT_VERSION: u32 = 1;
/// Oldest on-disk format version this build can read.
pub const OLDEST_SUPPORTED_VERSION: u32 = 1;

/// Row ids per shard: `2^SHARD_BITS`. Bitmaps in segment files are stored per
/// shard so that queries parallelize over shards and a shard can later move
/// between machines as a unit.
pub const SHARD_BITS: u32 = 20;

/// Name of the manifest file.
pub const MANIFEST_FILE: &str = "MANIFEST";
/// Temporary name a new manifest is written under before the atomic rename.
pub const MANIFEST_TMP_FILE: &str = "MANIFEST.tmp";
/// Name of the lock file that keeps two processes off one data directory.
pub const LOCK_FILE: &str = "LOCK";

/// Manifest: magic at offset 0.
pub const MANIFEST_MAGIC: [u8; 8] = *b"AUDBMAN\0";
/// Manifest header: magic (8) + format version (u32) + body length (u32) + body crc32 (u32) + reserved (u32).
pub const MANIFEST_HEADER_LEN: usize = 24;
/// Offset of the format version in the manifest header.
pub const MANIFEST_VERSION_OFFSET: usize = 8;
/// Offset of the body length in the manifest header.
pub const MANIFEST_BODY_LEN_OFFSET: usize = MANIFEST_VERSION_OFFSET + 4;
/// Offset of the body crc32 in the manifest header.
pub const MANIFEST_BODY_CRC_OFFSET: usize = MANIFEST_BODY_LEN_OFFSET + 4;

/// WAL file: magic at offset 0.
pub const WAL_MAGIC: [u8; 8] = *b"AUDBWAL\0";
/// WAL file header: magic (8) + format version (u32) + reserved (u32).
pub const WAL_HEADER_LEN: usize = 16;
/// Offset of the format version in the WAL header.
pub const WAL_VERSION_OFFSET: usize = 8;
/// WAL record frame: payload length (u32) + payload crc32 (u32), then payload.
pub const WAL_FRAME_HEADER_LEN: usize = 8;
/// Largest WAL record payload accepted (a bound on allocation during replay).
pub const WAL_RECORD_BYTES_MAX: usize = 256 << 20;

/// Segment file: magic at offset 0 (header) and at the end of the footer.
pub const SEGMENT_MAGIC: [u8; 8] = *b"AUDBSEG\0";
/// Segment header: magic (8) + format version (u32) + reserved (u32).
pub const SEGMENT_HEADER_LEN: usize = 16;
/// Offset of the format version in the segment header.
pub const SEGMENT_VERSION_OFFSET: usize = 8;
/// Segment footer (last bytes of the file):
/// meta offset (u64) + meta length (u64) + meta crc32 (u32) + format version (u32) + magic (8).
pub const SEGMENT_FOOTER_LEN: usize = 32;
/// Offset of the meta block offset within the footer.
pub const FOOTER_META_OFFSET: usize = 0;
/// Offset of the meta block length within the footer.
pub const FOOTER_META_LEN: usize = FOOTER_META_OFFSET + 8;
/// Offset of the meta block crc32 within the footer.
pub const FOOTER_META_CRC: usize = FOOTER_META_LEN + 8;
/// Offset of the format version within the footer.
pub const FOOTER_VERSION: usize = FOOTER_META_CRC + 4;
/// Offset of the magic within the footer.
pub const FOOTER_MAGIC: usize = FOOTER_VERSION + 4;
/// Largest meta block a segment may declare (a bound on allocation at open).
pub const SEGMENT_META_BYTES_MAX: u64 = 1 << 30;

/// File name of WAL file number `n`.
pub fn wal_file_name(n: u64) -> String {
    format!("wal-{n:016}.log")
}

/// File name of segment file number `n`.
pub fn segment_file_name(n: u64) -> String {
    format!("seg-{n:016}.seg")
}

/// Parses a file name produced by [`wal_file_name`].
pub fn parse_wal_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("wal-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

/// Parses a file name produced by [`segment_file_name`].
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("seg-")?
        .strip_suffix(".seg")?
        .parse()
        .ok()
}

/// Reads a little-endian `u32` at `offset`; `None` if out of bounds.
pub fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// Reads a little-endian `u64` at `offset`; `None` if out of bounds.
pub fn read_u64(bytes: &[u8], offset: usize) -> Option<u64> {
    let b = bytes.get(offset..offset.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(parse_wal_file_name(&wal_file_name(42)), Some(42));
        assert_eq!(parse_segment_file_name(&segment_file_name(7)), Some(7));
        assert_eq!(parse_segment_file_name("seg-x.seg"), None);
    }

    #[test]
    fn footer_fields_fill_the_footer() {
        assert_eq!(FOOTER_MAGIC + 8, SEGMENT_FOOTER_LEN);
    }

    #[test]
    fn reads_out_of_bounds_are_none() {
        assert_eq!(read_u32(&[1, 0, 0], 0), None);
        assert_eq!(read_u64(&[0; 8], 1), None);
        assert_eq!(read_u32(&[1, 0, 0, 0], 0), Some(1));
    }
}
