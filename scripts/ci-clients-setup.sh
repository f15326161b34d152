#!/usr/bin/env bash
# Installs what tests/clients.rs drives: a Python venv with psycopg 3,
# SQLAlchemy 2, asyncpg and psycopg2 (Superset's driver) in
# target/clients-venv, node-postgres in tests/clients/node/node_modules,
# and pgjdbc from Debian
# (/usr/share/java/postgresql.jar). Idempotent: a second run with everything
# in place only checks and returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/clients-venv
if ! "$venv/bin/python" -c 'import psycopg, sqlalchemy, asyncpg, psycopg2' 2>/dev/null; then
    echo "== clients: python venv ($venv)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        'psycopg[binary]>=3.1,<4' 'sqlalchemy>=2.0,<3' 'asyncpg>=0.29,<1' \
        'psycopg2-binary>=2.9,<3'
fi

if [ ! -f tests/clients/node/node_modules/pg/package.json ]; then
    echo "== clients: node-postgres"
    (cd tests/clients/node && npm install --no-audit --no-fund --no-package-lock --silent)
fi

if [ ! -f /usr/share/java/postgresql.jar ]; then
    echo "== clients: pgjdbc (libpostgresql-jdbc-java)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends libpostgresql-jdbc-java >/dev/null
fi
echo "== clients: ready"
