"""J3: process and dependency faults with gunicorn serving (tests/served.py).

- SIGTERM to the master while requests are in flight (SQLite and PostgreSQL): the requests
  the workers hold finish with their full answer, nothing a client was told is saved is
  missing, no request gets a half answer or an error page, and gunicorn exits cleanly.

Two more faults need what the suite cannot count on, so they are bench modes
(bench/README.md, "Faults"): a PostgreSQL restart under load needs a server of the run's
own (``bench/load_bench.py --fault pg-restart``), and a read-only SQLite directory needs a
read-only mount (the suite runs as root here, whom file modes do not stop; a mount needs
privileges CI may not grant): ``--fault readonly``.
"""

from __future__ import annotations

import signal
import threading
import time

from sqlalchemy import func, select

from app import create_app
from app.accounts.models import User
from app.assessment.models import Attempt
from app.config import TestConfig
from app.extensions import db
from bench.attempt_bench import build_database
from tests.served import Browser, Gunicorn, sign_in

SECRET = "served-faults-secret-0123456789abcdef0123456789abcdef"
LEARNERS = 10


def _app(url: str):
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)


def _browsers(app, port: int, emails: list[str]) -> list[Browser]:
    with app.app_context():
        ids = [db.session.scalars(select(User.id).where(User.email == e)).one() for e in emails]
        db.session.remove()
    return [sign_in(app, user_id, port) for user_id in ids]


def _attempts(app) -> dict[str, int]:
    """Learner email -> how many attempts the database holds for them."""
    from app.org.models import Person

    with app.app_context():
        rows = db.session.execute(
            select(Person.email, func.count(Attempt.id))
            .join(Attempt, Attempt.person_id == Person.id)
            .group_by(Person.email)
        ).all()
        db.session.remove()
    return {str(email): n for email, n in rows}


# --- SIGTERM ----------------------------------------------------------------------------------


def test_sigterm_lets_the_requests_in_flight_finish_and_loses_no_write(app, database_url, tmp_path):
    # The backend's migrated database of the run (emptied after the test by ``app``).
    built = build_database(
        database_url, LEARNERS, items=10, draw=5, secret_key=SECRET, config_class=TestConfig
    )
    server = Gunicorn(database_url, SECRET, tmp_path, workers=2)
    served = _app(database_url)
    try:
        browsers = _browsers(served, server.port, built["emails"])
        path = f"/assessments/{built['assessment_id']}/start"
        answers: list = [None] * len(browsers)
        answered_at: list[float] = [0.0] * len(browsers)

        def start(n: int) -> None:
            try:
                answers[n] = browsers[n].post(path)
            except Exception as error:  # a connection refused or reset: a result
                answers[n] = error
            answered_at[n] = time.monotonic()

        threads = [threading.Thread(target=start, args=(n,)) for n in range(len(browsers))]
        for thread in threads:
            thread.start()
        # As soon as the first answer is back, the workers are on the next requests and
        # the rest wait in line: then the signal.
        deadline = time.monotonic() + 60
        while not any(answered_at) and time.monotonic() < deadline:
            time.sleep(0.001)
        terminated = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(60)
        exit_code = server.proc.wait(60)
        stopped_s = time.monotonic() - terminated
        log = server.log()
    finally:
        server.stop()

    done = [a for a in answers if not isinstance(a, Exception)]
    refused = [a for a in answers if isinstance(a, Exception)]
    # Every answer given was whole and a success; the others were never taken on.
    assert all(a.status == 302 and "/attempts/" in a.location for a in done), answers
    assert all(isinstance(e, OSError) for e in refused), refused
    # Requests in flight when the signal came were finished, not cut off.
    finished_after = [
        t for a, t in zip(answers, answered_at, strict=True) if a in done and t >= terminated
    ]
    assert finished_after, (answers, answered_at, terminated)
    # Each learner told of a started attempt has it in the database; no other exists.
    held = _attempts(served)
    told = {built["emails"][n] for n, a in enumerate(answers) if a in done}
    assert {email for email, n in held.items() if n} >= told
    assert all(n == 1 for n in held.values())
    assert exit_code == 0 and stopped_s < 30, (exit_code, stopped_s)
    assert "Traceback" not in log
    print(
        f"\nSIGTERM: {len(done)} answered (of which {len(finished_after)} after the signal),"
        f" {len(refused)} refused before being taken on; gunicorn stopped in {stopped_s:.2f} s"
    )
    with served.app_context():
        db.engine.dispose()
