"""Learning path files: `content check` with file, line and key path; `content load` as
published path versions (idempotent, new versions retire the old, enrolments keep theirs,
enrolment rules upserted); `content export` round-trips to the same content hash."""

from __future__ import annotations

import copy
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.content.checks import check_files
from app.content.files import ContentInvalid
from app.content.learning_export import export_paths
from app.content.learning_load import load_paths, read_path_files
from app.learning.content import word_count
from app.learning.models import (
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    LearningPath,
    PathChange,
    PathModule,
    PathStatus,
    PathVersion,
)
from app.learning.path_queries import content_of, path_by_code, published_version
from app.org.models import Role
from tests.factories import make_person
from tests.shipped import load_shipped_content

ROOT = Path(__file__).resolve().parents[2]
CURRICULA = ROOT / "curricula"
REFERENCE_FILES = ("roles.yaml", "framework.yaml", "certificates.yaml", "role-profiles.yaml")

LESSON = (
    "## Key ideas\n\n"
    + "A risk register earns its keep only when an owner acts on each entry before it bites. " * 14
    + "\n\n## Worked example\n\n"
    + "The office reviews the register each Monday and chases owners of stale entries. " * 6
    + "\n\n## Exercise\n\nReview one register you own and list three stale entries.\n"
)


def a_module(code: str, **changes) -> dict:
    item = {
        "code": code,
        "title": f"Module {code}",
        "type": "e-learning",
        "hours": 1.5,
        "outcomes": ["Explain what a register is for.", "Apply the review rhythm."],
        "evidences": {"CTL-04": 1},
        "lesson": LESSON,
    }
    item.update(changes)
    return item


def a_path(code: str = "TSTA", modules: list[dict] | None = None, **changes) -> dict:
    doc = {
        "kind": "learning-path",
        "code": code,
        "title": f"Test path {code}",
        "summary": "A path for the tests: what it is for and who should take it.",
        "audience": ["R04", "R03"],
        "open": True,
        "prerequisites": [],
        "enrolment_rules": [{"role": "R04", "due_days": 90}],
        "modules": modules
        or [a_module(f"{code}-01"), a_module(f"{code}-02", requires=[f"{code}-01"])],
    }
    doc.update(changes)
    return doc


@pytest.fixture
def tree(tmp_path) -> Path:
    """A content root: the shipped reference files in curricula/, and an empty
    curricula/learning/ for the test's own path files."""
    (tmp_path / "curricula" / "learning").mkdir(parents=True)
    for name in REFERENCE_FILES:
        shutil.copy(CURRICULA / name, tmp_path / "curricula" / name)
    return tmp_path


def write(tree: Path, name: str, doc: dict) -> Path:
    target = tree / "curricula" / "learning" / name
    target.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return target


def learning_files(tree: Path) -> list[Path]:
    return sorted((tree / "curricula" / "learning").glob("*.yaml"))


def check(tree: Path) -> list:
    return check_files(learning_files(tree), tree)


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line][nth]


def only_error(tree: Path):
    errors = check(tree)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


# --- content check ------------------------------------------------------------------------------


def test_the_fixture_lesson_is_within_the_word_range():
    assert 250 <= word_count(LESSON) <= 600


def test_a_sound_path_file_passes_the_check(tree):
    write(tree, "a.yaml", a_path())
    assert check(tree) == []


def test_unknown_competency_is_reported_at_its_file_line_and_key(tree):
    bad = write(tree, "a.yaml", a_path(modules=[a_module("TSTA-01", evidences={"ZZZ-09": 1})]))
    error = only_error(tree)
    assert error.file == "curricula/learning/a.yaml"
    assert error.path == "modules[0].evidences.ZZZ-09"
    assert error.line == line_of(bad, "ZZZ-09")
    assert "unknown competency code 'ZZZ-09'" in str(error)
    assert str(error).startswith(f"curricula/learning/a.yaml:{error.line}: modules[0]")


@pytest.mark.parametrize(
    ("module_type", "level", "cap"),
    [("e-learning", 3, 2), ("reading", 3, 2), ("workshop", 3, 2), ("assessment", 4, 3)],
)
def test_a_level_above_the_module_types_cap_is_an_error(tree, module_type, level, cap):
    bad = write(
        tree,
        "a.yaml",
        a_path(modules=[a_module("TSTA-01", type=module_type, evidences={"CTL-04": level})]),
    )
    error = only_error(tree)
    assert error.path == "modules[0].evidences.CTL-04"
    assert error.line == line_of(bad, "CTL-04")
    assert error.message == (
        f"level {level} is above what completing a module of type {module_type} can "
        f"evidence ({cap})"
    )


