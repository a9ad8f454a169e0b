"""Reads for the validation queue: the self-ratings and calibrations waiting, for the people
a manager decides on, and what the manager needs beside each rating."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

from sqlalchemy import (
    BindParameter,
    Select,
    bindparam,
    func,
    literal,
    select,
    union,
)
from sqlalchemy.orm import Session, joinedload

from app.capability.models import (
    Calibration,
    CalibrationStatus,
    Evidence,
    RatingStatus,
)
from app.capability.profile import RULE_EVIDENCE_COLUMNS, evidence_layers, published_framework
from app.errors import DomainError
from app.framework.models import (
    Competency,
    RoleRequirement,
    Source,
)
from app.org.models import (
    AssignmentKind,
    OrgUnit,
    OrgUnitPath,
    Person,
    ReportingLine,
    Role,
    RoleAssignment,
)

#: The queue's statements are kept (statements are immutable): the validation queue and the
#: home page run them on every visit, and building them costs more than running them.
_KEPT = 512


@lru_cache(maxsize=_KEPT)
def pending_ratings_query(scope: Select | None, exclude_person_id: int) -> Select:
    """Self-ratings waiting for a decision, for the people in ``scope`` (None: everyone)."""
    stmt = (
        select(Evidence)
        .options(
            joinedload(Evidence.person).load_only(Person.first_name, Person.last_name),
            joinedload(Evidence.competency).load_only(Competency.code, Competency.name),
        )
        .where(
            Evidence.source == Source.SELF_RATING,
            Evidence.status == RatingStatus.PENDING,
            Evidence.person_id != exclude_person_id,
        )
        .order_by(Evidence.recorded_at, Evidence.id)
    )
    return stmt if scope is None else stmt.where(Evidence.person_id.in_(scope))


def pending_ratings_among(people: list[int] | None, exclude_person_id: int) -> Select:
    """``pending_ratings_query`` for the people with these ids (None: everyone): the scope
    found once for both of the queue's lists, rather than in each."""
    stmt = pending_ratings_query(None, exclude_person_id)
    return stmt if people is None else stmt.where(Evidence.person_id.in_(people))


def open_calibrations_among(people: list[int] | None, exclude_person_id: int) -> Select:
    """``open_calibrations_query`` for the people with these ids (None: everyone)."""
    stmt = open_calibrations_query(None, exclude_person_id)
    return stmt if people is None else stmt.where(Calibration.person_id.in_(people))


@cache
def waiting_people() -> Select:
    """Ids of the people with a self-rating or a calibration waiting for a manager."""
    return select(
        union(
            select(Evidence.person_id).where(
                Evidence.source == Source.SELF_RATING, Evidence.status == RatingStatus.PENDING
            ),
            select(Calibration.person_id).where(Calibration.status == CalibrationStatus.OPEN),
        ).subquery()
    )


