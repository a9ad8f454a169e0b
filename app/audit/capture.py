"""Recording changes as they are made, and writing them to the trail at commit.

**Who.** A request hook (app/__init__.py) calls ``begin_request`` with the signed-in
user, the request id and the client address; a command run from the CLI is named by its
click context (``import people``). Outside both (a test's own set-up, a script), nothing
is recorded unless ``record`` is called.

**What.** Mapper events note every insert, update and delete of a row of an audited table
(registry.py) that goes through the session, with the recorded columns that changed, before
and after; a bulk statement through the session (``session.execute(update(Person), rows)``,
an INSERT of many rows) is noted with the number of rows it wrote. ``record`` adds an event
that is not a row's change (an export, say).

**When.** Just before the transaction commits, in the same transaction: nothing is recorded
for work that is rolled back, and the chain's lock is the last lock a transaction takes.

**How much.** A transaction that writes up to ``BUDGET`` rows to audited tables records one
event per record (a record created and then changed in it is one event) or bulk statement;
one that writes more (a demo build, a large import), or that applies an import batch
(registry ``summarises``), records one ``bulk`` event with the number of rows written to
each table: its cost does not grow with its size.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import click
from flask import g, has_app_context
from sqlalchemy import BindParameter, ColumnElement, event, select
from sqlalchemy.orm import (
    InstanceState,
    Mapper,
    ORMExecuteState,
    Session,
    SessionTransaction,
    attributes,
    object_session,
)
from sqlalchemy.orm.base import NO_VALUE, instance_state
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList
from sqlalchemy.sql.operators import and_ as and_op
from sqlalchemy.sql.operators import eq

from app.audit import chain, registry
from app.audit.registry import SECRET_VALUE, Audited
from app.audit.security import security_event

#: Rows one transaction may write and still be recorded row by row; beyond, one bulk event.
BUDGET = 100
#: Accounts whose permissions one transaction may change and still log a line each.
MAX_PERMISSION_LINES = 20
#: Longest text kept in a before or after value.
MAX_TEXT = 1000

CREATE, UPDATE, DELETE = "create", "update", "delete"
_KEY = "audit_pending"  # session.info: the transaction's Pending, or None (not audited)
_SAVED = "audit_saved"  # session.info: {savepoint: Pending as it was when it began}


@dataclass(frozen=True)
class Context:
    """Who is acting: a signed-in user (or an anonymous visitor) in a request, or a command."""

    actor_user_id: int | None = None
    command: str | None = None
    request_id: str | None = None
    client_address: str | None = None
    #: The page the request was for (named in a bulk event).
    endpoint: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "actor_user_id": self.actor_user_id,
            "command": self.command,
            "request_id": self.request_id,
            "client_address": self.client_address,
        }


def begin_request(
    *,
    actor_user_id: int | None,
    request_id: str | None,
    client_address: str | None,
    endpoint: str | None = None,
) -> None:
    """Called by the request hook: changes made in this request are this actor's."""
    g.audit_context = Context(
        actor_user_id, None, request_id, (client_address or "")[:64] or None, endpoint
    )


def current_context() -> Context | None:
    if has_app_context():
        found = g.get("audit_context")
        if found is not None:
            return found
    command = click.get_current_context(silent=True)
    if command is not None:
        return Context(command=command_name(command))
    return None


def command_name(ctx: click.Context) -> str:
    """``import people`` for ``flask import people FILE`` (the program name dropped)."""
    names = []
    while ctx is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent  # type: ignore[assignment]
    return " ".join(reversed(names[:-1]))[:80] or "command"


# --- what a transaction changed --------------------------------------------------------


@dataclass
class Change:
    table: str
    action: str
    record_id: str | None
    person_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any] | None = None


