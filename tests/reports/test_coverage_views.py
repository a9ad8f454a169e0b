"""The P3O function coverage pages: what each audience sees (a manager only offices with
their people, and only their people's names; a learner nothing), the exports against the
screen cell by cell, as-at and comparison dates in the URL, bad filters, the people behind a
cell, and the page that says how the needed functions are decided.

Endpoints: reports.coverage, reports.coverage_cell, reports.coverage_rules (managers,
trainers, admins); reports.coverage_rules_file (trainers, admins)."""

from __future__ import annotations

import io
from datetime import date
from html.parser import HTMLParser

import openpyxl
import pytest

from app.accounts.models import Permission
from app.reports import coverage as cov
from tests.factories import make_person, make_user
from tests.reports.factories import csv_records
from tests.reports.test_coverage import ON, Org, rate

URL = "/reports/coverage"


class CoverageTables(HTMLParser):
    """The per-office tables of the page: {office code: {function code: {column: text}}},
    the words only (symbols are aria-hidden)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict[str, dict[str, str]]] = {}
        self.office = self.function = self.column = None
        self.hidden = 0
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.column is not None:
            self.depth += 1
            if a.get("aria-hidden") == "true":
                self.hidden = self.depth
        if tag == "table" and (a.get("data-testid") or "").startswith("coverage-table-"):
            self.office = a["data-testid"].removeprefix("coverage-table-")
            self.tables[self.office] = {}
        elif tag == "tr" and self.office and a.get("data-function"):
            self.function = a["data-function"]
            self.tables[self.office][self.function] = {}
        elif tag == "td" and self.function and a.get("data-col"):
            self.column = a["data-col"]
            self.tables[self.office][self.function][self.column] = ""
            self.depth = 0

    def handle_endtag(self, tag):
        if self.column is not None:
            if tag == "td" and self.depth == 0:
                cell = self.tables[self.office][self.function]
                cell[self.column] = " ".join(cell[self.column].split())
                self.column = None
                return
            if self.hidden == self.depth:
                self.hidden = 0
            self.depth -= 1
        if tag == "table":
            self.office = None
        elif tag == "tr":
            self.function = None

    def handle_data(self, data):
        if self.column is not None and not self.hidden:
            self.tables[self.office][self.function][self.column] += data


def page_tables(html: str) -> dict[str, dict[str, dict[str, str]]]:
    parser = CoverageTables()
    parser.feed(html)
    return parser.tables


@pytest.fixture
def org(session):
    return Org(session)


@pytest.fixture
def trainer(session, org):
    user = make_user(Permission.LEARNER, Permission.TRAINER)
    session.commit()
    return user


@pytest.fixture
def manager(session, org):
    """The head of the hub's unit: sees Eve (a HUB member), no one in PRJ."""
    boss = make_person("Hal", "Head", unit=org.unit_hub)
    org.unit_hub.head_id = boss.id
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=boss)
    session.commit()
    return user


def get(client, login, user, url=URL, **args):
    login(user)
    return client.get(url, query_string=args)


# --- who sees what ----------------------------------------------------------------------------


def test_a_trainer_sees_every_office_with_its_marks(client, login, trainer):
    response = get(client, login, trainer, on=ON.isoformat())
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    assert list(tables) == ["PO", "HUB", "PRJ"]
    assert tables["PRJ"]["ISSUES"]["own"] == "Not covered"
    assert tables["PRJ"]["PLANNING"]["own"] == "Only Dee Dane"
    assert tables["PRJ"]["RISK"]["own"] == "Covered by 2"
    assert tables["HUB"]["RISK"] == {"own": "Only Eve Evans", "rolled": "Covered by 3"}
    # the marks are also told apart without colour: a class and a symbol per status
    assert 'class="cov cov-not-covered"' in html and "✕" in html
    assert 'class="cov cov-single"' in html
    # how the needed functions are decided, in plain words, with a link to the rules
    assert "Which functions an office needs" in html
    assert "/reports/coverage/rules" in html
    assert "in <em>every</em> competency" in html
    # the chart, with its text alternative
    assert "<svg" in html and 'role="img"' in html and "<desc" in html
    assert "one person only: Planning and scheduling" in html


