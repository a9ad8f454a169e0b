"""Serving safely (issue 14, point 4; RELIABILITY.md B1, B4, K1 and key finding 4).

* over-large bodies get 413 with the product's page, while uploads up to their documented
  limit still reach their form;
* a login session is bound to its browser: the cookie replayed from another browser ends
  the session (the "strong protection" the code claims, which Flask-Login's own mode does
  not give permanent sessions);
* over HTTPS, cookies are Secure and named ``__Host-…``, and HSTS lasts a year with
  subdomains; an untrusted Host is refused; ProxyFix trusts exactly the configured proxies;
* ``PMO_ENV=production`` refuses to start on an unsafe configuration (a clear message,
  exit status 4, gunicorn stops), each check tested on its own, including two-step log-in
  required of nobody and demo accounts still on the published password; the dev server
  of the README still starts;
* no private key, key-shaped token or hard-coded password is in the source (an explicit
  allow-list names the demo's published password and the test key).
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from sqlalchemy import func, select

from app import create_app
from app.accounts import views as account_views
from app.accounts.models import LoginSession, LoginThrottle, Permission, User
from app.accounts.passwords import hash_password
from app.config import Config
from app.demo.organisation import DEMO_PASSWORD
from app.demo.organisation import DOMAIN as DEMO_DOMAIN
from app.extensions import db
from app.hardening import (
    EXIT_UNSAFE_CONFIGURATION,
    MAX_DEMO_ACCOUNTS_CHECKED,
    SECURE_SESSION_COOKIE,
    accounts_with_the_demo_password,
)
from app.staff_import.reading import MAX_IMPORT_BYTES
from tests.accounts.test_auth import csrf_for, csrf_from, post_login
from tests.conftest import log_in, make_app
from tests.factories import PASSWORD, make_person, make_user

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


@pytest.fixture
def user(app):
    person = make_person("Priya", "Shah")
    account = make_user(Permission.LEARNER, person=person, email="priya@example.com")
    db.session.commit()
    return account


def error_title(html: str) -> str:
    start = html.index('data-testid="error-title">') + len('data-testid="error-title">')
    return html[start : html.index("<", start)]


# --- 413 ------------------------------------------------------------------------------------


def test_an_over_large_urlencoded_form_gets_413_before_it_is_read(app, client, user):
    token = csrf_for(client, "/login")
    limit = app.config["MAX_FORM_MEMORY_SIZE"]
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": "x" * limit, "password": "whatever it is"},
    )
    assert response.status_code == 413
    assert error_title(response.text) == "Too much text"
    assert "Shorten what you typed" in response.text
    assert "Traceback" not in response.text
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0  # not read


def test_a_long_form_under_the_limit_is_answered_by_the_form(client, user):
    token = csrf_for(client, "/login")
    # A 20,000-character lesson, typed in Greek, encodes to ~120 kB: far under the limit.
    response = client.post(
        "/login", data={"csrf_token": token, "email": "λ" * 20_000, "password": "x"}
    )
    assert response.status_code == 200  # the form's own field error, not 413


def test_an_over_large_text_field_of_a_multipart_form_gets_413(app, client, user):
    token = csrf_for(client, "/login")
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1),
            "file": (io.BytesIO(b"x"), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()  # spooled to a temporary file by the test client
    assert response.status_code == 413
    assert error_title(response.text) == "Too much text"


@pytest.fixture
def admin_client(app, client):
    admin = make_user(Permission.ADMIN, person=make_person("Ada", "Admin"))
    db.session.commit()
    log_in(client, admin)
    return client


def _import(client, data: bytes):
    response = client.post(
        "/admin/imports",
        data={
            "csrf_token": csrf_for(client, "/admin/imports"),
            "file": (io.BytesIO(data), "s.csv"),
        },
        content_type="multipart/form-data",
    )
    # The test client spools a large body to a temporary file and leaves it open.
    response.request.input_stream.close()
    return response


def test_an_upload_over_the_site_limit_gets_413(app, admin_client):
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * MB
    token = csrf_for(admin_client, "/admin/imports")
    head = (
        f'--B\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        '--B\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + b"a" * (16 * MB - len(head)) + b"\r\n--B--\r\n"
    response = admin_client.post(
        "/admin/imports",
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type="multipart/form-data; boundary=B",
    )
    assert response.status_code == 413
    assert error_title(response.text) == "File too large"
    assert "16 MB in all" in response.text


def test_a_staff_import_file_at_its_documented_limit_reaches_the_import(app, admin_client):
    """The HR export limit is 10 MB (app/staff_import/reading.py, shown on the form): a file
    that size is read and judged by the import itself, never cut off by the site's 413. (A
    line-heavy file is refused for its rows at once, which keeps the test quick.)"""
    assert app.config["MAX_CONTENT_LENGTH"] >= MAX_IMPORT_BYTES + MB
    at_limit = _import(admin_client, b"a\n" * (MAX_IMPORT_BYTES // 2))
    assert at_limit.status_code == 200
    assert "rows. Split it into smaller files" in at_limit.text
    over = _import(admin_client, b"a" * (MAX_IMPORT_BYTES + 1))
    assert over.status_code == 200
    assert "over the 10 MB size limit" in over.text


# --- the session bound to its browser ---------------------------------------------------------


def _browser(app, agent: str):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def test_a_session_cookie_replayed_from_another_browser_ends_the_session(app, user):
    firefox = _browser(app, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0")
    assert post_login(firefox, user.email, PASSWORD).status_code == 302
    assert firefox.get("/").status_code == 200
    stolen = firefox.get_cookie("session").value

    thief = _browser(app, "curl/8.5.0")
    thief.set_cookie("session", stolen)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    # The session is over for its owner too: a copied cookie is worth nothing, even later.
    assert firefox.get("/").status_code == 302


def test_the_same_browser_keeps_its_session(app, user):
    browser = _browser(app, "Mozilla/5.0 Chrome/130")
    assert post_login(browser, user.email, PASSWORD).status_code == 302
    copy = _browser(app, "Mozilla/5.0 Chrome/130")
    copy.set_cookie("session", browser.get_cookie("session").value)
    assert copy.get("/").status_code == 200
    assert browser.get("/").status_code == 200


# --- HTTPS: cookies, HSTS; trusted hosts; proxies ---------------------------------------------


@pytest.fixture
def make(database_url):
    """Apps with other settings on the test database; disposed afterwards."""
    made = []

    def _make(**overrides):
        other = make_app(database_url, **overrides)
        made.append(other)
        return other

    yield _make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def _cookie(response, name: str) -> list[str]:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return [part.strip().lower() for part in header.split(";")]
    raise AssertionError(f"no {name} cookie in {response.headers.getlist('Set-Cookie')}")


def test_over_https_cookies_are_secure_host_prefixed_and_hsts_is_sent(make, user):
    secure = make(PMO_HTTPS=True)
    client = secure.test_client()
    page = client.get("/login", base_url="https://localhost")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    for name in (SECURE_SESSION_COOKIE, "__Host-pmo_device"):
        attributes = _cookie(response, name)
        assert "secure" in attributes and "httponly" in attributes and "path=/" in attributes
        assert "samesite=lax" in attributes
        assert not any(a.startswith("domain=") for a in attributes)
    assert client.get("/", base_url="https://localhost").status_code == 200


def test_over_plain_http_there_is_no_hsts_and_the_cookie_keeps_its_name(client):
    response = client.get("/login")
    assert "Strict-Transport-Security" not in response.headers
    assert "secure" not in _cookie(response, "session")


def test_an_untrusted_host_is_refused(make):
    strict = make(TRUSTED_HOSTS=["pmo.example.org"])
    client = strict.test_client()
    assert client.get("/login", headers={"Host": "pmo.example.org"}).status_code == 200
    refused = client.get("/login", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "Traceback" not in refused.text


def test_behind_one_proxy_the_forwarded_client_address_and_scheme_are_used(make, user, monkeypatch):
    still = datetime.now(UTC)  # the views' clock held still: a slow password check waits not
    monkeypatch.setattr(account_views, "_now", lambda: still)
    proxied = make(PMO_PROXIES="1", LOGIN_ADDRESS_FREE_FAILURES=1)
    statuses = []
    for address in ("203.0.113.1", "203.0.113.1", "203.0.113.2"):
        client = proxied.test_client()
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"email": "x@example.com", "password": "no", "csrf_token": csrf_from(page.text)},
            headers={"X-Forwarded-For": address},
        )
        statuses.append(response.status_code)
    # One failure free per address: the second from .1 waits; .2 is another client.
    assert statuses == [200, 429, 200]
    https = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in https.headers


def test_without_a_proxy_forwarded_headers_are_ignored(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


# --- the production self-check ----------------------------------------------------------------


class Production(Config):
    """A configuration as an operator would give it, with every setting right."""

    PMO_ENV = "production"
    PMO_HTTPS = True
    TRUSTED_HOSTS = ["pmo.example.org"]
    PMO_PROXIES = "1"
    PMO_TWO_STEP_REQUIRED_FOR = "admin"

    @classmethod
    def load(cls) -> dict:
        values = super().load()
        values["SECRET_KEY"] = "k" * 16 + "0123456789abcdef0123456789abcdef"
        values["SECRET_KEY_SOURCE"] = "environment"
        values["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
        return values


def test_a_safe_production_configuration_starts():
    app = create_app(Production)
    assert app.config["SESSION_COOKIE_NAME"] == SECURE_SESSION_COOKIE


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY_SOURCE": "instance file"}, "SECRET_KEY is not set in the environment"),
        ({"SECRET_KEY": "change-me"}, "SECRET_KEY is a default value"),
        ({"SECRET_KEY": "short-but-random-9f2c"}, "shorter than 32 characters"),
        ({"DEBUG": True}, "Debug mode is on"),
        ({"TRUSTED_HOSTS": None}, "TRUSTED_HOSTS is not set"),
        ({"PMO_HTTPS": False}, "PMO_HTTPS is not 1"),
        ({"PMO_PROXIES": "two"}, "is not a number of proxies"),
        ({"TESTING": True}, "TESTING is on"),
        ({"MAX_CONTENT_LENGTH": None}, "MAX_CONTENT_LENGTH is not set"),
        ({"WTF_CSRF_ENABLED": False}, "WTF_CSRF_ENABLED is off"),
        ({"PMO_TWO_STEP_REQUIRED_FOR": ""}, "PMO_TWO_STEP_REQUIRED_FOR is empty"),
        ({"PMO_TWO_STEP_REQUIRED_FOR": " , "}, "PMO_TWO_STEP_REQUIRED_FOR is empty"),
        ({"PMO_TWO_STEP_REQUIRED_FOR": "admin,manager"}, "names manager: it may name only"),
    ],
)
def test_an_unsafe_production_configuration_refuses_to_start(overrides, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        create_app(Production, **overrides)
    assert stopped.value.code == EXIT_UNSAFE_CONFIGURATION
    err = capsys.readouterr().err
    assert "PMO Pathways refuses to start" in err
    assert message in err
    # Each case breaks one setting, and exactly that check speaks.
    assert len([line for line in err.splitlines() if line.startswith("  - ")]) == 1


def test_an_unknown_permission_in_the_two_step_setting_stops_any_start(capsys):
    """A holder of a permission two-step log-in is not offered to could reach no page."""
    with pytest.raises(SystemExit):
        create_app(Config, PMO_TWO_STEP_REQUIRED_FOR="learner", SQLALCHEMY_DATABASE_URI="sqlite://")
    assert "names learner: it may name only admin and trainer" in capsys.readouterr().err


def _demo_account(**changes) -> User:
    """An account as `flask demo build` makes one: the demo's domain and password."""
    user = make_user(
        Permission.ADMIN,
        person=make_person("Tom", "Becker"),
        email=changes.pop("email", f"tom.becker@{DEMO_DOMAIN}"),
        active=changes.pop("active", True),
    )
    user.password_hash = hash_password(changes.pop("password", DEMO_PASSWORD))
    db.session.commit()
    return user


