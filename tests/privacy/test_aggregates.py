"""Anonymising leavers keeps every figure: the reports (over the maintained level and
requirement spans), the item statistics and the counts are the same before and after,
today and at a date when the leavers were still there. On the demo organisation."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.accounts.models import Permission, User
from app.accounts.passwords import hash_password
from app.assessment import statistics, statistics_queries
from app.assessment.models import Assessment, Attempt
from app.capability.models import Evidence
from app.demo import organisation as demo
from app.demo.organisation import DEMO_PASSWORD
from app.extensions import Model, db
from app.org.models import Person
from app.org.services import set_person_active
from app.privacy.erasure import anonymise
from app.reports import coverage, heatmap, readiness, succession
from app.reports.scope import ReportScope, population

LEAVERS = 6
#: Emptied for a leaver's closed account by design; every other table keeps its count.
ACCOUNT_SECURITY = {
    "login_sessions",
    "password_tokens",
    "user_permissions",
    "two_factor",
    "recovery_codes",
    "login_throttles",
    "audit_events",
    "audit_chain_head",
}


@functools.cache
def demo_password_hash() -> str:
    return hash_password(DEMO_PASSWORD)


@pytest.fixture
def built(app, session, monkeypatch):
    monkeypatch.setattr(demo, "hash_password", lambda password: demo_password_hash())
    runner = app.test_cli_runner()
    assert runner.invoke(args=["content", "load"]).exit_code == 0
    result = runner.invoke(args=["demo", "build", "--people", "80"])
    assert result.exit_code == 0, result.output


def _leavers() -> list[int]:
    """People with finished attempts and validated evidence who hold no admin account."""
    admins = select(User.person_id).where(User.permission_rows.any(permission=Permission.ADMIN))
    with_attempts = select(Attempt.person_id).where(Attempt.marks.is_not(None))
    with_evidence = select(Evidence.person_id).where(Evidence.validated.is_(True))
    return list(
        db.session.scalars(
            select(Person.id)
            .where(
                Person.id.in_(with_attempts),
                Person.id.in_(with_evidence),
                Person.id.not_in(admins),
            )
            .order_by(Person.id)
            .limit(LEAVERS)
        )
    )


def names(leavers: list[int]) -> dict[str, str]:
    """Each leaver's names as the reports show them -> a token for the leaver: a report
    names its people (a one-person cover, a row's label), and only the names may differ."""
    out = {}
    for person in db.session.scalars(select(Person).where(Person.id.in_(leavers))):
        token = f"<leaver {person.id}>"
        out[person.full_name] = token
        out[f"{person.last_name}, {person.first_name}"] = token
    return out


def _people_rows(scope: ReportScope) -> str:
    """The heatmap's people rows for everyone in the population, by person id: the figures
    of each person's row without their name and job title (the page orders them by name)."""
    ids = sorted(db.session.scalars(population(scope)))
    hm = heatmap.heatmap(db.session, scope, "people", people_ids=ids)
    rows = sorted((r.key, r.people, sorted(r.cells.items())) for r in hm.rows)
    return repr((rows, hm.total.people, sorted(hm.total.cells.items()), hm.row_count))


def figures(on_dates: list[date], leavers: list[int]) -> dict[str, object]:
    """Every figure the reports and the item statistics give, and the tables' counts; the
    leavers' names replaced by a token each."""
    db.session.expire_all()
    tokens = names(leavers)

    def named(value: object) -> str:
        text = repr(value)
        for name, token in tokens.items():
            text = text.replace(f"'{name}'", token)
        return text

    out: dict[str, object] = {}
    for table in Model.metadata.sorted_tables:
        if table.name not in ACCOUNT_SECURITY:
            out[f"count {table.name}"] = db.session.scalar(select(func.count()).select_from(table))
    for name in ("level_spans", "requirement_spans"):
        table = Model.metadata.tables[name]
        out[name] = sorted(tuple(r) for r in db.session.execute(select(table)).all())
    for on in on_dates:
        scope = ReportScope(on=on)
        out[f"heatmap people {on}"] = _people_rows(scope)
        for kind in ("unit", "office", "role"):
            hm = heatmap.heatmap(db.session, scope, kind)
            # rows by key, cells by competency: a row's cells are a dict filled in the order
            # the database returns them, which changes once the people's rows are rewritten
            # (PostgreSQL keeps no physical order); the figures are what must not change
            rows = sorted(
                (r.key, r.label, r.detail, r.people, sorted(r.cells.items())) for r in hm.rows
            )
            total = (hm.total.people, sorted(hm.total.cells.items()))
            out[f"heatmap {kind} {on}"] = named((rows, total, hm.row_count))
        out[f"readiness {on}"] = named(
            sorted(map(repr, readiness.readiness_counts(db.session, scope)))
        )
        out[f"bench {on}"] = named(
            sorted(
                map(repr, succession.bench_overview(db.session, scope, succession.BenchOptions()))
            )
        )
        out[f"coverage {on}"] = named(coverage.coverage_report(db.session, scope))
    for assessment_id in db.session.scalars(select(Assessment.id).order_by(Assessment.id)):
        out[f"item statistics {assessment_id}"] = named(
            statistics.assessment_statistics(db.session, assessment_id)
        )
    out["assessments"] = named(statistics.assessment_summaries(db.session))
    out["by competency"] = named(statistics_queries.by_competency(db.session))
    units = [u.id for u in statistics_queries.top_units(db.session)]
    out["by unit"] = named(statistics_queries.by_unit(db.session, units))
    return out


def test_anonymising_leavers_keeps_every_figure(built):
    today = date.today()
    leavers = _leavers()
    assert len(leavers) == LEAVERS
    for person_id in leavers:  # they left a month ago
        person = db.session.get(Person, person_id)
        person.leaving_date = today - timedelta(days=30)
        set_person_active(db.session, person, False)
    db.session.commit()
    dates = [today, today - timedelta(days=200)]
    before = figures(dates, leavers)
    assert before["count attempts"] and before["level_spans"]
    assert any(k.startswith("item statistics") for k in before)

    for person_id in leavers:
        outcome = anonymise(
            db.session,
            person_id=person_id,
            today=today,
            now=datetime.now(UTC),
            salt="salt",
            upload_folder=current_app.config["UPLOAD_FOLDER"],
        )
        assert outcome.changed
    db.session.commit()
    after = figures(dates, leavers)

    assert after.keys() == before.keys()
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [], f"figures changed by anonymising: {changed}"
    assert all(db.session.get(Person, p).full_name.startswith("Former employee #") for p in leavers)
