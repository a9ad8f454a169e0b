"""Shared fixtures: an app on a fresh database per test, on SQLite and on PostgreSQL.

The schema is built once per backend by running the migrations; after each test every
table is emptied, so each test starts from a fresh, empty database. `make test` starts a
throwaway PostgreSQL server and sets TEST_POSTGRES_URL. Without it the run stops, unless
PMO_TEST_SQLITE_ONLY=1 is set for a quick local run (never under CI).
"""

from __future__ import annotations

import contextvars
import os
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask import session as flask_session
from flask.testing import FlaskClient
from flask_login import login_user
from flask_migrate import upgrade

from app import create_app
from app.accounts.services import open_login_session
from app.config import TestConfig
from app.extensions import db

PG_URL = os.environ.get("TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
SQLITE_ONLY = os.environ.get("PMO_TEST_SQLITE_ONLY") == "1" and not IN_CI

BACKENDS = ["sqlite"] + ([] if SQLITE_ONLY else ["postgresql"])


def pytest_configure(config):
    if "postgresql" in BACKENDS and not PG_URL:
        raise pytest.UsageError(
            "TEST_POSTGRES_URL is not set: run the suite with `make test`, which starts a "
            "PostgreSQL server (or set PMO_TEST_SQLITE_ONLY=1 for a quick local SQLite run)."
        )


class IsolatedClient(FlaskClient):
    """A test client whose every request runs as it would in production.

    pytest-flask keeps a request context (and so an app context, ``g`` and the database
    session) pushed for the whole test, and Flask reuses an active app context for client
    requests: Flask-Login's cached user and the session's identity map would then leak from
    one request into the next, and a second client would be served as the first client's
    user. So each request gets its own app context here. Around it, the test's own session
    is committed first (set-up data is visible to the request, and no SQLite write lock is
    held) and expired afterwards (the test reads what the request wrote).
    """

    def __enter__(self):
        # pytest-flask enters the client with `with`; keeping each request's contexts
        # alive after it (Flask's preserve_context) is exactly what this client avoids.
        return self

    def __exit__(self, *exc_info):
        return None

    def open(self, *args, **kwargs):
        outer = has_app_context()
        if outer:
            db.session.commit()
        try:
            # A fresh, empty context: no app or request context is active inside it, so the
            # request pushes its own (its own g, Flask-Login user and database session).
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            if outer:
                db.session.expire_all()


def make_app(url: str, **overrides):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)
    app.test_client_class = IsolatedClient
    return app


@contextmanager
def postgres_database():
    """Create an empty PostgreSQL database for this run and drop it afterwards."""
    name = f"pmo_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_for(backend: str, tmp_path_factory):
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        yield f"sqlite:///{path}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database per backend, shared by the tests of one run."""
    with database_for(request.param, tmp_path_factory) as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


def empty_all_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for name in tables:
                conn.exec_driver_sql(f"DELETE FROM {name}")
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The app's database session (pytest-flask pushes a request context per test)."""
    return db.session


@pytest.fixture
def backend(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def log_in(client, user) -> str:
    """Sign ``user`` in on ``client`` without a password round-trip; returns the token."""
    token = open_login_session(db.session, user)
    db.session.commit()
    set_session_token(client, token)
    return token


def set_session_token(client, token: str) -> None:
    """Put a login-session token in ``client``'s cookie, as the log-in view would."""
    contents = contextvars.Context().run(_logged_in_session, client, token)
    with client.session_transaction() as sess:
        sess.update(contents)
        sess.permanent = True


class _TokenHolder:
    """What Flask-Login's ``login_user`` needs of a user: an id (here the session token)."""

    is_active = True

    def __init__(self, token: str):
        self.token = token

    def get_id(self) -> str:
        return self.token


def _logged_in_session(client, token: str) -> dict:
    """The session a log-in with ``token`` leaves, made by Flask-Login's own ``login_user``
    in a request from this client (so the browser fingerprint matches)."""
    with client.application.test_request_context(environ_base=client.environ_base):
        login_user(_TokenHolder(token))
        return dict(flask_session)


@pytest.fixture
def login(client):
    def _login(user):
        return log_in(client, user)

    return _login


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """Context manager counting the SQL statements run inside it."""

    @contextmanager
    def counting():
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)

    return counting


# --- the closing summary: how many tests ran on each backend and in the browser ------------

_TALLY: dict[str, dict[str, int]] = {}


def _kind_of(report) -> str:
    if "browser" in report.keywords:
        return "browser (chromium)"
    if "[postgresql" in report.nodeid or "-postgresql" in report.nodeid:
        return "postgresql"
    if "[sqlite" in report.nodeid or "-sqlite" in report.nodeid:
        return "sqlite"
    return "no database"


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        tally = _TALLY.setdefault(_kind_of(report), {})
        tally[report.outcome] = tally.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter):
    if not _TALLY:
        return
    terminalreporter.section("tests by backend")
    for kind in ("sqlite", "postgresql", "browser (chromium)", "no database"):
        if kind in _TALLY:
            counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_TALLY[kind].items()))
            terminalreporter.write_line(f"{kind:>20}: {counts}")
