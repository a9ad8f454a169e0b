"""Export: each path's published version back to the learning path file format
(docs/learning-content.md), so that load → export → load changes nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.content.yaml_out import Flow, Literal, dump, long_text
from app.learning.content import PathContent
from app.learning.models import PathVersion
from app.learning.path_queries import content_of, published_paths, rule_rows

HEADER = "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"


def path_document(content: PathContent, rules: list[tuple[str, int]]) -> dict:
    """A path version's content and the path's enrolment rules as a file's document."""
    return {
        "kind": "learning-path",
        "code": content.code,
        "title": content.title,
        "summary": long_text(content.summary),
        "audience": Flow(content.audience),
        "open": content.open_enrolment,
        "prerequisites": [
            {"any_of": Flow({kind: code} for kind, code in alternatives)}
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
                **({"requires": Flow(m.requires)} if m.requires else {}),
                "outcomes": list(m.outcomes),
                "evidences": dict(m.evidences),
                **({"assessment": m.assessment} if m.assessment else {}),
                "lesson": Literal(m.lesson + "\n"),
            }
            for m in content.modules
        ],
    }


def export_path(content: PathContent, rules: list[tuple[str, int]]) -> str:
    """The file for one path, as YAML text."""
    doc = path_document(content, rules)
    return HEADER + dump(doc)


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
