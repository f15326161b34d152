//! Row values (PostgreSQL's anonymous `record`): the `ROW(a, b, …)` / `(a,
//! b, …)` constructor, field selection `(expr).field`, `IS [NOT] NULL` on
//! rows, text output like `(1,"a b",)` and the row sort order.
//!
//! A record's shape (field names and types) is a
//! [`RecordType`](crate::sql::types::RecordType) in its [`DataType`]; its
//! value is a [`Datum::Record`] with one value per field.

use super::bind::{Binder, fold_ident};
use super::coerce::resolve_unknown;
use super::format::{compare_datums, format_text};
use super::{BinaryOp, EvalContext, ScalarExpr};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum, RecordField, RecordType};
use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectNamePart,
};
use std::cmp::Ordering;

/// PostgreSQL's `record_out`: `(f1,f2,…)`, a NULL field empty, a field
/// double-quoted when empty or holding `"`, `\`, `(`, `)`, `,` or white
/// space (with `"` and `\` doubled inside the quotes).
pub(crate) fn format_record(fields: &[Datum], ty: DataType, ctx: &EvalContext) -> String {
    let types = match ty {
        DataType::Record(rt) => rt.fields(),
        _ => std::sync::Arc::from(Vec::new()),
    };
    let mut out = String::from("(");
    for (i, d) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let fty = types.get(i).map_or(DataType::Text, |f| f.ty);
        let Some(text) = format_text(d, fty, ctx) else {
            continue;
        };
        let quote = text.is_empty()
            || text.chars().any(|c| {
                matches!(
                    c,
                    '"' | '\\' | '(' | ')' | ',' | ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'
                )
            });
        if !quote {
            out.push_str(&text);
            continue;
        }
        out.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push(')');
    out
}

/// PostgreSQL's `record_cmp`: field by field, a NULL field after any
/// value, then by the number of fields.
pub(crate) fn compare_records(x: &[Datum], y: &[Datum]) -> Ordering {
    for (a, b) in x.iter().zip(y) {
        let o = compare_datums(a, b);
        if o != Ordering::Equal {
            return o;
        }
    }
    x.len().cmp(&y.len())
}

/// `row IS [NOT] NULL`: a row is NULL when every field is NULL, and NOT
/// NULL when no field is (so `ROW(1, NULL)` is neither).
pub(crate) fn is_null(d: &Datum, negated: bool) -> bool {
    match d {
        Datum::Null => !negated,
        Datum::Record(fields) if negated => fields.iter().all(|f| !f.is_null()),
        Datum::Record(fields) => fields.iter().all(Datum::is_null),
        _ => d.is_null() != negated,
    }
}

/// Field `index` of a row value (NULL for a NULL row).
pub(crate) fn field(d: Datum, index: usize) -> Datum {
    match d {
        Datum::Record(mut fields) if index < fields.len() => fields.swap_remove(index),
        _ => Datum::Null,
    }
}

