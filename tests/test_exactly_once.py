"""Exactly once: every state transition, fired twelve times at once against a real gunicorn
with four workers, on SQLite and PostgreSQL, has one effect; every other request gets a plain
answer (a message saying what happened, never a server error, never a second effect).

The transitions: a manager's decision on a self-rating (accept; adjust into a calibration),
resolving a calibration, applying a staff import (and applying it while discarding it),
enrolling on a path, withdrawing an enrolment, completing the last module of a path (the
certificate of completion), booking a classroom session (places and one learner's double
booking), and submitting an attempt whose pass completes a path. Attempt starts, submits and
saves have their own race tests (tests/assessment/test_attempt_concurrency.py).

Then the SQLite side of the guard: connections carry the pragmas, a request that writes
begins with BEGIN IMMEDIATE while a page that reads does not, and a burst of writes gives
no "database is locked".

Each race fires REQUESTS posts released together by a barrier, each on its own connection,
from several signed-in browsers (tests/served.py); the effects are counted in the database
afterwards, and the message each post's user is shown on the page it redirects to is read
from the session cookie the response set (one such page is opened, to see it shown).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from app import create_app
from app.accounts.models import Permission, User
from app.assessment import attempts
from app.assessment.content import item_from_data
from app.assessment.models import Assessment, AttemptItem, ItemVersion
from app.capability import services as capability
from app.capability.models import (
    Calibration,
    CalibrationStatus,
    Decision,
    Evidence,
    RatingStatus,
    ValidationDecision,
)
from app.config import Config
from app.db import immediate_transactions
from app.extensions import db
from app.framework.models import Source
from app.framework.versions import published_version
from app.learning import enrolment as enrolling
from app.learning import external, progress
from app.learning import sessions as scheduling
from app.learning.models import (
    Booking,
    BookingStatus,
    CompletionCertificate,
    Enrolment,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    ModuleCompletion,
    ModuleType,
)
from app.org.models import Person
from app.staff_import import services as staff_import
from app.staff_import.models import BatchStatus, ImportBatch
from bench.attempt_bench import build_database
from tests.conftest import BACKENDS, database_for, make_app
from tests.factories import make_person, make_user
from tests.learning.factories import M, make_path
from tests.served import Browser, Gunicorn, Seen, fire, fire_all, sign_in

SECRET = "exactly-once-test-secret-0123456789abcdef0123456789"
REQUESTS = 12
LEARNERS = 18
TODAY = date.today()


@dataclass
class World:
    """The served site and what the tests act on."""

    backend: str
    server: Gunicorn
    app: Flask
    learners: list[int]  # person ids
    learner_users: list[int]  # their user ids
    manager_user: int
    admin_user: int
    codes: list[str]  # competency codes of the published framework
    open_path: int  # a path open to self-enrolment
    cert_enrolment: int  # learner 3 on a two-module path, the first module done
    cert_module: str  # its last module
    withdraw_enrolment: int  # learner 4, active
    class_sessions: tuple[int, int]  # two sessions of one classroom module, 3 places each
    attempt_id: int  # learner 15's attempt, every answer right, linked to a path
    trainer_users: list[int]  # two training specialists (they review certificates)

    signed_in: dict[int, list[Browser]] = field(default_factory=dict)

    def browsers(self, user_id: int, n: int) -> list[Browser]:
        """``n`` browsers signed in as the user (the tests share a user's browsers)."""
        have = self.signed_in.setdefault(user_id, [])
        while len(have) < n:
            have.append(sign_in(self.app, user_id, self.server.port))
        return have[:n]

    def reviewers(self) -> list[Browser]:
        """Six training specialist sessions: three of each trainer."""
        return self.browsers(self.trainer_users[0], 3) + self.browsers(self.trainer_users[1], 3)

    def deciders(self) -> list[Browser]:
        """Six manager sessions: three of the learners' line manager, three of an admin."""
        return self.browsers(self.manager_user, 3) + self.browsers(self.admin_user, 3)


def _served_app(url: str) -> Flask:
    """An app on the served database with the server's settings (its secret key signs the
    browsers' cookies)."""
    return create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)


