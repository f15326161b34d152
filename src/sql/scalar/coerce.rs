//! Type coercion as PostgreSQL's parser does it: which casts apply in which
//! context (implicit, assignment, explicit), the common type of CASE/UNION
//! branches (`select_common_type`), and folding untyped literals and
//! parameters into the type their context wants.

use super::cast::cast;
use super::{CharLength, EvalContext, Params, ScalarExpr};
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum, RegKind};

/// The context of a coercion, which decides the casts allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoercionKind {
    /// Inside expressions (operator and function arguments).
    Implicit,
    /// Storing into a column (`INSERT`, `UPDATE … SET`).
    Assignment,
    /// `CAST(x AS t)`, `x::t`.
    Explicit,
}

/// PostgreSQL's type categories (`pg_type.typcategory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Category {
    Bool,
    Numeric,
    String,
    DateTime,
    Timespan,
    Array,
    /// `json` (PostgreSQL's user-defined category `U`).
    User,
    /// `record` (PostgreSQL's pseudo-type category `P`).
    Pseudo,
    Unknown,
}

pub(crate) fn category(t: DataType) -> Category {
    match t {
        DataType::Bool => Category::Bool,
        DataType::Int2
        | DataType::Int4
        | DataType::Int8
        | DataType::Numeric(_)
        | DataType::Float4
        | DataType::Float8
        | DataType::Reg(_) => Category::Numeric,
        DataType::Text => Category::String,
        DataType::Date | DataType::Timestamp | DataType::TimestampTz => Category::DateTime,
        DataType::Interval => Category::Timespan,
        DataType::TextArray | DataType::Array(_) | DataType::Int2Vector | DataType::OidVector => {
            Category::Array
        }
        DataType::Json => Category::User,
        DataType::Record(_) => Category::Pseudo,
        DataType::Unknown => Category::Unknown,
    }
}

/// Whether `t` is its category's preferred type.
fn is_preferred(t: DataType) -> bool {
    matches!(
        t,
        DataType::Float8
            | DataType::Text
            | DataType::TimestampTz
            | DataType::Interval
            | DataType::Bool
    )
}

/// The same type up to a `numeric` type modifier.
pub(crate) fn same_base(a: DataType, b: DataType) -> bool {
    matches!((a, b), (DataType::Numeric(_), DataType::Numeric(_))) || a == b
}

fn implicit(from: DataType, to: DataType) -> bool {
    use DataType::*;
    if same_base(from, to) || from == Unknown {
        return true;
    }
    match from {
        Int2 => matches!(to, Int4 | Int8 | Numeric(_) | Float4 | Float8 | Reg(_)),
        Int4 => matches!(to, Int8 | Numeric(_) | Float4 | Float8 | Reg(_)),
        Int8 => matches!(to, Numeric(_) | Float4 | Float8 | Reg(_)),
        Numeric(_) => matches!(to, Float4 | Float8),
        Float4 => to == Float8,
        Date => matches!(to, Timestamp | TimestampTz),
        Timestamp => to == TimestampTz,
        Int2Vector | OidVector if to == from.plain_array() => true,
        // `oid` stands for its aliases and they for it; audb's catalog oid
        // columns are `bigint`, so every oid type also reads as one.
        Reg(a) => match to {
            Reg(b) => reg_alias(a, b),
            Int8 => true,
            _ => array_elements(from, to, implicit),
        },
        Text if to == Reg(RegKind::Class) => true,
        _ => array_elements(from, to, implicit),
    }
}

/// PostgreSQL's implicit casts between object-identifier types: `oid` to
/// and from every alias, `regproc` with `regprocedure`, `regoper` with
/// `regoperator`.
fn reg_alias(a: RegKind, b: RegKind) -> bool {
    use RegKind::*;
    a == b
        || a == Oid
        || b == Oid
        || matches!(
            (a, b),
            (Proc, Procedure) | (Procedure, Proc) | (Oper, Operator) | (Operator, Oper)
        )
}

/// An array coerces to another array type when its elements do.
fn array_elements(from: DataType, to: DataType, elem: fn(DataType, DataType) -> bool) -> bool {
    match (from, to) {
        (
            DataType::Array(_) | DataType::TextArray | DataType::Int2Vector | DataType::OidVector,
            DataType::Array(_) | DataType::TextArray,
        ) => {
            matches!((from.element(), to.element()), (Some(f), Some(t)) if elem(f, t))
        }
        _ => false,
    }
}

fn assignment(from: DataType, to: DataType) -> bool {
    use DataType::*;
    if implicit(from, to) || to == Text {
        return true;
    }
    match from {
        Int4 => to == Int2,
        Reg(_) => to == Int4,
        Int8 => matches!(to, Int2 | Int4),
        Numeric(_) => to.is_integer(),
        Float4 => to.is_integer() || matches!(to, Numeric(_)),
        Float8 => to.is_integer() || matches!(to, Numeric(_) | Float4),
        Timestamp => to == Date,
        TimestampTz => matches!(to, Date | Timestamp),
        _ => array_elements(from, to, assignment),
    }
}

fn explicit(from: DataType, to: DataType) -> bool {
    use DataType::*;
    assignment(from, to)
        || from == Text
        || matches!((from, to), (Bool, Int4) | (Int4, Bool))
        || array_elements(from, to, explicit)
}

/// Whether a value of type `from` may become a `to` in context `kind`.
pub fn can_coerce(from: DataType, to: DataType, kind: CoercionKind) -> bool {
    match kind {
        CoercionKind::Implicit => implicit(from, to),
        CoercionKind::Assignment => assignment(from, to),
        CoercionKind::Explicit => explicit(from, to),
    }
}

