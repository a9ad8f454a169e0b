"""`flask backup PATH` and `flask restore PATH --yes`, for the configured database."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import click
from flask import current_app
from sqlalchemy.engine import make_url

from app import clock
from app.backup import postgres, sqlite
from app.backup.common import BackupError, Summary, destination
from app.extensions import db


def _database() -> tuple[str, str]:
    """The configured database: (its kind, its URL)."""
    url = str(current_app.config["SQLALCHEMY_DATABASE_URI"])
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups are made of SQLite and PostgreSQL databases, not {backend}.")
    return backend, url


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise BackupError("The configured SQLite database is in memory: there is no file.")
    return Path(name)


def _fail(error: BackupError) -> None:
    click.echo(f"Error: {error}", err=True)
    sys.exit(1)


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, overwrite: bool) -> None:
    """Back up the database to PATH (a file, or a folder for a dated file in it).

    Safe while the site serves: SQLite through its online backup API, PostgreSQL through
    pg_dump (custom format, for pg_restore)."""
    try:
        backend, url = _database()
        suffix = ".sqlite3" if backend == "sqlite" else ".dump"
        target = destination(path, suffix, clock.now())
        if target.exists() and not overwrite:
            raise BackupError(f"{target} exists; give another name, or --overwrite.")
        if not target.parent.is_dir():
            raise BackupError(f"There is no folder {target.parent}.")
        started = time.perf_counter()
        if backend == "sqlite":
            sqlite.backup(_sqlite_file(url), target)
        else:
            postgres.backup(url, target)
    except BackupError as error:
        _fail(error)
        return
    elapsed = time.perf_counter() - started
    size = target.stat().st_size
    check = "integrity check ok" if backend == "sqlite" else "archive reads back"
    click.echo(
        f"Backed up {_shown(url)} to {target}: {size / 1_048_576:,.1f} MB in "
        f"{elapsed:.1f} s ({check})."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database (without it: say what).")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the configured database with the backup at PATH.

    Stop the site first. Without --yes, says what would be replaced and changes nothing."""
    try:
        backend, url = _database()
        if backend == "sqlite":
            sqlite.check(path)
            current, incoming = sqlite.summary(_sqlite_file(url)), sqlite.summary(path)
            current = replace(current, taken_at=None)  # a live file's time says nothing
        else:
            current = postgres.summary(url)
            incoming = postgres.archive_summary(path, 0)
    except BackupError as error:
        _fail(error)
        return
    _describe(url, path, current, incoming)
    if not yes:
        click.echo("Nothing was changed. Stop the site, then run again with --yes to restore.")
        sys.exit(1)
    db.session.remove()
    db.engine.dispose()  # no pooled connection of ours holds the old database
    started = time.perf_counter()
    try:
        if backend == "sqlite":
            sqlite.restore(path, _sqlite_file(url))
        else:
            postgres.restore(path, url)
    except BackupError as error:
        _fail(error)
        return
    click.echo(
        f"Restored {path} into {_shown(url)} in {time.perf_counter() - started:.1f} s. "
        "Run `flask db upgrade` if the backup is of an older version, then start the site."
    )


def _describe(url: str, path: Path, current: Summary, incoming: Summary) -> None:
    click.echo(f"This replaces everything in {_shown(url)}")
    click.echo(f"  now:    {current.describe()}")
    click.echo(f"with the backup {path}")
    click.echo(f"  backup: {incoming.describe()}")
