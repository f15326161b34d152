//! Property test: random sequences of writes, bulk loads, flushes,
//! compactions and reopens give the same answers as a reference model (a map
//! of rows with `Option` values) for every read API of a snapshot.

use audb::index::{ColumnType, Key, KeyType, Value};
use audb::storage::{
    ColumnRead, MergePolicy, Options, Store, TableSnapshot, UpsertMode, WriteBatch, WriteOp,
};
use proptest::prelude::*;
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet};

const COLUMNS: [(&str, ColumnType); 4] = [
    ("vip", ColumnType::Boolean),
    ("city", ColumnType::Text),
    ("tags", ColumnType::TextArray),
    ("ltv", ColumnType::BigInt),
];

type Row = [Option<Value>; 4];

#[derive(Clone, Debug)]
enum Op {
    Upsert(i64, Vec<(usize, Option<Value>)>, UpsertMode),
    Delete(i64),
    /// `UPDATE … SET col = v WHERE vip IS TRUE`
    SetWhereVip(usize, Option<Value>),
    /// `DELETE … WHERE city = c`
    DeleteWhereCity(String),
    Bulk(Vec<(i64, Row)>),
    Flush,
    Compact,
    Reopen,
}

fn value_for(col: usize) -> BoxedStrategy<Option<Value>> {
    let v: BoxedStrategy<Value> = match col {
        0 => any::<bool>().prop_map(Value::Bool).boxed(),
        1 => prop::sample::select(vec!["bj", "sh", "gz", "sz", ""])
            .prop_map(|s| Value::Text(s.into()))
            .boxed(),
        2 => prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 0..3)
            .prop_map(Value::text_set)
            .boxed(),
        _ => prop_oneof![
            -5i64..5,
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            0i64..100_000
        ]
        .prop_map(Value::Int)
        .boxed(),
    };
    prop::option::weighted(0.8, v).boxed()
}

