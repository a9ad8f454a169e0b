"""The question bank files (assessments/*.yaml): their schema and the checks beyond a schema
(docs/assessment-content.md).

``kind: question-bank`` — one bank per file: its code, title, format, author, the
original-work attestation, topics, stand-alone items, scenarios (a case and its items) and
data packs.

Checking a set of bank files returns each file's canonical content
(``app.assessment.content.BankContent``) or raises ``ContentInvalid`` with every error at
its file, line and key path. The item and bank rules live in ``app.assessment.content``;
this module gives them the files' key paths and adds what only a set of files shows: bank
codes and item, scenario and data pack ids used in two files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.assessment.content import (
    ASSERTION_REASON,
    BANK_CODE_PATTERN,
    BANK_FORMATS,
    ITEM_ID_PATTERN,
    ITEM_TYPES,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TOPIC_CODE_PATTERN,
    TRUE_FALSE,
    BankContent,
    BankReferences,
    bank_from_data,
    bank_problems,
)
from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml, schema_errors
from app.framework.scale import CODE_MAX_LENGTH, CODE_PATTERN

KIND = "question-bank"

_TEXT = {"type": "string", "minLength": 1}
_ID = {"type": "string", "pattern": ITEM_ID_PATTERN}
_CHOICE = {
    "type": "object",
    "required": ["id", "text"],
    "additionalProperties": False,
    "properties": {"id": {"type": "string", "pattern": r"^[A-Za-z0-9-]{1,8}$"}, "text": _TEXT},
}
_OPTIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["text", "rationale"],
        "additionalProperties": False,
        "properties": {"text": _TEXT, "correct": {"type": "boolean"}, "rationale": _TEXT},
    },
}
#: Fields every item has.
_COMMON = {
    "id": _ID,
    "type": {"enum": list(ITEM_TYPES)},
    "topic": {"type": "string", "pattern": TOPIC_CODE_PATTERN},
    "competency": {"type": "string", "pattern": CODE_PATTERN, "maxLength": CODE_MAX_LENGTH},
    "level": {"type": "integer"},
    "tags": {"type": "array", "items": _TEXT},
    "author": _TEXT,
    "data_pack": _ID,
    "stem": _TEXT,
    "name": {"type": "string", "maxLength": 200},
    "feedback": {"type": "string"},
    "notes": {"type": "string"},
}
#: The fields each type adds to the common ones (docs/assessment-content.md, "Item types").
_BY_TYPE: dict[str, tuple[list[str], dict]] = {
    SINGLE: (["stem", "options"], {"options": _OPTIONS}),
    MULTIPLE: (
        ["stem", "options"],
        {"options": _OPTIONS, "select": {"type": "integer", "minimum": 2}},
    ),
    TRUE_FALSE: (
        ["statement", "answer", "rationale_true", "rationale_false"],
        {
            "statement": _TEXT,
            "answer": {"type": "boolean"},
            "rationale_true": _TEXT,
            "rationale_false": _TEXT,
        },
    ),
    MATCHING: (
        ["stem", "premises", "responses", "pairs", "rationales"],
        {
            "premises": {"type": "array", "items": _CHOICE},
            "responses": {"type": "array", "items": _CHOICE},
            "pairs": {"type": "object", "additionalProperties": {"type": "string"}},
            "rationales": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    ),
    SEQUENCING: (
        ["stem", "steps"],
        {
            "steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["text", "rationale"],
                    "additionalProperties": False,
                    "properties": {"text": _TEXT, "rationale": _TEXT},
                },
            }
        },
    ),
    ASSERTION_REASON: (
        ["assertion", "reason", "answer", "rationales"],
        {
            "assertion": _TEXT,
            "reason": _TEXT,
            "answer": {"type": "string"},
            "rationales": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    ),
}

ITEM_SCHEMA = {
    "type": "object",
    "required": ["id", "type", "topic", "competency", "level"],
    "properties": {"type": {"enum": list(ITEM_TYPES)}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {
                "required": required,
                "properties": {**_COMMON, **extra},
                "additionalProperties": False,
            },
        }
        for kind, (required, extra) in _BY_TYPE.items()
    ],
}

BANK_SCHEMA = {
    "type": "object",
    "required": ["kind", "code", "title", "format", "author", "original_work", "topics"],
    "anyOf": [{"required": ["items"]}, {"required": ["scenarios"]}],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": KIND},
        "code": {"type": "string", "pattern": BANK_CODE_PATTERN},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "format": {"enum": list(BANK_FORMATS)},
        "author": _TEXT,
        "original_work": {"type": "boolean"},
        "topics": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": TOPIC_CODE_PATTERN},
            "additionalProperties": _TEXT,
        },
        "items": {"type": "array", "items": ITEM_SCHEMA},
        "scenarios": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "case", "items"],
                "additionalProperties": False,
                "properties": {
                    "id": _ID,
                    "title": _TEXT,
                    "case": _TEXT,
                    "items": {"type": "array", "items": ITEM_SCHEMA},
                },
            },
        },
        "data_packs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "content"],
                "additionalProperties": False,
                "properties": {"id": _ID, "title": _TEXT, "content": _TEXT},
            },
        },
    },
}


@dataclass(frozen=True)
class BankFile:
    """One checked file and its bank's canonical content."""

    name: str
    content: BankContent


