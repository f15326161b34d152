//! `pg_catalog` relations.

use super::oids::{self, BUILTIN_TYPES};
use super::{
    DATABASE_NAME, Model, OID, OID_ARRAY, REGPROC, SystemContext, XID, b, i, opt_t, rel, t,
};
use crate::sql::error::SqlResult;
use crate::sql::relation::Relation;
use crate::sql::types::{DataType, Datum};

const O: DataType = OID;
const OA: DataType = OID_ARRAY;
const NM: DataType = DataType::Text;
pub(super) const T: DataType = DataType::Text;
const TA: DataType = DataType::TextArray;
const B: DataType = DataType::Bool;
const I2: DataType = DataType::Int2;
const I2A: DataType = DataType::Array(crate::sql::types::ArrayElem::Int2);
pub(super) const I4: DataType = DataType::Int4;
const F4: DataType = DataType::Float4;
const TZ: DataType = DataType::TimestampTz;
pub(super) const N: Datum = Datum::Null;

/// Every `pg_catalog` relation served here.
pub(super) const NAMES: &[&str] = &[
    "pg_am",
    "pg_attrdef",
    "pg_attribute",
    "pg_authid",
    "pg_class",
    "pg_collation",
    "pg_constraint",
    "pg_database",
    "pg_depend",
    "pg_description",
    "pg_enum",
    "pg_extension",
    "pg_foreign_table",
    "pg_index",
    "pg_inherits",
    "pg_matviews",
    "pg_namespace",
    "pg_operator",
    "pg_partitioned_table",
    "pg_policy",
    "pg_proc",
    "pg_publication",
    "pg_publication_namespace",
    "pg_publication_rel",
    "pg_range",
    "pg_rewrite",
    "pg_roles",
    "pg_sequence",
    "pg_settings",
    "pg_shdescription",
    "pg_statistic_ext",
    "pg_tables",
    "pg_tablespace",
    "pg_trigger",
    "pg_type",
    "pg_user",
    "pg_views",
];

