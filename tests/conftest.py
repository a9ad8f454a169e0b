"""Shared fixtures: an app on a fresh database per test, on SQLite and on PostgreSQL.

The schema is built once per backend (and test process) by running the migrations, and
one app is made per backend and shared by that backend's tests, as one app serves every
request in production: building an app compiles its ~170 URL rules, which cost more than
most tests. After each test every table is emptied and the app's configuration put back,
so each test starts from a fresh, empty database and the configuration TestConfig gives.
`make test` starts a throwaway PostgreSQL server and sets TEST_POSTGRES_URL. Without it
the run stops, unless PMO_TEST_SQLITE_ONLY=1 is set for a quick local run (never under CI).
"""

from __future__ import annotations

import contextvars
import copy
import os
import uuid
from collections import Counter, OrderedDict
from contextlib import ExitStack, contextmanager

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask, has_app_context
from flask import session as flask_session
from flask.testing import FlaskClient
from flask_login import login_user
from flask_migrate import upgrade

from app import create_app
from app.accounts.services import open_login_session
from app.config import TestConfig
from app.extensions import db
from tests.tables import tables_holding_rows

PG_URL = os.environ.get("TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
SQLITE_ONLY = os.environ.get("PMO_TEST_SQLITE_ONLY") == "1" and not IN_CI

BACKENDS = ["sqlite"] + ([] if SQLITE_ONLY else ["postgresql"])


def pytest_configure(config):
    config.pluginmanager.register(_LongestFirst(), "pmo-longest-first")
    # Tests log in as administrators with no authenticator: two-step log-in is required of
    # nobody unless a test asks (tests/accounts/test_two_step_required.py). In the
    # environment, so that apps made from Config and served gunicorns see it too.
    os.environ["PMO_TWO_STEP_REQUIRED_FOR"] = ""
    if "postgresql" in BACKENDS and not PG_URL:
        raise pytest.UsageError(
            "TEST_POSTGRES_URL is not set: run the suite with `make test`, which starts a "
            "PostgreSQL server (or set PMO_TEST_SQLITE_ONLY=1 for a quick local SQLite run)."
        )


class _YamlMemo:
    """PyYAML's ``compose`` and ``safe_load`` of a text, remembered for the run.

    The shipped curricula and question banks are read again by nearly every test that loads
    content (the demo build too), and PyYAML's pure-Python parser takes most of such a test's
    time. Both functions depend on the text alone, so the result parsed once is handed out
    again as a fresh copy (a node tree with the same shape and marks, or a deep copy of the
    data): nothing a caller does to it reaches the next caller. A text that fails to parse
    is never remembered (it is parsed, and fails, every time); other loaders and streams go
    straight to PyYAML.
    """

    SIZE = 64  # texts remembered, least recently used dropped first

    def __init__(self) -> None:
        self.real_compose = yaml.compose
        self.real_safe_load = yaml.safe_load
        self._nodes: OrderedDict[str, yaml.Node | None] = OrderedDict()
        self._data: OrderedDict[str, object] = OrderedDict()

    @staticmethod
    def _remembered(cache: OrderedDict, text: str, parse):
        if text in cache:
            cache.move_to_end(text)
            return cache[text]
        value = cache[text] = parse(text)
        if len(cache) > _YamlMemo.SIZE:
            cache.popitem(last=False)
        return value

    def compose(self, stream, Loader=yaml.Loader):
        if Loader is not yaml.SafeLoader or not isinstance(stream, str):
            return self.real_compose(stream, Loader)
        node = self._remembered(
            self._nodes, stream, lambda text: self.real_compose(text, yaml.SafeLoader)
        )
        return _copy_node(node, {})

    def safe_load(self, stream):
        if not isinstance(stream, str):
            return self.real_safe_load(stream)
        return copy.deepcopy(self._remembered(self._data, stream, self.real_safe_load))


def _copy_node(node, copies: dict):
    """A new node tree like ``node``'s, a node reached twice (an alias) copied once."""
    if node is None:
        return None
    if id(node) in copies:
        return copies[id(node)]
    if isinstance(node, yaml.ScalarNode):
        new = yaml.ScalarNode(node.tag, node.value, node.start_mark, node.end_mark, node.style)
        copies[id(node)] = new
        return new
    new = type(node)(node.tag, [], node.start_mark, node.end_mark, node.flow_style)
    copies[id(node)] = new
    if isinstance(node, yaml.MappingNode):
        new.value = [(_copy_node(k, copies), _copy_node(v, copies)) for k, v in node.value]
    else:
        new.value = [_copy_node(item, copies) for item in node.value]
    return new


@pytest.fixture(scope="session", autouse=True)
def _remembered_yaml():
    memo = _YamlMemo()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml, "compose", memo.compose)
        patch.setattr(yaml, "safe_load", memo.safe_load)
        yield


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


