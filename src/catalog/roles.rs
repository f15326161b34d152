//! Roles: who may log in, whether they are superusers, and their password
//! verifiers, persisted as store metadata (`role/<name>` holds a
//! postcard-encoded [`RoleDef`]).
//!
//! The built-in superuser [`SUPERUSER_NAME`] (`audb`, oid 10) always exists;
//! it has no password unless one is set with `ALTER ROLE audb PASSWORD …`,
//! which stores it like any other role.
//!
//! Passwords are never stored: only PostgreSQL's SCRAM-SHA-256 verifier
//! (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64
//! parts) and, when MD5 authentication is configured, PostgreSQL's MD5 hash
//! (`md5` + hex md5(password ‖ user name)).

use crate::storage::{Snapshot, StorageError, Store};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Name of the built-in superuser.
pub const SUPERUSER_NAME: &str = "audb";

/// Oid of the built-in superuser (PostgreSQL's `BOOTSTRAP_SUPERUSERID`).
pub const SUPERUSER_OID: i64 = 10;

/// Oids of created roles start above this one (a range table and view oids
/// never use).
pub const ROLE_OID_BASE: i64 = 900_000_000;

/// SCRAM iteration count of new verifiers (PostgreSQL's default).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// A role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDef {
    /// Role name.
    pub name: String,
    /// Its oid (`pg_authid.oid`).
    pub oid: i64,
    /// Superuser: may create, alter and drop roles.
    pub superuser: bool,
    /// May log in.
    pub login: bool,
    /// SCRAM-SHA-256 verifier, if the role has a password.
    pub scram: Option<String>,
    /// PostgreSQL MD5 hash (`md5…`), if one was stored.
    pub md5: Option<String>,
}

impl RoleDef {
    /// The built-in superuser without a password.
    pub fn builtin() -> RoleDef {
        RoleDef {
            name: SUPERUSER_NAME.to_owned(),
            oid: SUPERUSER_OID,
            superuser: true,
            login: true,
            scram: None,
            md5: None,
        }
    }

    /// Whether the role has any password.
    pub fn has_password(&self) -> bool {
        self.scram.is_some() || self.md5.is_some()
    }

    /// What `pg_authid.rolpassword` shows: the SCRAM verifier, else the MD5
    /// hash.
    pub fn rolpassword(&self) -> Option<&str> {
        self.scram.as_deref().or(self.md5.as_deref())
    }
}

fn role_key(name: &str) -> String {
    format!("role/{name}")
}

/// The role named `name` (the built-in superuser included).
pub fn role(snapshot: &Snapshot, name: &str) -> Option<RoleDef> {
    match snapshot
        .meta(&role_key(name))
        .and_then(|b| postcard::from_bytes::<RoleDef>(b).ok())
    {
        Some(r) => Some(r),
        None if name == SUPERUSER_NAME => Some(RoleDef::builtin()),
        None => None,
    }
}

/// Every role, by oid (the built-in superuser first).
pub fn roles(snapshot: &Snapshot) -> Vec<RoleDef> {
    let mut out: Vec<RoleDef> = snapshot
        .meta_with_prefix("role/")
        .filter_map(|(_, b)| postcard::from_bytes(b).ok())
        .collect();
    if !out.iter().any(|r: &RoleDef| r.name == SUPERUSER_NAME) {
        out.push(RoleDef::builtin());
    }
    out.sort_by_key(|r| r.oid);
    out
}

/// The oid for a new role.
pub fn next_oid(snapshot: &Snapshot) -> i64 {
    roles(snapshot)
        .iter()
        .map(|r| r.oid)
        .fold(ROLE_OID_BASE, i64::max)
        + 1
}

/// Stores (`Some`) or removes (`None`) the role named `name`.
pub fn put_role(store: &Store, name: &str, def: Option<&RoleDef>) -> Result<(), StorageError> {
    let bytes = def.map(|d| postcard::to_stdvec(d).unwrap_or_default());
    store.set_meta(&role_key(name), bytes)
}

/// The parts of a SCRAM-SHA-256 verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramVerifier {
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Salt.
    pub salt: Vec<u8>,
    /// `H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl ScramVerifier {
    /// Parses PostgreSQL's text form; `None` if `text` is not one.
    pub fn parse(text: &str) -> Option<ScramVerifier> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (iter_salt, keys) = rest.split_once('$')?;
        let (iterations, salt) = iter_salt.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let v = ScramVerifier {
            iterations: iterations.parse().ok().filter(|n| *n > 0)?,
            salt: STANDARD.decode(salt).ok()?,
            stored_key: STANDARD.decode(stored).ok()?,
            server_key: STANDARD.decode(server).ok()?,
        };
        (v.stored_key.len() == 32 && v.server_key.len() == 32).then_some(v)
    }

    /// Derives the verifier of `password` with `salt`.
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> ScramVerifier {
        use pgwire::api::auth::sasl::scram::{ScramSecret, gen_salted_password};
        let salted = gen_salted_password(password, salt, iterations as usize);
        match ScramSecret::verifier_from_salted_password(salt.to_vec(), salted, iterations as usize)
        {
            ScramSecret::Verifier {
                stored_key,
                server_key,
                ..
            } => ScramVerifier {
                iterations,
                salt: salt.to_vec(),
                stored_key,
                server_key,
            },
            ScramSecret::SaltedPassword { .. } => ScramVerifier {
                iterations,
                salt: salt.to_vec(),
                stored_key: Vec::new(),
                server_key: Vec::new(),
            },
        }
    }

    /// PostgreSQL's text form.
    pub fn to_text(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

/// `N` bytes from the operating system's random source (`None` if it
/// failed).
pub fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut out).ok()?;
    Some(out)
}

/// A new SCRAM-SHA-256 verifier (random 16-byte salt) of `password`
/// (`None` if no random salt could be drawn).
pub fn scram_verifier(password: &str) -> Option<String> {
    let salt = random_bytes::<16>()?;
    Some(ScramVerifier::derive(password, &salt, SCRAM_ITERATIONS).to_text())
}

/// PostgreSQL's stored MD5 hash: `md5` + hex md5(password ‖ user).
pub fn md5_hash(user: &str, password: &str) -> String {
    format!("md5{:x}", md5::compute(format!("{password}{user}")))
}

/// Whether `text` has the form of a stored MD5 hash (35 characters).
pub fn is_md5_hash(text: &str) -> bool {
    text.len() == 35 && text.starts_with("md5") && text[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_verifier_round_trips_and_matches_postgresql() {
        let v = ScramVerifier::derive("secret", b"saltsaltsaltsalt", 4096);
        let text = v.to_text();
        assert!(text.starts_with("SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$"));
        assert_eq!(ScramVerifier::parse(&text), Some(v));
        assert_eq!(ScramVerifier::parse("SCRAM-SHA-256$x:aa$bb:cc"), None);
        assert_eq!(ScramVerifier::parse("secret"), None);
    }

    #[test]
    fn md5_hash_is_postgresqls() {
        // SELECT 'md5' || md5('secret' || 'alice');
        assert_eq!(
            md5_hash("alice", "secret"),
            "md54a0a68b43b6cd5cf266fa02f196e2371"
        );
        assert!(is_md5_hash(&md5_hash("alice", "secret")));
        assert!(!is_md5_hash("md5xyz"));
    }
}
