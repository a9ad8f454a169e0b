"""The office functions content file (curricula/office-functions.yaml): the shipped file,
errors with file, line and key path, idempotent loading, `flask content check/load/export`
and the round trip load → export → load."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.content.checks import check_files
from app.content.files import ContentInvalid, read_yaml
from app.content.framework_load import load_framework
from app.content.office_functions import (
    check_office_functions,
    load_office_functions,
    loaded_content,
)
from app.content.office_functions_export import export_office_functions
from app.content.roles import load_roles
from app.extensions import db
from app.reports.models import OfficeFunction, OfficeFunctionCompetency, OfficeFunctionNeed

ROOT = Path(__file__).resolve().parents[2]
CURRICULA = ROOT / "curricula"
SHIPPED = CURRICULA / "office-functions.yaml"


@pytest.fixture
def framework(app):
    load_roles(db.session, CURRICULA / "roles.yaml")
    load_framework(db.session, CURRICULA / "framework.yaml", CURRICULA / "role-profiles.yaml")
    db.session.commit()


def shipped_codes() -> set[str]:
    data = read_yaml(CURRICULA / "framework.yaml").data
    assert isinstance(data, dict)
    return {c["code"] for g in data["groups"] for c in g["competencies"]}


def rows() -> dict[str, tuple]:
    db.session.expire_all()
    out = {}
    for f in db.session.scalars(select(OfficeFunction)):
        out[f.code] = (
            f.id,
            f.name,
            f.description,
            f.level,
            f.position,
            tuple(c.competency_code for c in f.competencies),
            frozenset(n.office_kind.value for n in f.needs),
        )
    return out


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def write(tmp_path: Path, text: str, name: str = "office-functions.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, needle
    return hits[occurrence - 1]


# --- the shipped file ------------------------------------------------------------------------


def test_shipped_file_is_sound_against_the_shipped_framework():
    content = check_office_functions(read_yaml(SHIPPED), shipped_codes())
    codes = [f.code for f in content.functions]
    assert {"PLANNING", "RISK", "REPORTING", "FINANCE", "CHANGE-CONTROL"} <= set(codes)
    assert set(content.needs) == {
        "portfolio",
        "programme",
        "project",
        "hub",
        "centre_of_excellence",
    }
    # every function is needed somewhere; every level is the scale's Practitioner (3)
    assert {c for kind in content.needs.values() for c in kind} == set(codes)
    assert {f.level for f in content.functions} == {3}
    # the PMO Co-ordinator's six core functions are what a project office needs
    assert {"CHANGE-CONTROL", "FINANCE", "INFORMATION", "ISSUES", "REPORTING", "RISK"} <= set(
        content.needs["project"]
    )


def test_shipped_file_passes_content_check():
    errors = check_files([CURRICULA / "framework.yaml", SHIPPED], ROOT)
    assert errors == []


def test_shipped_file_loads_and_loading_twice_changes_nothing(framework):
    first = load_office_functions(db.session, SHIPPED)
    db.session.commit()
    assert first.updated == [] and first.unchanged == [] and first.removed == []
    before = rows()
    assert len(before) == len(first.created) >= 15
    assert before["PLANNING"][5] == ("CTL-01", "CTL-02")
    assert before["CAPABILITY"][6] == {"centre_of_excellence"}

    second = load_office_functions(db.session, SHIPPED)
    db.session.commit()
    assert second.created == [] and second.updated == [] and second.removed == []
    assert second.summary() == f"0 created, 0 updated, {len(before)} unchanged, 0 removed"
    assert rows() == before


def test_a_changed_function_is_updated_in_place_and_a_dropped_one_removed(framework, tmp_path):
    load_office_functions(db.session, SHIPPED)
    db.session.commit()
    before = rows()
    text = SHIPPED.read_text(encoding="utf-8")
    # RISK now needs two competencies at level 4; KNOWLEDGE disappears altogether
    text = text.replace(
        "competencies: [CTL-04]\n    level: 3", "competencies: [CTL-04, CTL-05]\n    level: 4"
    )
    start = text.index("  - code: KNOWLEDGE")
    end = text.index("\nneeds:")
    text = text[:start] + text[end:]
    text = text.replace("    - KNOWLEDGE\n", "")
    report = load_office_functions(db.session, write(tmp_path, text))
    db.session.commit()
    assert report.updated == ["RISK"]
    assert report.removed == ["KNOWLEDGE"]
    after = rows()
    assert after["RISK"][0] == before["RISK"][0]  # same id
    assert after["RISK"][3] == 4 and after["RISK"][5] == ("CTL-04", "CTL-05")
    assert "KNOWLEDGE" not in after
    assert {k: v for k, v in after.items() if k != "RISK"} == {
        k: v for k, v in before.items() if k not in ("RISK", "KNOWLEDGE")
    }
    # no orphan rows of the removed function
    assert count(OfficeFunctionCompetency) == sum(len(v[5]) for v in after.values())
    assert count(OfficeFunctionNeed) == sum(len(v[6]) for v in after.values())


def test_moving_a_function_to_another_kind_of_office_is_an_update(framework, tmp_path):
    load_office_functions(db.session, SHIPPED)
    db.session.commit()
    text = SHIPPED.read_text(encoding="utf-8")
    hub = text.index("  hub:\n")
    text = text[:hub] + text[hub:].replace("    - TOOLS\n", "", 1)
    text = text.replace("  project:\n", "  project:\n    - TOOLS\n")
    report = load_office_functions(db.session, write(tmp_path, text))
    db.session.commit()
    assert report.updated == ["TOOLS"]
    assert rows()["TOOLS"][6] == {"project"}


# --- round trip ------------------------------------------------------------------------------


def test_export_round_trips(framework, tmp_path):
    load_office_functions(db.session, SHIPPED)
    db.session.commit()
    before = rows()
    text = export_office_functions(db.session)
    assert text is not None and text.startswith("# Exported by PMO Pathways")
    exported = write(tmp_path, text)
    assert check_office_functions(read_yaml(exported), shipped_codes()) == loaded_content(
        db.session
    )
    report = load_office_functions(db.session, exported)
    db.session.commit()
    assert report.created == [] and report.updated == [] and report.removed == []
    assert rows() == before
    assert export_office_functions(db.session) == text


def test_nothing_to_export_before_loading(app):
    assert export_office_functions(db.session) is None


# --- broken files ----------------------------------------------------------------------------

GOOD = """\
kind: office-functions
framework: PMO-CF
functions:
  - code: RISK
    name: Risk management
    description: Runs the risk register.
    competencies: [CTL-04]
    level: 3
  - code: PLANNING
    name: Planning
    description: Builds the plans.
    competencies: [CTL-01, CTL-02]
    level: 3
