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
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, object_session

from app import clock
from app.accounts.models import User
from app.db import refresh_planner_statistics
from app.errors import DomainError
from app.org.models import OrgUnit, Person, Role
from app.reports.maintain import deferred
from app.staff_import.apply import apply_plan
from app.staff_import.mapping import (
    FIELD_KEYS,
    STATUS_MEANINGS,
    clean,
    date_order,
    mapping_problems,
    normalise_header,
    shape_key,
    suggest_mapping,
    suggest_status,
)
from app.staff_import.models import BatchStatus, ImportBatch, ImportMapping
from app.staff_import.plan import Options, Plan, build_plan, single_root
from app.staff_import.reading import BadFile, Table, read_table
from app.staff_import.rows import CREATE, IGNORE, TOP


def upload(
    session: Session, *, data: bytes, filename: str, actor_id: int, source: str = "web"
) -> ImportBatch:
    """Read the file (raising BadFile with one clear message) and keep it as a batch. A file
    whose columns are not recognised is kept too: the admin maps it by hand."""
    table = read_table(data, filename)
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
    #: distinct status values (as written) with their row counts
    statuses: list[tuple[str, int]] = field(default_factory=list)
    #: True when the end-date column's values cannot tell day-first from month-first
    date_order_open: bool = False
    #: what the admin should know before previewing (e.g. a manager-id column that
    #: matches almost nobody)
    notes: list[str] = field(default_factory=list)
    #: where a new unit goes unless the admin says otherwise: the one unit at the top of
    #: the tree, TOP when there is no unit at all, "" (the admin must choose) when several
    default_parent: str = ""


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


def _value_counts(table: Table, header: str | None) -> list[tuple[str, int]]:
    """Distinct values of a column (as first written, ignoring case) with their row counts."""
    if not header or header not in table.headers:
        return []
    i = table.headers.index(header)
    spelling: dict[str, str] = {}
    counts: dict[str, int] = {}
    for row in table.rows:
        value = clean(row[i])
        if value:
            spelling.setdefault(value.lower(), value)
            counts[value.lower()] = counts.get(value.lower(), 0) + 1
    return sorted(((spelling[k], n) for k, n in counts.items()), key=lambda v: v[0].lower())


def _column(table: Table, header: str | None) -> list[str]:
    if not header or header not in table.headers:
        return []
    i = table.headers.index(header)
    return [clean(row[i]) for row in table.rows]


def _manager_id_note(session: Session, table: Table, columns: dict[str, str]) -> list[str]:
    """A warning when the manager-id column matches almost no employee number in the file
    or in PMO Pathways: it is then probably another numbering."""
    ids = {v for v in _column(table, columns.get("manager_id")) if v}
    if len(ids) < 2:
        return []
    known = set(_column(table, columns.get("employee_number")))
    known |= set(
        session.scalars(select(Person.employee_number).where(Person.employee_number.in_(ids)))
    )
    matched = len(ids & known)
    if matched * 5 >= len(ids):  # a fifth or more match: a real numbering with gaps
        return []
    header = columns["manager_id"]
    advice = (
        f" Map the manager-name column ({columns['manager_name']}) too: a manager id that "
        "matches no one is then looked up by name."
        if columns.get("manager_name")
        else " Map a manager-name column instead, if the file has one."
    )
    return [
        f"Only {matched} of the {len(ids)} values in {header!r} match an employee number in "
        f"this file or in PMO Pathways; it is probably a different numbering." + advice
    ]


def _listed(headers: list[str], limit: int = 12) -> str:
    shown = ", ".join(h if len(h) <= 40 else h[:39] + "…" for h in headers[:limit])
    return shown + (f" and {len(headers) - limit} more" if len(headers) > limit else "")


