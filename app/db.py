"""Model helpers every domain shares: the UTC clock and portable enum columns."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Enum, text
from sqlalchemy.orm import Session


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the default of every timestamp column."""
    return datetime.now(UTC)


def enum_column(cls: type[StrEnum], name: str, length: int = 16) -> Enum:
    """A portable enum: VARCHAR plus a CHECK constraint on every engine."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def refresh_planner_statistics(session: Session) -> None:
    """ANALYZE after a bulk load (the demo, a staff import), so that the query planner
    knows, say, that a line manager has a handful of reports, not half the organisation.
    SQLite has no statistics until told to gather them and then picks indexes blindly."""
    session.execute(text("ANALYZE"))
