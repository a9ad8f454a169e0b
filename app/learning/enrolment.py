"""Enrolling people on learning paths, and withdrawing them.

Who is enrolled: one person, several, everyone in an org unit's subtree or everyone holding
a role (by a trainer, or by a manager for the people they may see); the holders of a role
when they take it (enrolment rules); a learner on an open path (self-enrolment). Always on
the path's current published version, and once per person and path
(``uq_enrolments_person_path``): a person already enrolled — even withdrawn — is skipped and
counted. Prerequisites (every alternative set met by one alternative: a completed
enrolment on that path, or a verified, unexpired external certificate with that code) are
enforced for hand and self-enrolment; enrolment rules are the organisation's own decision
that a role needs the path and are not held back by them.

Bulk enrolment is set-based: one statement counts the candidates, one INSERT ... SELECT
writes the enrolments, whatever the number of people.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import clock
from app.dates import RANGE_TEXT, in_range
from app.errors import DomainError
from app.framework.models import Certificate
from app.framework.versions import published_version_id
from app.learning.models import (
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    LearningPath,
    PathPrerequisite,
    PathStatus,
    PathVersion,
)
from app.org.models import AssignmentKind, OrgUnit, Person, RoleAssignment
from app.org.queries import unit_subtree
from app.signals import roles_assigned

#: Ids per IN list when applying enrolment rules to a large batch of assignments.
CHUNK = 1000
#: How far ahead a due date may lie.
MAX_DUE_DAYS = 3 * 365


def _chunks(items: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def insert_skipping_duplicates(session: Session, model) -> Insert:
    """INSERT that quietly skips rows a unique constraint already holds (ON CONFLICT DO
    NOTHING): two requests enrolling the same person at once give one enrolment."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model).on_conflict_do_nothing()


# --- the path and its published version ------------------------------------------------------


def published_version(session: Session, path_id: int) -> PathVersion | None:
    """The version new enrolments get: the path's published one."""
    return session.scalar(
        select(PathVersion)
        .where(PathVersion.path_id == path_id, PathVersion.status == PathStatus.PUBLISHED)
        .order_by(PathVersion.number.desc())
        .limit(1)
    )


def _require_published(session: Session, path_id: int | None) -> PathVersion:
    version = published_version(session, path_id) if path_id is not None else None
    if version is None:
        raise DomainError("Choose a published learning path.", field="path")
    return version


def _check_due(due_on: date | None, today: date, *, required: bool) -> None:
    if due_on is None:
        if required:
            raise DomainError("Give the date the path is due.", field="due_on")
        return
    if not in_range(due_on):
        raise DomainError(f"Give a date {RANGE_TEXT}.", field="due_on")
    if due_on < today:
        raise DomainError("The due date cannot be in the past.", field="due_on")
    if due_on > today + timedelta(days=MAX_DUE_DAYS):
        raise DomainError("Give a due date within the next three years.", field="due_on")


# --- prerequisites -----------------------------------------------------------------------------


def _alternative_sets(version: PathVersion) -> list[list[PathPrerequisite]]:
    return _sets_of(version.prerequisites)


def _sets_of(alternatives: Iterable[PathPrerequisite]) -> list[list[PathPrerequisite]]:
    sets: dict[int, list[PathPrerequisite]] = {}
    for alternative in alternatives:
        sets.setdefault(alternative.alternative_set, []).append(alternative)
    return [sets[key] for key in sorted(sets)]


def _alternative_met(alternative: PathPrerequisite, person_id, today: date) -> ColumnElement[bool]:
    """SQL: ``person_id`` (a column or a value) satisfies this one alternative."""
    if alternative.path_code is not None:
        return exists(
            select(Enrolment.id)
            .join(LearningPath, LearningPath.id == Enrolment.path_id)
            .where(
                Enrolment.person_id == person_id,
                LearningPath.code == alternative.path_code,
                Enrolment.status == EnrolmentStatus.COMPLETED,
            )
        )
    return exists(
        select(ExternalCertificate.id).where(
            ExternalCertificate.person_id == person_id,
            ExternalCertificate.certificate_code == alternative.certificate_code,
            ExternalCertificate.status == ExternalStatus.VERIFIED,
            or_(ExternalCertificate.expires_on.is_(None), ExternalCertificate.expires_on >= today),
        )
    )


