"""The staff imports' piece. An HR file holds a row about each person it lists; it is kept
in the database (``ImportBatch.content``) with the row messages of its preview, which quote
names and addresses. The retention rule deletes files past their period; anonymising a
person also deletes, at once, the files of finished imports that list them. Either way
the batch's summary stays (its name, size, checksum, counts and mapping)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.privacy.registry import Provider, Pseudonym, Rows, Subject
from app.staff_import.models import BatchStatus, ImportBatch
from app.staff_import.reading import BadFile, read_table


def delete_file(batch: ImportBatch, now: datetime) -> None:
    """Delete a batch's file and the row messages quoting it; keep its summary."""
    batch.content = b""
    batch.issues = []
    batch.file_deleted_at = now


def lists_person(batch: ImportBatch, identifiers: tuple[str, ...]) -> bool:
    """Whether any cell of the batch's file is one of ``identifiers`` (ignoring case)."""
    wanted = {i.strip().lower() for i in identifiers if i and i.strip()}
    if not wanted:
        return False
    try:
        table = read_table(batch.content, batch.filename)
    except BadFile:
        return False
    return any(cell.strip().lower() in wanted for cells in table.rows for cell in cells)


def export(_session: Session, _subject: Subject, _now: datetime) -> dict[str, Rows]:
    """Nothing of the person's own: an HR file is the organisation's record of everyone in
    it, kept for days, not a record about one person (what the person's row said is the
    person record itself)."""
    return {}


def erase(session: Session, subject: Subject, _pseudonym: Pseudonym) -> dict[str, int]:
    """Delete the files of finished imports that list the person (by employee number or
    email). A file still being mapped is left to its admin and to the retention rule."""
    batches = session.scalars(
        select(ImportBatch).where(
            ImportBatch.file_deleted_at.is_(None), ImportBatch.status != BatchStatus.UPLOADED
        )
    )
    now = utcnow()
    deleted = 0
    for batch in list(batches):
        if lists_person(batch, subject.identifiers):
            delete_file(batch, now)
            deleted += 1
    return {"staff import files listing the person": deleted}


PROVIDER = Provider(
    name="staff_import",
    owned={},
    actions={
        ("import_batches", "uploaded_by_id"): "staff import files you uploaded",
        ("import_batches", "applied_by_id"): "staff imports you applied",
        ("import_mappings", "updated_by_id"): "staff import mappings you saved",
    },
    kinds={},
    export=export,
    erase=erase,
    erasure_text="The files of finished staff imports that list the person are deleted "
    "(their summaries stay).",
)
