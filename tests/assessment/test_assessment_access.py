"""Whose attempts a user reaches: a learner only ever their own (anyone else's attempt,
answer page, result or review is a 404, no name shown, and a POST to it changes nothing);
a manager the results of their own people only; a trainer everyone's. And no route shows
its learner the key or a rationale of an attempt in progress."""

from __future__ import annotations

import pytest

from app.assessment.models import Attempt, AttemptItem, AttemptStatus
from app.extensions import db
from tests.assessment.attempt_factories import MARKER
from tests.assessment.test_key_secrecy import KEY_FIELD
from tests.assessment.test_taking_views import (
    World,
    answer_everything,
    attempt_rows,
    page_fields,
    start,
    submit,
    token,
)
from tests.conftest import log_in

REFUSED = {403, 404}


@pytest.fixture
def world(session):
    return World()


@pytest.fixture
def attempts(client, world):
    """Lee's submitted attempt and the one he has in progress: (finished id, open id)."""
    log_in(client, world.user)
    finished = start(client, world)
    answer_everything(client, finished)
    assert submit(client, finished).status_code == 302
    in_progress = start(client, world)
    assert in_progress != finished
    client.post("/logout", data={"csrf_token": token(client.get("/assessments"))})
    return finished, in_progress


def attempt_pages(finished: int, in_progress: int) -> list[str]:
    return [
        f"/attempts/{in_progress}",
        f"/attempts/{in_progress}?section=all",
        f"/attempts/{in_progress}?section=0",
        f"/attempts/{in_progress}/submit",
        f"/attempts/{in_progress}/result",
        f"/attempts/{finished}",
        f"/attempts/{finished}/submit",
        f"/attempts/{finished}/result",  # the result with its review
    ]


def snapshot(attempt_id: int) -> tuple:
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    answers = tuple((r.id, r.answer, r.revision) for r in attempt_rows(attempt_id))
    return attempt.status, attempt.finished_at, attempt.marks, attempt.passed, answers


def test_a_learner_never_fetches_another_learners_attempt(client, world, attempts):
    log_in(client, world.other_user)
    for url in attempt_pages(*attempts):
        page = client.get(url)
        assert page.status_code in REFUSED, url
        assert "Lee" not in page.text and "Learner" not in page.text.replace("learner", ""), url
    # nor do their own pages name Lee or his attempts
    for url in ("/assessments", f"/assessments/{world.assessment.id}/start"):
        page = client.get(url)
        assert page.status_code == 200 and "Lee" not in page.text, url
        assert f"/attempts/{attempts[0]}" not in page.text, url
        assert f"/attempts/{attempts[1]}" not in page.text, url


def test_a_learner_cannot_answer_or_submit_another_learners_attempt(client, world, attempts):
    finished, in_progress = attempts
    before = {a: snapshot(a) for a in attempts}
    row = attempt_rows(in_progress)[0]
    log_in(client, world.other_user)
    csrf = token(client.get("/assessments"))
    for attempt_id in attempts:
        posts = {
            f"/attempts/{attempt_id}": {
                **page_fields(in_progress, {row.id: 0}),
                "go": "finish",
            },
            f"/attempts/{attempt_id}/autosave": {
                **page_fields(in_progress, {row.id: 0}),
                "item": row.id,
            },
            f"/attempts/{attempt_id}/submit": {"confirmed": "1"},
        }
        for url, data in posts.items():
            response = client.post(url, data={**data, "csrf_token": csrf})
            assert response.status_code in REFUSED, url
            assert "Lee" not in response.get_data(as_text=True), url
    assert {a: snapshot(a) for a in attempts} == before
    assert snapshot(in_progress)[0] == AttemptStatus.IN_PROGRESS


def test_a_manager_sees_the_results_of_their_own_people_only(client, world, attempts):
    finished, in_progress = attempts
    log_in(client, world.boss_user)
    result = client.get(f"/attempts/{finished}/result")
    assert result.status_code == 200 and "Lee Learner" in result.text
    assert client.get(f"/attempts/{in_progress}/result").status_code == 200
    # the result, never the attempt itself: that is the learner's
    for url in (f"/attempts/{in_progress}", f"/attempts/{in_progress}/submit"):
        assert client.get(url).status_code in REFUSED, url
    listing = client.get(f"/assessments/results?assessment={world.assessment.id}")
    assert listing.status_code == 200 and "Lee Learner" in listing.text

    log_in(client, world.stranger_boss)
    for url in attempt_pages(finished, in_progress):
        page = client.get(url)
        assert page.status_code in REFUSED, url
        assert "Lee" not in page.text, url
    listing = client.get("/assessments/results")
    assert listing.status_code == 200 and "Lee Learner" not in listing.text


def test_a_trainer_sees_everyones_results(client, world, attempts):
    finished, in_progress = attempts
    log_in(client, world.other_user)
    other = start(client, world)
    log_in(client, world.trainer)
    for attempt_id in (finished, in_progress, other):
        assert client.get(f"/attempts/{attempt_id}/result").status_code == 200
        # but never answers for anyone
        assert client.get(f"/attempts/{attempt_id}").status_code in REFUSED
    listing = client.get("/assessments/results")
    assert "Lee Learner" in listing.text


def assert_no_key(url: str, body: str) -> None:
    assert MARKER not in body, f"a rationale or feedback marker in {url}"
    assert not KEY_FIELD.search(body), f"a key field in {url}"


def test_no_page_of_an_attempt_in_progress_shows_its_learner_a_key(client, world):
    log_in(client, world.user)
    in_progress = start(client, world)
    rows = attempt_rows(in_progress)
    urls = [
        "/assessments",
        f"/assessments/{world.assessment.id}/start",
        f"/attempts/{in_progress}",
        f"/attempts/{in_progress}?section=all",
        *(f"/attempts/{in_progress}?section={s}" for s in sorted({r.section for r in rows})),
        f"/attempts/{in_progress}/submit",
        f"/attempts/{in_progress}/result",
    ]
    for url in urls:
        page = client.get(url, follow_redirects=True)
        assert page.status_code == 200, url
        assert_no_key(url, page.text)
    csrf = token(client.get(f"/attempts/{in_progress}"))
    row = rows[0]
    fields = page_fields(in_progress, {row.id: 0})
    for url, data in {
        f"/attempts/{in_progress}": {**fields, "go": ""},
        f"/attempts/{in_progress}/autosave": {**fields, "item": row.id},
        f"/attempts/{in_progress}/submit": {},  # not confirmed: the confirmation page
    }.items():
        response = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=True)
        assert response.status_code in (200, 400, 409), url  # autosave: JSON refusals too
        assert_no_key(url, response.get_data(as_text=True))
    assert db.session.get(AttemptItem, row.id) is not None
