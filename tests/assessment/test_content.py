"""The bank content value and the scoring rules (pure: no app, no database)."""

from __future__ import annotations

from dataclasses import replace

from app.assessment import content as c
from app.assessment.content import (
    CERTIFICATION_RULE,
    CompetencyScore,
    ItemContent,
    Option,
    SectionDraw,
    answer_problem,
    bank_from_data,
    certified_levels,
    competency_scores,
    item_from_data,
    item_problems,
    passed,
    score_item,
)
from app.assessment.models import BankFormat, ItemType


def single() -> ItemContent:
    return item_from_data(
        {
            "id": "T-S-01",
            "type": "single",
            "topic": "GOV",
            "competency": "GOV-05",
            "level": 2,
            "stem": "Which?",
            "options": [
                {"text": "A", "rationale": "no"},
                {"text": "B", "correct": True, "rationale": "yes"},
                {"text": "C", "rationale": "no"},
                {"text": "D", "rationale": "no"},
            ],
        }
    )


def multiple(select: int | None = 3) -> ItemContent:
    return item_from_data(
        {
            "id": "T-M-01",
            "type": "multiple",
            "topic": "GOV",
            "competency": "GOV-05",
            "level": 3,
            "select": select,
            "stem": "Which three?",
            "options": [
                {"text": "A", "correct": True, "rationale": "yes"},
                {"text": "B", "rationale": "no"},
                {"text": "C", "correct": True, "rationale": "yes"},
                {"text": "D", "rationale": "no"},
                {"text": "E", "correct": True, "rationale": "yes"},
            ],
        }
    )


def matching() -> ItemContent:
    return item_from_data(
        {
            "id": "T-X-01",
            "type": "matching",
            "topic": "GOV",
            "competency": "GOV-01",
            "level": 3,
            "stem": "Match.",
            "premises": [{"id": f"P{i}", "text": f"p{i}"} for i in range(1, 5)],
            "responses": [{"id": f"R{i}", "text": f"r{i}"} for i in range(1, 6)],
            "pairs": {"P1": "R1", "P2": "R2", "P3": "R3", "P4": "R4"},
            "rationales": {f"P{i}": "why" for i in range(1, 5)},
        }
    )


def sequencing() -> ItemContent:
    return item_from_data(
        {
            "id": "T-Q-01",
            "type": "sequencing",
            "topic": "GOV",
            "competency": "GOV-01",
            "level": 2,
            "stem": "Order.",
            "steps": [{"text": f"step {i}", "rationale": "why"} for i in range(5)],
        }
    )


def true_false(answer: bool = False) -> ItemContent:
    return item_from_data(
        {
            "id": "T-TF-01",
            "type": "true-false",
            "topic": "GOV",
            "competency": "GOV-01",
            "level": 1,
            "statement": "An office owns the benefits.",
            "answer": answer,
            "rationale_true": "It supports, not owns.",
            "rationale_false": "Right: the business owns them.",
        }
    )


def assertion_reason() -> ItemContent:
    return item_from_data(
        {
            "id": "T-AR-01",
            "type": "assertion-reason",
            "topic": "GOV",
            "competency": "GOV-01",
            "level": 3,
            "assertion": "A",
            "reason": "R",
            "answer": "d",
            "rationales": {k: "why" for k in "ABCDE"},
        }
    )


def test_the_model_enums_are_the_content_types():
    assert [t.value for t in ItemType] == list(c.ITEM_TYPES)
    assert [f.value for f in BankFormat] == list(c.BANK_FORMATS)


# --- scoring: every item is worth one mark, for a wholly correct answer only ----------------------


def test_single_choice_scores_the_key_only():
    item = single()
    assert score_item(item, 1) == (1, 1)
    assert score_item(item, 0) == (0, 1)
    assert score_item(item, None) == (0, 1)
    assert score_item(item, 7) == (0, 1)  # not an option
    assert score_item(item, True) == (0, 1)  # a bool is not an index


def test_multiple_response_gives_the_mark_only_for_exactly_the_correct_set():
    item = multiple()
    assert score_item(item, [0, 2, 4]) == (1, 1)
    assert score_item(item, [4, 0, 2]) == (1, 1)  # order does not matter
    assert score_item(item, [0, 2]) == (0, 1)  # two of three right: no partial credit
    assert score_item(item, [0, 2, 1]) == (0, 1)  # one wrong pick loses the mark
    assert score_item(item, [0, 1, 2, 3, 4]) == (0, 1)  # choosing everything never scores
    assert answer_problem(item, [0, 1, 2, 3]) == "choose at most 3 options"
    assert score_item(item, [0, 0, 2]) == (0, 1)  # the same option twice is not an answer


def test_multiple_response_without_select_still_needs_the_exact_set():
    item = multiple(select=None)
    assert score_item(item, [0, 2, 4]) == (1, 1)
    assert score_item(item, [0, 1, 2, 3, 4]) == (0, 1)


def test_matching_gives_the_mark_only_when_every_premise_is_matched_right():
    item = matching()
    assert score_item(item, {"P1": "R1", "P2": "R2", "P3": "R3", "P4": "R4"}) == (1, 1)
    assert score_item(item, {"P1": "R1", "P2": "R2", "P3": "R3", "P4": "R5"}) == (0, 1)
    assert score_item(item, {"P1": "R1", "P2": "R2", "P3": "R3"}) == (0, 1)  # one left unmatched
    assert score_item(item, {"P1": "R9"}) == (0, 1)  # not a response
    assert answer_problem(item, {"P1": "R9"}) is not None


