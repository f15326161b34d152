//! Tests of the relational layer; expected outputs were produced by
//! PostgreSQL 15.18 on the same rows (the SQL is quoted with each test).

use super::*;
use crate::sql::scalar::{EvalContext, Params, bind, format_text};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

fn text(s: &str) -> Datum {
    Datum::Text(s.into())
}

/// `(VALUES ('a', 1, 'x'), ('a', 2, 'y'), ('b', 3, NULL), ('a', 2, 'z'),
/// ('b', NULL, 'w')) AS r(g, v, s)`
fn sample() -> Relation {
    let row = |g: &str, v: Option<i64>, s: Option<&str>| {
        vec![
            text(g),
            v.map_or(Datum::Null, Datum::Int),
            s.map_or(Datum::Null, text),
        ]
    };
    Relation {
        columns: vec![
            Column {
                name: "g".into(),
                ty: DataType::Text,
            },
            Column {
                name: "v".into(),
                ty: DataType::Int4,
            },
            Column {
                name: "s".into(),
                ty: DataType::Text,
            },
        ],
        rows: vec![
            row("a", Some(1), Some("x")),
            row("a", Some(2), Some("y")),
            row("b", Some(3), None),
            row("a", Some(2), Some("z")),
            row("b", None, Some("w")),
        ],
    }
}