def _starts_on(url: str) -> bool:
    try:
        app = create_app(Production, SQLALCHEMY_DATABASE_URI=url)
    except SystemExit:
        return False
    with app.app_context():
        db.engine.dispose()
    return True


def test_production_refuses_an_active_account_with_the_demo_password(app, database_url, capsys):
    assert _starts_on(database_url)  # the same database without it starts
    capsys.readouterr()
    _demo_account()
    started = time.perf_counter()
    assert not _starts_on(database_url)
    took = time.perf_counter() - started
    err = capsys.readouterr().err
    assert (
        f"1 active account(s) still have the demo's published password (tom.becker@{DEMO_DOMAIN})"
        in err
    )
    assert len([line for line in err.splitlines() if line.startswith("  - ")]) == 1
    print(f"K1: self-check with one demo account took {took * 1000:.0f} ms")


@pytest.mark.parametrize(
    "changes",
    [{"active": False}, {"password": "a-new-password-of-its-own-42"}],
    ids=["deactivated", "password-changed"],
)
def test_production_starts_once_the_demo_accounts_are_dealt_with(app, database_url, changes):
    _demo_account(**changes)
    assert _starts_on(database_url)


def test_flask_commands_still_run_with_demo_accounts_so_they_can_be_repaired(app, database_url):
    _demo_account()
    with click.Context(click.Command("repair")):
        assert _starts_on(database_url)


