"""A realistic, deterministic demo organisation: Harbourside Group.

Five directorates, fifteen departments and as many teams as the head-count needs; a P3O
model with a group portfolio office (the hub), a centre of excellence, directorate hubs,
temporary programme and project offices (one already closed); line management from the
chief executive down; role assignments across the catalogue with career targets; and
one demo login per app permission.

Its capability reports show something worth looking at on a fresh install: a unit short
in risk management, an office depending on one person, a bench for next roles and gaps
closed lately (stories.py says which, and evidence.py shapes them in).

Everything is drawn from ``random.Random(seed)`` and dates hang off a fixed anchor, so the
same seed always builds the same organisation; only what has to be recent counts from the
day of the build (the learning records, the gaps closed in the last three months, and the
temporary offices' dates, moved on by whole months so that they are open whenever the demo
is built). Rows go in with bulk inserts so 20,000 people build in seconds.
"""

from __future__ import annotations

import calendar
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import LoginSession, PasswordToken, User, UserPermission
from app.accounts.passwords import hash_password
from app.assessment.models import Attempt, AttemptItem
from app.capability.models import Calibration, Evidence, ValidationDecision
from app.db import refresh_planner_statistics
from app.demo.assessment import DemoAssessmentReport, seed_assessment_attempts
from app.demo.learning import DemoLearningReport, seed_learning
from app.demo.names import FIRST_NAMES, LAST_NAMES
from app.demo.stories import Holder, StoryPlan, plan_stories
from app.demo.structure import (
    CAREER_STEP,
    DEMO_USERS,
    DEPARTMENT_OFFICE,
    OFFICES,
    OFFICES_AS_AT,
    ROLE_MIX,
    STRUCTURE,
    TEAM_AREAS,
)
from app.errors import DomainError
from app.learning.models import (
    Booking,
    ClassSession,
    CompletionCertificate,
    CpdRecord,
    Enrolment,
    ExternalCertificate,
    ModuleCompletion,
    ReminderLog,
)
from app.org.lines import refresh_lines
from app.org.models import (
    AssignmentKind,
    Office,
    OrgUnit,
    P3Level,
    Permanence,
    Person,
    Role,
    RoleAssignment,
)
from app.reports.coverage import load_functions
from app.reports.maintain import refresh_all

DOMAIN = "harbourside.example"
DEMO_PASSWORD = "harbourside-demo-2026"
ANCHOR = date(2025, 12, 31)
#: 21 unit heads + 15 team leads + members for the first 13 teams, so that the fixed demo
#: users (the last in the HR & Learning team, the 13th) each get a seat.
MIN_PEOPLE = 49


@dataclass
class DemoLogin:
    permissions: str
    name: str
    email: str


@dataclass
class DemoReport:
    people: int = 0
    org_units: int = 0
    offices: int = 0
    assignments: int = 0
    evidence: int = 0
    pending: int = 0
    calibrations: int = 0
    learning: DemoLearningReport = field(default_factory=DemoLearningReport)
    assessment: DemoAssessmentReport = field(default_factory=DemoAssessmentReport)
    logins: list[DemoLogin] = field(default_factory=list)
    password: str = DEMO_PASSWORD


def organisation_exists(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(Person)) or 0) > 0


def clear_organisation(session: Session) -> None:
    """Remove every person, unit, office, assignment and account (for --reset), with the
    learning records, assessment attempts and evidence that hang off them."""
    for model in (
        AttemptItem,
        Attempt,
        Booking,
        ClassSession,
        CompletionCertificate,
        ModuleCompletion,
        Enrolment,
        CpdRecord,
        ExternalCertificate,
        ReminderLog,
        ValidationDecision,
        Calibration,
    ):
        session.execute(delete(model))
    session.execute(update(Evidence).values(responds_to_id=None))
    session.execute(delete(Evidence))
    for account_model in (LoginSession, PasswordToken, UserPermission, User, RoleAssignment):
        session.execute(delete(account_model))
    session.execute(update(Office).values(hub_id=None))
    session.execute(delete(Office))
    session.execute(update(OrgUnit).values(head_id=None, parent_id=None))
    session.execute(update(Person).values(line_manager_id=None))
    session.execute(delete(Person))
    session.execute(delete(OrgUnit))


