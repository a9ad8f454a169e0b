"""External certificates and CPD: what a learner records, and a trainer's verification.

A learner records a certificate they hold, either one of the framework's certificate
catalogue (by its code, in the published version) or "other" (by name), with its number,
date of issue, expiry and, optionally, a copy (see ``uploads``). It waits for a training
specialist, who verifies or rejects it (a rejection says why).

Verifying a catalogue certificate records validated evidence: one ``Evidence`` row with
source ``external_certificate``, the certificate's code and the record's expiry date,
against the first competency the catalogue entry lists in the published version. The
current-level rule (``app.capability.levels``, rule 4) reads such a row as everything the
catalogue says the certificate proves — every competency it lists, at the catalogue's
levels — so one row is enough, and the level the learner might claim never matters. An
"other" certificate is verified as a record only: it proves no competency.

CPD records are the learner's own log of development activities and their hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from app.capability.models import Evidence
from app.dates import RANGE_TEXT, in_range
from app.db import undo_on_rollback, utcnow
from app.errors import DomainError
from app.framework.models import Certificate, Competency, Source
from app.framework.versions import published_version
from app.learning import uploads
from app.learning.models import CpdRecord, ExternalCertificate, ExternalStatus

#: The choice that records a certificate outside the catalogue.
OTHER = "other"
REASON_MAX = 1000
#: CPD hours a single record may log (the table holds 1 to 6,000 minutes).
CPD_MIN_HOURS = Decimal("0.25")
CPD_MAX_HOURS = Decimal("100")


def catalogue(session: Session) -> list[Certificate]:
    """The published version's certificate catalogue, by code (empty when no framework is
    published yet)."""
    version = published_version(session)
    return list(version.certificates) if version else []


def catalogue_names(session: Session) -> dict[str, str]:
    """Catalogue code -> name, for showing a record's certificate by name."""
    return {c.code: c.name for c in catalogue(session)}


def _catalogue_entry(session: Session, code: str) -> Certificate | None:
    return next((c for c in catalogue(session) if c.code == code), None)


def _check_dates(issued_on: date | None, expires_on: date | None, today: date) -> None:
    if issued_on is None:
        raise DomainError("Give the date the certificate was issued.", field="issued_on")
    if not in_range(issued_on):
        raise DomainError(f"Give a date {RANGE_TEXT}.", field="issued_on")
    if issued_on > today:
        raise DomainError("The date of issue cannot be in the future.", field="issued_on")
    if expires_on is not None:
        if not in_range(expires_on):
            raise DomainError(f"Give a date {RANGE_TEXT}.", field="expires_on")
        if expires_on <= issued_on:
            raise DomainError(
                "The expiry date must be after the date of issue.", field="expires_on"
            )


def _which(session: Session, choice: str, other_name: str) -> tuple[str | None, str | None]:
    """(catalogue code, other name): exactly one of the two."""
    choice = (choice or "").strip()
    if not choice:
        raise DomainError("Choose the certificate, or “Other” for one not listed.", "certificate")
    if choice == OTHER:
        name = (other_name or "").strip()
        if not name:
            raise DomainError("Give the certificate's name as it is printed.", "other_name")
        if len(name) > 200:
            raise DomainError("Keep the name under 200 characters.", field="other_name")
        return None, name
    if _catalogue_entry(session, choice) is None:
        raise DomainError("Choose a certificate from the list.", field="certificate")
    return choice, None


def _refuse_duplicate(session: Session, person_id: int, code: str | None, number: str) -> None:
    if code is None or not number:
        return
    taken = session.scalar(
        select(ExternalCertificate.id).where(
            ExternalCertificate.person_id == person_id,
            ExternalCertificate.certificate_code == code,
            ExternalCertificate.number == number,
            ExternalCertificate.status != ExternalStatus.REJECTED,
        )
    )
    if taken is not None:
        raise DomainError(
            "You have already recorded this certificate with this number.", field="number"
        )


