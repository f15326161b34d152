//! Malformed and truncated SQL (42601) and constructs audb does not
//! support (0A000).

use super::common::{Case, audb_only, c, differs, run_cases};

fn malformed() -> Vec<Case> {
    vec![
        c("SELEC 1", "42601"),
        c("SELECT * FROM", "42601"),
        c("SELECT * FROM users WHERE", "42601"),
        c("SELECT * FROM users WHERE age >", "42601"),
        c("SELECT (1 + 2", "42601"),
        c("SELECT 1 + 2)", "42601"),
        c("SELECT 'unterminated", "42601"),
        c("SELECT \"unterminated", "42601"),
        c("SELECT 1 /* unterminated comment", "42601"),
        c("INSERT INTO users VALUES (", "42601"),
        c("INSERT INTO users (user_id VALUES ('x')", "42601"),
        c("INSERT users VALUES ('x')", "42601"),
        c("CREATE TABLE", "42601"),
        c("CREATE TABLE t (", "42601"),
        c("CREATE TABLE t (id TEXT PRIMARY KEY,", "42601"),
        c("UPDATE users SET", "42601"),
        c("UPDATE users SET city =", "42601"),
        c("DELETE users", "42601"),
        c("DROP", "42601"),
        c("SELECT 1 2", "42601"),
        c("SELECT * FROM users ORDER", "42601"),
        c("SELECT * FROM users LIMIT", "42601"),
        c("SELECT COUNT(* FROM users", "42601"),
        c("SELECT ,1", "42601"),
        c("SELECT 1,,2", "42601"),
        c("SELECT COUNT(*) FROM users WHERE city = 'a' AND", "42601"),
        c("SELECT CASE WHEN true THEN 1", "42601"),
        c("SELECT * FROM users WHERE age BETWEEN 1", "42601"),
        c("SELECT * FROM users WHERE age IN ()", "42601"),
        c("SELECT ARRAY[1, 2", "42601"),
        c("SELECT \u{1} 1", "42601"),
        // The whole message is parsed before anything runs: the INSERT
        // before the syntax error is not applied.
        c("INSERT INTO accounts VALUES (9, 'z'); SELEC 2", "42601"),
        c("SELECT 1 UNION SELECT 1, 2", "42601"),
        c("INSERT INTO users (user_id, city) VALUES ('x')", "42601"),
        c("INSERT INTO users (user_id) VALUES ('x', 'y')", "42601"),
        c("SELECT * FROM users WHERE city = 'a' OR OR vip", "42601"),
    ]
}

fn unsupported() -> Vec<Case> {
    const NOT_YET: &str = "not built yet: README \"Not supported yet\"";
    vec![
        differs(
            "INSERT INTO accounts VALUES (3, 'c') RETURNING id",
            "0A000",
            "ok",
            NOT_YET,
        ),
        differs(
            "SELECT DISTINCT ON (city) city FROM users",
            "0A000",
            "ok",
            NOT_YET,
        ),
        differs(
            "CREATE TABLE e (id TEXT PRIMARY KEY, x EVENT)",
            "0A000",
            "42704",
            "EVENT is an audb type that is not built yet",
        ),
        audb_only(
            "CREATE TABLE nokey (a INT)",
            "42P16",
            "every audb table needs a key (PostgreSQL tables need none)",
        ),
        differs(
            "CREATE TABLE wide (id TEXT PRIMARY KEY, n NUMERIC(30,2))",
            "0A000",
            "ok",
            "NUMERIC precision is at most 18 (bit-sliced index)",
        ),
        differs(
            "CREATE INDEX i ON users (city)",
            "0A000",
            "ok",
            "every column is already a bitmap index",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_truncated_sql_is_42601() {
    run_cases("malformed", &malformed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_constructs_are_0a000() {
    run_cases("unsupported", &unsupported()).await;
}
