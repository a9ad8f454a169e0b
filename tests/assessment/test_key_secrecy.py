"""Nothing sent to the browser before submission reveals the key.

Every rationale, every feedback text and every author's note of the bank carries a unique
marker string (a key itself is a flag or an id, where no marker fits: instead no response
may carry a ``correct``, ``pairs``, ``answer``, ``rationale`` or ``key`` field, a response id
of a matching item, or a sequencing item's steps in their correct order). A learner's whole
attempt is walked — every page and every POST the attempt has, the autosave's JSON, the
refusals, the script — and every response body is searched. After submission the review
shows the markers when the feedback policy allows, and never when it does not, which also
shows the search would find them.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Permission
from app.assessment.models import AttemptItem, DrawUnit, FeedbackPolicy
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
from tests.assessment.test_taking_views import page_fields, token
from tests.conftest import log_in
from tests.factories import make_person, make_unit, make_user

#: A field that would carry a key: a JSON or script key, an attribute, a form field's name
#: (prose such as "a wholly correct answer: ..." is not one).
_KEYS = r"(correct|pairs|answer|answers|rationales?|key|keys)"
KEY_FIELD = re.compile(
    rf"""["']{_KEYS}["']\s*:|\b(data-)?{_KEYS}\s*=\s*["']|name=["']{_KEYS}["']""",
    re.IGNORECASE,
)
RESPONSE_ID = re.compile(r"""(value|data-[a-z-]+)=["']R\d["']""")
STEPS = ["Step alpha", "Step bravo", "Step charlie", "Step delta"]
RESPONSES = ["Response one", "Response two", "Response three"]


class Walk:
    """A client that keeps every response body it receives, following redirects."""

    def __init__(self, client):
        self.client = client
        self.seen: list[tuple[str, str, int, str]] = []

    def _keep(self, method, url, response):
        self.seen.append((method, url, response.status_code, response.get_data(as_text=True)))
        response.close()
        if response.status_code in (301, 302, 303) and "Location" in response.headers:
            return self.get(response.headers["Location"])
        return response

    def get(self, url):
        return self._keep("GET", url, self.client.get(url))

    def post(self, url, data):
        return self._keep("POST", url, self.client.post(url, data=data))


def assert_keeps_the_key(walk: Walk, markers) -> None:
    for method, url, status, body in walk.seen:
        where = f"{method} {url} ({status})"
        assert MARKER not in body, f"a marker leaked in {where}"
        assert not KEY_FIELD.search(body), f"a key field in {where}: {KEY_FIELD.search(body)}"
        assert not RESPONSE_ID.search(body), f"a response id in {where}"
        positions = [body.find(s) for s in STEPS]
        if all(p >= 0 for p in positions):
            assert positions != sorted(positions), f"steps in the key's order in {where}"
        selects = re.findall(r"<select[^>]*>(.*?)</select>", body, re.S)
        for options in selects:
            texts = re.findall(r"<option[^>]*>([^<]*)</option>", options)
            assert texts[1:4] != RESPONSES, f"matching responses in the key's order in {where}"


@pytest.fixture
def world(session):
    load_framework_files()
    bank, content, markers = make_bank()
    unit = make_unit("Office")
    boss = make_person("Mia", "Manager", unit=unit)
    unit.head_id = boss.id
    learner = make_person("Lee", "Learner", unit=unit, manager=boss)
    return {
        "bank": bank,
        "markers": markers,
        "user": make_user(Permission.LEARNER, person=learner),
        "boss": make_user(Permission.MANAGER, person=boss),
    }


