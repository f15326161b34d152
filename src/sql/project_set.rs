//! Set-returning functions in the select list (PostgreSQL's ProjectSet).
//!
//! Each SRF call of the select list (outside subqueries) is cut out and
//! replaced by a reference to a hidden column (`__srf0`, …; a field of a
//! composite result, `(f(x)).n`, by `__srf0_n`). Each input row then runs
//! every call with its argument values; the calls zip: the row yields as
//! many rows as the longest call, the shorter ones padded with NULL, and a
//! row whose calls all return nothing yields nothing. The rewritten select
//! list is then projected over these rows as usual.

use super::error::{SqlError, SqlResult, SqlState};
use super::predicate::fold_ident;
use super::relation::{self, Column, Relation};
use super::scalar::{BoundExpr, EvalContext};
use super::select::{QueryCtx, RelScope};
use super::srf;
use super::types::{DataType, Datum, RecordType};
use sqlparser::ast::{
    AccessExpr, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectNamePart,
    Query, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// One SRF call cut out of the select list.
struct Call {
    /// The function's name (unqualified, folded).
    name: String,
    /// Its arguments.
    args: Vec<Expr>,
}

/// Cuts SRF calls out of expressions (not descending into subqueries).
struct Cutter {
    calls: Vec<Call>,
    /// For each call, the fields its references read (`None` = the whole
    /// value).
    uses: Vec<Vec<Option<String>>>,
    query_depth: usize,
}

/// The SRF call `e` is, if it is one: (name, arguments).
fn srf_call(e: &Expr) -> Option<(String, Vec<Expr>)> {
    let Expr::Function(f) = e else { return None };
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let parts: Vec<String> = f
        .name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(id) => Some(fold_ident(id)),
            ObjectNamePart::Function(_) => None,
        })
        .collect::<Option<_>>()?;
    let (schema, name) = match parts.as_slice() {
        [n] => (None, n.clone()),
        [s, n] => (Some(s.as_str()), n.clone()),
        _ => return None,
    };
    if !srf::is_srf(schema, &name) {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let args = list
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((name, args))
}

fn unnested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => unnested(inner),
        other => other,
    }
}

fn hidden(k: usize, field: Option<&str>) -> String {
    match field {
        None => format!("__srf{k}"),
        Some(f) => format!("__srf{k}_{f}"),
    }
}

impl Cutter {
    fn cut(&mut self, name: String, args: Vec<Expr>, field: Option<String>) -> Expr {
        let k = self.calls.len();
        self.calls.push(Call { name, args });
        let col = hidden(k, field.as_deref());
        self.uses.push(vec![field]);
        Expr::Identifier(Ident::with_quote('"', col))
    }
}

impl VisitorMut for Cutter {
    type Break = ();

    fn pre_visit_query(&mut self, _q: &mut Query) -> ControlFlow<()> {
        self.query_depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &mut Query) -> ControlFlow<()> {
        self.query_depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if self.query_depth > 0 {
            return ControlFlow::Continue(());
        }
        if let Expr::CompoundFieldAccess { root, access_chain } = e
            && let [AccessExpr::Dot(Expr::Identifier(field))] = access_chain.as_slice()
            && let Some((name, args)) = srf_call(unnested(root))
        {
            let field = fold_ident(field);
            *e = self.cut(name, args, Some(field));
            return ControlFlow::Continue(());
        }
        if let Some((name, args)) = srf_call(e) {
            *e = self.cut(name, args, None);
        }
        ControlFlow::Continue(())
    }
}

/// Whether a select list calls a set-returning function (outside
/// subqueries).
pub(crate) fn has_srf(list: &[(String, Expr)]) -> bool {
    list.iter().any(|(_, e)| calls_srf(e))
}

/// Whether an expression calls a set-returning function (outside
/// subqueries).
pub(crate) fn calls_srf(e: &Expr) -> bool {
    let mut probe = Cutter {
        calls: Vec::new(),
        uses: Vec::new(),
        query_depth: 0,
    };
    let mut e = e.clone();
    let _ = e.visit(&mut probe);
    !probe.calls.is_empty()
}

