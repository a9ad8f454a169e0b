"""P3O function coverage: for each office, whether each function it needs is covered by its
members, and where only one person covers it (a single point of failure).

The rules, in words
-------------------
- **Which functions an office needs** comes from curricula/office-functions.yaml (loaded
  into ``office_functions``): the list for the office's P3 level (portfolio, programme,
  project); for an office marked as a Centre of Excellence, the Centre of Excellence list
  instead; and, for an office other offices report into (one with spokes open on the
  date), the hub list as well.
- **An office on a date** is open when the date lies between its start and end dates
  (either may be blank; an office switched off with no end date is closed on every date).
- **Its members on a date** are the people with a current role assignment in the office
  live on that date, who had not left by then.
- **A member covers a function** when their validated level on the date is at or above
  the function's level in *every* competency the function lists.
- **Marks**: no member covers it: not covered; exactly one: a single point of failure;
  two or more: covered (with the count).
- **Roll-up**: an office's rolled-up coverage counts the members of the office and of every
  open office that reports into it, directly or through a hub (project and programme
  offices into their hub, hubs into the portfolio office). A function is covered at the hub
  when anyone in that tree covers it.

Everything about people is aggregated in SQL (members joined to ``levels_at`` against the
functions' competencies, grouped by office and function, with the count and the single
person's id); Python only arranges the few offices and functions into the page's grid.

Scope: the offices listed are those open on the date with at least one member among the
people the viewer may see and picked (unit subtree, role); an office filter lists that
office and the offices that report into it. Counts are always of the whole office (an
office's coverage is a fact about the office); a name is shown only when the viewer may
see that person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import Select, case, distinct, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from app.assessment.statistics_tables import COUNT, Column, StatTable
from app.framework.models import Competency, ProficiencyLevel
from app.framework.versions import published_version
from app.org.models import Office, P3Level, Person, RoleAssignment
from app.reports.models import (
    LevelSpan,
    OfficeFunction,
    OfficeFunctionCompetency,
    OfficeFunctionNeed,
    OfficeKind,
)
from app.reports.scope import ReportScope, assignments_live, levels_at, live_on, population

NOT_COVERED = "not-covered"
SINGLE = "single"
COVERED = "covered"


# --- the building blocks (SELECTs) -----------------------------------------------------------


def office_open(office, on: date):
    """The condition that ``office`` (the class or an alias) is open on a date."""
    return (
        or_(office.start_date.is_(None), office.start_date <= on)
        & or_(office.end_date.is_(None), office.end_date >= on)
        & (office.active | office.end_date.is_not(None))
    )


def office_tree(on: date):
    """(ancestor_id, descendant_id) of offices open on a date: each office with itself and
    with every open office that reports into it, directly or through open hubs (a
    recursive CTE; UNION, not UNION ALL, so that a loop of hubs still ends)."""
    top = (
        select(Office.id.label("ancestor_id"), Office.id.label("descendant_id"))
        .where(office_open(Office, on))
        .cte("office_tree", recursive=True)
    )
    spoke = aliased(Office)
    return top.union(
        select(top.c.ancestor_id, spoke.id)
        .join(spoke, spoke.hub_id == top.c.descendant_id)
        .where(office_open(spoke, on))
    )


def _members(on: date) -> Select:
    return (
        select(RoleAssignment.office_id, RoleAssignment.person_id)
        .join(Office, Office.id == RoleAssignment.office_id)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(
            assignments_live(on),
            office_open(Office, on),
            or_(Person.active, Person.leaving_date > on),
        )
        .distinct()
    )


def members_at(on: date):
    """(office_id, person_id): the members of every open office on a date."""
    return _members(on).subquery("members")


def _covering(on: date, people: Select) -> Select:
    """(person_id, function_id) for ``people`` (a SELECT of person ids): each person's level
    rows on the date read once (one index range per person) and matched to the functions'
    competencies, never a search of the levels per person and competency."""
    who = people.distinct().cte("who").prefix_with("MATERIALIZED")
    levels = (
        select(LevelSpan.person_id, LevelSpan.competency_code, LevelSpan.level)
        .join(who, list(who.c)[0] == LevelSpan.person_id)
        .where(
            live_on(LevelSpan.valid_from, LevelSpan.valid_to, on),
            # only the levels that can cover something
            LevelSpan.competency_code.in_(select(OfficeFunctionCompetency.competency_code)),
            LevelSpan.level >= select(func.min(OfficeFunction.level)).scalar_subquery(),
        )
        .cte("their_levels")
        .prefix_with("MATERIALIZED")
    )
    listed = (
        select(
            OfficeFunctionCompetency.function_id,
            func.count().label("competencies"),
        )
        .group_by(OfficeFunctionCompetency.function_id)
        .subquery("function_size")
    )
    return (
        select(levels.c.person_id, OfficeFunctionCompetency.function_id)
        .select_from(levels)
        .join(
            OfficeFunctionCompetency,
            OfficeFunctionCompetency.competency_code == levels.c.competency_code,
        )
        .join(OfficeFunction, OfficeFunction.id == OfficeFunctionCompetency.function_id)
        .join(listed, listed.c.function_id == OfficeFunctionCompetency.function_id)
        .where(levels.c.level >= OfficeFunction.level)
        .group_by(levels.c.person_id, OfficeFunctionCompetency.function_id, listed.c.competencies)
        .having(func.count() == listed.c.competencies)
    )


def covering_at(on: date, people: Select):
    """(person_id, function_id): who among ``people`` covers which function on a date: at
    or above the function's level in all of its competencies."""
    return _covering(on, people).subquery("covering")


