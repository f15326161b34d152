//! [`Db`]: the library entry point that the server, the CLI, tests and
//! benchmarks call. `Db::execute(session, sql)` parses, plans and runs
//! statements over one snapshot each.

mod result_cache;

use crate::exec::parallel::Cancel;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::relation::{Column, Relation};
use crate::sql::scalar::{EvalContext, Params};
use crate::sql::select::{QueryCtx, run_query};
use crate::sql::timezone::TimeZone;
use crate::sql::types::{DataType, Datum};
use crate::sql::{ddl, dml, role};
use crate::storage::{Options, Store};
use parking_lot::Mutex;
use result_cache::ResultCache;
use sqlparser::ast::{Expr, Statement, Visit, Visitor};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The outcome of one statement.
#[derive(Clone, Debug, PartialEq)]
pub enum StatementResult {
    /// Rows, with their column names and types.
    Rows(Arc<Relation>),
    /// A command completed; the PostgreSQL command tag (`INSERT 0 3`, …).
    Command(String),
}

/// Settings and state of one client session.
#[derive(Debug)]
pub struct Session {
    /// The user name the session authenticated as.
    pub user: String,
    /// Settings by lower-case name (`timezone`, `datestyle`, …).
    pub settings: BTreeMap<String, String>,
    /// Set to cancel the running statement (57014).
    pub cancel: Arc<AtomicBool>,
    /// Settings state while a transaction block is open (what `ROLLBACK`
    /// restores, what local changes hide).
    pub settings_tx: Option<crate::catalog::system::SettingsTx>,
    /// NOTICE messages (SQLSTATE 00000) statements raised, oldest first;
    /// the server sends and clears them after each statement.
    pub notices: Vec<String>,
    /// WARNINGs statements raised (`SET LOCAL` outside a block), sent and
    /// cleared with the notices.
    pub warnings: Vec<SqlError>,
    /// The settings when the session started (the defaults, the server's
    /// own, what the client asked for at startup): what `RESET` returns to.
    pub startup_settings: BTreeMap<String, String>,
}

impl Session {
    /// A new session with PostgreSQL's default settings.
    pub fn new(user: impl Into<String>) -> Session {
        let settings = [
            ("timezone", "UTC"),
            ("datestyle", "ISO, MDY"),
            ("client_encoding", "UTF8"),
            ("server_encoding", "UTF8"),
            ("application_name", ""),
            ("extra_float_digits", "1"),
            ("search_path", "\"$user\", public"),
            ("statement_timeout", "0"),
            ("standard_conforming_strings", "on"),
            ("integer_datetimes", "on"),
            ("intervalstyle", "postgres"),
            ("transaction_isolation", "read committed"),
            ("default_transaction_isolation", "read committed"),
            ("transaction_read_only", "off"),
            ("is_superuser", "on"),
            ("max_identifier_length", "63"),
            ("log_min_duration_statement", "1000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Session {
            user: user.into(),
            settings,
            cancel: Arc::new(AtomicBool::new(false)),
            settings_tx: None,
            notices: Vec::new(),
            warnings: Vec::new(),
            startup_settings: BTreeMap::new(),
        }
    }

    /// The session time zone (`TimeZone`; UTC if the setting is somehow
    /// not a zone, which `SET` and `set_config` never let through).
    pub fn time_zone(&self) -> TimeZone {
        self.settings
            .get("timezone")
            .and_then(|tz| parse_timezone(tz))
            .unwrap_or_default()
    }

    /// `statement_timeout` as a duration (`None` = no timeout).
    pub fn statement_timeout(&self) -> Option<Duration> {
        let v = self.settings.get("statement_timeout")?;
        let ms = u64::try_from(crate::catalog::system::setting_millis(v)?).ok()?;
        (ms > 0).then(|| Duration::from_millis(ms))
    }
}

/// Parses a `TimeZone` setting as PostgreSQL does (see
/// [`TimeZone::from_setting`]): `None` if it names no zone.
pub fn parse_timezone(tz: &str) -> Option<TimeZone> {
    TimeZone::from_setting(tz).ok().map(|(zone, _)| zone)
}

/// What a cached result depends on besides the snapshot version: the
/// statement (its SQL text as sent, before parsing, for [`Db::execute`]; the
/// formatted statement and parameter values for [`Db::run`]) and the session
/// (user and every setting, e.g. `TimeZone`, which changes how text converts
/// to timestamps, and those catalog functions show).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    /// The SQL text, or the formatted statement.
    statement: String,
    /// `Some(parameter values)` for a parsed statement; `None` for raw text.
    params: Option<String>,
    /// The session user.
    user: String,
    /// A hash of the session's settings.
    settings: u64,
}

