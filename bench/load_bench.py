"""Load, soak and faults: gunicorn over the 20,000-person demo, driven by locust.

The product is served by gunicorn as the README serves it (``-w 5``, sync workers, the
project's gunicorn.conf.py, no preloading), and beside it, in the same gunicorn and the same
run, the floor: a bare Flask page with one indexed 50-row ORM query (bench/floor_app.py,
mounted at /floor by ``served_app()``). locust (headless, a subprocess, 127.0.0.1 only,
pinned to one core with taskset when it can be) drives the mix in bench/locustfile.py:
learners opening their home, capability and learning pages and saving
answers in an attempt, managers opening their team page, validation queue and reports
(heatmap, readiness), one admin previewing and applying a small staff import, and users
opening the floor page, each user logging in once through the form and keeping its
session, with 1–3 s of think time. The measured part of the run is ``--seconds`` long and
starts when the last user has logged in (log-ins cost a deliberate argon2 hash each, and
all come at the start); the log-ins are reported apart.

Reported per request kind: requests, failures, p50/p95/p99 (of the requests that
succeeded) and each as a multiple of the floor's; requests per second overall; errors (must
be 0), "database is locked" and tracebacks in gunicorn's log (must be 0); every
``--sample`` seconds each worker's RSS (VmRSS from /proc/PID/status), open files and CPU,
the load generator's CPU, the SQLite WAL's size (or PostgreSQL's connections), and the load
average, with each worker's first, last and largest RSS and its slope (MiB per minute, least
squares over the samples from a minute into the measured part; and over their second half).
After the run the writes the clients saw
succeed — each answer save answered 200 with its new revision, each import whose apply led
to its record — are looked up in the database: a lost write is an answer whose stored
revision is older than the one its client was given (or the same revision with another
answer), or an import that is not applied or lacks a person it created. SQLite's
``integrity_check`` is run at the end.

- ``--soak``: the same run measured for at least 10 minutes (``--seconds``, default 600):
  the memory figures are the point.
- ``--kill``: a worker serving a request (one holding a client's connection, found through
  /proc/net/tcp) is sent SIGKILL halfway through the measured part (``--kill-at``), or
  ``--kills`` workers ``--kill-every`` seconds apart; gunicorn forks a replacement each
  time. The errors clients saw within 5 s after a kill are counted apart, on that kill (a
  request in flight in the killed worker is cut off); every other error still counts, the
  time until each replacement was forked is reported, and no committed write may be lost.

The demo takes minutes to build, so it is built once and kept:

- SQLite: in ``--cache`` (default /tmp/pmo-load-<people>.sqlite3), built as ``make setup``
  builds the demo (``flask db upgrade``, ``flask content load``, ``flask demo build``) and
  upgraded to the migrations' head on each run; each run uses a copy.
- PostgreSQL (``--backend postgresql``): the database ``pmo_load_<people>`` on
  ``--postgres-server`` (the shared server by default) is built the same way once and kept;
  each run uses a copy made with CREATE DATABASE … TEMPLATE, dropped at the end.

The bench adds to the copy what the run needs: a published practice check of single-choice
questions with no time or attempt limit, and accounts (the demo's password) for as many
learners as there are locust users and for ten heads of units (managers); the admin is
the demo's.

Faults without the load (H6, J3; bench/README.md, "Faults without load"):

- ``--import-kills N [--import-rows 50000]``: the staff import (``flask import people``, a
  subprocess) killed with SIGKILL at N points of its apply, each time on the state before
  it; none or all of the batch must be left, and the run again must equal a clean run
  (tests/faults/import_kill.py). Results: bench/results/import-kill-<backend>.json.
- ``--fault pg-restart``: a PostgreSQL server of the bench's own stopped for 5 s under a
  small load and started again, the app not restarted; ``--fault readonly``: gunicorn on a
  SQLite directory mounted read-only (a mount namespace of its own; needs root). Results:
  bench/results/fault-<name>.json.

Usage:
  .venv/bin/python bench/load_bench.py [--backend sqlite|postgresql|both] [--seconds 60]
      [--users 50] [--spawn-rate 5] [--workers 5] [--soak] [--kill]
      [--import-kills N [--import-rows ROWS]] [--fault pg-restart|readonly]
Results go to stdout and bench/results/load-<backend>[-<label>].json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.attempt_bench import bench_bank  # noqa: E402
from bench.pages_bench import (  # noqa: E402
    LOGINS,
    PASSWORD,
    SECRET,
    build_demo_database,
    free_port,
    people_in,
)
from bench.pages_bench import flask_command as _flask  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:55432/postgres"
ASSESSMENT_CODE = "LOAD-CHECK"
MANAGERS = 10
#: Errors within this many seconds after the kill are put down to it (a sync worker has at
#: most one request in flight; its client sees the connection reset at once).
KILL_WINDOW_S = 5.0
#: How long the users may take to log in before the measured part (``--seconds``) starts.
RAMP_ALLOWANCE_S = 600
#: What a run writes into gunicorn's log that must never be there.
LOG_PROBLEMS = {
    "database is locked": re.compile(r"database is locked", re.I),
    "tracebacks": re.compile(r"^Traceback", re.M),
    "worker timeouts": re.compile(r"WORKER TIMEOUT"),
}


# --- the database -------------------------------------------------------------------------------


def build_small_database(url: str, people: int) -> None:
    """A small demo in process, fast (for the suite's test): the schema from the models,
    the role catalogue and the framework, the demo organisation at ``people``."""
    from app import create_app
    from app.content.framework_load import load_framework
    from app.content.roles import load_roles
    from app.demo.organisation import build_demo
    from app.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        db.create_all()
        session = db.session()
        curricula = ROOT / "curricula"
        load_roles(session, curricula / "roles.yaml")
        load_framework(
            session,
            curricula / "framework.yaml",
            curricula / "role-profiles.yaml",
            certificates_path=curricula / "certificates.yaml",
        )
        session.commit()
        build_demo(session, people=people, seed=7)
        session.commit()
        db.session.remove()
        db.engine.dispose()


def sqlite_database(people: int, cache: Path, tmp: Path, rebuild: bool = False) -> str:
    """A copy (in ``tmp``) of the demo kept in ``cache``, built first when missing."""
    started = time.perf_counter()
    if rebuild or not cache.exists() or people_in(f"sqlite:///{cache}") != people:
        building = cache.with_suffix(".building")
        for stale in (cache, building):
            stale.unlink(missing_ok=True)
        build_demo_database(f"sqlite:///{building}", people, tmp)
        building.rename(cache)
        print(f"demo at {people:,} people built in {time.perf_counter() - started:.0f} s")
    else:
        _flask(f"sqlite:///{cache}", "db", "upgrade", instance=tmp)
        print(f"demo at {people:,} people reused from {cache}")
    copy = tmp / "load.sqlite3"
    source, target = sqlite3.connect(cache), sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{copy}"


def _server(server: str):
    from sqlalchemy import create_engine

    return create_engine(server, isolation_level="AUTOCOMMIT")


def _database_url(server: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server).set(database=name).render_as_string(hide_password=False)


def postgres_database(people: int, server: str, tmp: Path, rebuild: bool = False) -> str:
    """A copy of the demo kept in the database ``pmo_load_<people>`` of ``server`` (built
    there first when missing), made with CREATE DATABASE … TEMPLATE; drop it with
    ``drop_postgres_copy``."""
    from sqlalchemy import text

    base, run = f"pmo_load_{people}", f"pmo_load_{people}_run"
    engine = _server(server)
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": base})
            if exists and (rebuild or people_in(_database_url(server, base)) != people):
                conn.execute(text(f'DROP DATABASE "{base}" WITH (FORCE)'))
                exists = False
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{base}"'))
                try:
                    build_demo_database(_database_url(server, base), people, tmp)
                except BaseException:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{base}" WITH (FORCE)'))
                    raise
                print(f"demo at {people:,} people built in {time.perf_counter() - started:.0f} s")
            else:
                _flask(_database_url(server, base), "db", "upgrade", instance=tmp)
                print(f"demo at {people:,} people reused from {base}")
            conn.execute(text(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{run}" TEMPLATE "{base}"'))
    finally:
        engine.dispose()
    return _database_url(server, run)


def drop_postgres_copy(url: str, server: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = _server(server)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def add_bench_data(url: str, learners: int, managers: int = MANAGERS) -> dict:
    """What the run needs in the database: the practice check learners answer (added
    once) and accounts for ``learners`` learners and ``managers`` heads of units, people
    of the demo who have none yet, with the demo's password (hashed once). Returns the
    plan's people: their emails, the admin's and the assessment's id."""
    from sqlalchemy import exists, select

    from app import create_app
    from app.accounts.models import Permission, User, UserPermission
    from app.accounts.passwords import hash_password
    from app.extensions import db
    from app.org.models import OrgUnit, Person

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        session = db.session
        assessment_id = _practice_check(session)
        no_account = ~exists().where(User.person_id == Person.id)
        heads = set(session.scalars(select(OrgUnit.head_id).where(OrgUnit.head_id.is_not(None))))
        chosen_heads = session.scalars(
            select(Person)
            .where(Person.id.in_(heads), Person.active.is_(True), Person.email.is_not(None))
            .where(no_account)
            .order_by(Person.id)
            .limit(managers)
        ).all()
        chosen_learners = session.scalars(
            select(Person)
            .where(Person.id.not_in(heads), Person.active.is_(True), Person.email.is_not(None))
            .where(no_account)
            .order_by(Person.id)
            .limit(learners)
        ).all()
        digest = hash_password(PASSWORD)
        for people, permissions in (
            (chosen_heads, [Permission.LEARNER, Permission.MANAGER]),
            (chosen_learners, [Permission.LEARNER]),
        ):
            for person in people:
                user = User(person_id=person.id, email=person.email, password_hash=digest)
                user.permission_rows = [UserPermission(permission=p) for p in permissions]
                session.add(user)
        plan: dict[str, Any] = {
            "learners": [p.email for p in chosen_learners],
            "managers": [p.email for p in chosen_heads],
            "admin": LOGINS["admin"],
            "assessment_id": assessment_id,
            "password": PASSWORD,
        }
        session.commit()
        session.remove()
        db.engine.dispose()
    if len(plan["learners"]) < learners or not plan["managers"]:
        raise SystemExit(f"the demo has too few people without an account for {learners}")
    return plan


def _practice_check(session) -> int:
    """The id of the practice check (40 single-choice questions, 20 drawn, no time or
    attempt limit), added if missing."""
    from sqlalchemy import select

    from app.assessment.banks import write_bank_version
    from app.assessment.content import bank_from_data
    from app.assessment.models import (
        Assessment,
        AssessmentSection,
        AssessmentStatus,
        FeedbackPolicy,
    )

    found = session.scalar(select(Assessment.id).where(Assessment.code == ASSESSMENT_CODE))
    if found is not None:
        return found
    data = {**bench_bank(40), "code": "LOAD-BANK", "title": "Load benchmark bank"}
    data["items"] = [{**item, "id": item["id"].replace("BENCH", "LOAD")} for item in data["items"]]
    bank = write_bank_version(session, bank_from_data(data), publish=True).version.bank
    assessment = Assessment(
        code=ASSESSMENT_CODE,
        title="Load benchmark practice check",
        status=AssessmentStatus.PUBLISHED,
        pass_percent=50,
        time_limit_minutes=None,
        attempt_limit=None,
        wait_minutes=0,
        shuffle_items=True,
        shuffle_options=True,
        feedback=FeedbackPolicy.AFTER_SUBMISSION,
    )
    assessment.sections.append(
        AssessmentSection(position=0, title="Questions", bank_id=bank.id, count=20)
    )
    session.add(assessment)
    session.flush()
    return assessment.id


# --- serving ------------------------------------------------------------------------------------


def served_app():
    """What the bench's gunicorn serves: the product (``wsgi:app``), and the floor page
    (bench/floor_app.py) at /floor, in the same workers."""
    from bench.floor_app import app as floor
    from wsgi import app as product

    def dispatch(environ, start_response):
        if environ.get("PATH_INFO") == "/floor":
            return floor(environ, start_response)
        return product(environ, start_response)

    return dispatch


class Server:
    """gunicorn with ``workers`` sync workers serving ``served_app()`` from ``url``, its
    log in ``folder``; in its own process group."""

    def __init__(self, url: str, folder: Path, workers: int, preload: bool = False):
        self.port = free_port()
        self.workers = workers
        self.log_path = folder / "gunicorn.log"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "PMO_INSTANCE_DIR": str(folder),
        }
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    str(workers),
                    "-k",
                    "sync",
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "--log-level",
                    "info",
                    *(["--preload"] if preload else []),
                    "bench.load_bench:served_app()",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 300) -> None:
        """Until every worker has answered (each imports the app on its own)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited at start:\n{self.log()[-3000:]}")
            if len(self.worker_pids()) == self.workers and self.answers("/login"):
                if all(self.answers("/login") for _ in range(2 * self.workers)):
                    return
            time.sleep(0.5)
        self.stop()
        raise SystemExit("gunicorn did not become ready")

    def answers(self, path: str) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}{path}"
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL to the group if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's workers)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
        return out


# --- sampling -----------------------------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else None


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of ``pid`` so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_files(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class Sampler(threading.Thread):
    """Every ``every`` seconds: each worker's RSS, open files and CPU, the load generator's
    CPU, the SQLite WAL's size (or PostgreSQL's connections to the database), the load."""

    def __init__(self, server: Server, url: str, every: float):
        super().__init__(daemon=True)
        self.server, self.url, self.every = server, url, every
        self.samples: list[dict] = []
        self.locust_pid: int | None = None
        self.started = time.time()
        self._stop_event = threading.Event()
        self._wal = Path(url.removeprefix("sqlite:///") + "-wal")
        self._engine = None
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine

            self._engine = create_engine(url, pool_size=1)

    def run(self) -> None:
        while True:
            self.sample()
            if self._stop_event.wait(self.every):
                break
        self.sample()
        if self._engine is not None:
            self._engine.dispose()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def sample(self) -> None:
        workers = {}
        for pid in self.server.worker_pids():
            rss = rss_kib(pid)
            if rss is not None:
                workers[pid] = {"rss_kib": rss, "fds": open_files(pid), "cpu_s": cpu_seconds(pid)}
        row: dict = {
            "t": round(time.time() - self.started, 1),
            "workers": workers,
            "load": round(os.getloadavg()[0], 2),
            "locust_cpu_s": cpu_seconds(self.locust_pid) if self.locust_pid else None,
        }
        if self._engine is not None:
            from sqlalchemy import text

            with self._engine.connect() as conn:
                row["pg_connections"] = conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                )
        else:
            row["wal_bytes"] = self._wal.stat().st_size if self._wal.exists() else 0
        self.samples.append(row)


def memory_figures(samples: list[dict], warm_up: float = 60.0) -> dict:
    """Per worker: RSS first, last and largest (MiB), and the slope in MiB per minute (least
    squares over its samples from ``warm_up`` seconds into the run, or over all when it has
    fewer than three there) with the growth over those samples in %, and the slope over
    their second half."""
    series: dict[int, list[tuple[float, float]]] = {}
    for row in samples:
        for pid, w in row["workers"].items():
            series.setdefault(int(pid), []).append((row["t"], w["rss_kib"] / 1024))
    out = {}
    for pid, points in series.items():
        settled = [p for p in points if p[0] >= warm_up]
        fit = settled if len(settled) >= 3 else points
        out[str(pid)] = {
            "samples": len(points),
            "seconds": round(points[-1][0] - points[0][0], 1),
            "first_mib": round(points[0][1], 1),
            "last_mib": round(points[-1][1], 1),
            "max_mib": round(max(v for _t, v in points), 1),
            "slope_mib_per_min": round(60 * slope(fit), 3) if len(fit) >= 2 else None,
            "slope_from_s": round(fit[0][0], 1),
            "growth_after_warm_up_pct": (
                round(100 * (fit[-1][1] - fit[0][1]) / fit[0][1], 1) if fit else None
            ),
            # Still growing, or levelling off? The slope over the second half of the above.
            "slope_second_half_mib_per_min": (
                round(60 * slope(fit[len(fit) // 2 :]), 3) if len(fit) >= 6 else None
            ),
        }
    return out


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, v) points, v per second."""
    ts = [t for t, _v in points]
    vs = [v for _t, v in points]
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    spread = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (v - mv) for t, v in points) / spread if spread else 0.0


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Options:
    seconds: float = 60
    users: int = 50
    spawn_rate: float = 5
    workers: int = 5
    think: tuple[float, float] = (1.0, 3.0)
    #: Users of the floor page, of ``users`` (at least one).
    floor_share: float = 0.1
    sample_every: float = 10
    kill_at: float | None = None
    #: How many workers to kill, one every ``kill_every`` seconds from ``kill_at``.
    kills: int = 1
    kill_every: float = 10.0
    pin: bool = True
    #: Stop before ``seconds`` once this many answers were saved after the kill's window
    #: (from the start without a kill): the suite's test, on a machine of any speed.
    until_saves: int | None = None
    #: Seconds locust lets a user finish its task once the run time is up.
    stop_timeout: float = 30
    #: gunicorn's --preload (the app imported once, in the master): quicker to start, for
    #: the suite's test; the README serves without it, and so does the bench.
    preload: bool = False
    label: str = ""


