//! The `audb` binary as a user runs it: help texts, exit codes, one-line
//! errors, and the demo → sql, load and check round trips.

use std::path::Path;
use std::process::{Command, Output};

#[path = "cli/serve.rs"]
mod serve;
mod support;

fn audb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audb"))
        .args(args)
        // The tests must not pick up settings from the environment.
        .env_remove("AUDB_DATA_DIR")
        .env_remove("AUDB_CONFIG")
        .env_remove("AUDB_LOG")
        .env_remove("AUDB_DEMO_USERS")
        .env_remove("AUDB_DEMO_SEED")
        .env_remove("AUDB_AUTH")
        .env_remove("AUDB_REMOTE_AUTH")
        .env_remove("AUDB_TLS_CERT")
        .env_remove("AUDB_TLS_KEY")
        .env_remove("AUDB_MAX_MESSAGE_BYTES")
        .env_remove("AUDB_IDLE_SESSION_TIMEOUT")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the audb binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn dir_arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Asserts exit code 2 and exactly one line on stderr.
fn assert_usage_error(o: &Output) {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

fn demo(dir: &Path, users: &str, seed: &str) {
    let o = audb(&[
        "demo",
        "--users",
        users,
        "--seed",
        seed,
        "--data-dir",
        dir_arg(dir),
    ]);
    assert!(o.status.success(), "demo failed: {}", stderr(&o));
}

fn sql(dir: &Path, query: &str) -> Output {
    audb(&["sql", query, "--data-dir", dir_arg(dir)])
}

#[test]
fn help_of_every_subcommand_mentions_each_flag() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--help"],
            &[
                "serve",
                "demo",
                "load",
                "check",
                "sql",
                "--data-dir",
                "--config",
                "--log",
            ],
        ),
        (
            &["serve", "--help"],
            &[
                "--listen",
                "--demo",
                "--demo-users",
                "--demo-seed",
                "--max-connections",
                "--trust-remote",
                "--auth",
                "--remote-auth",
                "--tls-cert",
                "--tls-key",
                "--max-message-bytes",
                "--idle-session-timeout",
                "AUDB_IDLE_SESSION_TIMEOUT",
                "--data-dir",
                "--config",
                "AUDB_LISTEN",
            ],
        ),
        (
            &["demo", "--help"],
            &["--users", "--seed", "--data-dir", "AUDB_DEMO_USERS"],
        ),
        (
            &["load", "--help"],
            &[
                "--table",
                "--format",
                "--max-bad-rows",
                "FILE",
                "--data-dir",
            ],
        ),
        (&["check", "--help"], &["--data-dir", "--config"]),
        (&["sql", "--help"], &["--csv", "SQL", "--data-dir"]),
    ];
    for (args, flags) in cases {
        let o = audb(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let help = stdout(&o);
        for flag in *flags {
            assert!(help.contains(flag), "{args:?} help lacks {flag}:\n{help}");
        }
    }
}

#[test]
fn unknown_flag_is_a_one_line_error_with_exit_code_2() {
    let o = audb(&["sql", "--bogus", "SELECT 1"]);
    assert_usage_error(&o);
    assert!(stderr(&o).contains("--bogus"));
    assert_usage_error(&audb(&["demo", "--users", "many"]));
    assert_usage_error(&audb(&["frobnicate"]));
}

