"""The shipped assessments (assessments/definitions/*.yaml): what the plan asks of each, the
check (each error and warning with its file, line and key path), the rules a definition
meets against the banks it draws from (pools, certification coverage), loading as an
upsert that leaves attempts as they were, and export -> load changing nothing."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.assessment.authoring_queries import all_definitions, assessment_by_code, definition_of
from app.assessment.content import BankContent, ItemContent, Option, ScenarioContent
from app.assessment.definition import (
    AssessmentDefinition,
    DefinitionReferences,
    SectionDefinition,
    competency_coverage,
    definition_findings,
    definition_from_data,
    items_per_form,
    section_pools,
)
from app.assessment.models import Assessment, AssessmentSection, Attempt, AttemptItem, ItemVersion
from app.content.assessment_export import export_definitions, export_definitions_text
from app.content.assessment_load import load_definitions
from app.content.assessment_schema import read_bank_references
from app.content.bank_load import load_banks
from app.content.checks import check_files, content_files
from app.content.files import ContentInvalid, read_yaml
from app.content.framework_load import load_framework
from app.content.learning_load import load_paths
from app.content.roles import load_roles
from tests.factories import make_person

ROOT = Path(__file__).resolve().parents[2]
ASSESSMENTS = ROOT / "assessments"
DEFINITIONS = ASSESSMENTS / "definitions"
CURRICULA = ROOT / "curricula"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def shipped() -> dict[str, AssessmentDefinition]:
    out = {}
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        for entry in read_yaml(path).data["assessments"]:
            definition = definition_from_data(entry)
            out[definition.code] = definition
    return out


@pytest.fixture(scope="module")
def banks():
    found = read_bank_references(ASSESSMENTS, None)
    assert found is not None
    return found


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --- the shipped files -----------------------------------------------------------------------


def test_all_shipped_content_checks_clean_without_warnings():
    files = content_files(CURRICULA, ASSESSMENTS)
    assert any(p.parent.name == "definitions" for p in files)
    warnings: list = []
    assert check_files(files, ROOT, warnings) == []
    assert warnings == []


def test_one_file_checks_on_its_own_against_the_shipped_banks_and_paths():
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        warnings: list = []
        assert check_files([path], ROOT, warnings) == [], path
        assert warnings == []
    # and the paths alone still find every assessment their modules name
    assert check_files(content_files(CURRICULA), ROOT) == []


def test_the_foundation_practice_test_follows_the_format(banks):
    d = shipped()["P3OF-PRACTICE"]
    assert (d.time_limit_minutes, d.pass_percent, d.module) == (60, 50, "P3OF-08")
    assert dict(d.certifies) == {"GOV-05": 2, "GOV-01": 2}
    assert (d.attempt_limit, d.wait_minutes, d.feedback) == (3, 24 * 60, "after_submission")
    assert {s.bank for s in d.sections} == {"P3OF-BANK"}
    per_topic: dict[str, int] = {}
    for s in d.sections:
        (topic,) = s.topics
        per_topic[topic] = per_topic.get(topic, 0) + s.count
    assert per_topic == {
        "VOC": 6,
        "PUR": 9,
        "MOD": 15,
        "SRV": 15,
        "ROL": 11,
        "TEC": 11,
        "LIF": 8,
    }
    weights = {"VOC": 8, "PUR": 12, "MOD": 20, "SRV": 20, "ROL": 15, "TEC": 15, "LIF": 10}
    for topic, count in per_topic.items():
        assert abs(count - 75 * weights[topic] / 100) < 1, topic
    assert items_per_form(d, banks) == 75
    assert sum(s.unscored for s in d.sections) == 5  # 70 scored + 5 unscored
    # every form holds at least five scored items on each competency it certifies
    coverage = competency_coverage(d, banks)
    assert coverage["GOV-01"].least >= 5 and coverage["GOV-05"].least >= 5
    # the bank holds enough for two different forms: every topic at least twice
    bank = banks["P3OF-BANK"]
    topics = [i.topic for i in bank.items]
    assert all(topics.count(t) > n for t, n in per_topic.items())


def test_the_practitioner_practice_test_is_four_scenarios_of_twenty(banks):
    d = shipped()["P3OP-PRACTICE"]
    assert (d.time_limit_minutes, d.pass_percent, d.module) == (150, 50, "P3OP-08")
    assert dict(d.certifies) == {"GOV-05": 3, "GOV-01": 3}
    (section,) = d.sections
    assert (section.bank, section.unit, section.count) == ("P3OP-BANK", "scenario", 4)
    assert items_per_form(d, banks) == 80
    assert d.pass_percent * 80 // 100 == 40


def test_every_role_bank_has_its_assessment_certifying_at_most_level_three(banks):
    definitions = shipped()
    by_bank = {}
    for d in definitions.values():
        for s in d.sections:
            by_bank.setdefault(s.bank, set()).add(d.code)
    for bank in ("COORD-BANK", "ANLST-BANK", "PMOM-BANK", "HPMO-BANK"):
        assert by_bank[bank], bank
    delivery = {c for c in by_bank["DELIVERY-BANK"]}
    assert delivery == {f"{r}-ASSESS" for r in ("PSUP", "PM", "PGM", "PFM", "RESM", "TDS")}
    for code in delivery:
        assert {t for s in definitions[code].sections for t in s.topics} == {code[:-7]}
    for d in definitions.values():
        assert all(level <= 3 for _, level in d.certifies)
    coord = definitions["COORD-ASSESS"]
    assert coord.sections[0].unit == "scenario" and items_per_form(coord, banks) == 30


def test_knowledge_checks_draw_five_per_module_and_certify_nothing():
    checks = {c: d for c, d in shipped().items() if c.endswith("-CHECK")}
    assert sorted(checks) == sorted(
        [f"P3OF-0{n}-CHECK" for n in range(1, 8)] + [f"COORD-0{n}-CHECK" for n in range(1, 9)]
    )
    for d in checks.values():
        assert d.certifies == () and d.module is None
        assert [s.count for s in d.sections] == [5]
        assert d.feedback == "after_submission"
        assert d.sections[0].bank in ("P3OF-CHECKS", "COORD-CHECKS")


def test_every_assessment_module_names_the_assessment_that_names_it():
    definitions = shipped()
    modules = {}
    for path in sorted((CURRICULA / "learning").glob("*.yaml")):
        for m in read_yaml(path).data["modules"]:
            if m["type"] == "assessment":
                modules[m["code"]] = m.get("assessment")
    assert modules and all(modules.values()), modules
    for module, code in modules.items():
        assert definitions[code].module == module


# --- the check reports each error at its file, line and key path ----------------------------


BAD = """\
kind: assessment-set
assessments:
  - code: BAD-ONE
    title: Broken on purpose
    module: P3OF-07
    opens_at: next tuesday
    sections:
      - bank: NO-SUCH-BANK
        count: 5
  - code: BAD-TWO
    title: Also broken
    module: NOPE-01
    sections:
      - bank: P3OF-BANK
        count: 27
        topics: [MOD]
      - bank: P3OF-BANK
        count: 5
        topics: [XYZ]
    certifies:
      STR-02: 2
      GOV-01: 2
  - code: BAD-TWO
    title: The same code again
    sections: []