@dataclass
class Kill:
    at: float = 0.0
    pid: int = 0
    replaced_after_s: float | None = None
    replacement: int | None = None
    #: Whether the worker held a client's connection when it was killed.
    serving: bool = False
    #: Errors clients saw within KILL_WINDOW_S of it, and the last one's delay.
    errors: int = 0
    last_error_after_s: float = 0.0


def kill_workers(
    server: Server,
    o: Options,
    started: float,
    kills: list[Kill],
    steady_file: Path | None = None,
    locust: subprocess.Popen | None = None,
) -> None:
    """From ``o.kill_at`` seconds after ``started`` (or after the steady part's start,
    which the locustfile writes to ``steady_file``), SIGKILL a worker serving a request,
    ``o.kills`` times, ``o.kill_every`` seconds apart; note when gunicorn has forked each
    replacement."""
    if steady_file is not None:
        while not steady_file.exists():
            if locust is not None and locust.poll() is not None:
                return  # the run ended before every user had logged in
            time.sleep(0.2)
        started = float(steady_file.read_text())
    assert o.kill_at is not None
    for n in range(o.kills):
        time.sleep(max(0.0, started + o.kill_at + n * o.kill_every - time.time()))
        if locust is not None and locust.poll() is not None:
            return
        kills.append(kill_one_worker(server))


