"""The maintained tables every report reads: each person's level and requirement per
competency as spans of dates.

A span holds from ``valid_from`` (inclusive) to ``valid_to`` (exclusive; NULL while it
still holds), so that "as at D" is a range filter: ``valid_from <= D AND (valid_to IS NULL
OR valid_to > D)``. For one person and competency the spans never overlap, and two
neighbouring spans never carry the same figures (they would be one span). Levels of 0 and
competencies not required are not stored: no row means 0.

The spans are derived data: app/reports/spans.py states how they follow from evidence,
role assignments and framework versions, app/reports/maintain.py keeps them current, and
``flask reports check`` recomputes them from scratch and reports any difference.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class LevelSpan(Model):
    """A person's validated level in one competency over a span of dates."""

    __tablename__ = "level_spans"
    __table_args__ = (Index("ix_level_spans_code_from", "competency_code", "valid_from"),)

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    competency_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    valid_from: Mapped[date] = mapped_column(primary_key=True)
    valid_to: Mapped[date | None]
    level: Mapped[int]


class RequirementSpan(Model):
    """What a person's current roles ask of them in one competency over a span of dates:
    the highest level any of the roles requires, and whether any role holds it essential."""

    __tablename__ = "requirement_spans"
    __table_args__ = (Index("ix_requirement_spans_code_from", "competency_code", "valid_from"),)

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    competency_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    valid_from: Mapped[date] = mapped_column(primary_key=True)
    valid_to: Mapped[date | None]
    required: Mapped[int]
    essential: Mapped[bool]
