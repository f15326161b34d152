#!/usr/bin/env python3
"""Random audience queries against audb and PostgreSQL 15 over the same data;
prints every query whose answer (rows, or SQLSTATE) differs.

Usage:
  scripts/pg_differential.py --audb-port 5433 --pg-port 54329 [--seed 1] [--queries 500]

audb must serve the demo audience (`audb serve --demo`, or `audb demo` then
`audb serve`). The script copies table `users` out of audb (`COPY … TO
STDOUT`) into a fresh PostgreSQL database `audb_differential` (columns and
types from audb's information_schema), then runs `--queries` random queries
on both: WHERE trees of up to three levels over flags, IN lists, ranges,
arrays (`= ANY`, `@>`, `&&`), dates and timestamps, LIKE/ILIKE, IS
[NOT] TRUE/FALSE/NULL and expressions (`age + 3 > 40`, `upper(city) = …`,
column comparisons), under counts, aggregates, GROUP BY (columns,
expressions, unnest), FILTER, window shares, set operations, IN subqueries,
ORDER BY/LIMIT/OFFSET and string_agg. Rows of a query without ORDER BY are
compared as multisets; floats to 6 decimals. Needs `psycopg` (pip).
The exit code is 1 when any query differs.
"""
import argparse
import decimal
import math
import random
import sys

import psycopg

def lit(s):
    return "'" + s.replace("'", "''") + "'"


def atom():
    k = R.randrange(34)
    if k >= 22:
        return R.choice([
            "age NOT BETWEEN %d AND %d" % (R.randrange(10, 50), R.randrange(30, 90)),
            "age BETWEEN SYMMETRIC %d AND %d" % (R.randrange(30, 90), R.randrange(10, 50)),
            "age IN (%d, NULL)" % R.randrange(16, 80),
            "city NOT IN (%s, NULL)" % lit(R.choice(cities)),
            "vip = %s" % R.choice(["true", "false", "NULL"]),
            "vip <> churned",
            "NOT (vip AND NULL)",
            "(churned OR NULL)",
            "coalesce(age, 0) < %d" % R.randrange(20, 60),
            "cardinality(interests) %s %d" % (R.choice(["<", ">", "="]), R.randrange(0, 4)),
            "ltv IS DISTINCT FROM %s" % R.choice(["0", "NULL", "100.00"]),
            "ltv IS NOT DISTINCT FROM NULL",
            "interests = '{}'",
            "age > NULL",
            "city = ANY(ARRAY[%s, %s])" % (lit(R.choice(cities)), lit(R.choice(cities))),
            "city <> ALL(ARRAY[%s])" % lit(R.choice(cities)),
            "register_date + 30 > DATE '2024-06-01'",
            "last_active - INTERVAL '30 days' < TIMESTAMPTZ '2025-03-01 00:00:00+00'",
            "gender IS NULL OR age %% 7 = %d" % R.randrange(0, 7),
            "(%s) IS NOT TRUE" % R.choice(flags),
            "length(user_id) > 3 AND %s" % R.choice(flags),
            "province LIKE '%%' || 'ng'",
        ])
    if k == 0:
        return R.choice(flags)
    if k == 1:
        return "NOT " + R.choice(flags)
    if k == 2:
        return "%s IS %s" % (R.choice(flags + ["city", "age", "ltv", "interests", "churn_prob"]), R.choice(["NULL", "NOT NULL"]))
    if k == 3:
        return "city IN (%s)" % ", ".join(lit(R.choice(cities)) for _ in range(R.randrange(1, 4)))
    if k == 4:
        return "city NOT IN (%s)" % ", ".join(lit(R.choice(cities)) for _ in range(R.randrange(1, 3)))
    if k == 5:
        return "age BETWEEN %d AND %d" % (R.randrange(10, 50), R.randrange(30, 90))
    if k == 6:
        return "age %s %d" % (R.choice(["<", "<=", ">", ">=", "=", "<>"]), R.randrange(10, 90))
    if k == 7:
        return "ltv %s %s" % (R.choice(["<", ">", ">=", "="]), R.choice(["100", "1000.50", "0", "5000"]))
    if k == 8:
        return "%s = ANY(interests)" % lit(R.choice(ints))
    if k == 9:
        return "interests @> ARRAY[%s]" % ", ".join(lit(R.choice(ints)) for _ in range(R.randrange(1, 3)))
    if k == 10:
        return "interests && ARRAY[%s]" % ", ".join(lit(R.choice(ints)) for _ in range(R.randrange(1, 3)))
    if k == 11:
        return "register_date %s DATE '%d-%02d-01'" % (R.choice(["<", ">="]), R.randrange(2018, 2026), R.randrange(1, 13))
    if k == 12:
        return "last_active %s TIMESTAMPTZ '2025-%02d-15 12:00:00+00'" % (R.choice(["<", ">="]), R.randrange(1, 13))
    if k == 13:
        return "city LIKE %s" % lit(R.choice(["S%", "%an%", "_u%", "X%"]))
    if k == 14:
        return "city ILIKE %s" % lit(R.choice(["s%", "%AN%"]))
    if k == 15:
        return "%s IS %s" % (R.choice(flags), R.choice(["TRUE", "FALSE", "NOT TRUE", "NOT FALSE", "UNKNOWN"]))
    if k == 16:
        return "age + %d > %d" % (R.randrange(0, 10), R.randrange(20, 70))
    if k == 17:
        return "upper(city) = %s" % lit(R.choice(cities).upper())
    if k == 18:
        return "churn_prob %s %s" % (R.choice(["<", ">"]), R.choice(["0.1", "0.5", "0.9"]))
    if k == 19:
        return "gender = %s" % lit(R.choice(["male", "female", "other"]))
    if k == 20:
        return "extract(year from register_date) = %d" % R.randrange(2018, 2026)
    return "device_os IN ('iOS', 'Android')"


