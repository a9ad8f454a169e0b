"""The capability reports at 20,000 and 100,000 people, on SQLite and PostgreSQL, against a
floor measured in the same run on the same database (issue 13, point 8).

For each size, one demo-like organisation is generated (bench/reports_data.py: the shipped
content loaded as `flask content load` loads it, then units, offices, people, roles and
10-25 pieces of evidence a person, written with bulk inserts) and loaded into a fresh
SQLite file and a fresh database of a throwaway PostgreSQL cluster the run starts itself
(stopped and deleted at the end). On each database, in order:

1. **Bulk recompute**: ``refresh_all`` fills the level and requirement spans (set-wise in
   SQL, app/reports/bulk.py), then ANALYZE as the demo build does (PostgreSQL: VACUUM
   ANALYZE, the state autovacuum reaches about a minute after a bulk write).
2. **The floor**: two plain tables made from the spans as at today, ``floor_levels``
   (person, competency, level) and ``floor_requirements`` (person, competency, required),
   each read by its key alone (SQLite: WITHOUT ROWID; PostgreSQL: a covering index,
   vacuumed), and one hand-written GROUP BY over them, joined to
   the people and the org-unit closure table as the product must, giving the heatmap's
   figures per org unit x competency: people required, meeting, levels short in all.
3. **Each report as the product computes it**, for the whole organisation and for one
   directorate (a fifth of it): the heatmap by org unit (``heatmap.heatmap``, rows the
   units below, plus its total row and head counts; on PostgreSQL also with
   ``enable_memoize`` off, the fix proposed for its plan), the heatmap of one team's people,
   role readiness (``readiness.role_readiness``), bench strength
   (``succession.bench_overview``: today, read from the maintained role distances; and as
   at 90 days ago, where they mostly do not hold and are computed as it runs) and office
   coverage (``coverage.coverage_report``).
   The heatmap's figures are checked cell by cell against the floor's.
4. **Per-unit aggregates kept current**: a table of unit x competency counts as at today
   (each unit with its whole subtree, and its own people) computed once; the heatmap's
   figures read from it, against the floor; and what keeping it current costs a write
   (the UPDATEs of the changed person's unit and its ancestors' rows).
5. **Maintenance cost per write**: one piece of evidence added through the ORM and
   committed, which refreshes that person's spans in the flush, against the same insert
   with the refresh deferred and dropped; and ``refresh_people`` for one person alone.
6. **Bulk recompute after a 50,000-row import**: 50,000 pieces of evidence (five each for
   10,000 people) bulk-inserted, then ``refresh_people`` for the people touched (what an
   import's ``deferred`` block runs), with ``--refresh-all-after`` also ``refresh_all``; a
   sample of the touched people
   checked against the Python rule (``differences``).

Each read is the median of ``--repeat`` runs after one warm-up (a read slower than
``--slow`` seconds: its one run), wall clock and CPU (CPU: the bench process, plus on
PostgreSQL the server backend's, from /proc/<pid>/schedstat), so that a figure can be read
even when other work shares the two cores (the load average is recorded). For the heatmap,
each SQL statement of one run is timed and the slowest one's
plan printed (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).

PostgreSQL settings: the defaults, except shared_buffers=512MB and
max_parallel_workers_per_gather=0 (one core per query, so that the backend's CPU time is
the query's; on two cores shared with the client, parallel workers buy little). On a server
of yours (``--postgres``) only the second can be set (per database, on each one created).

Builds are kept between runs (``--cache``, by default in the temporary folder): the
generated organisation, and each database as loaded, before the spans are filled (a copy of
the SQLite file; a template database on the PostgreSQL server), keyed by what they depend on
(the migrations, the content, this data generator, the seed, the size and the date), so a
second run starts from the loaded database and still times the bulk recompute.
``--reuse-spans`` also keeps the database after the bulk recompute and reuses it (its
recompute figures are then those of the run that built it). ``--phases`` picks what runs
after the floor tables (for a quick look at the reads alone: ``--phases reads``).

Usage:
  .venv/bin/python bench/reports_bench.py [--sizes 20000,100000] [--db sqlite,postgresql]
      [--repeat 5] [--writes 50] [--import-rows 50000] [--postgres URL] [--slow 15]
      [--refresh-all-after] [--cache DIR] [--reuse-spans] [--phases reads,team,...]
--postgres: an existing server to create the benchmark's databases in (instead of a
throwaway cluster). Results go to stdout, bench/results/reports.md and reports.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import pickle
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from bench import reports_data as data  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
TODAY = date.today()
RESULTS = ROOT / "bench" / "results"
#: the heatmap's budget against the floor (issue 13): within 2x, aim for 1x
HEATMAP_LIMIT = 2.0
#: the past date bench strength is also read at (its role distances are kept for today)
PAST_DAYS = 90


# -- a throwaway PostgreSQL cluster ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster in a temporary folder on a free port (as scripts/test.sh makes)."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: float(p.parent.name))
        if not bins:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="pmo-reports-pg."))
        self.port = free_port()
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
            "-c shared_buffers=512MB -c max_parallel_workers_per_gather=0"
        )
        self._pg(
            "pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"),
            "-w", "-o", options, "start",
        )  # fmt: skip
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def fresh_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create (or re-create) database ``name`` on the server (a copy of ``template`` when
    given); its URL. Parallel query is switched off in it (one core per query, as the
    throwaway cluster is started), whatever the server's default."""
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
        conn.execute(f'ALTER DATABASE "{name}" SET max_parallel_workers_per_gather = 0')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def database_exists(server_url: str, name: str) -> bool:
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# -- the build cache ---------------------------------------------------------------------------

#: what a cached build depends on: change any of these and the build is made afresh
BUILD_INPUTS = ("migrations/versions", "curricula", "bench/reports_data.py", "app/content")
#: what the cached spans (and role distances) depend on besides the build
SPANS_INPUTS = (
    "app/reports/bulk.py",
    "app/reports/maintain.py",
    "app/reports/models.py",
    "app/reports/spans.py",
    "app/reports/distances.py",
)


def _digest(paths: tuple[str, ...], *extra: Any) -> str:
    h = hashlib.sha256(repr(extra).encode())
    for name in paths:
        path = ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:12]


