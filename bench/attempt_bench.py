"""Two hundred learners taking an assessment at once, against gunicorn on the loopback.

Each simulated learner (a thread with its own keep-alive connection) logs in through the
real form, opens the start page, starts an attempt, opens the attempt page, saves about
twenty answers one by one through the autosave (a few changed a second time, as people do),
and submits. Between two requests a learner "thinks" for a random while (``--think``
seconds on average; 0 for a burst). The floor is measured in the same run and the same
way: the same number of threads, requests and think time against a bare Flask page served
by the same gunicorn (bench/floor_app.py, as bench/pages_bench.py does).

Reported: errors (any unexpected status or failed request: must be 0), p50 and p95 of the
answer saves and of the submits beside the floor's, and answers lost — what each learner
last saved, compared with what the database holds after the run (must be 0) — plus the
attempts scored and the evidence recorded.

Usage:
  .venv/bin/python bench/attempt_bench.py [--learners 200] [--items 20] [--workers 4]
      [--think 1.0] [--postgres URL]
With --postgres the data is built in that (empty) database instead of a SQLite file.
Results go to stdout and bench/results/attempts-<backend>.json. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages_bench import PASSWORD, SECRET, free_port, log_in  # noqa: E402

CURRICULA = ROOT / "curricula"
ASSESSMENT_CODE = "BENCH-TEST"


# --- the data -------------------------------------------------------------------------------------


def bench_bank(items: int) -> dict:
    """A bank of ``items`` single-choice items (the Foundation format) on one competency."""
    return {
        "kind": "question-bank",
        "code": "BENCH-BANK",
        "title": "Benchmark bank",
        "format": "foundation",
        "author": "Benchmark",
        "original_work": True,
        "topics": {"A": "Everything"},
        "items": [
            {
                "id": f"BENCH-{n:03d}",
                "type": "single",
                "topic": "A",
                "competency": "GOV-05",
                "level": 2,
                "stem": f"Benchmark question {n}: which of these is right?",
                "options": [
                    {"text": f"Right {n}", "correct": True, "rationale": "Because it is."},
                    {"text": f"Wrong {n}a", "rationale": "Because it is not."},
                    {"text": f"Wrong {n}b", "rationale": "Because it is not."},
                    {"text": f"Wrong {n}c", "rationale": "Because it is not."},
                ],
            }
            for n in range(1, items + 1)
        ],
    }


def build_database(
    url: str,
    learners: int,
    *,
    items: int = 40,
    draw: int = 20,
    secret_key: str = SECRET,
    config_class: type | None = None,
    **settings,
) -> dict:
    """Migrate ``url`` and load the framework, a published bank of ``items`` single-choice
    items, a published assessment drawing ``draw`` of them (``settings`` override its
    rules), and ``learners`` learners who can log in with pages_bench.PASSWORD. Returns
    the assessment's id and the learners' emails."""
    from flask_migrate import upgrade

    from app import create_app
    from app.accounts.models import Permission, User, UserPermission
    from app.accounts.passwords import hash_password
    from app.assessment.banks import write_bank_version
    from app.assessment.content import bank_from_data
    from app.assessment.models import (
        Assessment,
        AssessmentCertification,
        AssessmentSection,
        AssessmentStatus,
        FeedbackPolicy,
    )
    from app.config import Config
    from app.content.framework_load import load_framework
    from app.content.roles import load_roles
    from app.extensions import db
    from app.org.models import Person

    app = create_app(config_class or Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secret_key)
    with app.app_context():
        upgrade()
        load_roles(db.session, CURRICULA / "roles.yaml")
        load_framework(
            db.session,
            CURRICULA / "framework.yaml",
            CURRICULA / "role-profiles.yaml",
            certificates_path=CURRICULA / "certificates.yaml",
        )
        bank = write_bank_version(
            db.session, bank_from_data(bench_bank(items)), publish=True
        ).version.bank
        rules = {
            "code": ASSESSMENT_CODE,
            "title": "Benchmark practice test",
            "status": AssessmentStatus.PUBLISHED,
            "pass_percent": 50,
            "time_limit_minutes": 60,
            "attempt_limit": 3,
            "wait_minutes": 0,
            "shuffle_items": True,
            "shuffle_options": True,
            "feedback": FeedbackPolicy.AFTER_SUBMISSION,
            **settings,
        }
        assessment = Assessment(**rules)
        assessment.sections.append(
            AssessmentSection(position=0, title="Questions", bank_id=bank.id, count=draw)
        )
        assessment.certifies.append(AssessmentCertification(competency_code="GOV-05", level=2))
        db.session.add(assessment)
        digest = hash_password(PASSWORD)
        emails = []
        for n in range(learners):
            person = Person(
                employee_number=f"BL{n:05d}",
                first_name="Learner",
                last_name=f"N{n:05d}",
                email=f"learner{n}@bench.example",
            )
            db.session.add(person)
            db.session.flush()
            user = User(person_id=person.id, email=person.email, password_hash=digest)
            user.permission_rows = [UserPermission(permission=Permission.LEARNER)]
            db.session.add(user)
            emails.append(person.email)
        db.session.flush()
        result = {"assessment_id": assessment.id, "emails": emails}
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return result


# --- serving and talking HTTP ------------------------------------------------------------------


def serve(module: str, url: str, port: int, workers: int) -> subprocess.Popen:
    """gunicorn with ``workers`` sync workers serving ``module`` from ``url`` (as
    pages_bench.serve does, with the number of workers chosen)."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            module,
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn ({module}) did not start on port {port}")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Http:
    """One keep-alive connection with a cookie: what one browser tab would send."""

    def __init__(self, port: int, cookie: str | None = None):
        self.port = port
        self.cookie = cookie
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, data: dict | None = None):
        """(status, headers, body); the session cookie follows what the server sets."""
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if data is not None:
            body = urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            raise
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";", 1)[0]
        return response.status, response, text

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict):
        return self.request("POST", path, data)

    def close(self) -> None:
        self.conn.close()


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def attempt_id_of(location: str) -> int:
    return int(re.search(r"/attempts/(\d+)", location).group(1))


