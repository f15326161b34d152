//! `pgwire_messages`: arbitrary bytes as a client's message stream.
//!
//! One server runs in-process for the whole fuzzing run (on a loopback port,
//! over the SQL fixture database). Per input, a new TCP connection sends a
//! valid startup message followed by the input (or, when the first byte is
//! odd, the input alone, as the very first bytes of the connection), closes
//! its writing half and reads until the server closes or a deadline passes.
//! Then a fresh connection must still get the answer to `SELECT 1`.
//!
//! A panic anywhere in the server aborts the process (libFuzzer's panic hook),
//! so a handler bug is a finding even though tokio would swallow it.
#![no_main]

use audb::server::{ServerHandle, spawn_for_tests};
use libfuzzer_sys::fuzz_target;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long one input's connection is read before it is dropped.
const READ_DEADLINE: Duration = Duration::from_secs(2);

struct Server {
    addr: SocketAddr,
    _handle: ServerHandle,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

static SERVER: OnceLock<Server> = OnceLock::new();

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (dir, db) = audb_fuzz::sql_fixture();
        let (addr, handle) = runtime
            .block_on(spawn_for_tests(Arc::new(db)))
            .expect("spawn server");
        Server {
            addr,
            _handle: handle,
            _runtime: runtime,
            _dir: dir,
        }
    })
}

/// A protocol 3.0 startup message for user and database `audb`.
fn startup() -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for s in [
        "user",
        "audb",
        "database",
        "audb",
        "application_name",
        "fuzz",
    ] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    msg
}

/// A simple-protocol Query message.
fn query(sql: &str) -> Vec<u8> {
    let mut msg = vec![b'Q'];
    msg.extend_from_slice(&((sql.len() + 5) as i32).to_be_bytes());
    msg.extend_from_slice(sql.as_bytes());
    msg.push(0);
    msg
}

/// Reads until the peer closes, an error, or `deadline`; returns the bytes.
fn read_all(stream: &mut TcpStream, deadline: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || out.len() > 64 << 20 {
            return out;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return out,
        }
    }
}

/// Splits a server byte stream into (type, body) messages.
fn messages(bytes: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + 5) {
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|l| (at + 1).checked_add(l))
        else {
            break;
        };
        let Some(body) = bytes.get(at + 5..end) else {
            break;
        };
        out.push((header[0], body));
        at = end;
    }
    out
}

/// Asserts that a new connection runs `SELECT 1` and gets `1` back.
fn assert_serving(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).expect("server accepts connections");
    let _ = stream.set_nodelay(true);
    let mut msg = startup();
    msg.extend_from_slice(&query("SELECT 1"));
    msg.push(b'X');
    msg.extend_from_slice(&4i32.to_be_bytes());
    stream.write_all(&msg).expect("send health query");
    let bytes = read_all(&mut stream, Instant::now() + Duration::from_secs(10));
    let msgs = messages(&bytes);
    let row = msgs.iter().find(|(t, _)| *t == b'D');
    assert!(
        matches!(row, Some((_, body)) if body.ends_with(b"1")),
        "server stopped answering: {msgs:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let server = server();
    if let Ok(mut stream) = TcpStream::connect(server.addr) {
        let _ = stream.set_nodelay(true);
        let mut msg = if mode & 1 == 0 { startup() } else { Vec::new() };
        msg.extend_from_slice(input);
        let _ = stream.set_write_timeout(Some(READ_DEADLINE));
        // The server may close early (after an error): a failed write is fine.
        let _ = stream.write_all(&msg);
        let _ = stream.shutdown(Shutdown::Write);
        read_all(&mut stream, Instant::now() + READ_DEADLINE);
    }
    assert_serving(server.addr);
});
