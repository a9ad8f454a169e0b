"""What changed between two framework versions: a pure comparison of canonical content.

``diff(a, b)`` reads two :class:`~app.framework.content.FrameworkContent` values (``a`` the
older, ``b`` the newer) and reports, in the framework's own order, the competencies added,
removed and changed (field by field, old → new), the scale levels and evidence caps that
changed, for each role the profile lines that changed, and the certificates of the
catalogue added, removed or changed. Data in, data out: no Flask, no
database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotations; this module never touches the ORM
    from app.framework.content import FrameworkContent

#: (level, essential) of one role-profile line; None when the role does not require it.
Requirement = tuple[int, bool] | None


@dataclass(frozen=True)
class FieldChange:
    field: str  # "name", "description", "group", "indicator 3", ...
    old: object
    new: object


@dataclass(frozen=True)
class CompetencyRef:
    code: str
    name: str
    group: str  # the group's code


@dataclass(frozen=True)
class CompetencyChange:
    code: str
    name: str  # the newer name
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class LevelChange:
    level: int
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class CapChange:
    source: str
    old: int | None
    new: int | None


@dataclass(frozen=True)
class RequirementChange:
    competency: str
    old: Requirement
    new: Requirement


@dataclass(frozen=True)
class CertificateChange:
    code: str
    name: str  # the newer name (the older one when removed)
    status: str  # "added" | "removed" | "changed"
    #: for a changed certificate: name, issuer, expires, max_level, "evidences <code>"
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class FrameworkDiff:
    #: Changes to the framework's own name and description.
    framework: tuple[FieldChange, ...] = ()
    groups: tuple[FieldChange, ...] = ()
    added: tuple[CompetencyRef, ...] = ()
    removed: tuple[CompetencyRef, ...] = ()
    changed: tuple[CompetencyChange, ...] = ()
    scale: tuple[LevelChange, ...] = ()
    caps: tuple[CapChange, ...] = ()
    #: role code -> its changed profile lines, for the roles whose profile changed.
    profiles: dict[str, tuple[RequirementChange, ...]] = field(default_factory=dict)
    certificates: tuple[CertificateChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.framework
            or self.groups
            or self.added
            or self.removed
            or self.changed
            or self.scale
            or self.caps
            or self.profiles
            or self.certificates
        )


def _competencies(content: FrameworkContent) -> dict[str, tuple[dict, str]]:
    return {c["code"]: (c, g["code"]) for g in content.groups for c in g["competencies"]}


def _field_changes(old: dict, new: dict, fields: tuple[str, ...]) -> list[FieldChange]:
    return [FieldChange(f, old[f], new[f]) for f in fields if old[f] != new[f]]


def _competency_changes(old: dict, old_group: str, new: dict, new_group: str) -> list[FieldChange]:
    changes = _field_changes(old, new, ("name", "description", "boundary"))
    if old_group != new_group:
        changes.append(FieldChange("group", old_group, new_group))
    for level in sorted(old["indicators"].keys() | new["indicators"].keys()):
        before, after = old["indicators"].get(level), new["indicators"].get(level)
        if before != after:
            changes.append(FieldChange(f"indicator {level}", before, after))
    return changes


def _group_changes(a: FrameworkContent, b: FrameworkContent) -> list[FieldChange]:
    old = {g["code"]: g for g in a.groups}
    new = {g["code"]: g for g in b.groups}
    out = []
    for code in [g["code"] for g in b.groups]:
        if code not in old:
            out.append(FieldChange(f"group {code}", None, new[code]["name"]))
            continue
        out += [
            FieldChange(f"group {code} {c.field}", c.old, c.new)
            for c in _field_changes(old[code], new[code], ("name", "description"))
        ]
    out += [
        FieldChange(f"group {code}", old[code]["name"], None)
        for code in [g["code"] for g in a.groups]
        if code not in new
    ]
    return out


def _profile_changes(
    a: FrameworkContent, b: FrameworkContent, order: list[str]
) -> dict[str, tuple[RequirementChange, ...]]:
    rank = {code: i for i, code in enumerate(order)}
    out = {}
    for role in sorted(a.profiles.keys() | b.profiles.keys()):
        old, new = a.profiles.get(role, {}), b.profiles.get(role, {})
        lines = [
            RequirementChange(code, _line(old.get(code)), _line(new.get(code)))
            for code in sorted(old.keys() | new.keys(), key=lambda c: (rank.get(c, 1e9), c))
            if _line(old.get(code)) != _line(new.get(code))
        ]
        if lines:
            out[role] = tuple(lines)
    return out


def _certificate_changes(a: FrameworkContent, b: FrameworkContent) -> list[CertificateChange]:
    old = {c["code"]: c for c in a.certificates}
    new = {c["code"]: c for c in b.certificates}
    out = []
    for code in sorted(old.keys() | new.keys()):
        if code not in old:
            out.append(CertificateChange(code, new[code]["name"], "added"))
        elif code not in new:
            out.append(CertificateChange(code, old[code]["name"], "removed"))
        else:
            before, after = old[code], new[code]
            fields = _field_changes(before, after, ("name", "issuer", "expires", "max_level"))
            for comp in sorted(before["evidences"].keys() | after["evidences"].keys()):
                was, now = before["evidences"].get(comp), after["evidences"].get(comp)
                if was != now:
                    fields.append(FieldChange(f"evidences {comp}", was, now))
            if fields:
                out.append(CertificateChange(code, after["name"], "changed", tuple(fields)))
    return out


def _line(value) -> Requirement:
    return None if value is None else (int(value[0]), bool(value[1]))


def diff(a: FrameworkContent, b: FrameworkContent) -> FrameworkDiff:
    """What changed from ``a`` (older) to ``b`` (newer); an empty diff for equal content."""
    old, new = _competencies(a), _competencies(b)
    order_b, order_a = b.competency_codes(), a.competency_codes()
    changed = []
    for code in order_b:
        if code in old:
            (oc, og), (nc, ng) = old[code], new[code]
            fields = _competency_changes(oc, og, nc, ng)
            if fields:
                changed.append(CompetencyChange(code, nc["name"], tuple(fields)))
    old_levels = {s["level"]: s for s in a.scale}
    scale = []
    for level in b.scale:
        before = old_levels.get(level["level"])
        fields = (
            _field_changes(before, level, ("name", "descriptor", "note"))
            if before
            else [FieldChange("name", None, level["name"])]
        )
        if fields:
            scale.append(LevelChange(level["level"], tuple(fields)))
    return FrameworkDiff(
        framework=tuple(
            _field_changes(
                {"name": a.name, "description": a.description},
                {"name": b.name, "description": b.description},
                ("name", "description"),
            )
        ),
        groups=tuple(_group_changes(a, b)),
        added=tuple(
            CompetencyRef(c, new[c][0]["name"], new[c][1]) for c in order_b if c not in old
        ),
        removed=tuple(
            CompetencyRef(c, old[c][0]["name"], old[c][1]) for c in order_a if c not in new
        ),
        changed=tuple(changed),
        scale=tuple(scale),
        caps=tuple(
            CapChange(s, a.caps.get(s), b.caps.get(s))
            for s in sorted(a.caps.keys() | b.caps.keys())
            if a.caps.get(s) != b.caps.get(s)
        ),
        profiles=_profile_changes(a, b, order_b + [c for c in order_a if c not in new]),
        certificates=tuple(_certificate_changes(a, b)),
    )


# --- what publishing does to people's requirements --------------------------------------------


def requirement(levels_by_role: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """A person's requirement per competency: the highest level any of their roles asks for."""
    out: dict[str, int] = {}
    for levels in levels_by_role:
        for code, level in levels.items():
            out[code] = max(out.get(code, 0), level)
    return out


