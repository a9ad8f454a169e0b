"""Framework version 2 (issue 10): the upgrade from version 1 through `flask content load`,
the certificate catalogue's checks, and the rules the role-profiles header states."""

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app.capability.models import Evidence
from app.content.certificates_schema import check_certificates
from app.content.checks import check_files
from app.content.files import ContentInvalid, read_yaml
from app.content.framework_load import load_framework
from app.content.framework_schema import check_framework, check_profiles
from app.content.roles import load_roles
from app.framework.models import Certificate, Competency, FrameworkVersion, Source, VersionStatus
from app.framework.versions import published_version
from app.org.models import Role
from tests.factories import make_person

ROOT = Path(__file__).resolve().parents[2]
CURRICULA = ROOT / "curricula"
FRAMEWORK = CURRICULA / "framework.yaml"
PROFILES = CURRICULA / "role-profiles.yaml"
CERTIFICATES = CURRICULA / "certificates.yaml"
ROLES = CURRICULA / "roles.yaml"


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[nth]


@pytest.fixture
def v1_files() -> Path:
    """Version 1's roles, framework and role profiles, as shipped before version 2 (kept
    beside this test, so that the upgrade is tested on any clone)."""
    return Path(__file__).resolve().parent / "v1"


# --- the upgrade ---------------------------------------------------------------------------


def test_content_load_on_a_version_1_installation_publishes_version_2(app, session, v1_files):
    load_roles(session, v1_files / "roles.yaml")
    first = load_framework(session, v1_files / "framework.yaml", v1_files / "role-profiles.yaml")
    assert (first.outcome, first.competencies, first.profiles) == ("created", 28, 17)
    v1 = published_version(session)
    old_ctl04 = session.scalar(
        select(Competency).where(Competency.version_id == v1.id, Competency.code == "CTL-04")
    )
    old_str03 = session.scalar(
        select(Competency).where(Competency.version_id == v1.id, Competency.code == "STR-03")
    )
    person = make_person()
    for comp in (old_ctl04, old_str03):
        session.add(
            Evidence(
                person_id=person.id,
                competency_id=comp.id,
                competency_code=comp.code,
                source=Source.ASSESSMENT,
                level=3,
                achieved_on=date(2026, 1, 5),
                validated=True,
            )
        )
    session.commit()
    old_names = {old_ctl04.id: old_ctl04.name, old_str03.id: old_str03.name}
    old_indicators = dict(old_ctl04.indicators)
    assert set(old_indicators) == {"2", "3", "5"}

    result = app.test_cli_runner().invoke(args=["content", "load"])
    assert result.exit_code == 0, result.output
    assert "changed: published version 2 (30 competencies, 32 role profiles)" in result.output

    session.expire_all()
    versions = session.scalars(select(FrameworkVersion).order_by(FrameworkVersion.number)).all()
    assert [(v.number, v.status) for v in versions] == [
        (1, VersionStatus.RETIRED),
        (2, VersionStatus.PUBLISHED),
    ]
    v2 = versions[1]
    # Old evidence keeps pointing at version 1's definitions, unchanged.
    for evidence in session.scalars(select(Evidence)):
        assert evidence.competency.version_id == v1.id
        assert evidence.competency.name == old_names[evidence.competency_id]
    assert session.get(Competency, old_ctl04.id).indicators == old_indicators
    new_ctl04 = session.scalar(
        select(Competency).where(Competency.version_id == v2.id, Competency.code == "CTL-04")
    )
    assert set(new_ctl04.indicators) == {"1", "2", "3", "4", "5"}
    assert new_ctl04.boundary
    new_str03 = session.scalar(
        select(Competency).where(Competency.version_id == v2.id, Competency.code == "STR-03")
    )
    assert new_str03.name == "Benefits & value management" != old_names[old_str03.id]
    assert "not the P3O Practitioner" in v2.levels[3].note and v1.levels[3].note == ""
    assert len(v2.certificates) == 33 and v1.certificates == []
    p3o_f = next(c for c in v2.certificates if c.code == "P3O-F")
    assert (p3o_f.max_level, p3o_f.evidences) == (2, {"GOV-01": 2, "GOV-05": 2})
    f12 = session.scalar(select(Role).where(Role.code == "F12"))
    assert f12 is not None and len(f12.aliases) >= 2

    again = app.test_cli_runner().invoke(args=["content", "load"])
    assert "unchanged at version 2" in again.output


# --- the certificate catalogue ------------------------------------------------------------