class _People:
    """Makes unique, deterministic names, emails and employee numbers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.count = 0
        self.emails: set[str] = set()

    def row(
        self, unit_id: int, manager_id: int | None, title: str, name: tuple[str, str] | None = None
    ) -> dict:
        first, last = name or (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))
        self.count += 1
        local = f"{first}.{last}".lower().replace("'", "")
        email, n = f"{local}@{DOMAIN}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{DOMAIN}"
        self.emails.add(email)
        return {
            "employee_number": f"HG{100000 + self.count}",
            "first_name": first,
            "last_name": last,
            "email": email,
            "job_title": title,
            "org_unit_id": unit_id,
            "line_manager_id": manager_id,
            "active": True,
        }


def _insert_people(session: Session, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    stmt = insert(Person).returning(Person.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def _team_sizes(people: int, teams: int) -> list[int]:
    base, extra = divmod(people, teams)
    return [base + (1 if i < extra else 0) for i in range(teams)]


def build_demo(
    session: Session, *, people: int = 300, seed: int = 7, today: date | None = None
) -> DemoReport:
    """Build the demo organisation into an empty database (see the module docstring).
    ``today`` is the day of the build (the learning records and the gaps closed lately
    count back from it); the system date when not given."""
    if people < MIN_PEOPLE:
        raise DomainError(f"The demo organisation needs at least {MIN_PEOPLE} people.")
    if organisation_exists(session):
        raise DomainError("People already exist; use --reset to replace the organisation.")
    roles = {code: rid for code, rid in session.execute(select(Role.code, Role.id))}
    missing = {"R01", "R02", "R04", "R05", "R06", "R10"} - roles.keys()
    if missing:
        raise DomainError(
            "Load the role catalogue first (flask content load): missing "
            + ", ".join(sorted(missing))
        )
    today = today or clock.today()
    builder = _Builder(session, random.Random(seed), roles)
    builder.units(people)
    builder.people(people)
    refresh_lines(session.connection())  # the people went in by bulk inserts (app.org.lines)
    builder.heads()
    offices = _build_offices(session, {d.code: d.id for d, _, _ in builder.departments}, today)
    builder.assignments(offices)
    stories = plan_stories(
        builder.holders, seed=seed, people=people, programme_needs=_programme_needs(session)
    )
    assignments = builder.insert_assignments(stories)
    report = DemoReport(
        people=people, org_units=builder.unit_count, offices=len(offices), assignments=assignments
    )
    report.logins = _demo_accounts(
        session,
        builder.dept_rows,
        builder.dept_head_ids,
        builder.member_rows,
        builder.member_ids,
        builder.member_meta,
    )
    session.flush()
    evidence = _demo_evidence(session, seed, stories)
    report.evidence, report.pending, report.calibrations = (
        evidence.evidence,
        evidence.pending,
        evidence.calibrations,
    )
    session.flush()
    report.learning = _demo_learning(session, seed, today)
    session.flush()
    report.assessment = _demo_attempts(session, seed, people, today)
    session.flush()
    _recorded_when_achieved(session)
    report.evidence += _gaps_closed_lately(session, seed, today)
    refresh_all(session)
    refresh_planner_statistics(session)
    return report


def _programme_needs(session: Session) -> dict[str, int]:
    """competency -> level: what covering every function a programme office needs takes,
    as the loaded office functions say (empty before they are loaded)."""
    functions, needs = load_functions(session)
    wanted = set(needs.get(P3Level.PROGRAMME.value, ()))
    out: dict[str, int] = {}
    for function in functions:
        if function.code in wanted:
            for code in function.competencies:
                out[code] = max(out.get(code, 0), function.level)
    return out


def _recorded_when_achieved(session: Session) -> None:
    """The demo's history: each piece of evidence was recorded the day it was achieved
    (at 5 pm), as a team that keeps its records up to date would have, so that reports as
    at a past date show what the organisation knew then."""
    rows = [
        {"row_id": eid, "when": datetime.combine(achieved, time(17), tzinfo=UTC)}
        for eid, achieved in session.execute(select(Evidence.id, Evidence.achieved_on))
    ]
    if rows:
        table = cast(Table, Evidence.__table__)
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(recorded_at=bindparam("when")),
            rows,
        )


class _Builder:
    """The steps of build_demo, in order: units, people, heads, role assignments."""

    def __init__(self, session: Session, rng: random.Random, roles: dict[str, int]):
        self.session, self.rng, self.roles = session, rng, roles
        self.names = _People(rng)
        self.departments: list[tuple[OrgUnit, str, OrgUnit]] = []  # (dept, kind, directorate)
        self.directorates: list[OrgUnit] = []
        self.teams: list[tuple[OrgUnit, str, str]] = []  # (team, kind, department code)

    @property
    def unit_count(self) -> int:
        return 1 + len(self.directorates) + len(self.departments) + len(self.teams)

    def units(self, people: int) -> None:
        """Org units: group → directorates → departments → teams."""
        self.group = OrgUnit(code="HG", name="Harbourside Group")
        self.session.add(self.group)
        self.session.flush()
        for dcode, dname, depts in STRUCTURE:
            directorate = OrgUnit(code=dcode, name=dname, parent_id=self.group.id)
            self.session.add(directorate)
            self.directorates.append(directorate)
            for code, name, kind in depts:
                dept = OrgUnit(code=code, name=name, parent=directorate)
                self.session.add(dept)
                self.departments.append((dept, kind, directorate))
        self.session.flush()
        self.leaders = 1 + len(self.directorates) + len(self.departments)
        team_count = max(len(self.departments), math.ceil((people - self.leaders) / 12))
        areas_used: dict[str, int] = {}
        for i in range(team_count):
            dept, kind, _ = self.departments[i % len(self.departments)]
            k = areas_used.get(dept.code, 0)
            areas_used[dept.code] = k + 1
            area = TEAM_AREAS[k % len(TEAM_AREAS)] + (
                "" if k < len(TEAM_AREAS) else f" {k // 12 + 1}"
            )
            team = OrgUnit(
                code=f"{dept.code}-{k + 1:02d}", name=f"{dept.name} – {area}", parent_id=dept.id
            )
            self.session.add(team)
            self.teams.append((team, kind, dept.code))
        self.session.flush()

    def people(self, people: int) -> None:
        """People, wave by wave, so every manager's id is known before their reports go in."""
        names, session = self.names, self.session
        ceo = names.row(self.group.id, None, "Chief Executive")
        self.ceo_id = _insert_people(session, [ceo])[0]
        director_ids = _insert_people(
            session,
            [names.row(d.id, self.ceo_id, f"Director of {d.name}") for d in self.directorates],
        )
        self.director_of = dict(zip([d.id for d in self.directorates], director_ids, strict=True))
        self.dept_rows = []
        for dept, _kind, directorate in self.departments:
            fixed = _fixed_name("epo-head") if dept.code == "ST-EPO" else None
            title = fixed[1] if fixed else f"Head of {dept.name}"
            self.dept_rows.append(
                names.row(
                    dept.id, self.director_of[directorate.id], title, fixed[0] if fixed else None
                )
            )
        self.dept_head_ids = _insert_people(session, self.dept_rows)
        self.head_of_dept = dict(
            zip([d.id for d, _, _ in self.departments], self.dept_head_ids, strict=True)
        )
        self.lead_of_team = dict(
            zip(
                [t.id for t, _, _ in self.teams],
                _insert_people(
                    session,
                    [
                        names.row(t.id, self.head_of_dept[t.parent_id or 0], "Team Lead")
                        for t, _, _ in self.teams
                    ],
                ),
                strict=True,
            )
        )
        self.member_rows: list[dict] = []
        self.member_meta: list[tuple] = []
        placed: set[str] = set()
        sizes = _team_sizes(people - self.leaders - len(self.teams), len(self.teams))
        for (team, kind, dept_code), size in zip(self.teams, sizes, strict=True):
            for _ in range(size):
                self._member(team, kind, dept_code, placed)
        self.member_ids = _insert_people(session, self.member_rows)

    def _member(self, team: OrgUnit, kind: str, dept_code: str, placed: set[str]) -> None:
        mix = ROLE_MIX[kind][1]
        role = self.rng.choices([r for r, _ in mix], [w for _, w in mix])[0]
        slot = _slot_for(kind, dept_code, placed)
        fixed = _fixed_name(slot) if slot else None
        if slot:
            placed.add(slot)
            role = {"epo-member": "R04", "learning-member": "R10"}.get(slot, role)
        title = fixed[1] if fixed else _title(role, self.rng)
        self.member_rows.append(
            self.names.row(team.id, self.lead_of_team[team.id], title, fixed[0] if fixed else None)
        )
        self.member_meta.append((role, dept_code, slot))

    def heads(self) -> None:
        """Heads of units (a manager sees the subtree of the units they head)."""
        heads = [{"id": self.group.id, "head_id": self.ceo_id}]
        heads += [{"id": d.id, "head_id": self.director_of[d.id]} for d in self.directorates]
        heads += [{"id": d.id, "head_id": self.head_of_dept[d.id]} for d, _, _ in self.departments]
        heads += [{"id": t.id, "head_id": self.lead_of_team[t.id]} for t, _, _ in self.teams]
        # On the table, not the mapped class: units carry a record version for their edit
        # forms, which a bulk update of rows this build has just inserted has no use for.
        table = cast(Table, OrgUnit.__table__)
        self.session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("unit_id"))
            .values(head_id=bindparam("head")),
            [{"unit_id": row["id"], "head": row["head_id"]} for row in heads],
        )

    def assignments(self, offices: dict[str, int]) -> None:
        """Current roles by kind of department, and career targets for about a third."""
        self.rows: list[dict] = []
        self.holders: list[Holder] = []
        self.offices = offices
        self.office_codes = {oid: code for code, oid in offices.items()}
        sponsor = self.director_of[self.departments[0][2].id]
        self._assign(sponsor, "P01", "ST-EPO", head=True)  # the strategy director sponsors
        for (dept, kind, _), pid in zip(self.departments, self.dept_head_ids, strict=True):
            self._assign(
                pid,
                {"pmo": "R01", "delivery": "R08", "learning": "P07"}.get(kind),
                dept.code,
                head=True,
            )
        for team, kind, dept_code in self.teams:
            self._assign(self.lead_of_team[team.id], ROLE_MIX[kind][0], dept_code)
        for pid, (role, dept_code, slot) in zip(self.member_ids, self.member_meta, strict=True):
            self._assign(pid, role, dept_code, login=slot)

    def insert_assignments(self, stories: StoryPlan) -> int:
        """Insert the roles, with the next role as a target for the people on the bench
        who aim at it (stories.py) and do not have it as a target yet."""
        targets = {
            (r["person_id"], r["role_id"]) for r in self.rows if r["kind"] is AssignmentKind.TARGET
        }
        for i, pick in enumerate(stories.bench):
            role_id = self.roles.get(pick.next_role)
            if not pick.target or role_id is None or (pick.person_id, role_id) in targets:
                continue
            self.rows.append(
                {
                    "person_id": pick.person_id,
                    "role_id": role_id,
                    "kind": AssignmentKind.TARGET,
                    "office_id": None,
                    "start_date": ANCHOR - timedelta(days=60 + 45 * i),
                    "end_date": None,
                }
            )
        if self.rows:
            self.session.execute(insert(RoleAssignment), self.rows)
        return len(self.rows)

    def _assign(
        self,
        person_id: int,
        code: str | None,
        dept_code: str,
        *,
        head: bool = False,
        login: str | None = None,
    ) -> None:
        roles, rng = self.roles, self.rng
        if code is None or code not in roles:
            return
        start = ANCHOR - timedelta(days=rng.randint(30, 6 * 365))
        office = self.offices.get(DEPARTMENT_OFFICE.get(dept_code, ""))
        self.rows.append(
            {
                "person_id": person_id,
                "role_id": roles[code],
                "kind": AssignmentKind.CURRENT,
                "office_id": office,
                "start_date": start,
                "end_date": None,
            }
        )
        self.holders.append(
            Holder(
                person_id,
                code,
                dept_code,
                self.office_codes.get(office) if office is not None else None,
                login=login,
                head=head,
            )
        )
        nxt = CAREER_STEP.get(code)
        if nxt in roles and rng.random() < 0.3:
            self.rows.append(
                {
                    "person_id": person_id,
                    "role_id": roles[nxt],
                    "kind": AssignmentKind.TARGET,
                    "office_id": None,
                    "start_date": ANCHOR - timedelta(days=rng.randint(0, 365)),
                    "end_date": None,
                }
            )