/// The input of the projection after the select list's SRF calls ran.
pub(crate) struct Expanded {
    /// The input rows times the calls' rows, the calls' values last.
    pub(crate) rel: Relation,
    /// The qualifier of each column (none for the calls' columns).
    pub(crate) quals: Vec<Option<String>>,
    /// The select list with each call replaced by its hidden column.
    pub(crate) list: Vec<(String, Expr)>,
}

/// Runs the select list's SRF calls over `rel` (see the module doc).
pub(crate) fn expand(
    ctx: &QueryCtx<'_>,
    rel: Relation,
    quals: Vec<Option<String>>,
    list: Vec<(String, Expr)>,
) -> SqlResult<Expanded> {
    let mut cutter = Cutter {
        calls: Vec::new(),
        uses: Vec::new(),
        query_depth: 0,
    };
    let mut out_list = Vec::with_capacity(list.len());
    for (name, mut e) in list {
        let _ = e.visit(&mut cutter);
        out_list.push((name, e));
    }
    let scope = RelScope {
        columns: &rel.columns,
        quals: &quals,
    };
    let mut columns = rel.columns.clone();
    let calls = bind_calls(ctx, &cutter, &scope, &mut columns)?;
    let mut rows = Vec::new();
    for (i, row) in rel.rows.iter().enumerate() {
        if i % 1024 == 0 {
            ctx.cancel.check()?;
        }
        calls.extend_row(row, ctx.eval, &mut rows)?;
        relation::check_rows(rows.len())?;
    }
    let mut quals = quals;
    quals.resize(columns.len(), None);
    Ok(Expanded {
        rel: Relation { columns, rows },
        quals,
        list: out_list,
    })
}

/// The SRF calls of a list, bound over the input columns.
struct BoundCalls {
    /// Each call's name and bound arguments.
    calls: Vec<(String, Vec<BoundExpr>)>,
    /// Each call's number of result columns, and whether the whole
    /// composite value is one more column.
    shapes: Vec<(usize, bool)>,
}

/// Binds the calls `cutter` cut out over `scope`, appending their hidden
/// result columns to `columns`.
fn bind_calls(
    ctx: &QueryCtx<'_>,
    cutter: &Cutter,
    scope: &RelScope<'_>,
    columns: &mut Vec<Column>,
) -> SqlResult<BoundCalls> {
    let mut bound = Vec::with_capacity(cutter.calls.len());
    for c in &cutter.calls {
        let args = c
            .args
            .iter()
            .map(|a| ctx.bind(a, scope))
            .collect::<SqlResult<Vec<_>>>()?;
        bound.push((c.name.clone(), args));
    }
    // The shape of each call, from its argument types.
    let mut shapes = Vec::with_capacity(cutter.calls.len());
    for (k, (name, args)) in bound.iter().enumerate() {
        let nulls: Vec<(Datum, DataType)> = args.iter().map(|a| (Datum::Null, a.ty)).collect();
        let shape = srf::call(name, &nulls)?.ok_or_else(|| unknown(name, &nulls))?;
        let fields = &shape.columns;
        for (f, ty) in fields {
            columns.push(Column {
                name: hidden(k, *f),
                ty: *ty,
            });
        }
        if let Some(Some(field)) = cutter.uses[k].first()
            && !fields.iter().any(|(f, _)| *f == Some(field.as_str()))
        {
            return Err(SqlError::new(
                SqlState::UndefinedColumn,
                format!("column \"{field}\" not found in data type record"),
            ));
        }
        // The whole composite value: one more column, a record.
        let whole = fields.len() > 1 && matches!(cutter.uses[k].first(), Some(None));
        if whole {
            let shape: Vec<(&str, DataType)> = fields
                .iter()
                .map(|(f, t)| (f.unwrap_or("?column?"), *t))
                .collect();
            columns.push(Column {
                name: hidden(k, None),
                ty: DataType::Record(RecordType::of(&shape)?),
            });
        }
        shapes.push((fields.len(), whole));
    }
    Ok(BoundCalls {
        calls: bound,
        shapes,
    })
}

