"""Keeps the level and requirement spans (models.py) current as the organisation changes.

- **A single change** (a piece of evidence recorded, changed or deleted, a rating decided,
  a role assigned or ended) refreshes the spans of the people it touches in the same
  transaction, right after the flush that writes it: mapper events note the people (an
  evidence row moved to another person notes both; a deleted row is read before it goes),
  and ``after_flush_postexec`` rewrites their level spans (evidence) or requirement spans
  (role assignments) with the rule. A self-rating, or a change to a column the rule does
  not read (a note, a rating's status), refreshes nothing.
- **A bulk write** through the session (``session.execute(insert(Evidence), rows)``, an
  UPDATE or DELETE of evidence or role assignments) is caught as it runs
  (``do_orm_execute``): the people it touches are refreshed right after it, set-wise.
  A write whose people cannot be told (an INSERT … SELECT, an UPDATE that moves rows to
  other people) marks everyone stale, refreshed at commit.
- **A framework publication** changes caps, catalogue and role profiles from the day it is
  published: it marks everyone stale, and the commit refreshes everyone in SQL (bulk.py).
  Until then the spans read as before the publication (``catch_up`` refreshes at once).
  Published versions never change (the framework services refuse to edit one); a change
  written straight into one needs ``flask reports refresh``.
- **A bulk change** (an import) runs inside ``deferred(session)``: the people it touches
  are collected and refreshed together, set-wise in SQL, when the block ends.
- **A rollback** forgets what it undid: rolling back a savepoint restores what was stale
  when it began; the end of the transaction forgets everything.
- **Two transactions at once** (PostgreSQL): a refresh first locks the people's rows
  (bulk.lock_people), so that the second waits and then reads what the first committed.
- **The spans need no schedule**: expiry is already in them (a span ends the day after its
  evidence expires). The role distances (distances.py), kept for today beside the level
  spans by every path above, do: a level lapsing with time alone ends its person's period,
  and until ``flask reports distances`` (the daily pass, cron) rewrites them the bench
  computes that person as it runs (the same figures, slower).

Writes that bypass the session (``connection.execute``, the legacy
``bulk_insert_mappings``) are not seen: follow them with ``refresh_all(session)``.

Two ways to compute the spans: ``refresh_people_py`` applies the Python rule
(app/reports/spans.py) person by person and is the reference; bulk.py computes the same
spans in SQL, set-wise. Up to ``SMALL`` people at a time take the Python path (one write
costs a few milliseconds), more the SQL path. ``differences`` recomputes everything with
the Python rule and compares, for ``flask reports check``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Delete,
    Select,
    Table,
    bindparam,
    delete,
    event,
    func,
    insert,
    select,
)
from sqlalchemy import inspect as orm_inspect
from sqlalchemy.orm import (
    InstanceState,
    ORMExecuteState,
    Session,
    SessionTransaction,
    object_session,
)

from app import clock
from app.capability.levels import CertificateRule, Fact
from app.capability.models import Evidence
from app.framework.models import (
    Certificate,
    Competency,
    EvidenceCap,
    Framework,
    FrameworkVersion,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.framework.versions import FRAMEWORK_CODE
from app.org.models import AssignmentKind, Person, Role, RoleAssignment
from app.reports import bulk, distances
from app.reports.models import LevelSpan, RequirementSpan, RoleDistance, RoleDistancePeriod
from app.reports.spans import (
    Assignment,
    Era,
    Span,
    era_on,
    known_fact,
    level_spans,
    requirement_spans,
)

#: Up to this many people at a time are refreshed with the Python rule; more, set-wise in
#: SQL (a single write touches one person; an import thousands).
SMALL = 20
#: People per round trip: a batch of the Python path, or person ids per SQL statement.
BATCH = 2000
#: What a refresh rewrites: a person's level spans, their requirement spans, or both.
LEVELS, REQUIREMENTS = 1, 2
BOTH = LEVELS | REQUIREMENTS

#: session.info keys
_PENDING = "reports_pending"  # {person id: LEVELS | REQUIREMENTS}: stale spans
_ALL_STALE = "reports_all_stale"  # True: everyone's spans are stale
_DEFERRED = "reports_deferred"  # int: depth of deferred() blocks
_ERAS = "reports_eras"  # the eras, read once a transaction
_SAVED = "reports_saved"  # savepoint -> (all stale, pending) when it began

#: The columns whose change can change someone's spans.
_EVIDENCE_COLUMNS = frozenset(
    {
        "person_id",
        "competency_id",
        "competency_code",
        "source",
        "level",
        "achieved_on",
        "expires_on",
        "validated",
        "certificate_code",
        "recorded_at",
    }
)
_ASSIGNMENT_COLUMNS = frozenset({"person_id", "role_id", "kind", "start_date", "end_date"})


# -- reading what the rule needs ---------------------------------------------------------


def eras(session: Session, code: str = FRAMEWORK_CODE) -> list[Era]:
    """The framework's published versions (current and retired) in order of publication,
    each with its caps, certificate catalogue and role profiles."""
    versions = session.execute(
        select(FrameworkVersion.id, FrameworkVersion.published_at)
        .join(Framework)
        .where(
            Framework.code == code,
            FrameworkVersion.status.in_([VersionStatus.PUBLISHED, VersionStatus.RETIRED]),
            FrameworkVersion.published_at.is_not(None),
        )
        .order_by(FrameworkVersion.published_at, FrameworkVersion.number)
    ).all()
    if not versions:
        return []
    ids = [v.id for v in versions]
    caps: dict[int, dict[str, int]] = defaultdict(dict)
    for version_id, source, max_level in session.execute(
        select(EvidenceCap.version_id, EvidenceCap.source, EvidenceCap.max_level).where(
            EvidenceCap.version_id.in_(ids)
        )
    ):
        caps[version_id][Source(source).value] = max_level
    catalogues = certificate_rules(session, ids)
    profiles: dict[int, dict[str, dict[str, tuple[int, bool]]]] = defaultdict(dict)
    for version_id, role, comp, level, essential in session.execute(
        select(
            RoleRequirement.version_id,
            Role.code,
            Competency.code,
            RoleRequirement.level,
            RoleRequirement.essential,
        )
        .join(Role, Role.id == RoleRequirement.role_id)
        .join(Competency, Competency.id == RoleRequirement.competency_id)
        .where(RoleRequirement.version_id.in_(ids))
    ):
        profiles[version_id].setdefault(role, {})[comp] = (level, essential)
    return [
        Era(
            v.id,
            None if i == 0 else clock.day_of(v.published_at),
            caps[v.id],
            catalogues.get(v.id, {}),
            profiles[v.id],
        )
        for i, v in enumerate(versions)
    ]


#: Eras already read, by what identifies them (see _eras_now). Any framework write made in
#: this process empties it.
_ERA_CACHE: dict[tuple, list[Era]] = {}


def _eras_now(session: Session) -> list[Era]:
    """The eras, read once a transaction, and kept across transactions while the published
    versions stay the same: a published version never changes, and its content hash, id and
    publication date say all an era holds. (A version without a hash is read each time.)"""
    if _ERAS in session.info:
        return session.info[_ERAS]
    key = tuple(
        tuple(row)
        for row in session.execute(
            select(
                FrameworkVersion.id, FrameworkVersion.content_hash, FrameworkVersion.published_at
            )
            .join(Framework)
            .where(
                Framework.code == FRAMEWORK_CODE,
                FrameworkVersion.status.in_([VersionStatus.PUBLISHED, VersionStatus.RETIRED]),
                FrameworkVersion.published_at.is_not(None),
            )
            .order_by(FrameworkVersion.published_at, FrameworkVersion.number)
        )
    )
    found = _ERA_CACHE.get(key)
    if found is None:
        found = eras(session)
        if all(content_hash for _, content_hash, _ in key):
            if len(_ERA_CACHE) > 16:
                _ERA_CACHE.clear()
            _ERA_CACHE[key] = found
    session.info[_ERAS] = found
    return found


def certificate_rules(
    session: Session, version_ids: Iterable[int]
) -> dict[int, dict[str, CertificateRule]]:
    """version id -> certificate code -> what it proves, for the versions that have a
    catalogue."""
    out: dict[int, dict[str, CertificateRule]] = defaultdict(dict)
    for version_id, code, evidences, expires in session.execute(
        select(
            Certificate.version_id, Certificate.code, Certificate.evidences, Certificate.expires
        ).where(Certificate.version_id.in_(list(version_ids)))
    ):
        out[version_id][code] = CertificateRule(evidences, expires)
    return dict(out)


@cache
def _facts_statement() -> Select:
    """Built once: every write runs it."""
    return (
        select(
            Evidence.id,
            Evidence.person_id,
            Evidence.competency_code,
            Evidence.source,
            Evidence.level,
            Evidence.achieved_on,
            Evidence.expires_on,
            Evidence.certificate_code,
            Evidence.recorded_at,
            Competency.version_id,
        )
        .join(Competency, Competency.id == Evidence.competency_id)
        .where(
            Evidence.person_id.in_(bindparam("ids", expanding=True)),
            Evidence.validated.is_(True),
            Evidence.source != Source.SELF_RATING,
        )
    )


def facts_of(session: Session, person_ids: Sequence[int]) -> dict[int, list[Fact]]:
    """person id -> their validated evidence as facts known from the day recorded (self-
    ratings never count towards a level, so they are left out)."""
    out: dict[int, list[Fact]] = defaultdict(list)
    for r in session.execute(_facts_statement(), {"ids": list(person_ids)}):
        fact = Fact(
            r.competency_code,
            Source(r.source).value,
            r.level,
            r.achieved_on,
            r.expires_on,
            True,
            r.id,
            r.certificate_code,
            r.version_id if r.certificate_code else None,
        )
        out[r.person_id].append(known_fact(fact, clock.day_of(r.recorded_at)))
    return out


@cache
def _assignments_statement() -> Select:
    return (
        select(
            RoleAssignment.person_id,
            Role.code,
            RoleAssignment.start_date,
            RoleAssignment.end_date,
        )
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(
            RoleAssignment.person_id.in_(bindparam("ids", expanding=True)),
            RoleAssignment.kind == AssignmentKind.CURRENT,
        )
    )


def assignments_of(session: Session, person_ids: Sequence[int]) -> dict[int, list[Assignment]]:
    """person id -> their current-role assignments (past, present and future)."""
    out: dict[int, list[Assignment]] = defaultdict(list)
    for person_id, role, start, end in session.execute(
        _assignments_statement(), {"ids": list(person_ids)}
    ):
        out[person_id].append(Assignment(role, start, end))
    return out


@dataclass(frozen=True)
class PersonSpans:
    person_id: int
    levels: list[Span]
    requirements: list[Span]


def computed(
    session: Session, person_ids: Sequence[int], era_list: list[Era]
) -> Iterator[PersonSpans]:
    """The spans the rule gives each of ``person_ids`` (from scratch)."""
    facts = facts_of(session, person_ids)
    assignments = assignments_of(session, person_ids)
    catalogues = {e.version_id: e.certificates for e in era_list if e.certificates}
    for person_id in person_ids:
        yield PersonSpans(
            person_id,
            level_spans(facts.get(person_id, []), era_list, catalogues),
            requirement_spans(assignments.get(person_id, []), era_list),
        )


# -- writing -----------------------------------------------------------------------------


def _chunks(ids: Sequence[int], size: int = BATCH) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@cache
def _delete_statement(
    model: type[LevelSpan] | type[RequirementSpan] | type[RoleDistance] | type[RoleDistancePeriod],
) -> Delete:
    return delete(model).where(model.person_id.in_(bindparam("ids", expanding=True)))


def _level_spans_of(
    session: Session, ids: Sequence[int], era_list: list[Era]
) -> dict[int, list[Span]]:
    """person id -> their level spans by the rule."""
    facts = facts_of(session, ids)
    catalogues = {e.version_id: e.certificates for e in era_list if e.certificates}
    return {pid: level_spans(facts.get(pid, []), era_list, catalogues) for pid in ids}


def _level_rows(spans: dict[int, list[Span]]) -> list[dict]:
    return [
        {
            "person_id": person_id,
            "competency_code": s.code,
            "valid_from": s.valid_from,
            "valid_to": s.valid_to,
            "level": s.level,
        }
        for person_id, mine in spans.items()
        for s in mine
    ]


def _rewrite_distances_py(
    session: Session, spans: dict[int, list[Span]], era_list: list[Era], on: date
) -> None:
    """Rewrite the role distances and periods of these people as at ``on`` from their level
    spans with the Python reference (``distances_rule``): what a single write costs is a
    few hundred comparisons, not a statement with the whole profile catalogue."""
    connection = session.connection()
    ids = list(spans)
    era = era_on(era_list, on)
    profiles = era.profiles if era else {}
    role_ids = dict(session.execute(select(Role.code, Role.id)).all()) if profiles else {}
    rows, periods = [], []
    for pid, mine in spans.items():
        figures = distances_rule(_levels_on(mine, on), profiles)
        rows += [
            {
                "person_id": pid,
                "role_id": role_ids[code],
                **dict(zip(distances.FIGURES, f, strict=True)),
            }
            for code, f in figures.items()
        ]
        _, valid_from, valid_to = _period_around(mine, era_list, on)
        periods.append({"person_id": pid, "valid_from": valid_from, "valid_to": valid_to})
    connection.execute(_delete_statement(RoleDistance), {"ids": ids})
    connection.execute(_delete_statement(RoleDistancePeriod), {"ids": ids})
    if rows:
        connection.execute(insert(RoleDistance), rows)
    if periods:
        connection.execute(insert(RoleDistancePeriod), periods)


def _requirement_rows(session: Session, ids: Sequence[int], era_list: list[Era]) -> list[dict]:
    assignments = assignments_of(session, ids)
    return [
        {
            "person_id": person_id,
            "competency_code": s.code,
            "valid_from": s.valid_from,
            "valid_to": s.valid_to,
            "required": s.level,
            "essential": s.essential,
        }
        for person_id in ids
        for s in requirement_spans(assignments.get(person_id, []), era_list)
    ]


def refresh_people_py(session: Session, person_ids: Iterable[int], parts: int = BOTH) -> int:
    """Rewrite the spans of these people with the Python rule (the reference), in the
    caller's transaction: their LEVELS, their REQUIREMENTS or BOTH. Returns how many people
    were refreshed."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    era_list = _eras_now(session)
    connection = session.connection()
    for chunk in _chunks(ids):
        bulk.lock_people(connection, chunk)
        if parts & LEVELS:
            spans = _level_spans_of(session, chunk, era_list)
            rows = _level_rows(spans)
            connection.execute(_delete_statement(LevelSpan), {"ids": list(chunk)})
            if rows:
                connection.execute(insert(LevelSpan), rows)
            # What the bench report reads follows the levels (distances.py).
            _rewrite_distances_py(session, spans, era_list, distances.today())
        if parts & REQUIREMENTS:
            rows = _requirement_rows(session, chunk, era_list)
            connection.execute(_delete_statement(RequirementSpan), {"ids": list(chunk)})
            if rows:
                connection.execute(insert(RequirementSpan), rows)
    return len(ids)


