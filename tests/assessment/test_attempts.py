"""The attempt engine (app.assessment.attempts): starting and its refusals, drawing items by
section, keeping the item versions drawn, saving answers against stale tabs and the clock,
submitting once, scoring, certifying, completing the linked module, and closing attempts
whose time is up."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.assessment import attempts as engine
from app.assessment.attempt_queries import shown_items
from app.assessment.banks import write_bank_version
from app.assessment.content import bank_from_data
from app.assessment.models import (
    AssessmentStatus,
    Attempt,
    AttemptItem,
    AttemptStatus,
    DrawUnit,
    ItemVersion,
)
from app.capability.models import Evidence
from app.errors import DomainError
from app.extensions import db
from app.framework.models import Source
from app.learning import enrolment as enrolling
from app.learning.models import ModuleCompletion, ModuleType
from tests.assessment.attempt_factories import (
    bank_data,
    content_of_item,
    load_framework_files,
    make_assessment,
    make_bank,
    wrong_answer,
)
from tests.factories import make_person, make_user
from tests.learning.factories import M, make_path

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    load_framework_files(session)
    bank, content, markers = make_bank()
    learner = make_person("Lee", "Learner")
    make_user(Permission.LEARNER, person=learner)
    return bank, content, learner


def rows(attempt) -> list[AttemptItem]:
    return list(
        db.session.scalars(
            select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt.id)
            .order_by(AttemptItem.position)
        )
    )


def start(assessment, person, now=NOW, seed=1):
    return engine.start(
        db.session, assessment=assessment, person_id=person.id, now=now, rng=random.Random(seed)
    )


def answer_all(attempt, *, right: bool = True, now=NOW, only=None):
    """Save an answer to every item (the key, or a wrong one)."""
    for row in rows(attempt):
        if only is not None and not only(row):
            continue
        item = content_of_item(row)
        engine.save_answer(
            db.session,
            attempt=attempt,
            item_id=row.id,
            answer=item.key() if right else wrong_answer(item),
            revision=row.revision,
            now=now,
        )


def attempts_of(person) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.person_id == person.id)
    )


# --- start ----------------------------------------------------------------------------------------


def test_a_start_draws_every_item_with_its_exact_version_and_fixes_the_deadline(session, world):
    bank, content, learner = world
    assessment = make_assessment(bank)
    started = start(assessment, learner)
    attempt = started.attempt
    assert not started.resumed
    assert attempt.number == 1
    assert attempt.status == AttemptStatus.IN_PROGRESS
    assert attempt.started_at == NOW
    assert attempt.deadline == NOW + timedelta(minutes=30)
    assert attempt.pass_percent == 50
    drawn = rows(attempt)
    assert [r.position for r in drawn] == list(range(12))
    codes = {content_of_item(r).id for r in drawn}
    assert codes == {i.id for i in content.items}
    for row in drawn:
        version = db.session.get(ItemVersion, row.item_version_id)
        assert version.item.code == content_of_item(row).id
        assert row.answer is None and row.revision == 0 and row.scored


def test_an_attempt_in_progress_is_resumed_not_doubled(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank)
    first = start(assessment, learner)
    again = start(assessment, learner, now=NOW + timedelta(minutes=5))
    assert again.resumed and again.attempt.id == first.attempt.id
    assert attempts_of(learner) == 1


def test_the_attempt_limit_is_kept(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank, attempt_limit=2)
    for n in range(2):
        attempt = start(assessment, learner, now=NOW + timedelta(hours=n)).attempt
        engine.submit(db.session, attempt=attempt, now=NOW + timedelta(hours=n, minutes=1))
    with pytest.raises(DomainError, match="You have used all 2 attempts"):
        start(assessment, learner, now=NOW + timedelta(hours=5))
    assert attempts_of(learner) == 2


def test_the_wait_between_attempts_names_the_time_one_may_start_again(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank, wait_minutes=24 * 60)
    attempt = start(assessment, learner).attempt
    engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=10))
    with pytest.raises(engine.NotYet) as refused:
        start(assessment, learner, now=NOW + timedelta(hours=23))
    assert refused.value.until == NOW + timedelta(minutes=10, hours=24)
    assert "09:10 UTC on 2 Dec 2026" in refused.value.message
    assert "24 hours between attempts" in refused.value.message
    later = start(assessment, learner, now=NOW + timedelta(hours=24, minutes=10))
    assert later.attempt.number == 2


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"status": AssessmentStatus.DRAFT}, "is not open for attempts"),
        ({"status": AssessmentStatus.RETIRED}, "is not open for attempts"),
        ({"opens_at": NOW + timedelta(days=1)}, "opens at 09:00 UTC on 2 Dec 2026"),
        (
            {"opens_at": NOW - timedelta(days=2), "closes_at": NOW - timedelta(days=1)},
            "closed at",
        ),
    ],
)
def test_an_assessment_that_is_not_open_refuses_a_start(session, world, settings, message):
    bank, _content, learner = world
    assessment = make_assessment(bank, **settings)
    with pytest.raises(DomainError, match=message):
        start(assessment, learner)
    assert attempts_of(learner) == 0


def test_an_attempt_never_runs_past_the_assessments_closing(session, world):
    bank, _content, learner = world
    closes = NOW + timedelta(minutes=10)
    assessment = make_assessment(bank, closes_at=closes, time_limit_minutes=30)
    assert start(assessment, learner).attempt.deadline == closes
    untimed = make_assessment(bank, time_limit_minutes=None)
    assert start(untimed, learner).attempt.deadline is None


# --- drawing --------------------------------------------------------------------------------------


def test_sections_draw_by_topic_and_competency_without_drawing_an_item_twice(session, world):
    bank, _content, learner = world
    assessment = make_assessment(
        bank,
        sections=[
            {"count": 4, "topics": ["A"], "unscored": 1},
            {"count": 2, "competencies": ["GOV-05"]},  # the two singles left on GOV-05
            {"count": 6, "topics": ["B"]},
        ],
    )
    drawn = rows(start(assessment, learner).attempt)
    by_section = {}
    for row in drawn:
        by_section.setdefault(row.section, []).append(content_of_item(row))
    assert {i.topic for i in by_section[0]} == {"A"}
    assert {i.competency for i in by_section[1]} == {"GOV-05"}
    assert {i.topic for i in by_section[2]} == {"B"}
    assert len({r.item_version_id for r in drawn}) == len(drawn) == 12
    assert sum(1 for r in drawn if not r.scored) == 1
    assert all(r.scored for r in drawn if r.section != 0)


def test_a_section_with_too_few_items_refuses_the_start(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank, sections=[{"count": 7, "topics": ["A"]}])
    with pytest.raises(DomainError, match="draws 7 items but its bank TB has 6 that fit"):
        start(assessment, learner)
    assert attempts_of(learner) == 0


def test_a_scenario_section_draws_whole_scenarios_with_their_items(session, world):
    bank, content, learner = world
    assessment = make_assessment(
        bank, sections=[{"count": 1, "unit": DrawUnit.SCENARIO}, {"count": 2, "topics": ["A"]}]
    )
    drawn = rows(start(assessment, learner, seed=3).attempt)
    scenario_items = [content_of_item(r) for r in drawn if r.section == 0]
    cases = {s.id: [i.id for i in s.items] for s in content.scenarios}
    assert [i.id for i in scenario_items] in list(cases.values())  # one whole case, in order
    versions = {db.session.get(ItemVersion, r.item_version_id) for r in drawn if r.section == 0}
    assert len({v.scenario_version_id for v in versions}) == 1
    assert len([r for r in drawn if r.section == 1]) == 2


def test_item_sections_never_draw_a_scenarios_items_alone(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank, sections=[{"count": 3, "topics": ["C"]}])
    with pytest.raises(DomainError, match="has 0 that fit"):
        start(assessment, learner)


def test_shuffling_changes_the_order_but_not_the_items(session, world):
    bank, content, _learner = world
    plain = make_assessment(bank)
    shuffled = make_assessment(bank, shuffle_items=True, shuffle_options=True)
    people = [make_person(f"P{n}") for n in range(2)]
    a = rows(start(plain, people[0]).attempt)
    b = rows(start(shuffled, people[1], seed=7).attempt)
    order_a = [content_of_item(r).id for r in a]
    order_b = [content_of_item(r).id for r in b]
    assert order_a == [i.id for i in content.items]  # the bank's order
    assert sorted(order_a) == sorted(order_b) and order_a != order_b
    singles = [r for r in b if content_of_item(r).type == "single"]
    assert any(r.presentation != [0, 1, 2, 3] for r in singles)
    assert all(sorted(r.presentation) == [0, 1, 2, 3] for r in singles)
    assert all(r.presentation == [0, 1, 2, 3] for r in a if content_of_item(r).type == "single")


@pytest.mark.parametrize("seed", range(30))
def test_sequencing_steps_and_matching_responses_are_never_shown_in_the_keys_order(
    session, world, seed
):
    bank, _content, learner = world
    assessment = make_assessment(bank, shuffle_options=False)
    for row in rows(start(assessment, learner, seed=seed).attempt):
        item = content_of_item(row)
        if item.type == "sequencing":
            assert sorted(row.presentation) == [0, 1, 2, 3]
            assert row.presentation != [0, 1, 2, 3]
        if item.type == "matching":
            assert sorted(row.presentation) == ["R1", "R2", "R3", "R4"]
            assert row.presentation[:3] != ["R1", "R2", "R3"]


# --- the item versions an attempt was given ------------------------------------------------------


def test_an_attempt_keeps_the_item_versions_it_was_given_when_the_bank_changes(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank)
    attempt = start(assessment, learner).attempt
    before = {r.id: r.item_version_id for r in rows(attempt)}
    data, _markers = bank_data("TB")
    data["items"][0]["stem"] = "A reworded stem, published after the attempt began."
    data["items"][0]["options"][0]["correct"] = False
    data["items"][0]["options"][1]["correct"] = True
    write_bank_version(db.session, bank_from_data(data), publish=True)
    db.session.expire_all()

    assert {r.id: r.item_version_id for r in rows(attempt)} == before
    shown = shown_items(db.session, attempt, None)
    assert "reworded" not in " ".join(str(i.stem) for i in shown)
    answer_all(attempt, right=True)  # the key of the version given
    finished = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=5))
    assert finished.attempt.marks == finished.attempt.max_marks == 12

    other = make_person("Nia", "Newcomer")
    fresh = rows(start(assessment, other).attempt)
    changed = {content_of_item(r).id: r.item_version_id for r in fresh}["TB-S01"]
    assert changed not in before.values()
    assert "reworded" in db.session.get(ItemVersion, changed).content["stem"]


# --- saving answers ------------------------------------------------------------------------------


def test_an_answer_is_saved_and_its_revision_moves_on(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    row = rows(attempt)[0]
    saved = engine.save_answer(
        db.session, attempt=attempt, item_id=row.id, answer=2, revision=0, now=NOW
    )
    assert saved.revision == 1
    db.session.refresh(row)
    assert (row.answer, row.revision, row.answered_at) == (2, 1, NOW)


def test_a_stale_tab_cannot_overwrite_a_newer_answer(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    row = rows(attempt)[0]
    # tab A and tab B both loaded the page at revision 0; B saves first
    engine.save_answer(db.session, attempt=attempt, item_id=row.id, answer=1, revision=0, now=NOW)
    with pytest.raises(engine.StaleAnswer) as stale:
        engine.save_answer(
            db.session, attempt=attempt, item_id=row.id, answer=3, revision=0, now=NOW
        )
    assert stale.value.current == 1 and stale.value.revision == 1
    assert "changed in another window or tab" in stale.value.message
    db.session.refresh(row)
    assert (row.answer, row.revision) == (1, 1)


def test_the_same_answer_sent_again_from_an_old_revision_is_not_a_conflict(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    row = rows(attempt)[0]
    # the page's script and its Save button both send answer 1 based on revision 0
    engine.save_answer(db.session, attempt=attempt, item_id=row.id, answer=1, revision=0, now=NOW)
    later = NOW + timedelta(seconds=5)
    again = engine.save_answer(
        db.session, attempt=attempt, item_id=row.id, answer=1, revision=0, now=later
    )
    assert again.revision == 1
    db.session.refresh(row)
    assert (row.answer, row.revision, row.answered_at) == (1, 1, NOW)


def test_a_page_save_keeps_the_newer_answers_and_saves_the_rest(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    first, second = rows(attempt)[:2]
    engine.save_answer(db.session, attempt=attempt, item_id=first.id, answer=1, revision=0, now=NOW)
    result = engine.save_answers(
        db.session,
        attempt=attempt,
        answers=[
            engine.Answer(first.id, 3, 0, field="a1"),  # stale
            engine.Answer(second.id, 2, 0, field="a2"),
        ],
        now=NOW,
    )
    assert [s.field for s in result.stale] == ["a1"]
    assert [s.item_id for s in result.saved] == [second.id]
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.answer, second.answer) == (1, 2)


@pytest.mark.parametrize(
    "kind, answer, message",
    [
        ("single", 7, "Choose one of the options."),
        ("multiple", [0, 1, 2], "Choose at most 2 options."),
        ("true-false", "yes", "Answer true or false."),
        ("matching", {"P1": "R9"}, "Match each premise to one of the responses."),
        ("sequencing", [0, 1, 1, 2], "Put every step in order, each once."),
        ("assertion-reason", "F", "Choose one of the options A to E."),
    ],
)
def test_an_answer_that_does_not_fit_its_item_is_refused(session, world, kind, answer, message):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    row = next(r for r in rows(attempt) if content_of_item(r).type == kind)
    with pytest.raises(DomainError, match=message.replace("(", r"\(")):
        engine.save_answer(
            db.session, attempt=attempt, item_id=row.id, answer=answer, revision=0, now=NOW
        )
    db.session.refresh(row)
    assert row.answer is None and row.revision == 0


def test_a_page_with_one_bad_answer_saves_nothing(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    first, second = rows(attempt)[:2]
    with pytest.raises(DomainError, match="Choose one of the options") as refused:
        engine.save_answers(
            db.session,
            attempt=attempt,
            answers=[engine.Answer(first.id, 1, 0, "a1"), engine.Answer(second.id, 9, 0, "a2")],
            now=NOW,
        )
    assert refused.value.field == "a2"
    db.session.refresh(first)
    assert first.answer is None


def test_another_attempts_item_cannot_be_answered(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank)
    mine = start(assessment, learner).attempt
    theirs = start(assessment, make_person("Otto", "Other")).attempt
    with pytest.raises(DomainError, match="not part of this attempt"):
        engine.save_answer(
            db.session, attempt=mine, item_id=rows(theirs)[0].id, answer=0, revision=0, now=NOW
        )


def test_answers_are_taken_until_the_deadline_plus_grace_and_not_after(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank, grace_seconds=60), learner).attempt
    first, second = rows(attempt)[:2]
    deadline = attempt.deadline
    engine.save_answer(
        db.session,
        attempt=attempt,
        item_id=first.id,
        answer=0,
        revision=0,
        now=deadline + timedelta(seconds=60),
    )
    with pytest.raises(engine.AttemptClosed, match="Time is up"):
        engine.save_answer(
            db.session,
            attempt=attempt,
            item_id=second.id,
            answer=0,
            revision=0,
            now=deadline + timedelta(seconds=61),
        )
    db.session.refresh(second)
    assert second.answer is None


def test_a_submitted_attempt_takes_no_more_answers(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=1))
    row = rows(attempt)[0]
    with pytest.raises(engine.AttemptClosed, match="has been submitted"):
        engine.save_answer(
            db.session, attempt=attempt, item_id=row.id, answer=0, revision=0, now=NOW
        )


# --- submitting and scoring ----------------------------------------------------------------------


def test_a_submit_scores_every_item_with_the_content_rules(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank, pass_percent=60), learner).attempt
    answer_all(attempt, right=True, only=lambda r: r.position < 7)
    answer_all(attempt, right=False, only=lambda r: r.position >= 7)
    finished = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=12))
    assert finished.first and not finished.timed_out
    a = finished.attempt
    assert a.status == AttemptStatus.SUBMITTED
    assert a.submitted_at == a.finished_at == NOW + timedelta(minutes=12)
    assert (a.marks, a.max_marks) == (7, 12)
    assert a.passed is False  # 7/12 = 58% < 60%
    assert [r.marks for r in rows(a)] == [1] * 7 + [0] * 5


def test_multiple_response_earns_nothing_for_a_partly_right_choice(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    row = next(r for r in rows(attempt) if content_of_item(r).type == "multiple")
    engine.save_answer(db.session, attempt=attempt, item_id=row.id, answer=[0], revision=0, now=NOW)
    engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=1))
    db.session.refresh(row)
    assert row.marks == 0


def test_unscored_trial_items_do_not_count(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank, sections=[{"count": 12, "unscored": 2}])
    attempt = start(assessment, learner).attempt
    answer_all(attempt, right=True)
    finished = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=1))
    assert (finished.attempt.marks, finished.attempt.max_marks) == (10, 10)


def test_a_submit_within_the_grace_is_finished_at_the_deadline(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank, grace_seconds=60), learner).attempt
    late = attempt.deadline + timedelta(seconds=30)
    finished = engine.submit(db.session, attempt=attempt, now=late)
    assert finished.attempt.status == AttemptStatus.SUBMITTED
    assert finished.attempt.finished_at == attempt.deadline
    assert finished.attempt.submitted_at == late


def test_a_second_submit_changes_nothing_and_says_so(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank, certifies={"GOV-05": 2}), learner).attempt
    answer_all(attempt, right=True)
    first = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=3))
    again = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=4))
    assert first.first and not again.first
    assert again.attempt.finished_at == NOW + timedelta(minutes=3)
    assert again.evidence == []
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 1


def test_a_pass_records_evidence_only_where_the_certification_rule_holds(session, world):
    bank, _content, learner = world
    # GOV-05: 6 single items; CTL-01: 6 items of the other types; GOV-01: none drawn
    assessment = make_assessment(bank, certifies={"GOV-05": 2, "CTL-01": 2, "GOV-01": 2})
    attempt = start(assessment, learner).attempt
    answer_all(attempt, right=True, only=lambda r: content_of_item(r).competency == "GOV-05")
    # CTL-01: 3 of 6 right (50% < 60%)
    ctl = [r for r in rows(attempt) if content_of_item(r).competency == "CTL-01"]
    for n, row in enumerate(ctl):
        item = content_of_item(row)
        engine.save_answer(
            db.session,
            attempt=attempt,
            item_id=row.id,
            answer=item.key() if n < 3 else wrong_answer(item),
            revision=0,
            now=NOW,
        )
    finished = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=9))
    assert finished.attempt.passed  # 9 of 12
    assert finished.attempt.certified == {"GOV-05": 2}
    evidence = db.session.scalars(select(Evidence)).all()
    assert [(e.competency_code, e.level, e.source, e.validated) for e in evidence] == [
        ("GOV-05", 2, Source.ASSESSMENT, True)
    ]
    assert evidence[0].person_id == learner.id
    assert evidence[0].achieved_on == date(2026, 12, 1)


def test_too_few_items_on_a_competency_certify_nothing_even_when_all_are_right(session, world):
    bank, _content, learner = world
    assessment = make_assessment(
        bank, sections=[{"count": 4, "topics": ["A"]}], certifies={"GOV-05": 2}
    )
    attempt = start(assessment, learner).attempt
    answer_all(attempt, right=True)
    finished = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=1))
    assert finished.attempt.passed and finished.attempt.certified == {}
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_a_fail_records_nothing(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank, certifies={"GOV-05": 2}), learner).attempt
    answer_all(attempt, right=False)
    finished = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=1))
    assert finished.attempt.passed is False and finished.attempt.certified == {}
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_a_pass_completes_the_learning_module_linked_to_the_assessment(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank, code="TB-PRACTICE")
    version = make_path(M(type=ModuleType.ASSESSMENT, evidences={"GOV-05": 1}))
    version.modules[0].assessment_code = "TB-PRACTICE"
    trainer = make_user(Permission.TRAINER, person=make_person("Tia", "Trainer"))
    enrolling.enrol_person(
        db.session,
        person_id=learner.id,
        path_id=version.path_id,
        due_on=date(2027, 1, 31),
        actor_id=trainer.id,
        today=date(2026, 11, 30),
    )
    attempt = start(assessment, learner).attempt
    answer_all(attempt, right=True)
    finished = engine.submit(db.session, attempt=attempt, now=NOW + timedelta(minutes=1))
    assert [c.completion.module_code for c in finished.completed] == [version.modules[0].code]
    assert db.session.scalar(select(func.count()).select_from(ModuleCompletion)) == 1


# --- the clock: overdue attempts -----------------------------------------------------------------


def test_an_overdue_attempt_is_closed_at_its_deadline_with_the_answers_saved(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank, grace_seconds=60), learner).attempt
    answer_all(attempt, right=True, only=lambda r: r.position < 8)
    deadline = attempt.deadline
    assert engine.close_overdue(db.session, deadline + timedelta(seconds=60)) == []
    closed = engine.close_overdue(db.session, deadline + timedelta(seconds=61))
    assert [c.attempt.id for c in closed] == [attempt.id]
    a = closed[0].attempt
    assert closed[0].timed_out
    assert a.status == AttemptStatus.TIMED_OUT
    assert a.finished_at == deadline and a.submitted_at is None
    assert (a.marks, a.max_marks, a.passed) == (8, 12, True)
    assert engine.close_overdue(db.session, deadline + timedelta(hours=1)) == []


def test_a_submit_after_the_grace_closes_the_attempt_at_the_deadline(session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner).attempt
    finished = engine.submit(db.session, attempt=attempt, now=attempt.deadline + timedelta(hours=2))
    assert finished.timed_out
    assert finished.attempt.status == AttemptStatus.TIMED_OUT
    assert finished.attempt.finished_at == attempt.deadline


def test_a_start_closes_the_overdue_attempt_first_and_counts_it(session, world):
    bank, _content, learner = world
    assessment = make_assessment(bank, attempt_limit=1)
    attempt = start(assessment, learner).attempt
    with pytest.raises(DomainError, match="used all 1 attempt "):
        start(assessment, learner, now=attempt.deadline + timedelta(minutes=5))
    db.session.refresh(attempt)
    assert attempt.status == AttemptStatus.TIMED_OUT


def test_the_close_overdue_command(app, session, world):
    bank, _content, learner = world
    attempt = start(make_assessment(bank), learner, now=datetime.now(UTC) - timedelta(hours=2))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["assessment", "close-overdue"])
    assert result.exit_code == 0, result.output
    assert "Closed 1 overdue attempt" in result.output
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.attempt.id).status == AttemptStatus.TIMED_OUT
    again = app.test_cli_runner().invoke(args=["assessment", "close-overdue"])
    assert "Closed 0 overdue attempts." in again.output
