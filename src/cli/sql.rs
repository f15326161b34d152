//! `audb sql "…"`: run statements against a data directory without a server
//! and print their results like psql (aligned) or as CSV.

use super::data_dir::{self, Create};
use super::{CliError, CliResult};
use audb::config::Settings;
use audb::db::{Db, Session, StatementResult};
use audb::sql::relation::Relation;
use audb::sql::scalar::{EvalContext, format_text};
use audb::sql::types::DataType;
use std::io::{Read, Write};

/// Runs `sql` (or standard input for `-`) and prints each result.
pub fn run(settings: &Settings, sql: &str, csv: bool) -> CliResult {
    let text = if sql == "-" {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .map_err(|e| CliError::Usage(format!("cannot read SQL from standard input: {e}")))?;
        buf
    } else {
        sql.to_owned()
    };
    let store = data_dir::open(settings, Create::Never, settings.store_options())?;
    let db = Db::with_store(store).with_exec(settings.exec_config());
    let mut session = Session::new("audb");
    let stmts = audb::sql::parse(&text).map_err(|e| sql_error(&e))?;
    // Results print as each statement completes; the first error stops.
    let mut printed = false;
    for stmt in &stmts {
        if let Some(copied) = super::copy::run(&db, &session, stmt, sql != "-") {
            match copied.map_err(CliError::Failed)? {
                super::copy::Copied::Out => printed = false,
                super::copy::Copied::In(rows) => {
                    if !print(&format!("COPY {rows}\n"), printed && !csv) {
                        break;
                    }
                    printed = true;
                }
            }
            continue;
        }
        let result = db
            .run(&mut session, stmt, &[], &[])
            .map_err(|e| sql_error(&e))?;
        let ctx = audb::catalog::system::output_context(&db.store().snapshot(), &session);
        let text = match &result {
            StatementResult::Command(tag) => format!("{tag}\n"),
            StatementResult::Rows(rel) if csv => to_csv(rel, &ctx),
            StatementResult::Rows(rel) => to_table(rel, &ctx),
        };
        if !print(&text, printed && !csv) {
            break;
        }
        printed = true;
    }
    Ok(())
}

/// Writes `text` to standard output, after a blank line if `separate`;
/// `false` once the output is closed (`| head`), which is not an error
/// worth reporting.
fn print(text: &str, separate: bool) -> bool {
    let mut out = std::io::stdout().lock();
    if separate && writeln!(out).is_err() {
        return false;
    }
    out.write_all(text.as_bytes()).is_ok() && out.flush().is_ok()
}

/// psql's rendering of an error on one line: `ERROR:  message (DETAIL: …)`.
fn sql_error(e: &audb::sql::error::SqlError) -> CliError {
    let mut msg = format!("ERROR:  {}", e.message);
    if let Some(d) = &e.detail {
        msg.push_str(&format!(" (DETAIL: {d})"));
    }
    CliError::Failed(msg)
}

fn cells(rel: &Relation, ctx: &EvalContext) -> Vec<Vec<Option<String>>> {
    rel.rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&rel.columns)
                .map(|(d, c)| format_text(d, c.ty, ctx))
                .collect()
        })
        .collect()
}

/// psql's aligned format: centered headers, numbers right-aligned, text
/// left-aligned, NULL as nothing, and a `(n rows)` footer.
pub fn to_table(rel: &Relation, ctx: &EvalContext) -> String {
    let rows = cells(rel, ctx);
    let mut widths: Vec<usize> = rel.columns.iter().map(|c| width(&c.name)).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.as_deref().map_or(0, width));
        }
    }
    let mut out = String::new();
    let header: Vec<String> = rel
        .columns
        .iter()
        .zip(&widths)
        .map(|(c, w)| {
            let pad = w - width(&c.name);
            format!(
                "{}{}{}",
                " ".repeat(pad / 2),
                c.name,
                " ".repeat(pad - pad / 2)
            )
        })
        .collect();
    push_line(&mut out, &header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w + 2)).collect();
    out.push_str(&rule.join("+"));
    out.push('\n');
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(&rel.columns)
            .map(|((cell, w), c)| {
                let v = cell.as_deref().unwrap_or("");
                let pad = " ".repeat(w - width(v));
                if right_aligned(c.ty) {
                    format!("{pad}{v}")
                } else {
                    format!("{v}{pad}")
                }
            })
            .collect();
        push_line(&mut out, &line);
    }
    let n = rows.len();
    out.push_str(&format!("({n} row{})\n", if n == 1 { "" } else { "s" }));
    out
}

fn push_line(out: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| format!(" {c} ")).collect();
    out.push_str(line.join("|").trim_end());
    out.push('\n');
}

fn right_aligned(ty: DataType) -> bool {
    ty.is_numeric()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// RFC 4180 CSV: a header line, then one line per row; NULL is an empty
/// field, an empty string is `""`.
pub fn to_csv(rel: &Relation, ctx: &EvalContext) -> String {
    let mut out = String::new();
    let header: Vec<String> = rel.columns.iter().map(|c| csv_field(&c.name)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in cells(rel, ctx) {
        let fields: Vec<String> = row
            .iter()
            .map(|c| c.as_deref().map_or_else(String::new, csv_field))
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audb::sql::relation::Column;
    use audb::sql::types::Datum;

    fn rel() -> Relation {
        Relation {
            columns: vec![
                Column {
                    name: "city".into(),
                    ty: DataType::Text,
                },
                Column {
                    name: "count".into(),
                    ty: DataType::Int8,
                },
            ],
            rows: vec![
                vec![Datum::Text("Shanghai".into()), Datum::Int(1234)],
                vec![Datum::Null, Datum::Int(7)],
            ],
        }
    }

    #[test]
    fn table_looks_like_psql() {
        let t = to_table(&rel(), &EvalContext::default());
        assert_eq!(
            t,
            "   city   | count\n----------+-------\n Shanghai |  1234\n          |     7\n(2 rows)\n"
        );
    }

    #[test]
    fn csv_quotes_only_when_needed_and_null_is_empty() {
        let t = to_csv(&rel(), &EvalContext::default());
        assert_eq!(t, "city,count\nShanghai,1234\n,7\n");
        assert_eq!(csv_field(""), "\"\"");
        assert_eq!(csv_field("a,\"b"), "\"a,\"\"b\"");
    }
}