def kill_one_worker(server: Server) -> Kill:
    """SIGKILL a worker serving a request; wait for gunicorn to fork its replacement."""
    kill = Kill()
    before = server.worker_pids()
    kill.pid, kill.serving = busy_worker(server)
    kill.at = time.time()
    os.kill(kill.pid, signal.SIGKILL)
    while time.time() - kill.at < 120:
        now = server.worker_pids()
        new = [p for p in now if p not in before]
        if new and len(now) >= server.workers:
            kill.replacement = new[0]
            kill.replaced_after_s = round(time.time() - kill.at, 2)
            break
        time.sleep(0.05)
    return kill


def serving(pids: list[int], port: int) -> list[int]:
    """The workers holding a client's connection to ``port`` now (serving a request): the
    established TCP connections of that local port (/proc/net/tcp), found among the
    workers' open files."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(f"socket:[{fields[9]}]")
    out = []
    for pid in pids:
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if links & inodes:
            out.append(pid)
    return out


def busy_worker(server: Server, within: float = 10.0) -> tuple[int, bool]:
    """A worker serving a request (waiting up to ``within`` seconds for one), so that the
    kill cuts a request off; and whether one was found (else the first worker)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = serving(server.worker_pids(), server.port)
        if found:
            return found[0], True
        time.sleep(0.01)
    return server.worker_pids()[0], False


