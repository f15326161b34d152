//! [`SessionCatalog`]: what catalog functions (`obj_description`,
//! `current_setting`, `'users'::regclass`, …) read during one statement —
//! the statement's snapshot, the session user and the session's settings —
//! and the setting changes the statement makes (`set_config`), which
//! [`crate::db::Db`] applies to the session once the statement succeeded.
//! The relation model is built on first use only, so statements that call
//! no catalog function pay for one `Arc` and a copy of the settings.

mod known;
mod reset;
mod savepoint;
mod settings;
mod tx;

use reset::reset_value;
pub use settings::{Assigned, assign, bracketed_offset, setting_millis};
pub use tx::{SettingChange, SettingsTx};

use super::{Model, SystemContext, functions};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::scalar::{CatalogAccess, CatalogHandle, EvalContext, quote_ident};
use crate::storage::Snapshot;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The catalog as one statement of one session sees it.
pub struct SessionCatalog {
    snapshot: Snapshot,
    user: String,
    settings: BTreeMap<String, String>,
    /// The settings the session started with (what `set_config(name,
    /// NULL, …)` returns to).
    startup: BTreeMap<String, String>,
    model: OnceLock<Model>,
    /// `set_config` calls so far, in order (read back by later calls).
    changes: Mutex<Vec<SettingChange>>,
    /// Whether the statement runs for real: a Describe's trial run (`false`)
    /// answers `set_config(NULL, …)` with NULL instead of failing.
    runs: bool,
}

/// The catalog handle for a statement running on `snapshot` for `user`
/// with session settings `settings` (lower-case names), for statements
/// whose `set_config` changes nobody applies (Describe, `COPY … TO`).
pub fn session_catalog(
    snapshot: &Snapshot,
    user: &str,
    settings: &BTreeMap<String, String>,
) -> CatalogHandle {
    CatalogHandle(Arc::new(SessionCatalog::new(
        snapshot,
        user,
        settings,
        BTreeMap::new(),
        false,
    )))
}

/// The catalog of one statement of `session` that runs for real: after it
/// succeeds, [`SessionCatalog::apply_changes`] applies its `set_config`
/// calls to the session.
pub fn statement_catalog(snapshot: &Snapshot, session: &crate::db::Session) -> Arc<SessionCatalog> {
    Arc::new(SessionCatalog::new(
        snapshot,
        &session.user,
        &session.settings,
        session.startup_settings.clone(),
        true,
    ))
}

/// The value `SHOW name` prints for a session whose settings are
/// `settings`: the session's own, else the default (audb's, then
/// PostgreSQL 15's); `None` for parameters PostgreSQL does not have.
pub fn show_setting(settings: &BTreeMap<String, String>, name: &str) -> Option<String> {
    settings
        .get(&name.to_ascii_lowercase())
        .cloned()
        .or_else(|| default_value(name))
}

/// Checks and normalises `SET name = value` in `session` (`value` `None`:
/// `SET name TO DEFAULT`, which returns to the value the session started
/// with, see [`reset_value`]), as `set_config` does: 42704 for parameters
/// PostgreSQL does not have, 55P02 for ones a session cannot change, 22023
/// for bad values.
pub fn assign_setting_value(
    session: &crate::db::Session,
    name: &str,
    value: Option<&str>,
) -> SqlResult<Assigned> {
    let value = match value {
        Some(v) => v.to_owned(),
        None => reset_value(&session.startup_settings, name).unwrap_or_default(),
    };
    assign(name, &value, &|n| session.settings.get(n).cloned())
}

/// The default value of parameter `name` (any case), if PostgreSQL has
/// it: what `RESET` and `current_setting` fall back to.
pub fn default_value(name: &str) -> Option<String> {
    let key = name.to_ascii_lowercase();
    crate::db::Session::new("")
        .settings
        .get(&key)
        .cloned()
        .or_else(|| super::default_setting(name).map(str::to_owned))
        .or_else(|| known::lookup(name).map(|k| k.default.to_owned()))
}

/// The context `session`'s results print in (`format_text`): its time
/// zone, and the catalog of `snapshot`, where object-identifier values
/// (`'users'::regclass`) find the names they print.
pub fn output_context(snapshot: &Snapshot, session: &crate::db::Session) -> EvalContext {
    EvalContext {
        now_micros: 0,
        timezone: session.time_zone(),
        params: Vec::new(),
        catalog: Some(session_catalog(snapshot, &session.user, &session.settings)),
    }
}

impl SessionCatalog {
    fn new(
        snapshot: &Snapshot,
        user: &str,
        settings: &BTreeMap<String, String>,
        startup: BTreeMap<String, String>,
        runs: bool,
    ) -> SessionCatalog {
        SessionCatalog {
            snapshot: snapshot.clone(),
            user: user.to_owned(),
            settings: settings.clone(),
            startup,
            model: OnceLock::new(),
            changes: Mutex::new(Vec::new()),
            runs,
        }
    }