def prerequisites_met(version: PathVersion, person_id, today: date) -> ColumnElement[bool]:
    """SQL: every alternative set of ``version`` is met by one of its alternatives."""
    sets = _alternative_sets(version)
    if not sets:
        return true()
    return and_(*(or_(*(_alternative_met(a, person_id, today) for a in alts)) for alts in sets))


def _names(
    session: Session, alternatives: Iterable[PathPrerequisite]
) -> tuple[dict[str, str], dict[str, str]]:
    """Titles of the prerequisite paths and names of the certificates, by code."""
    alternatives = list(alternatives)
    path_codes = {a.path_code for a in alternatives if a.path_code}
    cert_codes = {a.certificate_code for a in alternatives if a.certificate_code}
    paths: dict[str, str] = {}
    if path_codes:
        rows = session.execute(
            select(LearningPath.code, PathVersion.title)
            .join(PathVersion, PathVersion.path_id == LearningPath.id)
            .where(LearningPath.code.in_(path_codes))
            .order_by(PathVersion.number)
        )
        paths = {code: title for code, title in rows}  # the latest version's title wins
    certificates: dict[str, str] = {}
    if cert_codes:
        # the published catalogue names them (the version's id, not the version loaded)
        published = published_version_id()
        certificates = dict(
            session.execute(
                select(Certificate.code, Certificate.name).where(
                    Certificate.version_id == published, Certificate.code.in_(cert_codes)
                )
            ).all()
        )
    return paths, certificates


def _requirement_text(
    alts: list[PathPrerequisite], paths: dict[str, str], certificates: dict[str, str]
) -> str:
    words = [
        f"{paths.get(a.path_code, a.path_code)} completed"
        if a.path_code
        else f"a verified {certificates.get(a.certificate_code or '', a.certificate_code)} "
        "certificate"
        for a in alts
    ]
    return "needs " + ", or ".join(words)


def missing_prerequisites(
    session: Session, version: PathVersion, person_id: int, today: date
) -> list[str]:
    """What ``person_id`` lacks to start ``version``, one phrase per unmet prerequisite, e.g.
    "needs P3O Foundation preparation completed, or a verified P3O Foundation certificate"."""
    unmet = [
        alts
        for alts in _alternative_sets(version)
        if not session.scalar(select(or_(*(_alternative_met(a, person_id, today) for a in alts))))
    ]
    if not unmet:
        return []
    paths, certificates = _names(session, version.prerequisites)
    return [_requirement_text(alts, paths, certificates) for alts in unmet]


def prerequisites_text(session: Session, version: PathVersion) -> str:
    """Every prerequisite of ``version`` in words ("" when it has none)."""
    sets = _alternative_sets(version)
    if not sets:
        return ""
    paths, certificates = _names(session, version.prerequisites)
    return "; ".join(_requirement_text(alts, paths, certificates) for alts in sets)


def prerequisites_texts(session: Session, version_ids: Sequence[int]) -> dict[int, str]:
    """``prerequisites_text`` of each of the path versions, read together: version id ->
    its prerequisites in words (versions without any are left out)."""
    if not version_ids:
        return {}
    alternatives = session.scalars(
        select(PathPrerequisite)
        .where(PathPrerequisite.version_id.in_(sorted(set(version_ids))))
        .order_by(PathPrerequisite.alternative_set, PathPrerequisite.id)
    ).all()
    if not alternatives:
        return {}
    paths, certificates = _names(session, alternatives)
    by_version: dict[int, list[PathPrerequisite]] = {}
    for alternative in alternatives:
        by_version.setdefault(alternative.version_id, []).append(alternative)
    return {
        version_id: "; ".join(
            _requirement_text(alts, paths, certificates) for alts in _sets_of(mine)
        )
        for version_id, mine in by_version.items()
    }


