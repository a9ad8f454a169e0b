"""H2: every CHECK, UNIQUE, FOREIGN KEY and NOT NULL constraint the models declare is
enforced by the database itself, on SQLite and on PostgreSQL.

The list comes from the metadata (``db.metadata``), not from a hand-kept list, so a new
constraint is tried as soon as it is declared. The database holds the demo (content files
and a 49-person organisation, with attempts, evidence, learning records and the rest).
Each constraint is broken on a real row by plain SQL, inside a savepoint rolled back after
it, changing only what that constraint is about:

- NOT NULL: the column set to NULL;
- FOREIGN KEY: the referencing columns set to a key no row has;
- UNIQUE (constraint, unique column or unique index): a second row given the first row's
  values in those columns;
- CHECK: the columns it names set, one or two at a time, to values out of range (negative,
  huge, far past or future dates, an unknown enum value, NULL or a value where the other
  must be NULL), until one of them breaks it.

Each must raise an IntegrityError of the right kind (SQLite's message, PostgreSQL's
SQLSTATE: 23502, 23503, 23505, 23514). A constraint on a table the demo leaves empty (or
with a single row, for UNIQUE) cannot be tried this way; the test names them, and fails
if they become a large share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import db

PEOPLE = 49
#: Kinds of violation: PostgreSQL's SQLSTATE and the start of SQLite's message.
KINDS = {
    "not null": ("23502", "NOT NULL constraint failed"),
    "foreign key": ("23503", "FOREIGN KEY constraint failed"),
    "unique": ("23505", "UNIQUE constraint failed"),
    "check": ("23514", "CHECK constraint failed"),
}


@dataclass
class Tally:
    enforced: list[str] = field(default_factory=list)
    #: Broken and not refused, or refused as something else: each a bug.
    unenforced: list[str] = field(default_factory=list)
    #: No row to try it on.
    untried: list[str] = field(default_factory=list)


def _kind(error: DBAPIError) -> str | None:
    code = getattr(error.orig, "sqlstate", None)
    message = str(error.orig)
    for kind, (sqlstate, prefix) in KINDS.items():
        if code == sqlstate or message.startswith(prefix):
            return kind
    return None


def _refused(conn: sa.Connection, statement: str, params: dict) -> str | None:
    """Run ``statement`` in a savepoint rolled back after it; the kind of constraint
    violation it raised, "" when it went through, or "other: ..." for another error."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text(statement), params)
    except IntegrityError as error:
        savepoint.rollback()
        return _kind(error) or f"other: {error.orig}"
    except DBAPIError as error:
        savepoint.rollback()
        return f"other: {error.orig}"
    savepoint.rollback()
    return ""


def _rows(
    conn: sa.Connection, table: sa.Table, limit: int = 30, where: Any = None
) -> list[dict[str, Any]]:
    pk = list(table.primary_key.columns)
    query = sa.select(table).order_by(*pk).limit(limit)
    if where is not None:
        query = query.where(where)
    return [dict(row._mapping) for row in conn.execute(query)]


