//! Compiling a `WHERE` clause on an audience table into a bitmap [`Pred`]
//! (and, for the relational layer, typing a condition: [`bind_condition`]).
//!
//! Each comparison must put a column on one side and a constant expression
//! (literals, parameters, `now()`, `CURRENT_DATE`, `± INTERVAL` …) on the
//! other; the constant is evaluated once and converted into the column's
//! stored domain, so the comparison runs on bitmaps. `LIKE` on a categorical
//! column scans its value dictionary and becomes a union of value bitmaps.
//! Anything else is rejected with 0A000 naming the construct — never answered
//! wrongly.

use super::error::{SqlError, SqlResult, SqlState};
use super::types::{DataType, Datum};
use crate::exec::filter::Pred;
use crate::index::ColumnType;
use crate::index::bsi::CompareOp;
use crate::storage::{ColumnSchema, TableSnapshot};
use compare::compare;
use like::like;
use sqlparser::ast::{BinaryOperator, Expr, InTarget, Query, UnaryOperator};
use std::sync::Arc;
use subquery::compile_in;

mod compare;
mod like;
pub(crate) mod per_value;
pub(crate) mod row_wise;
mod subquery;

pub use like::like_match;
pub use row_wise::RowBinding;

/// What the compiler needs from the planner.
pub trait PredContext {
    /// The table being filtered.
    fn table(&self) -> &TableSnapshot;
    /// Whether `qualifier` names the table (its name or alias).
    fn qualifies(&self, qualifier: &str) -> bool;
    /// Evaluates an expression without column references.
    fn eval_const(&self, e: &Expr) -> SqlResult<(Datum, DataType)>;
    /// Evaluates a constant compared with a column of type `hint`: untyped
    /// parameters (`age > $1`) take the column's type, as in PostgreSQL.
    fn eval_const_for(&self, e: &Expr, hint: DataType) -> SqlResult<(Datum, DataType)>;
    /// The rows of this table selected by `key IN (subquery)`.
    fn key_subquery(&self, q: &Query) -> SqlResult<Pred>;
    /// Runs an uncorrelated one-column subquery once (for `col IN (SELECT …)`
    /// on a non-key column): its column type and values, NULLs included.
    fn subquery_values(&self, _q: &Query) -> SqlResult<(DataType, Vec<Datum>)> {
        Err(SqlError::unsupported(
            "IN (subquery) on a column other than the key",
        ))
    }
    /// The session's time zone, for date/timestamptz comparisons.
    fn time_zone(&self) -> &crate::sql::timezone::TimeZone;
    /// Whether `qualifier.name` is a column of an enclosing query (a
    /// correlated reference: a constant for this query).
    fn is_outer_column(&self, _qualifier: Option<&str>, _name: &str) -> bool {
        false
    }
    /// Binds `e` over rows holding only column `col` of the table (input
    /// position 0; enclosing queries' columns are constants), with the
    /// context to evaluate it in; `None` where this context cannot.
    fn bind_on_column(
        &self,
        _e: &Expr,
        _col: &ColumnSchema,
    ) -> SqlResult<Option<(super::scalar::BoundExpr, &super::scalar::EvalContext)>> {
        Ok(None)
    }
    /// Binds `e` for evaluation row by row over the table's columns (their
    /// positions in a row come from `scope`; enclosing queries' columns are
    /// constants), with the statement's evaluation context and
    /// cancellation; `None` where this context cannot evaluate rows.
    fn bind_rows(
        &self,
        _e: &Expr,
        _scope: &dyn crate::sql::scalar::Scope,
    ) -> SqlResult<Option<RowBinding>> {
        Ok(None)
    }
}

/// A column reference resolved against the table.
#[derive(Clone, Debug)]
pub enum ColRef {
    /// The key column.
    Key,
    /// A tag column.
    Tag(ColumnSchema),
}

/// Folds an identifier as PostgreSQL does: unquoted names are lower-cased.
pub fn fold_ident(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// Resolves `e` as a column of the context's table, if it is a column reference.
pub fn column_ref(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Option<ColRef>> {
    let (qualifier, name) = match e {
        Expr::Identifier(id) => (None, fold_ident(id)),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            (Some(fold_ident(&parts[0])), fold_ident(&parts[1]))
        }
        Expr::Nested(inner) => return column_ref(ctx, inner),
        _ => return Ok(None),
    };
    if let Some(q) = &qualifier
        && !ctx.qualifies(q)
    {
        if ctx.is_outer_column(Some(q), &name) {
            return Ok(None);
        }
        return Err(SqlError::new(
            SqlState::UndefinedTable,
            format!("missing FROM-clause entry for table \"{q}\""),
        ));
    }
    let schema = ctx.table().schema();
    if name == schema.key_name {
        return Ok(Some(ColRef::Key));
    }
    match schema.column(&name) {
        Some(c) if !crate::catalog::is_hidden(&c.name) => Ok(Some(ColRef::Tag(c.clone()))),
        _ if ctx.is_outer_column(qualifier.as_deref(), &name) => Ok(None),
        _ => Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!("column \"{name}\" does not exist"),
        )),
    }
}

