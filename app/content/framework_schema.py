"""The framework and role-profiles files: their schemas and the checks beyond a schema.

Files (see curricula/framework.yaml and curricula/role-profiles.yaml):

* ``kind: competency-framework`` — scale (levels 0–5), evidence caps, groups of
  competencies;
* ``kind: role-profiles`` — for each role code, ``essential`` and ``desirable`` maps of
  competency code → required level, optionally ``based_on`` another role's profile.

Checking a file returns its canonical content (``app.framework.content``) or raises
``ContentInvalid`` with every error at its file, line and key path.
"""

from __future__ import annotations

from pathlib import Path

from app.content.certificates_schema import check_certificates
from app.content.files import (
    ContentError,
    ContentFile,
    ContentInvalid,
    read_yaml,
    schema_errors,
)
from app.framework.content import FrameworkContent, Requirements, framework_from_data
from app.framework.models import CAPPABLE
from app.framework.scale import CODE_MAX_LENGTH, CODE_PATTERN, MAX_LEVEL

CODE = {"type": "string", "pattern": CODE_PATTERN, "maxLength": CODE_MAX_LENGTH}
TEXT = {"type": "string", "minLength": 1}
LEVEL = {"type": "integer", "minimum": 0, "maximum": MAX_LEVEL}

FRAMEWORK_SCHEMA = {
    "type": "object",
    "required": ["kind", "code", "name", "scale", "evidence_caps", "groups"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "competency-framework"},
        "code": {"type": "string", "pattern": r"^[A-Z][A-Z0-9-]*$", "maxLength": 32},
        "name": TEXT,
        "description": {"type": "string"},
        "scale": {
            "type": "array",
            "minItems": MAX_LEVEL + 1,
            "maxItems": MAX_LEVEL + 1,
            "items": {
                "type": "object",
                "required": ["level", "name", "descriptor"],
                "additionalProperties": False,
                "properties": {"level": LEVEL, "name": TEXT, "descriptor": TEXT, "note": TEXT},
            },
        },
        "evidence_caps": {
            "type": "object",
            "required": CAPPABLE,
            "additionalProperties": False,
            "properties": {s: LEVEL for s in CAPPABLE},
        },
        "groups": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "name", "competencies"],
                "additionalProperties": False,
                "properties": {
                    "code": CODE,
                    "name": TEXT,
                    "description": {"type": "string"},
                    "competencies": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["code", "name", "description"],
                            "additionalProperties": False,
                            "properties": {
                                "code": CODE,
                                "name": TEXT,
                                "description": TEXT,
                                "boundary": TEXT,
                                "indicators": {
                                    "type": "object",
                                    "propertyNames": {"pattern": r"^[0-5]$"},
                                    "additionalProperties": TEXT,
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}

REQUIREMENTS = {"type": "object", "propertyNames": CODE, "additionalProperties": LEVEL}

PROFILES_SCHEMA = {
    "type": "object",
    "required": ["kind", "framework", "profiles"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "role-profiles"},
        "framework": {"type": "string"},
        "profiles": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role"],
                "additionalProperties": False,
                "properties": {
                    "role": CODE,
                    "based_on": CODE,
                    "essential": REQUIREMENTS,
                    "desirable": REQUIREMENTS,
                },
            },
        },
    },
}


def check_framework(content: ContentFile) -> FrameworkContent:
    """Validate a framework file; return its canonical content or raise ContentInvalid."""
    errors = schema_errors(content, FRAMEWORK_SCHEMA)
    if errors:
        raise ContentInvalid(errors)
    data = content.data
    assert isinstance(data, dict)  # the schema says so
    levels = [s["level"] for s in data["scale"]]
    for i, level in enumerate(levels):
        if levels.count(level) > 1:
            errors.append(content.error(f"scale[{i}].level", f"level {level} appears twice"))
    seen: dict[str, str] = {}
    for gi, group in enumerate(data["groups"]):
        here = f"groups[{gi}]"
        if group["code"] in seen:
            errors.append(
                content.error(
                    f"{here}.code", f"duplicate code {group['code']!r} (also {seen[group['code']]})"
                )
            )
        seen[group["code"]] = here
        for ci, comp in enumerate(group["competencies"]):
            there = f"{here}.competencies[{ci}]"
            if comp["code"] in seen:
                errors.append(
                    content.error(
                        f"{there}.code",
                        f"duplicate code {comp['code']!r} (also {seen[comp['code']]})",
                    )
                )
            seen[comp["code"]] = there
    if errors:
        raise ContentInvalid(errors)
    return framework_from_data(data)


