//! Output of object-identifier values: PostgreSQL prints a `regclass`
//! (`regtype`, `regnamespace`, `regproc`, `regrole`) value as the object's
//! name, so `SELECT 'users'::regclass` shows `users` while
//! `'users'::regclass::oid` shows the oid.
//!
//! audb keeps reg values as oids (`bigint`, see [`super::catalog_func`]),
//! which is what comparisons (`c.oid = 'users'::regclass`), joins and
//! arithmetic need. Only where a reg value leaves the statement as a
//! result column does it become its name: [`print_names`] rewrites each
//! select-list item of a statement's outermost query (every arm of a set
//! operation, and the query of `COPY (…) TO STDOUT`) whose value is a cast
//! to a reg type into that cast followed by `::text`, which prints the
//! name (`reg_to_text`). The column keeps PostgreSQL's name (`regclass`
//! for a literal, else the name of the casted column) but its type is
//! `text`, where PostgreSQL says `regclass`; nested queries, `WHERE`,
//! `ORDER BY` and `GROUP BY` keep the oids.

use sqlparser::ast::{
    CastKind, CopySource, DataType, Expr, Ident, ObjectNamePart, Query, SelectItem, SetExpr,
    Statement,
};

use super::catalog_func::reg_kind;

/// Rewrites `stmt` so that its result columns of reg types print names.
pub(crate) fn print_names(stmt: &mut Statement) {
    match stmt {
        Statement::Query(q) => query(q),
        Statement::Copy {
            source: CopySource::Query(q),
            ..
        } => query(q),
        _ => {}
    }
}

fn query(q: &mut Query) {
    set_expr(&mut q.body);
}

fn set_expr(body: &mut SetExpr) {
    match body {
        SetExpr::Select(s) => {
            for item in &mut s.projection {
                select_item(item);
            }
        }
        SetExpr::Query(q) => query(q),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr(left);
            set_expr(right);
        }
        _ => {}
    }
}

/// The reg cast an expression ends in (`x::regclass`, `(x::regclass)`):
/// the casted expression and the reg type as written.
fn reg_cast(e: &Expr) -> Option<(&Expr, &DataType)> {
    match e {
        Expr::Nested(inner) => reg_cast(inner),
        Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            expr,
            data_type,
            format: None,
        } if reg_kind(data_type).is_some() => Some((expr, data_type)),
        _ => None,
    }
}

/// PostgreSQL's output name for `inner::ty`: the column or function name
/// of `inner`, else the type's name.
fn output_name(inner: &Expr, ty: &DataType) -> String {
    named(inner).unwrap_or_else(|| type_name(ty))
}

/// The name PostgreSQL gives a column computed by `e`, if `e` has one.
fn named(e: &Expr) -> Option<String> {
    let ident = |id: &Ident| {
        if id.quote_style.is_some() {
            id.value.clone()
        } else {
            id.value.to_lowercase()
        }
    };
    match e {
        Expr::Identifier(id) => Some(ident(id)),
        Expr::CompoundIdentifier(parts) => parts.last().map(ident),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => Some(ident(id)),
            _ => None,
        },
        Expr::Nested(e) => named(e),
        Expr::Cast { expr, .. } => named(expr),
        _ => None,
    }
}

/// The name of a reg type as written (`pg_catalog.regclass` → `regclass`).
fn type_name(ty: &DataType) -> String {
    let written = ty.to_string().to_lowercase();
    match written.rsplit_once('.') {
        Some((_, last)) => last.to_owned(),
        None => written,
    }
}

fn as_text(e: Expr) -> Expr {
    Expr::Cast {
        kind: CastKind::DoubleColon,
        expr: Box::new(e),
        data_type: DataType::Text,
        format: None,
    }
}

fn select_item(item: &mut SelectItem) {
    match item {
        SelectItem::UnnamedExpr(e) => {
            let Some((inner, ty)) = reg_cast(e) else {
                return;
            };
            let alias = Ident::with_quote('"', output_name(inner, ty));
            let expr = as_text(std::mem::replace(
                e,
                Expr::value(sqlparser::ast::Value::Null),
            ));
            *item = SelectItem::ExprWithAlias { expr, alias };
        }
        SelectItem::ExprWithAlias { expr, .. } if reg_cast(expr).is_some() => {
            let e = std::mem::replace(expr, Expr::value(sqlparser::ast::Value::Null));
            *expr = as_text(e);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut stmts = crate::sql::parse(sql).expect("parse");
        print_names(&mut stmts[0]);
        stmts[0].to_string()
    }

    #[test]
    fn only_result_columns_of_reg_types_become_names() {
        assert_eq!(
            rewritten("SELECT 'users'::regclass"),
            "SELECT 'users'::REGCLASS::TEXT AS \"regclass\""
        );
        assert_eq!(
            rewritten("SELECT c.oid::pg_catalog.regclass, 1 FROM pg_class c"),
            "SELECT c.oid::pg_catalog.regclass::TEXT AS \"oid\", 1 FROM pg_class c"
        );
        assert_eq!(
            rewritten("SELECT 'int4'::regtype AS t UNION SELECT 'text'::regtype"),
            "SELECT 'int4'::regtype::TEXT AS t UNION SELECT 'text'::regtype::TEXT AS \"regtype\""
        );
        for kept in [
            "SELECT 'users'::regclass::oid",
            "SELECT 1 FROM pg_class c WHERE c.oid = 'users'::regclass",
            "SELECT (SELECT 'users'::regclass) + 0",
            "INSERT INTO t SELECT 'users'::regclass",
        ] {
            let before = crate::sql::parse(kept).expect("parse")[0].to_string();
            assert_eq!(rewritten(kept), before, "{kept}");
        }
    }
}
