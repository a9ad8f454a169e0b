"""The P3O office functions file (curricula/office-functions.yaml): schema, checks and an
idempotent load into the coverage report's rules (app/reports/models.py).

``kind: office-functions`` lists the functions an office can provide (planning, risk,
reporting…), each with the framework competencies it rests on and the level a member must
hold in every one of them to cover it, and ``needs``: which functions an office needs by
its P3 level, with a list added for hubs and a list that replaces the P3 level's for a
Centre of Excellence. docs/report-content.md describes the format for trainers.

Checking returns the canonical content (``OfficeFunctionsContent``) or raises
``ContentInvalid`` with every error at its file, line and key path. Loading makes the
database say exactly what the file says: functions are created or updated by code, and
functions no longer in the file are removed (no other record refers to them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from sqlalchemy import String, select
from sqlalchemy.orm import Session, selectinload

from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml, schema_errors
from app.framework.models import Competency
from app.framework.scale import CODE_MAX_LENGTH, CODE_PATTERN, MAX_LEVEL
from app.framework.versions import FRAMEWORK_CODE, published_version
from app.reports.models import (
    OfficeFunction,
    OfficeFunctionCompetency,
    OfficeFunctionNeed,
    OfficeKind,
)

KIND = "office-functions"
_CODE = {"type": "string", "pattern": CODE_PATTERN, "maxLength": CODE_MAX_LENGTH}
#: The order ``needs`` is written in (and checked against).
KINDS = tuple(k.value for k in OfficeKind)


def _text(column: str) -> dict:
    length = cast(String, OfficeFunction.__table__.c[column].type).length
    return {"type": "string", "minLength": 1, **({"maxLength": length} if length else {})}


SCHEMA = {
    "type": "object",
    "required": ["kind", "framework", "functions", "needs"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": KIND},
        "framework": {"type": "string", "minLength": 1},
        "functions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "name", "description", "competencies", "level"],
                "additionalProperties": False,
                "properties": {
                    "code": _CODE,
                    "name": _text("name"),
                    "description": _text("description"),
                    "competencies": {"type": "array", "minItems": 1, "items": _CODE},
                    "level": {"type": "integer", "minimum": 1, "maximum": MAX_LEVEL},
                },
            },
        },
        "needs": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {kind: {"type": "array", "items": _CODE} for kind in KINDS},
        },
    },
}


@dataclass(frozen=True)
class FunctionRule:
    """One function as the file defines it (text with its spacing tidied)."""

    code: str
    name: str
    description: str
    competencies: tuple[str, ...]
    level: int


@dataclass(frozen=True)
class OfficeFunctionsContent:
    framework: str
    functions: tuple[FunctionRule, ...]
    #: office kind -> function codes, in the order of ``functions``
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def kinds_of(self, code: str) -> set[str]:
        return {kind for kind, codes in self.needs.items() if code in codes}


def _tidy(text: str) -> str:
    return " ".join(str(text).split())


def _listed_once(
    content: ContentFile, where: str, codes: list[str], known, missing: str
) -> list[ContentError]:
    """Errors for a list of codes: a code listed twice, or (``known`` given) one that is
    not among ``known`` (``missing`` is the message, with ``{!r}`` for the code)."""
    errors: list[ContentError] = []
    listed: set[str] = set()
    for j, code in enumerate(codes):
        if code in listed:
            errors.append(content.error(f"{where}[{j}]", f"{code} is listed twice"))
        elif known is not None and code not in known:
            errors.append(content.error(f"{where}[{j}]", missing.format(code)))
        listed.add(code)
    return errors


def _function_errors(content: ContentFile, functions: list[dict], competency_codes):
    errors: list[ContentError] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(functions):
        if item["code"] in seen:
            also = f"(also functions[{seen[item['code']]}])"
            errors.append(
                content.error(f"functions[{i}].code", f"duplicate code {item['code']!r} {also}")
            )
        seen.setdefault(item["code"], i)
        errors += _listed_once(
            content,
            f"functions[{i}].competencies",
            item["competencies"],
            competency_codes,
            "no competency {!r} in the framework",
        )
    return errors


def check_office_functions(
    content: ContentFile, competency_codes: set[str] | None
) -> OfficeFunctionsContent:
    """Validate an office functions file (against ``competency_codes`` when given: the
    framework's codes); return its canonical content or raise ContentInvalid."""
    errors = schema_errors(content, SCHEMA)
    if errors:
        raise ContentInvalid(errors)
    data = cast(dict, content.data)
    functions = data["functions"]
    order = [item["code"] for item in functions]
    errors += _function_errors(content, functions, competency_codes)
    needs = {kind: data["needs"].get(kind) or [] for kind in KINDS}
    for kind, codes in needs.items():
        errors += _listed_once(
            content, f"needs.{kind}", codes, set(order), "no function {!r} in functions"
        )
    needed = {code for codes in needs.values() for code in codes}
    errors += [
        content.error(
            f"functions[{i}].code",
            f"{code} is needed by no kind of office: list it under needs",
        )
        for i, code in enumerate(order)
        if code not in needed and order.index(code) == i
    ]
    if errors:
        raise ContentInvalid(errors)
    return OfficeFunctionsContent(
        framework=data["framework"],
        functions=tuple(
            FunctionRule(
                code=item["code"],
                name=_tidy(item["name"]),
                description=_tidy(item["description"]),
                competencies=tuple(item["competencies"]),
                level=item["level"],
            )
            for item in functions
        ),
        needs={
            kind: tuple(sorted(set(codes), key=order.index))
            for kind, codes in needs.items()
            if codes
        },
    )


# --- loading ---------------------------------------------------------------------------------


@dataclass
class OfficeFunctionsReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed"
        )


