//! Binding subquery expressions: scalar, `EXISTS`, `ARRAY(SELECT …)` and
//! `x [NOT] IN (SELECT …)`, run through the binder's [`SubqueryHost`].

use super::ScalarExpr;
use super::bind::Binder;
use super::coerce::coerce_or;
use super::operators::{comparison_type, no_operator};
use super::subquery::{SubqueryExpr, SubqueryKind};
use crate::sql::error::{SqlError, SqlResult};
use sqlparser::ast;

impl Binder<'_> {
    /// Runs `q` through the host as a subquery expression of `kind`.
    pub(crate) fn subquery(&mut self, q: &ast::Query, kind: SubqueryKind) -> SqlResult<ScalarExpr> {
        let Some(host) = self.host else {
            return Err(SqlError::unsupported("a subquery in this context"));
        };
        let (columns, rows) = host.subquery(q, self.scope, self.params)?;
        if kind != SubqueryKind::Exists && columns.len() != 1 {
            return Err(SqlError::syntax(if columns.len() > 1 {
                "subquery must return only one column"
            } else {
                "subquery must return a column"
            }));
        }
        if kind == SubqueryKind::Array && columns[0].array_of().is_none() {
            return Err(SqlError::unsupported(format!(
                "arrays of type {}",
                columns[0].name()
            )));
        }
        Ok(ScalarExpr::Subquery(Box::new(SubqueryExpr::new(
            kind,
            &columns,
            rows,
            host.eval_context(),
        ))))
    }

    /// `arg [NOT] IN (SELECT …)`.
    pub(crate) fn in_subquery(
        &mut self,
        arg: ScalarExpr,
        q: &ast::Query,
        negated: bool,
    ) -> SqlResult<ScalarExpr> {
        let Some(host) = self.host else {
            return Err(SqlError::unsupported("a subquery in this context"));
        };
        let (columns, rows) = host.subquery(q, self.scope, self.params)?;
        let col = match columns.as_slice() {
            [c] => *c,
            [] => return Err(SqlError::syntax("subquery must return a column")),
            _ => return Err(SqlError::syntax("subquery has too many columns")),
        };
        let lt = arg.ty();
        let cmp = comparison_type(lt, col).ok_or_else(|| no_operator("=", lt, Some(col)))?;
        let arg = coerce_or(arg, cmp, self.params, |_| no_operator("=", lt, Some(col)))?;
        let kind = SubqueryKind::In {
            arg: Box::new(arg),
            negated,
            cmp,
        };
        Ok(ScalarExpr::Subquery(Box::new(SubqueryExpr::new(
            kind,
            &columns,
            rows,
            host.eval_context(),
        ))))
    }
}
