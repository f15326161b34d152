//! One client connection: its session, transaction state and prepared
//! statements, and the simple and extended query protocols over them.
//!
//! A connection processes one message at a time, so its [`Session`] is
//! moved onto a blocking thread for each statement and moved back after;
//! the lock around the connection state is never held across an await.

use super::Shared;
use super::describe::{Described, describe};
use super::encode::{
    data_type_of_oid, decode_param, encode_row, field_info, param_is_binary, pg_type,
    result_formats,
};
use super::session::{
    Fail, REPORTED, TxState, check_failed_block, may_change_settings, param_count, reported_values,
    returns_rows, rewrite_version, rows_tag, session_statement,
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
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, ErrorHandler, PgWireConnectionState,
    PgWireServerHandlers, Type,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Describe, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, NoticeResponse, ReadyForQuery,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;
use sqlparser::ast::Statement;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Most result sets kept between Describe (portal) and Execute.
const DESCRIBED_PORTALS_MAX: usize = 16;

/// A parsed statement of the extended protocol, kept until closed: it is
/// never parsed again.
#[derive(Debug)]
pub(crate) struct Prepared {
    stmt: Arc<Statement>,
    /// Parameter types the client declared in Parse (`Unknown`: infer).
    declared: Vec<DataType>,
    /// Parameters the statement takes.
    count: usize,
    /// Describe's answer, once asked.
    described: Mutex<Option<Described>>,
}

/// Parses Parse messages into [`Prepared`] statements.
#[derive(Debug, Default)]
pub(crate) struct Parser;

#[async_trait]
impl QueryParser for Parser {
    type Statement = Arc<Prepared>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Arc<Prepared>>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut stmts = crate::sql::parse(sql).map_err(|e| super::sqlstate::wire_error(&e))?;
        let mut stmt = match stmts.len() {
            0 => return Ok(None),
            1 => stmts.remove(0),
            _ => {
                return Err(PgWireError::UserError(Box::new(protocol_error(
                    "42601",
                    "cannot insert multiple commands into a prepared statement",
                ))));
            }
        };
        rewrite_version(&mut stmt);
        let declared: Vec<DataType> = types
            .iter()
            .map(|t| {
                t.as_ref()
                    .map_or(DataType::Unknown, |t| data_type_of_oid(t.oid()))
            })
            .collect();
        let count = param_count(&stmt).max(declared.len());
        Ok(Some(Arc::new(Prepared {
            stmt: Arc::new(stmt),
            declared,
            count,
            described: Mutex::new(None),
        })))
    }

    fn get_parameter_types(&self, stmt: &Arc<Prepared>) -> PgWireResult<Vec<Type>> {
        Ok(match &*stmt.described.lock() {
            Some(d) => d.params.iter().map(|t| pg_type(*t)).collect(),
            None => stmt.declared.iter().map(|t| pg_type(*t)).collect(),
        })
    }

    fn get_result_schema(
        &self,
        stmt: &Arc<Prepared>,
        _format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(match &*stmt.described.lock() {
            Some(Described {
                columns: Some(cols),
                ..
            }) => cols.iter().map(|c| field_info(c, false)).collect(),
            _ => Vec::new(),
        })
    }
}

/// The mutable state of one connection.
struct ConnState {
    /// The session; `None` while a statement runs on a blocking thread.
    session: Option<Session>,
    user: String,
    /// The session's cancel flag (kept to rebuild a lost session).
    cancel: Arc<AtomicBool>,
    /// Settings the client chose at startup: what `RESET` returns to.
    startup: BTreeMap<String, String>,
    tx: TxState,
    /// Backend pid, once registered for cancel requests.
    pid: Option<i32>,
    /// Whether this connection holds a session slot.
    slot: bool,
    /// Results computed at Describe (portal), by portal name, with the
    /// identity of the bound portal they belong to.
    described_rows: HashMap<String, (usize, Arc<Relation>)>,
}

/// One client connection (and the pgwire handlers for it).
pub(crate) struct Conn {
    pub(crate) db: Arc<Db>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) peer: SocketAddr,
    parser: Arc<Parser>,
    state: Mutex<ConnState>,
}

