//! Scalar expressions with PostgreSQL's typing and semantics, evaluated row
//! at a time.
//!
//! Row-at-a-time evaluation is intended here: these expressions run over
//! small relations only (catalog tables, grouped results, window functions
//! over groups, `ORDER BY`/`LIMIT` of small outputs). Predicates over whole
//! audiences never come here; they become bitmap operations in `exec`.
//!
//! The pipeline is: [`bind`] (sqlparser AST → [`BoundExpr`], resolving names
//! through a [`Scope`], operators, functions, implicit casts and parameter
//! types as PostgreSQL's parser does, folding untyped literals into their
//! context's type) → [`eval`] over a row of [`Datum`]s with an
//! [`EvalContext`]. [`format_text`] gives PostgreSQL's text output and
//! [`compare_datums`] its sort order.

mod array;
mod at_time_zone;
mod bind;
mod bind_array;
mod bind_func;
mod bind_literal;
mod bind_ops;
mod bind_subquery;
pub(crate) mod cast;
mod catalog_func;
mod coerce;
mod datetime;
mod eval;
mod format;
mod func;
mod json;
mod operators;
mod ops;
mod record;
pub(crate) mod regclass;
mod sql_type;
mod subquery;
mod text;
mod window;

#[cfg(test)]
mod tests;

use super::error::SqlResult;
use super::types::{DataType, Datum};

pub use bind::{bind, bind_as, bind_assign, bind_assign_with, bind_with};
pub use cast::cast;
pub use catalog_func::{CatalogAccess, CatalogHandle, RegKind, quote_ident};
pub use coerce::{CoercionKind, can_coerce, select_common_type};
pub use datetime::{format_interval, parse_interval};
pub use eval::eval;
pub(crate) use eval::{Env, eval_in};
pub use format::{compare_datums, format_text};
pub(crate) use json::to_json as value_to_json;
pub use subquery::{CorrelatedRows, SubqueryExpr, SubqueryHost, SubqueryKind, SubqueryRows};
pub use text::{format_text_array, parse_text_array};
pub(crate) use window::{CANCEL_CHECK_ROWS, eval_windows, sort_cancellable};

/// A unary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x` (integers check overflow, `-(-2147483648)` is 22003).
    Neg,
    /// `NOT x` (three-valued).
    Not,
    /// `~x`: bitwise NOT of an integer.
    BitNot,
}

/// A binary operator. Operands are already coerced to the operator's input
/// types when bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (integers truncate toward zero)
    Div,
    /// `%` (sign of the dividend)
    Mod,
    /// `^`
    Pow,
    /// `||` (text, or `text[]` with text or `text[]`)
    Concat,
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND` (three-valued)
    And,
    /// `OR` (three-valued)
    Or,
    /// `&`: bitwise AND of integers of one type.
    BitAnd,
    /// `|`: bitwise OR.
    BitOr,
    /// `#`: bitwise XOR.
    BitXor,
    /// `<<`: shift left by an `integer` count.
    ShiftLeft,
    /// `>>`: arithmetic shift right by an `integer` count.
    ShiftRight,
}

impl BinaryOp {
    /// The operator as written in SQL (for error messages).
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Concat => "||",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "#",
            BinaryOp::ShiftLeft => "<<",
            BinaryOp::ShiftRight => ">>",
        }
    }

    /// Whether this is one of the six comparison operators.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }
}