def test_on_the_job_may_evidence_level_4_but_not_5(tree):
    write(
        tree,
        "a.yaml",
        a_path(modules=[a_module("TSTA-01", type="on-the-job", evidences={"CTL-04": 4})]),
    )
    assert check(tree) == []
    write(
        tree,
        "a.yaml",
        a_path(modules=[a_module("TSTA-01", type="on-the-job", evidences={"CTL-04": 5})]),
    )
    assert "(4)" in only_error(tree).message


def test_the_frameworks_cap_for_the_types_source_also_bounds_the_level(tree):
    framework = tree / "curricula" / "framework.yaml"
    text = framework.read_text()
    assert "  assessment: 3" in text
    framework.write_text(text.replace("  assessment: 3", "  assessment: 2", 1))
    write(
        tree,
        "a.yaml",
        a_path(modules=[a_module("TSTA-01", type="assessment", evidences={"CTL-04": 3})]),
    )
    assert only_error(tree).message.endswith("type assessment can evidence (2)")


def test_duplicate_module_codes_in_a_path(tree):
    bad = write(tree, "a.yaml", a_path(modules=[a_module("TSTA-01"), a_module("TSTA-01")]))
    error = only_error(tree)
    assert error.path == "modules[1].code"
    assert "duplicate module code 'TSTA-01' (also modules[0])" in error.message
    assert error.line == line_of(bad, "code: TSTA-01", nth=1)


def test_duplicate_path_codes_across_files_name_both_files(tree):
    write(tree, "a.yaml", a_path())
    second = write(tree, "b.yaml", a_path())
    error = only_error(tree)
    assert error.file == "curricula/learning/b.yaml"
    assert error.path == "code"
    assert error.line == line_of(second, "code: TSTA")
    assert "duplicate path code 'TSTA' (also curricula/learning/a.yaml)" in error.message


def test_requires_naming_an_unknown_or_a_later_module(tree):
    bad = write(
        tree,
        "a.yaml",
        a_path(
            modules=[
                a_module("TSTA-01", requires=["TSTA-02"]),
                a_module("TSTA-02", requires=["TSTA-09"]),
            ]
        ),
    )
    errors = {e.path: e for e in check(tree)}
    assert set(errors) == {"modules[0].requires", "modules[1].requires"}
    assert "TSTA-02, which comes later" in errors["modules[0].requires"].message
    assert "TSTA-09, which is not in this path" in errors["modules[1].requires"].message
    assert errors["modules[0].requires"].line == line_of(bad, "requires:")


def test_module_prerequisite_cycle(tree):
    write(
        tree,
        "a.yaml",
        a_path(
            modules=[
                a_module("TSTA-01", requires=["TSTA-02"]),
                a_module("TSTA-02", requires=["TSTA-01"]),
            ]
        ),
    )
    messages = [e.message for e in check(tree)]
    assert any("go round in a circle: TSTA-01 → TSTA-02 → TSTA-01" in m for m in messages)


def test_prerequisite_cycle_between_paths(tree):
    write(tree, "a.yaml", a_path("TSTA", prerequisites=[{"any_of": [{"path": "TSTB"}]}]))
    write(
        tree,
        "b.yaml",
        a_path(
            "TSTB",
            prerequisites=[{"any_of": [{"certificate": "P3O-F"}, {"path": "TSTA"}]}],
        ),
    )
    error = only_error(tree)
    assert error.path == "prerequisites"
    assert "TSTA → TSTB → TSTA" in error.message


