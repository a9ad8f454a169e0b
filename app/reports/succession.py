"""Bench strength and succession: for each role, the people who do not hold it on a date but
are ready now, or within one level on at most N of its competencies; and for one person, the
roles they are closest to.

A person's **target** role assignments live on the date are their stated aim: they are
marked, ranked first among equals, and can be shown alone.

In SQL: per candidate (the report's population, whatever the role filter) and role, the
number of competencies of the profile in force on the date they are short of, and whether
any by more than one level: read from the maintained role distances (distances.py: kept for
today, with the dates each person's figures hold over), and computed on the fly for the
people whose stored figures do not hold on the date (a past date, or levels lapsed since);
the role's own holders are left out by an anti-join. Never a loop over people.

"Ready" is judged on every competency of the profile, or on its essential competencies only
(``basis``); a desirable competency then neither counts nor blocks.

**Already in a more senior role.** A programme manager may well meet a project support
officer's profile, but is no one's bench for it. A role's seniority is read from its profile:
its *peak*, the highest level it requires (curricula/role-profiles.yaml: level 3 is the
practitioner peak of officer and co-ordinator roles, 4 senior delivery and management, 5
shaping the organisation's practice; the career levels L1-L4 of DOMAIN.md follow it). A
person holding, on the date, a role whose profile peaks higher than this role's is on its
bench but marked ``senior``: counted apart from "ready now" and "within reach", and ranked
after the others with as few shortfalls. They are kept, labelled, rather than dropped:
they are the cover a role has in a pinch, and the page says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Select, Subquery, and_, case, exists, false, func, select, true
from sqlalchemy.orm import Session

from app.assessment.statistics_tables import COUNT, PERCENT, Column, StatTable
from app.framework.models import Competency
from app.org.models import AssignmentKind, OrgUnit, Person, Role, RoleAssignment
from app.reports.distances import WITHIN_MAX, bench_pairs
from app.reports.readiness import percent
from app.reports.scope import (
    ReportScope,
    assignments_live,
    levels_at,
    population,
    profile_at,
    version_in_force,
)

ESSENTIAL = "essential"
ALL = "all"
BASES = (ALL, ESSENTIAL)
#: the default of "within one level on at most N competencies" (at most WITHIN_MAX)
WITHIN_DEFAULT = 2


@dataclass(frozen=True)
class BenchOptions:
    """How the bench is drawn: on which competencies (``basis``), how many may be one level
    short (``within``, 0: ready now only), and whether only people who target the role."""

    basis: str = ESSENTIAL
    within: int = WITHIN_DEFAULT
    targets_only: bool = False

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise ValueError(f"basis must be one of {BASES}")
        if not 0 <= self.within <= WITHIN_MAX:
            raise ValueError(f"within must be 0 to {WITHIN_MAX}")


def _profile(on: date, basis: str) -> Subquery:
    """The profile lines in force that count for ``basis``."""
    prof = profile_at(on)
    if basis == ESSENTIAL:
        return select(prof).where(prof.c.essential.is_(True)).subquery("profile_considered")
    return prof


def _target_of(person_id, role_id, on: date):
    return exists(
        select(RoleAssignment.id).where(
            RoleAssignment.person_id == person_id,
            RoleAssignment.role_id == role_id,
            assignments_live(on, AssignmentKind.TARGET),
        )
    )


def _peaks(on: date):
    """(role_id, peak): the highest level each role's profile in force requires (a few
    dozen rows, computed once a statement)."""
    prof = profile_at(on)
    return (
        select(prof.c.role_id, func.max(prof.c.level).label("peak"))
        .group_by(prof.c.role_id)
        .cte("role_peaks")
    )


def _top_peaks(peaks, on: date):
    """(person_id, top): per person holding a current role on the date, the highest peak
    among their roles' profiles; computed once a statement (one pass over the live
    assignments), then looked up per bench row."""
    return (
        select(RoleAssignment.person_id, func.max(peaks.c.peak).label("top"))
        .join(peaks, peaks.c.role_id == RoleAssignment.role_id)
        .where(assignments_live(on))
        .group_by(RoleAssignment.person_id)
        .cte("held_peaks")
        .prefix_with("MATERIALIZED")
    )


def bench_statement(
    scope: ReportScope, options: BenchOptions, *, role_id: int | None = None
) -> Select:
    """SELECT per candidate and role (person_id, role_id, lines, shortfalls, gap_levels,
    targets, senior): candidates who do not hold the role on the date and are short on at
    most ``options.within`` competencies, each by one level (so ``gap_levels`` equals
    ``shortfalls``); ``senior``: they hold a more senior role (the module docstring).
    ``role_id`` narrows to one role. The role filter of ``scope`` is
    ignored here: the bench of a role is people who do not hold it.

    The pairs come from the stored role distances where they hold on the date, computed
    for everyone else (distances.bench_pairs)."""
    on = scope.on
    candidates = population(replace(scope, role_id=None))
    pairs = bench_pairs(on, candidates, options.basis, options.within, role_id).subquery("pairs")
    held = exists(
        select(RoleAssignment.id).where(
            RoleAssignment.person_id == pairs.c.person_id,
            RoleAssignment.role_id == pairs.c.role_id,
            assignments_live(on),
        )
    )
    g = (
        select(
            pairs.c.person_id,
            pairs.c.role_id,
            pairs.c.lines,
            pairs.c.shortfalls,
            pairs.c.shortfalls.label("gap_levels"),
        )
        .where(~held)
        .subquery("bench")
    )
    targets = _target_of(g.c.person_id, g.c.role_id, on)
    peaks = _peaks(on)
    held = _top_peaks(peaks, on)
    # a more senior role held: one whose profile peaks above this role's (module docstring)
    senior = case((func.coalesce(held.c.top, 0) > peaks.c.peak, true()), else_=false())
    query = (
        select(
            g.c.person_id,
            g.c.role_id,
            g.c.lines,
            g.c.shortfalls,
            g.c.gap_levels,
            targets.label("targets"),
            senior.label("senior"),
        )
        .join(peaks, peaks.c.role_id == g.c.role_id)
        .outerjoin(held, held.c.person_id == g.c.person_id)
    )
    if options.targets_only:
        query = query.where(targets)
    return query


@dataclass(frozen=True)
class BenchRole:
    """One role's bench: its holders in scope, and the people who could step into it."""

    role_id: int
    code: str
    name: str
    profile_size: int  # competencies considered (essential only, or all)
    holders: int
    ready_now: int  # not in a more senior role
    within_reach: int  # short by one level on 1..N competencies; not in a more senior role
    targeting: int  # of everyone on the bench, those who target the role
    senior: int = 0  # ready now or within reach, but already in a more senior role


