"""Classroom and workshop sessions: scheduling, booking (with a waiting list), attendance,
and the iCalendar invitation.

A session belongs to a module of a path by the module's stable code, so it serves learners
on every version of the path. Times are entered in the organisation's time zone and stored
in UTC. Capacity holds under concurrent bookings: booking, cancelling and changing the
capacity first lock the session's row (a no-op UPDATE: a row lock on PostgreSQL, the write
lock on SQLite), then count the places taken in the same transaction; booking holds the
learner's enrolment before that, so that one learner's simultaneous bookings give one place.
A cancelled place goes to the first person on the waiting list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import clock
from app.dates import RANGE_TEXT, in_range
from app.errors import DomainError
from app.learning.enrolment import published_version
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    Enrolment,
    EnrolmentStatus,
    PathModule,
)
from app.learning.progress import (
    TAUGHT,
    complete_by_attendance,
    completed_codes,
    module_of,
    unmet_requirements,
)

#: The time zone session times are entered and shown in when PMO_TIMEZONE is not set.
DEFAULT_ZONE = "Europe/London"
MAX_CAPACITY = 500
LIVE = (BookingStatus.BOOKED, BookingStatus.WAITLISTED)


# --- scheduling ------------------------------------------------------------------------------


@dataclass
class SessionData:
    path_id: int | None
    module_code: str
    day: date | None
    starts: time | None
    ends: time | None
    location: str = ""
    link: str | None = None
    capacity: int | None = None
    notes: str = ""


def taught_module(session: Session, path_id: int | None, module_code: str) -> PathModule:
    """The classroom or workshop module of the path's published version with this code."""
    version = published_version(session, path_id) if path_id is not None else None
    module = next((m for m in version.modules if m.code == module_code), None) if version else None
    if module is None or module.type not in TAUGHT:
        raise DomainError("Choose a classroom or workshop module.", field="module")
    return module


def _check_link(link: str | None) -> str | None:
    if not link or not link.strip():
        return None
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DomainError("Give a web address starting with http:// or https://.", field="link")
    return link.strip()


def _times(data: SessionData, zone: str) -> tuple[datetime, datetime]:
    if data.day is None or not in_range(data.day):
        raise DomainError(f"Give the session's date, {RANGE_TEXT}.", field="day")
    if data.starts is None:
        raise DomainError("Give the start time.", field="starts")
    if data.ends is None:
        raise DomainError("Give the end time.", field="ends")
    if data.ends <= data.starts:
        raise DomainError("The session must end after it starts.", field="ends")
    tz = ZoneInfo(zone)
    starts = datetime.combine(data.day, data.starts, tzinfo=tz).astimezone(UTC)
    ends = datetime.combine(data.day, data.ends, tzinfo=tz).astimezone(UTC)
    return starts, ends


def _lock(session: Session, class_session: ClassSession) -> None:
    """Hold the session's row until commit, then read it afresh (see the module docstring)."""
    session.execute(
        update(ClassSession)
        .where(ClassSession.id == class_session.id)
        .values(capacity=ClassSession.capacity)
        .execution_options(synchronize_session=False)
    )
    session.refresh(class_session)


def _hold(session: Session, enrolment: Enrolment) -> None:
    """Hold the enrolment's row until commit (a no-op UPDATE), then read it afresh."""
    session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id)
        .values(status=Enrolment.status)
        .execution_options(synchronize_session=False)
    )
    session.refresh(enrolment)


def _taken(session: Session, class_session: ClassSession) -> int:
    return (
        session.scalar(
            select(func.count(Booking.id)).where(
                Booking.session_id == class_session.id, Booking.status == BookingStatus.BOOKED
            )
        )
        or 0
    )


def _promote(session: Session, class_session: ClassSession) -> list[Booking]:
    """Give free places to the waiting list, first come first served (lock held)."""
    free = class_session.capacity - _taken(session, class_session)
    if free <= 0:
        return []
    waiting = list(
        session.scalars(
            select(Booking)
            .where(
                Booking.session_id == class_session.id,
                Booking.status == BookingStatus.WAITLISTED,
            )
            .order_by(Booking.booked_at, Booking.id)
            .limit(free)
        )
    )
    for booking in waiting:
        booking.status = BookingStatus.BOOKED
    session.flush()
    return waiting


