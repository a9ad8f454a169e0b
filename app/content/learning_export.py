"""Export: each path's published version back to the learning path file format
(docs/learning-content.md), so that load → export → load changes nothing."""

from __future__ import annotations

import yaml
from sqlalchemy.orm import Session

from app.learning.content import PathContent
from app.learning.models import PathVersion
from app.learning.path_queries import content_of, published_paths, rule_rows

HEADER = "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"


class _Folded(str):
    pass


class _Literal(str):
    pass


class _Flow(list):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Folded, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style=">")
)
_Dumper.add_representer(
    _Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|")
)
_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def _long(text: str) -> str:
    return _Folded(text) if len(text) > 60 else text


def path_document(content: PathContent, rules: list[tuple[str, int]]) -> dict:
    """A path version's content and the path's enrolment rules as a file's document."""
    return {
        "kind": "learning-path",
        "code": content.code,
        "title": content.title,
        "summary": _long(content.summary),
        "audience": _Flow(content.audience),
        "open": content.open_enrolment,
        "prerequisites": [
            {"any_of": _Flow({kind: code} for kind, code in alternatives)}
            for alternatives in content.prerequisites
        ],
        "enrolment_rules": [{"role": role, "due_days": days} for role, days in rules],
        "modules": [
            {
                "code": m.code,
                "title": m.title,
                "type": m.type,
                "hours": m.hours,
                **({"optional": True} if m.optional else {}),
                **({"requires": _Flow(m.requires)} if m.requires else {}),
                "outcomes": list(m.outcomes),
                "evidences": dict(m.evidences),
                **({"assessment": m.assessment} if m.assessment else {}),
                "lesson": _Literal(m.lesson + "\n"),
            }
            for m in content.modules
        ],
    }


def export_path(content: PathContent, rules: list[tuple[str, int]]) -> str:
    """The file for one path, as YAML text."""
    doc = path_document(content, rules)
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=92)


def export_paths(session: Session) -> dict[str, str]:
    """File name -> YAML text, for every path that has a published version. Only active
    enrolment rules are written (an inactive one enrols nobody)."""
    out = {}
    for path in published_paths(session):
        version = session.get(PathVersion, path.version_id)
        assert version is not None
        rules = [(r.role_code, r.due_days) for r in rule_rows(session, path.path_id) if r.active]
        out[f"{path.code.lower()}.yaml"] = export_path(content_of(session, version), rules)
    return out
