//! The `audb` command line: argument parsing, settings, logging, exit codes.
//! Each subcommand lives in its own module and calls the library.
//!
//! Exit codes: 0 success; 1 the command ran and failed (an SQL error, a
//! rejected load, corruption found by `check`); 2 the command could not start
//! (a wrong flag, a bad config file, a directory that is not audb's). Errors
//! are one line on stderr, never a panic.

mod check;
mod copy;
mod data_dir;
mod demo;
mod load;
mod progress;
mod serve;
mod sql;

use audb::config::{self, PartialSettings, Settings};
use audb::server::auth::AuthMethod;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// A failed command: the message and whether it was a usage error.
#[derive(Debug)]
pub enum CliError {
    /// The command could not start: wrong flags, settings or data directory (exit 2).
    Usage(String),
    /// The command ran and failed (exit 1).
    Failed(String),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }

    fn message(&self) -> &str {
        match self {
            CliError::Usage(m) | CliError::Failed(m) => m,
        }
    }
}

/// Results of the CLI.
pub type CliResult<T = ()> = Result<T, CliError>;

#[derive(Parser, Debug)]
#[command(
    name = "audb",
    version,
    about = "audb: an audience database that speaks the PostgreSQL protocol",
    long_about = "audb: an audience database that speaks the PostgreSQL protocol.\n\n\
        Every person is a row id, every tag a compressed bitmap; audience counts, \
        segments and breakdowns are answered from bitmaps.\n\n\
        Quick start:\n  audb serve --demo\n  psql -h 127.0.0.1 -p 5433 -U audb\n\n\
        Every setting can also come from an AUDB_* environment variable or a TOML \
        file (--config); flags win over environment variables, which win over the file.",
    propagate_version = true,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings every subcommand accepts.
