//! The column values a row-wise predicate (and `UPDATE … SET col =
//! <expression>`) reads, for one window of rows of one shard at a time,
//! taken from the bitmaps column by column (as row output does) rather than
//! row by row.
//!
//! Flag, numeric and categorical values come as small integer *codes*
//! (`0`/`1`, the stored integer, the value's position in the column's
//! dictionary), so equal combinations of values can be recognised without
//! building text; the key and multi-valued columns come as datums.

use crate::exec::convert::{decode_int, decode_key, decode_value};
use crate::exec::rows::Fetch;
use crate::index::bsi::BsiRef;
use crate::index::{ColumnType, TagKind, Value};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::types::Datum;
use crate::storage::{ColumnId, ColumnRead, NumericShard, TableSnapshot};
use roaring::RoaringBitmap;
use std::sync::Arc;

/// One column's values for the rows of a window (same order as the rows).
pub(crate) enum Batch {
    /// Codes; `None` is NULL.
    Codes(Vec<Option<i64>>),
    /// Datums.
    Datums(Vec<Datum>),
}

impl Batch {
    /// The code of row `i` (`None` for datum batches).
    pub(crate) fn code(&self, i: usize) -> Option<i64> {
        match self {
            Batch::Codes(c) => c.get(i).copied().flatten(),
            Batch::Datums(_) => None,
        }
    }
}

/// Reads one column of one shard.
pub(crate) enum Reader {
    /// The key column.
    Key,
    /// A boolean column.
    Flag {
        not_null: Arc<RoaringBitmap>,
        trues: Arc<RoaringBitmap>,
    },
    /// A bit-sliced column.
    Numeric { bsi: NumericShard, ty: ColumnType },
    /// A categorical or multi-valued column.
    Values {
        col: ColumnId,
        ty: ColumnType,
        dict: Arc<Vec<Arc<str>>>,
        /// The value bitmaps of the shard, read on first use.
        bitmaps: Option<Vec<Arc<RoaringBitmap>>>,
        shard: u32,
    },
}

impl Reader {
    /// A reader of `fetch` in `shard`.
    pub(crate) fn new(snap: &TableSnapshot, shard: u32, fetch: Fetch) -> SqlResult<Reader> {
        Ok(match fetch {
            Fetch::Key => Reader::Key,
            Fetch::Tag(col, ty) => match ty.kind() {
                TagKind::Flag => Reader::Flag {
                    not_null: snap.bitmap(col, ColumnRead::NotNull, shard)?,
                    trues: snap.bitmap(col, ColumnRead::True, shard)?,
                },
                TagKind::Numeric => Reader::Numeric {
                    bsi: snap.numeric(col, shard)?,
                    ty,
                },
                TagKind::Categorical | TagKind::MultiValued => Reader::Values {
                    col,
                    ty,
                    dict: snap.values(col)?,
                    bitmaps: None,
                    shard,
                },
            },
        })
    }

    /// Whether the reader gives codes (not datums).
    pub(crate) fn coded(&self) -> bool {
        match self {
            Reader::Key => false,
            Reader::Flag { .. } | Reader::Numeric { .. } => true,
            Reader::Values { ty, .. } => ty.kind() == TagKind::Categorical,
        }
    }

    /// The datum of a code this reader gave.
    pub(crate) fn decode(&self, code: Option<i64>) -> Datum {
        let Some(c) = code else {
            return Datum::Null;
        };
        match self {
            Reader::Flag { .. } => Datum::Bool(c != 0),
            Reader::Numeric { ty, .. } => decode_int(c, *ty),
            Reader::Values { dict, .. } => usize::try_from(c)
                .ok()
                .and_then(|i| dict.get(i))
                .map_or(Datum::Null, |v| Datum::Text(v.to_string())),
            Reader::Key => Datum::Null,
        }
    }

    /// The datum of row `i` of `batch`, which this reader gave.
    pub(crate) fn datum(&self, batch: &Batch, i: usize) -> Datum {
        match batch {
            Batch::Codes(_) => self.decode(batch.code(i)),
            Batch::Datums(d) => d.get(i).cloned().unwrap_or(Datum::Null),
        }
    }