def _build(built: dict) -> dict:
    """The people, paths, sessions and attempt of the world (in ``app``'s context)."""
    now = datetime.now(UTC)
    manager = make_person("Alex", "Doe", number="MGR1")
    manager_user = make_user(Permission.MANAGER, person=manager)
    admin_user = make_user(Permission.ADMIN, person=make_person("Sam", "Lee", number="ADM1"))
    trainers = [
        make_user(Permission.TRAINER, person=make_person("Tara", "Nash", number="TRN1")),
        make_user(Permission.TRAINER, person=make_person("Theo", "Park", number="TRN2")),
    ]
    learners = [
        db.session.scalar(select(Person).where(Person.email == email)) for email in built["emails"]
    ]
    for person in learners:
        person.line_manager_id = manager.id
    users = [db.session.scalar(select(User.id).where(User.person_id == p.id)) for p in learners]
    version = published_version(db.session)
    assert version is not None
    codes = sorted(c.code for c in version.competencies)
    open_path = make_path(M(), title="Open path")
    cert_path = make_path(M(), M(), title="Certified path", open_enrolment=False)
    class_path = make_path(M(type=ModuleType.CLASSROOM), title="Classroom path")
    assessed = make_path(M(type=ModuleType.ASSESSMENT), title="Assessed path")
    assessed.modules[0].assessment_code = "BENCH-TEST"
    db.session.flush()

    def enrol(person: Person, path_id: int) -> Enrolment:
        return enrolling.enrol_person(
            db.session,
            person_id=person.id,
            path_id=path_id,
            due_on=TODAY + timedelta(days=30),
            actor_id=manager_user.id,
            today=TODAY,
        )

    cert = enrol(learners[3], cert_path.path_id)
    progress.mark_complete(
        db.session,
        enrolment=cert,
        module_code=cert_path.modules[0].code,
        reflection="",
        actor_id=users[3],
        actor_person_id=learners[3].id,
        today=TODAY,
    )
    withdrawn = enrol(learners[4], cert_path.path_id)
    for person in learners[5:15] + learners[16:17]:
        enrol(person, class_path.path_id)
    enrol(learners[15], assessed.path_id)
    tomorrow = TODAY + timedelta(days=1)
    sittings = [
        scheduling.save_session(
            db.session,
            scheduling.SessionData(
                path_id=class_path.path_id,
                module_code=class_path.modules[0].code,
                day=tomorrow,
                starts=time(9 + 3 * n),
                ends=time(11 + 3 * n),
                location="Room 1",
                capacity=3,
            ),
            zone=scheduling.DEFAULT_ZONE,
            actor_id=admin_user.id,
            now=now,
        ).id
        for n in range(2)
    ]
    assessment = db.session.get(Assessment, built["assessment_id"])
    attempt = attempts.start(
        db.session, assessment=assessment, person_id=learners[15].id, now=now
    ).attempt
    for row, content in db.session.execute(
        select(AttemptItem, ItemVersion.content)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .where(AttemptItem.attempt_id == attempt.id)
    ):
        row.answer = item_from_data(content).key()
    db.session.flush()
    out = {
        "learners": [p.id for p in learners],
        "learner_users": users,
        "manager_user": manager_user.id,
        "admin_user": admin_user.id,
        "codes": codes,
        "open_path": open_path.path_id,
        "cert_enrolment": cert.id,
        "cert_module": cert_path.modules[1].code,
        "withdraw_enrolment": withdrawn.id,
        "class_sessions": tuple(sittings),
        "attempt_id": attempt.id,
        "trainer_users": [t.id for t in trainers],
    }
    db.session.commit()
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """Gunicorn (4 workers) on a migrated database holding the framework, an assessment,
    eighteen learners under one line manager, an admin, and the paths, enrolments, sessions
    and attempt the tests race on."""
    folder = tmp_path_factory.mktemp(f"exactly-once-{request.param}")
    with database_for(request.param, tmp_path_factory) as url:
        built = build_database(
            url, LEARNERS, items=10, draw=5, secret_key=SECRET, config_class=Config
        )
        app = _served_app(url)
        with app.app_context():
            ids = _build(built)
            db.session.remove()
        server = Gunicorn(url, SECRET, folder, workers=4)
        try:
            yield World(backend=request.param, server=server, app=app, **ids)
        finally:
            server.stop()
            with app.app_context():
                db.engine.dispose()