const PG_AM: &[(&str, DataType)] = &[
    ("oid", O),
    ("amname", NM),
    ("amhandler", REGPROC),
    ("amtype", T),
];
const PG_ATTRDEF: &[(&str, DataType)] = &[("oid", O), ("adrelid", O), ("adnum", I2), ("adbin", T)];
const PG_ATTRIBUTE: &[(&str, DataType)] = &[
    ("attrelid", O),
    ("attname", NM),
    ("atttypid", O),
    ("attstattarget", I4),
    ("attlen", I2),
    ("attnum", I2),
    ("attndims", I4),
    ("attcacheoff", I4),
    ("atttypmod", I4),
    ("attbyval", B),
    ("attalign", T),
    ("attstorage", T),
    ("attcompression", T),
    ("attnotnull", B),
    ("atthasdef", B),
    ("atthasmissing", B),
    ("attidentity", T),
    ("attgenerated", T),
    ("attisdropped", B),
    ("attislocal", B),
    ("attinhcount", I4),
    ("attcollation", O),
    ("attacl", TA),
    ("attoptions", TA),
    ("attfdwoptions", TA),
];
const ROLE_COLUMNS: &[(&str, DataType)] = &[
    ("oid", O),
    ("rolname", NM),
    ("rolsuper", B),
    ("rolinherit", B),
    ("rolcreaterole", B),
    ("rolcreatedb", B),
    ("rolcanlogin", B),
    ("rolreplication", B),
    ("rolbypassrls", B),
    ("rolconnlimit", I4),
    ("rolpassword", T),
    ("rolvaliduntil", TZ),
    ("rolconfig", TA),
];
const PG_CLASS: &[(&str, DataType)] = &[
    ("oid", O),
    ("relname", NM),
    ("relnamespace", O),
    ("reltype", O),
    ("reloftype", O),
    ("relowner", O),
    ("relam", O),
    ("relfilenode", O),
    ("reltablespace", O),
    ("relpages", I4),
    ("reltuples", F4),
    ("relallvisible", I4),
    ("reltoastrelid", O),
    ("relhasindex", B),
    ("relisshared", B),
    ("relpersistence", T),
    ("relkind", T),
    ("relnatts", I2),
    ("relchecks", I2),
    ("relhasrules", B),
    ("relhastriggers", B),
    ("relhassubclass", B),
    ("relrowsecurity", B),
    ("relforcerowsecurity", B),
    ("relispopulated", B),
    ("relreplident", T),
    ("relispartition", B),
    ("relrewrite", O),
    ("relfrozenxid", XID),
    ("relminmxid", XID),
    ("relacl", TA),
    ("reloptions", TA),
    ("relpartbound", T),
];
const PG_COLLATION: &[(&str, DataType)] = &[
    ("oid", O),
    ("collname", NM),
    ("collnamespace", O),
    ("collowner", O),
    ("collprovider", T),
    ("collisdeterministic", B),
    ("collencoding", I4),
    ("collcollate", T),
    ("collctype", T),
    ("colliculocale", T),
    ("collversion", T),
];
const PG_CONSTRAINT: &[(&str, DataType)] = &[
    ("oid", O),
    ("conname", NM),
    ("connamespace", O),
    ("contype", T),
    ("condeferrable", B),
    ("condeferred", B),
    ("convalidated", B),
    ("conrelid", O),
    ("contypid", O),
    ("conindid", O),
    ("conparentid", O),
    ("confrelid", O),
    ("confupdtype", T),
    ("confdeltype", T),
    ("confmatchtype", T),
    ("conislocal", B),
    ("coninhcount", I4),
    ("connoinherit", B),
    ("conkey", I2A),
    ("confkey", I2A),
    ("conpfeqop", OA),
    ("conppeqop", OA),
    ("conffeqop", OA),
    ("confdelsetcols", I2A),
    ("conexclop", OA),
    ("conbin", T),
];
const PG_DATABASE: &[(&str, DataType)] = &[
    ("oid", O),
    ("datname", NM),
    ("datdba", O),
    ("encoding", I4),
    ("datlocprovider", T),
    ("datistemplate", B),
    ("datallowconn", B),
    ("datconnlimit", I4),
    ("datfrozenxid", XID),
    ("datminmxid", XID),
    ("dattablespace", O),
    ("datcollate", T),
    ("datctype", T),
    ("daticulocale", T),
    ("datcollversion", T),
    ("datacl", TA),
];
const PG_DEPEND: &[(&str, DataType)] = &[
    ("classid", O),
    ("objid", O),
    ("objsubid", I4),
    ("refclassid", O),
    ("refobjid", O),
    ("refobjsubid", I4),
    ("deptype", T),
];
const PG_DESCRIPTION: &[(&str, DataType)] = &[
    ("objoid", O),
    ("classoid", O),
    ("objsubid", I4),
    ("description", T),
];
const PG_ENUM: &[(&str, DataType)] = &[
    ("oid", O),
    ("enumtypid", O),
    ("enumsortorder", F4),
    ("enumlabel", NM),
];
const PG_EXTENSION: &[(&str, DataType)] = &[
    ("oid", O),
    ("extname", NM),
    ("extowner", O),
    ("extnamespace", O),
    ("extrelocatable", B),
    ("extversion", T),
    ("extconfig", OA),
    ("extcondition", TA),
];
const PG_FOREIGN_TABLE: &[(&str, DataType)] = &[("ftrelid", O), ("ftserver", O), ("ftoptions", TA)];
const PG_INDEX: &[(&str, DataType)] = &[
    ("indexrelid", O),
    ("indrelid", O),
    ("indnatts", I2),
    ("indnkeyatts", I2),
    ("indisunique", B),
    ("indnullsnotdistinct", B),
    ("indisprimary", B),
    ("indisexclusion", B),
    ("indimmediate", B),
    ("indisclustered", B),
    ("indisvalid", B),
    ("indcheckxmin", B),
    ("indisready", B),
    ("indislive", B),
    ("indisreplident", B),
    ("indkey", DataType::Int2Vector),
    ("indcollation", DataType::OidVector),
    ("indclass", DataType::OidVector),
    ("indoption", DataType::Int2Vector),
    ("indexprs", T),
    ("indpred", T),
];
const PG_INHERITS: &[(&str, DataType)] = &[
    ("inhrelid", O),
    ("inhparent", O),
    ("inhseqno", I4),
    ("inhdetachpending", B),
];
const PG_MATVIEWS: &[(&str, DataType)] = &[
    ("schemaname", NM),
    ("matviewname", NM),
    ("matviewowner", NM),
    ("tablespace", NM),
    ("hasindexes", B),
    ("ispopulated", B),
    ("definition", T),
];
const PG_NAMESPACE: &[(&str, DataType)] =
    &[("oid", O), ("nspname", NM), ("nspowner", O), ("nspacl", TA)];
