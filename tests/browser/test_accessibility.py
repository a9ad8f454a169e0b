"""Accessibility in a real browser: axe-core over every main page of each demo user, at desktop
and phone width, and the assessment and the import mapping done with the keyboard alone.

For each demo user (learner, manager, trainer, admin) the pages are the ones their navigation
bar and their home page lead to, plus the detail pages those lists open first (a person, a
learning path, an enrolment and its lesson, a report's drill-down, an attempt, the import
mapping...). axe-core (bundled with axe-playwright-python, injected through Playwright's
``evaluate`` so nothing is fetched and the Content-Security-Policy is not loosened) runs on
each page at desktop width, and on the main pages, the attempt and the import steps at phone
width too; any violation of impact "serious" or "critical" fails the test,
listed with its rule, impact, the elements it found and the rule's help page.

The keyboard tests start an attempt and upload a staff file, so this module serves a demo
site of its own (built as the shared one).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from openpyxl import Workbook
from sqlalchemy import select

from app.assessment.content import item_from_data
from app.assessment.models import Attempt, AttemptItem, ItemVersion
from app.extensions import db
from tests.browser.conftest import USERS, VIEWPORTS, Browsing, LiveSite, open_browsing, serve_demo

pytestmark = pytest.mark.browser

AXE = Axe()
#: The impacts that fail a page (axe's "minor" and "moderate" are reported, not failed).
FAILING = ("serious", "critical")
#: WCAG 2.1 A and AA, and axe's best practices.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
}
#: Detail pages: the first link on the pages visited whose path matches each pattern is
#: visited too (a person, a path, an enrolment and its lesson, a report's drill-down...).
DETAIL_PATTERNS = [
    r"/people/\d+",
    r"/people/\d+/capability",
    r"/people/\d+/learning",
    r"/learning/paths/[^/]+",
    r"/learning/enrolments/\d+",
    r"/learning/enrolments/\d+/modules/[^/]+",
    r"/learning/sessions/\d+",
    r"/learning/certificates/\d+",
    r"/learning/external/\d+",
    r"/assessments/\d+/start",
    r"/attempts/\d+/result",
    r"/assessments/\d+/statistics",
    r"/assessments/\d+/statistics/items/\d+",
    r"/authoring/paths/(?!new$)[^/]+",
    r"/authoring/banks/(?!new$|import$)[^/]+",
    r"/authoring/assessments/(?!new$)[^/]+",
    r"/reports/heatmap/cell",
    r"/reports/coverage/cell",
    r"/reports/people/\d+/closest-roles",
    r"/admin/people/\d+/edit",
    r"/admin/imports/\d+",
    r"/framework/draft/competencies/[^/]+",
]
#: Links never followed by the scan: files, logging out, pages that change something.
SKIP = re.compile(r"\.(csv|xlsx|ics|yaml|json|pdf)$|/file$|/logout|/set-password/|/verify/")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help_url: str
    targets: tuple[str, ...]

    def describe(self) -> str:
        where = ", ".join(self.targets[:5]) + (" …" if len(self.targets) > 5 else "")
        return f"{self.rule} ({self.impact}) at {where} — {self.help_url}"


def axe_violations(page) -> list[Violation]:
    """What axe-core finds on the page as it is shown now. The script comes with
    axe-playwright-python (nothing is fetched) and is put into the page once, through
    Playwright's evaluate: the page's Content-Security-Policy stays as it is."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.axe_script)
    results = page.evaluate("(options) => axe.run(document, options)", AXE_OPTIONS)
    return [
        Violation(
            v["id"],
            v["impact"] or "",
            v["helpUrl"],
            tuple(" ".join(str(t) for t in node["target"]) for node in v["nodes"]),
        )
        for v in results["violations"]
    ]


@dataclass
class Scan:
    """The pages one user's scan visited, and what axe found on each at each width."""

    who: str
    visited: list[str] = field(default_factory=list)
    found: dict[tuple[str, str], list[Violation]] = field(default_factory=dict)

    def failing(self) -> list[str]:
        out = []
        for (path, width), violations in self.found.items():
            for v in violations:
                if v.impact in FAILING:
                    out.append(f"{self.who} {path} [{width}]: {v.describe()}")
        return out


def check_page(b: Browsing, scan: Scan, path: str, phone: bool) -> None:
    """axe at desktop width, then (``phone``) at phone width (the same page, resized), then
    back."""
    page = b.page
    for width in ("desktop", "phone") if phone else ("desktop",):
        page.set_viewport_size(VIEWPORTS[width])
        scan.found[(path, width)] = axe_violations(page)
    page.set_viewport_size(VIEWPORTS["desktop"])
    scan.visited.append(path)


