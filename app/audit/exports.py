"""Recording a download of personal data (a CSV or XLSX export), for the views that serve
one: who, when, which export, in which format, how many rows and with which filters."""

from __future__ import annotations

from flask import request
from sqlalchemy.orm import Session

from app.audit.capture import record

#: Longest filter value kept in the record.
MAX_ARGUMENT = 64


def record_export(session: Session, *, what: str, fmt: str, rows: int | None = None) -> None:
    """Record the export the current request is serving, and commit the record: a file of
    personal data leaves only once its record is written (a failure here is an error page,
    not an unrecorded download). Call it once the file is built, just before returning it."""
    filters = {k: v[:MAX_ARGUMENT] for k, v in request.args.items() if k not in ("format",) and v}
    record(
        session,
        "export",
        detail={
            "what": what,
            "format": fmt,
            "rows": rows,
            "endpoint": request.endpoint,
            "ids": {k: v for k, v in (request.view_args or {}).items() if k != "fmt"},
            "filters": filters,
        },
    )
    session.commit()
