//! Table and column definitions as the storage layer persists them.

use super::delta::{ColumnId, TableId};
use crate::index::{ColumnType, KeyType, TagKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One tag column of a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Stable id; never reused within the table, even after a drop.
    pub id: ColumnId,
    /// Column name as the user spelled it (case already folded by the caller).
    pub name: String,
    /// SQL type.
    pub ty: ColumnType,
}

/// A table: a key column plus tag columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Stable id; never reused within the data directory.
    pub id: TableId,
    /// Table name.
    pub name: String,
    /// Name of the key (`PRIMARY KEY`) column.
    pub key_name: String,
    /// Type of the key column.
    pub key_type: KeyType,
    /// Live tag columns, in declaration order.
    pub columns: Vec<ColumnSchema>,
    /// The id the next added column gets.
    pub next_column_id: ColumnId,
}

impl TableSchema {
    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column with this id.
    pub fn column_by_id(&self, id: ColumnId) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.id == id)
    }

    /// Tag kind of every live column, by id (what segment writers need).
    pub fn kinds(&self) -> BTreeMap<ColumnId, TagKind> {
        self.columns.iter().map(|c| (c.id, c.ty.kind())).collect()
    }
}
