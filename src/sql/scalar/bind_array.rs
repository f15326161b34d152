//! Binding array expressions: `ARRAY[…]`, `x op ANY|ALL (array or
//! subquery)`, the containment and overlap operators (`@>`, `<@`, `&&`),
//! subscripts, slices and field selections (`a[i]`, `a[i:j]`, `t.a[i]`,
//! `(r).f`), and the polymorphic array functions (`array_length(anyarray,
//! int)`, `array_append`, …).

use super::bind::Binder;
use super::coerce::{cast_node, coerce_all, coerce_or};
use super::operators::{comparison_type, no_operator};
use super::{BinaryOp, Func, ScalarExpr, SubqueryKind};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{self, Expr};

/// The functions [`Binder::array_function`] binds.
pub(crate) const ARRAY_FUNCTIONS: &[&str] = &[
    "array_length",
    "array_lower",
    "array_upper",
    "cardinality",
    "array_to_string",
    "array_append",
    "array_cat",
    "array_position",
    "string_to_array",
];

/// 42804 for a polymorphic argument of type `unknown`.
fn unknown_polymorphic() -> SqlError {
    SqlError::mismatch("could not determine polymorphic type because input has type unknown")
}

/// `ARRAY[]` (or `ARRAY[ARRAY[]]`) cast to the array type `ty`: the cast
/// gives the empty array its type, as in PostgreSQL (`ARRAY[]::int[]` is an
/// empty `integer[]`). `None` when `e` is not an empty array constructor or
/// `ty` is not an array type (binding `e` then reports 42P18).
pub(crate) fn empty_array_cast(e: &Expr, ty: DataType) -> Option<ScalarExpr> {
    fn empty(e: &Expr) -> bool {
        match e {
            Expr::Array(a) => a.elem.iter().all(empty),
            Expr::Nested(inner) => empty(inner),
            _ => false,
        }
    }
    if !empty(e) || !ty.is_array() {
        return None;
    }
    let value = match ty {
        DataType::TextArray => Datum::TextArray(Vec::new()),
        _ => Datum::Array(Vec::new()),
    };
    Some(ScalarExpr::Literal { value, ty })
}

