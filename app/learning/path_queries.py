"""Reads about learning paths and their versions: the trainer's pages (the catalogue of
paths, a path's versions, rules and history), the accessors of a path's published version
and draft, a version's canonical content, what a path may refer to, and two reads other
pages share — the published paths (``published_paths``) and the published modules that
evidence a competency at a level (``modules_evidencing``: "what closes this gap?").

Plain data out; no writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from app.accounts.models import User
from app.framework.models import Competency
from app.framework.versions import published_version as published_framework
from app.learning.content import (
    CERTIFICATE,
    PATH,
    ModuleContent,
    PathContent,
    References,
    module,
    path_content,
)
from app.learning.enrolment import missing_prerequisites, prerequisites_text
from app.learning.models import (
    Enrolment,
    EnrolmentRule,
    EnrolmentStatus,
    LearningPath,
    ModuleEvidence,
    PathChange,
    PathModule,
    PathPrerequisite,
    PathStatus,
    PathVersion,
)
from app.org.models import AssignmentKind, Person, Role, RoleAssignment

# --- finding paths and versions ---------------------------------------------------------------


def path_by_code(session: Session, code: str) -> LearningPath | None:
    return session.scalar(select(LearningPath).where(LearningPath.code == code))


def _of_path(path_id: int):
    return select(PathVersion).where(PathVersion.path_id == path_id)


def published_version(session: Session, path_id: int) -> PathVersion | None:
    """The version new enrolments get, or None (never published, or retired)."""
    return session.scalar(
        _of_path(path_id)
        .where(PathVersion.status == PathStatus.PUBLISHED)
        .order_by(PathVersion.number.desc())
        .limit(1)
    )


def current_draft(session: Session, path_id: int) -> PathVersion | None:
    return session.scalar(
        _of_path(path_id)
        .where(PathVersion.status == PathStatus.DRAFT)
        .order_by(PathVersion.number.desc())
        .limit(1)
    )


def latest_version(session: Session, path_id: int) -> PathVersion | None:
    return session.scalar(_of_path(path_id).order_by(PathVersion.number.desc()).limit(1))


def version_by_number(session: Session, path_id: int, number: int) -> PathVersion | None:
    return session.scalar(_of_path(path_id).where(PathVersion.number == number))


def default_comparison(session: Session, path_id: int) -> tuple[int, int] | None:
    """(from, to) version numbers to compare when none are given: the published version
    against the open draft, else the newest version against the one before it."""
    numbers = list(
        session.scalars(
            select(PathVersion.number)
            .where(PathVersion.path_id == path_id)
            .order_by(PathVersion.number.desc())
        )
    )
    draft, published = current_draft(session, path_id), published_version(session, path_id)
    if draft is not None and published is not None:
        return published.number, draft.number
    return (numbers[1], numbers[0]) if len(numbers) > 1 else None


def content_of(session: Session, version: PathVersion) -> PathContent:
    """Read a version back into canonical content (``app.learning.content``)."""
    found = session.scalar(
        select(PathVersion)
        .where(PathVersion.id == version.id)
        .options(
            selectinload(PathVersion.path),
            selectinload(PathVersion.audience),
            selectinload(PathVersion.prerequisites),
            selectinload(PathVersion.modules).selectinload(PathModule.evidences),
        )
        .execution_options(populate_existing=True)
    )
    assert found is not None
    sets: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for p in found.prerequisites:
        sets[p.alternative_set].append(
            (PATH, p.path_code) if p.path_code else (CERTIFICATE, p.certificate_code or "")
        )
    return path_content(
        code=found.path.code,
        title=found.title,
        summary=found.summary,
        open_enrolment=found.open_enrolment,
        audience=[r.code for r in found.audience],
        prerequisite_sets=[sets[k] for k in sorted(sets)],
        modules=[module_content(m) for m in found.modules],
    )


def module_content(row: PathModule) -> ModuleContent:
    return module(
        code=row.code,
        title=row.title,
        type=row.type.value,
        minutes=row.minutes,
        optional=row.optional,
        requires=row.requires or (),
        outcomes=row.outcomes or (),
        evidences={e.competency_code: e.level for e in row.evidences},
        lesson=row.lesson,
        assessment=row.assessment_code,
    )


def module_by_code(session: Session, version: PathVersion, code: str) -> PathModule | None:
    return session.scalar(
        select(PathModule).where(PathModule.version_id == version.id, PathModule.code == code)
    )


# --- what a path may refer to ---------------------------------------------------------------


def references(session: Session) -> References:
    """What a path may name: the published framework's competencies, evidence caps and
    certificate catalogue, the role catalogue, and the paths that have a published
    version. Competencies, caps and certificates are None when no framework is published."""
    framework = published_framework(session)
    roles = frozenset(session.scalars(select(Role.code)))
    paths = frozenset(
        session.scalars(
            select(LearningPath.code)
            .join(PathVersion)
            .where(PathVersion.status == PathStatus.PUBLISHED)
        )
    )
    if framework is None:
        return References(roles=roles, paths=paths)
    return References(
        competencies=frozenset(
            session.scalars(select(Competency.code).where(Competency.version_id == framework.id))
        ),
        caps={cap.source.value: cap.max_level for cap in framework.caps},
        roles=roles,
        certificates=frozenset(c.code for c in framework.certificates),
        paths=paths,
    )


def published_prerequisites(session: Session) -> dict[str, set[str]]:
    """Path code -> the path codes its published version's prerequisites name."""
    graph: dict[str, set[str]] = defaultdict(set)
    rows = session.execute(
        select(LearningPath.code, PathPrerequisite.path_code)
        .join(PathVersion, PathVersion.path_id == LearningPath.id)
        .outerjoin(PathPrerequisite, PathPrerequisite.version_id == PathVersion.id)
        .where(PathVersion.status == PathStatus.PUBLISHED)
    )
    for code, required in rows:
        graph[code]
        if required:
            graph[code].add(required)
    return dict(graph)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def competency_choices(session: Session) -> list[Choice]:
    """The published framework's competencies, in the framework's order."""
    framework = published_framework(session)
    if framework is None:
        return []
    rows = session.execute(
        select(Competency.code, Competency.name)
        .where(Competency.version_id == framework.id)
        .order_by(Competency.group_id, Competency.position)
    )
    return [Choice(code, f"{code} — {name}") for code, name in rows]


