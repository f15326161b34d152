//! `LIKE` and `ILIKE` on a categorical column: the pattern is matched
//! against the column's value dictionary once, and the predicate becomes a
//! union of value bitmaps.

use super::{ColRef, PredContext, column_ref, is_constant, unsupported};
use crate::exec::filter::Pred;
use crate::index::ColumnType;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::Datum;
use sqlparser::ast::Expr;

/// Matches `text` against a SQL LIKE pattern (`%`, `_`, escape character).
pub fn like_match(text: &str, pattern: &str, escape: Option<char>, fold_case: bool) -> bool {
    let t: Vec<char> = if fold_case {
        text.to_lowercase().chars().collect()
    } else {
        text.chars().collect()
    };
    let p: Vec<char> = if fold_case {
        pattern.to_lowercase().chars().collect()
    } else {
        pattern.chars().collect()
    };
    // Iterative matcher with backtracking on the last `%`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            let c = p[pi];
            if Some(c) == escape && pi + 1 < p.len() {
                if p[pi + 1] == t[ti] {
                    ti += 1;
                    pi += 2;
                    continue;
                }
            } else if c == '%' {
                star = Some((pi, ti));
                pi += 1;
                continue;
            } else if c == '_' || c == t[ti] {
                ti += 1;
                pi += 1;
                continue;
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

pub(super) fn like(
    ctx: &dyn PredContext,
    e: &Expr,
    expr: &Expr,
    pattern: &Expr,
    escape: Option<&Expr>,
    fold_case: bool,
) -> SqlResult<Pred> {
    let Some(ColRef::Tag(c)) = column_ref(ctx, expr)? else {
        return Err(unsupported(e));
    };
    if c.ty != ColumnType::Text || !is_constant(ctx, pattern) {
        return Err(unsupported(e));
    }
    let pattern = match ctx.eval_const(pattern)?.0 {
        Datum::Null => return Ok(Pred::Const(None)),
        Datum::Text(s) => s,
        _ => return Err(SqlError::mismatch("LIKE pattern must be text")),
    };
    let escape = match escape {
        None => Some('\\'),
        Some(x) => match ctx.eval_const(x)?.0 {
            Datum::Text(s) if s.is_empty() => None,
            Datum::Text(s) if s.chars().count() == 1 => s.chars().next(),
            _ => {
                return Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    "invalid escape string",
                ));
            }
        },
    };
    let values = ctx.table().values(c.id)?;
    let keep = values
        .iter()
        .filter(|v| like_match(v, &pattern, escape, fold_case))
        .cloned()
        .collect();
    Ok(Pred::AnyValue {
        col: c.id,
        values: keep,
    })
}

#[cfg(test)]
mod tests {
    use super::like_match;

    #[test]
    fn like_patterns() {
        assert!(like_match("Shanghai", "Shang%", Some('\\'), false));
        assert!(like_match("Shanghai", "%hai", Some('\\'), false));
        assert!(like_match("Shanghai", "S_anghai", Some('\\'), false));
        assert!(!like_match("Shanghai", "shang%", Some('\\'), false));
        assert!(like_match("Shanghai", "shang%", Some('\\'), true));
        assert!(like_match("50%", "50\\%", Some('\\'), false));
        assert!(!like_match("500", "50\\%", Some('\\'), false));
        assert!(like_match("", "%", Some('\\'), false));
        assert!(like_match("abcbd", "%b%d", None, false));
        assert!(!like_match("abc", "", None, false));
    }
}
