"""Read models for the organisation pages: plain data for templates, in a fixed number of
queries whatever the size of the organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.access import visible_people
from app.org.models import AssignmentKind, Office, OrgUnit, Person, Role, RoleAssignment


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    role_code: str
    role_name: str
    role_id: int
    office: str | None
    kind: str
    start_date: date
    end_date: date | None
    live: bool


@dataclass(frozen=True)
class PersonProfile:
    person: Person
    unit_path: list[str]
    line_manager: Person | None
    reports: list[Person]
    current_roles: list[AssignmentRow]
    target_roles: list[AssignmentRow]
    past_roles: list[AssignmentRow]


def unit_path(session: Session, unit_id: int | None) -> list[str]:
    """Names from the top of the tree down to the unit."""
    if unit_id is None:
        return []
    chain = select(OrgUnit.id, OrgUnit.name, OrgUnit.parent_id, literal(0).label("depth")) \
        .where(OrgUnit.id == unit_id).cte("chain", recursive=True)
    up = select(OrgUnit.id, OrgUnit.name, OrgUnit.parent_id, chain.c.depth + 1) \
        .where(OrgUnit.id == chain.c.parent_id)
    chain = chain.union_all(up)
    rows = session.execute(select(chain.c.name, chain.c.depth).order_by(chain.c.depth.desc()))
    return [r.name for r in rows]


def person_profile(session: Session, person: Person, today: date) -> PersonProfile:
    rows = session.scalars(
        select(RoleAssignment)
        .options(joinedload(RoleAssignment.role), joinedload(RoleAssignment.office))
        .where(RoleAssignment.person_id == person.id)
        .order_by(RoleAssignment.start_date.desc())
    ).all()
    as_rows = [
        AssignmentRow(a.id, a.role.code, a.role.name, a.role_id,
                      a.office.name if a.office else None,
                      a.kind.value, a.start_date, a.end_date, a.is_live(today))
        for a in rows
    ]
    reports = session.scalars(
        select(Person).where(Person.line_manager_id == person.id, Person.active.is_(True))
        .order_by(Person.last_name, Person.first_name)
    ).all()
    return PersonProfile(
        person=person,
        unit_path=unit_path(session, person.org_unit_id),
        line_manager=person.line_manager,
        reports=list(reports),
        current_roles=[r for r in as_rows if r.kind == AssignmentKind.CURRENT and r.live],
        target_roles=[r for r in as_rows if r.kind == AssignmentKind.TARGET and r.live],
        past_roles=[r for r in as_rows if not r.live],
    )


@dataclass(frozen=True)
class TeamSummary:
    people: int
    units: int
    direct_reports: int
    without_role: int


def team_summary(session: Session, user) -> TeamSummary:
    scope = visible_people(user)
    base = select(Person.id).where(Person.active.is_(True), Person.id != user.person_id)
    if scope is not None:
        base = base.where(Person.id.in_(scope))
    ids = base.subquery()
    people = session.scalar(select(func.count()).select_from(ids))
    units = session.scalar(select(func.count(func.distinct(Person.org_unit_id)))
                           .where(Person.id.in_(select(ids.c.id))))
    direct = session.scalar(select(func.count()).select_from(Person)
                            .where(Person.line_manager_id == user.person_id,
                                   Person.active.is_(True)))
    with_role = select(RoleAssignment.person_id).where(
        RoleAssignment.kind == AssignmentKind.CURRENT, RoleAssignment.end_date.is_(None))
    without = session.scalar(select(func.count()).select_from(ids)
                             .where(ids.c.id.not_in(with_role)))
    return TeamSummary(people or 0, units or 0, direct or 0, without or 0)


@dataclass(frozen=True)
class OrgSummary:
    people: int
    inactive_people: int
    org_units: int
    offices_by_level: dict[str, int]
    roles: int
    assignments: int


def org_summary(session: Session) -> OrgSummary:
    levels = dict(session.execute(
        select(Office.p3_level, func.count())
        .where(Office.active.is_(True)).group_by(Office.p3_level)
    ).all())
    return OrgSummary(
        people=session.scalar(select(func.count()).where(Person.active.is_(True))) or 0,
        inactive_people=session.scalar(select(func.count()).where(Person.active.is_(False))) or 0,
        org_units=session.scalar(select(func.count()).select_from(OrgUnit)
                                 .where(OrgUnit.active.is_(True))) or 0,
        offices_by_level={k.value: v for k, v in levels.items()},
        roles=session.scalar(select(func.count()).select_from(Role)) or 0,
        assignments=session.scalar(select(func.count()).select_from(RoleAssignment)
                                   .where(RoleAssignment.end_date.is_(None))) or 0,
    )


@dataclass(frozen=True)
class RoleHolding:
    role: Role
    holders: int
    aspirants: int


def role_catalogue(session: Session) -> list[RoleHolding]:
    counts = dict(session.execute(
        select(RoleAssignment.role_id, func.count()).where(
            RoleAssignment.kind == AssignmentKind.CURRENT, RoleAssignment.end_date.is_(None)
        ).group_by(RoleAssignment.role_id)).all())
    targets = dict(session.execute(
        select(RoleAssignment.role_id, func.count()).where(
            RoleAssignment.kind == AssignmentKind.TARGET, RoleAssignment.end_date.is_(None)
        ).group_by(RoleAssignment.role_id)).all())
    roles = session.scalars(select(Role).where(Role.active.is_(True)).order_by(Role.code)).all()
    return [RoleHolding(r, counts.get(r.id, 0), targets.get(r.id, 0)) for r in roles]


def office_list_query():
    return (select(Office)
            .options(joinedload(Office.hub), joinedload(Office.org_unit),
                     selectinload(Office.spokes))
            .order_by(Office.p3_level, Office.name))
