//! Settings of the `audb` binary: defaults, an optional TOML file
//! (`--config audb.toml`), `AUDB_*` environment variables and command-line
//! flags, in increasing order of precedence.
//!
//! [`SETTINGS`] lists every setting once (TOML key, flag, environment
//! variable, default, meaning); the README's configuration table and the
//! CLI's `--help` texts follow it.
//!
//! ```toml
//! # audb.toml
//! data_dir = "/var/lib/audb"
//! listen = "0.0.0.0:5433"
//! log = "info,audb::storage=debug"
//! bitmap_cache_bytes = 4294967296
//! remote_auth = "scram-sha-256"
//! tls_cert = "/etc/audb/server.crt"
//! tls_key = "/etc/audb/server.key"
//! ```

use crate::server::ServerConfig;
use crate::server::auth::AuthMethod;
use crate::server::tls::TlsFiles;
use crate::storage::Options;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default data directory (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "./audb-data";
/// Default listen address: loopback only, and not PostgreSQL's 5432.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5433";
/// Default log filter (`RUST_LOG` syntax).
pub const DEFAULT_LOG: &str = "info";

/// One documented setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingDoc {
    /// Key in the TOML file.
    pub key: &'static str,
    /// Command-line flag (empty if there is none).
    pub flag: &'static str,
    /// Environment variable.
    pub env: &'static str,
    /// Default, as text.
    pub default: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// Every setting, in the order of the README's table.
pub const SETTINGS: &[SettingDoc] = &[
    SettingDoc {
        key: "data_dir",
        flag: "--data-dir",
        env: "AUDB_DATA_DIR",
        default: DEFAULT_DATA_DIR,
        help: "data directory (created by `serve` and `demo` if missing)",
    },
    SettingDoc {
        key: "listen",
        flag: "--listen",
        env: "AUDB_LISTEN",
        default: DEFAULT_LISTEN,
        help: "address and port `serve` accepts PostgreSQL clients on",
    },
    SettingDoc {
        key: "max_connections",
        flag: "--max-connections",
        env: "AUDB_MAX_CONNECTIONS",
        default: "200",
        help: "most concurrent client sessions; more are refused with 53300",
    },
    SettingDoc {
        key: "trust_remote",
        flag: "--trust-remote",
        env: "AUDB_TRUST_REMOTE",
        default: "false",
        help: "accept clients from non-loopback addresses without a password: the same as `remote_auth = \"trust\"`",
    },
    SettingDoc {
        key: "auth",
        flag: "--auth",
        env: "AUDB_AUTH",
        default: "trust",
        help: "how loopback clients authenticate: `trust`, `scram-sha-256`, `md5` or `reject`",
    },
    SettingDoc {
        key: "remote_auth",
        flag: "--remote-auth",
        env: "AUDB_REMOTE_AUTH",
        default: "scram-sha-256",
        help: "how clients from other addresses authenticate: `scram-sha-256`, `md5`, `trust` or `reject`",
    },
    SettingDoc {
        key: "tls_cert",
        flag: "--tls-cert",
        env: "AUDB_TLS_CERT",
        default: "none",
        help: "PEM certificate chain for TLS (with `tls_key`), also bound by SCRAM-SHA-256-PLUS; without it SSLRequest is refused",
    },
    SettingDoc {
        key: "tls_key",
        flag: "--tls-key",
        env: "AUDB_TLS_KEY",
        default: "none",
        help: "PEM private key of `tls_cert`",
    },
    SettingDoc {
        key: "max_message_bytes",
        flag: "--max-message-bytes",
        env: "AUDB_MAX_MESSAGE_BYTES",
        default: "67108864",
        help: "largest message a client may send; a larger one ends that client's connection with 54000",
    },
    SettingDoc {
        key: "idle_session_timeout",
        flag: "--idle-session-timeout",
        env: "AUDB_IDLE_SESSION_TIMEOUT",
        default: "0",
        help: "milliseconds a session may sit idle outside a transaction block before it is closed with 57P05 (0 = never)",
    },
    SettingDoc {
        key: "log",
        flag: "--log",
        env: "AUDB_LOG",
        default: "info",
        help: "log filter in `RUST_LOG` syntax, e.g. `info,audb::storage=debug` (`RUST_LOG` if unset; `warn` for `sql`)",
    },
    SettingDoc {
        key: "demo",
        flag: "--demo",
        env: "AUDB_DEMO",
        default: "false",
        help: "`serve`: load the demo audience first if the data directory is empty",
    },
    SettingDoc {
        key: "demo_users",
        flag: "--users / --demo-users",
        env: "AUDB_DEMO_USERS",
        default: "1000000",
        help: "rows of the demo audience",
    },
    SettingDoc {
        key: "demo_seed",
        flag: "--seed / --demo-seed",
        env: "AUDB_DEMO_SEED",
        default: "42",
        help: "seed of the demo audience (same seed, same data)",
    },
    SettingDoc {
        key: "bitmap_cache_bytes",
        flag: "--bitmap-cache-bytes",
        env: "AUDB_BITMAP_CACHE_BYTES",
        default: "1073741824",
        help: "memory for deserialized segment bitmaps",
    },
    SettingDoc {
        key: "memtable_ops_max",
        flag: "--memtable-ops-max",
        env: "AUDB_MEMTABLE_OPS_MAX",
        default: "262144",
        help: "writes a table buffers before they are flushed to a segment file",
    },
    SettingDoc {
        key: "worker_threads",
        flag: "",
        env: "",
        default: "0",
        help: "threads of the query executor's pool (0 = the machine's available parallelism)",
    },
    SettingDoc {
        key: "query_memory_limit",
        flag: "",
        env: "",
        default: "4294967296",
        help: "bytes of group-by bitmaps, row buffers and sorts one statement may hold; beyond it the statement fails with 53200 (0 = unlimited)",
    },
    SettingDoc {
        key: "",
        flag: "--config",
        env: "AUDB_CONFIG",
        default: "none",
        help: "TOML file with any of the keys above",
    },
];

/// Settings as given by one source: every field optional. This is the
/// TOML file's schema; unknown keys are an error (a typo must not be ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialSettings {
    /// See [`Settings::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Settings::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Settings::max_connections`].
    pub max_connections: Option<usize>,
    /// See [`Settings::trust_remote`].
    pub trust_remote: Option<bool>,
    /// See [`Settings::auth`].
    pub auth: Option<AuthMethod>,
    /// See [`Settings::remote_auth`].
    pub remote_auth: Option<AuthMethod>,
    /// See [`Settings::tls_cert`].
    pub tls_cert: Option<PathBuf>,
    /// See [`Settings::tls_key`].
    pub tls_key: Option<PathBuf>,
    /// See [`Settings::max_message_bytes`].
    pub max_message_bytes: Option<usize>,
    /// See [`Settings::idle_session_timeout`].
    pub idle_session_timeout: Option<u64>,
    /// See [`Settings::log`].
    pub log: Option<String>,
    /// See [`Settings::demo`].
    pub demo: Option<bool>,
    /// See [`Settings::demo_users`].
    pub demo_users: Option<u64>,
    /// See [`Settings::demo_seed`].
    pub demo_seed: Option<u64>,
    /// See [`Settings::bitmap_cache_bytes`].
    pub bitmap_cache_bytes: Option<usize>,
    /// See [`Settings::memtable_ops_max`].
    pub memtable_ops_max: Option<u64>,
    /// See [`Settings::worker_threads`].
    pub worker_threads: Option<usize>,
    /// See [`Settings::query_memory_limit`].
    pub query_memory_limit: Option<u64>,
}