def run_locust(
    host: str, plan_path: Path, folder: Path, o: Options, run_time: float
) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(o.users),
        "--spawn-rate",
        str(o.spawn_rate),
        "--run-time",
        f"{int(run_time)}s",
        "--stop-timeout",
        f"{o.stop_timeout:g}",
        "--host",
        host,
        "--csv",
        str(folder / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    if o.pin and shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", str((os.cpu_count() or 1) - 1), *command]
    env = {**os.environ, "LOAD_PLAN": str(plan_path)}
    with (folder / "locust.log").open("w") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def run_bench(url: str, plan: dict, folder: Path, o: Options) -> dict:
    """Serve ``url``, drive the mix (``o.seconds`` once every user has logged in, or until
    ``o.until_saves``), sample, maybe kill a worker; then check the writes the clients saw
    succeed against the database. The results."""
    floor_users = max(1, round(o.users * o.floor_share))
    server = Server(url, folder, o.workers, o.preload)
    started = time.time()
    steady_file = folder / "steady"
    plan = {
        **plan,
        "users": o.users,
        "think": list(o.think),
        "floor_users": floor_users,
        "import_prefix": f"LD{int(started) % 100000:05d}-",
        "out": str(folder / "requests.json"),
        "steady_file": str(steady_file),
    }
    if o.until_saves:
        last_kill = (o.kill_at + (o.kills - 1) * o.kill_every) if o.kill_at is not None else None
        after = started + (last_kill + KILL_WINDOW_S if last_kill is not None else 0)
        plan["until"] = {"answer_saves": o.until_saves, "after": after}
        run_time = o.seconds
    else:
        plan["steady_seconds"] = o.seconds
        run_time = o.seconds + RAMP_ALLOWANCE_S
    plan_path = folder / "plan.json"
    plan_path.write_text(json.dumps(plan))
    sampler = Sampler(server, url, o.sample_every)
    kills: list[Kill] = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        sampler.start()
        locust = run_locust(f"http://127.0.0.1:{server.port}", plan_path, folder, o, run_time)
        sampler.locust_pid = locust.pid
        killer = None
        if o.kill_at is not None:
            wait_for = None if o.until_saves else steady_file
            killer = threading.Thread(
                target=kill_workers,
                args=(server, o, started, kills, wait_for, locust),
                daemon=True,
            )
            killer.start()
        locust.wait(timeout=run_time + 600)
        elapsed = time.time() - started
        if killer is not None:
            killer.join(timeout=300)
        sampler.stop()
    finally:
        server.stop()
    load_after = [round(x, 2) for x in os.getloadavg()]
    if not Path(plan["out"]).exists():
        tail = (folder / "locust.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"locust wrote no results:\n{tail}")
    record = json.loads(Path(plan["out"]).read_text())
    if not record["requests"]:
        raise SystemExit("locust sent no request")
    log = server.log()
    steady = None if o.until_saves else record["steady_from"]
    results: dict = {
        "backend": "postgresql" if url.startswith("postgresql") else "sqlite",
        "options": {**asdict(o), "floor_users": floor_users},
        "cores": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "seconds": round(elapsed, 1),
        "ramp_s": round(record["steady_from"] - started, 1) if record["steady_from"] else None,
        "load_before": load_before,
        "load_after": load_after,
        "load_during": [row["load"] for row in sampler.samples],
    }
    window = (steady, steady + o.seconds) if steady else None
    results.update(request_figures(record["requests"], window, kills))
    results["log"] = {name: len(rx.findall(log)) for name, rx in LOG_PROBLEMS.items()}
    # Warmed up a minute into the steady part (the log-ins and first pages come before).
    warm_up = (steady - sampler.started if steady else 0.0) + 60
    results["memory"] = memory_figures(sampler.samples, warm_up)
    begin = steady - sampler.started if steady else 0.0
    window = (begin, begin + o.seconds if steady else elapsed)
    results["cpu"] = cpu_figures(sampler.samples, window, results["rps"])
    results["samples"] = sampler.samples
    if url.startswith("sqlite"):
        results["wal_max_bytes"] = max((r.get("wal_bytes", 0) for r in sampler.samples), default=0)
    else:
        results["pg_connections_max"] = max(
            (r.get("pg_connections", 0) for r in sampler.samples), default=0
        )
    if o.kill_at is not None:
        results["kills"] = [
            {
                "at_s": round(k.at - started, 1),
                "worker": k.pid,
                "was_serving": k.serving,
                "replacement": k.replacement,
                "replacement_forked_after_s": k.replaced_after_s,
                "client_errors": k.errors,
                "last_error_after_s": k.last_error_after_s,
                "log_lines": [line for line in log.splitlines() if f"{k.pid}" in line][:5],
            }
            for k in kills
        ]
    results["writes"] = check_writes(url, record["writes"])
    results["saved"] = record["writes"]  # what the clients saw succeed (not kept in the file)
    return results


def request_figures(requests: list, steady: tuple[float, float] | None, kills: list[Kill]) -> dict:
    """Per request kind, over the steady part of the run (``steady``: from when every user
    had logged in, for ``--seconds``; the requests sent and answered within it; the log-ins
    over the whole run): count, failures, p50/p95/p99 of the successes, and the floor
    multiples; req/s; the errors of the whole run, apart for those within KILL_WINDOW_S
    after a kill (counted on the kill too)."""
    errors: dict[str, int] = {}
    during_kills: dict[str, int] = {}
    for t, name, _ms, failed, error in requests:
        if not failed:
            continue
        key = f"{name}: {_generic(error)}"
        kill = next((k for k in kills if k.at <= t <= k.at + KILL_WINDOW_S), None)
        if kill is not None:
            kill.errors += 1
            kill.last_error_after_s = round(max(kill.last_error_after_s, t - kill.at), 2)
        bucket = during_kills if kill is not None else errors
        bucket[key] = bucket.get(key, 0) + 1
    if steady is None:
        measured = list(requests)
        # From the first request sent to the last answer (not locust's start-up and stop).
        span = max(t for t, *_ in measured) - min(t - ms / 1000 for t, _n, ms, *_ in measured)
    else:
        begin, end = steady
        measured = [r for r in requests if begin <= r[0] - r[2] / 1000 and r[0] <= end]
        span = end - begin
    logins = [r for r in requests if r[1].startswith("login")] if steady else []
    table = kind_table(measured + logins)
    return {
        "requests": len(measured),
        "span_s": round(span, 1),
        "rps": round(len(measured) / span, 1),
        "product_rps": round(sum(1 for r in measured if r[1] != "floor") / span, 1),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "errors_during_kills": sum(during_kills.values()),
        "errors_during_kills_kinds": during_kills,
        "kinds": table,
    }


def kind_table(requests: list) -> dict:
    """Per request kind: requests, failures, p50/p95/p99 of the successes, and those as
    multiples of the floor page's."""
    kinds: dict[str, dict] = {}
    for _t, name, ms, failed, _e in requests:
        k = kinds.setdefault(name, {"times": [], "failures": 0})
        if failed:
            k["failures"] += 1
        else:
            k["times"].append(ms)
    table = {}
    for name, k in sorted(kinds.items()):
        row = {"requests": len(k["times"]) + k["failures"], "failures": k["failures"]}
        row.update(percentiles(sorted(k["times"])))
        table[name] = row
    floor = table.get("floor", {})
    for row in table.values():
        for q in ("p50_ms", "p95_ms", "p99_ms"):
            if row.get(q) is not None and floor.get(q):
                row[q.replace("_ms", "_x_floor")] = round(row[q] / floor[q], 1)
    return table


def _generic(error: str) -> str:
    """An error message with its numbers (ids, addresses, ports) left out, to count alike."""
    return re.sub(r"0x[0-9a-f]+|\d{4,}", "N", error)[:160]


def percentiles(times: list[float]) -> dict:
    if not times:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    if len(times) == 1:
        return {"p50_ms": round(times[0], 1), "p95_ms": round(times[0], 1), "p99_ms": None}
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1), "p99_ms": round(q[98], 1)}


