"""The capability heatmap pages (SQLite and PostgreSQL): who may see them and whom they count,
the drill-down, exports that hold exactly the figures on the page, formula-safe text, bad
filters answered with a message, a past date that evidence added today never changes, two
dates compared, the chart's text alternative and the manager's "My team" page."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from app.accounts.models import Permission
from app.framework.models import Source
from app.reports import heatmap as hm
from app.reports.scope import ReportScope
from tests.factories import assign, make_person, make_unit, make_user
from tests.reports.factories import csv_table, record
from tests.reports.test_heatmap import APRIL, EARLY, ON, TODAY, Org, build_org


@pytest.fixture
def org(session) -> Org:
    return build_org(session)


@pytest.fixture
def manager(session, org):
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=org.boss_a)
    session.commit()
    return user


@pytest.fixture
def admin(session, org):
    user = make_user(Permission.ADMIN, person=org.boss_b)
    session.commit()
    return user


class HeatmapTable(HTMLParser):
    """The heatmap rows of a page: per row, {data-col: {data-part: text}}; a column's whole
    text is under the part "text" (the row label, the people count, the job title)."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict[str, dict[str, str]]] = []
        self._col: str | None = None
        self._parts: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and a.get("data-testid") == "heatmap-row":
            self.rows.append({})
        elif tag in ("td", "th") and "data-col" in a and self.rows:
            self._col = a["data-col"]
            self.rows[-1][self._col] = {"text": ""}
        elif self._col is not None and tag in ("span", "b", "small", "a"):
            self._parts.append(a.get("data-part"))

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._col = None
        elif self._col is not None and tag in ("span", "b", "small", "a") and self._parts:
            self._parts.pop()

    def handle_data(self, data):
        if self._col is None:
            return
        cell = self.rows[-1][self._col]
        cell["text"] += data
        part = next((p for p in reversed(self._parts) if p), None)
        if part:
            cell[part] = cell.get(part, "") + data


def page_table(text: str) -> list[dict[str, dict[str, str]]]:
    parser = HeatmapTable()
    parser.feed(text)
    return parser.rows


def number(text: str):
    """A figure as the page prints it, as a number: "20%" 20, "1.40" 1.4, "+20 pts" 20,
    "−0.20" -0.2, "—" None."""
    text = text.strip().replace("−", "-").replace("pts", "").replace("%", "").strip()
    if text in ("", "—", "–"):
        return None
    if text.startswith("±"):
        return 0
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def csv_rows(data: bytes) -> list[list[str]]:
    return csv_table(data.decode("utf-8"))


#: a page cell's part -> the table column it shows (code: the competency)
def part_key(code: str, part: str, person: bool) -> str:
    if part == "figure":
        return code
    if person and part in ("was", "change"):
        return f"{code}:level_{part}"
    return f"{code}:{part}"


def assert_page_equals_export(page: list[dict], keys: list[str], exported: list[list]) -> int:
    """Every figure the page shows equals the export's cell in its row and column; every
    export cell with a value is shown. Returns how many cells were compared."""
    header, *body = exported
    assert len(body) == len(page)
    compared = 0
    for shown, row in zip(page, body, strict=True):
        cells = dict(zip(keys, row, strict=True))
        person = "detail" in shown and shown["label"]["text"].strip() != "Everyone in scope"
        seen = set()
        for col, parts in shown.items():
            if col in ("label", "detail", "people"):
                text = parts["text"].strip()
                value = cells[col]
                assert (text if col != "people" else int(text.replace(",", ""))) == (
                    value if value is not None else ""
                ), (col, text, value)
                seen.add(col)
                continue
            for part, text in parts.items():
                if part == "text":
                    continue
                key = part_key(col, part, person)
                assert number(text) == cells[key], (shown["label"], key, text, cells[key])
                seen.add(key)
                compared += 1
        unseen = {k: v for k, v in cells.items() if v is not None and k not in seen}
        assert not unseen, f"exported but not on the page: {unseen}"
    return compared


# -- who may see what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/reports/heatmap",
        "/reports/heatmap?format=xlsx",
        "/reports/heatmap/cell?competency=RISK&row_kind=all",
    ],
)
def test_a_learner_may_not_see_the_heatmap(client, login, session, org, url):
    learner = make_user(Permission.LEARNER, person=org.p1)
    session.commit()
    login(learner)

    assert client.get(url).status_code == 403


