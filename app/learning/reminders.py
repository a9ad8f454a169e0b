"""The reminders the ``flask learning remind`` command sends, and the log that makes it
idempotent.

What is due on a given day:

* a learner, for each active enrolment due within DUE_SOON_DAYS (once per due date) and
  for each overdue one (once a week while it stays overdue);
* a learner, for each session they are booked on that starts within SESSION_DAYS (once
  per booking and start time: a moved session is announced again);
* a learner, for each verified external certificate expiring within EXPIRY_DAYS (once per
  expiry date);
* a manager, a digest of their people's overdue enrolments (once a week).

Every message carries a key naming what it is about, for whom and for which period; a
message whose key is in the reminder log was sent already and is not planned again. The
command logs each message as soon as the mail server accepts it, so a run that fails
half-way leaves exactly the unsent messages to the next run. People with no active
account (no account email) are skipped and counted: they could not follow the links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Permission, User, UserPermission
from app.db import utcnow
from app.learning.external import catalogue_names
from app.learning.learner_queries import progress_of
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    Enrolment,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    LearningPath,
    PathModule,
    PathVersion,
    ReminderLog,
)
from app.org.models import Person
from app.org.queries import managed_people_ids

DUE_SOON_DAYS = 7
SESSION_DAYS = 2
EXPIRY_DAYS = 60

#: Builds an absolute link: (endpoint, **values) -> URL. Raises LookupError (werkzeug's
#: BuildError is one) for an endpoint the app does not have.
LinkBuilder = Callable[..., str]

#: Where each kind of message links, best first: the first endpoint the app has is used
#: (the learner's home stands in should a page be renamed, rather than stopping the run).
LINKS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "enrolment": [("learning.enrolment", ("enrolment_id",)), ("learning.my_learning", ())],
    "session": [("learning.session_detail", ("session_id",)), ("learning.my_learning", ())],
    "external": [("learning.external_mine", ()), ("learning.my_learning", ())],
    "team": [("learning.team", ()), ("org.team", ())],
}


@dataclass(frozen=True)
class Reminder:
    key: str
    kind: str
    person_id: int  # whom the message is for
    to: str  # their account email ("" until the plan finds it)
    subject: str
    body: str


@dataclass
class Plan:
    reminders: list[Reminder] = field(default_factory=list)
    #: People a message was due to who have no active account email.
    skipped_people: set[int] = field(default_factory=set)
    #: Messages due today that the log shows as sent already.
    already_sent: int = 0

    @property
    def skipped(self) -> int:
        return len(self.skipped_people)


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _link(link: LinkBuilder, kind: str, **values: object) -> str:
    for endpoint, needs in LINKS[kind]:
        try:
            return link(endpoint, **{k: values[k] for k in needs})
        except LookupError:
            continue
    return link("org.home")


FOOTER = (
    "\n\n-- \nThis is an automatic reminder from PMO Pathways. You are sent each reminder "
    "once; overdue reminders are repeated weekly until the path is complete."
)


def _mail_addresses(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    """Person id -> their active account's email."""
    ids = sorted(set(person_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            session.execute(
                select(User.person_id, User.email).where(
                    User.person_id.in_(chunk), User.active.is_(True)
                )
            ).all()
        )
    return found


# --- the learners' messages -------------------------------------------------------------------


@dataclass(frozen=True)
class _Due:
    enrolment_id: int
    person_id: int
    first_name: str
    last_name: str
    path_code: str
    title: str
    due_on: date

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


#: An active enrolment with a due date, of a person still in the organisation.
ACTIVE_WITH_DUE_DATE = (
    Enrolment.status == EnrolmentStatus.ACTIVE,
    Enrolment.due_on.is_not(None),
    Person.active.is_(True),
)


def _enrolments(session: Session, *, before: date | None, since: date | None) -> list[_Due]:
    stmt = (
        select(
            Enrolment.id,
            Enrolment.person_id,
            Person.first_name,
            Person.last_name,
            LearningPath.code,
            PathVersion.title,
            Enrolment.due_on,
        )
        .join(Person, Person.id == Enrolment.person_id)
        .join(LearningPath, LearningPath.id == Enrolment.path_id)
        .join(PathVersion, PathVersion.id == Enrolment.version_id)
        .where(*ACTIVE_WITH_DUE_DATE)
        .order_by(Enrolment.due_on, Enrolment.id)
    )
    if before is not None:
        stmt = stmt.where(Enrolment.due_on < before)
    if since is not None:
        stmt = stmt.where(Enrolment.due_on >= since)
    return [
        _Due(enrolment_id, person_id, first, last, code, title, due_on)
        for enrolment_id, person_id, first, last, code, title, due_on in session.execute(stmt)
        if due_on is not None
    ]


def _due_in(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def _enrolment_messages(session: Session, today: date, link: LinkBuilder) -> list[Reminder]:
    soon = _enrolments(session, since=today, before=today + timedelta(days=DUE_SOON_DAYS + 1))
    late = _enrolments(session, since=None, before=today)
    progress = progress_of(session, [d.enrolment_id for d in soon + late])
    out = []
    for due in soon:
        days = (due.due_on - today).days
        p = progress[due.enrolment_id]
        url = _link(link, "enrolment", enrolment_id=due.enrolment_id, path_code=due.path_code)
        body = (
            f"Hello {due.first_name},\n\n"
            f"Your learning path “{due.title}” ({due.path_code}) is due {_due_in(days)}, "
            f"on {long_date(due.due_on)}. You have completed {p.done} of {p.total} required "
            "modules.\n\n"
            f"What to do: open the path and complete the remaining modules before the due "
            f"date:\n{url}\n\n"
            "If you cannot finish in time, talk to your line manager."
        )
        out.append(
            Reminder(
                key=f"due-soon:{due.enrolment_id}:{due.due_on.isoformat()}",
                kind="due-soon",
                person_id=due.person_id,
                to="",
                subject=f"Due {_due_in(days)}: {due.title}",
                body=body + FOOTER,
            )
        )
    for due in late:
        days = (today - due.due_on).days
        p = progress[due.enrolment_id]
        url = _link(link, "enrolment", enrolment_id=due.enrolment_id, path_code=due.path_code)
        body = (
            f"Hello {due.first_name},\n\n"
            f"Your learning path “{due.title}” ({due.path_code}) was due on "
            f"{long_date(due.due_on)} and is now {days} day{'s' if days != 1 else ''} "
            f"overdue. You have completed {p.done} of {p.total} required modules.\n\n"
            f"What to do: open the path and complete the remaining modules:\n{url}\n\n"
            "Your line manager can see overdue learning; if the due date no longer fits, "
            "agree a new one with them."
        )
        out.append(
            Reminder(
                key=f"overdue:{due.enrolment_id}:{week_of(today)}",
                kind="overdue",
                person_id=due.person_id,
                to="",
                subject=f"Overdue: {due.title} (was due {due.due_on:%d %b %Y})",
                body=body + FOOTER,
            )
        )
    return out


def _module_titles(session: Session, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """(path id, module code) -> the module's title in the newest version that has it."""
    if not pairs:
        return {}
    rows = session.execute(
        select(PathVersion.path_id, PathModule.code, PathModule.title)
        .join(PathVersion, PathVersion.id == PathModule.version_id)
        .where(
            PathVersion.path_id.in_(sorted({p for p, _ in pairs})),
            PathModule.code.in_(sorted({c for _, c in pairs})),
        )
        .order_by(PathVersion.number)
    )
    return {(path_id, code): title for path_id, code, title in rows}


def _session_messages(session: Session, today: date, link: LinkBuilder) -> list[Reminder]:
    start = clock.start_of(today)
    end = clock.start_of(today + timedelta(days=SESSION_DAYS + 1))
    rows = session.execute(
        select(Booking.id, Booking.person_id, Person.first_name, ClassSession)
        .join(ClassSession, ClassSession.id == Booking.session_id)
        .join(Person, Person.id == Booking.person_id)
        .where(
            Booking.status == BookingStatus.BOOKED,
            ClassSession.cancelled_at.is_(None),
            ClassSession.starts_at >= start,
            ClassSession.starts_at < end,
            Person.active.is_(True),
        )
        .order_by(ClassSession.starts_at, Booking.id)
    ).all()
    titles = _module_titles(session, {(s.path_id, s.module_code) for *_, s in rows})
    out = []
    for booking_id, person_id, first_name, sitting in rows:
        title = titles.get((sitting.path_id, sitting.module_code), sitting.module_code)
        when = f"{sitting.starts_at:%A} {sitting.starts_at.day} {sitting.starts_at:%B %Y}"
        hours = f"{sitting.starts_at:%H:%M}–{sitting.ends_at:%H:%M}"
        where = "\n".join(
            line
            for line in (
                f"Place: {sitting.location}" if sitting.location else "",
                f"Join online: {sitting.link}" if sitting.link else "",
            )
            if line
        )
        url = _link(link, "session", session_id=sitting.id)
        body = (
            f"Hello {first_name},\n\n"
            f"You are booked on “{title}” ({sitting.module_code}) on {when}, {hours}.\n"
            + (f"{where}\n" if where else "")
            + "\nWhat to do: come along on time. If you can no longer attend, cancel your "
            f"booking so that someone on the waiting list can take your place:\n{url}"
        )
        out.append(
            Reminder(
                key=f"session:{booking_id}:{sitting.starts_at:%Y-%m-%dT%H:%M}",
                kind="session",
                person_id=person_id,
                to="",
                subject=f"Reminder: {title} on {sitting.starts_at:%a %d %b} at "
                f"{sitting.starts_at:%H:%M}",
                body=body + FOOTER,
            )
        )
    return out


def _expiry_messages(session: Session, today: date, link: LinkBuilder) -> list[Reminder]:
    rows = session.execute(
        select(ExternalCertificate, Person.first_name)
        .join(Person, Person.id == ExternalCertificate.person_id)
        .where(
            ExternalCertificate.status == ExternalStatus.VERIFIED,
            ExternalCertificate.expires_on >= today,
            ExternalCertificate.expires_on <= today + timedelta(days=EXPIRY_DAYS),
            Person.active.is_(True),
        )
        .order_by(ExternalCertificate.expires_on, ExternalCertificate.id)
    ).all()
    if not rows:
        return []
    names = catalogue_names(session)
    url = _link(link, "external")
    out = []
    for record, first_name in rows:
        expires_on = record.expires_on
        if expires_on is None:  # the query keeps only records with one
            continue
        name = record.other_name or names.get(record.certificate_code or "", "")
        name = name or record.certificate_code or "certificate"
        days = (expires_on - today).days
        body = (
            f"Hello {first_name},\n\n"
            f"Your {name} certificate"
            + (f" (number {record.number})" if record.number else "")
            + f" expires on {long_date(expires_on)}, in {days} day"
            f"{'s' if days != 1 else ''}. After that date it no longer counts as evidence "
            "of your competencies.\n\n"
            "What to do: renew it with its issuer, then record the renewed certificate "
            f"(with its new expiry date and a copy) so that a training specialist can "
            f"verify it:\n{url}"
        )
        out.append(
            Reminder(
                key=f"expiring:{record.id}:{expires_on.isoformat()}",
                kind="expiring",
                person_id=record.person_id,
                to="",
                subject=f"Your {name} certificate expires on {expires_on:%d %b %Y}",
                body=body + FOOTER,
            )
        )
    return out


# --- the managers' digest ---------------------------------------------------------------------


def _managers(session: Session) -> list[tuple[int, str]]:
    """(person id, first name) of every active manager account's active person."""
    return [
        (person_id, first_name)
        for person_id, first_name in session.execute(
            select(Person.id, Person.first_name)
            .join(User, User.person_id == Person.id)
            .join(UserPermission, UserPermission.user_id == User.id)
            .where(
                UserPermission.permission == Permission.MANAGER,
                User.active.is_(True),
                Person.active.is_(True),
            )
            .order_by(Person.id)
        )
    ]


def _overdue_of(session: Session, manager_id: int, today: date) -> list[int]:
    """Ids of the overdue enrolments of the people ``manager_id`` manages (the same reach
    as the manager's pages: their units' subtrees and reporting line), not their own."""
    return list(
        session.scalars(
            select(Enrolment.id)
            .join(Person, Person.id == Enrolment.person_id)
            .where(
                *ACTIVE_WITH_DUE_DATE,
                Enrolment.due_on < today,
                Enrolment.person_id != manager_id,
                Enrolment.person_id.in_(managed_people_ids(manager_id)),
            )
        )
    )


def _digest_messages(session: Session, today: date, link: LinkBuilder) -> list[Reminder]:
    late = {d.enrolment_id: d for d in _enrolments(session, since=None, before=today)}
    if not late:
        return []
    url = _link(link, "team")
    out = []
    for manager_id, first_name in _managers(session):
        theirs = sorted(
            (late[i] for i in _overdue_of(session, manager_id, today) if i in late),
            key=lambda d: (d.last_name, d.first_name, d.person_id, d.due_on, d.enrolment_id),
        )
        if not theirs:
            continue
        lines = []
        for due in theirs:
            days = (today - due.due_on).days
            lines.append(
                f"- {due.full_name}: {due.title} ({due.path_code}), due "
                f"{due.due_on:%d %b %Y}, {days} day{'s' if days != 1 else ''} overdue"
            )
        n = len(theirs)
        body = (
            f"Hello {first_name},\n\n"
            f"{n} learning enrolment{'s are' if n != 1 else ' is'} overdue among your "
            f"people as of {long_date(today)}:\n\n" + "\n".join(lines) + "\n\n"
            "What to do: check in with each person, help them make time to finish, or "
            f"agree a new due date. Your team's learning:\n{url}"
        )
        out.append(
            Reminder(
                key=f"digest:{manager_id}:{week_of(today)}",
                kind="digest",
                person_id=manager_id,
                to="",
                subject=f"Overdue learning in your team: {n} enrolment{'s' if n != 1 else ''}",
                body=body + FOOTER,
            )
        )
    return out


# --- the plan and the log ---------------------------------------------------------------------


def _logged(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(session.scalars(select(ReminderLog.key).where(ReminderLog.key.in_(chunk))))
    return found


def plan(session: Session, *, today: date, link: LinkBuilder) -> Plan:
    """What is due to be sent on ``today`` and not sent yet (see the module docstring).
    ``link`` builds the absolute links the messages carry. Reads only."""
    due = (
        _enrolment_messages(session, today, link)
        + _session_messages(session, today, link)
        + _expiry_messages(session, today, link)
        + _digest_messages(session, today, link)
    )
    result = Plan()
    sent = _logged(session, [r.key for r in due])
    addresses = _mail_addresses(session, (r.person_id for r in due))
    for reminder in due:
        if reminder.key in sent:
            result.already_sent += 1
            continue
        to = addresses.get(reminder.person_id)
        if not to:
            result.skipped_people.add(reminder.person_id)
            continue
        result.reminders.append(replace(reminder, to=to))
    return result


def record_sent(session: Session, reminder: Reminder) -> ReminderLog:
    """Log a message the mail server accepted, so it is never sent again."""
    row = ReminderLog(
        key=reminder.key,
        kind=reminder.kind,
        recipient=reminder.to,
        person_id=reminder.person_id,
        subject=reminder.subject[:200],
        sent_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row