def cpu_figures(samples: list[dict], window: tuple[float, float], rps: float) -> dict:
    """The workers' CPU time between the samples that bound ``window`` (seconds from the
    first sample; each worker's growth, a worker born meanwhile from zero), as % of one core
    and per request (at ``rps``); the load generator's CPU % over the whole run."""
    start, end = window
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    times = []
    for row in samples:
        if row["t"] > end:
            break
        times.append(row["t"])
        for pid, w in row["workers"].items():
            if w["cpu_s"] is None:
                continue
            if row["t"] <= start:
                first[pid] = w["cpu_s"]  # the value at the window's start
            else:
                last[pid] = w["cpu_s"]
    t0 = max((t for t in times if t <= start), default=0.0)
    seconds = (times[-1] - t0) if times else 0.0
    used = sum(cpu - first.get(pid, 0.0) for pid, cpu in last.items())
    locust = [r["locust_cpu_s"] for r in samples if r.get("locust_cpu_s") is not None]
    total = samples[-1]["t"] if samples else 0.0
    return {
        "seconds": round(seconds, 1),
        "workers_cpu_s": round(used, 1),
        "workers_pct": round(100 * used / seconds, 1) if seconds else None,
        "cpu_ms_per_request": round(1000 * used / (rps * seconds), 1) if rps and seconds else None,
        "load_generator_pct": round(100 * max(locust) / total, 1) if locust and total else None,
    }


def check_writes(url: str, writes: dict) -> dict:
    """Each write a client saw succeed, looked up in the database; SQLite's integrity_check."""
    from app import create_app
    from app.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        answers, lost = lost_answers(db.session, writes["answers"])
        people, missing = lost_imports(db.session, writes["imports"])
        lost += missing
        integrity = None
        if url.startswith("sqlite"):
            integrity = db.session.execute(db.text("PRAGMA integrity_check")).scalar()
        db.session.remove()
        db.engine.dispose()
    return {
        "answer_saves": len(writes["answers"]),
        "answers_checked": answers,
        "imports_applied": len(writes["imports"]),
        "people_imported": people,
        "lost": len(lost),
        "lost_samples": lost[:10],
        "integrity_check": integrity,
    }


def lost_answers(session, saves: list) -> tuple[int, list[str]]:
    """(answers checked, the lost ones): for each attempt item, the last revision a client
    was given must be stored (or a later one, saved by a request whose answer the client
    never read), with the same answer when it is that revision."""
    from sqlalchemy import select

    from app.assessment.attempt_queries import display_answer
    from app.assessment.models import AttemptItem

    seen: dict[int, tuple[int, str]] = {}
    for item, revision, value, *_when in saves:
        if item not in seen or revision > seen[item][0]:
            seen[item] = (revision, value)
    rows = {r.id: r for r in session.scalars(select(AttemptItem).where(AttemptItem.id.in_(seen)))}
    lost = []
    for item, (revision, value) in seen.items():
        row = rows.get(item)
        if row is None or row.revision < revision:
            stored = row.revision if row else "no row"
            lost.append(f"answer {item}: revision {revision} saved, database has {stored}")
        elif row.revision == revision:
            answer = display_answer("single", row.presentation, (), row.answer)
            if answer != value:
                lost.append(f"answer {item}: {value!r} saved, database has {answer!r}")
    return len(seen), lost


def lost_imports(session, imports: list) -> tuple[int, list[str]]:
    """(people the imports created, the lost imports): each batch applied, each person in."""
    from sqlalchemy import select

    from app.org.models import Person
    from app.staff_import.models import BatchStatus, ImportBatch

    numbers = {n for _batch, created in imports for n in created}
    present = set(
        session.scalars(select(Person.employee_number).where(Person.employee_number.in_(numbers)))
    )
    lost = []
    for batch_id, created in imports:
        batch = session.get(ImportBatch, batch_id)
        if batch is None or batch.status != BatchStatus.APPLIED:
            lost.append(f"import {batch_id}: {batch.status.value if batch else 'missing'}")
        missing = [n for n in created if n not in present]
        if missing:
            lost.append(f"import {batch_id}: {len(missing)} created people missing")
    return len(numbers), lost


# --- reporting ----------------------------------------------------------------------------------


