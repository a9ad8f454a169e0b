"""The capability heatmap: where the organisation is short, competency by competency.

Rows are people, org units (each with everything below it), offices or roles; columns the
competencies of the framework version in force on the report's date, grouped as in the
framework. Each cell counts the people of the row whom their roles require to hold the
competency (``required``), how many of them hold the required level (``meeting``) and the
levels they are short by in all (``shortfall``); the page shows one of three figures:

- the share meeting the required level (whole per cent),
- the mean shortfall in levels over the people required (two decimals),
- the number short.

Every figure is one SQL aggregation: ``requirements_at(on)`` joined to the report's
``population`` and to the row's people, LEFT JOIN ``levels_at(on)`` (no level: 0), grouped
by row and competency (app/reports/scope.py). Role rows compare each holder of the role with
the role's own profile (``RoleRequirement`` of the version in force), not with the highest
requirement of all their roles. The drill-down (``cell_people``) lists the people behind one
cell, a page at a time, with what each level rests on (the pure rule, for just those people).

Org units are placed as they are today: people's units carry no dates, so a report as at a
past date counts people in the units they belong to now (their roles, evidence and the
framework are taken as they were on the date).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import (
    Select,
    and_,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app import clock
from app.assessment.statistics_tables import COUNT, PERCENT, RATIO, TEXT, Column, StatTable
from app.capability.models import Evidence
from app.capability.profile import evidence_layers
from app.framework.models import (
    SOURCE_LABELS,
    Competency,
    CompetencyGroup,
    FrameworkVersion,
    Source,
)
from app.org.models import (
    AssignmentKind,
    Office,
    OrgUnit,
    OrgUnitPath,
    Person,
    Role,
    RoleAssignment,
)
from app.reports.models import LevelSpan
from app.reports.scope import (
    ReportScope,
    assignments_live,
    levels_at,
    live_on,
    population,
    profile_at,
    requirements_at,
    without_plans,
)
from app.reports.scope import version_in_force as scope_version_in_force

ROW_KINDS = ("people", "unit", "office", "role")
ROW_NOUNS = {"people": "Person", "unit": "Org unit", "office": "Office", "role": "Role"}
MEASURES = ("meeting", "shortfall", "short")
MEASURE_LABELS = {
    "meeting": "share meeting the required level",
    "shortfall": "mean shortfall (levels)",
    "short": "number short",
}
#: People rows shown per page (the page and its exports hold the same rows).
PEOPLE_PER_PAGE = 50
#: People listed per page of a cell's drill-down.
CELL_PER_PAGE = 50
#: The key of the row for people with no office (office rows), and of the whole scope.
NO_OFFICE = 0
#: How many changes the "what moved" list shows.
MOVES_SHOWN = 12

# --- what a viewer may report on -------------------------------------------------------------


def visible_unit_ids(visible: Select | None) -> Select:
    """SELECT of the org unit ids a viewer may report on: every unit for those who see
    everyone; otherwise the units a visible person belongs to or heads, and every unit below."""
    if visible is None:
        return select(OrgUnit.id)
    roots = (
        select(OrgUnit.id)
        .where(
            or_(
                OrgUnit.id.in_(
                    select(Person.org_unit_id).where(
                        Person.id.in_(visible), Person.org_unit_id.is_not(None)
                    )
                ),
                OrgUnit.head_id.in_(visible),
            )
        )
        .scalar_subquery()
    )
    return select(OrgUnitPath.descendant_id).where(OrgUnitPath.ancestor_id.in_(roots)).distinct()


def visible_office_ids(visible: Select | None) -> Select:
    """SELECT of the office ids a viewer may report on: all, or the offices a visible person
    holds (or held) a current role in, and the offices of their units."""
    if visible is None:
        return select(Office.id)
    return select(Office.id).where(
        or_(
            Office.id.in_(
                select(RoleAssignment.office_id).where(
                    RoleAssignment.person_id.in_(visible),
                    RoleAssignment.kind == AssignmentKind.CURRENT,
                    RoleAssignment.office_id.is_not(None),
                )
            ),
            Office.org_unit_id.in_(visible_unit_ids(visible)),
        )
    )


# --- the framework's columns ------------------------------------------------------------------


@dataclass(frozen=True)
class CompetencyColumn:
    code: str
    name: str
    group_code: str


@dataclass(frozen=True)
class GroupColumns:
    code: str
    name: str
    competencies: tuple[CompetencyColumn, ...]


def version_in_force(session: Session, on: date) -> FrameworkVersion | None:
    """The framework version in force on a date (``scope.version_in_force``: spans.py rule
    2), or None when nothing was ever published."""
    version_id = session.scalar(select(scope_version_in_force(on)))
    return session.get(FrameworkVersion, version_id) if version_id is not None else None


def framework_columns(session: Session, version_id: int) -> list[GroupColumns]:
    """The version's competencies grouped as in the framework, in its order."""
    rows = session.execute(
        select(CompetencyGroup.code, CompetencyGroup.name, Competency.code, Competency.name)
        .join(Competency, Competency.group_id == CompetencyGroup.id)
        .where(CompetencyGroup.version_id == version_id)
        .order_by(CompetencyGroup.position, CompetencyGroup.code, Competency.position)
    ).all()
    groups: dict[str, tuple[str, list[CompetencyColumn]]] = {}
    for group_code, group_name, code, name in rows:
        groups.setdefault(group_code, (group_name, []))[1].append(
            CompetencyColumn(code, name, group_code)
        )
    return [GroupColumns(g, name, tuple(comps)) for g, (name, comps) in groups.items()]