def value(world: World, stmt):
    """What ``stmt`` selects (one value), read in the served database."""
    with world.app.app_context():
        try:
            return db.session.scalar(stmt)
        finally:
            db.session.remove()


def count(world: World, model, *where) -> int:
    return int(value(world, select(func.count()).select_from(model).where(*where)) or 0)


def plain(results: list[Seen]) -> None:
    """Every request was answered with a page or a redirect, and a message for its user;
    none with an error."""
    assert all(r.status in (200, 302, 303) for r in results), [
        (r.status, r.said, r.text[:200]) for r in results
    ]
    assert all(r.messages for r in results), [(r.status, r.text[:300]) for r in results]
    assert not any("Something went wrong" in r.text for r in results)


def saying(results: list[Seen], phrase: str) -> list[Seen]:
    return [r for r in results if phrase in r.said]


def others(results: list[Seen], won: list[Seen]) -> list[Seen]:
    return [r for r in results if all(r is not w for w in won)]


def self_rating(world: World, learner: int, code: str, level: int) -> int:
    """A self-rating of the learner, waiting for their manager; its id."""
    with world.app.app_context():
        rating = capability.record_self_rating(
            db.session,
            person_id=world.learners[learner],
            competency_code=code,
            level=level,
            note="",
            link=None,
            actor_id=world.learner_users[learner],
            on=TODAY,
        )
        db.session.commit()
        rating_id = rating.id
        db.session.remove()
    return rating_id


def manager_ratings(world: World, rating_id: int) -> int:
    return count(
        world,
        Evidence,
        Evidence.responds_to_id == rating_id,
        Evidence.source == Source.MANAGER_RATING,
    )


# --- validation decisions and calibrations ---------------------------------------------------


def test_twelve_accepts_from_six_manager_sessions_record_one_decision(world):
    rating_id = self_rating(world, 0, world.codes[0], 2)
    results = fire(
        world.deciders(),
        f"/validations/{rating_id}",
        REQUESTS,
        {"decision": Decision.ACCEPT.value, "level": "", "comment": ""},
    )
    plain(results)
    won = saying(results, "validated at level 2")
    assert len(won) == 1, [r.said for r in results]
    decider = value(
        world,
        select(ValidationDecision.decided_by_id).where(ValidationDecision.evidence_id == rating_id),
    )
    name = "Alex Doe" if decider == world.manager_user else "Sam Lee"
    refused = saying(results, f"This rating has already been decided by {name} at ")
    assert len(refused) == REQUESTS - 1, [r.said for r in results]
    # The refused manager's next page says so.
    page = Browser(world.server.port, refused[0].cookie).get(refused[0].location)
    assert page.status == 200
    assert f"This rating has already been decided by {name} at " in page.text
    assert count(world, ValidationDecision, ValidationDecision.evidence_id == rating_id) == 1
    assert manager_ratings(world, rating_id) == 1
    assert value(world, select(Evidence.status).where(Evidence.id == rating_id)) == (
        RatingStatus.ACCEPTED
    )


