"""The role readiness, bench strength and closest-roles pages (SQLite and PostgreSQL): who may
see them and whom they count, exports that say what the page says cell for cell, the date
and filters, and bad input answered with a message."""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from app.accounts.models import Permission
from app.framework.models import Source
from app.reports.readiness import readiness_table
from app.reports.succession import (
    BenchOptions,
    ClosestRoles,
    candidates_table,
    closest_table,
    overview_table,
)
from tests.factories import assign, make_role, make_user
from tests.reports.factories import csv_table, record
from tests.reports.test_readiness import EARLY, ON, TODAY, Org, build_org


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
    user = make_user(Permission.ADMIN)
    session.commit()
    return user


def page_rows(text: str, testid: str) -> list[dict[str, str]]:
    """The rows marked ``data-testid`` on a page, each {data-col: the text shown}."""
    rows = []
    for part in text.split(f'data-testid="{testid}"')[1:]:
        part = part.split("</tr>")[0]
        cells = re.findall(r'data-col="(\w+)"[^>]*>([^<]*)<', part)
        rows.append({key: html.unescape(value).strip() for key, value in cells})
    return rows


def csv_rows(data: bytes) -> list[list[str]]:
    return csv_table(data.decode("utf-8"))


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def assert_same(page: list[dict[str, str]], keys: list[str], exported: list[list]) -> None:
    """Every figure the page shows equals the export's cell in the same row and column
    (a per cent is shown with its sign and exported as the number; no value: "–" / empty)."""
    assert len(exported) == len(page)
    for shown, row in zip(page, exported, strict=True):
        cells = dict(zip(keys, row, strict=True))
        assert shown, "the page row shows no figures"
        for key, text in shown.items():
            value = cells[key]
            expected = "–" if value in (None, "") else str(value)
            assert text.rstrip("%") == expected, (key, text, value)


# -- who may see what ----------------------------------------------------------------------


URLS = [
    "/reports/readiness",
    "/reports/readiness.csv",
    "/reports/bench",
    "/reports/bench.xlsx",
]


def test_a_learner_may_not_see_any_of_these_reports(client, login, session, org):
    learner = make_user(Permission.LEARNER, person=org.p1)
    session.commit()
    login(learner)

    for url in [*URLS, f"/reports/people/{org.p1.id}/closest-roles"]:
        assert client.get(url).status_code == 403, url


def test_a_manager_counts_only_their_own_people(client, login, manager, org):
    login(manager)

    page = client.get(f"/reports/readiness?on={ON}").get_data(as_text=True)
    anl = next(r for r in page_rows(page, "readiness-row") if r["code"] == "ANL")
    assert anl["holders"] == "3"  # p4 works in the other team
    assert "the people you manage" in page

    bench = client.get(f"/reports/bench?on={ON}&role={org.mgr.id}").get_data(as_text=True)
    people = [r["person"] for r in page_rows(bench, "person-row")]
    assert people == ["Max Five", "Pat One"]
    export = client.get(f"/reports/bench.csv?on={ON}&role={org.mgr.id}&table=people")
    assert "Lou Four" not in export.get_data(as_text=True)
    assert "Pat One" in export.get_data(as_text=True)


def test_an_admin_counts_everyone(client, login, admin, org):
    login(admin)

    page = client.get(f"/reports/readiness?on={ON}").get_data(as_text=True)
    anl = next(r for r in page_rows(page, "readiness-row") if r["code"] == "ANL")
    assert (anl["holders"], anl["essential_percent"], anl["all_percent"]) == ("4", "75%", "50%")
    assert "everyone" in page


def test_a_manager_is_refused_another_unit_and_its_people(client, login, manager, org):
    login(manager)

    assert client.get(f"/reports/readiness?unit={org.team_b.id}").status_code == 403
    assert client.get(f"/reports/bench?unit={org.team_b.id}").status_code == 403
    assert client.get(f"/reports/people/{org.p4.id}/closest-roles").status_code == 403
    assert client.get(f"/reports/people/{org.p4.id}/closest-roles.csv").status_code == 403
    assert client.get(f"/reports/people/{org.p1.id}/closest-roles").status_code == 200
    assert client.get(f"/reports/readiness?unit={org.team_a.id}").status_code == 200


def test_the_menu_offers_the_reports_to_managers_not_learners(client, login, session, org):
    learner = make_user(Permission.LEARNER, person=org.p2)
    boss = make_user(Permission.LEARNER, Permission.MANAGER, person=org.boss_b)
    session.commit()

    login(boss)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/reports/readiness"' in home and 'href="/reports/bench"' in home
    login(learner)
    home = client.get("/").get_data(as_text=True)
    assert "/reports/readiness" not in home


# -- exports say what the page says -----------------------------------------------------------