def same_site_links(b: Browsing, selector: str) -> list[str]:
    hrefs = b.page.locator(selector).evaluate_all("(links) => links.map((a) => a.href)")
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        if not href.startswith(b.site.url) or SKIP.search(parts.path):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path not in out:
            out.append(path)
    return out


def scan_user(b: Browsing, who: str) -> Scan:
    """Log in as the demo ``who`` and check every page their navigation bar and home page
    lead to, at both widths, and the first detail page of each kind (DETAIL_PATTERNS) those
    pages link to, at desktop width (built from the same layout and components as the main
    pages; an axe run takes a second or more, and these are most of the pages)."""
    scan = Scan(who)
    b.log_in(USERS[who])
    main = same_site_links(b, "[data-testid=nav] a[href]:not([href='#'])")
    main += same_site_links(b, ".navbar a.navbar-brand, .nav-user a[href]")
    patterns = [re.compile(rf"^{p}$") for p in DETAIL_PATTERNS]
    queued: set[str] = set()  # paths without their query: one page of each
    kinds: set[int] = set()  # the detail patterns already queued
    to_visit: list[str] = []

    def queue(links: list[str], details_only: bool) -> None:
        for link in links:
            bare = link.split("?")[0]
            kind = next((i for i, p in enumerate(patterns) if p.match(bare)), None)
            if bare in queued or kind in kinds or (details_only and kind is None):
                continue
            queued.add(bare)
            if kind is not None:
                kinds.add(kind)
            to_visit.append(link)

    queue(["/", *main], details_only=False)
    while to_visit:
        path = to_visit.pop(0)
        response = b.page.goto(b.url(path))
        assert response is not None and response.status == 200, f"{who}: GET {path}"
        bare = path.split("?")[0]
        check_page(b, scan, path, phone=not any(p.match(bare) for p in patterns))
        queue(same_site_links(b, "main a[href]"), details_only=path != "/")
    b.watch.assert_clean()
    return scan


# --- the setup each scan needs: an attempt in progress, an upload at its mapping step ---------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A small HR export whose column names the suggestion cannot all guess.
HEADERS = ["Staff Ref", "Surname", "Given Name", "Business Unit", "Position Title", "Work Mail"]
ROWS = [
    ("KB-1", "Keyes", "Ada", "Keyboard Lab", "Lab Lead", "ada.keyes@harbourside.example"),
    ("KB-2", "Tabor", "Ben", "Keyboard Lab", "PMO Analyst", "ben.tabor@harbourside.example"),
]
#: Fields the admin maps by keyboard: the field's label -> the column's header.
KEYBOARD_COLUMNS = {"Employee number": "Staff Ref", "Email": "Work Mail"}


def hr_export() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in ROWS:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload_staff_file(b: Browsing, name: str) -> str:
    """Upload the HR export from the import page; the mapping step's path."""
    b.goto("/admin/imports")
    b.page.get_by_label("HR export").set_input_files(
        {"name": name, "mimeType": XLSX, "buffer": hr_export()}
    )
    press_on(b.page, "Upload and map columns")
    b.page.wait_for_url(re.compile(r"/admin/imports/\d+/mapping$"))
    return urlsplit(b.page.url).path


def start_attempt(b: Browsing, title: str) -> int:
    """Open the assessment from My assessments and start it, by keyboard; the attempt's id."""
    b.goto("/assessments")
    start = b.page.get_by_test_id("open-assessments").get_by_role("link", name=title, exact=True)
    b.goto(urlsplit(start.get_attribute("href")).path)
    press_on(b.page, "Start the attempt")
    b.page.wait_for_url(re.compile(r"/attempts/\d+(\?.*)?$"))
    return int(re.search(r"/attempts/(\d+)", b.page.url).group(1))


# --- the keyboard --------------------------------------------------------------------------------

#: Whether the focused element shows where the focus is: an outline or a focus ring (Bootstrap's
#: box-shadow), on itself or, for a radio or a check box, its own ring.
FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return outline || (s.boxShadow && s.boxShadow !== 'none');
}"""
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el) return null;
  const label = el.labels && el.labels.length ? el.labels[0].textContent : '';
  return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '',
          id: el.id || '', value: el.value || '', text: (el.textContent || '').trim(),
          label: label.trim()};
}"""
MAX_TABS = 400


def focused(page) -> dict:
    return page.evaluate(FOCUSED) or {}