def test_a_manager_sees_offices_with_their_people_and_only_their_names(client, login, manager):
    response = get(client, login, manager, on=ON.isoformat())
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    assert list(tables) == ["HUB"]
    assert tables["HUB"]["PLANNING"]["rolled"] == "Only one person (not in your reach)"
    assert tables["HUB"]["TOOLS"]["own"] == "Only Eve Evans"
    assert "Dee Dane" not in html
    assert "names are shown only for people in your reach" in html


def test_a_learner_is_refused_and_a_stranger_sent_to_log_in(client, login, session, org):
    learner = make_user(Permission.LEARNER, person=org.ann)
    session.commit()
    for url in (URL, f"{URL}/cell", f"{URL}/rules", f"{URL}/office-functions.yaml"):
        assert get(client, login, learner, url).status_code == 403


def test_a_stranger_is_sent_to_log_in(client, org):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_manager_naming_an_office_beyond_their_reach_is_refused(client, login, manager, org):
    assert get(client, login, manager, office=org.prj.id).status_code == 403
    assert get(client, login, manager, office=org.hub.id).status_code == 200


def test_the_navigation_offers_the_report_to_managers(client, login, manager):
    html = get(client, login, manager, "/").get_data(as_text=True)
    assert "P3O function coverage" in html


# --- filters and dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        ({"on": "2026-02-30"}, "Not a valid date"),
        ({"on": "1800-01-01"}, "1900"),
        ({"on": "2200-01-01"}, "2100"),
        ({"office": "99999"}, "no office with id 99999"),
        ({"unit": "abc"}, "is not an id"),
    ],
)
def test_bad_filters_are_explained_on_the_page(client, login, trainer, args, words):
    response = get(client, login, trainer, **args)
    assert response.status_code == 400
    assert words.lower() in response.get_data(as_text=True).lower()


def test_the_report_runs_as_at_a_past_date(client, login, trainer, session, org):
    rate(session, org.cal, "CTL-02", 3, on=date(2026, 3, 1))
    session.commit()
    then = page_tables(get(client, login, trainer, on="2026-02-16").get_data(as_text=True))
    now = page_tables(get(client, login, trainer, on=ON.isoformat()).get_data(as_text=True))
    assert then["PRJ"]["PLANNING"]["own"] == "Only Dee Dane"
    assert now["PRJ"]["PLANNING"]["own"] == "Covered by 2"


def test_comparing_two_dates_lists_what_moved(client, login, trainer, session, org):
    rate(session, org.cal, "CTL-02", 3, on=date(2026, 3, 1))
    session.commit()
    response = get(client, login, trainer, on=ON.isoformat(), compare="2026-02-16")
    html = response.get_data(as_text=True)
    assert "What moved since 16 Feb 2026" in html
    assert "Planning and scheduling: Only Dee Dane → Covered by 2" in html
    assert page_tables(html)["PRJ"]["PLANNING"]["before"].startswith("Only Dee Dane")


def test_an_office_filter_narrows_to_its_tree(client, login, trainer, org):
    tables = page_tables(
        get(client, login, trainer, on=ON.isoformat(), office=org.hub.id).get_data(as_text=True)
    )
    assert list(tables) == ["HUB", "PRJ"]


# --- exports: the same cells as the screen ---------------------------------------------------


def screen_cells(html: str) -> dict[tuple[str, str, str], str]:
    return {
        (office, function, column): text
        for office, rows in page_tables(html).items()
        for function, cols in rows.items()
        for column, text in cols.items()
    }


def export_cells(rows: list[dict], codes: dict[str, str]) -> dict[tuple[str, str, str], str]:
    """The export's rows as the page's cells: function name → code, own/rolled text."""
    out = {}
    for row in rows:
        key = (row["Office code"], codes[row["Function"]])
        out[(*key, "own")] = row["This office"]
        if row["With the offices reporting into it"] != "No offices report into it":
            out[(*key, "rolled")] = row["With the offices reporting into it"]
    return out


