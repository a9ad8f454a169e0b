"""C2, object-level authorisation swept over every route with a record id in its path
(checklist RELIABILITY.md C2).

On the demo organisation (60 people, with their evidence, calibrations, enrolments,
certificates, external certificates and attempts), as the demo learner and as the demo
manager (who heads a subtree), every route from ``app.url_map`` that the route rule lets
them use and that names a personal record by id is requested with:

* ids of records of people they may not see (a sample of each kind),
* the ids ±1…±50 around their first record of that kind,
* ids that do not exist.

Every probe of a record they may not see, and every probe of a missing record, must get
exactly what the missing reference id gets (same status, same page once CSRF tokens are
blanked): existence does not leak, and no one else's record is ever shown. Ids of
records they may see are not judged (their pages are another suite's business). POSTs are
sent only to ids they may not see or that do not exist, with a valid CSRF token and the real
form; the database is unchanged afterwards.

Whose records a user may see is the access policy itself (app/access.py visible_people:
a learner themself, a manager their units' subtrees and their reporting line): the sweep
checks that every route applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.access import visible_people
from app.accounts.models import User
from app.assessment.models import Attempt
from app.capability.models import Calibration, CalibrationStatus, Evidence
from app.demo import organisation as demo
from app.demo.organisation import build_demo
from app.extensions import db
from app.learning.models import CompletionCertificate, Enrolment, ExternalCertificate, PathVersion
from app.org.models import Person
from tests.conftest import empty_all_tables, make_app
from tests.demo.test_demo import demo_password_hash
from tests.pages import normalised
from tests.security.world import (
    EXPECTED,
    LEARNER,
    MANAGER,
    UNSAFE,
    World,
    changed_tables,
    csrf_of,
    digest,
)
from tests.test_permissions import post_data

PEOPLE, SEED, TODAY = 60, 3, date(2026, 11, 30)
DEMO_USERS = {
    LEARNER: "priya.shah@harbourside.example",
    MANAGER: "daniel.okafor@harbourside.example",
}
#: URL argument -> the personal record it names (each has the person it belongs to).
PERSONAL: dict[str, Any] = {
    "person_id": Person,
    "enrolment_id": Enrolment,
    "certificate_id": CompletionCertificate,
    "record_id": ExternalCertificate,
    "attempt_id": Attempt,
    "evidence_id": Evidence,
    "calibration_id": Calibration,
}
NEIGHBOURS = range(1, 51)
HIDDEN_SAMPLE = 12  # ids of others' records per kind
MISSING_OFFSETS = (1, 2, 3, 1000, 999_999)  # past the largest id of the kind
MIN_PROBES = 200


class _AnyArgs(dict):
    """test_permissions.POST_DATA's forms ask for a few ids of the probe world (a path to
    enrol on): any value does here, as the record the form is posted about is never
    theirs to act on."""

    def __missing__(self, key: str) -> str:
        return "1"


ANY_ARGS = _AnyArgs()


@dataclass
class Ids:
    """Of one kind of record, for one user: all ids, those whose person the user may see,
    and theirs."""

    all: set[int]
    visible: set[int]
    own: set[int]

    @property
    def largest(self) -> int:
        return max(self.all, default=0)


@pytest.fixture(scope="module")
def world(database_url):
    app = make_app(database_url)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(demo, "hash_password", lambda password: demo_password_hash())
            loaded = app.test_cli_runner().invoke(args=["content", "load"])
            assert loaded.exit_code == 0, loaded.output
            with app.app_context():
                build_demo(db.session(), people=PEOPLE, seed=SEED, today=TODAY)
                add_calibrations(db.session)
                db.session.commit()
                found = {
                    audience: db.session.scalar(select(User).where(User.email == email))
                    for audience, email in DEMO_USERS.items()
                }
                users = {a: user.id for a, user in found.items() if user is not None}
                people = {a: user.person_id for a, user in found.items() if user is not None}
                assert users.keys() == DEMO_USERS.keys(), "the demo's log-ins changed"
                db.session.remove()
        yield World(app, {}, users, people)
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables()
            db.engine.dispose()


def add_calibrations(session) -> None:
    """The demo opens no calibration: open one about every fifth person with evidence
    (inside and outside the manager's reach alike), on their first evidence."""
    opener = session.scalar(select(User.id).where(User.email == DEMO_USERS[MANAGER]))
    firsts = session.execute(
        select(Evidence.person_id, func.min(Evidence.id)).group_by(Evidence.person_id)
    ).all()
    for person_id, evidence_id in sorted(firsts)[::5]:
        session.add(
            Calibration(
                person_id=person_id,
                self_rating_id=evidence_id,
                self_level=3,
                manager_level=1,
                status=CalibrationStatus.OPEN,
                opened_by_id=opener,
            )
        )
    session.flush()


def ids_for(world: World, audience: str) -> dict[str, Ids]:
    with world.context() as session:
        user = session.get(User, world.users[audience])
        scope = visible_people(user)
        assert scope is not None, "the sweep is about users who do not see everyone"
        seen = set(session.scalars(scope))
        me = user.person_id
        out = {}
        for arg, model in PERSONAL.items():
            owner = model.id if model is Person else model.person_id
            rows = session.execute(select(model.id, owner)).all()
            out[arg] = Ids(
                all={i for i, _ in rows},
                visible={i for i, p in rows if p in seen},
                own={i for i, p in rows if p == me},
            )
        return out


def personal_routes(app, audience: str):
    """(endpoint, method, rule, the personal id argument) the audience may use."""
    out = []
    for rule in app.url_map.iter_rules():
        if audience not in EXPECTED.get(rule.endpoint, frozenset()):
            continue
        personal = [name for name in rule.arguments if name in PERSONAL]
        if not personal:
            continue
        assert len(personal) == 1, f"{rule.rule}: teach the sweep two personal ids"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule, personal[0]))
    return sorted(out, key=lambda r: (r[1] != "GET", r[0]))


