"""The learner's pages: my assessments, the start page, the attempt page (keyboard-usable
inputs, a save button, the server's deadline, paging by section), saving (and the autosave),
a stale tab, submitting with a confirmation, the result with its breakdown and the review as
the feedback policy allows; and who may reach which attempt."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.accounts.models import Permission
from app.assessment.attempt_queries import shown_items
from app.assessment.content import CERTIFICATION_RULE
from app.assessment.models import Attempt, AttemptItem, AttemptStatus, FeedbackPolicy
from app.capability.models import Evidence
from app.extensions import db
from tests.assessment.attempt_factories import (
    MARKER,
    content_of_item,
    form_fields,
    load_framework_files,
    make_assessment,
    make_bank,
    wrong_answer,
)
from tests.conftest import log_in
from tests.factories import make_person, make_unit, make_user


class World:
    def __init__(self):
        load_framework_files()
        self.bank, self.content, self.markers = make_bank()
        unit = make_unit("Portfolio Office")
        self.boss = make_person("Mia", "Manager", unit=unit)
        unit.head_id = self.boss.id
        self.boss_user = make_user(Permission.MANAGER, person=self.boss)
        self.learner = make_person("Lee", "Learner", unit=unit, manager=self.boss)
        self.user = make_user(Permission.LEARNER, person=self.learner)
        self.other = make_person("Otto", "Other", unit=make_unit("Finance"))
        self.other_user = make_user(Permission.LEARNER, person=self.other)
        self.stranger_boss = make_user(Permission.MANAGER, person=make_person("Max", "Elsewhere"))
        self.trainer = make_user(Permission.TRAINER, person=make_person("Tia", "Trainer"))
        self.assessment = make_assessment(
            self.bank, certifies={"GOV-05": 2}, shuffle_options=True, shuffle_items=True
        )


@pytest.fixture
def world(session):
    return World()


def token(page) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def start(client, world, assessment=None) -> int:
    """Start (or resume) through the start page; the attempt's id."""
    assessment = assessment or world.assessment
    url = f"/assessments/{assessment.id}/start"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, data={"csrf_token": token(page)})
    assert response.status_code == 302, response.text
    return int(re.search(r"/attempts/(\d+)", response.headers["Location"]).group(1))


def attempt_rows(attempt_id) -> list[AttemptItem]:
    return list(
        db.session.scalars(
            select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt_id)
            .order_by(AttemptItem.position)
        )
    )


def page_fields(attempt_id, answers: dict[int, object]) -> dict:
    """The form fields giving ``answers`` (attempt item id -> answer in the item's terms),
    as the attempt page would post them."""
    attempt = db.session.get(Attempt, attempt_id)
    shown = {i.id: i for i in shown_items(db.session, attempt, None)}
    data: dict = {"section": "all"}
    for item_id, answer in answers.items():
        data.update(form_fields(shown[item_id], answer))
    return data


def answer_everything(client, attempt_id, right=True):
    page = client.get(f"/attempts/{attempt_id}?section=all")
    answers = {}
    for row in attempt_rows(attempt_id):
        item = content_of_item(row)
        answers[row.id] = item.key() if right else wrong_answer(item)
    data = {**page_fields(attempt_id, answers), "csrf_token": token(page), "go": ""}
    response = client.post(f"/attempts/{attempt_id}", data=data)
    assert response.status_code == 302
    return response


def submit(client, attempt_id):
    page = client.get("/assessments")
    return client.post(
        f"/attempts/{attempt_id}/submit", data={"csrf_token": token(page), "confirmed": "1"}
    )


class Labels(HTMLParser):
    """Every form control of a page and every label's ``for``."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"])
        if tag == "select" or (tag == "input" and a.get("type") in ("radio", "checkbox")):
            self.controls.append({"tag": tag, **a})


def text_of(html: str) -> str:
    """The page's text as read: tags dropped, white space run together."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def review_numbers(html: str) -> list[int]:
    """The numbers of the questions the review shows, in order."""
    return [int(n) for n in re.findall(r'<h3 class="h6">Question (\d+) <span', html)]