def report(r: dict) -> None:
    o = r["options"]
    print(
        f"\n{r['backend']}: {o['users']} users ({o['floor_users']} on the floor page), "
        f"{o['workers']} workers, {r['seconds']} s; load {r['load_before'][0]} → "
        f"{r['load_after'][0]} (during: {min(r['load_during'])}–{max(r['load_during'])})"
    )
    print(
        f"  every user logged in after {r['ramp_s']} s; then {r['requests']} requests in "
        f"{r['span_s']} s, {r['rps']} req/s ({r['product_rps']} on the product); errors "
        f"{r['errors']}; log: {r['log']}"
    )
    print(f"  {'kind':24} {'reqs':>6} {'fail':>4} {'p50':>8} {'p95':>8} {'p99':>8}  x floor")
    for name, k in r["kinds"].items():
        ms = [
            f"{k[q]:8.0f}" if k[q] is not None else f"{'-':>8}"
            for q in ("p50_ms", "p95_ms", "p99_ms")
        ]
        mult = "/".join(str(k.get(q, "-")) for q in ("p50_x_floor", "p95_x_floor", "p99_x_floor"))
        print(f"  {name:24} {k['requests']:6d} {k['failures']:4d} {' '.join(ms)}  {mult}")
    for kind, n in r["error_kinds"].items():
        print(f"  error ×{n}: {kind}")
    for k in r.get("kills", []):
        print(
            f"  kill -9 worker {k['worker']} at {k['at_s']} s "
            f"({'serving a request' if k['was_serving'] else 'idle'}): replacement forked after "
            f"{k['replacement_forked_after_s']} s; client errors {k['client_errors']} "
            f"(last {k['last_error_after_s']} s after the kill)"
        )
    for kind, n in r["errors_during_kills_kinds"].items():
        print(f"    ×{n}: {kind}")
    w = r["writes"]
    print(
        f"  writes: {w['answer_saves']} answer saves ({w['answers_checked']} answers), "
        f"{w['imports_applied']} imports ({w['people_imported']} people): lost {w['lost']}"
        + (f"; integrity_check {w['integrity_check']}" if w["integrity_check"] else "")
    )
    for line in w["lost_samples"]:
        print(f"    {line}")
    cpu = r["cpu"]
    print(
        f"  CPU: workers {cpu['workers_pct']}% of a core ({cpu['cpu_ms_per_request']} ms a "
        f"request), load generator {cpu['load_generator_pct']}%"
    )
    extra = (
        f"WAL at most {r['wal_max_bytes'] / 2**20:.1f} MiB"
        if "wal_max_bytes" in r
        else f"at most {r['pg_connections_max']} connections"
    )
    print(f"  memory per worker (MiB; slope per minute), {extra}:")
    for pid, m in r["memory"].items():
        print(
            f"    {pid:>8}: first {m['first_mib']}, last {m['last_mib']}, max {m['max_mib']}, "
            f"slope {m['slope_mib_per_min']} (from {m['slope_from_s']} s; "
            f"{m['growth_after_warm_up_pct']}%; second half "
            f"{m['slope_second_half_mib_per_min']}) over {m['seconds']} s"
        )


# --- the staff importer killed mid-apply (H6) ------------------------------------------------


def import_kill_bench(backend: str, rows: int, kills: int, server: str, folder: Path) -> dict:
    """``--import-kills``: the staff import of a ``rows``-row file (``flask import people``,
    a real subprocess) killed with SIGKILL ``kills`` times, at points spread over its apply,
    each on the state before the import; after each kill the database holds none or all of
    the batch, SQLite's checks are clean, the audit chain verifies, and the same command run
    again leaves what a clean run leaves (tests/faults/import_kill.py)."""
    from sqlalchemy import create_engine, text

    from app import create_app
    from app.config import TestConfig
    from app.extensions import db
    from tests.conftest import empty_all_tables
    from tests.faults.import_kill import kill_trials, seed, staff_file

    name = f"pmo_import_kill_{os.getpid()}"
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'import-kill.sqlite3'}"
    else:
        url = _database_url(server, name)
        with _server(server).connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    engine = create_engine(url)
    try:
        with app.app_context():
            db.create_all()

            def reset():
                from tests.faults.import_kill import fingerprint

                db.session.remove()
                empty_all_tables()
                seed(db.session)
                db.session.remove()
                return fingerprint(engine)

            file = staff_file(folder / "staff.csv", rows)
            started = time.perf_counter()
            clean_run, trials = kill_trials(
                url,
                engine,
                file,
                folder,
                kills,
                reset,
                progress=lambda step: print(f"  {time.strftime('%H:%M:%S')} {step}", flush=True),
                tries=3,
            )
            elapsed = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    finally:
        engine.dispose()
        if backend == "postgresql":
            with _server(server).connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    outcomes = [t.outcome for t in trials]
    resumes = [t.resume_s for t in trials]
    return {
        "backend": backend,
        "rows": rows,
        "kills": kills,
        "clean_run": {
            "start_to_plan_s": round(clean_run.to_plan_s, 2),
            "apply_and_commit_s": round(clean_run.apply_s, 2),
            "total_s": round(clean_run.total_s, 2),
        },
        "trials": [asdict(t) for t in trials],
        "summary": {
            "kills_that_landed": sum(t.killed for t in trials),
            "tries": sum(t.tries for t in trials),
            "none": outcomes.count("none"),
            "all": outcomes.count("all"),
            "partial": outcomes.count("partial"),
            "integrity_ok": sum(t.integrity in ("ok", "n/a") for t in trials),
            "foreign_key_rows": sum(t.foreign_key_rows for t in trials),
            "audit_chain_ok": sum(t.chain_ok for t in trials),
            "resumed_equal_to_clean": sum(t.resumed_equal and t.resume_code == 0 for t in trials),
            "resume_s_median": round(statistics.median(resumes), 2) if resumes else None,
            "resume_s_max": max(resumes) if resumes else None,
        },
        "elapsed_s": round(elapsed, 1),
    }


