//! The name of a select-list column without an alias, as PostgreSQL's
//! `FigureColname` gives it: a column reference or function call names it
//! strongly; a cast names it after its type only when its argument has no
//! strong name (`x::text` is `x`, `1::int` is `int4`, `1::int::text` is
//! `text`); a `CASE` names it after its `ELSE` branch if that has a strong
//! name, else `case`; anything else is `?column?`.

use crate::sql::predicate::fold_ident;
use sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, DataType as T, ExactNumberInfo, Expr, ObjectNamePart, Query,
    SelectItem, SetExpr, TimezoneInfo, TrimWhereField,
};

/// How sure a name is (no name at all is `None` of [`figure`]): a cast
/// keeps a strong name of its argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// A cast's type or `case`: a cast around it renames it.
    Weak,
    /// A column, function or constructor name.
    Strong,
}

/// PostgreSQL's default output column name for an expression.
pub fn default_name(e: &Expr) -> String {
    figure(e)
        .map(|(name, _)| name)
        .unwrap_or_else(|| "?column?".into())
}

/// The name `e` gives its column and how strongly (`None`: no name).
fn figure(e: &Expr) -> Option<(String, Strength)> {
    use Strength::{Strong, Weak};
    let strong = |s: &str| Some((s.to_owned(), Strong));
    match e {
        Expr::Identifier(id) => Some((fold_ident(id), Strong)),
        Expr::CompoundIdentifier(parts) => Some((fold_ident(parts.last()?), Strong)),
        Expr::Function(f) => match f.name.0.last()? {
            ObjectNamePart::Identifier(id) => Some((fold_ident(id), Strong)),
            ObjectNamePart::Function(_) => None,
        },
        Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => figure(inner),
        Expr::Cast {
            expr, data_type, ..
        } => match figure(expr) {
            Some((name, Strong)) => Some((name, Strong)),
            _ => Some((type_name(data_type)?, Weak)),
        },
        Expr::TypedString(ts) => Some((type_name(&ts.data_type)?, Weak)),
        Expr::Interval(_) => Some(("interval".into(), Weak)),
        Expr::Case { else_result, .. } => match else_result.as_deref().and_then(figure) {
            Some((name, Strong)) => Some((name, Strong)),
            _ => Some(("case".into(), Weak)),
        },
        Expr::Exists { negated: false, .. } => strong("exists"),
        Expr::Subquery(q) => Some((subquery_name(q), Strong)),
        Expr::Array(_) => strong("array"),
        Expr::Tuple(_) => strong("row"),
        Expr::CompoundFieldAccess { root, access_chain } => match access_chain.last()? {
            AccessExpr::Dot(Expr::Identifier(id)) => Some((fold_ident(id), Strong)),
            // `arr[1]` and `(f(x))[1]` are named after the subscripted expression.
            AccessExpr::Subscript(_) => figure(root),
            AccessExpr::Dot(_) => None,
        },
        // Special syntax PostgreSQL turns into function calls.
        Expr::Ceil { .. } => strong("ceil"),
        Expr::Floor { .. } => strong("floor"),
        Expr::Position { .. } => strong("position"),
        Expr::Substring { .. } => strong("substring"),
        Expr::Overlay { .. } => strong("overlay"),
        Expr::Extract { .. } => strong("extract"),
        Expr::AtTimeZone { .. } => strong("timezone"),
        Expr::Trim { trim_where, .. } => strong(match trim_where {
            Some(TrimWhereField::Leading) => "ltrim",
            Some(TrimWhereField::Trailing) => "rtrim",
            _ => "btrim",
        }),
        _ => None,
    }
}

/// A scalar subquery's column is named after the subquery's only column.
fn subquery_name(q: &Query) -> String {
    let mut body = q.body.as_ref();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(inner) => body = inner.body.as_ref(),
            SetExpr::Select(s) => {
                return match s.projection.first() {
                    Some(SelectItem::UnnamedExpr(e)) => default_name(e),
                    Some(SelectItem::ExprWithAlias { alias, .. }) => fold_ident(alias),
                    _ => "?column?".into(),
                };
            }
            _ => return "?column?".into(),
        }
    }
}