def _demo_learning(session: Session, seed: int, today: date) -> DemoLearningReport:
    from app.org.queries import managed_people_ids

    users = {u.person.last_name: u for u in session.scalars(select(User))}
    manager = users["Okafor"]
    team = set(session.scalars(managed_people_ids(manager.person_id))) - {manager.person_id}
    return seed_learning(
        session,
        seed=seed,
        today=today,
        learner_person_id=users["Shah"].person_id,
        manager_person_id=manager.person_id,
        trainer_user_id=users["Lindqvist"].id,
        team_ids=team,
    )


def _demo_attempts(session: Session, seed: int, people: int, today: date) -> DemoAssessmentReport:
    learner = session.scalar(
        select(User.person_id)
        .join(Person, Person.id == User.person_id)
        .where(Person.last_name == "Shah")
    )
    return seed_assessment_attempts(
        session,
        seed=seed,
        now=datetime.combine(today, time(9, 0), tzinfo=UTC),
        people=people,
        learner_person_id=learner,
    )


def _gaps_closed_lately(session: Session, seed: int, today: date) -> int:
    from app.demo.evidence import close_recent_gaps
    from app.org.queries import managed_people_ids

    users = {u.person.last_name: u for u in session.scalars(select(User))}
    manager, learner = users["Okafor"], users["Shah"]
    team = set(session.scalars(managed_people_ids(manager.person_id))) - {manager.person_id}
    return close_recent_gaps(
        session, seed=seed, today=today, team_ids=team, learner_person_id=learner.person_id
    )


