"""The set-wise SQL path (app/reports/bulk.py) gives exactly the spans of the Python rule
(the reference, maintain.refresh_people_py), on random organisations: several framework
versions published on random (and sometimes the same) days with their own caps, profiles
and certificate catalogues, a draft, evidence of every source recorded late, early or
never validated, certificates against versions with and without a catalogue, current and
target roles. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import delete, func, insert, select

from app.capability.models import Evidence
from app.framework.content import FrameworkContent, certificate
from app.framework.models import Competency, Framework, FrameworkVersion, Source, VersionStatus
from app.framework.versions import FRAMEWORK_CODE
from app.framework.writing import write_version
from app.org.models import AssignmentKind, Person, RoleAssignment
from app.reports import bulk, distances, maintain
from app.reports.models import LevelSpan, RequirementSpan, RoleDistance, RoleDistancePeriod
from tests.factories import make_role

START = date(2024, 1, 1)
DAYS = 150  # a short stretch of time, so that dates often coincide
CODES = ("A", "B", "C")
CERTS = ("C1", "C2", "C3")
SOURCES = list(Source)


def day(rng: random.Random) -> date:
    return START + timedelta(days=rng.randrange(DAYS))


def moment(rng: random.Random) -> datetime:
    return datetime.combine(day(rng), time(rng.randrange(24), rng.randrange(60)), tzinfo=UTC)


def content(rng: random.Random, roles: list[str]) -> FrameworkContent:
    caps = {s.value: rng.randrange(6) for s in SOURCES if s != Source.SELF_RATING}
    for source in rng.sample(sorted(caps), rng.randrange(3)):
        del caps[source]  # a source without a cap proves nothing
    certs = []
    # Some versions have no catalogue of their own: their certificates read the era's.
    for code in rng.sample(CERTS, rng.choice([0, 0, 1, 2, 3])):
        levels = {c: rng.randrange(6) for c in rng.sample(CODES, rng.randrange(1, 3))}
        certs.append(
            certificate(
                code=code,
                name=f"Certificate {code}",
                issuer="Issuer",
                expires=rng.random() < 0.5,
                max_level=max(1, *levels.values()),
                evidences=levels,
            )
        )
    return FrameworkContent(
        code=FRAMEWORK_CODE,
        name="Random",
        description="",
        scale=[{"level": n, "name": f"L{n}", "descriptor": "", "note": ""} for n in range(6)],
        caps=caps,
        groups=[
            {
                "code": "G",
                "name": "G",
                "description": "",
                "competencies": [
                    {"code": c, "name": c, "description": "", "indicators": {}} for c in CODES
                ],
            }
        ],
        profiles={
            role: {
                c: (rng.randrange(1, 6), rng.random() < 0.5)
                for c in rng.sample(CODES, rng.randrange(len(CODES) + 1))
            }
            for role in roles
        },
        certificates=certs,
    )


def build_versions(session, rng: random.Random, roles: list[str]) -> list[FrameworkVersion]:
    framework = Framework(code=FRAMEWORK_CODE, name="Random")
    session.add(framework)
    versions = []
    for _ in range(rng.randrange(1, 5)):
        v = write_version(session, framework, content(rng, roles), status=VersionStatus.RETIRED)
        v.published_at = moment(rng)
        versions.append(v)
    max(versions, key=lambda v: (v.published_at, v.number)).status = VersionStatus.PUBLISHED
    if rng.random() < 0.3:  # a draft: never in force, but evidence may point at it
        versions.append(
            write_version(session, framework, content(rng, roles), status=VersionStatus.DRAFT)
        )
    session.flush()
    return versions


def evidence_rows(rng: random.Random, person_id: int, comps: list[Competency]) -> list[dict]:
    rows = []
    for _ in range(rng.randrange(9)):
        comp = rng.choice(comps)
        source = Source.EXTERNAL_CERTIFICATE if rng.random() < 0.3 else rng.choice(SOURCES)
        achieved = day(rng)
        rows.append(
            {
                "person_id": person_id,
                "competency_id": comp.id,
                "competency_code": comp.code,
                "source": source,
                "level": rng.randrange(6),
                "achieved_on": achieved,
                "expires_on": (
                    achieved + timedelta(days=rng.randrange(90)) if rng.random() < 0.4 else None
                ),
                "validated": rng.random() < 0.85,
                "certificate_code": (
                    rng.choice([*CERTS, "ZZ", None])
                    if source == Source.EXTERNAL_CERTIFICATE
                    else None
                ),
                "recorded_at": moment(rng),
            }
        )
    return rows


def assignment_rows(rng: random.Random, person_id: int, role_ids: list[int]) -> list[dict]:
    rows: dict[tuple, dict] = {}
    for _ in range(rng.randrange(4)):
        start = day(rng)
        kind = AssignmentKind.CURRENT if rng.random() < 0.8 else AssignmentKind.TARGET
        role_id = rng.choice(role_ids)
        rows[(role_id, kind, start)] = {
            "person_id": person_id,
            "role_id": role_id,
            "kind": kind,
            "start_date": start,
            "end_date": start + timedelta(days=rng.randrange(60)) if rng.random() < 0.5 else None,
        }
    return list(rows.values())


def random_organisation(session, seed: int, people: int) -> list[int]:
    """Write a random organisation straight through the connection (no hooks, no spans)."""
    rng = random.Random(seed)
    roles = [make_role(code) for code in ("R1", "R2", "R3")]
    versions = build_versions(session, rng, [r.code for r in roles])
    comps = list(
        session.scalars(
            select(Competency).where(Competency.version_id.in_([v.id for v in versions]))
        )
    )
    connection = session.connection()
    ids = list(
        connection.scalars(
            insert(Person).returning(Person.id, sort_by_parameter_order=True),
            [
                {"employee_number": f"R{seed}-{n}", "first_name": "P", "last_name": str(n)}
                for n in range(people)
            ],
        )
    )
    evidence = [row for pid in ids for row in evidence_rows(rng, pid, comps)]
    assignments = [row for pid in ids for row in assignment_rows(rng, pid, [r.id for r in roles])]
    if evidence:
        connection.execute(insert(Evidence), evidence)
    if assignments:
        connection.execute(insert(RoleAssignment), assignments)
    connection.execute(delete(LevelSpan))
    connection.execute(delete(RequirementSpan))
    return ids


def span_count(session) -> int:
    return session.scalar(select(func.count()).select_from(LevelSpan)) + session.scalar(
        select(func.count()).select_from(RequirementSpan)
    )


@pytest.mark.parametrize("seed", range(6))
def test_the_sql_path_gives_the_rules_spans(session, seed):
    random_organisation(session, seed, people=120)
    assert span_count(session) == 0

    bulk.refresh_all_sql(session)

    assert session.scalar(select(func.count()).select_from(LevelSpan)) > 50
    assert session.scalar(select(func.count()).select_from(RequirementSpan)) > 50
    assert maintain.differences(session) == []
    # and everyone's role distances, kept for today
    assert maintain.stale_distances(session, distances.today()) == 0
    assert session.scalar(select(func.count()).select_from(RoleDistancePeriod)) >= session.scalar(
        select(func.count(func.distinct(LevelSpan.person_id)))
    )


def test_refreshing_some_people_in_sql_leaves_the_others_alone(session):
    ids = random_organisation(session, 99, people=80)
    maintain.refresh_people_py(session, ids)
    stored = {
        r.person_id: r
        for r in session.execute(
            select(LevelSpan.person_id, func.count()).group_by(LevelSpan.person_id)
        )
    }
    assert stored
    half = ids[::2]
    connection = session.connection()
    for model in (LevelSpan, RequirementSpan, RoleDistance, RoleDistancePeriod):
        connection.execute(delete(model).where(model.person_id.in_(half)))
    stale = {d.person_id for d in maintain.differences(session)}
    assert stale and stale <= set(half)

    maintain.refresh_people_sql(session, half)

    assert maintain.differences(session) == []
    # their role distances too, kept for today
    with_levels = set(
        session.scalars(select(LevelSpan.person_id).where(LevelSpan.person_id.in_(half)))
    )
    assert with_levels
    periods = set(
        session.scalars(
            select(RoleDistancePeriod.person_id).where(RoleDistancePeriod.person_id.in_(half))
        )
    )
    assert periods >= with_levels
    assert maintain.stale_distances(session, distances.today()) == 0


# -- a staff import ----------------------------------------------------------------------


def test_a_staff_import_rewrites_the_spans_of_the_people_whose_roles_change(app, session, tmp_path):
    """The import writes role assignments set-wise; inside maintain.deferred, their holders'
    spans are rewritten together (in SQL, past maintain.SMALL people) before it commits."""
    from app.accounts.models import Permission
    from tests.factories import make_person, make_unit, make_user
    from tests.reports.factories import small_framework

    make_user(Permission.ADMIN, person=make_person("Ida", "Admin", number="ADM1"))
    make_role("PMOA", "PMO Analyst")
    make_role("PM", "Project Manager")
    make_unit("Delivery", code="DEL")
    small_framework(session, profiles={"PMOA": {"RISK": (3, True)}, "PM": {"PLAN": (4, False)}})
    session.commit()
    header = "Employee Number,First Name,Last Name,Email,Department,Job Title,Manager ID\n"
    rows = [f"N{n},First{n},Last{n},n{n}@example.com,Delivery,PMO Analyst,\n" for n in range(30)]
    path = tmp_path / "staff.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["import", "people", str(path)])

    assert result.exit_code == 0, result.output
    session.expire_all()
    held = session.scalar(
        select(func.count(func.distinct(RequirementSpan.person_id))).where(
            RequirementSpan.competency_code == "RISK", RequirementSpan.valid_to.is_(None)
        )
    )
    assert held == 30
    # A second file moves ten of them to project management: their old role ends today.
    rows[:10] = [r.replace("PMO Analyst", "Project Manager") for r in rows[:10]]
    path.write_text(header + "".join(rows), encoding="utf-8")
    result = runner.invoke(args=["import", "people", str(path)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert maintain.differences(session) == []
    planners = session.scalar(
        select(func.count(func.distinct(RequirementSpan.person_id))).where(
            RequirementSpan.competency_code == "PLAN", RequirementSpan.valid_to.is_(None)
        )
    )
    assert planners == 10
    assert maintain.stale_distances(session, distances.today()) == 0