def bench_overview(session: Session, scope: ReportScope, options: BenchOptions) -> list[BenchRole]:
    """Per role with a profile in force (the role filter's role only, if set): holders in
    scope, and how many others are ready now or within reach. By role name."""
    bench = bench_statement(scope, options, role_id=scope.role_id).subquery("b")
    junior = ~bench.c.senior
    counts = {
        role_id: (ready, reach, targeting, senior)
        for role_id, ready, reach, targeting, senior in session.execute(
            select(
                bench.c.role_id,
                func.sum(case((and_(junior, bench.c.shortfalls == 0), 1), else_=0)),
                func.sum(case((and_(junior, bench.c.shortfalls > 0), 1), else_=0)),
                func.sum(case((bench.c.targets, 1), else_=0)),
                func.sum(case((bench.c.senior, 1), else_=0)),
            ).group_by(bench.c.role_id)
        )
    }
    prof = _profile(scope.on, options.basis)
    sizes = select(prof.c.role_id, func.count().label("n")).group_by(prof.c.role_id).subquery()
    holders = (
        select(RoleAssignment.role_id, func.count(func.distinct(RoleAssignment.person_id)))
        .where(
            assignments_live(scope.on),
            RoleAssignment.person_id.in_(population(replace(scope, role_id=None))),
        )
        .group_by(RoleAssignment.role_id)
    )
    if scope.office_id is not None:
        holders = holders.where(RoleAssignment.office_id == scope.office_id)
    held = dict(session.execute(holders).all())
    roles = select(Role.id, Role.code, Role.name, sizes.c.n).join(sizes, sizes.c.role_id == Role.id)
    if scope.role_id is not None:
        roles = roles.where(Role.id == scope.role_id)
    out = []
    for role_id, code, name, size in session.execute(roles.order_by(Role.name, Role.code)):
        ready, reach, targeting, senior = counts.get(role_id, (0, 0, 0, 0))
        out.append(
            BenchRole(
                role_id,
                code,
                name,
                size,
                held.get(role_id, 0),
                ready or 0,
                reach or 0,
                targeting or 0,
                senior or 0,
            )
        )
    return out


