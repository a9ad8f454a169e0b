"""Issue 13's "Done when", walked in a real browser on the demo organisation.

Daniel Okafor (Head of Enterprise PMO, the demo manager) finds his team's heatmap first on
"My team", opens the full heatmap from the Reports menu, picks org unit rows and the mean
shortfall with the keyboard, and every figure printed equals a hand-written SQL aggregation
over level_spans, requirement_spans and people for his subtree. He drills into a cell: the
people listed are exactly those the SQL puts there, each with level, required, gap and what
the level rests on, and a name opens that person's capability page. He exports the XLSX
(every figure equals the screen; the workbook names the scope and the date), runs the
heatmap as at three months ago (the figures equal the SQL as at that date) and compares the
two dates (what moved). The head of Digital Delivery (Anna Kelly in the demo), given a
manager's login for the test, sees none of his people and is refused his cell, his unit
and its export. Desktop and phone screenshots of the heatmap, the drill-down and the team page.

The walkthrough only reads the demo data (Anna's login is added and removed again), so it
runs on the shared site. The expected figures never call the product's report code: they
come from plain SQL over the maintained spans, with the manager's reach recomputed from the
org tree and the reporting line.
"""

from __future__ import annotations

import calendar
import io
import re
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import bindparam, select, text

from app.accounts.models import Permission, User, UserPermission
from app.accounts.passwords import hash_password
from app.demo.organisation import DEMO_PASSWORD
from app.extensions import db
from app.framework.models import SOURCE_LABELS
from app.org.models import Person
from tests.browser.conftest import USERS, LiveSite, open_browsing

pytestmark = pytest.mark.browser

#: The department whose head is the manager of another subtree (app/demo/structure.py).
OTHER_UNIT = "DT-DDL"
MEASURE = "shortfall"  # the figure Daniel picks: the mean shortfall in levels

# --- plain SQL over the live site's database -------------------------------------------------


def sql(site: LiveSite, query: str, **params) -> list:
    """Rows of a hand-written query (dates as ISO text, lists as expanding IN)."""
    stmt = text(query)
    for name, value in params.items():
        if isinstance(value, list | tuple | set | frozenset):
            stmt = stmt.bindparams(bindparam(name, expanding=True))
            params[name] = sorted(value)
    with site.app.app_context():
        rows = db.session.execute(stmt, params).all()
        db.session.remove()
    return rows


def reach(site: LiveSite, person_id: int) -> set[int]:
    """The people a manager may see: everyone placed in the units they head and below, the
    people who report to them directly or down the line, and themselves."""
    rows = sql(
        site,
        """
        WITH RECURSIVE headed(id) AS (
            SELECT id FROM org_units WHERE head_id = :me
            UNION SELECT u.id FROM org_units u JOIN headed h ON u.parent_id = h.id
        ), line(id) AS (
            SELECT id FROM people WHERE line_manager_id = :me
            UNION SELECT p.id FROM people p JOIN line l ON p.line_manager_id = l.id
        )
        SELECT id FROM people WHERE org_unit_id IN (SELECT id FROM headed)
        UNION SELECT id FROM line
        UNION SELECT :me
        """,
        me=person_id,
    )
    return {r.id for r in rows}


def in_subtree(site: LiveSite, unit_id: int) -> set[int]:
    rows = sql(
        site,
        """
        WITH RECURSIVE sub(id) AS (
            SELECT :unit UNION SELECT u.id FROM org_units u JOIN sub ON u.parent_id = sub.id
        )
        SELECT id FROM people WHERE org_unit_id IN (SELECT id FROM sub)
        """,
        unit=unit_id,
    )
    return {r.id for r in rows}


def placed_in(site: LiveSite, unit_id: int) -> set[int]:
    return {r.id for r in sql(site, "SELECT id FROM people WHERE org_unit_id = :u", u=unit_id)}


