//! Password authentication: the configured methods ([`AuthMethod`]) and the
//! SCRAM-SHA-256 and MD5 exchanges against the role catalog's stored
//! verifiers ([`crate::catalog::roles`]).
//!
//! The exchange is pure (no I/O): startup sends what [`Exchange::begin`]
//! and [`Exchange::next`] return. As in PostgreSQL, a role that does not
//! exist or has no password goes through a mock exchange and fails the same
//! way a wrong password does (`28P01 password authentication failed for
//! user "x"`), so clients cannot probe for role names. With MD5 configured,
//! a role whose password has no MD5 hash authenticates with SCRAM instead.
//! Over TLS, `SCRAM-SHA-256-PLUS` (channel binding `tls-server-end-point`
//! to the server certificate) is offered first, as PostgreSQL does; a
//! client that picks it proves it talks to the holder of that certificate.

use super::sqlstate::{codes, fatal};
use crate::catalog::roles::{RoleDef, ScramVerifier, random_bytes};
use pgwire::api::auth::sasl::scram::{
    ScramSecret, ScramServerAuth, ScramServerAuthWaitingForClientFinal,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use serde::Deserialize;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// SQLSTATE 28P01 invalid_password.
const INVALID_PASSWORD: &str = "28P01";

/// The SASL mechanism audb offers.
const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

/// The channel-binding SASL mechanism, offered over TLS.
const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// How a client proves who it is (PostgreSQL's `pg_hba.conf` methods).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum AuthMethod {
    /// No password: the user name is believed.
    #[serde(rename = "trust")]
    Trust,
    /// SCRAM-SHA-256 (PostgreSQL's default): the password never crosses
    /// the wire.
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// MD5 challenge for old clients, where the role has an MD5 hash
    /// (created while MD5 was configured); SCRAM for the other roles.
    #[serde(rename = "md5")]
    Md5,
    /// Refuse the connection (`28000`).
    #[serde(rename = "reject")]
    Reject,
}

impl AuthMethod {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Trust => "trust",
            AuthMethod::ScramSha256 => "scram-sha-256",
            AuthMethod::Md5 => "md5",
            AuthMethod::Reject => "reject",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<AuthMethod, String> {
        match s.to_ascii_lowercase().as_str() {
            "trust" => Ok(AuthMethod::Trust),
            "scram-sha-256" => Ok(AuthMethod::ScramSha256),
            "md5" => Ok(AuthMethod::Md5),
            "reject" => Ok(AuthMethod::Reject),
            _ => Err(format!(
                "unknown authentication method \"{s}\" (expected trust, scram-sha-256, md5 or reject)"
            )),
        }
    }
}

/// The error for a failed password exchange.
pub(crate) fn password_failed(user: &str) -> PgWireError {
    fatal(
        INVALID_PASSWORD,
        format!("password authentication failed for user \"{user}\""),
    )
}

/// A process-wide random key that salts mock verifiers, so that the salt
/// offered for an unknown role is stable (as for a real one) but unguessable.
fn mock_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| random_bytes::<32>().unwrap_or([7; 32]))
}

fn mock_bytes(user: &str, purpose: &[u8]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(mock_key());
    ctx.update(purpose);
    ctx.update(user.as_bytes());
    ctx.finish().as_ref().to_vec()
}

/// A verifier no password matches, for roles that cannot authenticate.
fn mock_verifier(user: &str) -> ScramVerifier {
    let mut salt = mock_bytes(user, b"salt");
    salt.truncate(16);
    ScramVerifier {
        iterations: crate::catalog::roles::SCRAM_ITERATIONS,
        salt,
        stored_key: mock_bytes(user, b"stored"),
        server_key: mock_bytes(user, b"server"),
    }
}

enum Stage {
    /// Waiting for SASLInitialResponse.
    ScramFirst {
        verifier: ScramVerifier,
        /// With the server certificate's binding when -PLUS was offered.
        auth: ScramServerAuth,
    },
    /// Waiting for the client-final message.
    ScramFinal(Box<ScramServerAuthWaitingForClientFinal>),
    /// Waiting for the MD5 response (`None`: no hash, always fails).
    Md5 {
        salt: [u8; 4],
        hash: Option<String>,
    },
    Done,
}

/// What to do after a client's password message.
pub(crate) enum Next {
    /// Send this and wait for the next password message.
    Continue(Authentication),
    /// Authenticated: send this (SCRAM's server-final) if any, then
    /// AuthenticationOk.
    Success(Option<Authentication>),
}

