"""Use-cases for authoring learning paths: create a path, edit its draft version (details,
audience, prerequisites, modules and their order), publish, retire, discard, and a path's
enrolment rules.

A published version never changes: every use-case that edits a version refuses anything
but a DRAFT. "Edit" on a published path opens a draft copy of it (one draft per path at a
time); publishing the draft makes it the version new enrolments get and retires the one
before. Enrolments keep the version they were made on. Every change is recorded as a
``PathChange`` (who, what, when): the path's history.

Every use-case takes the session and plain values, raises DomainError (naming the form
field concerned) for a broken rule, flushes, and never commits. An edit of a draft's
details, of a module or of a rule names the version its form was read at (``seen``); a
stale one raises ``versioning.StaleEdit`` with the values saved now, as the form shows them
(``*_values``, also what the form opens with).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import versioning
from app.db import utcnow
from app.errors import DomainError
from app.learning.content import (
    CERTIFICATE,
    DUE_DAYS_MAX,
    DUE_DAYS_MIN,
    LESSON_WORDS_MAX,
    MINUTES_MAX,
    MINUTES_MIN,
    MINUTES_STEP,
    MODULE_TYPES,
    PATH,
    PATH_CODE_RE,
    TITLE_MAX,
    Alternative,
    ModuleContent,
    PathContent,
    Problem,
    find_cycle,
    lesson_text,
    module,
    module_code,
    module_number,
    module_problems,
    one_line,
    path_problems,
)
from app.learning.models import (
    ClassSession,
    Enrolment,
    EnrolmentRule,
    LearningPath,
    ModuleEvidence,
    ModuleType,
    PathChange,
    PathModule,
    PathPrerequisite,
    PathStatus,
    PathVersion,
)
from app.learning.path_queries import (
    content_of,
    current_draft,
    latest_version,
    module_by_code,
    module_content,
    published_prerequisites,
    published_version,
    references,
)
from app.org.models import Role

SUMMARY_MAX = 2000
NOTE_MAX = 2000
LESSON_CHARS_MAX = 20000


def record(
    session: Session,
    path: LearningPath,
    action: str,
    detail: str = "",
    *,
    actor_id: int | None,
    version: PathVersion | None = None,
) -> PathChange:
    """Add a line to the path's history."""
    change = PathChange(
        path_id=path.id,
        version_id=version.id if version is not None else None,
        actor_id=actor_id,
        action=action,
        detail=detail,
    )
    session.add(change)
    return change


def _required(value: str | None, field: str, what: str, max_length: int) -> str:
    text = one_line(value)
    if not text:
        raise DomainError(f"Give the {what}.", field=field)
    if len(text) > max_length:
        raise DomainError(f"Keep the {what} to {max_length:,} characters.", field=field)
    return text


def _require_draft(version: PathVersion) -> None:
    """The rule that keeps a published version as it was published."""
    if version.status != PathStatus.DRAFT:
        raise DomainError(
            f"Version {version.number} is {version.status.value}: only a draft can be "
            "changed. Edit the path to open a draft copy."
        )


# --- writing a version ------------------------------------------------------------------------


def next_number(session: Session, path: LearningPath) -> int:
    last = session.scalar(
        select(func.max(PathVersion.number)).where(PathVersion.path_id == path.id)
    )
    return (last or 0) + 1


def _evidence_rows(evidences: Mapping[str, int]) -> list[ModuleEvidence]:
    return [ModuleEvidence(competency_code=c, level=lv) for c, lv in sorted(evidences.items())]


def _module_row(item: ModuleContent, position: int) -> PathModule:
    return PathModule(
        position=position,
        code=item.code,
        title=item.title,
        type=ModuleType(item.type),
        minutes=item.minutes,
        optional=item.optional,
        requires=list(item.requires),
        outcomes=list(item.outcomes),
        lesson=item.lesson,
        assessment_code=item.assessment,
        evidences=_evidence_rows(item.evidences),
    )


