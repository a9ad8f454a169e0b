"""The hash chain: writing events under a lock, and checking the trail.

``digest`` = sha256(previous digest + canonical header + payload digest), where the header
is the event's own fields (id, when, who, what, which record, which request) and the payload
digest covers its before, after and detail. The first event chains onto ``GENESIS``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from app import clock
from app.audit.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
#: The header fields, in the order they are chained.
HEADER = (
    "id",
    "at",
    "actor_user_id",
    "command",
    "action",
    "record_table",
    "record_id",
    "person_id",
    "request_id",
    "client_address",
)
#: Key of the PostgreSQL advisory lock taken when the chain has no head row yet.
_LOCK_KEY = 7_140_512

events = cast(Table, AuditEvent.__table__)
head = cast(Table, AuditChainHead.__table__)


def canonical(value: Any) -> str:
    """One serialisation for a value, whoever computes it: sorted keys, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_digest(before: Any, after: Any, detail: Any) -> str:
    text = canonical({"after": after, "before": before, "detail": detail})
    return hashlib.sha256(text.encode()).hexdigest()


def chain_digest(previous: str, row: Mapping[str, Any]) -> str:
    header = [_when(v) if k == "at" else v for k, v in ((k, row[k]) for k in HEADER)]
    text = previous + canonical([*header, row["payload_digest"]])
    return hashlib.sha256(text.encode()).hexdigest()


#: The statements appending runs, built once (building one costs more than running it).
_TOUCH_HEAD = (
    update(head)
    .where(head.c.id == 1)
    .values(last_event_id=head.c.last_event_id)
    .returning(head.c.last_event_id, head.c.digest)
)
_LAST_EVENT = select(events.c.id, events.c.digest).order_by(events.c.id.desc()).limit(1)
_NEW_HEAD = insert(head).values(
    id=1, last_event_id=bindparam("head_last"), digest=bindparam("head_digest")
)
_INSERT_EVENTS = insert(events)
_MOVE_HEAD = (
    update(head)
    .where(head.c.id == 1)
    .values(last_event_id=bindparam("head_last"), digest=bindparam("head_digest"))
)


def _lock_head(connection: Connection) -> tuple[int, str]:
    """Lock the chain's head and return (last event id, its digest).

    The UPDATE takes the head row's lock (PostgreSQL: another writer waits until this
    transaction ends, then reads the head this one left; SQLite: the database's write lock,
    held already by any transaction that wrote before)."""
    row = connection.execute(_TOUCH_HEAD).first()
    if row is not None:
        return int(row[0]), str(row[1])
    # No head yet (a new or emptied database): one writer creates it.
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
        row = connection.execute(_TOUCH_HEAD).first()
        if row is not None:
            return int(row[0]), str(row[1])
    last = connection.execute(_LAST_EVENT).first()
    last_id, digest = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    connection.execute(_NEW_HEAD, {"head_last": last_id, "head_digest": digest})
    return last_id, digest


def append(connection: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Write ``rows`` (dicts of the event's fields, without id, at and digests) at the end
    of the chain, in order, and return their ids. Runs in the caller's transaction."""
    if not rows:
        return []
    last_id, previous = _lock_head(connection)
    now = clock.now()
    out = []
    first = last_id + 1
    for row in rows:
        last_id += 1
        full = {k: row.get(k) for k in HEADER}
        full.update(
            id=last_id,
            at=now,
            before=row.get("before"),
            after=row.get("after"),
            detail=row.get("detail"),
            redacted_at=None,
        )
        full["payload_digest"] = payload_digest(full["before"], full["after"], full["detail"])
        full["digest"] = previous = chain_digest(previous, full)
        out.append(full)
    connection.execute(_INSERT_EVENTS, out)
    connection.execute(_MOVE_HEAD, {"head_last": last_id, "head_digest": previous})
    return list(range(first, last_id + 1))


# --- checking ---------------------------------------------------------------------------


@dataclass
class Verdict:
    """What ``verify`` found: ``problem`` names the first broken event, else None."""

    checked: int = 0
    redacted: list[int] = field(default_factory=list)
    problem: str | None = None
    broken_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _rows(connection: Connection, chunk: int = 2000) -> Iterator[Any]:
    after = 0
    while True:
        batch = connection.execute(
            select(events).where(events.c.id > after).order_by(events.c.id).limit(chunk)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].id


def verify(connection: Connection) -> Verdict:
    """Walk the trail from the first event and stop at the first one that does not chain:
    changed (its fields or its payload), missing (deleted), or marked redacted without a
    redaction event that says so. Redacted events whose payload was blanked by a recorded
    erasure still chain (through their payload digest): they are listed, not broken."""
    verdict = Verdict()
    previous, expected_id = GENESIS, 1
    redacted_by: set[int] = set()
    for row in _rows(connection):
        payload_ok = payload_digest(row.before, row.after, row.detail) == row.payload_digest
        problem = _broken(row, previous, expected_id, payload_ok)
        if problem is not None:
            verdict.broken_id, verdict.problem = problem
            return verdict
        if not payload_ok:
            verdict.redacted.append(row.id)  # _broken made sure it is marked redacted
        if row.action == "redact" and isinstance(row.detail, dict):
            redacted_by.update(int(i) for i in row.detail.get("events", []))
        previous, expected_id = row.digest, row.id + 1
        verdict.checked += 1
    problem = _unexplained(verdict.redacted, redacted_by) or _tail(
        connection, expected_id - 1, previous
    )
    if problem is not None:
        verdict.broken_id, verdict.problem = problem
    return verdict


def _broken(row: Any, previous: str, expected_id: int, payload_ok: bool) -> tuple[int, str] | None:
    if row.id != expected_id:
        missing = (
            f"event #{expected_id}"
            if row.id == expected_id + 1
            else f"events #{expected_id} to #{row.id - 1}"
        )
        return expected_id, f"{missing} missing: deleted from the trail"
    if chain_digest(previous, row._mapping) != row.digest:
        return row.id, f"event #{row.id} was changed: its fields do not match its digest"
    if not payload_ok and row.redacted_at is None:
        return row.id, f"event #{row.id} was changed: its before/after/detail do not match"
    return None


def _unexplained(redacted: list[int], redacted_by: set[int]) -> tuple[int, str] | None:
    for event_id in redacted:
        if event_id not in redacted_by:
            return event_id, f"event #{event_id} is marked redacted but no erasure event records it"
    return None


def _tail(connection: Connection, last_id: int, digest: str) -> tuple[int, str] | None:
    """The head names the last event written: a trail that ends before it lost its end."""
    top = connection.execute(select(head.c.last_event_id, head.c.digest)).first()
    if top is None or (top.last_event_id == last_id and top.digest == digest):
        return None
    if top.last_event_id > last_id:
        return last_id + 1, (
            f"the trail ends at event #{last_id} but #{top.last_event_id} was written: "
            "the last events were deleted"
        )
    return last_id, "the chain's head does not match its last event"
