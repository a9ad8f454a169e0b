"""Browser tests: the demo site served live on SQLite, driven through Debian's chromium.

One live server per run (SQLite only, never the parametrised ``database_url``/``app``
fixtures, so these tests run once rather than once per backend), one chromium per run and
a fresh browser context (cookies, viewport) per test. Chromium comes from Debian
(PMO_CHROMIUM, default /usr/bin/chromium); ``playwright install`` is never used. A missing
chromium fails the tests rather than skipping them.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from app.demo.organisation import DEMO_PASSWORD, DOMAIN
from app.demo.structure import DEMO_USERS
from app.extensions import db
from app.org.models import Person
from tests.conftest import make_app

CHROMIUM = os.environ.get("PMO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TIMEOUT_MS = 15_000
# Assertions that wait (expect) wait as long as actions do: the machines are loaded.
expect.set_options(timeout=TIMEOUT_MS)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (errors are still logged)."""

    def log_request(self, code="-", size="-"):
        pass


def _closing(app):
    """WSGI middleware: always close the response, also when the browser drops the connection.

    Chromium abandons requests it no longer needs (a favicon or stylesheet when the next page
    is opened). Werkzeug's dev server then fails reading the dropped socket before it calls
    the response's ``close()``, so a static file's handle is left to the garbage collector and
    its ResourceWarning is an error under ``filterwarnings = error``. Wrapping the body in a
    generator closes it as soon as the server lets go of it.
    """

    def closing_app(environ, start_response):
        return _body(app(environ, start_response))

    def _body(result):
        try:
            yield from result
        finally:
            if hasattr(result, "close"):
                result.close()

    return closing_app


@dataclass(frozen=True)
class DemoUser:
    key: str  # learner, manager, trainer, admin
    first: str
    last: str
    permissions: frozenset[str]

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def email(self) -> str:
        return f"{self.first}.{self.last}@{DOMAIN}".lower()


def _demo_users() -> dict[str, DemoUser]:
    users = {}
    for perms, first, last, _title, _where in DEMO_USERS:
        values = frozenset(p.value for p in perms)
        key = next((k for k in ("admin", "trainer", "manager") if k in values), "learner")
        users[key] = DemoUser(key, first, last, values)
    return users


#: The four demo logins by the permission that sets them apart.
USERS = _demo_users()


@dataclass
class LiveSite:
    url: str
    app: object
    cli_output: str

    def person_id(self, email: str) -> int:
        with self.app.app_context():
            person_id = db.session.scalar(select(Person.id).where(Person.email == email))
            db.session.remove()
        assert person_id is not None, f"no person with email {email}"
        return person_id


#: The demo database each test process builds once (path → what the CLI printed).
_DEMO_TEMPLATES: dict[Path, str] = {}


