//! Write-ahead log files: framing, appending, and reading for replay.
//!
//! A WAL file is a 16-byte header followed by frames (payload length, payload
//! crc32, payload); the layout, the torn-tail rule and the commit protocol are
//! described in `storage-format.md` (section "WAL"), the offsets are in
//! [`super::format`]. Payloads are opaque here (the store writes encoded
//! `WalRecord`s, see `record.rs`).
//!
//! - [`WalWriter`] appends frames. Nothing is durable until
//!   [`WalWriter::sync`] returns; after any failed write or sync the writer is
//!   *poisoned* and refuses further work, because the file's state on disk is
//!   then unknown (a partial write would end up in the middle of the file).
//! - [`read_wal`] reads a file for replay. A damaged final frame (a crash while
//!   appending) is a *torn tail*: reported in [`WalContents::torn_tail`] and cut
//!   by [`WalWriter::reopen`]. A damaged frame followed by a valid one is
//!   mid-file corruption and an error: acknowledged writes are never dropped
//!   silently.
//! - [`group_commit`] batches concurrent writers so that one `sync` serves many.

pub mod group_commit;

pub use group_commit::{GroupCommit, GroupCommitError};

use super::backend::{Backend, WritableFile};
use super::error::{Result, StorageError};
use super::format::{
    FORMAT_VERSION, OLDEST_SUPPORTED_VERSION, WAL_FRAME_HEADER_LEN, WAL_HEADER_LEN, WAL_MAGIC,
    WAL_RECORD_BYTES_MAX, WAL_VERSION_OFFSET, read_u32, wal_file_name,
};

/// The 16 header bytes this build writes: magic, [`FORMAT_VERSION`], reserved zero.
fn header_bytes() -> [u8; WAL_HEADER_LEN] {
    let mut header = [0u8; WAL_HEADER_LEN];
    header[..WAL_MAGIC.len()].copy_from_slice(&WAL_MAGIC);
    header[WAL_VERSION_OFFSET..WAL_VERSION_OFFSET + 4]
        .copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header
}

/// Appends frames to one WAL file.
///
/// Invariants: the file on disk starts with a valid header and holds exactly
/// [`WalWriter::len`] bytes of whole frames, unless the writer is poisoned.
/// Not `Sync`: the store serializes appends (one group-commit leader at a time).
#[derive(Debug)]
pub struct WalWriter {
    file: Box<dyn WritableFile>,
    file_no: u64,
    /// Bytes written (header included), durable or not.
    len: u64,
    /// Bytes known durable: `len` as of the last successful `sync`.
    synced_len: u64,
    /// Set by a failed write, sync or truncation; see [`WalWriter::is_poisoned`].
    poisoned: bool,
    /// Frame buffer reused across appends, so one append is one write call.
    buf: Vec<u8>,
}

