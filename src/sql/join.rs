//! Joining two small relations (catalog tables, grouped results, derived
//! tables, table functions): a hash join when the condition has equality
//! conjuncts between the two sides (`l.a = r.b AND …`), otherwise nested
//! loops bounded by [`JOIN_PAIRS_MAX`]. Either way the whole condition is
//! evaluated on each candidate pair, so the hash only narrows the pairs
//! looked at. An audience table in a join is first read into a relation,
//! which is bounded by `RELATION_ROWS_MAX`. Which relations are joined in
//! which order is [`super::from_list`]'s business.
//!
//! The hash table (per right row with a key: its key parts, their text and
//! an index; see [`build`]) and the output rows
//! ([`row_bytes`](crate::exec::memory::row_bytes) each) are charged to the
//! statement's memory budget as they grow and given back when the join
//! returns: a small `query_memory_limit` fails the join with 53200.

use super::error::{SqlError, SqlResult, SqlState};
use super::relation::{self, Column, Relation};
use super::scalar::{self, BinaryOp, BoundExpr, ScalarExpr, SubqueryKind};
use super::select::{QueryCtx, RelScope, Source, audience_column, fetch_relation};
use super::types::{DataType, Datum};
use crate::exec::memory::{Meter, row_bytes};
use crate::exec::rows::Fetch;
use std::collections::HashMap;

/// Most row pairs a nested-loop join examines (54000 beyond it).
pub const JOIN_PAIRS_MAX: u64 = 50_000_000;

/// A relation with the qualifier of each column.
pub(super) struct Qualified {
    /// The rows.
    pub(super) rel: Relation,
    /// The qualifier (table name or alias) of each column.
    pub(super) quals: Vec<Option<String>>,
}

impl Qualified {
    /// The scope that resolves names against these columns.
    pub(super) fn scope(&self) -> RelScope<'_> {
        RelScope {
            columns: &self.rel.columns,
            quals: &self.quals,
        }
    }
}

/// Reads a source into memory (an audience table: its rows under its
/// filter, every visible column).
pub(super) fn to_qualified(ctx: &QueryCtx<'_>, source: Source) -> SqlResult<Qualified> {
    match source {
        Source::Rel { rel, quals } => Ok(Qualified { rel, quals }),
        Source::Audience {
            table,
            alias,
            filter,
        } => {
            let schema = table.schema();
            let mut cols: Vec<(String, Fetch)> = Vec::new();
            for name in
                std::iter::once(&schema.key_name).chain(schema.columns.iter().map(|c| &c.name))
            {
                if let Some(f) = audience_column(&table, name) {
                    cols.push((name.clone(), f));
                }
            }
            let filter = filter.simplify().order_by_estimate(&table);
            let rel = fetch_relation(ctx, &table, &filter, &cols, 0, None)?;
            let quals = vec![Some(alias); rel.columns.len()];
            Ok(Qualified { rel, quals })
        }
    }
}

/// The kind of a join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `[INNER] JOIN`, `CROSS JOIN`, a comma.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `RIGHT [OUTER] JOIN`.
    Right,
    /// `FULL [OUTER] JOIN`.
    Full,
}

/// The columns and qualifiers of `left` followed by those of `right`.
pub(super) fn combined(left: &Qualified, right: &Qualified) -> (Vec<Column>, Vec<Option<String>>) {
    let columns = left
        .rel
        .columns
        .iter()
        .chain(&right.rel.columns)
        .cloned()
        .collect();
    let quals = left.quals.iter().chain(&right.quals).cloned().collect();
    (columns, quals)
}

/// Binds a join condition over the columns of `left` followed by `right`.
pub(super) fn bind_on(
    ctx: &QueryCtx<'_>,
    left: &Qualified,
    right: &Qualified,
    on: &sqlparser::ast::Expr,
) -> SqlResult<BoundExpr> {
    let (columns, quals) = combined(left, right);
    let scope = RelScope {
        columns: &columns,
        quals: &quals,
    };
    ctx.bind(on, &scope)
}

