"""Decisions that reach the learner, what the queue shows a manager, "adjust" without a
default level, the manager's scope found from the waiting people, and the chart's marks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import render_template
from sqlalchemy import select

from app.capability import profile, queries, services
from app.capability.chart import ChartBar, bar_chart
from app.capability.models import Calibration, Evidence, RatingStatus
from app.extensions import db
from app.org.models import Person
from app.org.queries import managed_people_ids
from tests.capability import test_views
from tests.capability.test_views import (
    csrf_from,
    pending_rating,
    post_decision,
    rate_myself,
    table_row,
)

scene = test_views.scene  # the fixture: a manager, their unit and people, the framework


def reject(client, evidence_id: int, comment: str):
    asked = post_decision(client, evidence_id, decision="reject", comment=comment)
    assert 'data-testid="confirmation"' in asked.text
    return client.post(
        f"/validations/{evidence_id}",
        data={
            "csrf_token": csrf_from(asked.text),
            "confirmed": "1",
            "decision": "reject",
            "comment": comment,
        },
    )


def test_a_rejection_reaches_the_learner_and_is_no_longer_their_self_view(client, login, scene):
    login(scene.learner)
    rate_myself(client, code="INF-01", level=3)
    rating = pending_rating(scene.learner_id, "INF-01")
    login(scene.manager)
    assert reject(client, rating.id, "No example given yet.").status_code == 302

    login(scene.learner)
    page = client.get("/capability").text
    row = table_row(page, "R04", "INF-01")
    assert row.self_cell == "3 · rejected"
    assert 'data-testid="rejected-INF-01"' in page
    assert "was rejected by Dana Boss: “No example given yet.”" in page
    # the chart shows no diamond for a rejected rating
    person = db.session.get(Person, scene.learner_id)
    cap = profile.capability(db.session, person, date.today())
    assert next(b for b in cap.chart if b.code == "INF-01").self_level is None
    notes = profile.recent_decisions(db.session, scene.learner_id)
    assert [(n.competency_code, n.outcome, n.level, n.reason, n.by) for n in notes] == [
        ("INF-01", "rejected", None, "No example given yet.", "Dana Boss")
    ]
    # a later rating is their view again
    rate_myself(client, code="INF-01", level=2)
    row = table_row(client.get("/capability").text, "R04", "INF-01")
    assert row.self_cell == "2 · pending"


def test_adjustments_and_calibration_outcomes_reach_the_learner(client, login, scene):
    login(scene.learner)
    rate_myself(client, code="INF-01", level=3)
    rate_myself(client, code="INF-02", level=4)
    adjusted = pending_rating(scene.learner_id, "INF-01")
    calibrated = pending_rating(scene.learner_id, "INF-02")
    login(scene.manager)
    post_decision(client, adjusted.id, decision="adjust", level="2", comment="Small projects only.")
    post_decision(client, calibrated.id, decision="adjust", level="1", comment="Not yet.")

    login(scene.learner)
    page = client.get("/capability").text
    assert "adjusted from 3 to level 2 — “Small projects only.”" in page
    assert "your manager rates level 1 against your 4; a calibration is open" in page

    calibration = db.session.scalar(select(Calibration))
    services.resolve_calibration(
        db.session,
        calibration=calibration,
        level=2,
        rationale="Agreed after a review of the plan.",
        actor_id=scene.manager.id,
        actor_person_id=scene.manager_id,
        on=date.today(),
    )
    db.session.commit()
    page = client.get("/capability").text
    assert "agreed in calibration at level 2 (your rating: 4)" in page
    assert "Agreed after a review of the plan." in page
    notes = profile.recent_decisions(db.session, scene.learner_id)
    assert notes[0].outcome == "calibrated"
    # ``since`` leaves out what the learner has seen
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert profile.recent_decisions(db.session, scene.learner_id, since=later) == []


def test_the_home_page_notice_partial(app, client, login, scene):
    login(scene.learner)
    rate_myself(client, code="INF-01", level=3)
    rating = pending_rating(scene.learner_id, "INF-01")
    login(scene.manager)
    reject(client, rating.id, "Show me the plan.")
    notes = profile.recent_decisions(db.session, scene.learner_id, since=None)
    html = render_template("capability/_decisions_notice.html", decisions=notes)
    assert 'data-testid="decisions-notice"' in html
    assert "rejected (your rating: level 3) by Dana Boss — “Show me the plan.”" in html
    assert render_template("capability/_decisions_notice.html", decisions=[]).strip() == ""
    login(scene.learner)
    home = client.get("/").text
    assert 'data-testid="decisions-notice"' in home
    assert "Show me the plan." in home


def test_adjust_has_no_default_level(client, login, scene):
    login(scene.learner)
    rate_myself(client, code="INF-01", level=3)
    rating = pending_rating(scene.learner_id, "INF-01")
    login(scene.manager)
    queue = client.get("/validations").text
    select_tag = f'name="level" id="adjust-{rating.id}" required><option value="" selected>'
    assert select_tag in queue
    response = post_decision(client, rating.id, decision="adjust", level="", comment="Lower.")
    assert response.status_code == 302
    assert "Choose the level you rate them at." in client.get("/validations").text
    assert db.session.get(Evidence, rating.id).status == RatingStatus.PENDING
    assert db.session.scalar(select(Calibration)) is None


def test_the_queue_shows_validated_level_requirement_and_evidence(client, login, scene):
    login(scene.learner)
    rate_myself(
        client, code="FIN-01", level=3, note="Ran the Q3 budget.", link="https://example.org/q3"
    )
    login(scene.manager)
    queue = client.get("/validations").text
    assert "Validated now: <strong>0</strong>" in queue
    assert "(PMO Co-ordinator) requires: <strong>3</strong>" in queue
    assert 'Their evidence: <span class="text-muted">“Ran the Q3 budget.”</span>' in queue
    assert 'href="https://example.org/q3"' in queue


def test_my_self_ratings_are_newest_first(client, login, scene):
    today = date.today()
    for days, code in ((30, "INF-01"), (2, "INF-02"), (10, "FIN-01")):
        services.record_self_rating(
            db.session,
            person_id=scene.learner_id,
            competency_code=code,
            level=2,
            note="",
            link=None,
            actor_id=scene.learner.id,
            on=today - timedelta(days=days),
        )
    db.session.commit()
    login(scene.learner)
    page = client.get("/capability").text
    listed = page[page.index('data-testid="my-ratings"') :]
    positions = [
        listed.index(f"<strong>{code}</strong>") for code in ("INF-02", "FIN-01", "INF-01")
    ]
    assert positions == sorted(positions)


def test_reach_among_is_the_managers_scope(session, scene):
    extra = Person(
        first_name="Rae",
        last_name="Report",
        email="rae@example.org",
        employee_number="E-rae",
        line_manager_id=scene.outsider_id,
    )
    session.add(extra)
    session.commit()
    everyone = select(Person.id)
    for manager_id in (scene.manager_id, scene.outsider_id, scene.learner_id):
        expected = set(session.scalars(managed_people_ids(manager_id)))
        found = set(session.scalars(queries.reach_among(manager_id, everyone)))
        assert found == expected


def test_the_chart_names_each_row_and_marks_the_target():
    chart = bar_chart(
        [
            ChartBar("FIN-01", "Financial management", 3, 1, 2, 4),
            ChartBar(
                "GOV-01",
                "A very long competency name that would not fit on the line",
                2,
                2,
                None,
                None,
            ),
        ]
    )
    first, second = chart.rows
    assert first.label == "FIN-01 Financial management"
    assert first.target_x is not None and first.target_gap == 3
    assert first.summary == "1 of 3 · target 4 · self 2"
    assert second.label.endswith("…") and len(second.label) <= 54
    assert second.target_x is None
    assert chart.has_target


def test_the_queue_heading_fits_an_admin_who_manages_nobody(client, login):
    from app.accounts.models import Permission
    from tests.factories import make_user

    login(make_user(Permission.ADMIN))
    page = client.get("/validations").text
    assert "from across the organisation" in page
    assert "your people" not in page
