"""Authentication and sessions through the real pages (RELIABILITY.md sections A and B).

Logging in through the form costs one Argon2id verification (~200 ms), so only the tests
about the log-in itself use it; the others sign in with ``conftest.log_in``, which opens a
real server-side login session without the password round-trip.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import func, select

from app.access import PUBLIC, allow
from app.accounts.models import LoginSession, Permission, User
from app.accounts.passwords import HASHER, verify_password
from app.accounts.services import issue_password_token, use_password_token
from app.accounts.views import GENERIC_LOGIN_ERROR
from app.extensions import db
from app.viewutil import safe_next
from tests.conftest import log_in, make_app
from tests.factories import PASSWORD, make_person, make_user

NEW_PASSWORD = "a brand new passphrase 2026"


# --- helpers ----------------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    """The value of the page's hidden csrf_token input."""
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    assert tag, "the page has no csrf_token input"
    value = re.search(r'value="([^"]+)"', tag.group(0))
    assert value, "the csrf_token input has no value"
    return value.group(1)


def post_login(client, email: str, password: str, next_: str | None = None):
    """GET /login for a token, then POST the form as a browser would."""
    page = client.get("/login")
    assert page.status_code == 200
    url = "/login" if next_ is None else f"/login?next={quote(next_, safe='')}"
    return client.post(
        url, data={"email": email, "password": password, "csrf_token": csrf_from(page.text)}
    )


