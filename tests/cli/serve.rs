//! `audb serve` as a user starts it: flags beat the environment which
//! beats the configuration file, TLS settings are checked before the data
//! directory is touched, and SCRAM-SHA-256-PLUS is offered over TLS.

use super::{assert_usage_error, audb, demo, dir_arg, sql, stderr, stdout};
use std::process::Command;

/// A running `audb serve` on a free loopback port, killed when dropped.
struct Served {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `audb serve` with `args` and environment `env` (the other
/// `AUDB_*` variables removed) and waits until it accepts connections.
fn serve(args: &[&str], env: &[(&str, &str)]) -> Served {
    serve_after(None, args, env)
}

/// [`serve`] on a data directory prepared with `setup` (SQL run by
/// `audb sql` on a 10-user demo directory), if given.
fn serve_after(setup: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Served {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(setup) = setup {
        let data = dir.path().join("data");
        demo(&data, "10", "1");
        let o = sql(&data, setup);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_audb"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .env("RUST_LOG", "warn");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AUDB_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("spawn audb serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "audb serve exited"
        );
        assert!(Instant::now() < deadline, "audb serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served {
        child,
        port,
        _dir: dir,
    }
}

/// Connects as `audb` without a password: the client, or the SQLSTATE.
async fn connect(port: u16) -> Result<tokio_postgres::Client, String> {
    let conf = format!("host=127.0.0.1 port={port} user=audb dbname=audb connect_timeout=10");
    let (client, conn) = tokio_postgres::connect(&conf, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.code().map_or(format!("{e}"), |c| c.code().to_owned()))?;
    tokio::spawn(conn);
    Ok(client)
}

async fn sqlstate_of(client: &tokio_postgres::Client, sql: &str) -> String {
    let err = client.simple_query(sql).await.expect_err(sql);
    err.code().map_or(format!("{err}"), |c| c.code().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_auth_and_limit_flags_beat_environment_which_beats_the_file() {
    use std::time::Duration;
    let cfg_dir = tempfile::tempdir().expect("tempdir");
    let cfg = cfg_dir.path().join("audb.toml");
    std::fs::write(
        &cfg,
        "auth = \"reject\"\nmax_message_bytes = 100000\nidle_session_timeout = 100000\n",
    )
    .expect("write");
    let env = [
        ("AUDB_AUTH", "trust"),
        ("AUDB_MAX_MESSAGE_BYTES", "300"),
        ("AUDB_IDLE_SESSION_TIMEOUT", "100000"),
    ];
    let flags = [
        "--config",
        dir_arg(&cfg),
        "--max-message-bytes",
        "4000",
        "--idle-session-timeout",
        "400",
    ];
    let s = serve(&flags, &env);
    // Environment `trust` over the file's `reject`.
    let c = connect(s.port).await.expect("trusted by AUDB_AUTH");
    // The flag's 4000 bytes over the environment's 300 and the file's 100000.
    let fits = format!("SELECT length('{}')", "x".repeat(2000));
    let rows = c.simple_query(&fits).await.expect("under the limit");
    let value = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
        _ => None,
    });
    assert_eq!(value.as_deref(), Some("2000"));
    let too_big = format!("SELECT length('{}')", "x".repeat(6000));
    assert_eq!(sqlstate_of(&c, &too_big).await, "54000");
    // The flag's 400 ms idle timeout over the environment's and the file's.
    let idle = connect(s.port).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        idle.simple_query("SELECT 1").await.is_err(),
        "closed when idle"
    );

    // The flag's `reject` over the environment's `trust`.
    let rejecting = serve(&["--auth", "reject"], &[("AUDB_AUTH", "trust")]);
    assert_eq!(
        connect(rejecting.port).await.err().as_deref(),
        Some("28000")
    );
}

#[test]
fn serve_tls_flags_are_checked_before_starting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let o = audb(&[
        "serve",
        "--tls-cert",
        "/nonexistent/c.pem",
        "--data-dir",
        dir_arg(&data),
    ]);
    assert_usage_error(&o);
    assert!(
        stderr(&o).contains("tls_cert is set but tls_key is not"),
        "{}",
        stderr(&o)
    );
    // The flag names the certificate; the key comes from the environment.
    let o = Command::new(env!("CARGO_BIN_EXE_audb"))
        .args([
            "serve",
            "--tls-cert",
            "/nonexistent/flag.pem",
            "--data-dir",
            dir_arg(&data),
        ])
        .env("AUDB_TLS_CERT", "/nonexistent/env.pem")
        .env("AUDB_TLS_KEY", "/nonexistent/env.key")
        .env_remove("AUDB_CONFIG")
        .output()
        .expect("run audb");
    assert_usage_error(&o);
    let err = stderr(&o);
    assert!(err.contains("/nonexistent/flag.pem"), "{err}");
    assert!(
        !data.exists(),
        "nothing created before the settings are checked"
    );
    let o = audb(&[
        "serve",
        "--remote-auth",
        "password",
        "--data-dir",
        dir_arg(&data),
    ]);
    assert_usage_error(&o);
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));
}

/// `audb args…` with `input` on standard input.

#[test]
fn serve_tls_flags_offer_scram_sha_256_plus() {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    if !on_path("psql") || !on_path("openssl") {
        eprintln!("SKIPPED: psql or openssl is not installed");
        return;
    }
    let certs = tempfile::tempdir().expect("tempdir");
    let (cert, key) = crate::support::tls::self_signed(certs.path());
    let s = serve_after(
        Some("CREATE ROLE alice LOGIN PASSWORD 'pw'"),
        &[
            "--auth",
            "scram-sha-256",
            "--tls-cert",
            dir_arg(&cert),
            "--tls-key",
            dir_arg(&key),
        ],
        &[],
    );
    let psql = |conninfo: &str| {
        let o = Command::new("psql")
            .arg(format!(
                "host=127.0.0.1 port={} user=alice dbname=audb connect_timeout=10 {conninfo}",
                s.port
            ))
            .args(["-XAtc", "SELECT current_user"])
            .env("PGPASSWORD", "pw")
            .output()
            .expect("psql");
        (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
    };
    // Over TLS the client binds the exchange to the server's certificate.
    let (ok, out) = psql("sslmode=require channel_binding=require");
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "alice");
    // Plain SCRAM still works over TLS for clients that do not bind.
    let (ok, out) = psql("sslmode=require channel_binding=disable");
    assert!(ok, "{out}");
    // Without TLS there is nothing to bind to: -PLUS is not offered.
    let (ok, out) = psql("sslmode=disable channel_binding=require");
    assert!(!ok, "{out}");
    assert!(out.contains("channel binding"), "{out}");
    let (ok, out) = psql("sslmode=disable channel_binding=prefer");
    assert!(ok, "{out}");
}