impl Binder<'_> {
    /// `left op ANY|ALL (right)`: an array, or a subquery (whose rows are
    /// taken as an array; `= ANY` and `<> ALL` stay `IN` / `NOT IN`).
    pub(crate) fn any_all(
        &mut self,
        left: &Expr,
        op: &ast::BinaryOperator,
        right: &Expr,
        all: bool,
    ) -> SqlResult<ScalarExpr> {
        use ast::BinaryOperator as B;
        let op = match op {
            B::Eq => BinaryOp::Eq,
            B::NotEq => BinaryOp::NotEq,
            B::Lt => BinaryOp::Lt,
            B::LtEq => BinaryOp::LtEq,
            B::Gt => BinaryOp::Gt,
            B::GtEq => BinaryOp::GtEq,
            other => return Err(SqlError::unsupported(format!("{other} ANY/ALL"))),
        };
        let arg = self.expr(left)?;
        let array = match right {
            Expr::Subquery(q) => match (op, all) {
                (BinaryOp::Eq, false) => return self.in_subquery(arg, q, false),
                (BinaryOp::NotEq, true) => return self.in_subquery(arg, q, true),
                _ => self.subquery(q, SubqueryKind::Array)?,
            },
            _ => self.expr(right)?,
        };
        // audb has no oid[]: catalog columns that are oid[] in PostgreSQL
        // (`pg_policy.polroles`) are text[] here, and psql compares them with
        // `oid = any(polroles)`; an integer against such a column compares
        // its text form.
        let arg = if arg.ty().is_integer()
            && array.ty() == DataType::TextArray
            && !matches!(
                array,
                ScalarExpr::ArrayLiteral { .. } | ScalarExpr::Subquery(_)
            ) {
            cast_node(arg, DataType::Text, None)
        } else {
            arg
        };
        let (lt, rt) = (arg.ty(), array.ty());
        let not_array = || {
            SqlError::new(
                SqlState::WrongObjectType,
                "op ANY/ALL (array) requires array on right side",
            )
        };
        let elem = match rt {
            DataType::Unknown => lt.array_of().and_then(DataType::element),
            t => Some(t.element().ok_or_else(not_array)?),
        }
        .unwrap_or(DataType::Text);
        let err = || no_operator(op.symbol(), lt, Some(elem));
        let cmp = comparison_type(lt, elem).ok_or_else(err)?;
        let array_ty = cmp.array_of().ok_or_else(err)?;
        let array = coerce_or(array, array_ty, self.params, |_| err())?;
        let arg = coerce_or(arg, cmp, self.params, |_| err())?;
        Ok(ScalarExpr::AnyArray {
            arg: Box::new(arg),
            op,
            array: Box::new(array),
            all,
        })
    }

    /// `a @> b`, `a <@ b`, `a && b` on two arrays of one type.
    pub(crate) fn array_op(
        &mut self,
        op: &ast::BinaryOperator,
        a: ScalarExpr,
        b: ScalarExpr,
    ) -> SqlResult<ScalarExpr> {
        let sym = op.to_string();
        let (lt, rt) = (a.ty(), b.ty());
        let err = |_| no_operator(&sym, lt, Some(rt));
        let ty = match (lt, rt) {
            (DataType::Unknown, t) | (t, DataType::Unknown) if t.is_array() => t,
            (l, r) if l.is_array() && r.is_array() => {
                let both = [l, r];
                super::select_common_type(&both, "ARRAY").map_err(|_| err(lt))?
            }
            _ => return Err(err(lt)),
        };
        let a = coerce_or(a, ty, self.params, err)?;
        let b = coerce_or(b, ty, self.params, err)?;
        let (left, right) = (Box::new(a), Box::new(b));
        Ok(match op {
            ast::BinaryOperator::AtArrow => ScalarExpr::ArrayContains { left, right },
            ast::BinaryOperator::ArrowAt => ScalarExpr::ArrayContains {
                left: right,
                right: left,
            },
            _ => ScalarExpr::ArrayOverlap { left, right },
        })
    }

    /// `ARRAY[a, b, …]`: the elements' common type's array.
    pub(crate) fn array_literal(&mut self, elems: Vec<ScalarExpr>) -> SqlResult<ScalarExpr> {
        if elems.is_empty() {
            return Err(SqlError::new(
                SqlState::IndeterminateDatatype,
                "cannot determine type of empty array",
            )
            .with_hint("Explicitly cast to the desired type, for example ARRAY[]::integer[]."));
        }
        let (elems, ty) = coerce_all(elems, "ARRAY", self.params)?;
        if ty.array_of().is_none() {
            return Err(SqlError::unsupported(format!(
                "arrays of type {}",
                ty.name()
            )));
        }
        Ok(ScalarExpr::ArrayLiteral { elems })
    }

    /// `root.a.b[i]…`, `(expr).field[lo:hi]`: a column reference whose
    /// name continues in the chain's leading `.name`s (`t.col`, `col`),
    /// then field selections, subscripts and slices, applied in turn.
    pub(crate) fn access_chain(
        &mut self,
        root: &Expr,
        chain: &[ast::AccessExpr],
    ) -> SqlResult<ScalarExpr> {
        let (mut e, rest) = self.chain_root(root, chain)?;
        for access in rest {
            e = match access {
                ast::AccessExpr::Dot(Expr::Identifier(field)) => self.field_select(e, field)?,
                ast::AccessExpr::Dot(other) => {
                    return Err(SqlError::syntax(format!(
                        "syntax error at or near \"{other}\""
                    )));
                }
                ast::AccessExpr::Subscript(sub) => self.subscript(e, sub)?,
            };
        }
        Ok(e)
    }

    /// The value the chain starts from and the accesses left: for a name
    /// followed by `.name`s, the longest column reference PostgreSQL would
    /// take (`table.column` before `column.field`).
    fn chain_root<'c>(
        &mut self,
        root: &Expr,
        chain: &'c [ast::AccessExpr],
    ) -> SqlResult<(ScalarExpr, &'c [ast::AccessExpr])> {
        let mut names: Vec<&ast::Ident> = match root {
            Expr::Identifier(id) => vec![id],
            Expr::CompoundIdentifier(ids) => ids.iter().collect(),
            _ => return Ok((self.expr(root)?, chain)),
        };
        let base = names.len();
        for access in chain {
            match access {
                ast::AccessExpr::Dot(Expr::Identifier(id)) => names.push(id),
                _ => break,
            }
        }
        // Candidates: (idents used as the column reference), longest first
        // among those PostgreSQL accepts (`schema.table.col`, `table.col`,
        // `col`), never fewer than the root's own identifiers.
        let mut first_err = None;
        for used in [3, 2, 1] {
            if used > names.len() || used < base {
                continue;
            }
            let parts: Vec<ast::Ident> = names[..used].iter().map(|i| (*i).clone()).collect();
            let reference = if used == 1 {
                Expr::Identifier(parts[0].clone())
            } else {
                Expr::CompoundIdentifier(parts)
            };
            match self.expr(&reference) {
                Ok(e) => return Ok((e, &chain[used - base..])),
                Err(err)
                    if matches!(
                        err.state,
                        SqlState::UndefinedColumn | SqlState::UndefinedTable
                    ) =>
                {
                    first_err.get_or_insert(err);
                }
                Err(err) => return Err(err),
            }
        }
        match first_err {
            Some(err) => Err(err),
            None => Ok((self.expr(root)?, chain)),
        }
    }

    /// `e[i]` / `e[lo:hi]`.
    fn subscript(&mut self, e: ScalarExpr, sub: &ast::Subscript) -> SqlResult<ScalarExpr> {
        let ty = e.ty();
        let Some(elem) = ty.element() else {
            return Err(SqlError::mismatch(format!(
                "cannot subscript type {} because it does not support subscripting",
                ty.name()
            )));
        };
        let mut index = |x: &Expr| -> SqlResult<ScalarExpr> {
            let i = self.expr(x)?;
            let it = i.ty();
            coerce_or(i, DataType::Int4, self.params, |_| {
                SqlError::mismatch("array subscript must have type integer")
                    .with_detail(format!("subscript has type {}", it.name()))
            })
        };
        Ok(match sub {
            ast::Subscript::Index { index: i } => ScalarExpr::Function {
                func: Func::Subscript,
                args: vec![e, index(i)?],
                ty: elem,
            },
            ast::Subscript::Slice {
                lower_bound,
                upper_bound,
                stride: None,
            } => {
                let result = ty.plain_array();
                let mut args = vec![e];
                for b in [lower_bound, upper_bound].into_iter().flatten() {
                    args.push(index(b)?);
                }
                ScalarExpr::Function {
                    func: Func::Slice {
                        lower: lower_bound.is_some(),
                        upper: upper_bound.is_some(),
                    },
                    args,
                    ty: result,
                }
            }
            ast::Subscript::Slice { .. } => {
                return Err(SqlError::syntax("syntax error at or near \":\""));
            }
        })
    }

    /// The polymorphic array functions and `string_to_array` (`name` is
    /// one of [`ARRAY_FUNCTIONS`]).
    pub(crate) fn array_function(
        &mut self,
        name: &str,
        mut args: Vec<ScalarExpr>,
    ) -> SqlResult<ScalarExpr> {
        let types: Vec<DataType> = args.iter().map(ScalarExpr::ty).collect();
        let not_exist = || super::bind_func::not_exist(name, &types);
        let func = match name {
            "array_length" => Func::ArrayLength,
            "array_lower" => Func::ArrayLower,
            "array_upper" => Func::ArrayUpper,
            "cardinality" => Func::Cardinality,
            "array_to_string" => Func::ArrayToString,
            "array_append" => Func::ArrayAppend,
            "array_cat" => Func::ArrayCat,
            "array_position" => Func::ArrayPosition,
            "string_to_array" => Func::StringToArray,
            _ => return Err(not_exist()),
        };
        let arity_ok = match func {
            Func::Cardinality => args.len() == 1,
            Func::ArrayToString | Func::StringToArray => (2..=3).contains(&args.len()),
            _ => args.len() == 2,
        };
        if !arity_ok {
            return Err(not_exist());
        }
        let text = DataType::Text;
        {
            let (arg_types, ty): (Vec<DataType>, DataType) = match func {
                Func::StringToArray => (vec![text; args.len()], DataType::TextArray),
                Func::ArrayAppend | Func::ArrayPosition | Func::ArrayCat => {
                    let arr = match (types[0], types[1]) {
                        (DataType::Unknown, DataType::Unknown) => {
                            return Err(unknown_polymorphic());
                        }
                        (DataType::Unknown, t) if func == Func::ArrayCat => t,
                        (DataType::Unknown, t) => t.array_of().ok_or_else(not_exist)?,
                        (t, _) => t,
                    };
                    let arr = arr.plain_array();
                    let elem = arr.element().ok_or_else(not_exist)?;
                    let second = if func == Func::ArrayCat { arr } else { elem };
                    let ty = if func == Func::ArrayPosition {
                        DataType::Int4
                    } else {
                        arr
                    };
                    (vec![arr, second], ty)
                }
                _ => {
                    let arr = match types[0] {
                        DataType::Unknown => return Err(unknown_polymorphic()),
                        t if t.is_array() => t,
                        _ => return Err(not_exist()),
                    };
                    let mut p = vec![arr];
                    let (rest, ty) = match func {
                        Func::Cardinality => (0, DataType::Int4),
                        Func::ArrayToString => (args.len() - 1, text),
                        _ => (1, DataType::Int4),
                    };
                    let rest_ty = if func == Func::ArrayToString {
                        text
                    } else {
                        DataType::Int4
                    };
                    p.extend(std::iter::repeat_n(rest_ty, rest));
                    (p, ty)
                }
            };
            let mut out = Vec::with_capacity(args.len());
            for (a, p) in args.drain(..).zip(&arg_types) {
                out.push(coerce_or(a, *p, self.params, |_| not_exist())?);
            }
            Ok(ScalarExpr::Function {
                func,
                args: out,
                ty,
            })
        }
    }
}
