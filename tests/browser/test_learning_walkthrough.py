"""A learning path end to end in a real browser, on the demo organisation.

Grace (trainer) writes and publishes a three-module path aimed at one of Priya's gaps and
enrols every PMO Co-ordinator on it; Priya finds it on her home page, reads the lesson and
marks it complete, books the workshop; Grace records the workshop's attendance; Daniel (her
manager) signs off the on-the-job task; Priya gets a certificate whose public verification
page checks out, and her capability page shows the gap closed by the new evidence.

The walkthrough changes the demo data, so it runs on a live server of its own.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from app.capability import profile
from app.extensions import db
from app.learning.models import ClassSession
from app.org.models import Person, Role
from tests.browser.conftest import USERS, LiveSite, open_browsing, serve_demo

pytestmark = pytest.mark.browser

PATH_CODE = "WALK"
LESSON = "\n\n".join(
    [
        "## Key ideas",
        "A control only helps when someone acts on what it shows. " * 20,
        "## Worked example",
        "The office reviews each open item with its owner every Monday and records the "
        "decision taken, so that nothing sits unowned for more than a week. " * 6,
        "## Exercise",
        "Pick one log you keep, find its three oldest open items and agree an action and "
        "a date for each with its owner. " * 4,
    ]
)


@pytest.fixture(scope="module")
def own_site(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("learning-walkthrough"), "learning-site") as site:
        yield site


def a_gap(site: LiveSite, email: str) -> tuple[str, str, int, int]:
    """(role code, competency code, required, validated) of a gap in the person's current
    role that an assessed on-the-job task can close (required level 4 or below), the largest
    essential one first."""
    with site.app.app_context():
        person = db.session.scalar(select(Person).where(Person.email == email))
        cap = profile.capability(db.session, person, date.today())
        rows = [
            (rc.code, r)
            for rc in cap.roles
            if rc.kind == "current"
            for r in rc.rows
            if r.gap and r.required <= 4
        ]
        db.session.remove()
    assert rows, "the demo learner has no gap a task could close"
    role_code, row = sorted(rows, key=lambda p: (not p[1].essential, -p[1].gap, p[1].code))[0]
    return role_code, row.code, row.required, row.current


def role_id(site: LiveSite, code: str) -> int:
    with site.app.app_context():
        found = db.session.scalar(select(Role.id).where(Role.code == code))
        db.session.remove()
    assert found is not None
    return found


def sessions_have_happened(site: LiveSite) -> None:
    """Time passes: the workshop booked for tomorrow has taken place."""
    now = datetime.now(UTC)
    with site.app.app_context():
        db.session.execute(
            update(ClassSession)
            .where(ClassSession.module_code == f"{PATH_CODE}-02")
            .values(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
        )
        db.session.commit()
        db.session.remove()


def log_out(b) -> None:
    b.page.get_by_role("button", name="Log out").click()
    b.page.wait_for_url(re.compile(r"/login$"))


def add_module(page, title: str, type_: str, hours: str, competency: str, level: int) -> None:
    page.get_by_role("link", name=re.compile("Add a module")).first.click()
    page.locator("[name=title]").fill(title)
    page.locator("[name=type]").select_option(type_)
    page.locator("[name=hours]").fill(hours)
    page.locator("[name=outcomes]").fill(
        "Explain what the control is for.\nApply it to a log you keep."
    )
    page.locator("[name='evidences-0-competency']").select_option(competency)
    page.locator("[name='evidences-0-level']").select_option(str(level))
    page.locator("[name=lesson]").fill(LESSON)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/authoring/paths/{PATH_CODE}/draft"))


def test_a_path_from_publishing_to_a_verified_certificate_and_a_closed_gap(chromium, own_site):
    learner, manager, trainer = USERS["learner"], USERS["manager"], USERS["trainer"]
    role_code, code, required, validated = a_gap(own_site, learner.email)
    assert validated < required
    # The lesson and the workshop evidence another competency; only the assessed task on
    # real work evidences the gap's, so the gap must stay open until the manager signs off.
    other = "INF-03" if code != "INF-03" else "INF-02"

    context, b = open_browsing(chromium, own_site)
    try:
        page = b.page

        # Grace writes the path: a lesson, a workshop and an assessed task on real work.
        b.log_in(trainer)
        b.goto("/authoring/paths/new")
        page.locator("[name=code]").fill(PATH_CODE)
        page.locator("[name=title]").fill("Keeping a log that drives action")
        page.locator("[name=summary]").fill("Three steps from knowing the control to running it.")
        page.get_by_role("button", name="Create the path").click()
        page.wait_for_url(re.compile(rf"/authoring/paths/{PATH_CODE}"))
        b.goto(f"/authoring/paths/{PATH_CODE}/draft")
        add_module(page, "Why the log exists", "e-learning", "1", other, 1)
        add_module(page, "Log clinic", "workshop", "3", other, 1)
        add_module(page, "Run the log for a month", "on-the-job", "8", code, required)
        page.locator("[name=note]").fill("First version, written for the co-ordinators' gap.")
        page.get_by_role("button", name="Publish…").click()
        page.get_by_test_id("confirm-button").click()
        page.wait_for_url(re.compile(rf"/authoring/paths/{PATH_CODE}$"))
        assert "published" in page.content()

        # ... enrols every holder of the learner's role, due in a month ...
        b.goto("/learning/enrol")
        page.get_by_label("Learning path").select_option(
            label=f"Keeping a log that drives action ({PATH_CODE})"
        )
        page.locator("[name=who][value=role]").check()
        page.locator("[name=role]").select_option(str(role_id(own_site, role_code)))
        page.locator("[name=due_on]").fill((date.today() + timedelta(days=30)).isoformat())
        page.get_by_role("button", name="Check and enrol").click()
        page.get_by_test_id("confirm-button").click()
        # The enrolment lands on the team's learning page with its outcome; wait for that page
        # rather than reading whichever document is loading at the moment.
        enrolled = page.get_by_text(re.compile(r"\d[\d,]* (person|people) enrolled on"))
        expect(enrolled).to_be_visible()

        # ... and schedules the workshop for tomorrow.
        b.goto("/learning/sessions/new")
        module_value = page.locator("[name=module] option", has_text="Log clinic").get_attribute(
            "value"
        )
        page.locator("[name=module]").select_option(module_value)
        page.locator("[name=day]").fill((date.today() + timedelta(days=1)).isoformat())
        page.locator("[name=starts]").fill("09:30")
        page.locator("[name=ends]").fill("12:30")
        page.locator("[name=location]").fill("Harbour House, room 4.12")
        page.locator("[name=capacity]").fill("12")
        page.get_by_role("button", name="Save the session").click()
        page.wait_for_url(re.compile(r"/learning/sessions/\d+$"))
        session_url = page.url
        b.watch.assert_clean()
        log_out(b)

        # Priya finds the path on her home page and starts it.
        b.log_in(learner)
        panel = page.get_by_test_id("learning-panel")
        assert "Keeping a log that drives action" in panel.text_content()
        panel.get_by_role("link", name="Keeping a log that drives action").first.click()
        page.wait_for_url(re.compile(r"/learning/enrolments/\d+$"))
        enrolment_url = page.url
        page.get_by_role("link", name="Why the log exists").first.click()
        expect(
            page.get_by_test_id("lesson").get_by_role("heading", name="Worked example")
        ).to_be_visible()
        page.locator("[name=reflection]").fill("I will bring the Monday review to our office.")
        page.get_by_role("button", name="Mark complete").click()
        page.wait_for_url(re.compile(r"/learning/enrolments/\d+"))

        # She books the workshop (it is open to her now that the lesson is done).
        page.goto(session_url)
        page.get_by_role("button", name="Book a place").click()
        expect(page.get_by_test_id("my-booking")).to_be_visible()
        b.watch.assert_clean()
        log_out(b)

        # The workshop takes place; Grace records the attendance for the whole session.
        sessions_have_happened(own_site)
        b.log_in(trainer)
        page.goto(session_url)
        roster = page.get_by_test_id("roster")
        roster.get_by_label(re.compile(learner.name)).check()
        page.get_by_role("button", name="Record attendance").click()
        expect(page.get_by_text(re.compile(r"Attendance recorded: 1 attended"))).to_be_visible()
        log_out(b)

        # Priya's lesson and workshop are done, but her gap is still open.
        b.log_in(learner)
        b.goto("/capability")
        gap_row = page.get_by_test_id(f"role-table-{role_code}").locator(
            f"tr[data-competency='{code}']"
        )
        assert gap_row.get_by_test_id("gap").count() == 1
        log_out(b)

        # Daniel signs off the on-the-job task.
        b.log_in(manager)
        page.goto(enrolment_url)
        page.get_by_role("link", name=re.compile("Sign off")).first.click()
        page.locator("[name=comment]").fill("Ran the risk log for the whole of March; reviewed.")
        page.get_by_role("button", name="Sign off the task").click()
        page.wait_for_url(re.compile(r"/learning/enrolments/\d+"))
        b.watch.assert_clean()
        log_out(b)

        # Priya's path is complete, with a certificate that anyone can verify.
        b.log_in(learner)
        page.goto(enrolment_url)
        assert "complete" in page.get_by_test_id("enrolment-status").text_content().lower()
        page.get_by_role("link", name=re.compile("certificate", re.I)).first.click()
        sheet = page.get_by_test_id("certificate")
        assert learner.name in sheet.text_content()
        assert "Keeping a log that drives action" in sheet.text_content()
        assert page.get_by_test_id("qr").locator("svg").count() == 1
        verify_url = page.get_by_test_id("verify-url").text_content().strip()
        assert "/verify/" in verify_url

        anonymous = chromium.new_context()
        try:
            public = anonymous.new_page()
            # The printed address is the configured public site; the test server stands in.
            response = public.goto(own_site.url + urlsplit(verify_url).path)
            assert response is not None and response.status == 200
            verdict = public.get_by_test_id("verdict").text_content()
            assert "Valid certificate" in verdict and "has not been revoked" in verdict
            assert learner.name in public.content()
            assert learner.email not in public.content()
        finally:
            anonymous.close()

        # Her capability page shows the gap closed, resting on the assessed task.
        page.get_by_test_id("nav").get_by_role("link", name="My capability").click()
        row = page.get_by_test_id(f"role-table-{role_code}").locator(
            f"tr[data-competency='{code}']"
        )
        assert row.get_by_test_id("gap").count() == 0
        assert "Assessor observation" in row.text_content()
        b.watch.assert_clean()
    except Exception:
        b.screenshot("learning-walkthrough-failure")
        raise
    finally:
        context.close()