def test_twelve_adjustments_open_one_calibration_and_twelve_resolutions_settle_it(world):
    rating_id = self_rating(world, 1, world.codes[1], 1)
    deciders = world.deciders()
    results = fire(
        deciders,
        f"/validations/{rating_id}",
        REQUESTS,
        {"decision": Decision.ADJUST.value, "level": "3", "comment": "Led the review."},
    )
    plain(results)
    assert len(saying(results, "a calibration is open")) == 1, [r.said for r in results]
    assert len(saying(results, "This rating has already been decided by ")) == REQUESTS - 1
    assert count(world, ValidationDecision, ValidationDecision.evidence_id == rating_id) == 1
    assert count(world, Calibration, Calibration.self_rating_id == rating_id) == 1
    assert manager_ratings(world, rating_id) == 0

    calibration_id = value(
        world, select(Calibration.id).where(Calibration.self_rating_id == rating_id)
    )
    results = fire(
        deciders,
        f"/calibrations/{calibration_id}",
        REQUESTS,
        {"level": "2", "rationale": "Agreed in the review."},
    )
    plain(results)
    assert len(saying(results, "Calibration resolved")) == 1, [r.said for r in results]
    refused = saying(results, "This calibration is already resolved: ")
    assert len(refused) == REQUESTS - 1, [r.said for r in results]
    assert all(" resolved it at " in r.said for r in refused)
    assert manager_ratings(world, rating_id) == 1
    resolved = value(
        world,
        select(Calibration.resolved_level).where(
            Calibration.id == calibration_id, Calibration.status == CalibrationStatus.RESOLVED
        ),
    )
    assert resolved == 2
    assert value(world, select(Evidence.status).where(Evidence.id == rating_id)) == (
        RatingStatus.ADJUSTED
    )


# --- staff import ------------------------------------------------------------------------------


def uploaded_batch(world: World, tag: str) -> int:
    """An uploaded, mapped staff import of five new people; its id."""
    rows = "".join(
        f"{tag}{n:03d},Imported,{tag}{n},{tag.lower()}{n}@import.example\n" for n in range(5)
    )
    data = ("Employee Number,First Name,Last Name,Email\n" + rows).encode()
    with world.app.app_context():
        batch = staff_import.upload(
            db.session, data=data, filename=f"{tag}.csv", actor_id=world.admin_user
        )
        proposal = staff_import.mapping_for(db.session, batch)
        staff_import.save_mapping(
            db.session,
            batch=batch,
            columns=proposal.columns,
            value_maps=proposal.value_maps,
            full_sync=False,
            actor_id=world.admin_user,
        )
        plan = staff_import.preview(db.session, batch, actor_person_id=None, today=TODAY)
        assert plan.counts()["create"] == 5 and not plan.errors
        db.session.commit()
        batch_id = batch.id
        db.session.remove()
    return batch_id


def imported(world: World, tag: str) -> int:
    return count(world, Person, Person.employee_number.like(f"{tag}%"))


def test_twelve_applies_of_one_import_apply_it_once(world):
    batch_id = uploaded_batch(world, "IMA")
    admins = world.browsers(world.admin_user, 4)
    results = fire(admins, f"/admin/imports/{batch_id}/apply", REQUESTS, {"skip_errors": "0"})
    plain(results)
    won = saying(results, "Import applied: 5 created")
    assert len(won) == 1, [r.said for r in results]
    # Refused before the apply (the batch read as applied) or by the claim, naming who.
    assert all(
        "This import is applied" in r.said or "already been applied by Sam Lee at " in r.said
        for r in others(results, won)
    ), [r.said for r in results]
    assert imported(world, "IMA") == 5
    assert value(world, select(ImportBatch.applied_by_id).where(ImportBatch.id == batch_id)) == (
        world.admin_user
    )


def test_applying_and_discarding_one_import_at_once_does_one_of_the_two(world):
    batch_id = uploaded_batch(world, "IMD")
    admins = world.browsers(world.admin_user, 4)
    results = fire_all(
        [
            (
                admins[n % len(admins)],
                f"/admin/imports/{batch_id}/{'apply' if n % 2 else 'discard'}",
                {"skip_errors": "0"},
            )
            for n in range(REQUESTS)
        ]
    )
    plain(results)
    won = saying(results, "Import applied: 5 created") + saying(results, "nothing was imported")
    assert len(won) == 1, [r.said for r in results]
    status = value(world, select(ImportBatch.status).where(ImportBatch.id == batch_id))
    assert imported(world, "IMD") == (5 if status == BatchStatus.APPLIED else 0), status
    assert status == (BatchStatus.APPLIED if "applied" in won[0].said else BatchStatus.DISCARDED)