def test_the_readiness_exports_equal_the_page(client, login, admin, org):
    login(admin)
    page = client.get(f"/reports/readiness?on={ON}").get_data(as_text=True)
    shown = page_rows(page, "readiness-row")
    keys = [c.key for c in readiness_table([]).columns]

    exported_csv = client.get(f"/reports/readiness.csv?on={ON}&table=roles")
    exported_xlsx = client.get(f"/reports/readiness.xlsx?on={ON}&table=roles")

    assert exported_csv.headers["Content-Disposition"].endswith(f'role-readiness-{ON}.csv"')
    header, *rows = csv_rows(exported_csv.data)
    assert header[:3] == ["Role", "Code", "Holders"]
    assert [r["code"] for r in shown] == ["XTRA", "ANL", "MGR"]  # by role name
    assert_same(shown, keys, rows)
    assert_same(shown, keys, xlsx_rows(exported_xlsx.data)[1:])
    xtra = shown[0]
    assert xtra["essential_percent"] == "–"  # no profile: no figure, an empty export cell


def test_the_gaps_export_equals_the_page(client, login, admin, org):
    login(admin)
    page = client.get(f"/reports/readiness?on={ON}").get_data(as_text=True)

    shown = [(r["short"]) for r in page_rows(page, "gap-row")]
    rows = csv_rows(client.get(f"/reports/readiness.csv?on={ON}&table=gaps").data)

    assert rows[0][:3] == ["Role", "Code", "Competency"]
    assert [r[6] for r in rows[1:]] == shown
    assert [(r[1], r[2]) for r in rows[1:4]] == [("ANL", "FIN"), ("ANL", "PLAN"), ("ANL", "RISK")]


def test_the_bench_exports_equal_the_page(client, login, admin, org):
    login(admin)
    overview = client.get(f"/reports/bench?on={ON}").get_data(as_text=True)
    keys = [c.key for c in overview_table([], BenchOptions()).columns]

    shown = page_rows(overview, "bench-row")
    assert_same(shown, keys, csv_rows(client.get(f"/reports/bench.csv?on={ON}").data)[1:])
    assert_same(shown, keys, xlsx_rows(client.get(f"/reports/bench.xlsx?on={ON}").data)[1:])
    mgr = next(r for r in shown if r["code"] == "MGR")
    assert (mgr["ready_now"], mgr["within_reach"], mgr["targeting"]) == ("1", "2", "1")

    url = f"/reports/bench?on={ON}&role={org.mgr.id}"
    people = page_rows(client.get(url).get_data(as_text=True), "person-row")
    keys = [c.key for c in candidates_table("MGR", []).columns]
    exported = csv_rows(client.get(url.replace("bench?", "bench.csv?") + "&table=people").data)
    assert_same(people, keys, exported[1:])
    assert [r["person"] for r in people] == ["Max Five", "Lou Four", "Pat One"]


def test_the_closest_roles_export_equals_the_page(client, login, admin, org):
    login(admin)
    url = f"/reports/people/{org.p1.id}/closest-roles?on={ON}"
    shown = page_rows(client.get(url).get_data(as_text=True), "closest-row")
    keys = [c.key for c in closest_table("x", _no_roles()).columns]

    exported = client.get(url.replace("closest-roles?", "closest-roles.xlsx?"))

    assert_same(shown, keys, xlsx_rows(exported.data)[1:])
    assert [r["code"] for r in shown] == ["MGR", "LEAD"]
    assert shown[0]["readiness"] == "33%"


def _no_roles() -> ClosestRoles:
    return ClosestRoles(0, ON, (), ())


def test_exported_text_cannot_become_a_formula(client, login, session, admin, org):
    evil = make_role("EVIL", '=HYPERLINK("http://x")')
    assign(org.p5, evil)
    session.commit()
    login(admin)

    text = client.get(f"/reports/readiness.csv?on={ON}").get_data(as_text=True)

    assert "'=HYPERLINK" in text
    assert not any(cell.startswith("=") for row in csv_rows(text.encode()) for cell in row)


def test_an_unknown_export_table_is_not_found(client, login, admin, org):
    login(admin)

    assert client.get("/reports/readiness.csv?table=nope").status_code == 404
    assert client.get("/reports/bench.csv?table=people").status_code == 404  # no role picked


# -- dates ---------------------------------------------------------------------------------------


def test_the_page_as_at_last_month_is_unchanged_by_evidence_added_today(
    client, login, session, admin, org
):
    login(admin)
    url = f"/reports/readiness?on={TODAY - timedelta(days=30)}"
    before = page_rows(client.get(url).get_data(as_text=True), "readiness-row")
    bench_url = f"/reports/bench?on={TODAY - timedelta(days=30)}&role={org.mgr.id}"
    bench_before = page_rows(client.get(bench_url).get_data(as_text=True), "person-row")

    for code, level in (("RISK", 3), ("PLAN", 3), ("FIN", 3)):
        record(
            session,
            org.p3,
            code,
            level,
            achieved_on=EARLY,
            recorded_on=TODAY,
            source=Source.MANAGER_RATING,
        )
    session.commit()

    assert page_rows(client.get(url).get_data(as_text=True), "readiness-row") == before
    assert page_rows(client.get(bench_url).get_data(as_text=True), "person-row") == bench_before
    today = page_rows(client.get("/reports/readiness").get_data(as_text=True), "readiness-row")
    assert today != before


