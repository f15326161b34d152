//! The mutable, in-memory newest level of a table.
//!
//! A memtable is published inside immutable versions, so it is shared with
//! readers. Writers change it copy-on-write: every bitmap sits behind an `Arc`
//! and `Arc::make_mut` clones only the bitmaps a write touches while a reader
//! still holds them. New keys live in a [`KeyIndex`] that is append-only and
//! shared between versions: a reader ignores row ids at or beyond its
//! snapshot's row count, so it never sees a key that was added later.

use super::delta::{ColumnBody, ColumnDelta, ColumnId, KeyBlock, TableDelta};
use super::record::LoggedOp;
use crate::index::{Key, RowId, TagKind, Value};
use parking_lot::RwLock;
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::sync::Arc;

/// The keys a memtable introduced, shared append-only across versions.
#[derive(Debug)]
pub struct KeyIndex {
    first_row: RowId,
    inner: RwLock<KeyIndexInner>,
}

#[derive(Debug, Default)]
struct KeyIndexInner {
    rows: HashMap<Key, RowId>,
    keys: Vec<Key>,
}

impl KeyIndex {
    /// An empty index whose first key gets row id `first_row`.
    pub fn new(first_row: RowId) -> KeyIndex {
        KeyIndex {
            first_row,
            inner: RwLock::new(KeyIndexInner::default()),
        }
    }

    /// Row id of `key`, if this index assigned one.
    pub fn row_of(&self, key: &Key) -> Option<RowId> {
        self.inner.read().rows.get(key).copied()
    }

    /// Key of `row`, if this index assigned it.
    pub fn key_of(&self, row: RowId) -> Option<Key> {
        let idx = row.checked_sub(self.first_row)? as usize;
        self.inner.read().keys.get(idx).cloned()
    }

    /// Appends `key` as row `row`, which must be the next row of the index.
    pub fn push(&self, key: Key, row: RowId) -> bool {
        let mut inner = self.inner.write();
        if u64::from(row) != u64::from(self.first_row) + inner.keys.len() as u64 {
            return false;
        }
        inner.rows.insert(key.clone(), row);
        inner.keys.push(key);
        true
    }

