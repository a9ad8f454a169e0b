"""Use-cases for staff imports: upload, mapping, preview, apply, history.

Flow: upload() stores the file as a batch; mapping_for() proposes column and value
mappings (a saved mapping for the same shape of file first, else suggestions); preview()
builds the plan without writing; apply() writes it in the caller's transaction and records
the outcome on the batch. Nothing here commits.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.org.models import OrgUnit, Role
from app.staff_import.apply import apply_plan
from app.staff_import.mapping import (
    FIELD_KEYS,
    clean,
    mapping_problems,
    normalise_header,
    shape_key,
    suggest_mapping,
)
from app.staff_import.models import BatchStatus, ImportBatch, ImportMapping
from app.staff_import.plan import CREATE, IGNORE, Options, Plan, build_plan
from app.staff_import.reading import BadFile, Table, read_table


def upload(
    session: Session, *, data: bytes, filename: str, actor_id: int, source: str = "web"
) -> ImportBatch:
    """Read the file (raising BadFile with one clear message) and keep it as a batch."""
    table = read_table(data, filename)
    suggested = suggest_mapping(table.headers)
    if not suggested:
        raise BadFile(
            "None of the columns could be recognised ("
            + ", ".join(table.headers[:8])
            + "). A staff file needs at least an employee number and names, e.g. "
            "Employee Number, First Name, Last Name."
        )
    batch = ImportBatch(
        filename=(filename or "upload")[-255:],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=data,
        shape_key=shape_key(table.headers),
        headers=table.headers,
        encoding=table.encoding,
        status=BatchStatus.UPLOADED,
        uploaded_by_id=actor_id,
        source=source,
    )
    session.add(batch)
    session.flush()
    return batch


def table_of(batch: ImportBatch) -> Table:
    return read_table(batch.content, batch.filename)


@dataclass
class MappingProposal:
    columns: dict[str, str]  # field -> header
    value_maps: dict[str, dict[str, str]]
    titles: list[str]  # distinct job titles in the file (as written)
    departments: list[str]
    saved: bool  # True when taken from a saved mapping
    #: header -> the first value in that column, to show the admin what a column holds
    samples: dict[str, str] = field(default_factory=dict)


def _distinct(table: Table, header: str | None) -> list[str]:
    if not header or header not in table.headers:
        return []
    i = table.headers.index(header)
    seen: dict[str, str] = {}
    for row in table.rows:
        value = clean(row[i])
        if value:
            seen.setdefault(value.lower(), value)
    return sorted(seen.values(), key=str.lower)


def _suggest_values(
    session: Session, titles: list[str], departments: list[str], saved: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    roles = session.execute(select(Role.code, Role.name).where(Role.active.is_(True))).all()
    units = session.execute(
        select(OrgUnit.code, OrgUnit.name).where(OrgUnit.active.is_(True))
    ).all()
    role_by_name: dict[str, str] = {}
    for code, name in roles:
        role_by_name[normalise_header(name)] = code
        for part in name.split("/"):
            role_by_name.setdefault(normalise_header(part), code)
    unit_by_name = {normalise_header(name): code for code, name in units} | {
        normalise_header(code): code for code, _ in units
    }
    maps: dict[str, dict[str, str]] = {"job_title": {}, "org_unit": {}}
    for title in titles:
        key = title.lower()
        maps["job_title"][key] = saved.get("job_title", {}).get(
            key, role_by_name.get(normalise_header(title), IGNORE)
        )
    for dept in departments:
        key = dept.lower()
        chosen = saved.get("org_unit", {}).get(key, CREATE)
        if chosen == CREATE:  # a unit an earlier import created is proposed, not a second one
            chosen = unit_by_name.get(normalise_header(dept), CREATE)
        maps["org_unit"][key] = chosen
    return maps


def mapping_for(session: Session, batch: ImportBatch) -> MappingProposal:
    table = table_of(batch)
    saved = session.scalar(select(ImportMapping).where(ImportMapping.shape_key == batch.shape_key))
    columns = batch.mapping or (saved.columns if saved else suggest_mapping(table.headers))
    # A saved mapping names the headers as the first file spelled them; this file has the
    # same shape but may differ in case and spacing.
    header_of = {normalise_header(h): h for h in table.headers}
    columns = {
        k: header_of[normalise_header(v)]
        for k, v in columns.items()
        if k in FIELD_KEYS and normalise_header(v) in header_of
    }
    titles = _distinct(table, columns.get("job_title"))
    departments = _distinct(table, columns.get("org_unit"))
    base = batch.value_maps or (saved.value_maps if saved else {})
    samples = {
        h: next((clean(row[i]) for row in table.rows if clean(row[i])), "")
        for i, h in enumerate(table.headers)
    }
    return MappingProposal(
        columns,
        _suggest_values(session, titles, departments, base),
        titles,
        departments,
        saved is not None and not batch.mapping,
        samples,
    )


def save_mapping(
    session: Session,
    *,
    batch: ImportBatch,
    columns: dict[str, str],
    value_maps: dict[str, dict[str, str]],
    full_sync: bool,
    actor_id: int,
) -> None:
    """Record the admin's mapping on the batch and keep it for files of the same shape."""
    if batch.status != BatchStatus.UPLOADED:
        raise DomainError("This import is finished; upload the file again to import it anew.")
    columns = {k: v for k, v in columns.items() if v}
    problems = mapping_problems(columns, batch.headers)
    if problems:
        raise DomainError(" ".join(problems), field="columns")
    valid_roles = set(session.scalars(select(Role.code)))
    valid_units = set(session.scalars(select(OrgUnit.code)))
    for title, code in value_maps.get("job_title", {}).items():
        if code and code not in valid_roles:
            raise DomainError(f"Unknown role {code!r} for job title {title!r}.")
    for dept, code in value_maps.get("org_unit", {}).items():
        if code and code != CREATE and code not in valid_units:
            raise DomainError(f"Unknown org unit {code!r} for department {dept!r}.")
    batch.mapping, batch.value_maps, batch.full_sync = columns, value_maps, full_sync
    saved = session.scalar(select(ImportMapping).where(ImportMapping.shape_key == batch.shape_key))
    if saved is None:
        saved = ImportMapping(shape_key=batch.shape_key)
        session.add(saved)
    saved.headers, saved.columns, saved.value_maps = batch.headers, columns, value_maps
    saved.updated_by_id = actor_id
    session.flush()


