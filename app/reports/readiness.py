"""Role readiness: for each role, on a date and within the report's scope, how many people hold
it, how many of them fully meet its profile (essential competencies only, and all), and the
competencies its holders are most often short of, with what would close each.

In SQL, over the role holders on the date (``holders_at``) and the role profiles in the
framework version in force then (``scope.profile_at``): who is ready comes from the
maintained role distances (distances.py; computed on the fly where they do not hold on the
date), and the competencies most often short from each holder's level rows matched to
their role's lines, grouped by role and competency. A role with no profile in force is
listed with its holders and no readiness figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import CTE, Subquery, and_, case, func, select
from sqlalchemy.orm import Session

from app.assessment.statistics_tables import COUNT, PERCENT, Column, StatTable
from app.framework.models import Competency
from app.learning.path_queries import EvidencingModule, gap_closers
from app.org.models import Role, RoleAssignment
from app.reports.distances import pairs_at, profile_lines, role_sizes
from app.reports.models import LevelSpan
from app.reports.scope import (
    ReportScope,
    assignments_live,
    levels_at,
    live_on,
    population,
    profile_at,
    version_in_force,
    without_plans,
)

#: How many of a role's most often short competencies the report names.
TOP_SHORT = 3


def percent(part: int, whole: int) -> int | None:
    """A whole per cent, or None when there is nothing to divide by."""
    return round(part * 100 / whole) if whole else None


@dataclass(frozen=True)
class ShortCompetency:
    """A competency some holders of a role are short of."""

    code: str
    name: str
    required: int
    essential: bool
    short: int  # holders below the required level
    lowest: int  # the lowest level among them
    closers: tuple[EvidencingModule, ...] = ()


@dataclass(frozen=True)
class RoleReadiness:
    """One role's line of the report."""

    role_id: int
    code: str
    name: str
    holders: int
    profile_size: int  # lines of the role's profile in force (0: no profile)
    essential_size: int
    ready_essential: int  # holders meeting every essential requirement
    ready_all: int  # holders meeting every requirement
    short: tuple[ShortCompetency, ...] = field(default_factory=tuple)

    @property
    def essential_percent(self) -> int | None:
        return percent(self.ready_essential, self.holders) if self.profile_size else None

    @property
    def all_percent(self) -> int | None:
        return percent(self.ready_all, self.holders) if self.profile_size else None


def holders_at(scope: ReportScope, *, cte: bool = False) -> Subquery | CTE:
    """(person_id, role_id): who holds which role on the report's date, among the people the
    report counts; narrowed to the role filter, and to assignments in the office filter.
    (``cte``: as a CTE computed once, for a statement that reads it twice.)"""
    query = (
        select(RoleAssignment.person_id, RoleAssignment.role_id)
        .where(assignments_live(scope.on), RoleAssignment.person_id.in_(population(scope)))
        .distinct()
    )
    if scope.office_id is not None:
        query = query.where(RoleAssignment.office_id == scope.office_id)
    if scope.role_id is not None:
        query = query.where(RoleAssignment.role_id == scope.role_id)
    if cte:
        return query.cte("holders").prefix_with("MATERIALIZED")
    return query.subquery("holders")


def readiness_counts(session: Session, scope: ReportScope) -> list[RoleReadiness]:
    """Per role with holders in scope (and the role filter's role, even without holders):
    holders and how many are ready, by role name. No short competencies (``role_readiness``).

    A holder meeting the whole profile (or its essential part) is within reach of their own
    role, so the maintained role distances (distances.py) say who is ready without comparing
    each holder with each line again: read where they hold on the date, computed for the
    other holders. A role without a profile (or without essential lines) leaves nothing to
    fall short of: all its holders count as meeting it, as the per-line count gives."""
    holders = holders_at(scope, cte=True)
    lines = profile_lines(scope.on)
    sizes = role_sizes(lines)
    holding = select(holders.c.person_id.label("id")).distinct()
    pairs = pairs_at(scope.on, holding, lines=lines).subquery("pairs")
    lines_all = func.coalesce(sizes.c.lines_all, 0)
    lines_essential = func.coalesce(sizes.c.lines_essential, 0)
    rows = session.execute(
        select(
            Role.id,
            Role.code,
            Role.name,
            func.count(holders.c.person_id),
            func.max(lines_all),
            func.max(lines_essential),
            func.sum(case(((lines_essential == 0) | (pairs.c.short_essential == 0), 1), else_=0)),
            func.sum(case(((lines_all == 0) | (pairs.c.short_all == 0), 1), else_=0)),
        )
        .select_from(holders)
        .join(Role, Role.id == holders.c.role_id)
        .outerjoin(sizes, sizes.c.role_id == holders.c.role_id)
        .outerjoin(
            pairs,
            and_(pairs.c.person_id == holders.c.person_id, pairs.c.role_id == holders.c.role_id),
        )
        .group_by(Role.id, Role.code, Role.name)
    ).all()
    out = {
        r[0]: RoleReadiness(r[0], r[1], r[2], r[3], r[4] or 0, r[5] or 0, r[6] or 0, r[7] or 0)
        for r in rows
    }
    if scope.role_id is not None and scope.role_id not in out:
        role = session.get(Role, scope.role_id)
        if role is not None:
            prof = profile_at(scope.on)
            size, essential = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((prof.c.essential.is_(True), 1), else_=0)), 0),
                ).where(prof.c.role_id == role.id)
            ).one()
            out[role.id] = RoleReadiness(role.id, role.code, role.name, 0, size, essential, 0, 0)
    return sorted(out.values(), key=lambda r: (r.name, r.code))


