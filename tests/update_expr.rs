//! `UPDATE … SET col = <expression of columns>` through `Db::execute`: the
//! stored results equal what a `SELECT` of the same expression (cast to the
//! column's type) gave before the update, the command tag counts the rows
//! `WHERE` selects, all assignments read the old row, errors carry
//! PostgreSQL's SQLSTATE and leave the table unchanged, writes survive a
//! reopen, and tables of several shards update completely.

mod support;

use audb::db::{Db, Session, StatementResult};
use audb::sql::types::Datum;
use support::db::{open_at, open_db};

/// Rows of the generated table.
const ROWS: usize = 3000;

/// Columns of `users` other than the key, with their SQL types.
const COLUMNS: &[(&str, &str)] = &[
    ("city", "text"),
    ("age", "integer"),
    ("small", "smallint"),
    ("big", "bigint"),
    ("ltv", "numeric(10,2)"),
    ("score", "double precision"),
    ("vip", "boolean"),
    ("churned", "boolean"),
    ("d", "date"),
];

fn exec(db: &Db, s: &mut Session, sql: &str) -> Vec<StatementResult> {
    db.execute(s, sql)
        .unwrap_or_else(|e| panic!("{sql}: {} {}", e.state.code(), e.message))
}

fn tag(db: &Db, s: &mut Session, sql: &str) -> String {
    match exec(db, s, sql).pop() {
        Some(StatementResult::Command(t)) => t,
        other => panic!("{sql}: {other:?}"),
    }
}

fn rows(db: &Db, s: &mut Session, sql: &str) -> Vec<Vec<Datum>> {
    match exec(db, s, sql).pop() {
        Some(StatementResult::Rows(r)) => r.rows.clone(),
        other => panic!("{sql}: {other:?}"),
    }
}

fn code(db: &Db, s: &mut Session, sql: &str) -> String {
    match db.execute(s, sql) {
        Ok(_) => "ok".into(),
        Err(e) => e.state.code().into(),
    }
}

fn all(db: &Db, s: &mut Session) -> Vec<Vec<Datum>> {
    let cols: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    rows(
        db,
        s,
        &format!(
            "SELECT user_id, {} FROM users ORDER BY user_id",
            cols.join(", ")
        ),
    )
}

/// A deterministic table of `ROWS` rows with NULLs in every column.
fn setup() -> (tempfile::TempDir, Db, Session) {
    let (db, dir) = open_db();
    let mut s = Session::new("test");
    exec(
        &db,
        &mut s,
        "CREATE TABLE users (user_id TEXT PRIMARY KEY, city TEXT, age INT, small SMALLINT, big BIGINT, ltv NUMERIC(10,2), score DOUBLE PRECISION, vip BOOLEAN, churned BOOLEAN, d DATE)",
    );
    let cities = ["beijing", "Shanghai", "x", "chengdu", "guangzhou"];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut values = Vec::new();
    for i in 0..ROWS {
        let mut v = vec![format!("'u{i:05}'")];
        let null = |v: String, n: u64| if n == 0 { "NULL".to_string() } else { v };
        v.push(null(format!("'{}'", cities[next(5) as usize]), next(7)));
        v.push(null(format!("{}", next(200) as i64 - 50), next(6)));
        v.push(null(format!("{}", next(2000) as i64 - 1000), next(6)));
        v.push(null(
            format!("{}", next(1 << 40) as i64 - (1 << 39)),
            next(6),
        ));
        v.push(null(
            format!("{}.{:02}", next(20000) as i64 - 5000, next(100)),
            next(6),
        ));
        v.push(null(
            format!("{}", (next(1000) as f64 - 500.0) / 8.0),
            next(6),
        ));
        v.push(null(format!("{}", next(2) == 0), next(4)));
        v.push(null(format!("{}", next(2) == 0), next(4)));
        v.push(null(
            format!("'2020-01-01'::date + {}", next(2000)),
            next(6),
        ));
        values.push(format!("({})", v.join(", ")));
    }
    exec(
        &db,
        &mut s,
        &format!("INSERT INTO users VALUES {}", values.join(", ")),
    );
    (dir, db, s)
}

