"""Loading the assessment-set files (assessments/definitions/*.yaml) into the database,
after the question banks.

Each definition is checked against what the database holds — the banks' published
versions, the published framework's competencies, the learning modules — and nothing is
written unless every file is sound. Then each assessment is created, updated (a changed
definition: its settings, sections and certified levels) or left alone (the same
definition); attempts keep the items they drew, their deadline and their pass mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.assessment import authoring_queries as queries
from app.assessment.authoring import apply_definition
from app.content.assessment_schema import FOLDER, DefinitionCheck, check_definition_files
from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml
from app.db import utcnow


@dataclass
class AssessmentsLoadReport:
    #: code -> "created" | "updated" | "unchanged", in the files' order
    outcomes: dict[str, str] = field(default_factory=dict)
    warnings: list[ContentError] = field(default_factory=list)

    def summary(self) -> str:
        counts = {
            outcome: sum(1 for o in self.outcomes.values() if o == outcome)
            for outcome in ("created", "updated", "unchanged")
        }
        return (
            f"{len(self.outcomes)} assessment(s): {counts['created']} created, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged"
        )


def definition_paths(assessments_dir: Path) -> list[Path]:
    """The assessment-set files (``assessments/definitions/*.yaml``), in name order."""
    folder = assessments_dir / FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def read_definitions(session: Session, assessments_dir: Path) -> DefinitionCheck:
    """Read and check the assessment-set files against the database; ContentInvalid with
    every error of every file."""
    contents: list[ContentFile] = []
    errors: list[ContentError] = []
    for path in definition_paths(assessments_dir):
        try:
            contents.append(read_yaml(path, str(path.relative_to(assessments_dir.parent))))
        except ContentInvalid as exc:
            errors += exc.errors
    check = check_definition_files(contents, queries.references(session))
    errors += check.errors
    if errors:
        raise ContentInvalid(errors)
    return check


def load_definitions(
    session: Session,
    assessments_dir: Path,
    *,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> AssessmentsLoadReport:
    """Load every assessment-set file under ``assessments_dir`` (see the module docstring).
    Flushes, never commits."""
    check = read_definitions(session, assessments_dir)
    report = AssessmentsLoadReport(warnings=check.warnings)
    moment = now or utcnow()
    refs = queries.references(session)
    for definition in check.definitions:
        report.outcomes[definition.code] = apply_definition(
            session, definition, refs=refs, actor_id=actor_id, now=moment
        )
    session.flush()
    return report
