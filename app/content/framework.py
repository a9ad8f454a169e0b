"""The competency framework and role profiles as content files: check, load, export.

Files (see curricula/framework.yaml and curricula/role-profiles.yaml):

* ``kind: competency-framework`` — scale (levels 0–5), evidence caps, groups of
  competencies;
* ``kind: role-profiles`` — for each role code, ``essential`` and ``desirable`` maps of
  competency code → required level, optionally ``based_on`` another role's profile.

Loading compares the files' canonical content with the current published version: the
same content is a no-op; different content becomes a new published version (the old one
is retired, and evidence recorded against it keeps pointing at its definitions). Export
writes a version back in the same format, so load → export → load changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.content.files import ContentError, ContentFile, ContentInvalid
from app.framework.models import (
    MAX_LEVEL,
    Competency,
    CompetencyGroup,
    EvidenceCap,
    Framework,
    FrameworkVersion,
    ProficiencyLevel,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.org.models import Role

CODE = {"type": "string", "pattern": r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", "maxLength": 16}
TEXT = {"type": "string", "minLength": 1}
LEVEL = {"type": "integer", "minimum": 0, "maximum": MAX_LEVEL}
CAPPABLE = [s.value for s in Source if s != Source.SELF_RATING]

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
            "type": "array", "minItems": MAX_LEVEL + 1, "maxItems": MAX_LEVEL + 1,
            "items": {"type": "object", "required": ["level", "name", "descriptor"],
                      "additionalProperties": False,
                      "properties": {"level": LEVEL, "name": TEXT, "descriptor": TEXT}},
        },
        "evidence_caps": {
            "type": "object", "required": CAPPABLE, "additionalProperties": False,
            "properties": {s: LEVEL for s in CAPPABLE},
        },
        "groups": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "required": ["code", "name", "competencies"],
                "additionalProperties": False,
                "properties": {
                    "code": CODE, "name": TEXT, "description": {"type": "string"},
                    "competencies": {
                        "type": "array", "minItems": 1,
                        "items": {
                            "type": "object", "required": ["code", "name", "description"],
                            "additionalProperties": False,
                            "properties": {
                                "code": CODE, "name": TEXT, "description": TEXT,
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
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "required": ["role"], "additionalProperties": False,
                "properties": {"role": CODE, "based_on": CODE, "essential": REQUIREMENTS,
                               "desirable": REQUIREMENTS},
            },
        },
    },
}


def schema_errors(content: ContentFile, schema: dict) -> list[ContentError]:
    """Structural errors, each with the key path and line it concerns."""
    errors = []
    for err in sorted(Draft202012Validator(schema).iter_errors(content.data),
                      key=lambda e: list(map(str, e.absolute_path))):
        path = ""
        for part in err.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        errors.append(content.error(path, err.message))
    return errors


# --- canonical content -------------------------------------------------------------------------


def _text(value) -> str:
    return " ".join(str(value or "").split())


@dataclass
class FrameworkContent:
    """A framework version's whole content, canonical: equal content, equal hash."""

    code: str
    name: str
    description: str
    scale: list[dict]
    caps: dict[str, int]
    groups: list[dict]
    #: role code -> competency code -> (level, essential)
    profiles: dict[str, dict[str, tuple[int, bool]]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "code": self.code, "name": self.name, "description": self.description,
            "scale": self.scale, "caps": dict(sorted(self.caps.items())), "groups": self.groups,
            "profiles": {role: {c: list(v) for c, v in sorted(reqs.items())}
                         for role, reqs in sorted(self.profiles.items())},
        }

    def digest(self) -> str:
        blob = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def competency_codes(self) -> list[str]:
        return [c["code"] for g in self.groups for c in g["competencies"]]


def framework_from_data(data: dict) -> FrameworkContent:
    return FrameworkContent(
        code=data["code"], name=_text(data["name"]), description=_text(data.get("description")),
        scale=[{"level": s["level"], "name": _text(s["name"]),
                "descriptor": _text(s["descriptor"])}
               for s in sorted(data["scale"], key=lambda s: s["level"])],
        caps={k: int(v) for k, v in data["evidence_caps"].items()},
        groups=[{"code": g["code"], "name": _text(g["name"]),
                 "description": _text(g.get("description")),
                 "competencies": [{"code": c["code"], "name": _text(c["name"]),
                                   "description": _text(c["description"]),
                                   "indicators": {int(k): _text(v) for k, v in
                                                  sorted((c.get("indicators") or {}).items(),
                                                         key=lambda kv: int(kv[0]))}}
                                  for c in g["competencies"]]}
                for g in data["groups"]],
    )


