"""Export: a framework version back to the framework and role-profiles file format, so that
load → export → load changes nothing."""

from __future__ import annotations

from app.content.yaml_out import dump, long_text
from app.framework.content import FrameworkContent


def export_documents(content: FrameworkContent) -> tuple[str, str]:
    """The framework and role-profiles files for ``content``, as YAML text."""
    framework_doc = {
        "kind": "competency-framework",
        "code": content.code,
        "name": content.name,
        "description": long_text(content.description),
        "scale": [
            {
                "level": s["level"],
                "name": s["name"],
                "descriptor": long_text(s["descriptor"]),
                **({"note": long_text(s["note"])} if s.get("note") else {}),
            }
            for s in content.scale
        ],
        "evidence_caps": dict(content.caps),
        "groups": [
            {
                "code": g["code"],
                "name": g["name"],
                "description": long_text(g["description"]),
                "competencies": [
                    {
                        "code": c["code"],
                        "name": c["name"],
                        "description": long_text(c["description"]),
                        **({"boundary": long_text(c["boundary"])} if c.get("boundary") else {}),
                        **(
                            {"indicators": {k: long_text(v) for k, v in c["indicators"].items()}}
                            if c["indicators"]
                            else {}
                        ),
                    }
                    for c in g["competencies"]
                ],
            }
            for g in content.groups
        ],
    }
    order = content.competency_codes()
    profiles: list[dict] = []
    profiles_doc = {"kind": "role-profiles", "framework": content.code, "profiles": profiles}
    for role, reqs in sorted(content.profiles.items()):
        ranked = sorted(reqs.items(), key=lambda kv: order.index(kv[0]))
        entry = {
            "role": role,
            "essential": {c: lv for c, (lv, ess) in ranked if ess},
            "desirable": {c: lv for c, (lv, ess) in ranked if not ess},
        }
        profiles.append({k: v for k, v in entry.items() if v})
    header = "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"
    return header + dump(framework_doc), header + dump(profiles_doc)


def export_certificates(content: FrameworkContent) -> str | None:
    """The certificate-catalogue file for ``content``, or None when it has no catalogue."""
    if not content.certificates:
        return None
    doc = {
        "kind": "certificate-catalogue",
        "framework": content.code,
        "certificates": [dict(c) for c in content.certificates],
    }
    header = "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"
    return header + dump(doc)
