"""A person's gaps in a few lines, for their home page: how much of their roles they meet,
how many essential gaps remain, and the biggest one — in a handful of small queries, so that
the page people open most stays fast (the full picture is the capability page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import Integer, Select, and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from app.capability.levels import gap
from app.capability.models import Calibration, CalibrationStatus, Evidence, RatingStatus
from app.capability.profile import evidence_layers
from app.capability.queries import reach_among, waiting_people
from app.framework.models import (
    Competency,
    FrameworkVersion,
    RoleRequirement,
    Source,
)
from app.framework.versions import published_version
from app.org.models import AssignmentKind, RoleAssignment


@dataclass(frozen=True)
class BiggestGap:
    code: str
    name: str
    required: int
    validated: int


@dataclass(frozen=True)
class GapSummary:
    """Across the person's current roles (each competency at the highest level any of them
    asks for): how many required competencies they meet, of how many, the essential ones
    still short, and the biggest gap (essential first)."""

    has_roles: bool
    required: int
    met: int
    essential_gaps: int
    biggest: BiggestGap | None

    @property
    def readiness(self) -> int:
        return round(100 * self.met / self.required) if self.required else 100


def gap_summary(session: Session, person_id: int, on: date) -> GapSummary | None:
    """The person's gap summary against the published framework, or None when no framework
    is published yet."""
    version = published_version(session)
    if version is None:
        return None
    live = (
        select(RoleAssignment.role_id)
        .where(
            RoleAssignment.person_id == person_id,
            RoleAssignment.kind == AssignmentKind.CURRENT,
            RoleAssignment.start_date <= on,
        )
        .where((RoleAssignment.end_date.is_(None)) | (RoleAssignment.end_date >= on))
    )
    lines = session.execute(
        select(Competency.code, Competency.name, RoleRequirement.level, RoleRequirement.essential)
        .join(Competency, Competency.id == RoleRequirement.competency_id)
        .where(RoleRequirement.version_id == version.id, RoleRequirement.role_id.in_(live))
    ).all()
    if not lines:
        has_roles = session.scalar(live.limit(1)) is not None
        return GapSummary(has_roles, 0, 0, 0, None)
    needed: dict[str, tuple[str, int, bool]] = {}
    for code, name, level, essential in lines:
        _, old_level, old_essential = needed.get(code, (name, 0, False))
        needed[code] = (name, max(old_level, level), old_essential or essential)
    levels = _validated_levels(session, person_id, version, on)
    short = [
        (gap(level, levels.get(code, 0)), essential, code, name, level)
        for code, (name, level, essential) in needed.items()
        if gap(level, levels.get(code, 0))
    ]
    short.sort(key=lambda s: (not s[1], -s[0], s[2]))
    biggest = None
    if short:
        _, _, code, name, level = short[0]
        biggest = BiggestGap(code, name, level, levels.get(code, 0))
    return GapSummary(
        has_roles=True,
        required=len(needed),
        met=len(needed) - len(short),
        essential_gaps=sum(1 for s in short if s[1]),
        biggest=biggest,
    )


def _validated_levels(
    session: Session, person_id: int, version: FrameworkVersion, on: date
) -> dict[str, int]:
    """Validated level per competency code, by the one place levels are derived
    (profile.evidence_layers, which applies levels.py)."""
    evidence = session.scalars(select(Evidence).where(Evidence.person_id == person_id)).all()
    layers = evidence_layers(session, evidence, version, on)[person_id]
    return {code: layer.validated for code, layer in layers.items()}


#: A self-rating waiting longer than this is overdue on the manager's home page.
OVERDUE_AFTER_DAYS = 14


@dataclass(frozen=True)
class Waiting:
    """A manager's (or admin's) decisions to make: self-ratings waiting, how many of them
    are overdue, and open calibrations."""

    ratings: int
    overdue: int
    calibrations: int


def waiting_for(
    session: Session, scope: Select | None, exclude_person_id: int, now: datetime
) -> Waiting:
    """One query: the counts for the people in ``scope`` (None: everyone), never the
    manager's own ratings."""
    overdue_before = now - timedelta(days=OVERDUE_AFTER_DAYS)
    pending = and_(Evidence.source == Source.SELF_RATING, Evidence.status == RatingStatus.PENDING)
    ratings_stmt = select(
        func.count(),
        func.coalesce(func.sum(case((Evidence.recorded_at < overdue_before, 1), else_=0)), 0),
    ).where(pending, Evidence.person_id != exclude_person_id)
    calibrations_stmt = (
        select(func.count())
        .select_from(Calibration)
        .where(
            Calibration.status == CalibrationStatus.OPEN, Calibration.person_id != exclude_person_id
        )
    )
    if scope is not None:
        ratings_stmt = ratings_stmt.where(Evidence.person_id.in_(scope))
        calibrations_stmt = calibrations_stmt.where(Calibration.person_id.in_(scope))
    ratings, overdue = session.execute(ratings_stmt).one()
    return Waiting(ratings or 0, overdue or 0, session.scalar(calibrations_stmt) or 0)


@cache
def _manager_waiting_statement() -> Select:
    """``waiting_for`` a manager, built once: the people they reach among those with a
    self-rating or a calibration waiting (``queries.reach_among``), so the cost follows the
    few who wait, not the size of the manager's organisation."""
    manager = bindparam("manager_id", type_=Integer)
    # worked out once for the three counts (a materialised CTE), not once in each
    found = reach_among(manager, waiting_people()).cte("reach").prefix_with("MATERIALIZED")
    reach = select(found.c[0])
    pending = select(func.count()).where(
        Evidence.source == Source.SELF_RATING,
        Evidence.status == RatingStatus.PENDING,
        Evidence.person_id != manager,
        Evidence.person_id.in_(reach),
    )
    overdue = pending.where(
        Evidence.recorded_at < bindparam("overdue_before", type_=Evidence.recorded_at.type)
    )
    calibrations = (
        select(func.count())
        .select_from(Calibration)
        .where(
            Calibration.status == CalibrationStatus.OPEN,
            Calibration.person_id != manager,
            Calibration.person_id.in_(reach),
        )
    )
    return select(
        pending.scalar_subquery(), overdue.scalar_subquery(), calibrations.scalar_subquery()
    )


def waiting_for_manager(session: Session, manager_id: int, now: datetime) -> Waiting:
    """``waiting_for`` over the people a manager decides on (the validation queue's scope),
    never their own ratings."""
    ratings, overdue, calibrations = session.execute(
        _manager_waiting_statement(),
        {"manager_id": manager_id, "overdue_before": now - timedelta(days=OVERDUE_AFTER_DAYS)},
    ).one()
    return Waiting(ratings or 0, overdue or 0, calibrations or 0)