def test_two_dates_side_by_side(client, login, admin, org):
    login(admin)

    page = client.get(f"/reports/readiness?on={ON}&compare=2025-04-01").get_data(as_text=True)

    assert "What moved: 01 Apr 2025 → 01 Jun 2025" in page
    anl = next(r for r in page_rows(page, "change-row") if r.get("holders_first") == "3")
    assert (anl["holders_second"], anl["holders_change"], anl["ready_all_change"]) == (
        "4",
        "1",
        "1",
    )
    exported = csv_rows(
        client.get(f"/reports/readiness.csv?on={ON}&compare=2025-04-01&table=change").data
    )
    assert exported[0][2:5] == ["Holders 01 Apr 2025", "Holders 01 Jun 2025", "Holders: change"]
    assert ["PMO Analyst", "ANL", "3", "4", "1"] in [row[:5] for row in exported]


# -- what the pages show -----------------------------------------------------------------------


def test_the_chart_prints_its_figures_and_has_a_text_alternative(client, login, admin, org):
    login(admin)

    page = client.get(f"/reports/readiness?on={ON}").get_data(as_text=True)

    svg = page[page.index("<svg") : page.index("</svg>")]
    assert '<title id="bars-title">' in svg and '<desc id="bars-desc">' in svg
    assert "essential 75% (3 of 4)" in svg and "all 50% (2 of 4)" in svg
    assert 'data-testid="chart-legend"' in page  # says what solid and hatched mean


def test_the_bench_page_explains_the_options_and_marks_targets(client, login, admin, org):
    login(admin)

    page = client.get(
        f"/reports/bench?on={ON}&role={org.mgr.id}&basis=essential&within=1&who=targets"
    ).get_data(as_text=True)

    assert "essential competencies only" in page
    assert "at most 1 of them" in page
    assert f"As at {ON:%d %b %Y} · everyone · PMO Manager" in page  # the scope in words
    people = page_rows(page, "person-row")
    assert [r["person"] for r in people] == ["Max Five"]
    assert 'data-testid="targets"' in page


def test_the_capability_page_links_to_the_closest_roles(client, login, manager, org):
    login(manager)

    page = client.get(f"/people/{org.p1.id}/capability").get_data(as_text=True)

    assert f'href="/reports/people/{org.p1.id}/closest-roles"' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("on=1800-01-01", "between 1900 and 2100"),
        ("on=2200-01-01", "between 1900 and 2100"),
        ("on=31%2F02%2F2025", "Not a valid date value"),
        ("unit=abc", "is not an id"),
        ("unit=999999", "There is no org unit with id 999999"),
        ("role=999999", "There is no role with id 999999"),
    ],
)
def test_bad_filters_give_a_message_not_an_error(client, login, admin, org, query, message):
    login(admin)

    for base in ("/reports/readiness", "/reports/bench"):
        response = client.get(f"{base}?{query}")
        text = response.get_data(as_text=True)
        assert response.status_code == 400, (base, query)
        assert message in text, (base, query)
        assert 'data-testid="readiness-row"' not in text
        assert client.get(f"{base}.csv?{query}").status_code == 400


@pytest.mark.parametrize("query", ["within=9", "within=x", "basis=some", "who=nobody"])
def test_bad_bench_options_give_a_message(client, login, admin, org, query):
    login(admin)

    response = client.get(f"/reports/bench?{query}")

    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_a_bad_date_for_the_closest_roles_gives_a_message(client, login, admin, org):
    login(admin)

    response = client.get(f"/reports/people/{org.p1.id}/closest-roles?on=1800-01-01")

    assert response.status_code == 400
    assert "between 1900 and 2100" in response.get_data(as_text=True)


def test_reports_on_a_date_before_any_framework_show_no_figures_but_work(client, login, admin, org):
    login(admin)

    page = client.get("/reports/readiness?on=1990-01-01")

    assert page.status_code == 200
    assert "Nobody in this scope holds a role on this date" in page.get_data(as_text=True)
    assert date(1990, 1, 1).strftime("%d %b %Y") in page.get_data(as_text=True)


def test_the_bench_page_counts_and_marks_people_in_a_more_senior_role(
    client, login, admin, session, org
):
    # LEAD peaks at 4, MGR at 3: p5, ready now for MGR, made a LEAD is cover, not bench.
    assign(org.p5, org.lead, start=date(2025, 3, 1))
    session.commit()
    login(admin)
    overview = client.get(f"/reports/bench?on={ON}").get_data(as_text=True)
    assert "In a more senior role" in overview
    mgr = next(r for r in page_rows(overview, "bench-row") if r["code"] == "MGR")
    assert (mgr["ready_now"], mgr["within_reach"], mgr["senior"]) == ("0", "2", "1")
    keys = [c.key for c in overview_table([], BenchOptions()).columns]
    assert_same(
        page_rows(overview, "bench-row"),
        keys,
        csv_rows(client.get(f"/reports/bench.csv?on={ON}").data)[1:],
    )

    people = page_rows(
        client.get(f"/reports/bench?on={ON}&role={org.mgr.id}").get_data(as_text=True),
        "person-row",
    )
    assert people[0]["person"] == "Max Five"
    assert people[0]["status"] == "Ready now, in a more senior role"
