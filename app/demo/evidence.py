"""Evidence for the demo organisation: validated levels near each person's requirement,
most of the gaps that leaves closed since by a manager's rating, self-ratings, a queue of
pending self-ratings for the demo manager and two calibrations, so every capability page
shows something real on first run; and, shaped on purpose, the
findings the capability reports show (stories.py): a unit short in risk management, an
office whose board secretariat rests on one person, a hub with no one for capacity
management, a bench for next roles, and gaps the demo manager's people closed in the last
three months. Deterministic for a seed (and, for those recent dates, the day of the build).

The evidence follows the product's rules: a certificate names its catalogue entry and
proves the level the catalogue gives (it expires only when the catalogue says so), and a
self-rating shown as accepted or adjusted has the manager rating that decided it."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.capability.models import Calibration, CalibrationStatus, Evidence, RatingStatus
from app.demo.stories import RISK_COMPETENCY, RISK_SHORTFALL, StoryPlan
from app.framework.models import Certificate, Competency, RoleRequirement, Source
from app.framework.versions import published_version
from app.org.models import AssignmentKind, Role, RoleAssignment
from app.reports.maintain import computed, eras
from app.reports.spans import figure_on

#: How far a person's true level sits from what their role asks for.
DRIFT = [-2, -1, -1, -1, 0, 0, 0, 0, 1]


@dataclass
class DemoEvidenceReport:
    evidence: int = 0
    pending: int = 0
    calibrations: int = 0


#: competency code -> the catalogue certificates proving it: (code, level, expires)
Catalogue = dict[str, list[tuple[str, int, bool]]]
#: How many of the demo manager's people closed gaps lately (at least, and at most), and
#: about how many gaps they closed between them, at least.
RECENT_PEOPLE = (3, 12)
RECENT_GAPS = 6
#: How many days ago they closed them: within the last three months, and after the gap
#: was still open three months (92 days at most) before the build.
RECENT_DAYS = (14, 75)
THREE_MONTHS = 92
RECENT_NOTE = "Now working at this level on live projects."
#: The share of the usual draw's gaps closed since by a manager's rating (the fixed demo
#: logins' own evidence and the levels a story sets aside): about 85% of requirements met,
#: a heatmap mostly "some short" or better, against which the stories' cells stand out
#: (drawn near the requirement alone, about half are met, every cell reads as short and
#: no story shows).
CLOSED_SINCE = 0.7
CLOSED_NOTE = "Seen working at this level on a live project."


def _catalogue(session: Session, version_id: int) -> tuple[Catalogue, dict[str, dict[str, int]]]:
    """The catalogue by competency, and every certificate's levels by its code."""
    out: Catalogue = {}
    levels: dict[str, dict[str, int]] = {}
    for cert in session.scalars(
        select(Certificate).where(Certificate.version_id == version_id).order_by(Certificate.code)
    ):
        levels[cert.code] = dict(cert.evidences)
        for code, level in sorted(cert.evidences.items()):
            out.setdefault(code, []).append((cert.code, level, cert.expires))
    return out, levels


@dataclass(frozen=True)
class _Shape:
    """How one person's evidence in one competency departs from the usual draw."""

    truth: int | None = None  # the level they are at (None: drawn near the requirement)
    cap: int | None = None  # at most this level
    floor: int | None = None  # at least this level (and never without evidence)
    #: certificates may be the proof (they lapse, and may prove other competencies)
    certificates: bool = True


PLAIN = _Shape()


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
    plan: StoryPlan | None = None,
) -> DemoEvidenceReport:
    """Evidence for everyone holding a role. ``team_ids`` are the demo manager's people;
    ``plan`` the findings to shape in (stories.py)."""
    report = DemoEvidenceReport()
    version = published_version(session)
    if version is None:
        return report
    plan = plan or StoryPlan()
    rng = random.Random(seed * 7919)
    comp_ids, profile, required = _requirements(session, version.id)
    catalogue, cert_levels = _catalogue(session, version.id)
    role_ids = dict(session.execute(select(Role.code, Role.id)).all())
    pending, calibrating = _queue(team_ids, learner_person_id, required)
    shapes = _bench_shapes(
        random.Random(seed * 7919 + 7),
        plan,
        required,
        {pid: profile.get(role_ids.get(code, -1), {}) for pid, code in _next_roles(plan)},
    )
    rows: list[dict] = []
    decided: list[tuple[dict, dict]] = []
    closer = random.Random(seed * 7919 + 13)
    for person_id in sorted(set(required) | set(shapes)):
        lines, caps = _person_shapes(
            rng, plan, person_id, required.get(person_id, {}), shapes.get(person_id, {})
        )
        for code, level, shape in lines:
            proofs, pair = _evidence_for(
                rng,
                person_id,
                code,
                comp_ids[code],
                level,
                anchor,
                _fitting(catalogue.get(code, []), cert_levels, caps) if shape.certificates else [],
                shape,
            )
            rows += proofs
            if pair:
                decided.append(pair)
            if _may_close(shape, level) and person_id not in plan.logins:
                drawn = [*proofs, pair[1]] if pair else proofs
                rows += _closed_since(
                    closer, (person_id, code, comp_ids[code], level), drawn, anchor
                )
    _insert(session, rows, decided)
    report.evidence = len(rows) + 2 * len(decided)
    _pending_for_manager(
        session,
        report,
        anchor,
        comp_ids,
        required,
        manager_user_id,
        learner_person_id,
        pending,
        calibrating,
    )
    return report


