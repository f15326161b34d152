//! The SQL layer: parsing (sqlparser, PostgreSQL dialect), binding names
//! against the catalog, type checking, planning statements into bitmap
//! predicate trees plus a small relational layer, and SQLSTATE errors.

pub mod aggregates;
pub mod audience;
pub mod ddl;
pub mod decimal;
pub mod dml;
pub mod error;
mod escape_string;
pub mod explain;
mod from_list;
mod join;
mod limit;
mod pg_types;
pub mod predicate;
mod project_set;
mod read_only;
pub mod relation;
pub mod role;
pub mod scalar;
pub mod select;
mod srf;
mod subquery;
mod symmetric;
mod table_func;
pub mod timezone;
pub mod types;

use error::{SqlError, SqlResult};
use sqlparser::ast::{Expr, Statement, Value, Visit, VisitMut, Visitor, VisitorMut};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use std::ops::ControlFlow;

/// Deepest expression nesting the parser accepts (54001 beyond it).
pub const EXPR_DEPTH_MAX: usize = 200;

/// Deepest expression *tree* a statement may hold (54001 beyond it).
///
/// The parser's recursion limit ([`EXPR_DEPTH_MAX`]) does not see flat
/// chains such as `1+1+…+1`, `x::int::int…` or `a OR b OR …`: sqlparser
/// builds them in a loop, as left-deep trees. Every later pass (binding,
/// planning, formatting, even dropping the tree) recurses over them, so a
/// long enough chain would overflow a thread's stack and abort the server.
/// Statements deeper than this are refused right after parsing, like
/// PostgreSQL's `stack depth limit exceeded`. Use `IN (…)` for long lists.
///
/// Measured: a 990-term `1+…+1` overflows a 2 MiB thread stack in a debug
/// build, 800 terms do not; 500 leaves room on every thread (the server's
/// runtime threads get 8 MiB, see `cli::serve`).
pub const EXPR_TREE_DEPTH_MAX: usize = 500;

/// Parses SQL text into statements (PostgreSQL dialect).
pub fn parse(sql: &str) -> SqlResult<Vec<Statement>> {
    // `BETWEEN [A]SYMMETRIC` parses once marked, then expands (sqlparser
    // would read `SYMMETRIC (a)` as a function call, so this comes first).
    if let Some(rewritten) = symmetric::rewrite(sql)
        && let Ok(mut statements) = parse_text(&rewritten)
    {
        symmetric::desugar(&mut statements);
        return Ok(statements);
    }
    // PostgreSQL's `CREATE USER … options` only parses as `CREATE ROLE`.
    parse_text(sql).or_else(|e| match role::rewrite_create_user(sql) {
        Some(rewritten) => parse_text(&rewritten).map_err(|_| e),
        None => Err(e),
    })
}

fn parse_text(sql: &str) -> SqlResult<Vec<Statement>> {
    let statements = parse_unchecked(sql)?;
    if statements.iter().any(|s| too_deep(s, EXPR_TREE_DEPTH_MAX)) {
        dismantle(statements);
        return Err(SqlError::new(
            error::SqlState::StatementTooComplex,
            format!(
                "stack depth limit exceeded: expressions nest more than {EXPR_TREE_DEPTH_MAX} \
                 levels deep (long chains of operators or casts count as nesting; \
                 use IN (…) for long lists)"
            ),
        ));
    }
    Ok(statements)
}

fn parse_unchecked(sql: &str) -> SqlResult<Vec<Statement>> {
    let too_nested = || {
        SqlError::new(
            error::SqlState::StatementTooComplex,
            "stack depth limit exceeded: the statement is too deeply nested",
        )
    };
    let syntax = |e: &ParserError| {
        SqlError::syntax(
            e.to_string()
                .trim_start_matches("sql parser error: ")
                .to_owned(),
        )
    };
    let mut text = std::borrow::Cow::Borrowed(sql);
    // Each round rewrites one escape string sqlparser cannot read.
    for _ in 0..=ESCAPE_STRING_REWRITES_MAX {
        return match parse_with_limit(&text, EXPR_DEPTH_MAX) {
            Ok(statements) => Ok(statements),
            Err(ParserError::RecursionLimitExceeded) => Err(too_nested()),
            Err(ParserError::TokenizerError(msg)) => match escape_string::fix(&text, &msg) {
                Some(escape_string::Fix::Reparse(rewritten)) => {
                    text = std::borrow::Cow::Owned(rewritten);
                    continue;
                }
                Some(escape_string::Fix::Invalid(e)) => Err(e),
                None => Err(syntax(&ParserError::TokenizerError(msg))),
            },
            Err(e) if nesting_hides_behind(&text, &e) => Err(too_nested()),
            Err(e) => Err(syntax(&e)),
        };
    }
    Err(SqlError::new(
        error::SqlState::ProgramLimitExceeded,
        format!(
            "more than {ESCAPE_STRING_REWRITES_MAX} escape strings with bytes above 127 \
             in one statement"
        ),
    ))
}

