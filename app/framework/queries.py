"""Reads for the framework pages: the version history, the competency matrix of a version,
and the look-ups the trainer's screens need. Plain data for templates."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from app.accounts.models import User
from app.framework.content import FrameworkContent
from app.framework.diff import RequirementImpact, requirement_impact
from app.framework.models import (
    CAPPABLE,
    Certificate,
    Competency,
    Framework,
    FrameworkVersion,
    RoleRequirement,
    VersionStatus,
)
from app.framework.versions import FRAMEWORK_CODE, content_of, current_draft, published_version
from app.org.models import AssignmentKind, Person, Role, RoleAssignment

# --- versions -------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    number: int
    status: str
    name: str
    note: str
    created_at: datetime
    created_by: str | None
    published_at: datetime | None
    published_by: str | None
    previous: int | None  # the version before it, to compare with


def version_rows(session: Session, code: str = FRAMEWORK_CODE) -> list[VersionRow]:
    """Every version of the framework, newest first, with who created and published it."""
    creator, publisher = aliased(User), aliased(User)
    creator_person, publisher_person = aliased(Person), aliased(Person)
    rows = session.execute(
        select(FrameworkVersion, creator_person, publisher_person)
        .join(Framework)
        .where(Framework.code == code)
        .outerjoin(creator, creator.id == FrameworkVersion.created_by_id)
        .outerjoin(creator_person, creator_person.id == creator.person_id)
        .outerjoin(publisher, publisher.id == FrameworkVersion.published_by_id)
        .outerjoin(publisher_person, publisher_person.id == publisher.person_id)
        .order_by(FrameworkVersion.number.desc())
    )
    found = list(rows)
    return [
        VersionRow(
            v.number,
            v.status.value,
            v.name,
            v.note,
            v.created_at,
            c.full_name if c else None,
            v.published_at,
            p.full_name if p else None,
            found[i + 1][0].number if i + 1 < len(found) else None,
        )
        for i, (v, c, p) in enumerate(found)
    ]


def default_comparison(session: Session, code: str = FRAMEWORK_CODE) -> tuple[int, int] | None:
    """(from, to) version numbers to compare when none are given: the published version
    against the open draft, else the version published before the current one against it."""
    current, draft = published_version(session, code), current_draft(session, code)
    if current is not None and draft is not None:
        return current.number, draft.number
    if current is None:
        return None
    before = session.scalar(
        select(func.max(FrameworkVersion.number)).where(
            FrameworkVersion.framework_id == current.framework_id,
            FrameworkVersion.number < current.number,
            FrameworkVersion.status != VersionStatus.DRAFT,
        )
    )
    return (before, current.number) if before is not None else None


def find_competency(session: Session, version: FrameworkVersion, code: str) -> Competency | None:
    return session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == code)
    )


def find_certificate(session: Session, version: FrameworkVersion, code: str) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(Certificate.version_id == version.id, Certificate.code == code)
    )


def roles_requiring(session: Session, comp: Competency) -> list[str]:
    """Codes of the roles whose profile (in the competency's version) requires it."""
    return list(
        session.scalars(
            select(Role.code)
            .join(RoleRequirement, RoleRequirement.role_id == Role.id)
            .where(RoleRequirement.competency_id == comp.id)
            .order_by(Role.code)
        )
    )


def role_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Role.code, Role.name))}


# --- reading a version for the pages ----------------------------------------------------------


@dataclass(frozen=True)
class RoleColumn:
    id: int
    code: str
    name: str
    required: int  # competencies the role's profile requires
    essential: int


@dataclass(frozen=True)
class MatrixRow:
    code: str
    name: str
    group: str
    #: One cell per role column: (level, essential), or None when not required.
    cells: tuple[tuple[int, bool] | None, ...]


