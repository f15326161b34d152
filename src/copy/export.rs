//! One `COPY … TO STDOUT`, producing encoded rows in batches through a
//! callback (the server forwards each batch as CopyData messages, one per
//! row, and waits for the client before asking for more). In binary
//! format, as in PostgreSQL, the file header travels with the first row
//! and the trailer in a message of its own.
//!
//! Memory stays bounded by one batch, never by the result:
//! - `COPY t [(cols)] TO STDOUT` walks the table shard by shard
//!   ([`for_each_batch`]): one shard's selection bitmap plus one batch of
//!   values (about [`BATCH_CELLS`] values) at a time.
//! - `COPY (SELECT … FROM t_or_view WHERE …) TO STDOUT`, when the query is
//!   plain row output (no ORDER BY, LIMIT, DISTINCT, grouping, aggregates,
//!   window functions or subqueries) over an audience table or views that
//!   only filter one, runs as consecutive `LIMIT/OFFSET` windows on one
//!   snapshot. Row output is in row-id order, so the windows are disjoint
//!   and cover the result exactly; each window re-evaluates the filter of
//!   the shards before it (cheap bitmap work, no values).
//! - Any other query (aggregates, joins, catalog relations) yields a
//!   relation of at most 1,000,000 rows (the engine's limit), encoded in
//!   batches.

use super::binary::file::{TRAILER, write_header, write_tuple};
use super::codec::encode_field;
use super::options::{CopyFormat, CopyOptions};
use super::target;
use super::{CopyError, CopyResult};
use crate::catalog::Catalog;
use crate::db::{Db, Session};
use crate::exec::filter::Pred;
use crate::exec::rows::Fetch;
use crate::exec::stream::for_each_batch;
use crate::index::KeyType;
use crate::sql::aggregates::has_aggregate;
use crate::sql::relation::Relation;
use crate::sql::scalar::{EvalContext, format_text};
use crate::sql::select::{QueryCtx, run_query, table_name};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{
    CopySource, Expr, GroupByExpr, LimitClause, Offset, OffsetRows, Query, SetExpr, Statement,
    TableFactor, Visit, Visitor,
};
use std::ops::ControlFlow;

/// Values per batch (rows × columns): about 1 MiB of output for typical
/// tags, whatever the table's width.
pub const BATCH_CELLS: usize = 1 << 20;

/// Most rows per batch, for narrow results.
const BATCH_ROWS_MAX: usize = 65_536;

/// Views followed when deciding whether a query can be windowed.
const VIEW_DEPTH_MAX: usize = 8;

/// What the exporter hands to the server.
#[derive(Debug)]
pub enum ExportChunk {
    /// Output begins with this many columns (sent once, before any rows).
    Start {
        /// Columns per row.
        columns: usize,
        /// The rows are in PostgreSQL's binary format.
        binary: bool,
    },
    /// Encoded lines (the header line too): line `i` is
    /// `data[ends[i-1]..ends[i]]`, each ending with `\n` (binary: one
    /// tuple each, the file header with the first, the trailer alone).
    Lines {
        /// The bytes.
        data: Vec<u8>,
        /// End offset of each line.
        ends: Vec<usize>,
    },
}

/// Encodes rows into line chunks.
struct Encoder<'a> {
    opts: CopyOptions,
    types: Vec<DataType>,
    ctx: EvalContext,
    send: &'a mut dyn FnMut(ExportChunk) -> bool,
    rows: u64,
    /// Binary: the file header is still to be written (before the first
    /// tuple, or with the trailer).
    header_pending: bool,
}

