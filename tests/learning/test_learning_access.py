"""Whose learning records a signed-in user may reach, object by object: enrolments and
their lesson pages, certificates of completion, external certificates and their uploaded
copies, a person's learning page, a session's calendar invitation; and what the public
verification page shows. tests/test_permissions.py checks the route rules; this file checks
the records behind them.

A refusal never says whose record it was: the other person's name is not on the page, and
a hidden record is answered exactly like one that does not exist (403 for enrolments and
people, 404 for certificates, their copies and invitations), so ids cannot be probed.

The organisation (Mo heads Delivery; Finance is outside his reach):

    Enterprise
    ├── Delivery  (head: Mo)   Mo Manager, Uma Unitmember
    │   └── Delivery North     Cara Childunit
    └── Finance                Otto Outsider
    Tia Trainer and Ada Admin sit in no unit.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import current_app

from app.accounts.models import Permission, User
from app.extensions import db
from app.learning import external
from app.learning.certificates import issue_certificate
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionCertificate,
    Enrolment,
    EnrolmentStatus,
    ExternalCertificate,
    ModuleCompletion,
    ModuleType,
)
from app.org.models import Person
from tests.factories import make_person, make_unit, make_user
from tests.learning.certificate_helpers import M, csrf_for, enrol, make_path, tiny_pdf
from tests.pages import normalised

NO_SUCH_ID = 987654
E_LEARNING, CLASSROOM, ON_THE_JOB, ASSESSMENT = "ACC-01", "ACC-02", "ACC-03", "ACC-04"


@dataclass
class Records:
    """One person's learning: an enrolment on the path (nothing done), a certificate of
    completion of another path, an external certificate with its copy, and a place on a
    session of their own."""

    person: Person
    enrolment: Enrolment
    certificate: CompletionCertificate
    record: ExternalCertificate
    session: ClassSession


@dataclass
class World:
    mo: User
    uma: User
    cara: User
    otto: User
    tia: User
    ada: User
    unit_names: dict[str, str]
    records: dict[str, Records]

    def of(self, name: str) -> Records:
        return self.records[name]


def _records(person: Person, path, done, when: datetime) -> Records:
    sitting = ClassSession(
        path_id=path.path_id,
        module_code=CLASSROOM,
        starts_at=when,
        ends_at=when + timedelta(hours=2),
        location="Harbour House, room 3",
        capacity=10,
    )
    db.session.add(sitting)
    db.session.flush()
    db.session.add(Booking(session_id=sitting.id, person_id=person.id, status=BookingStatus.BOOKED))
    record = external.record_external_certificate(
        db.session(),
        person_id=person.id,
        certificate=external.OTHER,
        other_name="Practitioner in Portfolio Offices",
        number=f"PPO-{person.id}",
        issued_on=date.today() - timedelta(days=90),
        file=io.BytesIO(tiny_pdf()),
        file_name=f"{person.last_name}-certificate.pdf",
        folder=current_app.config["UPLOAD_FOLDER"],
        today=date.today(),
    )
    return Records(
        person=person,
        enrolment=enrol(person, path),
        certificate=issue_certificate(db.session(), enrol(person, done, complete=True)),
        record=record,
        session=sitting,
    )


@pytest.fixture
def world(app, session) -> World:
    enterprise = make_unit("Enterprise")
    delivery = make_unit("Delivery Office", parent=enterprise)
    north = make_unit("Delivery North", parent=delivery)
    finance = make_unit("Finance", parent=enterprise)
    mo = make_person("Mo", "Manager", unit=delivery)
    delivery.head_id = mo.id
    people = {
        "uma": make_person("Uma", "Unitmember", unit=delivery),
        "cara": make_person("Cara", "Childunit", unit=north),
        "otto": make_person("Otto", "Outsider", unit=finance),
    }
    path = make_path(
        M(title="Reading the register"),
        M(type=ModuleType.CLASSROOM, title="Register clinic"),
        M(type=ModuleType.ON_THE_JOB, title="Run the weekly review"),
        M(type=ModuleType.ASSESSMENT, title="Register assessment"),
        code="ACC",
        title="Registers in practice",
    )
    done = make_path(code="ACD", title="Portfolio basics")
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=10)
    records = {
        name: _records(person, path, done, soon + timedelta(days=i))
        for i, (name, person) in enumerate(people.items())
    }
    built = World(
        mo=make_user(Permission.MANAGER, person=mo),
        uma=make_user(Permission.LEARNER, person=people["uma"]),
        cara=make_user(Permission.LEARNER, person=people["cara"]),
        otto=make_user(Permission.LEARNER, person=people["otto"]),
        tia=make_user(Permission.TRAINER, person=make_person("Tia", "Trainer")),
        ada=make_user(Permission.ADMIN, person=make_person("Ada", "Admin")),
        unit_names={"uma": delivery.name, "cara": north.name, "otto": finance.name},
        records=records,
    )
    session.commit()
    return built


# --- helpers ------------------------------------------------------------------------------------


def pages_of(rec: Records) -> dict[str, str]:
    """The pages about one person's learning, by what they show."""
    enrolment_id = rec.enrolment.id
    return {
        "enrolment": f"/learning/enrolments/{enrolment_id}",
        "lesson": f"/learning/enrolments/{enrolment_id}/modules/{E_LEARNING}",
        "certificate": f"/learning/certificates/{rec.certificate.id}",
        "record": f"/learning/external/{rec.record.id}",
        "file": f"/learning/external/{rec.record.id}/file",
        "person learning": f"/people/{rec.person.id}/learning",
        "person certificates": f"/learning/people/{rec.person.id}/certificates",
        "calendar": f"/learning/sessions/{rec.session.id}/calendar.ics",
    }