/// PostgreSQL's `select_common_type`: the type CASE branches, COALESCE
/// arguments, UNION columns, IN lists… resolve to. `context` names the
/// construct in the 42804 error (`CASE types integer and text cannot be
/// matched`). All-unknown resolves to `text`.
pub fn select_common_type(types: &[DataType], context: &str) -> SqlResult<DataType> {
    let mut known = types.iter().copied().filter(|t| *t != DataType::Unknown);
    let Some(mut ptype) = known.next() else {
        return Ok(DataType::Text);
    };
    let mut mixed_typmod = false;
    for ntype in known {
        if ntype == ptype {
            continue;
        }
        if same_base(ntype, ptype) {
            mixed_typmod = true;
            continue;
        }
        if category(ntype) != category(ptype) {
            return Err(SqlError::mismatch(format!(
                "{context} types {} and {} cannot be matched",
                ptype.name(),
                ntype.name()
            )));
        }
        if !is_preferred(ptype) && implicit(ptype, ntype) && !implicit(ntype, ptype) {
            ptype = ntype;
        }
    }
    if mixed_typmod && matches!(ptype, DataType::Numeric(_)) {
        ptype = DataType::Numeric(None);
    }
    Ok(ptype)
}

/// A context whose time zone does not matter (for folding literals).
fn fold_ctx() -> EvalContext {
    EvalContext::default()
}

/// Coerces a bound expression to `to`, as PostgreSQL's `coerce_type`:
/// untyped literals are parsed as `to` now (their errors surface at bind
/// time), untyped parameters take the type, NULL becomes a typed NULL,
/// anything else gets a cast node if `kind` allows the cast. On a
/// disallowed cast returns `None` so the caller reports its own error.
pub(crate) fn try_coerce(
    e: ScalarExpr,
    to: DataType,
    kind: CoercionKind,
    params: &mut Params,
) -> SqlResult<Result<ScalarExpr, ScalarExpr>> {
    let from = e.ty();
    if to == DataType::Unknown || from == to {
        return Ok(Ok(e));
    }
    if same_base(from, to) && (kind == CoercionKind::Implicit || to == DataType::Numeric(None)) {
        return Ok(Ok(e));
    }
    match e {
        ScalarExpr::Literal {
            value: Datum::Null, ..
        } if from == DataType::Unknown => Ok(Ok(ScalarExpr::null(to))),
        ScalarExpr::Literal {
            value: Datum::Text(s),
            ty: DataType::Unknown,
        } => {
            // A timestamptz depends on the session time zone, an object
            // name (`'users'::regclass`) on the statement's catalog: parsed
            // when evaluated.
            if to == DataType::TimestampTz || matches!(to, DataType::Reg(k) if k != RegKind::Oid) {
                let lit = ScalarExpr::Literal {
                    value: Datum::Text(s),
                    ty: DataType::Text,
                };
                return Ok(Ok(cast_node(lit, to, None)));
            }
            let folded = cast(Datum::Text(s), DataType::Text, to, &fold_ctx())?;
            Ok(Ok(ScalarExpr::Literal {
                value: folded,
                ty: to,
            }))
        }
        ScalarExpr::Param {
            index,
            ty: DataType::Unknown,
        } => {
            if let Some(t) = params.types.get_mut(index) {
                *t = to;
            }
            Ok(Ok(ScalarExpr::Param { index, ty: to }))
        }
        e if can_coerce(from, to, kind) => Ok(Ok(cast_node(e, to, None))),
        e => Ok(Err(e)),
    }
}

/// A cast node.
pub(crate) fn cast_node(e: ScalarExpr, to: DataType, length: Option<CharLength>) -> ScalarExpr {
    ScalarExpr::Cast {
        arg: Box::new(e),
        ty: to,
        length,
    }
}

/// [`try_coerce`] in implicit context, reporting a disallowed cast with
/// `err(from_type)`.
pub(crate) fn coerce_or(
    e: ScalarExpr,
    to: DataType,
    params: &mut Params,
    err: impl FnOnce(DataType) -> SqlError,
) -> SqlResult<ScalarExpr> {
    match try_coerce(e, to, CoercionKind::Implicit, params)? {
        Ok(e) => Ok(e),
        Err(e) => Err(err(e.ty())),
    }
}

/// Coerces every expression to the common type of all of them
/// (`context` names the construct in errors).
pub(crate) fn coerce_all(
    exprs: Vec<ScalarExpr>,
    context: &str,
    params: &mut Params,
) -> SqlResult<(Vec<ScalarExpr>, DataType)> {
    let types: Vec<DataType> = exprs.iter().map(ScalarExpr::ty).collect();
    let common = select_common_type(&types, context)?;
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        let ty = e.ty();
        out.push(coerce_or(e, common, params, |_| {
            SqlError::new(
                SqlState::CannotCoerce,
                format!(
                    "{context} could not convert type {} to {}",
                    ty.name(),
                    common.name()
                ),
            )
        })?);
    }
    Ok((out, common))
}

/// The final type of a top-level expression: an untyped literal or
/// parameter becomes `text`, as PostgreSQL resolves output columns.
pub(crate) fn resolve_unknown(e: ScalarExpr, params: &mut Params) -> SqlResult<ScalarExpr> {
    if e.ty() != DataType::Unknown {
        return Ok(e);
    }
    match try_coerce(e, DataType::Text, CoercionKind::Implicit, params)? {
        Ok(e) | Err(e) => Ok(e),
    }
}
