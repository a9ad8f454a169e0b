"""The learning path files (curricula/learning/*.yaml): their schema and the checks beyond
a schema (docs/learning-content.md).

``kind: learning-path`` — one path per file: its code, title, summary, target roles
(``audience``), whether learners may enrol themselves (``open``), prerequisites (sets of
alternatives: another path or a catalogue certificate), enrolment rules and modules.

Checking a set of files returns each file's canonical content (``app.learning.content``)
and enrolment rules, or raises ``ContentInvalid`` with every error at its file, line and
key path. The rules themselves live in ``app.learning.content``; this module maps them to
the files' key paths and adds what only a set of files can show: path codes used twice
and prerequisite cycles between paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.content.certificates_schema import check_certificates
from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml, schema_errors
from app.content.framework_schema import check_framework
from app.content.roles import check_roles
from app.framework.content import FrameworkContent
from app.framework.scale import CODE_MAX_LENGTH, CODE_PATTERN
from app.learning.content import (
    DUE_DAYS_MAX,
    DUE_DAYS_MIN,
    MODULE_TYPES,
    PATH_CODE_PATTERN,
    TITLE_MAX,
    PathContent,
    References,
    find_cycle,
    path_from_data,
    path_problems,
    prerequisite_graph,
)

KIND = "learning-path"
#: The reference files a learning file is checked against, in curricula/.
FRAMEWORK, ROLES, CERTIFICATES = "framework.yaml", "roles.yaml", "certificates.yaml"

_CODE = {"type": "string", "pattern": CODE_PATTERN, "maxLength": CODE_MAX_LENGTH}
_PATH_CODE = {"type": "string", "pattern": PATH_CODE_PATTERN}
_TEXT = {"type": "string", "minLength": 1}
_TITLE = {"type": "string", "minLength": 1, "maxLength": TITLE_MAX}

LEARNING_PATH_SCHEMA = {
    "type": "object",
    "required": ["kind", "code", "title", "summary", "modules"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": KIND},
        "code": _PATH_CODE,
        "title": _TITLE,
        "summary": _TEXT,
        "audience": {"type": "array", "items": _CODE, "uniqueItems": True},
        "open": {"type": "boolean"},
        "prerequisites": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["any_of"],
                "additionalProperties": False,
                "properties": {
                    "any_of": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "minProperties": 1,
                            "maxProperties": 1,
                            "additionalProperties": False,
                            "properties": {"path": _PATH_CODE, "certificate": _CODE},
                        },
                    }
                },
            },
        },
        "enrolment_rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "due_days"],
                "additionalProperties": False,
                "properties": {
                    "role": _CODE,
                    "due_days": {
                        "type": "integer",
                        "minimum": DUE_DAYS_MIN,
                        "maximum": DUE_DAYS_MAX,
                    },
                },
            },
        },
        "modules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "title", "type", "hours", "outcomes", "evidences", "lesson"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "maxLength": 16},
                    "title": _TITLE,
                    "type": {"enum": list(MODULE_TYPES)},
                    "hours": {"type": "number", "minimum": 0.25, "maximum": 40},
                    "optional": {"type": "boolean"},
                    "requires": {"type": "array", "items": {"type": "string"}},
                    "outcomes": {"type": "array", "items": _TEXT},
                    "evidences": {
                        "type": "object",
                        "propertyNames": _CODE,
                        "additionalProperties": {"type": "integer"},
                    },
                    "lesson": {"type": "string"},
                    "assessment": _CODE,
                },
            },
        },
    },
}


@dataclass(frozen=True)
class PathFile:
    """One checked file: the version's content and the path's enrolment rules."""

    name: str
    content: PathContent
    #: (role code, due days), in the file's order
    rules: tuple[tuple[str, int], ...] = ()


def _file_errors(content: ContentFile, refs: References) -> list[ContentError]:
    """A file's own errors (schema first; the content rules once the shape is right)."""
    errors = schema_errors(content, LEARNING_PATH_SCHEMA)
    if errors:
        return errors
    data = content.data
    assert isinstance(data, dict)  # the schema says so
    path = path_from_data(data)
    for problem in path_problems(path, refs):
        errors.append(content.error(_file_key(problem.key, data), problem.message))
    seen: dict[str, int] = {}
    for i, rule in enumerate(data.get("enrolment_rules") or []):
        where = f"enrolment_rules[{i}].role"
        if refs.roles is not None and rule["role"] not in refs.roles:
            errors.append(content.error(where, f"unknown role code {rule['role']!r}"))
        if rule["role"] in seen:
            also = f"enrolment_rules[{seen[rule['role']]}]"
            errors.append(content.error(where, f"a second rule for {rule['role']} (also {also})"))
        seen.setdefault(rule["role"], i)
    return errors


