"""The team page's grid in a real browser: the list is drawn first, then static/js/team.js
fetches the direct reports' grid into its place (the Content-Security-Policy allows no
inline script); its page links swap the grid in place; nothing errs in the console, and
at phone width the page itself never scrolls sideways (the grid scrolls in its box)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import USERS, VIEWPORTS, open_browsing

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_direct_reports_grid_comes_in_place(chromium, live_site, viewport):
    context, b = open_browsing(chromium, live_site, viewport)
    try:
        b.log_in(USERS["manager"])
        b.goto("/team")
        page = b.page
        # the list is there at once; the grid arrives in the section, no navigation
        assert page.get_by_test_id("team-list").is_visible()
        grid = page.get_by_test_id("team-heatmap").get_by_test_id("team-grid")
        grid.wait_for()
        assert page.url.endswith("/team")
        rows = grid.locator("[data-testid=team-grid-row]")
        count = page.get_by_test_id("team-grid-count").text_content()
        shown = re.match(r"Showing 1–(\d+) of ([\d,]+) direct reports", count)
        assert shown, count
        assert rows.count() == int(shown.group(1)) <= 25
        # each row opens that person's capability page
        first = rows.first.locator("th a")
        assert re.fullmatch(r"/people/\d+/capability", first.get_attribute("href"))
        if int(shown.group(2).replace(",", "")) > 25:  # a second page swaps in place
            page.get_by_test_id("team-heatmap").locator("a[data-grid-page='2']").click()
            page.get_by_text(re.compile(r"Showing 26–")).wait_for()
            assert page.url.endswith("/team")
        assert b.horizontal_overflow() == 0
        b.watch.assert_clean()
    finally:
        context.close()
