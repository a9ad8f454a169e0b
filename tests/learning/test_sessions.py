"""Classroom and workshop sessions: scheduling (times entered in the organisation's zone,
stored in UTC), booking with a waiting list that holds its capacity under concurrent
bookings, cancellations promoting the first waiting person, attendance for the whole
session completing the module, and the iCalendar invitation."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.capability.models import Evidence
from app.errors import DomainError
from app.extensions import db
from app.framework.models import Source
from app.learning import enrolment as enrolling
from app.learning import sessions as scheduling
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionMethod,
    ModuleCompletion,
    ModuleType,
)
from tests.factories import make_person, make_user
from tests.learning.factories import M, make_path
from tests.learning.test_progress import framework  # noqa: F401  (a fixture)

ZONE = "Europe/London"
NOW = datetime.now(UTC)
DAY = (NOW + timedelta(days=21)).date()


def schedule(version, code=None, *, capacity=2, day=DAY, starts=time(9, 30), ends=time(12), **kw):
    data = scheduling.SessionData(
        path_id=version.path_id,
        module_code=code or version.modules[0].code,
        day=day,
        starts=starts,
        ends=ends,
        location=kw.pop("location", "Harbour House, room 4.12"),
        link=kw.pop("link", None),
        capacity=capacity,
        notes=kw.pop("notes", "Bring last month's dashboard."),
    )
    trainer = kw.pop("trainer", None) or make_user(Permission.TRAINER)
    return scheduling.save_session(
        db.session, data, zone=ZONE, actor_id=trainer.id, now=kw.pop("now", NOW), **kw
    )


def learner_on(version):
    person = make_person()
    enrolling.enrol_person(
        db.session,
        person_id=person.id,
        path_id=version.path_id,
        due_on=date.today() + timedelta(days=60),
        actor_id=None,
        today=date.today(),
    )
    return person


def book(class_session, person, now=NOW):
    return scheduling.book(db.session, class_session=class_session, person_id=person.id, now=now)


@pytest.fixture
def workshop(session):
    return make_path(
        M(title="Reading the portfolio"),
        M(type=ModuleType.WORKSHOP, title="Prioritisation clinic", evidences={"GOV-05": 2}),
        M(type=ModuleType.CLASSROOM, title="Open classroom"),
        code="WKS",
        title="Portfolio practice",
    )


# --- scheduling ------------------------------------------------------------------------------


def test_times_are_entered_in_the_organisations_zone_and_stored_in_utc(session, workshop):
    summer = date(NOW.year + 1, 7, 14)
    made = schedule(workshop, "WKS-02", day=summer, starts=time(9, 30), ends=time(12, 0))
    session.commit()
    session.expire_all()
    stored = session.get(ClassSession, made.id)
    assert stored.starts_at == datetime(summer.year, 7, 14, 8, 30, tzinfo=UTC)  # BST is UTC+1
    assert stored.ends_at == datetime(summer.year, 7, 14, 11, 0, tzinfo=UTC)
    assert (stored.module_code, stored.capacity, stored.location) == (
        "WKS-02",
        2,
        "Harbour House, room 4.12",
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "WKS-01"}, "module", "Choose a classroom or workshop module."),
        ({"day": NOW.date() - timedelta(days=1)}, "day", "in the future"),
        ({"starts": time(12), "ends": time(11)}, "ends", "end after it starts"),
        ({"location": "", "link": None}, "location", "the place, the online link, or both"),
        ({"link": "teams://meeting"}, "link", "http:// or https://"),
        ({"capacity": 0}, "capacity", "from 1 to 500"),
    ],
)
def test_a_session_needs_a_taught_module_a_future_time_a_place_and_a_capacity(
    session, workshop, overrides, field, message
):
    overrides = dict(overrides)  # the parameters are shared by both database backends
    code = overrides.pop("code", "WKS-02")
    with pytest.raises(DomainError, match=message) as caught:
        schedule(workshop, code, **overrides)
    assert caught.value.field == field
    assert session.scalar(select(func.count(ClassSession.id))) == 0


def test_an_online_session_needs_only_its_link(session, workshop):
    made = schedule(workshop, "WKS-03", location="", link="https://teams.example/learning")
    assert made.link == "https://teams.example/learning" and made.location == ""


# --- booking and the waiting list ---------------------------------------------------------------


def test_a_full_session_puts_learners_on_the_waiting_list(session, workshop):
    sitting = schedule(workshop, "WKS-02", capacity=2)
    a, b, c = (learner_on(workshop) for _ in range(3))
    statuses = [book(sitting, p).status for p in (a, b, c)]
    assert statuses == [BookingStatus.BOOKED, BookingStatus.BOOKED, BookingStatus.WAITLISTED]


def test_a_cancellation_promotes_the_first_person_waiting(session, workshop):
    sitting = schedule(workshop, "WKS-02", capacity=1)
    first, second, third = (learner_on(workshop) for _ in range(3))
    book(sitting, first)
    book(sitting, second, NOW + timedelta(seconds=1))
    book(sitting, third, NOW + timedelta(seconds=2))
    promoted = scheduling.cancel_booking(
        session, class_session=sitting, person_id=first.id, now=NOW + timedelta(seconds=3)
    )
    assert [b.person_id for b in promoted] == [second.id]
    session.expire_all()
    by_person = {b.person_id: b.status for b in session.scalars(select(Booking))}
    assert by_person == {
        first.id: BookingStatus.CANCELLED,
        second.id: BookingStatus.BOOKED,
        third.id: BookingStatus.WAITLISTED,
    }
    # a waiting person cancelling frees nothing
    assert (
        scheduling.cancel_booking(session, class_session=sitting, person_id=third.id, now=NOW) == []
    )


def test_booking_again_after_cancelling_reuses_the_booking(session, workshop):
    sitting = schedule(workshop, "WKS-02")
    person = learner_on(workshop)
    book(sitting, person)
    scheduling.cancel_booking(session, class_session=sitting, person_id=person.id, now=NOW)
    again = book(sitting, person)
    assert again.status == BookingStatus.BOOKED
    assert session.scalar(select(func.count(Booking.id))) == 1


def test_only_learners_enrolled_on_the_path_book(session, workshop):
    sitting = schedule(workshop, "WKS-02")
    stranger = make_person()
    with pytest.raises(DomainError, match="Enrol on the path before booking"):
        book(sitting, stranger)


def test_a_locked_module_cannot_be_booked(session):
    version = make_path(
        M(title="Basics"), M(type=ModuleType.CLASSROOM, requires=["LCK-01"]), code="LCK"
    )
    sitting = schedule(version, "LCK-02")
    person = learner_on(version)
    with pytest.raises(DomainError, match="Complete Basics before booking"):
        book(sitting, person)


def test_one_place_per_module_at_a_time(session, workshop):
    first = schedule(workshop, "WKS-02")
    second = schedule(workshop, "WKS-02", day=DAY + timedelta(days=7))
    person = learner_on(workshop)
    book(first, person)
    with pytest.raises(DomainError, match="already booked on this session"):
        book(first, person)
    with pytest.raises(DomainError, match="another session of this module"):
        book(second, person)


def test_a_cancelled_or_started_session_takes_no_bookings(session, workshop):
    sitting = schedule(workshop, "WKS-02")
    person = learner_on(workshop)
    with pytest.raises(DomainError, match="already started"):
        book(sitting, person, now=sitting.starts_at + timedelta(minutes=1))
    scheduling.cancel_session(session, class_session=sitting, now=NOW)
    with pytest.raises(DomainError, match="was cancelled"):
        book(sitting, person)


def test_capacity_cannot_drop_below_the_places_booked_and_raising_it_promotes(session, workshop):
    trainer = make_user(Permission.TRAINER)
    sitting = schedule(workshop, "WKS-02", capacity=1, trainer=trainer)
    a, b = learner_on(workshop), learner_on(workshop)
    book(sitting, a)
    book(sitting, b)
    data = scheduling.SessionData(
        path_id=None, module_code="", day=DAY, starts=time(9, 30), ends=time(12),
        location="Room 2", capacity=2,
    )  # fmt: skip
    scheduling.save_session(
        session, data, zone=ZONE, actor_id=trainer.id, now=NOW, class_session=sitting
    )
    session.expire_all()
    assert {b.status for b in session.scalars(select(Booking))} == {BookingStatus.BOOKED}
    data.capacity = 1
    with pytest.raises(DomainError, match="2 people are booked") as caught:
        scheduling.save_session(
            session, data, zone=ZONE, actor_id=trainer.id, now=NOW, class_session=sitting
        )
    assert caught.value.field == "capacity"


def test_capacity_holds_when_two_learners_book_the_last_place_at_once(app, workshop, monkeypatch):
    """Each booking waits (up to half a second) after counting the places taken, for the
    other to count too: without the lock both would count 0 and both get the last place.
    With it the second waits for the first to commit, then counts 1."""
    sitting = schedule(workshop, "WKS-02", capacity=1)
    people = [learner_on(workshop).id for _ in range(2)]
    db.session.commit()
    session_id = sitting.id
    start, counted = threading.Barrier(2), threading.Barrier(2, timeout=0.5)
    count_taken = scheduling._taken

    def slow_count(session, class_session):
        taken = count_taken(session, class_session)
        try:
            counted.wait()
        except threading.BrokenBarrierError:
            pass
        return taken

    monkeypatch.setattr(scheduling, "_taken", slow_count)
    errors: list[BaseException] = []

    def attempt(person_id: int):
        with app.app_context():
            try:
                mine = db.session.get(ClassSession, session_id)
                start.wait()
                scheduling.book(db.session, class_session=mine, person_id=person_id, now=NOW)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001  (reported below)
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    statuses = sorted(s.value for s in db.session.scalars(select(Booking.status)))
    assert statuses == ["booked", "waitlisted"]


def test_capacity_is_counted_afresh_not_from_what_the_caller_loaded(session, workshop):
    sitting = schedule(workshop, "WKS-02", capacity=2)
    a, b = learner_on(workshop), learner_on(workshop)
    session.commit()
    # someone else takes a place and the capacity drops to 1 after our copy was loaded
    stale = session.get(ClassSession, sitting.id)
    session.execute(
        ClassSession.__table__.update().where(ClassSession.id == sitting.id).values(capacity=1)
    )
    session.add(Booking(session_id=sitting.id, person_id=a.id, status=BookingStatus.BOOKED))
    session.flush()
    assert stale.capacity == 2  # what the caller believes
    assert book(stale, b).status == BookingStatus.WAITLISTED


# --- attendance ---------------------------------------------------------------------------------


def test_attendance_is_recorded_for_the_whole_session_and_completes_the_module(
    session,
    workshop,
    framework,  # noqa: F811
):
    trainer = make_user(Permission.TRAINER)
    sitting = schedule(workshop, "WKS-02", capacity=3, trainer=trainer)
    came, missed = learner_on(workshop), learner_on(workshop)
    waiting = [book(sitting, p) for p in (came, missed)]
    with pytest.raises(DomainError, match="once the session has started"):
        scheduling.record_attendance(
            session, class_session=sitting, attended_booking_ids=set(), actor_id=trainer.id, now=NOW
        )
    later = sitting.ends_at + timedelta(hours=1)
    outcome = scheduling.record_attendance(
        session,
        class_session=sitting,
        attended_booking_ids={waiting[0].id},
        actor_id=trainer.id,
        now=later,
    )
    session.commit()
    assert (outcome.attended, outcome.absent, outcome.completed) == (1, 1, 1)
    session.expire_all()
    assert {b.person_id: b.attended for b in session.scalars(select(Booking))} == {
        came.id: True,
        missed.id: False,
    }
    completion = session.scalars(select(ModuleCompletion)).one()
    assert (completion.module_code, completion.method) == ("WKS-02", CompletionMethod.ATTENDANCE)
    evidence = session.scalars(select(Evidence)).one()
    assert (evidence.person_id, evidence.competency_code, evidence.source, evidence.level) == (
        came.id,
        "GOV-05",
        Source.MODULE_COMPLETION,
        2,
    )
    assert session.get(ClassSession, sitting.id).attendance_recorded_at is not None
    # correcting the register: both came; the first keeps their one completion
    again = scheduling.record_attendance(
        session,
        class_session=sitting,
        attended_booking_ids={w.id for w in waiting},
        actor_id=trainer.id,
        now=later,
    )
    assert (again.attended, again.completed) == (2, 1)
    assert session.scalar(select(func.count(ModuleCompletion.id))) == 2


def test_only_booked_people_can_be_ticked(session, workshop):
    trainer = make_user(Permission.TRAINER)
    sitting = schedule(workshop, "WKS-02", capacity=1, trainer=trainer)
    booked, waiting = learner_on(workshop), learner_on(workshop)
    book(sitting, booked)
    waitlisted = book(sitting, waiting)
    with pytest.raises(DomainError, match="Tick only people booked"):
        scheduling.record_attendance(
            session,
            class_session=sitting,
            attended_booking_ids={waitlisted.id},
            actor_id=trainer.id,
            now=sitting.ends_at,
        )


# --- the calendar invitation --------------------------------------------------------------------


def test_the_invitation_has_a_stable_uid_utc_times_the_place_and_the_link():
    starts = datetime(2026, 7, 14, 8, 30, tzinfo=UTC)
    body = scheduling.calendar_invite(
        uid="learning-session-7@pathways.example",
        title="Prioritisation clinic (Portfolio practice)",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2, minutes=30),
        location="Harbour House, room 4.12",
        url="https://pathways.example/learning/sessions/7",
        description="Bring last month's dashboard.",
        cancelled=False,
        stamp=datetime(2026, 6, 1, tzinfo=UTC),
    )
    text = body.decode()
    assert "DTSTART:20260714T083000Z" in text and "DTEND:20260714T110000Z" in text
    assert "UID:learning-session-7@pathways.example" in text
    event = Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["location"]) == "Harbour House, room 4.12"
    assert str(event["url"]) == "https://pathways.example/learning/sessions/7"
    assert str(event["status"]) == "CONFIRMED"
