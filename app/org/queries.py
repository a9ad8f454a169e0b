"""Read models for the organisation pages: plain data for templates, in a fixed number of
queries whatever the size of the organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Date,
    FromClause,
    Select,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from app.org.models import (
    AssignmentKind,
    Office,
    OrgUnit,
    OrgUnitPath,
    Person,
    ReportingLine,
    Role,
    RoleAssignment,
)

STATUSES = ("active", "inactive", "all")


def status_or_active(value: str | None) -> str:
    """A list's status filter from the query string: active, inactive or all."""
    return value if value in STATUSES else "active"


def _with_status(stmt: Select, column, status: str) -> Select:
    return stmt if status == "all" else stmt.where(column.is_(status != "inactive"))


def _search(q: str, *columns) -> ColumnElement[bool]:
    """Case-insensitive containment over ``columns``; the user's % and _ are literal."""
    needle = q.strip().lower()
    return or_(*(func.lower(c).contains(needle, autoescape=True) for c in columns))


# --- trees: the one place the org-unit and reporting-line recursions are written ----------


def unit_subtree(roots: ColumnElement[bool], name: str = "unit_subtree") -> CTE:
    """CTE (column ``id``) of the units matching ``roots`` and every unit below them: an
    indexed look-up in the closure table (``OrgUnitPath``, kept by ``app.org.tree``)."""
    return (
        select(OrgUnitPath.descendant_id.label("id"))
        .join(OrgUnit, OrgUnit.id == OrgUnitPath.ancestor_id)
        .where(roots)
        .cte(name)
    )


def reporting_line(manager_id: int) -> CTE:
    """CTE (column ``id``) of a person and their direct and indirect reports: an indexed
    look-up in the reporting-line closure table (``ReportingLine``, kept by
    ``app.org.lines``)."""
    return (
        select(ReportingLine.person_id.label("id"))
        .where(ReportingLine.manager_id == manager_id)
        .cte("reporting_line")
    )


def managers_above(person_id: int) -> CTE:
    """CTE (column ``id``) of a person and everyone above them in the reporting line."""
    return (
        select(ReportingLine.manager_id.label("id"))
        .where(ReportingLine.person_id == person_id)
        .cte("managers_above")
    )


@lru_cache(maxsize=512)
def managed_people_ids(person_id: int) -> CompoundSelect:
    """Ids of the people a manager sees: their reporting line (themself included, the
    walk's depth-0 row) and the people of their units' subtrees who are not in it.

    Each id comes once without a sort or a hash: the two parts cannot meet, so they are put
    together with UNION ALL, and a caller may join them as well as ask ``IN``. A director's
    reach is two lists of some 1,300 that are mostly the same people; a UNION would sort
    the 2,600 out on every page.

    Kept per manager (statements are immutable): building this one costs more than running
    it, and every page a manager opens asks for it (``access.visible_people``)."""
    units = unit_subtree(OrgUnit.head_id == person_id, "headed_units")
    in_line = select(ReportingLine.person_id.label("id")).where(
        ReportingLine.manager_id == person_id
    )
    elsewhere = select(Person.id).where(
        Person.org_unit_id.in_(select(units.c.id)),
        ~select(ReportingLine.person_id)
        .where(ReportingLine.manager_id == person_id, ReportingLine.person_id == Person.id)
        .exists(),
    )
    return union_all(in_line, elsewhere)


def subtree_unit_ids(session: Session, unit_id: int) -> set[int]:
    tree = unit_subtree(OrgUnit.id == unit_id)
    return set(session.scalars(select(tree.c.id)))


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    role_code: str
    role_name: str
    role_id: int
    office: str | None
    kind: str
    start_date: date
    end_date: date | None
    live: bool


@dataclass(frozen=True)
class PersonProfile:
    person: Person
    unit_path: list[str]
    line_manager: Person | None
    reports: list[Person]
    current_roles: list[AssignmentRow]
    target_roles: list[AssignmentRow]
    past_roles: list[AssignmentRow]


@cache
def _unit_path_statement() -> Select:
    return (
        select(OrgUnit.name)
        .join(OrgUnitPath, OrgUnitPath.ancestor_id == OrgUnit.id)
        .where(OrgUnitPath.descendant_id == bindparam("unit_id"))
        .order_by(OrgUnitPath.depth.desc())
    )


def unit_path(session: Session, unit_id: int | None) -> list[str]:
    """Names from the top of the tree down to the unit."""
    if unit_id is None:
        return []
    return list(session.scalars(_unit_path_statement(), {"unit_id": unit_id}))


