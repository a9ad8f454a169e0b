# ruff: noqa: F811
"""The certificate catalogue on the draft (its rules shared with `content check`), a
certificate proving what its own version's catalogue said, and what publishing does to
people's requirements."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.capability import profile as capability
from app.capability.models import Evidence
from app.errors import DomainError
from app.framework import queries as framework_queries
from app.framework import services as authoring
from app.framework.content import certificate_problems
from app.framework.diff import CertificateChange, diff, requirement_impact
from app.framework.models import Certificate, Competency, Source
from app.framework.versions import content_of
from app.org.models import Role
from tests.factories import assign, make_person
from tests.framework.test_services import draft, published, trainer  # noqa: F401

TODAY = date.today()
CERT = {
    "code": "PRINCE2-X",
    "name": "PRINCE2 Example",
    "issuer": "PeopleCert",
    "expires": True,
    "max_level": 2,
    "evidences": {"STR-01": 2, "GOV-01": 1},
}


def test_the_rules_are_one_pure_function():
    others = [{"code": "P3O-F", "name": "P3O Foundation"}]
    bad = {**CERT, "code": "p3o-f", "name": " p3o  foundation", "max_level": 4}
    bad["evidences"] = {"GOV-01": 5, "XXX-01": 1}
    problems = {p.key: p for p in certificate_problems(bad, others=others, known={"GOV-01"}, cap=3)}
    assert problems["code"].also == 0 and problems["name"].also == 0
    assert "cap for external certificates (3)" in problems["max_level"].message
    assert "above the certificate's max_level 4" in problems["evidences.GOV-01"].message
    assert "unknown competency code 'XXX-01'" in problems["evidences.XXX-01"].message
    assert certificate_problems(CERT, others=others, known={"STR-01", "GOV-01"}, cap=3) == []


def test_add_edit_remove_a_certificate_on_the_draft_and_the_diff_shows_it(
    session, published, draft
):
    authoring.add_certificate(session, draft, **{**CERT, "code": " prince2-x "})
    authoring.update_certificate(
        session,
        draft,
        "P3O-F",
        name="P3O Foundation",
        issuer="PeopleCert",
        expires=True,
        max_level=2,
        evidences={"GOV-05": 2, "GOV-01": 1, "GOV-02": 0},
    )
    authoring.remove_certificate(session, draft, "P3O-P")
    changes = {
        c.code: c
        for c in diff(content_of(session, published), content_of(session, draft)).certificates
    }
    assert changes["PRINCE2-X"].status == "added"
    assert changes["P3O-P"].status == "removed"
    assert changes["P3O-F"].status == "changed"
    assert isinstance(changes["P3O-F"], CertificateChange)
    assert [(f.field, f.old, f.new) for f in changes["P3O-F"].changes] == [
        ("evidences GOV-01", 2, 1)
    ]
    # the published version is untouched
    assert content_of(session, published).certificates != content_of(session, draft).certificates


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"evidences": {"GOV-01": 3}}, "level_GOV-01", "above the certificate's max_level 2"),
        ({"evidences": {"ZZZ-01": 1}}, "level_ZZZ-01", "Unknown competency code 'ZZZ-01'"),
        ({"max_level": 4, "evidences": {"GOV-01": 1}}, "max_level", "cap for external"),
        ({"code": "P3O-F"}, "code", "Duplicate code 'P3O-F'"),
        ({"name": "p3o   FOUNDATION"}, "name", "Duplicate name"),
        ({"evidences": {"GOV-01": 0}}, "code", "at least one competency"),
        ({"code": "bad code"}, "code", "capitals and digits"),
        ({"issuer": " "}, "issuer", "Give the issuer"),
    ],
)
def test_add_certificate_enforces_the_catalogue_rules(session, draft, changes, field, message):
    with pytest.raises(DomainError) as caught:
        authoring.add_certificate(session, draft, **{**CERT, **changes})
    assert caught.value.field == field
    assert message.lower() in caught.value.message.lower()


def test_certificate_edits_only_on_a_draft_and_cap_and_removal_keep_the_catalogue_valid(
    session, published, draft
):
    with pytest.raises(DomainError, match="only a draft"):
        authoring.add_certificate(session, published, **CERT)
    with pytest.raises(DomainError, match="only a draft"):
        authoring.remove_certificate(session, published, "P3O-F")
    with pytest.raises(DomainError) as caught:
        authoring.update_evidence_cap(session, draft, "external_certificate", 2)
    assert caught.value.field == "cap_external_certificate" and "P3O-P" in caught.value.message
    with pytest.raises(DomainError, match="PMO-CC evidence only GOV-05"):
        authoring.remove_competency(session, draft, "GOV-05", with_requirements=True)
    authoring.remove_certificate(session, draft, "PMO-CC")
    authoring.remove_competency(session, draft, "GOV-05", with_requirements=True)
    p3o = {c["code"]: c for c in content_of(session, draft).certificates}["P3O-F"]
    assert p3o["evidences"] == {"GOV-01": 2}


def test_a_certificate_keeps_proving_what_its_own_versions_catalogue_said(
    session, published, draft, trainer
):
    """Recorded against version 1, whose catalogue says P3O-F proves GOV-01 at 2; version 2
    lowers it to 1. The old record keeps proving 2 (its version's catalogue: the holder
    passed the exam that catalogue described), a record against version 2 proves 1."""
    person = make_person()
    old_comp = session.scalar(
        select(Competency).where(Competency.version_id == published.id, Competency.code == "GOV-01")
    )
    session.add(
        Evidence(
            person_id=person.id,
            competency_id=old_comp.id,
            competency_code="GOV-01",
            source=Source.EXTERNAL_CERTIFICATE,
            level=2,
            achieved_on=TODAY - timedelta(days=10),
            expires_on=TODAY + timedelta(days=300),
            validated=True,
            certificate_code="P3O-F",
        )
    )
    authoring.update_certificate(
        session,
        draft,
        "P3O-F",
        name="P3O Foundation",
        issuer="PeopleCert",
        expires=True,
        max_level=2,
        evidences={"GOV-01": 1, "GOV-05": 2},
    )
    authoring.publish(session, draft, actor_id=trainer.id, note="P3O-F proves less.")
    session.flush()
    layers = capability.capability(session, person, TODAY).layers
    assert layers["GOV-01"].validated == 2

    new_comp = session.scalar(
        select(Competency).where(Competency.version_id == draft.id, Competency.code == "GOV-01")
    )
    other = make_person("Bo")
    session.add(
        Evidence(
            person_id=other.id,
            competency_id=new_comp.id,
            competency_code="GOV-01",
            source=Source.EXTERNAL_CERTIFICATE,
            level=2,
            achieved_on=TODAY - timedelta(days=10),
            validated=True,
            certificate_code="P3O-F",
        )
    )
    session.flush()
    assert capability.capability(session, other, TODAY).layers["GOV-01"].validated == 1


def test_requirement_impact_counts_people_and_lines():
    old = {"A": {"X": 2, "Y": 3}, "B": {"X": 3}}
    new = {"A": {"X": 3, "Y": 1, "Z": 2}, "B": {"X": 3}}
    impact = requirement_impact(old, new, {frozenset({"A"}): 10, frozenset({"A", "B"}): 2})
    # A alone: X +1, Y -2, Z +2; A+B: X stays 3, Y -2, Z +2
    assert impact.people == 12 and impact.people_rising == 12 and impact.people_falling == 12
    assert impact.rises == {1: 10, 2: 12} and impact.falls == {2: 12}
    assert impact.sentences() == [
        "12 people: requirements rise in 22 competency lines (by 1 level in 10, 2 in 12)",
        "12 people: requirements fall in 12 competency lines (by 2 levels in 12)",
    ]


def test_publish_impact_reads_live_current_assignments(session, published, draft):
    analyst = session.scalar(select(Role).where(Role.code == "R01"))
    level = content_of(session, draft).profiles["R01"]
    code, (required, essential) = next(iter(level.items()))
    authoring.set_profile(session, draft, analyst.id, {code: (min(required + 1, 5), essential)})
    for n in range(3):
        assign(make_person(f"P{n}"), analyst)
    assign(make_person("Gone"), analyst, end=TODAY - timedelta(days=1))
    impact = framework_queries.publish_impact(session, draft, TODAY)
    assert impact.people == 3
    if required < 5:
        assert impact.people_rising == 3 and impact.rises == {1: 3}
    assert not impact.falls
    assert session.scalar(select(Certificate.id).limit(1))
