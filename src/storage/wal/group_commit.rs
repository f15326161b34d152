//! Group commit: many concurrent writers share one commit (one fsync).
//!
//! This is the leader/follower write group of LevelDB and RocksDB, generic
//! over the item type `T` and the per-item result `R`, and independent of the
//! WAL (the store supplies the commit closure).
//!
//! # Protocol
//!
//! All state lives behind one mutex: a FIFO queue of pending items, a flag
//! "a leader is committing", and the results handed to finished followers.
//!
//! 1. [`GroupCommit::submit`] appends its item to the queue (arrival order is
//!    the order in which submitters take the mutex).
//! 2. A submitter whose item is at the front of the queue while no leader is
//!    committing becomes the **leader**. It sets the flag, removes up to
//!    `max_batch` items from the front of the queue (its own item first, then
//!    the others in FIFO order), releases the mutex, and calls *its* `commit`
//!    closure with the batch. The closures of followers are never called.
//! 3. Everyone else is a **follower** and sleeps on its own condition variable
//!    (no spinning, no thundering herd). Items that arrive while a leader
//!    commits queue up and form the next batch, so the batch size adapts to the
//!    fsync latency: one writer pays one fsync per write, N concurrent writers
//!    share roughly one fsync per batch.
//! 4. When `commit` returns one result per item, the leader takes the mutex,
//!    stores each follower's result, clears the flag, wakes the new front of
//!    the queue (the next leader) and then each follower of its batch, and
//!    returns its own result.
//!
//! Invariants: at most one leader at a time, so commits never overlap and
//! batches are committed in arrival order; every submitted item is in exactly
//! one batch; each submitter gets back the result at its item's position.
//!
//! # Failures
//!
//! - `commit` reports failures through `R` (e.g. `R = Result<Lsn, Arc<E>>`):
//!   a per-item error fails that item alone; a batch-wide error (the fsync
//!   failed) should be cloned into every item's result, and none of them may
//!   be acknowledged.
//! - If `commit` panics, every follower of that batch gets
//!   [`GroupCommitError::LeaderPanicked`] and the leader's `submit` resumes the
//!   panic. Whether the batch reached the disk is unknown: the caller must treat
//!   the log as poisoned. Later submitters are not affected: a new leader is
//!   elected as usual.
//! - If `commit` returns a number of results different from the number of items
//!   (a bug in the closure), every item of the batch gets
//!   [`GroupCommitError::ResultCountMismatch`].

use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

/// Why [`GroupCommit::submit`] could not return the commit's result for an item.
///
/// In both cases the item may or may not have been committed: the caller must
/// not acknowledge it and should consider the log unusable until recovery.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupCommitError {
    /// The leader's `commit` closure panicked while committing this item's batch.
    #[error("the group commit leader panicked while committing this write; its fate is unknown")]
    LeaderPanicked,
    /// The `commit` closure returned the wrong number of results.
    #[error("group commit returned {results} results for {items} items")]
    ResultCountMismatch {
        /// Items in the batch.
        items: usize,
        /// Results returned by `commit`.
        results: usize,
    },
}

/// A leader/follower write group; see the [module documentation](self) for
/// the protocol.
///
/// `Send + Sync` when `T` and `R` are `Send`; share it by reference or `Arc`.
/// Cost per submit: one mutex round trip to enqueue, one to collect the
/// result, and one small allocation (the waiter's condition variable).
pub struct GroupCommit<T, R> {
    /// Most items per commit, at least 1.
    max_batch: usize,
    state: Mutex<State<T, R>>,
}

struct State<T, R> {
    /// Items not yet taken by a leader, in arrival order.
    queue: VecDeque<Pending<T>>,
    /// Results for followers whose batch has been committed, by ticket.
    done: HashMap<u64, Result<R, GroupCommitError>>,
    /// Whether a leader is between taking its batch and handing out results.
    leading: bool,
    /// Ticket of the next submitted item.
    next_ticket: u64,
}

struct Pending<T> {
    ticket: u64,
    item: T,
    /// The submitter sleeps on this; only it waits on it.
    wake: Arc<Condvar>,
}

