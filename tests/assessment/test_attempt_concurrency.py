"""Simultaneous requests against a real gunicorn with four workers, on SQLite and (when
TEST_POSTGRES_URL is set, as `make test` does) PostgreSQL: twenty simultaneous starts never
make more attempts than the limit nor two in progress; twenty simultaneous submits give one
result; twenty simultaneous saves of one answer from pages at the same revision keep one.

Each learner is logged in through the real form in several sessions (several browsers);
the requests are fired together from threads, each on its own connection, released by one
barrier. The counts are read from the database afterwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app import create_app
from app.assessment.attempt_queries import display_answer
from app.assessment.content import item_from_data
from app.assessment.models import Attempt, AttemptItem, AttemptStatus, ItemVersion
from app.capability.models import Evidence
from app.config import TestConfig
from app.extensions import db
from app.org.models import Person
from bench.attempt_bench import (
    Http,
    attempt_id_of,
    build_database,
    csrf_token,
    free_port,
    log_in,
    radio_items,
    serve,
    stop,
)
from tests.conftest import BACKENDS, database_for
from tests.served import together

SESSIONS = 4
REQUESTS = 20
SECRET = "concurrency-test-secret-0123456789abcdef0123456789"


@dataclass
class Served:
    url: str
    port: int
    assessment_id: int
    emails: list[str]
    app: object

    def sessions(self, learner: int) -> list[Http]:
        """The learner logged in ``SESSIONS`` times through the real log-in form."""
        return [Http(self.port, log_in(self.port, self.emails[learner])) for _ in range(SESSIONS)]


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    """Gunicorn (4 workers) on a migrated database holding an assessment of 10 items drawn
    from 30, with an attempt limit of 2, and four learners."""
    with database_for(request.param, tmp_path_factory) as url:
        built = build_database(
            url,
            4,
            items=30,
            draw=10,
            secret_key=SECRET,
            config_class=TestConfig,
            attempt_limit=2,
            shuffle_options=True,
        )
        port = free_port()
        proc = serve("wsgi:app", url, port, workers=4)
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        try:
            yield Served(url, port, built["assessment_id"], built["emails"], app)
        finally:
            stop(proc)
            with app.app_context():
                db.engine.dispose()


def fire(served: Served, sessions: list[Http], path: str, data_for) -> list:
    """``REQUESTS`` simultaneous POSTs of ``path``, spread over the sessions, each on a
    fresh connection; (status, Location or body) of each."""

    def post(n: int):
        session = sessions[n % len(sessions)]
        http = Http(served.port, session.cookie)
        try:
            status, response, text = http.post(path, data_for(session))
            return status, response.getheader("Location") or text
        finally:
            http.close()

    return together([lambda n=n: post(n) for n in range(REQUESTS)])


def tokens(served: Served, sessions: list[Http]) -> dict[int, str]:
    out = {}
    for session in sessions:
        _status, _r, page = session.get(f"/assessments/{served.assessment_id}/start")
        out[id(session)] = csrf_token(page)
    return out


def counts(served: Served, email: str) -> Counter:
    with served.app.app_context():
        person_id = db.session.scalar(select(Person.id).where(Person.email == email))
        rows = db.session.execute(
            select(Attempt.status, func.count())
            .where(Attempt.person_id == person_id)
            .group_by(Attempt.status)
        ).all()
        db.session.remove()
    return Counter({status: n for status, n in rows})


def test_twenty_simultaneous_starts_make_one_attempt(served):
    sessions = served.sessions(0)
    csrf = tokens(served, sessions)
    results = fire(
        served,
        sessions,
        f"/assessments/{served.assessment_id}/start",
        lambda s: {"csrf_token": csrf[id(s)]},
    )
    assert all(isinstance(r, tuple) and r[0] == 302 for r in results), results
    assert len({attempt_id_of(location) for _s, location in results}) == 1
    assert counts(served, served.emails[0]) == Counter({AttemptStatus.IN_PROGRESS: 1})


def _submit(served: Served, session: Http, csrf: str) -> int:
    _status, response, _t = session.post(
        f"/assessments/{served.assessment_id}/start", {"csrf_token": csrf}
    )
    attempt_id = attempt_id_of(response.getheader("Location"))
    status, _r, _t = session.post(
        f"/attempts/{attempt_id}/submit", {"csrf_token": csrf, "confirmed": "1"}
    )
    assert status == 302
    return attempt_id


def test_simultaneous_starts_never_pass_the_limit_nor_open_two_attempts(served):
    sessions = served.sessions(1)
    csrf = tokens(served, sessions)
    _submit(served, sessions[0], csrf[id(sessions[0])])  # one of two attempts used
    path = f"/assessments/{served.assessment_id}/start"
    results = fire(served, sessions, path, lambda s: {"csrf_token": csrf[id(s)]})
    assert all(isinstance(r, tuple) and r[0] == 302 for r in results), results
    assert counts(served, served.emails[1]) == Counter(
        {AttemptStatus.SUBMITTED: 1, AttemptStatus.IN_PROGRESS: 1}
    )
    # the second attempt finished, the limit is reached: twenty more starts start nothing
    second = {attempt_id_of(loc) for _s, loc in results if "/attempts/" in loc}
    assert len(second) == 1
    status, _r, _t = sessions[0].post(
        f"/attempts/{second.pop()}/submit", {"csrf_token": csrf[id(sessions[0])], "confirmed": "1"}
    )
    assert status == 302
    results = fire(served, sessions, path, lambda s: {"csrf_token": csrf[id(s)]})
    assert all(r[0] == 302 and r[1].endswith(path) for r in results), results
    assert counts(served, served.emails[1]) == Counter({AttemptStatus.SUBMITTED: 2})


def _keys(served: Served, attempt_id: int) -> dict[int, str]:
    """Attempt item id -> the value shown of its correct option (read from the database)."""
    with served.app.app_context():
        rows = db.session.execute(
            select(AttemptItem, ItemVersion.content)
            .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
            .where(AttemptItem.attempt_id == attempt_id)
        ).all()
        out = {
            row.id: display_answer("single", row.presentation, (), item_from_data(c).key())
            for row, c in rows
        }
        db.session.remove()
    return out


def test_twenty_simultaneous_submits_give_one_result(served):
    sessions = served.sessions(2)
    csrf = tokens(served, sessions)
    first = sessions[0]
    _s, response, _t = first.post(
        f"/assessments/{served.assessment_id}/start", {"csrf_token": csrf[id(first)]}
    )
    attempt_id = attempt_id_of(response.getheader("Location"))
    _s, _r, page = first.get(f"/attempts/{attempt_id}")
    for item_id, value in _keys(served, attempt_id).items():
        revision = radio_items(page)[item_id][1]
        status, _r, _t = first.post(
            f"/attempts/{attempt_id}/autosave",
            {
                "csrf_token": csrf[id(first)],
                "item": item_id,
                f"a{item_id}": value,
                f"r{item_id}": revision,
            },
        )
        assert status == 200
    results = fire(
        served,
        sessions,
        f"/attempts/{attempt_id}/submit",
        lambda s: {"csrf_token": csrf[id(s)], "confirmed": "1"},
    )
    assert all(isinstance(r, tuple) and r[0] == 302 for r in results), results
    assert {loc for _s, loc in results} == {f"/attempts/{attempt_id}/result"}
    assert counts(served, served.emails[2]) == Counter({AttemptStatus.SUBMITTED: 1})
    with served.app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (attempt.marks, attempt.max_marks, attempt.passed) == (10, 10, True)
        evidence = db.session.scalars(
            select(Evidence).where(Evidence.person_id == attempt.person_id)
        ).all()
        assert [(e.competency_code, e.level) for e in evidence] == [("GOV-05", 2)]
        db.session.remove()
    status, _r, page = sessions[1].get(f"/attempts/{attempt_id}/result")
    assert status == 200 and "10 of 10" in page


def test_twenty_simultaneous_saves_from_pages_at_one_revision_keep_one(served):
    sessions = served.sessions(3)
    csrf = tokens(served, sessions)
    first = sessions[0]
    _s, response, _t = first.post(
        f"/assessments/{served.assessment_id}/start", {"csrf_token": csrf[id(first)]}
    )
    attempt_id = attempt_id_of(response.getheader("Location"))
    _s, _r, page = first.get(f"/attempts/{attempt_id}")
    item_id, (values, revision) = next(iter(radio_items(page).items()))
    counter = iter(range(REQUESTS))
    sent: dict[int, str] = {}

    def data(session):
        n = next(counter)
        sent[n] = values[n % len(values)]
        return {
            "csrf_token": csrf[id(session)],
            "item": item_id,
            f"a{item_id}": sent[n],
            f"r{item_id}": revision,
        }

    results = fire(served, sessions, f"/attempts/{attempt_id}/autosave", data)
    statuses = Counter(r[0] for r in results)
    with served.app.app_context():
        row = db.session.get(AttemptItem, item_id)
        shown = display_answer("single", row.presentation, (), row.answer)
        assert row.revision == 1  # one write
        db.session.remove()
    assert shown in values
    # The saves that sent the answer now saved are told it is saved (nothing is overwritten);
    # every other one is refused as changed elsewhere.
    same = Counter(sent.values())[shown]
    assert 0 < same < REQUESTS
    assert statuses == Counter({200: same, 409: REQUESTS - same}), results
