"""Keeps the level and requirement spans (models.py) current as the organisation changes.

- **A single change** (a piece of evidence recorded, a rating decided, a role assigned or
  ended) refreshes the spans of the people it touches in the same transaction: a flush that
  adds, changes or deletes evidence or a role assignment notes the people, and the spans of
  those people are rewritten right after the flush (``_refresh_after_flush``).
- **A framework publication** changes caps, catalogue and role profiles from the day it is
  published: the commit that publishes it refreshes everyone's spans (``refresh_all``).
- **A bulk change** (an import) runs inside ``deferred(session)``: the people it touches are
  collected and refreshed together at the end, set-wise.

The rule the spans follow is app/reports/spans.py; ``differences`` recomputes it from the
evidence and compares, for ``flask reports check``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, event, insert, inspect, select
from sqlalchemy.orm import InstanceState, Session

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
from app.reports.models import LevelSpan, RequirementSpan
from app.reports.spans import Assignment, Era, Span, known_fact, level_spans, requirement_spans

#: People refreshed per round trip in a bulk refresh.
BATCH = 2000

_TOUCHED = "reports_touched_people"
_ALL_STALE = "reports_all_stale"
_DEFERRED = "reports_deferred"


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
            None if i == 0 else v.published_at.date(),
            caps[v.id],
            catalogues.get(v.id, {}),
            profiles[v.id],
        )
        for i, v in enumerate(versions)
    ]


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


def facts_of(session: Session, person_ids: Sequence[int]) -> dict[int, list[Fact]]:
    """person id -> their validated evidence as facts known from the day recorded (self-
    ratings never count towards a level, so they are left out)."""
    out: dict[int, list[Fact]] = defaultdict(list)
    rows = session.execute(
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
            Evidence.person_id.in_(person_ids),
            Evidence.validated.is_(True),
            Evidence.source != Source.SELF_RATING,
        )
    )
    for r in rows:
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
        out[r.person_id].append(known_fact(fact, r.recorded_at.date()))
    return out


def assignments_of(session: Session, person_ids: Sequence[int]) -> dict[int, list[Assignment]]:
    """person id -> their current-role assignments (past, present and future)."""
    out: dict[int, list[Assignment]] = defaultdict(list)
    for person_id, role, start, end in session.execute(
        select(
            RoleAssignment.person_id,
            Role.code,
            RoleAssignment.start_date,
            RoleAssignment.end_date,
        )
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(
            RoleAssignment.person_id.in_(person_ids),
            RoleAssignment.kind == AssignmentKind.CURRENT,
        )
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


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def refresh_people(session: Session, person_ids: Iterable[int]) -> int:
    """Rewrite the spans of these people from their evidence and assignments; returns how
    many people were refreshed. Runs in the caller's transaction."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    era_list = eras(session)
    connection = session.connection()
    for chunk in _chunks(ids):
        level_rows: list[dict[str, Any]] = []
        requirement_rows: list[dict[str, Any]] = []
        for spans in computed(session, chunk, era_list):
            level_rows += [
                {
                    "person_id": spans.person_id,
                    "competency_code": s.code,
                    "valid_from": s.valid_from,
                    "valid_to": s.valid_to,
                    "level": s.level,
                }
                for s in spans.levels
            ]
            requirement_rows += [
                {
                    "person_id": spans.person_id,
                    "competency_code": s.code,
                    "valid_from": s.valid_from,
                    "valid_to": s.valid_to,
                    "required": s.level,
                    "essential": s.essential,
                }
                for s in spans.requirements
            ]
        connection.execute(delete(LevelSpan).where(LevelSpan.person_id.in_(chunk)))
        connection.execute(delete(RequirementSpan).where(RequirementSpan.person_id.in_(chunk)))
        if level_rows:
            connection.execute(insert(LevelSpan), level_rows)
        if requirement_rows:
            connection.execute(insert(RequirementSpan), requirement_rows)
    return len(ids)


def refresh_all(session: Session) -> int:
    """Rewrite everyone's spans (after a framework publication, or on demand)."""
    ids = list(session.scalars(select(Person.id).order_by(Person.id)))
    connection = session.connection()
    connection.execute(delete(LevelSpan).where(LevelSpan.person_id.not_in(ids)))
    connection.execute(delete(RequirementSpan).where(RequirementSpan.person_id.not_in(ids)))
    return refresh_people(session, ids)


