#!/usr/bin/env python3
"""Runs the SQL corpus (tests/sql/*.slt) against a real PostgreSQL to prove its
expected results are PostgreSQL's.

Usage:
  scripts/slt_postgres.py [--port 5432] [--host 127.0.0.1] [--user postgres] [--write] [files...]

Each file runs in a fresh database. Without --write, differences are reported
and the exit code is 1; with --write, the expected rows are replaced by
PostgreSQL's output (use it when adding queries, then review the diff).

A quick throwaway server (Debian's postgresql package):
  apt-get install -y postgresql
  su postgres -c '/usr/lib/postgresql/15/bin/initdb -D /tmp/pg && \
     /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/pg -o "-p 54329 -k /tmp" -l /tmp/pg.log start'
  scripts/slt_postgres.py --port 54329
"""
import argparse
import glob
import os
import re
import subprocess
import sys


def psql(args, db, sql):
    cmd = ["psql", "-X", "-A", "-t", "-F", "|", "-P", "null=NULL", "-v", "VERBOSITY=verbose",
           "-v", "ON_ERROR_STOP=1", "-h", args.host, "-p", str(args.port), "-U", args.user, "-d", db, "-c", sql]
    p = subprocess.run(cmd, capture_output=True, text=True)
    code = None
    m = re.search(r"ERROR:\s+([0-9A-Z]{5}):", p.stderr)
    if m:
        code = m.group(1)
    rows = [l for l in p.stdout.split("\n") if l != ""] if p.returncode == 0 else None
    return p.returncode, code, rows, p.stderr


def run_file(args, path):
    db = "slt_" + re.sub(r"[^a-z0-9]", "_", os.path.basename(path).lower())
    admin = ["psql", "-X", "-q", "-h", args.host, "-p", str(args.port), "-U", args.user, "-d", "postgres", "-c"]
    subprocess.run(admin + [f"DROP DATABASE IF EXISTS {db}"], check=True, capture_output=True)
    subprocess.run(admin + [f"CREATE DATABASE {db}"], check=True, capture_output=True)
    text = open(path).read()
    records = text.split("\n\n")
    failures = []
    out_records = []
    for n, record in enumerate(records):
        lines = [l for l in record.split("\n") if not l.startswith("#")]
        if not lines or not lines[0].strip():
            out_records.append(record)
            continue
        words = lines[0].split()
        where = f"{path}: record {n + 1}"
        if words[:2] == ["statement", "ok"]:
            sql = "\n".join(lines[1:])
            rc, code, _, err = psql(args, db, sql)
            if rc != 0:
                failures.append(f"{where}: `{sql}` failed in PostgreSQL: {err.strip()}")
            out_records.append(record)
        elif words[:2] == ["statement", "error"]:
            sql = "\n".join(lines[1:])
            rc, code, _, err = psql(args, db, sql)
            if rc == 0:
                failures.append(f"{where}: `{sql}` succeeded in PostgreSQL, expected {words[2]}")
            elif code != words[2]:
                failures.append(f"{where}: `{sql}` gave {code} in PostgreSQL, expected {words[2]}")
            out_records.append(record)
        elif words[0] == "query":
            rest = lines[1:]
            sep = rest.index("----") if "----" in rest else len(rest)
            sql = "\n".join(rest[:sep])
            expected = [l for l in rest[sep + 1:] if l != ""]
            rc, code, rows, err = psql(args, db, sql)
            if rc != 0:
                failures.append(f"{where}: `{sql}` failed in PostgreSQL: {err.strip()}")
                out_records.append(record)
                continue
            got = list(rows)
            exp = list(expected)
            if "rowsort" in words:
                got.sort()
                exp.sort()
            if got != exp:
                failures.append(f"{where}: `{sql}`\n  expected: {exp}\n  postgres: {got}")
            keep = [l for l in record.split("\n") if l.startswith("#")]
            out_records.append("\n".join(keep + [lines[0]] + rest[:sep] + ["----"] + rows))
        else:
            failures.append(f"{where}: unknown record header {lines[0]!r}")
            out_records.append(record)
    if args.write:
        with open(path, "w") as f:
            f.write("\n\n".join(out_records))
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5432)
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    files = args.files or sorted(glob.glob(os.path.join(root, "tests", "sql", "*.slt")))
    failures = []
    for f in files:
        failures += run_file(args, f)
    for f in failures:
        print(f)
    print(f"{len(files)} files, {len(failures)} differences from PostgreSQL")
    return 1 if failures and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
