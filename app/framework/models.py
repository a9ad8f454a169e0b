"""The competency framework (versioned): scale, evidence caps, competencies, role profiles.

A framework has numbered versions. Everything that defines it — the proficiency scale, the
evidence caps, groups, competencies and role requirements — belongs to one version, so a
published version never changes: editing works on a draft copy, publishing makes the draft
the current version. Evidence points at the competency definition of the version it was
recorded against, and carries the competency's stable code, so a new version never rewrites
what old evidence meant.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.framework.scale import MAX_LEVEL
from app.org.models import Role


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Source(StrEnum):
    """Where a piece of evidence comes from."""

    ASSESSMENT = "assessment"
    MODULE_COMPLETION = "module_completion"
    EXTERNAL_CERTIFICATE = "external_certificate"
    SELF_RATING = "self_rating"
    MANAGER_RATING = "manager_rating"
    ASSESSOR_OBSERVATION = "assessor_observation"
    PRIOR_LEARNING = "prior_learning"


SOURCE_LABELS = {
    Source.ASSESSMENT: "Assessment passed",
    Source.MODULE_COMPLETION: "Module completed",
    Source.EXTERNAL_CERTIFICATE: "External certificate",
    Source.SELF_RATING: "Self-rating",
    Source.MANAGER_RATING: "Manager rating",
    Source.ASSESSOR_OBSERVATION: "Assessor observation",
    Source.PRIOR_LEARNING: "Recognised prior learning",
}

#: The sources whose evidence a framework caps (self-ratings never count on their own).
CAPPABLE = [s.value for s in Source if s != Source.SELF_RATING]


class Framework(Model):
    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(160))

    versions: Mapped[list[FrameworkVersion]] = relationship(
        back_populates="framework", order_by="FrameworkVersion.number"
    )


class FrameworkVersion(Model):
    __tablename__ = "framework_versions"
    __table_args__ = (
        UniqueConstraint("framework_id", "number", name="uq_framework_versions_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"), index=True)
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(enum_column(VersionStatus, "version_status"))
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    #: SHA-256 of the canonical content; loading identical content twice is a no-op.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    framework: Mapped[Framework] = relationship(back_populates="versions")
    levels: Mapped[list[ProficiencyLevel]] = relationship(
        back_populates="version", order_by="ProficiencyLevel.level", cascade="all, delete-orphan"
    )
    caps: Mapped[list[EvidenceCap]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    groups: Mapped[list[CompetencyGroup]] = relationship(
        back_populates="version", order_by="CompetencyGroup.position", cascade="all, delete-orphan"
    )
    competencies: Mapped[list[Competency]] = relationship(
        back_populates="version", order_by="Competency.position", cascade="all, delete-orphan"
    )
    requirements: Mapped[list[RoleRequirement]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="version", order_by="Certificate.code", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        return f"v{self.number} ({self.status.value})"


class ProficiencyLevel(Model):
    __tablename__ = "proficiency_levels"
    __table_args__ = (
        UniqueConstraint("version_id", "level", name="uq_proficiency_levels_level"),
        CheckConstraint(f"level BETWEEN 0 AND {MAX_LEVEL}", name="level_on_scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    descriptor: Mapped[str] = mapped_column(Text, default="")
    #: A clarification shown with the level (e.g. that level 3 is not a qualification).
    note: Mapped[str] = mapped_column(Text, default="")
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    version: Mapped[FrameworkVersion] = relationship(back_populates="levels")


class EvidenceCap(Model):
    """The highest level one source of evidence can prove on its own."""

    __tablename__ = "evidence_caps"
    __table_args__ = (CheckConstraint(f"max_level BETWEEN 0 AND {MAX_LEVEL}", name="cap_on_scale"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[Source] = mapped_column(
        enum_column(Source, "evidence_source", 24), primary_key=True
    )
    max_level: Mapped[int]
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    version: Mapped[FrameworkVersion] = relationship(back_populates="caps")


class CompetencyGroup(Model):
    __tablename__ = "competency_groups"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_competency_groups_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    version: Mapped[FrameworkVersion] = relationship(back_populates="groups")
    competencies: Mapped[list[Competency]] = relationship(
        back_populates="group", order_by="Competency.position"
    )


class Competency(Model):
    __tablename__ = "competencies"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_competencies_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("competency_groups.id", ondelete="CASCADE"), index=True
    )
    #: Stable across versions: evidence and reports match competencies by code.
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Where this competency meets a neighbour at the top, and which one covers what.
    boundary: Mapped[str] = mapped_column(Text, default="")
    #: {level: what the competency looks like at that level}
    indicators: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    version: Mapped[FrameworkVersion] = relationship(back_populates="competencies")
    group: Mapped[CompetencyGroup] = relationship(back_populates="competencies")


class RoleRequirement(Model):
    """One line of a role profile: the level a role needs in a competency."""

    __tablename__ = "role_requirements"
    __table_args__ = (
        UniqueConstraint(
            "version_id", "role_id", "competency_id", name="uq_role_requirements_once"
        ),
        CheckConstraint(f"level BETWEEN 1 AND {MAX_LEVEL}", name="level_on_scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="CASCADE"), index=True
    )
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    competency_id: Mapped[int] = mapped_column(
        ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int]
    essential: Mapped[bool] = mapped_column(default=True)
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    version: Mapped[FrameworkVersion] = relationship(back_populates="requirements")
    role: Mapped[Role] = relationship()
    competency: Mapped[Competency] = relationship()


class Certificate(Model):
    """An external certificate of the catalogue and what it proves: for each competency it
    evidences, the level it can prove (never above ``max_level``). Versioned with the
    framework, so a certificate held against an old version keeps meaning what it meant."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_certificates_code"),
        CheckConstraint(f"max_level BETWEEN 1 AND {MAX_LEVEL}", name="max_on_scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(160))
    issuer: Mapped[str] = mapped_column(String(120))
    #: True when the certificate lapses; the expiry date comes from the holder's record.
    expires: Mapped[bool] = mapped_column(default=False)
    max_level: Mapped[int]
    #: competency code -> the level the certificate proves in it.
    evidences: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    version: Mapped[FrameworkVersion] = relationship(back_populates="certificates")
