"""The mix bench/load_bench.py drives with locust: a working day on PMO Pathways.

Run by load_bench.py (``locust -f bench/locustfile.py --headless …`` in a subprocess, on
127.0.0.1 only); the plan it writes (JSON, path in ``LOAD_PLAN``) says who logs in, with
which password, which assessment learners answer, the think time, how many users open the
bare floor page, and where to write what happened:

- learners (weight 7): their attempt opened (started, or resumed) once logged in, then
  their home, capability and learning pages, and answers saved one by one through the
  attempt page's autosave;
- managers (weight 2): their home, team page, validation queue, and the capability heatmap
  and role readiness reports;
- one admin: a small staff import (five new people) uploaded, mapped, previewed and applied,
  then the record of the import;
- the floor (``floor_users`` users): the bare 50-row Flask page (bench/floor_app.py) served
  by the same gunicorn, at the same think time.

Each user logs in once, through the real form, and keeps its session (cookies) for the
rest of the run. Every request is named by its kind; a request counts as failed on any
status but the expected one (redirects are not followed). The writes the clients saw
succeed are recorded: each answer save answered 200 with its new revision (attempt item,
revision, the value as shown, when), each import whose apply redirected to its record (the
batch, the employee numbers it created). At the end every request (time, kind, response
time, failed or not, the error) and the writes go to the plan's ``out`` file, which
load_bench.py reads.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
from html import unescape
from pathlib import Path

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, between, events, task

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.attempt_bench import csrf_token, option_texts, radio_items  # noqa: E402

PLAN: dict = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
THINK = between(*PLAN["think"])
#: The header of the small HR export the admin imports (names the mapping recognises).
IMPORT_HEADER = "Employee Number,First Name,Last Name,Email\n"
IMPORT_ROWS = 5
#: Log-in tries before a user gives up (a try lost to a killed worker is tried again).
LOGIN_TRIES = 3

#: (time, kind, response time in ms, failed, error): every request of the run.
REQUESTS: list[tuple[float, str, float, bool, str]] = []
#: The writes the clients saw succeed.
WRITES: dict[str, list] = {"answers": [], "imports": []}
_learners = itertools.cycle(PLAN["learners"])
_managers = itertools.cycle(PLAN["managers"])
_imports = itertools.count(1)


@events.request.add_listener
def _noted(request_type, name, response_time, response_length, exception=None, **_kw):
    REQUESTS.append(
        (time.time(), name, float(response_time), exception is not None, _error(exception))
    )


def _error(exception: BaseException | None) -> str:
    if exception is None:
        return ""
    text = f"{type(exception).__name__}: {exception}"
    return text[:200]


@events.user_error.add_listener
def _crashed(user_instance, exception, tb, **_kw) -> None:
    """A task that raised (a bug of this file, or a page it could not read): an error."""
    REQUESTS.append((time.time(), "task error", 0.0, True, _error(exception)))


@events.test_stop.add_listener
def _written(**_kw) -> None:
    out = {"requests": REQUESTS, "writes": WRITES, "steady_from": STEADY.get("from")}
    Path(PLAN["out"]).write_text(json.dumps(out))


def _enough(user: HttpUser) -> None:
    """Stop the run early once the plan's ``until`` is met: so many answers saved after a
    moment (the suite's test: answers saved after the kill), whatever the machine's speed."""
    until = PLAN.get("until")
    if not until or _stopping:
        return
    after = sum(1 for *_w, t in WRITES["answers"] if t >= until["after"])
    if after >= until["answer_saves"]:
        _stopping.append(True)
        gevent.spawn(user.environment.runner.quit)


_stopping: list[bool] = []
#: When every user had logged in (the measured, steady part of the run starts).
STEADY: dict[str, float] = {}
_ready_users = itertools.count(1)


def _ready(user: HttpUser) -> None:
    """One more user logged in; when it is the last, the steady part of the run starts: it
    is noted (and written to the plan's ``steady_file`` for load_bench.py's kill) and the
    run stops ``steady_seconds`` later."""
    if next(_ready_users) != PLAN["users"]:
        return
    STEADY["from"] = time.time()
    if PLAN.get("steady_file"):
        Path(PLAN["steady_file"]).write_text(str(STEADY["from"]))
    if PLAN.get("steady_seconds"):
        gevent.spawn_later(PLAN["steady_seconds"], user.environment.runner.quit)


class Failed(Exception):
    """A response other than the one expected (the user cannot go on with this step)."""


class Signed(HttpUser):
    """A user who logs in once, through the form, and keeps the session."""

    abstract = True
    wait_time = THINK
    email = ""

    def on_start(self) -> None:
        self.client.headers["User-Agent"] = "pmo-load-bench/1"
        for _ in range(LOGIN_TRIES - 1):
            try:
                self.log_in()
                break
            except Failed:  # counted; a person would try again a moment later
                self.wait()
        else:
            self.log_in()
        _ready(self)

    def log_in(self) -> None:
        page = self.expect("GET", "/login", "login page")
        self.expect(
            "POST",
            "/login",
            "login",
            302,
            data={"email": self.email, "password": PLAN["password"], "csrf_token": csrf(page)},
        )

    def expect(self, method: str, path: str, name: str, status: int = 200, **kw) -> str:
        """The body of the response, which must have ``status``; else a failure is counted
        and Failed raised."""
        with self.client.request(
            method, path, name=name, allow_redirects=False, catch_response=True, **kw
        ) as response:
            if response.status_code == 0:  # no answer: the connection failed
                response.failure(f"no response: {_error(response.error)}")
                raise Failed(name)
            if response.status_code != status:
                response.failure(f"{response.status_code}, not {status}")
                raise Failed(name)
            self.last_location = response.headers.get("Location", "")
            return response.text

    def open(self, path: str, name: str) -> None:
        try:
            self.expect("GET", path, name)
        except Failed:
            pass


class Learner(Signed):
    weight = 7

    def on_start(self) -> None:
        self.email = next(_learners)
        self.attempt: int | None = None
        self.items: dict[int, tuple[list[str], int]] = {}
        self.token = ""
        super().on_start()
        try:  # a learner comes to carry on with their attempt, and looks around meanwhile
            self.open_attempt()
        except Failed:
            self.attempt = None

    @task(2)
    def home(self) -> None:
        self.open("/", "learner home")

    @task(2)
    def capability(self) -> None:
        self.open("/capability", "my capability")

    @task(2)
    def learning(self) -> None:
        self.open("/learning", "my learning")

    @task(6)
    def save_answer(self) -> None:
        try:
            if self.attempt is None:
                self.open_attempt()
            self.save()
        except Failed:
            self.attempt = None  # open the attempt again (as a reload would)

    def open_attempt(self) -> None:
        """The start page, start (or resume), the attempt page: its items and revisions."""
        start = f"/assessments/{PLAN['assessment_id']}/start"
        page = self.expect("GET", start, "assessment start page")
        self.expect("POST", start, "assessment start", 302, data={"csrf_token": csrf(page)})
        attempt = id_in(r"/attempts/(\d+)", self.last_location, "assessment start")
        page = self.expect("GET", f"/attempts/{attempt}?section=all", "attempt page")
        self.items = radio_items(page)
        self.texts = {item: option_texts(page, item) for item in self.items}
        self.token = csrf_token(page)
        self.attempt = attempt

    def save(self) -> None:
        item = random.choice(list(self.items))
        values, revision = self.items[item]
        value = random.choice(values)
        data = {"csrf_token": self.token, "item": item, f"a{item}": value, f"r{item}": revision}
        body = self.expect("POST", f"/attempts/{self.attempt}/autosave", "answer save", data=data)
        saved = json.loads(body)
        if not saved.get("ok"):
            raise Failed("answer save")
        self.items[item] = (values, saved["revision"])
        WRITES["answers"].append([item, saved["revision"], value, time.time()])
        _enough(self)


class Manager(Signed):
    weight = 2

    def on_start(self) -> None:
        self.email = next(_managers)
        super().on_start()

    @task
    def home(self) -> None:
        self.open("/", "manager home")

    @task(2)
    def team(self) -> None:
        self.open("/team", "my team")

    @task(2)
    def validations(self) -> None:
        self.open("/validations", "validation queue")

    @task
    def heatmap(self) -> None:
        self.open("/reports/heatmap", "reports heatmap")

    @task
    def readiness(self) -> None:
        self.open("/reports/readiness", "reports readiness")


class Admin(Signed):
    fixed_count = 1

    def on_start(self) -> None:
        self.email = PLAN["admin"]
        super().on_start()

    @task
    def staff_import(self) -> None:
        """Upload, map (the columns as proposed), preview, apply, open the record."""
        n = next(_imports)
        numbers = [f"{PLAN['import_prefix']}{n:03d}{row}" for row in range(IMPORT_ROWS)]
        rows = "".join(
            f"{number},Loadtest,Person{number},{number.lower()}@load.example\n"
            for number in numbers
        )
        try:
            page = self.expect("GET", "/admin/imports", "import history")
            self.expect(
                "POST",
                "/admin/imports",
                "import upload",
                302,
                data={"csrf_token": csrf(page)},
                files={"file": (f"staff-{n}.csv", IMPORT_HEADER + rows, "text/csv")},
            )
            batch = id_in(r"/admin/imports/(\d+)/mapping", self.last_location, "import upload")
            mapping = f"/admin/imports/{batch}/mapping"
            page = self.expect("GET", mapping, "import mapping page")
            data = {"csrf_token": csrf(page), **selected_values(page)}
            self.expect("POST", mapping, "import mapping", 302, data=data)
            self.wait()  # the admin reads the mapping, then the preview
            page = self.expect("GET", f"/admin/imports/{batch}/preview", "import preview")
            self.wait()
            self.expect(
                "POST",
                f"/admin/imports/{batch}/apply",
                "import apply",
                302,
                data={"csrf_token": csrf(page), "skip_errors": "0"},
            )
            if not self.last_location.endswith(f"/admin/imports/{batch}"):
                raise Failed("import apply")
            WRITES["imports"].append([batch, numbers])
            self.expect("GET", f"/admin/imports/{batch}", "import record")
        except Failed:
            pass


class Floor(HttpUser):
    """The bare Flask page (bench/floor_app.py) under the same gunicorn."""

    fixed_count = int(PLAN["floor_users"])
    wait_time = THINK

    def on_start(self) -> None:
        _ready(self)

    @task
    def floor(self) -> None:
        with self.client.get("/floor", name="floor", catch_response=True) as response:
            if response.status_code == 0:
                response.failure(f"no response: {_error(response.error)}")
            elif response.status_code != 200:
                response.failure(f"{response.status_code}, not 200")


def id_in(pattern: str, location: str, step: str) -> int:
    """The id a redirect's location carries."""
    found = re.search(pattern, location)
    if not found:
        raise Failed(f"{step}: redirected to {location!r}")
    return int(found.group(1))


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not found:
        raise Failed("no csrf_token on the page")
    return found.group(1)


def selected_values(page: str) -> dict[str, str]:
    """What a browser submits for the page's selects as rendered (the preselection)."""
    out = {}
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body) or re.search(
            r'<option value="([^"]*)"', body
        )
        if chosen:
            out[name] = unescape(chosen.group(1))
    return out
