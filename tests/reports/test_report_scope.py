"""Whose people a report may show (issue 13, point 6), on SQLite and PostgreSQL: every report
and each of its exports, with every filter and drill-down a manager could type into the
address bar. tests/test_permissions.py checks who may open each route at all; this file
checks what a manager gets when they name someone else's unit, office, role or person.

The rule the report pages follow (app/reports/forms.py, the views' docstrings):

* a unit or an office beyond the manager's reach, or a person they may not see, is refused
  with 403, on the page, on its exports and in its drill-downs; so is a cell (of the
  heatmap or of the coverage report) on such a row;
* the role filter names the public role catalogue: it is never refused, and the report is
  narrowed to the holders the manager may see (the figures of a role held only by other
  people are empty);
* a unit the manager reaches through one of their people (Dee, who reports to Mo, sits in
  Finance) may be picked, and counts only that person;
* a learner is refused every report, whatever the parameters;
* an id too large for the database is an unknown id (400 or 404), never a 500.

No refused or narrowed response names an outsider or shows their employee number.

The organisation (Mo manages Delivery; the outsiders are those Mo may not see):

    Enterprise                Pat Parentunit (outsider)
    ├── Delivery (head: Mo)   Mo Manager, Uma Unitmember       office: Delivery PMO
    │   └── Delivery North    Cara Childunit                   office: Delivery PMO
    ├── Finance (head: Max)   Max Otherhead, Otto Outsider (outsiders),
    │                         Dee Directreport (line manager: Mo)
    └── Legal (head: Lee)     Lee Lawhead, Olga Otherside      office: Legal PMO (outsiders)

Roles: project analyst (PA) held by Mo, Uma, Cara, Otto and Olga; contracts adviser (CA)
held by Lee and Olga only, so a CA bench or readiness row seen by Mo has nobody in it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook

from app.accounts.models import Permission
from app.org.models import Office, OrgUnit, P3Level, Person, Role
from app.reports.models import (
    OfficeFunction,
    OfficeFunctionCompetency,
    OfficeFunctionNeed,
    OfficeKind,
)
from tests.factories import assign, make_office, make_person, make_role, make_unit, make_user
from tests.pages import normalised
from tests.reports.factories import csv_table, record, small_framework

#: An id no database column can hold (above 2**63): an unknown id, never a server error.
OVERSIZED = "99999999999999999999"
#: One past the largest id an INTEGER key holds (PostgreSQL: "integer out of range").
PAST_INTEGER = str(2**31)
#: An id that names nothing, small enough for the database.
NO_SUCH_ID = 987654
START = date(2025, 1, 1)
MONTH_AGO = (date.today() - timedelta(days=30)).isoformat()
FUNCTION = "RISKCOVER"


@dataclass
class World:
    units: dict[str, OrgUnit]
    offices: dict[str, Office]
    roles: dict[str, Role]
    people: dict[str, Person]
    insiders: list[Person] = field(default_factory=list)
    outsiders: list[Person] = field(default_factory=list)

    def id(self, kind: str, name: str) -> int:
        return getattr(self, kind)[name].id


def _office_function(session) -> None:
    """Risk cover: RISK at level 3, needed by every programme office."""
    function = OfficeFunction(code=FUNCTION, name="Risk cover", level=3)
    function.competencies.append(OfficeFunctionCompetency(competency_code="RISK"))
    function.needs.append(OfficeFunctionNeed(office_kind=OfficeKind.PROGRAMME))
    session.add(function)
    session.flush()


@pytest.fixture
def world(session) -> World:
    enterprise = make_unit("Enterprise")
    units = {
        "enterprise": enterprise,
        "delivery": make_unit("Delivery", parent=enterprise),
        "finance": make_unit("Finance", parent=enterprise),
        "legal": make_unit("Legal", parent=enterprise),
    }
    units["north"] = make_unit("Delivery North", parent=units["delivery"])
    offices = {
        "delivery": make_office(
            "DPMO", name="Delivery PMO", p3_level=P3Level.PROGRAMME, org_unit=units["delivery"]
        ),
        "legal": make_office(
            "LPMO", name="Legal PMO", p3_level=P3Level.PROGRAMME, org_unit=units["legal"]
        ),
    }
    roles = {
        "pa": make_role("PA", "Project analyst"),
        "ca": make_role("CA", "Contracts adviser"),
    }
    small_framework(
        session,
        codes=("RISK", "PLAN"),
        profiles={"PA": {"RISK": (3, True), "PLAN": (2, False)}, "CA": {"RISK": (4, True)}},
        published_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    _office_function(session)

    mo = make_person("Mo", "Manager", unit=units["delivery"], number="IN-MO")
    people = {
        "mo": mo,
        "uma": make_person("Uma", "Unitmember", unit=units["delivery"], number="IN-UMA"),
        "cara": make_person("Cara", "Childunit", unit=units["north"], number="IN-CARA"),
        "dee": make_person(
            "Dee", "Directreport", unit=units["finance"], manager=mo, number="IN-DEE"
        ),
        "pat": make_person("Pat", "Parentunit", unit=enterprise, number="OUT-PAT"),
        "max": make_person("Max", "Otherhead", unit=units["finance"], number="OUT-MAX"),
        "otto": make_person("Otto", "Outsider", unit=units["finance"], number="OUT-OTTO"),
        "lee": make_person("Lee", "Lawhead", unit=units["legal"], number="OUT-LEE"),
        "olga": make_person("Olga", "Otherside", unit=units["legal"], number="OUT-OLGA"),
    }
    units["delivery"].head_id = mo.id
    units["finance"].head_id = people["max"].id
    units["legal"].head_id = people["lee"].id

    pa, ca = roles["pa"], roles["ca"]
    assign(people["mo"], pa, start=START)
    assign(people["uma"], pa, office=offices["delivery"], start=START)
    assign(people["cara"], pa, office=offices["delivery"], start=START)
    assign(people["otto"], pa, start=START)
    assign(people["olga"], pa, office=offices["legal"], start=START)
    assign(people["olga"], ca, office=offices["legal"], start=START)
    assign(people["lee"], ca, office=offices["legal"], start=START)
    levels = {
        "mo": (3, 2),
        "uma": (2, 2),
        "cara": (3, 1),
        "dee": (1, 1),
        "pat": (5, 5),
        "max": (4, 4),
        "otto": (4, 3),
        "lee": (4, 2),
        "olga": (5, 3),
    }
    for name, (risk, plan) in levels.items():
        record(session, people[name], "RISK", risk, achieved_on=START)
        record(session, people[name], "PLAN", plan, achieved_on=START)
    session.commit()
    inside = ("mo", "uma", "cara", "dee")
    return World(
        units=units,
        offices=offices,
        roles=roles,
        people=people,
        insiders=[people[n] for n in inside],
        outsiders=[p for n, p in people.items() if n not in inside],
    )


@pytest.fixture
def mo(session, world) -> Person:
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=world.people["mo"])
    session.commit()
    return user


@pytest.fixture
def trainer(session, world):
    user = make_user(Permission.LEARNER, Permission.TRAINER)
    session.commit()
    return user


# --- reading what a response shows -----------------------------------------------------------


def body_text(response) -> str:
    """What a person could read in a response: the page, or the export's cells."""
    data = response.get_data()
    kind = response.headers.get("Content-Type", "")
    if kind.startswith("application/vnd.openxmlformats"):
        sheet = load_workbook(io.BytesIO(data)).active
        return "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for row in sheet.iter_rows(values_only=True)
        )
    return data.decode("utf-8")


