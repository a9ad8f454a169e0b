"""Assessments: what a learner takes, drawn from question banks.

An assessment (``Assessment``) has sections (``AssessmentSection``), each drawing a number of
items (or whole scenarios) from one bank's published version, filtered by topic, tag and
competency; its rules (pass mark, time limit with a grace, attempt limit, the wait between
attempts, shuffling, when feedback is shown, when it opens and closes); the competency
levels a pass certifies (``AssessmentCertification``, subject to the rule in
``app.assessment.content.certified_levels``); and the learning module a pass completes.

Trainers edit assessments while learners take them, so the row carries a version counter
(``row_version``): a stale edit form fails instead of overwriting a newer one. An attempt
copies what it needs at its start (its deadline, the pass mark) and keeps the item
versions it drew.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.assessment.models.banks import QuestionBank
from app.db import enum_column, utcnow
from app.extensions import Model
from app.framework.scale import MAX_LEVEL


class AssessmentStatus(StrEnum):
    DRAFT = "draft"  # being built; learners cannot start it
    PUBLISHED = "published"  # learners can start it (between opens_at and closes_at)
    RETIRED = "retired"  # no new attempts; results and reviews stay


class FeedbackPolicy(StrEnum):
    """When a learner may review their answers with the key and rationales."""

    NONE = "none"
    AFTER_SUBMISSION = "after_submission"
    AFTER_CLOSE = "after_close"


class DrawUnit(StrEnum):
    ITEM = "item"  # draw ``count`` items
    SCENARIO = "scenario"  # draw ``count`` scenarios, each with all its items


#: The defaults the plan sets (CURRICULA.md): three attempts, 24 hours apart.
DEFAULT_ATTEMPT_LIMIT = 3
DEFAULT_WAIT_MINUTES = 24 * 60
#: Seconds past the deadline an answer sent before it may still arrive.
DEFAULT_GRACE_SECONDS = 60


class Assessment(Model):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("pass_percent BETWEEN 0 AND 100", name="pass_percent_in_range"),
        CheckConstraint(
            "time_limit_minutes IS NULL OR time_limit_minutes BETWEEN 1 AND 1440",
            name="time_limit_in_range",
        ),
        CheckConstraint("grace_seconds BETWEEN 0 AND 600", name="grace_in_range"),
        CheckConstraint(
            "attempt_limit IS NULL OR attempt_limit >= 1", name="attempt_limit_positive"
        ),
        CheckConstraint("wait_minutes >= 0", name="wait_not_negative"),
        CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at",
            name="closes_after_opening",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code; a learning module names it (``PathModule.assessment_code``).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_column(AssessmentStatus, "assessment_status"), default=AssessmentStatus.DRAFT
    )
    #: A pass: at least this percentage of the scored marks (``content.passed``).
    pass_percent: Mapped[int] = mapped_column(default=50)
    #: None: untimed.
    time_limit_minutes: Mapped[int | None]
    grace_seconds: Mapped[int] = mapped_column(default=DEFAULT_GRACE_SECONDS)
    #: None: unlimited attempts.
    attempt_limit: Mapped[int | None] = mapped_column(default=DEFAULT_ATTEMPT_LIMIT)
    #: The least time between finishing one attempt and starting the next.
    wait_minutes: Mapped[int] = mapped_column(default=DEFAULT_WAIT_MINUTES)
    shuffle_items: Mapped[bool] = mapped_column(default=True)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    feedback: Mapped[FeedbackPolicy] = mapped_column(
        enum_column(FeedbackPolicy, "feedback_policy"), default=FeedbackPolicy.AFTER_SUBMISSION
    )
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    #: The learning module a pass completes (``PathModule.code``, e.g. ``P3OF-08``).
    module_code: Mapped[str | None] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Optimistic lock: bumped on every update; a stale edit raises StaleDataError.
    row_version: Mapped[int] = mapped_column(default=1)

    sections: Mapped[list[AssessmentSection]] = relationship(
        back_populates="assessment",
        order_by="AssessmentSection.position",
        cascade="all, delete-orphan",
    )
    certifies: Mapped[list[AssessmentCertification]] = relationship(
        back_populates="assessment",
        order_by="AssessmentCertification.competency_code",
        cascade="all, delete-orphan",
    )

    __mapper_args__ = {"version_id_col": row_version}


class AssessmentSection(Model):
    """One section: ``count`` items (or scenarios) drawn from ``bank``'s published version,
    of which ``unscored`` are trial items that do not count (the foundation format's 5 of
    75). Empty filters let every item through; a filter lists topic codes, tags or
    competency codes, any of which admits an item (``content.SectionDraw``)."""

    __tablename__ = "assessment_sections"
    __table_args__ = (
        UniqueConstraint("assessment_id", "position", name="uq_assessment_sections_position"),
        CheckConstraint("count BETWEEN 1 AND 500", name="count_in_range"),
        CheckConstraint("unscored >= 0 AND unscored < count", name="unscored_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="")
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id"), index=True)
    unit: Mapped[DrawUnit] = mapped_column(
        enum_column(DrawUnit, "draw_unit"), default=DrawUnit.ITEM
    )
    count: Mapped[int]
    unscored: Mapped[int] = mapped_column(default=0)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    competencies: Mapped[list] = mapped_column(JSON, default=list)

    assessment: Mapped[Assessment] = relationship(back_populates="sections")
    bank: Mapped[QuestionBank] = relationship()


class AssessmentCertification(Model):
    """A competency level a pass certifies, for a competency the attempt covered well
    enough (``content.certified_levels``)."""

    __tablename__ = "assessment_certifications"
    __table_args__ = (
        UniqueConstraint(
            "assessment_id", "competency_code", name="uq_assessment_certifications_code"
        ),
        CheckConstraint(f"level BETWEEN 1 AND {MAX_LEVEL}", name="level_on_scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    competency_code: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[int]

    assessment: Mapped[Assessment] = relationship(back_populates="certifies")
