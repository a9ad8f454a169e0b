"""Reads for the audit page: the events, filtered, newest first, with their actors' names.

The trail names its actors by user id. The page shows who that is by reading the users and
people tables by name (``_users``, ``_people``): this package sits below the domains and
imports none of their models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, column, func, or_, select, table
from sqlalchemy.orm import Session

from app import clock
from app.audit.models import AuditEvent

ACTIONS = ("create", "update", "delete", "bulk", "export", "redact")
#: The most events one CSV holds (the newest matching the filters).
CSV_LIMIT = 50_000

_users = table("users", column("id"), column("email"), column("person_id"))
_people = table("people", column("id"), column("first_name"), column("last_name"))


@dataclass(frozen=True)
class AuditFilter:
    """``actor``: a user id, "system" (commands), "anonymous", or part of an email, a name
    or a command; ``record``: a record id within ``table`` (or any table)."""

    actor: str = ""
    action: str = ""
    table: str = ""
    record: str = ""
    start: date | None = None
    end: date | None = None


def _day(d: date) -> datetime:
    return clock.start_of(d)


def _actor_condition(text: str) -> ColumnElement[bool]:
    needle = text.strip().lower()
    if needle.isdigit() and len(needle) <= 10:
        return AuditEvent.actor_user_id == int(needle)
    if needle == "system":
        return and_(AuditEvent.actor_user_id.is_(None), AuditEvent.command.is_not(None))
    if needle == "anonymous":
        return and_(AuditEvent.actor_user_id.is_(None), AuditEvent.command.is_(None))
    name = func.lower(_people.c.first_name + " " + _people.c.last_name)
    return or_(
        func.lower(_users.c.email).contains(needle, autoescape=True),
        name.contains(needle, autoescape=True),
        func.lower(AuditEvent.command).contains(needle, autoescape=True),
    )


def _filtered(stmt: Select, flt: AuditFilter) -> Select:
    if flt.actor.strip():
        stmt = stmt.where(_actor_condition(flt.actor))
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.table:
        stmt = stmt.where(AuditEvent.record_table == flt.table)
    if flt.record.strip():
        stmt = stmt.where(AuditEvent.record_id == flt.record.strip())
    if flt.start is not None:
        stmt = stmt.where(AuditEvent.at >= _day(flt.start))
    if flt.end is not None:
        stmt = stmt.where(AuditEvent.at < _day(flt.end + timedelta(days=1)))
    return stmt


def _joined(stmt: Select) -> Select:
    return stmt.outerjoin(_users, _users.c.id == AuditEvent.actor_user_id).outerjoin(
        _people, _people.c.id == _users.c.person_id
    )


def events_query(flt: AuditFilter) -> Select:
    """The events matching ``flt``, newest first, each with its actor's email and name."""
    stmt = select(
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.actor_user_id,
        AuditEvent.command,
        AuditEvent.action,
        AuditEvent.record_table,
        AuditEvent.record_id,
        AuditEvent.person_id,
        AuditEvent.before,
        AuditEvent.after,
        AuditEvent.detail,
        AuditEvent.request_id,
        AuditEvent.client_address,
        AuditEvent.redacted_at,
        _users.c.email.label("actor_email"),
        (_people.c.first_name + " " + _people.c.last_name).label("actor_name"),
    )
    return _filtered(_joined(stmt), flt).order_by(AuditEvent.id.desc())


def events_count(flt: AuditFilter) -> Select:
    """How many events match ``flt`` (joining the actors only to search their names)."""
    stmt = select(func.count(AuditEvent.id))
    if flt.actor.strip() and not flt.actor.strip().isdigit():
        stmt = _joined(stmt)
    return _filtered(stmt, flt)


def actor_label(row: Any) -> str:
    """Who acted, in words: a person's name and account, a command, or anonymous."""
    if row.actor_user_id is not None:
        who = row.actor_name or row.actor_email or "account no longer on file"
        return f"{who} (user #{row.actor_user_id})"
    if row.command:
        return f"command: {row.command}"
    return "anonymous"


def when(row: Any) -> str:
    return row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def as_text(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


CSV_HEADER = [
    "id",
    "at (UTC)",
    "actor user id",
    "actor",
    "action",
    "table",
    "record id",
    "person id",
    "before",
    "after",
    "detail",
    "request id",
    "client address",
    "redacted",
]


def csv_rows(session: Session, flt: AuditFilter) -> Iterator[list[Any]]:
    """The CSV's rows (cells as values; the caller neutralises formulas): the newest
    ``CSV_LIMIT`` events matching ``flt``."""
    for row in session.execute(events_query(flt).limit(CSV_LIMIT)):
        yield [
            row.id,
            row.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "" if row.actor_user_id is None else row.actor_user_id,
            actor_label(row),
            row.action,
            row.record_table or "",
            row.record_id or "",
            "" if row.person_id is None else row.person_id,
            as_text(row.before),
            as_text(row.after),
            as_text(row.detail),
            row.request_id or "",
            row.client_address or "",
            "yes" if row.redacted_at else "",
        ]


# --- one event as the page shows it -------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str
    after: str


@dataclass(frozen=True)
class EventLine:
    id: int
    when: str
    actor: str
    action: str
    record: str
    changes: list[FieldChange]
    detail: str
    request: str
    redacted: bool


def _short(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:200] + "…"


def _detail(detail: Any) -> str:
    if not isinstance(detail, dict):
        return ""
    parts = []
    for key, value in detail.items():
        if key == "rows" and isinstance(value, dict):
            for table_name, actions in value.items():
                counts = ", ".join(f"{n} {a}" for a, n in actions.items())
                parts.append(f"{table_name}: {counts}")
        else:
            parts.append(f"{key}: {_short(value)}")
    return "; ".join(parts)


def event_line(row: Any) -> EventLine:
    before, after = row.before or {}, row.after or {}
    names = list(dict.fromkeys([*before, *after]))
    return EventLine(
        id=row.id,
        when=when(row),
        actor=actor_label(row),
        action=row.action,
        record=f"{row.record_table} #{row.record_id}" if row.record_table else "",
        changes=[
            FieldChange(n, _short(before.get(n)) if n in before else "", _short(after.get(n)))
            for n in names
        ],
        detail=_detail(row.detail),
        request=" · ".join(x for x in (row.request_id, row.client_address) if x),
        redacted=row.redacted_at is not None,
    )
