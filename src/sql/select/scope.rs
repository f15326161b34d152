//! Names over an in-memory relation ([`RelScope`]): each column has a name
//! and may have a qualifier (its table name or alias).
//!
//! Two kinds of reference no SQL text can spell live here too:
//! - a reference by position ([`positional_ref`]): `*` expands to these
//!   when two columns share a qualified name (`SELECT * FROM (SELECT 1, 2)
//!   t` has `?column?` twice), so each binds to its own column;
//! - a column hidden from unqualified names and from `*` ([`hidden_qual`]):
//!   the inputs' copies of a `JOIN … USING` column, which only `t.col` and
//!   `t.*` reach, as in PostgreSQL.
//!
//! Both are marked by a control character at the start of the qualifier,
//! which the wire protocol cannot carry inside a query.

use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::relation::Column;
use crate::sql::scalar::Scope;
use crate::sql::types::DataType;
use sqlparser::ast::{Expr, Ident};

/// Starts the qualifier of a reference by position.
const POSITIONAL: char = '\0';

/// Starts the qualifier of a hidden column (followed by its real one).
const HIDDEN: char = '\u{1}';

/// A reference to column `index` (named `name`) of the relation a select
/// list or condition is bound over.
pub(crate) fn positional_ref(index: usize, name: &str) -> Expr {
    Expr::CompoundIdentifier(vec![
        Ident::with_quote('"', format!("{POSITIONAL}{index}")),
        Ident::with_quote('"', name.to_owned()),
    ])
}

/// The qualifier of a column that only `qualifier.name` (and
/// `qualifier.*`) reaches; `None` reaches it by no name.
pub(crate) fn hidden_qual(qualifier: Option<&str>) -> Option<String> {
    Some(format!("{HIDDEN}{}", qualifier.unwrap_or("")))
}

/// A column's qualifier as names see it, and whether it is hidden.
pub(crate) fn qual_of(q: Option<&str>) -> (Option<&str>, bool) {
    match q.and_then(|q| q.strip_prefix(HIDDEN)) {
        Some("") => (None, true),
        Some(real) => (Some(real), true),
        None => (q, false),
    }
}

/// Column references of a relation; each column may carry a qualifier
/// (its table name or alias).
pub struct RelScope<'a> {
    /// The relation's columns.
    pub columns: &'a [Column],
    /// The qualifier of each column (parallel to `columns`; missing = none).
    pub quals: &'a [Option<String>],
}

impl RelScope<'_> {
    /// The column a [`positional_ref`] qualifier points at, if `qualifier`
    /// is one.
    fn positional(&self, qualifier: &str, name: &str) -> Option<(usize, DataType)> {
        let index: usize = qualifier.strip_prefix(POSITIONAL)?.parse().ok()?;
        let c = self.columns.get(index).filter(|c| c.name == name)?;
        Some((index, c.ty))
    }

    /// Column `i`'s qualifier as names see it, and whether it is hidden.
    pub(crate) fn qual(&self, i: usize) -> (Option<&str>, bool) {
        qual_of(self.quals.get(i).and_then(|q| q.as_deref()))
    }

    /// Whether some column has the qualifier `q`.
    pub(crate) fn has_qualifier(&self, q: &str) -> bool {
        (0..self.quals.len()).any(|i| self.qual(i).0 == Some(q))
    }
}

impl Scope for RelScope<'_> {
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)> {
        if let Some(hit) = qualifier.and_then(|q| self.positional(q, name)) {
            return Ok(hit);
        }
        if let Some(q) = qualifier
            && !self.has_qualifier(q)
        {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("missing FROM-clause entry for table \"{q}\""),
            ));
        }
        let mut found = None;
        for (i, c) in self.columns.iter().enumerate() {
            let (qual, hidden) = self.qual(i);
            let reached = match qualifier {
                None => !hidden,
                Some(_) => qualifier == qual,
            };
            if c.name == name && reached {
                if found.is_some() {
                    return Err(SqlError::new(
                        SqlState::AmbiguousColumn,
                        format!("column reference \"{name}\" is ambiguous"),
                    ));
                }
                found = Some((i, c.ty));
            }
        }
        found.ok_or_else(|| match qualifier {
            Some(q) => SqlError::new(
                SqlState::UndefinedColumn,
                format!("column {q}.{name} does not exist"),
            ),
            None => SqlError::new(
                SqlState::UndefinedColumn,
                format!("column \"{name}\" does not exist"),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            ty: DataType::Int4,
        }
    }

    #[test]
    fn positional_refs_tell_same_named_columns_apart() {
        let columns = [col("?column?"), col("?column?")];
        let quals = [Some("t".to_owned()), Some("t".to_owned())];
        let scope = RelScope {
            columns: &columns,
            quals: &quals,
        };
        let err = scope.resolve(Some("t"), "?column?").unwrap_err();
        assert_eq!(err.state, SqlState::AmbiguousColumn);
        let Expr::CompoundIdentifier(parts) = positional_ref(1, "?column?") else {
            panic!("positional_ref is a compound identifier");
        };
        let hit = scope
            .resolve(Some(&parts[0].value), &parts[1].value)
            .unwrap();
        assert_eq!(hit, (1, DataType::Int4));
        // A stale name (the column was renamed) is not silently another one.
        let err = scope.resolve(Some(&parts[0].value), "other").unwrap_err();
        assert_eq!(err.state, SqlState::UndefinedTable);
    }

    #[test]
    fn hidden_columns_answer_only_to_their_qualifier() {
        let columns = [col("x"), col("x"), col("y"), col("x")];
        let quals = [
            None,
            hidden_qual(Some("a")),
            Some("a".to_owned()),
            hidden_qual(Some("b")),
        ];
        let scope = RelScope {
            columns: &columns,
            quals: &quals,
        };
        assert_eq!(scope.resolve(None, "x").unwrap().0, 0);
        assert_eq!(scope.resolve(Some("a"), "x").unwrap().0, 1);
        assert_eq!(scope.resolve(Some("b"), "x").unwrap().0, 3);
        assert_eq!(scope.resolve(Some("a"), "y").unwrap().0, 2);
        assert!(scope.has_qualifier("b"));
        assert_eq!(scope.qual(3), (Some("b"), true));
        assert_eq!(qual_of(hidden_qual(None).as_deref()), (None, true));
        let err = scope.resolve(Some("c"), "x").unwrap_err();
        assert_eq!(err.state, SqlState::UndefinedTable);
    }
}