def save_session(
    session: Session,
    data: SessionData,
    *,
    zone: str,
    actor_id: int,
    now: datetime,
    class_session: ClassSession | None = None,
) -> ClassSession:
    """Schedule a session of a classroom or workshop module (or change one): date, start
    and end time (in ``zone``), a place or an online link (or both), capacity and notes.
    Raising the capacity gives the new places to the waiting list; it cannot drop below the
    places already booked. Refuses a time in the past and a cancelled session."""
    if class_session is not None and class_session.cancelled_at is not None:
        raise DomainError("This session was cancelled; schedule a new one instead.")
    module = (
        taught_module(session, data.path_id, data.module_code) if class_session is None else None
    )
    starts, ends = _times(data, zone)
    if starts <= now and (class_session is None or starts != class_session.starts_at):
        raise DomainError("Choose a date and time in the future.", field="day")
    location = (data.location or "").strip()
    link = _check_link(data.link)
    if not location and not link:
        raise DomainError("Give the place, the online link, or both.", field="location")
    capacity = data.capacity
    if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
        raise DomainError(f"Give a capacity from 1 to {MAX_CAPACITY}.", field="capacity")
    if class_session is None:
        assert module is not None
        class_session = ClassSession(
            path_id=module.version.path_id,
            module_code=module.code,
            trainer_id=actor_id,
            created_by_id=actor_id,
            capacity=capacity,
        )
        session.add(class_session)
    else:
        _lock(session, class_session)
        booked = _taken(session, class_session)
        if capacity < booked:
            raise DomainError(
                f"{booked} people are booked; the capacity cannot be lower than that.",
                field="capacity",
            )
    class_session.starts_at, class_session.ends_at = starts, ends
    class_session.location, class_session.link = location, link
    class_session.capacity = capacity
    class_session.notes = (data.notes or "").strip()
    session.flush()
    _promote(session, class_session)
    return class_session


def cancel_session(session: Session, *, class_session: ClassSession, now: datetime) -> int:
    """Cancel a session that has not started; its bookings stay on record (the session
    shows as cancelled to those booked). Returns how many were booked or waiting."""
    _lock(session, class_session)
    if class_session.cancelled_at is not None:
        raise DomainError("This session is already cancelled.")
    if class_session.starts_at <= now:
        raise DomainError("This session has already started; it cannot be cancelled.")
    class_session.cancelled_at = now
    session.flush()
    return sum(1 for b in class_session.bookings if b.status in LIVE)


# --- booking -----------------------------------------------------------------------------------


def _enrolment_for(session: Session, class_session: ClassSession, person_id: int) -> Enrolment:
    enrolment = session.scalar(
        select(Enrolment).where(
            Enrolment.person_id == person_id,
            Enrolment.path_id == class_session.path_id,
            Enrolment.status != EnrolmentStatus.WITHDRAWN,
        )
    )
    if enrolment is None:
        raise DomainError("Enrol on the path before booking its sessions.")
    return enrolment


def _other_booking(
    session: Session, class_session: ClassSession, person_id: int, now: datetime
) -> ClassSession | None:
    """Another upcoming session of the same module the person is booked or waiting on."""
    return session.scalar(
        select(ClassSession)
        .join(Booking, Booking.session_id == ClassSession.id)
        .where(
            Booking.person_id == person_id,
            Booking.status.in_(LIVE),
            ClassSession.id != class_session.id,
            ClassSession.path_id == class_session.path_id,
            ClassSession.module_code == class_session.module_code,
            ClassSession.cancelled_at.is_(None),
            ClassSession.starts_at > now,
        )
        .limit(1)
    )


