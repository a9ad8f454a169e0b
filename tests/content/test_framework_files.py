"""The shipped framework and role profiles: check, idempotent versioned load, export round-trip."""

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.capability.models import Evidence
from app.content.checks import check_files
from app.content.files import ContentInvalid, read_yaml
from app.content.framework_export import export_certificates, export_documents
from app.content.framework_load import load_framework
from app.content.framework_schema import check_framework
from app.content.roles import load_roles
from app.framework.models import Competency, FrameworkVersion, Source, VersionStatus
from app.framework.versions import content_of, published_version
from tests.factories import make_person

ROOT = Path(__file__).resolve().parents[2]
CURRICULA = ROOT / "curricula"
FRAMEWORK = CURRICULA / "framework.yaml"
PROFILES = CURRICULA / "role-profiles.yaml"
CERTIFICATES = CURRICULA / "certificates.yaml"
SEED_FUNCTIONS = {
    "CTL-06": "change control",
    "FIN-01": "financial",
    "INF-02": "information",
    "CTL-05": "issue",
    "INF-01": "reporting",
    "CTL-04": "risk",
}


def load_shipped(session):
    load_roles(session, CURRICULA / "roles.yaml")
    return load_framework(session, FRAMEWORK, PROFILES, certificates_path=CERTIFICATES)


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --- the shipped content ------------------------------------------------------------------------


def test_shipped_content_passes_the_check():
    assert check_files(sorted(CURRICULA.glob("*.yaml")), ROOT) == []


def test_shipped_framework_covers_what_a_pmo_needs():
    content = check_framework(read_yaml(FRAMEWORK))
    codes = content.competency_codes()
    assert len(codes) >= 24 and len(set(codes)) == len(codes)
    assert len(content.groups) >= 5
    names = {c["code"]: c["name"].lower() for g in content.groups for c in g["competencies"]}
    for code, word in SEED_FUNCTIONS.items():
        assert word in names[code], (code, names[code])
    assert [s["level"] for s in content.scale] == [0, 1, 2, 3, 4, 5]
    assert all(s["name"] and s["descriptor"] for s in content.scale)
    assert content.caps["module_completion"] == 2
    assert content.caps["manager_rating"] == 5 and content.caps["assessor_observation"] == 5


def test_every_catalogue_role_has_a_sensible_profile():
    roles = {r["code"] for r in yaml.safe_load((CURRICULA / "roles.yaml").read_text())["roles"]}
    content = check_framework(read_yaml(FRAMEWORK))
    from app.content.framework_schema import check_profiles

    profiles = check_profiles(read_yaml(PROFILES), content, roles)
    assert set(profiles) == roles
    director, coordinator = profiles["R01"], profiles["R04"]
    for code in (c for c in content.competency_codes() if c[:3] in ("STR", "GOV")):
        assert director.get(code, (0, False))[0] >= coordinator.get(code, (0, False))[0], code
    for code in SEED_FUNCTIONS:
        assert coordinator[code] == (3, True), code


# --- broken files ---------------------------------------------------------------------------------


def broken_copy(tmp_path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text
    target = tmp_path / source.name
    target.write_text(text.replace(old, new, 1))
    return target


def test_unknown_competency_in_a_profile_points_at_its_key_and_line(tmp_path):
    bad = broken_copy(tmp_path, PROFILES, "    STR-01: 5", "    STR-99: 5")
    (tmp_path / "framework.yaml").write_text(FRAMEWORK.read_text())
    (tmp_path / "roles.yaml").write_text((CURRICULA / "roles.yaml").read_text())
    errors = check_files(sorted(tmp_path.glob("*.yaml")), tmp_path)
    assert len(errors) == 1
    error = errors[0]
    assert error.file == "role-profiles.yaml"
    assert error.path.endswith(".essential.STR-99")
    assert error.line == line_of(bad, "STR-99")
    assert "unknown competency code 'STR-99'" in str(error)


def test_duplicate_code_and_level_off_scale_are_errors_with_key_paths(tmp_path):
    bad = broken_copy(tmp_path, FRAMEWORK, "code: GOV-02", "code: GOV-01")
    bad.write_text(bad.read_text().replace("module_completion: 2", "module_completion: 7"))
    with pytest.raises(ContentInvalid) as caught:
        check_framework(read_yaml(bad))
    messages = {e.path: e for e in caught.value.errors}
    assert "evidence_caps.module_completion" in messages
    assert messages["evidence_caps.module_completion"].line == line_of(bad, "module_completion")


def test_duplicate_competency_code_names_both_places(tmp_path):
    bad = broken_copy(tmp_path, FRAMEWORK, "code: GOV-02", "code: GOV-01")
    with pytest.raises(ContentInvalid) as caught:
        check_framework(read_yaml(bad))
    (error,) = caught.value.errors
    assert "duplicate code 'GOV-01'" in error.message
    assert error.path == "groups[1].competencies[1].code"
    second = [
        i for i, line in enumerate(bad.read_text().splitlines(), 1) if "code: GOV-01" in line
    ][1]
    assert error.line == second


def test_check_command_fails_on_a_broken_file_and_passes_on_the_shipped_ones(app, tmp_path):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["content", "check"])
    assert ok.exit_code == 0, ok.output
    assert "no errors" in ok.output
    bad = broken_copy(tmp_path, PROFILES, "role: R04", "role: R99")
    failed = runner.invoke(
        args=["content", "check", str(bad), str(FRAMEWORK), str(CURRICULA / "roles.yaml")]
    )
    assert failed.exit_code == 1
    assert "unknown role code 'R99'" in failed.output
    assert f":{line_of(bad, 'R99')}:" in failed.output


