//! The bad-input battery (issue #7): input nobody planned for, through real
//! clients (tokio-postgres and raw sockets) against an in-process server.
//! Every case asserts its exact SQLSTATE, that the data is unchanged, and
//! that the server still answers on the same connection (where it should
//! survive) and on a new one.
//!
//! SQL cases are tables of `(sql, SQLSTATE)`; each declares how PostgreSQL
//! 15 answers it (the same, deliberately differently, or no equivalent).
//! Re-check them against a real PostgreSQL 15 with
//! `AUDB_BAD_INPUT_PG="host=127.0.0.1 port=54331 user=postgres" cargo nextest run --test bad_input`.
// The wire protocol is big-endian; the crate-wide lint is for disk formats.
#![allow(clippy::big_endian_bytes)]

mod support;

/// The modules live in `tests/bad_input/`.
mod bad_input {
    mod bind_values;
    mod common;
    mod connections;
    mod copy;
    mod extended;
    mod limits;
    mod names;
    mod protocol;
    mod syntax;
    mod values;
}
