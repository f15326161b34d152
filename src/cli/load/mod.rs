//! `audb load --table T FILE`: bulk-load CSV or JSON lines through
//! [`Store::bulk_load`] (atomic: all good rows or nothing).
//!
//! Rows are converted and checked here first (types, ranges, size limits),
//! so a bad row is known by its line number and can be skipped without
//! touching the store. The rare row only the storage layer can reject (say,
//! the distinct-value limit) aborts the bulk load, which leaves nothing
//! behind; with skips left, its line joins the skip list and the load starts
//! over from the file. Either way the good rows land in one atomic load.
//!
//! Reading, parsing and conversion run on worker threads ([`pipeline`]);
//! the converted rows reach the bulk load in file order, so a repeated key
//! still resolves to its last occurrence and errors name the right line.

mod chunks;
mod csv;
mod json;
mod pipeline;
#[cfg(test)]
mod tests;

use super::data_dir::{self, Create};
use super::progress::Progress;
use super::{CliError, CliResult, Format, LoadArgs, group_digits};
use audb::config::Settings;
use audb::copy::convert::{self, Cell};
use audb::index::{ColumnType, Key, KeyType, Value};
use audb::sql::timezone::TimeZone;
use audb::storage::{ColumnId, StorageError, TableSchema};
use pipeline::Parsed;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Skipped rows listed one by one at most; the rest are counted.
const BAD_ROWS_LISTED_MAX: usize = 100;

/// A resolved `load` invocation.
#[derive(Clone, Debug)]
pub struct LoadRequest {
    table: String,
    file: PathBuf,
    format: Format,
    max_bad_rows: u64,
    /// Input bytes per parallel parse chunk.
    chunk_bytes: usize,
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
            chunk_bytes: pipeline::CHUNK_BYTES,
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
    table: String,
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
        let state = RefCell::new(LoadState::default());
        let mut report = |n: u64| {
            let bytes = state.borrow().bytes;
            let fraction = (file_bytes > 0).then(|| bytes as f64 / file_bytes as f64);
            progress.update(n, fraction);
        };
        let result =
            pipeline::with_chunks(&req.file, req.format, &mapping, req.chunk_bytes, |chunks| {
                let mut chunks = chunks.peekable();
                let expected = chunks
                    .peek()
                    .map_or(0, |first| expected_rows(first, file_bytes));
                let rows = ordered_rows(req, &mut chunks, &skip, &state);
                store.bulk_load_sized(schema.id, &columns, rows, expected, &mut report)
            })?;
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
        table: schema.name.clone(),
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
        table: schema.name.clone(),
        key_name: schema.key_name.clone(),
        key_type: schema.key_type,
        key_pos: 0,
        targets,
        fields: 0,
    })
}

type Row = (Key, Vec<Option<Value>>);

/// About how many rows the file holds, from the first chunk's density.
fn expected_rows(first: &Parsed, file_bytes: u64) -> usize {
    let per_byte = first.rows.len() as f64 / first.end_offset.max(1) as f64;
    (per_byte * file_bytes as f64 * 1.02) as usize
}

/// The rows of the converted chunks as the bulk load pulls them: bad rows
/// are recorded (or abort the load), skipped lines left out.
fn ordered_rows<'a>(
    req: &LoadRequest,
    chunks: &'a mut dyn Iterator<Item = Parsed>,
    skip: &'a BTreeMap<u64, String>,
    state: &'a RefCell<LoadState>,
) -> impl Iterator<Item = audb::storage::Result<Row>> + 'a {
    // Skipped storage rejections count against the allowance.
    let max_bad = req.max_bad_rows.saturating_sub(skip.len() as u64);
    let allowed = req.max_bad_rows;
    let mut current: Option<Parsed> = None;
    std::iter::from_fn(move || {
        loop {
            let Some((line, row)) = current.as_mut().and_then(|p| p.rows.pop()) else {
                if let Some(done) = current.take() {
                    done.recycle();
                }
                let parsed = chunks.next()?;
                state.borrow_mut().bytes = parsed.end_offset;
                current = Some(parsed);
                continue;
            };
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
    })
}

/// A converted row, or why not (and whether reading cannot go on).
type Converted = Result<Row, (String, bool)>;

fn csv_row(m: &Mapping, rec: &csv::Record) -> Result<Row, String> {
    if rec.fields.len() != m.fields {
        return Err(format!(
            "expected {} fields, found {}",
            m.fields,
            rec.fields.len()
        ));
    }
    let key = convert::key(
        &cell(&rec.fields[m.key_pos]),
        m.key_type,
        &m.table,
        &m.key_name,
    )
    .map_err(|e| e.message)?;
    let values = m
        .targets
        .iter()
        .map(|(pos, t)| tag_value(&cell(&rec.fields[*pos]), t))
        .collect::<Result<Vec<_>, String>>()?;
    Ok((key, values))
}

/// Converts a tag cell; `TIMESTAMPTZ` without a zone is UTC.
fn tag_value(cell: &Cell<'_>, t: &Target) -> Result<Option<Value>, String> {
    convert::value(cell, t.ty, &TimeZone::UTC)
        .map_err(|e| format!("{} (column {})", e.message, t.name))
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
            key = Some(
                convert::key(&cell, m.key_type, &m.table, &m.key_name).map_err(|e| e.message)?,
            );
            continue;
        }
        let Some(i) = m.targets.iter().position(|(_, t)| t.name == *name) else {
            return Err(format!("column \"{name}\" does not exist"));
        };
        let t = &m.targets[i].1;
        values[i] = tag_value(&cell, t)?;
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
        Json::Object => return Err("nested objects are not supported".into()),
    })
}
