"""The home page's learning panels: what a learner should do next, what a manager's people
have overdue, and what is waiting for a training specialist. Reads only; plain data out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from app.learning.learner_queries import (
    EnrolmentLine,
    SessionLine,
    booked_sessions,
    person_enrolments,
)
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
    certificates = (
        session.scalar(
            select(func.count()).where(
                CompletionCertificate.person_id == person_id,
                CompletionCertificate.revoked_at.is_(None),
            )
        )
        or 0
    )
    return LearnerLearning(
        [e for e in lines if e.status == EnrolmentStatus.ACTIVE],
        sum(1 for e in lines if e.status == EnrolmentStatus.COMPLETED),
        certificates,
        booked_sessions(session, person_id, now)[:SESSIONS_SHOWN],
        _expiring(session, person_id, today),
    )


@cache
def _expiring_statement() -> Select:
    """The person's verified external certificates expiring within the window (built once:
    the learner's home page runs it on every visit)."""
    today = bindparam("today", type_=ExternalCertificate.expires_on.type)
    return (
        select(
            ExternalCertificate.certificate_code,
            ExternalCertificate.other_name,
            ExternalCertificate.expires_on,
        )
        .where(
            ExternalCertificate.person_id == bindparam("person_id"),
            ExternalCertificate.status == ExternalStatus.VERIFIED,
            ExternalCertificate.expires_on >= today,
            ExternalCertificate.expires_on <= bindparam("until", type_=today.type),
        )
        .order_by(ExternalCertificate.expires_on)
    )


def _expiring(session: Session, person_id: int, today: date) -> list[Expiring]:
    """Certificates expiring soon, named from the published catalogue; the catalogue is read
    only when one is expiring (rarely), not on every visit."""
    rows = session.execute(
        _expiring_statement(),
        {
            "person_id": person_id,
            "today": today,
            "until": today + timedelta(days=EXPIRY_WINDOW_DAYS),
        },
    ).all()
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
    month_start = datetime.combine(today.replace(day=1), time.min, tzinfo=UTC)
    next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    month_end = datetime.combine(next_month, time.min, tzinfo=UTC)
    now = datetime.now(UTC)
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