def export_rows(response) -> list[list[str]]:
    """An export's rows as text (CSV or XLSX)."""
    data = response.get_data()
    if response.headers["Content-Type"].startswith("text/csv"):
        return csv_table(data.decode("utf-8"))
    sheet = load_workbook(io.BytesIO(data)).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def assert_no_outsider(world: World, response, url: str) -> None:
    text = body_text(response)
    for person in world.outsiders:
        for mark in (person.last_name, person.employee_number, person.email):
            assert mark not in text, f"{url} shows {mark} ({person.full_name})"


def table(response) -> dict[str, list[str]]:
    """An export as {first cell of a row: the row}, the header under "header"."""
    header, *rows = export_rows(response)
    return {"header": header, **{row[0]: row for row in rows}}


def url(path: str, **query) -> str:
    return f"{path}?{urlencode(query)}" if query else path


# --- the reports, their exports and their drill-downs ----------------------------------------

#: Every report page and export, by name: (path, extra query). The cells are added per test.
PAGES = {
    "heatmap": ("/reports/heatmap", {}),
    "heatmap csv": ("/reports/heatmap", {"format": "csv"}),
    "heatmap xlsx": ("/reports/heatmap", {"format": "xlsx"}),
    "heatmap units xlsx": ("/reports/heatmap", {"rows": "unit", "format": "xlsx"}),
    "heatmap offices csv": ("/reports/heatmap", {"rows": "office", "format": "csv"}),
    "heatmap roles csv": ("/reports/heatmap", {"rows": "role", "format": "csv"}),
    "readiness": ("/reports/readiness", {}),
    "readiness csv": ("/reports/readiness.csv", {}),
    "readiness xlsx": ("/reports/readiness.xlsx", {}),
    "readiness gaps csv": ("/reports/readiness.csv", {"table": "gaps"}),
    "readiness change xlsx": ("/reports/readiness.xlsx", {"table": "change", "compare": MONTH_AGO}),
    "bench": ("/reports/bench", {}),
    "bench csv": ("/reports/bench.csv", {}),
    "bench xlsx": ("/reports/bench.xlsx", {}),
    "coverage": ("/reports/coverage", {}),
    "coverage csv": ("/reports/coverage", {"format": "csv"}),
    "coverage xlsx": ("/reports/coverage", {"format": "xlsx", "compare": MONTH_AGO}),
}