Counts = dict[tuple[int, int], tuple[int, int]]


def coverage_counts(
    session: Session,
    on: date,
    office_ids: list[int],
    hub_ids: list[int] = (),  # type: ignore[assignment]
) -> tuple[Counts, Counts]:
    """{(office_id, function_id): (people covering, the smallest of their ids)} on a date:
    for ``office_ids`` their own members, and for ``hub_ids`` with the offices reporting
    into them. One statement: the members (of those offices and the ones below them) who
    cover each function, a CTE the database computes once, grouped by office and function
    for the own view and, through the office tree, by hub for the rolled-up view. A missing
    key means no one covers it there."""
    if not office_ids and not hub_ids:
        return {}, {}
    tree = office_tree(on)
    wanted = select(tree.c.descendant_id).where(tree.c.ancestor_id.in_([*office_ids, *hub_ids]))
    members = _members(on).where(RoleAssignment.office_id.in_(wanted)).cte("members")
    covering = _covering(on, select(members.c.person_id)).cte("covering")
    covered = (
        select(members.c.office_id, members.c.person_id, covering.c.function_id)
        .join(covering, covering.c.person_id == members.c.person_id)
        .cte("covered")
    )
    own = (
        select(
            literal(0).label("rolled"),
            covered.c.office_id,
            covered.c.function_id,
            func.count(distinct(covered.c.person_id)),
            func.min(covered.c.person_id),
        )
        .where(covered.c.office_id.in_(office_ids or [-1]))
        .group_by(covered.c.office_id, covered.c.function_id)
    )
    rolled = (
        select(
            literal(1).label("rolled"),
            tree.c.ancestor_id,
            covered.c.function_id,
            func.count(distinct(covered.c.person_id)),
            func.min(covered.c.person_id),
        )
        .select_from(tree)
        .join(covered, covered.c.office_id == tree.c.descendant_id)
        .where(tree.c.ancestor_id.in_(hub_ids or [-1]))
        .group_by(tree.c.ancestor_id, covered.c.function_id)
    )
    out: tuple[Counts, Counts] = ({}, {})
    for kind, office, function, count, person in session.execute(union_all(own, rolled)):
        out[kind][(office, function)] = (count, person)
    return out


# --- the report value ------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    id: int
    code: str
    name: str
    description: str
    level: int
    competencies: tuple[str, ...]


@dataclass(frozen=True)
class Cover:
    """How many members cover a function, and who when only one does."""

    count: int
    person_id: int | None = None
    #: the single person's name, when the viewer may see them
    name: str | None = None

    @property
    def status(self) -> str:
        return NOT_COVERED if self.count == 0 else SINGLE if self.count == 1 else COVERED

    @property
    def text(self) -> str:
        """The mark in words, as the page prints it and the exports write it."""
        if self.count == 0:
            return "Not covered"
        if self.count == 1:
            return f"Only {self.name}" if self.name else "Only one person (not in your reach)"
        return f"Covered by {self.count}"