def present(site: LiveSite, ids: set[int], on: date) -> set[int]:
    """Those of ``ids`` who had not left by the date."""
    rows = sql(
        site,
        "SELECT id FROM people WHERE id IN :ids AND (active OR leaving_date > :on)",
        ids=ids,
        on=on.isoformat(),
    )
    return {r.id for r in rows}


@dataclass(frozen=True)
class Figures:
    required: int
    meeting: int
    shortfall: int

    def text(self, measure: str) -> str:
        """The figure as a reader expects it printed."""
        if measure == "shortfall":
            return f"{self.shortfall / self.required:.2f}"
        if measure == "short":
            return str(self.required - self.meeting)
        return f"{self.meeting * 100 / self.required:.0f}%"


def cells(site: LiveSite, ids: set[int], on: date) -> dict[str, Figures]:
    """Per competency: how many of ``ids`` their roles require to hold it on the date, how
    many hold the required level, and the levels they are short by in all."""
    rows = sql(
        site,
        """
        SELECT r.competency_code AS code,
               COUNT(*) AS required,
               SUM(CASE WHEN COALESCE(l.level, 0) >= r.required THEN 1 ELSE 0 END) AS meeting,
               SUM(CASE WHEN r.required > COALESCE(l.level, 0)
                        THEN r.required - COALESCE(l.level, 0) ELSE 0 END) AS shortfall
        FROM requirement_spans r
        JOIN people p ON p.id = r.person_id
        LEFT JOIN level_spans l
               ON l.person_id = r.person_id AND l.competency_code = r.competency_code
              AND l.valid_from <= :on AND (l.valid_to IS NULL OR l.valid_to > :on)
        WHERE r.valid_from <= :on AND (r.valid_to IS NULL OR r.valid_to > :on)
          AND r.required > 0
          AND p.id IN :ids AND (p.active OR p.leaving_date > :on)
        GROUP BY r.competency_code
        """,
        ids=ids or {-1},
        on=on.isoformat(),
    )
    return {r.code: Figures(r.required, r.meeting, r.shortfall) for r in rows}


def cell_people(site: LiveSite, ids: set[int], code: str, on: date) -> dict[int, tuple]:
    """person id -> (name, level, required, gap) of those required to hold ``code``."""
    rows = sql(
        site,
        """
        SELECT p.id, p.first_name, p.last_name, COALESCE(l.level, 0) AS level, r.required
        FROM requirement_spans r
        JOIN people p ON p.id = r.person_id
        LEFT JOIN level_spans l
               ON l.person_id = r.person_id AND l.competency_code = r.competency_code
              AND l.valid_from <= :on AND (l.valid_to IS NULL OR l.valid_to > :on)
        WHERE r.competency_code = :code AND r.required > 0
          AND r.valid_from <= :on AND (r.valid_to IS NULL OR r.valid_to > :on)
          AND p.id IN :ids AND (p.active OR p.leaving_date > :on)
        """,
        ids=ids or {-1},
        code=code,
        on=on.isoformat(),
    )
    return {
        r.id: (f"{r.last_name}, {r.first_name}", r.level, r.required, max(0, r.required - r.level))
        for r in rows
    }


def levels(site: LiveSite, person_id: int, on: date) -> dict[str, tuple[int, int]]:
    """code -> (level held, level required) of one person's required competencies."""
    rows = sql(
        site,
        """
        SELECT r.competency_code AS code, COALESCE(l.level, 0) AS level, r.required
        FROM requirement_spans r
        LEFT JOIN level_spans l
               ON l.person_id = r.person_id AND l.competency_code = r.competency_code
              AND l.valid_from <= :on AND (l.valid_to IS NULL OR l.valid_to > :on)
        WHERE r.person_id = :p AND r.required > 0
          AND r.valid_from <= :on AND (r.valid_to IS NULL OR r.valid_to > :on)
        """,
        p=person_id,
        on=on.isoformat(),
    )
    return {r.code: (r.level, r.required) for r in rows}


def unit(site: LiveSite, code: str):
    return sql(site, "SELECT id, name, head_id FROM org_units WHERE code = :c", c=code)[0]


