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

Derived from the level spans for the bench-strength report: each person's distance to
each role's profile as it stands today (role_distances, with the dates it holds over in
role_distance_periods), kept by the same hooks (app/reports/distances.py).

Beside them, the rules of the P3O function coverage report (office_functions and its two
small tables): content a trainer edits in curricula/office-functions.yaml and loads with
``flask content load``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column
from app.extensions import Model


class LevelSpan(Model):
    """A person's validated level in one competency over a span of dates."""

    __tablename__ = "level_spans"
    __table_args__ = (
        Index("ix_level_spans_code_from", "competency_code", "valid_from"),
        #: Covering: the reports' "levels as at D" joins read it alone (index-only on
        #: PostgreSQL, a merge join in key order; no table look-up on SQLite).
        Index(
            "ix_level_spans_cover",
            "person_id",
            "competency_code",
            "valid_from",
            "valid_to",
            "level",
        ),
    )

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
    __table_args__ = (
        Index("ix_requirement_spans_code_from", "competency_code", "valid_from"),
        #: Covering, as ix_level_spans_cover.
        Index(
            "ix_requirement_spans_cover",
            "person_id",
            "competency_code",
            "valid_from",
            "valid_to",
            "required",
            "essential",
        ),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    competency_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    valid_from: Mapped[date] = mapped_column(primary_key=True)
    valid_to: Mapped[date | None]
    required: Mapped[int]
    essential: Mapped[bool]


class RoleDistance(Model):
    """How far a person is from a role's profile, kept for the bench-strength report
    (app/reports/distances.py): on every competency of the profile and on its essential
    ones, how many the person is below (``short_*``) and how many by more than one level
    (``far_*``). Only the pairs that can stand on a bench are kept: no competency more than
    one level short and at most ``distances.WITHIN_MAX`` short, on either basis (fewer than
    one pair in a hundred). The figures hold over the person's ``RoleDistancePeriod``."""

    __tablename__ = "role_distances"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    short_all: Mapped[int]
    far_all: Mapped[int]
    short_essential: Mapped[int]
    far_essential: Mapped[int]


class RoleDistancePeriod(Model):
    """The dates over which a person's stored role distances hold, [valid_from, valid_to)
    (valid_to NULL: until their levels next change): none of their level spans starts or
    ends inside, nor does a framework version come into force. A person without a period,
    or asked about outside it, is computed on the fly (the stored figures are a cache,
    never the only source)."""

    __tablename__ = "role_distance_periods"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]


class OfficeKind(StrEnum):
    """What decides the functions an office needs (curricula/office-functions.yaml)."""

    PORTFOLIO = "portfolio"
    PROGRAMME = "programme"
    PROJECT = "project"
    #: added for any office that other offices report into (it has spokes)
    HUB = "hub"
    #: instead of its P3 level's list, for an office marked as a Centre of Excellence
    CENTRE_OF_EXCELLENCE = "centre_of_excellence"


class OfficeFunction(Model):
    """A P3O function an office provides (planning, risk, reporting…), as a trainer defines
    it in curricula/office-functions.yaml: which competencies a member must hold, and at
    what level, to cover it. Loaded by ``flask content load``; never edited elsewhere."""

    __tablename__ = "office_functions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    #: the level a member needs in every competency of the function to cover it
    level: Mapped[int]
    #: the function's place in the file, for display
    position: Mapped[int] = mapped_column(default=0)

    competencies: Mapped[list[OfficeFunctionCompetency]] = relationship(
        back_populates="function",
        cascade="all, delete-orphan",
        order_by="OfficeFunctionCompetency.position",
    )
    needs: Mapped[list[OfficeFunctionNeed]] = relationship(
        back_populates="function", cascade="all, delete-orphan"
    )


class OfficeFunctionCompetency(Model):
    """One competency a function asks for (a member covers the function only when at the
    function's level in all of them)."""

    __tablename__ = "office_function_competencies"

    function_id: Mapped[int] = mapped_column(
        ForeignKey("office_functions.id", ondelete="CASCADE"), primary_key=True
    )
    competency_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    function: Mapped[OfficeFunction] = relationship(back_populates="competencies")


class OfficeFunctionNeed(Model):
    """A kind of office that needs a function."""

    __tablename__ = "office_function_needs"

    function_id: Mapped[int] = mapped_column(
        ForeignKey("office_functions.id", ondelete="CASCADE"), primary_key=True
    )
    office_kind: Mapped[OfficeKind] = mapped_column(
        enum_column(OfficeKind, "office_kind", 24), primary_key=True
    )

    function: Mapped[OfficeFunction] = relationship(back_populates="needs")
