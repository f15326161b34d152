//! The PostgreSQL wire-protocol server: psql, drivers and BI tools talk to
//! audb as if it were PostgreSQL 15.
//!
//! This module owns only the protocol (on the `pgwire` crate): startup and
//! authentication, the simple and extended query protocols, transaction
//! status, session commands, value encoding and cancel requests. Every SQL
//! statement runs through [`Db::run`] on a blocking thread, never on the
//! async reactor; the server has no query logic of its own.
//!
//! What the server decides, and clients see:
//! - **Database names.** One database per data directory, named `audb`.
//!   `postgres` is accepted as an alias (tools connect to it for
//!   maintenance). Any other name is refused like PostgreSQL refuses an
//!   unknown database: FATAL `3D000 database "x" does not exist`. Without a
//!   database name, PostgreSQL's rule applies: the user name is used.
//! - **Authentication.** [`ServerConfig::auth`] for loopback clients
//!   (default trust), [`ServerConfig::remote_auth`] for the others (default
//!   SCRAM-SHA-256); roles and their password verifiers live in the catalog
//!   (see `auth.rs` and `startup.rs`). TLS when [`ServerConfig::tls`] names
//!   a certificate and key.
//! - **Transactions.** Every statement is atomic and its writes apply (and
//!   are visible to everyone) as soon as it completes. `BEGIN … COMMIT`
//!   groups statements for the client: ReadyForQuery reports `T` inside a
//!   block and `E` after an error in one (every statement then fails with
//!   `25P02` until `ROLLBACK` or `COMMIT`), as PostgreSQL does. `ROLLBACK`
//!   cannot undo writes that already applied; it says so with a WARNING
//!   when the block wrote anything. `SAVEPOINT` / `RELEASE` are accepted
//!   inside a block and do nothing. A multi-statement simple query is not an
//!   implicit transaction either: statements before a failing one stay
//!   applied.
//! - **Limits.** [`ServerConfig::max_connections`] sessions (`53300` beyond
//!   it), [`ServerConfig::max_message_bytes`] per client message (`54000`),
//!   [`ServerConfig::idle_session_timeout`] (`57P05`); a client that breaks
//!   the protocol or a limit loses its own connection only.
//! - **Protocol errors**, as PostgreSQL 15 answers them: invalid UTF-8 in
//!   a message's strings (SQL text, statement and portal names) is `22021`
//!   and the connection stays usable (`framing.rs` checks the bytes before
//!   pgwire decodes them); an unknown portal is `34000`, an unknown
//!   statement `26000`; Bind counts that do not match are `08P01`; a binary
//!   parameter shorter than its type is `08P01`, a longer one `22P03`; a
//!   binary array whose header names another element type is `42804`; a
//!   Bind with more than one result format but not one per column is
//!   `08P01`; a Bind that fails sends no BindComplete; a startup packet of
//!   a protocol other than 3.x is FATAL `0A000`, one of 3.1 or later (or
//!   with `_pq_.` options) gets NegotiateProtocolVersion and goes on in
//!   3.0; a message type not valid after startup is FATAL `08P01`.

pub mod auth;
mod copy;
mod decode;
mod describe;
mod encode;
mod extended;
mod framing;
mod handlers;
mod session;
mod socket;
mod sqlstate;
mod startup;
pub mod tls;

use crate::db::Db;
use handlers::Conn;
use parking_lot::Mutex;
use pgwire::messages::startup::SecretKey;
use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;

/// The PostgreSQL version audb presents itself as (`server_version`).
pub const PG_VERSION: &str = "15.0";

/// `server_version_num` for [`PG_VERSION`].
pub const PG_VERSION_NUM: &str = "150000";

/// The `server_version` parameter: `15.0 (audb x.y.z)`.
pub fn server_version() -> String {
    format!("{PG_VERSION} (audb {})", env!("CARGO_PKG_VERSION"))
}

/// What `SELECT version()` returns. SQLAlchemy and others parse the
/// `PostgreSQL 15.0` prefix.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {} on x86_64-pc-linux-gnu, 64-bit",
        server_version()
    )
}

