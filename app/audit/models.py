"""The audit trail: one row per event, chained by digests, and the head of the chain.

Each event stores ``payload_digest`` = sha256 of its before, after and detail, and
``digest`` = sha256(previous event's digest + its header fields + payload_digest), so that
changing or deleting a row breaks the chain from there on (``flask audit verify``). The
payload is chained through its digest only: erasing a person's personal data blanks the
payload of the events about them (``redacted_at`` set, and the erasure recorded as an event
of its own) while the chain still verifies.

Rows are only ever inserted, by app.audit.chain under a lock, with consecutive ids; no page
edits them, and on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0012) except
the redaction's blanking of a payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class AuditEvent(Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_record", "record_table", "record_id"),
        Index("ix_audit_events_actor", "actor_user_id", "id"),
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_person", "person_id"),
    )

    #: Consecutive from 1: a gap is a deleted event.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    #: The signed-in user who made the change; None for a command or an anonymous visitor.
    actor_user_id: Mapped[int | None]
    #: The command that made the change (``import people``), for changes made from the CLI.
    command: Mapped[str | None] = mapped_column(String(80))
    #: create, update, delete (a row); export, bulk, redact (the others).
    action: Mapped[str] = mapped_column(String(32))
    record_table: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    #: The person the record is about, if any (for erasure and for "about this person").
    person_id: Mapped[int | None]
    #: The changed columns, before and after (only those that changed).
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: What a non-row event says: the export, the counts of a bulk change.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))
    payload_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    #: Set when the payload's personal data was erased (see redaction.py).
    redacted_at: Mapped[datetime | None]


class AuditChainHead(Model):
    """One row (id 1): the last event written and its digest. Appending locks this row, so
    that two writers never chain onto the same event; a trail that ends before it lost its
    last events."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_event_id: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))
