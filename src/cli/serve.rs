//! `audb serve`: open the database, optionally build the demo audience, and
//! serve it over the PostgreSQL protocol until Ctrl-C or SIGTERM.

use super::data_dir::{self, Create};
use super::{CliError, CliResult};
use audb::config::Settings;
use audb::db::Db;
use std::sync::Arc;

/// Runs the server in the foreground.
pub fn run(settings: &Settings) -> CliResult {
    settings.check_server().map_err(CliError::Usage)?;
    // A certificate that cannot be used is a bad setting: say so before
    // opening (or building) the data directory.
    if let Some(files) = &settings.server_config().tls {
        audb::server::tls::acceptor(files)
            .map_err(|e| CliError::Usage(format!("cannot use the TLS certificate: {e}")))?;
    }
    let store = data_dir::open(settings, Create::IfMissing, settings.store_options())?;
    let db = Arc::new(Db::with_store(store).with_exec(settings.exec_config()));
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
        // Statements recurse over expression trees up to
        // `sql::EXPR_TREE_DEPTH_MAX` levels: give every thread room.
        .thread_stack_size(8 << 20)
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

/// Serves until a shutdown signal; the server stops accepting, closes its
/// sessions and returns.
async fn serve(db: Arc<Db>, settings: &Settings) -> CliResult {
    let config = settings.server_config();
    tracing::info!(
        listen = %config.listen,
        dir = %settings.data_dir.display(),
        "audb {} starting on {}:{} (connect with psql -h <host> -p <port> -U audb)",
        env!("CARGO_PKG_VERSION"),
        config.listen.ip(),
        config.listen.port()
    );
    audb::server::serve(db, config.clone(), shutdown_signal())
        .await
        .map_err(|e| CliError::Failed(format!("cannot serve on {}: {e}", config.listen)))
}