# --- what the page shows ---------------------------------------------------------------------

READ_TABLE = """(table) => [...table.querySelectorAll('tr[data-testid=heatmap-row]')].map((tr) => ({
  key: Number(tr.dataset.key),
  label: tr.querySelector('th').textContent.trim(),
  cells: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [
    td.dataset.col,
    Object.fromEntries([['text', td.textContent.trim()],
      ...[...td.querySelectorAll('[data-part]')].map(
        (s) => [s.dataset.part, s.textContent.trim()])]),
  ])),
}))"""


def shown_table(page) -> list[dict]:
    return page.get_by_test_id("heatmap").first.evaluate(READ_TABLE)


def shown_codes(page) -> list[str]:
    return [
        t.strip()
        for t in page.get_by_test_id("heatmap").first.locator("th.code-head").all_text_contents()
    ]


def assert_unit_rows_equal_sql(page, site: LiveSite, rows: dict[int, set[int]], on: date) -> int:
    """Every cell of the org unit heatmap on the page equals the SQL for its row's people:
    the figure of ``MEASURE`` and n; "—" where no one is required. Returns cells compared."""
    shown = shown_table(page)
    codes = shown_codes(page)
    assert {r["key"] for r in shown} == set(rows), [r["label"] for r in shown]
    compared = 0
    for row in shown:
        people = present(site, rows[row["key"]], on)
        assert int(row["cells"]["people"]["text"].replace(",", "")) == len(people), row["label"]
        expected = cells(site, people, on)
        assert set(expected) <= set(codes), "a required competency has no column"
        for code in codes:
            parts = row["cells"][code]
            if code not in expected:
                assert parts["text"] == "—", (row["label"], code, parts)
                continue
            assert parts["figure"] == expected[code].text(MEASURE), (row["label"], code, parts)
            assert int(parts["n"]) == expected[code].required, (row["label"], code, parts)
            compared += 1
    return compared


def page_overflow(b) -> int:
    """How far the page itself is wider than the screen (a table may scroll in its box)."""
    return b.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def boxes_fit(b) -> bool:
    """Every table's scroll box ends within the screen."""
    return b.page.evaluate(
        """() => [...document.querySelectorAll('.table-responsive')].every((box) =>
            box.getBoundingClientRect().right <= document.documentElement.clientWidth + 1)"""
    )


def three_months_before(day: date) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - 3, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def long_date(day: date) -> str:
    return day.strftime("%d %b %Y")


def log_in(b, email: str) -> None:
    b.goto("/login")
    b.page.get_by_label("Email").fill(email)
    b.page.get_by_label("Password").fill(DEMO_PASSWORD)
    b.page.get_by_role("button", name="Log in").click()
    b.page.wait_for_url(b.url("/"))


# --- the manager of another subtree ----------------------------------------------------------


@dataclass(frozen=True)
class OtherManager:
    person_id: int
    name: str
    email: str


@pytest.fixture
def other_manager(live_site):
    """The head of another department, given a manager's login for the test (the demo has
    one manager login only), and the login removed again afterwards."""
    head = unit(live_site, OTHER_UNIT).head_id
    with live_site.app.app_context():
        person = db.session.get(Person, head)
        assert person is not None and person.email
        assert db.session.scalar(select(User).where(User.person_id == head)) is None
        user = User(
            person_id=head,
            email=person.email,
            password_hash=hash_password(DEMO_PASSWORD),
            active=True,
        )
        user.permission_rows = [
            UserPermission(permission=Permission.LEARNER),
            UserPermission(permission=Permission.MANAGER),
        ]
        db.session.add(user)
        db.session.commit()
        found = OtherManager(head, person.full_name, person.email)
        db.session.remove()
    try:
        yield found
    finally:
        with live_site.app.app_context():
            db.session.delete(db.session.scalar(select(User).where(User.person_id == head)))
            db.session.commit()
            db.session.remove()


# --- the walk --------------------------------------------------------------------------------


