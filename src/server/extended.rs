//! The extended query protocol: Parse (once per statement, never parsed
//! again), Describe, Bind/Execute with text and binary values, portals
//! suspended at `max_rows`, and Sync with the session's transaction status.
//! As in PostgreSQL, Bind decodes every parameter and checks the result
//! formats before it answers BindComplete, so a bad value fails the Bind.

use super::decode::decode_param_oid;
use super::describe::{Described, describe};
use super::encode::{
    data_type_of_oid, encode_row, field_info, param_is_binary, pg_type, result_formats,
};
use super::handlers::{Conn, Outcome, user_error};
use super::session::{Fail, param_count, returns_rows, rewrite_version, rows_tag};
use super::sqlstate::{codes, error_info, protocol_error};
use crate::sql::relation::Relation;
use crate::sql::scalar::EvalContext;
use crate::sql::types::{DataType, Datum};
use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Describe, Parse, ParseComplete, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL,
    TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::ReadyForQuery;
use sqlparser::ast::Statement;
use std::fmt::Debug;
use std::sync::Arc;

/// Most result sets kept between Describe (portal) and Execute.
const DESCRIBED_PORTALS_MAX: usize = 16;

/// A parsed statement of the extended protocol, kept until closed: it is
/// never parsed again.
#[derive(Debug)]
pub(crate) struct Prepared {
    stmt: Arc<Statement>,
    /// Parameter types the client declared in Parse (`Unknown`: infer).
    declared: Vec<DataType>,
    /// The OIDs the client declared in Parse (0: infer), which tell the
    /// element type a binary array must carry (`varchar[]`, `text[]`).
    declared_oids: Vec<u32>,
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
        let declared_oids = types
            .iter()
            .map(|t| t.as_ref().map_or(0, Type::oid))
            .collect();
        let count = param_count(&stmt).max(declared.len());
        Ok(Some(Arc::new(Prepared {
            stmt: Arc::new(stmt),
            declared,
            declared_oids,
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

impl Conn {
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

    /// Decodes the parameters of a Bind message for statement `p`: their
    /// types and values, or the first value's error.
    async fn decode_params<B>(
        &self,
        p: &Arc<Prepared>,
        format: &Format,
        parameters: &[Option<B>],
    ) -> Result<(Vec<DataType>, Vec<Datum>), Fail>
    where
        B: std::ops::Deref<Target = [u8]> + Sync,
    {
        let types = self.param_types(p, format).await?;
        let ctx = self.with_session(|s| super::encode::output_ctx(&self.db, s));
        let mut params = Vec::with_capacity(types.len());
        for (i, ty) in types.iter().enumerate() {
            let raw = parameters.get(i).and_then(|b| b.as_deref());
            let binary = param_is_binary(format, i)?;
            let oid = match p.declared_oids.get(i) {
                Some(oid) if *oid != 0 => *oid,
                _ => ty.oid(),
            };
            params.push(decode_param_oid(raw, binary, *ty, oid, i + 1, &ctx)?);
        }
        Ok((types, params))
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
        let (types, params) = match self
            .decode_params(&p, &portal.parameter_format, &portal.parameters)
            .await
        {
            Ok(decoded) => decoded,
            Err(f) => return Ok(Err(f)),
        };
        self.execute(client, p.stmt.clone(), types, params).await
    }

    /// What PostgreSQL's Bind does after the counts: decode every
    /// parameter (so a bad value fails the Bind, before BindComplete), then
    /// check the result-format count against the statement's columns
    /// (`08P01`; only when there is more than one format code and the
    /// statement returns rows).
    async fn check_bind_values(&self, p: &Arc<Prepared>, message: &Bind) -> Result<(), Fail> {
        if p.count > 0 {
            let format = match message.parameter_format_codes.as_slice() {
                [] => Format::UnifiedText,
                [code] => Format::from(*code),
                codes => Format::Individual(codes.to_vec()),
            };
            self.decode_params(p, &format, &message.parameters).await?;
        }
        let formats = message.result_column_format_codes.len();
        if formats > 1
            && returns_rows(&p.stmt)
            && let Some(cols) = self.described(p).await?.columns
            && cols.len() != formats
        {
            return Err(Box::new(protocol_error(
                codes::PROTOCOL_VIOLATION,
                format!(
                    "bind message has {formats} result formats but query has {} columns",
                    cols.len()
                ),
            )));
        }
        Ok(())
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

/// PostgreSQL's checks of a Bind message's counts and format codes, in its
/// order: parameter formats against parameters, parameters against the
/// statement's (`required`), then the format code of each parameter.
fn check_bind(message: &Bind, statement: &str, required: usize) -> PgWireResult<()> {
    let fail = |code: &str, text: String| {
        Err(PgWireError::UserError(Box::new(protocol_error(code, text))))
    };
    let formats = message.parameter_format_codes.len();
    let params = message.parameters.len();
    if formats > 1 && formats != params {
        return fail(
            codes::PROTOCOL_VIOLATION,
            format!("bind message has {formats} parameter formats but {params} parameters"),
        );
    }
    if params != required {
        return fail(
            codes::PROTOCOL_VIOLATION,
            format!(
                "bind message supplies {params} parameters, but prepared statement \"{statement}\" requires {required}"
            ),
        );
    }
    match message
        .parameter_format_codes
        .iter()
        .find(|c| !matches!(c, 0 | 1))
    {
        Some(code) if params > 0 => fail(
            codes::INVALID_PARAMETER_VALUE,
            format!("unsupported format code: {code}"),
        ),
        _ => Ok(()),
    }
}

#[async_trait]
impl ExtendedQueryHandler for Conn {
    type Statement = Arc<Prepared>;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.parser.clone()
    }

    /// pgwire's Parse, with PostgreSQL's rules for names: the unnamed
    /// statement is dropped first (so a failed Parse leaves none), and a
    /// named one must not exist yet (`42P05`).
    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if name == DEFAULT_NAME {
            client.portal_store().rm_statement(DEFAULT_NAME);
        } else if client.portal_store().get_statement(name).is_some() {
            return Err(PgWireError::UserError(Box::new(protocol_error(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            ))));
        }
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(stmt) => client.portal_store().put_statement(Arc::new(stmt)),
            None => client.portal_store().put_empty_statement(name),
        }
        client
            .send(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    /// pgwire's Bind after [`check_bind`].
    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let shown = if name == DEFAULT_NAME { "" } else { name };
        let statement = match client.portal_store().get_statement(name) {
            Some(Entry::Value(statement)) => Some(statement),
            Some(Entry::Empty) => None,
            None => {
                // The format counts are checked before the statement.
                check_bind(&message, shown, message.parameters.len())?;
                return Err(PgWireError::StatementNotFound(name.to_owned()));
            }
        };
        let required = statement.as_ref().map_or(0, |s| s.statement.count);
        check_bind(&message, shown, required)?;
        if let Some(statement) = &statement {
            self.check_bind_values(&statement.statement, &message)
                .await
                .map_err(user_error)?;
        }
        match statement {
            Some(statement) => {
                let portal = Portal::try_new(&message, statement)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            None => {
                let portal = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
                client.portal_store().put_empty_portal(portal);
            }
        }
        client
            .send(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
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
        if matches!(*p.stmt, Statement::Copy { .. }) {
            return self.copy_extended(client, p.stmt.clone()).await;
        }
        let outcome = match self.take_described_rows(portal) {
            Some(rel) => Outcome::Rows {
                rel,
                tag: rows_tag(&p.stmt),
                ctx: self.with_session(|s| super::encode::output_ctx(&self.db, s)),
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
