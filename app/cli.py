"""Command-line commands: content loading, the demo organisation and staff imports."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.content.files import ContentInvalid
from app.content.roles import load_roles
from app.errors import DomainError
from app.extensions import db

content_cli = AppGroup("content", help="Check and load the shipped content (curricula/).")
demo_cli = AppGroup("demo", help="The demo organisation.")


def curricula_dir() -> Path:
    return Path(current_app.root_path).parent / "curricula"


def content_root() -> Path:
    return curricula_dir().parent


def _fail(errors) -> None:
    db.session.rollback()
    for error in errors:
        click.echo(str(error), err=True)
    click.echo(f"{len(errors)} error(s); nothing was loaded.", err=True)
    sys.exit(1)


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@content_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def content_check(paths: tuple[Path, ...]):
    """Check content files (default: everything under curricula/ and assessments/)."""
    from app.content.checks import check_files, content_files

    root = content_root()
    files = content_files(*[p for p in paths if p.is_dir()]) + [p for p in paths if p.is_file()] \
        if paths else content_files(root / "curricula", root / "assessments")
    errors = check_files(files, root)
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        click.echo(f"{len(errors)} error(s) in {len(files)} file(s).", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} content file(s) checked: no errors.")


@content_cli.command("load")
@click.option("--roles", "roles_file", type=FILE, help="Role catalogue (curricula/roles.yaml).")
@click.option("--framework", "framework_file", type=FILE,
              help="Competency framework (curricula/framework.yaml).")
@click.option("--profiles", "profiles_file", type=FILE,
              help="Role profiles (curricula/role-profiles.yaml).")
def content_load(roles_file: Path | None, framework_file: Path | None,
                 profiles_file: Path | None):
    """Load the role catalogue, framework and role profiles; loading twice changes nothing."""
    from app.content.framework import load_framework

    roles_path = roles_file or curricula_dir() / "roles.yaml"
    framework_path = framework_file or curricula_dir() / "framework.yaml"
    profiles_path = profiles_file or curricula_dir() / "role-profiles.yaml"
    try:
        roles = load_roles(db.session, roles_path)
        framework = None
        if framework_path.exists() and profiles_path.exists():
            framework = load_framework(db.session, framework_path, profiles_path)
    except ContentInvalid as exc:
        _fail(exc.errors)
    db.session.commit()
    click.echo(f"Role catalogue ({roles_path.name}): {roles.summary()}.")
    for label, codes in (("created", roles.created), ("updated", roles.updated)):
        if codes:
            click.echo(f"  {label}: {', '.join(codes)}")
    if framework:
        click.echo(f"Competency framework ({framework_path.name}): {framework.summary()}.")


@content_cli.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder to write framework.yaml and role-profiles.yaml to.")
@click.option("--framework", "code", default="PMO-CF", show_default=True)
def content_export(out_dir: Path, code: str):
    """Write the published framework and its role profiles back to content files."""
    from app.content.framework import content_of, export_documents, published_version

    version = published_version(db.session, code)
    if version is None:
        click.echo(f"No published version of framework {code}.", err=True)
        sys.exit(1)
    framework_text, profiles_text = export_documents(content_of(db.session, version))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "framework.yaml").write_text(framework_text, encoding="utf-8")
    (out_dir / "role-profiles.yaml").write_text(profiles_text, encoding="utf-8")
    click.echo(f"Exported {code} version {version.number} to {out_dir}.")


@demo_cli.command("build")
@click.option("--people", default=300, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--reset", is_flag=True, help="Replace an existing organisation.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if people exist.")
def demo_build(people: int, seed: int, reset: bool, if_empty: bool):
    """Build the demo organisation and print one login per permission."""
    from app.org.demo import build_demo, clear_organisation, organisation_exists

    if if_empty and organisation_exists(db.session):
        click.echo("Demo organisation already present; leaving it as it is.")
        return
    started = time.perf_counter()
    try:
        if reset:
            clear_organisation(db.session)
        report = build_demo(db.session, people=people, seed=seed)
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    db.session.commit()
    elapsed = time.perf_counter() - started
    click.echo(f"Built Harbourside Group in {elapsed:.1f} s: {report.people} people, "
               f"{report.org_units} org units, {report.offices} offices, "
               f"{report.assignments} role assignments, {report.evidence} evidence records, "
               f"{report.pending} self-ratings awaiting validation, {report.calibrations} open "
               "calibrations.")
    click.echo(f"Demo logins (password for all: {report.password}):")
    for login in report.logins:
        click.echo(f"  {login.permissions:<18} {login.name:<18} {login.email}")


import_cli = AppGroup("import", help="Import staff from an HR export (CSV or XLSX).")


@import_cli.command("people")
@click.argument("file", type=FILE)
@click.option("--full-sync", is_flag=True,
              help="Deactivate active people who are missing from the file.")
@click.option("--skip-errors", is_flag=True,
              help="Apply the valid rows and skip the rows in error (else nothing is written).")
@click.option("--dry-run", is_flag=True, help="Preview only: print the counts, write nothing.")
@click.option("--as", "as_email", metavar="EMAIL",
              help="Admin account recorded as the uploader (default: the first active admin).")
def import_people(file: Path, full_sync: bool, skip_errors: bool, dry_run: bool,
                  as_email: str | None):
    """Import people from FILE with the mapping saved for its columns (else the suggested one).

    Exits 1, writing nothing, when the file cannot be read or mapped, or has rows in error
    and --skip-errors is not given. --dry-run exits the same way and never writes.
    """
    from datetime import date

    from app.imports import services
    from app.imports.queries import admin_account
    from app.imports.reading import BadFile

    admin = admin_account(db.session, as_email)
    if admin is None:
        _stop(f"No active admin account {as_email}." if as_email
              else "No active admin account to record the import under; create one first.")
    try:
        batch = services.upload(db.session, data=file.read_bytes(), filename=file.name,
                                actor_id=admin.id, source="cli")
        proposal = services.mapping_for(db.session, batch)
        services.save_mapping(db.session, batch=batch, columns=proposal.columns,
                              value_maps=proposal.value_maps, full_sync=full_sync,
                              actor_id=admin.id)
        plan = services.preview(db.session, batch, actor_person_id=admin.person_id,
                                today=date.today())
    except BadFile as exc:
        _stop(f"{file.name}: {exc} Nothing was written.")
    except DomainError as exc:
        _stop(f"{file.name}: {exc.message} Map this file once under Administration › Staff "
              "import; the command reuses the mapping saved there. Nothing was written.")
    _print_plan(file.name, proposal.saved, batch.mapping, plan)
    if plan.errors and not skip_errors:
        _stop(f"{plan.error_rows} row(s) have errors; nothing was written. Fix the file, or run "
              "again with --skip-errors to apply the valid rows.")
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    # Same transaction as the preview printed above, so its plan is still true.
    services.apply(db.session, batch, skip_errors=skip_errors, actor_person_id=admin.person_id,
                   today=date.today(), plan=plan)
    db.session.commit()
    click.echo(f"Applied as import #{batch.id}, recorded under {admin.email}.")


def _stop(message: str) -> None:
    db.session.rollback()
    click.echo(message, err=True)
    sys.exit(1)


def _print_plan(filename: str, saved: bool, columns: dict[str, str], plan) -> None:
    from app.imports.mapping import FIELD_BY_KEY

    c = plan.counts()
    source = "the mapping saved for these columns" if saved else "the suggested mapping"
    click.echo(f"{filename}: {c['rows']} row(s), read with {source}:")
    for key, header in columns.items():
        click.echo(f"  {FIELD_BY_KEY[key].label:<32} <- {header}")
    click.echo(f"To create: {c['create']}  update: {c['update']}  unchanged: {c['unchanged']}  "
               f"deactivate: {c['deactivate']}  rows in error: {c['error_rows']}  "
               f"warnings: {c['warnings']}")
    if plan.new_units:
        click.echo("New org units: " + ", ".join(plan.new_units))
    for issue in plan.issues:
        kind = "error" if issue.error else "warning"
        click.echo(f"  row {issue.row}, column {issue.column!r}: {kind}: {issue.message}")


def register(app: Flask) -> None:
    app.cli.add_command(content_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(import_cli)
