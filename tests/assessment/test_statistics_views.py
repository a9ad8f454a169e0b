"""The item statistics pages: who may see them, what they show, that every export (CSV and
XLSX) holds the very figures of the page's table cell by cell, that exports cannot carry a
spreadsheet formula, and that a page's queries do not grow with its items."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import openpyxl
import pytest

from app.accounts.models import Permission
from app.assessment.statistics_tables import FORMULA_START
from tests.assessment.test_statistics import (
    make_assessment,
    make_attempt,
    make_bank,
    multiple,
    single,
    true_false,
)
from tests.factories import make_person, make_unit, make_user

HOSTILE_TITLE = '=HYPERLINK("http://evil.example","Click")'


class Tables(HTMLParser):
    """The text of each cell of each table with a data-testid, as a reader sees it
    (screen-reader text included, whitespace folded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("data-testid"):
            self.current = self.tables.setdefault(attrs["data-testid"], [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None
        elif tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.current[-1].append(" ".join("".join(self.cell).split()).replace(" ;", ";"))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_of(response) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(response.get_data(as_text=True))
    return parser.tables


def screen_value(text: str) -> str:
    """A cell as the CSV writes it: no per cent sign, empty for "–"."""
    if text == "–":
        return ""
    return text[:-1] if re.fullmatch(r"-?\d+%", text) else text


def assert_same_cells(page_rows: list[list[str]], csv_text: str, xlsx: bytes) -> None:
    """The CSV and the workbook hold the page's table: the same header (a per cent column
    says so), the same rows, the same figures; text that looks like a formula carries a
    leading quote in both exports, and only such text."""
    written = list(csv.reader(io.StringIO(csv_text)))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    book = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert len(written) == len(page_rows) == len(book)
    for r, (shown, row, cells) in enumerate(zip(page_rows, written, book, strict=True)):
        assert len(shown) == len(row) == len(cells)
        for text, value, cell in zip(shown, row, cells, strict=True):
            expected = screen_value(text)
            quoted = value.startswith("'") and value[1:].startswith(FORMULA_START)
            if quoted:
                assert value[1:] == expected and cell == value, (r, text, value, cell)
                continue
            assert value == expected, (r, text, value)
            if expected == "":
                assert cell is None, (r, text, cell)
            elif isinstance(cell, int | float):
                assert float(expected) == pytest.approx(cell), (r, text, cell)
            else:
                assert cell == expected and not str(cell).startswith(FORMULA_START)


@pytest.fixture
def world(app, session):
    """Group > North > North East, Group > @South; a trainer, a manager heading North, a
    learner; 12 people answering an assessment (with a hostile title) of five items."""
    app.config["ITEM_STATS_MIN_ATTEMPTS"] = 6
    group = make_unit("Group")
    north = make_unit("North", parent=group)
    north_east = make_unit("North East", parent=north)
    south = make_unit("@South", parent=group)
    ids = make_bank(
        session,
        [
            single("V1", 1, texts=["-2+3", "The key", "A lure", "Another"]),
            single("V2", 0, competency="STR-01"),
            single("V3", 0),
            multiple("V4", [0, 2]),
            true_false("V5", True),
        ],
    )
    assessment = make_assessment(session, title=HOSTILE_TITLE, code="VIEWS-1")
    people = [make_person(unit=north_east if n % 2 else south) for n in range(12)]
    for n, person in enumerate(people):
        strong = n >= 6
        make_attempt(
            session,
            assessment,
            person,
            {
                ids["V1"]: 2 if strong else 1,  # the stronger choose the lure: miskeyed
                ids["V2"]: 0,  # everyone right: too easy
                ids["V3"]: 0 if strong or n % 3 == 0 else 3,
                ids["V4"]: [0, 2] if strong else [0, 1],
                ids["V5"]: strong or n == 1,
            },
        )
    manager = make_user(Permission.LEARNER, Permission.MANAGER, person=make_person(unit=north))
    north.head_id = manager.person_id
    session.flush()
    return {
        "ids": ids,
        "assessment": assessment,
        "units": {"group": group, "north": north, "ne": north_east, "south": south},
        "trainer": make_user(Permission.LEARNER, Permission.TRAINER),
        "manager": manager,
        "learner": make_user(Permission.LEARNER, person=people[0]),
    }


def urls(world) -> dict[str, str]:
    a = world["assessment"].id
    item = world["ids"]["V1"]
    return {
        "list": "/assessments/statistics",
        "items": f"/assessments/{a}/statistics",
        "item": f"/assessments/{a}/statistics/items/{item}",
        "competencies": "/assessments/statistics/competencies",
        "units": "/assessments/statistics/units",
    }


def test_trainers_see_the_flags_and_the_key(client, login, world):
    login(world["trainer"])
    page = client.get(urls(world)["items"] + "?sort=flag")
    assert page.status_code == 200
    rows = tables_of(page)["statistics-items"]
    assert rows[0][0] == "Item"
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Item"] == "V1" and "Possibly miskeyed" in first["Flags"]
    flags = {row[0]: row[-1] for row in rows[1:]}
    assert "Too easy" in flags["V2"]
    text = page.get_data(as_text=True)
    assert "Flags appear once an item has 6 responses" in text
    assert "rest score" in text  # the definition of discrimination is stated
    item = client.get(urls(world)["item"])
    assert item.status_code == 200
    answers = tables_of(item)["statistics-answers"]
    assert answers[1:] == [
        ["A. -2+3", "", "0", "0%", "0"],
        ["B. The key", "Key", "6", "50%", "0"],
        ["C. A lure", "", "6", "50%", "6"],
        ["D. Another", "", "0", "0%", "0"],
    ]
    assert "Why The key" in item.get_data(as_text=True)  # the rationale, for trainers


def test_the_assessments_list_gives_attempts_and_alpha(client, login, world):
    login(world["trainer"])
    rows = tables_of(client.get(urls(world)["list"]))["statistics-assessments"]
    assert rows[0] == ["Assessment", "Code", "Status", "Attempts", "People", "Passed (%)", "Alpha"]
    assert rows[1][:5] == [HOSTILE_TITLE, "VIEWS-1", "Published", "12", "12"]
    assert re.fullmatch(r"-?\d\.\d\d", rows[1][6])


@pytest.mark.parametrize("page", ["list", "items", "item", "competencies", "units"])
def test_every_export_holds_the_pages_figures(client, login, world, page):
    login(world["trainer"])
    url = urls(world)[page]
    shown = next(iter(tables_of(client.get(url)).values()))
    base = {
        "list": "/assessments/statistics",
        "items": url + "/items",
        "item": url + "/answers",
        "competencies": url,
        "units": url,
    }[page]
    as_csv = client.get(base + ".csv")
    as_xlsx = client.get(base + ".xlsx")
    assert as_csv.status_code == as_xlsx.status_code == 200
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in as_xlsx.headers["Content-Disposition"]
    assert_same_cells(shown, as_csv.get_data(as_text=True), as_xlsx.get_data())


def test_exports_neutralise_formulas(client, login, world):
    login(world["trainer"])
    listed = list(csv.reader(io.StringIO(client.get("/assessments/statistics.csv").get_data(True))))
    assert listed[1][0] == "'" + HOSTILE_TITLE
    units = client.get("/assessments/statistics/units.xlsx").get_data()
    sheet = openpyxl.load_workbook(io.BytesIO(units)).active
    names = [c for c in sheet.iter_rows(min_col=1, max_col=1, values_only=False)]
    south = next(row[0] for row in names if "South" in str(row[0].value))
    assert south.value == "'@South" and south.data_type == "s"
    answers = client.get(urls(world)["item"] + "/answers.csv").get_data(as_text=True)
    assert "A. -2+3" in answers  # text starting with a letter needs no quote


def test_the_units_page_drills_down(client, login, world):
    login(world["trainer"])
    rows = tables_of(client.get(urls(world)["units"]))["statistics-units"]
    names = [row[0] for row in rows[1:]]
    assert names == ["@South", "North"]
    north = world["units"]["north"].id
    inner = tables_of(client.get(f"/assessments/statistics/units?unit={north}"))
    assert [row[0] for row in inner["statistics-units"][1:]] == ["North East"]


@pytest.mark.parametrize("page", ["list", "items", "item", "competencies", "units"])
def test_learners_are_refused(client, login, world, page):
    login(world["learner"])
    assert client.get(urls(world)[page]).status_code == 403


def test_managers_see_their_own_people_by_competency_and_unit(client, login, world):
    login(world["manager"])
    for page in ("list", "items", "item"):
        assert client.get(urls(world)[page]).status_code == 403
    competencies = tables_of(client.get(urls(world)["competencies"]))["statistics-competencies"]
    header = competencies[0]
    people = {row[0]: row[header.index("People")] for row in competencies[1:]}
    assert set(people.values()) == {"6"}  # the six in North East, not the six in @South
    units = tables_of(client.get(urls(world)["units"]))["statistics-units"]
    assert [row[0] for row in units[1:]] == ["North"]
    south = world["units"]["south"].id
    assert client.get(f"/assessments/statistics/units?unit={south}").status_code == 403
    ne = world["units"]["ne"].id
    assert client.get(f"/assessments/statistics/units.csv?unit={ne}").status_code == 200
    assert client.get(f"/assessments/statistics/units.csv?unit={south}").status_code == 403


def test_an_item_outside_the_assessment_is_not_found(client, login, world, session):
    login(world["trainer"])
    other = make_bank(session, [single("ELSEWHERE", 0)])["ELSEWHERE"]
    a = world["assessment"].id
    assert client.get(f"/assessments/{a}/statistics/items/{other}").status_code == 404
    assert client.get("/assessments/999999/statistics").status_code == 404


def test_the_items_page_runs_as_many_queries_for_two_items_as_for_twenty(
    client, login, session, count_queries
):
    trainer = make_user(Permission.LEARNER, Permission.TRAINER)

    def assessment_of(n: int) -> int:
        ids = make_bank(session, [single(f"Q{n}-{i}", 0) for i in range(n)])
        assessment = make_assessment(session)
        for person in [make_person() for _ in range(4)]:
            make_attempt(session, assessment, person, {i: 0 for i in ids.values()})
        return assessment.id

    small, large = assessment_of(2), assessment_of(20)
    login(trainer)
    counts = []
    for a in (small, large):
        client.get(f"/assessments/{a}/statistics")  # warm: the session's first look-ups
        with count_queries() as counter:
            assert client.get(f"/assessments/{a}/statistics").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