@dataclass(frozen=True)
class Shortfall:
    code: str
    name: str
    level: int
    required: int
    essential: bool

    @property
    def text(self) -> str:
        return f"{self.code} {self.level}→{self.required}"


@dataclass(frozen=True)
class Candidate:
    """A person on a role's bench."""

    person_id: int
    name: str
    unit: str
    current_roles: str
    lines: int
    shortfalls: int
    gap_levels: int
    targets: bool
    short: tuple[Shortfall, ...] = ()
    senior: bool = False  # already holds a more senior role

    @property
    def ready(self) -> bool:
        return self.shortfalls == 0

    @property
    def status(self) -> str:
        said = "Ready now" if self.ready else "Within reach"
        return f"{said}, in a more senior role" if self.senior else said


def bench_list(scope: ReportScope, options: BenchOptions, role_id: int) -> Select:
    """A role's bench as ranked rows (person_id, first_name, last_name, unit, lines,
    shortfalls, gap_levels, targets, senior): ready now first, then fewer shortfalls; among
    equals those not already in a more senior role, then those who target the role, then
    fewer levels short in all, then by name. Paginate it,
    then ``candidates`` adds what each person is short of."""
    bench = bench_statement(scope, options, role_id=role_id).subquery("b")
    return (
        select(
            bench.c.person_id,
            Person.first_name,
            Person.last_name,
            OrgUnit.name.label("unit"),
            bench.c.lines,
            bench.c.shortfalls,
            bench.c.gap_levels,
            bench.c.targets,
            bench.c.senior,
        )
        .join(Person, Person.id == bench.c.person_id)
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .order_by(
            bench.c.shortfalls,
            case((bench.c.senior, 1), else_=0),
            case((bench.c.targets, 0), else_=1),
            bench.c.gap_levels,
            Person.last_name,
            Person.first_name,
            Person.id,
        )
    )


def bench_count(session: Session, scope: ReportScope, options: BenchOptions, role_id: int) -> int:
    """How many people are on a role's bench."""
    bench = bench_statement(scope, options, role_id=role_id).subquery("b")
    return session.scalar(select(func.count()).select_from(bench)) or 0


def candidates(
    session: Session, on: date, options: BenchOptions, role_id: int, rows: Sequence
) -> list[Candidate]:
    """The rows of ``bench_list`` (one page) as candidates, each with their current roles
    and the competencies they are short of (two queries for the page)."""
    ids = [r.person_id for r in rows]
    shorts = person_shortfalls(session, on, ids, role_id, options.basis)
    roles = current_roles(session, on, ids)
    return [
        Candidate(
            person_id=r.person_id,
            name=f"{r.first_name} {r.last_name}",
            unit=r.unit or "",
            current_roles=roles.get(r.person_id, ""),
            lines=r.lines,
            shortfalls=r.shortfalls,
            gap_levels=r.gap_levels,
            targets=bool(r.targets),
            short=tuple(shorts.get((r.person_id, role_id), ())),
            senior=bool(getattr(r, "senior", False)),
        )
        for r in rows
    ]


def bench_candidates(
    session: Session, scope: ReportScope, options: BenchOptions, role_id: int
) -> list[Candidate]:
    """A role's whole bench, ranked (for the export)."""
    rows = session.execute(bench_list(scope, options, role_id)).all()
    return candidates(session, scope.on, options, role_id, rows)


def person_shortfalls(
    session: Session,
    on: date,
    person_ids: Sequence[int],
    role_id: int | None,
    basis: str = ALL,
) -> dict[tuple[int, int], list[Shortfall]]:
    """(person id, role id) -> the competencies of the role's profile the person is below on
    the date (every role when ``role_id`` is None), essential first, then by code. For the
    people of one page."""
    if not person_ids:
        return {}
    prof = _profile(on, basis)
    levels = levels_at(on)
    people = select(Person.id).where(Person.id.in_(person_ids)).subquery("page")
    level = func.coalesce(levels.c.level, 0)
    query = (
        select(
            people.c.id,
            prof.c.role_id,
            prof.c.competency_code,
            level,
            prof.c.level,
            prof.c.essential,
            Competency.name,
        )
        .select_from(people)
        .join(prof, true())
        .outerjoin(
            levels,
            and_(
                levels.c.person_id == people.c.id,
                levels.c.competency_code == prof.c.competency_code,
            ),
        )
        .outerjoin(
            Competency,
            and_(
                Competency.code == prof.c.competency_code,
                Competency.version_id == version_in_force(on),
            ),
        )
        .where(level < prof.c.level)
    )
    if role_id is not None:
        query = query.where(prof.c.role_id == role_id)
    out: dict[tuple[int, int], list[Shortfall]] = defaultdict(list)
    for person_id, rid, code, current, required, essential, name in session.execute(query):
        out[(person_id, rid)].append(
            Shortfall(code, name or code, current, required, bool(essential))
        )
    for shorts in out.values():
        shorts.sort(key=lambda s: (not s.essential, s.code))
    return out