def test_a_manager_reads_drills_exports_and_dates_the_heatmap_and_another_cannot(
    chromium, live_site, other_manager
):
    daniel = USERS["manager"]
    today = date.today()
    earlier = three_months_before(today)
    daniel_id = live_site.person_id(daniel.email)
    epo = sql(live_site, "SELECT id, name, code FROM org_units WHERE head_id = :me", me=daniel_id)
    assert len(epo) == 1, "the demo manager heads one department"
    epo = epo[0]
    team = reach(live_site, daniel_id)
    assert len(team) >= 4 and daniel_id in team
    children = sql(
        live_site, "SELECT id, name FROM org_units WHERE parent_id = :u ORDER BY name", u=epo.id
    )
    #: the org unit rows: each child unit's subtree, the department's own people, everyone
    unit_rows = {c.id: in_subtree(live_site, c.id) & team for c in children}
    unit_rows[epo.id] = placed_in(live_site, epo.id) & team
    unit_rows[0] = team
    assert len(unit_rows) >= 3

    context, b = open_browsing(chromium, live_site)
    phone_context, phone = open_browsing(chromium, live_site, "phone")
    try:
        page = b.page

        # -- 1. My team opens with the team's heatmap, its figures the SQL's ----------------
        b.log_in(daniel)
        page.get_by_test_id("nav").get_by_role("link", name="My team").click()
        page.wait_for_url(b.url("/team"))
        heat = page.get_by_test_id("team-heatmap")
        assert heat.is_visible()
        # The team page leads with the direct reports' grid (loaded after the page, a page
        # at a time) and a link to everyone below the manager: the full heatmap, whose
        # figures are compared with the SQL below.
        assert heat.get_by_test_id("full-heatmap").is_visible()
        assert page_overflow(b) == 0
        b.screenshot("reports-team")

        # -- ... and the full heatmap from the Reports menu ----------------------------------
        nav = page.get_by_test_id("nav")
        nav.get_by_role("button", name="Reports").click()
        nav.get_by_role("link", name="Capability heatmap").click()
        page.wait_for_url(re.compile(r"/reports/heatmap$"))
        assert page.get_by_role("heading", level=1).text_content().strip() == "Capability heatmap"
        assert f"As at {long_date(today)}" in page.locator(".page-header").text_content()

        # Org unit rows by keyboard (from "People", one down), the mean shortfall likewise,
        # then Tab to "Show" and Enter.
        rows_select = page.get_by_label("Rows")
        rows_select.focus()
        page.keyboard.press("ArrowDown")
        assert rows_select.input_value() == "unit"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.name") == "measure"
        page.keyboard.press("ArrowDown")
        assert page.get_by_label("Figure in each cell").input_value() == MEASURE
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent.trim()") == "Show"
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/reports/heatmap\?"))
        assert "rows=unit" in page.url and f"measure={MEASURE}" in page.url
        assert "mean shortfall" in page.get_by_test_id("heatmap-explainer").text_content()
        assert page.get_by_test_id("heatmap").first.get_attribute("data-row-kind") == "unit"
        assert assert_unit_rows_equal_sql(page, live_site, unit_rows, today) >= 20
        heatmap_url = page.url
        assert page_overflow(b) == 0
        b.screenshot("reports-heatmap")
        b.watch.assert_clean()

        # -- 2. The people behind a cell ------------------------------------------------------
        # The child unit's cell with the most people required and someone short.
        child = children[0].id
        child_cells = cells(live_site, present(live_site, unit_rows[child], today), today)
        code, figures = max(
            ((c, f) for c, f in child_cells.items() if f.meeting < f.required),
            key=lambda cf: (cf[1].required, cf[1].shortfall, cf[0]),
        )
        page.locator(f"tr[data-key='{child}'] td[data-col='{code}'] a.hm-link").click()
        page.wait_for_url(re.compile(r"/reports/heatmap/cell\?"))
        cell_url = page.url
        assert page.get_by_role("heading", level=1).text_content().startswith(code)
        assert children[0].name in page.locator(".page-header").text_content()
        expected = cell_people(live_site, present(live_site, unit_rows[child], today), code, today)
        assert_cell_equals_sql(page, live_site, expected, code, today)
        listed = page.get_by_test_id("cell-person")
        assert listed.count() == figures.required
        summary = page.get_by_test_id("cell-summary").text_content()
        assert f"{figures.shortfall / figures.required:.2f}" in summary
        assert page_overflow(b) == 0
        b.screenshot("reports-cell")

        # A name opens that person's capability page.
        first = listed.first
        first_id = int(first.get_attribute("data-person"))
        first.locator("th a").click()
        page.wait_for_url(b.url(f"/people/{first_id}/capability"))
        last, first_name = expected[first_id][0].split(", ")
        heading = page.get_by_role("heading", level=1).text_content()
        assert f"{first_name} {last}" in heading and "capability" in heading
        page.go_back()
        page.get_by_test_id("back-to-heatmap").click()  # with the filters kept
        page.wait_for_url(re.compile(r"/reports/heatmap\?"))
        assert "rows=unit" in page.url and f"measure={MEASURE}" in page.url
        assert page.get_by_test_id("heatmap").first.get_attribute("data-row-kind") == "unit"
        b.watch.assert_clean()

        # -- 3. The XLSX holds the figures on the screen, named by scope and date -----------
        with page.expect_download() as download:
            page.get_by_test_id("export-xlsx").click()
        workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
        assert_export_equals_screen(page, workbook, today, daniel.name, epo.name)
        assert today.isoformat() in download.value.suggested_filename
        b.watch.assert_clean()

        # -- 4. As at three months ago, then both dates side by side ------------------------
        page.get_by_label("As at", exact=True).fill(earlier.isoformat())
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(rf"on={earlier.isoformat()}"))
        assert f"As at {long_date(earlier)}" in page.locator(".page-header").text_content()
        assert f"as at {long_date(earlier)}" in (
            page.get_by_test_id("heatmap").first.locator("caption").text_content()
        )
        assert assert_unit_rows_equal_sql(page, live_site, unit_rows, earlier) >= 20

        page.get_by_label("As at", exact=True).fill(today.isoformat())
        page.get_by_label("Compare with", exact=True).fill(earlier.isoformat())
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(rf"compare={earlier.isoformat()}"))
        assert f"compared with {long_date(earlier)}" in page.locator(".page-header").text_content()
        assert_changes_equal_sql(page, live_site, unit_rows, today, earlier)
        assert page_overflow(b) == 0
        b.screenshot("reports-heatmap-compare")
        b.watch.assert_clean()

        # -- 6. On a phone: the team page, the heatmap and the cell fit the screen ----------
        phone.log_in(daniel)
        for name, path in [
            ("reports-team", "/team"),
            ("reports-heatmap", heatmap_url.removeprefix(live_site.url)),
            ("reports-cell", cell_url.removeprefix(live_site.url)),
        ]:
            phone.goto(path)
            assert page_overflow(phone) == 0, f"{path} is wider than a phone"
            assert boxes_fit(phone), f"a table box on {path} runs off a phone's screen"
            phone.screenshot(name)
        # the phone's drill-down still says what each level rests on (in the name cell)
        assert "Rests on:" in phone.page.get_by_test_id("cell-person").first.text_content()
        phone.watch.assert_clean()
        b.page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/login$"))

        # -- 5. Another subtree's manager sees none of Daniel's people -----------------------
        other = other_manager
        assert other.person_id not in team
        log_in(b, other.email)
        b.goto("/reports/heatmap")
        shown = {r["key"] for r in shown_table(page)}
        theirs = present(live_site, reach(live_site, other.person_id), today)
        assert shown == theirs | {0}, "the other manager sees their own people, and only those"
        assert not (shown & team)
        body = page.locator("main").inner_text()
        for name, *_ in expected.values():
            assert name not in body
        unit_options = page.get_by_label("Org unit").locator("option").all_text_contents()
        assert epo.name not in unit_options and children[0].name not in unit_options

        b.goto(cell_url.removeprefix(live_site.url), status=403)
        assert page.get_by_test_id("error-title").is_visible()
        for name, *_ in expected.values():
            assert name not in page.content()
        b.goto(f"/reports/heatmap?unit={epo.id}", status=403)
        b.goto(f"/reports/heatmap?unit={epo.id}&rows=unit&measure={MEASURE}", status=403)
        refused = page.request.get(
            b.url(f"/reports/heatmap?unit={epo.id}&rows=unit&measure={MEASURE}&format=xlsx")
        )
        assert refused.status == 403
        assert "spreadsheetml" not in refused.headers.get("content-type", "")
        b.watch.assert_clean()
    except Exception:
        b.screenshot("reports-walkthrough-failure")
        raise
    finally:
        context.close()
        phone_context.close()