/// The fields of `ROW(a, b, …)` (the keyword, unquoted, with plain
/// arguments), `None` for any other call.
pub(crate) fn row_call(f: &Function) -> Option<Vec<Expr>> {
    let [ObjectNamePart::Identifier(id)] = f.name.0.as_slice() else {
        return None;
    };
    if id.quote_style.is_some()
        || !id.value.eq_ignore_ascii_case("row")
        || f.over.is_some()
        || f.filter.is_some()
    {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// The fields of a row constructor, `(a, b, …)` or `ROW(…)`.
fn row_items(e: &Expr) -> Option<Vec<Expr>> {
    match e {
        Expr::Tuple(items) => Some(items.clone()),
        Expr::Function(f) => row_call(f),
        Expr::Nested(inner) => row_items(inner),
        _ => None,
    }
}

/// `ROW(…) op ROW(…)` with a comparison operator: the operator and both
/// sides' fields.
pub(crate) fn row_comparison_operands(
    l: &Expr,
    op: &BinaryOperator,
    r: &Expr,
) -> Option<(BinaryOp, Vec<Expr>, Vec<Expr>)> {
    let op = match op {
        BinaryOperator::Eq => BinaryOp::Eq,
        BinaryOperator::NotEq => BinaryOp::NotEq,
        BinaryOperator::Lt => BinaryOp::Lt,
        BinaryOperator::LtEq => BinaryOp::LtEq,
        BinaryOperator::Gt => BinaryOp::Gt,
        BinaryOperator::GtEq => BinaryOp::GtEq,
        _ => return None,
    };
    Some((op, row_items(l)?, row_items(r)?))
}

impl Binder<'_> {
    /// `ROW(a1, a2, …) op ROW(b1, b2, …)` as PostgreSQL expands it: `=` is
    /// every pair equal, `<>` some pair different, and the ordering
    /// operators compare pairwise up to the first unequal pair (a NULL
    /// there makes the result NULL).
    pub(crate) fn row_comparison(
        &mut self,
        op: BinaryOp,
        l: &[Expr],
        r: &[Expr],
    ) -> SqlResult<ScalarExpr> {
        if l.len() != r.len() {
            return Err(SqlError::syntax(
                "unequal number of entries in row expressions",
            ));
        }
        if l.is_empty() {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                "cannot compare rows of zero length",
            ));
        }
        let mut pairs = Vec::with_capacity(l.len());
        for (a, b) in l.iter().zip(r) {
            pairs.push((self.expr(a)?, self.expr(b)?));
        }
        let mut combine = |op: BinaryOp, a: ScalarExpr, b: ScalarExpr| self.binary(op, a, b);
        if matches!(op, BinaryOp::Eq | BinaryOp::NotEq) {
            let join = if op == BinaryOp::Eq {
                BinaryOp::And
            } else {
                BinaryOp::Or
            };
            let mut acc: Option<ScalarExpr> = None;
            for (a, b) in pairs {
                let c = combine(op, a, b)?;
                acc = Some(match acc {
                    None => c,
                    Some(x) => combine(join, x, c)?,
                });
            }
            return acc.ok_or_else(|| SqlError::internal("empty row comparison"));
        }
        // a1 < b1 OR (a1 = b1 AND (a2 < b2 OR (… an <= bn))), built from
        // the last pair outward; only the last pair uses <= / >=.
        let strict = match op {
            BinaryOp::LtEq => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::Gt,
            other => other,
        };
        let mut pairs = pairs.into_iter().rev();
        let (a, b) = pairs
            .next()
            .ok_or_else(|| SqlError::internal("empty row comparison"))?;
        let mut acc = combine(op, a, b)?;
        for (a, b) in pairs {
            let less = combine(strict, a.clone(), b.clone())?;
            let eq = combine(BinaryOp::Eq, a, b)?;
            let rest = combine(BinaryOp::And, eq, acc)?;
            acc = combine(BinaryOp::Or, less, rest)?;
        }
        Ok(acc)
    }

    /// `ROW(a, b, …)` / `(a, b, …)`: fields named `f1`, `f2`, …; untyped
    /// literals become `text`.
    pub(crate) fn row_constructor(&mut self, items: &[Expr]) -> SqlResult<ScalarExpr> {
        let mut fields = Vec::with_capacity(items.len());
        let mut shape = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let e = resolve_unknown(self.expr(item)?, self.params)?;
            shape.push(RecordField {
                name: format!("f{}", i + 1),
                ty: e.ty(),
            });
            fields.push(e);
        }
        Ok(ScalarExpr::Row {
            fields,
            ty: DataType::Record(RecordType::intern(shape)?),
        })
    }

    /// `(expr).name`: field `name` of a row-valued `e`.
    pub(crate) fn field_select(&mut self, e: ScalarExpr, name: &Ident) -> SqlResult<ScalarExpr> {
        let name = fold_ident(name);
        let DataType::Record(rt) = e.ty() else {
            return Err(SqlError::new(
                SqlState::WrongObjectType,
                format!(
                    "column notation .{name} applied to type {}, which is not a composite type",
                    e.ty().name()
                ),
            ));
        };
        let Some((index, ty)) = rt.field(&name) else {
            return Err(SqlError::new(
                SqlState::UndefinedColumn,
                format!("could not identify column \"{name}\" in record data type"),
            ));
        };
        Ok(ScalarExpr::FieldSelect {
            arg: Box::new(e),
            index,
            ty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::decimal::Decimal;

    #[test]
    fn record_text_output_quotes_like_postgres() {
        let ty = DataType::Record(
            RecordType::of(&[
                ("a", DataType::Int4),
                ("b", DataType::Text),
                ("c", DataType::Text),
                ("d", DataType::Text),
                ("e", DataType::Text),
                ("f", DataType::Numeric(None)),
            ])
            .unwrap(),
        );
        let row = vec![
            Datum::Int(1),
            Datum::Null,
            Datum::Text(String::new()),
            Datum::Text("x\"y".into()),
            Datum::Text("a\\b (,)".into()),
            Datum::Numeric(Decimal::from_i64(7)),
        ];
        assert_eq!(
            format_record(&row, ty, &EvalContext::default()),
            r#"(1,,"","x""y","a\\b (,)",7)"#
        );
        assert_eq!(format_record(&[], ty, &EvalContext::default()), "()");
    }

    #[test]
    fn row_null_tests() {
        let some = Datum::Record(vec![Datum::Int(1), Datum::Null]);
        let none = Datum::Record(vec![Datum::Null, Datum::Null]);
        assert!(!is_null(&some, false) && !is_null(&some, true));
        assert!(is_null(&none, false) && !is_null(&none, true));
        assert!(is_null(&Datum::Null, false));
        assert_eq!(field(some, 0), Datum::Int(1));
        assert_eq!(field(Datum::Null, 0), Datum::Null);
    }
}
