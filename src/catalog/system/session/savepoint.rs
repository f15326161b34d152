//! Savepoints and settings, as PostgreSQL keeps them: `ROLLBACK TO
//! SAVEPOINT s` undoes every setting change (`SET`, `SET LOCAL`,
//! `set_config`) made since `s` and keeps `s` open; `RELEASE SAVEPOINT s`
//! keeps the changes and closes `s` and every savepoint after it. Names
//! may repeat: each statement finds the most recent savepoint of its name.

use crate::db::Session;
use std::collections::BTreeMap;

/// One open savepoint: its name and the settings when it was made.
#[derive(Clone, Debug)]
pub struct Savepoint {
    /// The savepoint's name (an identifier, already case-folded).
    name: String,
    /// Every setting at the savepoint.
    settings: BTreeMap<String, String>,
    /// The block's hidden session-level values at the savepoint.
    hidden: BTreeMap<String, Option<String>>,
}

/// Why a savepoint statement failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavepointError {
    /// No transaction block is open (25P01 `SAVEPOINT can only be used in
    /// transaction blocks`).
    NoBlock,
    /// No open savepoint has this name (3B001 `savepoint "s" does not
    /// exist`).
    Missing(String),
}

impl SavepointError {
    /// PostgreSQL's SQLSTATE and message for statement `what`
    /// (`SAVEPOINT`, `RELEASE SAVEPOINT`, `ROLLBACK TO SAVEPOINT`).
    pub fn sqlstate_and_message(&self, what: &str) -> (&'static str, String) {
        match self {
            SavepointError::NoBlock => (
                "25P01",
                format!("{what} can only be used in transaction blocks"),
            ),
            SavepointError::Missing(name) => {
                ("3B001", format!("savepoint \"{name}\" does not exist"))
            }
        }
    }
}

impl Session {
    /// `SAVEPOINT name`: remembers the settings as they are now.
    pub fn savepoint(&mut self, name: &str) -> Result<(), SavepointError> {
        let settings = self.settings.clone();
        let tx = self.settings_tx.as_mut().ok_or(SavepointError::NoBlock)?;
        let hidden = tx.hidden.clone();
        tx.savepoints.push(Savepoint {
            name: name.to_owned(),
            settings,
            hidden,
        });
        Ok(())
    }

    /// `RELEASE SAVEPOINT name`: closes the most recent savepoint `name`
    /// and every later one; the settings stay as they are.
    pub fn release_savepoint(&mut self, name: &str) -> Result<(), SavepointError> {
        let tx = self.settings_tx.as_mut().ok_or(SavepointError::NoBlock)?;
        let at = find(&tx.savepoints, name)?;
        tx.savepoints.truncate(at);
        Ok(())
    }

    /// `ROLLBACK TO SAVEPOINT name`: the settings return to what they were
    /// at the most recent savepoint `name`, which stays open; later
    /// savepoints close.
    pub fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), SavepointError> {
        let tx = self.settings_tx.as_mut().ok_or(SavepointError::NoBlock)?;
        let at = find(&tx.savepoints, name)?;
        tx.savepoints.truncate(at + 1);
        let Some(sp) = tx.savepoints.last() else {
            return Err(SavepointError::Missing(name.to_owned()));
        };
        tx.hidden = sp.hidden.clone();
        self.settings = sp.settings.clone();
        Ok(())
    }
}

/// The index of the most recent savepoint `name`.
fn find(savepoints: &[Savepoint], name: &str) -> Result<usize, SavepointError> {
    savepoints
        .iter()
        .rposition(|s| s.name == name)
        .ok_or_else(|| SavepointError::Missing(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(s: &Session, key: &str) -> String {
        s.settings.get(key).cloned().unwrap_or_default()
    }

    #[test]
    fn rollback_to_undoes_and_release_keeps() {
        let mut s = Session::new("t");
        assert_eq!(s.savepoint("a"), Err(SavepointError::NoBlock));
        s.begin_settings_block();
        s.assign_setting("statement_timeout", "1s".into(), false);
        s.savepoint("a").unwrap();
        s.assign_setting("statement_timeout", "2s".into(), false);
        s.assign_setting("application_name", "loc".into(), true);
        s.rollback_to_savepoint("a").unwrap();
        assert_eq!(get(&s, "statement_timeout"), "1s");
        assert_eq!(get(&s, "application_name"), "");
        s.assign_setting("statement_timeout", "5s".into(), false);
        s.savepoint("b").unwrap();
        s.assign_setting("statement_timeout", "6s".into(), false);
        s.release_savepoint("b").unwrap();
        assert_eq!(get(&s, "statement_timeout"), "6s");
        s.rollback_to_savepoint("a").unwrap();
        assert_eq!(get(&s, "statement_timeout"), "1s");
        assert_eq!(
            s.rollback_to_savepoint("b"),
            Err(SavepointError::Missing("b".into()))
        );
        s.end_settings_block(true);
        assert_eq!(get(&s, "statement_timeout"), "1s");
    }

    #[test]
    fn repeated_names_find_the_latest() {
        let mut s = Session::new("t");
        s.begin_settings_block();
        s.savepoint("a").unwrap();
        s.assign_setting("my.e", "1".into(), false);
        s.savepoint("a").unwrap();
        s.assign_setting("my.e", "2".into(), false);
        s.rollback_to_savepoint("a").unwrap();
        assert_eq!(get(&s, "my.e"), "1");
        s.release_savepoint("a").unwrap();
        s.rollback_to_savepoint("a").unwrap();
        assert_eq!(get(&s, "my.e"), "");
        s.release_savepoint("a").unwrap();
        assert_eq!(
            s.release_savepoint("a"),
            Err(SavepointError::Missing("a".into()))
        );
    }

    #[test]
    fn local_changes_across_savepoints() {
        // SET LOCAL, then a session SET in a released savepoint: the SET wins.
        let mut s = Session::new("t");
        s.assign_setting("my.a", "orig".into(), false);
        s.begin_settings_block();
        s.assign_setting("my.a", "1".into(), true);
        s.savepoint("a").unwrap();
        s.assign_setting("my.a", "2".into(), false);
        s.release_savepoint("a").unwrap();
        s.end_settings_block(true);
        assert_eq!(get(&s, "my.a"), "2");
        // SET, then SET LOCAL in a released savepoint: the SET comes back.
        s.assign_setting("my.a", "orig".into(), false);
        s.begin_settings_block();
        s.assign_setting("my.a", "1".into(), false);
        s.savepoint("a").unwrap();
        s.assign_setting("my.a", "2".into(), true);
        s.release_savepoint("a").unwrap();
        assert_eq!(get(&s, "my.a"), "2");
        s.end_settings_block(true);
        assert_eq!(get(&s, "my.a"), "1");
        // A local change rolled back to before it: the block's end keeps
        // the session value.
        s.begin_settings_block();
        s.savepoint("a").unwrap();
        s.assign_setting("my.a", "loc".into(), true);
        s.rollback_to_savepoint("a").unwrap();
        s.assign_setting("my.a", "sess".into(), false);
        s.end_settings_block(true);
        assert_eq!(get(&s, "my.a"), "sess");
    }
}
