"""A person's capability: evidence, self-ratings and their validation, calibrations.

Evidence points at the competency definition of the framework version it was recorded
against, and carries the competency's stable code, so a new version never rewrites what old
evidence meant.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.framework.models import Competency, Source
from app.framework.scale import MAX_LEVEL
from app.org.models import Person


class RatingStatus(StrEnum):
    """Where a self-rating stands with the manager."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    ADJUSTED = "adjusted"
    REJECTED = "rejected"
    IN_CALIBRATION = "in_calibration"
    WITHDRAWN = "withdrawn"


class Decision(StrEnum):
    ACCEPT = "accept"
    ADJUST = "adjust"
    REJECT = "reject"


class CalibrationStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


#: The rows of self-ratings still waiting for the manager (a partial unique index).
PENDING_SELF_RATING = "source = 'self_rating' AND status = 'pending'"


class Evidence(Model):
    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(f"level BETWEEN 0 AND {MAX_LEVEL}", name="level_on_scale"),
        CheckConstraint("expires_on IS NULL OR expires_on >= achieved_on", name="expiry_after"),
        Index("ix_evidence_person_code", "person_id", "competency_code"),
        #: One manager rating answers a self-rating, however many decisions race.
        Index(
            "uq_evidence_responds_to_id",
            "responds_to_id",
            unique=True,
            sqlite_where=text("responds_to_id IS NOT NULL"),
            postgresql_where=text("responds_to_id IS NOT NULL"),
        ),
        #: One self-rating of a competency waits for the manager, however many arrive
        #: together (migration 0016; ``services.record_self_rating``).
        Index(
            "uq_evidence_pending_self_rating",
            "person_id",
            "competency_code",
            unique=True,
            sqlite_where=text(PENDING_SELF_RATING),
            postgresql_where=text(PENDING_SELF_RATING),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    #: The competency as defined in the version the evidence was recorded against.
    competency_id: Mapped[int] = mapped_column(ForeignKey("competencies.id"), index=True)
    competency_code: Mapped[str] = mapped_column(String(16))
    source: Mapped[Source] = mapped_column(enum_column(Source, "evidence_source", 24))
    level: Mapped[int]
    achieved_on: Mapped[date]
    expires_on: Mapped[date | None]
    #: Counts towards the validated level (self-ratings never do).
    validated: Mapped[bool] = mapped_column(default=False)
    #: Self-ratings only: where the rating stands with the manager.
    status: Mapped[RatingStatus | None] = mapped_column(
        enum_column(RatingStatus, "rating_status", 24), index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    #: External certificates: the catalogue code of the certificate (see Certificate).
    certificate_code: Mapped[str | None] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A manager rating made when deciding on a self-rating points back at it.
    responds_to_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))

    person: Mapped[Person] = relationship()
    competency: Mapped[Competency] = relationship()


class ValidationDecision(Model):
    """A manager's decision on a self-rating: who, when, what, why."""

    __tablename__ = "validation_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One decision per self-rating (unique): a second is refused, never recorded.
    evidence_id: Mapped[int] = mapped_column(
        ForeignKey("evidence.id", ondelete="CASCADE"), index=True, unique=True
    )
    decision: Mapped[Decision] = mapped_column(enum_column(Decision, "decision"))
    level: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    evidence: Mapped[Evidence] = relationship()


class Calibration(Model):
    """Opened when self and manager differ by two levels or more; the validated level
    stays as it was until someone resolves it with a rationale."""

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: One calibration per self-rating (unique).
    self_rating_id: Mapped[int] = mapped_column(
        ForeignKey("evidence.id", ondelete="CASCADE"), index=True, unique=True
    )
    self_level: Mapped[int]
    manager_level: Mapped[int]
    manager_comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CalibrationStatus] = mapped_column(
        enum_column(CalibrationStatus, "calibration_status"), index=True
    )
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_level: Mapped[int | None]
    rationale: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()
    self_rating: Mapped[Evidence] = relationship()
