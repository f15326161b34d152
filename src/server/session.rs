//! Session-level statements the protocol layer answers itself, decided on
//! the parsed statement (never on SQL text): transaction control and
//! savepoints, `RESET`, `DISCARD`, `UNLISTEN`, `DEALLOCATE`, plus the
//! `version()` rewrite, the ParameterStatus values clients track and the
//! notices and warnings statements raise.

use super::sqlstate::{codes, error_info, protocol_error, warning};
use crate::db::Session;
use pgwire::error::ErrorInfo;
use pgwire::messages::response::TransactionStatus;
use sqlparser::ast::{
    DiscardObject, Expr, FunctionArguments, Ident, ObjectNamePart, Reset, SelectItem, SetExpr,
    Statement, Value, visit_expressions, visit_expressions_mut,
};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::LazyLock;

/// An error on its way to the client (boxed: `ErrorInfo` is large).
pub(crate) type Fail = Box<ErrorInfo>;

/// Where the session stands with respect to a transaction block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxState {
    /// No block (`I`).
    Idle,
    /// Inside `BEGIN … ` (`T`); `wrote` once a statement in it wrote.
    Block { wrote: bool },
    /// A statement in the block failed (`E`): everything but `ROLLBACK` /
    /// `COMMIT` fails with 25P02.
    Failed { wrote: bool },
}

impl TxState {
    /// The ReadyForQuery status byte.
    pub(crate) fn status(self) -> TransactionStatus {
        match self {
            TxState::Idle => TransactionStatus::Idle,
            TxState::Block { .. } => TransactionStatus::Transaction,
            TxState::Failed { .. } => TransactionStatus::Error,
        }
    }

    /// The state after a statement failed.
    pub(crate) fn on_error(self) -> TxState {
        match self {
            TxState::Idle => TxState::Idle,
            TxState::Block { wrote } | TxState::Failed { wrote } => TxState::Failed { wrote },
        }
    }

    /// The state after `stmt` succeeded through the database.
    pub(crate) fn on_success(self, stmt: &Statement) -> TxState {
        match self {
            TxState::Block { wrote } => TxState::Block {
                wrote: wrote || is_write(stmt),
            },
            other => other,
        }
    }
}

