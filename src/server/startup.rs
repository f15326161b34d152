//! Connection startup (authentication by the configured method, role and
//! database checks, connection limit, the parameters PostgreSQL reports)
//! and cancel requests.
//!
//! Like PostgreSQL: a client is authenticated first (trust, or a password
//! exchange from `auth.rs`), then its role must exist (`28000 role "x" does
//! not exist`) and have LOGIN (`28000 role "x" is not permitted to log
//! in`), then the database must be audb's (`3D000`), then a session slot
//! must be free (`53300`).

use super::auth::{AuthMethod, Exchange, Next};
use super::handlers::Conn;
use super::sqlstate::{codes, fatal, warning};
use super::{DATABASE_NAMES, PG_VERSION_NUM, server_version};
use crate::catalog::roles;
use crate::db::Session;
use crate::sql::timezone::TimeZone;
use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::auth::{StartupHandler, save_startup_parameters_to_metadata};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::{ClientInfo, METADATA_DATABASE, METADATA_USER, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::response::{NoticeResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::startup::{
    Authentication, BackendKeyData, NegotiateProtocolVersion, ParameterStatus, Startup,
};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage, ProtocolVersion};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// Startup parameters that set a session setting, by lower-case name; the
/// others (`user`, `database`, `options`, `replication`…) do not.
const STARTUP_SETTINGS: &[&str] = &[
    "application_name",
    "client_encoding",
    "datestyle",
    "timezone",
    "extra_float_digits",
    "search_path",
    "statement_timeout",
    "intervalstyle",
];

/// Applies the settings a client sent at startup to `session`. Values audb
/// cannot honour (a DateStyle other than ISO, an encoding other than
/// UTF8) are left at their defaults, with a WARNING each (a PostgreSQL
/// server would refuse the connection). A `TimeZone` is stored under its
/// canonical name; an unknown one was refused before (as PostgreSQL does).
fn apply_startup_settings(
    startup: &Startup,
    session: &mut Session,
) -> (BTreeMap<String, String>, Vec<ErrorInfo>) {
    let mut applied = BTreeMap::new();
    let mut warnings = Vec::new();
    for (key, value) in &startup.parameters {
        let name = key.to_ascii_lowercase();
        if !STARTUP_SETTINGS.contains(&name.as_str()) {
            continue;
        }
        let value = match name.as_str() {
            // A zone that does not exist refused the connection already
            // (`startup_timezone_error`); the session keeps its canonical name.
            "timezone" => match TimeZone::from_setting(value) {
                Ok((_, name)) => name,
                Err(_) => continue,
            },
            "client_encoding" => {
                let v = value.to_ascii_lowercase().replace('-', "");
                if !matches!(v.as_str(), "utf8" | "unicode" | "auto") {
                    warnings.push(warning(
                        "22023",
                        format!(
                            "client encoding \"{value}\" is not supported; the session uses UTF8"
                        ),
                    ));
                }
                continue;
            }
            "datestyle" => {
                if !value.to_ascii_uppercase().contains("ISO") {
                    warnings.push(warning(
                        "22023",
                        format!(
                            "DateStyle \"{value}\" is not supported; the session uses ISO, MDY"
                        ),
                    ));
                }
                continue;
            }
            _ => value.clone(),
        };
        session.settings.insert(name.clone(), value.clone());
        applied.insert(name, value);
    }
    (applied, warnings)
}

/// PostgreSQL refuses a connection whose startup packet sets a `TimeZone`
/// that names no zone: FATAL 22023 `invalid value for parameter
/// "TimeZone": "x"`.
fn startup_timezone_error(startup: &Startup) -> Option<PgWireError> {
    let (_, value) = startup
        .parameters
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("timezone"))?;
    let e = TimeZone::from_setting(value).err()?;
    let mut info = ErrorInfo::new(
        "FATAL".to_owned(),
        "22023".to_owned(),
        format!("invalid value for parameter \"TimeZone\": \"{value}\""),
    );
    info.detail = e.detail().map(str::to_owned);
    Some(PgWireError::UserError(Box::new(info)))
}