def test_sequencing_gives_the_mark_only_for_the_whole_order():
    item = sequencing()
    assert score_item(item, [0, 1, 2, 3, 4]) == (1, 1)
    assert score_item(item, [1, 0, 2, 3, 4]) == (0, 1)  # two swapped
    assert score_item(item, [0, 1, 2, 3]) == (0, 1)  # a step left out
    assert answer_problem(item, [0, 1, 2, 3]) == "put every step in order, each once"


def test_true_false_and_assertion_reason():
    assert score_item(true_false(False), False) == (1, 1)
    assert score_item(true_false(False), True) == (0, 1)
    assert score_item(true_false(False), 0) == (0, 1)  # 0 is not False here
    item = assertion_reason()
    assert item.answer == "D"
    assert score_item(item, "D") == (1, 1)
    assert score_item(item, "d") == (1, 1)
    assert score_item(item, "A") == (0, 1)
    assert score_item(item, "F") == (0, 1)


def test_the_key_is_itself_a_full_mark_answer_for_every_type():
    for item in (single(), multiple(), matching(), sequencing(), true_false(), assertion_reason()):
        assert answer_problem(item, item.key()) is None, item.type
        assert score_item(item, item.key()) == (1, 1), item.type
        assert answer_problem(item, None) is None


# --- pass and certification --------------------------------------------------------------------


def test_pass_mark():
    assert passed(35, 70, 50) and not passed(34, 70, 50)
    assert passed(40, 80, 50) and not passed(39, 80, 50)
    assert not passed(0, 0, 0)


def test_a_competency_is_certified_with_five_items_and_sixty_percent():
    scores = competency_scores(
        [("GOV-01", 1, 1)] * 3
        + [("GOV-01", 0, 1)] * 2  # 5 items, 3 of 5 = 60%
        + [("GOV-05", 1, 1)] * 4  # 4 of 4 but only four items
        + [("INF-01", 1, 1)] * 3
        + [("INF-01", 0, 1)] * 3  # 6 items, 50%
    )
    assert scores["GOV-01"] == CompetencyScore("GOV-01", 5, 3, 5)
    assert scores["GOV-01"].meets_rule and scores["GOV-01"].percent == 60
    assert not scores["GOV-05"].meets_rule  # too few items, however well answered
    assert not scores["INF-01"].meets_rule  # enough items, too few marks
    certifies = {"GOV-01": 3, "GOV-05": 3, "INF-01": 3, "CTL-04": 3}
    assert certified_levels(True, certifies, scores) == {"GOV-01": 3}
    assert certified_levels(False, certifies, scores) == {}  # a fail certifies nothing
    assert "at least 5 scored items" in CERTIFICATION_RULE and "60%" in CERTIFICATION_RULE


def test_just_under_sixty_percent_is_not_enough():
    scores = competency_scores([("GOV-01", 1, 1)] * 5 + [("GOV-01", 0, 1)] * 4)  # 5 of 9
    assert scores["GOV-01"].percent == 55 and not scores["GOV-01"].meets_rule
    scores = competency_scores([("GOV-01", 1, 1)] * 59 + [("GOV-01", 0, 1)] * 41)  # 59 of 100
    assert not scores["GOV-01"].meets_rule


# --- canonical form and rules ------------------------------------------------------------------


def test_canonical_form_ignores_layout_and_tag_order():
    a = item_from_data({**single().as_json(), "stem": "Which?\r\n\r\n", "tags": ["b", "a", "a"]})
    b = item_from_data({**single().as_json(), "stem": "  \nWhich?", "tags": ["a", "b"]})
    assert a.stem == "Which?" and a.tags == ("a", "b")
    assert a.digest() == b.digest()
    assert item_from_data(a.as_json()) == a  # the snapshot reads back to the same item
    changed = item_from_data({**single().as_json(), "stem": "Which one?"})
    assert changed.digest() != a.digest()


def test_the_bank_author_is_the_default_item_author():
    data = {**single().as_json()}
    del data["author"]
    assert item_from_data(data, default_author="Team").author == "Team"


def test_item_rules():
    assert item_problems(single()) == []
    three = item_from_data({**single().as_json(), "options": single().as_json()["options"][:3]})
    assert item_problems(three) == []
    assert [p.key for p in item_problems(three, bank_format="foundation")] == ["options"]
    two_keys = replace(
        single(), options=(Option("a", "r", True), Option("b", "r", True), Option("c", "r"))
    )
    assert "exactly one key" in item_problems(two_keys)[0].message
    odd = item_from_data({**sequencing().as_json(), "level": 4})
    assert [p.key for p in item_problems(odd)] == ["level"]


def test_a_bank_without_the_original_work_attestation_is_refused():
    bank = bank_from_data(
        {
            "code": "T-BANK",
            "title": "T",
            "format": "role",
            "author": "A",
            "original_work": False,
            "topics": {"GOV": "Governance"},
            "items": [single().as_json()],
        }
    )
    assert [p.key for p in c.bank_problems(bank)] == ["original_work"]


def test_a_section_draw_filters_by_topic_tag_and_competency():
    item = item_from_data({**single().as_json(), "tags": ["P3OF-01"]})
    assert SectionDraw(5).admits(item)
    assert SectionDraw(5, topics=frozenset({"GOV"})).admits(item)
    assert not SectionDraw(5, topics=frozenset({"REP"})).admits(item)
    assert SectionDraw(5, tags=frozenset({"P3OF-01", "x"})).admits(item)
    assert not SectionDraw(5, competencies=frozenset({"GOV-01"})).admits(item)
