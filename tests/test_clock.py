"""The organisation's calendar (app/clock.py): "today" follows PMO_TIMEZONE, not the server.

An office in Auckland served from a machine on UTC is already in tomorrow at 20:00 UTC; one
in Los Angeles is still in today. What a learner sees as due or overdue follows their
organisation's day, and a time zone name that is not one stops the app at start-up.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app import clock, create_app
from app.accounts.models import Permission
from app.config import TestConfig
from app.extensions import db
from app.learning import enrolment as enrolling
from tests.factories import make_person, make_unit, make_user
from tests.learning.factories import M, make_path

#: 20:00 UTC on 1 December: 09:00 on 2 December in Auckland, 12:00 on 1 December in Los
#: Angeles, 20:00 on 1 December in London.
INSTANT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
DAYS = {
    "Pacific/Auckland": date(2026, 12, 2),
    "America/Los_Angeles": date(2026, 12, 1),
    "Europe/London": date(2026, 12, 1),
}


@pytest.fixture
def held(monkeypatch):
    """The clock held at INSTANT."""
    monkeypatch.setattr(clock, "now", lambda: INSTANT)
    return INSTANT


@pytest.mark.parametrize(("zone", "day"), DAYS.items())
def test_today_is_the_day_in_the_organisations_time_zone(app, monkeypatch, held, zone, day):
    monkeypatch.setitem(app.config, "PMO_TIMEZONE", zone)
    with app.app_context():
        assert clock.today() == day
        assert clock.day_of(INSTANT + timedelta(days=1)) == day + timedelta(days=1)


def test_without_a_time_zone_today_is_the_servers_day(app, monkeypatch, held):
    monkeypatch.setitem(app.config, "PMO_TIMEZONE", "")
    with app.app_context():
        assert clock.today() == INSTANT.astimezone().date()


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "GMT+25", "../etc/passwd"])
def test_a_time_zone_that_is_not_one_stops_the_start(name, capsys):
    with pytest.raises(SystemExit) as stopped:
        create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", PMO_TIMEZONE=name)
    assert stopped.value.code == 4
    err = capsys.readouterr().err
    assert f"PMO_TIMEZONE={name!r} is not a time zone name" in err
    assert "Europe/London" in err  # what to write instead
    assert "PMO_ENV=production" not in err  # not blamed on a production check it is not


def test_a_learning_due_today_turns_overdue_when_the_organisations_day_ends(
    app, client, login, session, monkeypatch, held
):
    """Due on 1 December: at 20:00 UTC it is overdue in Auckland (2 December there) and
    still due today in Los Angeles."""
    unit = make_unit("Harbour PMO")
    learner = make_person("Lee", "Learner", unit=unit)
    user = make_user(Permission.LEARNER, person=learner)
    trainer = make_user(Permission.TRAINER, person=make_person("Tia", "Trainer"))
    path = make_path(M(title="Why a portfolio office"), code="HPO", title="Harbour essentials")
    session.commit()
    enrolling.enrol_person(
        db.session,
        person_id=learner.id,
        path_id=path.path_id,
        due_on=date(2026, 12, 1),
        actor_id=trainer.id,
        today=date(2026, 11, 1),
    )
    db.session.commit()
    login(user)

    monkeypatch.setitem(app.config, "PMO_TIMEZONE", "America/Los_Angeles")
    page = client.get("/learning")
    assert page.status_code == 200
    assert "Harbour essentials" in page.text and 'data-testid="overdue"' not in page.text

    monkeypatch.setitem(app.config, "PMO_TIMEZONE", "Pacific/Auckland")
    page = client.get("/learning")
    assert 'data-testid="overdue"' in page.text
    assert "Overdue · was due 01 Dec 2026" in page.text


@pytest.mark.parametrize("zone", [*DAYS, ""])
def test_a_day_starts_at_the_organisations_midnight(app, monkeypatch, zone):
    """Reports "as at the end of a day" and the day a fact is stamped with agree: every
    instant from the start of a day to the start of the next is that day, across the clock
    changes of spring and autumn (London 29 Mar and 25 Oct 2026, Auckland 5 Apr and 27 Sep)."""
    monkeypatch.setitem(app.config, "PMO_TIMEZONE", zone)
    days = [date(2026, 3, 29), date(2026, 4, 5), date(2026, 9, 27), date(2026, 10, 25)]
    with app.app_context():
        for day in [*days, date(2026, 12, 1)]:
            start, next_start = clock.start_of(day), clock.start_of(day + timedelta(days=1))
            assert start.utcoffset() == timedelta(0)
            assert clock.day_of(start) == day
            assert clock.day_of(next_start - timedelta(microseconds=1)) == day
            assert clock.day_of(start - timedelta(microseconds=1)) == day - timedelta(days=1)
            # a stored timestamp read back without its zone is UTC
            assert clock.day_of(start.replace(tzinfo=None)) == day
