//! One client connection: its session and transaction state, running
//! statements on blocking threads, and the simple query protocol. The
//! extended protocol is in `extended.rs`.
//!
//! A connection processes one message at a time, so its [`Session`] is
//! moved onto a blocking thread for each statement and moved back after;
//! the lock around the connection state is never held across an await.

use super::Shared;
use super::encode::{encode_row, field_info};
use super::extended::Parser;
use super::session::{
    Fail, REPORTED, TxState, check_failed_block, may_change_settings, reported_values,
    rewrite_version, rows_tag, session_statement,
};
use super::sqlstate::{codes, error_info, protocol_error};
use crate::db::{Db, Session, StatementResult};
use crate::sql::error::SqlError;
use crate::sql::relation::Relation;
use crate::sql::scalar::EvalContext;
use crate::sql::types::{DataType, Datum};
use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::{FieldInfo, Response};
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, ErrorHandler, PgWireConnectionState,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::RowDescription;
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, NoticeResponse, ReadyForQuery,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;
use sqlparser::ast::Statement;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The mutable state of one connection.
pub(super) struct ConnState {
    /// The session; `None` while a statement runs on a blocking thread.
    session: Option<Session>,
    user: String,
    /// The session's cancel flag (kept to rebuild a lost session).
    cancel: Arc<AtomicBool>,
    /// Settings the client chose at startup: what `RESET` returns to.
    startup: BTreeMap<String, String>,
    pub(super) tx: TxState,
    /// Backend pid, once registered for cancel requests.
    pid: Option<i32>,
    /// Whether this connection holds a session slot.
    slot: bool,
    /// Results computed at Describe (portal), by portal name, with the
    /// identity of the bound portal they belong to.
    pub(super) described_rows: HashMap<String, (usize, Arc<Relation>)>,
    /// A `COPY … FROM STDIN` waiting for the client's data.
    pub(super) copy_in: Option<super::copy::PendingIn>,
}

/// One client connection (and the pgwire handlers for it).
pub(crate) struct Conn {
    pub(crate) db: Arc<Db>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) peer: SocketAddr,
    pub(super) parser: Arc<Parser>,
    pub(super) state: Mutex<ConnState>,
}

/// What a statement produced.
pub(super) enum Outcome {
    Rows {
        rel: Arc<Relation>,
        tag: &'static str,
        /// Time zone and such for text output.
        ctx: EvalContext,
    },
    Command {
        tag: String,
        /// `Some(true)` for BEGIN, `Some(false)` for COMMIT / ROLLBACK.
        block: Option<bool>,
    },
}

pub(super) fn user_error(f: Fail) -> PgWireError {
    PgWireError::UserError(f)
}

impl Conn {
    pub(crate) fn new(db: Arc<Db>, shared: Arc<Shared>, peer: SocketAddr) -> Conn {
        let session = Session::new("audb");
        Conn {
            db,
            shared,
            peer,
            parser: Arc::new(Parser),
            state: Mutex::new(ConnState {
                cancel: session.cancel.clone(),
                session: None,
                user: String::new(),
                startup: BTreeMap::new(),
                tx: TxState::Idle,
                pid: None,
                slot: false,
                described_rows: HashMap::new(),
                copy_in: None,
            }),
        }
    }

    /// Installs the session once startup accepted the client.
    pub(crate) fn start_session(
        &self,
        mut session: Session,
        startup: BTreeMap<String, String>,
        pid: i32,
    ) {
        let mut st = self.state.lock();
        session.cancel = st.cancel.clone();
        session.startup_settings = session.settings.clone();
        st.user = session.user.clone();
        st.session = Some(session);
        st.startup = startup;
        st.pid = Some(pid);
    }

