//! What `RESET name`, `SET name TO DEFAULT`, `set_config(name, NULL, …)`
//! and `RESET ALL` return a setting to: as in PostgreSQL, the value the
//! session started with (what the client asked for at startup, the
//! server's own choices), else the built-in default. A reset is a
//! session-level change like any `SET`: a transaction block's `ROLLBACK`
//! undoes it, and it outlives an earlier `SET LOCAL` of the block.

use super::{assign, default_value};
use crate::db::Session;
use crate::sql::error::SqlResult;
use std::collections::BTreeMap;

/// Settings `RESET ALL` leaves alone (PostgreSQL's `GUC_NO_RESET_ALL`
/// ones, and those no session can change).
const NOT_RESET_BY_ALL: &[&str] = &[
    "transaction_isolation",
    "transaction_read_only",
    "transaction_deferrable",
    "is_superuser",
    "session_authorization",
    "role",
];

/// The value parameter `name` (any case) resets to, given the settings
/// the session started with: that value, else the default; `None` for a
/// parameter neither has (a custom one resets to the empty string).
pub fn reset_value(startup: &BTreeMap<String, String>, name: &str) -> Option<String> {
    startup
        .get(&name.to_ascii_lowercase())
        .cloned()
        .or_else(|| default_value(name))
}

impl Session {
    /// `RESET name`: the setting returns to its reset value — 42704 for
    /// parameters PostgreSQL does not have, 55P02 for ones a session
    /// cannot change.
    pub fn reset_setting(&mut self, name: &str) -> SqlResult<()> {
        let a = super::assign_setting_value(self, name, None)?;
        self.assign_setting(&a.key, a.value, false);
        Ok(())
    }

    /// `RESET ALL` (and `DISCARD ALL`): every setting the session has
    /// returns to its reset value; custom (`a.b`) ones become empty.
    pub fn reset_all_settings(&mut self) {
        let keys: Vec<String> = self
            .settings
            .keys()
            .chain(self.startup_settings.keys())
            .filter(|k| !NOT_RESET_BY_ALL.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in keys {
            let value = reset_value(&self.startup_settings, &key).unwrap_or_default();
            // Normalised as `SET` would; a parameter no session can change
            // keeps its value.
            let Ok(a) = assign(&key, &value, &|_| None) else {
                continue;
            };
            if self.settings.get(&a.key) != Some(&a.value) {
                self.assign_setting(&a.key, a.value, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup_session() -> Session {
        let mut s = Session::new("t");
        s.settings.insert("application_name".into(), "myapp".into());
        s.settings.insert("statement_timeout".into(), "5s".into());
        s.settings.insert("is_superuser".into(), "off".into());
        s.startup_settings = s.settings.clone();
        s
    }

    fn get(s: &Session, key: &str) -> String {
        s.settings
            .get(key)
            .cloned()
            .unwrap_or_else(|| "<none>".into())
    }

    #[test]
    fn reset_returns_to_the_startup_value() {
        let mut s = startup_session();
        s.assign_setting("application_name", "other".into(), false);
        s.assign_setting("timezone", "Asia/Tokyo".into(), false);
        s.assign_setting("my.x", "v".into(), false);
        s.reset_setting("application_name").unwrap();
        assert_eq!(get(&s, "application_name"), "myapp");
        s.reset_setting("TimeZone").unwrap();
        assert_eq!(get(&s, "timezone"), "UTC");
        s.reset_setting("my.x").unwrap();
        assert_eq!(get(&s, "my.x"), "");
        s.reset_setting("my.never").unwrap();
        assert_eq!(get(&s, "my.never"), "");
        let code = |r: SqlResult<()>| r.err().map(|e| e.state.code());
        assert_eq!(code(s.reset_setting("foo")), Some("42704"));
        assert_eq!(code(s.reset_setting("server_version")), Some("55P02"));
    }

    #[test]
    fn reset_all_keeps_what_sessions_cannot_change() {
        let mut s = startup_session();
        s.assign_setting("statement_timeout", "7s".into(), false);
        s.assign_setting("datestyle", "ISO, DMY".into(), false);
        s.assign_setting("my.x", "v".into(), false);
        s.reset_all_settings();
        assert_eq!(get(&s, "statement_timeout"), "5s");
        assert_eq!(get(&s, "datestyle"), "ISO, MDY");
        assert_eq!(get(&s, "my.x"), "");
        assert_eq!(get(&s, "is_superuser"), "off");
        assert_eq!(get(&s, "application_name"), "myapp");
    }

    #[test]
    fn reset_in_a_block_outlives_set_local_and_rolls_back() {
        let mut s = startup_session();
        s.begin_settings_block();
        s.assign_setting("timezone", "Europe/Paris".into(), true);
        s.reset_setting("timezone").unwrap();
        s.end_settings_block(true);
        assert_eq!(get(&s, "timezone"), "UTC");
        s.assign_setting("my.x", "v".into(), false);
        s.begin_settings_block();
        s.reset_all_settings();
        assert_eq!(get(&s, "my.x"), "");
        s.end_settings_block(false);
        assert_eq!(get(&s, "my.x"), "v");
    }
}
