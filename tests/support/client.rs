//! tokio-postgres connections to a test server (no TLS, the connection
//! driven by a spawned task) and their answers as text.

use std::net::SocketAddr;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Connects with a libpq-style connection string.
pub async fn connect_str(conn: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(conn, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The connection string for the server at `addr`, user `audb`, database
/// `dbname`.
pub fn conn_string(addr: SocketAddr, dbname: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user=audb dbname={dbname} connect_timeout=10",
        addr.port()
    )
}

/// Connects to the server at `addr` as `audb` to database `dbname`.
pub async fn connect_as(addr: SocketAddr, dbname: &str) -> Result<Client, tokio_postgres::Error> {
    connect_str(&conn_string(addr, dbname)).await
}

/// Connects to the server at `addr` as `audb` to database `audb`.
pub async fn connect(addr: SocketAddr) -> Client {
    connect_as(addr, "audb").await.expect("connect")
}

/// The rows of a simple-query answer, as text (NULL as `None`).
pub fn rows(msgs: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// All rows `sql` returns through the simple protocol, as text.
pub async fn rows_of(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    rows(&c.simple_query(sql).await.expect("query"))
}

/// The SQLSTATE of a client error (or a description of an error without
/// one, such as a closed connection, starting with `no SQLSTATE`).
pub fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE ({e})"))
}
