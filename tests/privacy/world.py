"""A learner with a record in every table that holds personal data, and a colleague with
records of their own, for the export and erasure tests.

Every piece of the learner's free text carries a canary string (``QLX…``), the
colleague's another (``OTQ…``), so that a download or a database dump can be searched for
them. Built straight into the tables (each domain's use-cases have tests of their own);
attempts go through the assessment engine. Flushes, never commits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.accounts.models import Permission, RecoveryCode, TwoFactor, User
from app.accounts.services import issue_password_token, open_login_session
from app.assessment import attempts as engine
from app.assessment.models import Assessment, AttemptItem, FeedbackPolicy
from app.capability.models import (
    Calibration,
    CalibrationStatus,
    Decision,
    Evidence,
    RatingStatus,
    ValidationDecision,
)
from app.extensions import db
from app.framework.models import Competency, Source
from app.framework.versions import published_version
from app.learning import uploads
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionCertificate,
    CompletionMethod,
    CpdRecord,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    ExternalCertificate,
    ModuleCompletion,
    ReminderLog,
)
from app.org.models import Person
from app.staff_import.models import BatchStatus
from app.staff_import.services import upload as upload_import
from tests.assessment.attempt_factories import (
    Markers,
    content_of_item,
    load_framework_files,
    make_assessment,
    make_bank,
    wrong_answer,
)
from tests.factories import assign, make_person, make_role, make_unit, make_user
from tests.learning.certificate_helpers import tiny_png
from tests.learning.factories import make_path

_seq = itertools.count(1)

#: The learner's names and identifiers: unusual enough that a search finds only them.
FIRST, LAST = "Quillon", "Zephyrine"
EMAIL = "quillon.zephyrine@example.test"
LOGIN = "q.zephyrine@example.test"
NUMBER = "QZ-40417"


@dataclass
class World:
    person: Person
    user: User
    manager: User
    other: Person
    other_user: User
    #: the learner's assessment whose review is open (after submission) and closed (none)
    reviewed: Assessment
    unreviewed: Assessment
    markers: Markers
    upload: Path
    upload_bytes: bytes
    batch_id: int
    #: every free text of the learner's, and the colleague's
    canaries: list[str] = field(default_factory=list)
    other_canaries: list[str] = field(default_factory=list)

    @property
    def identifiers(self) -> list[str]:
        """What must not be found anywhere once the learner is anonymised."""
        return [FIRST, LAST, EMAIL, LOGIN, NUMBER, *self.canaries]


def _canary(kind: str, prefix: str, out: list[str]) -> str:
    mark = f"{prefix}{next(_seq):04d}"
    out.append(mark)
    return f"{kind} {mark}"


def _competency(code: str) -> Competency:
    version = published_version(db.session)
    assert version is not None
    return db.session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == code)
    )


def _capability(person: Person, manager: User, mark) -> None:
    gov = _competency("GOV-05")
    ctl = _competency("CTL-01")
    db.session.add(
        Evidence(
            person_id=person.id,
            competency_id=gov.id,
            competency_code=gov.code,
            source=Source.PRIOR_LEARNING,
            level=2,
            achieved_on=date(2024, 3, 1),
            validated=True,
            note=mark("evidence note"),
            link=f"https://portfolio.example.test/{mark('link').split()[-1]}",
            recorded_by_id=manager.id,
        )
    )
    rating = Evidence(
        person_id=person.id,
        competency_id=ctl.id,
        competency_code=ctl.code,
        source=Source.SELF_RATING,
        level=1,
        achieved_on=date(2024, 4, 1),
        status=RatingStatus.IN_CALIBRATION,
        note=mark("self-rating note"),
    )
    db.session.add(rating)
    db.session.flush()
    db.session.add(
        ValidationDecision(
            evidence_id=rating.id,
            decision=Decision.ADJUST,
            level=3,
            comment=mark("manager's comment"),
            decided_by_id=manager.id,
        )
    )
    db.session.add(
        Calibration(
            person_id=person.id,
            self_rating_id=rating.id,
            self_level=1,
            manager_level=3,
            manager_comment=mark("calibration comment"),
            status=CalibrationStatus.RESOLVED,
            opened_by_id=manager.id,
            resolved_level=2,
            rationale=mark("rationale"),
            resolved_by_id=manager.id,
            resolved_at=datetime(2024, 5, 1, tzinfo=UTC),
        )
    )


def _learning(person: Person, manager: User, mark, folder: Path) -> tuple[Path, bytes]:
    version = make_path()
    enrolment = Enrolment(
        person_id=person.id,
        path_id=version.path_id,
        version_id=version.id,
        source=EnrolmentSource.HAND,
        status=EnrolmentStatus.COMPLETED,
        enrolled_by_id=manager.id,
    )
    db.session.add(enrolment)
    db.session.flush()
    module = version.modules[0]
    db.session.add(
        ModuleCompletion(
            enrolment_id=enrolment.id,
            module_id=module.id,
            module_code=module.code,
            method=CompletionMethod.SIGN_OFF,
            reflection=mark("reflection"),
            recorded_by_id=manager.id,
            comment=mark("sign-off comment"),
        )
    )
    db.session.add(
        CompletionCertificate(
            enrolment_id=enrolment.id,
            person_id=person.id,
            code=f"cert-{person.id}-{next(_seq)}",
            learner_name=person.full_name,
            path_code=version.path.code,
            path_title=version.title,
            version_number=version.number,
            minutes=60,
            competencies=[],
        )
    )
    sitting = ClassSession(
        path_id=version.path_id,
        module_code=module.code,
        starts_at=datetime(2024, 6, 1, 9, tzinfo=UTC),
        ends_at=datetime(2024, 6, 1, 11, tzinfo=UTC),
        capacity=10,
        trainer_id=manager.id,
    )
    db.session.add(sitting)
    db.session.flush()
    db.session.add(Booking(session_id=sitting.id, person_id=person.id, status=BookingStatus.BOOKED))
    data = tiny_png()
    stored = uploads.save(
        folder, uploads.CheckedFile(data, "image/png", "png", f"{person.last_name}-scan.png")
    )
    external = ExternalCertificate(
        person_id=person.id,
        other_name="Canary Practitioner",
        number=mark("certificate number").split()[-1],
        issued_on=date(2023, 1, 1),
        file_name=stored.name,
        file_type=stored.content_type,
        original_name=stored.original_name,
        file_size=stored.size,
        review_reason=mark("review reason"),
    )
    db.session.add(external)
    db.session.flush()
    db.session.add(
        CpdRecord(
            person_id=person.id,
            activity=mark("cpd activity"),
            done_on=date(2024, 2, 2),
            minutes=90,
            notes=mark("cpd notes"),
            certificate_id=external.id,
        )
    )
    db.session.add(
        ReminderLog(
            key=f"due:enrolment:{enrolment.id}:{next(_seq)}",
            kind="due",
            recipient=person.email,
            person_id=person.id,
            subject="Due soon: a test path",
        )
    )
    return Path(folder) / stored.name, data


def _attempt(assessment: Assessment, person: Person, *, submit: bool = True) -> None:
    now = datetime.now(UTC)
    started = engine.start(db.session(), assessment=assessment, person_id=person.id, now=now)
    rows = db.session.scalars(
        select(AttemptItem).where(AttemptItem.attempt_id == started.attempt.id)
    ).all()
    for row in rows[:4]:
        engine.save_answer(
            db.session(),
            attempt=started.attempt,
            item_id=row.id,
            answer=wrong_answer(content_of_item(row)),
            revision=row.revision,
            now=now,
        )
    if submit:
        engine.submit(db.session(), attempt=started.attempt, now=now)


def _account_extras(user: User) -> None:
    open_login_session(db.session, user)
    issue_password_token(db.session, user=user, ttl=timedelta(hours=1))
    db.session.add(TwoFactor(user_id=user.id, secret_sealed="SEALEDSECRETQ", confirmed_at=None))
    db.session.add(RecoveryCode(user_id=user.id, code_hash="RECOVERYHASHQ" + "0" * 51))


def build_world(*, other_canaries: bool = True) -> World:
    """The learner (a leaver once the test deactivates them), their manager and a colleague,
    each with records; the framework and a question bank loaded."""
    load_framework_files()
    bank, _content, markers = make_bank()
    reviewed = make_assessment(bank, feedback=FeedbackPolicy.AFTER_SUBMISSION)
    unreviewed = make_assessment(bank, feedback=FeedbackPolicy.NONE)
    unit = make_unit("Privacy Unit")
    boss = make_person("Mira", "Manager", unit=unit)
    manager = make_user(Permission.MANAGER, Permission.ADMIN, person=boss)
    person = make_person(FIRST, LAST, unit=unit, manager=boss, number=NUMBER, job_title="Analyst")
    person.email = EMAIL
    user = make_user(Permission.LEARNER, person=person, email=LOGIN)
    other = make_person("Otto", "Colleague", unit=unit, manager=boss)
    other_user = make_user(Permission.LEARNER, person=other)
    role = make_role()
    assign(person, role)
    assign(other, role)

    canaries: list[str] = []
    others: list[str] = []

    def mark(kind: str) -> str:
        return _canary(kind, "QLX", canaries)

    def other_mark(kind: str) -> str:
        return _canary(kind, "OTQ", others)

    folder = Path(current_app.config["UPLOAD_FOLDER"])
    _capability(person, manager, mark)
    upload, data = _learning(person, manager, mark, folder)
    _account_extras(user)
    if other_canaries:
        _capability(other, manager, other_mark)
        _learning(other, manager, other_mark, folder)
        _account_extras(other_user)
    _attempt(reviewed, person)
    _attempt(unreviewed, person)
    _attempt(reviewed, other)
    batch = upload_import(
        db.session,
        data=(
            "Employee Number,First Name,Last Name,Email\n"
            f"{NUMBER},{FIRST},{LAST},{EMAIL}\nOT-1,Otto,Colleague,otto@example.test\n"
        ).encode(),
        filename="hr-export.csv",
        actor_id=manager.id,
    )
    batch.status = BatchStatus.APPLIED
    batch.issues = [[2, "Email", "warning", f"{EMAIL!r} is already the email of employee X"]]
    db.session.flush()
    return World(
        person=person,
        user=user,
        manager=manager,
        other=other,
        other_user=other_user,
        reviewed=reviewed,
        unreviewed=unreviewed,
        markers=markers,
        upload=upload,
        upload_bytes=data,
        batch_id=batch.id,
        canaries=canaries,
        other_canaries=others,
    )