# --- who: the people a bulk enrolment is about ---------------------------------------------------


def listed_people(person_ids: Iterable[int]) -> Select:
    """SELECT of the given person ids."""
    return select(Person.id).where(Person.id.in_(sorted(set(person_ids))))


def unit_people(unit_id: int) -> Select:
    """SELECT of the ids of everyone in the unit and every unit below it."""
    units = unit_subtree(OrgUnit.id == unit_id)
    return select(Person.id).where(Person.org_unit_id.in_(select(units.c.id)))


def role_holders(role_id: int, today: date) -> Select:
    """SELECT of the ids of everyone who holds the role today (a current assignment)."""
    return select(RoleAssignment.person_id).where(
        RoleAssignment.role_id == role_id,
        RoleAssignment.kind == AssignmentKind.CURRENT,
        RoleAssignment.start_date <= today,
        or_(RoleAssignment.end_date.is_(None), RoleAssignment.end_date >= today),
    )


@dataclass(frozen=True)
class EnrolmentCounts:
    """What a bulk enrolment does (or would do): of ``candidates`` active people in reach,
    how many are enrolled, already enrolled (skipped), or lack a prerequisite (skipped)."""

    path_title: str
    candidates: int
    enrolled: int
    already_enrolled: int
    missing_prerequisites: int
    #: The path's prerequisites in words, for the sentence about those who lack them.
    prerequisites: str = ""
    #: People asked for who are outside the actor's reach or have left (not enrolled).
    out_of_reach: int = 0

    def sentences(self) -> list[str]:
        out = [f"{self.enrolled:,} {_people(self.enrolled)} enrolled on {self.path_title}."]
        if self.already_enrolled:
            out.append(
                f"{self.already_enrolled:,} {_people(self.already_enrolled)} skipped: "
                "already enrolled on this path."
            )
        if self.missing_prerequisites:
            out.append(
                f"{self.missing_prerequisites:,} {_people(self.missing_prerequisites)} "
                f"skipped: the path {self.prerequisites}."
            )
        if self.out_of_reach:
            out.append(
                f"{self.out_of_reach:,} {_people(self.out_of_reach)} skipped: not active "
                "or not among the people you may enrol."
            )
        return out


def _value(value, type_):
    """A typed value for the SELECT of an INSERT ... SELECT; a bare NULL for None (an untyped
    NULL parameter would reach PostgreSQL as text)."""
    return null() if value is None else literal(value, type_)


def _people(n: int) -> str:
    return "person" if n == 1 else "people"


def _candidates(people: Select, scope: Select | None) -> Select:
    stmt = select(Person.id.label("id")).where(Person.id.in_(people), Person.active.is_(True))
    if scope is not None:
        stmt = stmt.where(Person.id.in_(scope))
    return stmt


def _count(
    session: Session,
    version: PathVersion,
    people: Select,
    scope: Select | None,
    today: date,
) -> tuple[int, int, int, int]:
    """(asked for, candidates, already enrolled, lacking a prerequisite) in one statement."""
    asked = people.subquery("asked")
    cand = _candidates(people, scope).subquery("candidates")
    enrolled = exists(
        select(Enrolment.id).where(
            Enrolment.person_id == cand.c.id, Enrolment.path_id == version.path_id
        )
    )
    met = prerequisites_met(version, cand.c.id, today)
    row = session.execute(
        select(
            select(func.count(func.distinct(asked.c[0]))).scalar_subquery(),
            func.count(cand.c.id),
            func.coalesce(func.sum(case((enrolled, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(~enrolled, ~met), 1), else_=0)), 0),
        ).select_from(cand)
    ).one()
    return int(row[0] or 0), int(row[1]), int(row[2]), int(row[3])


