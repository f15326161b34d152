//! What a running statement carries into the executor ([`Cancel`]: its
//! cancel flag, deadline and memory budget), and per-shard parallelism for
//! callers that borrow their state.
//!
//! Stages whose work can own its state (a cloned snapshot and predicate) run
//! on the persistent pool through
//! [`map_shards_pooled`](super::pool::map_shards_pooled). [`map_shards`]
//! serves closures that borrow from the caller's stack: it fans shards out
//! over scoped threads (crossbeam) that pull shard numbers from a shared
//! counter, paying a thread spawn per worker per stage; a table of one shard
//! runs inline. Cancellation and timeouts are checked between shards.

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
        }
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
/// threads, and returns the results in shard order. Stops at the first
/// error. Prefer [`map_shards_pooled`](super::pool::map_shards_pooled) when
/// the work can own its state: it spawns no thread.
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
    fn results_come_back_in_shard_order() {
        let out = map_shards(37, &Cancel::none(), |s| Ok(s * 2)).expect("ok");
        assert_eq!(out, (0..37).map(|s| s * 2).collect::<Vec<_>>());
    }

    #[test]
    fn first_error_is_returned() {
        let r = map_shards(8, &Cancel::none(), |s| {
            if s == 5 {
                Err(SqlError::internal("boom"))
            } else {
                Ok(s)
            }
        });
        assert!(r.is_err());
    }

    #[test]
    fn cancelled_token_stops_with_57014() {
        let c = Cancel::none();
        c.cancel();
        let err = map_shards(3, &c, Ok).expect_err("cancelled");
        assert_eq!(err.state, SqlState::QueryCanceled);
    }
}
