//! Planning a FROM list with more than one item (`FROM a, b JOIN c ON …`)
//! into one relation.
//!
//! The `WHERE` clause is split into its `AND` conjuncts. A conjunct that
//! reads the columns of one item only filters that item before any join
//! (on an audience table it becomes part of the bitmap filter); one that
//! reads several items becomes the condition of the join that first brings
//! them together, hashed when it is an equality (see [`super::join`]).
//! Items are joined greedily: the smallest first, then always the smallest
//! item connected to what is joined so far by a conjunct, so catalog
//! queries written as comma joins (pgjdbc's `getImportedKeys`) never build
//! a cross product. The result's columns are put back in FROM order, and
//! the whole `WHERE` still runs above, so pushing a conjunct down only
//! saves work.
//!
//! A function or a `LATERAL` subquery may read the columns of the items
//! before it ([`lateral`]); any other item that names them gets
//! PostgreSQL's "cannot be referenced from this part of the query".
//! `JOIN … USING` and `NATURAL JOIN` are [`using`]'s.

mod lateral;
mod using;

use super::error::{SqlError, SqlResult};
use super::join::{self, Kind, Qualified, bind_on, join_two, to_qualified};
use super::predicate::fold_ident;
use super::relation::{self, Column, Relation};
use super::scalar::{BinaryOp, BoundExpr, ScalarExpr, Scope};
use super::select::{QueryCtx, RelScope, Source, audience_column, factor_source, where_pred};
use super::subquery::OuterFrame;
use super::types::{DataType, Datum};
use sqlparser::ast::{
    BinaryOperator, Expr, JoinConstraint, JoinOperator, Query, TableWithJoins, Visit, Visitor,
};
use std::ops::ControlFlow;

/// One `AND` conjunct of `WHERE` with the column names it reads.
struct Conjunct<'a> {
    expr: &'a Expr,
    refs: Vec<(Option<String>, String)>,
    applied: bool,
}

impl Conjunct<'_> {
    /// Whether every name it reads resolves in `scope`.
    fn fits(&self, scope: &dyn Scope) -> bool {
        self.refs
            .iter()
            .all(|(q, n)| scope.resolve(q.as_deref(), n).is_ok())
    }
}

/// Collects the column names of an expression; gives up (None) on
/// subqueries and names it cannot place.
#[derive(Default)]
struct Names {
    refs: Vec<(Option<String>, String)>,
    opaque: bool,
}

impl Visitor for Names {
    type Break = ();

    fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.opaque = true;
        ControlFlow::Break(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Identifier(id) => self.refs.push((None, fold_ident(id))),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, n] => self.refs.push((Some(fold_ident(q)), fold_ident(n))),
                _ => {
                    self.opaque = true;
                    return ControlFlow::Break(());
                }
            },
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<Conjunct<'a>>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(inner, out)
        }
        other => {
            let mut names = Names::default();
            let _ = other.visit(&mut names);
            if !names.opaque && !names.refs.is_empty() {
                out.push(Conjunct {
                    expr: other,
                    refs: names.refs,
                    applied: false,
                });
            }
        }
    }
}

/// One FROM item, computed.
struct Item<'a> {
    /// Its rows (for a deferred item: its columns from a run with the
    /// earlier items' names unknown).
    q: Qualified,
    /// Set when the item (a function or a `LATERAL` subquery, possibly
    /// inside its joins) reads the items before it: it runs again for each
    /// of their rows.
    lateral: Option<&'a TableWithJoins>,
}

/// The columns and qualifiers of several items side by side.
fn side_by_side<'q>(
    items: impl Iterator<Item = &'q Qualified>,
) -> (Vec<Column>, Vec<Option<String>>) {
    let mut columns = Vec::new();
    let mut quals = Vec::new();
    for q in items {
        columns.extend(q.rel.columns.iter().cloned());
        quals.extend(q.quals.iter().cloned());
    }
    (columns, quals)
}

