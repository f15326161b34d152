//! Unknown tables, columns and functions (42P01, 42703, 42883), DDL
//! errors (42P07, 42701, 42704, 42809, …) and writes to views and system
//! catalogs.

use super::common::{Case, c, differs, run_cases};

fn unknown_names() -> Vec<Case> {
    vec![
        c("SELECT * FROM nowhere", "42P01"),
        c("SELECT * FROM public.nowhere", "42P01"),
        c("SELECT COUNT(*) FROM nowhere WHERE a = 1", "42P01"),
        c("INSERT INTO nowhere VALUES (1)", "42P01"),
        c("UPDATE nowhere SET a = 1", "42P01"),
        c("DELETE FROM nowhere", "42P01"),
        c("DROP TABLE nowhere", "42P01"),
        c("DROP VIEW nowhere", "42P01"),
        c("ALTER TABLE nowhere ADD COLUMN x INT", "42P01"),
        c("TRUNCATE nowhere", "42P01"),
        c("COMMENT ON TABLE nowhere IS 'x'", "42P01"),
        c("REFRESH MATERIALIZED VIEW nowhere", "42P01"),
        c("SELECT x.city FROM users", "42P01"),
        c("SELECT nope FROM users", "42703"),
        c("SELECT COUNT(*) FROM users WHERE nope = 1", "42703"),
        c("SELECT users.nope FROM users", "42703"),
        c("SELECT u.nope FROM users u", "42703"),
        c("SELECT users.nope FROM users ORDER BY 1", "42703"),
        c("SELECT COUNT(*) FROM users WHERE users.nope = 1", "42703"),
        c("SELECT city FROM users ORDER BY users.nope", "42703"),
        c("SELECT \"City\" FROM users", "42703"),
        c("INSERT INTO users (user_id, nope) VALUES ('x', 1)", "42703"),
        c("UPDATE users SET nope = 1 WHERE user_id = 'u1'", "42703"),
        c("SELECT city FROM users ORDER BY nope", "42703"),
        c("SELECT city FROM users GROUP BY nope", "42703"),
        c("ALTER TABLE users DROP COLUMN nope", "42703"),
        c("ALTER TABLE users RENAME COLUMN nope TO x", "42703"),
        c("COMMENT ON COLUMN users.nope IS 'x'", "42703"),
        c("SELECT nope FROM shanghai", "42703"),
        c("SELECT nosuchfn(1)", "42883"),
        c("SELECT nosuchfn(city) FROM users", "42883"),
        c("SELECT sum(city) FROM users", "42883"),
        c("SELECT avg(vip) FROM users", "42883"),
        c("SELECT abs('x'::text)", "42883"),
        c("SELECT 1 + 'a'::text", "42883"),
        c("SELECT -city FROM users", "42883"),
        c("SELECT COUNT(*) FROM users WHERE city = 5", "42883"),
        c("SELECT COUNT(*) FROM users WHERE vip = 1", "42883"),
        c(
            "SELECT COUNT(*) FROM users WHERE register_date > 5",
            "42883",
        ),
        c("SELECT $1", "42P02"),
    ]
}