    /// The keys as a block (for flushing).
    pub fn block(&self) -> KeyBlock {
        KeyBlock {
            first_row: self.first_row,
            keys: self.inner.read().keys.clone(),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.inner.read().keys.len()
    }

    /// Whether no key was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The newest level of one table.
#[derive(Clone, Debug)]
pub struct MemTable {
    /// Column changes and deletions (its `keys` block stays empty; see `keys`).
    pub delta: TableDelta,
    /// New keys.
    pub keys: Arc<KeyIndex>,
    /// Operations applied, a proxy for size that decides when to flush.
    pub ops: u64,
}

impl MemTable {
    /// An empty memtable whose new keys start at `first_row`.
    pub fn new(first_row: RowId) -> MemTable {
        MemTable {
            delta: TableDelta::default(),
            keys: Arc::new(KeyIndex::new(first_row)),
            ops: 0,
        }
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.ops == 0 && self.keys.is_empty()
    }

    /// The delta to flush, with the key block filled in.
    pub fn to_delta(&self) -> TableDelta {
        let mut delta = self.delta.clone();
        delta.keys = self.keys.block();
        delta
    }

    /// Applies one logged operation. `kind_of` gives the tag kind of a live
    /// column; operations on unknown (dropped) columns are ignored.
    /// Returns `false` if the op is inconsistent (a `NewRow` out of order).
    pub fn apply(&mut self, op: &LoggedOp, kind_of: impl Fn(ColumnId) -> Option<TagKind>) -> bool {
        self.ops += 1;
        match op {
            LoggedOp::NewRow { row, key } => self.keys.push(key.clone(), *row),
            LoggedOp::Set { row, column, value } => {
                if let Some(kind) = kind_of(*column) {
                    let col = self.column_mut(*column, kind);
                    assign_one(col, *row, value.as_ref());
                }
                true
            }
            LoggedOp::SetRows {
                rows,
                column,
                value,
            } => {
                if let Some(kind) = kind_of(*column) {
                    let col = self.column_mut(*column, kind);
                    assign(col, rows, value.as_ref());
                }
                true
            }
            LoggedOp::DeleteRows { rows } => {
                *Arc::make_mut(&mut self.delta.deleted) |= rows;
                true
            }
        }
    }

    fn column_mut(&mut self, column: ColumnId, kind: TagKind) -> &mut ColumnDelta {
        self.delta
            .columns
            .entry(column)
            .or_insert_with(|| ColumnDelta {
                touched: Arc::default(),
                not_null: Arc::default(),
                body: ColumnBody::empty(kind),
            })
    }
}

/// Removes `rows` from `bm`, cloning it only if it actually changes.
fn remove_rows(bm: &mut Arc<RoaringBitmap>, rows: &RoaringBitmap) {
    if !bm.is_disjoint(rows) {
        *Arc::make_mut(bm) -= rows;
    }
}

/// Adds `rows` to `bm`, cloning it only if it actually changes.
fn add_rows(bm: &mut Arc<RoaringBitmap>, rows: &RoaringBitmap) {
    if !rows.is_subset(bm) {
        *Arc::make_mut(bm) |= rows;
    }
}

/// Sets or clears one bit, cloning the bitmap only if it actually changes.
fn set_bit(bm: &mut Arc<RoaringBitmap>, row: RowId, on: bool) {
    if bm.contains(row) != on {
        let b = Arc::make_mut(bm);
        if on {
            b.insert(row);
        } else {
            b.remove(row);
        }
    }
}

/// Sets one row of a column: the single-row path of [`assign`], with point
/// operations instead of bitmap ones.
fn assign_one(col: &mut ColumnDelta, row: RowId, value: Option<&Value>) {
    let was_touched = col.touched.contains(row);
    set_bit(&mut col.touched, row, true);
    let non_null = match (&mut col.body, value) {
        (ColumnBody::Flag { trues }, v) => {
            let b = matches!(v, Some(Value::Bool(true)));
            set_bit(trues, row, b);
            matches!(v, Some(Value::Bool(_)))
        }
        (ColumnBody::Values { values, .. }, v) => {
            if was_touched {
                for bm in values.values_mut() {
                    set_bit(bm, row, false);
                }
                values.retain(|_, bm| !bm.is_empty());
            }
            let items: &[String] = match v {
                Some(Value::Text(s)) => std::slice::from_ref(s),
                Some(Value::TextSet(set)) => set,
                _ => &[],
            };
            for item in items {
                match values.get_mut(item.as_str()) {
                    Some(bm) => set_bit(bm, row, true),
                    None => {
                        values.insert(
                            Arc::from(item.as_str()),
                            Arc::new(RoaringBitmap::from_iter([row])),
                        );
                    }
                }
            }
            matches!(v, Some(Value::Text(_) | Value::TextSet(_)))
        }
        (ColumnBody::Numeric { sign, planes }, v) => {
            let v = match v {
                Some(Value::Int(v)) => Some(*v),
                _ => None,
            };
            let magnitude = v.map_or(0, i64::unsigned_abs);
            set_bit(sign, row, v.is_some_and(|v| v < 0));
            let needed = (64 - magnitude.leading_zeros()) as usize;
            if planes.len() < needed {
                planes.resize_with(needed, Arc::default);
            }
            for (bit, plane) in planes.iter_mut().enumerate() {
                let on = magnitude >> bit & 1 == 1;
                // A row new to this level holds no bits yet: only set ones.
                if on || was_touched {
                    set_bit(plane, row, on);
                }
            }
            v.is_some()
        }
    };
    set_bit(&mut col.not_null, row, non_null);
}

/// Sets `rows` of a column to `value` (NULL for `None`), as bitmap operations.
/// A value of the wrong shape for the column's kind is treated as NULL; the
/// store validates values before they are logged, so that never happens.
fn assign(col: &mut ColumnDelta, rows: &RoaringBitmap, value: Option<&Value>) {
    let was_touched = !col.touched.is_disjoint(rows);
    add_rows(&mut col.touched, rows);
    let mut non_null = false;
    match &mut col.body {
        ColumnBody::Flag { trues } => match value {
            Some(Value::Bool(true)) => {
                add_rows(trues, rows);
                non_null = true;
            }
            Some(Value::Bool(false)) => {
                remove_rows(trues, rows);
                non_null = true;
            }
            _ => remove_rows(trues, rows),
        },
        ColumnBody::Values { values, .. } => {
            if was_touched {
                for bm in values.values_mut() {
                    remove_rows(bm, rows);
                }
                values.retain(|_, bm| !bm.is_empty());
            }
            let items: &[String] = match value {
                Some(Value::Text(s)) => std::slice::from_ref(s),
                Some(Value::TextSet(set)) => set,
                _ => &[],
            };
            non_null = matches!(value, Some(Value::Text(_) | Value::TextSet(_)));
            for item in items {
                let bm = values.entry(Arc::from(item.as_str())).or_default();
                add_rows(bm, rows);
            }
        }
        ColumnBody::Numeric { sign, planes } => {
            let v = match value {
                Some(Value::Int(v)) => Some(*v),
                _ => None,
            };
            let magnitude = v.map_or(0, i64::unsigned_abs);
            if v.is_some_and(|v| v < 0) {
                add_rows(sign, rows);
            } else {
                remove_rows(sign, rows);
            }
            let needed = (64 - magnitude.leading_zeros()) as usize;
            if planes.len() < needed {
                planes.resize_with(needed, Arc::default);
            }
            for (bit, plane) in planes.iter_mut().enumerate() {
                if magnitude >> bit & 1 == 1 {
                    add_rows(plane, rows);
                } else {
                    remove_rows(plane, rows);
                }
            }
            non_null = v.is_some();
        }
    }
    if non_null {
        add_rows(&mut col.not_null, rows);
    } else {
        remove_rows(&mut col.not_null, rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(c: ColumnId) -> Option<TagKind> {
        match c {
            0 => Some(TagKind::Flag),
            1 => Some(TagKind::Categorical),
            2 => Some(TagKind::Numeric),
            3 => Some(TagKind::MultiValued),
            _ => None,
        }
    }

    fn set(row: RowId, column: ColumnId, value: Option<Value>) -> LoggedOp {
        LoggedOp::Set { row, column, value }
    }

    #[test]
    fn categorical_overwrite_moves_row_between_values() {
        let mut m = MemTable::new(0);
        m.apply(&set(1, 1, Some(Value::Text("a".into()))), kinds);
        m.apply(&set(1, 1, Some(Value::Text("b".into()))), kinds);
        let ColumnBody::Values { values, .. } = &m.delta.columns[&1].body else {
            panic!("values body")
        };
        assert!(
            !values.contains_key("a"),
            "old value bitmap emptied and dropped"
        );
        assert!(values["b"].contains(1));
    }

    #[test]
    fn numeric_set_writes_sign_and_planes() {
        let mut m = MemTable::new(0);
        m.apply(&set(4, 2, Some(Value::Int(-5))), kinds);
        let ColumnBody::Numeric { sign, planes } = &m.delta.columns[&2].body else {
            panic!("numeric body")
        };
        assert!(sign.contains(4));
        assert_eq!(planes.len(), 3);
        assert!(planes[0].contains(4) && !planes[1].contains(4) && planes[2].contains(4));
        m.apply(&set(4, 2, None), kinds);
        let col = &m.delta.columns[&2];
        assert!(col.touched.contains(4) && !col.not_null.contains(4));
    }

    #[test]
    fn set_rows_is_a_bitmap_operation_on_flags() {
        let mut m = MemTable::new(0);
        let rows = RoaringBitmap::from_iter(0..1000);
        m.apply(
            &LoggedOp::SetRows {
                rows: rows.clone(),
                column: 0,
                value: Some(Value::Bool(true)),
            },
            kinds,
        );
        let ColumnBody::Flag { trues } = &m.delta.columns[&0].body else {
            panic!("flag body")
        };
        assert_eq!(trues.len(), 1000);
    }

    #[test]
    fn copy_on_write_leaves_published_memtable_unchanged() {
        let mut m = MemTable::new(0);
        m.apply(&set(1, 0, Some(Value::Bool(true))), kinds);
        let published = m.clone();
        m.apply(&set(2, 0, Some(Value::Bool(true))), kinds);
        let ColumnBody::Flag { trues } = &published.delta.columns[&0].body else {
            panic!("flag body")
        };
        assert_eq!(trues.len(), 1, "the reader's copy did not change");
    }

    #[test]
    fn multi_valued_set_replaces_whole_set() {
        let mut m = MemTable::new(0);
        m.apply(&set(3, 3, Some(Value::text_set(["x", "y"]))), kinds);
        m.apply(&set(3, 3, Some(Value::text_set(["y", "z"]))), kinds);
        let ColumnBody::Values { values, .. } = &m.delta.columns[&3].body else {
            panic!("values body")
        };
        assert!(!values.contains_key("x"));
        assert!(values["y"].contains(3) && values["z"].contains(3));
    }

    #[test]
    fn key_index_rejects_out_of_order_rows() {
        let k = KeyIndex::new(10);
        assert!(k.push(Key::Int(1), 10));
        assert!(!k.push(Key::Int(2), 12));
        assert_eq!(k.row_of(&Key::Int(1)), Some(10));
        assert_eq!(k.key_of(10), Some(Key::Int(1)));
        assert_eq!(k.key_of(9), None);
    }
}