def _file_errors(content: ContentFile, refs: BankReferences) -> list[ContentError]:
    """A file's own errors (schema first; the content rules once the shape is right)."""
    errors = schema_errors(content, BANK_SCHEMA)
    if errors:
        return errors
    assert isinstance(content.data, dict)  # the schema says so
    bank = bank_from_data(content.data)
    return [content.error(p.key, p.message) for p in bank_problems(bank, refs)]


def _ids(bank: BankContent) -> Iterable[tuple[str, str]]:
    """(key path, id) of every id a bank gives: data packs, scenarios, items."""
    for i, pack in enumerate(bank.data_packs):
        yield f"data_packs[{i}].id", pack.id
    for i, scenario in enumerate(bank.scenarios):
        yield f"scenarios[{i}].id", scenario.id
    for where, item, _ in bank.all_items():
        yield f"{where}.id", item.id


def check_bank_files(
    contents: Iterable[ContentFile], framework_codes: Iterable[str] | None
) -> list[BankFile]:
    """Check bank files together: each one's schema and rules (competency codes against
    ``framework_codes`` when given), bank codes used once, and item, scenario and data
    pack ids used in one file only. Returns the checked files or raises ContentInvalid
    with every error."""
    refs = BankReferences(
        competencies=frozenset(framework_codes) if framework_codes is not None else None
    )
    errors: list[ContentError] = []
    checked: list[BankFile] = []
    banks: dict[str, str] = {}
    ids: dict[str, str] = {}
    for content in contents:
        own = _file_errors(content, refs)
        errors += own
        if own:
            continue
        assert isinstance(content.data, dict)
        bank = bank_from_data(content.data)
        if bank.code in banks:
            errors.append(
                content.error(
                    "code", f"duplicate bank code {bank.code!r} (also {banks[bank.code]})"
                )
            )
            continue
        banks[bank.code] = content.name
        clash = False
        for where, ident in _ids(bank):
            if ident in ids:
                errors.append(
                    content.error(where, f"duplicate id {ident!r} across banks (also {ids[ident]})")
                )
                clash = True
        for where, ident in _ids(bank):
            ids.setdefault(ident, f"{content.name} {where}")
        if not clash:
            checked.append(BankFile(content.name, bank))
    if errors:
        raise ContentInvalid(errors)
    return checked


def check_bank_contents(
    contents: list[ContentFile], framework_codes: Iterable[str] | None
) -> list[ContentError]:
    """``flask content check``'s part for bank files already read: their errors."""
    try:
        check_bank_files(contents, framework_codes)
    except ContentInvalid as exc:
        return exc.errors
    return []


def bank_paths(folder: Path) -> list[Path]:
    """The bank files of a folder (assessments/), in name order."""
    return sorted(p for p in folder.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def read_bank_files(folder: Path) -> tuple[list[ContentFile], list[ContentError]]:
    """Every bank file of ``folder``, read (named relative to the folder's parent, e.g.
    ``assessments/p3o-foundation-bank.yaml``), and the errors of those that cannot be."""
    contents: list[ContentFile] = []
    errors: list[ContentError] = []
    for path in bank_paths(folder):
        try:
            contents.append(read_yaml(path, str(path.relative_to(folder.parent))))
        except ContentInvalid as exc:
            errors += exc.errors
    return contents, errors


def check_banks(folder: Path, framework_codes: Iterable[str] | None) -> list[ContentError]:
    """Every error of the bank files in ``folder`` (an empty list: all are sound), each
    with its file, line and key path. ``framework_codes``: the competency codes items may
    name (None skips that check)."""
    contents, errors = read_bank_files(folder)
    return errors + check_bank_contents(contents, framework_codes)