needs:
  project:
    - RISK
    - PLANNING
"""


def errors_of(text: str, tmp_path: Path, codes: set[str] | None = None) -> tuple[Path, list]:
    path = write(tmp_path, text)
    with pytest.raises(ContentInvalid) as caught:
        check_office_functions(read_yaml(path), codes if codes is not None else shipped_codes())
    return path, caught.value.errors


def assert_error(error, path: Path, key_path: str, line: int, words: str) -> None:
    assert error.file == str(path)
    assert error.path == key_path
    assert error.line == line, (error.line, line)
    assert words in error.message, error.message
    assert str(error).startswith(f"{path}:{line}: {key_path}: ")


def test_the_good_example_is_sound(tmp_path):
    content = check_office_functions(read_yaml(write(tmp_path, GOOD)), shipped_codes())
    assert content.needs == {"project": ("RISK", "PLANNING")}


def test_unknown_competency_is_pointed_at(tmp_path):
    text = GOOD.replace("[CTL-01, CTL-02]", "[CTL-01, CTL-99]")
    path, [error] = errors_of(text, tmp_path)
    assert_error(
        error, path, "functions[1].competencies[1]", line_of(text, "CTL-99"), "no competency"
    )


def test_duplicate_function_code(tmp_path):
    text = GOOD.replace("code: PLANNING", "code: RISK")
    path, errors = errors_of(text, tmp_path)
    dup = next(e for e in errors if "duplicate" in e.message)
    assert_error(
        dup, path, "functions[1].code", line_of(text, "code: RISK", 2), "also functions[0]"
    )


def test_needs_naming_an_unknown_function(tmp_path):
    text = GOOD + "  portfolio:\n    - PRIORITY\n"
    path, [error] = errors_of(text, tmp_path)
    assert_error(
        error, path, "needs.portfolio[0]", line_of(text, "- PRIORITY"), "no function 'PRIORITY'"
    )


def test_function_needed_by_no_office(tmp_path):
    text = GOOD.replace("    - PLANNING\n", "")
    path, [error] = errors_of(text, tmp_path)
    assert_error(
        error, path, "functions[1].code", line_of(text, "code: PLANNING"), "needed by no kind"
    )


def test_unknown_kind_of_office_and_bad_level(tmp_path):
    text = GOOD.replace("    level: 3\n", "    level: 7\n", 1) + "  galaxy:\n    - RISK\n"
    path, errors = errors_of(text, tmp_path)
    by_path = {e.path: e for e in errors}
    assert_error(
        by_path["functions[0].level"], path, "functions[0].level", line_of(text, "level: 7"), "7"
    )
    assert "galaxy" in by_path["needs"].message
    assert by_path["needs"].line == line_of(text, "needs:")


def test_missing_key_and_listed_twice(tmp_path):
    text = GOOD.replace("    description: Builds the plans.\n", "").replace(
        "[CTL-04]", "[CTL-04, CTL-04]"
    )
    path, errors = errors_of(text, tmp_path)
    messages = {e.path: e.message for e in errors}
    assert "'description' is a required property" in messages["functions[1]"]
    # the schema error stops the semantic checks; fix it and the repeat shows
    text = GOOD.replace("[CTL-04]", "[CTL-04, CTL-04]")
    path, [error] = errors_of(text, tmp_path)
    assert_error(
        error, path, "functions[0].competencies[1]", line_of(text, "[CTL-04, CTL-04]"), "twice"
    )


def test_content_check_reports_the_file_and_line(tmp_path):
    text = GOOD.replace("[CTL-04]", "[XYZ-01]")
    path = write(tmp_path, text)
    errors = check_files([CURRICULA / "framework.yaml", path], tmp_path)
    assert [(e.file, e.path, e.line) for e in errors] == [
        ("office-functions.yaml", "functions[0].competencies[0]", line_of(text, "XYZ-01"))
    ]


def test_content_check_needs_the_framework_it_names(tmp_path):
    path = write(tmp_path, GOOD.replace("framework: PMO-CF", "framework: OTHER"))
    errors = check_files([CURRICULA / "framework.yaml", path], tmp_path)
    assert [(e.path, "no framework file" in e.message) for e in errors] == [("framework", True)]


def test_load_refuses_a_file_before_the_framework_is_published(app, tmp_path):
    with pytest.raises(ContentInvalid) as caught:
        load_office_functions(db.session, write(tmp_path, GOOD))
    assert "not published" in caught.value.errors[0].message
    assert count(OfficeFunction) == 0


# --- the commands ----------------------------------------------------------------------------


def load_args(tmp_path: Path, *extra: str) -> list[str]:
    """`content load` of the roles, framework and office functions only (empty folders for
    the learning paths and question banks keep the test quick)."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    return ["content", "load", "--learning", str(empty), "--assessments", str(empty), *extra]


