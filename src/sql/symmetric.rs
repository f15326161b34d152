//! `BETWEEN SYMMETRIC` and `BETWEEN ASYMMETRIC`, which sqlparser does not
//! read.
//!
//! A statement with `BETWEEN [A]SYMMETRIC` in it is rewritten at the token
//! level before parsing (sqlparser would read `SYMMETRIC (a)` as a function
//! call): `ASYMMETRIC` (the default) is dropped, and
//! `x BETWEEN SYMMETRIC a AND b` becomes `x BETWEEN __audb_symmetric(a) AND
//! b`, which parses. [`desugar`] then turns each marked `BETWEEN` into the
//! expression PostgreSQL's own parser builds for it
//! (`transformAExprBetween`): `(x BETWEEN a AND b OR x BETWEEN b AND a)`,
//! and `(x NOT BETWEEN a AND b AND x NOT BETWEEN b AND a)` for `NOT`, so
//! NULLs and every later stage behave as for the spelled-out form.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Statement,
    visit_expressions_mut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::ops::ControlFlow;

/// The word whose presence makes a statement worth tokenizing (it is
/// also inside `ASYMMETRIC`).
const MARKED_WORD: &[u8] = b"symmetric";

/// The function name marking a symmetric lower bound.
const MARKER: &str = "__audb_symmetric";

/// `sql` with every `BETWEEN SYMMETRIC` marked and every `BETWEEN
/// ASYMMETRIC` made plain, or `None` if it has neither.
pub fn rewrite(sql: &str) -> Option<String> {
    // Most statements: one pass over the bytes, no tokenizing.
    if !sql
        .as_bytes()
        .windows(MARKED_WORD.len())
        .any(|w| w.eq_ignore_ascii_case(MARKED_WORD))
    {
        return None;
    }
    let tokens: Vec<_> = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let keyword = |k: usize| match tokens.get(k).map(|t| &t.token) {
        Some(Token::Word(w)) => Some(w.keyword),
        _ => None,
    };
    let start = |k: usize| {
        let s = &tokens[k].span.start;
        super::role::byte_offset(sql, s.line, s.column)
    };
    let end = |k: usize| {
        let e = &tokens[k].span.end;
        super::role::byte_offset(sql, e.line, e.column)
    };
    // (from, to, replacement) byte ranges.
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    for k in 0..tokens.len() {
        if keyword(k) != Some(Keyword::BETWEEN) {
            continue;
        }
        match keyword(k + 1) {
            Some(Keyword::ASYMMETRIC) => edits.push((start(k + 1)?, end(k + 1)?, "")),
            Some(Keyword::SYMMETRIC) => {
                let Some(and) = bound_end(&tokens, k + 2) else {
                    continue;
                };
                edits.push((start(k + 1)?, end(k + 1)?, "__audb_symmetric("));
                let at = start(and)?;
                edits.push((at, at, ") "));
            }
            _ => {}
        }
    }
    if edits.is_empty() {
        return None;
    }
    // A bound may hold another `BETWEEN SYMMETRIC`: apply from the end.
    edits.sort_by_key(|&(from, _, _)| from);
    let mut out = sql.to_owned();
    for (from, to, with) in edits.into_iter().rev() {
        out.replace_range(from..to, with);
    }
    Some(out)
}

/// The `AND` that ends a `BETWEEN`'s lower bound starting at token
/// `from`: the first one outside parentheses, brackets and `CASE … END`.
fn bound_end(tokens: &[sqlparser::tokenizer::TokenWithSpan], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate().skip(from) {
        match &t.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.checked_sub(1)?,
            Token::SemiColon => return None,
            Token::Word(w) => match w.keyword {
                Keyword::CASE => depth += 1,
                Keyword::END => depth = depth.checked_sub(1)?,
                Keyword::AND if depth == 0 => return Some(k),
                _ => {}
            },
            _ => {}
        }
    }
    None
}

/// Replaces every marked `BETWEEN` of `statements` with PostgreSQL's
/// expansion of `BETWEEN SYMMETRIC`.
pub fn desugar(statements: &mut Vec<Statement>) {
    let _ = visit_expressions_mut(statements, |e| {
        if let Expr::Between {
            expr,
            negated,
            low,
            high,
        } = e
            && let Some(low) = marked(low)
        {
            let between = |low: &Expr, high: &Expr| Expr::Between {
                expr: expr.clone(),
                negated: *negated,
                low: Box::new(low.clone()),
                high: Box::new(high.clone()),
            };
            let op = if *negated {
                BinaryOperator::And
            } else {
                BinaryOperator::Or
            };
            *e = Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(between(&low, high)),
                op,
                right: Box::new(between(high, &low)),
            }));
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The argument of a `__audb_symmetric(a)` marker.
fn marked(e: &Expr) -> Option<Expr> {
    let Expr::Function(f) = e else {
        return None;
    };
    if f.name.to_string() != MARKER {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(a))] => Some(a.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(sql: &str) -> String {
        crate::sql::parse(sql).unwrap()[0].to_string()
    }

    #[test]
    fn symmetric_expands_like_postgresql() {
        assert_eq!(
            expand("SELECT x BETWEEN SYMMETRIC 10 AND 1"),
            "SELECT (x BETWEEN 10 AND 1 OR x BETWEEN 1 AND 10)"
        );
        assert_eq!(
            expand("SELECT x NOT BETWEEN symmetric (1 + 2) AND CASE WHEN a AND b THEN 1 END"),
            "SELECT (x NOT BETWEEN (1 + 2) AND CASE WHEN a AND b THEN 1 END \
             AND x NOT BETWEEN CASE WHEN a AND b THEN 1 END AND (1 + 2))"
        );
        assert_eq!(
            expand("SELECT x BETWEEN SYMMETRIC (y BETWEEN SYMMETRIC 2 AND 1) AND z"),
            "SELECT (x BETWEEN ((y BETWEEN 2 AND 1 OR y BETWEEN 1 AND 2)) AND z \
             OR x BETWEEN z AND ((y BETWEEN 2 AND 1 OR y BETWEEN 1 AND 2)))"
        );
        assert_eq!(
            expand("SELECT x BETWEEN ASYMMETRIC 1 AND 2"),
            "SELECT x BETWEEN 1 AND 2"
        );
    }

    #[test]
    fn only_between_symmetric_is_rewritten() {
        assert_eq!(rewrite("SELECT symmetric FROM t"), None);
        assert!(crate::sql::parse("SELECT x BETWEEN SYMMETRIC 1").is_err());
    }
}
