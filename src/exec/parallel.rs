//! What a running statement carries into the executor ([`Cancel`]: its
//! cancel flag, deadline and memory budget).
//!
//! Every parallel stage of a statement runs on the persistent worker pool
//! through [`map_shards_pooled`](super::pool::map_shards_pooled), whose
//! work owns its state (a cloned snapshot and predicate behind an `Arc`);
//! the pool checks the token before every shard. [`map_shards`], the old
//! spawn-per-stage fan-out over scoped threads, is kept only as the
//! baseline of the executor benchmark.

use super::memory::{MemoryBudget, Reservation};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

/// A statement's cancellation flag, optional deadline and memory budget,
/// checked between shards and charged by big allocations.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
    memory: Option<Arc<MemoryBudget>>,
    /// Tests: checks left before the token cancels itself.
    #[cfg(test)]
    trip_after: Option<Arc<std::sync::atomic::AtomicU32>>,
}

impl Cancel {
    /// A token that is never cancelled and has no deadline.
    pub fn none() -> Cancel {
        Cancel::default()
    }

    /// A token sharing `flag`, expiring at `deadline`.
    pub fn new(flag: Arc<AtomicBool>, deadline: Option<Instant>) -> Cancel {
        Cancel {
            flag,
            deadline,
            memory: None,
            #[cfg(test)]
            trip_after: None,
        }
    }

    /// Tests: this token, cancelling itself at its `(checks + 1)`-th check,
    /// so a test can cancel a statement in the middle of a stage.
    #[cfg(test)]
    pub(crate) fn cancel_after_checks(mut self, checks: u32) -> Cancel {
        self.trip_after = Some(Arc::new(std::sync::atomic::AtomicU32::new(checks)));
        self
    }

    /// This token with a fresh memory budget of `limit` bytes for the
    /// statement (0 = unlimited; without a budget nothing is limited).
    pub fn with_memory_limit(mut self, limit: u64) -> Cancel {
        self.memory = Some(Arc::new(MemoryBudget::new(limit)));
        self
    }

    /// Charges `bytes` for `what` to the statement's memory budget until the
    /// statement ends: 53200 if over `query_memory_limit`.
    pub fn charge(&self, bytes: u64, what: &str) -> SqlResult<()> {
        match &self.memory {
            Some(m) => m.charge(bytes, what),
            None => Ok(()),
        }
    }

    /// Charges `bytes` for `what` until the returned reservation drops.
    pub fn reserve(&self, bytes: u64, what: &str) -> SqlResult<Reservation> {
        match &self.memory {
            Some(m) => {
                m.charge(bytes, what)?;
                Ok(Reservation::new(m.clone(), bytes))
            }
            None => Ok(Reservation::empty()),
        }
    }

    /// Bytes charged to the statement's budget now (0 without a budget).
    pub fn memory_used(&self) -> u64 {
        self.memory.as_ref().map_or(0, |m| m.used())
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// 57014 if cancelled or past the deadline.
    pub fn check(&self) -> SqlResult<()> {
        #[cfg(test)]
        if let Some(left) = &self.trip_after
            && left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_err()
        {
            self.cancel();
        }
        if self.flag.load(Ordering::Relaxed) {
            return Err(SqlError::new(
                SqlState::QueryCanceled,
                "canceling statement due to user request",
            ));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SqlError::new(
                SqlState::QueryCanceled,
                "canceling statement due to statement timeout",
            ));
        }
        Ok(())
    }
}

fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(16)
}

/// Runs `work(shard)` for every shard in `0..shards`, in parallel on scoped
/// threads spawned for this call, and returns the results in shard order.
/// Stops at the first error.
///
/// No statement uses this: it is the old spawn-per-stage path, kept as the
/// baseline that `benches/exec.rs` measures the pool against. Run stages
/// with [`map_shards_pooled`](super::pool::map_shards_pooled).
pub fn map_shards<R, F>(shards: u32, cancel: &Cancel, work: F) -> SqlResult<Vec<R>>
where
    R: Send,
    F: Fn(u32) -> SqlResult<R> + Sync,
{
    let threads = workers().min(shards as usize);
    if threads <= 1 {
        let mut out = Vec::with_capacity(shards as usize);
        for s in 0..shards {
            cancel.check()?;
            out.push(work(s)?);
        }
        return Ok(out);
    }
    let next = AtomicU32::new(0);
    let failed = AtomicBool::new(false);
    let results = crossbeam::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|_| {
                    let mut mine = Vec::new();
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            break;
                        }
                        let s = next.fetch_add(1, Ordering::Relaxed);
                        if s >= shards {
                            break;
                        }
                        let r = cancel.check().and_then(|()| work(s));
                        if r.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        mine.push((s, r));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
    })
    .map_err(|_| SqlError::internal("a shard worker panicked"))?;
    let mut all: Vec<(u32, SqlResult<R>)> = Vec::with_capacity(shards as usize);
    for r in results {
        all.extend(r.map_err(|_| SqlError::internal("a shard worker panicked"))?);
    }
    all.sort_by_key(|(s, _)| *s);
    all.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_token_is_57014_and_a_past_deadline_too() {
        let c = Cancel::none();
        c.check().expect("fresh token");
        c.cancel();
        let err = c.check().expect_err("cancelled");
        assert_eq!(err.state, SqlState::QueryCanceled);
        assert_eq!(err.message, "canceling statement due to user request");
        let late = Cancel::new(Arc::new(AtomicBool::new(false)), Some(Instant::now()));
        let err = late.check().expect_err("timed out");
        assert_eq!(err.message, "canceling statement due to statement timeout");
    }

    #[test]
    fn the_scoped_baseline_keeps_shard_order_and_stops_when_cancelled() {
        let out = map_shards(37, &Cancel::none(), |s| Ok(s * 2)).expect("ok");
        assert_eq!(out, (0..37).map(|s| s * 2).collect::<Vec<_>>());
        let c = Cancel::none();
        c.cancel();
        let err = map_shards(3, &c, Ok).expect_err("cancelled");
        assert_eq!(err.state, SqlState::QueryCanceled);
    }
}
