"""The home page's learning panels: what a learner should do next, what a manager's people
have overdue, and what is waiting for a training specialist. Reads only; plain data out."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache, lru_cache

from sqlalchemy import Select, and_, bindparam, case, func, literal, select, true
from sqlalchemy.orm import Session

from app import clock
from app.learning.learner_queries import (
    EnrolmentLine,
    SessionLine,
    TeamCounts,
    booked_sessions,
    person_enrolments,
)
from app.learning.learner_queries import _team_counts_statement as team_counts_statement
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionCertificate,
    Enrolment,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    LearningPath,
    PathStatus,
    PathVersion,
)
from app.org.models import OrgUnit, OrgUnitPath, Person
from app.org.queries import TeamSummary, managed_people_ids
from app.org.queries import _team_summary_statement as team_summary_statement

#: Certificates expiring this close are flagged on the learner's home page.
EXPIRY_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Expiring:
    name: str
    expires_on: date
    days_left: int


@dataclass(frozen=True)
class LearnerLearning:
    enrolments: list[EnrolmentLine]  # active, soonest due first
    completed: int
    certificates: int
    sessions: list[SessionLine]  # the next few booked (or waiting-list) places
    expiring: list[Expiring]

    @property
    def next_step(self) -> EnrolmentLine | None:
        return next((e for e in self.enrolments if e.next_title), None)


#: The home page shows this many booked sessions.
SESSIONS_SHOWN = 3


def learner_learning(
    session: Session, person_id: int, today: date, now: datetime
) -> LearnerLearning:
    lines = person_enrolments(session, person_id, today)
    certificates, expiring = _certificates(session, person_id, today)
    return LearnerLearning(
        [e for e in lines if e.status == EnrolmentStatus.ACTIVE],
        sum(1 for e in lines if e.status == EnrolmentStatus.COMPLETED),
        certificates,
        booked_sessions(session, person_id, now)[:SESSIONS_SHOWN],
        expiring,
    )


@cache
def _certificates_statement() -> Select:
    """The person's completion certificates not revoked (a count) with their verified
    external certificates expiring within the window, in one statement: a row per expiring
    certificate, or one row without a certificate when none is, each carrying the count.
    Built once: the home page runs it on every visit."""
    person_id = bindparam("person_id", type_=ExternalCertificate.person_id.type)
    today = bindparam("today", type_=ExternalCertificate.expires_on.type)
    held = (
        select(func.count())
        .where(
            CompletionCertificate.person_id == person_id,
            CompletionCertificate.revoked_at.is_(None),
        )
        .scalar_subquery()
    )
    one = select(literal(1).label("one")).subquery("one_row")
    return (
        select(
            held.label("certificates"),
            ExternalCertificate.certificate_code,
            ExternalCertificate.other_name,
            ExternalCertificate.expires_on,
        )
        .select_from(one)
        .outerjoin(
            ExternalCertificate,
            and_(
                ExternalCertificate.person_id == person_id,
                ExternalCertificate.status == ExternalStatus.VERIFIED,
                ExternalCertificate.expires_on >= today,
                ExternalCertificate.expires_on <= bindparam("until", type_=today.type),
            ),
        )
        .order_by(ExternalCertificate.expires_on)
    )


def _certificates(session: Session, person_id: int, today: date) -> tuple[int, list[Expiring]]:
    """(completion certificates held, external certificates expiring soon), the latter named
    from the published catalogue; the catalogue is read only when one is expiring (rarely),
    not on every visit."""
    rows = session.execute(
        _certificates_statement(),
        {
            "person_id": person_id,
            "today": today,
            "until": today + timedelta(days=EXPIRY_WINDOW_DAYS),
        },
    ).all()
    held = rows[0][0] or 0
    expiring = [(code, other, expires) for _, code, other, expires in rows if expires is not None]
    return held, _named(session, expiring, today)


def _named(session: Session, rows: list, today: date) -> list[Expiring]:
    """The expiring certificates (code, other name, expiry) named from the published
    catalogue, read only when one is expiring."""
    if not rows:
        return []
    from app.framework.models import Certificate, Framework, FrameworkVersion, VersionStatus
    from app.framework.versions import FRAMEWORK_CODE

    codes = {code for code, other, _ in rows if code and not other}
    names = (
        dict(
            session.execute(
                select(Certificate.code, Certificate.name)
                .join(FrameworkVersion, FrameworkVersion.id == Certificate.version_id)
                .join(Framework, Framework.id == FrameworkVersion.framework_id)
                .where(
                    Framework.code == FRAMEWORK_CODE,
                    FrameworkVersion.status == VersionStatus.PUBLISHED,
                    Certificate.code.in_(codes),
                )
                .order_by(FrameworkVersion.number)
            ).all()
        )
        if codes
        else {}
    )
    return [
        Expiring(
            other or names.get(code or "", code or ""),
            expires,
            (expires - today).days,
        )
        for code, other, expires in rows
        if expires is not None
    ]


@dataclass(frozen=True)
class PathFigures:
    path_id: int
    code: str
    title: str
    enrolled: int
    completed: int
    overdue: int

    @property
    def completion(self) -> int:
        return round(100 * self.completed / self.enrolled) if self.enrolled else 0


@dataclass(frozen=True)
class TrainerLearning:
    published: int
    drafts: int
    sessions_this_month: int
    attendance_to_record: int
    certificates_to_verify: int
    by_path: list[PathFigures]
    by_unit: list[PathFigures]  # path_id holds the unit id, code the unit code


def _current_version():
    """Per path, its latest version learners can see (published or retired)."""
    return (
        select(PathVersion.path_id, func.max(PathVersion.id).label("version_id"))
        .where(PathVersion.status != PathStatus.DRAFT)
        .group_by(PathVersion.path_id)
        .subquery("current_version")
    )


def _figures():
    return (
        func.count(Enrolment.id).label("enrolled"),
        func.count(case((Enrolment.status == EnrolmentStatus.COMPLETED, 1))).label("completed"),
    )


def trainer_learning(session: Session, today: date) -> TrainerLearning:
    month_start = clock.start_of(today.replace(day=1))
    next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    month_end = clock.start_of(next_month)
    now = clock.now()
    statuses = dict(
        session.execute(select(PathVersion.status, func.count()).group_by(PathVersion.status)).all()
    )
    sessions_this_month = session.scalar(
        select(func.count()).where(
            ClassSession.cancelled_at.is_(None),
            ClassSession.starts_at >= month_start,
            ClassSession.starts_at < month_end,
        )
    )
    has_bookings = (
        select(Booking.id)
        .where(Booking.session_id == ClassSession.id, Booking.status == BookingStatus.BOOKED)
        .exists()
    )
    attendance = session.scalar(
        select(func.count()).where(
            ClassSession.cancelled_at.is_(None),
            ClassSession.ends_at < now,
            ClassSession.attendance_recorded_at.is_(None),
            has_bookings,
        )
    )
    to_verify = session.scalar(
        select(func.count()).where(ExternalCertificate.status == ExternalStatus.PENDING)
    )
    overdue = func.count(
        case((and_(Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.due_on < today), 1))
    )
    current = _current_version()
    by_path = [
        PathFigures(pid, code, title, enrolled, completed, late)
        for pid, code, title, enrolled, completed, late in session.execute(
            select(LearningPath.id, LearningPath.code, PathVersion.title, *_figures(), overdue)
            .join(current, current.c.path_id == LearningPath.id)
            .join(PathVersion, PathVersion.id == current.c.version_id)
            .outerjoin(
                Enrolment,
                and_(
                    Enrolment.path_id == LearningPath.id,
                    Enrolment.status != EnrolmentStatus.WITHDRAWN,
                ),
            )
            .group_by(LearningPath.id, LearningPath.code, PathVersion.title)
            .order_by(PathVersion.title)
        )
    ]
    return TrainerLearning(
        statuses.get(PathStatus.PUBLISHED, 0),
        statuses.get(PathStatus.DRAFT, 0),
        sessions_this_month or 0,
        attendance or 0,
        to_verify or 0,
        by_path,
        _by_unit(session, today),
    )


def _by_unit(session: Session, today: date) -> list[PathFigures]:
    """Enrolment figures for each top-level unit below the root (the directorates), by the
    unit each learner sits in today."""
    root = select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)).scalar_subquery()
    top = select(OrgUnit.id).where(OrgUnit.parent_id.in_(root)).subquery()
    overdue = func.count(
        case((and_(Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.due_on < today), 1))
    )
    return [
        PathFigures(uid, code, name, enrolled, completed, late)
        for uid, code, name, enrolled, completed, late in session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name, *_figures(), overdue)
            .join(OrgUnitPath, OrgUnitPath.ancestor_id == OrgUnit.id)
            .join(Person, Person.org_unit_id == OrgUnitPath.descendant_id)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(OrgUnit.id.in_(select(top.c.id)), Enrolment.status != EnrolmentStatus.WITHDRAWN)
            .group_by(OrgUnit.id, OrgUnit.code, OrgUnit.name)
            .order_by(OrgUnit.name)
        )
    ]


@dataclass(frozen=True)
class ManagerFigures:
    """A manager's home page figures: their team (the "My team" panel) and their team's
    learning (the "My team's learning" panel), counted at ``as_of``; ``kept``: they were
    counted earlier and are shown again (``KeptFigures``)."""

    team: TeamSummary
    learning: TeamCounts
    as_of: datetime
    kept: bool = False


#: A team at least this large has its figures counted at most once per FIGURES_KEPT. A
#: department head reaches some 1,300 people at 20,000, and counting them, their units, roles
#: and enrolments costs more than the rest of the home page; a team lead's are counted on
#: every view, so they see the change they have just made.
KEEP_FROM_PEOPLE = 250
FIGURES_KEPT = timedelta(minutes=5)


class KeptFigures:
    """The large teams' figures counted lately, per manager and day, in this process (one
    per app: ``app.extensions``). Bounded: emptied when it holds KEPT_MANAGERS."""

    KEPT_MANAGERS = 2048

    def __init__(self) -> None:
        self._kept: dict[tuple[int, bool, date], ManagerFigures] = {}
        self._lock = threading.Lock()

    def figures(
        self, session: Session, manager_id: int, everyone: bool, today: date, now: datetime
    ) -> ManagerFigures:
        key = (manager_id, everyone, today)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and timedelta(0) <= now - kept.as_of < FIGURES_KEPT:
            return replace(kept, kept=True)
        fresh = manager_figures(session, manager_id, everyone, today, now)
        with self._lock:
            if fresh.team.people >= KEEP_FROM_PEOPLE:
                if len(self._kept) >= self.KEPT_MANAGERS:
                    self._kept.clear()
                self._kept[key] = fresh
            else:
                self._kept.pop(key, None)
        return fresh


@lru_cache(maxsize=512)
def _manager_figures_statement(manager_id: int, everyone: bool) -> Select:
    """Both panels' figures in one statement: the manager's reach (``managed_people_ids``,
    what ``access.visible_people`` gives a manager, each person once) worked out once as a
    materialised CTE that both panels join, where two statements would each walk it. Built
    once per manager."""
    today = bindparam("today", type_=Enrolment.due_on.type)
    if everyone:
        team = team_summary_statement(manager_id, None)
        learning = team_counts_statement(None, today)
    else:
        reach = managed_people_ids(manager_id).cte("reach").prefix_with("MATERIALIZED")
        team = team_summary_statement(manager_id, None, reach)
        learning = team_counts_statement(None, today, reach)
    team_q = team.subquery("team")
    learning_q = learning.subquery("team_learning")
    return select(team_q, learning_q).select_from(team_q.join(learning_q, true()))


def manager_figures(
    session: Session, manager_id: int, everyone: bool, today: date, now: datetime
) -> ManagerFigures:
    """``team_summary_of`` and ``team_counts_of`` together: the same figures, one statement
    (``everyone``: the manager sees everyone), counted now."""
    row = session.execute(_manager_figures_statement(manager_id, everyone), {"today": today}).one()
    people, units, direct, without, active, overdue, completed = row
    return ManagerFigures(
        TeamSummary(people or 0, units or 0, direct or 0, without or 0),
        TeamCounts(active or 0, overdue or 0, completed or 0),
        as_of=now,
    )