const PG_PARTITIONED_TABLE: &[(&str, DataType)] = &[
    ("partrelid", O),
    ("partstrat", T),
    ("partnatts", I2),
    ("partdefid", O),
    ("partattrs", T),
    ("partclass", T),
    ("partcollation", T),
    ("partexprs", T),
];
const PG_POLICY: &[(&str, DataType)] = &[
    ("oid", O),
    ("polname", NM),
    ("polrelid", O),
    ("polcmd", T),
    ("polpermissive", B),
    ("polroles", OA),
    ("polqual", T),
    ("polwithcheck", T),
];
const PG_RANGE: &[(&str, DataType)] = &[
    ("rngtypid", O),
    ("rngsubtype", O),
    ("rngmultitypid", O),
    ("rngcollation", O),
    ("rngsubopc", O),
    ("rngcanonical", REGPROC),
    ("rngsubdiff", REGPROC),
];
const PG_PUBLICATION: &[(&str, DataType)] = &[
    ("oid", O),
    ("pubname", NM),
    ("pubowner", O),
    ("puballtables", B),
    ("pubinsert", B),
    ("pubupdate", B),
    ("pubdelete", B),
    ("pubtruncate", B),
    ("pubviaroot", B),
];
const PG_PUBLICATION_NAMESPACE: &[(&str, DataType)] = &[("oid", O), ("pnpubid", O), ("pnnspid", O)];
const PG_PUBLICATION_REL: &[(&str, DataType)] = &[
    ("oid", O),
    ("prpubid", O),
    ("prrelid", O),
    ("prqual", T),
    ("prattrs", DataType::Int2Vector),
];
const PG_REWRITE: &[(&str, DataType)] = &[
    ("oid", O),
    ("rulename", NM),
    ("ev_class", O),
    ("ev_type", T),
    ("ev_enabled", T),
    ("is_instead", B),
    ("ev_qual", T),
    ("ev_action", T),
];
const PG_SEQUENCE: &[(&str, DataType)] = &[
    ("seqrelid", O),
    ("seqtypid", O),
    ("seqstart", DataType::Int8),
    ("seqincrement", DataType::Int8),
    ("seqmax", DataType::Int8),
    ("seqmin", DataType::Int8),
    ("seqcache", DataType::Int8),
    ("seqcycle", B),
];
const PG_SETTINGS: &[(&str, DataType)] = &[
    ("name", T),
    ("setting", T),
    ("unit", T),
    ("category", T),
    ("short_desc", T),
    ("extra_desc", T),
    ("context", T),
    ("vartype", T),
    ("source", T),
    ("min_val", T),
    ("max_val", T),
    ("enumvals", TA),
    ("boot_val", T),
    ("reset_val", T),
    ("sourcefile", T),
    ("sourceline", I4),
    ("pending_restart", B),
];
const PG_SHDESCRIPTION: &[(&str, DataType)] = &[("objoid", O), ("classoid", O), ("description", T)];
const PG_STATISTIC_EXT: &[(&str, DataType)] = &[
    ("oid", O),
    ("stxrelid", O),
    ("stxname", NM),
    ("stxnamespace", O),
    ("stxowner", O),
    ("stxstattarget", I4),
    ("stxkeys", DataType::Int2Vector),
    ("stxkind", TA),
    ("stxexprs", T),
];
const PG_TABLES: &[(&str, DataType)] = &[
    ("schemaname", NM),
    ("tablename", NM),
    ("tableowner", NM),
    ("tablespace", NM),
    ("hasindexes", B),
    ("hasrules", B),
    ("hastriggers", B),
    ("rowsecurity", B),
];
const PG_TABLESPACE: &[(&str, DataType)] = &[
    ("oid", O),
    ("spcname", NM),
    ("spcowner", O),
    ("spcacl", TA),
    ("spcoptions", TA),
];
const PG_TRIGGER: &[(&str, DataType)] = &[
    ("oid", O),
    ("tgrelid", O),
    ("tgparentid", O),
    ("tgname", NM),
    ("tgfoid", O),
    ("tgtype", I2),
    ("tgenabled", T),
    ("tgisinternal", B),
    ("tgconstrrelid", O),
    ("tgconstrindid", O),
    ("tgconstraint", O),
    ("tgdeferrable", B),
    ("tginitdeferred", B),
    ("tgnargs", I2),
    ("tgattr", T),
    ("tgargs", T),
    ("tgqual", T),
    ("tgoldtable", NM),
    ("tgnewtable", NM),
];
const PG_TYPE: &[(&str, DataType)] = &[
    ("oid", O),
    ("typname", NM),
    ("typnamespace", O),
    ("typowner", O),
    ("typlen", I2),
    ("typbyval", B),
    ("typtype", T),
    ("typcategory", T),
    ("typispreferred", B),
    ("typisdefined", B),
    ("typdelim", T),
    ("typrelid", O),
    ("typsubscript", REGPROC),
    ("typelem", O),
    ("typarray", O),
    ("typinput", REGPROC),
    ("typoutput", REGPROC),
    ("typreceive", REGPROC),
    ("typsend", REGPROC),
    ("typmodin", REGPROC),
    ("typmodout", REGPROC),
    ("typanalyze", REGPROC),
    ("typalign", T),
    ("typstorage", T),
    ("typnotnull", B),
    ("typbasetype", O),
    ("typtypmod", I4),
    ("typndims", I4),
    ("typcollation", O),
    ("typdefaultbin", T),
    ("typdefault", T),
    ("typacl", TA),
];
const PG_USER: &[(&str, DataType)] = &[
    ("usename", NM),
    ("usesysid", O),
    ("usecreatedb", B),
    ("usesuper", B),
    ("userepl", B),
    ("usebypassrls", B),
    ("passwd", T),
    ("valuntil", TZ),
    ("useconfig", TA),
];
const PG_VIEWS: &[(&str, DataType)] = &[
    ("schemaname", NM),
    ("viewname", NM),
    ("viewowner", NM),
    ("definition", T),
];