def test_a_manager_sees_only_their_own_people(client, login, manager, org):
    login(manager)

    rows = page_table(client.get(f"/reports/heatmap?on={ON}").text)
    labels = [r["label"]["text"].strip() for r in rows]
    assert labels == ["Everyone in scope", "Boss, Ada", "One, Pat", "Seven, Sky", "Six, Noa",
                      "Three, Kim", "Two, Sam"]  # fmt: skip
    assert rows[0]["detail"]["text"].strip() == "6 people"
    units = page_table(client.get(f"/reports/heatmap?on={ON}&rows=unit").text)
    assert [r["label"]["text"].strip() for r in units] == [
        "Everyone in scope",
        "Team A (placed directly)",
    ]


def test_a_manager_is_refused_another_unit_and_its_people(client, login, manager, org):
    login(manager)

    assert client.get(f"/reports/heatmap?unit={org.team_b.id}").status_code == 403
    assert client.get(f"/reports/heatmap?unit={org.root.id}").status_code == 403
    cell = f"/reports/heatmap/cell?on={ON}&competency=RISK"
    assert client.get(f"{cell}&row_kind=people&row={org.p4.id}").status_code == 403
    assert client.get(f"{cell}&row_kind=unit&row={org.team_b.id}").status_code == 403
    assert client.get(f"{cell}&row_kind=people&row={org.p3.id}").status_code == 200
    assert client.get(f"/reports/heatmap?unit={org.team_a.id}").status_code == 200


@pytest.mark.parametrize("permission", [Permission.TRAINER, Permission.ADMIN])
def test_trainers_and_admins_see_everyone(client, login, session, org, permission):
    login(make_user(permission, person=org.boss_b))

    rows = page_table(client.get(f"/reports/heatmap?on={ON}").text)
    assert rows[0]["detail"]["text"].strip() == "8 people"
    assert "Four, Lou" in {r["label"]["text"].strip() for r in rows}
    text = client.get(f"/reports/heatmap?on={ON}&rows=unit").text
    units = page_table(text)
    assert [r["label"]["text"].strip() for r in units][1:] == ["Team A", "Team B"]
    # a unit's name opens the heatmap of the units below it
    assert f'href="/reports/heatmap?on={ON}&amp;rows=unit&amp;unit={org.team_a.id}"' in text
    below = page_table(client.get(f"/reports/heatmap?on={ON}&rows=unit&unit={org.team_a.id}").text)
    assert [r["label"]["text"].strip() for r in below] == [
        "Everyone in scope",
        "Team A (placed directly)",
    ]


def test_the_menu_offers_the_heatmap_to_managers_not_learners(client, login, session, org):
    learner = make_user(Permission.LEARNER, person=org.p1)
    boss = make_user(Permission.LEARNER, Permission.MANAGER, person=org.boss_b)
    session.commit()

    login(boss)
    assert 'href="/reports/heatmap"' in client.get("/").text
    login(learner)
    assert 'href="/reports/heatmap"' not in client.get("/").text


# -- what the page says --------------------------------------------------------------------------


def test_each_cell_prints_its_figure_a_mark_and_how_many_are_required(client, login, admin, org):
    login(admin)

    text = client.get(f"/reports/heatmap?on={ON}&rows=unit").text
    team_a = next(r for r in page_table(text) if r["label"]["text"].strip() == "Team A")
    assert (team_a["FIN"]["figure"], team_a["FIN"]["n"]) == ("20%", "5")
    assert "●" in team_a["FIN"]["text"] and "Most short" in team_a["FIN"]["text"]
    assert team_a["people"]["text"].strip() == "6"
    # the group header, the competency's name on its code, a legend of the bands and names
    assert '<abbr title="Fin">FIN</abbr>' in text
    assert 'data-testid="band-legend"' in text and "under half meet" in text
    shortfall = page_table(client.get(f"/reports/heatmap?on={ON}&rows=unit&measure=shortfall").text)
    assert shortfall[1]["FIN"]["figure"] == "1.40"
    short = page_table(client.get(f"/reports/heatmap?on={ON}&rows=unit&measure=short").text)
    assert short[1]["FIN"]["figure"] == "4"