/// The last name of a type as PostgreSQL's grammar spells it: SQL
/// keywords become the catalog name (`integer` is `int4`, `double
/// precision` `float8`, `character varying` `varchar`), other names stay
/// as written; an array is named after its element type.
fn type_name(t: &T) -> Option<String> {
    let name = match t {
        T::Int(_) | T::Integer(_) | T::Int4(_) => "int4",
        T::BigInt(_) | T::Int8(_) => "int8",
        T::SmallInt(_) | T::Int2(_) => "int2",
        T::Numeric(_) | T::Decimal(_) | T::Dec(_) => "numeric",
        T::Real | T::Float4 => "float4",
        T::Float(ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _))
            if *p <= 24 =>
        {
            "float4"
        }
        T::Float(_) | T::DoublePrecision | T::Float8 | T::Double(_) => "float8",
        T::Boolean | T::Bool => "bool",
        T::Text => "text",
        T::Varchar(_) | T::CharacterVarying(_) | T::CharVarying(_) => "varchar",
        T::Char(_) | T::Character(_) => "bpchar",
        T::Date => "date",
        T::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => "timestamptz",
        T::Timestamp(..) => "timestamp",
        T::Time(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => "timetz",
        T::Time(..) => "time",
        T::Interval { .. } => "interval",
        T::JSON => "json",
        T::JSONB => "jsonb",
        T::Bytea => "bytea",
        T::Uuid => "uuid",
        T::Regclass => "regclass",
        T::Bit(_) => "bit",
        T::BitVarying(_) | T::VarBit(_) => "varbit",
        T::Array(
            ArrayElemTypeDef::SquareBracket(inner, _)
            | ArrayElemTypeDef::AngleBracket(inner)
            | ArrayElemTypeDef::Parenthesis(inner),
        ) => return type_name(inner),
        // `'x'::pg_catalog.regtype` is named `regtype`.
        T::Custom(name, _) => {
            return match name.0.last()? {
                ObjectNamePart::Identifier(id) => Some(fold_ident(id)),
                ObjectNamePart::Function(_) => None,
            };
        }
        _ => return None,
    };
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::Statement;

    /// The names PostgreSQL 15 gives each column of `sql`.
    fn names(sql: &str) -> Vec<String> {
        let Statement::Query(q) = crate::sql::parse(sql).unwrap().remove(0) else {
            panic!("not a query");
        };
        let SetExpr::Select(s) = *q.body else {
            panic!("not a select");
        };
        s.projection
            .iter()
            .map(|p| match p {
                SelectItem::UnnamedExpr(e) => default_name(e),
                other => panic!("{other}"),
            })
            .collect()
    }

    #[test]
    fn casts_are_named_after_the_type_as_postgres_spells_it() {
        assert_eq!(
            names(
                "SELECT 'x'::varchar, 1::int4, 1::double precision, 1::int, '1'::integer, \
                 1::bigint, 1::real, 1::numeric(3,1), 'x'::char(2), 'x'::character varying, \
                 '1'::timestamptz, '1'::timestamp with time zone, '1'::timestamp, \
                 '{x}'::text[], 'x'::name, 1::smallint, true::boolean, '1 day'::interval, \
                 1::float, 1::float(3), 1::decimal, '12:00'::time, '12:00'::timetz, \
                 1::pg_catalog.int4, '{1}'::varchar(3)[], $1::timestamptz, $1::text[]"
            ),
            [
                "varchar",
                "int4",
                "float8",
                "int4",
                "int4",
                "int8",
                "float4",
                "numeric",
                "bpchar",
                "varchar",
                "timestamptz",
                "timestamptz",
                "timestamp",
                "text",
                "name",
                "int2",
                "bool",
                "interval",
                "float8",
                "float4",
                "numeric",
                "time",
                "timetz",
                "int4",
                "varchar",
                "timestamptz",
                "text"
            ]
        );
    }

    #[test]
    fn a_cast_keeps_a_strong_name_of_its_argument() {
        assert_eq!(
            names(
                "SELECT x::text, 1::int::text, (1 + 1)::text, -1::int, now()::date, \
                 (CASE WHEN true THEN 1 END)::text, (CASE WHEN true THEN 1 ELSE x END)::text, \
                 CASE WHEN true THEN 1 ELSE x END, CASE WHEN true THEN 1 END, \
                 ARRAY[1]::text[], (SELECT 1)::text, date '2020-01-01', interval '1 day'"
            ),
            [
                "x", "text", "text", "?column?", "now", "text", "x", "x", "case", "array",
                "?column?", "date", "interval"
            ]
        );
    }

    #[test]
    fn constructors_and_special_syntax_have_postgres_names() {
        assert_eq!(
            names(
                "SELECT (1, 'a'), ROW(1, 2), ARRAY[1], EXISTS (SELECT 1), NOT EXISTS (SELECT 1), \
                 (SELECT 1 AS q), ceil(1.5), floor(1.5), position('a' in 'ba'), \
                 substring('abc' from 2), trim(' a '), trim(leading 'a' from 'ab'), \
                 overlay('abc' placing 'x' from 2), extract(year from now()), \
                 now() at time zone 'UTC', 'a' collate \"C\", (ARRAY[1])[1]"
            ),
            [
                "row",
                "row",
                "array",
                "exists",
                "?column?",
                "q",
                "ceil",
                "floor",
                "position",
                "substring",
                "btrim",
                "ltrim",
                "overlay",
                "extract",
                "timezone",
                "?column?",
                "array"
            ]
        );
    }
}
