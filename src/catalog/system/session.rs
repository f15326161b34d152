//! [`SessionCatalog`]: what catalog functions (`obj_description`,
//! `current_setting`, `'users'::regclass`, …) read during one statement —
//! the statement's snapshot, the session user and the session's settings.
//! The relation model is built on first use only, so statements that call
//! no catalog function pay for one `Arc` and a copy of the settings.

use super::{Model, SystemContext, functions};
use crate::sql::scalar::{CatalogAccess, CatalogHandle, EvalContext, quote_ident};
use crate::storage::Snapshot;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The catalog as one statement of one session sees it.
pub struct SessionCatalog {
    snapshot: Snapshot,
    user: String,
    settings: BTreeMap<String, String>,
    model: OnceLock<Model>,
}

/// The catalog handle for a statement running on `snapshot` for `user`
/// with session settings `settings` (lower-case names).
pub fn session_catalog(
    snapshot: &Snapshot,
    user: &str,
    settings: &BTreeMap<String, String>,
) -> CatalogHandle {
    CatalogHandle(Arc::new(SessionCatalog {
        snapshot: snapshot.clone(),
        user: user.to_owned(),
        settings: settings.clone(),
        model: OnceLock::new(),
    }))
}

/// The context `session`'s results print in (`format_text`): its time
/// zone, and the catalog of `snapshot`, where object-identifier values
/// (`'users'::regclass`) find the names they print.
pub fn output_context(snapshot: &Snapshot, session: &crate::db::Session) -> EvalContext {
    EvalContext {
        now_micros: 0,
        timezone_offset_secs: session.timezone_offset_secs(),
        params: Vec::new(),
        catalog: Some(session_catalog(snapshot, &session.user, &session.settings)),
    }
}

impl SessionCatalog {
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
        self.settings.get(&name.to_ascii_lowercase()).cloned()
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
