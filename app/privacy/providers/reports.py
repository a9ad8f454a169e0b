"""The reports' piece: each person's levels and requirements over time (the maintained
spans every report reads), and how close they stand to the roles they could step into
(kept for the bench-strength report). All of it is derived from evidence and role
assignments, which stay: erasure leaves it as it is, and so every figure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.org.models import Role
from app.privacy.registry import Provider, Pseudonym, Rows, Subject, row
from app.reports.models import LevelSpan, RequirementSpan, RoleDistance


def export(session: Session, subject: Subject, _now: datetime) -> dict[str, Rows]:
    levels = session.scalars(
        select(LevelSpan)
        .where(LevelSpan.person_id == subject.person_id)
        .order_by(LevelSpan.competency_code, LevelSpan.valid_from)
    ).all()
    requirements = session.scalars(
        select(RequirementSpan)
        .where(RequirementSpan.person_id == subject.person_id)
        .order_by(RequirementSpan.competency_code, RequirementSpan.valid_from)
    ).all()
    distances = session.execute(
        select(RoleDistance, Role.code, Role.name)
        .join(Role, Role.id == RoleDistance.role_id)
        .where(RoleDistance.person_id == subject.person_id)
        .order_by(Role.code)
    ).all()
    return {
        "role_distances": [
            row(
                role_code=code,
                role=name,
                competencies_short=d.short_all,
                competencies_more_than_a_level_short=d.far_all,
                essential_short=d.short_essential,
                essential_more_than_a_level_short=d.far_essential,
            )
            for d, code, name in distances
        ],
        "levels_over_time": [
            row(
                competency_code=s.competency_code,
                valid_from=s.valid_from,
                valid_to=s.valid_to,
                level=s.level,
            )
            for s in levels
        ],
        "requirements_over_time": [
            row(
                competency_code=s.competency_code,
                valid_from=s.valid_from,
                valid_to=s.valid_to,
                required=s.required,
                essential=s.essential,
            )
            for s in requirements
        ],
    }


def erase(_session: Session, _subject: Subject, _pseudonym: Pseudonym) -> dict[str, int]:
    """Nothing to remove: the spans are derived from the evidence and role assignments,
    which stay, and hold no text; they keep every report's figures as they were."""
    return {}


PROVIDER = Provider(
    name="reports",
    owned={
        "level_spans": "person_id",
        "requirement_spans": "person_id",
        "role_distances": "person_id",
        # the dates over which the person's role distances were computed: nothing more
        "role_distance_periods": "person_id",
    },
    actions={},
    kinds={
        "levels_over_time": "Your validated level in each competency, and from when to when",
        "requirements_over_time": "What your roles asked of you in each competency, and "
        "from when to when",
        "role_distances": "Roles you stand close to (for succession planning): how many "
        "of their competencies you are short of",
    },
    export=export,
    erase=erase,
    erasure_text="Levels and requirements over time stay (derived, no text), so reports "
    "give the same figures.",
)
