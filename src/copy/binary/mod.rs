//! PostgreSQL's binary formats: the one per-type codec (`*send` in
//! [`send`], `*recv` in [`recv`]) that binary results, binary bind
//! parameters and binary COPY all use, and the binary COPY file format
//! ([`file`]).
// The binary formats are big-endian by definition; the crate-wide lint is
// for on-disk formats, which never come here.
#![allow(clippy::big_endian_bytes)]

pub mod file;
pub mod recv;
pub mod send;

pub use recv::recv;
pub use send::{send, send_numeric};

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_DAYS: i64 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400 * 1_000_000;
