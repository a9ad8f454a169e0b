"""Two-step log-in (TOTP) for administrators and trainers, and re-authentication before
sensitive changes (RELIABILITY.md A5; issue 14, point 3).

Enrolling shows a QR code and the key once, a first code turns it on and ten single-use
recovery codes are shown once (kept only as digests); the log-in asks for a code after the
password; a code and a recovery code each work once; wrong codes are throttled; turning it
off, changing a password and changing permissions need the password (and the code) given
in the last few minutes; an administrator can reset another user's two-step log-in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from app.accounts import two_factor
from app.accounts.models import LoginSession, Permission, RecoveryCode, TwoFactor, User
from app.accounts.passwords import verify_password
from app.accounts.sealing import Sealer
from app.extensions import db
from tests.accounts.test_auth import (
    NEW_PASSWORD,
    assert_sent_to_login,
    csrf_for,
    csrf_from,
    post_login,
    session_count,
)
from tests.conftest import log_in
from tests.factories import PASSWORD, make_person, make_user


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


@pytest.fixture
def learner(app):
    user = make_user(
        Permission.LEARNER, person=make_person("Lee", "Learner"), email="lee@example.com"
    )
    db.session.commit()
    return user


def sealer(app) -> Sealer:
    return Sealer(app.secret_key)


def turn_on(app, user: User) -> tuple[pyotp.TOTP, list[str]]:
    """Two-step log-in on for ``user`` (through the use-cases); its app and recovery codes.
    The enrolment's own code is forgotten, so that the current code works once more."""
    user = db.session.get(User, user.id)
    two_factor.begin(db.session, user=user, sealer=sealer(app))
    secret = two_factor.pending_enrolment(db.session, user=user, sealer=sealer(app)).secret
    codes = two_factor.confirm(
        db.session,
        user=user,
        code=pyotp.TOTP(secret).now(),
        sealer=sealer(app),
        now=datetime.now(UTC),
    )
    db.session.get(TwoFactor, user.id).last_step = None
    db.session.commit()
    return pyotp.TOTP(secret), codes


def post(client, path: str, data: dict | None = None, form_page: str | None = None):
    token = csrf_for(client, form_page or "/account/security")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def make_stale(user_id: int, minutes: int = 11) -> None:
    """As if the session's password was given ``minutes`` ago (the window is 10)."""
    for row in db.session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)):
        row.authenticated_at = datetime.now(UTC) - timedelta(minutes=minutes)
    db.session.commit()


def two_factor_on(user_id: int) -> bool:
    db.session.expire_all()
    return two_factor.is_enabled(db.session, user_id)


# --- enrolling -------------------------------------------------------------------------------


def test_enrolling_shows_the_qr_code_and_key_once_then_a_code_turns_it_on(app, client, admin):
    log_in(client, admin)
    page = client.get("/account/security")
    assert 'data-testid="two-factor-status">Off' in page.text
    assert "Set up two-step log-in" in page.text

    started = post(client, "/account/two-factor/setup")
    assert started.status_code == 302 and started.headers["Location"] == "/account/two-factor/setup"
    setup = client.get("/account/two-factor/setup")
    assert setup.status_code == 200
    assert re.search(r'<svg[^>]*class="qr-code"', setup.text), "no inline QR code"
    # No inline script, no style attribute: the Content-Security-Policy forbids both.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", setup.text))
    assert "style=" not in re.search(r"<svg.*?</svg>", setup.text, re.S).group(0)
    shown = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', setup.text).group(1)
    secret = shown.replace(" ", "")
    assert len(secret) == 32

    # The key is kept encrypted: neither it nor any part of it is in the row.
    row = db.session.get(TwoFactor, admin.id)
    assert secret not in row.secret_sealed and row.confirmed_at is None
    assert sealer(app).open(row.secret_sealed) == secret

    wrong = post(
        client, "/account/two-factor/confirm", {"code": "000000"}, "/account/two-factor/setup"
    )
    assert wrong.status_code == 200 and "That code does not match" in wrong.text
    assert not two_factor_on(admin.id)

    done = post(
        client,
        "/account/two-factor/confirm",
        {"code": pyotp.TOTP(secret).now()},
        "/account/two-factor/setup",
    )
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)
    assert len(codes) == 10 == len(set(codes))
    assert two_factor_on(admin.id)
    hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes for h in hashes)

    # Never shown again: the set-up page is gone, the security page shows neither.
    again = client.get("/account/two-factor/setup")
    assert again.status_code == 302
    security = client.get("/account/security")
    assert 'data-testid="two-factor-status">On' in security.text
    assert "Recovery codes left: 10 of 10" in security.text
    assert secret not in security.text and not any(c in security.text for c in codes)