def current_roles(session: Session, on: date, person_ids: Sequence[int]) -> dict[int, str]:
    """person id -> the names of the roles they hold on the date, joined by "; "."""
    if not person_ids:
        return {}
    names: dict[int, list[str]] = defaultdict(list)
    for person_id, name in session.execute(
        select(RoleAssignment.person_id, Role.name)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.person_id.in_(person_ids), assignments_live(on))
        .distinct()
        .order_by(Role.name)
    ):
        names[person_id].append(name)
    return {p: "; ".join(n) for p, n in names.items()}


# -- one person: the roles they are closest to ----------------------------------------------


@dataclass(frozen=True)
class RoleDistance:
    """How far one person is from one role on a date."""

    role_id: int
    code: str
    name: str
    lines: int
    met: int
    short_by_one: int
    short_by_more: int
    essential_lines: int
    essential_met: int
    targets: bool
    short: tuple[Shortfall, ...] = ()

    @property
    def readiness(self) -> int | None:
        """The share of the profile met, in whole per cent."""
        return percent(self.met, self.lines)

    @property
    def ready(self) -> bool:
        return self.met == self.lines


@dataclass(frozen=True)
class ClosestRoles:
    person_id: int
    on: date
    held: tuple[str, ...]  # the names of the roles they hold on the date (not ranked)
    roles: tuple[RoleDistance, ...]


def closest_roles(session: Session, person_id: int, on: date) -> ClosestRoles:
    """The roles with a profile in force that ``person_id`` does not hold on ``on``, closest
    first: their target roles first, then by the share of the profile met, fewest
    competencies short by more than one level, fewest short by one, and role name."""
    prof = profile_at(on)
    levels = levels_at(on)
    mine = (
        select(levels.c.competency_code, levels.c.level)
        .where(levels.c.person_id == person_id)
        .subquery("mine")
    )
    gap = prof.c.level - func.coalesce(mine.c.level, 0)
    ess = prof.c.essential.is_(True)
    rows = session.execute(
        select(
            prof.c.role_id,
            Role.code,
            Role.name,
            func.count(),
            func.sum(case((gap <= 0, 1), else_=0)),
            func.sum(case((gap == 1, 1), else_=0)),
            func.sum(case((gap > 1, 1), else_=0)),
            func.sum(case((ess, 1), else_=0)),
            func.sum(case((and_(ess, gap <= 0), 1), else_=0)),
        )
        .select_from(prof)
        .join(Role, Role.id == prof.c.role_id)
        .outerjoin(mine, mine.c.competency_code == prof.c.competency_code)
        .group_by(prof.c.role_id, Role.code, Role.name)
    ).all()
    assignments = session.execute(
        select(RoleAssignment.role_id, RoleAssignment.kind, Role.name)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(
            RoleAssignment.person_id == person_id,
            assignments_live(on) | assignments_live(on, AssignmentKind.TARGET),
        )
    ).all()
    held = {r for r, kind, _ in assignments if kind == AssignmentKind.CURRENT}
    targets = {r for r, kind, _ in assignments if kind == AssignmentKind.TARGET}
    shorts = person_shortfalls(session, on, [person_id], None)
    distances = [
        RoleDistance(
            role_id=r[0],
            code=r[1],
            name=r[2],
            lines=r[3],
            met=r[4] or 0,
            short_by_one=r[5] or 0,
            short_by_more=r[6] or 0,
            essential_lines=r[7] or 0,
            essential_met=r[8] or 0,
            targets=r[0] in targets,
            short=tuple(shorts.get((person_id, r[0]), ())),
        )
        for r in rows
        if r[0] not in held
    ]
    distances.sort(
        key=lambda d: (
            not d.targets,
            -(d.met / d.lines if d.lines else 0),
            d.short_by_more,
            d.short_by_one,
            d.name,
        )
    )
    held_names = sorted({name for r, kind, name in assignments if kind == AssignmentKind.CURRENT})
    return ClosestRoles(person_id, on, tuple(held_names), tuple(distances))


