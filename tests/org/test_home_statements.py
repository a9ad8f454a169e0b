"""A manager's home page runs a fixed number of SQL statements, whatever the size of the
team: every panel is one statement over the manager's reach, never one per person, unit or
decision (an N+1 would make a 20,000-person organisation's manager wait)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.accounts.models import Permission
from app.capability.models import RatingStatus
from app.demo.organisation import build_demo
from app.extensions import db
from app.framework.models import Source
from app.learning.learner_queries import team_counts
from app.learning.summary import ManagerFigures, manager_figures
from app.org import queries
from app.org.models import OrgUnit, Person
from tests.capability.test_services import add_evidence, role, version  # noqa: F401
from tests.factories import assign, make_person, make_unit, make_user

TODAY = date.today()

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
        figures = manager_figures(session, manager_id, False, TODAY)
        assert figures == ManagerFigures(
            queries.team_summary(session, manager_id, scope), team_counts(session, scope, TODAY)
        ), manager_id
        seen.add(figures.team.people)
    assert len(seen) > 1  # managers of different reach, so the comparison compared something
    anyone = next(iter(managers))
    assert manager_figures(session, anyone, True, TODAY) == ManagerFigures(
        queries.team_summary(session, anyone, None), team_counts(session, None, TODAY)
    )