def radio_items(page: str) -> dict[int, tuple[list[str], int]]:
    """Attempt item id -> (the values of its options as shown, its revision)."""
    out = {}
    for item_id in re.findall(r'data-item="(\d+)"', page):
        values = re.findall(rf'name="a{item_id}"[^>]*value="([^"]+)"', page)
        revision = int(re.search(rf'name="r{item_id}" value="(\d+)"', page).group(1))
        out[int(item_id)] = (values, revision)
    return out


def option_texts(page: str, item_id: int) -> dict[str, str]:
    """The value shown -> the option's text, for one item of an attempt page."""
    return dict(re.findall(rf'<label[^>]*for="a{item_id}-(\d+)">([^<]*)</label>', page))


# --- one learner ----------------------------------------------------------------------------------


@dataclass
class Learner:
    email: str
    cookie: str = ""
    attempt_id: int | None = None
    #: attempt item id -> the value (as shown) last saved
    saved: dict[int, str] = field(default_factory=dict)
    saves: list[float] = field(default_factory=list)
    submits: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _timed(tab: Http, method: str, path: str, data: dict | None = None):
    started = time.perf_counter()
    status, response, text = tab.request(method, path, data)
    return status, response, text, (time.perf_counter() - started) * 1000


#: How often a simulated learner picks the right option (the bank's right options read
#: "Right n"), so that most pass and their submits record evidence.
SKILL = 0.75


