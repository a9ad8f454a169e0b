"""GIFT import and export: files written the way Moodle users write them (comments,
categories, escapes, multi-line questions, feedback on each answer, blank lines, Windows
line endings, a byte-order mark, Moodle's own export), one message per question we cannot
import, and round trips (items and whole shipped banks) that give the same items back."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.assessment.content import bank_from_data, item_from_data, score_item
from app.assessment.gift import (
    GiftError,
    bank_to_gift,
    escape,
    html_to_markdown,
    parse_gift,
    write_gift,
    write_item,
)
from app.content.files import read_yaml

FILES = Path(__file__).parent / "gift_files"
ASSESSMENTS = Path(__file__).resolve().parents[2] / "assessments"
HANDWRITTEN = FILES / "trainer_handwritten.txt"
MOODLE = FILES / "moodle_export.txt"
WINDOWS = FILES / "windows_notepad.txt"


def line_of(path: Path, needle: str) -> int:
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def by_name(result):
    return {q.item.name: q for q in result.questions}


# --- a trainer's hand-written file --------------------------------------------------------------


def test_a_handwritten_file_with_unsupported_questions_imports_nothing():
    with pytest.raises(GiftError) as caught:
        parse_gift(HANDWRITTEN.read_text())
    problems = caught.value.problems
    assert [(p.line, p.name) for p in problems] == [
        (line_of(HANDWRITTEN, "::SPI value::"), "SPI value"),
        (line_of(HANDWRITTEN, "::Acronym::"), "Acronym"),
        (line_of(HANDWRITTEN, "::Reflection::"), "Reflection"),
        (line_of(HANDWRITTEN, "::Missing word::"), "Missing word"),
    ]
    messages = [p.message for p in problems]
    assert messages[0].startswith("numerical questions")
    assert messages[1].startswith("short-answer questions")
    assert messages[2].startswith("essay questions")
    assert messages[3].startswith("missing-word questions")
    assert f"line {problems[0].line}: SPI value: numerical" in str(caught.value)


def test_skipping_the_unsupported_questions_keeps_the_rest():
    result = parse_gift(HANDWRITTEN.read_text(), skip_unsupported=True)
    assert [p.name for p in result.skipped] == [
        "SPI value",
        "Acronym",
        "Reflection",
        "Missing word",
    ]
    assert [q.item.name for q in result.questions] == [
        "Gate purpose",
        "Escapes",
        "Risk register fields",
        "Hub and spoke",
        "Quick check 5",
        "Match the documents",
    ]
    assert result.categories == ["$course$/top/PMO induction/Governance"]
    assert {q.category for q in result.questions} == {"$course$/top/PMO induction/Governance"}


def test_names_comments_tags_and_feedback_on_each_answer_are_kept():
    q = by_name(parse_gift(HANDWRITTEN.read_text(), skip_unsupported=True))
    gate = q["Gate purpose"]
    assert gate.line == line_of(HANDWRITTEN, "::Gate purpose::")
    assert gate.item.type == "single" and gate.item.key() == 0
    assert gate.item.notes == "Q1 came up in every pilot group - keep it first"
    assert gate.item.tags == ("gates", "induction")
    assert gate.item.options[0].text.startswith("To decide whether the work should continue")
    assert gate.item.options[0].rationale.startswith("Right - a gate exists")
    assert gate.item.options[3].rationale.startswith("Recognising progress")
    # the file's header comments (a block of their own) belong to no question
    assert "spring cohort" not in "".join(x.item.notes for x in q.values())


def test_escaped_characters_and_a_format_marker():
    item = by_name(parse_gift(HANDWRITTEN.read_text(), skip_unsupported=True))["Escapes"]
    assert item.text_format == "markdown"
    assert "written CPI = EV / AC." in item.item.stem
    assert item.item.stem.endswith("what does the index tell you {assume no data problems}?")
    assert item.item.options[0].text == (
        "Every pound spent has earned about 80p of planned value: the work is over budget."
    )
    assert (
        item.item.options[0].rationale
        == "CPI = 360 / 450 = 0.8, below 1, so cost efficiency is poor."
    )


def test_multi_line_stem_weights_and_general_feedback():
    item = by_name(parse_gift(HANDWRITTEN.read_text(), skip_unsupported=True))[
        "Risk register fields"
    ].item
    assert item.stem == (
        "Which TWO of these belong in every entry of a risk register?\n"
        "A risk register is reviewed monthly by the programme board."
    )
    assert item.type == "multiple"
    assert [o.correct for o in item.options] == [True, True, False, False]
    assert item.feedback == (
        "A register entry must support a decision: who acts, and how much the risk matters."
    )
    assert item.notes == "multiple response - Moodle needs the weights to add up to 100"
    assert score_item(item, [0, 1]) == (1, 1)


def test_true_false_feedback_for_the_wrong_and_the_right_answer():
    q = by_name(parse_gift(HANDWRITTEN.read_text(), skip_unsupported=True))
    hub = q["Hub and spoke"].item
    assert hub.type == "true-false" and hub.answer is False
    assert hub.statement.startswith("True or false: in a hub-and-spoke model")
    # GIFT: {FALSE#feedback for the wrong answer (true)#feedback for the right one}
    assert hub.rationale_true.startswith("Not quite")
    assert hub.rationale_false.startswith("Correct - the hub co-ordinates")
    quick = q["Quick check 5"].item
    assert quick.answer is True and quick.rationale_true == quick.rationale_false == ""


def test_matching_with_a_response_no_premise_takes():
    item = by_name(parse_gift(HANDWRITTEN.read_text(), skip_unsupported=True))[
        "Match the documents"
    ].item
    assert [p.text for p in item.premises] == ["Business case", "Project brief", "Highlight report"]
    assert len(item.responses) == 4
    assert item.responses[3].text == "Who attended the last board meeting?"
    assert dict(item.pairs) == {"P1": "R1", "P2": "R2", "P3": "R3"}
    assert item.feedback == "The business case is reviewed at every gate, not only at the start."
    assert score_item(item, {"P1": "R1", "P2": "R2", "P3": "R3"}) == (1, 1)


# --- Moodle's own export --------------------------------------------------------------------


def test_a_moodle_export_reads_with_ids_tags_html_and_categories():
    result = parse_gift(MOODLE.read_text())
    assert result.categories == [
        "$course$/top/Default for PMO Foundations",
        "$course$/top/Default for PMO Foundations/Reporting",
    ]
    q = by_name(result)
    rag = q["RAG status meaning"]
    assert rag.line == line_of(MOODLE, "::RAG status meaning::")
    assert rag.category.endswith("/Reporting")
    assert rag.item.id == "RPT-RAG-01" and rag.item.tags == ("rag", "reporting")
    assert rag.item.notes == ""  # Moodle's "// question: 4312  name: ..." line is dropped
    assert rag.text_format == "html"
    assert rag.item.stem == (
        "A project reports **amber** on schedule. Using the usual definitions, what does "
        "that tell the board?"
    )
    assert rag.item.options[1].rationale == "That would normally be red."
    assert rag.item.feedback == "Always check the local definitions in the reporting standard."
    dashboard = q["Dashboard principles"].item
    assert [o.correct for o in dashboard.options] == [True, True, True, False, False]
    status = q["Status report ownership"].item
    assert status.answer is False and status.rationale_false.startswith("Correct. The project")
    audience = q["Match report to audience"].item
    assert audience.type == "matching" and audience.feedback == "Audiences vary by organisation."


def test_html_becomes_markdown():
    assert (
        html_to_markdown(
            "<p>First &amp; <b>bold</b></p><ul><li>one</li><li><em>two</em></li></ul>"
            '<p>See <a href="https://example.org/x">the guide</a><br>now</p>'
        )
        == "First & **bold**\n\n- one\n- *two*\n\nSee [the guide](https://example.org/x)\nnow"
    )


# --- Windows line endings and a byte-order mark -------------------------------------------------


def test_windows_line_endings_and_a_byte_order_mark():
    raw = WINDOWS.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    result = parse_gift(raw)
    assert result.categories == ["Benefits"]
    owner, measures = result.questions
    assert owner.line == 4 and owner.item.name == "Benefit owner"
    assert owner.item.stem == "Who should own a benefit once the change has been delivered?"
    assert owner.item.options[0].rationale == (
        "Benefits are realised in operations, so ownership sits there."
    )
    assert measures.item.type == "multiple" and measures.item.feedback.startswith("Agree")
    # the same file with Unix line endings and no mark reads the same
    plain = parse_gift(raw.decode("utf-8-sig").replace("\r\n", "\n"))
    assert [q.item for q in plain.questions] == [q.item for q in result.questions]
    # and a text string that kept its mark too
    assert parse_gift(raw.decode("utf-8")).questions[0].item == owner.item


# --- questions we cannot import, one message each ------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("::D::Read this first: the case below.", "a description"),
        ("::B::Which one? {=a ~b", "a { without its }"),
        ("::C::Which one? =a ~b}", "a } without its {"),
        ("::P::Which one? {=a ~%50%b ~c}", "single choice with partial credit"),
        ("::N::Which ones? {~a ~b ~c}", "no answer is marked correct"),
        ("::M::Match {=a -> 1 =b}", "'premise -> response'"),
        ("::O::Only one {~=a}", "at least two answers"),
    ],
)
def test_each_question_we_cannot_import_has_a_clear_message(text, message):
    with pytest.raises(GiftError) as caught:
        parse_gift("// header\n\n" + text + "\n")
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert message in problem.message


def test_a_question_without_a_name_is_named_by_its_text():
    with pytest.raises(GiftError) as caught:
        parse_gift("What year did the portfolio office open in this organisation? {#2019}")
    assert caught.value.problems[0].name == "What year did the portfolio office open in this…"


# --- writing and round trips ------------------------------------------------------------------


def test_imported_items_write_back_and_read_again_unchanged():
    for path in (HANDWRITTEN, MOODLE, WINDOWS):
        items = [q.item for q in parse_gift(path.read_bytes(), skip_unsupported=True).questions]
        again = [q.item for q in parse_gift(write_gift(items, category="Imported")).questions]
        assert again == items, path.name


def test_every_shipped_bank_round_trips_through_gift():
    for path in sorted(ASSESSMENTS.glob("*.yaml")):
        bank = bank_from_data(read_yaml(path).data)
        result = parse_gift(bank_to_gift(bank))
        assert result.skipped == []
        back = result.bank_content()
        assert back == bank, path.name
        assert back.digest() == bank.digest()


def tf_item(**extra) -> dict:
    return {
        "id": "T-TF-01",
        "type": "true-false",
        "topic": "GOV",
        "competency": "GOV-01",
        "level": 1,
        "statement": "The hub owns every budget.",
        "answer": False,
        "rationale_true": "It co-ordinates; it does not own budgets.",
        "rationale_false": "Right: budgets stay with sponsors.",
        **extra,
    }


def test_true_false_with_a_lead_in_notes_and_feedback_round_trips():
    item = item_from_data(
        tf_item(
            stem="Consider a hub-and-spoke office:\n\n- one hub\n- four spokes",
            notes="Reworded after the pilot.\n// not a comment",
            feedback="See module 3.",
            tags=["hubs", "p3o: models"],
            name="Hub budgets {v2}",
        )
    )
    text = write_item(item)
    assert "// Reworded after the pilot." in text
    assert "[tag:p3o: models]" in text and "::Hub budgets \\{v2\\}::" in text
    (again,) = parse_gift(text).questions
    assert again.item == item


def test_matching_rationales_and_general_feedback_both_survive():
    data = {
        "id": "T-X-01",
        "type": "matching",
        "topic": "GOV",
        "competency": "GOV-01",
        "level": 2,
        "stem": "Match each gap to a service.",
        "premises": [{"id": "G1", "text": "No ranking"}, {"id": "G2", "text": "No list — at all"}],
        "responses": [
            {"id": "S9", "text": "Register"},
            {"id": "S1", "text": "Ranking round"},
            {"id": "S5", "text": "Secretariat"},
        ],
        "pairs": {"G1": "S1", "G2": "S9"},
        "rationales": {"G1": "Ranking gives an order.", "G2": "The register is the list."},
        "feedback": "Services answer gaps.",
    }
    item = item_from_data(data)
    (again,) = parse_gift(write_item(item)).questions
    assert again.item == item


def test_what_moodle_reads_of_our_sequencing_and_assertion_reason_items():
    """Without our '// pmo' comments (as Moodle reads the file), sequencing is a matching
    question (step number -> step) and assertion-reason a single choice of five options."""
    bank = bank_from_data(read_yaml(ASSESSMENTS / "p3o-practitioner-bank.yaml").data)
    items = {i.type: i for s in bank.scenarios for i in s.items}
    plain = "\n".join(
        line for line in write_gift(items.values()).split("\n") if not line.startswith("// pmo ")
    )
    read = {q.item.id: q.item for q in parse_gift(plain).questions}
    sequencing = read[items["sequencing"].id]
    assert sequencing.type == "matching"
    assert [p.text for p in sequencing.premises][:2] == ["Step 1", "Step 2"]
    assert [r.text for r in sequencing.responses] == [s.text for s in items["sequencing"].steps]
    ar = read[items["assertion-reason"].id]
    assert ar.type == "single" and len(ar.options) == 5
    assert ar.options[ar.key()].text.startswith(f"{items['assertion-reason'].answer}. ")
    assert ar.stem.startswith("**Assertion:** ")
    multiple = read[items["multiple"].id]
    assert [o.correct for o in multiple.options] == [o.correct for o in items["multiple"].options]


def test_escape_covers_every_special_character():
    text = "a = b {c} ~d #e: f \\ g\nnext"
    assert escape(text) == "a \\= b \\{c\\} \\~d \\#e\\: f \\\\ g\\nnext"
    (q,) = parse_gift(f"::n::[markdown]{escape(text)} {{T}}").questions
    assert q.item.statement == text