#[test]
fn foreign_directory_is_refused_with_exit_code_2_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), "not a database").expect("write");
    for args in [
        vec!["sql", "SELECT 1"],
        vec!["check"],
        vec!["demo", "--users", "10"],
        vec!["load", "--table", "users", "notes.txt"],
    ] {
        let mut args = args.clone();
        args.extend(["--data-dir", dir_arg(dir.path())]);
        let o = audb(&args);
        assert_usage_error(&o);
        assert!(
            stderr(&o).contains("not an audb data directory"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
}

#[test]
fn missing_data_directory_is_a_usage_error_for_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = sql(&dir.path().join("nope"), "SELECT 1");
    assert_usage_error(&o);
}

#[test]
fn demo_counts_are_exact_and_deterministic() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    demo(a.path(), "20000", "7");
    demo(b.path(), "20000", "7");
    let o = sql(a.path(), "SELECT COUNT(*) FROM users");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).lines().any(|l| l.trim() == "20000"),
        "{}",
        stdout(&o)
    );
    let q = "SELECT city, device_os, COUNT(*), SUM(ltv) FROM users WHERE vip GROUP BY city, device_os ORDER BY 1, 2";
    let (ra, rb) = (sql(a.path(), q), sql(b.path(), q));
    assert!(ra.status.success(), "{}", stderr(&ra));
    assert_eq!(stdout(&ra), stdout(&rb));
    assert!(stdout(&ra).contains("Shanghai"));
    // The saved segments exist and agree with their definitions.
    let view = sql(a.path(), "SELECT COUNT(*) FROM shanghai_vip");
    let direct = sql(
        a.path(),
        "SELECT COUNT(*) FROM users WHERE vip AND city = 'Shanghai'",
    );
    assert!(view.status.success(), "{}", stderr(&view));
    assert_eq!(stdout(&view), stdout(&direct));
    let mv = sql(a.path(), "SELECT COUNT(*) FROM high_value");
    assert!(mv.status.success(), "{}", stderr(&mv));
}

