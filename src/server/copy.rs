//! COPY on the wire: CopyInResponse, CopyData, CopyDone and CopyFail for
//! `COPY … FROM STDIN`; CopyOutResponse, CopyData (one per row) and
//! CopyDone for `COPY … TO STDOUT`; in the simple and the extended
//! protocol. The formats and the loading live in [`crate::copy`].
//!
//! - **In.** Each CopyData chunk is checked on a blocking thread as it
//!   arrives, so a bad row fails the COPY at once with its line (the rest
//!   of the client's data is then dropped, as PostgreSQL does). CopyDone
//!   runs the one atomic bulk load. CopyFail (`57014 COPY from stdin
//!   failed: …`) or a disconnect drops the pending COPY: nothing applied.
//!   In a simple Query message, the statements after `COPY … FROM STDIN`
//!   run once its data is in (after CopyDone), as in PostgreSQL; a failed
//!   COPY skips them. A cancel request while the server waits for data
//!   takes effect, as in PostgreSQL, at the client's next CopyData or
//!   CopyDone: `57014`, nothing applied, the rest of the data ignored.
//! - **Out.** The exporter runs on a blocking thread and hands batches
//!   through a channel of [`OUT_BATCHES_IN_FLIGHT`] entries; it waits while
//!   the client reads, so a slow client holds at most that many batches.
//!   A client that goes away stops the export.

use super::handlers::Conn;
use super::session::check_failed_block;
use super::sqlstate::codes;
use crate::copy::export::{ExportChunk, export};
use crate::copy::ingest::CopyIn;
use crate::copy::{CopyError, Direction, direction};
use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::{CopyResponse, Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, ErrorHandler, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse};
use pgwire::messages::response::CommandComplete;
use sqlparser::ast::Statement;
use std::collections::VecDeque;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Export batches queued between the exporter thread and the socket.
const OUT_BATCHES_IN_FLIGHT: usize = 2;

/// A `COPY … FROM STDIN` waiting for the client's data.
#[derive(Debug)]
pub(crate) struct PendingIn {
    /// `None` while a chunk is being checked on a blocking thread.
    copy: Option<CopyIn>,
    /// The statements after the COPY in its simple Query message.
    rest: VecDeque<Statement>,
}

/// What a COPY in a simple Query message did.
pub(super) enum SimpleCopy {
    /// Done (COPY TO): go on with the next statement.
    Done,
    /// Failed; the error was sent: stop the message.
    Failed,
    /// Copy-in mode began: no ReadyForQuery until CopyDone/CopyFail.
    InStarted,
}

fn copy_error(e: &CopyError) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".to_owned(), e.code.to_owned(), e.message.clone());
    info.detail = e.detail.clone();
    info.hint = e.hint.clone();
    info.where_context = e.context.clone();
    info
}

fn wire(e: &CopyError) -> PgWireError {
    PgWireError::UserError(Box::new(copy_error(e)))
}

impl Conn {
    fn fail_tx(&self) {
        let mut st = self.state.lock();
        st.tx = st.tx.on_error();
    }

    /// Starts a COPY FROM STDIN: resolves the table and columns and
    /// parks the pending copy on the connection. Returns the number of
    /// columns and the format code (1 for binary) of the CopyInResponse.
    fn start_in(
        &self,
        stmt: &Statement,
        rest: VecDeque<Statement>,
    ) -> Result<(usize, i8), CopyError> {
        let tz = self.with_session(|s| s.time_zone());
        let copy = CopyIn::start(&self.db.store().snapshot(), stmt, tz)?;
        let columns = (copy.columns(), i8::from(copy.binary()));
        // A cancel request from before the COPY does not cancel it.
        self.cancel_flag().store(false, Ordering::Relaxed);
        self.state.lock().copy_in = Some(PendingIn {
            copy: Some(copy),
            rest,
        });
        Ok(columns)
    }

