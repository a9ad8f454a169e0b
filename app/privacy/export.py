"""A person's download: everything the providers hold about them, as one JSON document or
as a zip of CSV files (one per kind) with their uploaded files."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.capture import record
from app.errors import DomainError
from app.extensions import Model
from app.org.models import Person
from app.privacy.providers import PROVIDERS
from app.privacy.registry import ExportFile, Provider, Rows, Subject, activity
from app.staff_import.services import safe_cell

FORMAT = "PMO Pathways personal data"
FORMAT_VERSION = 1
ACTIVITY = "activity"
#: A kind's name where its key, spelt out, would not read well.
LABELS = {"cpd": "CPD", "audit_events": "Audit trail", "activity": "What you did"}
ACTIVITY_TEXT = (
    "How many records of other kinds name you as the one who did something (recorded, "
    "decided, published, reviewed) or as a line manager or unit head"
)


@dataclass(frozen=True)
class Download:
    person_id: int
    generated_at: datetime
    #: kind -> rows, in the providers' order
    data: dict[str, Rows]
    #: kind -> what it holds
    descriptions: dict[str, str]
    files: list[ExportFile]

    def counts(self) -> list[tuple[str, str, str, int]]:
        """(kind, its name, what it holds, number of records) for every kind, empty too."""
        return [
            (k, LABELS.get(k, k.replace("_", " ").capitalize()), self.descriptions[k], len(rows))
            for k, rows in self.data.items()
        ]

    @property
    def stem(self) -> str:
        return f"pmo-pathways-personal-data-{self.person_id}-{self.generated_at:%Y-%m-%d}"


def subject_of(session: Session, person_id: int) -> Subject:
    """The person, their account, and the identifiers their records hold now."""
    person = session.get(Person, person_id)
    if person is None:
        raise DomainError("There is no such person.")
    user = session.scalar(select(User).where(User.person_id == person_id))
    identifiers = (person.employee_number, person.email or "", user.email if user else "")
    return Subject(
        person_id=person.id,
        user_id=user.id if user else None,
        identifiers=tuple(dict.fromkeys(i for i in identifiers if i)),
    )


def gather(
    session: Session,
    person_id: int,
    *,
    now: datetime,
    upload_folder: str | Path,
    providers: tuple[Provider, ...] = PROVIDERS,
) -> Download:
    """Everything held about the person, from every provider."""
    subject = subject_of(session, person_id)
    data: dict[str, Rows] = {}
    descriptions: dict[str, str] = {}
    files: list[ExportFile] = []
    for provider in providers:
        exported = provider.export(session, subject, now)
        for kind, text in provider.kinds.items():
            data[kind] = exported.get(kind, [])
            descriptions[kind] = text
        files += provider.files(session, subject, Path(upload_folder))
    data[ACTIVITY] = activity(session, subject, providers, Model.metadata)
    descriptions[ACTIVITY] = ACTIVITY_TEXT
    return Download(person_id, now, data, descriptions, files)


def note_download(session: Session, download: Download, fmt: str, *, by_admin: bool) -> None:
    """Put the download on the audit trail (who, whose, which format; never its content)."""
    record(
        session,
        "export",
        table="people",
        record_id=download.person_id,
        person_id=download.person_id,
        detail={
            "what": "personal data download",
            "format": fmt,
            "by": "administrator" if by_admin else "the person",
            "records": sum(len(rows) for rows in download.data.values()),
        },
    )


def as_json(download: Download) -> bytes:
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": download.generated_at.isoformat(),
        "person_id": download.person_id,
        "kinds": download.descriptions,
        "data": download.data,
        "files_in_zip_download": [f.name for f in download.files],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return safe_cell(value)


def csv_of(rows: Rows) -> str:
    """Rows as CSV: one column per key (in the order first met); nested values as JSON;
    cells that a spreadsheet would read as a formula neutralised."""
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(columns))
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return out.getvalue()


def _readme(download: Download) -> str:
    lines = [
        f"{FORMAT}, generated {download.generated_at:%d %b %Y %H:%M} UTC.",
        "",
        "One CSV file per kind of record (a kind with no records has no file):",
        "",
    ]
    for kind, _label, text, count in download.counts():
        held = f"{count} record{'s' if count != 1 else ''}" if count else "nothing held"
        lines.append(f"{kind}.csv: {text} ({held}).")
    if download.files:
        lines += ["", "files/: the files you uploaded, named as in external_certificates.csv."]
    return "\n".join(lines) + "\n"


def as_zip(download: Download) -> bytes:
    """The zip: README.txt, one CSV per kind that holds records, and the uploaded files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(download))
        for kind, rows in download.data.items():
            if rows:
                # with a byte-order mark, so that a spreadsheet reads it as UTF-8
                archive.writestr(f"{kind}.csv", "\ufeff" + csv_of(rows))
        for stored in download.files:
            archive.write(stored.path, stored.name)
    return buffer.getvalue()