def assert_team_equals_sql(page, site: LiveSite, team: set[int], on: date) -> int:
    """The team heatmap of "My team": one row per person in the team and the "everyone"
    row; the share meeting per competency and each person's level / required as the SQL
    gives them, "—" where not required. Returns the cells compared."""
    rows = {r["key"]: r for r in shown_table(page)}
    assert set(rows) == present(site, team, on) | {0}
    compared = 0
    for code, figures in cells(site, present(site, team, on), on).items():
        assert rows[0]["cells"][code]["figure"] == figures.text("meeting"), code
        compared += 1
    for person_id in rows.keys() - {0}:
        mine = levels(site, person_id, on)
        for code, parts in rows[person_id]["cells"].items():
            if code == "detail":
                continue
            if code not in mine:
                assert parts["text"] == "—", (person_id, code)
                continue
            assert (int(parts["level"]), int(parts["req"])) == mine[code], (person_id, code)
            compared += 1
    return compared


def assert_cell_equals_sql(page, site: LiveSite, expected: dict, code: str, on: date) -> None:
    """The drill-down lists exactly the people ``expected`` holds (from ``cell_people``),
    each with level, required, gap and what the level rests on, the largest gap first."""
    listed = page.get_by_test_id("cell-person")
    assert listed.count() == len(expected)
    gaps = []
    for i in range(listed.count()):
        row = listed.nth(i)
        person_id = int(row.get_attribute("data-person"))
        name, level, required, gap = expected[person_id]
        numbers = [n.strip() for n in row.locator("td.num").all_text_contents()]
        assert row.locator("th a").text_content().strip() == name
        assert numbers == [str(level), str(required), f"{gap} short" if gap else "✓ meets"], name
        basis = row.get_by_test_id("basis").text_content().strip()
        assert_rests_on(site, person_id, code, level, basis, on)
        gaps.append(gap)
    assert gaps == sorted(gaps, reverse=True), "the largest gap first"