impl BoundCalls {
    /// Runs every call on one input row and appends the rows it yields
    /// (the input row, then each call's values, shorter calls padded with
    /// NULL) to `out`.
    fn extend_row(
        &self,
        row: &[Datum],
        eval: &EvalContext,
        out: &mut Vec<Vec<Datum>>,
    ) -> SqlResult<()> {
        let mut results = Vec::with_capacity(self.calls.len());
        for (name, args) in &self.calls {
            let values = args
                .iter()
                .map(|a| Ok((super::scalar::eval(a, row, eval)?, a.ty)))
                .collect::<SqlResult<Vec<_>>>()?;
            let rows = srf::call(name, &values)?.ok_or_else(|| unknown(name, &values))?;
            results.push(rows.rows);
        }
        let n = results.iter().map(Vec::len).max().unwrap_or(0);
        for j in 0..n {
            let mut r = row.to_vec();
            for (values, (width, whole)) in results.iter().zip(&self.shapes) {
                match values.get(j) {
                    Some(values) => {
                        r.extend(values.iter().cloned());
                        if *whole {
                            r.push(Datum::Record(values.clone()));
                        }
                    }
                    None => r.extend(std::iter::repeat_n(
                        Datum::Null,
                        width + usize::from(*whole),
                    )),
                }
            }
            out.push(r);
        }
        Ok(())
    }
}

/// Expressions (set-returning function calls among them) bound once and
/// evaluated per input row: the values of the expressions in each row the
/// calls yield (one row when there are no calls). Used to evaluate GROUP BY
/// expressions once per distinct value of the columns they read.
pub(crate) struct PreparedSet {
    calls: BoundCalls,
    exprs: Vec<BoundExpr>,
}

impl PreparedSet {
    /// Binds `exprs` over the input `columns` (qualified by `quals`).
    pub(crate) fn new(
        ctx: &QueryCtx<'_>,
        columns: &[Column],
        quals: &[Option<String>],
        exprs: &[Expr],
    ) -> SqlResult<PreparedSet> {
        let mut cutter = Cutter {
            calls: Vec::new(),
            uses: Vec::new(),
            query_depth: 0,
        };
        let mut cut = Vec::with_capacity(exprs.len());
        for e in exprs {
            let mut e = e.clone();
            let _ = e.visit(&mut cutter);
            cut.push(e);
        }
        let scope = RelScope { columns, quals };
        let mut all = columns.to_vec();
        let calls = bind_calls(ctx, &cutter, &scope, &mut all)?;
        let mut all_quals = quals.to_vec();
        all_quals.resize(all.len(), None);
        let scope = RelScope {
            columns: &all,
            quals: &all_quals,
        };
        let exprs = cut
            .iter()
            .map(|e| ctx.bind(e, &scope))
            .collect::<SqlResult<Vec<_>>>()?;
        Ok(PreparedSet { calls, exprs })
    }

    /// The types of the expressions.
    pub(crate) fn types(&self) -> Vec<DataType> {
        self.exprs.iter().map(|e| e.ty).collect()
    }

    /// The expressions' values in each row that input `row` yields.
    pub(crate) fn rows(&self, row: &[Datum], eval: &EvalContext) -> SqlResult<Vec<Vec<Datum>>> {
        let expanded = if self.calls.calls.is_empty() {
            vec![row.to_vec()]
        } else {
            let mut out = Vec::new();
            self.calls.extend_row(row, eval, &mut out)?;
            out
        };
        expanded
            .iter()
            .map(|r| {
                self.exprs
                    .iter()
                    .map(|e| super::scalar::eval(e, r, eval))
                    .collect()
            })
            .collect()
    }
}

fn unknown(name: &str, args: &[(Datum, DataType)]) -> SqlError {
    let types: Vec<String> = args.iter().map(|(_, t)| t.name()).collect();
    SqlError::new(
        SqlState::UndefinedFunction,
        format!("function {name}({}) does not exist", types.join(", ")),
    )
    .with_hint(
        "No function matches the given name and argument types. You might need to add explicit type casts.",
    )
}
