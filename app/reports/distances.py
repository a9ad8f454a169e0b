"""How far each person is from each role's profile: what the bench-strength report reads.

Comparing every person with every line of every role profile is the report's whole cost
(100,000 people × 766 profile lines: 77 million joined rows), yet fewer than one pair in a
hundred can stand on a bench: a person is on a role's bench when no competency of its
profile (all of them, or the essential ones) is more than one level short, and at most
``WITHIN_MAX`` are short. So the figures are kept, as the spans are, in two tables
(models.py):

- ``role_distances``: per person and role, how many competencies of the profile they are
  below (``short_*``) and by more than one level (``far_*``), on every competency and on
  the essential ones; only the pairs within reach on either basis;
- ``role_distance_periods``: per person, the dates those figures hold over: from the last
  day any of their levels changed (or the framework version in force came into force) up
  to the next such day. Kept for today; a report as at a date outside a person's period
  computes that person on the fly (``pairs_at``), so the stored figures speed the report
  up and never decide it.

Role readiness reads them too: a holder fully meeting their role's profile (or its
essential part) is within reach of it, so who is ready needs no second comparison.

The same hooks that keep the level spans current keep them (app/reports/maintain.py and
bulk.py): whenever a person's level spans are rewritten, so are their distances, as at
``today()``. Levels also change with time alone (evidence expiring): such a person's
period ends that day, and until ``flask reports distances`` (the daily pass) catches them
up, they are computed on the fly.

The figures in SQL, set-wise, without comparing every pair (``distance_select``): for a
line of the profile requiring level ``r``, a person with no level recorded is ``r`` short,
so a line with ``r`` of 2 or more is "far" unless they hold at least ``r - 1``.

1. Candidates: anyone within reach of a role comes within one level of each of its
   essential lines asking for 2 or more, so of its ``KEY_LINES`` most demanding ones: the
   people's level rows matched against those few lines leave about one pair in ten (a
   role without such a line keeps everyone).
2. Per candidate pair, their level rows joined to the role's lines they come near
   (``level >= r - 1``) and, per role, the counts of lines (``role_sizes``: lines, lines
   requiring 1 or more, lines requiring 2 or more) give every figure: short = lines
   requiring 1+ − lines met; far = lines requiring 2+ − lines requiring 2+ come within one
   level (a pair with no such row still counts, with nothing met).

Each person's level rows are read once, through their index, into a CTE; the profile lines
too. The Python reference is ``maintain.distances_rule``; ``flask reports check`` compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Date,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection

from app import clock
from app.org.models import Person
from app.reports.models import LevelSpan, RoleDistance, RoleDistancePeriod
from app.reports.scope import live_on, profile_at

#: The most competencies a person may be one level short of and be on a bench (the
#: report's "within" option runs 0 to this); pairs beyond it on both bases are not kept.
WITHIN_MAX = 5
#: Before any evidence: where a period without level changes starts.
DAWN = date(1, 1, 1)

#: The four figures, in table order.
FIGURES = ("short_all", "far_all", "short_essential", "far_essential")

#: Whose distances: everyone (None), a SELECT of person ids, or the ids themselves.
People = Select | Sequence[int] | None


def today() -> date:
    """The day the stored distances are computed for (the wall clock: the table is kept
    for today, each person's period saying how long it holds)."""
    return clock.today()


def _people_select(people: People) -> Select:
    if people is None:
        return select(Person.id)
    if isinstance(people, Select):
        return people
    return select(Person.id).where(Person.id.in_(list(people)))


def profile_lines(on: date, role_id: int | None = None):
    """(role_id, competency_code, level, essential): the role profiles in force on a date
    (``role_id``: that role's), as a CTE computed once (a few hundred rows that every
    level row of a person is matched against)."""
    prof = profile_at(on)
    query = select(prof.c.role_id, prof.c.competency_code, prof.c.level, prof.c.essential)
    if role_id is not None:
        query = query.where(prof.c.role_id == role_id)
    return query.cte("profile_lines").prefix_with("MATERIALIZED")


def role_sizes(lines):
    """(role_id, lines_all, lines_essential, needing_all, needing_essential, far_all,
    far_essential) per role of ``lines`` (``profile_lines``): its lines, those requiring
    level 1 or more (``needing``: short when not held) and 2 or more (``far`` when not
    held), on every competency and on the essential ones."""
    ess = lines.c.essential.is_(True)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        select(
            lines.c.role_id,
            func.count().label("lines_all"),
            count(ess).label("lines_essential"),
            count(lines.c.level >= 1).label("needing_all"),
            count(and_(ess, lines.c.level >= 1)).label("needing_essential"),
            count(lines.c.level >= 2).label("far_all"),
            count(and_(ess, lines.c.level >= 2)).label("far_essential"),
        )
        .group_by(lines.c.role_id)
        .subquery("role_sizes")
    )


