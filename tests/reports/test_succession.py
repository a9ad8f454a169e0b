"""Bench strength and succession (app/reports/succession.py) on SQLite and PostgreSQL: who
does not hold a role but is ready now or within one level on at most N competencies (on all
competencies or the essential only), target roles as a person's stated aim, the viewer's
scope, and the roles one person is closest to."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.framework.models import Source
from app.org.models import AssignmentKind
from app.reports import succession
from app.reports.scope import ReportScope
from app.reports.succession import BenchOptions
from tests.factories import assign
from tests.reports.factories import record
from tests.reports.test_readiness import EARLY, ON, TODAY, Org, build_org


@pytest.fixture
def org(session) -> Org:
    return build_org(session)


def overview(session, scope, **options) -> dict:
    return {r.code: r for r in succession.bench_overview(session, scope, BenchOptions(**options))}


def names(session, scope, role, **options) -> list[str]:
    return [
        c.name
        for c in succession.bench_candidates(session, scope, BenchOptions(**options), role.id)
    ]


# -- the bench per role ------------------------------------------------------------------------


def test_ready_now_and_within_one_level_per_role(session, org):
    mgr = overview(session, ReportScope(on=ON))["MGR"]

    # p5 meets RISK, PLAN, FIN 3; p1 and p4 are one level short on RISK and FIN; p2 is two
    # short on FIN, p3 two short on RISK; p6 holds the role.
    assert (mgr.holders, mgr.profile_size) == (1, 3)
    assert (mgr.ready_now, mgr.within_reach, mgr.targeting) == (1, 2, 1)


def test_n_bounds_how_many_competencies_may_be_one_level_short(session, org):
    scope = ReportScope(on=ON)

    assert overview(session, scope, within=1)["MGR"].within_reach == 0
    assert overview(session, scope, within=0)["MGR"].ready_now == 1
    assert names(session, scope, org.mgr, within=0) == ["Max Five"]
    with pytest.raises(ValueError):
        BenchOptions(within=6)
    with pytest.raises(ValueError):
        BenchOptions(basis="some")


def test_essential_only_ignores_the_desirable_competencies(session, org):
    scope = ReportScope(on=ON)

    # ANL asks RISK 2 and PLAN 3 (essential) and FIN 2 (desirable). p6 (MGR): RISK 3, PLAN 2,
    # no FIN: two short on FIN counts on "all", not on "essential".
    assert names(session, scope, org.anl, basis="all") == ["Max Five"]
    assert names(session, scope, org.anl, basis="essential") == ["Max Five", "Noa Six"]
    essential = overview(session, scope, basis="essential")["ANL"]
    assert (essential.profile_size, essential.ready_now, essential.within_reach) == (2, 1, 1)


def test_holders_of_the_role_are_never_on_its_bench(session, org):
    # p6 holds MGR; raise them to meet it: still not on its bench.
    for code in ("PLAN", "FIN"):
        record(session, org.p6, code, 3, achieved_on=EARLY, source=Source.MANAGER_RATING)
    session.commit()

    assert "Noa Six" not in names(session, ReportScope(on=ON), org.mgr)


def test_the_bench_is_ranked_and_target_roles_come_first_among_equals(session, org):
    scope = ReportScope(on=ON)
    # Ready now first; then, as short as each other, by name ("Four" before "One").
    assert names(session, scope, org.mgr) == ["Max Five", "Lou Four", "Pat One"]

    assign(org.p1, org.mgr, kind=AssignmentKind.TARGET, start=date(2025, 1, 1))
    session.commit()

    people = succession.bench_candidates(session, scope, BenchOptions(), org.mgr.id)
    assert [(c.name, c.ready, c.targets, c.shortfalls) for c in people] == [
        ("Max Five", True, True, 0),
        ("Pat One", False, True, 2),
        ("Lou Four", False, False, 2),
    ]
    assert [s.text for s in people[1].short] == ["FIN 2→3", "RISK 2→3"]
    assert people[1].current_roles == "PMO Analyst" and people[1].unit == "Team A"


def test_a_target_counts_only_while_it_is_live(session, org):
    assign(
        org.p1,
        org.mgr,
        kind=AssignmentKind.TARGET,
        start=date(2024, 1, 1),
        end=date(2025, 3, 1),
    )
    session.commit()

    people = succession.bench_candidates(session, ReportScope(on=ON), BenchOptions(), org.mgr.id)
    assert {c.name: c.targets for c in people}["Pat One"] is False


def test_only_people_who_target_the_role(session, org):
    scope = ReportScope(on=ON)
    assign(org.p4, org.mgr, kind=AssignmentKind.TARGET, start=date(2025, 1, 1))
    session.commit()

    assert names(session, scope, org.mgr, targets_only=True) == ["Max Five", "Lou Four"]
    mgr = overview(session, scope, targets_only=True)["MGR"]
    assert (mgr.ready_now, mgr.within_reach, mgr.targeting) == (1, 1, 2)


def test_a_manager_never_sees_outsiders_on_the_bench(session, org):
    scope = ReportScope(on=ON, visible=org.team_a_only())

    assert "Lou Four" not in names(session, scope, org.mgr)
    assert overview(session, scope)["MGR"].within_reach == 1  # p1 only
    assert overview(session, scope)["ANL"].holders == 3


def test_the_role_filter_picks_the_role_whose_bench_is_shown(session, org):
    scope = ReportScope(on=ON, role_id=org.mgr.id)

    assert list(overview(session, scope)) == ["MGR"]
    # The candidates are everyone in scope, not the role's holders.
    assert names(session, scope, org.mgr)[0] == "Max Five"


def test_the_unit_filter_narrows_the_candidates(session, org):
    scope = ReportScope(on=ON, unit_id=org.team_b.id)

    assert names(session, scope, org.mgr) == ["Lou Four"]


def test_the_bench_as_at_a_past_date(session, org):
    # On 1 April p4 did not hold ANL yet and had all its levels already: ready now for ANL.
    april = ReportScope(on=date(2025, 4, 1))
    assert "Lou Four" in names(session, april, org.anl)
    assert "Lou Four" not in names(session, ReportScope(on=ON), org.anl)
    # Before any evidence, nobody is ready for anything.
    assert names(session, ReportScope(on=EARLY - timedelta(days=1)), org.mgr) == []


def test_the_page_and_the_count_agree(session, org):
    scope, options = ReportScope(on=ON), BenchOptions()

    total = succession.bench_count(session, scope, options, org.mgr.id)
    rows = session.execute(succession.bench_list(scope, options, org.mgr.id).limit(2)).all()
    page = succession.candidates(session, ON, options, org.mgr.id, rows)

    assert total == 3
    assert [c.name for c in page] == ["Max Five", "Lou Four"]
    table = succession.candidates_table("MGR", page, first_rank=1)
    assert [(r["rank"], r["status"]) for r in table.rows] == [(1, "Ready now"), (2, "Within reach")]


# -- one person: the roles they are closest to ----------------------------------------------------


def test_closest_roles_puts_target_roles_first_then_the_closest(session, org):
    assign(org.p1, org.lead, kind=AssignmentKind.TARGET, start=date(2025, 1, 1))
    session.commit()

    closest = succession.closest_roles(session, org.p1.id, ON)

    assert closest.held == ("PMO Analyst",)
    # p1: RISK 2, PLAN 3, FIN 2. LEAD asks RISK 4 (target); MGR RISK 3, PLAN 3, FIN 3.
    assert [(d.code, d.targets, d.met, d.short_by_one, d.short_by_more) for d in closest.roles] == [
        ("LEAD", True, 0, 0, 1),
        ("MGR", False, 1, 2, 0),
    ]
    lead, mgr = closest.roles
    assert lead.readiness == 0 and mgr.readiness == 33
    assert (mgr.essential_met, mgr.essential_lines) == (1, 3)
    assert [s.text for s in lead.short] == ["RISK 2→4"]
    table = succession.closest_table("E1", closest)
    assert [(r["code"], r["target"], r["readiness"]) for r in table.rows] == [
        ("LEAD", "Target role", 0),
        ("MGR", "", 33),
    ]


def test_closest_roles_leaves_out_the_roles_held_on_the_date(session, org):
    before = succession.closest_roles(session, org.p4.id, date(2025, 4, 1))
    after = succession.closest_roles(session, org.p4.id, ON)

    assert "ANL" in [d.code for d in before.roles] and before.held == ()
    assert "ANL" not in [d.code for d in after.roles] and after.held == ("PMO Analyst",)
    anl = next(d for d in before.roles if d.code == "ANL")
    assert anl.ready and anl.readiness == 100


def test_closest_roles_as_at_last_month_ignores_evidence_added_today(session, org):
    last_month = TODAY - timedelta(days=30)
    before = succession.closest_roles(session, org.p3.id, last_month)

    record(session, org.p3, "RISK", 4, achieved_on=EARLY, recorded_on=TODAY)
    session.commit()

    assert succession.closest_roles(session, org.p3.id, last_month) == before
    assert succession.closest_roles(session, org.p3.id, TODAY) != before


# -- people already in a more senior role --------------------------------------------------------


def test_someone_in_a_more_senior_role_is_counted_apart_and_ranked_last(session, org):
    # LEAD peaks at 4 (RISK 4), MGR and ANL at 3. p5 (3 everywhere) is ready now for MGR;
    # made a LEAD from before ON, they are cover for MGR, not its bench.
    scope = ReportScope(on=ON)
    before = overview(session, scope)["MGR"]
    assert (before.ready_now, before.within_reach, before.senior) == (1, 2, 0)

    assign(org.p5, org.lead, start=date(2025, 3, 1))
    session.commit()

    mgr = overview(session, scope)["MGR"]
    assert (mgr.ready_now, mgr.within_reach, mgr.senior) == (0, 2, 1)
    assert mgr.targeting == 1  # still aims at it: said, among everyone on the bench
    bench = succession.bench_candidates(session, scope, BenchOptions(), org.mgr.id)
    assert [c.name for c in bench] == ["Max Five", "Lou Four", "Pat One"]  # fewest short first
    assert bench[0].status == "Ready now, in a more senior role"
    assert [c.senior for c in bench] == [True, False, False]
    # as at before the appointment they were the bench's ready-now
    earlier = overview(session, ReportScope(on=date(2025, 2, 15)))["MGR"]
    assert earlier.senior == 0
    # ANL peaks at 3 as MGR does: p6 (an MGR) is a peer there, not senior
    anl = {c.name: c for c in succession.bench_candidates(
        session, scope, BenchOptions(within=2), org.anl.id)}  # fmt: skip
    assert anl["Noa Six"].senior is False
    assert anl["Max Five"].senior is True  # a LEAD now


def test_among_equals_the_more_senior_come_after(session, org):
    # p1 and p4 are both one level short on RISK and FIN for MGR; p4 made a LEAD ranks after.
    assign(org.p4, org.lead, start=date(2025, 3, 1))
    session.commit()
    scope = ReportScope(on=ON)
    assert names(session, scope, org.mgr) == ["Max Five", "Pat One", "Lou Four"]
    table = succession.candidates_table(
        "MGR", succession.bench_candidates(session, scope, BenchOptions(), org.mgr.id)
    )
    assert [r["status"] for r in table.rows] == [
        "Ready now",
        "Within reach",
        "Within reach, in a more senior role",
    ]
    row = succession.overview_table(succession.bench_overview(session, scope, BenchOptions()),
                                    BenchOptions()).rows  # fmt: skip
    assert {r["code"]: r["senior"] for r in row}["MGR"] == 1