#[test]
fn demo_refuses_a_second_run_into_the_same_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    demo(dir.path(), "100", "1");
    let o = audb(&["demo", "--users", "100", "--data-dir", dir_arg(dir.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
}

fn table_with_csv(csv: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let o = audb(&["sql", "SELECT 1", "--data-dir", dir_arg(&data)]);
    // `sql` never creates a database: make one with `demo` of zero users.
    assert_usage_error(&o);
    demo(&data, "0", "1");
    let o = sql(
        &data,
        "CREATE TABLE people (id TEXT PRIMARY KEY, age INT, vip BOOLEAN, tags TEXT[])",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let file = dir.path().join("people.csv");
    std::fs::write(&file, csv).expect("write csv");
    (dir, file)
}

const CSV_WITH_BAD_ROW: &str = "id,age,vip,tags\np1,30,true,\"{a,b}\"\np2,abc,false,\np3,41,,{c}\n";

#[test]
fn load_with_a_bad_row_reports_its_line_and_loads_nothing() {
    let (dir, file) = table_with_csv(CSV_WITH_BAD_ROW);
    let data = dir.path().join("data");
    let o = audb(&[
        "load",
        "--table",
        "people",
        dir_arg(&file),
        "--data-dir",
        dir_arg(&data),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("integer"), "{err}");
    let o = sql(&data, "SELECT COUNT(*) FROM people");
    assert!(
        stdout(&o).lines().any(|l| l.trim() == "0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn load_skips_up_to_max_bad_rows_and_loads_the_good_ones() {
    let (dir, file) = table_with_csv(CSV_WITH_BAD_ROW);
    let data = dir.path().join("data");
    let o = audb(&[
        "load",
        "--table",
        "people",
        "--max-bad-rows",
        "1",
        dir_arg(&file),
        "--data-dir",
        dir_arg(&data),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 3"), "{}", stderr(&o));
    let o = audb(&[
        "sql",
        "SELECT id, age, vip, tags FROM people ORDER BY id",
        "--csv",
        "--data-dir",
        dir_arg(&data),
    ]);
    assert_eq!(
        stdout(&o),
        "id,age,vip,tags\np1,30,t,\"{a,b}\"\np3,41,,{c}\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn load_reads_json_lines() {
    let (dir, _) = table_with_csv("");
    let data = dir.path().join("data");
    let file = dir.path().join("people.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"j1\", \"age\": 20, \"tags\": [\"x\"]}\n\n{\"id\": \"j2\", \"vip\": true}\n",
    )
    .expect("write");
    let o = audb(&[
        "load",
        "--table",
        "people",
        dir_arg(&file),
        "--data-dir",
        dir_arg(&data),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = audb(&[
        "sql",
        "SELECT id, age, vip, tags FROM people ORDER BY id",
        "--csv",
        "--data-dir",
        dir_arg(&data),
    ]);
    assert_eq!(stdout(&o), "id,age,vip,tags\nj1,20,,{x}\nj2,,t,\n");
}

#[test]
fn check_passes_on_a_good_directory_and_fails_after_a_flipped_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    demo(dir.path(), "3000", "3");
    let o = audb(&["check", "--data-dir", dir_arg(dir.path())]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("check passed"));
    let segment = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a segment file");
    let mut bytes = std::fs::read(&segment).expect("read segment");
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&segment, bytes).expect("write segment");
    let o = audb(&["check", "--data-dir", dir_arg(dir.path())]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("CORRUPT"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn config_file_with_an_unknown_key_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("audb.toml");
    std::fs::write(&cfg, "data_dri = \"x\"\n").expect("write");
    let o = audb(&["check", "--config", dir_arg(&cfg)]);
    assert_usage_error(&o);
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}

#[test]
fn readme_documents_every_setting() {
    let readme = include_str!("../README.md");
    for s in audb::config::SETTINGS {
        assert!(readme.contains(s.env), "README lacks {}", s.env);
        assert!(
            readme.contains(s.default),
            "README lacks the default of {}",
            s.env
        );
        if !s.key.is_empty() {
            assert!(
                readme.contains(&format!("`{}`", s.key)),
                "README lacks key {}",
                s.key
            );
        }
        for flag in s.flag.split(" / ").filter(|f| !f.is_empty()) {
            assert!(
                readme.contains(&format!("`{flag}`")),
                "README lacks flag {flag}"
            );
        }
    }
}

fn audb_with_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_audb"))
        .args(args)
        .env_remove("AUDB_DATA_DIR")
        .env_remove("AUDB_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn audb");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

#[test]
fn sql_copy_writes_to_stdout_and_reads_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    demo(dir.path(), "10", "1");
    let d = dir_arg(dir.path());
    let o = sql(
        dir.path(),
        "CREATE TABLE t (k TEXT PRIMARY KEY, city TEXT, age INT); \
         INSERT INTO t VALUES ('u1', 'Beijing', 30), ('u2', NULL, NULL)",
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let o = sql(dir.path(), "COPY t TO STDOUT");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "u1\tBeijing\t30\nu2\t\\N\t\\N\n");
    let o = sql(
        dir.path(),
        "COPY (SELECT k, age FROM t WHERE age > 1) TO STDOUT (FORMAT csv, HEADER)",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "k,age\nu1,30\n");

    let o = audb_with_stdin(
        &["sql", "COPY t FROM STDIN", "--data-dir", d],
        "u3\tX\t5\nu4\t\\N\t6\n\\.\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "COPY 2\n");
    let o = audb_with_stdin(
        &[
            "sql",
            "COPY t (k, city) FROM STDIN WITH (FORMAT csv, HEADER); SELECT COUNT(*) FROM t",
            "--data-dir",
            d,
            "--csv",
        ],
        "k,city\nu5,\"Shang, hai\"\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "COPY 1\ncount\n5\n");

    // A bad row names its line and loads nothing.
    let o = audb_with_stdin(
        &["sql", "COPY t FROM STDIN", "--data-dir", d],
        "u6\tY\t7\nu7\tZ\tabc\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("invalid input syntax for type integer"),
        "{err}"
    );
    assert!(err.contains("line 2"), "{err}");
    let o = audb(&["sql", "SELECT COUNT(*) FROM t", "--data-dir", d, "--csv"]);
    assert_eq!(stdout(&o), "count\n5\n");

    // The SQL itself on standard input leaves no room for the data.
    let o = audb_with_stdin(&["sql", "-", "--data-dir", d], "COPY t FROM STDIN");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("give the SQL as an argument"),
        "{}",
        stderr(&o)
    );
    // Files on the server side are refused, as by the server.
    let o = sql(dir.path(), "COPY t TO '/tmp/audb-copy-out'");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not allowed"), "{}", stderr(&o));
}

#[test]
fn sql_prints_reg_casts_as_names_and_keeps_oids_for_comparisons() {
    let dir = tempfile::tempdir().expect("tempdir");
    demo(dir.path(), "10", "1");
    let o = audb(&[
        "sql",
        "SELECT 'users'::regclass, 'int4'::regtype, 2200::regnamespace, \
         'users'::regclass::oid = c.oid AS same, c.oid::regclass::text \
         FROM pg_class c WHERE c.oid = 'users'::regclass",
        "--data-dir",
        dir_arg(dir.path()),
        "--csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "regclass,regtype,regnamespace,same,oid\nusers,integer,public,t,users\n"
    );
}
