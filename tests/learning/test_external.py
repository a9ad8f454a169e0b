"""External certificates and CPD: recording them (the rules on dates, names and the
catalogue), a trainer's verification (evidence at the catalogue's levels, expiring on the
record's date) or rejection (with a reason), and the learner's and trainer's pages."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.capability import profile
from app.capability.models import Evidence
from app.errors import DomainError
from app.extensions import db
from app.framework.models import Certificate, Source
from app.learning import external
from app.learning.models import CpdRecord, ExternalCertificate, ExternalStatus
from tests.factories import make_person, make_user
from tests.learning.certificate_helpers import csrf_for, load_shipped, tiny_png

TODAY = date(2026, 3, 16)


@pytest.fixture
def framework(session):
    return load_shipped(session)


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "uploads"


def record(session, person, folder, **overrides):
    values = {
        "person_id": person.id,
        "certificate": "P3O-F",
        "number": "GR656123456",
        "issued_on": date(2025, 6, 1),
        "expires_on": date(2028, 6, 1),
        "folder": folder,
        "today": TODAY,
    }
    values.update(overrides)
    return external.record_external_certificate(session, **values)


def entry(session, framework, code: str) -> Certificate:
    return session.scalar(
        select(Certificate).where(Certificate.version_id == framework.id, Certificate.code == code)
    )


# --- recording --------------------------------------------------------------------------------


def test_a_catalogue_certificate_is_recorded_and_waits_for_verification(session, framework, folder):
    person = make_person()
    rec = record(session, person, folder)
    assert rec.status == ExternalStatus.PENDING
    assert (rec.certificate_code, rec.other_name, rec.number) == ("P3O-F", None, "GR656123456")
    assert rec.file_name is None and rec.evidence_id is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"certificate": ""}, "certificate", "Choose the certificate"),
        ({"certificate": "NOT-A-CERT"}, "certificate", "Choose a certificate from the list"),
        ({"certificate": "other", "other_name": " "}, "other_name", "name as it is printed"),
        ({"issued_on": None}, "issued_on", "Give the date the certificate was issued"),
        ({"issued_on": TODAY + timedelta(days=1)}, "issued_on", "cannot be in the future"),
        ({"issued_on": date(1850, 1, 1)}, "issued_on", "between 1900 and 2100"),
        ({"expires_on": date(2025, 6, 1)}, "expires_on", "after the date of issue"),
        ({"expires_on": date(2025, 1, 1)}, "expires_on", "after the date of issue"),
        ({"expires_on": date(2202, 1, 1)}, "expires_on", "between 1900 and 2100"),
        ({"number": "9" * 101}, "number", "under 100 characters"),
    ],
)
def test_bad_records_are_refused_at_their_field(
    session, framework, folder, overrides, field, message
):
    with pytest.raises(DomainError) as refused:
        record(session, make_person(), folder, **overrides)
    assert refused.value.field == field
    assert message in refused.value.message
    assert session.scalar(select(func.count()).select_from(ExternalCertificate)) == 0


def test_the_same_certificate_number_is_not_recorded_twice_unless_rejected(
    session, framework, folder
):
    person = make_person()
    first = record(session, person, folder)
    with pytest.raises(DomainError, match="already recorded") as twice:
        record(session, person, folder)
    assert twice.value.field == "number"
    first.status = ExternalStatus.REJECTED
    assert record(session, person, folder).id != first.id


def test_a_refused_record_leaves_no_file_behind(session, framework, folder):
    with pytest.raises(DomainError):
        record(
            session,
            make_person(),
            folder,
            expires_on=date(2020, 1, 1),
            file=io.BytesIO(tiny_png()),
            file_name="scan.png",
        )
    assert not folder.exists() or list(folder.iterdir()) == []


# --- verifying and rejecting ------------------------------------------------------------------


def test_verifying_a_catalogue_certificate_records_evidence_at_the_catalogues_levels(
    session, framework, folder
):
    person = make_person()
    trainer = make_user(Permission.TRAINER)
    rec = record(session, person, folder)

    outcome = external.verify_external_certificate(
        session, record_id=rec.id, actor_id=trainer.id, actor_person_id=trainer.person_id
    )

    assert rec.status == ExternalStatus.VERIFIED
    assert (rec.reviewed_by_id, rec.evidence_id) == (trainer.id, outcome.evidence.id)
    evidence = session.get(Evidence, rec.evidence_id)
    catalogue = entry(session, framework, "P3O-F")
    first = next(iter(catalogue.evidences))
    assert evidence.source == Source.EXTERNAL_CERTIFICATE
    assert evidence.certificate_code == "P3O-F"
    assert evidence.competency_code == first
    assert evidence.competency.version_id == framework.id
    assert evidence.validated is True
    assert (evidence.achieved_on, evidence.expires_on) == (date(2025, 6, 1), date(2028, 6, 1))
    # the level rule reads the one row as every competency the catalogue lists
    layers = profile.capability(session, person, TODAY).layers
    for code, level in catalogue.evidences.items():
        assert layers[code].validated == level, code


def test_verified_evidence_lapses_on_the_records_expiry_date(session, framework, folder):
    person = make_person()
    trainer = make_user(Permission.TRAINER)
    rec = record(session, person, folder, expires_on=date(2026, 5, 31))
    external.verify_external_certificate(
        session, record_id=rec.id, actor_id=trainer.id, actor_person_id=trainer.person_id
    )
    code = next(iter(entry(session, framework, "P3O-F").evidences))
    assert profile.capability(session, person, date(2026, 5, 31)).layers[code].validated > 0
    after = profile.capability(session, person, date(2026, 6, 1)).layers
    assert code not in after or after[code].validated == 0


def test_an_other_certificate_is_verified_as_a_record_and_proves_nothing(
    session, framework, folder
):
    person = make_person()
    trainer = make_user(Permission.TRAINER)
    rec = record(session, person, folder, certificate="other", other_name="ITIL 4 Foundation")
    outcome = external.verify_external_certificate(
        session, record_id=rec.id, actor_id=trainer.id, actor_person_id=trainer.person_id
    )
    assert rec.status == ExternalStatus.VERIFIED and outcome.evidence is None
    assert rec.evidence_id is None
    assert session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_rejecting_needs_a_reason_and_records_it(session, framework, folder):
    trainer = make_user(Permission.TRAINER)
    rec = record(session, make_person(), folder)
    with pytest.raises(DomainError) as no_reason:
        external.reject_external_certificate(
            session, record_id=rec.id, reason="", actor_id=trainer.id, actor_person_id=0
        )
    assert no_reason.value.field == "reason" and rec.status == ExternalStatus.PENDING
    external.reject_external_certificate(
        session,
        record_id=rec.id,
        reason="The number does not match the PeopleCert register.",
        actor_id=trainer.id,
        actor_person_id=trainer.person_id,
    )
    assert rec.status == ExternalStatus.REJECTED
    assert rec.review_reason == "The number does not match the PeopleCert register."
    with pytest.raises(DomainError, match="already rejected"):
        external.verify_external_certificate(
            session, record_id=rec.id, actor_id=trainer.id, actor_person_id=trainer.person_id
        )
    assert session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_a_trainer_does_not_verify_their_own_certificate(session, framework, folder):
    trainer = make_user(Permission.TRAINER)
    rec = record(session, trainer.person, folder)
    with pytest.raises(DomainError, match="Another training specialist"):
        external.verify_external_certificate(
            session, record_id=rec.id, actor_id=trainer.id, actor_person_id=trainer.person_id
        )
    assert rec.status == ExternalStatus.PENDING


# --- CPD --------------------------------------------------------------------------------------


def test_cpd_is_logged_in_minutes(session, framework):
    person = make_person()
    cpd = external.log_cpd(
        session,
        person_id=person.id,
        activity=" PMO community of practice ",
        done_on=date(2026, 3, 10),
        hours=Decimal("1.5"),
        today=TODAY,
    )
    assert (cpd.activity, cpd.minutes) == ("PMO community of practice", 90)
    assert external.cpd_of(session, person.id) == [cpd]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"activity": ""}, "activity"),
        ({"hours": Decimal("0")}, "hours"),
        ({"hours": Decimal("100.5")}, "hours"),
        ({"hours": "NaN"}, "hours"),
        ({"done_on": TODAY + timedelta(days=1)}, "done_on"),
        ({"done_on": None}, "done_on"),
    ],
)
def test_bad_cpd_is_refused(session, framework, overrides, field):
    values = {"activity": "Reading", "done_on": TODAY, "hours": Decimal("2")} | overrides
    with pytest.raises(DomainError) as refused:
        external.log_cpd(session, person_id=make_person().id, today=TODAY, **values)
    assert refused.value.field == field
    assert session.scalar(select(func.count()).select_from(CpdRecord)) == 0


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def people(app, session, framework):
    users = {
        "lee": make_user(Permission.LEARNER, person=make_person("Lee", "Learner")),
        "trainer": make_user(Permission.TRAINER, person=make_person("Tia", "Trainer")),
    }
    session.commit()
    return users


def test_a_learner_records_a_certificate_and_a_trainer_verifies_it(client, login, people):
    login(people["lee"])
    url = "/learning/external/new"
    form = client.get(url).text
    assert "P3O Foundation" in form and "Other (not listed)" in form
    sent = client.post(
        url,
        data={
            "csrf_token": csrf_for(client, url),
            "certificate": "P3O-F",
            "number": "GR656123456",
            "issued_on": "2025-06-01",
            "expires_on": "2028-06-01",
            "file": (io.BytesIO(tiny_png()), "p3o-foundation.png"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    mine = client.get("/learning/external").text
    assert "P3O Foundation" in mine and "Waiting for verification" in mine
    rec = db.session.scalars(select(ExternalCertificate)).one()
    assert rec.file_type == "image/png"

    login(people["trainer"])
    queue = client.get("/learning/external/review").text
    assert "Lee Learner" in queue and "P3O Foundation" in queue
    done = client.post(
        f"/learning/external/{rec.id}/verify",
        data={"csrf_token": csrf_for(client, "/learning/external/review")},
    )
    assert done.status_code == 302
    assert "Nothing to verify" in client.get("/learning/external/review").text
    assert db.session.get(ExternalCertificate, rec.id).status == ExternalStatus.VERIFIED

    login(people["lee"])
    assert "Verified" in client.get("/learning/external").text


def test_the_form_shows_bad_input_at_its_field_and_saves_nothing(client, login, people):
    login(people["lee"])
    url = "/learning/external/new"
    page = client.post(
        url,
        data={
            "csrf_token": csrf_for(client, url),
            "certificate": "other",
            "other_name": "",
            "issued_on": "2025-06-01",
            "expires_on": "2024-01-01",
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 200
    assert "Give the certificate&#39;s name as it is printed." in page.text
    assert db.session.scalar(select(func.count()).select_from(ExternalCertificate)) == 0


def test_rejecting_from_the_queue_needs_a_reason_and_the_learner_reads_it(
    client, login, people, session, tmp_path
):
    rec = record(session, people["lee"].person, tmp_path)
    session.commit()
    login(people["trainer"])
    url = f"/learning/external/{rec.id}/reject"
    token = csrf_for(client, "/learning/external/review")
    blank = client.post(url, data={"csrf_token": token, "reason": ""})
    assert blank.status_code == 200 and "Say why the certificate is rejected." in blank.text
    assert db.session.get(ExternalCertificate, rec.id).status == ExternalStatus.PENDING
    done = client.post(url, data={"csrf_token": token, "reason": "Expired before it was issued."})
    assert done.status_code == 302
    login(people["lee"])
    page = client.get("/learning/external").text
    assert "Rejected" in page and "Expired before it was issued." in page


def test_learners_cannot_reach_the_queue_or_verify(client, login, people, session, tmp_path):
    rec = record(session, people["trainer"].person, tmp_path)
    session.commit()
    login(people["lee"])
    assert client.get("/learning/external/review").status_code == 403
    token = csrf_for(client, "/learning/external")
    assert (
        client.post(f"/learning/external/{rec.id}/verify", data={"csrf_token": token}).status_code
        == 403
    )
    assert client.get(f"/learning/external/{rec.id}").status_code == 404


def test_cpd_form_logs_hours(client, login, people):
    login(people["lee"])
    url = "/learning/cpd/new"
    done = client.post(
        url,
        data={
            "csrf_token": csrf_for(client, url),
            "activity": "APM webinar on benefits",
            "done_on": (date.today() - timedelta(days=2)).isoformat(),
            "hours": "1.25",
        },
    )
    assert done.status_code == 302
    page = client.get("/learning/external").text
    assert "APM webinar on benefits" in page and "1.25" in page
    bad = client.post(
        url,
        data={
            "csrf_token": csrf_for(client, url),
            "activity": "Too long",
            "done_on": date.today().isoformat(),
            "hours": "250",
        },
    )
    assert bad.status_code == 200 and "Give the hours as a number from 0.25 to 100." in bad.text