@dataclass
class Pending:
    context: Context
    changes: list[Change] = field(default_factory=list)
    #: {table: {action: rows}}: every row written, recorded one by one or not.
    counts: dict[str, Counter] = field(default_factory=dict)
    anchor: Change | None = None
    explicit: list[dict[str, Any]] = field(default_factory=list)
    #: (user id, permission, "granted" | "revoked"), logged as security events at commit.
    permissions: list[tuple[Any, Any, str]] = field(default_factory=list)
    #: Rows written so far (every table): past BUDGET, one bulk event.
    rows: int = 0
    overflow: bool = False
    committing: bool = False
    #: Old values read just before a flush, for columns set while not loaded (expired).
    unloaded: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def count(self, table: str, action: str, rows: int) -> None:
        self.counts.setdefault(table, Counter())[action] += rows
        self.rows += rows
        if not self.overflow and self.rows > BUDGET:
            self.overflow = True
            anchor = self.anchor
            self.changes = [c for c in self.changes if anchor and c.table == anchor.table]

    def add(self, change: Change, summarises: bool = False) -> None:
        if summarises:
            # the anchor: a change to the first summarising table in the registry's order
            # (the import batch rather than its saved mapping)
            if self.anchor is None or _rank(change.table) < _rank(self.anchor.table):
                self.anchor = change
            self.changes.append(change)
        elif not self.overflow:
            self.changes.append(change)

    def snapshot(self) -> Pending:
        """A copy to go back to if a savepoint is rolled back."""
        return replace(
            self,
            changes=list(self.changes),
            counts={t: Counter(c) for t, c in self.counts.items()},
            explicit=list(self.explicit),
            permissions=list(self.permissions),
            unloaded={},
        )

    @property
    def empty(self) -> bool:
        return not (self.changes or self.explicit or self.counts)

    def events(self) -> list[dict[str, Any]]:
        """The events to write for what was noted since the last write; forgets it."""
        rows = [self._event(c) for c in self._row_events()] + self.explicit
        self.changes, self.explicit, self.counts, self.anchor = [], [], {}, None
        self.overflow, self.rows = False, 0
        return rows

    def _row_events(self) -> list[Change]:
        """One event per change; or, past BUDGET rows or when an anchor (an import batch)
        came with changes to other kinds of record (the people it imported), one event."""
        anchored = self.anchor is not None and any(
            not _summarises(table)
            for table, actions in self.counts.items()
            if any(actions.values())
        )
        if not (self.overflow or anchored):
            return _merged(self.changes)
        return [self._summary()]

    def _summary(self) -> Change:
        """One event for the whole transaction: the anchor's own change (all of its changes
        in this transaction merged), with the number of rows written to each table."""
        written = {
            table: dict(sorted(actions.items()))
            for table, actions in sorted(self.counts.items())
            if any(actions.values())
        }
        detail: dict[str, Any] = {"rows": written}
        if self.context.endpoint:
            detail["endpoint"] = self.context.endpoint
        summary = Change("", "bulk", None, None, None, None, detail)
        if self.anchor is not None:
            mine = [
                c
                for c in self.changes
                if c.table == self.anchor.table and c.record_id == self.anchor.record_id
            ]
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            for c in mine:
                for k, v in (c.before or {}).items():
                    before.setdefault(k, v)
                after.update(c.after or {})
            summary.table, summary.record_id = self.anchor.table, self.anchor.record_id
            summary.person_id = self.anchor.person_id
            summary.before, summary.after = before or None, after or None
        return summary

    def _event(self, c: Change) -> dict[str, Any]:
        return {
            **self.context.fields(),
            "action": c.action,
            "record_table": c.table or None,
            "record_id": c.record_id,
            "person_id": c.person_id,
            "before": c.before,
            "after": c.after,
            "detail": c.detail,
        }


def _merged(changes: list[Change]) -> list[Change]:
    """One event per record and transaction: a record created and then changed (or changed
    twice) in one transaction is one event, before as it was first and after as it was
    last. Deletions and bulk statements stay as they are."""
    out: list[Change] = []
    seen: dict[tuple[str, str], Change] = {}
    for change in changes:
        key = (change.table, change.record_id or "")
        earlier = seen.get(key) if change.record_id is not None else None
        if earlier is None or change.action != UPDATE or change.detail is not None:
            out.append(change)
            if change.record_id is not None and change.action != DELETE:
                seen[key] = change
            continue
        before = dict(earlier.before or {})
        for k, v in (change.before or {}).items():
            before.setdefault(k, v)
        after = {**(earlier.after or {}), **(change.after or {})}
        if earlier.action == UPDATE:  # keep only what differs in the end
            same = [k for k in after if k in before and before[k] == after[k]]
            for k in same:
                before.pop(k)
                after.pop(k)
        earlier.before = before or None if earlier.action == UPDATE else None
        earlier.after = after or None
    return [c for c in out if c.action != UPDATE or c.after or c.detail is not None]


_ORDER = {table: i for i, table in enumerate(registry.TABLES)}


def _rank(table: str) -> int:
    return _ORDER.get(table, len(_ORDER))