def tree(d=0):
    if d > 2 or R.random() < 0.35:
        return atom()
    op = R.choice(["AND", "OR", "AND"])
    parts = [tree(d + 1) for _ in range(R.randrange(2, 4))]
    s = "(" + (" %s " % op).join(parts) + ")"
    if R.random() < 0.15:
        s = "NOT " + s
    return s


def query():
    w = tree()
    k = R.randrange(11)
    if k == 0:
        return "SELECT count(*) FROM users WHERE " + w, False
    if k == 1:
        return "SELECT count(%s), count(DISTINCT city) FROM users WHERE %s" % (R.choice(["city", "age", "ltv", "vip", "interests"]), w), False
    if k == 2:
        c = R.choice(["age", "ltv", "churn_prob"])
        return "SELECT sum(%s), avg(%s), min(%s), max(%s) FROM users WHERE %s" % (c, c, c, c, w), False
    if k == 3:
        g = R.choice(["city", "gender", "vip", "age", "device_os"])
        return "SELECT %s, count(*) FROM users WHERE %s GROUP BY %s HAVING count(*) > 2" % (g, w, g), True
    if k == 4:
        return "SELECT user_id, age, city FROM users WHERE %s ORDER BY user_id LIMIT 20" % w, False
    if k == 5:
        return "SELECT count(*) FILTER (WHERE vip), count(*) FILTER (WHERE %s) FROM users" % w, False
    if k == 6:
        return "SELECT g, n, round(n * 100.0 / sum(n) OVER (), 4) FROM (SELECT gender AS g, count(*) AS n FROM users WHERE %s GROUP BY gender) t ORDER BY g NULLS FIRST" % w, False
    if k == 7:
        return "SELECT unnest(interests) AS i, count(*) FROM users WHERE %s GROUP BY i" % w, True
    if k == 8:
        return "SELECT date_trunc('year', register_date) AS y, count(*), avg(age) FROM users WHERE %s GROUP BY 1" % w, True
    if k == 9:
        return "SELECT count(*) FROM users WHERE %s AND NOT (%s)" % (w, tree()), False
    k = R.randrange(12)
    if k == 0:
        return "SELECT count(*) FROM (SELECT user_id FROM users WHERE %s %s SELECT user_id FROM users WHERE %s) t" % (w, R.choice(["UNION", "INTERSECT", "EXCEPT", "UNION ALL"]), tree()), False
    if k == 1:
        return "SELECT count(*) FROM users WHERE user_id IN (SELECT user_id FROM users WHERE %s) AND %s" % (w, tree()), False
    if k == 2:
        return "SELECT DISTINCT city FROM users WHERE %s ORDER BY city NULLS FIRST LIMIT 10 OFFSET 2" % w, False
    if k == 3:
        return "SELECT CASE WHEN age < 30 THEN 'young' WHEN age < 50 THEN 'mid' ELSE 'old' END AS b, count(*), sum(CASE WHEN vip THEN 1 ELSE 0 END) FROM users WHERE %s GROUP BY 1" % w, True
    if k == 4:
        return "SELECT coalesce(city, '?') AS c, count(DISTINCT user_id), max(ltv) - min(ltv) FROM users WHERE %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5" % w, False
    if k == 5:
        return "SELECT count(*) FROM users WHERE (age < churn_prob * 100 OR city = province) AND %s" % w, False
    if k == 6:
        return "SELECT user_id, ltv, age FROM users WHERE %s ORDER BY ltv DESC NULLS LAST, user_id LIMIT 7" % w, False
    if k == 7:
        return "SELECT length(city) AS l, count(*) FROM users WHERE %s GROUP BY l" % w, True
    if k == 8:
        return "SELECT vip, churned, count(*) FROM users WHERE %s GROUP BY vip, churned" % w, True
    if k == 9:
        return "SELECT age / 10 AS d, count(*), round(avg(ltv), 2) FROM users WHERE %s GROUP BY 1" % w, True
    if k == 10:
        return "SELECT count(*), sum(age), avg(churn_prob)::numeric(10,6) FROM users u WHERE u.%s" % atom(), False
    return "SELECT string_agg(user_id, ',' ORDER BY user_id) FROM (SELECT user_id FROM users WHERE %s ORDER BY user_id LIMIT 5) t" % w, False


