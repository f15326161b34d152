//! Tests of the WAL file format: round trips, torn tails, corruption, reopen.

use super::*;
use crate::storage::backend::{FaultyBackend, FsBackend};
use proptest::prelude::*;
use std::sync::Arc;

fn backend() -> (tempfile::TempDir, FsBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = FsBackend::new(dir.path()).expect("backend");
    (dir, backend)
}

/// A payload of `len` bytes that differs per `seed`.
fn payload(seed: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seed.wrapping_mul(31).wrapping_add(i as u64 * 7) % 251) as u8 + 1)
        .collect()
}

/// Writes WAL file 1 with `records` (one append each) and returns its bytes
/// and the offset of every frame.
fn write_wal(backend: &FsBackend, records: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut w = WalWriter::create(backend, 1).expect("create");
    let mut offsets = Vec::new();
    for r in records {
        offsets.push(w.len());
        w.append(&[r]).expect("append");
    }
    w.sync().expect("sync");
    let bytes = backend.read(&wal_file_name(1)).expect("read");
    assert_eq!(bytes.len() as u64, w.len());
    (bytes, offsets)
}

/// Replaces WAL file 1 with `bytes`.
fn overwrite(backend: &FsBackend, bytes: &[u8]) {
    let mut f = backend.create(&wal_file_name(1)).expect("create raw");
    f.write_all(bytes).expect("write raw");
}

fn three_records() -> Vec<Vec<u8>> {
    vec![payload(1, 10), payload(2, 300), payload(3, 17)]
}

fn expect_corruption(result: Result<WalContents>) -> (std::path::PathBuf, u64, String) {
    match result {
        Err(StorageError::Corruption { file, offset, what }) => (file, offset, what),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn records_round_trip_in_order() {
    let (_dir, b) = backend();
    let mut w = WalWriter::create(&b, 1).expect("create");
    let mut written = Vec::new();
    for batch in 0..200u64 {
        let records: Vec<Vec<u8>> = (0..(batch % 7 + 1))
            .map(|i| payload(batch * 10 + i, (batch * 37 + i * 101) as usize % 5000 + 1))
            .collect();
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        w.append(&refs).expect("append");
        written.extend(records);
    }
    w.sync().expect("sync");
    assert_eq!(w.synced_len(), w.len());
    let contents = read_wal(&b, 1).expect("read");
    assert_eq!(contents.records, written);
    assert_eq!(contents.valid_len, w.len());
    assert_eq!(contents.torn_tail, None);
    assert_eq!(contents.offsets[0], WAL_HEADER_LEN as u64);
}

#[test]
fn a_new_wal_is_an_empty_valid_file() {
    let (_dir, b) = backend();
    let w = WalWriter::create(&b, 9).expect("create");
    assert!(w.is_empty());
    assert_eq!((w.file_no(), w.len()), (9, WAL_HEADER_LEN as u64));
    let contents = read_wal(&b, 9).expect("read");
    assert!(contents.records.is_empty());
    assert_eq!(contents.valid_len, WAL_HEADER_LEN as u64);
    assert_eq!(contents.torn_tail, None);
}

#[test]
fn create_refuses_an_existing_file() {
    let (_dir, b) = backend();
    let (bytes, _) = write_wal(&b, &three_records());
    assert!(WalWriter::create(&b, 1).is_err());
    assert_eq!(b.read(&wal_file_name(1)).expect("read"), bytes, "untouched");
}

#[test]
fn empty_and_oversized_payloads_are_rejected_without_writing() {
    let (_dir, b) = backend();
    let mut w = WalWriter::create(&b, 1).expect("create");
    let ok = payload(1, 5);
    assert!(matches!(
        w.append(&[&ok, &[]]),
        Err(StorageError::LimitExceeded(_))
    ));
    assert_eq!(w.len(), WAL_HEADER_LEN as u64, "nothing written");
    assert!(!w.is_poisoned(), "an input error does not poison the log");
    w.append(&[&ok]).expect("append after a rejected one");
}

#[test]
fn every_truncation_of_three_records_recovers_the_complete_prefix() {
    let (_dir, b) = backend();
    let records = three_records();
    let (bytes, offsets) = write_wal(&b, &records);
    let ends: Vec<u64> = offsets[1..]
        .iter()
        .copied()
        .chain([bytes.len() as u64])
        .collect();
    for cut in 0..=bytes.len() {
        overwrite(&b, &bytes[..cut]);
        let contents = read_wal(&b, 1).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let complete = ends.iter().filter(|&&end| end <= cut as u64).count();
        assert_eq!(contents.records, records[..complete], "cut {cut}");
        let at_boundary = cut == WAL_HEADER_LEN || ends.contains(&(cut as u64));
        if cut < WAL_HEADER_LEN {
            assert_eq!(contents.valid_len, 0, "cut {cut}");
        } else {
            let valid = if complete == 0 {
                WAL_HEADER_LEN as u64
            } else {
                ends[complete - 1]
            };
            assert_eq!(contents.valid_len, valid, "cut {cut}");
        }
        assert_eq!(contents.torn_tail.is_some(), !at_boundary, "cut {cut}");
        if let Some(tail) = &contents.torn_tail {
            assert_eq!(tail.offset, contents.valid_len);
            assert_eq!(tail.offset + tail.bytes_dropped, cut as u64);
        }
    }
}

#[test]
fn a_flipped_byte_in_the_last_record_is_a_torn_tail() {
    let (_dir, b) = backend();
    let records = three_records();
    let (bytes, offsets) = write_wal(&b, &records);
    let last = offsets[2] as usize;
    for at in last..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x40;
        overwrite(&b, &damaged);
        let contents = read_wal(&b, 1).unwrap_or_else(|e| panic!("byte {at}: {e}"));
        assert_eq!(contents.records, records[..2], "byte {at}");
        assert_eq!(contents.valid_len, offsets[2], "byte {at}");
        let tail = contents.torn_tail.expect("torn tail");
        assert_eq!(tail.bytes_dropped, (bytes.len() - last) as u64);
    }
}

#[test]
fn a_flipped_byte_in_the_first_of_three_records_is_corruption() {
    let (_dir, b) = backend();
    let (bytes, offsets) = write_wal(&b, &three_records());
    // The crc field and every payload byte (length bytes: the next test).
    for at in (offsets[0] as usize + 4)..(offsets[1] as usize) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x01;
        overwrite(&b, &damaged);
        let (file, offset, what) = expect_corruption(read_wal(&b, 1));
        assert_eq!(
            file,
            std::path::PathBuf::from(wal_file_name(1)),
            "byte {at}"
        );
        assert_eq!(offset, offsets[0], "byte {at}");
        assert!(what.contains("crc"), "{what}");
    }
}

