"""The shipped question banks: the check (and each error it reports, with file, line and
key path), loading as published versions idempotently by content hash, item versions kept
when unchanged, export and reload to the same hash, and published versions immutable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.assessment.bank_queries import bank_by_code, content_of, published_bank_version
from app.assessment.banks import publish_bank_version, write_bank_version
from app.assessment.content import bank_from_data
from app.assessment.models import (
    BankEntry,
    BankStatus,
    BankVersion,
    ImmutableVersionError,
    Item,
    ItemVersion,
    StimulusVersion,
)
from app.content.bank_export import export_bank_texts, export_banks
from app.content.bank_load import load_banks
from app.content.bank_schema import check_banks
from app.content.files import ContentInvalid, read_yaml
from app.content.framework_schema import check_framework
from app.errors import DomainError
from tests.shipped import load_shipped_content

ROOT = Path(__file__).resolve().parents[2]
ASSESSMENTS = ROOT / "assessments"
CURRICULA = ROOT / "curricula"
FRAMEWORK_CODES = check_framework(read_yaml(CURRICULA / "framework.yaml")).competency_codes()


def shipped() -> list[Path]:
    """The bank files shipped now (more are added as the content grows)."""
    return sorted(ASSESSMENTS.glob("*.yaml"))


def shipped_codes() -> set[str]:
    return {read_yaml(p).data["code"] for p in shipped()}


def load_framework_files(session):
    load_shipped_content(session)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    lines = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return lines[nth]


# --- the shipped banks ----------------------------------------------------------------------------


def test_every_shipped_bank_passes_the_check():
    assert len(shipped()) >= 7
    assert check_banks(ASSESSMENTS, FRAMEWORK_CODES) == []


def test_the_shipped_banks_hold_what_the_plan_asks_for():
    banks = {b.code: b for b in (bank_from_data(read_yaml(p).data) for p in shipped())}
    foundation = banks["P3OF-BANK"]
    assert len(foundation.items) >= 120
    assert {i.type for i in foundation.items} == {"single"}
    assert all(len(i.options) == 4 for i in foundation.items)
    practitioner = banks["P3OP-BANK"]
    assert len(practitioner.scenarios) >= 4
    assert all(len(s.items) >= 20 for s in practitioner.scenarios)
    kinds = {i.type for s in practitioner.scenarios for i in s.items}
    assert {"single", "multiple", "matching", "sequencing", "assertion-reason"} <= kinds
    analyst = banks["ANLST-BANK"]
    assert analyst.data_packs and any(i.data_pack for i in analyst.items)


# --- broken files: each error at its file, line and key path --------------------------------------

BANK = """\
kind: question-bank
code: TEST-BANK
title: A test bank
format: role
author: Test author
original_work: true
topics:
  GOV: Governance
  REP: Reporting
data_packs:
  - id: TEST-DP1
    title: Figures
    content: |
      | a | b |
      |---|---|
      | 1 | 2 |
items:
  - id: TEST-S-01
    type: single
    topic: GOV
    competency: GOV-05
    level: 2
    stem: Which one?
    options:
      - text: Right
        correct: true
        rationale: Because.
      - text: Wrong one
        rationale: Not so.
      - text: Wrong two
        rationale: Not so either.
  - id: TEST-M-01
    type: multiple
    select: 2
    topic: REP
    competency: GOV-05
    level: 2
    data_pack: TEST-DP1
    stem: Which two?
    options:
      - {text: A, correct: true, rationale: Yes.}
      - {text: B, correct: true, rationale: Yes too.}
      - {text: C, rationale: No.}
      - {text: D, rationale: No either.}
  - id: TEST-X-01
    type: matching
    topic: GOV
    competency: GOV-05
    level: 2
    stem: Match them.
    premises:
      - {id: P1, text: One}
      - {id: P2, text: Two}
      - {id: P3, text: Three}
    responses:
      - {id: R1, text: Uno}
      - {id: R2, text: Dos}
      - {id: R3, text: Tres}
    pairs: {P1: R1, P2: R2, P3: R3}
    rationales: {P1: First., P2: Second., P3: Third.}
  - id: TEST-AR-01
    type: assertion-reason
    topic: GOV
    competency: GOV-05
    level: 3
    assertion: Offices help.
    reason: Information helps decisions.
    answer: A
    rationales: {A: Right., B: Explains it., C: Reason true., D: Assertion true., E: Both true.}
scenarios:
  - id: TEST-SC1
    title: A case
    case: |
      Some words about a case.
    items:
