//! Stable object ids of user relations, and the built-in types' oids.
//!
//! PostgreSQL gives user objects oids from 16384 up. Here a table's oid is
//! derived from its never-reused id: `16384 + 2·id` (the odd oid after it is
//! its primary-key index and constraint). Views have no id, so their oid is a
//! hash of the name in `[2^30, 2^31)`, disjoint from table oids while there
//! are fewer than 2^29 tables. Both stay the same across restarts.

use crate::storage::TableId;

/// First oid of user objects (PostgreSQL's `FirstNormalObjectId`).
pub const FIRST_USER_OID: i64 = 16384;
/// `pg_catalog` namespace oid.
pub const PG_CATALOG_NAMESPACE: i64 = 11;
/// `public` namespace oid.
pub const PUBLIC_NAMESPACE: i64 = 2200;
/// `information_schema` namespace oid (as in a fresh PostgreSQL 15 cluster).
pub const INFORMATION_SCHEMA_NAMESPACE: i64 = 13_000;
/// `pg_class`'s own oid (the `classoid` of relations in `pg_description`).
pub const PG_CLASS_OID: i64 = 1259;
/// `pg_namespace`'s oid.
pub const PG_NAMESPACE_OID: i64 = 2615;
/// `pg_database`'s oid.
pub const PG_DATABASE_OID: i64 = 1262;
/// `pg_constraint`'s oid.
pub const PG_CONSTRAINT_OID: i64 = 2606;
/// The bootstrap superuser's oid (the session user is shown as it).
pub const SUPERUSER_OID: i64 = 10;
/// The database's oid.
pub const DATABASE_OID: i64 = 16_383;
/// The `btree` access method.
pub const BTREE_AM_OID: i64 = 403;
/// The `heap` access method.
pub const HEAP_AM_OID: i64 = 2;

/// The oid of table `id`.
pub fn table_oid(id: TableId) -> i64 {
    let id = i64::try_from(id).unwrap_or(i64::MAX / 4).min(1 << 28);
    FIRST_USER_OID + 2 * id
}

/// The oid of view `name` (FNV-1a of the name, folded into `[2^30, 2^31)`).
pub fn view_oid(name: &str) -> i64 {
    let mut h: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        h ^= u32::from(byte);
        h = h.wrapping_mul(0x0100_0193);
    }
    (1_i64 << 30) + i64::from(h & ((1 << 30) - 1))
}

/// The namespace oid of a schema name.
pub fn namespace_oid(name: &str) -> Option<i64> {
    match name {
        "pg_catalog" => Some(PG_CATALOG_NAMESPACE),
        "public" => Some(PUBLIC_NAMESPACE),
        "information_schema" => Some(INFORMATION_SCHEMA_NAMESPACE),
        _ => None,
    }
}

/// The schema name of a namespace oid.
pub fn namespace_name(oid: i64) -> Option<&'static str> {
    match oid {
        PG_CATALOG_NAMESPACE => Some("pg_catalog"),
        PUBLIC_NAMESPACE => Some("public"),
        INFORMATION_SCHEMA_NAMESPACE => Some("information_schema"),
        _ => None,
    }
}

/// One built-in type as `pg_type` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinType {
    /// `oid`.
    pub oid: i64,
    /// `typname`.
    pub name: &'static str,
    /// What `format_type` prints (without typmod).
    pub sql_name: &'static str,
    /// `typlen` (`-1`: varlena, `-2`: C string).
    pub len: i16,
    /// `typcategory`.
    pub category: &'static str,
    /// `typelem` (arrays: the element type; else 0).
    pub elem: i64,
    /// `typarray` (the array type over this one; 0 if none).
    pub array: i64,
    /// `typtype` (`b` base, `p` pseudo).
    pub kind: &'static str,
}

const fn ty(
    oid: i64,
    name: &'static str,
    sql_name: &'static str,
    len: i16,
    category: &'static str,
    array: i64,
) -> BuiltinType {
    BuiltinType {
        oid,
        name,
        sql_name,
        len,
        category,
        elem: 0,
        array,
        kind: "b",
    }
}