# --- cells and rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One row's people in one competency: how many their roles require to hold it, how
    many hold the required level, and the levels they are short by in all."""

    required: int = 0
    meeting: int = 0
    shortfall: int = 0
    #: the highest level held and the highest required among the row's people: for a
    #: person's row, their level and the level their roles require
    top_level: int = 0
    top_required: int = 0

    @property
    def short(self) -> int:
        return self.required - self.meeting

    @property
    def percent_meeting(self) -> int | None:
        return round(self.meeting * 100 / self.required) if self.required else None

    def figure(self, measure: str) -> int | float | None:
        """The figure the page prints (rounded as printed); None when no one is required."""
        if not self.required:
            return None
        if measure == "shortfall":
            return round(self.shortfall / self.required, 2)
        if measure == "short":
            return self.short
        return self.percent_meeting


EMPTY = Cell()


@dataclass(frozen=True)
class Row:
    key: int  # person, unit, office or role id (NO_OFFICE: people in no office)
    label: str
    detail: str  # a second line: job title, unit code, office code
    people: int  # the row's people counted (in the population on the date)
    cells: dict[str, Cell] = field(default_factory=dict)

    def cell(self, code: str) -> Cell:
        return self.cells.get(code, EMPTY)


@dataclass(frozen=True)
class Heatmap:
    on: date
    row_kind: str
    version_label: str | None  # None: no framework published yet
    groups: list[GroupColumns]
    rows: list[Row]
    total: Row  # every person in scope, against their roles' highest requirement
    #: people rows: all the people in scope (the rows are one page of them)
    row_count: int
    page: int = 1
    per_page: int = PEOPLE_PER_PAGE
    #: org unit rows: the unit whose children the rows are (None: the top of the tree)
    base_unit: str | None = None
    #: org unit rows: the key of the row of the people placed in the base unit itself
    direct_key: int | None = None

    @property
    def codes(self) -> list[str]:
        return [c.code for g in self.groups for c in g.competencies]

    @property
    def competencies(self) -> list[CompetencyColumn]:
        return [c for g in self.groups for c in g.competencies]

    @property
    def pages(self) -> int:
        return max(1, -(-self.row_count // self.per_page))

    @property
    def group_starts(self) -> set[str]:
        """The code of each group's first competency (the table draws a line before it)."""
        return {g.competencies[0].code for g in self.groups if g.competencies}


# --- the rows of each kind --------------------------------------------------------------------


def _aggregate(
    session: Session, rowmap, on: date, codes: Sequence[str], pop, narrow: bool = True
) -> dict:
    """(row key, competency code) -> Cell: the one GROUP BY every figure comes from.
    ``rowmap`` is a subquery (row_key, person_id); ``pop`` the population subquery;
    ``narrow``: the rows hold part of the organisation only (a filter, a viewer's reach)."""
    req = requirements_at(on)
    lev = levels_at(on)
    if narrow and session.get_bind().dialect.name == "postgresql":
        # Only the levels of the rows' people (a directorate's): PostgreSQL would otherwise
        # hash every level span on the date to join a fifth of them. (SQLite searches the
        # levels of each requirement by its index either way; for everyone, the hash of
        # all of them is PostgreSQL's best plan.)
        lev = (
            select(LevelSpan.person_id, LevelSpan.competency_code, LevelSpan.level)
            .where(
                live_on(LevelSpan.valid_from, LevelSpan.valid_to, on),
                LevelSpan.person_id.in_(select(rowmap.c.person_id)),
            )
            .subquery("levels_at")
        )
    level = func.coalesce(lev.c.level, 0)
    stmt = (
        select(
            rowmap.c.row_key,
            req.c.competency_code,
            func.count().label("required"),
            func.max(level).label("top_level"),
            func.max(req.c.required).label("top_required"),
            func.sum(case((level >= req.c.required, 1), else_=0)).label("meeting"),
            func.sum(case((req.c.required > level, req.c.required - level), else_=0)).label(
                "shortfall"
            ),
        )
        .select_from(rowmap)
        .join(pop, pop.c.id == rowmap.c.person_id)
        .join(req, req.c.person_id == rowmap.c.person_id)
        .outerjoin(
            lev,
            and_(
                lev.c.person_id == req.c.person_id, lev.c.competency_code == req.c.competency_code
            ),
        )
        .group_by(rowmap.c.row_key, req.c.competency_code)
    )
    # PostgreSQL (14+) may plan the level join as a nested loop behind a Memoize cache that
    # never hits (one index probe of level_spans per requirement: 2.6x the floor at 20,000
    # people); without it the planner merges or hashes the covering indexes (0.65x). For
    # part of the organisation it may also merge on the person alone and compare every
    # level of a person with every requirement (6 million comparisons for a directorate of
    # 100,000): a hash join on both keys is what it should pick.
    with without_plans(session, "memoize", *(("mergejoin",) if narrow else ())):
        rows = session.execute(stmt).all()
    # Only the columns shown: a filter on the groups, not in the statement (there it would
    # search the requirements once per competency and person instead of once per person).
    shown = set(codes)
    return {(r.row_key, r.competency_code): _cell(r) for r in rows if r.competency_code in shown}


