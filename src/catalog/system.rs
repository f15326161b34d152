//! The virtual `pg_catalog` and `information_schema` relations that clients
//! read to discover tables, columns, types and views (being written).

use crate::sql::error::SqlResult;
use crate::sql::relation::Relation;
use crate::storage::Snapshot;

/// Who is asking: session facts some catalog relations show.
#[derive(Clone, Debug, Default)]
pub struct SystemContext {
    /// The session's user name.
    pub user: String,
}

/// The virtual relation `schema.name` (schema `None`: unqualified, searched
/// in `pg_catalog` after the user's tables), or `None` if there is none.
pub fn system_relation(
    _snapshot: &Snapshot,
    _ctx: &SystemContext,
    _schema: Option<&str>,
    _name: &str,
) -> Option<SqlResult<Relation>> {
    None
}
