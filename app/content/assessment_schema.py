"""The assessment-set files (assessments/definitions/*.yaml): their schema and the checks
beyond a schema (docs/assessment-content.md, "Assessment-set files").

``kind: assessment-set`` — a list of assessments, each with its settings, its sections
(which bank, how many items or scenarios, filtered by topic, tag and competency), the
competency levels a pass certifies and the learning module a pass completes.

The rules live in ``app.assessment.definition``; this module gives them the files' key
paths (``assessments[0].sections[3].count``) and adds what only a set of files shows: an
assessment code used twice, and a learning module's ``assessment:`` key naming an
assessment no file defines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.assessment.content import BANK_CODE_PATTERN, TOPIC_CODE_PATTERN, BankContent
from app.assessment.definition import (
    FEEDBACK_POLICIES,
    STATUSES,
    TITLE_MAX,
    UNITS,
    AssessmentDefinition,
    DefinitionReferences,
    ModuleRef,
    definition_findings,
    definition_from_data,
    parse_moment,
)
from app.content.bank_schema import BankFile, check_bank_files, read_bank_files
from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml, schema_errors
from app.framework.scale import CODE_MAX_LENGTH, CODE_PATTERN

KIND = "assessment-set"
#: Where the assessment-set files live, below assessments/.
FOLDER = "definitions"

_CODE = {"type": "string", "pattern": CODE_PATTERN, "maxLength": CODE_MAX_LENGTH}
_COUNT = {"type": "integer"}
_OPTIONAL_COUNT = {"type": ["integer", "null"]}

SECTION_SCHEMA = {
    "type": "object",
    "required": ["bank", "count"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "maxLength": TITLE_MAX},
        "bank": {"type": "string", "pattern": BANK_CODE_PATTERN},
        "unit": {"enum": list(UNITS)},
        "count": _COUNT,
        "unscored": _COUNT,
        "topics": {"type": "array", "items": {"type": "string", "pattern": TOPIC_CODE_PATTERN}},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "competencies": {"type": "array", "items": _CODE},
    },
}

ASSESSMENT_SCHEMA = {
    "type": "object",
    "required": ["code", "title", "sections"],
    "additionalProperties": False,
    "properties": {
        "code": _CODE,
        "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX},
        "summary": {"type": "string"},
        "status": {"enum": list(STATUSES)},
        "module": _CODE,
        "pass_percent": _COUNT,
        "time_limit_minutes": _OPTIONAL_COUNT,
        "grace_seconds": _COUNT,
        "attempt_limit": _OPTIONAL_COUNT,
        "wait_minutes": _COUNT,
        "shuffle_items": {"type": "boolean"},
        "shuffle_options": {"type": "boolean"},
        "feedback": {"enum": list(FEEDBACK_POLICIES)},
        # a YAML timestamp or ISO 8601 text; read by definition.parse_moment
        "opens_at": {},
        "closes_at": {},
        "sections": {"type": "array", "items": SECTION_SCHEMA},
        "certifies": {
            "type": "object",
            "propertyNames": _CODE,
            "additionalProperties": {"type": "integer"},
        },
    },
}

SET_SCHEMA = {
    "type": "object",
    "required": ["kind", "assessments"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": KIND},
        "assessments": {"type": "array", "minItems": 1, "items": ASSESSMENT_SCHEMA},
    },
}


@dataclass(frozen=True)
class DefinitionFile:
    """One checked file and the definitions it holds, in its order."""

    name: str
    definitions: tuple[AssessmentDefinition, ...]


@dataclass
class DefinitionCheck:
    """What checking a set of files found."""

    files: list[DefinitionFile] = field(default_factory=list)
    errors: list[ContentError] = field(default_factory=list)
    warnings: list[ContentError] = field(default_factory=list)

    @property
    def definitions(self) -> list[AssessmentDefinition]:
        return [d for f in self.files for d in f.definitions]


def _read_entries(
    content: ContentFile, out: DefinitionCheck
) -> list[tuple[int, AssessmentDefinition]]:
    """(index, definition) of each entry of a schema-sound file; an entry whose opening or
    closing is not a date and time is reported and left out."""
    assert isinstance(content.data, dict)
    entries = []
    for i, entry in enumerate(content.data["assessments"]):
        bad = False
        for key in ("opens_at", "closes_at"):
            try:
                parse_moment(entry.get(key))
            except ValueError:
                bad = True
                out.errors.append(
                    content.error(
                        f"assessments[{i}].{key}",
                        f"{entry.get(key)!r} is not a date and time; write e.g. "
                        "2025-09-01T09:00:00Z",
                    )
                )
        if not bad:
            entries.append((i, definition_from_data(entry)))
    return entries


def check_definition_files(
    contents: Iterable[ContentFile], refs: DefinitionReferences
) -> DefinitionCheck:
    """Check assessment-set files together: each one's schema, each definition's rules
    against ``refs`` (the banks, the framework, the learning modules; a None reference
    skips its checks), and assessment codes used once across the files."""
    out = DefinitionCheck()
    codes: dict[str, str] = {}
    for content in contents:
        errors = schema_errors(content, SET_SCHEMA)
        if errors:
            out.errors += errors
            continue
        good: list[AssessmentDefinition] = []
        for i, definition in _read_entries(content, out):
            where = f"assessments[{i}]"
            if definition.code in codes:
                out.errors.append(
                    content.error(
                        f"{where}.code",
                        f"duplicate assessment code {definition.code!r} (also "
                        f"{codes[definition.code]})",
                    )
                )
                continue
            codes[definition.code] = f"{content.name} {where}"
            findings = definition_findings(definition, refs)
            out.errors += [content.error(f"{where}.{p.key}", p.message) for p in findings.errors]
            out.warnings += [
                content.error(f"{where}.{p.key}", p.message) for p in findings.warnings
            ]
            if not findings.errors:
                good.append(definition)
        out.files.append(DefinitionFile(content.name, tuple(good)))
    return out


# --- what the definitions may name, from the files checked alongside -------------------------


def bank_references(bank_files: Iterable[BankFile]) -> dict[str, BankContent | None]:
    """Bank code -> its content, for the bank files checked (each becomes a published
    version when loaded)."""
    return {f.content.code: f.content for f in bank_files}


def read_bank_references(folder: Path, framework_codes) -> dict[str, BankContent | None] | None:
    """The banks of ``folder`` (assessments/) when they are sound, else None (their own
    check reports why)."""
    contents, errors = read_bank_files(folder)
    if errors:
        return None
    try:
        return bank_references(check_bank_files(contents, framework_codes))
    except ContentInvalid:
        return None


@dataclass(frozen=True)
class ModuleAt:
    """A learning module of a path file, and where its ``assessment:`` key is."""

    ref: ModuleRef
    content: ContentFile
    key: str


def modules_of(learning: Iterable[ContentFile]) -> dict[str, ModuleAt]:
    """Module code -> the module, from learning path files (read raw: a file with errors
    still tells which modules it has)."""
    out: dict[str, ModuleAt] = {}
    for content in learning:
        data = content.data
        if not isinstance(data, dict) or not isinstance(data.get("modules"), list):
            continue
        for i, module in enumerate(data["modules"]):
            if not isinstance(module, dict) or not isinstance(module.get("code"), str):
                continue
            assessment = module.get("assessment")
            out[module["code"]] = ModuleAt(
                ModuleRef(
                    module["code"],
                    str(module.get("type")),
                    assessment if isinstance(assessment, str) else None,
                ),
                content,
                f"modules[{i}].assessment",
            )
    return out


def read_learning_files(folder: Path) -> list[ContentFile]:
    """The learning path files of ``folder`` (curricula/learning) that can be read."""
    out = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            out.append(read_yaml(path, f"curricula/learning/{path.name}"))
        except ContentInvalid:
            continue
    return out


def module_link_errors(modules: Mapping[str, ModuleAt], codes: Iterable[str]) -> list[ContentError]:
    """A learning module's ``assessment:`` key naming an assessment no file defines."""
    known = set(codes)
    return [
        m.content.error(
            m.key, f"unknown assessment {m.ref.assessment!r}: no assessment-set file defines it"
        )
        for m in modules.values()
        if m.ref.assessment is not None and m.ref.assessment not in known
    ]


def codes_in(contents: Iterable[ContentFile]) -> set[str]:
    """Every assessment code the files give, sound or not."""
    out = set()
    for content in contents:
        entries = content.data.get("assessments") if isinstance(content.data, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("code"), str):
                out.add(entry["code"])
    return out


def read_definition_contents(folder: Path) -> list[ContentFile] | None:
    """The assessment-set files of ``folder`` (assessments/definitions) that can be read,
    or None when there is no such folder."""
    if not folder.is_dir():
        return None
    out = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            out.append(read_yaml(path))
        except ContentInvalid:
            continue
    return out


def check_assessment_contents(
    contents: list[ContentFile],
    *,
    banks: Mapping[str, BankContent | None] | None,
    competencies: Iterable[str] | None,
    learning: list[ContentFile] | None,
) -> DefinitionCheck:
    """``flask content check``'s part for assessment-set files already read, against the
    banks, framework and learning files checked alongside (None: unknown, not checked)."""
    modules = modules_of(learning) if learning is not None else None
    refs = DefinitionReferences(
        banks=banks,
        competencies=frozenset(competencies) if competencies is not None else None,
        modules={code: m.ref for code, m in modules.items()} if modules is not None else None,
    )
    return check_definition_files(contents, refs)