impl WalWriter {
    /// Creates WAL file number `file_no`: writes the header, fsyncs the file,
    /// then fsyncs the directory so that the file's existence is durable.
    ///
    /// Fails if the file already exists: a WAL file number is never reused, and
    /// creating over an existing file would truncate logged writes.
    pub fn create(backend: &dyn Backend, file_no: u64) -> Result<WalWriter> {
        let name = wal_file_name(file_no);
        if backend.exists(&name)? {
            return Err(StorageError::io(
                backend.root().join(&name),
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "WAL file numbers are never reused",
                ),
            ));
        }
        let mut file = backend.create(&name)?;
        file.write_all(&header_bytes())?;
        file.sync()?;
        backend.sync_dir()?;
        Ok(WalWriter::new(file, file_no, WAL_HEADER_LEN as u64))
    }

    /// Re-opens WAL file `file_no` for appending after recovery.
    ///
    /// `valid_len` must be [`WalContents::valid_len`] from [`read_wal`] of this
    /// very file: the file is truncated to it (cutting a torn tail) and synced.
    /// If `valid_len` is shorter than the header (the crash happened during
    /// [`WalWriter::create`]), the header is written again. A `valid_len` past
    /// the end of the file would extend it with zeros and is a caller bug.
    pub fn reopen(backend: &dyn Backend, file_no: u64, valid_len: u64) -> Result<WalWriter> {
        let name = wal_file_name(file_no);
        let mut file = backend.open_append(&name)?;
        let len = if valid_len < WAL_HEADER_LEN as u64 {
            file.set_len(0)?;
            file.write_all(&header_bytes())?;
            WAL_HEADER_LEN as u64
        } else {
            file.set_len(valid_len)?;
            valid_len
        };
        file.sync()?;
        Ok(WalWriter::new(file, file_no, len))
    }

    fn new(file: Box<dyn WritableFile>, file_no: u64, len: u64) -> WalWriter {
        WalWriter {
            file,
            file_no,
            len,
            synced_len: len,
            poisoned: false,
            buf: Vec::new(),
        }
    }

    /// Frames `payloads` and writes them with one write call. Not durable until
    /// [`WalWriter::sync`].
    ///
    /// Every payload must be 1..=[`WAL_RECORD_BYTES_MAX`] bytes (an empty frame
    /// would be indistinguishable from a zero-filled tail); otherwise nothing is
    /// written and `LimitExceeded` is returned. A failed write poisons the writer.
    /// Cost: one copy of the payloads plus one crc32 pass over them.
    pub fn append(&mut self, payloads: &[&[u8]]) -> Result<()> {
        self.check_usable()?;
        let mut total = 0usize;
        for payload in payloads {
            if payload.is_empty() || payload.len() > WAL_RECORD_BYTES_MAX {
                return Err(StorageError::LimitExceeded(format!(
                    "WAL record of {} bytes; a record holds 1..={WAL_RECORD_BYTES_MAX} bytes",
                    payload.len()
                )));
            }
            total = total.saturating_add(WAL_FRAME_HEADER_LEN + payload.len());
        }
        if total == 0 {
            return Ok(());
        }
        self.buf.clear();
        self.buf.reserve(total);
        for payload in payloads {
            // Checked above: the length fits in a u32 (WAL_RECORD_BYTES_MAX < 2^32).
            let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
            self.buf.extend_from_slice(&len.to_le_bytes());
            self.buf
                .extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            self.buf.extend_from_slice(payload);
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            self.poisoned = true;
            return Err(e);
        }
        self.len += self.buf.len() as u64;
        // Do not keep a huge buffer alive because of one huge record.
        if self.buf.capacity() > (1 << 20) {
            self.buf = Vec::new();
        }
        Ok(())
    }

    /// fdatasync: everything appended so far is durable when this returns `Ok`.
    ///
    /// A failure poisons the writer: after a failed fsync the kernel may have
    /// dropped the dirty pages, so whether the appended frames reached the disk
    /// is unknown and retrying the sync proves nothing. The caller must not
    /// acknowledge the writes, must stop writing, and must recover by re-opening
    /// the store (replay decides what is durable).
    pub fn sync(&mut self) -> Result<()> {
        self.check_usable()?;
        if let Err(e) = self.file.sync() {
            self.poisoned = true;
            return Err(e);
        }
        self.synced_len = self.len;
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        if self.poisoned {
            return Err(StorageError::Unavailable(format!(
                "{} failed an earlier write or sync; re-open the store to recover",
                wal_file_name(self.file_no)
            )));
        }
        Ok(())
    }

    /// The WAL file number (see [`wal_file_name`]).
    pub fn file_no(&self) -> u64 {
        self.file_no
    }

    /// Bytes in the file, header included, whether synced or not.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file holds no frames (only the header).
    pub fn is_empty(&self) -> bool {
        self.len <= WAL_HEADER_LEN as u64
    }

    /// Bytes known durable: [`WalWriter::len`] as of the last successful sync.
    pub fn synced_len(&self) -> u64 {
        self.synced_len
    }

    /// Whether a write or sync failed; a poisoned writer refuses all calls.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