class BuildCache:
    """Built organisations kept between runs (a 100,000-person build takes minutes): the
    generated rows (a pickle), and per database the loaded database before the spans are
    filled (stage ``loaded``) and, with ``--reuse-spans``, after (stage ``spans``, with the
    bulk recompute's figures beside it). SQLite: a copy of the file; PostgreSQL: a database
    on the same server that new ones are created from (CREATE DATABASE … TEMPLATE). Keyed
    by what the build depends on (BUILD_INPUTS, seed, size and today's date), so a stale
    build is never reused."""

    def __init__(self, folder: Path, size: int, seed: int) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.key = _digest(BUILD_INPUTS, size, seed, TODAY.isoformat())
        self.spans_key = _digest(SPANS_INPUTS, self.key)
        self.size = size

    def _name(self, stage: str) -> str:
        return f"{self.size}-{self.key if stage == 'loaded' else self.spans_key}-{stage}"

    # the generated organisation
    def org(self) -> data.Organisation | None:
        path = self.folder / f"org-{self.size}-{self.key}.pickle"
        return pickle.loads(path.read_bytes()) if path.exists() else None

    def save_org(self, org: data.Organisation) -> None:
        (self.folder / f"org-{self.size}-{self.key}.pickle").write_bytes(pickle.dumps(org))

    # the figures measured when a stage was saved
    def meta(self, stage: str) -> dict[str, Any] | None:
        path = self.folder / f"{self._name(stage)}.json"
        return json.loads(path.read_text()) if path.exists() else None

    # SQLite files
    def sqlite_file(self, stage: str) -> Path:
        return self.folder / f"reports-{self._name(stage)}.sqlite3"

    def pg_name(self, stage: str) -> str:
        return f"pmo_reports_cache_{self._name(stage).replace('-', '_')}"

    def has(self, dbname: str, stage: str, server: str | None) -> bool:
        if self.meta(stage) is None:
            return False
        if dbname == "sqlite":
            return self.sqlite_file(stage).exists()
        return server is not None and database_exists(server, self.pg_name(stage))

    def restore(self, dbname: str, stage: str, target: str | Path, server: str | None) -> None:
        """Make ``target`` (a SQLite path, or a database name on ``server``) a copy of the
        cached stage."""
        if dbname == "sqlite":
            shutil.copyfile(self.sqlite_file(stage), target)
        else:
            assert server is not None
            fresh_database(server, str(target), template=self.pg_name(stage))

    def save(self, session, stage: str, meta: dict[str, Any], url: str, server: str | None) -> None:
        """Keep the database ``session`` is on as the cached ``stage`` (its connections are
        closed first: they reopen on the next use)."""
        engine = session.get_bind()
        if engine.dialect.name == "sqlite":
            session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            session.commit()
            session.close()
            engine.dispose()
            source = Path(url.removeprefix("sqlite:///"))
            partial_copy = self.sqlite_file(stage).with_suffix(".part")
            shutil.copyfile(source, partial_copy)
            partial_copy.replace(self.sqlite_file(stage))
        else:
            assert server is not None
            session.commit()
            session.close()
            engine.dispose()
            name = url.rsplit("/", 1)[1]
            fresh_database(server, self.pg_name(stage), template=name)
        (self.folder / f"{self._name(stage)}.json").write_text(json.dumps(meta, default=str))


# -- measuring ---------------------------------------------------------------------------------


