//! The memory budget of one statement (`query_memory_limit`).
//!
//! The big allocations of query execution — group-by bitmaps, selected-row
//! bitmaps, row output buffers — are charged against the statement's budget
//! before they are made; going over fails the statement with 53200 `out of
//! memory` (with the request size, what asked and the limit as detail)
//! instead of the process. Small allocations are not counted: the budget
//! bounds what a query can grow, not exact bytes.
//!
//! The relational layer's materializations (sort buffers, window keys,
//! hash-join tables and join outputs, set-operation and DISTINCT dedupe
//! sets, WITH query rows) are charged as they grow through a [`Meter`],
//! with each row estimated by [`row_bytes`]: its vector header, one
//! `Datum` per value and the bytes of its text and arrays. Working sets are
//! given back when the operation ends; rows kept for the rest of the
//! statement (a WITH query's) stay charged.
//!
//! Other layers charge through [`Cancel::charge`](super::parallel::Cancel::charge)
//! (permanent until the statement ends) or
//! [`Cancel::reserve`](super::parallel::Cancel::reserve) (given back when the
//! returned [`Reservation`] drops).

use super::parallel::Cancel;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::Datum;
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

    /// Charges `bytes` more for `what` (53200, and nothing more charged, if
    /// they do not fit). A reservation of no budget stays empty.
    pub fn grow(&mut self, bytes: u64, what: &str) -> SqlResult<()> {
        if let Some(b) = &self.budget {
            b.charge(bytes, what)?;
            self.bytes = self.bytes.saturating_add(bytes);
        }
        Ok(())
    }

    /// Leaves the bytes charged until the statement ends instead of giving
    /// them back now.
    pub fn keep(mut self) {
        self.budget = None;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.release(self.bytes);
        }
    }
}

/// Approximate bytes of one in-memory row of the relational layer: the
/// row's vector header, one [`Datum`] per value, plus the heap payload of
/// text and array values (their bytes, and a `String`/`Datum` per element).
/// Allocator overhead and spare capacity are not counted.
pub fn row_bytes(row: &[Datum]) -> u64 {
    let payload: usize = row.iter().map(datum_heap_bytes).sum();
    (std::mem::size_of::<Vec<Datum>>() + std::mem::size_of_val(row) + payload) as u64
}

/// [`row_bytes`] summed over `rows`.
pub fn rows_bytes(rows: &[Vec<Datum>]) -> u64 {
    rows.iter().map(|r| row_bytes(r)).sum()
}

/// Heap bytes a value owns beyond its own `Datum`.
fn datum_heap_bytes(d: &Datum) -> usize {
    match d {
        Datum::Text(s) => s.len(),
        Datum::TextArray(v) => v
            .iter()
            .map(|e| std::mem::size_of::<Option<String>>() + e.as_ref().map_or(0, String::len))
            .sum(),
        Datum::Array(v) => {
            std::mem::size_of_val(v.as_slice()) + v.iter().map(datum_heap_bytes).sum::<usize>()
        }
        _ => 0,
    }
}

/// Charges a materialization that grows row by row (a sort buffer, a join's
/// output, a hash table) to the statement's budget as it grows, in chunks of
/// [`METER_CHUNK`] bytes so that adding a row costs no atomic operation.
/// The bytes are given back when the meter drops, unless [`Meter::keep`]
/// keeps them charged until the statement ends.
#[derive(Debug)]
#[must_use = "the bytes are given back when the meter drops"]
pub struct Meter {
    held: Reservation,
    pending: u64,
    what: &'static str,
}

/// Bytes a [`Meter`] gathers before charging them.
pub const METER_CHUNK: u64 = 64 << 10;

impl Meter {
    /// A meter charging `cancel`'s budget for `what`.
    pub fn new(cancel: &Cancel, what: &'static str) -> Meter {
        Meter {
            held: cancel
                .reserve(0, what)
                .unwrap_or_else(|_| Reservation::empty()),
            pending: 0,
            what,
        }
    }

    /// Adds `bytes`: 53200 once the chunk they complete does not fit.
    pub fn add(&mut self, bytes: u64) -> SqlResult<()> {
        self.pending = self.pending.saturating_add(bytes);
        if self.pending >= METER_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Charges what was added since the last charge (53200 if over).
    pub fn flush(&mut self) -> SqlResult<()> {
        let bytes = std::mem::take(&mut self.pending);
        self.held.grow(bytes, self.what)
    }

    /// Bytes charged and pending.
    pub fn bytes(&self) -> u64 {
        self.held.bytes().saturating_add(self.pending)
    }

    /// Charges what is pending and keeps everything charged until the
    /// statement ends (for materializations that live that long).
    pub fn keep(mut self) -> SqlResult<()> {
        self.flush()?;
        std::mem::replace(&mut self.held, Reservation::empty()).keep();
        Ok(())
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
    fn row_bytes_count_headers_values_and_text() {
        let d = std::mem::size_of::<Datum>() as u64;
        let v = std::mem::size_of::<Vec<Datum>>() as u64;
        assert_eq!(row_bytes(&[]), v);
        assert_eq!(row_bytes(&[Datum::Int(1), Datum::Null]), v + 2 * d);
        assert_eq!(row_bytes(&[Datum::Text("abcde".into())]), v + d + 5);
        let arr = Datum::Array(vec![Datum::Text("xy".into()), Datum::Int(3)]);
        assert_eq!(row_bytes(&[arr]), v + d + 2 * d + 2);
        let rows = vec![vec![Datum::Int(1)], vec![Datum::Text("ab".into())]];
        assert_eq!(rows_bytes(&rows), 2 * (v + d) + 2);
    }

    #[test]
    fn a_meter_charges_in_chunks_and_gives_back_on_drop() {
        let cancel = Cancel::none().with_memory_limit(3 * METER_CHUNK);
        {
            let mut m = Meter::new(&cancel, "a sort");
            m.add(METER_CHUNK - 1).expect("pending");
            assert_eq!(cancel.memory_used(), 0, "below a chunk nothing is charged");
            m.add(1).expect("a chunk");
            assert_eq!(cancel.memory_used(), METER_CHUNK);
            m.add(10).expect("pending");
            m.flush().expect("fits");
            assert_eq!(cancel.memory_used(), METER_CHUNK + 10);
            assert_eq!(m.bytes(), METER_CHUNK + 10);
            let e = m.add(2 * METER_CHUNK).expect_err("over the limit");
            assert_eq!(e.state, SqlState::OutOfMemory);
            assert!(e.detail.expect("detail").contains("for a sort"));
        }
        assert_eq!(cancel.memory_used(), 0, "given back on drop");
        let mut kept = Meter::new(&cancel, "WITH rows");
        kept.add(100).expect("pending");
        kept.keep().expect("fits");
        assert_eq!(cancel.memory_used(), 100, "kept until the statement ends");
        let mut none = Meter::new(&Cancel::none(), "x");
        none.add(u64::MAX).expect("no budget, no limit");
    }

    #[test]
    fn zero_means_unlimited() {
        let b = MemoryBudget::new(0);
        b.charge(u64::MAX / 2, "x").expect("unlimited");
        assert_eq!(b.limit(), u64::MAX);
    }
}