/// What [`read_wal`] found in a WAL file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalContents {
    /// Payloads of the valid frames, in file order.
    pub records: Vec<Vec<u8>>,
    /// Byte offset of each record's frame (parallel to `records`), for error
    /// messages when a payload fails to decode.
    pub offsets: Vec<u64>,
    /// Bytes of the file to keep: header plus the valid frames. Pass it to
    /// [`WalWriter::reopen`] to cut the torn tail.
    pub valid_len: u64,
    /// The damaged end of the file, if any (a crash while appending).
    pub torn_tail: Option<TornTail>,
}

/// A damaged end of a WAL file, left by a crash during an append or create.
///
/// Its frames were never acknowledged (acknowledgement waits for the sync that
/// a torn write never reached), so dropping them loses nothing promised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Offset of the first damaged byte (the bad frame, or 0 for a bad header).
    pub offset: u64,
    /// Bytes from `offset` to the end of the file.
    pub bytes_dropped: u64,
    /// What was wrong with the first damaged frame.
    pub reason: String,
}

/// Reads WAL file `file_no` for replay.
///
/// Frames are read in order until the first *bad* one: incomplete, of length 0,
/// longer than [`WAL_RECORD_BYTES_MAX`], or failing its crc. The bad frame is a
/// [`TornTail`] (the records before it are returned, `valid_len` is its
/// offset) unless a valid frame follows it, either at its declared end or
/// ending exactly at the end of the file; then it is mid-file damage.
///
/// Errors: mid-file damage is `Corruption` naming the file and the bad frame's
/// offset; a bad header magic is `Corruption` at offset 0; a version outside
/// [`OLDEST_SUPPORTED_VERSION`]..=[`FORMAT_VERSION`] is `UnsupportedVersion`.
/// A file that is empty, all zeros, or shorter than the header and a prefix of
/// it (a crash inside [`WalWriter::create`]) is a torn tail at offset 0.
/// See `storage-format.md` for the rule and its reasons.
///
/// Never panics on any bytes. Cost: one read of the whole file, one crc32 pass,
/// and one copy of the payloads (at most the file size).
pub fn read_wal(backend: &dyn Backend, file_no: u64) -> Result<WalContents> {
    let name = wal_file_name(file_no);
    let bytes = backend.read(&name)?;
    parse_wal(&bytes, &name)
}

/// [`read_wal`] over bytes already in memory; `name` is used in errors.
pub fn parse_wal(bytes: &[u8], name: &str) -> Result<WalContents> {
    let file_len = bytes.len() as u64;
    let mut contents = WalContents {
        records: Vec::new(),
        offsets: Vec::new(),
        valid_len: 0,
        torn_tail: None,
    };

    if let Some(reason) = torn_header(bytes) {
        contents.torn_tail = Some(TornTail {
            offset: 0,
            bytes_dropped: file_len,
            reason: reason.to_owned(),
        });
        return Ok(contents);
    }
    if bytes.len() < WAL_HEADER_LEN || bytes[..WAL_MAGIC.len()] != WAL_MAGIC {
        return Err(StorageError::corruption(name, 0, "bad WAL header magic"));
    }
    let version = read_u32(bytes, WAL_VERSION_OFFSET).unwrap_or(0);
    if !(OLDEST_SUPPORTED_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(StorageError::UnsupportedVersion {
            file: name.into(),
            found: version,
            oldest: OLDEST_SUPPORTED_VERSION,
            newest: FORMAT_VERSION,
        });
    }

    let mut offset = WAL_HEADER_LEN;
    while offset < bytes.len() {
        match check_frame(bytes, offset) {
            Frame::Valid { payload, next } => {
                contents.records.push(payload.to_vec());
                contents.offsets.push(offset as u64);
                offset = next;
            }
            Frame::Bad { reason, next } => {
                if let Some(valid) = valid_frame_after(bytes, offset, next) {
                    return Err(StorageError::corruption(
                        name,
                        offset as u64,
                        format!(
                            "damaged WAL frame ({reason}) followed by a valid frame at byte {valid}"
                        ),
                    ));
                }
                contents.torn_tail = Some(TornTail {
                    offset: offset as u64,
                    bytes_dropped: file_len - offset as u64,
                    reason,
                });
                break;
            }
        }
    }
    contents.valid_len = contents
        .torn_tail
        .as_ref()
        .map_or(file_len, |tail| tail.offset);
    Ok(contents)
}

