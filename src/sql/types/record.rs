//! Anonymous composite types (PostgreSQL's `record`): the field names and
//! types of a row value such as `ROW(1, 'a')` or the result of
//! `information_schema._pg_expandarray`.
//!
//! [`DataType`] is a small `Copy` value, so a record type is a handle into
//! a process-wide registry of field lists, interned: two records with the
//! same field names and types share one handle (PostgreSQL does the same
//! with the typmod of its anonymous `record` types). The registry only
//! grows with the number of distinct shapes queries write, and refuses new
//! shapes past [`RECORD_TYPES_MAX`].

use super::DataType;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The most distinct record shapes one process registers.
pub const RECORD_TYPES_MAX: usize = 100_000;

/// The most fields one record has (PostgreSQL's column limit).
pub const RECORD_FIELDS_MAX: usize = 1_664;

/// One field of a record type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordField {
    /// The field name (`f1`, `f2`, … for `ROW(…)`).
    pub name: String,
    /// The field type.
    pub ty: DataType,
}

/// The handle of a registered record shape (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordType(u32);

#[derive(Default)]
struct Registry {
    shapes: Vec<Arc<[RecordField]>>,
    index: HashMap<Arc<[RecordField]>, u32>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Registry::default()))
}

impl RecordType {
    /// The handle of the record with these fields, registering the shape
    /// when it is new. 54000 past [`RECORD_FIELDS_MAX`] fields or
    /// [`RECORD_TYPES_MAX`] shapes.
    pub fn intern(fields: Vec<RecordField>) -> SqlResult<RecordType> {
        if fields.len() > RECORD_FIELDS_MAX {
            return Err(SqlError::new(
                SqlState::ProgramLimitExceeded,
                format!("target lists can have at most {RECORD_FIELDS_MAX} entries"),
            ));
        }
        let fields: Arc<[RecordField]> = fields.into();
        let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = reg.index.get(&fields) {
            return Ok(RecordType(id));
        }
        let id = u32::try_from(reg.shapes.len())
            .ok()
            .filter(|&n| (n as usize) < RECORD_TYPES_MAX)
            .ok_or_else(|| {
                SqlError::new(
                    SqlState::ProgramLimitExceeded,
                    "too many distinct record types",
                )
            })?;
        reg.shapes.push(fields.clone());
        reg.index.insert(fields, id);
        Ok(RecordType(id))
    }

    /// The handle of a record with these (name, type) fields.
    pub fn of(fields: &[(&str, DataType)]) -> SqlResult<RecordType> {
        RecordType::intern(
            fields
                .iter()
                .map(|(name, ty)| RecordField {
                    name: (*name).to_owned(),
                    ty: *ty,
                })
                .collect(),
        )
    }

    /// The record's fields, in order.
    pub fn fields(self) -> Arc<[RecordField]> {
        let reg = registry().lock().unwrap_or_else(|e| e.into_inner());
        reg.shapes
            .get(self.0 as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// The position and type of field `name`.
    pub fn field(self, name: &str) -> Option<(usize, DataType)> {
        self.fields()
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
            .map(|(i, f)| (i, f.ty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_interned() {
        let a = RecordType::of(&[("x", DataType::Int2), ("n", DataType::Int4)]).unwrap();
        let b = RecordType::of(&[("x", DataType::Int2), ("n", DataType::Int4)]).unwrap();
        let c = RecordType::of(&[("x", DataType::Int4), ("n", DataType::Int4)]).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.field("n"), Some((1, DataType::Int4)));
        assert_eq!(a.field("y"), None);
        assert_eq!(c.fields().len(), 2);
    }
}