def test_unknown_codes_of_roles_paths_and_certificates(tree):
    bad = write(
        tree,
        "a.yaml",
        a_path(
            audience=["R04", "R99"],
            prerequisites=[{"any_of": [{"path": "NOPE"}, {"certificate": "NO-CERT"}]}],
            enrolment_rules=[{"role": "R98", "due_days": 30}],
        ),
    )
    errors = {e.path: e for e in check(tree)}
    assert errors["audience[1]"].message == "unknown role code 'R99'"
    assert errors["audience[1]"].line == line_of(bad, "R99")
    assert errors["prerequisites[0].any_of[0]"].message == "unknown path code 'NOPE'"
    assert errors["prerequisites[0].any_of[1]"].message == "unknown certificate code 'NO-CERT'"
    assert errors["enrolment_rules[0].role"].message == "unknown role code 'R98'"
    assert len(errors) == 4


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"outcomes": ["Only one."]}, "outcomes", "1 learning outcome(s); give 2 to 4"),
        ({"outcomes": [f"Do {i}." for i in range(5)]}, "outcomes", "5 learning outcome(s)"),
        ({"lesson": "## Key ideas\n\nToo short."}, "lesson", "the lesson has 4 words"),
        ({"lesson": LESSON * 3}, "lesson", "write 250 to 600"),
        ({"hours": 1.1}, "hours", "quarter hours"),
        ({"hours": 0.1}, "hours", "0.1 is less than the minimum of 0.25"),
        ({"hours": 41}, "hours", "41 is greater than the maximum of 40"),
    ],
)
def test_outcomes_lesson_length_and_hours(tree, changes, key, words):
    bad = write(tree, "a.yaml", a_path(modules=[a_module("TSTA-01", **changes)]))
    error = only_error(tree)
    assert error.path == f"modules[0].{key}"
    assert words in error.message
    assert error.line == line_of(bad, f"{key}:")


def test_schema_errors_carry_the_key_path_and_line(tree):
    doc = a_path()
    del doc["modules"][1]["title"]
    doc["modules"][0]["colour"] = "blue"
    doc["modules"][0]["type"] = "webinar"
    bad = write(tree, "a.yaml", doc)
    errors = {e.path: e for e in check(tree)}
    assert "'title' is a required property" in errors["modules[1]"].message
    assert "'colour' was unexpected" in errors["modules[0]"].message
    assert "'webinar' is not one of" in errors["modules[0].type"].message
    assert errors["modules[0].type"].line == line_of(bad, "webinar")


def test_module_codes_follow_the_path_code(tree):
    write(tree, "a.yaml", a_path(modules=[a_module("OTHER-01")]))
    assert "should be TSTA-NN" in only_error(tree).message


def test_a_learning_file_checked_alone_still_knows_the_curricula(tree, app):
    """`flask content check curricula/learning/a.yaml` reads the framework, roles and
    catalogue from curricula/ to check the codes it names."""
    bad = write(tree, "a.yaml", a_path(modules=[a_module("TSTA-01", evidences={"ZZZ-09": 1})]))
    errors = check_files([bad], tree)
    assert [e.path for e in errors] == ["modules[0].evidences.ZZZ-09"]


def test_check_command_reports_file_line_and_key(app, tmp_path):
    doc = a_path(modules=[a_module("TSTA-01", evidences={"CTL-04": 3})])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False))
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "content",
            "check",
            str(bad),
            str(CURRICULA / "framework.yaml"),
            str(CURRICULA / "roles.yaml"),
            str(CURRICULA / "certificates.yaml"),
        ]
    )
    assert result.exit_code == 1
    assert (
        f"bad.yaml:{line_of(bad, 'CTL-04')}: modules[0].evidences.CTL-04: level 3" in result.output
    )


# --- content load -------------------------------------------------------------------------------


@pytest.fixture
def framework(app, session):
    load_shipped_content(session)
    session.commit()


def versions_of(session, code: str) -> list[tuple[int, str]]:
    return [
        (v.number, v.status.value)
        for v in session.scalars(
            select(PathVersion)
            .join(LearningPath)
            .where(LearningPath.code == code)
            .order_by(PathVersion.number)
        )
    ]


