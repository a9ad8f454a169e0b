"""Reads for the learning pages of learners, managers and trainers: my learning, a path as
the enrolled learner works through it, a manager's team learning, a person's enrolments,
and the classroom sessions. Plain data or SELECT statements out; a fixed number of queries
per page whatever the size of the organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache

from sqlalchemy import FromClause, ScalarSelect, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.learning.enrolment import prerequisites_texts, published_version
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionCertificate,
    Enrolment,
    EnrolmentStatus,
    LearningPath,
    ModuleCompletion,
    ModuleType,
    PathModule,
    PathStatus,
    PathVersion,
)
from app.learning.progress import HOW_COMPLETED, SELF_PACED, TAUGHT
from app.org.models import OrgUnit, Person
from app.org.queries import managed_people_ids

#: The team page's status filter: value -> label.
TEAM_STATUSES = {
    "active": "In progress",
    "overdue": "Overdue",
    "completed": "Completed",
    "withdrawn": "Withdrawn",
    "all": "All",
}
_LIVE = (BookingStatus.BOOKED, BookingStatus.WAITLISTED)
#: How many of a manager's people the enrolment form offers as a pick list.
PICK_LIST_LIMIT = 500


@dataclass(frozen=True)
class Progress:
    done: int  # required modules completed
    total: int  # required modules of the enrolled version

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def _required_counts() -> tuple[ScalarSelect, ScalarSelect]:
    """An enrolment's required modules in all and done, as subqueries correlated with
    Enrolment: the one rule of progress, for the lists and the reminders alike."""
    required = PathModule.optional.is_(False)
    total = (
        select(func.count(PathModule.id))
        .where(PathModule.version_id == Enrolment.version_id, required)
        .correlate(Enrolment)
        .scalar_subquery()
    )
    done = (
        select(func.count(ModuleCompletion.id))
        .join(PathModule, PathModule.code == ModuleCompletion.module_code)
        .where(
            ModuleCompletion.enrolment_id == Enrolment.id,
            PathModule.version_id == Enrolment.version_id,
            required,
        )
        .correlate(Enrolment)
        .scalar_subquery()
    )
    return total, done


def progress_of(session: Session, enrolment_ids: list[int]) -> dict[int, Progress]:
    """Required modules done and in total, per enrolment, in one query."""
    if not enrolment_ids:
        return {}
    total, done = _required_counts()
    rows = session.execute(
        select(Enrolment.id, done, total).where(Enrolment.id.in_(enrolment_ids))
    ).all()
    found = {i: Progress(d, t) for i, d, t in rows}
    return {i: found.get(i, Progress(0, 0)) for i in enrolment_ids}


# --- enrolments, as lines of a list ---------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentLine:
    id: int
    path_id: int
    path_code: str
    title: str
    version_number: int
    status: EnrolmentStatus
    due_on: date | None
    overdue: bool
    enrolled_at: datetime
    completed_at: datetime | None
    progress: Progress
    next_title: str | None = None
    certificate_id: int | None = None


def _overdue(status: EnrolmentStatus, due_on: date | None, today: date) -> bool:
    return status == EnrolmentStatus.ACTIVE and due_on is not None and due_on < today


def _enrolment_columns() -> Select:
    return (
        select(
            Enrolment.id,
            Enrolment.path_id,
            LearningPath.code,
            PathVersion.title,
            PathVersion.number,
            Enrolment.status,
            Enrolment.due_on,
            Enrolment.enrolled_at,
            Enrolment.completed_at,
        )
        .join(LearningPath, LearningPath.id == Enrolment.path_id)
        .join(PathVersion, PathVersion.id == Enrolment.version_id)
    )


@cache
def _person_enrolments_statement() -> Select:
    """A person's enrolments as lines, each with its progress (required modules done and in
    all), the first module not done and the certificate of completion, in one statement
    built once: the home pages and My learning run it on every visit, where a statement
    for each part cost more to build than to run (a person has a few enrolments)."""
    total, done = _required_counts()
    completed = (
        select(ModuleCompletion.module_code)
        .where(ModuleCompletion.enrolment_id == Enrolment.id)
        .correlate(Enrolment)
    )
    next_title = (
        select(PathModule.title)
        .where(PathModule.version_id == Enrolment.version_id, PathModule.code.not_in(completed))
        .order_by(PathModule.position)
        .limit(1)
        .correlate(Enrolment)
        .scalar_subquery()
    )
    certificate = (
        select(func.max(CompletionCertificate.id))
        .where(
            CompletionCertificate.enrolment_id == Enrolment.id,
            CompletionCertificate.revoked_at.is_(None),
        )
        .correlate(Enrolment)
        .scalar_subquery()
    )
    order = case(
        (Enrolment.status == EnrolmentStatus.ACTIVE, 0),
        (Enrolment.status == EnrolmentStatus.COMPLETED, 1),
        else_=2,
    )
    return (
        _enrolment_columns()
        .add_columns(
            total.label("total"),
            done.label("done"),
            next_title.label("next_title"),
            certificate.label("certificate_id"),
        )
        .where(Enrolment.person_id == bindparam("person_id", type_=Enrolment.person_id.type))
        .order_by(
            order,
            Enrolment.due_on.is_(None),
            Enrolment.due_on,
            Enrolment.completed_at.desc(),
            PathVersion.title,
        )
    )


def person_enrolments(session: Session, person_id: int, today: date) -> list[EnrolmentLine]:
    """A person's enrolments: active ones by due date (undated last), then completed, then
    withdrawn; the first module not done is given for the active ones."""
    return [
        EnrolmentLine(
            id=r.id,
            path_id=r.path_id,
            path_code=r.code,
            title=r.title,
            version_number=r.number,
            status=r.status,
            due_on=r.due_on,
            overdue=_overdue(r.status, r.due_on, today),
            enrolled_at=r.enrolled_at,
            completed_at=r.completed_at,
            progress=Progress(r.done or 0, r.total or 0),
            next_title=r.next_title if r.status == EnrolmentStatus.ACTIVE else None,
            certificate_id=r.certificate_id,
        )
        for r in session.execute(_person_enrolments_statement(), {"person_id": person_id})
    ]


# --- my learning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionLine:
    """A classroom or workshop session, as a list shows it."""

    id: int
    path_id: int
    path_title: str
    module_code: str
    module_title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    link: str | None
    capacity: int
    booked: int
    waiting: int
    cancelled: bool
    #: The viewer's own booking status on it, if any (booked, waitlisted).
    mine: BookingStatus | None = None

    @property
    def full(self) -> bool:
        return self.booked >= self.capacity

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass(frozen=True)
class OpenPath:
    path_id: int
    code: str
    title: str
    summary: str
    minutes: int
    prerequisites: str


@dataclass(frozen=True)
class MyLearning:
    active: list[EnrolmentLine]
    finished: list[EnrolmentLine]
    sessions: list[SessionLine]
    open_paths: list[OpenPath]


def my_learning(session: Session, person_id: int, today: date, now: datetime) -> MyLearning:
    lines = person_enrolments(session, person_id, today)
    return MyLearning(
        active=[e for e in lines if e.status == EnrolmentStatus.ACTIVE],
        finished=[e for e in lines if e.status == EnrolmentStatus.COMPLETED],
        sessions=booked_sessions(session, person_id, now),
        open_paths=open_paths(session, person_id),
    )


def open_paths(session: Session, person_id: int) -> list[OpenPath]:
    """Published paths open to self-enrolment that the person is not enrolled on: the
    columns the list shows (not the versions' modules and lessons), and the prerequisites
    of them all in words, read together."""
    minutes = (
        select(func.coalesce(func.sum(PathModule.minutes), 0))
        .where(PathModule.version_id == PathVersion.id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            PathVersion.id,
            PathVersion.path_id,
            LearningPath.code,
            PathVersion.title,
            PathVersion.summary,
            minutes.label("minutes"),
        )
        .join(LearningPath, LearningPath.id == PathVersion.path_id)
        .where(
            PathVersion.status == PathStatus.PUBLISHED,
            PathVersion.open_enrolment.is_(True),
            ~select(Enrolment.id)
            .where(Enrolment.person_id == person_id, Enrolment.path_id == PathVersion.path_id)
            .exists(),
        )
        .order_by(PathVersion.title)
    ).all()
    texts = prerequisites_texts(session, [r.id for r in rows])
    return [
        OpenPath(
            path_id=r.path_id,
            code=r.code,
            title=r.title,
            summary=r.summary,
            minutes=int(r.minutes),
            prerequisites=texts.get(r.id, ""),
        )
        for r in rows
    ]


def _module_titles(session: Session, path_ids: set[int]) -> dict[tuple[int, str], str]:
    """(path id, module code) -> the module's title in the path's latest non-draft version."""
    if not path_ids:
        return {}
    latest = (
        select(PathVersion.path_id, func.max(PathVersion.number).label("number"))
        .where(PathVersion.path_id.in_(path_ids), PathVersion.status != PathStatus.DRAFT)
        .group_by(PathVersion.path_id)
        .subquery()
    )
    rows = session.execute(
        select(PathVersion.path_id, PathVersion.title, PathModule.code, PathModule.title)
        .join(
            latest,
            and_(latest.c.path_id == PathVersion.path_id, latest.c.number == PathVersion.number),
        )
        .join(PathModule, PathModule.version_id == PathVersion.id)
    ).all()
    out: dict[tuple[int, str], str] = {}
    for path_id, path_title, code, title in rows:
        out[(path_id, code)] = title
        out[(path_id, "")] = path_title
    return out


def _session_lines(
    session: Session, stmt: Select, mine: dict[int, BookingStatus] | None = None
) -> list[SessionLine]:
    rows = session.execute(stmt).all()
    titles = _module_titles(session, {r.path_id for r in rows})
    mine = mine or {}
    return [
        SessionLine(
            id=r.id,
            path_id=r.path_id,
            path_title=titles.get((r.path_id, ""), ""),
            module_code=r.module_code,
            module_title=titles.get((r.path_id, r.module_code), r.module_code),
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            location=r.location,
            link=r.link,
            capacity=r.capacity,
            booked=r.booked or 0,
            waiting=r.waiting or 0,
            cancelled=r.cancelled_at is not None,
            mine=mine.get(r.id),
        )
        for r in rows
    ]


def _sessions_statement() -> Select:
    booked = (
        select(func.count(Booking.id))
        .where(Booking.session_id == ClassSession.id, Booking.status == BookingStatus.BOOKED)
        .scalar_subquery()
    )
    waiting = (
        select(func.count(Booking.id))
        .where(Booking.session_id == ClassSession.id, Booking.status == BookingStatus.WAITLISTED)
        .scalar_subquery()
    )
    return select(
        ClassSession.id,
        ClassSession.path_id,
        ClassSession.module_code,
        ClassSession.starts_at,
        ClassSession.ends_at,
        ClassSession.location,
        ClassSession.link,
        ClassSession.capacity,
        ClassSession.cancelled_at,
        booked.label("booked"),
        waiting.label("waiting"),
    )


def booked_sessions(session: Session, person_id: int, now: datetime) -> list[SessionLine]:
    """The person's places (and waiting-list places) on sessions that have not ended,
    soonest first; a session the trainer cancelled shows as cancelled."""
    mine = dict(
        session.execute(
            select(Booking.session_id, Booking.status).where(
                Booking.person_id == person_id, Booking.status.in_(_LIVE)
            )
        ).all()
    )
    if not mine:
        return []
    stmt = (
        _sessions_statement()
        .where(ClassSession.id.in_(list(mine)), ClassSession.ends_at > now)
        .order_by(ClassSession.starts_at)
    )
    return _session_lines(session, stmt, mine)


def upcoming_sessions(
    session: Session,
    now: datetime,
    *,
    path_id: int | None = None,
    module_code: str | None = None,
    person_id: int | None = None,
    include_cancelled: bool = False,
) -> list[SessionLine]:
    """Sessions that have not ended, soonest first, optionally of one path or module; with
    ``person_id``, each marked with that person's booking."""
    stmt = _sessions_statement().where(ClassSession.ends_at > now)
    if path_id is not None:
        stmt = stmt.where(ClassSession.path_id == path_id)
    if module_code:
        stmt = stmt.where(ClassSession.module_code == module_code)
    if not include_cancelled:
        stmt = stmt.where(ClassSession.cancelled_at.is_(None))
    mine: dict[int, BookingStatus] = {}
    if person_id is not None:
        mine = dict(
            session.execute(
                select(Booking.session_id, Booking.status).where(
                    Booking.person_id == person_id, Booking.status.in_(_LIVE)
                )
            ).all()
        )
    return _session_lines(session, stmt.order_by(ClassSession.starts_at, ClassSession.id), mine)


def past_sessions(session: Session, now: datetime, limit: int = 50) -> list[SessionLine]:
    """Sessions that have started, latest first (where trainers record attendance)."""
    stmt = (
        _sessions_statement()
        .where(ClassSession.starts_at <= now, ClassSession.cancelled_at.is_(None))
        .order_by(ClassSession.starts_at.desc())
        .limit(limit)
    )
    return _session_lines(session, stmt)


def session_line(session: Session, session_id: int, person_id: int | None) -> SessionLine | None:
    stmt = _sessions_statement().where(ClassSession.id == session_id)
    mine: dict[int, BookingStatus] = {}
    if person_id is not None:
        status = session.scalar(
            select(Booking.status).where(
                Booking.session_id == session_id,
                Booking.person_id == person_id,
                Booking.status.in_(_LIVE),
            )
        )
        if status is not None:
            mine[session_id] = status
    lines = _session_lines(session, stmt, mine)
    return lines[0] if lines else None


def has_place(session: Session, session_id: int, person_id: int) -> bool:
    """Whether the person holds a place (not a waiting-list place) on the session."""
    return (
        session.scalar(
            select(Booking.id).where(
                Booking.session_id == session_id,
                Booking.person_id == person_id,
                Booking.status == BookingStatus.BOOKED,
            )
        )
        is not None
    )


@dataclass(frozen=True)
class RosterLine:
    booking_id: int
    person_id: int
    name: str
    employee_number: str
    status: BookingStatus
    booked_at: datetime
    attended: bool | None


def roster(session: Session, session_id: int) -> list[RosterLine]:
    """Who is booked, then who is waiting (in waiting-list order), on a session."""
    order = case((Booking.status == BookingStatus.BOOKED, 0), else_=1)
    return [
        RosterLine(
            r.id,
            r.person_id,
            f"{r.first_name} {r.last_name}",
            r.employee_number,
            r.status,
            r.booked_at,
            r.attended,
        )
        for r in session.execute(
            select(
                Booking.id,
                Booking.person_id,
                Person.first_name,
                Person.last_name,
                Person.employee_number,
                Booking.status,
                Booking.booked_at,
                Booking.attended,
            )
            .join(Person, Person.id == Booking.person_id)
            .where(Booking.session_id == session_id, Booking.status.in_(_LIVE))
            .order_by(order, Booking.booked_at, Booking.id)
        )
    ]


# --- a path, as the enrolled learner works through it ------------------------------------------


@dataclass(frozen=True)
class ModuleLine:
    module: PathModule
    state: str  # done | next | open | locked
    completion: ModuleCompletion | None
    #: Titles of the modules it requires that are not complete yet.
    locked_by: list[str]
    how: str
    #: Classroom and workshop modules: upcoming sessions, each marked with the learner's
    #: booking.
    sessions: list[SessionLine] = field(default_factory=list)

    @property
    def self_paced(self) -> bool:
        return self.module.type in SELF_PACED

    @property
    def taught(self) -> bool:
        return self.module.type in TAUGHT


@dataclass(frozen=True)
class PathPage:
    enrolment: Enrolment
    version: PathVersion
    modules: list[ModuleLine]
    progress: Progress
    overdue: bool
    certificate_id: int | None

    @property
    def next_module(self) -> ModuleLine | None:
        return next((m for m in self.modules if m.state == "next"), None)


def path_page(session: Session, enrolment: Enrolment, today: date, now: datetime) -> PathPage:
    version = session.scalar(
        select(PathVersion)
        .where(PathVersion.id == enrolment.version_id)
        .options(selectinload(PathVersion.modules).selectinload(PathModule.evidences))
    )
    assert version is not None
    completions = {
        c.module_code: c
        for c in session.scalars(
            select(ModuleCompletion).where(ModuleCompletion.enrolment_id == enrolment.id)
        )
    }
    taught_codes = {m.code for m in version.modules if m.type in TAUGHT}
    sessions_by_module: dict[str, list[SessionLine]] = {}
    if taught_codes and enrolment.status != EnrolmentStatus.WITHDRAWN:
        for line in upcoming_sessions(
            session, now, path_id=enrolment.path_id, person_id=enrolment.person_id
        ):
            if line.module_code in taught_codes:
                sessions_by_module.setdefault(line.module_code, []).append(line)
    titles = {m.code: m.title for m in version.modules}
    modules: list[ModuleLine] = []
    next_found = enrolment.status != EnrolmentStatus.ACTIVE
    for m in version.modules:
        unmet = [titles.get(c, c) for c in m.requires if c not in completions]
        if m.code in completions:
            state = "done"
        elif unmet:
            state = "locked"
        elif not next_found:
            state, next_found = "next", True
        else:
            state = "open"
        modules.append(
            ModuleLine(
                module=m,
                state=state,
                completion=completions.get(m.code),
                locked_by=unmet,
                how=HOW_COMPLETED[m.type],
                sessions=sessions_by_module.get(m.code, []),
            )
        )
    required = [m for m in version.modules if not m.optional]
    done = sum(1 for m in required if m.code in completions)
    certificate = session.scalar(
        select(CompletionCertificate.id).where(
            CompletionCertificate.enrolment_id == enrolment.id,
            CompletionCertificate.revoked_at.is_(None),
        )
    )
    return PathPage(
        enrolment=enrolment,
        version=version,
        modules=modules,
        progress=Progress(done, len(required)),
        overdue=_overdue(enrolment.status, enrolment.due_on, today),
        certificate_id=certificate,
    )


# --- a manager's (or trainer's) view of their people's learning --------------------------------


@dataclass
class TeamFilter:
    status: str = "active"
    q: str = ""

    def __post_init__(self) -> None:
        if self.status not in TEAM_STATUSES:
            self.status = "active"


def team_learning_query(flt: TeamFilter, scope: Select | None, today: date) -> Select:
    """Enrolments of the people in ``scope`` (None: everyone), filtered by status, soonest
    due first, as rows: person, path, status, dates and progress counts."""
    required = (
        select(func.count(PathModule.id))
        .where(PathModule.version_id == Enrolment.version_id, PathModule.optional.is_(False))
        .scalar_subquery()
    )
    done = (
        select(func.count(ModuleCompletion.id))
        .join(
            PathModule,
            and_(
                PathModule.version_id == Enrolment.version_id,
                PathModule.code == ModuleCompletion.module_code,
            ),
        )
        .where(ModuleCompletion.enrolment_id == Enrolment.id, PathModule.optional.is_(False))
        .scalar_subquery()
    )
    stmt = (
        select(
            Enrolment.id,
            Enrolment.person_id,
            Person.first_name,
            Person.last_name,
            OrgUnit.name.label("unit_name"),
            PathVersion.title,
            Enrolment.status,
            Enrolment.due_on,
            Enrolment.completed_at,
            required.label("required"),
            done.label("done"),
            and_(
                Enrolment.status == EnrolmentStatus.ACTIVE,
                Enrolment.due_on.is_not(None),
                Enrolment.due_on < today,
            ).label("overdue"),
        )
        .join(Person, Person.id == Enrolment.person_id)
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .join(PathVersion, PathVersion.id == Enrolment.version_id)
    )
    if scope is not None:
        stmt = stmt.where(Enrolment.person_id.in_(scope))
    if flt.status == "overdue":
        stmt = stmt.where(Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.due_on < today)
    elif flt.status != "all":
        stmt = stmt.where(Enrolment.status == EnrolmentStatus(flt.status))
    if flt.q.strip():
        needle = flt.q.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(Person.first_name + " " + Person.last_name).contains(
                    needle, autoescape=True
                ),
                func.lower(PathVersion.title).contains(needle, autoescape=True),
            )
        )
    return stmt.order_by(
        Enrolment.due_on.is_(None), Enrolment.due_on, Person.last_name, Enrolment.id
    )