def assert_rests_on(site: LiveSite, person_id: int, code: str, level: int, basis: str, on: date):
    """A level above 0 rests on validated evidence of the person, named by its kind and date
    (and certificate), that gives at least that level in the competency: a record in the
    competency, or an external certificate whose catalogue entry covers it; a level of 0
    says there was none by then."""
    if level == 0:
        assert basis == "No validated evidence by then", basis
        return
    found = BASIS.match(basis)
    assert found, basis
    records = sql(
        site,
        """
        SELECT e.source, e.achieved_on, e.certificate_code,
               CASE WHEN e.certificate_code IS NULL THEN e.level
                    ELSE (SELECT MAX(json_extract(c.evidences, '$."' || :c || '"'))
                          FROM certificates c WHERE c.code = e.certificate_code) END AS gives
        FROM evidence e
        WHERE e.person_id = :p AND e.validated AND e.achieved_on <= :on
          AND (e.competency_code = :c OR e.certificate_code IS NOT NULL)
        """,
        p=person_id,
        c=code,
        on=on.isoformat(),
    )
    named = {
        (
            SOURCE_LABELS[r.source],
            date.fromisoformat(str(r.achieved_on)).strftime("%d %b %Y"),
            r.certificate_code,
        )
        for r in records
        if (r.gives or 0) >= level
    }
    assert (found["source"], found["day"], found["cert"]) in named, (basis, named)