@pytest.mark.parametrize("who", ["trainer", "manager"])
def test_csv_and_xlsx_hold_the_cells_on_the_screen(client, login, request, session, who):
    user = request.getfixturevalue(who)
    html = get(client, login, user, on=ON.isoformat()).get_data(as_text=True)
    screen = screen_cells(html)
    assert screen
    codes = {f.name: f.code for f in cov.load_functions(session)[0]}

    response = client.get(URL, query_string={"on": ON.isoformat(), "format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_records(response.get_data(as_text=True))
    assert export_cells(rows, codes) == screen

    response = client.get(URL, query_string={"on": ON.isoformat(), "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    head, body = values[0], values[1:]
    workbook_rows = [
        {h: ("" if v is None else v) for h, v in zip(head, r, strict=True)} for r in body
    ]
    assert export_cells(workbook_rows, codes) == screen
    # counts are numbers in the workbook, equal to the text's figure
    for r in workbook_rows:
        if r["This office"].startswith("Covered by"):
            assert r["People covering (this office)"] == int(r["This office"].split()[-1])


def test_an_export_is_safe_from_formula_injection(client, login, trainer, session, org):
    org.prj.name = "=HYPERLINK(1)"
    session.commit()
    text = get(client, login, trainer, on=ON.isoformat(), format="csv").get_data(as_text=True)
    rows = csv_records(text)
    assert {r["Office"] for r in rows if r["Office code"] == "PRJ"} == {"'=HYPERLINK(1)"}
    response = client.get(URL, query_string={"on": ON.isoformat(), "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert "'=HYPERLINK(1)" in [c.value for c in next(sheet.iter_cols(max_col=1))]


# --- the people behind a cell ------------------------------------------------------------------


def test_the_people_behind_a_cell_with_their_levels(client, login, trainer, org):
    response = get(
        client,
        login,
        trainer,
        f"{URL}/cell",
        on=ON.isoformat(),
        cell_office=org.prj.id,
        function="PLANNING",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Only Dee Dane" in html
    # everyone in the office, those covering first; Cal is short in CTL-02
    assert html.index("Dee Dane") < html.index("Cal Cole")
    assert "(below 3)" in html
    rolled = get(
        client,
        login,
        trainer,
        f"{URL}/cell",
        on=ON.isoformat(),
        cell_office=org.hub.id,
        function="RISK",
        rolled="1",
    ).get_data(as_text=True)
    assert all(name in rolled for name in ("Ann Able", "Bob Baker", "Eve Evans"))


def test_a_manager_sees_only_their_people_behind_a_cell(client, login, manager, org):
    response = get(
        client,
        login,
        manager,
        f"{URL}/cell",
        on=ON.isoformat(),
        cell_office=org.hub.id,
        function="RISK",
        rolled="1",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Eve Evans" in html and "Ann Able" not in html and "Bob Baker" not in html
    # an office with none of their people is refused
    refused = get(client, login, manager, f"{URL}/cell", cell_office=org.prj.id, function="RISK")
    assert refused.status_code == 403


def test_an_unknown_cell_is_explained(client, login, trainer, org):
    response = get(client, login, trainer, f"{URL}/cell", cell_office=org.prj.id, function="TOOLS")
    assert response.status_code == 400
    assert "does not need that function" in response.get_data(as_text=True)
    # an office that exists but is not open on the date, for a trainer: explained too
    closed = get(
        client,
        login,
        trainer,
        f"{URL}/cell",
        on="2027-06-01",
        cell_office=org.prj.id,
        function="RISK",
    )
    assert closed.status_code == 400
    assert "not in this report on this date" in closed.get_data(as_text=True)


# --- the rules page ----------------------------------------------------------------------------


def test_the_rules_page_says_how_needed_functions_are_decided(client, login, trainer, manager):
    html = get(client, login, manager, f"{URL}/rules").get_data(as_text=True)
    assert "Every office needs the functions listed for its" in html
    assert "curricula/office-functions.yaml" in html
    assert "flask content load" in html
    assert "Risk management" in html and "CTL-04" in html
    assert "Download the rules file" not in html  # managers cannot download it
    assert get(client, login, manager, f"{URL}/office-functions.yaml").status_code == 403

    html = get(client, login, trainer, f"{URL}/rules").get_data(as_text=True)
    assert "Download the rules file" in html
    download = client.get(f"{URL}/office-functions.yaml")
    assert download.status_code == 200
    assert "kind: office-functions" in download.get_data(as_text=True)