    /// The cancel flag of this connection's session.
    pub(crate) fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.state.lock().cancel.clone()
    }

    /// Marks that this connection holds a session slot.
    pub(crate) fn hold_slot(&self) {
        self.state.lock().slot = true;
    }

    /// Releases what the connection holds in the server (its session slot
    /// and cancel registration). Called once the socket is done.
    pub(crate) fn close(&self) {
        let mut st = self.state.lock();
        if std::mem::take(&mut st.slot) {
            self.shared.release_session();
        }
        if let Some(pid) = st.pid.take() {
            self.shared.unregister_cancel(pid);
        }
    }

    fn tx(&self) -> TxState {
        self.state.lock().tx
    }

    fn set_tx(&self, tx: TxState) {
        self.state.lock().tx = tx;
    }

    fn take_session(&self) -> Session {
        let mut st = self.state.lock();
        match st.session.take() {
            Some(s) => s,
            None => {
                let mut s = Session::new(st.user.clone());
                s.cancel = st.cancel.clone();
                s
            }
        }
    }

    fn put_session(&self, s: Session) {
        self.state.lock().session = Some(s);
    }

    /// Runs `f` on the session on a blocking thread (never on the
    /// reactor). A panic costs the statement (XX000) and resets the
    /// session's settings, not the connection.
    pub(super) async fn blocking<T, F>(&self, f: F) -> Result<T, SqlError>
    where
        T: Send + 'static,
        F: FnOnce(&Db, &mut Session) -> T + Send + 'static,
    {
        let mut session = self.take_session();
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || {
            let r = f(&db, &mut session);
            (session, r)
        })
        .await
        {
            Ok((session, r)) => {
                self.put_session(session);
                Ok(r)
            }
            Err(e) => {
                tracing::error!("statement failed on its thread: {e}");
                Err(SqlError::internal(format!("statement failed: {e}")))
            }
        }
    }

    /// Runs one statement: the failed-block rule, session statements, or
    /// the database. Sends notices and ParameterStatus on the way.
    pub(super) async fn execute<C>(
        &self,
        client: &mut C,
        stmt: Arc<Statement>,
        types: Vec<DataType>,
        params: Vec<Datum>,
    ) -> PgWireResult<Result<Outcome, Fail>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let tx = self.tx();
        if let Err(f) = check_failed_block(tx, &stmt) {
            return Ok(Err(f));
        }
        let settings_before =
            may_change_settings(&stmt).then(|| self.with_session(reported_values));
        let local = {
            let mut st = self.state.lock();
            let ConnState {
                session,
                tx,
                startup,
                ..
            } = &mut *st;
            match session.as_mut() {
                Some(session) => session_statement(&stmt, tx, session, startup),
                None => None,
            }
        };
        let outcome = match local {
            Some(Ok(local)) => {
                for n in local.notices {
                    client
                        .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                            n,
                        )))
                        .await?;
                }
                if let Some(name) = &local.deallocate {
                    client.portal_store().rm_statement(name);
                }
                Outcome::Command {
                    tag: local.tag,
                    block: local.block,
                }
            }
            Some(Err(f)) => {
                self.set_tx(tx.on_error());
                return Ok(Err(f));
            }
            None => {
                let s2 = stmt.clone();
                let ran = self
                    .blocking(move |db, session| {
                        let r = db
                            .run(session, &s2, &types, &params)
                            .map(|r| (r, super::encode::output_ctx(db, session)));
                        (r, super::session::take_notices(session))
                    })
                    .await;
                // Notices go out before the statement's result or error.
                let result = match ran {
                    Ok((r, notices)) => {
                        for notice in notices {
                            client
                                .feed(PgWireBackendMessage::NoticeResponse(notice.into()))
                                .await?;
                        }
                        r
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok((StatementResult::Rows(rel), ctx)) => Outcome::Rows {
                        rel,
                        tag: rows_tag(&stmt),
                        ctx,
                    },
                    Ok((StatementResult::Command(tag), _)) => Outcome::Command { tag, block: None },
                    Err(e) => {
                        self.set_tx(tx.on_error());
                        return Ok(Err(Box::new(error_info(&e))));
                    }
                }
            }
        };
        if !matches!(outcome, Outcome::Command { block: Some(_), .. }) {
            let mut st = self.state.lock();
            st.tx = st.tx.on_success(&stmt);
        }
        if let Some(before) = settings_before {
            let after = self.with_session(reported_values);
            for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
                if let (true, Some(value)) = (b != a, a) {
                    client
                        .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                            REPORTED[i].1.to_owned(),
                            value.clone(),
                        )))
                        .await?;
                }
            }
        }
        Ok(Ok(outcome))
    }

    pub(super) fn with_session<R>(&self, f: impl FnOnce(&Session) -> R) -> R {
        let st = self.state.lock();
        match &st.session {
            Some(s) => f(s),
            None => f(&Session::new(st.user.clone())),
        }
    }

    /// The simple query protocol: every statement of the message in order,
    /// stopping at the first error.
    async fn simple_query<C>(&self, client: &mut C, sql: &str) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stmts = match crate::sql::parse(sql) {
            Ok(s) => s,
            Err(e) => {
                self.set_tx(self.tx().on_error());
                client
                    .feed(PgWireBackendMessage::ErrorResponse(error_info(&e).into()))
                    .await?;
                return Ok(());
            }
        };
        if stmts.is_empty() {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            return Ok(());
        }
        self.run_statements(client, stmts.into()).await
    }

    /// Statements of a simple Query message, in order, stopping at the
    /// first error; a `COPY … FROM STDIN` keeps the ones after it for when
    /// its data is in (see `copy.rs`).
    pub(super) async fn run_statements<C>(
        &self,
        client: &mut C,
        mut stmts: VecDeque<Statement>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        while let Some(mut stmt) = stmts.pop_front() {
            rewrite_version(&mut stmt);
            if matches!(stmt, Statement::Copy { .. }) {
                match self.copy_simple(client, Arc::new(stmt), &mut stmts).await? {
                    super::copy::SimpleCopy::Done => continue,
                    _ => return Ok(()),
                }
            }
            match self
                .execute(client, Arc::new(stmt), Vec::new(), Vec::new())
                .await?
            {
                Ok(Outcome::Rows { rel, tag, ctx }) => {
                    let fields: Vec<FieldInfo> =
                        rel.columns.iter().map(|c| field_info(c, false)).collect();
                    client
                        .feed(PgWireBackendMessage::RowDescription(RowDescription::new(
                            fields.iter().map(Into::into).collect(),
                        )))
                        .await?;
                    for row in &rel.rows {
                        match encode_row(row, &rel.columns, &[], &ctx) {
                            Ok(r) => client.feed(PgWireBackendMessage::DataRow(r)).await?,
                            Err(e) => {
                                self.set_tx(self.tx().on_error());
                                client
                                    .feed(PgWireBackendMessage::ErrorResponse(
                                        error_info(&e).into(),
                                    ))
                                    .await?;
                                return Ok(());
                            }
                        }
                    }
                    let tag = if tag == "SELECT" {
                        format!("SELECT {}", rel.rows.len())
                    } else {
                        tag.to_owned()
                    };
                    client
                        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            tag,
                        )))
                        .await?;
                }
                Ok(Outcome::Command { tag, .. }) => {
                    client
                        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            tag,
                        )))
                        .await?;
                }
                Err(f) => {
                    client
                        .feed(PgWireBackendMessage::ErrorResponse((*f).into()))
                        .await?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl SimpleQueryHandler for Conn {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let result = self.simple_query(client, &query.query).await;
        self.end_query(client, result).await
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_query does all the work.
        Ok(Vec::new())
    }
}