/// The ParameterStatus messages sent after authentication.
fn parameter_statuses(session: &Session) -> Vec<(String, String)> {
    let setting = |k: &str| session.settings.get(k).cloned().unwrap_or_default();
    vec![
        ("application_name".into(), setting("application_name")),
        ("client_encoding".into(), "UTF8".into()),
        ("DateStyle".into(), setting("datestyle")),
        ("default_transaction_read_only".into(), "off".into()),
        ("in_hot_standby".into(), "off".into()),
        ("integer_datetimes".into(), "on".into()),
        ("IntervalStyle".into(), setting("intervalstyle")),
        ("is_superuser".into(), setting("is_superuser")),
        ("server_encoding".into(), "UTF8".into()),
        ("server_version".into(), server_version()),
        ("server_version_num".into(), PG_VERSION_NUM.into()),
        ("session_authorization".into(), session.user.clone()),
        ("standard_conforming_strings".into(), "on".into()),
        ("TimeZone".into(), setting("timezone")),
    ]
}

/// The protocol version PostgreSQL 15 speaks (3.0), as the full number it
/// sends in NegotiateProtocolVersion.
const PROTOCOL_3_0: i32 = 3 << 16;

/// PostgreSQL 15's answer to a 3.x startup packet (other major versions
/// never get here, see `framing.rs`): it speaks 3.0 only, so a newer minor
/// version, or protocol options (`_pq_.` parameters, none of which it
/// knows), get a NegotiateProtocolVersion first — the newest version it
/// supports and the options it did not recognise — and the connection
/// goes on in 3.0. (The options are listed in name order; PostgreSQL lists
/// them in packet order, which pgwire's startup message does not keep.)
async fn negotiate_protocol<C>(client: &mut C, startup: &Startup) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    client.set_protocol_version(ProtocolVersion::PROTOCOL3_0);
    let unrecognized: Vec<String> = startup
        .parameters
        .keys()
        .filter(|k| k.starts_with("_pq_."))
        .cloned()
        .collect();
    if startup.protocol_number_minor > 0 || !unrecognized.is_empty() {
        client
            .send(PgWireBackendMessage::NegotiateProtocolVersion(
                NegotiateProtocolVersion::new(PROTOCOL_3_0, unrecognized),
            ))
            .await?;
    }
    Ok(())
}

/// A password exchange in progress, kept in the connection's session
/// extensions between password messages.
struct Pending {
    exchange: Mutex<Option<(Exchange, Startup, String)>>,
}

impl Conn {
    /// The method for this client: by its address, and `reject` for
    /// loopback never applies to a trusted configuration.
    fn auth_method(&self) -> AuthMethod {
        if self.peer.ip().to_canonical().is_loopback() {
            self.shared.config.auth
        } else {
            self.shared.config.remote_auth
        }
    }

    /// After authentication: the database, the role's LOGIN right, the
    /// session slot; then AuthenticationOk, the parameters, the key and
    /// ReadyForQuery.
    async fn finish<C>(
        &self,
        client: &mut C,
        startup: &Startup,
        user: String,
        final_message: Option<Authentication>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let database = client
            .metadata()
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or_else(|| user.clone());
        let role = roles::role(&self.db.store().snapshot(), &user);
        let Some(role) = role else {
            return Err(fatal(
                codes::INVALID_AUTHORIZATION,
                format!("role \"{user}\" does not exist"),
            ));
        };
        if !role.login {
            return Err(fatal(
                codes::INVALID_AUTHORIZATION,
                format!("role \"{user}\" is not permitted to log in"),
            ));
        }
        if !DATABASE_NAMES.contains(&database.as_str()) {
            return Err(fatal(
                codes::INVALID_CATALOG_NAME,
                format!("database \"{database}\" does not exist"),
            ));
        }
        if let Some(e) = startup_timezone_error(startup) {
            return Err(e);
        }
        if !self.shared.acquire_session() {
            return Err(fatal(
                codes::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already",
            ));
        }
        self.hold_slot();
        let mut session = Session::new(user);
        let md5 = self.shared.config.auth == AuthMethod::Md5
            || self.shared.config.remote_auth == AuthMethod::Md5;
        session.settings.insert(
            "password_encryption".into(),
            if md5 { "md5" } else { "scram-sha-256" }.into(),
        );
        session.settings.insert(
            "is_superuser".into(),
            if role.superuser { "on" } else { "off" }.into(),
        );
        let (applied, warnings) = apply_startup_settings(startup, &mut session);
        let (pid, secret) = self.shared.register_cancel(self.cancel_flag());
        client.set_pid_and_secret_key(pid, secret.clone());
        let statuses = parameter_statuses(&session);
        self.start_session(session, applied, pid);

        if let Some(m) = final_message {
            client.feed(PgWireBackendMessage::Authentication(m)).await?;
        }
        client
            .feed(PgWireBackendMessage::Authentication(Authentication::Ok))
            .await?;
        for (k, v) in statuses {
            client
                .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                    k, v,
                )))
                .await?;
        }
        client
            .feed(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(
                pid, secret,
            )))
            .await?;
        for w in warnings {
            client
                .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                    w,
                )))
                .await?;
        }
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                TransactionStatus::Idle,
            )))
            .await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }
}

