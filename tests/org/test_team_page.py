"""The manager's "My team" page at any size: the list comes at once, and the capability of
the manager's direct reports follows in a second request (/team/heatmap), 25 people a page,
read from the maintained spans for just those people. Both pages run a fixed number of SQL
statements whatever the size of the team; the grid agrees cell for cell with the full
heatmap's people rows."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.accounts.models import Permission
from app.org.queries import managed_people_ids
from app.reports import heatmap as hm
from app.reports.scope import ReportScope
from tests.factories import assign, make_person, make_unit, make_user
from tests.reports.factories import record
from tests.reports.test_heatmap import build_org

GRID = "/team/heatmap?partial=1"


def grid_rows(html: str) -> list[tuple[str, list[str]]]:
    """(person, [each cell's text]) of each row of the grid, in order."""
    rows = []
    for row in re.findall(r'<tr data-testid="team-grid-row".*?</tr>', html, re.S):
        name = re.search(r'<th scope="row" class="row-head"><a [^>]*>([^<]+)</a>', row).group(1)
        cells = re.findall(r'<td class="hm-cell ([^"]+)">(.*?)</td>', row)
        rows.append((name, [_cell_text(cls, inner) for cls, inner in cells]))
    return rows


def _cell_text(cls: str, inner: str) -> str:
    """ "◑ 2/3 hm-weak", or "— hm-none" for a competency not required."""
    band = cls.split()[0]
    text = re.sub(r"<[^>]+>", "", inner).strip()
    return f"{text} {band}"


def codes_of(html: str) -> list[str]:
    return re.findall(r'<th scope="col" class="code-head[^"]*"><abbr [^>]*>([^<]+)</abbr>', html)


@pytest.fixture
def boss(session):
    """Team A's boss (build_org, tests/reports/test_heatmap.py) as a manager who logs in:
    five direct reports in Team A; Team B is someone else's."""
    org = build_org(session)
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=org.boss_a)
    session.commit()
    return org, user


def test_the_team_page_lists_the_team_and_leaves_the_grid_to_a_second_request(client, login, boss):
    org, user = boss
    login(user)

    page = client.get("/team").text
    # the grid's place comes first, with a link that works without script
    assert page.index('data-testid="team-heatmap"') < page.index('data-testid="team-list"')
    assert 'data-grid-src="/team/heatmap?page=1&amp;partial=1"' in page
    assert 'href="/team/heatmap?page=1"' in page
    assert 'href="/reports/heatmap"' in page  # everyone below: the full heatmap
    assert 'data-testid="team-grid"' not in page  # not drawn here: nothing waits for it
    assert "js/team.js" in page
    assert "Showing 1–5 of 5 people" in page and "Four, Lou" not in page

    # a narrowed list is about its people: no grid
    assert 'data-testid="team-heatmap"' not in client.get("/team?q=Sam").text


def test_the_grid_shows_each_direct_reports_level_against_what_their_roles_require(
    client, login, session, boss
):
    org, user = boss
    login(user)

    html = client.get(GRID).text
    assert "<html" not in html  # the grid alone, for the team page to show in place
    assert codes_of(html) == ["RISK", "PLAN", "FIN"]
    rows = dict(grid_rows(html))
    assert list(rows) == ["One, Pat", "Seven, Sky", "Six, Noa", "Three, Kim", "Two, Sam"]
    # Kim (analyst): RISK 1 of 2 (one short), PLAN 2 of 3 (one short), no FIN of 2
    assert rows["Three, Kim"] == ["◑ 1/2 hm-weak", "◑ 2/3 hm-weak", "● 0/2 hm-critical"]
    assert rows["One, Pat"] == ["✓ 2/2 hm-strong", "✓ 3/3 hm-strong", "✓ 2/2 hm-strong"]
    assert f'href="/people/{org.p3.id}/capability"' in html
    assert "Showing 1–5 of 5 direct reports" in html

    # the same cells as the full heatmap's people rows, as at today (the page's clock, read
    # now: a date taken when the module loaded is yesterday's in a run that crosses midnight)
    ids = [org.p1.id, org.p7.id, org.p6.id, org.p3.id, org.p2.id]
    full = hm.heatmap(session, ReportScope(on=date.today()), "people", people_ids=ids)
    for (name, cells), row in zip(grid_rows(html), full.rows, strict=True):
        assert name == row.label
        for code, text in zip(full.codes, cells, strict=True):
            cell = row.cell(code)
            expected = f"{cell.top_level}/{cell.top_required}" if cell.required else "—"
            assert text.split()[-2] == expected, (name, code)

    # and as a page of its own, with the layout, for a browser without script
    alone = client.get("/team/heatmap").text
    assert "<html" in alone and 'data-testid="team-grid"' in alone


def test_the_grid_pages_through_the_direct_reports_25_at_a_time(client, login, session, boss):
    org, user = boss
    for n in range(25):
        person = make_person("Extra", f"Zz{n:02d}", unit=org.team_a, manager=org.boss_a)
        assign(person, org.anl, start=date(2024, 1, 1))
    session.commit()
    login(user)

    first = client.get(GRID).text
    assert len(grid_rows(first)) == 25
    assert "Showing 1–25 of 30 direct reports" in first
    assert 'href="/team/heatmap?page=2" data-grid-page="2"' in first
    second = client.get(GRID + "&page=2").text
    assert [name for name, _ in grid_rows(second)] == [f"Zz{n:02d}, Extra" for n in range(20, 25)]
    assert "Showing 26–30 of 30 direct reports" in second
    # a page past the end shows the last one
    assert "Showing 26–30 of 30" in client.get(GRID + "&page=99").text


def test_a_manager_with_no_direct_reports_is_sent_to_the_full_heatmap(client, login, session):
    unit = make_unit("Solo")
    head = make_person("Hana", "Head", unit=unit)
    unit.head_id = head.id
    make_person("Una", "Member", unit=unit)  # in the unit, reporting to nobody
    from tests.reports.factories import small_framework

    small_framework(session)
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=head)
    session.commit()
    login(user)

    html = client.get(GRID).text
    assert 'data-testid="team-grid-empty"' in html and "No one reports to you directly" in html
    assert 'href="/reports/heatmap?rows=unit"' in html
    assert "Member, Una" in client.get("/team").text