def _cell(r) -> Cell:
    return Cell(
        int(r.required), int(r.meeting), int(r.shortfall), int(r.top_level), int(r.top_required)
    )


def _headcounts(session: Session, rowmap, pop) -> dict[int, int]:
    stmt = (
        select(rowmap.c.row_key, func.count(func.distinct(rowmap.c.person_id)))
        .join(pop, pop.c.id == rowmap.c.person_id)
        .group_by(rowmap.c.row_key)
    )
    return {key: int(n) for key, n in session.execute(stmt)}


def _cells_by_row(cells: dict) -> dict[int, dict[str, Cell]]:
    out: dict[int, dict[str, Cell]] = {}
    for (key, code), cell in cells.items():
        out.setdefault(key, {})[code] = cell
    return out


def _people_page(
    session: Session, pop, page: int, per_page: int, total: int
) -> tuple[list, int, int]:
    """One page of the ``total`` people in scope, in name order: (people, total, the page,
    kept within the pages there are)."""
    page = max(1, min(page, -(-total // per_page) or 1))
    people = session.execute(
        select(Person.id, Person.first_name, Person.last_name, Person.job_title)
        .where(Person.id.in_(select(pop.c.id)))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(people), total, page


def _people_rowmap(ids: Iterable[int]):
    return (
        select(Person.id.label("row_key"), Person.id.label("person_id"))
        .where(Person.id.in_(list(ids)))
        .subquery("rowmap")
    )


@dataclass(frozen=True)
class UnitRows:
    """The org units the rows are: each with everything below it; ``direct`` the unit whose
    own people (placed in it, not below) make one more row."""

    units: list[tuple[int, str, str]]  # (id, name, code)
    direct: tuple[int, str, str] | None
    base: str | None


def unit_rows(session: Session, scope: ReportScope) -> UnitRows:
    """The children of the chosen unit (and its own people); with none chosen, the children
    of the top of the viewer's tree (the directorates, for those who see everyone)."""
    base_id = scope.unit_id
    if base_id is None:
        visible = visible_unit_ids(scope.visible).scalar_subquery()
        tops = list(
            session.execute(
                select(OrgUnit.id, OrgUnit.name, OrgUnit.code)
                .where(
                    OrgUnit.id.in_(visible),
                    (OrgUnit.parent_id.is_(None)) | not_(OrgUnit.parent_id.in_(visible)),
                )
                .order_by(OrgUnit.name)
            )
        )
        if len(tops) != 1:
            return UnitRows([(t.id, t.name, t.code) for t in tops], None, None)
        base_id = tops[0].id
    base = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.code).where(OrgUnit.id == base_id)
    ).one()
    children = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.code)
        .where(OrgUnit.parent_id == base_id)
        .order_by(OrgUnit.name)
    ).all()
    return UnitRows(
        [(c.id, c.name, c.code) for c in children], (base.id, base.name, base.code), base.name
    )


def _unit_rowmap(rows: UnitRows):
    parts: list[Select] = []
    ids = [u[0] for u in rows.units]
    if ids:
        parts.append(
            select(OrgUnitPath.ancestor_id.label("row_key"), Person.id.label("person_id"))
            .join(Person, Person.org_unit_id == OrgUnitPath.descendant_id)
            .where(OrgUnitPath.ancestor_id.in_(ids))
        )
    if rows.direct is not None:
        parts.append(
            select(literal(rows.direct[0]).label("row_key"), Person.id.label("person_id")).where(
                Person.org_unit_id == rows.direct[0]
            )
        )
    if not parts:
        parts.append(
            select(literal(-1).label("row_key"), Person.id.label("person_id")).where(literal(False))
        )
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("rowmap")


def _office_rowmap(scope: ReportScope, pop):
    in_office = select(
        RoleAssignment.office_id.label("row_key"),
        RoleAssignment.person_id.label("person_id"),
    ).where(assignments_live(scope.on), RoleAssignment.office_id.is_not(None))
    if scope.office_id is not None:
        in_office = in_office.where(RoleAssignment.office_id == scope.office_id)
        return in_office.distinct().subquery("rowmap")
    nowhere = select(literal(NO_OFFICE).label("row_key"), pop.c.id.label("person_id")).where(
        pop.c.id.not_in(
            select(RoleAssignment.person_id).where(
                assignments_live(scope.on), RoleAssignment.office_id.is_not(None)
            )
        )
    )
    return union_all(in_office.distinct(), nowhere).subquery("rowmap")


def _holders(scope: ReportScope, pop):
    """(row_key = role id, person_id): the holders of each role on the date."""
    stmt = select(
        RoleAssignment.role_id.label("row_key"), RoleAssignment.person_id.label("person_id")
    ).where(assignments_live(scope.on), RoleAssignment.person_id.in_(select(pop.c.id)))
    if scope.role_id is not None:
        stmt = stmt.where(RoleAssignment.role_id == scope.role_id)
    return stmt.distinct().subquery("holders")