/// The names a client may give as its database (see the module docs).
pub const DATABASE_NAMES: &[&str] = &["audb", "postgres"];

/// Sockets accepted beyond [`ServerConfig::max_connections`] while they are
/// still in startup (and cancel requests, which never start a session), so
/// that clients over the limit get a proper `53300` error instead of a
/// refused connection, while the number of open sockets stays bounded.
const STARTUP_SOCKETS_EXTRA: usize = 64;

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:5433`, so that a local
    /// PostgreSQL on 5432 is never in the way).
    pub listen: SocketAddr,
    /// Most concurrent sessions; the next one is refused with `53300 sorry,
    /// too many clients already` (default 200).
    pub max_connections: usize,
    /// How loopback clients authenticate (default trust).
    pub auth: auth::AuthMethod,
    /// How clients from other addresses authenticate (default
    /// SCRAM-SHA-256).
    pub remote_auth: auth::AuthMethod,
    /// Certificate and key for TLS; `None` answers SSLRequest with `N`.
    pub tls: Option<tls::TlsFiles>,
    /// Largest message a client may send, in bytes (default 64 MiB).
    pub max_message_bytes: usize,
    /// End sessions idle this long outside a transaction block (`None`:
    /// never, the default).
    pub idle_session_timeout: Option<std::time::Duration>,
}

/// Default [`ServerConfig::max_message_bytes`]: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 20;

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 5433)),
            max_connections: 200,
            auth: auth::AuthMethod::Trust,
            remote_auth: auth::AuthMethod::ScramSha256,
            tls: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            idle_session_timeout: None,
        }
    }
}

/// State shared by every connection of one server.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    /// Sessions past startup.
    pub(crate) sessions: AtomicUsize,
    /// Next backend process id handed to a client.
    next_pid: AtomicI32,
    /// Cancel flags of live sessions by (pid, secret key).
    cancels: Mutex<HashMap<i32, (SecretKey, Arc<AtomicBool>)>>,
    /// SCRAM bound to the TLS certificate, for `SCRAM-SHA-256-PLUS`.
    pub(crate) scram_plus: Option<pgwire::api::auth::sasl::scram::ScramServerAuth>,
}