def tab_to(page, wanted, what: str, backwards: bool = False) -> dict:
    """Press Tab (Shift+Tab) until ``wanted(focused element)``; every element passed on the
    way must show its focus."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        now = focused(page)
        if now.get("tag") not in (None, "body"):
            assert page.evaluate(FOCUS_SHOWN), f"no visible focus on {now} (on the way to {what})"
        if wanted(now):
            return now
    pytest.fail(f"{what} cannot be reached with the {key} key")


def press_on(page, text: str) -> None:
    """Tab to the button (or submit input) that reads ``text`` and press Enter."""
    tab_to(
        page,
        lambda f: f.get("tag") in ("button", "input") and text in (f.get("text"), f.get("value")),
        f"the button {text!r}",
    )
    page.keyboard.press("Enter")


def answer_item_by_keyboard(page, item_id: int, kind: str) -> None:
    """Answer one question from the keys alone: Space and the arrows on a radio group, Space on
    two check boxes, the arrows on each drop-down (a different choice in each)."""
    name = f"a{item_id}"
    tab_to(page, lambda f: f.get("name", "").split("-")[0] == name, f"question {name}")
    if kind == "radio":
        page.keyboard.press("Space")
        page.keyboard.press("ArrowDown")
        states = page.locator(f"input[name='{name}']").evaluate_all(
            "(all) => all.map((r) => r.checked)"
        )
        assert states[1] and states.count(True) == 1, f"{name}: the second option is chosen"
    elif kind == "checkbox":
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        assert page.locator(f"input[name='{name}']:checked").count() == 2, name
    else:
        selects = page.locator(f"select[name^='{name}-']")
        ids = selects.evaluate_all("(all) => all.map((s) => s.id)")
        for n, select_id in enumerate(ids):
            if n:
                tab_to(page, lambda f, i=select_id: f.get("id") == i, f"{name} drop-down {n + 1}")
            for _ in range(n + 1):
                page.keyboard.press("ArrowDown")
            assert selects.nth(n).input_value() != "", f"{name} drop-down {n + 1}"


@dataclass
class Item:
    id: int
    section: int
    kind: str  # radio, checkbox or select: how it is answered


def attempt_items(site: LiveSite, attempt_id: int) -> list[Item]:
    kinds = {"multiple": "checkbox", "matching": "select", "sequencing": "select"}
    with site.app.app_context():
        rows = db.session.execute(
            select(AttemptItem.id, AttemptItem.section, ItemVersion.content)
            .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
            .where(AttemptItem.attempt_id == attempt_id)
            .order_by(AttemptItem.position)
        ).all()
        db.session.remove()
    return [
        Item(i, section, kinds.get(item_from_data(content).type, "radio"))
        for i, section, content in rows
    ]


def saved_answers(site: LiveSite, attempt_id: int) -> dict[int, object]:
    with site.app.app_context():
        answers = dict(
            db.session.execute(
                select(AttemptItem.id, AttemptItem.answer).where(
                    AttemptItem.attempt_id == attempt_id
                )
            ).all()
        )
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None
        answers[0] = attempt.status.value
        db.session.remove()
    return answers


# --- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo organisation for this module only: the tests start attempts and upload."""
    with serve_demo(tmp_path_factory.mktemp("accessibility"), "accessibility-site") as site:
        yield site


#: What each scan adds to the pages the navigation leads to: an attempt in progress and its
#: submit step (learner), a staff upload's mapping step, with and without an error, and its
#: preview (admin).
SCAN_ASSESSMENT = "Project support skills check"


@pytest.mark.parametrize("who", ["learner", "manager", "trainer", "admin"])
def test_no_serious_or_critical_axe_violation_on_any_main_page(chromium, site, who):
    context, b = open_browsing(chromium, site)
    try:
        scan = scan_user(b, who)
        page = b.page
        if who == "learner":
            attempt_id = start_attempt(b, SCAN_ASSESSMENT)
            check_page(b, scan, f"/attempts/{attempt_id}", phone=True)
            b.goto(f"/attempts/{attempt_id}/submit")
            check_page(b, scan, f"/attempts/{attempt_id}/submit", phone=True)
        if who == "admin":
            mapping = upload_staff_file(b, "axe-scan.xlsx")
            check_page(b, scan, mapping, phone=True)
            page.get_by_label("Employee number", exact=True).select_option("")
            page.get_by_role("button", name="Save mapping and preview").click()
            page.get_by_test_id("column-error").first.wait_for()
            check_page(b, scan, f"{mapping} (refused)", phone=True)
            page.get_by_label("Employee number", exact=True).select_option("Staff Ref")
            page.get_by_role("button", name="Save mapping and preview").click()
            page.wait_for_url(re.compile(r"/preview$"))
            check_page(b, scan, urlsplit(page.url).path, phone=True)
        b.watch.assert_clean()
    finally:
        context.close()
    phone = sum(1 for _, width in scan.found if width == "phone")
    print(
        f"{who}: {len(scan.visited)} pages, {phone} also at phone width: {' '.join(scan.visited)}"
    )
    minor = sorted({f"{v.rule} ({v.impact})" for vs in scan.found.values() for v in vs})
    print(f"{who}: below serious: {', '.join(minor) or 'none'}")
    failing = scan.failing()
    assert not failing, f"{len(failing)} serious or critical violations:\n" + "\n".join(failing)


