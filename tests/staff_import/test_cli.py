"""`flask import people FILE`: the staff import for scheduled runs.

The command uses the mapping saved for the file's shape (else the suggested one), prints the
counts and every row error, and writes nothing when the file is bad or has rows in error
without --skip-errors; --dry-run never writes, not even the batch.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.extensions import db
from app.org.models import OrgUnit, Person, RoleAssignment
from app.staff_import import services
from app.staff_import.models import BatchStatus, ImportBatch, ImportMapping
from app.staff_import.rows import IGNORE
from tests.factories import make_person, make_role, make_unit, make_user

HEADER = "Employee Number,First Name,Last Name,Email,Department,Job Title,Manager ID\n"
ROWS = (
    "N1,Nora,North,nora@example.com,Delivery,PMO Analyst,\n"
    "N2,Olu,Ogun,olu@example.com,Delivery,PMO Analyst,N1\n"
    "N3,Pia,Park,,Strategy Office,Portfolio Manager,N1\n"
)
GOOD = HEADER + ROWS
BAD_ROWS = (
    "N4,Quin,Quest,not-an-email,Delivery,PMO Analyst,N1\n"
    "N5,Rae,Ross,rae@example.com,Delivery,PMO Analyst,N404\n"
)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(app):
    admin = make_user(
        Permission.ADMIN, person=make_person("Ida", "Admin", number="ADM1"), email="ida@example.com"
    )
    second = make_user(
        Permission.ADMIN, person=make_person("Abe", "Admin", number="ADM2"), email="abe@example.com"
    )
    learner = make_user(Permission.LEARNER, email="lea@example.com")
    make_role(code="PMOA", name="PMO Analyst")
    make_unit("Delivery", code="DEL")
    db.session.commit()
    return {"admin": admin, "second": second, "learner": learner}


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(args=["import", "people", *args])

    return run


@pytest.fixture
def write(tmp_path):
    def _write(text: str | bytes, name: str = "staff.csv") -> str:
        path = tmp_path / name
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(text)
        return str(path)

    return _write


def people() -> dict[str, Person]:
    db.session.expire_all()
    return {p.employee_number: p for p in db.session.scalars(select(Person))}


def test_import_applies_the_suggested_mapping_and_records_the_batch(cli, write, world):
    result = cli(write(GOOD))
    assert result.exit_code == 0, result.output
    assert "read with the suggested mapping" in result.output
    assert "To create: 3  update: 0  unchanged: 0  deactivate: 0  rows in error: 0" in result.output
    assert "New org units: Strategy Office" in result.output
    assert "row 4, column 'Email': warning: no email address" in result.output
    found = people()
    assert {"N1", "N2", "N3"} <= set(found)
    assert found["N2"].line_manager_id == found["N1"].id
    assert found["N1"].org_unit.code == "DEL"
    assert found["N3"].org_unit.name == "Strategy Office"
    batch = db.session.scalars(select(ImportBatch)).one()
    assert batch.status == BatchStatus.APPLIED and batch.source == "cli"
    assert batch.uploaded_by_id == world["admin"].id  # the first active admin
    assert (
        f"Applied as import #{batch.id} with the suggested mapping, recorded under ida@example.com."
    ) in result.output


def test_a_second_run_of_the_same_file_changes_nothing(cli, write, world):
    path = write(GOOD)
    assert cli(path).exit_code == 0
    before = [(p.employee_number, p.updated_at) for p in people().values()]
    units, roles = count(OrgUnit), count(RoleAssignment)
    result = cli(path)
    assert result.exit_code == 0, result.output
    assert "read with the mapping saved for these columns" in result.output
    assert "To create: 0  update: 0  unchanged: 3" in result.output
    assert [(p.employee_number, p.updated_at) for p in people().values()] == before
    assert (count(OrgUnit), count(RoleAssignment)) == (units, roles)


def test_dry_run_writes_nothing_at_all(cli, write, world):
    result = cli(write(GOOD), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "To create: 3" in result.output
    assert "Dry run: nothing was written." in result.output
    assert count(ImportBatch) == 0 and count(ImportMapping) == 0
    assert count(Person) == 3 and count(OrgUnit) == 1


def test_dry_run_of_a_file_with_errors_exits_1_and_writes_nothing(cli, write, world):
    result = cli(write(GOOD + BAD_ROWS), "--dry-run")
    assert result.exit_code == 1
    assert "rows in error: 1" in result.output
    assert count(ImportBatch) == 0 and count(ImportMapping) == 0 and count(Person) == 3


def test_errors_without_skip_exit_1_print_each_error_and_write_nothing(cli, write, world):
    result = cli(write(GOOD + BAD_ROWS))
    assert result.exit_code == 1
    assert "row 5, column 'Email': error: 'not-an-email' is not a valid email" in result.output
    assert (
        "row 6, column 'Manager ID': warning: manager 'N404' not found; imported without a manager"
    ) in result.output
    assert "1 row(s) have errors; nothing was written." in result.stderr
    assert count(ImportBatch) == 0 and count(ImportMapping) == 0
    assert count(Person) == 3 and count(OrgUnit) == 1


def test_skip_errors_applies_the_valid_rows_and_keeps_the_report(cli, write, world):
    result = cli(write(GOOD + BAD_ROWS), "--skip-errors")
    assert result.exit_code == 0, result.output
    assert set(people()) == {
        "ADM1",
        "ADM2",
        world["learner"].person.employee_number,
        "N1",
        "N2",
        "N3",
        "N5",  # its manager N404 is unknown: a warning, imported without a manager
    }
    assert people()["N5"].line_manager_id is None
    batch = db.session.scalars(select(ImportBatch)).one()
    assert batch.skip_errors and batch.counts["error_rows"] == 1
    assert [(row, kind) for row, _col, kind, _msg in batch.issues] == [
        (4, "warning"),
        (5, "error"),
        (6, "warning"),
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"\x00\x01\x02binary\x00\x00", "binary data"),
        (b"Colour,Flavour\nred,sweet\n", "Choose the column that holds the employee number"),
        (b"Employee Number,Last Name\n", "no rows of people"),
    ],
)
def test_a_bad_file_exits_2_with_one_message_and_writes_nothing(cli, write, world, data, message):
    result = cli(write(data))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Nothing was written." in result.stderr
    assert count(ImportBatch) == 0 and count(Person) == 3


def test_a_file_the_suggestion_cannot_map_points_to_the_admin_area(cli, write, world):
    result = cli(write("Ref,First Name,Last Name\nX1,Xena,Exe\n"))
    assert result.exit_code == 2
    assert "Choose the column that holds the employee number." in result.stderr
    assert "Staff import" in result.stderr
    assert count(ImportBatch) == 0 and count(ImportMapping) == 0


def test_the_mapping_saved_in_the_admin_area_is_used(cli, write, world):
    shape = "Ref,Given,Surname,Grade\n"  # only Surname is recognised
    batch = services.upload(
        db.session,
        data=(shape + "X0,Old,Timer,PMO Analyst\n").encode(),
        filename="first.csv",
        actor_id=world["admin"].id,
    )
    services.save_mapping(
        db.session,
        batch=batch,
        columns={
            "employee_number": "Ref",
            "first_name": "Given",
            "last_name": "Surname",
            "job_title": "Grade",
        },
        value_maps={"job_title": {"pmo analyst": "PMOA"}, "org_unit": {}},
        full_sync=False,
        actor_id=world["admin"].id,
    )
    services.apply(db.session, batch, skip_errors=False, actor_person_id=None, today=date.today())
    db.session.commit()
    result = cli(write(shape + "X1,Xena,Exe,PMO Analyst\nX2,Yuri,Why,Intern\n"))
    assert result.exit_code == 0, result.output
    assert "read with the mapping saved for these columns" in result.output
    found = people()
    assert found["X1"].first_name == "Xena" and found["X2"].job_title == "Intern"
    roles = {
        a.person.employee_number: a.role.code for a in db.session.scalars(select(RoleAssignment))
    }
    assert roles == {"X0": "PMOA", "X1": "PMOA"}
    saved = db.session.scalars(select(ImportMapping)).one()
    assert saved.value_maps["job_title"] == {"pmo analyst": "PMOA", "intern": IGNORE}


def test_as_names_the_admin_recorded_as_uploader(cli, write, world):
    result = cli(write(GOOD), "--as", "ABE@example.com")
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(ImportBatch)).one().uploaded_by_id == world["second"].id


@pytest.mark.parametrize("email", ["nobody@example.com", "lea@example.com"])
def test_as_must_name_an_active_admin(cli, write, world, email):
    result = cli(write(GOOD), "--as", email)
    assert result.exit_code == 2
    assert f"No active admin account {email}." in result.stderr
    assert count(ImportBatch) == 0 and count(Person) == 3


def test_no_admin_at_all_exits_2(cli, write, app):
    make_user(Permission.LEARNER)
    db.session.commit()
    result = cli(write(GOOD))
    assert result.exit_code == 2
    assert "No active admin account" in result.stderr
    assert count(ImportBatch) == 0


def test_full_sync_deactivates_people_missing_from_the_file_but_not_the_importer(cli, write, world):
    result = cli(write(GOOD), "--full-sync")
    assert result.exit_code == 0, result.output
    # Abe and the learner are not in the file; Ida, who runs the import, is kept.
    assert "deactivate: 2" in result.output
    found = people()
    assert found["ADM1"].active and not found["ADM2"].active
    assert not found[world["learner"].person.employee_number].active
    assert all(found[n].active for n in ("N1", "N2", "N3"))


def test_the_command_is_listed_with_its_options(app):
    result = app.test_cli_runner().invoke(args=["import", "people", "--help"])
    assert result.exit_code == 0
    for option in ("--full-sync", "--skip-errors", "--dry-run", "--as EMAIL"):
        assert option in result.output


def test_the_file_must_exist(cli, world, tmp_path):
    result = cli(str(Path(tmp_path) / "missing.csv"))
    assert result.exit_code == 2
    assert count(ImportBatch) == 0


def test_skip_errors_with_every_row_in_error_applies_nothing_and_records_nothing(cli, write, world):
    result = cli(write(HEADER + BAD_ROWS.splitlines()[0] + "\n"), "--skip-errors")
    assert result.exit_code == 1, result.output
    assert "Applied" not in result.output
    assert "Every row has errors; nothing was applied or recorded." in result.stderr
    assert count(ImportBatch) == 0 and count(ImportMapping) == 0 and count(Person) == 3


def test_a_mapping_file_maps_a_file_the_suggestion_cannot(cli, write, world):
    mapping = (
        '{"kind": "staff-import-mapping", "columns": {"employee_number": "Ref", '
        '"first_name": "Given", "last_name": "Family", "job_title": "Grade"}, '
        '"value_maps": {"job_title": {"pmo analyst": "PMOA"}}}'
    )
    path = write(mapping, "mapping.json")
    result = cli(write("Ref,Given,Family,Grade\nX1,Xena,Exe,PMO Analyst\n"), "--mapping", path)
    assert result.exit_code == 0, result.output
    assert "read with the mapping in mapping.json:" in result.output
    assert "Applied as import #1 with the mapping in mapping.json" in result.output
    assert people()["X1"].first_name == "Xena"


@pytest.mark.parametrize(
    "mapping, message",
    [
        ("{not json", "The mapping file is not JSON"),
        ('{"columns": ["Ref"]}', "The mapping file must hold"),
        ('{"columns": {"shoe_size": "Ref"}}', "unknown fields: shoe_size"),
        ('{"columns": {"employee_number": "Nope"}}', "These columns are not in the file: Nope"),
    ],
)
def test_a_bad_mapping_file_exits_2_and_writes_nothing(cli, write, world, mapping, message):
    result = cli(write(GOOD), "--mapping", write(mapping, "mapping.json"))
    assert result.exit_code == 2
    assert message in result.stderr
    assert count(ImportBatch) == 0 and count(Person) == 3


def test_bad_arguments_exit_2(cli, write, world):
    assert cli("/no/such/file.csv").exit_code == 2
    assert cli(write(GOOD), "--no-such-option").exit_code == 2
