//! WAL record payloads: resolved writes, replayed identically on recovery.
//!
//! A record is the outcome of preparing one [`super::WriteBatch`]: keys are
//! already resolved to row ids and new keys carry the row id they were given,
//! so replay is deterministic and needs no dictionary lookups. Payloads are
//! encoded with postcard (see `storage-format.md`).

use super::delta::{ColumnId, TableId};
use super::error::{Result, StorageError};
use crate::index::{Key, RowId, Value};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

/// One logged write operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LoggedOp {
    /// A new key was given the next row id of the table (`row` must equal it).
    NewRow {
        /// The row id assigned.
        row: RowId,
        /// The key.
        key: Key,
    },
    /// Sets (or, with `None`, clears) one row's column.
    Set {
        /// Row.
        row: RowId,
        /// Column.
        column: ColumnId,
        /// New value; `None` is NULL.
        value: Option<Value>,
    },
    /// Sets (or clears) one column for a set of rows: the bitmap form of
    /// `UPDATE … SET col = literal WHERE …`.
    SetRows {
        /// Rows to change.
        rows: RoaringBitmap,
        /// Column.
        column: ColumnId,
        /// New value; `None` is NULL.
        value: Option<Value>,
    },
    /// Deletes rows (final: their row ids are never reused).
    DeleteRows {
        /// Rows to delete.
        rows: RoaringBitmap,
    },
}

/// One WAL record: the resolved writes of one batch, on one table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WalRecord {
    /// Sequence number, strictly increasing across the database's life.
    pub seq: u64,
    /// Table written.
    pub table: TableId,
    /// Operations, applied in order.
    pub ops: Vec<LoggedOp>,
}

impl WalRecord {
    /// Encodes the record as a WAL payload.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data into a Vec cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Decodes a payload read from WAL file `file` at `offset`.
    pub fn decode(bytes: &[u8], file: &str, offset: u64) -> Result<WalRecord> {
        postcard::from_bytes(bytes).map_err(|e| {
            StorageError::corruption(file, offset, format!("undecodable WAL record: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_postcard() {
        let rec = WalRecord {
            seq: 7,
            table: 1,
            ops: vec![
                LoggedOp::NewRow {
                    row: 0,
                    key: Key::Text("u1".into()),
                },
                LoggedOp::Set {
                    row: 0,
                    column: 3,
                    value: Some(Value::Int(-5)),
                },
                LoggedOp::SetRows {
                    rows: RoaringBitmap::from_iter([1, 5, 1 << 20]),
                    column: 2,
                    value: None,
                },
                LoggedOp::DeleteRows {
                    rows: RoaringBitmap::from_iter([9]),
                },
            ],
        };
        let bytes = rec.encode();
        assert_eq!(WalRecord::decode(&bytes, "w", 0).expect("decode"), rec);
    }

    #[test]
    fn garbage_payload_is_corruption() {
        let err = WalRecord::decode(&[0xff, 0xff, 0xff], "wal-1", 40).expect_err("garbage");
        assert!(matches!(err, StorageError::Corruption { offset: 40, .. }));
    }
}