def _file_key(key: str, data: dict) -> str:
    """A problem's key in the file's own order. The canonical content sorts the audience
    and the prerequisites; point at the entry where the file has it."""
    head, _, rest = key.partition(".")
    if head.startswith("audience["):
        code = sorted(set(data.get("audience") or []))[int(head[9:-1])]
        return f"audience[{data['audience'].index(code)}]"
    if head.startswith("prerequisites[") and rest.startswith("any_of["):
        canonical = path_from_data(data).prerequisites
        i, j = int(head[14:-1]), int(rest[7:-1])
        kind, code = canonical[i][j]
        for fi, entry in enumerate(data.get("prerequisites") or []):
            for fj, alt in enumerate(entry["any_of"]):
                if alt.get(kind) == code:
                    return f"prerequisites[{fi}].any_of[{fj}]"
    return key


def check_paths(
    contents: Iterable[ContentFile],
    refs: References,
    existing: Mapping[str, Iterable[str]] | None = None,
) -> list[PathFile]:
    """Check learning path files together: each one's schema and rules, path codes used
    once across the files, every path named as a prerequisite known (``refs.paths`` plus
    the files' own codes), and no prerequisite cycle between paths — the files' paths and
    ``existing`` ones (path code -> the path codes its prerequisites name, for paths already
    in the database). Returns the checked files or raises ContentInvalid with every error."""
    contents = list(contents)
    codes = {
        c.data["code"]
        for c in contents
        if isinstance(c.data, dict) and isinstance(c.data.get("code"), str)
    }
    known = refs.paths | codes if refs.paths is not None else frozenset(codes)
    refs = References(refs.competencies, refs.caps, refs.roles, refs.certificates, known)
    errors: list[ContentError] = []
    checked: list[tuple[ContentFile, PathFile]] = []
    by_code: dict[str, str] = {}
    for content in contents:
        own = _file_errors(content, refs)
        errors += own
        if own:
            continue
        data = content.data
        assert isinstance(data, dict)
        if data["code"] in by_code:
            also = by_code[data["code"]]
            errors.append(
                content.error("code", f"duplicate path code {data['code']!r} (also {also})")
            )
            continue
        by_code[data["code"]] = content.name
        rules = tuple((r["role"], r["due_days"]) for r in data.get("enrolment_rules") or [])
        checked.append((content, PathFile(content.name, path_from_data(data), rules)))
    graph = {code: set(named) for code, named in (existing or {}).items()}
    graph.update(prerequisite_graph(f.content for _, f in checked))
    cycle = find_cycle(graph)
    start = next((code for code in cycle or () if code in by_code), None)
    if cycle and start:
        content = next(c for c, f in checked if f.content.code == start)
        errors.append(
            content.error(
                "prerequisites",
                "prerequisites between paths go round in a circle: " + " → ".join(cycle),
            )
        )
    if errors:
        raise ContentInvalid(errors)
    return [f for _, f in checked]


def check_learning_files(
    contents: list[ContentFile],
    *,
    framework: FrameworkContent | None,
    role_codes: set[str] | None,
    certificate_codes: set[str] | None,
    folder: Path | None = None,
) -> list[ContentError]:
    """``flask content check``'s part for learning path files: their errors, checked
    against the framework, role catalogue and certificate catalogue checked alongside them.
    When one of those is not among the files checked, the one in ``folder`` (curricula/)
    is read instead, so a learning file can be checked on its own."""
    if not contents:
        return []
    if folder is not None:
        framework = framework or _quietly(lambda: check_framework(read_yaml(folder / FRAMEWORK)))
        if role_codes is None:
            role_codes = _quietly(lambda: _role_codes(read_yaml(folder / ROLES)))
        if certificate_codes is None:
            certificate_codes = _quietly(
                lambda: {
                    c["code"] for c in check_certificates(read_yaml(folder / CERTIFICATES), None)
                }
            )
    refs = References(
        competencies=frozenset(framework.competency_codes()) if framework else None,
        caps=dict(framework.caps) if framework else None,
        roles=frozenset(role_codes) if role_codes is not None else None,
        certificates=frozenset(certificate_codes) if certificate_codes is not None else None,
    )
    try:
        check_paths(contents, refs)
    except ContentInvalid as exc:
        return exc.errors
    return []


def _role_codes(content: ContentFile) -> set[str]:
    return {str(r["code"]).strip().upper() for r in check_roles(content)}


def _quietly(read):
    """A reference file's content, or None when it is missing or broken (its own check
    reports that)."""
    try:
        return read()
    except (ContentInvalid, OSError):
        return None
