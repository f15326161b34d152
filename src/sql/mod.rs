//! The SQL layer: parsing (sqlparser, PostgreSQL dialect), binding names
//! against the catalog, type checking, planning statements into bitmap
//! predicate trees plus a small relational layer, and SQLSTATE errors.

pub mod aggregates;
pub mod audience;
pub mod ddl;
pub mod decimal;
pub mod dml;
pub mod error;
pub mod explain;
mod join;
pub mod predicate;
pub mod relation;
pub mod scalar;
pub mod select;
pub mod types;

use error::{SqlError, SqlResult};
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// Deepest expression nesting the parser accepts (54001 beyond it).
pub const EXPR_DEPTH_MAX: usize = 200;

/// Parses SQL text into statements (PostgreSQL dialect).
pub fn parse(sql: &str) -> SqlResult<Vec<Statement>> {
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(EXPR_DEPTH_MAX)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| {
            let msg = e.to_string();
            if msg.contains("recursion limit") {
                SqlError::new(
                    error::SqlState::StatementTooComplex,
                    "statement is too deeply nested",
                )
            } else {
                SqlError::syntax(msg.trim_start_matches("sql parser error: ").to_owned())
            }
        })
}

/// Parses one expression (used for internal rewrites).
pub fn parse_expr(sql: &str) -> SqlResult<sqlparser::ast::Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::syntax(e.to_string()))
}
