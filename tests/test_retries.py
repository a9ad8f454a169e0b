"""Deadlocks and serialisation failures never reach a user as a 500 (RELIABILITY.md H4).

A request whose PostgreSQL transaction is aborted with a deadlock (40P01) or a serialisation
failure (40001) is run again, whole, by ``app.db.RetryTransactions`` (up to three attempts);
the user sees the attempt that succeeded. A request that loses every attempt gets the
product's 503 page with an incident reference that is also in the log, never a traceback.

The deadlock here is a real one: a second connection and a learner's self-rating lock the
learner's row and their earlier rating in opposite orders, and PostgreSQL's deadlock
detector aborts the request's transaction. On SQLite the same choreography cannot deadlock
(one writer at a time: the request waits for the other writer and goes on, with no retry).
The other tests make the database raise the conflict on demand (both backends): every
attempt (the 503), the first attempt only (the body is read again on the rerun, the saved
rating is the one sent), and after an uploaded file was stored (one copy is left).
"""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import pytest
from psycopg import errors as pg_errors
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from app import db as app_db
from app.capability import services
from app.capability.models import Evidence, RatingStatus
from app.extensions import db
from app.framework.models import Source
from app.learning.models import ExternalCertificate
from tests.capability import test_views
from tests.capability.test_views import csrf_for, rate_myself
from tests.learning.certificate_helpers import tiny_png

scene = test_views.scene  # the fixture: the shipped framework, a manager, their learner
CODE = "INF-01"


