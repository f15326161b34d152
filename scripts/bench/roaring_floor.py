"""The pyroaring (CRoaring) floor of the macro benchmark: the same audience
as plain roaring bitmaps in process, and each query as the bitmap expression
audb would evaluate, without SQL, a wire protocol or storage.

Layout: one bitmap per value of each categorical, array and integer column
(`age`), a `true` and a not-null bitmap per boolean, and for the other numeric
columns (no bit-sliced index) the row ids sorted by value: a range is a
binary search, then a bitmap built from that slice of row ids. Row id = the
user's position in the CSV (`u0000001` is 0). Three-valued logic as in SQL:
`NOT x` is `notnull(x) - true(x)`.
"""

import array
import time

import numpy as np
from pyroaring import BitMap

from engines import COLUMNS, duck_read_csv

CATEGORICAL = ["gender", "city", "province", "device_os", "age"]
BOOLEAN = [n for n, t, _, _ in COLUMNS if t == "BOOLEAN"]


def _bm(ids):
    """A bitmap from row ids (any order)."""
    ids = np.sort(np.asarray(ids, dtype=np.uint32))
    return BitMap(array.array("I", ids.tobytes()))


def _groups(values, ids):
    """{value: bitmap of ids} for the non-null values."""
    import pandas as pd
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.searchsorted(sorted_codes, np.arange(-1, len(uniques) + 1))
    out = {}
    for k, u in enumerate(uniques):
        sl = ids[order[bounds[k + 1]:bounds[k + 2]]]
        out[u.item() if hasattr(u, "item") else u] = _bm(sl)
    return out


class Sorted:
    """Row ids sorted by a numeric column (NULLs left out)."""

    def __init__(self, values, ids):
        mask = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(len(values), bool)
        v, i = values[mask], ids[mask]
        order = np.argsort(v, kind="stable")
        self.values, self.ids = v[order], i[order]

    def range(self, lo=None, hi=None, lo_incl=True, hi_incl=True):
        a = 0 if lo is None else np.searchsorted(self.values, lo, "left" if lo_incl else "right")
        b = len(self.values) if hi is None else np.searchsorted(
            self.values, hi, "right" if hi_incl else "left")
        return _bm(self.ids[a:b])