/// Most escape strings with bytes above 127 (`E'\xc3\xa9'`) in one
/// statement: each costs another parse of the whole text.
const ESCAPE_STRING_REWRITES_MAX: usize = 64;

fn parse_with_limit(sql: &str, limit: usize) -> Result<Vec<Statement>, ParserError> {
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(limit)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
}

/// Whether the syntax error `e` is really the parser's nesting limit.
///
/// sqlparser parses a reserved word such as `NOT` or `CASE` speculatively
/// and, when that fails (also by hitting the recursion limit), backtracks
/// and reads the word as a column name, so 260 nested `NOT`s or `CASE`s
/// end in a syntax error somewhere else instead of the limit. A genuine
/// syntax error stays the same with a deeper limit; one caused by the
/// limit moves or disappears. Only statements that failed to parse pay for
/// the second parse, whose tree is dropped without recursing.
fn nesting_hides_behind(sql: &str, e: &ParserError) -> bool {
    match parse_with_limit(sql, 2 * EXPR_DEPTH_MAX) {
        Ok(statements) => {
            dismantle(statements);
            true
        }
        Err(deeper) => deeper != *e,
    }
}

/// Whether any expression of `statement` nests deeper than `max` levels.
/// Recurses at most `max + 1` levels: it stops at the first too-deep node.
fn too_deep(statement: &Statement, max: usize) -> bool {
    struct Depth {
        depth: usize,
        max: usize,
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.depth += 1;
            if self.depth > self.max {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    }
    Visit::visit(statement, &mut Depth { depth: 0, max }).is_break()
}

/// Moves the expressions one level below the current node out into `out`,
/// leaving NULL literals in their place, so no recursion goes deeper.
struct Detach<'a> {
    depth: usize,
    /// The depth whose expressions are moved out (1 = the outermost).
    at: usize,
    out: &'a mut Vec<Expr>,
}

impl VisitorMut for Detach<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        self.depth += 1;
        if self.depth == self.at {
            self.out
                .push(std::mem::replace(expr, Expr::value(Value::Null)));
        }
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, _: &mut Expr) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
}

/// Drops statements holding arbitrarily deep expression trees without
/// recursing (dropping a 20,000-deep `Box<Expr>` chain recursively would
/// overflow the stack): expressions are taken apart one level at a time.
fn dismantle(mut statements: Vec<Statement>) {
    let mut pending = Vec::new();
    for statement in &mut statements {
        let _ = VisitMut::visit(
            statement,
            &mut Detach {
                depth: 0,
                at: 1,
                out: &mut pending,
            },
        );
    }
    drop(statements);
    while let Some(mut expr) = pending.pop() {
        let _ = VisitMut::visit(
            &mut expr,
            &mut Detach {
                depth: 0,
                at: 2,
                out: &mut pending,
            },
        );
    }
}

/// Parses one expression (used for internal rewrites).
pub fn parse_expr(sql: &str) -> SqlResult<sqlparser::ast::Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::syntax(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_chains_deeper_than_the_limit_are_refused_without_recursing() {
        for sql in [
            format!("SELECT {}", vec!["1"; 50_000].join("+")),
            format!("SELECT 1{}", "::int".repeat(50_000)),
            format!(
                "SELECT * FROM t WHERE {}",
                vec!["a = 1"; 20_000].join(" OR ")
            ),
        ] {
            let err = parse(&sql).expect_err("too deep");
            assert_eq!(err.state, error::SqlState::StatementTooComplex, "{err}");
        }
    }

    #[test]
    fn chains_within_the_limit_parse() {
        let sql = format!("SELECT {}", vec!["1"; EXPR_TREE_DEPTH_MAX - 10].join("+"));
        assert_eq!(parse(&sql).map(|s| s.len()).ok(), Some(1));
    }
}