/// A built-in scalar function, resolved to one PostgreSQL signature family.
/// Evaluation dispatches on the bound argument types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Func {
    Abs,
    Round,
    Ceil,
    Floor,
    Trunc,
    Sqrt,
    Power,
    Mod,
    Sign,
    Greatest,
    Least,
    NullIf,
    Lower,
    Upper,
    Length,
    OctetLength,
    Substr,
    Btrim,
    Ltrim,
    Rtrim,
    Concat,
    ConcatWs,
    Replace,
    Left,
    Right,
    Strpos,
    SplitPart,
    StartsWith,
    Repeat,
    Reverse,
    Now,
    CurrentDate,
    LocalTimestamp,
    DateTrunc,
    /// `extract(field FROM x)`: numeric result.
    Extract,
    /// `date_part(field, x)`: float8 result.
    DatePart,
    Age,
    ArrayLength,
    Cardinality,
    ArrayToString,
    ArrayLower,
    ArrayUpper,
    ArrayAppend,
    ArrayCat,
    ArrayPosition,
    /// `string_to_array(text, delim [, null_string])` (not strict).
    StringToArray,
    /// `a[i]`: arguments array, subscript.
    Subscript,
    /// `a[lo:hi]`: arguments array, then the bounds written (`lower`,
    /// `upper` say which).
    Slice {
        /// A lower bound was written.
        lower: bool,
        /// An upper bound was written.
        upper: bool,
    },
    /// `json_build_object(k, v, …)` (not strict).
    JsonBuildObject,
    /// `json_build_array(v, …)` (not strict).
    JsonBuildArray,
    /// `to_json(x)`.
    ToJson,
    /// `parse_ident(text [, strict])`.
    ParseIdent,
    /// `timezone(zone, x)` / `x AT TIME ZONE zone`: arguments zone (text or
    /// interval), then the timestamp or timestamptz.
    Timezone,
    /// A catalog or session function (`format_type`, `current_schema`, …)
    /// or a regular-expression match.
    Catalog(catalog_func::CatalogFunc),
}

/// A window function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WindowFunc {
    Sum,
    Count,
    /// `count(*)`
    CountStar,
    Avg,
    Min,
    Max,
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile,
    Lag,
    Lead,
    FirstValue,
    LastValue,
}

/// One bound of a window frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`
    UnboundedPreceding,
    /// `n PRECEDING` (`ROWS` frames only)
    Preceding(u64),
    /// `CURRENT ROW` (with its peers in `RANGE` mode)
    CurrentRow,
    /// `n FOLLOWING` (`ROWS` frames only)
    Following(u64),
    /// `UNBOUNDED FOLLOWING`
    UnboundedFollowing,
}

/// A window frame: `ROWS` or `RANGE` between two bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowFrame {
    /// `ROWS` (physical rows) rather than `RANGE` (peers count as one).
    pub rows: bool,
    /// The start bound.
    pub start: FrameBound,
    /// The end bound.
    pub end: FrameBound,
}

/// One `ORDER BY` key of a window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowOrder {
    /// The key.
    pub expr: ScalarExpr,
    /// `DESC`.
    pub descending: bool,
    /// Where NULLs go (PostgreSQL default: last for ASC, first for DESC).
    pub nulls_first: bool,
}

/// A window function call `f(args) OVER (PARTITION BY … ORDER BY … frame)`.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowExpr {
    /// The function.
    pub func: WindowFunc,
    /// Its arguments (coerced to the chosen signature).
    pub args: Vec<ScalarExpr>,
    /// `PARTITION BY` expressions.
    pub partition_by: Vec<ScalarExpr>,
    /// `ORDER BY` keys.
    pub order_by: Vec<WindowOrder>,
    /// The frame (PostgreSQL's default when none is written).
    pub frame: WindowFrame,
    /// The result type.
    pub ty: DataType,
}

/// A fixed-length character type applied by a cast (`varchar(n)`, `char(n)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharLength {
    /// `varchar(n)`: an explicit cast truncates to `n` characters.
    Varchar(u32),
    /// `char(n)`: truncates to `n` characters; trailing spaces are dropped
    /// (PostgreSQL pads on output only, and ignores them everywhere else).
    Char(u32),
}