def test_without_a_framework_the_grid_says_so(client, login, session):
    unit = make_unit("Solo")
    head = make_person("Hana", "Head", unit=unit)
    make_person("Ann", "Member", unit=unit, manager=head)
    user = make_user(Permission.LEARNER, Permission.MANAGER, person=head)
    session.commit()
    login(user)

    assert "No competency framework is published yet" in client.get(GRID).text
    assert "Member, Ann" in client.get("/team").text


def _grow(session, org, people: int) -> None:
    """``people`` more in Team A, each with a role and evidence, one in three reporting to
    the boss directly and the rest to Pat (the boss's indirect reports)."""
    for n in range(people):
        manager = org.boss_a if n % 3 == 0 else org.p1
        person = make_person("Grow", f"Yy{n:03d}", unit=org.team_a, manager=manager)
        assign(person, org.anl, start=date(2024, 1, 1))
        record(session, person, "RISK", 1 + n % 3, achieved_on=date(2025, 2, 1))
    session.commit()


@pytest.mark.parametrize("path", ["/team", GRID, "/"])
def test_the_managers_pages_run_the_same_statements_whatever_the_team_size(
    client, login, session, count_queries, boss, path
):
    org, user = boss
    login(user)
    client.get(path)  # warm-up: the log-in session's first touch

    def statements() -> int:
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    small = statements()
    _grow(session, org, 60)
    large = statements()
    assert large == small, f"{path}: {small} statements for 5 people, {large} for 65"
    # the list and the grid, each in a handful; the home page's panels in a few more
    assert small <= {"/team": 6, GRID: 7, "/": 14}[path], small


def test_the_cached_team_statements_never_go_stale(session, boss):
    """A manager's statements are kept between requests; they hold ids and rules, never
    the people, so a newcomer is counted at once."""
    org, _ = boss
    before = set(session.scalars(managed_people_ids(org.boss_a.id)))
    newcomer = make_person("New", "Comer", unit=org.team_a)
    session.flush()
    after = set(session.scalars(managed_people_ids(org.boss_a.id)))
    assert after == before | {newcomer.id}