fn ddl_and_objects() -> Vec<Case> {
    vec![
        c("CREATE TABLE users (id TEXT PRIMARY KEY)", "42P07"),
        c("CREATE TABLE shanghai (id TEXT PRIMARY KEY)", "42P07"),
        c("CREATE VIEW users AS SELECT * FROM accounts", "42P07"),
        c(
            "CREATE MATERIALIZED VIEW vips AS SELECT * FROM users",
            "42P07",
        ),
        c("ALTER TABLE users RENAME TO accounts", "42P07"),
        c(
            "CREATE TABLE t (id TEXT PRIMARY KEY, a INT, a TEXT)",
            "42701",
        ),
        c("ALTER TABLE users ADD COLUMN city TEXT", "42701"),
        c("ALTER TABLE users RENAME COLUMN city TO age", "42701"),
        c(
            "INSERT INTO users (user_id, user_id) VALUES ('x', 'y')",
            "42701",
        ),
        c(
            "CREATE TABLE t (id TEXT PRIMARY KEY, a NOSUCHTYPE)",
            "42704",
        ),
        c(
            "CREATE TABLE t (id TEXT PRIMARY KEY, id2 TEXT PRIMARY KEY)",
            "42P16",
        ),
        c(
            "CREATE TABLE t (id TEXT PRIMARY KEY, a NOSUCHTYPE[])",
            "42704",
        ),
        c("CREATE TABLE t (id TEXT PRIMARY KEY, a TINYINT)", "42704"),
        differs(
            "CREATE TABLE t (id TEXT PRIMARY KEY, a INET)",
            "0A000",
            "ok",
            "a PostgreSQL type audb does not store",
        ),
        c("SELECT '1'::nosuchtype", "42704"),
        c("SELECT CAST(1 AS public.nosuchtype)", "42704"),
        c("DROP TABLE shanghai", "42809"),
        c("DROP TABLE IF EXISTS shanghai", "42809"),
        c("DROP TABLE vips", "42809"),
        c("DROP VIEW users", "42809"),
        c("DROP VIEW vips", "42809"),
        c("DROP MATERIALIZED VIEW shanghai", "42809"),
        c("DROP MATERIALIZED VIEW users", "42809"),
        // Every name is checked before anything is dropped.
        c("DROP TABLE accounts, nowhere", "42P01"),
        c("DROP VIEW shanghai, users", "42809"),
        c("REFRESH MATERIALIZED VIEW shanghai", "42809"),
        c("REFRESH MATERIALIZED VIEW users", "0A000"),
        c("INSERT INTO vips (user_id) VALUES ('x')", "42809"),
        c("UPDATE vips SET age = 1", "42809"),
        c("DELETE FROM vips", "42809"),
        c("TRUNCATE shanghai", "42809"),
        differs(
            "INSERT INTO shanghai (user_id, city) VALUES ('x', 'Shanghai')",
            "42809",
            "ok",
            "views are segments (saved filters), not updatable views",
        ),
        differs(
            "DELETE FROM shanghai",
            "42809",
            "ok",
            "views are segments (saved filters), not updatable views",
        ),
        c("INSERT INTO users (city) VALUES ('x')", "23502"),
        c("INSERT INTO users (user_id) VALUES (NULL)", "23502"),
    ]
}

fn catalog_writes() -> Vec<Case> {
    // A PostgreSQL superuser may write system catalogs; everyone else gets
    // 42501, which is what audb's read-only catalogs should answer.
    const SUPERUSER: &str = "PostgreSQL lets a superuser write catalogs; others get 42501";
    vec![
        differs(
            "INSERT INTO pg_class (relname) VALUES ('x')",
            "42501",
            "23502",
            SUPERUSER,
        ),
        differs("DELETE FROM pg_catalog.pg_class", "42501", "ok", SUPERUSER),
        differs(
            "UPDATE pg_type SET typname = 'x'",
            "42501",
            "23505",
            SUPERUSER,
        ),
        c("DROP TABLE pg_class", "42501"),
        c("DROP TABLE IF EXISTS pg_catalog.pg_type", "42501"),
        c("TRUNCATE pg_class", "42501"),
        c("ALTER TABLE pg_class ADD COLUMN x INT", "42501"),
        c("ALTER TABLE pg_catalog.pg_class RENAME TO x", "42501"),
        differs(
            "DELETE FROM information_schema.tables",
            "42501",
            "55000",
            "PostgreSQL refuses its non-updatable view first; audb refuses the write",
        ),
        differs("COMMENT ON TABLE pg_class IS 'x'", "42501", "ok", SUPERUSER),
        c("CREATE TABLE pg_catalog.t (id TEXT PRIMARY KEY)", "42501"),
        c("CREATE VIEW pg_catalog.v AS SELECT 1", "42501"),
        differs(
            "CREATE TABLE information_schema.t (id TEXT PRIMARY KEY)",
            "42501",
            "ok",
            SUPERUSER,
        ),
        // Only unqualified and public names find user tables.
        c(
            "INSERT INTO pg_catalog.users (user_id) VALUES ('x')",
            "42P01",
        ),
        c("DELETE FROM information_schema.users", "42P01"),
        c("INSERT INTO pg_catalog.nope VALUES (1)", "42P01"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tables_columns_and_functions() {
    run_cases("names", &unknown_names()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_errors_and_writes_to_views() {
    run_cases("ddl", &ddl_and_objects()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_system_catalogs_are_refused() {
    run_cases("catalog", &catalog_writes()).await;
}