def write_version(
    session: Session,
    path: LearningPath,
    content: PathContent,
    *,
    status: PathStatus,
    actor_id: int | None = None,
    note: str = "",
) -> PathVersion:
    """A new version of ``path`` holding ``content`` (numbered after the last one)."""
    found = session.scalars(select(Role).where(Role.code.in_(content.audience)))
    roles = {r.code: r for r in found}
    missing = sorted(set(content.audience) - roles.keys())
    if missing:
        raise DomainError("Roles not in the catalogue: " + ", ".join(missing), field="audience")
    version = PathVersion(
        path=path,
        number=next_number(session, path),
        status=status,
        title=content.title,
        summary=content.summary,
        open_enrolment=content.open_enrolment,
        content_hash=content.digest(),
        note=note,
        created_by_id=actor_id,
    )
    if status == PathStatus.PUBLISHED:
        version.published_at = utcnow()
        version.published_by_id = actor_id
    version.audience = [roles[code] for code in content.audience]
    version.prerequisites = [
        PathPrerequisite(
            alternative_set=i,
            path_code=code if kind == PATH else None,
            certificate_code=code if kind == CERTIFICATE else None,
        )
        for i, alternatives in enumerate(content.prerequisites)
        for kind, code in alternatives
    ]
    version.modules = [_module_row(m, i) for i, m in enumerate(content.modules, start=1)]
    session.add(version)
    session.flush()
    return version


# --- paths and drafts -------------------------------------------------------------------------


def create_path(
    session: Session, *, code: str, title: str, summary: str, actor_id: int | None
) -> PathVersion:
    """A new path with an empty draft version 1. ``code`` is the path's stable code: a
    capital letter then 1-11 capitals or digits, used by no other path."""
    code = one_line(code).upper()
    if not PATH_CODE_RE.match(code):
        raise DomainError(
            "Use a capital letter then 1 to 11 capitals or digits, e.g. PMOC.", field="code"
        )
    if session.scalar(select(LearningPath.id).where(LearningPath.code == code)):
        raise DomainError(f"{code} is already a path's code; choose another.", field="code")
    title = _required(title, "title", "path's title", TITLE_MAX)
    summary = _required(summary, "summary", "summary", SUMMARY_MAX)
    path = LearningPath(code=code)
    session.add(path)
    session.flush()
    draft = PathVersion(
        path=path,
        number=1,
        status=PathStatus.DRAFT,
        title=title,
        summary=summary,
        open_enrolment=True,
        created_by_id=actor_id,
        note="New path.",
    )
    session.add(draft)
    session.flush()
    record(session, path, "created", f"Path {code} created.", actor_id=actor_id, version=draft)
    session.flush()
    return draft


def start_draft(session: Session, path: LearningPath, *, actor_id: int | None) -> PathVersion:
    """Open a draft copy of the path's published version (or, when it has none, of its
    latest version). One draft per path: refused while one is open."""
    existing = current_draft(session, path.id)
    if existing is not None:
        raise DomainError(
            f"Draft version {existing.number} is already open; edit it, publish it or "
            "discard it first."
        )
    base = published_version(session, path.id) or latest_version(session, path.id)
    if base is None:
        raise DomainError(f"{path.code} has no version to copy.")
    draft = write_version(
        session,
        path,
        content_of(session, base),
        status=PathStatus.DRAFT,
        actor_id=actor_id,
        note=f"Draft from version {base.number}.",
    )
    record(
        session,
        path,
        "draft opened",
        f"Draft version {draft.number} opened as a copy of version {base.number}.",
        actor_id=actor_id,
        version=draft,
    )
    session.flush()
    return draft


def details_values(draft: PathVersion) -> dict[str, Any]:
    """A draft's details as their form shows them."""
    return {
        versioning.FIELD: str(draft.row_version),
        "title": draft.title,
        "summary": draft.summary,
        "open_enrolment": draft.open_enrolment,
        "audience": [r.code for r in draft.audience],
    }


