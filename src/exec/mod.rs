//! Evaluating plans over one consistent snapshot: bitmap predicate trees with
//! SQL's three-valued logic, counts, aggregates and group-bys over bit-sliced
//! indexes, and row output. Work is split over row-id shards and runs in
//! parallel on a persistent worker pool (the calling thread helps), never on
//! the async reactor. Big allocations are charged to the statement's memory
//! budget (53200 when over `query_memory_limit`).

pub mod aggregate;
pub mod convert;
pub mod filter;
pub mod group_fold;
pub mod groups;
pub mod memory;
pub mod parallel;
pub mod pool;
pub mod rows;
pub mod stream;

pub use filter::{Pred, ShardEval};

/// Settings of the executor (`worker_threads`, `query_memory_limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecConfig {
    /// Threads of the process-wide worker pool (0 = available parallelism).
    /// Fixed once the pool has started.
    pub worker_threads: usize,
    /// Bytes of charged allocations one statement may hold before it fails
    /// with 53200 (0 = unlimited).
    pub query_memory_limit: u64,
}

impl Default for ExecConfig {
    fn default() -> ExecConfig {
        ExecConfig {
            worker_threads: 0,
            query_memory_limit: memory::DEFAULT_QUERY_MEMORY_LIMIT,
        }
    }
}

#[cfg(test)]
mod relational_memory_tests;
#[cfg(test)]
mod statement_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod window_tests;