/// The settings `pg_settings` lists: (name, setting, unit, category,
/// vartype). Values are PostgreSQL's defaults (the session's own values need
/// the session in [`SystemContext`]).
const SETTINGS: &[(&str, &str, Option<&str>, &str, &str)] = &[
    (
        "application_name",
        "",
        None,
        "Reporting and Logging",
        "string",
    ),
    (
        "client_encoding",
        "UTF8",
        None,
        "Client Connection Defaults",
        "string",
    ),
    (
        "DateStyle",
        "ISO, MDY",
        None,
        "Client Connection Defaults",
        "string",
    ),
    (
        "default_table_access_method",
        "heap",
        None,
        "Client Connection Defaults / Statement Behavior",
        "string",
    ),
    (
        "default_transaction_isolation",
        "read committed",
        None,
        "Client Connection Defaults",
        "enum",
    ),
    (
        "default_transaction_read_only",
        "off",
        None,
        "Client Connection Defaults",
        "bool",
    ),
    (
        "extra_float_digits",
        "1",
        None,
        "Client Connection Defaults",
        "integer",
    ),
    ("integer_datetimes", "on", None, "Preset Options", "bool"),
    (
        "IntervalStyle",
        "postgres",
        None,
        "Client Connection Defaults",
        "enum",
    ),
    ("lc_collate", "C", None, "Preset Options", "string"),
    ("lc_ctype", "C", None, "Preset Options", "string"),
    (
        "max_connections",
        "100",
        None,
        "Connections and Authentication",
        "integer",
    ),
    (
        "max_identifier_length",
        "63",
        None,
        "Preset Options",
        "integer",
    ),
    ("max_index_keys", "32", None, "Preset Options", "integer"),
    (
        "search_path",
        "\"$user\", public",
        None,
        "Client Connection Defaults",
        "string",
    ),
    ("server_encoding", "UTF8", None, "Preset Options", "string"),
    (
        "server_version",
        crate::server::PG_VERSION,
        None,
        "Preset Options",
        "string",
    ),
    (
        "server_version_num",
        crate::server::PG_VERSION_NUM,
        None,
        "Preset Options",
        "integer",
    ),
    (
        "standard_conforming_strings",
        "on",
        None,
        "Version and Platform Compatibility",
        "bool",
    ),
    (
        "statement_timeout",
        "0",
        Some("ms"),
        "Client Connection Defaults",
        "integer",
    ),
    (
        "TimeZone",
        "UTC",
        None,
        "Client Connection Defaults",
        "string",
    ),
    (
        "transaction_isolation",
        "read committed",
        None,
        "Client Connection Defaults",
        "string",
    ),
    (
        "transaction_read_only",
        "off",
        None,
        "Client Connection Defaults",
        "bool",
    ),
];