def refresh_people_sql(session: Session, person_ids: Iterable[int], parts: int = BOTH) -> int:
    """Rewrite the spans of these people set-wise in SQL (bulk.py), ``BATCH`` people a
    statement; returns how many people were refreshed."""
    ids = sorted(set(person_ids))
    for chunk in _chunks(ids):
        bulk.refresh_people_sql(
            session, chunk, levels=bool(parts & LEVELS), requirements=bool(parts & REQUIREMENTS)
        )
    return len(ids)


def refresh_people(session: Session, person_ids: Iterable[int], parts: int = BOTH) -> int:
    """Rewrite the spans of these people in the caller's transaction: a few with the Python
    rule, more set-wise in SQL. Returns how many people were refreshed."""
    ids = set(person_ids)
    if len(ids) <= SMALL:
        return refresh_people_py(session, ids, parts)
    return refresh_people_sql(session, ids, parts)


def _refresh_pending(session: Session, pending: dict[int, int]) -> None:
    """Refresh what each person needs (their levels, requirements or both)."""
    by_parts: dict[int, list[int]] = defaultdict(list)
    for person_id, parts in pending.items():
        by_parts[parts].append(person_id)
    for parts, ids in sorted(by_parts.items()):
        refresh_people(session, ids, parts)


def _refresh_everyone(session: Session) -> None:
    bulk.refresh_all_sql(session)
    session.info.pop(_PENDING, None)
    session.info.pop(_ALL_STALE, None)