impl PartialSettings {
    /// Each field of `self`, or of `lower` where `self` has none.
    pub fn or(self, lower: PartialSettings) -> PartialSettings {
        PartialSettings {
            data_dir: self.data_dir.or(lower.data_dir),
            listen: self.listen.or(lower.listen),
            max_connections: self.max_connections.or(lower.max_connections),
            trust_remote: self.trust_remote.or(lower.trust_remote),
            auth: self.auth.or(lower.auth),
            remote_auth: self.remote_auth.or(lower.remote_auth),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            max_message_bytes: self.max_message_bytes.or(lower.max_message_bytes),
            idle_session_timeout: self.idle_session_timeout.or(lower.idle_session_timeout),
            log: self.log.or(lower.log),
            demo: self.demo.or(lower.demo),
            demo_users: self.demo_users.or(lower.demo_users),
            demo_seed: self.demo_seed.or(lower.demo_seed),
            bitmap_cache_bytes: self.bitmap_cache_bytes.or(lower.bitmap_cache_bytes),
            memtable_ops_max: self.memtable_ops_max.or(lower.memtable_ops_max),
            worker_threads: self.worker_threads.or(lower.worker_threads),
            query_memory_limit: self.query_memory_limit.or(lower.query_memory_limit),
        }
    }
}