def _role_profiles(on: date):
    """(role_id, competency_code, required): the role profiles in force on the date."""
    prof = profile_at(on)
    return (
        select(prof.c.role_id, prof.c.competency_code, prof.c.level.label("required"))
        .where(prof.c.level > 0)
        .subquery("profiles")
    )


def _role_aggregate(session: Session, scope: ReportScope, pop) -> dict:
    """(role id, competency code) -> Cell: holders against the role's own profile."""
    holders = _holders(scope, pop)
    prof = _role_profiles(scope.on)
    lev = levels_at(scope.on)
    level = func.coalesce(lev.c.level, 0)
    stmt = (
        select(
            holders.c.row_key,
            prof.c.competency_code,
            func.count().label("required"),
            func.max(level).label("top_level"),
            func.max(prof.c.required).label("top_required"),
            func.sum(case((level >= prof.c.required, 1), else_=0)).label("meeting"),
            func.sum(case((prof.c.required > level, prof.c.required - level), else_=0)).label(
                "shortfall"
            ),
        )
        .select_from(holders)
        .join(prof, prof.c.role_id == holders.c.row_key)
        .outerjoin(
            lev,
            and_(
                lev.c.person_id == holders.c.person_id,
                lev.c.competency_code == prof.c.competency_code,
            ),
        )
        .group_by(holders.c.row_key, prof.c.competency_code)
    )
    return {(r.row_key, r.competency_code): _cell(r) for r in session.execute(stmt)}


def _population_size(session: Session, pop) -> int:
    return int(session.scalar(select(func.count()).select_from(pop)) or 0)


def _narrow(scope: ReportScope) -> bool:
    """Whether the report counts part of the organisation only."""
    return scope.visible is not None or scope.filtered


def _total(
    session: Session, on: date, codes: Sequence[str], pop, people: int, narrow: bool = True
) -> Row:
    """Everyone in scope, against their roles' highest requirement: one more aggregation."""
    rowmap = select(literal(0).label("row_key"), pop.c.id.label("person_id")).subquery("everyone")
    cells = _cells_by_row(_aggregate(session, rowmap, on, codes, pop, narrow)).get(0, {})
    return Row(0, "Everyone in scope", f"{people:,} people", people, cells)


def _summed(rows: Sequence[Row], people: int) -> Row:
    """The "everyone" row as the sum of rows that split the population between them (each
    person in exactly one row): no second pass over the requirements."""
    cells: dict[str, Cell] = {}
    for row in rows:
        for code, c in row.cells.items():
            t = cells.get(code, EMPTY)
            cells[code] = Cell(
                t.required + c.required,
                t.meeting + c.meeting,
                t.shortfall + c.shortfall,
                max(t.top_level, c.top_level),
                max(t.top_required, c.top_required),
            )
    return Row(0, "Everyone in scope", f"{people:,} people", people, cells)


# --- the heatmap ------------------------------------------------------------------------------


def heatmap(
    session: Session,
    scope: ReportScope,
    row_kind: str = "people",
    *,
    page: int = 1,
    people_ids: Sequence[int] | None = None,
) -> Heatmap:
    """The heatmap as at ``scope.on`` with rows of ``row_kind`` (``ROW_KINDS``).

    People rows come a page at a time (``PEOPLE_PER_PAGE``, in name order); ``people_ids``
    instead names the people to show (the same rows at a compare date). Rows of other kinds
    with no one in scope are left out. The "everyone in scope" row is the sum of the rows
    when they split the population (org units, offices without people in two), else one
    more aggregation.
    """
    if row_kind not in ROW_KINDS:
        raise ValueError(f"unknown row kind {row_kind!r}")
    version = version_in_force(session, scope.on)
    pop = population(scope).subquery("population")
    if version is None:
        return Heatmap(scope.on, row_kind, None, [], [], Row(0, "Everyone in scope", "", 0), 0)
    groups = framework_columns(session, version.id)
    codes = [c.code for g in groups for c in g.competencies]
    people = _population_size(session, pop)
    base: tuple[int, str, str] | None = None
    if row_kind == "people":
        rows, row_count, page = _people_rows(session, scope, codes, pop, page, people_ids, people)
        split = False
    else:
        rows, base, split = _group_rows(session, scope, row_kind, codes, pop, people)
        row_count = len(rows)
    total = (
        _summed(rows, people)
        if split
        else _total(session, scope.on, codes, pop, people, _narrow(scope))
    )
    return Heatmap(
        scope.on,
        row_kind,
        f"{version.name} (version {version.number})",
        groups,
        rows,
        total,
        row_count,
        page if row_kind == "people" else 1,
        PEOPLE_PER_PAGE,
        base_unit=base[1] if base else None,
        direct_key=base[0] if base else None,
    )


def _people_rows(
    session: Session,
    scope: ReportScope,
    codes: Sequence[str],
    pop,
    page: int,
    people_ids: Sequence[int] | None,
    size: int,
) -> tuple[list[Row], int, int]:
    """(rows, how many people in all, the page) for people rows."""
    if people_ids is None:
        people, row_count, page = _people_page(session, pop, page, PEOPLE_PER_PAGE, size)
    else:
        people = list(
            session.execute(
                select(Person.id, Person.first_name, Person.last_name, Person.job_title).where(
                    Person.id.in_(list(people_ids))
                )
            )
        )
        order = {pid: i for i, pid in enumerate(people_ids)}
        people.sort(key=lambda p: order[p.id])
        row_count = len(people_ids)
    rowmap = _people_rowmap(p.id for p in people)
    cells = _cells_by_row(_aggregate(session, rowmap, scope.on, codes, pop))
    present = _headcounts(session, rowmap, pop)
    rows = [
        Row(
            p.id,
            f"{p.last_name}, {p.first_name}",
            p.job_title or "",
            present.get(p.id, 0),
            cells.get(p.id, {}),
        )
        for p in people
    ]
    return rows, row_count, page