    /// This catalog as an [`EvalContext`]'s handle.
    pub fn handle(self: &Arc<Self>) -> CatalogHandle {
        CatalogHandle(self.clone())
    }

    /// Applies the statement's `set_config` changes to `session` (call
    /// once the statement succeeded; a failed statement's changes are
    /// dropped, as PostgreSQL's transaction abort drops them).
    pub fn apply_changes(&self, session: &mut crate::db::Session) {
        let changes = std::mem::take(&mut *self.changes.lock());
        if !changes.is_empty() {
            session.apply_setting_changes(changes);
        }
    }

    fn model(&self) -> &Model {
        self.model.get_or_init(|| {
            Model::new(
                &self.snapshot,
                &SystemContext {
                    user: self.user.clone(),
                },
            )
        })
    }
}

impl CatalogAccess for SessionCatalog {
    fn setting(&self, name: &str) -> Option<String> {
        let key = name.to_ascii_lowercase();
        let changed = self
            .changes
            .lock()
            .iter()
            .rev()
            .find(|c| c.key == key)
            .map(|c| c.value.clone());
        changed.or_else(|| self.settings.get(&key).cloned())
    }

    fn set_setting(
        &self,
        name: Option<&str>,
        value: Option<&str>,
        local: bool,
    ) -> SqlResult<Option<String>> {
        let Some(name) = name else {
            if !self.runs {
                return Ok(None);
            }
            return Err(SqlError::new(
                SqlState::NullValueNotAllowed,
                "SET requires parameter name",
            ));
        };
        // A NULL value resets the parameter (to its startup value).
        let value = match value {
            Some(v) => v.to_owned(),
            None => reset_value(&self.startup, name).unwrap_or_default(),
        };
        let a = assign(name, &value, &|n| self.setting(n))?;
        self.changes.lock().push(SettingChange {
            key: a.key,
            value: a.value.clone(),
            local,
        });
        Ok(Some(a.value))
    }

    fn user(&self) -> String {
        self.user.clone()
    }

    fn relation_oid(&self, schema: Option<&str>, name: &str) -> Option<i64> {
        if matches!(schema, None | Some("public")) {
            let m = self.model();
            if let Some(r) = m.rels.iter().find(|r| r.name == name) {
                return Some(r.oid);
            }
            if let Some(r) = m
                .rels
                .iter()
                .find(|r| r.key.is_some() && r.key_name() == name)
            {
                return Some(r.key_oid());
            }
            if schema.is_some() {
                return None;
            }
        }
        functions::system_relation_oid(schema, name)
    }

    fn relation_name(&self, oid: i64) -> Option<String> {
        let m = self.model();
        if let Some(r) = m.rels.iter().find(|r| r.oid == oid) {
            return Some(quote_ident(&r.name));
        }
        if let Some(r) = m
            .rels
            .iter()
            .find(|r| r.key.is_some() && r.key_oid() == oid)
        {
            return Some(quote_ident(&r.key_name()));
        }
        functions::system_relation_name(oid)
    }

    fn description(&self, oid: i64, subid: i64) -> Option<String> {
        let r = self.model().rels.iter().find(|r| r.oid == oid)?;
        if subid == 0 {
            return r.comment.clone();
        }
        let idx = usize::try_from(subid.checked_sub(1)?).ok()?;
        r.attrs.get(idx)?.comment.clone()
    }

    fn view_definition(&self, oid: i64) -> Option<String> {
        let r = self.model().rels.iter().find(|r| r.oid == oid)?;
        r.view_sql
            .as_ref()
            .map(|s| format!(" {};", s.trim_end_matches(';')))
    }

    fn constraint_definition(&self, oid: i64) -> Option<String> {
        let r = self
            .model()
            .rels
            .iter()
            .find(|r| r.key.is_some() && r.key_oid() == oid)?;
        Some(format!("PRIMARY KEY ({})", quote_ident(r.key.as_deref()?)))
    }

    fn index_definition(&self, oid: i64, column: i64) -> Option<String> {
        let r = self
            .model()
            .rels
            .iter()
            .find(|r| r.key.is_some() && r.key_oid() == oid)?;
        let key = quote_ident(r.key.as_deref()?);
        match column {
            0 => Some(format!(
                "CREATE UNIQUE INDEX {} ON public.{} USING btree ({key})",
                quote_ident(&r.key_name()),
                quote_ident(&r.name)
            )),
            1 => Some(key),
            _ => Some(String::new()),
        }
    }
}
