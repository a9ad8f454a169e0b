"""Serving safely: the production self-check, the reverse proxy, HTTPS and request sizes.

* ``PMO_ENV=production`` makes the app refuse to start (a clear message on standard error,
  exit status 4, which also stops gunicorn instead of restarting workers) while any setting
  is unsafe: a default or short SECRET_KEY, debug or testing on, no TRUSTED_HOSTS, not
  served over HTTPS, no body size limit, CSRF off, a PMO_PROXIES that is not a number,
  two-step log-in required of nobody (PMO_TWO_STEP_REQUIRED_FOR empty), or an active
  account still holding the demo's published password (checked when serving, not for
  `flask` commands, which are how an operator repairs the database).
* ``PMO_PROXIES=n`` trusts n reverse proxies' X-Forwarded-* headers (Werkzeug's ProxyFix):
  the client address the log-in throttle counts is then the real one, and cannot be
  changed by a client sending its own X-Forwarded-For when no proxy is configured.
* ``PMO_HTTPS=1`` makes cookies Secure and names them with the ``__Host-`` prefix, and
  sends HSTS (one year, subdomains included). HSTS is also sent on any request that
  arrived over HTTPS (directly, or as a trusted proxy's X-Forwarded-Proto says).
* A urlencoded body larger than MAX_FORM_MEMORY_SIZE is refused with 413 before it is
  parsed (Werkzeug applies that limit only to multipart text fields; a urlencoded body
  was read whole up to MAX_CONTENT_LENGTH).
* An address or headers too large for gunicorn to read get the product's own 414 or 431
  page: the worker (app/serving.py) asks for it under ``REFUSED``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import (
    RequestHeaderFieldsTooLarge,
    RequestURITooLarge,
    SecurityError,
)
from werkzeug.middleware.proxy_fix import ProxyFix

from app import clock

#: The WSGI environ key under which the gunicorn worker (app/serving.py) asks the app for
#: its refusal page, with the status gunicorn found. No client can set it (a client's
#: headers arrive as HTTP_* keys).
REFUSED = "pmo.refused"

#: gunicorn stops (rather than restarting workers forever) when a worker exits with this.
EXIT_UNSAFE_CONFIGURATION = 4

SECURE_SESSION_COOKIE = "__Host-session"
#: Values that are examples or test keys, never secrets.
KNOWN_KEYS = frozenset(
    {
        "test-secret-key-not-for-production-0123456789",
        "change-me",
        "changeme",
        "secret",
        "dev",
        "development",
        "please-change-me",
    }
)
MIN_SECRET_KEY_LENGTH = 32

log = logging.getLogger("pmo_pathways")


class FormLimitedRequest(Request):
    """A request whose urlencoded body may be at most MAX_FORM_MEMORY_SIZE bytes."""

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if self.mimetype == "application/x-www-form-urlencoded" and current_app:
            form_limit = current_app.config.get("MAX_FORM_MEMORY_SIZE")
            if form_limit is not None:
                return form_limit if limit is None else min(limit, form_limit)
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def proxy_count(config: Any) -> int | None:
    """PMO_PROXIES as a number of proxies, or None when it is not one."""
    try:
        count = int(str(config.get("PMO_PROXIES") or "0").strip())
    except ValueError:
        return None
    return count if 0 <= count <= 10 else None


def production_problems(app: Flask) -> list[str]:
    """What makes this configuration unsafe to serve in production (empty when none)."""
    config = app.config
    problems = []
    key = str(config.get("SECRET_KEY") or "")
    if config.get("SECRET_KEY_SOURCE") != "environment":
        problems.append(
            "SECRET_KEY is not set in the environment (a key kept in instance/ differs on "
            "every node and is lost with the folder). Set SECRET_KEY to at least 32 random "
            "characters, e.g. python3 -c 'import secrets; print(secrets.token_hex(32))'."
        )
    elif key in KNOWN_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            "SECRET_KEY is a default value or shorter than 32 characters: set a random one."
        )
    if app.debug:
        problems.append("Debug mode is on (FLASK_DEBUG): it shows code and runs a console.")
    if config.get("TESTING"):
        problems.append("TESTING is on.")
    if not config.get("TRUSTED_HOSTS"):
        problems.append(
            "TRUSTED_HOSTS is not set: list the host names the site is served under, "
            "comma-separated (e.g. TRUSTED_HOSTS=pmo.example.org)."
        )
    if not config.get("PMO_HTTPS"):
        problems.append(
            "PMO_HTTPS is not 1: serve the site over HTTPS (a proxy may end TLS) and set it."
        )
    if not config.get("MAX_CONTENT_LENGTH"):
        problems.append("MAX_CONTENT_LENGTH is not set: request bodies would be unlimited.")
    if config.get("WTF_CSRF_ENABLED") is False:
        problems.append("WTF_CSRF_ENABLED is off: forms would accept cross-site posts.")
    if proxy_count(config) is None:
        problems.append(
            f"PMO_PROXIES={config.get('PMO_PROXIES')!r} is not a number of proxies (0-10)."
        )
    return problems + _account_problems(config)


def _account_problems(config: Any) -> list[str]:
    """Who could log in too easily: nobody asked for two-step log-in, or demo accounts
    with the published password."""
    problems = []
    from app.accounts.two_factor import required_permissions

    two_step = two_step_setting_problem(config)
    if two_step:
        problems.append(two_step)
    elif not required_permissions(config.get("PMO_TWO_STEP_REQUIRED_FOR")):
        problems.append(
            "PMO_TWO_STEP_REQUIRED_FOR is empty: administrators would log in with a password "
            "alone. Leave it unset (admin) or set it to admin or admin,trainer."
        )
    if click.get_current_context(silent=True) is None:  # serving, not a `flask` command
        demo = accounts_with_the_demo_password(str(config.get("SQLALCHEMY_DATABASE_URI") or ""))
        if demo:
            problems.append(
                f"{len(demo)} active account(s) still have the demo's published password "
                f"({', '.join(demo)}), made by `flask demo build`. Serve a database "
                "without the demo organisation, or first deactivate those accounts or give "
                "them new passwords (serve with PMO_ENV unset, on a private address, to do it)."
            )
    return problems


def two_step_setting_problem(config: Any) -> str | None:
    """What is wrong with PMO_TWO_STEP_REQUIRED_FOR (None when it reads)."""
    from app.accounts.two_factor import required_permissions

    try:
        required_permissions(config.get("PMO_TWO_STEP_REQUIRED_FOR"))
    except ValueError as error:
        return str(error)
    return None


#: At most this many demo accounts are checked (the demo build makes four): each check is
#: one Argon2 verification (~60 ms), so the self-check stays well under a second.
MAX_DEMO_ACCOUNTS_CHECKED = 4


def accounts_with_the_demo_password(url: str) -> list[str]:
    """The emails of active accounts of the demo's domain whose password is still the
    demo's published one (README, app/demo). Only the demo's domain is looked at, so that
    the check costs one query and a few hashes, however many accounts there are. A database
    without the accounts table yet (before `flask db upgrade`), or one that cannot be
    reached, gives none: the check is about what an existing database holds."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from app.accounts.passwords import verify_password
    from app.demo.organisation import DEMO_PASSWORD, DOMAIN

    if not url:
        return []
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).exists():
            return []  # nothing there yet (and connecting would create the file)
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("users"):
                return []
            rows = conn.execute(
                sa.text(
                    "SELECT email, password_hash FROM users WHERE active AND email LIKE :domain "
                    "AND password_hash IS NOT NULL ORDER BY id LIMIT :most"
                ),
                {"domain": f"%@{DOMAIN}", "most": MAX_DEMO_ACCOUNTS_CHECKED},
            ).all()
    except sa.exc.SQLAlchemyError as error:
        log.warning("self-check: could not look for demo accounts: %s", type(error).__name__)
        return []
    finally:
        engine.dispose()
    return [email for email, hashed in rows if verify_password(hashed, DEMO_PASSWORD)]