def test_two_step_log_in_is_offered_to_admins_and_trainers_only(app, client, learner):
    log_in(client, learner)
    page = client.get("/account/security")
    assert "offered to administrators and trainers" in page.text
    assert "Set up two-step log-in" not in page.text
    assert post(client, "/account/two-factor/setup").status_code == 403
    assert not two_factor_on(learner.id)


# --- logging in with it --------------------------------------------------------------------------


def test_the_log_in_asks_for_the_code_after_the_password(app, client, admin):
    app_code, _codes = turn_on(app, admin)
    response = post_login(client, admin.email, PASSWORD, next_="/roles")
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert session_count() == 0
    assert_sent_to_login(client.get("/"))  # the password alone opened nothing

    page = client.get("/login/code")
    assert page.status_code == 200 and "authenticator app" in page.text
    wrong = client.post("/login/code", data={"csrf_token": csrf_from(page.text), "code": "123456"})
    assert wrong.status_code == 200 and "That code is not right" in wrong.text
    assert session_count() == 0

    right = client.post(
        "/login/code", data={"csrf_token": csrf_from(page.text), "code": app_code.now()}
    )
    assert right.status_code == 302 and right.headers["Location"] == "/roles"
    assert client.get("/").status_code == 200
    assert session_count(admin.id) == 1


def _log_in_with_code(app, email: str, code: str):
    other = app.test_client()
    assert post_login(other, email, PASSWORD).headers["Location"] == "/login/code"
    page = other.get("/login/code")
    return other, other.post("/login/code", data={"csrf_token": csrf_from(page.text), "code": code})


def test_an_app_code_works_once(app, admin):
    app_code, _ = turn_on(app, admin)
    code = app_code.now()
    _, first = _log_in_with_code(app, admin.email, code)
    assert first.status_code == 302
    _, replay = _log_in_with_code(app, admin.email, code)
    assert replay.status_code == 200 and "used already" in replay.text
    assert session_count(admin.id) == 1


def test_a_recovery_code_works_once(app, admin):
    _, codes = turn_on(app, admin)
    client, first = _log_in_with_code(app, admin.email, codes[3].upper())
    assert first.status_code == 302
    assert "recovery code" in client.get("/").text  # the warning, with how many are left
    _, again = _log_in_with_code(app, admin.email, codes[3])
    assert again.status_code == 200
    assert two_factor.status(db.session, admin.id).recovery_codes_left == 9