    /// Whether a cancel request arrived for the COPY in progress; if so the
    /// COPY is dropped and this is its error.
    fn canceled_in(&self) -> Option<PgWireError> {
        if !self.cancel_flag().swap(false, Ordering::Relaxed) {
            return None;
        }
        self.state.lock().copy_in = None;
        Some(wire(&CopyError::new(
            codes::QUERY_CANCELED,
            "canceling statement due to user request",
        )))
    }

    /// Runs a COPY TO STDOUT, sending CopyOutResponse, the rows and
    /// CopyDone; returns the rows sent.
    async fn run_out<C>(
        &self,
        client: &mut C,
        stmt: Arc<Statement>,
    ) -> PgWireResult<Result<u64, CopyError>>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ExportChunk>(OUT_BATCHES_IN_FLIGHT);
        let producer = self.blocking(move |db, session| {
            export(db, session, &stmt, &mut |chunk| {
                tx.blocking_send(chunk).is_ok()
            })
        });
        let consumer = async {
            let mut started = false;
            while let Some(chunk) = rx.recv().await {
                match chunk {
                    ExportChunk::Start { columns, binary } => {
                        let n = i16::try_from(columns).unwrap_or(i16::MAX);
                        let format = i8::from(binary);
                        client
                            .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                                format,
                                n,
                                vec![i16::from(format); columns],
                            )))
                            .await?;
                        started = true;
                    }
                    ExportChunk::Lines { data, ends } => {
                        // One buffer per batch; each row a zero-copy slice of it.
                        let whole = CopyData::new(data.into()).data;
                        let mut at = 0;
                        for end in ends {
                            client
                                .feed(PgWireBackendMessage::CopyData(CopyData::new(
                                    whole.slice(at..end),
                                )))
                                .await?;
                            at = end;
                        }
                        client.flush().await?;
                    }
                }
            }
            Ok::<bool, PgWireError>(started)
        };
        let (produced, consumed) = tokio::join!(producer, consumer);
        let started = consumed?;
        let rows = match produced {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => return Ok(Err(e)),
            Err(e) => return Ok(Err(e.into())),
        };
        if started {
            client
                .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
                .await?;
        }
        Ok(Ok(rows))
    }

    /// A COPY statement of a simple Query message; `rest` are the
    /// statements after it in the message (kept for after the data of a
    /// COPY FROM STDIN).
    pub(super) async fn copy_simple<C>(
        &self,
        client: &mut C,
        stmt: Arc<Statement>,
        rest: &mut VecDeque<Statement>,
    ) -> PgWireResult<SimpleCopy>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let fail = |e: ErrorInfo| PgWireBackendMessage::ErrorResponse(e.into());
        let tx = self.state.lock().tx;
        if let Err(f) = check_failed_block(tx, &stmt) {
            client.feed(fail(*f)).await?;
            return Ok(SimpleCopy::Failed);
        }
        let outcome = match direction(&stmt) {
            None => Err(CopyError::new("XX000", "not a COPY statement")),
            Some(Err(e)) => Err(e),
            Some(Ok(Direction::In)) => match self.start_in(&stmt, std::mem::take(rest)) {
                Ok((columns, format)) => {
                    let n = i16::try_from(columns).unwrap_or(i16::MAX);
                    client
                        .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                            format,
                            n,
                            vec![i16::from(format); columns],
                        )))
                        .await?;
                    client.set_state(PgWireConnectionState::CopyInProgress(false));
                    return Ok(SimpleCopy::InStarted);
                }
                Err(e) => Err(e),
            },
            Some(Ok(Direction::Out)) => self.run_out(client, stmt).await?,
        };
        match outcome {
            Ok(rows) => {
                client
                    .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        format!("COPY {rows}"),
                    )))
                    .await?;
                Ok(SimpleCopy::Done)
            }
            Err(e) => {
                self.fail_tx();
                client.feed(fail(copy_error(&e))).await?;
                Ok(SimpleCopy::Failed)
            }
        }
    }

    /// A COPY statement executed through the extended protocol.
    pub(super) async fn copy_extended<C>(
        &self,
        client: &mut C,
        stmt: Arc<Statement>,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let tx = self.state.lock().tx;
        if let Err(f) = check_failed_block(tx, &stmt) {
            return Err(PgWireError::UserError(f));
        }
        match direction(&stmt) {
            None => Err(wire(&CopyError::new("XX000", "not a COPY statement"))),
            Some(Err(e)) => Err(wire(&e)),
            Some(Ok(Direction::In)) => {
                let (columns, format) = self
                    .start_in(&stmt, VecDeque::new())
                    .map_err(|e| wire(&e))?;
                Ok(Response::CopyIn(CopyResponse::new(
                    format,
                    columns,
                    futures::stream::empty(),
                )))
            }
            Some(Ok(Direction::Out)) => match self.run_out(client, stmt).await? {
                Ok(rows) => Ok(Response::Execution(
                    Tag::new("COPY").with_rows(usize::try_from(rows).unwrap_or(usize::MAX)),
                )),
                Err(e) => Err(wire(&e)),
            },
        }
    }

    /// CopyDone of a COPY FROM STDIN that a simple Query message started
    /// (the socket loop calls this instead of pgwire, which would end the
    /// message there): loads the data, runs the rest of the message's
    /// statements, then ReadyForQuery — unless one of them starts another
    /// COPY FROM STDIN.
    pub(crate) async fn copy_done_simple<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let rest = self
            .state
            .lock()
            .copy_in
            .as_mut()
            .map(|p| std::mem::take(&mut p.rest))
            .unwrap_or_default();
        client.set_state(PgWireConnectionState::QueryInProgress);
        let result = match self.on_copy_done(client, CopyDone::new()).await {
            Ok(()) => self.run_statements(client, rest).await,
            Err(mut e) => {
                ErrorHandler::on_error(self, client, &mut e);
                client
                    .feed(PgWireBackendMessage::ErrorResponse(
                        ErrorInfo::from(e).into(),
                    ))
                    .await
                    .map_err(PgWireError::from)
            }
        };
        self.end_query(client, result).await
    }

    fn take_in(&self) -> Option<CopyIn> {
        self.state
            .lock()
            .copy_in
            .as_mut()
            .and_then(|p| p.copy.take())
    }
}