def missing_pages() -> dict[str, str]:
    """The same pages for records that do not exist."""
    return {
        "enrolment": f"/learning/enrolments/{NO_SUCH_ID}",
        "lesson": f"/learning/enrolments/{NO_SUCH_ID}/modules/{E_LEARNING}",
        "certificate": f"/learning/certificates/{NO_SUCH_ID}",
        "record": f"/learning/external/{NO_SUCH_ID}",
        "file": f"/learning/external/{NO_SUCH_ID}/file",
        "person learning": f"/people/{NO_SUCH_ID}/learning",
        "person certificates": f"/learning/people/{NO_SUCH_ID}/certificates",
        "calendar": f"/learning/sessions/{NO_SUCH_ID}/calendar.ics",
    }


#: How the app refuses each page to a learner, whether the record is someone else's or
#: does not exist: the enrolment pages check the learner (403), the person pages are for
#: managers and trainers only (403), certificates, copies and invitations answer 404.
LEARNER_REFUSAL = {
    "enrolment": 403,
    "lesson": 403,
    "certificate": 404,
    "record": 404,
    "file": 404,
    "person learning": 403,
    "person certificates": 403,
    "calendar": 404,
}

#: How the app refuses a manager the pages of someone outside their reach.
MANAGER_REFUSAL = {
    "enrolment": 403,
    "lesson": 403,
    "certificate": 404,
    "record": 404,
    "file": 404,
    "person learning": 403,
    "person certificates": 404,
}