def preview_enrolment(
    session: Session,
    *,
    path_id: int | None,
    people: Select,
    due_on: date | None,
    today: date,
    scope: Select | None,
) -> EnrolmentCounts:
    """What ``enrol_people`` would do, without doing it (for the confirmation page)."""
    version = _require_published(session, path_id)
    _check_due(due_on, today, required=True)
    asked, candidates, already, lacking = _count(session, version, people, scope, today)
    if not asked:
        raise DomainError("Nobody matches that choice.", field="who")
    return EnrolmentCounts(
        path_title=version.title,
        candidates=candidates,
        enrolled=candidates - already - lacking,
        already_enrolled=already,
        missing_prerequisites=lacking,
        prerequisites=prerequisites_text(session, version) if lacking else "",
        out_of_reach=asked - candidates,
    )


def enrol_people(
    session: Session,
    *,
    path_id: int | None,
    people: Select,
    due_on: date | None,
    actor_id: int | None,
    today: date,
    scope: Select | None,
    source: EnrolmentSource = EnrolmentSource.HAND,
) -> EnrolmentCounts:
    """Enrol ``people`` (a SELECT of person ids: ``listed_people``, ``unit_people``,
    ``role_holders``) on the path's published version, due ``due_on``.

    Only active people within ``scope`` (a SELECT of the person ids the actor may enrol;
    None for everyone) are enrolled; those already enrolled or lacking a prerequisite are
    skipped and counted. Set-based: a fixed number of statements for any number of people.
    Raises DomainError for a path without a published version, a missing or past due date,
    or a choice that matches nobody.
    """
    counts = preview_enrolment(
        session, path_id=path_id, people=people, due_on=due_on, today=today, scope=scope
    )
    version = _require_published(session, path_id)
    cand = _candidates(people, scope).subquery("candidates")
    rows = select(
        cand.c.id,
        literal(version.path_id),
        literal(version.id),
        literal(EnrolmentStatus.ACTIVE.value),
        literal(source.value),
        _value(due_on, Enrolment.due_on.type),
        _value(clock.now(), Enrolment.enrolled_at.type),
        _value(actor_id, Enrolment.enrolled_by_id.type),
    ).where(
        ~exists(
            select(Enrolment.id).where(
                Enrolment.person_id == cand.c.id, Enrolment.path_id == version.path_id
            )
        ),
        prerequisites_met(version, cand.c.id, today),
    )
    columns = [
        "person_id",
        "path_id",
        "version_id",
        "status",
        "source",
        "due_on",
        "enrolled_at",
        "enrolled_by_id",
    ]
    inserted = session.scalars(
        insert_skipping_duplicates(session, Enrolment)
        .from_select(columns, rows)
        .returning(Enrolment.id)
    ).all()
    session.flush()
    enrolled = len(inserted)  # rowcount is unreliable for INSERT ... SELECT on SQLite
    raced = counts.enrolled - enrolled  # enrolled meanwhile by someone else
    return EnrolmentCounts(
        path_title=counts.path_title,
        candidates=counts.candidates,
        enrolled=enrolled,
        already_enrolled=counts.already_enrolled + max(raced, 0),
        missing_prerequisites=counts.missing_prerequisites,
        prerequisites=counts.prerequisites,
        out_of_reach=counts.out_of_reach,
    )


# --- one person ----------------------------------------------------------------------------


def _existing(session: Session, person_id: int, path_id: int) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(Enrolment.person_id == person_id, Enrolment.path_id == path_id)
    )


def _insert_one(
    session: Session,
    *,
    person_id: int,
    version: PathVersion,
    source: EnrolmentSource,
    due_on: date | None,
    actor_id: int | None,
    rule_id: int | None = None,
) -> Enrolment | None:
    """Insert one enrolment; None when one already exists (even one made a moment ago)."""
    new_id = session.scalar(
        insert_skipping_duplicates(session, Enrolment)
        .values(
            person_id=person_id,
            path_id=version.path_id,
            version_id=version.id,
            status=EnrolmentStatus.ACTIVE,
            source=source,
            due_on=due_on,
            enrolled_at=clock.now(),
            enrolled_by_id=actor_id,
            rule_id=rule_id,
        )
        .returning(Enrolment.id)
    )
    return session.get(Enrolment, new_id) if new_id is not None else None