fn bind_on(rel: &Relation, sql: &str) -> BoundExpr {
    let expr = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    bind(
        &expr,
        &RelationScope::new(rel, Some("r")),
        &mut Params::new(),
    )
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Projects `exprs` then sorts by column `s` (NULLS LAST) and renders text.
fn project_sorted(rel: &Relation, exprs: &[&str]) -> Vec<String> {
    let ctx = EvalContext::default();
    let mut bound: Vec<(String, BoundExpr)> = exprs
        .iter()
        .map(|e| (e.to_string(), bind_on(rel, e)))
        .collect();
    bound.push(("s".into(), bind_on(rel, "s")));
    let out = project(rel, &bound, &ctx, &Cancel::none()).unwrap();
    let key = SortKey {
        expr: BoundExpr::new(ScalarExpr::Column {
            index: exprs.len(),
            ty: DataType::Text,
        }),
        descending: false,
        nulls_first: None,
    };
    let out = sort(out, &[key], &ctx, &Cancel::none()).unwrap();
    out.rows
        .iter()
        .map(|row| {
            row[..exprs.len()]
                .iter()
                .zip(&out.columns)
                .map(|(d, c)| format_text(d, c.ty, &ctx).unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// `SELECT <exprs> FROM r ORDER BY s` in PostgreSQL 15.
#[test]
fn window_functions_match_postgres() {
    let rel = sample();
    let exprs = [
        "sum(v) OVER ()",
        "sum(v) OVER (PARTITION BY g ORDER BY v)",
        "count(*) OVER (PARTITION BY g)",
        "count(v) OVER ()",
        "avg(v) OVER (PARTITION BY g)",
        "row_number() OVER (ORDER BY v NULLS FIRST, s)",
        "rank() OVER (ORDER BY v)",
        "dense_rank() OVER (ORDER BY v)",
        "min(s) OVER (PARTITION BY g)",
        "max(v) OVER (ORDER BY v DESC)",
        "lag(v) OVER (PARTITION BY g ORDER BY s)",
        "lead(v, 1, -1) OVER (PARTITION BY g ORDER BY s)",
        "percent_rank() OVER (ORDER BY v)",
        "sum(v) OVER (ORDER BY s ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)",
        "round(count(*) OVER (PARTITION BY g) * 100.0 / count(*) OVER (), 2)",
        "ntile(2) OVER (ORDER BY s)",
    ];
    let want = [
        "8|3|2|4|3.0000000000000000|1|5|4|w|NULL|NULL|3|1|1|40.00|1",
        "8|1|3|4|1.6666666666666667|2|1|1|x|3|NULL|2|0|3|60.00|1",
        "8|5|3|4|1.6666666666666667|3|2|2|x|3|1|2|0.25|5|60.00|1",
        "8|5|3|4|1.6666666666666667|4|2|2|x|3|2|-1|0.25|7|60.00|2",
        "8|3|2|4|3.0000000000000000|5|4|3|w|3|NULL|-1|0.75|5|40.00|2",
    ];
    assert_eq!(project_sorted(&rel, &exprs), want);
}

#[test]
fn window_result_types_match_postgres() {
    let rel = sample();
    assert_eq!(bind_on(&rel, "sum(v) OVER ()").ty, DataType::Int8);
    assert_eq!(
        bind_on(&rel, "sum(v::int8) OVER ()").ty,
        DataType::Numeric(None)
    );
    assert_eq!(bind_on(&rel, "avg(v) OVER ()").ty, DataType::Numeric(None));
    assert_eq!(bind_on(&rel, "count(*) OVER ()").ty, DataType::Int8);
}

/// `SELECT avg(x) OVER () FROM (VALUES (1),(2)) t(x)` → 1.5000000000000000.
#[test]
fn avg_of_integers_uses_numeric_division_scale() {
    let rel = Relation {
        columns: vec![Column {
            name: "x".into(),
            ty: DataType::Int4,
        }],
        rows: vec![vec![Datum::Int(1)], vec![Datum::Int(2)]],
    };
    let out = project(
        &rel,
        &[("a".into(), bind_on(&rel, "avg(x) OVER ()"))],
        &EvalContext::default(),
        &Cancel::none(),
    )
    .unwrap();
    assert_eq!(
        format_text(&out.rows[0][0], out.columns[0].ty, &EvalContext::default()).as_deref(),
        Some("1.5000000000000000")
    );
}

fn ints(values: &[Option<i64>]) -> Relation {
    Relation {
        columns: vec![Column {
            name: "x".into(),
            ty: DataType::Int4,
        }],
        rows: values
            .iter()
            .map(|v| vec![v.map_or(Datum::Null, Datum::Int)])
            .collect(),
    }
}

fn int_column(rel: &Relation) -> Vec<Option<i64>> {
    rel.rows
        .iter()
        .map(|r| match r[0] {
            Datum::Int(v) => Some(v),
            _ => None,
        })
        .collect()
}

fn key(descending: bool, nulls_first: Option<bool>) -> SortKey {
    SortKey {
        expr: BoundExpr::new(ScalarExpr::Column {
            index: 0,
            ty: DataType::Int4,
        }),
        descending,
        nulls_first,
    }
}

/// `ORDER BY x` puts NULL last, `ORDER BY x DESC` first.
#[test]
fn sort_places_nulls_like_postgres() {
    let ctx = EvalContext::default();
    let rel = ints(&[Some(1), None, Some(3), Some(2)]);
    let asc = sort(rel.clone(), &[key(false, None)], &ctx, &Cancel::none()).unwrap();
    assert_eq!(int_column(&asc), [Some(1), Some(2), Some(3), None]);
    let desc = sort(rel.clone(), &[key(true, None)], &ctx, &Cancel::none()).unwrap();
    assert_eq!(int_column(&desc), [None, Some(3), Some(2), Some(1)]);
    let nulls_first = sort(rel, &[key(false, Some(true))], &ctx, &Cancel::none()).unwrap();
    assert_eq!(int_column(&nulls_first), [None, Some(1), Some(2), Some(3)]);
}

/// `ORDER BY x COLLATE "C"` of b, B, a, _ → B, _, a, b.
#[test]
fn text_sorts_bytewise() {
    let ctx = EvalContext::default();
    let rel = Relation {
        columns: vec![Column {
            name: "x".into(),
            ty: DataType::Text,
        }],
        rows: ["b", "B", "a", "_"].iter().map(|s| vec![text(s)]).collect(),
    };
    let k = SortKey {
        expr: BoundExpr::new(ScalarExpr::Column {
            index: 0,
            ty: DataType::Text,
        }),
        descending: false,
        nulls_first: None,
    };
    let out = sort(rel, &[k], &ctx, &Cancel::none()).unwrap();
    let got: Vec<Datum> = out.rows.into_iter().map(|mut r| r.remove(0)).collect();
    assert_eq!(got, vec![text("B"), text("_"), text("a"), text("b")]);
}

#[test]
fn sort_is_stable() {
    let ctx = EvalContext::default();
    let rel = Relation {
        columns: vec![
            Column {
                name: "k".into(),
                ty: DataType::Int4,
            },
            Column {
                name: "tag".into(),
                ty: DataType::Int4,
            },
        ],
        rows: (0..6)
            .map(|i| vec![Datum::Int(i % 2), Datum::Int(i)])
            .collect(),
    };
    let out = sort(rel, &[key(false, None)], &ctx, &Cancel::none()).unwrap();
    let tags: Vec<Datum> = out.rows.iter().map(|r| r[1].clone()).collect();
    let want: Vec<Datum> = [0, 2, 4, 1, 3, 5].iter().map(|v| Datum::Int(*v)).collect();
    assert_eq!(tags, want);
}

fn sorted(rel: Relation) -> Vec<Option<i64>> {
    int_column(
        &sort(
            rel,
            &[key(false, None)],
            &EvalContext::default(),
            &Cancel::none(),
        )
        .unwrap(),
    )
}

/// PostgreSQL: (1),(1),(2) UNION (2),(3) → 1,2,3; UNION ALL → 1,1,2,2,3;
/// (1),(1),(2),(NULL) INTERSECT ALL (1),(1),(NULL) → 1,1,NULL;
/// (1),(1),(2),(NULL) EXCEPT (2) → 1,NULL; (1),(1),(2) EXCEPT ALL (1) → 1,2.
#[test]
fn set_operations_match_postgres() {
    let a = ints(&[Some(1), Some(1), Some(2)]);
    let b = ints(&[Some(2), Some(3)]);
    let u = set_op(a.clone(), b.clone(), SetOp::Union, false, &Cancel::none()).unwrap();
    assert_eq!(sorted(u), [Some(1), Some(2), Some(3)]);
    let ua = set_op(a.clone(), b, SetOp::Union, true, &Cancel::none()).unwrap();
    assert_eq!(sorted(ua), [Some(1), Some(1), Some(2), Some(2), Some(3)]);
    let with_null = ints(&[Some(1), Some(1), Some(2), None]);
    let i = set_op(
        with_null.clone(),
        ints(&[Some(1), Some(1), None]),
        SetOp::Intersect,
        true,
        &Cancel::none(),
    );
    assert_eq!(sorted(i.unwrap()), [Some(1), Some(1), None]);
    let e = set_op(
        with_null,
        ints(&[Some(2)]),
        SetOp::Except,
        false,
        &Cancel::none(),
    )
    .unwrap();
    assert_eq!(sorted(e), [Some(1), None]);
    let ea = set_op(a, ints(&[Some(1)]), SetOp::Except, true, &Cancel::none()).unwrap();
    assert_eq!(sorted(ea), [Some(1), Some(2)]);
}

/// `SELECT 1 UNION SELECT 2.5` → numeric 1, 2.5; integer vs text is 42804.
#[test]
fn set_operations_resolve_column_types() {
    let num = Relation {
        columns: vec![Column {
            name: "x".into(),
            ty: DataType::Numeric(None),
        }],
        rows: vec![vec![Datum::Numeric(crate::sql::decimal::Decimal::new(
            25, 1,
        ))]],
    };
    let u = set_op(ints(&[Some(1)]), num, SetOp::Union, false, &Cancel::none()).unwrap();
    assert_eq!(u.columns[0].ty, DataType::Numeric(None));
    let txt = Relation {
        columns: vec![Column {
            name: "x".into(),
            ty: DataType::Text,
        }],
        rows: vec![],
    };
    let err = set_op(ints(&[Some(1)]), txt, SetOp::Union, false, &Cancel::none()).unwrap_err();
    assert_eq!(err.state, SqlState::DatatypeMismatch);
    assert_eq!(
        err.message,
        "UNION types integer and text cannot be matched"
    );
    let two = Relation {
        columns: vec![
            Column {
                name: "x".into(),
                ty: DataType::Int4,
            },
            Column {
                name: "y".into(),
                ty: DataType::Int4,
            },
        ],
        rows: vec![],
    };
    let err = set_op(ints(&[]), two, SetOp::Union, false, &Cancel::none()).unwrap_err();
    assert_eq!(err.state, SqlState::SyntaxError);
}

#[test]
fn distinct_treats_nulls_as_equal() {
    let out = distinct(ints(&[Some(1), None, Some(1), None, Some(2)]));
    assert_eq!(int_column(&out), [Some(1), None, Some(2)]);
}

#[test]
fn filter_keeps_only_true_rows() {
    let rel = ints(&[Some(1), None, Some(3)]);
    let pred = bind_on(&rel, "x > 1");
    let out = filter(rel, &pred, &EvalContext::default(), &Cancel::none()).unwrap();
    assert_eq!(int_column(&out), [Some(3)]);
}

#[test]
fn limit_skips_and_takes() {
    let out = limit(ints(&[Some(1), Some(2), Some(3)]), 1, Some(1));
    assert_eq!(int_column(&out), [Some(2)]);
    let out = limit(ints(&[Some(1), Some(2)]), 5, None);
    assert!(out.rows.is_empty());
}

#[test]
fn scope_reports_undefined_and_ambiguous_columns() {
    let rel = Relation {
        columns: vec![
            Column {
                name: "a".into(),
                ty: DataType::Int4,
            },
            Column {
                name: "a".into(),
                ty: DataType::Text,
            },
        ],
        rows: vec![],
    };
    let scope = RelationScope::new(&rel, Some("t"));
    assert_eq!(
        scope.resolve(None, "a").unwrap_err().state,
        SqlState::AmbiguousColumn
    );
    let e = scope.resolve(None, "b").unwrap_err();
    assert_eq!(
        (e.state, e.message.as_str()),
        (SqlState::UndefinedColumn, "column \"b\" does not exist")
    );
    assert_eq!(
        scope.resolve(Some("u"), "a").unwrap_err().state,
        SqlState::UndefinedTable
    );
}

#[test]
fn oversized_relations_are_54000() {
    assert!(check_rows(RELATION_ROWS_MAX).is_ok());
    assert_eq!(
        check_rows(RELATION_ROWS_MAX + 1).unwrap_err().state,
        SqlState::ProgramLimitExceeded
    );
}

/// A cancelled statement stops sorting and window evaluation with 57014.
#[test]
fn sort_and_windows_stop_when_cancelled() {
    let rel = ints(&(0..10_000).map(Some).collect::<Vec<_>>());
    let cancel = Cancel::none();
    cancel.cancel();
    let key = SortKey {
        expr: BoundExpr::new(ScalarExpr::Column {
            index: 0,
            ty: DataType::Int8,
        }),
        descending: true,
        nulls_first: None,
    };
    let err = sort(rel.clone(), &[key], &EvalContext::default(), &cancel).unwrap_err();
    assert_eq!(err.state, SqlState::QueryCanceled);
    let w = bind_on(&rel, "row_number() OVER (ORDER BY x DESC)");
    let err = project(&rel, &[("r".into(), w)], &EvalContext::default(), &cancel).unwrap_err();
    assert_eq!(err.state, SqlState::QueryCanceled);
    let mut idx: Vec<u32> = (0..100_000).rev().collect();
    let err = scalar::sort_cancellable(&mut idx, &cancel, |a, b| a.cmp(b)).unwrap_err();
    assert_eq!(err.state, SqlState::QueryCanceled);
}
