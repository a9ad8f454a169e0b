"""Framework authoring use-cases on the shipped content: draft, edit, publish, discard, diff."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.capability.models import Evidence
from app.content.framework_export import export_certificates, export_documents
from app.content.framework_load import load_framework
from app.errors import DomainError
from app.framework import queries as framework_queries
from app.framework import services as authoring
from app.framework.diff import (
    CapChange,
    CertificateChange,
    CompetencyChange,
    CompetencyRef,
    FieldChange,
    FrameworkDiff,
    LevelChange,
    RequirementChange,
    diff,
)
from app.framework.models import (
    Competency,
    CompetencyGroup,
    EvidenceCap,
    FrameworkVersion,
    ProficiencyLevel,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.framework.versions import content_of, current_draft, published_version
from app.org.models import Role
from tests.factories import make_person, make_user
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"


def load_shipped(session) -> FrameworkVersion:
    """The shipped role catalogue, framework and role profiles, as `flask content load` does."""
    load_shipped_content(session)
    return published_version(session, "PMO-CF")


@pytest.fixture
def published(session) -> FrameworkVersion:
    return load_shipped(session)


@pytest.fixture
def trainer(session):
    return make_user(Permission.TRAINER)


@pytest.fixture
def draft(session, published, trainer) -> FrameworkVersion:
    return authoring.create_draft(session, actor_id=trainer.id)


def role_id(session, code: str) -> int:
    return session.scalar(select(Role.id).where(Role.code == code))


def rows_of(session, model, version: FrameworkVersion) -> int:
    return session.scalar(
        select(func.count()).select_from(model).where(model.version_id == version.id)
    )


# --- the draft ------------------------------------------------------------------------------


def test_a_draft_is_a_full_copy_of_the_published_version(session, published, trainer):
    draft = authoring.create_draft(session, actor_id=trainer.id)

    assert draft.status == VersionStatus.DRAFT
    assert draft.number == published.number + 1
    assert draft.created_by_id == trainer.id
    assert published.status == VersionStatus.PUBLISHED
    copy, original = content_of(session, draft), content_of(session, published)
    assert copy.as_json() == original.as_json()
    assert len(copy.competency_codes()) == 30
    assert len(copy.profiles) == 32
    assert len(copy.certificates) == 33
    # Its own rows, not the published ones.
    draft_ids = set(session.scalars(select(Competency.id).where(Competency.version_id == draft.id)))
    published_ids = set(
        session.scalars(select(Competency.id).where(Competency.version_id == published.id))
    )
    assert len(draft_ids) == 30 and not draft_ids & published_ids


def test_only_one_draft_at_a_time(session, draft, trainer):
    with pytest.raises(DomainError, match=f"Draft version {draft.number} is already open"):
        authoring.create_draft(session, actor_id=trainer.id)


def test_no_draft_without_a_published_version(session, trainer):
    with pytest.raises(DomainError, match="No framework is published"):
        authoring.create_draft(session, actor_id=trainer.id)


EDITS = {
    "update_competency": lambda s, v: authoring.update_competency(
        s, v, "GOV-01", name="X", description="Y", group_code="GOV"
    ),
    "add_competency": lambda s, v: authoring.add_competency(
        s, v, code="GOV-99", group_code="GOV", name="X", description="Y"
    ),
    "remove_competency": lambda s, v: authoring.remove_competency(
        s, v, "GOV-01", with_requirements=True
    ),
    "update_scale_level": lambda s, v: authoring.update_scale_level(
        s, v, 3, name="X", descriptor="Y"
    ),
    "update_evidence_cap": lambda s, v: authoring.update_evidence_cap(s, v, "assessment", 4),
    "set_profile": lambda s, v: authoring.set_profile(
        s, v, role_id(s, "R01"), {"GOV-01": (1, False)}
    ),
    "publish": lambda s, v: authoring.publish(s, v, actor_id=None, note="X"),
    "discard_draft": lambda s, v: authoring.discard_draft(s, v),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_published_and_retired_versions_cannot_be_edited(session, published, trainer, edit):
    before = content_of(session, published).as_json()
    with pytest.raises(DomainError, match=f"Version {published.number} is published"):
        EDITS[edit](session, published)

    draft = authoring.create_draft(session, actor_id=trainer.id)
    authoring.update_scale_level(session, draft, 5, name="Master", descriptor="Sets the bar.")
    authoring.publish(session, draft, actor_id=trainer.id, note="Level 5 renamed.")
    assert published.status == VersionStatus.RETIRED
    with pytest.raises(DomainError, match=f"Version {published.number} is retired"):
        EDITS[edit](session, published)

    session.expire_all()
    assert content_of(session, published).as_json() == before


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_edit_works_on_a_draft(session, draft, edit):
    """Control for the refusal above: the very same calls go through on a draft (after one
    change, so that there is something to publish)."""
    authoring.update_scale_level(session, draft, 5, name="Master", descriptor="Sets the bar.")
    draft_id = draft.id
    EDITS[edit](session, draft)
    session.flush()
    if edit == "discard_draft":
        assert current_draft(session) is None and session.get(FrameworkVersion, draft_id) is None
        return
    if edit == "publish":
        assert published_version(session, "PMO-CF").id == draft_id
        return
    after = content_of(session, draft)
    names = {c["code"]: c["name"] for g in after.groups for c in g["competencies"]}
    effect = {
        "update_competency": lambda: names["GOV-01"] == "X",
        "add_competency": lambda: names.get("GOV-99") == "X",
        "remove_competency": lambda: "GOV-01" not in names,
        "update_scale_level": lambda: after.scale[3]["name"] == "X",
        "update_evidence_cap": lambda: after.caps["assessment"] == 4,
        "set_profile": lambda: after.profiles["R01"]["GOV-01"] == (1, False),
    }
    assert effect[edit](), f"{edit} left no trace in the draft"


# --- competencies ---------------------------------------------------------------------------


def test_update_competency_changes_text_group_and_indicators(session, draft, published):
    comp = authoring.update_competency(
        session,
        draft,
        "GOV-01",
        name="  Governance   design ",
        description="New words.",
        group_code="STR",
        indicators={2: "", 4: "Advises  boards.", 3: "Runs it."},
        boundary=" Stops where  GOV-02 starts. ",
    )

    assert comp.code == "GOV-01"
    assert comp.boundary == "Stops where GOV-02 starts."
    assert comp.name == "Governance design"  # whitespace folded as in the content files
    assert comp.group.code == "STR"
    strategy = [
        c["code"]
        for g in content_of(session, draft).groups
        if g["code"] == "STR"
        for c in g["competencies"]
    ]
    assert strategy[-1] == "GOV-01"  # moved in last
    shipped = framework_queries.find_competency(session, published, "GOV-01")
    assert shipped.indicators.keys() == {"1", "2", "3", "4", "5"}
    assert comp.indicators == {
        "1": shipped.indicators["1"],
        "3": "Runs it.",
        "4": "Advises boards.",
        "5": shipped.indicators["5"],
    }
    published_gov01 = framework_queries.find_competency(session, published, "GOV-01")
    assert published_gov01.group.code == "GOV" and published_gov01.name != comp.name


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the competency's name."),
        ({"description": ""}, "description", "Give the description."),
        ({"group_code": "NOPE"}, "group", "Choose one of the framework's groups."),
        ({"name": "x" * 161}, "name", "Keep the competency's name to 160 characters."),
    ],
)
def test_update_competency_refuses_bad_values(session, draft, changes, field, message):
    values = {"name": "Fine", "description": "Fine.", "group_code": "GOV", **changes}
    with pytest.raises(DomainError) as caught:
        authoring.update_competency(session, draft, "GOV-01", **values)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_add_competency_puts_it_last_in_its_group(session, draft):
    comp = authoring.add_competency(
        session,
        draft,
        code="gov-06",
        group_code="GOV",
        name="Assurance reviews",
        description="Plans reviews.",
        indicators={3: "Leads a review."},
    )
    assert comp.code == "GOV-06"
    content = content_of(session, draft)
    gov = next(g for g in content.groups if g["code"] == "GOV")
    assert gov["competencies"][-1] == {
        "code": "GOV-06",
        "name": "Assurance reviews",
        "description": "Plans reviews.",
        "boundary": "",
        "indicators": {3: "Leads a review."},
    }


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Give the competency a code, e.g. GOV-06."),
        ("GOV 06", "Use capitals and digits"),
        ("6-GOV", "Use capitals and digits"),
        ("GOV--6", "Use capitals and digits"),
        ("ABCDEFGHIJ-123456", "Use capitals and digits"),
        ("GOV-01", "GOV-01 is already used in this version"),
        ("gov", "GOV is already used in this version"),  # a group's code
    ],
)
def test_add_competency_refuses_bad_or_taken_codes(session, draft, code, message):
    before = rows_of(session, Competency, draft)
    with pytest.raises(DomainError, match=message) as caught:
        authoring.add_competency(
            session, draft, code=code, group_code="GOV", name="X", description="Y"
        )
    assert caught.value.field == "code"
    assert rows_of(session, Competency, draft) == before


def test_remove_a_required_competency_needs_the_profile_lines_to_go_too(session, draft):
    users = framework_queries.roles_requiring(
        session, framework_queries.find_competency(session, draft, "GOV-01")
    )
    assert users  # the shipped profiles require GOV-01
    with pytest.raises(DomainError) as caught:
        authoring.remove_competency(session, draft, "GOV-01")
    assert caught.value.field == "with_requirements"
    assert f"required by {len(users)} role profile(s): {', '.join(users)}" in caught.value.message
    assert framework_queries.find_competency(session, draft, "GOV-01") is not None

    lines_before = rows_of(session, RoleRequirement, draft)
    assert authoring.remove_competency(session, draft, "GOV-01", with_requirements=True) == users
    assert framework_queries.find_competency(session, draft, "GOV-01") is None
    assert rows_of(session, RoleRequirement, draft) == lines_before - len(users)
    assert all("GOV-01" not in reqs for reqs in content_of(session, draft).profiles.values())


def test_remove_an_unrequired_competency_and_never_empty_a_group(session, draft):
    authoring.add_competency(
        session, draft, code="NEW-1", group_code="GOV", name="N", description="D"
    )
    assert authoring.remove_competency(session, draft, "NEW-1") == []
    assert framework_queries.find_competency(session, draft, "NEW-1") is None

    group = session.scalar(
        select(CompetencyGroup).where(
            CompetencyGroup.version_id == draft.id, CompetencyGroup.code == "STR"
        )
    )
    codes = [c.code for c in group.competencies]
    # the catalogue's certificates that evidence the group only go first (a certificate
    # proving nothing is refused; see test_certificates.py)
    for cert in list(draft.certificates):
        if set(cert.evidences) <= set(codes):
            authoring.remove_certificate(session, draft, cert.code)
    for code in codes[:-1]:
        authoring.remove_competency(session, draft, code, with_requirements=True)
    with pytest.raises(DomainError, match=f"{codes[-1]} is the only competency in its group"):
        authoring.remove_competency(session, draft, codes[-1], with_requirements=True)


# --- scale, caps, profiles -------------------------------------------------------------------


def test_scale_level_and_cap_edits(session, draft):
    authoring.update_scale_level(
        session, draft, 4, name="Senior", descriptor="Leads the  hard cases.", note=" Not a  title."
    )
    authoring.update_evidence_cap(session, draft, "assessment", 2)
    content = content_of(session, draft)
    assert content.scale[4] == {
        "level": 4,
        "name": "Senior",
        "descriptor": "Leads the hard cases.",
        "note": "Not a title.",
    }
    authoring.update_scale_level(session, draft, 4, name="Senior", descriptor="Leads.")
    assert content_of(session, draft).scale[4]["note"] == "Not a title."  # None keeps it
    assert content.caps["assessment"] == 2

    for call, field in [
        (
            lambda: authoring.update_scale_level(session, draft, 6, name="X", descriptor="Y"),
            "name_6",
        ),
        (
            lambda: authoring.update_scale_level(session, draft, 2, name="", descriptor="Y"),
            "name_2",
        ),
        (
            lambda: authoring.update_scale_level(session, draft, 2, name="X", descriptor=" "),
            "descriptor_2",
        ),
        (
            lambda: authoring.update_evidence_cap(session, draft, "self_rating", 2),
            "cap_self_rating",
        ),
        (lambda: authoring.update_evidence_cap(session, draft, "assessment", 6), "cap_assessment"),
    ]:
        with pytest.raises(DomainError) as caught:
            call()
        assert caught.value.field == field
    session.expire_all()
    assert session.get(EvidenceCap, (draft.id, Source.ASSESSMENT)).max_level == 2


def test_set_profile_sets_changes_and_removes_lines(session, draft):
    before = content_of(session, draft).profiles["R07"]
    assert before["PPL-01"] != (4, False) and "STR-04" not in before and "INF-04" in before

    authoring.set_profile(
        session,
        draft,
        role_id(session, "R07"),
        {"PPL-01": (4, False), "STR-04": (2, True), "INF-04": (0, False)},
    )
    after = content_of(session, draft).profiles["R07"]
    assert after["PPL-01"] == (4, False)
    assert after["STR-04"] == (2, True)
    assert "INF-04" not in after
    assert {k: v for k, v in after.items() if k not in ("PPL-01", "STR-04")} == {
        k: v for k, v in before.items() if k not in ("PPL-01", "INF-04")
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"PPL-01": (6, True)}, "Choose a level from 0 to 5."),
        ({"PPL-01": (0, True)}, "Essential needs a level"),
        ({"NOPE-1": (2, True)}, "There is no competency NOPE-1"),
    ],
)
def test_set_profile_refuses_bad_lines(session, draft, line, message):
    with pytest.raises(DomainError, match=message) as caught:
        authoring.set_profile(session, draft, role_id(session, "R01"), line)
    assert caught.value.field == f"level_{next(iter(line))}"


# --- publish and discard ---------------------------------------------------------------------


def test_publish_retires_the_old_version_and_evidence_keeps_its_definition(
    session, published, draft, trainer
):
    old_gov01 = framework_queries.find_competency(session, published, "GOV-01")
    evidence = Evidence(
        person_id=make_person().id,
        competency_id=old_gov01.id,
        competency_code="GOV-01",
        source=Source.ASSESSMENT,
        level=3,
        achieved_on=date(2025, 3, 1),
        validated=True,
    )
    session.add(evidence)
    session.flush()
    old_name = old_gov01.name

    authoring.update_competency(
        session,
        draft,
        "GOV-01",
        name="Governance, redefined",
        description="Different words.",
        group_code="GOV",
    )
    authoring.publish(session, draft, actor_id=trainer.id, note="GOV-01 reworded.")
    session.commit()
    session.expire_all()

    assert published.status == VersionStatus.RETIRED
    assert draft.status == VersionStatus.PUBLISHED
    assert draft.published_by_id == trainer.id and draft.published_at is not None
    assert draft.note == "GOV-01 reworded."
    assert published_version(session, "PMO-CF").id == draft.id
    assert (
        session.scalar(
            select(func.count())
            .select_from(FrameworkVersion)
            .where(FrameworkVersion.status == VersionStatus.PUBLISHED)
        )
        == 1
    )
    evidence = session.get(Evidence, evidence.id)
    assert evidence.competency_id == old_gov01.id
    assert evidence.competency.version_id == published.id
    assert evidence.competency.name == old_name
    assert (
        framework_queries.find_competency(session, draft, "GOV-01").name == "Governance, redefined"
    )


def test_publish_stores_the_content_hash_so_loading_the_same_files_is_a_no_op(
    session, draft, trainer, tmp_path
):
    authoring.update_competency(
        session,
        draft,
        "GOV-01",
        name="Governance design",
        description="New words.",
        group_code="GOV",
        indicators={4: "Advises boards."},
    )
    authoring.set_profile(session, draft, role_id(session, "R02"), {"GOV-01": (1, False)})
    authoring.update_evidence_cap(session, draft, "module_completion", 1)
    authoring.publish(session, draft, actor_id=trainer.id, note="Edits.")
    assert draft.content_hash == content_of(session, draft).digest()

    framework_text, profiles_text = export_documents(content_of(session, draft))
    (tmp_path / "framework.yaml").write_text(framework_text, encoding="utf-8")
    (tmp_path / "role-profiles.yaml").write_text(profiles_text, encoding="utf-8")
    certificates_text = export_certificates(content_of(session, draft)) or ""
    (tmp_path / "certificates.yaml").write_text(certificates_text, encoding="utf-8")
    versions_before = session.scalar(select(func.count()).select_from(FrameworkVersion))
    report = load_framework(
        session,
        tmp_path / "framework.yaml",
        tmp_path / "role-profiles.yaml",
        certificates_path=tmp_path / "certificates.yaml",
    )

    assert (report.outcome, report.version) == ("unchanged", draft.number)
    assert session.scalar(select(func.count()).select_from(FrameworkVersion)) == versions_before
    # Control: the shipped files, which lack those edits, do make a new version.
    report = load_framework(session, CURRICULA / "framework.yaml", CURRICULA / "role-profiles.yaml")
    assert (report.outcome, report.version) == ("new-version", draft.number + 1)


def test_publish_needs_a_note_and_a_change(session, draft, trainer):
    with pytest.raises(DomainError) as caught:
        authoring.publish(session, draft, actor_id=trainer.id, note="  ")
    assert caught.value.field == "note"
    with pytest.raises(DomainError, match="same as the published version") as caught:
        authoring.publish(session, draft, actor_id=trainer.id, note="Nothing really.")
    assert caught.value.field == "note"
    assert draft.status == VersionStatus.DRAFT


def test_a_draft_overtaken_by_a_content_load_cannot_be_published(session, draft, trainer, tmp_path):
    authoring.update_scale_level(session, draft, 5, name="Master", descriptor="Sets the bar.")
    loaded = content_of(session, published_version(session, "PMO-CF"))
    loaded.caps["assessment"] = 2
    framework_text, profiles_text = export_documents(loaded)
    (tmp_path / "framework.yaml").write_text(framework_text, encoding="utf-8")
    (tmp_path / "role-profiles.yaml").write_text(profiles_text, encoding="utf-8")
    report = load_framework(session, tmp_path / "framework.yaml", tmp_path / "role-profiles.yaml")
    assert report.version == draft.number + 1

    with pytest.raises(DomainError, match=f"Version {report.version} was published after"):
        authoring.publish(session, draft, actor_id=trainer.id, note="Level 5 renamed.")
    assert draft.status == VersionStatus.DRAFT
    assert published_version(session, "PMO-CF").number == report.version


def test_discard_deletes_the_draft_and_only_the_draft(session, published, draft):
    counts = {
        m: rows_of(session, m, published)
        for m in (ProficiencyLevel, EvidenceCap, CompetencyGroup, Competency, RoleRequirement)
    }
    draft_id = draft.id
    assert authoring.discard_draft(session, draft) == published.number + 1
    session.commit()
    session.expire_all()

    assert session.get(FrameworkVersion, draft_id) is None
    for model, count in counts.items():
        assert (
            session.scalar(
                select(func.count()).select_from(model).where(model.version_id == draft_id)
            )
            == 0
        )
        assert rows_of(session, model, published) == count
    assert authoring.current_draft(session) is None
    assert published.status == VersionStatus.PUBLISHED


# --- diff ------------------------------------------------------------------------------------


def test_diff_of_a_version_with_itself_is_empty(session, published, draft):
    assert diff(content_of(session, published), content_of(session, draft)) == FrameworkDiff()
    assert FrameworkDiff().empty


def test_diff_reports_notes_boundaries_and_certificate_changes(session, published, draft):
    old = content_of(session, published)
    authoring.update_competency(
        session,
        draft,
        "STR-04",
        name=old.groups[0]["competencies"][3]["name"],
        description=old.groups[0]["competencies"][3]["description"],
        group_code="STR",
        boundary="Capacity by role, never named people.",
    )
    authoring.update_scale_level(
        session,
        draft,
        3,
        name=old.scale[3]["name"],
        descriptor=old.scale[3]["descriptor"],
        note="",
    )
    new = content_of(session, draft)
    p3o_f = next(c for c in new.certificates if c["code"] == "P3O-F")
    p3o_f["evidences"] = {"GOV-01": 1, "GOV-03": 2}
    p3o_f["expires"] = False
    new.certificates = [c for c in new.certificates if c["code"] != "CSM"] + [
        {**p3o_f, "code": "P3O-X", "name": "Imaginary P3O"}
    ]

    result = diff(old, new)

    assert result.changed == (
        CompetencyChange(
            "STR-04",
            old.groups[0]["competencies"][3]["name"],
            (
                FieldChange(
                    "boundary",
                    old.groups[0]["competencies"][3]["boundary"],
                    "Capacity by role, never named people.",
                ),
            ),
        ),
    )
    assert result.scale == (LevelChange(3, (FieldChange("note", old.scale[3]["note"], ""),)),)
    csm = next(c for c in old.certificates if c["code"] == "CSM")
    assert result.certificates == (
        CertificateChange("CSM", csm["name"], "removed"),
        CertificateChange(
            "P3O-F",
            "P3O Foundation",
            "changed",
            (
                FieldChange("expires", True, False),
                FieldChange("evidences GOV-01", 2, 1),
                FieldChange("evidences GOV-03", None, 2),
                FieldChange("evidences GOV-05", 2, None),
            ),
        ),
        CertificateChange("P3O-X", "Imaginary P3O", "added"),
    )
    assert not result.empty


def test_diff_reports_exactly_what_changed(session, published, draft):
    old = content_of(session, published)
    gov01 = next(c for g in old.groups for c in g["competencies"] if c["code"] == "GOV-01")
    r01 = old.profiles["R01"]

    authoring.update_competency(
        session,
        draft,
        "GOV-01",
        name="Governance design",
        description=gov01["description"],
        group_code="STR",
        indicators={2: "", 4: "Advises boards."},
    )
    authoring.add_competency(
        session,
        draft,
        code="GOV-06",
        group_code="GOV",
        name="Assurance reviews",
        description="Plans reviews.",
    )
    authoring.remove_competency(session, draft, "INF-04", with_requirements=True)
    authoring.update_scale_level(
        session, draft, 5, name="Master", descriptor=old.scale[5]["descriptor"]
    )
    authoring.update_evidence_cap(session, draft, "assessment", 2)
    authoring.set_profile(
        session, draft, role_id(session, "R01"), {"GOV-01": (4, False), "GOV-06": (3, True)}
    )
    inf04_roles = sorted(role for role, reqs in old.profiles.items() if "INF-04" in reqs)
    assert inf04_roles

    result = diff(old, content_of(session, draft))

    inf04 = next(c for g in old.groups for c in g["competencies"] if c["code"] == "INF-04")
    r01_lines = [
        RequirementChange("GOV-01", r01["GOV-01"], (4, False)),
        RequirementChange("GOV-06", None, (3, True)),
    ]
    if "INF-04" in r01:
        r01_lines.append(RequirementChange("INF-04", r01["INF-04"], None))
    expected_profiles = {
        role: (RequirementChange("INF-04", old.profiles[role]["INF-04"], None),)
        for role in inf04_roles
        if role != "R01"
    }
    expected_profiles["R01"] = tuple(r01_lines)
    assert result == FrameworkDiff(
        added=(CompetencyRef("GOV-06", "Assurance reviews", "GOV"),),
        removed=(CompetencyRef("INF-04", inf04["name"], "INF"),),
        changed=(
            CompetencyChange(
                "GOV-01",
                "Governance design",
                (
                    FieldChange("name", gov01["name"], "Governance design"),
                    FieldChange("group", "GOV", "STR"),
                    FieldChange("indicator 2", gov01["indicators"][2], None),
                    FieldChange("indicator 4", gov01["indicators"][4], "Advises boards."),
                ),
            ),
        ),
        scale=(LevelChange(5, (FieldChange("name", "Expert", "Master"),)),),
        caps=(CapChange("assessment", 3, 2),),
        profiles=dict(sorted(expected_profiles.items())),
    )
    assert not result.empty
