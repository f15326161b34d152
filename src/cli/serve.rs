//! `audb serve`: open the database, optionally build the demo audience, and
//! serve it over the PostgreSQL protocol until Ctrl-C or SIGTERM.

use super::data_dir::{self, Create};
use super::{CliError, CliResult};
use audb::config::Settings;
use audb::db::Db;
use std::sync::Arc;

/// Runs the server in the foreground.
pub fn run(settings: &Settings) -> CliResult {
    let store = data_dir::open(settings, Create::IfMissing, settings.store_options())?;
    let db = Arc::new(Db::with_store(store));
    if settings.demo {
        if db.store().snapshot().tables().is_empty() {
            super::demo::build(&db, settings)?;
        } else {
            tracing::info!(
                dir = %settings.data_dir.display(),
                "the data directory already has tables; --demo leaves it as it is"
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("audb-server")
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the runtime: {e}")))?;
    let served = runtime.block_on(serve(db.clone(), settings));
    // Stop the runtime (and any connection tasks still draining) before the
    // final flush, so no statement writes after it.
    drop(runtime);
    tracing::info!("flushing before exit");
    db.store()
        .flush()
        .map_err(|e| CliError::Failed(format!("flush at shutdown failed: {e}")))?;
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}

// ---------------------------------------------------------------------------
// SERVER CALL SITE (issue 5): wire `audb::server::serve` here once
// `src/server/mod.rs` exists. Expected shape:
//     audb::server::serve(db, ServerConfig { listen: settings.listen, .. }, shutdown_signal()).await
// Until then `serve` refuses to start rather than pretend to listen.
// ---------------------------------------------------------------------------
async fn serve(db: Arc<Db>, settings: &Settings) -> CliResult {
    let _ = (&db, shutdown_signal);
    Err(CliError::Failed(format!(
        "cannot listen on {}: this build has no PostgreSQL server yet (src/server is in progress); \
         use `audb sql` meanwhile",
        settings.listen
    )))
}