def within_reach(sizes, figures, basis: str, within: int = WITHIN_MAX):
    """The condition that a (person, role) pair is within reach on ``basis`` ("all" or
    "essential"): the role has lines on that basis, none more than one level short, at
    most ``within`` short."""
    return and_(
        sizes.c[f"lines_{basis}"] >= 1,
        figures[f"far_{basis}"] == 0,
        figures[f"short_{basis}"] <= within,
    )


#: How many of a role's essential lines a person must come near (within one level) to be
#: compared with the rest of its profile: its most demanding ones.
KEY_LINES = 3


def _candidates(levels, who, prof, sizes):
    """(person_id, role_id): the pairs worth comparing in full. Anyone within reach of a
    role on either basis comes within one level of each of its essential lines asking for
    level 2 or more, so of its ``KEY_LINES`` most demanding ones: a person's level rows
    matched against those few lines rule out most pairs. A role without such a line (its
    essential lines ask for level 1 at most) keeps everyone."""
    ranked = (
        select(
            prof.c.role_id,
            prof.c.competency_code,
            prof.c.level,
            func.row_number()
            .over(
                partition_by=prof.c.role_id,
                order_by=(prof.c.level.desc(), prof.c.competency_code),
            )
            .label("n"),
        )
        .where(prof.c.essential.is_(True), prof.c.level >= 2)
        .subquery("ranked")
    )
    keys = (
        select(ranked.c.role_id, ranked.c.competency_code, ranked.c.level)
        .where(ranked.c.n <= KEY_LINES)
        .cte("key_lines")
        .prefix_with("MATERIALIZED")
    )
    key_count = select(keys.c.role_id, func.count().label("n")).group_by(keys.c.role_id).subquery()
    near_keys = (
        select(levels.c.person_id, keys.c.role_id)
        .select_from(levels)
        .join(
            keys,
            and_(
                keys.c.competency_code == levels.c.competency_code,
                levels.c.level >= keys.c.level - 1,
            ),
        )
        .join(key_count, key_count.c.role_id == keys.c.role_id)
        .group_by(levels.c.person_id, keys.c.role_id, key_count.c.n)
        .having(func.count() == key_count.c.n)
    )
    keyless = (
        select(who.c.id.label("person_id"), sizes.c.role_id)
        .select_from(sizes)
        .join(who, true())
        .where(sizes.c.role_id.not_in(select(keys.c.role_id)))
    )
    return union_all(near_keys, keyless).cte("candidate_pairs").prefix_with("MATERIALIZED")


