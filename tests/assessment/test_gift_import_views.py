"""GIFT import in the browser: upload, a preview first (the items found, one message per
question we cannot import naming it and its line, what each item gets), nothing saved until
the trainer imports — into a new bank or an existing bank's draft — and nothing saved when
they cancel; files as Moodle users write them (a Moodle export, a hand-written file with
comments, categories, escapes and multi-line items, a Windows Notepad file)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.assessment import authoring_queries as queries
from app.assessment.bank_queries import bank_by_code, content_of, published_bank_version
from app.assessment.banks import write_bank_version
from app.assessment.gift import bank_to_gift, parse_gift
from app.assessment.models import BankVersion, ItemVersion, QuestionBank
from tests.assessment.test_authoring import shipped_framework, small_bank
from tests.assessment.test_authoring_views import hidden, text_of, token
from tests.factories import make_user

URL = "/authoring/banks/import"
GIFT_FILES = Path(__file__).parent / "gift_files"


@pytest.fixture
def trainer(app, session):
    shipped_framework(session)
    user = make_user(Permission.TRAINER)
    session.commit()
    return user


@pytest.fixture
def signed_in(client, login, trainer):
    login(trainer)
    return client


def new_bank(**changes) -> dict:
    data = {
        "bank": "",
        "code": "MOODLE-RPT",
        "title": "Reporting questions from Moodle",
        "format": "role",
        "author": "Training team",
        "original_work": "y",
        "topic": "RPT",
        "topic_name": "Reporting",
        "competency": "INF-01",
        "level": "2",
    }
    data.update(changes)
    return data


def upload(client, name: str, data: bytes, fields: dict):
    return client.post(
        URL,
        data={
            "csrf_token": token(client, URL),
            "file": (io.BytesIO(data), name),
            "preview": "Preview the import",
            **fields,
        },
        content_type="multipart/form-data",
    )


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_hand_written_file_is_previewed_with_one_message_per_question_left_out(
    signed_in, session
):
    data = (GIFT_FILES / "trainer_handwritten.txt").read_bytes()
    response = upload(signed_in, "pmo-quiz.txt", data, new_bank())
    assert response.status_code == 200
    page = text_of(response.text)
    assert "6 item(s) found: into a new bank MOODLE-RPT — 6 new, 0 replacing" in page
    assert "4 question(s) cannot be imported" in page
    for line, name, why in (
        (50, "SPI value", "numerical questions"),
        (52, "Acronym", "short-answer questions"),
        (54, "Reflection", "essay questions"),
        (56, "Missing word", "missing-word questions"),
    ):
        assert f"Line {line}: {name} — {why}" in page
    assert "Gate purpose" in page and "MOODLE-RPT-001" in page
    assert "RPT · INF-01 · 2" in page
    assert "File: pmo-quiz.txt" in page and "Import these 6 items" in response.text
    # nothing is saved by a preview, and cancelling is a link away
    assert count(session, QuestionBank) == 0 and count(session, BankVersion) == 0
    assert 'href="/authoring/banks" data-testid="cancel-import"' in response.text


def test_importing_after_the_preview_creates_the_bank_draft(signed_in, session):
    data = (GIFT_FILES / "moodle_export.txt").read_bytes()
    preview = upload(signed_in, "export.gift", data, new_bank())
    kept = hidden(preview.text, "gift_text")
    assert "RAG status meaning" in kept
    response = signed_in.post(
        URL,
        data={
            "csrf_token": token(signed_in, URL),
            "gift_text": kept,
            "filename": "export.gift",
            "confirm": "Import these 4 items",
            **new_bank(),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/authoring/banks/MOODLE-RPT")
    bank = bank_by_code(session, "MOODLE-RPT")
    draft = queries.draft_of(session, bank.id)
    content = content_of(session, draft)
    assert [i.type for i in content.items] == ["single", "multiple", "true-false", "matching"]
    assert content.items[0].id == "RPT-RAG-01" and content.topics == (("RPT", "Reporting"),)
    multiple = content.items[1]
    assert [o.correct for o in multiple.options] == [True, True, True, False, False]
    page = text_of(signed_in.get("/authoring/banks/MOODLE-RPT").text)
    assert "Draft version 1" in page and "Showing 4 of 4 items." in page


def test_a_windows_notepad_file_with_a_byte_order_mark_imports(signed_in, session):
    data = (GIFT_FILES / "windows_notepad.txt").read_bytes()
    response = upload(signed_in, "benefits.txt", data, new_bank(code="BEN-BANK"))
    page = text_of(response.text)
    assert "2 item(s) found" in page and "Benefit owner" in page
    assert "cannot be imported" not in page


def test_importing_into_an_existing_bank_replaces_its_items_by_id(signed_in, session, trainer):
    write_bank_version(session, small_bank(), actor_id=trainer.id, publish=True)
    session.commit()
    bank = bank_by_code(session, "TST-BANK")
    published = published_bank_version(session, bank.id)
    text = bank_to_gift(content_of(session, published)).replace(
        "Which statement about TST-S-01 is right?", "Which statement about TST-S-01 is true?"
    )
    fields = new_bank(bank="TST-BANK", code="", title="")
    preview = upload(signed_in, "tst.gift", text.encode(), fields)
    page = text_of(preview.text)
    assert "11 item(s) found: into the draft of TST-BANK — 0 new, 11 replacing" in page
    response = signed_in.post(
        URL,
        data={
            "csrf_token": token(signed_in, URL),
            "gift_text": hidden(preview.text, "gift_text"),
            "confirm": "Import",
            **fields,
        },
    )
    assert response.status_code == 302
    draft = queries.draft_of(session, bank.id)
    assert draft.number == 2
    assert queries.item_in_version(session, draft, "TST-S-01").item.stem.endswith("true?")
    assert count(session, ItemVersion) == 12  # one changed item, the others kept


def test_a_file_with_nothing_importable_offers_no_import(signed_in, session):
    data = b"::Only essay::Tell us about your office.{}\n\n::Num::What is 2+2?{#4}\n"
    response = upload(signed_in, "bad.gift", data, new_bank())
    page = text_of(response.text)
    assert "2 question(s) cannot be imported" in page
    assert "Line 1: Only essay" in page and "Line 3: Num" in page
    assert "The file holds no question that can be imported." in page
    assert "Import these" not in response.text
    assert count(session, BankVersion) == 0


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("quiz.gift", "::Q::Which?{=a ~b ~c}".encode("utf-16"), "not UTF-8 text"),
        ("quiz.gift", b"x" * (256 * 1024 + 1), "larger than 256 kB"),
        ("quiz.docx", b"::Q::Which?{=a ~b ~c}", "Upload a GIFT file (.gift or .txt)."),
    ],
)
def test_a_file_we_cannot_read_is_refused_with_a_message(signed_in, session, name, data, message):
    response = upload(signed_in, name, data, new_bank())
    assert response.status_code == 200
    assert message in text_of(response.text)
    assert count(session, BankVersion) == 0


def test_a_new_bank_needs_a_free_code_and_the_defaults_a_known_competency(
    signed_in, session, trainer
):
    write_bank_version(session, small_bank(), actor_id=trainer.id, publish=True)
    session.commit()
    data = b"::Q1::Which log records risks?{=Risk log ~Issue log ~Daily log}"
    response = upload(signed_in, "q.gift", data, new_bank(code="TST-BANK"))
    assert "There is already a bank TST-BANK." in text_of(response.text)
    response = upload(signed_in, "q.gift", data, new_bank(topic="bad topic"))
    assert "A topic code is a capital letter" in text_of(response.text)
    assert count(session, BankVersion) == 1


def test_an_imported_item_lacking_rationales_is_flagged_to_fix_before_publishing(
    signed_in, session
):
    data = (
        b"// a plain question, as most Moodle users write them\n"
        b"::Q1::Which log records risks?{\n  =Risk log\n  ~Issue log\n  ~Daily log\n}\n"
    )
    (question,) = parse_gift(data).questions
    response = upload(signed_in, "q.gift", data, new_bank())
    page = text_of(response.text)
    assert "Fix before publishing: options[0].rationale: every option needs a rationale" in page
    assert f"<td>{question.line}</td>" in response.text
