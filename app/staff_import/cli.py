"""`flask import people FILE`: a staff import from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.errors import DomainError
from app.extensions import db

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)

import_cli = AppGroup("import", help="Import staff from an HR export (CSV or XLSX).")


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
    "--as",
    "as_email",
    metavar="EMAIL",
    help="Admin account recorded as the uploader (default: the first active admin).",
)
def import_people(
    file: Path, full_sync: bool, skip_errors: bool, dry_run: bool, as_email: str | None
):
    """Import people from FILE with the mapping saved for its columns (else the suggested one).

    Exits 1, writing nothing, when the file cannot be read or mapped, or has rows in error
    and --skip-errors is not given. --dry-run exits the same way and never writes.
    """
    from datetime import date

    from app.staff_import import services
    from app.staff_import.queries import admin_account
    from app.staff_import.reading import BadFile

    admin = admin_account(db.session, as_email)
    if admin is None:
        _stop(
            f"No active admin account {as_email}."
            if as_email
            else "No active admin account to record the import under; create one first."
        )
    try:
        batch = services.upload(
            db.session, data=file.read_bytes(), filename=file.name, actor_id=admin.id, source="cli"
        )
        proposal = services.mapping_for(db.session, batch)
        services.save_mapping(
            db.session,
            batch=batch,
            columns=proposal.columns,
            value_maps=proposal.value_maps,
            full_sync=full_sync,
            actor_id=admin.id,
        )
        plan = services.preview(
            db.session, batch, actor_person_id=admin.person_id, today=date.today()
        )
    except BadFile as exc:
        _stop(f"{file.name}: {exc} Nothing was written.")
    except DomainError as exc:
        _stop(
            f"{file.name}: {exc.message} Map this file once under Administration › Staff "
            "import; the command reuses the mapping saved there. Nothing was written."
        )
    _print_plan(file.name, proposal.saved, batch.mapping, plan)
    if plan.errors and not skip_errors:
        _stop(
            f"{plan.error_rows} row(s) have errors; nothing was written. Fix the file, or run "
            "again with --skip-errors to apply the valid rows."
        )
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    # Same transaction as the preview printed above, so its plan is still true.
    services.apply(
        db.session,
        batch,
        skip_errors=skip_errors,
        actor_person_id=admin.person_id,
        today=date.today(),
        plan=plan,
    )
    db.session.commit()
    click.echo(f"Applied as import #{batch.id}, recorded under {admin.email}.")


def _stop(message: str) -> None:
    db.session.rollback()
    click.echo(message, err=True)
    sys.exit(1)


def _print_plan(filename: str, saved: bool, columns: dict[str, str], plan) -> None:
    from app.staff_import.mapping import FIELD_BY_KEY

    c = plan.counts()
    source = "the mapping saved for these columns" if saved else "the suggested mapping"
    click.echo(f"{filename}: {c['rows']} row(s), read with {source}:")
    for key, header in columns.items():
        click.echo(f"  {FIELD_BY_KEY[key].label:<32} <- {header}")
    click.echo(
        f"To create: {c['create']}  update: {c['update']}  unchanged: {c['unchanged']}  "
        f"deactivate: {c['deactivate']}  rows in error: {c['error_rows']}  "
        f"warnings: {c['warnings']}"
    )
    if plan.new_units:
        click.echo("New org units: " + ", ".join(plan.new_units))
    for issue in plan.issues:
        kind = "error" if issue.error else "warning"
        click.echo(f"  row {issue.row}, column {issue.column!r}: {kind}: {issue.message}")
