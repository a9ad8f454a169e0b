"""Backups: `flask backup PATH` and `flask restore PATH`.

SQLite is copied through its online backup API (``sqlite3.Connection.backup``), which is
safe while the site serves: in WAL mode the copy reads one consistent snapshot and writers
carry on. PostgreSQL is dumped with ``pg_dump -Fc`` and restored with ``pg_restore`` piped
into ``psql`` in one transaction, so that a restore either replaces the whole database or
changes nothing. No domain package is imported: a backup is of the database, whatever it
holds.
"""

from app.backup.common import BackupError, Summary

__all__ = ["BackupError", "Summary"]