def test_a_persons_row_shows_their_level_against_the_level_required(client, login, admin, org):
    login(admin)

    rows = page_table(client.get(f"/reports/heatmap?on={ON}").text)
    seven = next(r for r in rows if r["label"]["text"].strip() == "Seven, Sky")
    assert (seven["FIN"]["level"], seven["FIN"]["req"]) == ("2", "3")
    assert "one level short" in seven["FIN"]["text"]
    boss = next(r for r in rows if r["label"]["text"].strip() == "Boss, Ada")
    assert boss["FIN"]["text"].strip() == "—"


def test_a_cell_opens_the_people_behind_it(client, login, admin, org):
    login(admin)

    page = client.get(f"/reports/heatmap?on={ON}&rows=unit").text
    link = (
        f"/reports/heatmap/cell?competency=FIN&amp;row_kind=unit&amp;row={org.team_a.id}"
        f"&amp;on={ON}&amp;rows=unit"
    )
    assert link in page
    cell = client.get(link.replace("&amp;", "&"))
    assert cell.status_code == 200
    text = cell.text
    assert "FIN Fin" in text and "Team A" in text
    order = [
        text.index(name)
        for name in ("Six, Noa", "Three, Kim", "Seven, Sky", "Two, Sam", "One, Pat")
    ]
    assert order == sorted(order)  # the largest gap first
    assert "Manager rating, 01 Feb 2025" in text
    assert f'href="/people/{org.p2.id}/capability"' in text
    assert "Back to the heatmap" in text and "rows=unit" in text
    short = client.get(link.replace("&amp;", "&") + "&short=1").text
    assert "One, Pat" not in short and "Six, Noa" in short


def test_the_people_behind_a_cell_come_a_page_at_a_time(client, login, admin, org, monkeypatch):
    monkeypatch.setattr(hm, "CELL_PER_PAGE", 2)
    login(admin)

    url = f"/reports/heatmap/cell?competency=FIN&row_kind=unit&row={org.team_a.id}&on={ON}"
    first, third = client.get(url).text, client.get(url + "&page=3").text
    assert "Six, Noa" in first and "One, Pat" not in first
    assert "One, Pat" in third and "Showing 5–5 of 5 people" in third


# -- exports: exactly the figures on the page ----------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "rows=unit",
        "rows=people",
        "rows=role&measure=shortfall",
        "rows=office&measure=short",
        f"rows=unit&compare={APRIL}",
        f"rows=people&compare={APRIL}",
        f"rows=role&measure=shortfall&compare={APRIL}",
    ],
)
def test_the_xlsx_export_holds_exactly_the_figures_on_the_page(
    client, login, session, admin, org, query
):
    record(session, org.p3, "RISK", 2, achieved_on=date(2025, 5, 10), source=Source.MANAGER_RATING)
    session.commit()
    login(admin)
    url = f"/reports/heatmap?on={ON}&{query}"

    page = page_table(client.get(url).text)
    response = client.get(url + "&format=xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    exported = xlsx_rows(response.data)
    args = dict(part.split("=") for part in query.split("&"))
    now = hm.heatmap(session, ReportScope(on=ON), args["rows"])
    then = (
        hm.heatmap(
            session,
            ReportScope(on=APRIL),
            args["rows"],
            people_ids=[r.key for r in now.rows] if args["rows"] == "people" else None,
        )
        if "compare" in args
        else None
    )
    table = hm.heatmap_table(now, args.get("measure", "meeting"), then, APRIL if then else None)
    keys = [c.key for c in table.columns]

    compared = assert_page_equals_export(page, keys, exported)
    assert compared >= 2 * len(page)
    assert exported[1][0] == "Everyone in scope"
    written = csv_rows(client.get(url + "&format=csv").data)
    assert written[0] == exported[0]
    for line, row in zip(written[1:], exported[1:], strict=True):
        for text, value in zip(line, row, strict=True):
            if isinstance(value, str):
                assert text == value
            else:
                assert number(text) == value, (line[0], text, value)


def test_exported_text_cannot_become_a_formula(client, login, session, admin, org):
    hostile = '=HYPERLINK("http://evil.example","Click")'
    unit = make_unit(hostile, parent=org.root)
    person = make_person("Eve", "Hostile", unit=unit)
    assign(person, org.anl)
    session.commit()
    login(admin)

    url = f"/reports/heatmap?rows=unit&on={TODAY}"
    page = client.get(url).text
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;Click&#34;)" in page or (
        "=HYPERLINK(&quot;http://evil.example&quot;" in page
    )
    exported = xlsx_rows(client.get(url + "&format=xlsx").data)
    labels = [row[0] for row in exported]
    assert "'" + hostile in labels and hostile not in labels
    sheet = load_workbook(io.BytesIO(client.get(url + "&format=xlsx").data)).active
    cell = next(c for c in sheet["A"] if c.value == "'" + hostile)
    assert cell.data_type == "s"  # text, never a formula
    rows = csv_rows(client.get(url + "&format=csv").data)
    assert ["'" + hostile] == [r[0] for r in rows if "HYPERLINK" in r[0]]


