//! Tag kinds as operations on bitmaps.
//!
//! This layer is pure: it defines what a tag value is ([`Value`]), how each SQL
//! type maps onto one of the four physical tag kinds ([`ColumnType`],
//! [`TagKind`]), how typed values are encoded into the integers a bit-sliced
//! index stores ([`encode`]), and the bit-sliced index algorithms
//! ([`bsi`]). Storage builds its memtables and segments from these pieces; the
//! executor runs the same algorithms over a snapshot's bitmaps.

pub mod bsi;
pub mod encode;
mod value;

pub use value::{ColumnType, Key, KeyType, TagKind, Value};

/// A dense row id: the position of one person in a table's bitmaps.
pub type RowId = u32;
