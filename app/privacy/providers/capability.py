"""Capability's piece: evidence (self-ratings among it), the decisions on self-ratings,
and calibrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.capability.models import Calibration, Evidence, ValidationDecision
from app.framework.models import SOURCE_LABELS, Competency
from app.privacy.providers.common import user_names
from app.privacy.registry import Provider, Pseudonym, Rows, Subject, row, written


def _evidence_ids(subject: Subject):
    return select(Evidence.id).where(Evidence.person_id == subject.person_id)


def export(session: Session, subject: Subject, _now: datetime) -> dict[str, Rows]:
    evidence = session.execute(
        select(Evidence, Competency.name)
        .join(Competency, Competency.id == Evidence.competency_id)
        .where(Evidence.person_id == subject.person_id)
        .order_by(Evidence.recorded_at, Evidence.id)
    ).all()
    decisions = session.execute(
        select(ValidationDecision, Evidence.competency_code)
        .join(Evidence, Evidence.id == ValidationDecision.evidence_id)
        .where(Evidence.person_id == subject.person_id)
        .order_by(ValidationDecision.decided_at, ValidationDecision.id)
    ).all()
    calibrations = session.execute(
        select(Calibration, Evidence.competency_code)
        .join(Evidence, Evidence.id == Calibration.self_rating_id)
        .where(Calibration.person_id == subject.person_id)
        .order_by(Calibration.opened_at, Calibration.id)
    ).all()
    names = user_names(
        session,
        [e.recorded_by_id for e, _ in evidence]
        + [d.decided_by_id for d, _ in decisions]
        + [c.opened_by_id for c, _ in calibrations]
        + [c.resolved_by_id for c, _ in calibrations],
    )
    return {
        "evidence": [
            row(
                id=e.id,
                competency_code=e.competency_code,
                competency=name,
                source=SOURCE_LABELS.get(e.source, str(e.source)),
                level=e.level,
                achieved_on=e.achieved_on,
                expires_on=e.expires_on,
                validated=e.validated,
                self_rating_status=e.status,
                note=e.note,
                link=e.link,
                certificate_code=e.certificate_code,
                recorded_by=names.get(e.recorded_by_id) if e.recorded_by_id else None,
                recorded_at=e.recorded_at,
                responds_to=e.responds_to_id,
            )
            for e, name in evidence
        ],
        "rating_decisions": [
            row(
                self_rating=d.evidence_id,
                competency_code=code,
                decision=d.decision,
                level=d.level,
                comment=d.comment,
                decided_by=names.get(d.decided_by_id),
                decided_at=d.decided_at,
            )
            for d, code in decisions
        ],
        "calibrations": [
            row(
                self_rating=c.self_rating_id,
                competency_code=code,
                self_level=c.self_level,
                manager_level=c.manager_level,
                manager_comment=c.manager_comment,
                status=c.status,
                opened_by=names.get(c.opened_by_id),
                opened_at=c.opened_at,
                resolved_level=c.resolved_level,
                rationale=c.rationale,
                resolved_by=names.get(c.resolved_by_id) if c.resolved_by_id else None,
                resolved_at=c.resolved_at,
            )
            for c, code in calibrations
        ],
    }


def erase(session: Session, subject: Subject, _pseudonym: Pseudonym) -> dict[str, int]:
    """Free text goes (notes, links, comments, rationales); levels, dates and decisions
    stay, so the levels the reports hold are the same afterwards. Only rows that still hold
    text are written: a second run changes nothing."""
    notes = written(
        session,
        update(Evidence)
        .where(
            Evidence.person_id == subject.person_id,
            or_(Evidence.note != "", Evidence.link.is_not(None)),
        )
        .values(note="", link=None),
    )
    comments = written(
        session,
        update(ValidationDecision)
        .where(
            ValidationDecision.evidence_id.in_(_evidence_ids(subject)),
            ValidationDecision.comment != "",
        )
        .values(comment=""),
    )
    calibrations = written(
        session,
        update(Calibration)
        .where(
            Calibration.person_id == subject.person_id,
            or_(Calibration.manager_comment != "", Calibration.rationale != ""),
        )
        .values(manager_comment="", rationale=""),
    )
    return {
        "evidence notes and links": notes,
        "decision comments": comments,
        "calibration comments": calibrations,
    }


PROVIDER = Provider(
    name="capability",
    owned={
        "evidence": "person_id",
        "validation_decisions": "evidence_id",
        "calibrations": "person_id",
    },
    actions={
        ("evidence", "recorded_by_id"): "capability evidence you recorded",
        ("validation_decisions", "decided_by_id"): "decisions you made on self-ratings",
        ("calibrations", "opened_by_id"): "calibrations you opened",
        ("calibrations", "resolved_by_id"): "calibrations you resolved",
    },
    kinds={
        "evidence": "Your capability evidence, self-ratings among it: competency, level, "
        "source, dates, notes and links",
        "rating_decisions": "Your managers' decisions on your self-ratings, with their comments",
        "calibrations": "Calibrations of your self-ratings, with comments and rationales",
    },
    export=export,
    erase=erase,
    erasure_text="Notes, links, comments and rationales on capability evidence are removed; "
    "levels, dates and decisions stay.",
)
