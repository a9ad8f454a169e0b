"""P3O function coverage (app/reports/coverage.py): who covers which function in which office
on a date, single points of failure, the roll-up of spokes into hubs, the needed functions by
kind of office, as-at dates, scope and filters, and the table and chart built from it.

A small organisation on the shipped roles, framework and office functions: a portfolio office
PO, a programme hub HUB reporting into it, and a project office PRJ reporting into HUB.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import literal, select

from app.capability.models import Evidence
from app.content.office_functions import load_office_functions
from app.content.roles import load_roles
from app.framework.models import Competency, Source
from app.framework.versions import published_version
from app.org.models import AssignmentKind, P3Level, Permanence, Role
from app.reports import coverage as cov
from app.reports.scope import ReportScope
from tests.factories import assign, make_office, make_person, make_unit
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"
ON = date(2026, 3, 16)
LAST_MONTH = date(2026, 2, 16)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def load_content(session, functions_path: Path = CURRICULA / "office-functions.yaml") -> None:
    load_shipped_content(session, certificates=False)
    session.commit()
    load_office_functions(session, functions_path)
    session.commit()


def rate(session, person, code: str, level: int, *, on: date = date(2025, 6, 1), recorded=None):
    """A validated manager rating: ``person`` is at ``level`` in ``code`` from ``on``
    (known from ``recorded``, by default long before)."""
    version = published_version(session)
    competency = session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == code)
    )
    session.add(
        Evidence(
            person_id=person.id,
            competency_id=competency.id,
            competency_code=code,
            source=Source.MANAGER_RATING,
            level=level,
            achieved_on=on,
            validated=True,
            recorded_at=recorded or LONG_AGO,
        )
    )
    session.flush()


def role(session, code: str = "R04") -> Role:
    return session.scalar(select(Role).where(Role.code == code))


class Org:
    """PO (portfolio) ← HUB (programme, hub) ← PRJ (project); a unit for each office."""

    def __init__(self, session):
        load_content(session)
        self.session = session
        self.top = make_unit("Harbour")
        self.unit_hub = make_unit("Hub unit", parent=self.top)
        self.unit_prj = make_unit("Project unit", parent=self.top)
        self.po = make_office("PO", name="Portfolio Office", p3_level=P3Level.PORTFOLIO)
        self.hub = make_office(
            "HUB", name="Delivery Hub", p3_level=P3Level.PROGRAMME, hub_id=self.po.id
        )
        self.prj = make_office(
            "PRJ",
            name="Renewal Project Office",
            p3_level=P3Level.PROJECT,
            permanence=Permanence.TEMPORARY,
            hub_id=self.hub.id,
            start_date=date(2025, 1, 1),
            end_date=date(2026, 12, 31),
        )
        coord = role(session)
        # PRJ: two cover risk, one covers planning (both of its competencies), Cal only half
        self.ann = self.member("Ann", "Able", self.prj, self.unit_prj, coord)
        self.bob = self.member("Bob", "Baker", self.prj, self.unit_prj, coord)
        self.cal = self.member("Cal", "Cole", self.prj, self.unit_prj, coord)
        self.dee = self.member("Dee", "Dane", self.prj, self.unit_prj, coord)
        rate(session, self.ann, "CTL-04", 3)
        rate(session, self.bob, "CTL-04", 4)
        rate(session, self.cal, "CTL-01", 3)
        rate(session, self.cal, "CTL-02", 2)
        rate(session, self.dee, "CTL-01", 3)
        rate(session, self.dee, "CTL-02", 4)
        rate(session, self.dee, "CTL-04", 2)  # below the level: does not cover risk
        # HUB: Eve covers risk and tools
        self.eve = self.member("Eve", "Evans", self.hub, self.unit_hub, coord)
        rate(session, self.eve, "CTL-04", 3)
        rate(session, self.eve, "INF-04", 3)
        session.commit()

    def member(self, first, last, office, unit, job, **kwargs):
        person = make_person(first, last, unit=unit)
        assign(person, job, office=office, start=kwargs.get("start", date(2024, 1, 1)))
        return person


@pytest.fixture
def org(session):
    return Org(session)


def report(session, on=ON, **scope) -> cov.CoverageReport:
    return cov.coverage_report(session, ReportScope(on=on, **scope))


def cells(rep: cov.CoverageReport, office_code: str) -> dict[str, cov.Cell]:
    office = next(o for o in rep.offices if o.code == office_code)
    return {c.function.code: c for c in office.cells}


# --- the marks ---------------------------------------------------------------------------------


def test_an_office_s_own_coverage_marks_each_needed_function(session, org):
    prj = cells(report(session), "PRJ")
    assert (prj["RISK"].own.count, prj["RISK"].own.status, prj["RISK"].own.text) == (
        2,
        cov.COVERED,
        "Covered by 2",
    )
    # planning needs CTL-01 and CTL-02 at 3: Dee has both, Cal only one
    assert prj["PLANNING"].own.status == cov.SINGLE
    assert prj["PLANNING"].own.person_id == org.dee.id
    assert prj["PLANNING"].own.text == "Only Dee Dane"
    assert prj["ISSUES"].own.status == cov.NOT_COVERED
    assert prj["ISSUES"].own.text == "Not covered"
    # a project office needs the project list only, and has no spokes
    assert set(prj) == {
        "PLANNING",
        "RISK",
        "ISSUES",
        "CHANGE-CONTROL",
        "FINANCE",
        "REPORTING",
        "INFORMATION",
        "QUALITY",
    }
    assert all(c.rolled is None for c in prj.values())


def test_coverage_rolls_up_from_spokes_to_hub_to_portfolio_office(session, org):
    rep = report(session)
    hub = cells(rep, "HUB")
    # own: only Eve covers risk; rolled up with PRJ: Ann, Bob and Eve
    assert (hub["RISK"].own.text, hub["RISK"].rolled.text) == ("Only Eve Evans", "Covered by 3")
    # planning is covered at the hub only through its spoke
    assert hub["PLANNING"].own.status == cov.NOT_COVERED
    assert hub["PLANNING"].rolled.text == "Only Dee Dane"
    assert hub["PLANNING"].overall.status == cov.SINGLE
    # the portfolio office rolls up through the hub to the project office
    po = cells(rep, "PO")
    assert po["RISK"].own.status == cov.NOT_COVERED
    assert po["RISK"].rolled.count == 3
    assert po["TOOLS"].rolled.text == "Only Eve Evans"
    offices = {o.code: o for o in rep.offices}
    assert (offices["PO"].spokes, offices["HUB"].spokes, offices["PRJ"].spokes) == (2, 1, 0)
    assert [(o.code, o.depth) for o in rep.offices] == [("PO", 0), ("HUB", 1), ("PRJ", 2)]


def test_the_needed_functions_follow_the_kind_of_office(session, org):
    rep = report(session)
    needs = rep.needs
    po, hub = cells(rep, "PO"), cells(rep, "HUB")
    assert set(po) == set(needs["portfolio"]) | set(needs["hub"])
    assert set(hub) == set(needs["programme"]) | set(needs["hub"])
    coe = make_office("COE", name="Centre", p3_level=P3Level.PORTFOLIO, is_coe=True)
    member = make_person("Fay", "Fox")
    assign(member, role(session), office=coe)
    session.commit()
    coe_cells = cells(report(session), "COE")
    # a Centre of Excellence needs its own list instead of its P3 level's
    assert set(coe_cells) == set(needs["centre_of_excellence"])
    assert "PRIORITISATION" not in coe_cells


def test_a_person_in_two_offices_covers_for_both_and_is_counted_once_at_the_hub(session, org):
    assign(org.eve, role(session, "R03"), office=org.prj)
    session.commit()
    rep = report(session)
    assert cells(rep, "PRJ")["RISK"].own.count == 3
    assert cells(rep, "HUB")["RISK"].rolled.count == 3  # Eve once, not twice


def test_members_are_people_with_a_live_current_assignment_who_have_not_left(session, org):
    # Ann's assignment ends before the date; Bob left; Eve only aims at a role in PRJ
    org.ann.assignments[0].end_date = date(2026, 3, 1)
    org.bob.active = False
    org.bob.leaving_date = date(2026, 3, 10)
    assign(org.eve, role(session, "R03"), office=org.prj, kind=AssignmentKind.TARGET)
    session.commit()
    prj = cells(report(session), "PRJ")
    assert prj["RISK"].own.status == cov.NOT_COVERED
    # before those dates both still counted
    assert cells(report(session, on=date(2026, 2, 1)), "PRJ")["RISK"].own.count == 2


def test_an_office_closed_on_the_date_is_not_listed_and_does_not_roll_up(session, org):
    after = report(session, on=date(2027, 1, 15))
    assert [o.code for o in after.offices] == ["PO", "HUB"]
    hub = cells(after, "HUB")
    # with its only spoke closed, HUB is no longer a hub: no roll-up, no hub functions
    assert hub["PLANNING"].own.status == cov.NOT_COVERED and hub["PLANNING"].rolled is None
    assert "TOOLS" not in hub
    assert cells(after, "PO")["RISK"].rolled.text == "Only Eve Evans"
    before_opening = report(session, on=date(2024, 6, 1))
    assert "PRJ" not in [o.code for o in before_opening.offices]


def test_an_office_switched_off_without_an_end_date_is_closed(session, org):
    org.hub.active = False
    org.prj.active = False  # it has an end date: its dates still decide
    session.commit()
    rep = report(session)
    # HUB is gone; PRJ no longer reaches PO through it and is listed on its own
    assert [(o.code, o.depth) for o in rep.offices] == [("PO", 0), ("PRJ", 0)]
    assert all(c.rolled is None for c in cells(rep, "PO").values())


def test_an_empty_office_needs_every_function_and_covers_none(session, org):
    make_office("NEW", name="New Programme Office", p3_level=P3Level.PROGRAMME)
    session.commit()
    new = cells(report(session), "NEW")
    assert new and all(c.own.status == cov.NOT_COVERED for c in new.values())
    assert next(o for o in report(session).offices if o.code == "NEW").members == 0


# --- as at a date ------------------------------------------------------------------------------


def test_evidence_added_today_never_changes_the_report_as_at_last_month(session, org):
    before = cov.coverage_table(report(session, on=LAST_MONTH)).rows
    # today: a validated rating achieved long ago, recorded now, makes Cal cover planning
    rate(
        session,
        org.cal,
        "CTL-02",
        3,
        on=date(2025, 6, 1),
        recorded=datetime(2026, 3, 14, tzinfo=UTC),
    )
    session.commit()
    assert cov.coverage_table(report(session, on=LAST_MONTH)).rows == before
    assert cells(report(session), "PRJ")["PLANNING"].own.count == 2


def test_a_level_reached_after_the_date_does_not_count_then(session, org):
    rate(session, org.cal, "CTL-02", 3, on=date(2026, 3, 1))
    session.commit()
    assert cells(report(session, on=date(2026, 2, 28)), "PRJ")["PLANNING"].own.count == 1
    assert cells(report(session, on=date(2026, 3, 1)), "PRJ")["PLANNING"].own.count == 2


def test_comparing_two_dates_shows_what_moved(session, org):
    rate(session, org.cal, "CTL-02", 3, on=date(2026, 3, 1))
    session.commit()
    rep = cov.coverage_report(session, ReportScope(on=ON), compare=LAST_MONTH)
    moved = {
        (o.code, c.function.code): (c.overall_before.text, c.overall.text) for o, c in rep.moved
    }
    assert moved[("PRJ", "PLANNING")] == ("Only Dee Dane", "Covered by 2")
    assert moved[("HUB", "PLANNING")] == ("Only Dee Dane", "Covered by 2")
    table = cov.coverage_table(rep)
    row = next(
        r for r in table.rows if r["office_code"] == "PRJ" and r["function_code"] == "PLANNING"
    )
    assert (row["before"], row["moved"]) == ("Only Dee Dane", "One person → covered")


# --- scope and filters -----------------------------------------------------------------------


def test_a_viewer_sees_offices_with_their_people_and_only_their_people_s_names(session, org):
    visible = select(literal(org.eve.id))  # just Eve
    rep = report(session, visible=visible)
    # Eve is a member of HUB only: PRJ and PO are not listed
    assert [o.code for o in rep.offices] == ["HUB"]
    hub = cells(rep, "HUB")
    # counts are of the whole office tree; Dee is not in reach, so no name
    assert hub["PLANNING"].rolled.count == 1
    assert hub["PLANNING"].rolled.text == "Only one person (not in your reach)"
    assert hub["TOOLS"].own.text == "Only Eve Evans"


def test_a_unit_filter_lists_offices_with_members_in_the_subtree(session, org):
    rep = report(session, unit_id=org.unit_prj.id)
    assert [o.code for o in rep.offices] == ["PRJ"]
    assert [o.code for o in report(session, unit_id=org.top.id).offices] == ["HUB", "PRJ"]


def test_an_office_filter_lists_the_office_and_those_reporting_into_it(session, org):
    assert [o.code for o in report(session, office_id=org.hub.id).offices] == ["HUB", "PRJ"]
    assert [o.code for o in report(session, office_id=org.prj.id).offices] == ["PRJ"]


def test_a_role_filter_lists_offices_whose_members_hold_the_role(session, org):
    analyst = role(session, "R03")
    assign(org.eve, analyst, office=org.hub)
    session.commit()
    assert [o.code for o in report(session, role_id=analyst.id).offices] == ["HUB"]


# --- in SQL, not per person --------------------------------------------------------------------


def test_the_report_runs_the_same_queries_whatever_the_number_of_people(
    session, org, count_queries
):
    with count_queries() as few:
        report(session)
    for i in range(12):
        person = org.member(f"P{i}", "Extra", org.prj, org.unit_prj, role(session))
        rate(session, person, "CTL-05", 3)
    session.commit()
    with count_queries() as many:
        rep = report(session)
    assert many.count == few.count
    assert cells(rep, "PRJ")["ISSUES"].own.count == 12


def test_the_grouped_counts_give_the_single_person_s_id(session, org):
    counts, rolled = cov.coverage_counts(session, ON, [org.prj.id, org.hub.id], [org.hub.id])
    ids = {f.code: f.id for f in cov.load_functions(session)[0]}
    assert counts[(org.prj.id, ids["PLANNING"])] == (1, org.dee.id)
    assert counts[(org.prj.id, ids["RISK"])][0] == 2
    assert (org.prj.id, ids["ISSUES"]) not in counts
    assert counts[(org.hub.id, ids["RISK"])] == (1, org.eve.id)
    assert rolled[(org.hub.id, ids["RISK"])][0] == 3
    assert rolled[(org.hub.id, ids["PLANNING"])] == (1, org.dee.id)
    assert {office for office, _ in rolled} == {org.hub.id}


# --- the rules come from the content file -----------------------------------------------------


def test_a_trainer_s_edit_to_the_content_changes_what_offices_need(session, org, tmp_path):
    text = (CURRICULA / "office-functions.yaml").read_text(encoding="utf-8")
    text = text.replace("  project:\n", "  project:\n    - TOOLS\n", 1)
    edited = tmp_path / "office-functions.yaml"
    edited.write_text(text, encoding="utf-8")
    load_office_functions(session, edited)
    session.commit()
    prj = cells(report(session), "PRJ")
    assert "TOOLS" in prj and prj["TOOLS"].own.status == cov.NOT_COVERED


def test_with_no_rules_loaded_the_report_says_so(session):
    load_roles(session, CURRICULA / "roles.yaml")
    session.commit()
    rep = report(session)
    assert not rep.loaded


# --- the table and the chart -----------------------------------------------------------------


def test_the_table_has_a_row_per_office_and_needed_function(session, org):
    rep = report(session)
    table = cov.coverage_table(rep)
    assert len(table.rows) == sum(len(o.cells) for o in rep.offices)
    row = next(r for r in table.rows if r["office_code"] == "HUB" and r["function_code"] == "RISK")
    assert row["own"] == "Only Eve Evans" and row["own_count"] == 1
    assert row["rolled"] == "Covered by 3" and row["rolled_count"] == 3
    assert row["competencies"] == "CTL-04" and row["level"] == 3
    prj_row = next(r for r in table.rows if r["office_code"] == "PRJ")
    assert prj_row["rolled"] == "No offices report into it" and prj_row["rolled_count"] is None


def test_the_chart_prints_a_mark_in_every_cell(session, org):
    chart = cov.coverage_chart(report(session))
    assert [r.code for r in chart.rows] == ["PO", "HUB", "PRJ"]
    prj = {c.title.split(": ")[1]: c for c in chart.rows[2].cells}
    assert prj["Planning and scheduling"].mark == "1!"
    assert prj["Issue management"].mark == "×"
    assert prj["Risk management"].mark == "2"
    assert prj["Tools and data"].mark == "·" and prj["Tools and data"].status == ""
    assert all(c.mark for r in chart.rows for c in r.cells)
    assert "not covered" in chart.summary
    assert any("one person only: Planning and scheduling" in line for line in chart.lines)
