"""The role catalogue content file: the shipped file, idempotent loading, error messages that
point at the file, key path and line, and the `flask content load` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.content.files import ContentInvalid
from app.content.roles import load_roles
from app.extensions import db
from app.org.models import Role, RoleLevel

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "curricula" / "roles.yaml"

#: The ten seed roles and the P3 level each mainly works at.
SEED_ROLES = {
    "Head of PMO / PMO Director": RoleLevel.PORTFOLIO,
    "PMO Manager": RoleLevel.ANY,
    "PMO Analyst": RoleLevel.ANY,
    "PMO Co-ordinator": RoleLevel.ANY,
    "Project Manager": RoleLevel.PROJECT,
    "Programme Manager": RoleLevel.PROGRAMME,
    "Project Coordinator / Project Support Officer": RoleLevel.PROJECT,
    "Portfolio Manager": RoleLevel.PORTFOLIO,
    "Resource Manager": RoleLevel.PORTFOLIO,
    "Training & Development Specialist": RoleLevel.ANY,
}


def role_rows() -> dict[str, tuple]:
    db.session.expire_all()
    return {
        r.code: (r.id, r.name, r.p3_level, r.family, r.description, r.active)
        for r in db.session.scalars(select(Role))
    }


def role_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Role))


def write(tmp_path: Path, text: str, name: str = "roles.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, needle
    return hits[occurrence - 1]


# --- the shipped file ------------------------------------------------------------------------


def test_shipped_catalogue_loads_with_the_seed_roles(app):
    report = load_roles(db.session, SHIPPED)
    db.session.commit()
    assert report.updated == [] and report.unchanged == []
    assert len(report.created) >= 10
    rows = role_rows()
    assert len(rows) == len(report.created)
    by_name = {name: level for _id, name, level, _f, _d, _a in rows.values()}
    for name, level in SEED_ROLES.items():
        assert by_name.get(name) == level, name
    assert all(description for *_, description, _active in rows.values())
    assert all(code == code.strip().upper() for code in rows)


def test_loading_twice_changes_nothing(app):
    load_roles(db.session, SHIPPED)
    db.session.commit()
    before = role_rows()
    second = load_roles(db.session, SHIPPED)
    db.session.commit()
    assert second.created == [] and second.updated == []
    assert sorted(second.unchanged) == sorted(before)
    assert second.summary() == f"0 created, 0 updated, {len(before)} unchanged"
    assert role_rows() == before


def test_changed_description_is_reported_as_updated(app, tmp_path):
    load_roles(db.session, SHIPPED)
    db.session.commit()
    before = role_rows()
    text = SHIPPED.read_text(encoding="utf-8")
    old = "Gathers and examines delivery data"
    assert old in text
    changed = write(tmp_path, text.replace(old, "Collects and studies delivery data"))

    report = load_roles(db.session, changed)
    db.session.commit()
    assert report.updated == ["R03"]
    assert report.created == []
    after = role_rows()
    assert after["R03"][4].startswith("Collects and studies delivery data")
    assert after["R03"][0] == before["R03"][0]  # updated in place, same id
    assert {c: v for c, v in after.items() if c != "R03"} == {
        c: v for c, v in before.items() if c != "R03"
    }


def test_reflowed_description_is_not_a_change(app, tmp_path):
    load_roles(db.session, SHIPPED)
    db.session.commit()
    text = SHIPPED.read_text(encoding="utf-8")
    reflowed = text.replace(
        "delivery data — progress, cost, risk, capacity — and turns",
        "delivery data — progress, cost,\n      risk, capacity — and turns",
    )
    assert reflowed != text
    report = load_roles(db.session, write(tmp_path, reflowed))
    assert report.updated == [] and report.created == []


def test_roles_missing_from_the_file_are_kept(app, tmp_path):
    load_roles(db.session, SHIPPED)
    db.session.commit()
    count = role_count()
    small = write(
        tmp_path,
        "kind: role-catalogue\nroles:\n  - code: R01\n"
        "    name: Head of PMO / PMO Director\n    p3_level: portfolio\n"
        "    family: pmo\n    description: Changed.\n",
    )
    report = load_roles(db.session, small)
    db.session.commit()
    assert report.updated == ["R01"]
    assert role_count() == count


# --- broken files ------------------------------------------------------------------------------

GOOD_ROLE = """\
  - code: {code}
    name: {name}
    p3_level: {level}
    family: pmo
    description: Some words.