def framework_codes(session: Session, code: str) -> set[str] | None:
    """The competency codes of framework ``code``'s published version (None: none)."""
    version = published_version(session, code)
    if version is None:
        return None
    return set(session.scalars(select(Competency.code).where(Competency.version_id == version.id)))


def read_office_functions(session: Session, path: Path) -> OfficeFunctionsContent:
    """Read and check a file against the published framework it names."""
    content = read_yaml(path)
    framework = content.data.get("framework") if isinstance(content.data, dict) else None
    codes = framework_codes(session, framework) if isinstance(framework, str) else None
    if isinstance(framework, str) and codes is None:
        raise ContentInvalid(
            [content.error("framework", f"framework {framework!r} is not published: load it first")]
        )
    return check_office_functions(content, codes)


def _state(function: OfficeFunction) -> tuple:
    return (
        function.name,
        function.description,
        function.level,
        function.position,
        tuple(c.competency_code for c in function.competencies),
        frozenset(OfficeKind(n.office_kind).value for n in function.needs),
    )


def load_office_functions(session: Session, path: Path) -> OfficeFunctionsReport:
    """Make the coverage rules say what the file says (see the module docstring). Loading
    the same file twice changes nothing."""
    content = read_office_functions(session, path)
    existing = {
        f.code: f
        for f in session.scalars(
            select(OfficeFunction).options(
                selectinload(OfficeFunction.competencies), selectinload(OfficeFunction.needs)
            )
        )
    }
    report = OfficeFunctionsReport()
    for position, rule in enumerate(content.functions):
        kinds = frozenset(content.kinds_of(rule.code))
        wanted = (rule.name, rule.description, rule.level, position, rule.competencies, kinds)
        function = existing.pop(rule.code, None)
        if function is not None and _state(function) == wanted:
            report.unchanged.append(rule.code)
            continue
        if function is None:
            function = OfficeFunction(code=rule.code)
            session.add(function)
            report.created.append(rule.code)
        else:
            report.updated.append(rule.code)
        function.name, function.description = rule.name, rule.description
        function.level, function.position = rule.level, position
        if tuple(c.competency_code for c in function.competencies) != rule.competencies:
            function.competencies.clear()
            session.flush()
            function.competencies.extend(
                OfficeFunctionCompetency(competency_code=code, position=i)
                for i, code in enumerate(rule.competencies)
            )
        have = {OfficeKind(n.office_kind).value for n in function.needs}
        if have != kinds:
            function.needs[:] = [n for n in function.needs if n.office_kind in kinds]
            function.needs.extend(
                OfficeFunctionNeed(office_kind=OfficeKind(k)) for k in sorted(kinds - have)
            )
    for code, function in sorted(existing.items()):
        session.delete(function)
        report.removed.append(code)
    session.flush()
    return report


def loaded_content(session: Session) -> OfficeFunctionsContent | None:
    """The rules in the database as canonical content (None: nothing loaded), for export."""
    functions = list(
        session.scalars(
            select(OfficeFunction)
            .options(selectinload(OfficeFunction.competencies), selectinload(OfficeFunction.needs))
            .order_by(OfficeFunction.position, OfficeFunction.code)
        )
    )
    if not functions:
        return None
    order = [f.code for f in functions]
    needs: dict[str, list[str]] = {}
    for f in functions:
        for need in f.needs:
            needs.setdefault(OfficeKind(need.office_kind).value, []).append(f.code)
    return OfficeFunctionsContent(
        framework=FRAMEWORK_CODE,
        functions=tuple(
            FunctionRule(
                code=f.code,
                name=f.name,
                description=f.description,
                competencies=tuple(c.competency_code for c in f.competencies),
                level=f.level,
            )
            for f in functions
        ),
        needs={
            kind: tuple(sorted(needs[kind], key=order.index)) for kind in KINDS if kind in needs
        },
    )
