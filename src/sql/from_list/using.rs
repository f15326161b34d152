//! `JOIN … USING (columns)` and `NATURAL JOIN` (USING every column name the
//! two sides share), as PostgreSQL shapes them: the join condition is the
//! equality of each pair; the output starts with one merged column per
//! pair (the left value, the right one for `RIGHT JOIN`, the first that is
//! not NULL for `FULL JOIN`, in the pair's common type), then the left
//! side's other columns, then the right side's. The two inputs' own copies
//! stay reachable as `a.col` (and in `a.*`) but are hidden from unqualified
//! names and from `*`.

use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::join::{self, Kind, Qualified, join_two};
use crate::sql::predicate::fold_ident;
use crate::sql::relation::{Column, Relation};
use crate::sql::scalar::{self, select_common_type};
use crate::sql::select::{QueryCtx, RelScope, hidden_qual, positional_ref, qual_of};
use crate::sql::types::{DataType, Datum};
use sqlparser::ast::{BinaryOperator, Expr, ObjectName};

/// The column names of a `USING` list (42701 for one named twice).
pub(super) fn using_names(list: &[ObjectName]) -> SqlResult<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for n in list {
        let name =
            n.0.last()
                .and_then(|p| p.as_ident())
                .map(fold_ident)
                .ok_or_else(|| SqlError::syntax(format!("syntax error at or near \"{n}\"")))?;
        if names.contains(&name) {
            return Err(SqlError::new(
                SqlState::DuplicateColumn,
                format!("column \"{name}\" appears more than once in USING clause"),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// The columns of `q` that an unqualified name reaches, by name.
fn visible(q: &Qualified) -> impl Iterator<Item = (usize, &str)> {
    q.rel
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !qual_of(q.quals.get(*i).and_then(|x| x.as_deref())).1)
        .map(|(i, c)| (i, c.name.as_str()))
}

/// The one visible column of `q` named `name` (`side` names it in errors).
fn the_column(q: &Qualified, name: &str, side: &str) -> SqlResult<usize> {
    let mut hits = visible(q).filter(|(_, n)| *n == name).map(|(i, _)| i);
    match (hits.next(), hits.next()) {
        (Some(i), None) => Ok(i),
        (None, _) => Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!("column \"{name}\" specified in USING clause does not exist in {side} table"),
        )),
        (Some(_), Some(_)) => Err(SqlError::new(
            SqlState::AmbiguousColumn,
            format!("common column name \"{name}\" appears more than once in {side} table"),
        )),
    }
}

/// `left JOIN right USING (names)`; `None` names: `NATURAL`.
pub(super) fn join(
    ctx: &QueryCtx<'_>,
    left: Qualified,
    right: Qualified,
    kind: Kind,
    names: Option<Vec<String>>,
) -> SqlResult<Qualified> {
    let names = match names {
        Some(n) => n,
        None => {
            let theirs: Vec<&str> = visible(&right).map(|(_, n)| n).collect();
            let mut common: Vec<String> = Vec::new();
            for (_, n) in visible(&left) {
                if theirs.contains(&n) && !common.iter().any(|c| c == n) {
                    common.push(n.to_owned());
                }
            }
            common
        }
    };
    let lw = left.rel.columns.len();
    let mut pairs = Vec::with_capacity(names.len());
    for n in &names {
        let li = the_column(&left, n, "left")?;
        let ri = the_column(&right, n, "right")?;
        let (lt, rt) = (left.rel.columns[li].ty, right.rel.columns[ri].ty);
        pairs.push((li, ri, select_common_type(&[lt, rt], "JOIN/USING")?));
    }
    let (columns, quals) = join::combined(&left, &right);
    let cond = pairs
        .iter()
        .map(|&(li, ri, _)| Expr::BinaryOp {
            left: Box::new(positional_ref(li, &columns[li].name)),
            op: BinaryOperator::Eq,
            right: Box::new(positional_ref(lw + ri, &columns[lw + ri].name)),
        })
        .reduce(|a, b| Expr::BinaryOp {
            left: Box::new(a),
            op: BinaryOperator::And,
            right: Box::new(b),
        })
        .map(|e| {
            let scope = RelScope {
                columns: &columns,
                quals: &quals,
            };
            ctx.bind(&e, &scope)
        })
        .transpose()?;
    let joined = join_two(ctx, left, right, kind, cond.as_ref())?;
    merge(ctx, joined, lw, &pairs, kind)
}

/// Puts the merged column of each pair first and hides the inputs' copies.
fn merge(
    ctx: &QueryCtx<'_>,
    joined: Qualified,
    lw: usize,
    pairs: &[(usize, usize, DataType)],
    kind: Kind,
) -> SqlResult<Qualified> {
    let mut columns: Vec<Column> = Vec::with_capacity(pairs.len() + joined.rel.columns.len());
    let mut quals = Vec::with_capacity(columns.capacity());
    for &(li, _, ty) in pairs {
        columns.push(Column {
            name: joined.rel.columns[li].name.clone(),
            ty,
        });
        quals.push(None);
    }
    let paired: Vec<usize> = pairs
        .iter()
        .flat_map(|&(li, ri, _)| [li, lw + ri])
        .collect();
    for (i, c) in joined.rel.columns.iter().enumerate() {
        columns.push(c.clone());
        let q = joined.quals.get(i).cloned().flatten();
        quals.push(if paired.contains(&i) {
            hidden_qual(qual_of(q.as_deref()).0)
        } else {
            q
        });
    }
    let from: Vec<DataType> = joined.rel.columns.iter().map(|c| c.ty).collect();
    let mut rows = Vec::with_capacity(joined.rel.rows.len());
    for row in joined.rel.rows {
        let mut out = Vec::with_capacity(columns.len());
        for &(li, ri, ty) in pairs {
            let ri = lw + ri;
            let pick = match kind {
                Kind::Inner | Kind::Left => li,
                Kind::Right => ri,
                Kind::Full if row[li].is_null() => ri,
                Kind::Full => li,
            };
            out.push(convert(row[pick].clone(), from[pick], ty, ctx)?);
        }
        out.extend(row);
        rows.push(out);
    }
    Ok(Qualified {
        rel: Relation { columns, rows },
        quals,
    })
}

/// A value of type `from` in type `to` (an untyped literal's value is its
/// text).
fn convert(d: Datum, from: DataType, to: DataType, ctx: &QueryCtx<'_>) -> SqlResult<Datum> {
    let from = if from == DataType::Unknown {
        DataType::Text
    } else {
        from
    };
    if from == to || d.is_null() {
        Ok(d)
    } else {
        scalar::cast(d, from, to, ctx.eval)
    }
}