#[test]
fn a_damaged_length_field_in_the_first_record_is_corruption() {
    let (_dir, b) = backend();
    let (bytes, offsets) = write_wal(&b, &three_records());
    for at in offsets[0] as usize..offsets[0] as usize + 4 {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            let (_, offset, what) = expect_corruption(parse_wal(&damaged, "w"));
            assert_eq!(offset, offsets[0], "byte {at} bit {bit}: {what}");
        }
    }
}

#[test]
fn damage_before_an_intact_last_frame_is_corruption_even_if_it_runs_past_the_end() {
    let (_dir, b) = backend();
    let (mut bytes, offsets) = write_wal(&b, &three_records());
    let second = offsets[1] as usize;
    bytes[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let (_, offset, what) = expect_corruption(parse_wal(&bytes, "w"));
    assert_eq!(offset, offsets[1]);
    assert!(
        what.contains(&offsets[2].to_string()),
        "names the valid frame: {what}"
    );
}

#[test]
fn a_zero_filled_tail_is_torn() {
    let (_dir, b) = backend();
    let records = three_records();
    let (mut bytes, offsets) = write_wal(&b, &records);
    let end = bytes.len() as u64;
    // Preallocated or extended file whose data never reached the disk.
    bytes.extend_from_slice(&[0; 4096]);
    overwrite(&b, &bytes);
    let contents = read_wal(&b, 1).expect("read");
    assert_eq!(contents.records, records);
    let tail = contents.torn_tail.expect("torn");
    assert_eq!((tail.offset, tail.bytes_dropped), (end, 4096));
    assert!(tail.reason.contains("zero"), "{}", tail.reason);
    // The last record's bytes zeroed in place.
    bytes.truncate(end as usize);
    bytes[offsets[2] as usize..].fill(0);
    overwrite(&b, &bytes);
    let contents = read_wal(&b, 1).expect("read");
    assert_eq!(contents.records, records[..2]);
    assert_eq!(contents.valid_len, offsets[2]);
}

#[test]
fn a_zero_length_frame_followed_by_a_valid_frame_is_corruption() {
    let (_dir, b) = backend();
    let (mut bytes, offsets) = write_wal(&b, &three_records());
    let second = offsets[1] as usize;
    // Frame 1's header zeroed and its payload cut out: frame 2 follows at +8.
    bytes.splice(second..offsets[2] as usize, [0u8; 8]);
    let (_, offset, _) = expect_corruption(parse_wal(&bytes, "w"));
    assert_eq!(offset, offsets[1]);
}

#[test]
fn an_oversized_length_field_is_handled_without_allocation() {
    let (_dir, b) = backend();
    let records = three_records();
    let (bytes, offsets) = write_wal(&b, &records);
    for len in [u32::MAX, WAL_RECORD_BYTES_MAX as u32 + 1] {
        let mut damaged = bytes.clone();
        damaged[offsets[2] as usize..offsets[2] as usize + 4].copy_from_slice(&len.to_le_bytes());
        overwrite(&b, &damaged);
        let contents = read_wal(&b, 1).expect("read");
        assert_eq!(contents.records, records[..2]);
        let tail = contents.torn_tail.expect("torn");
        assert!(tail.reason.contains("exceeds"), "{}", tail.reason);
    }
}

#[test]
fn a_bad_magic_is_corruption_at_offset_zero() {
    let (_dir, b) = backend();
    let (mut bytes, _) = write_wal(&b, &three_records());
    bytes[3] ^= 0xff;
    overwrite(&b, &bytes);
    let (file, offset, _) = expect_corruption(read_wal(&b, 1));
    assert_eq!((file, offset), (wal_file_name(1).into(), 0));
    // A short file that is not a header prefix is not a crash artefact either.
    assert!(parse_wal(b"NOTAWAL", "w").is_err());
}

#[test]
fn other_format_versions_are_unsupported() {
    let (_dir, b) = backend();
    let (bytes, _) = write_wal(&b, &three_records());
    for version in [0, FORMAT_VERSION + 1, u32::MAX] {
        let mut other = bytes.clone();
        other[WAL_VERSION_OFFSET..WAL_VERSION_OFFSET + 4].copy_from_slice(&version.to_le_bytes());
        overwrite(&b, &other);
        match read_wal(&b, 1) {
            Err(StorageError::UnsupportedVersion { found, .. }) => assert_eq!(found, version),
            other => panic!("version {version}: {other:?}"),
        }
    }
}

#[test]
fn a_crash_during_create_leaves_an_empty_torn_wal() {
    let (_dir, b) = backend();
    let header = header_bytes();
    let cases: [&[u8]; 5] = [&[], &[0; 5], &[0; 16], &[0; 100], &header[..11]];
    for bytes in cases {
        overwrite(&b, bytes);
        let contents = read_wal(&b, 1).expect("read");
        assert!(contents.records.is_empty());
        assert_eq!(contents.valid_len, 0);
        let tail = contents.torn_tail.expect("torn");
        assert_eq!(tail.bytes_dropped, bytes.len() as u64);
        // Reopen writes the header again, and the log works.
        let mut w = WalWriter::reopen(&b, 1, contents.valid_len).expect("reopen");
        w.append(&[b"after"]).expect("append");
        w.sync().expect("sync");
        let contents = read_wal(&b, 1).expect("read");
        assert_eq!(contents.records, vec![b"after".to_vec()]);
        assert_eq!(contents.torn_tail, None);
    }
}

#[test]
fn reopen_after_a_cut_then_append_works() {
    let (_dir, b) = backend();
    let records = three_records();
    let (bytes, _) = write_wal(&b, &records);
    overwrite(&b, &bytes[..bytes.len() - 5]);
    let contents = read_wal(&b, 1).expect("read");
    assert!(contents.torn_tail.is_some());
    let mut w = WalWriter::reopen(&b, 1, contents.valid_len).expect("reopen");
    assert_eq!(w.len(), contents.valid_len);
    w.append(&[b"four", b"five"]).expect("append");
    w.sync().expect("sync");
    let contents = read_wal(&b, 1).expect("read");
    assert_eq!(contents.torn_tail, None);
    let mut expected = records[..2].to_vec();
    expected.extend([b"four".to_vec(), b"five".to_vec()]);
    assert_eq!(contents.records, expected);
    assert_eq!(contents.valid_len, w.len());
}

#[test]
fn a_failed_sync_poisons_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner: Arc<dyn Backend> = Arc::new(FsBackend::new(dir.path()).expect("backend"));
    let b = FaultyBackend::new(inner, None);
    let mut w = WalWriter::create(&b, 1).expect("create");
    w.append(&[b"one"]).expect("append");
    b.set_budget(Some(0));
    assert!(matches!(w.sync(), Err(StorageError::Io { .. })));
    assert!(w.is_poisoned());
    b.set_budget(None);
    assert!(matches!(w.sync(), Err(StorageError::Unavailable(_))));
    assert!(matches!(
        w.append(&[b"two"]),
        Err(StorageError::Unavailable(_))
    ));
    assert_eq!(w.synced_len(), WAL_HEADER_LEN as u64);
}