def _group_rows(
    session: Session, scope: ReportScope, row_kind: str, codes: Sequence[str], pop, size: int
) -> tuple[list[Row], tuple[int, str, str] | None, bool]:
    """(rows, the base unit for unit rows, whether the rows split the population) for org
    unit, office and role rows."""
    labels: list[tuple[int, str, str]]
    base = None
    if row_kind == "role":
        cells = _cells_by_row(_role_aggregate(session, scope, pop))
        present = _headcounts(session, _holders(scope, pop), pop)
        labels = [
            (r.id, f"{r.name} ({r.code})", r.code)
            for r in session.execute(
                select(Role.id, Role.name, Role.code)
                .where(Role.id.in_(list(present)))
                .order_by(Role.code)
            )
        ]
    elif row_kind == "unit":
        units = unit_rows(session, scope)
        base = units.direct
        rowmap = _unit_rowmap(units)
        # The rows lie within the chosen unit's subtree: testing each person's unit against
        # it again (the population's filter) would only repeat the row map's join.
        within = population(replace(scope, unit_id=None)).subquery("population")
        cells = _cells_by_row(_aggregate(session, rowmap, scope.on, codes, within, _narrow(scope)))
        present = _headcounts(session, rowmap, within)
        labels = list(units.units)
        if units.direct is not None:
            d = units.direct
            labels.append((d[0], f"{d[1]} (placed directly)", d[2]))
    else:
        rowmap = _office_rowmap(scope, pop)
        cells = _cells_by_row(_aggregate(session, rowmap, scope.on, codes, pop, _narrow(scope)))
        present = _headcounts(session, rowmap, pop)
        labels = [
            (o.id, o.name, o.code)
            for o in session.execute(
                select(Office.id, Office.name, Office.code)
                .where(Office.id.in_(list(present)))
                .order_by(Office.name)
            )
        ]
        labels.append((NO_OFFICE, "Not in an office", ""))
    rows = [
        Row(key, name, detail, present.get(key, 0), cells.get(key, {}))
        for key, name, detail in labels
        if present.get(key, 0)
    ]
    # Units never overlap, and office rows cover everyone: equal sums mean a partition.
    split = row_kind in ("unit", "office") and sum(r.people for r in rows) == size
    return rows, base, split


# --- comparing two dates ----------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One cell that moved between the two dates (in the measure's units)."""

    row_key: int
    row_label: str
    code: str
    name: str
    before: int | float | None
    after: int | float | None
    change: int | float
    better: bool


def change_of(before: int | float | None, after: int | float | None) -> int | float | None:
    """after - before, rounded as printed; None unless both dates have a figure."""
    if before is None or after is None:
        return None
    diff = after - before
    return round(diff, 2) if isinstance(diff, float) else diff


def is_better(measure: str, change: int | float) -> bool:
    """More people meeting is better; a smaller shortfall or fewer people short is too."""
    return change > 0 if measure == "meeting" else change < 0


def moves(now: Heatmap, then: Heatmap, measure: str, limit: int = MOVES_SHOWN) -> list[Move]:
    """The cells that moved most between the compare date (``then``) and the report's
    date (``now``), total row first considered with the rest; largest change first."""
    before = {r.key: r for r in then.rows}
    names = {c.code: c.name for c in now.competencies}
    found: list[Move] = []
    pairs = [(now.total, then.total)] + [(r, before.get(r.key)) for r in now.rows]
    for row, old in pairs:
        if old is None:
            continue
        for code in now.codes:
            change = change_of(old.cell(code).figure(measure), row.cell(code).figure(measure))
            if not change:
                continue
            found.append(
                Move(
                    row.key if row is not now.total else -1,
                    row.label,
                    code,
                    names[code],
                    old.cell(code).figure(measure),
                    row.cell(code).figure(measure),
                    change,
                    is_better(measure, change),
                )
            )
    found.sort(key=lambda m: (-abs(m.change), m.row_label, m.code))
    return found[:limit]


# --- the table the page shows and the exports write -------------------------------------------

BANDS = ("strong", "fair", "weak", "critical")
BAND_LABELS = {
    "strong": "Strong",
    "fair": "Some short",
    "weak": "Many short",
    "critical": "Most short",
}
#: a mark printed beside each figure, so the band reads without colour
BAND_MARKS = {"strong": "✓", "fair": "◔", "weak": "◑", "critical": "●"}


