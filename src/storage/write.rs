//! Writes: what callers submit, and how a batch is validated and resolved
//! into a WAL record before it is logged.

use super::delta::{ColumnBody, ColumnId, TableId};
use super::error::{Result, StorageError};
use super::format::SHARD_BITS;
use super::limits;
use super::record::{LoggedOp, WalRecord};
use super::snapshot::TableSnapshot;
use super::version::Version;
use crate::index::{Key, RowId, TagKind, Value};
use roaring::RoaringBitmap;
use std::collections::HashMap;

/// What an upsert does when the key exists or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpsertMode {
    /// Insert a new row or update the existing one (audb's `INSERT`).
    #[default]
    Upsert,
    /// Insert; an existing key fails the whole batch with `DuplicateKey`.
    Insert,
    /// Insert; an existing key is skipped (`ON CONFLICT DO NOTHING`).
    InsertOrIgnore,
    /// Update; a missing key is skipped.
    Update,
}

/// One write operation on a table.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Writes the given columns of the row with `key`; other columns keep
    /// their values (new rows: NULL). `None` sets a column to NULL.
    Upsert {
        /// The row's key.
        key: Key,
        /// Column values to write.
        values: Vec<(ColumnId, Option<Value>)>,
        /// Behaviour on existing or missing keys.
        mode: UpsertMode,
    },
    /// Deletes the row with `key`, if any.
    Delete {
        /// The row's key.
        key: Key,
    },
    /// Deletes these rows (those not live are ignored).
    DeleteRows {
        /// Rows to delete.
        rows: RoaringBitmap,
    },
    /// Sets one column of many rows at once, as bitmap operations
    /// (`UPDATE t SET col = literal WHERE …`). Rows not live are ignored.
    SetRows {
        /// Rows to change.
        rows: RoaringBitmap,
        /// The column.
        column: ColumnId,
        /// The value; `None` is NULL.
        value: Option<Value>,
    },
}

/// A group of writes on one table, applied atomically: all or none.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteBatch {
    /// The table written.
    pub table: TableId,
    /// Operations, applied in order.
    pub ops: Vec<WriteOp>,
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Rows inserted.
    pub inserted: u64,
    /// Rows updated (including `SetRows` rows).
    pub updated: u64,
    /// Rows deleted.
    pub deleted: u64,
    /// Upserts skipped by their mode.
    pub ignored: u64,
}

/// Writes resolved earlier in the same commit group, per table.
#[derive(Debug, Default)]
pub(crate) struct GroupPending {
    tables: HashMap<TableId, TablePending>,
}

#[derive(Debug)]
struct TablePending {
    next_row: u64,
    new_keys: HashMap<Key, RowId>,
    deleted: RoaringBitmap,
}

/// Validates `batch` against `version` plus the group's earlier batches and
/// resolves it into a record with sequence number `seq`. On error nothing of
/// the batch remains in `pending`.
pub(crate) fn prepare(
    version: &Version,
    pending: &mut GroupPending,
    batch: &WriteBatch,
    seq: u64,
) -> Result<(WalRecord, WriteSummary)> {
    let state = version
        .tables
        .get(&batch.table)
        .ok_or_else(|| StorageError::NoSuchTable(batch.table.to_string()))?;
    let snap = TableSnapshot::new(state.clone());
    let tp = pending
        .tables
        .entry(batch.table)
        .or_insert_with(|| TablePending {
            next_row: state.next_row_id,
            new_keys: HashMap::new(),
            deleted: RoaringBitmap::new(),
        });
    let saved_next = tp.next_row;
    let saved_deleted = tp.deleted.clone();
    let mut added = Vec::new();
    let result = prepare_ops(&snap, tp, &mut added, batch, seq);
    if result.is_err() {
        tp.next_row = saved_next;
        tp.deleted = saved_deleted;
        for key in added {
            tp.new_keys.remove(&key);
        }
    }
    result
}

