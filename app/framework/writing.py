"""Writing a framework version: the content value becomes the version's rows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import DomainError
from app.framework.content import FrameworkContent
from app.framework.models import (
    Certificate,
    Competency,
    CompetencyGroup,
    EvidenceCap,
    Framework,
    FrameworkVersion,
    ProficiencyLevel,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.org.models import Role


def write_version(
    session: Session,
    framework: Framework,
    content: FrameworkContent,
    *,
    status: VersionStatus,
    actor_id: int | None = None,
    note: str = "",
) -> FrameworkVersion:
    """Create a new version of ``framework`` holding ``content``."""
    roles = {r.code: r.id for r in session.scalars(select(Role))}
    missing = sorted(set(content.profiles) - roles.keys())
    if missing:
        raise DomainError("Profiles for roles not in the catalogue: " + ", ".join(missing))
    number = (
        session.scalar(
            select(func.max(FrameworkVersion.number)).where(
                FrameworkVersion.framework_id == framework.id
            )
        )
        or 0
    ) + 1
    version = FrameworkVersion(
        framework=framework,
        number=number,
        status=status,
        name=content.name,
        description=content.description,
        content_hash=content.digest(),
        note=note,
        created_by_id=actor_id,
    )
    if status == VersionStatus.PUBLISHED:
        version.published_at = clock.now()
        version.published_by_id = actor_id
    session.add(version)
    version.levels = [ProficiencyLevel(**s) for s in content.scale]
    version.caps = [EvidenceCap(source=Source(k), max_level=v) for k, v in content.caps.items()]
    by_code: dict[str, Competency] = {}
    for gi, g in enumerate(content.groups):
        group = CompetencyGroup(
            version=version,
            code=g["code"],
            name=g["name"],
            description=g["description"],
            position=gi,
        )
        session.add(group)
        for ci, c in enumerate(g["competencies"]):
            comp = Competency(
                version=version,
                group=group,
                code=c["code"],
                name=c["name"],
                description=c["description"],
                boundary=c.get("boundary", ""),
                position=ci,
                indicators={str(k): v for k, v in c["indicators"].items()},
            )
            session.add(comp)
            by_code[c["code"]] = comp
    version.certificates = [Certificate(**c) for c in content.certificates]
    session.flush()
    session.add_all(
        RoleRequirement(
            version=version,
            role_id=roles[role],
            competency_id=by_code[code].id,
            level=level,
            essential=essential,
        )
        for role, reqs in content.profiles.items()
        for code, (level, essential) in reqs.items()
    )
    session.flush()
    return version
