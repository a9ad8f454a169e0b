"""Reads for item statistics (``app.assessment.statistics`` computes from them).

Only FINISHED attempts count (submitted, or closed by the server at the deadline), and
only their SCORED items (unscored trial items are answered but are no part of the score).
Each function returns a SELECT or plain rows; none issues a query per item or per
attempt: an assessment's responses come back in one query, the list of assessments and
the tables by competency and by org unit are aggregated in the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Select, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from app.assessment.models import (
    Assessment,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Item,
    ItemVersion,
)
from app.framework.models import Competency
from app.framework.versions import published_version
from app.org.models import OrgUnit, OrgUnitPath, Person

#: The states of a finished attempt.
FINISHED = (AttemptStatus.SUBMITTED, AttemptStatus.TIMED_OUT)


def _finished():
    return and_(Attempt.status.in_(FINISHED), Attempt.marks.is_not(None))


def _scored():
    return and_(AttemptItem.scored.is_(True), AttemptItem.marks.is_not(None))


# --- one assessment -------------------------------------------------------------------------


def responses(assessment_id: int) -> Select:
    """Every scored response of the assessment's finished attempts: (attempt_id,
    item_version_id, marks, max_marks, answer), in a stable order."""
    return (
        select(
            AttemptItem.attempt_id,
            AttemptItem.item_version_id,
            AttemptItem.marks,
            AttemptItem.max_marks,
            AttemptItem.answer,
        )
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.assessment_id == assessment_id, _finished(), _scored())
        .order_by(AttemptItem.attempt_id, AttemptItem.item_version_id)
    )


@dataclass(frozen=True)
class ItemVersionRow:
    id: int
    code: str
    number: int
    type: str
    topic: str
    competency: str
    level: int
    content: dict


def item_versions(session: Session, ids: Iterable[int]) -> dict[int, ItemVersionRow]:
    """Item version id -> what the statistics pages show of it (one query)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = session.execute(
        select(
            ItemVersion.id,
            Item.code,
            ItemVersion.number,
            ItemVersion.type,
            ItemVersion.topic,
            ItemVersion.competency_code,
            ItemVersion.level,
            ItemVersion.content,
        )
        .join(Item, Item.id == ItemVersion.item_id)
        .where(ItemVersion.id.in_(ids))
    )
    return {
        r.id: ItemVersionRow(
            r.id,
            r.code,
            r.number,
            r.type.value,
            r.topic,
            r.competency_code,
            r.level,
            r.content,
        )
        for r in rows
    }


