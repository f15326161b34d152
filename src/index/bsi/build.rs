//! Writing numeric columns: bulk building and in-place assignment.

use super::MAX_PLANES;
use crate::index::RowId;
use roaring::RoaringBitmap;

/// Builds the bitmaps of a numeric column from `(row, value)` pairs, for bulk
/// load and compaction.
///
/// Rows should arrive in strictly increasing order: then row ids are buffered
/// per bitmap and appended in sorted batches, so building costs
/// `O(rows × bits set)` cheap appends. A row that arrives out of order (or
/// again) is still handled correctly — its previous value is replaced — at
/// the cost of a bitmap insert/remove per plane.
#[derive(Debug, Default, Clone)]
pub struct BsiBuilder {
    not_null: Pending,
    sign: Pending,
    planes: Vec<Pending>,
    last: Option<RowId>,
}

/// A bitmap plus the sorted rows not yet appended to it, all above its maximum.
#[derive(Debug, Default, Clone)]
struct Pending {
    bitmap: RoaringBitmap,
    rows: Vec<RowId>,
}

/// How many rows a [`Pending`] buffers before appending them in one batch.
const BATCH: usize = 4096;

impl Pending {
    fn push(&mut self, row: RowId) {
        self.rows.push(row);
        if self.rows.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        // The rows are strictly increasing and above the bitmap's maximum
        // (the builder checks), so the append cannot stop early.
        let _ = self.bitmap.append(self.rows.drain(..));
    }

    fn into_bitmap(mut self) -> RoaringBitmap {
        self.flush();
        self.bitmap
    }
}

impl BsiBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value of `row` to `value`.
    pub fn push(&mut self, row: RowId, value: i64) {
        let mag = value.unsigned_abs();
        let needed = (u64::BITS - mag.leading_zeros()) as usize;
        if self.planes.len() < needed {
            self.planes.resize_with(needed, Pending::default);
        }
        if self.last.is_some_and(|last| row <= last) {
            self.insert_slow(row, value);
            return;
        }
        self.last = Some(row);
        self.not_null.push(row);
        if value < 0 {
            self.sign.push(row);
        }
        let mut bits = mag;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            if let Some(plane) = self.planes.get_mut(i) {
                plane.push(row);
            }
            bits &= bits - 1;
        }
    }

    /// The out-of-order path of [`BsiBuilder::push`]: flush every buffer,
    /// then replace the row's bits in place.
    fn insert_slow(&mut self, row: RowId, value: i64) {
        for p in [&mut self.not_null, &mut self.sign]
            .into_iter()
            .chain(self.planes.iter_mut())
        {
            p.flush();
        }
        self.not_null.bitmap.insert(row);
        set_bit(&mut self.sign.bitmap, row, value < 0);
        let mag = value.unsigned_abs();
        for (i, plane) in self.planes.iter_mut().enumerate() {
            set_bit(&mut plane.bitmap, row, (mag >> i) & 1 == 1);
        }
    }

    /// The column's bitmaps: `(not_null, sign, planes)`, with no trailing
    /// empty planes.
    pub fn finish(self) -> (RoaringBitmap, RoaringBitmap, Vec<RoaringBitmap>) {
        let mut planes: Vec<RoaringBitmap> =
            self.planes.into_iter().map(Pending::into_bitmap).collect();
        trim(&mut planes);
        (self.not_null.into_bitmap(), self.sign.into_bitmap(), planes)
    }
}

fn set_bit(bitmap: &mut RoaringBitmap, row: RowId, on: bool) {
    if on {
        bitmap.insert(row);
    } else {
        bitmap.remove(row);
    }
}

/// Drops trailing empty planes (they mean the same as missing ones).
fn trim(planes: &mut Vec<RoaringBitmap>) {
    while planes.last().is_some_and(RoaringBitmap::is_empty) {
        planes.pop();
    }
}

/// Sets the value of every row of `rows` to `value`, or to NULL when `value`
/// is `None`, in place.
///
/// One value for all rows, so this is `O(planes)` bitmap operations
/// (union with or difference from `rows` per bitmap), not a loop over rows.
/// Planes beyond [`MAX_PLANES`] are cleared of `rows` too; trailing empty
/// planes are dropped afterwards.
pub fn assign(
    not_null: &mut RoaringBitmap,
    sign: &mut RoaringBitmap,
    planes: &mut Vec<RoaringBitmap>,
    rows: &RoaringBitmap,
    value: Option<i64>,
) {
    match value {
        None => {
            *not_null -= rows;
            *sign -= rows;
            for plane in planes.iter_mut() {
                *plane -= rows;
            }
        }
        Some(v) => {
            *not_null |= rows;
            if v < 0 {
                *sign |= rows;
            } else {
                *sign -= rows;
            }
            let mag = v.unsigned_abs();
            let needed = (u64::BITS - mag.leading_zeros()) as usize;
            if planes.len() < needed {
                planes.resize_with(needed, RoaringBitmap::new);
            }
            for (i, plane) in planes.iter_mut().enumerate() {
                if i < MAX_PLANES && (mag >> i) & 1 == 1 {
                    *plane |= rows;
                } else {
                    *plane -= rows;
                }
            }
        }
    }
    trim(planes);
}