"""


def catalogue(*roles: str) -> str:
    return "kind: role-catalogue\nversion: 1\nroles:\n" + "".join(roles)


def role(code="X01", name="A role", level="any") -> str:
    return GOOD_ROLE.format(code=code, name=name, level=level)


def errors_of(path: Path) -> list:
    with pytest.raises(ContentInvalid) as caught:
        load_roles(db.session, path)
    db.session.rollback()
    assert role_count() == 0
    return caught.value.errors


def assert_error(error, path: Path, key_path: str, line: int, words: str) -> None:
    assert error.file == str(path)
    assert error.path == key_path
    assert error.line == line
    assert words in error.message
    text = str(error)
    assert text.startswith(f"{path}:{line}: {key_path}: ")


def test_duplicate_code_names_the_second_entry(app, tmp_path):
    text = catalogue(role("X01"), role("X02", "Other"), role("x01", "Third"))
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert_error(error, path, "roles[2].code", line_of(text, "code: x01"), "duplicate code")
    assert "roles[0]" in error.message


def test_unknown_p3_level_is_pointed_at(app, tmp_path):
    text = catalogue(role("X01"), role("X02"), role("X03", level="galaxy"))
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert_error(
        error,
        path,
        "roles[2].p3_level",
        line_of(text, "p3_level: galaxy"),
        "'galaxy' is not one of: portfolio, programme, project, any",
    )


def test_missing_name_points_at_the_entry(app, tmp_path):
    nameless = "  - code: X02\n    p3_level: any\n    family: pmo\n"
    text = catalogue(role("X01"), nameless)
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert_error(error, path, "roles[1]", line_of(text, "code: X02"), "missing key 'name'")


def test_empty_name_is_refused(app, tmp_path):
    text = catalogue(role("X01"), role("X02", name='"  "'))
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert_error(error, path, "roles[1].name", line_of(text, 'name: "  "'), "non-empty text")


def test_several_errors_are_all_reported(app, tmp_path):
    text = catalogue(role("X01", level="galaxy"), role("X01"), "  - code: X03\n    colour: red\n")
    path = write(tmp_path, text)
    errors = errors_of(path)
    paths = {e.path for e in errors}
    assert {"roles[0].p3_level", "roles[1].code", "roles[2]", "roles[2].colour"} <= paths
    colour = next(e for e in errors if e.path == "roles[2].colour")
    assert colour.line == line_of(text, "colour: red")


def test_not_yaml_gives_the_line(app, tmp_path):
    text = catalogue(role("X01")) + "  - code: [unclosed\n    name: Broken\n"
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert error.file == str(path)
    assert error.line is not None
    assert line_of(text, "[unclosed") <= error.line <= line_of(text, "name: Broken") + 1
    assert "not valid YAML" in error.message
    assert str(error).startswith(f"{path}:{error.line}: ")


def test_tab_indented_yaml_gives_the_exact_line(app, tmp_path):
    text = "kind: role-catalogue\nroles:\n\t- code: X01\n"
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert error.line == 3
    assert "not valid YAML" in error.message


@pytest.mark.parametrize(
    "text, key_path",
    [
        ("kind: something-else\nroles: []\n", "kind"),
        ("- just\n- a list\n", "kind"),
        ("kind: role-catalogue\nroles: []\n", "roles"),
        ("kind: role-catalogue\n", "roles"),
    ],
)
def test_wrong_shape_is_refused(app, tmp_path, text, key_path):
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert error.path == key_path
    assert error.file == str(path)


def test_code_longer_than_the_column_is_refused_before_writing(app, tmp_path):
    text = catalogue(role("X01"), role("X" * 17))
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert_error(error, path, "roles[1].code", line_of(text, "code: XXXXXXXXX"), "16")


def test_name_longer_than_the_column_is_refused_before_writing(app, tmp_path):
    text = catalogue(role("X01", name="N" * 121))
    path = write(tmp_path, text)
    [error] = errors_of(path)
    assert_error(error, path, "roles[0].name", line_of(text, "name: NNNN"), "120")


# --- the command ----------------------------------------------------------------------------


def test_cli_load_prints_the_counts_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["content", "load"])
    assert first.exit_code == 0, first.output
    count = role_count()
    assert count >= 10
    assert f"Role catalogue (roles.yaml): {count} created, 0 updated, 0 unchanged." in first.output

    second = runner.invoke(args=["content", "load"])
    assert second.exit_code == 0, second.output
    assert f"Role catalogue (roles.yaml): 0 created, 0 updated, {count} unchanged." in second.output
    assert "created:" not in second.output


def test_cli_load_of_a_broken_file_fails_and_writes_nothing(app, tmp_path):
    text = catalogue(role("X01"), role("X02", level="galaxy"))
    path = write(tmp_path, text, "broken.yaml")
    result = app.test_cli_runner().invoke(args=["content", "load", "--roles", str(path)])
    assert result.exit_code != 0
    line = line_of(text, "p3_level: galaxy")
    assert f"{path}:{line}: roles[1].p3_level:" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert "created" not in result.stdout
    assert role_count() == 0


def test_cli_load_of_a_broken_file_leaves_loaded_roles_alone(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["content", "load"]).exit_code == 0
    before = role_rows()
    text = SHIPPED.read_text(encoding="utf-8").replace("p3_level: programme", "p3_level: nope", 1)
    path = write(tmp_path, text, "broken.yaml")
    result = runner.invoke(args=["content", "load", "--roles", str(path)])
    assert result.exit_code != 0
    assert "p3_level" in result.stderr
    assert role_rows() == before
