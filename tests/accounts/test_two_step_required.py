"""Two-step log-in required, not just offered (RELIABILITY.md A5; issue 14).

PMO_TWO_STEP_REQUIRED_FOR (default "admin") names the permissions whose holders must use
two-step log-in: a signed-in holder who has not set it up reaches no page but the one
saying so and the set-up itself (and log-out); every other page sends them there, and a
request that is not for a page gets 403 with the reason. TestConfig empties the setting
(tests log in as administrators by password), so each test here sets it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from werkzeug.routing import Rule

from app.accounts.models import Permission, TwoFactor
from app.extensions import db
from tests.accounts.test_auth import csrf_from, post_login
from tests.accounts.test_two_factor import turn_on
from tests.conftest import log_in
from tests.factories import PASSWORD, make_person, make_user

REQUIRED_PAGE = "/account/two-factor/required"


@pytest.fixture
def required(app):
    app.config["PMO_TWO_STEP_REQUIRED_FOR"] = "admin"
    return app


@pytest.fixture
def admin(app):
    user = make_user(
        Permission.ADMIN,
        Permission.LEARNER,
        person=make_person("Ada", "Admin"),
        email="ada@example.com",
    )
    db.session.commit()
    return user


def sent_to_set_up(response) -> bool:
    return (
        response.status_code in (302, 303)
        and urlsplit(response.headers.get("Location", "")).path == REQUIRED_PAGE
    )


def admin_routes(app) -> list[tuple[Rule, str]]:
    """Every (rule, method) under /admin in the URL map."""
    return [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def url_of(rule: Rule) -> str:
    """The rule with every argument filled: 1 for a number, a word otherwise."""
    values = {
        name: 1
        if type(rule._converters[name]).__name__ in ("RecordId", "IntegerConverter")
        else "x"
        for name in rule.arguments
    }
    return rule.build(values, append_unknown=False)[1]


def sweep(client, app, csrf: str) -> tuple[int, list[str]]:
    """Request every /admin route once per method; (requests made, those not sent to the
    set-up page)."""
    reached = []
    routes = admin_routes(app)
    for rule, method in routes:
        url = url_of(rule)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.open(url, method=method, data={"csrf_token": csrf})
        if not sent_to_set_up(response):
            reached.append(f"{method} {url} -> {response.status_code}")
        response.close()
    return len(routes), reached


def test_an_admin_without_two_step_log_in_reaches_no_admin_route(required, client, admin):
    log_in(client, admin)
    page = client.get(REQUIRED_PAGE)
    assert page.status_code == 200
    swept, reached = sweep(client, required, csrf_from(page.text))
    rules = {rule.rule for rule, _ in admin_routes(required)}
    print(f"A5: {swept} /admin requests ({len(rules)} routes) swept, {len(reached)} reached")
    assert swept >= 40 and len(rules) >= 30  # the sweep really covers the admin pages
    assert reached == []
    # The sweep changed nothing: no enrolment was even started.
    assert db.session.get(TwoFactor, admin.id) is None


def test_once_enrolled_the_admin_reaches_every_admin_page(required, client, admin):
    turn_on(required, admin)
    log_in(client, admin)
    refused = []
    pages = [(rule, m) for rule, m in admin_routes(required) if m == "GET"]
    for rule, _ in pages:
        response = client.get(url_of(rule))
        if sent_to_set_up(response) or response.status_code == 403:
            refused.append(f"GET {url_of(rule)} -> {response.status_code}")
        response.close()
    print(f"A5: {len(pages)} /admin pages, {len(pages) - len(refused)} reached once enrolled")
    assert len(pages) >= 25
    assert refused == []
    assert client.get("/admin/accounts").status_code == 200


def test_every_signed_in_page_waits_for_the_set_up_but_log_out_does_not(required, client, admin):
    log_in(client, admin)
    for path in ("/", "/me", "/account/security", "/account/password"):
        assert sent_to_set_up(client.get(path)), path
    page = client.get(REQUIRED_PAGE)
    assert page.status_code == 200
    text = page.text
    assert "Set up two-step log-in to continue" in text
    assert "admin permission" in text
    assert client.get("/login").status_code in (200, 302)  # public: not held back
    out = client.post("/logout", data={"csrf_token": csrf_from(text)})
    assert urlsplit(out.headers["Location"]).path == "/login"
    assert urlsplit(client.get("/admin/accounts").headers["Location"]).path == "/login"


def test_a_request_that_is_not_for_a_page_gets_403_with_the_reason(required, client, admin):
    log_in(client, admin)
    as_json = client.get("/admin/accounts", headers={"Accept": "application/json"})
    assert as_json.status_code == 403
    assert "Set up two-step log-in first" in as_json.get_json()["error"]
    as_csv = client.get("/admin/accounts", headers={"Accept": "text/csv"})
    assert as_csv.status_code == 403
    assert as_csv.mimetype == "text/plain"
    assert "two-step log-in" in as_csv.text
    form = client.post("/admin/accounts/new", data={"email": "x@example.com"})
    assert form.status_code in (303, 400)  # a browser's form: sent on (or refused by CSRF)


def test_the_password_log_in_lands_on_the_set_up_then_the_set_up_opens_everything(
    required, client, admin
):
    landed = post_login(client, admin.email, PASSWORD, next_="/admin/accounts")
    assert urlsplit(landed.headers["Location"]).path == "/admin/accounts"
    assert sent_to_set_up(client.get("/admin/accounts"))
    page = client.get(REQUIRED_PAGE)
    csrf = csrf_from(page.text)
    begun = client.post("/account/two-factor/setup", data={"csrf_token": csrf})
    assert urlsplit(begun.headers["Location"]).path == "/account/two-factor/setup"
    setup = client.get("/account/two-factor/setup")
    assert setup.status_code == 200
    secret = re.search(r'data-testid="secret">([^<]+)<', setup.text).group(1).replace(" ", "")
    done = client.post(
        "/account/two-factor/confirm",
        data={"csrf_token": csrf_from(setup.text), "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200 and 'data-testid="recovery-codes"' in done.text
    assert client.get("/admin/accounts").status_code == 200
    assert sent_to_set_up(client.get(REQUIRED_PAGE)) is False  # nothing to do: security page


def test_only_the_named_permissions_are_held_back(required, client):
    trainer = make_user(Permission.TRAINER, Permission.LEARNER, email="tia@example.com")
    learner = make_user(Permission.LEARNER, email="lee@example.com")
    manager = make_user(Permission.MANAGER, Permission.LEARNER, email="max@example.com")
    db.session.commit()
    for user in (trainer, learner, manager):
        log_in(client, user)
        assert client.get("/").status_code == 200, user.email
    required.config["PMO_TWO_STEP_REQUIRED_FOR"] = "admin, trainer"
    log_in(client, trainer)
    assert sent_to_set_up(client.get("/"))


def test_with_the_setting_empty_the_password_alone_is_enough(app, client, admin):
    app.config["PMO_TWO_STEP_REQUIRED_FOR"] = ""
    log_in(client, admin)
    assert client.get("/admin/accounts").status_code == 200
    assert not sent_to_set_up(client.get(REQUIRED_PAGE))


def test_a_reset_two_step_log_in_holds_the_admin_back_again(required, client, admin):
    """An administrator reset after losing their phone sets it up again before anything."""
    turn_on(required, admin)
    log_in(client, admin)
    assert client.get("/admin/accounts").status_code == 200
    db.session.delete(db.session.get(TwoFactor, admin.id))
    db.session.commit()
    assert sent_to_set_up(client.get("/admin/accounts"))
