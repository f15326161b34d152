//! `information_schema` relations (SQL-standard spelling of types).

use super::oids;
use super::pg::{I4, N, T};
use super::{Attr, DATABASE_NAME, Model, Rel, i, opt_t, rel, t};
use crate::sql::error::SqlResult;
use crate::sql::relation::Relation;
use crate::sql::types::{DataType, Datum};

/// Every `information_schema` relation served here.
pub(super) const NAMES: &[&str] = &[
    "columns",
    "key_column_usage",
    "referential_constraints",
    "schemata",
    "table_constraints",
    "tables",
    "views",
];

const TABLES: &[(&str, DataType)] = &[
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("table_type", T),
    ("self_referencing_column_name", T),
    ("reference_generation", T),
    ("user_defined_type_catalog", T),
    ("user_defined_type_schema", T),
    ("user_defined_type_name", T),
    ("is_insertable_into", T),
    ("is_typed", T),
    ("commit_action", T),
];
const COLUMNS: &[(&str, DataType)] = &[
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("column_name", T),
    ("ordinal_position", I4),
    ("column_default", T),
    ("is_nullable", T),
    ("data_type", T),
    ("character_maximum_length", I4),
    ("character_octet_length", I4),
    ("numeric_precision", I4),
    ("numeric_precision_radix", I4),
    ("numeric_scale", I4),
    ("datetime_precision", I4),
    ("interval_type", T),
    ("interval_precision", I4),
    ("character_set_catalog", T),
    ("character_set_schema", T),
    ("character_set_name", T),
    ("collation_catalog", T),
    ("collation_schema", T),
    ("collation_name", T),
    ("domain_catalog", T),
    ("domain_schema", T),
    ("domain_name", T),
    ("udt_catalog", T),
    ("udt_schema", T),
    ("udt_name", T),
    ("scope_catalog", T),
    ("scope_schema", T),
    ("scope_name", T),
    ("maximum_cardinality", I4),
    ("dtd_identifier", T),
    ("is_self_referencing", T),
    ("is_identity", T),
    ("identity_generation", T),
    ("identity_start", T),
    ("identity_increment", T),
    ("identity_maximum", T),
    ("identity_minimum", T),
    ("identity_cycle", T),
    ("is_generated", T),
    ("generation_expression", T),
    ("is_updatable", T),
];
const SCHEMATA: &[(&str, DataType)] = &[
    ("catalog_name", T),
    ("schema_name", T),
    ("schema_owner", T),
    ("default_character_set_catalog", T),
    ("default_character_set_schema", T),
    ("default_character_set_name", T),
    ("sql_path", T),
];
const VIEWS: &[(&str, DataType)] = &[
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("view_definition", T),
    ("check_option", T),
    ("is_updatable", T),
    ("is_insertable_into", T),
    ("is_trigger_updatable", T),
    ("is_trigger_deletable", T),
    ("is_trigger_insertable_into", T),
];
const TABLE_CONSTRAINTS: &[(&str, DataType)] = &[
    ("constraint_catalog", T),
    ("constraint_schema", T),
    ("constraint_name", T),
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("constraint_type", T),
    ("is_deferrable", T),
    ("initially_deferred", T),
    ("enforced", T),
    ("nulls_distinct", T),
];
const KEY_COLUMN_USAGE: &[(&str, DataType)] = &[
    ("constraint_catalog", T),
    ("constraint_schema", T),
    ("constraint_name", T),
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("column_name", T),
    ("ordinal_position", I4),
    ("position_in_unique_constraint", I4),
];
const REFERENTIAL_CONSTRAINTS: &[(&str, DataType)] = &[
    ("constraint_catalog", T),
    ("constraint_schema", T),
    ("constraint_name", T),
    ("unique_constraint_catalog", T),
    ("unique_constraint_schema", T),
    ("unique_constraint_name", T),
    ("match_option", T),
    ("update_rule", T),
    ("delete_rule", T),
];

