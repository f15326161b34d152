//! `audb load --table T FILE`: bulk-load CSV or JSON lines through
//! [`Store::bulk_load`] (atomic: all good rows or nothing).
//!
//! Rows are converted and checked here first (types, ranges, size limits),
//! so a bad row is known by its line number and can be skipped without
//! touching the store. The rare row only the storage layer can reject (say,
//! the distinct-value limit) aborts the bulk load, which leaves nothing
//! behind; with skips left, its line joins the skip list and the load starts
//! over from the file. Either way the good rows land in one atomic load.

mod convert;
mod csv;
mod json;

use super::data_dir::{self, Create};
use super::progress::Progress;
use super::{CliError, CliResult, Format, LoadArgs, group_digits};
use audb::config::Settings;
use audb::index::{ColumnType, Key, KeyType, Value};
use audb::storage::{ColumnId, StorageError, TableSchema};
use convert::Cell;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Skipped rows listed one by one at most; the rest are counted.
const BAD_ROWS_LISTED_MAX: usize = 100;

/// A resolved `load` invocation.
#[derive(Clone, Debug)]
pub struct LoadRequest {
    table: String,
    file: PathBuf,
    format: Format,
    max_bad_rows: u64,
}

impl LoadRequest {
    /// From the parsed flags; the format defaults from the file name.
    pub(super) fn from_args(args: LoadArgs) -> LoadRequest {
        let ext = args
            .file
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let format = args.format.unwrap_or(match ext.as_deref() {
            Some("json" | "jsonl" | "ndjson") => Format::Jsonl,
            _ => Format::Csv,
        });
        LoadRequest {
            table: args.table,
            file: args.file,
            format,
            max_bad_rows: args.max_bad_rows,
        }
    }
}

/// One target column: where its value comes from and what it is.
#[derive(Clone, Debug)]
struct Target {
    id: ColumnId,
    name: String,
    ty: ColumnType,
}

/// How input records map onto the table.
#[derive(Clone, Debug)]
struct Mapping {
    key_name: String,
    key_type: KeyType,
    /// CSV: position of the key field.
    key_pos: usize,
    /// Target columns; for CSV in field order with their positions.
    targets: Vec<(usize, Target)>,
    fields: usize,
}

/// What the row iterator records while the bulk load pulls rows.
#[derive(Default)]
struct LoadState {
    bad: Vec<(u64, String)>,
    aborted: Option<String>,
    last_line: u64,
    bytes: u64,
}

/// Runs the load.
pub fn run(settings: &Settings, req: &LoadRequest) -> CliResult {
    let store = data_dir::open(settings, Create::Never, settings.store_options())?;
    let file_bytes = std::fs::metadata(&req.file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", req.file.display())))?
        .len();
    let snapshot = store.snapshot();
    let table = snapshot
        .table(&req.table)
        .ok_or_else(|| CliError::Failed(format!("table {} does not exist", req.table)))?;
    let schema = table.schema().clone();
    let mapping = match req.format {
        Format::Csv => csv_mapping(&schema, &req.file)?,
        Format::Jsonl => jsonl_mapping(&schema, &req.file)?,
    };
    let columns: Vec<ColumnId> = mapping.targets.iter().map(|(_, t)| t.id).collect();
    // Lines only the storage layer rejected, with its reason.
    let mut skip: BTreeMap<u64, String> = BTreeMap::new();
    let mut progress = Progress::new("loaded");
    loop {
        let state = Rc::new(RefCell::new(LoadState::default()));
        let rows = open_rows(req, &mapping, &skip, state.clone())?;
        let mut report = |n: u64| {
            let bytes = state.borrow().bytes;
            let fraction = (file_bytes > 0).then(|| bytes as f64 / file_bytes as f64);
            progress.update(n, fraction);
        };
        let result = store.bulk_load(schema.id, &columns, rows, &mut report);
        progress.finish();
        let st = state.take();
        if let Some(why) = st.aborted {
            return Err(CliError::Failed(format!("{why}; nothing was loaded")));
        }
        match result {
            Ok(summary) => {
                let mut bad = st.bad;
                bad.extend(skip);
                bad.sort();
                let skipped = bad.len() as u64;
                for (line, message) in bad.iter().take(BAD_ROWS_LISTED_MAX) {
                    eprintln!("audb: line {line}: {message} (row skipped)");
                }
                if bad.len() > BAD_ROWS_LISTED_MAX {
                    eprintln!(
                        "audb: … and {} more bad rows skipped",
                        bad.len() - BAD_ROWS_LISTED_MAX
                    );
                }
                let secs = progress.elapsed().as_secs_f64();
                println!(
                    "loaded {} rows into {} ({} new, {} updated) in {:.2} s ({} rows/s){}",
                    group_digits(summary.rows),
                    req.table,
                    group_digits(summary.inserted),
                    group_digits(summary.updated),
                    secs,
                    group_digits((summary.rows as f64 / secs.max(1e-6)) as u64),
                    if skipped > 0 {
                        format!("; skipped {} bad row(s)", group_digits(skipped))
                    } else {
                        String::new()
                    }
                );
                return Ok(());
            }
            Err(StorageError::BadRow { source, .. }) => {
                let line = st.last_line;
                let bad_total = (st.bad.len() + skip.len()) as u64 + 1;
                if bad_total > req.max_bad_rows || skip.contains_key(&line) {
                    return Err(CliError::Failed(format!(
                        "line {line}: {source}; nothing was loaded"
                    )));
                }
                skip.insert(line, source.to_string());
                tracing::info!(
                    line,
                    "row rejected by storage ({source}); loading again without it"
                );
            }
            Err(e) => {
                return Err(CliError::Failed(format!(
                    "load failed, nothing was loaded: {e}"
                )));
            }
        }
    }
}

fn open_input(path: &Path) -> CliResult<BufReader<File>> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|e| CliError::Usage(format!("cannot open {}: {e}", path.display())))
}

