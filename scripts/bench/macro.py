#!/usr/bin/env python3
"""audb's macro benchmark with peers (issue #6): one command generates an
audience, loads it into audb and each peer, runs the fixed audience queries
(queries.py) everywhere, compares the results, runs pgbench against audb's
(and PostgreSQL's) wire server, and writes target/bench/report-<N>.md.

Run through scripts/bench/run.sh, which prepares the Python environment and
the release binary. See docs/benchmarks.md.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engines  # noqa: E402
from queries import Q  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = ["postgres", "duckdb", "chdb", "pyroaring"]
SQL_PEERS = ["postgres", "duckdb", "chdb"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- result comparison ------------------------------------------------------

def canon(v):
    """One value in a form every engine agrees on."""
    if v is None:
        return None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (list, tuple)):
        return "{" + ",".join(sorted(str(x) for x in v)) + "}" if v else None
    if isinstance(v, (int, float, Decimal)):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else f"{f:.6g}"
    if isinstance(v, str):
        if re.fullmatch(r"-?\d+(\.\d+)?", v):
            return canon(Decimal(v))
        return v
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    return str(v)


def canon_result(q, rows):
    if q["order"] == "keys":
        keys = sorted(str(r[0]) for r in rows)
        digest = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:12]
        return f"{len(keys)} rows, sha1 {digest}"
    if q["order"] == "profile":
        # Key through churn_prob: dates and timestamps come back in each
        # engine's own types; ClickHouse has no NULL array (NULL → []).
        return [tuple(canon(v) for v in r[:11]) for r in rows]
    out = [tuple(canon(v) for v in r) for r in rows]
    return out if q["order"] == "exact" else sorted(out, key=repr)


# --- timing -----------------------------------------------------------------

class Runner:
    """Runs one query on one engine: warmups, then timed runs."""

    def __init__(self, args, users):
        self.args = args
        self.tag = 0
        rng = random.Random(args.seed)
        self.keys = [f"u{rng.randrange(1, users + 1):07d}" for _ in range(10_000)]
        self.check_key = f"u{users // 2 + 1:07d}"

    def next_tag(self):
        self.tag += 1
        return f"{self.tag}"

    def sql(self, q, dialect, tag, key):
        return q[dialect].replace("{tag}", tag).replace("{key}", key)

    def call(self, engine, q, tag, key):
        if engine.name == "pyroaring":
            return engine.run(q["id"], key)
        dialect = "pg" if engine.name in ("audb", "postgres") else engine.name
        return engine.query(self.sql(q, dialect, tag, key))

    def time(self, engine, q, cached=False):
        """Median and p99 in ms; `cached` repeats one statement text."""
        a = self.args
        times = []
        fixed = "cached"
        for i in range(a.warmup + a.runs):
            tag = fixed if cached else self.next_tag()
            key = self.check_key if cached else self.keys[self.tag % len(self.keys)]
            t0 = time.perf_counter()
            self.call(engine, q, tag, key)
            dt = (time.perf_counter() - t0) * 1000
            if i >= a.warmup:
                times.append(dt)
                if sum(times) > a.budget * 1000 and len(times) >= 3:
                    break
        times.sort()
        p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
        return {"median": statistics.median(times), "p99": p99, "runs": len(times)}


# --- pgbench ----------------------------------------------------------------

PGBENCH_SCRIPTS = {
    "cached": "SELECT COUNT(*) FROM users WHERE vip AND city = 'Shanghai' AND age BETWEEN 25 AND 34;\n",
    # A different ltv threshold per call: 200,000 distinct texts+parameters,
    # so audb's result cache (1,024 entries per snapshot) almost never hits.
    "uncached": "\\set t random(100, 20000000) / 100.0\n"
                "SELECT COUNT(*) FROM users WHERE vip AND city = 'Shanghai' AND ltv > :t;\n",
}


def pgbench(out_dir, label, port, user, db, script_name, seconds, clients):
    script = os.path.join(out_dir, f"pgbench-{script_name}.sql")
    with open(script, "w") as f:
        f.write(PGBENCH_SCRIPTS[script_name])
    prefix = os.path.join(out_dir, f"pgbench-log-{label}-{script_name}")
    for f in os.listdir(out_dir):
        if f.startswith(os.path.basename(prefix) + "."):
            os.remove(os.path.join(out_dir, f))
    cmd = [f"{engines.PG_BIN}/pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
           "-T", str(seconds), "-f", script, "-h", "127.0.0.1", "-p", str(port), "-U", user,
           "--log", f"--log-prefix={prefix}", db]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    res = {"command": " ".join(cmd[:12] + ["-f", f"pgbench-{script_name}.sql"]), "ok": proc.returncode == 0}
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", proc.stdout)
    res["qps"] = float(m.group(1)) if m else None
    m = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    res["failed"] = int(m.group(1)) if m else None
    lat = []
    for f in os.listdir(out_dir):
        if f.startswith(os.path.basename(prefix) + "."):
            with open(os.path.join(out_dir, f)) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 3 and parts[2].isdigit():
                        lat.append(int(parts[2]) / 1000)
            os.remove(os.path.join(out_dir, f))
    if lat:
        lat.sort()
        res["p50"] = lat[len(lat) // 2]
        res["p99"] = lat[int(0.99 * (len(lat) - 1))]
        res["n"] = len(lat)
    if not res["ok"] or res["qps"] is None:
        res["error"] = (proc.stderr.strip() or proc.stdout.strip())[-600:]
    return res


# --- report -----------------------------------------------------------------

def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.2f}" if r < 10 else f"{r:.0f}"


def fmt_bytes(n):
    return f"{n / 1e6:,.1f} MB"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        mem_kb = 0
    return f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.system()} {platform.release()}"


def report(n, res):
    engines_run = res["engines"]
    peers = [e for e in engines_run if e not in ("audb",)]
    sql_peers = [e for e in peers if e in SQL_PEERS]
    lines = [f"# audb macro benchmark: {n:,} users", "",
             f"Run {res['started']} on {res['machine']}.", "",
             "Versions: " + "; ".join(res["versions"][e] for e in engines_run) + ".", "",
             f"Command: `{res['command']}`", "", "## Load", "",
             "| engine | load s | rows/s | bytes on disk | how |", "| --- | ---: | ---: | ---: | --- |"]
    for e in engines_run:
        ld = res["load"][e]
        lines.append(f"| {e} | {ld['seconds']:.2f} | {n / ld['seconds']:,.0f} | "
                     f"{fmt_bytes(ld['bytes'])} | {ld['detail']} |")
        if e == "postgres":
            lines.append(f"| postgres (COPY only) | {ld['copy_seconds']:.2f} | "
                         f"{n / ld['copy_seconds']:,.0f} | {fmt_bytes(ld['heap_bytes'])} heap | |")
    if "duckdb" in res["load"] and "audb" in res["load"]:
        lines += ["", "DuckDB's load time ÷ audb's: "
                  f"**{res['load']['duckdb']['seconds'] / res['load']['audb']['seconds']:.2f}×** "
                  "(target ≥ 4×; below 1 means DuckDB loads faster)."]
    for stat, title in (("median", "Median"), ("p99", "p99")):
        cols = ["audb", "audb cached"] + peers
        head = ("| query | " + " | ".join(cols) +
                " | fastest SQL peer ÷ audb (target ≥ 10) | audb ÷ pyroaring (target ≤ 2) "
                "| (audb − audb cached) ÷ pyroaring |")
        lines += ["", f"## {title} latency, ms ({res['runs_note']})", "", head,
                  "|" + " --- |" + " ---: |" * (len(cols) + 3)]
        for q in Q:
            t = res["times"][q["id"]]
            cells = []
            for c in cols:
                v = t.get(c, {}).get(stat)
                flag = " ≠" if c in res["disagree"].get(q["id"], {}) else ""
                cells.append(fmt_ms(v) + flag)
            a = t.get("audb", {}).get(stat)
            fastest = min((t[p][stat] for p in sql_peers if p in t), default=None)
            floor = t.get("pyroaring", {}).get(stat)
            speedup, vs_floor = fmt_ratio(fastest, a), fmt_ratio(a, floor)
            if fastest and a:
                speedup += " ✔" if fastest / a >= 10 else " ✘"
            if floor and a:
                vs_floor += " ✔" if a / floor <= 2 else " ✘"
            cached = t.get("audb cached", {}).get(stat)
            engine_only = fmt_ratio(max(a - cached, 0), floor) if a and cached else "—"
            lines.append(f"| {q['id']} {q['title']} | " + " | ".join(cells) +
                         f" | {speedup} | {vs_floor} | {engine_only} |")
    lines += ["", "audb runs are uncached: each run changes a column alias so the statement "
              "text differs (audb's result cache is keyed on the text); `audb cached` repeats "
              "one text. ≠ marks a result that differs from audb's (details below). "
              "\"fastest SQL peer\" is the fastest of PostgreSQL, DuckDB and chdb for that query "
              "and statistic; p99 is the nearest-rank percentile of the timed runs (with 50 runs, "
              "the slowest one). Ratio cells: ✔ target met, ✘ missed. The last column "
              "subtracts audb's cached time (client round trip, parse, cache lookup) as a rough "
              "estimate of the engine's own share, since pyroaring runs in the client process."]
    lines += ["", "## Targets (issue #6) in this run", ""]
    med = {q["id"]: res["times"][q["id"]] for q in Q}
    if sql_peers and "audb" in engines_run:
        ok = [qid for qid, t in med.items()
              if min(t[p]["median"] for p in sql_peers) / t["audb"]["median"] >= 10]
        lines.append(f"- every query ≥ 10× faster than the fastest SQL peer (median): "
                     f"{len(ok)} of {len(Q)} ({', '.join(ok) or 'none'})")
    if "pyroaring" in engines_run and "audb" in engines_run:
        ok = [qid for qid, t in med.items() if t["audb"]["median"] / t["pyroaring"]["median"] <= 2]
        lines.append(f"- within 2× of the pyroaring floor (median): {len(ok)} of {len(Q)} "
                     f"({', '.join(ok) or 'none'})")
    if "duckdb" in res["load"] and "audb" in res["load"]:
        r = res["load"]["duckdb"]["seconds"] / res["load"]["audb"]["seconds"]
        lines.append(f"- load ≥ 4× faster than DuckDB's CSV load: {r:.2f}× "
                     f"({'met' if r >= 4 else 'missed'})")
    pb = res.get("pgbench", {}).get(("audb", "cached"))
    if pb and pb.get("qps"):
        lines.append(f"- ≥ 20k cached count queries/s with {res['pgbench_clients']} connections: "
                     f"{pb['qps']:,.0f} ({'met' if pb['qps'] >= 20000 else 'missed'})")
    lines += ["", "## Result agreement", ""]
    if not any(res["disagree"].values()):
        lines.append("All engines returned the same results for every query.")
    for qid, d in res["disagree"].items():
        for e, (theirs, ours) in d.items():
            lines.append(f"- {qid} {e}: `{str(theirs)[:300]}` vs audb `{str(ours)[:300]}`")
    if res.get("pgbench"):
        lines += ["", f"## Concurrency (pgbench, {res['pgbench_clients']} connections, "
                  "-M prepared -j 2; PostgreSQL has no result cache: both scripts are uncached there)", "",
                  "| server | script | queries/s | p50 ms | p99 ms | transactions | note |",
                  "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
        for (srv, script), r in res["pgbench"].items():
            lines.append(f"| {srv} | {script} | {r['qps'] or 0:,.0f} | {fmt_ms(r.get('p50'))} | "
                         f"{fmt_ms(r.get('p99'))} | {r.get('n', 0):,} | "
                         f"{(r.get('error') or '').splitlines()[-1][:200] if r.get('error') else ''} |")
        lines += ["", "Scripts: cached = `" + PGBENCH_SCRIPTS["cached"].strip() +
                  "`; uncached = `" + PGBENCH_SCRIPTS["uncached"].replace("\n", " ").strip() + "`."]
    return "\n".join(lines) + "\n"


# --- main -------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="comma-separated subset of " + ",".join(PEERS) + " (or 'none')")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--budget", type=float, default=20.0,
                    help="stop timing a query on an engine after this many seconds (min 3 runs)")
    ap.add_argument("--pgbench-seconds", type=int, default=20)
    ap.add_argument("--pgbench-clients", type=int, default=32)
    ap.add_argument("--no-pgbench", action="store_true")
    ap.add_argument("--audb-bin", default=os.path.join(ROOT, "target/bench/audb-bin"))
    ap.add_argument("--out", default=os.path.join(ROOT, "target/bench"))
    args = ap.parse_args()
    peers = [] if args.peers == "none" else [p.strip() for p in args.peers.split(",") if p.strip()]
    for p in peers:
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}")
    n = args.users
    os.makedirs(args.out, exist_ok=True)
    res = {"started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": machine(), "command": "scripts/bench/run.sh " + " ".join(sys.argv[1:]),
           "engines": [], "versions": {}, "load": {}, "times": {q["id"]: {} for q in Q},
           "disagree": {}, "pgbench": {}, "pgbench_clients": args.pgbench_clients,
           "runs_note": f"{args.warmup} warmups, then {args.runs} runs or {args.budget:g} s"}

    csv_path = os.path.join(args.out, f"users-{n}.csv")
    if not os.path.exists(csv_path):
        log(f"generating {n:,} users into {csv_path}")
        subprocess.run([args.audb_bin, "--log", "warn", "demo", "--users", str(n), "--seed",
                        str(args.seed), "--csv", csv_path + ".tmp"], check=True)
        os.replace(csv_path + ".tmp", csv_path)
    res["csv_bytes"] = os.path.getsize(csv_path)

    runner = Runner(args, n)
    reference = {}
    opened = []

    def bench(engine, extra_cached=False):
        name = engine.name
        res["engines"].append(name)
        res["versions"][name] = engine.version()
        log(f"{name}: loading")
        res["load"][name] = engine.load(csv_path)
        log(f"{name}: loaded in {res['load'][name]['seconds']:.2f} s")
        for q in Q:
            rows = runner.call(engine, q, "check", runner.check_key)
            got = canon_result(q, rows)
            if name == "audb":
                reference[q["id"]] = got
            elif got != reference.get(q["id"]):
                res["disagree"].setdefault(q["id"], {})[name] = (got, reference.get(q["id"]))
            res["times"][q["id"]][name] = runner.time(engine, q)
            if extra_cached:
                res["times"][q["id"]]["audb cached"] = runner.time(engine, q, cached=True)
            log(f"{name} {q['id']}: median {res['times'][q['id']][name]['median']:.3f} ms")

    try:
        audb = engines.Audb(args.audb_bin, os.path.join(args.out, f"audb-{n}"), args.out)
        opened.append(audb)
        bench(audb, extra_cached=True)
        if not args.no_pgbench:
            for script in ("cached", "uncached"):
                log(f"pgbench audb {script}")
                res["pgbench"][("audb", script)] = pgbench(
                    args.out, "audb", audb.port, "audb", "audb", script,
                    args.pgbench_seconds, args.pgbench_clients)
        audb.close()
        opened.remove(audb)
        for p in peers:
            if p == "postgres":
                e = engines.Postgres(args.out)
            elif p == "duckdb":
                e = engines.DuckDb(os.path.join(args.out, f"duckdb-{n}.duckdb"))
            elif p == "chdb":
                e = engines.Chdb(os.path.join(args.out, f"chdb-{n}"))
            else:
                from roaring_floor import Floor
                e = Floor()
            opened.append(e)
            bench(e)
            if p == "postgres" and not args.no_pgbench:
                for script in ("cached", "uncached"):
                    log(f"pgbench postgres {script}")
                    res["pgbench"][("postgres", script)] = pgbench(
                        args.out, "postgres", e.port, "postgres", "postgres", script,
                        args.pgbench_seconds, args.pgbench_clients)
            e.close()
            opened.remove(e)
    finally:
        for e in opened:
            try:
                e.close()
            except Exception as ex:  # keep closing the others
                log(f"closing {e.name}: {ex}")

    text = report(n, res)
    path = os.path.join(args.out, f"report-{n}.md")
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(args.out, f"results-{n}.json"), "w") as f:
        json.dump({**res, "pgbench": {f"{k[0]}/{k[1]}": v for k, v in res["pgbench"].items()}},
                  f, indent=1, default=str)
    print(text)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
