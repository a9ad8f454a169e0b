"""Learning's piece: enrolments and module progress, session bookings, certificates of
completion, external certificates with their uploaded copies, CPD, and the reminders sent."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.learning import uploads
from app.learning.models import (
    Booking,
    ClassSession,
    CompletionCertificate,
    CpdRecord,
    Enrolment,
    ExternalCertificate,
    LearningPath,
    ModuleCompletion,
    PathModule,
    PathVersion,
    ReminderLog,
)
from app.privacy.providers.common import user_names
from app.privacy.registry import ExportFile, Provider, Pseudonym, Rows, Subject, row, written

#: What a CPD activity's name becomes: the minutes stay (they are counted), the words go.
REMOVED = "(removed)"


def _enrolment_ids(subject: Subject):
    return select(Enrolment.id).where(Enrolment.person_id == subject.person_id)


def _enrolments(session: Session, subject: Subject) -> Rows:
    rows = session.execute(
        select(Enrolment, LearningPath.code, PathVersion.title, PathVersion.number)
        .join(LearningPath, LearningPath.id == Enrolment.path_id)
        .join(PathVersion, PathVersion.id == Enrolment.version_id)
        .where(Enrolment.person_id == subject.person_id)
        .order_by(Enrolment.enrolled_at, Enrolment.id)
    ).all()
    return [
        row(
            id=e.id,
            path_code=code,
            path=title,
            version=number,
            status=e.status,
            source=e.source,
            due_on=e.due_on,
            enrolled_at=e.enrolled_at,
            completed_at=e.completed_at,
            withdrawn_at=e.withdrawn_at,
        )
        for e, code, title, number in rows
    ]


def _progress(session: Session, subject: Subject) -> Rows:
    rows = session.execute(
        select(ModuleCompletion, PathModule.title, LearningPath.code)
        .join(PathModule, PathModule.id == ModuleCompletion.module_id)
        .join(Enrolment, Enrolment.id == ModuleCompletion.enrolment_id)
        .join(LearningPath, LearningPath.id == Enrolment.path_id)
        .where(Enrolment.person_id == subject.person_id)
        .order_by(ModuleCompletion.completed_at, ModuleCompletion.id)
    ).all()
    names = user_names(session, [m.recorded_by_id for m, _t, _c in rows])
    return [
        row(
            enrolment=m.enrolment_id,
            path_code=code,
            module_code=m.module_code,
            module=title,
            method=m.method,
            completed_at=m.completed_at,
            reflection=m.reflection,
            recorded_by=names.get(m.recorded_by_id) if m.recorded_by_id else None,
            comment=m.comment,
        )
        for m, title, code in rows
    ]


def _bookings(session: Session, subject: Subject) -> Rows:
    rows = session.execute(
        select(Booking, ClassSession, LearningPath.code)
        .join(ClassSession, ClassSession.id == Booking.session_id)
        .join(LearningPath, LearningPath.id == ClassSession.path_id)
        .where(Booking.person_id == subject.person_id)
        .order_by(ClassSession.starts_at, Booking.id)
    ).all()
    return [
        row(
            path_code=code,
            module_code=s.module_code,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            location=s.location,
            status=b.status,
            booked_at=b.booked_at,
            cancelled_at=b.cancelled_at,
            attended=b.attended,
        )
        for b, s, code in rows
    ]


def _certificates(session: Session, subject: Subject) -> Rows:
    rows = session.scalars(
        select(CompletionCertificate)
        .where(CompletionCertificate.person_id == subject.person_id)
        .order_by(CompletionCertificate.issued_at, CompletionCertificate.id)
    ).all()
    return [
        row(
            code=c.code,
            issued_at=c.issued_at,
            learner_name=c.learner_name,
            path_code=c.path_code,
            path=c.path_title,
            version=c.version_number,
            minutes=c.minutes,
            competencies=c.competencies,
            revoked_at=c.revoked_at,
            revoked_reason=c.revoked_reason,
        )
        for c in rows
    ]


def _external(session: Session, subject: Subject) -> list[ExternalCertificate]:
    return list(
        session.scalars(
            select(ExternalCertificate)
            .where(ExternalCertificate.person_id == subject.person_id)
            .order_by(ExternalCertificate.submitted_at, ExternalCertificate.id)
        )
    )


def archive_name(record: ExternalCertificate) -> str | None:
    """Where a record's uploaded copy goes in the download (None without a copy)."""
    if not record.file_name:
        return None
    extension = record.file_name.rsplit(".", 1)[-1]
    return f"files/external-certificate-{record.id}.{extension}"


def _external_rows(session: Session, records: list[ExternalCertificate]) -> Rows:
    names = user_names(session, [r.reviewed_by_id for r in records])
    return [
        row(
            id=r.id,
            certificate_code=r.certificate_code,
            other_name=r.other_name,
            number=r.number,
            issued_on=r.issued_on,
            expires_on=r.expires_on,
            status=r.status,
            submitted_at=r.submitted_at,
            reviewed_by=names.get(r.reviewed_by_id) if r.reviewed_by_id else None,
            reviewed_at=r.reviewed_at,
            review_reason=r.review_reason,
            file_original_name=r.original_name,
            file_type=r.file_type,
            file_size=r.file_size,
            file_in_download=archive_name(r),
        )
        for r in records
    ]


