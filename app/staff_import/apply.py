"""Writing a plan to the database, in the caller's one transaction.

Bulk statements keep a 50,000-row file fast; the caller commits once, or rolls back and
nothing of the file remains. Only people who change are written, so a second import of
the same file changes nothing (not even updated_at).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import LoginSession, User
from app.org.lines import refresh_lines
from app.org.models import (
    AssignmentKind,
    AssignmentSource,
    OrgUnit,
    Person,
    Role,
    RoleAssignment,
)
from app.signals import roles_assigned
from app.staff_import.plan import Plan
from app.staff_import.rows import CREATE, Candidate
from app.versioning import bulk_update_by_id

CHUNK = 2000


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _unit_code(name: str, taken: set[str]) -> str:
    base = (re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-") or "UNIT")[:24]
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base[:20]}-{n}"
    taken.add(code)
    return code


def apply_plan(session: Session, plan: Plan, today: date) -> dict[str, int]:
    """Write ``plan``: new org units, new and changed people, line managers, roles, leavers."""
    units = dict(session.execute(select(OrgUnit.code, OrgUnit.id)).all())
    created_units = _create_units(session, plan, units)
    now = clock.now()
    _insert_people(session, plan.creates, units, created_units, now)
    # Read after the inserts: new people need their ids as managers and role holders.
    ids = dict(session.execute(select(Person.employee_number, Person.id)).all())
    _update_people(session, plan.updates, units, created_units, now)
    _link_managers(session, plan, ids)
    _end_roles(session, plan.role_ends, today)
    added = _add_roles(session, plan.role_adds, ids, today)
    _remove_leavers(session, plan, ids, now)
    session.flush()
    if added:
        # One signal for the whole file: enrolment rules apply set-based (app.learning).
        roles_assigned.send(session, assignment_ids=added)
    return plan.counts()


def _create_units(session: Session, plan: Plan, units: dict[str, int]) -> dict[str, int]:
    """Create the plan's new org units, each under the unit chosen for it (or at the top)
    and with a code no unit has; {name: unit id}. The closure table follows (app.org.tree)."""
    taken = set(units)
    created_units = {}
    for name in plan.new_units:
        parent = plan.new_unit_parents.get(name)
        unit = OrgUnit(code=_unit_code(name, taken), name=name, parent_id=units.get(parent or ""))
        session.add(unit)
        session.flush()
        created_units[name] = unit.id
    return created_units


def _unit_id(c: Candidate, units: dict[str, int], created_units: dict[str, int]) -> int | None:
    """The candidate's org unit id: an existing unit by code, or one created by this plan."""
    if not c.unit:
        return None
    if c.unit.startswith(CREATE):
        return created_units[c.unit.split(":", 1)[1]]
    return units.get(c.unit)


def _insert_people(
    session: Session,
    creates: list[Candidate],
    units: dict[str, int],
    created_units: dict[str, int],
    now: datetime,
) -> None:
    new_rows = [
        {
            "employee_number": c.employee_number,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "email": c.email,
            "job_title": c.job_title,
            "org_unit_id": _unit_id(c, units, created_units),
            "active": c.active,
            "leaving_date": c.leaving_date,
            "created_at": now,
            "updated_at": now,
        }
        for c in creates
    ]
    for chunk in _chunks(new_rows):
        session.execute(insert(Person), chunk)


def _changed_values(
    c: Candidate,
    person_id: int,
    fields: list[str],
    units: dict[str, int],
    created_units: dict[str, int],
    now: datetime,
) -> dict:
    """The UPDATE parameters for one person: only the fields the plan says change."""
    values = {"id": person_id, "updated_at": now}
    if "name" in fields:
        values.update(first_name=c.first_name, last_name=c.last_name)
    if "email" in fields:
        values["email"] = c.email
    if "job title" in fields:
        values["job_title"] = c.job_title
    if "org unit" in fields:
        values["org_unit_id"] = _unit_id(c, units, created_units)
    if {"active", "leaver"} & set(fields):
        values["active"] = c.active
    if "leaving date" in fields:
        values["leaving_date"] = c.leaving_date
    return values


