//! A throwaway self-signed TLS certificate for the tests that start a
//! server with TLS (part of the shared `tests/support/` helpers).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes a self-signed P-256 certificate for `localhost` and its key into
/// `dir` with `openssl`; returns `(certificate, key)` paths.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}