def update_details(
    session: Session,
    draft: PathVersion,
    *,
    title: str,
    summary: str,
    open_enrolment: bool,
    audience: Iterable[str],
    actor_id: int | None,
    seen: str | None = None,
) -> PathVersion:
    """Change a draft's title, summary, open enrolment and target roles (role codes).
    Refused when they changed since their form was read at version ``seen``."""
    _require_draft(draft)
    what = f"The details of draft version {draft.number} of {draft.path.code}"
    versioning.check(seen, details_values(draft), what)
    draft.title = _required(title, "title", "path's title", TITLE_MAX)
    draft.summary = _required(summary, "summary", "summary", SUMMARY_MAX)
    draft.open_enrolment = bool(open_enrolment)
    codes = sorted(set(audience))
    roles = list(session.scalars(select(Role).where(Role.code.in_(codes)).order_by(Role.code)))
    missing = sorted(set(codes) - {r.code for r in roles})
    if missing:
        raise DomainError("Unknown roles: " + ", ".join(missing), field="audience")
    draft.audience = roles
    versioning.touch(draft)  # the target roles are rows of their own
    record(
        session,
        draft.path,
        "details edited",
        f"Title, summary, enrolment or target roles of draft version {draft.number}.",
        actor_id=actor_id,
        version=draft,
    )
    versioning.flush(session, what, lambda: details_values(draft))
    return draft


# --- prerequisites ----------------------------------------------------------------------------


def _alternatives_text(alternatives: Iterable[Alternative]) -> str:
    return " or ".join(
        f"path {code}" if kind == PATH else f"certificate {code}" for kind, code in alternatives
    )


def add_prerequisite(
    session: Session,
    draft: PathVersion,
    *,
    path_codes: Iterable[str] = (),
    certificate_codes: Iterable[str] = (),
    actor_id: int | None,
) -> tuple[Alternative, ...]:
    """Add one prerequisite: any one of the given paths (completed) or catalogue
    certificates (verified) satisfies it. The paths must be published, the certificates in
    the published framework's catalogue, and no circle of prerequisites may form."""
    _require_draft(draft)
    code = draft.path.code
    alternatives = tuple(
        sorted({(PATH, c) for c in path_codes} | {(CERTIFICATE, c) for c in certificate_codes})
    )
    if not alternatives:
        raise DomainError("Choose at least one path or certificate.", field="paths")
    refs = references(session)
    for kind, other in alternatives:
        if kind == PATH and other == code:
            raise DomainError(f"{code} cannot be a prerequisite of itself.", field="paths")
        if kind == PATH and refs.paths is not None and other not in refs.paths:
            raise DomainError(f"{other} is not a published path.", field="paths")
        if kind == CERTIFICATE and (refs.certificates is None or other not in refs.certificates):
            raise DomainError(
                f"{other} is not in the framework's certificate catalogue.", field="certificates"
            )
    current = content_of(session, draft)
    if alternatives in current.prerequisites:
        raise DomainError("The draft already has this prerequisite.", field="paths")
    graph = published_prerequisites(session)
    graph[code] = {c for s in (*current.prerequisites, alternatives) for k, c in s if k == PATH}
    cycle = find_cycle(graph)
    if cycle:
        raise DomainError(
            "That would make prerequisites go round in a circle: " + " → ".join(cycle),
            field="paths",
        )
    number = (max((p.alternative_set for p in draft.prerequisites), default=-1)) + 1
    for kind, other in alternatives:
        draft.prerequisites.append(
            PathPrerequisite(
                alternative_set=number,
                path_code=other if kind == PATH else None,
                certificate_code=other if kind == CERTIFICATE else None,
            )
        )
    record(
        session,
        draft.path,
        "prerequisite added",
        f"Requires {_alternatives_text(alternatives)}.",
        actor_id=actor_id,
        version=draft,
    )
    session.flush()
    return alternatives


