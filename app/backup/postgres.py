"""PostgreSQL: ``pg_dump -Fc`` for a backup; for a restore, ``pg_restore`` turns the dump
into SQL that ``psql`` runs in one transaction after dropping what the database holds, so
that the restore replaces the whole database (tables added since the backup included) or,
on any error, changes nothing.

The tools are found on PATH or in ``/usr/lib/postgresql/*/bin`` (Debian's layout), the
newest first; one older than the server is passed over, since pg_dump refuses to dump a
newer server. The password travels in the environment, never on a command line.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from app.backup.common import BackupError, Summary, partial_name

#: Run before the restored SQL: open the one transaction, and in it drop everything in the
#: public schema (tables, views, sequences, functions, types), whatever the backup holds, so
#: that nothing added since the backup survives. The lock timeout turns a site still using
#: the database into a clear failure instead of a wait without end. The COMMIT is sent only
#: once pg_restore has produced the whole dump without an error: a dump that breaks off
#: half-way ends psql's session with the transaction open, which rolls it back.
DROP_EVERYTHING = r"""
BEGIN;
SET lock_timeout = '30s';
SET client_min_messages = warning;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT viewname FROM pg_views WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP VIEW IF EXISTS public.%I CASCADE', r.viewname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT sequence_name FROM information_schema.sequences
           WHERE sequence_schema = 'public' LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS public.%I CASCADE', r.sequence_name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' LOOP
    EXECUTE 'DROP ROUTINE IF EXISTS ' || r.signature || ' CASCADE';
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c')
             AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid) LOOP
    EXECUTE format('DROP TYPE IF EXISTS public.%I CASCADE', r.typname);
  END LOOP;
END $$;
"""


def _tool_version(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    found = re.search(r"\(PostgreSQL\)\s*(\d+)", out.stdout)
    return int(found.group(1)) if found else None


def find_tool(name: str, server_major: int) -> str:
    """The newest ``name`` (pg_dump, pg_restore, psql) at least as new as the server."""
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0),
        reverse=True,
    )
    on_path = shutil.which(name)
    if on_path:
        candidates.insert(0, on_path)
    found_versions = []
    for candidate in candidates:
        version = _tool_version(candidate)
        if version is not None and version >= server_major:
            return candidate
        found_versions.append(f"{candidate} ({version})")
    raise BackupError(
        f"No {name} for PostgreSQL {server_major} or later was found on PATH or in "
        f"/usr/lib/postgresql/*/bin (found: {', '.join(found_versions) or 'none'}). Install "
        f"the PostgreSQL {server_major} client tools."
    )


def _url(database_url: str) -> URL:
    return make_url(database_url)


def environment(database_url: str) -> dict[str, str]:
    """libpq's environment for the database: host, port, user, password, name, sslmode."""
    url = _url(database_url)
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
        ("PGSSLMODE", url.query.get("sslmode")),
    ):
        if value:
            env[variable] = str(value)
    return env


def _server(database_url: str) -> tuple[int, Summary]:
    """The server's major version, and what the database holds."""
    engine = create_engine(_url(database_url))
    try:
        with engine.connect() as conn:
            major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
            tables = set(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).scalars()
            )
            people = (
                conn.execute(text("SELECT count(*) FROM people")).scalar_one()
                if "people" in tables
                else None
            )
            revision = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in tables
                else None
            )
    except Exception as error:
        raise BackupError(f"Cannot reach the database ({type(error).__name__}).") from error
    finally:
        engine.dispose()
    return major, Summary(tables=len(tables), people=people, revision=revision)


def summary(database_url: str) -> Summary:
    return _server(database_url)[1]


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def backup(database_url: str, target: Path) -> None:
    major, _ = _server(database_url)
    env = environment(database_url)
    partial = partial_name(target)
    try:
        _run(
            [
                find_tool("pg_dump", major),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={partial}",
            ],
            env,
            "pg_dump",
        )
        archive_summary(partial, major)  # the dump reads back
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def archive_summary(path: Path, server_major: int) -> Summary:
    """What a dump holds, read from its table of contents (``pg_restore --list``)."""
    listing = _run(
        [find_tool("pg_restore", server_major), "--list", str(path)],
        dict(os.environ),
        f"Reading {path} as a pg_dump archive",
    ).stdout
    tables = re.findall(r"^\d+; \d+ \d+ TABLE public (\S+) ", listing, re.MULTILINE)
    if "alembic_version" not in tables or "people" not in tables:
        raise BackupError(f"{path} is not a dump of a PMO Pathways database.")
    created = re.search(r"Archive created at (.+)$", listing, re.MULTILINE)
    taken_at = None
    if created:
        try:
            taken_at = datetime.strptime(created.group(1).strip()[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            taken_at = None
    revision = _copied_rows(path, "alembic_version", server_major)
    return Summary(
        tables=len(tables),
        people=len(_copied_rows(path, "people", server_major)),
        revision=revision[0].split("\t")[0] if revision else None,
        size=path.stat().st_size,
        taken_at=taken_at,
    )


def _copied_rows(path: Path, table: str, server_major: int) -> list[str]:
    """The rows of one table in the dump, as the COPY lines pg_restore writes for them."""
    script = _run(
        [
            find_tool("pg_restore", server_major),
            "--data-only",
            f"--table={table}",
            "--file=-",
            str(path),
        ],
        dict(os.environ),
        f"Reading {table} from {path}",
    ).stdout
    rows: list[str] = []
    copying = False
    for line in script.splitlines():
        if line.startswith(f"COPY public.{table} "):
            copying = True
        elif copying and line == "\\.":
            break
        elif copying:
            rows.append(line)
    return rows


def restore(source: Path, database_url: str) -> None:
    """Replace the database's contents with the dump ``source``, in one transaction."""
    major, _ = _server(database_url)
    archive_summary(source, major)
    env = environment(database_url)
    restore_sql = [
        find_tool("pg_restore", major),
        "--no-owner",
        "--no-privileges",
        "--file=-",
        str(source),
    ]
    run_sql = [find_tool("psql", major), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"]
    pipe = subprocess.PIPE
    with (
        subprocess.Popen(restore_sql, env=env, stdout=pipe, stderr=pipe) as sql,
        subprocess.Popen(
            [*run_sql, "--file=-"], env=env, stdin=pipe, stdout=subprocess.DEVNULL, stderr=pipe
        ) as psql,
    ):
        assert sql.stdout is not None and sql.stderr is not None
        assert psql.stdin is not None and psql.stderr is not None
        produced = False
        try:
            psql.stdin.write(DROP_EVERYTHING.encode())
            shutil.copyfileobj(sql.stdout, psql.stdin, 1 << 20)
            produced = sql.wait() == 0
            if produced:
                psql.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error (and rolled back): its message is read below
        finally:
            psql.stdin.close()
        sql_error = sql.stderr.read().decode()
        psql_error = psql.stderr.read().decode()
        psql_failed = psql.wait() != 0
        sql_failed = sql.wait() != 0
    if sql_failed or not produced:
        raise BackupError(f"pg_restore failed, nothing was changed: {sql_error.strip()}")
    if psql_failed:
        raise BackupError(f"Restoring failed, nothing was changed: {psql_error.strip()}")