/// A bound, typed scalar expression. Every node knows its result type
/// ([`ScalarExpr::ty`]); operands are already coerced to what their
/// operator or function expects.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarExpr {
    /// The value of column `index` of the input row.
    Column {
        /// 0-based column position.
        index: usize,
        /// The column type.
        ty: DataType,
    },
    /// A constant. An untyped string literal is `Datum::Text` with type
    /// `Unknown`; `NULL` is `Datum::Null`.
    Literal {
        /// The value.
        value: Datum,
        /// Its type.
        ty: DataType,
    },
    /// Parameter `$index+1`, taken from [`EvalContext::params`].
    Param {
        /// 0-based parameter index.
        index: usize,
        /// The parameter's (inferred) type.
        ty: DataType,
    },
    /// A unary operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        arg: Box<ScalarExpr>,
        /// The result type.
        ty: DataType,
    },
    /// A binary operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<ScalarExpr>,
        /// Right operand.
        right: Box<ScalarExpr>,
        /// The result type.
        ty: DataType,
    },
    /// `x IS [NOT] NULL`.
    IsNull {
        /// The operand.
        arg: Box<ScalarExpr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `x IS [NOT] TRUE | FALSE | UNKNOWN` (`value` `None` is UNKNOWN).
    IsBool {
        /// The boolean operand.
        arg: Box<ScalarExpr>,
        /// TRUE, FALSE, or UNKNOWN (`None`).
        value: Option<bool>,
        /// `IS NOT …`.
        negated: bool,
    },
    /// `a IS [NOT] DISTINCT FROM b` (operands of one type).
    IsDistinctFrom {
        /// Left operand.
        left: Box<ScalarExpr>,
        /// Right operand.
        right: Box<ScalarExpr>,
        /// `IS NOT DISTINCT FROM`.
        negated: bool,
    },
    /// `x [NOT] IN (list)`, all of one type; NULLs make a non-match NULL.
    InList {
        /// The tested value.
        arg: Box<ScalarExpr>,
        /// The candidates.
        list: Vec<ScalarExpr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `x [NOT] BETWEEN [SYMMETRIC] low AND high`, all of one type.
    Between {
        /// The tested value.
        arg: Box<ScalarExpr>,
        /// Lower bound.
        low: Box<ScalarExpr>,
        /// Upper bound.
        high: Box<ScalarExpr>,
        /// `NOT BETWEEN`.
        negated: bool,
        /// `SYMMETRIC`: bounds may come in either order.
        symmetric: bool,
    },
    /// `x [NOT] LIKE | ILIKE pattern [ESCAPE e]` (default escape `\`).
    Like {
        /// The text.
        arg: Box<ScalarExpr>,
        /// The pattern (`%`, `_`).
        pattern: Box<ScalarExpr>,
        /// The escape character expression, if written.
        escape: Option<Box<ScalarExpr>>,
        /// ILIKE.
        case_insensitive: bool,
        /// NOT LIKE.
        negated: bool,
    },
    /// Searched `CASE WHEN c THEN r … ELSE e END` (a simple CASE is bound as
    /// searched, with `operand = value` conditions).
    Case {
        /// (condition, result) pairs.
        whens: Vec<(ScalarExpr, ScalarExpr)>,
        /// ELSE (NULL when absent).
        else_result: Option<Box<ScalarExpr>>,
        /// The resolved result type.
        ty: DataType,
    },
    /// A cast with explicit-cast semantics (implicit coercions bind to this
    /// node too; they only ever use casts valid in that context).
    Cast {
        /// The operand.
        arg: Box<ScalarExpr>,
        /// The target type.
        ty: DataType,
        /// A `varchar(n)` / `char(n)` length, for text targets.
        length: Option<CharLength>,
    },
    /// A scalar function call.
    Function {
        /// The function.
        func: Func,
        /// Its arguments, coerced.
        args: Vec<ScalarExpr>,
        /// The result type.
        ty: DataType,
    },
    /// A window function call, computed by `relation::project`.
    Window(Box<WindowExpr>),
    /// `COALESCE(a, b, …)`: the first non-NULL argument.
    Coalesce {
        /// The arguments, of one type.
        args: Vec<ScalarExpr>,
        /// That type.
        ty: DataType,
    },
    /// `x op ANY(array)` / `x op ALL(array)`, `x` of the element type.
    AnyArray {
        /// The tested value (text).
        arg: Box<ScalarExpr>,
        /// The comparison operator.
        op: BinaryOp,
        /// The array.
        array: Box<ScalarExpr>,
        /// ALL rather than ANY.
        all: bool,
    },
    /// `a @> b`: every element of `b` is in `a` (`a <@ b` binds swapped).
    ArrayContains {
        /// The containing array.
        left: Box<ScalarExpr>,
        /// The contained array.
        right: Box<ScalarExpr>,
    },
    /// `a && b`: the arrays share an element.
    ArrayOverlap {
        /// Left array.
        left: Box<ScalarExpr>,
        /// Right array.
        right: Box<ScalarExpr>,
    },
    /// `ARRAY[a, b, …]`, its elements coerced to one type (never empty).
    ArrayLiteral {
        /// The elements.
        elems: Vec<ScalarExpr>,
    },
    /// A subquery: scalar, EXISTS, IN or ARRAY (see [`SubqueryExpr`]).
    Subquery(Box<SubqueryExpr>),
    /// `ROW(a, b, …)`: a row value of record type `ty`.
    Row {
        /// The field values.
        fields: Vec<ScalarExpr>,
        /// The record type.
        ty: DataType,
    },
    /// `(arg).field`: field `index` of a row value.
    FieldSelect {
        /// The row-valued operand.
        arg: Box<ScalarExpr>,
        /// The field's position.
        index: usize,
        /// The field's type.
        ty: DataType,
    },
}

impl ScalarExpr {
    /// The expression's result type.
    pub fn ty(&self) -> DataType {
        match self {
            ScalarExpr::Column { ty, .. }
            | ScalarExpr::Literal { ty, .. }
            | ScalarExpr::Param { ty, .. }
            | ScalarExpr::Unary { ty, .. }
            | ScalarExpr::Binary { ty, .. }
            | ScalarExpr::Case { ty, .. }
            | ScalarExpr::Cast { ty, .. }
            | ScalarExpr::Function { ty, .. }
            | ScalarExpr::Coalesce { ty, .. }
            | ScalarExpr::Row { ty, .. }
            | ScalarExpr::FieldSelect { ty, .. } => *ty,
            ScalarExpr::Window(w) => w.ty,
            ScalarExpr::Subquery(s) => s.ty,
            ScalarExpr::IsNull { .. }
            | ScalarExpr::IsBool { .. }
            | ScalarExpr::IsDistinctFrom { .. }
            | ScalarExpr::InList { .. }
            | ScalarExpr::Between { .. }
            | ScalarExpr::Like { .. }
            | ScalarExpr::AnyArray { .. }
            | ScalarExpr::ArrayContains { .. }
            | ScalarExpr::ArrayOverlap { .. } => DataType::Bool,
            ScalarExpr::ArrayLiteral { elems } => elems
                .first()
                .and_then(|e| e.ty().array_of())
                .unwrap_or(DataType::TextArray),
        }
    }

    /// A NULL of type `ty`.
    pub fn null(ty: DataType) -> ScalarExpr {
        ScalarExpr::Literal {
            value: Datum::Null,
            ty,
        }
    }

    /// Whether the expression contains a window function call.
    pub fn contains_window(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, ScalarExpr::Window(_)));
        found
    }

    /// Calls `f` on this node and every node below it (window arguments
    /// included), parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&ScalarExpr)) {
        f(self);
        match self {
            ScalarExpr::Column { .. } | ScalarExpr::Literal { .. } | ScalarExpr::Param { .. } => {}
            ScalarExpr::Unary { arg, .. }
            | ScalarExpr::IsNull { arg, .. }
            | ScalarExpr::IsBool { arg, .. }
            | ScalarExpr::Cast { arg, .. }
            | ScalarExpr::FieldSelect { arg, .. } => arg.walk(f),
            ScalarExpr::Binary { left, right, .. }
            | ScalarExpr::IsDistinctFrom { left, right, .. }
            | ScalarExpr::ArrayContains { left, right }
            | ScalarExpr::ArrayOverlap { left, right } => {
                left.walk(f);
                right.walk(f);
            }
            ScalarExpr::InList { arg, list, .. } => {
                arg.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            ScalarExpr::Between { arg, low, high, .. } => {
                arg.walk(f);
                low.walk(f);
                high.walk(f);
            }
            ScalarExpr::Like {
                arg,
                pattern,
                escape,
                ..
            } => {
                arg.walk(f);
                pattern.walk(f);
                if let Some(e) = escape {
                    e.walk(f);
                }
            }
            ScalarExpr::Case {
                whens, else_result, ..
            } => {
                for (c, r) in whens {
                    c.walk(f);
                    r.walk(f);
                }
                if let Some(e) = else_result {
                    e.walk(f);
                }
            }
            ScalarExpr::Function { args, .. }
            | ScalarExpr::Coalesce { args, .. }
            | ScalarExpr::ArrayLiteral { elems: args }
            | ScalarExpr::Row { fields: args, .. } => args.iter().for_each(|e| e.walk(f)),
            ScalarExpr::Window(w) => {
                w.args.iter().for_each(|e| e.walk(f));
                w.partition_by.iter().for_each(|e| e.walk(f));
                w.order_by.iter().for_each(|o| o.expr.walk(f));
            }
            ScalarExpr::AnyArray { arg, array, .. } => {
                arg.walk(f);
                array.walk(f);
            }
            ScalarExpr::Subquery(s) => {
                if let SubqueryKind::In { arg, .. } = &s.kind {
                    arg.walk(f);
                }
            }
        }
    }
}

