#!/usr/bin/env bash
# audb's macro benchmark with peers, in one command (issue #6):
#   scripts/bench/run.sh --users 1000000 [--peers postgres,duckdb,chdb,pyroaring] [--rebuild]
# Prepares target/bench-venv (duckdb, chdb, pyroaring, psycopg, installed with pip on first use)
# and target/bench/audb-bin (a copy of the release binary, so rebuilds of the tree do not
# disturb a run), then runs scripts/bench/macro.py with the remaining arguments.
# The report is printed and written to target/bench/report-<N>.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

rebuild=0
args=()
for a in "$@"; do
  if [ "$a" = "--rebuild" ]; then rebuild=1; else args+=("$a"); fi
done

venv=target/bench-venv
python=${PYTHON:-python3.11}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import duckdb, chdb, pyroaring, psycopg, numpy, pandas" 2>/dev/null; then
  "$venv/bin/pip" install --quiet duckdb chdb pyroaring 'psycopg[binary]' numpy pandas
fi

mkdir -p target/bench
if [ "$rebuild" = 1 ] || [ ! -x target/bench/audb-bin ]; then
  cargo build --release --bin audb
  cp target/release/audb target/bench/audb-bin.tmp
  mv target/bench/audb-bin.tmp target/bench/audb-bin
fi

PYTHONDONTWRITEBYTECODE=1 exec "$venv/bin/python" scripts/bench/macro.py "${args[@]}"