def csrf_for(client, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return csrf_from(page.text)


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302, response.status_code
    assert urlsplit(response.headers["Location"]).path == "/login"


def session_count(user_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(LoginSession)
    if user_id is not None:
        stmt = stmt.where(LoginSession.user_id == user_id)
    return db.session.scalar(stmt)


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie was set"
    return cookie.value


def client_with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


@pytest.fixture
def user(app):
    person = make_person("Priya", "Shah")
    u = make_user(Permission.LEARNER, person=person, email="priya.shah@example.com")
    db.session.commit()
    return u


# --- A3: log-in and generic errors --------------------------------------------------------------


def test_login_through_the_form_opens_a_session(client, user):
    response = post_login(client, "  Priya.Shah@Example.COM ", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert session_count(user.id) == 1
    home = client.get("/")
    assert home.status_code == 200
    assert "Welcome, Priya" in home.text


def _normalise(html: str, email: str) -> str:
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1X"', html)
    return html.replace(email, "EMAIL")


def test_wrong_password_and_unknown_email_answer_alike(client, user):
    wrong = post_login(client, user.email, PASSWORD + "x")
    unknown = post_login(client, "nobody@example.test", PASSWORD)
    assert wrong.status_code == unknown.status_code == 200
    assert GENERIC_LOGIN_ERROR in wrong.text
    assert GENERIC_LOGIN_ERROR in unknown.text
    assert _normalise(wrong.text, user.email) == _normalise(unknown.text, "nobody@example.test")
    assert_sent_to_login(client.get("/"))
    assert session_count() == 0


# The throttle (progressive delays, 429 with Retry-After, the right password refused while a
# delay runs, ASVS V2.2.1's figure) is tested in tests/accounts/test_throttle.py.


# --- A4: open redirect after log-in --------------------------------------------------------------


REDIRECT_PAYLOADS = [
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
]
#: Further tricks, checked on safe_next directly (no password round-trip each).
MORE_PAYLOADS = [
    "///evil.example",
    "/\t/evil.example",
    "\t//evil.example",
    " //evil.example",
    "http://localhost@evil.example/",
    "\\\\evil.example",
    "/\\/evil.example",
    "HTTPS://evil.example",
    "data:text/html,hi",
    "//evil.example/%2F..",
    "/\r\n//evil.example",
    "https:/evil.example",
    "evil.example",
]


def assert_same_origin(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and "evil" not in location, location


@pytest.mark.parametrize("payload", REDIRECT_PAYLOADS)
def test_next_never_leaves_the_origin(client, user, payload):
    response = post_login(client, user.email, PASSWORD, next_=payload)
    assert response.status_code == 302
    assert_same_origin(response.headers["Location"])
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("payload", REDIRECT_PAYLOADS + MORE_PAYLOADS)
def test_safe_next_falls_back_for_every_payload(payload):
    assert safe_next(payload, "/") == "/"


def test_next_keeps_a_same_site_path(client, user):
    response = post_login(client, user.email, PASSWORD, next_="/roles?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/roles?x=1"


# --- B2: replaying a cookie after log-out -------------------------------------------------------


def test_cookie_copied_before_logout_is_refused_after(app, client, user):
    assert post_login(client, user.email, PASSWORD).status_code == 302
    copy = session_cookie(client)
    other = client_with_cookie(app, copy)
    assert other.get("/").status_code == 200  # the copy works while the session is open

    response = client.post("/logout", data={"csrf_token": csrf_for(client)})
    assert_sent_to_login(response)
    assert session_count(user.id) == 0
    assert_sent_to_login(client.get("/"))

    assert_sent_to_login(client_with_cookie(app, copy).get("/"))
    assert_sent_to_login(other.get("/"))


def test_logout_clears_site_data(client, user):
    log_in(client, user)
    response = client.post("/logout", data={"csrf_token": csrf_for(client)})
    assert_sent_to_login(response)
    # "cookies" is left out on purpose: the response itself sets the session cookie that
    # carries the "logged out" message; the server-side session row is what ends the login.
    cleared = {v.strip() for v in response.headers.get("Clear-Site-Data", "").split(",")}
    assert {'"cache"', '"storage"'} <= cleared


def test_cookie_from_before_login_is_not_a_session(app, client, user):
    client.get("/login")
    before = session_cookie(client)
    assert post_login(client, user.email, PASSWORD).status_code == 302
    assert session_cookie(client) != before
    assert_sent_to_login(client_with_cookie(app, before).get("/"))


# --- B3: revoking sessions on password change and deactivation ------------------------------------


def test_password_change_ends_other_sessions_but_not_this_one(app, client, user):
    log_in(client, user)
    copy = session_cookie(client)
    elsewhere = app.test_client()
    log_in(elsewhere, db.session.get(User, user.id))
    assert client_with_cookie(app, copy).get("/").status_code == 200
    assert elsewhere.get("/").status_code == 200

    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_for(client, "/account/password"),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    assert client.get("/").status_code == 200  # the changing browser stays signed in
    assert session_cookie(client) != copy
    assert_sent_to_login(client_with_cookie(app, copy).get("/"))
    assert_sent_to_login(elsewhere.get("/"))
    assert session_count(user.id) == 1
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, NEW_PASSWORD)


def test_password_change_with_wrong_current_password_changes_nothing(app, client, user):
    log_in(client, user)
    elsewhere = app.test_client()
    log_in(elsewhere, db.session.get(User, user.id))
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_for(client, "/account/password"),
            "current_password": "wrong one!",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "current password is not right" in response.text
    assert elsewhere.get("/").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == user.password_hash


@pytest.fixture
def admin_client(app):
    admin = make_user(Permission.ADMIN, person=make_person("Ada", "Admin"))
    db.session.commit()
    client = app.test_client()
    log_in(client, admin)
    return client


@pytest.mark.parametrize("how", ["person", "account", "end-sessions"])
def test_admin_action_ends_the_users_sessions(app, client, user, admin_client, how):
    log_in(client, user)
    copy = session_cookie(client)
    assert client.get("/").status_code == 200

    if how == "person":
        response = admin_client.post(
            f"/admin/people/{user.person_id}/active",
            data={
                "csrf_token": csrf_for(admin_client, "/admin/people"),
                "active": "0",
                "confirmed": "1",
            },
        )
    elif how == "account":
        response = admin_client.post(
            f"/admin/accounts/{user.id}/edit",
            data={
                "csrf_token": csrf_for(admin_client, f"/admin/accounts/{user.id}/edit"),
                "email": user.email,
                "permissions": ["learner"],
            },
        )  # "active" left unticked
    else:
        response = admin_client.post(
            f"/admin/accounts/{user.id}/end-sessions",
            data={"csrf_token": csrf_for(admin_client, f"/admin/accounts/{user.id}/edit")},
        )
    assert response.status_code == 302, response.text

    assert session_count(user.id) == 0
    assert_sent_to_login(client.get("/"))
    assert_sent_to_login(client_with_cookie(app, copy).get("/"))
    db.session.expire_all()
    assert db.session.get(User, user.id).active is (how == "end-sessions")


def test_deactivated_account_cannot_log_in(client, user):
    db.session.get(User, user.id).active = False
    db.session.commit()
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 200
    assert GENERIC_LOGIN_ERROR in response.text
    assert session_count() == 0


# --- B4: idle and absolute timeouts -------------------------------------------------------------


def _age_session(user_id: int, **ages: timedelta) -> None:
    row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user_id))
    now = datetime.now(UTC)
    for column, age in ages.items():
        setattr(row, column, now - age)
    db.session.commit()


def test_session_idle_just_under_the_timeout_is_kept(app, client, user):
    log_in(client, user)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    _age_session(user.id, last_seen_at=idle - timedelta(minutes=1))
    assert client.get("/").status_code == 200
    db.session.expire_all()
    seen = db.session.scalar(select(LoginSession.last_seen_at))
    assert datetime.now(UTC) - seen < timedelta(minutes=1)  # the visit counted as activity


def test_session_idle_past_the_timeout_is_refused(app, client, user):
    assert app.config["SESSION_IDLE_TIMEOUT"] <= timedelta(minutes=30)  # ASVS V3.3.2 L2
    log_in(client, user)
    _age_session(user.id, last_seen_at=app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1))
    assert_sent_to_login(client.get("/"))
    assert session_count(user.id) == 0


def test_session_older_than_the_absolute_lifetime_is_refused(app, client, user):
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert lifetime <= timedelta(hours=12)  # ASVS V3.3.2 L2
    log_in(client, user)
    _age_session(user.id, created_at=lifetime + timedelta(minutes=1))
    assert_sent_to_login(client.get("/"))
    assert session_count(user.id) == 0


# --- one-time set-password links ----------------------------------------------------------------


def _new_account_link(app) -> tuple[User, str]:
    person = make_person("Noor", "Newstarter")
    user = User(person_id=person.id, email="noor@example.test", active=True)
    db.session.add(user)
    db.session.flush()
    token = issue_password_token(db.session, user=user, ttl=app.config["SET_PASSWORD_TOKEN_TTL"])
    db.session.commit()
    return user, token


def test_set_password_link_works_once(app, client):
    user, token = _new_account_link(app)
    url = f"/account/set-password/{token}"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert_sent_to_login(response)
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, NEW_PASSWORD)

    again = client.get(url)
    assert again.status_code == 404
    assert "This link no longer works" in again.text
    replay = client.post(
        url,
        data={
            "csrf_token": csrf_for(client, "/login"),
            "password": "another passphrase 99",
            "confirm": "another passphrase 99",
        },
    )
    assert replay.status_code == 404
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, NEW_PASSWORD)


