"""`flask demo build`: a realistic, deterministic demo organisation, built through the CLI."""

from __future__ import annotations

import functools
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.demo import organisation as demo
from app.demo.organisation import DEMO_PASSWORD, MIN_PEOPLE
from app.extensions import db
from app.org.lines import line_differences
from app.org.models import (
    AssignmentKind,
    Office,
    OrgUnit,
    P3Level,
    Permanence,
    Person,
    ReportingLine,
    Role,
    RoleAssignment,
)

PEOPLE = 60
SEED = 3


@functools.cache
def demo_password_hash() -> str:
    return hash_password(DEMO_PASSWORD)


def _runner(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(args=list(args))

    loaded = run("content", "load")
    assert loaded.exit_code == 0, loaded.output
    return run


@pytest.fixture
def cli(app, monkeypatch):
    """The CLI, with the demo accounts' Argon2id hash computed once per run (it costs
    ~0.5 s a time); the log-in test below uses real hashing throughout."""
    monkeypatch.setattr(demo, "hash_password", lambda password: demo_password_hash())
    return _runner(app)


@pytest.fixture
def cli_real_hashes(app):
    return _runner(app)


def build(cli, *extra: str, people: int = PEOPLE, seed: int = SEED):
    return cli("demo", "build", "--people", str(people), "--seed", str(seed), *extra)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def people_snapshot() -> list[tuple]:
    """Every person by employee number, with their manager's number: id-independent."""
    db.session.expire_all()
    manager = aliased(Person)
    unit = aliased(OrgUnit)
    rows = db.session.execute(
        select(
            Person.employee_number,
            Person.first_name,
            Person.last_name,
            Person.email,
            Person.job_title,
            unit.code,
            manager.employee_number,
        )
        .outerjoin(manager, Person.line_manager_id == manager.id)
        .outerjoin(unit, Person.org_unit_id == unit.id)
        .order_by(Person.employee_number)
    ).all()
    return [tuple(r) for r in rows]


def assignment_snapshot() -> list[tuple]:
    rows = db.session.execute(
        select(
            Person.employee_number,
            Role.code,
            RoleAssignment.kind,
            RoleAssignment.start_date,
            Office.code,
        )
        .join(Person, RoleAssignment.person_id == Person.id)
        .join(Role, RoleAssignment.role_id == Role.id)
        .outerjoin(Office, RoleAssignment.office_id == Office.id)
        .order_by(Person.employee_number, Role.code, RoleAssignment.kind, RoleAssignment.start_date)
    ).all()
    return [tuple(r) for r in rows]


def everything_snapshot() -> tuple:
    db.session.expire_all()
    return (
        people_snapshot(),
        assignment_snapshot(),
        sorted(db.session.execute(select(OrgUnit.code, OrgUnit.name)).all()),
        sorted(db.session.execute(select(Office.code, Office.name)).all()),
        sorted(db.session.scalars(select(User.email))),
    )


def post_login(client, email: str, password: str):
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, "no csrf_token on the log-in page"
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )


LOGIN_LINE = re.compile(r"^  (?P<perms>\S.*?)\s{2,}(?P<name>\S.*?)\s+(?P<email>\S+@\S+)$")


def printed_logins(output: str) -> tuple[str, list[dict]]:
    password = re.search(r"Demo logins \(password for all: (?P<pw>[^)]+)\):", output)
    assert password, output
    logins = [m.groupdict() for line in output.splitlines() if (m := LOGIN_LINE.match(line))]
    return password.group("pw"), logins


def unit_depths() -> dict[int, int]:
    parents = dict(db.session.execute(select(OrgUnit.id, OrgUnit.parent_id)).all())
    depths = {}
    for uid in parents:
        depth, node, seen = 0, uid, set()
        while parents[node] is not None:
            assert node not in seen, "org unit cycle"
            seen.add(node)
            node, depth = parents[node], depth + 1
        depths[uid] = depth
    return depths


# --- the organisation ---------------------------------------------------------------------------


def test_build_makes_the_whole_organisation(cli):
    result = build(cli)
    assert result.exit_code == 0, result.output
    assert f"{PEOPLE} people" in result.output

    assert count(Person) == PEOPLE

    # Org units: group → directorates → departments → teams; one root.
    depths = unit_depths()
    assert set(depths.values()) == {0, 1, 2, 3}
    assert list(depths.values()).count(0) == 1

    # Offices at every P3 level, a temporary one with dates, a CoE, and a hub with spokes.
    offices = db.session.scalars(select(Office)).all()
    assert {o.p3_level for o in offices} == set(P3Level)
    temporary = [o for o in offices if o.permanence is Permanence.TEMPORARY]
    assert temporary and all(o.start_date and o.end_date for o in temporary)
    assert all(o.end_date >= o.start_date for o in temporary)
    assert any(o.is_coe for o in offices)
    hubs = {o.hub_id for o in offices if o.hub_id is not None}
    assert hubs
    assert any(len([s for s in offices if s.hub_id == h]) >= 2 for h in hubs)

    # Line management: exactly one person (the chief executive) has no line manager.
    people = db.session.scalars(select(Person)).all()
    top = [p for p in people if p.line_manager_id is None]
    assert len(top) == 1 and top[0].job_title == "Chief Executive"
    ids = {p.id for p in people}
    assert all(p.line_manager_id in ids for p in people if p is not top[0])
    assert all(p.org_unit_id is not None for p in people)
    # ... and the reporting lines kept for managers' reach follow it (bulk inserts).
    assert line_differences(db.session.connection()) == (0, 0)
    assert db.session.scalar(select(func.count()).select_from(ReportingLine)) > PEOPLE

    # Role assignments: both current and target ones.
    kinds = set(db.session.scalars(select(RoleAssignment.kind).distinct()))
    assert kinds == {AssignmentKind.CURRENT, AssignmentKind.TARGET}

    # Four demo logins with distinct permission sets, matching the accounts made.
    _password, logins = printed_logins(result.output)
    assert len(logins) == 4
    printed_sets = [frozenset(p.strip() for p in login["perms"].split(",")) for login in logins]
    assert len(set(printed_sets)) == 4
    accounts = {u.email: u.permissions for u in db.session.scalars(select(User))}
    assert len(accounts) == 4
    for login, perms in zip(logins, printed_sets, strict=True):
        assert {p.value for p in accounts[login["email"]]} == perms
    assert set().union(*printed_sets) == {"learner", "manager", "trainer", "admin"}


