"""Staff import pages: upload → mapping → preview → apply through the views, with CSRF on.

Each POST first GETs a page and sends its csrf_token back. The file in most tests is a small
HR export with column names the suggestion half recognises; the tests choose the rest.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Permission
from app.errors import DomainError
from app.extensions import db
from app.org.models import AssignmentKind, OrgUnit, Person, RoleAssignment
from app.staff_import import reading, services
from app.staff_import.models import BatchStatus, ImportBatch, ImportMapping
from app.staff_import.rows import CREATE, IGNORE
from tests.factories import make_person, make_role, make_unit, make_user

TODAY = date(2025, 6, 1)
CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]+)"')

#: "Payroll Ref" and "Dept Name" are not recognised; "Surname", "Forename", "Position" and
#: "Manager No" are.
HEADER = "Payroll Ref,Forename,Surname,Position,Dept Name,Manager No,E-mail Address\n"
ROWS = (
    "A001,Ada,Lovelace,PMO Lead,Finance Ops,,ada@example.com\n"
    "A002,Bob,Builder,Project Analyst,Finance Ops,A001,bob@example.com\n"
    "A003,Cleo,Patra,Project Analyst,Harbour Works,A001,\n"
)
GOOD_FILE = (HEADER + ROWS).encode()


def csrf(client, path: str = "/admin/imports") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    match = CSRF_INPUT.search(page.text)
    assert match, "no csrf_token on the page"
    return match.group(1)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def field_feedback(html: str, field_id: str) -> list[str]:
    """The invalid-feedback messages rendered right after the input with ``field_id``."""
    block = re.search(
        rf'id="{re.escape(field_id)}"[^>]*>(.*?)(?:<div class="mb-3|</form>)', html, re.S
    )
    assert block, f"no input {field_id}"
    return [
        unescape(re.sub(r"<[^>]+>", "", m)).strip()
        for m in re.findall(
            r'<div class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', block.group(1), re.S
        )
    ]


def upload(client, data: bytes, filename: str = "staff.csv"):
    return client.post(
        "/admin/imports",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def latest_batch() -> ImportBatch:
    db.session.expire_all()
    return db.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()


def mapping_post(client, batch_id: int, **overrides) -> dict:
    """The mapping form for GOOD_FILE: columns chosen, values mapped (titles and departments
    in the order the proposal lists them: sorted, case-insensitively)."""
    data = {
        "csrf_token": csrf(client, f"/admin/imports/{batch_id}/mapping"),
        "col-employee_number": "Payroll Ref",
        "col-first_name": "Forename",
        "col-last_name": "Surname",
        "col-email": "E-mail Address",
        "col-job_title": "Position",
        "col-org_unit": "Dept Name",
        "col-manager_id": "Manager No",
        "title-0": "PMOL",  # PMO Lead
        "title-1": IGNORE,  # Project Analyst
        "dept-0": CREATE,  # Finance Ops
        "dept-1": "HW",  # Harbour Works
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def world(client, login):
    admin = make_user(Permission.ADMIN, person=make_person("Ida", "Admin", number="ADM1"))
    make_role(code="PMOL", name="PMO Lead")
    make_unit("Harbour Works", code="HW")
    db.session.commit()
    login(admin)
    return admin


def map_file(client, batch_id: int, **overrides) -> None:
    """Post the mapping. The department column was not suggested, so choosing it brings the
    admin back to map its values (the first post's dept-* are not on the page yet)."""
    response = client.post(
        f"/admin/imports/{batch_id}/mapping", data=mapping_post(client, batch_id, **overrides)
    )
    assert response.status_code == 302, response.text
    if response.headers["Location"].endswith("/mapping"):
        response = client.post(
            f"/admin/imports/{batch_id}/mapping", data=mapping_post(client, batch_id, **overrides)
        )
        assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith(f"/admin/imports/{batch_id}/preview")


def run_to_preview(client, data: bytes = GOOD_FILE, **overrides):
    response = upload(client, data)
    assert response.status_code == 302, response.text
    batch = latest_batch()
    assert response.headers["Location"].endswith(f"/admin/imports/{batch.id}/mapping")
    map_file(client, batch.id, **overrides)
    return batch


def apply(client, batch_id: int, skip: str = "0"):
    token = csrf(client)
    return client.post(
        f"/admin/imports/{batch_id}/apply", data={"csrf_token": token, "skip_errors": skip}
    )


def test_upload_map_preview_apply(client, world):
    response = upload(client, GOOD_FILE)
    batch = latest_batch()
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    # The proposal: recognised columns preselected, the others left for the admin.
    assert re.search(
        r'name="col-last_name"[^>]*>.*?<option selected value="Surname">', page.text, re.S
    )
    assert re.search(r'name="col-employee_number"[^>]*>\s*<option selected value="">', page.text)
    assert "PMO Lead" in page.text
    assert "saved-mapping-note" not in page.text

    response = client.post(
        f"/admin/imports/{batch.id}/mapping", data=mapping_post(client, batch.id)
    )
    # The department column was not suggested: its values come up to be mapped next.
    assert response.status_code == 302 and response.headers["Location"].endswith("/mapping")
    page = client.get(response.headers["Location"])
    assert "map its values below" in page.text
    assert re.search(r'id="dept-0"[^>]*>\s*<option selected value="__create__">', page.text)
    assert re.search(r'id="dept-1"[^>]*>.*?<option selected value="HW">', page.text, re.S)
    map_file(client, batch.id)
    assert count(Person) == 1  # the admin: nothing written by mapping

    preview = client.get(f"/admin/imports/{batch.id}/preview")
    assert preview.status_code == 200
    assert re.search(r'data-testid="count-create">3<', preview.text)
    assert re.search(r'data-testid="count-update">0<', preview.text)
    assert "Finance Ops" in preview.text  # the org unit to be created
    assert "Apply import" in preview.text
    assert "no email address" in preview.text  # the warning for Cleo
    assert count(Person) == 1 and count(OrgUnit) == 1  # the preview wrote nothing

    response = apply(client, batch.id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/imports/{batch.id}")
    people = {p.employee_number: p for p in db.session.scalars(select(Person))}
    assert set(people) == {"ADM1", "A001", "A002", "A003"}
    assert people["A002"].line_manager_id == people["A001"].id
    assert people["A001"].org_unit.name == "Finance Ops"
    assert people["A003"].org_unit.code == "HW"
    roles = db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.person_id == people["A001"].id)
    ).all()
    assert [(a.role.code, a.kind) for a in roles] == [("PMOL", AssignmentKind.CURRENT)]
    batch = latest_batch()
    assert batch.status == BatchStatus.APPLIED
    assert batch.counts["create"] == 3

    detail = client.get(f"/admin/imports/{batch.id}")
    assert detail.status_code == 200
    assert "Import applied: 3 created, 0 updated" in detail.text
    assert batch.sha256 in detail.text
    assert "Payroll Ref" in detail.text and "PMO Lead" in detail.text
    history = client.get("/admin/imports")
    assert "staff.csv" in history.text and "Ida Admin" in history.text