def attempt_summary(session: Session, assessment_id: int) -> tuple[int, int, int]:
    """(finished attempts, people, passed attempts) of one assessment."""
    row = session.execute(
        select(
            func.count(Attempt.id),
            func.count(func.distinct(Attempt.person_id)),
            func.coalesce(func.sum(case((Attempt.passed.is_(True), 1), else_=0)), 0),
        ).where(Attempt.assessment_id == assessment_id, _finished())
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


# --- every assessment -----------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentSummaryRow:
    """One assessment's attempt counts and the aggregates Cronbach's alpha needs
    (``statistics.cronbach_alpha``), all computed in the database."""

    id: int
    code: str
    title: str
    status: str
    attempts: int
    people: int
    passed: int
    #: mean and mean square of the attempts' totals (sum of scored item marks)
    total_mean: float | None
    total_mean_square: float | None
    #: mean number of scored items per attempt
    items_per_attempt: float | None
    #: sum over items of (responses x the item's variance)
    item_variance_sum: float | None


def assessment_summaries(session: Session) -> list[AssessmentSummaryRow]:
    """Every assessment with its finished attempts, people, passes and the aggregates of
    Cronbach's alpha — four grouped queries joined into one statement; the most attempted
    first."""
    scored = (
        select(
            Attempt.assessment_id.label("assessment_id"),
            AttemptItem.attempt_id.label("attempt_id"),
            AttemptItem.item_version_id.label("item_version_id"),
            cast(AttemptItem.marks, Float).label("marks"),
        )
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(_finished(), _scored())
        .cte("scored")
    )
    per_attempt = (
        select(
            scored.c.assessment_id,
            func.sum(scored.c.marks).label("total"),
            cast(func.count(), Float).label("k"),
        )
        .group_by(scored.c.assessment_id, scored.c.attempt_id)
        .subquery("per_attempt")
    )
    totals = (
        select(
            per_attempt.c.assessment_id,
            func.avg(per_attempt.c.total).label("mean"),
            func.avg(per_attempt.c.total * per_attempt.c.total).label("mean_square"),
            func.avg(per_attempt.c.k).label("k"),
        )
        .group_by(per_attempt.c.assessment_id)
        .subquery("totals")
    )
    per_item = (
        select(
            scored.c.assessment_id,
            cast(func.count(), Float).label("n"),
            func.avg(scored.c.marks).label("p"),
            func.avg(scored.c.marks * scored.c.marks).label("p2"),
        )
        .group_by(scored.c.assessment_id, scored.c.item_version_id)
        .subquery("per_item")
    )
    variances = (
        select(
            per_item.c.assessment_id,
            func.sum(per_item.c.n * (per_item.c.p2 - per_item.c.p * per_item.c.p)).label("v"),
        )
        .group_by(per_item.c.assessment_id)
        .subquery("variances")
    )
    counts = (
        select(
            Attempt.assessment_id,
            func.count(Attempt.id).label("attempts"),
            func.count(func.distinct(Attempt.person_id)).label("people"),
            func.sum(case((Attempt.passed.is_(True), 1), else_=0)).label("passed"),
        )
        .where(_finished())
        .group_by(Attempt.assessment_id)
        .subquery("counts")
    )
    rows = session.execute(
        select(
            Assessment.id,
            Assessment.code,
            Assessment.title,
            Assessment.status,
            counts.c.attempts,
            counts.c.people,
            counts.c.passed,
            totals.c.mean,
            totals.c.mean_square,
            totals.c.k,
            variances.c.v,
        )
        .outerjoin(counts, counts.c.assessment_id == Assessment.id)
        .outerjoin(totals, totals.c.assessment_id == Assessment.id)
        .outerjoin(variances, variances.c.assessment_id == Assessment.id)
        .order_by(func.coalesce(counts.c.attempts, 0).desc(), Assessment.title, Assessment.id)
    )
    return [
        AssessmentSummaryRow(
            r.id,
            r.code,
            r.title,
            r.status.value,
            int(r.attempts or 0),
            int(r.people or 0),
            int(r.passed or 0),
            _float(r.mean),
            _float(r.mean_square),
            _float(r.k),
            _float(r.v),
        )
        for r in rows
    ]


def _float(value) -> float | None:
    return None if value is None else float(value)


# --- by competency and by org unit ----------------------------------------------------------


def _competency_responses(assessment_id: int | None, people: Select | None) -> Select:
    """The scored responses of finished attempts with their competency and person, limited
    to one assessment and to the people of ``people`` (a SELECT of ids) when given."""
    stmt = (
        select(
            ItemVersion.competency_code.label("competency"),
            AttemptItem.marks,
            AttemptItem.max_marks,
            AttemptItem.item_version_id,
            Attempt.id.label("attempt_id"),
            Attempt.person_id,
        )
        .select_from(AttemptItem)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .where(_finished(), _scored())
    )
    if assessment_id is not None:
        stmt = stmt.where(Attempt.assessment_id == assessment_id)
    if people is not None:
        stmt = stmt.where(Attempt.person_id.in_(people))
    return stmt


@dataclass(frozen=True)
class CompetencyRow:
    code: str
    name: str
    items: int
    responses: int
    marks: int
    max_marks: int
    people: int


def by_competency(
    session: Session, *, assessment_id: int | None = None, people: Select | None = None
) -> list[CompetencyRow]:
    """Per competency: the distinct items, the responses, the marks earned of the marks
    available, and the people who answered (one grouped query)."""
    src = _competency_responses(assessment_id, people).subquery("responses")
    rows = session.execute(
        select(
            src.c.competency,
            func.count(func.distinct(src.c.item_version_id)),
            func.count(),
            func.sum(src.c.marks),
            func.sum(src.c.max_marks),
            func.count(func.distinct(src.c.person_id)),
        )
        .group_by(src.c.competency)
        .order_by(src.c.competency)
    ).all()
    names = competency_names(session)
    return [
        CompetencyRow(code, names.get(code, ""), int(i), int(n), int(m), int(mm), int(p))
        for code, i, n, m, mm, p in rows
    ]


def competency_names(session: Session) -> dict[str, str]:
    """Competency code -> name, as the published framework has it."""
    version = published_version(session)
    if version is None:
        return {}
    return dict(
        session.execute(
            select(Competency.code, Competency.name).where(Competency.version_id == version.id)
        ).all()
    )


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    competency: str
    responses: int
    marks: int
    max_marks: int
    people: int


def top_units(session: Session) -> list[OrgUnit]:
    """The top-level units below the root(s), by name; when the tree has several roots,
    the roots' children all the same."""
    roots = select(OrgUnit.id).where(OrgUnit.parent_id.is_(None))
    return list(
        session.scalars(select(OrgUnit).where(OrgUnit.parent_id.in_(roots)).order_by(OrgUnit.name))
    )


def headed_units(session: Session, person_id: int) -> list[OrgUnit]:
    """The units a person heads that sit below no other unit they head, by name."""
    headed = select(OrgUnit.id).where(OrgUnit.head_id == person_id)
    nested = select(OrgUnitPath.descendant_id).where(
        OrgUnitPath.ancestor_id.in_(headed), OrgUnitPath.depth > 0
    )
    return list(
        session.scalars(
            select(OrgUnit)
            .where(OrgUnit.id.in_(headed), OrgUnit.id.not_in(nested))
            .order_by(OrgUnit.name)
        )
    )


def within_headed_units(session: Session, person_id: int, unit_id: int) -> bool:
    """Whether the unit is one the person heads or lies below one."""
    headed = select(OrgUnit.id).where(OrgUnit.head_id == person_id)
    found = session.scalar(
        select(func.count()).where(
            OrgUnitPath.ancestor_id.in_(headed), OrgUnitPath.descendant_id == unit_id
        )
    )
    return bool(found)


def units_with_children(session: Session, unit_ids: list[int]) -> set[int]:
    """Which of these units have units below them."""
    if not unit_ids:
        return set()
    return set(
        session.scalars(select(OrgUnit.parent_id).where(OrgUnit.parent_id.in_(unit_ids)).distinct())
    )


def child_units(session: Session, unit_id: int) -> list[OrgUnit]:
    return list(
        session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit_id).order_by(OrgUnit.name))
    )