def test_wrong_codes_are_throttled(app, admin):
    """ASVS A5: six wrong codes in a row: the sixth is refused (429), even a right one."""
    app_code, _ = turn_on(app, admin)
    client = app.test_client()
    post_login(client, admin.email, PASSWORD)
    page = client.get("/login/code")
    token = csrf_from(page.text)
    statuses = [
        client.post("/login/code", data={"csrf_token": token, "code": f"00000{n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [200] * 5
    refused = client.post("/login/code", data={"csrf_token": token, "code": app_code.now()})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "Too many failed tries" in refused.text
    assert session_count() == 0


def test_the_code_step_needs_the_password_step_first(client):
    response = client.get("/login/code")
    assert_sent_to_login(response)


# --- re-authentication ---------------------------------------------------------------------------


def test_turning_it_off_needs_the_password_and_code_given_recently(app, client, admin):
    app_code, codes = turn_on(app, admin)
    log_in(client, admin)
    make_stale(admin.id)

    refused = post(client, "/account/two-factor/disable")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/account/confirm?next=")
    assert two_factor_on(admin.id)

    page = client.get(refused.headers["Location"])
    assert 'name="password"' in page.text and 'name="code"' in page.text
    token = csrf_from(page.text)
    target = refused.headers["Location"]
    without_code = client.post(target, data={"csrf_token": token, "password": PASSWORD})
    assert without_code.status_code == 200 and "Type the code" in without_code.text
    wrong = client.post(target, data={"csrf_token": token, "password": "wrong", "code": codes[0]})
    assert wrong.status_code == 200 and "not your current password" in wrong.text
    ok = client.post(target, data={"csrf_token": token, "password": PASSWORD, "code": codes[0]})
    assert ok.status_code == 302 and ok.headers["Location"] == "/account/security"

    turned_off = post(client, "/account/two-factor/disable")
    assert turned_off.status_code == 302 and turned_off.headers["Location"] == "/account/security"
    assert not two_factor_on(admin.id)
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0


def test_a_learner_confirms_with_the_password_alone(app, client, learner):
    log_in(client, learner)
    page = client.get("/account/confirm")
    assert 'name="password"' in page.text and 'name="code"' not in page.text


def test_changing_permissions_needs_a_recent_password(app, client, admin, learner):
    log_in(client, admin)
    edit = f"/admin/accounts/{learner.id}/edit"
    form = client.get(edit)
    assert form.status_code == 200  # just logged in: recent enough
    token = csrf_from(form.text)
    make_stale(admin.id)

    assert client.get(edit).headers["Location"].startswith("/account/confirm?next=")
    row_version = re.search(r'name="row_version"[^>]*value="([^"]*)"', form.text)
    data = {
        "csrf_token": token,
        "email": learner.email,
        "permissions": ["learner", "trainer"],
        "active": "y",
        **({"row_version": row_version.group(1)} if row_version else {}),
    }
    refused = client.post(edit, data=data, headers={"Referer": f"http://localhost{edit}"})
    assert refused.status_code == 302 and "/account/confirm" in refused.headers["Location"]
    db.session.expire_all()
    assert db.session.get(User, learner.id).permissions == {Permission.LEARNER}

    confirm = client.get(refused.headers["Location"])
    done = client.post(
        refused.headers["Location"],
        data={"csrf_token": csrf_from(confirm.text), "password": PASSWORD},
    )
    assert done.status_code == 302 and done.headers["Location"] == edit
    saved = client.post(edit, data=data)
    assert saved.status_code == 302, saved.text
    db.session.expire_all()
    assert db.session.get(User, learner.id).permissions == {Permission.LEARNER, Permission.TRAINER}


def test_changing_the_password_with_two_step_log_in_needs_the_code(app, client, admin):
    app_code, _ = turn_on(app, admin)
    log_in(client, admin)
    page = client.get("/account/password")
    assert 'name="code"' in page.text
    data = {
        "csrf_token": csrf_from(page.text),
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    wrong = client.post("/account/password", data={**data, "code": "999999"})
    assert wrong.status_code == 200 and "That code is not right" in wrong.text
    db.session.expire_all()
    assert verify_password(db.session.get(User, admin.id).password_hash, PASSWORD)

    right = client.post("/account/password", data={**data, "code": app_code.now()})
    assert right.status_code == 302
    db.session.expire_all()
    assert verify_password(db.session.get(User, admin.id).password_hash, NEW_PASSWORD)


def test_an_admin_resets_another_users_two_step_log_in(app, client, admin):
    trainer = make_user(Permission.TRAINER, email="tess@example.com")
    db.session.commit()
    turn_on(app, trainer)
    log_in(client, admin)
    page = client.get(f"/admin/accounts/{trainer.id}/edit")
    assert 'data-testid="reset-two-factor"' in page.text

    make_stale(admin.id)
    refused = post(client, f"/admin/accounts/{trainer.id}/two-factor/reset")
    assert "/account/confirm" in refused.headers["Location"]
    assert two_factor_on(trainer.id)

    make_stale(admin.id, minutes=0)
    done = post(client, f"/admin/accounts/{trainer.id}/two-factor/reset")
    assert done.status_code == 302
    assert not two_factor_on(trainer.id)
    # The trainer logs in with the password alone again.
    other = app.test_client()
    assert post_login(other, "tess@example.com", PASSWORD).headers["Location"] == "/"


def test_sealed_secrets_open_after_a_key_rotation_with_the_old_key_as_fallback():
    old = Sealer("old-secret-key-0123456789abcdef0123456789")
    sealed = old.seal("JBSWY3DPEHPK3PXP")
    rotated = Sealer(
        "new-secret-key-0123456789abcdef0123456789", ["old-secret-key-0123456789abcdef0123456789"]
    )
    assert rotated.open(sealed) == "JBSWY3DPEHPK3PXP"
    assert Sealer("new-secret-key-0123456789abcdef0123456789").open(sealed) is None