# --- learning: enrolment, withdrawal, certificate, booking -------------------------------------


def test_twelve_self_enrolments_enrol_once(world):
    learner = world.browsers(world.learner_users[2], 6)
    results = fire(learner, f"/learning/open/{world.open_path}/enrol", REQUESTS)
    plain(results)
    assert len(saying(results, "You are enrolled on Open path")) == 1, [r.said for r in results]
    assert len(saying(results, "You are already enrolled on Open path")) == REQUESTS - 1
    assert (
        count(
            world,
            Enrolment,
            Enrolment.person_id == world.learners[2],
            Enrolment.path_id == world.open_path,
        )
        == 1
    )


def test_twelve_withdrawals_withdraw_once(world):
    managers = world.browsers(world.manager_user, 4)
    results = fire(
        managers,
        f"/learning/enrolments/{world.withdraw_enrolment}/withdraw",
        REQUESTS,
        {"confirmed": "1"},
    )
    plain(results)
    assert len(saying(results, "withdrawn from Certified path")) == 1, [r.said for r in results]
    assert len(saying(results, "This enrolment is already withdrawn.")) == REQUESTS - 1
    assert value(
        world, select(Enrolment.status).where(Enrolment.id == world.withdraw_enrolment)
    ) == (EnrolmentStatus.WITHDRAWN)


def test_twelve_completions_of_the_last_module_issue_one_certificate(world):
    learner = world.browsers(world.learner_users[3], 6)
    path = f"/learning/enrolments/{world.cert_enrolment}/modules/{world.cert_module}/complete"
    results = fire(learner, path, REQUESTS, {"reflection": "Applied it."})
    plain(results)
    assert len(saying(results, "Module 2 complete")) == 1, [r.said for r in results]
    assert len(saying(results, "Module 2 is already complete.")) == REQUESTS - 1
    assert (
        count(
            world,
            ModuleCompletion,
            ModuleCompletion.enrolment_id == world.cert_enrolment,
            ModuleCompletion.module_code == world.cert_module,
        )
        == 1
    )
    assert (
        count(
            world, CompletionCertificate, CompletionCertificate.enrolment_id == world.cert_enrolment
        )
        == 1
    )


def bookings(world: World, *where) -> Counter:
    with world.app.app_context():
        rows = db.session.execute(
            select(Booking.status, func.count()).where(*where).group_by(Booking.status)
        ).all()
        db.session.remove()
    return Counter({status: n for status, n in rows})


def test_ten_learners_booking_three_places_at_once_get_three_places(world):
    session_id = world.class_sessions[0]
    learners = [world.browsers(world.learner_users[n], 1)[0] for n in range(5, 15)]
    results = fire(learners, f"/learning/sessions/{session_id}/book", len(learners))
    plain(results)
    assert len(saying(results, "You have a place")) == 3, [r.said for r in results]
    assert len(saying(results, "you are on the waiting list")) == 7
    assert bookings(world, Booking.session_id == session_id) == Counter(
        {BookingStatus.BOOKED: 3, BookingStatus.WAITLISTED: 7}
    )


def test_one_learner_booking_twelve_times_across_two_sessions_gets_one_place(world):
    first, second = world.class_sessions
    learner = world.browsers(world.learner_users[16], 4)
    results = fire_all(
        [
            (learner[n % len(learner)], f"/learning/sessions/{(first, second)[n % 2]}/book", {})
            for n in range(REQUESTS)
        ]
    )
    plain(results)
    # A place, or a place on the waiting list of the full first session.
    won = saying(results, "You have a place") + saying(results, "you are on the waiting list")
    assert len(won) == 1, [r.said for r in results]
    assert all(
        "You are already booked on this session." in r.said
        or "You already have a place on another session of this module" in r.said
        for r in others(results, won)
    ), [r.said for r in results]
    assert sum(bookings(world, Booking.person_id == world.learners[16]).values()) == 1


# --- assessment: a submit that completes a path -------------------------------------------------