def enrol_person(
    session: Session,
    *,
    person_id: int,
    path_id: int | None,
    due_on: date | None,
    actor_id: int | None,
    today: date,
) -> Enrolment:
    """A trainer or manager enrols one person (the caller has checked they may). A person
    withdrawn from the path earlier is reinstated on their enrolment, with the new due date.

    Raises DomainError when the person has left, is already enrolled, or lacks a
    prerequisite (naming what is missing).
    """
    version = _require_published(session, path_id)
    _check_due(due_on, today, required=True)
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise DomainError("Only active people can be enrolled.", field="person")
    existing = _existing(session, person_id, version.path_id)
    if existing is not None and existing.status != EnrolmentStatus.WITHDRAWN:
        what = "has completed" if existing.status == EnrolmentStatus.COMPLETED else "is already on"
        raise DomainError(f"{person.full_name} {what} {version.title}.", field="path")
    missing = missing_prerequisites(session, version, person_id, today)
    if missing:
        raise DomainError(
            f"{person.full_name} cannot be enrolled on {version.title} yet: the path "
            + "; ".join(missing)
            + ".",
            field="path",
        )
    if existing is not None:
        return _reinstate(session, existing, person, version, due_on=due_on, actor_id=actor_id)
    enrolment = _insert_one(
        session,
        person_id=person_id,
        version=version,
        source=EnrolmentSource.HAND,
        due_on=due_on,
        actor_id=actor_id,
    )
    if enrolment is None:
        raise DomainError(f"{person.full_name} is already on {version.title}.", field="path")
    return enrolment


def _move(session: Session, enrolment: Enrolment, expected: EnrolmentStatus, **values) -> bool:
    """Change ``enrolment`` only if it is still ``expected``, with one conditional UPDATE
    (the exactly-once guard of reinstating and withdrawing: of two simultaneous requests
    one changes it; the other waits for it, finds it changed and changes nothing). False
    when it was no longer ``expected``; the enrolment is read afresh either way."""
    moved = session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id, Enrolment.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(enrolment)
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def _reinstate(
    session: Session,
    existing: Enrolment,
    person: Person,
    version: PathVersion,
    *,
    due_on: date | None,
    actor_id: int | None,
) -> Enrolment:
    """Put a withdrawn person back on their enrolment, once (DomainError if someone else
    did so, or anything else changed it, meanwhile)."""
    if not _move(
        session,
        existing,
        EnrolmentStatus.WITHDRAWN,
        status=EnrolmentStatus.ACTIVE,
        withdrawn_at=None,
        due_on=due_on,
        enrolled_by_id=actor_id,
    ):
        raise DomainError(f"{person.full_name} is already on {version.title}.", field="path")
    return existing


def enrol_self(
    session: Session, *, person_id: int, path_id: int, actor_id: int | None, today: date
) -> Enrolment:
    """A learner enrols themselves on an open path (no due date).

    Raises DomainError when the path is not open to self-enrolment, the learner is already
    enrolled (or was withdrawn: only a trainer or manager can put them back), or lacks a
    prerequisite (naming what is missing).
    """
    version = published_version(session, path_id)
    if version is None or not version.open_enrolment:
        raise DomainError("This path is not open for enrolment; ask your manager or a trainer.")
    existing = _existing(session, person_id, path_id)
    if existing is not None:
        if existing.status == EnrolmentStatus.WITHDRAWN:
            raise DomainError(
                f"You were withdrawn from {version.title}; ask your manager or a trainer to "
                "enrol you again."
            )
        raise DomainError(f"You are already enrolled on {version.title}.")
    missing = missing_prerequisites(session, version, person_id, today)
    if missing:
        raise DomainError(
            f"You cannot enrol on {version.title} yet: it " + "; ".join(missing) + "."
        )
    enrolment = _insert_one(
        session,
        person_id=person_id,
        version=version,
        source=EnrolmentSource.SELF,
        due_on=None,
        actor_id=actor_id,
    )
    if enrolment is None:
        raise DomainError(f"You are already enrolled on {version.title}.")
    return enrolment