def record_external_certificate(
    session: Session,
    *,
    person_id: int,
    certificate: str,
    other_name: str = "",
    number: str = "",
    issued_on: date | None,
    expires_on: date | None = None,
    file: BinaryIO | None = None,
    file_name: str | None = None,
    folder: str | Path,
    today: date,
) -> ExternalCertificate:
    """A learner records a certificate they hold; it waits for a trainer's verification.

    ``certificate`` is a catalogue code of the published version or OTHER (then
    ``other_name`` names it). The date of issue is required and not in the future; an
    expiry date, when given, comes after it. ``file``, when given, is checked and stored
    (``uploads``) only once everything else is valid, so a refused record leaves no file
    behind. Raises DomainError naming the form field at fault.
    """
    code, name = _which(session, certificate, other_name)
    number = (number or "").strip()
    if len(number) > 100:
        raise DomainError("Keep the number under 100 characters.", field="number")
    _check_dates(issued_on, expires_on, today)
    assert issued_on is not None
    _refuse_duplicate(session, person_id, code, number)
    stored = None
    if file is not None:
        stored = uploads.save(folder, uploads.check_upload(file, file_name, field="file"))
        # Belongs to this transaction: a rollback (or a retried request) leaves no copy.
        kept = stored.name
        undo_on_rollback(session, lambda: uploads.remove(folder, kept))
    record = ExternalCertificate(
        person_id=person_id,
        certificate_code=code,
        other_name=name,
        number=number,
        issued_on=issued_on,
        expires_on=expires_on,
        status=ExternalStatus.PENDING,
        file_name=stored.name if stored else None,
        file_type=stored.content_type if stored else None,
        file_size=stored.size if stored else None,
        original_name=stored.original_name if stored else "",
    )
    session.add(record)
    try:
        session.flush()
    except Exception:
        uploads.remove(folder, stored.name if stored else None)
        raise
    return record


def _pending(session: Session, record_id: int, actor_person_id: int) -> ExternalCertificate:
    record = session.get(ExternalCertificate, record_id)
    if record is None:
        raise DomainError("There is no such certificate record.")
    if record.status != ExternalStatus.PENDING:
        raise DomainError(f"This certificate was already {record.status.value}.")
    if record.person_id == actor_person_id:
        raise DomainError("Another training specialist must review your own certificate.")
    return record


def _decide(
    session: Session,
    record: ExternalCertificate,
    status: ExternalStatus,
    actor_id: int,
    reason: str,
) -> None:
    """Move a pending record to ``status`` with one conditional UPDATE: the exactly-once
    guard of a review, as for validation decisions (``app.capability.services``). Of several
    simultaneous verifications or rejections of one record (two trainers, a double click,
    several tabs) exactly one moves it; each other's UPDATE waits for that one to commit
    (a row lock on PostgreSQL, the write lock on SQLite), then finds the record no longer
    pending, changes nothing, and is refused saying what became of it (DomainError)."""
    moved = session.execute(
        update(ExternalCertificate)
        .where(
            ExternalCertificate.id == record.id,
            ExternalCertificate.status == ExternalStatus.PENDING,
        )
        .values(status=status, reviewed_by_id=actor_id, reviewed_at=utcnow(), review_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        now = session.scalar(
            select(ExternalCertificate.status).where(ExternalCertificate.id == record.id)
        )
        raise DomainError(f"This certificate was already {now.value if now else 'removed'}.")
    session.refresh(record, ["status", "reviewed_by_id", "reviewed_at", "review_reason"])


@dataclass(frozen=True)
class Verification:
    record: ExternalCertificate
    evidence: Evidence | None  # None: an "other" certificate, or one the catalogue dropped


def _evidence_for(session: Session, record: ExternalCertificate, actor_id: int) -> Evidence | None:
    """The validated evidence a verified catalogue certificate records (see the module
    docstring), or None when the published catalogue no longer lists it or lists no
    competency for it."""
    version = published_version(session)
    entry = _catalogue_entry(session, record.certificate_code or "") if version else None
    if version is None or entry is None or not entry.evidences:
        return None
    first = next(iter(entry.evidences))
    competency = session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == first)
    )
    if competency is None:
        return None
    evidence = Evidence(
        person_id=record.person_id,
        competency_id=competency.id,
        competency_code=competency.code,
        source=Source.EXTERNAL_CERTIFICATE,
        level=int(entry.evidences[first]),
        achieved_on=record.issued_on,
        expires_on=record.expires_on,
        validated=True,
        certificate_code=entry.code,
        note=f"{entry.name}" + (f", number {record.number}" if record.number else ""),
        recorded_by_id=actor_id,
    )
    session.add(evidence)
    session.flush()
    return evidence


