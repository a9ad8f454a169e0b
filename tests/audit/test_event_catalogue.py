"""F1: the catalogue of security events. A scripted run through the real pages triggers every
kind of security event the code can emit, and each step must log exactly one structured JSON
line of its kind on ``pmo.security``, with the fields every event has (UTC time, event,
outcome, actor, client, request id, method, endpoint) and its own, no field outside them,
and none of the personal data or secrets the run typed or was shown (emails, names,
passwords, the two-step key and codes, the CSRF token).

The catalogue is checked against the source: a new ``security_event("...")`` kind anywhere
in app/ that the catalogue does not list (or a kind passed as anything but a literal) fails
``test_the_catalogue_covers_every_event_the_code_can_emit``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyotp
import pytest

from app.accounts import views as account_views
from app.accounts.models import Permission
from app.extensions import db
from tests.accounts.test_auth import NEW_PASSWORD, csrf_from, post_login
from tests.accounts.test_throttle import Clock
from tests.conftest import log_in
from tests.factories import PASSWORD, make_person, make_user
from tests.test_forms import post_form

APP = Path(__file__).resolve().parents[2] / "app"
#: Every event inside a request has these (app.audit.security).
COMMON = {"at", "event", "outcome", "actor", "client", "request_id", "method", "endpoint"}
#: kind -> (outcome, the fields of its own it must carry, those it may carry)
CATALOGUE: dict[str, tuple[str, set[str], set[str]]] = {
    "login_failure": ("failure", {"user_id"}, set()),
    "lockout": ("refused", {"user_id", "until", "counter"}, set()),
    "login_success": ("success", {"user_id"}, {"second_factor"}),
    "logout": ("success", {"user_id"}, set()),
    "forbidden": ("refused", set(), set()),
    "csrf_failure": ("refused", set(), {"reason"}),
    "permission_change": ("success", {"user_id", "granted", "revoked"}, {"users"}),
    "reauthentication_failure": ("failure", {"user_id"}, set()),
    "password_change": ("success", {"user_id"}, {"via"}),
    "two_factor_change": ("success", {"user_id", "change"}, set()),
    "two_factor_failure": ("failure", {"user_id"}, set()),
}
ADMIN_EMAIL = "ivy.private-admin@example.com"
LEARNER_EMAIL = "leo.private-learner@example.com"
TARGET_EMAIL = "tess.private-target@example.com"


def emitted_kinds() -> tuple[set[str], list[str]]:
    """The kinds ``security_event`` is called with anywhere in app/, and the calls whose kind
    is not a string literal (file:line)."""
    kinds: set[str] = set()
    opaque: list[str] = []
    for path in sorted(APP.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"(?<![\w.])security_event\(\s*([^\s)][^,)]*)", text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
            if before.lstrip().startswith("def ") or "``" in before:
                continue  # the definition, or a mention in a docstring
            literal = re.fullmatch(r"\"([a-z0-9_]+)\"|'([a-z0-9_]+)'", match.group(1).strip())
            if literal is None:
                opaque.append(f"{path.relative_to(APP.parent)}:{line}")
            else:
                kinds.add(literal.group(1) or literal.group(2))
    return kinds, opaque


def test_the_catalogue_covers_every_event_the_code_can_emit():
    kinds, opaque = emitted_kinds()
    assert not opaque, f"security_event called with a kind that is not a literal: {opaque}"
    assert kinds - set(CATALOGUE) == set(), "kinds emitted but not in the catalogue"
    assert set(CATALOGUE) - kinds == set(), "kinds in the catalogue that nothing emits"


@pytest.fixture
def security_log(caplog):
    caplog.set_level("INFO", logger="pmo.security")

    def lines() -> list[dict]:
        return [json.loads(r.getMessage()) for r in caplog.records if r.name == "pmo.security"]

    return lines


def test_a_scripted_run_logs_each_event_exactly_once(
    app, client, security_log, caplog, monkeypatch
):
    clock = Clock()
    monkeypatch.setattr(account_views, "_now", clock)
    app.config["LOGIN_FREE_FAILURES"] = 1
    admin = make_user(
        Permission.ADMIN,
        Permission.LEARNER,
        person=make_person("Ivy", "Privateadmin"),
        email=ADMIN_EMAIL,
    )
    learner = make_user(
        Permission.LEARNER, person=make_person("Leo", "Privatelearner"), email=LEARNER_EMAIL
    )
    target = make_user(
        Permission.LEARNER, person=make_person("Tess", "Privatetarget"), email=TARGET_EMAIL
    )
    db.session.commit()
    other = app.test_client()
    log_in(other, learner)
    secrets: dict[str, str] = {}
    seen: dict[str, dict] = {}

    def step(kind: str, action) -> object:
        """Run ``action``; exactly one line is logged, of ``kind``."""
        caplog.clear()
        response = action()
        logged = security_log()
        assert [line["event"] for line in logged] == [kind], f"step {kind} logged {logged}"
        seen[kind] = logged[0]
        return response

    wrong = step("login_failure", lambda: post_login(client, ADMIN_EMAIL, "wrong guess 1"))
    assert wrong.status_code == 200
    locked = step("lockout", lambda: post_login(client, ADMIN_EMAIL, "wrong guess 2"))
    assert locked.status_code == 429
    clock.advance(5)
    signed_in = step("login_success", lambda: post_login(client, ADMIN_EMAIL, PASSWORD))
    assert signed_in.status_code == 302

    refused = step("forbidden", lambda: other.get("/admin/people"))
    assert refused.status_code == 403
    forged = step("csrf_failure", lambda: other.post("/logout", data={"csrf_token": "forged"}))
    assert forged.status_code == 400

    granted = step(
        "permission_change",
        lambda: post_form(
            client,
            f"/admin/accounts/{target.id}/edit",
            {"email": TARGET_EMAIL, "permissions": ["learner", "trainer"], "active": "y"},
        ),
    )
    assert granted.status_code == 302, granted.text[:500]

    bad_reauth = step(
        "reauthentication_failure",
        lambda: post_form(client, "/account/confirm", {"password": "not my password"}),
    )
    assert bad_reauth.status_code == 200
    clock.advance(5)
    changed = step(
        "password_change",
        lambda: post_form(
            client,
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        ),
    )
    assert changed.status_code == 302, changed.text[:500]

    security = client.get("/account/security")
    started = client.post(
        "/account/two-factor/setup", data={"csrf_token": csrf_from(security.text)}
    )
    assert started.status_code == 302
    setup = client.get("/account/two-factor/setup")
    seed = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', setup.text).group(1).replace(" ", "")
    secrets["TOTP seed"] = seed
    secrets["CSRF token"] = csrf_from(setup.text)
    enabled = step(
        "two_factor_change",
        lambda: client.post(
            "/account/two-factor/confirm",
            data={"csrf_token": csrf_from(setup.text), "code": pyotp.TOTP(seed).now()},
        ),
    )
    assert enabled.status_code == 200
    for n, code in enumerate(re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", enabled.text)):
        secrets[f"recovery code {n}"] = code

    page = client.get("/account/security")
    out = step("logout", lambda: client.post("/logout", data={"csrf_token": csrf_from(page.text)}))
    assert out.status_code == 302

    caplog.clear()
    needs_code = post_login(client, ADMIN_EMAIL, NEW_PASSWORD)
    assert needs_code.status_code == 302 and "/login/code" in needs_code.headers["Location"]
    assert security_log() == []  # the password alone is not a log-in
    code_page = client.get("/login/code")
    bad_code = step(
        "two_factor_failure",
        lambda: client.post(
            "/login/code", data={"csrf_token": csrf_from(code_page.text), "code": "000000"}
        ),
    )
    assert bad_code.status_code == 200

    assert set(seen) == set(CATALOGUE), "the run did not reach every kind"
    private = {
        "admin email": ADMIN_EMAIL,
        "learner email": LEARNER_EMAIL,
        "target email": TARGET_EMAIL,
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "wrong guess": "wrong guess",
        "reauth guess": "not my password",
        **{f"name {n}": n for n in ("Privateadmin", "Privatelearner", "Privatetarget")},
        **secrets,
    }
    actors = {
        "login_failure": "anonymous",
        "lockout": "anonymous",
        "login_success": "anonymous",  # logged as the request that signs in, before it
        "forbidden": learner.id,
        "csrf_failure": learner.id,
        "permission_change": admin.id,
        "two_factor_failure": "anonymous",
    }
    subjects = {"permission_change": target.id, "login_failure": admin.id, "lockout": admin.id}
    for kind, line in seen.items():
        outcome, required, optional = CATALOGUE[kind]
        assert COMMON | required <= set(line), f"{kind} lacks {COMMON | required - set(line)}"
        assert set(line) <= COMMON | required | optional, f"{kind} has unexpected fields"
        assert line["outcome"] == outcome, kind
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["at"]), kind
        assert line["client"] == "127.0.0.1" and line["request_id"], kind
        assert line["actor"] == actors.get(kind, admin.id), kind
        if "user_id" in required:
            assert line["user_id"] == subjects.get(kind, admin.id), kind
        text = json.dumps(line).lower()
        leaks = [what for what, value in private.items() if value.lower() in text]
        assert not leaks, f"{kind} logged {leaks}"
    assert (seen["permission_change"]["granted"], seen["permission_change"]["revoked"]) == (
        ["trainer"],
        [],
    )
    assert seen["forbidden"]["endpoint"] == "org.people"
    assert seen["two_factor_change"]["change"] == "enabled"
