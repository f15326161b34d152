//! Clients that leave at the wrong moment: in the middle of a big result,
//! and hundreds of connections opened and dropped at once. The server
//! releases what they held (session slots) and keeps serving.

use super::common::{FINGERPRINT, Raw, SCHEMA, code, connect, rows};
use crate::support::client::connect_as;
use crate::support::server::{Server, server_with};
use audb::server::ServerConfig;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Rows in the big table.
const BIG_ROWS: usize = 100_000;

/// A server with at most `max_connections` sessions, [`SCHEMA`] and a
/// table `big` of [`BIG_ROWS`] rows.
async fn big_server(max_connections: usize) -> Server {
    let s = server_with(ServerConfig {
        max_connections,
        ..ServerConfig::default()
    })
    .await;
    let c = connect(s.addr).await;
    c.batch_execute(SCHEMA).await.expect("schema");
    c.batch_execute("CREATE TABLE big (id BIGINT PRIMARY KEY, label TEXT, n INT)")
        .await
        .expect("big");
    for chunk in (0..BIG_ROWS).collect::<Vec<_>>().chunks(10_000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| format!("({i}, 'label-{}', {i})", i % 100))
            .collect();
        c.batch_execute(&format!("INSERT INTO big VALUES {}", values.join(",")))
            .await
            .expect("rows");
    }
    s
}

/// Connects, retrying while the server has not yet noticed that earlier
/// clients left (their slots come back asynchronously).
async fn connect_eventually(addr: std::net::SocketAddr) -> tokio_postgres::Client {
    for _ in 0..200 {
        match connect_as(addr, "audb").await {
            Ok(c) => return c,
            // 53300, or closed at once while the server still holds the
            // sockets of clients that left (max_connections + 64 at most).
            Err(e) => assert!(
                code(&e) == "53300" || code(&e).starts_with("no SQLSTATE"),
                "unexpected: {}",
                code(&e)
            ),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("session slots were never released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_leave_mid_result_release_their_session() {
    // Three slots: if a client that left mid-result kept its slot, the
    // later connections would be refused.
    let srv = big_server(3).await;
    let addr = srv.addr;
    for round in 0..6 {
        let mut raw = Raw::connect(addr).await;
        raw.send(
            b'Q',
            &super::common::cstr("SELECT id, label, n FROM big ORDER BY id"),
        )
        .await;
        // Read a little of the result, then vanish.
        let mut buf = vec![0u8; 16 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(60), raw.stream.read(&mut buf))
            .await
            .expect("the result starts")
            .expect("read");
        assert!(n > 0, "round {round}: some of the result arrives");
        drop(raw);
    }
    // Another client that leaves before the result is even computed.
    let mut raw = Raw::connect(addr).await;
    raw.send(
        b'Q',
        &super::common::cstr("SELECT id, label FROM big ORDER BY label, id"),
    )
    .await;
    drop(raw);
    let clients = [
        connect_eventually(addr).await,
        connect_eventually(addr).await,
        connect_eventually(addr).await,
    ];
    for c in &clients {
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM big", &[])
            .await
            .expect("count")
            .get(0);
        assert_eq!(n, BIG_ROWS as i64);
    }
    // And the full result is still served whole.
    let all = clients[0]
        .query("SELECT id, label, n FROM big ORDER BY id", &[])
        .await
        .expect("big result");
    assert_eq!(all.len(), BIG_ROWS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_connections_opened_and_dropped_at_once() {
    let srv = big_server(200).await;
    let addr = srv.addr;
    let reference = connect(addr).await;
    let fp = rows(
        &reference
            .simple_query(FINGERPRINT)
            .await
            .expect("fingerprint"),
    );
    drop(reference);

    // 300 full sessions at once: 200 fit, the rest are refused with 53300.
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            tokio::spawn(async move {
                let conn = format!(
                    "host=127.0.0.1 port={} user=audb dbname=audb connect_timeout=30",
                    addr.port()
                );
                match super::common::connect_str(&conn).await {
                    Ok(c) => c
                        .simple_query("SELECT 1")
                        .await
                        .map(|_| "ok".to_owned())
                        .unwrap_or_else(|e| code(&e)),
                    Err(e) => code(&e),
                }
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task").as_str() {
            "ok" => ok += 1,
            // Over max_connections + 64 sockets in startup, the server
            // closes new sockets at once without an error message.
            "53300" => {}
            other if other.starts_with("no SQLSTATE") => {}
            other => panic!("a connection ended with {other}"),
        }
    }
    assert!(ok >= 100, "only {ok} of 300 connections were served");

    // 300 raw sockets: some send half a startup packet, some nothing, some
    // garbage; all dropped at once.
    let mut sockets = Vec::new();
    for i in 0..300 {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            use tokio::io::AsyncWriteExt;
            let bytes = super::common::startup_message("audb", "audb");
            let _ = match i % 3 {
                0 => s.write_all(&bytes[..bytes.len() / 2]).await,
                1 => Ok(()),
                _ => s.write_all(&[0xde, 0xad, 0xbe, 0xef]).await,
            };
            sockets.push(s);
        }
    }
    drop(sockets);

    // Everything was released: a normal query works and 200 sessions fit.
    let mut clients = Vec::new();
    for _ in 0..200 {
        clients.push(connect_eventually(addr).await);
    }
    let m = clients[199]
        .simple_query(FINGERPRINT)
        .await
        .expect("a normal query");
    assert_eq!(rows(&m), fp);
}