# --- load, versions, export ---------------------------------------------------------------


def versions(session) -> list[tuple[int, str]]:
    return [
        (v.number, v.status.value)
        for v in session.scalars(select(FrameworkVersion).order_by(FrameworkVersion.number))
    ]


def test_loading_twice_changes_nothing(session):
    first = load_shipped(session)
    session.commit()
    counts = session.scalar(select(func.count()).select_from(Competency))
    second = load_shipped(session)
    session.commit()
    assert (first.outcome, second.outcome) == ("created", "unchanged")
    assert versions(session) == [(1, "published")]
    assert session.scalar(select(func.count()).select_from(Competency)) == counts == 30


def test_a_changed_framework_becomes_a_new_version_and_old_evidence_keeps_its_meaning(
    session, tmp_path
):
    load_shipped(session)
    old = published_version(session, "PMO-CF")
    old_comp = session.scalar(
        select(Competency).where(Competency.version_id == old.id, Competency.code == "CTL-04")
    )
    person = make_person()
    session.add(
        Evidence(
            person_id=person.id,
            competency_id=old_comp.id,
            competency_code="CTL-04",
            source=Source.ASSESSMENT,
            level=3,
            achieved_on=date(2026, 1, 5),
            validated=True,
        )
    )
    session.commit()
    old_name = old_comp.name
    changed = broken_copy(tmp_path, FRAMEWORK, f"name: {old_name}", "name: Risk and opportunity")
    report = load_framework(session, changed, PROFILES)
    session.commit()
    assert report.outcome == "new-version" and report.version == 2
    assert versions(session) == [(1, "retired"), (2, "published")]
    evidence = session.scalar(select(Evidence))
    assert evidence.competency.name == old_name
    assert evidence.competency.version.number == 1
    assert session.get(FrameworkVersion, old.id).status == VersionStatus.RETIRED


def test_load_export_load_changes_nothing(session, tmp_path):
    load_shipped(session)
    session.commit()
    content = content_of(session, published_version(session, "PMO-CF"))
    assert len(content.certificates) == 33
    assert "not the P3O Practitioner" in content.scale[3]["note"]
    assert "named people" in next(
        c["boundary"] for g in content.groups for c in g["competencies"] if c["code"] == "STR-04"
    )
    framework_text, profiles_text = export_documents(content)
    (tmp_path / "framework.yaml").write_text(framework_text)
    (tmp_path / "role-profiles.yaml").write_text(profiles_text)
    (tmp_path / "certificates.yaml").write_text(export_certificates(content) or "")
    (tmp_path / "roles.yaml").write_text((CURRICULA / "roles.yaml").read_text())
    assert check_files(sorted(tmp_path.glob("*.yaml")), tmp_path) == []
    report = load_framework(
        session,
        tmp_path / "framework.yaml",
        tmp_path / "role-profiles.yaml",
        certificates_path=tmp_path / "certificates.yaml",
    )
    assert report.outcome == "unchanged"
    assert versions(session) == [(1, "published")]


def test_export_command_writes_files_that_load_back(app, session, tmp_path):
    load_shipped(session)
    session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["content", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    loaded = runner.invoke(
        args=[
            "content",
            "load",
            "--framework",
            str(tmp_path / "framework.yaml"),
            "--profiles",
            str(tmp_path / "role-profiles.yaml"),
            "--certificates",
            str(tmp_path / "certificates.yaml"),
        ]
    )
    assert loaded.exit_code == 0, loaded.output
    assert "unchanged at version 1" in loaded.output


def test_a_broken_file_loads_nothing(app, session, tmp_path):
    bad = broken_copy(tmp_path, PROFILES, "    STR-01: 5", "    STR-01: 9")
    result = app.test_cli_runner().invoke(args=["content", "load", "--profiles", str(bad)])
    assert result.exit_code == 1
    assert "nothing was loaded" in result.output
    assert session.scalar(select(func.count()).select_from(FrameworkVersion)) == 0