def check_framework(content: ContentFile) -> FrameworkContent:
    """Validate a framework file; return its canonical content or raise ContentInvalid."""
    errors = schema_errors(content, FRAMEWORK_SCHEMA)
    if errors:
        raise ContentInvalid(errors)
    data = content.data
    levels = [s["level"] for s in data["scale"]]
    for i, level in enumerate(levels):
        if levels.count(level) > 1:
            errors.append(content.error(f"scale[{i}].level", f"level {level} appears twice"))
    seen: dict[str, str] = {}
    for gi, group in enumerate(data["groups"]):
        here = f"groups[{gi}]"
        if group["code"] in seen:
            errors.append(content.error(f"{here}.code", f"duplicate code {group['code']!r} "
                                                        f"(also {seen[group['code']]})"))
        seen[group["code"]] = here
        for ci, comp in enumerate(group["competencies"]):
            there = f"{here}.competencies[{ci}]"
            if comp["code"] in seen:
                errors.append(content.error(f"{there}.code", f"duplicate code {comp['code']!r} "
                                                             f"(also {seen[comp['code']]})"))
            seen[comp["code"]] = there
    if errors:
        raise ContentInvalid(errors)
    return framework_from_data(data)


Requirements = dict[str, tuple[int, bool]]  # competency code -> (level, essential)


def check_profiles(content: ContentFile, framework: FrameworkContent | None,
                   role_codes: set[str] | None) -> dict[str, Requirements]:
    """Validate a role-profiles file against the framework (and the role catalogue, when
    given); return the resolved profiles (``based_on`` applied) or raise ContentInvalid."""
    errors = schema_errors(content, PROFILES_SCHEMA)
    if errors:
        raise ContentInvalid(errors)
    known = set(framework.competency_codes()) if framework else None
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
            errors.append(content.error(f"profiles[{i}].based_on",
                                        f"based on {base!r}, which has no profile here"))
    if errors:
        raise ContentInvalid(errors)
    bases = {p["role"]: p["based_on"] for p in profiles if "based_on" in p}
    return {role: _resolve(content, role, raw, bases, ()) for role in raw}


def _requirements(content: ContentFile, i: int, profile: dict, known: set[str] | None,
                  errors: list[ContentError]) -> Requirements:
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


def _resolve(content: ContentFile, role: str, raw: dict[str, Requirements],
             bases: dict[str, str], trail: tuple[str, ...]) -> Requirements:
    """A role's requirements with its ``based_on`` chain applied (level 0 removes a line)."""
    if role in trail:
        i = next(i for i, p in enumerate(content.data["profiles"]) if p["role"] == role)
        raise ContentInvalid([content.error(f"profiles[{i}].based_on",
                                            "based_on goes round in a circle: "
                                            + " → ".join((*trail, role)))])
    base = _resolve(content, bases[role], raw, bases, (*trail, role)) if role in bases else {}
    merged = {**base, **raw[role]}
    return {code: value for code, value in merged.items() if value[0] > 0}


# --- database -----------------------------------------------------------------------------


def published_version(session: Session, code: str) -> FrameworkVersion | None:
    return session.scalar(
        select(FrameworkVersion).join(Framework)
        .where(Framework.code == code, FrameworkVersion.status == VersionStatus.PUBLISHED)
        .order_by(FrameworkVersion.number.desc()))


def content_of(session: Session, version: FrameworkVersion) -> FrameworkContent:
    """Read a version back into canonical content."""
    version = session.scalar(
        select(FrameworkVersion).where(FrameworkVersion.id == version.id).options(
            selectinload(FrameworkVersion.levels), selectinload(FrameworkVersion.caps),
            selectinload(FrameworkVersion.groups).selectinload(CompetencyGroup.competencies),
            selectinload(FrameworkVersion.requirements).selectinload(RoleRequirement.role),
            selectinload(FrameworkVersion.requirements).selectinload(RoleRequirement.competency),
        ).execution_options(populate_existing=True))
    profiles: dict[str, dict[str, tuple[int, bool]]] = {}
    for req in version.requirements:
        profiles.setdefault(req.role.code, {})[req.competency.code] = (req.level, req.essential)
    return FrameworkContent(
        code=version.framework.code, name=version.name, description=version.description,
        scale=[{"level": lv.level, "name": lv.name, "descriptor": lv.descriptor}
               for lv in version.levels],
        caps={cap.source.value: cap.max_level for cap in version.caps},
        groups=[{"code": g.code, "name": g.name, "description": g.description,
                 "competencies": [{"code": c.code, "name": c.name, "description": c.description,
                                   "indicators": {int(k): v for k, v in
                                                  sorted(c.indicators.items(),
                                                         key=lambda kv: int(kv[0]))}}
                                  for c in g.competencies]}
                for g in version.groups],
        profiles=profiles,
    )