@dataclass(frozen=True)
class Cell:
    function: Function
    own: Cover
    #: with the offices reporting into this one; None for an office with no spokes
    rolled: Cover | None = None
    #: the same on the comparison date (None: not compared, or not needed then)
    own_before: Cover | None = None
    rolled_before: Cover | None = None

    @property
    def overall(self) -> Cover:
        return self.rolled or self.own

    @property
    def overall_before(self) -> Cover | None:
        return self.rolled_before or self.own_before

    @property
    def moved(self) -> bool:
        before = self.overall_before
        return before is not None and before.status != self.overall.status


@dataclass(frozen=True)
class OfficeRow:
    id: int
    code: str
    name: str
    p3_level: str
    is_coe: bool
    hub_id: int | None
    hub_name: str | None
    #: how deep in the tree of listed offices (0: top), for indenting
    depth: int
    #: open offices reporting into this one (directly or not)
    spokes: int
    members: int
    kinds: tuple[str, ...]
    cells: tuple[Cell, ...]

    @property
    def kind_label(self) -> str:
        level = {"portfolio": "Portfolio", "programme": "Programme", "project": "Project"}[
            self.p3_level
        ]
        parts = [f"{level} office"]
        if self.is_coe:
            parts.append("Centre of Excellence")
        if OfficeKind.HUB.value in self.kinds:
            parts.append(f"hub of {self.spokes} office{'s' if self.spokes != 1 else ''}")
        return ", ".join(parts)

    def tally(self, status: str, rolled: bool = False) -> int:
        return sum(1 for c in self.cells if (c.overall if rolled else c.own).status == status)


@dataclass(frozen=True)
class CoverageReport:
    on: date
    compare: date | None
    functions: tuple[Function, ...]
    offices: tuple[OfficeRow, ...]
    #: the needs as loaded: office kind -> function codes
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def loaded(self) -> bool:
        return bool(self.functions)

    def count(self, status: str) -> int:
        """Cells with ``status`` in the overall view (rolled up where an office has spokes)."""
        return sum(1 for o in self.offices for c in o.cells if c.overall.status == status)

    @property
    def moved(self) -> list[tuple[OfficeRow, Cell]]:
        return [(o, c) for o in self.offices for c in o.cells if c.moved]


# --- reading ---------------------------------------------------------------------------------


def load_functions(session: Session) -> tuple[list[Function], dict[str, tuple[str, ...]]]:
    """The loaded functions in file order, and office kind -> needed function codes."""
    codes: dict[int, list[str]] = defaultdict(list)
    for function_id, code in session.execute(
        select(
            OfficeFunctionCompetency.function_id, OfficeFunctionCompetency.competency_code
        ).order_by(OfficeFunctionCompetency.function_id, OfficeFunctionCompetency.position)
    ):
        codes[function_id].append(code)
    functions = [
        Function(f.id, f.code, f.name, f.description, f.level, tuple(codes[f.id]))
        for f in session.scalars(
            select(OfficeFunction).order_by(OfficeFunction.position, OfficeFunction.code)
        )
    ]
    order = {f.id: i for i, f in enumerate(functions)}
    code_of = {f.id: f.code for f in functions}
    needs: dict[str, list[int]] = defaultdict(list)
    for function_id, kind in session.execute(
        select(OfficeFunctionNeed.function_id, OfficeFunctionNeed.office_kind)
    ):
        needs[OfficeKind(kind).value].append(function_id)
    return functions, {
        kind: tuple(code_of[i] for i in sorted(ids, key=order.__getitem__))
        for kind, ids in needs.items()
    }


def office_kinds(p3_level: str, is_coe: bool, has_spokes: bool) -> tuple[str, ...]:
    """The lists of the content file that apply to an office (see the module docstring)."""
    kinds = [OfficeKind.CENTRE_OF_EXCELLENCE.value if is_coe else P3Level(p3_level).value]
    if has_spokes:
        kinds.append(OfficeKind.HUB.value)
    return tuple(kinds)