/// Joins `left` and `right` on `cond` (bound over left's columns followed
/// by right's; `None` = every pair).
pub(super) fn join_two(
    ctx: &QueryCtx<'_>,
    left: Qualified,
    right: Qualified,
    kind: Kind,
    cond: Option<&BoundExpr>,
) -> SqlResult<Qualified> {
    let (columns, quals) = combined(&left, &right);
    let lw = left.rel.columns.len();
    let rw = right.rel.columns.len();
    let keys = cond.map(|c| equi_keys(&c.expr, lw)).unwrap_or_default();
    let mut table_bytes = Meter::new(ctx.cancel, "a hash join's table");
    let buckets = if keys.is_empty() {
        let pairs = left.rel.rows.len() as u64 * right.rel.rows.len() as u64;
        if pairs > JOIN_PAIRS_MAX {
            return Err(SqlError::new(
                SqlState::ProgramLimitExceeded,
                format!("join would examine {pairs} row pairs (limit {JOIN_PAIRS_MAX})"),
            ));
        }
        None
    } else {
        Some(build(ctx, &right.rel.rows, &keys, lw, &mut table_bytes)?)
    };
    let all: Vec<usize> = match buckets {
        None => (0..right.rel.rows.len()).collect(),
        Some(_) => Vec::new(),
    };
    let mut out = Meter::new(ctx.cancel, "a join's output");
    let mut rows = Vec::new();
    let mut right_matched = vec![false; right.rel.rows.len()];
    let mut probe = Vec::with_capacity(lw + rw);
    for (li, l) in left.rel.rows.iter().enumerate() {
        // A nested loop visits every right row per left row: check each time.
        if buckets.is_none() || li % 1024 == 0 {
            ctx.cancel.check()?;
        }
        let candidates: &[usize] = match &buckets {
            None => &all,
            Some(b) => {
                probe.clear();
                probe.extend(l.iter().cloned());
                probe.extend(std::iter::repeat_n(Datum::Null, rw));
                match key_of(ctx, &probe, keys.iter().map(|k| &k.left))? {
                    Some(k) => b.get(&k).map_or(&[], Vec::as_slice),
                    None => &[],
                }
            }
        };
        let mut matched = false;
        for &ri in candidates {
            let r = &right.rel.rows[ri];
            let mut row = Vec::with_capacity(lw + rw);
            row.extend(l.iter().cloned());
            row.extend(r.iter().cloned());
            let keep = match cond {
                Some(c) => matches!(scalar::eval(c, &row, ctx.eval)?, Datum::Bool(true)),
                None => true,
            };
            if keep {
                matched = true;
                right_matched[ri] = true;
                out.add(row_bytes(&row))?;
                rows.push(row);
            }
        }
        if !matched && matches!(kind, Kind::Left | Kind::Full) {
            let mut row = l.clone();
            row.extend(std::iter::repeat_n(Datum::Null, rw));
            out.add(row_bytes(&row))?;
            rows.push(row);
        }
        relation::check_rows(rows.len())?;
    }
    if matches!(kind, Kind::Right | Kind::Full) {
        for (ri, r) in right.rel.rows.iter().enumerate() {
            if !right_matched[ri] {
                let mut row: Vec<Datum> = std::iter::repeat_n(Datum::Null, lw).collect();
                row.extend(r.iter().cloned());
                out.add(row_bytes(&row))?;
                rows.push(row);
            }
        }
        relation::check_rows(rows.len())?;
    }
    out.flush()?;
    Ok(Qualified {
        rel: Relation { columns, rows },
        quals,
    })
}

/// One equality conjunct usable as a hash key: `left` reads only the left
/// relation's columns, `right` only the right's (both over the combined
/// row), and both are of one [`KeyClass`].
#[derive(Debug)]
pub(super) struct EquiKey {
    left: BoundExpr,
    right: BoundExpr,
}

/// Types whose values compare equal exactly when their hash keys do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyClass {
    Bool,
    Int,
    Text,
    Date,
    Timestamp,
    TimestampTz,
}

fn key_class(ty: DataType) -> Option<KeyClass> {
    match ty {
        DataType::Bool => Some(KeyClass::Bool),
        DataType::Int2 | DataType::Int4 | DataType::Int8 => Some(KeyClass::Int),
        DataType::Text | DataType::Unknown => Some(KeyClass::Text),
        DataType::Date => Some(KeyClass::Date),
        DataType::Timestamp => Some(KeyClass::Timestamp),
        DataType::TimestampTz => Some(KeyClass::TimestampTz),
        _ => None,
    }
}

/// One value of a hash key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KeyPart {
    Bool(bool),
    Int(i64),
    Text(String),
}