# -- the tables, as the pages show them and the exports write them --------------------------

BASIS_LABELS = {ALL: "all competencies", ESSENTIAL: "essential competencies only"}


def overview_table(roles: Sequence[BenchRole], options: BenchOptions) -> StatTable:
    """One line per role: holders in scope, and how many others are ready now or within
    reach (short by one level on at most ``options.within`` competencies)."""
    return StatTable(
        name="bench-strength",
        title="Bench strength",
        columns=(
            Column("role", "Role", wrap=True),
            Column("code", "Code", wide_only=True),
            Column("considered", "Competencies considered", COUNT, wide_only=True),
            Column("holders", "Holders", COUNT),
            Column("ready_now", "Ready now", COUNT),
            Column("within_reach", f"Within one level on 1–{options.within}", COUNT),
            Column("senior", "Ready or within reach, in a more senior role", COUNT),
            Column("targeting", "Of whom target the role", COUNT),
        ),
        rows=tuple(
            {
                "role_id": r.role_id,
                "role": r.name,
                "code": r.code,
                "considered": r.profile_size,
                "holders": r.holders,
                "ready_now": r.ready_now,
                "within_reach": r.within_reach if options.within else None,
                "senior": r.senior,
                "targeting": r.targeting,
            }
            for r in roles
        ),
    )


def candidates_table(
    role_code: str, people: Sequence[Candidate], *, first_rank: int = 1
) -> StatTable:
    """A role's bench, ranked: each person's org unit and current roles, how many
    competencies they are short of (and by how many levels in all), whether they target
    the role, and what they are short of."""
    return StatTable(
        name=f"bench-{role_code}",
        title=f"Bench {role_code}"[:31],
        columns=(
            Column("rank", "Rank", COUNT),
            Column("person", "Person"),
            Column("unit", "Org unit", wrap=True, wide_only=True),
            Column("current_roles", "Current roles", wrap=True, wide_only=True),
            Column("status", "Readiness"),
            Column("shortfalls", "Competencies short", COUNT),
            Column("targets", "Targets the role"),
            Column("short", "Short of (level now→required)", wrap=True),
        ),
        rows=tuple(
            {
                "person_id": c.person_id,
                "rank": first_rank + i,
                "person": c.name,
                "unit": c.unit,
                "current_roles": c.current_roles,
                "status": c.status,
                "senior": c.senior,
                "shortfalls": c.shortfalls,
                "targets": "Target role" if c.targets else "",
                "short": "; ".join(s.text for s in c.short),
                "shortfall_list": c.short,
            }
            for i, c in enumerate(people)
        ),
    )


def closest_table(person_label: str, closest: ClosestRoles) -> StatTable:
    """The roles one person is closest to, closest first."""
    return StatTable(
        name=f"closest-roles-{person_label}",
        title="Closest roles",
        columns=(
            Column("role", "Role", wrap=True),
            Column("code", "Code", wide_only=True),
            Column("target", "Target role"),
            Column("lines", "Competencies", COUNT, wide_only=True),
            Column("met", "Met", COUNT),
            Column("short_by_one", "Short by one level", COUNT),
            Column("short_by_more", "Short by more", COUNT),
            Column("essential_met", "Essential met", COUNT, wide_only=True),
            Column("essential_lines", "Essential in profile", COUNT, wide_only=True),
            Column("readiness", "Readiness", PERCENT),
            Column("short", "Short of (level now→required)", wrap=True, wide_only=True),
        ),
        rows=tuple(
            {
                "role_id": d.role_id,
                "role": d.name,
                "code": d.code,
                "target": "Target role" if d.targets else "",
                "lines": d.lines,
                "met": d.met,
                "short_by_one": d.short_by_one,
                "short_by_more": d.short_by_more,
                "essential_met": d.essential_met,
                "essential_lines": d.essential_lines,
                "readiness": d.readiness,
                "short": "; ".join(s.text for s in d.short),
            }
            for d in closest.roles
        ),
    )
