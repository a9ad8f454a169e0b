"""H2: a database failure in the middle of a multi-row write leaves nothing of it.

A fault is injected into the real request (the Flask test client, the app's own error
handling): the database "fails" (an OperationalError, as a full disk or a lost connection
gives) on the first INSERT into one table of the operation, partway through it:

- an attempt submit: the attempt graded, its evidence recorded, the capability spans and
  role distances brought up to date, the audit event written (at the COMMIT);
- a role assignment: the assignment, the requirement spans, the audit event.

Each time the user gets the product's error page (500, an incident reference, no trace of
the error), every table's rows are exactly as before the request (row counts and a checksum
of every row), the audit chain still verifies, and the same action then succeeds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from app.accounts.models import Permission
from app.assessment.models import Attempt, AttemptStatus
from app.audit.chain import verify
from app.capability.models import Evidence
from app.extensions import db
from app.org.models import Role, RoleAssignment
from tests.assessment.test_taking_views import World, answer_everything, start, submit
from tests.conftest import log_in
from tests.factories import make_person, make_user

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def snapshot() -> dict[str, tuple[int, str]]:
    """Every table's row count and the SHA-256 of its rows in primary-key order."""
    db.session.rollback()  # nothing of the session's own in the way (it holds no changes)
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
    return out


def chain_ok() -> bool:
    with db.engine.connect() as conn:
        return verify(conn).ok


@contextmanager
def database_fails_on_insert_into(table: str) -> Iterator[list[str]]:
    """Every INSERT into ``table`` fails as a failing database would, while the block runs;
    yields the statements refused."""
    refused: list[str] = []
    pattern = re.compile(rf'^\s*INSERT INTO "?{table}"?\s', re.I)

    def fail(conn, cursor, statement, parameters, context, executemany):
        if pattern.match(statement):
            refused.append(statement)
            raise OperationalError(statement, {}, Exception("disk I/O error (injected)"))

    sa.event.listen(db.engine, "before_cursor_execute", fail)
    try:
        yield refused
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", fail)


def assert_error_page(response) -> None:
    assert response.status_code == 500, response.status_code
    assert "Something went wrong" in response.text
    assert re.search(r'data-testid="incident">[0-9a-f]{10}<', response.text)
    for leak in ("Traceback", "OperationalError", "injected", "INSERT INTO", 'File "'):
        assert leak not in response.text, leak


# --- an attempt submit ----------------------------------------------------------------------


@pytest.fixture
def world(session):
    world = World()
    db.session.commit()
    return world


@pytest.mark.parametrize(
    "table",
    [
        "evidence",  # after the grading
        "level_spans",  # after the evidence
        "role_distance_periods",  # after the spans
        "audit_events",  # at the COMMIT, after everything else
    ],
)
def test_a_database_failure_mid_submit_leaves_no_result_no_evidence_and_no_event(
    client, world, table
):
    learner_id = world.learner.id
    log_in(client, world.user)
    attempt_id = start(client, world)
    answer_everything(client, attempt_id)
    before = snapshot()

    with database_fails_on_insert_into(table) as refused:
        response = submit(client, attempt_id)

    assert refused, f"the submit never inserted into {table}"
    assert_error_page(response)
    assert snapshot() == before
    assert chain_ok()
    # Nothing half-done stands in the learner's way: the same submit now goes through.
    done = submit(client, attempt_id)
    assert done.status_code == 302
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt is not None and attempt.status != AttemptStatus.IN_PROGRESS
    assert attempt.marks is not None
    evidence = db.session.scalars(sa.select(Evidence).where(Evidence.person_id == learner_id)).all()
    assert evidence
    assert chain_ok()


# --- a role assignment ---------------------------------------------------------------------


@pytest.fixture
def admin_world(session):
    from tests.assessment.attempt_factories import load_framework_files

    load_framework_files()
    admin = make_user(Permission.ADMIN, person=make_person("Ada", "Admin"))
    target = make_person("Tom", "Target")
    role = db.session.scalars(sa.select(Role).order_by(Role.code).limit(1)).one()
    db.session.commit()
    return admin, target, role


def _assign(client, person_id: int, role_id: int):
    url = f"/admin/people/{person_id}/assignments/new"
    page = client.get(url)
    assert page.status_code == 200
    token = CSRF.search(page.text)
    assert token
    return client.post(
        url,
        data={
            "csrf_token": token.group(1),
            "role": role_id,
            "kind": "current",
            "start_date": date.today().isoformat(),
            "office": "",
            "end_date": "",
        },
    )


@pytest.mark.parametrize("table", ["requirement_spans", "audit_events"])
def test_a_database_failure_mid_role_assignment_leaves_no_assignment_no_spans_no_event(
    client, admin_world, table
):
    admin, target, role = admin_world
    target_id, role_id = target.id, role.id
    log_in(client, admin)
    before = snapshot()

    with database_fails_on_insert_into(table) as refused:
        response = _assign(client, target_id, role_id)

    assert refused, f"the assignment never inserted into {table}"
    assert_error_page(response)
    assert snapshot() == before
    assert chain_ok()
    done = _assign(client, target_id, role_id)
    assert done.status_code == 302, done.text[:500]
    db.session.expire_all()
    assert db.session.scalars(
        sa.select(RoleAssignment).where(RoleAssignment.person_id == target_id)
    ).all()
    assert chain_ok()


# --- a database that cannot be reached ------------------------------------------------------


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every new connection to the database fails, as when its server is down; the pool is
    emptied first so that no connection made before is reused."""

    def refuse(dialect, record, cargs, cparams):
        raise OperationalError("connect", {}, Exception("connection refused (injected)"))

    db.session.remove()
    db.engine.dispose()
    sa.event.listen(db.engine, "do_connect", refuse)
    try:
        yield
    finally:
        sa.event.remove(db.engine, "do_connect", refuse)
        db.engine.dispose()


def test_a_signed_in_user_gets_the_error_page_while_the_database_is_down(client, admin_world):
    """The error page itself once needed the database (to show who is signed in), so a
    database outage gave the server's bare "Internal Server Error" page instead."""
    admin, target, _role = admin_world
    target_id = target.id
    log_in(client, admin)
    with database_unreachable():
        answers = [client.get(path) for path in ("/", f"/people/{target_id}", "/admin/people")]
    for response in answers:
        assert_error_page(response)
        assert "connection refused" not in response.text
    assert client.get("/").status_code == 200  # back as soon as the database is
