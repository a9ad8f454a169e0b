"""The capability page and the validation queue in a real browser: long unbroken text wraps
(no sideways scroll at desktop or phone width), rejecting asks first, the learner sees the
decision with its reason, and the chart names its rows and explains every mark."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.capability import services
from app.capability.models import Decision
from app.extensions import db
from app.org.models import AssignmentKind, Person, Role, RoleAssignment
from tests.browser.conftest import USERS, open_browsing, serve_demo

pytestmark = pytest.mark.browser

LONG = "W" * 2000  # one 2,000-character word


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo organisation for this module only; Priya gets a target role, a rejected
    self-rating and one waiting, each with a 2,000-character word in its note or comment."""
    with serve_demo(tmp_path_factory.mktemp("capability-decisions"), "decisions-site") as site:
        with site.app.app_context():
            session = db.session
            priya = session.scalar(select(Person).where(Person.email == USERS["learner"].email))
            daniel = session.scalar(select(User).where(User.email == USERS["manager"].email))
            if not any(a.kind == AssignmentKind.TARGET for a in priya.assignments):
                target = session.scalar(select(Role).where(Role.code == "R02"))
                session.add(
                    RoleAssignment(
                        person_id=priya.id,
                        role_id=target.id,
                        kind=AssignmentKind.TARGET,
                        start_date=date(2024, 1, 1),
                    )
                )
            person_id, user_id = priya.id, daniel.id
            rated = services.record_self_rating(
                session,
                person_id=person_id,
                competency_code="INF-01",
                level=4,
                note=LONG,
                link=None,
                actor_id=user_id,
                on=date.today(),
            )
            services.decide(
                session,
                rating=rated,
                decision=Decision.REJECT,
                level=None,
                comment="Too early. " + LONG,
                actor_id=user_id,
                actor_person_id=daniel.person_id,
                on=date.today(),
            )
            services.record_self_rating(
                session,
                person_id=person_id,
                competency_code="INF-02",
                level=3,
                note=LONG,
                link="https://example.org/" + "x" * 400,
                actor_id=user_id,
                on=date.today(),
            )
            session.commit()
            session.remove()
        yield site


def no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_long_words_wrap_on_the_capability_page_and_the_queue(chromium, site, viewport):
    for user, path, name in (
        ("learner", "/capability", "capability-decisions"),
        ("manager", "/validations", "validation-queue"),
    ):
        context, browsing = open_browsing(chromium, site, viewport)
        try:
            browsing.log_in(USERS[user])
            browsing.goto(path)
            page = browsing.page
            if user == "learner":
                assert "Too early." in page.get_by_test_id("my-ratings").inner_text()
            else:
                assert page.get_by_test_id("rating-context").first.is_visible()
            no_sideways_scroll(page)
            browsing.screenshot(name)
        finally:
            context.close()
        browsing.watch.assert_clean()


def test_the_chart_names_rows_marks_the_target_and_explains_every_mark(chromium, site):
    context, browsing = open_browsing(chromium, site, "desktop")
    try:
        browsing.log_in(USERS["learner"])
        browsing.goto("/capability")
        page = browsing.page
        labels = page.locator("[data-testid=chart-row] .row-label").all_text_contents()
        assert labels and all(" " in label and len(label) > 8 for label in labels)
        assert page.locator("[data-testid=target-mark]").count() > 0
        legend = page.get_by_test_id("chart-legend")
        assert legend.is_visible()
        text = legend.inner_text()
        for words in ("Outlined box", "Dark solid bar", "Grey solid bar", "dashed line", "Diamond"):
            assert words in text
        assert legend.locator("svg").count() == 5
    finally:
        context.close()
    browsing.watch.assert_clean()


def test_rejecting_asks_first_and_the_learner_sees_why(chromium, site):
    context, browsing = open_browsing(chromium, site, "desktop")
    try:
        browsing.log_in(USERS["manager"])
        browsing.goto("/validations")
        page = browsing.page
        rating = page.get_by_test_id("pending-rating").filter(has_text="Priya Shah").first
        rating.get_by_label("Why you reject").fill("Show me the risk log.")
        rating.get_by_role("button", name="Reject…").click()
        confirm = page.get_by_test_id("confirmation")
        assert "Show me the risk log." in confirm.inner_text()
        page.get_by_test_id("confirm-button").click()
        page.wait_for_url(site.url + "/validations")
        assert "rating rejected" in page.inner_text("body")
    finally:
        context.close()
    browsing.watch.assert_clean()

    context, browsing = open_browsing(chromium, site, "desktop")
    try:
        browsing.log_in(USERS["learner"])
        browsing.goto("/capability")
        ratings = browsing.page.get_by_test_id("my-ratings").inner_text()
        assert "rejected (your rating: level 3) — “Show me the risk log.”" in ratings
    finally:
        context.close()
    browsing.watch.assert_clean()
