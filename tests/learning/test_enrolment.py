"""Enrolling people on a path: one person, several, an org unit's subtree, a role's holders;
a manager only their own people; prerequisites; self-enrolment on open paths; withdrawal;
and a bulk enrolment of 500 people in a bounded number of SQL statements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.access import visible_people
from app.accounts.models import Permission
from app.errors import DomainError
from app.learning import enrolment as enrolling
from app.learning.models import (
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    PathPrerequisite,
    PathStatus,
)
from app.org.models import AssignmentKind, Person
from tests.factories import assign, make_person, make_role, make_unit, make_user
from tests.learning.factories import make_path

TODAY = date.today()
DUE = TODAY + timedelta(days=60)


def enrolments(session, path_id: int) -> dict[int, Enrolment]:
    session.expire_all()
    return {
        e.person_id: e
        for e in session.scalars(select(Enrolment).where(Enrolment.path_id == path_id))
    }


def enrol_many(session, version, people, *, scope=None, actor=None) -> enrolling.EnrolmentCounts:
    return enrolling.enrol_people(
        session,
        path_id=version.path_id,
        people=people,
        due_on=DUE,
        actor_id=actor,
        today=TODAY,
        scope=scope,
    )


# --- one person -------------------------------------------------------------------------------


def test_enrolling_one_person_uses_the_published_version_and_the_due_date(session):
    trainer = make_user(Permission.TRAINER)
    old = make_path(code="GOVX", status=PathStatus.RETIRED)
    current = make_path(path=old.path, number=2)
    make_path(path=old.path, number=3, status=PathStatus.DRAFT)
    person = make_person("Ada", "Lovelace")
    enrolment = enrolling.enrol_person(
        session,
        person_id=person.id,
        path_id=old.path_id,
        due_on=DUE,
        actor_id=trainer.id,
        today=TODAY,
    )
    session.commit()
    stored = enrolments(session, old.path_id)[person.id]
    assert stored.id == enrolment.id
    assert stored.version_id == current.id
    assert (stored.status, stored.source, stored.due_on) == (
        EnrolmentStatus.ACTIVE,
        EnrolmentSource.HAND,
        DUE,
    )
    assert stored.enrolled_by_id == trainer.id


def test_a_person_is_enrolled_on_a_path_once(session):
    version = make_path(title="Risk basics")
    person = make_person("Bo", "Brown")
    enrolling.enrol_person(
        session,
        person_id=person.id,
        path_id=version.path_id,
        due_on=DUE,
        actor_id=None,
        today=TODAY,
    )
    with pytest.raises(DomainError, match="Bo Brown is already on Risk basics"):
        enrolling.enrol_person(
            session,
            person_id=person.id,
            path_id=version.path_id,
            due_on=DUE,
            actor_id=None,
            today=TODAY,
        )
    assert len(enrolments(session, version.path_id)) == 1


@pytest.mark.parametrize(
    ("due", "message"),
    [
        (None, "Give the date the path is due."),
        (TODAY - timedelta(days=1), "The due date cannot be in the past."),
        (TODAY + timedelta(days=5 * 365), "within the next three years"),
    ],
)
def test_the_due_date_must_be_given_and_ahead(session, due, message):
    version = make_path()
    person = make_person()
    with pytest.raises(DomainError, match=message) as caught:
        enrolling.enrol_person(
            session,
            person_id=person.id,
            path_id=version.path_id,
            due_on=due,
            actor_id=None,
            today=TODAY,
        )
    assert caught.value.field == "due_on"


def test_only_a_published_path_takes_enrolments(session):
    draft = make_path(status=PathStatus.DRAFT)
    person = make_person()
    with pytest.raises(DomainError, match="Choose a published learning path") as caught:
        enrolling.enrol_person(
            session,
            person_id=person.id,
            path_id=draft.path_id,
            due_on=DUE,
            actor_id=None,
            today=TODAY,
        )
    assert caught.value.field == "path"


def test_a_leaver_cannot_be_enrolled(session):
    version = make_path()
    person = make_person(active=False)
    with pytest.raises(DomainError, match="Only active people"):
        enrolling.enrol_person(
            session,
            person_id=person.id,
            path_id=version.path_id,
            due_on=DUE,
            actor_id=None,
            today=TODAY,
        )


# --- prerequisites ------------------------------------------------------------------------------


def practitioner_path(session):
    """Foundation (FND) and Practitioner (PRC), which needs FND completed or a P3O-F
    certificate, and separately a completed GOVZ path."""
    foundation = make_path(code="FND", title="P3O Foundation preparation")
    governance = make_path(code="GOVZ", title="Governance essentials")
    practitioner = make_path(code="PRC", title="P3O Practitioner preparation")
    practitioner.prerequisites.extend(
        [
            PathPrerequisite(alternative_set=0, path_code="FND"),
            PathPrerequisite(alternative_set=0, certificate_code="P3O-F"),
            PathPrerequisite(alternative_set=1, path_code="GOVZ"),
        ]
    )
    session.flush()
    return foundation, governance, practitioner


def completed(session, person, version):
    session.add(
        Enrolment(
            person_id=person.id,
            path_id=version.path_id,
            version_id=version.id,
            status=EnrolmentStatus.COMPLETED,
            source=EnrolmentSource.SELF,
            completed_at=datetime.now(UTC),
        )
    )
    session.flush()


def certificate(session, person, code="P3O-F", *, status=ExternalStatus.VERIFIED, expires=None):
    session.add(
        ExternalCertificate(
            person_id=person.id,
            certificate_code=code,
            issued_on=TODAY - timedelta(days=400),
            expires_on=expires,
            status=status,
        )
    )
    session.flush()


def test_missing_prerequisites_are_named(session):
    _, _, practitioner = practitioner_path(session)
    person = make_person("Cy", "Clarke")
    with pytest.raises(DomainError) as caught:
        enrolling.enrol_person(
            session, person_id=person.id, path_id=practitioner.path_id, due_on=DUE, actor_id=None,
            today=TODAY,
        )  # fmt: skip
    assert caught.value.message == (
        "Cy Clarke cannot be enrolled on P3O Practitioner preparation yet: the path needs "
        "P3O Foundation preparation completed, or a verified P3O-F certificate; needs "
        "Governance essentials completed."
    )
    assert enrolments(session, practitioner.path_id) == {}


def test_a_verified_unexpired_certificate_meets_a_prerequisite(session):
    _, governance, practitioner = practitioner_path(session)
    person = make_person()
    completed(session, person, governance)
    certificate(session, person, status=ExternalStatus.PENDING)
    certificate(session, person, expires=TODAY - timedelta(days=1))
    assert enrolling.missing_prerequisites(session, practitioner, person.id, TODAY) == [
        "needs P3O Foundation preparation completed, or a verified P3O-F certificate"
    ]
    certificate(session, person, expires=TODAY + timedelta(days=30))
    assert enrolling.missing_prerequisites(session, practitioner, person.id, TODAY) == []
    enrolling.enrol_person(
        session, person_id=person.id, path_id=practitioner.path_id, due_on=DUE, actor_id=None,
        today=TODAY,
    )  # fmt: skip
    assert person.id in enrolments(session, practitioner.path_id)


def test_bulk_enrolment_skips_those_lacking_a_prerequisite_and_says_what_they_need(session):
    foundation, governance, practitioner = practitioner_path(session)
    unit = make_unit("PMO")
    ready = make_person("Ready", unit=unit)
    completed(session, ready, foundation)
    completed(session, ready, governance)
    make_person("Notready", unit=unit)
    counts = enrol_many(session, practitioner, enrolling.unit_people(unit.id))
    assert (counts.enrolled, counts.missing_prerequisites) == (1, 1)
    assert set(enrolments(session, practitioner.path_id)) == {ready.id}
    assert counts.sentences()[1] == (
        "1 person skipped: the path needs P3O Foundation preparation completed, or a "
        "verified P3O-F certificate; needs Governance essentials completed."
    )


# --- several people, a unit, a role -------------------------------------------------------------


def test_enrolling_an_org_units_subtree_skips_those_already_enrolled_and_leavers(session):
    version = make_path(title="Planning")
    top = make_unit("Delivery")
    child = make_unit("Delivery North", parent=top)
    grandchild = make_unit("North East", parent=child)
    other = make_unit("Finance")
    inside = [make_person(unit=u) for u in (top, child, grandchild, grandchild)]
    make_person("Leaver", unit=child, active=False)
    outsider = make_person(unit=other)
    enrolling.enrol_person(
        session,
        person_id=inside[0].id,
        path_id=version.path_id,
        due_on=DUE,
        actor_id=None,
        today=TODAY,
    )
    counts = enrol_many(session, version, enrolling.unit_people(top.id))
    session.commit()
    assert (counts.enrolled, counts.already_enrolled, counts.out_of_reach) == (3, 1, 1)
    assert counts.sentences() == [
        "3 people enrolled on Planning.",
        "1 person skipped: already enrolled on this path.",
        "1 person skipped: not active or not among the people you may enrol.",
    ]
    stored = enrolments(session, version.path_id)
    assert set(stored) == {p.id for p in inside}
    assert outsider.id not in stored
    assert all(stored[p.id].due_on == DUE for p in inside[1:])


def test_enrolling_a_roles_holders_takes_only_current_live_holders(session):
    version = make_path()
    role = make_role("R9", "PMO Analyst")
    holder = make_person("Holder")
    assign(holder, role, start=TODAY - timedelta(days=30))
    ended = make_person("Ended")
    assign(ended, role, start=TODAY - timedelta(days=300), end=TODAY - timedelta(days=1))
    target = make_person("Target")
    assign(target, role, kind=AssignmentKind.TARGET)
    future = make_person("Future")
    assign(future, role, start=TODAY + timedelta(days=10))
    counts = enrol_many(session, version, enrolling.role_holders(role.id, TODAY))
    assert counts.enrolled == 1
    assert set(enrolments(session, version.path_id)) == {holder.id}


def test_several_listed_people_are_enrolled(session):
    version = make_path()
    people = [make_person() for _ in range(3)]
    counts = enrol_many(session, version, enrolling.listed_people([p.id for p in people]))
    assert counts.enrolled == 3
    assert set(enrolments(session, version.path_id)) == {p.id for p in people}


def test_a_choice_that_matches_nobody_is_refused(session):
    version = make_path()
    empty = make_unit("Empty")
    with pytest.raises(DomainError, match="Nobody matches"):
        enrol_many(session, version, enrolling.unit_people(empty.id))


def test_a_manager_enrols_only_the_people_they_may_see(session):
    version = make_path()
    top = make_unit("Group")
    mine = make_unit("Delivery", parent=top)
    theirs = make_unit("Finance", parent=top)
    boss = make_person("Boss", unit=mine)
    mine.head_id = boss.id
    manager = make_user(Permission.MANAGER, person=boss)
    team = [make_person(unit=mine) for _ in range(2)]
    strangers = [make_person(unit=theirs) for _ in range(3)]
    session.flush()
    counts = enrol_many(
        session, version, enrolling.unit_people(top.id), scope=visible_people(manager)
    )
    assert (counts.enrolled, counts.out_of_reach) == (3, 3)  # the boss and two of theirs
    stored = enrolments(session, version.path_id)
    assert set(stored) == {boss.id, *(p.id for p in team)}
    assert not set(stored) & {p.id for p in strangers}


def test_bulk_enrolment_of_500_people_runs_a_bounded_number_of_statements(session, count_queries):
    version = make_path(title="Foundations")
    unit = make_unit("Big unit")
    session.execute(
        Person.__table__.insert(),
        [
            {
                "employee_number": f"B{i:05d}",
                "first_name": "Bulk",
                "last_name": f"Person{i}",
                "org_unit_id": unit.id,
                "active": True,
                "created_at": datetime.now(UTC),
                "updated_at": datetime.now(UTC),
            }
            for i in range(500)
        ],
    )
    session.commit()
    with count_queries() as counter:
        counts = enrol_many(session, version, enrolling.unit_people(unit.id))
    assert counts.enrolled == 500
    assert counter.count <= 8, counter.statements
    assert session.scalar(select(func.count(Enrolment.id))) == 500
    # the same again: everybody skipped, nothing written
    with count_queries() as counter:
        again = enrol_many(session, version, enrolling.unit_people(unit.id))
    assert (again.enrolled, again.already_enrolled) == (0, 500)
    assert counter.count <= 8


# --- self-enrolment and withdrawal ---------------------------------------------------------


def test_a_learner_enrols_themselves_on_an_open_path(session):
    version = make_path(title="Open path")
    person = make_person()
    user = make_user(person=person)
    enrolment = enrolling.enrol_self(
        session, person_id=person.id, path_id=version.path_id, actor_id=user.id, today=TODAY
    )
    assert (enrolment.source, enrolment.due_on) == (EnrolmentSource.SELF, None)
    with pytest.raises(DomainError, match="already enrolled on Open path"):
        enrolling.enrol_self(
            session, person_id=person.id, path_id=version.path_id, actor_id=user.id, today=TODAY
        )


def test_a_closed_path_refuses_self_enrolment(session):
    version = make_path(open_enrolment=False)
    person = make_person()
    with pytest.raises(DomainError, match="not open for enrolment"):
        enrolling.enrol_self(
            session, person_id=person.id, path_id=version.path_id, actor_id=None, today=TODAY
        )
    assert enrolments(session, version.path_id) == {}


def test_self_enrolment_enforces_prerequisites(session):
    _, _, practitioner = practitioner_path(session)
    person = make_person()
    with pytest.raises(DomainError) as caught:
        enrolling.enrol_self(
            session, person_id=person.id, path_id=practitioner.path_id, actor_id=None, today=TODAY
        )
    assert caught.value.message.startswith(
        "You cannot enrol on P3O Practitioner preparation yet: it needs P3O Foundation "
        "preparation completed, or a verified P3O-F certificate"
    )


def test_withdrawing_keeps_the_record_and_only_a_hand_enrolment_reinstates(session):
    version = make_path(title="Risk")
    person = make_person()
    enrolment = enrolling.enrol_person(
        session,
        person_id=person.id,
        path_id=version.path_id,
        due_on=DUE,
        actor_id=None,
        today=TODAY,
    )
    enrolling.withdraw(session, enrolment=enrolment, actor_id=None)
    assert enrolment.status == EnrolmentStatus.WITHDRAWN and enrolment.withdrawn_at
    with pytest.raises(DomainError, match="already withdrawn"):
        enrolling.withdraw(session, enrolment=enrolment, actor_id=None)
    with pytest.raises(DomainError, match="You were withdrawn from Risk"):
        enrolling.enrol_self(
            session, person_id=person.id, path_id=version.path_id, actor_id=None, today=TODAY
        )
    counts = enrol_many(session, version, enrolling.listed_people([person.id]))
    assert (counts.enrolled, counts.already_enrolled) == (0, 1)
    again = enrolling.enrol_person(
        session,
        person_id=person.id,
        path_id=version.path_id,
        due_on=DUE,
        actor_id=None,
        today=TODAY,
    )
    assert again.id == enrolment.id and again.status == EnrolmentStatus.ACTIVE
    assert len(enrolments(session, version.path_id)) == 1


def test_a_completed_enrolment_cannot_be_withdrawn(session):
    version = make_path()
    person = make_person()
    completed(session, person, version)
    enrolment = enrolments(session, version.path_id)[person.id]
    with pytest.raises(DomainError, match="completed path cannot be withdrawn"):
        enrolling.withdraw(session, enrolment=enrolment, actor_id=None)