fn settings_hash(session: &Session) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    session.settings.hash(&mut h);
    h.finish()
}

/// An open audb database.
pub struct Db {
    store: Store,
    cache: Mutex<ResultCache<CacheKey>>,
    /// Each statement's memory budget (`query_memory_limit`).
    query_memory_limit: u64,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Functions whose value changes between executions of the same statement.
const VOLATILE: &[&str] = &[
    "now",
    "random",
    "current_date",
    "current_timestamp",
    "localtimestamp",
    "localtime",
    "current_time",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "set_config",
];

fn is_cacheable(stmt: &Statement) -> bool {
    struct Volatile;
    impl Visitor for Volatile {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e
                && let Some(sqlparser::ast::ObjectNamePart::Identifier(id)) = f.name.0.last()
                && VOLATILE.contains(&id.value.to_lowercase().as_str())
            {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    matches!(stmt, Statement::Query(_)) && stmt.visit(&mut Volatile).is_continue()
}

/// The highest `$n` in a statement.
fn max_placeholder(stmt: &Statement) -> usize {
    struct Max(usize);
    impl Visitor for Max {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = e
                && let sqlparser::ast::Value::Placeholder(p) = &v.value
                && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            {
                self.0 = self.0.max(n.min(crate::sql::scalar::PARAMS_MAX));
            }
            ControlFlow::Continue(())
        }
    }
    let mut m = Max(0);
    let _ = stmt.visit(&mut m);
    m.0
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Db {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: impl AsRef<Path>, options: Options) -> SqlResult<Db> {
        Ok(Db::with_store(Store::open(path, options)?))
    }

    /// Wraps an open store.
    pub fn with_store(store: Store) -> Db {
        Db {
            store,
            cache: Mutex::new(ResultCache::new()),
            query_memory_limit: crate::exec::ExecConfig::default().query_memory_limit,
        }
    }

    /// Applies executor settings: the statement memory budget, and the
    /// worker pool's size if the pool has not started yet.
    pub fn with_exec(mut self, exec: crate::exec::ExecConfig) -> Db {
        crate::exec::pool::configure(exec.worker_threads);
        self.query_memory_limit = exec.query_memory_limit;
        self
    }

    /// The storage layer.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Parses and runs every statement of `sql`, stopping at the first error.
    ///
    /// A repeated read-only query is answered from the result cache by its
    /// SQL text (plus the session's user and settings), before parsing, as
    /// long as no write happened since (the snapshot version is unchanged).
    pub fn execute(&self, session: &mut Session, sql: &str) -> SqlResult<Vec<StatementResult>> {
        let text_key = CacheKey {
            statement: sql.to_owned(),
            params: None,
            user: session.user.clone(),
            settings: settings_hash(session),
        };
        if let Some(hit) = self.cached(&text_key, self.store.snapshot().version()) {
            session
                .cancel
                .store(false, std::sync::atomic::Ordering::Relaxed);
            return Ok(vec![StatementResult::Rows(hit)]);
        }
        let stmts = crate::sql::parse(sql)?;
        if let [stmt] = stmts.as_slice()
            && is_cacheable(stmt)
        {
            return Ok(vec![self.run_keyed(
                session,
                stmt,
                &[],
                &[],
                Some(text_key),
            )?]);
        }
        let mut out = Vec::with_capacity(stmts.len());
        for s in &stmts {
            out.push(self.run(session, s, &[], &[])?);
        }
        Ok(out)
    }

    /// Runs one parsed statement with parameter values `params` (of types
    /// `param_types`, `Unknown` where the client did not say).
    pub fn run(
        &self,
        session: &mut Session,
        stmt: &Statement,
        param_types: &[DataType],
        params: &[Datum],
    ) -> SqlResult<StatementResult> {
        let cache_key = is_cacheable(stmt).then(|| CacheKey {
            statement: stmt.to_string(),
            params: Some(format!("{params:?}")),
            user: session.user.clone(),
            settings: settings_hash(session),
        });
        self.run_keyed(session, stmt, param_types, params, cache_key)
    }

    /// The cached result of `key` if the snapshot is still `version`.
    fn cached(&self, key: &CacheKey, version: u64) -> Option<Arc<Relation>> {
        self.cache.lock().get(key, version)
    }

    /// [`Db::run`] with the result cached under `cache_key` (if any).
    fn run_keyed(
        &self,
        session: &mut Session,
        stmt: &Statement,
        param_types: &[DataType],
        params: &[Datum],
        cache_key: Option<CacheKey>,
    ) -> SqlResult<StatementResult> {
        session
            .cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let snapshot = self.store.snapshot();
        let tz = session.time_zone();
        if let Some(key) = &cache_key
            && let Some(hit) = self.cached(key, snapshot.version())
        {
            return Ok(StatementResult::Rows(hit));
        }
        let catalog = crate::catalog::system::statement_catalog(&snapshot, session);
        let eval = EvalContext {
            now_micros: now_micros(),
            timezone: tz,
            params: params.to_vec(),
            catalog: Some(catalog.handle()),
        };
        let params_cell = std::cell::RefCell::new(Params::with_types(param_types.to_vec()));
        let deadline = session.statement_timeout().map(|d| Instant::now() + d);
        let cancel = Cancel::new(session.cancel.clone(), deadline)
            .with_memory_limit(self.query_memory_limit);
        let ctx = QueryCtx::top(
            &snapshot,
            &eval,
            &params_cell,
            &cancel,
            &session.user,
            false,
        );
        let started = Instant::now();
        let result = self.dispatch(session, &ctx, stmt)?;
        catalog.apply_changes(session);
        self.log_if_slow(session, &ctx, stmt, started.elapsed());
        if let (Some(key), StatementResult::Rows(rel)) = (cache_key, &result) {
            let evicted = self.cache.lock().insert(key, rel, snapshot.version());
            // Freed here, after the lock is released.
            drop(evicted);
        }
        Ok(result)
    }

    /// Runs `f` with the context a top-level statement of `session` gets
    /// (one snapshot, the session's time zone, cancel flag and timeout):
    /// for statements that run outside [`Db::run`], such as `COPY … TO
    /// STDOUT`, which streams its rows instead of returning them.
    pub fn with_statement_ctx<R>(
        &self,
        session: &Session,
        f: impl FnOnce(&QueryCtx<'_>) -> R,
    ) -> R {
        session
            .cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let snapshot = self.store.snapshot();
        let eval = EvalContext {
            now_micros: now_micros(),
            timezone: session.time_zone(),
            params: Vec::new(),
            catalog: Some(crate::catalog::system::session_catalog(
                &snapshot,
                &session.user,
                &session.settings,
            )),
        };
        let params = std::cell::RefCell::new(Params::with_types(Vec::new()));
        let deadline = session.statement_timeout().map(|d| Instant::now() + d);
        let cancel = Cancel::new(session.cancel.clone(), deadline)
            .with_memory_limit(self.query_memory_limit);
        f(&QueryCtx::top(
            &snapshot,
            &eval,
            &params,
            &cancel,
            &session.user,
            false,
        ))
    }

    /// The slow-statement log: statements that ran at least
    /// `log_min_duration_statement` milliseconds (PostgreSQL's setting; -1
    /// disables it, 0 logs everything) are logged with their bitmap plan.
    fn log_if_slow(&self, session: &Session, ctx: &QueryCtx<'_>, stmt: &Statement, took: Duration) {
        let threshold: i64 = session
            .settings
            .get("log_min_duration_statement")
            .and_then(|v| crate::catalog::system::setting_millis(v))
            .unwrap_or(1000);
        if threshold < 0 || took.as_millis() < threshold as u128 {
            return;
        }
        let plan = match stmt {
            Statement::Query(q) => crate::sql::explain::explain_query(ctx, q)
                .unwrap_or_default()
                .join("\n"),
            _ => String::new(),
        };
        tracing::warn!(
            duration_ms = took.as_secs_f64() * 1000.0,
            user = %session.user,
            statement = %stmt,
            "slow statement\n{plan}"
        );
    }

    /// Parameter types and result columns of `stmt`, for the extended
    /// protocol's Describe. Writes are planned and bound but not applied; a
    /// query runs with every parameter NULL (which selects nothing, so it is
    /// cheap) to learn its columns.
    pub fn describe(
        &self,
        session: &mut Session,
        stmt: &Statement,
        param_types: &[DataType],
    ) -> SqlResult<(Vec<DataType>, Option<Vec<Column>>)> {
        session
            .cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let n = param_types.len().max(max_placeholder(stmt));
        let mut types = param_types.to_vec();
        types.resize(n, DataType::Unknown);
        let snapshot = self.store.snapshot();
        let eval = EvalContext {
            now_micros: now_micros(),
            timezone: session.time_zone(),
            params: vec![Datum::Null; n],
            catalog: Some(crate::catalog::system::session_catalog(
                &snapshot,
                &session.user,
                &session.settings,
            )),
        };
        let params_cell = std::cell::RefCell::new(Params::with_types(types));
        let cancel =
            Cancel::new(session.cancel.clone(), None).with_memory_limit(self.query_memory_limit);
        let ctx = QueryCtx::top(&snapshot, &eval, &params_cell, &cancel, &session.user, true);
        let columns = match stmt {
            Statement::Query(q) => Some(run_query(&ctx, q)?.columns),
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                self.dispatch(session, &ctx, stmt)?;
                None
            }
            Statement::ShowVariable { .. } | Statement::Explain { .. } => {
                match self.dispatch(session, &ctx, stmt)? {
                    StatementResult::Rows(r) => Some(r.columns.clone()),
                    StatementResult::Command(_) => None,
                }
            }
            _ => None,
        };
        let mut params = params_cell.into_inner();
        params.finish();
        Ok((params.types, columns))
    }

    fn dispatch(
        &self,
        session: &mut Session,
        ctx: &QueryCtx<'_>,
        stmt: &Statement,
    ) -> SqlResult<StatementResult> {
        let cmd = |s: &str| Ok(StatementResult::Command(s.to_owned()));
        match stmt {
            Statement::Query(q) => Ok(StatementResult::Rows(Arc::new(run_query(ctx, q)?))),
            Statement::CreateTable(ct) => cmd(&ddl::create_table(&self.store, ct)?),
            Statement::CreateRole(cr) => cmd(&role::create(&self.store, session, cr)?),
            Statement::CreateUser(cu) => cmd(&role::create_user(&self.store, session, cu)?),
            Statement::AlterRole { name, operation } => {
                cmd(&role::alter(&self.store, session, name, operation)?)
            }
            Statement::Drop {
                object_type: sqlparser::ast::ObjectType::Role | sqlparser::ast::ObjectType::User,
                if_exists,
                names,
                ..
            } => cmd(&role::drop(&self.store, session, *if_exists, names)?),
            Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => cmd(&ddl::drop(
                &self.store,
                object_type,
                *if_exists,
                names,
                &mut session.notices,
            )?),
            Statement::AlterTable(at) => cmd(&ddl::alter_table(
                &self.store,
                &at.name,
                at.if_exists,
                &at.operations,
            )?),
            Statement::Comment {
                object_type,
                object_name,
                comment,
                ..
            } => cmd(&ddl::comment(
                &self.store,
                object_type,
                object_name,
                comment.as_deref(),
            )?),
            Statement::CreateView(cv) => cmd(&ddl::create_view(&self.store, ctx, cv)?),
            Statement::RefreshMaterializedView(r) => cmd(&ddl::refresh(&self.store, ctx, &r.name)?),
            Statement::Insert(ins) => cmd(&dml::insert(&self.store, ctx, ins)?),
            Statement::Update(up) => cmd(&dml::update(&self.store, ctx, up)?),
            Statement::Delete(del) => cmd(&dml::delete(&self.store, ctx, del)?),
            Statement::Truncate(t) => {
                let names: Vec<_> = t.table_names.iter().map(|n| n.name.clone()).collect();
                cmd(&dml::truncate(&self.store, ctx, &names)?)
            }
            Statement::StartTransaction { .. } => {
                session.begin_settings_block();
                cmd("BEGIN")
            }
            Statement::Commit { .. } => {
                session.end_settings_block(true);
                cmd("COMMIT")
            }
            Statement::Rollback { .. } => {
                session.end_settings_block(false);
                cmd("ROLLBACK")
            }
            Statement::Set(set) => self.set(session, set),
            Statement::ShowVariable { variable } => {
                let name = variable
                    .iter()
                    .map(|i| i.value.to_lowercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = match name.as_str() {
                    "time zone" => "timezone".to_owned(),
                    "transaction isolation level" => "transaction_isolation".to_owned(),
                    other => other.to_owned(),
                };
                let value = crate::catalog::system::show_setting(&session.settings, &name)
                    .ok_or_else(|| {
                        SqlError::new(
                            SqlState::UndefinedObject,
                            format!("unrecognized configuration parameter \"{name}\""),
                        )
                    })?;
                Ok(StatementResult::Rows(Arc::new(Relation {
                    columns: vec![Column {
                        name: name.clone(),
                        ty: DataType::Text,
                    }],
                    rows: vec![vec![Datum::Text(value)]],
                })))
            }
            Statement::Explain {
                statement, analyze, ..
            } => self.explain(ctx, statement, *analyze),
            other => Err(SqlError::unsupported(format!(
                "the statement {}",
                other
                    .to_string()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))),
        }
    }

    fn set(&self, session: &mut Session, set: &sqlparser::ast::Set) -> SqlResult<StatementResult> {
        use sqlparser::ast::Set as S;
        match set {
            S::SingleAssignment {
                variable,
                values,
                scope,
                ..
            } => {
                let name = variable.to_string().to_lowercase();
                // `search_path` is a list of names: PostgreSQL quotes each
                // element only where needed (`"public"` shows `public`).
                let list = name == "search_path";
                let item = |s: String| match list {
                    true => crate::sql::scalar::quote_ident(&s),
                    false => s,
                };
                let value = values
                    .iter()
                    .map(|v| match v {
                        Expr::Value(v) => match &v.value {
                            sqlparser::ast::Value::SingleQuotedString(s) => item(s.clone()),
                            other => other.to_string(),
                        },
                        Expr::Identifier(id) if id.quote_style.is_some() => item(id.value.clone()),
                        Expr::Identifier(id) if list => item(id.value.to_lowercase()),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let local = matches!(scope, Some(sqlparser::ast::ContextModifier::Local));
                self.set_var(session, &name, value, local)
            }
            S::SetTimeZone { value, local } => {
                let v = match value {
                    Expr::Value(v) => match &v.value {
                        sqlparser::ast::Value::SingleQuotedString(s) => s.clone(),
                        other => other.to_string(),
                    },
                    other => other.to_string(),
                };
                self.set_var(session, "timezone", v, *local)
            }
            S::SetNames { .. } | S::SetNamesDefault {} => {
                Ok(StatementResult::Command("SET".into()))
            }
            S::SetTransaction { .. } => Ok(StatementResult::Command("SET".into())),
            other => Err(SqlError::unsupported(format!("{other}"))),
        }
    }

    /// `SET name = value` (`local`: `SET LOCAL`), checked and normalised
    /// as `set_config` does (see `catalog::system::assign_setting_value`).
    fn set_var(
        &self,
        session: &mut Session,
        name: &str,
        value: String,
        local: bool,
    ) -> SqlResult<StatementResult> {
        if local {
            session.starting_set_local();
        }
        let name = match name {
            "time zone" => "timezone",
            other => other,
        };
        let reset = value.eq_ignore_ascii_case("default")
            || (name == "timezone" && value.eq_ignore_ascii_case("local"));
        let a = crate::catalog::system::assign_setting_value(
            session,
            name,
            (!reset).then_some(value.as_str()),
        )?;
        session.assign_setting(&a.key, a.value, local);
        Ok(StatementResult::Command("SET".into()))
    }

    fn explain(
        &self,
        ctx: &QueryCtx<'_>,
        stmt: &Statement,
        analyze: bool,
    ) -> SqlResult<StatementResult> {
        let Statement::Query(q) = stmt else {
            return Err(SqlError::unsupported("EXPLAIN of anything but a query"));
        };
        let mut lines = if analyze {
            crate::sql::explain::explain_analyze(ctx, q)?
        } else {
            crate::sql::explain::explain_query(ctx, q)?
        };
        if analyze {
            let start = Instant::now();
            let rel = run_query(ctx, q)?;
            lines.push(format!(
                "Execution: {} rows in {:.3} ms",
                rel.rows.len(),
                start.elapsed().as_secs_f64() * 1000.0
            ));
        }
        Ok(StatementResult::Rows(Arc::new(Relation {
            columns: vec![Column {
                name: "QUERY PLAN".into(),
                ty: DataType::Text,
            }],
            rows: lines.into_iter().map(|l| vec![Datum::Text(l)]).collect(),
        })))
    }
}

/// A database in a fresh temporary directory for unit tests: background
/// work off, executor settings `exec` (default when `None`).
#[cfg(test)]
pub(crate) fn temp_db(exec: Option<crate::exec::ExecConfig>) -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        Options {
            background: false,
            ..Options::default()
        },
    )
    .expect("open");
    let db = match exec {
        Some(exec) => db.with_exec(exec),
        None => db,
    };
    (db, dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Clone, Default)]
    struct Captured(Arc<parking_lot::Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `SET` values as PostgreSQL 15 shows them: `search_path` elements
    /// quoted only where needed, a quoted zone name unquoted.
    #[test]
    fn set_values_show_as_postgres_does() {
        let (db, _dir) = super::temp_db(None);
        let mut s = Session::new("t");
        for (set, name, shown) in [
            ("SET search_path = \"public\"", "search_path", "public"),
            (
                "SET search_path = \"Public\", foo",
                "search_path",
                "\"Public\", foo",
            ),
            (
                "SET search_path = public, \"$user\"",
                "search_path",
                "public, \"$user\"",
            ),
            ("SET search_path = 'a, b'", "search_path", "\"a, b\""),
            (
                "SET TimeZone = \"europe/berlin\"",
                "timezone",
                "Europe/Berlin",
            ),
            ("SET TIME ZONE 'utc+8'", "timezone", "UTC+8"),
        ] {
            db.execute(&mut s, set).expect(set);
            assert_eq!(
                s.settings.get(name).map(String::as_str),
                Some(shown),
                "{set}"
            );
        }
        let e = db.execute(&mut s, "SET TimeZone = 'nowhere'").unwrap_err();
        assert_eq!(
            (e.state.code(), e.message.as_str()),
            (
                "22023",
                "invalid value for parameter \"TimeZone\": \"nowhere\""
            )
        );
    }

    #[test]
    fn slow_statements_are_logged_with_their_plan() {
        let (db, _dir) = super::temp_db(None);
        let mut s = Session::new("t");
        db.execute(&mut s, "CREATE TABLE u (k TEXT PRIMARY KEY, vip BOOLEAN)")
            .expect("create");
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            db.execute(&mut s, "SELECT COUNT(*) FROM u WHERE vip")
                .expect("fast query");
            s.settings
                .insert("log_min_duration_statement".into(), "0".into());
            db.execute(&mut s, "SELECT COUNT(*) FROM u WHERE NOT vip")
                .expect("logged query");
        });
        let log = String::from_utf8_lossy(&out.0.lock()).into_owned();
        assert!(log.contains("slow statement"), "{log}");
        assert!(log.contains("NOT vip"), "{log}");
        assert!(log.contains("Bitmap scan on u"), "{log}");
        assert_eq!(
            log.matches("slow statement").count(),
            1,
            "the fast query is not logged: {log}"
        );
    }
}