#[test]
fn a_failed_write_poisons_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner: Arc<dyn Backend> = Arc::new(FsBackend::new(dir.path()).expect("backend"));
    let b = FaultyBackend::new(inner, None);
    let mut w = WalWriter::create(&b, 1).expect("create");
    b.set_budget(Some(0));
    assert!(w.append(&[b"one"]).is_err());
    b.set_budget(None);
    assert!(matches!(
        w.append(&[b"two"]),
        Err(StorageError::Unavailable(_))
    ));
}

/// Frames `records` as `WalWriter` would, in memory.
fn frame_all(records: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = header_bytes().to_vec();
    let mut ends = Vec::new();
    for r in records {
        bytes.extend_from_slice(&(r.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(r).to_le_bytes());
        bytes.extend_from_slice(r);
        ends.push(bytes.len());
    }
    (bytes, ends)
}

#[test]
fn in_memory_framing_matches_the_writer() {
    let (_dir, b) = backend();
    let records = three_records();
    let (written, _) = write_wal(&b, &records);
    assert_eq!(frame_all(&records).0, written);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_truncated_wal_yields_a_prefix_of_the_records(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 0..40),
        cut in any::<prop::sample::Index>(),
    ) {
        let (bytes, ends) = frame_all(&records);
        let cut = cut.index(bytes.len() + 1);
        let contents = parse_wal(&bytes[..cut], "w").expect("truncation is never corruption");
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        prop_assert_eq!(&contents.records[..], &records[..complete]);
        prop_assert!(contents.valid_len <= cut as u64);
    }

    #[test]
    fn a_damaged_wal_yields_a_prefix_or_corruption(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..40),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        cut in any::<prop::sample::Index>(),
    ) {
        let (mut bytes, _) = frame_all(&records);
        let at = WAL_HEADER_LEN + at.index(bytes.len() - WAL_HEADER_LEN);
        bytes[at] ^= xor;
        let cut = cut.index(bytes.len() + 1);
        match parse_wal(&bytes[..cut], "w") {
            Ok(contents) => {
                prop_assert!(contents.records.len() <= records.len());
                prop_assert_eq!(&contents.records[..], &records[..contents.records.len()]);
            }
            Err(StorageError::Corruption { offset, .. }) => prop_assert!(offset as usize <= at),
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }
}