/// What a statement produced.
enum Outcome {
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

fn output_ctx(session: &Session) -> EvalContext {
    EvalContext {
        now_micros: 0,
        timezone_offset_secs: session.timezone_offset_secs(),
        params: Vec::new(),
    }
}

fn user_error(f: Fail) -> PgWireError {
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
    async fn blocking<T, F>(&self, f: F) -> Result<T, SqlError>
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

    /// Describe's answer for a prepared statement (computed once).
    async fn described(&self, p: &Arc<Prepared>) -> Result<Described, Fail> {
        if let Some(d) = p.described.lock().clone() {
            return Ok(d);
        }
        let p2 = p.clone();
        let d = self
            .blocking(move |db, s| describe(db, s, &p2.stmt, &p2.declared, p2.count))
            .await
            .and_then(|r| r)
            .map_err(|e| Box::new(error_info(&e)))?;
        *p.described.lock() = Some(d.clone());
        Ok(d)
    }

    /// Runs one statement: the failed-block rule, session statements, or
    /// the database. Sends notices and ParameterStatus on the way.
    async fn execute<C>(
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
            may_change_settings(&stmt).then(|| self.with_session(|s| reported_values(s)));
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
                let result = self
                    .blocking(move |db, session| {
                        db.run(session, &s2, &types, &params)
                            .map(|r| (r, output_ctx(session)))
                    })
                    .await
                    .and_then(|r| r);
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
            let after = self.with_session(|s| reported_values(s));
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

    fn with_session<R>(&self, f: impl FnOnce(&Session) -> R) -> R {
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
        for mut stmt in stmts {
            rewrite_version(&mut stmt);
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

    /// Parameter types for decoding a portal's values: declared ones, and
    /// Describe's for parameters sent in binary without a declared type.
    async fn param_types(&self, p: &Arc<Prepared>, format: &Format) -> Result<Vec<DataType>, Fail> {
        let mut types = p.declared.clone();
        types.resize(p.count, DataType::Unknown);
        let mut need = false;
        for (i, t) in types.iter().enumerate() {
            need |= *t == DataType::Unknown && param_is_binary(format, i)?;
        }
        if need {
            let d = self.described(p).await?;
            for (i, t) in types.iter_mut().enumerate() {
                if *t == DataType::Unknown && param_is_binary(format, i)? {
                    *t = d.params.get(i).copied().unwrap_or(DataType::Text);
                }
            }
        }
        Ok(types)
    }

    /// Decodes a portal's parameters and runs its statement.
    async fn run_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Arc<Prepared>>,
    ) -> PgWireResult<Result<Outcome, Fail>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let p = portal.statement.statement.clone();
        if portal.parameters.len() != p.count {
            return Ok(Err(Box::new(protocol_error(
                codes::PROTOCOL_VIOLATION,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                    portal.parameters.len(),
                    portal_statement_name(portal),
                    p.count
                ),
            ))));
        }
        let types = match self.param_types(&p, &portal.parameter_format).await {
            Ok(t) => t,
            Err(f) => return Ok(Err(f)),
        };
        let ctx = self.with_session(output_ctx);
        let mut params = Vec::with_capacity(types.len());
        for (i, ty) in types.iter().enumerate() {
            let raw = portal.parameters.get(i).and_then(|b| b.as_deref());
            let binary = match param_is_binary(&portal.parameter_format, i) {
                Ok(b) => b,
                Err(f) => return Ok(Err(f)),
            };
            match decode_param(raw, binary, *ty, &ctx) {
                Ok(d) => params.push(d),
                Err(f) => return Ok(Err(f)),
            }
        }
        self.execute(client, p.stmt.clone(), types, params).await
    }

    fn take_described_rows(&self, portal: &Portal<Arc<Prepared>>) -> Option<Arc<Relation>> {
        let mut st = self.state.lock();
        let id = Arc::as_ptr(&portal.state) as usize;
        match st.described_rows.remove(&portal.name) {
            Some((pid, rel)) if pid == id => Some(rel),
            _ => None,
        }
    }
}

fn portal_statement_name(portal: &Portal<Arc<Prepared>>) -> &str {
    match portal.statement.id.as_str() {
        DEFAULT_NAME => "",
        other => other,
    }
}

fn query_response(
    rel: Arc<Relation>,
    tag: &str,
    binary: Vec<bool>,
    ctx: EvalContext,
) -> QueryResponse {
    let fields: Vec<FieldInfo> = rel
        .columns
        .iter()
        .zip(binary.iter())
        .map(|(c, b)| field_info(c, *b))
        .collect();
    let rows = (0..rel.rows.len()).map(move |i| {
        encode_row(&rel.rows[i], &rel.columns, &binary, &ctx)
            .map_err(|e| super::sqlstate::wire_error(&e))
    });
    let mut resp = QueryResponse::new(Arc::new(fields), futures::stream::iter(rows));
    resp.set_command_tag(tag);
    resp
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

#[async_trait]
impl ExtendedQueryHandler for Conn {
    type Statement = Arc<Prepared>;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.parser.clone()
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let no_data = PgWireBackendMessage::NoData(NoData::new());
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(stmt)) => {
                    let d = self.described(&stmt.statement).await.map_err(user_error)?;
                    let oids = d.params.iter().map(|t| t.oid()).collect();
                    client
                        .feed(PgWireBackendMessage::ParameterDescription(
                            ParameterDescription::new(oids),
                        ))
                        .await?;
                    match &d.columns {
                        Some(cols) => {
                            let fields: Vec<FieldInfo> =
                                cols.iter().map(|c| field_info(c, false)).collect();
                            client
                                .feed(PgWireBackendMessage::RowDescription(RowDescription::new(
                                    fields.iter().map(Into::into).collect(),
                                )))
                                .await?;
                        }
                        None => client.feed(no_data).await?,
                    }
                }
                Some(Entry::Empty) => {
                    client
                        .feed(PgWireBackendMessage::ParameterDescription(
                            ParameterDescription::new(Vec::new()),
                        ))
                        .await?;
                    client.feed(no_data).await?;
                }
                None => return Err(PgWireError::StatementNotFound(name.to_owned())),
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) if returns_rows(&portal.statement.statement.stmt) => {
                    // Run now (it only reads) and keep the rows for Execute.
                    let rel = match self.run_portal(client, &portal).await? {
                        Ok(Outcome::Rows { rel, .. }) => rel,
                        Ok(Outcome::Command { .. }) => Arc::new(Relation::default()),
                        Err(f) => return Err(user_error(f)),
                    };
                    let binary = result_formats(&portal.result_column_format, rel.columns.len())
                        .map_err(user_error)?;
                    let fields: Vec<FieldInfo> = rel
                        .columns
                        .iter()
                        .zip(binary.iter())
                        .map(|(c, b)| field_info(c, *b))
                        .collect();
                    {
                        let mut st = self.state.lock();
                        if st.described_rows.len() >= DESCRIBED_PORTALS_MAX {
                            st.described_rows.clear();
                        }
                        let id = Arc::as_ptr(&portal.state) as usize;
                        st.described_rows.insert(portal.name.clone(), (id, rel));
                    }
                    client
                        .feed(PgWireBackendMessage::RowDescription(RowDescription::new(
                            fields.iter().map(Into::into).collect(),
                        )))
                        .await?;
                }
                Some(_) => client.feed(no_data).await?,
                None => return Err(PgWireError::PortalNotFound(name.to_owned())),
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        }
        Ok(())
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.portal_store().rm_portal(DEFAULT_NAME);
        let status = {
            let mut st = self.state.lock();
            st.described_rows.remove(DEFAULT_NAME);
            st.tx.status()
        };
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        client.flush().await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Arc<Prepared>>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let p = portal.statement.statement.clone();
        let outcome = match self.take_described_rows(portal) {
            Some(rel) => Outcome::Rows {
                rel,
                tag: rows_tag(&p.stmt),
                ctx: self.with_session(output_ctx),
            },
            None => self.run_portal(client, portal).await?.map_err(user_error)?,
        };
        Ok(match outcome {
            Outcome::Rows { rel, tag, ctx } => {
                let binary = result_formats(&portal.result_column_format, rel.columns.len())
                    .map_err(user_error)?;
                Response::Query(query_response(rel, tag, binary, ctx))
            }
            Outcome::Command {
                tag,
                block: Some(true),
            } => Response::TransactionStart(Tag::new(&tag)),
            Outcome::Command {
                tag,
                block: Some(false),
            } => Response::TransactionEnd(Tag::new(&tag)),
            Outcome::Command { tag, block: None } => Response::Execution(Tag::new(&tag)),
        })
    }
}

impl ErrorHandler for Conn {
    fn on_error<C>(&self, _client: &C, _error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        // Any error inside a transaction block fails the block (protocol
        // errors included), as in PostgreSQL.
        let mut st = self.state.lock();
        st.tx = st.tx.on_error();
    }
}

/// The pgwire handlers of one connection: all of them are the [`Conn`].
pub(crate) struct Handlers(pub(crate) Arc<Conn>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.0.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.0.clone()
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.0.clone()
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        self.0.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.0.clone()
    }
}