def _sanity_notes(
    table: Table, columns: dict[str, str], statuses: list[tuple[str, int]], status_map: dict
) -> list[str]:
    """Warnings about a mapping that is probably wrong, shown before the preview."""
    notes = []
    rows = len(table.rows)
    if not suggest_mapping(table.headers):
        notes.append(
            "None of the columns could be recognised. Choose below which column holds what."
        )
    named = set(suggest_mapping(table.headers)) | set(columns)
    if "full_name" not in named and not {"first_name", "last_name"} <= named:
        notes.append(
            "This file has no name column. Its columns are: "
            + _listed(table.headers)
            + ". Choose the columns that hold names below, or export the file again with names."
        )
    for key in ("full_name", "last_name", "first_name"):
        values = [v for v in _column(table, columns.get(key)) if v]
        if rows >= 3 and values:
            value, n = max(_counted(values).items(), key=lambda kv: kv[1])
            if n * 3 > rows:
                notes.append(
                    f"{columns[key]!r} is probably not a name column: {n} of {rows} rows "
                    f"hold {value[:40]!r}."
                )
    leavers = sum(n for v, n in statuses if status_map.get(v.lower()) == "leaver")
    if leavers * 2 > rows:
        notes.append(
            f"The status mapping makes {leavers} of the {rows} rows leavers: they would be "
            "made inactive and lose their log-in. Check the status values below."
        )
    emails = [v for v in _column(table, columns.get("email")) if v]
    if emails and sum(1 for v in emails if "@" in v) * 2 < len(emails):
        notes.append(
            f"Most values in {columns['email']!r} are not email addresses; is it the email column?"
        )
    return notes


def _counted(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value.lower()] = counts.get(value.lower(), 0) + 1
    return counts