def test_a_bad_file_gets_one_message_at_the_field_and_nothing_is_saved(client, world):
    for data, name, message in [
        (b"", "empty.csv", "The file is empty."),
        (b"\x00\x01\x02\x03binary\x00", "staff.csv", "binary data"),
        (b"Employee Number,Last Name\n", "staff.csv", "no rows of people"),
        (GOOD_FILE, "staff.pdf", "Upload a CSV (.csv or .txt) or an Excel (.xlsx) file."),
    ]:
        response = upload(client, data, name)
        assert response.status_code == 200, name
        messages = field_feedback(response.text, "file")
        assert len(messages) == 1 and message in messages[0], (name, messages)
        assert response.text.count('class="invalid-feedback') == 1
    assert count(ImportBatch) == 0


def test_a_file_over_the_import_limit_is_refused_at_the_field(client, world, monkeypatch):
    monkeypatch.setattr(reading, "MAX_IMPORT_BYTES", 100)
    response = upload(client, GOOD_FILE)
    assert response.status_code == 200
    messages = field_feedback(response.text, "file")
    assert len(messages) == 1 and "limit" in messages[0]
    assert count(ImportBatch) == 0


def test_a_request_over_the_site_limit_gets_the_413_page(app, client, world):
    token = csrf(client)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = client.post(
        "/admin/imports",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 5000), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "File too large" in response.text
    assert count(ImportBatch) == 0


