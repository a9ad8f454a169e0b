"""A manager's direct reports on the "My team" page: for one page of people, each
competency's level against the level their roles require, as at a date.

Read from the maintained spans (models.py) for just the people on the page, through the
covering indexes, in two statements built once per process: the framework's columns (the
version in force on the date, ``scope.version_in_force``) and the cells. So the page costs
the same for a manager of ten people and for one of twenty thousand. Everyone below a
manager, other dates, org-unit rows and exports are the full heatmap's (heatmap.py), one
click away; a person's cell means what it means there (``heatmap.band`` with
``person=True``: meets the level, one level short, two or more short).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from typing import NamedTuple

from sqlalchemy import BindParameter, Date, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.framework.models import Competency, CompetencyGroup, FrameworkVersion
from app.reports.heatmap import CompetencyColumn, GroupColumns
from app.reports.models import LevelSpan, RequirementSpan
from app.reports.scope import version_in_force

#: People rows per page of the team's grid.
PER_PAGE = 25


class GridCell(NamedTuple):
    """A person's level and the level their roles require (``required`` 0: not required).
    A named tuple: a page holds 750 of them."""

    level: int = 0
    required: int = 0

    @property
    def band(self) -> str | None:
        """As ``heatmap.band`` for a person's cell: None when not required."""
        if not self.required:
            return None
        short = self.required - self.level
        return "strong" if short <= 0 else "weak" if short == 1 else "critical"


NOT_REQUIRED = GridCell()


@dataclass(frozen=True)
class GridPerson:
    id: int
    first_name: str
    last_name: str
    job_title: str | None


@dataclass(frozen=True)
class GridRow:
    person: GridPerson
    #: one per column, in the columns' order
    cells: tuple[GridCell, ...]


@dataclass(frozen=True)
class TeamGrid:
    on: date
    version_label: str
    groups: list[GroupColumns]
    rows: list[GridRow]

    @property
    def competencies(self) -> list[CompetencyColumn]:
        return [c for g in self.groups for c in g.competencies]

    @property
    def group_starts(self) -> set[str]:
        """The code of each group's first competency (the table draws a line before it)."""
        return {g.competencies[0].code for g in self.groups if g.competencies}

    @property
    def column_starts(self) -> tuple[bool, ...]:
        """Per column, whether it starts a group."""
        starts = self.group_starts
        return tuple(c.code in starts for c in self.competencies)


@lru_cache(maxsize=4)
def _columns_statement(on: date) -> Select:
    """The version in force on ``on`` and its competencies in framework order (one row per
    competency). Kept per date: the version's rule reads the date into the statement."""
    version_id = version_in_force(on)
    return (
        select(
            FrameworkVersion.name.label("version_name"),
            FrameworkVersion.number,
            CompetencyGroup.code.label("group_code"),
            CompetencyGroup.name.label("group_name"),
            Competency.code,
            Competency.name,
        )
        .join(CompetencyGroup, CompetencyGroup.version_id == FrameworkVersion.id)
        .join(Competency, Competency.group_id == CompetencyGroup.id)
        .where(FrameworkVersion.id == version_id)
        .order_by(CompetencyGroup.position, CompetencyGroup.code, Competency.position)
    )


def _live(valid_from, valid_to, on):
    return and_(valid_from <= on, or_(valid_to.is_(None), valid_to > on))


@cache
def _cells_statement() -> Select:
    """(person, competency, required, level) on the date ``on`` for the people ``ids``:
    each requirement span live that day, with the level span live that day (none: 0). Both
    are read by their covering index from the person's key."""
    on: BindParameter[date] = bindparam("on", type_=Date)
    req, lev = RequirementSpan, LevelSpan
    return (
        select(
            req.person_id,
            req.competency_code,
            req.required,
            func.coalesce(lev.level, 0).label("level"),
        )
        .outerjoin(
            lev,
            and_(
                lev.person_id == req.person_id,
                lev.competency_code == req.competency_code,
                _live(lev.valid_from, lev.valid_to, on),
            ),
        )
        .where(
            req.person_id.in_(bindparam("ids", expanding=True)),
            _live(req.valid_from, req.valid_to, on),
        )
    )


def team_grid(session: Session, people: Sequence[GridPerson], on: date) -> TeamGrid | None:
    """The grid of ``people`` (one page, in the order given) as at ``on``; None when no
    framework version was ever published."""
    rows = session.execute(_columns_statement(on)).all()
    if not rows:
        return None
    groups: dict[str, tuple[str, list[CompetencyColumn]]] = {}
    for r in rows:
        groups.setdefault(r.group_code, (r.group_name, []))[1].append(
            CompetencyColumn(r.code, r.name, r.group_code)
        )
    columns = [GroupColumns(code, name, tuple(comps)) for code, (name, comps) in groups.items()]
    cells: dict[tuple[int, str], GridCell] = {}
    if people:
        for pid, code, required, level in session.execute(
            _cells_statement(), {"ids": [p.id for p in people], "on": on}
        ):
            cells[(pid, code)] = GridCell(int(level), int(required))
    codes = [c.code for g in columns for c in g.competencies]
    grid_rows = [
        GridRow(p, tuple(cells.get((p.id, code), NOT_REQUIRED) for code in codes)) for p in people
    ]
    label = f"{rows[0].version_name} (version {rows[0].number})"
    return TeamGrid(on, label, columns, grid_rows)
