"""The shipped role catalogue and competency framework, loaded as ``flask content load``
loads them, for the tests that build on them.

Loading them runs the content files' schema checks, writes the framework version through
the ORM and refreshes the reports' spans: about 0.15 s on SQLite and more on PostgreSQL,
paid by several hundred tests. So the first load on an empty database of each backend is
kept as the rows it wrote, and every later one on an empty database writes those rows
again (the same ids, the same content) in a few milliseconds. On a database that already
holds something the files are loaded as usual: the rows kept describe an empty start only.
The tests of the loader itself (tests/content/) call it directly and never come here.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.content.framework_load import load_framework
from app.content.roles import load_roles
from app.extensions import db
from tests.tables import tables_holding_rows

CURRICULA = Path(__file__).resolve().parents[1] / "curricula"

#: (database url, with the certificate catalogue) -> the rows the load wrote, table by table
#: in the order they can be written.
_KEPT: dict[tuple[str, bool], list[tuple[sa.Table, list[dict]]]] = {}


def load_shipped_content(session: Session, *, certificates: bool = True) -> None:
    """The shipped roles and framework (with its certificate catalogue unless told not to),
    committed."""
    key = (str(session.get_bind().url), certificates)
    kept = _KEPT.get(key)
    if not _holds_nothing(session):
        _load(session, certificates)
    elif kept is None:
        _load(session, certificates)
        _KEPT[key] = _rows_written(session)
    else:
        _write(session, kept)
    session.commit()


def _load(session: Session, certificates: bool) -> None:
    load_roles(session, CURRICULA / "roles.yaml")
    load_framework(
        session,
        CURRICULA / "framework.yaml",
        CURRICULA / "role-profiles.yaml",
        certificates_path=CURRICULA / "certificates.yaml" if certificates else None,
    )
    session.commit()


def _tables() -> list[sa.Table]:
    return list(db.metadata.sorted_tables)


def _holds_nothing(session: Session) -> bool:
    return not tables_holding_rows(session.connection(), (t.name for t in _tables()))


def _rows_written(session: Session) -> list[tuple[sa.Table, list[dict]]]:
    out = []
    for table in _tables():
        rows = [
            dict(r)
            for r in session.execute(table.select().order_by(*table.primary_key.columns)).mappings()
        ]
        if rows:
            out.append((table, rows))
    return out


def _write(session: Session, kept: list[tuple[sa.Table, list[dict]]]) -> None:
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    for table, rows in kept:
        connection.execute(table.insert(), rows)
        if postgresql:
            for column in table.primary_key.columns:
                if column.autoincrement is True or (
                    column.autoincrement == "auto" and isinstance(column.type, sa.Integer)
                ):
                    connection.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                            f"'{column.name}'), (SELECT max({column.name}) FROM {table.name}))"
                        )
                    )
    session.expire_all()