def by_unit(
    session: Session,
    unit_ids: list[int],
    *,
    direct_unit_id: int | None = None,
    assessment_id: int | None = None,
    people: Select | None = None,
) -> list[UnitRow]:
    """Per unit of ``unit_ids`` (each with everything below it) and competency: responses,
    marks and people; ``direct_unit_id`` adds a row for the people placed in that unit
    itself (not below it). One grouped query over the closure table."""
    if not unit_ids and direct_unit_id is None:
        return []
    src = _competency_responses(assessment_id, people).subquery("responses")
    in_unit: ColumnElement[bool] = (
        OrgUnitPath.ancestor_id.in_(unit_ids) if unit_ids else literal(False)
    )
    if direct_unit_id is not None:
        in_unit = or_(
            in_unit, and_(OrgUnitPath.ancestor_id == direct_unit_id, OrgUnitPath.depth == 0)
        )
    rows = session.execute(
        select(
            OrgUnitPath.ancestor_id,
            src.c.competency,
            func.count(),
            func.sum(src.c.marks),
            func.sum(src.c.max_marks),
            func.count(func.distinct(src.c.person_id)),
        )
        .select_from(src)
        .join(Person, Person.id == src.c.person_id)
        .join(OrgUnitPath, OrgUnitPath.descendant_id == Person.org_unit_id)
        .where(in_unit)
        .group_by(OrgUnitPath.ancestor_id, src.c.competency)
    ).all()
    return [UnitRow(u, c, int(n), int(m), int(mm), int(p)) for u, c, n, m, mm, p in rows]


def unit_people(
    session: Session,
    unit_ids: list[int],
    *,
    direct_unit_id: int | None = None,
    assessment_id: int | None = None,
    people: Select | None = None,
) -> dict[int, int]:
    """Unit id -> the people with a finished attempt in it (each counted once per unit),
    from the attempts alone."""
    if not unit_ids and direct_unit_id is None:
        return {}
    in_unit: ColumnElement[bool] = (
        OrgUnitPath.ancestor_id.in_(unit_ids) if unit_ids else literal(False)
    )
    if direct_unit_id is not None:
        in_unit = or_(
            in_unit, and_(OrgUnitPath.ancestor_id == direct_unit_id, OrgUnitPath.depth == 0)
        )
    stmt = (
        select(OrgUnitPath.ancestor_id, func.count(func.distinct(Attempt.person_id)))
        .select_from(Attempt)
        .join(Person, Person.id == Attempt.person_id)
        .join(OrgUnitPath, OrgUnitPath.descendant_id == Person.org_unit_id)
        .where(_finished(), in_unit)
        .group_by(OrgUnitPath.ancestor_id)
    )
    if assessment_id is not None:
        stmt = stmt.where(Attempt.assessment_id == assessment_id)
    if people is not None:
        stmt = stmt.where(Attempt.person_id.in_(people))
    return {u: int(n) for u, n in session.execute(stmt).all()}


def assessment_choices(session: Session) -> list[tuple[int, str]]:
    """(id, title) of the assessments that have finished attempts, for a filter."""
    has_attempts = select(Attempt.assessment_id).where(_finished()).distinct()
    return [
        (i, t)
        for i, t in session.execute(
            select(Assessment.id, Assessment.title)
            .where(Assessment.id.in_(has_attempts))
            .order_by(Assessment.title)
        )
    ]
