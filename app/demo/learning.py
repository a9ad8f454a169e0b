"""The demo organisation's learning: enrolments at every stage, sessions with bookings,
certificates of completion, and external certificates (verified, pending, some expiring).

Enrolments follow the shipped enrolment rules (holders of a role on the role's path), each
drawn at a stage: not started, in progress, overdue, or complete. Completed modules carry
the evidence a real completion records, so capability pages and learning agree. Dates hang
off today (sessions "this month" and certificates "expiring soon" only make sense that way);
everything else is drawn from the seed. Rows go in with bulk inserts.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app import clock
from app.capability.models import Evidence
from app.framework.models import Certificate, Competency, Source
from app.framework.versions import published_version
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionCertificate,
    CompletionMethod,
    CpdRecord,
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    LearningPath,
    ModuleCompletion,
    ModuleType,
    PathStatus,
    PathVersion,
)
from app.org.models import AssignmentKind, Person, RoleAssignment

#: The evidence source a completed module records, by module type.
SOURCE_OF = {
    ModuleType.E_LEARNING: Source.MODULE_COMPLETION,
    ModuleType.READING: Source.MODULE_COMPLETION,
    ModuleType.CLASSROOM: Source.MODULE_COMPLETION,
    ModuleType.WORKSHOP: Source.MODULE_COMPLETION,
    ModuleType.ASSESSMENT: Source.ASSESSMENT,
    ModuleType.ON_THE_JOB: Source.ASSESSOR_OBSERVATION,
}
METHOD_OF = {
    ModuleType.E_LEARNING: CompletionMethod.SELF,
    ModuleType.READING: CompletionMethod.SELF,
    ModuleType.CLASSROOM: CompletionMethod.ATTENDANCE,
    ModuleType.WORKSHOP: CompletionMethod.ATTENDANCE,
    ModuleType.ASSESSMENT: CompletionMethod.ASSESSMENT,
    ModuleType.ON_THE_JOB: CompletionMethod.SIGN_OFF,
}
#: (stage, weight): how far along a rule's enrolment is.
STAGES = [("not_started", 25), ("in_progress", 40), ("complete", 35)]
ONLINE_LINK = "https://teams.example/harbourside-learning"
PLACES = [
    "Harbour House, room 4.12",
    "Quayside Learning Centre, studio B",
    "Online (Teams)",
    "Harbour House, boardroom 2",
]
REFLECTIONS = [
    "Useful framing: I will bring the log review into our Monday stand-up.",
    "The worked example matched our programme closely; the exercise took me longer than planned.",
    "Clearer now on who decides what at the gate.",
    "",
    "",
]


@dataclass
class DemoLearningReport:
    enrolments: int = 0
    completed: int = 0
    overdue: int = 0
    completions: int = 0
    sessions: int = 0
    bookings: int = 0
    certificates: int = 0
    external: int = 0


@dataclass(frozen=True)
class _Module:
    id: int
    code: str
    type: ModuleType
    optional: bool
    minutes: int
    evidences: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class _Path:
    path_id: int
    code: str
    version_id: int
    number: int
    title: str
    modules: tuple[_Module, ...]


def _published_paths(session: Session) -> dict[int, _Path]:
    versions = session.scalars(
        select(PathVersion).where(PathVersion.status == PathStatus.PUBLISHED)
    ).all()
    out = {}
    for v in versions:
        code = session.get(LearningPath, v.path_id).code  # type: ignore[union-attr]
        out[v.path_id] = _Path(
            v.path_id,
            code,
            v.id,
            v.number,
            v.title,
            tuple(
                _Module(
                    m.id,
                    m.code,
                    m.type,
                    m.optional,
                    m.minutes,
                    tuple((e.competency_code, e.level) for e in m.evidences),
                )
                for m in v.modules
            ),
        )
    return out


def seed_learning(
    session: Session,
    *,
    seed: int,
    today: date,
    learner_person_id: int,
    manager_person_id: int,
    trainer_user_id: int,
    team_ids: set[int],
) -> DemoLearningReport:
    """The demo's learning records (see the module docstring). Needs the shipped paths and
    the published framework; without them it adds nothing."""
    report = DemoLearningReport()
    paths = _published_paths(session)
    framework = published_version(session)
    if not paths or framework is None:
        return report
    rng = random.Random(seed * 104729)
    comp = dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == framework.id)
        ).all()
    )
    comp_names = dict(
        session.execute(
            select(Competency.code, Competency.name).where(Competency.version_id == framework.id)
        ).all()
    )
    names = {
        pid: f"{first} {last}"
        for pid, first, last in session.execute(
            select(Person.id, Person.first_name, Person.last_name)
        )
    }
    now = datetime.combine(today, time(9, 0), tzinfo=UTC)
    enrolments, plans = _enrolments(session, rng, paths, now, learner_person_id)
    if not enrolments:
        return report
    ids = session.scalars(
        insert(Enrolment).returning(Enrolment.id, sort_by_parameter_order=True), enrolments
    ).all()

    completions, evidence, certificates, in_progress_by_path = _progress(
        rng, ids, enrolments, plans, comp, comp_names, names, now, trainer_user_id
    )
    report.overdue = sum(
        1
        for row, (_, stage, _) in zip(enrolments, plans, strict=True)
        if stage != "complete" and row["due_on"] < today
    )
    for chunk in _chunks(completions):
        session.execute(insert(ModuleCompletion), chunk)
    for chunk in _chunks(evidence):
        session.execute(insert(Evidence), chunk)
    for chunk in _chunks(certificates):
        session.execute(insert(CompletionCertificate), chunk)
    report.enrolments, report.completions = len(ids), len(completions)
    report.completed, report.certificates = len(certificates), len(certificates)

    _sessions(
        session, rng, report, paths, in_progress_by_path, now, trainer_user_id, learner_person_id
    )
    _external(
        session, rng, report, framework.id, today, learner_person_id, team_ids, trainer_user_id
    )
    return report


def _progress(
    rng: random.Random,
    ids: Sequence[int],
    enrolments: list[dict],
    plans: list[tuple[_Path, str, int]],
    comp: dict[str, int],
    comp_names: dict[str, str],
    names: dict[int, str],
    now: datetime,
    trainer_user_id: int,
) -> tuple[list[dict], list[dict], list[dict], dict[int, list[tuple[int, frozenset[str]]]]]:
    """Module completions (spread between enrolment and completion), the evidence each
    records, certificates for completed paths, and who is part-way through each path."""
    completions: list[dict] = []
    evidence: list[dict] = []
    certificates: list[dict] = []
    #: path id -> (person id, codes of the modules they have completed) of those part-way
    in_progress_by_path: dict[int, list[tuple[int, frozenset[str]]]] = defaultdict(list)
    for enrolment_id, row, (path, stage, done) in zip(ids, enrolments, plans, strict=True):
        person_id = row["person_id"]
        started = row["enrolled_at"]
        end = row["completed_at"] or now
        span = max((end - started).days, 1)
        for i, module in enumerate(path.modules[:done], start=1):
            at = started + timedelta(days=span * i // max(done, 1))
            at = min(at, end)
            completions.append(
                {
                    "enrolment_id": enrolment_id,
                    "module_id": module.id,
                    "module_code": module.code,
                    "method": METHOD_OF[module.type],
                    "completed_at": at,
                    "reflection": rng.choice(REFLECTIONS)
                    if module.type in (ModuleType.E_LEARNING, ModuleType.READING)
                    else "",
                    "recorded_by_id": None
                    if module.type in (ModuleType.E_LEARNING, ModuleType.READING)
                    else trainer_user_id,
                    "comment": "",
                }
            )
            for code, level in module.evidences:
                if code not in comp:
                    continue
                evidence.append(
                    {
                        "person_id": person_id,
                        "competency_id": comp[code],
                        "competency_code": code,
                        "source": SOURCE_OF[module.type],
                        "level": level,
                        "achieved_on": at.date(),
                        "expires_on": None,
                        "validated": True,
                        "status": None,
                        "note": f"Completed {module.code} ({path.title}, v{path.number})",
                        "link": None,
                        "certificate_code": None,
                        "recorded_by_id": None,
                        "responds_to_id": None,
                    }
                )
        if stage == "complete":
            certificates.append(_certificate(enrolment_id, person_id, names, path, comp_names, end))
        elif stage == "in_progress":
            done_codes = frozenset(m.code for m in path.modules[:done])
            in_progress_by_path[path.path_id].append((person_id, done_codes))
    return completions, evidence, certificates, in_progress_by_path


def _enrolments(
    session: Session,
    rng: random.Random,
    paths: dict[int, _Path],
    now: datetime,
    learner_person_id: int,
) -> tuple[list[dict], list[tuple[_Path, str, int]]]:
    """One enrolment per current holder of each rule's role (once per person and path),
    each at a drawn stage; returns the rows and, per row, (path, stage, modules done)."""
    holders: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for person_id, role_id, start in session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role_id, RoleAssignment.start_date).where(
            RoleAssignment.kind == AssignmentKind.CURRENT, RoleAssignment.end_date.is_(None)
        )
    ):
        holders[role_id].append((person_id, start))
    rules = session.execute(
        select(
            EnrolmentRule.id, EnrolmentRule.path_id, EnrolmentRule.role_id, EnrolmentRule.due_days
        )
        .where(EnrolmentRule.active.is_(True))
        .order_by(EnrolmentRule.id)
    ).all()

    enrolments: list[dict] = []
    plans: list[tuple[_Path, str, int]] = []  # per enrolment: path, stage, modules done
    seen: set[tuple[int, int]] = set()
    for rule_id, path_id, role_id, due_days in rules:
        path = paths.get(path_id)
        if path is None:
            continue
        for person_id, _start in sorted(holders.get(role_id, [])):
            if (person_id, path_id) in seen:
                continue
            seen.add((person_id, path_id))
            stage = _stage(rng, person_id, path, learner_person_id)
            # Finished enrolments may be old; open ones mostly still within their due period,
            # so about a fifth of them run late, as in a programme people actually follow.
            enrolled_days_ago = (
                rng.randint(20, 330)
                if stage == "complete"
                else rng.randint(5, int(due_days * 1.25))
            )
            enrolled_at = now - timedelta(days=enrolled_days_ago)
            due = enrolled_at.date() + timedelta(days=due_days)
            required = [m for m in path.modules if not m.optional]
            done = {
                "not_started": 0,
                "in_progress": rng.randint(1, max(1, len(required) - 1)),
                "complete": len(path.modules),
            }[stage]
            completed_at = (
                min(now, enrolled_at + timedelta(days=rng.randint(15, max(16, enrolled_days_ago))))
                if stage == "complete"
                else None
            )
            enrolments.append(
                {
                    "person_id": person_id,
                    "path_id": path_id,
                    "version_id": path.version_id,
                    "status": EnrolmentStatus.COMPLETED
                    if stage == "complete"
                    else EnrolmentStatus.ACTIVE,
                    "source": EnrolmentSource.RULE,
                    "due_on": due,
                    "enrolled_at": enrolled_at,
                    "rule_id": rule_id,
                    "completed_at": completed_at,
                }
            )
            plans.append((path, stage, done))
    return enrolments, plans


def _stage(rng: random.Random, person_id: int, path: _Path, learner_person_id: int) -> str:
    """The demo learner is part-way through her own role's path and has finished the
    foundation path; everyone else draws a stage."""
    if person_id == learner_person_id:
        return "complete" if path.code == "P3OF" else "in_progress"
    return rng.choices([s for s, _ in STAGES], weights=[w for _, w in STAGES])[0]


def _certificate(
    enrolment_id: int,
    person_id: int,
    names: dict[int, str],
    path: _Path,
    comp_names: dict[str, str],
    issued: datetime,
) -> dict:
    best: dict[str, int] = {}
    for module in path.modules:
        for code, level in module.evidences:
            best[code] = max(best.get(code, 0), level)
    return {
        "enrolment_id": enrolment_id,
        "person_id": person_id,
        "code": secrets.token_urlsafe(24),
        "issued_at": issued,
        "learner_name": names[person_id],
        "path_code": path.code,
        "path_title": path.title,
        "version_number": path.number,
        "minutes": sum(m.minutes for m in path.modules),
        "competencies": [
            {"code": code, "name": comp_names.get(code, code), "level": level}
            for code, level in sorted(best.items())
        ],
    }


def _sessions(
    session: Session,
    rng: random.Random,
    report: DemoLearningReport,
    paths: dict[int, _Path],
    in_progress: dict[int, list[tuple[int, frozenset[str]]]],
    now: datetime,
    trainer_user_id: int,
    learner_person_id: int,
) -> None:
    """For each classroom or workshop module: one past sitting (attendance recorded, or left
    for the trainer to record on the demo trainer's paths) and two upcoming ones, booked by
    people part-way through the path; a popular sitting is full with a waiting list."""
    rows: list[dict] = []
    people_for: list[list[int]] = []
    for path in paths.values():
        part_way = in_progress.get(path.path_id, [])
        for module in path.modules:
            if module.type not in (ModuleType.CLASSROOM, ModuleType.WORKSHOP):
                continue
            hours = max(1, round(module.minutes / 60))
            taken: set[int] = set()  # one place per person per module, as booking enforces
            # Those who completed the module sat an earlier sitting; the others book one.
            sat = [pid for pid, codes in part_way if module.code in codes]
            waiting = [pid for pid, codes in part_way if module.code not in codes]
            recorded = rng.random() < 0.9  # a few past sittings still await the register
            for offset in (-rng.randint(3, 20), rng.randint(2, 12), rng.randint(16, 40)):
                day = (now + timedelta(days=offset)).date()
                while day.weekday() >= 5:
                    day += timedelta(days=1)
                start = datetime.combine(day, time(9 + rng.choice((0, 1, 4)), 30), tzinfo=UTC)
                capacity = rng.choice((8, 12, 16, 20))
                place = rng.choice(PLACES)
                rows.append(
                    {
                        "path_id": path.path_id,
                        "module_code": module.code,
                        "starts_at": start,
                        "ends_at": start + timedelta(hours=min(hours, 7)),
                        "location": place,
                        "link": "https://teams.example/harbourside-learning"
                        if "Online" in place
                        else None,
                        "capacity": capacity,
                        "trainer_id": trainer_user_id,
                        "notes": "Bring a current report or log from your own work.",
                        "attendance_recorded_at": start + timedelta(hours=min(hours, 7))
                        if offset < 0 and recorded
                        else None,
                        "created_by_id": trainer_user_id,
                    }
                )
                pool = sat if offset < 0 and recorded else waiting
                free = [p for p in pool if p not in taken]
                picked = _attendees(rng, free, capacity, offset > 0, learner_person_id)
                taken.update(picked)
                people_for.append(picked)
    if not rows:
        return
    ids = session.scalars(
        insert(ClassSession).returning(ClassSession.id, sort_by_parameter_order=True), rows
    ).all()
    bookings: list[dict] = []
    for session_id, row, picked in zip(ids, rows, people_for, strict=True):
        for n, person_id in enumerate(picked):
            booked = n < row["capacity"]
            registered = row["attendance_recorded_at"] is not None
            bookings.append(
                {
                    "session_id": session_id,
                    "person_id": person_id,
                    "status": BookingStatus.BOOKED if booked else BookingStatus.WAITLISTED,
                    "booked_at": row["starts_at"] - timedelta(days=rng.randint(5, 30), minutes=n),
                    "cancelled_at": None,
                    "attended": True if registered and booked else None,
                }
            )
    for chunk in _chunks(bookings):
        session.execute(insert(Booking), chunk)
    report.sessions, report.bookings = len(ids), len(bookings)


def _attendees(
    rng: random.Random, learners: list[int], capacity: int, upcoming: bool, demo_learner: int
) -> list[int]:
    """Who books a sitting: a quarter of sittings are over-subscribed (a waiting list); the
    demo learner books the first upcoming sitting of each module on her path."""
    wanted = capacity + (3 if rng.random() < 0.25 else -rng.randint(0, capacity // 2))
    picked = rng.sample(learners, min(len(learners), max(wanted, 0)))
    if upcoming and demo_learner in learners and demo_learner not in picked:
        picked = [demo_learner, *picked][: max(wanted, 1)]
    return picked


def _external(
    session: Session,
    rng: random.Random,
    report: DemoLearningReport,
    framework_id: int,
    today: date,
    learner_person_id: int,
    team_ids: set[int],
    trainer_user_id: int,
) -> None:
    """External certificates: the demo learner's verified one expires within 60 days and a
    second waits for verification; across the manager's team and a sample of others, a mix
    of verified, pending and rejected records, some expiring soon, with CPD hours."""
    catalogue = session.scalars(
        select(Certificate).where(Certificate.version_id == framework_id).order_by(Certificate.code)
    ).all()
    if not catalogue:
        return
    comp = dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == framework_id)
        ).all()
    )
    by_code = {c.code: c for c in catalogue}
    people = sorted(team_ids - {learner_person_id})
    others = rng.sample(people, min(len(people), 24))
    plan: list[tuple[int, Certificate, ExternalStatus, int]] = []
    if "PRINCE2-F" in by_code:
        plan.append((learner_person_id, by_code["PRINCE2-F"], ExternalStatus.VERIFIED, 45))
    if "MOR-F" in by_code:
        plan.append((learner_person_id, by_code["MOR-F"], ExternalStatus.PENDING, 900))
    for n, person_id in enumerate(others):
        cert = rng.choice(catalogue)
        status = (ExternalStatus.VERIFIED, ExternalStatus.PENDING, ExternalStatus.REJECTED)[n % 3]
        days_left = rng.choice((20, 50, 80, 400, 700))
        plan.append((person_id, cert, status, days_left))
    evidence_rows: list[dict] = []
    records: list[dict] = []
    for person_id, cert, status, days_left in plan:
        issued = today - timedelta(days=rng.randint(200, 900))
        expires = today + timedelta(days=days_left) if cert.expires else None
        number = f"{rng.randint(10_000_000, 99_999_999)}"
        record = {
            "person_id": person_id,
            "certificate_code": cert.code,
            "other_name": None,
            "number": number,
            "issued_on": issued,
            "expires_on": expires,
            "status": status,
            "submitted_at": datetime.combine(issued, time(12), tzinfo=UTC) + timedelta(days=10),
            "reviewed_by_id": trainer_user_id if status != ExternalStatus.PENDING else None,
            "reviewed_at": clock.now() if status != ExternalStatus.PENDING else None,
            "review_reason": "The certificate number does not match the issuer's register."
            if status == ExternalStatus.REJECTED
            else "",
            "original_name": "",
        }
        records.append(record)
        first = next(iter(cert.evidences), None)
        if status == ExternalStatus.VERIFIED and first in comp:
            evidence_rows.append(
                {
                    "person_id": person_id,
                    "competency_id": comp[first],
                    "competency_code": first,
                    "source": Source.EXTERNAL_CERTIFICATE,
                    "level": cert.evidences[first],
                    "achieved_on": issued,
                    "expires_on": expires,
                    "validated": True,
                    "status": None,
                    "note": f"{cert.name}, number {number}",
                    "link": None,
                    "certificate_code": cert.code,
                    "recorded_by_id": trainer_user_id,
                    "responds_to_id": None,
                }
            )
    evidence_ids = iter(
        session.scalars(
            insert(Evidence).returning(Evidence.id, sort_by_parameter_order=True), evidence_rows
        ).all()
        if evidence_rows
        else []
    )
    for record in records:
        if record["status"] == ExternalStatus.VERIFIED and record["certificate_code"] in {
            c.code for c in catalogue if next(iter(c.evidences), None) in comp
        }:
            record["evidence_id"] = next(evidence_ids)
        else:
            record["evidence_id"] = None
    session.execute(insert(ExternalCertificate), records)
    cpd = [
        {
            "person_id": person_id,
            "activity": activity,
            "done_on": today - timedelta(days=rng.randint(5, 300)),
            "minutes": rng.choice((60, 90, 120, 180, 420)),
            "notes": "",
        }
        for person_id in [learner_person_id, *others[:10]]
        for activity in rng.sample(
            [
                "PMO community of practice: benefits tracking session",
                "Webinar: portfolio prioritisation in practice",
                "Read: a guide to proportionate assurance",
                "Mentoring a new project support officer",
            ],
            2,
        )
    ]
    session.execute(insert(CpdRecord), cpd)
    report.external = len(records)


def _chunks(rows: list[dict], size: int = 2000):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]
