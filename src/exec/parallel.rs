//! Running per-shard work in parallel.
//!
//! Each query fans its shards out over at most `available_parallelism()`
//! scoped threads (crossbeam) that pull shard numbers from a shared counter;
//! a table of one shard runs inline. Cancellation and timeouts are checked
//! between shards through [`Cancel`].

use crate::sql::error::{SqlError, SqlResult, SqlState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

/// A cancellation flag and an optional deadline, checked between shards.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl Cancel {
    /// A token that is never cancelled and has no deadline.
    pub fn none() -> Cancel {
        Cancel::default()
    }

    /// A token sharing `flag`, expiring at `deadline`.
    pub fn new(flag: Arc<AtomicBool>, deadline: Option<Instant>) -> Cancel {
        Cancel { flag, deadline }
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

/// Runs `work(shard)` for every shard in `0..shards`, in parallel, and
/// returns the results in shard order. Stops at the first error.
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
