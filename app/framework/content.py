"""A framework version's whole content as one plain, canonical value.

Equal content gives an equal digest, so loading the same files twice is a no-op and two
versions can be compared without the database. Pure: no Flask, no ORM.
"""

from __future__ import annotations

import hashlib
import json
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

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "scale": self.scale,
            "caps": dict(sorted(self.caps.items())),
            "groups": self.groups,
            "profiles": {
                role: {c: list(v) for c, v in sorted(reqs.items())}
                for role, reqs in sorted(self.profiles.items())
            },
        }

    def digest(self) -> str:
        blob = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def competency_codes(self) -> list[str]:
        return [c["code"] for g in self.groups for c in g["competencies"]]


def framework_from_data(data: dict) -> FrameworkContent:
    return FrameworkContent(
        code=data["code"],
        name=_text(data["name"]),
        description=_text(data.get("description")),
        scale=[
            {"level": s["level"], "name": _text(s["name"]), "descriptor": _text(s["descriptor"])}
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
