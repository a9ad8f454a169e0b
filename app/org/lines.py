"""Keeps the reporting-line closure table (``ReportingLine``) in step with the people's line
managers.

A person's rows are their walk up the line: themself at depth 0, their line manager at 1,
that manager's at 2, and so on. When a person is added, changes line manager or leaves the
table, the walks that change are exactly those of the person and of everyone below them in
the line as it stood (a person whose chain, old or new, passes none of the changed people
keeps the same chain), so those are deleted and walked again from ``line_manager_id``: the
cost follows the people moved and their reports, not the size of the organisation. A change
of more than ``WHOLE_ABOVE`` people rebuilds the whole table in one statement.

The ORM's flushes are followed here (forms, services, the tests' factories); writers that
bypass the ORM's unit of work (the staff import's bulk updates, the demo builder's bulk
inserts) call ``refresh_lines`` themselves once they are done.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy.orm import Session, aliased

from app.org.models import Person, ReportingLine

#: Above this many people changed, the whole table is rebuilt rather than their walks.
WHOLE_ABOVE = 2_000
#: A walk longer than this is a loop in the line (bad data from outside: the forms and the
#: import refuse one): it stops there, and each (manager, person) pair is kept once, at
#: its shortest depth, so everyone in the loop reaches the others and no one else.
LONGEST_LINE = 64
_CHUNK = 500
_PENDING = "reporting_lines_pending"
#: The PostgreSQL advisory lock that makes the table's upkeep run one transaction at a time.
LINES_LOCK = 0x504D4F_4C


def _one_at_a_time(connection: Connection) -> None:
    """Wait until no other transaction is bringing the table in step, and hold that until
    commit. Two moves at once (Ann put under Bo, Bo put under Cy) would each walk the line
    as their own snapshot shows it, and the second to commit would keep the first's old
    chain; waiting here, the second's statements see the first's committed moves (READ
    COMMITTED). On SQLite the write transaction already holds the database's one write lock
    (BEGIN IMMEDIATE, app.db)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(LINES_LOCK)))


def refresh_lines(connection: Connection, people: Collection[int] | None = None) -> None:
    """Bring the closure table in step after ``people`` (ids) were added or given another
    line manager (None: rebuild it for everyone). Call it after the writes, in their
    transaction."""
    _one_at_a_time(connection)
    if people is None or len(people) > WHOLE_ABOVE:
        connection.execute(delete(ReportingLine))
        connection.execute(_insert_walks(None))
        return
    changed = sorted(set(people))
    affected = set(changed)
    for chunk in _chunks(changed):
        affected.update(
            connection.scalars(
                select(ReportingLine.person_id).where(ReportingLine.manager_id.in_(chunk))
            )
        )
    if len(affected) > WHOLE_ABOVE:
        refresh_lines(connection, None)
        return
    for chunk in _chunks(sorted(affected)):
        connection.execute(delete(ReportingLine).where(ReportingLine.person_id.in_(chunk)))
        connection.execute(_insert_walks(Person.id.in_(chunk)))


def _insert_walks(start: ColumnElement[bool] | None):
    """INSERT of the walks up the line of the people matching ``start`` (None: everyone)."""
    first: Select = select(
        Person.id.label("person_id"), Person.id.label("manager_id"), literal(0).label("depth")
    )
    if start is not None:
        first = first.where(start)
    walk = first.cte("walk", recursive=True)
    up = aliased(Person)
    walk = walk.union_all(
        select(walk.c.person_id, up.line_manager_id, walk.c.depth + 1)
        .join(up, up.id == walk.c.manager_id)
        .where(up.line_manager_id.is_not(None), walk.c.depth < LONGEST_LINE)
    )
    return insert(ReportingLine).from_select(
        ["manager_id", "person_id", "depth"],
        select(walk.c.manager_id, walk.c.person_id, func.min(walk.c.depth)).group_by(
            walk.c.manager_id, walk.c.person_id
        ),
    )


def expected_lines(connection: Connection) -> set[tuple[int, int, int]]:
    """Every (manager, person, depth) row the table should hold, worked out in Python from
    ``line_manager_id`` alone, independently of the SQL that writes it (for checks)."""
    managers = dict(connection.execute(select(Person.id, Person.line_manager_id)).all())
    out = set()
    for person in managers:
        at: int | None = person
        depth, seen = 0, set()
        while at is not None and at not in seen and depth <= LONGEST_LINE:
            out.add((at, person, depth))
            seen.add(at)
            at, depth = managers.get(at), depth + 1
    return out


def line_differences(connection: Connection) -> tuple[int, int]:
    """How many rows the table lacks and how many it holds that it should not."""
    stored = {
        (m, p, d)
        for m, p, d in connection.execute(
            select(ReportingLine.manager_id, ReportingLine.person_id, ReportingLine.depth)
        )
    }
    expected = expected_lines(connection)
    return len(expected - stored), len(stored - expected)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


# --- the ORM's flushes --------------------------------------------------------------------------


def _pending(session: Session) -> set[int]:
    return session.info.setdefault(_PENDING, set())


@event.listens_for(Session, "before_flush")
def _note_leaving_people(session: Session, _context: Any, _instances: Any) -> None:
    """A person deleted takes their rows with them (ON DELETE CASCADE) and the database lets
    go of their reports' line manager (ON DELETE SET NULL): the people below them are walked
    again after the flush. Read before the delete, while the rows still say who they are."""
    leaving = [o.id for o in session.deleted if isinstance(o, Person) and o.id is not None]
    if not leaving:
        return
    below = session.connection().scalars(
        select(ReportingLine.person_id).where(
            ReportingLine.manager_id.in_(leaving), ReportingLine.person_id.not_in(leaving)
        )
    )
    _pending(session).update(below)


def _line_changed(person: Person) -> bool:
    state = inspect(person)
    return (
        state.attrs.line_manager_id.history.has_changes()
        or state.attrs.line_manager.history.has_changes()
    )


@event.listens_for(Session, "after_flush")
def _note_line_changes(session: Session, _context: Any) -> None:
    changed = [o.id for o in session.new if isinstance(o, Person)]
    changed += [o.id for o in session.dirty if isinstance(o, Person) and _line_changed(o)]
    if changed:
        _pending(session).update(changed)


@event.listens_for(Session, "after_flush_postexec")
def _refresh_after_line_changes(session: Session, _context: Any) -> None:
    people = session.info.pop(_PENDING, None)
    if people:
        refresh_lines(session.connection(), people)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)