/// If the file is too short or too empty to have had its header written (a
/// crash inside [`WalWriter::create`]), the reason; `None` otherwise.
///
/// A short file that is empty, all zeros, or a prefix of this build's header
/// counts, and so does a file of any length that is all zeros (the size reached
/// the disk, the data did not): either way, no frame was ever acknowledged.
fn torn_header(bytes: &[u8]) -> Option<&'static str> {
    if bytes.is_empty() {
        return Some("empty file (crash while creating it)");
    }
    if bytes.iter().all(|&b| b == 0) {
        return Some("all-zero file (crash while creating it)");
    }
    let header = header_bytes();
    if bytes.len() < WAL_HEADER_LEN && header.starts_with(bytes) {
        return Some("partial header (crash while creating it)");
    }
    None
}

/// Offset of a valid frame after the bad frame at `bad`, which proves the
/// damage is not a torn tail; `next` is where the bad frame declares its end.
///
/// Two places are checked: the declared end (the usual case: a flipped bit in
/// a payload), and every start position after `bad` for a valid frame that ends
/// exactly at the end of the file (a damaged *length* points nowhere useful,
/// but the file's last frame is intact unless the tail is torn too). The second
/// check reads one `u32` per byte and computes a crc only where the length
/// matches, so it is linear in the bytes after `bad`; it runs only on recovery
/// from damage.
fn valid_frame_after(bytes: &[u8], bad: usize, next: Option<usize>) -> Option<usize> {
    if let Some(next) = next
        && next < bytes.len()
        && matches!(check_frame(bytes, next), Frame::Valid { .. })
    {
        return Some(next);
    }
    let last_start = bytes.len().checked_sub(WAL_FRAME_HEADER_LEN + 1)?;
    (bad + 1..=last_start).find(|&start| {
        let len = read_u32(bytes, start).map_or(0, |len| len as usize);
        len == bytes.len() - start - WAL_FRAME_HEADER_LEN
            && matches!(check_frame(bytes, start), Frame::Valid { .. })
    })
}

/// One frame position classified.
enum Frame<'a> {
    /// A complete frame whose crc matches; `next` is the following frame's offset.
    Valid { payload: &'a [u8], next: usize },
    /// A damaged or incomplete frame; `next` is where the following frame would
    /// start if the declared length is plausible and within the file.
    Bad { reason: String, next: Option<usize> },
}

/// Classifies the frame at `offset` (which must be `< bytes.len()`).
fn check_frame(bytes: &[u8], offset: usize) -> Frame<'_> {
    let remaining = bytes.len() - offset;
    let (Some(len), Some(crc)) = (read_u32(bytes, offset), read_u32(bytes, offset + 4)) else {
        return Frame::Bad {
            reason: format!("incomplete frame header ({remaining} bytes before end of file)"),
            next: None,
        };
    };
    let len = len as usize;
    let payload_start = offset + WAL_FRAME_HEADER_LEN;
    if len == 0 {
        if bytes[offset..].iter().all(|&b| b == 0) {
            return Frame::Bad {
                reason: "zero-filled tail".to_owned(),
                next: None,
            };
        }
        return Frame::Bad {
            reason: "frame of length 0".to_owned(),
            next: Some(payload_start),
        };
    }
    if len > WAL_RECORD_BYTES_MAX {
        return Frame::Bad {
            reason: format!("frame length {len} exceeds the maximum {WAL_RECORD_BYTES_MAX}"),
            next: None,
        };
    }
    let Some(payload) = bytes.get(payload_start..payload_start + len) else {
        return Frame::Bad {
            reason: format!(
                "frame length {len} runs past the end of the file ({} bytes left)",
                remaining - WAL_FRAME_HEADER_LEN
            ),
            next: None,
        };
    };
    let next = payload_start + len;
    if crc32fast::hash(payload) != crc {
        return Frame::Bad {
            reason: format!("crc mismatch in frame of length {len}"),
            next: Some(next),
        };
    }
    Frame::Valid { payload, next }
}

#[cfg(test)]
mod tests;
