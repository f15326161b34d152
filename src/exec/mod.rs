//! Evaluating plans over one consistent snapshot: bitmap predicate trees with
//! SQL's three-valued logic, counts, aggregates and group-bys over bit-sliced
//! indexes, and row output. Work is split over row-id shards and runs in
//! parallel on a small worker pool, never on the async reactor.

pub mod aggregate;
pub mod convert;
pub mod filter;
pub mod parallel;
pub mod rows;
pub mod stream;

pub use filter::{Pred, ShardEval};