def test_twelve_submits_of_a_passing_attempt_complete_its_path_once(world):
    learner = world.browsers(world.learner_users[15], 4)
    results = fire(learner, f"/attempts/{world.attempt_id}/submit", REQUESTS, {"confirmed": "1"})
    assert {(r.status, r.location) for r in results} == {
        (302, f"/attempts/{world.attempt_id}/result")
    }, [(r.status, r.location, r.said) for r in results]
    person = world.learners[15]
    enrolment = value(world, select(Enrolment.id).where(Enrolment.person_id == person))
    assert count(world, ModuleCompletion, ModuleCompletion.enrolment_id == enrolment) == 1
    assert count(world, CompletionCertificate, CompletionCertificate.person_id == person) == 1
    assert (
        count(world, Evidence, Evidence.person_id == person, Evidence.source == Source.ASSESSMENT)
        == 1
    )
    assert value(world, select(Enrolment.status).where(Enrolment.id == enrolment)) == (
        EnrolmentStatus.COMPLETED
    )


# --- external certificates: a trainer's verification or rejection -------------------------------


def pending_certificate(world: World, learner: int, number: str) -> tuple[int, bool]:
    """A certificate the learner recorded, waiting for a trainer: its id, and whether it is
    one of the catalogue's that proves a competency (verifying it records evidence)."""
    with world.app.app_context():
        proving = [c.code for c in external.catalogue(db.session) if c.evidences]
        record = external.record_external_certificate(
            db.session,
            person_id=world.learners[learner],
            certificate=proving[0] if proving else external.OTHER,
            other_name="" if proving else "Race certificate",
            number=number,
            issued_on=TODAY - timedelta(days=30),
            folder=world.server.log_path.parent,
            today=TODAY,
        )
        db.session.commit()
        out = record.id, bool(proving)
        db.session.remove()
    return out


def certificate_evidence(world: World, learner: int) -> int:
    return count(
        world,
        Evidence,
        Evidence.person_id == world.learners[learner],
        Evidence.source == Source.EXTERNAL_CERTIFICATE,
    )


def test_twelve_verifications_of_a_certificate_from_six_trainer_sessions_verify_it_once(world):
    record_id, proving = pending_certificate(world, 6, "RACE-1")
    before = certificate_evidence(world, 6)
    results = fire(
        world.reviewers(), f"/learning/external/{record_id}/verify", REQUESTS, {"confirmed": "1"}
    )
    plain(results)
    won = saying(results, "Verified ")
    assert len(won) == 1, [r.said for r in results]
    refused = saying(results, "This certificate was already verified.")
    assert len(refused) == REQUESTS - 1, [r.said for r in results]
    assert value(
        world, select(ExternalCertificate.status).where(ExternalCertificate.id == record_id)
    ) == (ExternalStatus.VERIFIED)
    # One piece of evidence, when the certificate proves a competency.
    assert proving, "the shipped catalogue has a certificate that proves a competency"
    assert certificate_evidence(world, 6) == before + 1


def test_verifying_and_rejecting_one_certificate_at_once_does_one_of_the_two(world):
    record_id, _proving = pending_certificate(world, 7, "RACE-2")
    before = certificate_evidence(world, 7)
    reviewers = world.reviewers()
    path = f"/learning/external/{record_id}"
    results = fire_all(
        [
            (reviewers[n % 6], f"{path}/verify", {"confirmed": "1"})
            if n % 2
            else (reviewers[n % 6], f"{path}/reject", {"reason": "The number does not match."})
            for n in range(REQUESTS)
        ]
    )
    plain(results)
    status = value(
        world, select(ExternalCertificate.status).where(ExternalCertificate.id == record_id)
    )
    assert status in (ExternalStatus.VERIFIED, ExternalStatus.REJECTED)
    won = saying(results, "Verified ") + saying(results, "Rejected ")
    assert len(won) == 1, [r.said for r in results]
    refused = saying(results, f"This certificate was already {status.value}.")
    assert len(refused) == REQUESTS - 1, [r.said for r in results]
    expected = before + (1 if status == ExternalStatus.VERIFIED else 0)
    assert certificate_evidence(world, 7) == expected


