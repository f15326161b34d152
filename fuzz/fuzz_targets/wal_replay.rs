//! `wal_replay`: arbitrary bytes as a WAL file.
//!
//! The first byte picks the mode, the rest is the file:
//! - bit 1 set: every frame's crc is recomputed first, so mutations reach the
//!   record decoder and replay instead of stopping at the checksum;
//! - bit 0 clear: `parse_wal` alone must return frames (each within the
//!   file, `valid_len` within the file) or a `Corruption`/`UnsupportedVersion`
//!   error;
//! - bit 0 set: the bytes replace the live WAL file of a small data directory
//!   opened with `Store::open` (replay decodes and applies every record), which
//!   then reads everything and runs `check`.
//!
//! Never a panic or an unbounded allocation (run with `-malloc_limit_mb`).
#![no_main]

use audb::storage::format::{WAL_FRAME_HEADER_LEN, WAL_HEADER_LEN};
use audb::storage::wal::parse_wal;
use audb_fuzz::{is_damage_error, open_damaged_dir, template_data_dir};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static TEMPLATE: OnceLock<(tempfile::TempDir, Vec<String>)> = OnceLock::new();

/// Rewrites each frame's crc (frame: u32 length, u32 crc32, payload).
fn fix_frame_crcs(bytes: &mut [u8]) {
    let mut at = WAL_HEADER_LEN;
    while let Some(header) = bytes.get(at..at + WAL_FRAME_HEADER_LEN) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let start = at + WAL_FRAME_HEADER_LEN;
        let Some(payload) = start.checked_add(len).and_then(|end| bytes.get(start..end)) else {
            return;
        };
        if len == 0 {
            return;
        }
        let crc = crc32fast::hash(payload).to_le_bytes();
        bytes[at + 4..at + 8].copy_from_slice(&crc);
        at = start + len;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let mut file = file.to_vec();
    if mode & 2 == 2 {
        fix_frame_crcs(&mut file);
    }
    let file = &file[..];
    if mode & 1 == 1 {
        let (dir, names) = TEMPLATE.get_or_init(template_data_dir);
        let Some(wal) = names.iter().rfind(|n| n.ends_with(".log")) else {
            panic!("template has no WAL: {names:?}");
        };
        if let Err(e) = open_damaged_dir(dir.path(), names, wal, file) {
            assert!(is_damage_error(&e), "data dir with damaged WAL: {e:?}");
        }
        return;
    }
    match parse_wal(file, "fuzz.log") {
        Ok(contents) => {
            assert!(contents.valid_len <= file.len() as u64);
            assert_eq!(contents.records.len(), contents.offsets.len());
            let payload: usize = contents.records.iter().map(Vec::len).sum();
            assert!(payload <= file.len());
            if let Some(t) = &contents.torn_tail {
                assert_eq!(t.offset + t.bytes_dropped, file.len() as u64);
            }
        }
        Err(e) => assert!(is_damage_error(&e), "parsing a WAL: {e:?}"),
    }
});
