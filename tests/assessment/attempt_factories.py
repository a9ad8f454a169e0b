"""Factories for the attempt tests: a small bank of every item type (with a scenario and a
data pack) whose every rationale, feedback and note carries a unique marker string, a
published assessment drawing from it, and helpers to answer an item through the page.

They flush, never commit (like tests/factories.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

from app.assessment.attempt_queries import ShownItem, display_answer
from app.assessment.banks import write_bank_version
from app.assessment.content import BankContent, ItemContent, bank_from_data, item_from_data
from app.assessment.models import (
    Assessment,
    AssessmentCertification,
    AssessmentSection,
    AssessmentStatus,
    AttemptItem,
    DrawUnit,
    FeedbackPolicy,
    ItemVersion,
    QuestionBank,
)
from app.extensions import db
from tests.shipped import load_shipped_content

ROOT = Path(__file__).resolve().parents[2]
CURRICULA = ROOT / "curricula"
#: Every marker starts with this: a response that contains it shows something secret.
MARKER = "ZQX"
_seq = itertools.count(1)


def load_framework_files(session=None) -> None:
    session = session or db.session
    load_shipped_content(session)
    session.flush()


class Markers:
    """Unique marker strings, each remembered, for rationales, feedback and notes."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.all: list[str] = []
        #: the markers of authors' notes, which no page ever shows
        self.notes: list[str] = []
        #: the markers of scenario items
        self.scenario: list[str] = []

    def __call__(self, what: str, *, scenario: bool = False) -> str:
        mark = f"{MARKER}{self.prefix}{len(self.all):03d}"
        self.all.append(mark)
        if what == "author's note":
            self.notes.append(mark)
        if scenario:
            self.scenario.append(mark)
        return f"{what} ({mark})"

    def reviewed(self) -> list[str]:
        """The markers a review of the stand-alone items shows (all but notes)."""
        return [m for m in self.all if m not in self.notes and m not in self.scenario]


def _single(code: str, n: int, topic: str, competency: str, markers: Markers, **extra) -> dict:
    def m(what: str) -> str:
        return markers(what, scenario="-SC" in code)

    return {
        "id": f"{code}-S{n:02d}",
        "type": "single",
        "topic": topic,
        "competency": competency,
        "level": 2,
        "stem": f"Single-choice question {n} of {code}: which office service fits best?",
        "options": [
            {"text": f"Right answer {n}", "correct": True, "rationale": m("right")},
            {"text": f"Wrong answer {n}a", "rationale": m("wrong a")},
            {"text": f"Wrong answer {n}b", "rationale": m("wrong b")},
            {"text": f"Wrong answer {n}c", "rationale": m("wrong c")},
        ],
        "feedback": m("general feedback"),
        "notes": m("author's note"),
        **extra,
    }


def bank_data(code: str = "TB", *, singles: int = 6, scenarios: int = 2) -> tuple[dict, Markers]:
    """A bank document: ``singles`` single-choice items on GOV-05 (topic A), one item of
    each other type on CTL-01 (topic B), a data-pack item, and ``scenarios`` scenarios of
    five single-choice items on GOV-01. Every rationale, feedback and note is marked."""
    m = Markers(code.replace("-", ""))
    items = [_single(code, n, "A", "GOV-05", m) for n in range(1, singles + 1)]
    items += [
        {
            "id": f"{code}-M01",
            "type": "multiple",
            "topic": "B",
            "competency": "CTL-01",
            "level": 2,
            "select": 2,
            "stem": "Which two belong to a portfolio office?",
            "options": [
                {"text": "Multi first", "correct": True, "rationale": m("m1")},
                {"text": "Multi second", "correct": True, "rationale": m("m2")},
                {"text": "Multi third", "rationale": m("m3")},
                {"text": "Multi fourth", "rationale": m("m4")},
            ],
        },
        {
            "id": f"{code}-T01",
            "type": "true-false",
            "topic": "B",
            "competency": "CTL-01",
            "level": 2,
            "statement": "A hub office can have spokes.",
            "answer": True,
            "rationale_true": m("true"),
            "rationale_false": m("false"),
        },
        {
            "id": f"{code}-X01",
            "type": "matching",
            "topic": "B",
            "competency": "CTL-01",
            "level": 2,
            "stem": "Match each gap to the service that closes it.",
            "premises": [
                {"id": "P1", "text": "Premise one"},
                {"id": "P2", "text": "Premise two"},
                {"id": "P3", "text": "Premise three"},
            ],
            "responses": [
                {"id": "R1", "text": "Response one"},
                {"id": "R2", "text": "Response two"},
                {"id": "R3", "text": "Response three"},
                {"id": "R4", "text": "Response four"},
            ],
            "pairs": {"P1": "R1", "P2": "R2", "P3": "R3"},
            "rationales": {"P1": m("p1"), "P2": m("p2"), "P3": m("p3")},
        },
        {
            "id": f"{code}-Q01",
            "type": "sequencing",
            "topic": "B",
            "competency": "CTL-01",
            "level": 2,
            "stem": "Put the gate steps in order.",
            "steps": [
                {"text": "Step alpha", "rationale": m("s1")},
                {"text": "Step bravo", "rationale": m("s2")},
                {"text": "Step charlie", "rationale": m("s3")},
                {"text": "Step delta", "rationale": m("s4")},
            ],
        },
        {
            "id": f"{code}-R01",
            "type": "assertion-reason",
            "topic": "B",
            "competency": "CTL-01",
            "level": 2,
            "assertion": "An office keeps a register.",
            "reason": "A register lists the initiatives.",
            "answer": "A",
            "rationales": {k: m(f"ar {k}") for k in "ABCDE"},
        },
        _single(code, 90, "B", "CTL-01", m, data_pack=f"{code}-DP1"),
    ]
    data = {
        "kind": "question-bank",
        "code": code,
        "title": f"Test bank {code}",
        "format": "role",
        "author": "Test author",
        "original_work": True,
        "topics": {"A": "Topic A", "B": "Topic B", "C": "Cases"},
        "data_packs": [
            {
                "id": f"{code}-DP1",
                "title": "Figures",
                "content": "| plan | actual |\n|---|---|\n| 10 | 12 |",
            }
        ],
        "items": items,
        "scenarios": [
            {
                "id": f"{code}-SC{s}",
                "title": f"Case {s}",
                "case": f"The case of scenario {s}: a water company sets up its office.",
                "items": [_single(f"{code}-SC{s}", n, "C", "GOV-01", m) for n in range(1, 6)],
            }
            for s in range(1, scenarios + 1)
        ],
    }
    return data, m