def refresh_all(session: Session) -> int:
    """Rewrite everyone's spans set-wise in SQL (after a bulk load, or on demand), in the
    caller's transaction; returns how many people there are."""
    session.flush()
    _refresh_everyone(session)
    return session.scalar(select(func.count()).select_from(Person)) or 0


# -- checking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    person_id: int
    table: str  # "levels" | "requirements"
    stored: list[tuple]
    expected: list[tuple]


def _stored(session: Session, person_ids: Sequence[int]) -> tuple[dict, dict]:
    levels: dict[int, list[tuple]] = defaultdict(list)
    for r in session.execute(
        select(
            LevelSpan.person_id,
            LevelSpan.competency_code,
            LevelSpan.valid_from,
            LevelSpan.valid_to,
            LevelSpan.level,
        )
        .where(LevelSpan.person_id.in_(person_ids))
        .order_by(LevelSpan.competency_code, LevelSpan.valid_from)
    ):
        levels[r.person_id].append(tuple(r[1:]))
    requirements: dict[int, list[tuple]] = defaultdict(list)
    for q in session.execute(
        select(
            RequirementSpan.person_id,
            RequirementSpan.competency_code,
            RequirementSpan.valid_from,
            RequirementSpan.valid_to,
            RequirementSpan.required,
            RequirementSpan.essential,
        )
        .where(RequirementSpan.person_id.in_(person_ids))
        .order_by(RequirementSpan.competency_code, RequirementSpan.valid_from)
    ):
        requirements[q.person_id].append(tuple(q[1:]))
    return levels, requirements


