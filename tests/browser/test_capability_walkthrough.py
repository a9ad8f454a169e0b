"""A self-rating's round trip in a real browser, on the demo organisation: Priya rates
herself where she has a gap, Daniel accepts the rating in his validation queue, and Priya
sees the competency met.

The walkthrough changes the demo data, so it runs on a live server of its own (a separate
SQLite file, built the same way as the shared one): the other browser tests keep seeing the
demo organisation as built.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.capability import profile
from app.extensions import db
from app.org.models import Person
from tests.browser.conftest import USERS, LiveSite, open_browsing, serve_demo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_site(tmp_path_factory):
    """The demo organisation for this module only: the test changes its data."""
    with serve_demo(tmp_path_factory.mktemp("capability-walkthrough"), "capability-site") as site:
        yield site


def a_gap_to_close(site: LiveSite, email: str) -> tuple[str, str, int, int]:
    """(role code, competency code, required, validated) of a competency of the person's
    current role with a gap and no self-rating waiting: validated at the required level,
    the gap closes."""
    with site.app.app_context():
        person = db.session.scalar(select(Person).where(Person.email == email))
        cap = profile.capability(db.session, person, date.today())
        current = [rc for rc in cap.roles if rc.kind == "current"]
        assert current, "the demo learner has no current role"
        rows = [(rc.code, r) for rc in current for r in rc.rows if r.gap and r.pending_self is None]
        db.session.remove()
    assert rows, "the demo learner has no gap to close"
    # an essential gap, the largest first, as a learner would pick
    role_code, row = sorted(
        rows, key=lambda pair: (not pair[1].essential, -pair[1].gap, pair[1].code)
    )[0]
    return role_code, row.code, row.required, row.current


def log_out(browsing) -> None:
    page = browsing.page
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))


def test_self_rating_validated_by_the_manager_closes_the_gap(chromium, own_site):
    learner, manager = USERS["learner"], USERS["manager"]
    assert (learner.name, manager.name) == ("Priya Shah", "Daniel Okafor")
    role_code, code, required, validated = a_gap_to_close(own_site, learner.email)
    assert validated < required

    context, b = open_browsing(chromium, own_site)
    try:
        page = b.page

        # Priya finds the gap on her capability page and rates herself at the required level.
        b.log_in(learner)
        page.get_by_test_id("nav").get_by_role("link", name="My capability").click()
        page.wait_for_url(b.url("/capability"))
        row = page.get_by_test_id(f"role-table-{role_code}").locator(
            f"tr[data-competency='{code}']"
        )
        assert row.get_by_test_id("gap").text_content().strip() == f"{required - validated} short"
        row.get_by_role("link", name="Rate").click()
        page.wait_for_url(re.compile(rf"/capability\?rate={code}"))
        assert page.get_by_label("Competency", exact=True).input_value() == code
        page.get_by_label("My level").select_option(str(required))
        page.get_by_label("What shows it").fill("Kept the records for the Q3 portfolio review.")
        page.get_by_role("button", name="Send to my manager").click()
        page.wait_for_url(b.url("/capability"))
        assert "your rating is with your manager" in page.get_by_role("alert").text_content()
        cells = row.locator("td")
        assert cells.nth(3).text_content().strip() == f"{required} · pending"
        assert cells.nth(2).text_content().strip() == str(validated)  # not validated yet
        assert row.get_by_test_id("gap").text_content().strip() == f"{required - validated} short"
        b.watch.assert_clean()
        log_out(b)

        # Daniel accepts it in his validation queue.
        b.log_in(manager)
        page.get_by_test_id("nav").get_by_role("link", name="Validations").click()
        page.wait_for_url(b.url("/validations"))
        item = (
            page.get_by_test_id("pending-rating")
            .filter(has_text=learner.name)
            .filter(has_text=f"in {code} ")
        )
        assert item.count() == 1
        assert f"level {required}" in item.text_content()
        item.get_by_role("button", name=f"Accept level {required}").click()
        page.wait_for_url(b.url("/validations"))
        assert f"validated at level {required}" in page.get_by_role("alert").text_content()
        assert (
            page.get_by_test_id("pending-rating")
            .filter(has_text=learner.name)
            .filter(has_text=f"in {code} ")
            .count()
            == 0
        )
        b.watch.assert_clean()
        log_out(b)

        # Priya sees the competency met.
        b.log_in(learner)
        page.get_by_test_id("nav").get_by_role("link", name="My capability").click()
        page.wait_for_url(b.url("/capability"))
        row = page.get_by_test_id(f"role-table-{role_code}").locator(
            f"tr[data-competency='{code}']"
        )
        assert row.get_by_test_id("gap").count() == 0
        assert row.locator(".gap-badge").text_content().strip() == "met"
        cells = row.locator("td")
        assert cells.nth(2).text_content().strip() == str(required)
        assert cells.nth(3).text_content().strip() == str(required)  # her rating, no longer pending
        assert "Manager rating" in cells.nth(5).text_content()
        b.screenshot("learner-capability-after-validation")
        b.watch.assert_clean()
    finally:
        context.close()