# -- bad filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("unit=99999", "There is no org unit with id 99999"),
        ("unit=abc", "is not an id"),
        ("office=99999", "There is no office with id 99999"),
        ("on=2025-02-30", "Not a valid date"),
        ("on=1800-01-01", "between 1900 and 2100"),
        ("on=2101-01-01", "between 1900 and 2100"),
        ("compare=yesterday", "Not a valid date"),
        (f"on={ON}&compare={ON}", "Pick a date other than"),
        ("rows=planets", "Not a valid choice"),
        ("measure=vibes", "Not a valid choice"),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error(client, login, admin, org, query, message):
    login(admin)

    for url in (f"/reports/heatmap?{query}", f"/reports/heatmap?{query}&format=xlsx"):
        response = client.get(url)
        assert response.status_code == 400
        assert message in response.text
        assert 'data-testid="report-filters"' in response.text  # the form, to put it right


@pytest.mark.parametrize(
    "query",
    [
        "competency=NOPE&row_kind=all",
        "competency=RISK&row_kind=planet&row=1",
        "competency=RISK&row_kind=people",
        "competency=RISK&row_kind=role&row=99999",
        "competency=RISK&row_kind=people&row=abc",
        "competency=RISK&row_kind=all&on=1800-01-01",
    ],
)
def test_a_bad_cell_gets_a_clear_message(client, login, admin, org, query):
    login(admin)

    response = client.get(f"/reports/heatmap/cell?{query}")
    assert response.status_code == 400
    assert 'data-testid="report-error"' in response.text


def test_a_page_number_out_of_range_shows_the_last_page(client, login, admin, org):
    login(admin)

    assert client.get("/reports/heatmap?page=abc").status_code == 200
    assert client.get("/reports/heatmap?page=999999999").status_code == 200


# -- dates ---------------------------------------------------------------------------------------


def test_the_heatmap_as_at_last_month_is_unchanged_by_evidence_added_today(
    client, login, session, admin, org
):
    login(admin)
    last_month = TODAY - timedelta(days=30)
    urls = [f"/reports/heatmap?on={last_month}&rows={kind}" for kind in hm.ROW_KINDS]
    before = [page_table(client.get(url).text) for url in urls]
    exports = [client.get(url + "&format=xlsx").data for url in urls]

    record(session, org.p3, "FIN", 2, achieved_on=EARLY, recorded_on=TODAY)
    record(session, org.p6, "FIN", 3, achieved_on=TODAY, source=Source.MANAGER_RATING)
    session.commit()

    assert [page_table(client.get(url).text) for url in urls] == before
    assert [xlsx_rows(client.get(url + "&format=xlsx").data) for url in urls] == [
        xlsx_rows(data) for data in exports
    ]
    today = page_table(client.get(f"/reports/heatmap?on={TODAY}&rows=unit").text)
    assert today != before[1]


def test_two_dates_side_by_side_with_what_moved(client, login, session, admin, org):
    record(session, org.p3, "RISK", 2, achieved_on=date(2025, 5, 10), source=Source.MANAGER_RATING)
    session.commit()
    login(admin)

    text = client.get(f"/reports/heatmap?on={ON}&compare={APRIL}&rows=unit").text
    team_a = next(r for r in page_table(text) if r["label"]["text"].strip() == "Team A")
    assert (team_a["RISK"]["figure"], team_a["RISK"]["was"]) == ("80%", "60%")
    assert team_a["RISK"]["change"] == "+20 pts" and "better" in team_a["RISK"]["text"]
    assert 'data-testid="what-moved"' in text
    moved = text.split('data-testid="what-moved"')[1].split("</section>")[0]
    assert "Team A" in moved and "60% → 80%" in moved
    assert "compared with 01 Apr 2025" in text