def distances_rule(
    levels: Mapping[str, int],
    profiles: Mapping[str, Mapping[str, tuple[int, bool]]],
    within: int = distances.WITHIN_MAX,
) -> dict[str, tuple[int, int, int, int]]:
    """The reference for the stored role distances (distances.py), in Python: role code ->
    (short_all, far_all, short_essential, far_essential) for the roles whose profile the
    person (``levels``: code -> level, none held: 0) is within reach of on either basis:
    the basis has lines, none more than one level short, at most ``within`` short."""
    out: dict[str, tuple[int, int, int, int]] = {}
    for role, lines in profiles.items():
        figures = [0, 0, 0, 0]
        essential_lines = 0
        for code, (required, essential) in lines.items():
            gap = required - levels.get(code, 0)
            for i, counts in ((0, True), (2, essential)):
                if counts:
                    figures[i] += gap > 0
                    figures[i + 1] += gap > 1
            essential_lines += essential
        reach_all = bool(lines) and figures[1] == 0 and figures[0] <= within
        reach_essential = essential_lines > 0 and figures[3] == 0 and figures[2] <= within
        if reach_all or reach_essential:
            out[role] = (figures[0], figures[1], figures[2], figures[3])
    return out


def _levels_on(spans: Sequence[Span], on: date) -> dict[str, int]:
    return {
        s.code: s.level
        for s in spans
        if s.valid_from <= on and (s.valid_to is None or s.valid_to > on)
    }