def test_shipped_certificates_are_sober():
    framework = check_framework(read_yaml(FRAMEWORK))
    certificates = check_certificates(read_yaml(CERTIFICATES), framework)
    assert len(certificates) == 33
    cap = framework.caps["external_certificate"]
    for cert in certificates:
        assert max(cert["evidences"].values()) == cert["max_level"] <= cap == 3, cert["code"]
        if "Foundation" in cert["name"]:
            assert cert["max_level"] <= 2, cert["code"]
    by_code = {c["code"]: c for c in certificates}
    assert by_code["P3O-F"]["evidences"] == {"GOV-01": 2, "GOV-05": 2}
    assert by_code["P3O-P"]["max_level"] == 3


def broken_catalogue(tmp_path, old: str, new: str) -> Path:
    text = CERTIFICATES.read_text()
    assert old in text
    target = tmp_path / "certificates.yaml"
    target.write_text(text.replace(old, new, 1))
    return target


def errors_of(path: Path) -> list:
    framework = check_framework(read_yaml(FRAMEWORK))
    with pytest.raises(ContentInvalid) as caught:
        check_certificates(read_yaml(path, "certificates.yaml"), framework)
    return caught.value.errors


def test_unknown_competency_in_a_certificate_points_at_its_key_and_line(tmp_path):
    bad = broken_catalogue(tmp_path, "      GOV-05: 2\n", "      GOV-95: 2\n")
    (error,) = errors_of(bad)
    assert (error.file, error.path) == ("certificates.yaml", "certificates[0].evidences.GOV-95")
    assert error.line == line_of(bad, "GOV-95")
    assert "unknown competency code 'GOV-95'" in error.message


def test_a_level_above_the_certificates_max_level_is_an_error(tmp_path):
    bad = broken_catalogue(tmp_path, "      GOV-01: 2\n", "      GOV-01: 3\n")
    (error,) = errors_of(bad)
    assert error.path == "certificates[0].evidences.GOV-01"
    assert error.line == line_of(bad, "GOV-01: 3")
    assert "above the certificate's max_level 2" in error.message


def test_a_max_level_above_the_frameworks_certificate_cap_is_an_error(tmp_path):
    bad = broken_catalogue(tmp_path, "    max_level: 3\n", "    max_level: 4\n")
    (error,) = errors_of(bad)
    assert error.path == "certificates[1].max_level"
    assert "above the framework's cap for external certificates (3)" in error.message


def test_duplicate_certificate_codes_and_names_name_both_places(tmp_path):
    bad = broken_catalogue(tmp_path, "code: P3O-P", "code: P3O-F")
    bad.write_text(bad.read_text().replace("name: PRINCE2 Foundation", "name: p3o  foundation"))
    errors = {e.path: e for e in errors_of(bad)}
    assert set(errors) == {"certificates[1].code", "certificates[2].name"}
    assert "duplicate code 'P3O-F' (also certificates[0])" in errors["certificates[1].code"].message
    assert errors["certificates[1].code"].line == line_of(bad, "code: P3O-F", 1)
    assert "(also certificates[0])" in errors["certificates[2].name"].message


def test_content_check_covers_the_catalogue(app, tmp_path):
    bad = broken_catalogue(tmp_path, "      GOV-05: 2\n", "      GOV-95: 2\n")
    (tmp_path / "framework.yaml").write_text(FRAMEWORK.read_text())
    errors = check_files(sorted(tmp_path.glob("*.yaml")), tmp_path)
    assert [(e.file, e.path, e.line) for e in errors] == [
        ("certificates.yaml", "certificates[0].evidences.GOV-95", line_of(bad, "GOV-95"))
    ]
    result = app.test_cli_runner().invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output


def test_a_broken_catalogue_loads_nothing(app, session, tmp_path):
    bad = broken_catalogue(tmp_path, "      GOV-05: 2\n", "      GOV-95: 2\n")
    result = app.test_cli_runner().invoke(args=["content", "load", "--certificates", str(bad)])
    assert result.exit_code == 1
    assert "GOV-95" in result.output and "nothing was loaded" in result.output
    assert session.scalars(select(FrameworkVersion)).all() == []
    assert session.scalars(select(Certificate)).all() == []


# --- the rules in the role-profiles header --------------------------------------------------


@pytest.fixture(scope="module")
def profiles():
    roles = {r["code"] for r in yaml.safe_load(ROLES.read_text())["roles"]}
    framework = check_framework(read_yaml(FRAMEWORK))
    resolved = check_profiles(read_yaml(PROFILES), framework, roles)
    assert set(resolved) == roles  # rule 11: every role has exactly one profile
    return resolved


