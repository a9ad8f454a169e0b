"""Progress: marking e-learning and reading modules complete (with `requires` locks), the
manager's or assessor's sign-off of an on-the-job task, a trainer recording an assessment
pass and the assessments package's hook; each completion records validated evidence at the
module's levels, and the last required one completes the path and issues a certificate."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.capability import profile as capability_page
from app.capability.models import Evidence
from app.errors import DomainError
from app.extensions import db
from app.framework.models import Source
from app.learning import enrolment as enrolling
from app.learning import progress
from app.learning.models import (
    CompletionCertificate,
    CompletionMethod,
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ModuleType,
)
from tests.factories import make_person, make_unit, make_user
from tests.learning.factories import M, make_path
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"
TODAY = date.today()


@pytest.fixture
def framework(session):
    """The shipped roles and framework, published (module evidence resolves against it)."""
    load_shipped_content(session)
    session.commit()


class World:
    """A learner (reporting to a manager who heads their unit) and a trainer."""

    def __init__(self):
        unit = make_unit("Portfolio Office")
        self.boss = make_person("Mia", "Manager", unit=unit)
        unit.head_id = self.boss.id
        self.boss_user = make_user(Permission.MANAGER, person=self.boss)
        self.learner = make_person("Lee", "Learner", unit=unit, manager=self.boss)
        self.user = make_user(Permission.LEARNER, person=self.learner)
        self.trainer = make_user(Permission.TRAINER, person=make_person("Tia", "Trainer"))

    def enrol(self, version) -> Enrolment:
        return enrolling.enrol_person(
            db.session,
            person_id=self.learner.id,
            path_id=version.path_id,
            due_on=TODAY + timedelta(days=30),
            actor_id=self.trainer.id,
            today=TODAY,
        )


@pytest.fixture
def world(session, framework):
    return World()


def mark(world, enrolment, code, reflection=""):
    return progress.mark_complete(
        db.session,
        enrolment=enrolment,
        module_code=code,
        reflection=reflection,
        actor_id=world.user.id,
        actor_person_id=world.learner.id,
        today=TODAY,
    )


def evidence_of(person) -> list[tuple[str, Source, int, bool]]:
    db.session.expire_all()
    return [
        (e.competency_code, e.source, e.level, e.validated)
        for e in db.session.scalars(
            select(Evidence)
            .where(Evidence.person_id == person.id)
            .order_by(Evidence.competency_code)
        )
    ]


def test_marking_a_module_complete_records_the_reflection_and_validated_evidence(session, world):
    version = make_path(M(evidences={"GOV-05": 1, "GOV-01": 2}), M(), code="P3X")
    enrolment = world.enrol(version)
    done = mark(world, enrolment, "P3X-01", "  I will bring the log review to our stand-up. ")
    session.commit()
    completion = session.scalars(select(ModuleCompletion)).one()
    assert (completion.module_code, completion.method, completion.reflection) == (
        "P3X-01",
        CompletionMethod.SELF,
        "I will bring the log review to our stand-up.",
    )
    assert evidence_of(world.learner) == [
        ("GOV-01", Source.MODULE_COMPLETION, 2, True),
        ("GOV-05", Source.MODULE_COMPLETION, 1, True),
    ]
    assert len(done.evidence) == 2 and not done.path_completed
    # the capability page's own computation sees the new levels at once
    page = capability_page.capability(session, world.learner, TODAY)
    assert (page.layers["GOV-01"].validated, page.layers["GOV-05"].validated) == (2, 1)


def test_a_module_is_locked_until_the_modules_it_requires_are_complete(session, world):
    version = make_path(
        M(title="Portfolio basics"), M(requires=["P3Y-01"], title="Prioritising"), code="P3Y"
    )
    enrolment = world.enrol(version)
    with pytest.raises(DomainError, match="Complete Portfolio basics first."):
        mark(world, enrolment, "P3Y-02")
    mark(world, enrolment, "P3Y-01")
    mark(world, enrolment, "P3Y-02")
    assert session.scalar(select(func.count(ModuleCompletion.id))) == 2


def test_a_module_is_completed_once(session, world):
    version = make_path(M(evidences={"GOV-05": 1}), M())
    enrolment = world.enrol(version)
    code = version.modules[0].code
    mark(world, enrolment, code)
    with pytest.raises(DomainError, match="already complete"):
        mark(world, enrolment, code)
    assert session.scalar(select(func.count(ModuleCompletion.id))) == 1
    assert len(evidence_of(world.learner)) == 1


@pytest.mark.parametrize(
    ("module_type", "how"),
    [
        (ModuleType.CLASSROOM, "book a session"),
        (ModuleType.ON_THE_JOB, "signs it off"),
        (ModuleType.ASSESSMENT, "pass the assessment"),
    ],
)
def test_only_e_learning_and_reading_are_marked_complete_by_the_learner(
    session, world, module_type, how
):
    version = make_path(M(type=module_type), M())
    enrolment = world.enrol(version)
    with pytest.raises(DomainError, match=how):
        mark(world, enrolment, version.modules[0].code)


def test_nobody_marks_someone_elses_module_complete(session, world):
    version = make_path()
    enrolment = world.enrol(version)
    with pytest.raises(DomainError, match="Only the learner"):
        progress.mark_complete(
            session,
            enrolment=enrolment,
            module_code=version.modules[0].code,
            reflection="",
            actor_id=world.boss_user.id,
            actor_person_id=world.boss.id,
            today=TODAY,
        )


def test_the_last_required_module_completes_the_path_and_issues_a_certificate(session, world):
    version = make_path(M(), M(type=ModuleType.READING), M(optional=True), title="Risk")
    enrolment = world.enrol(version)
    first = mark(world, enrolment, version.modules[0].code)
    assert not first.path_completed
    last = mark(world, enrolment, version.modules[1].code)
    session.commit()
    assert last.path_completed
    session.expire_all()
    stored = session.get(Enrolment, enrolment.id)
    assert stored.status == EnrolmentStatus.COMPLETED and stored.completed_at is not None
    certificate = session.scalars(select(CompletionCertificate)).one()
    assert certificate.enrolment_id == enrolment.id and len(certificate.code) >= 16
    # the optional module can still be done afterwards; the path stays complete
    mark(world, enrolment, version.modules[2].code)
    assert session.scalar(select(func.count(CompletionCertificate.id))) == 1


def test_a_withdrawn_enrolment_takes_no_completions(session, world):
    version = make_path()
    enrolment = world.enrol(version)
    enrolling.withdraw(session, enrolment=enrolment, actor_id=None)
    with pytest.raises(DomainError, match="was withdrawn"):
        mark(world, enrolment, version.modules[0].code)


# --- on-the-job sign-off -----------------------------------------------------------------------


def sign(world, enrolment, code, comment, actor=None, actor_person=None):
    return progress.sign_off(
        db.session,
        enrolment=enrolment,
        module_code=code,
        comment=comment,
        actor_id=(actor or world.boss_user).id,
        actor_person_id=(actor_person or world.boss).id,
        today=TODAY,
    )


def test_a_manager_signs_off_an_on_the_job_task_with_a_comment(session, world):
    version = make_path(M(type=ModuleType.ON_THE_JOB, evidences={"GOV-05": 3}))
    enrolment = world.enrol(version)
    code = version.modules[0].code
    with pytest.raises(DomainError, match="Say what you saw") as caught:
        sign(world, enrolment, code, "   ")
    assert caught.value.field == "comment"
    sign(world, enrolment, code, "Ran the portfolio board pack for March; accurate and on time.")
    session.commit()
    completion = session.scalars(select(ModuleCompletion)).one()
    assert completion.method == CompletionMethod.SIGN_OFF
    assert completion.recorded_by_id == world.boss_user.id
    assert completion.comment.startswith("Ran the portfolio board pack")
    assert evidence_of(world.learner) == [("GOV-05", Source.ASSESSOR_OBSERVATION, 3, True)]


def test_nobody_signs_off_their_own_task(session, world):
    version = make_path(M(type=ModuleType.ON_THE_JOB))
    enrolment = world.enrol(version)
    with pytest.raises(DomainError, match="cannot sign off your own task"):
        sign(world, enrolment, version.modules[0].code, "Done.", world.user, world.learner)


def test_sign_off_is_only_for_on_the_job_modules(session, world):
    version = make_path(M(type=ModuleType.E_LEARNING))
    enrolment = world.enrol(version)
    with pytest.raises(DomainError, match="e-learning module"):
        sign(world, enrolment, version.modules[0].code, "Seen it.")


# --- assessments -------------------------------------------------------------------------------


def record_pass(world, enrolment, code, passed_on, today):
    return progress.record_assessment_pass(
        db.session,
        enrolment=enrolment,
        module_code=code,
        passed_on=passed_on,
        comment="78% on the practice paper",
        actor_id=world.trainer.id,
        actor_person_id=world.trainer.person_id,
        today=today,
    )


def test_a_trainer_records_an_assessment_pass(session, world):
    version = make_path(M(type=ModuleType.ASSESSMENT, evidences={"GOV-05": 3}))
    enrolment = world.enrol(version)
    code = version.modules[0].code
    # The service compares with the enrolment's time, stamped by its own clock: take today
    # now, after the enrolment, not when the module loaded (a run that crosses midnight would
    # otherwise compare two different days).
    today = date.today()
    with pytest.raises(DomainError, match="cannot be in the future"):
        record_pass(world, enrolment, code, today + timedelta(days=1), today)
    with pytest.raises(DomainError, match="before the learner was enrolled"):
        record_pass(world, enrolment, code, today - timedelta(days=3), today)
    done = record_pass(world, enrolment, code, today, today)
    assert done.path_completed
    assert evidence_of(world.learner) == [("GOV-05", Source.ASSESSMENT, 3, True)]
    assert done.completion.method == CompletionMethod.ASSESSMENT


def test_the_assessments_hook_completes_linked_modules(session, world):
    version = make_path(M(), M(type=ModuleType.ASSESSMENT, evidences={"GOV-05": 2}))
    version.modules[1].assessment_code = "P3O-F-PRACTICE"
    other = make_path(M(type=ModuleType.ASSESSMENT))
    other.modules[0].assessment_code = "P3O-F-PRACTICE"
    enrolment = world.enrol(version)
    withdrawn = world.enrol(other)
    enrolling.withdraw(session, enrolment=withdrawn, actor_id=None)
    done = progress.complete_assessment_module(
        session, person_id=world.learner.id, assessment_code="P3O-F-PRACTICE", passed_on=TODAY
    )
    assert [d.completion.enrolment_id for d in done] == [enrolment.id]
    assert done[0].evidence[0].source == Source.ASSESSMENT
    # passing again completes nothing new
    assert (
        progress.complete_assessment_module(
            session, person_id=world.learner.id, assessment_code="P3O-F-PRACTICE", passed_on=TODAY
        )
        == []
    )


def test_a_competency_the_framework_lacks_is_passed_over(session, world):
    version = make_path(M(evidences={"GOV-05": 1, "ZZZ-99": 1}))
    enrolment = world.enrol(version)
    done = mark(world, enrolment, version.modules[0].code)
    assert [e.competency_code for e in done.evidence] == ["GOV-05"]


def test_two_requests_completing_the_same_module_at_once_give_one_completion(app, world):
    version = make_path(M(evidences={"GOV-05": 1}), M())
    enrolment = world.enrol(version)
    db.session.commit()
    ids = (enrolment.id, version.modules[0].code, world.user.id, world.learner.id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt():
        with app.app_context():
            mine = db.session.get(Enrolment, ids[0])
            mine.version.modules  # noqa: B018  (loaded before the race starts)
            barrier.wait()
            try:
                progress.mark_complete(
                    db.session, enrolment=mine, module_code=ids[1], reflection="",
                    actor_id=ids[2], actor_person_id=ids[3], today=TODAY,
                )  # fmt: skip
                db.session.commit()
                outcomes.append("done")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["Module 1 is already complete.", "done"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(ModuleCompletion.id))) == 1
    assert db.session.scalar(select(func.count(Evidence.id))) == 1


def test_completion_time_is_recorded_in_utc(session, world):
    version = make_path()
    enrolment = world.enrol(version)
    done = mark(world, enrolment, version.modules[0].code)
    assert done.completion.completed_at.tzinfo is not None
    assert abs(done.completion.completed_at - datetime.now(UTC)) < timedelta(minutes=1)
