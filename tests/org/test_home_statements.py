"""A manager's home page runs a fixed number of SQL statements, whatever the size of the
team: every panel is one statement over the manager's reach, never one per person, unit or
decision (an N+1 would make a 20,000-person organisation's manager wait)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.accounts.models import Permission
from app.capability.models import RatingStatus
from app.demo.organisation import build_demo
from app.extensions import db
from app.framework.models import Source
from app.learning import summary
from app.learning.learner_queries import team_counts
from app.learning.summary import ManagerFigures, manager_figures
from app.learning.views.sessions import session_time as org_session_time
from app.org import queries
from app.org import views as org_views
from app.org.models import OrgUnit, Person
from tests.capability.test_services import add_evidence, role, version  # noqa: F401
from tests.factories import assign, make_person, make_unit, make_user

TODAY = date.today()
NOW = datetime.now(UTC)

#: What the manager's home runs today: the login session, the profile (roles, unit path),
#: the gap summary, recent decisions, the team and team-learning figures (one statement),
#: the waiting decisions, and the manager's own learning (enrolments, booked sessions, and
#: certificates held with those expiring, one statement).
MOST = 11


def _grow(session, version, unit, boss, start: int, units: int, each: int) -> None:  # noqa: F811
    """``units`` sub-units under ``unit``, each with ``each`` people reporting to ``boss``,
    every one with a role and a self-rating waiting for a decision."""
    r04 = role(session, "R04")
    for u in range(start, start + units):
        sub = make_unit(f"Delivery {u}", parent=unit)
        for n in range(each):
            person = make_person(f"P{u}x{n}", f"Person{u}x{n}", unit=sub, manager=boss)
            assign(person, r04, start=TODAY - timedelta(days=30))
            add_evidence(
                session,
                version,
                person,
                "GOV-01",
                Source.SELF_RATING,
                3,
                validated=False,
                status=RatingStatus.PENDING,
            )


def _statements(client, count_queries) -> tuple[int, str]:
    db.session.commit()
    with count_queries() as counter:
        response = client.get("/")
    assert response.status_code == 200
    return counter.count, response.text


def test_a_managers_home_runs_the_same_statements_for_a_small_and_a_large_team(
    client,
    login,
    session,
    count_queries,
    version,  # noqa: F811
):
    unit = make_unit("Programme Delivery")
    boss = make_person("Bea", "Boss", unit=unit)
    unit.head_id = boss.id
    login(make_user(Permission.LEARNER, Permission.MANAGER, person=boss))
    _grow(session, version, unit, boss, 0, 1, 2)
    small, page = _statements(client, count_queries)
    assert 'data-testid="team-people"><div class="display-6">2<' in page
    assert 'data-testid="waiting-ratings"><div class="display-6">2<' in page

    _grow(session, version, unit, boss, 1, 6, 5)
    large, page = _statements(client, count_queries)
    # the figures grew with the team, the statements did not
    assert 'data-testid="team-people"><div class="display-6">32<' in page
    assert 'data-testid="team-direct"><div class="display-6">32<' in page
    assert 'data-testid="waiting-ratings"><div class="display-6">32<' in page
    assert large == small
    assert large <= MOST


def test_the_home_pages_one_statement_agrees_with_the_team_and_learning_figures(
    session,
    version,  # noqa: F811
):
    """``manager_figures`` (one statement over the reach) gives what ``team_summary`` and
    ``team_counts`` give over ``access.visible_people``'s scope, for every manager of the
    demo organisation and for one who sees everyone."""
    build_demo(session, people=120, seed=3)
    session.commit()
    managers = set(session.scalars(select(OrgUnit.head_id).where(OrgUnit.head_id.is_not(None))))
    managers |= set(
        session.scalars(select(Person.line_manager_id).where(Person.line_manager_id.is_not(None)))
    )
    assert len(managers) >= 5
    seen = set()
    for manager_id in managers:
        scope = select(queries.managed_people_ids(manager_id).subquery().c[0])
        figures = manager_figures(session, manager_id, False, TODAY, NOW)
        assert figures == ManagerFigures(
            queries.team_summary(session, manager_id, scope),
            team_counts(session, scope, TODAY),
            as_of=NOW,
        ), manager_id
        seen.add(figures.team.people)
    assert len(seen) > 1  # managers of different reach, so the comparison compared something
    anyone = next(iter(managers))
    assert manager_figures(session, anyone, True, TODAY, NOW) == ManagerFigures(
        queries.team_summary(session, anyone, None), team_counts(session, None, TODAY), as_of=NOW
    )


def _figure(page: str, testid: str) -> int:
    found = re.search(rf'data-testid="{testid}"><div class="display-6">([\d,]+)<', page)
    assert found, testid
    return int(found.group(1).replace(",", ""))


def test_a_large_teams_figures_are_counted_every_five_minutes_a_small_teams_on_every_view(
    client,
    login,
    session,
    monkeypatch,
    version,  # noqa: F811
):
    """A team of KEEP_FROM_PEOPLE or more (5 here, 250 in use) has its home figures counted
    at most once in five minutes, and the page says when they were counted; a smaller team
    is counted on every view, so its manager sees at once the person just added."""
    monkeypatch.setattr(summary, "KEEP_FROM_PEOPLE", 5)
    clock = [datetime.now(UTC)]
    monkeypatch.setattr(org_views, "_now", lambda: clock[0])
    r04 = role(session, "R04")

    small_unit = make_unit("Small team")
    lead = make_person("Lee", "Lead", unit=small_unit)
    small_unit.head_id = lead.id
    make_person("Sam", "Small", unit=small_unit, manager=lead)
    lead_user = make_user(Permission.LEARNER, Permission.MANAGER, person=lead)

    big_unit = make_unit("Programme Delivery")
    boss = make_person("Bea", "Boss", unit=big_unit)
    big_unit.head_id = boss.id
    _grow(session, version, big_unit, boss, 0, 1, 6)
    boss_user = make_user(Permission.LEARNER, Permission.MANAGER, person=boss)
    db.session.commit()

    login(lead_user)
    assert _figure(client.get("/").text, "team-people") == 1
    make_person("Sid", "Second", unit=small_unit, manager=lead)
    db.session.commit()
    page = client.get("/").text
    assert _figure(page, "team-people") == 2
    assert 'data-testid="figures-as-of"' not in page

    login(boss_user)
    first = client.get("/").text
    assert _figure(first, "team-people") == 6
    assert 'data-testid="figures-as-of"' not in first  # counted just now
    newcomer = make_person("Nia", "New", unit=big_unit, manager=boss)
    assign(newcomer, r04, start=TODAY - timedelta(days=1))
    db.session.commit()
    clock[0] += timedelta(minutes=4, seconds=59)
    kept = client.get("/").text
    assert _figure(kept, "team-people") == 6
    counted_at = session_time_of(clock[0] - timedelta(minutes=4, seconds=59))
    assert f"Team figures as of {counted_at}" in kept
    # The list the figure links to is always up to date.
    assert "New, Nia" in client.get("/team").text

    clock[0] += timedelta(seconds=2)
    fresh = client.get("/").text
    assert _figure(fresh, "team-people") == 7
    assert 'data-testid="figures-as-of"' not in fresh


def session_time_of(moment: datetime) -> str:
    """The hour and minute as the home page shows them (the organisation's time zone)."""
    return org_session_time(moment, "%H:%M")
