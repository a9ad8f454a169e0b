"""G4 (c): a double click in a real browser submits an attempt once.

Priya (the demo learner) starts the Foundation-format practice test on a demo site of her
own. Her answers are put in the database (every item's key: this test is about the submit,
not the answering, which tests/browser/test_assessment_walkthrough.py covers), then she
double-clicks "Finish" and, on the confirmation page, double-clicks "Submit my answers".
The browser lands on her result, no error page on the way; a confirmation page left open in
a second tab then submits too and also shows the result. The attempt is submitted once, with
one result and exactly one evidence row for each competency the pass certifies.

Chromium sends one POST for a double click on a submit button (the second click's
submission replaces the first before it is sent), so the second tab is what makes a second
submit reach the server.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.assessment.content import item_from_data
from app.assessment.models import Attempt, AttemptItem, AttemptStatus, ItemVersion
from app.capability.models import Evidence
from app.framework.models import Source
from tests.browser.conftest import USERS, open_browsing, serve_demo
from tests.browser.test_assessment_walkthrough import TITLE, database

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_site(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("double-submit"), "double-submit-site") as site:
        yield site


def answer_everything_right(site, attempt_id: int) -> None:
    with database(site) as session:
        rows = session.execute(
            select(AttemptItem, ItemVersion.content)
            .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
            .where(AttemptItem.attempt_id == attempt_id)
        ).all()
        for row, content in rows:
            row.answer = item_from_data(content).key()
            row.revision += 1
        session.commit()


def assessment_evidence(site, person_id: int) -> Counter:
    """How many assessment evidence rows the person has, by competency."""
    with database(site) as session:
        return Counter(
            session.scalars(
                select(Evidence.competency_code).where(
                    Evidence.person_id == person_id, Evidence.source == Source.ASSESSMENT
                )
            )
        )


def certified(site, attempt_id: int) -> dict:
    with database(site) as session:
        return dict(session.scalar(select(Attempt.certified).where(Attempt.id == attempt_id)))


def attempts_of(site, person_id: int) -> list[tuple]:
    with database(site) as session:
        return [
            tuple(r)
            for r in session.execute(
                select(Attempt.id, Attempt.status, Attempt.marks, Attempt.max_marks)
                .where(Attempt.person_id == person_id)
                .order_by(Attempt.id)
            )
        ]


def test_a_double_click_on_finish_and_on_submit_gives_one_result(chromium, own_site):
    priya = USERS["learner"]
    person_id = own_site.person_id(priya.email)
    evidence_before = assessment_evidence(own_site, person_id)
    attempts_before = attempts_of(own_site, person_id)
    context, b = open_browsing(chromium, own_site)
    try:
        page = b.page
        b.log_in(priya)
        b.goto("/assessments")
        page.get_by_test_id("open-assessments").get_by_role("link", name=TITLE).click()
        page.get_by_test_id("start").click()
        page.wait_for_url(re.compile(r"/attempts/\d+(\?.*)?$"))
        attempt_id = int(re.search(r"/attempts/(\d+)", page.url).group(1))
        answer_everything_right(own_site, attempt_id)
        attempt_url = f"/attempts/{attempt_id}"
        b.goto(attempt_url)

        sent: list[str] = []  # every POST the browsers sent, answered or cancelled
        posts: list[tuple[str, int]] = []  # the answers they got
        page.get_by_test_id("finish").dblclick()
        # The second click may abort the first click's navigation and start its own: wait
        # for where they lead and what it shows, not for one navigation (which then fails
        # with ERR_ABORTED, as it did once in CI).
        expect(page).to_have_url(re.compile(rf"{attempt_url}/submit$"))
        expect(page.get_by_role("button", name="Submit my answers")).to_be_visible()
        stale = context.new_page()
        stale.goto(b.url(f"{attempt_url}/submit"))
        for tab in (page, stale):
            tab.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
            tab.on(
                "response",
                lambda r: posts.append((r.url, r.status)) if r.request.method == "POST" else None,
            )
        assert "questions." in page.content()
        page.get_by_role("button", name="Submit my answers").dblclick()
        expect(page).to_have_url(re.compile(rf"{attempt_url}/result$"))
        expect(page.get_by_test_id("outcome")).to_be_visible()
        page.wait_for_load_state("load")

        # The page shows the result, not an error.
        assert page.get_by_test_id("outcome").text_content().strip() == "Passed"
        score = " ".join(page.get_by_test_id("score").text_content().split())
        assert "70 of 70" in score, score
        text = page.content()
        assert "Something went wrong" not in text and "Conflict" not in text

        # The confirmation page left open in a second tab: its submit does reach the server
        # after the first, and leads to the same result, not an error.
        stale.get_by_role("button", name="Submit my answers").click()
        stale.wait_for_url(re.compile(rf"{attempt_url}/result$"))
        stale.wait_for_load_state("load")
        assert stale.get_by_test_id("outcome").text_content().strip() == "Passed"
        submits = [url for url in sent if url.endswith("/submit")]
        assert len(submits) >= 2, sent  # the server saw at least two submits
        assert all(status < 500 for _, status in posts), posts

        # Exactly one submission, one result, one evidence row.
        after = attempts_of(own_site, person_id)
        new = [a for a in after if a not in attempts_before]
        assert new == [(attempt_id, AttemptStatus.SUBMITTED, 70, 70)], new
        levels = certified(own_site, attempt_id)
        assert levels, "the pass certifies nothing: no evidence to count"
        added = assessment_evidence(own_site, person_id) - evidence_before
        assert added == Counter(dict.fromkeys(levels, 1)), added  # one row per competency
    finally:
        context.close()
    b.watch.assert_clean()