def test_load_makes_a_published_version_with_everything_in_it(framework, session, tree):
    write(
        tree,
        "a.yaml",
        a_path(modules=[a_module("TSTA-01", hours=2.5, evidences={"CTL-04": 2, "GOV-01": 1})]),
    )
    write(
        tree,
        "b.yaml",
        a_path("TSTB", prerequisites=[{"any_of": [{"path": "TSTA"}, {"certificate": "P3O-F"}]}]),
    )
    report = load_paths(session, learning_files(tree), tree)
    session.commit()
    assert [(p.code, p.outcome, p.version) for p in report.paths] == [
        ("TSTA", "created", 1),
        ("TSTB", "created", 1),
    ]
    version = published_version(session, path_by_code(session, "TSTA").id)
    assert version.status == PathStatus.PUBLISHED and version.published_at is not None
    assert [r.code for r in version.audience] == ["R03", "R04"]
    (module,) = version.modules
    assert module.minutes == 150 and module.code == "TSTA-01"
    assert {e.competency_code: e.level for e in module.evidences} == {"CTL-04": 2, "GOV-01": 1}
    assert module.lesson.startswith("## Key ideas") and module.outcomes[0].startswith("Explain")
    b = published_version(session, path_by_code(session, "TSTB").id)
    assert {(p.alternative_set, p.path_code, p.certificate_code) for p in b.prerequisites} == {
        (0, None, "P3O-F"),
        (0, "TSTA", None),
    }
    rule = session.scalar(select(EnrolmentRule).join(Role).where(Role.code == "R04"))
    assert rule.due_days == 90 and rule.active
    assert session.scalar(select(func.count()).select_from(PathChange)) >= 2


def test_loading_the_same_files_twice_changes_nothing(framework, session, tree):
    write(tree, "a.yaml", a_path())
    load_paths(session, learning_files(tree), tree)
    session.commit()
    counts = [
        session.scalar(select(func.count()).select_from(t))
        for t in (PathVersion, PathModule, EnrolmentRule, PathChange)
    ]
    report = load_paths(session, learning_files(tree), tree)
    session.commit()
    assert report.paths[0].outcome == "unchanged"
    assert versions_of(session, "TSTA") == [(1, "published")]
    assert [
        session.scalar(select(func.count()).select_from(t))
        for t in (PathVersion, PathModule, EnrolmentRule, PathChange)
    ] == counts


def test_changed_content_is_a_new_version_and_enrolled_learners_keep_theirs(
    framework, session, tree
):
    write(tree, "a.yaml", a_path())
    load_paths(session, learning_files(tree), tree)
    old = published_version(session, path_by_code(session, "TSTA").id)
    person = make_person()
    session.add(
        Enrolment(
            person_id=person.id,
            path_id=old.path_id,
            version_id=old.id,
            source=EnrolmentSource.HAND,
            due_on=date(2027, 1, 1),
        )
    )
    session.commit()
    doc = a_path()
    doc["modules"][0]["title"] = "A better title"
    write(tree, "a.yaml", doc)
    report = load_paths(session, learning_files(tree), tree)
    session.commit()
    assert (report.paths[0].outcome, report.paths[0].version) == ("new-version", 2)
    assert versions_of(session, "TSTA") == [(1, "retired"), (2, "published")]
    assert session.get(PathVersion, old.id).retired_at is not None
    enrolment = session.scalar(select(Enrolment))
    assert enrolment.version_id == old.id
    assert enrolment.version.modules[0].title == "Module TSTA-01"


def test_enrolment_rules_are_upserted_by_role(framework, session, tree):
    write(tree, "a.yaml", a_path())
    load_paths(session, learning_files(tree), tree)
    rule = session.scalar(select(EnrolmentRule))
    rule.active = False
    session.commit()
    write(
        tree,
        "a.yaml",
        a_path(enrolment_rules=[{"role": "R04", "due_days": 60}, {"role": "R03", "due_days": 30}]),
    )
    report = load_paths(session, learning_files(tree), tree)
    session.commit()
    assert report.paths[0].outcome == "unchanged"
    assert (report.paths[0].rules_created, report.paths[0].rules_updated) == (["R03"], ["R04"])
    rules = {r.role.code: (r.due_days, r.active) for r in session.scalars(select(EnrolmentRule))}
    assert rules == {"R04": (60, True), "R03": (30, True)}


def test_a_broken_file_loads_nothing(framework, session, tree):
    write(tree, "a.yaml", a_path())
    write(tree, "b.yaml", a_path("TSTB", audience=["R99"]))
    with pytest.raises(ContentInvalid) as caught:
        load_paths(session, learning_files(tree), tree)
    session.rollback()
    assert [e.path for e in caught.value.errors] == ["audience[0]"]
    assert caught.value.errors[0].file == "curricula/learning/b.yaml"
    assert session.scalar(select(func.count()).select_from(LearningPath)) == 0


def test_loading_needs_a_published_framework(app, session, tree):
    write(tree, "a.yaml", a_path())
    with pytest.raises(ContentInvalid) as caught:
        read_path_files(session, learning_files(tree), tree)
    assert "no competency framework is published" in str(caught.value)


