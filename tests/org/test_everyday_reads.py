"""The everyday pages' cheaper reads give what the reads they replace gave, on the demo
organisation: the home page's gap summary from the spans against the rule from the evidence,
a manager's waiting decisions found upwards from those who wait against their whole reach,
the team's figures from statements built once per manager against the same statements built
for the request, and a manager's home page that runs the same statements whatever its
user's reach."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.accounts.models import Permission, User
from app.capability.summary import gap_summary, waiting_for, waiting_for_manager
from app.demo.organisation import build_demo
from app.learning.learner_queries import team_counts, team_counts_of
from app.org import queries
from app.org.models import OrgUnit, Person
from app.reports import personal
from tests.capability.test_services import version  # noqa: F401
from tests.factories import make_user

TODAY = date.today()
NOW = datetime.now(UTC)


def _scope(manager_id: int):
    """What access.visible_people gives a manager."""
    return select(queries.managed_people_ids(manager_id).subquery().c[0])


def test_the_cheaper_reads_agree_with_the_reads_they_replace(session, version):  # noqa: F811
    build_demo(session, people=120, seed=3)
    session.commit()

    people = session.scalars(select(Person.id).where(Person.active.is_(True))).all()
    for person_id in people:
        assert personal.gap_summary(session, person_id, TODAY) == gap_summary(
            session, person_id, TODAY
        ), person_id

    managers = set(session.scalars(select(OrgUnit.head_id).where(OrgUnit.head_id.is_not(None))))
    managers |= set(
        session.scalars(select(Person.line_manager_id).where(Person.line_manager_id.is_not(None)))
    )
    assert len(managers) >= 5
    for manager_id in managers:
        scope = _scope(manager_id)
        assert waiting_for_manager(session, manager_id, NOW) == waiting_for(
            session, scope, manager_id, NOW
        ), manager_id
        assert queries.team_summary_of(session, manager_id, False) == queries.team_summary(
            session, manager_id, scope
        )
        assert queries.team_size_of(session, manager_id, False) == queries.team_size(
            session, manager_id, scope
        )
        assert team_counts_of(session, manager_id, False, TODAY) == team_counts(
            session, scope, TODAY
        )
    anyone = next(iter(managers))
    assert queries.team_summary_of(session, anyone, True) == queries.team_summary(
        session, anyone, None
    )
    assert team_counts_of(session, anyone, True, TODAY) == team_counts(session, None, TODAY)
    # the demo has decisions waiting, so the comparison above compared something
    assert waiting_for(session, None, -1, NOW).ratings > 0


def test_the_gap_summary_without_roles_or_framework(session, version):  # noqa: F811
    person = Person(employee_number="E1", first_name="Nora", last_name="Norole")
    session.add(person)
    session.flush()
    summary = personal.gap_summary(session, person.id, TODAY)
    assert summary == gap_summary(session, person.id, TODAY)
    assert (summary.has_roles, summary.required) == (False, 0)


def test_a_manager_who_sees_everyone_waits_on_everyones_decisions(
    client,
    login,
    session,
    version,  # noqa: F811
):
    """The home page's waiting counts follow access.validation_scope: a manager who also
    trains sees everyone, and so counts everyone's waiting self-ratings."""
    build_demo(session, people=120, seed=3)
    heads = session.scalars(
        select(Person).where(
            Person.id.in_(select(OrgUnit.head_id)), Person.id.not_in(select(User.person_id))
        )
    ).all()
    # a head whose own reach waits on fewer decisions than everyone's (so the test can fail)
    head = next(
        h
        for h in heads
        if waiting_for_manager(session, h.id, NOW) != waiting_for(session, None, h.id, NOW)
    )
    user = make_user(Permission.LEARNER, Permission.MANAGER, Permission.TRAINER, person=head)
    session.commit()
    login(user)
    everyone = waiting_for(session, None, head.id, NOW)
    page = client.get("/").text
    assert f'data-testid="waiting-ratings"><div class="display-6">{everyone.ratings}<' in page
