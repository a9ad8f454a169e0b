"""Certificates of completion (issued by the product, publicly verifiable), external
certificates a learner records (verified by a trainer), and CPD hours."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.learning.models.enrolment import Enrolment
from app.org.models import Person


class CompletionCertificate(Model):
    """What the certificate states is copied onto it when issued, so that it reads the same
    whatever later happens to the path or the person's record."""

    __tablename__ = "completion_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), unique=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: The unguessable code of the public verification page.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    learner_name: Mapped[str] = mapped_column(String(200))
    path_code: Mapped[str] = mapped_column(String(12))
    path_title: Mapped[str] = mapped_column(String(200))
    version_number: Mapped[int]
    minutes: Mapped[int]
    #: [{"code": ..., "name": ..., "level": ...}] — the competencies the path evidenced.
    competencies: Mapped[list] = mapped_column(JSON, default=list)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="")
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    enrolment: Mapped[Enrolment] = relationship()
    person: Mapped[Person] = relationship()


class ExternalStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ExternalCertificate(Model):
    """A certificate a learner holds from outside (the framework's catalogue, or "other"),
    with its uploaded copy, waiting for a trainer to verify it."""

    __tablename__ = "external_certificates"
    __table_args__ = (
        CheckConstraint(
            "(certificate_code IS NULL) <> (other_name IS NULL)", name="catalogue_or_other"
        ),
        CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="expiry_after"),
        Index("ix_external_certificates_status", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    certificate_code: Mapped[str | None] = mapped_column(String(16))
    other_name: Mapped[str | None] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[date]
    expires_on: Mapped[date | None]
    #: The stored copy: a random name under the upload folder (outside the web root).
    file_name: Mapped[str | None] = mapped_column(String(80))
    file_type: Mapped[str | None] = mapped_column(String(40))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    file_size: Mapped[int | None]
    status: Mapped[ExternalStatus] = mapped_column(
        enum_column(ExternalStatus, "external_status"), default=ExternalStatus.PENDING
    )
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str] = mapped_column(Text, default="")
    #: The evidence a verified catalogue certificate recorded.
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship()


class CpdRecord(Model):
    """Continuing professional development a learner logs: an activity and its hours."""

    __tablename__ = "cpd_records"
    __table_args__ = (CheckConstraint("minutes BETWEEN 1 AND 6000", name="minutes_in_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    activity: Mapped[str] = mapped_column(String(200))
    done_on: Mapped[date]
    minutes: Mapped[int]
    notes: Mapped[str] = mapped_column(Text, default="")
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("external_certificates.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