def test_a_mapping_without_employee_numbers_is_refused_and_not_saved(client, world):
    upload(client, GOOD_FILE)
    batch = latest_batch()
    response = client.post(
        f"/admin/imports/{batch.id}/mapping",
        data=mapping_post(client, batch.id, **{"col-employee_number": ""}),
    )
    assert response.status_code == 200
    assert re.search(
        r'data-testid="column-error">Choose the column that holds the employee '
        r"number\.",
        response.text,
    )
    assert latest_batch().mapping == {}
    assert count(ImportMapping) == 0
    # Preview without a mapping sends the admin back to the mapping.
    response = client.get(f"/admin/imports/{batch.id}/preview")
    assert response.status_code == 302 and response.headers["Location"].endswith("/mapping")


def test_choosing_another_job_title_column_brings_its_values_to_map(client, world):
    upload(client, GOOD_FILE)
    batch = latest_batch()
    data = mapping_post(client, batch.id, **{"col-job_title": "Dept Name", "col-org_unit": ""})
    response = client.post(f"/admin/imports/{batch.id}/mapping", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/imports/{batch.id}/mapping")
    page = client.get(response.headers["Location"])
    assert "map its values below" in page.text
    assert re.search(r'<label class="form-label mb-0" for="title-0">Finance Ops</label>', page.text)
    assert 'for="dept-0"' not in page.text


def test_apply_with_errors_is_refused_unless_the_admin_skips_them(client, world):
    bad = GOOD_FILE + (
        b"A004,Dan,Dare,PMO Lead,Finance Ops,A001,not-an-email\n"
        b"A005,Eve,Early,PMO Lead,Finance Ops,A999,eve@example.com\n"
    )
    batch = run_to_preview(client, bad)
    preview = client.get(f"/admin/imports/{batch.id}/preview")
    assert "Apply the 4 valid rows and skip the 1 rows in error" in preview.text
    assert "Apply import</button>" not in preview.text
    assert "is not a valid email address" in preview.text
    # An unknown manager is a warning: Eve goes in without a line manager.
    assert "manager &#39;A999&#39; not found; imported without a manager" in preview.text

    response = apply(client, batch.id, skip="0")
    assert response.status_code == 302 and response.headers["Location"].endswith("/preview")
    assert "1 row(s) have errors" in client.get(response.headers["Location"]).text
    assert count(Person) == 1 and count(OrgUnit) == 1
    assert latest_batch().status == BatchStatus.UPLOADED

    response = apply(client, batch.id, skip="1")
    assert response.status_code == 302
    assert "1 row(s) in error skipped" in client.get(response.headers["Location"]).text
    numbers = set(db.session.scalars(select(Person.employee_number)))
    assert numbers == {"ADM1", "A001", "A002", "A003", "A005"}
    batch = latest_batch()
    assert batch.status == BatchStatus.APPLIED and batch.skip_errors
    assert {(row, kind) for row, _column, kind, _message in batch.issues} == {
        (4, "warning"),
        (5, "error"),
        (6, "warning"),
    }


def test_reimporting_the_same_file_changes_nothing(client, world):
    first = run_to_preview(client)
    assert apply(client, first.id).status_code == 302
    before = [
        (p.employee_number, p.updated_at, p.org_unit_id, p.line_manager_id)
        for p in db.session.scalars(select(Person).order_by(Person.id))
    ]
    units, assignments = count(OrgUnit), count(RoleAssignment)

    response = upload(client, GOOD_FILE, "staff-again.csv")
    second = latest_batch()
    page = client.get(response.headers["Location"])
    assert 'data-testid="saved-mapping-note"' in page.text
    # The saved mapping is preselected; the department created last time is now an org unit.
    assert re.search(
        r'name="col-employee_number"[^>]*>.*?<option selected value="Payroll Ref">', page.text, re.S
    )
    finance = db.session.scalar(select(OrgUnit.code).where(OrgUnit.name == "Finance Ops"))
    assert re.search(rf'id="dept-0"[^>]*>.*?<option selected value="{finance}">', page.text, re.S)
    response = client.post(
        f"/admin/imports/{second.id}/mapping",
        data={
            "csrf_token": csrf(client, f"/admin/imports/{second.id}/mapping"),
            **selected_values(page.text),
        },
    )
    assert response.status_code == 302, response.text
    preview = client.get(f"/admin/imports/{second.id}/preview")
    assert re.search(r'data-testid="count-create">0<', preview.text)
    assert re.search(r'data-testid="count-update">0<', preview.text)
    assert re.search(r'data-testid="count-unchanged">3<', preview.text)
    assert 'data-testid="nothing-to-change"' in preview.text

    assert apply(client, second.id).status_code == 302
    after = [
        (p.employee_number, p.updated_at, p.org_unit_id, p.line_manager_id)
        for p in db.session.scalars(select(Person).order_by(Person.id))
    ]
    assert after == before
    assert (count(OrgUnit), count(RoleAssignment)) == (units, assignments)
    assert latest_batch().counts["unchanged"] == 3


def selected_values(html: str) -> dict[str, str]:
    """What a browser would submit for the form's selects as rendered (the preselection)."""
    out = {}
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body) or re.search(
            r'<option value="([^"]*)"', body
        )
        out[name] = unescape(chosen.group(1))
    return out