def person_profile(session: Session, person: Person, today: date) -> PersonProfile:
    rows = session.scalars(
        select(RoleAssignment)
        .options(joinedload(RoleAssignment.role), joinedload(RoleAssignment.office))
        .where(RoleAssignment.person_id == person.id)
        .order_by(RoleAssignment.start_date.desc())
    ).all()
    as_rows = [
        AssignmentRow(
            a.id,
            a.role.code,
            a.role.name,
            a.role_id,
            a.office.name if a.office else None,
            a.kind.value,
            a.start_date,
            a.end_date,
            a.is_live(today),
        )
        for a in rows
    ]
    reports = session.scalars(
        select(Person)
        .where(Person.line_manager_id == person.id, Person.active.is_(True))
        .order_by(Person.last_name, Person.first_name)
    ).all()
    return PersonProfile(
        person=person,
        unit_path=unit_path(session, person.org_unit_id),
        line_manager=person.line_manager,
        reports=list(reports),
        current_roles=[r for r in as_rows if r.kind == AssignmentKind.CURRENT and r.live],
        target_roles=[r for r in as_rows if r.kind == AssignmentKind.TARGET and r.live],
        past_roles=[r for r in as_rows if not r.live],
    )


@dataclass(frozen=True)
class HomeProfile:
    """What the home page shows of its user: where they sit and their live roles."""

    unit_path: list[str]
    current_roles: list[AssignmentRow]
    target_roles: list[AssignmentRow]


@cache
def _live_roles_statement() -> Select:
    """A person's role assignments live on a date, as rows (built once: the home page runs
    it on every visit)."""
    on: BindParameter[date] = bindparam("on", type_=Date)
    return (
        select(
            RoleAssignment.id,
            Role.code,
            Role.name,
            RoleAssignment.role_id,
            Office.name.label("office"),
            RoleAssignment.kind,
            RoleAssignment.start_date,
            RoleAssignment.end_date,
        )
        .join(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(Office, Office.id == RoleAssignment.office_id)
        .where(
            RoleAssignment.person_id == bindparam("person_id"),
            RoleAssignment.start_date <= on,
            or_(RoleAssignment.end_date.is_(None), RoleAssignment.end_date >= on),
        )
        .order_by(RoleAssignment.start_date.desc(), RoleAssignment.id)
    )


def home_profile(session: Session, person: Person, today: date) -> HomeProfile:
    """The home page's part of ``person_profile``: the unit path and the roles live today,
    without the past roles and the direct reports the home page does not show."""
    rows = [
        AssignmentRow(
            r.id, r.code, r.name, r.role_id, r.office, r.kind.value, r.start_date, r.end_date, True
        )
        for r in session.execute(_live_roles_statement(), {"person_id": person.id, "on": today})
    ]
    return HomeProfile(
        unit_path=unit_path(session, person.org_unit_id),
        current_roles=[r for r in rows if r.kind == AssignmentKind.CURRENT],
        target_roles=[r for r in rows if r.kind == AssignmentKind.TARGET],
    )


@dataclass(frozen=True)
class TeamSummary:
    people: int
    units: int
    direct_reports: int
    without_role: int


def _team_summary_statement(
    manager_id: int, scope: Select | None, reach: FromClause | None = None
) -> Select:
    """``scope``: the ids asked with IN; or ``reach``, a set of ids (column ``id``, each
    once) joined to the people."""
    stmt = select(
        func.count(),
        func.count(func.distinct(Person.org_unit_id)),
        func.coalesce(func.sum(case((Person.line_manager_id == manager_id, 1), else_=0)), 0),
        func.coalesce(func.sum(case((~_has_a_current_role(), 1), else_=0)), 0),
    ).where(Person.active.is_(True), Person.id != manager_id)
    if reach is not None:
        return stmt.select_from(reach.join(Person, Person.id == reach.c.id))
    return stmt if scope is None else stmt.where(Person.id.in_(scope))


def _team_size_statement(manager_id: int, scope: Select | None) -> Select:
    stmt = select(func.count()).where(Person.active.is_(True), Person.id != manager_id)
    return stmt if scope is None else stmt.where(Person.id.in_(scope))


def team_summary(session: Session, manager_id: int, scope: Select | None) -> TeamSummary:
    """Counts for a manager's team, in one query: the active people in ``scope`` (the person
    ids they may see; None for everyone) other than the manager, their units, the
    manager's direct reports, and those without a current role."""
    row = session.execute(_team_summary_statement(manager_id, scope)).one()
    return _summary(row)


def _summary(row) -> TeamSummary:
    people, units, direct, without = row
    return TeamSummary(people or 0, units or 0, direct or 0, without or 0)


def team_size(session: Session, manager_id: int, scope: Select | None) -> int:
    """How many active people a manager's team has (``team_summary``'s first figure, alone)."""
    return session.scalar(_team_size_statement(manager_id, scope)) or 0


@dataclass(frozen=True)
class TeamStatements:
    """A manager's team statements over the people they manage (``managed_people_ids``,
    what ``access.visible_people`` gives a manager), or over everyone: built once per
    manager, since building them costs more than running them."""

    size: Select  # team_size
    summary: Select  # team_summary
    people: Select  # team_query, not narrowed
    #: the manager's own people: ``people`` with the team's size on every row (``total``),
    #: so the page lists and counts them in one pass over the reach (None for everyone,
    #: where the name index gives a page without reading everyone)
    counted: Select | None


@lru_cache(maxsize=512)
def team_statements(manager_id: int, everyone: bool) -> TeamStatements:
    """``everyone``: the manager sees everyone (``visible_people`` gives None)."""
    scope = None if everyone else select(managed_people_ids(manager_id).subquery().c[0])
    people = team_query(PeopleFilter(), manager_id, scope)
    return TeamStatements(
        size=_team_size_statement(manager_id, scope),
        summary=_team_summary_statement(manager_id, scope),
        people=people,
        counted=None if everyone else people.add_columns(func.count().over().label("total")),
    )


def team_summary_of(session: Session, manager_id: int, everyone: bool) -> TeamSummary:
    """``team_summary`` over the people the manager manages (or everyone)."""
    return _summary(session.execute(team_statements(manager_id, everyone).summary).one())


def team_size_of(session: Session, manager_id: int, everyone: bool) -> int:
    """``team_size`` over the people the manager manages (or everyone)."""
    return session.scalar(team_statements(manager_id, everyone).size) or 0


@dataclass(frozen=True)
class DirectReportsPage:
    """One page of a manager's active direct reports in name order."""

    people: list  # rows: id, first_name, last_name, job_title
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.people)

    @property
    def page_numbers(self) -> list[int | None]:
        """The page links to offer: the first, the last and two either side of this one;
        None where pages are left out."""
        shown = sorted(
            {1, self.pages, *range(self.page - 2, self.page + 3)} & set(range(1, self.pages + 1))
        )
        out: list[int | None] = []
        for number in shown:
            if out and number != (out[-1] or 0) + 1:
                out.append(None)
            out.append(number)
        return out


