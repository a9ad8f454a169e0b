"""What every report is run over: a date, the people the viewer may see, and the filters the
user picked. The building blocks here are SELECTs the reports join and aggregate in SQL.

- ``levels_at(on)`` and ``requirements_at(on)``: each person's level and requirement per
  competency on a date, a range filter on the maintained spans (models.py).
- ``population(scope)``: the person ids a report counts: the people the viewer may see
  (app/access.py decides, and passes it in), who had not left by the date, narrowed by the
  filters: an org unit's subtree, an office (people with a current role in it on the date),
  a role (its holders on the date).
- ``profile_at(on)``: every role's profile in the framework version in force on a date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ScalarSelect, Select, Subquery, func, or_, select, text
from sqlalchemy.orm import Session

from app import clock
from app.framework.models import (
    Competency,
    Framework,
    FrameworkVersion,
    RoleRequirement,
    VersionStatus,
)
from app.framework.versions import FRAMEWORK_CODE
from app.org.models import AssignmentKind, OrgUnitPath, Person, RoleAssignment
from app.reports.models import LevelSpan, RequirementSpan


@dataclass(frozen=True)
class ReportScope:
    """A report's date, the viewer's reach and the user's filters."""

    on: date
    #: the person ids the viewer may see (access.visible_people), None: everyone
    visible: Select | None = None
    unit_id: int | None = None  # the org unit whose subtree is reported
    office_id: int | None = None
    role_id: int | None = None

    @property
    def filtered(self) -> bool:
        return any(x is not None for x in (self.unit_id, self.office_id, self.role_id))


def live_on(valid_from, valid_to, on: date):
    """The range filter of a span (from inclusive, to exclusive, open when NULL)."""
    return (valid_from <= on) & or_(valid_to.is_(None), valid_to > on)


def levels_at(on: date) -> Subquery:
    """(person_id, competency_code, level) on a date; a missing row means level 0."""
    return (
        select(LevelSpan.person_id, LevelSpan.competency_code, LevelSpan.level)
        .where(live_on(LevelSpan.valid_from, LevelSpan.valid_to, on))
        .subquery("levels_at")
    )


def requirements_at(on: date) -> Subquery:
    """(person_id, competency_code, required, essential) on a date: what the person's
    current roles ask of them; competencies not required have no row."""
    return (
        select(
            RequirementSpan.person_id,
            RequirementSpan.competency_code,
            RequirementSpan.required,
            RequirementSpan.essential,
        )
        .where(live_on(RequirementSpan.valid_from, RequirementSpan.valid_to, on))
        .subquery("requirements_at")
    )


def assignments_live(on: date, kind: AssignmentKind = AssignmentKind.CURRENT):
    """The condition that a role assignment of ``kind`` is live on a date (end inclusive)."""
    return (
        (RoleAssignment.kind == kind)
        & (RoleAssignment.start_date <= on)
        & or_(RoleAssignment.end_date.is_(None), RoleAssignment.end_date >= on)
    )


def population(scope: ReportScope) -> Select:
    """SELECT of the person ids the report counts (see the module docstring)."""
    on = scope.on
    query = select(Person.id).where(or_(Person.active, Person.leaving_date > on))
    if scope.visible is not None:
        query = query.where(Person.id.in_(scope.visible))
    if scope.unit_id is not None:
        query = query.where(
            Person.org_unit_id.in_(
                select(OrgUnitPath.descendant_id).where(OrgUnitPath.ancestor_id == scope.unit_id)
            )
        )
    if scope.office_id is not None:
        query = query.where(
            Person.id.in_(
                select(RoleAssignment.person_id).where(
                    assignments_live(on), RoleAssignment.office_id == scope.office_id
                )
            )
        )
    if scope.role_id is not None:
        query = query.where(
            Person.id.in_(
                select(RoleAssignment.person_id).where(
                    assignments_live(on), RoleAssignment.role_id == scope.role_id
                )
            )
        )
    return query


def version_in_force(on: date, code: str = FRAMEWORK_CODE) -> ScalarSelect:
    """The id of the framework version in force on a date (spans.py rule 2), as a scalar
    subquery: the version last published on or before the date; before the first
    publication, the first version. Published and retired versions count, drafts never."""
    published = (
        select(FrameworkVersion.id)
        .join(Framework, Framework.id == FrameworkVersion.framework_id)
        .where(
            Framework.code == code,
            FrameworkVersion.status.in_([VersionStatus.PUBLISHED, VersionStatus.RETIRED]),
            FrameworkVersion.published_at.is_not(None),
        )
    )
    day_after = clock.start_of(on + timedelta(days=1))
    latest = (
        published.where(FrameworkVersion.published_at < day_after)
        .order_by(FrameworkVersion.published_at.desc(), FrameworkVersion.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    first = (
        published.order_by(FrameworkVersion.published_at, FrameworkVersion.number)
        .limit(1)
        .scalar_subquery()
    )
    return select(func.coalesce(latest, first)).scalar_subquery()


def profile_at(on: date) -> Subquery:
    """(role_id, competency_code, level, essential): every role profile line of the framework
    version in force on a date (``version_in_force``)."""
    return (
        select(
            RoleRequirement.role_id,
            Competency.code.label("competency_code"),
            RoleRequirement.level,
            RoleRequirement.essential,
        )
        .join(Competency, Competency.id == RoleRequirement.competency_id)
        .where(RoleRequirement.version_id == version_in_force(on))
        .subquery("profile_at")
    )


#: PostgreSQL plan nodes a report may switch off for one statement, and the server version
#: that has them.
PLAN_NODES = {"memoize": (14,), "mergejoin": (0,), "nestloop": (0,)}


def plan_afresh(session: Session) -> None:
    """On PostgreSQL, plan the rest of this transaction's statements for their parameters
    (``plan_cache_mode``, SET LOCAL); nothing on SQLite. A connection keeps its prepared
    statements across requests (``app.db.keep_prepared_statements``), which spares the
    everyday pages' short statements their planning; a report's statements are few, long
    and sensitive to their parameters (whose units, which day), and a plan made once for any
    parameters can be far off for them (the manager's heatmap took 0.44 s with one, 0.10 s
    planned afresh), while planning is a small part of their time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


@contextmanager
def without_plans(session: Session, *nodes: str) -> Iterator[None]:
    """On PostgreSQL, switch these plan nodes (``PLAN_NODES``) off for the statements run in
    the block (SET LOCAL), then back to the server's setting; nothing on SQLite. For a
    statement whose best plan the planner misjudges on some statistics samples (the
    reports' benchmark shows which: bench/reports_bench.py). The block's statements are
    planned afresh (``plan_afresh``): a plan made for any parameters would ignore these
    settings. After the block, planning is as it was before it."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield
        return
    version = tuple(bind.dialect.server_version_info or ())
    names = [n for n in nodes if version >= PLAN_NODES[n]]
    before = session.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one()
    for name in names:
        session.execute(text(f"SET LOCAL enable_{name} = off"))
    plan_afresh(session)
    try:
        yield
    finally:
        for name in names:
            session.execute(text(f"SET LOCAL enable_{name} TO DEFAULT"))
        session.execute(
            text("SELECT set_config('plan_cache_mode', :before, true)"), {"before": before}
        )
