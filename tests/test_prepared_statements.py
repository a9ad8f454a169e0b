"""PostgreSQL plans a page's statements once per connection, not on every request.

psycopg prepares a statement once it has run five times on a connection, but forgets every
prepared statement at each ROLLBACK, and every request ends in one: so no statement was ever
prepared, and each of a signed-in page's statements was parsed and planned again on every
request (for the learner's home, 8-12 ms of its SQL out of 4 ms once kept; bench/README.md).
``app.db.keep_prepared_statements`` keeps them across that rollback. These tests run on
PostgreSQL only: SQLite has no server-side plans to keep.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from app.accounts.models import Permission
from app.extensions import db
from tests.conftest import BACKENDS
from tests.factories import make_person, make_unit, make_user

on_postgresql = pytest.mark.parametrize(
    "database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True
)

LOGIN_SESSION = "FROM login_sessions"


def executions_as_prepared(connections) -> int:
    """How many times the log-in session's statement ran as a prepared statement, over
    the given DBAPI connections (each asked on itself, then rolled back as the pool would)."""
    total = 0
    for dbapi in connections:
        rows = dbapi.execute(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
        ).fetchall()
        dbapi.rollback()
        total += sum(runs for statement, runs in rows if LOGIN_SESSION in statement)
    return total


@on_postgresql
def test_a_signed_in_pages_statements_are_prepared_once_and_run_again(client, login):
    user = make_user(Permission.LEARNER, person=make_person("Priya", "Shah", unit=make_unit("PMO")))
    db.session.commit()
    login(user)
    used = {}

    def note(conn, cursor, statement, parameters, context, executemany):
        if LOGIN_SESSION in statement:
            used[id(cursor.connection)] = cursor.connection

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        for _ in range(30):
            assert client.get("/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    # Each request runs the statement once and ends in a rollback. Prepared at its fifth run
    # on a connection and kept, it runs prepared on every request after; forgotten at each
    # rollback (psycopg's own behaviour), it never reaches a fifth run, and this is 0.
    runs = executions_as_prepared(used.values())
    assert runs >= 30 - 5 * len(used), (runs, len(used))


@on_postgresql
def test_a_rolled_back_write_is_still_undone_and_schema_changes_still_forget(app):
    user = make_user(Permission.LEARNER)
    db.session.commit()
    with db.engine.connect() as conn:
        conn.execute(
            text("UPDATE people SET first_name = 'Changed' WHERE id = :id"), {"id": user.person_id}
        )
        conn.rollback()
        assert (
            conn.execute(
                text("SELECT first_name FROM people WHERE id = :id"), {"id": user.person_id}
            ).scalar()
            != "Changed"
        )
        dbapi = conn.connection.driver_connection
        # run a statement often enough to be prepared, then a schema change on the connection
        for _ in range(6):
            conn.execute(text("SELECT count(*) FROM people WHERE id = :id"), {"id": user.person_id})
        conn.rollback()
        kept = dbapi.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
        dbapi.rollback()
        assert kept >= 1  # kept across the rollback
        conn.execute(text("CREATE TEMPORARY TABLE scratch (n integer)"))
        conn.execute(text("ALTER TABLE scratch ADD COLUMN m integer"))
        conn.commit()
        forgotten = dbapi.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
        dbapi.rollback()
        assert forgotten == 0  # psycopg still forgets them after an ALTER


@on_postgresql
def test_a_reports_statements_are_planned_for_their_parameters(app):
    """Reports plan their statements for their parameters (``plan_afresh``), and the
    ``without_plans`` blocks inside them too: a plan prepared once for any parameters
    ignores the plan nodes a block switches off, and took the manager's heatmap from 0.10 s
    to 0.44 s (bench/README.md). Outside a report, prepared plans are used."""
    from app.reports.scope import plan_afresh, without_plans  # noqa: PLC0415

    def setting(name: str) -> str:
        return db.session.execute(text(f"SHOW {name}")).scalar_one()

    assert setting("plan_cache_mode") == "auto"
    with without_plans(db.session(), "memoize"):
        assert setting("plan_cache_mode") == "force_custom_plan"
        assert setting("enable_memoize") == "off"
    assert (setting("plan_cache_mode"), setting("enable_memoize")) == ("auto", "on")
    plan_afresh(db.session())  # what every /reports request does first
    with without_plans(db.session(), "memoize"):
        assert setting("enable_memoize") == "off"
    assert setting("plan_cache_mode") == "force_custom_plan"  # as before the block
    db.session.rollback()
    assert setting("plan_cache_mode") == "auto"  # for this transaction only


@on_postgresql
def test_every_report_page_is_planned_afresh(app, client, login):
    from app.reports import views  # noqa: PLC0415

    seen = []
    original = views.plan_afresh

    def spy(session):
        original(session)
        seen.append(session.execute(text("SHOW plan_cache_mode")).scalar_one())

    login(make_user(Permission.ADMIN))
    views.plan_afresh = spy
    try:
        assert client.get("/reports/heatmap").status_code == 200
        assert client.get("/").status_code == 200
    finally:
        views.plan_afresh = original
    assert seen == ["force_custom_plan"]