def _suggest_values(
    session: Session, titles: list[str], departments: list[str], saved: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    roles = session.execute(
        select(Role.code, Role.name, Role.aliases).where(Role.active.is_(True))
    ).all()
    units = session.execute(
        select(OrgUnit.code, OrgUnit.name).where(OrgUnit.active.is_(True))
    ).all()
    role_by_name: dict[str, str] = {}
    for code, name, _ in roles:
        role_by_name[normalise_header(name)] = code
        for part in name.split("/"):
            role_by_name.setdefault(normalise_header(part), code)
    for code, _, aliases in roles:  # a role's own name wins over another role's alias
        for alias in aliases or []:
            role_by_name.setdefault(normalise_header(alias), code)
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
    statuses = _value_counts(table, columns.get("status"))
    status_header = columns.get("status", "")
    saved_status = base.get("status", {})
    maps = _suggest_values(session, titles, departments, base)
    default_parent = _default_parent(session)
    saved_parents = base.get("org_unit_parent", {})
    maps["org_unit_parent"] = {
        dept.lower(): saved_parents.get(dept.lower()) or default_parent for dept in departments
    }
    maps["status"] = {
        value.lower(): saved_status.get(value.lower())
        if saved_status.get(value.lower()) in STATUS_MEANINGS
        else suggest_status(value, status_header)
        for value, _ in statuses
    }
    end_dates = [v for v in _column(table, columns.get("end_date")) if v]
    order_open = bool(end_dates) and date_order(end_dates) is None
    if order_open and base.get("end_date", {}).get("order"):
        maps["end_date"] = {"order": base["end_date"]["order"]}
    samples = {
        h: next((clean(row[i]) for row in table.rows if clean(row[i])), "")
        for i, h in enumerate(table.headers)
    }
    return MappingProposal(
        columns,
        maps,
        titles,
        departments,
        saved is not None and not batch.mapping,
        samples,
        statuses,
        order_open,
        _sanity_notes(table, columns, statuses, maps["status"])
        + _manager_id_note(session, table, columns),
        default_parent,
    )


def _default_parent(session: Session) -> str:
    """Where a new unit goes unless the admin chooses: the one top unit; the top itself when
    there are no units yet; "" (a choice is required) when the tree has several tops."""
    root = single_root(session)
    if root:
        return root
    return "" if session.scalar(select(OrgUnit.id).limit(1)) else TOP


def _check_parents(session: Session, value_maps: dict[str, dict[str, str]]) -> None:
    """Each department mapped to a new unit needs a place in the tree (the one top unit
    unless the admin chose another); the choices for other departments are dropped."""
    created = [d for d, code in value_maps.get("org_unit", {}).items() if code == CREATE]
    chosen = value_maps.get("org_unit_parent", {})
    default = _default_parent(session) if created else ""
    valid = set(session.scalars(select(OrgUnit.code))) if created else set()
    parents = {}
    for dept in created:
        parent = chosen.get(dept) or default
        if not parent:
            raise DomainError(
                f"Choose where the new org unit {dept[:60]!r} goes in the tree.",
                field=f"parent:{dept}",
            )
        if parent != TOP and parent not in valid:
            raise DomainError(
                f"Unknown org unit {parent[:40]!r} as the place of the new unit {dept[:60]!r}.",
                field=f"parent:{dept}",
            )
        parents[dept] = parent
    value_maps["org_unit_parent"] = parents


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
    for value, meaning in value_maps.get("status", {}).items():
        if meaning not in STATUS_MEANINGS:
            raise DomainError(f"Unknown meaning {meaning!r} for status {value!r}.")
    value_maps = {k: dict(v) for k, v in value_maps.items()}
    _check_parents(session, value_maps)
    batch.mapping, batch.value_maps, batch.full_sync = columns, value_maps, full_sync
    session.flush()


def _keep_mapping(session: Session, batch: ImportBatch, actor_id: int | None) -> None:
    """Keep the batch's mapping for the next file of the same shape: done when the import is
    applied, so an upload that is discarded leaves nothing behind."""
    saved = session.scalar(select(ImportMapping).where(ImportMapping.shape_key == batch.shape_key))
    if saved is None:
        saved = ImportMapping(shape_key=batch.shape_key)
        session.add(saved)
    saved.headers, saved.columns = batch.headers, batch.mapping
    saved.value_maps = batch.value_maps
    saved.updated_by_id = actor_id


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
    applying, after ``one_import_at_a_time``); otherwise the plan is built here against the
    database as it is now.

    Exactly once: the batch is claimed by a conditional UPDATE before anything is written,
    so of several simultaneous applies of one batch one writes it and the others are
    refused saying who applied it and when (DomainError). Applies of different batches run
    one after the other (``one_import_at_a_time``), each planned against what the one
    before wrote.
    """
    one_import_at_a_time(session)
    if batch.status != BatchStatus.UPLOADED or not _claim(session, batch, actor_person_id):
        raise DomainError(_closed_message(session, batch.id))
    plan = plan or preview(session, batch, actor_person_id=actor_person_id, today=today)
    if plan.errors and not skip_errors:
        raise DomainError(
            f"{plan.error_rows} row(s) have errors. Fix the file, or choose to "
            "apply the valid rows and skip those."
        )
    if plan.errors and not plan.candidates:
        raise DomainError(
            f"Every row has errors ({plan.error_rows}); nothing was applied. Fix the file or "
            "the mapping and upload it again."
        )
    # The capability spans of the people whose roles change are rewritten together, set-wise
    # in SQL, as the block ends (app.reports.maintain), not once per statement.
    with deferred(session):
        counts = apply_plan(session, plan, today)
        # Bulk changes: let the query planner (SQLite's above all) see the tables as they are
        # now.
        refresh_planner_statistics(session)
    _keep_mapping(session, batch, batch.uploaded_by_id)
    batch.status = BatchStatus.APPLIED
    batch.skip_errors = skip_errors
    batch.counts = counts
    batch.issues = issue_rows(plan)
    batch.applied_at = clock.now()
    session.flush()
    return plan


#: The PostgreSQL advisory lock that makes staff imports apply one at a time.
IMPORT_LOCK = 0x504D4F_1D


def one_import_at_a_time(session: Session) -> None:
    """Wait until no other import is being applied, and hold that until commit: two
    different files applied at once would each plan against the database without the
    other's people (the same new employee inserted twice). A transaction-scoped advisory
    lock on PostgreSQL; on SQLite the write transaction already holds the database's one
    write lock (BEGIN IMMEDIATE, app.db)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(IMPORT_LOCK)))