impl Shared {
    fn new(config: ServerConfig) -> Shared {
        Shared {
            scram_plus: config.tls.as_ref().and_then(tls::scram_channel_binding),
            config,
            sessions: AtomicUsize::new(0),
            next_pid: AtomicI32::new(1000),
            cancels: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a session slot, or `false` when all are in use.
    pub(crate) fn acquire_session(&self) -> bool {
        let max = self.config.max_connections;
        self.sessions
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    pub(crate) fn release_session(&self) {
        self.sessions.fetch_sub(1, Ordering::AcqRel);
    }

    /// Registers a session's cancel flag; returns its pid and secret key.
    pub(crate) fn register_cancel(&self, flag: Arc<AtomicBool>) -> (i32, SecretKey) {
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret = SecretKey::I32(random_i32(pid));
        self.cancels.lock().insert(pid, (secret.clone(), flag));
        (pid, secret)
    }

    pub(crate) fn unregister_cancel(&self, pid: i32) {
        self.cancels.lock().remove(&pid);
    }

    /// Sets the cancel flag of the session with this pid and key (a wrong
    /// key is ignored silently, as PostgreSQL does).
    pub(crate) fn cancel(&self, pid: i32, secret: &SecretKey) {
        if let Some((key, flag)) = self.cancels.lock().get(&pid)
            && key.eq_value(secret)
        {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// A secret key for cancel requests: unpredictable to other clients
/// (seeded by the process's random hash keys), not cryptographic.
fn random_i32(salt: i32) -> i32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i32(salt);
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as i32
}

/// Serves `db` on `config.listen` until `shutdown` completes.
///
/// On shutdown the server stops accepting and closes every connection;
/// statements already running finish on their blocking threads (each is
/// atomic), their results are not sent.
pub async fn serve(
    db: Arc<Db>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    serve_on(listener, db, config, shutdown).await
}

/// [`serve`] on a listener the caller bound (`config.listen` is ignored).
pub async fn serve_on(
    listener: TcpListener,
    db: Arc<Db>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let limits = limits(&config);
    let sockets = Arc::new(Semaphore::new(
        config.max_connections.saturating_add(STARTUP_SOCKETS_EXTRA),
    ));
    let shared = Arc::new(Shared::new(config));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // Reap finished connection tasks so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(a) => a,
                    // Out of file descriptors, a connection reset before
                    // accept…: keep serving the others.
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let Ok(permit) = sockets.clone().try_acquire_owned() else {
                    tracing::warn!("refusing {peer}: too many open sockets");
                    continue;
                };
                let (db, shared, tls) = (db.clone(), shared.clone(), tls.clone());
                connections.spawn(async move {
                    serve_connection(socket, peer, db, shared, tls, limits).await;
                    drop(permit);
                });
            }
        }
    }
    connections.shutdown().await;
    Ok(())
}

/// The per-connection limits of a configuration.
fn limits(config: &ServerConfig) -> socket::Limits {
    socket::Limits {
        max_message_bytes: config.max_message_bytes.max(1024),
        idle_session_timeout: config.idle_session_timeout.filter(|d| !d.is_zero()),
    }
}

/// One accepted connection from `peer` (whose address decides how it
/// authenticates), served until it ends.
async fn serve_connection(
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    db: Arc<Db>,
    shared: Arc<Shared>,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    limits: socket::Limits,
) {
    let conn = Arc::new(Conn::new(db, shared, peer));
    if let Err(e) = socket::serve_socket(socket, tls, conn.clone(), limits).await {
        tracing::debug!("connection from {peer} ended: {e}");
    }
    conn.close();
}

/// A server running on a background task (see [`spawn`]).
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until every connection is closed.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // Without an explicit shutdown, stop accepting; the task ends on its
        // own once the signal arrives.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `config.listen` and serves `db` on a background task of the
/// current tokio runtime. The handle stops the server when shut down or
/// dropped.
pub async fn spawn(db: Arc<Db>, config: ServerConfig) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(listener, db, config, async move {
        let _ = stopped.await;
    }));
    Ok(ServerHandle {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// [`spawn`] on `127.0.0.1:0` (a free port) with default settings, for
/// tests: returns the address to connect to and the handle.
pub async fn spawn_for_tests(db: Arc<Db>) -> std::io::Result<(SocketAddr, ServerHandle)> {
    spawn_for_tests_with(db, ServerConfig::default()).await
}

/// [`spawn_for_tests`] with settings (`config.listen` is replaced by
/// `127.0.0.1:0`).
pub async fn spawn_for_tests_with(
    db: Arc<Db>,
    config: ServerConfig,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ..config
    };
    let handle = spawn(db, config).await?;
    Ok((handle.local_addr(), handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_requests_need_the_right_key() {
        let shared = Shared::new(ServerConfig::default());
        let flag = Arc::new(AtomicBool::new(false));
        let (pid, key) = shared.register_cancel(flag.clone());
        let SecretKey::I32(k) = key else {
            panic!("4-byte keys work with every protocol version");
        };
        shared.cancel(pid, &SecretKey::I32(k.wrapping_add(1)));
        shared.cancel(pid + 1, &SecretKey::I32(k));
        assert!(!flag.load(Ordering::Relaxed), "wrong pid or key is ignored");
        shared.cancel(pid, &SecretKey::I32(k));
        assert!(flag.load(Ordering::Relaxed));
        flag.store(false, Ordering::Relaxed);
        shared.unregister_cancel(pid);
        shared.cancel(pid, &SecretKey::I32(k));
        assert!(
            !flag.load(Ordering::Relaxed),
            "a closed session cannot be canceled"
        );
    }

    #[test]
    fn session_slots_are_bounded() {
        let shared = Shared::new(ServerConfig {
            max_connections: 2,
            ..ServerConfig::default()
        });
        assert!(shared.acquire_session());
        assert!(shared.acquire_session());
        assert!(!shared.acquire_session());
        shared.release_session();
        assert!(shared.acquire_session());
    }

    /// Serves connections on a loopback port as if they came from `peer`
    /// (the accept loop's job), through the same per-connection code.
    async fn serve_as_from(db: Arc<Db>, config: ServerConfig, peer: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let limits = limits(&config);
        let shared = Arc::new(Shared::new(config));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (db, shared) = (db.clone(), shared.clone());
                tokio::spawn(serve_connection(socket, peer, db, shared, None, limits));
            }
        });
        addr
    }

    /// Connects as `user` (with `password`): the current user, or the
    /// error (SQLSTATE and message, or the client's own complaint).
    async fn login(addr: SocketAddr, user: &str, password: Option<&str>) -> Result<String, String> {
        let mut conf = format!(
            "host=127.0.0.1 port={} user={user} dbname=audb connect_timeout=10",
            addr.port()
        );
        if let Some(p) = password {
            conf.push_str(&format!(" password={p}"));
        }
        let (client, conn) = tokio_postgres::connect(&conf, tokio_postgres::NoTls)
            .await
            .map_err(|e| match e.as_db_error() {
                Some(d) => format!("{} {}", d.code().code(), d.message()),
                None => match std::error::Error::source(&e) {
                    Some(source) => format!("{e}: {source}"),
                    None => e.to_string(),
                },
            })?;
        tokio::spawn(conn);
        let row = client
            .query_one("SELECT current_user", &[])
            .await
            .map_err(|e| e.to_string())?;
        Ok(row.get(0))
    }

    /// A client whose address is not loopback authenticates with
    /// `remote_auth` (SCRAM-SHA-256 by default) even where loopback clients
    /// are trusted; `remote_auth = trust` or `reject` apply to it too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_from_other_addresses_must_authenticate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(
            Db::open(
                dir.path(),
                crate::storage::Options {
                    background: false,
                    ..crate::storage::Options::default()
                },
            )
            .expect("open"),
        );
        db.execute(
            &mut crate::db::Session::new("audb"),
            "CREATE ROLE remote LOGIN PASSWORD 'pw'",
        )
        .expect("role");
        let remote = SocketAddr::from(([10, 1, 2, 3], 40_000));
        let remote6: SocketAddr = "[2001:db8::1]:40000".parse().expect("v6");
        let mapped_loopback: SocketAddr = "[::ffff:127.0.0.1]:40000".parse().expect("mapped");

