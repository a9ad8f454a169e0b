"""Home pages say what to do next, for each permission, and every count links to the list it
counts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from app.accounts.models import Permission
from app.capability.models import RatingStatus
from app.capability.profile import capability
from app.capability.summary import gap_summary
from app.demo.organisation import build_demo
from app.extensions import db
from app.framework.models import Source
from app.org.models import Person
from tests.capability.test_services import add_evidence, profile, role, version  # noqa: F401
from tests.factories import assign, make_person, make_role, make_unit, make_user

TODAY = date.today()


def _links(html: str, testid: str) -> tuple[str, str]:
    """(href, number) of the count with this data-testid."""
    tag = re.search(
        rf'<a [^>]*href="([^"]+)" data-testid="{testid}"><div class="display-6">'
        r"([\d,]+)</div>",
        html,
    )
    assert tag, f"no linked count {testid}"
    return tag.group(1).replace("&amp;", "&"), tag.group(2)


def test_a_learner_sees_how_much_of_their_roles_they_meet_and_the_next_step(
    client,
    login,
    session,
    version,  # noqa: F811
):
    # The page sums up as at its own today: read it now, not when the module loaded (a run
    # that crosses midnight would otherwise compare two different days).
    today = date.today()
    me = make_person("Pia", "Learner")
    assign(me, role(session, "R04"), start=today - timedelta(days=200))
    required = profile(session, version, "R04")
    met_code = sorted(required)[0]
    add_evidence(
        session,
        version,
        me,
        met_code,
        Source.MANAGER_RATING,
        required[met_code],
        achieved_on=today - timedelta(days=10),
    )
    login(make_user(Permission.LEARNER, person=me))
    summary = gap_summary(session, me.id, today)
    assert (summary.required, summary.met) == (len(required), 1)

    page = client.get("/").text
    panel = page[page.index('data-testid="gap-summary"') :]
    assert f"You meet <strong>1 of {len(required)}</strong>" in panel
    assert f"Next step:</strong> {summary.biggest.name}" in panel
    assert f"rate={summary.biggest.code}" in page


def test_a_learner_without_a_role_is_told_why_nothing_is_measured(client, login, version):  # noqa: F811
    login(make_user(Permission.LEARNER))
    page = client.get("/").text
    assert "You have no role assigned yet" in page
    assert 'data-testid="gap-summary"' not in page


def test_the_gap_summary_agrees_with_the_capability_page(session, version):  # noqa: F811
    build_demo(session, people=120, seed=3)
    people = session.scalars(db.select(Person).where(Person.active.is_(True)).limit(40)).all()
    checked = 0
    for person in people:
        summary = gap_summary(session, person.id, TODAY)
        cap = capability(session, person, TODAY)
        current = [rc for rc in cap.roles if rc.kind == "current"]
        if not current:
            assert summary.required == 0
            continue
        needed: dict[str, int] = {}
        validated: dict[str, int] = {}
        for rc in current:
            for row in rc.rows:
                needed[row.code] = max(needed.get(row.code, 0), row.required)
                validated[row.code] = row.current
        met = sum(1 for code, level in needed.items() if validated[code] >= level)
        assert (summary.required, summary.met) == (len(needed), met), person.full_name
        checked += 1
    assert checked >= 10


def test_a_managers_counts_link_to_the_lists_they_count(client, login, session, version):  # noqa: F811
    unit = make_unit("Delivery")
    boss = make_person("Ben", "Boss", unit=unit)
    unit.head_id = boss.id
    direct = make_person("Dee", "Direct", unit=unit, manager=boss)
    assign(direct, role(session, "R04"), start=TODAY - timedelta(days=100))
    make_person("Nora", "Norole", unit=unit)
    old = add_evidence(
        session,
        version,
        direct,
        "GOV-01",
        Source.SELF_RATING,
        3,
        validated=False,
        status=RatingStatus.PENDING,
    )
    old.recorded_at = datetime.now(UTC) - timedelta(days=20)
    add_evidence(
        session,
        version,
        direct,
        "GOV-02",
        Source.SELF_RATING,
        3,
        validated=False,
        status=RatingStatus.PENDING,
    )
    login(make_user(Permission.LEARNER, Permission.MANAGER, person=boss))

    page = client.get("/").text
    assert _links(page, "waiting-ratings") == ("/validations", "2")
    assert _links(page, "waiting-overdue") == ("/validations", "1")
    assert "waited more than two weeks" in page
    href, count = _links(page, "team-direct")
    assert (href, count) == ("/team?direct=1", "1")
    direct_list = client.get(href).text
    assert "Direct, Dee" in direct_list and "Norole, Nora" not in direct_list
    href, count = _links(page, "team-norole")
    assert count == "1"
    norole_list = client.get(href).text
    assert "Norole, Nora" in norole_list and "Direct, Dee" not in norole_list
    assert _links(page, "team-people") == ("/team", "2")


def test_an_admins_attention_counts_link_to_the_people_they_count(client, login, session):
    admin = make_user(Permission.ADMIN)
    assign(admin.person, make_role(), start=TODAY - timedelta(days=10))
    make_person("Ola", "Without")
    login(admin)
    page = client.get("/").text
    href, count = _links(page, "attention-norole")
    assert count == "1" and "norole=1" in href
    listed = client.get(href).text
    assert "Without, Ola" in listed
    assert _links(page, "attention-failed-imports")[1] == "0"
    assert 'href="/admin/imports"' in page and 'href="/admin/org-units"' in page


def test_a_trainer_sees_the_draft_in_progress(client, login, session, version):  # noqa: F811
    from app.framework import services as authoring

    trainer = make_user(Permission.LEARNER, Permission.TRAINER)
    login(trainer)
    page = client.get("/").text
    assert f"version {version.number}</strong>" in page and "No draft is open" in page
    authoring.create_draft(session, actor_id=trainer.id)
    session.commit()
    page = client.get("/").text
    assert 'data-testid="draft-open"' in page and "Continue the draft" in page


@pytest.mark.parametrize("perm", [Permission.TRAINER])
def test_people_without_management_rights_see_no_decisions_panel(client, login, perm):
    login(make_user(Permission.LEARNER, perm))
    page = client.get("/").text
    assert "Decisions waiting for you" not in page
    assert 'data-testid="admin-panel"' not in page
