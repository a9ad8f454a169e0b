"""The capability heatmap's figures (app/reports/heatmap.py) on SQLite and PostgreSQL: rows by
org unit, person, office and role; the three figures a cell can show; the "everyone" row; the
people behind a cell and what their levels rest on; the manager's reach; a report as at a past
date that evidence added today never changes; two dates compared; the version in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.framework.models import Source
from app.org.models import Office, OrgUnit, Person, Role
from app.org.queries import managed_people_ids
from app.reports import heatmap as hm
from app.reports import maintain
from app.reports.scope import ReportScope, population
from tests.factories import assign, make_office, make_person, make_role, make_unit
from tests.reports.factories import record, small_framework

ON = date(2025, 6, 1)
APRIL = date(2025, 4, 1)
EARLY = date(2025, 2, 1)
TODAY = datetime.now(UTC).date()
PROFILES = {
    "ANL": {"RISK": (2, True), "PLAN": (3, True), "FIN": (2, False)},
    "MGR": {"RISK": (3, True), "PLAN": (3, True), "FIN": (3, True)},
}


@dataclass
class Org:
    """Harbourside with two teams, a boss heading each (no role themselves).

    Team A: p1 ANL in the EPO office (meets all), p2 ANL (FIN 1 of 2), p3 ANL (RISK 1, PLAN 2,
    no FIN), p6 MGR in the EPO office (RISK 3, PLAN 2, no FIN), p7 ANL and MGR (RISK 2, PLAN
    3, FIN 2: meets ANL, short of MGR in RISK and FIN). Team B: p4 ANL from 1 May 2025 (meets
    all)."""

    root: OrgUnit
    team_a: OrgUnit
    team_b: OrgUnit
    boss_a: Person
    boss_b: Person
    p1: Person
    p2: Person
    p3: Person
    p4: Person
    p6: Person
    p7: Person
    anl: Role
    mgr: Role
    office: Office


def levels(session, person, on=EARLY, **by_code):
    for code, level in by_code.items():
        record(session, person, code, level, achieved_on=on, source=Source.MANAGER_RATING)


def build_org(session) -> Org:
    anl, mgr = make_role("ANL", "PMO Analyst"), make_role("MGR", "PMO Manager")
    small_framework(session, profiles=PROFILES, published_at=datetime(2025, 1, 1, 9, tzinfo=UTC))
    root = make_unit("Harbourside")
    team_a = make_unit("Team A", parent=root)
    team_b = make_unit("Team B", parent=root)
    boss_a = make_person("Ada", "Boss", unit=team_a)
    boss_b = make_person("Bea", "Boss", unit=team_b)
    team_a.head_id, team_b.head_id = boss_a.id, boss_b.id
    office = make_office("EPO", name="Enterprise PMO")
    p1 = make_person("Pat", "One", unit=team_a, manager=boss_a)
    p2 = make_person("Sam", "Two", unit=team_a, manager=boss_a)
    p3 = make_person("Kim", "Three", unit=team_a, manager=boss_a)
    p4 = make_person("Lou", "Four", unit=team_b, manager=boss_b)
    p6 = make_person("Noa", "Six", unit=team_a, manager=boss_a)
    p7 = make_person("Sky", "Seven", unit=team_a, manager=boss_a)
    start = date(2024, 1, 1)
    assign(p1, anl, start=start, office=office)
    assign(p2, anl, start=start)
    assign(p3, anl, start=start)
    assign(p4, anl, start=date(2025, 5, 1))
    assign(p6, mgr, start=start, office=office)
    assign(p7, anl, start=start)
    assign(p7, mgr, start=start)
    levels(session, p1, RISK=2, PLAN=3, FIN=2)
    levels(session, p2, RISK=2, PLAN=3, FIN=1)
    levels(session, p3, RISK=1, PLAN=2)
    levels(session, p4, RISK=2, PLAN=3, FIN=2)
    levels(session, p6, RISK=3, PLAN=2)
    levels(session, p7, RISK=2, PLAN=3, FIN=2)
    session.commit()
    return Org(root, team_a, team_b, boss_a, boss_b, p1, p2, p3, p4, p6, p7, anl, mgr, office)


@pytest.fixture
def org(session) -> Org:
    return build_org(session)


def rows_by_label(heat: hm.Heatmap) -> dict[str, hm.Row]:
    return {r.label: r for r in heat.rows}


def figures(row: hm.Row, code: str) -> tuple[int, int, int]:
    cell = row.cell(code)
    return cell.required, cell.meeting, cell.shortfall


def team_a_manager(org: Org):
    return managed_people_ids(org.boss_a.id)


# -- the rows and their figures ------------------------------------------------------------------


def test_org_unit_rows_are_the_teams_below_the_top(session, org):
    heat = hm.heatmap(session, ReportScope(on=ON), "unit")

    rows = rows_by_label(heat)
    assert heat.base_unit == "Harbourside"
    assert list(rows) == ["Team A", "Team B"]  # nobody is placed in Harbourside itself
    assert rows["Team A"].people == 6 and rows["Team B"].people == 2
    # (required, meeting, levels short in all): p3 and p7 short in RISK, p3 and p6 in PLAN
    assert figures(rows["Team A"], "RISK") == (5, 3, 2)
    assert figures(rows["Team A"], "PLAN") == (5, 3, 2)
    assert figures(rows["Team A"], "FIN") == (5, 1, 7)
    assert figures(rows["Team B"], "FIN") == (1, 1, 0)
    assert heat.codes == ["RISK", "PLAN", "FIN"]
    assert [g.name for g in heat.groups] == ["Group"]


def test_a_cell_shows_the_share_meeting_the_mean_shortfall_or_the_number_short(session, org):
    team_a = rows_by_label(hm.heatmap(session, ReportScope(on=ON), "unit"))["Team A"]
    fin = team_a.cell("FIN")

    assert fin.figure("meeting") == 20  # 1 of 5, whole per cent
    assert fin.figure("shortfall") == 1.4  # 7 levels over 5 people
    assert fin.figure("short") == 4
    assert team_a.cell("NOPE").figure("meeting") is None  # nobody required: no figure
    assert hm.band(fin, "meeting") == "critical"
    assert hm.band(team_a.cell("RISK"), "meeting") == "weak"  # 60%
    assert hm.band(fin, "shortfall") == "critical"


def test_the_everyone_row_is_the_same_summed_or_counted(session, org):
    scope = ReportScope(on=ON)
    heat = hm.heatmap(session, scope, "unit")  # units split everyone: the rows are summed
    pop = population(scope).subquery()
    counted = hm._total(session, ON, heat.codes, pop, heat.total.people)

    assert heat.total.people == 8
    assert heat.total.cells == counted.cells
    assert figures(heat.total, "FIN") == (6, 2, 7)
    offices = hm.heatmap(session, scope, "office")
    assert offices.total.cells == counted.cells


def test_people_rows_hold_each_persons_level_against_their_highest_requirement(session, org):
    heat = hm.heatmap(session, ReportScope(on=ON, visible=team_a_manager(org)), "people")

    rows = rows_by_label(heat)
    assert list(rows) == [
        "Boss, Ada",
        "One, Pat",
        "Seven, Sky",
        "Six, Noa",
        "Three, Kim",
        "Two, Sam",
    ]
    seven = rows["Seven, Sky"].cell("FIN")  # holds ANL and MGR: MGR's 3 is the requirement
    assert (seven.top_level, seven.top_required, seven.shortfall) == (2, 3, 1)
    assert hm.band(rows["Three, Kim"].cell("RISK"), "meeting", person=True) == "weak"
    assert hm.band(rows["Six, Noa"].cell("FIN"), "meeting", person=True) == "critical"
    assert hm.band(rows["One, Pat"].cell("FIN"), "meeting", person=True) == "strong"
    assert rows["Boss, Ada"].cells == {}  # no role: nothing required
    assert heat.row_count == 6 and heat.pages == 1


def test_people_rows_come_a_page_at_a_time(session, org, monkeypatch):
    monkeypatch.setattr(hm, "PEOPLE_PER_PAGE", 3)
    first = hm.heatmap(session, ReportScope(on=ON), "people")
    last = hm.heatmap(session, ReportScope(on=ON), "people", page=99)

    assert (first.row_count, first.pages, len(first.rows)) == (8, 3, 3)
    assert [r.label for r in first.rows] == ["Boss, Ada", "Boss, Bea", "Four, Lou"]
    assert last.page == 3 and [r.label for r in last.rows] == ["Three, Kim", "Two, Sam"]
    assert first.total.people == 8  # the everyone row counts every page


def test_role_rows_measure_holders_against_the_roles_own_profile(session, org):
    rows = rows_by_label(hm.heatmap(session, ReportScope(on=ON), "role"))

    assert list(rows) == ["PMO Analyst (ANL)", "PMO Manager (MGR)"]
    anl, mgr = rows["PMO Analyst (ANL)"], rows["PMO Manager (MGR)"]
    assert anl.people == 5 and mgr.people == 2
    # p7 meets ANL's FIN 2 though their own (MGR) requirement is 3
    assert figures(anl, "FIN") == (5, 3, 3)
    assert figures(mgr, "FIN") == (2, 0, 4)
    assert figures(mgr, "RISK") == (2, 1, 1)


def test_office_rows_and_the_people_in_no_office(session, org):
    rows = rows_by_label(hm.heatmap(session, ReportScope(on=ON), "office"))

    assert list(rows) == ["Enterprise PMO", "Not in an office"]
    assert rows["Enterprise PMO"].people == 2  # p1 and p6
    assert figures(rows["Enterprise PMO"], "FIN") == (2, 1, 3)
    assert rows["Not in an office"].people == 6


def test_filters_narrow_the_rows(session, org):
    in_b = hm.heatmap(session, ReportScope(on=ON, unit_id=org.team_b.id), "people")
    assert [r.label for r in in_b.rows] == ["Boss, Bea", "Four, Lou"]

    in_office = hm.heatmap(session, ReportScope(on=ON, office_id=org.office.id), "office")
    assert [r.label for r in in_office.rows] == ["Enterprise PMO"]

    mgr_only = hm.heatmap(session, ReportScope(on=ON, role_id=org.mgr.id), "role")
    assert [r.label for r in mgr_only.rows] == ["PMO Manager (MGR)"]  # p7's ANL is not a row


def test_a_manager_never_sees_people_outside_their_reach(session, org):
    scope = ReportScope(on=ON, visible=team_a_manager(org))

    people = hm.heatmap(session, scope, "people")
    assert "Four, Lou" not in {r.label for r in people.rows}
    units = hm.heatmap(session, scope, "unit")
    assert [r.label for r in units.rows] == ["Team A (placed directly)"]
    assert units.base_unit == "Team A"  # their tree's top, not the organisation's
    assert units.total.people == 6
    roles = rows_by_label(hm.heatmap(session, scope, "role"))
    assert roles["PMO Analyst (ANL)"].people == 4  # p4 in team B is not counted


def test_the_query_count_does_not_grow_with_the_organisation(session, org, count_queries):
    def statements(kind: str) -> int:
        with count_queries() as counter:
            hm.heatmap(session, ReportScope(on=ON), kind)
        return counter.count

    small = {kind: statements(kind) for kind in hm.ROW_KINDS}
    rows = [
        {
            "employee_number": f"X{i:04d}",
            "first_name": "Extra",
            "last_name": f"P{i:04d}",
            "org_unit_id": org.team_b.id,
            "active": True,
        }
        for i in range(120)
    ]
    session.execute(insert(Person), rows)
    extra = session.scalars(select(Person.id).where(Person.first_name == "Extra")).all()
    for pid in extra:
        session.add(_assignment(pid, org.anl.id))
    session.commit()
    maintain.refresh_all(session)
    session.commit()

    assert {kind: statements(kind) for kind in hm.ROW_KINDS} == small
    assert rows_by_label(hm.heatmap(session, ReportScope(on=ON), "unit"))["Team B"].people == 122


def _assignment(person_id: int, role_id: int):
    from app.org.models import AssignmentKind, RoleAssignment

    return RoleAssignment(
        person_id=person_id,
        role_id=role_id,
        kind=AssignmentKind.CURRENT,
        start_date=date(2024, 1, 1),
    )


# -- dates ---------------------------------------------------------------------------------------


def test_evidence_added_today_never_changes_the_heatmap_as_at_last_month(session, org):
    last_month = TODAY - timedelta(days=30)
    before = {k: hm.heatmap(session, ReportScope(on=last_month), k) for k in hm.ROW_KINDS}

    # A certificate of last year, recorded only today, and a new manager rating today.
    record(session, org.p3, "FIN", 2, achieved_on=EARLY, recorded_on=TODAY)
    record(session, org.p6, "FIN", 3, achieved_on=TODAY, source=Source.MANAGER_RATING)
    session.commit()

    for kind, heat in before.items():
        again = hm.heatmap(session, ReportScope(on=last_month), kind)
        assert [(r.label, r.cells) for r in again.rows] == [(r.label, r.cells) for r in heat.rows]
        assert again.total == heat.total
    now = rows_by_label(hm.heatmap(session, ReportScope(on=TODAY), "unit"))
    assert figures(now["Team A"], "FIN") == (5, 3, 2)  # p3 and p6 now meet FIN


def test_as_at_april_counts_the_roles_held_then(session, org):
    april = rows_by_label(hm.heatmap(session, ReportScope(on=APRIL), "unit"))

    assert april["Team B"].people == 2
    assert april["Team B"].cells == {}  # p4 became an analyst on 1 May


def test_two_dates_compared_list_what_moved(session, org):
    record(session, org.p3, "RISK", 2, achieved_on=date(2025, 5, 10), source=Source.MANAGER_RATING)
    session.commit()
    now = hm.heatmap(session, ReportScope(on=ON), "unit")
    then = hm.heatmap(session, ReportScope(on=APRIL), "unit")

    moves = hm.moves(now, then, "meeting")
    # p3 reached RISK 2 in May; p4 became an analyst on 1 May (Team B had no figure before)
    assert [(m.row_label, m.code, m.before, m.after, m.change, m.better) for m in moves] == [
        ("Everyone in scope", "RISK", 60, 83, 23, True),
        ("Team A", "RISK", 60, 80, 20, True),
        ("Everyone in scope", "FIN", 20, 33, 13, True),
        ("Everyone in scope", "PLAN", 60, 67, 7, True),
    ]
    table = hm.heatmap_table(now, "meeting", then, APRIL)
    team_a = next(r for r in table.rows if r["label"] == "Team A")
    assert (team_a["RISK"], team_a["RISK:was"], team_a["RISK:change"]) == (80, 60, 20)
    assert team_a["_better:RISK"] is True
    shortfall = hm.moves(now, then, "shortfall")
    assert shortfall[0].change < 0 and shortfall[0].better


def test_the_role_profile_is_the_one_in_force_on_the_date(session, org):
    stricter = {**PROFILES, "ANL": {**PROFILES["ANL"], "PLAN": (4, True)}}
    small_framework(session, profiles=stricter, published_at=datetime(2026, 1, 1, 9, tzinfo=UTC))
    session.commit()

    def anl_plan(on):
        rows = rows_by_label(hm.heatmap(session, ReportScope(on=on), "role"))
        return figures(rows["PMO Analyst (ANL)"], "PLAN")

    assert anl_plan(ON) == (5, 4, 1)
    assert anl_plan(date(2026, 2, 1)) == (5, 0, 6)  # nobody holds PLAN 4
    assert hm.version_in_force(session, ON).number == 1
    assert hm.version_in_force(session, date(2026, 2, 1)).number == 2


def test_without_a_published_framework_there_is_nothing_to_measure(session):
    make_person("Solo", "Person")
    session.commit()

    heat = hm.heatmap(session, ReportScope(on=ON), "unit")
    assert heat.version_label is None and heat.rows == []


# -- the people behind a cell --------------------------------------------------------------------


def test_the_people_behind_a_cell_largest_gap_first_with_what_each_level_rests_on(session, org):
    cell = hm.cell_people(
        session, ReportScope(on=ON), code="FIN", row_kind="unit", row=org.team_a.id
    )

    assert (cell.code, cell.name, cell.row_label) == ("FIN", "Fin", "Team A")
    assert (cell.cell.required, cell.cell.meeting, cell.cell.shortfall) == (5, 1, 7)
    listed = [(p.name, p.level, p.required, p.gap) for p in cell.people]
    assert listed == [
        ("Six, Noa", 0, 3, 3),
        ("Three, Kim", 0, 2, 2),
        ("Seven, Sky", 2, 3, 1),
        ("Two, Sam", 1, 2, 1),
        ("One, Pat", 2, 2, 0),
    ]
    basis = {p.name: p.basis for p in cell.people}
    assert basis["Two, Sam"] == "Manager rating, 01 Feb 2025"
    assert basis["Six, Noa"] is None

    short = hm.cell_people(
        session,
        ReportScope(on=ON),
        code="FIN",
        row_kind="unit",
        row=org.team_a.id,
        short_only=True,
    )
    assert short.total == 4 and "One, Pat" not in {p.name for p in short.people}


def test_a_cell_of_a_role_row_uses_the_roles_own_profile(session, org):
    cell = hm.cell_people(session, ReportScope(on=ON), code="RISK", row_kind="role", row=org.mgr.id)

    assert [(p.name, p.level, p.required, p.gap) for p in cell.people] == [
        ("Seven, Sky", 2, 3, 1),
        ("Six, Noa", 3, 3, 0),
    ]
    assert cell.row_label == "PMO Manager (MGR)"


def test_the_everyone_cell_and_a_persons_cell(session, org):
    everyone = hm.cell_people(session, ReportScope(on=ON), code="RISK", row_kind="all", row=None)
    assert everyone.total == 6

    person = hm.cell_people(
        session, ReportScope(on=ON), code="RISK", row_kind="people", row=org.p3.id
    )
    assert [(p.name, p.level, p.required) for p in person.people] == [("Three, Kim", 1, 2)]


def test_the_basis_is_the_evidence_known_on_the_date(session, org):
    record(session, org.p2, "FIN", 2, achieved_on=EARLY, recorded_on=date(2025, 7, 1))
    session.commit()

    june = hm.cell_people(session, ReportScope(on=ON), code="FIN", row_kind="people", row=org.p2.id)
    july = hm.cell_people(
        session, ReportScope(on=date(2025, 7, 2)), code="FIN", row_kind="people", row=org.p2.id
    )
    assert (june.people[0].level, june.people[0].basis) == (1, "Manager rating, 01 Feb 2025")
    assert (july.people[0].level, july.people[0].basis) == (2, "Assessment passed, 01 Feb 2025")


@pytest.mark.parametrize(
    ("code", "row_kind", "row"),
    [
        ("NOPE", "unit", None),
        ("RISK", "planet", 1),
        ("RISK", "people", None),
        ("RISK", "role", 99999),
    ],
)
def test_an_unknown_cell_is_refused_clearly(session, org, code, row_kind, row):
    with pytest.raises(hm.UnknownCell):
        hm.cell_people(session, ReportScope(on=ON), code=code, row_kind=row_kind, row=row)


def test_a_cell_outside_the_managers_reach_is_refused(session, org):
    scope = ReportScope(on=ON, visible=team_a_manager(org))
    with pytest.raises(hm.UnknownCell):
        hm.cell_people(session, scope, code="RISK", row_kind="people", row=org.p4.id)
    with pytest.raises(hm.UnknownCell):
        hm.cell_people(session, scope, code="RISK", row_kind="unit", row=org.team_b.id)


# -- the table the page shows and the exports write ----------------------------------------------


def test_the_table_holds_figures_for_groups_and_levels_for_people(session, org):
    scope = ReportScope(on=ON, visible=team_a_manager(org))
    table = hm.heatmap_table(hm.heatmap(session, scope, "people"), "meeting")

    keys = [c.key for c in table.columns]
    assert keys[:6] == ["label", "detail", "RISK", "RISK:n", "RISK:level", "RISK:req"]
    everyone, *people = table.rows
    assert everyone["_total"] and everyone["FIN"] == 20 and everyone["FIN:n"] == 5
    assert everyone.get("FIN:level") is None
    two = next(r for r in people if r["label"] == "Two, Sam")
    assert (two["FIN"], two["FIN:n"], two["FIN:level"], two["FIN:req"]) == (None, None, 1, 2)
    boss = next(r for r in people if r["label"] == "Boss, Ada")
    assert boss["FIN:level"] is None and boss["_band:FIN"] is None


def test_the_chart_gives_each_group_its_share_met(session, org):
    heat = hm.heatmap(session, ReportScope(on=ON), "unit")
    chart = hm.group_chart(heat)

    (bar,) = chart.bars
    # RISK 4 of 6, PLAN 4 of 6, FIN 2 of 6 met: 10 of 18
    assert (bar.required, bar.meeting, bar.percent) == (18, 10, 56)
    assert bar.width == round(chart.bar_w * 56 / 100)
