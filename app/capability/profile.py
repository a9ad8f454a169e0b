"""A person's capability against their roles, as the capability page shows it: required
and validated level per competency for each role, what each level rests on, the chart, and
the managers' decisions on their self-ratings. Reads only; the use-cases are in services.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Row,
    Select,
    String,
    bindparam,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session, aliased, joinedload

from app.accounts.models import User
from app.capability.chart import ChartBar
from app.capability.levels import (
    CertificateRule,
    Fact,
    Layers,
    current_levels,
    gap,
    needs_calibration,
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
    Certificate,
    Competency,
    Framework,
    FrameworkVersion,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.framework.versions import FRAMEWORK_CODE, require_published
from app.org.models import Person, Role, RoleAssignment

# --- the capability profile -------------------------------------------------------------------


#: The columns of a piece of evidence the level rule and the pages read: evidence is
#: selected as rows of these, not as ORM objects (queries.py selects them too).
RULE_EVIDENCE_COLUMNS = (
    Evidence.id,
    Evidence.person_id,
    Evidence.competency_id,
    Evidence.competency_code,
    Evidence.source,
    Evidence.level,
    Evidence.achieved_on,
    Evidence.expires_on,
    Evidence.validated,
    Evidence.status,
    Evidence.certificate_code,
    Evidence.recorded_at,
)


@dataclass(frozen=True)
class DecisionNote:
    """What became of one of a person's self-ratings: the manager's decision, or the level
    agreed in a calibration, with the reason given. Plain data for the pages."""

    evidence_id: int
    competency_code: str
    competency_name: str
    self_level: int
    #: accepted | adjusted | rejected | calibration (opened) | calibrated (resolved)
    outcome: str
    level: int | None  # the level the manager gave or agreed; None for a rejection
    reason: str
    at: datetime
    by: str

    @property
    def words(self) -> str:
        """The decision in words, for the learner."""
        if self.outcome == "accepted":
            return f"accepted at level {self.level}"
        if self.outcome == "adjusted":
            return f"adjusted from {self.self_level} to level {self.level}"
        if self.outcome == "rejected":
            return f"rejected (your rating: level {self.self_level})"
        if self.outcome == "calibration":
            return (
                f"your manager rates level {self.level} against your {self.self_level}; "
                "a calibration is open"
            )
        return f"agreed in calibration at level {self.level} (your rating: {self.self_level})"


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
    #: the manager's rejection, when their latest self-rating here was rejected
    rejected: DecisionNote | None = None


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
    decisions: list[DecisionNote] = field(default_factory=list)  # newest first

    @property
    def decided(self) -> dict[int, DecisionNote]:
        """The latest decision on each self-rating, by the rating's id."""
        out: dict[int, DecisionNote] = {}
        for note in self.decisions:
            out.setdefault(note.evidence_id, note)
        return out


#: Self-ratings that no longer stand for the person's own view.
SET_ASIDE = (RatingStatus.REJECTED, RatingStatus.WITHDRAWN)


def _facts(
    evidence: Iterable[Evidence | Row[Any]], versions: dict[int, int] | None = None
) -> list[Fact]:
    """The rule's facts; ``versions`` (competency id -> its version) tells a certificate
    which version's catalogue it is read against."""
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
            (versions or {}).get(e.competency_id),
        )
        for e in evidence
    ]