const fn arr(oid: i64, name: &'static str, sql_name: &'static str, elem: i64) -> BuiltinType {
    BuiltinType {
        oid,
        name,
        sql_name,
        len: -1,
        category: "A",
        elem,
        array: 0,
        kind: "b",
    }
}

const fn pseudo(
    oid: i64,
    name: &'static str,
    sql_name: &'static str,
    len: i16,
    array: i64,
) -> BuiltinType {
    BuiltinType {
        kind: "p",
        ..ty(oid, name, sql_name, len, "P", array)
    }
}

/// The types audb uses or clients ask about, with PostgreSQL 15's oids.
pub const BUILTIN_TYPES: &[BuiltinType] = &[
    ty(16, "bool", "boolean", 1, "B", 1000),
    ty(17, "bytea", "bytea", -1, "U", 1001),
    ty(18, "char", "\"char\"", 1, "Z", 1002),
    ty(19, "name", "name", 64, "S", 1003),
    ty(20, "int8", "bigint", 8, "N", 1016),
    ty(21, "int2", "smallint", 2, "N", 1005),
    ty(22, "int2vector", "int2vector", -1, "A", 1006),
    ty(23, "int4", "integer", 4, "N", 1007),
    ty(24, "regproc", "regproc", 4, "N", 1008),
    ty(25, "text", "text", -1, "S", 1009),
    ty(26, "oid", "oid", 4, "N", 1028),
    ty(30, "oidvector", "oidvector", -1, "A", 1013),
    ty(114, "json", "json", -1, "U", 199),
    ty(700, "float4", "real", 4, "N", 1021),
    ty(701, "float8", "double precision", 8, "N", 1022),
    BuiltinType {
        kind: "p",
        ..ty(705, "unknown", "unknown", -2, "X", 0)
    },
    ty(1042, "bpchar", "character", -1, "S", 1014),
    ty(1043, "varchar", "character varying", -1, "S", 1015),
    ty(1082, "date", "date", 4, "D", 1182),
    ty(
        1114,
        "timestamp",
        "timestamp without time zone",
        8,
        "D",
        1115,
    ),
    ty(
        1184,
        "timestamptz",
        "timestamp with time zone",
        8,
        "D",
        1185,
    ),
    ty(1186, "interval", "interval", 16, "T", 1187),
    ty(1700, "numeric", "numeric", -1, "N", 1231),
    ty(2205, "regclass", "regclass", 4, "N", 2210),
    ty(2206, "regtype", "regtype", 4, "N", 2211),
    ty(3802, "jsonb", "jsonb", -1, "U", 3807),
    ty(4089, "regnamespace", "regnamespace", 4, "N", 4090),
    ty(2202, "regprocedure", "regprocedure", 4, "N", 2207),
    ty(2203, "regoper", "regoper", 4, "N", 2208),
    ty(2204, "regoperator", "regoperator", 4, "N", 2209),
    ty(4096, "regrole", "regrole", 4, "N", 4097),
    pseudo(269, "table_am_handler", "table_am_handler", 4, 0),
    pseudo(325, "index_am_handler", "index_am_handler", 4, 0),
    pseudo(2249, "record", "record", -1, 2287),
    pseudo(2275, "cstring", "cstring", -2, 1263),
    pseudo(2276, "any", "\"any\"", 4, 0),
    pseudo(2277, "anyarray", "anyarray", -1, 0),
    pseudo(2278, "void", "void", 4, 0),
    pseudo(2281, "internal", "internal", 8, 0),
    pseudo(2283, "anyelement", "anyelement", 4, 0),
    pseudo(2776, "anynonarray", "anynonarray", 4, 0),
    pseudo(5077, "anycompatible", "anycompatible", 4, 0),
    pseudo(5078, "anycompatiblearray", "anycompatiblearray", -1, 0),
    arr(199, "_json", "json[]", 114),
    arr(1000, "_bool", "boolean[]", 16),
    arr(1001, "_bytea", "bytea[]", 17),
    arr(1002, "_char", "\"char\"[]", 18),
    arr(1003, "_name", "name[]", 19),
    arr(1005, "_int2", "smallint[]", 21),
    arr(1006, "_int2vector", "int2vector[]", 22),
    arr(1007, "_int4", "integer[]", 23),
    arr(1008, "_regproc", "regproc[]", 24),
    arr(1009, "_text", "text[]", 25),
    arr(1013, "_oidvector", "oidvector[]", 30),
    arr(1014, "_bpchar", "character[]", 1042),
    arr(1015, "_varchar", "character varying[]", 1043),
    arr(1016, "_int8", "bigint[]", 20),
    arr(1021, "_float4", "real[]", 700),
    arr(1022, "_float8", "double precision[]", 701),
    arr(1028, "_oid", "oid[]", 26),
    arr(1115, "_timestamp", "timestamp without time zone[]", 1114),
    arr(1182, "_date", "date[]", 1082),
    arr(1185, "_timestamptz", "timestamp with time zone[]", 1184),
    arr(1187, "_interval", "interval[]", 1186),
    arr(1231, "_numeric", "numeric[]", 1700),
    arr(2210, "_regclass", "regclass[]", 2205),
    arr(2211, "_regtype", "regtype[]", 2206),
    arr(3807, "_jsonb", "jsonb[]", 3802),
    arr(4090, "_regnamespace", "regnamespace[]", 4089),
    arr(1263, "_cstring", "cstring[]", 2275),
    arr(2207, "_regprocedure", "regprocedure[]", 2202),
    arr(2208, "_regoper", "regoper[]", 2203),
    arr(2209, "_regoperator", "regoperator[]", 2204),
    arr(4097, "_regrole", "regrole[]", 4096),
    BuiltinType {
        kind: "p",
        category: "P",
        ..arr(2287, "_record", "record[]", 2249)
    },
];