impl Conn {
    /// The end of a simple Query message's statements: ReadyForQuery with
    /// the transaction status, unless a COPY FROM STDIN now waits for data.
    pub(super) async fn end_query<C>(
        &self,
        client: &mut C,
        result: PgWireResult<()>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            // ReadyForQuery comes after CopyDone / CopyFail.
            return result;
        }
        let status = self.tx().status();
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        result?;
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }
}

/// A statement or portal name as the client gave it (pgwire stores the
/// unnamed ones under [`DEFAULT_NAME`]).
fn client_name(name: &str) -> &str {
    if name == DEFAULT_NAME { "" } else { name }
}

impl ErrorHandler for Conn {
    fn on_error<C>(&self, _client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        // Any error inside a transaction block fails the block (protocol
        // errors included), as in PostgreSQL.
        {
            let mut st = self.state.lock();
            st.tx = st.tx.on_error();
        }
        // pgwire's own errors for unknown names, in PostgreSQL's words.
        let renamed = match &*error {
            PgWireError::PortalNotFound(name) => Some(protocol_error(
                codes::INVALID_CURSOR_NAME,
                format!("portal \"{}\" does not exist", client_name(name)),
            )),
            PgWireError::StatementNotFound(name) if client_name(name).is_empty() => {
                Some(protocol_error(
                    codes::INVALID_SQL_STATEMENT_NAME,
                    "unnamed prepared statement does not exist",
                ))
            }
            PgWireError::StatementNotFound(name) => Some(protocol_error(
                codes::INVALID_SQL_STATEMENT_NAME,
                format!("prepared statement \"{name}\" does not exist"),
            )),
            _ => None,
        };
        if let Some(info) = renamed {
            *error = PgWireError::UserError(Box::new(info));
        }
    }
}