def band(cell: Cell, measure: str, person: bool = False) -> str | None:
    """The cell's band (``BANDS``). For the share meeting and the number short, from the
    share meeting: 90% or more, 70–89%, 50–69%, under 50%. For the mean shortfall: none,
    up to 0.25 of a level, up to 0.75, more. A person's cell, from their gap: none, one
    level, two or more (whatever the measure)."""
    if not cell.required:
        return None
    if person:
        return "strong" if not cell.shortfall else "weak" if cell.shortfall == 1 else "critical"
    if measure == "shortfall":
        mean = cell.shortfall / cell.required
        if mean == 0:
            return "strong"
        return "fair" if mean <= 0.25 else "weak" if mean <= 0.75 else "critical"
    pct = cell.meeting * 100 / cell.required
    return "strong" if pct >= 90 else "fair" if pct >= 70 else "weak" if pct >= 50 else "critical"


#: what the bands mean in a person's row
PERSON_BAND_RULES = ("meets the level", "", "one level short", "two or more levels short")
BAND_RULES = {
    "meeting": ("90% or more meet", "70–89% meet", "50–69% meet", "under half meet"),
    "short": ("90% or more meet", "70–89% meet", "50–69% meet", "under half meet"),
    "shortfall": (
        "no shortfall",
        "up to ¼ level short on average",
        "up to ¾ level short on average",
        "more than ¾ level short on average",
    ),
}


def measure_kind(measure: str) -> str:
    return {"meeting": PERCENT, "shortfall": RATIO, "short": COUNT}[measure]


def heatmap_table(
    hm: Heatmap, measure: str, then: Heatmap | None = None, compare_on: date | None = None
) -> StatTable:
    """The heatmap as the page shows it and its exports write it, cell for cell.

    Per competency: the figure (``measure``) and how many are required (n); when comparing,
    the figure at the compare date and the change. In people rows a person's cell holds
    their level and the level required instead (and, when comparing, their level then and
    the change), the figure and n being left to the "Everyone in scope" row. Each row dict
    also carries what the page needs beyond the columns (keys starting with "_")."""
    kind = measure_kind(measure)
    people = hm.row_kind == "people"
    when = compare_on.isoformat() if compare_on else "compare date"
    change_kind = RATIO if kind == RATIO else COUNT
    columns = [Column("label", ROW_NOUNS[hm.row_kind], TEXT, wrap=True)]
    columns.append(
        Column("detail", "Job title", TEXT, wide_only=True)
        if people
        else Column("people", "People", COUNT)
    )
    for comp in hm.competencies:
        c = comp.code
        columns += [Column(c, c, kind, hint=comp.name), Column(f"{c}:n", f"{c} n required", COUNT)]
        if then is not None:
            columns += [
                Column(f"{c}:was", f"{c} at {when}", kind),
                Column(f"{c}:change", f"{c} change", change_kind),
            ]
        if people:
            columns += [
                Column(f"{c}:level", f"{c} level", COUNT),
                Column(f"{c}:req", f"{c} level required", COUNT),
            ]
            if then is not None:
                columns += [
                    Column(f"{c}:level_was", f"{c} level at {when}", COUNT),
                    Column(f"{c}:level_change", f"{c} level change", COUNT),
                ]
    before = {r.key: r for r in then.rows} if then is not None else {}
    pairs = [(hm.total, then.total if then else None)]
    pairs += [(r, before.get(r.key)) for r in hm.rows]
    rows = []
    for row, old in pairs:
        out: dict = {
            "_key": row.key,
            "_total": row is hm.total,
            "_person": people and row is not hm.total,
            # an org unit with units below it: its label opens the heatmap of its children
            "_unit": hm.row_kind == "unit" and row is not hm.total and row.key != hm.direct_key,
            "label": row.label,
            "people": row.people,
            "detail": row.detail,
        }
        for code in hm.codes:
            if out["_person"]:
                out.update(_person_cells(code, row.cell(code), old, then is not None))
            else:
                out.update(_figure_cells(code, row.cell(code), old, measure, then is not None))
        for column in columns:  # a person's row has no figure, the others no level
            out.setdefault(column.key, None)
        rows.append(out)
    return StatTable(
        name=f"capability-heatmap-{hm.row_kind}-{hm.on.isoformat()}",
        title=f"Capability heatmap {hm.on.isoformat()}",
        columns=tuple(columns),
        rows=tuple(rows),
    )


def _figure_cells(code: str, cell: Cell, old: Row | None, measure: str, comparing: bool) -> dict:
    out: dict = {
        code: cell.figure(measure),
        f"{code}:n": cell.required or None,
        f"_band:{code}": band(cell, measure),
    }
    if comparing:
        was = old.cell(code).figure(measure) if old is not None else None
        change = change_of(was, out[code])
        out[f"{code}:was"] = was
        out[f"{code}:change"] = change
        out[f"_better:{code}"] = None if not change else is_better(measure, change)
    return out


def _person_cells(code: str, cell: Cell, old: Row | None, comparing: bool) -> dict:
    required = bool(cell.required)
    out: dict = {
        f"{code}:level": cell.top_level if required else None,
        f"{code}:req": cell.top_required if required else None,
        f"_band:{code}": band(cell, "meeting", person=True),
    }
    if comparing:
        then = old.cell(code) if old is not None else EMPTY
        was = then.top_level if then.required else None
        change = change_of(was, out[f"{code}:level"])
        out[f"{code}:level_was"] = was
        out[f"{code}:level_change"] = change
        out[f"_better:{code}"] = None if not change else change > 0
    return out


# --- a chart: per competency group, the share of the scope meeting ---------------------------


