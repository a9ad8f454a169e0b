"""The organisation the reports benchmark runs over (bench/reports_bench.py).

A demo-like organisation of any size: the shipped role catalogue and framework loaded by
the content loaders (as ``flask content load`` does), then org units, offices, people,
role assignments and evidence generated in Python and written with bulk inserts straight
through the connection (executemany on SQLite, COPY on PostgreSQL). Nothing goes through
an ORM flush, so the span maintenance is not triggered: the benchmark fills the spans
itself with ``refresh_all`` and times that.

The shape follows the demo (app/demo/structure.py): the group, five directorates, fifteen
departments, teams of about twelve; roles by kind of department with the demo's mix, a
second role alongside for 5%, career targets for about a third, a previous role (ended)
for a fifth; the demo's P3O offices. Each person has 10 to 25 pieces of evidence over
several competencies (mostly those their roles ask for), achieved over the last three years
and recorded the same day or up to three weeks later: certificates of the shipped
catalogue (most of which expire after two or three years, some already have), assessments
that expire after two years, module completions, manager ratings, prior learning, and 10%
self-ratings (which never count). About 2% of people left in the past year. Everything is
drawn from ``random.Random(seed)`` relative to ``today``: a seed and a date always give
the same organisation, whichever database it is loaded into.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, select, text, update

from app.demo.names import FIRST_NAMES, LAST_NAMES
from app.demo.structure import CAREER_STEP, DEPARTMENT_OFFICE, OFFICES, ROLE_MIX, STRUCTURE
from app.framework.models import Certificate, Competency, RoleRequirement
from app.framework.versions import published_version
from app.org.lines import refresh_lines
from app.org.models import OrgUnit, OrgUnitPath, Person, Role
from app.org.tree import rebuild_unit_paths

ROOT = Path(__file__).resolve().parent.parent
CURRICULA = ROOT / "curricula"
TEAM_SIZE = 12
#: rows per executemany round (SQLite)
CHUNK = 50_000
#: the roles heads of departments hold, by kind of department
HEAD_ROLE = {"pmo": "R01", "delivery": "R08", "learning": "P07", "business": None}

UNIT_COLUMNS = ("id", "code", "name", "parent_id", "head_id", "active")
OFFICE_COLUMNS = (
    "id",
    "code",
    "name",
    "p3_level",
    "permanence",
    "is_coe",
    "hub_id",
    "org_unit_id",
    "start_date",
    "end_date",
    "active",
)
PERSON_COLUMNS = (
    "id",
    "employee_number",
    "first_name",
    "last_name",
    "email",
    "job_title",
    "org_unit_id",
    "line_manager_id",
    "active",
    "leaving_date",
    "created_at",
    "updated_at",
)
ASSIGNMENT_COLUMNS = (
    "person_id",
    "role_id",
    "office_id",
    "kind",
    "start_date",
    "end_date",
    "source",
)
EVIDENCE_COLUMNS = (
    "person_id",
    "competency_id",
    "competency_code",
    "source",
    "level",
    "achieved_on",
    "expires_on",
    "validated",
    "status",
    "note",
    "certificate_code",
    "recorded_at",
)


# -- the shipped content --------------------------------------------------------------------


def load_content(session) -> None:
    """The shipped role catalogue and framework, as `flask content load` loads them."""
    from app.content.framework_load import load_framework
    from app.content.roles import load_roles

    load_roles(session, CURRICULA / "roles.yaml")
    load_framework(
        session,
        CURRICULA / "framework.yaml",
        CURRICULA / "role-profiles.yaml",
        certificates_path=CURRICULA / "certificates.yaml",
    )
    session.commit()


@dataclass(frozen=True)
class Content:
    """What the generator draws on from the loaded content (ids as the database gave them)."""

    roles: dict[str, int]  # role code -> id
    competencies: dict[str, int]  # competency code -> id (published version)
    profiles: dict[str, dict[str, int]]  # role code -> competency code -> required level
    #: competency code -> [(certificate code, level it proves, expires)]
    certificates: dict[str, list[tuple[str, int, bool]]]


def read_content(session) -> Content:
    version = published_version(session)
    if version is None:
        raise SystemExit("the framework did not load")
    profiles: dict[str, dict[str, int]] = {}
    for role, code, level in session.execute(
        select(Role.code, Competency.code, RoleRequirement.level)
        .join(RoleRequirement, RoleRequirement.role_id == Role.id)
        .join(Competency, Competency.id == RoleRequirement.competency_id)
        .where(RoleRequirement.version_id == version.id)
    ):
        profiles.setdefault(role, {})[code] = level
    certificates: dict[str, list[tuple[str, int, bool]]] = {}
    for cert in session.scalars(
        select(Certificate).where(Certificate.version_id == version.id).order_by(Certificate.code)
    ):
        for code, level in sorted(cert.evidences.items()):
            certificates.setdefault(code, []).append((cert.code, level, cert.expires))
    return Content(
        roles={code: rid for code, rid in session.execute(select(Role.code, Role.id))},
        competencies={
            code: cid
            for code, cid in session.execute(
                select(Competency.code, Competency.id).where(Competency.version_id == version.id)
            )
        },
        profiles=profiles,
        certificates=certificates,
    )


# -- the generated organisation ---------------------------------------------------------------


@dataclass
class Organisation:
    """The rows of one organisation (tuples in the *_COLUMNS orders) and what the benchmark
    needs to know about it."""

    people: int
    content: Content
    today: date
    units: list[tuple] = field(default_factory=list)
    offices: list[tuple] = field(default_factory=list)
    persons: list[tuple] = field(default_factory=list)
    heads: list[tuple[int, int]] = field(default_factory=list)  # (unit id, head person id)
    assignments: list[tuple] = field(default_factory=list)
    evidence: list[tuple] = field(default_factory=list)
    root_id: int = 0
    directorates: list[tuple[int, str, str]] = field(default_factory=list)  # id, code, name
    teams: int = 0
    team_id: int = 0  # a team of the Enterprise Portfolio Office, for people rows
    max_person_id: int = 0


class _Draw:
    """Fast draws from one random.Random."""

    def __init__(self, seed: int, today: date):
        self.rng = random.Random(seed)
        self.r = self.rng.random
        self.today = today
        #: ISO text of each day back from today (index: days ago), and forward
        self.back = [(today - timedelta(days=d)).isoformat() for d in range(7 * 365)]
        self.ahead = [(today + timedelta(days=d)).isoformat() for d in range(4 * 365)]

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.r() * len(seq))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.r() * (high - low + 1))

    def day(self, offset: int) -> str:
        """ISO date ``offset`` days from today (negative: past)."""
        return self.back[-offset] if offset <= 0 else self.ahead[offset]


#: how far a level sits from what the role asks for
DRIFT = (-2, -1, -1, -1, 0, 0, 0, 0, 1)
#: days between achieving and recording
LAG = (0, 0, 0, 1, 3, 7, 21)


class _Evidence:
    """Pieces of evidence for one person at a time, as tuples in EVIDENCE_COLUMNS order."""

    def __init__(self, draw: _Draw, content: Content):
        self.d = draw
        self.content = content
        self.codes = sorted(content.competencies)
        self.ids = content.competencies
        self.required_cache: dict[tuple[str, ...], dict[str, int]] = {}

    def required(self, held: tuple[str, ...]) -> dict[str, int]:
        out = self.required_cache.get(held)
        if out is None:
            out = {}
            for role in held:
                for code, level in self.content.profiles.get(role, {}).items():
                    out[code] = max(out.get(code, 0), level)
            self.required_cache[held] = out
        return out

    def person(self, pid: int, held: tuple[str, ...], count: int, newest: int) -> list[tuple]:
        d = self.d
        required = self.required(held)
        wanted = list(required)
        d.rng.shuffle(wanted)
        spread = max(3, count // (2 if d.r() < 0.67 else 3))
        chosen = wanted[: max(0, spread - d.between(0, 2))]
        chosen += d.rng.sample(self.codes, k=max(0, spread - len(chosen)))
        out = []
        pending: set[str] = set()
        for n in range(count):
            code = chosen[n % len(chosen)]
            target = required.get(code) or d.pick((1, 2, 2, 3))
            level = max(1, min(5, target + d.pick(DRIFT)))
            piece = self.piece(pid, code, level, d.between(0, newest))
            if piece[8] == "pending":
                # One self-rating pending per competency (uq_evidence_pending_self_rating):
                # an earlier one was withdrawn, as migration 0016 leaves them.
                if code in pending:
                    piece = (*piece[:8], "withdrawn", *piece[9:])
                pending.add(code)
            out.append(piece)
        return out

    def piece(self, pid: int, code: str, level: int, days_ago: int) -> tuple:
        d = self.d
        r = d.r()
        expires = cert = status = None
        validated = True
        achieved = d.day(-days_ago)
        if r < 0.1:
            source, validated, status = "self_rating", False, "pending"
        elif level >= 4:
            source = "manager_rating" if r < 0.7 else "assessor_observation"
        elif r < 0.35 and code in self.content.certificates:
            source = "external_certificate"
            cert, level, expiring = d.pick(self.content.certificates[code])
            if expiring:
                expires = d.day(-days_ago + (730 if d.r() < 0.5 else 1095))
        elif r < 0.45:
            source = "assessment"
            expires = d.day(-days_ago + 730)  # a refresher every two years
        elif level <= 2 and r < 0.7:
            source = "module_completion"
        else:
            source = "manager_rating" if r < 0.85 else "prior_learning"
        lag = min(d.pick(LAG), days_ago)
        recorded = d.day(-days_ago + lag) + " 17:00:00.000000"
        return (
            pid,
            self.ids[code],
            code,
            source,
            level,
            achieved,
            expires,
            validated,
            status,
            "",
            cert,
            recorded,
        )


class _Builder:
    """The steps of ``generate``, in order: units, offices, people and roles, evidence."""

    def __init__(self, content: Content, people: int, seed: int, today: date):
        self.d = _Draw(seed, today)
        self.content = content
        self.org = Organisation(people=people, content=content, today=today)
        self.now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        self.held_by: list[tuple[int, tuple[str, ...]]] = []
        self.pid = 0

    def units(self) -> None:
        """The group, directorates, departments and teams of about TEAM_SIZE."""
        org = self.org
        units: list[tuple] = []
        next_unit = iter(range(1, 10_000_000))
        root = org.root_id = next(next_unit)
        units.append((root, "HG", "Harbourside Group", None))
        self.departments: list[tuple[int, str, str, str, int]] = []  # id, code, name, kind, dir
        for dcode, dname, depts in STRUCTURE:
            did = next(next_unit)
            units.append((did, dcode, dname, root))
            org.directorates.append((did, dcode, dname))
            for code, name, kind in depts:
                uid = next(next_unit)
                units.append((uid, code, name, did))
                self.departments.append((uid, code, name, kind, did))
        leaders = 1 + len(org.directorates) + len(self.departments)
        count = max(len(self.departments), -(-(org.people - leaders) // TEAM_SIZE))
        self.teams: list[tuple[int, int]] = []  # (team id, department index)
        for i in range(count):
            k, di = divmod(i, len(self.departments))
            dept = self.departments[di]
            tid = next(next_unit)
            units.append((tid, f"{dept[1]}-{k + 1:03d}", f"{dept[2]} – Team {k + 1}", dept[0]))
            self.teams.append((tid, di))
        org.teams = count
        org.units = [(*u, None, True) for u in units]
        org.team_id = next(t for t, di in self.teams if self.departments[di][1] == "ST-EPO")

    def offices(self) -> None:
        """The demo's P3O offices."""
        dept_ids = {code: uid for uid, code, _n, _k, _d in self.departments}
        self.office_ids: dict[str, int] = {}
        for n, (code, name, level, perm, coe, hub, dept, opened, closes, active) in enumerate(
            OFFICES, start=1
        ):
            self.office_ids[code] = n
            self.org.offices.append(
                (
                    n,
                    code,
                    name,
                    level,
                    perm,
                    coe,
                    self.office_ids.get(hub) if hub else None,
                    dept_ids[dept],
                    opened.isoformat(),
                    closes.isoformat() if closes else None,
                    active,
                )
            )

    def person(self, unit: int, manager: int | None, title: str) -> int:
        d = self.d
        self.pid += 1
        pid = self.pid
        first, last = d.pick(FIRST_NAMES), d.pick(LAST_NAMES)
        left = manager is not None and d.r() < 0.02
        self.org.persons.append(
            (
                pid,
                f"RB{pid:07d}",
                first,
                last,
                f"{first}.{last}.{pid}@bench.example".lower().replace("'", ""),
                title,
                unit,
                manager,
                not left,
                d.day(-d.between(1, 365)) if left else None,
                self.now,
                self.now,
            )
        )
        return pid

    def assign(self, pid: int, code: str | None, dept_code: str) -> None:
        """A current role (and maybe a previous one, one alongside, a career target)."""
        d, roles, rows = self.d, self.content.roles, self.org.assignments
        if code is None or code not in roles:
            self.held_by.append((pid, ()))
            return
        started = -d.between(30, 6 * 365)
        office = self.office_ids.get(DEPARTMENT_OFFICE.get(dept_code, ""))
        held = [code]
        if d.r() < 0.2:  # a previous role, ended the day before this one began
            before = d.pick(sorted(self.content.profiles))
            begun = started - d.between(200, 1000)
            if -begun < len(d.back):
                ended = d.day(started - 1)
                rows.append((pid, roles[before], office, "current", d.day(begun), ended, "hand"))
        rows.append((pid, roles[code], office, "current", d.day(started), None, "hand"))
        if d.r() < 0.05:  # a second role held alongside
            extra = d.pick(("R09", "P06", "R07", "R03"))
            if extra != code and extra in roles:
                since = d.day(-d.between(0, 3 * 365))
                rows.append((pid, roles[extra], office, "current", since, None, "hand"))
                held.append(extra)
        step = CAREER_STEP.get(code)
        if step in roles and d.r() < 0.3:
            since = d.day(-d.between(0, 365))
            rows.append((pid, roles[step], None, "target", since, None, "hand"))
        self.held_by.append((pid, tuple(sorted(held))))

    def people(self) -> None:
        """People wave by wave (managers first), each with their roles."""
        org = self.org
        ceo = self.person(org.root_id, None, "Chief Executive")
        org.heads.append((org.root_id, ceo))
        self.held_by.append((ceo, ()))
        director: dict[int, int] = {}
        for did, _code, name in org.directorates:
            director[did] = self.person(did, ceo, f"Director of {name}")
            org.heads.append((did, director[did]))
            self.held_by.append((director[did], ()))
        head_of: list[int] = []
        for uid, code, name, kind, did in self.departments:
            head = self.person(uid, director[did], f"Head of {name}")
            org.heads.append((uid, head))
            head_of.append(head)
            self.assign(head, HEAD_ROLE[kind], code)
        base, extra = divmod(org.people - self.pid, len(self.teams))
        for i, (tid, di) in enumerate(self.teams):
            size = base + (1 if i < extra else 0)
            if size:
                self.team(tid, di, size, head_of[di])
        org.max_person_id = self.pid

    def team(self, tid: int, di: int, size: int, head: int) -> None:
        _uid, dcode, _name, kind, _did = self.departments[di]
        lead_role, mix = ROLE_MIX[kind]
        mix_roles = [r for r, w in mix for _ in range(w)]
        lead = self.person(tid, head, "Team Lead")
        self.org.heads.append((tid, lead))
        self.assign(lead, lead_role, dcode)
        for _ in range(size - 1):
            self.assign(self.person(tid, lead, "Team Member"), self.d.pick(mix_roles), dcode)

    def evidence(self) -> None:
        make = _Evidence(self.d, self.content)
        for pid, held in self.held_by:
            self.org.evidence.extend(make.person(pid, held, self.d.between(10, 25), 3 * 365))


