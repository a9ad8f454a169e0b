"""What the reminders command has sent: one row per message, keyed so that running the
command twice sends nothing new."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import Model


class ReminderLog(Model):
    __tablename__ = "reminder_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the message is about and for whom, e.g. "due:enrolment:42:2026-12-01".
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