"""


def test_the_check_names_file_line_and_key_of_each_error(tmp_path):
    folder = tmp_path / "assessments" / "definitions"
    folder.mkdir(parents=True)
    bad = folder / "bad.yaml"
    bad.write_text(BAD)
    paths = [CURRICULA / "framework.yaml", bad]
    warnings: list = []
    errors = check_files(paths, ROOT, warnings)
    found = {(e.path, e.line): e.message for e in errors if e.file.endswith("bad.yaml")}
    assert "not a date and time" in found[("assessments[0].opens_at", 6)]
    assert any(
        k == ("assessments[1].sections[0].count", 15) and "holds 26 items" in v
        for k, v in found.items()
    ), found
    assert "unknown topic 'XYZ'" in found[("assessments[1].sections[1].topics[0]", 19)]
    assert "unknown learning module 'NOPE-01'" in found[("assessments[1].module", 12)]
    assert "no form can certify STR-02" in found[("assessments[1].certifies.STR-02", 21)]
    assert "duplicate assessment code 'BAD-TWO'" in found[("assessments[2].code", 23)]
    # the first entry is left out (its opening is not a date), so its bank is not reported
    assert not any(k[0].startswith("assessments[0].sections") for k in found)


def test_a_module_of_another_type_and_an_unknown_bank_are_errors_and_thin_coverage_warns(
    tmp_path,
):
    text = """\
kind: assessment-set
assessments:
  - code: BAD-THREE
    title: Module of the wrong type
    module: P3OF-07
    sections:
      - bank: NO-SUCH-BANK
        count: 5
  - code: THIN
    title: Certifies a competency some forms barely touch
    sections:
      - bank: P3OF-BANK
        count: 11
        topics: [ROL]
    certifies:
      GOV-01: 2