def generate(content: Content, people: int, *, seed: int = 13, today: date) -> Organisation:
    """The rows of an organisation of ``people`` people (see the module docstring)."""
    builder = _Builder(content, people, seed, today)
    builder.units()
    builder.offices()
    builder.people()
    builder.evidence()
    return builder.org


def import_rows(org: Organisation, rows: int, *, seed: int) -> tuple[list[tuple], set[int]]:
    """``rows`` new pieces of evidence, five each for ``rows / 5`` people picked at random,
    achieved in the last 90 days (an import of course results, say)."""
    d = _Draw(seed, org.today)
    make = _Evidence(d, org.content)
    people = d.rng.sample(range(1, org.max_person_id + 1), k=rows // 5)
    out: list[tuple] = []
    for p in people:
        codes = d.rng.sample(make.codes, k=3)
        for n in range(5):
            piece = make.piece(p, codes[n % 3], d.pick((2, 2, 3, 3, 4)), d.between(0, 90))
            if piece[8] == "pending":  # an import holds no self-rating awaiting a manager
                piece = (*piece[:8], "withdrawn", *piece[9:])
            out.append(piece)
    return out, set(people)


# -- loading ---------------------------------------------------------------------------------


def bulk_insert(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]
) -> None:
    """Rows (tuples of plain values: text dates) into a table: COPY on PostgreSQL,
    executemany on SQLite; no ORM, no events."""
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
            batch = []
    if batch:
        connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)


