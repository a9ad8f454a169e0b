"""Evidence for the demo organisation: validated levels near each person's requirement,
self-ratings, a queue of pending self-ratings for the demo manager and two calibrations,
so every capability page shows something real on first run. Deterministic for a seed.

The evidence follows the product's rules: a certificate names its catalogue entry and
proves the level the catalogue gives (it expires only when the catalogue says so), and a
self-rating shown as accepted or adjusted has the manager rating that decided it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.capability.models import Calibration, CalibrationStatus, Evidence, RatingStatus
from app.framework.models import Certificate, Competency, RoleRequirement, Source
from app.framework.versions import published_version
from app.org.models import AssignmentKind, RoleAssignment

#: How far a person's true level sits from what their role asks for.
DRIFT = [-2, -1, -1, -1, 0, 0, 0, 0, 1]


@dataclass
class DemoEvidenceReport:
    evidence: int = 0
    pending: int = 0
    calibrations: int = 0


#: competency code -> the catalogue certificates proving it: (code, level, expires)
Catalogue = dict[str, list[tuple[str, int, bool]]]


def _catalogue(session: Session, version_id: int) -> Catalogue:
    out: Catalogue = {}
    for cert in session.scalars(
        select(Certificate).where(Certificate.version_id == version_id).order_by(Certificate.code)
    ):
        for code, level in sorted(cert.evidences.items()):
            out.setdefault(code, []).append((cert.code, level, cert.expires))
    return out


def _proof(
    rng: random.Random, level: int, on: date, certificates: list[tuple[str, int, bool]]
) -> tuple[Source, int, date | None, str | None]:
    """A plausible source for a level, within the shipped caps; a certificate only when the
    catalogue has one proving this competency at exactly this level."""
    if level >= 4:
        source = rng.choice([Source.MANAGER_RATING, Source.ASSESSOR_OBSERVATION])
        return (source, level, None, None)
    if level == 3:
        source = rng.choice(
            [
                Source.ASSESSMENT,
                Source.EXTERNAL_CERTIFICATE,
                Source.MANAGER_RATING,
                Source.PRIOR_LEARNING,
            ]
        )
        fitting = [c for c in certificates if c[1] == level]
        if source == Source.EXTERNAL_CERTIFICATE and fitting:
            code, _level, expires = rng.choice(fitting)
            return (source, level, on + timedelta(days=3 * 365) if expires else None, code)
        if source == Source.EXTERNAL_CERTIFICATE:
            source = Source.ASSESSMENT
        return (source, level, None, None)
    return (rng.choice([Source.MODULE_COMPLETION, Source.MANAGER_RATING]), level, None, None)


def seed_evidence(
    session: Session,
    *,
    seed: int,
    anchor: date,
    manager_person_id: int,
    manager_user_id: int,
    learner_person_id: int,
    team_ids: set[int],
) -> DemoEvidenceReport:
    """Evidence for everyone holding a role. ``team_ids`` are the demo manager's people."""
    report = DemoEvidenceReport()
    version = published_version(session)
    if version is None:
        return report
    rng = random.Random(seed * 7919)
    comp_ids = dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == version.id)
        ).all()
    )
    code_of = {v: k for k, v in comp_ids.items()}
    profile: dict[int, dict[str, int]] = {}
    for role_id, comp_id, level in session.execute(
        select(RoleRequirement.role_id, RoleRequirement.competency_id, RoleRequirement.level).where(
            RoleRequirement.version_id == version.id
        )
    ):
        profile.setdefault(role_id, {})[code_of[comp_id]] = level
    required: dict[int, dict[str, int]] = {}
    for person_id, role_id in session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role_id)
        .where(RoleAssignment.kind == AssignmentKind.CURRENT, RoleAssignment.end_date.is_(None))
        .order_by(RoleAssignment.id)
    ):
        mine = required.setdefault(person_id, {})
        for code, level in profile.get(role_id, {}).items():
            mine[code] = max(mine.get(code, 0), level)

    catalogue = _catalogue(session, version.id)
    rows: list[dict] = []
    decided: list[tuple[dict, dict]] = []
    for person_id in sorted(required):
        for code, level in sorted(required[person_id].items()):
            proofs, pair = _evidence_for(
                rng, person_id, code, comp_ids[code], level, anchor, catalogue.get(code, [])
            )
            rows += proofs
            if pair:
                decided.append(pair)
    if rows:
        session.execute(insert(Evidence), rows)
    if decided:
        self_ids = session.scalars(
            insert(Evidence).returning(Evidence.id, sort_by_parameter_order=True),
            [self_row for self_row, _ in decided],
        ).all()
        session.execute(
            insert(Evidence),
            [
                dict(manager_row, responds_to_id=self_id)
                for self_id, (_, manager_row) in zip(self_ids, decided, strict=True)
            ],
        )
    report.evidence = len(rows) + 2 * len(decided)
    _pending_for_manager(
        session,
        rng,
        report,
        anchor,
        comp_ids,
        required,
        manager_person_id,
        manager_user_id,
        learner_person_id,
        team_ids,
    )
    return report