fn prepare_ops(
    snap: &TableSnapshot,
    tp: &mut TablePending,
    added: &mut Vec<Key>,
    batch: &WriteBatch,
    seq: u64,
) -> Result<(WalRecord, WriteSummary)> {
    let mut ops = Vec::with_capacity(batch.ops.len());
    let mut summary = WriteSummary::default();
    for op in &batch.ops {
        match op {
            WriteOp::Upsert { key, values, mode } => {
                check_key(snap, key)?;
                for (col, value) in values {
                    check_value(snap, *col, value.as_ref())?;
                }
                match (resolve(snap, tp, key)?, mode) {
                    (Some(_), UpsertMode::Insert) => {
                        return Err(StorageError::DuplicateKey {
                            table: snap.schema().name.clone(),
                            key: key.to_string(),
                        });
                    }
                    (Some(_), UpsertMode::InsertOrIgnore) | (None, UpsertMode::Update) => {
                        summary.ignored += 1;
                    }
                    (Some(row), UpsertMode::Upsert | UpsertMode::Update) => {
                        summary.updated += 1;
                        for (column, value) in values {
                            ops.push(LoggedOp::Set {
                                row,
                                column: *column,
                                value: value.clone(),
                            });
                        }
                    }
                    (None, _) => {
                        let row = RowId::try_from(tp.next_row)
                            .ok()
                            .filter(|r| *r < RowId::MAX)
                            .ok_or_else(|| {
                                StorageError::RowIdsExhausted(snap.schema().name.clone())
                            })?;
                        tp.next_row += 1;
                        tp.new_keys.insert(key.clone(), row);
                        added.push(key.clone());
                        summary.inserted += 1;
                        ops.push(LoggedOp::NewRow {
                            row,
                            key: key.clone(),
                        });
                        // A new row's columns are already NULL; a NULL is only
                        // logged when it overrides an earlier value in this op.
                        for (i, (column, value)) in values.iter().enumerate() {
                            if value.is_some() || values[..i].iter().any(|(c, _)| c == column) {
                                ops.push(LoggedOp::Set {
                                    row,
                                    column: *column,
                                    value: value.clone(),
                                });
                            }
                        }
                    }
                }
            }
            WriteOp::Delete { key } => {
                check_key(snap, key)?;
                if let Some(row) = resolve(snap, tp, key)? {
                    tp.deleted.insert(row);
                    summary.deleted += 1;
                    ops.push(LoggedOp::DeleteRows {
                        rows: RoaringBitmap::from_iter([row]),
                    });
                }
            }
            WriteOp::DeleteRows { rows } => {
                let rows = live_subset(snap, tp, rows)?;
                if !rows.is_empty() {
                    summary.deleted += rows.len();
                    tp.deleted |= &rows;
                    ops.push(LoggedOp::DeleteRows { rows });
                }
            }
            WriteOp::SetRows {
                rows,
                column,
                value,
            } => {
                check_value(snap, *column, value.as_ref())?;
                let rows = live_subset(snap, tp, rows)?;
                if !rows.is_empty() {
                    summary.updated += rows.len();
                    ops.push(LoggedOp::SetRows {
                        rows,
                        column: *column,
                        value: value.clone(),
                    });
                }
            }
        }
    }
    Ok((
        WalRecord {
            seq,
            table: batch.table,
            ops,
        },
        summary,
    ))
}

/// The live row holding `key`, counting this group's earlier writes.
fn resolve(snap: &TableSnapshot, tp: &TablePending, key: &Key) -> Result<Option<RowId>> {
    let row = match tp.new_keys.get(key) {
        Some(r) => Some(*r),
        None => snap.row_of(key)?,
    };
    Ok(row.filter(|r| !tp.deleted.contains(*r)))
}