def _open_attempt(tab: Http, learner: Learner, assessment_id: int, pause) -> str | None:
    """Start page, start, attempt page: the attempt page, or None (an error noted)."""
    status, _r, page, ms = _timed(tab, "GET", f"/assessments/{assessment_id}/start")
    learner.others.append(ms)
    if status != 200:
        learner.errors.append(f"start page {status}")
        return None
    pause()
    status, r, _t, ms = _timed(
        tab, "POST", f"/assessments/{assessment_id}/start", {"csrf_token": csrf_token(page)}
    )
    learner.others.append(ms)
    if status != 302:
        learner.errors.append(f"start {status}")
        return None
    learner.attempt_id = attempt_id_of(r.getheader("Location"))
    status, _r, page, ms = _timed(tab, "GET", f"/attempts/{learner.attempt_id}?section=all")
    learner.others.append(ms)
    if status != 200:
        learner.errors.append(f"attempt page {status}")
        return None
    return page


def _answer(tab: Http, learner: Learner, page: str, rng, pause, changes: int) -> None:
    """Every item's answer saved through the autosave, ``changes`` of them a second time."""
    token = csrf_token(page)
    items = radio_items(page)
    plan = list(items) + rng.sample(list(items), min(changes, len(items)))
    revisions = {i: rev for i, (_v, rev) in items.items()}
    for item_id in plan:
        pause()
        right = [v for v, t in option_texts(page, item_id).items() if t.startswith("Right")]
        value = right[0] if right and rng.random() < SKILL else rng.choice(items[item_id][0])
        data = {
            "csrf_token": token,
            "item": item_id,
            f"a{item_id}": value,
            f"r{item_id}": revisions[item_id],
        }
        status, _r, text, ms = _timed(tab, "POST", f"/attempts/{learner.attempt_id}/autosave", data)
        if status != 200:
            learner.errors.append(f"save {status}: {text[:120]}")
            continue
        learner.saves.append(ms)
        revisions[item_id] = json.loads(text)["revision"]
        learner.saved[item_id] = value


def _submit(tab: Http, learner: Learner, token: str) -> None:
    status, r, _t, ms = _timed(
        tab,
        "POST",
        f"/attempts/{learner.attempt_id}/submit",
        {"csrf_token": token, "confirmed": "1"},
    )
    if status != 302 or not r.getheader("Location", "").endswith("/result"):
        learner.errors.append(f"submit {status}")
        return
    learner.submits.append(ms)
    status, _r, page, ms = _timed(tab, "GET", f"/attempts/{learner.attempt_id}/result")
    learner.others.append(ms)
    if status != 200 or "Score" not in page:
        learner.errors.append(f"result {status}")


def take(
    port: int, learner: Learner, assessment_id: int, think: float, changes: int, seed: int = 0
) -> None:
    """One learner's whole attempt: start page, start, attempt page, the answers one by one
    (``changes`` of them changed again), submit, result."""
    tab = Http(port, learner.cookie)
    rng = random.Random(f"{learner.email}-{seed}")

    def pause() -> None:
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))

    try:
        page = _open_attempt(tab, learner, assessment_id, pause)
        if page is None:
            return
        _answer(tab, learner, page, rng, pause, changes)
        pause()
        _submit(tab, learner, csrf_token(page))
    except (OSError, http.client.HTTPException, AttributeError, ValueError) as error:
        learner.errors.append(f"{type(error).__name__}: {error}")
    finally:
        tab.close()


def floor_learner(port: int, requests: int, think: float, seed: int, out: list, errors: list):
    """The floor's learner: the same number of requests and the same think time, each a
    GET of the bare Flask page."""
    tab = Http(port)
    rng = random.Random(seed)
    try:
        for _ in range(requests):
            if think:
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))
            try:
                status, _r, _t, ms = _timed(tab, "GET", "/floor")
            except (OSError, http.client.HTTPException) as error:
                errors.append(str(error))
                continue
            if status == 200:
                out.append(ms)
            else:
                errors.append(str(status))
    finally:
        tab.close()