/// Whether `e` mentions no column of the table (so it can be evaluated
/// once): references to enclosing queries and whole subqueries are
/// constants here (a subquery that references this table's columns is
/// rejected when it is bound).
pub(super) fn is_constant(ctx: &dyn PredContext, e: &Expr) -> bool {
    !any_outside_subqueries(e, |e| {
        matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
            && !matches!(column_ref(ctx, e), Ok(None))
    })
}

/// Whether `found` holds for some expression in `node` outside the
/// subqueries it contains (a subquery's names are its own).
pub(crate) fn any_outside_subqueries<V: sqlparser::ast::Visit>(
    node: &V,
    found: impl FnMut(&Expr) -> bool,
) -> bool {
    use sqlparser::ast::Visitor;
    use std::ops::ControlFlow;
    struct Find<F> {
        found: F,
        /// Subquery levels entered.
        depth: usize,
    }
    impl<F: FnMut(&Expr) -> bool> Visitor for Find<F> {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if self.depth == 0 && (self.found)(e) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    node.visit(&mut Find { found, depth: 0 }).is_break()
}

pub(super) fn unsupported(e: &Expr) -> SqlError {
    SqlError::unsupported(format!("the predicate \"{e}\" on an audience table")).with_hint(
        "audience filters compare a column with a constant; combine them with AND, OR and NOT",
    )
}

/// Binds the condition of `clause` (`WHERE`, `HAVING`) on the relational
/// layer: an untyped literal or parameter is read as a boolean
/// (`WHERE 't'`), anything else must be boolean (42804 `argument of WHERE
/// must be type boolean, not type integer`), as in PostgreSQL.
pub(crate) fn bind_condition(
    ctx: &crate::sql::select::QueryCtx<'_>,
    e: &Expr,
    scope: &dyn crate::sql::scalar::Scope,
    clause: &str,
) -> SqlResult<crate::sql::scalar::BoundExpr> {
    let bound = match untyped_as_boolean(e) {
        Some(cast) => ctx.bind(&cast, scope)?,
        None => ctx.bind(e, scope)?,
    };
    if bound.ty != DataType::Bool {
        return Err(not_boolean(clause, bound.ty));
    }
    Ok(bound)
}

/// Compiles a WHERE expression.
///
/// Comparisons of a column with a constant become bitmap leaves directly;
/// any other expression the bitmap compiler refuses (0A000) is tried as a
/// predicate evaluated once per distinct value of its one column
/// ([`per_value`]), then as a predicate evaluated row by row on the rows
/// the rest of the filter leaves ([`row_wise`]).
pub fn compile(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Pred> {
    compile_as(ctx, e, "WHERE")
}

/// [`compile`] for an operand of `context` (`WHERE`, `AND`, `NOT`,
/// `IS TRUE` …), the clause PostgreSQL names when the operand is not
/// boolean (42804 `argument of AND must be type boolean, not type
/// integer`).
fn compile_as(ctx: &dyn PredContext, e: &Expr, context: &str) -> SqlResult<Pred> {
    match compile_on_bitmaps(ctx, e, context) {
        Err(err) if err.state == SqlState::FeatureNotSupported => {
            if let Some(pred) = per_value::compile(ctx, e)? {
                return Ok(pred);
            }
            if let Some(pred) = row_wise::compile(ctx, e, context)? {
                return Ok(pred);
            }
            Err(err)
        }
        other => other,
    }
}

/// The 42804 error for a `context` operand of type `ty`.
pub(super) fn not_boolean(context: &str, ty: DataType) -> SqlError {
    SqlError::mismatch(format!(
        "argument of {context} must be type boolean, not type {}",
        ty.name()
    ))
}

/// `CAST(e AS boolean)` when `e` is an untyped literal or parameter
/// (`'t'`, `NULL`, `$1`), which PostgreSQL coerces to the boolean a
/// condition needs (`WHERE 'yes'` is true, `WHERE 'a'` is 22P02); `None`
/// for anything else.
pub(crate) fn untyped_as_boolean(e: &Expr) -> Option<Expr> {
    use sqlparser::ast::{CastKind, DataType as AstType, Value};
    let mut inner = e;
    while let Expr::Nested(x) = inner {
        inner = x;
    }
    let Expr::Value(v) = inner else {
        return None;
    };
    match &v.value {
        Value::SingleQuotedString(_)
        | Value::EscapedStringLiteral(_)
        | Value::DollarQuotedString(_)
        | Value::Null
        | Value::Placeholder(_) => Some(Expr::Cast {
            kind: CastKind::Cast,
            expr: Box::new(inner.clone()),
            data_type: AstType::Boolean,
            format: None,
        }),
        _ => None,
    }
}

/// Compiles `e` into bitmap leaves only (comparisons with constants).
fn compile_on_bitmaps(ctx: &dyn PredContext, e: &Expr, context: &str) -> SqlResult<Pred> {
    match e {
        Expr::Nested(inner) => compile_as(ctx, inner, context),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => Ok(Pred::And(vec![
            compile_as(ctx, left, "AND")?,
            compile_as(ctx, right, "AND")?,
        ])),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => Ok(Pred::Or(vec![
            compile_as(ctx, left, "OR")?,
            compile_as(ctx, right, "OR")?,
        ])),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => Ok(Pred::Not(Box::new(compile_as(ctx, expr, "NOT")?))),
        Expr::IsTrue(inner) => Ok(Pred::IsTrue(Box::new(compile_as(ctx, inner, "IS TRUE")?))),
        Expr::IsFalse(inner) => Ok(Pred::IsFalse(Box::new(compile_as(ctx, inner, "IS FALSE")?))),
        Expr::IsNotTrue(inner) => Ok(Pred::Not(Box::new(Pred::IsTrue(Box::new(compile_as(
            ctx,
            inner,
            "IS NOT TRUE",
        )?))))),
        Expr::IsNotFalse(inner) => Ok(Pred::Not(Box::new(Pred::IsFalse(Box::new(compile_as(
            ctx,
            inner,
            "IS NOT FALSE",
        )?))))),
        Expr::IsUnknown(inner) => {
            let p = compile_as(ctx, inner, "IS UNKNOWN")?;
            Ok(Pred::And(vec![
                Pred::Not(Box::new(Pred::IsTrue(Box::new(p.clone())))),
                Pred::Not(Box::new(Pred::IsFalse(Box::new(p)))),
            ]))
        }
        Expr::IsNotUnknown(inner) => {
            let p = compile_as(ctx, inner, "IS NOT UNKNOWN")?;
            Ok(Pred::Or(vec![
                Pred::IsTrue(Box::new(p.clone())),
                Pred::IsFalse(Box::new(p)),
            ]))
        }
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            let p = match column_ref(ctx, inner)? {
                Some(ColRef::Key) => Pred::Const(Some(false)),
                Some(ColRef::Tag(c)) => Pred::IsNull { col: c.id },
                None if is_constant(ctx, inner) => {
                    Pred::Const(Some(ctx.eval_const(inner)?.0.is_null()))
                }
                None => {
                    // A non-boolean operand (`coalesce(a, b) IS NULL`) is
                    // not a predicate: the whole test is compiled instead.
                    let p = match compile(ctx, inner) {
                        Err(err) if err.state == SqlState::DatatypeMismatch => {
                            return Err(unsupported(e));
                        }
                        other => other?,
                    };
                    Pred::And(vec![
                        Pred::Not(Box::new(Pred::IsTrue(Box::new(p.clone())))),
                        Pred::Not(Box::new(Pred::IsFalse(Box::new(p)))),
                    ])
                }
            };
            Ok(if matches!(e, Expr::IsNotNull(_)) {
                Pred::Not(Box::new(p))
            } else {
                p
            })
        }
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) if !is_constant(ctx, e) => {
            match column_ref(ctx, e)? {
                Some(ColRef::Tag(c)) if c.ty == ColumnType::Boolean => Ok(Pred::Flag {
                    col: c.id,
                    value: true,
                }),
                Some(ColRef::Tag(c)) => Err(not_boolean(context, DataType::of_column(c.ty))),
                Some(ColRef::Key) => Err(not_boolean(
                    context,
                    match ctx.table().schema().key_type {
                        crate::index::KeyType::BigInt => DataType::Int8,
                        crate::index::KeyType::Text => DataType::Text,
                    },
                )),
                None => Err(SqlError::mismatch(format!(
                    "argument of {context} must be type boolean"
                ))),
            }
        }
        Expr::BinaryOp { left, op, right } => compile_binary(ctx, e, left, op, right, context),
        Expr::In {
            target: InTarget::Subquery(_),
            ..
        } if is_constant(ctx, e) => const_pred_as(ctx, e, context),
        Expr::In {
            expr,
            target,
            negated,
            ..
        } => {
            let p = compile_in(ctx, e, expr, target)?;
            Ok(if *negated { Pred::Not(Box::new(p)) } else { p })
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let p = Pred::And(vec![
                compare(ctx, e, expr, &CompareOp::Ge, low)?,
                compare(ctx, e, expr, &CompareOp::Le, high)?,
            ]);
            Ok(if *negated { Pred::Not(Box::new(p)) } else { p })
        }
        Expr::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char,
        }
        | Expr::ILike {
            negated,
            any: false,
            expr,
            pattern,
            escape_char,
        } => {
            let fold_case = matches!(e, Expr::ILike { .. });
            let p = like(ctx, e, expr, pattern, escape_char.as_deref(), fold_case)?;
            Ok(if *negated { Pred::Not(Box::new(p)) } else { p })
        }
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } if is_constant(ctx, left) && !is_constant(ctx, right) => {
            // 'x' = ANY(tags)
            match column_ref(ctx, right)? {
                Some(ColRef::Tag(c)) if c.ty == ColumnType::TextArray => {
                    let (d, _) = ctx.eval_const(left)?;
                    Ok(match d {
                        Datum::Null => Pred::Const(None),
                        other => Pred::AnyValue {
                            col: c.id,
                            values: vec![text_of(other)?],
                        },
                    })
                }
                _ => Err(unsupported(e)),
            }
        }
        Expr::AnyOp {
            left,
            compare_op,
            right,
            ..
        }
        | Expr::AllOp {
            left,
            compare_op,
            right,
        } if !is_constant(ctx, e) => {
            let all = matches!(e, Expr::AllOp { .. });
            subquery::any_all(ctx, e, left, compare_op, right, all)
        }
        _ if is_constant(ctx, e) => const_pred_as(ctx, e, context),
        _ => Err(unsupported(e)),
    }
}

