"""D3, XSS, template injection and spreadsheet formulas, swept over every free-text field
and every page and export (checklist RELIABILITY.md D3).

The world is test_permissions.py's, and then every free-text column of every table (names,
job titles, unit, office and role names, notes, comments, reasons, evidence and competency
text, locations, path and module titles: FREE_TEXT below, found by column name and type, so
a new table's text is swept too) is overwritten in the database with one of the payloads,
each followed by a tag naming its row:

    <script>alert(1)</script>        "><img src=x onerror=alert(1)>        {{7*7}}
    javascript:alert(1)              =HYPERLINK("http://evil.example","x")

Every GET route is then fetched as each signed-in audience (with the reports' query
strings and every CSV/XLSX export), and:

* no HTML page holds a payload's markup unescaped, nor a link to ``javascript:``;
* no page or export shows ``49`` where ``{{7*7}}`` was stored (nothing renders stored text
  as a template);
* no CSV or XLSX cell starts with = + - @ (a formula) unless neutralised (a leading
  apostrophe) or a plain number;
* and the payloads were shown, escaped, on many pages (the sweep saw what it tests).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.security.world import (
    ADMIN,
    LEARNER,
    MANAGER,
    TRAINER,
    World,
    probe_urls,
    probes,
    seeded_world,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
JS_LINK = "javascript:alert(1)"
FORMULA = '=HYPERLINK("http://evil.example","x")'
PAYLOADS = (SCRIPT, IMG, TEMPLATE, FORMULA)
#: What may never appear in an HTML page as it is.
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror=alert(1)>", 'href="javascript:')
#: Where the escaped payloads show that the sweep reached the stored text.
ESCAPED = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;")
TEMPLATE_RENDERED = re.compile(r"49 t\d+")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SPREADSHEETS = ("text/csv", "application/vnd.openxmlformats")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?%?$")

#: Column names that hold free text a user typed (or an import brought in).
FREE_TEXT = re.compile(
    r"(^|_)(name|first_name|last_name|job_title|title|description|note|notes|comment|"
    r"comments|reason|location|activity|provider|summary|other_name|label|question|"
    r"stem|feedback|statement|indicator|text)$"
)
#: Columns of those names that are not free text (keys matched elsewhere, or file names
#: whose extension is checked when they are read).
NOT_FREE_TEXT = {"file_name", "stored_name", "content_type", "sheet_name", "filename"}
#: Link fields: a ``javascript:`` address is stored there.
LINK = re.compile(r"(^|_)(link|url)$")


def text_columns() -> Iterator[tuple[sa.Table, sa.Column, bool]]:
    """(table, column, is a link) for every free-text column of the schema."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.primary_key or column.foreign_keys or column.name in NOT_FREE_TEXT:
                continue
            if not isinstance(column.type, sa.String) or isinstance(column.type, sa.Enum):
                continue
            link = bool(LINK.search(column.name))
            if link or FREE_TEXT.search(column.name):
                yield table, column, link


def store_payloads(args: dict) -> dict:
    """Every free-text column of every row gets a payload and its row's tag (t<row>): the
    payloads rotate over the rows, so each kind of record shows each payload somewhere."""
    session = db.session
    stored: list[str] = []
    for table, column, link in text_columns():
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        length = getattr(column.type, "length", None) or 10_000
        ids = session.scalars(sa.select(pk[0]).where(column.is_not(None))).all()
        for n, row_id in enumerate(ids):
            payload = JS_LINK if link else PAYLOADS[(n + len(stored)) % len(PAYLOADS)]
            value = f"{payload} t{row_id}"[:length]
            session.execute(sa.update(table).where(pk[0] == row_id).values({column.name: value}))
        stored.append(f"{table.name}.{column.name}")
    session.flush()
    return {"columns": stored}


@pytest.fixture(scope="module")
def world(database_url):
    with seeded_world(database_url, store_payloads) as built:
        yield built


