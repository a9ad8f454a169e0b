"""Use-cases for capability: a person's profile against their roles, self-assessment,
manager validation and calibration. They take a session and explicit inputs, raise
DomainError for a broken rule, flush, and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from app.capability.levels import (
    needs_calibration,
)
from app.capability.models import (
    Calibration,
    CalibrationStatus,
    Decision,
    Evidence,
    RatingStatus,
    ValidationDecision,
)
from app.errors import DomainError
from app.framework.models import (
    Competency,
    Source,
)
from app.framework.scale import MAX_LEVEL, on_scale
from app.framework.versions import require_published
from app.signals import draft_discarding

# --- self-assessment ----------------------------------------------------------------------------


def _check_link(link: str | None) -> str | None:
    if not link or not link.strip():
        return None
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DomainError("Give a web address starting with http:// or https://.", field="link")
    return link.strip()


def record_self_rating(
    session: Session,
    *,
    person_id: int,
    competency_code: str,
    level: int,
    note: str,
    link: str | None,
    actor_id: int,
    on: date,
) -> Evidence:
    """A person rates themselves. The rating waits for their manager; an earlier rating of the
    same competency that is still waiting is withdrawn."""
    version = require_published(session)
    comp = session.scalar(
        select(Competency).where(
            Competency.version_id == version.id, Competency.code == competency_code
        )
    )
    if comp is None:
        raise DomainError("Choose a competency from the framework.", field="competency")
    if not on_scale(level):
        raise DomainError(f"Choose a level from 0 to {MAX_LEVEL}.", field="level")
    link = _check_link(link)
    for earlier in session.scalars(
        select(Evidence).where(
            Evidence.person_id == person_id,
            Evidence.competency_code == competency_code,
            Evidence.source == Source.SELF_RATING,
            Evidence.status == RatingStatus.PENDING,
        )
    ):
        earlier.status = RatingStatus.WITHDRAWN
    evidence = Evidence(
        person_id=person_id,
        competency_id=comp.id,
        competency_code=comp.code,
        source=Source.SELF_RATING,
        level=level,
        achieved_on=on,
        validated=False,
        status=RatingStatus.PENDING,
        note=(note or "").strip(),
        link=link,
        recorded_by_id=actor_id,
    )
    session.add(evidence)
    session.flush()
    return evidence


# --- validated evidence from other domains ------------------------------------------------------


def record_evidence(
    session: Session,
    *,
    person_id: int,
    competency_code: str,
    level: int,
    source: Source,
    achieved_on: date,
    note: str = "",
    link: str | None = None,
    recorded_by_id: int | None = None,
) -> Evidence:
    """Record validated evidence another domain has established (a completed learning
    module, a passed assessment, an assessor's sign-off), against the competency as the
    published framework version defines it. It counts at once, within its source's cap.

    Raises DomainError when no framework is published, the published version has no such
    competency, the level is off the scale, or the source is a self-rating (never validated).
    """
    if source == Source.SELF_RATING:
        raise DomainError("A self-rating is recorded by the person, not as validated evidence.")
    version = require_published(session)
    comp = session.scalar(
        select(Competency).where(
            Competency.version_id == version.id, Competency.code == competency_code
        )
    )
    if comp is None:
        raise DomainError(f"The published framework has no competency {competency_code}.")
    if not on_scale(level):
        raise DomainError(f"Choose a level from 0 to {MAX_LEVEL}.", field="level")
    evidence = Evidence(
        person_id=person_id,
        competency_id=comp.id,
        competency_code=comp.code,
        source=source,
        level=level,
        achieved_on=achieved_on,
        validated=True,
        note=(note or "").strip(),
        link=_check_link(link),
        recorded_by_id=recorded_by_id,
    )
    session.add(evidence)
    session.flush()
    return evidence


# --- manager validation -------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionOutcome:
    decision: ValidationDecision
    evidence: Evidence | None  # the manager rating, when one was recorded
    calibration: Calibration | None


def decide(
    session: Session,
    *,
    rating: Evidence,
    decision: Decision,
    level: int | None,
    comment: str,
    actor_id: int,
    actor_person_id: int,
    on: date,
) -> DecisionOutcome:
    """Accept, adjust or reject a self-rating.

    Accept and adjust record a manager rating (validated evidence) — unless self and
    manager are CALIBRATION_GAP levels or more apart, or the manager rates at level 5
    (levels.needs_calibration): then a calibration opens and the validated level stays as
    it was until it is resolved.
    """
    if rating.source != Source.SELF_RATING or rating.status != RatingStatus.PENDING:
        raise DomainError("This rating has already been decided.")
    if rating.person_id == actor_person_id:
        raise DomainError("You cannot validate your own rating.")
    comment = (comment or "").strip()
    level = _decided_level(rating, decision, level, comment)
    record = ValidationDecision(
        evidence_id=rating.id,
        decision=decision,
        level=level,
        comment=comment,
        decided_by_id=actor_id,
    )
    session.add(record)
    if decision == Decision.REJECT:
        rating.status = RatingStatus.REJECTED
        session.flush()
        return DecisionOutcome(record, None, None)
    assert level is not None  # _decided_level gives a level for accept and adjust
    if needs_calibration(rating.level, level):
        rating.status = RatingStatus.IN_CALIBRATION
        calibration = Calibration(
            person_id=rating.person_id,
            self_rating_id=rating.id,
            self_level=rating.level,
            manager_level=level,
            manager_comment=comment,
            status=CalibrationStatus.OPEN,
            opened_by_id=actor_id,
        )
        session.add(calibration)
        session.flush()
        return DecisionOutcome(record, None, calibration)
    rating.status = RatingStatus.ACCEPTED if decision == Decision.ACCEPT else RatingStatus.ADJUSTED
    evidence = _manager_rating(session, rating, level, comment, actor_id, on)
    return DecisionOutcome(record, evidence, None)


def _decided_level(
    rating: Evidence, decision: Decision, level: int | None, comment: str
) -> int | None:
    """The manager's level for a decision (None for a rejection), or DomainError."""
    if decision == Decision.ACCEPT:
        return rating.level
    if decision == Decision.ADJUST:
        if level is None or not on_scale(level):
            raise DomainError("Choose the level you rate them at.", field="level")
        if level == rating.level:
            raise DomainError("That is the level they gave; accept it instead.", field="level")
        if not comment:
            raise DomainError("Say why you rate them differently.", field="comment")
        return level
    if not comment:
        raise DomainError("Say why you reject the rating.", field="comment")
    return None


def _manager_rating(
    session: Session, rating: Evidence, level: int, note: str, actor_id: int, on: date
) -> Evidence:
    version = require_published(session)
    comp = session.scalar(
        select(Competency).where(
            Competency.version_id == version.id, Competency.code == rating.competency_code
        )
    )
    evidence = Evidence(
        person_id=rating.person_id,
        competency_id=comp.id if comp else rating.competency_id,
        competency_code=rating.competency_code,
        source=Source.MANAGER_RATING,
        level=level,
        achieved_on=on,
        validated=True,
        note=note,
        recorded_by_id=actor_id,
        responds_to_id=rating.id,
    )
    session.add(evidence)
    session.flush()
    return evidence


def resolve_calibration(
    session: Session,
    *,
    calibration: Calibration,
    level: int | None,
    rationale: str,
    actor_id: int,
    actor_person_id: int,
    on: date,
) -> Evidence:
    """Settle a calibration at an agreed level, with the reasons, as a manager rating."""
    if calibration.status != CalibrationStatus.OPEN:
        raise DomainError("This calibration is already resolved.")
    if calibration.person_id == actor_person_id:
        raise DomainError("You cannot resolve a calibration about yourself.")
    if level is None or not on_scale(level):
        raise DomainError("Choose the agreed level.", field="level")
    if not (rationale or "").strip():
        raise DomainError("Give the rationale for the agreed level.", field="rationale")
    rating = calibration.self_rating
    calibration.status = CalibrationStatus.RESOLVED
    calibration.resolved_level = level
    calibration.rationale = rationale.strip()
    calibration.resolved_by_id = actor_id
    calibration.resolved_at = datetime.now(UTC)
    rating.status = RatingStatus.ACCEPTED if level == rating.level else RatingStatus.ADJUSTED
    return _manager_rating(session, rating, level, rationale.strip(), actor_id, on)


@draft_discarding.connect
def _refuse_discarding_a_draft_with_evidence(session: Session, *, version_id: int) -> None:
    """Evidence recorded against a draft's competencies must keep its meaning."""
    used = session.scalar(
        select(func.count(Evidence.id)).join(Competency).where(Competency.version_id == version_id)
    )
    if used:
        raise DomainError("Evidence was recorded against this draft; it cannot be discarded.")