def level_names(session: Session) -> dict[int, str]:
    framework = published_framework(session)
    return {lv.level: lv.name for lv in framework.levels} if framework else {}


def certificate_choices(session: Session) -> list[Choice]:
    framework = published_framework(session)
    certificates = framework.certificates if framework else []
    return [Choice(c.code, f"{c.code} — {c.name}") for c in certificates]


def role_choices(session: Session) -> list[Choice]:
    rows = session.execute(select(Role.code, Role.name).where(Role.active).order_by(Role.code))
    return [Choice(code, f"{code} — {name}") for code, name in rows]


def role_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Role.code, Role.name)).all())


def path_choices(session: Session, *, excluding: str | None = None) -> list[Choice]:
    """Paths with a published version (what a prerequisite may name), by code."""
    return [
        Choice(p.code, f"{p.code} — {p.title}")
        for p in published_paths(session)
        if p.code != excluding
    ]


# --- the catalogue of paths -----------------------------------------------------------------


@dataclass(frozen=True)
class PublishedPath:
    """A path's current published version, for catalogues and pickers."""

    path_id: int
    code: str
    version_id: int
    number: int
    title: str
    summary: str
    open_enrolment: bool
    modules: int
    minutes: int

    @property
    def hours(self) -> float:
        return self.minutes / 60


def _module_totals():
    return (
        select(
            PathModule.version_id.label("version_id"),
            func.count(PathModule.id).label("modules"),
            func.coalesce(func.sum(PathModule.minutes), 0).label("minutes"),
        )
        .group_by(PathModule.version_id)
        .subquery()
    )