def distance_select(
    on: date, people: People = None, role_id: int | None = None, *, lines=None
) -> Select:
    """(person_id, role_id, short_all, far_all, short_essential, far_essential) as at a
    date, for the pairs within reach on either basis (``WITHIN_MAX``), of ``people``
    (None: everyone) and every role (``role_id``: that one; ``lines``: its
    ``profile_lines`` when the statement already has them). See the module docstring."""
    who = _people_select(people).cte("who").prefix_with("MATERIALIZED")
    # Their levels on the date, read once (through the person index) for both steps.
    levels = (
        select(LevelSpan.person_id, LevelSpan.competency_code, LevelSpan.level)
        .join(who, who.c.id == LevelSpan.person_id)
        .where(live_on(LevelSpan.valid_from, LevelSpan.valid_to, on))
        .cte("their_levels")
        .prefix_with("MATERIALIZED")
    )
    prof = lines if lines is not None else profile_lines(on, role_id)
    sizes = role_sizes(prof)
    pairs = _candidates(levels, who, prof, sizes)
    ess = prof.c.essential.is_(True)
    required = prof.c.level
    level = levels.c.level
    met = and_(level >= required, required >= 1)
    near = required >= 2  # every joined line is within one level

    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    joined = (
        select(
            pairs.c.person_id,
            pairs.c.role_id,
            flag(met).label("met_all"),
            flag(and_(met, ess)).label("met_essential"),
            flag(near).label("near_all"),
            flag(and_(near, ess)).label("near_essential"),
        )
        .select_from(pairs)
        .join(levels, levels.c.person_id == pairs.c.person_id)
        .join(
            prof,
            and_(
                prof.c.role_id == pairs.c.role_id,
                prof.c.competency_code == levels.c.competency_code,
                level >= required - 1,
            ),
        )
    )
    # Every candidate pair, with nothing counted: a pair none of whose lines the person
    # comes near still has its figures (short on every line).
    zero = literal(0)
    easy = select(
        pairs.c.person_id,
        pairs.c.role_id,
        zero.label("met_all"),
        zero.label("met_essential"),
        zero.label("near_all"),
        zero.label("near_essential"),
    )
    parts = union_all(joined, easy).subquery("parts")
    summed = (
        select(
            parts.c.person_id,
            parts.c.role_id,
            func.sum(parts.c.met_all).label("met_all"),
            func.sum(parts.c.met_essential).label("met_essential"),
            func.sum(parts.c.near_all).label("near_all"),
            func.sum(parts.c.near_essential).label("near_essential"),
        )
        .group_by(parts.c.person_id, parts.c.role_id)
        .subquery("summed")
    )
    figures = {
        "short_all": sizes.c.needing_all - summed.c.met_all,
        "far_all": sizes.c.far_all - summed.c.near_all,
        "short_essential": sizes.c.needing_essential - summed.c.met_essential,
        "far_essential": sizes.c.far_essential - summed.c.near_essential,
    }
    return (
        select(
            summed.c.person_id,
            summed.c.role_id,
            *(figures[name].label(name) for name in FIGURES),
        )
        .join(sizes, sizes.c.role_id == summed.c.role_id)
        .where(
            or_(
                within_reach(sizes, figures, "all"),
                within_reach(sizes, figures, "essential"),
            )
        )
    )


def period_select(on: date, people: People = None) -> Select:
    """(person_id, valid_from, valid_to): for each of ``people``, the dates around ``on``
    over which none of their levels changes and the framework version in force stays the
    same (the span of their stored distances)."""
    from app.reports.bulk import eras_cte

    who = _people_select(people).subquery("who")
    span = select(LevelSpan.person_id, LevelSpan.valid_from, LevelSpan.valid_to).where(
        LevelSpan.person_id.in_(select(who.c.id))
    )
    spans = span.subquery("their_spans")
    points = union_all(
        select(spans.c.person_id, spans.c.valid_from.label("at")),
        select(spans.c.person_id, spans.c.valid_to).where(spans.c.valid_to.is_not(None)),
    ).subquery("points")
    bounds = (
        select(
            points.c.person_id,
            func.max(case((points.c.at <= on, points.c.at))).label("before"),
            func.min(case((points.c.at > on, points.c.at))).label("after"),
        )
        .group_by(points.c.person_id)
        .subquery("bounds")
    )
    eras = eras_cte()
    era = live_on(eras.c.starts, eras.c.ends, on)
    era_start = func.coalesce(
        select(eras.c.starts).where(era).scalar_subquery(), literal(DAWN, Date)
    )
    era_end = select(eras.c.ends).where(era).scalar_subquery()
    before = func.coalesce(bounds.c.before, literal(DAWN, Date))
    return (
        select(
            who.c.id.label("person_id"),
            case((before >= era_start, before), else_=era_start).label("valid_from"),
            case(
                (bounds.c.after.is_(None), era_end),
                (era_end.is_(None), bounds.c.after),
                (bounds.c.after <= era_end, bounds.c.after),
                else_=era_end,
            ).label("valid_to"),
        )
        .select_from(who)
        .outerjoin(bounds, bounds.c.person_id == who.c.id)
    )