def _period_around(spans: Sequence[Span], era_list: Sequence[Era], on: date) -> tuple:
    """The longest stretch of days around ``on`` without a level change or a new era."""
    points = {s.valid_from for s in spans} | {s.valid_to for s in spans if s.valid_to}
    points |= {e.starts_on for e in era_list if e.starts_on is not None}
    before = [p for p in points if p <= on]
    after = [p for p in points if p > on]
    return (
        "period",
        max(before, default=distances.DAWN),
        min(after, default=None),
    )


def _stored_distances(session: Session, person_ids: Sequence[int]) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = defaultdict(list)
    for pid, valid_from, valid_to in session.execute(
        select(
            RoleDistancePeriod.person_id, RoleDistancePeriod.valid_from, RoleDistancePeriod.valid_to
        ).where(RoleDistancePeriod.person_id.in_(person_ids))
    ):
        out[pid].append(("period", valid_from, valid_to))
    for row in session.execute(
        select(
            RoleDistance.person_id,
            Role.code,
            RoleDistance.short_all,
            RoleDistance.far_all,
            RoleDistance.short_essential,
            RoleDistance.far_essential,
        )
        .join(Role, Role.id == RoleDistance.role_id)
        .where(RoleDistance.person_id.in_(person_ids))
        .order_by(RoleDistance.person_id, Role.code)
    ):
        out[row[0]].append(tuple(row[1:]))
    return out


