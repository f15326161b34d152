//! TLS: the rustls acceptor (ring provider) built from the configured PEM
//! certificate chain and private key. With it, a client's SSLRequest is
//! answered `S` and the session is encrypted; without it, `N`. The same
//! certificate gives SCRAM its `tls-server-end-point` channel binding
//! ([`scram_channel_binding`], `SCRAM-SHA-256-PLUS`).

use pgwire::api::auth::sasl::scram::ScramServerAuth;
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the server's certificate and key are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file with the certificate chain (server certificate first).
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

fn invalid(path: &Path, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

/// Loads the files into an acceptor; an error names the file and the
/// problem.
pub fn acceptor(files: &TlsFiles) -> io::Result<TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| invalid(&files.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(&files.cert, e))?;
    if certs.is_empty() {
        return Err(invalid(&files.cert, "no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| invalid(&files.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(&files.key, e))?;
    // PostgreSQL 17's direct TLS negotiation requires this ALPN name.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A SCRAM authenticator that binds to the server certificate of `files`
/// (`tls-server-end-point`, RFC 5929), for `SCRAM-SHA-256-PLUS` over TLS;
/// `None` when the certificate cannot be read or its signature algorithm
/// has no defined binding hash (the server then offers plain SCRAM only).
pub(crate) fn scram_channel_binding(files: &TlsFiles) -> Option<ScramServerAuth> {
    let pem = std::fs::read(&files.cert).ok()?;
    let mut auth = ScramServerAuth::new();
    match auth.configure_certificate(&pem) {
        Ok(()) => Some(auth),
        Err(e) => {
            tracing::warn!(
                cert = %files.cert.display(),
                "SCRAM-SHA-256-PLUS is not offered: no channel binding for this certificate: {e}"
            );
            None
        }
    }
}
