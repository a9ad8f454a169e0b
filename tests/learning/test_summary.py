"""The home page's learning figures: a learner's next step, a manager's overdue count, a
trainer's work waiting — each counted from real enrolments, sessions and certificates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.learning.learner_queries import progress_of, team_counts
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionCertificate,
    CompletionMethod,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    ModuleCompletion,
    ModuleType,
)
from app.learning.summary import learner_learning, trainer_learning
from app.org.models import Person
from tests.factories import make_person, make_unit
from tests.learning.factories import M, make_path

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


def enrol(person, version, *, due=None, status=EnrolmentStatus.ACTIVE) -> Enrolment:
    e = Enrolment(
        person_id=person.id,
        path_id=version.path_id,
        version_id=version.id,
        status=status,
        source=EnrolmentSource.HAND,
        due_on=due,
    )
    db.session.add(e)
    db.session.flush()
    return e


def complete(enrolment, module):
    db.session.add(
        ModuleCompletion(
            enrolment_id=enrolment.id,
            module_id=module.id,
            module_code=module.code,
            method=CompletionMethod.SELF,
        )
    )
    db.session.flush()


def test_progress_counts_required_modules_only(session):
    version = make_path(M(), M(), M(optional=True))
    person = make_person()
    e = enrol(person, version)
    complete(e, version.modules[0])
    complete(e, version.modules[2])  # the optional one does not count
    p = progress_of(session, [e.id])[e.id]
    assert (p.done, p.total, p.percent) == (1, 2, 50)


def test_learner_sees_enrolments_by_due_date_with_the_next_module(session):
    later = make_path(M(title="Read the guide"), title="Later path")
    sooner = make_path(M(title="Open the log"), M(title="Run the review"), title="Sooner path")
    person = make_person()
    enrol(person, later, due=TODAY + timedelta(days=40))
    first = enrol(person, sooner, due=TODAY - timedelta(days=2))
    complete(first, sooner.modules[0])

    mine = learner_learning(session, person.id, TODAY, NOW)

    assert [e.title for e in mine.enrolments] == ["Sooner path", "Later path"]
    assert mine.enrolments[0].overdue and not mine.enrolments[1].overdue
    assert mine.next_step is not None
    assert mine.next_step.next_title == "Run the review"


def test_learner_sees_booked_sessions_and_certificates_expiring_within_90_days(session):
    version = make_path(M(type=ModuleType.WORKSHOP), title="Workshop path")
    person = make_person()
    enrol(person, version)
    start = datetime(2026, 6, 20, 9, 30, tzinfo=UTC)
    sitting = ClassSession(
        path_id=version.path_id,
        module_code=version.modules[0].code,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        location="Harbour House 4.12",
        capacity=10,
    )
    db.session.add(sitting)
    db.session.flush()
    db.session.add(Booking(session_id=sitting.id, person_id=person.id, status=BookingStatus.BOOKED))
    for name, days in (("Soon", 30), ("Far", 200)):
        db.session.add(
            ExternalCertificate(
                person_id=person.id,
                other_name=name,
                issued_on=date(2024, 1, 1),
                expires_on=TODAY + timedelta(days=days),
                status=ExternalStatus.VERIFIED,
            )
        )
    db.session.flush()

    mine = learner_learning(session, person.id, TODAY, NOW)

    assert [(s.module_title, s.location) for s in mine.sessions] == [
        ("Module 1", "Harbour House 4.12")
    ]
    assert [(x.name, x.days_left) for x in mine.expiring] == [("Soon", 30)]


def test_learner_counts_the_certificates_held_with_or_without_one_expiring(session):
    """The certificates held (revoked ones left out) are counted the same whether none, one
    or several external certificates are expiring: both come from one statement."""
    first, second = make_path(title="Certified path"), make_path(title="Revoked path")
    person, other = make_person(), make_person()
    held = ((person, first, None), (person, second, NOW), (other, first, None))
    for n, (who, version, revoked) in enumerate(held):
        db.session.add(
            CompletionCertificate(
                enrolment_id=enrol(who, version, status=EnrolmentStatus.COMPLETED).id,
                person_id=who.id,
                code=f"held-{n}",
                learner_name=who.full_name,
                path_code="P",
                path_title=version.title,
                version_number=version.number,
                minutes=60,
                competencies=[],
                revoked_at=revoked,
            )
        )
    db.session.flush()
    assert learner_learning(session, person.id, TODAY, NOW).certificates == 1
    assert learner_learning(session, person.id, TODAY, NOW).expiring == []

    for name, days in (("Later", 60), ("Sooner", 10)):
        db.session.add(
            ExternalCertificate(
                person_id=person.id,
                other_name=name,
                issued_on=date(2024, 1, 1),
                expires_on=TODAY + timedelta(days=days),
                status=ExternalStatus.VERIFIED,
            )
        )
    db.session.flush()
    mine = learner_learning(session, person.id, TODAY, NOW)
    assert mine.certificates == 1
    assert [(x.name, x.days_left) for x in mine.expiring] == [("Sooner", 10), ("Later", 60)]
    assert learner_learning(session, other.id, TODAY, NOW).certificates == 1


def test_team_counts_only_the_people_in_scope(session):
    version = make_path()
    mine, other = make_person(), make_person()
    enrol(mine, version, due=TODAY - timedelta(days=1))
    enrol(other, version, due=TODAY - timedelta(days=1))
    scope = select(Person.id).where(Person.id == mine.id)

    figures = team_counts(session, scope, TODAY)

    assert (figures.active, figures.overdue) == (1, 1)


def test_trainer_sees_progress_per_path_and_per_directorate(session):
    root = make_unit("Group")
    ops = make_unit("Operations", parent=root)
    team = make_unit("Ops PMO", parent=ops)
    version = make_path(title="Co-ordinator path")
    done = make_person(unit=team)
    late = make_person(unit=team)
    enrol(done, version, status=EnrolmentStatus.COMPLETED)
    enrol(late, version, due=TODAY - timedelta(days=3))
    db.session.add(
        ExternalCertificate(person_id=late.id, other_name="Pending one", issued_on=date(2025, 1, 1))
    )
    db.session.flush()

    work = trainer_learning(session, TODAY)

    assert work.certificates_to_verify == 1
    (path,) = work.by_path
    assert (path.title, path.enrolled, path.completed, path.overdue, path.completion) == (
        "Co-ordinator path",
        2,
        1,
        1,
        50,
    )
    (unit,) = work.by_unit
    assert (unit.title, unit.enrolled, unit.overdue) == ("Operations", 2, 1)