def test_without_the_role_catalogue_the_build_refuses(app):
    result = app.test_cli_runner().invoke(args=["demo", "build", "--people", str(PEOPLE)])
    assert result.exit_code != 0
    assert "Load the role catalogue first" in result.output
    assert count(Person) == 0 and count(OrgUnit) == 0


# --- determinism, reset and idempotence -------------------------------------------------------


def test_same_seed_gives_the_same_organisation(cli):
    assert build(cli).exit_code == 0
    first = everything_snapshot()
    assert len(first[0]) == PEOPLE

    again = build(cli, "--reset")
    assert again.exit_code == 0, again.output
    assert count(Person) == PEOPLE
    assert everything_snapshot() == first

    other = build(cli, "--reset", seed=SEED + 1)
    assert other.exit_code == 0, other.output
    assert people_snapshot() != first[0]  # the comparison does notice a different organisation


def test_second_build_without_reset_refuses(cli):
    assert build(cli).exit_code == 0
    before = everything_snapshot()

    refused = build(cli)
    assert refused.exit_code != 0
    assert "--reset" in refused.stderr
    assert everything_snapshot() == before

    skipped = build(cli, "--if-empty", seed=SEED + 1)
    assert skipped.exit_code == 0, skipped.output
    assert "already present" in skipped.output
    assert everything_snapshot() == before


def test_if_empty_builds_into_an_empty_database(cli):
    result = build(cli, "--if-empty")
    assert result.exit_code == 0, result.output
    assert count(Person) == PEOPLE


@pytest.mark.parametrize("people", [MIN_PEOPLE - 1, 1])
def test_too_few_people_is_a_clear_error_and_writes_nothing(cli, people):
    result = build(cli, people=people)
    assert result.exit_code != 0
    assert f"at least {MIN_PEOPLE} people" in result.stderr
    assert "Traceback" not in result.output
    for model in (Person, OrgUnit, Office, RoleAssignment, User):
        assert count(model) == 0, model.__name__


def test_zero_people_is_refused_by_the_option(cli):
    result = build(cli, people=0)
    assert result.exit_code == 2
    assert count(Person) == 0


def test_minimum_people_builds(cli):
    result = build(cli, people=MIN_PEOPLE)
    assert result.exit_code == 0, result.output
    assert count(Person) == MIN_PEOPLE


def test_failed_reset_keeps_the_existing_organisation(cli):
    assert build(cli).exit_code == 0
    before = everything_snapshot()
    result = build(cli, "--reset", people=MIN_PEOPLE - 1)
    assert result.exit_code != 0
    assert everything_snapshot() == before


# --- the printed logins work ---------------------------------------------------------------------


def test_printed_demo_users_can_log_in(app, cli_real_hashes):
    result = build(cli_real_hashes)
    assert result.exit_code == 0, result.output
    password, logins = printed_logins(result.output)
    assert len(logins) == 4
    for login in logins:
        client = app.test_client()
        response = post_login(client, login["email"], password)
        assert response.status_code == 302, login["email"]
        assert response.headers["Location"] == "/"
        home = client.get("/")
        assert home.status_code == 200
        assert f"Welcome, {login['name'].split()[0]}" in home.text


# --- the evidence ---------------------------------------------------------------------------


def test_demo_evidence_follows_the_certificate_catalogue_and_decided_ratings(cli):
    from app.capability.models import Evidence, RatingStatus
    from app.framework.models import Source
    from app.framework.versions import published_version

    result = build(cli, people=120)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    catalogue = {c.code: c for c in published_version(db.session).certificates}
    evidence = db.session.scalars(select(Evidence)).all()

    certificates = [e for e in evidence if e.source == Source.EXTERNAL_CERTIFICATE]
    assert certificates
    for e in certificates:
        cert = catalogue[e.certificate_code]  # every certificate names its catalogue entry
        assert e.level == cert.evidences[e.competency_code]
        assert (e.expires_on is not None) == cert.expires

    by_id = {e.id: e for e in evidence}
    answers = {
        e.responds_to_id: e
        for e in evidence
        if e.source == Source.MANAGER_RATING and e.responds_to_id is not None
    }
    decided = [
        e
        for e in evidence
        if e.source == Source.SELF_RATING
        and e.status in (RatingStatus.ACCEPTED, RatingStatus.ADJUSTED)
    ]
    assert decided
    for rating in decided:
        answer = answers[rating.id]  # an accepted self-rating has its manager rating
        assert answer.validated and answer.competency_code == rating.competency_code
        assert answer.person_id == rating.person_id and answer.achieved_on >= rating.achieved_on
        accepted = rating.status == RatingStatus.ACCEPTED
        assert (answer.level == rating.level) == accepted
    assert all(by_id[i].source == Source.SELF_RATING for i in answers)