@dataclass(frozen=True)
class _Short:
    role_id: int
    code: str
    required: int
    essential: bool
    short: int
    lowest: int


def short_competencies(session: Session, scope: ReportScope) -> dict[int, list[_Short]]:
    """role id -> the competencies its holders are short of on the date, the most often
    short first (essential before desirable on a tie, then by code)."""
    holders = holders_at(scope, cte=True)
    lines = profile_lines(scope.on)
    levels = levels_at(scope.on)
    narrow = scope.visible is not None or scope.filtered
    if narrow and session.get_bind().dialect.name == "postgresql":
        # Only the holders' levels (a directorate's): PostgreSQL would otherwise hash every
        # level span on the date to join a fifth of them (as heatmap._aggregate).
        levels = (
            select(LevelSpan.person_id, LevelSpan.competency_code, LevelSpan.level)
            .where(
                live_on(LevelSpan.valid_from, LevelSpan.valid_to, scope.on),
                LevelSpan.person_id.in_(select(holders.c.person_id)),
            )
            .subquery("levels_at")
        )
    level = func.coalesce(levels.c.level, 0)
    query = (
        select(
            holders.c.role_id,
            lines.c.competency_code,
            lines.c.level,
            lines.c.essential,
            func.count(),
            func.min(level),
        )
        .select_from(holders)
        .join(lines, lines.c.role_id == holders.c.role_id)
        .outerjoin(
            levels,
            and_(
                levels.c.person_id == holders.c.person_id,
                levels.c.competency_code == lines.c.competency_code,
            ),
        )
        .where(level < lines.c.level)
        .group_by(holders.c.role_id, lines.c.competency_code, lines.c.level, lines.c.essential)
    )
    # As heatmap._aggregate: never a merge on the person alone for part of the organisation.
    with without_plans(session, *(("mergejoin",) if narrow else ())):
        rows = session.execute(query).all()
    out: dict[int, list[_Short]] = defaultdict(list)
    for role_id, code, required, essential, short, lowest in rows:
        out[role_id].append(_Short(role_id, code, required, bool(essential), short, lowest))
    for shorts in out.values():
        shorts.sort(key=lambda s: (-s.short, not s.essential, s.code))
    return out