impl Encoder<'_> {
    fn binary(&self) -> bool {
        self.opts.format == CopyFormat::Binary
    }

    fn start(&mut self, names: &[String]) -> CopyResult<()> {
        self.push(ExportChunk::Start {
            columns: names.len(),
            binary: self.binary(),
        })?;
        self.header_pending = self.binary();
        if self.opts.header {
            let mut data = Vec::new();
            let single = names.len() == 1;
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    data.push(self.opts.delimiter);
                }
                encode_field(Some(n), &self.opts, single, &mut data);
            }
            data.push(b'\n');
            let ends = vec![data.len()];
            self.push(ExportChunk::Lines { data, ends })?;
        }
        Ok(())
    }

    fn push(&mut self, chunk: ExportChunk) -> CopyResult<()> {
        if (self.send)(chunk) {
            Ok(())
        } else {
            Err(CopyError::new(
                "08006",
                "the client went away during COPY TO STDOUT",
            ))
        }
    }

    fn rows(&mut self, rows: &[Vec<Datum>]) -> CopyResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut data = Vec::with_capacity(rows.len() * 16 * self.types.len().max(1));
        let mut ends = Vec::with_capacity(rows.len());
        if self.binary() {
            if std::mem::take(&mut self.header_pending) {
                write_header(&mut data);
            }
            for row in rows {
                write_tuple(row, &self.types, &mut data)?;
                ends.push(data.len());
            }
            self.rows += rows.len() as u64;
            return self.push(ExportChunk::Lines { data, ends });
        }
        let single = self.types.len() == 1;
        for row in rows {
            for (i, d) in row.iter().enumerate() {
                if i > 0 {
                    data.push(self.opts.delimiter);
                }
                let ty = self.types.get(i).copied().unwrap_or(DataType::Text);
                let text = format_text(d, ty, &self.ctx);
                encode_field(text.as_deref(), &self.opts, single, &mut data);
            }
            data.push(b'\n');
            ends.push(data.len());
        }
        self.rows += rows.len() as u64;
        self.push(ExportChunk::Lines { data, ends })
    }
}

impl Encoder<'_> {
    /// Ends the output: the binary trailer (after the header if no row
    /// was written), in a message of its own.
    fn finish(&mut self) -> CopyResult<()> {
        if !self.binary() {
            return Ok(());
        }
        let mut data = Vec::with_capacity(21);
        if std::mem::take(&mut self.header_pending) {
            write_header(&mut data);
        }
        data.extend_from_slice(&TRAILER);
        let ends = vec![data.len()];
        self.push(ExportChunk::Lines { data, ends })
    }
}

fn batch_rows(columns: usize) -> usize {
    (BATCH_CELLS / columns.max(1)).clamp(256, BATCH_ROWS_MAX)
}

/// Runs `stmt`, a `COPY … TO STDOUT`, for `session`, handing chunks to
/// `send` (which returns `false` once the client is gone). Returns the rows
/// written. Reads one snapshot throughout.
pub fn export(
    db: &Db,
    session: &Session,
    stmt: &Statement,
    send: &mut dyn FnMut(ExportChunk) -> bool,
) -> CopyResult<u64> {
    let Statement::Copy {
        source,
        options,
        legacy_options,
        ..
    } = stmt
    else {
        return Err(CopyError::new("XX000", "not a COPY TO statement"));
    };
    let opts = CopyOptions::from_ast(options, legacy_options)?;
    db.with_statement_ctx(session, |ctx| export_in(ctx, source, opts, send))
}

fn export_in(
    ctx: &QueryCtx<'_>,
    source: &CopySource,
    opts: CopyOptions,
    send: &mut dyn FnMut(ExportChunk) -> bool,
) -> CopyResult<u64> {
    let mut enc = Encoder {
        opts,
        types: Vec::new(),
        ctx: ctx.eval.clone(),
        send,
        rows: 0,
        header_pending: false,
    };
    match source {
        CopySource::Table {
            table_name,
            columns,
        } => {
            let t = target::resolve(ctx.snapshot, table_name, columns, true)?;
            let key_ty = match t.table.schema().key_type {
                KeyType::BigInt => DataType::Int8,
                KeyType::Text => DataType::Text,
            };
            enc.types = t
                .columns
                .iter()
                .map(|(_, f)| match *f {
                    Fetch::Key => key_ty,
                    Fetch::Tag(_, ty) => DataType::of_column(ty),
                })
                .collect();
            let names: Vec<String> = t.columns.iter().map(|(n, _)| n.clone()).collect();
            enc.start(&names)?;
            let fetch: Vec<Fetch> = t.columns.iter().map(|(_, f)| *f).collect();
            let mut failed = None;
            let r = for_each_batch(
                &t.table,
                &Pred::Const(Some(true)),
                &fetch,
                batch_rows(fetch.len()),
                ctx.cancel,
                &mut |rows| {
                    enc.rows(&rows).map_err(|e| {
                        failed = Some(e);
                        crate::sql::error::SqlError::new(
                            crate::sql::error::SqlState::QueryCanceled,
                            "COPY stopped",
                        )
                    })
                },
            );
            if let Some(e) = failed {
                return Err(e);
            }
            r?;
        }
        CopySource::Query(q) => {
            if windowable(ctx, q, 0) {
                export_windows(ctx, q, &mut enc)?;
            } else {
                let rel = run_query(ctx, q)?;
                start_relation(&mut enc, &rel)?;
                for chunk in rel.rows.chunks(batch_rows(rel.columns.len())) {
                    enc.rows(chunk)?;
                }
            }
        }
    }
    enc.finish()?;
    Ok(enc.rows)
}

