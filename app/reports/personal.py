"""A person's gap summary for their home page, read from the maintained spans (models.py).

The home page is the page people open most. ``capability.summary.gap_summary`` derives the
same figures from the person's evidence by the current-level rule (loading the published
version's caps and certificate catalogue, the evidence, and the catalogues of older
certificates: seven statements and the rule in Python); the spans hold the rule's answer
already (app/reports/spans.py), refreshed in the same transaction as every change to
evidence, assignments or the published framework, so here it is one indexed statement:
the person's requirement spans live on the date, each with its level span, through the
covering indexes. tests/org/test_home.py checks the two agree on the demo organisation.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from app.capability.levels import gap
from app.capability.summary import BiggestGap, GapSummary
from app.framework.models import Competency
from app.org.models import AssignmentKind, RoleAssignment
from app.reports.models import LevelSpan, RequirementSpan
from app.reports.scope import version_in_force


def _live(valid_from, valid_to, on: date):
    return and_(valid_from <= on, or_(valid_to.is_(None), valid_to > on))


@lru_cache(maxsize=4)
def _lines_statement(on: date) -> Select:
    """(code, name, required, essential, level) of each competency the person's roles
    require on ``on``; kept per date (the version's rule reads the date in)."""
    req, lev = RequirementSpan, LevelSpan
    return (
        select(
            req.competency_code,
            Competency.name,
            req.required,
            req.essential,
            func.coalesce(lev.level, 0).label("level"),
        )
        .outerjoin(
            lev,
            and_(
                lev.person_id == req.person_id,
                lev.competency_code == req.competency_code,
                _live(lev.valid_from, lev.valid_to, on),
            ),
        )
        .outerjoin(
            Competency,
            and_(
                Competency.code == req.competency_code,
                Competency.version_id == version_in_force(on),
            ),
        )
        .where(req.person_id == bindparam("person_id"), _live(req.valid_from, req.valid_to, on))
    )


@lru_cache(maxsize=4)
def _nothing_required_statement(on: date) -> Select:
    """When nothing is required: whether a framework version is in force, and whether the
    person holds a current role at all."""
    holds = exists().where(
        RoleAssignment.person_id == bindparam("person_id"),
        RoleAssignment.kind == AssignmentKind.CURRENT,
        RoleAssignment.start_date <= on,
        or_(RoleAssignment.end_date.is_(None), RoleAssignment.end_date >= on),
    )
    return select(version_in_force(on), holds)


def gap_summary(session: Session, person_id: int, on: date) -> GapSummary | None:
    """``capability.summary.gap_summary`` from the spans: across the person's current roles,
    the competencies required and met, the essential ones short and the biggest gap
    (essential first); None when no framework version was ever published."""
    lines = session.execute(_lines_statement(on), {"person_id": person_id}).all()
    if not lines:
        version_id, has_roles = session.execute(
            _nothing_required_statement(on), {"person_id": person_id}
        ).one()
        return None if version_id is None else GapSummary(bool(has_roles), 0, 0, 0, None)
    short = [
        (gap(line.required, line.level), line.essential, line.competency_code, line)
        for line in lines
        if gap(line.required, line.level)
    ]
    short.sort(key=lambda s: (not s[1], -s[0], s[2]))
    biggest = None
    if short:
        line = short[0][3]
        biggest = BiggestGap(
            line.competency_code, line.name or line.competency_code, line.required, line.level
        )
    return GapSummary(
        has_roles=True,
        required=len(lines),
        met=len(lines) - len(short),
        essential_gaps=sum(1 for s in short if s[1]),
        biggest=biggest,
    )