/// Which side of a join an expression reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// The side whose columns `e` reads, if it reads columns of one side only
/// (and no subquery or window function, whose inputs are not visible here).
fn side(e: &ScalarExpr, lw: usize) -> Option<Side> {
    let mut seen: (bool, bool) = (false, false);
    let mut opaque = false;
    walk(e, &mut |x| match x {
        ScalarExpr::Column { index, .. } => {
            if *index < lw {
                seen.0 = true;
            } else {
                seen.1 = true;
            }
        }
        ScalarExpr::Subquery(_) | ScalarExpr::Window(_) => opaque = true,
        _ => {}
    });
    match (opaque, seen) {
        (false, (true, false)) => Some(Side::Left),
        (false, (false, true)) => Some(Side::Right),
        _ => None,
    }
}

fn walk<'a>(e: &'a ScalarExpr, f: &mut dyn FnMut(&'a ScalarExpr)) {
    f(e);
    if let ScalarExpr::Subquery(s) = e
        && let SubqueryKind::In { arg, .. } = &s.kind
    {
        walk(arg, f);
        return;
    }
    relation::visit_children(e, &mut |c| walk(c, f));
}

/// The equality conjuncts of `cond` that can key a hash join.
pub(super) fn equi_keys(cond: &ScalarExpr, lw: usize) -> Vec<EquiKey> {
    let mut out = Vec::new();
    let mut stack = vec![cond];
    while let Some(e) = stack.pop() {
        let ScalarExpr::Binary {
            op, left, right, ..
        } = e
        else {
            continue;
        };
        match op {
            BinaryOp::And => {
                stack.push(left);
                stack.push(right);
            }
            BinaryOp::Eq => {
                let (lt, rt) = (left.ty(), right.ty());
                if key_class(lt).is_none() || key_class(lt) != key_class(rt) {
                    continue;
                }
                let pair = match (side(left, lw), side(right, lw)) {
                    (Some(Side::Left), Some(Side::Right)) => (left, right),
                    (Some(Side::Right), Some(Side::Left)) => (right, left),
                    _ => continue,
                };
                out.push(EquiKey {
                    left: BoundExpr::new((**pair.0).clone()),
                    right: BoundExpr::new((**pair.1).clone()),
                });
            }
            _ => {}
        }
    }
    out
}

/// The hash key of a row (`None` when a part is NULL: it matches nothing).
fn key_of<'a>(
    ctx: &QueryCtx<'_>,
    row: &[Datum],
    exprs: impl Iterator<Item = &'a BoundExpr>,
) -> SqlResult<Option<Vec<KeyPart>>> {
    let mut key = Vec::new();
    for e in exprs {
        key.push(match scalar::eval(e, row, ctx.eval)? {
            Datum::Null => return Ok(None),
            Datum::Bool(b) => KeyPart::Bool(b),
            Datum::Int(i) | Datum::Date(i) | Datum::Timestamp(i) | Datum::TimestampTz(i) => {
                KeyPart::Int(i)
            }
            Datum::Text(s) => KeyPart::Text(s),
            other => {
                return Err(SqlError::internal(format!(
                    "hash join key of unexpected value {other:?}"
                )));
            }
        });
    }
    Ok(Some(key))
}

/// Bytes one row's entry adds to a hash-join table (an estimate): its key
/// vector with the parts' text, the row index, and the hash map's own slot.
fn entry_bytes(key: &[KeyPart]) -> u64 {
    let text: usize = key
        .iter()
        .map(|k| match k {
            KeyPart::Text(s) => s.len(),
            _ => 0,
        })
        .sum();
    (std::mem::size_of::<(Vec<KeyPart>, Vec<usize>)>()
        + std::mem::size_of_val(key)
        + text
        + std::mem::size_of::<usize>()
        + 8) as u64
}

/// The rows of the right relation by hash key, charged to the statement's
/// memory budget ([`entry_bytes`] per row) for as long as `meter` lives.
fn build(
    ctx: &QueryCtx<'_>,
    rows: &[Vec<Datum>],
    keys: &[EquiKey],
    lw: usize,
    meter: &mut Meter,
) -> SqlResult<HashMap<Vec<KeyPart>, Vec<usize>>> {
    let mut table: HashMap<Vec<KeyPart>, Vec<usize>> = HashMap::new();
    let mut probe: Vec<Datum> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if i % 1024 == 0 {
            ctx.cancel.check()?;
        }
        probe.clear();
        probe.extend(std::iter::repeat_n(Datum::Null, lw));
        probe.extend(r.iter().cloned());
        if let Some(k) = key_of(ctx, &probe, keys.iter().map(|k| &k.right))? {
            meter.add(entry_bytes(&k))?;
            table.entry(k).or_default().push(i);
        }
    }
    meter.flush()?;
    Ok(table)
}