def write_version(session: Session, framework: Framework, content: FrameworkContent, *,
                  status: VersionStatus, actor_id: int | None = None,
                  note: str = "") -> FrameworkVersion:
    """Create a new version of ``framework`` holding ``content``."""
    roles = {r.code: r.id for r in session.scalars(select(Role))}
    missing = sorted(set(content.profiles) - roles.keys())
    if missing:
        raise ContentInvalid([ContentError("role-profiles", "profiles", None,
                                           "roles not in the catalogue: " + ", ".join(missing))])
    number = (session.scalar(select(func.max(FrameworkVersion.number))
                             .where(FrameworkVersion.framework_id == framework.id)) or 0) + 1
    version = FrameworkVersion(framework=framework, number=number, status=status,
                               name=content.name, description=content.description,
                               content_hash=content.digest(), note=note, created_by_id=actor_id)
    if status == VersionStatus.PUBLISHED:
        version.published_at = datetime.now(UTC)
        version.published_by_id = actor_id
    session.add(version)
    version.levels = [ProficiencyLevel(**s) for s in content.scale]
    version.caps = [EvidenceCap(source=Source(k), max_level=v) for k, v in content.caps.items()]
    by_code: dict[str, Competency] = {}
    for gi, g in enumerate(content.groups):
        group = CompetencyGroup(version=version, code=g["code"], name=g["name"],
                                description=g["description"], position=gi)
        session.add(group)
        for ci, c in enumerate(g["competencies"]):
            comp = Competency(version=version, group=group, code=c["code"], name=c["name"],
                              description=c["description"], position=ci,
                              indicators={str(k): v for k, v in c["indicators"].items()})
            session.add(comp)
            by_code[c["code"]] = comp
    session.flush()
    session.add_all(
        RoleRequirement(version=version, role_id=roles[role], competency_id=by_code[code].id,
                        level=level, essential=essential)
        for role, reqs in content.profiles.items() for code, (level, essential) in reqs.items())
    session.flush()
    return version


@dataclass
class FrameworkLoadReport:
    outcome: str  # "created" | "new-version" | "unchanged"
    version: int
    competencies: int
    profiles: int

    def summary(self) -> str:
        words = {"created": "created as version", "new-version": "changed: published version",
                 "unchanged": "unchanged at version"}
        return (f"{words[self.outcome]} {self.version} ({self.competencies} competencies, "
                f"{self.profiles} role profiles)")


def load_framework(session: Session, framework_path: Path, profiles_path: Path,
                   role_codes: set[str] | None = None) -> FrameworkLoadReport:
    """Load the framework and role profiles files (see the module docstring)."""
    content = read_framework_files(framework_path, profiles_path, role_codes)
    framework = session.scalar(select(Framework).where(Framework.code == content.code))
    if framework is None:
        framework = Framework(code=content.code, name=content.name)
        session.add(framework)
        session.flush()
    current = published_version(session, content.code)
    if current is not None and current.content_hash == content.digest():
        return FrameworkLoadReport("unchanged", current.number, len(content.competency_codes()),
                                   len(content.profiles))
    if current is not None:
        current.status = VersionStatus.RETIRED
    framework.name = content.name
    version = write_version(session, framework, content, status=VersionStatus.PUBLISHED,
                            note=f"loaded from {framework_path.name}")
    return FrameworkLoadReport("created" if current is None else "new-version", version.number,
                               len(content.competency_codes()), len(content.profiles))


def read_framework_files(framework_path: Path, profiles_path: Path,
                         role_codes: set[str] | None = None) -> FrameworkContent:
    from app.content.files import read_yaml

    framework = check_framework(read_yaml(framework_path))
    framework.profiles = check_profiles(read_yaml(profiles_path), framework, role_codes)
    return framework


# --- export -----------------------------------------------------------------------------------


class _Folded(str):
    pass


def _folded(dumper, value):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Folded, _folded)


def _long(text: str):
    return _Folded(text) if len(text) > 60 else text


def export_documents(content: FrameworkContent) -> tuple[str, str]:
    """The framework and role-profiles files for ``content``, as YAML text."""
    framework_doc = {
        "kind": "competency-framework", "code": content.code, "name": content.name,
        "description": _long(content.description),
        "scale": [{"level": s["level"], "name": s["name"], "descriptor": _long(s["descriptor"])}
                  for s in content.scale],
        "evidence_caps": dict(content.caps),
        "groups": [{"code": g["code"], "name": g["name"], "description": _long(g["description"]),
                    "competencies": [{"code": c["code"], "name": c["name"],
                                      "description": _long(c["description"]),
                                      **({"indicators": {k: _long(v) for k, v in
                                                         c["indicators"].items()}}
                                         if c["indicators"] else {})}
                                     for c in g["competencies"]]}
                   for g in content.groups],
    }
    order = content.competency_codes()
    profiles_doc = {"kind": "role-profiles", "framework": content.code, "profiles": []}
    for role, reqs in sorted(content.profiles.items()):
        ranked = sorted(reqs.items(), key=lambda kv: order.index(kv[0]))
        entry = {"role": role,
                 "essential": {c: lv for c, (lv, ess) in ranked if ess},
                 "desirable": {c: lv for c, (lv, ess) in ranked if not ess}}
        profiles_doc["profiles"].append({k: v for k, v in entry.items() if v})
    header = "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"
    dump = lambda doc: yaml.dump(doc, Dumper=_Dumper, sort_keys=False,  # noqa: E731
                                 allow_unicode=True, width=92)
    return header + dump(framework_doc), header + dump(profiles_doc)