#: Assessments of more than one section, tried in turn until an attempt holds a question of each
#: kind (a radio group, check boxes, drop-downs): the draw is random.
KEYBOARD_ASSESSMENTS = [
    "Project Manager scenario assessment",
    "PMO Manager scenario assessment",
    "Head of PMO case assessment",
    "Project support skills check",
]


def test_an_assessment_is_answered_navigated_and_submitted_by_keyboard_alone(chromium, site):
    context, b = open_browsing(chromium, site)
    page = b.page
    try:
        b.log_in(USERS["manager"])
        for title in KEYBOARD_ASSESSMENTS:
            attempt_id = start_attempt(b, title)
            items = attempt_items(site, attempt_id)
            if {i.kind for i in items} == {"radio", "checkbox", "select"}:
                break
        else:
            pytest.fail("no attempt drew a question of each kind")
        # A sequence given one step at a time is refused (400, shown beside the question)
        # until every step has its own position; the browser logs each refusal.
        b.watch.expect_status(b.url(f"/attempts/{attempt_id}/autosave"), 400)
        sections = sorted({i.section for i in items})
        assert len(sections) > 1, f"{title} has one section"
        answered: list[Item] = []
        for s, section in enumerate(sections):
            shown = [
                int(v)
                for v in page.locator("fieldset[data-item]").evaluate_all(
                    "(sets) => sets.map((s) => s.getAttribute('data-item'))"
                )
            ]
            here = [i for i in items if i.id in shown]
            assert here and {i.section for i in here} == {section}
            # the first question of the section, and one of each kind not answered yet
            todo = [here[0]] + [
                i
                for i in here[1:]
                if i.kind not in {a.kind for a in answered + [here[0]]}
                and i.kind not in {t.kind for t in here[1 : here.index(i)]}
            ]
            for item in todo:
                answer_item_by_keyboard(page, item.id, item.kind)
                answered.append(item)
            if s < len(sections) - 1:
                press_on(page, "Next section →")
                page.wait_for_function(
                    "(n) => document.querySelector('[data-testid=section-heading]')"
                    ".textContent.includes('Section ' + n + ' of')",
                    arg=s + 2,
                )
        assert {i.kind for i in answered} == {"radio", "checkbox", "select"}
        # Back to the first section with Shift+Tab (the section buttons are above), then on.
        tab_to(
            page,
            lambda f: f.get("tag") == "button" and f.get("text", "").startswith("1 ·"),
            "the first section's button",
            backwards=True,
        )
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=section-heading]')"
            ".textContent.includes('Section 1 of')"
        )
        press_on(page, "Submit…")
        page.wait_for_url(re.compile(rf"/attempts/{attempt_id}/submit$"))
        press_on(page, "Submit my answers")
        page.wait_for_url(re.compile(rf"/attempts/{attempt_id}/result$"))
        saved = saved_answers(site, attempt_id)
        assert saved.pop(0) == "submitted"
        missing = [i.id for i in answered if saved[i.id] in (None, [], {})]
        assert not missing, f"answers given by keyboard but not saved: {missing}"
        b.watch.assert_clean()
    finally:
        context.close()


def test_the_import_mapping_is_completed_by_keyboard_alone(chromium, site):
    context, b = open_browsing(chromium, site)
    page = b.page
    try:
        b.log_in(USERS["admin"])
        upload_staff_file(b, "keyboard.xlsx")
        form = page.get_by_test_id("mapping-form")
        selects = form.locator("select")
        labels = [
            page.locator(f"label[for='{i}']").first.text_content().strip()
            for i in selects.evaluate_all("(all) => all.map((s) => s.id)")
        ]
        assert set(KEYBOARD_COLUMNS) <= set(labels)
        # Every drop-down in turn with the Tab key; the two columns the suggestion could not
        # know are chosen by typing the start of their name.
        for label in labels:
            now = tab_to(
                page,
                lambda f, label=label: f.get("tag") == "select" and f.get("label") == label,
                f"the {label!r} drop-down",
            )
            if label in KEYBOARD_COLUMNS:
                assert now["value"] == "", label
                page.keyboard.type(KEYBOARD_COLUMNS[label])
                chosen = page.get_by_label(label, exact=True).input_value()
                assert chosen == KEYBOARD_COLUMNS[label], label
        press_on(page, "Save mapping and preview")
        page.wait_for_url(re.compile(r"/admin/imports/\d+/preview$"))
        assert page.get_by_test_id("count-create").text_content().strip() == str(len(ROWS))
        b.watch.assert_clean()
    finally:
        context.close()
