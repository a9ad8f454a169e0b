"""Use-cases for capability: a person's profile against their roles, self-assessment,
manager validation and calibration. They take a session and explicit inputs, raise
DomainError for a broken rule, flush, and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import User
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
from app.org.models import Person
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
    same competency that is still waiting is withdrawn.

    One pending self-rating per competency, however many arrive together (two tabs, a
    double click): the person's row is locked first (``FOR NO KEY UPDATE`` on PostgreSQL,
    which other rows referencing the person do not wait for; SQLite's write transactions
    are one at a time already), so each later rating waits, then sees and withdraws the one
    before it; the last to commit stays pending. A partial unique index
    (``uq_evidence_pending_self_rating``) holds the rule in the database too."""
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
    session.execute(select(Person.id).where(Person.id == person_id).with_for_update(key_share=True))
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

    Exactly once, however many decisions arrive together: the rating leaves "pending" by a
    conditional UPDATE (``_move_rating``), and the database holds one decision, one
    calibration and one manager rating per self-rating at most (unique indexes). The
    others are refused, saying who decided and when.
    """
    if rating.source != Source.SELF_RATING or rating.status != RatingStatus.PENDING:
        raise DomainError(_already_decided(session, rating.id))
    if rating.person_id == actor_person_id:
        raise DomainError("You cannot validate your own rating.")
    comment = (comment or "").strip()
    level = _decided_level(rating, decision, level, comment)
    status = _status_after(rating, decision, level)
    _move_rating(session, rating, RatingStatus.PENDING, status)
    record = ValidationDecision(
        evidence_id=rating.id,
        decision=decision,
        level=level,
        comment=comment,
        decided_by_id=actor_id,
    )
    session.add(record)
    if decision == Decision.REJECT:
        session.flush()
        return DecisionOutcome(record, None, None)
    assert level is not None  # _decided_level gives a level for accept and adjust
    if status == RatingStatus.IN_CALIBRATION:
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
    evidence = _manager_rating(session, rating, level, comment, actor_id, on)
    return DecisionOutcome(record, evidence, None)


def _status_after(rating: Evidence, decision: Decision, level: int | None) -> RatingStatus:
    """Where a decision leaves the self-rating (``level``: the manager's, None to reject)."""
    if decision == Decision.REJECT or level is None:
        return RatingStatus.REJECTED
    if needs_calibration(rating.level, level):
        return RatingStatus.IN_CALIBRATION
    return RatingStatus.ACCEPTED if decision == Decision.ACCEPT else RatingStatus.ADJUSTED


def _when(moment: datetime) -> str:
    """A time in a refusal message (UTC: the service knows no time zone)."""
    return f"{moment:%H:%M} UTC on {moment.day} {moment:%b %Y}"


def _move_rating(
    session: Session, rating: Evidence, expected: RatingStatus, status: RatingStatus
) -> None:
    """Move a self-rating from ``expected`` to ``status`` with one conditional UPDATE, the
    exactly-once guard of a decision: of several simultaneous decisions on one rating (two
    managers, a double click, six tabs) exactly one moves it; the UPDATE of each other waits
    for that one to commit (a row lock on PostgreSQL, the write lock on SQLite), then finds
    the rating no longer ``expected`` and changes nothing, and the decision is refused
    saying who decided it and when (DomainError)."""
    moved = session.execute(
        update(Evidence)
        .where(
            Evidence.id == rating.id,
            Evidence.source == Source.SELF_RATING,
            Evidence.status == expected,
        )
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(_already_decided(session, rating.id))
    session.refresh(rating, ["status"])


def _decider(session: Session, user_id: int | None) -> str:
    """The full name of the person behind a user account ("someone" when there is none)."""
    if user_id is None:
        return "someone"
    row = session.execute(
        select(Person.first_name, Person.last_name)
        .join(User, User.person_id == Person.id)
        .where(User.id == user_id)
    ).first()
    return f"{row.first_name} {row.last_name}" if row else "someone"


def _already_decided(session: Session, evidence_id: int) -> str:
    """Why a self-rating can no longer be decided, in words: who decided it and when."""
    earlier = session.execute(
        select(ValidationDecision.decided_by_id, ValidationDecision.decided_at)
        .where(ValidationDecision.evidence_id == evidence_id)
        .order_by(ValidationDecision.id)
        .limit(1)
    ).first()
    if earlier is not None:
        who = _decider(session, earlier.decided_by_id)
        return f"This rating has already been decided by {who} at {_when(earlier.decided_at)}."
    status = session.scalar(select(Evidence.status).where(Evidence.id == evidence_id))
    if status == RatingStatus.WITHDRAWN:
        return (
            "This rating has already been decided: it was withdrawn, as they have rated "
            "themselves again since."
        )
    return "This rating has already been decided."


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
    """Settle a calibration at an agreed level, with the reasons, as a manager rating.

    Exactly once: the calibration moves from open to resolved with one conditional UPDATE,
    so of several simultaneous resolutions one records the manager rating and the others
    are refused saying who resolved it and when (DomainError)."""
    if calibration.status != CalibrationStatus.OPEN:
        raise DomainError(_already_resolved(session, calibration.id))
    if calibration.person_id == actor_person_id:
        raise DomainError("You cannot resolve a calibration about yourself.")
    if level is None or not on_scale(level):
        raise DomainError("Choose the agreed level.", field="level")
    if not (rationale or "").strip():
        raise DomainError("Give the rationale for the agreed level.", field="rationale")
    moved = session.execute(
        update(Calibration)
        .where(Calibration.id == calibration.id, Calibration.status == CalibrationStatus.OPEN)
        .values(
            status=CalibrationStatus.RESOLVED,
            resolved_level=level,
            rationale=rationale.strip(),
            resolved_by_id=actor_id,
            resolved_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(_already_resolved(session, calibration.id))
    session.refresh(calibration)
    rating = calibration.self_rating
    status = RatingStatus.ACCEPTED if level == rating.level else RatingStatus.ADJUSTED
    _move_rating(session, rating, RatingStatus.IN_CALIBRATION, status)
    return _manager_rating(session, rating, level, rationale.strip(), actor_id, on)


def _already_resolved(session: Session, calibration_id: int) -> str:
    row = session.execute(
        select(Calibration.resolved_by_id, Calibration.resolved_at).where(
            Calibration.id == calibration_id
        )
    ).first()
    if row is None or row.resolved_at is None:
        return "This calibration is already resolved."
    who = _decider(session, row.resolved_by_id)
    return f"This calibration is already resolved: {who} resolved it at {_when(row.resolved_at)}."


@draft_discarding.connect
def _refuse_discarding_a_draft_with_evidence(session: Session, *, version_id: int) -> None:
    """Evidence recorded against a draft's competencies must keep its meaning."""
    used = session.scalar(
        select(func.count(Evidence.id)).join(Competency).where(Competency.version_id == version_id)
    )
    if used:
        raise DomainError("Evidence was recorded against this draft; it cannot be discarded.")
