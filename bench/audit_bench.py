"""Benchmark for the audit trail (issue 14, point 5): what recording costs a write.

Each figure is measured with the trail on (as the product runs) and off (its listeners
removed: the product before the trail), in the same run, on the same database. The machine
is shared: the edits alternate off and on, so that a change of load touches both alike, and
each is reported as wall clock and as this process's CPU time (which waiting for the CPU or
the disk does not inflate):

* **one person edit, in the session**: a person loaded, their job title changed, the
  transaction committed, as an admin's request does it (the request's audit context set);
  the median and 95th percentile of ``--edits`` edits, and the SQL statements the commit
  runs;
* **one person edit over HTTP**: the admin's POST of the edit form through the whole app
  (the test client: routing, log-in session, CSRF, form, use-case, commit, redirect);
* **a bulk change**: a 20,000-row staff import applied (``--rows``; the file from
  bench/import_bench.py, uploaded, previewed, applied and committed) and ``flask demo build``
  (``--people``), each run as the command line runs them: what they add to the trail (one
  summary event) and the time they take with the trail on and off;
* **the check**: ``flask audit verify``'s walk over a trail of ``--verify`` events.

SQLite always, in a fresh file per database; PostgreSQL too with ``--postgres URL`` (a
database is created in that server for the run and dropped after). Each database is built by
the migrations.

Usage: .venv/bin/python bench/audit_bench.py [--edits 300] [--rows 20000] [--people 300]
       [--verify 20000] [--postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres]
Results go to stdout and bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import click  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts.models import Permission, User, UserPermission  # noqa: E402
from app.accounts.services import open_login_session  # noqa: E402
from app.audit import capture  # noqa: E402
from app.audit.models import AuditEvent  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.content.roles import load_roles  # noqa: E402
from app.extensions import db  # noqa: E402
from app.org.models import OrgUnit, Person  # noqa: E402
from bench import import_bench  # noqa: E402
from tests.conftest import set_session_token  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "audit.json"


@contextmanager
def database(kind: str, postgres: str | None, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'audit-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    assert postgres
    name = f"audit_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def fresh_app(url: str):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        upgrade()
        load_roles(db.session, ROOT / "curricula" / "roles.yaml")
        unit = OrgUnit(code="BEN", name="Bench unit")
        db.session.add(unit)
        db.session.flush()
        for i in range(200):
            db.session.add(
                Person(
                    employee_number=f"P{i:05d}",
                    first_name="Pat",
                    last_name=f"Person{i}",
                    email=f"pat{i}@example.com",
                    job_title="Analyst",
                    org_unit_id=unit.id,
                )
            )
        person = Person(employee_number="BENCH-ADMIN", first_name="Bench", last_name="Admin")
        db.session.add(person)
        db.session.flush()
        user = User(person_id=person.id, email="bench.admin@example.com", active=True)
        user.permission_rows = [UserPermission(permission=Permission.ADMIN)]
        db.session.add(user)
        db.session.commit()
    return app


@contextmanager
def trail(on: bool) -> Iterator[None]:
    if on:
        capture.install()
        yield
        return
    capture.uninstall()
    try:
        yield
    finally:
        capture.install()


@contextmanager
def counting(engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def summary(times: list[float], cpu: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 3),
    }


def set_trail(on: bool) -> None:
    if on:
        capture.install()
    else:
        capture.uninstall()


def paired(n: int, warm_up: int, one: Callable[[int, bool], None]) -> dict[str, dict]:
    """``one(i, on)`` timed n times with the trail off and on, alternately (so that a
    change in the machine's load affects both alike): wall clock and this process's CPU."""
    times: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for i in range(n + warm_up):
        for on in (i % 2 == 0, i % 2 == 1):
            set_trail(on)
            started, cpu_started = time.perf_counter(), time.process_time()
            one(i, on)
            elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu_started
            if i >= warm_up:
                times[on].append(elapsed)
                cpu[on].append(cpu_used)
    capture.install()
    return {
        "off": summary(times[False], cpu[False]),
        "on": summary(times[True], cpu[True]),
    }


def session_edits(app, n: int) -> dict:
    """n edits of a person's job title, each committed, as the admin's request."""
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "bench.admin@example.com"))
        ids = list(db.session.scalars(select(Person.id).where(Person.last_name != "Admin")))
        admin_id = admin.id
    with app.test_request_context("/admin/people"):
        capture.begin_request(actor_user_id=admin_id, request_id="bench", client_address="::1")

        def edit(i: int, on: bool) -> None:
            person = db.session.get(Person, ids[i % len(ids)])
            person.job_title = f"Analyst {i} {on}"
            db.session.commit()

        out = paired(n, 20, edit)
        for on in (False, True):
            set_trail(on)
            with counting(db.engine) as statements:
                edit(0, not on)
            out["on" if on else "off"]["statements"] = len(statements)
        capture.install()
    return out


def http_edits(app, n: int) -> dict:
    """n POSTs of the person edit form by a signed-in admin (the whole request)."""
    client = app.test_client()
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "bench.admin@example.com"))
        token = open_login_session(db.session, admin)
        db.session.commit()
        ids = list(db.session.scalars(select(Person.id).where(Person.last_name != "Admin")))
    set_session_token(client, token)
    form = client.get(f"/admin/people/{ids[0]}/edit").text
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form))
    forms: dict[int, dict] = {}

    def prepare(person_id: int, title: str) -> dict:
        with app.app_context():
            p = db.session.get(Person, person_id)
            data = {
                **fields,
                "employee_number": p.employee_number,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "email": p.email,
                "job_title": title,
                "org_unit": str(p.org_unit_id),
                "line_manager": "",
                "row_version": str(getattr(p, "row_version", "") or ""),
            }
            db.session.remove()
        return data

    def post(i: int, on: bool) -> None:
        person_id = ids[(2 * i + on) % len(ids)]
        response = client.post(f"/admin/people/{person_id}/edit", data=forms.pop(person_id))
        assert response.status_code == 302, response.text[:3000]

    times: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for i in range(n + 10):
        for on in (i % 2 == 0, i % 2 == 1):
            person_id = ids[(2 * i + on) % len(ids)]
            forms[person_id] = prepare(person_id, f"Lead {i} {on}")
            set_trail(on)
            started, cpu_started = time.perf_counter(), time.process_time()
            post(i, on)
            if i >= 10:
                times[on].append(time.perf_counter() - started)
                cpu[on].append(time.process_time() - cpu_started)
    capture.install()
    return {"off": summary(times[False], cpu[False]), "on": summary(times[True], cpu[True])}


def events_written(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(AuditEvent.id))) or 0)


def in_command(name: str, fn: Callable[[], None]) -> tuple[float, float]:
    """Run ``fn`` as the command ``name`` would (a click context: the CLI's audit mode);
    (wall clock, CPU) seconds."""
    group = click.Context(click.Group("flask"), info_name="flask")
    started, cpu = time.perf_counter(), time.process_time()
    with click.Context(click.Command(name), parent=group, info_name=name).scope():
        fn()
    return time.perf_counter() - started, time.process_time() - cpu


def staff_import(url: str, rows: int, on: bool) -> dict:
    app = fresh_app(url)
    data, _ = import_bench.generate(rows)
    before = events_written(app)

    def run() -> None:
        batch, _, _ = import_bench.upload_and_preview(db.session, data)
        import_bench.apply(db.session, batch)

    with trail(on), app.app_context():
        seconds, cpu = in_command("import people", run)
    return {
        "seconds": round(seconds, 2),
        "cpu": round(cpu, 2),
        "events": events_written(app) - before,
    }


def demo_build(url: str, people: int, on: bool) -> dict:
    from app.demo.organisation import build_demo

    app = fresh_app(url)
    with app.app_context():  # the demo builds its own organisation: start from none
        db.session.execute(sa.delete(User))
        db.session.execute(sa.delete(Person))
        db.session.execute(sa.delete(OrgUnit))
        db.session.commit()
    before = events_written(app)

    def run() -> None:
        build_demo(db.session(), people=people, seed=7)
        db.session.commit()

    with trail(on), app.app_context():
        seconds, cpu = in_command("demo build", run)
    return {
        "seconds": round(seconds, 2),
        "cpu": round(cpu, 2),
        "events": events_written(app) - before,
    }


def verify_trail(app, events: int) -> dict:
    """Append ``events`` events (1,000 a transaction) and time ``verify`` over the trail."""
    from app.audit.chain import append, verify

    with app.app_context():
        for start in range(0, events, 1000):
            rows = [
                {
                    "actor_user_id": 1,
                    "action": "update",
                    "record_table": "people",
                    "record_id": str(i),
                    "before": {"job_title": "Analyst"},
                    "after": {"job_title": f"Lead {i}"},
                }
                for i in range(start, min(start + 1000, events))
            ]
            append(db.session.connection(), rows)
            db.session.commit()
        started, cpu = time.perf_counter(), time.process_time()
        verdict = verify(db.session.connection())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        db.session.rollback()
    assert verdict.ok, verdict.problem
    return {"events": verdict.checked, "seconds": round(seconds, 2), "cpu": round(cpu, 2)}


def bench(kind: str, args, tmp: Path) -> dict:
    out: dict = {}
    with database(kind, args.postgres, tmp) as url:
        app = fresh_app(url)
        out["session_edit"] = session_edits(app, args.edits)
        out["http_edit"] = http_edits(app, args.edits // 2)
        with app.app_context():
            out["events_after_edits"] = int(db.session.scalar(select(func.count(AuditEvent.id))))
        out["verify"] = verify_trail(app, args.verify)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    for on in (False, True):
        with database(kind, args.postgres, tmp) as url:
            out[f"import_{'on' if on else 'off'}"] = staff_import(url, args.rows, on)
        with database(kind, args.postgres, tmp) as url:
            out[f"demo_{'on' if on else 'off'}"] = demo_build(url, args.people, on)
    return out


def report(kind: str, r: dict) -> None:
    print(f"\n{kind}")
    for what in ("session_edit", "http_edit"):
        off, on = r[what]["off"], r[what]["on"]
        print(
            f"  {what:<13} off {off['median_ms']:7.2f} ms (CPU {off['cpu_median_ms']:.2f}, "
            f"p95 {off['p95_ms']:.2f})   on {on['median_ms']:7.2f} ms "
            f"(CPU {on['cpu_median_ms']:.2f}, p95 {on['p95_ms']:.2f})"
            + (
                f"   statements {off['statements']} -> {on['statements']}"
                if "statements" in on
                else ""
            )
        )
    v = r["verify"]
    print(f"  verify        {v['events']} events in {v['seconds']:.2f} s (CPU {v['cpu']:.2f})")
    for what in ("import", "demo"):
        off, on = r[f"{what}_off"], r[f"{what}_on"]
        print(
            f"  {what:<13} off {off['seconds']:7.2f} s (CPU {off['cpu']:.2f})   "
            f"on {on['seconds']:7.2f} s (CPU {on['cpu']:.2f})   events written: {on['events']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--verify", type=int, default=20000, help="events to verify")
    parser.add_argument("--postgres", help="a PostgreSQL server URL to create a database in")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
            results[kind] = bench(kind, args, Path(tmp))
            report(kind, results[kind])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
