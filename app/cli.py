"""Command-line commands: content loading and the demo organisation."""

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


@content_cli.command("load")
@click.option("--roles", "roles_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Role catalogue file (default: curricula/roles.yaml).")
def content_load(roles_file: Path | None):
    """Load the role catalogue; loading twice changes nothing."""
    path = roles_file or curricula_dir() / "roles.yaml"
    try:
        report = load_roles(db.session, path)
    except ContentInvalid as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(str(error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Role catalogue ({path.name}): {report.summary()}.")
    for label, codes in (("created", report.created), ("updated", report.updated)):
        if codes:
            click.echo(f"  {label}: {', '.join(codes)}")


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
               f"{report.assignments} role assignments.")
    click.echo(f"Demo logins (password for all: {report.password}):")
    for login in report.logins:
        click.echo(f"  {login.permissions:<18} {login.name:<18} {login.email}")


def register(app: Flask) -> None:
    app.cli.add_command(content_cli)
    app.cli.add_command(demo_cli)