"""

SCENARIO_ITEM = """\
      - id: TEST-SC1-{n:02d}
        type: sequencing
        topic: REP
        competency: GOV-05
        level: 2
        stem: Order these.
        steps:
          - {{text: First, rationale: Comes first.}}
          - {{text: Second, rationale: Then this.}}
          - {{text: Third, rationale: Then that.}}
          - {{text: Fourth, rationale: Last.}}
"""


def bank_text(scenario_items: int = 5) -> str:
    return BANK + "".join(SCENARIO_ITEM.format(n=n) for n in range(1, scenario_items + 1))


def write_bank(folder: Path, text: str, name: str = "test-bank.yaml") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def errors_for(tmp_path, text: str):
    folder = tmp_path / "assessments"
    path = write_bank(folder, text)
    return path, check_banks(folder, FRAMEWORK_CODES)


def test_the_fixture_bank_is_sound(tmp_path):
    _, errors = errors_for(tmp_path, bank_text())
    assert errors == []


def only(errors):
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_unknown_competency_code(tmp_path):
    path, errors = errors_for(
        tmp_path, bank_text().replace("competency: GOV-05", "competency: GOV-99", 1)
    )
    error = only(errors)
    assert error.file == "assessments/test-bank.yaml"
    assert error.path == "items[0].competency"
    assert error.line == line_of(path, "GOV-99")
    assert "unknown competency code 'GOV-99'" in error.message


def test_a_matching_key_that_is_not_an_option(tmp_path):
    path, errors = errors_for(tmp_path, bank_text().replace("P3: R3}", "P3: R9}"))
    error = only(errors)
    assert error.path == "items[2].pairs.P3"
    assert error.line == line_of(path, "pairs:")
    assert "'R9', which is not one of the responses" in error.message


def test_an_assertion_reason_key_that_is_not_an_option(tmp_path):
    path, errors = errors_for(tmp_path, bank_text().replace("answer: A", "answer: F"))
    error = only(errors)
    assert error.path == "items[3].answer"
    assert error.line == line_of(path, "answer: F")
    assert "not one of the five options" in error.message


@pytest.mark.parametrize("correct", [0, 2])
def test_a_single_choice_item_needs_exactly_one_key(tmp_path, correct):
    text = bank_text()
    if correct == 0:
        text = text.replace(
            "      - text: Right\n        correct: true\n", "      - text: Right\n", 1
        )
    else:
        text = text.replace(
            "      - text: Wrong one\n", "      - text: Wrong one\n        correct: true\n", 1
        )
    path, errors = errors_for(tmp_path, text)
    error = only(errors)
    assert error.path == "items[0].options"
    assert error.line == line_of(path, "options:")
    assert "exactly one key" in error.message and f"this one has {correct}" in error.message


def test_a_multiple_response_item_needs_two_keys(tmp_path):
    text = bank_text().replace(
        "{text: B, correct: true, rationale: Yes too.}", "{text: B, rationale: Yes too.}"
    )
    text = text.replace("    select: 2\n", "")
    path, errors = errors_for(tmp_path, text)
    error = only(errors)
    assert error.path == "items[1].options"
    assert error.line == line_of(path, "options:", 1)
    assert "at least two keys" in error.message


def test_select_must_agree_with_the_keys(tmp_path):
    path, errors = errors_for(tmp_path, bank_text().replace("select: 2", "select: 3"))
    error = only(errors)
    assert (error.path, error.line) == ("items[1].select", line_of(path, "select: 3"))


def test_a_matching_item_with_an_unmatched_premise_and_a_missing_rationale(tmp_path):
    text = bank_text().replace("pairs: {P1: R1, P2: R2, P3: R3}", "pairs: {P1: R1, P2: R2}")
    text = text.replace(
        "rationales: {P1: First., P2: Second., P3: Third.}", "rationales: {P1: First.}"
    )
    path, errors = errors_for(tmp_path, text)
    by_path = {e.path: e for e in errors}
    assert set(by_path) == {"items[2].pairs", "items[2].rationales"}
    assert "unmatched premise(s): P3" in by_path["items[2].pairs"].message
    assert by_path["items[2].pairs"].line == line_of(path, "pairs:")
    assert "rationales missing for premise(s): P2, P3" in by_path["items[2].rationales"].message
    assert by_path["items[2].rationales"].line == line_of(path, "rationales: {P1")


def test_a_role_scenario_needs_five_items(tmp_path):
    path, errors = errors_for(tmp_path, bank_text(scenario_items=4))
    error = only(errors)
    assert error.path == "scenarios[0].items"
    assert error.line == line_of(path, "    items:", 0)
    assert "has 4 item(s); a scenario of a role bank has at least 5" in error.message


def test_a_practitioner_scenario_needs_twenty_items(tmp_path):
    text = bank_text(scenario_items=19).replace("format: role", "format: practitioner")
    path, errors = errors_for(tmp_path, text)
    error = only(errors)
    assert error.path == "scenarios[0].items"
    assert "has 19 item(s); a scenario of a practitioner bank has at least 20" in error.message
    _, fine = errors_for(
        tmp_path, bank_text(scenario_items=20).replace("format: role", "format: practitioner")
    )
    assert fine == []


def test_unknown_topic_and_unknown_data_pack(tmp_path):
    text = bank_text().replace(
        "topic: REP\n    competency: GOV-05\n    level: 2\n    data_pack: TEST-DP1",
        "topic: XYZ\n    competency: GOV-05\n    level: 2\n    data_pack: TEST-DP9",
    )
    path, errors = errors_for(tmp_path, text)
    by_path = {e.path: e for e in errors}
    assert set(by_path) == {"items[1].topic", "items[1].data_pack"}
    assert by_path["items[1].topic"].line == line_of(path, "topic: XYZ")
    assert "unknown topic 'XYZ'" in by_path["items[1].topic"].message
    assert by_path["items[1].data_pack"].line == line_of(path, "data_pack: TEST-DP9")
    assert "unknown data pack 'TEST-DP9'" in by_path["items[1].data_pack"].message


def test_duplicate_item_ids_across_banks(tmp_path):
    folder = tmp_path / "assessments"
    write_bank(folder, bank_text(), "a-bank.yaml")
    other = write_bank(
        folder,
        bank_text()
        .replace("code: TEST-BANK", "code: OTHER-BANK")
        .replace("TEST-DP1", "OTHER-DP1")
        .replace("TEST-SC1", "OTHER-SC1")
        .replace("TEST-M-01", "OTHER-M-01")
        .replace("TEST-X-01", "OTHER-X-01")
        .replace("TEST-AR-01", "OTHER-AR-01"),
        "b-bank.yaml",
    )
    error = only(check_banks(folder, FRAMEWORK_CODES))
    assert error.file == "assessments/b-bank.yaml"
    assert error.path == "items[0].id"
    assert error.line == line_of(other, "id: TEST-S-01")
    assert (
        "duplicate id 'TEST-S-01' across banks (also assessments/a-bank.yaml items[0].id)"
        in error.message
    )


def test_a_duplicate_id_within_a_bank(tmp_path):
    path, errors = errors_for(tmp_path, bank_text().replace("id: TEST-M-01", "id: TEST-S-01"))
    error = only(errors)
    assert (error.path, error.line) == ("items[1].id", line_of(path, "id: TEST-S-01", 1))
    assert "also items[0]" in error.message


def test_shape_errors_come_from_the_schema_with_their_key_path(tmp_path):
    text = bank_text().replace("        rationale: Not so either.\n", "", 1)
    text = text.replace("    select: 2\n", "    select: 2\n    steps: []\n")
    path, errors = errors_for(tmp_path, text)
    by_path = {e.path: e for e in errors}
    assert "'rationale' is a required property" in by_path["items[0].options[2]"].message
    assert by_path["items[0].options[2]"].line == line_of(path, "text: Wrong two")
    assert "'steps' was unexpected" in by_path["items[1]"].message


def test_an_unreadable_file_is_one_error_with_its_line(tmp_path):
    path, errors = errors_for(
        tmp_path, bank_text().replace("title: A test bank", "title: [unclosed")
    )
    error = only(errors)
    assert error.file == "assessments/test-bank.yaml" and "not valid YAML" in error.message
    assert error.line is not None


def test_a_foundation_item_has_four_options(tmp_path):
    text = (
        bank_text()
        .replace("format: role", "format: foundation")
        .replace("scenarios:\n", "scenarios: []\nx:\n", 1)
    )
    text = text.split("scenarios: []")[0]  # a foundation bank of stand-alone items
    path, errors = errors_for(tmp_path, text)
    error = only(errors)
    assert error.path == "items[0].options"
    assert "3 options; a foundation-format item has exactly 4" in error.message


# --- load, versions, export ----------------------------------------------------------------


def item_version_ids(session, code: str) -> dict[str, int]:
    version = published_bank_version(session, bank_by_code(session, code).id)
    return {
        e.item_version.item.code: e.item_version_id
        for e in session.scalars(select(BankEntry).where(BankEntry.bank_version_id == version.id))
    }


def test_load_without_a_framework_is_refused(session):
    with pytest.raises(ContentInvalid) as caught:
        load_banks(session, ASSESSMENTS)
    assert "no competency framework is published" in str(caught.value)


def test_loading_the_shipped_banks_twice_changes_nothing(session):
    load_framework_files(session)
    first = load_banks(session, ASSESSMENTS)
    session.commit()
    items, versions = count(session, Item), count(session, ItemVersion)
    assert {b.outcome for b in first.banks} == {"created"}
    assert {b.code for b in first.banks} == shipped_codes()
    assert items == versions == sum(b.items for b in first.banks) >= 470
    second = load_banks(session, ASSESSMENTS)
    session.commit()
    assert {b.outcome for b in second.banks} == {"unchanged"}
    n = len(first.banks)
    assert f"{n} bank(s): 0 created, 0 with a new version, {n} unchanged" in second.summary()
    assert (count(session, Item), count(session, ItemVersion)) == (items, versions)
    assert count(session, BankVersion) == n
    for bank, version in ((b.code, b.version) for b in second.banks):
        stored = published_bank_version(session, bank_by_code(session, bank).id)
        assert stored.number == version == 1
        assert content_of(session, stored).digest() == stored.content_hash


def test_a_changed_item_gets_a_new_item_version_and_the_rest_keep_theirs(session, tmp_path):
    load_framework_files(session)
    folder = tmp_path / "assessments"
    shutil.copytree(ASSESSMENTS, folder)
    load_banks(session, folder)
    session.commit()
    before = item_version_ids(session, "P3OF-BANK")
    old_version = published_bank_version(session, bank_by_code(session, "P3OF-BANK").id)
    bank_file = folder / "p3o-foundation-bank.yaml"
    text = bank_file.read_text()
    bank_file.write_text(
        text.replace("How is this work best classified?", "How would you classify this work?", 1)
    )
    report = load_banks(session, folder)
    session.commit()
    outcomes = {b.code: b for b in report.banks}
    changed = outcomes["P3OF-BANK"]
    assert (changed.outcome, changed.version) == ("new-version", 2)
    assert (changed.new_item_versions, changed.kept_item_versions) == (1, len(before) - 1)
    assert {b.outcome for c, b in outcomes.items() if c != "P3OF-BANK"} == {"unchanged"}
    after = item_version_ids(session, "P3OF-BANK")
    assert after.keys() == before.keys()
    assert [c for c in before if before[c] != after[c]] == ["P3OF-VOC-01"]
    new = session.get(ItemVersion, after["P3OF-VOC-01"])
    old = session.get(ItemVersion, before["P3OF-VOC-01"])
    assert (old.number, new.number) == (1, 2)
    assert "How would you classify" in new.content["stem"]
    assert "How is this work best classified?" in old.content["stem"]
    # the version before is kept, retired, and still holds the old item version
    session.refresh(old_version)
    assert old_version.status == BankStatus.RETIRED
    assert before["P3OF-VOC-01"] in {e.item_version_id for e in old_version.entries}


def test_a_changed_case_gives_its_items_new_versions(session, tmp_path):
    load_framework_files(session)
    folder = tmp_path / "assessments"
    shutil.copytree(ASSESSMENTS, folder)
    load_banks(session, folder)
    session.commit()
    before = item_version_ids(session, "COORD-BANK")
    scenario_versions = count(session, StimulusVersion)
    bank_file = folder / "pmo-coordinator-bank.yaml"
    bank = bank_from_data(read_yaml(bank_file).data)
    first_line = bank.scenarios[0].case.splitlines()[0]
    bank_file.write_text(bank_file.read_text().replace(first_line, first_line + " (revised)", 1))
    report = {b.code: b for b in load_banks(session, folder).banks}
    session.commit()
    assert report["COORD-BANK"].new_item_versions == len(bank.scenarios[0].items)
    assert count(session, StimulusVersion) == scenario_versions + 1
    after = item_version_ids(session, "COORD-BANK")
    changed = {c for c in before if before[c] != after[c]}
    assert changed == {i.id for i in bank.scenarios[0].items}
    for code in changed:
        assert "(revised)" in session.get(ItemVersion, after[code]).scenario_version.body
        assert "(revised)" not in session.get(ItemVersion, before[code]).scenario_version.body


def test_export_then_load_gives_the_same_hashes_and_no_new_versions(session, tmp_path):
    load_framework_files(session)
    load_banks(session, ASSESSMENTS)
    session.commit()
    hashes = {
        code: published_bank_version(session, bank_by_code(session, code).id).content_hash
        for code in ("P3OF-BANK", "P3OP-BANK", "ANLST-BANK", "COORD-BANK")
    }
    out = tmp_path / "exported"
    written = export_banks(session, out)
    assert [p.name for p in written] == sorted(f"{c.lower()}.yaml" for c in shipped_codes())
    assert check_banks(out, FRAMEWORK_CODES) == []
    files = {b.code: b.digest() for b in (bank_from_data(read_yaml(p).data) for p in shipped())}
    for path in written:
        exported = bank_from_data(read_yaml(path).data)
        assert exported.digest() == files[exported.code], path.name
    versions, item_versions = count(session, BankVersion), count(session, ItemVersion)
    report = load_banks(session, out)
    session.commit()
    assert {b.outcome for b in report.banks} == {"unchanged"}
    assert (count(session, BankVersion), count(session, ItemVersion)) == (versions, item_versions)
    for code, digest in hashes.items():
        assert (
            published_bank_version(session, bank_by_code(session, code).id).content_hash == digest
        )
    # and exporting again gives the very same text
    assert export_bank_texts(session) == {p.name: p.read_text() for p in written}


def test_an_id_another_bank_holds_is_refused_on_load(session, tmp_path):
    load_framework_files(session)
    folder = tmp_path / "assessments"
    write_bank(folder, bank_text())
    load_banks(session, folder)
    session.commit()
    moved = write_bank(folder, bank_text().replace("code: TEST-BANK", "code: MOVED-BANK"))
    with pytest.raises(ContentInvalid) as caught:
        load_banks(session, folder)
    paths = {e.path: e for e in caught.value.errors}
    assert "items[0].id" in paths and "scenarios[0].id" in paths and "data_packs[0].id" in paths
    assert paths["items[0].id"].line == line_of(moved, "id: TEST-S-01")
    assert "already belongs to bank TEST-BANK" in paths["items[0].id"].message


# --- immutability -------------------------------------------------------------------------------


def loaded_test_bank(session, tmp_path):
    load_framework_files(session)
    folder = tmp_path / "assessments"
    write_bank(folder, bank_text())
    load_banks(session, folder)
    session.commit()
    return published_bank_version(session, bank_by_code(session, "TEST-BANK").id)


def test_an_item_version_never_changes(session, tmp_path):
    version = loaded_test_bank(session, tmp_path)
    item_version = version.entries[0].item_version
    item_version.content = {**item_version.content, "stem": "Changed"}
    with pytest.raises(ImmutableVersionError):
        session.flush()
    session.rollback()
    scenario = session.scalars(select(StimulusVersion)).first()
    scenario.body = "Changed"
    with pytest.raises(ImmutableVersionError):
        session.flush()


def test_a_published_bank_version_never_changes(session, tmp_path):
    version = loaded_test_bank(session, tmp_path)
    version.title = "Renamed"
    with pytest.raises(ImmutableVersionError):
        session.flush()
    session.rollback()
    version = session.get(BankVersion, version.id)
    session.delete(version.entries[0])
    with pytest.raises(ImmutableVersionError):
        session.flush()
    session.rollback()
    # retiring it is allowed (the content stays as it was)
    version = session.get(BankVersion, version.id)
    version.status = BankStatus.RETIRED
    session.flush()


def test_a_draft_is_written_then_published_and_ids_stay_with_their_bank(session, tmp_path):
    version = loaded_test_bank(session, tmp_path)
    content = content_of(session, version)
    draft = write_bank_version(session, content, note="copy").version
    assert draft.status == BankStatus.DRAFT and draft.number == 2
    assert {e.item_version_id for e in draft.entries} == {
        e.item_version_id for e in version.entries
    }
    publish_bank_version(session, draft)
    assert (version.status, draft.status) == (BankStatus.RETIRED, BankStatus.PUBLISHED)
    with pytest.raises(DomainError, match="not a draft"):
        publish_bank_version(session, draft)
    from dataclasses import replace

    with pytest.raises(DomainError, match="already belongs to bank TEST-BANK"):
        write_bank_version(session, replace(content, code="ELSE-BANK"))