impl<T: Send, R: Send> GroupCommit<T, R> {
    /// An empty write group that commits at most `max_batch` items at once
    /// (`0` is treated as `1`, which disables grouping).
    pub fn new(max_batch: usize) -> Self {
        GroupCommit {
            max_batch: max_batch.max(1),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                done: HashMap::new(),
                leading: false,
                next_ticket: 0,
            }),
        }
    }

    /// Submits `item` and blocks until the batch holding it has been committed;
    /// returns the result `commit` produced for this item.
    ///
    /// If this caller becomes the leader, `commit` is called (once) with the
    /// batch, this item first, and must return one result per item in the same
    /// order. Otherwise `commit` is dropped unused and another submitter's
    /// closure commits the item. See the module documentation for the protocol
    /// and the failure cases; if this caller's own `commit` panics, the panic
    /// is resumed here after the followers have been released.
    pub fn submit(
        &self,
        item: T,
        commit: impl FnOnce(Vec<T>) -> Vec<R>,
    ) -> Result<R, GroupCommitError> {
        let wake = Arc::new(Condvar::new());
        let mut state = self.state.lock();
        let ticket = state.next_ticket;
        state.next_ticket = state.next_ticket.wrapping_add(1);
        state.queue.push_back(Pending {
            ticket,
            item,
            wake: Arc::clone(&wake),
        });
        loop {
            if let Some(outcome) = state.done.remove(&ticket) {
                return outcome;
            }
            let at_front = state.queue.front().is_some_and(|p| p.ticket == ticket);
            if at_front && !state.leading {
                break;
            }
            wake.wait(&mut state);
        }

        // Leader: our item is at the front, so it is the first of the batch.
        state.leading = true;
        let take = self.max_batch.min(state.queue.len());
        let mut items = Vec::with_capacity(take);
        let mut waiters = Vec::with_capacity(take);
        for pending in state.queue.drain(..take) {
            items.push(pending.item);
            waiters.push((pending.ticket, pending.wake));
        }
        drop(state);

        let outcome = catch_unwind(AssertUnwindSafe(move || commit(items)));

        let mut panic = None;
        let mut outcomes: Vec<Result<R, GroupCommitError>> = match outcome {
            Ok(results) if results.len() == waiters.len() => results.into_iter().map(Ok).collect(),
            Ok(results) => {
                let err = GroupCommitError::ResultCountMismatch {
                    items: waiters.len(),
                    results: results.len(),
                };
                waiters.iter().map(|_| Err(err.clone())).collect()
            }
            Err(payload) => {
                panic = Some(payload);
                waiters
                    .iter()
                    .map(|_| Err(GroupCommitError::LeaderPanicked))
                    .collect()
            }
        };
        // `waiters` is never empty: it holds at least our own item.
        let own = outcomes.remove(0);

        let mut state = self.state.lock();
        state.leading = false;
        let next_leader = state.queue.front().map(|p| Arc::clone(&p.wake));
        for ((ticket, _), result) in waiters.iter().skip(1).zip(outcomes) {
            state.done.insert(*ticket, result);
        }
        drop(state);
        // Waking after unlocking is safe: each waiter re-checks its condition
        // under the mutex before sleeping, and the condition is already set.
        if let Some(wake) = next_leader {
            wake.notify_one();
        }
        for (_, wake) in waiters.iter().skip(1) {
            wake.notify_one();
        }

        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        own
    }
}

