"""Export: every assessment back to an assessment-set file (docs/assessment-content.md),
so that load -> export -> load changes nothing (the same definitions)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.assessment.authoring_queries import all_definitions
from app.assessment.definition import DEFAULTS, AssessmentDefinition, SectionDefinition
from app.content.assessment_schema import FOLDER, KIND
from app.content.yaml_out import Flow, Literal, dump

HEADER = (
    "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"
    "# docs/assessment-content.md describes the file.\n"
)
FILE_NAME = "assessments.yaml"


SETTINGS = (
    "pass_percent",
    "time_limit_minutes",
    "grace_seconds",
    "attempt_limit",
    "wait_minutes",
    "shuffle_items",
    "shuffle_options",
    "feedback",
)
#: Settings written even at their default, since a reader looks for them first.
ALWAYS = ("pass_percent", "time_limit_minutes")


def _section_document(s: SectionDefinition) -> dict:
    entry: dict[str, object] = {"title": s.title} if s.title else {}
    entry["bank"] = s.bank
    if s.unit != "item":
        entry["unit"] = s.unit
    entry["count"] = s.count
    if s.unscored:
        entry["unscored"] = s.unscored
    for key in ("topics", "tags", "competencies"):
        if getattr(s, key):
            entry[key] = Flow(getattr(s, key))
    return entry


def definition_document(d: AssessmentDefinition) -> dict:
    """One assessment as a file writes it: settings at their default left out (but the
    pass mark and time limit), empty filters left out, a long summary as block text."""
    doc: dict[str, object] = {"code": d.code, "title": d.title}
    if d.summary:
        doc["summary"] = Literal(d.summary + "\n") if "\n" in d.summary else d.summary
    if d.status != DEFAULTS["status"]:
        doc["status"] = d.status
    if d.module:
        doc["module"] = d.module
    doc.update({k: getattr(d, k) for k in SETTINGS if k in ALWAYS or getattr(d, k) != DEFAULTS[k]})
    for key in ("opens_at", "closes_at"):
        moment = getattr(d, key)
        if moment is not None:
            doc[key] = moment.isoformat().replace("+00:00", "Z")
    doc["sections"] = [_section_document(s) for s in d.sections]
    if d.certifies:
        doc["certifies"] = dict(d.certifies)
    return doc


def export_definitions_text(definitions: list[AssessmentDefinition]) -> str:
    doc = {"kind": KIND, "assessments": [definition_document(d) for d in definitions]}
    return HEADER + dump(doc)


def export_definitions(session: Session, assessments_out: Path) -> Path | None:
    """Write every assessment to ``assessments_out/definitions/assessments.yaml``; the
    file written, or None when there is no assessment."""
    definitions = all_definitions(session)
    if not definitions:
        return None
    folder = assessments_out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    path.write_text(export_definitions_text(definitions), encoding="utf-8")
    return path
