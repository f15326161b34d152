//! Row output in bounded batches, for exports (`COPY … TO STDOUT`) that
//! must never hold a whole audience in memory.
//!
//! The filter is evaluated once per shard (2^20 row ids); the shard's
//! selected rows are then fetched `batch_rows` at a time through
//! [`fetch_rows`] with a [`Pred::Rows`] of exactly those rows, so memory is
//! one shard's selection bitmap plus one batch of values, whatever the
//! table's size.

use super::filter::{Pred, ShardEval};
use super::parallel::Cancel;
use super::rows::{Fetch, fetch_rows};
use crate::sql::error::SqlResult;
use crate::sql::types::Datum;
use crate::storage::TableSnapshot;
use roaring::RoaringBitmap;
use std::sync::Arc;

/// Calls `emit` with the rows where `filter` is TRUE, in row-id order, in
/// batches of at most `batch_rows` rows (each row the values of `columns`).
/// Stops at the first error, from the engine or from `emit`.
pub fn for_each_batch(
    snap: &TableSnapshot,
    filter: &Pred,
    columns: &[Fetch],
    batch_rows: usize,
    cancel: &Cancel,
    emit: &mut dyn FnMut(Vec<Vec<Datum>>) -> SqlResult<()>,
) -> SqlResult<()> {
    let batch_rows = batch_rows.max(1);
    for shard in 0..snap.shard_count() {
        cancel.check()?;
        let selected = ShardEval::new(snap, shard)?.eval_true(filter)?;
        let mut ids = selected.iter().peekable();
        while ids.peek().is_some() {
            let batch: RoaringBitmap = ids.by_ref().take(batch_rows).collect();
            let n = batch.len() as usize;
            let rows = fetch_rows(
                snap,
                &Pred::Rows(Arc::new(batch)),
                columns,
                0,
                None,
                n,
                cancel,
            )?;
            emit(rows)?;
        }
    }
    Ok(())
}