@lru_cache(maxsize=_KEPT)
def reach_among(manager_id: int | BindParameter, candidates: Select) -> Select:
    """Those of ``candidates`` (a SELECT of person ids) that the manager reaches: people in
    the subtrees of the units they head and their direct and indirect reports, as
    ``app.org.queries.managed_people_ids`` — but looked up for the candidates alone (each
    one's unit ancestors and managers in the two closure tables), so the cost follows the
    few people with something waiting, not the size of the manager's organisation.
    ``manager_id`` may be a bound parameter, for a statement built once."""
    manager = manager_id if isinstance(manager_id, BindParameter) else literal(manager_id)
    # The candidates first, materialised: each one's unit ancestors are then looked up.
    # Left to itself PostgreSQL listed every person in the units the manager heads (its
    # estimate of a unit's subtree is far below the hundred units a director's holds).
    waiting = (
        select(Person.id, Person.org_unit_id)
        .where(Person.id.in_(candidates))
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    in_units = (
        select(waiting.c.id)
        .join(OrgUnitPath, OrgUnitPath.descendant_id == waiting.c.org_unit_id)
        .join(OrgUnit, OrgUnit.id == OrgUnitPath.ancestor_id)
        .where(OrgUnit.head_id == manager)
    )
    in_line = select(ReportingLine.person_id).where(
        ReportingLine.manager_id == manager, ReportingLine.person_id.in_(select(waiting.c.id))
    )
    return select(union(in_units, in_line, select(manager)).subquery())


@cache
def _context_statements() -> tuple[Select, Select]:
    """The validated evidence and the current roles' requirements of a page of ratings'
    people in its competencies, built once (the lists are bound at each call)."""
    people: BindParameter[list[int]] = bindparam("people", expanding=True)
    codes: BindParameter[list[str]] = bindparam("codes", expanding=True)
    evidence = select(*RULE_EVIDENCE_COLUMNS).where(
        Evidence.person_id.in_(people),
        Evidence.competency_code.in_(codes),
        Evidence.validated.is_(True),
    )
    required = (
        select(
            RoleAssignment.person_id,
            Role.name,
            Competency.code,
            RoleRequirement.level,
            RoleAssignment.start_date,
            RoleAssignment.end_date,
        )
        .join(Role, Role.id == RoleAssignment.role_id)
        .join(RoleRequirement, RoleRequirement.role_id == Role.id)
        .join(Competency, Competency.id == RoleRequirement.competency_id)
        .where(
            RoleAssignment.person_id.in_(people),
            RoleAssignment.kind == AssignmentKind.CURRENT,
            RoleRequirement.version_id == bindparam("version_id"),
            Competency.code.in_(codes),
        )
    )
    return evidence, required


@dataclass(frozen=True)
class RatingContext:
    """What a manager needs beside a self-rating: the person's validated level in the
    competency and the highest level their current roles require (None: none requires it)."""

    validated: int
    required: int | None
    roles: list[str]


def rating_context(
    session: Session, ratings: Sequence[Evidence], on: date
) -> dict[int, RatingContext]:
    """The context of each rating on a page of the queue, by the rating's id, in three
    queries whatever the number of ratings."""
    if not ratings:
        return {}
    try:
        version = published_framework(session)
    except DomainError:
        return {}
    pairs = {(r.person_id, r.competency_code) for r in ratings}
    params = {
        "people": sorted({p for p, _ in pairs}),
        "codes": sorted({c for _, c in pairs}),
        "version_id": version.id,
    }
    evidence_statement, required_statement = _context_statements()
    # each person's evidence in every code of the page, narrowed here to the rating's own
    evidence = [
        e
        for e in session.execute(evidence_statement, params)
        if (e.person_id, e.competency_code) in pairs
    ]
    levels = evidence_layers(session, evidence, version, on)
    required: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for pid, role, code, level, start, end in session.execute(required_statement, params):
        if start <= on and (end is None or end >= on):
            required.setdefault((pid, code), []).append((level, role))
    out = {}
    for r in ratings:
        layer = levels.get(r.person_id, {}).get(r.competency_code)
        asks = sorted(required.get((r.person_id, r.competency_code), []), reverse=True)
        out[r.id] = RatingContext(
            layer.validated if layer else 0,
            asks[0][0] if asks else None,
            [role for level, role in asks if level == asks[0][0]],
        )
    return out


def waiting_counts(
    session: Session, scope: Select | None, exclude_person_id: int
) -> tuple[int, int]:
    """(self-ratings awaiting a decision, open calibrations) for a manager's home page."""
    ratings = pending_ratings_query(scope, exclude_person_id).order_by(None).subquery()
    calibrations = open_calibrations_query(scope, exclude_person_id).order_by(None).subquery()
    return (
        session.scalar(select(func.count()).select_from(ratings)) or 0,
        session.scalar(select(func.count()).select_from(calibrations)) or 0,
    )


@lru_cache(maxsize=_KEPT)
def open_calibrations_query(scope: Select | None, exclude_person_id: int) -> Select:
    stmt = (
        select(Calibration)
        .options(
            joinedload(Calibration.person),
            joinedload(Calibration.self_rating).joinedload(Evidence.competency),
        )
        .where(
            Calibration.status == CalibrationStatus.OPEN, Calibration.person_id != exclude_person_id
        )
        .order_by(Calibration.opened_at, Calibration.id)
    )
    return stmt if scope is None else stmt.where(Calibration.person_id.in_(scope))


@cache
def _ratings_statement() -> Select:
    """A person's latest self-ratings as rows (only what the page shows), built once."""
    return (
        select(
            Evidence.id,
            Evidence.competency_code,
            Competency.name.label("competency_name"),
            Evidence.level,
            Evidence.achieved_on,
            Evidence.status,
            Evidence.note,
        )
        .outerjoin(Competency, Competency.id == Evidence.competency_id)
        .where(Evidence.person_id == bindparam("person_id"), Evidence.source == Source.SELF_RATING)
        .order_by(Evidence.achieved_on.desc(), Evidence.recorded_at.desc(), Evidence.id.desc())
        .limit(20)
    )


def ratings_of(session: Session, person_id: int) -> list:
    """A person's own self-ratings, newest first: rows of the rating's id, competency code
    and name (``competency_name``), level, date, status and note (the decisions on them are
    in ``profile.recent_decisions``)."""
    return list(session.execute(_ratings_statement(), {"person_id": person_id}))
