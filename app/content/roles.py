"""The role catalogue as a content file (curricula/roles.yaml): check and idempotent load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml
from app.org.models import Role, RoleFamily, RoleLevel

ROLE_KEYS = {"code", "name", "p3_level", "family", "description", "aliases"}
OPTIONAL_KEYS = {"description", "aliases"}


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(self.created)} created",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
        ]
        return ", ".join(parts)


def check_roles(content: ContentFile) -> list[dict]:
    """Validate a role catalogue file; return its roles or raise ContentInvalid."""
    data = content.data
    if not isinstance(data, dict) or data.get("kind") != "role-catalogue":
        raise ContentInvalid([content.error("kind", "expected 'kind: role-catalogue'")])
    roles = data.get("roles")
    if not isinstance(roles, list) or not roles:
        raise ContentInvalid([content.error("roles", "expected a non-empty list of roles")])
    errors: list[ContentError] = []
    seen: dict[str, int] = {}
    for i, role in enumerate(roles):
        errors += _role_errors(content, i, role, seen)
    if not errors:
        errors += _alias_errors(content, roles)
    if errors:
        raise ContentInvalid(errors)
    return roles


def _alias_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _alias_errors(content: ContentFile, roles: list[dict]) -> list[ContentError]:
    """An alias belongs to one role only: it may not repeat any role's name (its own
    included) or another alias, ignoring case and spacing."""
    names = {_alias_key(role["name"]): i for i, role in enumerate(roles)}
    taken: dict[str, str] = {}
    errors = []
    for i, role in enumerate(roles):
        for j, alias in enumerate(role.get("aliases") or []):
            key, here = _alias_key(alias), f"roles[{i}].aliases[{j}]"
            if key in names:
                errors.append(
                    content.error(here, f"alias {alias!r} is the name of roles[{names[key]}]")
                )
            elif key in taken:
                errors.append(content.error(here, f"alias {alias!r} is also {taken[key]}"))
            else:
                taken[key] = here
    return errors


def _role_errors(content: ContentFile, i: int, role, seen: dict[str, int]) -> list[ContentError]:
    """The problems of one role entry; ``seen`` collects codes to catch duplicates."""
    here = f"roles[{i}]"
    if not isinstance(role, dict):
        return [content.error(here, "each role must be a mapping of keys")]
    errors = [
        content.error(here, f"missing key '{key}'")
        for key in sorted(ROLE_KEYS - OPTIONAL_KEYS - role.keys())
    ]
    errors += [
        content.error(f"{here}.{key}", f"unknown key '{key}'")
        for key in sorted(role.keys() - ROLE_KEYS)
    ]
    code = str(role.get("code", "")).strip().upper()
    if code in seen:
        errors.append(
            content.error(
                f"{here}.code", f"duplicate code {role['code']!r} (also roles[{seen[code]}])"
            )
        )
    if code:
        seen[code] = i
    for key, enum_cls in (("p3_level", RoleLevel), ("family", RoleFamily)):
        if key in role and role[key] not in {m.value for m in enum_cls}:
            allowed = ", ".join(m.value for m in enum_cls)
            errors.append(content.error(f"{here}.{key}", f"{role[key]!r} is not one of: {allowed}"))
    aliases = role.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        errors.append(content.error(f"{here}.aliases", "must be a list of non-empty texts"))
    for key in ("code", "name"):
        limit = int(getattr(Role.__table__.c[key].type, "length", 0) or 0)
        if key in role and (not isinstance(role[key], str) or not role[key].strip()):
            errors.append(content.error(f"{here}.{key}", "must be non-empty text"))
        elif key in role and len(role[key].strip()) > limit:
            errors.append(content.error(f"{here}.{key}", f"must be at most {limit} characters"))
    return errors


def load_roles(session: Session, path: Path) -> LoadReport:
    """Create or update the roles of a catalogue file by code. Loading twice changes
    nothing; roles missing from the file are left as they are (never deleted)."""
    roles = check_roles(read_yaml(path))
    existing = {r.code: r for r in session.scalars(select(Role))}
    report = LoadReport()
    for item in roles:
        code = item["code"].strip().upper()
        values = {
            "name": item["name"].strip(),
            "p3_level": RoleLevel(item["p3_level"]),
            "family": RoleFamily(item["family"]),
            "description": " ".join(str(item.get("description") or "").split()),
            "aliases": [" ".join(a.split()) for a in item.get("aliases") or []],
        }
        role = existing.get(code)
        if role is None:
            session.add(Role(code=code, **values))
            report.created.append(code)
        elif any(getattr(role, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(role, k, v)
            report.updated.append(code)
        else:
            report.unchanged.append(code)
    session.flush()
    return report