@dataclass(frozen=True)
class RequirementImpact:
    """How people's requirements move from one version's role profiles to another's: one
    "line" is one person's requirement in one competency."""

    people: int  # people considered (with a live current role)
    people_rising: int
    rises: dict[int, int]  # by how many levels -> how many lines
    people_falling: int
    falls: dict[int, int]

    @property
    def unchanged(self) -> bool:
        return not self.rises and not self.falls

    def sentences(self) -> list[str]:
        """The impact in words, e.g. "312 people: requirements rise in 540 competency lines
        (by 1 level in 500, 2 in 40)"."""
        out = []
        for people, moves, verb in (
            (self.people_rising, self.rises, "rise"),
            (self.people_falling, self.falls, "fall"),
        ):
            if not moves:
                continue
            lines = sum(moves.values())
            steps = ", ".join(
                f"{size} level{'s' if size > 1 else ''} in {count}"
                if i == 0
                else f"{size} in {count}"
                for i, (size, count) in enumerate(sorted(moves.items()))
            )
            out.append(
                f"{people} {_people(people)}: requirements {verb} in {lines} competency "
                f"line{'s' if lines != 1 else ''} (by {steps})"
            )
        return out


def _people(n: int) -> str:
    return "person" if n == 1 else "people"


def requirement_impact(
    old: Mapping[str, Mapping[str, int]],
    new: Mapping[str, Mapping[str, int]],
    role_sets: Mapping[frozenset[str], int],
) -> RequirementImpact:
    """Compare, for people holding each set of current roles (``role_sets``: role codes ->
    how many people hold exactly that set), their requirement per competency under the
    ``old`` role profiles and the ``new`` ones (role code -> competency code -> level). A
    competency required in one and not the other moves from or to 0."""
    rises: Counter[int] = Counter()
    falls: Counter[int] = Counter()
    people = rising = falling = 0
    for roles, count in role_sets.items():
        people += count
        before = requirement(old.get(r, {}) for r in roles)
        after = requirement(new.get(r, {}) for r in roles)
        moves = [after.get(c, 0) - before.get(c, 0) for c in before.keys() | after.keys()]
        up = Counter(m for m in moves if m > 0)
        down = Counter(-m for m in moves if m < 0)
        for size, lines in up.items():
            rises[size] += lines * count
        for size, lines in down.items():
            falls[size] += lines * count
        rising += count if up else 0
        falling += count if down else 0
    return RequirementImpact(people, rising, dict(rises), falling, dict(falls))
