"""Helpers the report tests share (plain functions; they flush, never commit):

- ``small_framework``: a small published framework (three competencies by default), quick
  to build and with caps, profiles and a catalogue of your choosing;
- ``record``: validated evidence recorded on a given day (the spans count evidence from
  the later of achieved and recorded, so back-dated history needs a back-dated record);
- ``spans_of`` and ``level_on``: a person's stored spans, and their level on a date.

Evidence and role assignments written through the session keep the spans current by
themselves (app/reports/maintain.py). A framework publication refreshes them at commit:
commit, or call ``maintain.catch_up(session)``, before reading spans in the same
transaction (small_framework does it for you). After a write that bypasses the session
(``connection.execute``), call ``maintain.refresh_all(session)``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.capability.models import Evidence
from app.framework.content import FrameworkContent, certificate
from app.framework.models import Competency, Framework, FrameworkVersion, Source, VersionStatus
from app.framework.versions import FRAMEWORK_CODE, published_version
from app.framework.writing import write_version
from app.org.models import Person
from app.reports import maintain
from app.reports.models import LevelSpan, RequirementSpan

#: The caps of small_framework unless told otherwise (as in the shipped framework).
CAPS = {
    "module_completion": 2,
    "assessment": 3,
    "external_certificate": 3,
    "prior_learning": 3,
    "manager_rating": 5,
    "assessor_observation": 5,
}


def small_framework(
    session: Session,
    *,
    codes: tuple[str, ...] = ("RISK", "PLAN", "FIN"),
    caps: dict[str, int] | None = None,
    profiles: dict[str, dict[str, tuple[int, bool]]] | None = None,
    certificates: dict[str, dict[str, int]] | None = None,
    expiring: tuple[str, ...] = (),
    published_at: datetime | None = None,
) -> FrameworkVersion:
    """Publish a small framework version: ``codes`` in one group, ``caps`` (CAPS by
    default), ``profiles`` {role code: {competency code: (level, essential)}} for roles
    that exist, ``certificates`` {certificate code: {competency code: level}} (those in
    ``expiring`` lapse with the holder's record). A second call publishes a new version."""
    framework = session.scalar(select(Framework).where(Framework.code == FRAMEWORK_CODE))
    if framework is None:
        framework = Framework(code=FRAMEWORK_CODE, name="Test framework")
        session.add(framework)
    content = FrameworkContent(
        code=FRAMEWORK_CODE,
        name="Test framework",
        description="",
        scale=[
            {"level": n, "name": f"Level {n}", "descriptor": f"Level {n}.", "note": ""}
            for n in range(6)
        ],
        caps=dict(CAPS if caps is None else caps),
        groups=[
            {
                "code": "G",
                "name": "Group",
                "description": "",
                "competencies": [
                    {"code": c, "name": c.title(), "description": "", "indicators": {}}
                    for c in codes
                ],
            }
        ],
        profiles=profiles or {},
        certificates=[
            certificate(
                code=code,
                name=f"Certificate {code}",
                issuer="Issuer",
                expires=code in expiring,
                max_level=max(levels.values()),
                evidences=levels,
            )
            for code, levels in (certificates or {}).items()
        ],
    )
    current = published_version(session)
    if current is not None:
        current.status = VersionStatus.RETIRED
    version = write_version(session, framework, content, status=VersionStatus.PUBLISHED)
    if published_at is not None:
        version.published_at = published_at
    session.flush()
    # A publication refreshes everyone's spans at commit; a test reads them before.
    maintain.refresh_all(session)
    return version


def at_noon(on: date) -> datetime:
    return datetime.combine(on, time(12), tzinfo=UTC)


def record(
    session: Session,
    person: Person,
    code: str,
    level: int,
    *,
    achieved_on: date,
    recorded_on: date | None = None,
    source: Source = Source.ASSESSMENT,
    expires_on: date | None = None,
    certificate: str | None = None,
    validated: bool = True,
    version: FrameworkVersion | None = None,
) -> Evidence:
    """Evidence for ``person`` in ``code`` against the published version (or ``version``),
    recorded at noon on ``recorded_on`` (by default the day it was achieved, as a team that
    keeps its records up to date would)."""
    version = version or published_version(session)
    assert version is not None, "publish a framework first (small_framework)"
    comp = session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == code)
    )
    assert comp is not None, f"no competency {code} in version {version.number}"
    evidence = Evidence(
        person_id=person.id,
        competency_id=comp.id,
        competency_code=code,
        source=source,
        level=level,
        achieved_on=achieved_on,
        expires_on=expires_on,
        validated=validated,
        certificate_code=certificate,
        recorded_at=at_noon(recorded_on or achieved_on),
    )
    session.add(evidence)
    session.flush()
    return evidence


@dataclass(frozen=True)
class Spans:
    """A person's stored spans, in (competency, from) order."""

    levels: list[tuple]  # (code, valid_from, valid_to, level)
    requirements: list[tuple]  # (code, valid_from, valid_to, required, essential)


def spans_of(session: Session, person_id: int) -> Spans:
    session.flush()
    levels = session.execute(
        select(LevelSpan.competency_code, LevelSpan.valid_from, LevelSpan.valid_to, LevelSpan.level)
        .where(LevelSpan.person_id == person_id)
        .order_by(LevelSpan.competency_code, LevelSpan.valid_from)
    ).all()
    requirements = session.execute(
        select(
            RequirementSpan.competency_code,
            RequirementSpan.valid_from,
            RequirementSpan.valid_to,
            RequirementSpan.required,
            RequirementSpan.essential,
        )
        .where(RequirementSpan.person_id == person_id)
        .order_by(RequirementSpan.competency_code, RequirementSpan.valid_from)
    ).all()
    return Spans([tuple(r) for r in levels], [tuple(r) for r in requirements])


def level_on(session: Session, person_id: int, code: str, on: date) -> int:
    """The stored level of one person in one competency on a date (0 without a span)."""
    session.flush()
    return (
        session.scalar(
            select(LevelSpan.level).where(
                LevelSpan.person_id == person_id,
                LevelSpan.competency_code == code,
                LevelSpan.valid_from <= on,
                or_(LevelSpan.valid_to.is_(None), LevelSpan.valid_to > on),
            )
        )
        or 0
    )


def required_on(session: Session, person_id: int, code: str, on: date) -> int:
    """The stored requirement of one person in one competency on a date (0: none)."""
    session.flush()
    return (
        session.scalar(
            select(RequirementSpan.required).where(
                RequirementSpan.person_id == person_id,
                RequirementSpan.competency_code == code,
                RequirementSpan.valid_from <= on,
                or_(RequirementSpan.valid_to.is_(None), RequirementSpan.valid_to > on),
            )
        )
        or 0
    )


def csv_table(text: str) -> list[list[str]]:
    """A report CSV's table: its header row first, nothing above it
    (app/reports/views/exports.py)."""
    return list(csv.reader(io.StringIO(text)))


def csv_records(text: str) -> list[dict[str, str]]:
    """A report CSV's table as dicts by column header."""
    header, *rows = csv_table(text)
    return [dict(zip(header, row, strict=True)) for row in rows]
