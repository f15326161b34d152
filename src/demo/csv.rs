//! [`write_csv`]: the demo audience as a CSV file, for `audb load` and for
//! the peers of the macro benchmark (PostgreSQL `COPY`, DuckDB, ClickHouse),
//! so every engine loads exactly the same rows.
//!
//! The format is what `audb load` and PostgreSQL's `COPY … (FORMAT csv,
//! HEADER)` both read: a header line, an unquoted empty field for NULL,
//! `t`/`f` for booleans, `{a,b}` for `TEXT[]`, ISO dates and
//! `YYYY-MM-DD HH:MM:SS+00` timestamps. Rows are generated on worker threads
//! in chunks and written in row order, so the file is the same whatever the
//! number of threads.

use super::{Audience, DemoColumn, KEY_COLUMN, columns};
use crate::index::encode::{
    format_date, format_f32, format_f64, format_numeric, format_timestamp, format_timestamptz,
    ordered_to_f32, ordered_to_f64,
};
use crate::index::{ColumnType, Key, Value};
use std::io::Write;

/// The columns the macro benchmark loads into every engine (besides the
/// key): the fixed demo columns and seven flags from dense to sparse.
pub const BENCH_COLUMNS: &[&str] = &[
    "gender",
    "age",
    "city",
    "province",
    "device_os",
    "interests",
    "vip",
    "churned",
    "ltv",
    "churn_prob",
    "register_date",
    "last_active",
    "f_001",
    "f_010",
    "f_020",
    "f_050",
    "f_100",
    "f_150",
    "f_200",
];

/// Rows one worker generates at a time.
const CHUNK_ROWS: u64 = 32_768;

/// Why [`write_csv`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// A requested column is not a demo column.
    #[error("no demo column named {0:?}")]
    UnknownColumn(String),
    /// Writing the output failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Resolves column names to their positions in [`columns`] (the key column
/// is always written first and is not listed). `["all"]` selects every demo
/// column.
pub fn select_columns(names: &[&str]) -> Result<Vec<(usize, DemoColumn)>, CsvError> {
    let all = columns();
    if names == ["all"] {
        return Ok(all.into_iter().enumerate().collect());
    }
    names
        .iter()
        .filter(|n| **n != KEY_COLUMN)
        .map(|name| {
            all.iter()
                .position(|c| c.name == *name)
                .map(|i| (i, all[i].clone()))
                .ok_or_else(|| CsvError::UnknownColumn((*name).to_owned()))
        })
        .collect()
}

/// Writes rows `0..users` of `audience` as CSV to `out`: a header with the
/// key column and the `selected` columns, then one line per row. Uses
/// `threads` generator threads (at least one); `progress` gets the rows
/// written so far after each batch. Cost: about one microsecond per row per
/// thread for the benchmark columns.
pub fn write_csv(
    audience: &Audience,
    users: u64,
    selected: &[(usize, DemoColumn)],
    threads: usize,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<(), CsvError> {
    let mut header = String::from(KEY_COLUMN);
    for (_, c) in selected {
        header.push(',');
        header.push_str(&c.name);
    }
    header.push('\n');
    out.write_all(header.as_bytes())?;
    let threads = threads.max(1) as u64;
    let mut next = 0u64;
    while next < users {
        let chunks: Vec<std::ops::Range<u64>> = (0..threads)
            .map(|t| {
                let lo = (next + t * CHUNK_ROWS).min(users);
                lo..(lo + CHUNK_ROWS).min(users)
            })
            .filter(|r| !r.is_empty())
            .collect();
        next = chunks.last().map_or(users, |r| r.end);
        let buffers: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|range| s.spawn(|| render_rows(audience, range.clone(), selected)))
                .collect();
            handles
                .into_iter()
                // A generator thread only formats strings; if it panicked,
                // re-raise the panic here rather than write a short file.
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for b in &buffers {
            out.write_all(b)?;
        }
        progress(next);
    }
    out.flush()?;
    Ok(())
}

/// Rows `range` as CSV lines.
fn render_rows(
    audience: &Audience,
    range: std::ops::Range<u64>,
    selected: &[(usize, DemoColumn)],
) -> Vec<u8> {
    let mut line = String::with_capacity(256 * (range.end - range.start) as usize);
    for i in range {
        let values = audience.values(i);
        match audience.key(i) {
            Key::Text(k) => push_text(&mut line, &k),
            Key::Int(k) => line.push_str(&k.to_string()),
        }
        for (pos, col) in selected {
            line.push(',');
            if let Some(Some(v)) = values.get(*pos) {
                push_value(&mut line, v, &col.ty);
            }
        }
        line.push('\n');
    }
    line.into_bytes()
}