#[derive(Args, Debug)]
struct GlobalArgs {
    /// Data directory [default: ./audb-data]
    #[arg(long, global = true, env = "AUDB_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// TOML file with settings (keys: data_dir, listen, max_connections,
    /// trust_remote, auth, remote_auth, tls_cert, tls_key, max_message_bytes,
    /// idle_session_timeout, log, demo, demo_users, demo_seed,
    /// bitmap_cache_bytes, memtable_ops_max)
    #[arg(long, global = true, env = "AUDB_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter in RUST_LOG syntax, e.g. "info,audb::storage=debug"
    /// [default: RUST_LOG, else info]
    #[arg(long, global = true, env = "AUDB_LOG", value_name = "FILTER")]
    log: Option<String>,
    /// Memory for deserialized segment bitmaps, in bytes [default: 1073741824]
    #[arg(
        long,
        global = true,
        env = "AUDB_BITMAP_CACHE_BYTES",
        value_name = "BYTES",
        help_heading = "Storage"
    )]
    bitmap_cache_bytes: Option<usize>,
    /// Writes a table buffers in memory before flushing them to a segment file
    /// [default: 262144]
    #[arg(
        long,
        global = true,
        env = "AUDB_MEMTABLE_OPS_MAX",
        value_name = "N",
        help_heading = "Storage"
    )]
    memtable_ops_max: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the data directory to PostgreSQL clients (psql, JDBC, BI tools)
    #[command(
        long_about = "Serve the data directory to PostgreSQL clients (psql, JDBC, BI tools).\n\n\
        Creates the data directory if it is missing. With --demo, an empty data directory \
        first gets the demo audience (table users). Ctrl-C or SIGTERM stops accepting \
        connections, lets running statements finish, flushes and exits 0."
    )]
    Serve(ServeArgs),
    /// Generate the seeded demo audience (table users, views, comments)
    #[command(
        long_about = "Generate the seeded demo audience in the data directory: table users \
        (gender, age, city, province, device_os, interests, vip, churned, ltv, churn_prob, \
        register_date, last_active and 200 sparse flags f_001..f_200), the view shanghai_vip, \
        the materialized view high_value and column comments.\n\n\
        The same seed always gives the same data. Fails if the table users exists."
    )]
    Demo(DemoArgs),
    /// Bulk-load a CSV or JSON-lines file into a table, atomically
    #[command(
        long_about = "Bulk-load a CSV file (first line: column names) or a JSON-lines file \
        (one object per line, keys are column names) into an existing table.\n\n\
        The load is atomic: all good rows or nothing. A bad row is reported with its line \
        number and stops the load, unless --max-bad-rows allows skipping it. Rows whose key \
        exists are updated. In CSV, an unquoted empty field is NULL and \"\" is the empty \
        string; TEXT[] values are written {a,b}. A JSON line sets every column that appears \
        anywhere in the file (missing keys are NULL)."
    )]
    Load(LoadArgs),
    /// Verify every checksum and invariant of a data directory (offline)
    #[command(
        long_about = "Verify every checksum and invariant of a data directory, offline \
        (no server may be running on it): the manifest, each write-ahead log file and every \
        segment file, bitmap by bitmap.\n\n\
        Exits 0 if all is well, 1 with a report naming the damaged file and offset otherwise."
    )]
    Check(CheckArgs),
    /// Run SQL statements against a data directory without a server
    #[command(
        long_about = "Run SQL statements against a data directory without a server \
        (no server may be running on it) and print the results as an aligned table, like \
        psql, or as CSV. COPY … TO STDOUT writes its rows to standard output and \
        COPY … FROM STDIN reads them from standard input, as in psql.\n\n\
        Example: audb sql \"SELECT city, COUNT(*) FROM users WHERE vip GROUP BY city ORDER BY 2 DESC LIMIT 5\""
    )]
    Sql(SqlArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:5433]
    #[arg(long, env = "AUDB_LISTEN", value_name = "IP:PORT")]
    listen: Option<SocketAddr>,
    /// Most concurrent client sessions [default: 200]
    #[arg(long, env = "AUDB_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// Accept clients from non-loopback addresses without a password
    /// (loopback clients are always trusted)
    #[arg(long, env = "AUDB_TRUST_REMOTE")]
    trust_remote: bool,
    /// Load the demo audience first if the data directory is empty
    #[arg(long, env = "AUDB_DEMO")]
    demo: bool,
    /// Rows of the demo audience for --demo [default: 1000000]
    #[arg(long, env = "AUDB_DEMO_USERS", value_name = "N")]
    demo_users: Option<u64>,
    /// Seed of the demo audience for --demo [default: 42]
    #[arg(long, env = "AUDB_DEMO_SEED", value_name = "S")]
    demo_seed: Option<u64>,
    /// How loopback clients authenticate: trust, scram-sha-256, md5 or reject
    /// [default: trust]
    #[arg(
        long,
        env = "AUDB_AUTH",
        value_name = "METHOD",
        help_heading = "Authentication and limits"
    )]
    auth: Option<AuthMethod>,
    /// How clients from other addresses authenticate: scram-sha-256, md5,
    /// trust or reject [default: scram-sha-256]
    #[arg(
        long,
        env = "AUDB_REMOTE_AUTH",
        value_name = "METHOD",
        help_heading = "Authentication and limits"
    )]
    remote_auth: Option<AuthMethod>,
    /// PEM certificate chain for TLS (with --tls-key); without it SSLRequest
    /// is refused
    #[arg(
        long,
        env = "AUDB_TLS_CERT",
        value_name = "FILE",
        help_heading = "Authentication and limits"
    )]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(
        long,
        env = "AUDB_TLS_KEY",
        value_name = "FILE",
        help_heading = "Authentication and limits"
    )]
    tls_key: Option<PathBuf>,
    /// Largest message a client may send; a larger one ends that client's
    /// connection with 54000 [default: 67108864]
    #[arg(
        long,
        env = "AUDB_MAX_MESSAGE_BYTES",
        value_name = "BYTES",
        help_heading = "Authentication and limits"
    )]
    max_message_bytes: Option<usize>,
    /// Milliseconds a session may sit idle outside a transaction block
    /// before it is closed with 57P05; 0 = never [default: 0]
    #[arg(
        long,
        env = "AUDB_IDLE_SESSION_TIMEOUT",
        value_name = "MS",
        help_heading = "Authentication and limits"
    )]
    idle_session_timeout: Option<u64>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Number of users to generate [default: 1000000]
    #[arg(long, env = "AUDB_DEMO_USERS", value_name = "N")]
    users: Option<u64>,
    /// Random seed: the same seed gives the same data [default: 42]
    #[arg(long, env = "AUDB_DEMO_SEED", value_name = "S")]
    seed: Option<u64>,
    /// Write the audience as a CSV file (for `audb load` and other databases)
    /// instead of building it in the data directory
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// With --csv: comma-separated columns after the key, or "all"
    /// [default: the macro benchmark's 19 columns]
    #[arg(long, value_name = "COLS", requires = "csv")]
    columns: Option<String>,
}

