//! A parenthesised query with clauses of its own: `(SELECT …) ORDER BY …
//! LIMIT …`. PostgreSQL's grammar attaches the outer `WITH`, `ORDER BY`,
//! `OFFSET` and `LIMIT` to the query inside the parentheses (its
//! `insertSelectOptions`), so `(SELECT 1 AS x) ORDER BY x + 1` is the
//! same query as `SELECT 1 AS x ORDER BY x + 1` (42703: an output name is
//! not an input column), and a clause given twice is 42601.

use crate::sql::error::{SqlError, SqlResult};
use sqlparser::ast::{LimitClause, Query, SetExpr};

/// `q` with its parenthesised body's clauses merged in, or `None` when
/// `q` is not a parenthesised query with clauses outside the parentheses.
pub(super) fn merge(q: &Query) -> SqlResult<Option<Query>> {
    let SetExpr::Query(inner) = q.body.as_ref() else {
        return Ok(None);
    };
    if q.with.is_none()
        && q.order_by.is_none()
        && q.limit_clause.is_none()
        && q.fetch.is_none()
        && q.locks.is_empty()
    {
        return Ok(None);
    }
    let mut merged = (**inner).clone();
    if let Some(order_by) = &q.order_by {
        if merged.order_by.is_some() {
            return Err(SqlError::syntax("multiple ORDER BY clauses not allowed"));
        }
        merged.order_by = Some(order_by.clone());
    }
    merged.locks.extend(q.locks.iter().cloned());
    merged.limit_clause = merge_limit(q.limit_clause.as_ref(), merged.limit_clause.take())?;
    if let Some(fetch) = &q.fetch {
        if merged.fetch.is_some() {
            return Err(SqlError::syntax("multiple LIMIT clauses not allowed"));
        }
        merged.fetch = Some(fetch.clone());
    }
    if let Some(with) = &q.with {
        if merged.with.is_some() {
            return Err(SqlError::syntax("multiple WITH clauses not allowed"));
        }
        merged.with = Some(with.clone());
    }
    Ok(Some(merged))
}

/// The inner query's `LIMIT`/`OFFSET` with the outer one's added (42601
/// when both give the same one, OFFSET checked first as PostgreSQL does).
fn merge_limit(
    outer: Option<&LimitClause>,
    inner: Option<LimitClause>,
) -> SqlResult<Option<LimitClause>> {
    let (Some(outer), Some(inner)) = (outer, inner.as_ref()) else {
        return Ok(inner.or_else(|| outer.cloned()));
    };
    match (outer, inner) {
        (
            LimitClause::LimitOffset {
                limit: l1,
                offset: o1,
                limit_by: b1,
            },
            LimitClause::LimitOffset {
                limit: l2,
                offset: o2,
                limit_by: b2,
            },
        ) if b1.is_empty() && b2.is_empty() => {
            if o1.is_some() && o2.is_some() {
                return Err(SqlError::syntax("multiple OFFSET clauses not allowed"));
            }
            if l1.is_some() && l2.is_some() {
                return Err(SqlError::syntax("multiple LIMIT clauses not allowed"));
            }
            Ok(Some(LimitClause::LimitOffset {
                limit: l1.clone().or_else(|| l2.clone()),
                offset: o1.clone().or_else(|| o2.clone()),
                limit_by: Vec::new(),
            }))
        }
        _ => Err(SqlError::unsupported("this LIMIT form")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::Statement;

    fn query(sql: &str) -> Query {
        match crate::sql::parse(sql).unwrap().remove(0) {
            Statement::Query(q) => *q,
            other => panic!("not a query: {other}"),
        }
    }

    #[test]
    fn outer_clauses_move_into_the_parentheses() {
        let m = merge(&query("(SELECT 1 AS x LIMIT 2) ORDER BY x OFFSET 1"))
            .unwrap()
            .unwrap();
        assert_eq!(m.to_string(), "SELECT 1 AS x ORDER BY x LIMIT 2 OFFSET 1");
        let m = merge(&query("((SELECT 1)) LIMIT 1")).unwrap().unwrap();
        assert_eq!(m.to_string(), "(SELECT 1) LIMIT 1");
        assert!(merge(&query("(SELECT 1)")).unwrap().is_none());
        assert!(merge(&query("SELECT 1 ORDER BY 1")).unwrap().is_none());
    }

    #[test]
    fn a_clause_given_twice_is_a_syntax_error() {
        for (sql, msg) in [
            ("(SELECT 1 ORDER BY 1) ORDER BY 1", "multiple ORDER BY"),
            ("(SELECT 1 LIMIT 1) LIMIT 1", "multiple LIMIT"),
            ("(SELECT 1 OFFSET 1) OFFSET 1", "multiple OFFSET"),
            (
                "WITH a AS (SELECT 1) (WITH b AS (SELECT 2) SELECT 3)",
                "multiple WITH",
            ),
        ] {
            let e = merge(&query(sql)).unwrap_err();
            assert_eq!(e.state, crate::sql::error::SqlState::SyntaxError, "{sql}");
            assert!(e.message.starts_with(msg), "{sql}: {}", e.message);
        }
    }
}