/// The table column a header or JSON key names; errors are messages.
fn target(schema: &TableSchema, name: &str) -> Result<Target, String> {
    match schema.column(name) {
        Some(c) if !audb::catalog::is_hidden(&c.name) => Ok(Target {
            id: c.id,
            name: c.name.clone(),
            ty: c.ty,
        }),
        _ => Err(format!(
            "column \"{name}\" of table {} does not exist",
            schema.name
        )),
    }
}

fn csv_mapping(schema: &TableSchema, path: &Path) -> CliResult<Mapping> {
    let mut reader = csv::CsvReader::new(open_input(path)?);
    let header = match reader.next_record() {
        None => {
            return Err(CliError::Failed(format!(
                "{} is empty (no header line)",
                path.display()
            )));
        }
        Some(Err(e)) => return Err(CliError::Failed(format!("line {}: {}", e.line, e.message))),
        Some(Ok(h)) => h,
    };
    let mut key_pos = None;
    let mut targets = Vec::new();
    let mut seen = BTreeSet::new();
    for (pos, field) in header.fields.iter().enumerate() {
        let name = field.text.trim();
        if !seen.insert(name.to_owned()) {
            return Err(CliError::Failed(format!(
                "line {}: column \"{name}\" appears twice in the header",
                header.line
            )));
        }
        if name == schema.key_name {
            key_pos = Some(pos);
        } else {
            let t = target(schema, name)
                .map_err(|m| CliError::Failed(format!("line {}: {m}", header.line)))?;
            targets.push((pos, t));
        }
    }
    let key_pos = key_pos.ok_or_else(|| {
        CliError::Failed(format!(
            "line {}: the header lacks the key column {}",
            header.line, schema.key_name
        ))
    })?;
    Ok(Mapping {
        key_name: schema.key_name.clone(),
        key_type: schema.key_type,
        key_pos,
        targets,
        fields: header.fields.len(),
    })
}

/// JSON lines set every table column that appears in some line: one pass
/// over the file to find them.
fn jsonl_mapping(schema: &TableSchema, path: &Path) -> CliResult<Mapping> {
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    for line in open_input(path)?.lines() {
        let line =
            line.map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
        if let Ok(fields) = json::parse_object(&line) {
            for (k, _) in fields {
                names.insert(k, ());
            }
        }
    }
    let targets = names
        .keys()
        .filter(|n| **n != schema.key_name)
        .filter_map(|n| target(schema, n).ok())
        .enumerate()
        .collect();
    Ok(Mapping {
        key_name: schema.key_name.clone(),
        key_type: schema.key_type,
        key_pos: 0,
        targets,
        fields: 0,
    })
}

type Row = (Key, Vec<Option<Value>>);

/// The rows of the file as the bulk load pulls them.
fn open_rows<'a>(
    req: &LoadRequest,
    mapping: &'a Mapping,
    skip: &'a BTreeMap<u64, String>,
    state: Rc<RefCell<LoadState>>,
) -> CliResult<impl Iterator<Item = audb::storage::Result<Row>> + 'a> {
    let input = open_input(&req.file)?;
    // Skipped storage rejections count against the allowance.
    let max_bad = req.max_bad_rows.saturating_sub(skip.len() as u64);
    let allowed = req.max_bad_rows;
    let mut source = match req.format {
        Format::Csv => Source::Csv(csv::CsvReader::new(input), true),
        Format::Jsonl => Source::Jsonl(input, 0, String::new()),
    };
    Ok(std::iter::from_fn(move || {
        loop {
            let (line, row) = source.next(mapping, &mut state.borrow_mut())?;
            if skip.contains_key(&line) {
                continue;
            }
            let mut st = state.borrow_mut();
            st.last_line = line;
            match row {
                Ok(row) => return Some(Ok(row)),
                Err((message, fatal)) => {
                    if fatal || st.bad.len() as u64 >= max_bad {
                        let why = format!("line {line}: {message}");
                        st.aborted = Some(if fatal || allowed == 0 {
                            why
                        } else {
                            format!(
                                "more than {allowed} bad rows (--max-bad-rows), the last at {why}"
                            )
                        });
                        return Some(Err(StorageError::LimitExceeded("bad rows".into())));
                    }
                    st.bad.push((line, message));
                }
            }
        }
    }))
}

