"""Export: a framework version back to the framework and role-profiles file format, so that
load → export → load changes nothing."""

from __future__ import annotations

import yaml

from app.framework.content import FrameworkContent


class _Folded(str):
    pass


def _folded(dumper, value):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")


def _dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=92)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Folded, _folded)


def _long(text: str):
    return _Folded(text) if len(text) > 60 else text


def export_documents(content: FrameworkContent) -> tuple[str, str]:
    """The framework and role-profiles files for ``content``, as YAML text."""
    framework_doc = {
        "kind": "competency-framework",
        "code": content.code,
        "name": content.name,
        "description": _long(content.description),
        "scale": [
            {
                "level": s["level"],
                "name": s["name"],
                "descriptor": _long(s["descriptor"]),
                **({"note": _long(s["note"])} if s.get("note") else {}),
            }
            for s in content.scale
        ],
        "evidence_caps": dict(content.caps),
        "groups": [
            {
                "code": g["code"],
                "name": g["name"],
                "description": _long(g["description"]),
                "competencies": [
                    {
                        "code": c["code"],
                        "name": c["name"],
                        "description": _long(c["description"]),
                        **({"boundary": _long(c["boundary"])} if c.get("boundary") else {}),
                        **(
                            {"indicators": {k: _long(v) for k, v in c["indicators"].items()}}
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
    return header + _dump(framework_doc), header + _dump(profiles_doc)


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
    return header + _dump(doc)