def _expected_distances(spans: PersonSpans, stored: list[tuple], era_list: list[Era]) -> list:
    """What the person's stored distances should be: for the period stored (if any), the
    longest stretch around its first day without a change, and the rule's figures then."""
    if not stored or stored[0][0] != "period":
        return []  # never computed: read on the fly (rows without a period are wrong)
    on = stored[0][1]
    era = era_on(era_list, on)
    figures = distances_rule(_levels_on(spans.levels, on), era.profiles if era else {})
    return [_period_around(spans.levels, era_list, on)] + [
        (code, *figures[code]) for code in sorted(figures)
    ]


def differences(session: Session, person_ids: Iterable[int] | None = None) -> list[Difference]:
    """Recompute the spans from scratch with the Python rule and list every person whose
    stored spans differ (an empty list: the table is right); likewise the role distances
    stored for the bench report, over the period stored with them."""
    ids = sorted(
        set(person_ids) if person_ids is not None else session.scalars(select(Person.id)).all()
    )
    era_list = eras(session)
    out: list[Difference] = []
    for chunk in _chunks(ids):
        levels, requirements = _stored(session, chunk)
        stored_distances = _stored_distances(session, chunk)
        for spans in computed(session, chunk, era_list):
            pid = spans.person_id
            want_l = [(s.code, s.valid_from, s.valid_to, s.level) for s in spans.levels]
            want_r = [
                (s.code, s.valid_from, s.valid_to, s.level, s.essential) for s in spans.requirements
            ]
            if levels.get(pid, []) != want_l:
                out.append(Difference(pid, "levels", levels.get(pid, []), want_l))
            if requirements.get(pid, []) != want_r:
                out.append(Difference(pid, "requirements", requirements.get(pid, []), want_r))
            have = stored_distances.get(pid, [])
            want_d = _expected_distances(spans, have, era_list)
            if have != want_d:
                out.append(Difference(pid, "distances", have, want_d))
    if person_ids is None:  # spans of people who are gone (the foreign keys forbid it)
        for table, model in (
            ("levels", LevelSpan),
            ("requirements", RequirementSpan),
            ("distances", RoleDistance),
        ):
            gone = session.scalars(
                select(model.person_id).where(model.person_id.not_in(select(Person.id))).distinct()
            )
            out += [Difference(p, table, [("(person gone)",)], []) for p in gone]
    return out


def stale_distances(session: Session, on: date) -> int:
    """How many people's stored role distances do not hold on a date (their levels changed
    with time since, or they were never computed): the bench computes them on the fly."""
    stale = distances.stale_people(on).subquery()
    return session.scalar(select(func.count()).select_from(stale)) or 0


def refresh_stale_distances(session: Session, on: date) -> int:
    """The daily pass: rewrite the role distances of the people whose stored ones do not
    hold on ``on``, set-wise, ``BATCH`` people a statement; returns how many."""
    ids = list(session.scalars(distances.stale_people(on)))
    connection = session.connection()
    for chunk in _chunks(ids):
        bulk.lock_people(connection, chunk)
        distances.rewrite(connection, chunk, on)
    return len(ids)


# -- keeping them current ----------------------------------------------------------------


def _note(session: Session | None, people: Iterable[int | None], parts: int) -> None:
    if session is None:
        return
    pending = session.info.setdefault(_PENDING, {})
    for person_id in people:
        if person_id is not None:
            pending[person_id] = pending.get(person_id, 0) | parts


def _parts(target: Any) -> int:
    """Evidence makes levels stale, role assignments requirements."""
    return LEVELS if isinstance(target, Evidence) else REQUIREMENTS


def _mark_all_stale(session: Session | None) -> None:
    if session is not None:
        session.info[_ALL_STALE] = True


def _settle(session: Session) -> None:
    """Refresh the people noted stale, unless a deferred block or a pending refresh of
    everyone will."""
    info = session.info
    if info.get(_DEFERRED) or info.get(_ALL_STALE):
        return
    pending = info.pop(_PENDING, None)
    if pending:
        _refresh_pending(session, pending)