def test_set_password_link_survives_a_refused_password(app, client):
    user, token = _new_account_link(app)
    url = f"/account/set-password/{token}"
    page = client.get(url)
    response = client.post(
        url,
        data={"csrf_token": csrf_from(page.text), "password": "too short", "confirm": "too short"},
    )
    assert response.status_code == 200
    assert "Use at least 12 characters." in response.text
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash is None
    assert client.get(url).status_code == 200  # not used up by the refusal


def test_a_new_link_replaces_the_old_one(app, client):
    user, old = _new_account_link(app)
    new = issue_password_token(
        db.session, user=db.session.get(User, user.id), ttl=app.config["SET_PASSWORD_TOKEN_TTL"]
    )
    db.session.commit()
    assert client.get(f"/account/set-password/{old}").status_code == 404
    assert client.get(f"/account/set-password/{new}").status_code == 200


def test_expired_or_unknown_set_password_link_is_refused(app, client):
    _user, token = _new_account_link(app)
    from app.accounts.models import PasswordToken

    db.session.scalar(select(PasswordToken)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    for url in (f"/account/set-password/{token}", "/account/set-password/made-up-token"):
        response = client.get(url)
        assert response.status_code == 404
        assert "This link no longer works" in response.text


# --- A2: password storage -------------------------------------------------------------------------

ARGON2_HASH = re.compile(
    r"^\$(?P<type>argon2(?:id|i|d))\$v=(?P<v>\d+)\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)"
    r"\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<hash>[A-Za-z0-9+/]+)$"
)


def _parse(stored: str) -> dict:
    match = ARGON2_HASH.match(stored)
    assert match, f"not an Argon2 hash: {stored[:20]}…"
    return match.groupdict()


def test_password_hash_is_argon2id_above_owasp_minimum_and_salted(app):
    users = []
    for name in ("One", "Two"):
        person = make_person(name, "Sameword")
        user = User(person_id=person.id, email=f"{name.lower()}@example.test", active=True)
        db.session.add(user)
        db.session.flush()
        token = issue_password_token(db.session, user=user, ttl=timedelta(hours=1))
        use_password_token(db.session, token=token, password=NEW_PASSWORD)
        users.append(user)
    db.session.commit()
    first, second = (db.session.get(User, u.id).password_hash for u in users)

    params = _parse(first)
    assert params["type"] == "argon2id"
    assert int(params["v"]) == 19
    assert int(params["m"]) >= 19456  # KiB: OWASP's 19 MiB
    assert int(params["t"]) >= 2
    assert int(params["p"]) >= 1
    assert len(params["salt"]) * 6 // 8 >= 16  # at least 128 bits of salt
    assert first != second  # same password, different salts
    assert _parse(second)["salt"] != params["salt"]
    assert NEW_PASSWORD not in first


WEAK_HASHERS = {
    "argon2id-low-params": PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1),
    "argon2i": PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1, type=Type.I),
}