def report_import_kills(r: dict) -> None:
    c, s = r["clean_run"], r["summary"]
    print(
        f"\n{r['backend']}: {r['rows']:,}-row import, clean run {c['total_s']} s "
        f"({c['start_to_plan_s']} s to the plan, {c['apply_and_commit_s']} s apply + commit)"
    )
    print("  kill at   share  landed  outcome  integrity  fk  chain  resume s  resumed = clean")
    for t in r["trials"]:
        print(
            f"  {t['kill_after_s']:7.2f}  {t['share']:5.2f}  {str(t['killed']):6}  "
            f"{t['outcome']:7}  {t['integrity']:9}  {t['foreign_key_rows']:2}  "
            f"{str(t['chain_ok']):5}  {t['resume_s']:8.2f}  {t['resumed_equal']}"
        )
    print(
        f"  {s['kills_that_landed']} of {r['kills']} kills landed; outcomes none {s['none']}, "
        f"all {s['all']}, partial {s['partial']}; resumed = clean {s['resumed_equal_to_clean']}"
        f" of {r['kills']}; resume median {s['resume_s_median']} s, max {s['resume_s_max']} s"
    )


# --- dependency faults under a small load (J3) -------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: What an answer may never show its user.
LEAKS = ("Traceback", "OperationalError", "psycopg", "sqlite3", 'File "', "readonly database")


class FaultServer:
    """gunicorn (``workers`` sync workers, wsgi:app, the project's settings) on ``url``,
    started through ``prefix`` (e.g. in a mount namespace of its own); its log in
    ``folder``."""

    def __init__(self, url: str, folder: Path, workers: int = 2, prefix: tuple = ()):
        self.port = free_port()
        self.log_path = folder / "gunicorn.log"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET}
        env["PMO_INSTANCE_DIR"] = str(folder)
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "sync"]
        command += ["-b", f"127.0.0.1:{self.port}", "--error-logfile", str(self.log_path)]
        self.proc = subprocess.Popen(
            [*prefix, *command, "wsgi:app"], cwd=ROOT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"gunicorn did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=30) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@dataclass
class Seen:
    """One request of the fault load: when it was answered (seconds from the start), what
    it was, its status (-1: no answer), and whether the page leaked an error's detail."""

    at: float
    kind: str
    status: int
    leak: bool = False
    product_page: bool = True


def _ask(browser, kind: str, method: str, path: str, t0: float) -> Seen:
    try:
        if method == "GET":
            response = browser.request("GET", path)
        else:
            response = browser.post(path)
    except OSError:
        return Seen(time.monotonic() - t0, kind, -1)
    text = response.text
    leak = any(marker in text for marker in LEAKS)
    product = response.status < 500 or 'data-testid="incident"' in text
    return Seen(time.monotonic() - t0, kind, response.status, leak, product)


def _fault_world(url: str, learners: int, folder: Path):
    """A small migrated database (bench/attempt_bench.py) and a signed-in browser per
    learner (tests/served.py), for ``FaultServer`` at ``port`` once it runs."""
    from app import create_app
    from app.config import TestConfig
    from bench.attempt_bench import build_database

    built = build_database(url, learners, items=10, draw=5, secret_key=SECRET)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    return built, app


def _sign_in_all(app, emails: list[str], port: int) -> list:
    from sqlalchemy import select

    from app.accounts.models import User
    from app.extensions import db
    from tests.served import sign_in

    with app.app_context():
        ids = [db.session.scalars(select(User.id).where(User.email == e)).one() for e in emails]
        db.session.remove()
    return [sign_in(app, user_id, port) for user_id in ids]


def _figures(seen: list[Seen]) -> dict:
    out: dict[str, Any] = {"requests": len(seen)}
    for label, rows in (
        ("reads", [s for s in seen if s.kind == "read"]),
        ("writes", [s for s in seen if s.kind == "write"]),
    ):
        statuses: dict[str, int] = {}
        for row in rows:
            statuses[str(row.status)] = statuses.get(str(row.status), 0) + 1
        out[label] = statuses
    out["leaks"] = sum(s.leak for s in seen)
    out["bare_error_pages"] = sum(not s.product_page for s in seen)
    return out


def fault_readonly(folder: Path) -> dict:
    """The SQLite database's directory read-only to the app: gunicorn started in a mount
    namespace of its own where the directory is bind-mounted read-only (the bench runs as
    root, whom file modes do not stop; a live remount is refused while the workers hold
    the file open for writing). Before and after, the same app on the same directory
    writable, for comparison and to show nothing was damaged."""
    data = folder / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'pmo.sqlite3'}"
    built, app = _fault_world(url, 15, folder)
    read_only = (
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        f'mount --bind "{data}" "{data}" && mount -o remount,bind,ro "{data}" && exec "$@"',
        "sh",
    )
    start = f"/assessments/{built['assessment_id']}/start"
    phases: dict[str, list[Seen]] = {"writable": [], "read_only": [], "writable_again": []}
    logs = []
    t0 = time.monotonic()
    for phase, learners in zip(phases, (range(0, 5), range(5, 10), range(10, 15)), strict=True):
        server = FaultServer(url, folder, prefix=read_only if phase == "read_only" else ())
        try:
            browsers = _sign_in_all(app, built["emails"], server.port)
            for n in learners:
                phases[phase].append(_ask(browsers[n], "write", "POST", start, t0))
                for path in ("/", "/assessments", "/me"):
                    phases[phase].append(_ask(browsers[n], "read", "GET", path, t0))
            logs.append(server.log())
        finally:
            server.stop()
        server.log_path.unlink(missing_ok=True)
    with sqlite3.connect(data / "pmo.sqlite3") as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        attempts = conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
    told = sum(s.status == 302 for rows in phases.values() for s in rows if s.kind == "write")
    return {
        "fault": "readonly",
        "phases": {phase: _figures(rows) for phase, rows in phases.items()},
        "attempts_told_saved": told,
        "attempts_in_database": attempts,
        "integrity_check": integrity,
        "tracebacks_in_log": [len(re.findall(r"^Traceback", log, re.M)) for log in logs],
    }


