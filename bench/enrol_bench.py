"""Benchmark for bulk enrolment: the 20,000-person demo, a role's holders and the whole
organisation enrolled on a path in one go.

Builds the demo organisation (Harbourside Group) at ``--people`` in a fresh, migrated
SQLite file (or the empty PostgreSQL database given with ``--postgres``), or uses an
existing demo database (``--database URL``). Then, each on a path of its own published
just for the run (so nobody is already enrolled):

* role: every current holder of the role with the most holders (``enrol_people`` over
  ``role_holders``), commit included;
* root unit: everyone in the top org unit's subtree, i.e. the whole organisation
  (``enrol_people`` over ``unit_people``), commit included;
* again: the root unit once more, where everybody is skipped as already enrolled.

Each phase is timed once (wall clock, ``time.perf_counter``) and its SQL statements are
counted, to show the work is set-based: the statement count does not grow with the
number of people. Enrolments made by the run are deleted afterwards when an existing
database was used.

Usage: .venv/bin/python bench/enrol_bench.py [--people 20000] [--postgres URL | --database URL]
Results go to stdout and bench/results/enrol-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, event, func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.learning import enrolment as enrolling  # noqa: E402
from app.learning.models import (  # noqa: E402
    Enrolment,
    LearningPath,
    ModuleType,
    PathModule,
    PathStatus,
    PathVersion,
)
from app.org.models import AssignmentKind, OrgUnit, Person, RoleAssignment  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
TODAY = date.today()


def build_database(url: str, people: int) -> None:
    """Migrate, load the shipped content and build the demo organisation at ``url``."""
    from flask_migrate import upgrade

    from app.content.framework_load import load_framework
    from app.content.roles import load_roles
    from app.demo.organisation import build_demo

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        upgrade()
        curricula = ROOT / "curricula"
        load_roles(db.session, curricula / "roles.yaml")
        load_framework(
            db.session,
            curricula / "framework.yaml",
            curricula / "role-profiles.yaml",
            certificates_path=curricula / "certificates.yaml",
        )
        db.session.commit()
        build_demo(db.session, people=people, seed=7)
        db.session.commit()
        db.engine.dispose()


def bench_path(code: str) -> PathVersion:
    """A published path of six modules, made for the run."""
    path = LearningPath(code=code)
    version = PathVersion(path=path, number=1, status=PathStatus.PUBLISHED, title=f"Bench {code}")
    for i, kind in enumerate([ModuleType.E_LEARNING] * 4 + [ModuleType.WORKSHOP] * 2, start=1):
        version.modules.append(
            PathModule(
                position=i,
                code=f"{code}-{i:02d}",
                title=f"Module {i}",
                type=kind,
                minutes=60,
                requires=[],
                outcomes=[],
                lesson="",
            )  # fmt: skip
        )
    db.session.add(version)
    db.session.commit()
    return version


@contextmanager
def counting():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def timed(name: str, version: PathVersion, people) -> dict:
    with counting() as statements:
        started = time.perf_counter()
        counts = enrolling.enrol_people(
            db.session,
            path_id=version.path_id,
            people=people,
            due_on=TODAY + timedelta(days=90),
            actor_id=None,
            today=TODAY,
            scope=None,
        )
        db.session.commit()
        seconds = time.perf_counter() - started
    result = {
        "candidates": counts.candidates,
        "enrolled": counts.enrolled,
        "skipped_already_enrolled": counts.already_enrolled,
        "seconds": round(seconds, 3),
        "statements": len(statements),
    }
    print(
        f"{name:10} {counts.candidates:>7,} people: {counts.enrolled:>7,} enrolled, "
        f"{counts.already_enrolled:>7,} skipped in {seconds:6.2f} s "
        f"({len(statements)} SQL statements)"
    )
    return result


def biggest_role() -> tuple[int, str, int]:
    row = db.session.execute(
        select(RoleAssignment.role_id, func.count(func.distinct(RoleAssignment.person_id)))
        .where(RoleAssignment.kind == AssignmentKind.CURRENT, RoleAssignment.end_date.is_(None))
        .group_by(RoleAssignment.role_id)
        .order_by(func.count(func.distinct(RoleAssignment.person_id)).desc())
        .limit(1)
    ).one()
    from app.org.models import Role

    return row[0], db.session.get(Role, row[0]).name, row[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL to build in")
    parser.add_argument("--database", help="an existing demo database URL to use as it is")
    args = parser.parse_args()
    if args.database:
        url = args.database
    else:
        url = (
            args.postgres
            or f"sqlite:///{Path(tempfile.mkdtemp(prefix='pmo-enrol-')) / 'demo.sqlite3'}"
        )
        started = time.perf_counter()
        build_database(url, args.people)
        print(f"demo at {args.people:,} people built in {time.perf_counter() - started:.0f} s")

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        people = db.session.scalar(select(func.count(Person.id)).where(Person.active.is_(True)))
        role_id, role_name, holders = biggest_role()
        root = db.session.scalar(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)).limit(1))
        stamp = time.strftime("%H%M%S")
        role_path, unit_path = bench_path(f"BR{stamp}"), bench_path(f"BU{stamp}")
        print(f"{people:,} active people; biggest role: {role_name} ({holders:,} holders)")
        results = {
            "backend": db.engine.dialect.name,
            "active_people": people,
            "role": {"name": role_name, "holders": holders}
            | timed("role", role_path, enrolling.role_holders(role_id, TODAY)),
            "root_unit": timed("root unit", unit_path, enrolling.unit_people(root)),
            "again": timed("again", unit_path, enrolling.unit_people(root)),
        }
        if args.database:  # leave an existing database as it was
            for version in (role_path, unit_path):
                db.session.execute(delete(Enrolment).where(Enrolment.path_id == version.path_id))
                db.session.delete(version.path)
            db.session.commit()
        db.engine.dispose()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"enrol-{results['backend']}.json"
    (out / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to bench/results/{name}")


if __name__ == "__main__":
    main()
