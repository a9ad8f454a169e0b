"""The organisation: org units, P3O offices, people, the role catalogue and role assignments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model


class P3Level(StrEnum):
    PORTFOLIO = "portfolio"
    PROGRAMME = "programme"
    PROJECT = "project"


class RoleLevel(StrEnum):
    """Where a role mainly works: one P3 level, or any."""

    PORTFOLIO = "portfolio"
    PROGRAMME = "programme"
    PROJECT = "project"
    ANY = "any"


class RoleFamily(StrEnum):
    PMO = "pmo"
    DELIVERY = "delivery"
    SUPPORT = "support"


class Permanence(StrEnum):
    PERMANENT = "permanent"
    TEMPORARY = "temporary"


class AssignmentSource(StrEnum):
    """Who made a role assignment: an import ends only the ones it made itself."""

    HAND = "hand"
    IMPORT = "import"
    RULE = "rule"


class AssignmentKind(StrEnum):
    CURRENT = "current"
    TARGET = "target"


class OrgUnit(Model):
    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: The person who heads the unit; as a manager they see its whole subtree.
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    parent: Mapped[OrgUnit | None] = relationship(
        remote_side=[id], back_populates="children", foreign_keys=[parent_id]
    )
    children: Mapped[list[OrgUnit]] = relationship(
        back_populates="parent", foreign_keys=[parent_id]
    )
    head: Mapped[Person | None] = relationship(foreign_keys=[head_id])

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"


class OrgUnitPath(Model):
    """The org-unit tree as a closure table: one row per (ancestor, descendant) pair, each
    unit with itself at depth 0, so that "this unit and everything below it" is one indexed
    lookup instead of a recursive query. Kept in step by ``app.org.tree`` whenever units are
    added, moved or deleted; never written by hand."""

    __tablename__ = "org_unit_paths"

    ancestor_id: Mapped[int] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True
    )
    descendant_id: Mapped[int] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    depth: Mapped[int]


class ReportingLine(Model):
    """The reporting line as a closure table: one row per (manager, person) pair where the
    person reports to the manager directly or through others, and each person with
    themself at depth 0, so that "a manager and everyone below them in the line" is one
    indexed lookup instead of a recursive walk down ``line_manager_id`` on every page. Kept
    in step by ``app.org.lines`` whenever a person is added or changes line manager;
    never written by hand."""

    __tablename__ = "reporting_lines"

    manager_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    depth: Mapped[int]


class Office(Model):
    """A P3O office: portfolio, programme or project level; permanent or temporary."""

    __tablename__ = "offices"
    __table_args__ = (
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    p3_level: Mapped[P3Level] = mapped_column(enum_column(P3Level, "p3_level"))
    permanence: Mapped[Permanence] = mapped_column(enum_column(Permanence, "permanence"))
    #: Centre of Excellence: sets standards, methods, skills and assurance.
    is_coe: Mapped[bool] = mapped_column(default=False)
    #: A spoke office points at its hub.
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    hub: Mapped[Office | None] = relationship(remote_side=[id], back_populates="spokes")
    spokes: Mapped[list[Office]] = relationship(back_populates="hub")
    org_unit: Mapped[OrgUnit | None] = relationship()

    def __repr__(self) -> str:
        return f"<Office {self.code}>"


class Person(Model):
    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_name", "last_name", "first_name"),
        #: The people lists: active people in name order, read straight off the index.
        Index("ix_people_active_name", "active", "last_name", "first_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The key shared with the HR system; unique and stable.
    employee_number: Mapped[str] = mapped_column(String(32), unique=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    job_title: Mapped[str | None] = mapped_column(String(120))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    line_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True, index=True)
    #: The last day of employment, from HR.
    leaving_date: Mapped[date | None]
    #: When the record was anonymised (app/privacy): names, email and employee number are
    #: then a pseudonym, and the row stays so that figures keep counting the person.
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    org_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[org_unit_id])
    line_manager: Mapped[Person | None] = relationship(remote_side=[id])
    assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="RoleAssignment.start_date"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __repr__(self) -> str:
        return f"<Person {self.employee_number}>"


class Role(Model):
    """A job role of the catalogue (not an app permission)."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    p3_level: Mapped[RoleLevel] = mapped_column(enum_column(RoleLevel, "role_level"))
    family: Mapped[RoleFamily] = mapped_column(enum_column(RoleFamily, "role_family"))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Other job titles HR systems use for this role (suggest job-title mappings on import).
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    def __repr__(self) -> str:
        return f"<Role {self.code}>"


class RoleAssignment(Model):
    """A person holds (current) or aims for (target) a role, optionally within an office."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        UniqueConstraint(
            "person_id", "role_id", "kind", "start_date", name="uq_role_assignments_once"
        ),
        # A person's assignments, and whether one is open, from the index alone: "has a
        # current role" over a manager's reach reads no table row (the home page's figures).
        Index("ix_role_assignments_person_kind_end", "person_id", "kind", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    kind: Mapped[AssignmentKind] = mapped_column(enum_column(AssignmentKind, "assignment_kind"))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    source: Mapped[AssignmentSource] = mapped_column(
        enum_column(AssignmentSource, "assignment_source"), default=AssignmentSource.HAND
    )
    #: Optimistic lock (``app.versioning``): raised by every UPDATE; a stale edit fails.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    person: Mapped[Person] = relationship(back_populates="assignments")
    role: Mapped[Role] = relationship()
    office: Mapped[Office | None] = relationship()

    def is_live(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)
