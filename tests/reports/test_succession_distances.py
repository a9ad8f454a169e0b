"""The role distances the bench-strength and role-readiness reports read
(app/reports/distances.py), on SQLite and PostgreSQL: kept for today by the same hooks as the
spans, used where they hold, computed on the fly where they do not (a past date, a level
lapsed since, a person never computed), and the bench and the readiness figures always the
same as a plain Python oracle's; the check command verifies them and the daily pass catches
them up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update

from app.capability.models import Evidence
from app.framework.models import Source
from app.org.models import AssignmentKind, OrgUnit, Person, Role, RoleAssignment
from app.reports import distances, maintain, readiness, succession
from app.reports.cli import reports_cli
from app.reports.models import RoleDistance, RoleDistancePeriod
from app.reports.scope import ReportScope
from app.reports.spans import era_on
from app.reports.succession import ALL, ESSENTIAL, BenchOptions
from tests.factories import assign, make_person, make_role, make_unit
from tests.reports.factories import at_noon, record, small_framework
from tests.reports.test_readiness import EARLY, ON, Org, build_org

TODAY = date.today()  # what the distances are kept for (distances.today, frozen below)
CODES = ("RISK", "PLAN", "FIN", "GOV", "BEN")


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    """One "today" for the whole module: the day the stored distances are kept for is the
    TODAY the tests compare with, even when a run crosses midnight."""
    monkeypatch.setattr(distances, "today", lambda: TODAY)
    return TODAY


def bench_rows(session, scope: ReportScope, options: BenchOptions) -> set[tuple]:
    return {
        (r.person_id, r.role_id, r.lines, r.shortfalls, r.gap_levels, bool(r.targets))
        for r in session.execute(succession.bench_statement(scope, options))
    }


# -- a random organisation and a Python oracle --------------------------------------------------


@dataclass
class World:
    roles: dict[str, int]  # code -> id
    units: list[OrgUnit]
    people: list[Person]


def _profiles(rng: random.Random) -> dict[str, dict[str, tuple[int, bool]]]:
    profiles: dict[str, dict[str, tuple[int, bool]]] = {}
    for n in range(6):
        lines = rng.sample(CODES, k=rng.randint(2, 5))
        profiles[f"R{n}"] = {c: (rng.choice((1, 2, 2, 3, 3, 4)), rng.random() < 0.6) for c in lines}
    # the edges: a role asking for level 1 at most where essential (within reach with no
    # level at all), one without essential lines, one with a desirable line at level 1
    profiles["EASY"] = {"RISK": (1, True), "PLAN": (1, True), "FIN": (3, False)}
    profiles["DESIR"] = {"RISK": (2, False), "GOV": (3, False)}
    profiles["LOW"] = {"PLAN": (1, False), "BEN": (2, True)}
    return profiles


def random_world(session, seed: int) -> World:
    rng = random.Random(seed)
    profiles = _profiles(rng)
    roles = {code: make_role(code, f"Role {code}").id for code in profiles}
    small_framework(session, codes=CODES, profiles=profiles)
    root = make_unit("Root")
    units = [root, make_unit("North", parent=root), make_unit("South", parent=root)]
    people = []
    for n in range(24):
        left = rng.random() < 0.1
        person = make_person(
            f"P{n:02d}",
            "Person",
            unit=rng.choice(units),
            active=not left,
            leaving_date=TODAY - timedelta(days=rng.randint(1, 60)) if left else None,
        )
        people.append(person)
        for _ in range(rng.randint(0, 7)):
            achieved = TODAY - timedelta(days=rng.randint(0, 400))
            expires = (
                achieved + timedelta(days=rng.randint(30, 500)) if rng.random() < 0.4 else None
            )
            record(
                session,
                person,
                rng.choice(CODES),
                rng.randint(1, 5),
                achieved_on=achieved,
                recorded_on=achieved + timedelta(days=rng.choice((0, 0, 3, 40))),
                expires_on=expires,
                source=Source.MANAGER_RATING,
            )
        role_codes = list(roles)
        for kind, chance in ((AssignmentKind.CURRENT, 0.7), (AssignmentKind.TARGET, 0.3)):
            if rng.random() < chance:
                start = TODAY - timedelta(days=rng.randint(-20, 300))
                end = start + timedelta(days=rng.randint(10, 400)) if rng.random() < 0.3 else None
                assign(person, session.get(Role, roles[rng.choice(role_codes)]), kind=kind,
                       start=start, end=end)  # fmt: skip
    session.commit()
    return World(roles, units, people)


def oracle(session, scope: ReportScope, options: BenchOptions) -> set[tuple]:
    """The bench from the Python rule, person by person."""
    on = scope.on
    era_list = maintain.eras(session)
    era = era_on(era_list, on)
    profiles = era.profiles if era else {}
    role_ids = dict(session.execute(select(Role.code, Role.id)).all())
    people = session.scalars(select(Person)).all()
    if scope.unit_id is not None:
        below = {scope.unit_id} | set(
            session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id == scope.unit_id))
        )
        people = [p for p in people if p.org_unit_id in below]
    people = [p for p in people if p.active or (p.leaving_date and p.leaving_date > on)]
    live = [
        a
        for a in session.scalars(select(RoleAssignment))
        if a.start_date <= on and (a.end_date is None or a.end_date >= on)
    ]
    held = {(a.person_id, a.role_id) for a in live if a.kind == AssignmentKind.CURRENT}
    aims = {(a.person_id, a.role_id) for a in live if a.kind == AssignmentKind.TARGET}
    spans = {s.person_id: s for s in maintain.computed(session, [p.id for p in people], era_list)}
    out = set()
    for person in people:
        levels = maintain._levels_on(spans[person.id].levels, on)
        for code, lines in profiles.items():
            rid = role_ids[code]
            considered = [
                (req, levels.get(c, 0))
                for c, (req, essential) in lines.items()
                if options.basis == ALL or essential
            ]
            gaps = [req - level for req, level in considered]
            short = sum(g > 0 for g in gaps)
            if not considered or max(gaps) > 1 or short > options.within:
                continue
            if (person.id, rid) in held:
                continue
            targets = (person.id, rid) in aims
            if options.targets_only and not targets:
                continue
            out.add((person.id, rid, len(considered), short, short, targets))
    return out


def readiness_oracle(session, scope: ReportScope) -> tuple[dict, dict]:
    """Role readiness from the Python rule: role id -> (holders, lines, essential lines,
    ready on the essential, ready on all), and role id -> {(code, required, essential):
    (holders short, the lowest level among them)}."""
    on = scope.on
    era_list = maintain.eras(session)
    era = era_on(era_list, on)
    profiles = era.profiles if era else {}
    codes = dict(session.execute(select(Role.id, Role.code)).all())
    people = {p.id: p for p in session.scalars(select(Person))}
    if scope.unit_id is not None:
        below = {scope.unit_id} | set(
            session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id == scope.unit_id))
        )
        people = {i: p for i, p in people.items() if p.org_unit_id in below}
    people = {
        i: p for i, p in people.items() if p.active or (p.leaving_date and p.leaving_date > on)
    }
    holders = {
        (a.person_id, a.role_id)
        for a in session.scalars(select(RoleAssignment))
        if a.kind == AssignmentKind.CURRENT
        and a.person_id in people
        and a.start_date <= on
        and (a.end_date is None or a.end_date >= on)
    }
    spans = {s.person_id: s for s in maintain.computed(session, list(people), era_list)}
    counts: dict = {}
    shorts: dict = {}
    for pid, rid in sorted(holders):
        levels = maintain._levels_on(spans[pid].levels, on)
        lines = profiles.get(codes[rid], {})
        n, size, ess, ready_e, ready_a = counts.get(rid, (0, 0, 0, 0, 0))
        short = {c for c, (req, _e) in lines.items() if levels.get(c, 0) < req}
        counts[rid] = (
            n + 1,
            len(lines),
            sum(e for _r, e in lines.values()),
            ready_e + all(c not in short for c, (_r, e) in lines.items() if e),
            ready_a + (not short),
        )
        for c in short:
            req, e = lines[c]
            had = shorts.setdefault(rid, {}).get((c, req, e), (0, 9))
            shorts[rid][(c, req, e)] = (had[0] + 1, min(had[1], levels.get(c, 0)))
    return counts, shorts


def readiness_rows(session, scope: ReportScope) -> tuple[dict, dict]:
    counts = {
        r.role_id: (r.holders, r.profile_size, r.essential_size, r.ready_essential, r.ready_all)
        for r in readiness.readiness_counts(session, scope)
    }
    shorts = {
        rid: {(s.code, s.required, s.essential): (s.short, s.lowest) for s in found}
        for rid, found in readiness.short_competencies(session, scope).items()
    }
    return counts, shorts


OPTIONS = [
    BenchOptions(basis, within, targets_only)
    for basis in (ALL, ESSENTIAL)
    for within, targets_only in ((0, False), (2, False), (5, False), (5, True))
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_bench_is_the_oracles_whether_stored_computed_or_mixed(session, seed):
    world = random_world(session, seed)
    assert maintain.differences(session) == []
    # everyone's distances kept for today (all who hold a level)
    assert session.scalar(select(func.count()).select_from(RoleDistancePeriod)) > 12
    assert maintain.stale_distances(session, TODAY) == 0

    dates = [TODAY, TODAY - timedelta(days=45), TODAY + timedelta(days=120)]
    scopes = [ReportScope(on=d) for d in dates]
    scopes.append(ReportScope(on=TODAY, unit_id=world.units[1].id))
    for scope in scopes:
        for options in OPTIONS:
            assert bench_rows(session, scope, options) == oracle(session, scope, options), (
                scope,
                options,
            )
        assert readiness_rows(session, scope) == readiness_oracle(session, scope), scope
    # Mixed: some people never computed, some with figures that no longer hold today.
    rng = random.Random(seed)
    ids = [p.id for p in world.people]
    gone = rng.sample(ids, k=6)
    session.execute(delete(RoleDistancePeriod).where(RoleDistancePeriod.person_id.in_(gone)))
    session.execute(delete(RoleDistance).where(RoleDistance.person_id.in_(gone)))
    lapsed = rng.sample([i for i in ids if i not in gone], k=6)
    session.execute(
        update(RoleDistancePeriod)
        .where(RoleDistancePeriod.person_id.in_(lapsed))
        .values(valid_from=TODAY - timedelta(days=9), valid_to=TODAY - timedelta(days=2))
    )
    session.execute(
        update(RoleDistance).where(RoleDistance.person_id.in_(lapsed)).values(short_all=0)
    )  # wrong figures outside the period: must not be read
    scope = ReportScope(on=TODAY)
    for options in OPTIONS:
        assert bench_rows(session, scope, options) == oracle(session, scope, options)
    assert readiness_rows(session, scope) == readiness_oracle(session, scope)


def test_the_stored_distances_keep_only_the_pairs_within_reach(session):
    random_world(session, 7)
    rows = session.execute(
        select(
            RoleDistance.short_all,
            RoleDistance.far_all,
            RoleDistance.short_essential,
            RoleDistance.far_essential,
        )
    ).all()
    assert rows
    for short_all, far_all, short_essential, far_essential in rows:
        assert (far_all == 0 and short_all <= distances.WITHIN_MAX) or (
            far_essential == 0 and short_essential <= distances.WITHIN_MAX
        )


# -- kept current by the same hooks as the spans -----------------------------------------------


@pytest.fixture
def org(session) -> Org:
    return build_org(session)


def stored(session, person: Person) -> dict[str, tuple]:
    return {
        code: tuple(figures)
        for code, *figures in session.execute(
            select(
                Role.code,
                RoleDistance.short_all,
                RoleDistance.far_all,
                RoleDistance.short_essential,
                RoleDistance.far_essential,
            )
            .join(Role, Role.id == RoleDistance.role_id)
            .where(RoleDistance.person_id == person.id)
        )
    }


def test_evidence_recorded_today_moves_the_stored_distances_in_the_same_transaction(session, org):
    # p3: RISK 1, PLAN 2, no FIN. MGR asks RISK, PLAN, FIN 3: too far; ANL is held.
    assert "MGR" not in stored(session, org.p3)

    for code in ("RISK", "PLAN", "FIN"):
        record(session, org.p3, code, 3, achieved_on=TODAY, source=Source.MANAGER_RATING)
    session.flush()

    assert stored(session, org.p3)["MGR"] == (0, 0, 0, 0)
    period = session.get(RoleDistancePeriod, org.p3.id)
    assert period is not None and period.valid_from == TODAY and period.valid_to is None
    ready = succession.bench_candidates(session, ReportScope(on=TODAY), BenchOptions(), org.mgr.id)
    assert "Kim Three" in [c.name for c in ready]
    # as at last month the evidence did not exist yet: not on the bench then
    last_month = ReportScope(on=TODAY - timedelta(days=30))
    before = succession.bench_candidates(session, last_month, BenchOptions(), org.mgr.id)
    assert "Kim Three" not in [c.name for c in before]
    assert maintain.differences(session) == []


def test_a_level_lapsing_with_time_is_computed_until_the_daily_pass(session, org):
    # p5 (3 everywhere) is ready now for MGR; their RISK 3 rests on evidence expiring soon.
    lapse = TODAY + timedelta(days=10)
    record(session, org.p4, "RISK", 3, achieved_on=EARLY, source=Source.MANAGER_RATING,
           expires_on=lapse)  # fmt: skip
    record(session, org.p4, "FIN", 3, achieved_on=EARLY, source=Source.MANAGER_RATING)
    session.commit()
    # p4: RISK 3 (until the lapse), PLAN 3, FIN 3 → ready now for MGR; after: RISK 2.
    period = session.get(RoleDistancePeriod, org.p4.id)
    assert period.valid_to == lapse + timedelta(days=1)
    later = ReportScope(on=lapse + timedelta(days=5))

    def mgr_bench(scope) -> dict[str, int]:
        return {
            c.name: c.shortfalls
            for c in succession.bench_candidates(session, scope, BenchOptions(), org.mgr.id)
        }

    assert mgr_bench(ReportScope(on=TODAY))["Lou Four"] == 0
    assert mgr_bench(later)["Lou Four"] == 1  # computed: the stored figures no longer hold
    assert maintain.stale_distances(session, later.on) == 1

    assert maintain.refresh_stale_distances(session, later.on) == 1
    session.commit()
    assert maintain.stale_distances(session, later.on) == 0
    assert stored(session, org.p4)["MGR"][0] == 1
    assert mgr_bench(later)["Lou Four"] == 1
    assert mgr_bench(ReportScope(on=TODAY))["Lou Four"] == 0  # now computed for today


def test_a_publication_rewrites_everyones_distances_at_commit(session, org):
    profiles = {
        "ANL": {"RISK": (2, True), "PLAN": (3, True), "FIN": (2, False)},
        "MGR": {"RISK": (1, True)},
        "LEAD": {"RISK": (4, True)},
    }
    # published at noon on TODAY (not the wall clock's day, which may have moved on)
    small_framework(session, profiles=profiles, published_at=at_noon(TODAY))
    session.commit()

    assert stored(session, org.p3)["MGR"] == (0, 0, 0, 0)  # RISK 1 meets it now
    period = session.get(RoleDistancePeriod, org.p3.id)
    assert period.valid_from == TODAY  # from the publication: the profile changed then
    assert maintain.differences(session) == []


def test_a_person_with_no_stored_distances_is_computed(session, org):
    session.execute(delete(RoleDistancePeriod))
    session.execute(delete(RoleDistance))
    session.commit()

    names = [
        c.name
        for c in succession.bench_candidates(
            session, ReportScope(on=ON), BenchOptions(), org.mgr.id
        )
    ]
    assert names == ["Max Five", "Lou Four", "Pat One"]
    assert maintain.differences(session) == []  # nothing stored is nothing wrong


# -- every path that changes levels keeps them for today --------------------------------------
# Each test would fail if its path stopped rewriting the stored distances: the figures are read
# from role_distances itself, and kept_for_today() finds anyone whose stored figures do not
# hold today (the bench would still be right, computed on the fly, so only the table tells).


def kept_for_today(session) -> None:
    session.flush()
    assert maintain.differences(session) == []
    assert maintain.stale_distances(session, distances.today()) == 0


def people_ready_for_mgr(session, org: Org, n: int) -> list[Person]:
    return [make_person(f"Bulk{i:02d}", "Person", unit=org.team_b) for i in range(n)]


def evidence_rows(session, people: list[Person], level: int) -> list[dict]:
    from app.framework.models import Competency
    from app.framework.versions import published_version

    version = published_version(session)
    ids = dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == version.id)
        ).all()
    )
    return [
        {
            "person_id": p.id,
            "competency_id": ids[code],
            "competency_code": code,
            "source": Source.MANAGER_RATING,
            "level": level,
            "achieved_on": TODAY,
            "validated": True,
            "recorded_at": at_noon(TODAY),
        }
        for p in people
        for code in ("RISK", "PLAN", "FIN")
    ]


def test_a_bulk_insert_through_the_session_rewrites_the_distances_in_sql(session, org):
    people = people_ready_for_mgr(session, org, maintain.SMALL + 5)  # past SMALL: SQL path
    session.commit()

    session.execute(insert(Evidence), evidence_rows(session, people, 3))

    for person in people:
        assert stored(session, person)["MGR"] == (0, 0, 0, 0)
        assert session.get(RoleDistancePeriod, person.id).valid_from == TODAY
    kept_for_today(session)
    # a bulk UPDATE moves them again: FIN one level short for all of them
    session.execute(
        update(Evidence)
        .where(Evidence.person_id.in_([p.id for p in people]), Evidence.competency_code == "FIN")
        .values(level=2)
    )
    assert {stored(session, p)["MGR"] for p in people} == {(1, 0, 1, 0)}
    kept_for_today(session)


def test_an_import_in_a_deferred_block_rewrites_the_distances_once_at_its_end(session, org):
    people = people_ready_for_mgr(session, org, maintain.SMALL + 5)
    session.commit()

    with maintain.deferred(session):
        for person in people:
            for code in ("RISK", "PLAN", "FIN"):
                record(session, person, code, 3, achieved_on=TODAY, source=Source.MANAGER_RATING)
        assert stored(session, people[0]) == {}  # not yet: at the end of the block
    for person in people:
        assert stored(session, person)["MGR"] == (0, 0, 0, 0)
    kept_for_today(session)
    mgr = {c.name for c in succession.bench_candidates(
        session, ReportScope(on=TODAY), BenchOptions(within=0), org.mgr.id)}  # fmt: skip
    assert {"Bulk00 Person", "Bulk24 Person"} <= mgr


def test_a_manager_accepting_a_self_rating_moves_the_distances_in_the_same_transaction(
    session, org, monkeypatch
):
    from app.accounts.models import Permission
    from app.capability import services as capability
    from app.capability.models import Decision
    from tests.factories import make_user

    # The manager's rating is stamped "recorded" by the product's clock, which the module's
    # freeze does not hold: keep the distances for today read now (with a TODAY from before
    # midnight the rating would count only from the day after the one they are kept for).
    today = date.today()
    monkeypatch.setattr(distances, "today", lambda: today)
    # p1: RISK 2, PLAN 3, FIN 2: one level short of MGR on RISK and FIN.
    assert stored(session, org.p1)["MGR"] == (2, 0, 2, 0)
    rating = capability.record_self_rating(
        session, person_id=org.p1.id, competency_code="FIN", level=3, note="I run the budget.",
        link=None, actor_id=make_user(person=org.p1).id, on=today,
    )  # fmt: skip
    session.commit()
    assert stored(session, org.p1)["MGR"] == (2, 0, 2, 0)  # a self-rating never counts
    boss = make_user(Permission.MANAGER, person=org.boss_a)

    capability.decide(
        session, rating=rating, decision=Decision.ACCEPT, level=None, comment="",
        actor_id=boss.id, actor_person_id=org.boss_a.id, on=today,
    )  # fmt: skip

    assert stored(session, org.p1)["MGR"] == (1, 0, 1, 0)  # before any commit
    kept_for_today(session)


def test_evidence_deleted_takes_the_person_off_the_stored_bench(session, org):
    assert stored(session, org.p5)["MGR"] == (0, 0, 0, 0)
    for evidence in session.scalars(
        select(Evidence).where(Evidence.person_id == org.p5.id, Evidence.competency_code == "FIN")
    ):
        session.delete(evidence)
    session.flush()

    assert "MGR" not in stored(session, org.p5)  # FIN 3 short by 3: out of reach
    kept_for_today(session)


def test_a_role_taken_on_leaves_the_distances_and_takes_the_holder_off_its_bench(session, org):
    # p5 (3 everywhere) is ready now for MGR and aims at it.
    def mgr_bench() -> list[str]:
        return [
            c.name
            for c in succession.bench_candidates(
                session, ReportScope(on=TODAY), BenchOptions(), org.mgr.id
            )
        ]

    assert "Max Five" in mgr_bench()
    before = stored(session, org.p5)

    assign(org.p5, org.mgr, start=TODAY)
    session.commit()

    assert stored(session, org.p5) == before  # the distances are about levels, not roles
    assert "Max Five" not in mgr_bench()  # the holders are left out as the report runs
    kept_for_today(session)


# -- the commands -------------------------------------------------------------------------------


def test_check_reports_a_tampered_distance_and_refresh_mends_it(app, session, org):
    runner = app.test_cli_runner()
    assert runner.invoke(reports_cli, ["check"]).exit_code == 0

    session.execute(
        update(RoleDistance)
        .where(RoleDistance.person_id == org.p5.id, RoleDistance.role_id == org.mgr.id)
        .values(short_all=2)
    )
    session.commit()
    result = runner.invoke(reports_cli, ["check"])
    assert result.exit_code == 1
    assert "1 in role distances" in result.output
    assert f"person {org.p5.id} ({org.p5.employee_number}), distances" in result.output
    assert "stored MGR: 2 competencies short" in result.output
    assert "expected MGR: 0 competencies short" in result.output

    assert runner.invoke(reports_cli, ["refresh"]).exit_code == 0
    assert runner.invoke(reports_cli, ["check"]).exit_code == 0


def test_the_daily_pass_command_catches_up_the_people_never_computed(app, session, org):
    session.execute(delete(RoleDistancePeriod).where(RoleDistancePeriod.person_id == org.p1.id))
    session.execute(delete(RoleDistance).where(RoleDistance.person_id == org.p1.id))
    session.commit()
    runner = app.test_cli_runner()
    check = runner.invoke(reports_cli, ["check"])
    assert check.exit_code == 0 and "The role distances of 1 person" in check.output

    result = runner.invoke(reports_cli, ["distances"])
    assert result.exit_code == 0, result.output
    assert "Rewrote the role distances of 1 person" in result.output
    assert session.get(RoleDistancePeriod, org.p1.id) is not None
    assert "The role distances of" not in runner.invoke(reports_cli, ["check"]).output