/// `information_schema.name`.
pub(super) fn relation(name: &str, model: &dyn Fn() -> Model) -> Option<SqlResult<Relation>> {
    Some(Ok(match name {
        "columns" => columns(&model()),
        "key_column_usage" => {
            let m = model();
            let rows = keyed(&m)
                .map(|(r, k)| {
                    let mut row = primary_key(r);
                    row.extend([t(k), i(1), N]);
                    row
                })
                .collect();
            rel(KEY_COLUMN_USAGE, rows)
        }
        "referential_constraints" => rel(REFERENTIAL_CONSTRAINTS, Vec::new()),
        "schemata" => {
            let m = model();
            rel(
                SCHEMATA,
                ["information_schema", "pg_catalog", "public"]
                    .into_iter()
                    .map(|s| vec![t(DATABASE_NAME), t(s), t(m.user.as_str()), N, N, N, N])
                    .collect(),
            )
        }
        "table_constraints" => {
            let m = model();
            let rows = keyed(&m)
                .map(|(r, _)| {
                    let mut row = primary_key(r);
                    row.extend([t("PRIMARY KEY"), t("NO"), t("NO"), t("YES"), N]);
                    row
                })
                .collect();
            rel(TABLE_CONSTRAINTS, rows)
        }
        "tables" => {
            let m = model();
            // PostgreSQL does not list materialized views here.
            let rows = m
                .rels
                .iter()
                .filter(|r| r.kind != "m")
                .map(|r| {
                    let table = r.kind == "r";
                    vec![
                        t(DATABASE_NAME),
                        t("public"),
                        t(r.name.as_str()),
                        t(if table { "BASE TABLE" } else { "VIEW" }),
                        N,
                        N,
                        N,
                        N,
                        N,
                        t(if table { "YES" } else { "NO" }),
                        t("NO"),
                        N,
                    ]
                })
                .collect();
            rel(TABLES, rows)
        }
        "views" => {
            let m = model();
            let rows = m
                .rels
                .iter()
                .filter(|r| r.kind == "v")
                .map(|r| {
                    vec![
                        t(DATABASE_NAME),
                        t("public"),
                        t(r.name.as_str()),
                        opt_t(r.view_sql.as_deref()),
                        t("NONE"),
                        t("NO"),
                        t("NO"),
                        t("NO"),
                        t("NO"),
                        t("NO"),
                    ]
                })
                .collect();
            rel(VIEWS, rows)
        }
        _ => return None,
    }))
}

/// The relations with a primary key, and its column.
fn keyed(m: &Model) -> impl Iterator<Item = (&Rel, &str)> {
    m.rels
        .iter()
        .filter_map(|r| r.key.as_deref().map(|k| (r, k)))
}

/// The columns every constraint relation starts with: the primary key
/// constraint of `r` (catalog, schema, name) and its table (catalog,
/// schema, name).
fn primary_key(r: &Rel) -> Vec<Datum> {
    vec![
        t(DATABASE_NAME),
        t("public"),
        t(r.key_name()),
        t(DATABASE_NAME),
        t("public"),
        t(r.name.as_str()),
    ]
}

/// `information_schema.columns.data_type` of a type.
pub(crate) fn sql_data_type(ty: DataType) -> &'static str {
    match ty {
        DataType::TextArray => "ARRAY",
        DataType::Numeric(_) => "numeric",
        other => oids::builtin_type(i64::from(other.oid())).map_or("text", |t| t.sql_name),
    }
}

fn columns(m: &Model) -> Relation {
    let mut rows = Vec::new();
    for r in m.rels.iter().filter(|r| r.kind != "m") {
        for (n, a) in r.attrs.iter().enumerate() {
            rows.push(column_row(&r.name, n + 1, a));
        }
    }
    rel(COLUMNS, rows)
}

fn column_row(table: &str, pos: usize, a: &Attr) -> Vec<Datum> {
    let ty = a.ty;
    let udt = oids::builtin_type(i64::from(ty.oid())).map_or("text", |t| t.name);
    let (precision, radix, scale): (Datum, Datum, Datum) = match ty {
        DataType::Int2 => (i(16), i(2), i(0)),
        DataType::Int4 => (i(32), i(2), i(0)),
        DataType::Int8 => (i(64), i(2), i(0)),
        DataType::Float4 => (i(24), i(2), N),
        DataType::Float8 => (i(53), i(2), N),
        DataType::Numeric(Some((p, s))) => (i(p), i(10), i(s)),
        DataType::Numeric(None) => (N, i(10), N),
        _ => (N, N, N),
    };
    let datetime = match ty {
        DataType::Date => i(0),
        DataType::Timestamp | DataType::TimestampTz | DataType::Interval => i(6),
        _ => N,
    };
    let octets = if ty == DataType::Text {
        i(1_073_741_824)
    } else {
        N
    };
    let pos = i32::try_from(pos).unwrap_or(i32::MAX);
    vec![
        t(DATABASE_NAME),
        t("public"),
        t(table),
        t(a.name.as_str()),
        i(pos),
        N,
        t(if a.not_null { "NO" } else { "YES" }),
        t(sql_data_type(ty)),
        N,
        octets,
        precision,
        radix,
        scale,
        datetime,
        N,
        N,
        N,
        N,
        N,
        N,
        N,
        N,
        N,
        N,
        N,
        t(DATABASE_NAME),
        t("pg_catalog"),
        t(udt),
        N,
        N,
        N,
        N,
        t(pos.to_string()),
        t("NO"),
        t("NO"),
        N,
        N,
        N,
        N,
        N,
        t("NO"),
        t("NEVER"),
        N,
        t("YES"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_types_use_postgres_spelling() {
        assert_eq!(sql_data_type(DataType::Int4), "integer");
        assert_eq!(sql_data_type(DataType::TextArray), "ARRAY");
        assert_eq!(
            sql_data_type(DataType::Timestamp),
            "timestamp without time zone"
        );
        assert_eq!(sql_data_type(DataType::Numeric(Some((10, 2)))), "numeric");
    }
}