def _evidence_for(
    rng: random.Random,
    person_id: int,
    code: str,
    competency_id: int,
    required: int,
    anchor: date,
    certificates: list[tuple[str, int, bool]],
) -> tuple[list[dict], tuple[dict, dict] | None]:
    """Evidence rows for one person and competency: usually a proof near the requirement,
    sometimes a lapsed certificate, sometimes nothing; and sometimes a self-rating with the
    manager rating that decided it (accepted, or adjusted down to the true level)."""
    if rng.random() < 0.15:
        return [], None  # no evidence yet: an open gap
    truth = max(0, min(5, required + rng.choice(DRIFT)))
    on = anchor - timedelta(days=rng.randint(20, 900))
    base = dict(
        person_id=person_id,
        competency_id=competency_id,
        competency_code=code,
        note="",
        link=None,
        recorded_by_id=None,
        responds_to_id=None,
    )
    rows = []
    if truth:
        source, proved, expires, certificate = _proof(rng, truth, on, certificates)
        if expires is not None and rng.random() < 0.12:
            expires = anchor - timedelta(days=rng.randint(1, 120))  # lapsed
            on = expires - timedelta(days=3 * 365)
        rows.append(
            dict(
                base,
                source=source,
                level=proved,
                achieved_on=on,
                expires_on=expires,
                validated=True,
                status=None,
                certificate_code=certificate,
            )
        )
    pair = None
    if rng.random() < 0.35:
        claimed = max(0, min(5, truth + rng.choice([0, 0, 1])))
        rated_on = on - timedelta(days=rng.randint(1, 30))
        self_row = dict(
            base,
            source=Source.SELF_RATING,
            level=claimed,
            achieved_on=rated_on,
            expires_on=None,
            validated=False,
            status=RatingStatus.ACCEPTED if claimed == truth else RatingStatus.ADJUSTED,
            certificate_code=None,
        )
        manager_row = dict(
            base,
            source=Source.MANAGER_RATING,
            level=truth,
            achieved_on=rated_on + timedelta(days=rng.randint(1, 14)),
            expires_on=None,
            validated=True,
            status=None,
            certificate_code=None,
            note="" if claimed == truth else "Seen at this level on real work so far.",
        )
        pair = (self_row, manager_row)
    return rows, pair


#: What people write when they rate themselves, by competency group.
PENDING_NOTES = {
    "STR": "Scored the new intake against the strategic criteria and presented the ranking.",
    "GOV": "Prepared the stage-gate papers and ran the board secretariat for two cycles.",
    "CTL": "Ran the change and RAID logs on my own since March; every item owned and dated.",
    "FIN": "Re-forecast the budget after the supplier change and explained the variance.",
    "INF": "Built the monthly highlight report the hub now uses for all its projects.",
    "PPL": "Led the lessons-learned workshop at project close and wrote up the actions.",
}


def _pending_for_manager(
    session,
    rng,
    report,
    anchor,
    comp_ids,
    required,
    manager_person_id,
    manager_user_id,
    learner_person_id,
    team_ids,
) -> None:
    """Self-ratings waiting in the demo manager's queue, and two open calibrations."""
    people = [learner_person_id] + sorted(
        p for p in team_ids if p in required and p != learner_person_id
    )
    for i, person_id in enumerate(people[:8]):
        codes = sorted(required.get(person_id, {}))
        if not codes:
            continue
        code = (
            codes[(i * 5) % len(codes)]
            if person_id != learner_person_id
            else next((c for c in ("CTL-06", "INF-01", "CTL-04") if c in codes), codes[0])
        )
        level = min(5, required[person_id][code] + (1 if i % 3 else 0))
        session.add(
            Evidence(
                person_id=person_id,
                competency_id=comp_ids[code],
                competency_code=code,
                source=Source.SELF_RATING,
                level=level,
                achieved_on=anchor - timedelta(days=i + 1),
                validated=False,
                status=RatingStatus.PENDING,
                note=PENDING_NOTES[code[:3]],
            )
        )
        report.pending += 1
    for j, person_id in enumerate(people[8:10]):
        codes = sorted(required.get(person_id, {}))
        if not codes:
            continue
        code = codes[j % len(codes)]
        rating = Evidence(
            person_id=person_id,
            competency_id=comp_ids[code],
            competency_code=code,
            source=Source.SELF_RATING,
            level=4 + j % 2,
            validated=False,
            achieved_on=anchor - timedelta(days=14 + j),
            status=RatingStatus.IN_CALIBRATION,
            note="I think I now operate at an advanced level here.",
        )
        session.add(rating)
        session.flush()
        session.add(
            Calibration(
                person_id=person_id,
                self_rating_id=rating.id,
                self_level=rating.level,
                manager_level=2,
                manager_comment="Not yet seen this on complex work.",
                status=CalibrationStatus.OPEN,
                opened_by_id=manager_user_id,
            )
        )
        report.calibrations += 1
    session.flush()
