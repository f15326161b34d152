//! Values that cannot be: type mismatches (42804, 42883, 22P02), numbers
//! out of range (22003), invalid dates and timestamps (22007, 22008),
//! division by zero (22012) and invalid characters (22021).

use super::common::{Case, c, differs, run_cases};

fn type_mismatches() -> Vec<Case> {
    vec![
        c("SELECT COUNT(*) FROM users WHERE city", "42804"),
        c("SELECT COUNT(*) FROM users WHERE age", "42804"),
        c("SELECT COUNT(*) FROM users WHERE vip AND age", "42804"),
        c("SELECT NOT city FROM users", "42804"),
        c("SELECT CASE WHEN 1 THEN 2 END", "42804"),
        c(
            "SELECT CASE WHEN true THEN 1 ELSE city END FROM users",
            "42804",
        ),
        c(
            "SELECT city FROM users UNION SELECT age FROM users",
            "42804",
        ),
        c("INSERT INTO users (user_id, vip) VALUES ('x', 5)", "42804"),
        c(
            "INSERT INTO users (user_id, age) VALUES ('x', true)",
            "42804",
        ),
        c(
            "INSERT INTO users (user_id, register_date) VALUES ('x', 5)",
            "42804",
        ),
        c("UPDATE users SET age = true WHERE user_id = 'u1'", "42804"),
        c("SELECT COUNT(*) FROM users WHERE age = 'x'", "22P02"),
        c(
            "INSERT INTO users (user_id, age) VALUES ('x', 'abc')",
            "22P02",
        ),
        c(
            "INSERT INTO users (user_id, vip) VALUES ('x', 'maybe')",
            "22P02",
        ),
        c(
            "INSERT INTO users (user_id, interests) VALUES ('x', 'notanarray')",
            "22P02",
        ),
        c("INSERT INTO accounts (id) VALUES ('abc')", "22P02"),
        c("SELECT * FROM accounts WHERE id = 'x'", "22P02"),
        c("SELECT 'abc'::int", "22P02"),
        c("SELECT ''::int", "22P02"),
        c("SELECT '1.5'::int", "22P02"),
        c("SELECT 'x'::numeric", "22P02"),
        c("SELECT 'x'::float8", "22P02"),
        c("SELECT ' '::bool", "22P02"),
        c("SELECT '{a,b'::text[]", "22P02"),
        c("SELECT CASE WHEN true THEN 1 ELSE 'x' END", "22P02"),
        c("SELECT * FROM users LIMIT 'x'", "22P02"),
        c("SELECT * FROM users LIMIT -1", "2201W"),
        c("SELECT * FROM users OFFSET -1", "2201X"),
        c("SELECT * FROM users OFFSET 'x'", "22P02"),
        c("SELECT * FROM users LIMIT '2.5'", "22P02"),
        c("SELECT * FROM users LIMIT true", "42804"),
        c("SELECT * FROM users LIMIT '1'::text", "42804"),
        c("SELECT * FROM users LIMIT 1e30", "22003"),
        c("SELECT * FROM users OFFSET -0.6", "2201X"),
        differs(
            "INSERT INTO users (user_id, interests) VALUES ('x', ARRAY['a', NULL])",
            "22004",
            "ok",
            "a TEXT[] column is a set of tags: NULL elements are rejected",
        ),
    ]
}

fn out_of_range() -> Vec<Case> {
    vec![
        c("SELECT 2147483647 + 1", "22003"),
        c("SELECT 9223372036854775807 + 1", "22003"),
        c("SELECT 32767::smallint + 1::smallint", "22003"),
        c("SELECT 4::int2 * 10000::int2", "22003"),
        c("SELECT 99999999999::int", "22003"),
        c("SELECT 99999999999999999999::bigint", "22003"),
        c("SELECT '1e400'::float8", "22003"),
        c("SELECT '1e40'::real", "22003"),
        c("SELECT 1e308::float8 * 10", "22003"),
        c("SELECT 123.45::numeric(4,2)", "22003"),
        c(
            "INSERT INTO users (user_id, age) VALUES ('x', 99999999999)",
            "22003",
        ),
        c(
            "INSERT INTO users (user_id, small) VALUES ('x', 40000)",
            "22003",
        ),
        c(
            "INSERT INTO users (user_id, big) VALUES ('x', 9223372036854775808)",
            "22003",
        ),
        c(
            "INSERT INTO users (user_id, ltv) VALUES ('x', 1e12)",
            "22003",
        ),
        c(
            "INSERT INTO users (user_id, ltv) VALUES ('x', 12345678901)",
            "22003",
        ),
        c("INSERT INTO users (user_id, r) VALUES ('x', 1e39)", "22003"),
        c(
            "UPDATE users SET small = 99999 WHERE user_id = 'u1'",
            "22003",
        ),
        c("SELECT big * 9223372036854775807 FROM users", "22003"),
    ]
}

fn dates_and_division() -> Vec<Case> {
    vec![
        c("SELECT '2024-13-45'::date", "22008"),
        c("SELECT 'notadate'::date", "22007"),
        c("SELECT '2024-02-30'::date", "22008"),
        c("SELECT '2023-02-29'::date", "22008"),
        c("SELECT ''::date", "22007"),
        c("SELECT '2024-01-01 25:00:00'::timestamp", "22008"),
        c("SELECT '2024-01-01 12:61:00'::timestamptz", "22008"),
        c("SELECT 'yesterdayish'::timestamp", "22007"),
        c("SELECT '5874898-01-01'::date", "22008"),
        c("SELECT '294277-01-01'::timestamp", "22008"),
        c("SELECT '1 fortnight'::interval", "22007"),
        c("SELECT ''::interval", "22007"),
        c("SELECT 'garbage'::timestamptz", "22007"),
        c("SELECT DATE 'notadate'", "22007"),
        c("SELECT '2024-01-01'::date + 2147483647", "22008"),
        c(
            "INSERT INTO users (user_id, register_date) VALUES ('x', '2024-00-10')",
            "22008",
        ),
        c(
            "INSERT INTO users (user_id, last_active) VALUES ('x', 'soon')",
            "22007",
        ),
        c(
            "SELECT COUNT(*) FROM users WHERE register_date > '2024-13-45'",
            "22008",
        ),
        c(
            "SELECT COUNT(*) FROM users WHERE last_active < 'garbage'",
            "22007",
        ),
        c("SELECT 1/0", "22012"),
        c("SELECT 1 % 0", "22012"),
        c("SELECT 1.0 / 0", "22012"),
        c("SELECT 1::float8 / 0", "22012"),
        c("SELECT mod(5, 0)", "22012"),
        c("SELECT age / 0 FROM users", "22012"),
        c("SELECT COUNT(*) / 0 FROM users", "22012"),
        c("SELECT E'\\xff'", "22021"),
        c("SELECT E'\\xc3\\x28'", "22021"),
        c("SELECT E'a\\xe2\\x82' || 'b'", "22021"),
        c("SELECT E'\\0'", "22021"),
        c("SELECT E'\\777'", "22021"),
        c("SELECT E'\\u12'", "22025"),
        c("SELECT E'\\uD800'", "42601"),
        c("SELECT E'\\u0000'", "42601"),
        c(
            "INSERT INTO users (user_id, city) VALUES ('x', E'\\xc3\\x28')",
            "22021",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_mismatches_and_bad_literals() {
    run_cases("types", &type_mismatches()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_out_of_range_are_22003() {
    run_cases("range", &out_of_range()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_dates_and_division_by_zero() {
    run_cases("dates", &dates_and_division()).await;
}
