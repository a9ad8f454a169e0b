"""The organisation's piece: the person record and their role assignments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.org.models import Office, OrgUnit, Person, Role, RoleAssignment
from app.org.services import set_person_active
from app.privacy.registry import Provider, Pseudonym, Rows, Subject, row


def export(session: Session, subject: Subject, _now: datetime) -> dict[str, Rows]:
    manager = aliased(Person)
    found = session.execute(
        select(Person, OrgUnit.name, manager.first_name, manager.last_name)
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .outerjoin(manager, manager.id == Person.line_manager_id)
        .where(Person.id == subject.person_id)
    ).one()
    person, unit, manager_first, manager_last = found
    record = row(
        employee_number=person.employee_number,
        first_name=person.first_name,
        last_name=person.last_name,
        email=person.email,
        job_title=person.job_title,
        org_unit=unit,
        line_manager=f"{manager_first} {manager_last}" if manager_first else None,
        active=person.active,
        leaving_date=person.leaving_date,
        anonymised_at=person.anonymised_at,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )
    assignments = session.execute(
        select(RoleAssignment, Role.code, Role.name, Office.name)
        .join(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(Office, Office.id == RoleAssignment.office_id)
        .where(RoleAssignment.person_id == subject.person_id)
        .order_by(RoleAssignment.start_date, RoleAssignment.id)
    ).all()
    return {
        "person": [record],
        "role_assignments": [
            row(
                role_code=code,
                role=name,
                kind=a.kind,
                office=office,
                start_date=a.start_date,
                end_date=a.end_date,
                source=a.source,
            )
            for a, code, name, office in assignments
        ],
    }


def erase(session: Session, subject: Subject, pseudonym: Pseudonym) -> dict[str, int]:
    """Names, email, employee number and job title become the pseudonym (or nothing); the
    org unit, line manager, dates and role assignments stay, so that every figure keeps
    counting the person where it did. A leaver still marked active is deactivated, which
    closes their account (and refuses for the last active administrator)."""
    person = session.get_one(Person, subject.person_id)
    before = (
        person.first_name,
        person.last_name,
        person.email,
        person.employee_number,
        person.job_title,
    )
    person.first_name = Pseudonym.FIRST_NAME
    person.last_name = pseudonym.last_name
    person.email = None
    person.employee_number = pseudonym.employee_number
    person.job_title = None
    changed = before != (
        person.first_name,
        person.last_name,
        person.email,
        person.employee_number,
        person.job_title,
    )
    if person.active:
        set_person_active(session, person, False)
        changed = True
    return {"person record": int(changed)}


PROVIDER = Provider(
    name="org",
    owned={"people": "id", "role_assignments": "person_id"},
    actions={
        ("people", "line_manager_id"): "people whose line manager you are",
        ("org_units", "head_id"): "org units you head",
    },
    kinds={
        "person": "Your record: name, employee number, email, job title, org unit, line "
        "manager, status and leaving date",
        "role_assignments": "The roles you hold, held or aim for, with their dates",
    },
    export=export,
    erase=erase,
    erasure_text="Name, email, employee number and job title are replaced by the pseudonym; "
    "org unit, line manager, dates and role assignments stay, so that figures keep "
    "counting the person.",
)
