"""Everyday pages stay cheap (issue 9, point 10): a signed-in request loads its log-in
session, user, person and permissions in one statement; the validation queue runs the same
statements for two ratings as for twenty; the published framework kept between requests
never outlives a newly published version; the navigation links where the route rules say.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import Permission
from app.capability import services
from app.extensions import db
from app.framework import services as framework_services
from app.framework.versions import current_draft
from app.org.models import Role
from tests.factories import assign, make_person, make_unit, make_user
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"
CODES = ["FIN-01", "GOV-01", "CTL-01", "CTL-04", "PPL-01"]


@pytest.fixture
def unit(session):
    """The shipped framework; a manager heading a unit of PMO Co-ordinators (R04)."""
    load_shipped_content(session, certificates=False)
    team = make_unit("Enterprise PMO")
    boss = make_person("Dana", "Boss", unit=team)
    team.head_id = boss.id
    manager = make_user(Permission.LEARNER, Permission.MANAGER, person=boss)
    session.commit()
    return team, boss, manager


def _members_rate_themselves(session, team, boss, people: int, start: int = 0) -> None:
    r04 = session.scalar(select(Role).where(Role.code == "R04"))
    for n in range(start, start + people):
        person = make_person("Member", f"M{n:03d}", unit=team, manager=boss)
        assign(person, r04)
        session.flush()
        services.record_self_rating(
            session,
            person_id=person.id,
            competency_code=CODES[n % len(CODES)],
            level=1 + n % 4,
            note=f"Evidence {n}",
            link=None,
            actor_id=boss.id,
            on=date.today(),
        )
    session.commit()


def _statements(client, count_queries, url: str) -> list[str]:
    db.session.commit()
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.statements


def test_a_signed_in_page_loads_the_log_in_session_and_permissions_in_one_statement(
    client, login, count_queries, unit
):
    _, _, manager = unit
    login(manager)
    client.get("/capability")  # the session's first touch may write its last-seen time
    statements = _statements(client, count_queries, "/capability")
    touching = [s for s in statements if "login_sessions" in s or "user_permissions" in s]
    assert len(touching) == 1, touching
    # the permissions came with it: the manager's links are there
    page = client.get("/capability").text
    assert 'href="/validations"' in page and 'href="/team"' in page


def test_the_validation_queue_runs_the_same_statements_for_two_ratings_as_for_twenty(
    client, login, session, count_queries, unit
):
    team, boss, manager = unit
    _members_rate_themselves(session, team, boss, 2)
    login(manager)
    first = client.get("/validations").text
    assert first.count('data-testid="pending-rating"') == 2
    few = _statements(client, count_queries, "/validations")

    _members_rate_themselves(session, team, boss, 18, start=2)
    page = client.get("/validations").text
    assert page.count('data-testid="pending-rating"') == 20
    # every rating has its context: the validated level and what the role asks
    assert page.count('data-testid="rating-context"') == 20
    many = _statements(client, count_queries, "/validations")
    assert len(many) == len(few), (len(few), len(many))
    assert len(many) <= 8, many


def test_every_rating_on_the_queue_has_its_own_forms_and_token(client, login, session, unit):
    team, boss, manager = unit
    _members_rate_themselves(session, team, boss, 3)
    login(manager)
    page = client.get("/validations").text
    tokens = set(re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', page))
    assert len(tokens) == 1  # the one token of the request, in every form
    ids = re.findall(r'action="/validations/(\d+)"', page)
    assert len(ids) == 9 and len(set(ids)) == 3  # accept, adjust, reject for each rating


def test_a_newly_published_framework_shows_at_once(client, login, session, unit):
    """The published version is kept between requests as plain data; publishing another
    version (a renamed competency) shows on the very next page."""
    _, boss, manager = unit
    login(manager)
    assert "Financial management" in client.get("/capability?compare=" + _r04(session)).text

    draft = framework_services.create_draft(session, actor_id=None)
    comp = next(c for c in draft.competencies if c.code == "FIN-01")
    framework_services.update_competency(
        session,
        draft,
        "FIN-01",
        name="Money matters",
        description=comp.description,
        group_code=comp.group.code,
    )
    framework_services.publish(session, draft, actor_id=None, note="Renamed FIN-01.")
    session.commit()
    assert current_draft(session) is None

    page = client.get("/capability?compare=" + _r04(session)).text
    assert "FIN-01</span> Money matters" in page
    assert "FIN-01</span> Financial management" not in page


def _r04(session) -> str:
    return str(session.scalar(select(Role.id).where(Role.code == "R04")))


def test_the_navigation_links_each_page_the_user_may_reach_and_marks_the_current_one(
    client, login, session, unit
):
    _, _, manager = unit
    learner = make_user(Permission.LEARNER, person=make_person("Lee", "Learner"))
    session.commit()

    login(manager)
    page = client.get("/capability").text
    nav = page[page.index('data-testid="nav"') : page.index('data-testid="signed-in-as"')]
    assert '<a class="nav-link active" aria-current="page"\n             href="/capability">' in nav
    assert 'href="/validations"' in nav and 'href="/team"' in nav
    assert 'href="/admin/people"' not in nav

    login(learner)
    page = client.get("/learning").text
    nav = page[page.index('data-testid="nav"') : page.index('data-testid="signed-in-as"')]
    assert 'href="/capability"' in nav and 'href="/learning"' in nav
    assert 'href="/validations"' not in nav and 'href="/team"' not in nav