def competency_names(session: Session, scope: ReportScope, codes: Iterable[str]) -> dict[str, str]:
    """code -> name in the framework version in force on the report's date."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    return dict(
        session.execute(
            select(Competency.code, Competency.name).where(
                Competency.version_id == version_in_force(scope.on), Competency.code.in_(codes)
            )
        ).all()
    )


def role_readiness(
    session: Session, scope: ReportScope, *, top: int = TOP_SHORT, closers: bool = True
) -> list[RoleReadiness]:
    """The report: each role's holders and readiness, with its ``top`` most often short
    competencies and (``closers``) the published modules that would close each gap."""
    roles = readiness_counts(session, scope)
    shorts = short_competencies(session, scope)
    chosen = {r.role_id: shorts.get(r.role_id, [])[:top] for r in roles}
    names = competency_names(session, scope, (s.code for ss in chosen.values() for s in ss))
    closing = _closers(session, chosen) if closers else {}
    out = []
    for role in roles:
        mine = chosen[role.role_id]
        found = closing.get(role.role_id, {})
        short = tuple(
            ShortCompetency(
                s.code,
                names.get(s.code, s.code),
                s.required,
                s.essential,
                s.short,
                s.lowest,
                tuple(found.get(s.code, ())),
            )
            for s in mine
        )
        out.append(_with_short(role, short))
    return out


def _closers(
    session: Session, chosen: dict[int, list[_Short]]
) -> dict[int, dict[str, list[EvidencingModule]]]:
    """role id -> code -> what closes each of its gaps (``gap_closers``), asked in as few
    rounds as there are different gaps in one competency (not one round per role)."""
    out: dict[int, dict[str, list[EvidencingModule]]] = defaultdict(dict)
    pending = [(role_id, s) for role_id, shorts in chosen.items() for s in shorts]
    while pending:
        gaps: dict[str, tuple[int, int]] = {}
        later = []
        for role_id, s in pending:
            if gaps.setdefault(s.code, (s.lowest, s.required)) != (s.lowest, s.required):
                later.append((role_id, s))
        found = gap_closers(session, [(code, low, req) for code, (low, req) in gaps.items()])
        for role_id, s in pending:
            if gaps[s.code] == (s.lowest, s.required):
                out[role_id][s.code] = found.get(s.code, [])
        pending = later
    return out


def _with_short(role: RoleReadiness, short: tuple[ShortCompetency, ...]) -> RoleReadiness:
    return RoleReadiness(
        role.role_id,
        role.code,
        role.name,
        role.holders,
        role.profile_size,
        role.essential_size,
        role.ready_essential,
        role.ready_all,
        short,
    )


# -- two dates side by side ----------------------------------------------------------------


@dataclass(frozen=True)
class ReadinessChange:
    """One role's holders and ready counts at two dates, the earlier ``first`` (None: the
    role is not listed then) and the later ``second``."""

    role_id: int
    code: str
    name: str
    first: RoleReadiness | None
    second: RoleReadiness | None

    @staticmethod
    def value(which: RoleReadiness | None, attr: str) -> int:
        return getattr(which, attr) if which is not None else 0

    def change(self, attr: str) -> int:
        """The second date's figure less the first's."""
        return self.value(self.second, attr) - self.value(self.first, attr)


def compare(session: Session, first: ReportScope, second: ReportScope) -> list[ReadinessChange]:
    """The holders and ready counts per role at two dates (every role listed at either);
    ``first`` is the earlier date's scope, and each change reads later less earlier."""
    a = {r.role_id: r for r in readiness_counts(session, first)}
    b = {r.role_id: r for r in readiness_counts(session, second)}
    out = []
    for role_id in a.keys() | b.keys():
        either = a.get(role_id) or b[role_id]
        out.append(
            ReadinessChange(role_id, either.code, either.name, a.get(role_id), b.get(role_id))
        )
    return sorted(out, key=lambda c: (c.name, c.code))


# -- the chart -----------------------------------------------------------------------------

BAR_W = 200  # pixels for 100 %
BAR_ROW_H = 52
BAR_TOP = 8
BAR_H = 12
NAME_CHARS = 40  # longer role names are shortened (the row's tooltip has it whole)


@dataclass(frozen=True)
class BarRow:
    code: str
    label: str
    label_y: int
    essential_y: int
    all_y: int
    essential_w: int | None  # None: no figure (no holders or no profile)
    all_w: int | None
    essential_text: str
    all_text: str
    summary: str


@dataclass(frozen=True)
class Bars:
    width: int
    height: int
    bar_w: int
    bar_h: int
    value_x: int
    rows: tuple[BarRow, ...]


def _bar_text(pct: int | None, ready: int, holders: int) -> str:
    return "no figure" if pct is None else f"{pct}% ({ready} of {holders})"


def readiness_bars(roles: Sequence[RoleReadiness]) -> Bars:
    """Geometry of the chart: per role two bars, the share of holders ready on essential
    competencies (solid) and on all (hatched), each with its figure printed after it."""
    rows = []
    for i, r in enumerate(r for r in roles if r.holders):
        top = BAR_TOP + i * BAR_ROW_H
        name = r.name if len(r.name) <= NAME_CHARS else r.name[: NAME_CHARS - 1].rstrip() + "…"
        label = f"{name} ({r.code})"
        ess, every = r.essential_percent, r.all_percent
        ess_text = _bar_text(ess, r.ready_essential, r.holders)
        all_text = _bar_text(every, r.ready_all, r.holders)
        rows.append(
            BarRow(
                code=r.code,
                label=label,
                label_y=top + 12,
                essential_y=top + 18,
                all_y=top + 18 + BAR_H + 3,
                essential_w=None if ess is None else round(ess * BAR_W / 100),
                all_w=None if every is None else round(every * BAR_W / 100),
                essential_text=f"essential {ess_text}",
                all_text=f"all {all_text}",
                summary=f"{r.name}: {r.holders} holders; ready on essential competencies "
                f"{ess_text}; ready on all {all_text}",
            )
        )
    return Bars(
        width=BAR_W + 160,
        height=BAR_TOP + len(rows) * BAR_ROW_H + 4,
        bar_w=BAR_W,
        bar_h=BAR_H,
        value_x=BAR_W + 8,
        rows=tuple(rows),
    )