/// The value of setting `name` (case-insensitive) as `pg_settings` shows
/// it, for `current_setting`.
pub fn default_setting(name: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|s| s.0.eq_ignore_ascii_case(name))
        .map(|s| s.1)
}

/// `pg_catalog.name`, built from the model when it needs user relations.
pub(super) fn relation(
    name: &str,
    model: &dyn Fn() -> Model,
    _ctx: &SystemContext,
) -> Option<SqlResult<Relation>> {
    let empty = |cols: &[(&str, DataType)]| Some(Ok(rel(cols, Vec::new())));
    match name {
        "pg_am" => Some(Ok(rel(
            PG_AM,
            vec![
                // heap_tableam_handler and bthandler.
                vec![i(oids::HEAP_AM_OID), t("heap"), i(3), t("t")],
                vec![i(oids::BTREE_AM_OID), t("btree"), i(330), t("i")],
            ],
        ))),
        "pg_attrdef" => empty(PG_ATTRDEF),
        "pg_attribute" => Some(Ok(pg_attribute(&model()))),
        "pg_authid" | "pg_roles" => Some(Ok(pg_roles(name, &model()))),
        "pg_class" => Some(Ok(pg_class(&model()))),
        "pg_collation" => Some(Ok(rel(
            PG_COLLATION,
            [(100, "default", "d"), (950, "C", "c"), (951, "POSIX", "c")]
                .into_iter()
                .map(|(oid, n, p)| {
                    vec![
                        i(oid),
                        t(n),
                        i(oids::PG_CATALOG_NAMESPACE),
                        i(oids::SUPERUSER_OID),
                        t(p),
                        b(true),
                        i(-1),
                        if p == "c" { t(n) } else { N },
                        if p == "c" { t(n) } else { N },
                        N,
                        N,
                    ]
                })
                .collect(),
        ))),
        "pg_constraint" => Some(Ok(pg_constraint(&model()))),
        "pg_database" => Some(Ok(rel(
            PG_DATABASE,
            vec![vec![
                i(oids::DATABASE_OID),
                t(DATABASE_NAME),
                i(oids::SUPERUSER_OID),
                i(6),
                t("c"),
                b(false),
                b(true),
                i(-1),
                i(0),
                i(1),
                i(1663),
                t("C"),
                t("C"),
                N,
                N,
                N,
            ]],
        ))),
        "pg_depend" => empty(PG_DEPEND),
        "pg_description" => Some(Ok(pg_description(&model()))),
        "pg_enum" => empty(PG_ENUM),
        "pg_extension" => empty(PG_EXTENSION),
        "pg_foreign_table" => empty(PG_FOREIGN_TABLE),
        "pg_index" => Some(Ok(pg_index(&model()))),
        "pg_inherits" => empty(PG_INHERITS),
        "pg_matviews" | "pg_views" | "pg_tables" => Some(Ok(pg_views(name, &model()))),
        "pg_namespace" => Some(Ok(rel(
            PG_NAMESPACE,
            [
                oids::PG_CATALOG_NAMESPACE,
                oids::PUBLIC_NAMESPACE,
                oids::INFORMATION_SCHEMA_NAMESPACE,
            ]
            .into_iter()
            .map(|oid| {
                vec![
                    i(oid),
                    opt_t(oids::namespace_name(oid)),
                    i(oids::SUPERUSER_OID),
                    N,
                ]
            })
            .collect(),
        ))),
        "pg_partitioned_table" => empty(PG_PARTITIONED_TABLE),
        "pg_policy" => empty(PG_POLICY),
        "pg_proc" => Some(Ok(super::pg_proc::pg_proc())),
        "pg_operator" => Some(Ok(super::pg_proc::pg_operator())),
        "pg_publication" => empty(PG_PUBLICATION),
        "pg_publication_namespace" => empty(PG_PUBLICATION_NAMESPACE),
        "pg_publication_rel" => empty(PG_PUBLICATION_REL),
        "pg_range" => empty(PG_RANGE),
        "pg_rewrite" => empty(PG_REWRITE),
        "pg_sequence" => empty(PG_SEQUENCE),
        "pg_settings" => Some(Ok(rel(
            PG_SETTINGS,
            SETTINGS
                .iter()
                .map(|(n, v, unit, cat, vt)| {
                    vec![
                        t(*n),
                        t(*v),
                        opt_t(*unit),
                        t(*cat),
                        t(""),
                        N,
                        t("user"),
                        t(*vt),
                        t("default"),
                        N,
                        N,
                        N,
                        t(*v),
                        t(*v),
                        N,
                        N,
                        b(false),
                    ]
                })
                .collect(),
        ))),
        "pg_shdescription" => empty(PG_SHDESCRIPTION),
        "pg_statistic_ext" => empty(PG_STATISTIC_EXT),
        "pg_tablespace" => Some(Ok(rel(
            PG_TABLESPACE,
            vec![
                vec![i(1663), t("pg_default"), i(oids::SUPERUSER_OID), N, N],
                vec![i(1664), t("pg_global"), i(oids::SUPERUSER_OID), N, N],
            ],
        ))),
        "pg_trigger" => empty(PG_TRIGGER),
        "pg_type" => Some(Ok(pg_type())),
        "pg_user" => Some(Ok(pg_user(&model()))),
        _ => None,
    }
}