/// `a AND b AND …` of bound conjuncts (None for none).
fn and_all(parts: Vec<BoundExpr>) -> Option<BoundExpr> {
    parts
        .into_iter()
        .map(|b| b.expr)
        .reduce(|a, b| ScalarExpr::Binary {
            op: BinaryOp::And,
            left: Box::new(a),
            right: Box::new(b),
            ty: DataType::Bool,
        })
        .map(BoundExpr::new)
}

/// Binds the conjuncts not applied yet whose names all resolve in `scope`,
/// and marks them applied.
fn take_fitting(
    ctx: &QueryCtx<'_>,
    conj: &mut [Conjunct<'_>],
    scope: &RelScope<'_>,
) -> SqlResult<Option<BoundExpr>> {
    let mut parts = Vec::new();
    for c in conj.iter_mut().filter(|c| !c.applied && c.fits(scope)) {
        parts.push(ctx.bind(c.expr, scope)?);
        c.applied = true;
    }
    Ok(and_all(parts))
}

/// Filters one item by the conjuncts that read only its columns.
fn filter_item(
    ctx: &QueryCtx<'_>,
    q: Qualified,
    conj: &mut [Conjunct<'_>],
) -> SqlResult<Qualified> {
    let pred = take_fitting(ctx, conj, &q.scope())?;
    match pred {
        None => Ok(q),
        Some(p) => Ok(Qualified {
            rel: relation::filter(q.rel, &p, ctx.eval, ctx.cancel)?,
            quals: q.quals,
        }),
    }
}

/// Moves the conjuncts that read only an audience table's columns into its
/// bitmap filter (those that do not compile stay for the relational layer).
fn push_to_audience(ctx: &QueryCtx<'_>, source: Source, conj: &mut [Conjunct<'_>]) -> Source {
    let Source::Audience {
        table,
        alias,
        mut filter,
    } = source
    else {
        return source;
    };
    for c in conj.iter_mut().filter(|c| !c.applied) {
        let ours = c.refs.iter().all(|(q, n)| {
            q.as_deref().is_none_or(|q| q == alias) && audience_column(&table, n).is_some()
        });
        if !ours {
            continue;
        }
        if let Ok(p) = where_pred(ctx, &table, &alias, filter.clone(), Some(c.expr)) {
            filter = p;
            c.applied = true;
        }
    }
    Source::Audience {
        table,
        alias,
        filter,
    }
}

/// The frames over the FROM items before the current one (`None`: there
/// are none, names resolve in the enclosing query).
#[derive(Clone, Copy, Default)]
struct Earlier<'f> {
    /// What an item that is not `LATERAL` sees of them (only the error
    /// that says it cannot reference them).
    hidden: Option<&'f OuterFrame<'f>>,
    /// What a `LATERAL` item (or a function) sees of them: their columns.
    live: Option<&'f OuterFrame<'f>>,
}

/// A context like `ctx` (same depth) whose enclosing names are `frame`'s.
fn with_outer<'b>(ctx: &'b QueryCtx<'_>, frame: &'b OuterFrame<'b>) -> SqlResult<QueryCtx<'b>> {
    let mut nested = ctx.nested_in(Some(frame))?;
    nested.depth = ctx.depth;
    Ok(nested)
}

/// How an explicit join pairs rows.
enum Constraint<'a> {
    /// `ON cond` (`None`: `CROSS JOIN`, every pair).
    On(Option<&'a Expr>),
    /// `USING (columns)`.
    Using(Vec<String>),
    /// `NATURAL`.
    Natural,
}

/// The kind and constraint of an explicit join.
fn join_kind(op: &JoinOperator) -> SqlResult<(Kind, Constraint<'_>)> {
    let (kind, constraint) = match op {
        JoinOperator::Join(c) | JoinOperator::Inner(c) => (Kind::Inner, Some(c)),
        JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (Kind::Left, Some(c)),
        JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (Kind::Right, Some(c)),
        JoinOperator::FullOuter(c) => (Kind::Full, Some(c)),
        JoinOperator::CrossJoin(_) => (Kind::Inner, None),
        other => return Err(SqlError::unsupported(format!("the join {other:?}"))),
    };
    let constraint = match constraint {
        Some(JoinConstraint::On(e)) => Constraint::On(Some(e)),
        Some(JoinConstraint::None) | None => Constraint::On(None),
        Some(JoinConstraint::Using(names)) => Constraint::Using(using::using_names(names)?),
        Some(JoinConstraint::Natural) => Constraint::Natural,
        Some(JoinConstraint::UsingAlias(..)) => {
            return Err(SqlError::unsupported("JOIN … USING (…) AS alias"));
        }
    };
    Ok((kind, constraint))
}

