"""Certificates of completion, the use-cases: what issuing copies onto a certificate, that
issuing twice gives the same one, that an unfinished path gets none, revoking, and finding
a certificate by its code."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.errors import DomainError
from app.learning.certificates import (
    certificate_by_code,
    certificates_of,
    issue_certificate,
    issued_certificates,
    revoke_certificate,
)
from app.learning.models import CompletionCertificate, ModuleType
from tests.factories import make_person, make_user
from tests.learning.certificate_helpers import M, enrol, load_shipped, make_path


@pytest.fixture
def framework(session):
    return load_shipped(session)


def test_issuing_copies_what_the_learner_completed_onto_the_certificate(session, framework):
    person = make_person("Priya", "Shah")
    version = make_path(
        M(evidences={"GOV-05": 1, "GOV-01": 1}, minutes=90),
        M(ModuleType.WORKSHOP, evidences={"GOV-05": 2}, minutes=180),
        M(ModuleType.READING, evidences={"BEN-01": 1}, minutes=45, optional=True),
        code="P3OX",
        title="P3O Foundation preparation",
    )
    enrolment = enrol(person, version, done=["P3OX-01", "P3OX-02"])

    cert = issue_certificate(session, enrolment)

    assert cert.learner_name == "Priya Shah"
    assert (cert.path_code, cert.path_title, cert.version_number) == (
        "P3OX",
        "P3O Foundation preparation",
        1,
    )
    # the optional module was not done: neither its time nor its competency is claimed
    assert cert.minutes == 270
    names = {c.code: c.name for c in framework.competencies}
    assert cert.competencies == [
        {"code": "GOV-01", "name": names["GOV-01"], "level": 1},
        {"code": "GOV-05", "name": names["GOV-05"], "level": 2},  # the highest level
    ]
    assert cert.person_id == person.id and cert.revoked_at is None


def test_a_completed_optional_module_counts_and_unknown_competencies_keep_their_code(
    session, framework
):
    version = make_path(M(minutes=60), M(evidences={"ZZZ-99": 1}, minutes=30, optional=True))
    cert = issue_certificate(session, enrol(make_person(), version, complete=True))
    assert cert.minutes == 90
    assert cert.competencies == [{"code": "ZZZ-99", "name": "ZZZ-99", "level": 1}]


def test_codes_are_long_random_and_url_safe(session, framework):
    codes = {
        issue_certificate(session, enrol(make_person(), make_path(), complete=True)).code
        for _ in range(5)
    }
    assert len(codes) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", code) for code in codes)


def test_issuing_twice_returns_the_certificate_already_issued(session, framework):
    enrolment = enrol(make_person(), make_path(), complete=True)
    first = issue_certificate(session, enrolment)
    again = issue_certificate(session, enrolment)
    assert again.id == first.id and again.code == first.code
    assert session.scalar(select(func.count()).select_from(CompletionCertificate)) == 1


def test_an_unfinished_path_gets_no_certificate(session, framework):
    version = make_path(M(), M(), M(optional=True), code="UNF")
    enrolment = enrol(make_person(), version, done=["UNF-01"])
    with pytest.raises(DomainError, match=r"1 required module left \(UNF-02\)"):
        issue_certificate(session, enrolment)
    assert session.scalar(select(func.count()).select_from(CompletionCertificate)) == 0


def test_the_certificate_reads_the_same_after_the_path_and_person_change(session, framework):
    person = make_person("Sam", "Okafor")
    version = make_path(title="Portfolio office essentials")
    cert = issue_certificate(session, enrol(person, version, complete=True))
    person.last_name = "Okafor-Reid"
    version.title = "Renamed path"
    session.flush()
    session.expire_all()
    again = session.get(CompletionCertificate, cert.id)
    assert (again.learner_name, again.path_title) == ("Sam Okafor", "Portfolio office essentials")


def test_without_a_published_framework_competencies_are_named_by_code(session):
    version = make_path(M(evidences={"GOV-05": 2}))
    cert = issue_certificate(session, enrol(make_person(), version, complete=True))
    assert cert.competencies == [{"code": "GOV-05", "name": "GOV-05", "level": 2}]


def test_revoking_needs_a_reason_and_happens_once(session, framework):
    trainer = make_user(Permission.TRAINER)
    cert = issue_certificate(session, enrol(make_person(), make_path(), complete=True))

    with pytest.raises(DomainError) as no_reason:
        revoke_certificate(session, certificate_id=cert.id, reason="  ", actor_id=trainer.id)
    assert no_reason.value.field == "reason"
    assert cert.revoked_at is None

    revoke_certificate(
        session, certificate_id=cert.id, reason="Issued in error.", actor_id=trainer.id
    )
    assert cert.revoked_at is not None
    assert (cert.revoked_reason, cert.revoked_by_id) == ("Issued in error.", trainer.id)

    with pytest.raises(DomainError, match="already revoked"):
        revoke_certificate(session, certificate_id=cert.id, reason="Again", actor_id=trainer.id)


def test_finding_by_code_answers_none_for_unknown_and_malformed_codes(session, framework):
    cert = issue_certificate(session, enrol(make_person(), make_path(), complete=True))
    assert certificate_by_code(session, cert.code).id == cert.id
    for code in ["A" * 22, "short", "../../etc/passwd", cert.code + "'--", "", "x" * 41]:
        assert certificate_by_code(session, code) is None


def test_lists_newest_first_and_search_by_learner_or_path(session, framework):
    ana, ben = make_person("Ana", "Lopez"), make_person("Ben", "Carter")
    first = issue_certificate(
        session, enrol(ana, make_path(title="Risk basics", code="RSK"), complete=True)
    )
    second = issue_certificate(
        session, enrol(ana, make_path(title="Benefits basics", code="BEN"), complete=True)
    )
    issue_certificate(session, enrol(ben, make_path(title="Risk basics"), complete=True))
    assert [c.id for c in certificates_of(session, ana.id)] == [second.id, first.id]
    found = session.scalars(issued_certificates("lopez")).all()
    assert {c.id for c in found} == {first.id, second.id}
    assert [c.learner_name for c in session.scalars(issued_certificates("RSK"))] == ["Ana Lopez"]
    assert len(session.scalars(issued_certificates("risk")).all()) == 2