def peak(reqs) -> int:
    return max(level for level, _ in reqs.values())


def test_rule_1_everything_at_the_peak_is_essential(profiles):
    for role, reqs in profiles.items():
        for code, (level, essential) in reqs.items():
            if level == peak(reqs):
                assert essential, (role, code)


def test_rule_3_and_4_essential_near_the_peak_and_nothing_at_level_1(profiles):
    for role, reqs in profiles.items():
        for code, (level, essential) in reqs.items():
            assert level >= 2, (role, code)
            if essential:
                assert level >= peak(reqs) - 2, (role, code)


LEVEL_5 = {
    "R01": {"STR-01", "GOV-01", "GOV-05", "PPL-02"},
    "P02": {"STR-01", "GOV-01", "GOV-05", "PPL-02"},
    "R08": {"STR-01", "STR-03", "STR-04"},
    "R09": {"FIN-02"},
    "R10": {"PPL-04"},
    "P07": {"GOV-02", "GOV-03", "INF-03", "PPL-04"},
}


def test_rule_5_level_5_only_where_the_job_shapes_the_organisations_practice(profiles):
    at_5 = {
        role: {code for code, (level, _) in reqs.items() if level == 5}
        for role, reqs in profiles.items()
    }
    assert {role: codes for role, codes in at_5.items() if codes} == LEVEL_5


def test_rule_6_the_director_is_never_below_the_coordinator_in_strategy_and_governance(
    profiles,
):
    director, coordinator = profiles["R01"], profiles["R04"]
    codes = check_framework(read_yaml(FRAMEWORK)).competency_codes()
    for code in (c for c in codes if c[:3] in ("STR", "GOV")):
        assert director.get(code, (0, False))[0] >= coordinator.get(code, (0, False))[0], code


def test_rule_7_the_coordinators_six_functions_are_essential_at_its_peak(profiles):
    coordinator = profiles["R04"]
    assert peak(coordinator) == 3
    for code in ("CTL-04", "CTL-05", "CTL-06", "FIN-01", "INF-01", "INF-02"):
        assert coordinator[code] == (3, True), code


FUNCTIONS = {
    "F01": ["STR-03"],
    "F02": ["FIN-03"],
    "F03": ["PPL-01"],
    "F04": ["INF-02"],
    "F05": ["GOV-03", "GOV-02"],
    "F06": ["FIN-01"],
    "F07": ["CTL-05"],
    "F08": ["CTL-06"],
    "F09": ["CTL-01"],
    "F10": ["CTL-07", "GOV-02"],
    "F11": ["FIN-02"],
    "F12": ["CTL-04"],
    "F13": ["INF-01"],
    "F14": ["GOV-04"],
    "F15": ["INF-04"],
}


def test_rule_8_each_functional_role_holds_its_function_at_4_essential(profiles):
    raw = {p["role"]: p for p in yaml.safe_load(PROFILES.read_text())["profiles"]}
    for role, codes in FUNCTIONS.items():
        assert raw[role]["based_on"] == "R04", role
        assert peak(profiles[role]) == 4, role
        for code in codes:
            assert profiles[role][code] == (4, True), (role, code)


def test_rules_9_and_10_overrides_change_something_and_bases_are_full_profiles(profiles):
    raw = {p["role"]: p for p in yaml.safe_load(PROFILES.read_text())["profiles"]}
    for role, entry in raw.items():
        base = entry.get("based_on")
        if not base:
            continue
        assert "based_on" not in raw[base], role
        for kind, essential in (("essential", True), ("desirable", False)):
            for code, level in (entry.get(kind) or {}).items():
                assert profiles[base].get(code) != (level, essential), (role, code)


def test_issue_10_corrections(profiles):
    assert profiles["R03"]["FIN-02"] == (2, False)
    assert profiles["R03"]["GOV-02"] == (3, False)
    assert profiles["R09"]["FIN-01"] == (2, False) and profiles["R09"]["INF-04"][0] == 3
    assert profiles["R10"]["INF-04"] == (3, False) and profiles["R10"]["GOV-03"][0] == 3
    assert profiles["R06"]["PPL-01"][0] == profiles["R06"]["PPL-05"][0] == 4
    assert profiles["R08"]["STR-03"] == (5, True)
    assert profiles["P05"]["INF-01"][1] is False and profiles["P05"]["INF-04"][1] is False
    assert profiles["P05"]["GOV-02"] == (4, True)
    assert profiles["P07"]["GOV-02"] == (5, True)
    assert profiles["R02"]["PPL-04"][1] is True
