//! The virtual `pg_catalog` and `information_schema` relations that clients
//! read to discover tables, columns, types and views.
//!
//! Every relation is built on demand from one [`Snapshot`] (so a catalog
//! query sees one consistent state) and handed to the relational layer as an
//! ordinary [`Relation`]: joins, filters and functions over it are evaluated
//! by the same engine as any other small relation. Nothing here looks at
//! query text.
//!
//! Column names and types follow PostgreSQL 15, except: `xid` columns are
//! `bigint` (see [`XID`]), `name` and `"char"` are `text`. Relations that exist in PostgreSQL but mean nothing
//! here (`pg_inherits`, `pg_policy`, `pg_trigger`, …) have their columns and
//! no rows, so clients' queries plan.
//!
//! Object ids are stable: see [`oids`].

pub mod functions;
mod info_schema;
pub mod oids;
mod pg;
mod pg_extra;
mod pg_proc;
mod pg_proc_data;
mod session;
pub mod type_name;

pub use pg::default_setting;
pub use session::{
    Assigned, SessionCatalog, SettingChange, SettingsTx, assign_setting_value, bracketed_offset,
    default_value, output_context, session_catalog, setting_millis, show_setting,
    statement_catalog,
};

use crate::catalog::{Catalog, is_hidden};
use crate::index::KeyType;
use crate::sql::error::SqlResult;
use crate::sql::relation::{Column, Relation};
use crate::sql::types::{ArrayElem, DataType, Datum, RegKind};
use crate::storage::Snapshot;

/// Who is asking: session facts some catalog relations show.
#[derive(Clone, Debug, Default)]
pub struct SystemContext {
    /// The session's user name.
    pub user: String,
}

/// The name of the one database.
pub const DATABASE_NAME: &str = "audb";

/// PostgreSQL's `oid`: the type of every object-identifier column.
pub const OID: DataType = DataType::Reg(RegKind::Oid);

/// PostgreSQL's `regproc`: a function's oid, printed as its name.
pub const REGPROC: DataType = DataType::Reg(RegKind::Proc);

/// PostgreSQL's `oid[]`.
pub const OID_ARRAY: DataType = DataType::Array(ArrayElem::Reg(RegKind::Oid));

/// The SQL type standing for PostgreSQL's `xid` (transaction ids, which
/// audb does not have): `bigint`, every xid fits.
pub const XID: DataType = DataType::Int8;

/// The virtual relation `schema.name` (schema `None`: unqualified, searched
/// in `pg_catalog` after the user's tables), or `None` if there is none.
pub fn system_relation(
    snapshot: &Snapshot,
    ctx: &SystemContext,
    schema: Option<&str>,
    name: &str,
) -> Option<SqlResult<Relation>> {
    let model = || Model::new(snapshot, ctx);
    match schema {
        None | Some("pg_catalog") => {
            pg::relation(name, &model, ctx).or_else(|| pg_extra::relation(name, &model))
        }
        Some("information_schema") => info_schema::relation(name, &model),
        Some(_) => None,
    }
}

/// Names of every virtual relation, as `(schema, name)`.
pub fn relation_names() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = pg::NAMES
        .iter()
        .chain(pg_extra::NAMES)
        .map(|n| ("pg_catalog", *n))
        .collect();
    out.extend(
        info_schema::NAMES
            .iter()
            .map(|n| ("information_schema", *n)),
    );
    out
}

/// One column of a user relation, as the catalogs show it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attr {
    /// Column name.
    pub name: String,
    /// SQL type.
    pub ty: DataType,
    /// PostgreSQL's `atttypmod` (`-1`: none).
    pub typmod: i32,
    /// `NOT NULL` (the key column).
    pub not_null: bool,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
}

/// A user relation (table, view, materialized view) as the catalogs show it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rel {
    /// Its `pg_class.oid`.
    pub oid: i64,
    /// Name (schema `public`).
    pub name: String,
    /// `pg_class.relkind`: `r`, `v` or `m`.
    pub kind: &'static str,
    /// Columns, in `attnum` order (1-based).
    pub attrs: Vec<Attr>,
    /// `COMMENT ON TABLE` / `VIEW`.
    pub comment: Option<String>,
    /// The defining query of a view.
    pub view_sql: Option<String>,
    /// Live rows (tables), for `reltuples`.
    pub rows: f64,
    /// For a table: its key column name (the primary key, attnum 1).
    pub key: Option<String>,
}

impl Rel {
    /// The oid of the table's primary-key index and constraint.
    pub fn key_oid(&self) -> i64 {
        self.oid + 1
    }

    /// The name of the table's primary-key index and constraint.
    pub fn key_name(&self) -> String {
        format!("{}_pkey", self.name)
    }
}

/// The user relations of a snapshot, with everything catalogs show.
#[derive(Clone, Debug, Default)]
pub(crate) struct Model {
    /// Tables, then views, each group by name.
    pub rels: Vec<Rel>,
    /// The session user.
    pub user: String,
    /// Every role, by oid.
    pub roles: Vec<crate::catalog::roles::RoleDef>,
}

/// `atttypmod` of a type: `numeric(p,s)` is `(p << 16 | s) + 4`.
pub(crate) fn typmod_of(ty: DataType) -> i32 {
    match ty {
        DataType::Numeric(Some((p, s))) => ((i32::from(p) << 16) | i32::from(s)) + 4,
        _ => -1,
    }
}