/// A condition without columns of the table, evaluated once.
pub(super) fn const_pred(ctx: &dyn PredContext, e: &Expr) -> SqlResult<Pred> {
    const_pred_as(ctx, e, "WHERE")
}

/// [`const_pred`] for an operand of `context`; an untyped literal is read
/// as a boolean (`WHERE 'yes'`), as PostgreSQL coerces it.
fn const_pred_as(ctx: &dyn PredContext, e: &Expr, context: &str) -> SqlResult<Pred> {
    let value = match untyped_as_boolean(e) {
        Some(cast) => ctx.eval_const(&cast)?,
        None => ctx.eval_const(e)?,
    };
    match value {
        (Datum::Bool(b), _) => Ok(Pred::Const(Some(b))),
        (Datum::Null, DataType::Bool) => Ok(Pred::Const(None)),
        (_, ty) => Err(not_boolean(context, ty)),
    }
}

fn text_of(d: Datum) -> SqlResult<Arc<str>> {
    match d {
        Datum::Text(s) => Ok(Arc::from(s.as_str())),
        other => Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!("operator does not exist: text = {other:?}"),
        )),
    }
}

fn array_items(d: Datum) -> SqlResult<Vec<Arc<str>>> {
    match d {
        Datum::TextArray(items) => Ok(items
            .into_iter()
            .flatten()
            .map(|s| Arc::from(s.as_str()))
            .collect()),
        Datum::Text(s) => {
            // An untyped '{a,b}' literal.
            let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
            Ok(inner
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| Arc::from(x.trim_matches('"')))
                .collect())
        }
        _ => Err(SqlError::mismatch("expected a text[] array")),
    }
}

