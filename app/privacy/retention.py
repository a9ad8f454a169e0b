"""The retention rule: leavers' records are anonymised once their retention period has
passed (six years by default), and the files of staff imports are deleted after theirs
(30 days by default), each batch keeping its summary.

When a person left: their leaving date when HR gave one; otherwise, for someone made
inactive without one, the last change to their record (which is never earlier than the
day they were made inactive, so the period is never cut short).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.org.models import Person
from app.privacy.providers.staff_import import delete_file
from app.staff_import.models import BatchStatus, ImportBatch
from app.staff_import.services import discard


@dataclass(frozen=True)
class Leaver:
    person_id: int
    left_on: date


@dataclass(frozen=True)
class HrFile:
    batch_id: int
    filename: str
    size: int
    uploaded_at: datetime
    #: still waiting to be applied: it is discarded as well
    open: bool


@dataclass
class Due:
    """What the rule finds past its period on a day."""

    leavers_cutoff: date
    files_cutoff: datetime
    leavers: list[Leaver] = field(default_factory=list)
    files: list[HrFile] = field(default_factory=list)


def _midnight(day: date) -> datetime:
    return clock.start_of(day)


def due(session: Session, *, today: date, leavers_days: int, files_days: int) -> Due:
    """The leavers and the staff import files past their retention periods on ``today``.
    A leaver who left on the cutoff day itself is kept one more day: the period is whole."""
    cutoff = today - timedelta(days=leavers_days)
    files_cutoff = _midnight(today - timedelta(days=files_days))
    people = session.execute(
        select(Person.id, Person.leaving_date, Person.updated_at)
        .where(
            Person.anonymised_at.is_(None),
            or_(
                and_(Person.leaving_date.is_not(None), Person.leaving_date < cutoff),
                and_(
                    Person.leaving_date.is_(None),
                    Person.active.is_(False),
                    Person.updated_at < _midnight(cutoff),
                ),
            ),
        )
        .order_by(Person.id)
    ).all()
    batches = session.execute(
        select(
            ImportBatch.id,
            ImportBatch.filename,
            ImportBatch.size,
            ImportBatch.uploaded_at,
            ImportBatch.status,
        )
        .where(ImportBatch.file_deleted_at.is_(None), ImportBatch.uploaded_at < files_cutoff)
        .order_by(ImportBatch.id)
    ).all()
    return Due(
        leavers_cutoff=cutoff,
        files_cutoff=files_cutoff,
        leavers=[Leaver(pid, leaving or clock.day_of(updated)) for pid, leaving, updated in people],
        files=[
            HrFile(bid, name, size, uploaded, status == BatchStatus.UPLOADED)
            for bid, name, size, uploaded, status in batches
        ],
    )


def delete_hr_file(session: Session, batch_id: int, now: datetime) -> None:
    """Delete one staff import's file (and its row messages), discarding it first if it
    was never applied: it can no longer be previewed without its file."""
    batch = session.get_one(ImportBatch, batch_id)
    if batch.file_deleted_at is not None:
        return
    if batch.status == BatchStatus.UPLOADED:
        discard(batch)
    delete_file(batch, now)
    session.flush()
