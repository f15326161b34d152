//! Helpers shared by the integration-test binaries: a database on a fresh
//! temporary directory ([`db`]), an in-process server on one ([`server`]),
//! tokio-postgres connections and their answers as text ([`client`]),
//! `COPY` streams ([`copy`]), a raw protocol-3 client for what drivers hide
//! ([`raw`]) and a self-signed TLS certificate ([`tls`]).
//!
//! A test binary uses them with `mod support;` and then, for example,
//! `use support::server::server;`.

// Every test binary compiles this whole tree but calls only the part it
// needs, so each binary would warn about the helpers the others use.
#![allow(dead_code)]

pub mod client;
pub mod copy;
pub mod db;
pub mod raw;
pub mod server;
pub mod tls;