def test_the_demo_check_reads_only_the_demo_accounts(app, database_url, count_queries):
    """However many accounts there are, the check verifies at most the demo's few."""
    for n in range(12):
        _demo_account(email=f"demo{n}@{DEMO_DOMAIN}")
    db.session.remove()
    started = time.perf_counter()
    found = accounts_with_the_demo_password(database_url)
    took = time.perf_counter() - started
    assert len(found) == MAX_DEMO_ACCOUNTS_CHECKED
    print(f"K1: {len(found)} hashes verified in {took * 1000:.0f} ms")
    assert took < 5


# --- no secrets in the source -------------------------------------------------------------------

#: Key- and token-shaped strings: never in the source, tests included.
KEY_SHAPES = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "Stripe live key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{20,}"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9]{32,}"),
}
#: A literal assigned to a name that says password, secret, API key or token.
ASSIGNED_SECRET = re.compile(
    r"""(?i)\b\w*(?:password|passwd|secret|api_?key|token)\w*["']?\s*[:=]\s*f?["']"""
    r"""([^"'\s]{8,})["']"""
)
#: Literals that look like secrets and are not, each with the reason.
ALLOWED_LITERALS = {
    "harbourside-demo-2026": "the demo's published password (README); production refuses it",
    "test-secret-key-not-for-production-0123456789": "TestConfig's key; production refuses it",
    "(changed)": "the audit trail's placeholder for a changed secret column",
}
#: Folders whose literals are fixtures: throwaway keys and passwords of throwaway databases.
FIXTURE_FOLDERS = ("tests/", "bench/")
SKIPPED_FOLDERS = {
    ".git",
    ".venv",
    ".lock-venv",
    "node_modules",
    "instance",
    "__pycache__",
    "vendor",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "build",
    "dist",
}
SOURCE_SUFFIXES = {
    ".py",
    ".html",
    ".js",
    ".css",
    ".md",
    ".toml",
    ".cfg",
    ".ini",
    ".yml",
    ".yaml",
    ".json",
    ".sh",
    ".txt",
    ".conf",
    ".env",
    ".sql",
    ".lock",
}


