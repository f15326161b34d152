//! GROUP BY expressions over an audience table on bitmaps:
//! `date_trunc('month', register_date)`, `age / 10`, `upper(city)`,
//! `coalesce(city, '?')`, `CASE WHEN age < 30 THEN … END`,
//! `generate_series(1, 2)`.
//!
//! An expression is evaluated once per distinct value of the columns it
//! reads, not once per row: the executor splits the filtered rows by those
//! columns ([`crate::exec::group_fold`]), hands each distinct value tuple
//! (NULL included) to the [`Folder`] here, which evaluates the GROUP BY
//! expressions on it and names the output group; rows of tuples with equal
//! results are unioned, and the aggregates run once per output group. So
//! every aggregate the bitmap leaf computes works unchanged (`COUNT`,
//! `SUM`, `AVG`, `MIN`/`MAX`, `COUNT(DISTINCT …)`, `bool_and`, `FILTER`),
//! and the ones computed on rows ([`super::on_rows`]) find their group
//! through the same [`Folder`].
//!
//! Since only values that rows hold are evaluated, an expression that fails
//! (`1 / (age - age)`) fails exactly when PostgreSQL's row-by-row
//! evaluation would. Set-returning functions in GROUP BY run per tuple with
//! PostgreSQL's lockstep rules ([`PreparedSet`]); a tuple whose rows count
//! twice in a group (`unnest(ARRAY[1, 1])`) has its states scaled.
//!
//! Not planned here (the caller groups the fetched rows instead): keys
//! that read the key column or a whole `text[]` column, subqueries, window
//! functions, volatile functions, constants written as literals, and an
//! `unnest(col)` key next to another set-returning key (their rows zip).

use super::AggCall;
use super::on_rows::referenced_names;
use crate::exec::aggregate::GroupBy;
use crate::exec::aggregate::GroupValue;
use crate::exec::convert::decode_int;
use crate::exec::filter::Pred;
use crate::exec::group_fold::{Folded, KeyFold, aggregate_folded};
use crate::index::{ColumnType, TagKind};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::predicate::{ColRef, fold_ident};
use crate::sql::project_set::{PreparedSet, calls_srf};
use crate::sql::relation::{Column, Relation, RowKey};
use crate::sql::scalar::EvalContext;
use crate::sql::select::{QueryCtx, audience_column, col_ref_of};
use crate::sql::types::{DataType, Datum};
use crate::storage::TableSnapshot;
use sqlparser::ast::{Expr, ObjectNamePart, Visit, Visitor};
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

/// Functions whose value may change from row to row with the same
/// arguments: a GROUP BY key calling one is evaluated per row.
const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "setseed",
    "gen_random_uuid",
    "uuid_generate_v4",
    "nextval",
    "setval",
    "currval",
    "lastval",
    "clock_timestamp",
    "timeofday",
    "txid_current",
    "pg_backend_pid",
];

/// A GROUP BY list planned on bitmaps by folding.
pub struct FoldPlan {
    /// Each group key: the column it names (when it is a plain column),
    /// and the expression as written.
    pub groups: Vec<(Option<String>, Expr)>,
    /// The columns the executor splits the rows by.
    pub group_by: Vec<GroupBy>,
    /// Maps their values to the group keys' values.
    pub folder: Arc<Folder>,
}

/// Where one group key's value comes from.
#[derive(Clone, Copy, Debug)]
enum KeySource {
    /// The value of the split column of this index.
    Direct(usize),
    /// Expression number `i` of the [`PreparedSet`].
    Computed(usize),
}

/// The group ids handed out so far, with their keys.
#[derive(Default)]
struct Interner {
    ids: BTreeMap<RowKey, u32>,
    keys: Vec<Vec<Datum>>,
    /// Folds already computed, by split-column values.
    seen: HashMap<Vec<GroupValue>, Folded>,
}