def export(session: Session, subject: Subject, _now: datetime) -> dict[str, Rows]:
    cpd = session.scalars(
        select(CpdRecord)
        .where(CpdRecord.person_id == subject.person_id)
        .order_by(CpdRecord.done_on, CpdRecord.id)
    ).all()
    reminders = session.scalars(
        select(ReminderLog)
        .where(ReminderLog.person_id == subject.person_id)
        .order_by(ReminderLog.sent_at, ReminderLog.id)
    ).all()
    return {
        "enrolments": _enrolments(session, subject),
        "module_progress": _progress(session, subject),
        "session_bookings": _bookings(session, subject),
        "certificates": _certificates(session, subject),
        "external_certificates": _external_rows(session, _external(session, subject)),
        "cpd": [
            row(
                activity=c.activity,
                done_on=c.done_on,
                minutes=c.minutes,
                notes=c.notes,
                external_certificate=c.certificate_id,
                recorded_at=c.recorded_at,
            )
            for c in cpd
        ],
        "reminders": [
            row(kind=r.kind, recipient=r.recipient, subject=r.subject, sent_at=r.sent_at)
            for r in reminders
        ],
    }


def files(session: Session, subject: Subject, folder: Path) -> list[ExportFile]:
    """The uploaded copies of the person's external certificates that are still on disk."""
    out = []
    for record in _external(session, subject):
        path = uploads.stored_path(folder, record.file_name)
        name = archive_name(record)
        if path is not None and name is not None:
            out.append(ExportFile(name, path))
    return out


def discard_files(session: Session, subject: Subject, folder: Path) -> int:
    """Delete the uploaded copies (a copy already gone is no error: a run interrupted
    after deleting it is simply run again)."""
    deleted = 0
    for record in _external(session, subject):
        if uploads.stored_path(folder, record.file_name) is not None:
            uploads.remove(folder, record.file_name)
            deleted += 1
    return deleted


def erase(session: Session, subject: Subject, pseudonym: Pseudonym) -> dict[str, int]:
    """Free text and uploads go; what is counted (enrolments, completions, minutes,
    bookings, attendance, certificates issued) stays. The name on a certificate of
    completion becomes the pseudonym, so its public verification page names nobody."""
    person = subject.person_id
    certificates = written(
        session,
        update(CompletionCertificate)
        .where(
            CompletionCertificate.person_id == person,
            or_(
                CompletionCertificate.learner_name != pseudonym.name,
                CompletionCertificate.revoked_reason != "",
            ),
        )
        .values(learner_name=pseudonym.name, revoked_reason=""),
    )
    progress = written(
        session,
        update(ModuleCompletion)
        .where(
            ModuleCompletion.enrolment_id.in_(_enrolment_ids(subject)),
            or_(ModuleCompletion.reflection != "", ModuleCompletion.comment != ""),
        )
        .values(reflection="", comment=""),
    )
    external = written(
        session,
        update(ExternalCertificate)
        .where(
            ExternalCertificate.person_id == person,
            or_(
                ExternalCertificate.number != "",
                ExternalCertificate.original_name != "",
                ExternalCertificate.file_name.is_not(None),
                ExternalCertificate.review_reason != "",
            ),
        )
        .values(
            number="",
            original_name="",
            file_name=None,
            file_type=None,
            file_size=None,
            review_reason="",
        ),
    )
    cpd = written(
        session,
        update(CpdRecord)
        .where(
            CpdRecord.person_id == person,
            or_(CpdRecord.activity != REMOVED, CpdRecord.notes != ""),
        )
        .values(activity=REMOVED, notes=""),
    )
    reminders = written(
        session,
        update(ReminderLog)
        .where(ReminderLog.person_id == person, ReminderLog.recipient != pseudonym.email)
        .values(recipient=pseudonym.email),
    )
    return {
        "certificates of completion": certificates,
        "module reflections and comments": progress,
        "external certificates": external,
        "CPD records": cpd,
        "reminder addresses": reminders,
    }


PROVIDER = Provider(
    name="learning",
    owned={
        "enrolments": "person_id",
        "module_completions": "enrolment_id",
        "session_bookings": "person_id",
        "completion_certificates": "person_id",
        "external_certificates": "person_id",
        "cpd_records": "person_id",
        "reminder_log": "person_id",
    },
    actions={
        ("enrolments", "enrolled_by_id"): "enrolments you made",
        ("module_completions", "recorded_by_id"): "module completions you signed off or recorded",
        ("completion_certificates", "revoked_by_id"): "certificates of completion you revoked",
        ("external_certificates", "reviewed_by_id"): "external certificates you reviewed",
        ("class_sessions", "trainer_id"): "classroom sessions you train",
        ("class_sessions", "created_by_id"): "classroom sessions you scheduled",
        ("enrolment_rules", "created_by_id"): "enrolment rules you made",
        ("path_versions", "created_by_id"): "learning path versions you drafted",
        ("path_versions", "published_by_id"): "learning path versions you published",
        ("path_changes", "actor_id"): "changes you made to learning paths",
    },
    kinds={
        "enrolments": "Your enrolments on learning paths: status, due date, dates",
        "module_progress": "The modules you completed, how, and your reflections",
        "session_bookings": "Your classroom session bookings and attendance",
        "certificates": "Your certificates of completion",
        "external_certificates": "External certificates you recorded, with their uploaded "
        "copies (in the zip's files/ folder)",
        "cpd": "Your CPD activities and hours",
        "reminders": "The reminder mails sent to you",
    },
    export=export,
    erase=erase,
    files=files,
    discard_files=discard_files,
    erasure_text="Uploaded certificate copies are deleted; reflections, comments, CPD "
    "notes and certificate numbers are removed; enrolments, completions, minutes and "
    "attendance stay.",
)
