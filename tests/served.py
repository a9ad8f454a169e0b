"""A real gunicorn for race tests: the app served by several sync workers on a migrated
database, requests fired together from threads, and what each response told its user.

The Flask test client runs requests one after another, so races are tried here against
gunicorn itself (RELIABILITY.md, "Running it on one 2-core box"). Each test module starts one
gunicorn per backend and shares it between its tests. Browsers are signed in the way the
suite signs users in (``tests.conftest.log_in``: a login session opened in the database and
Flask-Login's own session cookie), signed with the served app's secret, so no password is
hashed per browser; each request carries the browser's User-Agent, which Flask-Login's
strong session protection checks.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from flask import session as flask_session
from flask_wtf.csrf import generate_csrf

ROOT = Path(__file__).resolve().parent.parent
#: The User-Agent of every browser here (the session cookie is bound to it).
AGENT = "pmo-race-test/1"

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FLASH = re.compile(r'<div class="alert alert-(\w+)[^"]*" role="alert">(.*?)</div>', re.S)


def together(calls: list) -> list:
    """Run ``calls`` in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = calls[n]()
        except Exception as error:  # a failed request is a result to assert on
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The project's gunicorn settings, and the app built once in the master and the workers
#: forked from it, its ORM mappers configured (building the app opens no database
#: connection, so none is shared): the workers start at once, ready.
CONFIG = """
exec(compile(open({project!r}).read(), {project!r}, "exec"))
preload_app = True


def when_ready(server):
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
"""


class Gunicorn:
    """``gunicorn wsgi:app`` with ``workers`` sync workers on ``url``, its error log kept in
    a file (``log()``) so a test can look for "database is locked" in it."""

    def __init__(self, url: str, secret: str, folder: Path, workers: int = 4):
        self.port = free_port()
        self.log_path = folder / "gunicorn.log"
        config = folder / "gunicorn_test.conf.py"
        config.write_text(CONFIG.format(project=str(ROOT / "gunicorn.conf.py")))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": secret,
            "PMO_INSTANCE_DIR": str(folder),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--error-logfile",
                str(self.log_path),
                "-c",
                str(config),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,  # its own process group, stopped as one
        )
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start on port {self.port}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        """Kill the master and its workers at once: nothing is in flight, every answer has
        been read, and a worker's orderly exit costs seconds of CPU on a busy machine."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@dataclass
class Response:
    status: int
    location: str
    text: str
    cookie: str


@dataclass
class Browser:
    """One signed-in browser: its session cookie, the CSRF token of its session, and the
    served app (built with the server's settings), which reads the messages a response
    leaves in the cookie."""

    port: int
    cookie: str
    app: Flask | None = None
    csrf: str = ""

    def request(self, method: str, path: str, data: dict | None = None) -> Response:
        """One request on a fresh connection (as a tab of this browser would send it);
        the cookie the answer sets is returned, not kept (``follow`` keeps it)."""
        headers = {"Cookie": self.cookie, "User-Agent": AGENT}
        body = None
        if data is not None:
            body = urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        set_cookie = response.getheader("Set-Cookie")
        cookie = set_cookie.split(";", 1)[0] if set_cookie else self.cookie
        return Response(response.status, response.getheader("Location") or "", text, cookie)

    def get(self, path: str) -> Response:
        response = self.request("GET", path)
        self.cookie = response.cookie
        return response

    def open(self, path: str) -> str:
        """GET a page, keep the cookie and remember the page's CSRF token; the page."""
        response = self.get(path)
        assert response.status == 200, (path, response.status, response.text[:300])
        match = CSRF_INPUT.search(response.text)
        if match:
            self.csrf = match.group(1)
        return response.text

    def post(self, path: str, data: dict | None = None) -> Response:
        return self.request("POST", path, {"csrf_token": self.csrf, **(data or {})})


@dataclass
class Seen:
    """What one POST's user saw: its status and redirect, then the messages of the pages it
    led to, and the last page."""

    status: int
    location: str = ""
    messages: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    #: The cookie the response set (it carries the messages to the next page).
    cookie: str = ""

    @property
    def said(self) -> str:
        return " | ".join(message for _kind, message in self.messages)


def flashes(page: str) -> list[tuple[str, str]]:
    """(kind, text) of each message shown at the top of ``page``."""
    return [(kind, unescape(text).strip()) for kind, text in FLASH.findall(page)]


def flashed(app: Flask, cookie: str) -> list[tuple[str, str]]:
    """(kind, text) of the messages waiting in a session cookie for the next page (what the
    page a redirect leads to shows at its top), read with the app's own session serializer."""
    name, _, value = cookie.partition("=")
    if name != app.config["SESSION_COOKIE_NAME"] or not value:
        return []
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    data = serializer.loads(value)
    return [(kind, text) for kind, text in data.get("_flashes", [])]


def seen(browser: Browser, response: Response | Exception) -> Seen:
    """What the user of ``response`` is told: the messages on the page it returned, or the
    ones its cookie carries to the page it redirects to."""
    if isinstance(response, Exception):
        return Seen(-1, messages=[("error", repr(response))])
    out = Seen(
        response.status, response.location, flashes(response.text), response.text, response.cookie
    )
    if browser.app is not None and response.cookie != browser.cookie:
        out.messages += flashed(browser.app, response.cookie)
    return out


def fire_all(posts: list[tuple[Browser, str, dict]]) -> list[Seen]:
    """The POSTs (browser, path, form data) sent at the same moment, each on its own
    connection; then what each of their users saw, in the same order."""
    responses = together([lambda b=b, p=p, d=d: b.post(p, d) for b, p, d in posts])
    return [seen(b, r) for (b, _p, _d), r in zip(posts, responses, strict=True)]


def fire(browsers: list[Browser], path: str, requests: int, data: dict | None = None) -> list:
    """``requests`` simultaneous POSTs of ``path`` (with ``data``) spread over ``browsers``;
    what each of their users saw."""
    return fire_all(
        [(browsers[n % len(browsers)], path, dict(data or {})) for n in range(requests)]
    )


def sign_in(app: Flask, user_id: int, port: int) -> Browser:
    """A browser signed in as the user ``user_id`` on the gunicorn at ``port``, which serves
    ``app``'s database with ``app``'s secret key; its session holds a CSRF token already (as
    after opening any page), so it can post at once."""
    from app.accounts.models import User
    from app.extensions import db
    from tests.conftest import log_in

    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    with app.app_context():
        log_in(client, db.session.get(User, user_id))
        db.session.remove()
    with client.session_transaction() as cookie_session, app.test_request_context():
        csrf = generate_csrf()
        cookie_session["csrf_token"] = flask_session["csrf_token"]
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return Browser(port, f"{cookie.key}={cookie.value}", app, csrf)