def published_paths(session: Session) -> list[PublishedPath]:
    """The current published version of every path that has one, by path code, with its
    module count and estimated hours."""
    totals = _module_totals()
    rows = session.execute(
        select(LearningPath, PathVersion, totals.c.modules, totals.c.minutes)
        .join(PathVersion, PathVersion.path_id == LearningPath.id)
        .outerjoin(totals, totals.c.version_id == PathVersion.id)
        .where(PathVersion.status == PathStatus.PUBLISHED)
        .order_by(LearningPath.code)
    )
    return [
        PublishedPath(
            path.id,
            path.code,
            version.id,
            version.number,
            version.title,
            version.summary,
            version.open_enrolment,
            modules or 0,
            minutes or 0,
        )
        for path, version, modules, minutes in rows
    ]


@dataclass(frozen=True)
class EvidencingModule:
    """A published module whose completion evidences a competency at ``level``."""

    path_code: str
    path_title: str
    version_id: int
    module_id: int
    module_code: str
    module_title: str
    module_type: str
    minutes: int
    level: int


def modules_evidencing(
    session: Session, competency_code: str, level: int
) -> list[EvidencingModule]:
    """The modules of published path versions whose evidence reaches at least ``level`` in
    ``competency_code``: what closes a gap to that level. By path code, then the module's
    place in its path."""
    rows = session.execute(
        select(LearningPath, PathVersion, PathModule, ModuleEvidence.level)
        .join(PathVersion, PathVersion.path_id == LearningPath.id)
        .join(PathModule, PathModule.version_id == PathVersion.id)
        .join(ModuleEvidence, ModuleEvidence.module_id == PathModule.id)
        .where(
            PathVersion.status == PathStatus.PUBLISHED,
            ModuleEvidence.competency_code == competency_code,
            ModuleEvidence.level >= level,
        )
        .order_by(LearningPath.code, PathModule.position)
    )
    return [
        EvidencingModule(
            path.code,
            version.title,
            version.id,
            row.id,
            row.code,
            row.title,
            row.type.value,
            row.minutes,
            found_level,
        )
        for path, version, row, found_level in rows
    ]


#: At most this many modules are offered for one gap.
CLOSERS_PER_GAP = 4


def gap_closers(
    session: Session, gaps: list[tuple[str, int, int]]
) -> dict[str, list[EvidencingModule]]:
    """What closes each gap: for each (competency code, current level, required level), the
    published modules whose completion evidences the competency above the current level —
    those that reach the required level first, then the ones that take the person closer.
    One query for every gap of the page."""
    wanted = {code: (current, required) for code, current, required in gaps if required > current}
    if not wanted:
        return {}
    rows = session.execute(
        select(
            LearningPath.code,
            PathVersion.title,
            PathVersion.id,
            PathModule.id,
            PathModule.code,
            PathModule.title,
            PathModule.type,
            PathModule.minutes,
            ModuleEvidence.competency_code,
            ModuleEvidence.level,
        )  # the columns shown, not the modules' lessons
        .join(PathVersion, PathVersion.path_id == LearningPath.id)
        .join(PathModule, PathModule.version_id == PathVersion.id)
        .join(ModuleEvidence, ModuleEvidence.module_id == PathModule.id)
        .where(
            PathVersion.status == PathStatus.PUBLISHED,
            ModuleEvidence.competency_code.in_(wanted),
        )
        .order_by(LearningPath.code, PathModule.position)
    ).all()
    found: dict[str, list[EvidencingModule]] = defaultdict(list)
    for path_code, title, version_id, mid, code, mtitle, kind, minutes, competency, level in rows:
        current, _required = wanted[competency]
        if level <= current:
            continue
        found[competency].append(
            EvidencingModule(
                path_code, title, version_id, mid, code, mtitle, kind.value, minutes, level
            )
        )
    return {
        code: sorted(modules, key=lambda m: (m.level < wanted[code][1], m.minutes, m.path_code))[
            :CLOSERS_PER_GAP
        ]
        for code, modules in found.items()
    }


@dataclass(frozen=True)
class PathRow:
    """One line of the trainer's list of paths."""

    code: str
    title: str
    status: str  # "published" | "draft" (never published) | "retired"
    published: int | None  # the published version's number
    draft: int | None  # the open draft's number
    modules: int
    minutes: int
    enrolled: int  # active enrolments, every version

    @property
    def hours(self) -> float:
        return self.minutes / 60