def _schedstat_ns(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _backend_pid(session) -> int | None:
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    return connection.connection.driver_connection.info.backend_pid


def _cpu_ns(backend: int | None) -> int:
    own = time.process_time_ns()
    return own + (_schedstat_ns(backend) if backend else 0)


def once(session, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall ms, CPU ms, result) of one run of ``fn`` in a transaction of its own."""
    backend = _backend_pid(session)  # opens the transaction (and its connection) first
    cpu = _cpu_ns(backend)
    started = time.perf_counter()
    result = fn()
    wall = (time.perf_counter() - started) * 1000
    used = (_cpu_ns(backend) - cpu) / 1e6
    session.rollback()
    return wall, used, result


def timed(session, fn: Callable[[], Any], repeat: int, slow_ms: float = 0) -> dict[str, Any]:
    """Median of ``repeat`` runs after one warm-up (reads: each run rolled back). A read whose
    warm-up takes more than ``slow_ms`` (when given) is run once more only."""
    warm = once(session, fn)
    if slow_ms and warm[0] > slow_ms:  # a slow read: its first run is the figure
        runs = [warm]
    else:
        runs = [once(session, fn) for _ in range(repeat)]
    walls = [r[0] for r in runs]
    return {
        "ms": round(statistics.median(walls), 1),
        "cpu_ms": round(statistics.median(r[1] for r in runs), 1),
        "min_ms": round(min(walls), 1),
        "max_ms": round(max(walls), 1),
        "runs": len(runs),
        "result": runs[-1][2],
    }


def timed_write(session, fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one write, committed by ``fn``."""
    backend = _backend_pid(session)
    cpu = _cpu_ns(backend)
    started = time.perf_counter()
    fn()
    wall = (time.perf_counter() - started) * 1000
    return wall, (_cpu_ns(backend) - cpu) / 1e6


@contextmanager
def statements(engine):
    """Every SQL statement run inside the block, with its parameters and wall time (ms)."""
    seen: list[dict[str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        ms = (time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())) * 1000
        seen.append({"sql": statement, "params": parameters, "ms": ms})

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain(session, statement: str, params: Any) -> str:
    """The plan of one statement as the database runs it."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params
        ).all()
        plan = "\n".join(r[0] for r in rows)
    else:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        plan = "\n".join(lines)
    session.rollback()
    return plan


def quiet() -> None:
    """Alembic's INFO lines off (migrations/env.py sets them up on every upgrade)."""
    logging.disable(logging.INFO)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# -- the floor ---------------------------------------------------------------------------------

FLOOR_TABLES = """
CREATE TABLE floor_levels (
    person_id INTEGER NOT NULL, competency_code VARCHAR(16) NOT NULL, level INTEGER NOT NULL,
    PRIMARY KEY (person_id, competency_code)) {clustered};
CREATE TABLE floor_requirements (
    person_id INTEGER NOT NULL, competency_code VARCHAR(16) NOT NULL, required INTEGER NOT NULL,
    PRIMARY KEY (person_id, competency_code)) {clustered};
INSERT INTO floor_levels (person_id, competency_code, level)
    SELECT person_id, competency_code, level FROM level_spans
    WHERE valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)
    ORDER BY person_id, competency_code;
INSERT INTO floor_requirements (person_id, competency_code, required)
    SELECT person_id, competency_code, required FROM requirement_spans
    WHERE valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)
    ORDER BY person_id, competency_code
"""
#: the plain tables at their best: clustered on their key (SQLite: WITHOUT ROWID; PostgreSQL:
#: filled in key order, then VACUUM ANALYZE so that the key's index answers alone)
CLUSTERED = {"sqlite": "WITHOUT ROWID", "postgresql": ""}
FLOOR_INDEXES = {
    "sqlite": [],
    "postgresql": [
        "CREATE INDEX ix_floor_levels_all ON floor_levels (person_id, competency_code, level)",
        "CREATE INDEX ix_floor_requirements_all "
        "ON floor_requirements (person_id, competency_code, required)",
    ],
}


#: the figures of each cell, over floor_requirements r LEFT JOIN floor_levels l
FIGURES = """
    COUNT(*) AS required,
    SUM(CASE WHEN COALESCE(l.level, 0) >= r.required THEN 1 ELSE 0 END) AS meeting,
    SUM(CASE WHEN r.required > COALESCE(l.level, 0) THEN r.required - COALESCE(l.level, 0)
        ELSE 0 END) AS shortfall"""

#: the heatmap's unit rows: each child of :base with its subtree, and :base's own people
FLOOR_UNITS = f"""
SELECT u.row_key, r.competency_code, {FIGURES}
FROM (SELECT ancestor_id AS row_key, descendant_id AS unit_id FROM org_unit_paths
      WHERE ancestor_id IN (SELECT id FROM org_units WHERE parent_id = :base)
      UNION ALL SELECT :base, :base) u
JOIN people p ON p.org_unit_id = u.unit_id
JOIN floor_requirements r ON r.person_id = p.id
LEFT JOIN floor_levels l ON l.person_id = r.person_id AND l.competency_code = r.competency_code
WHERE p.active OR p.leaving_date > :on
GROUP BY u.row_key, r.competency_code
"""

#: the heatmap's people rows for one unit's own people
FLOOR_PEOPLE = f"""
SELECT p.id, r.competency_code, {FIGURES}
FROM people p
JOIN floor_requirements r ON r.person_id = p.id
LEFT JOIN floor_levels l ON l.person_id = r.person_id AND l.competency_code = r.competency_code
WHERE p.org_unit_id = :unit AND (p.active OR p.leaving_date > :on)
GROUP BY p.id, r.competency_code
"""

# -- per-unit aggregates kept current (the experiment) --------------------------------------

AGGREGATE_TABLES = f"""
CREATE TABLE agg_unit_figures (
    unit_id INTEGER NOT NULL, own INTEGER NOT NULL, competency_code VARCHAR(16) NOT NULL,
    required INTEGER NOT NULL, meeting INTEGER NOT NULL, shortfall INTEGER NOT NULL,
    PRIMARY KEY (unit_id, own, competency_code));
CREATE TABLE agg_unit_people (
    unit_id INTEGER NOT NULL, own INTEGER NOT NULL, people INTEGER NOT NULL,
    PRIMARY KEY (unit_id, own));
INSERT INTO agg_unit_figures
    SELECT up.ancestor_id, 0, r.competency_code, {FIGURES}
    FROM people p
    JOIN org_unit_paths up ON up.descendant_id = p.org_unit_id
    JOIN floor_requirements r ON r.person_id = p.id
    LEFT JOIN floor_levels l ON l.person_id = r.person_id AND l.competency_code = r.competency_code
    WHERE p.active OR p.leaving_date > :on
    GROUP BY up.ancestor_id, r.competency_code;
INSERT INTO agg_unit_figures
    SELECT p.org_unit_id, 1, r.competency_code, {FIGURES}
    FROM people p
    JOIN floor_requirements r ON r.person_id = p.id
    LEFT JOIN floor_levels l ON l.person_id = r.person_id AND l.competency_code = r.competency_code
    WHERE p.active OR p.leaving_date > :on
    GROUP BY p.org_unit_id, r.competency_code;
INSERT INTO agg_unit_people
    SELECT up.ancestor_id, 0, COUNT(*) FROM people p
    JOIN org_unit_paths up ON up.descendant_id = p.org_unit_id
    WHERE p.active OR p.leaving_date > :on GROUP BY up.ancestor_id;
INSERT INTO agg_unit_people
    SELECT p.org_unit_id, 1, COUNT(*) FROM people p
    WHERE p.active OR p.leaving_date > :on GROUP BY p.org_unit_id
"""

#: everything the heatmap's unit rows show, read from the aggregates: the cells of each
#: child (subtree) and of the base's own people, the total row, and the head counts
AGGREGATE_READ = """
SELECT f.unit_id, f.own, f.competency_code, f.required, f.meeting, f.shortfall
FROM agg_unit_figures f JOIN org_units u ON u.id = f.unit_id
WHERE u.parent_id = :base AND f.own = 0
UNION ALL
SELECT unit_id, own, competency_code, required, meeting, shortfall FROM agg_unit_figures
WHERE unit_id = :base
"""
AGGREGATE_HEADS = """
SELECT n.unit_id, n.own, n.people FROM agg_unit_people n JOIN org_units u ON u.id = n.unit_id
WHERE u.parent_id = :base AND n.own = 0
UNION ALL
SELECT unit_id, own, people FROM agg_unit_people WHERE unit_id = :base
"""
#: keeping them current after one person's figure in one competency moved: the subtree rows
#: of their unit's ancestors, and their unit's own row
AGGREGATE_DELTA = """
UPDATE agg_unit_figures SET meeting = meeting + :dm, shortfall = shortfall + :ds
WHERE own = 0 AND competency_code = :code
  AND unit_id IN (SELECT ancestor_id FROM org_unit_paths WHERE descendant_id = :unit);
UPDATE agg_unit_figures SET meeting = meeting + :dm, shortfall = shortfall + :ds
WHERE own = 1 AND competency_code = :code AND unit_id = :unit
"""


def analyze(session, tables: list[str]) -> None:
    """Statistics (and on PostgreSQL the visibility map, for index-only scans)."""
    if session.connection().dialect.name == "postgresql":
        session.commit()
        connection = session.connection().connection.driver_connection
        connection.autocommit = True
        try:
            for table in tables:
                connection.execute(f"VACUUM ANALYZE {table}")
        finally:
            connection.autocommit = False
    else:
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))
        session.commit()


