//! One `COPY t [(cols)] FROM STDIN`.
//!
//! Data arrives in chunks ([`CopyIn::feed`]); every complete record is
//! decoded and converted at once, so a bad row is reported while the client
//! is still sending (with PostgreSQL's `COPY t, line N, column c: "…"`
//! context). Checked input is kept as raw bytes in a [`Spool`] — memory up to
//! [`SPOOL_MEMORY_BYTES_MAX`], then an unlinked temporary file — and only
//! [`CopyIn::finish`] (the client's CopyDone) hands it, re-read, to
//! [`Store::bulk_load`]: one atomic load, holding the store's write lock
//! for the load alone, never while waiting on the network. A client that
//! fails the copy or disconnects just drops the `CopyIn`: nothing was
//! written.
//!
//! [`Store::bulk_load`]: crate::storage::Store::bulk_load

use super::binary::file::TupleReader;
use super::codec::decode;
use super::convert::{self, Cell};
use super::records::RecordReader;
use super::target::{self, TableTarget};
use super::{CopyError, CopyFormat, CopyOptions, CopyResult, printout};
use crate::exec::rows::Fetch;
use crate::index::{Key, Value};
use crate::sql::timezone::TimeZone;
use crate::storage::{ColumnId, Snapshot, StorageError, Store};
use sqlparser::ast::{CopySource, Statement};
use std::cell::Cell as StdCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// Input kept in memory before it spills to a temporary file.
pub const SPOOL_MEMORY_BYTES_MAX: usize = 16 << 20;

/// Bytes read from the spool at a time when loading.
const SPOOL_READ_BYTES: usize = 1 << 20;

/// Checked input bytes, in memory or in an unlinked temporary file.
#[derive(Debug, Default)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<File>,
    bytes: u64,
    /// Replay position.
    read_at: usize,
}

impl Spool {
    fn write(&mut self, data: &[u8]) -> CopyResult<()> {
        self.bytes += data.len() as u64;
        if self.file.is_none() && self.memory.len() + data.len() <= SPOOL_MEMORY_BYTES_MAX {
            self.memory.extend_from_slice(data);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let mut f = temp_file().map_err(io_error)?;
                f.write_all(&self.memory).map_err(io_error)?;
                self.memory = Vec::new();
                self.file.insert(f)
            }
        };
        file.write_all(data).map_err(io_error)
    }

    /// Reads the next chunk of the spooled bytes into `buf` (cleared
    /// first); `false` at the end.
    fn read_chunk(&mut self, buf: &mut Vec<u8>) -> CopyResult<bool> {
        buf.clear();
        match &mut self.file {
            None => {
                let end = (self.read_at + SPOOL_READ_BYTES).min(self.memory.len());
                buf.extend_from_slice(&self.memory[self.read_at..end]);
                self.read_at = end;
            }
            Some(file) => {
                if self.read_at == 0 {
                    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
                }
                buf.resize(SPOOL_READ_BYTES, 0);
                let n = file.read(buf).map_err(io_error)?;
                buf.truncate(n);
                self.read_at += n;
            }
        }
        Ok(!buf.is_empty())
    }
}

fn io_error(e: std::io::Error) -> CopyError {
    CopyError::new("58030", format!("could not spool COPY data: {e}"))
}

/// A temporary file, unlinked at once so that nothing is left behind even
/// if the process dies.
fn temp_file() -> std::io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "audb-copy-{}-{}.spool",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

/// How one input row maps to the table.
#[derive(Debug)]
struct RowShape {
    table: String,
    key_name: String,
    key_type: crate::index::KeyType,
    /// Per field: `None` for the key, else the tag's index in `columns`.
    fields: Vec<(String, Option<usize>, Option<crate::index::ColumnType>)>,
    columns: Vec<ColumnId>,
    /// The session's zone, for `TIMESTAMPTZ` input that names none.
    time_zone: TimeZone,
}

type Row = (Key, Vec<Option<Value>>);