/// One value in its PostgreSQL text form, CSV-quoted where needed.
fn push_value(out: &mut String, v: &Value, ty: &ColumnType) {
    match (v, ty) {
        (Value::Bool(b), _) => out.push(if *b { 't' } else { 'f' }),
        (Value::Text(s), _) => push_text(out, s),
        (Value::TextSet(items), _) => {
            // `{a,b}` always holds a comma or braces only: quote it. Demo
            // interests are plain identifiers, so no element quoting.
            out.push_str("\"{");
            out.push_str(&items.join(","));
            out.push_str("}\"");
        }
        (Value::Int(n), ColumnType::Numeric { scale, .. }) => {
            out.push_str(&format_numeric(*n, *scale));
        }
        (Value::Int(n), ColumnType::Double) => out.push_str(&format_f64(ordered_to_f64(*n))),
        (Value::Int(n), ColumnType::Real) => out.push_str(&format_f32(ordered_to_f32(*n))),
        (Value::Int(n), ColumnType::Date) => out.push_str(&format_date(*n)),
        (Value::Int(n), ColumnType::Timestamp) => out.push_str(&format_timestamp(*n)),
        (Value::Int(n), ColumnType::TimestampTz) => out.push_str(&format_timestamptz(*n, 0)),
        (Value::Int(n), _) => out.push_str(&n.to_string()),
    }
}

/// A text field, quoted if it holds a comma, quote, newline or is empty
/// (an unquoted empty field would read back as NULL).
fn push_text(out: &mut String, s: &str) {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(users: u64, names: &[&str], threads: usize) -> String {
        let a = Audience::new(42);
        let cols = select_columns(names).unwrap();
        let mut out = Vec::new();
        write_csv(&a, users, &cols, threads, &mut out, &mut |_| {}).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn header_and_row_count() {
        let text = csv(5, BENCH_COLUMNS, 2);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[0],
            "user_id,gender,age,city,province,device_os,interests,vip,churned,ltv,churn_prob,\
             register_date,last_active,f_001,f_010,f_020,f_050,f_100,f_150,f_200"
        );
        assert!(lines[1].starts_with("u0000001,"));
        assert!(lines[5].starts_with("u0000005,"));
    }

    #[test]
    fn same_file_whatever_the_thread_count() {
        let one = csv(70_000, &["city", "interests", "ltv", "last_active"], 1);
        let three = csv(70_000, &["city", "interests", "ltv", "last_active"], 3);
        assert_eq!(one, three);
        assert_eq!(one.lines().count(), 70_001);
    }

    #[test]
    fn values_match_the_generator() {
        let a = Audience::new(42);
        let all = columns();
        let text = csv(200, &["ltv", "vip", "churn_prob", "register_date"], 1);
        for (i, line) in text.lines().skip(1).enumerate() {
            let v = a.values(i as u64);
            let fields: Vec<&str> = line.split(',').collect();
            let ltv_pos = all.iter().position(|c| c.name == "ltv").unwrap();
            let Some(Value::Int(cents)) = &v[ltv_pos] else {
                panic!("ltv is never NULL")
            };
            assert_eq!(fields[1], format_numeric(*cents, 2));
            let vip_pos = all.iter().position(|c| c.name == "vip").unwrap();
            let expected = match &v[vip_pos] {
                Some(Value::Bool(true)) => "t",
                Some(Value::Bool(false)) => "f",
                _ => "",
            };
            assert_eq!(fields[2], expected);
            assert_eq!(fields[4].len(), 10, "ISO date in {line}");
        }
    }

    #[test]
    fn arrays_are_quoted_and_nulls_are_empty() {
        let text = csv(2_000, &["interests", "age"], 1);
        assert!(text.contains(",\"{"), "an array value is quoted");
        assert!(text.contains(",\"{}\","), "an empty array is written {{}}");
        assert!(text.lines().any(|l| l.ends_with(',')), "some age is NULL");
        assert!(
            text.lines().any(|l| l.split(',').nth(1) == Some("")),
            "some interests are NULL"
        );
    }

    #[test]
    fn unknown_columns_are_rejected() {
        let err = select_columns(&["city", "nope"]).unwrap_err();
        assert_eq!(err.to_string(), "no demo column named \"nope\"");
        assert_eq!(select_columns(&["all"]).unwrap().len(), columns().len());
        assert_eq!(select_columns(&["user_id", "vip"]).unwrap().len(), 1);
    }
}
