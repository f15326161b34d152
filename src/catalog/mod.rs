//! The catalog: tables (from storage), views and materialized views, and
//! comments, all persisted through the store's metadata entries.
//!
//! Metadata keys: `view/<name>` holds a postcard-encoded [`ViewDef`];
//! `comment/<table>/<column>` (empty column for the table) holds UTF-8 text.
//! A materialized view over an audience table is a hidden flag column
//! `__mv_<name>` of its base table (a stored bitmap, refreshed as one bitmap
//! operation); hidden columns start with `__` and never appear in `*` or in
//! catalogs.

pub mod roles;
pub mod system;

use crate::storage::{Snapshot, StorageError, Store};
use serde::{Deserialize, Serialize};

/// Prefix of hidden (system) column names.
pub const HIDDEN_PREFIX: &str = "__";

/// Whether a column name is hidden from users.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with(HIDDEN_PREFIX)
}

/// The hidden flag column holding materialized view `view`'s members.
pub fn mv_column(view: &str) -> String {
    format!("__mv_{view}")
}

/// A saved view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewDef {
    /// View name.
    pub name: String,
    /// The defining query, as SQL text.
    pub sql: String,
    /// Whether it is a materialized (static) view.
    pub materialized: bool,
    /// For a materialized view: its base audience table.
    pub base_table: Option<String>,
}

fn view_key(name: &str) -> String {
    format!("view/{name}")
}

fn comment_key(table: &str, column: Option<&str>) -> String {
    format!("comment/{table}/{}", column.unwrap_or(""))
}

/// Reads catalog entries from a snapshot.
pub struct Catalog<'a> {
    snapshot: &'a Snapshot,
}

impl<'a> Catalog<'a> {
    /// A catalog view of `snapshot`.
    pub fn new(snapshot: &'a Snapshot) -> Catalog<'a> {
        Catalog { snapshot }
    }

    /// The view named `name`.
    pub fn view(&self, name: &str) -> Option<ViewDef> {
        self.snapshot
            .meta(&view_key(name))
            .and_then(|b| postcard::from_bytes(b).ok())
    }

    /// All views, by name.
    pub fn views(&self) -> Vec<ViewDef> {
        self.snapshot
            .meta_with_prefix("view/")
            .filter_map(|(_, b)| postcard::from_bytes(b).ok())
            .collect()
    }

    /// The comment on a table (`column = None`) or column.
    pub fn comment(&self, table: &str, column: Option<&str>) -> Option<String> {
        self.snapshot
            .meta(&comment_key(table, column))
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// Stores or removes a view definition.
pub fn put_view(store: &Store, name: &str, def: Option<&ViewDef>) -> Result<(), StorageError> {
    let bytes = def.map(|d| postcard::to_stdvec(d).unwrap_or_default());
    store.set_meta(&view_key(name), bytes)
}

/// Stores or removes a comment.
pub fn put_comment(
    store: &Store,
    table: &str,
    column: Option<&str>,
    text: Option<&str>,
) -> Result<(), StorageError> {
    store.set_meta(
        &comment_key(table, column),
        text.map(|t| t.as_bytes().to_vec()),
    )
}

/// Removes every comment of a table (when it is dropped).
pub fn drop_comments(store: &Store, snapshot: &Snapshot, table: &str) -> Result<(), StorageError> {
    let prefix = format!("comment/{table}/");
    let keys: Vec<String> = snapshot
        .meta_with_prefix(&prefix)
        .map(|(k, _)| k.to_owned())
        .collect();
    for k in keys {
        store.set_meta(&k, None)?;
    }
    Ok(())
}