/// Runs `UPDATE users SET col = expr WHERE cond` and checks every row
/// against a `SELECT` of the same expression taken before it.
fn check_against_select(db: &Db, s: &mut Session, col: &str, expr: &str, cond: &str) {
    let ty = COLUMNS
        .iter()
        .find(|c| c.0 == col)
        .map(|c| c.1)
        .expect("column");
    let before = all(db, s);
    let want = rows(
        db,
        s,
        &format!("SELECT CAST(({expr}) AS {ty}), ({cond}) IS TRUE FROM users ORDER BY user_id"),
    );
    let selected = want.iter().filter(|r| r[1] == Datum::Bool(true)).count();
    let t = tag(
        db,
        s,
        &format!("UPDATE users SET {col} = {expr} WHERE {cond}"),
    );
    assert_eq!(t, format!("UPDATE {selected}"), "SET {col} = {expr}");
    let after = all(db, s);
    let pos = 1 + COLUMNS.iter().position(|c| c.0 == col).expect("column");
    for ((b, a), w) in before.iter().zip(&after).zip(&want) {
        let mut expected = b.clone();
        if w[1] == Datum::Bool(true) {
            expected[pos] = w[0].clone();
        }
        assert_eq!(a, &expected, "SET {col} = {expr} WHERE {cond}");
    }
}

#[test]
fn results_equal_a_select_of_the_same_expression() {
    let (_dir, db, mut s) = setup();
    let cases = [
        ("vip", "NOT vip", "city = 'beijing'"),
        ("age", "age + 1", "true"),
        ("city", "upper(city)", "age > 10"),
        (
            "city",
            "CASE WHEN ltv > 1000 THEN 'gold' ELSE 'basic' END",
            "vip",
        ),
        ("age", "small", "small BETWEEN -500 AND 500"),
        ("ltv", "ltv * 1.1", "true"),
        ("ltv", "ltv / 3 + score", "NOT churned"),
        ("small", "age * 2 - small / 7", "age < 100"),
        ("score", "ltv / 7", "true"),
        ("age", "score", "score BETWEEN -60 AND 60"),
        ("big", "big / 3 + age", "true"),
        ("d", "d + age", "age BETWEEN 0 AND 100"),
        ("churned", "vip AND age > 20", "true"),
        ("churned", "coalesce(churned, vip, false)", "city IS NULL"),
        ("city", "city || '-' || age", "age % 3 = 0"),
        ("city", "user_id", "age % 5 = 0"),
        ("age", "length(city)", "city IS NOT NULL"),
        ("age", "NULLIF(age, 0) + small", "true"),
        ("ltv", "CASE WHEN vip THEN NULL ELSE ltv END", "true"),
        ("vip", "age > small", "true"),
        ("d", "CASE WHEN d IS NULL THEN DATE '2000-01-01' END", "vip"),
    ];
    for (col, expr, cond) in cases {
        check_against_select(&db, &mut s, col, expr, cond);
    }
}

#[test]
fn assignments_read_the_old_row() {
    let (_dir, db, mut s) = setup();
    let before = rows(
        &db,
        &mut s,
        "SELECT age, small, vip, churned FROM users ORDER BY user_id",
    );
    let t = tag(
        &db,
        &mut s,
        "UPDATE users SET age = small, small = age, vip = churned, churned = vip WHERE small BETWEEN -200 AND 200 OR small IS NULL",
    );
    let after = rows(
        &db,
        &mut s,
        "SELECT age, small, vip, churned FROM users ORDER BY user_id",
    );
    let mut n = 0;
    for (b, a) in before.iter().zip(&after) {
        let swapped = match &b[1] {
            Datum::Int(v) => (-200..=200).contains(v),
            Datum::Null => true,
            other => panic!("{other:?}"),
        };
        if swapped {
            n += 1;
            assert_eq!(
                a,
                &vec![b[1].clone(), b[0].clone(), b[3].clone(), b[2].clone()]
            );
        } else {
            assert_eq!(a, b);
        }
    }
    assert_eq!(t, format!("UPDATE {n}"));
}