/// A converted row, or why not (and whether reading cannot go on).
type Converted = Result<Row, (String, bool)>;

enum Source<R> {
    /// The reader and whether the header is still to be skipped.
    Csv(csv::CsvReader<R>, bool),
    /// The reader, lines read, and a line buffer.
    Jsonl(R, u64, String),
}

impl<R: BufRead> Source<R> {
    fn next(&mut self, m: &Mapping, st: &mut LoadState) -> Option<(u64, Converted)> {
        match self {
            Source::Csv(reader, header) => {
                if std::mem::take(header) {
                    reader.next_record()?.ok()?;
                }
                let rec = reader.next_record();
                st.bytes = reader.bytes_read();
                Some(match rec? {
                    Err(e) => (e.line, Err((e.message, !e.recoverable))),
                    Ok(rec) => (rec.line, csv_row(m, &rec).map_err(|e| (e, false))),
                })
            }
            Source::Jsonl(reader, lines, buf) => loop {
                buf.clear();
                let n = match reader.read_line(buf) {
                    Ok(n) => n,
                    Err(e) => {
                        return Some((*lines + 1, Err((format!("cannot read input: {e}"), true))));
                    }
                };
                if n == 0 {
                    return None;
                }
                *lines += 1;
                st.bytes += n as u64;
                if buf.trim().is_empty() {
                    continue;
                }
                return Some((*lines, json_row(m, buf).map_err(|e| (e, false))));
            },
        }
    }
}

fn csv_row(m: &Mapping, rec: &csv::Record) -> Result<Row, String> {
    if rec.fields.len() != m.fields {
        return Err(format!(
            "expected {} fields, found {}",
            m.fields,
            rec.fields.len()
        ));
    }
    let key = convert::key(&cell(&rec.fields[m.key_pos]), m.key_type, &m.key_name)?;
    let values = m
        .targets
        .iter()
        .map(|(pos, t)| convert::value(&cell(&rec.fields[*pos]), t.ty, &t.name))
        .collect::<Result<Vec<_>, String>>()?;
    Ok((key, values))
}

/// An unquoted empty field is NULL; a quoted one the empty string.
fn cell(f: &csv::Field) -> Cell<'_> {
    if f.text.is_empty() && !f.quoted {
        Cell::Null
    } else {
        Cell::Text(f.text.as_str())
    }
}

fn json_row(m: &Mapping, line: &str) -> Result<Row, String> {
    let fields = json::parse_object(line)?;
    let mut key = None;
    let mut values: Vec<Option<Value>> = vec![None; m.targets.len()];
    let mut seen = BTreeSet::new();
    for (name, v) in &fields {
        if !seen.insert(name.as_str()) {
            return Err(format!("key \"{name}\" appears twice"));
        }
        let cell = json_cell(v).map_err(|e| format!("{e} (column {name})"))?;
        if *name == m.key_name {
            key = Some(convert::key(&cell, m.key_type, &m.key_name)?);
            continue;
        }
        let Some(i) = m.targets.iter().position(|(_, t)| t.name == *name) else {
            return Err(format!("column \"{name}\" does not exist"));
        };
        let t = &m.targets[i].1;
        values[i] = convert::value(&cell, t.ty, &t.name)?;
    }
    let key = key.ok_or_else(|| format!("the key column {} is missing", m.key_name))?;
    Ok((key, values))
}

fn json_cell(v: &json::Json) -> Result<Cell<'_>, String> {
    use json::Json;
    Ok(match v {
        Json::Null => Cell::Null,
        Json::Bool(b) => Cell::Bool(*b),
        Json::Number(t) | Json::String(t) => Cell::Text(t),
        Json::Array(items) => Cell::List(
            items
                .iter()
                .map(|i| match i {
                    Json::String(s) | Json::Number(s) => Ok(s.clone()),
                    Json::Bool(b) => Ok(b.to_string()),
                    Json::Null => Err("NULL elements are not allowed in a TEXT[] tag".to_owned()),
                    _ => Err("nested arrays and objects are not supported".to_owned()),
                })
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(_) => return Err("nested objects are not supported".into()),
    })
}