/// Evaluates the GROUP BY expressions on the values of the split columns
/// and numbers the distinct results (see the module doc).
pub struct Folder {
    /// The split columns' types (`None`: an `unnest` element, text).
    columns: Vec<Option<ColumnType>>,
    sources: Vec<KeySource>,
    /// Whether `sources` are the computed expressions in order.
    all_computed: bool,
    computed: PreparedSet,
    types: Vec<DataType>,
    eval: EvalContext,
    interner: Mutex<Interner>,
}

impl Folder {
    /// The number of group keys.
    pub fn key_count(&self) -> usize {
        self.sources.len()
    }

    /// The SQL type of each group key.
    pub fn key_types(&self) -> &[DataType] {
        &self.types
    }

    /// The group keys of rows whose split columns hold `row`, each with
    /// how many times such a row counts in it.
    pub fn keys_of(&self, row: &[Datum]) -> SqlResult<Vec<(Vec<Datum>, u64)>> {
        let computed = self.computed.rows(row, &self.eval)?;
        let key = |values: Vec<Datum>| -> Vec<Datum> {
            if self.all_computed {
                return values;
            }
            let mut values: Vec<Option<Datum>> = values.into_iter().map(Some).collect();
            self.sources
                .iter()
                .map(|s| match *s {
                    KeySource::Direct(i) => row.get(i).cloned().unwrap_or(Datum::Null),
                    KeySource::Computed(i) => values
                        .get_mut(i)
                        .and_then(Option::take)
                        .unwrap_or(Datum::Null),
                })
                .collect()
        };
        if computed.len() == 1 {
            // No set-returning function: one key, counted once.
            return Ok(computed.into_iter().map(|v| (key(v), 1)).collect());
        }
        let mut counted: BTreeMap<RowKey, u64> = BTreeMap::new();
        for values in computed {
            *counted.entry(RowKey(key(values))).or_insert(0) += 1;
        }
        Ok(counted.into_iter().map(|(k, n)| (k.0, n)).collect())
    }

    /// The values of the split columns as SQL values.
    fn row_of(&self, key: &[GroupValue]) -> Vec<Datum> {
        key.iter()
            .zip(&self.columns)
            .map(|(v, ty)| match (v, ty) {
                (GroupValue::Null, _) => Datum::Null,
                (GroupValue::Bool(b), _) => Datum::Bool(*b),
                (GroupValue::Int(i), Some(t)) => decode_int(*i, *t),
                (GroupValue::Int(i), None) => Datum::Int(*i),
                (GroupValue::Text(s), _) => Datum::Text(s.to_string()),
            })
            .collect()
    }

    /// Like [`Folder::keys_of`], with the keys numbered.
    pub fn ids_of(&self, row: &[Datum]) -> SqlResult<Folded> {
        let keys = self.keys_of(row)?;
        let mut interner = self.lock()?;
        let ids: Vec<(u32, u64)> = keys
            .into_iter()
            .map(|(k, n)| (interner.intern(k), n))
            .collect();
        Ok(ids.into())
    }

    /// The id of group key `key`, if a row had it.
    pub fn id_of(&self, key: &[Datum]) -> SqlResult<Option<u32>> {
        Ok(self.lock()?.ids.get(&RowKey(key.to_vec())).copied())
    }

    /// The key of group `id`.
    fn key(&self, id: u32) -> SqlResult<Vec<Datum>> {
        let interner = self.lock()?;
        interner
            .keys
            .get(id as usize)
            .cloned()
            .ok_or_else(|| SqlError::internal(format!("group {id} was never folded")))
    }

    fn lock(&self) -> SqlResult<std::sync::MutexGuard<'_, Interner>> {
        self.interner
            .lock()
            .map_err(|_| SqlError::internal("a group-by worker panicked"))
    }
}

impl Interner {
    fn intern(&mut self, key: Vec<Datum>) -> u32 {
        let k = RowKey(key);
        if let Some(id) = self.ids.get(&k) {
            return *id;
        }
        let id = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(k.0.clone());
        self.ids.insert(k, id);
        id
    }
}