def test_issues_csv_is_an_attachment_with_formulas_neutralised(client, world):
    data = (
        b"Employee Number,First Name,Last Name,=Mail\n"
        b"E1,Eve,Evil,=1+2\n"
        b"E2,Fay,Fine,fay@example.com\n"
    )
    upload(client, data, "evil.csv")
    batch = latest_batch()
    page = client.get(f"/admin/imports/{batch.id}/mapping")
    client.post(
        f"/admin/imports/{batch.id}/mapping",
        data={
            "csrf_token": csrf(client, f"/admin/imports/{batch.id}/mapping"),
            **selected_values(page.text),
        },
    )

    def rows_of(response):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert 'filename="evil-issues.csv"' in response.headers["Content-Disposition"]
        return list(csv.reader(io.StringIO(response.text)))

    # Before apply: computed from a fresh preview.
    rows = rows_of(client.get(f"/admin/imports/{batch.id}/issues.csv"))
    assert rows[0] == ["row", "column", "severity", "message"]
    assert rows[1][:3] == ["2", "'=Mail", "error"]
    assert count(Person) == 1

    assert apply(client, batch.id, skip="1").status_code == 302
    rows = rows_of(client.get(f"/admin/imports/{batch.id}/issues.csv"))
    assert len(rows) == 2 and rows[1][:3] == ["2", "'=Mail", "error"]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_discard_keeps_the_record_and_closes_the_batch(client, world):
    batch = run_to_preview(client)
    token = csrf(client, f"/admin/imports/{batch.id}/preview")
    response = client.post(f"/admin/imports/{batch.id}/discard", data={"csrf_token": token})
    assert response.status_code == 302
    assert latest_batch().status == BatchStatus.DISCARDED
    assert count(Person) == 1
    # A discarded batch can be neither previewed nor applied.
    response = client.get(f"/admin/imports/{batch.id}/preview")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/admin/imports/{batch.id}"
    )
    assert apply(client, batch.id).status_code == 302
    assert count(Person) == 1
    # Nothing of the discarded upload is kept for the next file of its shape.
    assert count(ImportMapping) == 0
    upload(client, GOOD_FILE)
    assert (
        'data-testid="saved-mapping-note"'
        not in client.get(f"/admin/imports/{latest_batch().id}/mapping").text
    )