@dataclass(frozen=True)
class _Office:
    id: int
    code: str
    name: str
    p3_level: str
    is_coe: bool
    hub_id: int | None


def _open_offices(session: Session, on: date) -> dict[int, _Office]:
    rows = session.execute(
        select(
            Office.id, Office.code, Office.name, Office.p3_level, Office.is_coe, Office.hub_id
        ).where(office_open(Office, on))
    )
    return {
        r.id: _Office(r.id, r.code, r.name, P3Level(r.p3_level).value, r.is_coe, r.hub_id)
        for r in rows
    }


def _descendants(offices: dict[int, _Office]) -> dict[int, set[int]]:
    """Open offices below each open office (a hub whose own hub is closed is a top)."""
    children: dict[int, list[int]] = defaultdict(list)
    for o in offices.values():
        if o.hub_id in offices and o.hub_id != o.id:
            children[o.hub_id].append(o.id)
    below: dict[int, set[int]] = {}
    for start in offices:
        seen: set[int] = set()
        stack = list(children[start])
        while stack:
            current = stack.pop()
            if current not in seen and current != start:
                seen.add(current)
                stack.extend(children[current])
        below[start] = seen
    return below


def listed_office_ids(session: Session, scope: ReportScope, open_ids: set[int]) -> set[int]:
    """The offices the report lists (see the module docstring)."""
    ids = set(open_ids)
    if scope.office_id is not None:
        tree = office_tree(scope.on)
        ids &= set(
            session.scalars(
                select(tree.c.descendant_id).where(tree.c.ancestor_id == scope.office_id)
            )
        )
    people_scope = replace(scope, office_id=None)
    if people_scope.visible is not None or people_scope.filtered:
        members = members_at(scope.on)
        ids &= set(
            session.scalars(
                select(members.c.office_id)
                .where(members.c.person_id.in_(population(people_scope)))
                .distinct()
            )
        )
    return ids


def _member_counts(session: Session, on: date, office_ids: list[int]) -> dict[int, int]:
    members = members_at(on)
    return dict(
        session.execute(
            select(members.c.office_id, func.count())
            .where(members.c.office_id.in_(office_ids))
            .group_by(members.c.office_id)
        ).all()
    )


def _names(session: Session, ids: set[int], visible: Select | None) -> dict[int, str]:
    if not ids:
        return {}
    query = select(Person.id, Person.first_name, Person.last_name).where(Person.id.in_(ids))
    if visible is not None:
        query = query.where(Person.id.in_(visible))
    return {pid: f"{first} {last}" for pid, first, last in session.execute(query)}


_RANK = {"portfolio": 0, "programme": 1, "project": 2}


def _display_key(office: _Office) -> tuple:
    return (_RANK[office.p3_level], office.name.casefold(), office.id)


def _listed_hub(office: _Office, listed: dict, offices: dict[int, _Office]) -> int | None:
    """The nearest office above ``office`` that is listed (None: it is a top row)."""
    hub, seen = office.hub_id, {office.id}
    while hub is not None and hub in offices and hub not in seen:
        if hub in listed:
            return hub
        seen.add(hub)
        hub = offices[hub].hub_id
    return None