def _where(table: sa.Table, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pk = list(table.primary_key.columns)
    clause = " AND ".join(f'"{c.name}" = :pk_{c.name}' for c in pk)
    return clause, {f"pk_{c.name}": row[c.name] for c in pk}


def _update(table: sa.Table, row: dict[str, Any], values: dict[str, Any]) -> tuple[str, dict]:
    where, params = _where(table, row)
    sets = ", ".join(f'"{name}" = :v_{name}' for name in values)
    params.update({f"v_{name}": value for name, value in values.items()})
    return f'UPDATE "{table.name}" SET {sets} WHERE {where}', params


def _insert(table: sa.Table, row: dict[str, Any], values: dict[str, Any]) -> tuple[str, dict]:
    """A copy of ``row`` with ``values``, as a new row (a generated key left to the
    database): for the append-only tables, whose rows no UPDATE may change."""
    data = {
        name: value
        for name, value in {**row, **values}.items()
        if not (table.c[name].primary_key and table.c[name].autoincrement in (True, "auto"))
    }
    names = ", ".join(f'"{name}"' for name in data)
    marks = ", ".join(f":v_{name}" for name in data)
    params = {f"v_{name}": _bindable(table.c[name], v) for name, v in data.items()}
    return f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', params


def _bindable(column: sa.Column, value: Any) -> Any:
    """A value read from ``column`` as plain SQL takes it back (JSON as text)."""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return value


def _broken(conn, table: sa.Table, row: dict[str, Any], values: dict[str, Any]) -> str | None:
    """Change ``row`` to ``values`` by an UPDATE, or, where a trigger refuses every UPDATE
    (the append-only audit trail), insert a copy of it with ``values``; what was raised."""
    kind = _refused(conn, *_update(table, row, values))
    if kind and kind.startswith("other") and "append-only" in kind:
        kind = _refused(conn, *_insert(table, row, values))
    return kind


def _missing_key(column: sa.Column) -> Any:
    python_type = column.type.python_type
    return 2_000_000_000 if python_type is int else "zz-no-such-key"


def _candidates(column: sa.Column) -> list[Any]:
    """Values that may break a CHECK on ``column``."""
    type_ = column.type
    if isinstance(type_, sa.types.TypeDecorator):  # e.g. a UTC datetime: its stored type
        type_ = type_.impl_instance
    try:
        python_type = type_.python_type
    except NotImplementedError:
        python_type = str
    if python_type is bool:
        return []
    if python_type in (int, float):
        return [-1, -1_000_000, 1_000_000_000, 0, None]
    if python_type is datetime:
        return [datetime(1900, 1, 1), datetime(2999, 12, 31), None]
    if python_type is date:
        return [date(1900, 1, 1), date(2999, 12, 31), None]
    return ["?", "zz-not-a-valid-value", None]


def _check_columns(table: sa.Table, check: sa.CheckConstraint) -> list[sa.Column]:
    text = str(check.sqltext)
    return [c for c in table.columns if re.search(rf"\b{re.escape(c.name)}\b", text)]


def _try_check(conn, table, check, rows, tally: Tally, name: str) -> None:
    columns = _check_columns(table, check)
    tries: list[dict[str, Any]] = []
    for column in columns:
        tries += [{column.name: value} for value in _candidates(column)]
    for first in columns:  # two at a time: an order between two columns
        for second in columns:
            if first is not second:
                low, high = _candidates(first)[:2], _candidates(second)[:2]
                if len(low) == 2 and len(high) == 2:
                    tries.append({first.name: high[1], second.name: low[0]})
    others = set()
    for row in rows[:3]:
        for values in tries:
            kind = _broken(conn, table, row, values)
            if kind == "check":
                tally.enforced.append(name)
                return
            if kind:
                others.add(kind)
    tally.unenforced.append(f"{name} (never refused as a CHECK; other outcomes: {others})")


def _partial(index: sa.Index) -> Any:
    """The WHERE of a partial unique index (the rows it covers), else None."""
    for dialect in ("postgresql", "sqlite"):
        where = index.dialect_options[dialect].get("where")
        if where is not None:
            return where
    return None


def _try_unique(conn, table, columns: list[str], rows, tally: Tally, name: str) -> None:
    if len(rows) < 2:
        tally.untried.append(name)
        return
    for first in rows[:5]:
        for second in rows[:10]:
            if first is second or all(first[c] == second[c] for c in columns):
                continue
            if any(first[c] is None for c in columns):
                continue  # NULLs are distinct: no clash to make from this row
            kind = _broken(conn, table, second, {c: first[c] for c in columns})
            if kind == "unique":
                tally.enforced.append(name)
                return
    tally.unenforced.append(f"{name} (a copy of another row's values was accepted)")


def _uniques(table: sa.Table) -> list[tuple[str, list[str], Any]]:
    """(name, columns, WHERE of a partial index or None) of every UNIQUE on ``table``:
    constraints, unique indexes and ``unique=True`` columns, each once."""
    out: list[tuple[str, list[str], Any]] = [
        (str(c.name), [col.name for col in c.columns], None)
        for c in table.constraints
        if isinstance(c, sa.UniqueConstraint)
    ]
    out += [
        (str(i.name), [c.name for c in i.columns], _partial(i)) for i in table.indexes if i.unique
    ]
    named = {tuple(columns) for _n, columns, _w in out}
    out += [(c.name, [c.name], None) for c in table.columns if c.unique and (c.name,) not in named]
    return out


def _tally(tally: Tally, name: str, kind: str | None, expected: str) -> None:
    if kind == expected:
        tally.enforced.append(name)
    else:
        tally.unenforced.append(f"{name} ({kind or 'accepted'})")


def _try_declared(conn: sa.Connection, table: sa.Table, rows: list, tally: Tally) -> None:
    """The table's CHECK and FOREIGN KEY constraints."""
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            name = f"CHECK {table.name}.{constraint.name}"
            if rows:
                _try_check(conn, table, constraint, rows, tally, name)
            else:
                tally.untried.append(name)
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            name = f"FK {table.name}({', '.join(c.name for c in constraint.columns)})"
            if rows:
                values = {c.name: _missing_key(c) for c in constraint.columns}
                _tally(tally, name, _broken(conn, table, rows[0], values), "foreign key")
            else:
                tally.untried.append(name)


def _try_table(conn: sa.Connection, table: sa.Table, tally: Tally) -> None:
    rows = _rows(conn, table)
    pk = {c.name for c in table.primary_key.columns}
    _try_declared(conn, table, rows, tally)
    for constraint_name, columns, where in _uniques(table):
        if not set(columns) <= pk:
            covered = rows if where is None else _rows(conn, table, where=where)
            name = f"UNIQUE {table.name}.{constraint_name}"
            _try_unique(conn, table, columns, covered, tally, name)
    for column in table.columns:
        if not column.nullable and column.name not in pk:
            name = f"NOT NULL {table.name}.{column.name}"
            if rows:
                _tally(tally, name, _broken(conn, table, rows[0], {column.name: None}), "not null")
            else:
                tally.untried.append(name)


def constraints_tried(conn: sa.Connection) -> Tally:
    tally = Tally()
    for table in db.metadata.sorted_tables:
        _try_table(conn, table, tally)
    return tally


@pytest.fixture
def demo(app, tmp_path):
    """The demo, and rows in tables the demo leaves empty: two login sessions and password
    tokens, two staff imports of files of different shapes (batches and mappings)."""
    from datetime import timedelta

    from app.accounts.models import User
    from app.accounts.services import issue_password_token, open_login_session

    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["content", "load"])
    assert loaded.exit_code == 0, loaded.output
    built = runner.invoke(args=["demo", "build", "--people", str(PEOPLE)])
    assert built.exit_code == 0, built.output
    users = db.session.scalars(sa.select(User).order_by(User.id).limit(2)).all()
    session = db.session()
    for user in users:
        open_login_session(session, user)
        issue_password_token(session, user=user, ttl=timedelta(hours=1))
    db.session.commit()
    for n, header in enumerate(["Employee Number,First Name", "Staff No,Forename"]):
        file = tmp_path / f"staff{n}.csv"
        rows = [f"CX{n}{k},Name{k}" for k in range(2)]
        file.write_text(f"{header},Last Name\n" + "".join(f"{r},Surname\n" for r in rows))
        imported = runner.invoke(args=["import", "people", str(file)])
        assert imported.exit_code == 0, imported.output
    db.session.remove()


def test_every_declared_constraint_is_enforced_by_the_database(app, demo):
    with db.engine.connect() as conn:
        tally = constraints_tried(conn)
        conn.rollback()
    declared = len(tally.enforced) + len(tally.unenforced) + len(tally.untried)
    print(
        f"\n{db.engine.dialect.name}: {len(tally.enforced)} of {declared} constraints "
        f"enforced when broken; {len(tally.untried)} untried (empty table): {tally.untried}"
    )
    assert not tally.unenforced, tally.unenforced
    assert len(tally.enforced) >= 0.85 * declared, tally.untried