def remove_prerequisite(
    session: Session, draft: PathVersion, index: int, *, actor_id: int | None
) -> tuple[Alternative, ...]:
    """Remove one prerequisite (all its alternatives) from a draft: the ``index``-th in the
    order the draft's content lists them."""
    _require_draft(draft)
    listed = content_of(session, draft).prerequisites
    if not 0 <= index < len(listed):
        raise DomainError("The draft has no such prerequisite.")
    alternatives = listed[index]
    sets: dict[int, list[PathPrerequisite]] = {}
    for row in draft.prerequisites:
        sets.setdefault(row.alternative_set, []).append(row)
    for rows in sets.values():
        held = tuple(
            sorted(
                (PATH, r.path_code) if r.path_code else (CERTIFICATE, r.certificate_code or "")
                for r in rows
            )
        )
        if held == alternatives:
            for row in rows:
                draft.prerequisites.remove(row)
    record(
        session,
        draft.path,
        "prerequisite removed",
        f"No longer requires {_alternatives_text(alternatives)}.",
        actor_id=actor_id,
        version=draft,
    )
    session.flush()
    return alternatives


# --- modules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleFields:
    """What a trainer gives for a module (the form's values, not yet checked)."""

    title: str
    type: str
    hours: Decimal | float | str | None
    outcomes: list[str]
    evidences: dict[str, int]
    lesson: str = ""
    optional: bool = False
    requires: list[str] | None = None


#: Where a rule's key shows on the module form.
_FIELDS: dict[str, str | None] = {
    "code": None,
    "type": "type",
    "hours": "hours",
    "outcomes": "outcomes",
    "evidences": "evidences",
    "requires": "requires",
    "lesson": "lesson",
}

#: The rules a draft module may break while it is being written; publishing checks them.
_AT_PUBLISH = {"lesson"}


def _minutes(hours: Decimal | float | str | None) -> int:
    try:
        value = Decimal(str(hours)) if hours is not None else None
    except InvalidOperation:
        value = None
    minutes = value * 60 if value is not None else None
    if (
        minutes is None
        or minutes != minutes.to_integral_value()
        or not MINUTES_MIN <= minutes <= MINUTES_MAX
        or minutes % MINUTES_STEP
    ):
        raise DomainError(
            "Give the hours in quarter hours from 0.25 to 40, e.g. 1.5.", field="hours"
        )
    return int(minutes)


def _module_value(code: str, fields: ModuleFields, assessment: str | None = None) -> ModuleContent:
    title = _required(fields.title, "title", "module's title", TITLE_MAX)
    if fields.type not in MODULE_TYPES:
        raise DomainError("Choose the module's type.", field="type")
    if len(fields.lesson or "") > LESSON_CHARS_MAX:
        raise DomainError(
            f"Keep the lesson to {LESSON_WORDS_MAX} words; this text is far longer.",
            field="lesson",
        )
    return module(
        code=code,
        title=title,
        type=fields.type,
        minutes=_minutes(fields.hours),
        optional=fields.optional,
        requires=fields.requires or (),
        outcomes=fields.outcomes,
        evidences=fields.evidences,
        lesson=lesson_text(fields.lesson),
        assessment=assessment,
    )


def _check_module(session: Session, draft: PathVersion, item: ModuleContent, position: int) -> None:
    """Refuse a module that breaks a rule (the lesson's length is checked at publishing):
    the messages of the first field with a problem, at that field."""
    codes = [m.code for m in draft.modules if m.code != item.code]
    before = [m.code for m in draft.modules if m.position < position and m.code != item.code]
    after = [c for c in codes if c not in before]
    problems = [
        p
        for p in module_problems(
            item,
            path_code=draft.path.code,
            earlier=before,
            later=after,
            refs=references(session),
        )
        if p.key.split(".")[0] not in _AT_PUBLISH
    ]
    if problems:
        field = _FIELDS.get(problems[0].key.split(".")[0], None)
        same = [p.message for p in problems if _FIELDS.get(p.key.split(".")[0]) == field]
        raise DomainError(_sentence("; ".join(same)), field=field)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _next_module_code(session: Session, path: LearningPath) -> str:
    """A code no module of any version of the path has had: a module's code names it across
    versions (sessions and completions refer to it), so it is never reused for another."""
    codes = session.scalars(
        select(PathModule.code).join(PathVersion).where(PathVersion.path_id == path.id)
    )
    numbers = [n for c in codes if (n := module_number(path.code, c)) is not None]
    return module_code(path.code, max(numbers, default=0) + 1)