impl RowShape {
    fn new(t: &TableTarget, tz: TimeZone) -> CopyResult<RowShape> {
        let schema = t.table.schema();
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        for (name, f) in t.columns.iter().cloned() {
            match f {
                Fetch::Key => fields.push((name, None, None)),
                Fetch::Tag(id, ty) => {
                    fields.push((name, Some(columns.len()), Some(ty)));
                    columns.push(id);
                }
            }
        }
        if !t.columns.iter().any(|(_, f)| *f == Fetch::Key) {
            return Err(CopyError::new(
                "23502",
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    schema.key_name, schema.name
                ),
            )
            .with_hint("COPY into an audb table must include its key column."));
        }
        Ok(RowShape {
            table: schema.name.clone(),
            key_name: schema.key_name.clone(),
            key_type: schema.key_type,
            fields,
            columns,
            time_zone: tz,
        })
    }

    /// Decodes and converts one record at `line`.
    fn row(&self, rec: &[u8], line: u64, opts: &CopyOptions) -> CopyResult<Row> {
        let whole = || {
            format!(
                "COPY {}, line {line}: \"{}\"",
                self.table,
                printout(&String::from_utf8_lossy(rec))
            )
        };
        let cells = decode(rec, opts).map_err(|e| e.with_context(whole()))?;
        if cells.len() > self.fields.len() {
            return Err(
                CopyError::bad_format("extra data after last expected column")
                    .with_context(whole()),
            );
        }
        if cells.len() < self.fields.len() {
            return Err(CopyError::bad_format(format!(
                "missing data for column \"{}\"",
                self.fields[cells.len()].0
            ))
            .with_context(whole()));
        }
        let mut key = None;
        let mut values = vec![None; self.columns.len()];
        for ((name, slot, ty), cell) in self.fields.iter().zip(&cells) {
            let c = match cell {
                Some(s) => Cell::Text(s),
                None => Cell::Null,
            };
            let at = |e: crate::sql::error::SqlError| {
                let ctx = match cell {
                    Some(s) => format!(
                        "COPY {}, line {line}, column {name}: \"{}\"",
                        self.table,
                        printout(s)
                    ),
                    None => whole(),
                };
                CopyError::from(e).with_context(ctx)
            };
            match (slot, ty) {
                (Some(i), Some(ty)) => {
                    values[*i] = convert::value(&c, *ty, &self.time_zone).map_err(at)?;
                }
                _ => {
                    key = Some(
                        convert::key(&c, self.key_type, &self.table, &self.key_name).map_err(at)?,
                    );
                }
            }
        }
        let key = key.ok_or_else(|| CopyError::new("XX000", "COPY row without a key"))?;
        Ok((key, values))
    }

    /// Converts the fields of one binary tuple at `line` (as many as
    /// there are columns: the reader checked the count).
    fn row_binary(&self, fields: &[Option<&[u8]>], line: u64) -> CopyResult<Row> {
        let mut key = None;
        let mut values = vec![None; self.columns.len()];
        for ((name, slot, ty), field) in self.fields.iter().zip(fields) {
            let at = |e: crate::sql::error::SqlError| {
                let ctx = match field {
                    Some(_) => format!("COPY {}, line {line}, column {name}", self.table),
                    None => format!("COPY {}, line {line}", self.table),
                };
                CopyError::from(e).with_context(ctx)
            };
            match (slot, ty) {
                (Some(i), Some(ty)) => {
                    values[*i] = convert::binary_value(*field, *ty).map_err(at)?
                }
                _ => {
                    key = Some(
                        convert::binary_key(*field, self.key_type, &self.table, &self.key_name)
                            .map_err(at)?,
                    );
                }
            }
        }
        let key = key.ok_or_else(|| CopyError::new("XX000", "COPY row without a key"))?;
        Ok((key, values))
    }
}

/// The input of one COPY in its format: records of text or CSV, or binary
/// tuples.
#[derive(Debug)]
enum Input {
    /// Text or CSV records; `header_pending` until a HEADER line is skipped.
    Text {
        reader: RecordReader,
        header_pending: bool,
    },
    /// Binary tuples.
    Binary(TupleReader),
}

impl Input {
    fn new(shape: &RowShape, opts: &CopyOptions) -> Input {
        if opts.format == CopyFormat::Binary {
            let names = shape.fields.iter().map(|(n, _, _)| n.clone()).collect();
            Input::Binary(TupleReader::new(&shape.table, names))
        } else {
            Input::Text {
                reader: RecordReader::new(opts),
                header_pending: opts.header,
            }
        }
    }

    /// Whether the data ended (text's `\.` marker): later input is ignored.
    fn ended(&self) -> bool {
        matches!(self, Input::Text { reader, .. } if reader.ended())
    }

    fn push(&mut self, data: &[u8]) -> CopyResult<()> {
        match self {
            Input::Text { reader, .. } => {
                reader.push(data);
                Ok(())
            }
            Input::Binary(r) => r.push(data),
        }
    }

    /// The line of the record last read.
    fn line(&self) -> u64 {
        match self {
            Input::Text { reader, .. } => reader.line(),
            Input::Binary(r) => r.line(),
        }
    }

    /// The next whole record, converted, with its line; `None` when more
    /// input is needed (with `eof`: at the end). After an error, `None`.
    fn next_row(
        &mut self,
        shape: &RowShape,
        opts: &CopyOptions,
        eof: bool,
    ) -> Option<(u64, CopyResult<Row>)> {
        match self {
            Input::Text {
                reader,
                header_pending,
            } => loop {
                let (line, rec) = reader.next_record(eof)?;
                if std::mem::take(header_pending) {
                    continue;
                }
                return Some((line, shape.row(rec, line, opts)));
            },
            Input::Binary(r) => match r.next_tuple(eof) {
                Ok(None) => None,
                Ok(Some((line, fields))) => Some((line, shape.row_binary(&fields, line))),
                Err(e) => Some((r.line(), Err(e))),
            },
        }
    }
}

impl CopyError {
    fn with_hint(mut self, hint: &str) -> CopyError {
        self.hint = Some(hint.to_owned());
        self
    }
}

