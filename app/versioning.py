"""Optimistic locking for edit forms: no save from a stale form overwrites a newer one.

A record that several people may edit carries ``row_version``, a counter SQLAlchemy raises
on every UPDATE of the row (``version_id_col``) and puts in the UPDATE's WHERE clause. Its
edit form carries the version it was read at (a hidden ``row_version`` field, or for a form
over several rows a token naming each row's version, see ``token``). The use-case compares
the posted version with the record's (``check``) before it changes anything, and a save
that raced another between that check and the write fails at the flush (``flush``): either
way it raises ``StaleEdit``, carrying the values saved now, and nothing is written. The
form then shows what differs, the saved value beside the user's own (``app.forms``,
``macros/stale.html``).

ORM bulk UPDATEs by primary key of a versioned model need each row's version; a bulk
UPDATE with a WHERE clause bypasses the counter. ``bulk_update_by_id`` updates many rows
at once and still raises their versions, so that forms open on them go stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from app.errors import DomainError

#: The form field (and the column) that holds the version.
FIELD = "row_version"

#: What a stale save is told; ``what`` names the record ("Alex Smith's record"). The form
#: adds what the user can do about it (``macros/stale.html``).
STALE_MESSAGE = "{what} was changed by someone else since you opened it, so nothing was saved."
#: Said where no form can show the saved values.
STALE_RETRY = " Open it again to see it as it is now, and repeat your change if it is still needed."

Values = Mapping[str, Any]


class StaleEdit(DomainError):
    """A save from a form read at another version of the record.

    ``values`` are the record's values saved now, keyed by form field, the version token
    among them (under ``FIELD`` or the form's own token field): the form shows them and is
    armed with the new token. When the conflict surfaced at the flush, the transaction must
    be rolled back before the values can be read: ``reread`` reads them then.
    """

    def __init__(
        self,
        what: str,
        values: Values | None = None,
        *,
        reread: Callable[[], Values] | None = None,
    ):
        super().__init__(STALE_MESSAGE.format(what=what))
        self.what = what
        self._values = values
        self._reread = reread

    def current(self) -> Values:
        """The values saved now (read once, after the caller's rollback if need be)."""
        if self._values is None:
            self._values = self._reread() if self._reread is not None else {}
        return self._values


def version_of(record: Any) -> int:
    return int(getattr(record, FIELD))


def token(rows: Iterable[tuple[Any, int]]) -> str:
    """The version of a form over several rows: each row's key and version, in key order
    (``"3.1 7.2"``), so that a row changed, added or removed by someone else changes it."""
    return " ".join(f"{key}.{version}" for key, version in sorted(rows, key=lambda r: str(r[0])))


def check(seen: str | None, values: Values, what: str, field: str = FIELD) -> None:
    """Refuse (``StaleEdit``) a save from a form read at another version than the one in
    ``values[field]``. ``seen`` None (a caller with no form, or a post without the field)
    skips the comparison; the flush still catches a concurrent write."""
    if seen is not None and str(seen).strip() != str(values[field]):
        raise StaleEdit(what, values)


def flush(
    session: Session,
    what: str,
    values: Callable[[], Values],
    *,
    unique_races: bool = False,
) -> None:
    """Flush; a row that someone else changed or removed since this request read it
    (``StaleDataError``) becomes ``StaleEdit``. ``unique_races``: an IntegrityError too, for
    a save that adds rows keyed by a unique constraint a concurrent save may have added
    first (a profile line, say)."""
    caught: tuple[type[Exception], ...] = (
        (StaleDataError, IntegrityError) if unique_races else (StaleDataError,)
    )
    try:
        session.flush()
    except caught as exc:
        raise StaleEdit(what, reread=values) from exc


def touch(record: Any) -> None:
    """Make the next flush raise ``record``'s version although none of its own columns
    changed (its child rows or links did)."""
    mapper = inspect(record).mapper
    version = mapper.version_id_col
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if column is not version and not column.primary_key:
            flag_modified(record, attr.key)
            return


def bulk_update_by_id(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE rows of a versioned ``model`` by id, each with its own values (``{"id": …,
    column: value, …}``), raising each row's version by one without comparing it: for a
    writer that owns the values (an import), as ``session.execute(update(model), rows)``
    would for an unversioned model. Rows with the same columns go in one executemany; the
    session's copies of those rows are expired, so that none is flushed at its old version."""
    table = model.__table__
    column = table.c[FIELD]

    def columns(row: dict[str, Any]) -> tuple[str, ...]:
        return tuple(sorted(k for k in row if k != "id"))

    stmt = table.update().where(table.c.id == bindparam("_row_id")).values({column: column + 1})
    for keys, group in groupby(sorted(rows, key=columns), key=columns):
        session.execute(stmt, [{"_row_id": r["id"], **{k: r[k] for k in keys}} for r in group])
    ids = {r["id"] for r in rows}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in ids:
            session.expire(obj)
