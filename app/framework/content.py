"""A framework version's whole content as one plain, canonical value.

Equal content gives an equal digest, so loading the same files twice is a no-op and two
versions can be compared without the database. Pure: no Flask, no ORM.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

#: competency code -> (level, essential)
Requirements = dict[str, tuple[int, bool]]


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
    #: the certificate catalogue, by code: code, name, issuer, expires, max_level and
    #: evidences (competency code -> level)
    certificates: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        """The content as plain JSON. Empty optional parts (a level's ``note``, a
        competency's ``boundary``, the certificate catalogue) are left out, so content
        written before they existed keeps its digest."""
        doc: dict[str, object] = {
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "scale": [_without_blank(s, "note") for s in self.scale],
            "caps": dict(sorted(self.caps.items())),
            "groups": [
                {
                    **g,
                    "competencies": [_without_blank(c, "boundary") for c in g["competencies"]],
                }
                for g in self.groups
            ],
            "profiles": {
                role: {c: list(v) for c, v in sorted(reqs.items())}
                for role, reqs in sorted(self.profiles.items())
            },
        }
        if self.certificates:
            doc["certificates"] = sorted(self.certificates, key=lambda c: c["code"])
        return doc

    def digest(self) -> str:
        blob = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def competency_codes(self) -> list[str]:
        return [c["code"] for g in self.groups for c in g["competencies"]]


def _without_blank(item: dict, key: str) -> dict:
    return {k: v for k, v in item.items() if k != key or v}


def certificate(
    *, code: str, name: str, issuer: str, expires: bool, max_level: int, evidences: dict
) -> dict:
    """One certificate of the catalogue, canonical (evidences in code order)."""
    return {
        "code": code,
        "name": _text(name),
        "issuer": _text(issuer),
        "expires": bool(expires),
        "max_level": int(max_level),
        "evidences": {str(k): int(v) for k, v in sorted(evidences.items())},
    }


def certificates_from_data(data: dict) -> list[dict]:
    """The canonical certificate list of a ``certificate-catalogue`` document."""
    return sorted(
        (
            certificate(
                code=c["code"],
                name=c["name"],
                issuer=c["issuer"],
                expires=c.get("expires", False),
                max_level=c["max_level"],
                evidences=c.get("evidences") or {},
            )
            for c in data.get("certificates") or []
        ),
        key=lambda c: c["code"],
    )


def framework_from_data(data: dict) -> FrameworkContent:
    return FrameworkContent(
        code=data["code"],
        name=_text(data["name"]),
        description=_text(data.get("description")),
        scale=[
            {
                "level": s["level"],
                "name": _text(s["name"]),
                "descriptor": _text(s["descriptor"]),
                "note": _text(s.get("note")),
            }
            for s in sorted(data["scale"], key=lambda s: s["level"])
        ],
        caps={k: int(v) for k, v in data["evidence_caps"].items()},
        groups=[
            {
                "code": g["code"],
                "name": _text(g["name"]),
                "description": _text(g.get("description")),
                "competencies": [
                    {
                        "code": c["code"],
                        "name": _text(c["name"]),
                        "description": _text(c["description"]),
                        "boundary": _text(c.get("boundary")),
                        "indicators": {
                            int(k): _text(v)
                            for k, v in sorted(
                                (c.get("indicators") or {}).items(), key=lambda kv: int(kv[0])
                            )
                        },
                    }
                    for c in g["competencies"]
                ],
            }
            for g in data["groups"]
        ],
    )


@dataclass(frozen=True)
class CertificateProblem:
    """One broken rule of a catalogue entry. ``key`` is the path inside the certificate
    (``code``, ``name``, ``max_level``, ``evidences`` or ``evidences.<competency code>``);
    ``also`` is, for a duplicate, the index of the other certificate in ``others``."""

    key: str
    message: str
    also: int | None = None


def _same(value: object) -> str:
    return _text(value).casefold()


def certificate_problems(
    cert: dict,
    *,
    others: Sequence[dict] = (),
    known: set[str] | None = None,
    cap: int | None = None,
) -> list[CertificateProblem]:
    """The catalogue's rules for one certificate, the one place they are stated (the
    ``content check`` of the file and the trainer's draft screens both apply them):

    - its code and its name are each used once in the catalogue (``others``, compared
      without regard to case or spacing);
    - its ``max_level`` is not above the framework's cap for external certificates
      (``cap``, when known);
    - it evidences at least one competency, each one of the framework's (``known``, when
      given) at a level not above its ``max_level``.
    """
    problems = []
    for key in ("code", "name"):
        value = _same(cert.get(key))
        for j, other in enumerate(others):
            if value and _same(other.get(key)) == value:
                problems.append(CertificateProblem(key, f"duplicate {key} {cert[key]!r}", also=j))
                break
    max_level = int(cert["max_level"])
    if cap is not None and max_level > cap:
        problems.append(
            CertificateProblem(
                "max_level",
                f"max_level {max_level} is above the framework's cap for external "
                f"certificates ({cap})",
            )
        )
    evidences = cert.get("evidences") or {}
    if not evidences:
        problems.append(CertificateProblem("evidences", "it evidences no competency"))
    for code, level in evidences.items():
        where = f"evidences.{code}"
        if known is not None and code not in known:
            problems.append(CertificateProblem(where, f"unknown competency code {code!r}"))
        if level > max_level:
            problems.append(
                CertificateProblem(
                    where, f"level {level} is above the certificate's max_level {max_level}"
                )
            )
    return problems