/// One COPY FROM STDIN in progress.
#[derive(Debug)]
pub struct CopyIn {
    shape: RowShape,
    table_id: crate::storage::TableId,
    opts: CopyOptions,
    input: Input,
    spool: Spool,
    /// Data records checked so far.
    rows: u64,
}

impl CopyIn {
    /// Starts `stmt` (a `COPY … FROM STDIN`) against `snapshot`;
    /// `time_zone` is the session's `TimeZone`, for `TIMESTAMPTZ` input
    /// that names no zone.
    pub fn start(snapshot: &Snapshot, stmt: &Statement, time_zone: TimeZone) -> CopyResult<CopyIn> {
        let Statement::Copy {
            source:
                CopySource::Table {
                    table_name,
                    columns,
                },
            options,
            legacy_options,
            ..
        } = stmt
        else {
            return Err(CopyError::new("XX000", "not a COPY FROM statement"));
        };
        let opts = CopyOptions::from_ast(options, legacy_options)?;
        let t = target::resolve(snapshot, table_name, columns, false)?;
        let shape = RowShape::new(&t, time_zone)?;
        Ok(CopyIn {
            table_id: t.table.schema().id,
            input: Input::new(&shape, &opts),
            shape,
            opts,
            spool: Spool::default(),
            rows: 0,
        })
    }

    /// The number of columns (for CopyInResponse).
    pub fn columns(&self) -> usize {
        self.shape.fields.len()
    }

    /// Whether the data is in PostgreSQL's binary format (for the
    /// CopyInResponse's format codes).
    pub fn binary(&self) -> bool {
        self.opts.format == CopyFormat::Binary
    }

    /// Takes one chunk of input: checks its complete records, keeps it.
    pub fn feed(&mut self, data: &[u8]) -> CopyResult<()> {
        if self.input.ended() {
            return Ok(());
        }
        self.input.push(data)?;
        self.check(false)?;
        self.spool.write(data)
    }

    fn check(&mut self, eof: bool) -> CopyResult<()> {
        while let Some((_, row)) = self.input.next_row(&self.shape, &self.opts, eof) {
            row?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Ends the input and loads every row in one atomic bulk load; returns
    /// the rows loaded (`COPY n`).
    pub fn finish(mut self, store: &Store) -> CopyResult<u64> {
        self.check(true)?;
        if self.rows == 0 {
            return Ok(0);
        }
        let mut spool = std::mem::take(&mut self.spool);
        let last_line = StdCell::new(0u64);
        let failed: StdCell<Option<CopyError>> = StdCell::new(None);
        let rows = ReplayRows {
            copy: &self,
            spool: &mut spool,
            input: Input::new(&self.shape, &self.opts),
            buf: Vec::new(),
            pending: VecDeque::new(),
            done: false,
            last_line: &last_line,
            failed: &failed,
        };
        let result = store.bulk_load(self.table_id, &self.shape.columns, rows, &mut |_| {});
        if let Some(e) = failed.take() {
            return Err(e);
        }
        match result {
            Ok(summary) => Ok(summary.rows),
            Err(StorageError::BadRow { source, .. }) => {
                let e: crate::sql::error::SqlError = (*source).into();
                Err(CopyError::from(e).with_context(format!(
                    "COPY {}, line {}",
                    self.shape.table,
                    last_line.get()
                )))
            }
            Err(e) => Err(CopyError::from(crate::sql::error::SqlError::from(e))),
        }
    }
}

/// The spooled rows, re-read for the bulk load.
struct ReplayRows<'a> {
    copy: &'a CopyIn,
    spool: &'a mut Spool,
    input: Input,
    buf: Vec<u8>,
    pending: VecDeque<(u64, CopyResult<Row>)>,
    done: bool,
    last_line: &'a StdCell<u64>,
    failed: &'a StdCell<Option<CopyError>>,
}

impl ReplayRows<'_> {
    /// Converts the records of the next spool chunk into `pending`.
    fn refill(&mut self) {
        while self.pending.is_empty() && !self.done {
            let eof = match self.spool.read_chunk(&mut self.buf) {
                Ok(more) => !more,
                Err(e) => {
                    self.pending.push_back((self.input.line(), Err(e)));
                    self.done = true;
                    return;
                }
            };
            if let Err(e) = self.input.push(&self.buf) {
                self.pending.push_back((self.input.line(), Err(e)));
                self.done = true;
                return;
            }
            let (shape, opts) = (&self.copy.shape, &self.copy.opts);
            while let Some((line, row)) = self.input.next_row(shape, opts, eof) {
                let failed = row.is_err();
                self.pending.push_back((line, row));
                if failed {
                    self.done = true;
                    return;
                }
            }
            self.done = eof;
        }
    }
}

impl Iterator for ReplayRows<'_> {
    type Item = crate::storage::Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        self.refill();
        let (line, row) = self.pending.pop_front()?;
        self.last_line.set(line);
        Some(row.map_err(|e| {
            self.failed.set(Some(e));
            StorageError::LimitExceeded("COPY row".into())
        }))
    }
}
