"""Classroom and workshop sessions, and the bookings on them (with a waiting list)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.learning.models.paths import LearningPath
from app.org.models import Person


class BookingStatus(StrEnum):
    BOOKED = "booked"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class ClassSession(Model):
    """One sitting of a classroom or workshop module (named by its stable code)."""

    __tablename__ = "class_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity BETWEEN 1 AND 500", name="capacity_in_range"),
        Index("ix_class_sessions_module", "path_id", "module_code", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("learning_paths.id"))
    module_code: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(String(200), default="")
    link: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int]
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None]
    attendance_recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    path: Mapped[LearningPath] = relationship()
    bookings: Mapped[list[Booking]] = relationship(
        back_populates="session", order_by="Booking.booked_at", cascade="all, delete-orphan"
    )


class Booking(Model):
    __tablename__ = "session_bookings"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_bookings_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "booking_status"))
    booked_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    #: Recorded by the trainer for the whole session: True attended, False absent.
    attended: Mapped[bool | None]

    session: Mapped[ClassSession] = relationship(back_populates="bookings")
    person: Mapped[Person] = relationship()