/// One password exchange with one client.
pub(crate) struct Exchange {
    user: String,
    /// Whether success is possible (the role exists and has the secret).
    real: bool,
    stage: Stage,
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Exchange {
    /// Starts authenticating `user` (`role` if it exists) with `method`
    /// (SCRAM-SHA-256 or MD5); returns the exchange and the request to send.
    /// `binding` (a TLS connection to a server with a certificate) adds
    /// `SCRAM-SHA-256-PLUS` to the SCRAM mechanisms.
    pub(crate) fn begin(
        method: AuthMethod,
        user: &str,
        role: Option<&RoleDef>,
        binding: Option<&ScramServerAuth>,
    ) -> (Exchange, Authentication) {
        let md5 = role.and_then(|r| r.md5.clone());
        let scram = role
            .and_then(|r| r.scram.as_deref())
            .and_then(ScramVerifier::parse);
        let use_md5 = method == AuthMethod::Md5 && (md5.is_some() || scram.is_none());
        if use_md5 {
            let salt = random_bytes::<4>().unwrap_or_else(|| {
                let b = mock_bytes(user, b"md5");
                [b[0], b[1], b[2], b[3]]
            });
            let exchange = Exchange {
                user: user.to_owned(),
                real: md5.is_some(),
                stage: Stage::Md5 { salt, hash: md5 },
            };
            return (exchange, Authentication::MD5Password(salt.to_vec()));
        }
        let real = scram.is_some();
        let verifier = scram.unwrap_or_else(|| mock_verifier(user));
        let mut mechanisms = vec![SCRAM_SHA_256.to_owned()];
        if binding.is_some() {
            mechanisms.insert(0, SCRAM_SHA_256_PLUS.to_owned());
        }
        let exchange = Exchange {
            user: user.to_owned(),
            real,
            stage: Stage::ScramFirst {
                verifier,
                auth: binding.cloned().unwrap_or_default(),
            },
        };
        (exchange, Authentication::SASL(mechanisms))
    }

    /// Handles the client's next password message.
    pub(crate) fn next(&mut self, message: PasswordMessageFamily) -> PgWireResult<Next> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::ScramFirst { verifier, auth } => {
                let initial = message.into_sasl_initial_response()?;
                let plus = match initial.auth_method.as_str() {
                    SCRAM_SHA_256 => false,
                    SCRAM_SHA_256_PLUS if auth.supports_channel_binding() => true,
                    _ => {
                        return Err(fatal(
                            codes::PROTOCOL_VIOLATION,
                            "client selected an invalid SASL authentication mechanism",
                        ));
                    }
                };
                let data = initial.data.ok_or_else(|| {
                    fatal(
                        codes::PROTOCOL_VIOLATION,
                        "malformed SCRAM message (empty message)",
                    )
                })?;
                // PostgreSQL's rule: the -PLUS mechanism binds (`p=`), the
                // plain one must not.
                if data.starts_with(b"p=") != plus {
                    let m = if plus {
                        "channel binding is required by SCRAM-SHA-256-PLUS, but the client did not bind"
                    } else {
                        "malformed SCRAM message (the client requested channel binding with SCRAM-SHA-256)"
                    };
                    return Err(fatal(codes::PROTOCOL_VIOLATION, m));
                }
                let secret = ScramSecret::Verifier {
                    salt: verifier.salt,
                    iterations: verifier.iterations as usize,
                    stored_key: verifier.stored_key,
                    server_key: verifier.server_key,
                };
                let (server_first, waiting) = auth
                    .on_client_first_message_with_secret(&data, secret)
                    .map_err(scram_error)?;
                self.stage = Stage::ScramFinal(Box::new(waiting));
                Ok(Next::Continue(Authentication::SASLContinue(
                    server_first.into(),
                )))
            }
            Stage::ScramFinal(waiting) => {
                let response = message.into_sasl_response()?;
                match waiting.on_client_final_message(&response.data) {
                    Ok(server_final) if self.real => Ok(Next::Success(Some(
                        Authentication::SASLFinal(server_final.into()),
                    ))),
                    Ok(_) | Err(PgWireError::InvalidPassword(_)) => {
                        Err(password_failed(&self.user))
                    }
                    Err(e) => Err(scram_error(e)),
                }
            }
            Stage::Md5 { salt, hash } => {
                let response = message.into_password()?;
                let expected = hash.as_deref().map(|h| md5_response(h, &salt));
                if self.real && expected.as_deref() == Some(response.password.as_str()) {
                    Ok(Next::Success(None))
                } else {
                    Err(password_failed(&self.user))
                }
            }
            Stage::Done => Err(fatal(
                codes::PROTOCOL_VIOLATION,
                "unexpected password message",
            )),
        }
    }
}