def fetch(client, url: str):
    """GET ``url``, its body read and the response closed (a download holds its file open
    until then)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def assert_no_leak(response, person: Person):
    body = response.get_data(as_text=True)
    assert person.last_name not in body
    assert person.first_name not in body
    assert person.email not in body
    assert person.employee_number not in body
    assert b"%PDF" not in response.get_data()
    assert "BEGIN:VCALENDAR" not in body


def assert_refused(client, url: str, status: int, person: Person):
    response = fetch(client, url)
    assert response.status_code == status, f"{url}: {response.status_code}"
    assert_no_leak(response, person)
    return response


def assert_shown(client, what: str, url: str, person: Person):
    response = fetch(client, url)
    assert response.status_code == 200, f"{what} {url}: {response.status_code}"
    if what == "file":
        assert response.get_data() == tiny_pdf()
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    elif what == "calendar":
        assert response.mimetype == "text/calendar"
    elif what == "lesson":
        assert "Reading the register" in response.text
    else:
        assert person.full_name in response.text, what


def post(client, url: str, data: dict | None = None):
    return client.post(url, data={"csrf_token": csrf_for(client, "/learning"), **(data or {})})


# --- a learner --------------------------------------------------------------------------------


def test_a_learner_reaches_their_own_learning(client, login, world):
    login(world.uma)
    rec = world.of("uma")
    pages = pages_of(rec)
    for what in ("enrolment", "lesson", "certificate", "record", "file", "calendar"):
        assert_shown(client, what, pages[what], rec.person)


@pytest.mark.parametrize("whom", ["cara", "otto"])
@pytest.mark.parametrize("what", sorted(LEARNER_REFUSAL))
def test_a_learner_never_reaches_anyone_elses_learning(client, login, world, whom, what):
    login(world.uma)
    rec = world.of(whom)
    assert_refused(client, pages_of(rec)[what], LEARNER_REFUSAL[what], rec.person)


@pytest.mark.parametrize("what", sorted(LEARNER_REFUSAL))
def test_a_learner_cannot_tell_someone_elses_record_from_a_missing_one(client, login, world, what):
    login(world.uma)
    hidden = client.get(pages_of(world.of("otto"))[what])
    missing = client.get(missing_pages()[what])
    assert hidden.status_code == missing.status_code == LEARNER_REFUSAL[what]
    assert normalised(hidden.text) == normalised(missing.text)


def test_a_learners_session_page_names_nobody_else(client, login, world):
    """Any signed-in user may open a session's page; only trainers see who is booked."""
    otto = world.of("otto")
    db.session.add(
        Booking(
            session_id=otto.session.id,
            person_id=world.uma.person_id,
            status=BookingStatus.WAITLISTED,
        )
    )
    db.session.commit()
    login(world.uma)
    page = client.get(f"/learning/sessions/{otto.session.id}")
    assert page.status_code == 200
    assert_no_leak(page, otto.person)


# --- a learner's POSTs on someone else's enrolment ----------------------------------------------


def progress_of(enrolment: Enrolment) -> tuple:
    db.session.expire_all()
    fresh = db.session.get(Enrolment, enrolment.id)
    done = db.session.query(ModuleCompletion).filter_by(enrolment_id=enrolment.id).count()
    return fresh.status, fresh.withdrawn_at, done


@pytest.mark.parametrize(
    ("action", "data"),
    [
        (f"modules/{E_LEARNING}/complete", {"reflection": "Not mine to mark."}),
        (f"modules/{ON_THE_JOB}/sign-off", {"comment": "I saw nothing."}),
        (f"modules/{ASSESSMENT}/result", {"passed_on": date.today().isoformat()}),
        ("withdraw", {"confirmed": "1"}),
    ],
)
@pytest.mark.parametrize("whom", ["cara", "otto"])
def test_a_learner_cannot_act_on_someone_elses_enrolment(client, login, world, whom, action, data):
    rec = world.of(whom)
    before = progress_of(rec.enrolment)
    assert before == (EnrolmentStatus.ACTIVE, None, 0)
    login(world.uma)
    response = post(client, f"/learning/enrolments/{rec.enrolment.id}/{action}", data)
    assert response.status_code == 403
    assert_no_leak(response, rec.person)
    assert progress_of(rec.enrolment) == before


def test_a_learner_cannot_mark_a_module_of_a_missing_enrolment_either(client, login, world):
    login(world.uma)
    url = f"/learning/enrolments/{NO_SUCH_ID}/modules/{E_LEARNING}/complete"
    assert post(client, url).status_code == 403


def test_only_the_learner_marks_their_modules_complete(client, login, world):
    """Not even their manager or a trainer marks a learner's module complete for them."""
    rec = world.of("uma")
    url = f"/learning/enrolments/{rec.enrolment.id}/modules/{E_LEARNING}/complete"
    for user in (world.mo, world.tia):
        login(user)
        assert post(client, url).status_code == 403
    assert progress_of(rec.enrolment) == (EnrolmentStatus.ACTIVE, None, 0)
    login(world.uma)
    assert post(client, url).status_code == 302
    assert progress_of(rec.enrolment)[2] == 1


# --- a manager ----------------------------------------------------------------------------------