/// A bound expression and its result type (`expr.ty()`, kept alongside for
/// callers that only need the type).
#[derive(Clone, Debug, PartialEq)]
pub struct BoundExpr {
    /// The expression tree.
    pub expr: ScalarExpr,
    /// Its result type.
    pub ty: DataType,
}

impl BoundExpr {
    /// Wraps an expression with its type.
    pub fn new(expr: ScalarExpr) -> BoundExpr {
        let ty = expr.ty();
        BoundExpr { expr, ty }
    }
}

/// Name resolution for column references. Reporting 42703 (undefined
/// column) and 42702 (ambiguous column) is the scope's job.
pub trait Scope {
    /// The position and type of column `name`, optionally qualified by a
    /// table name or alias. Names arrive already case-folded as PostgreSQL
    /// does (unquoted identifiers lower-cased).
    fn resolve(&self, qualifier: Option<&str>, name: &str) -> SqlResult<(usize, DataType)>;
}

/// Types of the statement's parameters `$1…$n` (index 0 is `$1`). Entries
/// that are `Unknown` get inferred from their first typed context during
/// binding (`age > $1` makes `$1` an `integer`); [`Params::finish`] turns
/// the rest into `text`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// One type per parameter.
    pub types: Vec<DataType>,
}

/// The largest parameter number accepted (`$65535`), as PostgreSQL's wire
/// protocol allows.
pub const PARAMS_MAX: usize = 65_535;

impl Params {
    /// No declared parameters (all inferred).
    pub fn new() -> Params {
        Params::default()
    }

    /// Parameters whose types the client declared (`Unknown` = infer).
    pub fn with_types(types: Vec<DataType>) -> Params {
        Params { types }
    }

    /// Resolves the still-unknown parameter types to `text`.
    pub fn finish(&mut self) {
        for t in &mut self.types {
            if *t == DataType::Unknown {
                *t = DataType::Text;
            }
        }
    }
}

/// What evaluation needs besides the row: the statement's clock, the
/// session time zone and the parameter values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalContext {
    /// The statement timestamp (`now()`), microseconds since 1970 UTC.
    pub now_micros: i64,
    /// The session time zone (`TimeZone`).
    pub timezone: crate::sql::timezone::TimeZone,
    /// Parameter values (`$1` is index 0), already of the bound types.
    pub params: Vec<Datum>,
    /// The catalog and session that catalog functions read (`None`:
    /// PostgreSQL's defaults; see `catalog_func`).
    pub catalog: Option<CatalogHandle>,
}
