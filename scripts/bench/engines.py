"""Engine adapters of the macro benchmark: audb (over pgwire), PostgreSQL 15
(a throwaway cluster), DuckDB and ClickHouse (chdb), in process.

Each adapter has `load(csv_path) -> dict` (seconds, bytes, notes), `query(sql)
-> list of rows`, `version() -> str` and `close()`. All of them load the same
CSV written by `audb demo --csv`.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"

FLAGS = ["f_001", "f_010", "f_020", "f_050", "f_100", "f_150", "f_200"]

# (name, PostgreSQL/audb type, DuckDB type, ClickHouse type) in CSV order.
COLUMNS = [
    ("user_id", "TEXT", "VARCHAR", "String"),
    ("gender", "TEXT", "VARCHAR", "LowCardinality(String)"),
    ("age", "INT", "INTEGER", "Nullable(Int32)"),
    ("city", "TEXT", "VARCHAR", "LowCardinality(Nullable(String))"),
    ("province", "TEXT", "VARCHAR", "LowCardinality(Nullable(String))"),
    ("device_os", "TEXT", "VARCHAR", "LowCardinality(String)"),
    ("interests", "TEXT[]", "VARCHAR[]", "Array(LowCardinality(String))"),
    ("vip", "BOOLEAN", "BOOLEAN", "Bool"),
    ("churned", "BOOLEAN", "BOOLEAN", "Nullable(Bool)"),
    ("ltv", "NUMERIC(12,2)", "DECIMAL(12,2)", "Decimal(12,2)"),
    ("churn_prob", "DOUBLE PRECISION", "DOUBLE", "Nullable(Float64)"),
    ("register_date", "DATE", "DATE", "Date32"),
    ("last_active", "TIMESTAMPTZ", "TIMESTAMPTZ", "DateTime64(0, 'UTC')"),
] + [(f, "BOOLEAN", "BOOLEAN", "Nullable(Bool)") for f in FLAGS]

INDEXED = ["gender", "age", "city", "province", "device_os", "vip", "churned", "ltv",
           "churn_prob", "register_date", "last_active"] + FLAGS


def pg_create_table(primary_key):
    cols = ", ".join(
        f"{n} {t}{' PRIMARY KEY' if primary_key and n == 'user_id' else ''}"
        for n, t, _, _ in COLUMNS)
    return f"CREATE TABLE users ({cols})"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def _pg_connect(port, user, dbname):
    import psycopg
    conn = psycopg.connect(host="127.0.0.1", port=port, user=user, dbname=dbname,
                           autocommit=True, prepare_threshold=None)
    return conn


class Audb:
    """audb: `audb load` into a fresh data directory, then `audb serve`."""

    name = "audb"

    def __init__(self, binary, work_dir, log_dir):
        self.binary = os.path.abspath(binary)
        self.dir = os.path.abspath(work_dir)
        self.log_dir = log_dir
        self.proc = None
        self.port = None
        self.conn = None

    def _serve(self):
        self.port = free_port()
        log = open(os.path.join(self.log_dir, "audb-serve.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--data-dir", self.dir, "--log", "warn", "serve",
             "--listen", f"127.0.0.1:{self.port}"], stdout=log, stderr=log)
        wait_port(self.port, self.proc)
        self.conn = _pg_connect(self.port, "audb", "audb")

    def _stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def load(self, csv_path):
        shutil.rmtree(self.dir, ignore_errors=True)
        # The table is created through a short-lived server (a data directory
        # is created by `serve`), then `audb load` needs the directory to itself.
        self._serve()
        self.conn.execute(pg_create_table(primary_key=True))
        self._stop()
        t0 = time.perf_counter()
        out = subprocess.run(
            [self.binary, "--data-dir", self.dir, "--log", "warn", "load", "--table", "users",
             csv_path], capture_output=True, text=True, check=True)
        secs = time.perf_counter() - t0
        size = dir_bytes(self.dir)
        self._serve()
        return {"seconds": secs, "bytes": size, "detail": out.stdout.strip()}

    def query(self, sql):
        return self.conn.execute(sql).fetchall()

    def version(self):
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return out.stdout.strip()

    def close(self):
        self._stop()


class Postgres:
    """PostgreSQL 15: a throwaway cluster under /tmp on a free loopback port."""

    name = "postgres"

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.tmp = tempfile.mkdtemp(prefix="audb-bench-pg-", dir="/tmp")
        self.data = os.path.join(self.tmp, "data")
        self.port = free_port()
        self.conn = None
        self.as_postgres = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            shutil.chown(self.tmp, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run(self.as_postgres + [
            f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync"], check=True, capture_output=True)
        opts = (f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 "
                "-c shared_buffers=2GB -c work_mem=64MB -c maintenance_work_mem=1GB "
                "-c max_wal_size=8GB -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=100")
        subprocess.run(self.as_postgres + [
            f"{PG_BIN}/pg_ctl", "-D", self.data, "-o", opts, "-l",
            os.path.join(self.tmp, "log"), "-w", "start"], check=True, capture_output=True)
        self.conn = _pg_connect(self.port, "postgres", "postgres")

    def load(self, csv_path):
        c = self.conn
        c.execute(pg_create_table(primary_key=False))
        t0 = time.perf_counter()
        with c.cursor() as cur:
            with cur.copy("COPY users FROM STDIN (FORMAT csv, HEADER true)") as cp:
                with open(csv_path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        cp.write(chunk)
        copy_secs = time.perf_counter() - t0
        c.execute("ALTER TABLE users ADD PRIMARY KEY (user_id)")
        for col in INDEXED:
            c.execute(f"CREATE INDEX ON users ({col})")
        c.execute("CREATE INDEX ON users USING gin (interests)")
        c.execute("VACUUM ANALYZE users")
        total = time.perf_counter() - t0
        size = c.execute("SELECT pg_total_relation_size('users')").fetchone()[0]
        heap = c.execute("SELECT pg_relation_size('users')").fetchone()[0]
        return {"seconds": total, "copy_seconds": copy_secs, "bytes": size, "heap_bytes": heap,
                "detail": f"COPY {copy_secs:.1f} s; + primary key, {len(INDEXED)} b-tree, "
                          f"1 GIN, VACUUM ANALYZE {total - copy_secs:.1f} s"}

    def query(self, sql):
        return self.conn.execute(sql).fetchall()

    def version(self):
        return self.conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]

    def close(self):
        if self.conn is not None:
            self.conn.close()
        subprocess.run(self.as_postgres + [f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast",
                                           "-w", "stop"], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


DUCK_INTERESTS = ("CASE WHEN interests IS NULL THEN NULL WHEN interests = '{}' THEN []::VARCHAR[] "
                  "ELSE string_split(substr(interests, 2, length(interests) - 2), ',') END")


def duck_read_csv(csv_path):
    types = ", ".join(f"'{n}': '{'VARCHAR' if n == 'interests' else d}'"
                      for n, _, d, _ in COLUMNS)
    cols = ", ".join(DUCK_INTERESTS + " AS interests" if n == "interests" else n
                     for n, _, _, _ in COLUMNS)
    return (f"SELECT {cols} FROM read_csv('{csv_path}', header = true, "
            f"columns = {{{types}}})")


class DuckDb:
    """DuckDB, in process, in a database file."""

    name = "duckdb"

    def __init__(self, path):
        import duckdb
        for p in (path, path + ".wal"):
            if os.path.exists(p):
                os.remove(p)
        self.path = path
        self.conn = duckdb.connect(path)

    def load(self, csv_path):
        t0 = time.perf_counter()
        self.conn.execute("CREATE TABLE users AS " + duck_read_csv(csv_path))
        self.conn.execute("CHECKPOINT")
        secs = time.perf_counter() - t0
        return {"seconds": secs, "bytes": os.path.getsize(self.path),
                "detail": "CREATE TABLE AS read_csv + CHECKPOINT"}

    def query(self, sql):
        return self.conn.execute(sql).fetchall()

    def version(self):
        import duckdb
        return f"DuckDB {duckdb.__version__}"

    def close(self):
        self.conn.close()


class Chdb:
    """ClickHouse through chdb: a MergeTree table in a session directory."""

    name = "chdb"

    def __init__(self, path):
        from chdb import session
        shutil.rmtree(path, ignore_errors=True)
        self.path = path
        self.sess = session.Session(path)

    def load(self, csv_path):
        cols = ", ".join(f"{n} {c}" for n, _, _, c in COLUMNS)
        self.sess.query(f"CREATE TABLE users ({cols}) ENGINE = MergeTree ORDER BY user_id")
        structure = ", ".join(
            f"{n} {'Nullable(String)' if n == 'interests' else c}" for n, _, _, c in COLUMNS)
        select = ", ".join(
            "if(interests IS NULL OR interests = '{}', [], "
            "splitByChar(',', substring(interests, 2, length(interests) - 2)))"
            if n == "interests" else n for n, _, _, _ in COLUMNS)
        t0 = time.perf_counter()
        self.sess.query(
            f"INSERT INTO users SELECT {select} FROM file('{csv_path}', 'CSVWithNames', "
            f"'{structure.replace(chr(39), chr(92) + chr(39))}') "
            "SETTINGS date_time_input_format = 'best_effort'")
        self.sess.query("OPTIMIZE TABLE users FINAL")
        secs = time.perf_counter() - t0
        size = self.query("SELECT sum(bytes_on_disk) FROM system.parts "
                          "WHERE table = 'users' AND active")[0][0]
        return {"seconds": secs, "bytes": int(size),
                "detail": "INSERT … SELECT FROM file(CSVWithNames) + OPTIMIZE FINAL"}

    def query(self, sql):
        import json
        if sql.lstrip().upper().startswith("SELECT"):
            # ClickHouse 25.3+ caches which granules matched a filter; the
            # benchmark measures uncached runs, as for audb.
            sql += (" SETTINGS use_query_condition_cache = 0, "
                    "use_query_condition_cache_for_top_k = 0")
        res = self.sess.query(sql, "JSONCompact")
        text = res.bytes().decode() if hasattr(res, "bytes") else str(res)
        if not text.strip():
            return []
        return [tuple(r) for r in json.loads(text)["data"]]

    def version(self):
        import chdb
        return f"ClickHouse {self.query('SELECT version()')[0][0]} (chdb {chdb.__version__})"

    def close(self):
        try:
            self.sess.close()
        except Exception:
            pass