/// `pg_authid` and `pg_roles` (oid last): one row per role. Password
/// verifiers show in `pg_authid` to superusers only; `pg_roles` masks them.
fn pg_roles(name: &str, m: &Model) -> Relation {
    let mut cols = ROLE_COLUMNS.to_vec();
    let authid = name == "pg_authid";
    if !authid {
        cols.rotate_left(1);
    }
    let viewer_is_superuser = m.roles.iter().any(|r| r.name == m.user && r.superuser);
    let rows = m
        .roles
        .iter()
        .map(|r| {
            let password = if !authid {
                t("********")
            } else if viewer_is_superuser {
                opt_t(r.rolpassword())
            } else {
                N
            };
            let mut row = vec![
                i(r.oid),
                t(&r.name),
                b(r.superuser),
                b(true),
                b(r.superuser),
                b(r.superuser),
                b(r.login),
                b(r.superuser),
                b(r.superuser),
                i(-1),
                password,
                N,
                N,
            ];
            if !authid {
                row.rotate_left(1);
            }
            row
        })
        .collect();
    rel(&cols, rows)
}

/// `pg_user`: the roles that may log in.
fn pg_user(m: &Model) -> Relation {
    let rows = m
        .roles
        .iter()
        .filter(|r| r.login)
        .map(|r| {
            vec![
                t(&r.name),
                i(r.oid),
                b(r.superuser),
                b(r.superuser),
                b(r.superuser),
                b(r.superuser),
                t("********"),
                N,
                N,
            ]
        })
        .collect();
    rel(PG_USER, rows)
}

