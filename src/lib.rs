//! audb — the audience database.
//!
//! An analytical database for audience (人群) analytics: every person is a dense
//! row id, every tag a set of compressed roaring bitmaps. This crate is the
//! library that the `audb` binary, the tests, the benchmarks and the fuzz targets
//! all share.
//!
//! Layers, bottom up (see `DESIGN.md`):
//! - [`index`]: tag kinds as pure operations on bitmaps (values, encodings,
//!   bit-sliced indexes). It knows nothing about files.
//! - [`storage`]: the data directory: write-ahead log, memtable, immutable
//!   mmapped segment files, manifest, key dictionaries, flush, compaction,
//!   recovery, and read [`storage::Snapshot`]s.

pub mod catalog;
pub mod config;
pub mod copy;
pub mod db;
pub mod demo;
pub mod exec;
pub mod index;
pub mod server;
pub mod sql;
pub mod storage;