def probe_ids(ids: Ids) -> tuple[list[int], set[int]]:
    """The ids to probe (others' records, neighbours of one's own, missing ids) and which
    of them are judged (not visible to the user)."""
    hidden = sorted(ids.all - ids.visible)
    step = max(1, len(hidden) // HIDDEN_SAMPLE)
    chosen = set(hidden[::step][:HIDDEN_SAMPLE])
    if ids.own:  # around their first record of the kind
        own = min(ids.own)
        chosen |= {own + d for d in NEIGHBOURS} | {own - d for d in NEIGHBOURS if own - d > 0}
    chosen |= {ids.largest + d for d in MISSING_OFFSETS}
    judged = {i for i in chosen if i not in ids.visible}
    return sorted(chosen), judged


def other_args(world: World, rule, arg: str, record_id: int) -> dict:
    """The rule's other URL arguments: a module code of the enrolment's path (the lesson
    and sign-off pages), an export format."""
    values: dict = {}
    for name in rule.arguments - {arg}:
        if name == "code":
            with world.context() as session:
                version_id = session.scalar(
                    select(Enrolment.version_id).where(Enrolment.id == record_id)
                )
                version = session.get(PathVersion, version_id) if version_id else None
                values[name] = version.modules[0].code if version and version.modules else "M01"
        elif name == "fmt":
            values[name] = "csv"
        else:
            raise AssertionError(f"{rule.rule}: the sweep does not know {name}")
    return values


@dataclass
class Probe:
    """One (route, method) probed with ids, as one user."""

    world: World
    client: Any
    csrf: str
    endpoint: str
    method: str
    rule: Any
    arg: str

    def send(self, record_id: int):
        values = {self.arg: record_id, **other_args(self.world, self.rule, self.arg, record_id)}
        url = self.rule.build(values)[1]
        if self.method in UNSAFE:
            data = {"csrf_token": self.csrf, **post_data(self.endpoint, ANY_ARGS)}
            return url, self.client.open(url, method=self.method, data=data)
        return url, self.client.get(url)


@pytest.mark.parametrize("audience", [LEARNER, MANAGER])
def test_hidden_and_missing_records_look_the_same_on_every_route(world, audience):
    client = world.client(audience)
    csrf = csrf_of(client)
    kinds = ids_for(world, audience)
    routes = personal_routes(world.app, audience)
    leaks: list[str] = []
    probes = judged_count = 0
    before = digest(world)

    for endpoint, method, rule, arg in routes:
        ids = kinds[arg]
        chosen, judged = probe_ids(ids)
        probe = Probe(world, client, csrf, endpoint, method, rule, arg)

        _, reference = probe.send(ids.largest + 10_000_000)
        expected = (reference.status_code, normalised(reference.text))
        assert reference.status_code in (403, 404), (endpoint, method, reference.status_code)
        for record_id in chosen:
            if record_id not in judged:
                continue  # theirs to see (never POSTed to: the world stays as built)
            url, response = probe.send(record_id)
            probes += 1
            judged_count += record_id in ids.all
            got = (response.status_code, normalised(response.text))
            if got != expected:
                whose = "hidden" if record_id in ids.all else "missing"
                leaks.append(
                    f"{method} {url} ({endpoint}, {whose} {arg}={record_id}): "
                    f"{response.status_code}, not the {reference.status_code} a missing id gets"
                )
    after = digest(world)

    print(
        f"\nC2 IDOR sweep as {audience}: {len(routes)} (route, method)s, {probes} probes "
        f"({judged_count} of others' records, {probes - judged_count} missing), "
        f"{len(leaks)} leaks"
    )
    assert probes >= MIN_PROBES
    assert not leaks, "\n".join(leaks)
    assert not changed_tables(before, after), changed_tables(before, after)


def test_the_demo_gives_each_swept_user_records_of_every_kind_around_theirs(world):
    """The sweep has something to find: the learner and the manager have records whose
    neighbours belong to others, and each kind has records one of them may not see."""
    kinds = {audience: ids_for(world, audience) for audience in (LEARNER, MANAGER)}
    for audience, of_kind in kinds.items():
        for arg in ("person_id", "enrolment_id", "evidence_id"):
            assert of_kind[arg].own, (audience, arg)
    for arg in PERSONAL:
        assert any(k[arg].all - k[arg].visible for k in kinds.values()), arg
