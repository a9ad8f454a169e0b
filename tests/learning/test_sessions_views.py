"""Session pages through HTTP: a trainer schedules, edits and cancels sessions; a learner
books from their path page (or joins the waiting list), downloads the invitation, cancels;
the trainer records attendance for the whole session at once and the learner's module is
complete. CSRF protection stays on."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.extensions import db
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
from tests.learning.test_learner_views import csrf, flashes, post

TODAY = date.today()
NOW = datetime.now(UTC)


class World:
    def __init__(self, session):
        self.trainer = make_user(Permission.TRAINER, person=make_person("Tia", "Trainer"))
        self.lee = make_person("Lee", "Learner")
        self.learner = make_user(Permission.LEARNER, person=self.lee)
        self.kim = make_person("Kim", "Keen")
        self.kim_user = make_user(Permission.LEARNER, person=self.kim)
        self.path = make_path(
            M(title="Portfolio basics"),
            M(type=ModuleType.WORKSHOP, title="Prioritisation clinic"),
            code="WKV",
            title="Portfolio practice",
        )
        for person in (self.lee, self.kim):
            enrolling.enrol_person(
                session,
                person_id=person.id,
                path_id=self.path.path_id,
                due_on=TODAY + timedelta(days=60),
                actor_id=self.trainer.id,
                today=TODAY,
            )
        session.commit()

    def sitting(self, *, capacity=8, days=14, now=NOW) -> ClassSession:
        made = scheduling.save_session(
            db.session,
            scheduling.SessionData(
                path_id=self.path.path_id,
                module_code="WKV-02",
                day=TODAY + timedelta(days=days),
                starts=time(9, 30),
                ends=time(12, 0),
                location="Harbour House, room 4.12",
                link="https://teams.example/clinic",
                capacity=capacity,
                notes="Bring your pipeline.",
            ),
            zone="Europe/London",
            actor_id=self.trainer.id,
            now=now,
        )
        db.session.commit()
        return made


@pytest.fixture
def world(session) -> World:
    return World(session)


def test_a_trainer_schedules_a_session(client, login, world):
    login(world.trainer)
    day = TODAY + timedelta(days=20)
    form = "/learning/sessions/new"
    page = client.get(form)
    assert "Portfolio practice — WKV-02 Prioritisation clinic (workshop)" in page.text
    assert "WKV-01" not in page.text  # e-learning modules have no sessions
    response = post(
        client,
        form,
        {
            "module": f"{world.path.path_id}:WKV-02",
            "day": day.isoformat(),
            "starts": "09:30",
            "ends": "12:00",
            "location": "Harbour House, room 4.12",
            "link": "",
            "capacity": "12",
            "notes": "Bring your pipeline.",
        },
        token_from=form,
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Session saved." in flashes(response.text)
    stored = db.session.scalars(select(ClassSession)).one()
    assert (stored.module_code, stored.capacity) == ("WKV-02", 12)
    assert stored.starts_at.tzinfo is not None and stored.ends_at > stored.starts_at


def test_a_session_form_error_shows_at_its_field_and_saves_nothing(client, login, world):
    login(world.trainer)
    form = "/learning/sessions/new"
    response = post(
        client,
        form,
        {
            "module": f"{world.path.path_id}:WKV-02",
            "day": (TODAY + timedelta(days=20)).isoformat(),
            "starts": "12:00",
            "ends": "11:00",
            "location": "Room 1",
            "capacity": "5",
        },
        token_from=form,
    )
    assert response.status_code == 400
    assert "The session must end after it starts." in response.text
    assert db.session.scalar(select(func.count(ClassSession.id))) == 0


def test_a_learner_books_from_the_path_page_and_downloads_the_invitation(client, login, world):
    sitting = world.sitting()
    login(world.learner)
    my = client.get("/learning")
    path_url = re.search(r'href="(/learning/enrolments/\d+)"', my.text).group(1)
    page = client.get(path_url)
    assert "Book a place" in page.text and "8 of 8 places left" in page.text
    response = post(
        client, f"/learning/sessions/{sitting.id}/book", token_from=path_url,
        headers={"Referer": "http://localhost" + path_url}, follow_redirects=True,
    )  # fmt: skip
    assert any("You have a place" in f for f in flashes(response.text))
    assert "You are booked" in response.text
    home = client.get("/learning")
    assert 'data-testid="booked-sessions"' in home.text and "Prioritisation clinic" in home.text
    invite = client.get(f"/learning/sessions/{sitting.id}/calendar.ics")
    assert invite.status_code == 200 and invite.mimetype == "text/calendar"
    event = Calendar.from_ical(invite.data).walk("VEVENT")[0]
    assert event.decoded("dtstart") == sitting.starts_at
    assert "DTSTART:" in invite.text and invite.text.split("DTSTART:")[1][15] == "Z"
    assert str(event["uid"]) == f"learning-session-{sitting.id}@localhost"
    assert str(event["location"]) == "Harbour House, room 4.12"
    assert str(event["url"]) == "https://teams.example/clinic"
    again = client.get(f"/learning/sessions/{sitting.id}/calendar.ics")
    assert Calendar.from_ical(again.data).walk("VEVENT")[0]["uid"] == event["uid"]


def test_the_invitation_is_only_for_those_booked(client, login, world):
    sitting = world.sitting()
    login(world.learner)
    assert client.get(f"/learning/sessions/{sitting.id}/calendar.ics").status_code == 404


def test_a_full_session_offers_the_waiting_list_and_a_cancellation_promotes(client, login, world):
    sitting = world.sitting(capacity=1)
    scheduling.book(db.session, class_session=sitting, person_id=world.kim.id, now=NOW)
    db.session.commit()
    login(world.learner)
    url = f"/learning/sessions/{sitting.id}"
    assert "Join the waiting list" in client.get(url).text
    response = post(client, f"{url}/book", token_from=url, follow_redirects=True)
    assert any("you are on the waiting list" in f for f in flashes(response.text))
    login(world.kim_user)
    post(client, f"{url}/booking/cancel", token_from=url)
    db.session.expire_all()
    statuses = dict(db.session.execute(select(Booking.person_id, Booking.status)).all())
    assert statuses == {world.kim.id: BookingStatus.CANCELLED, world.lee.id: BookingStatus.BOOKED}


def test_a_learner_not_on_the_path_is_told_to_enrol(client, login, world):
    sitting = world.sitting()
    stranger = make_user(Permission.LEARNER, person=make_person("Sam", "Stranger"))
    db.session.commit()
    login(stranger)
    url = f"/learning/sessions/{sitting.id}"
    response = post(client, f"{url}/book", token_from=url, follow_redirects=True)
    assert "Enrol on the path before booking its sessions." in flashes(response.text)
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_the_trainer_records_attendance_for_the_whole_session(client, login, world):
    sitting = world.sitting(now=NOW - timedelta(days=30), days=-1)
    came = scheduling.book(
        db.session, class_session=sitting, person_id=world.lee.id, now=NOW - timedelta(days=20)
    )
    scheduling.book(
        db.session, class_session=sitting, person_id=world.kim.id, now=NOW - timedelta(days=20)
    )
    db.session.commit()
    login(world.trainer)
    url = f"/learning/sessions/{sitting.id}"
    page = client.get(url)
    assert page.text.count('name="attended"') == 2
    response = client.post(
        f"{url}/attendance",
        data={"csrf_token": csrf(client, url), "attended": [str(came.id)]},
        follow_redirects=True,
    )
    assert "Attendance recorded: 1 attended, 1 absent; 1 completed the module." in flashes(
        response.text
    )
    completion = db.session.scalars(select(ModuleCompletion)).one()
    assert completion.method == CompletionMethod.ATTENDANCE
    db.session.expire_all()
    attended = dict(db.session.execute(select(Booking.person_id, Booking.attended)).all())
    assert attended == {world.lee.id: True, world.kim.id: False}
    login(world.learner)
    path = client.get(f"/learning/enrolments/{completion.enrolment_id}")
    assert re.findall(r'data-state="(\w+)"', path.text)[1] == "done"


def test_a_trainer_cancels_a_session_after_confirming(client, login, world):
    sitting = world.sitting()
    scheduling.book(db.session, class_session=sitting, person_id=world.lee.id, now=NOW)
    db.session.commit()
    login(world.trainer)
    url = f"/learning/sessions/{sitting.id}"
    ask = post(client, f"{url}/cancel", token_from=url)
    assert "1 booked or waiting learners will see it as cancelled" in ask.text
    assert db.session.get(ClassSession, sitting.id).cancelled_at is None
    post(client, f"{url}/cancel", {"confirmed": "1"}, token_from=url)
    db.session.expire_all()
    assert db.session.get(ClassSession, sitting.id).cancelled_at is not None
    login(world.learner)
    home = client.get("/learning")
    assert "Cancelled by the trainer" in home.text


def test_learners_cannot_schedule_or_record_attendance(client, login, world):
    sitting = world.sitting()
    login(world.learner)
    assert client.get("/learning/sessions/new").status_code == 403
    assert client.get(f"/learning/sessions/{sitting.id}/edit").status_code == 403
    response = post(client, f"/learning/sessions/{sitting.id}/attendance")
    assert response.status_code == 403
    page = client.get(f"/learning/sessions/{sitting.id}")
    assert page.status_code == 200 and 'data-testid="roster"' not in page.text


def test_the_sessions_list_shows_upcoming_sessions_and_places(client, login, world):
    world.sitting(capacity=3)
    login(world.learner)
    page = client.get("/learning/sessions")
    assert page.status_code == 200
    assert "Prioritisation clinic" in page.text and "0 / 3" in page.text
