//! `DROP TABLE | VIEW | MATERIALIZED VIEW` and what a relation name refers
//! to, with PostgreSQL's errors for the wrong kind of object (42809), a
//! system relation (42501) and a missing one (42P01).

use crate::catalog::{self, Catalog};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::read_only;
use crate::sql::select::table_name;
use crate::storage::{Snapshot, Store};
use sqlparser::ast::{ObjectName, ObjectType};

/// What a relation name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// An audience table.
    Table,
    /// A view (a saved filter or query).
    View,
    /// A materialized view.
    MaterializedView,
    /// A virtual `pg_catalog` / `information_schema` relation.
    System,
    /// Nothing.
    Missing,
}

impl Kind {
    /// The object as PostgreSQL names it in messages.
    fn noun(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::MaterializedView => "materialized view",
            _ => "table",
        }
    }

    /// The DROP statement for this kind of object.
    fn drop_hint(self) -> String {
        format!(
            "Use DROP {} to remove a {}.",
            self.noun().to_uppercase(),
            self.noun()
        )
    }
}

/// What `schema.name` refers to: user relations live in `public` (or
/// unqualified), then `pg_catalog` is searched.
pub(super) fn kind_of(snapshot: &Snapshot, schema: Option<&str>, name: &str) -> Kind {
    if read_only::is_user_schema(schema) {
        if snapshot.table(name).is_some() {
            return Kind::Table;
        }
        if let Some(v) = Catalog::new(snapshot).view(name) {
            return if v.materialized {
                Kind::MaterializedView
            } else {
                Kind::View
            };
        }
    }
    if read_only::is_system_relation(schema, name) {
        Kind::System
    } else {
        Kind::Missing
    }
}

/// 42501 if `schema.name` is a system relation, 42P01 if it is nothing,
/// else its kind: the checks before altering or commenting on a relation.
pub(super) fn existing(snapshot: &Snapshot, schema: Option<&str>, name: &str) -> SqlResult<Kind> {
    match kind_of(snapshot, schema, name) {
        Kind::System => Err(read_only::system_catalog(name)),
        Kind::Missing => Err(SqlError::new(
            SqlState::UndefinedTable,
            format!(
                "relation \"{}\" does not exist",
                read_only::qualified(schema, name)
            ),
        )),
        kind => Ok(kind),
    }
}

/// `DROP TABLE` / `DROP VIEW` / `DROP MATERIALIZED VIEW`. Every name is
/// checked before anything is dropped.
pub fn drop(
    store: &Store,
    object_type: &ObjectType,
    if_exists: bool,
    names: &[ObjectName],
) -> SqlResult<String> {
    let (want, tag) = match object_type {
        ObjectType::Table => (Kind::Table, "DROP TABLE"),
        ObjectType::View => (Kind::View, "DROP VIEW"),
        ObjectType::MaterializedView => (Kind::MaterializedView, "DROP MATERIALIZED VIEW"),
        other => return Err(SqlError::unsupported(format!("DROP {other}"))),
    };
    let snapshot = store.snapshot();
    let mut targets = Vec::new();
    for n in names {
        let (schema, name) = table_name(n)?;
        match kind_of(&snapshot, schema.as_deref(), &name) {
            Kind::Missing if if_exists => {}
            Kind::Missing => {
                return Err(SqlError::new(
                    SqlState::UndefinedTable,
                    format!(
                        "{} \"{}\" does not exist",
                        want.noun(),
                        read_only::qualified(schema.as_deref(), &name)
                    ),
                ));
            }
            Kind::System => return Err(read_only::system_catalog(&name)),
            kind if kind == want => {
                if !targets.contains(&name) {
                    targets.push(name);
                }
            }
            kind => {
                return Err(SqlError::new(
                    SqlState::WrongObjectType,
                    format!("\"{name}\" is not a {}", want.noun()),
                )
                .with_hint(kind.drop_hint()));
            }
        }
    }
    for name in &targets {
        // A table dropped earlier in the list may have taken this view.
        let snapshot = store.snapshot();
        if want == Kind::Table {
            drop_table(store, &snapshot, name)?;
        } else {
            drop_view(store, &snapshot, name)?;
        }
    }
    Ok(tag.into())
}

fn drop_table(store: &Store, snapshot: &Snapshot, name: &str) -> SqlResult<()> {
    let Some(t) = snapshot.table(name) else {
        return Ok(());
    };
    // Views over the table go with it (PostgreSQL would ask for CASCADE).
    for v in Catalog::new(snapshot).views() {
        if v.base_table.as_deref() == Some(name) {
            catalog::put_view(store, &v.name, None)?;
        }
    }
    catalog::drop_comments(store, snapshot, name)?;
    store.drop_table(t.schema().id)?;
    Ok(())
}

fn drop_view(store: &Store, snapshot: &Snapshot, name: &str) -> SqlResult<()> {
    let Some(v) = Catalog::new(snapshot).view(name) else {
        return Ok(());
    };
    if v.materialized
        && let Some(base) = v.base_table.as_deref().and_then(|b| snapshot.table(b))
        && let Some(col) = base.schema().column(&catalog::mv_column(name))
    {
        store.drop_column(base.schema().id, col.id)?;
    }
    catalog::put_view(store, name, None)?;
    catalog::drop_comments(store, snapshot, name)?;
    Ok(())
}
