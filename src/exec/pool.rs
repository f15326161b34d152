//! The executor's persistent worker pool: threads created once per process
//! that take jobs from a crossbeam channel, so a query stage costs a few
//! channel messages instead of a thread spawn per worker.
//!
//! [`map_shards_pooled`] splits a stage into shards: the calling thread (a
//! blocking thread of the server, never the async reactor) works on shards
//! itself and asks up to `threads - 1` pool workers to help. Shards are
//! claimed from a shared counter, so a helper that starts late (the pool is
//! busy with other queries) finds no shard left and costs nothing, and the
//! caller never waits for a helper that has not started: nested or
//! concurrent stages cannot deadlock. A panic inside a shard is caught and
//! becomes that shard's internal error (XX000); the worker thread lives on.

use super::parallel::Cancel;
use crate::sql::error::{SqlError, SqlResult};
use crossbeam::channel::{Receiver, Sender, unbounded};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A unit of work for a pool thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// Most pool threads, whatever the configuration says.
pub const THREADS_MAX: usize = 256;

/// A fixed set of threads running jobs from a channel.
pub struct WorkerPool {
    jobs: Sender<Job>,
    threads: usize,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("threads", &self.threads)
            .finish()
    }
}

impl WorkerPool {
    /// Starts `threads` workers (at least 1, at most [`THREADS_MAX`]). If a
    /// thread cannot be spawned the pool runs with those that started; with
    /// none, [`WorkerPool::threads`] is 0 and every stage runs inline.
    pub fn new(threads: usize) -> WorkerPool {
        let (jobs, rx) = unbounded::<Job>();
        let mut started = 0;
        for i in 0..threads.clamp(1, THREADS_MAX) {
            let rx: Receiver<Job> = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("audb-exec-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        // Jobs catch their own panics; this is a last guard
                        // so that the thread survives whatever a job does.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::warn!("cannot start executor thread {i}: {e}"),
            }
        }
        WorkerPool {
            jobs,
            threads: started,
        }
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Queues `job`; false if no worker can run it.
    fn submit(&self, job: Job) -> bool {
        self.threads > 0 && self.jobs.send(job).is_ok()
    }
}

/// Threads the process-wide pool will get if it is not started yet
/// (0 = `available_parallelism`).
static WANTED_THREADS: AtomicUsize = AtomicUsize::new(0);
static POOL: OnceLock<WorkerPool> = OnceLock::new();

/// The default pool size: the machine's available parallelism.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Sets the size of the process-wide pool (0 = [`default_threads`]). Takes
/// effect only before the pool's first use; returns whether it did.
pub fn configure(threads: usize) -> bool {
    if POOL.get().is_some() {
        return global().threads() == threads.clamp(1, THREADS_MAX) || threads == 0;
    }
    WANTED_THREADS.store(threads, Ordering::Relaxed);
    true
}

/// The process-wide pool, started on first use.
pub fn global() -> &'static WorkerPool {
    POOL.get_or_init(|| {
        let wanted = WANTED_THREADS.load(Ordering::Relaxed);
        WorkerPool::new(if wanted == 0 {
            default_threads()
        } else {
            wanted
        })
    })
}

#[cfg(test)]
thread_local! {
    /// Tests: stages this thread has started on a pool.
    static STAGES_STARTED_HERE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Tests: how many stages the calling thread has run through
/// [`map_shards_on`] (so a test can tell that a statement used the pool).
#[cfg(test)]
pub(crate) fn stages_started_here() -> u64 {
    STAGES_STARTED_HERE.with(std::cell::Cell::get)
}

/// What the caller and its helpers share for one stage.
struct Stage<F> {
    shards: u32,
    /// Next shard to claim; `shards` once closed.
    next: AtomicU32,
    failed: AtomicBool,
    cancel: Cancel,
    work: F,
}

impl<F> Stage<F> {
    /// Claims the next shard, unless all are claimed or one failed.
    fn claim(&self) -> Option<u32> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        self.next
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.shards).then_some(n + 1)
            })
            .ok()
    }

    /// Stops further claims; returns how many shards were claimed.
    fn close(&self) -> u32 {
        self.next
            .swap(self.shards, Ordering::AcqRel)
            .min(self.shards)
    }
}

/// Runs one shard: checks cancellation first, turns a panic into XX000.
fn run_one<R, F>(stage: &Stage<F>, shard: u32) -> SqlResult<R>
where
    F: Fn(u32) -> SqlResult<R>,
{
    let r = stage.cancel.check().and_then(|()| {
        catch_unwind(AssertUnwindSafe(|| (stage.work)(shard))).unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(shard, "a shard worker panicked: {what}");
            Err(SqlError::internal(format!(
                "a shard worker panicked: {what}"
            )))
        })
    });
    if r.is_err() {
        stage.failed.store(true, Ordering::Relaxed);
    }
    r
}

/// Runs `work(shard)` for every shard in `0..shards` on the calling thread
/// and the process-wide pool, and returns the results in shard order.
/// Cancellation and the statement timeout are checked before every shard;
/// the first error (in shard order among the shards that ran) is returned
/// and stops the shards not yet started.
pub fn map_shards_pooled<R, F>(shards: u32, cancel: &Cancel, work: F) -> SqlResult<Vec<R>>
where
    R: Send + 'static,
    F: Fn(u32) -> SqlResult<R> + Send + Sync + 'static,
{
    map_shards_on(global(), shards, cancel, work)
}