def heatmap_cell(row_kind: str, row, **query) -> str:
    return url("/reports/heatmap/cell", competency="RISK", row_kind=row_kind, row=row, **query)


def coverage_cell(office_id, **query) -> str:
    return url("/reports/coverage/cell", cell_office=office_id, function=FUNCTION, **query)


def every_page(**filters) -> list[str]:
    """Every report page and export with ``filters``."""
    return [url(path, **query, **filters) for path, query in PAGES.values()]


def mos_cells(world: World, **filters) -> list[str]:
    """Drill-downs on rows of Mo's own: everyone, Uma, the Delivery PMO's coverage."""
    return [
        heatmap_cell("all", "", **filters),
        heatmap_cell("people", world.id("people", "uma"), **filters),
        heatmap_cell("unit", world.id("units", "delivery"), **filters),
        coverage_cell(world.id("offices", "delivery"), **filters),
    ]


def every_report(world: World, **filters) -> list[str]:
    """Every page and export with ``filters``, and the drill-downs on Mo's own rows."""
    return every_page(**filters) + mos_cells(world, **filters)


# --- a manager naming what is beyond their reach -----------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param(lambda w: {"unit": w.id("units", "legal")}, id="another subtree's unit"),
        pytest.param(lambda w: {"unit": w.id("units", "enterprise")}, id="the unit above"),
        pytest.param(lambda w: {"office": w.id("offices", "legal")}, id="another unit's office"),
    ],
)
def test_a_manager_naming_a_unit_or_office_beyond_reach_is_refused_everywhere(
    client, login, world, mo, filters
):
    login(mo)
    for address in every_report(world, **filters(world)):
        response = client.get(address)
        assert response.status_code == 403, address
        assert "Not yours to see" in response.text, address
        assert_no_outsider(world, response, address)


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(lambda w: heatmap_cell("unit", w.id("units", "legal")), id="unit row"),
        pytest.param(lambda w: heatmap_cell("unit", w.id("units", "enterprise")), id="unit above"),
        pytest.param(lambda w: heatmap_cell("people", w.id("people", "olga")), id="person row"),
        pytest.param(lambda w: heatmap_cell("people", w.id("people", "pat")), id="person above"),
        pytest.param(lambda w: heatmap_cell("office", w.id("offices", "legal")), id="office row"),
        pytest.param(lambda w: coverage_cell(w.id("offices", "legal")), id="coverage cell"),
        pytest.param(
            lambda w: coverage_cell(w.id("offices", "legal"), rolled="1"), id="coverage rolled"
        ),
    ],
)
def test_a_manager_opening_a_cell_of_another_subtree_is_refused(client, login, world, mo, cell):
    login(mo)
    address = cell(world)
    response = client.get(address)
    assert response.status_code == 403, address
    assert_no_outsider(world, response, address)


@pytest.mark.parametrize("suffix", ["", ".csv", ".xlsx"])
def test_a_manager_is_refused_the_closest_roles_of_someone_they_may_not_see(
    client, login, world, mo, suffix
):
    login(mo)
    missing = client.get(f"/reports/people/{NO_SUCH_ID}/closest-roles{suffix}")
    assert missing.status_code == 403
    for whom in ("olga", "otto", "pat", "max"):
        person = world.people[whom]
        hidden = client.get(f"/reports/people/{person.id}/closest-roles{suffix}?on={MONTH_AGO}")
        assert hidden.status_code == 403, whom
        assert_no_outsider(world, hidden, f"closest roles of {whom}")
        # a hidden person cannot be told from a missing one
        assert normalised(hidden.text) == normalised(missing.text)