def check_profiles(
    content: ContentFile, framework: FrameworkContent | None, role_codes: set[str] | None
) -> dict[str, Requirements]:
    """Validate a role-profiles file against the framework (and the role catalogue, when
    given); return the resolved profiles (``based_on`` applied) or raise ContentInvalid."""
    errors = schema_errors(content, PROFILES_SCHEMA)
    if errors:
        raise ContentInvalid(errors)
    known = set(framework.competency_codes()) if framework else None
    assert isinstance(content.data, dict)  # the schema says so
    profiles = content.data["profiles"]
    raw: dict[str, Requirements] = {}
    for i, profile in enumerate(profiles):
        role = profile["role"]
        if role in raw:
            errors.append(content.error(f"profiles[{i}].role", f"role {role!r} has two profiles"))
        if role_codes is not None and role not in role_codes:
            errors.append(content.error(f"profiles[{i}].role", f"unknown role code {role!r}"))
        raw[role] = _requirements(content, i, profile, known, errors)
    for i, profile in enumerate(profiles):
        base = profile.get("based_on")
        if base and base not in raw:
            errors.append(
                content.error(
                    f"profiles[{i}].based_on", f"based on {base!r}, which has no profile here"
                )
            )
    if errors:
        raise ContentInvalid(errors)
    bases = {p["role"]: p["based_on"] for p in profiles if "based_on" in p}
    return {role: _resolve(content, role, raw, bases, ()) for role in raw}


def _requirements(
    content: ContentFile, i: int, profile: dict, known: set[str] | None, errors: list[ContentError]
) -> Requirements:
    """One profile's own lines; unknown codes and double listings go to ``errors``."""
    reqs: Requirements = {}
    for kind, essential in (("essential", True), ("desirable", False)):
        for code, level in (profile.get(kind) or {}).items():
            where = f"profiles[{i}].{kind}.{code}"
            if known is not None and code not in known:
                errors.append(content.error(where, f"unknown competency code {code!r}"))
            if code in reqs:
                errors.append(content.error(where, f"{code} is both essential and desirable"))
            reqs[code] = (level, essential)
    return reqs


def _resolve(
    content: ContentFile,
    role: str,
    raw: dict[str, Requirements],
    bases: dict[str, str],
    trail: tuple[str, ...],
) -> Requirements:
    """A role's requirements with its ``based_on`` chain applied (level 0 removes a line)."""
    if role in trail:
        assert isinstance(content.data, dict)
        i = next(i for i, p in enumerate(content.data["profiles"]) if p["role"] == role)
        raise ContentInvalid(
            [
                content.error(
                    f"profiles[{i}].based_on",
                    "based_on goes round in a circle: " + " → ".join((*trail, role)),
                )
            ]
        )
    base = _resolve(content, bases[role], raw, bases, (*trail, role)) if role in bases else {}
    merged = {**base, **raw[role]}
    return {code: value for code, value in merged.items() if value[0] > 0}


def read_framework_files(
    framework_path: Path,
    profiles_path: Path,
    role_codes: set[str] | None = None,
    certificates_path: Path | None = None,
) -> FrameworkContent:
    """The framework, its role profiles and (when given) its certificate catalogue as one
    canonical content value; ContentInvalid with the errors of every file that has any."""
    framework = check_framework(read_yaml(framework_path))
    errors: list[ContentError] = []
    try:
        framework.profiles = check_profiles(read_yaml(profiles_path), framework, role_codes)
    except ContentInvalid as exc:
        errors += exc.errors
    if certificates_path is not None:
        try:
            framework.certificates = check_certificates(read_yaml(certificates_path), framework)
        except ContentInvalid as exc:
            errors += exc.errors
    if errors:
        raise ContentInvalid(errors)
    return framework