def _fix_sequences(connection: Connection, tables: Sequence[str]) -> None:
    """PostgreSQL: move the id sequences past the ids inserted explicitly."""
    if connection.dialect.name != "postgresql":
        return
    for name in tables:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {name}), 1))"
            )
        )


def load(session, org: Organisation) -> None:
    """Write the organisation into a database holding the same content (ids checked) and
    commit. The spans are NOT filled: call refresh_all after."""
    if read_content(session) != org.content:
        raise SystemExit("the content ids differ between databases; generate per database")
    connection = session.connection()
    bulk_insert(connection, "org_units", UNIT_COLUMNS, org.units)
    rebuild_unit_paths(connection)
    bulk_insert(connection, "offices", OFFICE_COLUMNS, org.offices)
    bulk_insert(connection, "people", PERSON_COLUMNS, org.persons)
    refresh_lines(connection)
    table = cast(Table, OrgUnit.__table__)
    connection.execute(
        update(table).where(table.c.id == bindparam("unit")).values(head_id=bindparam("head")),
        [{"unit": u, "head": h} for u, h in org.heads],
    )
    bulk_insert(connection, "role_assignments", ASSIGNMENT_COLUMNS, org.assignments)
    bulk_insert(connection, "evidence", EVIDENCE_COLUMNS, org.evidence)
    _fix_sequences(connection, ["org_units", "offices", "people"])
    session.commit()


def subtree_people(session, unit_id: int, on: date) -> int:
    """People counted in a unit's subtree on a date (not left by then)."""
    return (
        session.scalar(
            select(func.count(Person.id)).where(
                Person.active | (Person.leaving_date > on),
                Person.org_unit_id.in_(
                    select(OrgUnitPath.descendant_id).where(OrgUnitPath.ancestor_id == unit_id)
                ),
            )
        )
        or 0
    )
