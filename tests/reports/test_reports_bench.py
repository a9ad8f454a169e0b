"""The reports benchmark's machinery on a small organisation (bench/reports_bench.py): what it
generates is what the product's rule expects, and its hand-written floor, its per-unit
aggregates and the product's heatmap give the same figures, cell by cell."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from app.reports.heatmap import heatmap
from app.reports.maintain import differences, refresh_all
from app.reports.models import LevelSpan, RequirementSpan
from app.reports.scope import ReportScope
from bench import reports_data as data
from bench.reports_bench import (
    AGGREGATE_READ,
    AGGREGATE_TABLES,
    CLUSTERED,
    FLOOR_PEOPLE,
    FLOOR_TABLES,
    FLOOR_UNITS,
    floor_cells,
    heatmap_cells,
    run_script,
)

TODAY = date.today()


@pytest.fixture
def organisation(session):
    data.load_content(session)
    org = data.generate(data.read_content(session), 150, seed=5, today=TODAY)
    data.load(session, org)
    refresh_all(session)
    session.commit()
    return org


def test_the_generated_organisation_looks_like_the_demo(session, organisation):
    org = organisation
    assert len(org.persons) == 150
    assert [code for _id, code, _name in org.directorates] == ["ST", "DT", "OP", "FC", "PC"]
    per_person = len(org.evidence) / len(org.persons)
    assert 10 <= per_person <= 25
    assert any(row[6] for row in org.evidence)  # some evidence expires
    assert session.scalar(select(func.count()).select_from(LevelSpan)) > 0
    assert session.scalar(select(func.count()).select_from(RequirementSpan)) > 0
    # the bulk recompute agrees with the Python rule on everyone
    assert differences(session) == []


def test_the_floor_and_the_aggregates_give_the_heatmaps_figures(session, organisation):
    org = organisation
    dialect = session.get_bind().dialect.name
    run_script(session, FLOOR_TABLES.format(clustered=CLUSTERED[dialect]), on=TODAY)
    run_script(session, AGGREGATE_TABLES, on=TODAY)
    session.commit()
    directorate = org.directorates[0][0]
    for unit_id, base in ((None, org.root_id), (directorate, directorate)):
        product = heatmap_cells(heatmap(session, ReportScope(on=TODAY, unit_id=unit_id), "unit"))
        floor = floor_cells(session.execute(text(FLOOR_UNITS), {"base": base, "on": TODAY}).all())
        assert product and product == floor
        aggregates = {
            (u, code): (required, meeting, short)
            for u, own, code, required, meeting, short in session.execute(
                text(AGGREGATE_READ), {"base": base}
            )
            if not (own == 0 and u == base) and required
        }
        assert aggregates == floor
    team = ReportScope(on=TODAY, unit_id=org.team_id)
    people = heatmap_cells(heatmap(session, team, "people"))
    floor = floor_cells(
        session.execute(text(FLOOR_PEOPLE), {"unit": org.team_id, "on": TODAY}).all()
    )
    assert people and people == floor