def test_a_prerequisite_may_name_a_path_loaded_before(framework, session, tree):
    write(tree, "a.yaml", a_path())
    load_paths(session, learning_files(tree), tree)
    session.commit()
    (tree / "curricula" / "learning" / "a.yaml").unlink()
    write(tree, "b.yaml", a_path("TSTB", prerequisites=[{"any_of": [{"path": "TSTA"}]}]))
    assert load_paths(session, learning_files(tree), tree).paths[0].outcome == "created"


# --- content export -----------------------------------------------------------------------------


def test_load_export_load_gives_the_same_hash(framework, session, tree, tmp_path):
    weird = a_module(
        "TSTA-02",
        type="on-the-job",
        hours=0.25,
        optional=True,
        requires=["TSTA-01"],
        evidences={"GOV-01": 4, "CTL-04": 2},
        lesson="  Indented first line: a code block.\n\n"
        + LESSON
        + "\n\n| a | b |\n|---|---|\n| 1 | £2 |\n",
    )
    write(
        tree,
        "a.yaml",
        a_path(
            summary="A summary long enough to be folded by the exporter over more than one "
            "line of YAML text.",
            open=False,
            modules=[a_module("TSTA-01", title="Risk: what it is, and isn't"), weird],
            prerequisites=[{"any_of": [{"certificate": "P3O-F"}]}],
        ),
    )
    load_paths(session, learning_files(tree), tree)
    session.commit()
    before = content_of(session, published_version(session, path_by_code(session, "TSTA").id))
    files = export_paths(session)
    assert list(files) == ["tsta.yaml"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "tsta.yaml").write_text(files["tsta.yaml"])
    exported = yaml.safe_load(files["tsta.yaml"])
    assert exported["enrolment_rules"] == [{"role": "R04", "due_days": 90}]
    assert exported["modules"][1]["hours"] == 0.25
    report = load_paths(session, [out / "tsta.yaml"])
    assert report.paths[0].outcome == "unchanged"
    again = read_path_files(session, [out / "tsta.yaml"])[0].content
    assert again == before and again.digest() == before.digest()


def test_load_and_export_commands(app, framework, session, tree, tmp_path):
    write(tree, "a.yaml", a_path())
    runner = app.test_cli_runner()
    # The shipped assessments name the shipped paths' modules: leave them out here.
    no_assessments = tmp_path / "no-assessments"
    no_assessments.mkdir()
    args = [
        "content",
        "load",
        "--learning",
        str(tree / "curricula" / "learning"),
        "--assessments",
        str(no_assessments),
    ]
    loaded = runner.invoke(args=args)
    assert loaded.exit_code == 0, loaded.output
    assert "Learning paths: 1 path(s): 1 created" in loaded.output
    again = runner.invoke(args=args)
    assert "TSTA unchanged at version 1" in again.output
    exported = runner.invoke(args=["content", "export", "--out", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "out" / "learning" / "tsta.yaml").exists()


# --- the shipped curricula ----------------------------------------------------------------------


SHIPPED = sorted((CURRICULA / "learning").glob("*.yaml"))


def test_the_shipped_learning_paths_pass_the_check():
    assert SHIPPED, "no learning path files shipped"
    errors = check_files(SHIPPED, ROOT)
    assert errors == [], "\n".join(str(e) for e in errors)


def test_the_shipped_learning_paths_load_and_export_round_trip(framework, session, tmp_path):
    report = load_paths(session, SHIPPED, ROOT)
    session.commit()
    assert {p.outcome for p in report.paths} == {"created"}
    hashes = {
        p.code: published_version(session, path_by_code(session, p.code).id).content_hash
        for p in report.paths
    }
    for name, text in export_paths(session).items():
        (tmp_path / name).write_text(text)
    again = load_paths(session, sorted(tmp_path.glob("*.yaml")))
    assert {p.outcome for p in again.paths} == {"unchanged"}
    assert {
        c.content.code: c.content.digest()
        for c in read_path_files(session, sorted(tmp_path.glob("*.yaml")))
    } == hashes
    practitioner = copy.deepcopy(
        content_of(session, published_version(session, path_by_code(session, "P3OP").id))
    )
    assert (("certificate", "P3O-F"), ("path", "P3OF")) in practitioner.prerequisites