impl<T, R> fmt::Debug for GroupCommit<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("GroupCommit")
            .field("max_batch", &self.max_batch)
            .field("queued", &state.queue.len())
            .field("leading", &state.leading)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    const THREADS: u64 = 32;
    const SUBMITS: u64 = 200;

    /// Runs THREADS × SUBMITS submits of `(thread, i)`; the commit closure
    /// records each batch, sleeps `sleep`, and returns `thread * 1_000_000 + i`
    /// per item. Returns the recorded batches; asserts per-caller results.
    fn run(max_batch: usize, sleep: Duration) -> Vec<Vec<(u64, u64)>> {
        let group = GroupCommit::<(u64, u64), u64>::new(max_batch);
        let batches = Mutex::new(Vec::new());
        thread::scope(|s| {
            for t in 0..THREADS {
                let group = &group;
                let batches = &batches;
                s.spawn(move || {
                    for i in 0..SUBMITS {
                        let result = group.submit((t, i), |items| {
                            let results = items.iter().map(|&(t, i)| t * 1_000_000 + i).collect();
                            batches.lock().push(items);
                            if !sleep.is_zero() {
                                thread::sleep(sleep);
                            }
                            results
                        });
                        assert_eq!(result, Ok(t * 1_000_000 + i), "result routed to its caller");
                    }
                });
            }
        });
        batches.into_inner()
    }

    #[test]
    fn every_item_is_committed_exactly_once() {
        let batches = run(64, Duration::ZERO);
        let mut all: Vec<(u64, u64)> = batches.iter().flatten().copied().collect();
        assert_eq!(all.len() as u64, THREADS * SUBMITS);
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            all.len() as u64,
            THREADS * SUBMITS,
            "no item committed twice"
        );
    }

    #[test]
    fn batches_keep_each_submitters_order() {
        let batches = run(8, Duration::ZERO);
        let mut next = vec![0u64; THREADS as usize];
        for (t, i) in batches.iter().flatten() {
            assert_eq!(next[*t as usize], *i, "thread {t} items in FIFO order");
            next[*t as usize] += 1;
        }
    }

    #[test]
    fn batches_respect_max_batch() {
        let batches = run(4, Duration::from_micros(50));
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 4));
    }

    #[test]
    fn slow_commits_group_concurrent_writers() {
        let batches = run(1024, Duration::from_millis(1));
        let average = (THREADS * SUBMITS) as f64 / batches.len() as f64;
        assert!(average > 1.0, "average batch {average} proves no grouping");
        eprintln!(
            "{} commits, average batch {average:.1}, largest {}",
            batches.len(),
            batches.iter().map(Vec::len).max().unwrap_or(0)
        );
    }

    #[test]
    fn a_lone_submitter_commits_its_own_item() {
        let group = GroupCommit::<u32, u32>::new(0);
        assert_eq!(
            group.submit(7, |items| items.iter().map(|x| x + 1).collect()),
            Ok(8)
        );
        assert_eq!(group.submit(9, |items| items), Ok(9));
    }

    #[test]
    fn wrong_result_count_fails_the_whole_batch() {
        let group = GroupCommit::<u32, u32>::new(4);
        assert_eq!(
            group.submit(1, |_| Vec::new()),
            Err(GroupCommitError::ResultCountMismatch {
                items: 1,
                results: 0
            })
        );
        assert_eq!(
            group.submit(2, |items| items),
            Ok(2),
            "the group still works"
        );
    }

    #[test]
    fn a_panicking_commit_releases_followers_and_later_writers() {
        let group = GroupCommit::<(u64, u64), u64>::new(16);
        let (done_tx, done_rx) = mpsc::channel();
        thread::scope(|s| {
            for t in 0..THREADS {
                let group = &group;
                let done_tx = done_tx.clone();
                s.spawn(move || {
                    let (mut ok, mut failed) = (0u64, 0u64);
                    for i in 0..SUBMITS {
                        let outcome = catch_unwind(AssertUnwindSafe(|| {
                            group.submit((t, i), |items| {
                                // Every batch holding an item with i % 7 == 3 panics.
                                if items.iter().any(|&(_, i)| i % 7 == 3) {
                                    panic!("injected commit panic");
                                }
                                thread::sleep(Duration::from_micros(100));
                                items.iter().map(|&(_, i)| i).collect()
                            })
                        }));
                        match outcome {
                            Ok(Ok(result)) => {
                                assert_eq!(result, i);
                                ok += 1;
                            }
                            Ok(Err(GroupCommitError::LeaderPanicked)) | Err(_) => failed += 1,
                            Ok(Err(e)) => panic!("unexpected {e}"),
                        }
                    }
                    let _ = done_tx.send((ok, failed));
                });
            }
            drop(done_tx);
            let (mut ok, mut failed) = (0, 0);
            for _ in 0..THREADS {
                let (o, f) = done_rx
                    .recv_timeout(Duration::from_secs(60))
                    .expect("a submitter hung after a commit panic");
                ok += o;
                failed += f;
            }
            assert_eq!(ok + failed, THREADS * SUBMITS);
            assert!(
                failed >= THREADS * SUBMITS / 7,
                "every i % 7 == 3 item failed"
            );
            assert!(ok > 0);
        });
    }
}
