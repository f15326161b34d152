//! Catalog object identifiers over the wire: `pg_catalog` oid columns are
//! described as `oid` (type OID 26) and `regproc` (24), decode in binary as
//! unsigned 32-bit integers, and take `oid[]` / `int4[]` / `int8`
//! parameters as pgjdbc and asyncpg send them.

mod support;

use support::client::connect;
use support::server::{Server, server};
use tokio_postgres::Client;
use tokio_postgres::types::{Oid, Type};

/// A server with a `users` table, and a connection to it.
async fn users_server() -> (Server, Client) {
    let s = server().await;
    let client = connect(s.addr).await;
    client
        .batch_execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, age INT)")
        .await
        .expect("create");
    (s, client)
}

#[tokio::test]
async fn oid_columns_are_described_as_oid_and_decode_as_u32() {
    let (_s, c) = users_server().await;
    let stmt = c
        .prepare(
            "SELECT c.oid, c.relnamespace, a.atttypid, t.typinput, c.relname \
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
             JOIN pg_type t ON t.oid = a.atttypid \
             WHERE c.relname = 'users' AND a.attnum = 2",
        )
        .await
        .expect("prepare");
    let types: Vec<u32> = stmt.columns().iter().map(|c| c.type_().oid()).collect();
    assert_eq!(types, vec![26, 26, 26, 24, 25]);
    // Binary results (tokio-postgres asks for them): 4-byte unsigned.
    let rows = c.query(&stmt, &[]).await.expect("query");
    assert_eq!(rows.len(), 1);
    let oid: Oid = rows[0].get(0);
    assert!(oid >= 16384, "{oid}");
    let ns: Oid = rows[0].get(1);
    assert_eq!(ns, 2200);
    let typ: Oid = rows[0].get(2);
    assert_eq!(typ, 23);
    let text: Vec<tokio_postgres::SimpleQueryMessage> = c
        .simple_query("SELECT typinput, typinput::oid FROM pg_type WHERE oid = 23")
        .await
        .expect("simple");
    let row = text.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => {
            Some((r.get(0).map(str::to_owned), r.get(1).map(str::to_owned)))
        }
        _ => None,
    });
    assert_eq!(
        row,
        Some((Some("int4in".to_owned()), Some("42".to_owned())))
    );
}

#[tokio::test]
async fn oid_parameters_compare_with_oid_columns() {
    let (_s, c) = users_server().await;
    let users: Oid = c
        .query_one("SELECT 'users'::regclass::oid", &[])
        .await
        .expect("users oid")
        .get(0);
    // asyncpg / pgjdbc: `oid = ANY($1)` with an oid[] parameter.
    let stmt = c
        .prepare("SELECT relname FROM pg_class WHERE oid = ANY($1) ORDER BY 1")
        .await
        .expect("prepare");
    assert_eq!(stmt.params(), &[Type::OID_ARRAY]);
    let rows = c.query(&stmt, &[&vec![users, 1_u32]]).await.expect("oid[]");
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, vec!["users".to_owned()]);
    // An int4[] parameter (typed in the statement: parameter types that
    // clients declare for arrays are not mapped by the server yet).
    let stmt = c
        .prepare("SELECT relname FROM pg_class WHERE oid = ANY($1::int4[]) ORDER BY 1")
        .await
        .expect("prepare int4[]");
    assert_eq!(stmt.params(), &[Type::INT4_ARRAY]);
    let as_int = i32::try_from(users).expect("small oid");
    let rows = c.query(&stmt, &[&vec![as_int]]).await.expect("int4[]");
    assert_eq!(rows.len(), 1);
    // A scalar oid parameter and an int8 one.
    let row = c
        .query_one("SELECT relname FROM pg_class WHERE oid = $1", &[&users])
        .await
        .expect("oid param");
    assert_eq!(row.get::<_, String>(0), "users");
    let row = c
        .query_one(
            "SELECT count(*) FROM pg_class WHERE oid = $1::int8",
            &[&i64::from(users)],
        )
        .await
        .expect("int8 param");
    assert_eq!(row.get::<_, i64>(0), 1);
}
