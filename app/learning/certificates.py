"""Certificates of completion: issuing one when a learner completes a path, revoking it,
and the reads behind the certificate pages and the public verification page.

What a certificate states is copied onto it when it is issued (the learner's name, the
path, its version, the hours, the competencies evidenced), so that it reads the same
whatever later happens to the path, the framework or the person's record. Its code is
random (``secrets.token_urlsafe``): knowing one certificate's address tells nothing about
another's.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import DomainError
from app.framework.models import Competency
from app.framework.versions import published_version
from app.learning.enrolment import insert_skipping_duplicates
from app.learning.models import (
    CompletionCertificate,
    Enrolment,
    ModuleCompletion,
    PathModule,
)
from app.org.models import Person

#: 16 random bytes: 22 URL-safe characters, 128 bits that nobody guesses.
CODE_BYTES = 16
#: What a code may look like. Anything else is answered like an unknown code.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
REASON_MAX = 1000


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def _completed_codes(session: Session, enrolment: Enrolment) -> set[str]:
    return set(
        session.scalars(
            select(ModuleCompletion.module_code).where(
                ModuleCompletion.enrolment_id == enrolment.id
            )
        )
    )


def _evidenced(session: Session, modules: list[PathModule]) -> list[dict]:
    """The competencies ``modules`` evidence, each at the highest level any of them records,
    named as the published framework names them (the code alone when it no longer lists
    one), in code order."""
    best: dict[str, int] = {}
    for module in modules:
        for evidence in module.evidences:
            best[evidence.competency_code] = max(
                best.get(evidence.competency_code, 0), evidence.level
            )
    names: dict[str, str] = {}
    framework = published_version(session)
    if framework is not None and best:
        names = dict(
            session.execute(
                select(Competency.code, Competency.name).where(
                    Competency.version_id == framework.id, Competency.code.in_(sorted(best))
                )
            ).all()
        )
    return [
        {"code": code, "name": names.get(code, code), "level": level}
        for code, level in sorted(best.items())
    ]


def issue_certificate(session: Session, enrolment: Enrolment) -> CompletionCertificate:
    """The certificate of completion of ``enrolment``, issued now if it has none yet (a
    second call returns the one already issued, so issuing is safe to repeat).

    It states the learner's name, the path's code and title and the version they completed,
    the estimated hours of the modules they completed, and the competencies those modules
    evidence (code, name in the published framework, highest level).

    Raises DomainError when a required (non-optional) module of the version is not
    complete: a certificate is never issued for an unfinished path.

    Exactly once: the certificate is inserted with ON CONFLICT DO NOTHING on its unique
    enrolment, so of simultaneous issues one inserts it and the others get that one.
    """
    existing = _certificate_of(session, enrolment.id)
    if existing is not None:
        return existing
    version = enrolment.version
    done = _completed_codes(session, enrolment)
    missing = [m.code for m in version.modules if not m.optional and m.code not in done]
    if missing:
        raise DomainError(
            f"The path is not complete yet: {len(missing)} required module"
            f"{'' if len(missing) == 1 else 's'} left ({', '.join(missing)})."
        )
    completed = [m for m in version.modules if m.code in done]
    person = session.get(Person, enrolment.person_id)
    assert person is not None
    session.execute(
        insert_skipping_duplicates(session, CompletionCertificate).values(
            enrolment_id=enrolment.id,
            person_id=enrolment.person_id,
            code=new_code(),
            issued_at=utcnow(),
            learner_name=person.full_name,
            path_code=enrolment.path.code,
            path_title=version.title,
            version_number=version.number,
            minutes=sum(m.minutes for m in completed),
            competencies=_evidenced(session, completed),
        )
    )
    certificate = _certificate_of(session, enrolment.id)
    assert certificate is not None  # inserted now, or by a simultaneous request
    return certificate


def _certificate_of(session: Session, enrolment_id: int) -> CompletionCertificate | None:
    return session.scalar(
        select(CompletionCertificate).where(CompletionCertificate.enrolment_id == enrolment_id)
    )


def revoke_certificate(
    session: Session,
    *,
    certificate_id: int,
    reason: str,
    actor_id: int,
    now: datetime | None = None,
) -> CompletionCertificate:
    """Revoke a certificate: its public page then says plainly when and why. The record
    stays (a revoked certificate must still be recognisable as revoked).

    Raises DomainError when no reason is given, or when it was revoked already."""
    certificate = session.get(CompletionCertificate, certificate_id)
    if certificate is None:
        raise DomainError("There is no such certificate.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the certificate is revoked.", field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"Keep the reason under {REASON_MAX} characters.", field="reason")
    if certificate.revoked_at is None:
        moved = session.execute(
            update(CompletionCertificate)
            .where(
                CompletionCertificate.id == certificate.id,
                CompletionCertificate.revoked_at.is_(None),
            )
            .values(revoked_at=now or utcnow(), revoked_reason=reason, revoked_by_id=actor_id)
            .execution_options(synchronize_session=False)
        )
        session.refresh(certificate)
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            return certificate
    assert certificate.revoked_at is not None
    raise DomainError(f"This certificate was already revoked on {certificate.revoked_at:%d %b %Y}.")


# --- reads ------------------------------------------------------------------------------------


def certificate_by_code(session: Session, code: str) -> CompletionCertificate | None:
    """The certificate with this verification code; None for an unknown code and for
    anything that could not be a code at all (the page answers both the same way)."""
    if not CODE_PATTERN.fullmatch(code or ""):
        return None
    return session.scalar(select(CompletionCertificate).where(CompletionCertificate.code == code))


def certificates_of(session: Session, person_id: int) -> list[CompletionCertificate]:
    """A person's certificates of completion, newest first."""
    return list(
        session.scalars(
            select(CompletionCertificate)
            .where(CompletionCertificate.person_id == person_id)
            .order_by(CompletionCertificate.issued_at.desc(), CompletionCertificate.id.desc())
        )
    )


def issued_certificates(search: str = "") -> Select:
    """Every certificate issued, newest first; ``search`` narrows to a learner's name or a
    path's code or title (case-insensitive)."""
    stmt = select(CompletionCertificate).order_by(
        CompletionCertificate.issued_at.desc(), CompletionCertificate.id.desc()
    )
    words = search.strip().lower()
    if words:
        like = f"%{words.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                func.lower(CompletionCertificate.learner_name).like(like),
                func.lower(CompletionCertificate.path_code).like(like),
                func.lower(CompletionCertificate.path_title).like(like),
            )
        )
    return stmt