def _tree_order(listed: dict[int, _Office], offices: dict[int, _Office]) -> list[tuple[int, int]]:
    """(office id, depth) of the listed offices, each hub followed by its spokes, portfolio
    offices first, then by name; depth counts listed ancestors only."""
    children: dict[int | None, list[_Office]] = defaultdict(list)
    for o in listed.values():
        children[_listed_hub(o, listed, offices)].append(o)
    out: list[tuple[int, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for o in sorted(children[parent], key=_display_key):
            out.append((o.id, depth))
            walk(o.id, depth + 1)

    walk(None, 0)
    done = {i for i, _ in out}  # offices in a loop of hubs have no top: list them last
    return out + [(o.id, 0) for o in sorted(listed.values(), key=_display_key) if o.id not in done]


@dataclass(frozen=True)
class _Snapshot:
    """One date's coverage, before the viewer's names are attached."""

    offices: dict[int, _Office]
    below: dict[int, set[int]]
    own: dict[tuple[int, int], tuple[int, int]]
    rolled: dict[tuple[int, int], tuple[int, int]]


def _snapshot(session: Session, on: date, office_ids: list[int]) -> _Snapshot:
    offices = _open_offices(session, on)
    below = _descendants(offices)
    ids = [i for i in office_ids if i in offices]
    own, rolled = coverage_counts(session, on, ids, [i for i in ids if below.get(i)])
    return _Snapshot(offices, below, own, rolled)


def _needed(
    office: _Office, has_spokes: bool, functions: list[Function], needs: dict
) -> tuple[tuple[str, ...], list[Function]]:
    kinds = office_kinds(office.p3_level, office.is_coe, has_spokes)
    wanted = {code for kind in kinds for code in needs.get(kind, ())}
    return kinds, [f for f in functions if f.code in wanted]


def coverage_report(
    session: Session, scope: ReportScope, compare: date | None = None
) -> CoverageReport:
    """The coverage of every listed office on ``scope.on`` (and, when ``compare`` is given,
    the same cells on that date beside them)."""
    functions, needs = load_functions(session)
    listed_ids = listed_office_ids(session, scope, set(_open_offices(session, scope.on)))
    now = _snapshot(session, scope.on, sorted(listed_ids))
    before = _snapshot(session, compare, sorted(listed_ids)) if compare else None
    members = _member_counts(session, scope.on, sorted(listed_ids))
    singles = {
        person
        for snap in (now, before)
        if snap is not None
        for counts in (snap.own, snap.rolled)
        for count, person in counts.values()
        if count == 1
    }
    names = _names(session, singles, scope.visible)

    def cover(counts: dict, office_id: int, function_id: int) -> Cover:
        count, person = counts.get((office_id, function_id), (0, None))
        if count != 1:
            return Cover(count)
        return Cover(1, person, names.get(person))

    listed = {i: now.offices[i] for i in listed_ids}
    rows = []
    for office_id, depth in _tree_order(listed, now.offices):
        office = now.offices[office_id]
        has_spokes = bool(now.below.get(office_id))
        kinds, wanted = _needed(office, has_spokes, functions, needs)
        earlier = set()
        if before is not None and office_id in before.offices:
            was_hub = bool(before.below.get(office_id))
            earlier = {f.id for f in _needed(office, was_hub, functions, needs)[1]}
        cells = []
        for f in wanted:
            then = before is not None and f.id in earlier
            cells.append(
                Cell(
                    f,
                    own=cover(now.own, office_id, f.id),
                    rolled=cover(now.rolled, office_id, f.id) if has_spokes else None,
                    own_before=cover(before.own, office_id, f.id) if then and before else None,
                    rolled_before=(
                        cover(before.rolled, office_id, f.id)
                        if then and before and before.below.get(office_id)
                        else None
                    ),
                )
            )
        hub = now.offices.get(office.hub_id) if office.hub_id is not None else None
        rows.append(
            OfficeRow(
                id=office.id,
                code=office.code,
                name=office.name,
                p3_level=office.p3_level,
                is_coe=office.is_coe,
                hub_id=hub.id if hub else None,
                hub_name=hub.name if hub else None,
                depth=depth,
                spokes=len(now.below.get(office_id, ())),
                members=members.get(office_id, 0),
                kinds=kinds,
                cells=tuple(cells),
            )
        )
    return CoverageReport(scope.on, compare, tuple(functions), tuple(rows), needs)


# --- the table the page shows and the exports write ----------------------------------------


def _date_text(on: date) -> str:
    return f"{on.day} {on:%b %Y}"


def coverage_table(report: CoverageReport) -> StatTable:
    """One row per office and function it needs: the marks in words and the counts, for
    the office itself and (hubs) with the offices reporting into it; with a comparison
    date, the overall mark then. The page's per-office tables print these very cells."""
    then = f" on {_date_text(report.compare)}" if report.compare else ""
    columns = [
        Column("office", "Office", wrap=True),
        Column("office_code", "Office code", wide_only=True),
        Column("office_kind", "Office type", wide_only=True),
        Column("function", "Function", wrap=True),
        Column("competencies", "Competencies"),
        Column("level", "Level needed", COUNT),
        Column("own", "This office"),
        Column("own_count", "People covering (this office)", COUNT),
        Column("rolled", "With the offices reporting into it"),
        Column("rolled_count", "People covering (with those offices)", COUNT),
    ]
    if report.compare:
        columns.append(Column("before", f"Overall{then}"))
        columns.append(Column("moved", "What moved"))
    rows = []
    for office in report.offices:
        for cell in office.cells:
            row = {
                "office_id": office.id,
                "function_code": cell.function.code,
                "status": cell.overall.status,
                "own_status": cell.own.status,
                "rolled_status": cell.rolled.status if cell.rolled else None,
                "office": office.name,
                "office_code": office.code,
                "office_kind": office.kind_label,
                "function": cell.function.name,
                "competencies": ", ".join(cell.function.competencies),
                "level": cell.function.level,
                "own": cell.own.text,
                "own_count": cell.own.count,
                "rolled": cell.rolled.text if cell.rolled else "No offices report into it",
                "rolled_count": cell.rolled.count if cell.rolled else None,
            }
            if report.compare:
                before = cell.overall_before
                row["before"] = before.text if before else "Not needed then"
                row["moved"] = (
                    _movement(before, cell.overall) if before is not None else "Newly needed"
                )
                row["changed"] = cell.moved
            rows.append(row)
    return StatTable(
        name=f"function-coverage-{report.on.isoformat()}",
        title="P3O function coverage",
        columns=tuple(columns),
        rows=tuple(rows),
    )


def _movement(before: Cover, now: Cover) -> str:
    if before.status == now.status:
        return "No change" if before.count == now.count else f"{before.count} → {now.count}"
    words = {NOT_COVERED: "not covered", SINGLE: "one person", COVERED: "covered"}
    return f"{words[before.status].capitalize()} → {words[now.status]}"


# --- the chart: a compact grid, one row per office -----------------------------------------

CELL = 30
LABEL_WIDTH = 64
HEADER_HEIGHT = 118
#: room on the right for the last column's slanted label
HEADER_OVERHANG = 64


def short_label(code: str) -> str:
    """A column label from a function's code: CHANGE-CONTROL → "Change control"."""
    return code.replace("-", " ").capitalize()


@dataclass(frozen=True)
class ChartCell:
    x: int
    y: int
    status: str  # NOT_COVERED, SINGLE, COVERED, or "" when the office does not need it
    mark: str  # printed in the cell
    title: str  # the cell in words (a tooltip and the accessible text)


@dataclass(frozen=True)
class ChartRow:
    y: int
    code: str
    name: str
    cells: tuple[ChartCell, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    columns: tuple[tuple[int, str, str], ...]  # (x of the column's middle, label, name)
    rows: tuple[ChartRow, ...]
    summary: str
    lines: tuple[str, ...]  # the text alternative, one line per office


def coverage_chart(report: CoverageReport) -> Chart | None:
    """The grid's geometry: a column per function any listed office needs (in the file's
    order), a row per office. Each cell prints its mark: the number of people covering
    (rolled up for a hub), "!" beside a 1, "×" when no one covers it, "·" when the office
    does not need the function."""
    if not report.offices:
        return None
    needed = {c.function.code for o in report.offices for c in o.cells}
    functions = [f for f in report.functions if f.code in needed]
    if not functions:
        return None
    columns = tuple(
        (LABEL_WIDTH + i * CELL + CELL // 2, short_label(f.code), f.name)
        for i, f in enumerate(functions)
    )
    rows, lines = [], []
    for r, office in enumerate(report.offices):
        y = HEADER_HEIGHT + r * CELL
        by_code = {c.function.code: c for c in office.cells}
        cells = []
        for i, f in enumerate(functions):
            x = LABEL_WIDTH + i * CELL
            cell = by_code.get(f.code)
            if cell is None:
                cells.append(ChartCell(x, y, "", "·", f"{office.code}: {f.name}: not needed"))
                continue
            cover = cell.overall
            mark = "×" if cover.count == 0 else "1!" if cover.count == 1 else str(cover.count)
            cells.append(
                ChartCell(x, y, cover.status, mark, f"{office.code}: {f.name}: {cover.text}")
            )
        rows.append(ChartRow(y, office.code, office.name, tuple(cells)))
        gaps = [c.function.name for c in office.cells if c.overall.status == NOT_COVERED]
        ones = [c.function.name for c in office.cells if c.overall.status == SINGLE]
        lines.append(
            f"{office.name}: {len(office.cells)} functions needed"
            + (f"; not covered: {', '.join(gaps)}" if gaps else "; all covered")
            + (f"; one person only: {', '.join(ones)}" if ones else "")
            + "."
        )
    summary = (
        f"P3O function coverage on {_date_text(report.on)}: {len(report.offices)} offices, "
        f"{report.count(NOT_COVERED)} needed functions not covered, "
        f"{report.count(SINGLE)} covered by one person only."
    )
    return Chart(
        width=LABEL_WIDTH + len(functions) * CELL + HEADER_OVERHANG,
        height=HEADER_HEIGHT + len(report.offices) * CELL + 4,
        columns=columns,
        rows=tuple(rows),
        summary=summary,
        lines=tuple(lines),
    )


# --- the people behind one cell ---------------------------------------------------------------


class UnknownCell(LookupError):
    """The office is not open on the date, or does not need the function."""


@dataclass(frozen=True)
class CellPeople:
    office: OfficeRow
    cell: Cell
    rolled: bool
    #: a SELECT of (person_id, first_name, last_name, office, met, level per competency)
    people: Select
    #: how many of them the viewer may see
    visible_count: int


def cell_people(
    session: Session,
    report: CoverageReport,
    office_id: int,
    function_code: str,
    *,
    rolled: bool,
    visible: Select | None,
) -> CellPeople:
    """The members behind one cell that the viewer may see (of the office, or with
    ``rolled`` of the offices reporting into it too), each with their level on the date in
    the function's competencies; those covering it first. ``report`` is the coverage the
    cell was read from (so the office is one the viewer may see)."""
    office = next((o for o in report.offices if o.id == office_id), None)
    cell = (
        next((c for c in office.cells if c.function.code == function_code), None)
        if office
        else None
    )
    if office is None or cell is None:
        raise UnknownCell(
            "That office is not in this report on this date, or does not need that function."
        )
    rolled = rolled and cell.rolled is not None
    on, f = report.on, cell.function
    members = members_at(on)
    if rolled:
        tree = office_tree(on)
        offices = select(tree.c.descendant_id).where(tree.c.ancestor_id == office_id)
    else:
        offices = select(literal(office_id))
    levels = levels_at(on)
    per_code = [
        func.max(case((levels.c.competency_code == code, levels.c.level), else_=0)).label(
            f"level_{i}"
        )
        for i, code in enumerate(f.competencies)
    ]
    met = func.count(distinct(case((levels.c.level >= f.level, levels.c.competency_code))))
    where = [members.c.office_id.in_(offices)]
    if visible is not None:
        where.append(members.c.person_id.in_(visible))
    people = (
        select(
            Person.id,
            Person.first_name,
            Person.last_name,
            func.min(Office.name).label("office"),
            met.label("met"),
            *per_code,
        )
        .select_from(members)
        .join(Person, Person.id == members.c.person_id)
        .join(Office, Office.id == members.c.office_id)
        .outerjoin(
            levels,
            (levels.c.person_id == members.c.person_id)
            & levels.c.competency_code.in_(f.competencies),
        )
        .where(*where)
        .group_by(Person.id, Person.first_name, Person.last_name)
        .order_by(met.desc(), Person.last_name, Person.first_name, Person.id)
    )
    count = session.scalar(select(func.count(distinct(members.c.person_id))).where(*where))
    return CellPeople(office, cell, rolled, people, count or 0)


def competency_names(session: Session) -> dict[str, str]:
    """{code: name} of the published framework's competencies."""
    version = published_version(session)
    if version is None:
        return {}
    return dict(
        session.execute(
            select(Competency.code, Competency.name).where(Competency.version_id == version.id)
        ).all()
    )


def scale_names(session: Session) -> dict[int, str]:
    """{level: name} of the published framework's scale ("3: Practitioner")."""
    version = published_version(session)
    if version is None:
        return {}
    return dict(
        session.execute(
            select(ProficiencyLevel.level, ProficiencyLevel.name).where(
                ProficiencyLevel.version_id == version.id
            )
        ).all()
    )
