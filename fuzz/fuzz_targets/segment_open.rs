//! `segment_open`: arbitrary bytes as a segment file.
//!
//! The first byte picks the mode, the rest is the file:
//! - bit 0 set: the footer's meta-block crc is recomputed before opening, so
//!   mutations get past the checksum into the meta-block parser;
//! - bit 1 set: the bytes replace the segment file of a small data directory
//!   opened with `Store::open`, which then reads everything and runs `check`.
//!
//! Opening must give a `Corruption`/`UnsupportedVersion` error or a segment
//! whose every read (all bitmaps, keys, forward index, verify, to_delta)
//! succeeds or fails the same typed way. Never a panic or an unbounded
//! allocation (run with `-malloc_limit_mb`).
#![no_main]

use audb::storage::format::{
    FOOTER_META_CRC, FOOTER_META_LEN, FOOTER_META_OFFSET, SEGMENT_FOOTER_LEN,
};
use audb::storage::segment::{BitmapCache, Segment};
use audb_fuzz::{exercise_segment, is_damage_error, open_damaged_dir, template_data_dir};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

static TEMPLATE: OnceLock<(tempfile::TempDir, Vec<String>)> = OnceLock::new();

/// Rewrites the footer's meta crc to match the meta block it points at.
fn fix_meta_crc(bytes: &mut [u8]) {
    let Some(footer_at) = bytes.len().checked_sub(SEGMENT_FOOTER_LEN) else {
        return;
    };
    let field = |at: usize| {
        let b: [u8; 8] = bytes[footer_at + at..footer_at + at + 8].try_into().ok()?;
        usize::try_from(u64::from_le_bytes(b)).ok()
    };
    let (Some(offset), Some(len)) = (field(FOOTER_META_OFFSET), field(FOOTER_META_LEN)) else {
        return;
    };
    let Some(meta) = offset
        .checked_add(len)
        .and_then(|end| bytes.get(offset..end))
    else {
        return;
    };
    let crc = crc32fast::hash(meta).to_le_bytes();
    bytes[footer_at + FOOTER_META_CRC..footer_at + FOOTER_META_CRC + 4].copy_from_slice(&crc);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let mut bytes = file.to_vec();
    if mode & 1 == 1 {
        fix_meta_crc(&mut bytes);
    }
    if mode & 2 == 2 {
        let (dir, names) = TEMPLATE.get_or_init(template_data_dir);
        let Some(seg) = names.iter().find(|n| n.ends_with(".seg")) else {
            panic!("template has no segment: {names:?}");
        };
        if let Err(e) = open_damaged_dir(dir.path(), names, seg, &bytes) {
            assert!(is_damage_error(&e), "data dir with damaged segment: {e:?}");
        }
        return;
    }
    let cache = Arc::new(BitmapCache::new(1 << 20));
    match Segment::from_bytes("fuzz.seg", Arc::new(bytes), cache) {
        Ok(seg) => {
            if let Err(e) = exercise_segment(&seg) {
                assert!(is_damage_error(&e), "reading an opened segment: {e:?}");
            }
        }
        Err(e) => assert!(is_damage_error(&e), "opening a segment: {e:?}"),
    }
});
