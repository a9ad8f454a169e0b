"""Assessment's piece: attempts, with each drawn question, the learner's answer and the
result.

An item's key and rationales are the assessment's secret until its feedback policy opens
the review to this learner (``review_open``: never, after submission, or once the
assessment has closed; and never while the learner has another attempt in progress). So
the download holds, for every item, the question and the learner's own answer in words;
the marks per item, the correct answer, the rationales and the feedback only where the
learner may see the review now. Totals per attempt are what the result page shows anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assessment.attempt_queries import review_item, review_open
from app.assessment.content import (
    ASSERTION_REASON,
    ASSERTION_REASON_OPTIONS,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TRUE_FALSE,
    ItemContent,
    item_from_data,
)
from app.assessment.models import Assessment, Attempt, AttemptItem, AttemptStatus, ItemVersion
from app.privacy.registry import Provider, Pseudonym, Row, Rows, Subject, row


def question_text(item: ItemContent) -> str:
    """What the learner was asked, as the item's author wrote it (Markdown)."""
    if item.type == TRUE_FALSE:
        return item.statement
    if item.type == ASSERTION_REASON:
        return f"Assertion: {item.assertion}\nReason: {item.reason}"
    return item.stem


def answer_text(item: ItemContent, answer: object) -> str | None:
    """The learner's answer in words, from nothing but the answer and the texts shown
    (never from the key). None when unanswered."""
    if answer is None:
        return None
    if item.type == SINGLE and isinstance(answer, int) and 0 <= answer < len(item.options):
        return item.options[answer].text
    if item.type == MULTIPLE and isinstance(answer, list):
        return "; ".join(
            item.options[i].text for i in answer if isinstance(i, int) and i < len(item.options)
        )
    if item.type == TRUE_FALSE:
        return "True" if answer is True else "False"
    if item.type == ASSERTION_REASON and isinstance(answer, str):
        return f"{answer}. {ASSERTION_REASON_OPTIONS.get(answer, '')}"
    if item.type == MATCHING and isinstance(answer, Mapping):
        responses = {r.id: r.text for r in item.responses}
        return "; ".join(
            f"{p.text} -> {responses.get(answer[p.id], '')}"
            for p in item.premises
            if p.id in answer
        )
    if item.type == SEQUENCING and isinstance(answer, list):
        return " -> ".join(
            item.steps[i].text for i in answer if isinstance(i, int) and i < len(item.steps)
        )
    return str(answer)


def _review(row_: AttemptItem, item: ItemContent) -> dict[str, object]:
    """The key, rationales and feedback of one item: for an open review only."""
    shown = review_item(row_, item, number=row_.position + 1)
    return {
        "marks": row_.marks,
        "max_marks": row_.max_marks,
        "review": [
            {
                "text": line.text,
                "you_chose": line.chosen,
                "correct": line.correct,
                "your_answer": line.chosen_text,
                "correct_answer": line.correct_text,
                "rationale": line.rationale,
            }
            for line in shown.lines
        ],
        "feedback": item.feedback,
    }


def export(session: Session, subject: Subject, now: datetime) -> dict[str, Rows]:
    attempts = session.execute(
        select(Attempt, Assessment)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Attempt.person_id == subject.person_id)
        .order_by(Attempt.started_at, Attempt.id)
    ).all()
    open_review: dict[int, bool] = {}
    for _attempt, assessment in attempts:
        if assessment.id not in open_review:
            open_review[assessment.id] = review_open(session, assessment, subject.person_id, now)
    items = session.execute(
        select(AttemptItem, ItemVersion.content)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.person_id == subject.person_id)
        .order_by(AttemptItem.attempt_id, AttemptItem.position)
    ).all()
    by_id = {a.id: (a, s) for a, s in attempts}
    answers: Rows = []
    for item_row, content in items:
        attempt, assessment = by_id[item_row.attempt_id]
        item = item_from_data(content)
        answer: Row = row(
            attempt=attempt.id,
            assessment_code=assessment.code,
            question_number=item_row.position + 1,
            scored=item_row.scored,
            question=question_text(item),
            your_answer=answer_text(item, item_row.answer),
            answered_at=item_row.answered_at,
        )
        finished = attempt.status != AttemptStatus.IN_PROGRESS
        if finished and open_review[assessment.id]:
            answer.update(_review(item_row, item))
        answers.append(answer)
    return {
        "attempts": [
            row(
                id=a.id,
                assessment_code=s.code,
                assessment=s.title,
                number=a.number,
                status=a.status,
                started_at=a.started_at,
                deadline=a.deadline,
                submitted_at=a.submitted_at,
                finished_at=a.finished_at,
                pass_percent=a.pass_percent,
                marks=a.marks,
                max_marks=a.max_marks,
                passed=a.passed,
                certified=a.certified,
                review_in_download=a.status != AttemptStatus.IN_PROGRESS and open_review[s.id],
            )
            for a, s in attempts
        ],
        "attempt_answers": answers,
    }


def erase(_session: Session, _subject: Subject, _pseudonym: Pseudonym) -> dict[str, int]:
    """Nothing to remove: an attempt holds choices among the item's own options, no text of
    the learner's, and every attempt and answer stays so that the item statistics (facility,
    discrimination, how often each answer was chosen) are the same afterwards."""
    return {}


PROVIDER = Provider(
    name="assessment",
    owned={"attempts": "person_id", "attempt_items": "attempt_id"},
    actions={
        ("assessments", "created_by_id"): "assessments you built",
        ("bank_versions", "created_by_id"): "question bank versions you drafted",
        ("bank_versions", "published_by_id"): "question bank versions you published",
        ("stimulus_versions", "created_by_id"): "scenario and data pack versions you wrote",
        ("item_versions", "created_by_id"): "question versions you wrote",
    },
    kinds={
        "attempts": "Your assessment attempts and their results",
        "attempt_answers": "Each question of your attempts with your answer; the marks, "
        "correct answers and rationales where the assessment lets you review it",
    },
    export=export,
    erase=erase,
    erasure_text="Attempts and answers stay (they hold no text of the learner's), so item "
    "statistics are unchanged.",
)