# --- a learner's self-rating: one waits for the manager ----------------------------------------


def test_twelve_self_ratings_of_one_competency_at_once_leave_one_pending(world):
    learner = world.browsers(world.learner_users[17], 6)
    code = world.codes[-1]  # one no other test rates
    results = fire(
        learner,
        "/capability/self-rating",
        REQUESTS,
        {"competency": code, "level": "3", "note": "", "link": ""},
    )
    plain(results)
    assert len(saying(results, "your rating is with your manager")) == REQUESTS, [
        (r.status, r.said) for r in results
    ]
    mine = (
        Evidence.person_id == world.learners[17],
        Evidence.competency_code == code,
        Evidence.source == Source.SELF_RATING,
    )
    assert count(world, Evidence, *mine, Evidence.status == RatingStatus.PENDING) == 1
    assert count(world, Evidence, *mine, Evidence.status == RatingStatus.WITHDRAWN) == REQUESTS - 1


# --- SQLite: the settings, BEGIN IMMEDIATE, and no "database is locked" -----------------------


def test_a_burst_of_writes_gives_no_database_is_locked(world):
    """Forty-eight self-ratings sent at once by sixteen learners (three competencies each,
    each a read then a write): every one saved, none refused by a locked database."""
    codes = world.codes[4:7]
    learners = [world.browsers(world.learner_users[n], 1)[0] for n in range(16)]
    results = fire_all(
        [
            (
                browser,
                "/capability/self-rating",
                {"competency": code, "level": "2", "note": "Burst.", "link": ""},
            )
            for browser in learners
            for code in codes
        ]
    )
    plain(results)
    assert len(saying(results, "your rating is with your manager")) == 48, [
        r.said for r in results if "your rating" not in r.said
    ]
    assert "database is locked" not in world.server.log()
    assert "OperationalError" not in world.server.log()
    assert (
        count(
            world,
            Evidence,
            Evidence.competency_code.in_(codes),
            Evidence.status == RatingStatus.PENDING,
        )
        == 48
    )


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    """An app on an empty SQLite file (the settings need no tables but one)."""
    path = tmp_path_factory.mktemp("immediate") / "db.sqlite3"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE marks (id INTEGER PRIMARY KEY)")
    yield app, path
    with app.app_context():
        db.engine.dispose()


def test_every_sqlite_connection_has_wal_foreign_keys_and_a_busy_timeout(sqlite_app):
    """Each connection of the pool, not only the first, carries the settings."""
    app, _path = sqlite_app
    names = ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
    with app.app_context(), ExitStack() as stack:
        connections = [stack.enter_context(db.engine.connect()) for _ in range(3)]
        settings = [
            {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names}
            for conn in connections
        ]
    expected = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}
    assert settings == [expected] * 3


def _write_lock_free(path) -> bool:
    """Whether another connection can take the write lock now (without waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()


@pytest.mark.parametrize(
    ("method", "immediate"),
    [
        ("POST", True),
        ("PUT", True),
        ("PATCH", True),
        ("DELETE", True),
        ("GET", False),
        ("HEAD", False),
    ],
)
def test_a_request_that_writes_takes_the_write_lock_at_its_first_read(
    sqlite_app, method, immediate
):
    """A POST's transaction begins with BEGIN IMMEDIATE: from its first read no other writer
    can come in between its reads and its writes. A page's reads take no lock."""
    app, path = sqlite_app
    with app.test_request_context("/", method=method):
        db.session.execute(text("SELECT count(*) FROM marks"))
        try:
            assert _write_lock_free(path) is not immediate
        finally:
            db.session.rollback()
            db.session.remove()
    assert _write_lock_free(path)


def test_a_command_line_block_that_writes_begins_immediately(sqlite_app):
    app, path = sqlite_app
    with app.app_context():
        with immediate_transactions():
            db.session.execute(text("SELECT count(*) FROM marks"))
            assert not _write_lock_free(path)
            db.session.rollback()
        db.session.execute(text("SELECT count(*) FROM marks"))
        assert _write_lock_free(path)
        db.session.remove()
