"""Use-cases for capability: a person's profile against their roles, self-assessment,
manager validation and calibration. They take a session and explicit inputs, raise
DomainError for a broken rule, flush, and never commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from app.capability.chart import ChartBar
from app.capability.levels import (
    CertificateRule,
    Fact,
    Layers,
    current_levels,
    gap,
    requirement,
)
from app.capability.models import (
    Calibration,
    CalibrationStatus,
    Decision,
    Evidence,
    RatingStatus,
    ValidationDecision,
)
from app.errors import DomainError
from app.framework.models import (
    SOURCE_LABELS,
    Competency,
    RoleRequirement,
    Source,
)
from app.framework.scale import MAX_LEVEL, on_scale
from app.framework.versions import require_published
from app.org.models import Person, Role, RoleAssignment
from app.signals import draft_discarding

#: Self and manager this far apart open a calibration instead of validating.
CALIBRATION_GAP = 2


# --- the capability profile -------------------------------------------------------------------


@dataclass(frozen=True)
class CompetencyRow:
    code: str
    name: str
    group: str
    required: int
    essential: bool
    current: int
    self_level: int | None
    manager: int | None
    other: int | None
    gap: int
    basis: str | None  # what the current level rests on, in words
    pending_self: int | None  # a self-rating awaiting the manager
    #: what the competency looks like at each level, and where it meets a neighbour
    indicators: dict[int, str] = field(default_factory=dict)
    boundary: str = ""


@dataclass(frozen=True)
class RoleCapability:
    role_id: int
    code: str
    name: str
    kind: str  # current | target | compare
    rows: list[CompetencyRow]

    @property
    def met(self) -> int:
        return sum(1 for r in self.rows if r.gap == 0)

    @property
    def essential_gaps(self) -> int:
        return sum(1 for r in self.rows if r.gap and r.essential)

    @property
    def readiness(self) -> int:
        """Share of the profile's competencies met, in per cent."""
        return round(100 * self.met / len(self.rows)) if self.rows else 100


@dataclass(frozen=True)
class Capability:
    person: Person
    version_label: str
    scale: list[tuple[int, str, str]]
    roles: list[RoleCapability]  # current roles, then targets, then the comparison
    chart: list[ChartBar]  # the highest requirement of the current roles, per competency
    competencies: list[tuple[str, str, str]]  # (code, name, group) for the self-assessment form
    layers: dict[str, Layers]
    role_choices: list[tuple[int, str]]
    scale_notes: dict[int, str] = field(default_factory=dict)  # level -> its note, if any


def _facts(evidence: Iterable[Evidence]) -> list[Fact]:
    return [
        Fact(
            e.competency_code,
            e.source.value,
            e.level,
            e.achieved_on,
            e.expires_on,
            e.validated,
            e.id,
            e.certificate_code,
        )
        for e in evidence
    ]


def _basis_text(layer: Layers) -> str | None:
    if layer.basis is None:
        return None
    text = f"{SOURCE_LABELS[Source(layer.basis.source)]}, {layer.basis.achieved_on:%d %b %Y}"
    if layer.basis.certificate:
        text += f" ({layer.basis.certificate})"
    if layer.basis.expires_on:
        text += f" (valid to {layer.basis.expires_on:%d %b %Y})"
    return text