def _requirements(
    session: Session, version_id: int
) -> tuple[dict[str, int], dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """(competency code -> id, role id -> its profile, person -> their requirement: the
    highest level any of their current roles asks for)."""
    comp_ids = dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == version_id)
        ).all()
    )
    code_of = {v: k for k, v in comp_ids.items()}
    profile: dict[int, dict[str, int]] = {}
    for role_id, comp_id, level in session.execute(
        select(RoleRequirement.role_id, RoleRequirement.competency_id, RoleRequirement.level).where(
            RoleRequirement.version_id == version_id
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
    return comp_ids, profile, required


def _person_shapes(
    rng: random.Random,
    plan: StoryPlan,
    person_id: int,
    required: dict[str, int],
    bench: dict[str, tuple[int, _Shape]],
) -> tuple[list[tuple[str, int, _Shape]], dict[str, int]]:
    """One person's competencies to evidence, each with its level and how (their
    requirement, the bench's levels, the floors of the stories), and their caps."""
    wanted = dict(required)
    for code, (level, _shape) in bench.items():
        wanted[code] = level
    caps = dict(plan.caps.get(person_id, {}))
    if person_id in plan.risk_short and RISK_COMPETENCY in wanted:
        caps[RISK_COMPETENCY] = wanted[RISK_COMPETENCY] - 1
    floors = plan.floors.get(person_id, {})
    lines = []
    for code, level in sorted({**floors, **wanted}.items()):
        shape = bench.get(code, (level, PLAIN))[1]
        if code == RISK_COMPETENCY and shape == PLAIN:
            shape = _risk_shape(rng, plan, person_id, level)
        if code in caps:
            shape = _with(shape, cap=caps[code])
        if code in floors:
            shape = _with(shape, floor=floors[code], certificates=False)
        lines.append((code, level, shape))
    return lines, caps


def _may_close(shape: _Shape, required: int) -> bool:
    """Whether a gap of the usual draw may have closed since: not where a story sets the
    level, nor above a story's cap."""
    return shape.truth is None and (shape.cap is None or required <= shape.cap)


def _closed_since(
    rng: random.Random,
    line: tuple[int, str, int, int],
    drawn: list[dict],
    anchor: date,
) -> list[dict]:
    """A gap of the usual draw closed since, for CLOSED_SINCE of them: a manager rating at
    the required level, from before the last three months, so that the organisation mostly
    meets its roles and the stories stand out against that. ``line`` is (person, competency
    code, its id, the level required), ``drawn`` the validated evidence drawn for it. None
    for a gap left open, or where the evidence drawn meets the requirement on ``anchor``."""
    person_id, code, competency_id, required = line
    if rng.random() >= CLOSED_SINCE or not required:
        return []
    held = max(
        (
            row["level"]
            for row in drawn
            if row["validated"] and (row["expires_on"] is None or row["expires_on"] > anchor)
        ),
        default=0,
    )
    if held >= required:
        return []
    on = anchor - timedelta(days=rng.randint(30, 540))
    base = dict(
        person_id=person_id,
        competency_id=competency_id,
        competency_code=code,
        note=CLOSED_NOTE,
        link=None,
        recorded_by_id=None,
        responds_to_id=None,
    )
    return [_proved(base, Source.MANAGER_RATING, required, on)]


def _insert(session: Session, rows: list[dict], decided: list[tuple[dict, dict]]) -> None:
    """The proofs, then each decided self-rating and the manager rating answering it."""
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


def _with(shape: _Shape, **changes) -> _Shape:
    return _Shape(**{**shape.__dict__, **changes})


def _risk_shape(rng: random.Random, plan: StoryPlan, person_id: int, required: int) -> _Shape:
    """Risk management: below the requirement in the unit short of it; elsewhere met, by
    a few one level short (stories.py). No certificate, so that nothing lapses by the day
    the demo is built."""
    if person_id in plan.risk_short:
        drop = rng.choice(RISK_SHORTFALL)
    else:
        drop = 1 if person_id in plan.risk_slip else 0
    return _Shape(truth=max(0, required - drop), certificates=False)


def _highest_first(rng: random.Random, ranked: list[tuple[int, str]], n: int) -> list[str]:
    """``n`` codes of (-level, code) pairs, drawn among the highest levels first (a gap at
    level 4 is one no course or test closes on its own, so it shows as a real step)."""
    out: list[str] = []
    for key in sorted({k for k, _ in ranked}):
        tier = [c for k, c in ranked if k == key]
        out += rng.sample(tier, min(n - len(out), len(tier)))
    return out


def _fitting(
    certificates: list[tuple[str, int, bool]],
    levels: dict[str, dict[str, int]],
    caps: dict[str, int],
) -> list[tuple[str, int, bool]]:
    """The certificates that prove nothing above a person's caps (a certificate proves
    every competency its catalogue entry lists)."""
    if not caps:
        return certificates
    return [
        c
        for c in certificates
        if all(level <= caps.get(code, level) for code, level in levels[c[0]].items())
    ]


def _next_roles(plan: StoryPlan) -> Iterable[tuple[int, str]]:
    return ((pick.person_id, pick.next_role) for pick in plan.bench)


def _bench_shapes(
    rng: random.Random,
    plan: StoryPlan,
    required: dict[int, dict[str, int]],
    next_profiles: dict[int, dict[str, int]],
) -> dict[int, dict[str, tuple[int, _Shape]]]:
    """person -> competency -> (the level to evidence, how) for the bench: their next
    role's levels (and their own role's, where higher), one below on the competencies of
    the next step they are short of."""
    out: dict[int, dict[str, tuple[int, _Shape]]] = {}
    for pick in plan.bench:
        target = next_profiles.get(pick.person_id, {})
        if not target:
            continue
        current = required.get(pick.person_id, {})
        wanted = {c: max(current.get(c, 0), target.get(c, 0)) for c in {*current, *target}}
        steps = sorted(c for c, level in target.items() if level > current.get(c, 0))
        short = set(rng.sample(steps or sorted(target), min(pick.short, len(steps or target))))
        out[pick.person_id] = {
            c: (level, _Shape(truth=level - 1 if c in short else level, certificates=False))
            for c, level in wanted.items()
        }
    return out


def _queued(session: Session, people: list[int]) -> dict[int, set[str]]:
    """person -> the competencies of their self-ratings waiting for a decision."""
    out: dict[int, set[str]] = {}
    for person_id, code in session.execute(
        select(Evidence.person_id, Evidence.competency_code).where(
            Evidence.person_id.in_(people),
            Evidence.status.in_([RatingStatus.PENDING, RatingStatus.IN_CALIBRATION]),
        )
    ):
        out.setdefault(person_id, set()).add(code)
    return out


def close_recent_gaps(
    session: Session,
    *,
    seed: int,
    today: date,
    team_ids: set[int],
    learner_person_id: int,
) -> int:
    """Gaps some of the demo manager's people closed in the last three months: for each,
    competencies where they were short of their roles' level three months ago and still
    are, now validated at that level by a manager rating of the last weeks (the learner's
    own gaps, and ratings waiting in the queue, are left alone). Judged with the product's
    rule over the evidence as recorded, so run it once the recorded dates are set; returns
    how many gaps were closed."""
    version = published_version(session)
    people = sorted(team_ids - {learner_person_id})
    if version is None or not people:
        return 0
    rng = random.Random(seed * 7919 + 11)
    rng.shuffle(people)
    low, high = RECENT_PEOPLE
    wanted = min(len(people), max(low, min(high, len(people) // 4)))
    comp_ids = dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == version.id)
        ).all()
    )
    era_list = eras(session)
    then = today - timedelta(days=THREE_MONTHS)
    found: list[tuple[int, list[tuple[str, int]]]] = []
    for start in range(0, len(people), 16):
        chunk = sorted(people[start : start + 16])
        queued = _queued(session, chunk)
        for spans in computed(session, chunk, era_list):
            open_gaps = [
                (code, needed)
                for code in sorted({s.code for s in spans.requirements})
                if (needed := figure_on(spans.requirements, code, today)) >= 2
                and code in comp_ids
                and code not in queued.get(spans.person_id, set())
                and figure_on(spans.levels, code, today) < needed
                and figure_on(spans.levels, code, then) < needed
            ]
            if open_gaps and len(found) < wanted:
                found.append((spans.person_id, open_gaps))
        if len(found) == wanted:
            break
    gaps = max(2, -(-RECENT_GAPS // max(len(found), 1)))
    rows: list[dict] = []
    for person_id, open_gaps in found:
        for code, needed in rng.sample(open_gaps, min(gaps, len(open_gaps))):
            on = today - timedelta(days=rng.randint(*RECENT_DAYS))
            rows.append(
                dict(
                    person_id=person_id,
                    competency_id=comp_ids[code],
                    competency_code=code,
                    source=Source.MANAGER_RATING,
                    level=needed,
                    achieved_on=on,
                    expires_on=None,
                    validated=True,
                    status=None,
                    note=RECENT_NOTE,
                    link=None,
                    certificate_code=None,
                    recorded_by_id=None,
                    responds_to_id=None,
                    recorded_at=datetime.combine(on, time(17), tzinfo=UTC),
                )
            )
    if rows:
        session.execute(insert(Evidence), rows)
    return len(rows)


def _evidence_for(
    rng: random.Random,
    person_id: int,
    code: str,
    competency_id: int,
    required: int,
    anchor: date,
    certificates: list[tuple[str, int, bool]],
    shape: _Shape = PLAIN,
) -> tuple[list[dict], tuple[dict, dict] | None]:
    """Evidence rows for one person and competency: usually a proof near the requirement,
    sometimes a lapsed certificate, sometimes nothing; and sometimes a self-rating with the
    manager rating that decided it (accepted, or adjusted down to the true level). A story's
    ``shape`` sets the level, or bounds it."""
    if shape.truth is not None:
        truth = shape.truth
    elif shape.floor is None and rng.random() < 0.15:
        return [], None  # no evidence yet: an open gap
    else:
        truth = max(0, min(5, required + rng.choice(DRIFT)))
    if shape.cap is not None:
        truth = min(truth, shape.cap)
    if shape.floor is not None:
        truth = max(truth, shape.floor)
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
                _proved(base, source, proved, on),
                expires_on=expires,
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


def _proved(base: dict, source: Source, level: int, on: date) -> dict:
    """A validated proof of ``level`` achieved ``on``."""
    return dict(
        base,
        source=source,
        level=level,
        achieved_on=on,
        expires_on=None,
        validated=True,
        status=None,
        certificate_code=None,
    )


#: What people write when they rate themselves, by competency group.
PENDING_NOTES = {
    "STR": "Scored the new intake against the strategic criteria and presented the ranking.",
    "GOV": "Prepared the stage-gate papers and ran the board secretariat for two cycles.",
    "CTL": "Ran the change and RAID logs on my own since March; every item owned and dated.",
    "FIN": "Re-forecast the budget after the supplier change and explained the variance.",
    "INF": "Built the monthly highlight report the hub now uses for all its projects.",
    "PPL": "Led the lessons-learned workshop at project close and wrote up the actions.",
}


def _queue(
    team_ids: set[int], learner_person_id: int, required: dict[int, dict[str, int]]
) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """(position, person, competency) of the self-ratings waiting in the demo manager's
    queue (the learner first), and of the two ratings in calibration."""
    people = [learner_person_id] + sorted(
        p for p in team_ids if p in required and p != learner_person_id
    )
    pending = []
    for i, person_id in enumerate(people[:8]):
        codes = sorted(required.get(person_id, {}))
        if not codes:
            continue
        code = (
            codes[(i * 5) % len(codes)]
            if person_id != learner_person_id
            else next((c for c in ("CTL-06", "INF-01", "CTL-04") if c in codes), codes[0])
        )
        pending.append((i, person_id, code))
    calibrating = []
    for j, person_id in enumerate(people[8:10]):
        codes = sorted(required.get(person_id, {}))
        if codes:
            calibrating.append((j, person_id, codes[j % len(codes)]))
    return pending, calibrating


def _pending_for_manager(
    session,
    report,
    anchor,
    comp_ids,
    required,
    manager_user_id,
    learner_person_id,
    pending,
    calibrating,
) -> None:
    """Self-ratings waiting in the demo manager's queue, and two open calibrations."""
    for i, person_id, code in pending:
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
    for j, person_id, code in calibrating:
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