def book(
    session: Session, *, class_session: ClassSession, person_id: int, now: datetime
) -> Booking:
    """Book the learner a place, or put them on the waiting list when the session is full.

    Refused when the session is cancelled or has started, the learner is not enrolled on
    the path, has completed the module, has not completed the modules it requires, or is
    already booked on this or another upcoming session of the module.
    """
    enrolment = _enrolment_for(session, class_session, person_id)
    # Hold the learner's enrolment, then the session, until commit (see the module
    # docstring), and check everything after: two simultaneous bookings of one learner (on
    # this session or another of the module) run one after the other, and the places are
    # counted with no other booking of this session in between.
    _hold(session, enrolment)
    _lock(session, class_session)
    if class_session.cancelled_at is not None:
        raise DomainError("This session was cancelled.")
    if class_session.starts_at <= now:
        raise DomainError("This session has already started.")
    module = module_of(enrolment, class_session.module_code)
    done = completed_codes(session, enrolment.id)
    if module.code in done:
        raise DomainError(f"You have already completed {module.title}.")
    unmet = unmet_requirements(module, done)
    if unmet:
        titles = [m.title for m in enrolment.version.modules if m.code in unmet]
        raise DomainError("Complete " + " and ".join(titles) + " before booking this session.")
    other = _other_booking(session, class_session, person_id, now)
    if other is not None:
        raise DomainError(
            "You already have a place on another session of this module; cancel that first."
        )
    booking = session.scalar(
        select(Booking).where(
            Booking.session_id == class_session.id, Booking.person_id == person_id
        )
    )
    if booking is not None and booking.status in LIVE:
        raise DomainError("You are already booked on this session.")
    status = (
        BookingStatus.BOOKED
        if _taken(session, class_session) < class_session.capacity
        else BookingStatus.WAITLISTED
    )
    if booking is None:
        booking = Booking(session_id=class_session.id, person_id=person_id)
        session.add(booking)
    booking.status, booking.booked_at, booking.cancelled_at = status, now, None
    booking.attended = None
    session.flush()
    return booking


def cancel_booking(
    session: Session, *, class_session: ClassSession, person_id: int, now: datetime
) -> list[Booking]:
    """Cancel the learner's place (or their place on the waiting list) before the session
    starts. A freed place goes to the first person waiting; returns those promoted. Once:
    the session is held first, so of two simultaneous cancellations one cancels and the
    other is told there is no booking."""
    _lock(session, class_session)
    booking = session.scalar(
        select(Booking).where(
            Booking.session_id == class_session.id,
            Booking.person_id == person_id,
            Booking.status.in_(LIVE),
        )
    )
    if booking is None:
        raise DomainError("You have no booking on this session.")
    if class_session.starts_at <= now:
        raise DomainError("This session has already started.")
    booking.status, booking.cancelled_at = BookingStatus.CANCELLED, now
    session.flush()
    return _promote(session, class_session) if class_session.cancelled_at is None else []


# --- attendance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendance:
    attended: int
    absent: int
    #: Learners whose module was completed by this record.
    completed: int


def record_attendance(
    session: Session,
    *,
    class_session: ClassSession,
    attended_booking_ids: set[int],
    actor_id: int,
    now: datetime,
) -> Attendance:
    """Record who came, for the whole session at once: each booked learner attended (in
    ``attended_booking_ids``) or not. Attending completes the module for the learner's
    enrolment (method attendance). Recording again corrects the register; a module already
    completed stays complete."""
    if class_session.cancelled_at is not None:
        raise DomainError("This session was cancelled.")
    if class_session.starts_at > now:
        raise DomainError("Attendance can be recorded once the session has started.")
    booked = [b for b in class_session.bookings if b.status == BookingStatus.BOOKED]
    unknown = attended_booking_ids - {b.id for b in booked}
    if unknown:
        raise DomainError("Tick only people booked on this session.", field="attended")
    on = clock.day_of(class_session.starts_at)
    completed = 0
    for booking in booked:
        booking.attended = booking.id in attended_booking_ids
        if not booking.attended:
            continue
        enrolment = session.scalar(
            select(Enrolment).where(
                Enrolment.person_id == booking.person_id,
                Enrolment.path_id == class_session.path_id,
            )
        )
        if enrolment is None or not any(
            m.code == class_session.module_code for m in enrolment.version.modules
        ):
            continue
        done = complete_by_attendance(
            session,
            enrolment=enrolment,
            module_code=class_session.module_code,
            on=on,
            actor_id=actor_id,
        )
        completed += done is not None
    class_session.attendance_recorded_at = now
    session.flush()
    attended = sum(1 for b in booked if b.attended)
    return Attendance(attended=attended, absent=len(booked) - attended, completed=completed)


# --- the iCalendar invitation ----------------------------------------------------------------


def calendar_invite(
    *,
    uid: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str,
    url: str,
    description: str,
    cancelled: bool,
    stamp: datetime,
) -> bytes:
    """An iCalendar file (RFC 5545) with the one event: times in UTC, a UID that stays the
    same for the session (so a calendar updates the event rather than adding another), the
    place and the link."""
    calendar = Calendar()
    calendar.add("prodid", "-//PMO Pathways//Learning sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", title)
    if location:
        event.add("location", location)
    event.add("url", url)
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()