/// Input formats of `load`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Args, Debug)]
struct LoadArgs {
    /// Table to load into (it must exist)
    #[arg(long, short = 't', value_name = "TABLE")]
    table: String,
    /// Input format [default: from the file name: .json, .jsonl, .ndjson → jsonl, else csv]
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<Format>,
    /// Skip up to N bad rows (reported with their line numbers) instead of stopping at the first
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_bad_rows: u64,
    /// The file to load
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(Args, Debug)]
struct CheckArgs {}

#[derive(Args, Debug)]
struct SqlArgs {
    /// SQL text: one or more statements separated by ';' ("-" reads standard input)
    #[arg(value_name = "SQL")]
    sql: String,
    /// Print results as CSV (header line, NULL as an empty field) instead of a table
    #[arg(long)]
    csv: bool,
}

/// Parses the arguments, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audb: {}", e.message());
            ExitCode::from(e.exit_code())
        }
    }
}

/// Help and version go to stdout (exit 0); a usage error is one line on
/// stderr (exit 2).
fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return ExitCode::from(2);
    }
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("audb: {first} (see audb --help)");
    ExitCode::from(2)
}

fn run(cli: Cli) -> CliResult {
    let settings = settings(&cli)?;
    let default_log = match cli.command {
        // `sql` prints results; keep its stderr quiet unless asked.
        Command::Sql(_) => "warn",
        _ => config::DEFAULT_LOG,
    };
    init_logging(settings.log.as_deref(), default_log)?;
    match cli.command {
        Command::Serve(_) => serve::run(&settings),
        Command::Demo(args) => demo::run(&settings, args.csv.as_deref(), args.columns.as_deref()),
        Command::Load(args) => load::run(&settings, &load::LoadRequest::from_args(args)),
        Command::Check(_) => check::run(&settings),
        Command::Sql(args) => sql::run(&settings, &args.sql, args.csv),
    }
}

/// Flags and environment variables (merged by clap), over the config file,
/// over the defaults.
fn settings(cli: &Cli) -> CliResult<Settings> {
    let g = &cli.global;
    let mut given = PartialSettings {
        data_dir: g.data_dir.clone(),
        log: g.log.clone(),
        bitmap_cache_bytes: g.bitmap_cache_bytes,
        memtable_ops_max: g.memtable_ops_max,
        ..PartialSettings::default()
    };
    match &cli.command {
        Command::Serve(a) => {
            given.listen = a.listen;
            given.max_connections = a.max_connections;
            given.trust_remote = a.trust_remote.then_some(true);
            given.demo = a.demo.then_some(true);
            given.demo_users = a.demo_users;
            given.demo_seed = a.demo_seed;
            given.auth = a.auth;
            given.remote_auth = a.remote_auth;
            given.tls_cert = a.tls_cert.clone();
            given.tls_key = a.tls_key.clone();
            given.max_message_bytes = a.max_message_bytes;
            given.idle_session_timeout = a.idle_session_timeout;
        }
        Command::Demo(a) => {
            given.demo_users = a.users;
            given.demo_seed = a.seed;
        }
        _ => {}
    }
    if let Some(path) = &g.config {
        let file = config::read_file(path).map_err(|e| CliError::Usage(e.to_string()))?;
        given = given.or(file);
    }
    Ok(Settings::resolve(given))
}

fn init_logging(configured: Option<&str>, default: &str) -> CliResult {
    use tracing_subscriber::EnvFilter;
    let from_env = std::env::var("RUST_LOG").ok().filter(|s| !s.is_empty());
    let spec = configured
        .map(str::to_owned)
        .or(from_env)
        .unwrap_or_else(|| default.to_owned());
    let filter = EnvFilter::try_new(&spec)
        .map_err(|e| CliError::Usage(format!("invalid log filter {spec:?}: {e}")))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init()
        .map_err(|e| CliError::Failed(format!("cannot start logging: {e}")))
}

/// Thousands separators: 1234567 → "1,234,567".
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn digits_are_grouped_by_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }
}
