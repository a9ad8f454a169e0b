"""Loading the learning path files (curricula/learning/*.yaml) into the database.

Each file becomes its path's published version. Loading compares the file's canonical
content with the path's current published version: the same content is a no-op; different
content becomes a new published version and the one before is retired — learners enrolled
on it keep it. A path's enrolment rules are created or updated by role (never removed: a
rule a trainer added stays). Files are checked against the published framework, its
certificate catalogue, the role catalogue and the paths already loaded, before anything is
written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml
from app.content.learning_schema import PathFile, check_paths
from app.db import utcnow
from app.learning.authoring import record, write_version
from app.learning.models import EnrolmentRule, LearningPath, PathStatus
from app.learning.path_queries import (
    path_by_code,
    published_prerequisites,
    published_version,
    references,
)
from app.org.models import Role


@dataclass
class PathLoadReport:
    code: str
    outcome: str  # "created" | "new-version" | "unchanged"
    version: int
    modules: int
    rules_created: list[str] = field(default_factory=list)
    rules_updated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        words = {
            "created": "created as version",
            "new-version": "changed: published version",
            "unchanged": "unchanged at version",
        }
        text = f"{self.code} {words[self.outcome]} {self.version} ({self.modules} modules)"
        rules = []
        if self.rules_created:
            rules.append("rules added for " + ", ".join(self.rules_created))
        if self.rules_updated:
            rules.append("rules updated for " + ", ".join(self.rules_updated))
        return text + (f"; {'; '.join(rules)}" if rules else "")


@dataclass
class LearningLoadReport:
    paths: list[PathLoadReport] = field(default_factory=list)

    def summary(self) -> str:
        counts = {
            outcome: sum(1 for p in self.paths if p.outcome == outcome)
            for outcome in ("created", "new-version", "unchanged")
        }
        return (
            f"{len(self.paths)} path(s): {counts['created']} created, "
            f"{counts['new-version']} with a new version, {counts['unchanged']} unchanged"
        )


def _display(path: Path, root: Path | None) -> str | None:
    return str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else None


def read_path_files(
    session: Session, files: list[Path], root: Path | None = None
) -> list[PathFile]:
    """Read and check ``files`` against what is in the database; ContentInvalid with every
    error of every file."""
    refs = references(session)
    if refs.competencies is None:
        raise ContentInvalid(
            [
                ContentError(
                    "curricula/learning",
                    "",
                    None,
                    "no competency framework is published: load framework.yaml first",
                )
            ]
        )
    errors: list[ContentError] = []
    contents: list[ContentFile] = []
    for path in files:
        try:
            contents.append(read_yaml(path, _display(path, root)))
        except ContentInvalid as exc:
            errors += exc.errors
    codes = {c.data.get("code") for c in contents if isinstance(c.data, dict)}
    existing = {k: v for k, v in published_prerequisites(session).items() if k not in codes}
    try:
        checked = check_paths(contents, refs, existing)
    except ContentInvalid as exc:
        errors += exc.errors
        checked = []
    if errors:
        raise ContentInvalid(errors)
    return checked


def load_paths(session: Session, files: list[Path], root: Path | None = None) -> LearningLoadReport:
    """Load learning path files (see the module docstring); nothing is written unless every
    file is sound. Flushes, never commits."""
    report = LearningLoadReport()
    for checked in read_path_files(session, files, root):
        report.paths.append(_load_one(session, checked))
    session.flush()
    return report


def _load_one(session: Session, checked: PathFile) -> PathLoadReport:
    content = checked.content
    path = path_by_code(session, content.code)
    if path is None:
        path = LearningPath(code=content.code)
        session.add(path)
        session.flush()
    current = published_version(session, path.id)
    if current is not None and current.content_hash == content.digest():
        report = PathLoadReport(content.code, "unchanged", current.number, len(content.modules))
    else:
        if current is not None:
            current.status = PathStatus.RETIRED
            current.retired_at = utcnow()
            session.flush()
        version = write_version(
            session,
            path,
            content,
            status=PathStatus.PUBLISHED,
            note=f"Loaded from {Path(checked.name).name}.",
        )
        detail = f"Version {version.number} published from {Path(checked.name).name}"
        detail += f"; version {current.number} retired." if current is not None else "."
        record(session, path, "loaded", detail, actor_id=None, version=version)
        outcome = "created" if current is None else "new-version"
        report = PathLoadReport(content.code, outcome, version.number, len(content.modules))
    _load_rules(session, path, checked.rules, report)
    return report


def _load_rules(
    session: Session,
    path: LearningPath,
    rules: tuple[tuple[str, int], ...],
    report: PathLoadReport,
) -> None:
    """Create or update the path's rules by role; a rule the file lists is active."""
    if not rules:
        return
    roles = {
        r.code: r for r in session.scalars(select(Role).where(Role.code.in_([c for c, _ in rules])))
    }
    existing = {
        r.role_id: r
        for r in session.scalars(select(EnrolmentRule).where(EnrolmentRule.path_id == path.id))
    }
    for code, due_days in rules:
        role = roles[code]
        rule = existing.get(role.id)
        if rule is None:
            session.add(EnrolmentRule(path_id=path.id, role_id=role.id, due_days=due_days))
            report.rules_created.append(code)
            record(
                session,
                path,
                "rule added",
                f"Holders of {code} are enrolled, due {due_days} days after taking the role "
                "(content load).",
                actor_id=None,
            )
        elif rule.due_days != due_days or not rule.active:
            rule.due_days, rule.active = due_days, True
            report.rules_updated.append(code)
            record(
                session,
                path,
                "rule edited",
                f"{code}: due {due_days} days after taking the role, active (content load).",
                actor_id=None,
            )
    session.flush()