@dataclass(frozen=True)
class GroupBar:
    code: str
    name: str
    required: int  # person-competency requirements in the group
    meeting: int
    percent: int | None
    was: int | None = None  # the compare date's share, when comparing
    # geometry (pixels): the group's name on a line above its bar(s)
    label_y: int = 0
    y: int = 0  # the bar's top
    was_y: int = 0  # the compare date's bar's top
    width: int = 0
    was_width: int = 0


@dataclass(frozen=True)
class GroupChart:
    bars: list[GroupBar]
    width: int
    height: int
    label_w: int
    bar_w: int  # the width of 100%
    bar_h: int
    row_h: int
    comparing: bool
    ticks: list[tuple[int, int]]  # (x, per cent)


def _share(meeting: int, required: int) -> int | None:
    return round(meeting * 100 / required) if required else None


def group_chart(hm: Heatmap, then: Heatmap | None = None) -> GroupChart:
    """Per competency group, the share of requirements met across everyone in scope (the
    total row), and the compare date's share beside it. Geometry for the template."""
    label_w, bar_w, bar_h = 4, 300, 14  # label_w: the bars' left edge
    row_h = 58 if then is not None else 40
    bars = []
    for i, group in enumerate(hm.groups):
        cells = [hm.total.cell(c.code) for c in group.competencies]
        required = sum(c.required for c in cells)
        meeting = sum(c.meeting for c in cells)
        percent = _share(meeting, required)
        was = None
        if then is not None:
            old = [then.total.cell(c.code) for c in group.competencies]
            was = _share(sum(c.meeting for c in old), sum(c.required for c in old))
        bars.append(
            GroupBar(
                group.code,
                group.name,
                required,
                meeting,
                percent,
                was,
                label_y=12 + i * row_h,
                y=18 + i * row_h,
                was_y=18 + i * row_h + bar_h + 4,
                width=round(bar_w * (percent or 0) / 100),
                was_width=round(bar_w * (was or 0) / 100),
            )
        )
    height = 8 + len(bars) * row_h + 20
    ticks = [(label_w + bar_w * pct // 100, pct) for pct in (0, 25, 50, 75, 100)]
    return GroupChart(
        bars, label_w + bar_w + 112, height, label_w, bar_w, bar_h, row_h, then is not None, ticks
    )


# --- the drill-down: the people behind one cell ----------------------------------------------


@dataclass(frozen=True)
class CellPerson:
    person_id: int
    name: str
    job_title: str
    unit: str
    level: int
    required: int
    gap: int  # levels short (0 when meeting)
    basis: str | None = None  # what the level rests on, in words


@dataclass(frozen=True)
class CellPeople:
    on: date
    code: str
    name: str
    row_kind: str  # people | unit | office | role | all
    row_label: str
    cell: Cell
    people: list[CellPerson]
    total: int  # people listed over all pages (only the short ones when short_only)
    page: int
    per_page: int = CELL_PER_PAGE
    short_only: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class UnknownCell(LookupError):
    """The cell names a competency, row kind or row that is not on the heatmap."""


def _row_label(session: Session, row_kind: str, row: int | None) -> str:
    if row_kind == "all":
        return "Everyone in scope"
    if row is None:
        raise UnknownCell("Say which row.")
    if row_kind == "office" and row == NO_OFFICE:
        return "Not in an office"
    label: str | None = None
    if row_kind == "people":
        person = session.get(Person, row)
        label = person.full_name if person else None
    elif row_kind == "role":
        role = session.get(Role, row)
        label = f"{role.name} ({role.code})" if role else None
    elif row_kind in ("unit", "office"):
        label = session.scalar(
            select(OrgUnit.name if row_kind == "unit" else Office.name).where(
                (OrgUnit.id if row_kind == "unit" else Office.id) == row
            )
        )
    if label is None:
        raise UnknownCell(f"There is no {ROW_NOUNS[row_kind].lower()} with id {row}.")
    return label


def _cell_members(scope: ReportScope, row_kind: str, row: int | None, pop):
    """(person_id) of the row's people, as the heatmap counts them."""
    if row_kind == "all":
        return select(pop.c.id.label("person_id"))
    if row_kind == "people":
        return select(Person.id.label("person_id")).where(Person.id == row)
    if row_kind == "office":
        rowmap = _office_rowmap(scope, pop)
    elif row_kind == "role":
        rowmap = _holders(scope, pop)
    else:
        raise AssertionError(row_kind)
    return select(rowmap.c.person_id).where(rowmap.c.row_key == row)


def _unit_members(session: Session, scope: ReportScope, row: int):
    """The people of an org unit row: its whole subtree, or, for the base unit's own row,
    the people placed in it directly."""
    rows = unit_rows(session, scope)
    if rows.direct is not None and rows.direct[0] == row:
        return select(Person.id.label("person_id")).where(Person.org_unit_id == row)
    if row not in {u[0] for u in rows.units}:
        raise UnknownCell("That org unit is not a row of this heatmap.")
    return select(Person.id.label("person_id")).where(
        Person.org_unit_id.in_(
            select(OrgUnitPath.descendant_id).where(OrgUnitPath.ancestor_id == row)
        )
    )


def cell_people(
    session: Session,
    scope: ReportScope,
    *,
    code: str,
    row_kind: str,
    row: int | None,
    page: int = 1,
    short_only: bool = False,
) -> CellPeople:
    """The people behind one cell of the heatmap as at ``scope.on``: everyone the row's
    roles require to hold ``code``, with their level, the level required and the gap, the
    largest gap first; a page at a time. What each level rests on comes from the pure rule
    (app/capability/profile.py) over the evidence known on the date, for just that page.

    :raises UnknownCell: a competency not in the version in force, or an unknown row
    """
    if row_kind not in (*ROW_KINDS, "all"):
        raise UnknownCell("Pick people, org unit, office or role rows.")
    version = version_in_force(session, scope.on)
    if version is None:
        raise UnknownCell("No competency framework is published yet.")
    comp_name = session.scalar(
        select(Competency.name).where(Competency.version_id == version.id, Competency.code == code)
    )
    if comp_name is None:
        raise UnknownCell(f"There is no competency {code[:16]!r} in the framework then in force.")
    label = _row_label(session, row_kind, row)
    pop = population(scope).subquery("population")
    if row_kind == "people" and session.scalar(select(pop.c.id).where(pop.c.id == row)) is None:
        raise UnknownCell("That person is not among the people this report counts.")
    lev = levels_at(scope.on)
    if row_kind == "role":
        prof = _role_profiles(scope.on)
        holders = _holders(scope, pop)
        req = (
            select(holders.c.person_id, prof.c.required)
            .join(prof, prof.c.role_id == holders.c.row_key)
            .where(prof.c.role_id == row, prof.c.competency_code == code)
            .subquery("req")
        )
    else:
        members = (
            _unit_members(session, scope, row)  # type: ignore[arg-type]
            if row_kind == "unit"
            else _cell_members(scope, row_kind, row, pop)
        ).subquery("members")
        reqs = requirements_at(scope.on)
        req = (
            select(reqs.c.person_id, reqs.c.required)
            .join(members, members.c.person_id == reqs.c.person_id)
            .join(pop, pop.c.id == reqs.c.person_id)
            .where(reqs.c.competency_code == code)
            .subquery("req")
        )
    level = func.coalesce(lev.c.level, 0)
    gap = case((req.c.required > level, req.c.required - level), else_=0)
    base = (
        select(
            Person.id,
            Person.first_name,
            Person.last_name,
            Person.job_title,
            OrgUnit.name.label("unit"),
            level.label("level"),
            req.c.required,
            gap.label("gap"),
        )
        .select_from(req)
        .join(Person, Person.id == req.c.person_id)
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .outerjoin(lev, and_(lev.c.person_id == req.c.person_id, lev.c.competency_code == code))
    )
    counts = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((gap == 0, 1), else_=0)), 0),
            func.coalesce(func.sum(gap), 0),
        )
        .select_from(req)
        .outerjoin(lev, and_(lev.c.person_id == req.c.person_id, lev.c.competency_code == code))
    ).one()
    cell = Cell(int(counts[0]), int(counts[1]), int(counts[2]))
    if short_only:
        base = base.where(gap > 0)
    total = cell.short if short_only else cell.required
    page = max(1, min(page, max(1, -(-total // CELL_PER_PAGE))))
    found = session.execute(
        base.order_by(gap.desc(), Person.last_name, Person.first_name, Person.id)
        .limit(CELL_PER_PAGE)
        .offset((page - 1) * CELL_PER_PAGE)
    ).all()
    bases = level_bases(session, [p.id for p in found], code, version, scope.on)
    people = [
        CellPerson(
            p.id,
            f"{p.last_name}, {p.first_name}",
            p.job_title or "",
            p.unit or "",
            int(p.level),
            int(p.required),
            int(p.gap),
            bases.get(p.id),
        )
        for p in found
    ]
    return CellPeople(
        scope.on,
        code,
        comp_name,
        row_kind,
        label,
        cell,
        people,
        total,
        page,
        CELL_PER_PAGE,
        short_only=short_only,
    )


def basis_text(
    source: str, achieved_on: date, certificate: str | None, expires_on: date | None
) -> str:
    text = f"{SOURCE_LABELS[Source(source)]}, {achieved_on:%d %b %Y}"
    if certificate:
        text += f" ({certificate})"
    if expires_on:
        text += f", valid to {expires_on:%d %b %Y}"
    return text


def level_bases(
    session: Session, person_ids: Sequence[int], code: str, version: FrameworkVersion, on: date
) -> dict[int, str]:
    """person id -> what their level in ``code`` rests on as at ``on``: the pure rule over
    the validated evidence recorded by then (as the spans count it), for just these people."""
    if not person_ids:
        return {}
    end_of_day = clock.start_of(on + timedelta(days=1))
    evidence = session.scalars(
        select(Evidence).where(
            Evidence.person_id.in_(list(person_ids)),
            Evidence.recorded_at < end_of_day,
            Evidence.source != Source.SELF_RATING,
            Evidence.validated.is_(True),
        )
    ).all()
    layers = evidence_layers(session, evidence, version, on)
    out: dict[int, str] = {}
    for person_id, theirs in layers.items():
        layer = theirs.get(code)
        if layer is not None and layer.basis is not None:
            b = layer.basis
            out[person_id] = basis_text(b.source, b.achieved_on, b.certificate, b.expires_on)
    return out