def preview(
    session: Session, batch: ImportBatch, *, actor_person_id: int | None, today: date
) -> Plan:
    if not batch.mapping:
        raise DomainError("Map the columns first.")
    return build_plan(
        session,
        table_of(batch),
        batch.mapping,
        batch.value_maps,
        Options(full_sync=batch.full_sync, actor_person_id=actor_person_id),
        today,
    )


def apply(
    session: Session,
    batch: ImportBatch,
    *,
    skip_errors: bool,
    actor_person_id: int | None,
    today: date,
    plan: Plan | None = None,
) -> Plan:
    """Write the batch's plan. With errors and without ``skip_errors`` nothing is written.

    ``plan`` may be a preview made earlier in the same transaction (the CLI shows one before
    applying); otherwise the plan is built here against the database as it is now.
    """
    if batch.status != BatchStatus.UPLOADED:
        raise DomainError("This import has already been applied or discarded.")
    plan = plan or preview(session, batch, actor_person_id=actor_person_id, today=today)
    if plan.errors and not skip_errors:
        raise DomainError(
            f"{plan.error_rows} row(s) have errors. Fix the file, or choose to "
            "apply the valid rows and skip those."
        )
    counts = apply_plan(session, plan, today)
    batch.status = BatchStatus.APPLIED
    batch.skip_errors = skip_errors
    batch.counts = counts
    batch.issues = issue_rows(plan)
    batch.applied_at = datetime.now(UTC)
    session.flush()
    return plan


def issue_rows(plan: Plan) -> list[list]:
    """The plan's row errors and warnings as [row, column, "error"|"warning", message]."""
    return [[i.row, i.column, "error" if i.error else "warning", i.message] for i in plan.issues]


def discard(batch: ImportBatch) -> None:
    if batch.status != BatchStatus.UPLOADED:
        raise DomainError("Only an import that has not been applied can be discarded.")
    batch.status = BatchStatus.DISCARDED


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00")


def safe_cell(value) -> str:
    """Neutralise spreadsheet formulas in exported cells (CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def issues_csv(issues: list[list]) -> str:
    """The row errors and warnings as CSV (row, column, severity, message)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "severity", "message"])
    for row in issues:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


__all__ = [
    "BadFile",
    "apply",
    "discard",
    "issue_rows",
    "issues_csv",
    "mapping_for",
    "preview",
    "save_mapping",
    "upload",
]