def _summarises(table: str) -> bool:
    spec = registry.audited(table)
    return spec is not None and spec.summarises


def _pending(session: Session | None, create: bool = False) -> Pending | None:
    if session is None:
        return None
    info = session.info
    if _KEY in info and (info[_KEY] is not None or not create):
        return info[_KEY]
    context = current_context()
    if context is None and create:
        context = Context()
    info[_KEY] = Pending(context) if context is not None else None
    return info[_KEY]


# --- values ----------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON holds it, the same when read back: dates as ISO text, enums by value,
    long text cut short."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"({len(value)} bytes)"
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    text = str(value)
    return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}… ({len(text)} characters)"


def _value(column: str, value: Any) -> Any:
    if registry.is_secret(column):
        return None if value is None else SECRET_VALUE
    return plain(value)


@dataclass(frozen=True)
class _Shape:
    """What the trail needs of a mapper: its primary-key attributes and recorded columns."""

    keys: tuple[str, ...]
    recorded: tuple[str, ...]


_SHAPES: dict[Mapper, _Shape] = {}


def _shape(mapper: Mapper, spec: Audited) -> _Shape:
    found = _SHAPES.get(mapper)
    if found is None:
        keys = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
        recorded = tuple(p.key for p in mapper.column_attrs if spec.records(p.key))
        found = _SHAPES[mapper] = _Shape(keys, recorded)
    return found


def _loaded(mapper: Mapper, state: InstanceState, path: str | None) -> Any:
    """A column's value, or ``relationship.column`` through the related row when the
    session holds it: never loads anything (this runs inside a flush)."""
    if path is None:
        return None
    head, _, rest = path.partition(".")
    if not rest:
        return state.dict.get(head)
    related = state.dict.get(head)
    if related is None:
        relationship = mapper.relationships[head]
        key = tuple(
            state.dict.get(mapper.get_property_by_column(c).key) for c in relationship.local_columns
        )
        session = state.session
        if session is None or None in key:
            return None
        related = session.identity_map.get(relationship.mapper.identity_key_from_primary_key(key))
        if related is None:
            return None
    return instance_state(related).dict.get(rest)


def _snapshot(state: InstanceState, shape: _Shape) -> dict[str, Any]:
    return {
        k: _value(k, state.dict[k])
        for k in shape.recorded
        if k in state.dict and state.dict[k] is not None
    }


