"""Use-cases for the organisation: org units, offices, people, roles and assignments.

Each takes a session and plain values, raises DomainError for a broken rule (naming the
field), flushes, and never commits. An edit names the version its form was read at
(``seen``); a stale one raises ``versioning.StaleEdit`` with the record's values as its form
shows them (``*_values``, also what the form opens with).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app import versioning
from app.dates import RANGE_TEXT, in_range
from app.errors import DomainError
from app.org import queries
from app.org.models import (
    AssignmentKind,
    Office,
    OrgUnit,
    P3Level,
    Permanence,
    Person,
    Role,
    RoleAssignment,
    RoleFamily,
    RoleLevel,
)
from app.org.queries import managers_above
from app.signals import person_deactivated, roles_assigned

# --- shared checks --------------------------------------------------------------------------


def _unique(
    session: Session, column, value, *, exclude_id: int | None, field: str, what: str
) -> None:
    model = column.class_
    stmt = select(model.id).where(func.lower(column) == value.lower())
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise DomainError(f"Another {what} already uses {value!r}.", field=field)


def _get(session: Session, model, ident: int | None, *, field: str, what: str):
    if ident is None:
        return None
    obj = session.get(model, ident)
    if obj is None:
        raise DomainError(f"That {what} does not exist.", field=field)
    return obj


def _dates_in_order(start: date | None, end: date | None, field: str = "end_date") -> None:
    for value, name in ((start, "start_date"), (end, field)):
        if not in_range(value):
            raise DomainError(f"Give a date {RANGE_TEXT}.", field=name)
    if start and end and end < start:
        raise DomainError("The end date must be on or after the start date.", field=field)


# --- org units ------------------------------------------------------------------------------


@dataclass
class OrgUnitData:
    code: str
    name: str
    parent_id: int | None = None
    head_id: int | None = None


def unit_values(unit: OrgUnit) -> dict[str, Any]:
    """An org unit as its edit form shows it."""
    return {
        versioning.FIELD: str(unit.row_version),
        "code": unit.code,
        "name": unit.name,
        "parent": unit.parent_id,
        "head": unit.head.employee_number if unit.head else "",
    }


def save_org_unit(
    session: Session, data: OrgUnitData, unit: OrgUnit | None = None, *, seen: str | None = None
) -> OrgUnit:
    """Create an org unit, or change ``unit`` (refused when it changed since its form was
    read at version ``seen``)."""
    if unit is not None:
        versioning.check(seen, unit_values(unit), f"Org unit {unit.name}")
    code = data.code.strip().upper()
    _unique(
        session,
        OrgUnit.code,
        code,
        exclude_id=unit.id if unit else None,
        field="code",
        what="org unit",
    )
    _get(session, Person, data.head_id, field="head", what="person")
    if data.parent_id is not None:
        _get(session, OrgUnit, data.parent_id, field="parent", what="org unit")
        if unit is not None and data.parent_id in queries.subtree_unit_ids(session, unit.id):
            raise DomainError(
                "A unit cannot sit under itself or one of its own sub-units.", field="parent"
            )
    saved = unit or OrgUnit()
    saved.code, saved.name = code, data.name.strip()
    saved.parent_id, saved.head_id = data.parent_id, data.head_id
    session.add(saved)
    versioning.flush(session, f"Org unit {saved.name}", lambda: unit_values(saved))
    return saved


def set_org_unit_active(session: Session, unit: OrgUnit, active: bool) -> None:
    if not active:
        members = session.scalar(
            select(func.count())
            .select_from(Person)
            .where(Person.org_unit_id == unit.id, Person.active.is_(True))
        )
        if members:
            raise DomainError(f"{unit.name} still has {members} active people; move them first.")
    unit.active = active


# --- offices --------------------------------------------------------------------------------


@dataclass
class OfficeData:
    code: str
    name: str
    p3_level: P3Level
    permanence: Permanence
    is_coe: bool = False
    hub_id: int | None = None
    org_unit_id: int | None = None
    start_date: date | None = None
    end_date: date | None = None


def office_values(office: Office) -> dict[str, Any]:
    """An office as its edit form shows it."""
    return {
        versioning.FIELD: str(office.row_version),
        "code": office.code,
        "name": office.name,
        "p3_level": office.p3_level.value,
        "permanence": office.permanence.value,
        "is_coe": office.is_coe,
        "hub": office.hub_id,
        "org_unit": office.org_unit_id,
        "start_date": office.start_date,
        "end_date": office.end_date,
    }


def save_office(
    session: Session, data: OfficeData, office: Office | None = None, *, seen: str | None = None
) -> Office:
    """Create an office, or change ``office`` (refused when it changed since its form was
    read at version ``seen``)."""
    if office is not None:
        versioning.check(seen, office_values(office), f"Office {office.name}")
    code = data.code.strip().upper()
    _unique(
        session,
        Office.code,
        code,
        exclude_id=office.id if office else None,
        field="code",
        what="office",
    )
    _get(session, OrgUnit, data.org_unit_id, field="org_unit", what="org unit")
    _dates_in_order(data.start_date, data.end_date)
    if data.permanence == Permanence.TEMPORARY and data.start_date is None:
        raise DomainError("A temporary office needs the date it opened.", field="start_date")
    if data.permanence == Permanence.PERMANENT and data.end_date is not None:
        raise DomainError(
            "A permanent office has no end date; make it temporary or clear the date.",
            field="end_date",
        )
    hub = _get(session, Office, data.hub_id, field="hub", what="office")
    if hub is not None:
        if office is not None and _hub_chain_reaches(hub, office.id):
            raise DomainError(
                "An office cannot be a spoke of itself or of its own spokes.", field="hub"
            )
        if hub.permanence != Permanence.PERMANENT:
            raise DomainError("A hub must be a permanent office.", field="hub")
    saved = office or Office()
    for name in OfficeData.__dataclass_fields__:
        setattr(saved, name, getattr(data, name))
    saved.code, saved.name = code, data.name.strip()
    session.add(saved)
    versioning.flush(session, f"Office {saved.name}", lambda: office_values(saved))
    return saved


def _hub_chain_reaches(hub: Office, office_id: int) -> bool:
    seen: set[int] = set()
    node: Office | None = hub
    while node is not None and node.id not in seen:
        if node.id == office_id:
            return True
        seen.add(node.id)
        node = node.hub
    return False


# --- people ---------------------------------------------------------------------------------


@dataclass
class PersonData:
    employee_number: str
    first_name: str
    last_name: str
    email: str | None
    org_unit_id: int | None
    line_manager_number: str | None = None
    job_title: str | None = None


def person_values(person: Person) -> dict[str, Any]:
    """A person as their edit form shows them."""
    return {
        versioning.FIELD: str(person.row_version),
        "employee_number": person.employee_number,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email or "",
        "job_title": person.job_title or "",
        "org_unit": person.org_unit_id,
        "line_manager": person.line_manager.employee_number if person.line_manager else "",
    }


def save_person(
    session: Session, data: PersonData, person: Person | None = None, *, seen: str | None = None
) -> Person:
    """Add a person, or change ``person`` (refused when their record changed since its form
    was read at version ``seen``)."""
    if person is not None:
        versioning.check(seen, person_values(person), f"{person.full_name}'s record")
    number = data.employee_number.strip()
    _unique(
        session,
        Person.employee_number,
        number,
        exclude_id=person.id if person else None,
        field="employee_number",
        what="person",
    )
    if data.email and data.email.strip():
        _unique(
            session,
            Person.email,
            data.email.strip().lower(),
            exclude_id=person.id if person else None,
            field="email",
            what="person",
        )
    _get(session, OrgUnit, data.org_unit_id, field="org_unit", what="org unit")
    manager = None
    if data.line_manager_number and data.line_manager_number.strip():
        manager = session.scalar(
            select(Person).where(Person.employee_number == data.line_manager_number.strip())
        )
        if manager is None:
            raise DomainError("No person has that employee number.", field="line_manager")
        if person is not None and manager.id == person.id:
            raise DomainError("A person cannot be their own line manager.", field="line_manager")
        if person is not None and _manager_chain_reaches(session, manager, person.id):
            raise DomainError(
                f"{manager.full_name} reports to {person.full_name}, so they "
                "cannot also be their line manager.",
                field="line_manager",
            )
    saved = person or Person()
    saved.employee_number = number
    saved.first_name, saved.last_name = data.first_name.strip(), data.last_name.strip()
    saved.email = data.email.strip().lower() if data.email and data.email.strip() else None
    saved.job_title = (data.job_title or "").strip() or None
    saved.org_unit_id = data.org_unit_id
    saved.line_manager_id = manager.id if manager else None
    session.add(saved)
    versioning.flush(session, f"{saved.full_name}'s record", lambda: person_values(saved))
    return saved


def _manager_chain_reaches(session: Session, manager: Person, person_id: int) -> bool:
    """True when ``person_id`` is ``manager`` or above them in the reporting line."""
    chain = managers_above(manager.id)
    return person_id in set(session.scalars(select(chain.c.id)))


def set_person_active(session: Session, person: Person, active: bool) -> None:
    """Deactivate a leaver (never delete: their history is kept) or bring them back.

    Sends ``person_deactivated`` for a leaver, on which their account is disabled and its
    sessions ended (see ``app.accounts.services``).
    """
    person.active = active
    if not active:
        person_deactivated.send(session, person_id=person.id)


def set_office_active(session: Session, office: Office, active: bool) -> None:
    office.active = active
    session.flush()


def set_role_active(session: Session, role: Role, active: bool) -> None:
    role.active = active
    session.flush()


def person_id_by_number(session: Session, number: str | None, field: str) -> int | None:
    """The id of the person with this employee number (None for a blank number)."""
    person_id = queries.person_id_by_number(session, number)
    if person_id is None and number and number.strip():
        raise DomainError("No person has that employee number.", field=field)
    return person_id


# --- roles ----------------------------------------------------------------------------------


@dataclass
class RoleData:
    code: str
    name: str
    p3_level: RoleLevel
    family: RoleFamily
    description: str = ""


def role_values(role: Role) -> dict[str, Any]:
    """A role as its edit form shows it."""
    return {
        versioning.FIELD: str(role.row_version),
        "code": role.code,
        "name": role.name,
        "p3_level": role.p3_level.value,
        "family": role.family.value,
        "description": role.description,
    }


def save_role(
    session: Session, data: RoleData, role: Role | None = None, *, seen: str | None = None
) -> Role:
    """Create a role, or change ``role`` (refused when it changed since its form was read
    at version ``seen``)."""
    if role is not None:
        versioning.check(seen, role_values(role), f"Role {role.name}")
    code = data.code.strip().upper()
    _unique(
        session, Role.code, code, exclude_id=role.id if role else None, field="code", what="role"
    )
    _unique(
        session,
        Role.name,
        data.name.strip(),
        exclude_id=role.id if role else None,
        field="name",
        what="role",
    )
    saved = role or Role()
    saved.code, saved.name = code, data.name.strip()
    saved.p3_level, saved.family = data.p3_level, data.family
    saved.description = data.description.strip()
    session.add(saved)
    versioning.flush(session, f"Role {saved.name}", lambda: role_values(saved))
    return saved


# --- role assignments -------------------------------------------------------------------------


@dataclass
class AssignmentData:
    role_id: int
    kind: AssignmentKind
    start_date: date
    office_id: int | None = None
    end_date: date | None = None


def assignment_values(assignment: RoleAssignment) -> dict[str, Any]:
    """A role assignment as its edit form shows it."""
    return {
        versioning.FIELD: str(assignment.row_version),
        "role": assignment.role_id,
        "kind": assignment.kind.value,
        "office": assignment.office_id,
        "start_date": assignment.start_date,
        "end_date": assignment.end_date,
    }


def save_assignment(
    session: Session,
    person: Person,
    data: AssignmentData,
    assignment: RoleAssignment | None = None,
    *,
    seen: str | None = None,
) -> RoleAssignment:
    """Assign a role, or change ``assignment`` (refused when it changed since its form was
    read at version ``seen``)."""
    if assignment is not None:
        versioning.check(
            seen, assignment_values(assignment), f"{person.full_name}'s role assignment"
        )
    role = _get(session, Role, data.role_id, field="role", what="role")
    office = _get(session, Office, data.office_id, field="office", what="office")
    _dates_in_order(data.start_date, data.end_date)
    if office is not None and office.end_date and data.start_date > office.end_date:
        raise DomainError(f"{office.name} closed on {office.end_date:%d %b %Y}.", field="office")
    clash = select(RoleAssignment.id).where(
        RoleAssignment.person_id == person.id,
        RoleAssignment.role_id == role.id,
        RoleAssignment.kind == data.kind,
        or_(RoleAssignment.end_date.is_(None), RoleAssignment.end_date >= data.start_date),
    )
    if data.end_date is not None:
        clash = clash.where(RoleAssignment.start_date <= data.end_date)
    if assignment is not None:
        clash = clash.where(RoleAssignment.id != assignment.id)
    if session.scalar(clash) is not None:
        raise DomainError(
            f"{person.full_name} already has this role as {data.kind.value} for overlapping dates.",
            field="role",
        )
    saved = assignment or RoleAssignment(person=person)
    saved.role_id, saved.office_id, saved.kind = role.id, data.office_id, data.kind
    saved.start_date, saved.end_date = data.start_date, data.end_date
    session.add(saved)
    versioning.flush(
        session, f"{person.full_name}'s role assignment", lambda: assignment_values(saved)
    )
    if saved.kind == AssignmentKind.CURRENT:
        roles_assigned.send(session, assignment_ids=[saved.id])
    return saved


def end_assignment(assignment: RoleAssignment, on: date) -> None:
    if assignment.end_date is None or assignment.end_date > on:
        assignment.end_date = max(on, assignment.start_date)