impl Model {
    /// Collects tables, views and comments of `snapshot`.
    pub fn new(snapshot: &Snapshot, ctx: &SystemContext) -> Model {
        let cat = Catalog::new(snapshot);
        let mut rels = Vec::new();
        let mut tables = snapshot.tables();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &tables {
            let key_ty = match t.key_type {
                KeyType::BigInt => DataType::Int8,
                KeyType::Text => DataType::Text,
            };
            let mut attrs = vec![Attr {
                name: t.key_name.clone(),
                ty: key_ty,
                typmod: -1,
                not_null: true,
                comment: cat.comment(&t.name, Some(&t.key_name)),
            }];
            for c in t.columns.iter().filter(|c| !is_hidden(&c.name)) {
                let ty = DataType::of_column(c.ty);
                attrs.push(Attr {
                    name: c.name.clone(),
                    ty,
                    typmod: typmod_of(ty),
                    not_null: false,
                    comment: cat.comment(&t.name, Some(&c.name)),
                });
            }
            let rows = snapshot
                .table(&t.name)
                .and_then(|ts| ts.row_count().ok())
                .map_or(-1.0, |n| n as f64);
            rels.push(Rel {
                oid: oids::table_oid(t.id),
                name: t.name.clone(),
                kind: "r",
                attrs,
                comment: cat.comment(&t.name, None),
                view_sql: None,
                rows,
                key: Some(t.key_name.clone()),
            });
        }
        let mut views = cat.views();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        for v in views {
            let attrs = view_columns(&v.sql, &rels);
            rels.push(Rel {
                oid: oids::view_oid(&v.name),
                kind: if v.materialized { "m" } else { "v" },
                comment: cat.comment(&v.name, None),
                attrs: attrs
                    .into_iter()
                    .map(|mut a| {
                        a.comment = cat.comment(&v.name, Some(&a.name));
                        a.not_null = false;
                        a
                    })
                    .collect(),
                view_sql: Some(v.sql),
                rows: -1.0,
                key: None,
                name: v.name,
            });
        }
        Model {
            rels,
            user: ctx.user.clone(),
            roles: crate::catalog::roles::roles(snapshot),
        }
    }
}

/// The output columns of a view whose query reads one earlier relation with
/// `*` or plain column names (what audb's views are in practice). Other
/// views show no columns: finding them needs the planner (see the report
/// on `Db::describe`).
fn view_columns(sql: &str, known: &[Rel]) -> Vec<Attr> {
    use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, TableFactor};
    let Ok(stmts) = crate::sql::parse(sql) else {
        return Vec::new();
    };
    let Some(Statement::Query(q)) = stmts.first() else {
        return Vec::new();
    };
    let SetExpr::Select(s) = q.body.as_ref() else {
        return Vec::new();
    };
    let base = match s.from.as_slice() {
        [twj] if twj.joins.is_empty() => match &twj.relation {
            TableFactor::Table { name, .. } => name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(crate::sql::predicate::fold_ident),
            _ => None,
        },
        _ => None,
    };
    let Some(base) = base.and_then(|b| known.iter().find(|r| r.name == b)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in &s.projection {
        match item {
            SelectItem::Wildcard(_) => out.extend(base.attrs.iter().cloned()),
            SelectItem::UnnamedExpr(Expr::Identifier(id)) => {
                let n = crate::sql::predicate::fold_ident(id);
                if let Some(a) = base.attrs.iter().find(|a| a.name == n) {
                    out.push(a.clone());
                }
            }
            SelectItem::ExprWithAlias {
                expr: Expr::Identifier(id),
                alias,
            } => {
                let n = crate::sql::predicate::fold_ident(id);
                if let Some(a) = base.attrs.iter().find(|a| a.name == n) {
                    let mut a = a.clone();
                    a.name = crate::sql::predicate::fold_ident(alias);
                    out.push(a);
                }
            }
            _ => return Vec::new(),
        }
    }
    out
}

/// A relation of `columns` (name, type) and `rows`.
pub(crate) fn rel(columns: &[(&str, DataType)], rows: Vec<Vec<Datum>>) -> Relation {
    Relation {
        columns: columns
            .iter()
            .map(|(n, t)| Column {
                name: (*n).to_owned(),
                ty: *t,
            })
            .collect(),
        rows,
    }
}

/// A text value.
pub(crate) fn t(s: impl Into<String>) -> Datum {
    Datum::Text(s.into())
}

/// An integer value (any width, and oids).
pub(crate) fn i(v: impl Into<i64>) -> Datum {
    Datum::Int(v.into())
}

/// A boolean value.
pub(crate) fn b(v: bool) -> Datum {
    Datum::Bool(v)
}

/// A text value or NULL.
pub(crate) fn opt_t(s: Option<&str>) -> Datum {
    s.map_or(Datum::Null, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typmod_matches_postgres() {
        assert_eq!(typmod_of(DataType::Numeric(Some((10, 2)))), 655366);
        assert_eq!(typmod_of(DataType::Int4), -1);
    }

    #[test]
    fn every_named_relation_exists_and_is_well_formed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::storage::Store::open(dir.path(), crate::storage::Options::default());
        let Ok(store) = store else {
            return;
        };
        let snap = store.snapshot();
        let ctx = SystemContext {
            user: "audb".into(),
        };
        for (schema, name) in relation_names() {
            let rel = system_relation(&snap, &ctx, Some(schema), name)
                .unwrap_or_else(|| panic!("{schema}.{name} missing"))
                .unwrap_or_else(|e| panic!("{schema}.{name}: {}", e.message));
            assert!(!rel.columns.is_empty(), "{schema}.{name} has no columns");
            for row in &rel.rows {
                assert_eq!(row.len(), rel.columns.len(), "{schema}.{name}");
            }
        }
    }
}