def path_rows(session: Session) -> list[PathRow]:
    """Every path, by code: its status, current and draft versions, the size of the version
    it shows and its active enrolments."""
    totals = _module_totals()
    versions: dict[int, list[tuple[PathVersion, int, int]]] = defaultdict(list)
    for version, modules, minutes in session.execute(
        select(PathVersion, totals.c.modules, totals.c.minutes)
        .outerjoin(totals, totals.c.version_id == PathVersion.id)
        .order_by(PathVersion.number)
    ):
        versions[version.path_id].append((version, modules or 0, minutes or 0))
    enrolled = dict(
        session.execute(
            select(Enrolment.path_id, func.count(Enrolment.id))
            .where(Enrolment.status == EnrolmentStatus.ACTIVE)
            .group_by(Enrolment.path_id)
        ).all()
    )
    out = []
    for path in session.scalars(select(LearningPath).order_by(LearningPath.code)):
        held = versions.get(path.id, [])
        published = next((v for v in reversed(held) if v[0].status == PathStatus.PUBLISHED), None)
        draft = next((v for v in reversed(held) if v[0].status == PathStatus.DRAFT), None)
        shown = published or draft or (held[-1] if held else None)
        if published:
            status = "published"
        elif all(v.status == PathStatus.DRAFT for v, _, _ in held):
            status = "draft"
        else:
            status = "retired"
        out.append(
            PathRow(
                code=path.code,
                title=shown[0].title if shown else path.code,
                status=status,
                published=published[0].number if published else None,
                draft=draft[0].number if draft else None,
                modules=shown[1] if shown else 0,
                minutes=shown[2] if shown else 0,
                enrolled=enrolled.get(path.id, 0),
            )
        )
    return out


@dataclass(frozen=True)
class VersionRow:
    number: int
    status: str
    title: str
    note: str
    created_at: datetime
    created_by: str | None
    published_at: datetime | None
    published_by: str | None
    retired_at: datetime | None
    enrolled: int  # enrolments (any status) on this version
    previous: int | None  # the version before it, to compare with


def version_rows(session: Session, path_id: int) -> list[VersionRow]:
    """Every version of a path, newest first, with who created and published it."""
    creator, publisher = aliased(User), aliased(User)
    creator_person, publisher_person = aliased(Person), aliased(Person)
    enrolled = dict(
        session.execute(
            select(Enrolment.version_id, func.count(Enrolment.id))
            .where(Enrolment.path_id == path_id)
            .group_by(Enrolment.version_id)
        ).all()
    )
    found = list(
        session.execute(
            select(PathVersion, creator_person, publisher_person)
            .where(PathVersion.path_id == path_id)
            .outerjoin(creator, creator.id == PathVersion.created_by_id)
            .outerjoin(creator_person, creator_person.id == creator.person_id)
            .outerjoin(publisher, publisher.id == PathVersion.published_by_id)
            .outerjoin(publisher_person, publisher_person.id == publisher.person_id)
            .order_by(PathVersion.number.desc())
        )
    )
    return [
        VersionRow(
            v.number,
            v.status.value,
            v.title,
            v.note,
            v.created_at,
            c.full_name if c else None,
            v.published_at,
            p.full_name if p else None,
            v.retired_at,
            enrolled.get(v.id, 0),
            found[i + 1][0].number if i + 1 < len(found) else None,
        )
        for i, (v, c, p) in enumerate(found)
    ]


def enrolment_count(session: Session, version_id: int) -> int:
    """Enrolments (any status) made on one version."""
    return (
        session.scalar(select(func.count(Enrolment.id)).where(Enrolment.version_id == version_id))
        or 0
    )


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    actor: str | None  # None: the content loader
    action: str
    detail: str
    version: int | None