def assert_export_equals_screen(page, workbook, on: date, manager: str, unit: str) -> None:
    """Every figure of the page's table equals the workbook's cell in the same row and
    column; the workbook says the date, whose people and which rows it holds."""
    sheet = workbook.worksheets[0]
    assert on.isoformat() in sheet.title
    heading = workbook.properties.title or ""
    assert heading == sheet.oddHeader.center.text.replace("&&", "&")
    assert f"As at {long_date(on)}" in heading and f"people {manager} manages" in heading
    about = dict(workbook["About this report"].iter_rows(values_only=True))
    assert about["As at"] == long_date(on)
    assert manager in about["People"]
    assert unit in about["Rows"] and about["Figure in each cell"].startswith("mean shortfall")
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_at = 0
    header, body = values[header_at], values[header_at + 1 :]
    column = {label: i for i, label in enumerate(header)}
    shown = shown_table(page)
    assert [r[0] for r in body] == [r["label"] for r in shown]
    compared = 0
    for row, line in zip(shown, body, strict=True):
        assert line[column["People"]] == int(row["cells"]["people"]["text"].replace(",", ""))
        for code in shown_codes(page):
            parts = row["cells"][code]
            value, n = line[column[code]], line[column[f"{code} n required"]]
            if "figure" not in parts:
                assert value is None and n is None, (row["label"], code, value)
                continue
            assert f"{value:.2f}" == parts["figure"], (row["label"], code, value, parts)
            assert n == int(parts["n"])
            compared += 1
    assert compared >= 20


#: "External certificate, 16 Feb 2024 (PFMP), valid to …": the kind, the date, a certificate
BASIS = re.compile(r"(?P<source>[^,(]+?), (?P<day>\d{2} \w{3} \d{4})( \((?P<cert>[^)]+)\))?")
MOVE = re.compile(
    r"^(?P<row>.+?) · (?P<code>[A-Z]+-\d+) .+?: (?P<before>[\d.]+|—) → (?P<after>[\d.]+|—)"
)


def assert_changes_equal_sql(page, site, rows: dict[int, set[int]], now: date, then: date):
    """Each cell shows the figure now, the figure then ("was") and the change where there is
    one, all as the SQL gives them; "What moved" lists changes the SQL confirms."""
    shown = shown_table(page)
    labels = {r["key"]: r["label"] for r in shown}
    moved = 0
    by_label: dict[tuple[str, str], tuple[str, str]] = {}
    for row in shown:
        after = cells(site, present(site, rows[row["key"]], now), now)
        before = cells(site, present(site, rows[row["key"]], then), then)
        for code in shown_codes(page):
            parts = row["cells"][code]
            a = after[code].text(MEASURE) if code in after else "—"
            w = before[code].text(MEASURE) if code in before else "—"
            assert parts.get("figure", "—") == a, (row["label"], code)
            if code in before:
                assert parts["was"] == w, (row["label"], code, parts)
            else:
                assert "was" not in parts, (row["label"], code, parts)
            if code in after and code in before and a != w:
                change = float(a) - float(w)
                assert parts["change"] == f"{'+' if change > 0 else '−'}{abs(change):.2f}", parts
                moved += 1
            by_label[(labels[row["key"]], code)] = (w, a)
    assert moved, "nothing changed in three months: the demo data should show movement"
    items = page.get_by_test_id("what-moved").locator("li").all_text_contents()
    assert len(items) == min(moved, 12)
    for item in items:
        found = MOVE.match(" ".join(item.split()))
        assert found, item
        assert by_label[(found["row"], found["code"])] == (found["before"], found["after"]), item