class Floor:
    """The audience as bitmaps, built from the benchmark CSV (via DuckDB's CSV reader)."""

    name = "pyroaring"

    def __init__(self):
        self.n = 0

    def load(self, csv_path):
        import duckdb
        t0 = time.perf_counter()
        con = duckdb.connect()
        con.execute("CREATE TABLE t AS SELECT CAST(substr(user_id, 2) AS INTEGER) - 1 AS i, * "
                    "FROM (" + duck_read_csv(csv_path) + ")")
        cols = [n for n, _, _, _ in COLUMNS if n != "interests"]
        d = con.execute("SELECT i, " + ", ".join(
            f"epoch_us({n}) AS {n}" if n == "last_active" else
            f"CAST({n} AS DOUBLE) AS {n}" if n in ("ltv", "churn_prob") else
            f"CAST({n} - DATE '1970-01-01' AS INTEGER) AS {n}" if n == "register_date" else n
            for n in cols) + " FROM t ORDER BY i").fetchnumpy()
        ids = np.asarray(d["i"], dtype=np.uint32)
        self.n = len(ids)
        self.keys = np.asarray(d["user_id"], dtype=object)
        self.cols = {}
        self.eq, self.t, self.nn = {}, {}, {}
        for c in CATEGORICAL:
            col = d[c]
            if c == "age":
                vals = np.ma.filled(np.ma.asarray(col).astype(np.float64), np.nan)
            else:
                # (np.ma.filled would put "?", numpy's object fill value, in NULL slots.)
                vals = np.asarray(np.ma.getdata(col), dtype=object).copy()
                vals[np.ma.getmaskarray(col)] = None
            self.eq[c] = _groups(vals, ids)
            self.nn[c] = BitMap().union(*self.eq[c].values())
        for c in BOOLEAN:
            col = d[c]
            mask = np.ma.getmaskarray(col)
            data = np.ma.getdata(col).astype(bool)
            self.t[c] = _bm(ids[data & ~mask])
            self.nn[c] = _bm(ids[~mask])
        self.sorted = {}
        for c in ("ltv", "churn_prob", "register_date", "last_active"):
            col = d[c]
            vals = np.ma.filled(col.astype(np.float64), np.nan)
            self.sorted[c] = Sorted(vals, ids)
        self.ltv_cents = np.rint(np.ma.filled(d["ltv"].astype(np.float64), 0) * 100).astype(np.int64)
        age = d["age"]
        self.age = np.ma.filled(age.astype(np.float64), np.nan)
        self.profile_cols = {c: d[c] for c in cols}
        inter = con.execute("SELECT i, unnest(interests) AS v FROM t").fetchnumpy()
        self.eq["interests"] = _groups(np.asarray(inter["v"], dtype=object),
                                       np.asarray(inter["i"], dtype=np.uint32))
        self.interests_nn = _bm(np.asarray(
            con.execute("SELECT i FROM t WHERE interests IS NOT NULL").fetchnumpy()["i"]))
        self.interests_by_row = None
        con.close()
        secs = time.perf_counter() - t0
        size = sum(b.get_statistics()["n_bytes_array_containers"]
                   + b.get_statistics()["n_bytes_run_containers"]
                   + b.get_statistics()["n_bytes_bitset_containers"]
                   for group in (self.t, self.nn) for b in group.values())
        size += sum(b.get_statistics()["n_bytes_array_containers"]
                    + b.get_statistics()["n_bytes_run_containers"]
                    + b.get_statistics()["n_bytes_bitset_containers"]
                    for g in self.eq.values() for b in g.values())
        return {"seconds": secs, "bytes": size,
                "detail": "bitmaps built in memory (not comparable: includes DuckDB's CSV read)"}

    def version(self):
        import pyroaring
        return f"pyroaring {pyroaring.__version__} (CRoaring {getattr(pyroaring, '__croaring_version__', '?')})"

    def close(self):
        pass

    # --- helpers -----------------------------------------------------------
    def is_(self, c, v):
        return self.eq[c].get(v, BitMap())

    def not_(self, c):
        return self.nn[c] - self.t[c]

    def any_of(self, c, values):
        return BitMap().union(*(self.is_(c, v) for v in values))

    def age_range(self, lo, hi):
        return BitMap().union(*(b for a, b in self.eq["age"].items() if lo <= a <= hi))

    # --- the queries (ids as in queries.py) ----------------------------------
    def run(self, qid, key=None):
        return getattr(self, qid)(key) if qid == "q16" else getattr(self, qid)()

    def q01(self):
        return [(len(self.t["vip"]),)]

    def q02(self):
        return [(len(self.t["vip"] & self.is_("city", "Shanghai") & self.age_range(25, 34)),)]

    def q03(self):
        ts = np.datetime64("2025-12-01T00:00:00", "us").astype(np.int64)
        s = (self.t["vip"] & self.not_("churned") & self.is_("gender", "female")
             & self.age_range(20, 45)
             & self.any_of("city", ["Shanghai", "Beijing", "Guangzhou", "Shenzhen"])
             & self.is_("device_os", "ios") & self.sorted["ltv"].range(lo=100, lo_incl=False)
             & self.t["f_001"] & self.not_("f_010") & self.sorted["last_active"].range(lo=ts))
        return [(len(s),)]

    def q04(self):
        a = self.is_("city", "Beijing") | self.is_("city", "Shanghai") | self.t["vip"]
        not_android = self.nn["device_os"] - self.is_("device_os", "android")
        return [(len(a & not_android & self.not_("churned")),)]

    def q05(self):
        cities = ["Shanghai", "Beijing", "Guangzhou", "Shenzhen", "Chengdu", "Chongqing",
                  "Hangzhou", "Wuhan", "Xian", "Suzhou"]
        return [(len(self.any_of("city", cities) & self.any_of("device_os", ["ios", "harmonyos"])),)]

    def q06(self):
        return [(len(self.sorted["ltv"].range(500, 2000)
                     & self.sorted["churn_prob"].range(hi=0.2, hi_incl=False)),)]

    def q07(self):
        return [(len(self.is_("interests", "travel") & self.is_("interests", "food")),)]

    def q08(self):
        return [(len(self.is_("interests", "gaming") & self.age_range(-1, 24)),)]

    def q09(self):
        return [(len(self.t["f_150"] | self.t["f_200"] | (self.t["f_100"] & self.t["vip"])),)]

    def _top(self, seg, col, limit, with_null):
        rows = [(v, seg.intersection_cardinality(b)) for v, b in self.eq[col].items()]
        if with_null:
            rows.append((None, len(seg - self.nn[col])))
        rows = [r for r in rows if r[1] > 0]
        rows.sort(key=lambda r: (-r[1], r[0] is None, r[0] or ""))
        return rows[:limit]

    def q10(self):
        seg = self.t["vip"] & self.not_("churned")
        return self._top(seg, "city", 10, True)

    def q11(self):
        seg = self.is_("city", "Beijing") & self.t["vip"]
        return self._top(seg, "interests", 5, False)

    def q12(self):
        seg = self.t["vip"] & self.sorted["ltv"].range(lo=1000, lo_incl=False)
        return [(v, seg.intersection_cardinality(b), len(b))
                for v, b in self.eq["device_os"].items()]

    def q13(self):
        a = self.t["vip"] & self.is_("city", "Shanghai")
        b = self.is_("interests", "travel") & self.sorted["ltv"].range(lo=500, lo_incl=False)
        return [(len(a), len(b), a.intersection_cardinality(b))]

    def q14(self):
        seg = self.t["vip"] & self.is_("city", "Beijing")
        ids = np.frombuffer(seg.to_array(), dtype=np.uint32)
        cents = self.ltv_cents[ids]
        ages = self.age[ids]
        ages = ages[~np.isnan(ages)]
        n = len(ids)
        return [(cents.sum() / 100, cents.sum() / 100 / n if n else None,
                 ages.mean() if len(ages) else None)]

    def q15(self):
        seg = self.t["vip"] & self.is_("city", "Shanghai") & self.not_("churned")
        ids = np.frombuffer(seg.to_array(), dtype=np.uint32)
        return [(k,) for k in self.keys[ids]]

    def q16(self, key):
        i = int(np.searchsorted(self.keys, key))
        if i >= self.n or self.keys[i] != key:
            return []
        row = []
        for c, _, _, _ in COLUMNS:
            if c == "interests":
                vals = [v for v, b in self.eq["interests"].items() if i in b]
                row.append(sorted(vals) if i in self.interests_nn else None)
            else:
                v = self.profile_cols[c][i]
                row.append(None if v is np.ma.masked else v)
        return [tuple(row)]