def answer_some_wrong(client, attempt_id, wrong: set[int]) -> None:
    """Every question answered through the page (no script), those at the positions
    ``wrong`` (1-based question numbers) wrongly and the others rightly."""
    page = client.get(f"/attempts/{attempt_id}?section=all")
    answers = {}
    for n, row in enumerate(attempt_rows(attempt_id), 1):
        item = content_of_item(row)
        answers[row.id] = wrong_answer(item) if n in wrong else item.key()
    data = {**page_fields(attempt_id, answers), "csrf_token": token(page), "go": ""}
    assert client.post(f"/attempts/{attempt_id}", data=data).status_code == 302


# --- the start page and my assessments -----------------------------------------------------------


def test_my_assessments_lists_what_is_open_and_my_attempts(client, world):
    log_in(client, world.user)
    page = client.get("/assessments")
    assert page.status_code == 200
    assert world.assessment.title in page.text
    assert "You have not taken an assessment yet" in page.text
    attempt_id = start(client, world)
    page = client.get("/assessments")
    assert f"/attempts/{attempt_id}" in page.text and "In progress" in page.text


def test_the_start_page_states_the_format_the_rules_and_the_attempts_left(client, world):
    log_in(client, world.user)
    page = client.get(f"/assessments/{world.assessment.id}/start")
    assert page.status_code == 200
    text = page.text
    assert "12 questions" in text
    assert "Time limit: 30 minutes" in text
    assert "Pass mark: 50% of the marks (6 of 12)" in text
    assert "<strong>3</strong> of 3 attempts left" in text
    assert CERTIFICATION_RULE in text
    assert "GOV-05" in text and "level 2" in text
    assert "After you submit, you can review every question" in text


def test_a_second_start_resumes_the_attempt_in_progress(client, world):
    log_in(client, world.user)
    first = start(client, world)
    again = start(client, world)
    assert first == again
    assert "carry on where you left off" in client.get(f"/attempts/{first}").text
    assert len(db.session.scalars(select(Attempt)).all()) == 1


def test_a_refused_start_says_why_and_when(client, world):
    assessment = make_assessment(world.bank, attempt_limit=3, wait_minutes=24 * 60)
    log_in(client, world.user)
    attempt_id = start(client, world, assessment)
    submit(client, attempt_id)
    page = client.get(f"/assessments/{assessment.id}/start")
    assert "You may start your next attempt at" in page.text
    assert 'data-testid="start"' not in page.text
    response = client.post(f"/assessments/{assessment.id}/start", data={"csrf_token": token(page)})
    assert response.status_code == 302
    assert "between attempts" in client.get(response.headers["Location"]).text
    assert len(db.session.scalars(select(Attempt)).all()) == 1


def test_a_draft_assessment_has_no_start_page(client, world):
    from app.assessment.models import AssessmentStatus

    draft = make_assessment(world.bank, status=AssessmentStatus.DRAFT)
    log_in(client, world.user)
    assert client.get(f"/assessments/{draft.id}/start").status_code == 404


# --- the attempt page -----------------------------------------------------------------------------