@dataclass(frozen=True)
class FrameworkPage:
    version: FrameworkVersion
    content: FrameworkContent
    level_names: dict[int, str]
    cap_rows: list[tuple[str, int]]  # (source, max level), in the Source order
    roles: list[RoleColumn]  # the matrix columns: roles with a profile
    matrix: list[MatrixRow]
    #: Every active role with its profile size, for the profile editor links.
    all_roles: list[RoleColumn]


def framework_page(session: Session, version: FrameworkVersion) -> FrameworkPage:
    """A version's content shaped for the browse page: groups, scale, caps and the
    role-profile matrix (competencies down, roles across)."""
    content = content_of(session, version)
    catalogue = list(session.scalars(select(Role).order_by(Role.code)))

    def column(role: Role) -> RoleColumn:
        reqs = content.profiles.get(role.code, {})
        return RoleColumn(
            role.id,
            role.code,
            role.name,
            len(reqs),
            sum(1 for _, essential in reqs.values() if essential),
        )

    roles = [column(r) for r in catalogue if content.profiles.get(r.code)]
    matrix = [
        MatrixRow(
            c["code"],
            c["name"],
            g["code"],
            tuple(content.profiles[r.code].get(c["code"]) for r in roles),
        )
        for g in content.groups
        for c in g["competencies"]
    ]
    return FrameworkPage(
        version=version,
        content=content,
        level_names={s["level"]: s["name"] for s in content.scale},
        cap_rows=[(s, content.caps[s]) for s in CAPPABLE if s in content.caps],
        roles=roles,
        matrix=matrix,
        all_roles=[column(r) for r in catalogue if r.active or content.profiles.get(r.code)],
    )


@dataclass(frozen=True)
class FrameworkStatus:
    """For a trainer's home page: the published version and any draft in progress."""

    published: int | None
    published_on: datetime | None
    draft: int | None
    draft_started: datetime | None


def framework_status(session: Session, code: str = FRAMEWORK_CODE) -> FrameworkStatus:
    published, draft = published_version(session, code), current_draft(session, code)
    return FrameworkStatus(
        published.number if published else None,
        published.published_at if published else None,
        draft.number if draft else None,
        draft.created_at if draft else None,
    )


# --- what publishing a draft does to people ---------------------------------------------------


def _levels_by_role(session: Session, version: FrameworkVersion) -> dict[str, dict[str, int]]:
    """role code -> competency code -> required level, in ``version``'s profiles."""
    out: dict[str, dict[str, int]] = {}
    for role, comp, level in session.execute(
        select(Role.code, Competency.code, RoleRequirement.level)
        .join(Role, Role.id == RoleRequirement.role_id)
        .join(Competency, Competency.id == RoleRequirement.competency_id)
        .where(RoleRequirement.version_id == version.id)
    ):
        out.setdefault(role, {})[comp] = level
    return out


def publish_impact(session: Session, draft: FrameworkVersion, on: date) -> RequirementImpact:
    """How publishing ``draft`` moves requirements: for every active person with a live
    current role assignment on ``on``, their requirement per competency (the highest level
    any of their current roles asks for) under the published version against the draft.
    Three queries, whatever the number of people: people are grouped by their set of roles."""
    current = published_version(session, draft.framework.code)
    old = _levels_by_role(session, current) if current is not None else {}
    new = _levels_by_role(session, draft)
    roles_of: dict[int, set[str]] = {}
    for person_id, role in session.execute(
        select(RoleAssignment.person_id, Role.code)
        .join(Role, Role.id == RoleAssignment.role_id)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(
            Person.active.is_(True),
            RoleAssignment.kind == AssignmentKind.CURRENT,
            RoleAssignment.start_date <= on,
            or_(RoleAssignment.end_date.is_(None), RoleAssignment.end_date >= on),
        )
    ):
        roles_of.setdefault(person_id, set()).add(role)
    role_sets = Counter(frozenset(roles) for roles in roles_of.values())
    return requirement_impact(old, new, role_sets)