"""
    bad = tmp_path / "thin.yaml"
    bad.write_text(text)
    warnings: list = []
    errors = check_files([CURRICULA / "framework.yaml", bad], ROOT, warnings)
    found = {(e.path, e.line): e.message for e in errors if e.file.endswith("thin.yaml")}
    assert "of type e-learning" in found[("assessments[0].module", 5)]
    assert "unknown bank 'NO-SUCH-BANK'" in found[("assessments[0].sections[0].bank", 7)]
    (warning,) = [w for w in warnings if w.file.endswith("thin.yaml")]
    assert (warning.path, warning.line) == ("assessments[1].certifies.GOV-01", 16)
    assert "some forms cannot certify GOV-01" in warning.message
    assert "0 to 6 scored items" in warning.message


def test_a_learning_module_naming_an_unknown_assessment_is_an_error(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(CURRICULA, tree / "curricula")
    shutil.copytree(ASSESSMENTS, tree / "assessments")
    path = tree / "curricula" / "learning" / "pmo-analyst.yaml"
    path.write_text(path.read_text().replace("assessment: ANLST-ASSESS", "assessment: GHOST"))
    errors = check_files(content_files(tree / "curricula", tree / "assessments"), tree)
    by_file = {e.file: e for e in errors}
    assert len(errors) == 2
    error = by_file["curricula/learning/pmo-analyst.yaml"]
    assert error.path.endswith(".assessment") and "unknown assessment 'GHOST'" in error.message
    assert error.line == line_of(path, "assessment: GHOST")
    # and the assessment that names the module says the two disagree
    other = by_file["assessments/definitions/role-assessments.yaml"]
    assert other.path.endswith(".module") and "names assessment GHOST" in other.message


# --- the rules on their own ------------------------------------------------------------------


def _item(ident: str, topic: str, competency: str) -> ItemContent:
    options = tuple(Option(f"option {n}", "why", n == 0) for n in range(4))
    return ItemContent(ident, "single", topic, competency, 2, stem="Which?", options=options)


def _bank() -> BankContent:
    items = tuple(_item(f"T-A-{n:02d}", "A", "GOV-01" if n < 4 else "GOV-05") for n in range(8))
    case = ScenarioContent(
        "T-SC1", "A case", "The case.", tuple(_item(f"T-S-{n}", "B", "GOV-01") for n in range(5))
    )
    return BankContent(
        "T-BANK", "Test", "role", "us", True, (("A", "a"), ("B", "b")), items, (case,)
    )


def test_sections_draw_in_order_and_never_the_same_item_twice():
    bank = {"T-BANK": _bank()}
    d = AssessmentDefinition(
        "T",
        "T",
        sections=(
            SectionDefinition("T-BANK", 1, unit="scenario"),  # takes the only scenario
            SectionDefinition("T-BANK", 8),  # so only the eight stand-alone items are left
        ),
        certifies=(("GOV-01", 2),),
    )
    pools = section_pools(d, bank)
    assert [len(p.units) for p in pools if p] == [1, 8]
    assert competency_coverage(d, bank)["GOV-01"].least == 9
    assert definition_findings(d, DefinitionReferences(banks=bank)).errors == []
    # a random draw before a section that wants every item it admits may starve it
    starved = AssessmentDefinition(
        "T",
        "T",
        sections=(SectionDefinition("T-BANK", 3), SectionDefinition("T-BANK", 12)),
    )
    errors = definition_findings(starved, DefinitionReferences(banks=bank)).errors
    assert [p.key for p in errors] == ["sections[1].count"]
    assert "the sections before it may take 3" in errors[0].message


def test_scenario_sections_take_no_unscored_items_and_unscored_cannot_be_everything():
    bank = {"T-BANK": _bank()}
    d = AssessmentDefinition(
        "T",
        "T",
        sections=(
            SectionDefinition("T-BANK", 1, unit="scenario", unscored=1),
            SectionDefinition("T-BANK", 2, unscored=2),
        ),
    )
    keys = {p.key for p in definition_findings(d, DefinitionReferences(banks=bank)).errors}
    assert {"sections[0].unscored", "sections[1].unscored"} <= keys


def test_settings_are_checked_with_their_bounds():
    d = AssessmentDefinition(
        "lower-case",
        "",
        pass_percent=0,
        time_limit_minutes=0,
        attempt_limit=0,
        wait_minutes=-1,
        feedback="after_close",
        opens_at=NOW,
        closes_at=NOW,
    )
    keys = [p.key for p in definition_findings(d).errors]
    assert keys == [
        "code",
        "title",
        "pass_percent",
        "time_limit_minutes",
        "attempt_limit",
        "wait_minutes",
        "closes_at",
        "sections",
    ]


# --- loading ---------------------------------------------------------------------------------


def load_everything(session, root: Path = ROOT):
    load_roles(session, root / "curricula" / "roles.yaml")
    load_framework(
        session,
        root / "curricula" / "framework.yaml",
        root / "curricula" / "role-profiles.yaml",
        certificates_path=root / "curricula" / "certificates.yaml",
    )
    load_paths(session, sorted((root / "curricula" / "learning").glob("*.yaml")), root)
    load_banks(session, root / "assessments")
    return load_definitions(session, root / "assessments", now=NOW)


def test_load_creates_every_shipped_assessment_then_changes_nothing(session):
    report = load_everything(session)
    session.commit()
    assert set(report.outcomes) == set(shipped())
    assert set(report.outcomes.values()) == {"created"}
    foundation = assessment_by_code(session, "P3OF-PRACTICE")
    assert definition_of(foundation) == shipped()["P3OF-PRACTICE"]
    assert foundation.status.value == "published" and foundation.module_code == "P3OF-08"
    versions = dict(session.execute(select(Assessment.code, Assessment.row_version)).all())
    again = load_definitions(session, ASSESSMENTS, now=NOW)
    session.commit()
    assert set(again.outcomes.values()) == {"unchanged"}
    assert dict(session.execute(select(Assessment.code, Assessment.row_version)).all()) == versions


def test_a_changed_definition_updates_the_assessment_and_attempts_keep_theirs(session, tmp_path):
    load_everything(session)
    assessment = assessment_by_code(session, "P3OF-PRACTICE")
    item = session.scalars(select(ItemVersion).limit(1)).one()
    attempt = Attempt(
        assessment_id=assessment.id,
        person_id=make_person().id,
        number=1,
        started_at=NOW,
        deadline=datetime(2025, 6, 2, 10, 0, tzinfo=UTC),
        pass_percent=assessment.pass_percent,
        items=[AttemptItem(position=0, section=4, item_version_id=item.id)],
    )
    session.add(attempt)
    session.commit()
    before = assessment.row_version
    section_ids = [s.id for s in assessment.sections]

    tree = tmp_path / "assessments"
    shutil.copytree(ASSESSMENTS, tree)
    path = tree / "definitions" / "p3o-practice-tests.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["assessments"][0]["pass_percent"] = 60
    doc["assessments"][0]["sections"] = doc["assessments"][0]["sections"][:7]
    doc["assessments"][0]["sections"][6]["count"] = 19  # TEC 11 + LIF 8 in one section
    doc["assessments"][0]["sections"][6]["topics"] = ["TEC", "LIF"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    report = load_definitions(session, tree, now=NOW)
    session.commit()
    assert report.outcomes["P3OF-PRACTICE"] == "updated"
    assert report.outcomes["P3OP-PRACTICE"] == "unchanged"
    session.expire_all()
    assessment = assessment_by_code(session, "P3OF-PRACTICE")
    assert assessment.pass_percent == 60 and assessment.row_version == before + 1
    assert len(assessment.sections) == 7
    assert [s.id for s in assessment.sections] == section_ids[:7]  # updated in place
    kept = session.get(Attempt, attempt.id)
    assert kept.pass_percent == 50
    assert [(i.item_version_id, i.section) for i in kept.items] == [(item.id, 4)]


def test_load_refuses_a_definition_the_database_cannot_serve(session, tmp_path):
    load_everything(session)
    session.commit()
    tree = tmp_path / "assessments"
    (tree / "definitions").mkdir(parents=True)
    path = tree / "definitions" / "extra.yaml"
    path.write_text(
        "kind: assessment-set\nassessments:\n  - code: EXTRA\n    title: Extra\n"
        "    sections:\n      - bank: GHOST-BANK\n        count: 3\n"
    )
    with pytest.raises(ContentInvalid) as caught:
        load_definitions(session, tree, now=NOW)
    (error,) = caught.value.errors
    assert (error.file, error.path, error.line) == (
        "assessments/definitions/extra.yaml",
        "assessments[0].sections[0].bank",
        6,
    )
    assert session.scalar(select(func.count()).select_from(Assessment)) == len(shipped())


def test_export_then_load_changes_nothing(session, tmp_path):
    load_everything(session)
    session.commit()
    written = export_definitions(session, tmp_path / "assessments")
    assert written is not None and written.name == "assessments.yaml"
    text = written.read_text()
    assert text == export_definitions_text(all_definitions(session))
    report = load_definitions(session, tmp_path / "assessments", now=NOW)
    assert set(report.outcomes.values()) == {"unchanged"}
    assert len(report.outcomes) == len(shipped())
    exported = {
        definition_from_data(e).code: definition_from_data(e)
        for e in yaml.safe_load(text)["assessments"]
    }
    assert exported == shipped()
    assert session.scalar(select(func.count()).select_from(AssessmentSection)) == sum(
        len(d.sections) for d in shipped().values()
    )