def add_module(
    session: Session, draft: PathVersion, fields: ModuleFields, *, actor_id: int | None
) -> PathModule:
    """Add a module at the end of a draft, with the path's next module code."""
    _require_draft(draft)
    code = _next_module_code(session, draft.path)
    position = max((m.position for m in draft.modules), default=0) + 1
    item = _module_value(code, fields)
    _check_module(session, draft, item, position)
    row = _module_row(item, position)
    draft.modules.append(row)
    record(
        session,
        draft.path,
        "module added",
        f"{code} {item.title}.",
        actor_id=actor_id,
        version=draft,
    )
    session.flush()
    return row


def _module(session: Session, draft: PathVersion, code: str) -> PathModule:
    row = module_by_code(session, draft, code)
    if row is None:
        raise DomainError(f"Draft version {draft.number} has no module {code}.")
    return row


def module_values(row: PathModule) -> dict[str, Any]:
    """A draft module as its form shows it (its evidence rows, one per competency)."""
    item = module_content(row)
    return {
        versioning.FIELD: str(row.row_version),
        "title": item.title,
        "type": item.type,
        "hours": item.hours,
        "optional": item.optional,
        "outcomes": "\n".join(item.outcomes),
        "evidences": [{"competency": c, "level": str(lv)} for c, lv in item.evidences.items()],
        "requires": list(item.requires),
        "lesson": item.lesson,
    }


def update_module(
    session: Session,
    draft: PathVersion,
    code: str,
    fields: ModuleFields,
    *,
    actor_id: int | None,
    seen: str | None = None,
) -> PathModule:
    """Change a draft module's fields (its code and place stay). Refused when the module
    changed since its form was read at version ``seen``."""
    _require_draft(draft)
    row = _module(session, draft, code)
    what = f"Module {code}"
    versioning.check(seen, module_values(row), what)
    item = _module_value(code, fields, row.assessment_code)
    _check_module(session, draft, item, row.position)
    before = module_content(row)
    row.title, row.type, row.minutes = item.title, ModuleType(item.type), item.minutes
    row.optional, row.requires = item.optional, list(item.requires)
    row.outcomes, row.lesson = list(item.outcomes), item.lesson
    if before.evidences != item.evidences:
        _set_evidences(row, item.evidences)
    if before != item:
        versioning.touch(row)  # its evidence rows are rows of their own
        record(
            session,
            draft.path,
            "module edited",
            f"{code} {item.title}.",
            actor_id=actor_id,
            version=draft,
        )
    versioning.flush(session, what, lambda: module_values(row), unique_races=True)
    return row


def _set_evidences(row: PathModule, evidences: Mapping[str, int]) -> None:
    """Change a module's evidence rows in place (one row per competency: replacing the
    collection would insert the new rows before deleting the old ones)."""
    for evidence in list(row.evidences):
        if evidence.competency_code in evidences:
            evidence.level = evidences[evidence.competency_code]
        else:
            row.evidences.remove(evidence)
    held = {e.competency_code for e in row.evidences}
    row.evidences.extend(
        ModuleEvidence(competency_code=c, level=lv)
        for c, lv in sorted(evidences.items())
        if c not in held
    )


def remove_module(session: Session, draft: PathVersion, code: str, *, actor_id: int | None) -> str:
    """Remove a module from a draft; refused while another module requires it. Returns its
    title."""
    _require_draft(draft)
    row = _module(session, draft, code)
    dependants = [m.code for m in draft.modules if code in (m.requires or [])]
    if dependants:
        raise DomainError(
            f"{', '.join(dependants)} require{'s' if len(dependants) == 1 else ''} {code}; "
            "change that first."
        )
    title = row.title
    draft.modules.remove(row)
    for position, other in enumerate(sorted(draft.modules, key=lambda m: m.position), start=1):
        other.position = position
    record(
        session, draft.path, "module removed", f"{code} {title}.", actor_id=actor_id, version=draft
    )
    session.flush()
    return title


