"""Attempts, the items each one drew, and materialised item statistics.

An attempt (``Attempt``) is numbered per person and assessment
(``uq_attempts_person_assessment_number``): the next number is taken in the same
transaction as the limit check, so concurrent starts never exceed the limit. The server
owns the clock: ``deadline`` is fixed at the start; an attempt closed by the server is
recorded as finished at the deadline. ``status`` moves from ``in_progress`` exactly once
(a conditional update), so concurrent submits give one result. The result (marks, max
marks, passed) is on the attempt row itself.

Each drawn item is an ``AttemptItem``: the exact item version, its place, whether it is
scored, the shuffled display order, and the learner's answer with a revision counter — a
save names the revision it was based on, and a stale tab's save (an older revision) is
refused rather than overwriting a newer answer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.assessment.models.assessments import Assessment
from app.assessment.models.banks import ItemVersion
from app.db import enum_column, utcnow
from app.extensions import Model
from app.org.models import Person


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  # the learner submitted
    TIMED_OUT = "timed_out"  # the server closed it at the deadline with the answers saved


class Attempt(Model):
    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint(
            "person_id", "assessment_id", "number", name="uq_attempts_person_assessment_number"
        ),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "marks IS NULL OR (max_marks IS NOT NULL AND marks BETWEEN 0 AND max_marks)",
            name="marks_in_range",
        ),
        CheckConstraint("deadline IS NULL OR deadline > started_at", name="deadline_after_start"),
        Index("ix_attempts_status_deadline", "status", "deadline"),
        Index("ix_attempts_assessment_status", "assessment_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: 1, 2, 3 ... per person and assessment.
    number: Mapped[int]
    status: Mapped[AttemptStatus] = mapped_column(
        enum_column(AttemptStatus, "attempt_status"), default=AttemptStatus.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: started_at + the time limit; None for an untimed assessment.
    deadline: Mapped[datetime | None]
    #: When the learner submitted (None when the server closed it).
    submitted_at: Mapped[datetime | None]
    #: When the attempt counts as finished: the submission, or the deadline.
    finished_at: Mapped[datetime | None]
    #: The pass mark in force when the attempt started.
    pass_percent: Mapped[int]
    #: The result, set once when the attempt finishes (scored items only).
    marks: Mapped[int | None]
    max_marks: Mapped[int | None]
    passed: Mapped[bool | None]
    #: Competency code -> level this attempt certified when it finished (the rule in
    #: ``content.certified_levels`` applied to the assessment's levels then in force).
    certified: Mapped[dict] = mapped_column(JSON, default=dict)

    assessment: Mapped[Assessment] = relationship()
    person: Mapped[Person] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position", cascade="all, delete-orphan"
    )


class AttemptItem(Model):
    """One drawn item of an attempt, with the learner's answer."""

    __tablename__ = "attempt_items"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position", name="uq_attempt_items_position"),
        UniqueConstraint("attempt_id", "item_version_id", name="uq_attempt_items_item_version"),
        CheckConstraint("revision >= 0", name="revision_not_negative"),
        CheckConstraint("marks IS NULL OR marks BETWEEN 0 AND max_marks", name="marks_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    #: 0, 1, 2 ... the order the learner sees (after any shuffle).
    position: Mapped[int]
    #: The section (``AssessmentSection.position``) the item was drawn for.
    section: Mapped[int] = mapped_column(default=0)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    #: Unscored trial items are answered but do not count.
    scored: Mapped[bool] = mapped_column(default=True)
    #: The display order: option indexes (single, multiple), response ids (matching), step
    #: indexes (sequencing), as shown to this learner.
    presentation: Mapped[list] = mapped_column(JSON, default=list)
    #: The answer in the item's own terms (``content.score_item``); NULL when unanswered.
    answer: Mapped[object | None] = mapped_column(JSON(none_as_null=True))
    #: Bumped by every saved answer; a save based on an older revision is refused.
    revision: Mapped[int] = mapped_column(default=0)
    answered_at: Mapped[datetime | None]
    #: Set when the attempt finishes.
    marks: Mapped[int | None]
    max_marks: Mapped[int] = mapped_column(default=1)

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    item_version: Mapped[ItemVersion] = relationship()


class ItemStatistic(Model):
    """An item version's statistics within one assessment, as last computed: facility (the
    share of marks earned), discrimination (point-biserial against the rest of the test),
    how often each answer was chosen, and whether it is flagged for review."""

    __tablename__ = "item_statistics"
    __table_args__ = (
        UniqueConstraint(
            "assessment_id", "item_version_id", name="uq_item_statistics_assessment_item"
        ),
        CheckConstraint("responses >= 0", name="responses_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    #: Finished attempts in which the item was scored.
    responses: Mapped[int] = mapped_column(default=0)
    facility: Mapped[float | None]
    discrimination: Mapped[float | None]
    #: answer (as JSON text) -> how many chose it; "" for no answer
    choices: Mapped[dict] = mapped_column(JSON, default=dict)
    flagged: Mapped[bool] = mapped_column(default=False)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[Assessment] = relationship()
    item_version: Mapped[ItemVersion] = relationship()
