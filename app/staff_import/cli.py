"""`flask import people FILE`: a staff import from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn, cast

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import User
from app.db import immediate_transactions
from app.errors import DomainError
from app.extensions import db

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)

import_cli = AppGroup("import", help="Import staff from an HR export (CSV or XLSX).")


#: Exit codes: applied (or a clean dry run); nothing applied because of row errors;
#: a bad file, mapping or arguments.
EXIT_APPLIED, EXIT_ROW_ERRORS, EXIT_BAD_INPUT = 0, 1, 2


@import_cli.command("people")
@click.argument("file", type=FILE)
@click.option(
    "--full-sync", is_flag=True, help="Deactivate active people who are missing from the file."
)
@click.option(
    "--skip-errors",
    is_flag=True,
    help="Apply the valid rows and skip the rows in error (else nothing is written).",
)
@click.option("--dry-run", is_flag=True, help="Preview only: print the counts, write nothing.")
@click.option(
    "--mapping",
    "mapping_file",
    type=FILE,
    help="A mapping as the import pages save and download it (mapping.json).",
)
@click.option(
    "--as",
    "as_email",
    metavar="EMAIL",
    help="Admin account recorded as the uploader (default: the first active admin).",
)
def import_people(
    file: Path,
    full_sync: bool,
    skip_errors: bool,
    dry_run: bool,
    mapping_file: Path | None,
    as_email: str | None,
):
    """Import people from FILE with --mapping, else the mapping saved for its columns, else
    the suggested one.

    Exit codes: 0 applied (or a dry run without errors); 1 nothing applied because rows are in
    error (all of them, or any without --skip-errors); 2 a bad file, mapping or arguments.
    Nothing is written unless the import is applied.
    """
    with immediate_transactions():  # SQLite: the plan and its writes in one write lock
        _import(file, full_sync, skip_errors, dry_run, mapping_file, as_email)


def _import(
    file: Path,
    full_sync: bool,
    skip_errors: bool,
    dry_run: bool,
    mapping_file: Path | None,
    as_email: str | None,
) -> None:

    from app.staff_import import services
    from app.staff_import.queries import admin_account

    # No other import is applied between the preview printed below and this one's apply.
    services.one_import_at_a_time(_session())
    admin = admin_account(_session(), as_email)
    if admin is None:
        _stop(
            f"No active admin account {as_email}."
            if as_email
            else "No active admin account to record the import under; create one first.",
            EXIT_BAD_INPUT,
        )
    batch, plan, source = _prepare(file, mapping_file, full_sync, admin)
    _print_plan(file.name, source, batch.mapping, plan)
    if plan.errors and not skip_errors:
        _stop(
            f"{plan.error_rows} row(s) have errors; nothing was written. Fix the file, or run "
            "again with --skip-errors to apply the valid rows.",
            EXIT_ROW_ERRORS,
        )
    if plan.errors and not plan.candidates:
        _stop("Every row has errors; nothing was applied or recorded.", EXIT_ROW_ERRORS)
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    try:
        # Same transaction as the preview printed above, so its plan is still true.
        services.apply(
            _session(),
            batch,
            skip_errors=skip_errors,
            actor_person_id=admin.person_id,
            today=clock.today(),
            plan=plan,
        )
    except DomainError as exc:
        _stop(f"{file.name}: {exc.message} Nothing was written.", EXIT_ROW_ERRORS)
    db.session.commit()
    click.echo(f"Applied as import #{batch.id} with {source}, recorded under {admin.email}.")


def _prepare(file: Path, mapping_file: Path | None, full_sync: bool, admin: User):
    """Upload the file, save the mapping to use and build the plan; return the batch, the
    plan and, in words, which mapping was used. Stops with exit code 2 on a bad file."""

    from app.staff_import import services
    from app.staff_import.reading import BadFile

    try:
        given = services.read_mapping_file(mapping_file.read_bytes()) if mapping_file else None
        batch = services.upload(
            _session(), data=file.read_bytes(), filename=file.name, actor_id=admin.id, source="cli"
        )
        proposal = services.mapping_for(_session(), batch)
        columns, value_maps = given or (proposal.columns, proposal.value_maps)
        services.save_mapping(
            _session(),
            batch=batch,
            columns=columns,
            value_maps=value_maps,
            full_sync=full_sync,
            actor_id=admin.id,
        )
        plan = services.preview(
            _session(), batch, actor_person_id=admin.person_id, today=clock.today()
        )
    except BadFile as exc:
        _stop(f"{file.name}: {exc} Nothing was written.", EXIT_BAD_INPUT)
    except DomainError as exc:
        _stop(
            f"{file.name}: {exc.message} Map this file once under Administration › Staff "
            "import (the command reuses the mapping saved there), or give --mapping "
            "mapping.json. Nothing was written.",
            EXIT_BAD_INPUT,
        )
    if mapping_file:
        source = f"the mapping in {mapping_file.name}"
    elif proposal.saved:
        source = "the mapping saved for these columns"
    else:
        source = "the suggested mapping"
    return batch, plan, source


def _session() -> Session:
    """The app's session, typed as the plain Session the use-cases take."""
    return cast(Session, db.session)


def _stop(message: str, code: int) -> NoReturn:
    db.session.rollback()
    click.echo(message, err=True)
    sys.exit(code)


def _print_plan(filename: str, source: str, columns: dict[str, str], plan) -> None:
    from app.staff_import.mapping import FIELD_BY_KEY

    c = plan.counts()
    click.echo(f"{filename}: {c['rows']} row(s), read with {source}:")
    for key, header in columns.items():
        click.echo(f"  {FIELD_BY_KEY[key].label:<32} <- {header}")
    click.echo(
        f"To create: {c['create']}  update: {c['update']}  unchanged: {c['unchanged']}  "
        f"deactivate: {c['deactivate']}  rows in error: {c['error_rows']}  "
        f"warnings: {c['warnings']}  leavers: {c['leavers']}"
    )
    if plan.new_units:
        click.echo("New org units: " + ", ".join(plan.new_units))
    for issue in plan.issues:
        kind = "error" if issue.error else "warning"
        click.echo(f"  row {issue.row}, column {issue.column!r}: {kind}: {issue.message}")