def _changed(
    state: InstanceState, shape: _Shape, unloaded: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in shape.recorded:
        history = state.get_history(key, attributes.PASSIVE_NO_INITIALIZE)
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else unloaded.get(key)
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[key], after[key] = _value(key, old), _value(key, new)
    return before, after


def _row(mapper: Mapper, target: Any, action: str) -> None:
    table = mapper.local_table.name  # type: ignore[attr-defined]
    spec = registry.audited(table)
    if spec is None:
        return
    pending = _pending(object_session(target))
    if pending is None:
        return
    state = instance_state(target)
    shape = _shape(mapper, spec)
    if action == UPDATE:
        before, after = _changed(state, shape, pending.unloaded.pop(state, {}))
        if not after:
            return
        change = Change(table, action, None, None, before, after)
    else:
        pending.count(table, action, 1)
        if table == "user_permissions":
            pending.permissions.append(
                (state.dict.get("user_id"), plain(state.dict.get("permission")), action)
            )
        if pending.overflow and not spec.summarises:
            return
        values = _snapshot(state, shape)
        change = Change(
            table,
            action,
            None,
            None,
            values if action == DELETE else None,
            values if action == CREATE else None,
        )
    if action == UPDATE:
        pending.count(table, action, 1)
    change.record_id = "/".join(str(plain(state.dict.get(k))) for k in shape.keys)[:64]
    person = _loaded(mapper, state, spec.person)
    change.person_id = person if isinstance(person, int) else None
    pending.add(change, spec.summarises)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Read the old values of audited columns that were set while not loaded (an object
    changed after a commit expired it): the flush would otherwise write them unseen. One
    SELECT per such row, only then."""
    for target in session.dirty:
        state = instance_state(target)
        mapper = state.mapper
        spec = registry.audited(mapper.local_table.name)  # type: ignore[attr-defined]
        if spec is None or state.key is None:
            continue
        shape = _shape(mapper, spec)
        unknown = [k for k in shape.recorded if state.committed_state.get(k, 0) is NO_VALUE]
        if not unknown:
            continue
        pending = _pending(session)
        if pending is None:
            return
        columns = [mapper.get_property(k).columns[0] for k in unknown]
        where = [c == v for c, v in zip(mapper.primary_key, state.key[1], strict=True)]
        row = session.connection().execute(select(*columns).where(*where)).first()
        if row is not None:
            pending.unloaded[state] = dict(zip(unknown, row, strict=True))


def _after_insert(mapper: Mapper, _connection: Any, target: Any) -> None:
    _row(mapper, target, CREATE)


def _after_update(mapper: Mapper, _connection: Any, target: Any) -> None:
    _row(mapper, target, UPDATE)


def _after_delete(mapper: Mapper, _connection: Any, target: Any) -> None:
    _row(mapper, target, DELETE)


def _statement_rows(parameters: Any) -> list[dict]:
    if isinstance(parameters, dict):
        return [parameters] if parameters else []
    return list(parameters or [])


def _literal(value: Any) -> Any:
    """A statement's value if it is a plain bound value, else a marker (an SQL expression)."""
    if isinstance(value, BindParameter):
        found = value.effective_value
        return found if not callable(found) else "(computed)"
    return "(expression)"


def _equalities(where: Any) -> dict[str, Any]:
    """``column = value`` conditions joined by AND in a WHERE clause, as {column: value}."""
    if where is None:
        return {}
    terms = (
        where.clauses
        if isinstance(where, BooleanClauseList) and where.operator is and_op
        else [where]
    )
    found = {}
    for term in terms:
        if (
            isinstance(term, BinaryExpression)
            and term.operator is eq
            and isinstance(term.left, ColumnElement)
            and isinstance(term.right, BindParameter)
        ):
            found[str(getattr(term.left, "key", term.left))] = _literal(term.right)
    return found


def _statement(state: ORMExecuteState) -> Any:
    """A bulk INSERT, UPDATE or DELETE through the session on an audited table (a batch of
    rows, or a conditional UPDATE ``… WHERE id = 7 AND status = 'pending'``): one event with
    the number of rows it wrote, the values it set and the conditions it matched on."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    table: str | None = getattr(getattr(state.statement, "table", None), "name", None)
    spec = registry.audited(table) if table is not None else None
    if table is None or spec is None:
        return None
    pending = _pending(state.session)
    if pending is None:
        return None
    rows = _statement_rows(state.parameters)
    result = state.invoke_statement()
    counted = getattr(result, "rowcount", -1)
    written = len(rows) if len(rows) > 1 or counted is None or counted < 0 else counted
    action = CREATE if state.is_insert else UPDATE if state.is_update else DELETE
    pending.count(table, action, written)
    if pending.overflow:
        return result
    values = {
        str(getattr(k, "key", k)): _literal(v)
        for k, v in (getattr(state.statement, "_values", None) or {}).items()
    }
    columns = set(values)
    for row in rows:
        columns |= set(row)
    where = _equalities(getattr(state.statement, "whereclause", None))
    record_id = where.pop("id", None)
    if len(rows) == 1 and "id" in rows[0]:
        record_id = rows[0]["id"]
    after = {k: _value(k, v) for k, v in values.items() if spec.records(k)}
    if len(rows) == 1:
        after.update({k: _value(k, v) for k, v in rows[0].items() if spec.records(k)})
    before = {k: _value(k, where.pop(k)) for k in list(where) if k in after}
    detail: dict[str, Any] = {"rows": written, "statement": True}
    if where:
        detail["where"] = plain(where)
    if not after:
        detail["columns"] = sorted(c for c in columns if spec.records(c))
    change = Change(
        table,
        action,
        None if record_id is None else str(plain(record_id))[:64],
        _statement_person(state, spec, record_id, after),
        before or None,
        after or None,
        detail,
    )
    pending.add(change)
    return result


def _statement_person(
    state: ORMExecuteState, spec: Audited, record_id: Any, values: dict[str, Any]
) -> int | None:
    """Whose record a statement changed: from its values, or from the row the session
    holds for its record id (never loaded for this)."""
    if spec.person is None:
        return None
    if spec.person in values and isinstance(values[spec.person], int):
        return values[spec.person]
    mapper = state.bind_mapper
    if record_id is None or mapper is None or isinstance(record_id, str):
        return None
    held = state.session.identity_map.get(mapper.identity_key_from_primary_key((record_id,)))
    if held is None:
        return None
    person = _loaded(mapper, instance_state(held), spec.person)
    return person if isinstance(person, int) else None


# --- writing ---------------------------------------------------------------------------


def write_pending(session: Session) -> None:
    """Flush, then write what this transaction noted so far to the trail (the commit does
    this by itself; redaction calls it to erase what was just noted as well)."""
    session.flush()
    pending = session.info.get(_KEY)
    if pending is None or pending.empty:
        return
    chain.append(session.connection(), pending.events())


def _before_commit(session: Session) -> None:
    write_pending(session)
    pending = session.info.get(_KEY)
    if pending is not None:
        pending.committing = True


def _after_flush_postexec(session: Session, _context: Any) -> None:
    """A flush after the commit wrote the trail (another before_commit listener's): its
    changes are written too, still inside the transaction."""
    pending = session.info.get(_KEY)
    if pending is not None and pending.committing and not pending.empty:
        chain.append(session.connection(), pending.events())


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_KEY, None)
    session.info.pop(_SAVED, None)
    if pending is None or not pending.permissions:
        return
    by_user: dict[Any, dict[str, list]] = {}
    for user_id, permission, action in pending.permissions:
        entry = by_user.setdefault(user_id, {"granted": [], "revoked": []})
        entry["granted" if action == CREATE else "revoked"].append(permission)
    if len(by_user) > MAX_PERMISSION_LINES:  # a bulk change (the demo build): one line
        security_event(
            "permission_change",
            outcome="success",
            users=len(by_user),
            granted=sum(len(e["granted"]) for e in by_user.values()),
            revoked=sum(len(e["revoked"]) for e in by_user.values()),
        )
        return
    for user_id, entry in by_user.items():
        security_event(
            "permission_change",
            outcome="success",
            user_id=user_id,
            granted=sorted(entry["granted"]),
            revoked=sorted(entry["revoked"]),
        )


def _boundary(transaction: SessionTransaction) -> SessionTransaction:
    while transaction.parent is not None and not transaction.nested:
        transaction = transaction.parent
    return transaction


def _remember(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested and session.info.get(_KEY) is not None:
        session.info.setdefault(_SAVED, {})[transaction] = session.info[_KEY].snapshot()


def _forget(session: Session, previous: SessionTransaction) -> None:
    undone = _boundary(previous)
    if not undone.nested:
        session.info.pop(_KEY, None)
        session.info.pop(_SAVED, None)
        return
    saved = session.info.get(_SAVED, {}).get(undone)
    if saved is not None:
        session.info[_KEY] = saved.snapshot()
    elif _KEY in session.info:
        session.info.pop(_KEY)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)
        session.info.pop(_SAVED, None)


_LISTENERS = (
    (Mapper, "after_insert", _after_insert),
    (Mapper, "after_update", _after_update),
    (Mapper, "after_delete", _after_delete),
    (Session, "do_orm_execute", _statement),
    (Session, "before_flush", _before_flush),
    (Session, "before_commit", _before_commit),
    (Session, "after_flush_postexec", _after_flush_postexec),
    (Session, "after_commit", _after_commit),
    (Session, "after_transaction_create", _remember),
    (Session, "after_soft_rollback", _forget),
    (Session, "after_transaction_end", _ended),
)


def install() -> None:
    """Listen to every mapper and session (once, however many apps are made). Called by
    create_app after the models are imported, so that the commit writes the trail after
    the other before-commit work (the reports' spans) has flushed."""
    for target, name, fn in _LISTENERS:
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)


def uninstall() -> None:
    """Stop listening (bench/audit_bench.py measures the product without the trail)."""
    for target, name, fn in _LISTENERS:
        if event.contains(target, name, fn):
            event.remove(target, name, fn)


# --- explicit events -------------------------------------------------------------------


def record(
    session: Session,
    action: str,
    *,
    table: str | None = None,
    record_id: Any = None,
    person_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Note an event that is not a row's change (an export, an erasure): written to the
    trail when the transaction commits, with the request's or command's actor."""
    pending = _pending(session, create=True)
    assert pending is not None
    pending.explicit.append(
        {
            **pending.context.fields(),
            "action": action[:32],
            "record_table": table,
            "record_id": None if record_id is None else str(record_id)[:64],
            "person_id": person_id,
            "before": plain(before) if before is not None else None,
            "after": plain(after) if after is not None else None,
            "detail": plain(detail) if detail is not None else None,
        }
    )
