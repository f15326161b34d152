//! The parallel read → parse → convert pipeline of `audb load`.
//!
//! One thread reads the file and cuts it into [`Chunk`]s of whole records;
//! worker threads parse and convert chunks; the caller receives the
//! converted chunks strictly in input order (each chunk's result comes
//! through its own one-slot channel, queued in order when the chunk is cut),
//! so row order, line numbers and the first bad row are exactly those of a
//! sequential read. Channels are bounded: memory stays a few chunks per
//! worker. When the caller stops early, dropping the queue stops the reader,
//! and the workers finish the chunks already handed out.

use super::chunks::{Chunk, Chunker};
use super::csv::CsvReader;
use super::{Converted, Mapping, csv_row, json_row, open_input};
use crate::cli::{CliError, CliResult, Format};
use crossbeam::channel::{Receiver, Sender, bounded};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

/// Input bytes per chunk.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Most worker threads.
const WORKERS_MAX: usize = 16;

/// Rows of a chunk, each with its 1-based line.
type Rows = Vec<(u64, Converted)>;

/// The converted rows of one chunk, each with its 1-based line.
pub struct Parsed {
    /// Input offset just past the chunk.
    pub end_offset: u64,
    /// The rows in REVERSE input order: take them with `pop`.
    pub rows: Rows,
    /// Where the emptied `rows` go back for reuse.
    spare: Option<Sender<Rows>>,
}

impl Parsed {
    /// A chunk that is just one error.
    fn failed(end_offset: u64, line: u64, message: String) -> Parsed {
        Parsed {
            end_offset,
            rows: vec![(line, Err((message, true)))],
            spare: None,
        }
    }

    /// Hands the (emptied) row buffer back to the workers.
    pub fn recycle(self) {
        if let Some(tx) = self.spare {
            let _ = tx.try_send(self.rows);
        }
    }
}

/// Runs the pipeline over `path` and hands `consume` the converted chunks
/// in order; returns what `consume` returns.
pub fn with_chunks<T>(
    path: &Path,
    format: Format,
    mapping: &Mapping,
    chunk_bytes: usize,
    consume: impl FnOnce(&mut dyn Iterator<Item = Parsed>) -> T,
) -> CliResult<T> {
    let (first_line, offset) = match format {
        // The header was checked by the mapping; the data starts after it.
        Format::Csv => {
            let mut header = CsvReader::new(open_input(path)?);
            let _ = header.next_record();
            (header.lines_read() + 1, header.bytes_read())
        }
        Format::Jsonl => (1, 0),
    };
    let mut file = File::open(path)
        .map_err(|e| CliError::Usage(format!("cannot open {}: {e}", path.display())))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let csv = matches!(format, Format::Csv);
    let mut chunker = Chunker::new(file, csv, chunk_bytes, first_line, offset);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, WORKERS_MAX);
    Ok(std::thread::scope(|s| {
        let (job_tx, job_rx) = bounded::<(Chunk, Sender<Parsed>)>(workers * 2);
        let (order_tx, order_rx) = bounded::<Receiver<Parsed>>(workers * 4);
        let (spare_bytes_tx, spare_bytes_rx) = bounded::<Vec<u8>>(workers * 4);
        let (spare_rows_tx, spare_rows_rx) = bounded::<Rows>(workers * 4);
        for _ in 0..workers {
            let job_rx = job_rx.clone();
            let spare_bytes_tx = spare_bytes_tx.clone();
            let spare_rows_tx = spare_rows_tx.clone();
            let spare_rows_rx = spare_rows_rx.clone();
            s.spawn(move || {
                for (chunk, tx) in job_rx {
                    let rows = spare_rows_rx.try_recv().unwrap_or_default();
                    let (mut parsed, bytes) = parse(csv, mapping, chunk, rows);
                    parsed.spare = Some(spare_rows_tx.clone());
                    let _ = tx.send(parsed);
                    let _ = spare_bytes_tx.try_send(bytes);
                }
            });
        }
        drop((job_rx, spare_bytes_tx, spare_rows_tx, spare_rows_rx));
        s.spawn(move || {
            while let Some(next) = chunker.next_chunk() {
                while let Ok(buf) = spare_bytes_rx.try_recv() {
                    chunker.recycle(buf);
                }
                let (tx, rx) = bounded(1);
                if order_tx.send(rx).is_err() {
                    return;
                }
                match next {
                    Ok(chunk) => {
                        if job_tx.send((chunk, tx)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Parsed::failed(
                            chunker.offset(),
                            chunker.next_line(),
                            format!("cannot read input: {e}"),
                        ));
                        return;
                    }
                }
            }
        });
        let mut chunks = order_rx.into_iter().map(|rx| {
            rx.recv().unwrap_or_else(|_| {
                Parsed::failed(0, 0, "internal error: a parser thread failed".into())
            })
        });
        consume(&mut chunks)
    }))
}

/// Parses and converts one chunk into `rows` (an empty buffer); gives the
/// chunk's buffer back.
fn parse(csv: bool, m: &Mapping, chunk: Chunk, mut rows: Rows) -> (Parsed, Vec<u8>) {
    rows.clear();
    rows.reserve(chunk.bytes.len() / 64);
    if csv {
        let mut reader = CsvReader::starting_at(&chunk.bytes[..], chunk.first_line - 1);
        let mut rec = super::csv::Record {
            line: 0,
            fields: Vec::new(),
        };
        while let Some(read) = reader.next_into(&mut rec) {
            match read {
                Err(e) => {
                    let fatal = !e.recoverable;
                    rows.push((e.line, Err((e.message, fatal))));
                    if fatal {
                        break;
                    }
                }
                Ok(()) => rows.push((rec.line, csv_row(m, &rec).map_err(|e| (e, false)))),
            }
        }
    } else {
        let lines = chunk.bytes.split_inclusive(|b| *b == b'\n');
        for (n, bytes) in (chunk.first_line..).zip(lines) {
            let Ok(text) = std::str::from_utf8(bytes) else {
                let why = "cannot read input: stream did not contain valid UTF-8";
                rows.push((n, Err((why.into(), true))));
                break;
            };
            if text.trim().is_empty() {
                continue;
            }
            rows.push((n, json_row(m, text).map_err(|e| (e, false))));
        }
    }
    rows.reverse();
    let parsed = Parsed {
        end_offset: chunk.end_offset,
        rows,
        spare: None,
    };
    (parsed, chunk.bytes)
}
