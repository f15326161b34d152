//! The table side of `COPY t [(cols)]`: the table, and the columns the
//! fields map to, checked with PostgreSQL's errors.

use super::{CopyError, CopyResult};
use crate::catalog::{self, Catalog};
use crate::exec::rows::Fetch;
use crate::sql::predicate::fold_ident;
use crate::sql::select::table_name;
use crate::storage::{Snapshot, TableSnapshot};
use sqlparser::ast::{Ident, ObjectName};

/// A table and the columns of a COPY, in field order.
#[derive(Clone, Debug)]
pub struct TableTarget {
    /// The table (at the snapshot the COPY started on).
    pub table: TableSnapshot,
    /// Column names and what each is.
    pub columns: Vec<(String, Fetch)>,
}

/// Resolves `name (cols)`; no columns means all of them, the key first (the
/// order of `SELECT *`). `to` says which way the data goes, for the error
/// about views.
pub fn resolve(
    snapshot: &Snapshot,
    name: &ObjectName,
    cols: &[Ident],
    to: bool,
) -> CopyResult<TableTarget> {
    let (schema_name, table_name) = table_name(name)?;
    let table = match schema_name.as_deref() {
        None | Some("public") => snapshot.table(&table_name),
        Some(_) => None,
    };
    let Some(table) = table else {
        if schema_name.is_none()
            && let Some(v) = Catalog::new(snapshot).view(&table_name)
        {
            let kind = if v.materialized {
                "materialized view"
            } else {
                "view"
            };
            let dir = if to { "from" } else { "to" };
            let mut e = CopyError::new(
                "42809",
                format!("cannot copy {dir} {kind} \"{table_name}\""),
            );
            if to {
                e.hint = Some("Try the COPY (SELECT ...) TO variant.".into());
            }
            return Err(e);
        }
        return Err(CopyError::new(
            "42P01",
            format!("relation \"{name}\" does not exist"),
        ));
    };
    let schema = table.schema();
    let column = |n: &str| -> Option<Fetch> {
        if n == schema.key_name {
            return Some(Fetch::Key);
        }
        schema
            .column(n)
            .filter(|c| !catalog::is_hidden(&c.name))
            .map(|c| Fetch::Tag(c.id, c.ty))
    };
    let mut columns: Vec<(String, Fetch)> = Vec::new();
    if cols.is_empty() {
        columns.push((schema.key_name.clone(), Fetch::Key));
        for c in schema
            .columns
            .iter()
            .filter(|c| !catalog::is_hidden(&c.name))
        {
            columns.push((c.name.clone(), Fetch::Tag(c.id, c.ty)));
        }
    } else {
        for id in cols {
            let n = fold_ident(id);
            let Some(f) = column(&n) else {
                return Err(CopyError::new(
                    "42703",
                    format!(
                        "column \"{n}\" of relation \"{}\" does not exist",
                        schema.name
                    ),
                ));
            };
            if columns.iter().any(|(c, _)| *c == n) {
                return Err(CopyError::new(
                    "42701",
                    format!("column \"{n}\" specified more than once"),
                ));
            }
            columns.push((n, f));
        }
    }
    Ok(TableTarget { table, columns })
}