def rewrite(connection: Connection, people: People, on: date) -> None:
    """Rewrite the stored distances and periods of ``people`` (None: everyone) as at
    ``on``, in the caller's transaction (after their level spans are written)."""

    def mine(column: Any) -> ColumnElement[bool]:
        if people is None:
            return true()
        return column.in_(people if isinstance(people, Select) else list(people))

    connection.execute(delete(RoleDistance).where(mine(RoleDistance.person_id)))
    connection.execute(delete(RoleDistancePeriod).where(mine(RoleDistancePeriod.person_id)))
    connection.execute(
        insert(RoleDistance).from_select(
            ["person_id", "role_id", *FIGURES], distance_select(on, people)
        )
    )
    connection.execute(
        insert(RoleDistancePeriod).from_select(
            ["person_id", "valid_from", "valid_to"], period_select(on, people)
        )
    )


def covered_at(on: date) -> Select:
    """SELECT of the people whose stored distances hold on a date."""
    return select(RoleDistancePeriod.person_id).where(
        live_on(RoleDistancePeriod.valid_from, RoleDistancePeriod.valid_to, on)
    )


def stale_people(on: date) -> Select:
    """SELECT of the people whose stored distances do not hold on a date: their levels
    changed with time since (evidence expired), or they hold levels and were never
    computed. What the daily pass catches up. (Someone with no level at all and no period
    is left out: computing them costs nothing.)"""
    return select(Person.id).where(
        Person.id.not_in(covered_at(on)),
        or_(
            Person.id.in_(select(RoleDistancePeriod.person_id)),
            Person.id.in_(select(LevelSpan.person_id)),
        ),
    )


def pairs_at(
    on: date, candidates: Select, role_id: int | None = None, *, lines: Any = None
) -> CompoundSelect:
    """(person_id, role_id, short_all, far_all, short_essential, far_essential) as at a
    date for the ``candidates`` (a SELECT of person ids) and every role (``role_id``: that
    one), the pairs within reach on either basis: read from the stored distances for the
    people whose period holds on the date, computed for the others (``distance_select``).
    ``lines``: the statement's ``profile_lines``, when it has them already."""
    listed = candidates.subquery("listed")  # one column: the person ids
    # Each candidate once, marked when their stored figures hold on the date.
    marked = (
        select(list(listed.c)[0].label("id"), RoleDistancePeriod.person_id.label("held"))
        .select_from(listed)
        .outerjoin(
            RoleDistancePeriod,
            and_(
                RoleDistancePeriod.person_id == list(listed.c)[0],
                live_on(RoleDistancePeriod.valid_from, RoleDistancePeriod.valid_to, on),
            ),
        )
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    stored = (
        select(
            RoleDistance.person_id,
            RoleDistance.role_id,
            *(RoleDistance.__table__.c[name] for name in FIGURES),
        )
        .select_from(marked)
        .join(RoleDistance, RoleDistance.person_id == marked.c.id)
        .where(marked.c.held.is_not(None))
    )
    if role_id is not None:
        stored = stored.where(RoleDistance.role_id == role_id)
    rest = select(marked.c.id).where(marked.c.held.is_(None))
    computed = distance_select(on, rest, role_id, lines=lines)
    return union_all(stored, computed)


def bench_pairs(
    on: date,
    candidates: Select,
    basis: str,
    within: int,
    role_id: int | None = None,
) -> Select:
    """(person_id, role_id, lines, shortfalls) as at a date: the ``candidates`` within
    reach of each role on ``basis`` (no competency more than one level short, at most
    ``within`` short; ``role_id``: of that role only), with the role's lines on that
    basis (``pairs_at``)."""
    lines = profile_lines(on, role_id)
    sizes = role_sizes(lines)
    pairs = pairs_at(on, candidates, role_id, lines=lines).subquery("pairs")
    return (
        select(
            pairs.c.person_id,
            pairs.c.role_id,
            sizes.c[f"lines_{basis}"].label("lines"),
            pairs.c[f"short_{basis}"].label("shortfalls"),
        )
        .join(sizes, sizes.c.role_id == pairs.c.role_id)
        .where(within_reach(sizes, pairs.c, basis, within))
    )