/// Whether a statement may change stored data (for the ROLLBACK warning).
fn is_write(stmt: &Statement) -> bool {
    !matches!(
        stmt,
        Statement::Query(_)
            | Statement::ShowVariable { .. }
            | Statement::ShowVariables { .. }
            | Statement::Set(_)
            | Statement::Explain { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Rollback { .. }
            | Statement::Reset(_)
            | Statement::Discard { .. }
    )
}

/// 25P02 in a failed block, unless `stmt` ends the block.
pub(crate) fn check_failed_block(tx: TxState, stmt: &Statement) -> Result<(), Fail> {
    if matches!(tx, TxState::Failed { .. })
        && !matches!(stmt, Statement::Commit { .. } | Statement::Rollback { .. })
    {
        return Err(Box::new(protocol_error(
            codes::IN_FAILED_SQL_TRANSACTION,
            "current transaction is aborted, commands ignored until end of transaction block",
        )));
    }
    Ok(())
}

/// How a session statement ended: its command tag, what the transaction
/// state became, and notices to send before the CommandComplete.
#[derive(Debug)]
pub(crate) struct Local {
    /// The CommandComplete tag.
    pub(crate) tag: String,
    /// Notices (WARNINGs) for the client.
    pub(crate) notices: Vec<ErrorInfo>,
    /// Whether the statement started (`Some(true)`) or ended
    /// (`Some(false)`) a block.
    pub(crate) block: Option<bool>,
    /// `DEALLOCATE name`: the prepared statement to forget (`None` for
    /// `ALL`, which forgets nothing yet).
    pub(crate) deallocate: Option<String>,
}

impl Local {
    fn tag(tag: impl Into<String>) -> Local {
        Local {
            tag: tag.into(),
            notices: Vec::new(),
            block: None,
            deallocate: None,
        }
    }

    fn notice(mut self, n: ErrorInfo) -> Local {
        self.notices.push(n);
        self
    }
}

fn no_transaction_warning() -> ErrorInfo {
    warning(
        codes::NO_ACTIVE_SQL_TRANSACTION,
        "there is no transaction in progress",
    )
}

fn rollback_warning() -> ErrorInfo {
    let mut w = warning(
        codes::WARNING,
        "ROLLBACK does not undo writes already applied in this transaction block",
    );
    w.detail = Some("audb applies each statement when it completes; a transaction block only groups statements.".into());
    w
}

fn only_in_block(what: &str) -> Fail {
    Box::new(protocol_error(
        codes::NO_ACTIVE_SQL_TRANSACTION,
        format!("{what} can only be used in transaction blocks"),
    ))
}

/// A savepoint's name as PostgreSQL folds the identifier.
fn savepoint_name(id: &Ident) -> String {
    match id.quote_style {
        Some(_) => id.value.clone(),
        None => id.value.to_ascii_lowercase(),
    }
}

/// Runs a savepoint statement on the session's settings (opening their
/// block state if a lost session lost it); `f` fails with a SQLSTATE and
/// message.
fn on_savepoints(
    session: &mut Session,
    f: impl FnOnce(&mut Session) -> Result<(), (&'static str, String)>,
) -> Result<(), Fail> {
    session.begin_settings_block();
    f(session).map_err(|(code, message)| Box::new(protocol_error(code, message)))
}

/// Answers `stmt` if it is a session statement; `None` sends it to the
/// database. The session carries what `RESET` returns to
/// (`Session::startup_settings`); `_startup` is the same, as the
/// connection keeps it.
pub(crate) fn session_statement(
    stmt: &Statement,
    tx: &mut TxState,
    session: &mut Session,
    _startup: &BTreeMap<String, String>,
) -> Option<Result<Local, Fail>> {
    let wrote = matches!(
        *tx,
        TxState::Block { wrote: true } | TxState::Failed { wrote: true }
    );
    let in_block = !matches!(*tx, TxState::Idle);
    Some(Ok(match stmt {
        Statement::StartTransaction { .. } => {
            let mut l = Local::tag("BEGIN");
            l.block = Some(true);
            if in_block {
                l.notices.push(warning(
                    codes::ACTIVE_SQL_TRANSACTION,
                    "there is already a transaction in progress",
                ));
            } else {
                *tx = TxState::Block { wrote: false };
                session.begin_settings_block();
            }
            l
        }
        Statement::Commit { .. } => {
            let failed = matches!(*tx, TxState::Failed { .. });
            let mut l = Local::tag(if failed { "ROLLBACK" } else { "COMMIT" });
            l.block = Some(false);
            if !in_block {
                l.notices.push(no_transaction_warning());
            }
            session.end_settings_block(!failed);
            *tx = TxState::Idle;
            l
        }
        Statement::Rollback {
            savepoint: None, ..
        } => {
            let mut l = Local::tag("ROLLBACK");
            l.block = Some(false);
            if !in_block {
                l.notices.push(no_transaction_warning());
            } else if wrote {
                l.notices.push(rollback_warning());
            }
            session.end_settings_block(false);
            *tx = TxState::Idle;
            l
        }
        Statement::Rollback {
            savepoint: Some(name),
            ..
        } => {
            if !in_block {
                return Some(Err(only_in_block("ROLLBACK TO SAVEPOINT")));
            }
            let name = savepoint_name(name);
            if let Err(f) = on_savepoints(session, |s| {
                s.rollback_to_savepoint(&name)
                    .map_err(|e| e.sqlstate_and_message("ROLLBACK TO SAVEPOINT"))
            }) {
                return Some(Err(f));
            }
            *tx = TxState::Block { wrote };
            let l = Local::tag("ROLLBACK");
            if wrote {
                l.notice(rollback_warning())
            } else {
                l
            }
        }
        Statement::Savepoint { name } => {
            if !in_block {
                return Some(Err(only_in_block("SAVEPOINT")));
            }
            let name = savepoint_name(name);
            if let Err(f) = on_savepoints(session, |s| {
                s.savepoint(&name)
                    .map_err(|e| e.sqlstate_and_message("SAVEPOINT"))
            }) {
                return Some(Err(f));
            }
            Local::tag("SAVEPOINT")
        }
        Statement::ReleaseSavepoint { name } => {
            if !in_block {
                return Some(Err(only_in_block("RELEASE SAVEPOINT")));
            }
            let name = savepoint_name(name);
            if let Err(f) = on_savepoints(session, |s| {
                s.release_savepoint(&name)
                    .map_err(|e| e.sqlstate_and_message("RELEASE SAVEPOINT"))
            }) {
                return Some(Err(f));
            }
            Local::tag("RELEASE")
        }
        Statement::Reset(r) => match &r.reset {
            Reset::ALL => {
                session.reset_all_settings();
                Local::tag("RESET")
            }
            Reset::SessionAuthorization => Local::tag("RESET"),
            Reset::ConfigurationParameter(name) => {
                let name = name.to_string().to_lowercase();
                let name = match name.as_str() {
                    "time zone" => "timezone",
                    other => other,
                };
                if let Err(e) = session.reset_setting(name) {
                    return Some(Err(Box::new(error_info(&e))));
                }
                Local::tag("RESET")
            }
        },
        Statement::Discard { object_type } => match object_type {
            DiscardObject::ALL => {
                if in_block {
                    return Some(Err(Box::new(protocol_error(
                        codes::ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block",
                    ))));
                }
                session.reset_all_settings();
                Local::tag("DISCARD ALL")
            }
            DiscardObject::PLANS => Local::tag("DISCARD PLANS"),
            DiscardObject::SEQUENCES => Local::tag("DISCARD SEQUENCES"),
            DiscardObject::TEMP => Local::tag("DISCARD TEMP"),
        },
        Statement::UNLISTEN { .. } => Local::tag("UNLISTEN"),
        Statement::Deallocate { name, .. } => {
            if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
                Local::tag("DEALLOCATE ALL")
            } else {
                let mut l = Local::tag("DEALLOCATE");
                l.deallocate = Some(name.value.clone());
                l
            }
        }
        _ => return None,
    }))
}

/// The notices (NOTICE 00000) and warnings the last statement raised,
/// oldest first, as the NoticeResponses to send; the session forgets them.
pub(crate) fn take_notices(session: &mut Session) -> Vec<ErrorInfo> {
    let notices = std::mem::take(&mut session.notices)
        .into_iter()
        .map(|n| ErrorInfo::new("NOTICE".to_owned(), "00000".to_owned(), n));
    let warnings = std::mem::take(&mut session.warnings).into_iter().map(|w| {
        let mut info = warning(w.state.code(), w.message.clone());
        info.detail = w.detail;
        info.hint = w.hint;
        info
    });
    notices.chain(warnings).collect()
}

/// Settings reported to the client in ParameterStatus when they change:
/// (session setting name, reported name).
pub(crate) const REPORTED: &[(&str, &str)] = &[
    ("application_name", "application_name"),
    ("client_encoding", "client_encoding"),
    ("datestyle", "DateStyle"),
    ("intervalstyle", "IntervalStyle"),
    ("is_superuser", "is_superuser"),
    ("standard_conforming_strings", "standard_conforming_strings"),
    ("timezone", "TimeZone"),
    ("integer_datetimes", "integer_datetimes"),
];

/// The reported settings' current values.
pub(crate) fn reported_values(session: &Session) -> Vec<Option<String>> {
    REPORTED
        .iter()
        .map(|(k, _)| session.settings.get(*k).cloned())
        .collect()
}

/// Whether a statement can change settings (worth a ParameterStatus diff):
/// `SET`, `RESET`, `DISCARD`, the end of a block (local settings end), and
/// anything calling `set_config`.
pub(crate) fn may_change_settings(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Set(_)
            | Statement::Reset(_)
            | Statement::Discard { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
    ) || visit_expressions(stmt, |e| match e {
        Expr::Function(f)
            if f.name.0.last().is_some_and(|p| {
                matches!(p, ObjectNamePart::Identifier(id) if id.value.eq_ignore_ascii_case("set_config"))
            }) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// `version()` as a typed literal, built once from text audb itself wrote.
static VERSION_EXPR: LazyLock<Option<Expr>> =
    LazyLock::new(|| crate::sql::parse_expr(&format!("'{}'::text", super::version_string())).ok());

/// Whether `e` is a call of `version()` (or `pg_catalog.version()`) with
/// no arguments.
fn is_version_call(e: &Expr) -> bool {
    let Expr::Function(f) = e else {
        return false;
    };
    let names: Vec<&str> = f
        .name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(id) if id.quote_style.is_none() => id.value.as_str(),
            _ => "",
        })
        .collect();
    let name_ok = match names.as_slice() {
        [n] => n.eq_ignore_ascii_case("version"),
        [s, n] => s.eq_ignore_ascii_case("pg_catalog") && n.eq_ignore_ascii_case("version"),
        _ => false,
    };
    let args_empty = match &f.args {
        FunctionArguments::List(l) => l.args.is_empty() && l.clauses.is_empty(),
        _ => false,
    };
    name_ok
        && args_empty
        && f.over.is_none()
        && f.filter.is_none()
        && f.within_group.is_empty()
        && matches!(f.parameters, FunctionArguments::None)
}

/// Replaces every `version()` call in `stmt` by audb's version string, on
/// the parsed statement. The scalar layer does not know `version()`; a
/// select item `version()` keeps its PostgreSQL column name `version`.
pub(crate) fn rewrite_version(stmt: &mut Statement) {
    let has_version = visit_expressions(stmt, |e| {
        if is_version_call(e) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break();
    if !has_version {
        return;
    }
    let Some(literal) = VERSION_EXPR.as_ref() else {
        return;
    };
    if let Statement::Query(q) = stmt
        && let SetExpr::Select(select) = q.body.as_mut()
    {
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(e) = item
                && is_version_call(e)
            {
                *item = SelectItem::ExprWithAlias {
                    expr: literal.clone(),
                    alias: sqlparser::ast::Ident::new("version"),
                };
            }
        }
    }
    let _ = visit_expressions_mut(stmt, |e| {
        if is_version_call(e) {
            *e = literal.clone();
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The number of parameters a statement uses: its highest `$n`.
pub(crate) fn param_count(stmt: &Statement) -> usize {
    let mut max = 0usize;
    let _ = visit_expressions(stmt, |e| {
        if let Expr::Value(v) = e
            && let Value::Placeholder(p) = &v.value
            && let Some(n) = p.strip_prefix('$').and_then(|d| d.parse::<usize>().ok())
        {
            max = max.max(n);
        }
        ControlFlow::<()>::Continue(())
    });
    max.min(crate::sql::scalar::PARAMS_MAX)
}

/// Whether a statement returns rows (so Describe answers RowDescription).
pub(crate) fn returns_rows(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Query(_) | Statement::ShowVariable { .. } | Statement::Explain { .. }
    )
}

/// The CommandComplete tag of a statement that returned `rows` rows.
pub(crate) fn rows_tag(stmt: &Statement) -> &'static str {
    match stmt {
        Statement::ShowVariable { .. } => "SHOW",
        Statement::Explain { .. } => "EXPLAIN",
        _ => "SELECT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Statement {
        crate::sql::parse(sql).expect("parse").remove(0)
    }

    #[test]
    fn version_is_rewritten_on_the_ast() {
        let mut s = one("SELECT version()");
        rewrite_version(&mut s);
        let text = s.to_string();
        assert!(text.contains("PostgreSQL 15.0 (audb"), "{text}");
        assert!(text.contains("AS version"), "{text}");
        let mut s = one("SELECT upper(pg_catalog.version()) AS v");
        rewrite_version(&mut s);
        assert!(s.to_string().contains("upper('PostgreSQL 15.0"), "{s}");
        // Not a call of version(): untouched.
        let mut s = one("SELECT \"version\"(1), version FROM t");
        let before = s.to_string();
        rewrite_version(&mut s);
        assert_eq!(s.to_string(), before);
    }

    #[test]
    fn param_count_is_the_highest_placeholder() {
        assert_eq!(param_count(&one("SELECT 1")), 0);
        assert_eq!(param_count(&one("SELECT $2 + $1")), 2);
        assert_eq!(param_count(&one("SELECT * FROM t WHERE a = $3")), 3);
    }

    #[test]
    fn transaction_states() {
        let mut s = Session::new("u");
        let st = BTreeMap::new();
        let mut tx = TxState::Idle;
        let l = session_statement(&one("BEGIN"), &mut tx, &mut s, &st)
            .expect("some")
            .expect("ok");
        assert_eq!(
            (l.tag.as_str(), tx),
            ("BEGIN", TxState::Block { wrote: false })
        );
        tx = tx.on_success(&one("INSERT INTO t VALUES (1)"));
        tx = tx.on_error();
        assert!(check_failed_block(tx, &one("SELECT 1")).is_err());
        assert!(check_failed_block(tx, &one("ROLLBACK")).is_ok());
        let l = session_statement(&one("ROLLBACK"), &mut tx, &mut s, &st)
            .expect("some")
            .expect("ok");
        assert_eq!(tx, TxState::Idle);
        assert_eq!(l.notices.len(), 1, "a block that wrote warns on ROLLBACK");
        assert!(
            session_statement(&one("SAVEPOINT a"), &mut tx, &mut s, &st)
                .expect("some")
                .is_err()
        );
        let l = session_statement(&one("COMMIT"), &mut tx, &mut s, &st)
            .expect("some")
            .expect("ok");
        assert_eq!(l.notices.len(), 1, "COMMIT outside a block warns");
        assert!(session_statement(&one("SELECT 1"), &mut tx, &mut s, &st).is_none());
    }

    #[test]
    fn reset_returns_to_defaults() {
        let mut s = Session::new("u");
        let st = BTreeMap::new();
        s.settings.insert("application_name".into(), "app".into());
        s.startup_settings = s.settings.clone();
        let mut tx = TxState::Idle;
        s.settings.insert("timezone".into(), "+08".into());
        s.settings.insert("application_name".into(), "other".into());
        session_statement(&one("RESET timezone"), &mut tx, &mut s, &st)
            .expect("some")
            .expect("ok");
        assert_eq!(s.settings["timezone"], "UTC");
        session_statement(&one("RESET ALL"), &mut tx, &mut s, &st)
            .expect("some")
            .expect("ok");
        assert_eq!(s.settings["application_name"], "app");
        assert!(
            session_statement(&one("RESET no_such_thing"), &mut tx, &mut s, &st)
                .expect("some")
                .is_err()
        );
    }
}
