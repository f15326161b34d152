//! Relations clients read while syncing that the core module (`pg`) does
//! not serve: the statistics views (`pg_stat_user_tables`, Metabase's row
//! estimates), `pg_opclass` (SQLAlchemy's index reflection, empty) and
//! `pg_auth_members` (psql's `\du`; empty: audb roles have no membership).
//! audb keeps no access counters: those columns are 0 and the timestamps
//! NULL; `n_live_tup` is the table's live row count.

use super::{Model, OID, i, rel, t};
use crate::sql::error::SqlResult;
use crate::sql::relation::Relation;
use crate::sql::types::{DataType, Datum};

/// The relations this module serves.
pub(super) const NAMES: &[&str] = &[
    "pg_stat_user_tables",
    "pg_stat_all_tables",
    "pg_opclass",
    "pg_auth_members",
];

/// PostgreSQL 15's `pg_auth_members` (the `oid` column came in 16).
const PG_AUTH_MEMBERS: &[(&str, DataType)] = &[
    ("roleid", OID),
    ("member", OID),
    ("grantor", OID),
    ("admin_option", DataType::Bool),
];

const PG_OPCLASS: &[(&str, DataType)] = &[
    ("oid", OID),
    ("opcmethod", OID),
    ("opcname", DataType::Text),
    ("opcnamespace", OID),
    ("opcowner", OID),
    ("opcfamily", OID),
    ("opcintype", OID),
    ("opcdefault", DataType::Bool),
    ("opckeytype", OID),
];

const COUNTERS: &[&str] = &[
    "seq_scan",
    "seq_tup_read",
    "idx_scan",
    "idx_tup_fetch",
    "n_tup_ins",
    "n_tup_upd",
    "n_tup_del",
    "n_tup_hot_upd",
];
const AFTER: &[&str] = &["n_dead_tup", "n_mod_since_analyze", "n_ins_since_vacuum"];
const TIMES: &[&str] = &[
    "last_vacuum",
    "last_autovacuum",
    "last_analyze",
    "last_autoanalyze",
];
const COUNTS: &[&str] = &[
    "vacuum_count",
    "autovacuum_count",
    "analyze_count",
    "autoanalyze_count",
];

/// `pg_catalog.name` if this module serves it.
pub(super) fn relation(name: &str, model: &dyn Fn() -> Model) -> Option<SqlResult<Relation>> {
    match name {
        "pg_opclass" => return Some(Ok(rel(PG_OPCLASS, Vec::new()))),
        "pg_auth_members" => return Some(Ok(rel(PG_AUTH_MEMBERS, Vec::new()))),
        _ => {}
    }
    if !NAMES.contains(&name) {
        return None;
    }
    let mut cols: Vec<(&str, DataType)> = vec![
        ("relid", OID),
        ("schemaname", DataType::Text),
        ("relname", DataType::Text),
    ];
    cols.extend(COUNTERS.iter().map(|c| (*c, DataType::Int8)));
    cols.push(("n_live_tup", DataType::Int8));
    cols.extend(AFTER.iter().map(|c| (*c, DataType::Int8)));
    cols.extend(TIMES.iter().map(|c| (*c, DataType::TimestampTz)));
    cols.extend(COUNTS.iter().map(|c| (*c, DataType::Int8)));
    let rows = model()
        .rels
        .iter()
        .filter(|r| r.kind == "r" || r.kind == "m")
        .map(|r| {
            let mut row = vec![i(r.oid), t("public"), t(r.name.clone())];
            row.extend(COUNTERS.iter().map(|_| i(0)));
            row.push(i(r.rows.max(0.0) as i64));
            row.extend(AFTER.iter().map(|_| i(0)));
            row.extend(TIMES.iter().map(|_| Datum::Null));
            row.extend(COUNTS.iter().map(|_| i(0)));
            row
        })
        .collect();
    Some(Ok(rel(&cols, rows)))
}