class _Databases:
    """Each backend's migrated database and the app serving it, made the first time a test
    asks for that backend and kept until the end of the run.

    ``database_url`` is a parametrised session fixture, and pytest finishes such a fixture
    whenever the next test wants the other parameter: with ``--dist loadfile`` a worker
    switches backend at every file, which rebuilt both databases (migrations and all) once
    per file. Keeping them here makes a switch free.
    """

    def __init__(self, tmp_path_factory):
        self._tmp_path_factory = tmp_path_factory
        self._stack = ExitStack()
        self._urls: dict[str, str] = {}
        self._apps: dict[str, Flask] = {}

    def url(self, backend: str) -> str:
        if backend not in self._urls:
            url = self._stack.enter_context(database_for(backend, self._tmp_path_factory))
            app = make_app(url)
            with app.app_context():
                upgrade()
            self._stack.callback(_dispose_engine, app)
            self._urls[backend] = url
            self._apps[url] = app
        return self._urls[backend]

    def app(self, url: str) -> Flask:
        return self._apps[url]

    def close(self) -> None:
        self._stack.close()


def _dispose_engine(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def _databases(tmp_path_factory):
    databases = _Databases(tmp_path_factory)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, _databases):
    """A migrated, empty database per backend, shared by the tests of one run."""
    return _databases.url(request.param)


def empty_all_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            _empty_postgresql_tables(conn, tables)
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for name in tables:
            conn.exec_driver_sql(f"DELETE FROM {name}")
        conn.commit()
        # Outside the transaction: SQLite ignores this pragma inside one. The connection
        # goes back to the shared app's pool, and the next test must find its foreign keys
        # enforced; one that somehow is not is thrown away instead.
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        if conn.exec_driver_sql("PRAGMA foreign_keys").scalar() != 1:
            conn.invalidate()
        else:
            conn.commit()


#: Every sequence owned by a table column (serial or identity) that has handed out a value,
#: put back to its start, as TRUNCATE ... RESTART IDENTITY does for the tables it empties.
_RESTART_USED_SEQUENCES = """
SELECT setval(c.oid, s.start_value, false)
FROM pg_sequences s
JOIN pg_namespace n ON n.nspname = s.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
WHERE s.last_value IS NOT NULL
"""


def _empty_postgresql_tables(conn, tables: list[str]) -> None:
    """Empty every table and restart its id sequence, as one TRUNCATE of all the tables
    with RESTART IDENTITY would, but in a fraction of the time: TRUNCATE makes new files
    for each of the 55 tables and their indexes, most of them already empty, which cost a
    few hundred milliseconds per test. Here only the tables holding rows are emptied, with
    DELETE and the foreign-key triggers off for this transaction (which needs a superuser,
    as the throwaway server's ``postgres`` is; otherwise the TRUNCATE is used)."""
    holding = tables_holding_rows(conn, tables)
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except sa.exc.DBAPIError:  # not a superuser
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        return
    for name in tables:
        if name in holding:
            conn.exec_driver_sql(f"DELETE FROM {name}")
    conn.exec_driver_sql(_RESTART_USED_SEQUENCES)


@pytest.fixture
def app(database_url, _databases):
    """The backend's shared app, on an empty database, with TestConfig's configuration
    (a change a test makes to ``app.config`` is undone after it)."""
    app = _databases.app(database_url)
    config = dict(app.config)
    try:
        yield app
    finally:
        app.config.clear()
        app.config.update(config)
        app.extensions.pop("pmo_kept_figures", None)  # counted over this test's data
        with app.app_context():
            db.session.remove()
            empty_all_tables()


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


# --- the order of the files, for xdist -----------------------------------------------------

#: Shared fixtures that are cheap to have in every worker (each builds them at most once).
_PER_WORKER_FIXTURES = {"database_url", "_databases", "_remembered_yaml"}


def _shares_a_costly_fixture(item) -> bool:
    """Whether ``item`` uses a fixture of this project's that outlives one test (a served
    demo site, a browser, a gunicorn)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for fixturedefs in info.name2fixturedefs.values():
        fixturedef = fixturedefs[-1]
        if (
            fixturedef.scope != "function"
            and fixturedef.baseid  # defined in the project's tests, not by a plugin
            and fixturedef.argname not in _PER_WORKER_FIXTURES
        ):
            return True
    return False


class _LongestFirst:
    """Put each file's tests together, the longest files first: the browser files, then
    those sharing a costly fixture (gunicorn), then the rest by number of tests.

    scripts/test.sh runs ``--dist loadfile --no-loadscope-reorder``: xdist hands each worker
    whole files in this order, so that the long pieces of work start first rather than one
    of them starting last and leaving the other worker idle while it finishes (xdist's own
    reordering, by number of tests, put the browser files last). Within a file the order
    pytest gave (SQLite tests, then PostgreSQL) is kept. After pytest's own reordering,
    hence trylast.
    """

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        def file_of(item) -> str:
            return item.nodeid.split("::", 1)[0]

        counts = Counter(file_of(item) for item in items)
        browser = {file_of(item) for item in items if item.get_closest_marker("browser")}
        costly = {file_of(item) for item in items if _shares_a_costly_fixture(item)}

        def weight(item) -> tuple:
            name = file_of(item)
            return (name not in browser, name not in costly, -counts[name], name)

        items.sort(key=weight)


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