fn start_relation(enc: &mut Encoder<'_>, rel: &Relation) -> CopyResult<()> {
    enc.types = rel.columns.iter().map(|c| c.ty).collect();
    let names: Vec<String> = rel.columns.iter().map(|c| c.name.clone()).collect();
    enc.start(&names)
}

/// Runs `q` in consecutive LIMIT/OFFSET windows (see the module docs).
fn export_windows(ctx: &QueryCtx<'_>, q: &Query, enc: &mut Encoder<'_>) -> CopyResult<()> {
    let mut offset = 0usize;
    // The first window also learns the columns; later ones are sized to them.
    let mut window = BATCH_ROWS_MAX;
    let mut started = false;
    loop {
        let mut wq = q.clone();
        wq.limit_clause = Some(LimitClause::LimitOffset {
            limit: Some(number(window)),
            offset: Some(Offset {
                value: number(offset),
                rows: OffsetRows::None,
            }),
            limit_by: Vec::new(),
        });
        let rel = run_query(ctx, &wq)?;
        if !started {
            start_relation(enc, &rel)?;
            started = true;
        }
        let batch = batch_rows(rel.columns.len());
        for chunk in rel.rows.chunks(batch) {
            enc.rows(chunk)?;
        }
        let got = rel.rows.len();
        if got < window {
            return Ok(());
        }
        offset += got;
        window = batch;
    }
}

fn number(n: usize) -> Expr {
    Expr::value(sqlparser::ast::Value::Number(n.to_string(), false))
}

/// Whether `q` is plain row output over an audience table (directly or
/// through views that only filter), so that LIMIT/OFFSET windows of it are
/// disjoint and in a stable order.
fn windowable(ctx: &QueryCtx<'_>, q: &Query, depth: usize) -> bool {
    if depth > VIEW_DEPTH_MAX
        || q.with.is_some()
        || q.order_by.is_some()
        || q.limit_clause.is_some()
        || q.fetch.is_some()
        || !q.locks.is_empty()
    {
        return false;
    }
    let SetExpr::Select(s) = q.body.as_ref() else {
        return false;
    };
    let plain_groups =
        matches!(&s.group_by, GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty());
    if s.distinct.is_some()
        || !plain_groups
        || s.having.is_some()
        || s.from.len() != 1
        || !s.from[0].joins.is_empty()
        || !s.named_window.is_empty()
        || s.qualify.is_some()
    {
        return false;
    }
    let exprs_plain = s.projection.iter().all(|item| {
        let e = match item {
            sqlparser::ast::SelectItem::UnnamedExpr(e)
            | sqlparser::ast::SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => return true,
        };
        row_wise(e)
    }) && s.selection.as_ref().is_none_or(row_wise);
    if !exprs_plain {
        return false;
    }
    let TableFactor::Table {
        name, args: None, ..
    } = &s.from[0].relation
    else {
        return false;
    };
    let Ok((schema, table)) = table_name(name) else {
        return false;
    };
    if !matches!(schema.as_deref(), None | Some("public")) {
        return false;
    }
    if ctx.snapshot.table(&table).is_some() {
        return true;
    }
    match Catalog::new(ctx.snapshot).view(&table) {
        Some(v) if v.materialized => v.base_table.is_some(),
        Some(v) => match crate::sql::parse(&v.sql) {
            Ok(stmts) => match stmts.as_slice() {
                [Statement::Query(inner)] => windowable(ctx, inner, depth + 1),
                _ => false,
            },
            Err(_) => false,
        },
        None => false,
    }
}

/// No aggregates, window functions, set-returning `unnest` or subqueries:
/// one output row per input row.
fn row_wise(e: &Expr) -> bool {
    struct Find;
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            ControlFlow::Break(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Function(f)
                    if f.over.is_some()
                        || f.name.to_string().eq_ignore_ascii_case("unnest")
                        || f.name.to_string().eq_ignore_ascii_case("generate_series") =>
                {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    !has_aggregate(e) && e.visit(&mut Find).is_continue()
}
