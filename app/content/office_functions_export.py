"""Export: the coverage report's rules back to the office functions file format
(office_functions.py), so that load → export → load changes nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.content.office_functions import KIND, loaded_content
from app.content.yaml_out import Flow, dump, long_text

HEADER = (
    "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"
    "# The format is described in docs/report-content.md and in the shipped\n"
    "# curricula/office-functions.yaml.\n"
)


def export_office_functions(session: Session) -> str | None:
    """The office functions file for the rules loaded, or None when none are."""
    content = loaded_content(session)
    if content is None:
        return None
    doc = {
        "kind": KIND,
        "framework": content.framework,
        "functions": [
            {
                "code": f.code,
                "name": f.name,
                "description": long_text(f.description),
                "competencies": Flow(f.competencies),
                "level": f.level,
            }
            for f in content.functions
        ],
        "needs": {kind: list(codes) for kind, codes in content.needs.items()},
    }
    return HEADER + dump(doc)