def withdraw(session: Session, *, enrolment: Enrolment, actor_id: int | None) -> Enrolment:
    """Withdraw an active enrolment (its completed modules and evidence stay). The person is
    not enrolled again by a rule; a trainer or manager may reinstate them by hand. Once:
    of simultaneous withdrawals one withdraws it, the others are told it already is."""
    if _move(
        session,
        enrolment,
        EnrolmentStatus.ACTIVE,
        status=EnrolmentStatus.WITHDRAWN,
        withdrawn_at=clock.now(),
    ):
        return enrolment
    if enrolment.status == EnrolmentStatus.COMPLETED:
        raise DomainError("A completed path cannot be withdrawn.")
    raise DomainError("This enrolment is already withdrawn.")


# --- enrolment rules ---------------------------------------------------------------------


def enrol_by_rules(session: Session, assignment_ids: list[int], today: date) -> int:
    """Apply the active enrolment rules to these role assignments: each current holder
    (assignment not ended before ``today``, person active) of a rule's role is enrolled on
    the rule's path, due ``due_days`` after the assignment's start date — once only: a
    person already enrolled on the path, even withdrawn, is left alone. Set-based: one
    SELECT and one bulk INSERT per 1,000 assignments. Returns how many were enrolled."""
    enrolled = 0
    for chunk in _chunks(sorted(set(assignment_ids))):
        rows = session.execute(
            select(
                RoleAssignment.person_id,
                RoleAssignment.start_date,
                EnrolmentRule.id.label("rule_id"),
                EnrolmentRule.due_days,
                PathVersion.path_id,
                PathVersion.id.label("version_id"),
            )
            .join(EnrolmentRule, EnrolmentRule.role_id == RoleAssignment.role_id)
            .join(
                PathVersion,
                and_(
                    PathVersion.path_id == EnrolmentRule.path_id,
                    PathVersion.status == PathStatus.PUBLISHED,
                ),
            )
            .join(Person, Person.id == RoleAssignment.person_id)
            .where(
                RoleAssignment.id.in_(chunk),
                RoleAssignment.kind == AssignmentKind.CURRENT,
                or_(RoleAssignment.end_date.is_(None), RoleAssignment.end_date >= today),
                EnrolmentRule.active.is_(True),
                Person.active.is_(True),
                ~exists(
                    select(Enrolment.id).where(
                        Enrolment.person_id == RoleAssignment.person_id,
                        Enrolment.path_id == EnrolmentRule.path_id,
                    )
                ),
            )
            .order_by(RoleAssignment.start_date, EnrolmentRule.id)
        ).all()
        now = clock.now()
        values: dict[tuple[int, int], dict] = {}
        for r in rows:  # one per person and path: the earliest assignment's rule
            values.setdefault(
                (r.person_id, r.path_id),
                {
                    "person_id": r.person_id,
                    "path_id": r.path_id,
                    "version_id": r.version_id,
                    "status": EnrolmentStatus.ACTIVE,
                    "source": EnrolmentSource.RULE,
                    "due_on": r.start_date + timedelta(days=r.due_days),
                    "enrolled_at": now,
                    "enrolled_by_id": None,
                    "rule_id": r.rule_id,
                },
            )
        if values:
            stmt = insert_skipping_duplicates(session, Enrolment).returning(Enrolment.id)
            enrolled += len(session.scalars(stmt, list(values.values())).all())
    session.flush()
    return enrolled


@roles_assigned.connect
def _apply_enrolment_rules(session: Session, *, assignment_ids: list[int]) -> None:
    enrol_by_rules(session, assignment_ids, clock.today())