def capability(
    session: Session, person: Person, on: date, compare_role_id: int | None = None
) -> Capability:
    """A person's capability against each of their roles, in a fixed number of queries."""
    version = require_published(session)
    comps = session.scalars(
        select(Competency)
        .options(joinedload(Competency.group))
        .where(Competency.version_id == version.id)
        .order_by(Competency.position)
    ).all()
    comps = sorted(comps, key=lambda c: (c.group.position, c.position))
    assignments = [
        a
        for a in session.scalars(
            select(RoleAssignment)
            .options(joinedload(RoleAssignment.role))
            .where(RoleAssignment.person_id == person.id)
        ).all()
        if a.is_live(on)
    ]
    wanted = [
        (a.role, a.kind.value)
        for a in sorted(assignments, key=lambda a: (a.kind.value, a.role.name, a.id))
    ]
    roles = session.scalars(select(Role).where(Role.active.is_(True)).order_by(Role.name)).all()
    if compare_role_id and all(r.id != compare_role_id for r, _ in wanted):
        role = next((r for r in roles if r.id == compare_role_id), None)
        if role is not None:
            wanted.append((role, "compare"))
    reqs = session.scalars(
        select(RoleRequirement).where(
            RoleRequirement.version_id == version.id,
            RoleRequirement.role_id.in_([r.id for r, _ in wanted] or [0]),
        )
    ).all()
    evidence = session.scalars(select(Evidence).where(Evidence.person_id == person.id)).all()

    caps = {c.source.value: c.max_level for c in version.caps}
    certificates = {c.code: CertificateRule(c.evidences, c.expires) for c in version.certificates}
    layers = current_levels(_facts(evidence), caps, on, certificates)
    pending = {
        e.competency_code: e.level
        for e in sorted(evidence, key=lambda e: e.id)
        if e.source == Source.SELF_RATING and e.status == RatingStatus.PENDING
    }
    by_id = {c.id: c for c in comps}
    none = Layers(0, None, None, None, None)

    def row(comp: Competency, level: int, essential: bool) -> CompetencyRow:
        layer = layers.get(comp.code, none)
        return CompetencyRow(
            comp.code,
            comp.name,
            comp.group.name,
            level,
            essential,
            layer.validated,
            layer.self_level,
            layer.manager,
            layer.other,
            gap(level, layer.validated),
            _basis_text(layer),
            pending.get(comp.code),
            {int(k): v for k, v in sorted(comp.indicators.items(), key=lambda kv: int(kv[0]))},
            comp.boundary,
        )

    role_caps = []
    for role, kind in wanted:
        lines = [
            row(by_id[r.competency_id], r.level, r.essential) for r in reqs if r.role_id == role.id
        ]
        lines.sort(key=lambda r: (-r.gap, not r.essential, r.code))
        role_caps.append(RoleCapability(role.id, role.code, role.name, kind, lines))
    highest = requirement(
        {r.code: r.required for r in rc.rows} for rc in role_caps if rc.kind == "current"
    )
    chart = [
        ChartBar(
            c.code,
            c.name,
            highest[c.code],
            layers.get(c.code, none).validated,
            layers.get(c.code, none).self_level,
        )
        for c in comps
        if c.code in highest
    ]
    return Capability(
        person=person,
        version_label=f"{version.name}, version {version.number}",
        scale=[(lv.level, lv.name, lv.descriptor) for lv in version.levels],
        roles=role_caps,
        chart=chart,
        competencies=[(c.code, c.name, c.group.name) for c in comps],
        layers=layers,
        role_choices=[(r.id, r.name) for r in roles],
        scale_notes={lv.level: lv.note for lv in version.levels if lv.note},
    )


# --- self-assessment ----------------------------------------------------------------------------


def _check_link(link: str | None) -> str | None:
    if not link or not link.strip():
        return None
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DomainError("Give a web address starting with http:// or https://.", field="link")
    return link.strip()


def record_self_rating(
    session: Session,
    *,
    person_id: int,
    competency_code: str,
    level: int,
    note: str,
    link: str | None,
    actor_id: int,
    on: date,
) -> Evidence:
    """A person rates themselves. The rating waits for their manager; an earlier rating of the
    same competency that is still waiting is withdrawn."""
    version = require_published(session)
    comp = session.scalar(
        select(Competency).where(
            Competency.version_id == version.id, Competency.code == competency_code
        )
    )
    if comp is None:
        raise DomainError("Choose a competency from the framework.", field="competency")
    if not on_scale(level):
        raise DomainError(f"Choose a level from 0 to {MAX_LEVEL}.", field="level")
    link = _check_link(link)
    for earlier in session.scalars(
        select(Evidence).where(
            Evidence.person_id == person_id,
            Evidence.competency_code == competency_code,
            Evidence.source == Source.SELF_RATING,
            Evidence.status == RatingStatus.PENDING,
        )
    ):
        earlier.status = RatingStatus.WITHDRAWN
    evidence = Evidence(
        person_id=person_id,
        competency_id=comp.id,
        competency_code=comp.code,
        source=Source.SELF_RATING,
        level=level,
        achieved_on=on,
        validated=False,
        status=RatingStatus.PENDING,
        note=(note or "").strip(),
        link=link,
        recorded_by_id=actor_id,
    )
    session.add(evidence)
    session.flush()
    return evidence


