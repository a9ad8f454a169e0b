"""Evidence for the demo organisation: validated levels near each person's requirement,
self-ratings, a queue of pending self-ratings for the demo manager and two calibrations,
so every capability page shows something real on first run. Deterministic for a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.capability.models import Calibration, CalibrationStatus, Evidence, RatingStatus
from app.framework.models import Competency, RoleRequirement, Source
from app.framework.versions import published_version
from app.org.models import AssignmentKind, RoleAssignment

#: How far a person's true level sits from what their role asks for.
DRIFT = [-2, -1, -1, -1, 0, 0, 0, 0, 1]


@dataclass
class DemoEvidenceReport:
    evidence: int = 0
    pending: int = 0
    calibrations: int = 0


def _proof(rng: random.Random, level: int, on: date) -> tuple[Source, int, date | None]:
    """A plausible source for a level, within the shipped caps."""
    if level >= 4:
        return (rng.choice([Source.MANAGER_RATING, Source.ASSESSOR_OBSERVATION]), level, None)
    if level == 3:
        source = rng.choice(
            [
                Source.ASSESSMENT,
                Source.EXTERNAL_CERTIFICATE,
                Source.MANAGER_RATING,
                Source.PRIOR_LEARNING,
            ]
        )
        expires = on + timedelta(days=3 * 365) if source == Source.EXTERNAL_CERTIFICATE else None
        return (source, level, expires)
    return (rng.choice([Source.MODULE_COMPLETION, Source.MANAGER_RATING]), level, None)


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

    rows = [
        row
        for person_id in sorted(required)
        for code, level in sorted(required[person_id].items())
        for row in _evidence_for(rng, person_id, code, comp_ids[code], level, anchor)
    ]
    if rows:
        session.execute(insert(Evidence), rows)
    report.evidence = len(rows)
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
    rng: random.Random, person_id: int, code: str, competency_id: int, required: int, anchor: date
) -> list[dict]:
    """Evidence rows for one person and competency: usually a proof near the requirement,
    sometimes a lapsed certificate, sometimes an accepted self-rating, sometimes nothing."""
    if rng.random() < 0.15:
        return []  # no evidence yet: an open gap
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
        source, proved, expires = _proof(rng, truth, on)
        if source == Source.EXTERNAL_CERTIFICATE and rng.random() < 0.12:
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
            )
        )
    if rng.random() < 0.35:
        rows.append(
            dict(
                base,
                source=Source.SELF_RATING,
                level=max(0, min(5, truth + rng.choice([0, 0, 1]))),
                achieved_on=on - timedelta(days=rng.randint(1, 30)),
                expires_on=None,
                validated=False,
                status=RatingStatus.ACCEPTED,
            )
        )
    return rows


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