fn pg_class(m: &Model) -> Relation {
    let mut rows = Vec::new();
    for r in &m.rels {
        let is_table = r.kind == "r";
        let natts = i16::try_from(r.attrs.len()).unwrap_or(i16::MAX);
        rows.push(class_row(
            r.oid,
            &r.name,
            r.kind,
            if r.kind == "v" { 0 } else { oids::HEAP_AM_OID },
            r.rows,
            is_table,
            natts,
            r.kind == "v",
        ));
        if is_table {
            rows.push(class_row(
                r.key_oid(),
                &r.key_name(),
                "i",
                oids::BTREE_AM_OID,
                r.rows,
                false,
                1,
                false,
            ));
        }
    }
    rel(PG_CLASS, rows)
}

#[allow(clippy::too_many_arguments)]
fn class_row(
    oid: i64,
    name: &str,
    kind: &str,
    am: i64,
    tuples: f64,
    has_index: bool,
    natts: i16,
    has_rules: bool,
) -> Vec<Datum> {
    vec![
        i(oid),
        t(name),
        i(oids::PUBLIC_NAMESPACE),
        i(0),
        i(0),
        i(oids::SUPERUSER_OID),
        i(am),
        i(if kind == "v" { 0 } else { oid }),
        i(0),
        i(0),
        Datum::Float(tuples),
        i(0),
        i(0),
        b(has_index),
        b(false),
        t("p"),
        t(kind),
        i(natts),
        i(0),
        b(has_rules),
        b(false),
        b(false),
        b(false),
        b(false),
        b(true),
        t(if kind == "r" || kind == "m" { "d" } else { "n" }),
        b(false),
        i(0),
        i(0),
        i(0),
        N,
        N,
        N,
    ]
}

fn pg_attribute(m: &Model) -> Relation {
    let mut rows = Vec::new();
    for r in &m.rels {
        for (n, a) in r.attrs.iter().enumerate() {
            let attnum = i16::try_from(n + 1).unwrap_or(i16::MAX);
            rows.push(attribute_row(r.oid, a, attnum));
        }
        if let Some(key) = r.attrs.first().filter(|_| r.key.is_some()) {
            rows.push(attribute_row(r.key_oid(), key, 1));
        }
    }
    rel(PG_ATTRIBUTE, rows)
}

fn attribute_row(relid: i64, a: &super::Attr, attnum: i16) -> Vec<Datum> {
    let oid = i64::from(a.ty.oid());
    let len = oids::builtin_type(oid).map_or(-1, |t| t.len);
    let collation = if matches!(a.ty, DataType::Text | DataType::TextArray) {
        100
    } else {
        0
    };
    vec![
        i(relid),
        t(a.name.as_str()),
        i(oid),
        i(-1),
        i(len),
        i(attnum),
        i(i32::from(a.ty == DataType::TextArray)),
        i(-1),
        i(a.typmod),
        b(len > 0),
        t(if len == 8 { "d" } else { "i" }),
        t(if len > 0 { "p" } else { "x" }),
        t(""),
        b(a.not_null),
        b(false),
        b(false),
        t(""),
        t(""),
        b(false),
        b(true),
        i(0),
        i(collation),
        N,
        N,
        N,
    ]
}

fn pg_constraint(m: &Model) -> Relation {
    let rows = m
        .rels
        .iter()
        .filter(|r| r.key.is_some())
        .map(|r| {
            vec![
                i(r.key_oid()),
                t(r.key_name()),
                i(oids::PUBLIC_NAMESPACE),
                t("p"),
                b(false),
                b(false),
                b(true),
                i(r.oid),
                i(0),
                i(r.key_oid()),
                i(0),
                i(0),
                t(" "),
                t(" "),
                t(" "),
                b(true),
                i(0),
                b(true),
                Datum::Array(vec![Datum::Int(1)]),
                N,
                N,
                N,
                N,
                N,
                N,
                N,
            ]
        })
        .collect();
    rel(PG_CONSTRAINT, rows)
}