def history(session: Session, path_id: int, limit: int = 50) -> list[ChangeRow]:
    """Who changed what in a path and when, newest first."""
    rows = session.execute(
        select(PathChange, Person.first_name, Person.last_name, PathVersion.number)
        .outerjoin(User, User.id == PathChange.actor_id)
        .outerjoin(Person, Person.id == User.person_id)
        .outerjoin(PathVersion, PathVersion.id == PathChange.version_id)
        .where(PathChange.path_id == path_id)
        .order_by(PathChange.at.desc(), PathChange.id.desc())
        .limit(limit)
    )
    return [
        ChangeRow(
            change.at,
            f"{first} {last}" if first else None,
            change.action,
            change.detail,
            number,
        )
        for change, first, last, number in rows
    ]


@dataclass(frozen=True)
class RuleRow:
    id: int
    role_code: str
    role_name: str
    due_days: int
    active: bool


def rule_rows(session: Session, path_id: int) -> list[RuleRow]:
    """A path's enrolment rules, active first, by role code."""
    rows = session.execute(
        select(EnrolmentRule, Role.code, Role.name)
        .join(Role, Role.id == EnrolmentRule.role_id)
        .where(EnrolmentRule.path_id == path_id)
        .order_by(EnrolmentRule.active.desc(), Role.code)
    )
    return [RuleRow(r.id, code, name, r.due_days, r.active) for r, code, name in rows]


# --- a path's overview, for anyone signed in ----------------------------------------------------


@dataclass(frozen=True)
class OverviewModule:
    code: str
    title: str
    type: str
    minutes: int
    optional: bool
    outcomes: tuple[str, ...]
    #: (competency code, competency name, level)
    evidences: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class PathOverview:
    path_id: int
    code: str
    number: int
    title: str
    summary: str
    open_enrolment: bool
    minutes: int
    audience: tuple[str, ...]  # role names
    modules: tuple[OverviewModule, ...]
    enrolment_id: int | None  # the viewer's enrolment on the path, if any
    for_my_roles: bool  # one of the viewer's current roles is in the audience
    prerequisites: str  # every prerequisite in words ("" when none)
    missing: tuple[str, ...]  # what the viewer lacks to start it


def path_overview(session: Session, code: str, person_id: int, today: date) -> PathOverview | None:
    """The published version of path ``code`` as a catalogue shows it, with the viewer's
    enrolment (if any); None when the path has no published version."""
    path = path_by_code(session, code)
    version = published_version(session, path.id) if path else None
    if path is None or version is None:
        return None
    framework = published_framework(session)
    names = (
        dict(
            session.execute(
                select(Competency.code, Competency.name).where(
                    Competency.version_id == framework.id
                )
            ).all()
        )
        if framework
        else {}
    )
    enrolment_id = session.scalar(
        select(Enrolment.id).where(Enrolment.person_id == person_id, Enrolment.path_id == path.id)
    )
    audience_ids = {r.id for r in version.audience}
    mine = (
        bool(audience_ids)
        and session.scalar(
            select(RoleAssignment.id)
            .where(
                RoleAssignment.person_id == person_id,
                RoleAssignment.kind == AssignmentKind.CURRENT,
                RoleAssignment.end_date.is_(None),
                RoleAssignment.role_id.in_(audience_ids),
            )
            .limit(1)
        )
        is not None
    )
    return PathOverview(
        path.id,
        path.code,
        version.number,
        version.title,
        version.summary,
        version.open_enrolment,
        version.minutes,
        tuple(r.name for r in version.audience),
        tuple(
            OverviewModule(
                m.code,
                m.title,
                m.type.value,
                m.minutes,
                m.optional,
                tuple(m.outcomes),
                tuple(
                    (e.competency_code, names.get(e.competency_code, ""), e.level)
                    for e in m.evidences
                ),
            )
            for m in version.modules
        ),
        enrolment_id,
        mine,
        prerequisites_text(session, version),
        tuple(missing_prerequisites(session, version, person_id, today))
        if not enrolment_id
        else (),
    )


def my_enrolled_paths(session: Session, person_id: int) -> dict[int, int]:
    """path id -> the person's enrolment id, for every path they are enrolled on."""
    return dict(
        session.execute(
            select(Enrolment.path_id, Enrolment.id).where(Enrolment.person_id == person_id)
        ).all()
    )
