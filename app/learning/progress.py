"""Progress on a path: completing modules, and completing the path.

How each module type completes: e-learning and reading — the learner marks it complete
(with an optional reflection); classroom and workshop — a trainer records attendance for a
session (``app.learning.sessions``); on-the-job — the learner's manager or an assessor (a
trainer) signs it off with a comment; assessment — the linked assessment is passed
(``complete_assessment_module``, the assessments package's hook) or, until then, a trainer
records the pass.

Completing a module writes one ``ModuleCompletion`` per enrolment and module (the enrolment
row is locked first, so two requests completing the same module at once give one) and
records validated evidence at the module's levels, with the source its type gives, so the
capability page shows it at once. When every non-optional module is complete, the
enrolment is completed and a certificate of completion is issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.capability.models import Evidence
from app.capability.services import record_evidence
from app.dates import RANGE_TEXT, in_range
from app.errors import DomainError
from app.framework.models import Competency, Source
from app.framework.versions import published_version as published_framework
from app.learning.certificates import issue_certificate
from app.learning.models import (
    CompletionMethod,
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ModuleType,
    PathModule,
)

#: The evidence source a completed module records, by module type.
SOURCE_OF = {
    ModuleType.E_LEARNING: Source.MODULE_COMPLETION,
    ModuleType.READING: Source.MODULE_COMPLETION,
    ModuleType.CLASSROOM: Source.MODULE_COMPLETION,
    ModuleType.WORKSHOP: Source.MODULE_COMPLETION,
    ModuleType.ASSESSMENT: Source.ASSESSMENT,
    ModuleType.ON_THE_JOB: Source.ASSESSOR_OBSERVATION,
}
#: Module types the learner completes in the browser.
SELF_PACED = frozenset({ModuleType.E_LEARNING, ModuleType.READING})
#: Module types completed by attending a session.
TAUGHT = frozenset({ModuleType.CLASSROOM, ModuleType.WORKSHOP})
#: How each module type is completed, in words for the learner.
HOW_COMPLETED = {
    ModuleType.E_LEARNING: "read the lesson, then mark it complete",
    ModuleType.READING: "read the lesson, then mark it complete",
    ModuleType.CLASSROOM: "book a session; the trainer records your attendance",
    ModuleType.WORKSHOP: "book a session; the trainer records your attendance",
    ModuleType.ON_THE_JOB: "do the task at work; your manager or an assessor signs it off",
    ModuleType.ASSESSMENT: "pass the assessment",
}
MAX_TEXT = 4000


@dataclass(frozen=True)
class Completed:
    """What completing a module did."""

    completion: ModuleCompletion
    evidence: list[Evidence]
    #: True when this completion finished the path (a certificate was issued).
    path_completed: bool


def module_of(enrolment: Enrolment, module_code: str) -> PathModule:
    """The module of the enrolled version with this code, or DomainError."""
    for module in enrolment.version.modules:
        if module.code == module_code:
            return module
    raise DomainError("This path has no such module.")


def completed_codes(session: Session, enrolment_id: int) -> set[str]:
    return set(
        session.scalars(
            select(ModuleCompletion.module_code).where(
                ModuleCompletion.enrolment_id == enrolment_id
            )
        )
    )


def unmet_requirements(module: PathModule, done: set[str]) -> list[str]:
    """Codes of the modules ``module`` requires that are not complete yet."""
    return [code for code in module.requires if code not in done]


def _lock(session: Session, enrolment: Enrolment) -> None:
    """Hold the enrolment's row until commit (a no-op UPDATE: a row lock on PostgreSQL, the
    write lock on SQLite), then read it afresh: completions of one enrolment run one at a
    time, so a module is completed once and the path's completion is never missed."""
    session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id)
        .values(status=Enrolment.status)
        .execution_options(synchronize_session=False)
    )
    session.refresh(enrolment)