def make_bank(code: str = "TB", **kwargs) -> tuple[QuestionBank, BankContent, Markers]:
    """A published bank of ``bank_data``; returns the bank, its content and its markers."""
    data, markers = bank_data(code, **kwargs)
    content = bank_from_data(data)
    write = write_bank_version(db.session, content, publish=True)
    return write.version.bank, content, markers


def make_assessment(
    bank: QuestionBank,
    *,
    code: str | None = None,
    sections: list[dict] | None = None,
    certifies: dict[str, int] | None = None,
    **settings,
) -> Assessment:
    """A published assessment over ``bank``: by default one section of every stand-alone
    item (13), a 30-minute limit, pass 50%, three attempts, no wait, no shuffling, review
    after submission. ``sections``: dicts of AssessmentSection fields."""
    n = next(_seq)
    values = {
        "code": code or f"TA-{n}",
        "title": f"Test assessment {n}",
        "status": AssessmentStatus.PUBLISHED,
        "pass_percent": 50,
        "time_limit_minutes": 30,
        "grace_seconds": 60,
        "attempt_limit": 3,
        "wait_minutes": 0,
        "shuffle_items": False,
        "shuffle_options": False,
        "feedback": FeedbackPolicy.AFTER_SUBMISSION,
        **settings,
    }
    assessment = Assessment(**values)
    for position, section in enumerate(sections or [{"count": 12}]):
        assessment.sections.append(
            AssessmentSection(
                position=position,
                title=section.get("title", f"Part {position + 1}"),
                bank_id=bank.id,
                unit=section.get("unit", DrawUnit.ITEM),
                count=section["count"],
                unscored=section.get("unscored", 0),
                topics=section.get("topics", []),
                tags=section.get("tags", []),
                competencies=section.get("competencies", []),
            )
        )
    for comp, level in (certifies or {}).items():
        assessment.certifies.append(AssessmentCertification(competency_code=comp, level=level))
    db.session.add(assessment)
    db.session.flush()
    return assessment


def content_of_item(row: AttemptItem) -> ItemContent:
    version = db.session.get(ItemVersion, row.item_version_id)
    return item_from_data(version.content)


def wrong_answer(item: ItemContent) -> object:
    """An answer that fits the item and scores nothing."""
    if item.type == "single":
        return next(i for i, o in enumerate(item.options) if not o.correct)
    if item.type == "multiple":
        return [i for i, o in enumerate(item.options) if not o.correct][:1]
    if item.type == "true-false":
        return not item.answer
    if item.type == "matching":
        ids = [r.id for r in item.responses]
        return {p: ids[(ids.index(r) + 1) % len(ids)] for p, r in item.pairs}
    if item.type == "sequencing":
        return list(reversed(range(len(item.steps))))
    return "E" if item.answer != "E" else "A"


def form_fields(item: ShownItem, answer: object) -> dict[str, object]:
    """The form fields that give ``answer`` (in the item's terms) to ``item`` on its page,
    with the revision the page shows."""
    shown = display_answer(item.type, item.order, item.premise_ids, answer)
    fields: dict[str, object] = {f"r{item.id}": str(item.revision)}
    if item.type in ("matching", "sequencing"):
        for place, value in (shown or {}).items():
            fields[f"{item.field}-{place}"] = value
    elif item.type == "multiple":
        fields[item.field] = sorted(shown or ())
    elif shown is not None:
        fields[item.field] = shown
    return fields
