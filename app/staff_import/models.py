"""Staff imports: each uploaded file (a batch, kept with its mapping and outcome) and the
saved column and value mappings, reused for the next file of the same shape."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import enum_column, utcnow
from app.extensions import Model


class BatchStatus(StrEnum):
    UPLOADED = "uploaded"
    APPLIED = "applied"
    DISCARDED = "discarded"
    FAILED = "failed"


class ImportBatch(Model):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The name the file had on the admin's computer: shown, never used as a path.
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    #: The file itself, kept in the database so any app node can preview or apply it.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    shape_key: Mapped[str] = mapped_column(String(32), index=True)
    headers: Mapped[list] = mapped_column(JSON, default=list)
    encoding: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[BatchStatus] = mapped_column(
        enum_column(BatchStatus, "batch_status"), index=True
    )
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    value_maps: Mapped[dict] = mapped_column(JSON, default=dict)
    full_sync: Mapped[bool] = mapped_column(default=False)
    skip_errors: Mapped[bool] = mapped_column(default=False)
    #: Outcome counts (create, update, unchanged, deactivate, error_rows, …).
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Row errors and warnings at apply time: [[row, column, "error"|"warning", message]].
    issues: Mapped[list] = mapped_column(JSON, default=list)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    #: Who applied it (set with the status, by the conditional UPDATE that claims the batch).
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16), default="web")  # web | cli
    #: When the retention rule (app/privacy) deleted the file and the row messages quoting
    #: it; the batch's summary (name, size, counts, mapping) stays.
    file_deleted_at: Mapped[datetime | None]

    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])


class ImportMapping(Model):
    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    shape_key: Mapped[str] = mapped_column(String(32), unique=True)
    headers: Mapped[list] = mapped_column(JSON, default=list)
    #: {field key: column header}
    columns: Mapped[dict] = mapped_column(JSON, default=dict)
    #: {"job_title": {title (lower): role code | ""},
    #:  "org_unit": {name (lower): code | "__create__" | ""}}
    value_maps: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
