//! `COPY` in `audb sql`: `COPY … TO STDOUT` writes the rows to standard
//! output and `COPY … FROM STDIN` reads them from standard input, through
//! the same [`audb::copy`] module the server uses (formats, options,
//! checks, one atomic bulk load), as psql does for these statements.
//! Data written inline after `COPY … FROM STDIN;` in the SQL text (psql
//! scripts, `pg_dump` output) is loaded too. Server-side files and
//! programs are refused (42501) as by the server.

use audb::copy::export::{ExportChunk, export};
use audb::copy::ingest::CopyIn;
use audb::copy::{CopyError, Direction, direction};
use audb::db::{Db, Session};
use sqlparser::ast::Statement;
use std::io::{IsTerminal, Read, Write};

/// Bytes read from standard input per chunk.
const STDIN_CHUNK: usize = 64 * 1024;

/// What a COPY did, or why it failed (one line, psql's wording).
pub enum Copied {
    /// `COPY … TO STDOUT` wrote its rows (psql prints no tag for it).
    Out,
    /// `COPY … FROM STDIN` loaded this many rows: print `COPY n`.
    In(u64),
}

/// Runs `stmt` if it is a COPY (`None` otherwise). `stdin_free` says
/// whether standard input still holds data (not the SQL text itself).
pub fn run(
    db: &Db,
    session: &Session,
    stmt: &Statement,
    stdin_free: bool,
) -> Option<Result<Copied, String>> {
    let result = match direction(stmt)? {
        Err(e) => Err(message(&e)),
        Ok(Direction::Out) => copy_out(db, session, stmt).map(|()| Copied::Out),
        Ok(Direction::In) if inline(stmt).is_some() => copy_in(db, session, stmt).map(Copied::In),
        Ok(Direction::In) if !stdin_free => Err(
            "ERROR:  COPY FROM STDIN reads its rows from standard input, which already held the \
             SQL text: give the SQL as an argument instead of \"-\""
                .to_owned(),
        ),
        Ok(Direction::In) => copy_in(db, session, stmt).map(Copied::In),
    };
    Some(result)
}

/// psql's rendering of an error: `ERROR:  message`, then the DETAIL and
/// CONTEXT in parentheses, on one line.
fn message(e: &CopyError) -> String {
    let mut msg = format!("ERROR:  {}", e.message);
    if let Some(d) = &e.detail {
        msg.push_str(&format!(" (DETAIL: {d})"));
    }
    if let Some(c) = &e.context {
        msg.push_str(&format!(" (CONTEXT: {c})"));
    }
    msg
}

fn copy_out(db: &Db, session: &Session, stmt: &Statement) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let mut closed = false;
    let result = export(db, session, stmt, &mut |chunk| match chunk {
        ExportChunk::Start { .. } => true,
        ExportChunk::Lines { data, .. } => {
            closed = out.write_all(&data).is_err();
            !closed
        }
    });
    let _ = out.flush();
    match result {
        // A closed pipe (`| head`) ends the export quietly.
        Err(_) if closed => Ok(()),
        Err(e) => Err(message(&e)),
        Ok(_) => Ok(()),
    }
}

/// The data written after `COPY … FROM STDIN;` in the SQL text itself, up
/// to a `\.` line, as in psql scripts and `pg_dump` output.
fn inline(stmt: &Statement) -> Option<&str> {
    match stmt {
        Statement::Copy {
            payload: Some(p), ..
        } => Some(&p.data),
        _ => None,
    }
}

fn copy_in(db: &Db, session: &Session, stmt: &Statement) -> Result<u64, String> {
    let mut copy = CopyIn::start(&db.store().snapshot(), stmt, session.time_zone())
        .map_err(|e| message(&e))?;
    if let Some(data) = inline(stmt) {
        copy.feed(data.as_bytes()).map_err(|e| message(&e))?;
        if !data.is_empty() && !data.ends_with('\n') {
            copy.feed(b"\n").map_err(|e| message(&e))?;
        }
        return copy.finish(db.store()).map_err(|e| message(&e));
    }
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!(
            "Enter data to be copied followed by a newline.\n\
             End with a backslash and a period on a line by itself, or an EOF signal."
        );
        // Line by line, so that `\.` ends the data without waiting for EOF.
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::BufRead::read_line(&mut stdin, &mut line) {
                Ok(0) => break,
                Ok(_) => copy.feed(line.as_bytes()).map_err(|e| message(&e))?,
                Err(e) => return Err(format!("cannot read COPY data from standard input: {e}")),
            }
            if line.trim_end_matches(['\r', '\n']) == "\\." {
                break;
            }
        }
        return copy.finish(db.store()).map_err(|e| message(&e));
    }
    let mut buf = vec![0u8; STDIN_CHUNK];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot read COPY data from standard input: {e}")),
        };
        copy.feed(&buf[..n]).map_err(|e| message(&e))?;
    }
    copy.finish(db.store()).map_err(|e| message(&e))
}