def certificate_catalogues(
    session: Session,
    evidence: Iterable[Evidence | Row[Any]],
    published: PublishedFramework | None = None,
) -> tuple[dict[int, int], dict[int, dict[str, CertificateRule]]]:
    """For the external certificates among ``evidence``, in one query: the version of the
    competency each was recorded against (competency id -> version id) and the catalogue of
    each of those versions that has one (version id -> code -> rule), so that a certificate
    proves what its own version's catalogue says (levels.py, rule 4). Certificates recorded
    against the ``published`` version, when given, are answered from it without a query."""
    ids = {
        e.competency_id
        for e in evidence
        if e.source == Source.EXTERNAL_CERTIFICATE and e.certificate_code
    }
    versions: dict[int, int] = {}
    catalogues: dict[int, dict[str, CertificateRule]] = {}
    if published is not None and ids & published.competency_ids:
        for comp_id in ids & published.competency_ids:
            versions[comp_id] = published.id
        if published.certificates:
            catalogues[published.id] = dict(published.certificates)
        ids -= published.competency_ids
    if not ids:
        return versions, catalogues
    for comp_id, version_id, cert in session.execute(
        select(Competency.id, Competency.version_id, Certificate)
        .outerjoin(Certificate, Certificate.version_id == Competency.version_id)
        .where(Competency.id.in_(ids))
    ):
        versions[comp_id] = version_id
        if cert is not None:
            rules = catalogues.setdefault(version_id, {})
            rules[cert.code] = CertificateRule(cert.evidences, cert.expires)
    return versions, catalogues


def evidence_layers(
    session: Session,
    evidence: Iterable[Evidence | Row[Any]],
    version: FrameworkVersion | PublishedFramework,
    on: date,
) -> defaultdict[int, dict[str, Layers]]:
    """The one place a person's evidence becomes their levels, for any number of people:
    person id -> competency code -> layers (levels.py states the rule). Self-ratings set
    aside (rejected, in calibration, withdrawn) are left out; each certificate is read
    against its own version's catalogue. One query, for the certificates' catalogues.
    ``evidence`` may be ORM objects or rows with the same column names."""
    published: PublishedFramework | None = None
    if isinstance(version, PublishedFramework):
        published = version
        caps, certificates = version.caps, version.certificates
    else:
        caps = {c.source.value: c.max_level for c in version.caps}
        certificates = {
            c.code: CertificateRule(c.evidences, c.expires) for c in version.certificates
        }
    standing = [
        e for e in evidence if not (e.source == Source.SELF_RATING and e.status in SET_ASIDE)
    ]
    versions, catalogues = certificate_catalogues(session, standing, published)
    by_person: dict[int, list[Evidence | Row[Any]]] = {}
    for e in standing:
        by_person.setdefault(e.person_id, []).append(e)
    out: defaultdict[int, dict[str, Layers]] = defaultdict(dict)
    for person_id, theirs in by_person.items():
        out[person_id] = current_levels(
            _facts(theirs, versions), caps, on, certificates, catalogues
        )
    return out


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
    framework = published_framework(session)
    comps = framework.competencies
    roles = session.execute(_statements().roles).all()
    wanted = _roles_measured(session, person.id, on, roles, compare_role_id)
    reqs = session.execute(
        _statements().requirements,
        {"version_id": framework.id, "role_ids": [r.id for r, _ in wanted] or [0]},
    ).all()
    evidence = session.execute(_statements().evidence, {"person_id": person.id}).all()
    layers = evidence_layers(session, evidence, framework, on)[person.id]
    decisions = recent_decisions(session, person.id, limit=20)
    rows = _RowMaker(layers, _self_view(evidence, decisions))
    by_id = {c.id: c for c in comps}
    role_caps = []
    for role, kind in wanted:
        lines = [
            rows(by_id[r.competency_id], r.level, r.essential)
            for r in reqs
            if r.role_id == role.id and r.competency_id in by_id
        ]
        lines.sort(key=lambda r: (-r.gap, not r.essential, r.code))
        role_caps.append(RoleCapability(role.id, role.code, role.name, kind, lines))
    return Capability(
        person=person,
        version_label=framework.label,
        scale=framework.scale,
        roles=role_caps,
        chart=_chart(comps, role_caps, layers),
        competencies=[(c.code, c.name, c.group) for c in comps],
        layers=layers,
        role_choices=[(r.id, r.name) for r in roles],
        scale_notes=framework.scale_notes,
        decisions=decisions,
    )


# --- the published version, as plain data, kept per process -----------------------------------


