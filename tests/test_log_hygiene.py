"""No secret reaches a log (RELIABILITY.md F2): a realistic session is run with every logger
captured at DEBUG (SQLAlchemy's statements and rows, Flask, Werkzeug, the app's own and its
security events), and none of the canaries it typed or was given appears in any record: the
password, the two-step key (TOTP seed), the recovery codes, the session cookie's value, the
CSRF token, and the unknown email address typed at a failed log-in.

The session: a failed log-in with a canary email, a log-in with the canary password, two-step
enrolment (the key read from the set-up page, the recovery codes from the page that shows them
once), a staff import uploaded and mapped, and a download of the user's own data. Each step is
checked to have worked, so the scan covers what really happened.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pyotp
import pytest

from app.accounts.models import Permission
from app.accounts.passwords import hash_password
from app.extensions import db
from tests.accounts.test_auth import csrf_from, post_login
from tests.factories import make_person, make_role, make_unit, make_user
from tests.staff_import.test_views import GOOD_FILE, latest_batch, map_file, upload

CANARY_PASSWORD = "Canary-Pw-7f3a9c-wobbling-heron"
CANARY_EMAIL = "canary-e1d2c3@nowhere.example"
ADMIN_EMAIL = "ida.admin@example.com"


def all_loggers(caplog) -> Iterator[logging.Logger]:
    """Every logger that exists set to DEBUG (SQLAlchemy's own is WARNING unless told), and
    the capture's handler added to those that do not pass their records up, so nothing
    escapes it; the loggers it was added to."""
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        caplog.set_level(logging.DEBUG, logger=name)  # put back after the test
        if not logger.propagate:
            logger.addHandler(caplog.handler)
            yield logger


@pytest.fixture
def everything(caplog):
    """caplog at DEBUG for every logger, those that do not propagate included."""
    caplog.set_level(logging.DEBUG)
    added = list(all_loggers(caplog))
    try:
        yield caplog
    finally:
        for logger in added:
            logger.removeHandler(caplog.handler)


def texts(caplog) -> list[str]:
    """Each record as it could end up anywhere: formatted (traceback included), its raw
    message and its arguments."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    out = []
    for record in caplog.records:
        out.append(formatter.format(record))
        out.append(str(record.msg))
        out.append(repr(record.args))
        out.append(repr({k: v for k, v in vars(record).items() if k not in ("msg", "args")}))
    return out


def leaked(caplog, canaries: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for text in texts(caplog):
        lowered = text.lower()
        for what, canary in canaries.items():
            if canary and canary.lower() in lowered:
                found.setdefault(what, []).append(text[:300])
    return found


def test_a_whole_session_logs_no_secret(app, client, everything):
    admin = make_user(
        Permission.ADMIN,
        Permission.LEARNER,
        person=make_person("Ida", "Admin", number="ADM1"),
        email=ADMIN_EMAIL,
    )
    admin.password_hash = hash_password(CANARY_PASSWORD)
    make_role(code="PMOL", name="PMO Lead")
    make_unit("Harbour Works", code="HW")
    db.session.commit()
    everything.clear()

    # A failed log-in with an address nobody has.
    failed = post_login(client, CANARY_EMAIL, CANARY_PASSWORD + "-wrong")
    assert failed.status_code == 200 and 'name="email"' in failed.text

    # The log-in with the canary password.
    signed_in = post_login(client, ADMIN_EMAIL, CANARY_PASSWORD)
    assert signed_in.status_code == 302, signed_in.text[:300]

    # Two-step enrolment: the key from the set-up page, the recovery codes shown once.
    security = client.get("/account/security")
    assert security.status_code == 200
    started = client.post(
        "/account/two-factor/setup", data={"csrf_token": csrf_from(security.text)}
    )
    assert started.status_code == 302
    setup = client.get("/account/two-factor/setup")
    seed = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', setup.text).group(1).replace(" ", "")
    confirmed = client.post(
        "/account/two-factor/confirm",
        data={"csrf_token": csrf_from(setup.text), "code": pyotp.TOTP(seed).now()},
    )
    assert confirmed.status_code == 200
    recovery = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", confirmed.text)
    assert len(recovery) == 10

    # A staff import: uploaded, then mapped to its preview.
    uploaded = upload(client, GOOD_FILE)
    assert uploaded.status_code == 302, uploaded.text[:300]
    map_file(client, latest_batch().id)
    assert "Lovelace" in client.get(f"/admin/imports/{latest_batch().id}/preview").text

    # An export: the user's own data.
    mine = client.get("/account/my-data")
    assert mine.status_code == 200
    download = client.post(
        "/account/my-data/download", data={"csrf_token": csrf_from(mine.text), "format": "zip"}
    )
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/zip"

    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    canaries = {
        "password": CANARY_PASSWORD,
        "TOTP seed": seed,
        "cookie": cookie.value,
        "CSRF token": csrf_from(client.get("/account/security").text),
        "failed log-in email": CANARY_EMAIL,
        **{f"recovery code {n}": code for n, code in enumerate(recovery)},
        **{f"recovery code {n} (bare)": code.replace("-", "") for n, code in enumerate(recovery)},
    }
    assert len(everything.records) > 100  # statements, requests, security events: captured
    assert {r.name for r in everything.records} >= {"sqlalchemy.engine.Engine"}
    assert leaked(everything, canaries) == {}


def test_the_scan_finds_a_canary_in_any_logger(everything):
    """The capture reaches a logger that does not propagate, and the scan finds a canary in
    a message, in arguments and in a traceback."""
    quiet = logging.getLogger("tests.log_hygiene.quiet")
    quiet.propagate = False
    try:
        quiet.addHandler(everything.handler)
        quiet.debug("typed %s", CANARY_EMAIL)
        try:
            raise ValueError(CANARY_PASSWORD)
        except ValueError:
            logging.getLogger("tests.log_hygiene").exception("failed")
    finally:
        quiet.removeHandler(everything.handler)
        quiet.propagate = True
    found = leaked(everything, {"email": CANARY_EMAIL, "password": CANARY_PASSWORD})
    assert set(found) == {"email", "password"}