/// The MD5 response a client computes from the stored hash
/// (`md5` + hex md5(password ‖ user)) and the salt.
fn md5_response(stored: &str, salt: &[u8; 4]) -> String {
    let inner = stored.strip_prefix("md5").unwrap_or(stored);
    let mut bytes = inner.as_bytes().to_vec();
    bytes.extend_from_slice(salt);
    format!("md5{:x}", md5::compute(bytes))
}

/// A malformed SCRAM message: FATAL 08P01, as PostgreSQL.
fn scram_error(e: PgWireError) -> PgWireError {
    match e {
        PgWireError::InvalidScramMessage(m) => fatal(
            codes::PROTOCOL_VIOLATION,
            format!("malformed SCRAM message ({m})"),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::roles::md5_hash;
    use base64::Engine;
    use pgwire::messages::startup::{Password, SASLInitialResponse, SASLResponse};

    fn role(password: &str, with_md5: bool) -> RoleDef {
        let mut r = RoleDef::builtin();
        r.name = "alice".into();
        r.scram = Some(ScramVerifier::derive(password, b"0123456789abcdef", 4096).to_text());
        r.md5 = with_md5.then(|| md5_hash("alice", password));
        r
    }

    #[test]
    fn md5_exchange_accepts_the_right_password_only() {
        for (password, ok) in [("pw", true), ("wrong", false)] {
            let r = role("pw", true);
            let (mut ex, req) = Exchange::begin(AuthMethod::Md5, "alice", Some(&r), None);
            let Authentication::MD5Password(salt) = req else {
                panic!("md5 expected");
            };
            let salt: [u8; 4] = salt.try_into().unwrap();
            let answer = md5_response(&md5_hash("alice", password), &salt);
            let out = ex.next(PasswordMessageFamily::Password(Password::new(answer)));
            match (out, ok) {
                (Ok(Next::Success(None)), true) => {}
                (Err(e), false) => assert_eq!(e.code(), "28P01"),
                _ => panic!("unexpected outcome for {password}"),
            }
        }
    }

    #[test]
    fn md5_configured_uses_scram_for_roles_without_md5_hash() {
        let r = role("pw", false);
        let (_, req) = Exchange::begin(AuthMethod::Md5, "alice", Some(&r), None);
        assert!(matches!(req, Authentication::SASL(m) if m == vec!["SCRAM-SHA-256".to_owned()]));
    }

    #[test]
    fn unknown_role_gets_a_mock_exchange_that_fails_with_28p01() {
        let (mut ex, req) = Exchange::begin(AuthMethod::ScramSha256, "nobody", None, None);
        assert!(matches!(req, Authentication::SASL(_)));
        let first = ex
            .next(PasswordMessageFamily::SASLInitialResponse(
                SASLInitialResponse::new(
                    "SCRAM-SHA-256".into(),
                    Some(b"n,,n=,r=abcdefghijkl".to_vec().into()),
                ),
            ))
            .unwrap();
        let Next::Continue(Authentication::SASLContinue(server_first)) = first else {
            panic!("server-first expected");
        };
        let server_first = String::from_utf8(server_first.to_vec()).unwrap();
        let nonce = server_first
            .split(',')
            .find_map(|p| p.strip_prefix("r="))
            .unwrap();
        let proof = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
        let final_msg = format!("c=biws,r={nonce},p={proof}");
        let Err(e) = ex.next(PasswordMessageFamily::SASLResponse(SASLResponse::new(
            final_msg.into(),
        ))) else {
            panic!("must fail");
        };
        assert_eq!(e.code(), "28P01");
    }

    #[test]
    fn plus_is_refused_unless_offered_and_plain_scram_must_not_bind() {
        let r = role("pw", false);
        for (mechanism, first) in [
            ("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc"),
            ("SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc"),
        ] {
            let (mut ex, req) = Exchange::begin(AuthMethod::ScramSha256, "alice", Some(&r), None);
            assert!(
                matches!(req, Authentication::SASL(m) if m == vec!["SCRAM-SHA-256".to_owned()])
            );
            let Err(e) = ex.next(PasswordMessageFamily::SASLInitialResponse(
                SASLInitialResponse::new(mechanism.into(), Some(first.as_bytes().to_vec().into())),
            )) else {
                panic!("{mechanism} must fail");
            };
            assert_eq!(e.code(), "08P01", "{mechanism}");
        }
    }

    #[test]
    fn methods_parse_from_their_config_spelling() {
        for m in [
            AuthMethod::Trust,
            AuthMethod::ScramSha256,
            AuthMethod::Md5,
            AuthMethod::Reject,
        ] {
            assert_eq!(m.as_str().parse::<AuthMethod>(), Ok(m));
        }
        assert!("password".parse::<AuthMethod>().is_err());
    }
}