def spreadsheet_cells(response) -> Iterator[str]:
    if response.content_type.startswith("text/csv"):
        for row in csv.reader(io.StringIO(response.get_data(as_text=True))):
            yield from row
        return
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    yield "=" + str(cell.value).lstrip("=")  # a formula, as stored
                elif isinstance(cell.value, str):
                    yield cell.value


def is_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_START) and not PLAIN_NUMBER.match(cell)


def test_the_payloads_are_stored_in_every_kind_of_free_text(world):
    columns = set(world.extra["columns"])
    for expected in (
        "people.first_name",
        "people.last_name",
        "people.job_title",
        "org_units.name",
        "offices.name",
        "roles.name",
        "evidence.note",
        "competencies.name",
        "evidence.link",
    ):
        assert expected in columns, f"{expected} not swept; columns: {sorted(columns)}"
    print(f"\nD3: payloads stored in {len(columns)} free-text columns")


class Tally:
    """What one audience's crawl saw, and what was wrong."""

    def __init__(self) -> None:
        self.pages = self.showing = self.exports = self.cells = self.neutralised = 0
        self.problems: list[str] = []

    def page(self, where: str, text: str) -> None:
        self.pages += 1
        self.problems += [f"{where}: unescaped {m!r}" for m in RAW_MARKUP if m in text]
        if TEMPLATE_RENDERED.search(text):
            self.problems.append(f"{where}: stored {{{{7*7}}}} rendered as 49")
        self.showing += any(e in text for e in ESCAPED)

    def export(self, where: str, response) -> None:
        self.exports += 1
        for cell in spreadsheet_cells(response):
            self.cells += 1
            self.neutralised += cell.startswith("'" + FORMULA[:10])
            if is_formula(cell):
                self.problems.append(f"{where}: formula cell {cell[:60]!r}")
            if TEMPLATE_RENDERED.search(cell):
                self.problems.append(f"{where}: stored {{{{7*7}}}} exported as 49")


@pytest.mark.parametrize("audience", [LEARNER, MANAGER, TRAINER, ADMIN])
def test_no_page_or_export_runs_or_renders_stored_text(world: World, audience):
    client = world.client(audience)
    seen = Tally()
    for endpoint, method, rule in probes(world.app):
        if method != "GET" or endpoint in ("static", "bootstrap.static"):
            continue
        for url in probe_urls(rule, world.args, world.me(audience), audience, method):
            response = client.get(url)
            where = f"GET {url} ({endpoint}) as {audience}"
            if response.status_code >= 500:
                seen.problems.append(f"{where}: {response.status_code}")
            elif response.content_type.startswith("text/html"):
                seen.page(where, response.get_data(as_text=True))
            elif response.content_type.startswith(SPREADSHEETS):
                seen.export(where, response)
            response.close()
    print(
        f"\nD3 XSS sweep as {audience}: {seen.pages} HTML pages ({seen.showing} showing a "
        f"payload, escaped), {seen.exports} exports ({seen.cells} text cells, "
        f"{seen.neutralised} stored formulas neutralised)"
    )
    assert not seen.problems, "\n".join(seen.problems)
    assert seen.showing >= 10, "the payloads were shown on too few pages to trust the sweep"
    if seen.exports:
        assert seen.neutralised, "no stored formula reached an export: the check saw nothing"


def test_the_checks_catch_what_they_look_for():
    """Controls: the checks see an unescaped payload, a rendered template and a formula."""
    assert any(m in f"<td>{SCRIPT}</td>" for m in RAW_MARKUP)
    assert any(m in f'<a href="{JS_LINK}">' for m in RAW_MARKUP)
    assert TEMPLATE_RENDERED.search("Name: 49 t12")
    assert is_formula(FORMULA) and is_formula("@SUM(A1)") and is_formula("+1+2")
    assert not is_formula("'" + FORMULA) and not is_formula("-12") and not is_formula("-3.5%")