/// Measures durable appends per second: one writer syncing every record, then
/// 32 threads sharing syncs through [`GroupCommit`]. Run with
/// `cargo test --release --lib storage::wal::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, not a check; takes seconds and depends on the disk"]
fn throughput_of_synced_appends_single_vs_group_commit() {
    use parking_lot::Mutex;
    use std::time::Instant;

    const THREADS: usize = 32;
    const PER_THREAD: usize = 200;
    let record = payload(7, 100);
    let (_dir, b) = backend();

    let mut w = WalWriter::create(&b, 1).expect("create");
    let start = Instant::now();
    for _ in 0..THREADS * PER_THREAD / 4 {
        w.append(&[&record]).expect("append");
        w.sync().expect("sync");
    }
    let single = (THREADS * PER_THREAD / 4) as f64 / start.elapsed().as_secs_f64();

    let wal = Mutex::new(WalWriter::create(&b, 2).expect("create"));
    let group = GroupCommit::<Vec<u8>, Result<()>>::new(4096);
    let commits = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    let outcome = group.submit(record.clone(), |items| {
                        commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
                        let mut wal = wal.lock();
                        let r = wal.append(&refs).and_then(|()| wal.sync());
                        items
                            .iter()
                            .map(|_| {
                                r.as_ref()
                                    .map(|_| ())
                                    .map_err(|e| StorageError::Unavailable(e.to_string()))
                            })
                            .collect()
                    });
                    outcome.expect("group").expect("commit");
                }
            });
        }
    });
    let grouped = (THREADS * PER_THREAD) as f64 / start.elapsed().as_secs_f64();
    let commits = commits.into_inner();
    assert_eq!(
        read_wal(&b, 2).expect("read").records.len(),
        THREADS * PER_THREAD
    );
    eprintln!(
        "single writer: {single:.0} appends+syncs/s; {THREADS} threads via GroupCommit: \
         {grouped:.0} appends/s in {commits} syncs (average batch {:.1})",
        (THREADS * PER_THREAD) as f64 / commits as f64
    );
}