@dataclass(frozen=True)
class CompetencyInfo:
    """A competency of the published version as the capability page shows it."""

    id: int
    code: str
    name: str
    group: str
    indicators: dict[int, str]
    boundary: str


@dataclass(frozen=True)
class PublishedFramework:
    """What the capability pages read of the published version: its scale, the evidence
    rule's caps and certificate catalogue, and its competencies in framework order.

    A published version's content never changes (every edit needs a draft), so this is
    built once per process for each published version and kept: loading the version with
    its scale, caps, catalogue and competencies as ORM objects on every request cost more
    than the rest of the page's reads together."""

    id: int
    label: str
    scale: list[tuple[int, str, str]]
    scale_notes: dict[int, str]
    caps: dict[str, int]
    certificates: dict[str, CertificateRule]
    competencies: list[CompetencyInfo]
    competency_ids: frozenset[int] = frozenset()


#: (database, version id, content hash, published at) -> the version as plain data.
_PUBLISHED: dict[tuple, PublishedFramework] = {}
_KEEP_PUBLISHED = 8


@cache
def _published_key_statement() -> Select:
    return (
        select(
            FrameworkVersion.id,
            FrameworkVersion.content_hash,
            FrameworkVersion.published_at,
        )
        .join(Framework, Framework.id == FrameworkVersion.framework_id)
        .where(
            Framework.code == bindparam("code"),
            FrameworkVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(FrameworkVersion.number.desc())
        .limit(1)
    )


def published_framework(session: Session) -> PublishedFramework:
    """The published version as plain data (one small query when it is kept already); a
    DomainError when none is published. Kept only for a version that carries its content
    hash and publication time, which tell it apart from any other version with its id."""
    found = session.execute(_published_key_statement(), {"code": FRAMEWORK_CODE}).first()
    if found is None:
        raise DomainError("No competency framework is published yet.")
    version_id, content_hash, published_at = found
    key = (str(session.get_bind().engine.url), version_id, content_hash, published_at)
    kept = _PUBLISHED.get(key) if content_hash and published_at else None
    if kept is not None:
        return kept
    framework = _build_published(session, require_published(session))
    if content_hash and published_at and framework.id == version_id:
        if len(_PUBLISHED) >= _KEEP_PUBLISHED:
            _PUBLISHED.clear()
        _PUBLISHED[key] = framework
    return framework


def _build_published(session: Session, version: FrameworkVersion) -> PublishedFramework:
    comps = session.scalars(
        select(Competency)
        .options(joinedload(Competency.group))
        .where(Competency.version_id == version.id)
        .order_by(Competency.position)
    ).all()
    ordered = sorted(comps, key=lambda c: (c.group.position, c.position))
    return PublishedFramework(
        id=version.id,
        label=f"{version.name}, version {version.number}",
        scale=[(lv.level, lv.name, lv.descriptor) for lv in version.levels],
        scale_notes={lv.level: lv.note for lv in version.levels if lv.note},
        caps={c.source.value: c.max_level for c in version.caps},
        certificates={
            c.code: CertificateRule(c.evidences, c.expires) for c in version.certificates
        },
        competencies=[
            CompetencyInfo(
                c.id,
                c.code,
                c.name,
                c.group.name,
                {
                    int(k): v
                    for k, v in sorted((c.indicators or {}).items(), key=lambda kv: int(kv[0]))
                },
                c.boundary,
            )
            for c in ordered
        ],
        competency_ids=frozenset(c.id for c in ordered),
    )


@dataclass(frozen=True)
class _Statements:
    roles: Select
    assignments: Select
    requirements: Select
    evidence: Select


@cache
def _statements() -> _Statements:
    """The capability page's statements, built once (their parameters are bound at each
    call): building them cost more than running them."""
    return _Statements(
        roles=select(Role.id, Role.code, Role.name)
        .where(Role.active.is_(True))
        .order_by(Role.name),
        assignments=select(
            RoleAssignment.id,
            RoleAssignment.kind,
            RoleAssignment.start_date,
            RoleAssignment.end_date,
            Role.id.label("role_id"),
            Role.code,
            Role.name,
        )
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.person_id == bindparam("person_id")),
        requirements=select(
            RoleRequirement.role_id,
            RoleRequirement.competency_id,
            RoleRequirement.level,
            RoleRequirement.essential,
        ).where(
            RoleRequirement.version_id == bindparam("version_id"),
            RoleRequirement.role_id.in_(bindparam("role_ids", expanding=True)),
        ),
        # a person's evidence, as rows with the columns the rule and the page read
        evidence=select(*RULE_EVIDENCE_COLUMNS).where(Evidence.person_id == bindparam("person_id")),
    )