# --- manager validation -------------------------------------------------------------------------


def pending_ratings_query(scope: Select | None, exclude_person_id: int) -> Select:
    """Self-ratings waiting for a decision, for the people in ``scope`` (None: everyone)."""
    stmt = (
        select(Evidence)
        .options(joinedload(Evidence.person), joinedload(Evidence.competency))
        .where(
            Evidence.source == Source.SELF_RATING,
            Evidence.status == RatingStatus.PENDING,
            Evidence.person_id != exclude_person_id,
        )
        .order_by(Evidence.recorded_at, Evidence.id)
    )
    return stmt if scope is None else stmt.where(Evidence.person_id.in_(scope))


def waiting_counts(
    session: Session, scope: Select | None, exclude_person_id: int
) -> tuple[int, int]:
    """(self-ratings awaiting a decision, open calibrations) for a manager's home page."""
    ratings = pending_ratings_query(scope, exclude_person_id).order_by(None).subquery()
    calibrations = open_calibrations_query(scope, exclude_person_id).order_by(None).subquery()
    return (
        session.scalar(select(func.count()).select_from(ratings)) or 0,
        session.scalar(select(func.count()).select_from(calibrations)) or 0,
    )


@dataclass(frozen=True)
class DecisionOutcome:
    decision: ValidationDecision
    evidence: Evidence | None  # the manager rating, when one was recorded
    calibration: Calibration | None


def decide(
    session: Session,
    *,
    rating: Evidence,
    decision: Decision,
    level: int | None,
    comment: str,
    actor_id: int,
    actor_person_id: int,
    on: date,
) -> DecisionOutcome:
    """Accept, adjust or reject a self-rating.

    Accept and adjust record a manager rating (validated evidence) — unless self and
    manager are CALIBRATION_GAP levels or more apart: then a calibration opens and the
    validated level stays as it was until it is resolved.
    """
    if rating.source != Source.SELF_RATING or rating.status != RatingStatus.PENDING:
        raise DomainError("This rating has already been decided.")
    if rating.person_id == actor_person_id:
        raise DomainError("You cannot validate your own rating.")
    comment = (comment or "").strip()
    level = _decided_level(rating, decision, level, comment)
    record = ValidationDecision(
        evidence_id=rating.id,
        decision=decision,
        level=level,
        comment=comment,
        decided_by_id=actor_id,
    )
    session.add(record)
    if decision == Decision.REJECT:
        rating.status = RatingStatus.REJECTED
        session.flush()
        return DecisionOutcome(record, None, None)
    assert level is not None  # _decided_level gives a level for accept and adjust
    if abs(level - rating.level) >= CALIBRATION_GAP:
        rating.status = RatingStatus.IN_CALIBRATION
        calibration = Calibration(
            person_id=rating.person_id,
            self_rating_id=rating.id,
            self_level=rating.level,
            manager_level=level,
            manager_comment=comment,
            status=CalibrationStatus.OPEN,
            opened_by_id=actor_id,
        )
        session.add(calibration)
        session.flush()
        return DecisionOutcome(record, None, calibration)
    rating.status = RatingStatus.ACCEPTED if decision == Decision.ACCEPT else RatingStatus.ADJUSTED
    evidence = _manager_rating(session, rating, level, comment, actor_id, on)
    return DecisionOutcome(record, evidence, None)