def _pg(data: Path, *args: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def fault_pg_restart(folder: Path, outage: float = 5.0, load_s: float = 8.0) -> dict:
    """A PostgreSQL server of this run's own (initdb in ``folder``, never the shared one)
    stopped (fast shutdown) under a small load of reads and writes, kept down ``outage``
    seconds and started again; the app is not restarted."""
    from sqlalchemy import create_engine, text

    pg = folder / "pg"
    pg.mkdir()
    shutil.chown(pg, "postgres", "postgres")
    data = pg / "data"
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    options = f"-p {port} -k {pg} -c listen_addresses=127.0.0.1 -c fsync=off"
    _pg(data, "-o", options, "-w", "-l", str(pg / "server.log"), "start")
    server = None
    try:
        admin = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "pmo"'))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/pmo"
        built, app = _fault_world(url, 8, folder)
        server = FaultServer(url, folder)
        browsers = _sign_in_all(app, built["emails"], server.port)
        start = f"/assessments/{built['assessment_id']}/start"
        seen: list[Seen] = []
        lock = threading.Lock()
        stop = threading.Event()
        t0 = time.monotonic()

        def client(n: int) -> None:
            browser = browsers[n]
            wrote = False
            while not stop.is_set():
                row = (
                    _ask(browser, "read", "GET", "/", t0)
                    if wrote
                    else _ask(browser, "write", "POST", start, t0)
                )
                wrote = wrote or row.status == 302
                with lock:
                    seen.append(row)
                time.sleep(0.1)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(load_s / 2)
        down_at = time.monotonic() - t0
        _pg(data, "-m", "fast", "-w", "stop")
        time.sleep(outage)
        _pg(data, "-o", options, "-w", "-l", str(pg / "server.log"), "start")
        up_at = time.monotonic() - t0
        # the second half of the load, and then some: until every client has succeeded
        # since the server came back, or 60 s
        deadline = time.monotonic() + 60
        time.sleep(load_s / 2)
        while time.monotonic() < deadline:
            with lock:
                recent = [s for s in seen if s.at > up_at + 0.5]
            if len(recent) >= 8 and all(s.status in (200, 302) for s in recent[-8:]):
                break
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(60)
        # the writes the learners saw: one attempt each
        for n in range(4, 8):
            seen.append(_ask(browsers[n], "write", "POST", start, t0))
        log = server.log()
    finally:
        if server is not None:
            server.stop()
        _pg(data, "-m", "immediate", "stop")
    before = [s for s in seen if s.at < down_at]
    during = [s for s in seen if down_at <= s.at < up_at]
    after = [s for s in seen if s.at >= up_at]
    ok = [s for s in after if s.status in (200, 302)]
    failed_after = [s for s in after if s.status not in (200, 302)]
    last_failure = max((s.at for s in failed_after), default=up_at)
    return {
        "fault": "pg-restart",
        "outage_s": round(up_at - down_at, 2),
        "before": _figures(before),
        "during": _figures(during),
        "after": _figures(after),
        "first_success_after_restart_s": round(ok[0].at - up_at, 2) if ok else None,
        "last_failure_after_restart_s": round(last_failure - up_at, 2) if failed_after else 0.0,
        "errors_after_restart": len(failed_after),
        "tracebacks_in_log": len(re.findall(r"^Traceback", log, re.M)),
        "pool_pre_ping": True,
    }


FAULTS = {"readonly": fault_readonly, "pg-restart": fault_pg_restart}


def main() -> None:
    # The mix's administrator logs in by password (the demo's): two-step log-in, required of
    # administrators elsewhere, is required of nobody in this bench (as in `make run`).
    os.environ["PMO_TWO_STEP_REQUIRED_FOR"] = ""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--seconds", type=float, help="run time (60; 600 with --soak)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--think", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"))
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples")
    parser.add_argument("--soak", action="store_true", help="at least 10 minutes")
    parser.add_argument("--kill", action="store_true", help="kill -9 a busy worker mid-run")
    parser.add_argument("--kill-at", type=float, help="seconds into the run (default: half)")
    parser.add_argument("--kills", type=int, default=1, help="workers killed, one at a time")
    parser.add_argument("--kill-every", type=float, default=10, help="seconds between kills")
    parser.add_argument("--postgres-server", default=PG_SERVER)
    parser.add_argument("--cache", type=Path, help="the SQLite demo kept between runs")
    parser.add_argument("--rebuild", action="store_true", help="build the demo again")
    parser.add_argument("--no-pin", action="store_true", help="do not pin locust to a core")
    parser.add_argument("--label", default="")
    parser.add_argument(
        "--import-kills",
        type=int,
        metavar="N",
        help="no load: kill the staff importer N times mid-apply (H6), then resume",
    )
    parser.add_argument("--import-rows", type=int, default=50000, help="rows of that import")
    parser.add_argument(
        "--fault", choices=sorted(FAULTS), help="no load: one dependency fault (J3), figures"
    )
    args = parser.parse_args()
    if args.fault:
        tmp = Path(tempfile.mkdtemp(prefix="pmo-fault-"))
        tmp.chmod(0o755)
        try:
            results = FAULTS[args.fault](tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(results, indent=2))
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"fault-{args.fault}.json").write_text(json.dumps(results, indent=2) + "\n")
        print(f"  written to bench/results/fault-{args.fault}.json")
        return
    if args.import_kills:
        for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
            tmp = Path(tempfile.mkdtemp(prefix="pmo-import-kill-"))
            try:
                results = import_kill_bench(
                    backend, args.import_rows, args.import_kills, args.postgres_server, tmp
                )
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            report_import_kills(results)
            out = ROOT / "bench" / "results"
            out.mkdir(parents=True, exist_ok=True)
            name = f"import-kill-{backend}.json"
            (out / name).write_text(json.dumps(results, indent=2) + "\n")
            print(f"  written to bench/results/{name}")
        return
    seconds = args.seconds or (600.0 if args.soak else 60.0)
    if args.soak and seconds < 600:
        raise SystemExit("a soak runs for at least 600 s")
    options = Options(
        seconds=seconds,
        users=args.users,
        spawn_rate=args.spawn_rate,
        workers=args.workers,
        think=(args.think[0], args.think[1]),
        sample_every=args.sample,
        kill_at=(args.kill_at or seconds / 2) if args.kill else None,
        kills=args.kills,
        kill_every=args.kill_every,
        pin=not args.no_pin,
        label=args.label or ("soak" if args.soak else "kill" if args.kill else ""),
    )
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        tmp = Path(tempfile.mkdtemp(prefix="pmo-load-"))
        url = None
        try:
            if backend == "sqlite":
                cache = args.cache or Path(f"/tmp/pmo-load-{args.people}.sqlite3")
                url = sqlite_database(args.people, cache, tmp, args.rebuild)
            else:
                url = postgres_database(args.people, args.postgres_server, tmp, args.rebuild)
            plan = add_bench_data(url, learners=args.users)
            results = run_bench(url, plan, tmp, options)
            results["people"] = args.people
            del results["saved"]
        finally:
            if backend == "postgresql" and url:
                drop_postgres_copy(url, args.postgres_server)
            shutil.rmtree(tmp, ignore_errors=True)
        report(results)
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        name = f"load-{backend}{'-' + options.label if options.label else ''}.json"
        (out / name).write_text(json.dumps(results, indent=2) + "\n")
        print(f"  written to bench/results/{name}")


if __name__ == "__main__":
    main()