def run_threads(targets: list) -> float:
    started = time.perf_counter()
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def percentiles(values: list[float]) -> dict:
    if len(values) < 2:
        return {"n": len(values), "p50_ms": None, "p95_ms": None}
    q = statistics.quantiles(values, n=100)
    return {"n": len(values), "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1)}


# --- checking the database ------------------------------------------------------------------------


def check_database(url: str, saved: dict[int, str]) -> dict:
    """Answers lost (``saved``: attempt item id -> the value, as shown, a learner last saved
    there; against the database), attempts per learner, attempts scored, evidence."""
    from sqlalchemy import func, select

    from app import create_app
    from app.assessment.attempt_queries import display_answer
    from app.assessment.models import Attempt, AttemptItem, AttemptStatus
    from app.capability.models import Evidence
    from app.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        stored = {
            row.id: display_answer("single", row.presentation, (), row.answer)
            for row in db.session.scalars(select(AttemptItem))
        }
        lost = sum(1 for item_id, value in saved.items() if stored.get(item_id) != value)
        per_person = db.session.execute(
            select(Attempt.person_id, func.count()).group_by(Attempt.person_id)
        ).all()
        statuses = db.session.execute(
            select(Attempt.status, func.count()).group_by(Attempt.status)
        ).all()
        out = {
            "answers_saved": len(saved),
            "answers_lost": lost,
            "attempts": sum(n for _p, n in per_person),
            "most_attempts_per_learner": max((n for _p, n in per_person), default=0),
            "attempts_by_status": {s.value: n for s, n in statuses},
            "attempts_scored": db.session.scalar(
                select(func.count())
                .select_from(Attempt)
                .where(Attempt.status == AttemptStatus.SUBMITTED, Attempt.marks.is_not(None))
            ),
            "evidence_recorded": db.session.scalar(select(func.count()).select_from(Evidence)),
        }
        db.session.remove()
        db.engine.dispose()
    return out


# --- the run -----------------------------------------------------------------------------------


def log_in_all(port: int, learners: list[Learner], parallel: int = 8) -> dict:
    """Log every learner in through the real form, a few at a time (a password check costs
    a deliberate ~0.1-0.3 s of CPU); the log-in latencies."""
    logins: list[float] = []
    failed: list[str] = []
    lock = threading.Lock()
    queue = list(learners)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                learner = queue.pop()
            began = time.perf_counter()
            try:
                learner.cookie = log_in(port, learner.email)
            except (OSError, SystemExit, http.client.HTTPException) as error:
                with lock:
                    failed.append(f"{learner.email}: {error}")
                continue
            with lock:
                logins.append((time.perf_counter() - began) * 1000)

    run_threads([worker] * parallel)
    return {**percentiles(logins), "failed": len(failed)}


def phase(
    name: str,
    args: argparse.Namespace,
    think: float,
    ports: tuple[int, int],
    learners: list[Learner],
    assessment_id: int,
    seed: int,
) -> dict:
    """The floor, then every learner's attempt, both driven the same way (same threads,
    requests and think time)."""
    app_port, floor_port = ports
    per_learner = 3 + args.items + args.changes + 1 + 1
    floor: list[float] = []
    floor_errors: list[str] = []
    floor_s = run_threads(
        [
            lambda n=n: floor_learner(floor_port, per_learner, think, n, floor, floor_errors)
            for n in range(len(learners))
        ]
    )
    for learner in learners:
        learner.saves, learner.submits, learner.others, learner.errors = [], [], [], []
    run_s = run_threads(
        [
            lambda learner=learner: take(
                app_port, learner, assessment_id, think, args.changes, seed
            )
            for learner in learners
        ]
    )
    requests = sum(len(lr.saves) + len(lr.submits) + len(lr.others) for lr in learners)
    errors = [e for lr in learners for e in lr.errors]
    out = {
        "think_seconds": think,
        "floor": {
            **percentiles(floor),
            "errors": len(floor_errors),
            "seconds": round(floor_s, 1),
            "rps": round(len(floor) / floor_s, 1),
        },
        "run": {
            "seconds": round(run_s, 1),
            "requests": requests,
            "rps": round(requests / run_s, 1),
            "errors": len(errors),
            "error_samples": errors[:5],
        },
        "answer_save": percentiles([ms for lr in learners for ms in lr.saves]),
        "submit": percentiles([ms for lr in learners for ms in lr.submits]),
        "other_pages": percentiles([ms for lr in learners for ms in lr.others]),
    }
    for metric in ("answer_save", "submit"):
        for q in ("p50_ms", "p95_ms"):
            if out[metric][q] and out["floor"][q]:
                out[metric][q.replace("_ms", "_vs_floor")] = round(
                    out[metric][q] / out["floor"][q], 1
                )
    report(name, len(learners), args, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--items", type=int, default=20, help="questions per attempt")
    parser.add_argument("--changes", type=int, default=2, help="answers changed again")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[5.0, 1.0],
        help="mean seconds between a learner's requests, one phase (one attempt each) per "
        "value: by default a paced phase (5 s; a real candidate takes ~48 s a question) "
        "and a burst (1 s)",
    )
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL to build in")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pmo-attempts-"))
    url = args.postgres or f"sqlite:///{tmp / 'attempts.sqlite3'}"
    backend = "postgresql" if args.postgres else "sqlite"
    started = time.perf_counter()
    built = build_database(
        url, args.learners, items=2 * args.items, draw=args.items, attempt_limit=len(args.think)
    )
    took = time.perf_counter() - started
    print(f"{args.learners} learners and the assessment built in {took:.0f} s")

    ports = (free_port(), free_port())
    app_proc = serve("wsgi:app", url, ports[0], args.workers)
    floor_proc = serve("bench.floor_app:app", url, ports[1], args.workers)
    learners = [Learner(email) for email in built["emails"]]
    results: dict = {
        "backend": backend,
        "learners": args.learners,
        "items_per_attempt": args.items,
        "saves_per_learner": args.items + args.changes,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "phases": {},
    }
    saved: dict[int, str] = {}
    try:
        began = time.perf_counter()
        results["login"] = log_in_all(ports[0], learners)
        print(f"{len(learners)} log-ins in {time.perf_counter() - began:.0f} s")
        for n, think in enumerate(args.think):
            name = f"think {think:g} s"
            results["phases"][name] = phase(
                name, args, think, ports, learners, built["assessment_id"], n
            )
            for learner in learners:
                saved.update(learner.saved)
                learner.saved = {}
    finally:
        stop(app_proc)
        stop(floor_proc)
    results["database"] = check_database(url, saved)
    db = results["database"]
    print(
        f"database: answers lost {db['answers_lost']} of {db['answers_saved']}; attempts "
        f"{db['attempts']} (most per learner {db['most_attempts_per_learner']}, "
        f"{db['attempts_by_status']}), scored {db['attempts_scored']}, evidence "
        f"{db['evidence_recorded']}"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"attempts-{backend}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to bench/results/attempts-{backend}.json")


def report(name: str, learners: int, args: argparse.Namespace, r: dict) -> None:
    f, s, sub, run = r["floor"], r["answer_save"], r["submit"], r["run"]
    print(
        f"{name}: {learners} learners, {args.items + args.changes} saves each, "
        f"{args.workers} workers; {run['rps']} req/s over {run['seconds']} s"
    )
    print(f"  floor (bare page)  p50 {f['p50_ms']} ms  p95 {f['p95_ms']} ms  ({f['n']} requests)")
    print(f"  answer save        p50 {s['p50_ms']} ms  p95 {s['p95_ms']} ms  ({s['n']} saves)")
    print(f"  submit             p50 {sub['p50_ms']} ms  p95 {sub['p95_ms']} ms  ({sub['n']})")
    print(f"  errors {run['errors']} (floor {f['errors']})")


if __name__ == "__main__":
    main()
