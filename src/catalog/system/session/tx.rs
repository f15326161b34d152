//! Settings across a transaction block, as PostgreSQL keeps them: a
//! session-level change (`SET`, `set_config(…, false)`) inside a block
//! is undone by `ROLLBACK`; a local one (`SET LOCAL`,
//! `set_config(…, true)`) lasts until the block ends either way. Outside a
//! block every statement is its own transaction, so a local change lasts
//! for that statement only.

use crate::db::Session;
use crate::sql::error::{SqlError, SqlState};
use std::collections::BTreeMap;

/// One change a statement made through `set_config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingChange {
    /// The lower-case parameter name.
    pub key: String,
    /// The normalised value.
    pub value: String,
    /// Until the end of the transaction only.
    pub local: bool,
}

/// A session's settings while a transaction block is open.
#[derive(Clone, Debug, Default)]
pub struct SettingsTx {
    /// Every setting when the block began (what `ROLLBACK` restores).
    at_begin: BTreeMap<String, String>,
    /// For each setting changed locally: the session-level value it hides
    /// (`None`: it had none), restored when the block ends.
    pub(super) hidden: BTreeMap<String, Option<String>>,
    /// Open savepoints, oldest first (see `savepoint.rs`).
    pub(super) savepoints: Vec<super::savepoint::Savepoint>,
}

impl Session {
    /// A transaction block begins (`BEGIN`); nothing if one is open.
    pub fn begin_settings_block(&mut self) {
        if self.settings_tx.is_none() {
            self.settings_tx = Some(SettingsTx {
                at_begin: self.settings.clone(),
                hidden: BTreeMap::new(),
                savepoints: Vec::new(),
            });
        }
    }

    /// The block ends: `commit` keeps session-level changes, otherwise
    /// (`ROLLBACK`, or `COMMIT` of a failed block) every change made in it
    /// is undone. Local changes end either way.
    pub fn end_settings_block(&mut self, commit: bool) {
        let Some(tx) = self.settings_tx.take() else {
            return;
        };
        if !commit {
            self.settings = tx.at_begin;
            return;
        }
        for (key, value) in tx.hidden {
            match value {
                Some(v) => self.settings.insert(key, v),
                None => self.settings.remove(&key),
            };
        }
    }

    /// A `SET LOCAL` begins (before its value is checked): outside a
    /// transaction block PostgreSQL warns (25P01), and the change will
    /// have no lasting effect.
    pub fn starting_set_local(&mut self) {
        if self.settings_tx.is_none() {
            self.warnings.push(SqlError::new(
                SqlState::NoActiveSqlTransaction,
                "SET LOCAL can only be used in transaction blocks",
            ));
        }
    }

    /// Sets `key` to `value` (already checked and normalised) for the
    /// session, or (`local`) until the end of the transaction block —
    /// outside a block, a local change ends with its statement, so it has
    /// no effect here.
    pub fn assign_setting(&mut self, key: &str, value: String, local: bool) {
        match (&mut self.settings_tx, local) {
            (None, true) => {}
            (None, false) => {
                self.settings.insert(key.to_owned(), value);
            }
            (Some(tx), true) => {
                if !tx.hidden.contains_key(key) {
                    tx.hidden
                        .insert(key.to_owned(), self.settings.get(key).cloned());
                }
                self.settings.insert(key.to_owned(), value);
            }
            (Some(tx), false) => {
                tx.hidden.remove(key);
                self.settings.insert(key.to_owned(), value);
            }
        }
    }

    /// Applies the changes a statement that succeeded made, in order.
    pub fn apply_setting_changes(&mut self, changes: Vec<SettingChange>) {
        for c in changes {
            self.assign_setting(&c.key, c.value, c.local);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(s: &Session) -> &str {
        s.settings
            .get("application_name")
            .map_or("<none>", String::as_str)
    }

    #[test]
    fn local_and_session_changes_in_blocks() {
        let mut s = Session::new("t");
        s.starting_set_local();
        s.assign_setting("application_name", "stmt".into(), true);
        assert_eq!(app(&s), "", "a local change outside a block ends at once");
        assert_eq!(s.warnings.len(), 1, "SET LOCAL outside a block warns");
        assert_eq!(s.warnings[0].state.code(), "25P01");
        s.begin_settings_block();
        s.starting_set_local();
        assert_eq!(s.warnings.len(), 1, "inside a block it does not");
        s.end_settings_block(true);
        s.begin_settings_block();
        s.assign_setting("application_name", "sess".into(), false);
        s.assign_setting("application_name", "loc".into(), true);
        assert_eq!(app(&s), "loc");
        s.end_settings_block(true);
        assert_eq!(app(&s), "sess");
        s.begin_settings_block();
        s.assign_setting("application_name", "loc".into(), true);
        s.assign_setting("application_name", "sess2".into(), false);
        s.end_settings_block(true);
        assert_eq!(app(&s), "sess2");
        s.begin_settings_block();
        s.assign_setting("application_name", "gone".into(), false);
        s.assign_setting("my.custom", "x".into(), true);
        s.end_settings_block(false);
        assert_eq!(app(&s), "sess2");
        assert!(!s.settings.contains_key("my.custom"));
    }
}