def conflict(sqlstate: str = "40001") -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL aborts a transaction for a conflict."""
    orig = (
        pg_errors.SerializationFailure("could not serialize access")
        if sqlstate == "40001"
        else pg_errors.DeadlockDetected("deadlock detected")
    )
    return OperationalError("UPDATE evidence SET status=...", {}, orig)


def ratings(person_id: int, status: RatingStatus | None = None) -> list[Evidence]:
    db.session.expire_all()
    stmt = select(Evidence).where(
        Evidence.person_id == person_id,
        Evidence.competency_code == CODE,
        Evidence.source == Source.SELF_RATING,
    )
    if status is not None:
        stmt = stmt.where(Evidence.status == status)
    return list(db.session.scalars(stmt.order_by(Evidence.id)))


def counts() -> dict[str, int]:
    return app_db.retry_counts()


def _waiting_for_a_lock(conn) -> bool:
    """Whether another backend of this database is waiting for a row lock (the activity
    view is a snapshot per transaction: taken afresh each time)."""
    conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
    return bool(
        conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        ).scalar()
    )


def test_a_real_deadlock_is_retried_and_the_learner_sees_their_rating_saved(
    app, client, login, scene, backend, caplog
):
    """The learner rates themselves again (the request locks their row, then withdraws the
    earlier rating) while another transaction holds the earlier rating and then wants the
    learner's row: opposite orders. PostgreSQL aborts the request (40P01); it is run again
    and succeeds. SQLite serialises the two writers instead: no deadlock, no retry."""
    login(scene.learner)
    assert rate_myself(client, code=CODE, level=2).status_code == 302
    [earlier] = ratings(scene.learner_id)
    token = csrf_for(client, "/capability")
    before = counts()
    caplog.set_level("WARNING", logger="pmo_pathways.retry")

    answer: dict = {}

    def learner_posts() -> None:
        answer["response"] = client.post(
            "/capability/self-rating",
            data={"csrf_token": token, "competency": CODE, "level": "4", "note": "Again."},
        )

    request = threading.Thread(target=learner_posts)
    with db.engine.connect() as other:
        if backend == "postgresql":
            # This side waits long before it looks for a deadlock: the request's backend,
            # waiting since earlier and checking after the default 1 s, is the one aborted.
            other.exec_driver_sql("SET deadlock_timeout = '20s'")
        # 1. The other transaction locks the earlier rating.
        other.execute(text("UPDATE evidence SET note = note WHERE id = :id"), {"id": earlier.id})
        # 2. The request locks the learner's row, then waits for the rating.
        request.start()
        if backend == "postgresql":
            for _ in range(200):
                if _waiting_for_a_lock(other):
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the request never waited for the rating's lock")
        else:
            time.sleep(0.5)  # the request waits for the write lock (busy timeout)
        # 3. The other transaction wants the learner's row: on PostgreSQL, a deadlock.
        other.execute(
            text("UPDATE people SET first_name = first_name WHERE id = :id"),
            {"id": scene.learner_id},
        )
        other.commit()
    request.join(60)
    assert not request.is_alive()

    response = answer["response"]
    assert response.status_code == 302, response.text[:500]
    assert response.headers["Location"].endswith("/capability")
    page = client.get("/capability").text
    assert "your rating is with your manager" in page
    now = ratings(scene.learner_id)
    assert [(r.level, r.status) for r in now] == [
        (2, RatingStatus.WITHDRAWN),
        (4, RatingStatus.PENDING),
    ]
    retried = counts()["retried"] - before["retried"]
    logged = [r for r in caplog.records if r.name == "pmo_pathways.retry"]
    if backend == "postgresql":
        assert retried == 1
        assert len(logged) == 1 and "POST /capability/self-rating" in logged[0].getMessage()
    else:
        assert retried == 0 and not logged
    assert counts()["gave_up"] == before["gave_up"]


def test_a_request_that_loses_every_attempt_gets_a_503_with_an_incident_reference(
    app, client, login, scene, monkeypatch, caplog
):
    calls = []

    def always_conflicting(*_args, **_kwargs):
        calls.append(1)
        raise conflict("40001")

    monkeypatch.setattr(services, "record_self_rating", always_conflicting)
    login(scene.learner)
    before = counts()
    caplog.set_level("INFO")
    response = rate_myself(client, code=CODE, level=3)

    assert response.status_code == 503
    assert len(calls) == app_db.RETRY_ATTEMPTS == 3
    assert "Busy: please try again" in response.text
    assert "nothing you sent was saved" in response.text
    incident = re.search(r'data-testid="incident">([0-9a-f]{10})<', response.text)
    assert incident, "no incident reference on the 503 page"
    for leak in ("Traceback", "OperationalError", "SerializationFailure", "UPDATE evidence"):
        assert leak not in response.text
    logged = [r.getMessage() for r in caplog.records if incident.group(1) in r.getMessage()]
    assert len(logged) == 1 and "every attempt" in logged[0]
    assert counts()["retried"] - before["retried"] == 2
    assert counts()["gave_up"] - before["gave_up"] == 1
    assert ratings(scene.learner_id) == []


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_conflict_on_the_first_attempt_is_retried_with_the_same_form(
    app, client, login, scene, monkeypatch, sqlstate
):
    """The rerun reads the same body again: the rating saved is the one the learner sent."""
    real = services.record_self_rating
    calls = []

    def conflicting_once(*args, **kwargs):
        calls.append(kwargs["level"])
        if len(calls) == 1:
            real(*args, **kwargs)  # the work is done, then the transaction is aborted
            raise conflict(sqlstate)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "record_self_rating", conflicting_once)
    login(scene.learner)
    before = counts()
    response = rate_myself(client, code=CODE, level=3, note="Ran the budget.")

    assert response.status_code == 302
    assert calls == [3, 3]
    assert counts()["retried"] - before["retried"] == 1
    [saved] = ratings(scene.learner_id)  # the first attempt's rating was rolled back
    assert (saved.level, saved.note, saved.status) == (3, "Ran the budget.", RatingStatus.PENDING)
    assert "your rating is with your manager" in client.get("/capability").text


def test_a_retried_upload_leaves_one_stored_copy(app, client, login, scene):
    """A file stored by an attempt whose transaction is then aborted (here at the INSERT of
    its record) is removed with it: the rerun stores it again, and one copy is left, the one
    the record names."""
    folder = Path(app.config["UPLOAD_FOLDER"])
    existing = set(folder.iterdir()) if folder.exists() else set()
    inserts = []

    def conflict_at_first_insert(_conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO external_certificates"):
            inserts.append(set(folder.iterdir()) - existing)  # the files stored by then
            if len(inserts) == 1:
                raise conflict("40P01")

    login(scene.learner)
    url = "/learning/external/new"
    token = csrf_for(client, url)
    event.listen(db.engine, "before_cursor_execute", conflict_at_first_insert)
    try:
        sent = client.post(
            url,
            data={
                "csrf_token": token,
                "certificate": "other",
                "other_name": "Retry certificate",
                "number": "R-1",
                "issued_on": "2025-06-01",
                "file": (io.BytesIO(tiny_png()), "copy.png"),
            },
            content_type="multipart/form-data",
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", conflict_at_first_insert)
    assert sent.status_code == 302, sent.text[:400]
    assert len(inserts) == 2 and len(inserts[0]) == 1  # the first attempt had stored a copy
    record = db.session.scalars(select(ExternalCertificate)).one()
    left = set(folder.iterdir()) - existing
    assert [p.name for p in left] == [record.file_name]
    assert left != inserts[0]  # the first attempt's copy is gone


def test_other_database_errors_are_not_retried(app, client, login, scene, monkeypatch):
    """Only the two transient conflicts are retried: any other database error is a 500 at
    once (running it again would fail the same way)."""
    calls = []

    def broken(*_args, **_kwargs):
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(services, "record_self_rating", broken)
    login(scene.learner)
    before = counts()
    response = rate_myself(client, code=CODE, level=3)
    assert response.status_code == 500 and len(calls) == 1
    assert counts() == before
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0


# --- migration 0016: one pending self-rating per person and competency ---------------------

MIGRATION = Path(__file__).resolve().parent.parent / (
    "migrations/versions/0016_trust_self_ratings_and_retries.py"
)


def _run_migration(step: str) -> None:
    """Run migration 0016's ``upgrade`` or ``downgrade`` on the test database."""
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    spec = importlib.util.spec_from_file_location("migration_0016", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    db.session.commit()
    with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        getattr(module, step)()


def test_the_migration_keeps_the_newest_pending_self_rating_of_each_competency(
    app, client, login, scene
):
    """Duplicates left by the old race are settled as the service settles them: the newest
    pending self-rating stays, the earlier ones are withdrawn; then the index holds."""
    login(scene.learner)
    assert rate_myself(client, code=CODE, level=1).status_code == 302
    assert rate_myself(client, code="INF-02", level=2).status_code == 302
    _run_migration("downgrade")  # the index goes: the old race's duplicates can be made
    try:
        first = ratings(scene.learner_id)[0]
        for level in (3, 4):
            db.session.execute(
                text(
                    "INSERT INTO evidence (person_id, competency_id, competency_code, source, "
                    "level, achieved_on, validated, status, note, recorded_at) SELECT person_id, "
                    "competency_id, competency_code, source, :level, achieved_on, validated, "
                    "status, note, recorded_at FROM evidence WHERE id = :id"
                ),
                {"level": level, "id": first.id},
            )
        db.session.commit()
        assert [r.level for r in ratings(scene.learner_id, RatingStatus.PENDING)] == [1, 3, 4]
    finally:
        _run_migration("upgrade")
    assert [(r.level, r.status) for r in ratings(scene.learner_id)] == [
        (1, RatingStatus.WITHDRAWN),
        (3, RatingStatus.WITHDRAWN),
        (4, RatingStatus.PENDING),
    ]
    other = db.session.scalars(select(Evidence).where(Evidence.competency_code == "INF-02")).one()
    assert (other.level, other.status) == (2, RatingStatus.PENDING)  # untouched
    # The index is back: a second pending rating of INF-01 is refused by the database.
    [pending] = ratings(scene.learner_id, RatingStatus.PENDING)
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.execute(
            text(
                "INSERT INTO evidence (person_id, competency_id, competency_code, source, "
                "level, achieved_on, validated, status, note, recorded_at) SELECT person_id, "
                "competency_id, competency_code, source, 5, achieved_on, validated, status, "
                "note, recorded_at FROM evidence WHERE id = :id"
            ),
            {"id": pending.id},
        )
    db.session.rollback()