def catch_up(session: Session) -> None:
    """Bring whatever is stale up to date now (the commit would): for a read of the spans
    in the transaction that published a framework version."""
    if session.info.get(_ALL_STALE):
        _refresh_everyone(session)
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        _refresh_pending(session, pending)


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Collect the people a bulk change touches and refresh them together, set-wise, when
    the (outermost) block ends. If the block raises, nothing is refreshed here: the
    caller rolls back, or the next flush or the commit catches up."""
    info = session.info
    info[_DEFERRED] = info.get(_DEFERRED, 0) + 1
    try:
        yield
        if info[_DEFERRED] == 1:
            session.flush()
    finally:
        info[_DEFERRED] -= 1
        outermost = not info[_DEFERRED]
        if outermost:
            del info[_DEFERRED]
    if outermost:
        catch_up(session)


# ORM flushes: mapper events note who each written row belongs to.


def _person_ids(state: InstanceState, connection: Any, table: Table) -> set[int]:
    """The person a row belongs to now and, if it moved, before (without loading)."""
    history = state.attrs["person_id"].history
    people = {p for p in (*history.added, *history.unchanged, *history.deleted) if p}
    if not people and state.identity:  # expired: ask the database (the row still exists)
        people.add(connection.scalar(_person_of(table, state.identity[0])))
    return people


def _person_of(table: Table, row_id: int) -> Any:
    return select(table.c.person_id).where(table.c.id == row_id)


def _counts(target: Any) -> bool:
    """Whether a new row can change anyone's spans (a self-rating never counts)."""
    return not (isinstance(target, Evidence) and target.source == Source.SELF_RATING)


def _written(mapper: Any, connection: Any, target: Any) -> None:
    if _counts(target):
        people = _person_ids(orm_inspect(target), connection, mapper.local_table)
        _note(object_session(target), people, _parts(target))


def _changed(mapper: Any, connection: Any, target: Any) -> None:
    """Before an UPDATE (the row still holds its old person, should it be moving)."""
    state = orm_inspect(target)
    columns = _EVIDENCE_COLUMNS if isinstance(target, Evidence) else _ASSIGNMENT_COLUMNS
    if not any(state.attrs[c].history.has_changes() for c in columns):
        return
    people = _person_ids(state, connection, mapper.local_table)
    moved = state.attrs["person_id"].history
    if moved.has_changes() and not moved.deleted and state.identity:
        # set without its old value loaded: the row in the database still has it
        people.add(connection.scalar(_person_of(mapper.local_table, state.identity[0])))
    _note(object_session(target), people, _parts(target))


for _model in (Evidence, RoleAssignment):
    event.listen(_model, "after_insert", _written)
    event.listen(_model, "before_delete", _written)
    event.listen(_model, "before_update", _changed)


def _framework_written(_mapper: Any, _connection: Any, target: Any) -> None:
    _ERA_CACHE.clear()
    session = object_session(target)
    if session is not None:
        session.info.pop(_ERAS, None)


def _version_inserted(mapper: Any, connection: Any, target: FrameworkVersion) -> None:
    _framework_written(mapper, connection, target)
    if target.status != VersionStatus.DRAFT:  # a version loaded as published
        _mark_all_stale(object_session(target))


def _version_updated(mapper: Any, connection: Any, target: FrameworkVersion) -> None:
    _framework_written(mapper, connection, target)
    attrs = orm_inspect(target).attrs
    if attrs["status"].history.has_changes() or attrs["published_at"].history.has_changes():
        _mark_all_stale(object_session(target))


for _framework_model in (EvidenceCap, RoleRequirement, Certificate, Role):
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_framework_model, _event, _framework_written)
event.listen(FrameworkVersion, "after_insert", _version_inserted)
event.listen(FrameworkVersion, "after_update", _version_updated)
event.listen(FrameworkVersion, "after_delete", _version_inserted)


@event.listens_for(Session, "after_flush_postexec")
def _refresh_after_flush(session: Session, _context: Any) -> None:
    _settle(session)


# Bulk writes through the session: the people each touches, read as it runs.

#: table -> (the columns that matter, what its rows make stale)
_WATCHED: dict[Any, tuple[frozenset[str], int]] = {
    Evidence.__table__: (_EVIDENCE_COLUMNS, LEVELS),
    RoleAssignment.__table__: (_ASSIGNMENT_COLUMNS, REQUIREMENTS),
}
_UNKNOWN = None  # a bulk write whose people cannot be told