/// The settings in force, every one resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where `serve` listens.
    pub listen: SocketAddr,
    /// Most concurrent client sessions.
    pub max_connections: usize,
    /// Trust clients from non-loopback addresses (no password): overrides
    /// [`Settings::remote_auth`].
    pub trust_remote: bool,
    /// How loopback clients authenticate.
    pub auth: AuthMethod,
    /// How other clients authenticate.
    pub remote_auth: AuthMethod,
    /// PEM certificate chain for TLS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    pub tls_key: Option<PathBuf>,
    /// Largest client message, in bytes.
    pub max_message_bytes: usize,
    /// Idle-session timeout in milliseconds (0 = none).
    pub idle_session_timeout: u64,
    /// Log filter in `RUST_LOG` syntax; `None` = `RUST_LOG` or [`DEFAULT_LOG`].
    pub log: Option<String>,
    /// `serve`: load the demo audience into an empty data directory first.
    pub demo: bool,
    /// Rows of the demo audience.
    pub demo_users: u64,
    /// Seed of the demo audience.
    pub demo_seed: u64,
    /// Bytes of deserialized segment bitmaps kept in memory.
    pub bitmap_cache_bytes: usize,
    /// Operations a table's memtable holds before it is flushed.
    pub memtable_ops_max: u64,
    /// Threads of the executor's worker pool (0 = available parallelism).
    pub worker_threads: usize,
    /// Bytes one statement may hold in charged allocations (0 = unlimited).
    pub query_memory_limit: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::resolve(PartialSettings::default())
    }
}

impl Settings {
    /// Fills what `given` leaves open with the defaults.
    pub fn resolve(given: PartialSettings) -> Settings {
        let options = Options::default();
        let server = ServerConfig::default();
        Settings {
            data_dir: given
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            listen: given.listen.unwrap_or(server.listen),
            max_connections: given.max_connections.unwrap_or(server.max_connections),
            trust_remote: given.trust_remote.unwrap_or(false),
            auth: given.auth.unwrap_or(server.auth),
            remote_auth: given.remote_auth.unwrap_or(server.remote_auth),
            tls_cert: given.tls_cert,
            tls_key: given.tls_key,
            max_message_bytes: given.max_message_bytes.unwrap_or(server.max_message_bytes),
            idle_session_timeout: given.idle_session_timeout.unwrap_or(0),
            log: given.log,
            demo: given.demo.unwrap_or(false),
            demo_users: given.demo_users.unwrap_or(crate::demo::DEFAULT_USERS),
            demo_seed: given.demo_seed.unwrap_or(crate::demo::DEFAULT_SEED),
            bitmap_cache_bytes: given
                .bitmap_cache_bytes
                .unwrap_or(options.bitmap_cache_bytes),
            memtable_ops_max: given.memtable_ops_max.unwrap_or(options.memtable_ops_max),
            worker_threads: given.worker_threads.unwrap_or(0),
            query_memory_limit: given
                .query_memory_limit
                .unwrap_or(crate::exec::memory::DEFAULT_QUERY_MEMORY_LIMIT),
        }
    }

    /// Server settings for `serve`.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            listen: self.listen,
            max_connections: self.max_connections.max(1),
            auth: self.auth,
            remote_auth: if self.trust_remote {
                AuthMethod::Trust
            } else {
                self.remote_auth
            },
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }),
                _ => None,
            },
            max_message_bytes: self.max_message_bytes,
            idle_session_timeout: (self.idle_session_timeout > 0)
                .then(|| Duration::from_millis(self.idle_session_timeout)),
        }
    }

    /// Checks the server settings that must agree: `tls_cert` and `tls_key`
    /// go together.
    pub fn check_server(&self) -> Result<(), String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => Err("tls_cert is set but tls_key is not".into()),
            (None, Some(_)) => Err("tls_key is set but tls_cert is not".into()),
            _ => Ok(()),
        }
    }

    /// Executor settings (apply with [`crate::db::Db::with_exec`]).
    pub fn exec_config(&self) -> crate::exec::ExecConfig {
        crate::exec::ExecConfig {
            worker_threads: self.worker_threads,
            query_memory_limit: self.query_memory_limit,
        }
    }

    /// Store options for these settings.
    pub fn store_options(&self) -> Options {
        Options {
            bitmap_cache_bytes: self.bitmap_cache_bytes,
            memtable_ops_max: self.memtable_ops_max.max(1),
            ..Options::default()
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a wrong type.
    #[error("config file {}, line {line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// What was wrong (one line).
        message: String,
    },
}