impl KeyFold for Folder {
    fn fold(&self, key: &[GroupValue]) -> SqlResult<Folded> {
        if let Some(hit) = self.lock()?.seen.get(key) {
            return Ok(Arc::clone(hit));
        }
        let ids = self.ids_of(&self.row_of(key))?;
        self.lock()?.seen.insert(key.to_vec(), Arc::clone(&ids));
        Ok(ids)
    }

    fn keys(&self, key: &[GroupValue]) -> SqlResult<Vec<(Vec<Datum>, u64)>> {
        self.keys_of(&self.row_of(key))
    }

    fn number(&self, keys: Vec<Vec<Datum>>) -> SqlResult<Vec<u32>> {
        let mut interner = self.lock()?;
        Ok(keys.into_iter().map(|k| interner.intern(k)).collect())
    }
}

/// Whether `e` must be evaluated row by row: it has a subquery, a window
/// function or a volatile function call.
fn per_row_only(e: &Expr) -> bool {
    struct Find;
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &sqlparser::ast::Query) -> ControlFlow<()> {
            ControlFlow::Break(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e {
                let volatile = matches!(f.name.0.last(), Some(ObjectNamePart::Identifier(id)) if VOLATILE.contains(&fold_ident(id).as_str()));
                if f.over.is_some() || volatile {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    e.visit(&mut Find).is_break()
}

/// Plans `group_exprs` (none of them an aggregate) on bitmaps by folding,
/// or `None` when one of them must be computed row by row (see the module
/// doc). `unnest_arg` recognizes `unnest(col)`.
pub fn plan_fold(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    alias: &str,
    group_exprs: &[Expr],
    unnest_arg: &dyn Fn(&Expr) -> Option<&Expr>,
) -> SqlResult<Option<FoldPlan>> {
    /// A split column: unnest or a column, by id.
    #[derive(PartialEq)]
    enum Split {
        Unnest(u32, String),
        Column(u32, ColumnType, String),
    }
    let mut splits: Vec<Split> = Vec::new();
    let mut add = |s: Split| -> usize {
        match splits.iter().position(|x| *x == s) {
            Some(i) => i,
            None => {
                splits.push(s);
                splits.len() - 1
            }
        }
    };
    // Per key: Ok(split index) for a direct key, Err(expression) else.
    let mut keys: Vec<Result<usize, Expr>> = Vec::new();
    let mut groups = Vec::new();
    let mut has_unnest = false;
    let mut has_srf = false;
    for g in group_exprs {
        if let Some(col) = unnest_arg(g) {
            match col_ref_of(ctx, table, alias, col)? {
                Some(ColRef::Tag(c)) if c.ty.kind() == TagKind::MultiValued => {
                    has_unnest = true;
                    keys.push(Ok(add(Split::Unnest(c.id, c.name.clone()))));
                    groups.push((None, g.clone()));
                    continue;
                }
                _ => return Ok(None),
            }
        }
        match col_ref_of(ctx, table, alias, g)? {
            Some(ColRef::Tag(c)) if c.ty.kind() != TagKind::MultiValued => {
                keys.push(Ok(add(Split::Column(c.id, c.ty, c.name.clone()))));
                groups.push((Some(c.name.clone()), g.clone()));
                continue;
            }
            Some(_) => return Ok(None),
            None => {}
        }
        if matches!(g, Expr::Value(_)) || per_row_only(g) {
            return Ok(None);
        }
        let mut names = Vec::new();
        referenced_names(g, &mut names);
        for n in names {
            let Some(c) = table
                .schema()
                .column(&n)
                .filter(|_| audience_column(table, &n).is_some())
            else {
                if n == table.schema().key_name {
                    return Ok(None);
                }
                continue;
            };
            if c.ty.kind() == TagKind::MultiValued {
                return Ok(None);
            }
            add(Split::Column(c.id, c.ty, c.name.clone()));
        }
        has_srf |= calls_srf(g);
        keys.push(Err(g.clone()));
        groups.push((None, g.clone()));
    }
    if has_unnest && has_srf {
        return Ok(None);
    }
    // Cheap splits first, numeric columns (perhaps a value per row) last:
    // only the last column can be read row by row.
    let rank = |s: &Split| match s {
        Split::Unnest(..) => 0,
        Split::Column(_, ty, _) if ty.kind() == TagKind::Numeric => 2,
        Split::Column(..) => 1,
    };
    let mut order: Vec<usize> = (0..splits.len()).collect();
    order.sort_by_key(|&i| rank(&splits[i]));
    let position = |i: usize| order.iter().position(|&o| o == i).unwrap_or(i);
    let mut columns = Vec::with_capacity(splits.len());
    let mut scope_columns = Vec::with_capacity(splits.len());
    let mut group_by = Vec::with_capacity(splits.len());
    for &i in &order {
        let (gb, ty, name) = match &splits[i] {
            Split::Unnest(id, name) => (GroupBy::Unnest(*id), None, format!("__unnest_{name}")),
            Split::Column(id, ty, name) => (GroupBy::Column(*id, *ty), Some(*ty), name.clone()),
        };
        group_by.push(gb);
        columns.push(ty);
        scope_columns.push(Column {
            name,
            ty: ty.map_or(DataType::Text, DataType::of_column),
        });
    }
    let quals = vec![Some(alias.to_owned()); scope_columns.len()];
    let computed_exprs: Vec<Expr> = keys.iter().filter_map(|k| k.clone().err()).collect();
    let computed = PreparedSet::new(ctx, &scope_columns, &quals, &computed_exprs)?;
    let computed_types = computed.types();
    let mut sources = Vec::with_capacity(keys.len());
    let mut types = Vec::with_capacity(keys.len());
    let mut next = 0;
    for k in &keys {
        match k {
            Ok(i) => {
                let p = position(*i);
                sources.push(KeySource::Direct(p));
                types.push(scope_columns[p].ty);
            }
            Err(_) => {
                sources.push(KeySource::Computed(next));
                types.push(computed_types.get(next).copied().unwrap_or(DataType::Text));
                next += 1;
            }
        }
    }
    let all_computed = sources
        .iter()
        .enumerate()
        .all(|(i, s)| matches!(*s, KeySource::Computed(j) if j == i));
    let folder = Folder {
        columns,
        all_computed,
        sources,
        computed,
        types,
        eval: ctx.eval.clone(),
        interner: Mutex::new(Interner::default()),
    };
    Ok(Some(FoldPlan {
        groups,
        group_by,
        folder: Arc::new(folder),
    }))
}

/// Runs the bitmap leaf of a folded GROUP BY: the group keys `__grp0…`
/// (sorted), then the calls' results `__agg0…`.
pub fn run_folded_leaf(
    ctx: &QueryCtx<'_>,
    table: &TableSnapshot,
    filter: &Pred,
    plan: &FoldPlan,
    calls: &[AggCall],
) -> SqlResult<Relation> {
    let specs: Vec<_> = calls.iter().map(|c| c.spec.clone()).collect();
    let fold: Arc<dyn KeyFold> = plan.folder.clone();
    let groups = aggregate_folded(table, filter, &plan.group_by, fold, &specs, ctx.cancel)?;
    let mut columns: Vec<Column> = plan
        .folder
        .key_types()
        .iter()
        .enumerate()
        .map(|(i, ty)| Column {
            name: format!("__grp{i}"),
            ty: *ty,
        })
        .collect();
    for (i, c) in calls.iter().enumerate() {
        columns.push(Column {
            name: format!("__agg{i}"),
            ty: c.result_type(),
        });
    }
    let mut keyed = Vec::with_capacity(groups.len());
    for (id, states) in groups {
        let mut row = plan.folder.key(id)?;
        let key = RowKey(row.clone());
        for (state, call) in states.into_iter().zip(calls) {
            row.push(call.finalize(state)?);
        }
        keyed.push((key, row));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Relation {
        columns,
        rows: keyed.into_iter().map(|(_, r)| r).collect(),
    })
}