def _claim(session: Session, batch: ImportBatch, actor_person_id: int | None) -> bool:
    """Mark the batch applied in the database, if it is still open; False when another
    request (a second browser tab) got there first. The conditional UPDATE waits for that
    other transaction, so only one of two simultaneous applies goes ahead."""
    applied_by = (
        select(User.id).where(User.person_id == actor_person_id).scalar_subquery()
        if actor_person_id is not None
        else None
    )
    claimed = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == BatchStatus.UPLOADED)
        .values(status=BatchStatus.APPLIED, applied_by_id=applied_by)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0))


def _when(moment: datetime) -> str:
    """A time in a refusal message (UTC: the service knows no time zone)."""
    return f"{moment:%H:%M} UTC on {moment.day} {moment:%b %Y}"


def _closed_message(session: Session, batch_id: int) -> str:
    """Why a batch can no longer be applied or discarded: by whom and when, as far as known."""
    row = session.execute(
        select(ImportBatch.status, ImportBatch.applied_at, Person.first_name, Person.last_name)
        .outerjoin(User, User.id == ImportBatch.applied_by_id)
        .outerjoin(Person, Person.id == User.person_id)
        .where(ImportBatch.id == batch_id)
    ).first()
    if row is None or row.status == BatchStatus.DISCARDED:
        return "This import has already been discarded; upload the file again to import it."
    if row.status != BatchStatus.APPLIED:
        return "This import has already been applied or discarded."
    who = f" by {row.first_name} {row.last_name}" if row.first_name else ""
    when = f" at {_when(row.applied_at)}" if row.applied_at else ""
    return f"This import has already been applied{who}{when}."


def mapping_document(batch: ImportBatch) -> dict:
    """The batch's mapping as the file an admin downloads and the CLI reads (--mapping)."""
    return {
        "kind": "staff-import-mapping",
        "columns": batch.mapping,
        "value_maps": batch.value_maps,
    }


def read_mapping_file(data: bytes) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(columns, value maps) from a mapping file; BadFile with a plain message if it is not one."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFile(f"The mapping file is not JSON ({exc}).") from exc
    columns = doc.get("columns") if isinstance(doc, dict) else None
    value_maps = doc.get("value_maps", {}) if isinstance(doc, dict) else None
    ok = (
        isinstance(columns, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items())
        and isinstance(value_maps, dict)
        and all(
            isinstance(m, dict) and all(isinstance(v, str) for v in m.values())
            for m in value_maps.values()
        )
    )
    if not ok or not isinstance(columns, dict) or not isinstance(value_maps, dict):
        raise BadFile(
            'The mapping file must hold {"columns": {field: column}, "value_maps": {...}}, '
            "as the import pages download it."
        )
    unknown = sorted(set(columns) - set(FIELD_KEYS))
    if unknown:
        raise BadFile("The mapping file names unknown fields: " + ", ".join(unknown))
    return columns, value_maps


def issue_rows(plan: Plan) -> list[list]:
    """The plan's row errors and warnings as [row, column, "error"|"warning", message]."""
    return [[i.row, i.column, "error" if i.error else "warning", i.message] for i in plan.issues]


def discard(batch: ImportBatch) -> None:
    """Close an uploaded batch without applying it: a conditional UPDATE, so that a discard
    racing an apply never marks an applied batch discarded (one of the two wins; the other
    is refused)."""
    if batch.status != BatchStatus.UPLOADED:
        raise DomainError("Only an import that has not been applied can be discarded.")
    session = object_session(batch)
    assert session is not None
    moved = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == BatchStatus.UPLOADED)
        .values(status=BatchStatus.DISCARDED)
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0):
        raise DomainError(_closed_message(session, batch.id))
    session.refresh(batch, ["status"])


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
    "mapping_document",
    "mapping_for",
    "read_mapping_file",
    "preview",
    "save_mapping",
    "upload",
]