# -- the chart -----------------------------------------------------------------------------------


def test_the_chart_prints_its_figures_and_has_a_text_alternative(client, login, admin, org):
    login(admin)

    text = client.get(f"/reports/heatmap?on={ON}&rows=unit").text
    svg = text.split('data-testid="group-chart"')[1].split("</svg>")[0]
    assert "<title" in svg and "<desc" in svg
    assert "56% of 18" in svg  # 10 of 18 requirements met, printed on the bar
    table = text.split('data-testid="chart-table"')[1].split("</details>")[0]
    assert '<th scope="row">Group</th>' in table and "56%" in table


# -- My team -------------------------------------------------------------------------------------


def test_my_team_shows_the_teams_heatmap_first_and_keeps_the_list(client, login, manager, org):
    login(manager)

    text = client.get("/team").text
    assert text.index('data-testid="team-heatmap"') < text.index("Name, email or employee no.")
    # the direct reports' grid comes in a second request (tests/org/test_team_page.py)
    grid = client.get("/team/heatmap?partial=1").text
    assert "Two, Sam" in grid
    assert "Four, Lou" not in grid  # team B is not theirs
    assert 'href="/reports/heatmap"' in text
    # the list below is the team as before
    assert "Showing 1–5 of 5 people" in text


def test_my_team_without_a_framework_shows_the_list_alone(client, login, session):
    unit = make_unit("Solo team")
    boss = make_person("Ola", "Boss", unit=unit)
    unit.head_id = boss.id
    make_person("Ann", "Member", unit=unit, manager=boss)
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=boss)
    session.commit()
    login(user)

    text = client.get("/team").text
    assert "Member, Ann" in text
    assert "No competency framework is published yet" in client.get("/team/heatmap?partial=1").text


# -- on a phone and at 1280 px: the table first, a cue to scroll, clean links ----------------------


def filter_box(text: str) -> tuple[str, str]:
    """The filters' <details> opening tag and its summary text."""
    tag = re.search(r'<details[^>]*data-testid="filter-box"[^>]*>', text)
    summary = re.search(r'data-testid="filter-summary">(.*?)</summary>', text, re.S)
    assert tag and summary
    return tag.group(0), " ".join(re.sub(r"<[^>]+>", "", summary.group(1)).split())


def static(client, path: str) -> str:
    with client.get(f"/static/{path}") as response:
        assert response.status_code == 200
        return response.get_data(as_text=True)


def test_the_filters_fold_into_a_line_that_says_what_is_picked(client, login, admin, org):
    login(admin)

    url = (
        f"/reports/heatmap?on={ON}&compare={APRIL}&unit={org.team_a.id}&office=&role="
        "&rows=unit&measure=shortfall"
    )
    text = client.get(url).text
    tag, summary = filter_box(text)
    assert summary == (
        f"Filters: as at {ON:%d %b %Y} · compared with {APRIL:%d %b %Y} · Team A · org units"
        " · mean shortfall (levels)"
    )
    # closed as served (a phone sees the table first), opened on a wide screen by the script
    assert " open" not in tag and "data-open-wide" in tag
    assert text.index('data-testid="filter-box"') < text.index('data-testid="report-filters"')
    assert text.index('data-testid="report-filters"') < text.index("</details>")
    assert '<script src="/static/js/reports.js"></script>' in text
    assert "min-width: 992px" in static(client, "js/reports.js")
    # the explainer and the legend fold the same way, above the table
    help_tag = re.search(r'<details[^>]*data-testid="heatmap-help"[^>]*>', text)
    assert help_tag and " open" not in help_tag.group(0) and "data-open-wide" in help_tag.group(0)
    assert text.index('data-testid="band-legend"') < text.index('data-testid="heatmap"')

    plain = client.get("/reports/heatmap").text
    assert (
        filter_box(plain)[1]
        == f"Filters: as at {date.today():%d %b %Y} · people · share meeting (%)"
    )


@pytest.mark.parametrize("query", ["on=1800-01-01", "unit=abc", "unit=999999"])
def test_filters_that_need_putting_right_are_shown_open(client, login, admin, org, query):
    login(admin)

    response = client.get(f"/reports/heatmap?{query}")
    assert response.status_code == 400
    tag, _ = filter_box(response.text)
    assert " open" in tag