/// Reads a TOML settings file.
pub fn read_file(path: &Path) -> Result<PartialSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|(line, message)| ConfigError::Parse {
        path: path.to_owned(),
        line,
        message,
    })
}

/// Parses TOML settings; an error is its 1-based line and a one-line message.
pub fn parse(text: &str) -> Result<PartialSettings, (usize, String)> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |s| {
            // Bytes, not `&str` slicing: a span inside a character must not panic.
            let before = &text.as_bytes()[..s.start.min(text.len())];
            before.iter().filter(|b| **b == b'\n').count() + 1
        });
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_owned();
        (line, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_fill_what_flags_leave_open() {
        let file =
            parse("data_dir = \"/d\"\nlisten = \"0.0.0.0:6000\"\ndemo_users = 5\n").expect("parse");
        let flags = PartialSettings {
            listen: Some("127.0.0.1:7000".parse().expect("addr")),
            ..PartialSettings::default()
        };
        let s = Settings::resolve(flags.or(file));
        assert_eq!(s.data_dir, PathBuf::from("/d"));
        assert_eq!(s.listen.port(), 7000);
        assert_eq!(s.demo_users, 5);
        assert_eq!(s.demo_seed, crate::demo::DEFAULT_SEED);
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let (line, message) = parse("listen = \"127.0.0.1:1\"\ndata_dri = \"x\"\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("data_dri"), "{message}");
    }

    #[test]
    fn auth_tls_and_limits_from_file_and_environment() {
        let file = parse(
            "auth = \"md5\"\nremote_auth = \"reject\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\nidle_session_timeout = 1500\n",
        )
        .expect("parse");
        let s = Settings::resolve(file);
        assert_eq!(s.auth, AuthMethod::Md5);
        assert_eq!(s.remote_auth, AuthMethod::Reject);
        let c = s.server_config();
        assert_eq!(c.idle_session_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(c.tls.map(|t| t.key), Some(PathBuf::from("/k.pem")));
        assert_eq!(s.check_server(), Ok(()));
        let flags = PartialSettings {
            auth: Some(AuthMethod::ScramSha256),
            max_message_bytes: Some(1000),
            ..PartialSettings::default()
        };
        let file =
            parse("auth = \"md5\"\nmax_message_bytes = 5\ntls_key = \"/k.pem\"\n").expect("parse");
        let mut s = Settings::resolve(flags.or(file));
        assert_eq!(s.auth, AuthMethod::ScramSha256);
        assert_eq!(s.server_config().max_message_bytes, 1000);
        assert!(parse("auth = \"ident\"\n").is_err());
        assert_eq!(
            s.check_server(),
            Err("tls_key is set but tls_cert is not".to_owned())
        );
        s.trust_remote = true;
        assert_eq!(s.server_config().remote_auth, AuthMethod::Trust);
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let s = Settings::default();
        assert_eq!(s.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        for doc in SETTINGS {
            let expected = match doc.key {
                "demo_users" => s.demo_users.to_string(),
                "demo_seed" => s.demo_seed.to_string(),
                "bitmap_cache_bytes" => s.bitmap_cache_bytes.to_string(),
                "memtable_ops_max" => s.memtable_ops_max.to_string(),
                "worker_threads" => s.worker_threads.to_string(),
                "query_memory_limit" => s.query_memory_limit.to_string(),
                "max_connections" => s.max_connections.to_string(),
                "trust_remote" => s.trust_remote.to_string(),
                "auth" => s.auth.to_string(),
                "remote_auth" => s.remote_auth.to_string(),
                "max_message_bytes" => s.max_message_bytes.to_string(),
                "idle_session_timeout" => s.idle_session_timeout.to_string(),
                "listen" => s.listen.to_string(),
                _ => continue,
            };
            assert_eq!(doc.default, expected, "{}", doc.key);
        }
    }
}