def _text(value: str | None, field: str, what: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise DomainError(f"Keep the {what} under {MAX_TEXT:,} characters.", field=field)
    return value


def _record_module_evidence(
    session: Session,
    *,
    enrolment: Enrolment,
    module: PathModule,
    on: date,
    recorded_by_id: int | None,
) -> list[Evidence]:
    """Validated evidence at each level the module evidences, for the competencies the
    published framework defines (a code a later framework version dropped is passed over)."""
    levels = {e.competency_code: e.level for e in module.evidences}
    framework = published_framework(session) if levels else None
    if framework is None:
        return []
    known = set(
        session.scalars(
            select(Competency.code).where(
                Competency.version_id == framework.id, Competency.code.in_(levels)
            )
        )
    )
    note = f"Completed {module.code} {module.title} ({enrolment.version.title})"
    return [
        record_evidence(
            session,
            person_id=enrolment.person_id,
            competency_code=code,
            level=levels[code],
            source=SOURCE_OF[module.type],
            achieved_on=on,
            note=note,
            link=None,
            recorded_by_id=recorded_by_id,
        )
        for code in sorted(known)
    ]


def _finish_if_complete(session: Session, enrolment: Enrolment, done: set[str]) -> bool:
    if enrolment.status != EnrolmentStatus.ACTIVE:
        return False
    required = {m.code for m in enrolment.version.modules if not m.optional}
    if not required <= done:
        return False
    enrolment.status = EnrolmentStatus.COMPLETED
    enrolment.completed_at = clock.now()
    session.flush()
    issue_certificate(session, enrolment)
    return True


def _complete(
    session: Session,
    *,
    enrolment: Enrolment,
    module: PathModule,
    method: CompletionMethod,
    on: date,
    evidence_by_id: int | None,
    recorded_by_id: int | None = None,
    reflection: str = "",
    comment: str = "",
    check_requires: bool = False,
) -> Completed:
    """Complete ``module`` for ``enrolment``: the completion, its evidence, and the path's
    completion when it was the last required module."""
    _lock(session, enrolment)
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise DomainError(f"{enrolment.person.full_name} was withdrawn from this path.")
    done = completed_codes(session, enrolment.id)
    if module.code in done:
        raise DomainError(f"{module.title} is already complete.")
    if check_requires:
        unmet = unmet_requirements(module, done)
        if unmet:
            titles = [m.title for m in enrolment.version.modules if m.code in unmet]
            raise DomainError("Complete " + " and ".join(titles) + " first.")
    completion = ModuleCompletion(
        enrolment_id=enrolment.id,
        module_id=module.id,
        module_code=module.code,
        method=method,
        completed_at=clock.now(),
        reflection=reflection,
        comment=comment,
        recorded_by_id=recorded_by_id,
    )
    session.add(completion)
    session.flush()
    evidence = _record_module_evidence(
        session, enrolment=enrolment, module=module, on=on, recorded_by_id=evidence_by_id
    )
    done.add(module.code)
    finished = _finish_if_complete(session, enrolment, done)
    return Completed(completion, evidence, finished)


def _require_type(module: PathModule, types: frozenset[ModuleType] | set[ModuleType]) -> None:
    if module.type not in types:
        raise DomainError(
            f"{module.title} is a {module.type.value} module: {HOW_COMPLETED[module.type]}."
        )


# --- the use-cases ------------------------------------------------------------------------------


def mark_complete(
    session: Session,
    *,
    enrolment: Enrolment,
    module_code: str,
    reflection: str,
    actor_id: int,
    actor_person_id: int,
    today: date,
) -> Completed:
    """The learner marks an e-learning or reading module complete, with an optional
    reflection. Refused for someone else's enrolment, another module type, a module whose
    ``requires`` are not all complete, or one already complete."""
    if enrolment.person_id != actor_person_id:
        raise DomainError("Only the learner marks their own modules complete.")
    module = module_of(enrolment, module_code)
    _require_type(module, SELF_PACED)
    return _complete(
        session,
        enrolment=enrolment,
        module=module,
        method=CompletionMethod.SELF,
        on=today,
        evidence_by_id=actor_id,
        reflection=_text(reflection, "reflection", "reflection"),
        check_requires=True,
    )


def sign_off(
    session: Session,
    *,
    enrolment: Enrolment,
    module_code: str,
    comment: str,
    actor_id: int,
    actor_person_id: int,
    today: date,
) -> Completed:
    """The learner's manager or an assessor signs off an on-the-job task, saying what they
    saw (the caller has checked the actor may: a manager who may see the person, or a
    trainer). Nobody signs off their own task."""
    if enrolment.person_id == actor_person_id:
        raise DomainError("You cannot sign off your own task; ask your manager or an assessor.")
    module = module_of(enrolment, module_code)
    _require_type(module, {ModuleType.ON_THE_JOB})
    comment = _text(comment, "comment", "comment")
    if not comment:
        raise DomainError("Say what you saw that shows the task was done.", field="comment")
    return _complete(
        session,
        enrolment=enrolment,
        module=module,
        method=CompletionMethod.SIGN_OFF,
        on=today,
        evidence_by_id=actor_id,
        recorded_by_id=actor_id,
        comment=comment,
    )


def record_assessment_pass(
    session: Session,
    *,
    enrolment: Enrolment,
    module_code: str,
    passed_on: date | None,
    comment: str,
    actor_id: int,
    actor_person_id: int,
    today: date,
) -> Completed:
    """A trainer records that the learner passed an assessment module's assessment (until
    the assessments package completes these modules itself)."""
    if enrolment.person_id == actor_person_id:
        raise DomainError("You cannot record your own assessment result.")
    module = module_of(enrolment, module_code)
    _require_type(module, {ModuleType.ASSESSMENT})
    if passed_on is None or not in_range(passed_on):
        raise DomainError(f"Give the date it was passed, {RANGE_TEXT}.", field="passed_on")
    if passed_on > today:
        raise DomainError("The pass date cannot be in the future.", field="passed_on")
    if passed_on < clock.day_of(enrolment.enrolled_at):
        raise DomainError(
            "The pass date cannot be before the learner was enrolled "
            f"({enrolment.enrolled_at:%d %b %Y}).",
            field="passed_on",
        )
    return _complete(
        session,
        enrolment=enrolment,
        module=module,
        method=CompletionMethod.ASSESSMENT,
        on=passed_on,
        evidence_by_id=actor_id,
        recorded_by_id=actor_id,
        comment=_text(comment, "comment", "comment"),
    )


def complete_by_attendance(
    session: Session, *, enrolment: Enrolment, module_code: str, on: date, actor_id: int | None
) -> Completed | None:
    """A classroom or workshop module, completed by attending a session (``on`` its date);
    None when it was already complete or the enrolment was withdrawn."""
    module = module_of(enrolment, module_code)
    _require_type(module, TAUGHT)
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        return None
    if module.code in completed_codes(session, enrolment.id):
        return None
    return _complete(
        session,
        enrolment=enrolment,
        module=module,
        method=CompletionMethod.ATTENDANCE,
        on=on,
        evidence_by_id=actor_id,
        recorded_by_id=actor_id,
    )


def complete_assessment_module(
    session: Session, *, person_id: int, assessment_code: str, passed_on: date
) -> list[Completed]:
    """The assessments package's hook: the person passed ``assessment_code`` on
    ``passed_on``. Completes every not-yet-complete assessment module linked to it on the
    person's active or completed enrolments (withdrawn ones are left alone)."""
    rows = session.execute(
        select(Enrolment, PathModule)
        .join(PathModule, PathModule.version_id == Enrolment.version_id)
        .where(
            Enrolment.person_id == person_id,
            Enrolment.status != EnrolmentStatus.WITHDRAWN,
            PathModule.type == ModuleType.ASSESSMENT,
            PathModule.assessment_code == assessment_code,
        )
        .order_by(Enrolment.id, PathModule.position)
    ).all()
    out: list[Completed] = []
    for enrolment, module in rows:
        if module.code in completed_codes(session, enrolment.id):
            continue
        out.append(
            _complete(
                session,
                enrolment=enrolment,
                module=module,
                method=CompletionMethod.ASSESSMENT,
                on=passed_on,
                evidence_by_id=None,
            )
        )
    return out
