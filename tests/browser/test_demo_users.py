"""The four demo users in a real browser: navigation, refusals, lists, console and layout."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from app.navigation import ITEMS, navigation_for
from tests.browser.conftest import USERS, VIEWPORTS, open_browsing

pytestmark = pytest.mark.browser

ADMIN_SECTION = "Administration"
ADMIN_ITEMS = ["People", "Org units", "Offices", "Roles", "Accounts"]

#: Items each demo user's bar must show, in this order (the bar derives from ITEMS and the
#: route rules, so items added later for a permission show up between these).
LEARNING = "Learning"
FRAMEWORK = "Framework"
FRAMEWORK_ITEMS = ["Competency framework", "Role catalogue"]
REPORTS = "Reports"
REPORT_ITEMS = ["Capability heatmap", "Role readiness", "Bench strength", "P3O function coverage"]
#: Everyone's learning pages; managers add their team's, trainers the authoring and checking.
LEARNER_LEARNING = [
    "Learning paths",
    "Sessions",
    "My certificates",
    "External certificates and CPD",
]
MUST_SHOW = {
    "learner": (
        ["Home", "My learning"],
        {FRAMEWORK: FRAMEWORK_ITEMS, LEARNING: LEARNER_LEARNING},
    ),
    "manager": (
        ["Home", "My learning", "My team"],
        {
            FRAMEWORK: FRAMEWORK_ITEMS,
            REPORTS: REPORT_ITEMS,
            LEARNING: [*LEARNER_LEARNING, "Team learning", "Enrol people"],
        },
    ),
    "trainer": (
        ["Home", "My learning"],
        {
            FRAMEWORK: FRAMEWORK_ITEMS,
            REPORTS: REPORT_ITEMS,
            LEARNING: [*LEARNER_LEARNING, "Path authoring", "Certificates to verify"],
        },
    ),
    "admin": (
        ["Home", "My learning"],
        {
            ADMIN_SECTION: ADMIN_ITEMS,
            FRAMEWORK: FRAMEWORK_ITEMS,
            REPORTS: REPORT_ITEMS,
            LEARNING: LEARNER_LEARNING,
        },
    ),
}
#: Items each demo user's permissions do not reach.
MUST_NOT_SHOW = {
    "learner": {
        "My team",
        "Team learning",
        "Path authoring",
        ADMIN_SECTION,
        *ADMIN_ITEMS,
        REPORTS,
        *REPORT_ITEMS,
    },
    "manager": {"Path authoring", "Certificates to verify", ADMIN_SECTION, *ADMIN_ITEMS},
    "trainer": {"My team", ADMIN_SECTION, *ADMIN_ITEMS},
    "admin": {"My team", "Path authoring"},
}


def in_order(wanted: list[str], labels: list[str]) -> bool:
    """Whether ``wanted`` appears in ``labels`` in the same order (gaps allowed)."""
    rest = iter(labels)
    return all(label in rest for label in wanted)


@dataclass
class _SignedIn:
    """Enough of a user for navigation_for: signed in, holding the given permissions."""

    permissions: frozenset[str]
    is_authenticated: bool = True


def derived_navigation(app, permissions: frozenset[str]) -> tuple[list[str], dict[str, list]]:
    """The bar the route rules allow, from app.navigation.ITEMS."""
    with app.test_request_context("/"):
        nav = navigation_for(_SignedIn(permissions), None)
    main = [entry.label for entry in nav.get("", [])]
    sections = {name: [e.label for e in entries] for name, entries in nav.items() if name}
    return main, sections


def rendered_navigation(page) -> tuple[list[str], dict[str, list[str]]]:
    nav = page.get_by_test_id("nav")
    main = [
        t.strip()
        for t in nav.locator(":scope > li:not(.dropdown) > a.nav-link").all_text_contents()
    ]
    sections = {}
    for dropdown in nav.locator(":scope > li.dropdown").all():
        name = dropdown.locator(".dropdown-toggle").text_content().strip()
        sections[name] = [t.strip() for t in dropdown.locator(".dropdown-item").all_text_contents()]
    return main, sections


def test_cli_printed_the_four_demo_logins(live_site):
    for user in USERS.values():
        assert user.email in live_site.cli_output
        assert user.name in live_site.cli_output
    assert set(USERS) == {"learner", "manager", "trainer", "admin"}


@pytest.mark.parametrize("who", ["learner", "manager", "trainer", "admin"])
def test_demo_user_sees_exactly_their_navigation_and_logs_out(browsing, live_site, who):
    user = USERS[who]
    # The bar the permissions allow, from ITEMS and the route rules; it holds what the
    # brief for each permission says and nothing it rules out.
    expected_main, expected_sections = derived_navigation(live_site.app, user.permissions)
    must_main, must_sections = MUST_SHOW[who]
    assert in_order(must_main, expected_main), expected_main
    assert set(expected_sections) == set(must_sections)
    for section, labels in must_sections.items():
        assert in_order(labels, expected_sections[section]), expected_sections
    derived_labels = set(expected_main) | set(expected_sections)
    derived_labels |= {label for labels in expected_sections.values() for label in labels}
    assert not derived_labels & MUST_NOT_SHOW[who]

    page = browsing.page
    browsing.log_in(user)
    assert page.get_by_test_id("signed-in-as").text_content().strip() == user.name
    # the name in the bar is the way to one's own profile (and the password change there)
    page.get_by_test_id("signed-in-as").click()
    page.get_by_role("link", name="Change password").wait_for()
    page.go_back()
    assert page.get_by_role("heading", level=1).text_content().strip() == f"Welcome, {user.first}"

    main, sections = rendered_navigation(page)
    assert main == expected_main
    assert sections == expected_sections
    allowed = set(expected_main) | {
        label for labels in expected_sections.values() for label in labels
    }
    shown = set(main) | {label for labels in sections.values() for label in labels}
    for item in ITEMS:
        if item.label not in allowed:
            assert item.label not in shown, f"{who} sees {item.label!r}"
    for label in MUST_NOT_SHOW[who]:
        assert label not in shown and label not in sections, f"{who} sees {label!r}"
    if ADMIN_SECTION not in expected_sections:
        assert page.get_by_role("button", name=ADMIN_SECTION).count() == 0
        assert page.locator("a[href^='/admin']").count() == 0
    if "My team" not in expected_main:
        assert page.locator("a[href='/team']").count() == 0

    # Each main item opens its page, marked as the current one.
    for label in expected_main:
        page.get_by_test_id("nav").get_by_role("link", name=label, exact=True).click()
        current = page.locator("[data-testid=nav] a[aria-current=page]")
        assert current.text_content().strip() == label
        # The page is whole, scripts included: a click returns once the new page starts
        # loading, and a drop-down clicked before Bootstrap's script has run opens nothing
        # (seen on a busy machine after the team page).
        page.wait_for_load_state()
    # The drop-down opens (Bootstrap's JS runs under the CSP) and leads to its pages.
    for section, labels in expected_sections.items():
        for label in labels:
            page.get_by_role("button", name=section).click()
            link = page.locator(".dropdown-menu").get_by_role("link", name=label, exact=True)
            link.wait_for(state="visible")
            link.click()
            page.wait_for_load_state()
            assert page.locator(".dropdown-item.active").text_content().strip() == label

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    assert page.get_by_role("heading", name="Log in to PMO Pathways").is_visible()
    assert page.get_by_role("alert").text_content().strip() == "You are logged out."
    assert page.get_by_test_id("nav").count() == 0
    # Logged out for real: home sends you back to log in.
    browsing.goto("/")
    assert re.search(r"/login\?next=", page.url)
    browsing.watch.assert_clean()


def test_learner_typing_another_persons_url_gets_the_403_page(browsing, live_site):
    learner, manager = USERS["learner"], USERS["manager"]
    daniel_id = live_site.person_id(manager.email)
    page = browsing.page
    browsing.log_in(learner)

    browsing.goto(f"/people/{daniel_id}", status=403)
    assert page.get_by_test_id("error-title").text_content().strip() == "Not yours to see"
    assert page.title() == "Not yours to see · PMO Pathways"
    # The site's look: the brand bar, the learner's navigation and their name stay.
    assert page.locator("nav.navbar .navbar-brand").is_visible()
    assert rendered_navigation(page) == derived_navigation(live_site.app, learner.permissions)
    assert page.get_by_test_id("signed-in-as").text_content().strip() == learner.name
    text = page.locator("body").inner_text()
    assert manager.last not in text and manager.email not in text
    assert manager.last not in page.content()
    page.get_by_role("link", name="Go to your home page").click()
    page.wait_for_url(browsing.url("/"))
    # Their own record is fine.
    browsing.goto(f"/people/{live_site.person_id(learner.email)}")
    assert page.get_by_role("heading", level=1).text_content().strip() == learner.name
    browsing.watch.assert_clean()


def test_admin_searches_people_and_pages_through_the_list(browsing):
    page = browsing.page
    browsing.log_in(USERS["admin"])
    page.get_by_role("button", name=ADMIN_SECTION).click()
    page.locator(".dropdown-menu").get_by_role("link", name="People", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/people$"))

    table = page.get_by_test_id("people-table")
    rows = table.locator("tbody tr")
    assert rows.count() == 25
    assert page.get_by_text(re.compile(r"Showing 1–25 of 80 people")).is_visible()
    pages = page.get_by_role("navigation", name="Pages")
    assert pages.get_by_role("link", name="4", exact=True).is_visible()
    pages.get_by_role("link", name="2", exact=True).click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.get_by_text(re.compile(r"Showing 26–50 of 80 people")).is_visible()
    assert pages.locator(".page-item.active").text_content().strip() == "2"

    search = page.get_by_role("searchbox", name="Search")
    search.fill("Okafor")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=Okafor"))
    assert rows.count() >= 1
    assert table.get_by_role("link", name="Okafor, Daniel").is_visible()
    for name in rows.locator("td:first-child a").all_text_contents():
        assert "Okafor" in name
    assert search.input_value() == "Okafor"  # the filter stays filled in

    search.fill("nobody-by-this-name")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=nobody"))
    assert page.get_by_text("Nobody matches these filters.").is_visible()
    browsing.watch.assert_clean()


def test_manager_team_page_lists_people(browsing):
    page = browsing.page
    browsing.log_in(USERS["manager"])
    page.get_by_test_id("nav").get_by_role("link", name="My team").click()
    page.wait_for_url(re.compile(r"/team$"))
    assert page.get_by_role("heading", level=1).text_content().strip() == "My team"
    # the people list below the team's heatmap
    names = (
        page.get_by_test_id("team-list").locator("tbody tr td:first-child a").all_text_contents()
    )
    assert len(names) >= 2
    assert "Shah, Priya" in names  # she sits in a team of the Enterprise Portfolio Office
    assert "Okafor, Daniel" not in names  # the team is the others, as the summary counts
    summary = page.locator(".page-header .text-muted").text_content()
    counted = int(re.match(r"(\d+) people in the units you head", summary).group(1))
    assert counted == len(names)
    assert page.get_by_text(f"Showing 1–{counted} of {counted} people").is_visible()
    # A name from the team opens their profile.
    page.get_by_test_id("team-list").get_by_role("link", name="Shah, Priya").click()
    assert page.get_by_role("heading", level=1).text_content().strip() == "Priya Shah"
    browsing.watch.assert_clean()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_screenshots_and_a_clean_console(chromium, live_site, viewport):
    """Visit the main pages at desktop and phone width: screenshots for a person to look
    at, and no console error, CSP violation, failed request or sideways scrolling."""
    shots, overflow = [], {}

    def visit(browsing, name):
        shots.append(browsing.screenshot(name))
        overflow[name] = browsing.horizontal_overflow()

    def session(who):
        context, browsing = open_browsing(chromium, live_site, viewport)
        if who:
            browsing.log_in(USERS[who])
        return context, browsing

    context, b = session(None)
    b.goto("/login")
    visit(b, "login")
    b.watch.assert_clean()
    context.close()

    context, b = session("learner")
    visit(b, "learner-home")
    b.goto("/me")
    visit(b, "learner-profile")
    b.goto(f"/people/{live_site.person_id(USERS['manager'].email)}", status=403)
    visit(b, "403")
    b.watch.assert_clean()
    context.close()

    context, b = session("manager")
    b.goto("/team")
    visit(b, "manager-team")
    b.watch.assert_clean()
    context.close()

    context, b = session("admin")
    b.goto("/admin/people")
    visit(b, "admin-people")
    b.goto(f"/admin/people/{live_site.person_id(USERS['learner'].email)}/edit")
    assert b.page.get_by_role("heading", level=1).text_content().strip() == "Edit Priya Shah"
    # She has a log-in already: the form offers to edit it, not to give her one.
    assert b.page.get_by_role("link", name="Edit Priya's log-in account").is_visible()
    assert b.page.get_by_text("Give Priya a log-in account").count() == 0
    visit(b, "admin-person-edit")
    if viewport == "phone":  # the collapsed bar opens with the toggler
        b.page.get_by_role("button", name="Show navigation").click()
        b.page.locator("#mainnav.show").wait_for()  # the collapse animation has finished
        b.page.get_by_role("button", name="Log out").wait_for(state="visible")
        visit(b, "admin-nav-open")
    b.watch.assert_clean()
    context.close()

    assert all(path.stat().st_size > 0 for path in shots)
    assert {name: px for name, px in overflow.items() if px > 0} == {}
