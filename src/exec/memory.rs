//! The memory budget of one statement (`query_memory_limit`).
//!
//! The big allocations of query execution — group-by bitmaps, selected-row
//! bitmaps, row output buffers, sort buffers — are charged against the
//! statement's budget before they are made; going over fails the statement
//! with 53200 `out of memory` (with the request size, what asked and the
//! limit as detail) instead of the process. Small allocations are not
//! counted: the budget bounds what a query can grow, not exact bytes.
//!
//! Other layers charge through [`Cancel::charge`](super::parallel::Cancel::charge)
//! (permanent until the statement ends) or
//! [`Cancel::reserve`](super::parallel::Cancel::reserve) (given back when the
//! returned [`Reservation`] drops).

use crate::sql::error::{SqlError, SqlResult, SqlState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default `query_memory_limit`: 4 GiB per statement.
pub const DEFAULT_QUERY_MEMORY_LIMIT: u64 = 4 << 30;

/// Bytes one statement may hold in charged allocations, and how many it does.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `limit` bytes (0 = unlimited).
    pub fn new(limit: u64) -> MemoryBudget {
        MemoryBudget {
            limit: if limit == 0 { u64::MAX } else { limit },
            used: AtomicU64::new(0),
        }
    }

    /// The limit in bytes (`u64::MAX` = unlimited).
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes charged now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Charges `bytes` for `what`; 53200 (and nothing charged) if that
    /// would exceed the limit.
    pub fn charge(&self, bytes: u64, what: &str) -> SqlResult<()> {
        let mut now = self.used.load(Ordering::Relaxed);
        loop {
            let next = now.saturating_add(bytes);
            if next > self.limit {
                return Err(SqlError::new(SqlState::OutOfMemory, "out of memory").with_detail(
                    format!(
                        "Failed on request of size {bytes} bytes for {what}: the statement holds {now} bytes and query_memory_limit is {} bytes.",
                        self.limit
                    ),
                ));
            }
            match self
                .used
                .compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(seen) => now = seen,
            }
        }
    }

    /// Gives back `bytes` charged earlier.
    pub fn release(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(bytes))
            });
    }
}

/// Bytes charged to a budget until this value drops.
#[derive(Debug)]
#[must_use = "the bytes are given back when the reservation drops"]
pub struct Reservation {
    budget: Option<Arc<MemoryBudget>>,
    bytes: u64,
}

impl Reservation {
    /// A reservation of nothing.
    pub fn empty() -> Reservation {
        Reservation {
            budget: None,
            bytes: 0,
        }
    }

    pub(super) fn new(budget: Arc<MemoryBudget>, bytes: u64) -> Reservation {
        Reservation {
            budget: Some(budget),
            bytes,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.release(self.bytes);
        }
    }
}

/// Approximate heap bytes of a roaring bitmap (its serialized size, which
/// tracks the containers' payload).
pub fn bitmap_bytes(b: &roaring::RoaringBitmap) -> u64 {
    b.serialized_size() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_then_53200() {
        let b = MemoryBudget::new(100);
        b.charge(60, "a").expect("fits");
        let e = b.charge(41, "group-by bitmaps").expect_err("over");
        assert_eq!(e.state, SqlState::OutOfMemory);
        assert_eq!(e.message, "out of memory");
        let detail = e.detail.expect("detail");
        assert!(
            detail.contains("size 41 bytes for group-by bitmaps"),
            "{detail}"
        );
        assert!(
            detail.contains("query_memory_limit is 100 bytes"),
            "{detail}"
        );
        assert_eq!(b.used(), 60, "a failed charge charges nothing");
        b.release(60);
        b.charge(100, "b").expect("fits again");
    }

    #[test]
    fn zero_means_unlimited() {
        let b = MemoryBudget::new(0);
        b.charge(u64::MAX / 2, "x").expect("unlimited");
        assert_eq!(b.limit(), u64::MAX);
    }
}
