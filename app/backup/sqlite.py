"""SQLite: the online backup API, both ways.

A backup reads one consistent snapshot of the live database while the site keeps writing
(WAL mode: readers never block the writer), into a new file that is checked with
``PRAGMA integrity_check`` and switched to a rollback journal, so that it is one
self-contained file. A restore copies a checked backup over the live database through the
same API, which takes the database's write lock for the copy: other connections see the old
database or the new one, never a mixture.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from app.backup.common import BackupError, Summary, partial_name

#: How long a restore waits for the site's writers to let go of the database.
BUSY_TIMEOUT_SECONDS = 30


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)


def summary(path: Path) -> Summary:
    """Tables, people and schema revision of a database file."""
    if not path.is_file():
        return Summary(tables=0, people=None, revision=None)
    with closing(_connect(path)) as conn:
        names = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        people = (
            conn.execute("SELECT count(*) FROM people").fetchone()[0] if "people" in names else None
        )
        revision = (
            conn.execute("SELECT version_num FROM alembic_version").fetchone()
            if "alembic_version" in names
            else None
        )
    stat = path.stat()
    return Summary(
        tables=len(names),
        people=people,
        revision=revision[0] if revision else None,
        size=stat.st_size,
        taken_at=datetime.fromtimestamp(stat.st_mtime, UTC),
    )


def check(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database of this application."""
    try:
        with closing(_connect(path)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite database ({error}).") from error
    if result != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {result}")
    if "alembic_version" not in tables or "people" not in tables:
        raise BackupError(f"{path} is not a PMO Pathways database (no schema revision).")


def backup(database: Path, target: Path) -> None:
    """Copy the live database at ``database`` to ``target`` (safe while the site serves)."""
    if not database.is_file():
        raise BackupError(f"There is no database at {database}.")
    partial = partial_name(target)
    try:
        with closing(_connect(database)) as source, closing(_connect(partial)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        check(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def restore(source: Path, database: Path) -> None:
    """Replace the database at ``database`` with the backup ``source`` (checked first)."""
    check(source)
    with closing(_connect(source)) as backup_copy, closing(_connect(database)) as live:
        backup_copy.backup(live)