@pytest.mark.parametrize("suffix", ["", ".csv", ".xlsx"])
def test_a_manager_gets_the_closest_roles_of_their_own_people(client, login, world, mo, suffix):
    login(mo)
    for whom in ("uma", "cara", "dee"):
        address = f"/reports/people/{world.id('people', whom)}/closest-roles{suffix}"
        response = client.get(address)
        assert response.status_code == 200, whom
        assert "Contracts adviser" in body_text(response)  # a role none of them holds


# --- what the manager may name: narrowed to their own people -----------------------------------


def test_a_role_held_only_by_outsiders_is_narrowed_to_nobody(client, login, world, mo):
    """The role filter lists the public catalogue: naming the contracts adviser role is not
    refused, but none of its holders (Lee, Olga) is Mo's, so nobody is counted."""
    login(mo)
    ca = world.id("roles", "ca")
    for address in every_page(role=ca):
        response = client.get(address)
        assert response.status_code == 200, address
        assert_no_outsider(world, response, address)
    for address in mos_cells(world, role=ca):
        # none of Mo's rows is in a report of CA holders: an empty cell (everyone in
        # scope: nobody), a message (400), or, for the coverage cell of an office the
        # filter leaves out, a refusal (403)
        response = client.get(address)
        assert response.status_code in (200, 400, 403), address
        assert_no_outsider(world, response, address)
    readiness = table(client.get(url("/reports/readiness.csv", role=ca)))
    assert readiness["Contracts adviser"][2] == "0"  # holders: Lee and Olga are not Mo's
    heatmap = table(client.get(url("/reports/heatmap", role=ca, rows="role", format="csv")))
    assert heatmap["Everyone in scope"][1] == "0"
    assert "Contracts adviser (CA)" not in heatmap
    coverage = table(client.get(url("/reports/coverage", role=ca, format="csv")))
    assert list(coverage) == ["header"]  # the Legal PMO's cover is not Mo's to see
    cell = client.get(heatmap_cell("role", ca))
    assert cell.status_code == 200
    assert "No one here is required to hold this competency." in cell.text
    assert_no_outsider(world, cell, "heatmap cell of the CA role")


def test_a_role_row_of_the_heatmap_counts_only_the_managers_holders(client, login, world, mo):
    """The project analyst role is held by Mo, Uma and Cara (Mo's) and by Otto and Olga
    (not): the role's cell names Mo's three only."""
    login(mo)
    pa = world.id("roles", "pa")
    cell = client.get(heatmap_cell("role", pa))
    assert cell.status_code == 200
    assert_no_outsider(world, cell, "heatmap cell of the PA role")
    for name in ("mo", "uma", "cara"):
        assert world.people[name].last_name in cell.text
    assert '3</span><br><span class="small text-muted">required to hold it' in cell.text


def test_a_unit_reached_through_a_direct_report_counts_only_them(client, login, world, mo):
    """Dee reports to Mo but sits in Finance: Mo may pick Finance, and sees Dee only."""
    login(mo)
    finance = world.id("units", "finance")
    for address in every_page(unit=finance):
        response = client.get(address)
        assert response.status_code == 200, address
        assert_no_outsider(world, response, address)
    heatmap = table(client.get(url("/reports/heatmap", unit=finance, format="csv")))
    assert list(heatmap) == ["header", "Everyone in scope", "Directreport, Dee"]
    assert heatmap["Everyone in scope"][1] == "1 people"
    units = table(client.get(url("/reports/heatmap", unit=finance, rows="unit", format="xlsx")))
    assert units["Everyone in scope"][1] == "1"  # Max and Otto are not counted
    dee = client.get(heatmap_cell("people", world.id("people", "dee"), unit=finance))
    assert dee.status_code == 200 and "Directreport" in dee.text
    otto = client.get(heatmap_cell("people", world.id("people", "otto"), unit=finance))
    assert otto.status_code == 403
    assert_no_outsider(world, otto, "Otto's cell")