@pytest.mark.parametrize("whom", ["uma", "cara"])
def test_a_manager_sees_their_peoples_learning(client, login, world, whom):
    """Their unit, and the units below it."""
    login(world.mo)
    rec = world.of(whom)
    for what, url in pages_of(rec).items():
        if what != "calendar":  # the invitation is for those with a place
            assert_shown(client, what, url, rec.person)


@pytest.mark.parametrize("what", sorted(MANAGER_REFUSAL))
def test_a_manager_is_refused_learning_outside_their_reach(client, login, world, what):
    login(world.mo)
    otto = world.of("otto")
    hidden = assert_refused(client, pages_of(otto)[what], MANAGER_REFUSAL[what], otto.person)
    missing = client.get(missing_pages()[what])
    assert missing.status_code == hidden.status_code
    assert normalised(hidden.text) == normalised(missing.text)


def test_a_manager_gets_no_invitation_to_a_session_they_have_no_place_on(client, login, world):
    login(world.mo)
    uma = world.of("uma")
    assert_refused(client, pages_of(uma)["calendar"], 404, uma.person)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        (f"modules/{ON_THE_JOB}/sign-off", {"comment": "I saw nothing."}),
        ("withdraw", {"confirmed": "1"}),
    ],
)
def test_a_manager_cannot_act_on_enrolments_outside_their_reach(client, login, world, action, data):
    otto = world.of("otto")
    login(world.mo)
    response = post(client, f"/learning/enrolments/{otto.enrolment.id}/{action}", data)
    assert response.status_code == 403
    assert_no_leak(response, otto.person)
    assert progress_of(otto.enrolment) == (EnrolmentStatus.ACTIVE, None, 0)


def test_a_managers_team_learning_lists_only_their_people(client, login, world):
    login(world.mo)
    page = client.get("/learning/team?status=all")
    assert page.status_code == 200
    assert "Unitmember" in page.text and "Childunit" in page.text
    assert "Outsider" not in page.text


# --- trainers and administrators ----------------------------------------------------------------


@pytest.mark.parametrize("whom", ["uma", "cara", "otto"])
def test_a_trainer_sees_everyones_learning(client, login, world, whom):
    login(world.tia)
    rec = world.of(whom)
    for what, url in pages_of(rec).items():
        assert_shown(client, what, url, rec.person)


def test_a_trainer_gets_an_honest_404_for_missing_records(client, login, world):
    login(world.tia)
    for what, url in missing_pages().items():
        assert client.get(url).status_code == 404, what


def test_an_administrator_as_such_does_not_open_others_certificates_or_copies(client, login, world):
    """Certificates and their copies are personal: the administrator's permission does not
    reach them (see app.learning.views.certificates)."""
    login(world.ada)
    otto = world.of("otto")
    pages = pages_of(otto)
    for what in ("certificate", "record", "file"):
        assert_refused(client, pages[what], 404, otto.person)


# --- the public verification page ---------------------------------------------------------------


@pytest.mark.parametrize("whom", ["uma", "otto"])
def test_the_verification_page_states_the_certificate_and_nothing_personal(client, world, whom):
    rec = world.of(whom)
    page = client.get(f"/verify/{rec.certificate.code}")
    assert page.status_code == 200
    assert "Valid certificate" in page.text
    assert rec.person.full_name in page.text and "Portfolio basics" in page.text
    assert rec.person.email not in page.text
    assert rec.person.employee_number not in page.text
    assert world.unit_names[whom] not in page.text
    assert "Practitioner in Portfolio Offices" not in page.text  # no other record of theirs


@pytest.mark.parametrize(
    "code",
    [
        "Zq3xY7uVbN1kP0sW9dE4rA",  # well formed (as token_urlsafe makes them), never issued
        "short",
        "not a code at all",
        "../../etc/passwd",
        "a" * 41,
        "AAAAAAAAAAAAAAAAAAAAAA/extra",
        "%00%2e%2e",
    ],
)
def test_unknown_and_malformed_codes_get_the_same_404(client, world, code):
    reference = client.get(f"/verify/{secrets.token_urlsafe(16)}")
    assert reference.status_code == 404
    page = client.get(f"/verify/{code}")
    assert page.status_code == 404
    assert normalised(page.text) == normalised(reference.text)
    assert "No certificate with this code" in page.text
    for rec in world.records.values():
        assert rec.person.last_name not in page.text
