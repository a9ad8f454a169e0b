"""Security events: one JSON line each on the ``pmo.security`` logger, with a UTC time, the
event, the outcome, the actor (an id or "anonymous"), the client address and the request id,
and no personal data beyond an id. SQL errors and logs never show bound values."""

from __future__ import annotations

import json
import logging
import re

import pytest
import sqlalchemy as sa

from app.accounts.models import Permission
from app.audit import security_event
from app.extensions import db
from app.org.models import Person
from tests.factories import make_person, make_user

FIELDS = {"at", "event", "outcome", "actor", "client", "request_id", "endpoint"}


@pytest.fixture
def security_log(caplog):
    caplog.set_level("INFO", logger="pmo.security")

    def lines(kind: str | None = None) -> list[dict]:
        found = [json.loads(r.getMessage()) for r in caplog.records if r.name == "pmo.security"]
        return [x for x in found if kind is None or x["event"] == kind]

    return lines


def login_form_token(client) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def test_a_failed_log_in_is_one_json_line_without_the_email(client, security_log, caplog):
    user = make_user(Permission.LEARNER, email="fiona.private@example.com")
    db.session.commit()
    response = client.post(
        "/login",
        data={
            "csrf_token": login_form_token(client),
            "email": "fiona.private@example.com",
            "password": "not the password",
        },
    )
    assert response.status_code == 200
    [line] = security_log()
    assert FIELDS <= set(line)
    assert (line["event"], line["outcome"], line["user_id"]) == (
        "login_failure",
        "failure",
        user.id,
    )
    assert line["actor"] == "anonymous" and line["client"] == "127.0.0.1"
    assert line["at"].endswith("Z")
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "fiona.private" not in everything and "not the password" not in everything


def test_an_unknown_account_is_logged_without_what_was_typed(client, security_log, caplog):
    forged = "eve\n2025-01-01 INFO admin login ok"
    client.post(
        "/login",
        data={"csrf_token": login_form_token(client), "email": forged, "password": "x"},
    )
    [line] = security_log("login_failure")
    assert line.get("user_id") is None
    security_lines = [r.getMessage() for r in caplog.records if r.name == "pmo.security"]
    assert all("\n" not in message for message in security_lines)
    assert not any("admin login ok" in r.getMessage() for r in caplog.records)


def test_a_403_is_logged_with_the_user_id(client, login, security_log):
    learner = make_user(Permission.LEARNER)
    db.session.commit()
    login(learner)
    assert client.get("/admin/people").status_code == 403
    [line] = security_log("forbidden")
    assert (line["actor"], line["outcome"], line["endpoint"]) == (
        learner.id,
        "refused",
        "org.people",
    )


def test_a_csrf_failure_is_logged(client, login, security_log):
    learner = make_user(Permission.LEARNER)
    db.session.commit()
    login(learner)
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    [line] = security_log("csrf_failure")
    assert (line["actor"], line["outcome"]) == (learner.id, "refused")
    assert "forged" not in json.dumps(line)


def test_fields_that_would_carry_personal_data_or_secrets_are_withheld(app, security_log):
    with app.test_request_context("/"):
        security_event(
            "login_failure", user_id=7, email="a@b.c", password="pw", token="t", note="x" * 500
        )
    [line] = security_log()
    assert (line["email"], line["password"], line["token"]) == ("(withheld)",) * 3
    assert line["user_id"] == 7 and len(line["note"]) < 210


def test_sql_errors_and_logs_do_not_show_bound_values(app, client, login, caplog, monkeypatch):
    """SQLALCHEMY_ENGINE_OPTIONS hide_parameters: a raised SQL error shows its statement
    without the values, the engine's own log too; and the incident logged for a request
    that failed on one (stack trace and all) quotes no value, not even in PostgreSQL's
    DETAIL line."""
    make_person("Ann", "Lee", number="CANARY-4711")
    admin = make_user(Permission.ADMIN)
    db.session.commit()
    db.session.add(Person(employee_number="CANARY-4711", first_name="X", last_name="Y"))
    with pytest.raises(sa.exc.IntegrityError) as raised:
        db.session.flush()
    db.session.rollback()
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(raised.value)
    assert "[parameters:" not in str(raised.value)

    caplog.set_level("INFO", logger="sqlalchemy.engine")
    db.session.execute(sa.select(Person.id).where(Person.last_name == "CANARY-0815"))
    engine_log = "\n".join(r.getMessage() for r in caplog.records)
    assert "SELECT" in engine_log and "CANARY" not in engine_log

    def duplicate():  # a page whose use-case breaks a unique constraint
        db.session.add(Person(employee_number="CANARY-4711", first_name="X", last_name="Y"))
        db.session.commit()

    duplicate.access_rule = app.view_functions["org.home"].access_rule  # type: ignore[attr-defined]
    monkeypatch.setitem(app.view_functions, "org.home", duplicate)
    login(admin)
    caplog.clear()
    response = client.get("/")
    assert response.status_code == 500 and "CANARY" not in response.text
    [incident] = [r for r in caplog.records if r.name == "pmo_pathways"]
    logged = logging.Formatter().format(incident)
    assert "IntegrityError" in logged and "Traceback" in logged
    assert "CANARY" not in logged