#[test]
fn null_results_and_default_store_null() {
    let (_dir, db, mut s) = setup();
    let t = tag(
        &db,
        &mut s,
        "UPDATE users SET age = age + NULL, city = DEFAULT, vip = NULL::boolean AND vip WHERE user_id < 'u00100'",
    );
    assert_eq!(t, "UPDATE 100");
    let r = rows(
        &db,
        &mut s,
        "SELECT count(*), count(age), count(city), count(vip) FROM users WHERE user_id < 'u00100'",
    );
    // NULL AND false is false: only the false flags survive.
    let falses = rows(
        &db,
        &mut s,
        "SELECT count(*) FROM users WHERE user_id < 'u00100' AND vip IS NOT NULL",
    );
    assert_eq!(r[0][0], Datum::Int(100));
    assert_eq!(r[0][1], Datum::Int(0));
    assert_eq!(r[0][2], Datum::Int(0));
    assert_eq!(r[0][3], falses[0][0]);
    let not_false = rows(
        &db,
        &mut s,
        "SELECT count(*) FROM users WHERE user_id < 'u00100' AND vip",
    );
    assert_eq!(not_false[0][0], Datum::Int(0));
}

#[test]
fn errors_have_postgres_sqlstates_and_change_nothing() {
    let (_dir, db, mut s) = setup();
    let before = all(&db, &mut s);
    let cases = [
        ("UPDATE users SET small = big", "22003"),
        ("UPDATE users SET age = big * 1000", "22003"),
        ("UPDATE users SET ltv = ltv * 1000000000", "22003"),
        ("UPDATE users SET age = 10 / (age - age)", "22012"),
        ("UPDATE users SET age = city::int", "22P02"),
        ("UPDATE users SET age = city", "42804"),
        ("UPDATE users SET vip = age", "42804"),
        ("UPDATE users SET d = age", "42804"),
        ("UPDATE users SET age = nosuch + 1", "42703"),
        ("UPDATE users SET nosuch = age + 1", "42703"),
        ("UPDATE users u SET age = users.age + 1", "42P01"),
        ("UPDATE users SET age = city + 1", "42883"),
        ("UPDATE users SET age = age + 1, age = small", "42601"),
        ("UPDATE users SET user_id = user_id || 'x'", "0A000"),
        // The second assignment fails after the first one was computed.
        ("UPDATE users SET age = age + 1, small = big", "22003"),
    ];
    for (sql, want) in cases {
        assert_eq!(code(&db, &mut s, sql), want, "{sql}");
        assert_eq!(all(&db, &mut s), before, "{sql} changed the table");
    }
    // An error on a row WHERE leaves out is not raised.
    assert_eq!(
        tag(
            &db,
            &mut s,
            "UPDATE users SET age = 100 / small WHERE small <> 0"
        ),
        format!(
            "UPDATE {}",
            before
                .iter()
                .filter(|r| matches!(r[3], Datum::Int(v) if v != 0))
                .count()
        )
    );
    assert_eq!(
        tag(
            &db,
            &mut s,
            "UPDATE users SET age = 1 / (age - age) WHERE false"
        ),
        "UPDATE 0"
    );
}

#[test]
fn updates_survive_a_reopen() {
    let (dir, db, mut s) = setup();
    tag(
        &db,
        &mut s,
        "UPDATE users SET age = age * 2, city = upper(city)",
    );
    let want = all(&db, &mut s);
    drop(db);
    let db = open_at(dir.path());
    let mut s = Session::new("test");
    assert_eq!(all(&db, &mut s), want);
}

