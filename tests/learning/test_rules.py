"""Enrolment rules: holders of a role are enrolled on a path, due N days after they take the
role — when a current role is assigned by hand (org services) or by a staff import (one
signal for the batch), and once only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import Permission
from app.extensions import db
from app.learning import enrolment as enrolling
from app.learning.models import (
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    PathStatus,
)
from app.org import services as org_services
from app.org.models import AssignmentKind
from app.signals import roles_assigned
from tests.factories import assign, make_person, make_role, make_unit, make_user
from tests.learning.factories import make_path

TODAY = date.today()


def rule(version, role, due_days=90, active=True) -> EnrolmentRule:
    made = EnrolmentRule(path_id=version.path_id, role_id=role.id, due_days=due_days, active=active)
    db.session.add(made)
    db.session.flush()
    return made


def enrolments_of(person) -> list[Enrolment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Enrolment).where(Enrolment.person_id == person.id)))


def give(person, role, *, kind=AssignmentKind.CURRENT, start=TODAY, end=None):
    return org_services.save_assignment(
        db.session,
        person,
        org_services.AssignmentData(role_id=role.id, kind=kind, start_date=start, end_date=end),
    )


def test_assigning_a_current_role_by_hand_enrols_by_the_rule(session):
    version = make_path(title="PMO Analyst path")
    role = make_role("R03", "PMO Analyst")
    made = rule(version, role, due_days=90)
    person = make_person()
    start = TODAY - timedelta(days=10)
    give(person, role, start=start)
    session.commit()
    (enrolment,) = enrolments_of(person)
    assert enrolment.path_id == version.path_id and enrolment.version_id == version.id
    assert (enrolment.source, enrolment.rule_id, enrolment.status) == (
        EnrolmentSource.RULE,
        made.id,
        EnrolmentStatus.ACTIVE,
    )
    assert enrolment.due_on == start + timedelta(days=90)


def test_a_target_role_or_an_ended_assignment_enrols_nobody(session):
    version = make_path()
    role = make_role()
    rule(version, role)
    aiming = make_person()
    give(aiming, role, kind=AssignmentKind.TARGET)
    former = make_person()
    give(former, role, start=TODAY - timedelta(days=400), end=TODAY - timedelta(days=30))
    assert enrolments_of(aiming) == [] and enrolments_of(former) == []


def test_rules_apply_once_only_even_after_a_withdrawal(session):
    version = make_path()
    role, other_role = make_role(), make_role()
    rule(version, role)
    rule(version, other_role)
    person = make_person()
    give(person, role, end=TODAY + timedelta(days=30))
    (enrolment,) = enrolments_of(person)
    enrolling.withdraw(session, enrolment=enrolment, actor_id=None)
    give(person, other_role)  # another role with a rule for the same path
    give(person, role, start=TODAY + timedelta(days=400))  # the role again, later
    (again,) = enrolments_of(person)
    assert again.id == enrolment.id and again.status == EnrolmentStatus.WITHDRAWN


def test_an_inactive_rule_a_leaver_or_an_unpublished_path_enrol_nobody(session):
    role = make_role()
    rule(make_path(), role, active=False)
    rule(make_path(status=PathStatus.DRAFT), role)
    person = make_person()
    give(person, role)
    leaver = make_person(active=False)
    give(leaver, role)
    assert enrolments_of(person) == [] and enrolments_of(leaver) == []


def test_one_role_with_rules_on_two_paths_enrols_on_both(session):
    first, second = make_path(), make_path()
    role = make_role()
    rule(first, role, due_days=30)
    rule(second, role, due_days=120)
    person = make_person()
    give(person, role)
    found = {e.path_id: e.due_on for e in enrolments_of(person)}
    assert found == {
        first.path_id: TODAY + timedelta(days=30),
        second.path_id: TODAY + timedelta(days=120),
    }


@pytest.fixture
def import_cli(app, tmp_path):
    runner = app.test_cli_runner()

    def run(text: str):
        path = tmp_path / "staff.csv"
        path.write_text(text, encoding="utf-8")
        return runner.invoke(args=["import", "people", str(path)])

    return run


def test_a_staff_import_enrols_the_new_holders_with_one_signal(session, import_cli):
    make_user(Permission.ADMIN, person=make_person("Ida", "Admin", number="ADM1"))
    make_unit("Delivery", code="DEL")
    role = make_role(code="PMOA", name="PMO Analyst")
    version = make_path(title="Analyst path")
    rule(version, role, due_days=60)
    session.commit()
    batches: list[list[int]] = []
    before = date.today()

    def spy(_session, *, assignment_ids):
        batches.append(list(assignment_ids))

    roles_assigned.connect(spy)
    try:
        result = import_cli(
            "Employee Number,First Name,Last Name,Email,Department,Job Title,Manager ID\n"
            "N1,Nora,North,nora@example.com,Delivery,PMO Analyst,\n"
            "N2,Olu,Ogun,olu@example.com,Delivery,PMO Analyst,N1\n"
            "N3,Pia,Park,pia@example.com,Delivery,Gardener,N1\n"
        )
    finally:
        roles_assigned.disconnect(spy)
    assert result.exit_code == 0, result.output
    assert len(batches) == 1 and len(batches[0]) == 2
    db.session.expire_all()
    stored = db.session.execute(
        select(Enrolment.person_id, Enrolment.source, Enrolment.due_on).where(
            Enrolment.path_id == version.path_id
        )
    ).all()
    assert len(stored) == 2
    # The import dates the enrolments by its own clock, read during this test (a module-level
    # date would be yesterday's in a run that crosses midnight).
    assert {(source, due) for _, source, due in stored} <= {
        (EnrolmentSource.RULE, today + timedelta(days=60)) for today in (before, date.today())
    }


def test_rules_apply_set_based_to_a_large_batch(session, count_queries):
    version = make_path()
    role = make_role()
    rule(version, role)
    people = [make_person() for _ in range(40)]
    ids = [give_quietly(p, role) for p in people]
    session.commit()
    with count_queries() as counter:
        enrolled = enrolling.enrol_by_rules(session, ids, TODAY)
    assert enrolled == 40
    assert counter.count <= 3


def give_quietly(person, role) -> int:
    """A current assignment written straight to the table (no signal), as an import does."""
    return assign(person, role, start=TODAY).id
