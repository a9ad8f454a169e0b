"""Every report's XLSX export says what it holds: the report, the date it is as at, whose
people, and the filters picked (org unit, office, role, and the report's own options), in the
workbook's title, print header and "About this report" sheet, the table's sheet staying
first. The CSV is the bare table (header row first), for programs to read as it is. SQLite
and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from app.accounts.models import Permission
from tests.factories import make_user
from tests.reports.factories import csv_table
from tests.reports.test_readiness import ON, Org, build_org

DAY = ON.strftime("%d %b %Y")  # 01 Jun 2025


@pytest.fixture
def org(session) -> Org:
    return build_org(session)


@pytest.fixture
def admin(session, org):
    user = make_user(Permission.ADMIN)
    session.commit()
    return user


@pytest.fixture
def manager(session, org):
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=org.boss_a)
    session.commit()
    return user


def filtered(org: Org) -> dict[str, object]:
    return {"on": ON.isoformat(), "unit": org.team_a.id, "office": org.office.id,
            "role": org.anl.id}  # fmt: skip


def exports(org: Org) -> list[tuple[str, str, dict[str, object]]]:
    """(report, address without the format, query) for every report's export."""
    every = filtered(org)
    return [
        ("Capability heatmap", "/reports/heatmap", every),
        ("Role readiness", "/reports/readiness", every),
        ("Role readiness", "/reports/readiness", {**every, "table": "gaps"}),
        ("Bench strength", "/reports/bench", every),
        ("Bench strength", "/reports/bench", {**every, "table": "people"}),
        ("P3O function coverage", "/reports/coverage", every),
    ]


def fetch(client, address: str, query: dict, fmt: str):
    if address == "/reports/heatmap" or address == "/reports/coverage":
        return client.get(address, query_string={**query, "format": fmt})
    return client.get(f"{address}.{fmt}", query_string=query)


def about_sheet(data: bytes) -> tuple[list[str], dict[str, str], str, str]:
    """(the first sheet names, About's lines by label, the title, the print header)."""
    book = load_workbook(io.BytesIO(data))
    about = book["About this report"]
    lines = {str(a): str(b) for a, b in about.iter_rows(values_only=True)}
    return book.sheetnames, lines, book.properties.title, book.active.oddHeader.center.text


@pytest.mark.parametrize("n", range(6))
def test_each_export_names_its_date_scope_and_filters(client, login, admin, org, n):
    report, address, query = exports(org)[n]
    login(admin)

    response = fetch(client, address, query, "xlsx")
    assert response.status_code == 200
    sheets, lines, title, header = about_sheet(response.data)
    assert sheets[-1] == "About this report" and len(sheets) == 2  # the table's sheet first
    heading = lines[report]
    assert heading.startswith(f"As at {DAY} · everyone")
    for words in ("org unit: Team A", "office: ", "Enterprise PMO", "role: PMO Analyst"):
        assert words in heading, (report, heading)
    first_sheet = next(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows())
    table_header = [str(c.value) for c in first_sheet]

    # The CSV is the same table with nothing above it: a program reads it as it is.
    text = fetch(client, address, query, "csv").get_data(as_text=True)
    assert csv_table(text)[0] == table_header
    assert lines["As at"] == DAY
    assert lines["Org unit"] == "Team A"
    assert "Enterprise PMO" in lines["Office"]
    assert lines["Role"] == "PMO Analyst (ANL)"
    assert title == heading[:250] and header.startswith("As at")


def test_the_bench_export_names_its_options(client, login, admin, org):
    login(admin)
    query = {"on": ON.isoformat(), "basis": "all", "within": "1", "who": "targets"}
    response = client.get("/reports/bench.xlsx", query_string=query)
    _, lines, _, _ = about_sheet(response.data)
    assert lines["Ready on"] == "All competencies"
    assert lines["Short by one level on"] == "up to 1 competency"
    assert lines["Who"] == "Only those who target it"
    assert lines["Table"]  # which of the page's tables this is


def test_a_managers_export_says_whose_people_it_counts(client, login, manager, org):
    login(manager)
    response = client.get("/reports/readiness.xlsx", query_string={"on": ON.isoformat()})
    _, lines, title, _ = about_sheet(response.data)
    assert lines["Role readiness"] == title == f"As at {DAY} · the people Ada Boss manages"


def test_the_closest_roles_export_names_the_person_and_date(client, login, admin, org):
    login(admin)
    url = f"/reports/people/{org.p5.id}/closest-roles"
    _, lines, _, _ = about_sheet(client.get(f"{url}.xlsx?on={ON}").data)
    assert lines["Closest roles"] == f"As at {DAY} · Max Five ({org.p5.employee_number})"
    assert lines["Person"] == f"Max Five ({org.p5.employee_number})"


def test_a_heading_cannot_carry_a_formula(client, login, admin, session, org):
    org.team_a.name = "=HYPERLINK(1)"
    session.commit()
    login(admin)
    query = {"on": ON.isoformat(), "unit": org.team_a.id}
    _, lines, _, _ = about_sheet(client.get("/reports/readiness.xlsx", query_string=query).data)
    assert "org unit: =HYPERLINK(1)" in lines["Role readiness"]  # inside, not at its start
    assert lines["Org unit"] == "'=HYPERLINK(1)"
