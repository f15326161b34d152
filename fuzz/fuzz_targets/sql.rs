//! `sql`: arbitrary text through parse → bind → plan → execute on a small
//! database (every column type, rows in a segment and in memtables, deleted
//! rows, a view and a materialized view).
//!
//! Each statement runs with a fresh session and `statement_timeout = 1s`;
//! the only acceptable outcomes are a result or a `SqlError` with a SQLSTATE
//! other than XX000 (internal error, "a bug"). A statement that changes the
//! data resets the database afterwards, so every input sees the same state.
#![no_main]

use audb::db::{Db, Session};
use libfuzzer_sys::fuzz_target;
use std::sync::Mutex;

/// Statements per input, so one input cannot chain unbounded work.
const STATEMENTS_MAX: usize = 16;

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    version: u64,
}

fn fixture() -> Fixture {
    let (dir, db) = audb_fuzz::sql_fixture();
    let version = db.store().snapshot().version();
    Fixture {
        _dir: dir,
        db,
        version,
    }
}

static DB: Mutex<Option<Fixture>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let mut guard = DB.lock().unwrap_or_else(|e| e.into_inner());
    let fx = guard.get_or_insert_with(fixture);
    let stmts = match audb::sql::parse(sql) {
        Ok(stmts) => stmts,
        Err(e) => {
            assert_ne!(e.state.code(), "XX000", "internal error parsing: {e:?}");
            return;
        }
    };
    let mut session = Session::new("fuzz");
    for stmt in stmts.iter().take(STATEMENTS_MAX) {
        session
            .settings
            .insert("statement_timeout".into(), "1000".into());
        match fx.db.run(&mut session, stmt, &[], &[]) {
            Ok(_) => {}
            Err(e) => {
                let code = e.state.code();
                assert!(
                    code.len() == 5 && code != "XX000",
                    "internal error for {stmt}: {e:?}"
                );
            }
        }
    }
    if fx.db.store().snapshot().version() != fx.version {
        *fx = fixture();
    }
});