def without_memoize(session, fn: Callable[[], Any]) -> Any:
    """``fn`` with PostgreSQL's Memoize plan node switched off for the transaction: the fix
    proposed for the heatmap (its planner picks a nested loop of index probes, one per
    requirement, behind a cache that never hits)."""
    session.execute(text("SET LOCAL enable_memoize = off"))
    return fn()


def run_script(session, script: str, **params: Any) -> None:
    for statement in script.split(";"):
        if statement.strip():
            session.execute(text(statement), params)


# -- the reports -------------------------------------------------------------------------------


def product_reports() -> tuple[dict[str, Any], list[str]]:
    """The report modules that exist (imported lazily: others are writing them)."""
    found: dict[str, Any] = {}
    missing: list[str] = []
    for name in ("heatmap", "readiness", "succession", "coverage"):
        try:
            found[name] = __import__(f"app.reports.{name}", fromlist=["_"])
        except ImportError as exc:
            missing.append(f"{name} ({exc})")
    return found, missing


def heatmap_cells(hm) -> dict[tuple[int, str], tuple[int, int, int]]:
    return {
        (row.key, code): (c.required, c.meeting, c.shortfall)
        for row in hm.rows
        for code, c in row.cells.items()
        if c.required
    }


def floor_cells(rows) -> dict[tuple[int, str], tuple[int, int, int]]:
    return {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4])) for r in rows}


# -- one database ------------------------------------------------------------------------------