def _update_people(
    session: Session,
    updates: list[tuple[Candidate, int, list[str]]],
    units: dict[str, int],
    created_units: dict[str, int],
    now: datetime,
) -> None:
    rows = [
        _changed_values(c, person_id, fields, units, created_units, now)
        for c, person_id, fields in updates
    ]
    for chunk in _chunks(rows):
        bulk_update_by_id(session, Person, chunk)  # people's edit forms go stale


def _link_managers(session: Session, plan: Plan, ids: dict[str, int]) -> None:
    """Set line managers for new people and for those whose manager changes, and bring the
    reporting-line closure table in step (``app.org.lines``).

    A separate pass after the inserts, as a manager may be a new person on a later row.
    """
    new = {c.employee_number for c in plan.creates}
    moved = {c.employee_number for c, _, fields in plan.updates if "line manager" in fields}
    linked = new | moved  # once: a union per candidate made 50,000 rows take minutes
    managers = [
        {
            "id": ids[c.employee_number],
            "line_manager_id": ids[c.manager_number] if c.manager_number else None,
        }
        for c in plan.candidates
        if c.employee_number in linked and (c.manager_number or c.employee_number in moved)
    ]
    for chunk in _chunks(managers):
        bulk_update_by_id(session, Person, chunk)  # people's edit forms go stale
    # The bulk writes bypass the ORM's flush: the reporting-line closure is brought in step
    # here, for the new people (each at least with themself) and those who changed manager.
    refresh_lines(session.connection(), [ids[number] for number in linked])


def _add_roles(
    session: Session, role_adds: list[tuple[str, str]], ids: dict[str, int], today: date
) -> list[int]:
    """Give each person their new current role, starting today; the new assignments' ids."""
    roles = dict(session.execute(select(Role.code, Role.id)).all())
    assignments = [
        {
            "person_id": ids[number],
            "role_id": roles[code],
            "kind": AssignmentKind.CURRENT,
            "start_date": today,
            "end_date": None,
            "office_id": None,
            "source": AssignmentSource.IMPORT,
        }
        for number, code in role_adds
    ]
    added: list[int] = []
    for chunk in _chunks(assignments):
        added.extend(session.scalars(insert(RoleAssignment).returning(RoleAssignment.id), chunk))
    return added


def _end_roles(session: Session, assignment_ids: list[int], today: date) -> None:
    """End the import-made current roles the file's job titles replace (never hand-made)."""
    for chunk in _chunks(assignment_ids):
        session.execute(
            update(RoleAssignment)
            .where(RoleAssignment.id.in_(chunk), RoleAssignment.source == AssignmentSource.IMPORT)
            .values(end_date=today)
        )


def _remove_leavers(session: Session, plan: Plan, ids: dict[str, int], now: datetime) -> None:
    """Leavers in the file (already made inactive by their update) and people a full sync
    deactivates lose their log-in; the latter are made inactive here."""
    leavers = [c for c, _, fields in plan.updates if "leaver" in fields]
    _end_access(session, [ids[c.employee_number] for c in leavers] + plan.deactivate)
    for chunk in _chunks(plan.deactivate):
        session.execute(
            update(Person).where(Person.id.in_(chunk)).values(active=False, updated_at=now)
        )


def _end_access(session: Session, person_ids: list[int]) -> None:
    """Leavers lose their log-in: accounts disabled and sessions ended."""
    for chunk in _chunks(person_ids):
        users = select(User.id).where(User.person_id.in_(chunk))
        session.execute(delete(LoginSession).where(LoginSession.user_id.in_(users)))
        session.execute(update(User).where(User.person_id.in_(chunk)).values(active=False))