@dataclass(frozen=True)
class _RoleRow:
    id: int
    code: str
    name: str


def _roles_measured(
    session: Session, person_id: int, on: date, roles: Sequence, compare_role_id: int | None
) -> list[tuple[_RoleRow, str]]:
    """(role, kind) for each live current and target role, then the comparison role."""
    assignments = [
        a
        for a in session.execute(_statements().assignments, {"person_id": person_id}).all()
        if a.start_date <= on and (a.end_date is None or a.end_date >= on)
    ]
    wanted = [
        (_RoleRow(a.role_id, a.code, a.name), a.kind.value)
        for a in sorted(assignments, key=lambda a: (a.kind.value, a.name, a.id))
    ]
    if compare_role_id and all(r.id != compare_role_id for r, _ in wanted):
        role = next((r for r in roles if r.id == compare_role_id), None)
        if role is not None:
            wanted.append((_RoleRow(role.id, role.code, role.name), "compare"))
    return wanted


@dataclass(frozen=True)
class _SelfView:
    #: competency code -> the manager's rejection of the latest self-rating there
    rejected: dict[str, DecisionNote]
    #: competency code -> the level of a self-rating waiting for the manager
    pending: dict[str, int]


def _self_view(evidence: Sequence, decisions: list[DecisionNote]) -> _SelfView:
    latest_self: dict[str, Evidence] = {}
    for e in sorted(evidence, key=lambda e: (e.recorded_at, e.id)):
        if e.source == Source.SELF_RATING and e.status != RatingStatus.WITHDRAWN:
            latest_self[e.competency_code] = e
    decided = {n.evidence_id: n for n in reversed(decisions)}
    rejected = {
        code: decided.get(e.id) or _bare_rejection(e)
        for code, e in latest_self.items()
        if e.status == RatingStatus.REJECTED
    }
    pending = {
        e.competency_code: e.level
        for e in sorted(evidence, key=lambda e: e.id)
        if e.source == Source.SELF_RATING and e.status == RatingStatus.PENDING
    }
    return _SelfView(rejected, pending)


_NO_EVIDENCE = Layers(0, None, None, None, None)


class _RowMaker:
    """Builds a role table's row for a competency from the person's layers."""

    def __init__(self, layers: dict[str, Layers], self_view: _SelfView):
        self.layers, self.self_view = layers, self_view

    def __call__(self, comp: CompetencyInfo, level: int, essential: bool) -> CompetencyRow:
        layer = self.layers.get(comp.code, _NO_EVIDENCE)
        return CompetencyRow(
            comp.code,
            comp.name,
            comp.group,
            level,
            essential,
            layer.validated,
            layer.self_level,
            layer.manager,
            layer.other,
            gap(level, layer.validated),
            _basis_text(layer),
            self.self_view.pending.get(comp.code),
            comp.indicators,
            comp.boundary,
            self.self_view.rejected.get(comp.code),
        )


