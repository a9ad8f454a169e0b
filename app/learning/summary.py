"""The home page's learning panels: what a learner should do next, what a manager's people
have overdue, and what is waiting for a training specialist. Reads only; plain data out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

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
    ModuleCompletion,
    PathModule,
    PathStatus,
    PathVersion,
)
from app.org.models import OrgUnit, OrgUnitPath, Person

#: Certificates expiring this close are flagged on the learner's home page.
EXPIRY_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Progress:
    done: int  # required modules completed
    total: int  # required modules of the enrolled version

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def progress_of(session: Session, enrolment_ids: list[int]) -> dict[int, Progress]:
    """Required modules done and in total, per enrolment, in one query each way."""
    if not enrolment_ids:
        return {}
    totals = dict(
        session.execute(
            select(Enrolment.id, func.count(PathModule.id))
            .join(PathModule, PathModule.version_id == Enrolment.version_id)
            .where(Enrolment.id.in_(enrolment_ids), PathModule.optional.is_(False))
            .group_by(Enrolment.id)
        ).all()
    )
    done = dict(
        session.execute(
            select(ModuleCompletion.enrolment_id, func.count(ModuleCompletion.id))
            .join(Enrolment, Enrolment.id == ModuleCompletion.enrolment_id)
            .join(
                PathModule,
                and_(
                    PathModule.version_id == Enrolment.version_id,
                    PathModule.code == ModuleCompletion.module_code,
                ),
            )
            .where(ModuleCompletion.enrolment_id.in_(enrolment_ids), PathModule.optional.is_(False))
            .group_by(ModuleCompletion.enrolment_id)
        ).all()
    )
    return {i: Progress(done.get(i, 0), totals.get(i, 0)) for i in enrolment_ids}


@dataclass(frozen=True)
class NextModule:
    code: str
    title: str
    type: str


@dataclass(frozen=True)
class EnrolmentLine:
    enrolment_id: int
    path_code: str
    title: str
    due_on: date | None
    overdue: bool
    progress: Progress
    next_module: NextModule | None


@dataclass(frozen=True)
class BookedSession:
    session_id: int
    path_title: str
    module_code: str
    starts_at: datetime
    location: str
    waitlisted: bool


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
    sessions: list[BookedSession]
    expiring: list[Expiring]

    @property
    def next_step(self) -> EnrolmentLine | None:
        return next((e for e in self.enrolments if e.next_module), None)


def learner_learning(session: Session, person_id: int, today: date) -> LearnerLearning:
    rows = session.execute(
        select(Enrolment.id, LearningPath.code, PathVersion.title, Enrolment.due_on)
        .join(LearningPath, LearningPath.id == Enrolment.path_id)
        .join(PathVersion, PathVersion.id == Enrolment.version_id)
        .where(Enrolment.person_id == person_id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .order_by(Enrolment.due_on.is_(None), Enrolment.due_on, PathVersion.title)
    ).all()
    ids = [r.id for r in rows]
    progress = progress_of(session, ids)
    nexts = _next_modules(session, ids)
    lines = [
        EnrolmentLine(
            r.id,
            r.code,
            r.title,
            r.due_on,
            r.due_on is not None and r.due_on < today,
            progress[r.id],
            nexts.get(r.id),
        )
        for r in rows
    ]
    completed = (
        session.scalar(
            select(func.count()).where(
                Enrolment.person_id == person_id, Enrolment.status == EnrolmentStatus.COMPLETED
            )
        )
        or 0
    )
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
        lines,
        completed,
        certificates,
        _booked_sessions(session, person_id, today),
        _expiring(session, person_id, today),
    )


def _next_modules(session: Session, enrolment_ids: list[int]) -> dict[int, NextModule]:
    """Per enrolment, the first module (in path order) not yet completed."""
    if not enrolment_ids:
        return {}
    done = select(ModuleCompletion.module_code).where(ModuleCompletion.enrolment_id == Enrolment.id)
    out: dict[int, NextModule] = {}
    for enrolment_id, code, title, type_ in session.execute(
        select(Enrolment.id, PathModule.code, PathModule.title, PathModule.type)
        .join(PathModule, PathModule.version_id == Enrolment.version_id)
        .where(Enrolment.id.in_(enrolment_ids), PathModule.code.not_in(done.scalar_subquery()))
        .order_by(Enrolment.id, PathModule.position)
    ):
        out.setdefault(enrolment_id, NextModule(code, title, type_.value))
    return out


def _booked_sessions(session: Session, person_id: int, today: date) -> list[BookedSession]:
    start = datetime.combine(today, time.min, tzinfo=UTC)
    return [
        BookedSession(sid, title, code, starts, location, status == BookingStatus.WAITLISTED)
        for sid, title, code, starts, location, status in session.execute(
            select(
                ClassSession.id,
                PathVersion.title,
                ClassSession.module_code,
                ClassSession.starts_at,
                ClassSession.location,
                Booking.status,
            )
            .join(Booking, Booking.session_id == ClassSession.id)
            .join(_current_version(), _current_version().c.path_id == ClassSession.path_id)
            .join(PathVersion, PathVersion.id == _current_version().c.version_id)
            .where(
                Booking.person_id == person_id,
                Booking.status != BookingStatus.CANCELLED,
                ClassSession.cancelled_at.is_(None),
                ClassSession.starts_at >= start,
            )
            .order_by(ClassSession.starts_at)
            .limit(5)
        )
    ]


def _current_version():
    """Per path, its latest version that learners can see (published, else the latest)."""
    return (
        select(PathVersion.path_id, func.max(PathVersion.id).label("version_id"))
        .where(PathVersion.status != PathStatus.DRAFT)
        .group_by(PathVersion.path_id)
        .subquery("current_version")
    )


def _expiring(session: Session, person_id: int, today: date) -> list[Expiring]:
    from app.framework.models import Certificate
    from app.framework.versions import published_version

    version = published_version(session)
    names = (
        dict(
            session.execute(
                select(Certificate.code, Certificate.name).where(
                    Certificate.version_id == version.id
                )
            ).all()
        )
        if version
        else {}
    )
    rows = session.execute(
        select(
            ExternalCertificate.certificate_code,
            ExternalCertificate.other_name,
            ExternalCertificate.expires_on,
        )
        .where(
            ExternalCertificate.person_id == person_id,
            ExternalCertificate.status == ExternalStatus.VERIFIED,
            ExternalCertificate.expires_on >= today,
            ExternalCertificate.expires_on <= today + timedelta(days=EXPIRY_WINDOW_DAYS),
        )
        .order_by(ExternalCertificate.expires_on)
    ).all()
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
class TeamLearning:
    active: int
    overdue: int
    completed_recently: int  # in the last 90 days


def team_learning(session: Session, people: Select, today: date) -> TeamLearning:
    """Enrolment counts for the people ``people`` selects (a manager's scope)."""
    since = datetime.combine(today - timedelta(days=90), time.min, tzinfo=UTC)
    active, overdue, recent = session.execute(
        select(
            func.count().filter(Enrolment.status == EnrolmentStatus.ACTIVE),
            func.count().filter(
                Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.due_on < today
            ),
            func.count().filter(
                Enrolment.status == EnrolmentStatus.COMPLETED, Enrolment.completed_at >= since
            ),
        ).where(Enrolment.person_id.in_(people))
    ).one()
    return TeamLearning(active or 0, overdue or 0, recent or 0)


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