    /// The values of `ids` (sorted; `rows` holds the same rows).
    pub(crate) fn read(
        &mut self,
        snap: &TableSnapshot,
        ids: &[u32],
        rows: &RoaringBitmap,
    ) -> SqlResult<Batch> {
        let pos = |r: u32| ids.binary_search(&r).ok();
        match self {
            Reader::Key => {
                let mut out = vec![Datum::Null; ids.len()];
                snap.keys_of_live(ids, &mut |i, k| {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = decode_key(k);
                    }
                })?;
                Ok(Batch::Datums(out))
            }
            Reader::Flag { not_null, trues } => Ok(Batch::Codes(
                ids.iter()
                    .map(|r| not_null.contains(*r).then(|| i64::from(trues.contains(*r))))
                    .collect(),
            )),
            Reader::Numeric { bsi, .. } => {
                let bsi = BsiRef::new(&bsi.not_null, &bsi.sign, &bsi.planes);
                let mut out = vec![None; ids.len()];
                let mut k = 0;
                for (r, v) in bsi.values(rows) {
                    while k < ids.len() && ids[k] < r {
                        k += 1;
                    }
                    if let Some(slot) = out.get_mut(k) {
                        *slot = Some(v);
                    }
                }
                Ok(Batch::Codes(out))
            }
            Reader::Values {
                col,
                ty,
                dict,
                bitmaps,
                shard,
            } => {
                let multi = ty.kind() == TagKind::MultiValued;
                // Few rows, many values: look each row up.
                if bitmaps.is_none() && (ids.len() as u64) * 4 < dict.len() as u64 {
                    return if multi {
                        let mut out = Vec::with_capacity(ids.len());
                        for r in ids {
                            out.push(decode_value(snap.row_value(*col, *r)?, *ty));
                        }
                        Ok(Batch::Datums(out))
                    } else {
                        let mut out = Vec::with_capacity(ids.len());
                        for r in ids {
                            out.push(match snap.row_value(*col, *r)? {
                                Some(Value::Text(s)) => Some(code_of(dict, &s)?),
                                _ => None,
                            });
                        }
                        Ok(Batch::Codes(out))
                    };
                }
                if bitmaps.is_none() {
                    let mut all = Vec::with_capacity(dict.len());
                    for v in dict.iter() {
                        all.push(snap.bitmap(*col, ColumnRead::Value(v), *shard)?);
                    }
                    *bitmaps = Some(all);
                }
                let all = bitmaps.as_deref().unwrap_or_default();
                if multi {
                    let mut sets: Vec<Option<Vec<Option<String>>>> = vec![None; ids.len()];
                    for (v, bm) in dict.iter().zip(all) {
                        for r in bm.as_ref() & rows {
                            if let Some(i) = pos(r) {
                                sets[i]
                                    .get_or_insert_with(Vec::new)
                                    .push(Some(v.to_string()));
                            }
                        }
                    }
                    // A row with an empty set is not NULL.
                    let nn = snap.bitmap(*col, ColumnRead::NotNull, *shard)?;
                    Ok(Batch::Datums(
                        ids.iter()
                            .zip(sets)
                            .map(|(r, s)| match s {
                                Some(items) => Datum::TextArray(items),
                                None if nn.contains(*r) => Datum::TextArray(Vec::new()),
                                None => Datum::Null,
                            })
                            .collect(),
                    ))
                } else {
                    let mut out = vec![None; ids.len()];
                    for (code, bm) in all.iter().enumerate() {
                        for r in bm.as_ref() & rows {
                            if let Some(i) = pos(r) {
                                out[i] = Some(code as i64);
                            }
                        }
                    }
                    Ok(Batch::Codes(out))
                }
            }
        }
    }
}

/// The position of `v` in the (sorted) dictionary.
fn code_of(dict: &[Arc<str>], v: &str) -> SqlResult<i64> {
    dict.binary_search_by(|d| d.as_ref().cmp(v))
        .map(|i| i as i64)
        .map_err(|_| SqlError::internal(format!("value \"{v}\" is missing from its dictionary")))
}