def _demo_copy(target: Path) -> str:
    """Put the demo organisation (80 people, seed 7) in a new SQLite file at ``target``;
    returns what the CLI printed while building it.

    The demo is built through the CLI once per test process, into a template beside the
    sites' folders, and each site gets its own copy of it (SQLite's backup API, so the copy
    is whole whatever the template's journal holds): loading the content and building the
    demo cost seconds, and every site starts from exactly the same data anyway.
    """
    template = target.parent.parent / "demo-template" / "demo.sqlite3"
    if template not in _DEMO_TEMPLATES:
        template.parent.mkdir(parents=True, exist_ok=True)
        app = make_app(f"sqlite:///{template}")
        with app.app_context():
            upgrade()
        runner = app.test_cli_runner()
        output = []
        for args in (["content", "load"], ["demo", "build", "--people", "80", "--seed", "7"]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, f"flask {' '.join(args)} failed:\n{result.output}"
            output.append(result.output)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _DEMO_TEMPLATES[template] = "".join(output)
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return _DEMO_TEMPLATES[template]


@contextmanager
def serve_demo(folder: Path, name: str):
    """Put the demo organisation (80 people, seed 7) in a new SQLite file under ``folder``
    and serve it on 127.0.0.1 at a free port until the block ends."""
    cli_output = _demo_copy(folder / "demo.sqlite3")
    app = make_app(f"sqlite:///{folder / 'demo.sqlite3'}")
    server = make_server(
        "127.0.0.1", 0, _closing(app), threaded=True, request_handler=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.server_port}", app, cli_output)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_site(tmp_path_factory):
    """The shared demo site. Tests that change its data serve their own (serve_demo)."""
    with serve_demo(tmp_path_factory.mktemp("browser"), "live-server") as site:
        yield site


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. The browser tests drive Debian's chromium: "
            "install it with `apt-get install chromium` (make test does this) or point "
            "PMO_CHROMIUM at a chromium binary. Do not run `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


#: Recorded CSP violations (also reported as console errors, this names the directive).
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
                + ' at ' + e.documentURI);
});
"""

_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


@dataclass
class ConsoleWatch:
    """Console errors and warnings, uncaught page errors and failed requests of one context.

    A document deliberately opened with an error status (the 403 page) makes chromium log
    "Failed to load resource"; ``expect_status`` allows exactly that message for that URL.
    """

    problems: list[str] = field(default_factory=list)
    expected: set[tuple[str, int]] = field(default_factory=set)
    checked: int = 0

    def expect_status(self, url: str, status: int) -> None:
        self.expected.add((url, status))

    def on_console(self, message) -> None:
        if message.type not in ("error", "warning"):
            return
        url = (message.location or {}).get("url", "")
        failed = _FAILED_LOAD.match(message.text)
        if failed and (url, int(failed.group(1))) in self.expected:
            return
        self.problems.append(f"console {message.type}: {message.text} ({url})")

    def on_page_error(self, error) -> None:
        self.problems.append(f"page error: {error}")

    def on_request_failed(self, request) -> None:
        if request.failure == "net::ERR_ABORTED":  # cut short by the next navigation
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def assert_clean(self) -> None:
        new = self.problems[self.checked :]
        self.checked = len(self.problems)
        assert not new, "The browser reported problems:\n" + "\n".join(new)


@dataclass
class Browsing:
    """A page in a fresh browser context, with helpers for the demo site."""

    page: object
    site: LiveSite
    watch: ConsoleWatch
    viewport: str

    def url(self, path: str) -> str:
        return self.site.url + path

    def goto(self, path: str, status: int = 200):
        if status != 200:
            self.watch.expect_status(self.url(path), status)
        response = self.page.goto(self.url(path))
        assert response is not None and response.status == status, (
            f"GET {path}: expected {status}, got {response and response.status}"
        )
        return response

    def log_in(self, user: DemoUser) -> None:
        self.goto("/login")
        self.page.get_by_label("Email").fill(user.email)
        self.page.get_by_label("Password").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(self.url("/"))

    def screenshot(self, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}-{self.viewport}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page, or a table in its scroll box, is wider than the space
        it has (0 when everything fits, so no row hides a button off to the side). A heatmap's
        grid (``data-scroll-box``) scrolls sideways by design, with a cue and its first column
        held in view, so it is not counted."""
        return self.page.evaluate("""() => Math.max(
            document.documentElement.scrollWidth - document.documentElement.clientWidth,
            ...[...document.querySelectorAll('.table-responsive:not([data-scroll-box])')].map(
                (box) => box.scrollWidth - box.clientWidth))""")


def open_browsing(chromium, site: LiveSite, viewport: str = "desktop"):
    context = chromium.new_context(viewport=VIEWPORTS[viewport], base_url=site.url)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(_CSP_LISTENER)
    watch = ConsoleWatch()
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    page.on("requestfailed", watch.on_request_failed)
    return context, Browsing(page, site, watch, viewport)


@pytest.fixture
def browsing(chromium, live_site):
    """A fresh desktop browser context; the test fails on any console error it leaves."""
    context, browsing = open_browsing(chromium, live_site)
    try:
        yield browsing
    finally:
        context.close()
    browsing.watch.assert_clean()
