"""Use-cases for authoring the competency framework: a draft copy, its edits, publishing.

A published version never changes. A trainer opens a DRAFT, a full copy of the current
published version, edits its competencies, scale, evidence caps, role profiles and
certificate catalogue, and publishes it: the draft becomes the current version and the
one before is retired.
Evidence keeps pointing at the competency rows of the version it was recorded against,
so publishing rewrites nothing that old evidence meant.

Every use-case takes the session and plain values, raises DomainError (with the name of
the form field concerned) for a broken rule, flushes, and never commits. An edit names the
version its form was read at (``seen``); a stale one raises ``versioning.StaleEdit`` with
the values saved now, as the form shows them (``*_values``, also what the form opens with).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock, versioning
from app.errors import DomainError
from app.framework.content import certificate, certificate_problems
from app.framework.models import (
    CAPPABLE,
    Certificate,
    Competency,
    CompetencyGroup,
    EvidenceCap,
    FrameworkVersion,
    ProficiencyLevel,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.framework.queries import find_competency
from app.framework.scale import CODE_MAX_LENGTH, MAX_LEVEL, valid_code
from app.framework.versions import (
    FRAMEWORK_CODE,
    content_of,
    current_draft,
    framework_by_code,
    published_version,
)
from app.framework.writing import write_version
from app.org.models import Role
from app.signals import draft_discarding


def _check_code_format(code: str, example: str) -> None:
    """A competency or certificate code in the framework's one format (scale.valid_code)."""
    if not valid_code(code):
        raise DomainError(
            "Use capitals and digits in parts joined by dashes, starting with a "
            f"letter and at most {CODE_MAX_LENGTH} characters, e.g. {example}.",
            field="code",
        )


def _one_line(value: str | None) -> str:
    """Text as the content files hold it: whitespace runs folded to one space, so a
    version's content hash matches the hash of the same text loaded from a file."""
    return " ".join(str(value or "").split())


def _required(value: str | None, field: str, what: str, max_length: int | None = None) -> str:
    text = _one_line(value)
    if not text:
        raise DomainError(f"Give the {what}.", field=field)
    if max_length and len(text) > max_length:
        raise DomainError(f"Keep the {what} to {max_length} characters.", field=field)
    return text


# --- the draft --------------------------------------------------------------------------------