def move_module(
    session: Session, draft: PathVersion, code: str, offset: int, *, actor_id: int | None
) -> int:
    """Move a module one place up (``offset`` -1) or down (+1); return its new place
    (1-based). A module never moves above a module it requires."""
    _require_draft(draft)
    if offset not in (-1, 1):
        raise DomainError("A module moves one place up or down.")
    row = _module(session, draft, code)
    ordered = sorted(draft.modules, key=lambda m: m.position)
    i = ordered.index(row)
    j = i + offset
    if not 0 <= j < len(ordered):
        raise DomainError(f"{code} is already {'first' if offset < 0 else 'last'}.")
    first, second = (ordered[j], row) if offset < 0 else (row, ordered[j])
    if first.code in (second.requires or []):
        raise DomainError(f"{second.code} requires {first.code}, so it must come after it.")
    ordered[i], ordered[j] = ordered[j], ordered[i]
    for position, other in enumerate(ordered, start=1):
        other.position = position
    record(
        session,
        draft.path,
        "module moved",
        f"{code} moved {'up' if offset < 0 else 'down'} to place {j + 1}.",
        actor_id=actor_id,
        version=draft,
    )
    session.flush()
    return j + 1


# --- publishing, retiring, discarding -------------------------------------------------------


def publish_problems(session: Session, draft: PathVersion) -> list[Problem]:
    """What stops a draft from being published (every rule of ``path_problems`` against the
    published framework and catalogues, and no circle of prerequisites between paths)."""
    content = content_of(session, draft)
    refs = references(session)
    problems = []
    if refs.competencies is None:
        problems.append(Problem("framework", "no competency framework is published yet"))
    problems += path_problems(content, refs)
    graph = published_prerequisites(session)
    graph[content.code] = {c for s in content.prerequisites for k, c in s if k == PATH}
    cycle = find_cycle(graph)
    if cycle and content.code in cycle:
        problems.append(
            Problem("prerequisites", "prerequisites go round in a circle: " + " → ".join(cycle))
        )
    return problems


def describe(problem: Problem, content: PathContent) -> str:
    """A problem as a sentence naming the module it concerns."""
    key, message = problem.key, problem.message
    if key.startswith("modules["):
        index = int(key[8 : key.index("]")])
        item = content.modules[index] if index < len(content.modules) else None
        if item is not None:
            return _sentence(f"{item.code} {item.title}: {message}")
    return _sentence(message)


def publish(
    session: Session, draft: PathVersion, *, actor_id: int | None, note: str = ""
) -> PathVersion:
    """Publish a draft: it becomes the version new enrolments get, and the version published
    until now is retired (its learners keep it). Refused while the draft breaks a rule."""
    _require_draft(draft)
    problems = publish_problems(session, draft)
    if problems:
        content = content_of(session, draft)
        listed = [describe(p, content) for p in problems[:5]]
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise DomainError("Not published yet: " + " ".join(listed) + more)
    note = one_line(note)
    if len(note) > NOTE_MAX:
        raise DomainError(f"Keep the note to {NOTE_MAX:,} characters.", field="note")
    previous = published_version(session, draft.path_id)
    if previous is not None:
        previous.status = PathStatus.RETIRED
        previous.retired_at = utcnow()
    session.flush()
    draft.content_hash = content_of(session, draft).digest()
    draft.status = PathStatus.PUBLISHED
    draft.published_at = utcnow()
    draft.published_by_id = actor_id
    if note:
        draft.note = note
    detail = f"Version {draft.number} published"
    detail += f"; version {previous.number} retired." if previous else "."
    record(session, draft.path, "published", detail, actor_id=actor_id, version=draft)
    session.flush()
    return draft


def retire(session: Session, path: LearningPath, *, actor_id: int | None) -> PathVersion:
    """Retire the path's published version: nobody new can enrol; learners enrolled on it
    keep it. Publishing a draft later offers the path again."""
    version = published_version(session, path.id)
    if version is None:
        raise DomainError(f"{path.code} has no published version to retire.")
    version.status = PathStatus.RETIRED
    version.retired_at = utcnow()
    record(
        session,
        path,
        "retired",
        f"Version {version.number} retired; the path is no longer offered.",
        actor_id=actor_id,
        version=version,
    )
    session.flush()
    return version


