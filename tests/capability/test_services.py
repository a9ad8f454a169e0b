"""Capability use-cases on the shipped framework: the profile against a person's roles,
self-assessment, manager validation and calibration (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.capability import profile as capability_page
from app.capability import queries, services
from app.capability.models import (
    CalibrationStatus,
    Decision,
    Evidence,
    RatingStatus,
    ValidationDecision,
)
from app.errors import DomainError
from app.framework.models import Competency, RoleRequirement, Source
from app.framework.versions import published_version
from app.org.models import AssignmentKind, Role
from tests.factories import assign, make_person, make_unit, make_user
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"
TODAY = date(2026, 3, 16)


@pytest.fixture
def version(session):
    """The shipped roles, framework, role profiles and certificates, loaded and committed."""
    load_shipped_content(session)
    session.commit()
    return published_version(session)


def role(session, code: str) -> Role:
    return session.scalar(select(Role).where(Role.code == code))


def profile(session, version, code: str) -> dict[str, int]:
    """{competency code: required level} of a role in the published version."""
    return dict(
        session.execute(
            select(Competency.code, RoleRequirement.level)
            .join(Competency, RoleRequirement.competency_id == Competency.id)
            .join(Role, RoleRequirement.role_id == Role.id)
            .where(RoleRequirement.version_id == version.id, Role.code == code)
        ).all()
    )


def competency(session, version, code: str) -> Competency:
    return session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == code)
    )


def add_evidence(
    session,
    version,
    person,
    code: str,
    source: Source,
    level: int,
    *,
    achieved_on: date = TODAY - timedelta(days=30),
    expires_on: date | None = None,
    validated: bool = True,
    status: RatingStatus | None = None,
) -> Evidence:
    evidence = Evidence(
        person_id=person.id,
        competency_id=competency(session, version, code).id,
        competency_code=code,
        source=source,
        level=level,
        achieved_on=achieved_on,
        expires_on=expires_on,
        validated=validated,
        status=status,
    )
    session.add(evidence)
    session.flush()
    return evidence


def rows_by_code(cap: capability_page.Capability, kind: str = "current", index: int = 0) -> dict:
    tables = [rc for rc in cap.roles if rc.kind == kind]
    return {r.code: r for r in tables[index].rows}


class Team:
    """A manager heading a unit, a learner reporting to them as PMO Co-ordinator (R04)."""

    def __init__(self, session):
        unit = make_unit("Enterprise PMO")
        self.boss = make_person("Dana", "Boss", unit=unit)
        unit.head_id = self.boss.id
        self.boss_user = make_user(Permission.LEARNER, Permission.MANAGER, person=self.boss)
        self.learner = make_person("Lee", "Learner", unit=unit, manager=self.boss)
        self.learner_user = make_user(Permission.LEARNER, person=self.learner)
        assign(self.learner, role(session, "R04"))
        session.commit()


@pytest.fixture
def team(session, version):
    return Team(session)


def self_rate(
    session, team, code: str, level: int, note: str = "Ran it for a year.", link: str | None = None
) -> Evidence:
    return services.record_self_rating(
        session,
        person_id=team.learner.id,
        competency_code=code,
        level=level,
        note=note,
        link=link,
        actor_id=team.learner_user.id,
        on=TODAY,
    )


def decide(
    session, team, rating: Evidence, decision: Decision, level: int | None = None, comment: str = ""
) -> services.DecisionOutcome:
    return services.decide(
        session,
        rating=rating,
        decision=decision,
        level=level,
        comment=comment,
        actor_id=team.boss_user.id,
        actor_person_id=team.boss.id,
        on=TODAY,
    )


def evidence_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Evidence))


# --- certificates ------------------------------------------------------------------------


def test_a_p3o_foundation_certificate_raises_its_competencies_to_2_and_no_higher(
    session, version, team
):
    # Recorded against GOV-05 at a claimed level 3: the catalogue decides what it proves.
    cert = add_evidence(
        session,
        version,
        team.learner,
        "GOV-05",
        Source.EXTERNAL_CERTIFICATE,
        3,
        expires_on=TODAY + timedelta(days=400),
    )
    cert.certificate_code = "P3O-F"
    # A second record claims it proves risk management: it proves nothing there.
    stray = add_evidence(
        session,
        version,
        team.learner,
        "CTL-04",
        Source.EXTERNAL_CERTIFICATE,
        3,
        expires_on=TODAY + timedelta(days=400),
    )
    stray.certificate_code = "P3O-F"
    session.commit()

    cap = capability_page.capability(session, team.learner, TODAY)

    proven = {code: layer.validated for code, layer in cap.layers.items() if layer.validated}
    assert proven == {"GOV-01": 2, "GOV-05": 2}
    rows = {r.code: r for r in cap.roles[0].rows}
    assert rows["GOV-01"].current == 2 and "(P3O-F)" in rows["GOV-01"].basis
    assert rows["CTL-04"].current == 0
    # It lapses on the holder's expiry date, as the catalogue says it expires.
    later = capability_page.capability(session, team.learner, TODAY + timedelta(days=401))
    assert all(layer.validated == 0 for layer in later.layers.values())


# --- the profile ---------------------------------------------------------------------------


def test_profile_lists_every_competency_of_the_role_with_levels_and_gaps_first(
    session, version, team
):
    required = profile(session, version, "R04")
    assert len(required) == 21  # v2 drops R04's level-1 desirable lines
    met_code = next(c for c, lv in sorted(required.items()) if lv == 3)
    part_code = next(c for c, lv in sorted(required.items()) if lv == 3 and c != met_code)
    add_evidence(session, version, team.learner, met_code, Source.MANAGER_RATING, 3)
    add_evidence(session, version, team.learner, part_code, Source.ASSESSMENT, 2)
    session.commit()

    cap = capability_page.capability(session, team.learner, TODAY)

    assert [(rc.code, rc.kind) for rc in cap.roles] == [("R04", "current")]
    rows = cap.roles[0].rows
    assert {r.code: r.required for r in rows} == required
    by_code = {r.code: r for r in rows}
    assert (by_code[met_code].current, by_code[met_code].gap) == (3, 0)
    assert by_code[met_code].basis.startswith("Manager rating")
    assert (by_code[part_code].current, by_code[part_code].gap) == (2, 1)
    for code, level in required.items():
        if code not in (met_code, part_code):
            assert (by_code[code].current, by_code[code].gap) == (0, level)
            assert by_code[code].basis is None
    # gaps first: the biggest gap leads, the met competencies come last
    gaps = [r.gap for r in rows]
    assert gaps == sorted(gaps, reverse=True)
    assert rows[-1].code == met_code
    assert cap.roles[0].met == 1
    assert cap.roles[0].readiness == round(100 / len(required))
    assert [b.code for b in cap.chart] == [c for c, _n, _g in cap.competencies if c in required]


def test_requirement_is_the_highest_of_the_current_roles(session, version, team):
    r04, r10 = profile(session, version, "R04"), profile(session, version, "R10")
    higher_in_r10 = [c for c in r04 if r10.get(c, 0) > r04[c]]
    higher_in_r04 = [c for c in r04 if r04[c] > r10.get(c, 0)]
    assert higher_in_r10 and higher_in_r04, "the shipped profiles should differ both ways"
    assign(team.learner, role(session, "R10"))
    session.commit()

    cap = capability_page.capability(session, team.learner, TODAY)

    assert sorted(rc.code for rc in cap.roles) == ["R04", "R10"]
    assert {rc.kind for rc in cap.roles} == {"current"}
    chart = {b.code: b.required for b in cap.chart}
    expected = {c: max(r04.get(c, 0), r10.get(c, 0)) for c in set(r04) | set(r10)}
    assert chart == expected
    for code in higher_in_r10:
        assert chart[code] == r10[code] > r04[code]
    for code in higher_in_r04:
        assert chart[code] == r04[code]
    # each role's own table keeps that role's level
    tables = {rc.code: {r.code: r.required for r in rc.rows} for rc in cap.roles}
    assert tables == {"R04": r04, "R10": r10}


def test_target_and_compare_roles_are_separate_tables_the_chart_shows_the_target(
    session, version, team
):
    assign(team.learner, role(session, "R02"), kind=AssignmentKind.TARGET)
    # an ended current role counts for nothing
    assign(team.learner, role(session, "R05"), start=date(2020, 1, 1), end=date(2023, 12, 31))
    session.commit()
    compare = role(session, "R06")

    cap = capability_page.capability(session, team.learner, TODAY, compare_role_id=compare.id)

    assert [(rc.code, rc.kind) for rc in cap.roles] == [
        ("R04", "current"),
        ("R02", "target"),
        ("R06", "compare"),
    ]
    for rc in cap.roles:
        assert {r.code: r.required for r in rc.rows} == profile(session, version, rc.code)
    # the chart's requirement is the current role's; the target role's is a second mark
    # (and a competency only the target role asks for has a row with no current requirement);
    # the comparison role is not on the chart
    assert {b.code: b.required for b in cap.chart if b.required} == profile(session, version, "R04")
    target = profile(session, version, "R02")
    assert {b.code: b.target for b in cap.chart if b.target} == {
        code: level for code, level in target.items() if level
    }
    assert {b.code for b in cap.chart} == set(profile(session, version, "R04")) | set(target)

    # comparing with a role the person already holds adds no extra table
    again = capability_page.capability(
        session, team.learner, TODAY, compare_role_id=role(session, "R04").id
    )
    assert [(rc.code, rc.kind) for rc in again.roles] == [("R04", "current"), ("R02", "target")]


def test_no_published_framework_is_a_domain_error(session):
    person = make_person()
    session.commit()
    with pytest.raises(DomainError, match="No competency framework is published"):
        capability_page.capability(session, person, TODAY)


# --- self-assessment -------------------------------------------------------------------------


def test_self_rating_shows_as_self_level_and_pending_never_as_validated(session, version, team):
    code = "CTL-06"
    add_evidence(session, version, team.learner, code, Source.MODULE_COMPLETION, 1)
    rating = self_rate(session, team, code, 4, link="https://intranet.example/change-log")
    session.commit()

    assert rating.source == Source.SELF_RATING
    assert rating.status == RatingStatus.PENDING
    assert rating.validated is False
    assert rating.link == "https://intranet.example/change-log"
    row = rows_by_code(capability_page.capability(session, team.learner, TODAY))[code]
    assert (row.self_level, row.pending_self) == (4, 4)
    assert row.current == 1
    assert row.gap == 3 - 1
    assert row.basis.startswith("Module completed")


def test_a_new_self_rating_withdraws_the_one_still_waiting(session, version, team):
    first = self_rate(session, team, "CTL-06", 2)
    second = self_rate(session, team, "CTL-06", 3)
    session.commit()

    assert first.status == RatingStatus.WITHDRAWN
    assert second.status == RatingStatus.PENDING
    row = rows_by_code(capability_page.capability(session, team.learner, TODAY))["CTL-06"]
    assert (row.self_level, row.pending_self, row.current) == (3, 3, 0)


@pytest.mark.parametrize(
    "code, level, link, field",
    [
        ("NOPE-01", 3, None, "competency"),
        ("CTL-06", 6, None, "level"),
        ("CTL-06", -1, None, "level"),
        ("CTL-06", 3, "javascript:alert(1)", "link"),
        ("CTL-06", 3, "ftp://files.example/x", "link"),
        ("CTL-06", 3, "https://", "link"),
    ],
)
def test_self_rating_refuses_bad_input_and_records_nothing(
    session, version, team, code, level, link, field
):
    with pytest.raises(DomainError) as refused:
        self_rate(session, team, code, level, link=link)
    assert refused.value.field == field
    assert evidence_count(session) == 0


# --- manager validation ----------------------------------------------------------------------


def test_accept_records_a_validated_manager_rating_and_closes_the_gap(session, version, team):
    code = "FIN-01"
    assert profile(session, version, "R04")[code] == 3
    rating = self_rate(session, team, code, 3)
    session.commit()

    outcome = decide(session, team, rating, Decision.ACCEPT)
    session.commit()

    assert outcome.calibration is None
    manager = outcome.evidence
    assert manager.source == Source.MANAGER_RATING
    assert (manager.level, manager.validated) == (3, True)
    assert manager.person_id == team.learner.id
    assert manager.competency_code == code
    assert manager.responds_to_id == rating.id
    assert manager.recorded_by_id == team.boss_user.id
    assert rating.status == RatingStatus.ACCEPTED
    assert rating.validated is False  # the self-rating itself still proves nothing
    row = rows_by_code(capability_page.capability(session, team.learner, TODAY))[code]
    assert (row.current, row.gap, row.manager, row.pending_self) == (3, 0, 3, None)
    assert row.basis.startswith("Manager rating")


def test_a_validation_decision_records_who_and_when(session, version, team):
    rating = self_rate(session, team, "FIN-01", 3)
    session.commit()
    before = datetime.now(UTC)

    decide(session, team, rating, Decision.ACCEPT, comment="  Seen it at the board.  ")
    session.commit()

    record = session.scalars(select(ValidationDecision)).one()
    assert record.evidence_id == rating.id
    assert record.decision == Decision.ACCEPT
    assert record.level == 3
    assert record.comment == "Seen it at the board."
    assert record.decided_by_id == team.boss_user.id
    decided_at = record.decided_at
    if decided_at.tzinfo is None:
        decided_at = decided_at.replace(tzinfo=UTC)
    assert before - timedelta(seconds=5) <= decided_at <= datetime.now(UTC) + timedelta(seconds=5)


def test_adjust_needs_a_comment_and_a_different_level(session, version, team):
    code = "INF-01"
    rating = self_rate(session, team, code, 3)
    session.commit()

    with pytest.raises(DomainError) as no_comment:
        decide(session, team, rating, Decision.ADJUST, level=2, comment="  ")
    assert no_comment.value.field == "comment"
    with pytest.raises(DomainError) as same_level:
        decide(session, team, rating, Decision.ADJUST, level=3, comment="Same, really.")
    assert same_level.value.field == "level"
    with pytest.raises(DomainError) as no_level:
        decide(session, team, rating, Decision.ADJUST, level=None, comment="No level.")
    assert no_level.value.field == "level"
    session.rollback()
    assert rating.status == RatingStatus.PENDING
    assert session.scalar(select(func.count()).select_from(ValidationDecision)) == 0
    assert evidence_count(session) == 1

    outcome = decide(
        session, team, rating, Decision.ADJUST, level=2, comment="Not yet on a full programme."
    )
    session.commit()

    assert outcome.calibration is None  # one level apart: no calibration
    assert (outcome.evidence.source, outcome.evidence.level) == (Source.MANAGER_RATING, 2)
    assert outcome.evidence.note == "Not yet on a full programme."
    assert rating.status == RatingStatus.ADJUSTED
    assert outcome.decision.level == 2
    row = rows_by_code(capability_page.capability(session, team.learner, TODAY))[code]
    assert (row.current, row.gap, row.self_level, row.pending_self) == (2, 1, 3, None)


def test_reject_needs_a_comment_and_records_no_evidence(session, version, team):
    code = "INF-02"
    add_evidence(session, version, team.learner, code, Source.ASSESSMENT, 1)
    rating = self_rate(session, team, code, 3)
    session.commit()

    with pytest.raises(DomainError) as no_comment:
        decide(session, team, rating, Decision.REJECT, comment="")
    assert no_comment.value.field == "comment"
    session.rollback()
    assert rating.status == RatingStatus.PENDING

    outcome = decide(session, team, rating, Decision.REJECT, comment="No example given.")
    session.commit()

    assert outcome.evidence is None and outcome.calibration is None
    assert rating.status == RatingStatus.REJECTED
    assert evidence_count(session) == 2  # the assessment and the self-rating, nothing new
    assert session.scalar(select(Evidence).where(Evidence.source == Source.MANAGER_RATING)) is None
    record = session.scalars(select(ValidationDecision)).one()
    assert (record.decision, record.level, record.comment) == (
        Decision.REJECT,
        None,
        "No example given.",
    )
    row = rows_by_code(capability_page.capability(session, team.learner, TODAY))[code]
    assert (row.current, row.gap, row.pending_self) == (1, 2, None)


def test_two_levels_apart_opens_a_calibration_until_it_is_resolved(session, version, team):
    code = "CTL-04"
    add_evidence(session, version, team.learner, code, Source.MODULE_COMPLETION, 1)
    rating = self_rate(session, team, code, 5)
    session.commit()

    outcome = decide(
        session, team, rating, Decision.ADJUST, level=3, comment="Good, but not yet expert."
    )
    session.commit()

    assert outcome.evidence is None
    calibration = outcome.calibration
    assert calibration.status == CalibrationStatus.OPEN
    assert (calibration.self_level, calibration.manager_level) == (5, 3)
    assert calibration.manager_comment == "Good, but not yet expert."
    assert calibration.opened_by_id == team.boss_user.id
    assert rating.status == RatingStatus.IN_CALIBRATION
    assert session.scalar(select(Evidence).where(Evidence.source == Source.MANAGER_RATING)) is None
    row = rows_by_code(capability_page.capability(session, team.learner, TODAY))[code]
    assert (row.current, row.gap) == (1, 2)  # unchanged while the calibration is open
    scope = None
    assert session.scalars(queries.open_calibrations_query(scope, team.boss.id)).all() == [
        calibration
    ]
    assert session.scalars(queries.pending_ratings_query(scope, team.boss.id)).all() == []

    with pytest.raises(DomainError) as no_rationale:
        services.resolve_calibration(
            session,
            calibration=calibration,
            level=4,
            rationale=" ",
            actor_id=team.boss_user.id,
            actor_person_id=team.boss.id,
            on=TODAY,
        )
    assert no_rationale.value.field == "rationale"
    with pytest.raises(DomainError) as no_level:
        services.resolve_calibration(
            session,
            calibration=calibration,
            level=None,
            rationale="Agreed.",
            actor_id=team.boss_user.id,
            actor_person_id=team.boss.id,
            on=TODAY,
        )
    assert no_level.value.field == "level"
    with pytest.raises(DomainError, match="about yourself"):
        services.resolve_calibration(
            session,
            calibration=calibration,
            level=4,
            rationale="I agree with myself.",
            actor_id=team.learner_user.id,
            actor_person_id=team.learner.id,
            on=TODAY,
        )
    session.rollback()
    assert calibration.status == CalibrationStatus.OPEN
    assert rows_by_code(capability_page.capability(session, team.learner, TODAY))[code].current == 1

    evidence = services.resolve_calibration(
        session,
        calibration=calibration,
        level=4,
        rationale="  Led the portfolio review.  ",
        actor_id=team.boss_user.id,
        actor_person_id=team.boss.id,
        on=TODAY,
    )
    session.commit()

    assert (evidence.source, evidence.level, evidence.validated) == (Source.MANAGER_RATING, 4, True)
    assert calibration.status == CalibrationStatus.RESOLVED
    assert calibration.resolved_level == 4
    assert calibration.rationale == "Led the portfolio review."
    assert calibration.resolved_by_id == team.boss_user.id
    assert calibration.resolved_at is not None
    assert rating.status == RatingStatus.ADJUSTED
    row = rows_by_code(capability_page.capability(session, team.learner, TODAY))[code]
    assert (row.current, row.gap, row.manager) == (4, 0, 4)
    assert session.scalars(queries.open_calibrations_query(None, team.boss.id)).all() == []

    with pytest.raises(DomainError, match="already resolved"):
        services.resolve_calibration(
            session,
            calibration=calibration,
            level=2,
            rationale="Again.",
            actor_id=team.boss_user.id,
            actor_person_id=team.boss.id,
            on=TODAY,
        )


def test_a_calibration_resolved_at_the_self_level_accepts_the_rating(session, version, team):
    rating = self_rate(session, team, "CTL-05", 1)
    session.commit()
    outcome = decide(session, team, rating, Decision.ADJUST, level=3, comment="Better than that.")
    services.resolve_calibration(
        session,
        calibration=outcome.calibration,
        level=1,
        rationale="Agreed after the review.",
        actor_id=team.boss_user.id,
        actor_person_id=team.boss.id,
        on=TODAY,
    )
    session.commit()
    assert rating.status == RatingStatus.ACCEPTED
    assert (
        rows_by_code(capability_page.capability(session, team.learner, TODAY))["CTL-05"].current
        == 1
    )


def test_deciding_twice_fails(session, version, team):
    rating = self_rate(session, team, "FIN-01", 3)
    session.commit()
    decide(session, team, rating, Decision.ACCEPT)
    session.commit()

    for decision, level, comment in [
        (Decision.ACCEPT, None, ""),
        (Decision.ADJUST, 1, "Second thoughts."),
        (Decision.REJECT, None, "Second thoughts."),
    ]:
        with pytest.raises(DomainError, match="already been decided"):
            decide(session, team, rating, decision, level, comment)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ValidationDecision)) == 1
    assert (
        session.scalar(
            select(func.count())
            .select_from(Evidence)
            .where(Evidence.source == Source.MANAGER_RATING)
        )
        == 1
    )


def test_a_withdrawn_rating_cannot_be_decided(session, version, team):
    first = self_rate(session, team, "FIN-01", 2)
    self_rate(session, team, "FIN-01", 3)
    session.commit()
    with pytest.raises(DomainError, match="already been decided"):
        decide(session, team, first, Decision.ACCEPT)


def test_a_manager_cannot_validate_their_own_rating(session, version, team):
    assign(team.boss, role(session, "R02"))
    own = services.record_self_rating(
        session,
        person_id=team.boss.id,
        competency_code="GOV-01",
        level=4,
        note="",
        link=None,
        actor_id=team.boss_user.id,
        on=TODAY,
    )
    session.commit()

    with pytest.raises(DomainError, match="your own rating"):
        services.decide(
            session,
            rating=own,
            decision=Decision.ACCEPT,
            level=None,
            comment="",
            actor_id=team.boss_user.id,
            actor_person_id=team.boss.id,
            on=TODAY,
        )
    session.rollback()
    assert own.status == RatingStatus.PENDING
    assert session.scalar(select(func.count()).select_from(ValidationDecision)) == 0
    # nor does it wait in their own queue
    assert session.scalars(queries.pending_ratings_query(None, team.boss.id)).all() == []


def test_a_non_self_rating_cannot_be_decided(session, version, team):
    evidence = add_evidence(session, version, team.learner, "FIN-01", Source.ASSESSMENT, 2)
    session.commit()
    with pytest.raises(DomainError, match="already been decided"):
        decide(session, team, evidence, Decision.ACCEPT)


# --- the current-level rule on stored evidence ------------------------------------------------


def test_expired_certificate_evidence_is_a_gap(session, version, team):
    expired, live = "INF-04", "CTL-05"
    required = profile(session, version, "R04")
    assert required[expired] == required[live] == 3
    add_evidence(
        session,
        version,
        team.learner,
        expired,
        Source.EXTERNAL_CERTIFICATE,
        3,
        achieved_on=TODAY - timedelta(days=3 * 365),
        expires_on=TODAY - timedelta(days=1),
    )
    add_evidence(
        session,
        version,
        team.learner,
        live,
        Source.EXTERNAL_CERTIFICATE,
        3,
        achieved_on=TODAY - timedelta(days=3 * 365),
        expires_on=TODAY,
    )
    session.commit()

    rows = rows_by_code(capability_page.capability(session, team.learner, TODAY))
    assert (rows[expired].current, rows[expired].gap, rows[expired].basis) == (0, 3, None)
    # valid up to and including its expiry date
    assert (rows[live].current, rows[live].gap) == (3, 0)
    assert "valid to" in rows[live].basis


def test_evidence_above_its_sources_cap_is_capped(session, version, team):
    add_evidence(session, version, team.learner, "CTL-06", Source.MODULE_COMPLETION, 4)
    add_evidence(session, version, team.learner, "CTL-04", Source.EXTERNAL_CERTIFICATE, 5)
    add_evidence(session, version, team.learner, "CTL-05", Source.MANAGER_RATING, 5)
    session.commit()

    rows = rows_by_code(capability_page.capability(session, team.learner, TODAY))
    assert (rows["CTL-06"].current, rows["CTL-06"].other, rows["CTL-06"].gap) == (2, 2, 1)
    assert rows["CTL-04"].current == 3
    assert rows["CTL-05"].current == 5


def test_pending_queue_covers_the_managers_scope_only(session, version, team):
    from app.access import validation_scope

    outsider = make_person("Otto", "Outsider", unit=make_unit("Elsewhere"))
    outsider_user = make_user(Permission.LEARNER, person=outsider)
    mine = self_rate(session, team, "FIN-01", 3)
    theirs = services.record_self_rating(
        session,
        person_id=outsider.id,
        competency_code="FIN-01",
        level=2,
        note="",
        link=None,
        actor_id=outsider_user.id,
        on=TODAY,
    )
    session.commit()

    scoped = queries.pending_ratings_query(validation_scope(team.boss_user), team.boss.id)
    assert session.scalars(scoped).all() == [mine]
    everyone = queries.pending_ratings_query(None, team.boss.id)
    assert set(session.scalars(everyone).all()) == {mine, theirs}


def test_a_single_managers_level_5_waits_for_a_calibration(session, version, team):
    """Level 5 means shaping the organisation's practice: accepting a self-rating of 5 opens
    a calibration, and only its resolution validates level 5; a 4 is validated at once."""
    code = "CTL-04"
    four = self_rate(session, team, code, 4)
    session.commit()
    assert decide(session, team, four, Decision.ACCEPT).evidence.level == 4
    five = self_rate(session, team, "CTL-05", 5)
    session.commit()

    outcome = decide(session, team, five, Decision.ACCEPT)
    session.commit()
    assert outcome.evidence is None
    assert (outcome.calibration.self_level, outcome.calibration.manager_level) == (5, 5)
    assert (
        rows_by_code(capability_page.capability(session, team.learner, TODAY))["CTL-05"].current < 5
    )

    evidence = services.resolve_calibration(
        session,
        calibration=outcome.calibration,
        level=5,
        rationale="The CoE lead confirms they set the office's escalation standard.",
        actor_id=team.boss_user.id,
        actor_person_id=team.boss.id,
        on=TODAY,
    )
    session.commit()
    assert evidence.level == 5
    assert (
        rows_by_code(capability_page.capability(session, team.learner, TODAY))["CTL-05"].current
        == 5
    )
