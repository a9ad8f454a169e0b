"""Model helpers every domain shares: the UTC clock, portable enum columns, how SQLite
write transactions begin, and how a request whose PostgreSQL transaction lost a deadlock or
serialisation conflict is run again (RetryTransactions)."""

from __future__ import annotations

import io
import logging
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from enum import StrEnum
from typing import IO

from flask import has_request_context, request
from sqlalchemy import Engine, Enum, event, text
from sqlalchemy.orm import Session

from app import clock

#: The largest id a record can have (the primary keys are INTEGER, PostgreSQL's int4): a
#: larger number names nothing and must never reach a query (PostgreSQL: "integer out of
#: range"; SQLite: OverflowError past 2**63), which would be a 500. The one bound for route
#: ids (app/__init__.py), query parameters (``record_id``) and form selects.
MAX_ID = 2**31 - 1

#: The largest page number a list accepts (an offset past it is empty anyway).
MAX_PAGE = 100_000


def record_id(text: str) -> int:
    """A query parameter naming a record, for ``request.args.get(name, type=record_id)``:
    digits only, at most MAX_ID; anything else raises ValueError, so the argument is treated
    as absent (its default) rather than reaching the database."""
    text = text.strip()
    if not text.isdigit() or len(text) > 10 or int(text) > MAX_ID:
        raise ValueError(f"not a record id: {text[:20]!r}")
    return int(text)


def page_number(text: str) -> int:
    """A list's page query parameter: 1 to MAX_PAGE (larger numbers are the last allowed
    page, never an offset the database cannot hold); anything else raises ValueError."""
    text = text.strip()
    if not text.isdigit():
        raise ValueError(f"not a page number: {text[:20]!r}")
    return max(1, min(int(text[:7]) if len(text) > 7 else int(text), MAX_PAGE))


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the default of every timestamp column."""
    return clock.now()


def enum_column(cls: type[StrEnum], name: str, length: int = 16) -> Enum:
    """A portable enum: VARCHAR plus a CHECK constraint on every engine."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def refresh_planner_statistics(session: Session) -> None:
    """ANALYZE after a bulk load (the demo, a staff import), so that the query planner
    knows, say, that a line manager has a handful of reports, not half the organisation.
    SQLite has no statistics until told to gather them and then picks indexes blindly."""
    session.execute(text("ANALYZE"))


# --- SQLite: write transactions begin immediately ------------------------------------------

#: Requests that only read: their transactions stay deferred.
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_immediate: ContextVar[bool] = ContextVar("immediate_transactions", default=False)


@contextmanager
def immediate_transactions() -> Iterator[None]:
    """Inside this block every SQLite transaction begins with BEGIN IMMEDIATE, as those of a
    request that writes do: for a command-line command that reads, then writes."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def writes_immediately() -> bool:
    """Whether a transaction begun now takes SQLite's write lock at once: while serving a
    POST, PUT, PATCH or DELETE, or inside ``immediate_transactions()``."""
    if _immediate.get():
        return True
    return has_request_context() and request.method not in READING_METHODS


def begin_writes_immediately(engine: Engine) -> None:
    """On SQLite, begin the transactions of requests that write with BEGIN IMMEDIATE.

    SQLite has one writer at a time. A transaction that reads and then writes inside a
    deferred BEGIN can fail at once with "database is locked" (a busy snapshot: another
    writer committed after its first read, and the busy timeout does not help), and its
    reads are not protected from another writer's change before its write. BEGIN IMMEDIATE
    takes the write lock first, waiting for it through the busy timeout, so the whole
    transaction (the checks a use-case reads and the rows it writes) runs as one, with no
    writer in between: the same guarantee a conditional UPDATE gives on PostgreSQL.

    Everything else (GET pages, tests, commands outside ``immediate_transactions``) keeps
    the driver's own behaviour: reads run outside any transaction, and a deferred BEGIN is
    issued just before the first write, which then takes the write lock through the busy
    timeout as well (no read snapshot is held that could go stale). Readers never wait for
    a writer (WAL). The pragmas (WAL, foreign keys, busy timeout) are set on every new
    connection by ``create_app``.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        if writes_immediately():
            conn.exec_driver_sql("BEGIN IMMEDIATE")


# --- PostgreSQL: a request whose transaction lost a deadlock or a serialisation conflict ----

#: SQLSTATEs that say "this transaction was rolled back because of another one; the same
#: work run again will very likely succeed": serialization_failure and deadlock_detected.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})

#: How many times a request is run at most when its transaction keeps losing such a
#: conflict, and the pause before a rerun (seconds, doubled each time, with jitter).
RETRY_ATTEMPTS = 3
RETRY_PAUSE = 0.05

