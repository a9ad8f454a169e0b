"""Plain factory functions with defaults and overrides. They flush, never commit."""

from __future__ import annotations

import itertools
from datetime import date
from functools import cache

from app.accounts.models import Permission, User, UserPermission
from app.accounts.passwords import hash_password
from app.extensions import db
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

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@cache
def password_hash() -> str:
    """One real Argon2id hash for the test password, computed once per run."""
    return hash_password(PASSWORD)


def make_unit(
    name: str | None = None,
    *,
    parent: OrgUnit | None = None,
    head: Person | None = None,
    code: str | None = None,
) -> OrgUnit:
    n = next(_seq)
    unit = OrgUnit(
        code=code or f"U{n}",
        name=name or f"Unit {n}",
        parent=parent,
        head_id=head.id if head else None,
    )
    db.session.add(unit)
    db.session.flush()
    return unit


def make_person(
    first: str = "Alex",
    last: str | None = None,
    *,
    unit: OrgUnit | None = None,
    manager: Person | None = None,
    number: str | None = None,
    **extra,
) -> Person:
    n = next(_seq)
    person = Person(
        employee_number=number or f"E{n:05d}",
        first_name=first,
        last_name=last or f"Person{n}",
        email=f"person{n}@example.test",
        org_unit_id=unit.id if unit else None,
        line_manager_id=manager.id if manager else None,
        **extra,
    )
    db.session.add(person)
    db.session.flush()
    return person


def make_role(code: str | None = None, name: str | None = None, **extra) -> Role:
    n = next(_seq)
    role = Role(
        code=code or f"T{n}",
        name=name or f"Role {n}",
        p3_level=extra.pop("p3_level", RoleLevel.ANY),
        family=extra.pop("family", RoleFamily.PMO),
        description="",
        **extra,
    )
    db.session.add(role)
    db.session.flush()
    return role


def make_office(code: str | None = None, **extra) -> Office:
    n = next(_seq)
    office = Office(
        code=code or f"O{n}",
        name=extra.pop("name", f"Office {n}"),
        p3_level=extra.pop("p3_level", P3Level.PORTFOLIO),
        permanence=extra.pop("permanence", Permanence.PERMANENT),
        **extra,
    )
    db.session.add(office)
    db.session.flush()
    return office


def assign(
    person: Person,
    role: Role,
    *,
    kind=AssignmentKind.CURRENT,
    start=date(2024, 1, 1),
    end=None,
    office: Office | None = None,
) -> RoleAssignment:
    a = RoleAssignment(
        person_id=person.id,
        role_id=role.id,
        kind=kind,
        start_date=start,
        end_date=end,
        office_id=office.id if office else None,
    )
    db.session.add(a)
    db.session.flush()
    return a


def make_user(
    *permissions: Permission,
    person: Person | None = None,
    email: str | None = None,
    active: bool = True,
) -> User:
    person = person or make_person()
    user = User(
        person_id=person.id,
        email=email or f"user{person.id}-{next(_seq)}@example.test",
        password_hash=password_hash(),
        active=active,
    )
    user.permission_rows = [
        UserPermission(permission=p) for p in (permissions or (Permission.LEARNER,))
    ]
    db.session.add(user)
    db.session.flush()
    return user