def source_files() -> list[Path]:
    found = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [
            d for d in subfolders if d not in SKIPPED_FOLDERS and not d.endswith(".egg-info")
        ]
        for name in names:
            path = Path(folder) / name
            if (path.suffix in SOURCE_SUFFIXES or name == "Makefile") and path.stat().st_size < 2e6:
                found.append(path)
    return found


def secrets_in(relative: str, text: str) -> list[str]:
    found = [f"{relative}: {kind}" for kind, shape in KEY_SHAPES.items() if shape.search(text)]
    if not relative.startswith(FIXTURE_FOLDERS):
        found += [
            f"{relative}: {m.group(0)!r}"
            for m in ASSIGNED_SECRET.finditer(text)
            if m.group(1) not in ALLOWED_LITERALS
        ]
    return found


def test_the_scan_finds_what_it_looks_for():
    fake_key = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE..."
    assert secrets_in("app/x.py", fake_key) == ["app/x.py: private key"]
    assert secrets_in("tests/x.py", "AKIA" + "ABCDEFGHIJKLMNOP") == ["tests/x.py: AWS access key"]
    assert secrets_in("app/x.py", 'SMTP_PASSWORD = "' + 'hunter2hunter2"')
    assert secrets_in("app/x.py", '"api_key": "' + '9f8e7d6c5b4a"')
    assert not secrets_in("tests/x.py", 'PASSWORD = "' + 'hunter2hunter2"')  # a fixture
    assert not secrets_in("app/x.py", 'DEMO_PASSWORD = "' + 'harbourside-demo-2026"')


def test_no_private_keys_api_keys_or_passwords_in_the_source():
    files = source_files()
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += secrets_in(path.relative_to(ROOT).as_posix(), text)
    print(f"K1: {len(files)} source files scanned for secrets")
    assert len(files) > 300
    assert found == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(tmp_path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PMO_", "FLASK_")) and k not in ("SECRET_KEY", "TRUSTED_HOSTS")
    }
    return {
        **env,
        "PMO_INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **extra,
    }


def test_gunicorn_stops_with_the_message_on_an_unsafe_production_configuration(tmp_path):
    port = _free_port()
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=_environment(tmp_path, PMO_ENV="production"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "PMO Pathways refuses to start" in done.stderr
    assert "SECRET_KEY is not set in the environment" in done.stderr
    assert "TRUSTED_HOSTS is not set" in done.stderr


def test_the_readme_dev_server_still_starts(tmp_path):
    """`make run` serves with `flask --app wsgi run` and no production settings."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
            cwd=ROOT,
            env=_environment(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            status = None
            for _ in range(300):
                if server.poll() is not None:
                    break
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/login")
                    status = conn.getresponse().status
                    conn.close()
                    break
                except OSError:
                    time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert status == 200, log.read_text()