def test_applying_the_same_batch_from_two_tabs_applies_it_once(app, client, world):
    """Two tabs post apply at the same moment: the second request's session still holds the
    batch as uploaded when the first commits. It gets "already applied", not a 500."""
    batch = run_to_preview(client)
    with Session(db.engine) as tab_two:
        stale = tab_two.get(ImportBatch, batch.id)
        assert stale.status == BatchStatus.UPLOADED
        response = apply(client, batch.id)  # tab one applies and commits
        assert response.status_code == 302
        assert "Import applied" in client.get(response.headers["Location"]).text
        with pytest.raises(DomainError, match="already been applied"):
            services.apply(tab_two, stale, skip_errors=False, actor_person_id=None, today=TODAY)
        tab_two.rollback()
    assert count(Person) == 4
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 1
    # Through the page, a second post gets a plain message, never a 500.
    response = apply(client, batch.id)
    assert response.status_code == 302
    assert "This import is applied" in client.get(response.headers["Location"]).text


def test_the_mapping_can_be_downloaded_for_the_command_line(client, world):
    batch = run_to_preview(client)
    response = client.get(f"/admin/imports/{batch.id}/mapping.json")
    assert response.status_code == 200
    assert 'filename="mapping.json"' in response.headers["Content-Disposition"]
    columns, value_maps = services.read_mapping_file(response.data)
    assert columns["employee_number"] == "Payroll Ref"
    assert value_maps["job_title"]["pmo lead"] == "PMOL"