/// [`map_shards_pooled`] on a given pool.
pub fn map_shards_on<R, F>(
    pool: &WorkerPool,
    shards: u32,
    cancel: &Cancel,
    work: F,
) -> SqlResult<Vec<R>>
where
    R: Send + 'static,
    F: Fn(u32) -> SqlResult<R> + Send + Sync + 'static,
{
    #[cfg(test)]
    STAGES_STARTED_HERE.with(|n| n.set(n.get() + 1));
    let stage = Arc::new(Stage {
        shards,
        next: AtomicU32::new(0),
        failed: AtomicBool::new(false),
        cancel: cancel.clone(),
        work,
    });
    let helpers = pool.threads().min(shards as usize).saturating_sub(1);
    let (tx, rx) = unbounded::<(u32, SqlResult<R>)>();
    for _ in 0..helpers {
        let stage = stage.clone();
        let tx = tx.clone();
        let job: Job = Box::new(move || {
            while let Some(s) = stage.claim() {
                if tx.send((s, run_one(&stage, s))).is_err() {
                    break;
                }
            }
        });
        if !pool.submit(job) {
            break;
        }
    }
    drop(tx);
    let mut slots: Vec<Option<SqlResult<R>>> = (0..shards).map(|_| None).collect();
    let mut mine = 0u32;
    while let Some(s) = stage.claim() {
        slots[s as usize] = Some(run_one(&stage, s));
        mine += 1;
    }
    // Every shard claimed by a helper sends exactly one message (panics are
    // caught per shard), so this waits only for shards already running.
    let claimed = stage.close();
    for _ in mine..claimed {
        match rx.recv() {
            Ok((s, r)) => slots[s as usize] = Some(r),
            Err(_) => return Err(SqlError::internal("an executor worker disappeared")),
        }
    }
    // Claims are in shard order, so the shards that ran are a prefix and a
    // failure among them is why the rest did not run.
    let mut out = Vec::with_capacity(shards as usize);
    for slot in slots {
        match slot {
            Some(r) => out.push(r?),
            None => return Err(SqlError::internal("a shard did not run")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::error::SqlState;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn results_come_back_in_shard_order() {
        let pool = WorkerPool::new(3);
        let out = map_shards_on(&pool, 37, &Cancel::none(), |s| Ok(s * 2)).expect("ok");
        assert_eq!(out, (0..37).map(|s| s * 2).collect::<Vec<_>>());
        assert!(
            map_shards_on(&pool, 0, &Cancel::none(), Ok)
                .expect("ok")
                .is_empty()
        );
    }

    #[test]
    fn a_panic_is_xx000_and_the_pool_lives_on() {
        let pool = WorkerPool::new(2);
        for _ in 0..3 {
            let err = map_shards_on(&pool, 8, &Cancel::none(), |s| {
                if s == 5 {
                    panic!("shard five");
                }
                Ok(s)
            })
            .expect_err("panicked");
            assert_eq!(err.state, SqlState::InternalError);
            assert!(err.message.contains("shard five"), "{}", err.message);
        }
        let out = map_shards_on(&pool, 8, &Cancel::none(), Ok).expect("pool still works");
        assert_eq!(out.len(), 8);
        assert_eq!(pool.threads(), 2);
    }

    #[test]
    fn first_error_in_shard_order_is_returned() {
        let pool = WorkerPool::new(4);
        let err = map_shards_on(&pool, 64, &Cancel::none(), |s| {
            if s >= 10 {
                Err(SqlError::new(SqlState::DivisionByZero, format!("at {s}")))
            } else {
                Ok(s)
            }
        })
        .expect_err("fails");
        assert_eq!(err.message, "at 10");
    }

    #[test]
    fn cancellation_stops_between_shards_with_57014() {
        let pool = WorkerPool::new(2);
        let flag = Arc::new(AtomicBool::new(false));
        let cancel = Cancel::new(flag.clone(), None);
        let ran = Arc::new(AtomicU32::new(0));
        let counter = ran.clone();
        let err = map_shards_on(&pool, 1000, &cancel, move |s| {
            counter.fetch_add(1, Ordering::Relaxed);
            if s == 3 {
                flag.store(true, Ordering::Relaxed);
            }
            Ok(s)
        })
        .expect_err("cancelled");
        assert_eq!(err.state, SqlState::QueryCanceled);
        assert!(ran.load(Ordering::Relaxed) < 1000);
        let late = Cancel::new(
            Arc::new(AtomicBool::new(false)),
            Some(std::time::Instant::now()),
        );
        let err = map_shards_on(&pool, 4, &late, Ok).expect_err("timed out");
        assert_eq!(err.message, "canceling statement due to statement timeout");
    }

    #[test]
    fn nested_stages_on_a_busy_pool_do_not_deadlock() {
        let pool = Arc::new(WorkerPool::new(2));
        let inner = pool.clone();
        let out = map_shards_on(&pool, 6, &Cancel::none(), move |s| {
            let v = map_shards_on(&inner, 5, &Cancel::none(), move |t| Ok(s * 10 + t))?;
            Ok(v.iter().sum::<u32>())
        })
        .expect("ok");
        assert_eq!(out, (0..6).map(|s| s * 50 + 10).collect::<Vec<_>>());
    }

    #[test]
    fn stages_use_the_pool_threads() {
        let pool = WorkerPool::new(2);
        let out = map_shards_on(&pool, 16, &Cancel::none(), |_| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(std::thread::current().name().map(str::to_owned))
        })
        .expect("ok");
        assert!(
            out.iter().flatten().any(|n| n.starts_with("audb-exec-")),
            "some shard ran on a pool thread: {out:?}"
        );
    }
}