def test_cli_load_and_export(app, tmp_path):
    runner = app.test_cli_runner()
    first = runner.invoke(args=load_args(tmp_path))
    assert first.exit_code == 0, first.output
    n = count(OfficeFunction)
    assert n >= 15
    assert f"Office functions (office-functions.yaml): {n} created, 0 updated" in first.output
    second = runner.invoke(args=load_args(tmp_path))
    assert f"0 created, 0 updated, {n} unchanged, 0 removed" in second.output

    out = tmp_path / "out"
    exported = runner.invoke(args=["content", "export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert (out / "office-functions.yaml").is_file()
    again = runner.invoke(
        args=load_args(tmp_path, "--office-functions", str(out / "office-functions.yaml"))
    )
    assert again.exit_code == 0, again.output
    assert f"0 created, 0 updated, {n} unchanged, 0 removed" in again.output


def test_cli_load_of_a_broken_file_fails_and_leaves_the_rules_alone(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=load_args(tmp_path)).exit_code == 0
    before = rows()
    text = SHIPPED.read_text(encoding="utf-8").replace("[INF-01]", "[INF-99]")
    path = write(tmp_path, text, "broken.yaml")
    result = runner.invoke(args=load_args(tmp_path, "--office-functions", str(path)))
    assert result.exit_code != 0
    assert f"{path}:{line_of(text, 'INF-99')}: functions[" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert rows() == before


def test_cli_check_covers_the_file(app, tmp_path):
    text = GOOD.replace("level: 3", "level: 0", 1)
    path = write(tmp_path, text)
    result = app.test_cli_runner().invoke(
        args=["content", "check", str(CURRICULA / "framework.yaml"), str(path)]
    )
    assert result.exit_code == 1
    assert f"{path}:{line_of(text, 'level: 0')}: functions[0].level:" in result.output
