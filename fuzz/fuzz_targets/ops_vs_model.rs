//! `ops_vs_model`: arbitrary sequences of writes, bulk loads, flushes,
//! compactions and reopens against a reference model (a `BTreeMap` of rows),
//! as redb's fuzzer does, on a backend whose file IO fails after N operations.
//!
//! After every operation the store must read back exactly the model (rows,
//! keys, values and every index bitmap). When an operation fails with an IO
//! error (the injected fault), the store is dropped and reopened with IO
//! healthy again; it must then hold every acknowledged write and the failed
//! operation either wholly or not at all.
#![no_main]

use arbitrary::Arbitrary;
use audb::index::{ColumnType, Key, KeyType, Value};
use audb::storage::{
    ColumnRead, FaultyBackend, FsBackend, MergePolicy, Options, StorageError, Store, UpsertMode,
    WriteBatch, WriteOp,
};
use libfuzzer_sys::fuzz_target;
use roaring::RoaringBitmap;
use std::collections::BTreeMap;
use std::sync::Arc;

const COLUMNS: [(&str, ColumnType); 4] = [
    ("vip", ColumnType::Boolean),
    ("city", ColumnType::Text),
    ("tags", ColumnType::TextArray),
    ("ltv", ColumnType::BigInt),
];
const CITIES: [&str; 5] = ["bj", "sh", "gz", "sz", ""];
const TAGS: [&str; 4] = ["a", "b", "c", "d"];
/// Most operations per input.
const OPS_MAX: usize = 48;

type Row = [Option<Value>; 4];
type Model = BTreeMap<i64, Row>;

/// A cell: NULL or a number that [`value`] turns into the column's type.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum Cell {
    Null,
    Small(i8),
    Any(i64),
}

#[derive(Arbitrary, Clone, Copy, Debug)]
enum Mode {
    Upsert,
    Insert,
    InsertOrIgnore,
    Update,
}

#[derive(Arbitrary, Clone, Debug)]
enum Op {
    Upsert(u8, Vec<(u8, Cell)>, Mode),
    Delete(u8),
    /// `UPDATE … SET col = v WHERE vip IS TRUE`
    SetWhereVip(u8, Cell),
    /// `DELETE … WHERE city = c`
    DeleteWhereCity(u8),
    Bulk(Vec<(u8, [Cell; 4])>),
    Flush,
    Compact,
    Reopen,
    /// From now on, IO fails after this many operations.
    Fault(u8),
}

fn value(col: usize, cell: Cell) -> Option<Value> {
    let n = match cell {
        Cell::Null => return None,
        Cell::Small(n) => i64::from(n),
        Cell::Any(n) => n,
    };
    let u = n.unsigned_abs();
    Some(match col {
        0 => Value::Bool(n & 1 == 1),
        1 => Value::Text(CITIES[(u % 5) as usize].into()),
        2 => Value::text_set(
            TAGS.iter()
                .enumerate()
                .filter(|(i, _)| u >> i & 1 == 1)
                .map(|(_, t)| *t),
        ),
        _ => Value::Int(n),
    })
}

fn key(k: u8) -> i64 {
    i64::from(k % 40)
}