@pytest.mark.parametrize("kind", sorted(WEAK_HASHERS))
def test_legacy_hash_is_upgraded_at_login(client, user, kind):
    legacy = WEAK_HASHERS[kind].hash(PASSWORD)
    db.session.get(User, user.id).password_hash = legacy
    db.session.commit()

    assert post_login(client, user.email, PASSWORD).status_code == 302
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded != legacy
    params = _parse(upgraded)
    assert params["type"] == "argon2id"
    assert not HASHER.check_needs_rehash(upgraded)
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2
    assert verify_password(upgraded, PASSWORD)


def test_legacy_hash_is_kept_on_a_failed_login(client, user):
    legacy = WEAK_HASHERS["argon2id-low-params"].hash(PASSWORD)
    db.session.get(User, user.id).password_hash = legacy
    db.session.commit()
    assert post_login(client, user.email, "wrong password here").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == legacy


# --- B1 and headers ------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(client, user):
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    attributes = [a.strip().lower() for a in cookies[0].split(";")[1:]]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert not any(a.startswith("domain=") for a in attributes)


def test_session_cookie_is_secure_when_configured(database_url):
    secure_app = make_app(database_url, SESSION_COOKIE_SECURE=True)
    try:
        response = secure_app.test_client().get("/login", base_url="https://localhost")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert "secure" in [a.strip().lower() for a in cookie.split(";")]
    finally:
        with secure_app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("path", ["/", "/me", "/roles", "/account/password", "/admin/people"])
def test_authenticated_pages_are_not_stored(client, path):
    admin = make_user(Permission.LEARNER, Permission.ADMIN)
    db.session.commit()
    log_in(client, admin)
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")


# --- errors -------------------------------------------------------------------------------------


def test_unexpected_error_shows_an_incident_id_and_no_traceback(app, database_url, caplog):
    failing = make_app(database_url)

    @failing.route("/boom")
    @allow(PUBLIC)
    def boom():
        raise RuntimeError("secret-internal-detail 0xDEADBEEF")

    try:
        with caplog.at_level("ERROR", logger="pmo_pathways"):
            response = failing.test_client().get("/boom")
    finally:
        with failing.app_context():
            db.engine.dispose()

    assert response.status_code == 500
    incident = re.search(r'data-testid="incident">([0-9a-f]{10})<', response.text)
    assert incident, "no incident reference on the error page"
    for leak in ("Traceback", "RuntimeError", "secret-internal-detail", "DEADBEEF", 'File "'):
        assert leak not in response.text
    # The same reference is in the log, with the traceback, for whoever investigates.
    logged = [r for r in caplog.records if incident.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None