def test_a_cue_says_the_heatmap_scrolls_sideways(client, login, admin, org):
    login(admin)

    text = client.get(f"/reports/heatmap?on={ON}&rows=unit").text
    cue = re.search(r'<p class="([^"]*)"[^>]*data-testid="scroll-cue">(.*?)</p>', text, re.S)
    assert cue and "Scroll sideways for more competencies" in cue.group(2)
    assert text.index('data-testid="scroll-cue"') < text.index('data-testid="heatmap"')
    # three competencies fit a wide screen: without script the cue shows on narrow ones only
    assert "narrow-only" in cue.group(1)
    css = static(client, "css/heatmap.css")
    assert ".hm-scroll-cue.narrow-only { display: none; }" in css
    assert re.search(r"\.heatmap \.row-head \{ position: sticky; left: 0;", css)


def test_a_drill_down_of_one_unit_names_the_unit_once(client, login, admin, org):
    login(admin)

    base = f"/reports/heatmap/cell?competency=FIN&on={ON}"
    unit = client.get(f"{base}&row_kind=unit&row={org.team_a.id}&rows=unit").text
    assert "Everyone listed is placed directly in this org unit." in unit
    assert ">Org unit</th>" not in unit and '<td class="hide-sm">Team A</td>' not in unit
    names = re.findall(r'<a class="person-name" href="/people/\d+/capability">([^<]+)</a>', unit)
    assert names == ["Six, Noa", "Three, Kim", "Seven, Sky", "Two, Sam", "One, Pat"]
    css = static(client, "css/heatmap.css")
    assert (
        ".cell-people .person-name { white-space: nowrap; }" in css
    )  # "Harris, Stefan" on one line

    person = client.get(f"{base}&row_kind=people&row={org.p2.id}").text
    assert "Everyone listed is in the org unit <strong>Team A</strong>." in person
    assert ">Org unit</th>" not in person

    everyone = client.get(f"{base}&row_kind=all&rows=unit").text  # Team A and Team B
    assert 'data-testid="cell-unit"' not in everyone
    assert ">Org unit</th>" in everyone
    assert '<td class="hide-sm">Team A</td>' in everyone
    assert '<td class="hide-sm">Team B</td>' in everyone


def test_a_unit_spread_over_pages_keeps_its_column(client, login, admin, org, monkeypatch):
    monkeypatch.setattr(hm, "CELL_PER_PAGE", 2)
    login(admin)

    text = client.get(
        f"/reports/heatmap/cell?competency=FIN&on={ON}&row_kind=unit&row={org.team_a.id}&rows=unit"
    ).text
    assert ">Org unit</th>" in text and 'data-testid="cell-unit"' not in text


def hrefs(text: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', text)]


def test_links_after_applying_the_filters_carry_no_empty_arguments(
    client, login, admin, org, monkeypatch
):
    monkeypatch.setattr(hm, "PEOPLE_PER_PAGE", 2)
    login(admin)

    # what the "Show" button submits without script: every field, empty or not
    submitted = f"on={ON}&compare=&unit=&office=&role=&rows=people&measure=meeting"
    text = client.get(f"/reports/heatmap?{submitted}").text
    links = [h for h in hrefs(text) if h.startswith("/reports/")]
    assert links
    assert not [h for h in links if re.search(r"=(&|$)", h)], links
    assert f"/reports/heatmap?on={ON}&page=2" in links  # the pages keep the filters, cleanly
    assert f"/reports/heatmap?format=xlsx&page=1&on={ON}" in links

    text = client.get(f"/reports/heatmap?{submitted}&page=2").text
    assert f"/reports/heatmap?on={ON}&page=1" in hrefs(text)

    monkeypatch.setattr(hm, "CELL_PER_PAGE", 2)
    cell = (
        f"/reports/heatmap/cell?competency=FIN&row_kind=unit&row={org.team_a.id}"
        f"&on={ON}&compare=&unit=&office=&role=&rows=unit&measure=meeting&short=1"
    )
    links = [h for h in hrefs(client.get(cell).text) if h.startswith("/reports/")]
    assert not [h for h in links if re.search(r"=(&|$)", h)], links
    pages = [h for h in links if "page=2" in h]
    assert pages and all("short=1" in h and "rows=unit" in h for h in pages), pages
