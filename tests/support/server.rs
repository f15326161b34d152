//! An in-process audb wire server for the integration tests: on a fresh
//! database (see [`super::db`]) at a free local port
//! (`audb::server::spawn_for_tests_with`), stopped and its files deleted
//! on drop.

use super::db::{open_at, open_db};
use audb::db::Db;
use audb::server::{ServerConfig, ServerHandle, spawn_for_tests_with};
use std::net::SocketAddr;
use std::sync::Arc;
use tempfile::TempDir;

/// A running in-process server and the temporary directory it keeps its
/// data in.
pub struct Server {
    /// Where to connect.
    pub addr: SocketAddr,
    // Declared before `dir`: the server stops before its files go.
    _handle: ServerHandle,
    /// The temporary directory (the data itself may be in a subdirectory,
    /// see [`server_with_data_subdir`]).
    pub dir: TempDir,
}

/// Starts the server with `config` on `db`, whose files are under `dir`.
pub async fn serve(db: Arc<Db>, dir: TempDir, config: ServerConfig) -> Server {
    let (addr, handle) = spawn_for_tests_with(db, config).await.expect("spawn");
    Server {
        addr,
        _handle: handle,
        dir,
    }
}

/// Starts a server with default settings on a fresh database.
pub async fn server() -> Server {
    server_with(ServerConfig::default()).await
}

/// Starts a server with `config` on a fresh database.
pub async fn server_with(config: ServerConfig) -> Server {
    let (db, dir) = open_db();
    serve(Arc::new(db), dir, config).await
}

/// Starts a server on a fresh database kept in `data/` of its temporary
/// directory, leaving the top of the directory to the test's own files.
pub async fn server_with_data_subdir() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_at(dir.path().join("data"));
    serve(Arc::new(db), dir, ServerConfig::default()).await
}