def _demo_evidence(session: Session, seed: int, stories: StoryPlan):
    from app.demo.evidence import seed_evidence
    from app.org.queries import managed_people_ids

    users = {u.person.last_name: u for u in session.scalars(select(User))}
    manager, learner = users["Okafor"], users["Shah"]
    team = set(session.scalars(managed_people_ids(manager.person_id))) - {manager.person_id}
    return seed_evidence(
        session,
        seed=seed,
        anchor=ANCHOR,
        plan=stories,
        manager_person_id=manager.person_id,
        manager_user_id=manager.id,
        learner_person_id=learner.person_id,
        team_ids=team,
    )


def _fixed_name(slot: str) -> tuple[tuple[str, str], str] | None:
    for _perms, first, last, title, where in DEMO_USERS:
        if where == slot:
            return (first, last), title
    return None


def _slot_for(kind: str, dept_code: str, placed: set[str]) -> str | None:
    """Place each fixed demo user once, in the first fitting team."""
    if dept_code == "ST-EPO" and "epo-member" not in placed:
        return "epo-member"
    if kind == "learning" and "learning-member" not in placed:
        return "learning-member"
    if dept_code == "DT-DAT" and "data-member" not in placed:
        return "data-member"
    return None


ROLE_TITLES = {
    "R02": "PMO Manager",
    "R03": "PMO Analyst",
    "R04": "PMO Co-ordinator",
    "R05": "Project Manager",
    "R06": "Programme Manager",
    "R07": "Project Support Officer",
    "R09": "Resource Manager",
    "R10": "Learning & Development Specialist",
    "P04": "Portfolio Analyst",
    "P05": "Project Specialist",
    "P06": "Project Officer",
}
PLAIN_TITLES = [
    "Business Analyst",
    "Operations Officer",
    "Service Manager",
    "Finance Officer",
    "Customer Adviser",
    "Data Analyst",
    "Procurement Officer",
    "HR Adviser",
    "Facilities Coordinator",
    "Engineer",
]


