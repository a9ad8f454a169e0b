"""Role readiness (app/reports/readiness.py) on SQLite and PostgreSQL: holders on a date,
holders meeting the profile (essential only / all), the competencies most often short and
what closes them, the profile of the framework version in force, two dates compared, and
reports as at a past date that evidence added today never changes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.framework.models import Source
from app.org.models import AssignmentKind, Office, OrgUnit, Person, Role
from app.reports import readiness
from app.reports.scope import ReportScope, profile_at
from tests.factories import assign, make_office, make_person, make_role, make_unit
from tests.learning.factories import M, make_path
from tests.reports.factories import record, small_framework

ON = date(2025, 6, 1)
EARLY = date(2025, 2, 1)
TODAY = datetime.now(UTC).date()
V1_PUBLISHED = datetime(2025, 1, 1, 9, tzinfo=UTC)
PROFILES = {
    # role: {competency: (level, essential)}
    "ANL": {"RISK": (2, True), "PLAN": (3, True), "FIN": (2, False)},
    "MGR": {"RISK": (3, True), "PLAN": (3, True), "FIN": (3, True)},
    "LEAD": {"RISK": (4, True)},
}


@dataclass
class Org:
    """Two teams under one root, a manager heading each.

    Team A: p1 (ANL, meets all), p2 (ANL, meets the essential, FIN 1 of 2), p3 (ANL, RISK 1
    and PLAN 2: short of both essential), p5 (no role; 3 everywhere; targets MGR), p6 (MGR;
    RISK 3, PLAN 2). Team B: p4 (ANL from 1 May 2025, meets all). XTRA has no profile."""

    root: OrgUnit
    team_a: OrgUnit
    team_b: OrgUnit
    boss_a: Person
    boss_b: Person
    p1: Person
    p2: Person
    p3: Person
    p4: Person
    p5: Person
    p6: Person
    anl: Role
    mgr: Role
    lead: Role
    xtra: Role
    office: Office

    def team_a_only(self):
        return select(Person.id).where(Person.org_unit_id == self.team_a.id)


def levels(session, person, **by_code):
    for code, level in by_code.items():
        record(session, person, code, level, achieved_on=EARLY, source=Source.MANAGER_RATING)


def build_org(session) -> Org:
    anl, mgr = make_role("ANL", "PMO Analyst"), make_role("MGR", "PMO Manager")
    lead, xtra = make_role("LEAD", "Head of PMO"), make_role("XTRA", "Extra role")
    small_framework(session, profiles=PROFILES, published_at=V1_PUBLISHED)
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
    p5 = make_person("Max", "Five", unit=team_a, manager=boss_a)
    p6 = make_person("Noa", "Six", unit=team_a, manager=boss_a)
    assign(p1, anl, start=date(2024, 1, 1), office=office)
    assign(p2, anl, start=date(2024, 1, 1))
    assign(p3, anl, start=date(2024, 1, 1))
    assign(p4, anl, start=date(2025, 5, 1))
    assign(p5, mgr, kind=AssignmentKind.TARGET, start=date(2024, 1, 1))
    assign(p5, xtra, start=date(2024, 1, 1))
    assign(p6, mgr, start=date(2024, 1, 1))
    levels(session, p1, RISK=2, PLAN=3, FIN=2)
    levels(session, p2, RISK=2, PLAN=3, FIN=1)
    levels(session, p3, RISK=1, PLAN=2)
    levels(session, p4, RISK=2, PLAN=3, FIN=2)
    levels(session, p5, RISK=3, PLAN=3, FIN=3)
    levels(session, p6, RISK=3, PLAN=2)
    session.commit()
    return Org(
        root, team_a, team_b, boss_a, boss_b, p1, p2, p3, p4, p5, p6, anl, mgr, lead, xtra, office
    )


@pytest.fixture
def org(session) -> Org:
    return build_org(session)


def by_code(rows) -> dict:
    return {r.code: r for r in rows}


# -- the readiness figures ------------------------------------------------------------------


def test_holders_and_ready_counts_per_role(session, org):
    roles = by_code(readiness.role_readiness(session, ReportScope(on=ON)))

    anl = roles["ANL"]
    assert (anl.holders, anl.profile_size, anl.essential_size) == (4, 3, 2)
    assert (anl.ready_essential, anl.ready_all) == (3, 2)
    assert (anl.essential_percent, anl.all_percent) == (75, 50)
    mgr = roles["MGR"]  # p6: PLAN 2 of 3
    assert (mgr.holders, mgr.ready_essential, mgr.ready_all) == (1, 0, 0)
    assert "LEAD" not in roles  # nobody holds it: not listed


def test_a_role_without_a_profile_shows_holders_and_no_figure(session, org):
    xtra = by_code(readiness.role_readiness(session, ReportScope(on=ON)))["XTRA"]

    assert xtra.holders == 1 and xtra.profile_size == 0
    assert xtra.essential_percent is None and xtra.all_percent is None
    row = readiness.readiness_table([xtra]).rows[0]
    assert row["ready_all"] is None and row["no_profile"]


def test_the_competencies_most_often_short_come_first(session, org):
    anl = by_code(readiness.role_readiness(session, ReportScope(on=ON)))["ANL"]

    # FIN: p2 (1 of 2) and p3 (none) short; then the essential ones p3 is short of, by code.
    assert [(s.code, s.short, s.essential) for s in anl.short] == [
        ("FIN", 2, False),
        ("PLAN", 1, True),
        ("RISK", 1, True),
    ]
    assert anl.short[0].lowest == 0 and anl.short[0].required == 2
    assert anl.short[0].name == "Fin"
    top_two = readiness.role_readiness(session, ReportScope(on=ON), top=2)
    assert len(by_code(top_two)["ANL"].short) == 2


def test_each_gap_names_the_modules_that_would_close_it(session, org):
    make_path(M(evidences={"FIN": 2}, title="Budgets in practice"), code="FINP")
    make_path(M(evidences={"RISK": 1}, title="Too low to help"), code="LOW")
    session.commit()

    anl = by_code(readiness.role_readiness(session, ReportScope(on=ON)))["ANL"]
    closers = {s.code: [m.module_title for m in s.closers] for s in anl.short}

    assert closers["FIN"] == ["Budgets in practice"]
    assert closers["RISK"] == []  # p3 is at RISK 1 already: a level 1 module adds nothing
    gaps = readiness.gaps_table([anl])
    assert "Budgets in practice" in gaps.rows[0]["closers"]


def test_scope_counts_only_the_people_the_viewer_sees(session, org):
    scope = ReportScope(on=ON, visible=org.team_a_only())
    anl = by_code(readiness.role_readiness(session, scope))["ANL"]

    assert (anl.holders, anl.ready_essential, anl.ready_all) == (3, 2, 1)


def test_filters_narrow_to_a_unit_an_office_and_a_role(session, org):
    unit = by_code(readiness.role_readiness(session, ReportScope(on=ON, unit_id=org.team_b.id)))
    assert list(unit) == ["ANL"] and unit["ANL"].holders == 1

    office = by_code(readiness.role_readiness(session, ReportScope(on=ON, office_id=org.office.id)))
    assert list(office) == ["ANL"] and office["ANL"].holders == 1  # p1 holds it there

    role = readiness.role_readiness(session, ReportScope(on=ON, role_id=org.mgr.id))
    assert [(r.code, r.holders) for r in role] == [("MGR", 1)]
    # The role filter lists its role even with nobody holding it.
    lead = readiness.role_readiness(session, ReportScope(on=ON, role_id=org.lead.id))
    assert [(r.code, r.holders, r.profile_size, r.essential_percent) for r in lead] == [
        ("LEAD", 0, 1, None)
    ]


def test_a_leaver_is_not_counted_after_leaving(session, org):
    org.p1.active = False
    org.p1.leaving_date = date(2025, 5, 15)
    session.commit()

    may = by_code(readiness.role_readiness(session, ReportScope(on=date(2025, 5, 1))))
    june = by_code(readiness.role_readiness(session, ReportScope(on=ON)))

    assert may["ANL"].holders == 4  # p4 starts on 1 May; p1 is still there
    assert june["ANL"].holders == 3  # p1 left on 15 May


# -- dates: the version in force, as at a past date, two dates compared -------------------------


def test_the_profile_is_the_one_of_the_version_in_force_on_the_date(session, org):
    stricter = {**PROFILES, "ANL": {**PROFILES["ANL"], "PLAN": (4, True)}}
    small_framework(session, profiles=stricter, published_at=datetime(2026, 1, 1, 9, tzinfo=UTC))
    session.commit()

    def plan_level(on):
        prof = profile_at(on)
        return session.scalar(
            select(prof.c.level).where(
                prof.c.role_id == org.anl.id, prof.c.competency_code == "PLAN"
            )
        )

    assert plan_level(date(2024, 6, 1)) == 3  # before any publication: the first version
    assert plan_level(date(2025, 12, 31)) == 3
    assert plan_level(date(2026, 1, 1)) == 4  # published that morning: in force that day
    before = by_code(readiness.role_readiness(session, ReportScope(on=ON)))["ANL"]
    after = by_code(readiness.role_readiness(session, ReportScope(on=date(2026, 6, 1))))["ANL"]
    assert before.ready_essential == 3
    assert after.ready_essential == 0  # nobody has PLAN 4


def test_evidence_added_today_never_changes_the_report_as_at_last_month(session, org):
    last_month = TODAY - timedelta(days=30)
    before = readiness.role_readiness(session, ReportScope(on=last_month))

    # p3 closes both gaps today, with evidence of something achieved long ago.
    for code, level in (("RISK", 2), ("PLAN", 3), ("FIN", 2)):
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

    assert readiness.role_readiness(session, ReportScope(on=last_month)) == before
    now = by_code(readiness.role_readiness(session, ReportScope(on=TODAY)))["ANL"]
    assert (now.ready_essential, now.ready_all) == (4, 3)


def test_two_dates_side_by_side_show_what_moved(session, org):
    april, june = ReportScope(on=date(2025, 4, 1)), ReportScope(on=ON)

    changes = {c.code: c for c in readiness.compare(session, april, june)}

    anl = changes["ANL"]  # p4 joined the role on 1 May, ready on every competency
    assert (anl.value(anl.first, "holders"), anl.value(anl.second, "holders")) == (3, 4)
    assert anl.change("holders") == 1
    assert anl.change("ready_essential") == 1 and anl.change("ready_all") == 1
    table = readiness.change_table(list(changes.values()), april.on, june.on)
    row = next(r for r in table.rows if r["code"] == "ANL")
    assert (row["holders_first"], row["holders_second"], row["holders_change"]) == (3, 4, 1)
    assert [c.label for c in table.columns][2:5] == [
        "Holders 01 Apr 2025",
        "Holders 01 Jun 2025",
        "Holders: change",
    ]


def test_a_role_held_on_one_date_only_is_compared_against_zero(session, org):
    assign(org.p5, org.lead, start=date(2025, 5, 1))
    session.commit()

    changes = {
        c.code: c
        for c in readiness.compare(session, ReportScope(on=date(2025, 4, 1)), ReportScope(on=ON))
    }

    lead = changes["LEAD"]
    assert lead.first is None and lead.change("holders") == 1


# -- the table and the chart ------------------------------------------------------------------


def test_the_table_holds_the_figures_rounded_as_shown(session, org):
    roles = readiness.role_readiness(session, ReportScope(on=ON))
    table = readiness.readiness_table(roles)

    row = next(r for r in table.rows if r["code"] == "ANL")
    assert (row["holders"], row["ready_essential"], row["essential_percent"]) == (4, 3, 75)
    assert (row["ready_all"], row["all_percent"]) == (2, 50)
    assert row["short"].startswith("FIN Fin (2 short)")


def test_the_bars_print_each_figure_and_scale_to_the_share(session, org):
    roles = readiness.role_readiness(session, ReportScope(on=ON))
    bars = readiness.readiness_bars(roles)

    anl = next(r for r in bars.rows if r.code == "ANL")
    assert anl.essential_text == "essential 75% (3 of 4)"
    assert anl.all_text == "all 50% (2 of 4)"
    assert anl.essential_w == round(0.75 * bars.bar_w) and anl.all_w == bars.bar_w // 2
    xtra = next(r for r in bars.rows if r.code == "XTRA")
    assert xtra.essential_w is None and xtra.essential_text == "essential no figure"
    none_held = replace(roles[0], holders=0)
    assert readiness.readiness_bars([none_held]).rows == ()