fn row_strategy() -> impl Strategy<Value = Row> {
    (value_for(0), value_for(1), value_for(2), value_for(3)).prop_map(|(a, b, c, d)| [a, b, c, d])
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = 0i64..40;
    let upsert_values =
        prop::collection::vec((0usize..4).prop_flat_map(|c| (Just(c), value_for(c))), 0..4);
    let mode = prop_oneof![
        3 => Just(UpsertMode::Upsert),
        1 => Just(UpsertMode::Insert),
        1 => Just(UpsertMode::InsertOrIgnore),
        1 => Just(UpsertMode::Update),
    ];
    prop_oneof![
        10 => (key.clone(), upsert_values, mode).prop_map(|(k, v, m)| Op::Upsert(k, v, m)),
        2 => key.clone().prop_map(Op::Delete),
        2 => (0usize..4).prop_flat_map(|c| (Just(c), value_for(c))).prop_map(|(c, v)| Op::SetWhereVip(c, v)),
        1 => prop::sample::select(vec!["bj", "sh"]).prop_map(|c| Op::DeleteWhereCity(c.into())),
        1 => prop::collection::vec((0i64..60, row_strategy()), 0..20).prop_map(Op::Bulk),
        2 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

struct Harness {
    dir: tempfile::TempDir,
    store: Option<Store>,
    table: u64,
    cols: Vec<u32>,
    model: BTreeMap<i64, Row>,
}

fn options() -> Options {
    Options {
        background: false,
        memtable_ops_max: u64::MAX,
        merge_policy: MergePolicy {
            merge_factor: 2,
            segments_max: 3,
            tier_ratio: 4,
            min_bytes: 1 << 20,
        },
        ..Options::default()
    }
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), options()).expect("open");
        let table = store
            .create_table("users", "user_id", KeyType::BigInt)
            .expect("create");
        let cols = COLUMNS
            .iter()
            .map(|(n, t)| store.add_column(table, n, *t).expect("add column"))
            .collect();
        Harness {
            dir,
            store: Some(store),
            table,
            cols,
            model: BTreeMap::new(),
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("store open")
    }

    fn snap(&self) -> TableSnapshot {
        self.store().snapshot().table("users").expect("table")
    }

    fn rows_matching(&self, f: impl Fn(&Row) -> bool) -> RoaringBitmap {
        let snap = self.snap();
        self.model
            .iter()
            .filter(|(_, r)| f(r))
            .map(|(k, _)| {
                snap.row_of(&Key::Int(*k))
                    .expect("row_of")
                    .expect("live row")
            })
            .collect()
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Upsert(k, values, mode) => {
                let exists = self.model.contains_key(k);
                let batch = WriteBatch {
                    table: self.table,
                    ops: vec![WriteOp::Upsert {
                        key: Key::Int(*k),
                        values: values
                            .iter()
                            .map(|(c, v)| (self.cols[*c], v.clone()))
                            .collect(),
                        mode: *mode,
                    }],
                };
                let result = self.store().write(batch);
                match (exists, mode) {
                    (true, UpsertMode::Insert) => {
                        assert!(result.is_err(), "duplicate insert must fail");
                        return;
                    }
                    (true, UpsertMode::InsertOrIgnore) | (false, UpsertMode::Update) => {
                        assert_eq!(result.expect("write").ignored, 1);
                        return;
                    }
                    _ => {
                        result.expect("write");
                    }
                }
                let row = self.model.entry(*k).or_default();
                for (c, v) in values {
                    row[*c] = v.clone();
                }
            }
            Op::Delete(k) => {
                let s = self
                    .store()
                    .write(WriteBatch {
                        table: self.table,
                        ops: vec![WriteOp::Delete { key: Key::Int(*k) }],
                    })
                    .expect("delete");
                assert_eq!(s.deleted, u64::from(self.model.remove(k).is_some()));
            }
            Op::SetWhereVip(c, v) => {
                let rows = self
                    .snap()
                    .bitmap_all(self.cols[0], ColumnRead::True)
                    .expect("read");
                let s = self
                    .store()
                    .write(WriteBatch {
                        table: self.table,
                        ops: vec![WriteOp::SetRows {
                            rows,
                            column: self.cols[*c],
                            value: v.clone(),
                        }],
                    })
                    .expect("set rows");
                let mut n = 0;
                for row in self.model.values_mut() {
                    if row[0] == Some(Value::Bool(true)) {
                        row[*c] = v.clone();
                        n += 1;
                    }
                }
                assert_eq!(s.updated, n);
            }
            Op::DeleteWhereCity(city) => {
                let want = Some(Value::Text(city.clone()));
                let rows = self.rows_matching(|r| r[1] == want);
                let got = self
                    .snap()
                    .bitmap_all(self.cols[1], ColumnRead::Value(city))
                    .expect("read");
                assert_eq!(got, rows);
                self.store()
                    .write(WriteBatch {
                        table: self.table,
                        ops: vec![WriteOp::DeleteRows { rows }],
                    })
                    .expect("delete rows");
                self.model.retain(|_, r| r[1] != want);
            }
            Op::Bulk(rows) => {
                let input: Vec<_> = rows
                    .iter()
                    .map(|(k, r)| Ok((Key::Int(*k), r.to_vec())))
                    .collect();
                self.store()
                    .bulk_load(self.table, &self.cols, input, &mut |_| {})
                    .expect("bulk load");
                for (k, r) in rows {
                    self.model.insert(*k, r.clone());
                }
            }
            Op::Flush => self.store().flush().expect("flush"),
            Op::Compact => self.store().compact().expect("compact"),
            Op::Reopen => {
                self.store = None;
                self.store = Some(Store::open(self.dir.path(), options()).expect("reopen"));
            }
        }
    }

    fn check(&self) {
        let snap = self.snap();
        assert_eq!(snap.row_count().expect("count"), self.model.len() as u64);
        let mut live_keys = BTreeSet::new();
        for row in snap.live_all().expect("live") {
            match snap.key_of(row).expect("key_of") {
                Some(Key::Int(k)) => {
                    live_keys.insert(k);
                }
                other => panic!("live row {row} has key {other:?}"),
            }
        }
        assert_eq!(
            live_keys,
            self.model.keys().copied().collect::<BTreeSet<_>>()
        );
        for (k, r) in &self.model {
            let row = snap
                .row_of(&Key::Int(*k))
                .expect("row_of")
                .expect("key present");
            for (i, col) in self.cols.iter().enumerate() {
                let got = snap.row_value(*col, row).expect("row_value");
                // A multi-valued cell holding the empty set has no value
                // bitmaps but is not NULL.
                let want = r[i].clone();
                assert_eq!(got, want, "key {k} column {}", COLUMNS[i].0);
            }
        }
        for (i, col) in self.cols.iter().enumerate() {
            let nn = self.rows_matching(|r| r[i].is_some());
            assert_eq!(
                snap.bitmap_all(*col, ColumnRead::NotNull).expect("nn"),
                nn,
                "not null {}",
                COLUMNS[i].0
            );
        }
        let t = self.rows_matching(|r| r[0] == Some(Value::Bool(true)));
        let f = self.rows_matching(|r| r[0] == Some(Value::Bool(false)));
        assert_eq!(
            snap.bitmap_all(self.cols[0], ColumnRead::True).expect("t"),
            t
        );
        assert_eq!(
            snap.bitmap_all(self.cols[0], ColumnRead::False).expect("f"),
            f
        );
        for city in ["bj", "sh", "gz", "sz", ""] {
            let want = self.rows_matching(|r| r[1] == Some(Value::Text(city.into())));
            let got = snap
                .bitmap_all(self.cols[1], ColumnRead::Value(city))
                .expect("city");
            assert_eq!(got, want, "city {city}");
            if !want.is_empty() {
                let values = snap.values(self.cols[1]).expect("values");
                assert!(values.iter().any(|v| &**v == city));
            }
        }
        for tag in ["a", "b", "c", "d"] {
            let want = self.rows_matching(
                |r| matches!(&r[2], Some(Value::TextSet(s)) if s.iter().any(|x| x == tag)),
            );
            let got = snap
                .bitmap_all(self.cols[2], ColumnRead::Value(tag))
                .expect("tag");
            assert_eq!(got, want, "tag {tag}");
        }
        let neg = self.rows_matching(|r| matches!(r[3], Some(Value::Int(v)) if v < 0));
        assert_eq!(
            snap.bitmap_all(self.cols[3], ColumnRead::Sign)
                .expect("sign"),
            neg
        );
        for bit in 0..64u8 {
            let want = self.rows_matching(
                |r| matches!(r[3], Some(Value::Int(v)) if v.unsigned_abs() >> bit & 1 == 1),
            );
            let got = snap
                .bitmap_all(self.cols[3], ColumnRead::Plane(bit))
                .expect("plane");
            assert_eq!(got, want, "plane {bit}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_reference_model(ops in prop::collection::vec(op_strategy(), 1..40)) {
        let mut h = Harness::new();
        for op in &ops {
            h.apply(op);
            h.check();
        }
        h.apply(&Op::Flush);
        h.apply(&Op::Compact);
        h.check();
        h.apply(&Op::Reopen);
        h.check();
    }
}