def _title(role: str | None, rng: random.Random) -> str:
    return ROLE_TITLES.get(role or "") or rng.choice(PLAIN_TITLES)


def shift_months(day: date, months: int) -> date:
    """``day`` moved by whole months: a month's last day stays its last day, and a day the
    target month lacks becomes that month's last."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    at_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if at_end else min(day.day, last))


def office_dates(
    permanence: str, opened: date, closes: date | None, today: date
) -> tuple[date, date | None]:
    """An office's (opened, closes) for a demo built on ``today``: a temporary office's dates
    move on by the whole months from ``OFFICES_AS_AT`` to ``today`` (so its story does not
    run out on later builds); a permanent office keeps its founding date."""
    if permanence != Permanence.TEMPORARY.value:
        return opened, closes
    months = (today.year - OFFICES_AS_AT.year) * 12 + today.month - OFFICES_AS_AT.month
    return shift_months(opened, months), closes and shift_months(closes, months)


def _build_offices(session: Session, dept_ids: dict[str, int], today: date) -> dict[str, int]:
    ids: dict[str, int] = {}
    for code, name, level, permanence, coe, hub, dept, first, last, active in OFFICES:
        opened, closes = office_dates(permanence, first, last, today)
        office = Office(
            code=code,
            name=name,
            p3_level=P3Level(level),
            permanence=Permanence(permanence),
            is_coe=coe,
            hub_id=ids.get(hub) if hub else None,
            org_unit_id=dept_ids[dept],
            start_date=opened,
            end_date=closes,
            active=active,
        )
        session.add(office)
        session.flush()
        ids[code] = office.id
    return ids


def _demo_accounts(session, dept_rows, dept_ids, member_rows, member_ids, member_meta):
    by_name = {}
    for row, pid in [
        *zip(dept_rows, dept_ids, strict=True),
        *zip(member_rows, member_ids, strict=True),
    ]:
        by_name[(row["first_name"], row["last_name"], row["job_title"])] = (pid, row["email"])
    logins = []
    for perms, first, last, title, _where in DEMO_USERS:
        person_id, email = by_name[(first, last, title)]
        user = User(
            person_id=person_id,
            email=email,
            password_hash=hash_password(DEMO_PASSWORD),
            active=True,
        )
        user.permission_rows = [UserPermission(permission=p) for p in perms]
        session.add(user)
        logins.append(DemoLogin(", ".join(p.value for p in perms), f"{first} {last}", email))
    return logins