#: WSGI environ keys between the middleware and the error handler (app/__init__.py).
RETRY_REMAINING = "pmo.retry.remaining"
RETRY_WANTED = "pmo.retry.wanted"

#: Reruns and give-ups in this process since it started (the load bench and the tests read
#: them; every rerun and every give-up is also a log line on "pmo_pathways.retry").
RETRIES: Counter[str] = Counter()

_retry_log = logging.getLogger("pmo_pathways.retry")


def keep_prepared_statements(engine: Engine) -> None:
    """PostgreSQL through psycopg: keep each connection's prepared statements across the
    rollback that ends every request.

    psycopg prepares a statement after it has run five times on a connection, so that
    PostgreSQL parses and plans it once, but forgets them all (and deallocates them) at
    every ROLLBACK, in case the transaction dropped or altered what they read. Every request
    ends in one (the session is closed), so no statement was ever prepared: each of a
    page's statements was parsed and planned again, a millisecond or more for the joins of
    a signed-in page, more than running it. The app changes no schema while it serves
    (migrations run before it starts); psycopg still forgets them after a DROP, ALTER,
    DISCARD or DEALLOCATE that runs on the connection, and PostgreSQL plans a prepared
    statement again when a table it reads changes. A psycopg without this internal keeps
    its own behaviour (tests/test_prepared_statements.py notices)."""

    @event.listens_for(engine, "connect")
    def _keep(dbapi_connection, _record):
        manager = getattr(dbapi_connection, "_prepared", None)
        rollback = getattr(dbapi_connection, "rollback", None)
        if manager is None or not callable(getattr(manager, "clear", None)) or rollback is None:
            return
        try:  # an internal that cannot be shadowed: psycopg's own behaviour stays
            manager.clear = _kept
            del manager.clear
        except AttributeError:
            return

        def rollback_keeping_prepared() -> None:
            manager.clear = _kept  # the statements outlive this rollback only
            try:
                rollback()
            finally:
                del manager.clear

        dbapi_connection.rollback = rollback_keeping_prepared


def _kept() -> bool:
    return False