def direct_reports_page(
    session: Session, manager_id: int, page: int, per_page: int
) -> DirectReportsPage:
    """Page ``page`` (kept within the pages there are) of the manager's active direct
    reports: an indexed look-up by line manager, whatever the size of their organisation."""
    count, rows = _direct_reports_statements()
    total = session.scalar(count, {"manager_id": manager_id}) or 0
    page = max(1, min(page, -(-total // per_page) or 1))
    people = session.execute(
        rows, {"manager_id": manager_id, "size": per_page, "skip": (page - 1) * per_page}
    ).all()
    return DirectReportsPage(list(people), total, page, per_page)


@cache
def _direct_reports_statements() -> tuple[Select, Select]:
    """(count, one page) of a manager's active direct reports, built once."""
    mine = (Person.line_manager_id == bindparam("manager_id")) & Person.active.is_(True)
    return (
        select(func.count()).select_from(Person).where(mine),
        select(Person.id, Person.first_name, Person.last_name, Person.job_title)
        .where(mine)
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(bindparam("size"))
        .offset(bindparam("skip")),
    )


@dataclass(frozen=True)
class OrgSummary:
    people: int
    inactive_people: int
    org_units: int
    offices_by_level: dict[str, int]
    roles: int
    assignments: int


def org_summary(session: Session) -> OrgSummary:
    levels = dict(
        session.execute(
            select(Office.p3_level, func.count())
            .where(Office.active.is_(True))
            .group_by(Office.p3_level)
        ).all()
    )
    return OrgSummary(
        people=session.scalar(select(func.count()).where(Person.active.is_(True))) or 0,
        inactive_people=session.scalar(select(func.count()).where(Person.active.is_(False))) or 0,
        org_units=session.scalar(
            select(func.count()).select_from(OrgUnit).where(OrgUnit.active.is_(True))
        )
        or 0,
        offices_by_level={k.value: v for k, v in levels.items()},
        roles=session.scalar(select(func.count()).select_from(Role)) or 0,
        assignments=session.scalar(
            select(func.count())
            .select_from(RoleAssignment)
            .where(RoleAssignment.end_date.is_(None))
        )
        or 0,
    )


@dataclass(frozen=True)
class RoleHolding:
    role: Role
    holders: int
    aspirants: int


def role_catalogue(session: Session) -> list[RoleHolding]:
    counts = dict(
        session.execute(
            select(RoleAssignment.role_id, func.count())
            .where(RoleAssignment.kind == AssignmentKind.CURRENT, RoleAssignment.end_date.is_(None))
            .group_by(RoleAssignment.role_id)
        ).all()
    )
    targets = dict(
        session.execute(
            select(RoleAssignment.role_id, func.count())
            .where(RoleAssignment.kind == AssignmentKind.TARGET, RoleAssignment.end_date.is_(None))
            .group_by(RoleAssignment.role_id)
        ).all()
    )
    roles = session.scalars(select(Role).where(Role.active.is_(True)).order_by(Role.code)).all()
    return [RoleHolding(r, counts.get(r.id, 0), targets.get(r.id, 0)) for r in roles]


def offices_query(level: str = "", status: str = "active") -> Select:
    """The offices list: hub, unit and spokes loaded, by P3 level then name."""
    stmt = (
        select(Office)
        .options(joinedload(Office.hub), joinedload(Office.org_unit), selectinload(Office.spokes))
        .order_by(Office.p3_level, Office.name)
    )
    if level in ("portfolio", "programme", "project"):
        stmt = stmt.where(Office.p3_level == level)
    return _with_status(stmt, Office.active, status)


@dataclass
class UnitNode:
    """One org unit in the tree: its head, the active people in it and in its whole
    subtree, and its child units (sorted by name)."""

    id: int
    name: str
    code: str
    active: bool
    head_id: int | None
    head_name: str | None
    people: int
    subtree_people: int = 0
    children: list[UnitNode] = field(default_factory=list)


def unit_tree(session: Session, status: str = "active") -> list[UnitNode]:
    """The org-unit tree, roots first, in two queries whatever its size. Unless ``status`` is
    "all", inactive units are left out (their active children then show as roots)."""
    counts = dict(
        session.execute(
            select(Person.org_unit_id, func.count())
            .where(Person.active.is_(True), Person.org_unit_id.is_not(None))
            .group_by(Person.org_unit_id)
        ).all()
    )
    head = aliased(Person)
    rows = session.execute(
        select(
            OrgUnit.id,
            OrgUnit.name,
            OrgUnit.code,
            OrgUnit.active,
            OrgUnit.parent_id,
            head.id.label("head_id"),
            (head.first_name + " " + head.last_name).label("head_name"),
        ).outerjoin(head, head.id == OrgUnit.head_id)
    ).all()
    nodes = {
        r.id: UnitNode(r.id, r.name, r.code, r.active, r.head_id, r.head_name, counts.get(r.id, 0))
        for r in rows
        if status == "all" or r.active
    }
    roots: list[UnitNode] = []
    for r in rows:
        if r.id not in nodes:
            continue
        parent = nodes.get(r.parent_id) if r.parent_id is not None else None
        (parent.children if parent else roots).append(nodes[r.id])

    def finish(node: UnitNode) -> int:
        node.children.sort(key=lambda n: n.name.lower())
        node.subtree_people = node.people + sum(finish(c) for c in node.children)
        return node.subtree_people

    roots.sort(key=lambda n: n.name.lower())
    for root in roots:
        finish(root)
    return roots


def org_units_query(q: str = "", status: str = "active") -> Select:
    stmt = select(OrgUnit).options(joinedload(OrgUnit.parent), joinedload(OrgUnit.head))
    if q.strip():
        stmt = stmt.where(_search(q, OrgUnit.name, OrgUnit.code))
    return _with_status(stmt, OrgUnit.active, status).order_by(OrgUnit.name)


def roles_query(q: str = "", status: str = "active") -> Select:
    stmt = select(Role).order_by(Role.code)
    if q.strip():
        stmt = stmt.where(_search(q, Role.name, Role.code))
    return _with_status(stmt, Role.active, status)


def role_choices(session: Session, active_only: bool = True) -> list[tuple[int, str]]:
    stmt = select(Role.id, Role.name, Role.code).order_by(Role.name)
    if active_only:
        stmt = stmt.where(Role.active.is_(True))
    return [(r.id, f"{r.name} ({r.code})") for r in session.execute(stmt)]


def office_choices(
    session: Session, *, active_only: bool = True, exclude_id: int | None = None
) -> list[tuple[int, str]]:
    stmt = select(Office.id, Office.name, Office.p3_level).order_by(Office.name)
    if active_only:
        stmt = stmt.where(Office.active.is_(True))
    if exclude_id is not None:
        stmt = stmt.where(Office.id != exclude_id)
    return [(o.id, f"{o.name} — {o.p3_level.value}") for o in session.execute(stmt)]


@cache
def _units_statement(to_depth: bool) -> Select:
    """Active units (id, name, parent); ``to_depth``: only those ``max_depth`` (bound) levels
    below the top or fewer. Built once: the people list offers them on every visit."""
    stmt = select(OrgUnit.id, OrgUnit.name, OrgUnit.parent_id).where(OrgUnit.active.is_(True))
    if not to_depth:
        return stmt
    top = aliased(OrgUnit)
    return stmt.where(
        OrgUnit.id.in_(
            select(OrgUnitPath.descendant_id)
            .join(top, top.id == OrgUnitPath.ancestor_id)
            .where(top.parent_id.is_(None), OrgUnitPath.depth <= bindparam("max_depth"))
        )
    )


def org_unit_choices(
    session: Session, exclude_id: int | None = None, max_depth: int | None = None
) -> list[tuple[int, str]]:
    """Active units as (id, indented label), in tree order, for select boxes; with
    ``max_depth``, only the units that many levels below the top or fewer (a filter over a
    unit takes its whole subtree, so the upper levels are enough to narrow a long list)."""
    units = session.execute(_units_statement(max_depth is not None), {"max_depth": max_depth}).all()
    children: dict[int | None, list] = {}
    for u in units:
        children.setdefault(u.parent_id, []).append(u)
    known = {u.id for u in units}
    roots = [u for u in units if u.parent_id is None or u.parent_id not in known]
    out: list[tuple[int, str]] = []

    def walk(node, depth):
        out.append((node.id, "\u2003" * depth + node.name))
        for child in sorted(children.get(node.id, []), key=lambda c: c.name):
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda r: r.name):
        walk(root, 0)
    return [c for c in out if c[0] != exclude_id]


#: How many levels below the top the people list's unit filter offers.
FILTER_DEPTH = 2


def unit_filter_choices(session: Session, selected: int | None) -> list[tuple[int, str]]:
    """The unit filter of the people list: the upper levels of the tree, plus the chosen
    unit when it lies deeper (as when the org-unit tree links to a team's people)."""
    choices = org_unit_choices(session, max_depth=FILTER_DEPTH)
    if selected and all(unit_id != selected for unit_id, _ in choices):
        name = session.scalar(select(OrgUnit.name).where(OrgUnit.id == selected))
        if name is not None:
            choices.append((selected, name))
    return choices


@dataclass
class PeopleFilter:
    q: str = ""
    org_unit_id: int | None = None
    role_id: int | None = None
    status: str = "active"  # active | inactive | all
    #: only those with no current role assignment open today
    without_role: bool = False
    #: only the direct reports of this person
    reports_to: int | None = None

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the status narrows the list."""
        return bool(
            self.q.strip()
            or self.org_unit_id
            or self.role_id
            or self.without_role
            or self.reports_to
        )


def _has_a_current_role():
    """EXISTS a current role assignment of the row's person (``Person``): one probe of the
    assignments' person index per person, where NOT IN first reads every open assignment."""
    return (
        select(RoleAssignment.id)
        .where(
            RoleAssignment.person_id == Person.id,
            RoleAssignment.kind == AssignmentKind.CURRENT,
            RoleAssignment.end_date.is_(None),
        )
        .exists()
    )


def _filtered(stmt: Select, flt: PeopleFilter) -> Select:
    """``stmt`` over Person, narrowed by the filter."""
    stmt = _with_status(stmt, Person.active, flt.status)
    if flt.q.strip():
        stmt = stmt.where(
            _search(
                flt.q,
                Person.first_name + " " + Person.last_name,
                Person.employee_number,
                Person.email,
            )
        )
    if flt.org_unit_id:
        units = unit_subtree(OrgUnit.id == flt.org_unit_id)
        stmt = stmt.where(Person.org_unit_id.in_(select(units.c.id)))
    if flt.role_id:
        stmt = stmt.where(
            Person.id.in_(
                select(RoleAssignment.person_id).where(RoleAssignment.role_id == flt.role_id)
            )
        )
    if flt.without_role:
        stmt = stmt.where(~_has_a_current_role())
    if flt.reports_to:
        stmt = stmt.where(Person.line_manager_id == flt.reports_to)
    return stmt


@lru_cache(maxsize=8)
def _plain_people_statements(status: str) -> tuple[Select, Select]:
    """The people list and its count with nothing but the status chosen (the list as an
    administrator first opens it), built once."""
    flt = PeopleFilter(status=status)
    return _people_query(flt), _people_count(flt)


def people_query(flt: PeopleFilter) -> Select:
    """The people list, filtered and sorted by name: only the columns the list shows (name,
    number, job title, unit, line manager, status), as rows, not whole records."""
    return _plain_people_statements(flt.status)[0] if not flt.narrowed else _people_query(flt)


def people_count(flt: PeopleFilter) -> Select:
    """How many people the list has, counted on the people table alone (no joins)."""
    return _plain_people_statements(flt.status)[1] if not flt.narrowed else _people_count(flt)


def _people_query(flt: PeopleFilter) -> Select:
    """The people list, filtered and sorted by name: only the columns the list shows (name,
    number, job title, unit, line manager, status), as rows, not whole records."""
    manager = aliased(Person)
    stmt = (
        select(
            Person.id,
            Person.first_name,
            Person.last_name,
            Person.employee_number,
            Person.job_title,
            Person.active,
            OrgUnit.name.label("unit_name"),
            (manager.first_name + " " + manager.last_name).label("manager_name"),
        )
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .outerjoin(manager, manager.id == Person.line_manager_id)
    )
    return _filtered(stmt, flt).order_by(Person.last_name, Person.first_name, Person.id)


def _people_count(flt: PeopleFilter) -> Select:
    return _filtered(select(func.count()).select_from(Person), flt)


def team_query(flt: PeopleFilter, manager_id: int, scope: Select | None) -> Select:
    """A manager's team list: everyone else in ``scope`` (the person ids they may see; None
    for everyone), filtered like the people list and counted like ``team_summary``."""
    stmt = people_query(flt).where(Person.id != manager_id)
    return stmt if scope is None else stmt.where(Person.id.in_(scope))


def person_id_by_number(session: Session, number: str | None) -> int | None:
    if not number or not number.strip():
        return None
    return session.scalar(select(Person.id).where(Person.employee_number == number.strip()))


def person_for_account_form(session: Session, person_id: int | None) -> Person | None:
    """The person an administrator is creating an account for, to prefill the form."""
    return session.get(Person, person_id) if person_id else None


def leaver_impact(session: Session, person_id: int) -> list[str]:
    """What deactivating a person touches, in words, for the confirmation page."""
    reports = (
        session.scalar(
            select(func.count()).where(Person.line_manager_id == person_id, Person.active.is_(True))
        )
        or 0
    )
    headed = list(session.scalars(select(OrgUnit.name).where(OrgUnit.head_id == person_id)))
    roles = (
        session.scalar(
            select(func.count()).where(
                RoleAssignment.person_id == person_id, RoleAssignment.end_date.is_(None)
            )
        )
        or 0
    )
    lines = ["Their history (roles, evidence, decisions) is kept; you can reactivate them."]
    if reports:
        lines.append(
            f"{reports} active people report to them and keep them as line manager "
            "until you change it."
        )
    if headed:
        lines.append("They head " + ", ".join(headed) + ": choose a new head there.")
    if roles:
        lines.append(f"{roles} open role assignment(s) stay as they are.")
    return lines


@dataclass(frozen=True)
class Attention:
    """What an administrator should look at: active people with no current role, and org
    units with active people but no head."""

    without_role: int
    units_without_head: int


def needs_attention(session: Session) -> Attention:
    without_role = session.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.active.is_(True), ~_has_a_current_role())
    )
    headless = session.scalar(
        select(func.count(func.distinct(OrgUnit.id)))
        .join(Person, Person.org_unit_id == OrgUnit.id)
        .where(OrgUnit.active.is_(True), OrgUnit.head_id.is_(None), Person.active.is_(True))
    )
    return Attention(without_role or 0, headless or 0)