class DatabaseRun:
    """Every measure on one database, phase by phase (see the module docstring)."""

    def __init__(
        self,
        session,
        org: data.Organisation,
        args,
        *,
        restored: str | None = None,
        keep: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        from app.reports.scope import ReportScope

        self.session, self.org, self.args = session, org, args
        #: the cached stage the database was restored at (None: built here), and how to
        #: keep a stage in the cache
        self.restored, self.keep = restored, keep
        self.out: dict[str, Any] = {
            "load_average_start": load_average(),
            "reads": {},
            "notes": [],
        }
        self.reads: dict[str, dict[str, Any]] = self.out["reads"]
        self.dialect = session.get_bind().dialect.name
        directorate = org.directorates[0]
        #: (key, label, ReportScope, the unit whose children are the heatmap's rows)
        self.scopes = [
            ("organisation", "the whole organisation", ReportScope(on=TODAY), org.root_id),
            (
                "directorate",
                f"directorate {directorate[1]} ({directorate[2]})",
                ReportScope(on=TODAY, unit_id=directorate[0]),
                directorate[0],
            ),
        ]

    def all(self) -> dict[str, Any]:
        phases = self.args.phases
        self.setup()
        self.recompute()
        self.floor_tables()
        if "reads" in phases:
            self.report_reads()
        if "team" in phases:
            self.team_reads()
        if "statements" in phases:
            self.heatmap_statements()
        if "aggregates" in phases:
            self.aggregates()
        if "writes" in phases:
            self.writes()
        if "import" in phases:
            self.bulk_import()
        self.out["load_average_end"] = load_average()
        return self.out

    def read(self, key: str, fn: Callable[[], Any]) -> dict[str, Any]:
        r = timed(self.session, fn, self.args.repeat, self.args.slow * 1000)
        self.reads[key] = {k: v for k, v in r.items() if k != "result"}
        runs = "" if r["runs"] == self.args.repeat else "  (one run, no warm-up: slow)"
        print(f"    {key:48} {r['ms']:9.1f} ms  (CPU {r['cpu_ms']:8.1f}){runs}")
        return r

    def floor(self, base: int) -> list:
        return self.session.execute(text(FLOOR_UNITS), {"base": base, "on": TODAY}).all()

    # the phases

    def setup(self) -> None:
        """Migrate, load the shipped content as `flask content load` does, then the
        organisation (unless the database was restored from the cache)."""
        from flask import current_app
        from flask_migrate import upgrade

        if self.restored:
            meta = self.out["cached"] = self.out.get("cached") or {}
            meta["restored"] = self.restored
            for key in ("content_s", "load_s"):
                self.out[key] = self.restored_meta.get(key)
            upgrade()  # nothing to do: the cache key holds the migrations
            quiet()
            print(f"  restored from the cache (stage {self.restored})")
            return
        started = time.perf_counter()
        upgrade()
        quiet()
        loaded = current_app.test_cli_runner().invoke(args=["content", "load"])
        if loaded.exit_code != 0:
            trace = "".join(traceback.format_exception(*loaded.exc_info)) if loaded.exc_info else ""
            raise SystemExit(f"flask content load failed:\n{loaded.output}{trace}")
        self.out["content_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        data.load(self.session, self.org)
        self.out["load_s"] = round(time.perf_counter() - started, 1)
        print(
            f"  loaded {self.org.people:,} people, {len(self.org.evidence):,} evidence "
            f"in {self.out['load_s']} s"
        )
        if self.keep:
            self.keep("loaded", {k: self.out[k] for k in ("content_s", "load_s")})

    @property
    def restored_meta(self) -> dict[str, Any]:
        return self.out.get("restored_meta") or {}

    def recompute(self) -> None:
        """1. The bulk recompute: refresh_all, committed; then ANALYZE. (Restored from the
        cache at stage ``spans``: the figures measured when it was built.)"""
        from app.reports import maintain
        from app.reports.models import LevelSpan, RequirementSpan

        session = self.session
        if self.restored == "spans":
            for key in ("bulk_recompute", "analyze_s", "level_spans", "requirement_spans"):
                self.out[key] = self.restored_meta[key]
            self.out["notes"].append(
                "bulk recompute figures from the cached build of "
                f"{self.restored_meta.get('when', '?')} (--reuse-spans)"
            )
            took = self.out["bulk_recompute"]["ms"] / 1000
            print(f"  spans restored from the cache (refresh_all took {took:.1f} s)")
            return
        wall, cpu = timed_write(session, lambda: (maintain.refresh_all(session), session.commit()))
        self.out["bulk_recompute"] = {"ms": round(wall), "cpu_ms": round(cpu)}
        started = time.perf_counter()
        if self.dialect == "postgresql":  # the steady state autovacuum reaches in a minute
            analyze(session, [""])
        else:
            session.execute(text("ANALYZE"))
            session.commit()
        self.out["analyze_s"] = round(time.perf_counter() - started, 1)
        self.out["level_spans"] = session.scalar(select(func.count()).select_from(LevelSpan))
        self.out["requirement_spans"] = session.scalar(
            select(func.count()).select_from(RequirementSpan)
        )
        session.rollback()
        print(
            f"  bulk recompute (refresh_all): {wall / 1000:.1f} s (CPU {cpu / 1000:.1f} s), "
            f"{self.out['level_spans']:,} level and {self.out['requirement_spans']:,} "
            "requirement spans"
        )
        if self.keep and self.args.reuse_spans:
            kept = {
                k: self.out[k]
                for k in (
                    "content_s",
                    "load_s",
                    "bulk_recompute",
                    "analyze_s",
                    "level_spans",
                    "requirement_spans",
                )
            }
            self.keep("spans", {**kept, "when": time.strftime("%Y-%m-%d %H:%M")})

    def floor_tables(self) -> None:
        """2. The floor's plain tables, from the spans as at today."""
        session = self.session
        started = time.perf_counter()
        run_script(session, FLOOR_TABLES.format(clustered=CLUSTERED[self.dialect]), on=TODAY)
        for statement in FLOOR_INDEXES[self.dialect]:
            session.execute(text(statement))
        session.commit()
        analyze(session, ["floor_levels", "floor_requirements"])
        self.out["floor_tables_s"] = round(time.perf_counter() - started, 1)

    def report_reads(self) -> None:
        """3. The floor and each report, whole organisation and one directorate."""
        session = self.session
        reports, missing = product_reports()
        self.out["missing"] = missing
        for key, label, scope, base in self.scopes:
            people = data.subtree_people(session, base, TODAY)
            session.rollback()
            print(f"  {label}: {people:,} people")
            floor = self.read(f"{key}/floor", partial(self.floor, base))
            self.reads[f"{key}/floor"]["people"] = people
            if "heatmap" in reports:
                r = self.read(
                    f"{key}/heatmap by org unit",
                    partial(reports["heatmap"].heatmap, session, scope, "unit"),
                )
                same = heatmap_cells(r["result"]) == floor_cells(floor["result"])
                self.reads[f"{key}/heatmap by org unit"]["figures_match_floor"] = same
                if not same:
                    self.out["notes"].append(
                        f"{label}: the heatmap's figures differ from the floor's"
                    )
                    print("    !! the heatmap's figures differ from the floor's")
            if "heatmap" in reports and self.dialect == "postgresql":
                r = self.read(
                    f"{key}/heatmap by org unit, enable_memoize off",
                    partial(
                        without_memoize,
                        session,
                        partial(reports["heatmap"].heatmap, session, scope, "unit"),
                    ),
                )
                same = heatmap_cells(r["result"]) == floor_cells(floor["result"])
                self.reads[f"{key}/heatmap by org unit, enable_memoize off"][
                    "figures_match_floor"
                ] = same
            if "readiness" in reports:
                self.read(
                    f"{key}/role readiness",
                    partial(reports["readiness"].role_readiness, session, scope),
                )
            if "succession" in reports:
                self.read(
                    f"{key}/bench strength",
                    partial(
                        reports["succession"].bench_overview,
                        session,
                        scope,
                        reports["succession"].BenchOptions(),
                    ),
                )
                # As at a past date the stored role distances (kept for today) mostly do
                # not hold: the bench is computed for those people as it runs.
                self.read(
                    f"{key}/bench strength, as at {PAST_DAYS} days ago",
                    partial(
                        reports["succession"].bench_overview,
                        session,
                        replace(scope, on=TODAY - timedelta(days=PAST_DAYS)),
                        reports["succession"].BenchOptions(),
                    ),
                )
            if "coverage" in reports:
                self.read(
                    f"{key}/office coverage",
                    partial(reports["coverage"].coverage_report, session, scope),
                )

    def team_reads(self) -> None:
        """3. The heatmap of one team's people against the floor's people rows."""
        from app.reports.scope import ReportScope

        session, team = self.session, self.org.team_id
        print(f"  one team: {data.subtree_people(session, team, TODAY)} people")
        session.rollback()
        floor = self.read(
            "team/floor (people rows)",
            lambda: session.execute(text(FLOOR_PEOPLE), {"unit": team, "on": TODAY}).all(),
        )
        reports, _missing = product_reports()
        if "heatmap" in reports:
            scope = ReportScope(on=TODAY, unit_id=team)
            r = self.read(
                "team/heatmap by person",
                lambda: reports["heatmap"].heatmap(session, scope, "people"),
            )
            same = heatmap_cells(r["result"]) == floor_cells(floor["result"])
            self.reads["team/heatmap by person"]["figures_match_floor"] = same

    def heatmap_statements(self) -> None:
        """Where the heatmap's time goes: each statement of one run, the slowest one's plan,
        and the floor's plan."""
        reports, _missing = product_reports()
        if "heatmap" not in reports:
            return
        session = self.session
        self.out["heatmap_statements"], self.out["heatmap_plans"] = {}, {}
        for key, _label, scope, _base in self.scopes:
            with statements(db.engine) as seen:
                reports["heatmap"].heatmap(session, scope, "unit")
            session.rollback()
            self.out["heatmap_statements"][key] = [
                {"ms": round(s["ms"], 1), "sql": " ".join(s["sql"].split())[:160]} for s in seen
            ]
            slowest = max(seen, key=lambda s: s["ms"])
            self.out["heatmap_plans"][key] = {
                "ms": round(slowest["ms"], 1),
                "sql": slowest["sql"],
                "plan": explain(session, slowest["sql"], slowest["params"]),
            }
        with statements(db.engine) as seen:
            self.floor(self.org.root_id)
        session.rollback()
        self.out["floor_plan"] = explain(session, seen[-1]["sql"], seen[-1]["params"])

    def aggregates(self) -> None:
        """4. Per-unit aggregates as at today, computed once; the heatmap read from them;
        and what keeping them current costs a write."""
        from app.org.models import Person

        session = self.session
        started = time.perf_counter()
        run_script(session, AGGREGATE_TABLES, on=TODAY)
        session.commit()
        analyze(session, ["agg_unit_figures", "agg_unit_people"])
        self.out["aggregates_build_ms"] = round((time.perf_counter() - started) * 1000)
        print(f"  per-unit aggregates computed once in {self.out['aggregates_build_ms']} ms")
        for key, _label, _scope, base in self.scopes:

            def from_aggregates(base=base):
                figures = session.execute(text(AGGREGATE_READ), {"base": base}).all()
                heads = session.execute(text(AGGREGATE_HEADS), {"base": base}).all()
                return figures, heads

            r = self.read(f"{key}/heatmap from per-unit aggregates", from_aggregates)
            figures = {
                (u, code): (req, meet, short)
                for u, own, code, req, meet, short in r["result"][0]
                if not (own == 0 and u == base) and req
            }
            expected = floor_cells(self.floor(base))
            session.rollback()
            self.reads[f"{key}/heatmap from per-unit aggregates"]["figures_match_floor"] = (
                figures == expected
            )
        units = session.scalars(
            select(Person.org_unit_id).where(Person.active).order_by(Person.id.desc())
        ).all()[: self.args.writes]
        session.rollback()

        def delta(unit: int) -> None:
            run_script(session, AGGREGATE_DELTA, dm=0, ds=0, code="CTL-04", unit=unit)
            session.commit()

        samples = [timed_write(session, partial(delta, u)) for u in units]
        self.out["aggregate_delta_write_ms"] = round(statistics.median(s[0] for s in samples), 2)
        print(f"  aggregate upkeep per write: {self.out['aggregate_delta_write_ms']} ms")

    def writes(self) -> None:
        """5. The maintenance cost per write."""
        w = self.out["per_write"] = per_write(self.session, self.org, self.args.writes)
        print(
            f"  one evidence insert + commit: {w['with_refresh_ms']} ms with the span refresh, "
            f"{w['without_refresh_ms']} ms without; refresh_people(1 person) "
            f"{w['refresh_one_ms']} ms"
        )

    def bulk_import(self) -> None:
        """6. A 50,000-row import, then the recompute of the people it touched."""
        from app.reports import maintain

        session, args = self.session, self.args
        rows, touched = data.import_rows(self.org, args.import_rows, seed=args.seed + 1)
        started = time.perf_counter()
        data.bulk_insert(session.connection(), "evidence", data.EVIDENCE_COLUMNS, rows)
        session.commit()
        insert_ms = (time.perf_counter() - started) * 1000
        wall, cpu = timed_write(
            session, lambda: (maintain.refresh_people(session, touched), session.commit())
        )
        imp = self.out["import"] = {
            "rows": len(rows),
            "people": len(touched),
            "insert_ms": round(insert_ms),
            "refresh_touched_ms": round(wall),
            "refresh_touched_cpu_ms": round(cpu),
        }
        print(
            f"  import of {len(rows):,} evidence rows ({len(touched):,} people): insert "
            f"{insert_ms / 1000:.1f} s, refresh_people(touched) {wall / 1000:.1f} s "
            f"(CPU {cpu / 1000:.1f} s)"
        )
        if args.refresh_all_after:
            wall, cpu = timed_write(
                session, lambda: (maintain.refresh_all(session), session.commit())
            )
            imp["refresh_all_ms"], imp["refresh_all_cpu_ms"] = round(wall), round(cpu)
            print(f"  refresh_all after the import: {wall / 1000:.1f} s (CPU {cpu / 1000:.1f} s)")
        sample = sorted(touched)[:: max(1, len(touched) // 200)]
        found = maintain.differences(session, sample)
        session.rollback()
        imp["checked_people"], imp["differences"] = len(sample), len(found)
        if found:
            self.out["notes"].append(f"{len(found)} differences from the rule after the import")


def run_database(
    url: str,
    org: data.Organisation,
    args,
    *,
    restored: str | None = None,
    restored_meta: dict[str, Any] | None = None,
    keep: Callable[[Any, str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        try:
            run = DatabaseRun(
                db.session,
                org,
                args,
                restored=restored,
                keep=partial(keep, db.session) if keep else None,
            )
            run.out["restored_meta"] = restored_meta or {}
            out = run.all()
            out.pop("restored_meta", None)
            return out
        finally:
            db.session.remove()
            db.engine.dispose()


def per_write(session, org: data.Organisation, count: int) -> dict[str, Any]:
    """One piece of evidence at a time through the ORM, committed: with the span refresh
    the flush runs, and with it deferred and dropped (maintain's session.info keys); and
    refresh_people for one person alone. Each on different people who hold a role."""
    from app.capability.models import Evidence
    from app.framework.models import Source
    from app.org.models import Person, RoleAssignment
    from app.reports import maintain

    people = list(
        session.scalars(
            select(Person.id)
            .where(Person.active, Person.id.in_(select(RoleAssignment.person_id)))
            .order_by(Person.id)
        )
    )
    session.rollback()
    chosen = people[:: max(1, len(people) // (3 * count))][: 3 * count]
    code = "CTL-04"
    competency_id = org.content.competencies[code]

    def add(pid: int) -> None:
        session.add(
            Evidence(
                person_id=pid,
                competency_id=competency_id,
                competency_code=code,
                source=Source.MANAGER_RATING,
                level=3,
                achieved_on=TODAY,
                validated=True,
            )
        )

    def with_refresh(pid: int) -> None:
        add(pid)
        session.commit()

    def without_refresh(pid: int) -> None:
        session.info[maintain._DEFERRED] = 1
        add(pid)
        session.flush()
        session.info.pop(maintain._PENDING, None)
        del session.info[maintain._DEFERRED]
        session.commit()

    def refresh_one(pid: int) -> None:
        maintain.refresh_people(session, [pid])

    timings: dict[str, list[tuple[float, float]]] = {"with": [], "without": [], "alone": []}
    for pid in chosen[:count]:
        timings["with"].append(timed_write(session, partial(with_refresh, pid)))
    for pid in chosen[count : 2 * count]:
        timings["without"].append(timed_write(session, partial(without_refresh, pid)))
    for pid in chosen[2 * count :]:
        without_refresh(pid)
        timings["alone"].append(timed_write(session, partial(refresh_one, pid)))
        session.commit()
    maintain.refresh_people(session, chosen[count : 2 * count])  # catch the deferred ones up
    session.commit()

    def med(name: str, i: int) -> float:
        return round(statistics.median(t[i] for t in timings[name]), 2)

    return {
        "writes": count,
        "with_refresh_ms": med("with", 0),
        "with_refresh_cpu_ms": med("with", 1),
        "without_refresh_ms": med("without", 0),
        "without_refresh_cpu_ms": med("without", 1),
        "refresh_one_ms": med("alone", 0),
        "refresh_one_cpu_ms": med("alone", 1),
    }


# -- the table ---------------------------------------------------------------------------------

READ_ORDER = [
    ("floor", "floor (plain tables, one GROUP BY)"),
    ("heatmap by org unit", "heatmap by org unit"),
    ("heatmap from per-unit aggregates", "heatmap from per-unit aggregates"),
    ("role readiness", "role readiness"),
    ("bench strength", "bench strength"),
    ("office coverage", "office coverage"),
]


def table(results: dict[str, Any], sizes: list[int], dbs: list[str]) -> str:
    lines = []
    small, large = (sizes[0], sizes[-1]) if len(sizes) > 1 else (sizes[0], None)
    head = "| database | people | scope | report | median ms | CPU ms | runs | x floor |"
    rule = "|---|---:|---|---|---:|---:|---:|---:|"
    if large:
        head += f" growth {small // 1000}k→{large // 1000}k |"
        rule += "---:|"
    lines += [head, rule]
    for dbname in dbs:
        for size in sizes:
            r = results.get(f"{dbname}/{size}")
            if not r:
                continue
            for scope in ("organisation", "directorate", "team"):
                keys = [k for k in r["reads"] if k.startswith(scope + "/")]
                floor_key = next((k for k in keys if "/floor" in k), None)
                floor = r["reads"][floor_key]["ms"] if floor_key else None
                for key in keys:
                    v = r["reads"][key]
                    ratio = f"{v['ms'] / floor:.2f}" if floor else ""
                    match = v.get("figures_match_floor")
                    name = key.split("/", 1)[1] + (
                        "" if match in (None, True) else " (FIGURES DIFFER)"
                    )
                    row = (
                        f"| {dbname} | {size:,} | {scope} | {name} | {v['ms']:,.1f} | "
                        f"{v['cpu_ms']:,.1f} | {v.get('runs', '')} | {ratio} |"
                    )
                    if large:
                        other = results.get(f"{dbname}/{large if size == small else small}")
                        growth = ""
                        if size == large and other and key in other["reads"]:
                            growth = f"{v['ms'] / max(other['reads'][key]['ms'], 0.1):.1f}x"
                        row += f" {growth} |"
                    lines.append(row)
    return "\n".join(lines)


def writes_table(results: dict[str, Any], sizes: list[int], dbs: list[str]) -> str:
    columns = [
        "database",
        "people",
        "bulk recompute (refresh_all)",
        "evidence write + commit, span refresh",
        "same, no refresh",
        "refresh_people(1)",
        "aggregate upkeep per write",
        "50k import: insert",
        "refresh_people(touched)",
        "refresh_all after",
        "rule check",
    ]
    lines = [
        "| " + " | ".join(columns) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for dbname in dbs:
        for size in sizes:
            r = results.get(f"{dbname}/{size}")
            if not r or "per_write" not in r or "import" not in r:
                continue
            w, imp = r["per_write"], r["import"]
            after = f"{imp['refresh_all_ms'] / 1000:.1f} s" if "refresh_all_ms" in imp else "—"
            lines.append(
                f"| {dbname} | {size:,} | {r['bulk_recompute']['ms'] / 1000:.1f} s "
                f"(CPU {r['bulk_recompute']['cpu_ms'] / 1000:.1f} s) | {w['with_refresh_ms']} ms | "
                f"{w['without_refresh_ms']} ms | {w['refresh_one_ms']} ms | "
                f"{r.get('aggregate_delta_write_ms', '—')} ms | {imp['insert_ms'] / 1000:.1f} s | "
                f"{imp['refresh_touched_ms'] / 1000:.1f} s ({imp['people']:,} people) | {after} | "
                f"{imp['differences']} differences in {imp['checked_people']} people |"
            )
    return "\n".join(lines)


def report_markdown(results: dict[str, Any], sizes: list[int], dbs: list[str], meta: dict) -> str:
    parts = [
        "# Capability reports benchmark (bench/reports_bench.py)",
        "",
        f"Run {meta['when']} on {meta['machine']}; sizes {', '.join(f'{s:,}' for s in sizes)}; "
        f"databases {', '.join(dbs)}; each read the median of {meta['repeat']} runs after a "
        f"warm-up; writes the median of {meta['writes']}. Total run time {meta['total_s']:.0f} s.",
        "",
        "## Reads (ms; x floor = median / the floor's median in the same scope and run)",
        "",
        table(results, sizes, dbs),
        "",
        "## Writes and recomputes",
        "",
        writes_table(results, sizes, dbs),
        "",
        "## Per database",
        "",
    ]
    for key, r in results.items():
        parts += [
            f"### {key}",
            "",
            f"- load average at start / end: {r['load_average_start']} / {r['load_average_end']}",
            f"- content load {r.get('content_s')} s, organisation load {r.get('load_s')} s, "
            f"ANALYZE {r.get('analyze_s')} s, floor tables {r.get('floor_tables_s')} s, "
            f"per-unit aggregates built in {r.get('aggregates_build_ms', '—')} ms",
            f"- spans: {r['level_spans']:,} level, {r['requirement_spans']:,} requirement",
            f"- reports missing: {', '.join(r.get('missing', [])) or 'none'}",
        ]
        for note in r["notes"]:
            parts.append(f"- NOTE: {note}")
        for scope, stmts in r.get("heatmap_statements", {}).items():
            parts += ["", f"Heatmap by org unit, {scope}: each statement of one run", ""]
            parts += [f"    {s['ms']:9.1f} ms  {s['sql']}" for s in stmts]
        for scope, p in r.get("heatmap_plans", {}).items():
            parts += [
                "",
                f"Slowest heatmap statement, {scope} ({p['ms']} ms), its plan:",
                "",
            ]
            parts += ["    " + line for line in p["plan"].splitlines()]
        if r.get("floor_plan"):
            parts += ["", "The floor's plan (organisation):", ""]
            parts += ["    " + line for line in r["floor_plan"].splitlines()]
        parts.append("")
    return "\n".join(parts)


# -- main --------------------------------------------------------------------------------------


PHASES = ("reads", "team", "statements", "aggregates", "writes", "import")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--postgres", help="a PostgreSQL server URL to create databases in")
    parser.add_argument(
        "--refresh-all-after",
        action="store_true",
        help="also time refresh_all after the import (besides refresh_people of the touched)",
    )
    parser.add_argument(
        "--slow",
        type=float,
        default=15.0,
        help="seconds: a read whose first run takes longer is run only once (no warm-up)",
    )
    parser.add_argument("--out", default=str(RESULTS / "reports"), help="results path stem")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the databases (SQLite files in the temporary folder, printed; PostgreSQL "
        "databases on a --postgres server)",
    )
    parser.add_argument(
        "--cache",
        default=str(Path(tempfile.gettempdir()) / "pmo-reports-bench-cache"),
        help="a folder to keep built organisations in between runs (SQLite files; on "
        "PostgreSQL, template databases on the server); '' for none",
    )
    parser.add_argument(
        "--reuse-spans",
        action="store_true",
        help="also keep and reuse the database after the bulk recompute (its figures are "
        "then those measured when it was built)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"which phases after the floor tables to run (of {','.join(PHASES)})",
    )
    args = parser.parse_args()
    args.phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    if args.phases - set(PHASES):
        parser.error(f"unknown phases {args.phases - set(PHASES)}")
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.db = [d.strip() for d in args.db.split(",")]
    unknown = set(args.db) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database {unknown}")
    return args


def shipped_content(folder: Path) -> data.Content:
    """The content ids, from a scratch database loaded as every benchmark database is."""
    from flask_migrate import upgrade

    path = folder / "content.sqlite3"
    app = create_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", SECRET_KEY=SECRET)
    with app.app_context():
        upgrade()
        quiet()
        app.test_cli_runner().invoke(args=["content", "load"])
        content = data.read_content(db.session)
        db.session.remove()
        db.engine.dispose()
    path.unlink()
    return content


def organisation_for(size: int, args, folder: Path, cache: BuildCache | None):
    """The generated organisation of ``size`` people (from the cache when it has it)."""
    started = time.perf_counter()
    org = cache.org() if cache else None
    how = "read from the cache"
    if org is None:
        content = shipped_content(folder)
        started = time.perf_counter()
        org = data.generate(content, size, seed=args.seed, today=TODAY)
        if cache:
            cache.save_org(org)
        how = "generated"
    print(
        f"\n{size:,} people: {len(org.units):,} org units ({org.teams:,} teams), "
        f"{len(org.assignments):,} role assignments, {len(org.evidence):,} evidence "
        f"({how} in {time.perf_counter() - started:.1f} s)"
    )
    return org


def run_on(
    dbname: str, org, args, folder: Path, server: str | None, cache: BuildCache | None
) -> dict[str, Any]:
    """Every measure on one database: a fresh one, or a copy of the cached build."""
    size = org.people
    if dbname == "sqlite":
        target: str | Path = folder / f"reports-{size}.sqlite3"
        url = f"sqlite:///{target}"
    else:
        assert server is not None
        target = f"pmo_reports_{size}"
        url = server.rsplit("/", 1)[0] + f"/{target}"
    stages = ["spans", "loaded"] if args.reuse_spans else ["loaded"]
    restored = next((st for st in stages if cache.has(dbname, st, server)), None) if cache else None
    if restored and cache:
        cache.restore(dbname, restored, target, server)
    elif server is not None and dbname == "postgresql":
        fresh_database(server, str(target))

    def keep(session, stage: str, meta: dict[str, Any]) -> None:
        if cache and not cache.has(dbname, stage, server):
            cache.save(session, stage, meta, url, server)

    try:
        return run_database(
            url,
            org,
            args,
            restored=restored,
            restored_meta=cache.meta(restored) if cache and restored else None,
            keep=keep if cache else None,
        )
    finally:
        if not args.keep:
            if isinstance(target, Path):
                target.unlink(missing_ok=True)
            elif server is not None:
                drop_database(server, target)


def run_size(size: int, args, folder: Path, server: str | None, results: dict) -> None:
    """One organisation of ``size`` people, generated once (or read from the cache) and run
    on each database (each restored from the cache when it holds the build)."""
    cache = BuildCache(Path(args.cache), size, args.seed) if args.cache else None
    org = organisation_for(size, args, folder, cache)
    for dbname in args.db:
        print(f"[{dbname}, {size:,} people] load average {load_average()}")
        results[f"{dbname}/{size}"] = run_on(dbname, org, args, folder, server, cache)


def write_results(results: dict, args, meta: dict) -> None:
    print()
    print(table(results, args.sizes, args.db))
    print()
    print(writes_table(results, args.sizes, args.db))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(report_markdown(results, args.sizes, args.db, meta))
    out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2, default=str) + "\n"
    )
    print(f"\nwritten to {out.with_suffix('.md')} and .json ({meta['total_s']:.0f} s in all)")


def main() -> None:
    args = parse_args()
    quiet()
    began = time.perf_counter()
    cluster = None
    folder = Path(tempfile.mkdtemp(prefix="pmo-reports-bench-"))
    results: dict[str, Any] = {}
    try:
        if "postgresql" in args.db and not args.postgres:
            cluster = Cluster()
            print(f"PostgreSQL cluster on 127.0.0.1:{cluster.port} (throwaway)")
        server = args.postgres or (cluster.url if cluster else None)
        for size in args.sizes:
            run_size(size, args, folder, server, results)
    finally:
        if cluster:
            cluster.stop()
        if args.keep:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores",
        "repeat": args.repeat,
        "writes": args.writes,
        "total_s": time.perf_counter() - began,
    }
    write_results(results, args, meta)


if __name__ == "__main__":
    main()