def transient_conflict(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL's deadlock (40P01) or serialisation failure (40001),
    as SQLAlchemy raises it (``DBAPIError.orig`` carries the driver's SQLSTATE)."""
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES


def may_retry(environ: dict) -> bool:
    """Whether the request being served may still be run again (see RetryTransactions)."""
    return int(environ.get(RETRY_REMAINING, 0)) > 0


def want_retry(environ: dict) -> None:
    """Ask RetryTransactions to throw this attempt's response away and run the request again
    (the error handler calls it after rolling the transaction back)."""
    environ[RETRY_WANTED] = True


def retry_counts() -> dict[str, int]:
    """This process's reruns ("retried") and requests that failed every attempt ("gave_up")."""
    return {"retried": RETRIES["retried"], "gave_up": RETRIES["gave_up"]}


class RetryTransactions:
    """WSGI middleware: a request whose transaction PostgreSQL aborted with a deadlock
    (40P01) or a serialisation failure (40001) is run again, whole, up to RETRY_ATTEMPTS
    times, after a short jittered pause; the user sees the answer of the attempt that
    succeeded and never a 500.

    Why the whole request, at the WSGI level: every view's work is one transaction
    (``viewutil.run`` commits once), so the unit to repeat is the request itself: access
    rule, login session, form parsing, the use-case, the commit. A rerun is a fresh request
    (new app and request context, new ``g``, a database session that starts from nothing),
    fed the same body (buffered here, so ``request.form`` and files can be read again), the
    same cookies and headers. What the failed attempt did is all undone: its transaction
    was rolled back by the error handler, and its response (status, headers, body, any
    cookie it set, the messages it flashed into the session cookie) is discarded unseen.

    No double side effect: nothing a request does outside its transaction is repeated
    visibly. The app sends no mail while serving a request (reminders go out from the
    command line, ``flask learning remind``); a file a request stores (an uploaded copy of
    a certificate) is removed when its transaction rolls back (``undo_on_rollback``), so a
    rerun stores it once more and exactly one copy is left, the one the committed row
    names. Log lines of the failed attempt stay (they are what happened). A response that
    streams is only retried while its view runs, never once bytes have gone out.

    How: the error handler (``register_errorhandlers``) sees a transient conflict, rolls
    back and, when ``may_retry`` says attempts remain, calls ``want_retry``; this middleware
    then drops that attempt's response and runs the request again. The last attempt's
    conflict is answered by the handler itself: the product's 503 page with an incident id
    ("busy, nothing was saved, try again"), logged with the same id. Reruns and give-ups
    are counted (``retry_counts``) and logged.

    The body is kept in memory up to BODY_IN_MEMORY, in a temporary file beyond (as
    Werkzeug itself spools an upload). A body the app refuses unread stays unread: one
    longer than ``max_body`` (MAX_CONTENT_LENGTH), or a form that is not multipart and is
    longer than ``max_form`` (MAX_FORM_MEMORY_SIZE, ``app.hardening``) is passed through
    and run once, as is a chunked body that gives no length.
    """

    #: Bodies up to this size are buffered in memory, larger ones in a temporary file.
    BODY_IN_MEMORY = 512 * 1024

    def __init__(
        self,
        wsgi_app: Callable,
        *,
        attempts: int = RETRY_ATTEMPTS,
        pause: float = RETRY_PAUSE,
        max_body: int = 16 * 1024 * 1024,
        max_form: int | None = None,
    ):
        self.wsgi_app = wsgi_app
        self.attempts = max(1, attempts)
        self.pause = pause
        self.max_body = max_body
        self.max_form = max_form if max_form is not None else max_body

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = self._buffered_body(environ)
        if body is None:
            return self.wsgi_app(environ, start_response)
        try:
            return self._attempts(environ, start_response, body)
        finally:
            # Flask has read what it needs (the form, the files) and popped the request
            # context before its WSGI call returns: the copy is no longer needed.
            body.close()

    def _attempts(
        self, environ: dict, start_response: Callable, body: IO[bytes]
    ) -> Iterable[bytes]:
        for attempt in range(1, self.attempts + 1):
            env = dict(environ)
            body.seek(0)
            env["wsgi.input"] = body
            env[RETRY_REMAINING] = self.attempts - attempt
            captured: list = []
            written: list[bytes] = []
            late: list[bool] = []

            def capture(
                status, headers, exc_info=None, captured=captured, written=written, late=late
            ):
                if late:  # an app that answers only once iterated: nothing to decide
                    return start_response(status, headers, exc_info)
                captured[:] = [status, headers, exc_info]
                return written.append

            result = self.wsgi_app(env, capture)
            if not captured:
                late.append(True)
                return result
            if env.get(RETRY_WANTED) and attempt < self.attempts:
                if hasattr(result, "close"):
                    result.close()
                RETRIES["retried"] += 1
                _retry_log.warning(
                    "retry %d of %d: %s %s lost a database conflict; running it again",
                    attempt,
                    self.attempts - 1,
                    environ.get("REQUEST_METHOD"),
                    environ.get("PATH_INFO"),
                )
                time.sleep(self.pause * 2 ** (attempt - 1) * (0.5 + random.random()))
                continue
            status, headers, exc_info = captured
            write = start_response(status, headers, exc_info)
            for chunk in written:
                write(chunk)
            return result
        raise AssertionError("unreachable: the last attempt always answers")

    def _buffered_body(self, environ: dict) -> IO[bytes] | None:
        """The request body, read whole, so each attempt can read it again; None when it
        is not to be (no length given while a body may follow, or longer than the app reads):
        such a request is run once, as it comes."""
        length = (environ.get("CONTENT_LENGTH") or "").strip()
        if not length:
            if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
                return None
            return io.BytesIO()
        multipart = environ.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = self.max_body if multipart else min(self.max_body, self.max_form)
        if not length.isdigit() or int(length) > limit:
            return None
        stream = environ["wsgi.input"]
        body = tempfile.SpooledTemporaryFile(max_size=self.BODY_IN_MEMORY)
        wanted = int(length)
        while wanted > 0:
            chunk = stream.read(min(wanted, 64 * 1024))
            if not chunk:
                break
            body.write(chunk)
            wanted -= len(chunk)
        return body


def gave_up() -> None:
    """Count a request that lost its conflict on every attempt (the error handler calls it
    when it answers 503)."""
    RETRIES["gave_up"] += 1


# --- work outside the transaction, undone with it ---------------------------------------------

_UNDO = "pmo.undo_on_rollback"


def undo_on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Run ``undo`` if the session's transaction rolls back (forgotten once it commits): for
    work done outside the database that belongs to the transaction, such as a stored file,
    so that a rolled-back request (a refusal, an error, a retried conflict) leaves nothing."""
    session.info.setdefault(_UNDO, []).append(undo)


@event.listens_for(Session, "after_commit")
def _forget_undo(session: Session) -> None:
    session.info.pop(_UNDO, None)


@event.listens_for(Session, "after_soft_rollback")
def _run_undo(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint: the transaction goes on
        return
    for undo in session.info.pop(_UNDO, []):
        try:
            undo()
        except Exception:  # an undo that fails must not hide why the work was rolled back
            _retry_log.exception("could not undo outside work after a rollback")