def test_the_attempt_page_is_usable_by_keyboard_with_real_labelled_inputs(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    page = client.get(f"/attempts/{attempt_id}")
    assert page.status_code == 200
    parser = Labels()
    parser.feed(page.text)
    kinds = {(c["tag"], c.get("type")) for c in parser.controls}
    assert kinds == {("input", "radio"), ("input", "checkbox"), ("select", None)}
    unlabelled = [c for c in parser.controls if c.get("id") not in parser.labelled]
    assert unlabelled == []
    assert page.text.count("<fieldset") == 12 and page.text.count("<legend") == 12
    # matching: a select per premise; sequencing: a number select per step
    assert re.search(r'<option value="">— choose —</option>', page.text)
    assert re.search(r'<option value="4">4</option>', page.text)
    # works without script: a real save button, and no inline script
    assert 'data-testid="save"' in page.text and 'type="submit"' in page.text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None
    assert "js/attempt.js" in page.text


def test_the_attempt_page_shows_the_servers_deadline(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    page = client.get(f"/attempts/{attempt_id}")
    assert 'data-testid="clock"' in page.text
    assert re.search(r'data-seconds-left="(17\d\d|1800)"', page.text)
    assert "The attempt closes at" in page.text


def test_answers_saved_by_the_page_are_stored_in_the_items_terms(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    response = answer_everything(client, attempt_id, right=True)
    assert response.headers["Location"].endswith(f"/attempts/{attempt_id}?section=all")
    db.session.expire_all()
    for row in attempt_rows(attempt_id):
        item = content_of_item(row)
        key = item.key()
        assert row.answer == (sorted(key) if item.type == "multiple" else key), item.id
        assert row.revision == 1
    page = client.get(f"/attempts/{attempt_id}?section=all")
    assert "12 answers saved." in page.text
    assert "12 of 12 questions answered" in page.text
    assert page.text.count(" checked") >= 8


def test_a_page_with_a_bad_answer_comes_back_with_the_message_and_saves_nothing(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    rows = attempt_rows(attempt_id)
    seq = next(r for r in rows if content_of_item(r).type == "sequencing")
    single = next(r for r in rows if content_of_item(r).type == "single")
    page = client.get(f"/attempts/{attempt_id}")
    data = {**page_fields(attempt_id, {single.id: 0}), "csrf_token": token(page), "go": ""}
    data.update({f"r{seq.id}": "0", f"a{seq.id}-0": "1", f"a{seq.id}-1": "1"})
    response = client.post(f"/attempts/{attempt_id}", data=data)
    assert response.status_code == 200
    assert "Give each step a different position, from 1 to 4." in response.text
    assert "nothing on this page was saved" in response.text
    db.session.expire_all()
    assert all(r.answer is None for r in attempt_rows(attempt_id))


def test_a_stale_tab_cannot_overwrite_the_answer_saved_in_another(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    row = next(r for r in attempt_rows(attempt_id) if content_of_item(r).type == "single")
    old_tab = client.get(f"/attempts/{attempt_id}?section=all")
    stale_data = {**page_fields(attempt_id, {row.id: 1}), "csrf_token": token(old_tab), "go": ""}
    # the other tab saves first
    fresh = {**page_fields(attempt_id, {row.id: 2}), "csrf_token": token(old_tab), "go": ""}
    client.post(f"/attempts/{attempt_id}", data=fresh)
    response = client.post(f"/attempts/{attempt_id}", data=stale_data)
    page = client.get(response.headers["Location"])
    assert "changed in another window or tab" in page.text
    db.session.expire_all()
    saved = db.session.get(AttemptItem, row.id)
    assert (saved.answer, saved.revision) == (2, 1)


def test_the_autosave_saves_one_answer_and_refuses_a_stale_one(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    row = next(r for r in attempt_rows(attempt_id) if content_of_item(r).type == "multiple")
    page = client.get(f"/attempts/{attempt_id}")
    url = f"/attempts/{attempt_id}/autosave"
    item = content_of_item(row)
    data = {**page_fields(attempt_id, {row.id: item.key()}), "item": row.id}
    data["csrf_token"] = token(page)
    ok = client.post(url, data=data)
    assert ok.status_code == 200 and ok.json == {"ok": True, "revision": 1}
    # The same answer sent again from the page's old revision (the page's Save button and
    # its script racing): not a conflict, nothing written, the current revision returned.
    again = client.post(url, data=data)
    assert again.status_code == 200 and again.json == {"ok": True, "revision": 1}
    stale = client.post(url, data={**data, f"a{row.id}": data[f"a{row.id}"][:1]})
    assert stale.status_code == 409
    assert stale.json["stale"] is True and stale.json["revision"] == 1
    assert set(stale.json) == {"ok", "stale", "revision", "message"}
    bad = client.post(url, data={**data, f"r{row.id}": "1", f"a{row.id}": ["0", "1", "2"]})
    assert bad.status_code == 400 and bad.json["message"] == "Choose at most 2 options."
    db.session.expire_all()
    assert db.session.get(AttemptItem, row.id).answer == sorted(item.key())
    # without the CSRF token nothing is saved
    assert client.post(url, data={**data, "csrf_token": "x"}).status_code == 400


def test_an_attempt_in_sections_is_paged_and_the_buttons_save_and_move(client, world):
    assessment = make_assessment(
        world.bank, sections=[{"count": 6, "topics": ["A"], "title": "Basics"}, {"count": 6}]
    )
    log_in(client, world.user)
    attempt_id = start(client, world, assessment)
    page = client.get(f"/attempts/{attempt_id}")
    assert page.text.count("<fieldset") == 6
    assert "Basics" in page.text and "Next section →" in text_of(page.text)
    first = attempt_rows(attempt_id)[0]
    data = {**page_fields(attempt_id, {first.id: 0}), "csrf_token": token(page)}
    data.update(section="0", go="1")
    response = client.post(f"/attempts/{attempt_id}", data=data)
    assert response.headers["Location"].endswith("?section=1")
    second = client.get(response.headers["Location"])
    assert "Question 7" in second.text and "Question 1 " not in second.text
    assert "(1/6 answered)" in text_of(second.text)
    all_page = client.get(f"/attempts/{attempt_id}?section=all")
    assert all_page.text.count("<fieldset") == 12


def test_a_scenarios_case_is_shown_once_above_its_items(client, world):
    from app.assessment.models import DrawUnit

    assessment = make_assessment(world.bank, sections=[{"count": 1, "unit": DrawUnit.SCENARIO}])
    log_in(client, world.user)
    attempt_id = start(client, world, assessment)
    page = client.get(f"/attempts/{attempt_id}")
    assert page.text.count('<h2 class="h5">Case: Case ') == 1
    assert "a water company sets up its office" in page.text
    assert page.text.count("<fieldset") == 5


# --- submitting, the result and the review -------------------------------------------------------


def test_submitting_asks_first_then_scores_and_shows_the_result(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    answer_everything(client, attempt_id, right=True)
    confirm = client.get(f"/attempts/{attempt_id}/submit")
    assert "You have answered 12 of 12 questions." in confirm.text
    assert "cannot be changed" in confirm.text
    asked = client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token(confirm)})
    assert asked.status_code == 200 and 'data-testid="confirmation"' in asked.text
    assert db.session.get(Attempt, attempt_id).status == AttemptStatus.IN_PROGRESS
    done = client.post(
        f"/attempts/{attempt_id}/submit", data={"csrf_token": token(confirm), "confirmed": "1"}
    )
    assert done.headers["Location"].endswith(f"/attempts/{attempt_id}/result")
    result = client.get(done.headers["Location"])
    assert "Your answers have been submitted." in result.text
    assert "12 of 12" in result.text and "Passed" in result.text
    assert "pass mark 50% (6 of 12)" in result.text
    assert 'data-testid="by-section"' in result.text and "Part 1" in result.text
    assert 'data-testid="by-competency"' in result.text and "CTL-01" in result.text
    assert "Level 2 certified" in result.text
    assert CERTIFICATION_RULE in result.text
    evidence = db.session.scalars(select(Evidence)).all()
    assert [(e.competency_code, e.level) for e in evidence] == [("GOV-05", 2)]
    # the review: keys and rationales, after submission
    assert 'data-testid="review"' in result.text
    assert [m for m in world.markers.reviewed() if m not in result.text] == []
    assert [m for m in world.markers.notes if m in result.text] == []
    # the attempt page now leads to the result, and a save is refused
    assert client.get(f"/attempts/{attempt_id}").headers["Location"].endswith("/result")


def test_unanswered_questions_are_named_before_submitting(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    page = client.get(f"/attempts/{attempt_id}/submit")
    assert "You have answered 0 of 12 questions." in page.text
    assert "Not answered: question 1, 2, 3" in page.text


def test_a_second_submit_gets_a_plain_answer(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    submit(client, attempt_id)
    again = submit(client, attempt_id)
    assert again.status_code == 302
    assert "had already been submitted" in client.get(again.headers["Location"]).text


@pytest.mark.parametrize(
    "policy, shown", [(FeedbackPolicy.NONE, False), (FeedbackPolicy.AFTER_CLOSE, False)]
)
def test_the_review_waits_for_the_feedback_policy(client, world, policy, shown):
    assessment = make_assessment(
        world.bank, feedback=policy, closes_at=datetime.now(UTC) + timedelta(days=1)
    )
    log_in(client, world.user)
    attempt_id = start(client, world, assessment)
    answer_everything(client, attempt_id)
    submit(client, attempt_id)
    result = client.get(f"/attempts/{attempt_id}/result")
    assert result.status_code == 200 and "12 of 12" in result.text
    assert MARKER not in result.text
    assert 'data-testid="review-closed"' in result.text
    if policy == FeedbackPolicy.AFTER_CLOSE:
        assert "once the assessment closes" in result.text
        assessment.opens_at = datetime.now(UTC) - timedelta(days=3)
        assessment.closes_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
        reopened = client.get(f"/attempts/{attempt_id}/result")
        assert world.markers.all[0] in reopened.text
    else:
        assert "does not show its answers" in result.text


# --- the clock -----------------------------------------------------------------------------------


def test_an_attempt_past_its_time_is_closed_when_it_is_next_read(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    answer_everything(client, attempt_id, right=True)
    attempt = db.session.get(Attempt, attempt_id)
    attempt.started_at = datetime.now(UTC) - timedelta(hours=2)
    attempt.deadline = datetime.now(UTC) - timedelta(minutes=5)
    db.session.commit()
    page = client.get(f"/attempts/{attempt_id}")
    assert page.headers["Location"].endswith("/result")
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == AttemptStatus.TIMED_OUT
    assert attempt.finished_at == attempt.deadline and attempt.marks == 12
    result = client.get(f"/attempts/{attempt_id}/result")
    assert "closed at the deadline with the answers saved by then" in result.text


def test_a_save_after_the_time_is_up_is_refused(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    row = attempt_rows(attempt_id)[0]
    page = client.get(f"/attempts/{attempt_id}")
    attempt = db.session.get(Attempt, attempt_id)
    attempt.started_at = datetime.now(UTC) - timedelta(hours=2)
    attempt.deadline = datetime.now(UTC) - timedelta(minutes=5)
    db.session.commit()
    data = {**page_fields(attempt_id, {row.id: 0}), "csrf_token": token(page), "go": ""}
    response = client.post(f"/attempts/{attempt_id}", data=data)
    assert response.headers["Location"].endswith("/result")
    assert "Time is up" in client.get(response.headers["Location"]).text
    auto = client.post(f"/attempts/{attempt_id}/autosave", data={**data, "item": row.id})
    assert auto.status_code == 409 and auto.json["closed"] is True
    db.session.expire_all()
    assert db.session.get(AttemptItem, row.id).answer is None


# --- who may reach which attempt -----------------------------------------------------------------


def _finished_attempt(client, world) -> int:
    log_in(client, world.user)
    attempt_id = start(client, world)
    answer_everything(client, attempt_id)
    submit(client, attempt_id)
    return attempt_id


def test_another_learner_gets_a_404_for_every_route_of_an_attempt(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    row = attempt_rows(attempt_id)[0]
    log_in(client, world.other_user)
    page = client.get("/assessments")
    csrf = token(page)
    for url in (
        f"/attempts/{attempt_id}",
        f"/attempts/{attempt_id}/submit",
        f"/attempts/{attempt_id}/result",
        "/attempts/999999",
        "/attempts/999999/result",
    ):
        assert client.get(url).status_code == 404, url
    posts = {
        f"/attempts/{attempt_id}": {"section": "all", f"r{row.id}": "0", f"a{row.id}": "0"},
        f"/attempts/{attempt_id}/autosave": {"item": row.id, f"r{row.id}": "0", f"a{row.id}": "0"},
        f"/attempts/{attempt_id}/submit": {"confirmed": "1"},
    }
    for url, data in posts.items():
        assert client.post(url, data={**data, "csrf_token": csrf}).status_code == 404, url
    db.session.expire_all()
    assert db.session.get(AttemptItem, row.id).answer is None
    assert db.session.get(Attempt, attempt_id).status == AttemptStatus.IN_PROGRESS


def test_a_manager_sees_their_peoples_results_but_not_others(client, world):
    attempt_id = _finished_attempt(client, world)
    log_in(client, world.boss_user)
    assert client.get(f"/attempts/{attempt_id}/result").status_code == 200
    assert client.get(f"/attempts/{attempt_id}").status_code == 404  # the attempt is theirs
    listing = client.get("/assessments/results")
    assert listing.status_code == 200 and "Lee Learner" in listing.text
    log_in(client, world.stranger_boss)
    assert client.get(f"/attempts/{attempt_id}/result").status_code == 404
    assert "Lee Learner" not in client.get("/assessments/results").text


def test_a_trainer_sees_everyones_results_and_a_learner_no_list(client, world):
    attempt_id = _finished_attempt(client, world)
    log_in(client, world.trainer)
    assert client.get(f"/attempts/{attempt_id}/result").status_code == 200
    assert "Lee Learner" in client.get("/assessments/results").text
    log_in(client, world.other_user)
    assert client.get("/assessments/results").status_code == 403
    assert client.get(f"/attempts/{attempt_id}/result").status_code == 404


def test_the_review_of_a_finished_attempt_closes_while_the_next_is_in_progress(client, world):
    """The items of a second attempt largely repeat the first's: its review (the key and the
    rationales) must not be open beside the attempt being answered."""
    assessment = make_assessment(world.bank, attempt_limit=3, wait_minutes=0)
    log_in(client, world.user)
    first = start(client, world, assessment)
    answer_everything(client, first, right=False)
    submit(client, first)
    assert world.markers.all[0] in client.get(f"/attempts/{first}/result").text

    second = start(client, world, assessment)
    assert second != first
    result = client.get(f"/attempts/{first}/result")
    assert result.status_code == 200
    assert not [m for m in world.markers.all if m in result.text]
    assert 'data-testid="review-closed"' in result.text

    answer_everything(client, second)
    submit(client, second)
    assert world.markers.all[0] in client.get(f"/attempts/{first}/result").text


# --- the section navigation and the review per section (no script) -----------------------------


def _two_sections(world):
    return make_assessment(
        world.bank, sections=[{"count": 6, "topics": ["A"], "title": "Basics"}, {"count": 6}]
    )


def test_the_section_navigation_is_short_on_a_phone_and_its_counts_follow_the_saves(client, world):
    """Each section is one button: its title and "(n/6 answered)" on a wide screen, a
    short "1 · n/6" on a phone (the title kept for a screen reader). The page's count of
    answered questions is a polite live region that attempt.js keeps up to date; without
    script a save brings the counts back from the server."""
    log_in(client, world.user)
    attempt_id = start(client, world, _two_sections(world))
    page = client.get(f"/attempts/{attempt_id}")
    html = page.text
    assert "css/attempt.css" in html and "js/attempt.js" in html
    nav = html[html.index('<nav aria-label="Sections"') :]
    nav = nav[: nav.index("</nav>")]
    buttons = re.findall(r"<button[^>]*>.*?</button>", nav, flags=re.S)
    assert len(buttons) == 3  # two sections and "all on one page"
    first, second, every = buttons
    assert 'name="go" value="0"' in first and 'aria-current="page"' in first
    assert 'aria-current="page"' not in second
    assert '<span class="section-number" aria-hidden="true">1 · </span>' in first
    assert '<span class="section-title">Basics </span>' in first
    assert text_of(first) == "1 · Basics (0/6 answered)"
    assert text_of(second) == "2 · Part 2 (0/6 answered)"
    assert 'value="all"' in every and "All questions on one page" in every
    assert '<span data-section-answered="1">0</span>' in second
    assert "Section 1 of 2: Basics" in html
    live = re.search(r'<span aria-live="polite" aria-atomic="true" data-answered-count[^>]*>', html)
    assert live and "0 of 12 questions answered" in html
    # the questions say which section they are in and whether they are answered
    assert html.count('data-section="0" data-answered="0"') == 6

    rows = attempt_rows(attempt_id)
    data = {**page_fields(attempt_id, {rows[0].id: 0, rows[1].id: 1}), "csrf_token": token(page)}
    data.update(section="0", go="")
    response = client.post(f"/attempts/{attempt_id}", data=data)
    again = client.get(response.headers["Location"]).text
    assert "2 of 12 questions answered" in again
    assert '<span data-section-answered="0">2</span>' in again
    assert text_of(again).count("(2/6 answered)") == 1
    assert again.count('data-section="0" data-answered="1"') == 2
    every_page = client.get(f"/attempts/{attempt_id}?section=all").text
    assert "All 12 questions" in every_page
    assert 'value="all"' in every_page and every_page.count('aria-current="page"') == 1


def test_the_review_is_one_closed_section_each_under_the_score(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world, _two_sections(world))
    answer_some_wrong(client, attempt_id, wrong={2, 3, 9})
    submit(client, attempt_id)
    result = client.get(f"/attempts/{attempt_id}/result").text
    # the score, the breakdown and the rule come before the review
    review_at = result.index('id="review"')
    for mark in ('data-testid="score"', 'data-testid="by-section"', CERTIFICATION_RULE):
        assert result.index(mark) < review_at
    sections = re.findall(r'<details class="card shadow-sm mb-3 review-section"[^>]*>', result)
    assert len(sections) == 2 and not any(" open" in d for d in sections)
    text = text_of(result)
    assert "Basics · 4 of 6 correct Not correct: question 2, 3" in text
    assert "Part 2 · 5 of 6 correct Not correct: question 9" in text
    assert review_numbers(result) == list(range(1, 13))  # all there, to open
    assert f'href="/attempts/{attempt_id}/result?review=wrong#review"' in result
    assert "Show only the questions I got wrong (3)" in text

    # a trainer reading it is offered the same, in the third person
    log_in(client, world.trainer)
    theirs = text_of(client.get(f"/attempts/{attempt_id}/result").text)
    assert "Show only the questions they got wrong (3)" in theirs


def test_review_wrong_shows_only_the_questions_not_got_right(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world, _two_sections(world))
    answer_some_wrong(client, attempt_id, wrong={2, 3, 9})
    submit(client, attempt_id)
    result = client.get(f"/attempts/{attempt_id}/result?review=wrong")
    assert result.status_code == 200
    html = result.text
    assert review_numbers(html) == [2, 3, 9]
    sections = re.findall(r'<details class="card shadow-sm mb-3 review-section"[^>]*>', html)
    assert len(sections) == 2
    assert " open" in sections[0] and " open" not in sections[1]  # the first wrong ones, open
    text = text_of(html)
    assert "Showing the 3 questions you did not get right, of 12." in text
    assert f'href="/attempts/{attempt_id}/result#review"' in html  # back to all
    assert "Show all 12 questions" in text
    # the score and the rule are still at the top
    assert "9 of 12" in text and CERTIFICATION_RULE in text


def test_review_wrong_with_nothing_wrong_says_so(client, world):
    log_in(client, world.user)
    attempt_id = start(client, world)
    answer_everything(client, attempt_id, right=True)
    submit(client, attempt_id)
    result = client.get(f"/attempts/{attempt_id}/result").text
    assert "got wrong" not in result
    assert "You got every question right." in text_of(result)
    wrong = client.get(f"/attempts/{attempt_id}/result?review=wrong").text
    assert review_numbers(wrong) == []
    assert "You got every question right." in text_of(wrong)


def test_review_wrong_does_not_open_a_closed_review(client, world):
    assessment = make_assessment(world.bank, feedback=FeedbackPolicy.NONE)
    log_in(client, world.user)
    attempt_id = start(client, world, assessment)
    answer_everything(client, attempt_id, right=False)
    submit(client, attempt_id)
    result = client.get(f"/attempts/{attempt_id}/result?review=wrong").text
    assert 'data-testid="review-closed"' in result
    assert review_numbers(result) == [] and "got wrong" not in result
    assert not [m for m in world.markers.all if m in result]