def _require_draft(version: FrameworkVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise DomainError(
            f"Version {version.number} is {version.status.value}: only a draft "
            "can be edited. Start a draft to make changes."
        )


def create_draft(
    session: Session, *, actor_id: int | None, code: str = FRAMEWORK_CODE
) -> FrameworkVersion:
    """Copy the current published version into a new DRAFT version.

    Raises DomainError when a draft is already open (there is one draft at a time) or
    when nothing has been published yet.
    """
    framework = framework_by_code(session, code)
    existing = current_draft(session, code)
    if existing is not None:
        raise DomainError(
            f"Draft version {existing.number} is already open; edit it, publish "
            "it or discard it first."
        )
    current = published_version(session, code)
    if framework is None or current is None:
        raise DomainError("No framework is published yet; load one with `flask content load`.")
    return write_version(
        session,
        framework,
        content_of(session, current),
        status=VersionStatus.DRAFT,
        actor_id=actor_id,
        note=f"Draft from version {current.number}.",
    )


def _competency(session: Session, draft: FrameworkVersion, code: str) -> Competency:
    comp = find_competency(session, draft, code)
    if comp is None:
        raise DomainError(f"There is no competency {code} in version {draft.number}.", field="code")
    return comp


def _group(session: Session, draft: FrameworkVersion, group_code: str | None) -> CompetencyGroup:
    group = session.scalar(
        select(CompetencyGroup).where(
            CompetencyGroup.version_id == draft.id, CompetencyGroup.code == group_code
        )
    )
    if group is None:
        raise DomainError("Choose one of the framework's groups.", field="group")
    return group


def _next_position(session: Session, group: CompetencyGroup) -> int:
    last = session.scalar(
        select(func.max(Competency.position)).where(Competency.group_id == group.id)
    )
    return 0 if last is None else last + 1


def _indicators(current: dict, changes: dict[int, str] | None) -> dict[str, str]:
    """Merge indicator edits: a level given with text sets it, with blank text removes it."""
    merged = {str(k): v for k, v in (current or {}).items()}
    for level, text in (changes or {}).items():
        if not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
            raise DomainError(
                f"Indicators are for levels 0 to {MAX_LEVEL}.", field=f"indicator_{level}"
            )
        text = _one_line(text)
        if text:
            merged[str(level)] = text
        else:
            merged.pop(str(level), None)
    return dict(sorted(merged.items(), key=lambda kv: int(kv[0])))


def competency_values(comp: Competency) -> dict[str, Any]:
    """A draft competency as its edit form shows it."""
    return {
        versioning.FIELD: str(comp.row_version),
        "group": comp.group.code,
        "name": comp.name,
        "description": comp.description,
        "boundary": comp.boundary,
        **{
            f"indicator_{level}": comp.indicators.get(str(level), "")
            for level in range(MAX_LEVEL + 1)
        },
    }


def update_competency(
    session: Session,
    draft: FrameworkVersion,
    code: str,
    *,
    name: str,
    description: str,
    group_code: str,
    indicators: dict[int, str] | None = None,
    boundary: str | None = None,
    seen: str | None = None,
) -> Competency:
    """Change a draft competency's name, description, group, indicators and boundary note.

    The code never changes: evidence and reports match competencies by code.
    ``indicators`` maps a level to its text; a blank text removes that level's indicator
    and levels not given keep theirs. Moving to another group puts it last there.
    ``boundary`` (where it meets a neighbouring competency) is kept when None, cleared
    when blank. Refused when the competency changed since its form was read at ``seen``.
    """
    _require_draft(draft)
    comp = _competency(session, draft, code)
    what = f"Competency {code}"
    versioning.check(seen, competency_values(comp), what)
    comp.name = _required(name, "name", "competency's name", 160)
    comp.description = _required(description, "description", "description")
    group = _group(session, draft, group_code)
    if group.id != comp.group_id:
        comp.position = _next_position(session, group)
        comp.group = group
    comp.indicators = _indicators(comp.indicators, indicators)
    if boundary is not None:
        comp.boundary = _one_line(boundary)
    versioning.flush(session, what, lambda: competency_values(comp))
    return comp


def add_competency(
    session: Session,
    draft: FrameworkVersion,
    *,
    code: str,
    group_code: str,
    name: str,
    description: str,
    indicators: dict[int, str] | None = None,
    boundary: str = "",
) -> Competency:
    """Add a competency, last in its group. ``code`` must be new within the version (group
    codes included) and in the framework's format: capitals and digits in dash-separated
    parts, e.g. GOV-06."""
    _require_draft(draft)
    code = _one_line(code).upper()
    if not code:
        raise DomainError("Give the competency a code, e.g. GOV-06.", field="code")
    _check_code_format(code, "GOV-06")
    taken = session.scalar(
        select(Competency.id).where(Competency.version_id == draft.id, Competency.code == code)
    )
    taken = taken or session.scalar(
        select(CompetencyGroup.id).where(
            CompetencyGroup.version_id == draft.id, CompetencyGroup.code == code
        )
    )
    if taken:
        raise DomainError(
            f"{code} is already used in this version; choose another code.", field="code"
        )
    name = _required(name, "name", "competency's name", 160)
    description = _required(description, "description", "description")
    group = _group(session, draft, group_code)
    comp = Competency(
        version=draft,
        group=group,
        code=code,
        name=name,
        description=description,
        indicators=_indicators({}, indicators),
        boundary=_one_line(boundary),
        position=_next_position(session, group),
    )
    session.add(comp)
    session.flush()
    return comp


def remove_competency(
    session: Session, draft: FrameworkVersion, code: str, *, with_requirements: bool = False
) -> list[str]:
    """Remove a competency from the draft; return the codes of the roles whose profile
    lost a line for it.

    When role profiles in the draft require the competency, removal is refused unless
    ``with_requirements`` is set, in which case those profile lines go too. The last
    competency of a group cannot be removed (a group is never empty). Certificates of the
    draft's catalogue stop evidencing it (the catalogue names only competencies of its
    framework); removal is refused when that would leave a certificate proving nothing.
    """
    _require_draft(draft)
    comp = _competency(session, draft, code)
    lines = list(
        session.scalars(
            select(RoleRequirement)
            .join(Role)
            .where(RoleRequirement.competency_id == comp.id)
            .order_by(Role.code)
        )
    )
    roles = [line.role.code for line in lines]
    if roles and not with_requirements:
        raise DomainError(
            f"{code} is required by {len(roles)} role profile(s): {', '.join(roles)}. Tick "
            "“also remove it from those profiles”, or change the profiles first.",
            field="with_requirements",
        )
    remaining = set(
        session.scalars(
            select(Competency.code).where(
                Competency.version_id == draft.id, Competency.id != comp.id
            )
        )
    )
    evidencing = [
        c
        for c in session.scalars(select(Certificate).where(Certificate.version_id == draft.id))
        if any(
            p.key == f"evidences.{code}"
            for p in certificate_problems(
                {"max_level": c.max_level, "evidences": c.evidences}, known=remaining
            )
        )
    ]
    emptied = [c.code for c in evidencing if set(c.evidences) == {code}]
    if emptied:
        raise DomainError(
            f"Certificates {', '.join(emptied)} evidence only {code}; change or remove them "
            "first, so every certificate proves something.",
            field="code",
        )
    siblings = session.scalar(
        select(func.count(Competency.id)).where(Competency.group_id == comp.group_id)
    )
    if (siblings or 0) <= 1:
        raise DomainError(
            f"{code} is the only competency in its group; a group needs at least one.", field="code"
        )
    for line in lines:
        session.delete(line)
    for cert in evidencing:
        cert.evidences = {k: v for k, v in cert.evidences.items() if k != code}
    session.delete(comp)
    session.flush()
    return roles


def scale_values(session: Session, draft: FrameworkVersion) -> dict[str, Any]:
    """The draft's scale and evidence caps as their form shows them; the version is each
    level's and each cap's."""
    levels = list(
        session.scalars(
            select(ProficiencyLevel)
            .where(ProficiencyLevel.version_id == draft.id)
            .order_by(ProficiencyLevel.level)
        )
    )
    caps = list(session.scalars(select(EvidenceCap).where(EvidenceCap.version_id == draft.id)))
    values: dict[str, Any] = {
        versioning.FIELD: versioning.token(
            [(f"L{row.level}", row.row_version) for row in levels]
            + [(f"C{cap.source.value}", cap.row_version) for cap in caps]
        )
    }
    for row in levels:
        values[f"name_{row.level}"] = row.name
        values[f"descriptor_{row.level}"] = row.descriptor
        values[f"note_{row.level}"] = row.note
    for cap in caps:
        values[f"cap_{cap.source.value}"] = cap.max_level
    return values


def save_scale(
    session: Session,
    draft: FrameworkVersion,
    *,
    levels: dict[int, tuple[str, str, str | None]],
    caps: dict[str, int],
    seen: str | None = None,
) -> None:
    """Save the scale form: each level's (name, descriptor, note) and each source's cap, as
    ``update_scale_level`` and ``update_evidence_cap`` do. Refused when a level or a cap
    changed since the form was read at ``seen``."""
    _require_draft(draft)
    what = f"The scale of draft version {draft.number}"
    versioning.check(seen, scale_values(session, draft), what)
    for level, (name, descriptor, note) in levels.items():
        update_scale_level(session, draft, level, name=name, descriptor=descriptor, note=note)
    for source, max_level in caps.items():
        update_evidence_cap(session, draft, source, max_level)
    versioning.flush(session, what, lambda: scale_values(session, draft), unique_races=True)


def update_scale_level(
    session: Session,
    draft: FrameworkVersion,
    level: int,
    *,
    name: str,
    descriptor: str,
    note: str | None = None,
) -> ProficiencyLevel:
    """Rename a level of the draft's scale, reword its descriptor or its note (fields
    ``name_<level>``, ``descriptor_<level>``, ``note_<level>``; a None note is kept, a
    blank one cleared). The levels themselves (0 to 5) are fixed."""
    _require_draft(draft)
    row = session.scalar(
        select(ProficiencyLevel).where(
            ProficiencyLevel.version_id == draft.id, ProficiencyLevel.level == level
        )
    )
    if row is None:
        raise DomainError(f"The scale runs from 0 to {MAX_LEVEL}.", field=f"name_{level}")
    row.name = _required(name, f"name_{level}", f"name of level {level}", 60)
    row.descriptor = _required(descriptor, f"descriptor_{level}", f"descriptor of level {level}")
    if note is not None:
        row.note = _one_line(note)
    session.flush()
    return row


def update_evidence_cap(
    session: Session, draft: FrameworkVersion, source: str, max_level: int
) -> EvidenceCap:
    """Set the highest level one evidence source can prove on its own (field
    ``cap_<source>``). Self-ratings have no cap: they count only once validated."""
    _require_draft(draft)
    field = f"cap_{source}"
    if source not in CAPPABLE:
        raise DomainError(
            "Only these sources have a cap: " + ", ".join(CAPPABLE) + ".", field=field
        )
    if not isinstance(max_level, int) or not 0 <= max_level <= MAX_LEVEL:
        raise DomainError(f"Choose a level from 0 to {MAX_LEVEL}.", field=field)
    if source == Source.EXTERNAL_CERTIFICATE:
        above = [
            c.code
            for c in session.scalars(select(Certificate).where(Certificate.version_id == draft.id))
            if any(
                p.key == "max_level"
                for p in certificate_problems(
                    {"max_level": c.max_level, "evidences": c.evidences}, cap=max_level
                )
            )
        ]
        if above:
            raise DomainError(
                f"Certificates {', '.join(above)} prove more than level {max_level}; lower "
                "their max level first.",
                field=field,
            )
    cap = session.get(EvidenceCap, (draft.id, Source(source)))
    if cap is None:
        cap = EvidenceCap(version=draft, source=Source(source), max_level=max_level)
        session.add(cap)
    cap.max_level = max_level
    session.flush()
    return cap


def profile_values(session: Session, draft: FrameworkVersion, role_id: int) -> dict[str, Any]:
    """A role's profile in the draft as its form shows it: a level (0, not required) and
    essential or not per competency; the version is each line's."""
    lines = {
        line.competency_id: line
        for line in session.scalars(
            select(RoleRequirement).where(
                RoleRequirement.version_id == draft.id, RoleRequirement.role_id == role_id
            )
        )
    }
    values: dict[str, Any] = {
        versioning.FIELD: versioning.token((line.id, line.row_version) for line in lines.values())
    }
    for comp in session.scalars(select(Competency).where(Competency.version_id == draft.id)):
        line = lines.get(comp.id)
        values[f"level_{comp.code}"] = line.level if line else 0
        values[f"essential_{comp.code}"] = line.essential if line else False
    return values


def set_profile(
    session: Session,
    draft: FrameworkVersion,
    role_id: int,
    requirements: dict[str, tuple[int, bool]],
    *,
    seen: str | None = None,
) -> None:
    """Set a role's profile lines in the draft: {competency code: (level, essential)}.

    Level 0 removes the line; 1 to 5 sets it. Codes not given keep their line. Errors name
    the field ``level_<code>``. Refused when a line was changed, added or removed since the
    form was read at ``seen``.
    """
    _require_draft(draft)
    role = session.get(Role, role_id)
    if role is None:
        raise DomainError("There is no such role.")
    what = f"The profile of {role.name}"
    versioning.check(seen, profile_values(session, draft, role_id), what)
    comps = {
        c.code: c
        for c in session.scalars(select(Competency).where(Competency.version_id == draft.id))
    }
    existing = {
        r.competency_id: r
        for r in session.scalars(
            select(RoleRequirement).where(
                RoleRequirement.version_id == draft.id, RoleRequirement.role_id == role_id
            )
        )
    }
    for code, (level, essential) in requirements.items():
        field = f"level_{code}"
        if code not in comps:
            raise DomainError(
                f"There is no competency {code} in version {draft.number}.", field=field
            )
        if not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
            raise DomainError(f"Choose a level from 0 to {MAX_LEVEL}.", field=field)
        if level == 0 and essential:
            raise DomainError(
                "Essential needs a level: choose 1 to 5, or untick essential.", field=field
            )
        line = existing.get(comps[code].id)
        if level == 0:
            if line is not None:
                session.delete(line)
        elif line is None:
            session.add(
                RoleRequirement(
                    version=draft,
                    role_id=role_id,
                    competency_id=comps[code].id,
                    level=level,
                    essential=bool(essential),
                )
            )
        else:
            line.level, line.essential = level, bool(essential)
    versioning.flush(
        session, what, lambda: profile_values(session, draft, role_id), unique_races=True
    )


# --- the certificate catalogue ----------------------------------------------------------------


def _certificate(session: Session, draft: FrameworkVersion, code: str) -> Certificate:
    cert = session.scalar(
        select(Certificate).where(Certificate.version_id == draft.id, Certificate.code == code)
    )
    if cert is None:
        raise DomainError(
            f"There is no certificate {code} in version {draft.number}.", field="code"
        )
    return cert


def _external_cap(session: Session, draft: FrameworkVersion) -> int | None:
    return session.scalar(
        select(EvidenceCap.max_level).where(
            EvidenceCap.version_id == draft.id, EvidenceCap.source == Source.EXTERNAL_CERTIFICATE
        )
    )


def _problem_field(key: str) -> str:
    """The form field of a rule's key: ``evidences.GOV-01`` is the field ``level_GOV-01``."""
    if key.startswith("evidences."):
        return "level_" + key.removeprefix("evidences.")
    return {"evidences": "code"}.get(key, key)


def _checked_certificate(
    session: Session,
    draft: FrameworkVersion,
    *,
    code: str,
    name: str,
    issuer: str,
    expires: bool,
    max_level: int,
    evidences: dict[str, int],
    replacing: Certificate | None = None,
) -> dict:
    """The canonical certificate, or a DomainError at the field of the first rule it breaks
    (the rules themselves are :func:`app.framework.content.certificate_problems`)."""
    name = _required(name, "name", "certificate's name", 160)
    issuer = _required(issuer, "issuer", "issuer", 120)
    if not isinstance(max_level, int) or not 1 <= max_level <= MAX_LEVEL:
        raise DomainError(f"Choose a level from 1 to {MAX_LEVEL}.", field="max_level")
    for comp_code, level in evidences.items():
        if not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
            raise DomainError(f"Choose a level from 0 to {MAX_LEVEL}.", field=f"level_{comp_code}")
    cert = certificate(
        code=code,
        name=name,
        issuer=issuer,
        expires=expires,
        max_level=max_level,
        evidences={c: level for c, level in evidences.items() if level},
    )
    others = [
        {"code": c.code, "name": c.name}
        for c in session.scalars(select(Certificate).where(Certificate.version_id == draft.id))
        if replacing is None or c.id != replacing.id
    ]
    known = set(session.scalars(select(Competency.code).where(Competency.version_id == draft.id)))
    problems = certificate_problems(
        cert, others=others, known=known, cap=_external_cap(session, draft)
    )
    if problems:
        problem = problems[0]
        message = problem.message[0].upper() + problem.message[1:]
        if problem.also is not None:
            message += f" in the catalogue ({others[problem.also]['code']})"
        if problem.key == "evidences":
            message = "Choose at least one competency the certificate evidences, with its level."
        raise DomainError(
            message + ("" if message.endswith(".") else "."), field=_problem_field(problem.key)
        )
    return cert


def add_certificate(
    session: Session,
    draft: FrameworkVersion,
    *,
    code: str,
    name: str,
    issuer: str,
    expires: bool,
    max_level: int,
    evidences: dict[str, int],
) -> Certificate:
    """Add a certificate to the draft's catalogue. ``evidences`` maps a competency code to
    the level the certificate proves there (0 leaves it out). ``code`` is in the
    framework's format (e.g. PRINCE2-F) and new in the catalogue; the catalogue's rules
    apply as in ``content check`` (see :func:`certificate_problems`)."""
    _require_draft(draft)
    code = _one_line(code).upper()
    if not code:
        raise DomainError("Give the certificate a code, e.g. PRINCE2-F.", field="code")
    _check_code_format(code, "PRINCE2-F")
    values = _checked_certificate(
        session,
        draft,
        code=code,
        name=name,
        issuer=issuer,
        expires=expires,
        max_level=max_level,
        evidences=evidences,
    )
    cert = Certificate(version=draft, **values)
    session.add(cert)
    session.flush()
    return cert


def certificate_values(session: Session, cert: Certificate) -> dict[str, Any]:
    """A draft certificate as its edit form shows it (a level, 0 for none, per competency
    of its version)."""
    codes = session.scalars(select(Competency.code).where(Competency.version_id == cert.version_id))
    return {
        versioning.FIELD: str(cert.row_version),
        "name": cert.name,
        "issuer": cert.issuer,
        "expires": cert.expires,
        "max_level": cert.max_level,
        **{f"level_{c}": int(cert.evidences.get(c, 0)) for c in codes},
    }


def update_certificate(
    session: Session,
    draft: FrameworkVersion,
    code: str,
    *,
    name: str,
    issuer: str,
    expires: bool,
    max_level: int,
    evidences: dict[str, int],
    seen: str | None = None,
) -> Certificate:
    """Change a draft certificate: name, issuer, whether it expires, its max level and what
    it evidences (``evidences`` replaces the list; a level of 0 leaves a competency out).
    The code never changes: learners' records name the certificate by it. Refused when the
    certificate changed since its form was read at ``seen``."""
    _require_draft(draft)
    cert = _certificate(session, draft, code)
    what = f"Certificate {code}"
    versioning.check(seen, certificate_values(session, cert), what)
    values = _checked_certificate(
        session,
        draft,
        code=cert.code,
        name=name,
        issuer=issuer,
        expires=expires,
        max_level=max_level,
        evidences=evidences,
        replacing=cert,
    )
    for key, value in values.items():
        setattr(cert, key, value)
    versioning.flush(session, what, lambda: certificate_values(session, cert))
    return cert


def remove_certificate(session: Session, draft: FrameworkVersion, code: str) -> str:
    """Remove a certificate from the draft's catalogue; return its name. Records held
    against earlier versions keep the meaning their version's catalogue gave them."""
    _require_draft(draft)
    cert = _certificate(session, draft, code)
    name = cert.name
    session.delete(cert)
    session.flush()
    return name


def publish(
    session: Session, draft: FrameworkVersion, *, actor_id: int | None, note: str
) -> FrameworkVersion:
    """Make the draft the current version: it becomes PUBLISHED (when, by whom, why), the
    version published before it is RETIRED, and its content hash is recomputed so that a
    later load of files with the same content changes nothing.

    Raises DomainError without a note, when the draft is the same as the published version
    (discard it instead), or when a newer version was published (e.g. by a content load)
    after the draft was started, which publishing the draft would silently undo.
    """
    _require_draft(draft)
    note = _required(note, "note", "note on what changed and why")
    content = content_of(session, draft)
    current = session.scalar(
        select(FrameworkVersion).where(
            FrameworkVersion.framework_id == draft.framework_id,
            FrameworkVersion.status == VersionStatus.PUBLISHED,
        )
    )
    if current is not None and current.number > draft.number:
        raise DomainError(
            f"Version {current.number} was published after this draft was "
            "started, so publishing the draft would undo it. Discard the draft "
            "and start a new one.",
            field="note",
        )
    digest = content.digest()
    if current is not None and current.content_hash == digest:
        raise DomainError(
            f"The draft is the same as the published version {current.number}: "
            "there is nothing to publish. Discard the draft instead.",
            field="note",
        )
    if current is not None:
        current.status = VersionStatus.RETIRED
    draft.status = VersionStatus.PUBLISHED
    draft.content_hash = digest
    draft.published_at = clock.now()
    draft.published_by_id = actor_id
    draft.note = note
    session.flush()
    return draft


def discard_draft(session: Session, draft: FrameworkVersion) -> int:
    """Delete the draft and everything in it; return its number."""
    _require_draft(draft)
    draft_discarding.send(session, version_id=draft.id)  # a receiver may refuse
    number = draft.number
    session.delete(draft)
    session.flush()
    return number