def norm(v):
    if isinstance(v, float):
        return round(v, 6) if math.isfinite(v) else v
    if isinstance(v, decimal.Decimal):
        return round(v, 10)
    return v


def run(c, q):
    try:
        return ("ok", [tuple(norm(x) for x in r) for r in c.execute(q).fetchall()])
    except psycopg.Error as e:
        return ("err", e.sqlstate)




def connect(args):
    """Both connections, after copying the demo table into PostgreSQL."""
    audb = psycopg.connect(host=args.host, port=args.audb_port, user="audb", dbname="audb", autocommit=True)
    admin = psycopg.connect(host=args.host, port=args.pg_port, user=args.pg_user, dbname="postgres", autocommit=True)
    admin.execute("DROP DATABASE IF EXISTS audb_differential")
    admin.execute("CREATE DATABASE audb_differential")
    admin.close()
    pg = psycopg.connect(host=args.host, port=args.pg_port, user=args.pg_user, dbname="audb_differential", autocommit=True)
    cols = []
    for name, ty in audb.execute(
        "SELECT column_name, format_type(a.atttypid, a.atttypmod) FROM information_schema.columns c "
        "JOIN pg_attribute a ON a.attname = c.column_name AND a.attrelid = 'users'::regclass "
        "WHERE c.table_name = 'users' ORDER BY c.ordinal_position"
    ):
        cols.append('"%s" %s' % (name, ty))
    pg.execute("CREATE TABLE users (%s, PRIMARY KEY (user_id))" % ", ".join(cols))
    with audb.cursor().copy("COPY users TO STDOUT") as out, pg.cursor().copy("COPY users FROM STDIN") as into:
        for chunk in out:
            into.write(chunk)
    for c in (audb, pg):
        c.execute("SET TimeZone = 'UTC'")
    return audb, pg


def main():
    global R, cities, ints
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--audb-port", type=int, default=5433)
    ap.add_argument("--pg-port", type=int, default=5432)
    ap.add_argument("--pg-user", default="postgres")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()
    audb, pg = connect(args)
    R = random.Random(args.seed)
    cities = [r[0] for r in pg.execute("SELECT DISTINCT city FROM users WHERE city IS NOT NULL ORDER BY 1 LIMIT 40")]
    ints = [r[0] for r in pg.execute("SELECT DISTINCT unnest(interests) FROM users ORDER BY 1")]
    bad = 0
    for _ in range(args.queries):
        q, unordered = query()
        a, p = run(audb, q), run(pg, q)
        if unordered and a[0] == "ok" and p[0] == "ok":
            a = ("ok", sorted(a[1], key=repr))
            p = ("ok", sorted(p[1], key=repr))
        if a != p:
            bad += 1
            print("DIFF", q)
            print("  audb:", str(a)[:400])
            print("  pg:  ", str(p)[:400])
    print("%d queries, %d differences (seed %d)" % (args.queries, bad, args.seed))
    sys.exit(1 if bad else 0)


flags = ["vip", "churned"] + ["f_%03d" % i for i in range(1, 30)]
R = random.Random(1)
cities = []
ints = []

if __name__ == "__main__":
    main()