/// One FROM item with its explicit joins (`a JOIN b ON …`); `earlier` are
/// the frames of the items before it in the FROM list.
fn joined_item(
    ctx: &QueryCtx<'_>,
    item: &TableWithJoins,
    conj: &mut [Conjunct<'_>],
    earlier: Earlier<'_>,
) -> SqlResult<Qualified> {
    let frame = if lateral::capable(&item.relation) {
        earlier.live
    } else {
        earlier.hidden
    };
    let mut source = match frame {
        Some(f) => factor_source(&with_outer(ctx, f)?, &item.relation)?,
        None => factor_source(ctx, &item.relation)?,
    };
    if item.joins.is_empty() {
        source = push_to_audience(ctx, source, conj);
    }
    let mut cur = to_qualified(ctx, source)?;
    for j in &item.joins {
        let (kind, constraint) = join_kind(&j.join_operator)?;
        if let Constraint::On(on) = constraint
            && lateral::capable(&j.relation)
        {
            cur = lateral::join(ctx, cur, &j.relation, kind, on, earlier.live)?;
            continue;
        }
        let right = {
            let scope = cur.scope();
            let hidden = OuterFrame::hidden(&scope, earlier.hidden.or(ctx.outer));
            let nested = with_outer(ctx, &hidden)?;
            to_qualified(&nested, factor_source(&nested, &j.relation)?)?
        };
        cur = match constraint {
            Constraint::On(on) => {
                let cond = on.map(|e| bind_on(ctx, &cur, &right, e)).transpose()?;
                join_two(ctx, cur, right, kind, cond.as_ref())?
            }
            Constraint::Using(names) => using::join(ctx, cur, right, kind, Some(names))?,
            Constraint::Natural => using::join(ctx, cur, right, kind, None)?,
        };
    }
    filter_item(ctx, cur, conj)
}

/// Evaluates a FROM list with joins into one relation; `selection` is the
/// query's WHERE (applied again above, so this only narrows early).
pub(super) fn join_sources(
    ctx: &QueryCtx<'_>,
    from: &[TableWithJoins],
    selection: Option<&Expr>,
) -> SqlResult<Source> {
    let mut conj = Vec::new();
    if let Some(w) = selection {
        conjuncts(w, &mut conj);
    }
    lateral::check_names(from)?;
    let mut items: Vec<Item<'_>> = Vec::with_capacity(from.len());
    for (i, twj) in from.iter().enumerate() {
        let (columns, quals) = side_by_side(items.iter().map(|it| &it.q));
        let scope = RelScope {
            columns: &columns,
            quals: &quals,
        };
        let hidden = OuterFrame::hidden(&scope, ctx.outer);
        if i > 0 && lateral::reads_left(twj) {
            let live = OuterFrame::lateral(&scope, ctx.outer, None);
            let earlier = Earlier {
                hidden: Some(&hidden),
                live: Some(&live),
            };
            let q = joined_item(ctx, twj, &mut [], earlier)?;
            if live.is_correlated() {
                items.push(Item {
                    q,
                    lateral: Some(twj),
                });
                continue;
            }
            let q = filter_item(ctx, q, &mut conj)?;
            items.push(Item { q, lateral: None });
            continue;
        }
        let earlier = Earlier {
            hidden: (i > 0).then_some(&hidden),
            live: None,
        };
        let q = joined_item(ctx, twj, &mut conj, earlier)?;
        items.push(Item { q, lateral: None });
    }
    // Greedy join order.
    let n = items.len();
    let mut done = vec![false; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut acc: Option<Qualified> = None;
    let mut slots: Vec<Option<Item<'_>>> = items.into_iter().map(Some).collect();
    let widths: Vec<usize> = slots
        .iter()
        .map(|s| s.as_ref().map_or(0, |it| it.q.rel.columns.len()))
        .collect();
    while order.len() < n {
        ctx.cancel.check()?;
        let next = pick(&slots, &done, acc.as_ref(), &conj)
            .ok_or_else(|| SqlError::internal("no FROM item left to join"))?;
        let item = slots[next]
            .take()
            .ok_or_else(|| SqlError::internal("FROM item joined twice"))?;
        done[next] = true;
        order.push(next);
        acc = Some(match acc {
            None => filter_item(ctx, item.q, &mut conj)?,
            Some(prev) => match item.lateral {
                Some(twj) => lateral::join_each(ctx, prev, item.q, twj, &mut conj)?,
                None => {
                    let (columns, quals) = join::combined(&prev, &item.q);
                    let scope = RelScope {
                        columns: &columns,
                        quals: &quals,
                    };
                    let cond = take_fitting(ctx, &mut conj, &scope)?;
                    join_two(ctx, prev, item.q, Kind::Inner, cond.as_ref())?
                }
            },
        });
    }
    let q = acc.ok_or_else(|| SqlError::internal("empty FROM"))?;
    let q = from_order(q, &order, &widths);
    Ok(Source::Rel {
        rel: q.rel,
        quals: q.quals,
    })
}

/// The next item to join: a deferred item as soon as the items before it
/// are joined; else the smallest item a conjunct connects to what is
/// joined so far; else the smallest item. Items after a deferred item wait
/// for it, so it sees exactly the items before it.
fn pick(
    slots: &[Option<Item<'_>>],
    done: &[bool],
    acc: Option<&Qualified>,
    conj: &[Conjunct<'_>],
) -> Option<usize> {
    let barrier = slots
        .iter()
        .position(|s| s.as_ref().is_some_and(|it| it.lateral.is_some()))
        .unwrap_or(slots.len());
    let slots = &slots[..barrier.min(slots.len())];
    if let Some(acc) = acc {
        if barrier < done.len() && done[..barrier].iter().all(|d| *d) {
            return Some(barrier);
        }
        let mut best: Option<(bool, usize, usize)> = None;
        for (i, s) in slots.iter().enumerate() {
            let Some(it) = s else { continue };
            if it.lateral.is_some() {
                continue;
            }
            let (columns, quals) = join::combined(acc, &it.q);
            let scope = RelScope {
                columns: &columns,
                quals: &quals,
            };
            let connected = conj.iter().any(|c| !c.applied && c.fits(&scope));
            let cand = (!connected, it.q.rel.rows.len(), i);
            if best.is_none_or(|b| cand < b) {
                best = Some(cand);
            }
        }
        return best.map(|b| b.2);
    }
    slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.as_ref()
                .filter(|it| it.lateral.is_none())
                .map(|it| (it.q.rel.rows.len(), i))
        })
        .min()
        .map(|(_, i)| i)
}

/// Puts the columns of a relation joined in `order` back in FROM order.
fn from_order(q: Qualified, order: &[usize], widths: &[usize]) -> Qualified {
    if order.windows(2).all(|w| w[0] < w[1]) {
        return q;
    }
    let mut start = vec![0; widths.len()];
    let mut at = 0;
    for &i in order {
        start[i] = at;
        at += widths[i];
    }
    let perm: Vec<usize> = (0..widths.len())
        .flat_map(|i| start[i]..start[i] + widths[i])
        .collect();
    let columns = perm.iter().map(|&p| q.rel.columns[p].clone()).collect();
    let quals = perm.iter().map(|&p| q.quals[p].clone()).collect();
    let rows = q
        .rel
        .rows
        .into_iter()
        .map(|mut r| {
            perm.iter()
                .map(|&p| {
                    r.get_mut(p)
                        .map_or(Datum::Null, |d| std::mem::replace(d, Datum::Null))
                })
                .collect()
        })
        .collect();
    Qualified {
        rel: Relation { columns, rows },
        quals,
    }
}