def _chart(
    comps: list[CompetencyInfo], role_caps: list[RoleCapability], layers: dict[str, Layers]
) -> list[ChartBar]:
    """One bar per competency the current (or target) roles require: the highest level any
    current role asks for, the validated level, the self view and the target's level."""
    highest = requirement(
        {r.code: r.required for r in rc.rows} for rc in role_caps if rc.kind == "current"
    )
    targets = [rc for rc in role_caps if rc.kind == "target"]
    target = requirement({r.code: r.required for r in rc.rows} for rc in targets)
    return [
        ChartBar(
            c.code,
            c.name,
            highest.get(c.code, 0),
            layers.get(c.code, _NO_EVIDENCE).validated,
            layers.get(c.code, _NO_EVIDENCE).self_level,
            target.get(c.code) if targets else None,
        )
        for c in comps
        if c.code in highest or c.code in target
    ]


def _bare_rejection(rating) -> DecisionNote:
    """A rejected rating whose decision record is older than the recent ones shown."""
    return DecisionNote(
        rating.id,
        rating.competency_code,
        "",
        rating.level,
        "rejected",
        None,
        "",
        rating.recorded_at,
        "",
    )


@cache
def _recent_decisions_statement(with_since: bool) -> Select:
    """The statement behind ``recent_decisions``, built once (its parameters are bound at
    each call): building a union of this size costs more than running it."""
    person_id: BindParameter[int] = bindparam("person_id")
    since: BindParameter[datetime] = bindparam("since")
    rating = aliased(Evidence)
    decider, decider_user = aliased(Person), aliased(User)
    decisions = (
        select(
            rating.id,
            rating.competency_code,
            Competency.name,
            rating.level,
            type_coerce(ValidationDecision.decision, String),
            ValidationDecision.level,
            ValidationDecision.comment,
            ValidationDecision.decided_at,
            decider.first_name,
            decider.last_name,
        )
        .join(rating, rating.id == ValidationDecision.evidence_id)
        .join(Competency, Competency.id == rating.competency_id)
        .outerjoin(decider_user, decider_user.id == ValidationDecision.decided_by_id)
        .outerjoin(decider, decider.id == decider_user.person_id)
        .where(rating.person_id == person_id)
    )
    resolved = (
        select(
            rating.id,
            rating.competency_code,
            Competency.name,
            Calibration.self_level,
            literal("calibrated"),
            Calibration.resolved_level,
            Calibration.rationale,
            Calibration.resolved_at,
            decider.first_name,
            decider.last_name,
        )
        .join(rating, rating.id == Calibration.self_rating_id)
        .join(Competency, Competency.id == rating.competency_id)
        .outerjoin(decider_user, decider_user.id == Calibration.resolved_by_id)
        .outerjoin(decider, decider.id == decider_user.person_id)
        .where(
            Calibration.person_id == person_id,
            Calibration.status == CalibrationStatus.RESOLVED,
        )
    )
    if with_since:
        decisions = decisions.where(ValidationDecision.decided_at >= since)
        resolved = resolved.where(Calibration.resolved_at >= since)
    both = union_all(decisions, resolved).subquery()
    return select(both).order_by(both.c[7].desc(), both.c[0].desc())


def recent_decisions(
    session: Session, person_id: int, since: datetime | None = None, limit: int = 10
) -> list[DecisionNote]:
    """What managers decided on a person's self-ratings, and the levels agreed in their
    calibrations, newest first: ``since`` a moment (e.g. their last visit), at most ``limit``.
    For the capability page and the notice on the person's home page."""
    params: dict[str, object] = {"person_id": person_id}
    if since is not None:
        params["since"] = since
    rows = session.execute(_recent_decisions_statement(since is not None), params).fetchmany(limit)
    notes = []
    for ev_id, code, name, self_level, what, level, reason, at, first, last in rows:
        outcome = _OUTCOMES.get(str(what), str(what))
        if outcome in ("accepted", "adjusted") and needs_calibration(self_level, level or 0):
            outcome = "calibration"
        by = f"{first} {last}" if first else "an administrator"
        notes.append(
            DecisionNote(ev_id, code, name, self_level, outcome, level, reason or "", at, by)
        )
    return notes


_OUTCOMES = {
    Decision.ACCEPT.value: "accepted",
    Decision.ADJUST.value: "adjusted",
    Decision.REJECT.value: "rejected",
}