def test_every_report_of_a_manager_shows_only_their_people(client, login, world, mo):
    login(mo)
    for address in every_report(world):
        response = client.get(address)
        assert response.status_code == 200, address
        assert_no_outsider(world, response, address)
    # the figures count Mo's four people only (Mo, Uma, Cara; Dee through the line)
    people = table(client.get(url("/reports/heatmap", format="csv")))
    assert set(people) - {"header"} == {
        "Everyone in scope",
        "Childunit, Cara",
        "Directreport, Dee",
        "Manager, Mo",
        "Unitmember, Uma",
    }
    assert people["Everyone in scope"][1] == "4 people"
    units = table(client.get(url("/reports/heatmap", rows="unit", format="csv")))
    assert {k: v[1] for k, v in units.items() if k != "header"} == {
        "Everyone in scope": "4",
        "Delivery": "3",
        "Finance": "1",  # Dee only: not Max or Otto
    }
    offices = table(client.get(url("/reports/heatmap", rows="office", format="xlsx")))
    assert "Legal PMO" not in offices and offices["Not in an office"][1] == "2"
    roles = table(client.get(url("/reports/heatmap", rows="role", format="csv")))
    assert roles["Project analyst (PA)"][1] == "3"  # not Otto or Olga
    readiness = table(client.get("/reports/readiness.xlsx"))
    assert readiness["Project analyst"][2] == "3"
    bench = table(client.get("/reports/bench.csv"))
    assert bench["Project analyst"][3] == "3" and bench["Contracts adviser"][3] == "0"
    coverage = table(client.get(url("/reports/coverage", format="csv")))
    assert [k for k in coverage if k != "header"] == ["Delivery PMO"]


def test_a_trainer_sees_the_outsiders_the_manager_may_not(client, login, world, trainer):
    """The control: the same addresses show the outsiders to someone who sees everyone, so
    the checks above would notice a leak."""
    login(trainer)
    legal = world.id("units", "legal")
    cell = client.get(heatmap_cell("people", world.id("people", "olga"), unit=legal))
    assert cell.status_code == 200 and "Otherside" in cell.text
    people = client.get(url("/reports/heatmap", unit=legal, format="csv"))
    assert "Otherside" in body_text(people) and "Lawhead" in body_text(people)
    cover = client.get(coverage_cell(world.id("offices", "legal")))
    assert cover.status_code == 200 and "Otherside" in cover.text
    closest = client.get(f"/reports/people/{world.id('people', 'olga')}/closest-roles.csv")
    assert closest.status_code == 200
    units = table(client.get(url("/reports/heatmap", rows="unit", format="csv")))
    assert units["Finance"][1] == "3" and units["Legal"][1] == "2"
    roles = table(client.get(url("/reports/heatmap", rows="role", format="csv")))
    assert roles["Project analyst (PA)"][1] == "5"


# --- a learner -------------------------------------------------------------------------------


def test_a_learner_is_refused_every_report_even_about_themselves(client, login, world):
    uma = world.people["uma"]
    login(make_user(Permission.LEARNER, person=uma))
    own = {
        "unit": world.id("units", "delivery"),
        "office": world.id("offices", "delivery"),
        "role": world.id("roles", "pa"),
    }
    addresses = every_report(world) + every_report(world, **own)
    addresses += [
        f"/reports/people/{uma.id}/closest-roles{suffix}" for suffix in ("", ".csv", ".xlsx")
    ]
    addresses += ["/reports/coverage/rules", "/reports/coverage/office-functions.yaml"]
    for address in addresses:
        response = client.get(address)
        assert response.status_code == 403, address
        assert "Not yours to see" in response.text, address
        assert "Childunit" not in response.text and "Project analyst" not in response.text
        assert_no_outsider(world, response, address)


# --- ids too large for the database --------------------------------------------------------------


def oversized_addresses(world: World, big: str) -> list[str]:
    urls = []
    for name in ("unit", "office", "role"):
        urls += [url(path, **query, **{name: big}) for path, query in PAGES.values()]
        urls.append(heatmap_cell("all", "", **{name: big}))
        urls.append(coverage_cell(world.id("offices", "delivery"), **{name: big}))
    urls += [heatmap_cell(kind, big) for kind in ("people", "unit", "office", "role")]
    urls += [coverage_cell(big), coverage_cell(big, rolled="1")]  # type: ignore[arg-type]
    urls += [f"/reports/people/{big}/closest-roles{s}" for s in ("", ".csv", ".xlsx")]
    urls += [url("/reports/bench.csv", role=big, table="people")]
    return urls


@pytest.mark.parametrize("who", ["manager", "trainer"])
def test_an_id_too_large_for_the_database_is_unknown_not_an_error(
    client, login, world, mo, trainer, who
):
    login(mo if who == "manager" else trainer)
    failures = []
    addresses = oversized_addresses(world, OVERSIZED) + oversized_addresses(world, PAST_INTEGER)
    for address in addresses:
        response = client.get(address)
        if response.status_code not in (400, 404):
            failures.append(f"{address}: {response.status_code}")
    # a page number is not an id: one past the end shows the last page
    for address in every_page(page=OVERSIZED):
        response = client.get(address)
        if response.status_code != 200:
            failures.append(f"{address}: {response.status_code}")
    assert not failures, "\n".join(failures)
