"""The staff importer killed with SIGKILL in the middle of its apply, then run again (H6).

Shared by tests/faults/test_import_kill.py (a small file, a few kill points, both backends)
and ``bench/load_bench.py --import-kills`` (50,000 rows, ten kill points).

The import runs as the scheduled job runs it: ``flask --app wsgi import people FILE`` in a
subprocess, on the test's database. Its output goes to a file; the command prints the plan
("To create: …") just before it applies it, so the apply is timed from that line to the
process's exit, and the kills land at fractions of that time after the line (the last ones
in or about the COMMIT). After each kill the database must hold none of the batch or all of
it — the same fingerprint as before the run, or as after a clean full apply — SQLite's
``integrity_check`` and ``foreign_key_check`` are clean, the audit chain verifies, and the
same command run again completes and leaves what a clean run leaves.

The fingerprint reads rows by their natural keys (employee number, unit and role codes),
never by id: PostgreSQL's sequences move on in a rolled-back transaction, so the ids of a
run after a kill differ from a clean run's while the data is the same.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
SECRET = "import-kill-secret-0123456789abcdef0123456789abcdef"
HEADER = "Employee Number,First Name,Last Name,Email,Department,Job Title,Manager ID\n"
#: Existing units (seeded) and units the file creates.
DEPARTMENTS = ["Delivery", "Strategy Office", "Portfolio Office", "Change Hub"]
#: Job titles and the roles they map to (seeded).
ROLES = {"PMOA": "PMO Analyst", "PM": "Project Manager", "PFM": "Portfolio Manager"}
PLAN_LINE = b"To create:"
APPLIED_LINE = b"Applied as import #"


def staff_file(path: Path, rows: int) -> Path:
    """An HR export of ``rows`` new people, each (but the first ten) managed by an earlier
    one, with an email address and a job title that maps to a role."""
    titles = list(ROLES.values())
    lines = [HEADER]
    for n in range(rows):
        manager = f"K{n // 10:06d}" if n >= 10 else ""
        lines.append(
            f"K{n:06d},First{n},Last{n},k{n}@example.com,"
            f"{DEPARTMENTS[n % len(DEPARTMENTS)]},{titles[n % len(titles)]},{manager}\n"
        )
    path.write_text("".join(lines), encoding="utf-8")
    return path


def seed(session) -> None:
    """What the import needs: an admin to record it under, its roles and one unit."""
    from app.accounts.models import Permission
    from tests.factories import make_person, make_role, make_unit, make_user

    admin = make_person("Ida", "Admin", number="ADM1")
    admin.email = "ida@example.com"  # the factory's is numbered: fingerprints would differ
    make_user(Permission.ADMIN, person=admin, email="ida@example.com")
    for code, name in ROLES.items():
        make_role(code=code, name=name)
    make_unit("Delivery", code="DEL")
    session.commit()


# --- what the database holds -------------------------------------------------------------------

_DATA = {
    "people": """
        SELECT p.employee_number, p.first_name, p.last_name, p.email, p.job_title, u.code,
               m.employee_number, p.active, p.leaving_date
        FROM people p
        LEFT JOIN org_units u ON u.id = p.org_unit_id
        LEFT JOIN people m ON m.id = p.line_manager_id""",
    "role_assignments": """
        SELECT p.employee_number, r.code, a.kind, a.start_date, a.end_date, a.source
        FROM role_assignments a
        JOIN people p ON p.id = a.person_id
        JOIN roles r ON r.id = a.role_id""",
    "org_units": """
        SELECT u.code, u.name, pu.code, u.active
        FROM org_units u LEFT JOIN org_units pu ON pu.id = u.parent_id""",
}
_RECORDS = ["import_batches", "import_mappings", "audit_events"]


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Fingerprint:
    """Row count and SHA-256 (of the sorted rows, by natural key) of people, their role
    assignments and the units; and the counts of import batches, mappings and audit
    events (what else one import writes)."""

    data: tuple[tuple[str, int, str], ...]
    records: tuple[tuple[str, int], ...]

    def rows(self, table: str) -> int:
        return {name: n for name, n, _digest in self.data}[table]


def fingerprint(engine: sa.Engine) -> Fingerprint:
    data = []
    with engine.connect() as conn:
        for table, query in _DATA.items():
            rows = sorted(
                repr(tuple(_plain(v) for v in row)) for row in conn.exec_driver_sql(query)
            )
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            data.append((table, len(rows), digest))
        records = tuple(
            (table, conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
            for table in _RECORDS
        )
    return Fingerprint(tuple(data), records)


def audit_chain_ok(engine: sa.Engine) -> bool:
    from app.audit.chain import verify

    with engine.connect() as conn:
        return verify(conn).ok


def sqlite_checks(url: str) -> tuple[str, int]:
    """SQLite's ``integrity_check`` answer and the number of ``foreign_key_check`` rows, on
    a connection of its own (which also recovers what a killed writer left in the WAL)."""
    path = sa.engine.make_url(url).database
    assert path
    with sqlite3.connect(path, timeout=30) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        orphans = len(conn.execute("PRAGMA foreign_key_check").fetchall())
    return integrity, orphans


# --- running the command -----------------------------------------------------------------------


@dataclass
class Run:
    """One run of the command: its exit code (negative: the signal that ended it),
    whether the kill reached it while it ran, the seconds from its start to the plan line,
    from there to the line saying it was applied (printed after the COMMIT; else to its
    exit), its whole time, and its output."""

    code: int
    killed: bool
    to_plan_s: float
    apply_s: float
    total_s: float
    output: str


class _Forked:
    """The command run in a child forked from this process (which has imported the app
    already: no interpreter start-up of several seconds per run); a real process all the
    same, killed by a real SIGKILL. The child builds its own app and engine."""

    def __init__(self, url: str, file: Path, out_path: Path):
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            code = 70
            try:
                fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                sys.stdout = sys.stderr = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
                from app import create_app
                from app.config import TestConfig

                app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
                with app.app_context():
                    try:
                        app.cli.main(args=["import", "people", str(file)], prog_name="flask")
                        code = 0
                    except SystemExit as stop:
                        code = stop.code if isinstance(stop.code, int) else int(bool(stop.code))
            except BaseException:  # noqa: BLE001  (the parent reads it in the output)
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                os._exit(code)
        self.code: int | None = None

    def poll(self) -> int | None:
        if self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self) -> int:
        if self.code is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.code = os.waitstatus_to_exitcode(status)
        return self.code


def run_import(
    url: str, file: Path, folder: Path, kill_after: float | None = None, fork: bool = False
) -> Run:
    """``flask --app wsgi import people FILE`` on ``url`` (``fork``: the same command in a
    forked child); with ``kill_after``, SIGKILL that many seconds after it printed its plan
    (so during its apply), if still running."""
    out_path = folder / f"import-{time.monotonic_ns()}.out"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "PMO_INSTANCE_DIR": str(folder),
        "PYTHONUNBUFFERED": "1",
    }
    started = time.monotonic()
    proc: Any
    if fork:
        proc = _Forked(url, file, out_path)
    else:
        with out_path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "import", "people", str(file)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    planned = applied = None
    while proc.poll() is None and planned is None:
        if out_path.exists() and PLAN_LINE in out_path.read_bytes():
            planned = time.monotonic()
        else:
            time.sleep(0.005)
    killed = False
    if kill_after is not None and planned is not None:
        deadline = planned + kill_after
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(min(0.002, max(0.0, deadline - time.monotonic())))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed = True
    while proc.poll() is None and applied is None:
        if APPLIED_LINE in out_path.read_bytes():
            applied = time.monotonic()
        else:
            time.sleep(0.002)
    code = proc.wait()
    ended = time.monotonic()
    planned = planned or ended
    output = out_path.read_text(errors="replace") if out_path.exists() else ""
    out_path.unlink(missing_ok=True)
    apply_s = (applied or ended) - planned
    return Run(code, killed, planned - started, apply_s, ended - started, output)


@dataclass
class Trial:
    """One kill point: when the kill was due (seconds after the plan, and as a share of a
    clean apply), whether it reached the process, what the database then held ("none",
    "all" or "partial"), the SQLite checks, the audit chain, and the run again."""

    kill_after_s: float
    share: float
    killed: bool
    outcome: str
    integrity: str
    foreign_key_rows: int
    chain_ok: bool
    resume_s: float
    resume_apply_s: float
    resume_code: int
    resumed_equal: bool
    #: The killed run's apply time (plan line to the applied line, or to its end).
    run_apply_s: float = 0.0
    #: Which try of its kill point this was (``kill_trials(tries=...)``).
    tries: int = 1


def kill_trial(
    url: str,
    engine: sa.Engine,
    file: Path,
    folder: Path,
    kill_after: float,
    apply_s: float,
    before: Fingerprint,
    clean: Fingerprint,
    fork: bool = False,
) -> Trial:
    """Kill the import ``kill_after`` s into its apply; check what is left; run it again."""
    run = run_import(url, file, folder, kill_after=kill_after, fork=fork)
    if url.startswith("sqlite"):
        integrity, orphans = sqlite_checks(url)
    else:
        integrity, orphans = "n/a", 0
    engine.dispose()  # no pooled connection from before the kill
    after_kill = fingerprint(engine)
    if after_kill == before:
        outcome = "none"
    elif after_kill == clean:
        outcome = "all"
    else:
        outcome = "partial"
    chain = audit_chain_ok(engine)
    again = run_import(url, file, folder, fork=fork)
    resumed = fingerprint(engine)
    return Trial(
        kill_after_s=round(kill_after, 3),
        share=round(kill_after / apply_s, 2) if apply_s else 0.0,
        killed=run.killed,
        outcome=outcome,
        integrity=integrity,
        foreign_key_rows=orphans,
        chain_ok=chain and audit_chain_ok(engine),
        resume_s=round(again.total_s, 2),
        resume_apply_s=round(again.apply_s, 3),
        resume_code=again.code,
        resumed_equal=resumed.data == clean.data,
        run_apply_s=round(run.apply_s, 3),
    )


def kill_shares(kills: int) -> list[float]:
    """``kills`` kill points as shares of a clean apply's time (plan line to the line
    printed after the COMMIT), spread evenly from 5 % to 98 %: the last ones in or about
    the COMMIT."""
    if kills == 1:
        return [0.5]
    return [0.05 + 0.93 * k / (kills - 1) for k in range(kills)]


def kill_trials(
    url: str,
    engine: sa.Engine,
    file: Path,
    folder: Path,
    kills: int,
    reset,
    fork: bool = False,
    progress=None,
    tries: int = 1,
) -> tuple[Run, list[Trial]]:
    """A clean run on the state ``reset()`` makes, then ``kills`` kill trials, each on that
    state again. The apply time the kill points are shares of is the shortest full apply
    seen so far (the clean run's, or a run again after a kill that left nothing): on a
    busy machine a first, cold run is slower. With ``tries`` > 1, a kill point the import
    finished before is tried again (up to ``tries`` times) at the same share of its own,
    shorter, apply time."""
    before = reset()
    clean_run = run_import(url, file, folder, fork=fork)
    assert clean_run.code == 0, clean_run.output
    clean = fingerprint(engine)
    estimate = clean_run.apply_s
    if progress:
        progress(clean_run)
    trials = []
    for share in kill_shares(kills):
        for attempt in range(1, tries + 1):
            if reset() != before:
                raise AssertionError("the reset did not give the state before the import back")
            trial = kill_trial(
                url, engine, file, folder, share * estimate, estimate, before, clean, fork=fork
            )
            trial.tries = attempt
            if progress:
                progress(trial)
            if trial.outcome == "none" and trial.resume_code == 0:
                estimate = min(estimate, trial.resume_apply_s)
            if trial.killed:
                break
            # The import was over before the kill (the machine got faster): its own apply
            # time is the freshest measure; the same share again, of that.
            estimate = min(estimate, trial.run_apply_s)
        trials.append(trial)
    return clean_run, trials