def _rows(parameters: Any) -> list[dict]:
    if isinstance(parameters, dict):
        return [parameters] if parameters else []
    return list(parameters or [])


def _set_columns(statement: Any, rows: list[dict]) -> set[str]:
    names = {_key(k) for k in getattr(statement, "_values", None) or {}}
    for row in rows:
        names |= set(row)
    return names


def _key(column: Any) -> str:
    return str(getattr(column, "key", getattr(column, "name", column)))


def _inserted_people(statement: Any, rows: list[dict]) -> set[int] | None:
    """The people an INSERT writes for: from its parameters, or from the literal values of
    ``insert(...).values(...)``; unknown for an INSERT … SELECT."""
    if getattr(statement, "select", None) is not None:
        return _UNKNOWN
    inline = [dict(statement._values or {})] if getattr(statement, "_values", None) else []
    for many in getattr(statement, "_multi_values", None) or ():
        inline += [v if isinstance(v, dict) else {} for v in many]
    for values in inline:
        found: Any = {_key(k): v for k, v in values.items()}.get("person_id")
        if not isinstance(found, BindParameter):
            return _UNKNOWN  # an SQL expression, or no person given
        rows = [*rows, {"person_id": found.value}]
    if not rows or any("person_id" not in row for row in rows):
        return _UNKNOWN
    return {row["person_id"] for row in rows}


def _matched_people(state: ORMExecuteState, table: Table, rows: list[dict]) -> set[int] | None:
    """The people whose rows an UPDATE or DELETE is about to touch."""
    statement = state.statement
    query = select(table.c.person_id).distinct()
    if rows:  # an ORM bulk UPDATE by primary key
        if any("id" not in row for row in rows):
            return _UNKNOWN
        ids = [row["id"] for row in rows]
        people: set[int] = set()
        for chunk in _chunks(ids):
            people.update(state.session.scalars(query.where(table.c.id.in_(chunk))))
        return people
    where = getattr(statement, "whereclause", None)
    if where is not None:
        query = query.where(where)
    # Through the session, so that it autoflushes as the statement itself will.
    return set(state.session.scalars(query))


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> Any:
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    table = getattr(state.statement, "table", None)
    watched = _WATCHED.get(table)
    if table is None or watched is None:
        return None
    columns, parts = watched
    rows = _rows(state.parameters)
    people: set[int] | None
    if state.is_insert:
        people = _inserted_people(state.statement, rows)
    else:
        changed = _set_columns(state.statement, rows) - {"id"}
        if state.is_update and not (changed & columns):
            return None
        if state.is_update and "person_id" in changed:
            people = _UNKNOWN
        else:
            people = _matched_people(state, table, rows)
    result = state.invoke_statement()
    if getattr(result, "returns_rows", True):  # hand the rows on after our own queries
        try:
            result = result.freeze()()
        except NotImplementedError:  # an ORM bulk INSERT without RETURNING: no rows
            pass
    session = state.session
    if people is _UNKNOWN:
        _mark_all_stale(session)
    else:
        _note(session, people, parts)
        _settle(session)
    return result


# Commit and rollback.


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    session.flush()  # what the commit would flush may itself make spans stale
    catch_up(session)


@event.listens_for(Session, "after_transaction_create")
def _remember(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        saved = (session.info.get(_ALL_STALE, False), dict(session.info.get(_PENDING, {})))
        session.info.setdefault(_SAVED, {})[transaction] = saved


def _boundary(transaction: SessionTransaction) -> SessionTransaction:
    """The transaction a rollback really undid: the nearest savepoint, or the root."""
    while transaction.parent is not None and not transaction.nested:
        transaction = transaction.parent
    return transaction


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous: SessionTransaction) -> None:
    undone = _boundary(previous)
    session.info.pop(_ERAS, None)
    if not undone.nested:
        _forget_all(session)
        return
    all_stale, pending = session.info.get(_SAVED, {}).get(undone, (False, {}))
    session.info[_ALL_STALE] = all_stale
    session.info[_PENDING] = dict(pending)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        _forget_all(session)


def _forget_all(session: Session) -> None:
    for key in (_PENDING, _ALL_STALE, _ERAS, _SAVED):
        session.info.pop(key, None)