def verify_external_certificate(
    session: Session, *, record_id: int, actor_id: int, actor_person_id: int
) -> Verification:
    """A trainer verifies a pending certificate. A catalogue certificate becomes validated
    evidence (its id kept on the record); an "other" one is verified as a record only.
    Raises DomainError when the record is not pending, or is the trainer's own.

    Exactly once: the record leaves "pending" by a conditional UPDATE (``_decide``) before
    any evidence is recorded, so simultaneous verifications record one piece of evidence."""
    record = _pending(session, record_id, actor_person_id)
    _decide(session, record, ExternalStatus.VERIFIED, actor_id, "")
    evidence = _evidence_for(session, record, actor_id) if record.certificate_code else None
    record.evidence_id = evidence.id if evidence else None
    session.flush()
    return Verification(record, evidence)


def reject_external_certificate(
    session: Session, *, record_id: int, reason: str, actor_id: int, actor_person_id: int
) -> ExternalCertificate:
    """A trainer rejects a pending certificate, saying why (the learner reads the reason).
    Raises DomainError without a reason, or when the record is not pending or their own."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the certificate is rejected.", field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"Keep the reason under {REASON_MAX} characters.", field="reason")
    record = _pending(session, record_id, actor_person_id)
    _decide(session, record, ExternalStatus.REJECTED, actor_id, reason)
    session.flush()
    return record


def _cpd_minutes(hours: Decimal | float | str | None) -> int:
    try:
        value = Decimal(str(hours))
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite() or not CPD_MIN_HOURS <= value <= CPD_MAX_HOURS:
        raise DomainError(
            f"Give the hours as a number from {CPD_MIN_HOURS} to {CPD_MAX_HOURS}.", field="hours"
        )
    return max(1, int((value * 60).to_integral_value()))


def log_cpd(
    session: Session,
    *,
    person_id: int,
    activity: str,
    done_on: date | None,
    hours: Decimal | float | str | None,
    notes: str = "",
    today: date,
    certificate_id: int | None = None,
) -> CpdRecord:
    """A learner logs a CPD activity: what, when (not in the future) and how many hours
    (0.25 to 100). Raises DomainError naming the field at fault."""
    activity = (activity or "").strip()
    if not activity:
        raise DomainError("Say what the activity was.", field="activity")
    if len(activity) > 200:
        raise DomainError("Keep the activity under 200 characters.", field="activity")
    if done_on is None:
        raise DomainError("Give the date of the activity.", field="done_on")
    if not in_range(done_on):
        raise DomainError(f"Give a date {RANGE_TEXT}.", field="done_on")
    if done_on > today:
        raise DomainError("Log an activity once it has taken place.", field="done_on")
    minutes = _cpd_minutes(hours)
    if certificate_id is not None:
        owner = session.scalar(
            select(ExternalCertificate.person_id).where(ExternalCertificate.id == certificate_id)
        )
        if owner != person_id:
            raise DomainError("Choose one of your own certificates.", field="certificate")
    record = CpdRecord(
        person_id=person_id,
        activity=activity,
        done_on=done_on,
        minutes=minutes,
        notes=(notes or "").strip(),
        certificate_id=certificate_id,
    )
    session.add(record)
    session.flush()
    return record


# --- reads ------------------------------------------------------------------------------------


def external_of(session: Session, person_id: int) -> list[ExternalCertificate]:
    """A person's external certificates, newest issue first."""
    return list(
        session.scalars(
            select(ExternalCertificate)
            .where(ExternalCertificate.person_id == person_id)
            .order_by(ExternalCertificate.issued_on.desc(), ExternalCertificate.id.desc())
        )
    )


def cpd_of(session: Session, person_id: int) -> list[CpdRecord]:
    """A person's CPD log, newest first."""
    return list(
        session.scalars(
            select(CpdRecord)
            .where(CpdRecord.person_id == person_id)
            .order_by(CpdRecord.done_on.desc(), CpdRecord.id.desc())
        )
    )


def pending_queue() -> Select:
    """The certificates waiting for verification, oldest first (first come, first served)."""
    return (
        select(ExternalCertificate)
        .where(ExternalCertificate.status == ExternalStatus.PENDING)
        .order_by(ExternalCertificate.submitted_at, ExternalCertificate.id)
    )