def _decided_level(
    rating: Evidence, decision: Decision, level: int | None, comment: str
) -> int | None:
    """The manager's level for a decision (None for a rejection), or DomainError."""
    if decision == Decision.ACCEPT:
        return rating.level
    if decision == Decision.ADJUST:
        if level is None or not on_scale(level):
            raise DomainError("Choose the level you rate them at.", field="level")
        if level == rating.level:
            raise DomainError("That is the level they gave; accept it instead.", field="level")
        if not comment:
            raise DomainError("Say why you rate them differently.", field="comment")
        return level
    if not comment:
        raise DomainError("Say why you reject the rating.", field="comment")
    return None


def _manager_rating(
    session: Session, rating: Evidence, level: int, note: str, actor_id: int, on: date
) -> Evidence:
    version = require_published(session)
    comp = session.scalar(
        select(Competency).where(
            Competency.version_id == version.id, Competency.code == rating.competency_code
        )
    )
    evidence = Evidence(
        person_id=rating.person_id,
        competency_id=comp.id if comp else rating.competency_id,
        competency_code=rating.competency_code,
        source=Source.MANAGER_RATING,
        level=level,
        achieved_on=on,
        validated=True,
        note=note,
        recorded_by_id=actor_id,
        responds_to_id=rating.id,
    )
    session.add(evidence)
    session.flush()
    return evidence


def open_calibrations_query(scope: Select | None, exclude_person_id: int) -> Select:
    stmt = (
        select(Calibration)
        .options(
            joinedload(Calibration.person),
            joinedload(Calibration.self_rating).joinedload(Evidence.competency),
        )
        .where(
            Calibration.status == CalibrationStatus.OPEN, Calibration.person_id != exclude_person_id
        )
        .order_by(Calibration.opened_at, Calibration.id)
    )
    return stmt if scope is None else stmt.where(Calibration.person_id.in_(scope))


def resolve_calibration(
    session: Session,
    *,
    calibration: Calibration,
    level: int | None,
    rationale: str,
    actor_id: int,
    actor_person_id: int,
    on: date,
) -> Evidence:
    """Settle a calibration at an agreed level, with the reasons, as a manager rating."""
    if calibration.status != CalibrationStatus.OPEN:
        raise DomainError("This calibration is already resolved.")
    if calibration.person_id == actor_person_id:
        raise DomainError("You cannot resolve a calibration about yourself.")
    if level is None or not on_scale(level):
        raise DomainError("Choose the agreed level.", field="level")
    if not (rationale or "").strip():
        raise DomainError("Give the rationale for the agreed level.", field="rationale")
    rating = calibration.self_rating
    calibration.status = CalibrationStatus.RESOLVED
    calibration.resolved_level = level
    calibration.rationale = rationale.strip()
    calibration.resolved_by_id = actor_id
    calibration.resolved_at = datetime.now(UTC)
    rating.status = RatingStatus.ACCEPTED if level == rating.level else RatingStatus.ADJUSTED
    return _manager_rating(session, rating, level, rationale.strip(), actor_id, on)


def ratings_of(session: Session, person_id: int) -> list[Evidence]:
    """A person's own self-ratings with the decisions on them, newest first."""
    return list(
        session.scalars(
            select(Evidence)
            .options(joinedload(Evidence.competency))
            .where(Evidence.person_id == person_id, Evidence.source == Source.SELF_RATING)
            .order_by(Evidence.recorded_at.desc(), Evidence.id.desc())
            .limit(20)
        )
    )


@draft_discarding.connect
def _refuse_discarding_a_draft_with_evidence(session: Session, *, version_id: int) -> None:
    """Evidence recorded against a draft's competencies must keep its meaning."""
    used = session.scalar(
        select(func.count(Evidence.id)).join(Competency).where(Competency.version_id == version_id)
    )
    if used:
        raise DomainError("Evidence was recorded against this draft; it cannot be discarded.")
