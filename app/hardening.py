"""Serving safely: the production self-check, the reverse proxy, HTTPS and request sizes.

* ``PMO_ENV=production`` makes the app refuse to start (a clear message on standard error,
  exit status 4, which also stops gunicorn instead of restarting workers) while any setting
  is unsafe: a default or short SECRET_KEY, debug or testing on, no TRUSTED_HOSTS, not
  served over HTTPS, no body size limit, CSRF off, or a PMO_PROXIES that is not a number.
* ``PMO_PROXIES=n`` trusts n reverse proxies' X-Forwarded-* headers (Werkzeug's ProxyFix):
  the client address the log-in throttle counts is then the real one, and cannot be
  changed by a client sending its own X-Forwarded-For when no proxy is configured.
* ``PMO_HTTPS=1`` makes cookies Secure and names them with the ``__Host-`` prefix, and
  sends HSTS (one year, subdomains included). HSTS is also sent on any request that
  arrived over HTTPS (directly, or as a trusted proxy's X-Forwarded-Proto says).
* A urlencoded body larger than MAX_FORM_MEMORY_SIZE is refused with 413 before it is
  parsed (Werkzeug applies that limit only to multipart text fields; a urlencoded body
  was read whole up to MAX_CONTENT_LENGTH).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

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
    return problems


def refuse_to_start(problems: list[str]) -> None:
    lines = [
        "PMO Pathways refuses to start: PMO_ENV=production and the configuration is unsafe.",
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
            refuse_to_start(problems)
    proxies = proxy_count(app.config)
    if proxies is None:
        refuse_to_start([f"PMO_PROXIES={app.config.get('PMO_PROXIES')!r} is not 0-10."])
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
