"""Model helpers every domain shares: the UTC clock, portable enum columns, and how SQLite
write transactions begin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum

from flask import has_request_context, request
from sqlalchemy import Engine, Enum, event, text
from sqlalchemy.orm import Session

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
    return datetime.now(UTC)


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