@dataclass(frozen=True)
class Difference:
    person_id: int
    table: str  # "levels" | "requirements"
    stored: list[tuple]
    expected: list[tuple]


def _stored(session: Session, person_ids: Sequence[int]) -> tuple[dict, dict]:
    levels: dict[int, list[tuple]] = defaultdict(list)
    for r in session.execute(
        select(LevelSpan)
        .where(LevelSpan.person_id.in_(person_ids))
        .order_by(LevelSpan.competency_code, LevelSpan.valid_from)
    ).scalars():
        levels[r.person_id].append((r.competency_code, r.valid_from, r.valid_to, r.level))
    requirements: dict[int, list[tuple]] = defaultdict(list)
    for q in session.execute(
        select(RequirementSpan)
        .where(RequirementSpan.person_id.in_(person_ids))
        .order_by(RequirementSpan.competency_code, RequirementSpan.valid_from)
    ).scalars():
        requirements[q.person_id].append(
            (q.competency_code, q.valid_from, q.valid_to, q.required, q.essential)
        )
    return levels, requirements


def differences(session: Session, person_ids: Iterable[int] | None = None) -> list[Difference]:
    """Recompute the spans from scratch with the pure rule and list every person whose
    stored spans differ (an empty list: the table is right)."""
    ids = sorted(
        set(person_ids) if person_ids is not None else session.scalars(select(Person.id)).all()
    )
    era_list = eras(session)
    out: list[Difference] = []
    for chunk in _chunks(ids):
        levels, requirements = _stored(session, chunk)
        for spans in computed(session, chunk, era_list):
            want_l = [(s.code, s.valid_from, s.valid_to, s.level) for s in spans.levels]
            want_r = [
                (s.code, s.valid_from, s.valid_to, s.level, s.essential) for s in spans.requirements
            ]
            if levels.get(spans.person_id, []) != want_l:
                out.append(
                    Difference(spans.person_id, "levels", levels.get(spans.person_id, []), want_l)
                )
            if requirements.get(spans.person_id, []) != want_r:
                out.append(
                    Difference(
                        spans.person_id,
                        "requirements",
                        requirements.get(spans.person_id, []),
                        want_r,
                    )
                )
    orphans = session.scalars(
        select(LevelSpan.person_id).where(LevelSpan.person_id.not_in(ids)).distinct()
    ).all()
    out += [Difference(p, "levels", [("(person gone)",)], []) for p in orphans]
    return out


# -- keeping them current ----------------------------------------------------------------


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Collect the people a bulk change touches and refresh them together at the end."""
    if _DEFERRED in session.info:  # nested: the outer block refreshes
        yield
        return
    session.info[_DEFERRED] = set()
    try:
        yield
        session.flush()
    finally:
        people = session.info.pop(_DEFERRED)
    refresh_people(session, people)


def _touched_people(session: Session) -> set[int]:
    people: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Evidence | RoleAssignment):
            if obj.person_id is not None:
                people.add(obj.person_id)
            state: InstanceState = inspect(obj)
            history = state.attrs["person_id"].history
            people.update(p for p in history.deleted or () if p is not None)
    return people


def _publishes(session: Session) -> bool:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, FrameworkVersion) and obj.status != VersionStatus.DRAFT:
            attrs = inspect(obj).attrs
            if obj in session.new or attrs["status"].history.has_changes():
                return True
            if attrs["published_at"].history.has_changes():
                return True
    return False


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    people = _touched_people(session)
    if people:
        session.info.setdefault(_TOUCHED, set()).update(people)
    if _publishes(session):
        session.info[_ALL_STALE] = True


@event.listens_for(Session, "after_flush_postexec")
def _refresh_after_flush(session: Session, _context: Any) -> None:
    people = session.info.pop(_TOUCHED, None)
    if not people:
        return
    if _DEFERRED in session.info:
        session.info[_DEFERRED].update(people)
    elif not session.info.get(_ALL_STALE):
        refresh_people(session, people)


@event.listens_for(Session, "before_commit")
def _refresh_after_publishing(session: Session) -> None:
    if session.info.get(_ALL_STALE):
        session.flush()  # what the commit is about to flush may belong to the publication
    if session.info.pop(_ALL_STALE, False):
        refresh_all(session)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
    session.info.pop(_ALL_STALE, None)