def test_posts_without_a_csrf_token_are_refused(client, world):
    batch = run_to_preview(client)
    response = client.post(f"/admin/imports/{batch.id}/apply", data={"skip_errors": "1"})
    assert response.status_code == 400
    response = client.post(
        "/admin/imports",
        data={"file": (io.BytesIO(GOOD_FILE), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert count(Person) == 1 and count(ImportBatch) == 1


@pytest.mark.parametrize("permission", [Permission.LEARNER, Permission.MANAGER, Permission.TRAINER])
def test_non_admins_get_403_on_every_import_route(app, client, login, permission):
    owner = make_user(Permission.ADMIN)
    batch = services.upload(db.session, data=GOOD_FILE, filename="staff.csv", actor_id=owner.id)
    db.session.commit()
    login(make_user(permission))
    token = csrf(client, "/account/password")
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("staff_import.")]
    assert len(routes) == 8
    for rule in routes:
        url = rule.build({"batch_id": batch.id}, append_unknown=False)[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 403, (method, url)
    assert latest_batch().status == BatchStatus.UPLOADED and count(Person) == 2


def test_values_over_the_column_limits_are_row_errors_and_the_preview_stays_small(client, world):
    # Large, yet under the 500 kB the test client keeps in memory (beyond that it spools the
    # request to a temporary file it never closes). The reading tests go up to 10 MB.
    huge = "L" * 400_000
    data = (
        GOOD_FILE
        + (
            f"{'9' * 60},Long,Number,PMO Lead,Finance Ops,,long.number@example.com\n"
            f"A005,{'N' * 300},Name,PMO Lead,Finance Ops,,long.name@example.com\n"
            f"A006,Big,{huge},PMO Lead,Finance Ops,,big@example.com\n"
        ).encode()
    )
    batch = run_to_preview(client, data)
    page = client.get(f"/admin/imports/{batch.id}/preview")
    assert page.status_code == 200
    assert len(page.data) < 100_000  # however long the cells, the page is not
    assert "Apply the 3 valid rows and skip the 3 rows in error" in page.text
    assert "is 60 characters; the limit is 32" in page.text
    assert "is 300 characters; the limit is 80" in page.text
    assert "is 400,000 characters; the limit is 80" in page.text
    apply(client, batch.id, skip="1")
    assert set(db.session.scalars(select(Person.employee_number))) == {
        "ADM1",
        "A001",
        "A002",
        "A003",
    }


def test_the_mapping_page_lists_status_values_with_counts_and_warns_about_manager_ids(
    client, world
):
    data = (
        b"EmpID,Employee_Name,ManagerID,ManagerName,EmploymentStatus,Termination Date\n"
        b'1001,"Hopper, Grace",,Board of Directors,Active,\n'
        b'1002,"Turing, Alan",1,Grace Hopper,Active,\n'
        b'1003,"Lovelace, Ada",1,Grace Hopper,Voluntarily Terminated,01/02/2024\n'
        b'1004,"Knuth, Donald",2,Alan Turing,Future Start,\n'
    )
    upload(client, data)
    page = client.get(f"/admin/imports/{latest_batch().id}/mapping")
    text = unescape(page.text)
    assert "Only 0 of the 2 values in 'ManagerID' match an employee number" in text
    assert "Active (2 rows)" in text and "Voluntarily Terminated (1 row)" in text
    assert "How the end dates are written" in text  # 01/02/2024 fits both ways
    html = page.text
    for value, meaning in (("0", "active"), ("1", "not_started"), ("2", "leaver")):
        field = re.search(rf'<select[^>]*id="status-{value}"[^>]*>(.*?)</select>', html, re.S)
        assert field and f'<option selected value="{meaning}">' in field.group(1), value


def test_a_new_unit_asks_where_it_goes_and_the_preview_shows_old_and_new_values(client, world):
    make_unit("Second Top", code="ST")  # two units at the top: the admin must choose
    db.session.commit()
    upload(client, GOOD_FILE)
    batch = latest_batch()
    url = f"/admin/imports/{batch.id}/mapping"
    first = client.post(url, data=mapping_post(client, batch.id))
    assert first.headers["Location"].endswith("/mapping")  # departments to map next
    page = client.get(url)
    assert 'id="parent-0"' in page.text  # Finance Ops is to be created: where?
    assert 'id="parent-1"' not in page.text  # Harbour Works exists
    refused = client.post(url, data=mapping_post(client, batch.id))
    assert refused.status_code == 200
    assert field_feedback(refused.text, "parent-0") == [
        "Choose where the new org unit 'finance ops' goes in the tree."
    ]
    chosen = client.post(url, data=mapping_post(client, batch.id, **{"parent-0": "ST"}))
    assert chosen.headers["Location"].endswith("/preview")
    text = unescape(re.sub(r"<[^>]+>", "", client.get(f"/admin/imports/{batch.id}/preview").text))
    assert "Finance Ops — under Second Top" in text
    assert "Org unit: Finance Ops (new)" in text and "Starts: active" in text
    apply(client, batch.id)
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "Finance Ops"))
    assert unit.parent.code == "ST"

    moved = GOOD_FILE.replace(
        b"Patra,Project Analyst,Harbour Works", b"Patra,Project Analyst,Finance Ops"
    )
    upload(client, moved)
    again = latest_batch()
    client.post(f"/admin/imports/{again.id}/mapping", data=mapping_post(
        client, again.id, **{"dept-0": unit.code, "dept-1": "HW"}))  # fmt: skip
    text = unescape(re.sub(r"<[^>]+>", "", client.get(f"/admin/imports/{again.id}/preview").text))
    assert "Org unit: Harbour Works → Finance Ops" in text
