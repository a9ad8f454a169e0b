"""Enrolments, enrolment rules and module completions.

A person is enrolled on a path at most once (``uq_enrolments_person_path``): that is what
makes an enrolment rule apply once only, and twelve concurrent "enrol" requests give one
enrolment. The enrolment keeps the path version it was made on.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.learning.models.paths import LearningPath, PathModule, PathVersion
from app.org.models import Person, Role


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class EnrolmentSource(StrEnum):
    HAND = "hand"  # a trainer or a manager enrolled the person
    RULE = "rule"  # an enrolment rule, when the person took a role
    SELF = "self"  # the learner enrolled themselves on an open path


class CompletionMethod(StrEnum):
    SELF = "self"  # e-learning and reading: the learner marked it complete
    ATTENDANCE = "attendance"  # classroom and workshop: attendance recorded
    SIGN_OFF = "sign_off"  # on-the-job: the manager or an assessor signed it off
    ASSESSMENT = "assessment"  # the linked assessment was passed (or its result recorded)


class EnrolmentRule(Model):
    """Holders of ``role`` are enrolled on ``path``, due ``due_days`` after taking the role."""

    __tablename__ = "enrolment_rules"
    __table_args__ = (
        UniqueConstraint("path_id", "role_id", name="uq_enrolment_rules_path_role"),
        CheckConstraint("due_days BETWEEN 1 AND 730", name="due_days_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("learning_paths.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    due_days: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    path: Mapped[LearningPath] = relationship()
    role: Mapped[Role] = relationship()


class Enrolment(Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("person_id", "path_id", name="uq_enrolments_person_path"),
        Index("ix_enrolments_status_due", "status", "due_on"),
        # A person's enrolments with their status and due date from the index alone: the
        # learning figures over a manager's reach read no table row.
        Index("ix_enrolments_person_status_due", "person_id", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    path_id: Mapped[int] = mapped_column(ForeignKey("learning_paths.id"), index=True)
    #: The version the person was enrolled on; they keep it when a new one is published.
    version_id: Mapped[int] = mapped_column(ForeignKey("path_versions.id"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(
        enum_column(EnrolmentStatus, "enrolment_status"), default=EnrolmentStatus.ACTIVE
    )
    source: Mapped[EnrolmentSource] = mapped_column(
        enum_column(EnrolmentSource, "enrolment_source")
    )
    due_on: Mapped[date | None]
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolment_rules.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()
    path: Mapped[LearningPath] = relationship()
    version: Mapped[PathVersion] = relationship()
    completions: Mapped[list[ModuleCompletion]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan"
    )


class ModuleCompletion(Model):
    __tablename__ = "module_completions"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "module_code", name="uq_module_completions_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("path_modules.id"), index=True)
    module_code: Mapped[str] = mapped_column(String(16))
    method: Mapped[CompletionMethod] = mapped_column(
        enum_column(CompletionMethod, "completion_method")
    )
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The learner's optional reflection (e-learning, reading).
    reflection: Mapped[str] = mapped_column(Text, default="")
    #: Who signed it off or recorded it (manager, assessor, trainer); None for the learner.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")

    enrolment: Mapped[Enrolment] = relationship(back_populates="completions")
    module: Mapped[PathModule] = relationship()
