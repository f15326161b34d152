"""The fixed audience queries of the macro benchmark, in each engine's SQL.

Every query has a PostgreSQL text (run as is by audb and PostgreSQL), and
DuckDB / ClickHouse (chdb) texts where their dialects differ. `{tag}` is a
column alias the runner varies per execution so audb's result cache (keyed on
the statement text) never answers an "uncached" run; it costs nothing in any
engine. The profile lookup (q16) instead looks up a different user each run
(`{key}`). The pyroaring equivalents live in roaring_floor.py under the same ids.

`order` says how results are compared: "exact" keeps row order (top-N with a
deterministic tie-break), "set" sorts rows first, "keys" compares the number
of rows and a digest of the sorted first column (segment export).
"""

CITIES10 = ("'Shanghai','Beijing','Guangzhou','Shenzhen','Chengdu',"
            "'Chongqing','Hangzhou','Wuhan','Xian','Suzhou'")
TS = "'2025-12-01 00:00:00+00'"
CH_TS = "toDateTime64('2025-12-01 00:00:00', 0, 'UTC')"

Q = []


def q(qid, title, pg, duck=None, ch=None, order="set"):
    Q.append({"id": qid, "title": title, "pg": pg, "duckdb": duck or pg,
              "chdb": ch or duck or pg, "order": order})


q("q01", "count, 1 condition",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE vip")
q("q02", "count, 3 conditions",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE vip AND city = 'Shanghai' "
  "AND age BETWEEN 25 AND 34")
_ten = ("vip AND NOT churned AND gender = 'female' AND age BETWEEN 20 AND 45 "
        f"AND city IN ('Shanghai','Beijing','Guangzhou','Shenzhen') AND device_os = 'ios' "
        "AND ltv > 100 AND f_001 AND NOT f_010 AND last_active >= {ts}")
q("q03", "count, 10 conditions",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE " + _ten.replace("{ts}", TS),
  ch="SELECT COUNT(*) AS n{tag} FROM users WHERE " + _ten.replace("{ts}", CH_TS))
q("q04", "OR / NOT mix",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE (city = 'Beijing' OR city = 'Shanghai' OR vip) "
  "AND NOT (device_os = 'android') AND NOT churned")
q("q05", "IN lists",
  f"SELECT COUNT(*) AS n{{tag}} FROM users WHERE city IN ({CITIES10}) "
  "AND device_os IN ('ios','harmonyos')")
q("q06", "numeric ranges",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE ltv BETWEEN 500 AND 2000 AND churn_prob < 0.2")
q("q07", "array containment @>",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE interests @> ARRAY['travel','food']",
  duck="SELECT COUNT(*) AS n{tag} FROM users WHERE list_has_all(interests, ['travel','food'])",
  ch="SELECT COUNT(*) AS n{tag} FROM users WHERE hasAll(interests, ['travel','food'])")
q("q08", "'x' = ANY(array) + range",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE 'gaming' = ANY(interests) AND age < 25",
  duck="SELECT COUNT(*) AS n{tag} FROM users WHERE list_contains(interests, 'gaming') AND age < 25",
  ch="SELECT COUNT(*) AS n{tag} FROM users WHERE has(interests, 'gaming') AND age < 25")
q("q09", "sparse flags OR",
  "SELECT COUNT(*) AS n{tag} FROM users WHERE f_150 OR f_200 OR (f_100 AND vip)")
q("q10", "GROUP BY top-10 in a segment",
  "SELECT city, COUNT(*) AS n{tag} FROM users WHERE vip AND NOT churned "
  "GROUP BY city ORDER BY 2 DESC, 1 LIMIT 10", order="exact")
q("q11", "GROUP BY unnest(interests) top-5",
  "SELECT unnest(interests) AS interest, COUNT(*) AS n{tag} FROM users "
  "WHERE city = 'Beijing' AND vip GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
  duck="SELECT interest, COUNT(*) AS n{tag} FROM (SELECT unnest(interests) AS interest "
       "FROM users WHERE city = 'Beijing' AND vip) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
  ch="SELECT arrayJoin(interests) AS interest, COUNT(*) AS n{tag} FROM users "
     "WHERE city = 'Beijing' AND vip GROUP BY interest ORDER BY 2 DESC, 1 LIMIT 5",
  order="exact")
_tgi_seg = "vip AND ltv > 1000"
q("q12", "TGI: segment vs population by device_os",
  f"SELECT device_os, COUNT(*) FILTER (WHERE {_tgi_seg}) AS seg{{tag}}, COUNT(*) AS pop "
  "FROM users GROUP BY device_os",
  ch=f"SELECT device_os, countIf({_tgi_seg}) AS seg{{tag}}, COUNT(*) AS pop "
     "FROM users GROUP BY device_os")
_a = "vip AND city = 'Shanghai'"
_b = "'travel' = ANY(interests) AND ltv > 500"
_b_duck = "list_contains(interests, 'travel') AND ltv > 500"
_b_ch = "has(interests, 'travel') AND ltv > 500"
q("q13", "segment overlap (A, B, A∩B)",
  f"SELECT COUNT(*) FILTER (WHERE {_a}) AS a{{tag}}, COUNT(*) FILTER (WHERE {_b}) AS b, "
  f"COUNT(*) FILTER (WHERE {_a} AND {_b}) AS ab FROM users",
  duck=f"SELECT COUNT(*) FILTER (WHERE {_a}) AS a{{tag}}, COUNT(*) FILTER (WHERE {_b_duck}) AS b, "
       f"COUNT(*) FILTER (WHERE {_a} AND {_b_duck}) AS ab FROM users",
  ch=f"SELECT countIf({_a}) AS a{{tag}}, countIf({_b_ch}) AS b, "
     f"countIf({_a} AND {_b_ch}) AS ab FROM users")
q("q14", "SUM / AVG in a segment",
  "SELECT SUM(ltv) AS s{tag}, AVG(ltv) AS a, AVG(age) AS g FROM users "
  "WHERE vip AND city = 'Beijing'")
q("q15", "key export of a segment",
  "SELECT user_id AS k{tag} FROM users WHERE vip AND city = 'Shanghai' AND NOT churned",
  order="keys")
q("q16", "one-user profile lookup",
  "SELECT * FROM users WHERE user_id = '{key}'", order="profile")