def refused_by_the_server() -> None:
    """A request gunicorn could not read (its address or headers too large) is answered
    with the product's own page: the worker asks for it under ``REFUSED``."""
    refused = request.environ.get(REFUSED)
    if refused == RequestURITooLarge.code:
        raise RequestURITooLarge()
    if refused == RequestHeaderFieldsTooLarge.code:
        raise RequestHeaderFieldsTooLarge()


def refuse_to_start(problems: list[str], *, production: bool = False) -> None:
    why = (
        "PMO_ENV=production and the configuration is unsafe."
        if production
        else "a setting cannot be used as it stands."
    )
    lines = [
        f"PMO Pathways refuses to start: {why}",
        *(f"  - {p}" for p in problems),
        'Fix these settings (README, "Running in production") and start again.',
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_UNSAFE_CONFIGURATION)


def init_app(app: Flask) -> None:
    """Check the configuration, then apply the proxy, HTTPS and body-size settings."""
    if app.config.get("PMO_ENV") == "production":
        problems = production_problems(app)
        if problems:
            refuse_to_start(problems, production=True)
    proxies = proxy_count(app.config)
    if proxies is None:
        refuse_to_start([f"PMO_PROXIES={app.config.get('PMO_PROXIES')!r} is not 0-10."])
    two_step = two_step_setting_problem(app.config)
    if two_step:
        refuse_to_start([two_step])
    zone = clock.zone_setting_problem(app.config)
    if zone:
        refuse_to_start([zone])
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    if app.config.get("PMO_HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        if app.config.get("SESSION_COOKIE_NAME", "session") == "session":
            app.config["SESSION_COOKIE_NAME"] = SECURE_SESSION_COOKIE
        app.config["SESSION_COOKIE_DOMAIN"] = None
        app.config["SESSION_COOKIE_PATH"] = "/"
    app.request_class = FormLimitedRequest
    app.after_request(_strict_transport_security)
    app.register_error_handler(SecurityError, _untrusted_host)


def _strict_transport_security(response: Response) -> Response:
    if current_app.config.get("PMO_HTTPS") or request.is_secure:
        response.headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={int(current_app.config.get('HSTS_MAX_AGE', 31536000))}; includeSubDomains",
        )
    return response


def _untrusted_host(_error: SecurityError) -> Response:
    """A Host outside TRUSTED_HOSTS: a plain 400 (the error page's links could not be built
    for a host the app refuses to name)."""
    return Response(
        "<!doctype html><title>Unknown address</title><h1>Unknown address</h1>"
        "<p>This site is not served under that host name.</p>",
        status=400,
        mimetype="text/html",
    )


def too_large_text() -> tuple[str, str]:
    """The 413 page's title and message: an upload, or a form's text."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if request.mimetype == "multipart/form-data" and (request.content_length or 0) > limit:
        return (
            "File too large",
            f"That upload is larger than the site accepts ({limit // 1_048_576} MB in all). "
            "Choose a smaller file and try again.",
        )
    return (
        "Too much text",
        "The form sent more text than the site accepts. Shorten what you typed and try again.",
    )
