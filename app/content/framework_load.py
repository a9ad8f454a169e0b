"""Loading the framework files into the database.

Loading compares the files' canonical content with the current published version: the
same content is a no-op; different content becomes a new published version (the old one
is retired, and evidence recorded against it keeps pointing at its definitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.files import ContentError, ContentInvalid
from app.content.framework_schema import read_framework_files
from app.framework.models import Framework, VersionStatus
from app.framework.versions import published_version
from app.framework.writing import write_version
from app.org.models import Role


def known_role_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Role.code)))


@dataclass
class FrameworkLoadReport:
    outcome: str  # "created" | "new-version" | "unchanged"
    version: int
    competencies: int
    profiles: int

    def summary(self) -> str:
        words = {
            "created": "created as version",
            "new-version": "changed: published version",
            "unchanged": "unchanged at version",
        }
        return (
            f"{words[self.outcome]} {self.version} ({self.competencies} competencies, "
            f"{self.profiles} role profiles)"
        )


def load_framework(
    session: Session,
    framework_path: Path,
    profiles_path: Path,
    role_codes: set[str] | None = None,
    certificates_path: Path | None = None,
) -> FrameworkLoadReport:
    """Load the framework, role profiles and (when given) certificate catalogue files (see
    the module docstring)."""
    content = read_framework_files(framework_path, profiles_path, role_codes, certificates_path)
    framework = session.scalar(select(Framework).where(Framework.code == content.code))
    if framework is None:
        framework = Framework(code=content.code, name=content.name)
        session.add(framework)
        session.flush()
    current = published_version(session, content.code)
    if current is not None and current.content_hash == content.digest():
        return FrameworkLoadReport(
            "unchanged", current.number, len(content.competency_codes()), len(content.profiles)
        )
    if current is not None:
        current.status = VersionStatus.RETIRED
    framework.name = content.name
    missing = sorted(set(content.profiles) - known_role_codes(session))
    if missing:
        raise ContentInvalid(
            [
                ContentError(
                    "role-profiles",
                    "profiles",
                    None,
                    "roles not in the catalogue: " + ", ".join(missing),
                )
            ]
        )
    version = write_version(
        session,
        framework,
        content,
        status=VersionStatus.PUBLISHED,
        note=f"loaded from {framework_path.name}",
    )
    return FrameworkLoadReport(
        "created" if current is None else "new-version",
        version.number,
        len(content.competency_codes()),
        len(content.profiles),
    )