#[async_trait]
impl CopyHandler for Conn {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(e) = self.canceled_in() {
            return Err(e);
        }
        let Some(mut copy) = self.take_in() else {
            return Ok(());
        };
        let checked = tokio::task::spawn_blocking(move || {
            let r = copy.feed(&copy_data.data);
            (copy, r)
        })
        .await;
        match checked {
            Ok((copy, Ok(()))) => {
                if let Some(p) = self.state.lock().copy_in.as_mut() {
                    p.copy = Some(copy);
                }
                Ok(())
            }
            Ok((_, Err(e))) => {
                self.state.lock().copy_in = None;
                Err(wire(&e))
            }
            Err(e) => {
                self.state.lock().copy_in = None;
                Err(wire(&CopyError::new("XX000", format!("COPY failed: {e}"))))
            }
        }
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(e) = self.canceled_in() {
            return Err(e);
        }
        let copy = self.take_in();
        self.state.lock().copy_in = None;
        let Some(copy) = copy else {
            return Err(wire(&CopyError::new(
                "08P01",
                "CopyDone without a COPY in progress",
            )));
        };
        let db = self.db.clone();
        let loaded = tokio::task::spawn_blocking(move || copy.finish(db.store())).await;
        let rows = match loaded {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => return Err(wire(&e)),
            Err(e) => return Err(wire(&CopyError::new("XX000", format!("COPY failed: {e}")))),
        };
        client
            .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                format!("COPY {rows}"),
            )))
            .await?;
        let status = self.state.lock().tx.status();
        client.set_transaction_status(status);
        Ok(())
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.state.lock().copy_in = None;
        wire(&CopyError::new(
            "57014",
            format!("COPY from stdin failed: {}", fail.message),
        ))
    }
}