fn options() -> Options {
    Options {
        background: false,
        memtable_ops_max: u64::MAX,
        bitmap_cache_bytes: 8 << 20,
        merge_policy: MergePolicy {
            merge_factor: 2,
            segments_max: 3,
            tier_ratio: 4,
            min_bytes: 1 << 20,
        },
        ..Options::default()
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    backend: Arc<FaultyBackend>,
    store: Option<Store>,
    table: u64,
    cols: Vec<u32>,
    model: Model,
}

fn is_fault(e: &StorageError) -> bool {
    match e {
        StorageError::Io { .. } => true,
        StorageError::BadRow { source, .. } => is_fault(source),
        // A store poisoned by an earlier fault refuses writes with its own error.
        other => other.to_string().contains("injected fault"),
    }
}

impl Harness {
    fn new() -> Harness {
        let dir = audb_fuzz::scratch_dir();
        let fs = Arc::new(FsBackend::new(dir.path()).expect("backend"));
        let backend = Arc::new(FaultyBackend::new(fs, None));
        let store = Store::open_backend(backend.clone(), options()).expect("open");
        let table = store
            .create_table("users", "user_id", KeyType::BigInt)
            .expect("create");
        let cols = COLUMNS
            .iter()
            .map(|(n, t)| store.add_column(table, n, *t).expect("add column"))
            .collect();
        Harness {
            _dir: dir,
            backend,
            store: Some(store),
            table,
            cols,
            model: BTreeMap::new(),
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("store open")
    }

    fn write(&self, ops: Vec<WriteOp>) -> Result<audb::storage::WriteSummary, StorageError> {
        self.store().write(WriteBatch {
            table: self.table,
            ops,
        })
    }

    /// Applies `op` to the store; on success, returns the model after it.
    fn apply(&mut self, op: &Op) -> Result<Model, StorageError> {
        let mut model = self.model.clone();
        match op {
            Op::Upsert(k, values, mode) => {
                let k = key(*k);
                let values: Vec<(usize, Option<Value>)> = values
                    .iter()
                    .take(4)
                    .map(|(c, v)| ((*c % 4) as usize, value((*c % 4) as usize, *v)))
                    .collect();
                let mode = match mode {
                    Mode::Upsert => UpsertMode::Upsert,
                    Mode::Insert => UpsertMode::Insert,
                    Mode::InsertOrIgnore => UpsertMode::InsertOrIgnore,
                    Mode::Update => UpsertMode::Update,
                };
                let exists = model.contains_key(&k);
                let result = self.write(vec![WriteOp::Upsert {
                    key: Key::Int(k),
                    values: values
                        .iter()
                        .map(|(c, v)| (self.cols[*c], v.clone()))
                        .collect(),
                    mode,
                }]);
                match (exists, mode) {
                    (true, UpsertMode::Insert) => match result {
                        Err(e) if is_fault(&e) => return Err(e),
                        Err(_) => return Ok(model),
                        Ok(s) => panic!("duplicate insert of {k} succeeded: {s:?}"),
                    },
                    (true, UpsertMode::InsertOrIgnore) | (false, UpsertMode::Update) => {
                        assert_eq!(result?.ignored, 1);
                        return Ok(model);
                    }
                    _ => {
                        result?;
                    }
                }
                let row = model.entry(k).or_default();
                for (c, v) in values {
                    row[c] = v;
                }
            }
            Op::Delete(k) => {
                let k = key(*k);
                let s = self.write(vec![WriteOp::Delete { key: Key::Int(k) }])?;
                assert_eq!(s.deleted, u64::from(model.remove(&k).is_some()));
            }
            Op::SetWhereVip(c, v) => {
                let c = (*c % 4) as usize;
                let v = value(c, *v);
                let snap = self.snapshot();
                let rows = snap.bitmap_all(self.cols[0], ColumnRead::True)?;
                let s = self.write(vec![WriteOp::SetRows {
                    rows,
                    column: self.cols[c],
                    value: v.clone(),
                }])?;
                let mut n = 0;
                for row in model.values_mut() {
                    if row[0] == Some(Value::Bool(true)) {
                        row[c] = v.clone();
                        n += 1;
                    }
                }
                assert_eq!(s.updated, n);
            }
            Op::DeleteWhereCity(city) => {
                let city = CITIES[(*city % 2) as usize];
                let snap = self.snapshot();
                let rows = snap.bitmap_all(self.cols[1], ColumnRead::Value(city))?;
                self.write(vec![WriteOp::DeleteRows { rows }])?;
                model.retain(|_, r| r[1] != Some(Value::Text(city.into())));
            }
            Op::Bulk(rows) => {
                let rows: Vec<(i64, Row)> = rows
                    .iter()
                    .take(32)
                    .map(|(k, cells)| (key(*k), std::array::from_fn(|i| value(i, cells[i]))))
                    .collect();
                let input: Vec<_> = rows
                    .iter()
                    .map(|(k, r)| Ok((Key::Int(*k), r.to_vec())))
                    .collect();
                self.store()
                    .bulk_load(self.table, &self.cols, input, &mut |_| {})?;
                for (k, r) in rows {
                    model.insert(k, r);
                }
            }
            Op::Flush => self.store().flush()?,
            Op::Compact => self.store().compact()?,
            Op::Reopen => {
                self.store = None;
                self.store = Some(Store::open_backend(self.backend.clone(), options())?);
            }
            Op::Fault(n) => self.backend.set_budget(Some(u64::from(*n))),
        }
        Ok(model)
    }

    fn snapshot(&self) -> audb::storage::TableSnapshot {
        self.store().snapshot().table("users").expect("table")
    }

    /// Everything the store holds, read row by row.
    fn contents(&self) -> Model {
        let snap = self.snapshot();
        let mut out = Model::new();
        for row in snap.live_all().expect("live rows") {
            let Some(Key::Int(k)) = snap.key_of(row).expect("key_of") else {
                panic!("live row {row} has no BIGINT key");
            };
            assert_eq!(snap.row_of(&Key::Int(k)).expect("row_of"), Some(row));
            let r: Row =
                std::array::from_fn(|i| snap.row_value(self.cols[i], row).expect("row_value"));
            assert!(out.insert(k, r).is_none(), "key {k} live twice");
        }
        assert_eq!(snap.row_count().expect("count"), out.len() as u64);
        out
    }

    /// The index bitmaps agree with the row values in `model`.
    fn check_bitmaps(&self, model: &Model) {
        let snap = self.snapshot();
        let rows = |f: &dyn Fn(&Row) -> bool| -> RoaringBitmap {
            model
                .iter()
                .filter(|(_, r)| f(r))
                .map(|(k, _)| snap.row_of(&Key::Int(*k)).expect("row_of").expect("live"))
                .collect()
        };
        let read = |c: usize, r: ColumnRead<'_>| snap.bitmap_all(self.cols[c], r).expect("bitmap");
        for c in 0..4 {
            assert_eq!(
                read(c, ColumnRead::NotNull),
                rows(&|r| r[c].is_some()),
                "not null {c}"
            );
        }
        assert_eq!(
            read(0, ColumnRead::True),
            rows(&|r| r[0] == Some(Value::Bool(true)))
        );
        assert_eq!(
            read(0, ColumnRead::False),
            rows(&|r| r[0] == Some(Value::Bool(false)))
        );
        for city in CITIES {
            let want = rows(&|r| r[1] == Some(Value::Text(city.into())));
            assert_eq!(read(1, ColumnRead::Value(city)), want, "city {city:?}");
        }
        for tag in TAGS {
            let want =
                rows(&|r| matches!(&r[2], Some(Value::TextSet(s)) if s.iter().any(|x| x == tag)));
            assert_eq!(read(2, ColumnRead::Value(tag)), want, "tag {tag}");
        }
        assert_eq!(
            read(3, ColumnRead::Sign),
            rows(&|r| matches!(r[3], Some(Value::Int(v)) if v < 0))
        );
        for bit in 0..64u8 {
            let want =
                rows(&|r| matches!(r[3], Some(Value::Int(v)) if v.unsigned_abs() >> bit & 1 == 1));
            assert_eq!(read(3, ColumnRead::Plane(bit)), want, "plane {bit}");
        }
    }

    /// After an IO failure: reopen with healthy IO; the store must hold the
    /// model before the failed op or the model after it, nothing else.
    fn recover(&mut self, op: &Op, before: Model, e: StorageError) {
        self.store = None;
        self.backend.set_budget(None);
        let store = Store::open_backend(self.backend.clone(), options())
            .unwrap_or_else(|re| panic!("reopen after {e} (during {op:?}) failed: {re}"));
        self.store = Some(store);
        let got = self.contents();
        if got == before {
            self.model = before;
            return;
        }
        // The failed op may have been durable before its error (then it is
        // whole): redo it on the model only.
        let after = replay_on_model(&before, op);
        match after {
            Some(after) if got == after => self.model = after,
            _ => panic!(
                "after {e} during {op:?}, reopened store holds neither the model before \
                 nor after the op:\n got {got:?}\n before {before:?}"
            ),
        }
    }
}

/// The model after `op` (for ops whose effect does not depend on row ids).
fn replay_on_model(before: &Model, op: &Op) -> Option<Model> {
    let mut h = Harness::new();
    // Rebuild `before` in a scratch store, then apply `op` there healthy.
    let rows: Vec<_> = before
        .iter()
        .map(|(k, r)| Ok((Key::Int(*k), r.to_vec())))
        .collect();
    h.store()
        .bulk_load(h.table, &h.cols, rows, &mut |_| {})
        .ok()?;
    h.model = before.clone();
    h.apply(op).ok()
}

fuzz_target!(|ops: Vec<Op>| {
    let mut h = Harness::new();
    for op in ops.iter().take(OPS_MAX) {
        let before = h.model.clone();
        match h.apply(op) {
            Ok(model) => h.model = model,
            Err(e) if is_fault(&e) => h.recover(op, before, e),
            Err(e) => panic!("{op:?} failed without an injected fault: {e}"),
        }
        assert_eq!(h.contents(), h.model, "after {op:?}");
        h.check_bitmaps(&h.model);
    }
    h.backend.set_budget(None);
    h.apply(&Op::Flush).expect("final flush");
    h.apply(&Op::Compact).expect("final compact");
    h.apply(&Op::Reopen).expect("final reopen");
    assert_eq!(h.contents(), h.model, "after the final reopen");
    h.check_bitmaps(&h.model);
});
