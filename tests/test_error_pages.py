"""Every error answer carries an incident reference that is also in the log (RELIABILITY.md
F4): 400 (an expired form, a NUL character), 403, 404, 405, 413, 429, 500 and 503.

The reference is shown on the product's error page (``errors/error.html``), sent in the
``X-Incident-Id`` header, and logged once on "pmo_pathways" with the status, the method and
the path, so the line a user's quoted reference leads to is the one for their request. No
page shows a traceback or an exception's name.
"""

from __future__ import annotations

import re

import pytest

from app.accounts import views as account_views
from app.capability import services
from tests.accounts.test_auth import post_login
from tests.accounts.test_throttle import Clock
from tests.capability import test_views
from tests.capability.test_views import csrf_for, rate_myself
from tests.test_retries import conflict

scene = test_views.scene  # the fixture: the shipped framework, a manager, their learner

INCIDENT = re.compile(r'data-testid="incident">([0-9a-f]{10})<')
LEAKS = ("Traceback", 'File "', "Error:", "Exception", "werkzeug", "sqlalchemy")


def incident_of(response, status: int, caplog, *, on_page: bool = True) -> str:
    """The response's incident reference, checked: the status, the header, the page, and one
    log line naming it with the status and the request."""
    assert response.status_code == status, response.text[:300]
    reference = response.headers.get("X-Incident-Id", "")
    assert re.fullmatch(r"[0-9a-f]{10}", reference), reference
    if on_page:
        shown = INCIDENT.search(response.text)
        assert shown, "no incident reference on the page"
        assert shown.group(1) == reference
    for leak in LEAKS:
        assert leak not in response.text
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "pmo_pathways" and reference in r.getMessage()
    ]
    assert len(lines) == 1, lines
    assert f" answered {status}" in lines[0] or status in (500, 503), lines[0]
    return reference


@pytest.fixture
def logged(caplog):
    caplog.set_level("WARNING", logger="pmo_pathways")
    return caplog


def test_an_expired_form_400(client, login, scene, logged):
    login(scene.learner)
    response = client.post("/capability/self-rating", data={"competency": "INF-01", "level": "3"})
    incident_of(response, 400, logged)
    assert "Form expired" in response.text


def test_a_nul_character_400(client, logged):
    response = client.get("/login?next=%00")
    incident_of(response, 400, logged)


def test_a_page_not_yours_403(client, login, scene, logged):
    login(scene.learner)
    response = client.get("/learning/external/review")
    incident_of(response, 403, logged)
    assert "Not yours to see" in response.text


def test_no_such_page_404(client, login, scene, logged):
    login(scene.learner)
    response = client.get("/no/such/page")
    incident_of(response, 404, logged)
    assert "Page not found" in response.text


def test_the_wrong_method_405(client, login, scene, logged):
    login(scene.learner)
    response = client.get("/capability/self-rating")
    incident_of(response, 405, logged)


def test_too_much_text_413(app, client, logged):
    token = csrf_for(client, "/login")
    limit = app.config["MAX_FORM_MEMORY_SIZE"]
    response = client.post(
        "/login", data={"csrf_token": token, "email": "x" * limit, "password": "whatever"}
    )
    incident_of(response, 413, logged)


def test_too_many_log_ins_429(app, client, monkeypatch, logged):
    """The log-in page itself answers 429 (the form again, with the wait explained): the
    reference is in the header, the log and on the page."""
    monkeypatch.setattr(account_views, "_now", Clock())
    app.config["LOGIN_FREE_FAILURES"] = 1
    assert post_login(client, "nobody@example.com", "wrong password one").status_code == 200
    response = post_login(client, "nobody@example.com", "wrong password two")
    incident_of(response, 429, logged)


def test_an_unexpected_error_500(app, client, login, scene, monkeypatch, logged):
    def boom():
        raise RuntimeError("secret-internal-detail")

    boom.access_rule = app.view_functions["org.home"].access_rule  # type: ignore[attr-defined]
    monkeypatch.setitem(app.view_functions, "org.home", boom)
    login(scene.learner)
    response = client.get("/")
    reference = incident_of(response, 500, logged)
    assert "secret-internal-detail" not in response.text
    [record] = [r for r in logged.records if reference in r.getMessage()]
    assert record.exc_info is not None  # the traceback is in the log, not on the page


def test_busy_after_every_retry_503(client, login, scene, monkeypatch, logged):
    def always_conflicting(*_args, **_kwargs):
        raise conflict("40P01")

    monkeypatch.setattr(services, "record_self_rating", always_conflicting)
    login(scene.learner)
    response = rate_myself(client, code="INF-01", level=3)
    incident_of(response, 503, logged)
    assert "Busy: please try again" in response.text


def test_a_discarded_attempt_logs_no_incident(client, login, scene, monkeypatch, logged):
    """An attempt thrown away for a retry is not an answer: no incident for it."""
    real = services.record_self_rating
    calls = []

    def conflicting_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise conflict("40001")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "record_self_rating", conflicting_once)
    login(scene.learner)
    response = rate_myself(client, code="INF-01", level=3)
    assert response.status_code == 302 and "X-Incident-Id" not in response.headers
    assert not [r for r in logged.records if "incident" in r.getMessage()]
