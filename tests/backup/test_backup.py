"""`flask backup` and `flask restore` (RELIABILITY.md H7), on SQLite and PostgreSQL: back
up, change the data, restore, and every table holds exactly the rows it held at the backup;
a restore asks first, refuses what is not a backup, and removes tables added since; a
backup taken while another connection writes is one consistent snapshot."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import delete, func, select, text, update

from app.capability.models import Evidence
from app.extensions import Model, db
from app.org.models import Person
from tests.factories import make_person
from tests.privacy.world import build_world

SUFFIX = {"sqlite": ".sqlite3", "postgresql": ".dump"}


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def snapshot() -> dict[str, list[str]]:
    """Every row of every table (the migrations' own included), in a stable order."""
    db.session.remove()
    out = {}
    with db.engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        for name in sorted(names):
            # the models' tables as declared; any other (added by hand) by its columns' names
            table = Model.metadata.tables.get(name)
            if table is None:
                table = sa.table(
                    name, *[sa.column(c["name"]) for c in sa.inspect(conn).get_columns(name)]
                )
            out[name] = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
    return out


def change_everything() -> None:
    """Changes of every kind: updates, deletes (cascading), inserts."""
    db.session.execute(update(Person).values(job_title="Changed after the backup"))
    db.session.execute(delete(Evidence))
    make_person("Newly", "Added")
    db.session.commit()


def test_restore_gives_back_every_row_of_every_table(app, session, backend, tmp_path):
    build_world()
    db.session.commit()
    before = snapshot()
    assert sum(len(rows) for rows in before.values()) > 300
    path = tmp_path / f"pmo{SUFFIX[backend]}"

    taken = cli(app, "backup", str(path))
    assert taken.exit_code == 0, taken.output
    assert f"to {path}" in taken.output and "MB in" in taken.output
    change_everything()
    changed = snapshot()
    assert changed != before

    asked = cli(app, "restore", str(path))
    assert asked.exit_code == 1
    assert "This replaces everything in" in asked.output and "Nothing was changed" in asked.output
    assert "people" in asked.output
    assert snapshot() == changed  # asked, did nothing

    done = cli(app, "restore", str(path), "--yes")
    assert done.exit_code == 0, done.output
    assert snapshot() == before
    # the site carries on: new rows take fresh ids (PostgreSQL's sequences came back too)
    make_person("After", "Restore")
    db.session.commit()


def test_a_restore_removes_tables_added_since_the_backup(app, session, backend, tmp_path):
    make_person()
    db.session.commit()
    path = tmp_path / f"pmo{SUFFIX[backend]}"
    assert cli(app, "backup", str(path)).exit_code == 0
    before = snapshot()
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE added_later (id integer primary key)"))
        conn.execute(text("INSERT INTO added_later (id) VALUES (1)"))
    assert "added_later" in snapshot()
    done = cli(app, "restore", str(path), "--yes")
    assert done.exit_code == 0, done.output
    assert snapshot() == before


def test_a_restore_refuses_what_is_not_a_backup_and_changes_nothing(app, session, tmp_path):
    make_person()
    db.session.commit()
    before = snapshot()
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n" * 100)
    result = cli(app, "restore", str(bogus), "--yes")
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert snapshot() == before


def test_a_backup_never_overwrites_by_accident(app, session, backend, tmp_path):
    make_person()
    db.session.commit()
    first = cli(app, "backup", str(tmp_path))  # a folder: a dated file in it
    assert first.exit_code == 0, first.output
    made = list(tmp_path.glob(f"pmo-pathways-*{SUFFIX[backend]}"))
    assert len(made) == 1
    again = cli(app, "backup", str(made[0]))
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert cli(app, "backup", str(made[0]), "--overwrite").exit_code == 0
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]  # nothing half-written
    assert cli(app, "backup", str(tmp_path / "no" / "such" / "folder.db")).exit_code == 1


def test_a_backup_taken_while_the_site_writes_is_one_snapshot(app, session, backend, tmp_path):
    """Another connection writes people in transactions of ten while the backup runs: the
    backup holds whole transactions only, and restores."""
    make_person()
    db.session.commit()
    engine = sa.create_engine(current_app.config["SQLALCHEMY_DATABASE_URI"])
    stop = threading.Event()
    written = []

    failures: list[BaseException] = []

    def writer() -> None:
        batch = 0
        try:
            while not stop.is_set() and batch < 400:
                batch += 1
                now = datetime.now(UTC)
                with engine.begin() as conn:
                    if backend == "sqlite":
                        conn.exec_driver_sql("PRAGMA busy_timeout=5000")
                    conn.execute(
                        Person.__table__.insert(),
                        [
                            {
                                "employee_number": f"W{batch:04d}-{i}",
                                "first_name": "Writer",
                                "last_name": f"B{batch:04d}",
                                "active": True,
                                "created_at": now,
                                "updated_at": now,
                            }
                            for i in range(10)
                        ],
                    )
                written.append(batch)
        except BaseException as error:  # seen by the test, not lost in the thread
            failures.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(1000):
            if len(written) >= 5 or failures:
                break
            stop.wait(0.01)
        assert not failures, failures
        path = tmp_path / f"pmo{SUFFIX[backend]}"
        taken = cli(app, "backup", str(path))
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    assert taken.exit_code == 0, taken.output
    assert cli(app, "restore", str(path), "--yes").exit_code == 0
    db.session.remove()
    counts = db.session.execute(
        select(Person.last_name, func.count())
        .where(Person.first_name == "Writer")
        .group_by(Person.last_name)
    ).all()
    assert counts, "the backup began after the writer had written"
    assert {n for _name, n in counts} == {10}, "a transaction was cut in two"
    assert len(counts) <= len(written)


def test_the_tables_the_models_declare_are_all_backed_up(app, session, backend, tmp_path):
    path = tmp_path / f"pmo{SUFFIX[backend]}"
    assert cli(app, "backup", str(path)).exit_code == 0
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(Model.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(text("DELETE FROM alembic_version"))
    assert cli(app, "restore", str(path), "--yes").exit_code == 0
    with db.engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert set(Model.metadata.tables) <= names
    assert revision is not None
    assert Path(path).stat().st_size > 0