#[async_trait]
impl StartupHandler for Conn {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let startup = match message {
            PgWireFrontendMessage::Startup(startup) => startup,
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let pending = client.session_extensions().get::<Pending>();
                let taken = pending.and_then(|p| p.exchange.lock().take());
                let Some((mut exchange, startup, user)) = taken else {
                    return Err(fatal(
                        codes::PROTOCOL_VIOLATION,
                        "unexpected password message",
                    ));
                };
                return match exchange.next(password)? {
                    Next::Continue(request) => {
                        client
                            .send(PgWireBackendMessage::Authentication(request))
                            .await?;
                        let pending = client.session_extensions().get_or_insert_with(|| Pending {
                            exchange: Mutex::new(None),
                        });
                        *pending.exchange.lock() = Some((exchange, startup, user));
                        Ok(())
                    }
                    Next::Success(final_message) => {
                        self.finish(client, &startup, user, final_message).await
                    }
                };
            }
            _ => {
                return Err(fatal(
                    codes::PROTOCOL_VIOLATION,
                    "unexpected message during startup",
                ));
            }
        };
        negotiate_protocol(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);
        let Some(user) = client.metadata().get(METADATA_USER).cloned() else {
            return Err(fatal(
                codes::INVALID_AUTHORIZATION,
                "no PostgreSQL user name specified in startup packet",
            ));
        };
        let method = self.auth_method();
        match method {
            AuthMethod::Trust => self.finish(client, &startup, user, None).await,
            AuthMethod::Reject => {
                let database = client
                    .metadata()
                    .get(METADATA_DATABASE)
                    .cloned()
                    .unwrap_or_else(|| user.clone());
                let ip = self.peer.ip().to_canonical();
                let tls = if client.is_secure() {
                    "SSL encryption"
                } else {
                    "no encryption"
                };
                Err(fatal(
                    codes::INVALID_AUTHORIZATION,
                    format!(
                        "connection rejected for host \"{ip}\", user \"{user}\", database \"{database}\", {tls} (authentication method reject)"
                    ),
                ))
            }
            AuthMethod::ScramSha256 | AuthMethod::Md5 => {
                let role = roles::role(&self.db.store().snapshot(), &user);
                let binding = self
                    .shared
                    .scram_plus
                    .as_ref()
                    .filter(|_| client.is_secure());
                let (exchange, request) = Exchange::begin(method, &user, role.as_ref(), binding);
                client
                    .send(PgWireBackendMessage::Authentication(request))
                    .await?;
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                let pending = client.session_extensions().get_or_insert_with(|| Pending {
                    exchange: Mutex::new(None),
                });
                *pending.exchange.lock() = Some((exchange, startup, user));
                Ok(())
            }
        }
    }
}

#[async_trait]
impl CancelHandler for Conn {
    async fn on_cancel_request(&self, request: CancelRequest) {
        self.shared.cancel(request.pid, &request.secret_key);
    }
}