/// `rows` restricted to rows that are live, counting this group's writes.
fn live_subset(
    snap: &TableSnapshot,
    tp: &TablePending,
    rows: &RoaringBitmap,
) -> Result<RoaringBitmap> {
    let mut out = rows.clone();
    let end = u32::try_from(tp.next_row).unwrap_or(u32::MAX);
    out.remove_range(end..);
    out -= &tp.deleted;
    let mut shards: Vec<u32> = out.iter().map(|r| r >> SHARD_BITS).collect();
    shards.dedup();
    for shard in shards {
        if u64::from(shard) << SHARD_BITS < snap.row_id_end() {
            out -= snap.deleted(shard)?.as_ref();
        }
    }
    Ok(out)
}

pub(crate) fn check_key(snap: &TableSnapshot, key: &Key) -> Result<()> {
    let schema = snap.schema();
    if key.key_type() != schema.key_type {
        return Err(StorageError::KeyTypeMismatch {
            table: schema.name.clone(),
            key: key.to_string(),
            expected: schema.key_type,
        });
    }
    if key.stored_len() > limits::KEY_BYTES_MAX {
        return Err(StorageError::KeyTooLong {
            len: key.stored_len(),
            max: limits::KEY_BYTES_MAX,
        });
    }
    Ok(())
}

/// Checks a value against its column: existence, type, range and limits.
pub(crate) fn check_value(
    snap: &TableSnapshot,
    col: ColumnId,
    value: Option<&Value>,
) -> Result<()> {
    let schema = snap.schema();
    let column = schema
        .column_by_id(col)
        .ok_or_else(|| StorageError::NoSuchColumn {
            table: schema.name.clone(),
            column: col.to_string(),
        })?;
    let Some(value) = value else {
        return Ok(());
    };
    check_cell(column, value)?;
    let items: &[String] = match value {
        Value::Text(s) => std::slice::from_ref(s),
        Value::TextSet(set) => set,
        _ => return Ok(()),
    };
    if matches!(
        column.ty.kind(),
        TagKind::Categorical | TagKind::MultiValued
    ) && snap.distinct_upper_bound(col) + items.len() > limits::DISTINCT_VALUES_MAX
    {
        let known = snap.values(col)?;
        let new = items
            .iter()
            .filter(|i| {
                known
                    .binary_search_by(|k| k.as_ref().cmp(i.as_str()))
                    .is_err()
            })
            .count();
        if new > 0 && known.len() + new > limits::DISTINCT_VALUES_MAX {
            return Err(StorageError::TooManyValues {
                column: column.name.clone(),
                max: limits::DISTINCT_VALUES_MAX,
            });
        }
    }
    Ok(())
}

/// Checks one value against its column's type and size limits (not the
/// distinct-value limit, which needs the table).
pub(crate) fn check_cell(column: &super::schema::ColumnSchema, value: &Value) -> Result<()> {
    if !column.ty.admits(value) {
        return Err(StorageError::InvalidValue {
            column: column.name.clone(),
            expected: column.ty.to_string(),
            detail: format!("{value:?} is out of range or of the wrong kind"),
        });
    }
    let items: &[String] = match value {
        Value::Text(s) => std::slice::from_ref(s),
        Value::TextSet(set) => set,
        _ => return Ok(()),
    };
    if items.len() > limits::SET_VALUES_MAX {
        return Err(StorageError::LimitExceeded(format!(
            "{} values in one cell of {} (limit {})",
            items.len(),
            column.name,
            limits::SET_VALUES_MAX
        )));
    }
    for item in items {
        if item.len() > limits::VALUE_BYTES_MAX {
            return Err(StorageError::ValueTooLong {
                column: column.name.clone(),
                len: item.len(),
                max: limits::VALUE_BYTES_MAX,
            });
        }
    }
    Ok(())
}

/// Distinct values of a memtable column body (for limit checks).
pub(crate) fn body_value_count(body: &ColumnBody) -> usize {
    match body {
        ColumnBody::Values { values, .. } => values.len(),
        _ => 0,
    }
}