        let addr = serve_as_from(db.clone(), ServerConfig::default(), remote).await;
        let no_password = login(addr, "remote", None).await.expect_err("asked");
        assert!(no_password.contains("password missing"), "{no_password}");
        assert_eq!(
            login(addr, "remote", Some("wrong")).await,
            Err("28P01 password authentication failed for user \"remote\"".to_owned())
        );
        assert_eq!(
            login(addr, "remote", Some("pw")).await,
            Ok("remote".to_owned())
        );
        let addr = serve_as_from(db.clone(), ServerConfig::default(), remote6).await;
        assert!(
            login(addr, "remote", None).await.is_err(),
            "IPv6 is remote too"
        );

        for loopback in [SocketAddr::from(([127, 0, 0, 1], 40_000)), mapped_loopback] {
            let addr = serve_as_from(db.clone(), ServerConfig::default(), loopback).await;
            assert_eq!(login(addr, "remote", None).await, Ok("remote".to_owned()));
        }

        let trusting = ServerConfig {
            remote_auth: auth::AuthMethod::Trust,
            ..ServerConfig::default()
        };
        let addr = serve_as_from(db.clone(), trusting, remote).await;
        assert_eq!(login(addr, "remote", None).await, Ok("remote".to_owned()));

        let rejecting = ServerConfig {
            remote_auth: auth::AuthMethod::Reject,
            ..ServerConfig::default()
        };
        let addr = serve_as_from(db.clone(), rejecting, remote).await;
        assert_eq!(
            login(addr, "remote", Some("pw")).await,
            Err("28000 connection rejected for host \"10.1.2.3\", user \"remote\", database \"audb\", no encryption (authentication method reject)".to_owned())
        );
    }

    #[test]
    fn version_strings() {
        assert!(server_version().starts_with("15.0 (audb "));
        assert!(version_string().starts_with("PostgreSQL 15.0 (audb "));
    }
}