# -- the tables, as the page shows them and the exports write them --------------------------


def _short_text(s: ShortCompetency) -> str:
    return f"{s.code} {s.name} ({s.short} short)"


def readiness_table(roles: Sequence[RoleReadiness]) -> StatTable:
    """One line per role: holders, ready on essential competencies and on all (count and
    per cent), and the competencies most often short."""
    return StatTable(
        name="role-readiness",
        title="Role readiness",
        columns=(
            Column("role", "Role", wrap=True),
            Column("code", "Code", wide_only=True),
            Column("holders", "Holders", COUNT),
            Column("ready_essential", "Ready: essential", COUNT, wide_only=True),
            Column("essential_percent", "Ready: essential", PERCENT),
            Column("ready_all", "Ready: all", COUNT, wide_only=True),
            Column("all_percent", "Ready: all", PERCENT),
            Column("short", "Most often short", wrap=True),
        ),
        rows=tuple(
            {
                "role_id": r.role_id,
                "role": r.name,
                "code": r.code,
                "holders": r.holders,
                "ready_essential": r.ready_essential if r.profile_size else None,
                "essential_percent": r.essential_percent,
                "ready_all": r.ready_all if r.profile_size else None,
                "all_percent": r.all_percent,
                "short": "; ".join(_short_text(s) for s in r.short),
                "gaps": r.short,
                "no_profile": not r.profile_size,
            }
            for r in roles
        ),
    )


def _closer_text(m: EvidencingModule) -> str:
    return f"{m.path_title}: {m.module_title} (level {m.level}, {m.minutes} min)"


def gaps_table(roles: Sequence[RoleReadiness]) -> StatTable:
    """One line per role and competency most often short: the level required, whether it is
    essential, how many holders are short, and the modules that would close it."""
    return StatTable(
        name="role-readiness-gaps",
        title="Most often short",
        columns=(
            Column("role", "Role", wrap=True),
            Column("code", "Code"),
            Column("competency", "Competency"),
            Column("name", "Name", wrap=True),
            Column("required", "Level required", COUNT),
            Column("essential", "Essential"),
            Column("short", "Holders short", COUNT),
            Column("holders", "Holders", COUNT),
            Column("closers", "What would close it", wrap=True),
        ),
        rows=tuple(
            {
                "role": r.name,
                "code": r.code,
                "competency": s.code,
                "name": s.name,
                "required": s.required,
                "essential": "Essential" if s.essential else "Desirable",
                "short": s.short,
                "holders": r.holders,
                "closers": "; ".join(_closer_text(m) for m in s.closers),
                "modules": s.closers,
            }
            for r in roles
            for s in r.short
        ),
    )


def change_table(changes: Sequence[ReadinessChange], first: date, second: date) -> StatTable:
    """Per role, holders and ready counts at the two dates and what moved."""
    a, b = first.strftime("%d %b %Y"), second.strftime("%d %b %Y")
    columns: list[Column] = [Column("role", "Role", wrap=True), Column("code", "Code")]
    rows: list[dict] = [{"role": c.name, "code": c.code, "role_id": c.role_id} for c in changes]
    for attr, label in (
        ("holders", "Holders"),
        ("ready_essential", "Ready: essential"),
        ("ready_all", "Ready: all"),
    ):
        columns += [
            Column(f"{attr}_first", f"{label} {a}", COUNT),
            Column(f"{attr}_second", f"{label} {b}", COUNT),
            Column(f"{attr}_change", f"{label}: change", COUNT),
        ]
        for row, c in zip(rows, changes, strict=True):
            row[f"{attr}_first"] = c.value(c.first, attr)
            row[f"{attr}_second"] = c.value(c.second, attr)
            row[f"{attr}_change"] = c.change(attr)
    return StatTable(
        name="role-readiness-change", title="What moved", columns=tuple(columns), rows=tuple(rows)
    )
