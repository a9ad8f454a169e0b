"""Erasing a person's personal data from the trail, without breaking the chain.

The chain covers each event's payload through its payload digest, so blanking a payload
leaves every digest standing: ``flask audit verify`` then finds the payload no longer
matching its digest and reports the event as redacted rather than tampered with, provided
that a later redaction event names it. The redaction is such an event.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from app import clock
from app.audit import registry
from app.audit.capture import record, write_pending
from app.audit.models import AuditEvent

ERASED = "(erased)"
events = cast(Table, AuditEvent.__table__)


def _blank(values: dict[str, Any] | None, personal: frozenset[str]) -> dict[str, Any] | None:
    if not values:
        return values
    return {k: (ERASED if k in personal and v is not None else v) for k, v in values.items()}


def redact_person(session: Session, person_id: int) -> list[int]:
    """Blank the personal fields (registry ``personal``) in the before and after of every
    event about ``person_id``, including those this transaction has noted but not yet
    written (an erasure's own changes); record the redaction as an event naming the events
    it blanked. Returns their ids. Flushes; the caller commits with the erasure."""
    write_pending(session)
    connection = session.connection()
    found = connection.execute(
        select(events.c.id, events.c.record_table, events.c.before, events.c.after)
        .where(events.c.person_id == person_id)
        .order_by(events.c.id)  # the events it blanks, in the order they were written
    ).all()
    changes = []
    for row in found:
        spec = registry.audited(row.record_table or "")
        personal = spec.personal if spec else frozenset()
        before, after = _blank(row.before, personal), _blank(row.after, personal)
        if before != row.before or after != row.after:
            changes.append({"b_id": row.id, "b_before": before, "b_after": after})
    if changes:
        now = clock.now()
        blank = (
            update(events)
            .where(events.c.id == bindparam("b_id"))
            .values(
                before=bindparam("b_before", type_=JSON()),
                after=bindparam("b_after", type_=JSON()),
                redacted_at=now,
            )
        )
        postgres = connection.dialect.name == "postgresql"
        if postgres:  # the trigger lets this one kind of UPDATE through (migration 0012)
            connection.execute(text("SELECT set_config('pmo.audit_redaction', 'on', true)"))
        connection.execute(blank, changes)
        if postgres:
            connection.execute(text("SELECT set_config('pmo.audit_redaction', '', true)"))
    ids = [c["b_id"] for c in changes]
    record(
        session,
        "redact",
        table="people",
        record_id=person_id,
        person_id=person_id,
        detail={"events": ids},
    )
    return ids