def take_attempt(client, world, assessment) -> tuple[Walk, int]:
    """Walk a whole attempt up to (not including) the submission; the walk and the id."""
    walk = Walk(client)
    log_in(client, world["user"])
    walk.get("/assessments")
    start_page = walk.get(f"/assessments/{assessment.id}/start")
    attempt_page = walk.post(
        f"/assessments/{assessment.id}/start", {"csrf_token": token(start_page)}
    )
    attempt_id = int(re.search(r"/attempts/(\d+)/autosave", attempt_page.text).group(1))
    csrf = token(attempt_page)
    rows = list(
        db.session.scalars(
            select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt_id)
            .order_by(AttemptItem.position)
        )
    )
    walk.get(f"/attempts/{attempt_id}?section=all")
    for section in sorted({r.section for r in rows}):
        walk.get(f"/attempts/{attempt_id}?section={section}")
    walk.get(f"/attempts/{attempt_id}/result")  # in progress: back to the attempt
    # a page save with every answer (half right, half wrong), then a bad one
    answers = {
        r.id: (content_of_item(r).key() if n % 2 else wrong_answer(content_of_item(r)))
        for n, r in enumerate(rows)
    }
    walk.post(
        f"/attempts/{attempt_id}",
        {**page_fields(attempt_id, answers), "csrf_token": csrf, "go": ""},
    )
    seq = next(r for r in rows if content_of_item(r).type == "sequencing")
    walk.post(
        f"/attempts/{attempt_id}",
        {"csrf_token": csrf, "section": "all", f"r{seq.id}": "1", f"a{seq.id}-0": "1"},
    )
    # the autosave of every item: saved, then stale, then unreadable
    from app.assessment.attempt_queries import shown_items
    from app.assessment.models import Attempt

    db.session.expire_all()
    shown = {i.id: i for i in shown_items(db.session, db.session.get(Attempt, attempt_id), None)}
    for row in rows:
        item = content_of_item(row)
        fields = form_fields(shown[row.id], item.key())
        data = {**fields, "item": row.id, "csrf_token": csrf}
        walk.post(f"/attempts/{attempt_id}/autosave", data)
        # another answer from the page's old revision: refused as changed elsewhere
        other = form_fields(shown[row.id], wrong_answer(item))
        walk.post(
            f"/attempts/{attempt_id}/autosave",
            {**other, "item": row.id, "csrf_token": csrf, f"r{row.id}": "0"},
        )
    single = next(r for r in rows if content_of_item(r).type == "single")
    walk.post(
        f"/attempts/{attempt_id}/autosave",
        {"item": single.id, f"r{single.id}": "9", f"a{single.id}": "x", "csrf_token": csrf},
    )
    walk.get(f"/attempts/{attempt_id}/submit")
    walk.post(f"/attempts/{attempt_id}/submit", {"csrf_token": csrf})  # not confirmed
    walk.get("/static/js/attempt.js")
    walk.get("/assessments")
    return walk, attempt_id


def secrecy_assessment(world, feedback, shuffle):
    return make_assessment(
        world["bank"],
        feedback=feedback,
        shuffle_items=shuffle,
        shuffle_options=shuffle,
        sections=[{"count": 12}, {"count": 2, "unit": DrawUnit.SCENARIO}],
    )


@pytest.mark.parametrize("shuffle", [False, True], ids=["in-order", "shuffled"])
def test_nothing_before_submission_reveals_the_key(client, world, shuffle):
    assessment = secrecy_assessment(world, FeedbackPolicy.AFTER_SUBMISSION, shuffle)
    walk, attempt_id = take_attempt(client, world, assessment)
    kinds = {(m, u.split("?")[0].rsplit("/", 1)[-1]) for m, u, _s, _b in walk.seen}
    assert len(walk.seen) >= 50 and ("POST", "autosave") in kinds
    statuses = {s for _m, _u, s, _b in walk.seen}
    assert {200, 400, 409} <= statuses
    assert_keeps_the_key(walk, world["markers"])
    # the learner's manager looking at the attempt in progress sees nothing either
    manager = Walk(client)
    log_in(client, world["boss"])
    manager.get(f"/attempts/{attempt_id}/result")
    manager.get("/assessments/results")
    assert_keeps_the_key(manager, world["markers"])

    # submitted, with review after submission: now the markers show (the search works)
    log_in(client, world["user"])
    page = client.get("/assessments")
    client.post(
        f"/attempts/{attempt_id}/submit", data={"csrf_token": token(page), "confirmed": "1"}
    )
    review = client.get(f"/attempts/{attempt_id}/result").text
    missing = [m for m in world["markers"].all if m not in review]
    assert missing == world["markers"].notes  # every rationale and feedback; never a note


def test_no_review_policy_never_reveals_the_key_even_after_submission(client, world):
    assessment = secrecy_assessment(world, FeedbackPolicy.NONE, True)
    walk, attempt_id = take_attempt(client, world, assessment)
    page = walk.get("/assessments")
    walk.post(f"/attempts/{attempt_id}/submit", {"csrf_token": token(page), "confirmed": "1"})
    walk.get(f"/attempts/{attempt_id}/result")
    walk.get(f"/attempts/{attempt_id}")
    log_in(client, world["boss"])
    walk.get(f"/attempts/{attempt_id}/result")
    assert walk.seen[-1][2] == 200 and "Score" in walk.seen[-1][3]
    for _m, _u, _s, body in walk.seen:
        assert MARKER not in body