@dataclass(frozen=True)
class TeamLine:
    """One row of the team learning list."""

    id: int
    person_id: int
    name: str
    unit_name: str | None
    title: str
    status: EnrolmentStatus
    due_on: date | None
    overdue: bool
    progress: Progress


def team_lines(rows) -> list[TeamLine]:
    """The rows of ``team_learning_query`` (one page of them) as lines to show."""
    return [
        TeamLine(
            id=r.id,
            person_id=r.person_id,
            name=f"{r.last_name}, {r.first_name}",
            unit_name=r.unit_name,
            title=r.title,
            status=r.status,
            due_on=r.due_on,
            overdue=bool(r.overdue),
            progress=Progress(r.done or 0, r.required or 0),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class TeamCounts:
    active: int
    overdue: int
    completed: int


def _team_counts_statement(scope: Select | None, today, reach: FromClause | None = None) -> Select:
    """``scope``: the person ids asked with IN; or ``reach``, a set of ids (column ``id``,
    each once) joined to the enrolments."""
    stmt = select(
        func.count(case((Enrolment.status == EnrolmentStatus.ACTIVE, 1))),
        func.count(
            case((and_(Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.due_on < today), 1))
        ),
        func.count(case((Enrolment.status == EnrolmentStatus.COMPLETED, 1))),
    )
    if reach is not None:
        return stmt.select_from(reach.join(Enrolment, Enrolment.person_id == reach.c.id))
    stmt = stmt.select_from(Enrolment)
    return stmt if scope is None else stmt.where(Enrolment.person_id.in_(scope))


def team_counts(session: Session, scope: Select | None, today: date) -> TeamCounts:
    active, overdue, completed = session.execute(_team_counts_statement(scope, today)).one()
    return TeamCounts(active or 0, overdue or 0, completed or 0)


@lru_cache(maxsize=512)
def _managers_team_counts(manager_id: int, everyone: bool) -> Select:
    scope = None if everyone else select(managed_people_ids(manager_id).subquery().c[0])
    return _team_counts_statement(scope, bindparam("today", type_=Enrolment.due_on.type))


def team_counts_of(session: Session, manager_id: int, everyone: bool, today: date) -> TeamCounts:
    """``team_counts`` over the people a manager manages (``managed_people_ids``, what
    ``access.visible_people`` gives a manager) or everyone, the statement built once per
    manager (building it costs more than running it)."""
    active, overdue, completed = session.execute(
        _managers_team_counts(manager_id, everyone), {"today": today}
    ).one()
    return TeamCounts(active or 0, overdue or 0, completed or 0)


# --- choices for the forms --------------------------------------------------------------------


def path_choices(session: Session) -> list[tuple[int, str]]:
    """Paths with a published version, as (path id, "title (code)")."""
    return [
        (path_id, f"{title} ({code})")
        for path_id, title, code in session.execute(
            select(PathVersion.path_id, PathVersion.title, LearningPath.code)
            .join(LearningPath, LearningPath.id == PathVersion.path_id)
            .where(PathVersion.status == PathStatus.PUBLISHED)
            .order_by(PathVersion.title)
        )
    ]


def people_choices(session: Session, scope: Select | None) -> list[tuple[int, str]] | None:
    """The active people in ``scope`` as (id, "Last, First (number)") for a pick list; None
    when there are too many to list (or the scope is everyone): then a list of employee
    numbers is the way to name several people."""
    if scope is None:
        return None
    rows = session.execute(
        select(Person.id, Person.first_name, Person.last_name, Person.employee_number)
        .where(Person.id.in_(scope), Person.active.is_(True))
        .order_by(Person.last_name, Person.first_name)
        .limit(PICK_LIST_LIMIT + 1)
    ).all()
    if len(rows) > PICK_LIST_LIMIT:
        return None
    return [(r.id, f"{r.last_name}, {r.first_name} ({r.employee_number})") for r in rows]


def ids_for_numbers(session: Session, numbers: list[str]) -> tuple[list[int], list[str]]:
    """Person ids for employee numbers, and the numbers nobody has."""
    wanted = sorted({n.strip() for n in numbers if n.strip()})
    found = dict(
        session.execute(
            select(Person.employee_number, Person.id).where(Person.employee_number.in_(wanted))
        ).all()
    )
    return list(found.values()), [n for n in wanted if n not in found]


def taught_module_choices(session: Session) -> list[tuple[str, str]]:
    """Classroom and workshop modules of published paths, as ("<path id>:<code>", label)."""
    rows = session.execute(
        select(
            PathVersion.path_id,
            PathVersion.title,
            PathModule.code,
            PathModule.title,
            PathModule.type,
        )
        .join(PathModule, PathModule.version_id == PathVersion.id)
        .where(
            PathVersion.status == PathStatus.PUBLISHED,
            PathModule.type.in_([ModuleType.CLASSROOM, ModuleType.WORKSHOP]),
        )
        .order_by(PathVersion.title, PathModule.position)
    ).all()
    return [
        (f"{path_id}:{code}", f"{path_title} — {code} {title} ({type_.value})")
        for path_id, path_title, code, title, type_ in rows
    ]


def enrolment_for(session: Session, enrolment_id: int) -> Enrolment | None:
    return session.get(Enrolment, enrolment_id)


def version_for_path(session: Session, path_id: int) -> PathVersion | None:
    return published_version(session, path_id)