def discard_draft(
    session: Session, draft: PathVersion, *, actor_id: int | None
) -> LearningPath | None:
    """Delete a draft and every change in it. A path that was never published goes with
    its only draft (returns None); otherwise returns the path."""
    _require_draft(draft)
    path = draft.path
    number = draft.number
    others = session.scalar(
        select(func.count(PathVersion.id)).where(
            PathVersion.path_id == path.id, PathVersion.id != draft.id
        )
    )
    if not others:
        in_use = session.scalar(
            select(func.count(Enrolment.id)).where(Enrolment.path_id == path.id)
        ) or session.scalar(
            select(func.count(ClassSession.id)).where(ClassSession.path_id == path.id)
        )
        if in_use:
            raise DomainError(f"{path.code} has enrolments or sessions; it cannot be deleted.")
        session.execute(delete(EnrolmentRule).where(EnrolmentRule.path_id == path.id))
        session.delete(path)
        session.flush()
        return None
    session.delete(draft)
    session.flush()
    record(
        session, path, "draft discarded", f"Draft version {number} discarded.", actor_id=actor_id
    )
    session.flush()
    return path


# --- enrolment rules --------------------------------------------------------------------------


def _due_days(value: int | None) -> int:
    if value is None or not DUE_DAYS_MIN <= value <= DUE_DAYS_MAX:
        raise DomainError(
            f"Give the days until due, from {DUE_DAYS_MIN} to {DUE_DAYS_MAX}.", field="due_days"
        )
    return value


def add_rule(
    session: Session,
    path: LearningPath,
    *,
    role_code: str,
    due_days: int | None,
    actor_id: int | None,
) -> EnrolmentRule:
    """Holders of the role are to be enrolled on the path, due ``due_days`` after they take
    the role. One rule per role and path."""
    role = session.scalar(select(Role).where(Role.code == role_code))
    if role is None:
        raise DomainError("Choose a role.", field="role")
    days = _due_days(due_days)
    existing = session.scalar(
        select(EnrolmentRule).where(
            EnrolmentRule.path_id == path.id, EnrolmentRule.role_id == role.id
        )
    )
    if existing is not None:
        state = "" if existing.active else " (inactive: reactivate it)"
        raise DomainError(
            f"{path.code} already has a rule for {role.code}{state}; edit that one.", field="role"
        )
    rule = EnrolmentRule(path_id=path.id, role_id=role.id, due_days=days, created_by_id=actor_id)
    session.add(rule)
    record(
        session,
        path,
        "rule added",
        f"Holders of {role.code} {role.name} are enrolled, due {days} days after taking it.",
        actor_id=actor_id,
    )
    session.flush()
    return rule


def rule_values(rule: EnrolmentRule) -> dict[str, Any]:
    """An enrolment rule as its form shows it."""
    return {versioning.FIELD: str(rule.row_version), "due_days": rule.due_days}


def update_rule(
    session: Session,
    rule: EnrolmentRule,
    *,
    due_days: int | None,
    actor_id: int | None,
    seen: str | None = None,
) -> EnrolmentRule:
    """Change a rule's days until due (for enrolments it makes from now on). Refused when
    the rule changed since its form was read at version ``seen``."""
    what = f"The rule for {rule.role.code}"
    versioning.check(seen, rule_values(rule), what)
    days = _due_days(due_days)
    if days != rule.due_days:
        record(
            session,
            rule.path,
            "rule edited",
            f"{rule.role.code}: due {rule.due_days} → {days} days after taking the role.",
            actor_id=actor_id,
        )
        rule.due_days = days
    versioning.flush(session, what, lambda: rule_values(rule))
    return rule


def set_rule_active(
    session: Session, rule: EnrolmentRule, active: bool, *, actor_id: int | None
) -> EnrolmentRule:
    """Deactivate a rule (it enrols nobody more; enrolments it made stay) or reactivate it."""
    if rule.active != active:
        rule.active = active
        record(
            session,
            rule.path,
            "rule reactivated" if active else "rule deactivated",
            f"Rule for {rule.role.code} {rule.role.name}.",
            actor_id=actor_id,
        )
    session.flush()
    return rule