fn pg_index(m: &Model) -> Relation {
    let rows = m
        .rels
        .iter()
        .filter(|r| r.key.is_some())
        .map(|r| {
            vec![
                i(r.key_oid()),
                i(r.oid),
                i(1),
                i(1),
                b(true),
                b(false),
                b(true),
                b(false),
                b(true),
                b(false),
                b(true),
                b(false),
                b(true),
                b(true),
                b(false),
                Datum::Array(vec![Datum::Int(1)]),
                Datum::Array(vec![Datum::Int(0)]),
                Datum::Array(vec![Datum::Int(0)]),
                Datum::Array(vec![Datum::Int(0)]),
                N,
                N,
            ]
        })
        .collect();
    rel(PG_INDEX, rows)
}

fn pg_description(m: &Model) -> Relation {
    let mut rows = Vec::new();
    for r in &m.rels {
        if let Some(c) = &r.comment {
            rows.push(vec![i(r.oid), i(oids::PG_CLASS_OID), i(0), t(c.as_str())]);
        }
        for (n, a) in r.attrs.iter().enumerate() {
            if let Some(c) = &a.comment {
                let sub = i32::try_from(n + 1).unwrap_or(i32::MAX);
                rows.push(vec![i(r.oid), i(oids::PG_CLASS_OID), i(sub), t(c.as_str())]);
            }
        }
    }
    rel(PG_DESCRIPTION, rows)
}

fn pg_views(name: &str, m: &Model) -> Relation {
    let owner = || t(m.user.as_str());
    let kind = match name {
        "pg_views" => "v",
        "pg_matviews" => "m",
        _ => "r",
    };
    let rows = m
        .rels
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| {
            let def = || {
                t(format!(
                    "{};",
                    r.view_sql.as_deref().unwrap_or("").trim_end_matches(';')
                ))
            };
            match kind {
                "v" => vec![t("public"), t(r.name.as_str()), owner(), def()],
                "m" => vec![
                    t("public"),
                    t(r.name.as_str()),
                    owner(),
                    N,
                    b(false),
                    b(true),
                    def(),
                ],
                _ => vec![
                    t("public"),
                    t(r.name.as_str()),
                    owner(),
                    N,
                    b(true),
                    b(false),
                    b(false),
                    b(false),
                ],
            }
        })
        .collect();
    let cols = match kind {
        "v" => PG_VIEWS,
        "m" => PG_MATVIEWS,
        _ => PG_TABLES,
    };
    rel(cols, rows)
}

fn pg_type() -> Relation {
    let rows = BUILTIN_TYPES
        .iter()
        .map(|ty| {
            let io = super::pg_proc::type_io(ty.oid);
            let f = |n: usize| i(io.map_or(0, |r| r.funcs[n]));
            let ch = |c: Option<u8>, d: char| t(c.map_or(d, char::from).to_string());
            vec![
                i(ty.oid),
                t(ty.name),
                i(oids::PG_CATALOG_NAMESPACE),
                i(oids::SUPERUSER_OID),
                i(ty.len),
                b(io.is_some_and(|r| r.byval)),
                t(ty.kind),
                t(ty.category),
                b(io.is_some_and(|r| r.preferred)),
                b(true),
                ch(io.map(|r| r.delim), ','),
                i(0),
                f(7),
                i(ty.elem),
                i(ty.array),
                f(0),
                f(1),
                f(2),
                f(3),
                f(4),
                f(5),
                f(6),
                ch(io.map(|r| r.align), 'i'),
                ch(io.map(|r| r.storage), 'p'),
                b(false),
                i(0),
                i(-1),
                i(0),
                i(io.map_or(0, |r| r.collation)),
                N,
                N,
                N,
            ]
        })
        .collect();
    rel(PG_TYPE, rows)
}
