"""The demo's assessment attempts: finished attempts on the shipped assessments, marked as
the engine marks them, with realistic score patterns — first-attempt pass rates of 60-75%,
a handful of far too easy items, one item that looks miskeyed — so that the trainer's item
statistics flag something on a fresh install; the demo learner fails once, then passes."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.assessment import statistics as stats
from app.assessment.content import (
    certified_levels,
    competency_scores,
    item_from_data,
    passed,
    score_item,
)
from app.assessment.models import (
    Assessment,
    AssessmentSection,
    AssessmentStatus,
    Attempt,
    AttemptItem,
    AttemptStatus,
    BankFormat,
    BankVersion,
    ItemVersion,
)
from app.capability.models import Evidence
from app.demo import organisation as demo
from app.demo.assessment import MAX_ATTEMPTS, seed_assessment_attempts
from app.framework.models import Source
from app.org.models import Person
from tests.demo.test_demo import demo_password_hash


@pytest.fixture
def built(app, session, monkeypatch):
    """The shipped content loaded (banks and assessment definitions) and the demo
    organisation built at 300 people; the CLI's output."""
    monkeypatch.setattr(demo, "hash_password", lambda password: demo_password_hash())
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["content", "load"])
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(args=["demo", "build", "--people", "300"])
    assert result.exit_code == 0, result.output
    return result.output


def foundation_assessment(session) -> Assessment:
    """The loaded assessment that draws from the foundation-format bank."""
    found = session.scalar(
        select(Assessment)
        .join(AssessmentSection)
        .join(BankVersion, BankVersion.bank_id == AssessmentSection.bank_id)
        .where(
            BankVersion.format == BankFormat.FOUNDATION,
            Assessment.status == AssessmentStatus.PUBLISHED,
        )
        .order_by(Assessment.id)
        .limit(1)
    )
    assert found is not None
    return found


def check_marked_as_the_engine_marks(session, built: str) -> None:
    reported = re.search(r"Assessments: (\d+) finished attempts \((\d+) passed\)", built)
    assert reported, built
    attempts = session.scalars(select(Attempt).order_by(Attempt.id)).all()
    assert len(attempts) == int(reported.group(1))
    assert 100 <= len(attempts) <= MAX_ATTEMPTS
    assert sum(1 for a in attempts if a.passed) == int(reported.group(2))
    assert {a.status for a in attempts} <= {AttemptStatus.SUBMITTED, AttemptStatus.TIMED_OUT}

    rows = session.execute(
        select(AttemptItem, ItemVersion.content, ItemVersion.competency_code).join(
            ItemVersion, ItemVersion.id == AttemptItem.item_version_id
        )
    ).all()
    items = {}
    by_attempt = defaultdict(list)
    for row, content, competency in rows:
        item = items.setdefault(row.item_version_id, item_from_data(content))
        assert (row.marks, row.max_marks) == score_item(item, row.answer)
        by_attempt[row.attempt_id].append((row, competency))
    certifies = {
        a.id: {c.competency_code: c.level for c in a.certifies}
        for a in session.scalars(select(Assessment))
    }
    for attempt in attempts:
        scored = [(c, r.marks, r.max_marks) for r, c in by_attempt[attempt.id] if r.scored]
        assert attempt.marks == sum(m for _, m, _ in scored)
        assert attempt.max_marks == len(scored)
        assert attempt.passed == passed(attempt.marks, attempt.max_marks, attempt.pass_percent)
        expected = certified_levels(
            attempt.passed, certifies[attempt.assessment_id], competency_scores(scored)
        )
        assert attempt.certified == expected
        assert attempt.finished_at is not None and attempt.finished_at > attempt.started_at
        positions = sorted(r.position for r, _ in by_attempt[attempt.id])
        assert positions == list(range(len(positions)))

    recorded = session.scalar(
        select(func.count()).where(
            Evidence.source == Source.ASSESSMENT, Evidence.note.like("Passed %(attempt %")
        )
    )
    assert recorded == sum(len(a.certified) for a in attempts) > 0


def check_patterns_like_real_ones(session) -> None:
    attempts = session.scalars(select(Attempt).order_by(Attempt.id)).all()
    by_assessment = defaultdict(list)
    by_person = defaultdict(list)
    for a in attempts:
        by_assessment[a.assessment_id].append(a)
        by_person[(a.person_id, a.assessment_id)].append(a)
    for rows in by_assessment.values():
        first = [a for a in rows if a.number == 1]
        if len(first) >= 30:
            assert 0.6 <= sum(1 for a in first if a.passed) / len(first) <= 0.75
            assert 0.55 <= sum(1 for a in rows if a.passed) / len(rows) <= 0.8
    practice_tests = {foundation_assessment(session).code, "P3OP-PRACTICE"}
    for (_, assessment_id), rows in by_person.items():
        assessment = session.get(Assessment, assessment_id)
        assert [a.number for a in rows] == list(range(1, len(rows) + 1))
        assert len(rows) <= (assessment.attempt_limit or 3)
        for before, after in zip(rows, rows[1:], strict=False):
            # people sit again only after a fail, or to do better on a practice test
            assert not before.passed or assessment.code in practice_tests
            assert after.started_at >= before.finished_at + timedelta(
                minutes=assessment.wait_minutes
            )
        assert rows[-1].finished_at <= datetime.now(UTC)

    priya = session.scalar(select(User.person_id).join(Person).where(Person.last_name == "Shah"))
    mine = session.scalars(select(Attempt).where(Attempt.person_id == priya)).all()
    assert sorted((a.number, a.passed) for a in mine) == [(1, False), (2, True)]
    assert {a.assessment_id for a in mine} == {foundation_assessment(session).id}


def check_trainer_sees_flags(session, client, login) -> None:
    foundation = foundation_assessment(session)
    result = stats.assessment_statistics(session, foundation.id)
    assert result.attempts >= 80
    easy = [i for i in result.items if stats.TOO_EASY in i.flags]
    assert len(easy) >= 3 and all(i.facility > 0.9 for i in easy)
    miskeyed = [
        i
        for i in result.items
        if stats.MISKEYED in i.flags
        and i.discrimination is not None
        and i.discrimination < -0.2
        and any(a.strong > max(k.strong for k in i.answers if k.key) for a in i.answers)
    ]
    assert miskeyed, [(i.code, i.discrimination, i.flags) for i in result.items if i.flags]

    trainer = session.scalar(select(User).join(Person).where(Person.last_name == "Lindqvist"))
    login(trainer)
    page = client.get(f"/assessments/{foundation.id}/statistics?sort=flag")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Possibly miskeyed" in text and "Too easy" in text
    listed = client.get("/assessments/statistics").get_data(as_text=True)
    assert foundation.title in listed


def test_the_demo_attempts(session, built, client, login):
    """One build (content load and a 300-person demo take some seconds), three checks."""
    check_marked_as_the_engine_marks(session, built)
    check_patterns_like_real_ones(session)
    check_trainer_sees_flags(session, client, login)


def test_no_published_assessment_means_no_attempts(session):
    report = seed_assessment_attempts(
        session, seed=7, now=datetime(2026, 1, 5, tzinfo=UTC), people=300, learner_person_id=None
    )
    assert (report.attempts, report.assessments) == (0, 0)
