"""Learning paths and their versions.

A path (``LearningPath``) is the stable identity, named by its code. What it teaches lives in
numbered versions (``PathVersion``): a draft is edited, publishing makes it the version new
enrolments get, and a published version never changes — editing a published path makes a
new draft. Learners enrolled on an old version keep it. Modules (``PathModule``) belong to a
version; a module's code is stable across versions, so sessions, completions and evidence
refer to it by code.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.framework.scale import MAX_LEVEL
from app.org.models import Role


class PathStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class ModuleType(StrEnum):
    E_LEARNING = "e-learning"
    READING = "reading"
    CLASSROOM = "classroom"
    WORKSHOP = "workshop"
    ON_THE_JOB = "on-the-job"
    ASSESSMENT = "assessment"


class LearningPath(Model):
    __tablename__ = "learning_paths"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[PathVersion]] = relationship(
        back_populates="path", order_by="PathVersion.number", cascade="all, delete-orphan"
    )


class PathVersion(Model):
    __tablename__ = "path_versions"
    __table_args__ = (UniqueConstraint("path_id", "number", name="uq_path_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    status: Mapped[PathStatus] = mapped_column(enum_column(PathStatus, "path_status"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    #: Learners may enrol themselves.
    open_enrolment: Mapped[bool] = mapped_column(default=True)
    #: SHA-256 of the canonical content; loading identical content twice is a no-op.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None]
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    path: Mapped[LearningPath] = relationship(back_populates="versions")
    modules: Mapped[list[PathModule]] = relationship(
        back_populates="version", order_by="PathModule.position", cascade="all, delete-orphan"
    )
    audience: Mapped[list[Role]] = relationship(secondary="path_audience", order_by="Role.code")
    prerequisites: Mapped[list[PathPrerequisite]] = relationship(
        back_populates="version",
        order_by="(PathPrerequisite.alternative_set, PathPrerequisite.id)",
        cascade="all, delete-orphan",
    )

    @property
    def label(self) -> str:
        return f"v{self.number} ({self.status.value})"

    @property
    def minutes(self) -> int:
        return sum(m.minutes for m in self.modules)


class PathAudience(Model):
    """The roles a path version is meant for (its target roles)."""

    __tablename__ = "path_audience"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("path_versions.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), primary_key=True, index=True)


class PathPrerequisite(Model):
    """One alternative of one prerequisite: the rows sharing ``alternative_set`` are
    alternatives (any one satisfies it); every set must be satisfied. An alternative is a
    completed path (by code) or a verified external certificate (by catalogue code)."""

    __tablename__ = "path_prerequisites"
    __table_args__ = (
        CheckConstraint(
            "(path_code IS NULL) <> (certificate_code IS NULL)", name="path_or_certificate"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("path_versions.id", ondelete="CASCADE"), index=True
    )
    alternative_set: Mapped[int] = mapped_column(default=0)
    path_code: Mapped[str | None] = mapped_column(String(12))
    certificate_code: Mapped[str | None] = mapped_column(String(16))

    version: Mapped[PathVersion] = relationship(back_populates="prerequisites")


class PathModule(Model):
    __tablename__ = "path_modules"
    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_path_modules_code"),
        CheckConstraint("minutes BETWEEN 1 AND 2400", name="minutes_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("path_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[ModuleType] = mapped_column(enum_column(ModuleType, "module_type"))
    #: Estimated effort, in minutes (content files state hours).
    minutes: Mapped[int]
    optional: Mapped[bool] = mapped_column(default=False)
    #: Codes of the modules of the same version to complete first.
    requires: Mapped[list] = mapped_column(JSON, default=list)
    outcomes: Mapped[list] = mapped_column(JSON, default=list)
    #: The lesson, as Markdown (rendered sanitised).
    lesson: Mapped[str] = mapped_column(Text, default="")
    #: Assessment modules: the assessment whose pass completes the module (the hook the
    #: assessments package fills in).
    assessment_code: Mapped[str | None] = mapped_column(String(32))
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    version: Mapped[PathVersion] = relationship(back_populates="modules")
    evidences: Mapped[list[ModuleEvidence]] = relationship(
        back_populates="module",
        order_by="ModuleEvidence.competency_code",
        cascade="all, delete-orphan",
    )

    @property
    def hours(self) -> float:
        return self.minutes / 60


class ModuleEvidence(Model):
    """A competency level that completing the module evidences."""

    __tablename__ = "module_evidence"
    __table_args__ = (
        UniqueConstraint("module_id", "competency_code", name="uq_module_evidence_code"),
        CheckConstraint(f"level BETWEEN 1 AND {MAX_LEVEL}", name="level_on_scale"),
        Index("ix_module_evidence_code_level", "competency_code", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("path_modules.id", ondelete="CASCADE"))
    competency_code: Mapped[str] = mapped_column(String(16))
    level: Mapped[int]

    module: Mapped[PathModule] = relationship(back_populates="evidences")


class PathChange(Model):
    """Who changed what in a path, and when: the path's history."""

    __tablename__ = "path_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("path_versions.id", ondelete="SET NULL")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