#[test]
fn updates_every_shard_of_a_large_table() {
    // 2^20 row ids per shard: 1.2 million rows span two shards.
    const N: i64 = 1_200_000;
    let (db, _dir) = open_db();
    let mut s = Session::new("test");
    exec(
        &db,
        &mut s,
        "CREATE TABLE big (id BIGINT PRIMARY KEY, n INT, f BOOLEAN, c TEXT)",
    );
    for lo in (0..N).step_by(200_000) {
        exec(
            &db,
            &mut s,
            &format!(
                "INSERT INTO big SELECT g, g % 1000, g % 3 = 0, 'c' || (g % 10) FROM generate_series({lo}, {}) g",
                lo + 199_999
            ),
        );
    }
    tag(&db, &mut s, "DELETE FROM big WHERE id % 100 = 7");
    let live = N - N / 100;
    assert_eq!(
        tag(
            &db,
            &mut s,
            "UPDATE big SET n = n + id % 7, f = NOT f, c = upper(c)"
        ),
        format!("UPDATE {live}")
    );
    assert_eq!(
        tag(&db, &mut s, "UPDATE big SET n = n * 2 WHERE id >= 1100000"),
        format!("UPDATE {}", 100_000 - 1000)
    );
    let r = rows(
        &db,
        &mut s,
        "SELECT count(*), sum(n), count(*) FILTER (WHERE f), count(*) FILTER (WHERE c = 'C7'), count(*) FILTER (WHERE c LIKE 'c%') FROM big",
    );
    let mut sum = 0i64;
    let mut trues = 0i64;
    let mut c7 = 0i64;
    for g in 0..N {
        if g % 100 == 7 {
            continue;
        }
        let n = g % 1000 + g % 7;
        sum += if g >= 1_100_000 { 2 * n } else { n };
        trues += i64::from(g % 3 != 0);
        c7 += i64::from(g % 10 == 7);
    }
    assert_eq!(
        r[0],
        vec![
            Datum::Int(live),
            Datum::Int(sum),
            Datum::Int(trues),
            Datum::Int(c7),
            Datum::Int(0)
        ]
    );
}

#[test]
fn subqueries_in_assignments() {
    let (_dir, db, mut s) = setup();
    let max = rows(&db, &mut s, "SELECT max(age) FROM users");
    assert_eq!(
        tag(
            &db,
            &mut s,
            "UPDATE users SET small = (SELECT max(age) FROM users) - age WHERE age IS NOT NULL"
        ),
        format!(
            "UPDATE {}",
            match &rows(&db, &mut s, "SELECT count(age) FROM users")[0][0] {
                Datum::Int(n) => *n,
                other => panic!("{other:?}"),
            }
        )
    );
    let bad = rows(
        &db,
        &mut s,
        &format!(
            "SELECT count(*) FROM users WHERE age IS NOT NULL AND small IS DISTINCT FROM {} - age",
            match &max[0][0] {
                Datum::Int(n) => *n,
                other => panic!("{other:?}"),
            }
        ),
    );
    assert_eq!(bad[0][0], Datum::Int(0));
}

#[test]
fn correlated_subquery_reads_the_old_row() {
    let (_dir, db, mut s) = setup();
    exec(
        &db,
        &mut s,
        "CREATE TABLE cities (name TEXT PRIMARY KEY, bonus INT); INSERT INTO cities VALUES ('beijing', 5), ('x', -3)",
    );
    let want = rows(
        &db,
        &mut s,
        "SELECT age + coalesce((SELECT bonus FROM cities c WHERE c.name = users.city), 0) FROM users ORDER BY user_id",
    );
    tag(
        &db,
        &mut s,
        "UPDATE users SET age = age + coalesce((SELECT bonus FROM cities c WHERE c.name = users.city), 0)",
    );
    assert_eq!(
        rows(&db, &mut s, "SELECT age FROM users ORDER BY user_id"),
        want
    );
}