fn compile_binary(
    ctx: &dyn PredContext,
    e: &Expr,
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    context: &str,
) -> SqlResult<Pred> {
    let cmp = match op {
        BinaryOperator::Eq => Some(CompareOp::Eq),
        BinaryOperator::NotEq => Some(CompareOp::Ne),
        BinaryOperator::Lt => Some(CompareOp::Lt),
        BinaryOperator::LtEq => Some(CompareOp::Le),
        BinaryOperator::Gt => Some(CompareOp::Gt),
        BinaryOperator::GtEq => Some(CompareOp::Ge),
        _ => None,
    };
    if let Some(op) = cmp {
        return compare(ctx, e, left, &op, right);
    }
    match op {
        BinaryOperator::AtArrow | BinaryOperator::PGOverlap => {
            let Some(ColRef::Tag(c)) = column_ref(ctx, left)? else {
                return Err(unsupported(e));
            };
            if c.ty != ColumnType::TextArray || !is_constant(ctx, right) {
                return Err(unsupported(e));
            }
            let (d, _) = ctx.eval_const(right)?;
            if d.is_null() {
                return Ok(Pred::Const(None));
            }
            let values = array_items(d)?;
            Ok(if matches!(op, BinaryOperator::AtArrow) {
                Pred::AllValues { col: c.id, values }
            } else {
                Pred::AnyValue { col: c.id, values }
            })
        }
        _ if is_constant(ctx, e) => const_pred_as(ctx, e, context),
        _ => Err(unsupported(e)),
    }
}
