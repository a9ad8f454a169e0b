"""Finding and reading framework versions: the one accessor of the published version.

Everyone works from the published version of the framework; trainers edit a draft, and
retired versions stay readable so that old evidence keeps its meaning.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, selectinload

from app.errors import DomainError
from app.framework.content import FrameworkContent, certificate
from app.framework.models import (
    CompetencyGroup,
    Framework,
    FrameworkVersion,
    RoleRequirement,
    VersionStatus,
)

#: The shipped framework's code; every page works from this framework.
FRAMEWORK_CODE = "PMO-CF"


def _of_framework(code: str):
    return select(FrameworkVersion).join(Framework).where(Framework.code == code)


def _published(columns, code) -> Select:
    """The published version of the framework ``code`` (a value or a bound parameter): the
    one rule, for the version loaded and for its id alone."""
    return (
        select(columns)
        .join(Framework, Framework.id == FrameworkVersion.framework_id)
        .where(Framework.code == code, FrameworkVersion.status == VersionStatus.PUBLISHED)
        .order_by(FrameworkVersion.number.desc())
        .limit(1)
    )


@cache
def _published_statement() -> Select:
    """Built once: nearly every page asks for the published version."""
    return _published(FrameworkVersion, bindparam("code")).options(
        selectinload(FrameworkVersion.levels),
        selectinload(FrameworkVersion.caps),
        selectinload(FrameworkVersion.certificates),
    )


def published_version_id(code: str = FRAMEWORK_CODE):
    """SQL: the published version's id, for a statement that needs only that (a scalar
    subquery; NULL when none is published)."""
    return _published(FrameworkVersion.id, code).scalar_subquery()


def published_version(session: Session, code: str = FRAMEWORK_CODE) -> FrameworkVersion | None:
    """The current (published) version with its scale, caps and certificate catalogue
    loaded, or None."""
    return session.scalar(_published_statement(), {"code": code})


def require_published(session: Session, code: str = FRAMEWORK_CODE) -> FrameworkVersion:
    """The published version; a DomainError when none is published yet."""
    version = published_version(session, code)
    if version is None:
        raise DomainError("No competency framework is published yet.")
    return version


def current_draft(session: Session, code: str = FRAMEWORK_CODE) -> FrameworkVersion | None:
    return session.scalar(
        _of_framework(code)
        .where(FrameworkVersion.status == VersionStatus.DRAFT)
        .order_by(FrameworkVersion.number.desc())
        .limit(1)
    )


def version_by_number(
    session: Session, number: int, code: str = FRAMEWORK_CODE
) -> FrameworkVersion | None:
    return session.scalar(_of_framework(code).where(FrameworkVersion.number == number))


def framework_by_code(session: Session, code: str = FRAMEWORK_CODE) -> Framework | None:
    return session.scalar(select(Framework).where(Framework.code == code))


def content_of(session: Session, version: FrameworkVersion) -> FrameworkContent:
    """Read a version back into canonical content."""
    found = session.scalar(
        select(FrameworkVersion)
        .where(FrameworkVersion.id == version.id)
        .options(
            selectinload(FrameworkVersion.levels),
            selectinload(FrameworkVersion.caps),
            selectinload(FrameworkVersion.certificates),
            selectinload(FrameworkVersion.groups).selectinload(CompetencyGroup.competencies),
            selectinload(FrameworkVersion.requirements).selectinload(RoleRequirement.role),
            selectinload(FrameworkVersion.requirements).selectinload(RoleRequirement.competency),
        )
        .execution_options(populate_existing=True)
    )
    assert found is not None
    version = found
    profiles: dict[str, dict[str, tuple[int, bool]]] = {}
    for req in version.requirements:
        profiles.setdefault(req.role.code, {})[req.competency.code] = (req.level, req.essential)
    return FrameworkContent(
        code=version.framework.code,
        name=version.name,
        description=version.description,
        scale=[
            {"level": lv.level, "name": lv.name, "descriptor": lv.descriptor, "note": lv.note}
            for lv in version.levels
        ],
        caps={cap.source.value: cap.max_level for cap in version.caps},
        groups=[
            {
                "code": g.code,
                "name": g.name,
                "description": g.description,
                "competencies": [
                    {
                        "code": c.code,
                        "name": c.name,
                        "description": c.description,
                        "boundary": c.boundary,
                        "indicators": {
                            int(k): v
                            for k, v in sorted(c.indicators.items(), key=lambda kv: int(kv[0]))
                        },
                    }
                    for c in g.competencies
                ],
            }
            for g in version.groups
        ],
        profiles=profiles,
        certificates=[
            certificate(
                code=c.code,
                name=c.name,
                issuer=c.issuer,
                expires=c.expires,
                max_level=c.max_level,
                evidences=c.evidences,
            )
            for c in version.certificates
        ],
    )