/// The built-in type with this oid.
pub fn builtin_type(oid: i64) -> Option<&'static BuiltinType> {
    BUILTIN_TYPES.iter().find(|t| t.oid == oid)
}

/// The built-in type named `name` (its `typname` or its SQL spelling, with
/// or without `pg_catalog.`; `int`/`integer`, `varchar`… and `T[]`).
pub fn builtin_type_by_name(name: &str) -> Option<&'static BuiltinType> {
    let n = name.trim().to_ascii_lowercase();
    let n = n.strip_prefix("pg_catalog.").unwrap_or(&n);
    let n = n.trim_matches('"');
    let alias = match n {
        "int" | "integer" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "boolean" => "bool",
        "real" => "float4",
        "double precision" | "float" => "float8",
        "decimal" => "numeric",
        "character varying" => "varchar",
        "character" => "bpchar",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        other => other,
    };
    if let Some(elem) = alias.strip_suffix("[]") {
        let e = builtin_type_by_name(elem)?;
        return builtin_type(e.array);
    }
    BUILTIN_TYPES
        .iter()
        .find(|t| t.name == alias || t.sql_name == alias)
}

/// `format_type(oid, typmod)`: the SQL spelling of a type with its modifier
/// (`numeric(10,2)`, `character varying(20)`), `???` for unknown oids.
pub fn format_type(oid: i64, typmod: Option<i64>) -> String {
    let Some(t) = builtin_type(oid) else {
        return "???".into();
    };
    let m = typmod.filter(|m| *m >= 4);
    match (t.oid, m) {
        (1700, Some(m)) => {
            let m = m - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        (1043, Some(m)) => format!("character varying({})", m - 4),
        (1042, Some(m)) => format!("character({})", m - 4),
        _ => t.sql_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_stable_and_disjoint() {
        assert_eq!(table_oid(0), 16384);
        assert_eq!(table_oid(3), 16390);
        assert_eq!(view_oid("v"), view_oid("v"));
        assert!(view_oid("v") >= 1 << 30 && view_oid("v") < 1 << 31);
    }

    #[test]
    fn format_type_matches_postgres() {
        assert_eq!(format_type(23, Some(-1)), "integer");
        assert_eq!(format_type(1700, Some(655366)), "numeric(10,2)");
        assert_eq!(format_type(1043, Some(24)), "character varying(20)");
        assert_eq!(format_type(1009, None), "text[]");
        assert_eq!(format_type(99999, None), "???");
        assert_eq!(builtin_type_by_name("integer").map(|t| t.oid), Some(23));
        assert_eq!(builtin_type_by_name("text[]").map(|t| t.oid), Some(1009));
    }
}
